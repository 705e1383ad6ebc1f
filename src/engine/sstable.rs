//! An sstable record: what `sstablemetadata` would show (size, min/max timestamp, max local
//! deletion time, the drop-time histogram behind the droppable-tombstone estimate) and the
//! fragments of its tracked partitions (DESIGN.md 3, "Storage engine"). One record may stand for
//! `copies` alike sstables: the flushes of one engine step, or an LCS level or UCS shards whose
//! copies split the token range (`disjoint`).

use super::frag::{Frag, Kind, Part, TableSizes};

/// Tombstones by kind (CASSANDRA.md 6.1), weighted to the node's real partitions.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Tombstones {
    pub cell: f64,
    pub row: f64,
    pub range: f64,
    pub partition: f64,
    /// Expired TTL cells still on disk.
    pub expired: f64,
}

impl Tombstones {
    pub fn add(&mut self, o: &Tombstones) {
        self.cell += o.cell;
        self.row += o.row;
        self.range += o.range;
        self.partition += o.partition;
        self.expired += o.expired;
    }

    pub fn total(&self) -> f64 {
        self.cell + self.row + self.range + self.partition + self.expired
    }
}

/// Per-record statistics, weighted to real partitions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Uncompressed serialized bytes, all copies.
    pub bytes: f64,
    pub cells: f64,
    pub partitions: f64,
    /// Keys over all copies: a partition in N of them counts N times (bloom filters, summaries).
    pub keys: f64,
    pub min_ts: f64,
    pub max_ts: f64,
    /// The largest local deletion time: infinite while any cell can never expire.
    pub max_ldt: f64,
    /// `(ldt_lo, ldt_hi, cells)`: cells that become droppable between the two times (tombstones
    /// and expiring cells), the drop-time histogram of CASSANDRA.md 5.1 step 3.
    pub drop_hist: Vec<(f64, f64, f64)>,
    /// Tombstones stored, by kind; expiring cells are counted as expired at query time from
    /// `ttl_hist`.
    pub tombstones: Tombstones,
    /// `(ldt_lo, ldt_hi, cells)` of TTL cells not yet rewritten: expired once ldt passes.
    pub ttl_hist: Vec<(f64, f64, f64)>,
    /// The histogram's first ldt, last ldt and cells: every sample asks each sstable, and most
    /// are wholly before or after `now` (R1: hundreds of sstables, 5 % of its run).
    pub ttl_span: (f64, f64, f64),
    /// The largest partition in one sstable of the record (uncompressed bytes).
    pub max_partition_bytes: f64,
}

/// The share of cells in `hist` whose ldt is before `t`, assuming ldt spread evenly in each bin.
pub fn hist_before(hist: &[(f64, f64, f64)], t: f64) -> f64 {
    hist.iter()
        .map(|&(lo, hi, cells)| {
            if t <= lo {
                0.0
            } else if t >= hi {
                cells
            } else {
                cells * (t - lo) / (hi - lo).max(1e-9)
            }
        })
        .sum()
}

/// Keeps a histogram small: bins sorted by start and merged in runs of neighbours until at most
/// `max` remain.
fn compact_hist(hist: &mut Vec<(f64, f64, f64)>, max: usize) {
    hist.retain(|b| b.2 > 0.0);
    if hist.len() <= max {
        return;
    }
    crate::metrics::sort_stable_by_key(hist, |b| crate::metrics::total_order_key(b.0));
    let per = hist.len().div_ceil(max);
    *hist = hist
        .chunks(per)
        .map(|c| {
            c.iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY, 0.0), |acc, b| {
                    (acc.0.min(b.0), acc.1.max(b.1), acc.2 + b.2)
                })
        })
        .collect();
}

const HIST_BINS: usize = 24;

