//! One table on one node: its tracked partitions, the statements that write it (with what each
//! row stores), its memtable and sstables, and the writes of one engine step (Poisson arrivals per
//! tracked partition, DESIGN.md 3). Flushing and compaction scheduling live in `node.rs`, reads in
//! `read.rs`.

use std::collections::BTreeMap;

use rand::RngExt;
use rand_pcg::Pcg64Mcg;

use super::arrivals::{independent, systematic, Owed};
use super::compaction::Params;
use super::frag::{Frag, Kept, Kind, Part, TableSizes};
use super::partitions::Partitions;
use super::sstable::SSTable;
use crate::workload::{ClusteringPattern, Deletion, KeyPopularity, ReadShape, Target, WriteKind};

/// The static row's clustering span ends here: it sits before every row, whose positions start
/// at 0 (the reference engine's `STATIC_ROW` is -1).
pub const STATIC_ROW_END: f64 = 0.0;
/// Timestamps are continuous here but distinct in Cassandra (microseconds): a step's writes end
/// this long before the next step's begin, so "older than" comparisons stay strict.
const STEP_END_GAP_S: f64 = 1e-3;

/// A statement's writes as they land on this table on this node.
#[derive(Debug, Clone)]
pub struct Writer {
    /// Index of the `[[workload]]` statement.
    pub op: usize,
    pub kind: WriteKind,
    pub deletion: Option<Deletion>,
    /// Rows per second written to this node (requests × rows × replicas per node).
    pub rate: f64,
    pub keys: KeyPopularity,
    pub zipf_norm: f64,
    pub pattern: ClusteringPattern,
    pub target: Target,
    /// Mean delay between a row's write and the delete or update aimed at it.
    pub delay_s: f64,
    pub ttl: f64,
    pub shape: u16,
    pub static_only: bool,
    /// Memtable heap per row (CASSANDRA.md 8.4) and commit log bytes per row.
    pub heap_per_row: f64,
    pub commitlog_per_row: f64,
    /// A delete of the oldest rows whose rate keeps up with the table's appends (a queue
    /// consumer as fast as its producers).
    pub keeps_up: bool,
    /// Replicas the coordinator waits for, and cells per row written.
    pub fanout: crate::latency::Fanout,
    pub cells: f64,
    /// A lightweight transaction: Paxos rounds before the write (`fanout` is then SERIAL's).
    pub lwt: bool,
}

impl Writer {
    /// Deletes and delayed updates aim at rows that exist already.
    pub fn targets_existing_rows(&self) -> bool {
        self.kind == WriteKind::Delete || (self.kind == WriteKind::Update && self.delay_s > 0.0)
    }
}

/// A SELECT as it reaches this table on this node.
#[derive(Debug, Clone)]
pub struct Reader {
    pub op: usize,
    pub shape: ReadShape,
    pub keys: KeyPopularity,
    pub zipf_norm: f64,
    /// Replica reads per second on this node.
    pub rate: f64,
    /// Coordinator requests per second, cluster-wide.
    pub requests: f64,
    pub fanout: crate::latency::Fanout,
    /// A SERIAL read (LWT): a Paxos prepare round before the read.
    pub lwt: bool,
    /// A names read of rows every write gives a liveness and the queried columns: it stops at
    /// the newest source holding the row (`stops_at_newest_row`).
    pub names_stop: bool,
}

/// The memtable of one table (CASSANDRA.md 8).
#[derive(Debug, Clone, Default)]
pub struct Memtable {
    pub parts: BTreeMap<u32, Part>,
    /// Heap the memtable pool accounts for it.
    pub heap: f64,
    /// Oldest write not yet flushed, or infinity when empty.
    pub oldest: f64,
    /// Heap written during the current step (for the flush split).
    pub step_heap: f64,
    /// The current step's writes by partition: `(partition, rows, new to the memtable)`, so a
    /// step with several flushes charges a partition's overhead to every memtable it enters.
    pub step_touches: Vec<(u32, f64, bool)>,
}

