//! The charts of a run (DESIGN.md 4): what each shows, from the samples. Per table, the worst
//! simulated node at each sample (the one a warning would come from); per node, its own series.

use std::collections::BTreeMap;

use super::charts::{Chart, Level, Panel, Series, PALETTE};
use crate::metrics::TableSample;
use crate::scenario::Scenario;
use crate::sim::{RunResult, Summary};
use crate::units::format_bytes;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const MIB: f64 = 1024.0 * 1024.0;

/// A file name part from a table or query name.
pub fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let mut out = String::new();
    for c in s.chars() {
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out.trim_matches('-').to_string()
}

/// The time axis: days for runs of two days or more, hours below.
fn time_axis(duration_s: f64) -> (f64, &'static str) {
    if duration_s >= 2.0 * 86_400.0 {
        (86_400.0, "simulated time (days)")
    } else {
        (3600.0, "simulated time (hours)")
    }
}

/// A byte axis unit for values up to `max`.
fn byte_unit(max: f64) -> (f64, &'static str) {
    if max >= 2.0 * 1024.0 * GIB {
        (1024.0 * GIB, "TiB")
    } else if max >= 2.0 * GIB {
        (GIB, "GiB")
    } else {
        (MIB, "MiB")
    }
}

fn series(name: &str, points: Vec<(f64, f64)>, color: usize) -> Series {
    Series {
        name: name.into(),
        points,
        color: PALETTE[color % PALETTE.len()],
        band: None,
    }
}

/// Per time, the largest `f` of `table` over every simulated node.
fn worst(
    run: &RunResult,
    table: &str,
    unit: f64,
    f: impl Fn(&TableSample) -> f64,
) -> Vec<(f64, f64)> {
    let mut by_t: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    for s in run
        .nodes
        .iter()
        .flat_map(|n| n.samples.iter())
        .filter(|s| s.table == table)
    {
        let e = by_t
            .entry(s.t_s as u64)
            .or_insert((s.t_s / unit, f64::NEG_INFINITY));
        e.1 = e.1.max(f(s));
    }
    by_t.into_values().collect()
}

/// Per time, the sum of `f` over a node's tables, on the chart's time axis.
fn node_sum(
    samples: &[TableSample],
    unit: f64,
    f: impl Fn(&TableSample) -> f64,
) -> Vec<(f64, f64)> {
    crate::metrics::sum_by_time(samples, f)
        .into_iter()
        .map(|(t, v)| (t / unit, v))
        .collect()
}

/// Per time, a node-level figure (the same on each of the node's table rows).
fn node_level(
    samples: &[TableSample],
    unit: f64,
    f: impl Fn(&TableSample) -> f64,
) -> Vec<(f64, f64)> {
    let mut by_t: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    for s in samples {
        by_t.entry(s.t_s as u64).or_insert((s.t_s / unit, f(s)));
    }
    by_t.into_values().collect()
}

/// Every chart of the run.
pub fn charts(scenario: &Scenario, run: &RunResult, summary: &Summary) -> Vec<Chart> {
    let (unit, x_label) = time_axis(scenario.duration_s);
    let mut out = Vec::new();
    for name in summary.tables.keys() {
        let read = run
            .nodes
            .iter()
            .flat_map(|n| n.samples.iter())
            .any(|s| s.table == *name && s.simulated_reads > 0.0);
        if read {
            out.push(tombstones(scenario, run, name, unit, x_label));
        }
        out.push(sstables(scenario, run, name, unit, x_label, read));
        out.push(partition_sizes(run, name));
    }
    for q in summary.queries.iter().filter(|q| q.kind == "read") {
        if let Some(c) = latency(scenario, run, &q.name, unit, x_label) {
            out.push(c);
        }
    }
    out.push(disk(scenario, run, unit, x_label));
    out.push(heap(scenario, run, summary, unit, x_label));
    out.push(flushes(scenario, run, unit, x_label));
    out
}

