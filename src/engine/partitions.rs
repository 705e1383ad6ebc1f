//! The partitions a node tracks for one table (DESIGN.md 3): all of them when few, else a
//! weighted, stratified sample (the hottest ranks one by one, geometric strata of the rest), and
//! for time-bucketed tables a new generation of partitions each bucket. Each tracked partition
//! knows its popularity rank, its weight (the real partitions it stands for), its clustering
//! population and where appends and head deletes have got to.
//!
//! A sampled partition stands for many real ones, and its history is one of theirs. When a real
//! partition gets less than about one write in its life (10^9 keys and 10^6 writes), one drawn
//! history is almost always empty, so a plain sample gave nothing or millions of rows by the luck
//! of a few draws. So a stratum is split by whether its members are written at all: the members
//! written at least once, each tracked partition with its first write at its own quantile of the
//! first-write time given a write in the life (later writes are Poisson again, the process having
//! no memory), and one partition that stands for the members never written.

use std::collections::VecDeque;

use crate::workload::KeyPopularity;

/// One tracked partition.
#[derive(Debug, Clone)]
pub struct Tracked {
    /// Real partitions this one stands for.
    pub weight: f64,
    /// Popularity rank within its generation (1 = hottest).
    pub rank: f64,
    /// When it starts and stops taking writes (its time bucket; the whole run when not bucketed).
    pub from_s: f64,
    pub until_s: f64,
    /// Clustering population for upserts (rows_per_partition), 1 without clustering columns.
    pub population: f64,
    /// Next clustering position of an append.
    pub cursor: f64,
    /// Oldest row not yet deleted by head deletes (a queue consumer).
    pub head: f64,
    /// Head deletes requested but not yet possible (their rows were not written a delay ago):
    /// a consumer deletes rows as they become due, so the shortfall waits for later steps.
    pub debt: f64,
    /// `(time, cursor)` at recent step ends: which rows existed a delay ago.
    history: VecDeque<(f64, f64)>,
    /// When its first write lands, for a partition that stands for the members of a stratum
    /// written at least once: no writes before, exactly one then (by `first_writer`), Poisson
    /// after. Minus infinity for Poisson writes throughout (a real partition tracked alone),
    /// infinity for the members never written.
    pub first_s: f64,
    /// The writer (index among the table's) whose write is the first, chosen once by the
    /// member's pick among the writers' rates on it.
    pub first_writer: usize,
    /// Writes at random members of its clustering population so far (upserts).
    pub upserts: f64,
    /// For a member of a sampled stratum (one standing for more real partitions than it tracks),
    /// the index of the stratum's first tracked partition: a stratum's writes are drawn together
    /// (`arrivals::systematic`). `None` for a partition tracked alone.
    pub stratum: Option<u32>,
    /// Its writes after the first relative to its rate: 1 but in a sampled stratum, whose
    /// members' first writes are paired with their rates by a fixed sequence and whose rows this
    /// brings back to their mean (see [`condition_on_writes`]).
    pub after_scale: f64,
}

impl Tracked {
    /// The append position at time `t` (rows written before `t`).
    pub fn cursor_at(&self, t: f64) -> f64 {
        let mut prev: Option<(f64, f64)> = None;
        for &(ht, hc) in self.history.iter().rev() {
            if ht <= t {
                return match prev {
                    Some((nt, nc)) if nt > ht => hc + (nc - hc) * (t - ht) / (nt - ht),
                    _ => hc,
                };
            }
            prev = Some((ht, hc));
        }
        // Before the oldest entry kept: the oldest cursor known.
        prev.map(|(_, c)| c).unwrap_or(0.0)
    }

    /// When the append cursor reached position `x` (the write time of row `x`).
    pub fn time_of(&self, x: f64) -> f64 {
        let mut prev: Option<(f64, f64)> = None;
        for &(ht, hc) in &self.history {
            if hc >= x {
                return match prev {
                    Some((pt, pc)) if hc > pc => pt + (ht - pt) * (x - pc) / (hc - pc),
                    _ => ht,
                };
            }
            prev = Some((ht, hc));
        }
        prev.map(|p| p.0).unwrap_or(self.from_s)
    }

