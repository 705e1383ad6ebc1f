//! A partition's content as runs in clustering order (DESIGN.md 3, "Partitions and rows"): a `Frag`
//! is a count of rows with one state over a clustering interval, with the write times that matter.
//! A time-series append, a queue's head deletes or the TTL expiry of the oldest rows cost one frag
//! each, whatever the rate. `Part` is one partition's frags in one memtable or sstable.

/// Cassandra's write timestamp resolution (microseconds): two writes on either side of a flush or
/// a step boundary are at least this far apart.
pub const TIMESTAMP_RESOLUTION_S: f64 = 1e-6;

/// Two runs join into one only when the second starts within this of the first's end (steps
/// leave a millisecond between them), so a run's positions keep mapping linearly to write times.
const JOIN_TIME_GAP_S: f64 = 1.0;

/// What a frag holds (CASSANDRA.md 6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Rows written by INSERT or UPDATE (expiring when `ttl > 0`); their shape gives the cells.
    Rows,
    /// Expired TTL cells rewritten by a compaction as tombstones: ldt = write time (CASSANDRA.md 6.2).
    Expired,
    /// Expired rows a compaction kept for their primary-key liveness alone, their cells purged
    /// (`Lapsed::Liveness`): a row header and an expired liveness each, sized as a row deletion,
    /// gone gc_grace after the expiry.
    ExpiredLiveness,
    /// Row deletions: one per row.
    RowTombstones,
    /// Row deletions whose rows were written again after them: Cassandra's row merge keeps a
    /// regular row deletion beside the newer cells until it is purged (`Row.Merger` drops only a
    /// materialized view's shadowable deletion; CASSANDRA.md 6.4). Stored and purgeable like row
    /// tombstones; reads do not count them (the row has live data) and they hide nothing the
    /// newer rows at their positions do not already hide.
    CoveredRowTombstones,
    /// One range tombstone over the interval: two markers.
    RangeTombstone,
    /// Cell tombstones on existing rows (`DELETE col`, element removal): they shadow no row.
    CellTombstones,
}

/// Per-row facts of what one write statement stores, shared by the frags it creates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// Cells with a value per row (regular and static columns written).
    pub cells: f64,
    /// Cell tombstones per row: bound nulls and removed collection elements.
    pub null_cells: f64,
    /// The variance of `null_cells` from row to row: a column bound null in a share of the
    /// writes is a tombstone in that share of the rows, not a fraction of one in each.
    pub null_var: f64,
    /// Complex deletions (non-frozen collection overwrites) per row: stored, not counted on reads.
    pub complex_deletions: f64,
    /// Primary-key liveness (INSERT): the row stays alive with no cells.
    pub liveness: bool,
    /// Serialized bytes per row (CASSANDRA.md 3.8).
    pub bytes: f64,
    /// Bytes per row once expired cells are rewritten as tombstones (no values).
    pub expired_bytes: f64,
}

/// What an expired row still holds at `gc_before` (CASSANDRA.md 6.2, 6.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lapsed {
    /// Its cells, as tombstones: a read counts one each, a compaction keeps them.
    Cells,
    /// Its cells are purgeable, its primary-key liveness (an INSERT's) not yet: a read counts
    /// one tombstone for the row, a compaction keeps the row with no cells.
    Liveness,
    /// Nothing: purgeable whole.
    Gone,
}

/// What of a row written at `write` with a TTL of `ttl` is left at `gc_before`, once expired.
/// An expired cell is purged at its expiry plus gc_grace (`AbstractCell.purge`); a compaction
/// (`converted`) or, from 4.1, the same purge (`repurge`) rewrites it as a tombstone dated from
/// the write, purged gc_grace after the write, so with a TTL of at least gc_grace at once. The
/// primary-key liveness is not rewritten: it is purged gc_grace after the expiry
/// (`DeletionPurger.shouldPurge(LivenessInfo)` takes its expiration time). Found by the real
/// node: expired sessions (two cells, TTL 60 s, gc_grace 30 s) counted 1 tombstone, not 2.
pub fn lapsed(write: f64, ttl: f64, converted: bool, repurge: bool, gc_before: f64) -> Lapsed {
    let cells_gone = if converted || repurge {
        write < gc_before
    } else {
        write + ttl < gc_before
    };
    if !cells_gone {
        Lapsed::Cells
    } else if write + ttl >= gc_before {
        Lapsed::Liveness
    } else {
        Lapsed::Gone
    }
}

/// A run of rows with one state over the clustering interval `[lo, hi)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frag {
    pub lo: f64,
    pub hi: f64,
    /// Distinct rows in the interval: `hi - lo` when dense (appends), fewer for upserts into a
    /// population or random deletes.
    pub rows: f64,
    /// Write times in seconds: at `lo` and at `hi` when `ordered` (positions follow time), else
    /// the earliest and latest write.
    pub t0: f64,
    pub t1: f64,
    pub ordered: bool,
    pub kind: Kind,
    /// TTL of the cells in seconds, 0 for none.
    pub ttl: f64,
    /// Index into the table's shapes.
    pub shape: u16,
    /// Written by a compaction: its rows are disjoint from every other frag of the same part
    /// (the merge kept only what newer data did not shadow), so reading them again must not
    /// discount them a second time.
    pub merged: bool,
    /// Of the rows written at random positions, the share the compactions that wrote this frag
    /// kept (all for frags as written): each row stayed or went on its own, so a real partition
    /// holds a binomial count around `rows`, which reads draw (`Piece::tally`).
    pub kept: Kept,
}

