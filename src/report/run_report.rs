//! The report of a run as blocks (`document`): the findings first, in Cassandra's words with the
//! day they start, then per table, per query, per node, the sizing, the charts, and the scenario's
//! inputs. `summary.md` and `report.html` are both rendered from these blocks.

use super::charts::Chart;
use super::document::Block;
use crate::calibration::COEFFICIENTS;
use crate::scenario::Scenario;
use crate::sim::Summary;
use crate::units::{format_bytes, format_count, format_duration};

fn ms(x: f64) -> String {
    format!("{x:.2}")
}

/// A count's p50 and p99 as a table cell.
fn p50_p99(p: &crate::metrics::Percentiles) -> String {
    format!("{} / {}", format_count(p.p50), format_count(p.p99))
}

fn pct(x: f64) -> String {
    format!("{:.1} %", 100.0 * x)
}

pub fn blocks(scenario: &Scenario, summary: &Summary, charts: &[Chart]) -> Vec<Block> {
    let mut out = vec![
        Block::Heading(1, format!("cassim run: {}", summary.scenario)),
        Block::Para(format!(
            "Cassandra {}, {} simulated, sampled every {}, seed {}, cassim {}.",
            summary.cassandra_version,
            format_duration(summary.duration_s),
            format_duration(summary.sample_every_s),
            summary.seed,
            summary.cassim_version
        )),
        Block::Heading(2, "Findings".into()),
    ];
    if summary.findings.is_empty() {
        out.push(Block::Para("No findings.".into()));
    } else {
        out.push(Block::List(
            summary
                .findings
                .iter()
                .map(|f| {
                    let table = f
                        .table
                        .as_deref()
                        .map(|t| format!(" {t}:"))
                        .unwrap_or_default();
                    format!("{:?}: {}{} {}", f.severity, f.code, table, f.message)
                        .to_lowercase_first()
                })
                .collect(),
        ));
    }
    tables(summary, &mut out);
    queries(summary, &mut out);
    nodes(summary, &mut out);
    sizing(summary, &mut out);
    out.push(Block::Heading(2, "Charts".into()));
    for c in charts {
        out.push(Block::Chart {
            file: c.file.clone(),
            title: c.title.clone(),
        });
    }
    inputs(scenario, &mut out);
    if !summary.notes.is_empty() {
        out.push(Block::Heading(2, "Notes".into()));
        out.push(Block::List(summary.notes.clone()));
    }
    out
}

trait LowerFirst {
    fn to_lowercase_first(self) -> String;
}

impl LowerFirst for String {
    fn to_lowercase_first(self) -> String {
        let mut c = self.chars();
        match c.next() {
            Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
            None => self,
        }
    }
}

