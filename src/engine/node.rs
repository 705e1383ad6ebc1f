//! One simulated node: its tables share the memtable pool (flush at the cleanup threshold of the
//! largest memtable, on a full commit log, or by memtable_flush_period, CASSANDRA.md 8.2) and the
//! compaction executor (compaction_throughput over concurrent_compactors, CASSANDRA.md 5.6). Each
//! engine step: writes, flushes, compactions (`compactor.rs`), TWCS/UCS expired-sstable drops; each
//! sample: reads, statistics and latency (`sampler.rs`).

use rand_pcg::Pcg64Mcg;

use super::compactor::Job;
use super::frag::Part;
use super::read::{ReadLimits, ReadWork};
use super::sstable::SSTable;
use super::table::{Memtable, TableSim};
use crate::metrics::TableSample;

/// Node-wide limits (CASSANDRA.md 1.2, 5.6, 8).
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub name: String,
    /// memtable_heap_space × memtable_cleanup_threshold: the flush trigger.
    pub flush_threshold: f64,
    pub commitlog_total_space: f64,
    /// Bytes per second on disk; infinite when 0 (unthrottled).
    pub compaction_throughput: f64,
    pub concurrent_compactors: usize,
    /// The engine step (`scenario::engine_step_s`).
    pub step_s: f64,
    pub reads_per_sample: usize,
    pub stats_partitions: usize,
    pub limits: ReadLimits,
    pub sample_every_s: f64,
    pub latency: crate::latency::Model,
    /// RAM less the heap and memory outside the modelled structures (OS, metaspace, threads):
    /// what off-heap structures and the page cache share (CASSANDRA.md 8.5).
    pub ram_for_offheap_and_page_cache: f64,
    /// The chunk and networking caches, fixed by the heap.
    pub fixed_offheap: crate::heap::OffHeap,
    /// memtable_allocation_type keeps cell values off heap (offheap_buffers, offheap_objects).
    pub memtable_offheap: bool,
    pub key_cache_bytes: f64,
    /// counter_cache_size: min(2.5 % of heap, 50 MiB) (CASSANDRA.md 1.2), when a table counts.
    pub counter_cache_bytes: f64,
    pub heap_baseline_bytes: f64,
    pub read_cell_heap_bytes: f64,
    pub index_info_heap_bytes: f64,
    pub compaction_heap_bytes: f64,
    pub sstable_heap_bytes: f64,
    /// Garbage per row written, per read and per sstable it opens, per byte compacted.
    pub write_alloc_bytes: f64,
    pub read_alloc_bytes: f64,
    pub read_sstable_alloc_bytes: f64,
    pub read_alloc_per_cell_byte: f64,
    pub compaction_alloc_per_byte: f64,
    pub node_alloc_bytes_per_s: f64,
    pub monitoring_alloc_bytes_per_s: f64,
    /// The JVM and its collector's costs (issue 5).
    pub jvm: crate::heap::Jvm,
    pub gc_costs: crate::heap::gc::GcCosts,
    pub gc_thrashing_fraction: f64,
    pub flush_growth_window_s: f64,
    pub key_cache_entry_bytes: f64,
    pub concurrent_reads: f64,
    pub concurrent_writes: f64,
    pub cores: f64,
    /// commitlog_sync batch or group: a write waits for the commit log's fsync.
    pub commitlog_sync_on_write: bool,
}

pub struct NodeSim {
    pub config: NodeConfig,
    pub tables: Vec<TableSim>,
    pub(super) jobs: Vec<Job>,
    pub(super) rng: Pcg64Mcg,
    /// Latency draws (jitter, GC delays) have their own stream, so whether a stage is overloaded
    /// (and draws are skipped) never changes what the storage engine does.
    pub(super) latency_rng: Pcg64Mcg,
    pub(super) round_robin: usize,
    pub samples: Vec<TableSample>,
    /// Per query (workload index): the reads simulated at each sample.
    pub query_reads: Vec<(f64, usize, Vec<ReadWork>)>,
    /// The reads of earlier samples, by workload index: `query_reads` holds only the last
    /// sample's, so memory does not grow with the run.
    pub read_totals: std::collections::BTreeMap<usize, super::read::ReadTotals>,
    /// Bytes the current sample's reads keep hot.
    pub(super) hot_bytes: f64,
    /// Per query and sample: latency percentiles, `None` when the node's stage is overloaded.
    pub query_latency: Vec<(f64, usize, Option<crate::latency::LatencyMs>)>,
    /// The previous sample's collections: their pauses delay this sample's requests.
    pub(super) gc_last: crate::heap::gc::GcSample,
    /// `(t_s, flushed sstables awaiting compaction)` per sample, for frequent_flushes' growth.
    pub(super) pending_history: std::collections::VecDeque<(f64, f64)>,
    /// The most disk that running compactions' outputs held at once (temporary sstables written
    /// while their inputs are still on disk): the compaction headroom the run needed.
    pub peak_compacting_bytes: f64,
}