    /// Records the cursor at a step end, keeping `keep_s` seconds of history.
    pub fn remember(&mut self, t: f64, keep_s: f64) {
        self.history.push_back((t, self.cursor));
        while self.history.len() > 2 && self.history[1].0 < t - keep_s {
            self.history.pop_front();
        }
    }

    pub fn active(&self, t: f64) -> bool {
        t >= self.from_s && t < self.until_s
    }

    /// The rows its writes created, what its live rows follow with neither TTL nor deletes,
    /// known without merging its sources: its appends and the members its upserts hit.
    pub fn rows_written(&self) -> f64 {
        let hit = if self.upserts > 0.0 {
            let miss = (-1.0 / self.population.max(1.0)).ln_1p();
            -self.population * (self.upserts * miss).exp_m1()
        } else {
            0.0
        };
        self.cursor + hit
    }

    /// How long of `[t0, t1)` its writes arrive as a Poisson process (after its first write),
    /// times `after_scale`.
    pub fn exposure(&self, t0: f64, t1: f64) -> f64 {
        (t1 - t0.max(self.first_s)).clamp(0.0, t1 - t0) * self.after_scale
    }

    /// Whether its first write lands in `[t0, t1)`.
    pub fn first_write_in(&self, t0: f64, t1: f64) -> bool {
        self.first_s >= t0 && self.first_s < t1
    }
}

/// How a table's partitions are laid out on a node.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Partitions per generation on this node (entities × replica share).
    pub entities: f64,
    /// Time bucket length, if the partition key has one.
    pub bucket_s: Option<f64>,
    /// Tracked partitions per generation.
    pub per_generation: usize,
    /// Whether any statement on the table picks keys by zipf (strata then follow ranks).
    pub zipf: bool,
}

impl Layout {
    /// The share of a generation's requests one real partition of popularity rank `rank` gets.
    pub fn share(&self, rank: f64, keys: KeyPopularity, zipf_norm: f64) -> f64 {
        match keys {
            KeyPopularity::Zipf(s) => rank.powf(-s) / zipf_norm,
            _ => 1.0 / self.entities.max(1.0),
        }
    }
}

/// The tracked partitions of a table on a node.
#[derive(Debug, Clone)]
pub struct Partitions {
    pub layout: Layout,
    pub tracked: Vec<Tracked>,
    /// `weights[i] == tracked[i].weight`, kept apart for the sstable statistics.
    pub weights: Vec<f64>,
    /// Tracked indices by popularity rank, then index: kept as generations arrive, where the
    /// sampler sorted every present partition each sample (5 % of R1's run).
    pub by_rank: Vec<u32>,
    /// Start of the newest generation created.
    generation_s: f64,
}

/// One member of a generation's sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampled {
    pub rank: f64,
    /// Real partitions it stands for.
    pub weight: f64,
    /// Its stratum: members of one stratum have about the same popularity.
    pub stratum: usize,
}

/// A generation's sample: every rank when they fit; else the hottest 16 ranks one by one and
/// geometric strata of the rest, each stratum's members evenly spaced.
pub fn sample_ranks(entities: f64, budget: usize, zipf: bool) -> Vec<Sampled> {
    let budget = budget.max(1);
    if entities <= budget as f64 {
        return (1..=entities.round().max(1.0) as u64)
            .map(|r| Sampled {
                rank: r as f64,
                weight: 1.0,
                stratum: r as usize,
            })
            .collect();
    }
    let mut out = Vec::with_capacity(budget);
    let mut strata: Vec<(f64, f64)> = Vec::new(); // [lo, hi) ranks
    if zipf {
        let head = 16.min(budget / 4).max(1);
        for r in 1..=head {
            out.push(Sampled {
                rank: r as f64,
                weight: 1.0,
                stratum: out.len(),
            });
        }
        let mut lo = head as f64 + 1.0;
        while lo <= entities {
            // The last stratum ends past the last rank; tested apart, for from 2^53 on
            // `entities + 1` is `entities` and `min` would never pass it.
            let last = lo * 2.0 > entities;
            let hi = if last { entities + 1.0 } else { lo * 2.0 };
            strata.push((lo, hi));
            if last {
                break;
            }
            lo = hi;
        }
    } else {
        strata.push((1.0, entities + 1.0));
    }
    let left = budget.saturating_sub(out.len()).max(strata.len());
    let per = (left / strata.len().max(1)).max(1);
    let first = out.len();
    for (k, (lo, hi)) in strata.into_iter().enumerate() {
        let m = per.min((hi - lo).round() as usize).max(1);
        let width = (hi - lo) / m as f64;
        for j in 0..m {
            out.push(Sampled {
                rank: (lo + (j as f64 + 0.5) * width).floor(),
                weight: width,
                stratum: first + k,
            });
        }
    }
    out
}

