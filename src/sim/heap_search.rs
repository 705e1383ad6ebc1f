//! The smallest healthy heap for a scenario (issue 5, item 4): the scenario re-run at the heap
//! sizes an operator would choose, binary-searched, then checked upwards: the answer is the
//! smallest heap from which every larger one up to a heap known healthy, and the next one up the
//! ladder, is healthy too. A bigger heap usually never makes a verdict worse, but near a
//! threshold it can (R1 for 15 days: 3 GiB flushes small sstables compaction keeps up with, 4
//! and 6 GiB fall behind, 8 GiB is healthy), and a plain binary search then answered by where it
//! started. The ladder stops at
//! half the RAM and at 31 GiB (F9: keep the heap at ¼–½ of RAM, under 32 GB for compressed
//! oops).

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
    answer(&ladder, heap, verdict == Verdict::Healthy, |h| {
        verdict_with(scenario, seed, parallel, h) == Verdict::Healthy
    })
}

/// The smallest healthy heap of `ladder` given the run at `heap` (healthy or not) and a test of
/// any other, each heap tested at most once: binary-searched on the side of the known run where
/// the answer lies, checked upwards to the next heap known healthy, and then one step above the
/// answer (see [`confirm_upwards`]).
fn answer(
    ladder: &[f64],
    heap: f64,
    healthy_now: bool,
    mut healthy: impl FnMut(f64) -> bool,
) -> Option<f64> {
    let mut known: Vec<(f64, bool)> = vec![(heap, healthy_now)];
    let mut test = |h: f64| -> bool {
        if let Some(&(_, v)) = known.iter().find(|k| k.0 == h) {
            return v;
        }
        let v = healthy(h);
        known.push((h, v));
        v
    };
    // Candidates on the side of the known run where the answer lies.
    let candidates: Vec<f64> = ladder
        .iter()
        .copied()
        .filter(|h| if healthy_now { *h < heap } else { *h > heap })
        .collect();
    let lo = search(candidates.len(), |i| test(candidates[i]));
    let found = match candidates.get(lo) {
        Some(h) => *h,
        None if healthy_now => heap,
        None => return None,
    };
    Some(confirm_upwards(ladder, found, &mut test))
}

/// A healthy `answer` whose next heap up the ladder is healthy too; where that one is not, the
/// first healthy heap above it, checked the same way. A run healthy at its own heap looked only
/// below it, so a verdict that turns bad again above it (R1 for 15 days on one seed: healthy at
/// 8 GiB, frequent flushes at 10, healthy at 12) gave 8 GiB from the 8 GiB run and 12 from every
/// other: the same check on every answer makes them agree. With no healthy heap above, the
/// answer stands.
fn confirm_upwards(ladder: &[f64], mut answer: f64, test: &mut impl FnMut(f64) -> bool) -> f64 {
    loop {
        let mut above = ladder.iter().copied().filter(|h| *h > answer);
        let Some(next) = above.next() else {
            return answer;
        };
        if test(next) {
            return answer;
        }
        match above.find(|h| test(*h)) {
            Some(h) => answer = h,
            None => return answer,
        }
    }
}

/// The smallest index `i` of `n` ascending candidates such that every candidate from `i` up to
/// the first one tested healthy above it (or the end: past it, the known run is healthy or none
/// is) is healthy; `n` when none is. Each candidate is tested at most once.
fn search(n: usize, mut healthy: impl FnMut(usize) -> bool) -> usize {
    let mut known: Vec<Option<bool>> = vec![None; n];
    let mut test = |i: usize, known: &mut Vec<Option<bool>>| -> bool {
        *known[i].get_or_insert_with(|| healthy(i))
    };
    let mut floor = 0;
    loop {
        let (mut lo, mut hi) = (floor, n);
        // Invariant: candidates[hi..] were found healthy (or past the end), [..lo] not.
        while lo < hi {
            let mid = (lo + hi) / 2;
            if test(mid, &mut known) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        // Upwards from the answer to the next heap known healthy, every untested one.
        let next_known = (lo + 1..n).find(|&j| known[j] == Some(true)).unwrap_or(n);
        match (lo + 1..next_known).find(|&k| !test(k, &mut known)) {
            Some(k) => floor = k + 1,
            None => return lo,
        }
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
    fn the_search_answers_alike_from_either_side_of_a_non_monotone_verdict() {
        // Healthy at 3 and from 8 up, not at 4 and 6: the R1 case (ladder 1..16 GiB); and
        // healthy at 8 and from 12 up, not at 10: R1 for 15 days on another seed.
        let ladder = [1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0];
        let cases: [(&dyn Fn(f64) -> bool, f64); 2] = [
            (&|h| h == 3.0 || h >= 8.0, 8.0),
            (&|h| h == 3.0 || h == 8.0 || h >= 12.0, 12.0),
        ];
        for (healthy, want) in cases {
            for start in ladder {
                let mut tests = 0;
                let got = answer(&ladder, start, healthy(start), |h| {
                    tests += 1;
                    healthy(h)
                });
                assert_eq!(got, Some(want), "from {start}");
                // The binary search's four, the heaps it skipped above its answer, one above.
                assert!(tests <= 8, "from {start}: {tests} runs");
            }
        }
        // Never healthy: none.
        assert_eq!(answer(&ladder, 4.0, false, |_| false), None);
        // Monotone: the binary search alone.
        let mut tests = 0;
        let i = search(9, |i| {
            tests += 1;
            i >= 6
        });
        assert_eq!((i, tests), (6, 4));
    }

    #[test]
    fn the_recommended_heap_is_one_step_above_the_smallest_healthy() {
        assert_eq!(recommended(GIB, 32.0 * GIB), 2.0 * GIB);
        assert_eq!(recommended(8.0 * GIB, 32.0 * GIB), 10.0 * GIB);
        assert_eq!(recommended(16.0 * GIB, 32.0 * GIB), 16.0 * GIB);
    }
}
