//! How many writes each tracked partition takes in one engine step, given their means: Poisson
//! counts for partitions tracked alone, and for the members of a sampled stratum counts whose
//! weighted total follows the real rows (DESIGN.md 3). The table (`table.rs`) turns the
//! counts into rows.

use rand::RngExt;
use rand_distr::{Binomial, Distribution, Poisson};
use rand_pcg::Pcg64Mcg;

/// A Poisson count of mean `lambda`.
fn poisson(rng: &mut Pcg64Mcg, lambda: f64) -> f64 {
    if lambda <= 0.0 {
        0.0
    } else if lambda > 1e6 {
        // Normal approximation: the relative spread is below 0.1 %.
        let z: f64 = {
            let u1: f64 = rng.random::<f64>().max(1e-300);
            let u2: f64 = rng.random();
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        };
        (lambda + z * lambda.sqrt()).round().max(0.0)
    } else {
        Poisson::new(lambda).map(|p| p.sample(rng)).unwrap_or(0.0)
    }
}

/// Independent Poisson counts of partitions tracked alone `(index, mean)`; when few get any, the
/// same counts drawn as a Poisson number of hits spread by mean (a thinned Poisson process), at
/// the cost of the hits rather than of the partitions.
pub fn independent(run: &[(usize, f64)], rng: &mut Pcg64Mcg) -> Vec<(usize, f64)> {
    let total: f64 = run.iter().map(|r| r.1).sum();
    if total >= 0.25 * run.len() as f64 {
        return run
            .iter()
            .map(|&(i, l)| (i, poisson(rng, l)))
            .filter(|(_, n)| *n > 0.0)
            .collect();
    }
    let hits = poisson(rng, total) as usize;
    let by_mean = ByMean::new(run);
    counted((0..hits).map(|_| by_mean.pick(rng)).collect())
}

/// What one writer's draws on a sampled stratum owe, carried from step to step.
#[derive(Debug, Clone, Copy, Default)]
pub struct Owed {
    /// Real rows owed and not yet written.
    rows: f64,
    /// The member (tracked index) the next write goes to, once the stratum has taken writes.
    next: Option<usize>,
}

/// At most this many writes per member of a stratum in a step are placed one by one; more are
/// spread by binomial shares, whose cost does not grow with the write rate.
const ONE_BY_ONE_PER_MEMBER: f64 = 4.0;

/// The writes of one step on a sampled stratum's members `(index, mean)`, by index, `weights` the
/// real partitions each tracked one stands for. A member's count is multiplied by its weight, so
/// independent counts put that many times the real Poisson noise on the table (±0.4 % of an
/// hour's rows under zipf(1.1) over 10^9 keys, where the real noise is 0.07 %), and a fixed count
/// of writes spread by mean still varied with the weights of the members that got them. So the
/// stratum writes the real rows it owes, the real partitions' Poisson count of rows: each write
/// goes to a member drawn by mean (each member's count stays near Poisson) and pays that member's
/// weight, until less than half the next one's weight is owed, the rest carried to the next step.
/// The stratum's rows up to any step are then the real Poisson count within half a member's
/// weight. (One owed count for all strata let a rare write to a deep stratum's heavy member pay
/// thousands of rows at once: ±0.2 %.)
pub fn systematic(
    run: &[(usize, f64)],
    weights: &[f64],
    owed: &mut Owed,
    rng: &mut Pcg64Mcg,
) -> Vec<(usize, f64)> {
    let total: f64 = run.iter().map(|r| r.1).sum();
    if total.is_nan() || total <= 0.0 {
        return Vec::new();
    }
    let by_mean = ByMean::new(run);
    let rows: f64 = run.iter().map(|&(i, l)| weights[i] * l).sum();
    let mut next = match owed.next {
        Some(next) => next,
        None => {
            // The first write starts at a random point of a swing: a stratum owed less than a
            // write in its life writes one by chance, not always or never.
            let next = by_mean.pick(rng);
            owed.rows = (rng.random::<f64>() - 0.5) * weights[next];
            next
        }
    };
    // The real partitions' writes in the step, a Poisson count: a stratum owing its mean wrote
    // the same rows on every seed, so a small table flushed at the same moments on every seed
    // and the means over seeds kept one phase of the flushes (sstables per read 10 % apart).
    owed.rows += poisson(rng, rows);
    if total > ONE_BY_ONE_PER_MEMBER * run.len() as f64 {
        // As many writes as the rows owed at the mean weight; the spread's own noise is owed on.
        let hits = (owed.rows * total / rows).round().max(0.0);
        let out = spread(run, hits, total, rng);
        owed.rows -= out.iter().map(|&(i, n)| weights[i] * n).sum::<f64>();
        owed.next = Some(next);
        return out;
    }
    let mut hits = Vec::new();
    let most = (ONE_BY_ONE_PER_MEMBER * run.len() as f64) as usize + 16;
    // A write lands once half its weight is owed: what is owed then swings about 0 (paying whole
    // weights lagged by half a weight a stratum, -0.37 % of the rows under zipf(1.1)).
    while owed.rows >= 0.5 * weights[next] && hits.len() < most {
        owed.rows -= weights[next];
        hits.push(next);
        next = by_mean.pick(rng);
    }
    owed.next = Some(next);
    counted(hits)
}