/// A share in [0, 1] in 16 bits: `Frag` stays 56 bytes (R1 ran 5 % slower with a 64-byte frag
/// holding an `f32`), and a variance needs no more than four digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kept(u16);

impl Kept {
    pub const ALL: Kept = Kept(u16::MAX);

    pub fn new(share: f64) -> Kept {
        Kept((share.clamp(0.0, 1.0) * f64::from(u16::MAX)).round() as u16)
    }

    pub fn share(self) -> f64 {
        f64::from(self.0) / f64::from(u16::MAX)
    }
}

impl Frag {
    pub fn len(&self) -> f64 {
        self.hi - self.lo
    }

    /// The share of its interval's positions its rows hold (1 for an empty interval).
    #[inline]
    pub fn density(&self) -> f64 {
        if self.len() > 0.0 {
            (self.rows / self.len()).min(1.0)
        } else {
            1.0
        }
    }

    pub fn t_min(&self) -> f64 {
        self.t0.min(self.t1)
    }

    pub fn t_max(&self) -> f64 {
        self.t0.max(self.t1)
    }

    /// The write time at clustering position `x` (ordered frags), else the midpoint.
    pub fn time_at(&self, x: f64) -> f64 {
        if self.ordered && self.len() > 0.0 {
            self.t0 + (self.t1 - self.t0) * ((x - self.lo) / self.len()).clamp(0.0, 1.0)
        } else {
            0.5 * (self.t0 + self.t1)
        }
    }

    /// The share of its rows written after `t`, which a partition deletion at `t` leaves: its
    /// writes are spread evenly over `[t0, t1]`; a deletion wins a tie, as in the merge by
    /// timestamp (CASSANDRA.md 7.1 step 7).
    /// Found by the agreement suite: the partition deletions of a step fell on the middle of its
    /// upserts and left all of them (registry: +4 % live rows). Upserts into a population are
    /// the union of their writes: a deletion leaves the rows written after it, which are more
    /// than their time's share of the union (`rows_written_in`). Found by the agreement suite:
    /// with a memtable holding partitions for hours, pro rata left the registry's entries 47 %
    /// of their live rows short.
    pub fn share_after(&self, t: f64) -> f64 {
        if self.t1 > self.t0 {
            let s = ((self.t1 - t) / (self.t1 - self.t0)).clamp(0.0, 1.0);
            if !self.is_written_union() || self.rows <= 0.0 || s <= 0.0 || s >= 1.0 {
                return s;
            }
            (self.rows_written_in(s) / self.rows).min(1.0)
        } else if self.t0 > t {
            1.0
        } else {
            0.0
        }
    }

    /// What of this frag a partition deletion at `t` leaves, in place and time: the positions
    /// written after `t` of a run, the writes after `t` of upserts; `None` when nothing is
    /// left. The rows are the caller's (what the merge found visible): left as they are.
    /// Found by the agreement suite: a compaction kept or dropped a piece whole by its middle
    /// time, so upserts straddling a deletion either vanished or kept a span reaching before it,
    /// and every later merge and read took the deletion's share off again (the registry's
    /// entries 5 % short of live rows).
    pub fn after(&self, t: f64) -> Option<Frag> {
        if self.t_max() <= t {
            return None;
        }
        if self.t_min() > t {
            return Some(*self);
        }
        let lo = self.position_at(t).unwrap_or(self.lo);
        Some(Frag { lo, t0: t, ..*self })
    }

    /// The clustering position written at time `t` (ordered frags only).
    pub fn position_at(&self, t: f64) -> Option<f64> {
        if !self.ordered || self.t1 <= self.t0 || t <= self.t0 || t >= self.t1 {
            return None;
        }
        Some(self.lo + self.len() * (t - self.t0) / (self.t1 - self.t0))
    }

    /// The latest local deletion time of a row written at `t` the sstable's statistics record:
    /// an expired row rewritten as tombstones keeps its primary-key liveness, which expires with
    /// the TTL (`MetadataCollector` records the liveness' expiration time too).
    pub fn max_ldt(&self, t: f64, shape: &Shape) -> f64 {
        match self.kind {
            Kind::Expired if shape.liveness && self.ttl > 0.0 => t + self.ttl,
            Kind::ExpiredLiveness => t + self.ttl,
            _ => self.ldt(t),
        }
    }

    /// The local deletion time of a row written at `t`: expiry for TTL cells, the write time for
    /// tombstones, never for plain live cells (CASSANDRA.md 6.2, 6.3).
    pub fn ldt(&self, t: f64) -> f64 {
        match self.kind {
            Kind::Rows if self.ttl > 0.0 => t + self.ttl,
            Kind::Rows => f64::INFINITY,
            _ => t,
        }
    }

