//! What the reference engine stores: every row, row deletion, cell deletion and range tombstone
//! of a partition as its own entry with its write timestamp, and the partition deletion
//! (CASSANDRA.md 6.1); and the one merge rule both reads and compactions apply to a partition's
//! sources (7.1 step 7): newest wins, deletions shadow what is older.

/// What an entry is (CASSANDRA.md 6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EKind {
    /// A row written by one statement (its cells; expiring when `ttl > 0`).
    Row,
    /// An expired row rewritten by a compaction as a tombstone: ldt = its write time (6.2.3).
    Expired,
    /// An expired row a compaction kept for its primary-key liveness alone, its cells purged.
    ExpiredLiveness,
    /// A row deletion.
    RowDel,
    /// Cell deletions on a row (`DELETE col`, element removal): they shadow no row.
    CellDel,
    /// A range tombstone over `[ck, hi)`.
    Range,
}

/// One entry of a partition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entry {
    pub ck: f64,
    /// End of a range tombstone (exclusive); `ck` otherwise.
    pub hi: f64,
    pub ts: f64,
    pub ttl: f64,
    pub kind: EKind,
    /// The writing statement's shape (index into the table's shapes): a statement overwrites its
    /// own cells; different statements write different columns of the same row.
    pub shape: u16,
}

impl Entry {
    /// A row deletion at `ck`, for tests.
    #[cfg(test)]
    pub fn row_deletion(ck: f64, ts: f64) -> Entry {
        Entry {
            kind: EKind::RowDel,
            ..Entry::row(ck, ts, 0.0, 0)
        }
    }

    pub fn row(ck: f64, ts: f64, ttl: f64, shape: u16) -> Entry {
        Entry {
            ck,
            hi: ck,
            ts,
            ttl,
            kind: EKind::Row,
            shape,
        }
    }

    /// Local deletion time: expiry for a TTL row, never for a plain row, the write time for
    /// every tombstone (CASSANDRA.md 6.2, 6.3).
    pub fn ldt(&self) -> f64 {
        match self.kind {
            EKind::Row if self.ttl > 0.0 => self.ts + self.ttl,
            EKind::Row => f64::INFINITY,
            _ => self.ts,
        }
    }

    /// What of an expired row the purge at `gc_before` lets go (`frag::lapsed`, the engine's
    /// one rule); rows and their rewritten forms only.
    pub fn lapsed(&self, repurge: bool, gc_before: f64) -> crate::engine::frag::Lapsed {
        let converted = self.kind != EKind::Row;
        crate::engine::frag::lapsed(self.ts, self.ttl, converted, repurge, gc_before)
    }

    /// The latest local deletion time the entry holds: a rewritten row's liveness (when its
    /// shape has one) expires with its TTL, after its cells' tombstones (`Frag::max_ldt`).
    pub fn max_ldt(&self, liveness: bool) -> f64 {
        match self.kind {
            EKind::Expired | EKind::ExpiredLiveness if liveness => {
                self.ldt().max(self.ts + self.ttl)
            }
            _ => self.ldt(),
        }
    }

    pub fn live(&self, now: f64) -> bool {
        self.kind == EKind::Row && (self.ttl <= 0.0 || now < self.ts + self.ttl)
    }

    /// Whether this entry supersedes `older` at the same clustering (reconciliation by
    /// timestamp): a row deletion hides every older entry of the row; a statement's new write
    /// hides its own older write or expired cells. A row written again after its deletion keeps
    /// the deletion beside it: Cassandra's row merge drops a row deletion older than the row's
    /// liveness only when it is shadowable (materialized views' `Row.Deletion.isShadowedBy`), so
    /// a regular one stays on disk until it is purged; reads do not count it while the row has
    /// live data (CASSANDRA.md 6.4).
    fn supersedes(&self, older: &Entry) -> bool {
        if self.ts < older.ts || older.kind == EKind::Range {
            return false;
        }
        match self.kind {
            EKind::RowDel => true,
            EKind::Row | EKind::Expired | EKind::ExpiredLiveness => {
                matches!(
                    older.kind,
                    EKind::Row | EKind::Expired | EKind::ExpiredLiveness
                ) && older.shape == self.shape
            }
            _ => false,
        }
    }
}

/// One partition in one memtable or sstable, or merged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RefPart {
    /// Entries in clustering order (range tombstones by their start).
    pub entries: Vec<Entry>,
    /// Partition deletion: its timestamp (= its local deletion time).
    pub pdel: Option<f64>,
}

impl RefPart {
    pub fn min_ts(&self) -> f64 {
        let e = self
            .entries
            .iter()
            .map(|e| e.ts)
            .fold(f64::INFINITY, f64::min);
        e.min(self.pdel.unwrap_or(f64::INFINITY))
    }

    pub fn max_ts(&self) -> f64 {
        let e = self
            .entries
            .iter()
            .map(|e| e.ts)
            .fold(f64::NEG_INFINITY, f64::max);
        e.max(self.pdel.unwrap_or(f64::NEG_INFINITY))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.pdel.is_none()
    }
}

