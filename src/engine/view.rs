//! The merged view of one partition across its sources (memtable and sstables), as a read's merge
//! iterator or a compaction's merge sees it (CASSANDRA.md 7.1 step 7): clustering order cut into
//! segments, and in each segment every source's rows with their state at `now` (live, expired,
//! tombstone; purgeable or not at `gc_before`) and how many are not shadowed by newer data.
//! Reads walk it (`read.rs`); compactions keep what survives (`compaction/merge.rs`).

use super::frag::{lapsed, Frag, Kind, Lapsed, Part, TableSizes};

/// A row's state at the view's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Live,
    /// TTL elapsed (CASSANDRA.md 6.2): counted on reads like a tombstone, shadows older data.
    Expired,
    /// TTL elapsed and its cells purgeable, its primary-key liveness not yet (`Lapsed::Liveness`):
    /// a read counts one tombstone for a row with liveness; a row without is gone.
    ExpiredLiveness,
    Tombstone,
}

/// One source's rows over one segment.
#[derive(Debug, Clone, Copy)]
pub struct Piece {
    pub src: u32,
    pub frag: Frag,
    /// Rows not shadowed by newer rows, tombstones or a partition deletion; for a range
    /// tombstone, 1 when no newer one covers it here.
    pub visible: f64,
    /// Of row deletions, those hidden by newer rows only (no newer deletion): kept by a
    /// compaction as covered row deletions, not counted by reads.
    pub covered: f64,
    /// Of the visible live rows, those at positions no newer live piece of another statement
    /// holds: the distinct live rows (two statements writing one row make one row).
    pub distinct: f64,
    pub state: State,
    /// Local deletion time older than gc_before: dropped by the read before counting (CASSANDRA.md
    /// 6.4), purgeable by a compaction if the overlap rule allows (6.3).
    pub purgeable: bool,
    /// Range-tombstone markers (open or close bound) inside this segment.
    pub markers: f64,
}

/// A segment `[a, b)` of clustering space and its pieces (`pieces[start..end]`).
#[derive(Debug, Clone, Copy)]
pub struct Seg {
    pub a: f64,
    pub b: f64,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, Default)]
pub struct View {
    pub segs: Vec<Seg>,
    pub pieces: Vec<Piece>,
    /// The newest partition deletion and the source holding it.
    pub pdel: Option<(f64, u32)>,
}

