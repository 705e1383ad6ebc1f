//! The reference engine's sstables and compactions: STCS buckets (CASSANDRA.md 5.2), LCS levels
//! of disjoint sstables (5.3), TWCS windows and whole-sstable drops (5.4), the single-sstable
//! tombstone compaction (5.1), and the merge
//! that reconciles a partition's rows and purges what gc_grace_seconds and the overlap rule allow
//! (6.2, 6.3). Compaction is unthrottled: a planned compaction completes at once.

use std::collections::BTreeMap;

use super::data::{reconcile, EKind, Entry, RefPart};
use super::RefTable;
use crate::engine::compaction::{Params, MAX_COMPACTING_L0, MAX_LEVEL};
use crate::engine::frag::{Lapsed, TableSizes};
use crate::schema::options::Strategy;

/// An sstable: its partitions and its metadata.
#[derive(Debug, Clone)]
pub struct RefSSTable {
    pub id: u64,
    pub parts: BTreeMap<u32, RefPart>,
    pub min_ts: f64,
    pub max_ts: f64,
    /// The latest local deletion time of anything in it (infinite with a plain live row).
    pub max_ldt: f64,
    /// Serialized bytes.
    pub bytes: f64,
    pub created_s: f64,
    /// LCS level (0 for flushes and for the other strategies).
    pub level: u32,
    /// Cells that become droppable, as `(local deletion time, cells up to it)` in time order,
    /// and all its cells: the droppable ratio at any gc_before without walking every entry
    /// (tombstone compactions ask it of every sstable after every flush).
    drop_times: Vec<(f64, f64)>,
    cells: f64,
}

/// Serialized bytes and cells of an entry (CASSANDRA.md 3.8), as the aggregated engine sizes
/// its runs.
pub fn entry_bytes(e: &Entry, sizes: &TableSizes) -> f64 {
    let shape = &sizes.shapes[e.shape as usize];
    match e.kind {
        EKind::Row => shape.bytes,
        EKind::Expired => shape.expired_bytes,
        EKind::RowDel | EKind::ExpiredLiveness => sizes.row_tombstone,
        EKind::Range => sizes.range_tombstone,
        EKind::CellDel => shape.null_cells * sizes.cell_tombstone,
    }
}

pub fn entry_cells(e: &Entry, sizes: &TableSizes) -> f64 {
    let shape = &sizes.shapes[e.shape as usize];
    match e.kind {
        EKind::Row => (shape.cells + shape.null_cells).max(1.0),
        EKind::Expired => shape.cells.max(1.0),
        EKind::RowDel | EKind::ExpiredLiveness => 1.0,
        EKind::Range => 2.0,
        EKind::CellDel => shape.null_cells,
    }
}

/// Whether an entry that is not a live row is purgeable at `gc_before` but for the overlap rule:
/// an expired row once its cells and its liveness (if it has one) are (`frag::lapsed`).
fn gone(tb: &RefTable, e: &Entry, gc_before: f64) -> bool {
    match e.kind {
        EKind::Row | EKind::Expired | EKind::ExpiredLiveness => {
            match e.lapsed(tb.repurge_expired, gc_before) {
                Lapsed::Cells => false,
                Lapsed::Liveness => !tb.sizes.shapes[e.shape as usize].liveness,
                Lapsed::Gone => true,
            }
        }
        _ => e.ldt() < gc_before,
    }
}

impl RefSSTable {
    pub fn new(
        id: u64,
        parts: BTreeMap<u32, RefPart>,
        sizes: &TableSizes,
        created_s: f64,
    ) -> RefSSTable {
        let (mut min_ts, mut max_ts, mut max_ldt, mut bytes) =
            (f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY, 0.0);
        let mut drop_times = Vec::new();
        let mut cells = 0.0;
        for p in parts.values() {
            min_ts = min_ts.min(p.min_ts());
            max_ts = max_ts.max(p.max_ts());
            bytes += sizes.partition_overhead;
            if let Some(d) = p.pdel {
                max_ldt = max_ldt.max(d);
                bytes += sizes.partition_tombstone;
            }
            for e in &p.entries {
                max_ldt = max_ldt.max(e.max_ldt(sizes.shapes[e.shape as usize].liveness));
                bytes += entry_bytes(e, sizes);
                let c = entry_cells(e, sizes);
                cells += c;
                if e.ldt().is_finite() {
                    drop_times.push((e.ldt(), c));
                }
            }
        }
        drop_times.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut acc = 0.0;
        for d in &mut drop_times {
            acc += d.1;
            d.1 = acc;
        }
        RefSSTable {
            id,
            parts,
            min_ts,
            max_ts,
            max_ldt,
            bytes,
            created_s,
            level: 0,
            drop_times,
            cells,
        }
    }

