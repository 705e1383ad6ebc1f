//! Benchmark of the foundation: loading, validating and reviewing each shipped scenario (`cargo
//! bench`). Prints the mean wall time per `check` over repeated runs; the simulation benchmarks of
//! later issues join it here.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use cassim::commands::check_file;
use cassim::defaults::CassandraVersion;

/// The CLI's allocator (`src/main.rs`), so the benchmarks time what the CLI runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let runs = 50;
    for name in ["m2m-readings", "queue", "sessions", "registry", "wide-rows"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/{name}.toml"));
        let start = Instant::now();
        for _ in 0..runs {
            let report = check_file(&path, None, &BTreeMap::new(), &[], CassandraVersion::V4_1)
                .expect("scenario checks");
            std::hint::black_box(report);
        }
        let per = start.elapsed().as_secs_f64() / runs as f64;
        println!(
            "check {name:<14} {:>8.3} ms per run ({runs} runs)",
            per * 1e3
        );
    }
}