thread_local! {
    /// Buffers of dropped views, for the next one: a run builds a view for every partition of
    /// every compaction and of every sample's statistics (R1: a fifth of its time allocating).
    static SPARE: std::cell::RefCell<Vec<(Vec<Seg>, Vec<Piece>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Spare buffers kept per thread: enough for the views a sample's reads hold at once.
const SPARE_VIEWS: usize = 64;

impl View {
    /// An empty view on a dropped view's buffers, if any.
    fn recycled(pdel: Option<(f64, u32)>) -> View {
        let (segs, pieces) = SPARE
            .with(|spare| spare.borrow_mut().pop())
            .unwrap_or_default();
        View { segs, pieces, pdel }
    }
}

impl Drop for View {
    fn drop(&mut self) {
        if self.pieces.capacity() == 0 {
            return;
        }
        let mut segs = std::mem::take(&mut self.segs);
        let mut pieces = std::mem::take(&mut self.pieces);
        segs.clear();
        pieces.clear();
        // `try_with`: a view dropped while the thread's storage is torn down just frees.
        let _ = SPARE.try_with(|spare| {
            if let Ok(mut spare) = spare.try_borrow_mut() {
                if spare.len() < SPARE_VIEWS {
                    spare.push((segs, pieces));
                }
            }
        });
    }
}

/// A frag cut so that its state is one throughout.
#[derive(Debug, Clone, Copy)]
struct Unit {
    src: u32,
    frag: Frag,
    state: State,
    purgeable: bool,
    /// The original frag's bounds, for range-tombstone markers.
    lo: f64,
    hi: f64,
}

/// The state of rows of `kind` written at `t`, and whether they are purgeable whole.
fn state_at(kind: Kind, ttl: f64, t: f64, clock: &Clock) -> (State, bool) {
    let lapse = |converted| match lapsed(t, ttl, converted, clock.repurge, clock.gc_before) {
        Lapsed::Cells => (State::Expired, false),
        Lapsed::Liveness => (State::ExpiredLiveness, false),
        Lapsed::Gone => (State::Expired, true),
    };
    match kind {
        Kind::Rows if ttl > 0.0 && t + ttl <= clock.now => lapse(false),
        Kind::Rows => (State::Live, false),
        Kind::Expired | Kind::ExpiredLiveness => lapse(true),
        _ => (State::Tombstone, t < clock.gc_before),
    }
}

/// The write times at which a frag's state changes: expiry, the gc_grace horizons of its
/// liveness and (from 4.1, or once rewritten as tombstones) of its expired cells.
fn state_cuts(f: &Frag, clock: &Clock) -> [f64; 3] {
    let (now, gc_before) = (clock.now, clock.gc_before);
    let nan = f64::NAN;
    match f.kind {
        // The cells' horizon only where rows written then have expired: a cut through live
        // rows would split them for nothing.
        Kind::Rows if f.ttl > 0.0 => [
            now - f.ttl,
            gc_before - f.ttl,
            if clock.repurge && gc_before < now - f.ttl {
                gc_before
            } else {
                nan
            },
        ],
        Kind::Rows => [nan; 3],
        Kind::Expired => [gc_before, gc_before - f.ttl, nan],
        Kind::ExpiredLiveness => [gc_before - f.ttl, nan, nan],
        _ => [gc_before, nan, nan],
    }
}

fn push_units(units: &mut Vec<Unit>, src: u32, f: &Frag, clock: &Clock) {
    let mut buf = [0.0; 3];
    let mut n = 0;
    for c in state_cuts(f, clock) {
        if c.is_finite() && c > f.t_min() && c < f.t_max() {
            buf[n] = c;
            n += 1;
        }
    }
    buf[..n].sort_unstable_by(f64::total_cmp);
    let cuts = &buf[..n];
    let unit = |frag: Frag| {
        let (state, purgeable) = state_at(
            frag.kind,
            frag.ttl,
            frag.time_at(0.5 * (frag.lo + frag.hi)),
            clock,
        );
        Unit {
            src,
            frag,
            state,
            purgeable,
            lo: f.lo,
            hi: f.hi,
        }
    };
    if cuts.is_empty() {
        units.push(unit(*f));
    } else if f.ordered {
        let mut a = f.lo;
        for &t in cuts {
            let x = f.position_at(t).unwrap_or(a);
            if x > a {
                units.push(unit(f.slice(a, x)));
                a = x;
            }
        }
        if f.hi > a {
            units.push(unit(f.slice(a, f.hi)));
        }
    } else {
        // Unordered rows are spread over the interval: a row's state follows its last write, and
        // of written upserts, those last written after `t` are what the writes after `t` hold
        // (found by the agreement suite: split by time share, overwritten sessions expired
        // early, expired cells x6).
        let span = (f.t1 - f.t0).max(1e-9);
        // A compaction's surviving upserts keep the skew towards their last writes, by their
        // own density (a one-row partition's row was last written at the end: sessions under
        // LCS, expired cells x5 and live rows -2 % when spread evenly).
        let after = |t: f64| {
            let s = ((f.t1 - t) / span).clamp(0.0, 1.0);
            if f.leans_to_last_writes() {
                f.rows_written_in(s)
            } else {
                f.rows * s
            }
        };
        let mut t = f.t0;
        for &c in cuts.iter().chain([f.t1].iter()) {
            if c > t {
                units.push(unit(Frag {
                    rows: after(t) - after(c),
                    t0: t,
                    t1: c,
                    ..*f
                }));
                t = c;
            }
        }
    }
}

/// Narrows units to `[a, b)`, keeping the original bounds for range-tombstone markers.
fn clip(units: &mut [Unit], a: f64, b: f64) {
    for u in units {
        if u.frag.hi > a && u.frag.lo < b {
            u.frag = u.frag.slice(u.frag.lo.max(a), u.frag.hi.min(b));
        } else {
            u.frag.rows = 0.0;
            u.frag.hi = u.frag.lo;
        }
    }
}

/// When a view is taken: `now`, `gc_before = now - gc_grace`, and whether expired cells are
/// purged by their write time at once (4.1 and later, `Lapsed`).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub now: f64,
    pub gc_before: f64,
    pub repurge: bool,
}

impl Clock {
    pub fn new(now: f64, gc_grace: f64, repurge: bool) -> Clock {
        Clock {
            now,
            gc_before: now - gc_grace,
            repurge,
        }
    }

    /// At `now` with `gc_before` as given, expired cells purged by their expiry (as 4.0).
    #[cfg(test)]
    pub fn at(now: f64, gc_before: f64) -> Clock {
        Clock {
            now,
            gc_before,
            repurge: false,
        }
    }
}

/// Builds the merged view of a partition's sources at `clock`; with a `window`, only over that
/// clustering range.
pub fn build(sources: &[&Part], clock: &Clock, window: Option<(f64, f64)>) -> View {
    let pdel = newest_pdel(sources);
    let frags = sources
        .iter()
        .enumerate()
        .flat_map(|(i, p)| p.frags.iter().map(move |f| (i as u32, f)));
    with_scratch(|scratch| build_with(frags, pdel, clock, window, scratch))
}

fn newest_pdel(sources: &[&Part]) -> Option<(f64, u32)> {
    let mut pdel: Option<(f64, u32)> = None;
    for (i, part) in sources.iter().enumerate() {
        if let Some(t) = part.pdel {
            if pdel.is_none_or(|(p, _)| t > p) {
                pdel = Some((t, i as u32));
            }
        }
    }
    pdel
}

fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        scratch.units.clear();
        scratch.bounds.clear();
        scratch.active.clear();
        f(&mut scratch)
    })
}

