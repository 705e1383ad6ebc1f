//! One simulated node: its tables share the memtable pool (flush at the cleanup threshold of the
//! largest memtable, on a full commit log, or by memtable_flush_period, CASSANDRA.md 8.2) and the
//! compaction executor (compaction_throughput over concurrent_compactors, CASSANDRA.md 5.6). Each
//! engine step: writes, flushes, compactions, TWCS/UCS expired-sstable drops; each sample: reads
//! and statistics.

use rand_pcg::Pcg64Mcg;

use super::compaction::merge::{self, MergeContext};
use super::compaction::{self, Output, Plan, Why};
use super::frag::Part;
use super::read::{self, ReadLimits, ReadWork, ViewCache};
use super::sstable::{SSTable, Tombstones};
use super::table::{Memtable, TableSim};
use super::view;
use crate::metrics::{Percentiles, TableSample};
use crate::schema::options::Strategy;

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
    pub step_s: f64,
    pub reads_per_sample: usize,
    pub stats_partitions: usize,
    pub limits: ReadLimits,
    pub sample_every_s: f64,
    pub latency: crate::latency::Model,
    /// Memory the page cache gets: RAM less heap and off-heap (CASSANDRA.md 8.5).
    pub page_cache_bytes: f64,
    pub key_cache_bytes: f64,
    pub key_cache_entry_bytes: f64,
    pub concurrent_reads: f64,
    pub concurrent_writes: f64,
    pub cores: f64,
    /// commitlog_sync batch or group: a write waits for the commit log's fsync.
    pub commitlog_sync_on_write: bool,
}

/// A compaction in progress: its output was computed when it started (gc_before is fixed then,
/// CASSANDRA.md 6.3) and replaces its inputs when its bytes have been processed.
#[derive(Debug, Clone)]
struct Job {
    table: usize,
    inputs: Vec<u64>,
    outputs: Vec<SSTable>,
    bytes: f64,
    done: f64,
    merges: f64,
    why: Why,
}

pub struct NodeSim {
    pub config: NodeConfig,
    pub tables: Vec<TableSim>,
    jobs: Vec<Job>,
    rng: Pcg64Mcg,
    round_robin: usize,
    pub samples: Vec<TableSample>,
    /// Per query (workload index): the reads simulated at each sample.
    pub query_reads: Vec<(f64, usize, Vec<ReadWork>)>,
    /// Bytes the current sample's reads keep hot.
    hot_bytes: f64,
    /// Per query and sample: latency percentiles, `None` when the node's stage is overloaded.
    pub query_latency: Vec<(f64, usize, Option<crate::latency::LatencyMs>)>,
}

impl NodeSim {
    pub fn new(config: NodeConfig, tables: Vec<TableSim>, rng: Pcg64Mcg) -> NodeSim {
        NodeSim {
            config,
            tables,
            jobs: Vec::new(),
            rng,
            round_robin: 0,
            samples: Vec::new(),
            query_reads: Vec::new(),
            query_latency: Vec::new(),
            hot_bytes: 0.0,
        }
    }

