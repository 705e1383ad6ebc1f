//! The reference engine (issue 8): a plain, per-row implementation of the storage rules the
//! aggregated engine (`engine`) follows by runs and samples, to check it against. Every row, row
//! and cell deletion, range tombstone and partition deletion is kept with its write timestamp in
//! memtables and sstables (`data.rs`); statements write them one by one (`workload.rs`); flushes
//! (at the memtable pool's threshold and when the commit log is full), STCS and TWCS compactions
//! with the purge rule and its overlap check, TWCS's whole-sstable drops, single-sstable
//! tombstone compactions (`compaction.rs`), TTL expiry and the counting of reads (`read.rs`) are
//! applied by brute force: clear code over fast code.
//!
//! It runs one node of one datacenter, compaction unthrottled (`compaction_throughput = 0`) by
//! STCS, LCS or TWCS; time-bucketed partitions (writes to the bucket of their time, reads of the
//! current one); static rows; partition reads with or without LIMIT, point reads of one-row
//! partitions, and reads through a legacy secondary index (a partition read of the index table,
//! as the aggregated engine models it). [`supported`] refuses anything else (UCS, scans, slices,
//! deletes in bucketed tables, latest or sequential keys elsewhere), and scenarios too large to
//! hold row by row, with the estimated memory.

pub mod compaction;
pub mod compare;
pub mod data;
mod read;
pub mod workload;

use std::collections::{BTreeMap, VecDeque};

use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

use crate::engine::compaction::Params;
use crate::engine::frag::TableSizes;
use crate::engine::sstable::Tombstones;
use crate::engine::table::TableSim;
use crate::scenario::Scenario;
use crate::schema::options::Strategy;
use crate::workload::{KeyPopularity, WriteKind};
use compaction::RefSSTable;
use data::{EKind, RefPart};
use workload::{Action, PartState, RefWriter};

/// Bytes one kept entry costs the reference engine (the entry, its share of vectors and maps, and
/// the copies a merge holds at once).
const BYTES_PER_ENTRY: f64 = 100.0;
/// The most memory a reference run may take.
const MAX_BYTES: f64 = 4.0 * 1024.0 * 1024.0 * 1024.0;
/// Seconds per simulated step: writes are spread inside it, flushes and compactions follow it.
const STEP_S: f64 = 60.0;

/// A read statement as the reference engine runs it.
pub struct RefReader {
    pub limit: Option<f64>,
    pub reversed: bool,
    /// Cumulative key popularity.
    pub keys: Vec<f64>,
    /// Stops at the newest source holding the row (`engine::Reader::names_stop`).
    pub names_stop: bool,
}

/// One table on the reference node.
pub struct RefTable {
    pub name: String,
    /// Partitions per time bucket (all of them without buckets).
    pub entities: u32,
    /// Time bucket length when the partition key has one: bucket `g`'s partitions are numbered
    /// `g * entities ..`, and writes go to the bucket of their time.
    pub bucket_s: Option<f64>,
    /// Draws a new partition's clustering population, from the aggregated engine's stream for
    /// the table: where it tracks every partition, both engines hold the same populations.
    pub population: Option<crate::distribution::Distribution>,
    population_rng: Pcg64Mcg,
    pub gc_grace: f64,
    pub params: Params,
    pub repurge_expired: bool,
    pub sizes: TableSizes,
    pub heap_per_partition: f64,
    pub writers: Vec<RefWriter>,
    /// One per read statement; on a bucketed table
    /// reads go to the current bucket (`latest` keys), uniformly.
    pub readers: Vec<RefReader>,
    /// Per partition, by number; a bucket's partitions are added when it begins.
    pub states: Vec<PartState>,
    pub memtable: BTreeMap<u32, RefPart>,
    pub memtable_heap: f64,
    /// The oldest write the memtable holds (infinite when empty): the commit log keeps every
    /// segment from the one holding it.
    pub oldest_dirty: f64,
    pub sstables: Vec<RefSSTable>,
    pub next_id: u64,
    pub next_expired_check: f64,
    pub compression_ratio: f64,
    /// LCS: the last partition promoted from each level (round robin).
    pub lcs_cursor: Vec<Option<u32>>,
    /// Flushes since the last sample.
    pub flushes: f64,
}

