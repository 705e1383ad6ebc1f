//! What a run measures: one row per sample, node and table (the `timeseries.csv` columns), and
//! percentile helpers. The engine fills them; `report` formats them.

use crate::engine::sstable::Tombstones;

/// p50, p99 and max, as the per-table keys of `summary.json` (DESIGN.md 4).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    /// Unweighted percentiles (nearest rank) of `values`.
    pub fn of(values: &[f64]) -> Percentiles {
        let weighted: Vec<(f64, f64)> = values.iter().map(|v| (*v, 1.0)).collect();
        Percentiles::weighted(&weighted)
    }

    /// Percentiles of `(value, weight)` pairs: the smallest value whose cumulative weight reaches
    /// the quantile.
    pub fn weighted(pairs: &[(f64, f64)]) -> Percentiles {
        if pairs.is_empty() {
            return Percentiles::default();
        }
        let v = by_value(pairs);
        let total: f64 = v.iter().map(|p| p.1).sum();
        let at = |q: f64| {
            let goal = q * total;
            let mut acc = 0.0;
            for (x, w) in &v {
                acc += w;
                if acc >= goal - 1e-9 {
                    return *x;
                }
            }
            v.last().map(|p| p.0).unwrap_or(0.0)
        };
        Percentiles {
            p50: at(0.5),
            p99: at(0.99),
            max: v.last().map(|p| p.0).unwrap_or(0.0),
        }
    }

    /// p50, p99 and max out of [`levels`]' values: the same ranks.
    pub fn from_levels(levels: &[f64; 7]) -> Percentiles {
        Percentiles {
            p50: levels[0],
            p99: levels[4],
            max: levels[6],
        }
    }

    /// The larger of each percentile: the worst sample's values.
    pub fn worst(&self, o: &Percentiles) -> Percentiles {
        Percentiles {
            p50: self.p50.max(o.p50),
            p99: self.p99.max(o.p99),
            max: self.max.max(o.max),
        }
    }
}

/// `pairs` sorted by value, equal values in their given order (a stable sort): the samplers sort
/// thousands of partitions' sizes every sample.
/// How often each value occurred: the percentiles of a run's reads without keeping every read
/// (a run kept each sample's simulated reads, 9 KB a query and sample: 3 MB a day at hourly
/// samples). The same percentiles as [`Percentiles::of`] over the values added.
#[derive(Debug, Clone, Default)]
pub struct ValueCounts(std::collections::HashMap<u64, f64>);

impl ValueCounts {
    pub fn add(&mut self, value: f64) {
        *self.0.entry(value.to_bits()).or_insert(0.0) += 1.0;
    }

    pub fn merge(&mut self, other: &ValueCounts) {
        for (k, n) in &other.0 {
            *self.0.entry(*k).or_insert(0.0) += n;
        }
    }

    pub fn percentiles(&self) -> Percentiles {
        let pairs: Vec<(f64, f64)> = self
            .0
            .iter()
            .map(|(k, n)| (f64::from_bits(*k), *n))
            .collect();
        Percentiles::weighted(&pairs)
    }
}

fn by_value(pairs: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut v = pairs.to_vec();
    sort_stable_by_key(&mut v, |p| total_order_key(p.0));
    v
}

/// Sorts `v` by `key`, equal keys in their given order, as `sort_by_key` does, by sorting one
/// integer per item (key, place): a third of the cost of a stable sort comparing floats, where
/// the engine sorts thousands of sstables or histogram bins per step.
pub fn sort_stable_by_key<T: Copy>(v: &mut Vec<T>, key: impl Fn(&T) -> u64) {
    let mut keys: Vec<u128> = v
        .iter()
        .enumerate()
        .map(|(i, x)| u128::from(key(x)) << 64 | i as u128)
        .collect();
    keys.sort_unstable();
    let sorted: Vec<T> = keys.iter().map(|&k| v[k as u64 as usize]).collect();
    *v = sorted;
}