/// The index `u` (in `[0, 1)`) falls on among `rates` laid end to end.
fn pick(rates: &[f64], u: f64) -> usize {
    let target = u * rates.iter().sum::<f64>();
    let mut acc = 0.0;
    rates
        .iter()
        .position(|r| {
            acc += r;
            target < acc
        })
        .unwrap_or(rates.len().saturating_sub(1))
}

/// A tracked partition as a generation creates it: rank, weight and first write.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Member {
    pub rank: f64,
    pub weight: f64,
    /// Seconds after the generation begins; see [`Tracked::first_s`].
    pub first_s: f64,
    pub first_pick: f64,
    /// Its stratum in the sample, and whether that stratum is sampled.
    pub stratum: usize,
    pub sampled: bool,
    /// See [`Tracked::after_scale`].
    pub after_scale: f64,
}

/// The R2 sequence (Roberts 2018): well spread points of the unit square, so the first-write
/// quantiles and statement picks of a stratum's members cover their ranges evenly without a
/// random draw, and neither follows the members' rank order.
fn r2(k: usize) -> (f64, f64) {
    const A1: f64 = 0.754_877_666_246_692_7; // 1 / the plastic number
    const A2: f64 = 0.569_840_290_998_053_2; // its square
    let k = k as f64;
    ((0.5 + A1 * k).fract(), (0.5 + A2 * k).fract())
}

/// `∫ -ln(1 - x) dx` from 0: `(1 - x) ln(1 - x) + x`, by its series where that cancels.
fn integral_of_minus_log1m(x: f64) -> f64 {
    if x >= 1.0 {
        1.0 // (1 - x) ln(1 - x) tends to 0
    } else if x < 1e-3 {
        // Σ x^n / (n (n - 1)) from n = 2.
        x * x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 12.0 + x / 20.0)))
    } else {
        (1.0 - x) * (-x).ln_1p() + x
    }
}

/// The mean first-write time, given one in the life, of the members whose quantile of it lies in
/// `[u1, u2)`, for a partition written `rate` times a second and written at all in the life with
/// chance `written`: the quantile `u` is at `-ln(1 - u written) / rate`. The means of a stratum's
/// quantile bins average to the whole mean, where their midpoints fell short of the exponential's
/// tail (+0.5 % rows under zipf(1.1) over 10^9 keys).
fn mean_first_write(u1: f64, u2: f64, written: f64, rate: f64) -> f64 {
    let h = integral_of_minus_log1m;
    (h(u2 * written) - h(u1 * written)) / (written * rate * (u2 - u1))
}

/// Each of `k` members' quantile bin `[b / k, (b + 1) / k)` and statement pick: the bins in the
/// order of the R2 sequence's first coordinate, so every bin is used once.
fn bins(k: usize) -> Vec<(usize, f64)> {
    let points: Vec<(f64, f64)> = (0..k).map(r2).collect();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|a, b| points[*a].0.total_cmp(&points[*b].0));
    let mut out = vec![(0, 0.0); k];
    for (bin, j) in order.into_iter().enumerate() {
        out[j] = (bin, points[j].1);
    }
    out
}