/// A partition's frags from all its sources, sorted by start, for reads that look at a window of
/// clustering space: only the frags that can reach the window are visited.
#[derive(Debug, Clone, Default)]
pub struct FragIndex {
    /// `(lo, source, frag)` sorted: the order of a stable sort of the frags by start.
    starts: Vec<(f64, u32, u32)>,
    /// The furthest end among `starts[..=k]`: frags before the first that reaches a window end
    /// before it (a frag compacted long ago may span the whole partition; the newest are short).
    reach: Vec<f64>,
    pdel: Option<(f64, u32)>,
}

impl FragIndex {
    pub fn new(sources: &[&Part]) -> FragIndex {
        // One integer key per frag (start, source, frag): sorting integers is a third of the
        // cost of comparing the triples.
        let mut keys: Vec<u128> = sources
            .iter()
            .enumerate()
            .flat_map(|(i, p)| {
                p.frags.iter().enumerate().map(move |(j, f)| {
                    (u128::from(crate::metrics::total_order_key(f.lo)) << 64)
                        | ((i as u128) << 32)
                        | j as u128
                })
            })
            .collect();
        keys.sort_unstable();
        let starts: Vec<(f64, u32, u32)> = keys
            .iter()
            .map(|&k| {
                let (i, j) = ((k >> 32) as u32, k as u32);
                (sources[i as usize].frags[j as usize].lo, i, j)
            })
            .collect();
        let reach = starts
            .iter()
            .scan(f64::NEG_INFINITY, |max, &(_, i, j)| {
                *max = sources[i as usize].frags[j as usize].hi.max(*max);
                Some(*max)
            })
            .collect();
        FragIndex {
            starts,
            reach,
            pdel: newest_pdel(sources),
        }
    }

    /// The merged view over `[a, b)` of `sources` (those the index was built from), as `build`
    /// with that window gives it.
    pub fn window(&self, sources: &[&Part], clock: &Clock, a: f64, b: f64) -> View {
        let from = self.reach.partition_point(|&r| r <= a);
        let to = self.starts.partition_point(|s| s.0 < b);
        let frags = self.starts[from..to.max(from)]
            .iter()
            .map(|&(_, i, j)| (i, &sources[i as usize].frags[j as usize]));
        with_scratch(|scratch| build_with(frags, self.pdel, clock, Some((a, b)), scratch))
    }
}