    /// When `cells` of this frag reach their local deletion time, as histogram bins `(ldt_lo,
    /// ldt_hi, cells)` given to `bin`, cells spread evenly within a bin. A row's state follows
    /// its last write: of upserts at random members (as written, or a compaction's survivors),
    /// the rows last written late in their span are more than their time's share
    /// (`rows_written_in`), a one-row partition's all at the end; five bins narrowing towards
    /// the end hold that lean. Other frags: one bin over their span. Found by the agreement
    /// suite: spread evenly, a session refreshed for hours expired from its first refresh on,
    /// where its sstable holds one row that expires a TTL after the last (sessions written less
    /// than once a TTL: expired cells stored 3.7 % short).
    #[inline]
    pub fn expiry_bins(&self, cells: f64, mut bin: impl FnMut((f64, f64, f64))) {
        if self.leans_to_last_writes() {
            self.leaning_expiry_bins(cells, bin);
        } else {
            bin((self.ldt(self.t_min()), self.ldt(self.t_max()), cells));
        }
    }

    /// `expiry_bins` of a frag that leans to its last writes.
    #[inline(never)]
    fn leaning_expiry_bins(&self, cells: f64, mut bin: impl FnMut((f64, f64, f64))) {
        // Shares of the span from its start: halves towards the end.
        const BOUNDS: [f64; 6] = [0.0, 0.5, 0.75, 0.875, 0.9375, 1.0];
        let span = self.t1 - self.t0;
        let rows = self.rows_written_in(1.0).max(1e-300);
        for w in BOUNDS.windows(2) {
            let last_written = self.rows_written_in(1.0 - w[0]) - self.rows_written_in(1.0 - w[1]);
            bin((
                self.ldt(self.t0 + span * w[0]),
                self.ldt(self.t0 + span * w[1]),
                cells * last_written / rows,
            ));
        }
    }

    /// Whether its rows' last writes lean towards the end of its span (`expiry_bins`): upserts
    /// at random members, as written or a compaction's survivors.
    #[inline]
    pub fn leans_to_last_writes(&self) -> bool {
        !self.ordered
            && (self.is_written_union() || (self.merged && self.kind == Kind::Rows))
            && self.rows > 0.0
            && self.t1 > self.t0
    }

    /// Upserts (or random deletes) as written, not a compaction's survivors: the union of writes
    /// at random positions of a population, so a share of their time holds more than its share
    /// of their rows (`rows_written_in`).
    pub fn is_written_union(&self) -> bool {
        !self.ordered && !self.merged && self.kind != Kind::RangeTombstone && self.len() > 0.0
    }

    /// Rows, row deletions or cell deletions at random members of a population, as written:
    /// what a memtable reconciles with its other writes of the same rows (`Part::kept_shares`).
    /// An ordered frag of `kind` as a statement wrote it (appends, head deletes), not a
    /// compaction: what a memtable reconciles with the writes at the same positions.
    pub fn is_ordered_write(&self, kind: Kind) -> bool {
        self.ordered && !self.merged && self.kind == kind && self.hi > self.lo
    }

    pub fn is_random_write(&self) -> bool {
        !self.ordered
            && !self.merged
            && matches!(
                self.kind,
                Kind::Rows | Kind::RowTombstones | Kind::CellTombstones
            )
            && self.len() > 0.0
    }

    /// What `copies` sstables written one after the other over this frag's time store of it
    /// together, over its rows: each holds the union of its share of the writes, and a row
    /// written into two of them is stored twice. 1 for anything but a written union.
    pub fn stored_over_union(&self, copies: f64) -> f64 {
        if copies <= 1.0 || self.rows <= 0.0 || !self.is_written_union() {
            return 1.0;
        }
        (copies * self.rows_written_in(1.0 / copies) / self.rows).max(1.0)
    }

    /// The rows of written upserts (unordered, not a compaction's) written in a share `s` of
    /// their time span: they are the union of writes at random positions of a population, some
    /// rows written many times; writes falling evenly in time, the share holds `1 - (1 - r)^s`
    /// of the population for a union of density `r`.
    pub fn rows_written_in(&self, s: f64) -> f64 {
        let s = s.clamp(0.0, 1.0);
        let len = self.len();
        if len <= 0.0 {
            return self.rows * s;
        }
        let r = self.density();
        len * (1.0 - (1.0 - r).powf(s))
    }

    /// The part of this frag over `[a, b)`, rows pro rata and times interpolated.
    pub fn slice(&self, a: f64, b: f64) -> Frag {
        let a = a.max(self.lo);
        let b = b.min(self.hi);
        let share = if self.len() > 0.0 {
            ((b - a) / self.len()).max(0.0)
        } else {
            1.0
        };
        let (t0, t1) = if self.ordered {
            (self.time_at(a), self.time_at(b))
        } else {
            (self.t0, self.t1)
        };
        Frag {
            lo: a,
            hi: b,
            rows: self.rows * share,
            t0,
            t1,
            ..*self
        }
    }