/// An unsigned integer in `f64::total_cmp`'s order, for sorting floats as integers.
pub fn total_order_key(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// The rows of `nodetool tablehistograms`: percentile labels and their quantiles (Min and Max as 0
/// and 1).
pub const LEVELS: [(&str, f64); 7] = [
    ("50%", 0.5),
    ("75%", 0.75),
    ("95%", 0.95),
    ("98%", 0.98),
    ("99%", 0.99),
    ("Min", 0.0),
    ("Max", 1.0),
];

/// Values at [`LEVELS`] of weighted `(value, weight)` pairs (nearest rank).
pub fn levels(pairs: &[(f64, f64)]) -> [f64; 7] {
    let v = by_value(pairs);
    let total: f64 = v.iter().map(|p| p.1).sum();
    let mut out = [0.0; 7];
    if v.is_empty() {
        return out;
    }
    for (k, (_, q)) in LEVELS.iter().enumerate() {
        out[k] = if *q <= 0.0 {
            v[0].0
        } else if *q >= 1.0 {
            v[v.len() - 1].0
        } else {
            let goal = q * total;
            let mut acc = 0.0;
            let mut x = v[v.len() - 1].0;
            for (val, w) in &v {
                acc += w;
                if acc >= goal - 1e-9 {
                    x = *val;
                    break;
                }
            }
            x
        };
    }
    out
}

/// Power-of-two size buckets of the partition size distribution: bucket 0 holds sizes below
/// 64 B, bucket k sizes in [2^(k+5), 2^(k+6)), the last everything above.
pub const SIZE_BUCKETS: usize = 36;

/// The bucket of `bytes`.
pub fn size_bucket(bytes: f64) -> usize {
    if bytes < 64.0 {
        0
    } else {
        ((bytes.log2().floor() as usize).saturating_sub(5)).min(SIZE_BUCKETS - 1)
    }
}

/// The smallest size bucket `k` holds.
pub fn size_bucket_floor(k: usize) -> f64 {
    if k == 0 {
        0.0
    } else {
        2f64.powi(k as i32 + 5)
    }
}

/// One table on one node at one sample.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct TableSample {
    pub t_s: f64,
    pub node: String,
    pub table: String,
    /// Partitions holding data (live or not), weighted to the node's real partitions.
    pub partitions: f64,
    pub partition_bytes: Percentiles,
    pub partition_rows: Percentiles,
    /// Partition size and cell count at the `tablehistograms` levels.
    pub partition_bytes_levels: [f64; 7],
    pub partition_cells_levels: [f64; 7],
    /// Partitions per power-of-two size bucket ([`size_bucket`]), weighted to the node's real
    /// partitions: the partition size distribution chart.
    #[serde(skip)]
    pub partition_size_histogram: Vec<f64>,
    pub live_rows: f64,
    pub tombstones: Tombstones,
    /// Sstables (each of a record's copies counts).
    pub sstables: f64,
    /// Bytes on disk (compressed).
    pub disk_bytes: f64,
    /// Serialized bytes in the memtable, and the heap the pool accounts for it.
    pub memtable_bytes: f64,
    pub memtable_heap_bytes: f64,
    /// The table's off-heap structures (bloom filters, index summaries, compression metadata,
    /// off-heap memtable), and the node's page cache.
    pub offheap: crate::heap::OffHeap,
    pub page_cache_bytes: f64,
    /// The node's data its reads keep hot: the page cache the read model wants.
    pub page_cache_wanted_bytes: f64,
    /// Disk the table's running compactions' outputs take (written while their inputs remain).
    pub compacting_bytes: f64,
    /// The node's live set on the heap, its collections and its flushes (the same on each of
    /// its tables' rows).
    pub heap_live: crate::heap::LiveSet,
    pub gc: crate::heap::gc::GcSample,
    pub flush: crate::heap::verdict::FlushLoad,
    /// This table's flushes forced by the memtable pool, and its flushed sstables awaiting their
    /// first compaction.
    pub pool_flushes: f64,
    pub pending_flushed: f64,
    /// The node's memory conditions in this sample (a verdict needs one sustained).
    pub conditions: crate::heap::verdict::Conditions,
    /// Since the previous sample.
    pub flushes: f64,
    pub compactions: f64,
    pub bytes_compacted: f64,
    pub expired_sstables_dropped: f64,
    pub sstables_per_read: Percentiles,
    pub tombstones_per_read: Percentiles,
    pub cells_scanned_per_read: Percentiles,
    pub bloom_false_positives_per_read: f64,
    /// Client requests in the sample period whose replica reads warned or failed (scaled from the
    /// simulated reads).
    pub warned_reads: f64,
    pub failed_reads: f64,
    pub simulated_reads: f64,
    /// Latency of all reads and writes on the table in the sample (HdrHistogram percentiles, ms).
    pub read_latency: Option<crate::latency::LatencyMs>,
    pub write_latency: Option<crate::latency::LatencyMs>,
    /// Busy read-stage servers over concurrent_reads, and busy cores over the cores compaction
    /// leaves.
    pub read_stage_utilisation: f64,
    pub cpu_utilisation: f64,
    /// A stage's queue grows without bound: no latency is a number.
    pub overloaded: bool,
}