impl Memtable {
    pub fn new() -> Memtable {
        Memtable {
            oldest: f64::INFINITY,
            ..Memtable::default()
        }
    }

    /// The oldest write timestamp it holds, infinity when empty.
    pub fn t_min(&self) -> f64 {
        self.parts
            .values()
            .map(Part::t_min)
            .fold(f64::INFINITY, f64::min)
    }

    pub fn min_ts(&self, pidx: u32) -> f64 {
        self.parts
            .get(&pidx)
            .map(Part::t_min)
            .unwrap_or(f64::INFINITY)
    }

    /// Serialized bytes of what it holds.
    pub fn bytes(&self, sizes: &TableSizes, weights: &[f64]) -> f64 {
        self.parts
            .values()
            .map(|p| weights[p.pidx as usize] * p.bytes(sizes))
            .sum()
    }
}

/// Counters between samples and over the run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    pub flushes: f64,
    /// Flushes the memtable pool's cleanup threshold forced (not the commit log or a period).
    pub pool_flushes: f64,
    pub compactions: f64,
    pub bytes_compacted: f64,
    pub expired_dropped: f64,
}

#[derive(Debug, Clone)]
pub struct TableSim {
    pub name: String,
    pub parts: Partitions,
    pub sizes: TableSizes,
    pub writers: Vec<Writer>,
    pub readers: Vec<Reader>,
    pub gc_grace: f64,
    pub params: Params,
    pub compression_ratio: f64,
    pub bloom_fp: f64,
    pub flush_period_s: Option<f64>,
    /// 4.1+ purges an expired cell by its write time in the purge that rewrites it, at read and
    /// in compaction (CASSANDRA.md 6.2.3, `frag::lapsed`).
    pub repurge_expired: bool,
    pub heap_per_partition: f64,
    /// Clustering population draw for new partitions: `(median, sigma)` of a lognormal or fixed.
    pub population: Option<crate::distribution::Distribution>,
    pub memtable: Memtable,
    pub sstables: Vec<SSTable>,
    pub next_id: u64,
    pub lcs_cursor: Vec<u32>,
    pub next_expired_check: f64,
    /// Average flush size (UCS's m), bytes per sstable.
    pub flush_bytes: f64,
    pub since_sample: Counters,
    pub total: Counters,
    /// Largest partition written into one sstable so far (the large-partition warning).
    pub max_sstable_partition: f64,
    pub first_large_partition_s: Option<f64>,
    /// Per tracked partition, a counter bumped whenever its merged content may change (a write,
    /// a compaction, a dropped sstable); flushes move content without changing it.
    pub pversion: Vec<u32>,
    /// Draws each new partition's clustering population: a stream of its own, so the same seed
    /// gives the same partitions whatever the writes drew (the reference engine draws the same).
    pub population_rng: Pcg64Mcg,
    /// When the run ends: a generation's writes stop then.
    pub end_s: f64,
    /// Compression chunk (or 4 KiB page when uncompressed) a read decompresses whole.
    pub chunk_bytes: f64,
    /// Serialized bytes of one `IndexInfo` of its column index and its offset (`IndexInfo`'s
    /// serializer: the block's first and last clustering, offset and width as vints, the open
    /// marker flag; a 4-byte offset each in the index entry).
    pub column_index_entry_bytes: f64,
    /// Partition statistics of earlier samples, reused while the version holds and no TTL expires.
    pub stats_cache: std::collections::HashMap<u32, PartStats>,
    /// Per writer, by the index of a sampled stratum's first tracked partition, what its draws
    /// owe (`arrivals::systematic`).
    pub owed: Vec<Vec<Owed>>,
}

/// A tracked partition's merged statistics, as of `version`.
#[derive(Debug, Clone, Copy)]
pub struct PartStats {
    pub version: u32,
    /// The first time a TTL in it expires after the sample that computed it.
    pub valid_until: f64,
    pub live: f64,
    pub bytes: f64,
}

