//! Batch runs (DESIGN.md 2 `[sweep]`, 5; issue 6): the variants of a scenario (the cartesian
//! product of its swept field paths, the first axis varying slowest), `replicas` seeds each, every
//! seed derived from the scenario's seed and the run's position so results never depend on which
//! thread ran what; the key outcomes of each run as a row; comparison charts of each outcome
//! against the first swept value, one line per combination of the others, with the seeds' spread
//! as a band.

use std::collections::BTreeMap;

use crate::report::charts::{Chart, Panel, Series, PALETTE};
use crate::scenario::Sweep;

/// One run of a sweep: a variant (its `--set` overrides) and a replica.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Task {
    /// Index of the scenario file among those given.
    pub file: usize,
    pub variant: usize,
    pub replica: u32,
    pub seed: u64,
    /// `(field path, value)` of each axis, in the sweep's order.
    pub values: Vec<(String, String)>,
    /// Folder of the run's outputs, relative to the sweep's output folder.
    pub dir: String,
}

/// The seed of the run at `position` of a sweep of a scenario seeded `seed` (SplitMix64 of both).
pub fn run_seed(seed: u64, position: u64) -> u64 {
    let mut z = seed ^ 0xD1B5_4A32_D192_ED03u64.wrapping_mul(position + 1);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The variants of `sweep`: every combination of its axes' values, the first axis slowest.
pub fn variants(sweep: &Sweep) -> Vec<Vec<(String, String)>> {
    let mut out: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for (path, values) in &sweep.axes {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut next = prefix.clone();
                    next.push((path.clone(), v.clone()));
                    next
                })
            })
            .collect();
    }
    out
}

/// A folder name for a variant's values.
fn label(values: &[(String, String)]) -> String {
    if values.is_empty() {
        return "base".into();
    }
    values
        .iter()
        .map(|(p, v)| {
            let key = p.rsplit('.').next().unwrap_or(p).trim_matches('"');
            crate::report::slug(&format!("{key}-{v}"))
        })
        .collect::<Vec<_>>()
        .join("_")
}

/// The tasks of one scenario file: variants × replicas, positions in that order.
pub fn tasks(file: usize, file_label: &str, seed: u64, sweep: Option<&Sweep>) -> Vec<Task> {
    let (variants, replicas) = match sweep {
        Some(s) => (variants(s), s.replicas.max(1)),
        None => (vec![Vec::new()], 1),
    };
    let mut out = Vec::new();
    for (k, values) in variants.into_iter().enumerate() {
        for j in 0..replicas {
            let position = k as u64 * u64::from(replicas) + u64::from(j);
            out.push(Task {
                file,
                variant: k,
                replica: j,
                seed: run_seed(seed, position),
                dir: format!("{file_label}/{:03}-{}/seed-{j}", k + 1, label(&values)),
                values: values.clone(),
            });
        }
    }
    out
}

/// The key outcomes of a run, from its `summary.json`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Outcomes {
    /// The worst query's p99 read latency in its worst sample, ms (`None`: a stage overloaded).
    pub p99_read_latency_ms: Option<f64>,
    pub p99_tombstones_per_read: f64,
    pub peak_heap_live_bytes: f64,
    pub disk_per_node_bytes: f64,
    pub max_partition_bytes: f64,
    pub verdict: String,
    pub nodes_needed: f64,
    pub warned_reads: f64,
    pub failed_reads: f64,
}

/// The outcomes named as `sweep.csv` columns, with how each reads off [`Outcomes`].
pub const OUTCOMES: [(&str, &str); 5] = [
    ("p99_read_latency_ms", "p99 read latency (ms)"),
    ("p99_tombstones_per_read", "p99 tombstones per read"),
    ("peak_heap_live_bytes", "peak heap live set"),
    ("disk_per_node_bytes", "disk per node"),
    ("max_partition_bytes", "largest partition"),
];

/// The axis unit of a byte outcome whose largest value is `max`.
fn byte_unit(max: f64) -> (f64, &'static str) {
    const KIB: f64 = 1024.0;
    if max >= 2.0 * KIB.powi(4) {
        (KIB.powi(4), "TiB")
    } else if max >= 2.0 * KIB.powi(3) {
        (KIB.powi(3), "GiB")
    } else if max >= 2.0 * KIB.powi(2) {
        (KIB.powi(2), "MiB")
    } else {
        (KIB, "KiB")
    }
}