fn tombstones(scenario: &Scenario, run: &RunResult, table: &str, unit: f64, x: &str) -> Chart {
    let warn = scenario
        .settings
        .number("tombstone_warn_threshold")
        .unwrap_or(crate::defaults::TOMBSTONE_WARN_THRESHOLD as f64);
    let fail = scenario
        .settings
        .number("tombstone_failure_threshold")
        .unwrap_or(crate::defaults::TOMBSTONE_FAILURE_THRESHOLD as f64);
    Chart {
        file: format!("tombstones-{}", slug(table)),
        title: format!("Tombstones per read: {table}"),
        x_label: x.into(),
        x_range: Some((0.0, scenario.duration_s / unit)),
        x_names: Vec::new(),
        panels: vec![Panel {
            y_label: "tombstones per read (log scale; 0 drawn at 1)".into(),
            series: vec![
                series(
                    "p50",
                    worst(run, table, unit, |s| s.tombstones_per_read.p50),
                    0,
                ),
                series(
                    "p99",
                    worst(run, table, unit, |s| s.tombstones_per_read.p99),
                    1,
                ),
                series(
                    "max",
                    worst(run, table, unit, |s| s.tombstones_per_read.max),
                    2,
                ),
            ],
            levels: vec![
                Level {
                    name: format!("tombstone_warn_threshold ({})", warn),
                    y: warn,
                    color: PALETTE[4],
                },
                Level {
                    name: format!("tombstone_failure_threshold ({})", fail),
                    y: fail,
                    color: PALETTE[3],
                },
            ],
            log_y: true,
            log_floor: 1.0,
            ..Panel::default()
        }],
    }
}

fn sstables(
    scenario: &Scenario,
    run: &RunResult,
    table: &str,
    unit: f64,
    x: &str,
    read: bool,
) -> Chart {
    let mut lines = vec![series(
        "sstables on the node",
        worst(run, table, unit, |s| s.sstables),
        0,
    )];
    if read {
        lines.push(series(
            "sstables per read p50",
            worst(run, table, unit, |s| s.sstables_per_read.p50),
            1,
        ));
        lines.push(series(
            "sstables per read p99",
            worst(run, table, unit, |s| s.sstables_per_read.p99),
            3,
        ));
    }
    Chart {
        file: format!("sstables-{}", slug(table)),
        title: format!("SSTables: {table}"),
        x_label: x.into(),
        x_range: Some((0.0, scenario.duration_s / unit)),
        x_names: Vec::new(),
        panels: vec![Panel {
            y_label: "sstables".into(),
            series: lines,
            ..Panel::default()
        }],
    }
}

fn partition_sizes(run: &RunResult, table: &str) -> Chart {
    // The node with the most data at the end, like `nodetool tablehistograms` on it.
    let last = run
        .nodes
        .iter()
        .filter_map(|n| n.samples.iter().rev().find(|s| s.table == table))
        .max_by(|a, b| a.disk_bytes.total_cmp(&b.disk_bytes));
    let h: Vec<f64> = last
        .map(|s| s.partition_size_histogram.clone())
        .unwrap_or_default();
    let limit = crate::defaults::LARGE_PARTITION_WARN_BYTES;
    let limit_bucket = crate::metrics::size_bucket(limit);
    let used: Vec<usize> = (0..h.len()).filter(|k| h[*k] > 0.0).collect();
    let first = used.first().copied().unwrap_or(0).min(limit_bucket);
    let end = used.last().copied().unwrap_or(0).max(limit_bucket) + 1;
    let bars: Vec<(String, f64)> = (first..end.min(h.len().max(end)))
        .map(|k| {
            (
                format_bytes(crate::metrics::size_bucket_floor(k)).replace(".0 ", " "),
                h.get(k).copied().unwrap_or(0.0),
            )
        })
        .collect();
    // Bucket k spans [2^(k+5), 2^(k+6)); its bar is centred on k - first.
    let at = limit.log2() - 5.0 - 0.5 - first as f64;
    Chart {
        file: format!("partition-sizes-{}", slug(table)),
        title: format!(
            "Partition sizes at the end: {table}{}",
            last.map(|s| format!(" ({})", s.node)).unwrap_or_default()
        ),
        x_label: "partition size (power-of-two buckets, from)".into(),
        x_range: None,
        x_names: Vec::new(),
        panels: vec![Panel {
            y_label: "partitions".into(),
            bars,
            bar_marker: Some((
                "compaction_large_partition_warning_threshold (100 MiB)".into(),
                at,
            )),
            ..Panel::default()
        }],
    }
}

