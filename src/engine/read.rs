//! Reads through the fragment layout (DESIGN.md 3 "Read path", CASSANDRA.md 6.4 and 7): a
//! partition picked by the query's key popularity, the sstables its read merges (bloom-filter
//! false positives aside, the partition-deletion early stop and the clustering skip of slices),
//! then a walk of the merged view in the query's clustering order counting live rows up to the
//! LIMIT (or the page), the tombstones that go against the thresholds and every cell passed.

use std::collections::HashMap;

use rand::RngExt;
use rand_pcg::Pcg64Mcg;

use super::frag::{Frag, Part};
use super::partitions::Tracked;
use super::sstable::SSTable;
use super::table::{Reader, TableSim};
use super::view::{self, Tally, View};
use crate::workload::KeyPopularity;

/// What one simulated read did on one replica.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReadWork {
    pub live_rows: f64,
    /// Tombstones counted against the thresholds (capped where the read aborts).
    pub tombstones: f64,
    pub cells_scanned: f64,
    pub sstables: f64,
    pub bloom_false_positives: f64,
    pub warned: bool,
    pub failed: bool,
    /// Serialized bytes of the partition across its sources (the column index decision).
    pub partition_bytes: f64,
    /// Cells and tombstones the whole request passes: every page of a read without LIMIT.
    pub request_cells: f64,
    pub request_tombstones: f64,
}

/// A query's reads over a run, as its summary gives them: their count, the warned and failed,
/// and how often each sstable, tombstone, cell and row count occurred.
#[derive(Debug, Clone, Default)]
pub struct ReadTotals {
    pub reads: f64,
    pub warned: f64,
    pub failed: f64,
    pub sstables: crate::metrics::ValueCounts,
    pub tombstones: crate::metrics::ValueCounts,
    pub cells_scanned: crate::metrics::ValueCounts,
    pub live_rows: crate::metrics::ValueCounts,
}

impl ReadTotals {
    pub fn add(&mut self, w: &ReadWork) {
        self.reads += 1.0;
        self.warned += f64::from(u8::from(w.warned));
        self.failed += f64::from(u8::from(w.failed));
        self.sstables.add(w.sstables);
        self.tombstones.add(w.tombstones.round());
        self.cells_scanned.add(w.cells_scanned.round());
        self.live_rows.add(w.live_rows.round());
    }

    pub fn merge(&mut self, other: &ReadTotals) {
        self.reads += other.reads;
        self.warned += other.warned;
        self.failed += other.failed;
        self.sstables.merge(&other.sstables);
        self.tombstones.merge(&other.tombstones);
        self.cells_scanned.merge(&other.cells_scanned);
        self.live_rows.merge(&other.live_rows);
    }
}

/// Limits a read runs under.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    pub warn: f64,
    pub fail: f64,
    pub page_size: f64,
}

/// What reads of one partition share within a sample: its sources, the sstables holding it and,
/// once a read needs all of it, its merged view.
pub struct Cached<'a> {
    pub sources: Vec<&'a Part>,
    view: Option<View>,
    /// Its frags by start, for windowed reads.
    index: Option<view::FragIndex>,
    /// Walks from an end of the partition, by (reversed, limit): every such read sees the same.
    head_walks: Vec<(bool, f64, Tally)>,
    /// Sstables holding the partition, newest max timestamp first.
    touches: Vec<Touch>,
    /// Without partition deletions a read without a slice goes to every touch: the sum of the
    /// touches whose count is certain, and those to draw (R1 reads pass hundreds of sstables).
    plain: Option<(f64, Vec<usize>)>,
    /// Bloom-filter false positives expected from the sstables that do not hold it.
    bloom: f64,
    /// Clustering extent of its content.
    lo: f64,
    hi: f64,
    /// Serialized bytes across its sources.
    bytes: f64,
}

impl<'a> Cached<'a> {
    /// The merged view of the whole partition, built once.
    pub fn view(&mut self, table: &TableSim, now: f64) -> &View {
        let sources = &self.sources;
        self.view
            .get_or_insert_with(|| view::build(sources, &table.clock(now), None))
    }
}