fn tables(summary: &Summary, out: &mut Vec<Block>) {
    out.push(Block::Heading(2, "Tables (per node at the end)".into()));
    let rows = summary
        .tables
        .iter()
        .map(|(name, t)| {
            vec![
                name.clone(),
                format_count(t.partitions),
                format!(
                    "{} / {} / {}",
                    format_bytes(t.partition_bytes.p50),
                    format_bytes(t.partition_bytes.p99),
                    format_bytes(t.partition_bytes.max)
                ),
                format_count(t.live_rows),
                format_count(t.sstables),
                format_bytes(t.disk_bytes),
                format_count(t.tombstones.total()),
                p50_p99(&t.sstables_per_read),
                p50_p99(&t.tombstones_per_read),
                format_count(t.warned_reads),
                format_count(t.failed_reads),
            ]
        })
        .collect();
    out.push(Block::Table {
        head: [
            "table",
            "partitions",
            "partition size p50 / p99 / max",
            "live rows",
            "sstables",
            "disk",
            "tombstones",
            "sstables per read p50 / p99",
            "tombstones per read p50 / p99",
            "warned reads",
            "failed reads",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    });
}

fn queries(summary: &Summary, out: &mut Vec<Block>) {
    out.push(Block::Heading(2, "Queries".into()));
    let rows = summary
        .queries
        .iter()
        .map(|q| {
            let lat = match &q.latency_ms {
                Some(l) => format!(
                    "{} / {} / {} / {}",
                    ms(l.p50),
                    ms(l.p95),
                    ms(l.p99),
                    ms(l.max)
                ),
                None if q.overloaded_samples > 0 => {
                    format!("overloaded in {} samples", q.overloaded_samples)
                }
                None => "none".into(),
            };
            vec![
                q.name.clone(),
                q.kind.clone(),
                q.table.clone(),
                lat,
                p50_p99(&q.sstables_per_read),
                p50_p99(&q.tombstones_per_read),
                pct(q.warned_share),
                pct(q.failed_share),
            ]
        })
        .collect();
    out.push(Block::Table {
        head: [
            "query",
            "kind",
            "table",
            "latency ms p50 / p95 / p99 / max (worst sample)",
            "sstables per read p50 / p99",
            "tombstones per read p50 / p99",
            "warned",
            "failed",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    });
    for q in &summary.queries {
        let mut text = String::new();
        super::run_output::render_query(&mut text, q);
        out.push(Block::Code(text.trim_end().to_string()));
    }
}

fn nodes(summary: &Summary, out: &mut Vec<Block>) {
    out.push(Block::Heading(2, "Nodes: memory and verdicts".into()));
    let rows = summary
        .nodes
        .iter()
        .map(|n| {
            vec![
                n.name.clone(),
                format!(
                    "{} ({})",
                    format_bytes(n.jvm.heap_bytes),
                    n.jvm.collector.name()
                ),
                format_bytes(n.peak_live_bytes),
                pct(n.gc_pause_fraction),
                format_count(n.flushes_per_hour),
                format_bytes(n.offheap_bytes.total()),
                format_bytes(n.page_cache_bytes),
                n.verdict.word().to_string(),
            ]
        })
        .collect();
    out.push(Block::Table {
        head: [
            "node",
            "heap",
            "live set peak",
            "GC paused",
            "flushes per hour",
            "off heap",
            "page cache",
            "verdict",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    });
    out.push(Block::List(
        summary
            .nodes
            .iter()
            .map(|n| {
                let since = n
                    .verdict_at_s
                    .map(|t| format!(" from {}", crate::units::format_day(t)))
                    .unwrap_or_default();
                format!(
                    "{}: {}{since}: {}",
                    n.name,
                    n.verdict.word(),
                    n.verdict_reason
                )
            })
            .collect(),
    ));
    out.push(Block::Para(match summary.node.smallest_healthy_heap_bytes {
        Some(h) => format!(
            "Smallest healthy heap: {} (the scenario re-run at the heap sizes operators use, up to half the RAM).",
            format_bytes(h)
        ),
        None => "Smallest healthy heap: none up to half the RAM.".into(),
    }));
}

fn sizing(summary: &Summary, out: &mut Vec<Block>) {
    let s = &summary.sizing;
    if s.datacenters.is_empty() {
        return;
    }
    out.push(Block::Heading(2, "Sizing".into()));
    out.push(Block::List(s.recommendation.clone()));
    for d in &s.datacenters {
        out.push(Block::Heading(
            3,
            format!(
                "{} ({} nodes, RF {}): needs {}, bound by {}",
                d.name, d.nodes, d.rf, d.nodes_needed, d.binding_constraint
            ),
        ));
        out.push(Block::Table {
            head: ["limit", "nodes it needs", "met now", "why"]
                .map(String::from)
                .to_vec(),
            rows: d
                .constraints
                .iter()
                .map(|c| {
                    vec![
                        c.name.to_string(),
                        c.nodes.map(|n| n.to_string()).unwrap_or_else(|| "?".into()),
                        if c.met { "yes" } else { "no" }.into(),
                        c.reason.clone(),
                    ]
                })
                .collect(),
        });
    }
}

/// The scenario's inputs, as field paths and values (calibration: only what the scenario set).
fn inputs(scenario: &Scenario, out: &mut Vec<Block>) {
    out.push(Block::Heading(2, "Scenario inputs".into()));
    let mut rows = Vec::new();
    if let Ok(v) = serde_json::to_value(scenario) {
        flatten("", &v, &mut rows);
    }
    for c in COEFFICIENTS {
        let v = scenario.calibration.get(c.name);
        if v != c.default {
            rows.push(vec![
                format!("calibration.{}", c.name),
                format!("{v} {}", c.unit),
            ]);
        }
    }
    out.push(Block::Table {
        head: vec!["field".into(), "value".into()],
        rows,
    });
    let mut schema = Vec::new();
    for name in scenario.tables.keys() {
        if let Some(t) = scenario.schema.table(name) {
            schema.push(vec![
                name.clone(),
                t.partition_key.join(", "),
                t.clustering
                    .iter()
                    .map(|(c, o)| format!("{c} {o:?}").to_uppercase())
                    .collect::<Vec<_>>()
                    .join(", "),
                format!("{:?}", t.options.compaction.strategy),
                t.options
                    .gc_grace_seconds
                    .map(|g| g.to_string())
                    .unwrap_or_else(|| "864000 (default)".into()),
                t.options
                    .default_time_to_live
                    .map(|g| g.to_string())
                    .unwrap_or_else(|| "0".into()),
            ]);
        }
    }
    if !schema.is_empty() {
        out.push(Block::Table {
            head: [
                "table",
                "partition key",
                "clustering",
                "compaction",
                "gc_grace_seconds",
                "default_time_to_live",
            ]
            .map(String::from)
            .to_vec(),
            rows: schema,
        });
    }
}

/// What a reader needs of the scenario tree: not the derived storage effects of statements, not
/// the whole calibration table.
fn flatten(path: &str, v: &serde_json::Value, rows: &mut Vec<Vec<String>>) {
    use serde_json::Value;
    let skip = ["calibration", "writes", "read"];
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if skip.contains(&k.as_str()) {
                    continue;
                }
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                flatten(&p, x, rows);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{path}[{i}]"), x, rows);
            }
        }
        Value::Null => {}
        Value::String(s) => rows.push(vec![path.to_string(), s.clone()]),
        other => rows.push(vec![path.to_string(), other.to_string()]),
    }
}
