//! A partition read in the reference engine (CASSANDRA.md 7.1, 6.4): the memtable and the
//! sstables holding the partition, newest first, stopping once a partition deletion is newer than
//! the next sstable; their entries merged; then, in clustering order (reversed for a reversed
//! read), the tombstones younger than gc_grace counted until LIMIT live rows are found.

use super::data::{reconcile, EKind, RefPart};
use super::RefTable;

/// The sstables a read of `pk` merges (the `SSTables` column of `tablehistograms`), and the
/// tombstones it counts.
pub fn read(tb: &RefTable, pk: u32, limit: Option<f64>, reversed: bool, now: f64) -> (f64, f64) {
    let gc_before = now - tb.gc_grace;
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
    let mut merged_sstables = 0.0;
    for (max_ts, part) in holding {
        if newest_pdel > max_ts {
            break;
        }
        merged_sstables += 1.0;
        newest_pdel = newest_pdel.max(part.pdel.unwrap_or(f64::NEG_INFINITY));
        sources.push(part);
    }
    let merged = reconcile(&sources);
    let mut entries = merged.entries;
    if reversed {
        entries.reverse();
    }
    let limit = limit.unwrap_or(f64::INFINITY);
    let (mut found, mut counted) = (0.0, 0.0);
    // Entries of different statements at one clustering are one row.
    let mut last_live: Option<f64> = None;
    for e in entries {
        if found >= limit {
            break;
        }
        let shape = &tb.sizes.shapes[e.shape as usize];
        let young = e.ldt() >= gc_before;
        match e.kind {
            EKind::Row if e.live(now) => {
                if (shape.liveness || shape.cells > 0.0) && last_live != Some(e.ck) {
                    found += 1.0;
                    last_live = Some(e.ck);
                }
                counted += shape.null_cells;
            }
            EKind::Row | EKind::Expired if young => counted += shape.cells.max(1.0),
            EKind::RowDel if young => counted += 1.0,
            EKind::Range if young => counted += 2.0,
            EKind::CellDel if young => counted += shape.null_cells,
            _ => {}
        }
    }
    (merged_sstables, counted)
}
