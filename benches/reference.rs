//! The reference engine against the aggregated one (`cargo bench --bench reference`): the same
//! small scenarios, with compaction unthrottled as the reference engine requires, at about one
//! million operations (rows written and deleted, plus reads) each; single-threaded; the best of
//! three runs of the reference engine and of thirty of the aggregated one (a few milliseconds
//! each, so the best of three moved by ±20 % between invocations).

mod common;

use std::time::Instant;

use cassim::scenario::Scenario;

/// The CLI's allocator (`src/main.rs`), so the benchmarks time what the CLI runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn best(runs: usize, f: &dyn Fn()) -> f64 {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// Operations one node of the scenario takes: rows written and deleted, and replica reads.
fn operations(s: &Scenario) -> f64 {
    let share = &cassim::cluster::nodes(s)[0];
    let node = cassim::engine::build_node(s, share, s.seed, 0);
    let per_s: f64 = node
        .tables
        .iter()
        .map(|t| {
            t.writers.iter().map(|w| w.rate).sum::<f64>()
                + t.readers.iter().map(|r| r.rate).sum::<f64>()
        })
        .sum();
    per_s * s.duration_s
}

fn main() {
    let cases = common::reference_cases();
    for (name, s) in &cases {
        let ops = operations(s);
        let reference = best(3, &|| {
            std::hint::black_box(cassim::reference::run(s, s.seed, &|_, _| {}).expect("runs"));
        });
        // Milliseconds a run: more runs for a steady best.
        let aggregated = best(30, &|| {
            std::hint::black_box(cassim::sim::simulate(s, s.seed, false, &|_, _| {}));
        });
        println!(
            "{name:<36} {:>6.2} M ops: reference {reference:>8.3} s, aggregated {aggregated:>7.4} s: {:>6.0}x (target >= 100x)",
            ops / 1e6,
            reference / aggregated
        );
    }
}
