//! The run summarised with the stable keys of `summary.json` (DESIGN.md 4): per table the worst
//! sample's per-read percentiles over every simulated node, sizes at the end, counts over the run;
//! per query what its reads did; per node its flush and compaction totals; the findings.

use std::collections::BTreeMap;

use super::node_summary::{self, NodeSummary, NodeVerdict};
use super::{findings, RunResult};
use crate::check::Finding;
use crate::engine::read::ReadTotals;
use crate::engine::sstable::Tombstones;
use crate::latency::LatencyMs;
use crate::metrics::{round_json, Percentiles};
use crate::scenario::Scenario;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Summary {
    pub scenario: String,
    pub seed: u64,
    pub cassim_version: String,
    pub cassandra_version: String,
    pub duration_s: f64,
    pub sample_every_s: f64,
    pub tables: BTreeMap<String, TableSummary>,
    pub queries: Vec<QuerySummary>,
    /// The node with the worst verdict: heap, GC, off-heap, page cache, flushes, verdict.
    pub node: NodeVerdict,
    pub nodes: Vec<NodeSummary>,
    /// What to buy: nodes per datacenter, disk, RAM, heap, open files (issue 7).
    pub sizing: crate::sizing::Sizing,
    pub findings: Vec<Finding>,
    /// How the run was simulated: sampling, representative nodes.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TableSummary {
    /// Per node, at the end (the simulated node with the most data).
    pub partitions: f64,
    pub partition_bytes: Percentiles,
    pub partition_rows: Percentiles,
    pub live_rows: f64,
    pub sstables: f64,
    pub disk_bytes: f64,
    pub tombstones: Tombstones,
    /// Worst sample over the run.
    pub sstables_per_read: Percentiles,
    pub tombstones_per_read: Percentiles,
    pub cells_scanned_per_read: Percentiles,
    /// Client requests over the run.
    pub warned_reads: f64,
    pub failed_reads: f64,
    pub first_warning_s: Option<f64>,
    pub first_failure_s: Option<f64>,
    /// Largest partition written into one sstable (the large-partition warning's measure).
    pub max_sstable_partition_bytes: f64,
    pub flushes: f64,
    pub compactions: f64,
    pub bytes_compacted: f64,
    pub expired_sstables_dropped: f64,
    /// The end of the first sample in which a fully expired sstable was dropped whole (TWCS's
    /// drop, CASSANDRA.md 5.4).
    pub first_expired_drop_s: Option<f64>,
    /// Partitions tracked per node and whether they are a weighted sample.
    pub tracked_partitions: usize,
    pub sampled: bool,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct QuerySummary {
    pub name: String,
    pub cql: String,
    pub table: String,
    pub kind: String,
    /// Over every simulated read of the run, on every simulated node.
    pub sstables_per_read: Percentiles,
    pub tombstones_per_read: Percentiles,
    pub cells_scanned_per_read: Percentiles,
    pub live_rows_per_read: Percentiles,
    pub warned_share: f64,
    pub failed_share: f64,
    /// The worst sample's latency (the one with the highest p99, over every simulated node) and
    /// the last sample's; `null` when a stage was overloaded (then no latency is a number).
    /// Service plus coordinator and network times, not client response times.
    pub latency_ms: Option<LatencyMs>,
    pub latency_ms_final: Option<LatencyMs>,
    /// Samples in which the node's stage was overloaded.
    pub overloaded_samples: usize,
    /// `nodetool tablehistograms` at the end, on the first simulated node.
    pub tablehistograms: Vec<HistogramRow>,
}

/// A row of `nodetool tablehistograms` (latencies in microseconds, sizes in bytes).
#[derive(Debug, Clone, serde::Serialize)]
pub struct HistogramRow {
    pub percentile: String,
    pub sstables: f64,
    pub write_latency_us: Option<f64>,
    pub read_latency_us: Option<f64>,
    pub partition_size_bytes: f64,
    pub cell_count: f64,
}

pub fn summarize(scenario: &Scenario, run: &RunResult) -> Summary {
    let mut tables: BTreeMap<String, TableSummary> = BTreeMap::new();
    for node in &run.nodes {
        let last_t = node.samples.last().map(|s| s.t_s).unwrap_or(0.0);
        for s in &node.samples {
            let t = tables.entry(s.table.clone()).or_default();
            t.sstables_per_read = t.sstables_per_read.worst(&s.sstables_per_read);
            t.tombstones_per_read = t.tombstones_per_read.worst(&s.tombstones_per_read);
            t.cells_scanned_per_read = t.cells_scanned_per_read.worst(&s.cells_scanned_per_read);
            if s.t_s == last_t && s.disk_bytes >= t.disk_bytes {
                t.partitions = s.partitions;
                t.partition_bytes = s.partition_bytes;
                t.partition_rows = s.partition_rows;
                t.live_rows = s.live_rows;
                t.sstables = s.sstables;
                t.disk_bytes = s.disk_bytes;
                t.tombstones = s.tombstones;
            }
        }
        for totals in &node.tables {
            let t = tables.entry(totals.table.clone()).or_default();
            t.max_sstable_partition_bytes = t
                .max_sstable_partition_bytes
                .max(totals.max_sstable_partition_bytes);
            t.flushes = t.flushes.max(totals.flushes);
            t.compactions = t.compactions.max(totals.compactions);
            t.bytes_compacted = t.bytes_compacted.max(totals.bytes_compacted);
            t.expired_sstables_dropped = t
                .expired_sstables_dropped
                .max(totals.expired_sstables_dropped);
            t.tracked_partitions = t.tracked_partitions.max(totals.tracked_partitions);
            t.sampled |= totals.sampled;
        }
        // Warned and failed client requests: the worst node's view, summed over samples.
        let mut per_table: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
        for s in &node.samples {
            let e = per_table.entry(&s.table).or_default();
            e.0 += s.warned_reads;
            e.1 += s.failed_reads;
            let t = tables.get_mut(&s.table).expect("entry");
            if s.warned_reads > 0.0 {
                t.first_warning_s = Some(t.first_warning_s.map_or(s.t_s, |x| x.min(s.t_s)));
            }
            if s.failed_reads > 0.0 {
                t.first_failure_s = Some(t.first_failure_s.map_or(s.t_s, |x| x.min(s.t_s)));
            }
            if s.expired_sstables_dropped > 0.0 {
                t.first_expired_drop_s =
                    Some(t.first_expired_drop_s.map_or(s.t_s, |x| x.min(s.t_s)));
            }
        }
        for (name, (w, f)) in per_table {
            let t = tables.get_mut(name).expect("entry");
            t.warned_reads = t.warned_reads.max(w);
            t.failed_reads = t.failed_reads.max(f);
        }
    }
    for t in tables.values_mut() {
        round_table(t);
    }
    let queries = queries(scenario, run);
    let nodes: Vec<NodeSummary> = run
        .nodes
        .iter()
        .map(|n| node_summary::node(scenario, n))
        .collect();
    let node = node_summary::worst(&nodes);
    let findings = findings::findings(scenario, run, &tables);
    let notes = notes(scenario, run, &tables);
    Summary {
        scenario: scenario.name.clone(),
        seed: run.seed,
        cassim_version: env!("CARGO_PKG_VERSION").to_string(),
        cassandra_version: scenario.cluster.cassandra_version.to_string(),
        duration_s: scenario.duration_s,
        sample_every_s: scenario.sample_every_s,
        tables,
        queries,
        node,
        nodes,
        sizing: Default::default(),
        findings,
        notes,
    }
}

fn round_p(p: &mut Percentiles) {
    p.p50 = round_json(p.p50);
    p.p99 = round_json(p.p99);
    p.max = round_json(p.max);
}

fn round_table(t: &mut TableSummary) {
    for p in [
        &mut t.partition_bytes,
        &mut t.partition_rows,
        &mut t.sstables_per_read,
        &mut t.tombstones_per_read,
        &mut t.cells_scanned_per_read,
    ] {
        round_p(p);
    }
    for x in [
        &mut t.partitions,
        &mut t.live_rows,
        &mut t.sstables,
        &mut t.disk_bytes,
        &mut t.warned_reads,
        &mut t.failed_reads,
        &mut t.max_sstable_partition_bytes,
        &mut t.flushes,
        &mut t.compactions,
        &mut t.bytes_compacted,
        &mut t.expired_sstables_dropped,
        &mut t.tombstones.cell,
        &mut t.tombstones.row,
        &mut t.tombstones.range,
        &mut t.tombstones.partition,
        &mut t.tombstones.expired,
    ] {
        *x = round_json(*x);
    }
}

fn queries(scenario: &Scenario, run: &RunResult) -> Vec<QuerySummary> {
    let mut out = Vec::new();
    for (k, op) in scenario.workload.iter().enumerate() {
        let (table, kind) = match (&op.read, op.writes.first()) {
            (Some(read), _) => (read.table.clone(), "read"),
            (None, Some(w)) => (w.table.clone(), "write"),
            (None, None) => continue,
        };
        let mut reads = ReadTotals::default();
        for n in &run.nodes {
            if let Some(t) = n.read_totals.get(&k) {
                reads.merge(t);
            }
        }
        let share = |count: f64| {
            if reads.reads > 0.0 {
                round_json(count / reads.reads)
            } else {
                0.0
            }
        };
        let samples: Vec<(f64, Option<LatencyMs>)> = run
            .nodes
            .iter()
            .flat_map(|n| n.query_latency.iter())
            .filter(|(_, op, _)| *op == k)
            .map(|(t, _, l)| (*t, *l))
            .collect();
        let overloaded_samples = samples.iter().filter(|s| s.1.is_none()).count();
        let worst = if overloaded_samples > 0 {
            None
        } else {
            samples
                .iter()
                .filter_map(|s| s.1)
                .max_by(|a, b| a.p99.total_cmp(&b.p99))
        };
        let last_t = samples
            .iter()
            .map(|s| s.0)
            .fold(f64::NEG_INFINITY, f64::max);
        let last = samples.iter().filter(|s| s.0 == last_t).find_map(|s| s.1);
        let mut q = QuerySummary {
            name: op.name.clone(),
            cql: op.cql.clone(),
            table: table.clone(),
            kind: kind.into(),
            sstables_per_read: reads.sstables.percentiles(),
            tombstones_per_read: reads.tombstones.percentiles(),
            cells_scanned_per_read: reads.cells_scanned.percentiles(),
            live_rows_per_read: reads.live_rows.percentiles(),
            warned_share: share(reads.warned),
            failed_share: share(reads.failed),
            latency_ms: worst.map(round_latency),
            latency_ms_final: last.map(round_latency),
            overloaded_samples,
            tablehistograms: tablehistograms(run, k, &table),
        };
        for p in [
            &mut q.sstables_per_read,
            &mut q.tombstones_per_read,
            &mut q.cells_scanned_per_read,
            &mut q.live_rows_per_read,
        ] {
            round_p(p);
        }
        out.push(q);
    }
    out
}

fn round_latency(l: LatencyMs) -> LatencyMs {
    let r = |x: f64| (x * 1000.0).round() / 1000.0;
    LatencyMs {
        min: r(l.min),
        p50: r(l.p50),
        p75: r(l.p75),
        p95: r(l.p95),
        p98: r(l.p98),
        p99: r(l.p99),
        max: r(l.max),
    }
}

/// `nodetool tablehistograms` for query `op` on the first simulated node at the last sample: its
/// sstables per read and latency, the table's write latency, partition sizes and cell counts.
fn tablehistograms(run: &RunResult, op: usize, table: &str) -> Vec<HistogramRow> {
    let Some(node) = run.nodes.first() else {
        return Vec::new();
    };
    let Some(sample) = node.samples.iter().rev().find(|s| s.table == table) else {
        return Vec::new();
    };
    let t = sample.t_s;
    let reads: Vec<(f64, f64)> = node
        .query_reads
        .iter()
        .filter(|(ts, o, _)| *ts == t && *o == op)
        .flat_map(|(_, _, w)| w.iter().map(|r| (r.sstables, 1.0)))
        .collect();
    let sstables = crate::metrics::levels(&reads);
    let own = node
        .query_latency
        .iter()
        .find(|(ts, o, _)| *ts == t && *o == op)
        .and_then(|x| x.2)
        .map(|l| l.micros_at_levels());
    let is_read = !reads.is_empty();
    let write = sample.write_latency.map(|l| l.micros_at_levels());
    crate::metrics::LEVELS
        .iter()
        .enumerate()
        .map(|(k, (label, _))| HistogramRow {
            percentile: label.to_string(),
            sstables: sstables[k],
            write_latency_us: if is_read {
                write.map(|w| w[k])
            } else {
                own.map(|w| w[k])
            },
            read_latency_us: if is_read {
                own.map(|r| r[k])
            } else {
                sample.read_latency.map(|l| l.micros_at_levels()[k])
            },
            partition_size_bytes: sample.partition_bytes_levels[k].round(),
            cell_count: sample.partition_cells_levels[k].round(),
        })
        .collect()
}

fn notes(
    scenario: &Scenario,
    run: &RunResult,
    tables: &BTreeMap<String, TableSummary>,
) -> Vec<String> {
    let mut notes = Vec::new();
    for node in &run.nodes {
        if node.share.stands_for.len() > 1 {
            let names: Vec<&str> = node
                .share
                .stands_for
                .iter()
                .map(|&d| scenario.cluster.datacenters[d].name.as_str())
                .collect();
            notes.push(format!(
                "datacenters {} have the same nodes, RF and read share: one representative node stands for them",
                names.join(", ")
            ));
        }
    }
    for (name, t) in tables {
        if t.sampled {
            let per_node = run
                .nodes
                .iter()
                .flat_map(|n| n.tables.iter())
                .find(|x| &x.table == name)
                .map(|x| x.partitions_per_generation)
                .unwrap_or(0.0);
            notes.push(format!(
                "{name}: {} partitions tracked per node as a weighted sample of {} per node{}",
                t.tracked_partitions,
                crate::units::format_count(per_node),
                if scenario
                    .model(name)
                    .and_then(|m| m.partitions.as_ref())
                    .and_then(|p| p.bucket_s)
                    .is_some()
                {
                    " and time bucket"
                } else {
                    ""
                }
            ));
        }
    }
    notes.push(
        "per-read counts come from reads simulated on each replica through the sstable layout; warned and failed reads are client requests scaled from them".into(),
    );
    notes.push(
        "latencies are replica service plus coordinator and network times (HdrHistogram of the simulated requests), not a client's response times: no coordinated omission applies; reads that hit tombstone_failure_threshold are failures, not latencies".into(),
    );
    notes
}