/// Buffers `build` reuses between calls: it runs for every partition of every compaction and
/// every sampled read, and reconciles thousands of segments a sample (the queue spent 5 % of its
/// run allocating and freeing `reconcile`'s buffers).
#[derive(Default)]
struct Scratch {
    units: Vec<Unit>,
    bounds: Vec<f64>,
    active: Vec<Unit>,
    /// `reconcile`'s buffers: per source and statement, the share of positions its newer pieces
    /// leave free, and the share no newer live row holds.
    free: Shadows,
    live_free: Shadows,
    /// `reconcile`'s sort keys and the pieces they permute.
    keys: Vec<PieceKey>,
    moved: Vec<Piece>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

fn build_with<'f>(
    frags: impl Iterator<Item = (u32, &'f Frag)>,
    pdel: Option<(f64, u32)>,
    clock: &Clock,
    window: Option<(f64, f64)>,
    scratch: &mut Scratch,
) -> View {
    let Scratch {
        units,
        bounds,
        active,
        free,
        live_free,
        keys,
        moved,
    } = scratch;
    for (i, f) in frags {
        match window {
            Some((a, b)) if f.hi <= a || f.lo >= b => {}
            Some((a, b)) if f.lo < a || f.hi > b => {
                let before = units.len();
                push_units(units, i, f, clock);
                clip(&mut units[before..], a, b);
            }
            _ => push_units(units, i, f, clock),
        }
    }
    bounds.extend(units.iter().flat_map(|u| [u.frag.lo, u.frag.hi]));
    // Equal bounds under `total_cmp` are the same bits: an unstable sort gives the same list.
    bounds.sort_unstable_by(f64::total_cmp);
    bounds.dedup();
    // Units mostly arrive in order (a window's frags come sorted).
    if !units.is_sorted_by(|a, b| a.frag.lo <= b.frag.lo) {
        units.sort_by(|a, b| a.frag.lo.total_cmp(&b.frag.lo));
    }
    let mut view = View::recycled(pdel);
    let mut next = 0;
    for w in bounds.windows(2) {
        let (a, b) = (w[0], w[1]);
        active.retain(|u| u.frag.hi > a);
        while next < units.len() && units[next].frag.lo <= a {
            if units[next].frag.hi > a {
                active.push(units[next]);
            }
            next += 1;
        }
        if active.is_empty() || b <= a {
            continue;
        }
        let start = view.pieces.len();
        for u in active.iter() {
            let frag = u.frag.slice(a, b);
            let markers = if u.frag.kind == Kind::RangeTombstone {
                f64::from(u8::from(a <= u.lo)) + f64::from(u8::from(b >= u.hi))
            } else {
                0.0
            };
            view.pieces.push(Piece {
                src: u.src,
                frag,
                visible: 0.0,
                covered: 0.0,
                distinct: 0.0,
                state: u.state,
                purgeable: u.purgeable,
                markers,
            });
        }
        reconcile(
            &mut view.pieces[start..],
            pdel.map(|p| p.0),
            (keys, moved),
            (free, live_free),
        );
        cap_distinct(&mut view.pieces[start..], b - a);
        view.segs.push(Seg {
            a,
            b,
            start,
            end: view.pieces.len(),
        });
    }
    view
}

/// A piece's place in the newest-first order: its time at the segment's middle, whether it
/// deletes, its source, and its place before sorting (the order of equals stays as built).
type PieceKey = (f64, bool, u32, u32);

/// Orders a segment's pieces newest first; on equal timestamps a deletion wins over data, as in
/// Cassandra's reconcile. Sorts keys, not the pieces: each key's time is computed once, and the
/// pieces move once (a comparison sort of the pieces spent a tenth of R1's run).
fn sort_newest_first(pieces: &mut [Piece], keys: &mut Vec<PieceKey>, moved: &mut Vec<Piece>) {
    let deletes = |p: &Piece| p.frag.kind != Kind::Rows || p.state != State::Live;
    keys.clear();
    keys.extend(pieces.iter().enumerate().map(|(i, p)| {
        let t = p.frag.time_at(0.5 * (p.frag.lo + p.frag.hi));
        (t, deletes(p), p.src, i as u32)
    }));
    if keys.is_sorted_by(|x, y| newest_first(x, y).is_le()) {
        return;
    }
    keys.sort_unstable_by(newest_first);
    moved.clear();
    moved.extend_from_slice(pieces);
    for (slot, k) in pieces.iter_mut().zip(keys.iter()) {
        *slot = moved[k.3 as usize];
    }
}

fn newest_first(x: &PieceKey, y: &PieceKey) -> std::cmp::Ordering {
    y.0.total_cmp(&x.0)
        .then(y.1.cmp(&x.1))
        .then(y.2.cmp(&x.2))
        .then(x.3.cmp(&y.3))
}

/// Newest wins (CASSANDRA.md 7.1 step 7): walking pieces from the newest, each keeps the share
/// of its rows at positions no newer piece holds; rows of different sources are spread
/// independently over the segment. Rows a compaction wrote (`merged`) are already disjoint from
/// the other rows of their source, so only other sources' newer rows shadow them. The buffers
/// are the view's scratch: the sort's keys and moved pieces, and the shadows below.
fn reconcile(
    pieces: &mut [Piece],
    pdel: Option<f64>,
    (keys, moved): (&mut Vec<PieceKey>, &mut Vec<Piece>),
    (free, live_free): (&mut Shadows, &mut Shadows),
) {
    // One piece (most segments of appends) is in order already.
    if pieces.len() > 1 {
        sort_newest_first(pieces, keys, moved);
    }
    // Per source and statement: the share of positions its newer pieces leave free. A statement
    // overwrites its own cells only (different statements write different columns of a row); a
    // row deletion hides every statement's older cells, and a row written again hides its older
    // deletion (found by the agreement suite: upserts by two statements lost one's cells).
    // Per source and statement (`live_free`): the share of positions no newer live row holds.
    free.clear();
    live_free.clear();
    // Most segments (appends, a compaction's output) hold no two pieces as written: the pass
    // without concurrent pieces is the plain one (R1 ran 2 % slower asking every piece).
    let concurrent = if pieces.len() > 1 {
        Concurrent::of(pieces, pdel)
    } else {
        None
    };
    match concurrent {
        None => shadow(pieces, pdel, free, live_free, |_| (1.0, 1.0)),
        Some(mut c) => shadow(pieces, pdel, free, live_free, |i| c.open(i)),
    }
}

type Shadows = Vec<(u32, Class, f64)>;

/// `reconcile`'s pass over the pieces, newest first; `concurrent(i)` corrects what newer pieces
/// leave of piece `i` for those written at the same time (`Concurrent::open`).
#[inline(always)]
fn shadow(
    pieces: &mut [Piece],
    pdel: Option<f64>,
    free: &mut Shadows,
    live_free: &mut Shadows,
    mut concurrent: impl FnMut(usize) -> (f64, f64),
) {
    let mut ranged = false;
    for (i, p) in pieces.iter_mut().enumerate() {
        let after = pdel.map_or(1.0, |d| p.frag.share_after(d));
        if after <= 0.0 || ranged {
            p.visible = 0.0;
            if p.frag.kind == Kind::RangeTombstone {
                p.markers = 0.0;
            }
            continue;
        }
        let class = Class::of(&p.frag);
        let (by_all, by_deletions) = concurrent(i);
        let open = (after * open_among(free, p, |c| c.hides(class)) * by_all).min(after);
        match p.frag.kind {
            Kind::RangeTombstone => {
                // Present (not shadowed): the one range tombstone that counts here.
                p.visible = 1.0;
                ranged = true;
            }
            Kind::CellTombstones => p.visible = p.frag.rows * open,
            // Only a newer deletion supersedes a row deletion kept beside its rows.
            Kind::CoveredRowTombstones => {
                p.visible = p.frag.rows * after * open_among(free, p, |c| c == Class::Deletion);
            }
            _ => {
                if p.frag.kind == Kind::RowTombstones {
                    let kept = p.frag.rows
                        * (after * open_among(free, p, |c| c == Class::Deletion) * by_deletions)
                            .min(after);
                    p.covered = (kept - p.frag.rows * open).max(0.0);
                }
                // The piece spans the segment.
                let density = p.frag.density();
                p.visible = p.frag.rows * open;
                let taken = if p.frag.merged {
                    density * after
                } else {
                    density * open
                };
                if p.frag.kind == Kind::Rows && p.state == State::Live {
                    // Rows of the same statement are already distinct in `visible`.
                    let unique: f64 = live_free
                        .iter()
                        .filter(|(_, c, _)| *c != class)
                        .map(|(_, _, f)| f)
                        .product();
                    p.distinct = p.visible * unique;
                    let occupied = density * open;
                    match live_free
                        .iter_mut()
                        .find(|(s, c, _)| *s == p.src && *c == class)
                    {
                        Some((_, _, f)) if p.frag.merged => *f = (*f - occupied).max(0.0),
                        Some((_, _, f)) => *f *= 1.0 - occupied,
                        None => live_free.push((p.src, class, 1.0 - occupied)),
                    }
                }
                match free.iter_mut().find(|(s, c, _)| *s == p.src && *c == class) {
                    // Merged rows fill positions their source left free; others fall at random.
                    Some((_, _, f)) if p.frag.merged => *f = (*f - taken).max(0.0),
                    Some((_, _, f)) => *f *= 1.0 - density,
                    None => free.push((
                        p.src,
                        class,
                        1.0 - if p.frag.merged { taken } else { density },
                    )),
                }
            }
        }
    }
}

/// Pieces of rows written at random positions over overlapping times: a step's upserts and
/// deletes of one partition, each spread over the step. Sorted by their middle time, one of two
/// such pieces would hide the other's rows wholly and the other none: which wrote a row last
/// is a matter of when in their spans each wrote it. Found by the agreement suite: the
/// registry's index, upserted about twice a row per 10-minute step, lost to a step's upserts
/// only half of the step's row deletions they overwrite where they overwrite about two thirds,
/// and reads counted 11 % too many tombstones (exact at 60-second steps).
struct Concurrent {
    /// `(piece, other)` for each ordered pair of concurrent pieces, sorted by piece.
    pairs: Vec<(u32, u32)>,
    /// Per piece: its class, density, and whether it shadows older rows at all (a partition
    /// deletion may have taken it).
    facts: Vec<(Class, f64, bool)>,
    /// Per piece: whether the newest-first pass took its shadow off already.
    shadowed: Vec<bool>,
    cursor: usize,
    pieces: Vec<Frag>,
}

impl Concurrent {
    /// The concurrent pairs among `pieces` (sorted newest first), if any.
    fn of(pieces: &[Piece], pdel: Option<f64>) -> Option<Concurrent> {
        // Two written at least, or nothing to pair.
        pieces.iter().filter(|p| p.frag.is_written_union()).nth(1)?;
        Concurrent::pairs(pieces, pdel)
    }