    /// The first and last partition it holds (partitions are in token order by key here).
    fn range(&self) -> (u32, u32) {
        let first = self.parts.keys().next().copied().unwrap_or(0);
        let last = self.parts.keys().next_back().copied().unwrap_or(0);
        (first, last)
    }

    fn overlaps(&self, (a, b): (u32, u32)) -> bool {
        let (first, last) = self.range();
        first <= b && a <= last
    }

    /// The share of its cells whose local deletion time is before `gc_before`: the droppable
    /// tombstone ratio of `worthDroppingTombstones` (CASSANDRA.md 5.1).
    fn droppable_ratio(&self, gc_before: f64) -> f64 {
        let k = self.drop_times.partition_point(|d| d.0 < gc_before);
        let droppable = if k > 0 { self.drop_times[k - 1].1 } else { 0.0 };
        if self.cells > 0.0 {
            droppable / self.cells
        } else {
            0.0
        }
    }
}

/// STCS buckets (CASSANDRA.md 5.2): the smallest bucket of at least min_threshold alike
/// sstables, at most max_threshold of them.
pub fn stcs(sstables: &[&RefSSTable], p: &Params) -> Option<Vec<u64>> {
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

/// TWCS (CASSANDRA.md 5.4): windows by max timestamp, newest first; the current window (the
/// newest any sstable reached) by STCS rules, an older one with two sstables or more compacted
/// whole.
fn twcs(sstables: &[&RefSSTable], p: &Params) -> Option<Vec<u64>> {
    // The newest window any sstable reached is the current one (`highestWindowSeen`).
    let newest = sstables
        .iter()
        .map(|s| s.max_ts)
        .fold(f64::NEG_INFINITY, f64::max);
    let current = (newest / p.window_s).floor() as i64;
    let mut windows: BTreeMap<i64, Vec<&RefSSTable>> = BTreeMap::new();
    for s in sstables {
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
            let ids = members.iter().map(|s| s.id);
            return Some(ids.take(p.max_threshold as usize).collect());
        }
    }
    None
}

/// The single-sstable tombstone compaction (CASSANDRA.md 5.1): an sstable older than
/// tombstone_compaction_interval whose droppable ratio passes tombstone_threshold, and (unless
/// unchecked) still passes it counting only the partitions no other sstable holds. Never where
/// the strategy disables it (TWCS by default); TWCS tries the smallest first, the others the
/// largest.
fn tombstone(tb: &RefTable, now: f64) -> Option<Planned> {
    let p = &tb.params;
    if !p.tombstone_compactions {
        return None;
    }
    let gc_before = now - tb.gc_grace;
    let mut candidates: Vec<&RefSSTable> = tb.sstables.iter().collect();
    candidates.sort_by(|a, b| b.bytes.total_cmp(&a.bytes).then(a.id.cmp(&b.id)));
    if p.strategy == Strategy::Twcs {
        candidates.reverse();
    }
    for s in candidates {
        if now - s.created_s < p.tombstone_compaction_interval {
            continue;
        }
        let ratio = s.droppable_ratio(gc_before);
        if ratio <= p.tombstone_threshold {
            continue;
        }
        let alone = s
            .parts
            .keys()
            .filter(|pk| {
                !tb.sstables
                    .iter()
                    .any(|o| o.id != s.id && o.parts.contains_key(pk))
            })
            .count() as f64;
        let remaining = alone / (s.parts.len() as f64).max(1.0);
        if p.unchecked_tombstone_compaction || remaining * ratio > p.tombstone_threshold {
            let level = (p.strategy == Strategy::Lcs).then_some(s.level);
            return Some(Planned {
                ids: vec![s.id],
                level,
            });
        }
    }
    None
}

/// A compaction to run: its input sstables, and the LCS level its output goes to (split into
/// sstables of sstable_size_in_mb), or none for one output sstable.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub ids: Vec<u64>,
    pub level: Option<u32>,
}

/// The next compaction of the table, if any.
pub fn plan(tb: &mut RefTable, now: f64) -> Option<Planned> {
    let all: Vec<&RefSSTable> = tb.sstables.iter().collect();
    let chosen = match tb.params.strategy {
        Strategy::Twcs => twcs(&all, &tb.params).map(|ids| Planned { ids, level: None }),
        Strategy::Lcs => return lcs(tb).or_else(|| tombstone(tb, now)),
        _ => stcs(&all, &tb.params).map(|ids| Planned { ids, level: None }),
    };
    chosen.or_else(|| tombstone(tb, now))
}

