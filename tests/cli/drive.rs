//! `cassim drive`, `cassim node-config` and `cassim compare` without a cluster: an unreachable
//! host is refused with a clear error, the node's configuration comes from the scenario, and a
//! comparison reads a prediction against measured folders. (Runs against a real node are the
//! validation suite's, `validation/run`.)

use crate::util::{cassim, path_str};

const QUEUE: &str = "validation/scenarios/queue-short-gc.toml";

#[test]
fn an_unreachable_cluster_is_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("drive");
    // Port 1 on the loopback: nothing listens there, so the connection is refused at once.
    let r = cassim(&[
        "drive",
        QUEUE,
        "--hosts",
        "127.0.0.1:1",
        "--out",
        path_str(&out),
    ]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("cannot reach the cluster at 127.0.0.1:1"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("hint:"), "{}", r.stdout);
    assert!(!out.exists(), "no half-written report");
}

#[test]
fn node_config_takes_the_scenarios_settings_in_cassandras_units() {
    let r = cassim(&["node-config", QUEUE]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["heap_bytes"], 1u64 << 30);
    assert_eq!(v["datacenter"], "datacenter1");
    assert_eq!(v["yaml"]["memtable_heap_space"], "64MiB");
    assert_eq!(v["yaml"]["compaction_throughput"], "65536KiB/s");
    assert_eq!(v["yaml"]["tombstone_warn_threshold"], "1000");
}

#[test]
fn compare_judges_each_figure_against_the_measured_runs() {
    let dir = tempfile::tempdir().unwrap();
    let predicted = dir.path().join("predicted");
    let r = cassim(&["run", QUEUE, "--out", path_str(&predicted)]);
    assert!(r.code <= 1, "{}", r.stderr);
    // A measured folder: the prediction's own figures, with tombstones per read doubled.
    let mut summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(predicted.join("summary.json")).unwrap())
            .unwrap();
    let t = &mut summary["tables"]["cassim_v.commands"];
    let p50 = t["tombstones_per_read"]["p50"].as_f64().unwrap();
    assert!(p50 > 0.0);
    t["tombstones_per_read"]["p50"] = serde_json::json!(p50 * 2.0);
    let measured = dir.path().join("measured");
    std::fs::create_dir_all(&measured).unwrap();
    std::fs::write(measured.join("summary.json"), summary.to_string()).unwrap();
    std::fs::copy(
        predicted.join("timeseries.csv"),
        measured.join("timeseries.csv"),
    )
    .unwrap();
    let out = dir.path().join("cmp");
    let r = cassim(&[
        "compare",
        QUEUE,
        "--predicted",
        path_str(&predicted),
        "--measured",
        path_str(&measured),
        "--out",
        path_str(&out),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("comparison.json")).unwrap())
            .unwrap();
    let figures = c["figures"].as_array().unwrap();
    let moved = figures
        .iter()
        .find(|f| f["figure"] == "tombstones_per_read.p50")
        .unwrap();
    assert_eq!(moved["verdict"], "differs");
    assert!((moved["relative_error"].as_f64().unwrap() + 0.5).abs() < 1e-9);
    let sst = figures.iter().find(|f| f["figure"] == "sstables").unwrap();
    assert_eq!(sst["verdict"], "agrees");
    assert!(out.join("comparison.md").exists());
    assert!(out
        .join("charts/cassim_v.commands-tombstones_per_read_p50.svg")
        .exists());
}
