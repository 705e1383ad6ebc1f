//! `cassim compare`: a prediction (`cassim run`'s folder) against measurements of the real node
//! (one or more `cassim drive` folders) for the figures both sides define the same way: per table
//! the sstable count and live disk bytes at the end, tombstones per read (p50, p99 of the worst
//! sample), the largest partition, flushes, and the first warned and failed read and TWCS drop of
//! a fully expired sstable (an event predicted and never seen differs). Each figure gets
//! its relative error and the real node's own run-to-run spread; it agrees when within the
//! tolerance (20 %) or within that spread. Charts overlay the predicted and measured series.

use serde_json::{json, Value};

use crate::report::charts::{Chart, Level, Panel, Series, PALETTE};
use crate::report::document::Block;

/// The agreement asked of every figure (issue 22): 20 %, or the real node's own spread.
pub const TOLERANCE: f64 = 0.2;

/// A run's folder, read: `summary.json` and `timeseries.csv`.
pub struct RunFiles {
    pub summary: Value,
    pub timeseries: String,
}

/// The figures compared, by their path in `summary.json`'s table entry.
const FIGURES: &[(&str, &str)] = &[
    ("sstables", "sstables at the end"),
    ("disk_bytes", "live disk bytes at the end"),
    // Not p50: nodetool's histogram decays over about a minute, so its median mixes the flush
    // and compaction cycle, where a run's figure is the worst sample's median.
    (
        "sstables_per_read.p99",
        "sstables per read, p99 (worst sample)",
    ),
    ("sstables_per_read.max", "sstables per read, max"),
    (
        "tombstones_per_read.p50",
        "tombstones per read, p50 (worst sample)",
    ),
    (
        "tombstones_per_read.p99",
        "tombstones per read, p99 (worst sample)",
    ),
    (
        "max_sstable_partition_bytes",
        "largest partition in an sstable (bytes, nodetool's bucket)",
    ),
    ("flushes", "memtable flushes"),
    ("first_warning_s", "first warned read (s)"),
    ("first_failure_s", "first failed read (s)"),
    (
        "first_expired_drop_s",
        "first fully expired sstable dropped (s)",
    ),
];

/// The node's figures: `(path in the prediction's summary, path in a real run's, label, absolute
/// floor)`. The GC share's floor is one point of the time: G1's goal (GCTimeRatio=12) is 7.7 %,
/// and cassim's heap verdicts turn on shares of that size, not on 0.1 % against 0.2 %.
const NODE_FIGURES: &[(&str, &str, &str, f64)] = &[(
    "node.gc_pause_fraction_max",
    "node.gc_pause_fraction",
    "share of time paused in GC, worst sample",
    0.01,
)];

/// Each statement's figures, by their path in a `queries` entry: the latency the client sees, in
/// the prediction from the coordinator's model (CASSANDRA.md 7, a request's replicas and network),
/// on the real node from the driver (its send time to the response, HdrHistogram). Outside the
/// validation's goal: the real node shares its two cores with the drive, its nodetool and the
/// JVM's collections, which the prediction does not hold.
const QUERY_FIGURES: &[(&str, &str)] = &[
    ("latency_ms.p50", "latency at the client, p50 (ms)"),
    ("latency_ms.p99", "latency at the client, p99 (ms)"),
];

/// The figures that are the time of a first event: a real run that could see the event and did
/// not has no value because it never happened, not because it was not measured.
fn is_event(path: &str) -> bool {
    path.starts_with("first_")
}

/// Whether a real run could see the event `path` names: every read's outcome is recorded, the
/// drops only when drive read the node's log.
fn event_known(summary: &Value, table: &str, path: &str) -> bool {
    match path {
        "first_expired_drop_s" => summary["tables"][table]["expired_drops_known"] == true,
        _ => true,
    }
}

fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, k| v.get(k))
}

