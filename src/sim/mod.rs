//! The run: the clock and the nodes (DESIGN.md 3, "Clock" and "Nodes"). Simulated time advances in
//! engine steps aligned to the sample period; each simulated node (a representative per
//! datacenter, or all nodes) runs on its own seeded generator, in parallel with rayon, so results
//! do not depend on scheduling. The result is data; `report` formats it.

mod findings;
pub mod heap_search;
mod node_summary;
mod summary;

use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

use crate::cluster::{self, NodeShare};
use crate::engine::{self, node::NodeSim, read::ReadWork};
use crate::metrics::TableSample;
use crate::scenario::Scenario;

pub use node_summary::{NodeSummary, NodeVerdict};
pub use summary::{QuerySummary, Summary, TableSummary};

/// One simulated node's run.
pub struct NodeRun {
    pub share: NodeShare,
    pub samples: Vec<TableSample>,
    /// `(t_s, workload index, reads)` of the last sample.
    pub query_reads: Vec<(f64, usize, Vec<ReadWork>)>,
    /// Every sample's reads, by workload index.
    pub read_totals: std::collections::BTreeMap<usize, crate::engine::read::ReadTotals>,
    /// `(t_s, workload index, latency)` per sample; `None` when the stage was overloaded.
    pub query_latency: Vec<(f64, usize, Option<crate::latency::LatencyMs>)>,
    pub tables: Vec<TableTotals>,
    pub flush_threshold_bytes: f64,
    /// The most disk running compactions' outputs took at once.
    pub peak_compacting_bytes: f64,
    pub concurrent_compactors: usize,
}

/// Run totals of one table on one node.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TableTotals {
    pub table: String,
    pub flushes: f64,
    pub compactions: f64,
    pub bytes_compacted: f64,
    pub expired_sstables_dropped: f64,
    pub max_sstable_partition_bytes: f64,
    pub first_large_partition_s: Option<f64>,
    pub tracked_partitions: usize,
    pub partitions_per_generation: f64,
    pub sampled: bool,
    /// The table's compaction settings (the strategy's headroom).
    #[serde(skip)]
    pub compaction: crate::engine::compaction::Params,
    /// Rows per second this node writes into the table, per `[[workload]]` statement, with the
    /// commit log bytes per row: a base table's own and what views and indexes derive from it.
    #[serde(skip)]
    pub writes: Vec<TableWrite>,
    /// The largest TTL written, seconds (0: none).
    pub max_ttl_s: f64,
    /// The hottest partition's share of the table's requests (zipf keys), 0 when keys are even.
    pub hottest_key_share: f64,
}

/// One statement's writes into one table on a node.
#[derive(Debug, Clone, Copy)]
pub struct TableWrite {
    pub op: usize,
    pub rows_per_s: f64,
    pub commitlog_bytes_per_row: f64,
}

/// Everything a run produced.
pub struct RunResult {
    pub seed: u64,
    pub nodes: Vec<NodeRun>,
}

/// Reports progress as (steps done, steps in all).
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Sync);

/// Engine steps a node takes over the scenario.
fn steps(scenario: &Scenario) -> u64 {
    let step = crate::scenario::engine_step_s(&scenario.calibration, scenario.sample_every_s);
    (scenario.duration_s / step).ceil() as u64
        + (scenario.duration_s / scenario.sample_every_s).ceil() as u64
}

/// Simulates the scenario with `seed`; `parallel` runs the nodes on rayon's pool.
pub fn simulate(scenario: &Scenario, seed: u64, parallel: bool, progress: Progress) -> RunResult {
    let shares = cluster::nodes(scenario);
    let total = steps(scenario) * shares.len() as u64;
    let done = AtomicU64::new(0);
    let run = |(k, share): (usize, &NodeShare)| {
        let node = engine::build_node(scenario, share, seed, k);
        run_node(scenario, node, share.clone(), &|n| {
            let d = done.fetch_add(n, Ordering::Relaxed) + n;
            progress(d, total);
        })
    };
    let nodes: Vec<NodeRun> = if parallel {
        shares.par_iter().enumerate().map(run).collect()
    } else {
        shares.iter().enumerate().map(run).collect()
    };
    RunResult { seed, nodes }
}

