//! Each simulated node summarised for `summary.json` (DESIGN.md 4, issue 5): its JVM, the live set
//! at its peak, collections and pauses, off-heap memory, page cache, flushes, and its verdict
//! with the reason and the simulated time it starts; and the `node` section, the node with the
//! worst verdict.

use super::NodeRun;
use crate::heap::gc::GcSample;
use crate::heap::verdict::{self, Conditions, Verdict};
use crate::heap::{Jvm, LiveSet, OffHeap};
use crate::metrics::{round_json as r, TableSample};
use crate::scenario::Scenario;

#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeSummary {
    pub name: String,
    /// The JVM: heap (the scenario's or cassandra-env.sh's), young generation and collector.
    pub jvm: Jvm,
    pub datacenters: Vec<String>,
    pub load_factor: f64,
    /// The hottest node's token ownership relative to the mean.
    pub hottest_node_factor: f64,
    pub flush_threshold_bytes: f64,
    pub flushes_per_hour: f64,
    /// Off-heap memory at the end, by kind (tables' structures plus the fixed caches), and the
    /// page cache RAM leaves.
    pub offheap_bytes: OffHeap,
    pub page_cache_bytes: f64,
    /// The live set on the heap at its peak over the run, by what holds it.
    pub peak_live_bytes: f64,
    pub peak_live_set: LiveSet,
    /// Share of the time paused, over the run and in the worst sample.
    pub gc_pause_fraction: f64,
    pub gc_pause_fraction_max: f64,
    /// The collections at the sample the verdict rests on.
    pub gc: GcSample,
    pub verdict: Verdict,
    pub verdict_reason: String,
    pub verdict_at_s: Option<f64>,
    pub compactions: f64,
    pub bytes_compacted: f64,
    pub disk_bytes: f64,
}

/// The `node` section of `summary.json`: the node with the worst verdict.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct NodeVerdict {
    pub name: String,
    pub heap_bytes: f64,
    pub young_bytes: f64,
    pub collector: String,
    pub peak_live_bytes: f64,
    pub peak_live_set: LiveSet,
    pub gc_pause_fraction: f64,
    pub gc_pause_fraction_max: f64,
    pub young_gc_interval_s: f64,
    pub young_gc_pause_ms: f64,
    pub old_cycles_per_hour: f64,
    pub full_gcs_per_hour: f64,
    pub allocation_bytes_per_s: f64,
    pub verdict: Verdict,
    pub verdict_reason: String,
    pub verdict_at_s: Option<f64>,
    /// The smallest heap on the operator's ladder (up to half the RAM) whose run is healthy;
    /// `null` when none is.
    pub smallest_healthy_heap_bytes: Option<f64>,
    pub offheap_bytes: OffHeap,
    pub page_cache_bytes: f64,
    pub flushes_per_hour: f64,
}

/// One row per sample of the node (its first table's rows carry the node's figures).
pub fn node_series(n: &NodeRun) -> Vec<&TableSample> {
    let Some(first) = n.samples.first() else {
        return Vec::new();
    };
    n.samples
        .iter()
        .filter(|s| s.table == first.table)
        .collect()
}

/// The node's verdict and the sample it rests on: where it starts, or for a healthy node the
/// sample whose live set and headroom come closest to the old generation's capacity.
pub fn verdict(scenario: &Scenario, n: &NodeRun) -> (Verdict, Option<f64>, Option<usize>) {
    let series = node_series(n);
    let conditions: Vec<(f64, Conditions)> = series.iter().map(|s| (s.t_s, s.conditions)).collect();
    // frequent_flushes must hold through a whole growth window: a floor that rose once and
    // holds still is a backlog compaction caught up with.
    let sustain = scenario.calibration.get("verdict_sustain_s");
    let growth = scenario.calibration.get("flush_growth_window");
    let (v, start) = verdict::sustained(&conditions, scenario.sample_every_s, |v| {
        if v == Verdict::FrequentFlushes {
            sustain.max(growth)
        } else {
            sustain
        }
    });
    let at = start.map(|i| series[i].t_s);
    let basis = start.or_else(|| {
        series
            .iter()
            .enumerate()
            .max_by(|(_, a), (_, b)| tightness(&a.gc).total_cmp(&tightness(&b.gc)))
            .map(|(i, _)| i)
    });
    (v, at, basis)
}

fn tightness(g: &GcSample) -> f64 {
    if g.old_capacity_bytes > 0.0 {
        (g.old_live_bytes + g.headroom_bytes) / g.old_capacity_bytes
    } else {
        0.0
    }
}