fn latency(scenario: &Scenario, run: &RunResult, name: &str, unit: f64, x: &str) -> Option<Chart> {
    let op = scenario.workload.iter().position(|o| o.name == name)?;
    let mut by_t: BTreeMap<u64, (f64, [f64; 6])> = BTreeMap::new();
    for (t, o, l) in run.nodes.iter().flat_map(|n| n.query_latency.iter()) {
        let Some(l) = l.filter(|_| *o == op) else {
            continue;
        };
        let e = by_t.entry(*t as u64).or_insert((t / unit, [0.0; 6]));
        for (k, v) in [l.p50, l.p75, l.p95, l.p98, l.p99, l.max]
            .iter()
            .enumerate()
        {
            e.1[k] = e.1[k].max(*v);
        }
    }
    let samples: std::collections::BTreeSet<u64> = run
        .nodes
        .iter()
        .flat_map(|n| n.samples.iter())
        .map(|s| s.t_s as u64)
        .collect();
    let missing = samples.len() - by_t.len();
    // p50, p95, p99 and max: six noisy lines on one chart hide each other.
    let lines = [("p50", 0, 0), ("p95", 2, 2), ("p99", 4, 3), ("max", 5, 5)]
        .iter()
        .map(|(n, k, color)| series(n, by_t.values().map(|(x, v)| (*x, v[*k])).collect(), *color))
        .collect();
    Some(Chart {
        file: format!("latency-{}", slug(name)),
        title: format!("Read latency: {name}"),
        x_label: if missing > 0 {
            format!(
                "{x}; no latency in {missing} of {} samples (stage overloaded or every read failed)",
                samples.len()
            )
        } else {
            x.into()
        },
        x_range: Some((0.0, scenario.duration_s / unit)),
        x_names: Vec::new(),
        panels: vec![Panel {
            y_label: "latency (ms, log scale)".into(),
            series: lines,
            log_y: true,
            log_floor: 0.01,
            ..Panel::default()
        }],
    })
}

fn disk(scenario: &Scenario, run: &RunResult, unit: f64, x: &str) -> Chart {
    let size = scenario.node.disk.size_bytes;
    let ceiling = scenario.calibration.get("disk_utilisation_ceiling");
    let share = scenario.calibration.get("stcs_headroom_share");
    let mut lines = Vec::new();
    let mut max = size;
    for (k, n) in run.nodes.iter().enumerate() {
        let used = node_sum(&n.samples, unit, |s| s.disk_bytes);
        // The strategies' headroom at each sample's table sizes, as the sizing counts it.
        let headroom = node_sum(&n.samples, unit, |s| {
            n.tables
                .iter()
                .find(|t| t.table == s.table)
                .map(|t| {
                    crate::sizing::node::strategy_headroom(
                        &t.compaction,
                        s.disk_bytes,
                        t.max_ttl_s,
                        scenario.duration_s,
                        share,
                    )
                })
                .unwrap_or(0.0)
        });
        let with: Vec<(f64, f64)> = used
            .iter()
            .zip(&headroom)
            .map(|(a, b)| (a.0, a.1 + b.1))
            .collect();
        max = with.iter().map(|p| p.1).fold(max, f64::max);
        lines.push(series(
            &format!("sstables on {}", n.share.name),
            used,
            2 * k,
        ));
        lines.push(series(
            &format!("{}: sstables + compaction headroom", n.share.name),
            with,
            2 * k + 1,
        ));
    }
    // Data far below the disk would be a flat line at zero: a log scale shows both, in the
    // data's unit.
    let used = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    let log = used < 0.1 * size;
    let (u, name) = byte_unit(if log { used } else { max });
    Chart {
        file: "disk".into(),
        title: "Disk per node".into(),
        x_label: x.into(),
        x_range: Some((0.0, scenario.duration_s / unit)),
        x_names: Vec::new(),
        panels: vec![Panel {
            y_label: if log {
                format!("disk ({name}, log scale)")
            } else {
                format!("disk ({name})")
            },
            log_y: log,
            log_floor: MIB / u,
            series: lines,
            levels: vec![
                Level {
                    name: format!("disk size ({})", format_bytes(size)),
                    y: size,
                    color: PALETTE[3],
                },
                Level {
                    name: format!("utilisation ceiling ({:.0} %)", ceiling * 100.0),
                    y: size * ceiling,
                    color: PALETTE[4],
                },
            ],
            y_unit: u,
            ..Panel::default()
        }],
    }
}