/// What the reference engine measured of one table at one sample.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RefSample {
    pub t_s: f64,
    pub table: String,
    /// Distinct live rows, once every source is merged.
    pub live_rows: f64,
    /// Tombstones stored in the memtable and sstables, by kind, counted as the aggregated engine
    /// counts them (expired cells, deleted rows, range tombstones, partition deletions per
    /// source, cell tombstones).
    pub tombstones: Tombstones,
    pub sstables: f64,
    /// Flushes since the previous sample.
    pub flushes: f64,
    pub sstables_per_read: Vec<f64>,
    pub tombstones_per_read: Vec<f64>,
}

/// Why the reference engine cannot run a scenario, if it cannot.
pub fn supported(scenario: &Scenario) -> Result<(), String> {
    if scenario.cluster.datacenters.len() != 1 {
        return Err("the reference engine runs one datacenter".into());
    }
    let throughput = scenario.settings.number("compaction_throughput");
    if throughput != Some(0.0) {
        return Err("the reference engine runs compaction unthrottled: set settings.compaction_throughput = \"0MiB/s\"".into());
    }
    let share = &crate::cluster::nodes(scenario)[0];
    let node = crate::engine::build_node(scenario, share, scenario.seed, 0);
    let mut entries = 0.0;
    for t in &node.tables {
        table_supported(t)?;
        for w in &t.writers {
            // Entries kept at once: those written within the TTL (and gc_grace), or all.
            let kept = if w.ttl > 0.0 {
                (w.ttl + t.gc_grace).min(scenario.duration_s)
            } else {
                scenario.duration_s
            };
            entries += w.rate * kept;
        }
    }
    let bytes = entries * BYTES_PER_ENTRY;
    if bytes > MAX_BYTES {
        return Err(format!(
            "too large for the reference engine: about {} rows and tombstones kept, {} of memory (at most {}); shorten the duration or lower the rates",
            crate::units::format_count(entries),
            crate::units::format_bytes(bytes),
            crate::units::format_bytes(MAX_BYTES)
        ));
    }
    Ok(())
}

fn table_supported(t: &TableSim) -> Result<(), String> {
    let refuse = |what: &str| {
        Err(format!(
            "{}: the reference engine does not run {what}",
            t.name
        ))
    };
    match t.params.strategy {
        Strategy::Stcs | Strategy::Twcs | Strategy::Lcs => {}
        ref s => return refuse(&format!("{s:?} compaction (STCS, LCS and TWCS only)")),
    }
    let bucketed = t.parts.layout.bucket_s.is_some();
    if t.flush_period_s.is_some() {
        return refuse("memtable_flush_period_in_ms");
    }
    for w in &t.writers {
        if w.kind == WriteKind::Delete && w.deletion.is_none() {
            return refuse("this delete");
        }
        if !matches!(w.keys, KeyPopularity::Uniform | KeyPopularity::Zipf(_)) {
            return refuse("latest or sequential key popularity");
        }
        if bucketed && w.kind == WriteKind::Delete {
            return refuse("deletes in time-bucketed partitions");
        }
    }
    // A table of one row per partition (no clustering): a point read reads the partition.
    let single_row = matches!(
        t.population,
        None | Some(crate::distribution::Distribution::Fixed { value: 1.0 })
    ) && t
        .writers
        .iter()
        .all(|w| w.pattern != crate::workload::ClusteringPattern::Increasing);
    for r in &t.readers {
        let s = &r.shape;
        // A read through a legacy secondary index reads the index table's partition for the
        // value, as the aggregated engine models it: a partition read of that table.
        let scan = s.scan && !s.uses_index;
        if scan || s.slice || (s.point && !single_row) || s.partitions != 1.0 {
            return refuse(
                "scans, slices, point reads of wide partitions or multi-partition reads",
            );
        }
        let keys_ok = if bucketed {
            r.keys == KeyPopularity::Latest
        } else {
            matches!(r.keys, KeyPopularity::Uniform | KeyPopularity::Zipf(_))
        };
        if !keys_ok {
            return refuse(if bucketed {
                "reads of time-bucketed partitions other than the current bucket's (latest keys)"
            } else {
                "latest or sequential key popularity"
            });
        }
    }
    Ok(())
}