/// `hits` writes spread over `run` `(index, mean)` by each member's binomial share of what is
/// left (`total` the means' sum).
fn spread(run: &[(usize, f64)], hits: f64, total: f64, rng: &mut Pcg64Mcg) -> Vec<(usize, f64)> {
    let (mut left, mut rest) = (hits, total);
    let mut out = Vec::with_capacity(run.len());
    for &(i, l) in run {
        if left <= 0.0 {
            break;
        }
        let p = (l / rest).clamp(0.0, 1.0);
        let n = match Binomial::new(left as u64, p) {
            Ok(b) => b.sample(rng) as f64,
            Err(_) => (left * p).round(),
        };
        rest -= l;
        left -= n;
        if n > 0.0 {
            out.push((i, n));
        }
    }
    out
}

/// Picks among `(index, mean)` in proportion to the means.
struct ByMean<'a> {
    run: &'a [(usize, f64)],
    cumulative: Vec<f64>,
    /// The last position of a mean above 0, where a draw rounded up to the total lands.
    last: usize,
}

impl<'a> ByMean<'a> {
    fn new(run: &'a [(usize, f64)]) -> ByMean<'a> {
        let mut acc = 0.0;
        let cumulative = run
            .iter()
            .map(|r| {
                acc += r.1;
                acc
            })
            .collect();
        let last = run.iter().rposition(|r| r.1 > 0.0).unwrap_or(0);
        ByMean {
            run,
            cumulative,
            last,
        }
    }

    /// A tracked index; never one of mean 0.
    fn pick(&self, rng: &mut Pcg64Mcg) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(0.0);
        let u = rng.random::<f64>() * total;
        let k = self.cumulative.partition_point(|c| *c <= u);
        self.run[k.min(self.last)].0
    }
}

/// Picked indices counted `(index, count)`, by index.
fn counted(mut hits: Vec<usize>) -> Vec<(usize, f64)> {
    hits.sort_unstable();
    let mut out: Vec<(usize, f64)> = Vec::new();
    for i in hits {
        match out.last_mut() {
            Some((j, n)) if *j == i => *n += 1.0,
            _ => out.push((i, 1.0)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_stratum_writes_a_poisson_count_of_real_rows_within_one_weight() {
        // Members of weights 100 to 300 and means 0.01 to 0.5 a step: 1 000 steps.
        let weights: Vec<f64> = (0..20).map(|i| 100.0 + 10.0 * i as f64).collect();
        let run: Vec<(usize, f64)> = (0..20).map(|i| (i, 0.01 + 0.025 * i as f64)).collect();
        let per_step: f64 = run.iter().map(|&(i, l)| weights[i] * l).sum();
        let mut rng = Pcg64Mcg::seed_from_u64(7);
        let mut owed = Owed::default();
        let (mut rows, mut counts) = (0.0, vec![0.0; 20]);
        for step in 1..=1000 {
            for (i, n) in systematic(&run, &weights, &mut owed, &mut rng) {
                rows += weights[i] * n;
                counts[i] += n;
            }
            // Four standard deviations of the real rows' Poisson count, and one weight.
            let expected = per_step * step as f64;
            let noise = 4.0 * expected.sqrt() + 300.0;
            assert!(
                (rows - expected).abs() <= noise,
                "step {step}: {rows} {expected}"
            );
        }
        // Each member keeps its own mean within Poisson noise.
        for (i, &(_, l)) in run.iter().enumerate() {
            let mean = 1000.0 * l;
            assert!(
                (counts[i] - mean).abs() <= 4.0 * mean.sqrt() + 1.0,
                "{i}: {}",
                counts[i]
            );
        }
    }

    #[test]
    fn many_writes_a_step_are_spread_and_still_owed() {
        let weights = vec![2.0, 3.0, 5.0];
        let run = vec![(0, 1e6), (1, 2e6), (2, 3e6)];
        let mut rng = Pcg64Mcg::seed_from_u64(1);
        let mut owed = Owed::default();
        let (mut rows, mut hits) = (0.0, 0.0);
        for _ in 0..10 {
            for (i, n) in systematic(&run, &weights, &mut owed, &mut rng) {
                rows += weights[i] * n;
                hits += n;
            }
        }
        // Only the last step's spread is still owed: about sqrt(6e6) writes of 2 to 5 rows.
        let expected = 10.0 * (2e6 + 6e6 + 15e6);
        assert!((rows / expected - 1.0).abs() < 1e-4, "{rows} {expected}");
        assert!((hits / 6e7 - 1.0).abs() < 1e-3, "{hits}");
    }

    #[test]
    fn members_of_mean_zero_take_no_writes() {
        let weights = vec![1e3; 3];
        let run = vec![(0, 0.0), (1, 2.0), (2, 0.0)];
        let mut rng = Pcg64Mcg::seed_from_u64(3);
        let mut owed = Owed::default();
        for _ in 0..100 {
            for (i, _) in systematic(&run, &weights, &mut owed, &mut rng) {
                assert_eq!(i, 1);
            }
        }
        assert!(systematic(&[(0, 0.0)], &weights, &mut owed, &mut rng).is_empty());
    }
}