impl Stats {
    pub fn compute<'a>(
        parts: impl IntoIterator<Item = &'a Part>,
        copies: f64,
        disjoint: bool,
        weights: &[f64],
        sizes: &TableSizes,
    ) -> Stats {
        let mut s = Stats {
            min_ts: f64::INFINITY,
            max_ts: f64::NEG_INFINITY,
            max_ldt: f64::NEG_INFINITY,
            ..Stats::default()
        };
        // Overlapping copies written one after the other each store the union of their share of
        // the writes: together more than the union a read or compaction of them gives (found by
        // the agreement suite: upserts into a small population stored 26 % too few cell
        // tombstones). Disjoint copies split the partitions instead.
        let overlapping = if disjoint { 1.0 } else { copies };
        for part in parts {
            let w = weights[part.pidx as usize];
            if let Some(t) = part.pdel {
                s.tombstones.partition += w;
                s.min_ts = s.min_ts.min(t);
                s.max_ts = s.max_ts.max(t);
                s.max_ldt = s.max_ldt.max(t);
                s.drop_hist.push((t, t, w));
            }
            let mut frag_bytes = 0.0;
            let kept = part.kept_shares();
            for (k, f) in part.frags.iter().enumerate() {
                let kept = kept.as_ref().map_or(1.0, |s| s[k]);
                let stored = f.stored_over_union(overlapping) * kept;
                frag_bytes += f.bytes(sizes) * stored;
                let f = &Frag {
                    rows: f.rows * stored,
                    ..*f
                };
                let cells = w * f.cells(sizes);
                s.cells += cells;
                s.min_ts = s.min_ts.min(f.t_min());
                s.max_ts = s.max_ts.max(f.t_max());
                s.max_ldt = s
                    .max_ldt
                    .max(f.max_ldt(f.t_max(), &sizes.shapes[f.shape as usize]));
                s.tombstones.add(&stored_tombstones(f, w, cells, sizes));
                if f.kind != Kind::Rows || f.ttl > 0.0 {
                    let ttl = f.kind == Kind::Rows;
                    f.expiry_bins(cells, |bin| {
                        s.drop_hist.push(bin);
                        if ttl {
                            s.ttl_hist.push(bin);
                        }
                    });
                }
            }
            let bytes = part.bytes_around(frag_bytes, sizes);
            s.bytes += w * bytes;
            s.partitions += w;
            s.keys += w * if disjoint {
                1.0
            } else {
                presence_in(part, copies)
            };
            let per_sstable = if disjoint {
                bytes
            } else {
                bytes / presence_in(part, copies).max(1.0)
            };
            s.max_partition_bytes = s.max_partition_bytes.max(per_sstable);
        }
        compact_hist(&mut s.drop_hist, HIST_BINS);
        compact_hist(&mut s.ttl_hist, HIST_BINS);
        s.ttl_span = s.ttl_hist.iter().fold(
            (f64::INFINITY, f64::NEG_INFINITY, 0.0),
            |(lo, hi, cells), b| (lo.min(b.0), hi.max(b.1), cells + b.2),
        );
        s
    }

    /// Bytes and tombstones by kind at `now` (expired TTL cells included) of `parts`: what
    /// `compute` then `tombstones_at` give, without the histograms (the memtable, every sample).
    pub fn totals_at<'a>(
        parts: impl IntoIterator<Item = &'a Part>,
        weights: &[f64],
        sizes: &TableSizes,
        now: f64,
    ) -> (f64, Tombstones) {
        let mut bytes = 0.0;
        let mut t = Tombstones::default();
        for part in parts {
            let w = weights[part.pidx as usize];
            if part.pdel.is_some() {
                t.partition += w;
            }
            let kept = part.kept_shares();
            let mut frag_bytes = 0.0;
            for (k, f) in part.frags.iter().enumerate() {
                let f = &Frag {
                    rows: f.rows * kept.as_ref().map_or(1.0, |s| s[k]),
                    ..*f
                };
                frag_bytes += f.bytes(sizes);
                let cells = w * f.cells(sizes);
                t.add(&stored_tombstones(f, w, cells, sizes));
                if f.kind == Kind::Rows && f.ttl > 0.0 {
                    f.expiry_bins(cells, |bin| t.expired += hist_before(&[bin], now));
                }
            }
            bytes += w * part.bytes_around(frag_bytes, sizes);
        }
        (bytes, t)
    }

    /// Tombstones by kind at `now`, expired TTL cells included.
    pub fn tombstones_at(&self, now: f64) -> Tombstones {
        let mut t = self.tombstones;
        let (lo, hi, cells) = self.ttl_span;
        t.expired += if now >= hi {
            cells
        } else if now <= lo {
            0.0
        } else {
            hist_before(&self.ttl_hist, now)
        };
        t
    }

    /// The estimated droppable-tombstone ratio at `gc_before` (CASSANDRA.md 5.1 step 3).
    pub fn droppable_ratio(&self, gc_before: f64) -> f64 {
        if self.cells <= 0.0 {
            return 0.0;
        }
        hist_before(&self.drop_hist, gc_before) / self.cells
    }
}

/// The tombstones a frag stores, by kind, for `w` real partitions holding `cells` of its cells;
/// expiring cells are not yet tombstones (`Stats::tombstones_at` counts them once expired).
fn stored_tombstones(f: &Frag, w: f64, cells: f64, sizes: &TableSizes) -> Tombstones {
    let shape = &sizes.shapes[f.shape as usize];
    let mut t = Tombstones::default();
    match f.kind {
        Kind::Rows => {
            t.cell += w * f.rows * shape.null_cells;
            // A collection overwrite's complex deletion: a range-like tombstone per row.
            t.range += w * f.rows * shape.complex_deletions;
        }
        Kind::Expired | Kind::ExpiredLiveness => t.expired += cells,
        Kind::RowTombstones | Kind::CoveredRowTombstones => t.row += cells,
        Kind::RangeTombstone => t.range += w,
        Kind::CellTombstones => t.cell += cells,
    }
    t
}

