//! The reference engine (issue 8): a plain, per-row implementation of the storage rules the
//! aggregated engine (`engine`) follows by runs and samples, to check it against. Every row is
//! kept with its write timestamp and TTL in memtables and sstables; flushes, STCS and TWCS
//! compactions (with the purge rule and its overlap check, CASSANDRA.md 6.3), TWCS's whole-sstable
//! drops (5.4), TTL expiry (6.2) and the counting of reads (6.4, 7.2) are applied by brute force:
//! clear code over fast code.
//!
//! This first version covers what the TTL time series exercises: one datacenter, tables written
//! by INSERTs (optionally with TTL) into uniformly chosen partitions with increasing clustering,
//! read by partition reads with LIMIT, compacted by STCS or TWCS with compaction unthrottled
//! (`compaction_throughput = 0`). [`supported`] refuses anything else, and scenarios too large to
//! hold row by row, with the estimated memory.

use std::collections::BTreeMap;

use rand::RngExt;
use rand::SeedableRng;
use rand_distr::{Distribution, Poisson};
use rand_pcg::Pcg64Mcg;

use crate::engine::compaction::Params;
use crate::engine::table::TableSim;
use crate::scenario::Scenario;
use crate::schema::options::Strategy;
use crate::workload::{ClusteringPattern, KeyPopularity, WriteKind};

/// Bytes one kept row costs the reference engine (the row and its share of vectors and maps).
const BYTES_PER_ROW: f64 = 48.0;
/// The most memory a reference run may take.
const MAX_BYTES: f64 = 4.0 * 1024.0 * 1024.0 * 1024.0;
/// Seconds per simulated step: writes are spread inside it, flushes and compactions follow it.
const STEP_S: f64 = 60.0;

/// One row as stored: its clustering position, write time and TTL, or an expired cell rewritten
/// by compaction as a tombstone (CASSANDRA.md 6.2.3: ldt = the write time).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row {
    pub ck: f64,
    pub ts: f64,
    pub ttl: f64,
    pub tombstone: bool,
}

impl Row {
    /// Local deletion time: expiry for a TTL row, the write time for a rewritten tombstone.
    fn ldt(&self) -> f64 {
        if self.tombstone {
            self.ts
        } else if self.ttl > 0.0 {
            self.ts + self.ttl
        } else {
            f64::INFINITY
        }
    }

    fn live(&self, now: f64) -> bool {
        !self.tombstone && (self.ttl <= 0.0 || now < self.ts + self.ttl)
    }
}

/// An sstable: its partitions' rows in clustering order, and its metadata.
#[derive(Debug, Clone)]
pub struct RefSSTable {
    pub id: u64,
    pub parts: BTreeMap<u32, Vec<Row>>,
    pub min_ts: f64,
    pub max_ts: f64,
    pub max_ldt: f64,
    pub bytes: f64,
}

impl RefSSTable {
    fn new(id: u64, parts: BTreeMap<u32, Vec<Row>>, row_bytes: f64, tomb_bytes: f64) -> RefSSTable {
        let rows = parts.values().flatten();
        let (mut min_ts, mut max_ts, mut max_ldt, mut bytes) =
            (f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY, 0.0);
        for r in rows {
            min_ts = min_ts.min(r.ts);
            max_ts = max_ts.max(r.ts);
            max_ldt = max_ldt.max(r.ldt());
            bytes += if r.tombstone { tomb_bytes } else { row_bytes };
        }
        RefSSTable {
            id,
            parts,
            min_ts,
            max_ts,
            max_ldt,
            bytes,
        }
    }
}

/// One table on the reference node.
struct RefTable {
    name: String,
    entities: u32,
    gc_grace: f64,
    params: Params,
    repurge_expired: bool,
    row_bytes: f64,
    tomb_bytes: f64,
    /// `(rows per second on this node, TTL, memtable heap per row)` per INSERT statement.
    writers: Vec<(f64, f64, f64)>,
    /// `(LIMIT, reversed)` per read statement.
    readers: Vec<(Option<f64>, bool)>,
    memtable: BTreeMap<u32, Vec<Row>>,
    memtable_heap: f64,
    sstables: Vec<RefSSTable>,
    next_id: u64,
    next_expired_check: f64,
}