    #[inline(never)]
    fn pairs(pieces: &[Piece], pdel: Option<f64>) -> Option<Concurrent> {
        let mut by_start: Vec<u32> = (0..pieces.len() as u32)
            .filter(|&i| pieces[i as usize].frag.is_written_union())
            .collect();
        by_start.sort_by(|&a, &b| {
            let (a, b) = (&pieces[a as usize].frag, &pieces[b as usize].frag);
            a.t_min().total_cmp(&b.t_min())
        });
        let mut pairs = Vec::new();
        for (k, &a) in by_start.iter().enumerate() {
            let end = pieces[a as usize].frag.t_max();
            for &b in &by_start[k + 1..] {
                if pieces[b as usize].frag.t_min() >= end {
                    break;
                }
                pairs.push((a, b));
                pairs.push((b, a));
            }
        }
        if pairs.is_empty() {
            return None;
        }
        pairs.sort_unstable();
        let facts = pieces
            .iter()
            .map(|p| {
                // Only rows, expired cells and row deletions shadow (`shadow`'s last arm).
                let shadows = matches!(
                    p.frag.kind,
                    Kind::Rows | Kind::Expired | Kind::ExpiredLiveness | Kind::RowTombstones
                );
                let after = pdel.map_or(1.0, |d| p.frag.share_after(d)) > 0.0;
                (Class::of(&p.frag), p.frag.density(), shadows && after)
            })
            .collect();
        Some(Concurrent {
            pairs,
            facts,
            shadowed: vec![false; pieces.len()],
            cursor: 0,
            pieces: pieces.iter().map(|p| p.frag).collect(),
        })
    }