/// An sstable record holding the partition, as the read path sees it.
struct Touch {
    /// Of the record's overlapping sstables, how many hold the partition, on average.
    presence: f64,
    lo: f64,
    hi: f64,
    pdel: Option<f64>,
    max_ts: f64,
    /// The binomial draw of the copies holding the partition, when their count is not certain.
    draw: Option<Draw>,
    /// The record's copies were flushed one after the other from rows whose clustering follows
    /// time: each holds its own slice of `lo..hi`, in order.
    slices: Option<f64>,
}

/// A binomial draw set up once per record and sample: every read of the partition in the sample
/// draws from it (a power per draw was 2 % of R1's run).
struct Draw {
    n: f64,
    p: f64,
    /// `(1 - q)^n`, the first term of the CDF on the rarer side `q = min(p, 1 - p)`.
    none: f64,
}

impl Touch {
    fn new(
        presence: f64,
        copies: f64,
        (lo, hi): (f64, f64),
        pdel: Option<f64>,
        max_ts: f64,
        slices: Option<f64>,
    ) -> Touch {
        let n = copies.round();
        // One copy, or every copy holding it: no draw.
        let draw = (n >= 2.0 && presence < n).then(|| {
            let p = (presence / n).clamp(0.0, 1.0);
            Draw {
                n,
                p,
                none: (1.0 - p.min(1.0 - p)).powf(n),
            }
        });
        Touch {
            presence,
            lo,
            hi,
            pdel,
            max_ts,
            draw,
            slices,
        }
    }

    /// The share of this record's copies a read stopping at `x` opens: all but those of its
    /// slices wholly beyond `x`, or none when the whole range is.
    fn reached(&self, x: f64, reversed: bool) -> f64 {
        let beyond = if reversed { self.hi < x } else { self.lo > x };
        if beyond {
            return 0.0;
        }
        let Some(n) = self.slices else { return 1.0 };
        let len = self.hi - self.lo;
        if len <= 0.0 {
            return 1.0;
        }
        let part = if reversed { self.hi - x } else { x - self.lo };
        ((part / len).clamp(0.0, 1.0) * n).ceil().clamp(1.0, n) / n
    }
}

/// Per-sample cache by partition.
pub type ViewCache<'a> = HashMap<u32, Cached<'a>>;

/// What reads of partition `pidx` share in this sample.
pub fn cached<'c, 'a>(
    table: &'a TableSim,
    order: &ReadOrder<'a>,
    pidx: u32,
    cache: &'c mut ViewCache<'a>,
) -> &'c mut Cached<'a> {
    cache
        .entry(pidx)
        .or_insert_with(|| build_cached(table, order, pidx))
}

/// Gathers what reads of partition `pidx` share: its sources, the sstables holding it and the
/// bloom-filter false positives of the rest.
fn build_cached<'a>(table: &'a TableSim, order: &ReadOrder<'a>, pidx: u32) -> Cached<'a> {
    let holding = order.holding(pidx);
    let mut sources: Vec<&Part> = Vec::with_capacity(holding.len() + 1);
    sources.extend(table.memtable.parts.get(&pidx));
    let mut touches = Vec::with_capacity(holding.len());
    // Every sstable not holding the partition answers its bloom filter with a false
    // positive at the filter's rate; the holders' copies that miss it do too.
    let mut missed = order.copies;
    for s in holding {
        let Some(part) = s.part(pidx) else { continue };
        let presence = s.presence_of(part);
        missed -= s.copies.min(presence);
        sources.push(part);
        // A partition is in exactly one of a disjoint record's sstables.
        let copies = if s.disjoint { 1.0 } else { s.copies };
        let range = extent(part.frags.iter());
        // A step's flushes of time-ordered rows: one record, each copy a later slice.
        let sliced = s.flushed && copies >= 2.0 && part.frags.iter().all(|f| f.ordered);
        touches.push(Touch::new(
            presence,
            copies,
            range,
            part.pdel,
            s.stats.max_ts,
            sliced.then_some(copies.round()),
        ));
    }
    let bloom = missed.max(0.0) * table.bloom_fp;
    let (lo, hi) = extent(sources.iter().flat_map(|p| p.frags.iter()));
    let bytes = sources.iter().map(|p| p.bytes(&table.sizes)).sum();
    let plain = touches.iter().all(|t| t.pdel.is_none()).then(|| {
        let (mut fixed, mut drawn) = (0.0, Vec::new());
        for (i, t) in touches.iter().enumerate() {
            match t.draw {
                None => fixed += t.presence,
                Some(_) => drawn.push(i),
            }
        }
        (fixed, drawn)
    });
    Cached {
        bytes,
        sources,
        view: None,
        index: None,
        head_walks: Vec::new(),
        touches,
        plain,
        bloom,
        lo: if lo.is_finite() { lo } else { 0.0 },
        hi: if hi.is_finite() { hi } else { 0.0 },
    }
}