    /// Whether `next` continues this frag without a gap and with the same state, so both can be
    /// one run.
    pub fn joins(&self, next: &Frag) -> bool {
        self.kind == next.kind
            && self.merged == next.merged
            && self.shape == next.shape
            && self.ttl == next.ttl
            && self.ordered
            && next.ordered
            && (self.hi - next.lo).abs() < 1e-9
            && (self.rows - self.len()).abs() < 1e-6
            && (next.rows - next.len()).abs() < 1e-6
            && next.t0 >= self.t1 - 1e-9
            // Time runs on: joining across a gap would bend the position-to-time line.
            && next.t0 - self.t1 <= JOIN_TIME_GAP_S
    }

    /// Serialized bytes (CASSANDRA.md 3), given the table's shapes and tombstone sizes.
    pub fn bytes(&self, sizes: &TableSizes) -> f64 {
        let shape = &sizes.shapes[self.shape as usize];
        match self.kind {
            Kind::Rows => self.rows * shape.bytes,
            Kind::Expired => self.rows * shape.expired_bytes,
            Kind::RowTombstones | Kind::CoveredRowTombstones | Kind::ExpiredLiveness => {
                self.rows * sizes.row_tombstone
            }
            Kind::RangeTombstone => sizes.range_tombstone,
            Kind::CellTombstones => self.rows * shape.null_cells * sizes.cell_tombstone,
        }
    }

    /// Cells and markers the frag stores: what a read deserializes and what the droppable
    /// tombstone ratio is taken over.
    pub fn cells(&self, sizes: &TableSizes) -> f64 {
        let shape = &sizes.shapes[self.shape as usize];
        match self.kind {
            Kind::Rows => self.rows * (shape.cells + shape.null_cells).max(1.0),
            Kind::Expired => self.rows * shape.cells.max(1.0),
            Kind::RowTombstones | Kind::CoveredRowTombstones | Kind::ExpiredLiveness => self.rows,
            Kind::RangeTombstone => 2.0,
            Kind::CellTombstones => self.rows * shape.null_cells,
        }
    }
}

/// Sizes a table's frags need: the shapes of its writes and its tombstone sizes.
#[derive(Debug, Clone, Default)]
pub struct TableSizes {
    pub shapes: Vec<Shape>,
    pub row_tombstone: f64,
    pub range_tombstone: f64,
    pub cell_tombstone: f64,
    pub partition_tombstone: f64,
    /// Partition key and header bytes, once per partition per sstable.
    pub partition_overhead: f64,
}

/// One partition's content in one memtable or sstable.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Part {
    /// Index of the tracked partition.
    pub pidx: u32,
    /// Runs in clustering order of `lo` (overlaps allowed only between unordered frags).
    pub frags: Vec<Frag>,
    /// Partition deletion: its timestamp (= local deletion time).
    pub pdel: Option<f64>,
    /// Write requests merged into this content: how many of a multi-copy record's sstables hold
    /// the partition (see `SSTable::presence`).
    pub writes: f64,
}

impl Part {
    pub fn new(pidx: u32) -> Part {
        Part {
            pidx,
            ..Part::default()
        }
    }

    pub fn is_empty(&self) -> bool {
        self.frags.is_empty() && self.pdel.is_none()
    }

    pub fn bytes(&self, sizes: &TableSizes) -> f64 {
        // One pass in the common case: no frag written at random members twice, no deleted
        // appends.
        let (mut bytes, mut random, mut deletes) = (0.0, 0, false);
        for f in &self.frags {
            bytes += f.bytes(sizes);
            random += usize::from(f.is_random_write());
            deletes |= f.is_ordered_write(Kind::RowTombstones);
        }
        if random > 1 || deletes {
            if let Some(kept) = self.kept_shares() {
                bytes = self
                    .frags
                    .iter()
                    .zip(kept)
                    .map(|(f, k)| f.bytes(sizes) * k)
                    .sum();
            }
        }
        self.bytes_around(bytes, sizes)
    }

    /// The partition's bytes given what its frags store: with its partition deletion, key and
    /// header.
    pub fn bytes_around(&self, frags: f64, sizes: &TableSizes) -> f64 {
        let pdel = if self.pdel.is_some() {
            sizes.partition_tombstone
        } else {
            0.0
        };
        frags + pdel + sizes.partition_overhead
    }

    pub fn t_min(&self) -> f64 {
        let f = self
            .frags
            .iter()
            .map(Frag::t_min)
            .fold(f64::INFINITY, f64::min);
        f.min(self.pdel.unwrap_or(f64::INFINITY))
    }

    pub fn t_max(&self) -> f64 {
        let f = self
            .frags
            .iter()
            .map(Frag::t_max)
            .fold(f64::NEG_INFINITY, f64::max);
        f.max(self.pdel.unwrap_or(f64::NEG_INFINITY))
    }