    /// For piece `i` (visited in order): what its concurrent pieces leave of its positions
    /// against what the newest-first pass took off for them, over every class that hides it and
    /// over deletions only. Then notes that `i`'s own shadow went into the pass.
    fn open(&mut self, i: usize) -> (f64, f64) {
        let (mut all, mut deletions) = (1.0, 1.0);
        let class = self.facts[i].0;
        while self.cursor < self.pairs.len() && (self.pairs[self.cursor].0 as usize) < i {
            self.cursor += 1;
        }
        while self.cursor < self.pairs.len() && self.pairs[self.cursor].0 as usize == i {
            let x = self.pairs[self.cursor].1 as usize;
            self.cursor += 1;
            let (xclass, xdensity, shadows) = self.facts[x];
            if !xclass.hides(class) || !shadows {
                continue;
            }
            let hidden = written_after(&self.pieces[i], &self.pieces[x]);
            // A newer piece already took its whole density off.
            let taken = if x < i && self.shadowed[x] {
                1.0 - xdensity
            } else {
                1.0
            };
            if taken <= 1e-9 {
                continue;
            }
            let f = (1.0 - hidden) / taken;
            all *= f;
            if xclass == Class::Deletion {
                deletions *= f;
            }
        }
        self.shadowed[i] = true;
        (all, deletions)
    }
}

/// The chance that `x`, written at random positions over its span, writes a row of `p` after
/// `p` last wrote it. Each is a union of writes falling evenly in time, `c = -ln(1 - density)`
/// a row over its span: `p`'s last write to a row falls late in its span, with density
/// `c e^{-c(1-u)} / (1 - e^{-c})` at the share `u` of it; `x` writes the row after `t` with chance
/// `1 - e^{-c_x s}`, `s` the share of its span after `t`. Evaluated at eight quantiles.
fn written_after(p: &Frag, x: &Frag) -> f64 {
    const QUANTILES: usize = 8;
    let intensity = |f: &Frag| -(1.0 - f.density().min(1.0 - 1e-12)).ln();
    let (cp, cx) = (intensity(p), intensity(x));
    let (pspan, xspan) = (p.t1 - p.t0, (x.t1 - x.t0).max(1e-12));
    let floor = (-cp).exp();
    let mut sum = 0.0;
    for k in 0..QUANTILES {
        let q = (k as f64 + 0.5) / QUANTILES as f64;
        // The inverse of the last write's distribution (uniform as c goes to 0).
        let u = if cp > 1e-9 {
            1.0 + (floor + q * (1.0 - floor)).ln() / cp
        } else {
            q
        };
        let t = p.t0 + pspan * u.clamp(0.0, 1.0);
        let s = ((x.t1 - t) / xspan).clamp(0.0, 1.0);
        sum += 1.0 - (-cx * s).exp();
    }
    sum / QUANTILES as f64
}

/// The share of `p`'s positions that newer pieces of the classes `hides` picks leave free; rows
/// a compaction wrote are not shadowed by their own source again.
fn open_among(free: &Shadows, p: &Piece, hides: impl Fn(Class) -> bool) -> f64 {
    free.iter()
        .filter(|(s, c, _)| !(p.frag.merged && *s == p.src) && hides(*c))
        .map(|(_, _, f)| f)
        .product()
}

/// Distinct live rows cannot outnumber the segment's clustering positions: the independent
/// spreads of several statements' rows overlap more than chance where the population is full.
fn cap_distinct(pieces: &mut [Piece], len: f64) {
    let total: f64 = pieces.iter().map(|p| p.distinct).sum();
    if len > 0.0 && total > len {
        for p in pieces.iter_mut() {
            p.distinct *= len / total;
        }
    }
}

/// What a piece's rows hold, for shadowing: one statement's cells (by shape), or a deletion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Cells(u16),
    Deletion,
}

impl Class {
    fn of(f: &Frag) -> Class {
        match f.kind {
            Kind::Rows | Kind::Expired | Kind::ExpiredLiveness => Class::Cells(f.shape),
            _ => Class::Deletion,
        }
    }

    /// Whether newer rows of this class hide older rows of `older`'s class.
    fn hides(self, older: Class) -> bool {
        match (self, older) {
            (Class::Deletion, _) | (_, Class::Deletion) => true,
            (Class::Cells(a), Class::Cells(b)) => a == b,
        }
    }
}

/// What one piece contributes to a read: live rows, tombstones counted against the thresholds
/// (CASSANDRA.md 6.4) and cells scanned.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    pub live: f64,
    pub counted: f64,
    pub scanned: f64,
    /// Of `counted`, those at random positions of a population (deletes of random rows, expired
    /// or null cells of upserts) or in a random share of the rows (bound nulls): an expected
    /// count, where each real partition the tracked one stands for holds a random one.
    /// `scattered` is their mean, `spread` their variance: each row a statement wrote is still
    /// visible with chance `visible / rows`; a column is null in a row with its share.
    pub scattered: f64,
    pub spread: f64,
    /// Where a limited read stopped (the clustering position of its last row), when it
    /// stopped before the end of the partition, and that position's standard deviation across
    /// the real partitions the tracked one stands for: sstables whose rows all lie beyond it are
    /// never opened (`sstables_read`).
    pub stop: Option<(f64, f64)>,
}