/// The clustering range `frags` cover.
fn extent<'f>(frags: impl Iterator<Item = &'f Frag>) -> (f64, f64) {
    frags.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), f| {
        (a.min(f.lo), b.max(f.hi))
    })
}

/// A table's sstables as the read path orders them (CASSANDRA.md 7.1 step 3: newest max
/// timestamp first), with each one's range of tracked partitions side by side: a read of a
/// partition finds its sstables without visiting every record (R1 keeps thousands late in its
/// run, most of them holding other days' partitions).
pub struct ReadOrder<'a> {
    sstables: Vec<&'a SSTable>,
    /// `(first pidx, last pidx, place in read order)` of every non-empty record, by first pidx.
    by_first: Vec<(u32, u32, u32)>,
    /// The largest last pidx of `by_first[..=k]`: a lookup walks back from the records starting
    /// at or before a partition only while one of them can still reach it.
    reach: Vec<u32>,
    /// Copies over all records.
    copies: f64,
}

impl<'a> ReadOrder<'a> {
    pub fn new(sstables: &'a [SSTable]) -> ReadOrder<'a> {
        let mut sstables: Vec<&SSTable> = sstables.iter().collect();
        // Ids are unique: the order is total, an unstable sort gives it.
        sstables.sort_unstable_by(|a, b| {
            b.stats
                .max_ts
                .total_cmp(&a.stats.max_ts)
                .then(b.id.cmp(&a.id))
        });
        let mut by_first: Vec<(u32, u32, u32)> = sstables
            .iter()
            .enumerate()
            .filter_map(|(k, s)| Some((*s.pidxs().first()?, *s.pidxs().last()?, k as u32)))
            .collect();
        by_first.sort_unstable();
        let reach = by_first
            .iter()
            .scan(0, |max, r| {
                *max = r.1.max(*max);
                Some(*max)
            })
            .collect();
        let copies = sstables.iter().map(|s| s.copies).sum();
        ReadOrder {
            sstables,
            by_first,
            reach,
            copies,
        }
    }

    /// The sstables whose partition range holds `pidx`, in read order.
    fn holding(&self, pidx: u32) -> Vec<&'a SSTable> {
        let end = self.by_first.partition_point(|r| r.0 <= pidx);
        let mut places: Vec<u32> = (0..end)
            .rev()
            .take_while(|&k| self.reach[k] >= pidx)
            .filter(|&k| self.by_first[k].1 >= pidx)
            .map(|k| self.by_first[k].2)
            .collect();
        places.sort_unstable();
        places.iter().map(|&k| self.sstables[k as usize]).collect()
    }
}

/// What the reads of one sample share: the table, its sstables in read order, the time and limits.
pub struct ReadContext<'a> {
    pub table: &'a TableSim,
    pub order: ReadOrder<'a>,
    pub now: f64,
    pub limits: ReadLimits,
}

/// Simulates `n` reads of `reader`.
pub fn simulate<'a>(
    cx: &ReadContext<'a>,
    reader: &Reader,
    n: usize,
    rng: &mut Pcg64Mcg,
    cache: &mut ViewCache<'a>,
) -> Vec<ReadWork> {
    let candidates = candidates(cx.table, reader, cx.now);
    if candidates.is_empty() {
        return Vec::new();
    }
    let total = candidates.last().map(|c| c.1).unwrap_or(0.0);
    (0..n)
        .map(|_| {
            let u = rng.random::<f64>() * total;
            let k = candidates
                .partition_point(|c| c.1 < u)
                .min(candidates.len() - 1);
            read_one(cx, reader, candidates[k].0, rng, cache)
        })
        .collect()
}