    /// Per frag, the share of its rows a reconciliation keeps as stored (a flush writes one
    /// version per row, as a memtable holds it): 1 but for rows at random members written again
    /// by newer frags over the same positions, and appended rows a newer head delete replaced
    /// (`deleted_appends`). A statement's newer upserts supersede its older
    /// ones, a newer row deletion supersedes every older row, deletion or cell deletion
    /// (CASSANDRA.md 7.1 step 7); a row written after its deletion keeps the deletion beside it.
    /// The frags of a step's writes join only the frag before them (`push`), so a partition
    /// written by two statements in turn keeps one frag per step and statement. Found by the
    /// agreement suite: a memtable holding the registry's index for hours stored 13 % too many
    /// row tombstones, and its files (chunk upserts beside static-row updates) flushed sstables
    /// 1.6 times too large for STCS to bucket them as the reference engine did. `None` when
    /// nothing is written again or deleted (most parts: no allocation).
    pub fn kept_shares(&self) -> Option<Vec<f64>> {
        // Two at least, or nothing is written again.
        if self.frags.len() < 2 {
            return None;
        }
        let random = self
            .frags
            .iter()
            .filter(|f| f.is_random_write())
            .nth(1)
            .is_some();
        let deleted_appends = self
            .frags
            .iter()
            .any(|f| f.is_ordered_write(Kind::RowTombstones));
        if !random && !deleted_appends {
            return None;
        }
        let mut shares = vec![1.0; self.frags.len()];
        if random {
            self.random_kept_shares(&mut shares);
        }
        if deleted_appends {
            self.deleted_appends(&mut shares);
        }
        Some(shares)
    }

    /// `kept_shares` of rows at random members: what newer frags over the same positions
    /// supersede.
    fn random_kept_shares(&self, shares: &mut [f64]) {
        // (lo, hi, class, share of the positions no newer frag of the class holds), newest
        // first; the class is a statement's cells (its shape) or row deletions (`None`).
        let mut free: Vec<(f64, f64, Option<u16>, f64)> = Vec::new();
        let slot = |free: &[(f64, f64, Option<u16>, f64)], f: &Frag, class: Option<u16>| {
            free.iter()
                .position(|g| g.0 == f.lo && g.1 == f.hi && g.2 == class)
        };
        for (k, f) in self.frags.iter().enumerate().rev() {
            if !f.is_random_write() {
                continue;
            }
            let open = |class| slot(&free, f, class).map_or(1.0, |i| free[i].3);
            // Every older row of the positions a newer deletion holds is gone.
            shares[k] = open(None);
            let class = match f.kind {
                Kind::Rows => Some(f.shape),
                Kind::RowTombstones => None,
                // Cell deletions shadow nothing.
                _ => continue,
            };
            if class.is_some() {
                shares[k] *= open(class);
            }
            match slot(&free, f, class) {
                Some(i) => free[i].3 *= 1.0 - f.density(),
                None => free.push((f.lo, f.hi, class, 1.0 - f.density())),
            }
        }
    }

    /// `kept_shares` of appended rows: a row deletion that reaches the memtable while its row
    /// is still there replaces the row (`Rows.merge`: the deletion drops the row's liveness and
    /// every older cell), so the flush writes the tombstone alone. Found by the real node: a
    /// queue's flushed sstables were 3.1 times too large and its partitions 6 times too wide
    /// (`reports/validation/queue-long-gc`). Appends and head deletes both advance through
    /// positions, so one sweep over each sorted by position finds every overlap.
    fn deleted_appends(&self, shares: &mut [f64]) {
        let pick = |kind: Kind| {
            let mut v: Vec<usize> = (0..self.frags.len())
                .filter(|&k| self.frags[k].is_ordered_write(kind))
                .collect();
            v.sort_by(|&a, &b| self.frags[a].lo.total_cmp(&self.frags[b].lo));
            v
        };
        let (rows, deletions) = (pick(Kind::Rows), pick(Kind::RowTombstones));
        let mut j = 0;
        for k in rows {
            let f = &self.frags[k];
            while j < deletions.len() && self.frags[deletions[j]].hi <= f.lo {
                j += 1;
            }
            // The union of the deletions' newer overlaps (sorted by start): a row deleted twice
            // is gone once.
            let (mut covered, mut reached) = (0.0, f64::NEG_INFINITY);
            for (a, b) in deletions[j..]
                .iter()
                .map(|&d| &self.frags[d])
                .take_while(|g| g.lo < f.hi)
                .filter_map(|g| newer_over(g, f))
            {
                covered += (b - a.max(reached)).max(0.0);
                reached = reached.max(b);
            }
            shares[k] *= (1.0 - covered / (f.hi - f.lo)).clamp(0.0, 1.0);
        }
    }

    /// Adds a frag, joining it to the last one when it continues it.
    pub fn push(&mut self, frag: Frag) {
        let empty = if frag.kind == Kind::RangeTombstone {
            frag.hi <= frag.lo
        } else {
            frag.rows <= 0.0
        };
        if empty {
            return;
        }
        if frag.kind == Kind::RangeTombstone {
            // A merge cuts a range tombstone where rows or newer range tombstones sit inside it;
            // its pieces are one tombstone again, spanning what newer data covers.
            let same = self.frags.iter_mut().rev().find(|f| {
                f.kind == Kind::RangeTombstone
                    && f.t0 == frag.t0
                    && f.t1 == frag.t1
                    && f.hi <= frag.lo + 1e-9
            });
            match same {
                Some(last) => last.hi = last.hi.max(frag.hi),
                None => self.frags.push(frag),
            }
            return;
        }
        if let Some(last) = self.frags.last_mut() {
            if last.joins(&frag) {
                last.hi = frag.hi;
                last.rows += frag.rows;
                last.t1 = frag.t1;
                return;
            }
            if let Some(u) = union_unordered(last, &frag) {
                *last = u;
                return;
            }
        }
        self.frags.push(frag);
    }