/// LCS (CASSANDRA.md 5.3): past 32 sstables in L0, an STCS round in L0; else, from the highest
/// level down, a level over its size limit promotes its next sstable after the last one promoted
/// (round robin by partition), with the sstables of the next level it overlaps; else two L0
/// sstables or more (up to max_threshold, the oldest first) go into L1 with every L1 sstable they
/// overlap when they hold more than an sstable's worth, and merge within L0 when they do not
/// (LeveledManifest.getCandidatesFor(0) and getNextLevel).
fn lcs(tb: &mut RefTable) -> Option<Planned> {
    let p = tb.params.clone();
    let level = |l: u32| -> Vec<&RefSSTable> {
        let mut v: Vec<&RefSSTable> = tb.sstables.iter().filter(|s| s.level == l).collect();
        v.sort_by_key(|s| s.range().0);
        v
    };
    let l0 = level(0);
    if l0.len() as f64 > MAX_COMPACTING_L0 {
        if let Some(ids) = stcs(&l0, &p) {
            return Some(Planned {
                ids,
                level: Some(0),
            });
        }
    }
    for l in (1..MAX_LEVEL).rev() {
        let members = level(l);
        let bytes: f64 = members.iter().map(|s| s.bytes).sum::<f64>() * tb.compression_ratio;
        if members.is_empty() || bytes <= p.lcs_max_bytes(l) * 1.001 {
            continue;
        }
        let cursor = tb.lcs_cursor.get(l as usize).copied().flatten();
        let next = members
            .iter()
            .find(|s| cursor.is_none_or(|c| s.range().0 > c))
            .unwrap_or(&members[0]);
        let range = next.range();
        let mut ids = vec![next.id];
        ids.extend(
            level(l + 1)
                .iter()
                .filter(|s| s.overlaps(range))
                .map(|s| s.id),
        );
        if tb.lcs_cursor.len() <= l as usize {
            tb.lcs_cursor.resize(l as usize + 1, None);
        }
        tb.lcs_cursor[l as usize] = Some(range.1);
        return Some(Planned {
            ids,
            level: Some(l + 1),
        });
    }
    if l0.len() < 2 {
        return None;
    }
    let mut oldest = l0.clone();
    oldest.sort_by(|a, b| a.min_ts.total_cmp(&b.min_ts).then(a.id.cmp(&b.id)));
    oldest.truncate(p.max_threshold as usize);
    let mut ids: Vec<u64> = oldest.iter().map(|s| s.id).collect();
    let bytes: f64 = oldest.iter().map(|s| s.bytes).sum::<f64>() * tb.compression_ratio;
    if bytes <= p.lcs_sstable_size {
        return (ids.len() >= 2).then_some(Planned {
            ids,
            level: Some(0),
        });
    }
    let first = oldest.iter().map(|s| s.range().0).min().unwrap_or(0);
    let last = oldest.iter().map(|s| s.range().1).max().unwrap_or(0);
    ids.extend(
        level(1)
            .iter()
            .filter(|s| s.overlaps((first, last)))
            .map(|s| s.id),
    );
    Some(Planned {
        ids,
        level: Some(1),
    })
}

/// TWCS drops sstables whose every cell expired past gc_grace and that hold nothing newer than
/// what overlaps them (CASSANDRA.md 5.4), every expired_sstable_check_frequency_seconds.
pub fn drop_expired(tb: &mut RefTable, now: f64) {
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
        .map(RefPart::min_ts)
        .fold(f64::INFINITY, f64::min);
    // One minimum over the sstables with a live cell and the memtable; a fully expired sstable
    // never lowers it (`getFullyExpiredSSTables`, 3.0 to 5.0).
    let min_ts = tb
        .sstables
        .iter()
        .filter(|s| s.max_ldt >= gc_before)
        .map(|s| s.min_ts)
        .fold(memtable_min, f64::min);
    let dropped: Vec<u64> = tb
        .sstables
        .iter()
        .filter(|s| s.max_ldt < gc_before && s.max_ts < min_ts)
        .map(|s| s.id)
        .collect();
    tb.sstables.retain(|s| !dropped.contains(&s.id));
}

