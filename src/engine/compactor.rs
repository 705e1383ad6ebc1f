//! The compaction executor of a node (CASSANDRA.md 5.6): each step, strategies' plans start as jobs
//! while `concurrent_compactors` allow; `compaction_throughput` is shared by the running jobs; a
//! job's output is computed when it starts (gc_before fixed then, CASSANDRA.md 6.3) and replaces
//! its inputs once its bytes are processed; TWCS and UCS drop fully expired sstables every
//! expired_sstable_check_frequency_seconds.

use super::compaction::merge::{self, MergeContext};
use super::compaction::{self, Output, Plan};
use super::frag::Part;
use super::node::{note_partition_size, NodeSim};
use super::sstable::SSTable;
use super::table::TableSim;
use crate::schema::options::Strategy;

/// A compaction in progress: its output was computed when it started (gc_before is fixed then,
/// CASSANDRA.md 6.3) and replaces its inputs when its bytes have been processed.
#[derive(Debug, Clone)]
pub struct Job {
    pub table: usize,
    inputs: Vec<u64>,
    outputs: Vec<SSTable>,
    bytes: f64,
    done: f64,
    pub merges: f64,
    /// Disk the outputs take once written (compressed).
    out_bytes: f64,
}

impl NodeSim {
    pub(super) fn compact(&mut self, t0: f64, t1: f64) {
        let dt = t1 - t0;
        let throughput = if self.config.compaction_throughput > 0.0 {
            self.config.compaction_throughput
        } else {
            f64::INFINITY
        };
        // Unthrottled, a zero-length step still has all the budget it needs (∞ × 0 is NaN).
        let mut budget = if throughput.is_finite() {
            throughput * dt
        } else {
            f64::INFINITY
        };
        // Unthrottled, compactions complete as they start, after the step's flushes: at its end,
        // where gc_before and the TWCS windows are those of the flushes' time (found by the
        // agreement suite: planned at the step's start, closed windows were compacted a step
        // late and tombstones purged a step late).
        let mut now = if throughput.is_finite() { t0 } else { t1 };
        let mut started = 0;
        // Unthrottled, each compaction completes before the next is planned, so the next sees
        // its output, as when compaction keeps up with every flush.
        let slots = if throughput.is_finite() {
            self.config.concurrent_compactors
        } else {
            1
        };
        loop {
            while self.jobs.len() < slots && started < 10_000 {
                if !self.start_next(now) {
                    break;
                }
                started += 1;
            }
            if self.jobs.is_empty() {
                // Nothing to do now: wait, within the step, for the next flush's sstable
                // (unthrottled, `now` is already the step's end, where every flush is on disk).
                let next = throughput.is_finite().then(|| self.next_ready(now, t1));
                let Some(Some(r)) = next else { break };
                budget -= (r - now) * throughput;
                now = r;
                continue;
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

    /// The first time after `now`, and by `t1`, that a flushed sstable is on disk.
    fn next_ready(&self, now: f64, t1: f64) -> Option<f64> {
        self.tables
            .iter()
            .flat_map(|t| t.sstables.iter())
            .map(|s| s.ready_s)
            .filter(|&r| r > now + 1e-9 && r <= t1 + 1e-9)
            .min_by(f64::total_cmp)
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
        let gradual = self.config.compaction_throughput <= 0.0;
        let input = compaction::strategies_input(t, now, &busy, gradual);
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
        let memtable_min = t.memtable.t_min();
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
        let oldest_outside = oldest_outside(&live, &others, &t.memtable);
        let max_purgeable = |pidx: u32| {
            oldest_outside
                .binary_search_by_key(&pidx, |o| o.0)
                .map_or(f64::INFINITY, |k| oldest_outside[k].1)
        };
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
        let out_bytes = outputs.iter().map(|o| o.stats.bytes).sum::<f64>() * t.compression_ratio;
        self.jobs.push(Job {
            table: i,
            inputs: ids,
            outputs,
            bytes,
            done: 0.0,
            merges: plan.merges,
            out_bytes,
        });
        self.peak_compacting_bytes = self.peak_compacting_bytes.max(self.compacting_bytes(None));
    }

    /// Disk the running compactions' outputs take when written, for `table` or all tables.
    pub fn compacting_bytes(&self, table: Option<usize>) -> f64 {
        self.jobs
            .iter()
            .filter(|j| table.is_none_or(|t| j.table == t))
            .map(|j| j.out_bytes)
            .sum()
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
            .flat_map(|s| s.pidxs().iter().copied())
            .collect();
        for pidx in touched {
            t.touch(pidx);
        }
        t.sstables.retain(|s| !job.inputs.contains(&s.id));
        for mut out in job.outputs {
            out.created_s = now;
            out.ready_s = now;
            note_partition_size(t, &out, now);
            t.sstables.push(out);
        }
        if t.params.strategy == Strategy::Lcs {
            coalesce_levels(t);
        }
        t.since_sample.compactions += job.merges;
        t.total.compactions += job.merges;
        t.since_sample.bytes_compacted += job.bytes;
        t.total.bytes_compacted += job.bytes;
    }

    /// TWCS and UCS drop fully expired sstables every expired_sstable_check_frequency_seconds
    /// (CASSANDRA.md 5.4, 5.5).
    pub(super) fn drop_expired(&mut self, now: f64) {
        for t in &mut self.tables {
            if !matches!(t.params.strategy, Strategy::Twcs | Strategy::Ucs)
                || now < t.next_expired_check
            {
                continue;
            }
            // The check runs on its own clock, every expired_sstable_check_frequency_seconds
            // from the start: steps split by samples must not make it drift later (found by the
            // agreement suite: drops came up to a step late).
            while t.next_expired_check <= now + 1e-9 {
                t.next_expired_check += t.params.expired_check_s;
            }
            let gc_before = now - t.gc_grace;
            // Most checks find nothing past gc_before: skip the candidates' walk.
            if !t
                .sstables
                .iter()
                .any(|s| !s.compacting && s.stats.max_ldt < gc_before)
            {
                continue;
            }
            let memtable_min = t.memtable.t_min();
            // Sstables being compacted count only while they hold a live cell (the overlapping
            // sstables' minimum in `getFullyExpiredSSTables`).
            let others_min = t
                .sstables
                .iter()
                .filter(|s| s.compacting && s.stats.max_ldt >= gc_before)
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
                .flat_map(|s| s.pidxs().iter().copied())
                .collect();
            for pidx in touched {
                t.touch(pidx);
            }
            t.sstables.retain(|s| !dropped.contains(&s.id));
            t.since_sample.expired_dropped += copies;
            t.total.expired_dropped += copies;
        }
    }
}

/// For each partition of the inputs (by index, sorted), the oldest timestamp among the sstables
/// outside the compaction that hold it and the memtable: the purge evaluator (CASSANDRA.md 6.3).
/// Only sstables whose partition range meets the inputs' are walked: a time-bucketed table's
/// other generations are skipped whole (R1 compacts ten thousand times against 200 records).
fn oldest_outside(
    inputs: &[&SSTable],
    others: &[&SSTable],
    memtable: &super::table::Memtable,
) -> Vec<(u32, f64)> {
    let mut oldest: Vec<(u32, f64)> = inputs
        .iter()
        .flat_map(|s| s.pidxs().iter().map(|&p| (p, f64::INFINITY)))
        .collect();
    oldest.sort_by_key(|o| o.0);
    oldest.dedup_by_key(|o| o.0);
    let (Some(first), Some(last)) = (oldest.first().map(|o| o.0), oldest.last().map(|o| o.0))
    else {
        return oldest;
    };
    for s in others {
        let (Some(&a), Some(&b)) = (s.pidxs().first(), s.pidxs().last()) else {
            continue;
        };
        if b < first || a > last {
            continue;
        }
        for o in oldest.iter_mut() {
            if s.part(o.0).is_some() {
                o.1 = o.1.min(s.stats.min_ts);
            }
        }
    }
    for o in oldest.iter_mut() {
        o.1 = o.1.min(memtable.min_ts(o.0));
    }
    oldest
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
            s.copies = level_sstables(&s, t, weights);
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
        s.copies = level_sstables(&s, t, &t.parts.weights);
        t.sstables.push(s);
    }
}

/// The sstables an LCS level's content makes (CASSANDRA.md 5.3): partitions packed in token order
/// into sstables of sstable_size_in_mb on disk; a partition is never split, so one larger than
/// that is an sstable of its own (found by the agreement suite: a wide partition under LCS).
fn level_sstables(s: &SSTable, t: &TableSim, weights: &[f64]) -> f64 {
    let size = t.params.lcs_sstable_size;
    let (mut wide, mut packed) = (0.0, 0.0);
    for part in &s.parts {
        let w = weights[part.pidx as usize];
        let bytes = part.bytes(&t.sizes) * t.compression_ratio;
        if bytes >= size {
            wide += w;
        } else {
            packed += w * bytes;
        }
    }
    (wide + (packed / size).ceil()).max(1.0)
}