impl Piece {
    #[inline]
    pub fn tally(&self, sizes: &TableSizes) -> Tally {
        let shape = &sizes.shapes[self.frag.shape as usize];
        let mut t = Tally {
            scanned: self.frag.cells(sizes),
            ..Tally::default()
        };
        let counts = !self.purgeable;
        match (self.frag.kind, self.state) {
            (Kind::Rows, State::Live) => {
                let alive = shape.liveness || shape.cells > 0.0;
                if alive {
                    t.live = self.distinct;
                }
                // Bound nulls are cell tombstones dated from the row's write, counted after the
                // merge: the newest write's (CASSANDRA.md 6.4). A column bound null in a share
                // of the writes makes a tombstone in that share of the rows read (found by the
                // real node: a third of the writes null, reads counted 0 or 1, p99 1, where the
                // mean 0.33 gave every read 0).
                t.counted = self.visible * shape.null_cells;
                t.scattered = t.counted;
                t.spread = self.visible * shape.null_var;
            }
            (_, State::Expired) if counts => t.counted = self.visible * shape.cells.max(1.0),
            // The row's expired liveness alone: one, counted as a row deletion is (6.4).
            (_, State::ExpiredLiveness) if counts && shape.liveness => t.counted = self.visible,
            (Kind::RowTombstones, _) if counts => t.counted = self.visible,
            (Kind::RangeTombstone, _) if counts => t.counted = self.markers,
            (Kind::CellTombstones, _) if counts => t.counted = self.visible * shape.null_cells,
            _ => {}
        }
        // Deleted or expired rows at random positions (a live row's bound nulls were spread
        // above).
        let random_rows = match (self.frag.kind, self.state) {
            (Kind::Rows, State::Live) | (Kind::RangeTombstone, _) => false,
            _ => !self.frag.ordered,
        };
        if random_rows && t.counted > 0.0 {
            let per_row = t.counted / self.visible;
            let kept =
                (self.visible / self.frag.rows.max(self.visible)).min(1.0) * self.frag.kept.share();
            t.scattered = t.counted;
            t.spread = per_row * per_row * self.visible * (1.0 - kept);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fixtures;

    fn sizes() -> TableSizes {
        fixtures::sizes(1.0, 50.0, 20.0)
    }

    fn frag(kind: Kind, lo: f64, hi: f64, t0: f64, t1: f64) -> Frag {
        fixtures::run(kind, lo, hi, t0, t1)
    }

    fn totals(view: &View) -> Tally {
        let s = sizes();
        view.pieces.iter().fold(Tally::default(), |acc, p| {
            let t = p.tally(&s);
            Tally {
                live: acc.live + t.live,
                counted: acc.counted + t.counted,
                scanned: acc.scanned + t.scanned,
                scattered: acc.scattered + t.scattered,
                spread: acc.spread + t.spread,
                stop: None,
            }
        })
    }

    #[test]
    fn upserts_expire_by_their_last_write() {
        let ttl = |f: Frag| Frag {
            ttl: 50.0,
            ordered: false,
            ..f
        };
        // 60 rows of a population of 100, written over [0, 100]; at 100 those last written
        // before 50 have expired: fewer than half, as the writes after 50 hold more than half.
        let upserts = Frag {
            rows: 60.0,
            ..ttl(frag(Kind::Rows, 0.0, 100.0, 0.0, 100.0))
        };
        let p = Part {
            frags: vec![upserts],
            ..Part::new(0)
        };
        let live = upserts.rows_written_in(0.5);
        let t = totals(&build(&[&p], &Clock::at(100.0, 0.0), None));
        assert!((t.live - live).abs() < 1e-9 && t.live > 30.0, "{t:?}");
        // What expired (one cell a row) is the rest, some of it at positions the live ones hold.
        assert!(t.counted > 0.0 && t.counted <= 60.0 - live + 1e-9, "{t:?}");
        // A compaction's one-row partition written again and again: its one row was last
        // written at the end, so it is live.
        let single = Frag {
            merged: true,
            ..ttl(frag(Kind::Rows, 0.0, 1.0, 0.0, 100.0))
        };
        let p = Part {
            frags: vec![single],
            ..Part::new(0)
        };
        let t = totals(&build(&[&p], &Clock::at(100.0, 0.0), None));
        assert_eq!((t.live, t.counted), (1.0, 0.0));
    }

    #[test]
    fn a_queue_head_is_row_tombstones_then_live_rows() {
        let mut inserts = Part::new(0);
        inserts.push(frag(Kind::Rows, 0.0, 100.0, 0.0, 100.0));
        let mut deletes = Part::new(0);
        deletes.push(frag(Kind::RowTombstones, 0.0, 70.0, 30.0, 100.0));
        let view = build(
            &[&inserts, &deletes],
            &Clock::at(100.0, 100.0 - 1000.0),
            None,
        );
        let t = totals(&view);
        assert!((t.live - 30.0).abs() < 1e-9);
        assert!((t.counted - 70.0).abs() < 1e-9);
        assert!((t.scanned - 170.0).abs() < 1e-9);
        // Past gc_grace the read drops them before counting, but still passes over them.
        let view = build(
            &[&inserts, &deletes],
            &Clock::at(2000.0, 2000.0 - 1000.0),
            None,
        );
        let t = totals(&view);
        assert_eq!(t.counted, 0.0);
        assert!((t.scanned - 170.0).abs() < 1e-9);
    }

    #[test]
    fn expired_ttl_cells_count_until_gc_grace_then_not() {
        let mut p = Part::new(0);
        let mut f = frag(Kind::Rows, 0.0, 100.0, 0.0, 100.0);
        f.ttl = 50.0;
        p.push(f);
        // At t=100 rows written before t=50 have expired.
        let t = totals(&build(&[&p], &Clock::at(100.0, 100.0 - 1000.0), None));
        assert!((t.counted - 50.0).abs() < 1e-9);
        assert!((t.live - 50.0).abs() < 1e-9);
        // With gc_grace 20: expired before t=80 are purgeable, so only writes in [30, 50) count.
        let t = totals(&build(&[&p], &Clock::at(100.0, 80.0), None));
        assert!((t.counted - 20.0).abs() < 1e-9);
    }

    #[test]
    fn a_partition_deletion_shadows_older_data_and_is_not_counted() {
        let mut old = Part::new(0);
        old.push(frag(Kind::Rows, 0.0, 10.0, 0.0, 10.0));
        let mut del = Part::new(0);
        del.pdel = Some(20.0);
        let t = totals(&build(&[&old, &del], &Clock::at(30.0, -1000.0), None));
        assert_eq!(t.live, 0.0);
        assert_eq!(t.counted, 0.0);
    }

    #[test]
    fn a_step_s_upserts_hide_its_deletes_by_when_each_wrote_a_row() {
        // One step's deletes of random rows (20 % of 100 positions) and upserts (90 %), both
        // spread over [0, 100]. A deleted row stays a tombstone only if no upsert wrote it after
        // its last delete: with c = -ln(0.1) upserts a row over the step, one at share u of it
        // is followed by an upsert with chance 1 - 0.1^(1 - u), 0.61 over a uniform u (not a
        // half: a row hit by both is mostly written several times); the last of a row's deletes
        // falls a little late (density c_d e^(-c_d (1 - u)) / (1 - e^(-c_d)), c_d = -ln(0.8)).
        let random = |kind: Kind, rows: f64| Frag {
            ordered: false,
            rows,
            ..frag(kind, 0.0, 100.0, 0.0, 100.0)
        };
        let mut p = Part::new(0);
        p.push(random(Kind::Rows, 90.0));
        p.push(random(Kind::RowTombstones, 20.0));
        let cd = -(0.8f64.ln());
        let steps = 10_000;
        let followed: f64 = (0..steps)
            .map(|k| {
                let u = (f64::from(k) + 0.5) / f64::from(steps);
                let last = cd * (-cd * (1.0 - u)).exp() / (1.0 - (-cd).exp());
                last * (1.0 - 0.1f64.powf(1.0 - u)) / f64::from(steps)
            })
            .sum();
        let t = totals(&build(&[&p], &Clock::at(100.0, -1000.0), None));
        let expected = 20.0 * (1.0 - followed);
        assert!(
            (t.counted - expected).abs() < 0.05,
            "{t:?} against {expected}"
        );
        // Live rows: an upserted row is gone only if a delete came after its last write.
        assert!(t.live > 90.0 - 20.0 * 0.5 && t.live < 90.0, "{t:?}");
        // A later step's upserts hide the deletes wholly where they write.
        let mut later = p.clone();
        later.push(Frag {
            t0: 200.0,
            t1: 300.0,
            ..random(Kind::Rows, 50.0)
        });
        let t = totals(&build(&[&later], &Clock::at(300.0, -1000.0), None));
        assert!((t.counted - expected * 0.5).abs() < 0.05, "{t:?}");
    }

    #[test]
    fn written_after_follows_the_spans() {
        let random = |rows: f64, t0: f64, t1: f64| Frag {
            ordered: false,
            rows,
            ..frag(Kind::Rows, 0.0, 100.0, t0, t1)
        };
        let x = random(50.0, 100.0, 200.0);
        // Wholly before x: x writes after it at its density; wholly after: never.
        assert!((written_after(&random(10.0, 0.0, 50.0), &x) - 0.5).abs() < 1e-9);
        assert_eq!(written_after(&random(10.0, 250.0, 300.0), &x), 0.0);
        // At x's middle, at one instant: the writes of half its span, 1 - 0.5^0.5.
        let mid = written_after(&random(10.0, 150.0, 150.0), &x);
        assert!((mid - (1.0 - 0.5f64.sqrt())).abs() < 1e-9, "{mid}");
    }

    #[test]
    fn a_range_tombstone_counts_two_markers() {
        let mut old = Part::new(0);
        old.push(frag(Kind::Rows, 0.0, 10.0, 0.0, 10.0));
        let mut del = Part::new(0);
        del.push(Frag {
            rows: 0.0,
            ordered: false,
            ..frag(Kind::RangeTombstone, 0.0, 5.0, 20.0, 20.0)
        });
        let t = totals(&build(&[&old, &del], &Clock::at(30.0, -1000.0), None));
        assert_eq!(t.counted, 2.0);
        assert!((t.live - 5.0).abs() < 1e-9);
    }
}
