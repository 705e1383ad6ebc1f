//! `cassim drive`'s files: `summary.json` and `timeseries.csv` with the names and units of
//! `cassim run`'s where a figure is measurable on a real node (so one comparison reads both),
//! plus what only a real run has: asked against achieved rates, errors, traced reads.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::client::Measured;
use super::record::{trace_percentiles, OpSample, OpTotals, TraceCounts};
use crate::latency::percentiles;
use crate::metrics::{round_json, Percentiles};
use crate::scenario::Scenario;

fn pct(p: &Percentiles) -> Value {
    json!({"p50": round_json(p.p50), "p99": round_json(p.p99), "max": round_json(p.max)})
}

fn opt(x: Option<f64>) -> Value {
    x.map_or(Value::Null, |v| json!(round_json(v)))
}

/// The reads of `table` in sample `k`, over its SELECT statements.
fn table_traces(m: &Measured, scenario: &Scenario, table: &str, k: usize) -> Vec<TraceCounts> {
    scenario
        .workload
        .iter()
        .enumerate()
        .filter(|(_, o)| o.table == table && o.is_read())
        .flat_map(|(i, _)| {
            m.recorder.ops[i]
                .get(k)
                .map(|s| s.traces.clone())
                .unwrap_or_default()
        })
        .collect()
}

/// Per statement: its name, the rate the plan asked (requests it made due over the run: a
/// consumer starts a delay late, so this can be below the scenario's rate) and the rate that
/// completed without error (deletes with no row to aim at count as done: not the cluster's
/// fault).
pub fn rates(m: &Measured, scenario: &Scenario, duration_s: f64) -> Vec<(String, f64, f64)> {
    let d = duration_s.max(1e-9);
    scenario
        .workload
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let ok: u64 = m.recorder.ops[i].iter().map(|s| s.sent - s.errors).sum();
            let asked = m.planned[i] as f64 / d;
            let achieved = (ok + m.skipped[i]) as f64 / d;
            (o.name.clone(), asked, achieved)
        })
        .collect()
}

/// Whether the cluster kept up with a statement: it completed at least 95 % of what was asked.
pub fn kept_up(asked: f64, achieved: f64) -> bool {
    achieved >= 0.95 * asked
}

