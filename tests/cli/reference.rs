//! `cassim run --reference`: the per-row reference engine beside the aggregated one.
use crate::util::{cassim, path_str};

#[test]
fn run_reference_prints_both_engines_and_writes_the_reference_samples() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ref");
    let r = cassim(&[
        "run",
        "tests/data/scenarios/ttl-series.toml",
        "--reference",
        "--set",
        "duration=4h",
        "--set",
        "settings.compaction_throughput=\"0MiB/s\"",
        "--out",
        path_str(&out),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("reference") && r.stdout.contains("aggregated"));
    for what in [
        "live rows",
        "sstables per read p50",
        "tombstones per read p99",
    ] {
        assert!(r.stdout.contains(what), "{what} missing:\n{}", r.stdout);
    }
    let csv = std::fs::read_to_string(out.join("reference.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    // A sample per hour, and a header.
    assert_eq!(lines.len(), 5, "{csv}");
    assert!(lines[0].starts_with("t_s,table,live_rows"));
    // 500 rows/s on 3 nodes with RF 3: every node holds every row; 2 h TTL, so after 4 h about
    // 3.6 M live rows.
    let live: f64 = lines[4].split(',').nth(2).unwrap().parse().unwrap();
    assert!((live - 3.6e6).abs() < 0.01 * 3.6e6, "{live}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("agreement.json")).unwrap())
            .unwrap();
    let q = &json["tables"][0]["quantities"][0];
    assert_eq!(q["what"], "live rows");
    assert!(q["reference"].as_f64().unwrap() > 0.0 && q["aggregated"].as_f64().unwrap() > 0.0);
}

#[test]
fn run_reference_refuses_what_it_cannot_run_with_the_reason() {
    let throttled = cassim(&["run", "tests/data/scenarios/ttl-series.toml", "--reference"]);
    assert_eq!(throttled.code, 2);
    assert!(
        throttled.stderr.contains("compaction_throughput"),
        "{}",
        throttled.stderr
    );
    let big = cassim(&[
        "run",
        "tests/data/scenarios/ttl-series.toml",
        "--reference",
        "--set",
        "settings.compaction_throughput=\"0MiB/s\"",
        "--set",
        "workload[0].rate=\"5000000/s\"",
    ]);
    assert_eq!(big.code, 2);
    assert!(
        big.stderr.contains("too large") && big.stderr.contains("GiB"),
        "{}",
        big.stderr
    );
    let two_dcs = cassim(&["run", "scenarios/m2m-readings.toml", "--reference"]);
    assert_eq!(two_dcs.code, 2);
    assert!(
        two_dcs.stderr.contains("one datacenter"),
        "{}",
        two_dcs.stderr
    );
}