/// The data a query keeps hot, on disk: the real partitions it may read (its time bucket for
/// `latest` keys, all of them otherwise) times what its simulated reads touched in each: the
/// cells they scanned and a compression chunk per sstable, at most the whole partition (a LIMIT
/// read of the newest rows keeps only a partition's tail hot). This is what the page cache is
/// held against.
pub fn hot_bytes(cx: &ReadContext, reader: &Reader, works: &[ReadWork]) -> f64 {
    if works.is_empty() {
        return 0.0;
    }
    let parts = &cx.table.parts;
    let reachable = reachable(cx.table, reader, cx.now);
    let eligible: f64 = parts
        .tracked
        .iter()
        .filter(|p| reachable(p))
        .map(|p| p.weight)
        .sum();
    let ratio = cx.table.compression_ratio;
    let per_cell = super::sampler::bytes_per_cell(cx.table);
    let touched = |w: &ReadWork| {
        let scanned = (w.request_cells + w.request_tombstones) * per_cell * ratio
            + w.sstables * cx.table.chunk_bytes;
        scanned.min(w.partition_bytes * ratio)
    };
    let mean = works.iter().map(touched).sum::<f64>() / works.len() as f64;
    eligible * mean
}

/// Whether a query may read a tracked partition at `now`: the current time bucket for `latest`
/// keys on a bucketed table (at a bucket boundary, the one that just ended), any partition
/// created before `now` otherwise.
fn reachable(table: &TableSim, reader: &Reader, now: f64) -> impl Fn(&Tracked) -> bool {
    let latest = reader.keys == KeyPopularity::Latest && table.parts.layout.bucket_s.is_some();
    move |p: &Tracked| {
        if latest {
            p.active(now - 1e-6)
        } else {
            p.from_s < now
        }
    }
}

/// Partitions a read may hit, with cumulative probabilities: the current time bucket for
/// `latest` keys on a bucketed table, every partition created so far otherwise.
fn candidates(table: &TableSim, reader: &Reader, now: f64) -> Vec<(u32, f64)> {
    let parts = &table.parts;
    let reachable = reachable(table, reader, now);
    let mut acc = 0.0;
    let mut out = Vec::new();
    for (i, p) in parts.tracked.iter().enumerate() {
        if !reachable(p) {
            continue;
        }
        acc += p.weight * parts.share(i, reader.keys, reader.zipf_norm);
        out.push((i as u32, acc));
    }
    out
}