/// Splits a generation's sample by whether each stratum's members are written in `life_s`
/// seconds, given `rate(rank)`, the writes per second one real partition of that rank gets (all
/// statements). A member standing for one real partition keeps Poisson writes throughout. A
/// stratum's other members stand for its real partitions written at least once, in proportion
/// P = 1 - exp(-rate × life), each with its first write at its own quantile of the first-write
/// time given a write in the life; one more member, at the stratum's mean rank, stands for the
/// partitions never written (left out when it is less than half a real partition).
pub fn condition_on_writes(
    sample: &[Sampled],
    life_s: f64,
    rate: impl Fn(f64) -> f64,
) -> Vec<Member> {
    let poisson = |s: &Sampled, sampled: bool| Member {
        rank: s.rank,
        weight: s.weight,
        first_s: f64::NEG_INFINITY,
        first_pick: 0.0,
        stratum: s.stratum,
        sampled,
        after_scale: 1.0,
    };
    let mut out = Vec::with_capacity(sample.len() + 64);
    for stratum in sample.chunk_by(|a, b| a.stratum == b.stratum) {
        let rates: Vec<f64> = stratum.iter().map(|s| rate(s.rank)).collect();
        let sampled = stratum.iter().any(|s| s.weight > 1.0);
        if !sampled || life_s <= 0.0 || rates.iter().any(|r| !(*r > 0.0 && r.is_finite())) {
            out.extend(stratum.iter().map(|s| poisson(s, sampled)));
            continue;
        }
        let (mut never, mut never_rank) = (0.0, 0.0);
        let before = out.len();
        let k = stratum.len();
        // Rows after the first writes: from the bins' first writes, and from their exact means.
        let (mut after, mut exact) = (0.0, 0.0);
        for ((s, r), (bin, pick)) in stratum.iter().zip(&rates).zip(bins(k)) {
            let written = -(-r * life_s).exp_m1();
            let (u1, u2) = (bin as f64 / k as f64, (bin + 1) as f64 / k as f64);
            let first = mean_first_write(u1, u2, written, *r);
            let rows_per_s = s.weight * written * r;
            after += rows_per_s * (life_s - first);
            exact += rows_per_s * (life_s - mean_first_write(0.0, 1.0, written, *r));
            out.push(Member {
                rank: s.rank,
                weight: s.weight * written,
                first_s: first,
                first_pick: pick,
                stratum: s.stratum,
                sampled,
                after_scale: 1.0,
            });
            never += s.weight * (1.0 - written);
            never_rank += s.weight * (1.0 - written) * s.rank;
        }
        // A member's rate and its bin are paired by the R2 sequence, not by chance, so a stratum
        // whose faster members drew early bins writes too many rows on every seed alike (+0.16 %
        // of an hour's rows under zipf(1.1) over 10^9 keys). Its writes after the first are scaled
        // to their mean; the first writes, most of a sparse stratum's rows, keep their times
        // (moving them instead pushed some past the end: -0.45 %).
        let scale = if after > 0.0 { exact / after } else { 1.0 };
        for m in &mut out[before..] {
            m.first_s = m.first_s.min(life_s);
            m.after_scale = scale;
        }
        if never >= 0.5 {
            out.push(Member {
                rank: (never_rank / never).round().max(stratum[0].rank),
                weight: never,
                first_s: f64::INFINITY,
                first_pick: 0.0,
                stratum: stratum[0].stratum,
                sampled,
                after_scale: 1.0,
            });
        } else {
            // Too few never written to track: the written members stand for the whole stratum.
            for (m, s) in out[before..].iter_mut().zip(stratum) {
                m.weight = s.weight;
            }
        }
    }
    out
}

impl Partitions {
    pub fn new(layout: Layout) -> Partitions {
        Partitions {
            layout,
            tracked: Vec::new(),
            weights: Vec::new(),
            by_rank: Vec::new(),
            generation_s: f64::NEG_INFINITY,
        }
    }