/// The upper bound of the `EstimatedHistogram` bucket holding `v`, as `nodetool tablestats`
/// reports a partition size (`compacted_partition_maximum_bytes`): offsets 1, 2, 3, … each the
/// previous times 1.2 rounded, at least one more (`EstimatedHistogram.newOffsets`).
pub fn histogram_bucket(v: f64) -> f64 {
    let mut last: f64 = 1.0;
    while last < v {
        let next = (last * 1.2).round();
        last = if next == last { next + 1.0 } else { next };
    }
    last
}

/// One figure of one table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Figure {
    pub table: String,
    pub figure: String,
    pub label: String,
    pub predicted: Option<f64>,
    pub measured: Vec<Option<f64>>,
    pub measured_mean: Option<f64>,
    /// (predicted - measured) / measured.
    pub relative_error: Option<f64>,
    /// The real runs' range over their mean (0 with one run).
    pub spread: Option<f64>,
    /// "agrees", "differs", "none on either side" (e.g. no warning predicted or seen), or "not
    /// measured" (the real node gave no figure, e.g. no partition size before a flush).
    pub verdict: String,
}

/// Judges one figure; `never` says a missing measured value means the event never happened;
/// within `floor` in absolute terms a figure agrees whatever its relative error.
fn judge(predicted: Option<f64>, measured: &[Option<f64>], never: bool, floor: f64) -> Figure {
    let seen: Vec<f64> = measured.iter().flatten().copied().collect();
    let mean = (!seen.is_empty()).then(|| seen.iter().sum::<f64>() / seen.len() as f64);
    let spread = mean.map(|m| {
        let (lo, hi) = seen
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        if m.abs() > 0.0 {
            (hi - lo) / m.abs()
        } else {
            0.0
        }
    });
    let all_missing = seen.len() < measured.len();
    let (relative_error, verdict) = match (predicted, mean) {
        (None, None) => (None, "none on either side"),
        (Some(p), Some(m)) if !all_missing => {
            let err = if m == 0.0 {
                if p == 0.0 {
                    0.0
                } else {
                    f64::INFINITY
                }
            } else {
                (p - m) / m.abs()
            };
            let within =
                err.abs() <= TOLERANCE.max(spread.unwrap_or(0.0)) || (p - m).abs() <= floor;
            (
                err.is_finite().then_some(err),
                if within { "agrees" } else { "differs" },
            )
        }
        (Some(_), None) if never => (None, "differs"),
        (Some(_), None) => (None, "not measured"),
        _ => (None, "differs"),
    };
    Figure {
        table: String::new(),
        figure: String::new(),
        label: String::new(),
        predicted,
        measured: measured.to_vec(),
        measured_mean: mean,
        relative_error,
        spread,
        verdict: verdict.into(),
    }
}

/// Compares every table the prediction has.
pub fn compare(predicted: &RunFiles, measured: &[RunFiles]) -> Vec<Figure> {
    let mut out = Vec::new();
    let Some(tables) = predicted.summary.get("tables").and_then(Value::as_object) else {
        return out;
    };
    for (table, entry) in tables {
        for (path, label) in FIGURES {
            let mut p = at(entry, path).and_then(Value::as_f64);
            if *path == "max_sstable_partition_bytes" {
                // nodetool reports the bucket a size falls in: the prediction too.
                p = p.filter(|&b| b > 0.0).map(histogram_bucket);
            }
            let m: Vec<Option<f64>> = measured
                .iter()
                .map(|r| at(&r.summary["tables"][table], path).and_then(Value::as_f64))
                .collect();
            let never = is_event(path)
                && !measured.is_empty()
                && measured
                    .iter()
                    .all(|r| event_known(&r.summary, table, path));
            let mut f = judge(p, &m, never, 0.0);
            f.table = table.clone();
            f.figure = path.to_string();
            f.label = label.to_string();
            out.push(f);
        }
    }
    out.extend(query_figures(predicted, measured));
    for (predicted_path, measured_path, label, floor) in NODE_FIGURES {
        let p = at(&predicted.summary, predicted_path).and_then(Value::as_f64);
        let m: Vec<Option<f64>> = measured
            .iter()
            .map(|r| at(&r.summary, measured_path).and_then(Value::as_f64))
            .collect();
        let mut f = judge(p, &m, false, *floor);
        f.table = "(node)".into();
        f.figure = measured_path.to_string();
        f.label = label.to_string();
        out.push(f);
    }
    out
}