fn read_one<'a>(
    cx: &ReadContext<'a>,
    reader: &Reader,
    pidx: u32,
    rng: &mut Pcg64Mcg,
    cache: &mut ViewCache<'a>,
) -> ReadWork {
    let (table, now, limits) = (cx.table, cx.now, cx.limits);
    let entry = cached(table, &cx.order, pidx, cache);
    let (lo, hi) = (entry.lo, entry.hi);
    let shape = &reader.shape;
    // A point read reads one clustering position: the start of the row a random position
    // falls in, so the window walked holds the whole row.
    let start = if shape.point {
        Some((lo + rng.random::<f64>() * (hi - lo)).floor().max(lo))
    } else if shape.slice {
        Some(lo + rng.random::<f64>() * (hi - lo))
    } else {
        None
    };
    let mut limit = shape
        .limit
        .into_iter()
        .chain(shape.per_partition_limit)
        .fold(limits.page_size, f64::min);
    if shape.point {
        limit = 1.0;
    }
    let known = entry
        .head_walks
        .iter()
        .find(|w| start.is_none() && w.0 == shape.reversed && w.1 == limit)
        .map(|w| w.2);
    let tally = match known {
        Some(t) => t,
        None if entry.view.is_some() || !limit.is_finite() => walk(
            entry.view(table, now),
            table,
            start,
            shape.reversed,
            limit,
            shape.point,
        ),
        None => walk_windows(entry, table, now, start, shape.reversed, limit, shape.point),
    };
    if start.is_none() && known.is_none() {
        entry.head_walks.push((shape.reversed, limit, tally));
    }
    // A read without LIMIT pages through the whole partition: the request pays every page.
    let unlimited = shape.limit.is_none() && shape.per_partition_limit.is_none() && !shape.point;
    let request = if unlimited && tally.live >= limit - 1e-9 {
        let whole = entry
            .head_walks
            .iter()
            .find(|w| w.0 == shape.reversed && w.1.is_infinite())
            .map(|w| w.2);
        let whole = whole.unwrap_or_else(|| {
            let t = walk(
                entry.view(table, now),
                table,
                None,
                shape.reversed,
                f64::INFINITY,
                false,
            );
            entry.head_walks.push((shape.reversed, f64::INFINITY, t));
            t
        });
        (
            whole.scanned.max(tally.scanned),
            whole.counted.max(tally.counted),
        )
    } else {
        (tally.scanned, tally.counted)
    };
    let sstables = if reader.names_stop {
        names_sstables(entry, in_memtable(table, pidx, now), rng)
    } else {
        let memtable_pdel = table.memtable.parts.get(&pidx).and_then(|p| p.pdel);
        sstables_read(entry, memtable_pdel, start, tally.stop, shape.reversed, rng)
    };
    let bloom = entry.bloom;
    // The real partition this read hits holds a random count of the scattered tombstones around
    // the tracked one's expected count (found by the agreement suite: every read of a partition
    // counted its mean, so the spread across partitions was too narrow: the registry index's
    // tombstones per read p50 high and p99 low).
    let counted =
        tally.counted - tally.scattered + spread_count(rng, tally.scattered, tally.spread);
    let tally = Tally { counted, ..tally };
    let mut work = ReadWork {
        live_rows: tally.live,
        tombstones: tally.counted,
        cells_scanned: tally.scanned,
        sstables,
        bloom_false_positives: bloom,
        warned: tally.counted > limits.warn,
        failed: tally.counted > limits.fail,
        partition_bytes: entry.bytes,
        request_cells: request.0,
        request_tombstones: request.1,
    };
    if work.failed {
        // TombstoneOverwhelmingException: the replica stops at the threshold (CASSANDRA.md 6.4).
        let share = (limits.fail + 1.0) / tally.counted;
        work.tombstones = limits.fail + 1.0;
        work.cells_scanned *= share;
        work.live_rows *= share;
    }
    work
}

/// A limited read looks at the clustering range it needs: the view of a window from its start,
/// widened until it holds `limit` live rows or the whole partition. Same result as walking the
/// whole view, at the cost of the rows read.
#[allow(clippy::too_many_arguments)]
fn walk_windows(
    entry: &mut Cached,
    table: &TableSim,
    now: f64,
    start: Option<f64>,
    reversed: bool,
    limit: f64,
    point: bool,
) -> Tally {
    let from = start.unwrap_or(if reversed { entry.hi } else { entry.lo });
    let mut len = (2.0 * limit).max(16.0);
    loop {
        let (a, b) = if reversed {
            (from - len, from)
        } else {
            (from, from + len)
        };
        let sources = &entry.sources;
        let index = entry
            .index
            .get_or_insert_with(|| view::FragIndex::new(sources));
        let v = index.window(sources, &table.clock(now), a, b);
        let t = walk(&v, table, start, reversed, limit, point);
        let whole = if reversed {
            a <= entry.lo
        } else {
            b >= entry.hi
        };
        if t.live >= limit - 1e-9 || whole || point {
            return t;
        }
        len *= 4.0;
    }
}

