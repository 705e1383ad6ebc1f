//! The smallest healthy heap for a scenario (issue 5, item 4): the scenario re-run at the heap
//! sizes an operator would choose, binary-searched on the assumption that a bigger heap never
//! makes a verdict worse. The ladder stops at half the RAM and at 31 GiB (F9: keep the heap at
//! ¼–½ of RAM, under 32 GB for compressed oops).

use super::{node_summary, simulate};
use crate::heap::verdict::Verdict;
use crate::scenario::{Heap, Scenario};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Heap sizes operators use, in GiB.
const LADDER_GIB: &[f64] = &[
    1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 20.0, 24.0, 31.0,
];

/// The candidate heaps for a node with `ram_bytes`.
pub fn ladder(ram_bytes: f64) -> Vec<f64> {
    LADDER_GIB
        .iter()
        .map(|g| g * GIB)
        .filter(|h| *h <= ram_bytes / 2.0)
        .collect()
}

/// The heap to recommend for a smallest healthy one: the next step of the ladder (up to `ram`'s
/// half), a step of margin because the live set is an estimate (CASSANDRA.md 8.4 "derived,
/// unverified") and load grows.
pub fn recommended(smallest_healthy: f64, ram_bytes: f64) -> f64 {
    ladder(ram_bytes)
        .into_iter()
        .find(|h| *h > smallest_healthy)
        .unwrap_or(smallest_healthy)
}

/// The scenario's worst node verdict with `heap`.
pub fn verdict_with(scenario: &Scenario, seed: u64, parallel: bool, heap: f64) -> Verdict {
    let mut s = scenario.clone();
    s.node.heap = Heap::Bytes(heap);
    let run = simulate(&s, seed, parallel, &|_, _| {});
    run.nodes
        .iter()
        .map(|n| node_summary::verdict(&s, n).0)
        .max()
        .unwrap_or_default()
}

/// The smallest healthy heap on the ladder, knowing the run at `heap` gave `verdict`.
pub fn smallest_healthy(
    scenario: &Scenario,
    seed: u64,
    parallel: bool,
    heap: f64,
    verdict: Verdict,
) -> Option<f64> {
    let ladder = ladder(scenario.node.ram_bytes);
    let healthy_now = verdict == Verdict::Healthy;
    // Candidates on the side of the known run where the answer lies.
    let candidates: Vec<f64> = ladder
        .into_iter()
        .filter(|h| if healthy_now { *h < heap } else { *h > heap })
        .collect();
    let (mut lo, mut hi) = (0usize, candidates.len());
    // Invariant: candidates[hi..] are healthy (or past the end), candidates[..lo] are not.
    while lo < hi {
        let mid = (lo + hi) / 2;
        if verdict_with(scenario, seed, parallel, candidates[mid]) == Verdict::Healthy {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    match candidates.get(lo) {
        Some(h) => Some(*h),
        None if healthy_now => Some(heap),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ladder_stops_at_half_the_ram_and_31_gib() {
        let l = ladder(32.0 * GIB);
        assert_eq!(l.first(), Some(&GIB));
        assert_eq!(l.last(), Some(&(16.0 * GIB)));
        assert_eq!(ladder(256.0 * GIB).last(), Some(&(31.0 * GIB)));
    }

    #[test]
    fn the_recommended_heap_is_one_step_above_the_smallest_healthy() {
        assert_eq!(recommended(GIB, 32.0 * GIB), 2.0 * GIB);
        assert_eq!(recommended(8.0 * GIB, 32.0 * GIB), 10.0 * GIB);
        assert_eq!(recommended(16.0 * GIB, 32.0 * GIB), 16.0 * GIB);
    }
}
