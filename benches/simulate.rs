//! Benchmarks of the simulation core (`cargo bench --bench simulate`): R1, the reference scenario
//! `scenarios/m2m-readings.toml` for its 60 simulated days on one thread; R1 at ten times its write
//! rate, with unthrottled compaction so every run keeps up: once with the same memtable (ten times
//! the flushes, so more STCS tiers in the TWCS window: a larger state to simulate) and once with a
//! ten times larger memtable (the same sstable layout: what the rate alone costs); R1 at a hundred
//! times its rate likewise; and every other shipped scenario once. Prints the best of a few runs.
//! `cargo bench --bench simulate -- r1` runs R1 alone, `-- rate` the write-rate multiples alone,
//! `-- others` the other scenarios alone, `-- r1-profile` R1's simulation alone, five times (`CASSIM_BENCH_RUNS`), for a profiler.

mod common;

use std::time::Instant;

use cassim::scenario::Scenario;

/// The CLI's allocator (`src/main.rs`), so the benchmarks time what the CLI runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The best wall time of `runs` single-threaded runs, in seconds.
fn time(scenario: &Scenario, runs: usize) -> f64 {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            common::simulate(scenario);
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |group: &str| filter.is_empty() || filter.iter().any(|f| f == group);
    if wanted("r1") {
        r1();
    }
    if filter.iter().any(|f| f == "r1-profile") {
        let r1 = common::r1();
        let runs = std::env::var("CASSIM_BENCH_RUNS").map_or(5, |r| r.parse().unwrap_or(5));
        println!("R1 best of {runs}: {:.3} s", time(&r1, runs));
    }
    if wanted("rate") {
        rate();
    }
    if wanted("others") {
        others();
    }
}

fn r1() {
    let r1 = common::r1();
    let t = time(&r1, 3);
    println!("R1 m2m-readings 60 d, one thread:            {t:>7.3} s (target < 1 s)");
    let start = Instant::now();
    std::hint::black_box(cassim::sim::run(&r1, r1.seed, false, &|_, _| {}));
    println!(
        "R1 with the smallest-healthy-heap search:     {:>7.3} s",
        start.elapsed().as_secs_f64()
    );
}

fn rate() {
    let base = common::r1_at(1, true);
    let ten = common::r1_at(10, false);
    let ten_same_layout = common::r1_at(10, true);
    let hundred_same_layout = common::r1_at(100, true);
    let (t1, t10, t10s) = (time(&base, 3), time(&ten, 3), time(&ten_same_layout, 3));
    let t100s = time(&hundred_same_layout, 3);
    println!("R1 unthrottled compaction, 1x writes:        {t1:>7.3} s");
    println!(
        "R1 10x writes, same memtable (more tiers):   {t10:>7.3} s ({:.2}x)",
        t10 / t1
    );
    println!(
        "R1 10x writes, 10x memtable (same layout):   {t10s:>7.3} s ({:.2}x; target <= 1.2x)",
        t10s / t1
    );
    println!(
        "R1 100x writes, 100x memtable (same layout): {t100s:>7.3} s ({:.2}x)",
        t100s / t1
    );
}

fn others() {
    for name in ["queue", "sessions", "registry", "wide-rows"] {
        let s = common::load(&format!("scenarios/{name}.toml"), &[]);
        println!(
            "{name:<14} {:>5} d, one thread:            {:>7.3} s",
            s.duration_s / 86_400.0,
            time(&s, 1)
        );
    }
}