    /// Creates the generations that begin by `now`; writes stop at `end_s` and `rates(rank)` are
    /// each writer's writes per second on one real partition of a rank (their sum conditions the
    /// sample, see [`condition_on_writes`]); `population` draws a partition's clustering
    /// population. Returns whether any were added.
    pub fn advance(
        &mut self,
        now: f64,
        end_s: f64,
        rates: impl Fn(f64) -> Vec<f64>,
        mut population: impl FnMut() -> f64,
    ) -> bool {
        let rate = |rank: f64| rates(rank).iter().sum::<f64>();
        let mut added = false;
        loop {
            let start = match self.layout.bucket_s {
                None if self.generation_s.is_finite() => return added,
                None => 0.0,
                Some(b) if self.generation_s.is_finite() => self.generation_s + b,
                Some(_) => 0.0,
            };
            if start > now {
                return added;
            }
            let until = self
                .layout
                .bucket_s
                .map(|b| start + b)
                .unwrap_or(f64::INFINITY);
            let first = self.tracked.len();
            let sample = sample_ranks(
                self.layout.entities,
                self.layout.per_generation,
                self.layout.zipf,
            );
            let life = until.min(end_s) - start;
            let mut head = (usize::MAX, 0);
            for m in condition_on_writes(&sample, life, rate) {
                if m.stratum != head.0 {
                    head = (m.stratum, self.tracked.len() as u32);
                }
                self.weights.push(m.weight);
                self.tracked.push(Tracked {
                    weight: m.weight,
                    rank: m.rank,
                    from_s: start,
                    until_s: until,
                    population: population(),
                    cursor: 0.0,
                    head: 0.0,
                    debt: 0.0,
                    history: VecDeque::from([(start, 0.0)]),
                    first_s: start + m.first_s,
                    first_writer: pick(&rates(m.rank), m.first_pick),
                    upserts: 0.0,
                    stratum: m.sampled.then_some(head.1),
                    after_scale: m.after_scale,
                });
            }
            self.rank_generation(first);
            self.generation_s = start;
            added = true;
        }
    }

    /// Adds the generation tracked from `first` on to `by_rank`: the sort finds the two sorted
    /// runs (the ranks so far, the new generation's ranks in order) and merges them.
    fn rank_generation(&mut self, first: usize) {
        let tracked = &self.tracked;
        self.by_rank.extend(first as u32..tracked.len() as u32);
        self.by_rank.sort_by(|a, b| {
            tracked[*a as usize]
                .rank
                .total_cmp(&tracked[*b as usize].rank)
                .then(a.cmp(b))
        });
    }

    /// A partition's share of its generation's requests under a key popularity; `zipf_norm` is
    /// H(entities, s) for zipf keys (see [`Partitions::zipf_norm`]).
    pub fn share(&self, i: usize, keys: KeyPopularity, zipf_norm: f64) -> f64 {
        self.layout.share(self.tracked[i].rank, keys, zipf_norm)
    }

    /// The zipf normaliser of a key popularity over a generation: the sum of its sample's
    /// weighted popularities, so that the sample's shares sum to 1 and the writes it takes are
    /// the statement's (H(entities, s) over a sample of midpoint ranks wrote 0.5 % too many rows
    /// under zipf(1.1) over 10^9 keys). Depends on the layout's strata: computed once they are
    /// known.
    pub fn zipf_norm(&self, keys: KeyPopularity) -> f64 {
        let l = &self.layout;
        match keys {
            KeyPopularity::Zipf(s) => sample_ranks(l.entities.max(1.0), l.per_generation, l.zipf)
                .iter()
                .map(|m| m.weight * m.rank.powf(-s))
                .sum(),
            _ => 1.0,
        }
    }

    /// Indices of the partitions taking writes at `t` (the current generation).
    pub fn active(&self, t: f64) -> impl Iterator<Item = usize> + '_ {
        self.tracked
            .iter()
            .enumerate()
            .filter(move |(_, p)| p.active(t))
            .map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_population_is_tracked_whole() {
        let r = sample_ranks(10.0, 100, false);
        assert_eq!(r.len(), 10);
        assert!(r.iter().all(|s| s.weight == 1.0));
    }

    #[test]
    fn a_sample_weighs_up_to_the_population() {
        for zipf in [false, true] {
            let r = sample_ranks(1e6, 2048, zipf);
            let total: f64 = r.iter().map(|s| s.weight).sum();
            assert!((total - 1e6).abs() < 1.0, "{total}");
            assert!(r.len() <= 2048 + 64);
        }
    }