/// Walks the merged view from `start` (or an end) in clustering order until `limit` live rows.
fn walk(
    view: &View,
    table: &TableSim,
    start: Option<f64>,
    reversed: bool,
    limit: f64,
    point: bool,
) -> Tally {
    let mut out = Tally::default();
    let order: Box<dyn Iterator<Item = &view::Seg>> = if reversed {
        Box::new(view.segs.iter().rev())
    } else {
        Box::new(view.segs.iter())
    };
    for seg in order {
        let len = seg.b - seg.a;
        // The share of the segment on the read's side of its start.
        let mut share = match start {
            Some(s) if !reversed => ((seg.b - s.max(seg.a)) / len).clamp(0.0, 1.0),
            Some(s) => ((s.min(seg.b) - seg.a) / len).clamp(0.0, 1.0),
            None => 1.0,
        };
        if share <= 0.0 {
            continue;
        }
        // A point read reads the one clustering position it starts at, wherever in the segment
        // that lies (found by the agreement suite: the share after the start made a point read
        // of a one-row partition see a uniform share of its row, the sessions' expired cells
        // per read p50 0.7 against 3).
        if point {
            share = 1.0 / len.max(1.0);
        }
        let mut seg_tally = Tally::default();
        for piece in &view.pieces[seg.start..seg.end] {
            let t = piece.tally(&table.sizes);
            seg_tally.live += t.live * share;
            seg_tally.counted += t.counted * share;
            seg_tally.scanned += t.scanned * share;
            seg_tally.scattered += t.scattered * share;
            seg_tally.spread += t.spread * share;
        }
        let need = limit - out.live;
        if seg_tally.live >= need && seg_tally.live > 0.0 {
            // Rows are spread evenly in a segment: stop part way through it.
            let f = need / seg_tally.live;
            if !point {
                let (from, to) = match (reversed, start) {
                    (false, s) => (s.map_or(seg.a, |s| s.max(seg.a)), seg.b),
                    (true, s) => (s.map_or(seg.b, |s| s.min(seg.b)), seg.a),
                };
                // Rows arrive as a Poisson process: a real partition's `limit`-th row lies
                // sqrt(limit) rows' spacing either side of the tracked one's expected place (found
                // by the agreement suite: every read stopped at one place, so a sample's reads
                // all did or all did not reach the next sstable; m2m's p99 0.84 against 0.95).
                let spacing = (to - from).abs() / seg_tally.live;
                out.stop = Some((from + f * (to - from), limit.sqrt() * spacing));
            }
            out.live += need;
            out.counted += seg_tally.counted * f;
            out.scanned += seg_tally.scanned * f;
            out.scattered += seg_tally.scattered * f;
            out.spread += seg_tally.spread * f;
            return out;
        }
        out.live += seg_tally.live;
        out.counted += seg_tally.counted;
        out.scanned += seg_tally.scanned;
        out.scattered += seg_tally.scattered;
        out.spread += seg_tally.spread;
        if point {
            return out;
        }
    }
    out
}

/// Sstables merged (CASSANDRA.md 7.1-7.2): every sstable holding the partition, newest max
/// timestamp first, stopping once a partition deletion newer than the next sstable was seen,
/// skipping those whose clustering range misses a slice, and those whose rows all lie beyond
/// where a limited read stopped (`stop`): the merge opens an sstable only when it reaches the
/// sstable's lower bound, its covered clustering range (`UnfilteredRowIteratorWithLowerBound`,
/// CASSANDRA-8180), so a time series read newest first with a LIMIT touches the newest sstables
/// alone. Found by the real node: twcs-ttl's `LIMIT 10` reads iterated 1 sstable of 4 to 5
/// (reports/validation/twcs-ttl). The range is the partition's in the sstable here, the
/// sstable's own in Cassandra: the same for time-ordered writes. A record of a step's flushes
/// stands for sstables each holding a later slice of its range: the read opens those it reaches
/// (CASSANDRA.md 7.1 step 4). Bloom-filter false positives cost an index read each but are not
/// counted.
fn sstables_read(
    entry: &Cached,
    memtable_pdel: Option<f64>,
    start: Option<f64>,
    stop: Option<(f64, f64)>,
    reversed: bool,
    rng: &mut Pcg64Mcg,
) -> f64 {
    // Nothing stops the read early and no slice skips an sstable: every touch counts.
    if let (Some((fixed, drawn)), None, None, None) = (&entry.plain, memtable_pdel, start, stop) {
        let touches = &entry.touches;
        let drawn: f64 = drawn.iter().map(|&i| holders(&touches[i], rng)).sum();
        return whole(fixed + drawn, rng);
    }
    let touches = &entry.touches;
    // This real partition's stop, around the tracked one's.
    let stop = stop.map(|(x, sd)| {
        if sd > 0.0 {
            x + sd * rng.sample::<f64, _>(rand_distr::StandardNormal)
        } else {
            x
        }
    });
    let mut newest_pdel = memtable_pdel.unwrap_or(f64::NEG_INFINITY);
    let mut count = 0.0;
    for t in touches {
        if newest_pdel > t.max_ts {
            break;
        }
        if let Some(x) = start {
            let misses = if reversed { t.lo > x } else { t.hi < x };
            if misses && t.pdel.is_none() {
                continue;
            }
        }
        // A partition deletion is met at the partition's start, before any row.
        let reached = match stop {
            Some(x) if t.pdel.is_none() => t.reached(x, reversed),
            _ => 1.0,
        };
        if reached <= 0.0 {
            continue;
        }
        if let Some(d) = t.pdel {
            newest_pdel = newest_pdel.max(d);
        }
        count += holders(t, rng) * reached;
    }
    whole(count, rng)
}