    /// Sorts frags by position and joins neighbours that continue each other.
    pub fn normalize(&mut self) {
        self.frags
            .sort_by(|a, b| a.lo.total_cmp(&b.lo).then(a.t0.total_cmp(&b.t0)));
        let frags = std::mem::take(&mut self.frags);
        for f in frags {
            self.push(f);
        }
    }

    /// Splits the content at write time `cut`: returns `(older, newer)`. Ordered frags split at
    /// the position written at `cut`; unordered ones share their rows by time. Used when a flush
    /// leaves the newest writes in the memtable, and when a multi-copy record gives its oldest
    /// copies to a compaction.
    pub fn split_at(&self, cut: f64) -> (Part, Part) {
        let (t_min, t_max) = (self.t_min(), self.t_max());
        let share = if t_max > t_min {
            ((cut - t_min) / (t_max - t_min)).clamp(0.0, 1.0)
        } else {
            f64::from(u8::from(cut >= t_max))
        };
        let mut older = Part {
            pidx: self.pidx,
            frags: Vec::new(),
            pdel: self.pdel.filter(|d| *d < cut),
            writes: self.writes * share,
        };
        let mut newer = Part {
            pidx: self.pidx,
            frags: Vec::new(),
            pdel: self.pdel.filter(|d| *d >= cut),
            writes: self.writes * (1.0 - share),
        };
        // Timestamps are distinct in Cassandra (microseconds): the older side ends one before.
        let before = |f: Frag| Frag {
            t0: f.t0.min(cut - TIMESTAMP_RESOLUTION_S),
            t1: f.t1.min(cut - TIMESTAMP_RESOLUTION_S),
            ..f
        };
        for f in &self.frags {
            if f.t_max() < cut {
                older.push(*f);
            } else if f.t_min() >= cut {
                newer.push(*f);
            } else if f.ordered {
                let x = f.position_at(cut).unwrap_or(f.lo);
                older.push(before(f.slice(f.lo, x)));
                newer.push(f.slice(x, f.hi));
            } else {
                let s = ((cut - f.t0) / (f.t1 - f.t0).max(1e-9)).clamp(0.0, 1.0);
                let (old_rows, new_rows) = if f.is_written_union() {
                    (f.rows_written_in(s), f.rows_written_in(1.0 - s))
                } else {
                    (f.rows * s, f.rows * (1.0 - s))
                };
                older.push(before(Frag {
                    rows: old_rows,
                    t1: cut,
                    ..*f
                }));
                newer.push(Frag {
                    rows: new_rows,
                    t0: cut,
                    ..*f
                });
            }
        }
        (older, newer)
    }
}

/// Two unordered frags of the same kind over the same interval written one after the other are one
/// population: rows are the union of two random subsets (a memtable keeps one version per row).
fn union_unordered(a: &Frag, b: &Frag) -> Option<Frag> {
    let same = !a.ordered
        && !b.ordered
        && a.merged == b.merged
        && a.kind == b.kind
        && a.shape == b.shape
        && a.ttl == b.ttl
        && a.lo == b.lo
        && a.hi == b.hi
        && a.kind != Kind::RangeTombstone;
    if !same {
        return None;
    }
    let len = a.len().max(1e-9);
    let rows = if a.merged && b.merged {
        // A compaction's rows are disjoint: they add.
        a.rows + b.rows
    } else {
        len * (1.0 - (1.0 - a.rows / len) * (1.0 - b.rows / len))
    };
    let (t0, t1) = if a.merged && b.merged && a.ttl > 0.0 {
        // A compaction's survivors: rows still visible from older writes are the few not
        // overwritten since. Spread evenly between the oldest and the newest write, they would
        // expire too early; spread so that their mean write time is kept, they expire on time
        // (found by the agreement suite: upserts with a TTL came out 21 % short of live rows).
        let t1 = a.t1.max(b.t1);
        let total = (a.rows + b.rows).max(1e-12);
        let mean = (a.rows * 0.5 * (a.t0 + a.t1) + b.rows * 0.5 * (b.t0 + b.t1)) / total;
        ((2.0 * mean - t1).clamp(a.t0.min(b.t0), t1), t1)
    } else {
        (a.t0.min(b.t0), a.t1.max(b.t1))
    };
    // Rows of either kept by their own compactions: the share kept over both.
    let kept = if a.merged && b.merged && a.rows + b.rows > 0.0 {
        Kept::new((a.rows * a.kept.share() + b.rows * b.kept.share()) / (a.rows + b.rows))
    } else {
        a.kept
    };
    Some(Frag {
        rows: rows.min(len),
        t0,
        t1,
        kept,
        ..*a
    })
}