/// How many of `copies` overlapping sstables hold a partition with `writes` write requests
/// (per real partition) spread over them at random: less than one when a real partition of the
/// tracked one is written less than once in the flush (found by the agreement suite: registry's
/// files, written 0.3 times per flush each, were read from every flush). A part without counted
/// writes (a compaction's output keeps its inputs' counts) is in one of them.
fn presence_in(part: &Part, copies: f64) -> f64 {
    let c = copies.max(1.0);
    if part.writes <= 0.0 {
        return 1.0;
    }
    c * (1.0 - (-part.writes / c).exp())
}

#[derive(Debug, Clone, PartialEq)]
pub struct SSTable {
    pub id: u64,
    /// Alike sstables this record stands for (at least 1).
    pub copies: f64,
    /// The copies split the token range (an LCS level, UCS shards): a partition is in one of them.
    pub disjoint: bool,
    /// LCS or UCS level; 0 for flushes.
    pub level: u32,
    /// When the data was written (the oldest flush time among its inputs), for
    /// tombstone_compaction_interval.
    pub created_s: f64,
    /// Tracked partitions' content, sorted by `pidx`. Changed only by `new` or followed by
    /// `refresh`, which keep `pidxs` and `stats` with it.
    pub parts: Vec<Part>,
    /// `parts[i].pidx`, side by side: lookups and the sampler's walk over every record's
    /// partitions read four bytes a partition instead of a cache line (R1 keeps thousands of
    /// records; walking their parts was 7 % of its run).
    pidxs: Vec<u32>,
    pub stats: Stats,
    pub compacting: bool,
    /// Written by a flush and not compacted since.
    pub flushed: bool,
    /// When it is on disk: a flush within an engine step at the time the pool filled, not the
    /// step's start. No compaction takes it before (found by the real node: heap-burst's last
    /// flush, two seconds before the end, was compacted at once with the step's whole
    /// compaction budget, 1 sstable at the end against the real node's 4).
    pub ready_s: f64,
}

impl SSTable {
    pub fn new(
        id: u64,
        parts: Vec<Part>,
        copies: f64,
        disjoint: bool,
        created_s: f64,
        weights: &[f64],
        sizes: &TableSizes,
    ) -> SSTable {
        let stats = Stats::compute(&parts, copies, disjoint, weights, sizes);
        SSTable {
            pidxs: parts.iter().map(|p| p.pidx).collect(),
            id,
            copies: copies.max(1.0),
            disjoint,
            level: 0,
            created_s,
            parts,
            stats,
            compacting: false,
            flushed: false,
            ready_s: created_s,
        }
    }

    pub fn part(&self, pidx: u32) -> Option<&Part> {
        // Generations of time-bucketed tables take increasing indices: an old sstable's range
        // rejects a new partition at once.
        match (self.pidxs.first(), self.pidxs.last()) {
            (Some(&a), Some(&b)) if pidx >= a && pidx <= b => {}
            _ => return None,
        }
        let i = self.pidxs.binary_search(&pidx).ok()?;
        debug_assert_eq!(self.parts[i].pidx, pidx, "pidxs follow parts");
        Some(&self.parts[i])
    }

    /// The tracked partitions this record holds, ascending.
    pub fn pidxs(&self) -> &[u32] {
        &self.pidxs
    }

    /// Bytes of one of the alike sstables.
    pub fn bytes_per_copy(&self) -> f64 {
        self.stats.bytes / self.copies
    }

    /// How many of this record's sstables hold `part`, one of its parts (CASSANDRA.md 7.2
    /// counts them).
    pub fn presence_of(&self, part: &Part) -> f64 {
        if self.disjoint {
            1.0
        } else {
            presence_in(part, self.copies)
        }
    }

    /// Recomputes the statistics after the parts changed.
    pub fn refresh(&mut self, weights: &[f64], sizes: &TableSizes) {
        self.pidxs.clear();
        self.pidxs.extend(self.parts.iter().map(|p| p.pidx));
        self.stats = Stats::compute(&self.parts, self.copies, self.disjoint, weights, sizes);
    }