    /// Runs `[t0, t1)`.
    pub fn step(&mut self, t0: f64, t1: f64) {
        for t in &mut self.tables {
            t.advance_partitions(t0, &mut self.rng);
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
        let added: Vec<f64> = self.tables.iter().map(|t| t.memtable.step_heap).collect();
        let counts = cleanup_flushes(&start, &added, self.config.flush_threshold, dt);
        for (i, (n, left)) in counts.into_iter().enumerate() {
            if n > 0.0 {
                // What is left was written last: at the step's end, at its rate.
                let cut = if added[i] > 0.0 {
                    t1 - dt * (left / added[i]).min(1.0)
                } else {
                    t1
                };
                self.flush_table(i, cut, n, t1, left);
            }
        }
        // memtable_flush_period_in_ms (CASSANDRA.md 8.2 item 4).
        for i in 0..self.tables.len() {
            let t = &self.tables[i];
            if let Some(period) = t.flush_period_s {
                if !t.memtable.parts.is_empty() && t1 - t.memtable.oldest >= period {
                    let n = ((t1 - t.memtable.oldest) / period).floor().max(1.0);
                    self.flush_table(i, f64::INFINITY, n, t1, 0.0);
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
            self.flush_table(i, f64::INFINITY, copies, t1, 0.0);
        }
        for t in &mut self.tables {
            t.memtable.step_heap = 0.0;
        }
    }

    /// Flushes what table `i`'s memtable holds from before `cut` as `copies` sstables.
    fn flush_table(&mut self, i: usize, cut: f64, copies: f64, now: f64, left_heap: f64) {
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
        let s = SSTable::new(id, flushed, copies, false, now, &t.parts.weights, &t.sizes);
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

    // ---------------------------------------------------------------- compaction

    fn compact(&mut self, t0: f64, t1: f64) {
        let dt = t1 - t0;
        let throughput = if self.config.compaction_throughput > 0.0 {
            self.config.compaction_throughput
        } else {
            f64::INFINITY
        };
        let mut budget = throughput * dt;
        let mut now = t0;
        let mut started = 0;
        loop {
            while self.jobs.len() < self.config.concurrent_compactors && started < 10_000 {
                if !self.start_next(now) {
                    break;
                }
                started += 1;
            }
            if self.jobs.is_empty() {
                break;
            }
            let k = self.jobs.len() as f64;
            let least = self
                .jobs
                .iter()
                .map(|j| j.bytes - j.done)
                .fold(f64::INFINITY, f64::min)
                .max(0.0);
            if least * k <= budget {
                budget -= least * k;
                now = (now + least * k / throughput).min(t1);
                for j in &mut self.jobs {
                    j.done += least;
                }
                self.finish_done(now);
            } else {
                for j in &mut self.jobs {
                    j.done += budget / k;
                }
                break;
            }
        }
    }

    /// Starts the next compaction any table wants, tables taken in turn.
    fn start_next(&mut self, now: f64) -> bool {
        let n = self.tables.len();
        for k in 0..n {
            let i = (self.round_robin + k) % n;
            if let Some(plan) = self.plan_for(i, now) {
                self.round_robin = (i + 1) % n;
                self.start(i, plan, now);
                return true;
            }
        }
        false
    }

    fn plan_for(&self, i: usize, now: f64) -> Option<Plan> {
        let t = &self.tables[i];
        let busy: Vec<u32> = t
            .sstables
            .iter()
            .filter(|s| s.compacting)
            .map(|s| s.level)
            .chain(
                self.jobs
                    .iter()
                    .filter(|j| j.table == i)
                    .flat_map(|j| j.outputs.iter().map(|o| o.level)),
            )
            .collect();
        let input = compaction::strategies_input(t, now, &busy);
        compaction::plan(&input)
    }

    fn start(&mut self, i: usize, plan: Plan, now: f64) {
        let t = &mut self.tables[i];
        let weights = t.parts.weights.clone();
        let mut ids = Vec::new();
        for (id, take) in &plan.inputs {
            let Some(pos) = t.sstables.iter().position(|s| s.id == *id) else {
                continue;
            };
            let id = if *take < t.sstables[pos].copies - 0.5 {
                let new_id = t.new_id();
                let taken = t.sstables[pos].split_copies(*take, new_id, &weights, &t.sizes);
                t.sstables.push(taken);
                new_id
            } else {
                *id
            };
            ids.push(id);
        }
        if let Some(promotion) = &plan.promote {
            ids = split_for_promotion(t, &ids, &promotion.pidxs, &weights);
            if let Some(c) = t.lcs_cursor.get_mut(promotion.from as usize) {
                *c = promotion.cursor;
            }
        }
        for s in t.sstables.iter_mut().filter(|s| ids.contains(&s.id)) {
            s.compacting = true;
        }
        let inputs: Vec<&SSTable> = t.sstables.iter().filter(|s| ids.contains(&s.id)).collect();
        let others: Vec<&SSTable> = t.sstables.iter().filter(|s| !ids.contains(&s.id)).collect();
        let gc_before = now - t.gc_grace;
        let memtable_min = t
            .memtable
            .parts
            .values()
            .map(Part::t_min)
            .fold(f64::INFINITY, f64::min);
        let others_min = others
            .iter()
            .map(|s| s.stats.min_ts)
            .fold(memtable_min, f64::min);
        // Fully expired inputs are dropped without being rewritten (CASSANDRA.md 5.4).
        let expired = merge::fully_expired(&inputs, others_min, gc_before);
        let live: Vec<&SSTable> = inputs
            .iter()
            .copied()
            .filter(|s| !expired.contains(&s.id))
            .collect();
        // The purge evaluator per partition: the oldest timestamp among the sstables outside the
        // compaction that hold it, and the memtable (CASSANDRA.md 6.3).
        let mut oldest_outside = vec![f64::INFINITY; weights.len()];
        for s in &others {
            for p in &s.parts {
                let o = &mut oldest_outside[p.pidx as usize];
                *o = o.min(s.stats.min_ts);
            }
        }
        for p in t.memtable.parts.values() {
            let o = &mut oldest_outside[p.pidx as usize];
            *o = o.min(p.t_min());
        }
        let max_purgeable = |pidx: u32| oldest_outside[pidx as usize];
        let cx = MergeContext {
            now,
            gc_before,
            max_purgeable: &max_purgeable,
            repurge_expired: t.repurge_expired,
            sizes: &t.sizes,
        };
        let parts = merge::merge(&live, &cx);
        let bytes: f64 = live.iter().map(|s| s.stats.bytes).sum::<f64>() * t.compression_ratio;
        let output = build_output(t, &plan, parts, now, &weights);
        let outputs: Vec<SSTable> = output.into_iter().collect();
        self.jobs.push(Job {
            table: i,
            inputs: ids,
            outputs,
            bytes,
            done: 0.0,
            merges: plan.merges,
            why: plan.why,
        });
    }

    fn finish_done(&mut self, now: f64) {
        let mut k = 0;
        while k < self.jobs.len() {
            if self.jobs[k].done + 1e-6 >= self.jobs[k].bytes {
                let job = self.jobs.remove(k);
                self.finish(job, now);
            } else {
                k += 1;
            }
        }
    }

    fn finish(&mut self, job: Job, now: f64) {
        let t = &mut self.tables[job.table];
        let touched: Vec<u32> = t
            .sstables
            .iter()
            .filter(|s| job.inputs.contains(&s.id))
            .flat_map(|s| s.parts.iter().map(|p| p.pidx))
            .collect();
        for pidx in touched {
            t.touch(pidx);
        }
        t.sstables.retain(|s| !job.inputs.contains(&s.id));
        for mut out in job.outputs {
            out.created_s = now;
            note_partition_size(t, &out, now);
            t.sstables.push(out);
        }
        if t.params.strategy == Strategy::Lcs {
            coalesce_levels(t);
        }
        let _ = job.why;
        t.since_sample.compactions += job.merges;
        t.total.compactions += job.merges;
        t.since_sample.bytes_compacted += job.bytes;
        t.total.bytes_compacted += job.bytes;
    }

    /// TWCS and UCS drop fully expired sstables every expired_sstable_check_frequency_seconds
    /// (CASSANDRA.md 5.4, 5.5).
    fn drop_expired(&mut self, now: f64) {
        for t in &mut self.tables {
            if !matches!(t.params.strategy, Strategy::Twcs | Strategy::Ucs)
                || now < t.next_expired_check
            {
                continue;
            }
            t.next_expired_check = now + t.params.expired_check_s;
            let gc_before = now - t.gc_grace;
            let memtable_min = t
                .memtable
                .parts
                .values()
                .map(Part::t_min)
                .fold(f64::INFINITY, f64::min);
            let others_min = t
                .sstables
                .iter()
                .filter(|s| s.compacting)
                .map(|s| s.stats.min_ts)
                .fold(memtable_min, f64::min);
            let candidates: Vec<&SSTable> = t.sstables.iter().filter(|s| !s.compacting).collect();
            let dropped = merge::fully_expired(&candidates, others_min, gc_before);
            if dropped.is_empty() {
                continue;
            }
            let copies: f64 = t
                .sstables
                .iter()
                .filter(|s| dropped.contains(&s.id))
                .map(|s| s.copies)
                .sum();
            let touched: Vec<u32> = t
                .sstables
                .iter()
                .filter(|s| dropped.contains(&s.id))
                .flat_map(|s| s.parts.iter().map(|p| p.pidx))
                .collect();
            for pidx in touched {
                t.touch(pidx);
            }
            t.sstables.retain(|s| !dropped.contains(&s.id));
            t.since_sample.expired_dropped += copies;
            t.total.expired_dropped += copies;
        }
    }

    // ---------------------------------------------------------------- samples

    /// Reads and statistics at `now`.
    pub fn sample(&mut self, now: f64) {
        self.hot_bytes = 0.0;
        let first_sample = self.samples.len();
        let first_reads = self.query_reads.len();
        for i in 0..self.tables.len() {
            let sample = self.sample_table(i, now);
            self.samples.push(sample);
        }
        self.latencies(now, first_sample, first_reads);
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
        let page_cache_hit = if hot > 0.0 {
            (config.page_cache_bytes / hot).min(1.0)
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
        };
        // Service times without jitter, per query, and the read stage's load from all of them.
        let mut per_query: Vec<QueryServices> = Vec::new();
        let (mut lambda, mut busy, mut cpu_busy) = (0.0, 0.0, 0.0);
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
                * (2.33 * model.jitter_sigma).exp()
                + wait;
            let pause = 1.0 / (1.0 - model.gc_pause_share).max(0.05);
            let mut lat = Vec::with_capacity(services.len());
            for (service, failed) in &services {
                if *failed {
                    continue; // A failed read is a failure, not a latency.
                }
                let mut l =
                    latency::coordinate(model, &fanout, retry_after, &mut self.rng, |rng| {
                        (service * latency::jitter(model, rng) + wait) * pause
                    });
                if lwt {
                    l += latency::coordinate(model, &fanout, f64::INFINITY, &mut self.rng, |rng| {
                        prepare * latency::jitter(model, rng)
                    });
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
                                    &mut self.rng,
                                    |rng| service * latency::jitter(model, rng) + wait,
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
        for (k, s) in self.samples[first_sample..].iter_mut().enumerate() {
            s.read_latency = latency::percentiles(&table_reads[k]);
            s.write_latency = latency::percentiles(&table_writes[k]);
            s.read_stage_utilisation = utilisation;
            s.cpu_utilisation = cpu_load;
            s.overloaded = overloaded[k];
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
            order: read::read_order(t),
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
        s.live_rows_per_read = Percentiles::of(&values(|w| w.live_rows));
        s.bloom_false_positives_per_read = if works.is_empty() {
            0.0
        } else {
            works.iter().map(|w| w.bloom_false_positives).sum::<f64>() / works.len() as f64
        };
        s.warned_reads = warned;
        s.failed_reads = failed;
        s.simulated_reads = works.len() as f64;
        s.flushes = t.since_sample.flushes;
        s.compactions = t.since_sample.compactions;
        s.bytes_compacted = t.since_sample.bytes_compacted;
        s.expired_sstables_dropped = t.since_sample.expired_dropped;
        s.compactions_running = self
            .jobs
            .iter()
            .filter(|j| j.table == i)
            .map(|j| j.merges)
            .sum();
        t.since_sample = Default::default();
        s
    }
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
fn bytes_per_cell(t: &TableSim) -> f64 {
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

fn note_partition_size(t: &mut TableSim, s: &SSTable, now: f64) {
    t.max_sstable_partition = t.max_sstable_partition.max(s.stats.max_partition_bytes);
    if s.stats.max_partition_bytes > crate::defaults::LARGE_PARTITION_WARN_BYTES
        && t.first_large_partition_s.is_none()
    {
        t.first_large_partition_s = Some(now);
    }
}

/// Splits the promoted level's and the next level's records to the moving partitions; returns the
/// ids of the records that take part.
fn split_for_promotion(t: &mut TableSim, ids: &[u64], pidxs: &[u32], weights: &[f64]) -> Vec<u64> {
    let mut out = Vec::new();
    for &id in ids {
        let Some(pos) = t.sstables.iter().position(|s| s.id == id) else {
            continue;
        };
        let (moving, rest): (Vec<Part>, Vec<Part>) = std::mem::take(&mut t.sstables[pos].parts)
            .into_iter()
            .partition(|p| pidxs.binary_search(&p.pidx).is_ok());
        let total = t.sstables[pos].stats.bytes.max(1.0);
        let copies = t.sstables[pos].copies;
        t.sstables[pos].parts = rest;
        t.sstables[pos].refresh(weights, &t.sizes);
        let moved_share = 1.0 - t.sstables[pos].stats.bytes / total;
        t.sstables[pos].copies = (copies * (1.0 - moved_share)).max(1.0);
        if moving.is_empty() {
            continue;
        }
        let new_id = t.new_id();
        let level = t.sstables[pos].level;
        let created = t.sstables[pos].created_s;
        let mut s = SSTable::new(
            new_id,
            moving,
            (copies * moved_share).max(1.0),
            true,
            created,
            weights,
            &t.sizes,
        );
        s.level = level;
        t.sstables.push(s);
        out.push(new_id);
        if t.sstables[pos].parts.is_empty() {
            t.sstables.remove(pos);
        }
    }
    out
}

fn build_output(
    t: &mut TableSim,
    plan: &Plan,
    parts: Vec<Part>,
    now: f64,
    weights: &[f64],
) -> Option<SSTable> {
    if parts.is_empty() {
        return None;
    }
    let id = t.new_id();
    let mut s = SSTable::new(id, parts, plan.merges, false, now, weights, &t.sizes);
    match plan.output {
        Output::Tier => {}
        Output::Level(level) => {
            s.level = level;
            s.disjoint = true;
            s.copies = (s.stats.bytes * t.compression_ratio / t.params.lcs_sstable_size)
                .ceil()
                .max(1.0);
            s.refresh(weights, &t.sizes);
        }
        Output::Shards(level) => {
            s.level = level;
            let shards = t.params.ucs_shards(s.stats.bytes * t.compression_ratio);
            s.copies = shards.max(1.0);
            s.disjoint = shards > 1.0;
            s.refresh(weights, &t.sizes);
        }
    }
    Some(s)
}

/// An LCS level is one record: outputs that join a level merge into it (their partitions differ).
fn coalesce_levels(t: &mut TableSim) {
    let levels: Vec<u32> = {
        let mut l: Vec<u32> = t
            .sstables
            .iter()
            .filter(|s| s.level > 0 && !s.compacting)
            .map(|s| s.level)
            .collect();
        l.sort_unstable();
        l.dedup();
        l
    };
    for level in levels {
        let members: Vec<usize> = (0..t.sstables.len())
            .filter(|&k| t.sstables[k].level == level && !t.sstables[k].compacting)
            .collect();
        if members.len() < 2 {
            continue;
        }
        let mut parts: Vec<Part> = Vec::new();
        let mut created = f64::INFINITY;
        for &k in members.iter().rev() {
            let s = t.sstables.remove(k);
            created = created.min(s.created_s);
            parts.extend(s.parts);
        }
        parts.sort_by_key(|p| p.pidx);
        let mut merged: Vec<Part> = Vec::with_capacity(parts.len());
        for p in parts {
            match merged.last_mut() {
                Some(last) if last.pidx == p.pidx => {
                    last.frags.extend(p.frags);
                    last.writes += p.writes;
                    last.pdel = match (last.pdel, p.pdel) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        (a, b) => a.or(b),
                    };
                    last.normalize();
                }
                _ => merged.push(p),
            }
        }
        let id = t.new_id();
        let mut s = SSTable::new(id, merged, 1.0, true, created, &t.parts.weights, &t.sizes);
        s.level = level;
        s.copies = (s.stats.bytes * t.compression_ratio / t.params.lcs_sstable_size)
            .ceil()
            .max(1.0);
        t.sstables.push(s);
    }
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
    let live: f64 = view::build(&sources, now, now - t.gc_grace, None)
        .pieces
        .iter()
        .map(|p| p.tally(&t.sizes).live)
        .sum();
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
        for p in &s.parts {
            has_data[p.pidx as usize] = true;
        }
    }
    let present: Vec<u32> = (0..weights.len() as u32)
        .filter(|&i| has_data[i as usize])
        .collect();
    let total_weight: f64 = present.iter().map(|&p| weights[p as usize]).sum();
    let stride = present.len().div_ceil(limit.max(1)).max(1);
    let chosen: Vec<u32> = present.iter().copied().step_by(stride).collect();
    let chosen_weight: f64 = chosen.iter().map(|&p| weights[p as usize]).sum();
    let mut bytes = Vec::with_capacity(chosen.len());
    let mut rows = Vec::with_capacity(chosen.len());
    let cells_per_row = cells_per_row(t);
    let mut live_total = 0.0;
    let mut updates = Vec::with_capacity(chosen.len());
    for &pidx in &chosen {
        let st = part_stats(t, pidx, now);
        updates.push((pidx, st));
        let w = weights[pidx as usize];
        bytes.push((st.bytes, w));
        rows.push((st.live.round(), w));
        live_total += w * st.live;
    }
    let scale = if chosen_weight > 0.0 {
        total_weight / chosen_weight
    } else {
        0.0
    };
    let mut tombstones = Tombstones::default();
    let mut disk = 0.0;
    let mut sstables = 0.0;
    for s in &t.sstables {
        tombstones.add(&s.stats.tombstones_at(now));
        disk += s.stats.bytes * t.compression_ratio;
        sstables += s.copies;
    }
    let memtable_parts: Vec<Part> = t.memtable.parts.values().cloned().collect();
    let mem = super::sstable::Stats::compute(&memtable_parts, 1.0, false, weights, &t.sizes);
    tombstones.add(&mem.tombstones_at(now));
    let cells: Vec<(f64, f64)> = rows
        .iter()
        .map(|(r, w)| ((r * cells_per_row).round(), *w))
        .collect();
    let sample = TableSample {
        partitions: total_weight,
        partition_bytes: Percentiles::weighted(&bytes),
        partition_rows: Percentiles::weighted(&rows),
        partition_bytes_levels: crate::metrics::levels(&bytes),
        partition_cells_levels: crate::metrics::levels(&cells),
        live_rows: live_total * scale,
        tombstones,
        sstables,
        disk_bytes: disk,
        memtable_bytes: mem.bytes,
        memtable_heap_bytes: t.memtable.heap,
        ..TableSample::default()
    };
    (sample, updates)
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