/// The chance that the real partition a read of tracked `pidx` hits was written since the
/// memtable began: its writes are Poisson at its key's rate. Neither the tracked partition's
/// memtable part nor its count of writes says it: the part is there or not by the tracked
/// partition's own draw, and a step's writes split between a flush and the next memtable keep a
/// fraction each (found by the agreement suite on zipf keys: 31 % against 39 % held).
fn in_memtable(table: &TableSim, pidx: u32, now: f64) -> f64 {
    if !table.memtable.oldest.is_finite() {
        return 0.0;
    }
    let rate: f64 = table
        .writers
        .iter()
        .map(|w| w.rate * table.parts.share(pidx as usize, w.keys, w.zipf_norm))
        .sum();
    let age = (now - table.memtable.oldest).max(0.0);
    1.0 - (-rate * age).exp()
}

/// The sstables a names read opens when it stops at the newest source holding its row
/// (`Reader::names_stop`): none when this real partition's row is in the memtable (chance
/// `in_memtable`), else the newest sstable holding it.
fn names_sstables(entry: &Cached, in_memtable: f64, rng: &mut Pcg64Mcg) -> f64 {
    if rng.random::<f64>() < in_memtable {
        return 0.0;
    }
    for t in &entry.touches {
        // A record's copies holding the partition: drawn, or a presence below one.
        let held = holders(t, rng);
        if held >= 1.0 || rng.random::<f64>() < held {
            return 1.0;
        }
    }
    0.0
}

/// Expected counts become whole sstables by random rounding, as a histogram records them.
fn whole(count: f64, rng: &mut Pcg64Mcg) -> f64 {
    count.floor() + f64::from(u8::from(rng.random::<f64>() < count.fract()))
}

/// How many of a record's copies hold the partition for one read: each alike sstable holds it
/// independently, so a binomial draw around the presence (found by the agreement suite: the
/// mean alone gave every read the same count, p50 = p99, where reads of partitions written
/// now and then see a spread).
fn holders(t: &Touch, rng: &mut Pcg64Mcg) -> f64 {
    let Some(Draw { n, p, none }) = t.draw else {
        return t.presence;
    };
    let u: f64 = rng.random();
    if n > 64.0 {
        // Many copies: the normal approximation, by the same single draw.
        let normal = crate::distribution::Distribution::Normal {
            mean: t.presence,
            sd: (n * p * (1.0 - p)).sqrt(),
        };
        return normal.quantile(u).round().min(n);
    }
    // The inverse of the binomial CDF, walked from 0 on the rarer side (the copies holding it,
    // or those missing it): a few steps, and (1 - q)^n stays far from underflow for q <= 1/2.
    let q = p.min(1.0 - p);
    let ratio = q / (1.0 - q);
    let mut pmf = none;
    let mut cdf = pmf;
    let mut k = 0.0;
    while u > cdf && k < n {
        pmf *= (n - k) / (k + 1.0) * ratio;
        k += 1.0;
        cdf += pmf;
    }
    if p <= 0.5 {
        k
    } else {
        n - k
    }
}