impl TableSim {
    /// The time a read or a statistic at `now` sees the table's rows at.
    pub fn clock(&self, now: f64) -> super::view::Clock {
        super::view::Clock::new(now, self.gc_grace, self.repurge_expired)
    }

    pub fn new_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Creates the partitions whose time bucket has begun.
    pub fn advance_partitions(&mut self, now: f64) {
        let population = self.population;
        let rng = &mut self.population_rng;
        let (parts, writers) = (&mut self.parts, &self.writers);
        let layout = parts.layout.clone();
        let rates = |rank: f64| -> Vec<f64> {
            writers
                .iter()
                .map(|w| w.rate * layout.share(rank, w.keys, w.zipf_norm))
                .collect()
        };
        parts.advance(now, self.end_s, rates, || draw_population(population, rng));
        let n = self.parts.tracked.len();
        self.pversion.resize(n, 0);
        self.owed.resize(self.writers.len(), Vec::new());
        for o in &mut self.owed {
            o.resize(n, Owed::default());
        }
    }

    /// Marks a partition's merged content as changed.
    pub fn touch(&mut self, pidx: u32) {
        let v = &mut self.pversion[pidx as usize];
        *v = v.wrapping_add(1);
    }

    /// The writes of `[t0, t1)`: Poisson counts per tracked partition, turned into frags. Writes
    /// that create rows go first, so deletes aimed a delay back can find the rows of this step.
    pub fn write_step(&mut self, t0: f64, t1: f64, rng: &mut Pcg64Mcg) {
        let dt = t1 - t0;
        let active: Vec<usize> = self.parts.active(t0).collect();
        let keep = self
            .writers
            .iter()
            .map(|w| w.delay_s * 10.0)
            .fold(0.0, f64::max)
            + 2.0 * dt;
        for targeted in [false, true] {
            for wi in 0..self.writers.len() {
                let w = self.writers[wi].clone();
                if w.targets_existing_rows() != targeted {
                    continue;
                }
                for (i, n) in self.arrivals(wi, &active, (t0, t1), rng) {
                    self.apply(&w, i, n, (t0, t1), rng);
                }
            }
            if !targeted {
                for &i in &active {
                    self.parts.tracked[i].remember(t1, keep);
                }
            }
        }
    }

    /// Rows of writer `wi` per active partition in `[t0, t1)`: a partition's first write where it
    /// lands (see `Tracked::first_s`), and a Poisson count each after it.
    fn arrivals(
        &mut self,
        wi: usize,
        active: &[usize],
        (t0, t1): (f64, f64),
        rng: &mut Pcg64Mcg,
    ) -> Vec<(usize, f64)> {
        let mut out = self.poisson_arrivals(wi, active, (t0, t1), rng);
        let tracked = &self.parts.tracked;
        let firsts = active
            .iter()
            .filter(|&&i| tracked[i].first_write_in(t0, t1) && tracked[i].first_writer == wi);
        for &i in firsts {
            match out.binary_search_by_key(&i, |a| a.0) {
                Ok(k) => out[k].1 += 1.0,
                Err(k) => out.insert(k, (i, 1.0)),
            }
        }
        out
    }

    /// The Poisson part of [`TableSim::arrivals`], by partition index: the members of a sampled
    /// stratum drawn together (`arrivals::systematic`), partitions tracked alone each on its own.
    fn poisson_arrivals(
        &mut self,
        wi: usize,
        active: &[usize],
        (t0, t1): (f64, f64),
        rng: &mut Pcg64Mcg,
    ) -> Vec<(usize, f64)> {
        let w = &self.writers[wi];
        let tracked = &self.parts.tracked;
        let drawn: Vec<(usize, f64)> = active
            .iter()
            .map(|&i| {
                let share = self.parts.share(i, w.keys, w.zipf_norm);
                (i, w.rate * tracked[i].exposure(t0, t1) * share)
            })
            .collect();
        let mut out = Vec::new();
        for run in drawn.chunk_by(|a, b| tracked[a.0].stratum == tracked[b.0].stratum) {
            match tracked[run[0].0].stratum {
                Some(head) => {
                    let owed = &mut self.owed[wi][head as usize];
                    out.extend(systematic(run, &self.parts.weights, owed, rng));
                }
                None => out.extend(independent(run, rng)),
            }
        }
        out
    }