impl Outcomes {
    /// Reads them off a `summary.json` value, so a resumed sweep reads finished runs the same way.
    pub fn of(summary: &serde_json::Value) -> Outcomes {
        let num = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0);
        let each = |key: &str| -> Vec<&serde_json::Value> {
            match &summary[key] {
                serde_json::Value::Object(m) => m.values().collect(),
                serde_json::Value::Array(a) => a.iter().collect(),
                _ => Vec::new(),
            }
        };
        let reads: Vec<&serde_json::Value> = each("queries")
            .into_iter()
            .filter(|q| q["kind"] == "read")
            .collect();
        let overloaded = reads.iter().any(|q| q["latency_ms"].is_null());
        let latency = (!reads.is_empty() && !overloaded).then(|| {
            reads
                .iter()
                .map(|q| num(&q["latency_ms"]["p99"]))
                .fold(0.0, f64::max)
        });
        let tables = each("tables");
        let max =
            |f: &dyn Fn(&serde_json::Value) -> f64| tables.iter().map(|t| f(t)).fold(0.0, f64::max);
        let sum = |f: &dyn Fn(&serde_json::Value) -> f64| tables.iter().map(|t| f(t)).sum::<f64>();
        Outcomes {
            p99_read_latency_ms: latency,
            p99_tombstones_per_read: max(&|t| num(&t["tombstones_per_read"]["p99"])),
            peak_heap_live_bytes: num(&summary["node"]["peak_live_bytes"]),
            disk_per_node_bytes: each("nodes")
                .iter()
                .map(|n| num(&n["disk_bytes"]))
                .fold(0.0, f64::max),
            max_partition_bytes: max(&|t| num(&t["partition_bytes"]["max"])),
            verdict: summary["node"]["verdict"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            nodes_needed: match &summary["sizing"]["nodes_needed"] {
                serde_json::Value::Object(m) => m.values().map(num).sum(),
                _ => 0.0,
            },
            warned_reads: sum(&|t| num(&t["warned_reads"])),
            failed_reads: sum(&|t| num(&t["failed_reads"])),
        }
    }

    /// The outcome named `key` of [`OUTCOMES`] (bytes, ms or a count).
    pub fn value(&self, key: &str) -> Option<f64> {
        match key {
            "p99_read_latency_ms" => self.p99_read_latency_ms,
            "p99_tombstones_per_read" => Some(self.p99_tombstones_per_read),
            "peak_heap_live_bytes" => Some(self.peak_heap_live_bytes),
            "disk_per_node_bytes" => Some(self.disk_per_node_bytes),
            "max_partition_bytes" => Some(self.max_partition_bytes),
            _ => None,
        }
    }
}

/// A row of `sweep.csv`: the run and its outcomes.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Row {
    pub scenario: String,
    pub task: Task,
    pub outcomes: Outcomes,
}