fn table(t: &TableSim) -> RefTable {
    let entities = t.parts.layout.entities.max(1.0) as u32;
    let mut tb = RefTable {
        name: t.name.clone(),
        entities,
        bucket_s: t.parts.layout.bucket_s,
        population: t.population,
        population_rng: t.population_rng.clone(),
        gc_grace: t.gc_grace,
        params: t.params.clone(),
        repurge_expired: t.repurge_expired,
        sizes: t.sizes.clone(),
        heap_per_partition: t.heap_per_partition,
        writers: t
            .writers
            .iter()
            .map(|w| RefWriter::from(w, entities))
            .collect(),
        readers: t
            .readers
            .iter()
            .map(|r| {
                let keys = workload::popularity(r.keys, entities);
                let limit = if r.shape.point {
                    Some(1.0)
                } else {
                    r.shape.limit
                };
                RefReader {
                    limit,
                    reversed: r.shape.reversed,
                    keys,
                    names_stop: r.names_stop,
                }
            })
            .collect(),
        states: Vec::new(),
        memtable: BTreeMap::new(),
        memtable_heap: 0.0,
        oldest_dirty: f64::INFINITY,
        sstables: Vec::new(),
        next_id: 0,
        next_expired_check: t.params.expired_check_s,
        compression_ratio: t.compression_ratio,
        lcs_cursor: Vec::new(),
        flushes: 0.0,
    };
    tb.open_bucket(0.0);
    tb
}

impl RefTable {
    /// The bucket holding time `t` (0 without buckets).
    fn bucket(&self, t: f64) -> u32 {
        self.bucket_s.map_or(0, |b| (t / b).floor().max(0.0) as u32)
    }

    /// Adds the partitions of every bucket begun by `t`, each with its clustering population.
    fn open_bucket(&mut self, t: f64) {
        let want = (self.bucket(t) as usize + 1) * self.entities as usize;
        while self.states.len() < want {
            let population =
                crate::engine::table::draw_population(self.population, &mut self.population_rng);
            self.states.push(PartState {
                population: population as u32,
                ..PartState::default()
            });
        }
    }

    /// Partition `entity` of the bucket holding `t`.
    fn partition(&self, entity: u32, t: f64) -> u32 {
        self.bucket(t) * self.entities + entity
    }
}

/// Runs the scenario row by row with `seed`: one sample per `sample_every` per table, and one at
/// the end, as the aggregated engine samples. `progress(done, total)` follows simulated time.
pub fn run(
    scenario: &Scenario,
    seed: u64,
    progress: &dyn Fn(f64, f64),
) -> Result<Vec<RefSample>, String> {
    supported(scenario)?;
    let share = &crate::cluster::nodes(scenario)[0];
    let node = crate::engine::build_node(scenario, share, seed, 0);
    let reads_per_sample = node.config.reads_per_sample;
    let mut rng = Pcg64Mcg::seed_from_u64(seed ^ 0x7265_6665_7265_6e63);
    let mut n = RefNode {
        tables: node.tables.iter().map(table).collect(),
        flush_threshold: node.config.flush_threshold,
        commitlog_total_space: node.config.commitlog_total_space,
        commitlog: VecDeque::new(),
        commitlog_bytes: 0.0,
        due: VecDeque::new(),
    };
    let mut out = Vec::new();
    let mut t = 0.0;
    let mut next_sample = scenario.sample_every_s;
    while t < scenario.duration_s - 1e-9 {
        let t1 = (t + STEP_S).min(scenario.duration_s).min(next_sample);
        n.write(t, t1, &mut rng);
        for tb in &mut n.tables {
            compaction::drop_expired(tb, t1);
            compact_all(tb, t1);
        }
        if t1 >= next_sample - 1e-9 || t1 >= scenario.duration_s - 1e-9 {
            for tb in &mut n.tables {
                out.push(sample(tb, t1, reads_per_sample, &mut rng));
                tb.flushes = 0.0;
            }
            next_sample += scenario.sample_every_s;
        }
        progress(t1, scenario.duration_s);
        t = t1;
    }
    Ok(out)
}

/// A row a consumer as fast as its producers deletes the delay after its write.
struct Due {
    at: f64,
    table: usize,
    writer: usize,
    pk: u32,
    ck: usize,
}

/// The reference node: its tables, the memtable pool's flush threshold, the commit log, and the
/// consumers' deletes to come (in time order: rows are appended in time order and the delay is
/// fixed).
struct RefNode {
    tables: Vec<RefTable>,
    flush_threshold: f64,
    commitlog_total_space: f64,
    /// Every mutation logged since the oldest write a memtable still holds, `(time, bytes)`:
    /// what the commit log's segments keep (CASSANDRA.md 8.2 item 3).
    commitlog: VecDeque<(f64, f64)>,
    commitlog_bytes: f64,
    due: VecDeque<Due>,
}