    /// Splits off `take` of the copies into a new record (id `new_id`): the copies were written
    /// one after the other, so the taken ones hold the oldest writes; `self` keeps the rest.
    pub fn split_copies(
        &mut self,
        take: f64,
        new_id: u64,
        weights: &[f64],
        sizes: &TableSizes,
    ) -> SSTable {
        let share = (take / self.copies).clamp(0.0, 1.0);
        let cut = self.stats.min_ts + share * (self.stats.max_ts - self.stats.min_ts);
        let mut taken = Vec::with_capacity(self.parts.len());
        let mut kept = Vec::with_capacity(self.parts.len());
        for p in &self.parts {
            let (old, new) = p.split_at(cut);
            if !old.is_empty() {
                taken.push(old);
            }
            if !new.is_empty() {
                kept.push(new);
            }
        }
        self.parts = kept;
        self.copies -= take;
        self.refresh(weights, sizes);
        let mut out = SSTable::new(
            new_id,
            taken,
            take,
            self.disjoint,
            self.created_s,
            weights,
            sizes,
        );
        out.level = self.level;
        out.flushed = self.flushed;
        out.ready_s = self.ready_s;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fixtures;
    use crate::engine::frag::Kept;

    fn sizes() -> TableSizes {
        fixtures::sizes(2.0, 100.0, 0.0)
    }

    #[test]
    fn ttl_cells_fill_the_drop_time_histogram() {
        let mut p = Part::new(0);
        p.push(Frag {
            lo: 0.0,
            hi: 100.0,
            rows: 100.0,
            t0: 0.0,
            t1: 100.0,
            ordered: true,
            kind: Kind::Rows,
            ttl: 1000.0,
            shape: 0,
            merged: false,
            kept: Kept::ALL,
        });
        let s = SSTable::new(1, vec![p], 1.0, false, 0.0, &[3.0], &sizes());
        assert_eq!(s.stats.bytes, 3.0 * 100.0 * 100.0);
        assert_eq!(s.stats.max_ldt, 1100.0);
        assert!((s.stats.droppable_ratio(1050.0) - 0.5).abs() < 1e-9);
        assert!((s.stats.tombstones_at(1100.0).expired - 600.0).abs() < 1e-9);
    }

    #[test]
    fn a_partition_written_less_than_once_per_flush_is_in_few_of_them() {
        let mut p = Part::new(0);
        p.writes = 0.3;
        assert!((presence_in(&p, 1.0) - (1.0 - (-0.3f64).exp())).abs() < 1e-12);
        assert!(presence_in(&p, 10.0) < 0.3);
        p.writes = 40.0;
        assert!(presence_in(&p, 4.0) > 3.99);
        // No counted writes (a compaction's output of uncounted parts): in one sstable.
        p.writes = 0.0;
        assert_eq!(presence_in(&p, 4.0), 1.0);
    }

    #[test]
    fn memtable_totals_match_the_full_statistics() {
        let mut p = Part::new(0);
        let frag = |lo: f64, kind, ttl| Frag {
            lo,
            hi: lo + 50.0,
            rows: 50.0,
            t0: lo,
            t1: lo + 50.0,
            ordered: true,
            kind,
            ttl,
            shape: 0,
            merged: false,
            kept: Kept::ALL,
        };
        p.push(frag(0.0, Kind::Rows, 1000.0));
        p.push(frag(50.0, Kind::RowTombstones, 0.0));
        p.push(frag(100.0, Kind::Expired, 0.0));
        p.pdel = Some(10.0);
        let parts = [p];
        let full = Stats::compute(&parts, 1.0, false, &[3.0], &sizes());
        for now in [0.0, 1020.0, 1040.0, 2000.0] {
            let (bytes, t) = Stats::totals_at(&parts, &[3.0], &sizes(), now);
            assert_eq!(bytes, full.bytes);
            let want = full.tombstones_at(now);
            assert!(
                (t.expired - want.expired).abs() < 1e-9,
                "{now}: {t:?} vs {want:?}"
            );
            assert_eq!(
                (t.row, t.partition, t.cell),
                (want.row, want.partition, want.cell)
            );
            assert!(t.expired > 0.0 && t.row > 0.0);
        }
    }

    #[test]
    fn copies_split_keeps_the_oldest_share() {
        let mut p = Part::new(0);
        p.writes = 40.0;
        p.push(Frag {
            lo: 0.0,
            hi: 40.0,
            rows: 40.0,
            t0: 0.0,
            t1: 40.0,
            ordered: true,
            kind: Kind::Rows,
            ttl: 0.0,
            shape: 0,
            merged: false,
            kept: Kept::ALL,
        });
        let mut s = SSTable::new(1, vec![p], 4.0, false, 0.0, &[1.0], &sizes());
        assert!(s.presence_of(s.part(0).expect("part 0")) > 3.9);
        let taken = s.split_copies(1.0, 2, &[1.0], &sizes());
        assert_eq!(taken.copies, 1.0);
        assert_eq!(taken.parts[0].frags[0].hi, 10.0);
        assert_eq!(s.copies, 3.0);
        assert_eq!(s.stats.max_ts, 40.0);
    }
}