    /// `n` rows of writer `w` on tracked partition `i` during `[t0, t1)`.
    fn apply(&mut self, w: &Writer, i: usize, n: f64, (t0, t1): (f64, f64), rng: &mut Pcg64Mcg) {
        let pidx = i as u32;
        let p = &mut self.parts.tracked[i];
        // Writes of a step happen before its end: the next step's writes are strictly newer.
        let t1 = t1 - STEP_END_GAP_S;
        // Only upserts (and deletes at random members) spread over the step by their writes.
        let targets =
            w.kind == WriteKind::Delete || (w.kind == WriteKind::Update && w.delay_s > 0.0);
        let (first, last) =
            if w.pattern == ClusteringPattern::Random || (targets && p.cursor <= 0.0) {
                first_and_last(rng, n, t0, t1)
            } else {
                (t0, t1)
            };
        let frag = |lo: f64, hi: f64, rows: f64, ordered: bool, kind: Kind| Frag {
            lo,
            hi,
            rows,
            t0,
            t1,
            ordered,
            kind,
            ttl: if kind == Kind::Rows { w.ttl } else { 0.0 },
            shape: w.shape,
            merged: false,
            kept: Kept::ALL,
        };
        // `n` writes at random members of a population: the rows they hit, each missed by a
        // write with chance 1 - 1/population (found by the agreement suite: the Poisson mean's
        // 1 - exp(-n / population) made one write into a one-row partition 0.63 of a row,
        // sessions written less than once a TTL -32 % live rows). They span the step's first
        // and last write, drawn: their expiry and what a deletion leaves are reckoned from them.
        let upsert = |population: f64, n: f64, kind: Kind| {
            let miss = 1.0 - 1.0 / population.max(1.0);
            let rows = population * (1.0 - miss.powf(n));
            Frag {
                t0: first,
                t1: last,
                ..frag(0.0, population, rows, false, kind)
            }
        };
        let mut pdel = None;
        let mut ranges = Vec::new();
        let frag = match (w.kind, w.deletion) {
            (WriteKind::Delete, Some(Deletion::Partition)) => {
                pdel = Some(0.5 * (t0 + t1));
                None
            }
            (WriteKind::Delete, Some(Deletion::Range))
                if w.pattern == ClusteringPattern::Increasing && p.cursor > 0.0 =>
            {
                ranges = range_deletes(p, w, n, t0, t1, &frag);
                None
            }
            (WriteKind::Delete, Some(deletion)) => {
                let kind = match deletion {
                    Deletion::Row => Kind::RowTombstones,
                    Deletion::Range => Kind::RangeTombstone,
                    _ => Kind::CellTombstones,
                };
                Some(target_rows(p, w, n, t1, kind, &frag, &upsert))
            }
            _ if w.static_only => Some(frag(-1.0, STATIC_ROW_END, 1.0, false, Kind::Rows)),
            (WriteKind::Update, _) if w.delay_s > 0.0 => {
                Some(target_rows(p, w, n, t1, Kind::Rows, &frag, &upsert))
            }
            _ => match w.pattern {
                ClusteringPattern::Increasing => {
                    let lo = p.cursor;
                    p.cursor += n;
                    Some(frag(lo, lo + n, n, true, Kind::Rows))
                }
                ClusteringPattern::Random => {
                    p.upserts += n;
                    Some(upsert(p.population, n, Kind::Rows))
                }
            },
        };
        let is_new = !self.memtable.parts.contains_key(&pidx);
        self.memtable.step_touches.push((pidx, n, is_new));
        let part = self
            .memtable
            .parts
            .entry(pidx)
            .or_insert_with(|| Part::new(pidx));
        part.writes += n;
        if let Some(d) = pdel {
            part.pdel = Some(part.pdel.map_or(d, |x: f64| x.max(d)));
        }
        for f in frag.into_iter().chain(ranges) {
            if f.rows > 0.0 || f.kind == Kind::RangeTombstone {
                part.push(f);
            }
        }
        self.touch(pidx);
        let weight = self.parts.weights[i];
        let heap =
            weight * (n * w.heap_per_row + if is_new { self.heap_per_partition } else { 0.0 });
        self.memtable.heap += heap;
        self.memtable.step_heap += heap;
        self.memtable.oldest = self.memtable.oldest.min(t0);
    }
}