    /// Real partitions written by `t` (seconds into the life) by the members' first writes.
    fn written_by(members: &[Member], t: f64) -> f64 {
        members
            .iter()
            .filter(|m| m.first_s <= t)
            .map(|m| m.weight)
            .sum()
    }

    #[test]
    fn a_sparse_population_is_split_into_written_and_never_written() {
        // 10^12 keys, 500 writes/s for an hour: 1.8 M partitions written, each about once.
        let (entities, rate, life) = (1e12, 500.0, 3600.0);
        for zipf in [false, true] {
            let sample = sample_ranks(entities, 1024, zipf);
            let norm = crate::distribution::harmonic(entities, 1.1);
            let share = |r: f64| {
                if zipf {
                    r.powf(-1.1) / norm
                } else {
                    1.0 / entities
                }
            };
            let members = condition_on_writes(&sample, life, |r| rate * share(r));
            let total: f64 = members.iter().map(|m| m.weight).sum();
            assert!((total / entities - 1.0).abs() < 1e-9, "{total}");
            let expected: f64 = sample
                .iter()
                .map(|s| s.weight * -(-rate * share(s.rank) * life).exp_m1())
                .sum();
            let written = written_by(&members, life);
            assert!(
                (written / expected - 1.0).abs() < 1e-6,
                "{written} {expected}"
            );
            if !zipf {
                assert!((written / (rate * life) - 1.0).abs() < 1e-3, "{written}");
                // First writes spread evenly over the hour: a quarter of them by 15 minutes.
                let quarter = written_by(&members, life / 4.0) / written;
                assert!((quarter - 0.25).abs() < 0.01, "{quarter}");
            }
        }
    }