/// The positions `f` and `g` share (both ordered) where `g` was written at or after `f` (a
/// deletion wins a tie): all of the overlap when `g` is newer at both its ends (the times are
/// linear in position, so it is newer all along, and every segment of the merge's view finds it
/// so), none otherwise, so a flush never stores less than a compaction of it keeps
/// (`invariants.rs`). A consumer's deletes follow the writes by a delay everywhere.
fn newer_over(g: &Frag, f: &Frag) -> Option<(f64, f64)> {
    let (a, b) = (g.lo.max(f.lo), g.hi.min(f.hi));
    let newer = |x: f64| g.time_at(x) >= f.time_at(x);
    (b > a && newer(a) && newer(b)).then_some((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(lo: f64, hi: f64, t0: f64, t1: f64) -> Frag {
        crate::engine::fixtures::run(Kind::Rows, lo, hi, t0, t1)
    }

    #[test]
    fn a_memtable_keeps_one_version_per_row_of_upserts_and_deletes_written_in_turn() {
        let random = |kind: Kind, rows: f64, t: f64| Frag {
            ordered: false,
            rows,
            ..crate::engine::fixtures::run(kind, 0.0, 100.0, t, t + 10.0)
        };
        let mut p = Part::new(0);
        // Steps of upserts (half the population) then deletes of random members (a fifth):
        // a frag joins no other.
        for step in 0..3 {
            let t = 20.0 * f64::from(step);
            p.push(random(Kind::Rows, 50.0, t));
            p.push(random(Kind::RowTombstones, 20.0, t + 10.0));
        }
        assert_eq!(p.frags.len(), 6);
        let kept = p.kept_shares().expect("rows written again");
        // The newest deletion keeps all, each older the positions no newer deletion holds;
        // upserts keep the positions neither newer upserts nor newer deletions hold.
        let expected = [0.128, 0.64, 0.32, 0.8, 0.8, 1.0];
        let close = kept
            .iter()
            .zip(expected)
            .all(|(k, e)| (k - e).abs() < 1e-12);
        assert!(close, "{kept:?}");
        let stored = |kind: Kind| -> f64 {
            let frags = p.frags.iter().zip(&kept).filter(|(f, _)| f.kind == kind);
            frags.map(|(f, k)| f.rows * k).sum()
        };
        // Three deletions of 20 % each: the union 1 - 0.8^3 of the population.
        let deletions = 100.0 * (1.0 - 0.8f64.powi(3));
        assert!((stored(Kind::RowTombstones) - deletions).abs() < 1e-9);
        // Rows: the last upserts less their deletion, the middle ones less the last upserts
        // and two deletions, the first less two upserts and three deletions.
        let rows = 50.0 * (0.8 + 0.5 * 0.64 + 0.25 * 0.512);
        assert!((stored(Kind::Rows) - rows).abs() < 1e-9);
        let sizes = crate::engine::fixtures::sizes(1.0, 50.0, 0.0);
        let bytes = rows * 50.0 + deletions * sizes.row_tombstone;
        assert!((p.bytes(&sizes) - bytes).abs() < 1e-6);
        // One frag of each, or what a compaction wrote (disjoint already): nothing repeated.
        let mut one = Part::new(0);
        one.push(random(Kind::Rows, 50.0, 0.0));
        one.push(random(Kind::RowTombstones, 20.0, 10.0));
        assert_eq!(one.kept_shares(), Some(vec![0.8, 1.0]));
        let mut merged = p.clone();
        for f in &mut merged.frags {
            f.merged = true;
        }
        assert!(merged.kept_shares().is_none());
        // A row written after its deletion keeps the deletion beside it.
        let mut again = Part::new(0);
        again.push(random(Kind::RowTombstones, 20.0, 0.0));
        again.push(random(Kind::Rows, 50.0, 10.0));
        assert_eq!(again.kept_shares(), Some(vec![1.0, 1.0]));
    }

    #[test]
    fn upserts_reach_their_expiry_by_their_last_writes() {
        let ttl = |rows: f64, len: f64| Frag {
            ordered: false,
            rows,
            ttl: 100.0,
            ..rows_frag(len)
        };
        // 90 rows of a population of 100 upserted over [0, 1000]: the rows last written in the
        // last share s of the span are 100 (1 - 0.1^s), so more expire late than early.
        let bins = |f: &Frag, cells: f64| {
            let mut out = Vec::new();
            f.expiry_bins(cells, |b| out.push(b));
            out
        };
        let upserts = bins(&ttl(90.0, 100.0), 90.0);
        assert_eq!(upserts.len(), 5);
        let total: f64 = upserts.iter().map(|b| b.2).sum();
        assert!((total - 90.0).abs() < 1e-9);
        assert_eq!((upserts[0].0, upserts[4].1), (100.0, 1100.0));
        let first_half = 100.0 * (1.0 - 0.1f64.powf(1.0)) - 100.0 * (1.0 - 0.1f64.powf(0.5));
        assert!((upserts[0].2 - first_half).abs() < 1e-9, "{upserts:?}");
        // By the time the first half's writes have expired, fewer than half the rows have.
        assert!(crate::engine::sstable::hist_before(&upserts, 600.0) < 45.0);
        // A one-row partition written again and again: its row expires a TTL after the last
        // write, in the last sixteenth of the span.
        let one = bins(&ttl(1.0, 1.0), 3.0);
        assert!(one[..4].iter().all(|b| b.2 == 0.0), "{one:?}");
        assert_eq!(one[4], (1037.5, 1100.0, 3.0));
        // Appends expire in the order they were written: one bin over the span.
        let appends = Frag {
            ttl: 100.0,
            ..rows(0.0, 10.0, 0.0, 1000.0)
        };
        assert_eq!(bins(&appends, 10.0), vec![(100.0, 1100.0, 10.0)]);
    }

    fn rows_frag(len: f64) -> Frag {
        rows(0.0, len, 0.0, 1000.0)
    }

    #[test]
    fn a_partition_deletion_leaves_what_was_written_after_it() {
        let f = rows(0.0, 10.0, 100.0, 200.0);
        assert_eq!(f.share_after(50.0), 1.0);
        assert_eq!(f.share_after(150.0), 0.5);
        assert_eq!(f.share_after(200.0), 0.0);
        // Written at one instant: the deletion wins a tie.
        let at = rows(0.0, 10.0, 100.0, 100.0);
        assert_eq!(at.share_after(100.0), 0.0);
        assert_eq!(at.share_after(99.0), 1.0);
    }

    #[test]
    fn a_deletion_leaves_the_upserts_written_after_it_not_their_share_of_the_union() {
        // Upserts filling 90 % of 100 positions over 100 s; a deletion at 90 s leaves the rows
        // written in the last 10 s: 1 - 0.1^0.1 = 20.6 % of the population, 22.9 % of the
        // union (pro rata would leave 10 %: a memtable holding a partition for hours kept
        // almost nothing of what was written after a deletion).
        let f = Frag {
            ordered: false,
            rows: 90.0,
            ..rows(0.0, 100.0, 0.0, 100.0)
        };
        assert!((f.share_after(90.0) - 0.228_52).abs() < 1e-5);
        assert!((f.rows_written_in(0.1) - 20.567).abs() < 1e-3);
        // A compaction's rows are distinct, each written once: pro rata.
        let merged = Frag { merged: true, ..f };
        assert!((merged.share_after(90.0) - 0.1).abs() < 1e-12);
    }

    #[test]
    fn appends_join_into_one_run() {
        let mut p = Part::new(0);
        p.push(rows(0.0, 100.0, 0.0, 10.0));
        p.push(rows(100.0, 250.0, 10.0, 25.0));
        assert_eq!(p.frags.len(), 1);
        assert_eq!(p.frags[0].rows, 250.0);
        assert_eq!(p.frags[0].t1, 25.0);
    }

    #[test]
    fn split_by_time_keeps_positions_and_times_together() {
        let mut p = Part::new(0);
        p.push(rows(0.0, 100.0, 0.0, 100.0));
        let (old, new) = p.split_at(25.0);
        assert_eq!(old.frags[0].hi, 25.0);
        // The older side ends one timestamp before the cut: the newer side is strictly newer.
        assert_eq!(old.frags[0].t1, 25.0 - TIMESTAMP_RESOLUTION_S);
        assert_eq!(new.frags[0].lo, 25.0);
        assert_eq!(new.frags[0].t0, 25.0);
        assert_eq!(new.frags[0].rows, 75.0);
    }

    #[test]
    fn upserts_into_a_population_union() {
        let f = Frag {
            ordered: false,
            rows: 50.0,
            ..rows(0.0, 100.0, 0.0, 10.0)
        };
        let mut p = Part::new(0);
        p.push(f);
        p.push(Frag {
            t0: 10.0,
            t1: 20.0,
            ..f
        });
        assert_eq!(p.frags.len(), 1);
        assert!((p.frags[0].rows - 75.0).abs() < 1e-9);
    }

    #[test]
    fn ttl_rows_expire_and_tombstones_date_from_their_write() {
        let mut f = rows(0.0, 1.0, 100.0, 100.0);
        f.ttl = 50.0;
        assert_eq!(f.ldt(100.0), 150.0);
        f.ttl = 0.0;
        assert!(f.ldt(100.0).is_infinite());
        f.kind = Kind::RowTombstones;
        assert_eq!(f.ldt(100.0), 100.0);
    }

    #[test]
    fn a_head_delete_in_the_memtable_replaces_its_appended_row() {
        // 100 rows appended over 100 s; the oldest 40 deleted 30 s after each was written.
        let run = crate::engine::fixtures::run;
        let mut p = Part::new(0);
        p.push(run(Kind::Rows, 0.0, 100.0, 0.0, 100.0));
        p.push(run(Kind::RowTombstones, 0.0, 40.0, 30.0, 70.0));
        assert_eq!(p.kept_shares(), Some(vec![0.6, 1.0]));
        // A deletion older than its row (written again after it) replaces nothing.
        let mut q = Part::new(0);
        q.push(run(Kind::Rows, 0.0, 100.0, 50.0, 150.0));
        q.push(run(Kind::RowTombstones, 0.0, 40.0, 0.0, 10.0));
        assert_eq!(q.kept_shares(), Some(vec![1.0, 1.0]));
    }
}