/// What the reference engine measured of one table at one sample.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RefSample {
    pub t_s: f64,
    pub table: String,
    pub live_rows: f64,
    /// Row-level tombstones held on disk and in the memtable: expired cells (live rows past
    /// their TTL, and rewritten ones).
    pub expired: f64,
    pub sstables: f64,
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
    let mut rows = 0.0;
    for t in &node.tables {
        match t.params.strategy {
            Strategy::Stcs | Strategy::Twcs => {}
            ref s => {
                return Err(format!(
                    "{}: the reference engine compacts with STCS or TWCS, not {s:?}",
                    t.name
                ))
            }
        }
        if t.parts.layout.bucket_s.is_some() {
            return Err(format!(
                "{}: time-bucketed partitions are not in the reference engine yet",
                t.name
            ));
        }
        for w in &t.writers {
            let plain = w.kind == WriteKind::Insert
                && w.deletion.is_none()
                && w.keys == KeyPopularity::Uniform
                && w.pattern == ClusteringPattern::Increasing;
            if !plain {
                return Err(format!(
                    "{}: the reference engine writes uniform, increasing INSERTs only",
                    t.name
                ));
            }
            // Rows kept at once: those written within the TTL (and gc_grace), or all of them.
            let kept = if w.ttl > 0.0 {
                (w.ttl + t.gc_grace).min(scenario.duration_s)
            } else {
                scenario.duration_s
            };
            rows += w.rate * kept;
        }
    }
    let bytes = rows * BYTES_PER_ROW * 2.0;
    if bytes > MAX_BYTES {
        return Err(format!(
            "too large for the reference engine: about {} rows kept, {} of memory (at most {})",
            crate::units::format_count(rows),
            crate::units::format_bytes(bytes),
            crate::units::format_bytes(MAX_BYTES)
        ));
    }
    Ok(())
}

fn table(t: &TableSim) -> RefTable {
    let shape = &t.sizes.shapes[0];
    RefTable {
        name: t.name.clone(),
        entities: t.parts.layout.entities.max(1.0) as u32,
        gc_grace: t.gc_grace,
        params: t.params.clone(),
        repurge_expired: t.repurge_expired,
        row_bytes: shape.bytes,
        tomb_bytes: shape.expired_bytes,
        writers: t
            .writers
            .iter()
            .map(|w| (w.rate, w.ttl, w.heap_per_row))
            .collect(),
        readers: t
            .readers
            .iter()
            .map(|r| (r.shape.limit, r.shape.reversed))
            .collect(),
        memtable: BTreeMap::new(),
        memtable_heap: 0.0,
        sstables: Vec::new(),
        next_id: 0,
        next_expired_check: t.params.expired_check_s,
    }
}

/// Runs the scenario row by row with `seed`: one sample per `sample_every` per table.
pub fn run(scenario: &Scenario, seed: u64) -> Result<Vec<RefSample>, String> {
    supported(scenario)?;
    let share = &crate::cluster::nodes(scenario)[0];
    let node = crate::engine::build_node(scenario, share, seed, 0);
    let flush_threshold = node.config.flush_threshold;
    let reads_per_sample = node.config.reads_per_sample;
    let mut tables: Vec<RefTable> = node.tables.iter().map(table).collect();
    let mut rng = Pcg64Mcg::seed_from_u64(seed ^ 0x7265_6665_7265_6e63);
    let mut out = Vec::new();
    let mut t = 0.0;
    let mut next_sample = scenario.sample_every_s;
    while t < scenario.duration_s - 1e-9 {
        let t1 = (t + STEP_S).min(scenario.duration_s).min(next_sample);
        for tb in &mut tables {
            write(tb, t, t1, &mut rng);
        }
        // The memtable pool: past its cleanup threshold, the largest memtable flushes.
        while tables.iter().map(|x| x.memtable_heap).sum::<f64>() > flush_threshold {
            let Some(k) = (0..tables.len()).max_by(|a, b| {
                tables[*a]
                    .memtable_heap
                    .total_cmp(&tables[*b].memtable_heap)
            }) else {
                break;
            };
            flush(&mut tables[k]);
        }
        for tb in &mut tables {
            drop_expired(tb, t1);
            while let Some(ids) = plan(tb, t1) {
                compact(tb, &ids, t1);
            }
        }
        // A sample every sample_every, and one at the end, as the aggregated engine samples.
        if t1 >= next_sample - 1e-9 || t1 >= scenario.duration_s - 1e-9 {
            for tb in &tables {
                out.push(sample(tb, t1, reads_per_sample, &mut rng));
            }
            next_sample += scenario.sample_every_s;
        }
        t = t1;
    }
    Ok(out)
}