pub fn node(scenario: &Scenario, n: &NodeRun) -> NodeSummary {
    let series = node_series(n);
    let last_t = n.samples.last().map(|s| s.t_s).unwrap_or(0.0);
    let jvm = Jvm::of(scenario);
    let mut offheap = crate::heap::fixed_offheap(jvm.heap_bytes);
    for s in n.samples.iter().filter(|s| s.t_s == last_t) {
        offheap.add(&s.offheap);
    }
    let page_cache_bytes = n
        .samples
        .iter()
        .filter(|s| s.t_s == last_t)
        .map(|s| s.page_cache_bytes)
        .fold(0.0, f64::max);
    let peak = series
        .iter()
        .map(|s| s.heap_live)
        .max_by(|a, b| a.total().total_cmp(&b.total()))
        .unwrap_or_default();
    let pauses: Vec<f64> = series.iter().map(|s| s.gc.pause_fraction).collect();
    let (v, at, basis) = verdict(scenario, n);
    let default = TableSample::default();
    let at_basis = basis.map(|i| series[i]).unwrap_or(&default);
    let reason = verdict::reason(
        v,
        &at_basis.gc,
        &at_basis.heap_live,
        &at_basis.flush,
        jvm.heap_bytes,
        scenario.calibration.get("gc_thrashing_pause_fraction"),
    );
    NodeSummary {
        name: n.share.name.clone(),
        jvm,
        datacenters: n
            .share
            .stands_for
            .iter()
            .map(|&d| scenario.cluster.datacenters[d].name.clone())
            .collect(),
        load_factor: r(n.share.load_factor),
        hottest_node_factor: r(n.share.hottest_factor),
        flush_threshold_bytes: r(n.flush_threshold_bytes),
        flushes_per_hour: r(
            n.tables.iter().map(|t| t.flushes).sum::<f64>() / scenario.duration_s * 3600.0,
        ),
        offheap_bytes: round_offheap(&offheap),
        page_cache_bytes: r(page_cache_bytes),
        peak_live_bytes: r(peak.total()),
        peak_live_set: round_live(&peak),
        gc_pause_fraction: r4(pauses.iter().sum::<f64>() / pauses.len().max(1) as f64),
        gc_pause_fraction_max: r4(pauses.iter().copied().fold(0.0, f64::max)),
        gc: round_gc(&at_basis.gc),
        verdict: v,
        verdict_reason: reason,
        verdict_at_s: at,
        compactions: n.tables.iter().map(|t| t.compactions).sum(),
        bytes_compacted: r(n.tables.iter().map(|t| t.bytes_compacted).sum()),
        disk_bytes: r(n
            .samples
            .iter()
            .filter(|s| s.t_s == last_t)
            .map(|s| s.disk_bytes)
            .sum()),
    }
}

/// The node with the worst verdict (the earliest start among equals, then the first).
pub fn worst(nodes: &[NodeSummary]) -> NodeVerdict {
    let Some(n) = nodes.iter().min_by(|a, b| {
        b.verdict.cmp(&a.verdict).then(
            a.verdict_at_s
                .unwrap_or(f64::INFINITY)
                .total_cmp(&b.verdict_at_s.unwrap_or(f64::INFINITY)),
        )
    }) else {
        return NodeVerdict::default();
    };
    NodeVerdict {
        name: n.name.clone(),
        heap_bytes: n.jvm.heap_bytes,
        young_bytes: r(n.gc.young_bytes),
        collector: n.jvm.collector.name().into(),
        peak_live_bytes: n.peak_live_bytes,
        peak_live_set: n.peak_live_set,
        gc_pause_fraction: n.gc_pause_fraction,
        gc_pause_fraction_max: n.gc_pause_fraction_max,
        young_gc_interval_s: n.gc.young_gc_interval_s,
        young_gc_pause_ms: r(n.gc.young_gc_pause_s * 1000.0),
        old_cycles_per_hour: n.gc.old_cycles_per_hour,
        full_gcs_per_hour: n.gc.full_gcs_per_hour,
        allocation_bytes_per_s: n.gc.allocation_bytes_per_s,
        verdict: n.verdict,
        verdict_reason: n.verdict_reason.clone(),
        verdict_at_s: n.verdict_at_s,
        smallest_healthy_heap_bytes: None,
        offheap_bytes: n.offheap_bytes,
        page_cache_bytes: n.page_cache_bytes,
        flushes_per_hour: n.flushes_per_hour,
    }
}

fn r4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

fn round_offheap(o: &OffHeap) -> OffHeap {
    OffHeap {
        bloom_filter: r(o.bloom_filter),
        index_summary: r(o.index_summary),
        compression_metadata: r(o.compression_metadata),
        memtable: r(o.memtable),
        chunk_cache: r(o.chunk_cache),
        networking_cache: r(o.networking_cache),
    }
}

fn round_live(l: &LiveSet) -> LiveSet {
    LiveSet {
        baseline: r(l.baseline),
        memtables: r(l.memtables),
        key_cache: r(l.key_cache),
        counter_cache: r(l.counter_cache),
        reads: r(l.reads),
        writes: r(l.writes),
        compaction: r(l.compaction),
        sstables: r(l.sstables),
    }
}

fn round_gc(g: &GcSample) -> GcSample {
    GcSample {
        allocation_bytes_per_s: r(g.allocation_bytes_per_s),
        promotion_bytes_per_s: r(g.promotion_bytes_per_s),
        young_bytes: r(g.young_bytes),
        young_gc_interval_s: r(g.young_gc_interval_s),
        young_gc_pause_s: r4(g.young_gc_pause_s),
        old_capacity_bytes: r(g.old_capacity_bytes),
        old_live_bytes: r(g.old_live_bytes),
        headroom_bytes: r(g.headroom_bytes),
        old_cycles_per_hour: r(g.old_cycles_per_hour),
        full_gcs_per_hour: r(g.full_gcs_per_hour),
        full_gc_pause_s: r4(g.full_gc_pause_s),
        pause_fraction: r4(g.pause_fraction),
        out_of_memory: g.out_of_memory,
    }
}
