//! `cassim run`: every shipped scenario runs and writes its outputs; the outputs follow the
//! DESIGN.md 4 contract; the same seed gives byte-identical files on one thread or many; bad
//! input is refused with the field path and no half-written report.

use super::util::{cassim, path_str, run_scenario, TTL_SERIES};

#[test]
fn every_shipped_scenario_runs_and_writes_its_outputs() {
    let mut n = 0;
    for f in std::fs::read_dir(super::util::root().join("scenarios")).unwrap() {
        let p = f.unwrap().path();
        if p.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        // Two simulated days keep the debug build quick; the benches run the full durations.
        let out = run_scenario(p.to_str().unwrap(), &["duration=2d"]);
        let tables = out.summary["tables"].as_object().unwrap();
        assert!(!tables.is_empty(), "{}", p.display());
        for (name, t) in tables {
            assert!(
                t["disk_bytes"].as_f64().unwrap() > 0.0,
                "{name} in {}",
                p.display()
            );
            assert!(
                t["partitions"].as_f64().unwrap() > 0.0,
                "{name} in {}",
                p.display()
            );
        }
        assert_eq!(out.summary["duration_s"], 172_800.0);
        assert!(
            out.stdout.contains("Percentile  SSTables"),
            "{}",
            out.stdout
        );
        n += 1;
    }
    assert_eq!(n, 5);
}