/// The step's INSERTs: Poisson counts, uniform partitions, times spread over the step, each
/// row appended after the partition's last (increasing clustering).
fn write(tb: &mut RefTable, t0: f64, t1: f64, rng: &mut Pcg64Mcg) {
    for k in 0..tb.writers.len() {
        let (rate, ttl, heap) = tb.writers[k];
        let lambda = rate * (t1 - t0);
        let n = if lambda > 0.0 {
            Poisson::new(lambda).map(|p| p.sample(rng)).unwrap_or(0.0) as usize
        } else {
            0
        };
        let mut times: Vec<f64> = (0..n)
            .map(|_| t0 + rng.random::<f64>() * (t1 - t0))
            .collect();
        times.sort_by(f64::total_cmp);
        for ts in times {
            let pk = rng.random_range(0..tb.entities);
            tb.memtable.entry(pk).or_default().push(Row {
                ck: ts,
                ts,
                ttl,
                tombstone: false,
            });
            tb.memtable_heap += heap;
        }
    }
}

fn flush(tb: &mut RefTable) {
    let parts = std::mem::take(&mut tb.memtable);
    tb.memtable_heap = 0.0;
    if parts.is_empty() {
        return;
    }
    tb.next_id += 1;
    let s = RefSSTable::new(tb.next_id, parts, tb.row_bytes, tb.tomb_bytes);
    tb.sstables.push(s);
}

/// TWCS and UCS drop sstables whose every cell expired past gc_grace and that hold nothing newer
/// than what overlaps them (CASSANDRA.md 5.4), every expired_sstable_check_frequency_seconds.
fn drop_expired(tb: &mut RefTable, now: f64) {
    if tb.params.strategy != Strategy::Twcs || now < tb.next_expired_check {
        return;
    }
    while tb.next_expired_check <= now + 1e-9 {
        tb.next_expired_check += tb.params.expired_check_s;
    }
    let gc_before = now - tb.gc_grace;
    let memtable_min = tb
        .memtable
        .values()
        .flatten()
        .map(|r| r.ts)
        .fold(f64::INFINITY, f64::min);
    let mut candidates: Vec<usize> = (0..tb.sstables.len())
        .filter(|&i| tb.sstables[i].max_ldt < gc_before)
        .collect();
    let mut min_ts = tb
        .sstables
        .iter()
        .enumerate()
        .filter(|(i, _)| !candidates.contains(i))
        .map(|(_, s)| s.min_ts)
        .fold(memtable_min, f64::min);
    candidates.sort_by(|a, b| tb.sstables[*b].max_ts.total_cmp(&tb.sstables[*a].max_ts));
    let mut dropped = Vec::new();
    for i in candidates {
        let s = &tb.sstables[i];
        if s.max_ts < min_ts {
            dropped.push(s.id);
        } else {
            min_ts = min_ts.min(s.min_ts);
        }
    }
    tb.sstables.retain(|s| !dropped.contains(&s.id));
}