    #[test]
    fn the_bins_mean_first_writes_average_to_the_exponential_mean() {
        for (rate, life) in [(1.0f64, 1e6f64), (1e-3, 3600.0), (1e-12, 3600.0)] {
            let written = -(-rate * life).exp_m1();
            let k = 17;
            let mean: f64 = bins(k)
                .iter()
                .map(|(b, _)| {
                    mean_first_write(
                        *b as f64 / k as f64,
                        (*b + 1) as f64 / k as f64,
                        written,
                        rate,
                    )
                })
                .sum::<f64>()
                / k as f64;
            // The mean of an exponential truncated at the life.
            let exact = 1.0 / rate - life * (-rate * life).exp() / written;
            assert!(
                (mean / exact - 1.0).abs() < 1e-6,
                "{rate}: {mean} against {exact}"
            );
        }
        let mut used: Vec<usize> = bins(50).iter().map(|b| b.0).collect();
        used.sort();
        assert_eq!(used, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn a_sampled_zipf_population_expects_every_write() {
        // zipf(1.1), 500 writes/s for an hour: the first writes where the bins put them, and the
        // Poisson writes after them at their scale, add up to the writes (they were 0.1 to 0.15 %
        // over before the scale, the same on every seed).
        let (rate, life, s) = (500.0, 3600.0, 1.1);
        for entities in [1e4, 1e6, 1e9, 1e12] {
            let sample = sample_ranks(entities, 1024, true);
            let norm: f64 = sample.iter().map(|m| m.weight * m.rank.powf(-s)).sum();
            let r = |k: f64| rate * k.powf(-s) / norm;
            let expected: f64 = condition_on_writes(&sample, life, r)
                .iter()
                .map(|m| match m.first_s {
                    f if f == f64::NEG_INFINITY => m.weight * r(m.rank) * life,
                    f if f.is_finite() => m.weight * (1.0 + r(m.rank) * (life - f) * m.after_scale),
                    _ => 0.0,
                })
                .sum();
            let off = expected / (rate * life) - 1.0;
            assert!(off.abs() < 1e-5, "{entities}: {off}");
        }
    }

    #[test]
    fn a_dense_population_is_written_whole_and_early() {
        // Every real partition written about 100 times: none left never written.
        let sample = sample_ranks(1e6, 1024, false);
        let members = condition_on_writes(&sample, 3600.0, |_| 100.0 / 3600.0);
        assert_eq!(members.len(), sample.len());
        assert!((written_by(&members, 3600.0) - 1e6).abs() < 1.0);
        // The first write comes in its first 1 / 100 of the life on average.
        let mean: f64 = members.iter().map(|m| m.first_s * m.weight).sum::<f64>() / 1e6;
        assert!((mean / 36.0 - 1.0).abs() < 0.05, "{mean}");
    }

    #[test]
    fn a_partition_tracked_alone_keeps_poisson_writes() {
        let sample = sample_ranks(100.0, 1024, false);
        let members = condition_on_writes(&sample, 3600.0, |_| 1e-6);
        assert!(members
            .iter()
            .all(|m| m.weight == 1.0 && m.first_s == f64::NEG_INFINITY));
    }

    #[test]
    fn the_largest_populations_are_sampled_within_the_budget() {
        for entities in [2f64.powi(53), 2f64.powi(63), 1e300] {
            let r = sample_ranks(entities, 1024, true);
            assert!(r.len() <= 1024 + 64, "{}", r.len());
            let total: f64 = r.iter().map(|s| s.weight).sum();
            assert!((total / entities - 1.0).abs() < 1e-9, "{total}");
        }
    }

    #[test]
    fn zipf_shares_sum_to_one_over_the_sample() {
        let layout = Layout {
            entities: 1e5,
            bucket_s: None,
            per_generation: 512,
            zipf: true,
        };
        let mut p = Partitions::new(layout);
        p.advance(0.0, 1e6, |_| vec![1.0], || 1.0);
        let norm = p.zipf_norm(KeyPopularity::Zipf(1.1));
        let total: f64 = (0..p.tracked.len())
            .map(|i| p.weights[i] * p.share(i, KeyPopularity::Zipf(1.1), norm))
            .sum();
        assert!((total - 1.0).abs() < 0.05, "{total}");
    }

    #[test]
    fn the_rank_order_is_a_sort_of_every_generation_by_rank_then_index() {
        let layout = Layout {
            entities: 1e4,
            bucket_s: Some(100.0),
            per_generation: 64,
            zipf: true,
        };
        let mut p = Partitions::new(layout);
        p.advance(450.0, 1e6, |_| vec![1.0], || 1.0);
        let mut sorted: Vec<u32> = (0..p.tracked.len() as u32).collect();
        sorted.sort_by(|a, b| {
            p.tracked[*a as usize]
                .rank
                .total_cmp(&p.tracked[*b as usize].rank)
                .then(a.cmp(b))
        });
        assert_eq!(p.tracked.len(), 5 * sample_ranks(1e4, 64, true).len());
        assert_eq!(p.by_rank, sorted);
    }

    #[test]
    fn buckets_add_a_generation_each() {
        let layout = Layout {
            entities: 5.0,
            bucket_s: Some(100.0),
            per_generation: 10,
            zipf: false,
        };
        let mut p = Partitions::new(layout);
        p.advance(250.0, 1e6, |_| vec![1.0], || 1.0);
        assert_eq!(p.tracked.len(), 15);
        assert_eq!(p.active(260.0).count(), 5);
    }

    #[test]
    fn cursor_history_interpolates() {
        let mut t = Tracked {
            weight: 1.0,
            rank: 1.0,
            from_s: 0.0,
            until_s: f64::INFINITY,
            population: 1.0,
            cursor: 0.0,
            head: 0.0,
            debt: 0.0,
            history: VecDeque::new(),
            first_s: f64::NEG_INFINITY,
            first_writer: 0,
            upserts: 0.0,
            stratum: None,
            after_scale: 1.0,
        };
        t.remember(0.0, 1000.0);
        t.cursor = 100.0;
        t.remember(100.0, 1000.0);
        assert_eq!(t.cursor_at(50.0), 50.0);
        assert_eq!(t.cursor_at(150.0), 100.0);
        assert_eq!(t.cursor_at(-5.0), 0.0);
    }
}
