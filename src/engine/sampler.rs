//! A node's samples: reads of every SELECT through the sstable layout, partition statistics, and the
//! latency of reads and writes from the node's caches, stage queues and cores (issue 4).

use super::frag::{Kind, Part};
use super::node::NodeSim;
use super::read::{self, ReadWork, ViewCache};
use super::sstable::Tombstones;
use super::table::TableSim;
use super::view;
use crate::metrics::{Percentiles, TableSample};

impl NodeSim {
    /// Reads and statistics at `now`.
    pub fn sample(&mut self, now: f64) {
        self.hot_bytes = 0.0;
        let first_sample = self.samples.len();
        self.fold_reads();
        let first_reads = self.query_reads.len();
        for i in 0..self.tables.len() {
            let sample = self.sample_table(i, now);
            self.samples.push(sample);
        }
        self.latencies(now, first_sample, first_reads);
    }

    /// Moves the reads of the samples so far into `read_totals`.
    pub fn fold_reads(&mut self) {
        for (_, op, works) in self.query_reads.drain(..) {
            let totals = self.read_totals.entry(op).or_default();
            works.iter().for_each(|w| totals.add(w));
        }
    }

    /// Latency of this sample's reads and of writes (issue 4): the caches the node has, the
    /// stages' queues, then each query's requests through the coordinator.
    fn latencies(&mut self, now: f64, first_sample: usize, first_reads: usize) {
        use crate::latency::{self, TableIo};
        let config = &self.config;
        let model = &config.latency;
        // The page cache against the data reads keep hot (`read::hot_bytes`), at most all of it.
        let disk: f64 = self.samples[first_sample..]
            .iter()
            .map(|s| s.disk_bytes)
            .sum();
        let hot = self.hot_bytes.min(disk);
        // The page cache: what RAM leaves after the heap and every off-heap structure.
        let mut offheap = config.fixed_offheap;
        for s in &self.samples[first_sample..] {
            offheap.add(&s.offheap);
        }
        let page_cache = (config.ram_for_offheap_and_page_cache - offheap.total()).max(0.0);
        let page_cache_hit = if hot > 0.0 {
            (page_cache / hot).min(1.0)
        } else {
            1.0
        };
        // Key cache: entries against the (partition, sstable) pairs reads look up.
        let demand: f64 = self.samples[first_sample..]
            .iter()
            .map(|s| s.partitions * s.sstables.clamp(1.0, 10.0))
            .sum();
        let capacity = config.key_cache_bytes / config.key_cache_entry_bytes;
        // Compaction reads and writes the same disk: reads wait for its share of the device
        // (assumed: a busy fraction of the device's throughput).
        let compacted: f64 = self.samples[first_sample..]
            .iter()
            .map(|s| s.bytes_compacted)
            .sum();
        let disk_busy =
            (2.0 * compacted / config.sample_every_s / model.device.bytes_per_s).min(0.9);
        let disk_factor = 1.0 / (1.0 - disk_busy);
        let key_cache_hit = if demand > 0.0 {
            (capacity / demand).min(0.99)
        } else {
            0.99
        };
        let io = |t: &TableSim| TableIo {
            chunk_bytes: t.chunk_bytes,
            compression_ratio: t.compression_ratio,
            bytes_per_cell: bytes_per_cell(t),
            key_cache_hit,
            page_cache_hit,
            column_index_cache_bytes: crate::defaults::COLUMN_INDEX_CACHE_SIZE_BYTES,
            column_index_bytes: crate::defaults::COLUMN_INDEX_SIZE_BYTES,
            column_index_entry_bytes: t.column_index_entry_bytes,
        };
        // Service times without jitter, per query, and the read stage's load from all of them.
        let mut per_query: Vec<QueryServices> = Vec::new();
        let (mut lambda, mut busy, mut cpu_busy, mut read_alloc) = (0.0, 0.0, 0.0, 0.0);
        // Heap the simulated reads hold in flight, summed once for the live set and allocation.
        let (mut read_heap_sum, mut reads_simulated) = (0.0, 0.0);
        for (_, op, works) in &self.query_reads[first_reads..] {
            let Some((ti, reader)) = self
                .tables
                .iter()
                .enumerate()
                .find_map(|(i, t)| t.readers.iter().find(|r| r.op == *op).map(|r| (i, r)))
            else {
                continue;
            };
            let tio = io(&self.tables[ti]);
            let parts: Vec<(f64, f64)> = works
                .iter()
                .map(|w| latency::replica_read_parts(model, &tio, w))
                .collect();
            let services: Vec<(f64, bool)> = parts
                .iter()
                .zip(works)
                .map(|((cpu, disk), w)| (cpu + disk * disk_factor, w.failed))
                .collect();
            if !services.is_empty() {
                let n = services.len() as f64;
                let mean = services.iter().map(|s| s.0).sum::<f64>() / n;
                lambda += reader.rate;
                busy += reader.rate * mean;
                cpu_busy += reader.rate * parts.iter().map(|p| p.0).sum::<f64>() / n;
                let heap: f64 = works.iter().map(|w| read_heap(config, w)).sum();
                // Besides what a read holds, each cell it passes is copied as it is read,
                // merged and serialized into the response (`read_alloc_per_cell_byte`).
                let per_cell = tio.bytes_per_cell * config.read_alloc_per_cell_byte;
                let fixed: f64 = works
                    .iter()
                    .map(|w| {
                        config.read_alloc_bytes
                            + w.sstables * config.read_sstable_alloc_bytes
                            + w.cells_scanned * per_cell
                    })
                    .sum();
                read_alloc += reader.rate * (fixed + heap) / n;
                read_heap_sum += heap;
                reads_simulated += n;
            }
            per_query.push(QueryServices {
                op: *op,
                table: ti,
                services,
            });
        }
        let mean_service = if lambda > 0.0 { busy / lambda } else { 0.0 };
        // The cores: reads', writes' and running compactions' CPU (a compactor holds a core).
        let write_cpu: f64 = self
            .tables
            .iter()
            .flat_map(|t| t.writers.iter())
            .map(|w| w.rate * latency::replica_write_s(model, w.cells, false))
            .sum();
        let compactors = self.jobs.len() as f64;
        let cores = (config.cores - compactors).max(1.0);
        let cpu_load = (cpu_busy + write_cpu) / cores;
        let cpu_wait = if cpu_load < 1.0 {
            let rate = lambda
                + self
                    .tables
                    .iter()
                    .flat_map(|t| t.writers.iter())
                    .map(|w| w.rate)
                    .sum::<f64>();
            let mean_cpu = if rate > 0.0 {
                (cpu_busy + write_cpu) / rate
            } else {
                0.0
            };
            latency::mmc_wait_s(rate, mean_cpu, cores)
        } else {
            None
        };
        let read_wait = match (
            latency::mmc_wait_s(lambda, mean_service, config.concurrent_reads),
            cpu_wait,
        ) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        let utilisation = if config.concurrent_reads > 0.0 {
            busy / config.concurrent_reads
        } else {
            0.0
        };
        let mut table_reads: Vec<Vec<f64>> = vec![Vec::new(); self.tables.len()];
        let mut overloaded = vec![false; self.tables.len()];
        for QueryServices {
            op,
            table: ti,
            services,
        } in per_query
        {
            let (fanout, lwt) = self.tables[ti]
                .readers
                .iter()
                .find(|r| r.op == op)
                .map(|r| (r.fanout, r.lwt))
                .expect("reader");
            // A SERIAL read first runs a Paxos prepare round to a quorum.
            let prepare = latency::replica_write_s(model, 1.0, false);
            let Some(wait) = read_wait else {
                overloaded[ti] = true;
                self.query_latency.push((now, op, None));
                continue;
            };
            let mut sorted: Vec<f64> = services.iter().map(|s| s.0).collect();
            sorted.sort_by(f64::total_cmp);
            let retry_after = sorted
                .get(
                    ((sorted.len() as f64 * model.speculative_percentile) as usize)
                        .min(sorted.len().saturating_sub(1)),
                )
                .copied()
                .unwrap_or(0.0)
                * (model.speculative_z * model.jitter_sigma).exp()
                + wait;
            let (gc_share, gc_pause) = (self.gc_last.pause_fraction, self.gc_last.mean_pause_s());
            let mut lat = Vec::with_capacity(services.len());
            for (service, failed) in &services {
                if *failed {
                    continue; // A failed read is a failure, not a latency.
                }
                let mut l = latency::coordinate(
                    model,
                    &fanout,
                    retry_after,
                    &mut self.latency_rng,
                    |rng| {
                        service * latency::jitter(model, rng)
                            + wait
                            + latency::gc_delay(gc_share, gc_pause, rng)
                    },
                );
                if lwt {
                    l += latency::coordinate(
                        model,
                        &fanout,
                        f64::INFINITY,
                        &mut self.latency_rng,
                        |rng| prepare * latency::jitter(model, rng),
                    );
                }
                lat.push(l);
            }
            table_reads[ti].extend(lat.iter().copied());
            if let Some(p) = latency::percentiles(&lat) {
                self.query_latency.push((now, op, Some(p)));
            }
        }
        // Writes: each statement's mutations through the write stage and the coordinator.
        let write_lambda: f64 = self
            .tables
            .iter()
            .flat_map(|t| t.writers.iter())
            .map(|w| w.rate)
            .sum();
        let write_busy: f64 = self
            .tables
            .iter()
            .flat_map(|t| t.writers.iter())
            .map(|w| {
                w.rate * latency::replica_write_s(model, w.cells, config.commitlog_sync_on_write)
            })
            .sum();
        let write_service = if write_lambda > 0.0 {
            write_busy / write_lambda
        } else {
            0.0
        };
        let write_wait = match (
            latency::mmc_wait_s(write_lambda, write_service, config.concurrent_writes),
            cpu_wait,
        ) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        let mut table_writes: Vec<Vec<f64>> = vec![Vec::new(); self.tables.len()];
        let (gc_share, gc_pause) = (self.gc_last.pause_fraction, self.gc_last.mean_pause_s());
        let draws = (config.reads_per_sample / 2).max(1);
        for ti in 0..self.tables.len() {
            let writers: Vec<(usize, f64, crate::latency::Fanout, bool)> = self.tables[ti]
                .writers
                .iter()
                .filter(|w| w.rate > 0.0)
                .map(|w| {
                    (
                        w.op,
                        latency::replica_write_s(model, w.cells, config.commitlog_sync_on_write),
                        w.fanout,
                        w.lwt,
                    )
                })
                .collect();
            for (op, service, fanout, lwt) in writers {
                // A lightweight transaction: Paxos prepare (with its read), propose and commit,
                // each a round to a quorum, instead of one write round.
                let rounds = if lwt { 4 } else { 1 };
                let Some(wait) = write_wait else {
                    overloaded[ti] = true;
                    self.query_latency.push((now, op, None));
                    continue;
                };
                let lat: Vec<f64> = (0..draws)
                    .map(|_| {
                        (0..rounds)
                            .map(|_| {
                                latency::coordinate(
                                    model,
                                    &fanout,
                                    f64::INFINITY,
                                    &mut self.latency_rng,
                                    |rng| {
                                        service * latency::jitter(model, rng)
                                            + wait
                                            + latency::gc_delay(gc_share, gc_pause, rng)
                                    },
                                )
                            })
                            .sum()
                    })
                    .collect();
                table_writes[ti].extend(lat.iter().copied());
                if let Some(p) = latency::percentiles(&lat) {
                    self.query_latency.push((now, op, Some(p)));
                }
            }
        }
        // The live set on the heap (issue 5, item 2).
        let mean = |v: &[f64]| {
            if v.is_empty() {
                0.0
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        let all_reads: Vec<f64> = table_reads.iter().flatten().copied().collect();
        let all_writes: Vec<f64> = table_writes.iter().flatten().copied().collect();
        let per_read_heap = if reads_simulated > 0.0 {
            read_heap_sum / reads_simulated
        } else {
            0.0
        };
        let mut flush = self.flush_load(first_sample);
        // A write in flight holds its row as the memtable will: the fill rate over the row rate.
        let per_write_heap = if write_lambda > 0.0 {
            flush.memtable_fill_bytes_per_s / write_lambda
        } else {
            0.0
        };
        // The floor of the pending count over the last growth window and over the one before.
        let window = config.flush_growth_window_s;
        self.pending_history.push_back((now, flush.pending_flushed));
        while self
            .pending_history
            .front()
            .is_some_and(|(t, _)| now - t >= 2.0 * window - 1e-6)
        {
            self.pending_history.pop_front();
        }
        let floor = |recent: bool| {
            self.pending_history
                .iter()
                .filter(|(t, _)| (now - t < window - 1e-6) == recent)
                .map(|(_, p)| *p)
                .fold(f64::INFINITY, f64::min)
        };
        flush.pending_floor = floor(true);
        let spans_two = self
            .pending_history
            .front()
            .is_some_and(|(t, _)| now - t >= 2.0 * window - config.sample_every_s - 1e-6);
        flush.pending_before = spans_two.then(|| floor(false));
        flush.growth_window_s = window;
        // The memtable pool reaches its cleanup threshold before each flush it forces: that is
        // the memtables' peak within the sample.
        let memtables: f64 = self.tables.iter().map(|t| t.memtable.heap).sum();
        let memtables = if flush.pool_flushes > 0.0 {
            memtables.max(config.flush_threshold)
        } else {
            memtables
        };
        let sstables: f64 = self.samples[first_sample..]
            .iter()
            .map(|s| s.sstables)
            .sum();
        let live = crate::heap::LiveSet {
            baseline: config.heap_baseline_bytes,
            memtables,
            sstables: sstables * config.sstable_heap_bytes,
            key_cache: config
                .key_cache_bytes
                .min(demand * config.key_cache_entry_bytes),
            counter_cache: config.counter_cache_bytes,
            // An overloaded stage has all its threads busy.
            reads: match read_wait {
                Some(_) => (lambda * mean(&all_reads)).min(config.concurrent_reads),
                None => config.concurrent_reads,
            } * per_read_heap,
            writes: match write_wait {
                Some(_) => (write_lambda * mean(&all_writes)).min(config.concurrent_writes),
                None => config.concurrent_writes,
            } * per_write_heap,
            compaction: self.jobs.len() as f64 * config.compaction_heap_bytes,
        };
        // Allocation: a node under load, its monitoring, writes (their garbage and the memtable's
        // copy), reads, compaction (reports/validation/allocation); what outlives young
        // collections is the memtable data, promoted until its flush.
        let compacted_per_s = compacted / config.sample_every_s;
        let load = crate::heap::gc::GcLoad {
            live_old: live.total() - live.reads - live.writes,
            live_young: live.reads + live.writes,
            allocation: config.node_alloc_bytes_per_s
                + config.monitoring_alloc_bytes_per_s
                + write_lambda * config.write_alloc_bytes
                + flush.memtable_fill_bytes_per_s
                + read_alloc
                + compacted_per_s * config.compaction_alloc_per_byte,
            promotion: flush.memtable_fill_bytes_per_s,
        };
        let gc = crate::heap::gc::collect(&config.jvm, config.cores, &load, &config.gc_costs);
        self.gc_last = gc;
        let conditions =
            crate::heap::verdict::Conditions::of(&gc, &flush, config.gc_thrashing_fraction);
        for (k, s) in self.samples[first_sample..].iter_mut().enumerate() {
            s.heap_live = live;
            s.gc = gc;
            s.flush = flush.clone();
            s.conditions = conditions;
            s.read_latency = latency::percentiles(&table_reads[k]);
            s.write_latency = latency::percentiles(&table_writes[k]);
            s.read_stage_utilisation = utilisation;
            s.page_cache_bytes = page_cache;
            s.page_cache_wanted_bytes = hot;
            s.cpu_utilisation = cpu_load;
            s.overloaded = overloaded[k];
        }
    }

    /// The node's flushes in this sample and the table whose flushed sstables most outrun
    /// compaction (against its max_threshold).
    fn flush_load(&self, first_sample: usize) -> crate::heap::verdict::FlushLoad {
        let samples = &self.samples[first_sample..];
        let flushes: f64 = samples.iter().map(|s| s.flushes).sum();
        let sizes: Vec<f64> = self
            .tables
            .iter()
            .map(|t| t.flush_bytes)
            .filter(|b| *b > 0.0)
            .collect();
        let worst = samples.iter().zip(&self.tables).max_by(|(a, ta), (b, tb)| {
            (a.pending_flushed / ta.params.max_threshold.max(1.0))
                .total_cmp(&(b.pending_flushed / tb.params.max_threshold.max(1.0)))
        });
        crate::heap::verdict::FlushLoad {
            flushes,
            pool_flushes: samples.iter().map(|s| s.pool_flushes).sum(),
            flushes_per_hour: flushes * 3600.0 / self.config.sample_every_s,
            flush_threshold_bytes: self.config.flush_threshold,
            memtable_fill_bytes_per_s: self
                .tables
                .iter()
                .flat_map(|t| t.writers.iter())
                .map(|w| w.rate * w.heap_per_row)
                .sum(),
            flush_sstable_bytes: if sizes.is_empty() {
                0.0
            } else {
                sizes.iter().sum::<f64>() / sizes.len() as f64
            },
            table: worst.map(|(s, _)| s.table.clone()).unwrap_or_default(),
            pending_flushed: worst.map(|(s, _)| s.pending_flushed).unwrap_or(0.0),
            max_threshold: worst.map(|(_, t)| t.params.max_threshold).unwrap_or(32.0),
            pending_floor: 0.0,
            pending_before: None,
            growth_window_s: 0.0,
        }
    }

    fn sample_table(&mut self, i: usize, now: f64) -> TableSample {
        let config = self.config.clone();
        let mut cache = ViewCache::new();
        let mut works: Vec<ReadWork> = Vec::new();
        let (mut warned, mut failed) = (0.0, 0.0);
        let t = &self.tables[i];
        let cx = read::ReadContext {
            table: t,
            order: read::ReadOrder::new(&t.sstables),
            now,
            limits: config.limits,
        };
        for reader in &t.readers {
            let w = read::simulate(
                &cx,
                reader,
                config.reads_per_sample,
                &mut self.rng,
                &mut cache,
            );
            if !w.is_empty() {
                let n = w.len() as f64;
                let requests = reader.requests * config.sample_every_s;
                warned += requests * w.iter().filter(|r| r.warned).count() as f64 / n;
                failed += requests * w.iter().filter(|r| r.failed).count() as f64 / n;
            }
            self.hot_bytes += read::hot_bytes(&cx, reader, &w);
            works.extend(w.iter().copied());
            self.query_reads.push((now, reader.op, w));
        }
        let (mut s, updates) = partition_stats(t, now, config.stats_partitions);
        s.offheap = table_offheap(t, config.memtable_offheap);
        drop(cache);
        let t = &mut self.tables[i];
        t.stats_cache.extend(updates);
        let values = |f: fn(&ReadWork) -> f64| -> Vec<f64> { works.iter().map(f).collect() };
        s.t_s = now;
        s.node = config.name.clone();
        s.table = t.name.clone();
        s.sstables_per_read = Percentiles::of(&values(|w| w.sstables));
        s.tombstones_per_read = Percentiles::of(&values(|w| w.tombstones.round()));
        s.cells_scanned_per_read = Percentiles::of(&values(|w| w.cells_scanned.round()));
        s.bloom_false_positives_per_read = if works.is_empty() {
            0.0
        } else {
            works.iter().map(|w| w.bloom_false_positives).sum::<f64>() / works.len() as f64
        };
        s.warned_reads = warned;
        s.failed_reads = failed;
        s.simulated_reads = works.len() as f64;
        s.flushes = t.since_sample.flushes;
        s.pool_flushes = t.since_sample.pool_flushes;
        s.pending_flushed = t
            .sstables
            .iter()
            .filter(|x| x.flushed && !x.compacting)
            .map(|x| x.copies)
            .sum();
        s.compactions = t.since_sample.compactions;
        s.bytes_compacted = t.since_sample.bytes_compacted;
        s.expired_sstables_dropped = t.since_sample.expired_dropped;
        t.since_sample = Default::default();
        s.compacting_bytes = self.compacting_bytes(Some(i));
        s
    }
}

/// Heap a read holds while in flight: the cells it materialises and the IndexInfo entries of a
/// wide partition's column index (CASSANDRA.md 4.4, 4.5, 8.5).
fn read_heap(config: &super::node::NodeConfig, w: &ReadWork) -> f64 {
    let wide = if w.sstables > 0.0 {
        w.partition_bytes / w.sstables
    } else {
        0.0
    };
    let index_entries = if wide > crate::defaults::COLUMN_INDEX_SIZE_BYTES {
        w.sstables * wide / crate::defaults::COLUMN_INDEX_SIZE_BYTES
    } else {
        0.0
    };
    w.cells_scanned * config.read_cell_heap_bytes + index_entries * config.index_info_heap_bytes
}

/// One query's replica service times in a sample (seconds), and whether each read failed.
struct QueryServices {
    op: usize,
    table: usize,
    services: Vec<(f64, bool)>,
}

/// Cells per row written, averaged over the table's row-writing statements by rate (`Cell
/// Count` of tablehistograms counts cells).
fn cells_per_row(t: &TableSim) -> f64 {
    let (mut rows, mut cells) = (0.0, 0.0);
    for w in t.writers.iter().filter(|w| !w.targets_existing_rows()) {
        let shape = &t.sizes.shapes[w.shape as usize];
        rows += w.rate;
        cells += w.rate * (shape.cells + shape.null_cells).max(1.0);
    }
    if rows > 0.0 {
        cells / rows
    } else {
        1.0
    }
}

/// Serialized bytes per cell written, averaged over the table's writers by rate.
pub(super) fn bytes_per_cell(t: &TableSim) -> f64 {
    let (mut bytes, mut cells) = (0.0, 0.0);
    for w in &t.writers {
        let shape = &t.sizes.shapes[w.shape as usize];
        bytes += w.rate * shape.bytes;
        cells += w.rate * (shape.cells + shape.null_cells).max(1.0);
    }
    if cells > 0.0 {
        (bytes / cells).max(1.0)
    } else {
        50.0
    }
}

/// A table's off-heap structures (CASSANDRA.md 4.1, 4.2, 8.5): bloom filters by keys per sstable
/// (a partition in N sstables costs N entries), index summaries, compression offsets, and the
/// memtable's values with an off-heap allocation type.
fn table_offheap(t: &TableSim, memtable_offheap: bool) -> crate::heap::OffHeap {
    use crate::heap::*;
    let bits = bloom_bits_per_key(t.bloom_fp);
    let mut o = OffHeap::default();
    for s in &t.sstables {
        // `keys` counts the partitions of all the record's copies: one filter per copy.
        let keys = s.stats.keys;
        o.bloom_filter += s.copies * bloom_filter_bytes(keys / s.copies, bits);
        o.index_summary += keys / INDEX_SUMMARY_INTERVAL
            * (t.sizes.partition_overhead + INDEX_SUMMARY_ENTRY_OVERHEAD);
        if t.compression_ratio < 1.0 {
            o.compression_metadata +=
                s.stats.bytes * t.compression_ratio / t.chunk_bytes * COMPRESSION_OFFSET_BYTES;
        }
    }
    if memtable_offheap {
        o.memtable = t.memtable.bytes(&t.sizes, &t.parts.weights);
    }
    o
}

/// A partition's live rows and bytes at `now`, from the cache while its content and TTL states
/// have not changed since.
fn part_stats(t: &TableSim, pidx: u32, now: f64) -> super::table::PartStats {
    let version = t.pversion[pidx as usize];
    if let Some(c) = t.stats_cache.get(&pidx) {
        if c.version == version && now < c.valid_until {
            return *c;
        }
    }
    let mut sources: Vec<&Part> = t.memtable.parts.get(&pidx).into_iter().collect();
    sources.extend(t.sstables.iter().filter_map(|s| s.part(pidx)));
    let bytes: f64 = sources.iter().map(|p| p.bytes(&t.sizes)).sum();
    let view = view::build(&sources, &t.clock(now), None);
    let live: f64 = view.pieces.iter().map(|p| p.tally(&t.sizes).live).sum();
    // A partition with live static columns and no live rows is one CQL row (a SELECT returns
    // it); with rows, the static columns ride on them. Found by the agreement suite: the
    // registry's files counted none of their static rows, and the reference counted them all.
    let static_row = view
        .pieces
        .iter()
        .filter(|p| p.frag.hi <= super::table::STATIC_ROW_END && p.frag.kind == Kind::Rows)
        .filter(|p| p.state == view::State::Live)
        .map(|p| p.visible)
        .sum::<f64>()
        .min(1.0);
    let live = if static_row > 0.0 {
        live.max(static_row)
    } else {
        live
    };
    // Live rows change when a TTL expires: the cache holds until the next expiry begins.
    let mut valid_until = f64::INFINITY;
    for f in sources.iter().flat_map(|p| p.frags.iter()) {
        if f.kind == super::frag::Kind::Rows && f.ttl > 0.0 {
            let (a, b) = (f.t_min() + f.ttl, f.t_max() + f.ttl);
            if now >= a && now < b {
                valid_until = now;
            } else if a > now {
                valid_until = valid_until.min(a);
            }
        }
    }
    super::table::PartStats {
        version,
        valid_until,
        live,
        bytes,
    }
}

/// `a / b`, 0 when `b` is not above 0.
fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

/// Partition sizes and live rows from the merged views of up to `limit` tracked partitions, and
/// table totals.
fn partition_stats(
    t: &TableSim,
    now: f64,
    limit: usize,
) -> (TableSample, Vec<(u32, super::table::PartStats)>) {
    let weights = &t.parts.weights;
    let mut has_data = vec![false; weights.len()];
    for p in t.memtable.parts.keys() {
        has_data[*p as usize] = true;
    }
    for s in &t.sstables {
        for &p in s.pidxs() {
            has_data[p as usize] = true;
        }
    }
    let present: Vec<u32> = (0..weights.len() as u32)
        .filter(|&i| has_data[i as usize])
        .collect();
    let total_weight: f64 = present.iter().map(|&p| weights[p as usize]).sum();
    // The hottest partitions (by popularity rank) are measured whole, the rest by a systematic
    // sample scaled to their weight: a skewed key popularity puts a large share of the rows in a
    // few partitions, which a plain sample over-weights (found by the agreement suite: +19 % live
    // rows under zipf(1.2)).
    let head = (limit / 4).min(present.len());
    let hot: Vec<u32> = t
        .parts
        .by_rank
        .iter()
        .copied()
        .filter(|&p| has_data[p as usize])
        .take(head)
        .collect();
    // The rest by generation, each sampled by its own stride and scaled to its own weight: one
    // stride over all of them would alias with the generations of a time-bucketed table, whose
    // live rows differ by age (found by the agreement suite: R1 scaled down, live rows off by up
    // to 2 %). Without buckets there is one generation, in rank order.
    for &p in &hot {
        has_data[p as usize] = false;
    }
    let rest: Vec<u32> = present
        .iter()
        .copied()
        .filter(|&p| has_data[p as usize])
        .collect();
    let budget = limit.saturating_sub(head).max(1);
    // `(partition, scale of its weight, scale of its live rows)`.
    let mut chosen: Vec<(u32, f64, f64)> = hot.iter().map(|&p| (p, 1.0, 1.0)).collect();
    let generation = |p: &u32| t.parts.tracked[*p as usize].from_s;
    for group in rest.chunk_by(|a, b| generation(a) == generation(b)) {
        let share = (budget * group.len() / rest.len()).max(1);
        let stride = group.len().div_ceil(share).max(1);
        // The middle of each stride: in rank order under a skewed popularity, a stride's first
        // is its hottest, which over-weights the rows (found by the population tests: +2 % live
        // rows under zipf(1.1) over 1 000 keys tracked whole).
        let sampled: Vec<u32> = group
            .iter()
            .copied()
            .skip(stride / 2)
            .step_by(stride)
            .collect();
        let weight = |p: u32| weights[p as usize];
        let written = |p: u32| weights[p as usize] * t.parts.tracked[p as usize].rows_written();
        // The group's total of `f` over the sample's.
        let scale_of = |f: &dyn Fn(u32) -> f64| {
            let total = |ps: &[u32]| ps.iter().map(|&p| f(p)).sum::<f64>();
            ratio(total(group), total(&sampled))
        };
        let scale = scale_of(&weight);
        // Live rows scale by the rows written to the partitions the sample stands for, which
        // live rows follow more closely than they follow partitions (a ratio estimator): by
        // partitions, the sampled partitions' first writes and Poisson counts put 2 % of noise
        // on an hour's rows under zipf(1.1) over 10^9 keys; by writes, upserts counted rows
        // their overwrites did not add (-6.5 % over 10^6 keys written 1.8 times each). By
        // partitions where nothing wrote.
        let rows_scale = match scale_of(&written) {
            r if r > 0.0 => r,
            _ => scale,
        };
        chosen.extend(sampled.iter().map(|&p| (p, scale, rows_scale)));
    }
    chosen.sort_by_key(|c| c.0);
    let mut bytes = Vec::with_capacity(chosen.len());
    let mut rows = Vec::with_capacity(chosen.len());
    let cells_per_row = cells_per_row(t);
    let mut live_total = 0.0;
    let mut updates = Vec::with_capacity(chosen.len());
    for &(pidx, scale, rows_scale) in &chosen {
        let st = part_stats(t, pidx, now);
        updates.push((pidx, st));
        let w = weights[pidx as usize] * scale;
        bytes.push((st.bytes, w));
        rows.push((st.live.round(), w));
        live_total += weights[pidx as usize] * rows_scale * st.live;
    }
    let mut tombstones = Tombstones::default();
    let mut disk = 0.0;
    let mut sstables = 0.0;
    for s in &t.sstables {
        tombstones.add(&s.stats.tombstones_at(now));
        disk += s.stats.bytes * t.compression_ratio;
        sstables += s.copies;
    }
    let (memtable_bytes, mem_tombstones) =
        super::sstable::Stats::totals_at(t.memtable.parts.values(), weights, &t.sizes, now);
    tombstones.add(&mem_tombstones);
    let cells: Vec<(f64, f64)> = rows
        .iter()
        .map(|(r, w)| ((r * cells_per_row).round(), *w))
        .collect();
    let bytes_levels = crate::metrics::levels(&bytes);
    let sample = TableSample {
        partitions: total_weight,
        partition_bytes: Percentiles::from_levels(&bytes_levels),
        partition_rows: Percentiles::weighted(&rows),
        partition_bytes_levels: bytes_levels,
        partition_size_histogram: {
            let mut h = vec![0.0; crate::metrics::SIZE_BUCKETS];
            for (b, w) in &bytes {
                h[crate::metrics::size_bucket(*b)] += w;
            }
            h
        },
        partition_cells_levels: crate::metrics::levels(&cells),
        live_rows: live_total,
        tombstones,
        sstables,
        disk_bytes: disk,
        memtable_bytes,
        memtable_heap_bytes: t.memtable.heap,
        ..TableSample::default()
    };
    (sample, updates)
}