#[test]
fn summary_json_has_the_contract_keys() {
    let out = run_scenario("scenarios/queue.toml", &["duration=1h", "sample_every=10m"]);
    let s = &out.summary;
    for key in [
        "scenario",
        "seed",
        "cassim_version",
        "duration_s",
        "tables",
        "queries",
        "findings",
    ] {
        assert!(s.get(key).is_some(), "missing {key}");
    }
    let t = &s["tables"]["m2m.commands"];
    for key in [
        "partition_bytes",
        "partition_rows",
        "sstables_per_read",
        "tombstones_per_read",
        "cells_scanned_per_read",
    ] {
        for p in ["p50", "p99", "max"] {
            assert!(t[key][p].is_number(), "{key}.{p}");
        }
    }
    for kind in ["cell", "row", "range", "partition", "expired"] {
        assert!(t["tombstones"][kind].is_number(), "tombstones.{kind}");
    }
    for key in ["sstables", "warned_reads", "failed_reads", "disk_bytes"] {
        assert!(t[key].is_number(), "{key}");
    }
    assert!(t.get("first_warning_s").is_some() && t.get("first_failure_s").is_some());
    assert_eq!(s["seed"], 7);
    let kinds: Vec<&str> = s["queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["write", "write", "read"]);
    for q in s["queries"].as_array().unwrap() {
        assert_eq!(q["tablehistograms"].as_array().unwrap().len(), 7);
        assert!(q.get("latency_ms").is_some() && q.get("latency_ms_final").is_some());
    }
    let write = &s["queries"][0]["latency_ms"];
    for p in ["p50", "p75", "p95", "p98", "p99", "max"] {
        assert!(write[p].as_f64().unwrap() > 0.0, "write latency {p}");
    }
    let header = out.timeseries_text.lines().next().unwrap();
    for col in [
        "t_s",
        "table",
        "partitions",
        "max_partition_bytes",
        "live_rows",
        "tombstones",
        "sstables",
        "disk_bytes",
        "memtable_bytes",
        "flushes",
        "compactions",
        "bytes_compacted",
        "sstables_per_read_p50",
        "sstables_per_read_p99",
        "tombstones_per_read_p50",
        "tombstones_per_read_p99",
        "tombstones_per_read_max",
        "warned_reads",
        "failed_reads",
    ] {
        assert!(
            header.split(',').any(|c| c == col),
            "timeseries.csv lacks {col}"
        );
    }
    // Per query and sample: queries.csv (read from the same directory is not kept here; the
    // run's stdout names it).
    assert!(out.stdout.contains("queries.csv"), "{}", out.stdout);
    // One row per sample and table: 6 samples of 10 minutes.
    assert_eq!(out.series("m2m.commands").len(), 6);
}

#[test]
fn the_same_seed_gives_byte_identical_outputs_on_one_thread_or_many() {
    let dir = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for (i, threads) in [&[][..], &["--single-thread"][..], &[][..]]
        .iter()
        .enumerate()
    {
        let out = dir.path().join(format!("o{i}"));
        let mut args = vec![
            "run",
            "scenarios/registry.toml",
            "--out",
            path_str(&out),
            "--set",
            "duration=1d",
            "--set",
            "cluster.simulate_nodes=all",
        ];
        args.extend_from_slice(threads);
        let run = cassim(&args);
        assert!(run.code <= 1, "{}", run.stderr);
        let summary = std::fs::read(out.join("summary.json")).unwrap();
        let series = std::fs::read(out.join("timeseries.csv")).unwrap();
        outputs.push((summary, series));
    }
    assert!(outputs[0] == outputs[1], "one thread and many differ");
    assert!(outputs[0] == outputs[2], "two runs differ");
}

#[test]
fn another_seed_gives_other_draws() {
    let a = run_scenario("scenarios/sessions.toml", &["duration=6h"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let run = cassim(&[
        "run",
        "scenarios/sessions.toml",
        "--out",
        path_str(&out),
        "--seed",
        "99",
        "--set",
        "duration=6h",
    ]);
    assert!(run.code <= 1);
    let b = std::fs::read_to_string(out.join("timeseries.csv")).unwrap();
    assert_ne!(a.timeseries_text, b);
    assert!(std::fs::read_to_string(out.join("summary.json"))
        .unwrap()
        .contains("\"seed\": 99"));
}

#[test]
fn set_overrides_any_field_and_bad_paths_are_refused() {
    let out = run_scenario("scenarios/queue.toml", &["duration=3h", "sample_every=30m"]);
    assert_eq!(out.series("m2m.commands").len(), 6);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("o");
    let run = cassim(&[
        "run",
        "scenarios/queue.toml",
        "--out",
        path_str(&target),
        "--set",
        "node.heapp=4GiB",
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("node.heapp"), "{}", run.stderr);
    assert!(!target.exists(), "no report for refused input");
    let run = cassim(&[
        "run",
        "scenarios/queue.toml",
        "--set",
        "calibration.reads_per_sampel=10",
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("reads_per_sample"), "{}", run.stderr);
}

#[test]
fn a_missing_scenario_is_a_clear_error() {
    let run = cassim(&["run", "scenarios/nope.toml"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("scenarios/nope.toml"), "{}", run.stderr);
}

#[test]
fn all_nodes_check_the_representative_node() {
    // simulate_nodes = "all" runs every node with its own token share; the representative node
    // carries the hottest node's share (DESIGN.md 3, "Nodes"): near the largest of all nodes and
    // above their mean.
    let six = "cluster.datacenters=[{name=\"dc1\",nodes=6,rf=3}]";
    let rep = run_scenario(TTL_SERIES, &["duration=12h", six]);
    let all = run_scenario(
        TTL_SERIES,
        &["duration=12h", six, "cluster.simulate_nodes=all"],
    );
    let last = |o: &super::util::RunOutput| -> Vec<f64> {
        let rows = o.series("ks.events");
        let t = rows.last().unwrap()["t_s"].clone();
        rows.iter()
            .filter(|r| r["t_s"] == t)
            .map(|r| r["live_rows"].parse().unwrap())
            .collect()
    };
    let r = last(&rep);
    let a = last(&all);
    assert_eq!((r.len(), a.len()), (1, 6));
    let mean = a.iter().sum::<f64>() / 6.0;
    let max = a.iter().cloned().fold(0.0, f64::max);
    assert!(r[0] > mean, "representative {} vs mean of all {mean}", r[0]);
    assert!(
        (r[0] / max - 1.0).abs() < 0.1,
        "representative {} vs largest {max}",
        r[0]
    );
    let factor = rep.summary["nodes"][0]["hottest_node_factor"]
        .as_f64()
        .unwrap();
    assert!(
        (r[0] / mean / factor - 1.0).abs() < 0.05,
        "{} / {mean} vs factor {factor}",
        r[0]
    );
}

#[test]
fn cassandra_stress_profiles_run_directly() {
    for (profile, schema) in [
        ("tests/data/corpus/cassandra/cqlstress-example.yaml", None),
        (
            "tests/data/corpus/cassandra/cqlstress-counter-example.yaml",
            None,
        ),
        (
            "tests/data/corpus/cassandra/cqlstress-lwt-example.yaml",
            None,
        ),
        (
            "tests/data/corpus/zipkin/span-stress.yaml",
            Some("tests/data/corpus/zipkin/zipkin2-test-schema.cql"),
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("o");
        let mut args = vec![
            "run",
            profile,
            "--out",
            path_str(&out),
            "--set",
            "duration=6h",
        ];
        if let Some(s) = schema {
            args.extend(["--schema", s]);
        }
        let run = cassim(&args);
        assert!(run.code <= 1, "{profile}: {}", run.stderr);
        let summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap())
                .unwrap();
        assert!(
            !summary["tables"].as_object().unwrap().is_empty(),
            "{profile}"
        );
    }
}
