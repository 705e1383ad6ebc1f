//! What the benchmarks share: the scenarios they time (R1 and its write-rate multiples, the small
//! scenarios the reference engine runs at about a million operations, the 64-variant sweep), so
//! the divan timings (`benches/engine.rs`) and the figure printers (`simulate.rs`,
//! `reference.rs`, `scale.rs`) measure the same runs.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use cassim::scenario::Scenario;

/// A scenario file of the repository with `--set`-style overrides.
pub fn load(file: &str, sets: &[(&str, &str)]) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let sets: Vec<(String, String)> = sets
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    Scenario::load(&path, &BTreeMap::new(), &sets).expect("scenario loads")
}

/// R1: `scenarios/m2m-readings.toml` as shipped.
pub fn r1() -> Scenario {
    load("scenarios/m2m-readings.toml", &[])
}

/// R1 with compaction unthrottled, at `multiple` times its write rate; with `same_layout`, a
/// memtable as many times larger, so the sstables are the same and only the rate differs.
pub fn r1_at(multiple: u32, same_layout: bool) -> Scenario {
    let rate = format!("{}/s", 25_000 * multiple);
    let memtable = format!("{}GiB", 2 * multiple);
    let mut sets = vec![
        ("settings.compaction_throughput", "0MiB/s"),
        ("workload[0].rate", rate.as_str()),
        ("workload[1].rate", rate.as_str()),
    ];
    if same_layout && multiple > 1 {
        sets.push(("settings.memtable_heap_space", memtable.as_str()));
    }
    load("scenarios/m2m-readings.toml", &sets)
}

/// The simulation alone, one thread (`sim::run` also re-runs it for the smallest healthy heap).
pub fn simulate(s: &Scenario) {
    std::hint::black_box(cassim::sim::simulate(s, s.seed, false, &|_, _| {}));
}

/// The small scenarios both engines run, compaction unthrottled, about a million operations each.
pub fn reference_cases() -> Vec<(&'static str, Scenario)> {
    let unthrottled = ("settings.compaction_throughput", "0MiB/s");
    vec![
        (
            "TTL series (TWCS), 2 000 s",
            load(
                "tests/data/scenarios/ttl-series.toml",
                &[unthrottled, ("duration", "2000s"), ("sample_every", "5m")],
            ),
        ),
        (
            "queue (STCS, head deletes), 2.7 h",
            load(
                "scenarios/queue.toml",
                &[
                    unthrottled,
                    ("duration", "10000s"),
                    ("sample_every", "25m"),
                    ("tables.\"m2m.commands\".partitions.entities", "100"),
                    ("workload[0].rate", "50/s"),
                    ("workload[1].rate", "50/s"),
                    ("workload[2].rate", "2/s"),
                ],
            ),
        ),
    ]
}

/// Writes the sweep scenario (the TTL series for 12 h: 8 rates × 8 gc_grace_seconds, 4 seeds
/// each) into `dir` and returns its path.
pub fn sweep_file(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/scenarios/ttl-series.toml"),
    )
    .expect("ttl-series")
    .replace("duration = \"2d\"", "duration = \"12h\"")
        + "\n[sweep]\n\"workload[0].rate\" = [\"100/s\", \"200/s\", \"300/s\", \"400/s\", \"500/s\", \"600/s\", \"700/s\", \"800/s\"]\n\"tables.\\\"ks.events\\\".gc_grace_seconds\" = [0, 600, 1200, 1800, 2400, 3000, 3600, 7200]\nreplicas = 4\n";
    let file = dir.join("sweep.toml");
    std::fs::write(&file, text).expect("write");
    file
}

/// Runs the sweep of `file` on `jobs` threads into `dir`, reports included; its wall time.
pub fn sweep(file: &Path, dir: &Path, jobs: usize) -> f64 {
    let out = dir.join(format!("out-{jobs}"));
    let _ = std::fs::remove_dir_all(&out);
    let options = cassim::commands::SweepOptions {
        files: vec![file],
        schema: None,
        vars: BTreeMap::new(),
        sets: Vec::new(),
        out: Some(out.as_path()),
        jobs,
        resume: false,
        shard: None,
        merge: false,
    };
    let start = Instant::now();
    let o = cassim::commands::sweep(&options, &|_, _| {});
    assert_eq!(o.code, 0);
    start.elapsed().as_secs_f64()
}