fn run_node(
    scenario: &Scenario,
    mut node: NodeSim,
    share: NodeShare,
    tick: &dyn Fn(u64),
) -> NodeRun {
    let sample_every = scenario.sample_every_s;
    let step = node.config.step_s;
    let duration = scenario.duration_s;
    let mut t = 0.0;
    let mut next_sample = sample_every;
    let mut pending = 0;
    while t < duration - 1e-9 {
        let t1 = (t + step).min(duration).min(next_sample);
        node.step(t, t1);
        pending += 1;
        if t1 >= next_sample - 1e-9 || t1 >= duration - 1e-9 {
            node.sample(t1);
            next_sample += sample_every;
            pending += 1;
            tick(pending);
            pending = 0;
        }
        t = t1;
    }
    tick(pending);
    let tables = node
        .tables
        .iter()
        .map(|t| TableTotals {
            table: t.name.clone(),
            flushes: t.total.flushes,
            compactions: t.total.compactions,
            bytes_compacted: t.total.bytes_compacted,
            expired_sstables_dropped: t.total.expired_dropped,
            max_sstable_partition_bytes: t.max_sstable_partition,
            first_large_partition_s: t.first_large_partition_s,
            tracked_partitions: t.parts.tracked.len(),
            partitions_per_generation: t.parts.layout.entities,
            sampled: t.parts.weights.iter().any(|w| *w > 1.0),
            compaction: t.params.clone(),
            writes: t
                .writers
                .iter()
                .map(|w| TableWrite {
                    op: w.op,
                    rows_per_s: w.rate,
                    commitlog_bytes_per_row: w.commitlog_per_row,
                })
                .collect(),
            max_ttl_s: t.writers.iter().map(|w| w.ttl).fold(0.0, f64::max),
            hottest_key_share: t
                .writers
                .iter()
                .map(|w| (w.keys, w.zipf_norm))
                .chain(t.readers.iter().map(|r| (r.keys, r.zipf_norm)))
                .filter(|(k, _)| matches!(k, crate::workload::KeyPopularity::Zipf(_)))
                .map(|(_, norm)| 1.0 / norm.max(1.0))
                .fold(0.0, f64::max),
        })
        .collect();
    // The last sample's reads stay for `nodetool tablehistograms`; the totals take them too.
    let last_reads = node.query_reads.clone();
    node.fold_reads();
    NodeRun {
        share,
        flush_threshold_bytes: node.config.flush_threshold,
        peak_compacting_bytes: node.peak_compacting_bytes,
        concurrent_compactors: node.config.concurrent_compactors,
        samples: std::mem::take(&mut node.samples),
        query_reads: last_reads,
        read_totals: std::mem::take(&mut node.read_totals),
        query_latency: std::mem::take(&mut node.query_latency),
        tables,
    }
}

/// Simulates and summarises.
pub fn run(
    scenario: &Scenario,
    seed: u64,
    parallel: bool,
    progress: Progress,
) -> (RunResult, Summary) {
    let result = simulate(scenario, seed, parallel, progress);
    let mut summary = summary::summarize(scenario, &result);
    summary.node.smallest_healthy_heap_bytes = heap_search::smallest_healthy(
        scenario,
        seed,
        parallel,
        summary.node.heap_bytes,
        summary.node.verdict,
    );
    summary.sizing = crate::sizing::size(
        scenario,
        &result,
        crate::sizing::HeapState::of(&summary.node),
    );
    summary
        .findings
        .extend(crate::sizing::findings(&summary.sizing));
    findings::sort(&mut summary.findings);
    (result, summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_keeps_the_last_samples_reads_and_counts_the_others() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/scenarios/ttl-series.toml");
        let sets = [("duration".to_string(), "\"12h\"".to_string())];
        let scenario = Scenario::load(&path, &Default::default(), &sets).unwrap();
        let run = simulate(&scenario, 1, false, &|_, _| {});
        let node = &run.nodes[0];
        let last = node.samples.last().unwrap().t_s;
        // Memory does not grow with the run: only the last sample's reads are kept.
        assert!(!node.query_reads.is_empty());
        assert!(node.query_reads.iter().all(|(t, _, _)| *t == last));
        // The totals hold every sample's: reads_per_sample per SELECT and sample.
        let per_sample = scenario.calibration.get("reads_per_sample");
        let samples = (scenario.duration_s / scenario.sample_every_s).round();
        let reads: f64 = node.read_totals.values().map(|t| t.reads).sum();
        assert_eq!(reads, per_sample * samples);
    }
}