/// The first and the last of `n` writes at uniform times in `[t0, t1]`, drawn: a tracked partition
/// is one real partition's history, whose writes fall somewhere in the step. Found by the
/// agreement suite: one write placed at the step's middle expired a whole step at once, on the
/// same side of every sample when the TTL is a step and a half (sessions written less than once
/// a TTL at 240-second steps: -5 % live rows); at a random time, each expires on its own.
fn first_and_last(rng: &mut Pcg64Mcg, n: f64, t0: f64, t1: f64) -> (f64, f64) {
    let dt = t1 - t0;
    if n < 1.5 {
        let t = t0 + dt * rng.random::<f64>();
        return (t, t);
    }
    // The minimum of n uniforms, then the maximum of the other n - 1 above it.
    let first = t0 + dt * (1.0 - rng.random::<f64>().powf(1.0 / n));
    let last = first + (t1 - first) * rng.random::<f64>().powf(1.0 / (n - 1.0));
    (first, last)
}

/// The rows a delete (or a delayed update) hits: the oldest not yet hit, the newest, or random
/// ones among rows written at least the delay ago (DESIGN.md 2, `target` and `delay`).
fn target_rows(
    p: &mut super::partitions::Tracked,
    w: &Writer,
    n: f64,
    t1: f64,
    kind: Kind,
    frag: &dyn Fn(f64, f64, f64, bool, Kind) -> Frag,
    upsert: &dyn Fn(f64, f64, Kind) -> Frag,
) -> Frag {
    if w.pattern == ClusteringPattern::Random || p.cursor <= 0.0 {
        // Upserted populations have no age order: deletes hit random members.
        let population = if p.cursor > 0.0 {
            p.cursor
        } else {
            p.population
        };
        return upsert(population.max(1.0), n, kind);
    }
    let ready = p.cursor_at(t1 - w.delay_s).max(0.0);
    match (w.target, kind) {
        (_, Kind::RangeTombstone) => {
            // A range delete of everything older than the delay: one range tombstone.
            let lo = p.head.min(ready);
            p.head = ready;
            frag(lo, ready.max(lo + 1e-9), 0.0, false, kind)
        }
        (Target::Oldest, _) => {
            let lo = p.head;
            // A consumer at least as fast as its producers deletes every row once it is due: the
            // queue stays a delay long. A slower one deletes what it can; deletes whose rows are
            // not due yet wait for them (`Tracked::debt`), up to ten steps' worth.
            let n = if w.keeps_up { n.max(ready - lo) } else { n };
            let wanted = n + p.debt;
            let take = wanted.min((ready - lo).max(0.0));
            p.debt = (wanted - take).min(10.0 * n);
            p.head = lo + take;
            after_delay(p, w, frag(lo, lo + take, take, true, kind))
        }
        (Target::Newest, _) => {
            let take = n.min(ready - p.head.min(ready));
            after_delay(p, w, frag(ready - take, ready, take, true, kind))
        }
        (Target::Random, _) => {
            // Random rows among those still there: not yet deleted from the head.
            let lo = p.head.min(ready);
            let take = n.min(ready - lo);
            frag(lo, ready.max(lo + 1.0), take, false, kind)
        }
    }
}