/// Merges the sstables `ids` into one (CASSANDRA.md 6.2, 6.3): per partition, its rows
/// reconciled; a tombstone (or a partition deletion) whose ldt is before gc_before and whose
/// timestamp is older than every source of the partition left out (other sstables, the
/// memtable) is purged; an expired row is purged likewise or rewritten as a tombstone, which
/// 4.1+ may purge at once.
pub fn compact(tb: &mut RefTable, planned: &Planned, now: f64) {
    let ids = &planned.ids;
    let gc_before = now - tb.gc_grace;
    let (inputs, others): (Vec<RefSSTable>, Vec<RefSSTable>) = std::mem::take(&mut tb.sstables)
        .into_iter()
        .partition(|s| ids.contains(&s.id));
    let max_purgeable = |pk: u32| -> f64 {
        others
            .iter()
            .filter_map(|s| s.parts.get(&pk).map(|_| s.min_ts))
            .chain(tb.memtable.get(&pk).map(RefPart::min_ts))
            .fold(f64::INFINITY, f64::min)
    };
    let mut sources: BTreeMap<u32, Vec<&RefPart>> = BTreeMap::new();
    for s in &inputs {
        for (pk, part) in &s.parts {
            sources.entry(*pk).or_default().push(part);
        }
    }
    let mut out: BTreeMap<u32, RefPart> = BTreeMap::new();
    for (pk, parts) in sources {
        let merged = reconcile(&parts);
        let maxp = max_purgeable(pk);
        let purge = |ldt: f64, ts: f64| ldt < gc_before && ts < maxp;
        let pdel = merged.pdel.filter(|d| !purge(*d, *d));
        let mut entries = Vec::new();
        for e in merged.entries {
            if e.kind == EKind::Row && e.live(now) {
                entries.push(e);
            } else if gone(tb, &e, gc_before) && e.ts < maxp {
                continue;
            } else if matches!(e.kind, EKind::Row | EKind::Expired) {
                // Expired cells rewritten as tombstones dated from the write; the TTL stays for
                // the row's liveness (CASSANDRA.md 6.2.3). Those the purge may drop go, and the
                // row stays for its liveness alone (`frag::lapsed`).
                let lapse = e.lapsed(tb.repurge_expired, gc_before);
                let kind = if lapse == Lapsed::Liveness && e.ts < maxp {
                    EKind::ExpiredLiveness
                } else {
                    EKind::Expired
                };
                entries.push(Entry { kind, ..e });
            } else {
                entries.push(e);
            }
        }
        let part = RefPart { entries, pdel };
        if !part.is_empty() {
            out.insert(pk, part);
        }
    }
    tb.sstables = others;
    let level = planned.level.unwrap_or(0);
    // LCS writes a level as sstables of sstable_size_in_mb (on disk), whole partitions each: the
    // writer switches to a new sstable once the current one has passed the size.
    let limit = if level > 0 {
        tb.params.lcs_sstable_size / tb.compression_ratio
    } else {
        f64::INFINITY
    };
    let mut chunk: BTreeMap<u32, RefPart> = BTreeMap::new();
    let mut chunk_bytes = 0.0;
    let mut outputs = Vec::new();
    for (pk, part) in out {
        let bytes = tb.sizes.partition_overhead
            + part
                .entries
                .iter()
                .map(|e| entry_bytes(e, &tb.sizes))
                .sum::<f64>();
        if !chunk.is_empty() && chunk_bytes > limit {
            outputs.push(std::mem::take(&mut chunk));
            chunk_bytes = 0.0;
        }
        chunk_bytes += bytes;
        chunk.insert(pk, part);
    }
    if !chunk.is_empty() {
        outputs.push(chunk);
    }
    for parts in outputs {
        tb.next_id += 1;
        let mut s = RefSSTable::new(tb.next_id, parts, &tb.sizes, now);
        s.level = level;
        tb.sstables.push(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stcs_takes_the_smallest_bucket_of_min_threshold_alike_sstables() {
        let p = Params::from(&crate::schema::options::Compaction::default());
        let mk = |id: u64, bytes: f64| RefSSTable {
            id,
            parts: BTreeMap::new(),
            min_ts: 0.0,
            max_ts: 0.0,
            max_ldt: 0.0,
            bytes,
            created_s: 0.0,
            level: 0,
            drop_times: Vec::new(),
            cells: 0.0,
        };
        let mib = 1024.0 * 1024.0;
        // Three small (below min_sstable_size together) and one huge: no bucket of four.
        let a = [mk(1, mib), mk(2, mib), mk(3, mib), mk(4, 1000.0 * mib)];
        let refs: Vec<&RefSSTable> = a.iter().collect();
        assert_eq!(stcs(&refs, &p), None);
        let b = [
            mk(1, mib),
            mk(2, mib),
            mk(3, mib),
            mk(5, mib),
            mk(4, 1000.0 * mib),
        ];
        let refs: Vec<&RefSSTable> = b.iter().collect();
        assert_eq!(stcs(&refs, &p), Some(vec![1, 2, 3, 5]));
    }
}