/// STCS buckets (CASSANDRA.md 5.2): the smallest bucket of at least min_threshold alike
/// sstables, at most max_threshold of them.
fn stcs(sstables: &[&RefSSTable], p: &Params) -> Option<Vec<u64>> {
    let mut members = sstables.to_vec();
    members.sort_by(|a, b| a.bytes.total_cmp(&b.bytes).then(a.id.cmp(&b.id)));
    let mut buckets: Vec<(f64, Vec<u64>)> = Vec::new();
    for s in members {
        let joins = buckets.last().is_some_and(|(avg, _)| {
            (s.bytes > avg * p.bucket_low && s.bytes < avg * p.bucket_high)
                || (s.bytes < p.min_sstable_size && *avg < p.min_sstable_size)
        });
        if joins {
            let (avg, ids) = buckets.last_mut().expect("a bucket");
            *avg = (*avg * ids.len() as f64 + s.bytes) / (ids.len() as f64 + 1.0);
            ids.push(s.id);
        } else {
            buckets.push((s.bytes, vec![s.id]));
        }
    }
    let (_, ids) = buckets
        .into_iter()
        .find(|(_, ids)| ids.len() as f64 >= p.min_threshold)?;
    Some(ids.into_iter().take(p.max_threshold as usize).collect())
}

/// The next compaction of the table, if any (CASSANDRA.md 5.2, 5.4).
fn plan(tb: &RefTable, now: f64) -> Option<Vec<u64>> {
    let p = &tb.params;
    let all: Vec<&RefSSTable> = tb.sstables.iter().collect();
    if p.strategy != Strategy::Twcs {
        return stcs(&all, p);
    }
    let current = (now / p.window_s).floor() as i64;
    let mut windows: BTreeMap<i64, Vec<&RefSSTable>> = BTreeMap::new();
    for s in all {
        windows
            .entry((s.max_ts / p.window_s).floor() as i64)
            .or_default()
            .push(s);
    }
    for (w, mut members) in windows.into_iter().rev() {
        if w >= current {
            if members.len() as f64 >= p.min_threshold {
                if let Some(ids) = stcs(&members, p) {
                    return Some(ids);
                }
            }
        } else if members.len() >= 2 {
            members.sort_by(|a, b| a.min_ts.total_cmp(&b.min_ts));
            return Some(
                members
                    .iter()
                    .take(p.max_threshold as usize)
                    .map(|s| s.id)
                    .collect(),
            );
        }
    }
    None
}

/// Merges the sstables `ids` into one: per partition, rows by clustering; an expired row is
/// purged when its ldt is before gc_before and its timestamp is older than every source of the
/// partition left out of the compaction (CASSANDRA.md 6.3), else rewritten as a tombstone
/// (6.2.3), which 4.1+ may purge at once.
fn compact(tb: &mut RefTable, ids: &[u64], now: f64) {
    let gc_before = now - tb.gc_grace;
    let (inputs, others): (Vec<RefSSTable>, Vec<RefSSTable>) = std::mem::take(&mut tb.sstables)
        .into_iter()
        .partition(|s| ids.contains(&s.id));
    let max_purgeable = |pk: u32| -> f64 {
        others
            .iter()
            .filter(|s| s.parts.contains_key(&pk))
            .map(|s| s.min_ts)
            .chain(tb.memtable.get(&pk).into_iter().flatten().map(|r| r.ts))
            .fold(f64::INFINITY, f64::min)
    };
    let mut merged: BTreeMap<u32, Vec<Row>> = BTreeMap::new();
    for s in inputs {
        for (pk, rows) in s.parts {
            merged.entry(pk).or_default().extend(rows);
        }
    }
    let mut out: BTreeMap<u32, Vec<Row>> = BTreeMap::new();
    for (pk, mut rows) in merged {
        let maxp = max_purgeable(pk);
        rows.sort_by(|a, b| a.ck.total_cmp(&b.ck));
        let kept: Vec<Row> = rows
            .into_iter()
            .filter_map(|r| {
                let expired = !r.live(now);
                if !expired {
                    return Some(r);
                }
                let purge = |x: &Row| x.ldt() < gc_before && x.ts < maxp;
                if purge(&r) {
                    return None;
                }
                let t = Row {
                    tombstone: true,
                    ..r
                };
                if tb.repurge_expired && purge(&t) {
                    return None;
                }
                Some(t)
            })
            .collect();
        if !kept.is_empty() {
            out.insert(pk, kept);
        }
    }
    tb.sstables = others;
    if !out.is_empty() {
        tb.next_id += 1;
        let s = RefSSTable::new(tb.next_id, out, tb.row_bytes, tb.tomb_bytes);
        tb.sstables.push(s);
    }
}