impl RefNode {
    /// The step's operations of every statement of every table, one by one in time order; the
    /// memtable pool is checked after each.
    fn write(&mut self, t0: f64, t1: f64, rng: &mut Pcg64Mcg) {
        let mut ops: Vec<(f64, usize, usize)> = Vec::new();
        for (ti, tb) in self.tables.iter().enumerate() {
            for (wi, w) in tb.writers.iter().enumerate() {
                if !w.keeps_up {
                    ops.extend(workload::arrivals(w.rate, t0, t1, rng).map(|ts| (ts, ti, wi)));
                }
            }
        }
        ops.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (ts, ti, wi) in ops {
            self.consume(ts);
            let tb = &mut self.tables[ti];
            tb.open_bucket(ts);
            let w = &tb.writers[wi];
            let pk = tb.partition(workload::pick(&w.cumulative, tb.entities, rng), ts);
            let Some(e) = workload::operation(w, &mut tb.states[pk as usize], ts, rng) else {
                continue;
            };
            let (heap, logged) = (w.heap_per_row, w.commitlog_per_row);
            let appended = matches!(w.action, Action::Write) && w.append;
            insert(tb, pk, e, heap);
            if appended {
                let ck = tb.states[pk as usize].appended.len() - 1;
                for (ci, c) in tb.writers.iter().enumerate() {
                    if c.keeps_up {
                        let at = ts + c.delay_s;
                        self.due.push_back(Due {
                            at,
                            table: ti,
                            writer: ci,
                            pk,
                            ck,
                        });
                    }
                }
            }
            self.log(ts, logged);
            self.pool(ts);
        }
        self.consume(t1);
    }

    /// The consumers' deletes due before `t`.
    fn consume(&mut self, t: f64) {
        while self.due.front().is_some_and(|d| d.at < t) {
            let d = self.due.pop_front().expect("a due delete");
            let tb = &mut self.tables[d.table];
            let w = &tb.writers[d.writer];
            let kind = match w.action {
                Action::Targeted(kind) => kind,
                _ => EKind::RowDel,
            };
            let e = data::Entry {
                kind,
                ttl: 0.0,
                ..data::Entry::row(d.ck as f64, d.at, 0.0, w.shape)
            };
            let (heap, logged) = (w.heap_per_row, w.commitlog_per_row);
            let st = &mut tb.states[d.pk as usize];
            st.head = st.head.max(d.ck + 1);
            insert(tb, d.pk, Ok(e), heap);
            self.log(d.at, logged);
            self.pool(d.at);
        }
    }

    /// Logs a mutation; while the commit log holds more than commitlog_total_space, the table
    /// holding its oldest write flushes, so that the oldest segments can go (CASSANDRA.md 8.2
    /// item 3). Found by the agreement suite: without it, a lightly written table (the
    /// registry's index) held its memtable for a day where the aggregated engine, which
    /// follows the rule, flushed it hours earlier.
    fn log(&mut self, now: f64, bytes: f64) {
        self.commitlog.push_back((now, bytes));
        self.commitlog_bytes += bytes;
        loop {
            let oldest = (0..self.tables.len())
                .map(|k| (k, self.tables[k].oldest_dirty))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            let Some((k, oldest)) = oldest else {
                break;
            };
            while self.commitlog.front().is_some_and(|e| e.0 < oldest) {
                let (_, b) = self.commitlog.pop_front().expect("a logged mutation");
                self.commitlog_bytes -= b;
            }
            if self.commitlog_bytes <= self.commitlog_total_space || !oldest.is_finite() {
                break;
            }
            flush(&mut self.tables[k], now);
            compact_all(&mut self.tables[k], now);
        }
    }

    /// The memtable pool (CASSANDRA.md 8.2): past its cleanup threshold, the largest memtable
    /// flushes, and compaction looks at the table at once (unthrottled, it completes at once).
    fn pool(&mut self, now: f64) {
        while self.tables.iter().map(|x| x.memtable_heap).sum::<f64>() > self.flush_threshold {
            let Some(k) = (0..self.tables.len()).max_by(|a, b| {
                self.tables[*a]
                    .memtable_heap
                    .total_cmp(&self.tables[*b].memtable_heap)
            }) else {
                break;
            };
            flush(&mut self.tables[k], now);
            compact_all(&mut self.tables[k], now);
        }
    }
}

/// Every compaction the table's strategy wants at `now`, one after the other.
fn compact_all(tb: &mut RefTable, now: f64) {
    while let Some(planned) = compaction::plan(tb, now) {
        compaction::compact(tb, &planned, now);
    }
}