/// Merges a partition's sources as Cassandra's merge iterator does: the newest partition deletion
/// hides everything not newer; a range tombstone hides the older entries it covers; at one
/// clustering, newer entries hide those they supersede. Nothing is purged here.
pub fn reconcile(sources: &[&RefPart]) -> RefPart {
    let pdel = sources.iter().filter_map(|p| p.pdel).reduce(f64::max);
    let after_pdel = |e: &&Entry| pdel.is_none_or(|d| e.ts > d);
    let all = sources
        .iter()
        .flat_map(|p| p.entries.iter())
        .filter(after_pdel);
    let (mut ranges, mut rows): (Vec<Entry>, Vec<Entry>) =
        all.partition(|e| e.kind == EKind::Range);
    // Each source is in clustering order already: the sort merges their runs.
    rows.sort_by(|a, b| a.ck.total_cmp(&b.ck).then(b.ts.total_cmp(&a.ts)));
    ranges.sort_by(|a, b| a.ck.total_cmp(&b.ck));
    // A sweep over clustering order with the range tombstones open at each row.
    let mut next_range = 0;
    let mut open: Vec<Entry> = Vec::new();
    let mut entries: Vec<Entry> = Vec::with_capacity(rows.len() + ranges.len());
    let mut group_start = 0;
    for e in rows {
        while next_range < ranges.len() && ranges[next_range].ck <= e.ck {
            open.push(ranges[next_range]);
            next_range += 1;
        }
        open.retain(|r| r.hi > e.ck);
        if open.iter().any(|r| r.ts >= e.ts) {
            continue;
        }
        if entries[group_start..].first().is_none_or(|f| f.ck != e.ck) {
            group_start = entries.len();
        }
        if !entries[group_start..].iter().any(|k| k.supersedes(&e)) {
            entries.push(e);
        }
    }
    // Newest first within a clustering, then the ranges in place: back to write order.
    entries.extend(ranges);
    entries.sort_by(|a, b| a.ck.total_cmp(&b.ck).then(a.ts.total_cmp(&b.ts)));
    RefPart { entries, pdel }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ttl_row_expires_and_tombstones_date_from_their_write() {
        let r = Entry::row(1.0, 100.0, 50.0, 0);
        assert!(r.live(149.0) && !r.live(150.0));
        assert_eq!(r.ldt(), 150.0);
        let t = Entry {
            kind: EKind::Expired,
            ..r
        };
        assert_eq!(t.ldt(), 100.0);
        assert!(!t.live(0.0));
    }

    #[test]
    fn newer_deletions_hide_older_rows_and_a_newer_row_keeps_an_older_deletion_beside_it() {
        let a = RefPart {
            entries: vec![Entry::row(1.0, 10.0, 0.0, 0), Entry::row(2.0, 10.0, 0.0, 0)],
            pdel: None,
        };
        let b = RefPart {
            entries: vec![
                Entry::row_deletion(1.0, 20.0),
                Entry::row_deletion(1.0, 15.0),
                Entry::row_deletion(2.0, 5.0),
                Entry::row(2.0, 3.0, 0.0, 0),
            ],
            pdel: None,
        };
        let m = reconcile(&[&a, &b]);
        // Row 1: the newest deletion only. Row 2: written at 10 after its deletion at 5, which
        // stays stored (not shadowable) and still hides the write at 3.
        assert_eq!(
            m.entries,
            vec![
                Entry::row_deletion(1.0, 20.0),
                Entry::row_deletion(2.0, 5.0),
                Entry::row(2.0, 10.0, 0.0, 0)
            ]
        );
    }

    #[test]
    fn a_statement_overwrites_its_own_cells_only() {
        let a = RefPart {
            entries: vec![Entry::row(1.0, 10.0, 0.0, 0), Entry::row(1.0, 11.0, 0.0, 1)],
            pdel: None,
        };
        let b = RefPart {
            entries: vec![Entry::row(1.0, 20.0, 0.0, 0)],
            pdel: None,
        };
        let m = reconcile(&[&a, &b]);
        assert_eq!(
            m.entries,
            vec![Entry::row(1.0, 11.0, 0.0, 1), Entry::row(1.0, 20.0, 0.0, 0)]
        );
    }

    #[test]
    fn range_and_partition_deletions_hide_what_is_older() {
        let range = Entry {
            hi: 3.0,
            kind: EKind::Range,
            ..Entry::row(0.0, 15.0, 0.0, 0)
        };
        let a = RefPart {
            entries: (0..5)
                .map(|k| Entry::row(k as f64, 10.0 + k as f64, 0.0, 0))
                .collect(),
            pdel: None,
        };
        let b = RefPart {
            entries: vec![range],
            pdel: Some(10.5),
        };
        let m = reconcile(&[&a, &b]);
        let cks: Vec<f64> = m.entries.iter().map(|e| e.ck).collect();
        // Row 0 is under the partition deletion; rows 1 and 2 under the range; 3 and 4 live.
        assert_eq!(cks, vec![0.0, 3.0, 4.0]);
        assert_eq!(m.entries[0].kind, EKind::Range);
        assert_eq!(m.pdel, Some(10.5));
    }
}