/// The table's state and `reads` simulated reads per read statement at `now`.
fn sample(tb: &RefTable, now: f64, reads: usize, rng: &mut Pcg64Mcg) -> RefSample {
    let gc_before = now - tb.gc_grace;
    let all_rows = tb
        .sstables
        .iter()
        .flat_map(|s| s.parts.values().flatten())
        .chain(tb.memtable.values().flatten());
    let (mut live, mut expired) = (0.0, 0.0);
    for r in all_rows {
        if r.live(now) {
            live += 1.0;
        } else {
            expired += 1.0;
        }
    }
    let mut s = RefSample {
        t_s: now,
        table: tb.name.clone(),
        live_rows: live,
        expired,
        sstables: tb.sstables.len() as f64,
        ..RefSample::default()
    };
    for &(limit, reversed) in &tb.readers {
        for _ in 0..reads {
            let pk = rng.random_range(0..tb.entities);
            let (sstables, tombstones) = read(tb, pk, limit, reversed, now, gc_before);
            s.sstables_per_read.push(sstables);
            s.tombstones_per_read.push(tombstones);
        }
    }
    s
}

/// One partition read: the sstables holding the partition, and the tombstones counted (expired
/// cells younger than gc_grace, CASSANDRA.md 6.4) before LIMIT live rows are found.
fn read(
    tb: &RefTable,
    pk: u32,
    limit: Option<f64>,
    reversed: bool,
    now: f64,
    gc_before: f64,
) -> (f64, f64) {
    let holding: Vec<&Vec<Row>> = tb
        .sstables
        .iter()
        .filter_map(|s| s.parts.get(&pk))
        .collect();
    let mut rows: Vec<Row> = holding
        .iter()
        .flat_map(|r| r.iter().copied())
        .chain(tb.memtable.get(&pk).into_iter().flatten().copied())
        .collect();
    rows.sort_by(|a, b| a.ck.total_cmp(&b.ck));
    if reversed {
        rows.reverse();
    }
    let limit = limit.unwrap_or(f64::INFINITY);
    let (mut found, mut tombstones) = (0.0, 0.0);
    for r in rows {
        if found >= limit {
            break;
        }
        if r.live(now) {
            found += 1.0;
        } else if r.ldt() >= gc_before {
            tombstones += 1.0;
        }
    }
    (holding.len() as f64, tombstones)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ck: f64, ts: f64, ttl: f64) -> Row {
        Row {
            ck,
            ts,
            ttl,
            tombstone: false,
        }
    }

    #[test]
    fn a_ttl_row_expires_into_a_tombstone_whose_ldt_is_its_write_time() {
        let r = row(1.0, 100.0, 50.0);
        assert!(r.live(149.0) && !r.live(150.0));
        assert_eq!(r.ldt(), 150.0);
        let t = Row {
            tombstone: true,
            ..r
        };
        assert_eq!(t.ldt(), 100.0);
        assert!(!t.live(0.0));
    }

    #[test]
    fn stcs_takes_the_smallest_bucket_of_min_threshold_alike_sstables() {
        let p = Params::from(&crate::schema::options::Compaction::default());
        let mk = |id: u64, n: usize| {
            let parts: BTreeMap<u32, Vec<Row>> = (0..n as u32)
                .map(|k| (k, vec![row(0.0, 1.0, 0.0)]))
                .collect();
            RefSSTable::new(id, parts, 100.0 * 1024.0 * 1024.0, 1.0)
        };
        // Three small (below min_sstable_size together) and one huge: no bucket of four.
        let a = [mk(1, 0), mk(2, 0), mk(3, 0), mk(4, 10)];
        let refs: Vec<&RefSSTable> = a.iter().collect();
        assert_eq!(stcs(&refs, &p), None);
        let b = [mk(1, 0), mk(2, 0), mk(3, 0), mk(5, 0), mk(4, 10)];
        let refs: Vec<&RefSSTable> = b.iter().collect();
        assert_eq!(stcs(&refs, &p).map(|v| v.len()), Some(4));
    }
}
