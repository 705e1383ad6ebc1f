//! Scale benchmarks (`cargo bench --bench scale`): peak memory (RSS, VmHWM) of a run with 10
//! million and 100 million partitions per table, each in a process of its own; and a sweep of 64
//! variants × 4 seeds on one thread and on every core (parallel efficiency), reports included.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

/// The CLI's allocator (`src/main.rs`), so the benchmarks time what the CLI runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SCALE_SCENARIO: &str = r#"
name = "scale"
seed = 3
duration = "7d"
sample_every = "1h"
[cluster]
cassandra_version = "4.1"
datacenters = [{ name = "dc1", nodes = 6, rf = 3 }]
[node]
ram = "64GiB"
heap = "16GiB"
disk = { kind = "nvme", size = "8TiB" }
[schema]
cql = """
CREATE TABLE ks.kv (id bigint PRIMARY KEY, v text) WITH default_time_to_live = 259200;
"""
[tables."ks.kv"]
partitions = { entities = ENTITIES }
[tables."ks.kv".columns]
v = "fixed(200B)"
[[workload]]
cql = "INSERT INTO ks.kv (id, v) VALUES (?, ?)"
rate = "50000/s"
keys = "uniform"
[[workload]]
cql = "SELECT * FROM ks.kv WHERE id = ?"
rate = "20000/s"
keys = "zipf(1.1)"
"#;

/// Peak resident memory of this process, from /proc (Linux).
fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn scale_child(entities: &str) {
    let text = SCALE_SCENARIO.replace("ENTITIES", entities);
    let s =
        cassim::scenario::Scenario::from_str(&text, Path::new("scale.toml"), &BTreeMap::new(), &[])
            .expect("scenario");
    let start = Instant::now();
    std::hint::black_box(cassim::sim::simulate(&s, s.seed, false, &|_, _| {}));
    println!(
        "{entities:>11} partitions: {:>7.3} s, peak RSS {:.0} MiB",
        start.elapsed().as_secs_f64(),
        vm_hwm_kib().unwrap_or(0) as f64 / 1024.0
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(k) = args.iter().position(|a| a == "--scale-child") {
        scale_child(&args[k + 1]);
        return;
    }
    let me = std::env::current_exe().expect("exe");
    for entities in ["10000000", "100000000"] {
        let out = std::process::Command::new(&me)
            .args(["--scale-child", entities])
            .output()
            .expect("child");
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
    let dir = std::env::temp_dir().join(format!("cassim-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let file = common::sweep_file(&dir);
    let one = common::sweep(&file, &dir, 1);
    let all = common::sweep(&file, &dir, cores);
    println!("sweep 64 variants x 4 seeds, one thread:  {one:>7.2} s");
    println!(
        "sweep 64 variants x 4 seeds, {cores} threads:  {all:>7.2} s (speed-up {:.2}, target >= 1.8 on 2 cores)",
        one / all
    );
    let _ = std::fs::remove_dir_all(&dir);
}