/// Per statement of the prediction, its [`QUERY_FIGURES`] against the real runs' statement of the
/// same name.
fn query_figures(predicted: &RunFiles, measured: &[RunFiles]) -> Vec<Figure> {
    fn queries(s: &Value) -> Option<&Vec<Value>> {
        s.get("queries").and_then(Value::as_array)
    }
    let Some(predicted_queries) = queries(&predicted.summary) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for q in predicted_queries {
        let name = q.get("name").and_then(Value::as_str).unwrap_or_default();
        let table = q.get("table").and_then(Value::as_str).unwrap_or_default();
        for (path, label) in QUERY_FIGURES {
            let m: Vec<Option<f64>> = measured
                .iter()
                .map(|r| {
                    queries(&r.summary)?
                        .iter()
                        .find(|x| x.get("name").and_then(Value::as_str) == Some(name))
                        .and_then(|x| at(x, path))
                        .and_then(Value::as_f64)
                })
                .collect();
            let mut f = judge(at(q, path).and_then(Value::as_f64), &m, false, 0.0);
            f.table = format!("{table} \"{name}\"");
            f.figure = format!("queries.{name}.{path}");
            f.label = label.to_string();
            out.push(f);
        }
    }
    out
}

/// A column of `timeseries.csv` for one table: `(t_s, value)`; the first node's rows when a
/// prediction has several.
pub fn series_of(csv_text: &str, table: &str, column: &str) -> Vec<(f64, f64)> {
    let mut r = csv::Reader::from_reader(csv_text.as_bytes());
    let Ok(head) = r.headers().cloned() else {
        return Vec::new();
    };
    let idx = |name: &str| head.iter().position(|h| h == name);
    let (Some(t), Some(tb), Some(c), n) = (idx("t_s"), idx("table"), idx(column), idx("node"))
    else {
        return Vec::new();
    };
    let mut first_node: Option<String> = None;
    r.records()
        .flatten()
        .filter(|rec| rec.get(tb) == Some(table))
        .filter(|rec| {
            let node = n.and_then(|n| rec.get(n)).unwrap_or("").to_string();
            first_node.get_or_insert_with(|| node.clone()) == &node
        })
        .filter_map(|rec| Some((rec.get(t)?.parse().ok()?, rec.get(c)?.parse().ok()?)))
        .collect()
}

const CHARTED: &[(&str, &str, f64)] = &[
    ("tombstones_per_read_p50", "tombstones per read, p50", 1.0),
    ("tombstones_per_read_p99", "tombstones per read, p99", 1.0),
    ("sstables", "sstables", 1.0),
    ("sstables_per_read_p50", "sstables per read, p50", 1.0),
    ("disk_bytes", "live disk (MiB)", 1048576.0),
];

/// Per table and charted figure, a chart overlaying the predicted and each measured series.
pub fn charts(
    predicted: &RunFiles,
    measured: &[RunFiles],
    thresholds: &[(String, f64)],
) -> Vec<Chart> {
    let Some(tables) = predicted.summary.get("tables").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for table in tables.keys() {
        for (col, label, unit) in CHARTED {
            let mut series = vec![Series {
                name: "cassim".into(),
                points: series_of(&predicted.timeseries, table, col),
                color: PALETTE[0],
                band: None,
            }];
            for (i, m) in measured.iter().enumerate() {
                series.push(Series {
                    name: format!("Cassandra run {}", i + 1),
                    points: series_of(&m.timeseries, table, col),
                    color: PALETTE[1 + i % (PALETTE.len() - 1)],
                    band: None,
                });
            }
            let tombstones = col.starts_with("tombstones");
            let levels = if tombstones {
                thresholds
                    .iter()
                    .map(|(n, y)| Level {
                        name: n.clone(),
                        y: *y,
                        color: PALETTE[3],
                    })
                    .collect()
            } else {
                Vec::new()
            };
            out.push(Chart {
                file: format!("{table}-{col}"),
                title: format!("{table}: {label}, cassim against Cassandra"),
                x_label: "seconds".into(),
                x_range: None,
                x_names: Vec::new(),
                panels: vec![Panel {
                    y_label: if tombstones {
                        format!("{label} (log scale)")
                    } else {
                        label.to_string()
                    },
                    series,
                    levels,
                    y_unit: *unit,
                    log_y: tombstones,
                    log_floor: 1.0,
                    ..Panel::default()
                }],
            });
        }
    }
    out
}

