//! A partition read in the reference engine (CASSANDRA.md 7.1, 6.4): the memtable and the
//! sstables holding the partition, newest first, stopping once a partition deletion is newer than
//! the next sstable; their entries merged; then, in clustering order (reversed for a reversed
//! read), the tombstones younger than gc_grace counted until LIMIT live rows are found. An
//! sstable whose entries all lie beyond where the read stopped is never opened and not counted
//! (`UnfilteredRowIteratorWithLowerBound`).

use super::data::{reconcile, EKind, Entry, RefPart};
use super::{RefReader, RefTable};
use crate::engine::frag::{Lapsed, Shape, TableSizes};
use crate::engine::view::Clock;

/// The sstables a read of `pk` merges (the `SSTables` column of `tablehistograms`), and the
/// tombstones it counts.
pub fn read(tb: &RefTable, pk: u32, r: &RefReader, now: f64) -> (f64, f64) {
    let (limit, reversed) = (r.limit, r.reversed);
    let clock = Clock::new(now, tb.gc_grace, tb.repurge_expired);
    let mut holding: Vec<(f64, &RefPart)> = tb
        .sstables
        .iter()
        .filter_map(|s| s.parts.get(&pk).map(|p| (s.max_ts, p)))
        .collect();
    holding.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut sources: Vec<&RefPart> = tb.memtable.get(&pk).into_iter().collect();
    let mut newest_pdel = sources
        .iter()
        .filter_map(|p| p.pdel)
        .fold(f64::NEG_INFINITY, f64::max);
    let memtables = sources.len();
    for (max_ts, part) in holding {
        if newest_pdel > max_ts {
            break;
        }
        newest_pdel = newest_pdel.max(part.pdel.unwrap_or(f64::NEG_INFINITY));
        sources.push(part);
    }
    let merged = reconcile(&sources);
    let limit = limit.unwrap_or(f64::INFINITY);
    let (counted, stop) = tombstones_counted(merged.entries, &tb.sizes, limit, reversed, &clock);
    let opened = if r.names_stop {
        // By names, newest source first: the first holding the row has it whole (the engine's
        // `stops_at_newest_row`); the memtable's answers before any sstable.
        usize::from(memtables == 0 && sources.len() > memtables)
    } else {
        sources[memtables..]
            .iter()
            .filter(|p| p.pdel.is_some() || !stop.is_some_and(|x| beyond(p, x, reversed)))
            .count()
    };
    (opened as f64, counted)
}

/// Whether every entry of `part` lies past clustering `x` in the read's direction.
fn beyond(part: &RefPart, x: f64, reversed: bool) -> bool {
    let lo = part
        .entries
        .iter()
        .map(|e| e.ck)
        .fold(f64::INFINITY, f64::min);
    let hi = part
        .entries
        .iter()
        .map(|e| e.hi.max(e.ck))
        .fold(f64::NEG_INFINITY, f64::max);
    if reversed {
        hi < x
    } else {
        lo > x
    }
}

/// The tombstones a read counts over a partition's merged `entries` (in clustering order) until
/// `limit` live rows (CASSANDRA.md 6.4): those younger than gc_grace; a row deletion only while
/// its row has no live data. With the clustering of the last row read when the limit stopped
/// the read.
fn tombstones_counted(
    mut entries: Vec<Entry>,
    sizes: &TableSizes,
    limit: f64,
    reversed: bool,
    clock: &Clock,
) -> (f64, Option<f64>) {
    let (now, gc_before, repurge) = (clock.now, clock.gc_before, clock.repurge);
    let mut live: Vec<u64> = entries
        .iter()
        .filter(|e| e.kind == EKind::Row && e.live(now))
        .map(|e| e.ck.to_bits())
        .collect();
    live.sort_unstable();
    live.dedup();
    if reversed {
        entries.reverse();
    }
    let (mut found, mut counted) = (0.0, 0.0);
    // Entries of different statements at one clustering are one row.
    let mut last_live: Option<f64> = None;
    for e in entries {
        let shape = &sizes.shapes[e.shape as usize];
        let young = e.ldt() >= gc_before;
        match e.kind {
            EKind::Row if e.live(now) => {
                if (shape.liveness || shape.cells > 0.0) && last_live != Some(e.ck) {
                    found += 1.0;
                    last_live = Some(e.ck);
                }
                counted += bound_nulls(shape, &e);
            }
            EKind::Row | EKind::Expired | EKind::ExpiredLiveness => {
                match e.lapsed(repurge, gc_before) {
                    Lapsed::Cells => counted += shape.cells.max(1.0),
                    Lapsed::Liveness if shape.liveness => counted += 1.0,
                    _ => {}
                }
            }
            EKind::RowDel if young && live.binary_search(&e.ck.to_bits()).is_err() => {
                counted += 1.0
            }
            EKind::Range if young => counted += 2.0,
            EKind::CellDel if young => counted += shape.null_cells,
            _ => {}
        }
        if found >= limit {
            return (counted, last_live);
        }
    }
    (counted, None)
}

/// The cell tombstones one stored row holds from bound nulls: each write drew its own nulls
/// (a column null in a share `s` of the writes), fixed with the row (hashed from its clustering
/// and timestamp), so a read counts 0 or 1 per such column, not the share.
fn bound_nulls(shape: &Shape, e: &Entry) -> f64 {
    if shape.null_var <= 0.0 || shape.null_cells <= 0.0 {
        return shape.null_cells;
    }
    // Columns alike: `n` of them, each null with chance `p` (mean n p, variance n p (1 - p)).
    let p = (1.0 - shape.null_var / shape.null_cells).clamp(1e-9, 1.0);
    let n = (shape.null_cells / p).round().max(1.0);
    let p = shape.null_cells / n;
    let mut z = e.ck.to_bits() ^ e.ts.to_bits().rotate_left(29) ^ u64::from(e.shape);
    (0..n as u32)
        .filter(|_| {
            z = crate::engine::node_seed(z, 0);
            ((z >> 11) as f64 / (1u64 << 53) as f64) < p
        })
        .count() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(now: f64, gc_before: f64) -> Clock {
        Clock {
            now,
            gc_before,
            repurge: true,
        }
    }
    use crate::engine::fixtures;

    #[test]
    fn a_row_deletion_counts_only_while_its_row_has_no_live_data() {
        let sizes = fixtures::sizes(1.0, 50.0, 0.0);
        // Row 1 deleted; row 2 deleted and written again; static row (-1) deleted.
        let entries = vec![
            Entry::row_deletion(-1.0, 5.0),
            Entry::row_deletion(1.0, 10.0),
            Entry::row_deletion(2.0, 10.0),
            Entry::row(2.0, 20.0, 0.0, 0),
            Entry::row(3.0, 20.0, 0.0, 0),
        ];
        let counted = |limit: f64| {
            tombstones_counted(entries.clone(), &sizes, limit, false, &at(100.0, 0.0)).0
        };
        assert_eq!(counted(f64::INFINITY), 2.0);
        // Past gc_grace none counts.
        assert_eq!(
            tombstones_counted(
                entries.clone(),
                &sizes,
                f64::INFINITY,
                false,
                &at(100.0, 50.0)
            )
            .0,
            0.0
        );
        // The written-again row ends a LIMIT 1 read before the others are passed.
        assert_eq!(counted(1.0), 2.0);
        assert_eq!(
            tombstones_counted(entries, &sizes, 1.0, true, &at(100.0, 0.0)).0,
            0.0
        );
    }
}