impl NodeSim {
    pub fn new(
        config: NodeConfig,
        tables: Vec<TableSim>,
        rng: Pcg64Mcg,
        latency_rng: Pcg64Mcg,
    ) -> NodeSim {
        NodeSim {
            config,
            tables,
            jobs: Vec::new(),
            rng,
            latency_rng,
            round_robin: 0,
            samples: Vec::new(),
            query_reads: Vec::new(),
            read_totals: Default::default(),
            query_latency: Vec::new(),
            hot_bytes: 0.0,
            gc_last: Default::default(),
            pending_history: Default::default(),
            peak_compacting_bytes: 0.0,
        }
    }

    /// Runs `[t0, t1)`.
    pub fn step(&mut self, t0: f64, t1: f64) {
        for t in &mut self.tables {
            t.advance_partitions(t0);
            t.write_step(t0, t1, &mut self.rng);
        }
        self.flush(t0, t1);
        self.compact(t0, t1);
        self.drop_expired(t1);
    }

    // ---------------------------------------------------------------- flushes

    fn flush(&mut self, t0: f64, t1: f64) {
        let dt = t1 - t0;
        let start: Vec<f64> = self
            .tables
            .iter()
            .map(|t| t.memtable.heap - t.memtable.step_heap)
            .collect();
        let mut added: Vec<f64> = self.tables.iter().map(|t| t.memtable.step_heap).collect();
        let mut counts = cleanup_flushes(&start, &added, self.config.flush_threshold, dt);
        // A step's writes charged each partition's overhead once; with k flushes in the step a
        // partition enters up to k + 1 memtables (found by the agreement suite: tables of many
        // small partitions flushed 10 to 17 % too rarely). Charge it per memtable and plan again.
        let mut again = false;
        for (i, t) in self.tables.iter_mut().enumerate() {
            let extra = reentry_heap(t, counts[i].0);
            if extra > 0.0 {
                added[i] += extra;
                t.memtable.heap += extra;
                again = true;
            }
        }
        if again {
            counts = cleanup_flushes(&start, &added, self.config.flush_threshold, dt);
        }
        for (i, (n, left)) in counts.into_iter().enumerate() {
            if n > 0.0 {
                // What is left was written last: at the step's end, at its rate.
                let cut = if added[i] > 0.0 {
                    t1 - dt * (left / added[i]).min(1.0)
                } else {
                    t1
                };
                self.tables[i].since_sample.pool_flushes += n;
                // On disk at the pool's last fill (`cut`), or with several flushes in the step
                // at the first of them, the fills spread evenly up to it.
                let ready = cut - (cut - t0) * (n - 1.0) / n;
                self.flush_table(i, cut, n, t1, left, ready);
            }
        }
        // memtable_flush_period_in_ms (CASSANDRA.md 8.2 item 4).
        for i in 0..self.tables.len() {
            let t = &self.tables[i];
            if let Some(period) = t.flush_period_s {
                if !t.memtable.parts.is_empty() && t1 - t.memtable.oldest >= period {
                    let n = ((t1 - t.memtable.oldest) / period).floor().max(1.0);
                    self.flush_table(i, f64::INFINITY, n, t1, 0.0, t1);
                }
            }
        }
        // A full commit log flushes the tables dirty in its oldest segment (CASSANDRA.md 8.2
        // item 3): the commit log holds everything written since the oldest unflushed write.
        for _ in 0..self.tables.len() {
            let rate: f64 = self.tables.iter().map(commitlog_rate).sum();
            let Some((i, oldest)) = self
                .tables
                .iter()
                .enumerate()
                .filter(|(_, t)| !t.memtable.parts.is_empty())
                .map(|(i, t)| (i, t.memtable.oldest))
                .min_by(|a, b| a.1.total_cmp(&b.1))
            else {
                break;
            };
            let held = rate * (t1 - oldest);
            if held <= self.config.commitlog_total_space {
                break;
            }
            // The commit log filled this many times since the oldest dirty write: as many
            // flushes of the table holding it, within the step.
            let copies = (held / self.config.commitlog_total_space).floor().max(1.0);
            self.flush_table(i, f64::INFINITY, copies, t1, 0.0, t1);
        }
        for t in &mut self.tables {
            t.memtable.step_heap = 0.0;
            t.memtable.step_touches.clear();
        }
    }

