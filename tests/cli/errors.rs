//! Bad input gets a clear error naming the field path or file:line:col, with a hint, and exit 2.

use super::util::{cassim, path_str, scenario, temp_file};

fn check_text(toml: &str) -> super::util::Run {
    let dir = tempfile::tempdir().unwrap();
    let p = temp_file(&dir, "s.toml", toml);
    cassim(&["check", path_str(&p)])
}

#[test]
fn a_bad_rate_names_the_field_path_value_and_hint() {
    let out = check_text(&scenario("").replace("rate = \"100/s\"", "rate = \"100 per second\""));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("workload[0].rate"), "{}", out.stderr);
    assert!(out.stderr.contains("\"100 per second\""), "{}", out.stderr);
    assert!(out.stderr.contains("hint"), "{}", out.stderr);
}

#[test]
fn an_unknown_key_is_an_error_with_did_you_mean() {
    let out =
        check_text(&scenario("").replace("heap = \"8GiB\"", "heap = \"8GiB\"\nnofiles = 1024"));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("node.nofiles: unknown key"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("did you mean `nofile`"),
        "{}",
        out.stderr
    );
}

#[test]
fn rf_above_nodes_is_a_contradiction() {
    let out = check_text(&scenario("").replace("nodes = 3, rf = 3", "nodes = 2, rf = 3"));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("cluster.datacenters[0].rf"),
        "{}",
        out.stderr
    );
}

#[test]
fn heap_above_ram_is_a_contradiction() {
    let out = check_text(&scenario("").replace("heap = \"8GiB\"", "heap = \"48GiB\""));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("node.heap"), "{}", out.stderr);
}

#[test]
fn a_workload_on_an_unknown_table_is_an_error() {
    let out = check_text(&scenario(
        "[[workload]]\ncql = \"SELECT * FROM ks.nope WHERE pk = ?\"\nrate = \"1/s\"",
    ));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("workload[1].cql"), "{}", out.stderr);
    assert!(
        out.stderr.contains("ks.nope is not in the schema"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_select_on_a_non_key_column_needs_allow_filtering() {
    let out = check_text(&scenario(
        "[[workload]]\ncql = \"SELECT * FROM ks.t WHERE pk = ? AND v = ?\"\nrate = \"1/s\"",
    ));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("without ALLOW FILTERING"),
        "{}",
        out.stderr
    );
    let ok = check_text(&scenario("[[workload]]\ncql = \"SELECT * FROM ks.t WHERE pk = ? AND v = ? ALLOW FILTERING\"\nrate = \"1/s\""));
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stdout.contains("[allow_filtering]"));
}

#[test]
fn a_cql_syntax_error_shows_file_line_column_and_caret() {
    let dir = tempfile::tempdir().unwrap();
    let p = temp_file(
        &dir,
        "bad.cql",
        "CREATE TABLE ks.t (\n  pk int,\n  v text PRIMRY KEY\n);\n",
    );
    let out = cassim(&["check", path_str(&p)]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("bad.cql:3:10:"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("  |   v text PRIMRY KEY\n  |          ^"),
        "{}",
        out.stderr
    );
}

#[test]
fn invalid_toml_names_line_and_column() {
    let out = check_text("name = \"x\"\nduration = \n");
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("s.toml:2:"), "{}", out.stderr);
}

#[test]
fn table_options_in_the_scenario_override_the_cql() {
    let s = scenario("").replace(
        "partitions = { entities = 100 }",
        "partitions = { entities = 100 }\ngc_grace_seconds = 3600",
    );
    let dir = tempfile::tempdir().unwrap();
    let p = temp_file(&dir, "s.toml", &s);
    let out = cassim(&["check", path_str(&p), "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["tables"][0]["gc_grace_seconds"], 3600);
    let bad = check_text(&s.replace("gc_grace_seconds = 3600", "gc_grace_seconds = -1"));
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr.contains("tables.\"ks.t\".gc_grace_seconds"),
        "{}",
        bad.stderr
    );
}

#[test]
fn set_overrides_a_field_by_path() {
    let dir = tempfile::tempdir().unwrap();
    let p = temp_file(&dir, "s.toml", scenario(""));
    let out = cassim(&["check", path_str(&p), "--set", "node.heap=64GiB"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("node.heap"), "{}", out.stderr);
    let ok = cassim(&[
        "check",
        path_str(&p),
        "--set",
        "workload[0].rate=5/s",
        "--format",
        "json",
    ]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
}

#[test]
fn a_template_without_value_asks_for_var() {
    let dir = tempfile::tempdir().unwrap();
    let p = temp_file(
        &dir,
        "t.cql",
        "CREATE TABLE ${ks}.t (pk int PRIMARY KEY);\n",
    );
    let out = cassim(&["check", path_str(&p)]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--var ks=VALUE"), "{}", out.stderr);
    let ok = cassim(&["check", path_str(&p), "--var", "ks=app"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stdout.contains("app.t"));
}

#[test]
fn two_statements_named_alike_are_an_error() {
    let read = "[[workload]]\nname = \"read\"\ncql = \"SELECT * FROM ks.t WHERE pk = ?\"\nrate = \"1/s\"\n";
    let out = check_text(&scenario(&format!("{read}\n{read}")));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("workload[2].name"), "{}", out.stderr);
    assert!(
        out.stderr.contains("is the name of workload[1] too"),
        "{}",
        out.stderr
    );
}

#[test]
fn two_unnamed_statements_of_a_kind_on_a_table_each_get_their_charts() {
    let read = "[[workload]]\ncql = \"SELECT * FROM ks.t WHERE pk = ? LIMIT 5\"\nrate = \"1/s\"\n";
    let dir = tempfile::tempdir().unwrap();
    let p = temp_file(&dir, "s.toml", scenario(&format!("{read}\n{read}")));
    let out_dir = dir.path().join("out");
    let out = cassim(&[
        "run",
        path_str(&p),
        "--set",
        "duration=\"2h\"",
        "--out",
        path_str(&out_dir),
    ]);
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    let charts = out_dir.join("charts");
    assert!(charts.join("latency-select-ks.t.svg").exists());
    assert!(charts.join("latency-select-ks.t-2.svg").exists());
    let summary = std::fs::read_to_string(out_dir.join("summary.json")).unwrap();
    assert!(summary.contains("\"SELECT ks.t #2\""), "{summary}");
}