/// `summary.json`; `rates` are [`rates`]'s.
pub fn summary(
    m: &Measured,
    scenario: &Scenario,
    seed: u64,
    hosts: &[String],
    duration_s: f64,
    rates: &[(String, f64, f64)],
    expired_drops: Option<&std::collections::BTreeMap<String, f64>>,
) -> Value {
    let every = scenario.sample_every_s;
    let last = m.node.last().map(|(_, s)| s);
    let mut tables = serde_json::Map::new();
    for name in scenario.tables.keys() {
        let state = last.and_then(|s| s.tables.get(name));
        let mut tomb = Percentiles::default();
        let mut live = Percentiles::default();
        for k in 0..m.recorder.samples() {
            let (t, l) = trace_percentiles(&table_traces(m, scenario, name, k));
            tomb = tomb.worst(&t);
            live = live.worst(&l);
        }
        let ops: Vec<OpTotals> = scenario
            .workload
            .iter()
            .enumerate()
            .filter(|(_, o)| o.table == *name && o.is_read())
            .map(|(i, _)| OpTotals::of(&m.recorder.ops[i], every, duration_s))
            .collect();
        let first = |f: fn(&OpTotals) -> Option<f64>| ops.iter().filter_map(f).reduce(f64::min);
        // tablestats knows partition sizes from sstables only: none before the first flush.
        let max_partition = m
            .node
            .iter()
            .filter_map(|(_, s)| s.tables.get(name))
            .filter(|t| t.sstables > 0.0)
            .map(|t| t.max_partition_bytes)
            .reduce(f64::max);
        // tablehistograms' SSTables histogram decays over minutes: the worst sample's.
        let spr = m
            .node
            .iter()
            .filter_map(|(_, s)| s.tables.get(name).and_then(|t| t.sstables_per_read))
            .reduce(|a, b| [a[0].max(b[0]), a[1].max(b[1]), a[2].max(b[2])]);
        tables.insert(
            name.clone(),
            json!({
                "sstables_per_read": spr.map_or(Value::Null, |p| json!({"p50": p[0], "p99": p[1], "max": p[2]})),
                "partitions": opt(state.map(|s| s.partitions)),
                "max_sstable_partition_bytes": opt(max_partition),
                "mean_sstable_partition_bytes": opt(state.map(|s| s.mean_partition_bytes)),
                "compression_ratio": opt(state.filter(|s| s.sstables > 0.0).map(|s| s.compression_ratio)),
                "sstables": opt(state.map(|s| s.sstables)),
                "disk_bytes": opt(state.map(|s| s.disk_bytes)),
                "flushes": opt(state.map(|s| s.flushes)),
                "tombstones_per_read": pct(&tomb),
                "live_rows_per_read": pct(&live),
                "warned_reads": ops.iter().map(|o| o.warned).sum::<u64>(),
                "failed_reads": ops.iter().map(|o| o.failed).sum::<u64>(),
                "first_warning_s": opt(first(|o| o.first_warning_s)),
                "first_failure_s": opt(first(|o| o.first_failure_s)),
                // Null without the node's log; absent from it, no drop was seen.
                "first_expired_drop_s": opt(expired_drops.and_then(|d| d.get(name).copied())),
                "expired_drops_known": expired_drops.is_some(),
            }),
        );
    }
    let queries: Vec<Value> = scenario
        .workload
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let t = OpTotals::of(&m.recorder.ops[i], every, duration_s);
            json!({
                "name": o.name, "cql": o.cql, "table": o.table,
                "kind": if o.is_read() { "read" } else { "write" },
                "rate_per_s": round_json(o.rate_per_s),
                "asked_per_s": round_json(rates[i].1),
                "achieved_per_s": round_json(rates[i].2),
                "sent": t.sent, "errors": t.errors,
                "skipped_no_target": m.skipped[i],
                "traced_reads": t.traced,
                "warned_reads": t.warned, "failed_reads": t.failed,
                "latency_ms": t.latency_ms,
                "tombstones_per_read": pct(&t.tombstones_per_read),
                "live_rows_per_read": pct(&t.live_rows_per_read),
            })
        })
        .collect();
    let fold = |f: fn(&super::server::NodeState) -> Option<f64>| {
        m.node.iter().filter_map(|(_, s)| f(s)).reduce(f64::max)
    };
    let behind: Vec<&(String, f64, f64)> =
        rates.iter().filter(|(_, a, b)| !kept_up(*a, *b)).collect();
    let mut notes: Vec<String> = behind
        .iter()
        .map(|(n, a, b)| {
            format!("`{n}` achieved {b:.1}/s of the {a:.1}/s asked: the cluster (or the client) could not keep up")
        })
        .collect();
    notes.extend(m.node_errors.iter().cloned());
    notes.extend(
        m.recorder
            .error_texts
            .iter()
            .map(|(e, n)| format!("{n} requests failed: {e}")),
    );
    json!({
        "scenario": scenario.name,
        "seed": seed,
        "source": "cassandra",
        "cassim_version": env!("CARGO_PKG_VERSION"),
        "cassandra_version": m.release_version,
        "hosts": hosts,
        "duration_s": round_json(duration_s),
        "elapsed_s": round_json(m.elapsed_s),
        "sample_every_s": round_json(every),
        "kept_up": behind.is_empty(),
        "tables": tables,
        "queries": queries,
        "node": {
            "heap_bytes": opt(fold(|s| s.heap_max_bytes)),
            "peak_heap_used_bytes": opt(fold(|s| s.heap_used_bytes)),
            "gc_pause_fraction": opt(fold(|s| s.gc_pause_fraction)),
            "pending_compactions_max": opt(fold(|s| s.pending_compactions)),
        },
        "notes": notes,
    })
}