/// A node's per-table figure summed over its tables at each sample time: `(t_s, sum)` in time
/// order (a node's samples hold one row per table per time).
pub fn sum_by_time(samples: &[TableSample], f: impl Fn(&TableSample) -> f64) -> Vec<(f64, f64)> {
    let mut by_time: std::collections::BTreeMap<u64, (f64, f64)> = Default::default();
    for s in samples {
        by_time.entry(s.t_s.to_bits()).or_insert((s.t_s, 0.0)).1 += f(s);
    }
    by_time.into_values().collect()
}

/// The `timeseries.csv` columns, in order.
pub const TIMESERIES_COLUMNS: &[&str] = &[
    "t_s",
    "node",
    "table",
    "partitions",
    "max_partition_bytes",
    "partition_bytes_p50",
    "partition_bytes_p99",
    "partition_rows_p50",
    "partition_rows_p99",
    "partition_rows_max",
    "live_rows",
    "tombstones",
    "tombstones_cell",
    "tombstones_row",
    "tombstones_range",
    "tombstones_partition",
    "tombstones_expired",
    "sstables",
    "disk_bytes",
    "memtable_bytes",
    "memtable_heap_bytes",
    "offheap_bloom_filter_bytes",
    "offheap_index_summary_bytes",
    "offheap_compression_metadata_bytes",
    "offheap_memtable_bytes",
    "page_cache_bytes",
    "page_cache_wanted_bytes",
    "compacting_bytes",
    "heap_live_bytes",
    "heap_old_live_bytes",
    "heap_headroom_bytes",
    "heap_old_capacity_bytes",
    "gc_allocation_bytes_per_s",
    "gc_promotion_bytes_per_s",
    "young_gc_interval_s",
    "young_gc_pause_ms",
    "old_gc_cycles_per_hour",
    "full_gcs_per_hour",
    "gc_pause_fraction",
    "flushes_per_hour",
    "flushed_sstables_pending",
    "memory_condition",
    "flushes",
    "compactions",
    "bytes_compacted",
    "expired_sstables_dropped",
    "sstables_per_read_p50",
    "sstables_per_read_p99",
    "sstables_per_read_max",
    "tombstones_per_read_p50",
    "tombstones_per_read_p99",
    "tombstones_per_read_max",
    "cells_scanned_per_read_p50",
    "cells_scanned_per_read_p99",
    "cells_scanned_per_read_max",
    "bloom_false_positives_per_read",
    "warned_reads",
    "failed_reads",
    "read_latency_p50_ms",
    "read_latency_p75_ms",
    "read_latency_p95_ms",
    "read_latency_p98_ms",
    "read_latency_p99_ms",
    "read_latency_max_ms",
    "write_latency_p50_ms",
    "write_latency_p99_ms",
    "read_stage_utilisation",
    "cpu_utilisation",
    "overloaded",
];