fn fmt(x: Option<f64>) -> String {
    x.map_or("–".into(), crate::metrics::format_number)
}

fn pct(x: Option<f64>) -> String {
    x.map_or("–".into(), |e| format!("{:+.0} %", e * 100.0))
}

/// `comparison.json`.
pub fn json(scenario: &str, figures: &[Figure]) -> Value {
    let count = |v: &str| figures.iter().filter(|f| f.verdict == v).count();
    json!({
        "scenario": scenario,
        "tolerance": TOLERANCE,
        "agreeing": count("agrees") + count("none on either side"),
        "differing": count("differs"),
        "not_measured": count("not measured"),
        "figures_compared": figures.len(),
        "figures": figures,
    })
}

/// The report's blocks: the table of figures, then the charts.
pub fn blocks(scenario: &str, figures: &[Figure], charts: &[Chart]) -> Vec<Block> {
    let runs = figures.first().map_or(0, |f| f.measured.len());
    let mut head = vec!["table".to_string(), "figure".into(), "cassim".into()];
    head.extend((1..=runs).map(|i| format!("Cassandra run {i}")));
    head.extend(["error".into(), "real spread".into(), "verdict".into()]);
    let rows = figures
        .iter()
        .map(|f| {
            let mut row = vec![f.table.clone(), f.label.clone(), fmt(f.predicted)];
            row.extend(f.measured.iter().map(|m| fmt(*m)));
            let spread = f
                .spread
                .map_or("–".into(), |x| format!("{:.0} %", x * 100.0));
            row.extend([pct(f.relative_error), spread, f.verdict.clone()]);
            row
        })
        .collect();
    let mut out = vec![
        Block::Heading(1, format!("{scenario}: cassim against a real Cassandra node")),
        Block::Para(format!(
            "A figure agrees when cassim is within {:.0} % of the real node's mean, or within the real node's own spread between runs when that is larger.",
            TOLERANCE * 100.0
        )),
        Block::Table { head, rows },
    ];
    out.extend(charts.iter().map(|c| Block::Chart {
        file: c.file.clone(),
        title: c.title.clone(),
    }));
    out
}

/// Every file of a comparison: `comparison.json`, `comparison.md`, `comparison.html`, charts.
pub fn files(
    scenario: &str,
    predicted: &RunFiles,
    measured: &[RunFiles],
    thresholds: &[(String, f64)],
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let figures = compare(predicted, measured);
    let charts = charts(predicted, measured, thresholds);
    let blocks = blocks(scenario, &figures, &charts);
    let mut out =
        crate::report::documents(&format!("cassim compare: {scenario}"), &blocks, &charts)?;
    for (name, _) in out.iter_mut() {
        if name == "summary.md" {
            *name = "comparison.md".into();
        } else if name == "report.html" {
            *name = "comparison.html".into();
        }
    }
    let mut j = serde_json::to_string_pretty(&json(scenario, &figures)).unwrap_or_default();
    j.push('\n');
    out.push(("comparison.json".into(), j.into_bytes()));
    Ok(out)
}