const COLUMNS: &[&str] = &[
    "t_s",
    "node",
    "table",
    "partitions",
    "max_sstable_partition_bytes",
    "sstables",
    "sstables_per_read_p50",
    "sstables_per_read_p99",
    "disk_bytes",
    "flushes",
    "pending_compactions",
    "heap_used_bytes",
    "gc_pause_fraction",
    "tombstones_per_read_p50",
    "tombstones_per_read_p99",
    "tombstones_per_read_max",
    "live_rows_per_read_p50",
    "traced_reads",
    "warned_reads",
    "failed_reads",
    "read_latency_p50_ms",
    "read_latency_p99_ms",
    "read_latency_max_ms",
    "write_latency_p50_ms",
    "write_latency_p99_ms",
    "requests_per_s",
];

fn cell(x: Option<f64>) -> String {
    x.map_or(String::new(), crate::metrics::format_number)
}

/// `timeseries.csv`: a row per sample and table.
pub fn timeseries(m: &Measured, scenario: &Scenario, node: &str) -> String {
    let every = scenario.sample_every_s;
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(COLUMNS);
    let n = m.recorder.samples().max(m.node.len());
    let mut prev_flushes: BTreeMap<&str, f64> = BTreeMap::new();
    for k in 0..n {
        // The node's own sample time: the last sample is at the run's end, which need not be a
        // whole number of sample periods.
        let t_s = m.node.get(k).map_or((k + 1) as f64 * every, |(t, _)| *t);
        let state = m.node.get(k).map(|(_, s)| s);
        for name in scenario.tables.keys() {
            let ops: Vec<(usize, bool)> = scenario
                .workload
                .iter()
                .enumerate()
                .filter(|(_, o)| o.table == *name)
                .map(|(i, o)| (i, o.is_read()))
                .collect();
            let sample = |i: usize| m.recorder.ops[i].get(k).cloned().unwrap_or_default();
            let merged = |read: bool| -> OpSample {
                let mut s = OpSample::default();
                for &(i, r) in &ops {
                    if r == read {
                        let x = sample(i);
                        s.latencies_s.extend(x.latencies_s);
                        s.traces.extend(x.traces);
                        s.sent += x.sent;
                        s.warned += x.warned;
                        s.failed += x.failed;
                    }
                }
                s
            };
            let (reads, writes) = (merged(true), merged(false));
            let (tomb, live) = trace_percentiles(&reads.traces);
            let traced = !reads.traces.is_empty();
            let rl = percentiles(&reads.latencies_s);
            let wl = percentiles(&writes.latencies_s);
            let ts = state.and_then(|s| s.tables.get(name.as_str()));
            let flushes = ts.map(|t| {
                let p = prev_flushes.insert(name.as_str(), t.flushes).unwrap_or(0.0);
                (t.flushes - p).max(0.0)
            });
            let row = vec![
                crate::metrics::format_number(t_s),
                node.to_string(),
                name.clone(),
                cell(ts.map(|t| t.partitions)),
                cell(
                    ts.filter(|t| t.sstables > 0.0)
                        .map(|t| t.max_partition_bytes),
                ),
                cell(ts.map(|t| t.sstables)),
                cell(ts.and_then(|t| t.sstables_per_read).map(|p| p[0])),
                cell(ts.and_then(|t| t.sstables_per_read).map(|p| p[1])),
                cell(ts.map(|t| t.disk_bytes)),
                cell(flushes),
                cell(state.and_then(|s| s.pending_compactions)),
                cell(state.and_then(|s| s.heap_used_bytes)),
                cell(state.and_then(|s| s.gc_pause_fraction)),
                cell(traced.then_some(tomb.p50)),
                cell(traced.then_some(tomb.p99)),
                cell(traced.then_some(tomb.max)),
                cell(traced.then_some(live.p50)),
                reads.traces.len().to_string(),
                reads.warned.to_string(),
                reads.failed.to_string(),
                cell(rl.map(|l| l.p50)),
                cell(rl.map(|l| l.p99)),
                cell(rl.map(|l| l.max)),
                cell(wl.map(|l| l.p50)),
                cell(wl.map(|l| l.p99)),
                crate::metrics::format_number((reads.sent + writes.sent) as f64 / every),
            ];
            let _ = w.write_record(&row);
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}