    /// Flushes what table `i`'s memtable holds from before `cut` as `copies` sstables, on disk
    /// from `ready`.
    fn flush_table(
        &mut self,
        i: usize,
        cut: f64,
        copies: f64,
        now: f64,
        left_heap: f64,
        ready: f64,
    ) {
        let t = &mut self.tables[i];
        let memtable = std::mem::replace(&mut t.memtable, Memtable::new());
        let mut flushed = Vec::new();
        let mut kept = Memtable::new();
        for (pidx, part) in memtable.parts {
            let (old, new) = if cut >= now {
                (part, Part::new(pidx))
            } else {
                part.split_at(cut)
            };
            if !old.is_empty() {
                flushed.push(old);
            }
            if !new.is_empty() {
                kept.oldest = kept.oldest.min(new.t_min());
                kept.parts.insert(pidx, new);
            }
        }
        kept.heap = if cut >= now { 0.0 } else { left_heap };
        kept.step_heap = 0.0;
        t.memtable = kept;
        if flushed.is_empty() {
            return;
        }
        let id = t.new_id();
        let mut s = SSTable::new(id, flushed, copies, false, now, &t.parts.weights, &t.sizes);
        s.flushed = true;
        s.ready_s = ready.min(now);
        let per_copy = s.bytes_per_copy();
        t.flush_bytes = if t.flush_bytes > 0.0 {
            0.8 * t.flush_bytes + 0.2 * per_copy
        } else {
            per_copy
        };
        note_partition_size(t, &s, now);
        t.sstables.push(s);
        t.since_sample.flushes += copies;
        t.total.flushes += copies;
    }
}

/// The partition overhead a step's writes add beyond what they charged, when `flushes` memtables
/// of the table are flushed within the step: its writes fall into `flushes + 1` memtables, and a
/// partition with n rows spread evenly (Poisson) over them enters each with probability
/// 1 - exp(-n / (flushes + 1)); it was charged once if new to the memtable, else not at all.
fn reentry_heap(t: &mut TableSim, flushes: f64) -> f64 {
    if flushes <= 0.0 || t.heap_per_partition <= 0.0 || t.memtable.step_touches.is_empty() {
        return 0.0;
    }
    let touches = &mut t.memtable.step_touches;
    touches.sort_by_key(|x| x.0);
    let k = flushes + 1.0;
    let mut extra = 0.0;
    for group in touches.chunk_by(|a, b| a.0 == b.0) {
        let rows: f64 = group.iter().map(|x| x.1).sum();
        let enters = 1.0 - (-rows / k).exp();
        // The first memtable holds it already unless it was new (then charged once); each
        // memtable after a flush may take it again.
        let (memtables, charged) = if group[0].2 { (k, 1.0) } else { (k - 1.0, 0.0) };
        extra += t.parts.weights[group[0].0 as usize] * (memtables * enters - charged).max(0.0);
    }
    extra * t.heap_per_partition
}

/// Flushes at the cleanup threshold during a step (CASSANDRA.md 8.2 item 1): writes arrive
/// evenly; whenever the memtables together reach the threshold, the largest is flushed. Returns
/// per table the flush count and the heap left at the end.
pub fn cleanup_flushes(start: &[f64], added: &[f64], threshold: f64, dt: f64) -> Vec<(f64, f64)> {
    let mut heap = start.to_vec();
    let rates: Vec<f64> = added.iter().map(|a| a / dt).collect();
    let mut counts = vec![0.0; heap.len()];
    let total_rate: f64 = rates.iter().sum();
    let mut tau = 0.0;
    for _ in 0..1_000_000 {
        let total: f64 = heap.iter().sum();
        if total < threshold {
            if total_rate <= 0.0 {
                break;
            }
            let next = tau + (threshold - total) / total_rate;
            let until = next.min(dt);
            for (h, r) in heap.iter_mut().zip(&rates) {
                *h += r * (until - tau);
            }
            tau = until;
            if next >= dt {
                break;
            }
        }
        let Some((j, _)) = heap.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)) else {
            break;
        };
        if heap[j] <= 0.0 {
            break;
        }
        counts[j] += 1.0;
        heap[j] = 0.0;
    }
    counts.into_iter().zip(heap).collect()
}

fn commitlog_rate(t: &TableSim) -> f64 {
    t.writers
        .iter()
        .map(|w| w.rate * w.commitlog_per_row)
        .sum::<f64>()
}

pub(super) fn note_partition_size(t: &mut TableSim, s: &SSTable, now: f64) {
    t.max_sstable_partition = t.max_sstable_partition.max(s.stats.max_partition_bytes);
    if s.stats.max_partition_bytes > crate::defaults::LARGE_PARTITION_WARN_BYTES
        && t.first_large_partition_s.is_none()
    {
        t.first_large_partition_s = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_memtable_flushes_at_the_threshold() {
        // Two tables, equal rates: the threshold is reached every 50 s of writes.
        let flushes = cleanup_flushes(&[0.0, 0.0], &[1000.0, 1000.0], 100.0, 1000.0);
        let total: f64 = flushes.iter().map(|f| f.0).sum();
        assert!((total - 30.0).abs() <= 10.0, "{flushes:?}");
        assert!(flushes.iter().all(|f| f.1 < 100.0));
        // A quiet table never reaches it alone.
        let quiet = cleanup_flushes(&[0.0], &[10.0], 100.0, 1000.0);
        assert_eq!(quiet[0], (0.0, 10.0));
    }
}