/// The tombstone thresholds the scenario runs with (its settings or Cassandra's defaults, as
/// the engine reads them), for the charts' reference lines.
pub fn thresholds(settings: &crate::scenario::Settings) -> Vec<(String, f64)> {
    vec![
        (
            "tombstone_warn_threshold".into(),
            settings
                .number("tombstone_warn_threshold")
                .unwrap_or(crate::defaults::TOMBSTONE_WARN_THRESHOLD as f64),
        ),
        (
            "tombstone_failure_threshold".into(),
            settings
                .number("tombstone_failure_threshold")
                .unwrap_or(crate::defaults::TOMBSTONE_FAILURE_THRESHOLD as f64),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_tolerance_or_spread_agrees() {
        let f = judge(Some(110.0), &[Some(100.0)], false, 0.0);
        assert_eq!(f.verdict, "agrees");
        assert!((f.relative_error.unwrap() - 0.1).abs() < 1e-12);
        assert_eq!(
            judge(Some(130.0), &[Some(100.0)], false, 0.0).verdict,
            "differs"
        );
        // The real node itself moved by 40 %: 30 % off is within its spread.
        let g = judge(Some(130.0), &[Some(80.0), Some(120.0)], false, 0.0);
        assert_eq!(g.verdict, "agrees");
        assert_eq!(
            judge(None, &[None, None], true, 0.0).verdict,
            "none on either side"
        );
        assert_eq!(
            judge(Some(60.0), &[None], false, 0.0).verdict,
            "not measured"
        );
        assert_eq!(judge(None, &[Some(60.0)], false, 0.0).verdict, "differs");
        // A warning predicted that the real node never gave.
        assert_eq!(
            judge(Some(60.0), &[None, None], true, 0.0).verdict,
            "differs"
        );
        // Twice a tiny share is within a figure's absolute floor.
        assert_eq!(
            judge(Some(0.001), &[Some(0.002)], false, 0.01).verdict,
            "agrees"
        );
    }

    #[test]
    fn partition_sizes_fall_in_nodetools_buckets() {
        // The first offsets: 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 17, 20, 24, 29, 35, ...
        assert_eq!(histogram_bucket(9.0), 10.0);
        assert_eq!(histogram_bucket(10.0), 10.0);
        assert_eq!(histogram_bucket(30.0), 35.0);
        // Buckets are about 20 % wide.
        let b = histogram_bucket(73_000.0);
        assert!((73_000.0..73_000.0 * 1.21).contains(&b));
    }

    #[test]
    fn statements_are_matched_by_name_for_their_latency() {
        let run = |queries: Value| RunFiles {
            summary: json!({ "tables": {}, "queries": queries }),
            timeseries: String::new(),
        };
        let predicted = run(json!([
            { "name": "read", "table": "k.t", "latency_ms": { "p50": 1.0, "p99": 3.0 } },
            { "name": "write", "table": "k.t", "latency_ms": { "p50": 0.3, "p99": 0.4 } },
        ]));
        // The real run lists its statements in another order and lacks a p99 for one.
        let measured = run(json!([
            { "name": "write", "table": "k.t", "latency_ms": { "p50": 2.0 } },
            { "name": "read", "table": "k.t", "latency_ms": { "p50": 1.1, "p99": 9.0 } },
        ]));
        let f = query_figures(&predicted, &[measured]);
        let by = |fig: &str| f.iter().find(|x| x.figure == fig).unwrap();
        assert_eq!(f.len(), 4);
        assert_eq!(by("queries.read.latency_ms.p50").verdict, "agrees");
        assert_eq!(by("queries.read.latency_ms.p99").verdict, "differs");
        assert_eq!(by("queries.write.latency_ms.p50").measured, vec![Some(2.0)]);
        assert_eq!(by("queries.write.latency_ms.p99").verdict, "not measured");
        assert_eq!(by("queries.read.latency_ms.p50").table, "k.t \"read\"");
    }

    #[test]
    fn series_come_from_the_first_nodes_rows() {
        let csv = "t_s,node,table,sstables\n15,a,k.t,1\n15,b,k.t,9\n30,a,k.t,2\n30,a,k.u,5\n";
        assert_eq!(
            series_of(csv, "k.t", "sstables"),
            vec![(15.0, 1.0), (30.0, 2.0)]
        );
        assert!(series_of(csv, "k.t", "nothing").is_empty());
    }
}