fn heap(scenario: &Scenario, run: &RunResult, summary: &Summary, unit: f64, x: &str) -> Chart {
    let n = run
        .nodes
        .iter()
        .find(|n| n.share.name == summary.node.name)
        .or(run.nodes.first());
    let samples: &[TableSample] = n.map(|n| n.samples.as_slice()).unwrap_or(&[]);
    let heap = summary.node.heap_bytes;
    let (u, name) = byte_unit(heap);
    let thrashing = scenario.calibration.get("gc_thrashing_pause_fraction");
    Chart {
        file: "heap".into(),
        title: format!(
            "Heap and GC on {} ({} {}, verdict {})",
            summary.node.name,
            format_bytes(heap),
            summary.node.collector,
            summary.node.verdict.word()
        ),
        x_label: x.into(),
        x_range: Some((0.0, scenario.duration_s / unit)),
        x_names: Vec::new(),
        panels: vec![
            Panel {
                y_label: format!("heap ({name})"),
                series: vec![
                    series(
                        "live set",
                        node_level(samples, unit, |s| s.heap_live.total()),
                        0,
                    ),
                    series(
                        "old generation live",
                        node_level(samples, unit, |s| s.gc.old_live_bytes),
                        1,
                    ),
                    series(
                        "old generation capacity",
                        node_level(samples, unit, |s| s.gc.old_capacity_bytes),
                        2,
                    ),
                ],
                levels: vec![Level {
                    name: format!("heap ({})", format_bytes(heap)),
                    y: heap,
                    color: PALETTE[3],
                }],
                y_unit: u,
                ..Panel::default()
            },
            Panel {
                y_label: "time paused in GC (%)".into(),
                series: vec![series(
                    "GC pause share",
                    node_level(samples, unit, |s| s.gc.pause_fraction * 100.0),
                    4,
                )],
                levels: vec![Level {
                    name: format!("gc_thrashing ({:.1} %)", thrashing * 100.0),
                    y: thrashing * 100.0,
                    color: PALETTE[3],
                }],
                ..Panel::default()
            },
        ],
    }
}

fn flushes(scenario: &Scenario, run: &RunResult, unit: f64, x: &str) -> Chart {
    let per_hour = 3600.0 / scenario.sample_every_s;
    let mut lines = Vec::new();
    for (k, n) in run.nodes.iter().enumerate() {
        lines.push(series(
            &format!("flushes on {}", n.share.name),
            node_sum(&n.samples, unit, |s| s.flushes * per_hour),
            2 * k,
        ));
        lines.push(series(
            &format!("compactions on {}", n.share.name),
            node_sum(&n.samples, unit, |s| s.compactions * per_hour),
            2 * k + 1,
        ));
    }
    Chart {
        file: "flushes-compactions".into(),
        title: "Flushes and compactions".into(),
        x_label: x.into(),
        x_range: Some((0.0, scenario.duration_s / unit)),
        x_names: Vec::new(),
        panels: vec![Panel {
            y_label: "per hour".into(),
            series: lines,
            ..Panel::default()
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_file_names() {
        assert_eq!(
            slug("m2m.readings_by_equipment"),
            "m2m.readings_by_equipment"
        );
        assert_eq!(
            slug("latest readings of an equipment"),
            "latest-readings-of-an-equipment"
        );
        assert_eq!(slug("read (1M)!"), "read-1m");
    }
}