impl TableSample {
    /// The row's values in `TIMESERIES_COLUMNS` order.
    pub fn csv_values(&self) -> Vec<String> {
        let n = |x: f64| format_number(x);
        let mut values = vec![
            n(self.t_s),
            self.node.clone(),
            self.table.clone(),
            n(self.partitions),
            n(self.partition_bytes.max),
            n(self.partition_bytes.p50),
            n(self.partition_bytes.p99),
            n(self.partition_rows.p50),
            n(self.partition_rows.p99),
            n(self.partition_rows.max),
            n(self.live_rows),
            n(self.tombstones.total()),
            n(self.tombstones.cell),
            n(self.tombstones.row),
            n(self.tombstones.range),
            n(self.tombstones.partition),
            n(self.tombstones.expired),
            n(self.sstables),
            n(self.disk_bytes),
            n(self.memtable_bytes),
            n(self.memtable_heap_bytes),
            n(self.offheap.bloom_filter),
            n(self.offheap.index_summary),
            n(self.offheap.compression_metadata),
            n(self.offheap.memtable),
            n(self.page_cache_bytes),
            n(self.page_cache_wanted_bytes),
            n(self.compacting_bytes),
            n(self.heap_live.total()),
            n(self.gc.old_live_bytes),
            n(self.gc.headroom_bytes),
            n(self.gc.old_capacity_bytes),
            n(self.gc.allocation_bytes_per_s),
            n(self.gc.promotion_bytes_per_s),
            n(self.gc.young_gc_interval_s),
            n(self.gc.young_gc_pause_s * 1000.0),
            n(self.gc.old_cycles_per_hour),
            n(self.gc.full_gcs_per_hour),
            format!("{:.4}", self.gc.pause_fraction),
            n(self.flush.flushes_per_hour),
            n(self.pending_flushed),
            self.conditions.worst().word().to_string(),
            n(self.flushes),
            n(self.compactions),
            n(self.bytes_compacted),
            n(self.expired_sstables_dropped),
            n(self.sstables_per_read.p50),
            n(self.sstables_per_read.p99),
            n(self.sstables_per_read.max),
            n(self.tombstones_per_read.p50),
            n(self.tombstones_per_read.p99),
            n(self.tombstones_per_read.max),
            n(self.cells_scanned_per_read.p50),
            n(self.cells_scanned_per_read.p99),
            n(self.cells_scanned_per_read.max),
            format!("{:.4}", self.bloom_false_positives_per_read),
            n(self.warned_reads),
            n(self.failed_reads),
        ];
        let ms = |x: Option<f64>| x.map(|v| format!("{v:.3}")).unwrap_or_default();
        let r = self.read_latency;
        let w = self.write_latency;
        values.extend([
            ms(r.map(|l| l.p50)),
            ms(r.map(|l| l.p75)),
            ms(r.map(|l| l.p95)),
            ms(r.map(|l| l.p98)),
            ms(r.map(|l| l.p99)),
            ms(r.map(|l| l.max)),
            ms(w.map(|l| l.p50)),
            ms(w.map(|l| l.p99)),
            format!("{:.4}", self.read_stage_utilisation),
            format!("{:.4}", self.cpu_utilisation),
            if self.overloaded {
                "1".into()
            } else {
                "0".into()
            },
        ]);
        values
    }
}

/// Numbers as the outputs print them: whole numbers without a fraction, others to 4 significant
/// decimals, so outputs are stable and readable.
pub fn format_number(x: f64) -> String {
    if !x.is_finite() {
        return String::new();
    }
    let r = x.round();
    if (x - r).abs() < 1e-6 || x.abs() >= 1e6 {
        format!("{}", r as i64)
    } else {
        format!("{x:.3}")
    }
}

/// Rounds for JSON output: whole numbers above 1000, three decimals below.
pub fn round_json(x: f64) -> f64 {
    if !x.is_finite() {
        0.0
    } else if x.abs() >= 1000.0 {
        x.round()
    } else {
        (x * 1000.0).round() / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = Percentiles::of(&v);
        assert_eq!((p.p50, p.p99, p.max), (50.0, 99.0, 100.0));
    }

    #[test]
    fn weighted_percentiles_follow_weights() {
        let p = Percentiles::weighted(&[(1.0, 99.0), (1000.0, 1.0)]);
        assert_eq!(p.p50, 1.0);
        assert_eq!(p.max, 1000.0);
    }

    #[test]
    fn float_keys_sort_as_total_cmp() {
        let xs = [
            f64::NEG_INFINITY,
            -3.5,
            -0.0,
            0.0,
            1e-300,
            2.0,
            7.25e9,
            f64::INFINITY,
        ];
        for a in xs {
            for b in xs {
                assert_eq!(
                    total_order_key(a).cmp(&total_order_key(b)),
                    a.total_cmp(&b),
                    "{a} against {b}"
                );
            }
        }
    }

    #[test]
    fn value_counts_give_the_percentiles_of_their_values() {
        let values: Vec<f64> = (0..500).map(|i| f64::from((i * 7919) % 37)).collect();
        let mut counts = ValueCounts::default();
        values.iter().for_each(|v| counts.add(*v));
        assert_eq!(counts.percentiles(), Percentiles::of(&values));
    }

    #[test]
    fn by_value_is_a_stable_sort_and_levels_agree_with_percentiles() {
        let pairs: Vec<(f64, f64)> = (0..200)
            .map(|i| (f64::from((i * 37) % 11), f64::from(i % 5 + 1)))
            .collect();
        let mut stable = pairs.clone();
        stable.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert_eq!(by_value(&pairs), stable);
        let from_levels = Percentiles::from_levels(&levels(&pairs));
        assert_eq!(from_levels, Percentiles::weighted(&pairs));
    }

    #[test]
    fn numbers_print_stably() {
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(0.12345), "0.123");
        assert_eq!(format_number(2.5e9), "2500000000");
    }
}
