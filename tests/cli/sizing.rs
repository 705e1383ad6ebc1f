//! Cluster sizing (issue 7) on hand-computed cases: `tests/data/scenarios/sizing.toml` writes
//! 1 000 uncompressed rows of 1 023 serialized bytes per second for two days on 6 nodes with RF 3,
//! so each node holds 1 000 × 172 800 × 3 / 6 = 86.4 M rows = 88.4 GB of sstables, and token
//! imbalance is off. Each test raises one limit until it binds.

use super::util::{cassim, run_scenario, RunOutput};

const SIZING: &str = "tests/data/scenarios/sizing.toml";
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
/// 86.4 M rows × 1 023 B (`cassim check`: 1023 B serialized per row).
const DATA_PER_NODE: f64 = 86.4e6 * 1023.0;

fn constraint<'a>(o: &'a RunOutput, name: &str) -> &'a serde_json::Value {
    o.summary["sizing"]["datacenters"][0]["constraints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no constraint {name}"))
}

fn needed(o: &RunOutput) -> f64 {
    o.number("/sizing/nodes_needed/dc1")
}

fn binding(o: &RunOutput) -> String {
    o.summary["sizing"]["binding_constraint"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_storage_bound_cluster_needs_its_data_over_the_density_ceiling() {
    // 20 GB per node: 6 nodes × 88.4 GB / 20 GB = 26.5, so 27 nodes.
    let o = run_scenario(SIZING, &["calibration.node_density_ceiling_bytes=2e10"]);
    let data = o.number("/sizing/datacenters/0/node/disk/sstables_bytes");
    assert!((data / DATA_PER_NODE - 1.0).abs() < 0.02, "{data}");
    assert_eq!(binding(&o), "storage_density");
    assert_eq!(needed(&o), 27.0);
    assert_eq!(constraint(&o, "storage_density")["met"], false);
    // At 27 nodes each holds 6/27 of what it holds at 6.
    let disk = o.number("/sizing/disk_per_node_bytes");
    let sst = data * 6.0 / 27.0;
    assert!(disk > sst && disk < 2.2 * sst + 9.0 * GIB, "{disk}");
    assert!(o.summary.to_string().contains("\"code\":\"undersized\""));
}

#[test]
fn a_throughput_bound_cluster_needs_its_stage_load_under_the_target() {
    // Rows of 100 B: reads of the scenario's 1 000-byte rows at 800 000/s put some 7 GB/s through
    // each node's young generation (4.4 bytes allocated a byte a read passes, measured on the real
    // node: reports/validation/allocation), and the collections bind before the stages do.
    let run = |rate: &str| {
        run_scenario(
            SIZING,
            &[
                &format!("workload[1].rate=\"{rate}\""),
                "tables.\"ks.blobs\".columns.payload=\"fixed(100B)\"",
            ],
        )
    };
    // Reads of the newest 10 rows open the one or two sstables they lie in: 400 000 reads/s keep
    // the stages of 6 nodes some 57 % busy.
    let (a, b) = (run("400000/s"), run("800000/s"));
    let u = |o: &RunOutput| o.number("/sizing/datacenters/0/node/stage_utilisation");
    // Twice the reads keep the stages twice as busy.
    assert!((u(&b) / u(&a) - 2.0).abs() < 0.2, "{} {}", u(&a), u(&b));
    for o in [&a, &b] {
        assert_eq!(binding(o), "throughput");
        // Utilisation goes as 1/nodes: 6 × u / 70 %.
        assert_eq!(needed(o), (6.0 * u(o) / 0.7).ceil(), "{}", u(o));
    }
    assert!(needed(&b) > needed(&a));
}

#[test]
fn stcs_fails_on_its_compaction_headroom_where_lcs_fits() {
    // 150 GiB disks, 90 % usable = 135 GiB. Data 82.3 GiB + 10 % snapshots + 8 GiB commit log
    // fits; STCS also wants free space as large as its data (F20), 82.3 GiB more: it does not.
    let disk = "node.disk={kind=\"ssd\",size=\"150GiB\"}";
    let stcs = run_scenario(SIZING, &[disk]);
    assert_eq!(constraint(&stcs, "disk_space")["met"], true);
    assert_eq!(constraint(&stcs, "compaction_headroom")["met"], false);
    assert_eq!(binding(&stcs), "compaction_headroom");
    // 6 × 82.3 GiB × 2.1 / k + 8 GiB ≤ 135 GiB: k ≥ 8.2, so 9 nodes; without the headroom 5.
    assert_eq!(needed(&stcs), 9.0);
    assert_eq!(constraint(&stcs, "disk_space")["nodes"], 5);
    // LCS needs one level step free: 11 sstables of 160 MiB.
    let lcs = run_scenario(
        SIZING,
        &[
            disk,
            "tables.\"ks.blobs\".compaction={class=\"LeveledCompactionStrategy\"}",
        ],
    );
    assert_eq!(constraint(&lcs, "compaction_headroom")["met"], true);
    let h = lcs.number("/sizing/datacenters/0/node/disk/strategy_headroom_bytes");
    assert_eq!(h, 11.0 * 160.0 * 1024.0 * 1024.0);
}

#[test]
fn open_files_over_a_nofile_of_1024_is_a_finding() {
    // LCS keeps 88.4 GB in 160 MiB sstables: 527 of them, 8 component files each = 4 216, plus
    // commit log segments, 200 client and 30 internode connections, and 400 base files.
    let o = run_scenario(
        SIZING,
        &[
            "node.nofile=1024",
            "tables.\"ks.blobs\".compaction={class=\"LeveledCompactionStrategy\"}",
        ],
    );
    let hand = (DATA_PER_NODE / (160.0 * 1024.0 * 1024.0)).ceil() * 8.0 + 200.0 + 30.0 + 400.0;
    let files = o.number("/sizing/open_files");
    assert!((files / hand - 1.0).abs() < 0.1, "{files} against {hand}");
    assert_eq!(o.number("/sizing/nofile"), 1024.0);
    let f = o.summary["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "nofile")
        .expect("a nofile finding");
    assert_eq!(f["severity"], "error");
    assert!(f["message"]
        .as_str()
        .unwrap()
        .contains("Too many open files"));
    assert!(o.stdout.contains("raise nofile"));
    // The same run with the usual limit has no such finding.
    let ok = run_scenario(
        SIZING,
        &["tables.\"ks.blobs\".compaction={class=\"LeveledCompactionStrategy\"}"],
    );
    assert!(!ok.summary.to_string().contains("\"code\":\"nofile\""));
}

#[test]
fn twcs_needs_less_disk_than_stcs_for_the_same_ttl_workload() {
    let run = |class: &str| {
        run_scenario(
            SIZING,
            &[
                "tables.\"ks.blobs\".default_time_to_live=21600",
                "tables.\"ks.blobs\".gc_grace_seconds=3600",
                &format!("tables.\"ks.blobs\".compaction={{class=\"{class}\",compaction_window_unit=\"HOURS\",compaction_window_size=1}}"),
            ],
        )
    };
    let (stcs, twcs) = (
        run("SizeTieredCompactionStrategy"),
        run("TimeWindowCompactionStrategy"),
    );
    let disk = |o: &RunOutput| o.number("/sizing/disk_per_node_bytes");
    let sst = |o: &RunOutput| o.number("/sizing/datacenters/0/node/disk/sstables_bytes");
    let head =
        |o: &RunOutput| o.number("/sizing/datacenters/0/node/disk/compaction_headroom_bytes");
    // TWCS drops expired windows whole and compacts one window at a time.
    assert!(sst(&twcs) < sst(&stcs), "{} {}", sst(&twcs), sst(&stcs));
    assert!(
        head(&twcs) < 0.5 * head(&stcs),
        "{} {}",
        head(&twcs),
        head(&stcs)
    );
    assert!(disk(&twcs) < disk(&stcs), "{} {}", disk(&twcs), disk(&stcs));
}

#[test]
fn the_sizing_section_has_its_keys_and_the_terminal_shows_it() {
    let o = run_scenario(SIZING, &[]);
    for key in [
        "nodes_needed",
        "binding_constraint",
        "disk_per_node_bytes",
        "ram_per_node_bytes",
        "heap_bytes",
        "open_files",
        "stream_time_s",
        "cross_dc_bytes_per_s",
    ] {
        assert!(o.summary["sizing"].get(key).is_some(), "sizing.{key}");
    }
    // Replacing a node streams its 88.4 GB from its 5 peers at 24 MiB/s each (4.1), capped at
    // the 100 MiB/s the receiver writes.
    let stream = o.number("/sizing/datacenters/0/node/stream/time_s");
    let hand = DATA_PER_NODE / (100.0 * 1024.0 * 1024.0);
    assert!((stream / hand - 1.0).abs() < 0.02, "{stream} {hand}");
    assert!(o
        .stdout
        .contains("Sizing (nodes each limit needs per datacenter"));
    assert!(o.stdout.contains("recommendation:"));
    // One datacenter: nothing crosses datacenters.
    assert_eq!(o.number("/sizing/cross_dc_bytes_per_s"), 0.0);
}

#[test]
fn writes_cross_datacenters_once_per_remote_datacenter() {
    // Two datacenters: each of the 1 000 writes/s goes once to the other, 900 B + 1.42 × its
    // mutation (F19).
    let o = run_scenario(
        SIZING,
        &["cluster.datacenters=[{name=\"dc1\",nodes=6,rf=3},{name=\"dc2\",nodes=6,rf=3}]"],
    );
    let bytes = o.number("/sizing/cross_dc_bytes_per_s");
    let lo = 1000.0 * (900.0 + 1.42 * 1023.0);
    assert!(bytes > lo && bytes < 1.1 * lo, "{bytes} against {lo}");
}

#[test]
fn cassim_size_finds_the_smallest_cluster_that_meets_every_limit() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let r = cassim(&[
        "size",
        SIZING,
        "--set",
        "calibration.node_density_ceiling_bytes=2e10",
        "--set",
        "duration=1d",
        "--jobs",
        "2",
        "--out",
        out,
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("<- recommended"), "{}", r.stdout);
    assert!(r.stdout.contains("fails storage_density"), "{}", r.stdout);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("sizing.json")).unwrap())
            .unwrap();
    let k = json["recommended"].as_u64().unwrap() as usize;
    let candidates = json["candidates"].as_array().unwrap();
    let best = &candidates[k];
    assert_eq!(best["meets"], true);
    // One day writes 265 GB with RF 3: 265 / 20 = 13.3 nodes' worth; the memtables of each node
    // still hold its last flush's worth (about 0.5 GB at 13 nodes), so 13 or 14 nodes.
    let n = best["nodes"][0].as_u64().unwrap();
    assert!(n == 13 || n == 14, "{}", r.stdout);
    let sst = |c: &serde_json::Value| {
        c["sizing"]["datacenters"][0]["node"]["disk"]["sstables_bytes"]
            .as_f64()
            .unwrap()
    };
    assert!(sst(best) <= 2e10);
    // The next smaller candidate is one node fewer and fails the density ceiling.
    let smaller = &candidates[k - 1];
    assert_eq!(smaller["nodes"][0].as_u64().unwrap(), n - 1);
    assert!(sst(smaller) > 2e10);
    assert_eq!(smaller["meets"], false);
    assert!(smaller["unmet"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u == "storage_density"));
    // The same search on one thread gives the same answer.
    let one = cassim(&[
        "size",
        SIZING,
        "--set",
        "calibration.node_density_ceiling_bytes=2e10",
        "--set",
        "duration=1d",
        "--jobs",
        "1",
    ]);
    assert_eq!(one.stdout, r.stdout.split("\nWritten:").next().unwrap());
}

#[test]
fn views_and_indexes_multiply_the_rows_written() {
    // Two views and a legacy index on the written column: every insert writes the base row, a
    // row in each view and an index entry: 4 rows per row.
    let dir = tempfile::tempdir().unwrap();
    let text = r#"
name = "views"
duration = "6h"
[cluster]
cassandra_version = "4.1"
datacenters = [{ name = "dc1", nodes = 3, rf = 3 }]
[node]
ram = "32GiB"
heap = "8GiB"
[schema]
cql = """
CREATE TABLE ks.person (id int PRIMARY KEY, age int, city text);
CREATE MATERIALIZED VIEW ks.person_by_age AS SELECT * FROM ks.person
  WHERE age IS NOT NULL AND id IS NOT NULL PRIMARY KEY (age, id);
CREATE MATERIALIZED VIEW ks.person_by_city AS SELECT * FROM ks.person
  WHERE city IS NOT NULL AND id IS NOT NULL PRIMARY KEY (city, id);
CREATE INDEX person_age ON ks.person (age);
"""
[tables."ks.person"]
partitions = { entities = 100000 }
[[workload]]
cql = "INSERT INTO ks.person (id, age, city) VALUES (?, ?, ?)"
rate = "100/s"
"#;
    let path = super::util::temp_file(&dir, "views.toml", text);
    let o = run_scenario(path.to_str().unwrap(), &[]);
    assert_eq!(o.number("/sizing/write_amplification/ks.person"), 4.0);
}

#[test]
fn hot_partitions_make_the_hottest_node_hotter() {
    // zipf(1.2) over 100 000 keys: the hottest key takes p1 = 1 / H(100 000, 1.2) of the writes;
    // its replicas are one of 6 / 3 = 2 replica sets, so they carry 1 + p1 × (2 - 1) of the mean.
    let o = run_scenario(SIZING, &["workload[0].keys=\"zipf(1.2)\""]);
    let h: f64 = (1..=100_000).map(|k| (k as f64).powf(-1.2)).sum();
    let p1 = 1.0 / h;
    let hot = o.number("/sizing/datacenters/0/node/hotspot/hot_partition_factor");
    assert!(
        (hot - (1.0 + p1)).abs() < 0.01,
        "{hot} against {}",
        1.0 + p1
    );
    assert!(o.number("/sizing/hottest_node_factor") > 1.1);
    let even = run_scenario(SIZING, &[]);
    assert!((even.number("/sizing/hottest_node_factor") - 1.0).abs() < 1e-6);
}

#[test]
fn cassim_size_says_so_when_no_cluster_meets_every_limit() {
    // A reserve outside the heap larger than what the heap leaves of the RAM: no node count
    // fixes the RAM limit.
    let r = cassim(&[
        "size",
        SIZING,
        "--set",
        "duration=6h",
        "--set",
        "calibration.offheap_reserve_bytes=30e9",
    ]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("No candidate meets every limit"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("fails ram"), "{}", r.stdout);
}