/// `sweep.csv`: one row per variant and seed, the swept values as columns.
pub fn csv(rows: &[Row]) -> String {
    let axes: Vec<String> = axes_of(rows);
    let mut out = String::from("scenario,variant,replica,seed");
    for a in &axes {
        out.push(',');
        out.push_str(&csv_field(a));
    }
    out.push_str(",p99_read_latency_ms,p99_tombstones_per_read,peak_heap_live_bytes,disk_per_node_bytes,max_partition_bytes,verdict,nodes_needed,warned_reads,failed_reads,dir\n");
    let n = crate::metrics::format_number;
    for r in rows {
        let o = &r.outcomes;
        let mut cells = vec![
            csv_field(&r.scenario),
            (r.task.variant + 1).to_string(),
            r.task.replica.to_string(),
            r.task.seed.to_string(),
        ];
        for a in &axes {
            let v = r
                .task
                .values
                .iter()
                .find(|(p, _)| p == a)
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            cells.push(csv_field(&v));
        }
        cells.extend([
            o.p99_read_latency_ms.map(n).unwrap_or_default(),
            n(o.p99_tombstones_per_read),
            n(o.peak_heap_live_bytes),
            n(o.disk_per_node_bytes),
            n(o.max_partition_bytes),
            o.verdict.clone(),
            n(o.nodes_needed),
            n(o.warned_reads),
            n(o.failed_reads),
            csv_field(&r.task.dir),
        ]);
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Every axis path of the rows, in first-seen order.
fn axes_of(rows: &[Row]) -> Vec<String> {
    let mut axes: Vec<String> = Vec::new();
    for r in rows {
        for (p, _) in &r.task.values {
            if !axes.contains(p) {
                axes.push(p.clone());
            }
        }
    }
    axes
}

/// A swept value as a number for an x axis: a size, a duration, a rate or a plain number.
fn numeric(v: &str) -> Option<f64> {
    let v = v.trim().trim_matches('"');
    v.parse::<f64>()
        .ok()
        .or_else(|| crate::units::parse_size(v).ok())
        .or_else(|| crate::units::parse_duration(v).ok())
        .or_else(|| crate::units::parse_rate(v).ok())
}

/// The comparison charts of one scenario's rows: each outcome against the first axis.
pub fn charts(scenario: &str, rows: &[Row]) -> Vec<Chart> {
    let axes = axes_of(rows);
    let Some(first) = axes.first() else {
        return Vec::new();
    };
    let x_values: Vec<String> = {
        let mut v: Vec<String> = Vec::new();
        for r in rows {
            if let Some((_, x)) = r.task.values.iter().find(|(p, _)| p == first) {
                if !v.contains(x) {
                    v.push(x.clone());
                }
            }
        }
        v
    };
    // Numbers spread over less than two decades read on a numeric axis; anything else (names,
    // or values like 0, 3600, 86400, 864000) as evenly spaced categories.
    let nums: Vec<f64> = x_values.iter().filter_map(|v| numeric(v)).collect();
    let positive: Vec<f64> = nums.iter().copied().filter(|x| *x > 0.0).collect();
    let spread = positive.iter().copied().fold(0.0, f64::max)
        / positive.iter().copied().fold(f64::INFINITY, f64::min);
    let numeric_axis = nums.len() == x_values.len()
        && nums.len() > 1
        && positive.len() == nums.len()
        && spread <= 100.0;
    let gib = numeric_axis
        && x_values.iter().all(|v| {
            crate::units::parse_size(v.trim_matches('"')).is_ok() && v.parse::<f64>().is_err()
        });
    let x_of = |v: &str| -> f64 {
        if numeric_axis {
            let x = numeric(v).unwrap_or(0.0);
            if gib {
                x / (1024.0 * 1024.0 * 1024.0)
            } else {
                x
            }
        } else {
            x_values.iter().position(|x| x == v).unwrap_or(0) as f64
        }
    };
    let x_label = if gib {
        format!("{first} (GiB)")
    } else {
        first.clone()
    };
    let x_names: Vec<String> = if numeric_axis {
        Vec::new()
    } else {
        x_values.clone()
    };
    let replicas = rows.iter().map(|r| r.task.replica + 1).max().unwrap_or(1);
    // Lines: the combinations of the other axes.
    let mut lines: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    for r in rows {
        let others: Vec<String> = r
            .task
            .values
            .iter()
            .filter(|(p, _)| p != first)
            .map(|(p, v)| format!("{} = {v}", p.rsplit('.').next().unwrap_or(p)))
            .collect();
        lines.entry(others.join(", ")).or_default().push(r);
    }
    let xs: Vec<f64> = x_values.iter().map(|v| x_of(v)).collect();
    let (x_lo, x_hi) = (
        xs.iter().copied().fold(f64::INFINITY, f64::min),
        xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    let x_span = numeric_axis.then(|| {
        let pad = 0.04 * (x_hi - x_lo).max(1e-9);
        (x_lo - pad, x_hi + pad)
    });
    OUTCOMES
        .iter()
        .map(|(key, label)| {
            // Variants with no value (a stage overloaded: latency is not a number), named.
            let missing: Vec<&String> = x_values
                .iter()
                .filter(|v| {
                    rows.iter()
                        .filter(|r| r.task.values.iter().any(|(p, x)| p == first && x == *v))
                        .all(|r| r.outcomes.value(key).is_none())
                })
                .collect();
            let bytes = key.ends_with("_bytes");
            let max = rows
                .iter()
                .filter_map(|r| r.outcomes.value(key))
                .fold(0.0, f64::max);
            let (unit, unit_name) = if bytes { byte_unit(max) } else { (1.0, "") };
            let series = lines
                .iter()
                .enumerate()
                .map(|(k, (name, rs))| {
                    // Per x: the seeds' mean, and their least and greatest as the band.
                    let mut by_x: BTreeMap<u64, (f64, Vec<f64>)> = BTreeMap::new();
                    for r in rs {
                        let Some((_, v)) = r.task.values.iter().find(|(p, _)| p == first) else {
                            continue;
                        };
                        let x = x_of(v);
                        if let Some(y) = r.outcomes.value(key) {
                            by_x.entry(x.to_bits()).or_insert((x, Vec::new())).1.push(y);
                        }
                    }
                    let mut pts: Vec<(f64, f64, f64, f64)> = by_x
                        .into_values()
                        .map(|(x, ys)| {
                            let mean = ys.iter().sum::<f64>() / ys.len() as f64;
                            let lo = ys.iter().copied().fold(f64::INFINITY, f64::min);
                            let hi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                            (x, mean, lo, hi)
                        })
                        .collect();
                    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                    Series {
                        name: match (name.is_empty(), replicas > 1) {
                            (true, true) => "mean of the seeds".into(),
                            (true, false) => label.to_string(),
                            (false, _) => name.clone(),
                        },
                        points: pts.iter().map(|p| (p.0, p.1)).collect(),
                        color: PALETTE[k % PALETTE.len()],
                        band: Some(pts.iter().map(|p| (p.0, p.2, p.3)).collect()),
                    }
                })
                .collect();
            Chart {
                file: format!("sweep-{}", key.replace('_', "-")),
                title: if replicas > 1 {
                    format!(
                        "{scenario}: {label} ({replicas} seeds: mean, band from least to greatest)"
                    )
                } else {
                    format!("{scenario}: {label}")
                },
                x_label: if missing.is_empty() {
                    x_label.clone()
                } else {
                    format!(
                        "{x_label}; none at {} (a stage overloaded)",
                        missing
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
                x_range: x_span,
                x_names: x_names.clone(),
                panels: vec![Panel {
                    y_label: if bytes {
                        format!("{label} ({unit_name})")
                    } else {
                        label.to_string()
                    },
                    series,
                    y_unit: unit,
                    ..Panel::default()
                }],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sweep() -> Sweep {
        Sweep {
            axes: vec![
                ("node.heap".into(), vec!["2GiB".into(), "4GiB".into()]),
                ("x".into(), vec!["1".into(), "2".into(), "3".into()]),
            ],
            replicas: 2,
        }
    }

    #[test]
    fn variants_are_the_cartesian_product_first_axis_slowest() {
        let v = variants(&sweep());
        assert_eq!(v.len(), 6);
        assert_eq!(
            v[0],
            vec![
                ("node.heap".into(), "2GiB".into()),
                ("x".into(), "1".into())
            ]
        );
        assert_eq!(v[3][0].1, "4GiB");
    }

    #[test]
    fn every_run_has_its_own_seed_from_its_position() {
        let t = tasks(0, "s", 42, Some(&sweep()));
        assert_eq!(t.len(), 12);
        let seeds: std::collections::BTreeSet<u64> = t.iter().map(|t| t.seed).collect();
        assert_eq!(seeds.len(), 12);
        assert_eq!(tasks(0, "s", 42, Some(&sweep())), t);
        assert_eq!(t[3].dir, "s/002-heap-2gib_x-2/seed-1");
    }

    #[test]
    fn swept_values_become_numbers() {
        assert_eq!(numeric("4GiB"), Some(4.0 * 1024.0 * 1024.0 * 1024.0));
        assert_eq!(numeric("86400"), Some(86400.0));
        assert_eq!(numeric("1d"), Some(86400.0));
        assert_eq!(numeric("STCS"), None);
    }
}