/// A count of mean `mean` and variance `var` (at most the mean): a binomial whose trials are the
/// rows written and whose chance is the share still visible.
fn spread_count(rng: &mut Pcg64Mcg, mean: f64, var: f64) -> f64 {
    if mean <= 0.0 {
        return 0.0;
    }
    // The trials are a whole number drawn on either side of mean / p, which adds p^2 f (1 - f)
    // to the binomial's variance (f the fraction drawn): p is solved for the sum.
    let mut p = (1.0 - var / mean).clamp(1e-3, 1.0);
    for _ in 0..4 {
        let f = (mean / p).fract();
        p = (1.0 - (var - p * p * f * (1.0 - f)).max(0.0) / mean).clamp(1e-3, 1.0);
    }
    let trials = mean / p;
    let mut n = trials.floor();
    if rng.random::<f64>() < trials - n {
        n += 1.0;
    }
    if n > 256.0 {
        let sd = (n * p * (1.0 - p)).sqrt();
        let u1: f64 = rng.random::<f64>().max(1e-300);
        let u2: f64 = rng.random();
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        return (n * p + sd * z).max(0.0);
    }
    (0..n as u32).filter(|_| rng.random::<f64>() < p).count() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::fixtures;
    use crate::engine::frag::Kind;
    use rand::SeedableRng;

    #[test]
    fn the_read_order_finds_exactly_the_sstables_whose_range_holds_a_partition() {
        let sizes = fixtures::sizes(2.0, 100.0, 0.0);
        let weights = vec![1.0; 400];
        let mut rng = Pcg64Mcg::seed_from_u64(11);
        let sstables: Vec<SSTable> = (0..60)
            .map(|id| {
                let first = rng.random_range(0..380u32);
                let len = if id % 5 == 0 {
                    200
                } else {
                    rng.random_range(0..12u32)
                };
                let parts = (first..(first + len).min(400))
                    .step_by(1 + id as usize % 3)
                    .map(|pidx| {
                        let mut p = Part::new(pidx);
                        p.push(fixtures::run(Kind::Rows, 0.0, 10.0, 0.0, 1.0));
                        p.writes = 1.0;
                        p
                    })
                    .collect();
                let created = rng.random_range(0.0..1e4);
                SSTable::new(id, parts, 1.0, false, created, &weights, &sizes)
            })
            .collect();
        let order = ReadOrder::new(&sstables);
        for pidx in 0..400 {
            let want: Vec<u64> = order
                .sstables
                .iter()
                .filter(|s| s.parts.first().is_some_and(|p| p.pidx <= pidx))
                .filter(|s| s.parts.last().is_some_and(|p| p.pidx >= pidx))
                .map(|s| s.id)
                .collect();
            let got: Vec<u64> = order.holding(pidx).iter().map(|s| s.id).collect();
            assert_eq!(got, want, "partition {pidx}");
        }
    }

    #[test]
    fn the_copies_holding_a_partition_are_a_binomial_draw_around_the_presence() {
        let mut rng = Pcg64Mcg::seed_from_u64(3);
        for (copies, presence) in [(10.0, 3.0), (40.0, 39.0), (200.0, 50.0), (1.0, 1.0)] {
            let t = Touch::new(presence, copies, (0.0, 1.0), None, 0.0, None);
            let draws: Vec<f64> = (0..20_000).map(|_| holders(&t, &mut rng)).collect();
            let mean = draws.iter().sum::<f64>() / draws.len() as f64;
            let var = draws.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / draws.len() as f64;
            let p = presence / copies;
            assert!(
                (mean - presence).abs() < 0.02 * presence,
                "{copies}: mean {mean}"
            );
            let want = copies * p * (1.0 - p);
            assert!(
                (var - want).abs() <= 0.05 * want + 1e-9,
                "{copies}: variance {var}"
            );
            assert!(draws.iter().all(|d| *d >= 0.0 && *d <= copies.max(1.0)));
        }
    }

    #[test]
    fn a_spread_count_keeps_its_mean_and_variance() {
        let mut rng = Pcg64Mcg::seed_from_u64(5);
        let draws: Vec<f64> = (0..40_000)
            .map(|_| spread_count(&mut rng, 1.5, 0.6))
            .collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / draws.len() as f64;
        assert!((mean - 1.5).abs() < 0.02, "mean {mean}");
        assert!((var - 0.6).abs() < 0.03, "variance {var}");
        assert!(draws.iter().all(|x| x.fract() == 0.0 && *x >= 0.0));
        // Nothing left to spread: the count is the mean.
        assert_eq!(spread_count(&mut rng, 3.0, 0.0), 3.0);
        assert_eq!(spread_count(&mut rng, 0.0, 0.0), 0.0);
    }
}
