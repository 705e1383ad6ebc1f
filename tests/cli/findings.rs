//! Static findings of `cassim check`, each on a small scenario built to show it.

use super::util::{cassim, path_str, scenario, temp_file};

fn findings(toml: &str) -> (i32, Vec<String>, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = temp_file(&dir, "s.toml", toml);
    let out = cassim(&["check", path_str(&p), "--format", "json"]);
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let codes = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect();
    (out.code, codes, out.stdout)
}

#[test]
fn null_inserts_write_cell_tombstones() {
    let (_, codes, _) = findings(&scenario(
        "[[workload]]\ncql = \"INSERT INTO ks.t (pk, ck, v) VALUES (?, ?, null)\"\nrate = \"10/s\"",
    ));
    assert!(
        codes.contains(&"null_cell_tombstones".to_string()),
        "{codes:?}"
    );
    let (_, codes, _) = findings(&scenario("[[workload]]\ncql = \"INSERT INTO ks.t (pk, ck, v) VALUES (?, ?, ?)\"\nrate = \"10/s\"\nnulls = { v = 0.5 }"));
    assert!(
        codes.contains(&"null_cell_tombstones".to_string()),
        "{codes:?}"
    );
}

#[test]
fn collection_overwrites_write_range_tombstones() {
    let (_, codes, _) = findings(&scenario(
        "[[workload]]\ncql = \"UPDATE ks.t SET m = ? WHERE pk = ? AND ck = ?\"\nrate = \"10/s\"",
    ));
    assert!(
        codes.contains(&"collection_overwrite".to_string()),
        "{codes:?}"
    );
    let (_, codes, _) = findings(&scenario("[[workload]]\ncql = \"UPDATE ks.t SET m = m + ? WHERE pk = ? AND ck = ?\"\nrate = \"10/s\""));
    assert!(
        !codes.contains(&"collection_overwrite".to_string()),
        "appending is not an overwrite: {codes:?}"
    );
}

#[test]
fn append_only_without_bucket_or_ttl_grows_without_bound() {
    let s = scenario("").replace(" USING TTL 86400", "");
    let (_, codes, _) = findings(&s);
    assert!(
        codes.contains(&"unbounded_partition".to_string()),
        "{codes:?}"
    );
}

#[test]
fn twcs_with_too_many_windows_inside_the_ttl() {
    let s = scenario("")
        .replace("PRIMARY KEY (pk, ck));", "PRIMARY KEY (pk, ck)) WITH compaction = {'class': 'TimeWindowCompactionStrategy', 'compaction_window_unit': 'HOURS', 'compaction_window_size': 1};")
        .replace("USING TTL 86400", "USING TTL 604800");
    let (_, codes, out) = findings(&s);
    assert!(
        codes.contains(&"twcs_window_count".to_string()),
        "{codes:?}"
    );
    assert!(out.contains("168 windows"), "{out}");
}

#[test]
fn a_queue_consumer_pushes_head_reads_past_the_failure_threshold() {
    let out = cassim(&["check", "scenarios/queue.toml", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let f = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "tombstone_failure_threshold")
        .expect("finding");
    // 2000 deletes/s over 1000 partitions: 2 tombstones/s per partition, so 100 000 after 50 000 s.
    assert_eq!(f["at_s"].as_f64().unwrap().round(), 50_000.0);
    assert!(f["message"].as_str().unwrap().contains("day 1"));
    // Live rows: 2 rows/s per partition consumed about 30 s after they were written.
    assert_eq!(
        json["tables"][0]["projection"]["rows_p50"]
            .as_f64()
            .unwrap()
            .round(),
        60.0
    );
}

#[test]
fn wide_partitions_are_reported_with_the_field_reports_numbers() {
    let out = cassim(&["check", "scenarios/wide-rows.toml", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let tables = json["tables"].as_array().unwrap();
    let one_m = tables
        .iter()
        .find(|t| t["table"] == "wide.values_1m")
        .unwrap();
    assert_eq!(
        one_m["projection"]["cells_max"].as_f64().unwrap(),
        1_000_000.0
    );
    // FIELD-REPORT.md item 1: 100 000 columns worked, 1 000 000 took seconds to read.
    let wide: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "wide_partition_reads")
        .map(|f| f["table"].as_str().unwrap())
        .collect();
    assert_eq!(wide, vec!["wide.values_1m"]);
    // 1M rows of (timestamp, double) stay under 100 MiB: no large-partition warning.
    assert!(one_m["projection"]["bytes_max"].as_f64().unwrap() < 100.0 * 1024.0 * 1024.0);
}

#[test]
fn a_secondary_index_on_a_high_cardinality_column() {
    let s = scenario("").replace(
        "PRIMARY KEY (pk, ck));",
        "u uuid, PRIMARY KEY (pk, ck));\nCREATE INDEX t_u ON ks.t (u);",
    );
    let (_, codes, _) = findings(&s);
    assert!(
        codes.contains(&"high_cardinality_index".to_string()),
        "{codes:?}"
    );
}

#[test]
fn cassandra_rejections_are_errors_and_exit_1() {
    let s = scenario("").replace(
        "PRIMARY KEY (pk, ck));",
        "PRIMARY KEY (pk, ck)) WITH compaction = {'class': 'DateTieredCompactionStrategy'};",
    );
    let (code, codes, _) = findings(&s);
    assert_eq!(code, 1);
    assert!(codes.contains(&"removed_strategy".to_string()), "{codes:?}");
}

#[test]
fn nofile_1024_is_flagged() {
    let (_, codes, _) =
        findings(&scenario("").replace("heap = \"8GiB\"", "heap = \"8GiB\"\nnofile = 1024"));
    assert!(codes.contains(&"nofile".to_string()), "{codes:?}");
}

#[test]
fn cells_are_the_columns_the_writes_set_not_every_column_declared() {
    // 10 000 declared columns, an INSERT of one: a cell a row, far from the 2 billion limit (every
    // declared column counted made a false cells_limit error).
    let columns: Vec<String> = (0..10_000).map(|i| format!("c{i} int")).collect();
    let s = scenario("").replace(
        "v text, m map<text, text>,",
        &format!("v text, m map<text, text>, {},", columns.join(", ")),
    );
    let s = s.replace("entities = 100", "entities = 10").replace(
        "(pk, ck, v) VALUES (?, ?, ?) USING TTL 86400",
        "(pk, ck, c1) VALUES (?, ?, ?)",
    );
    let (code, codes, out) = findings(&s);
    assert_eq!(code, 0, "{out}");
    assert!(!codes.contains(&"cells_limit".to_string()), "{codes:?}");
    assert!(
        codes.contains(&"wide_partition_reads".to_string()),
        "{codes:?}"
    );
}
