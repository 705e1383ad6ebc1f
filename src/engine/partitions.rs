//! The partitions a node tracks for one table (DESIGN.md 3): all of them when few, else a
//! weighted, stratified sample (the hottest ranks one by one, geometric strata of the rest), and
//! for time-bucketed tables a new generation of partitions each bucket. Each tracked partition
//! knows its popularity rank, its weight (the real partitions it stands for), its clustering
//! population and where appends and head deletes have got to.

use std::collections::VecDeque;

use crate::distribution::harmonic;
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

/// Ranks and weights of a generation's sample: every rank when they fit; else the hottest 16 ranks
/// one by one and geometric strata of the rest, each stratum's members evenly spaced.
pub fn sample_ranks(entities: f64, budget: usize, zipf: bool) -> Vec<(f64, f64)> {
    let budget = budget.max(1);
    if entities <= budget as f64 {
        return (1..=entities.round().max(1.0) as u64)
            .map(|r| (r as f64, 1.0))
            .collect();
    }
    let mut out = Vec::with_capacity(budget);
    let mut strata: Vec<(f64, f64)> = Vec::new(); // [lo, hi) ranks
    if zipf {
        let head = 16.min(budget / 4).max(1);
        for r in 1..=head {
            out.push((r as f64, 1.0));
        }
        let mut lo = head as f64 + 1.0;
        while lo <= entities {
            let hi = (lo * 2.0).min(entities + 1.0);
            strata.push((lo, hi));
            lo = hi;
        }
    } else {
        strata.push((1.0, entities + 1.0));
    }
    let left = budget.saturating_sub(out.len()).max(strata.len());
    let per = (left / strata.len().max(1)).max(1);
    for (lo, hi) in strata {
        let m = per.min((hi - lo).round() as usize).max(1);
        let width = (hi - lo) / m as f64;
        for j in 0..m {
            out.push(((lo + (j as f64 + 0.5) * width).floor(), width));
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

    /// Creates the generations that begin by `now`; `population` draws a partition's clustering
    /// population. Returns whether any were added.
    pub fn advance(&mut self, now: f64, mut population: impl FnMut() -> f64) -> bool {
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
            for (rank, weight) in sample_ranks(
                self.layout.entities,
                self.layout.per_generation,
                self.layout.zipf,
            ) {
                self.weights.push(weight);
                self.tracked.push(Tracked {
                    weight,
                    rank,
                    from_s: start,
                    until_s: until,
                    population: population(),
                    cursor: 0.0,
                    head: 0.0,
                    debt: 0.0,
                    history: VecDeque::from([(start, 0.0)]),
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
        match keys {
            KeyPopularity::Zipf(s) => self.tracked[i].rank.powf(-s) / zipf_norm,
            _ => 1.0 / self.layout.entities.max(1.0),
        }
    }

    /// The zipf normaliser of a key popularity over a generation.
    pub fn zipf_norm(&self, keys: KeyPopularity) -> f64 {
        match keys {
            KeyPopularity::Zipf(s) => harmonic(self.layout.entities.max(1.0), s),
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
        assert!(r.iter().all(|(_, w)| *w == 1.0));
    }

    #[test]
    fn a_sample_weighs_up_to_the_population() {
        for zipf in [false, true] {
            let r = sample_ranks(1e6, 2048, zipf);
            let total: f64 = r.iter().map(|(_, w)| w).sum();
            assert!((total - 1e6).abs() < 1.0, "{total}");
            assert!(r.len() <= 2048 + 64);
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
        p.advance(0.0, || 1.0);
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
        p.advance(450.0, || 1.0);
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
        p.advance(250.0, || 1.0);
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
        };
        t.remember(0.0, 1000.0);
        t.cursor = 100.0;
        t.remember(100.0, 1000.0);
        assert_eq!(t.cursor_at(50.0), 50.0);
        assert_eq!(t.cursor_at(150.0), 100.0);
        assert_eq!(t.cursor_at(-5.0), 0.0);
    }
}