/// Most range tombstones one partition gets from one statement in one step; more deletes than
/// that share them (each one's markers still count on reads).
const MAX_RANGES_PER_STEP: f64 = 16.0;

/// `n` range deletes of the rows written at least the delay ago, spread over the step: each
/// covers from where the previous one stopped to what was due at its time (found by the agreement
/// suite: one range at the step's end cut every partition back to the delay, -75 % live rows, and
/// stored one tombstone where Cassandra stores n).
fn range_deletes(
    p: &mut super::partitions::Tracked,
    w: &Writer,
    n: f64,
    t0: f64,
    t1: f64,
    frag: &dyn Fn(f64, f64, f64, bool, Kind) -> Frag,
) -> Vec<Frag> {
    let k = n.round().clamp(1.0, MAX_RANGES_PER_STEP);
    (1..=k as usize)
        .map(|j| {
            let at = t0 + (t1 - t0) * j as f64 / (k + 1.0);
            let ready = p.cursor_at(at - w.delay_s).max(0.0);
            let lo = p.head.min(ready);
            p.head = ready.max(p.head);
            Frag {
                t0: at,
                t1: at,
                ..frag(lo, ready.max(lo + 1e-9), 0.0, false, Kind::RangeTombstone)
            }
        })
        .collect()
}

/// A targeted write happens a delay after the rows it hits were written: its times follow theirs,
/// so it is newer than they are wherever they meet.
fn after_delay(p: &super::partitions::Tracked, w: &Writer, f: Frag) -> Frag {
    let t0 = (p.time_of(f.lo) + w.delay_s).clamp(f.t0, f.t1);
    let t1 = (p.time_of(f.hi) + w.delay_s).clamp(t0, f.t1);
    Frag { t0, t1, ..f }
}

/// A new partition's clustering population (rows it can hold): a draw from the table's
/// `rows_per_partition`, at least one; one row without it. Both engines draw it so.
pub fn draw_population(
    population: Option<crate::distribution::Distribution>,
    rng: &mut Pcg64Mcg,
) -> f64 {
    population.map_or(1.0, |d| sample_distribution(&d, rng).round().max(1.0))
}

/// One draw from a scenario distribution (clustering populations).
pub fn sample_distribution(d: &crate::distribution::Distribution, rng: &mut Pcg64Mcg) -> f64 {
    use crate::distribution::Distribution as D;
    let u: f64 = rng.random::<f64>().clamp(1e-12, 1.0 - 1e-12);
    match *d {
        D::Fixed { value } => value,
        D::Uniform { min, max } => min + (max - min) * u,
        D::Exp { mean } => -mean * (1.0 - u).ln(),
        _ => d.quantile(u),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_steps_first_and_last_writes_fall_where_n_uniform_ones_do() {
        let mut rng = Pcg64Mcg::seed_from_u64(9);
        for n in [1.0, 2.0, 5.0] {
            let draws: Vec<(f64, f64)> = (0..20_000)
                .map(|_| first_and_last(&mut rng, n, 0.0, 600.0))
                .collect();
            assert!(draws
                .iter()
                .all(|&(a, b)| (0.0..=600.0).contains(&a) && a <= b && b <= 600.0));
            let mean = |f: fn(&(f64, f64)) -> f64| draws.iter().map(f).sum::<f64>() / 20_000.0;
            // The minimum of n uniforms lies a (n + 1)th in, on average; the maximum as far
            // from the end.
            let (first, last) = (mean(|d| d.0), mean(|d| d.1));
            assert!(
                (first - 600.0 / (n + 1.0)).abs() < 5.0,
                "n {n}: first {first}"
            );
            assert!(
                (last - 600.0 * n / (n + 1.0)).abs() < 5.0,
                "n {n}: last {last}"
            );
        }
    }
}