fn insert(tb: &mut RefTable, pk: u32, e: Result<data::Entry, f64>, heap: f64) {
    tb.memtable_heap += heap;
    let ts = match &e {
        Ok(entry) => entry.ts,
        Err(pdel) => *pdel,
    };
    tb.oldest_dirty = tb.oldest_dirty.min(ts);
    if !tb.memtable.contains_key(&pk) {
        tb.memtable_heap += tb.heap_per_partition;
    }
    workload::add(tb.memtable.entry(pk).or_default(), e);
}

/// A flush: the memtable's partitions, each holding one version per row (a memtable merges
/// writes to the same row), become an sstable.
fn flush(tb: &mut RefTable, now: f64) {
    let parts = std::mem::take(&mut tb.memtable);
    tb.memtable_heap = 0.0;
    tb.oldest_dirty = f64::INFINITY;
    if parts.is_empty() {
        return;
    }
    let parts = parts
        .into_iter()
        .map(|(pk, p)| (pk, data::reconcile(&[&p])))
        .collect();
    tb.next_id += 1;
    tb.flushes += 1.0;
    let s = RefSSTable::new(tb.next_id, parts, &tb.sizes, now);
    tb.sstables.push(s);
}

/// The table's state, and `reads` simulated reads per read statement, at `now`.
fn sample(tb: &RefTable, now: f64, reads: usize, rng: &mut Pcg64Mcg) -> RefSample {
    let mut s = RefSample {
        t_s: now,
        table: tb.name.clone(),
        sstables: tb.sstables.len() as f64,
        flushes: tb.flushes,
        tombstones: stored_tombstones(tb, now),
        ..RefSample::default()
    };
    for pk in 0..tb.states.len() as u32 {
        let sources: Vec<&RefPart> = tb
            .sstables
            .iter()
            .filter_map(|x| x.parts.get(&pk))
            .chain(tb.memtable.get(&pk))
            .collect();
        if sources.is_empty() {
            continue;
        }
        let merged = data::reconcile(&sources);
        let mut rows: Vec<u64> = merged
            .entries
            .iter()
            .filter(|e| e.live(now) && e.ck != workload::STATIC_ROW)
            .map(|e| e.ck.to_bits())
            .collect();
        rows.dedup();
        let static_row = merged
            .entries
            .iter()
            .any(|e| e.live(now) && e.ck == workload::STATIC_ROW);
        // A CQL row: the static row is one only in a partition without live rows.
        s.live_rows += if rows.is_empty() && static_row {
            1.0
        } else {
            rows.len() as f64
        };
    }
    for r in &tb.readers {
        for _ in 0..reads {
            // The current bucket: at its boundary, the one just ended (as the aggregated
            // engine's `latest` reads).
            let pk = tb.partition(workload::pick(&r.keys, tb.entities, rng), now - 1e-6);
            let (sstables, tombstones) = read::read(tb, pk, r, now);
            s.sstables_per_read.push(sstables);
            s.tombstones_per_read.push(tombstones);
        }
    }
    s
}

/// Tombstones stored in every source, as the aggregated engine's sstable statistics count them.
/// The memtable holds one version per row, as Cassandra's does (a write to a row merges into
/// it): its partitions are counted reconciled, as a flush would write them, not write by write.
fn stored_tombstones(tb: &RefTable, now: f64) -> Tombstones {
    let mut t = Tombstones::default();
    let memtable: Vec<RefPart> = tb
        .memtable
        .values()
        .map(|p| data::reconcile(&[p]))
        .collect();
    let parts = tb
        .sstables
        .iter()
        .flat_map(|s| s.parts.values())
        .chain(memtable.iter());
    for p in parts {
        if p.pdel.is_some() {
            t.partition += 1.0;
        }
        for e in &p.entries {
            let shape = &tb.sizes.shapes[e.shape as usize];
            match e.kind {
                EKind::Row => {
                    t.cell += shape.null_cells;
                    t.range += shape.complex_deletions;
                    if !e.live(now) {
                        t.expired += shape.cells.max(1.0);
                    }
                }
                EKind::Expired => t.expired += shape.cells.max(1.0),
                EKind::ExpiredLiveness => t.expired += 1.0,
                EKind::RowDel => t.row += 1.0,
                EKind::Range => t.range += 1.0,
                EKind::CellDel => t.cell += shape.null_cells,
            }
        }
    }
    t
}
