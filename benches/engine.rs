//! The issue-8 timings under divan (`cargo bench --bench engine`): R1 on one thread; R1 at 1, 10
//! and 100 times its write rate with a memtable as many times larger (the same sstable layout:
//! what the rate alone costs); both engines on the small scenarios of about a million operations;
//! the 64-variant × 4-seed sweep on one thread and on every core. Divan reports each as fastest,
//! slowest, median and mean over its samples; the ratios the targets ask for (10× against 1×,
//! reference against aggregated, one thread against all) and peak memory are printed by
//! `simulate.rs`, `reference.rs` and `scale.rs`, which time the same runs (`common`).

mod common;

/// The CLI's allocator (`src/main.rs`), so the benchmarks time what the CLI runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    divan::main();
}

/// R1, `scenarios/m2m-readings.toml`, 60 simulated days (target: under a second).
#[divan::bench(sample_count = 5, sample_size = 1)]
fn r1(bencher: divan::Bencher) {
    let s = common::r1();
    bencher.bench_local(|| common::simulate(&s));
}

/// R1 at `multiple` times its write rate, compaction unthrottled, the memtable scaled alike
/// (target: 10× costs at most 1.2× of 1×).
#[divan::bench(args = [1, 10, 100], sample_count = 3, sample_size = 1)]
fn r1_rate(bencher: divan::Bencher, multiple: u32) {
    let s = common::r1_at(multiple, true);
    bencher.bench_local(|| common::simulate(&s));
}

/// The aggregated engine on the reference engine's small scenarios (case 0: the TTL series under
/// TWCS; case 1: the queue under STCS with head deletes).
#[divan::bench(args = [0, 1], sample_count = 30, sample_size = 1)]
fn aggregated(bencher: divan::Bencher, case: usize) {
    let (_, s) = &common::reference_cases()[case];
    bencher.bench_local(|| common::simulate(s));
}

/// The reference engine on the same (target: at least 100 times slower than `aggregated`).
#[divan::bench(args = [0, 1], sample_count = 3, sample_size = 1)]
fn reference(bencher: divan::Bencher, case: usize) {
    let (_, s) = &common::reference_cases()[case];
    bencher.bench_local(|| {
        std::hint::black_box(cassim::reference::run(s, s.seed, &|_, _| {}).expect("runs"));
    });
}

/// The 64-variant × 4-seed sweep, reports included, on `jobs` threads (0: every core; target:
/// a speed-up of at least 1.8 on 2 cores).
#[divan::bench(args = [1, 0], sample_count = 2, sample_size = 1)]
fn sweep(bencher: divan::Bencher, jobs: usize) {
    let dir = std::env::temp_dir().join(format!("cassim-divan-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = common::sweep_file(&dir);
    let jobs = if jobs == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        jobs
    };
    bencher.bench_local(|| common::sweep(&file, &dir, jobs));
    let _ = std::fs::remove_dir_all(&dir);
}
