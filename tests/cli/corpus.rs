//! Every CQL statement of the corpus parses and every cassandra-stress profile imports.

use std::collections::BTreeMap;
use std::path::Path;

use cassim::schema::Schema;

use super::util::{cassim, root};

fn vars() -> BTreeMap<String, String> {
    [
        ("keyspace", "ks"),
        (
            "replication",
            "{'class': 'SimpleStrategy', 'replication_factor': '1'}",
        ),
        ("trace_ttl", "172800"),
        ("dependencies_ttl", "0"),
        ("compaction_window_size", "1"),
        ("compaction_window_unit", "HOURS"),
        ("replicationFactor", "1"),
        ("KEYSPACE", "newts"),
        ("REPLICATION_FACTOR", "1"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect()
}

fn corpus_files(ext: &[&str]) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for dir in std::fs::read_dir(root().join("tests/data/corpus")).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            let name = f.to_string_lossy().to_string();
            if ext.iter().any(|e| name.ends_with(e)) {
                files.push(f);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_cql_file_of_the_corpus_parses_into_a_schema() {
    let files = corpus_files(&[".cql", ".cql.tmpl"]);
    assert!(files.len() >= 19, "corpus files: {files:?}");
    let mut statements = 0;
    let mut tables = 0;
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let name = f.display().to_string();
        // Hawkular's migrations run connected to their keyspace; the others qualify or USE.
        let keyspace = if name.contains("hawkular") {
            Some("ks")
        } else {
            None
        };
        let parsed = cassim::cql::parse(&name, &text, &vars()).unwrap_or_else(|e| panic!("{e}"));
        statements += parsed.len();
        let schema =
            Schema::from_cql(&name, &text, &vars(), keyspace).unwrap_or_else(|e| panic!("{e}"));
        assert!(!schema.tables.is_empty(), "{name} defines no table");
        tables += schema.tables.len();
    }
    eprintln!(
        "corpus: {} files, {statements} statements, {tables} tables",
        files.len()
    );
    assert_eq!(statements, 226, "statements parsed");
    assert!(tables > 100, "tables: {tables}");
}

#[test]
fn corpus_options_are_read_not_dropped() {
    let text = std::fs::read_to_string(root().join("tests/data/corpus/zipkin/zipkin2-schema.cql"))
        .unwrap();
    let schema = Schema::from_cql("zipkin2-schema.cql", &text, &BTreeMap::new(), None).unwrap();
    let span = schema.table("zipkin2.span").unwrap();
    assert_eq!(span.options.gc_grace_seconds, Some(3600));
    assert_eq!(span.options.default_time_to_live, Some(604_800));
    assert_eq!(
        span.options.compaction.strategy,
        cassim::schema::Strategy::Twcs
    );
}

#[test]
fn every_stress_profile_imports_into_a_scenario_check_accepts() {
    let schema = root().join("tests/data/corpus/zipkin/zipkin2-test-schema.cql");
    let mut imported = 0;
    for f in corpus_files(&[".yaml"]) {
        let text = std::fs::read_to_string(&f).unwrap();
        if text.contains("\nblocks:") {
            continue; // NoSQLBench, below
        }
        let p = f.to_str().unwrap();
        let mut args = vec!["import-stress", p];
        let needs_schema = !text.contains("table_definition");
        if needs_schema {
            args.extend(["--schema", schema.to_str().unwrap()]);
        }
        let out = cassim(&args);
        assert_eq!(out.code, 0, "{p}: {}", out.stderr);
        assert!(out.stdout.contains("[[workload]]"), "{p}");
        let dir = tempfile::tempdir().unwrap();
        let scenario = dir.path().join("imported.toml");
        std::fs::write(&scenario, &out.stdout).unwrap();
        let check = cassim(&["check", scenario.to_str().unwrap()]);
        assert!(
            check.code == 0 || check.code == 1,
            "{p}: check said {}\n{}",
            check.code,
            check.stderr
        );
        imported += 1;
    }
    assert_eq!(imported, 6);
}

#[test]
fn nosqlbench_workloads_parse() {
    for f in corpus_files(&[".yaml"]) {
        let text = std::fs::read_to_string(&f).unwrap();
        if !text.contains("\nblocks:") {
            continue;
        }
        let statements = cassim::stress::nosqlbench_statements(&text).unwrap();
        assert!(statements.len() >= 4, "{}", f.display());
        for s in statements {
            cassim::cql::parse(&f.display().to_string(), &s, &BTreeMap::new())
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let out = cassim(&["check", f.to_str().unwrap()]);
        assert_eq!(out.code, 0, "{}", out.stderr);
    }
}

#[test]
fn a_counter_profile_imports_as_counter_updates() {
    let p = Path::new("tests/data/corpus/cassandra/cqlstress-counter-example.yaml");
    let out = cassim(&["import-stress", p.to_str().unwrap()]);
    assert!(
        out.stdout.contains("SET count = count + ?"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_migration_written_to_run_inside_a_keyspace_checks_with_keyspace() {
    // Hawkular's migrations create `tenants`, `data`, … unqualified, run inside the keyspace.
    let file = "tests/data/corpus/hawkular-metrics/schema-migrations.cql";
    let vars = ["--var", "keyspace=hawkular", "--var", "replicationFactor=1"];
    let bare = cassim(&[&["check", file][..], &vars[..]].concat());
    assert_eq!(bare.code, 2, "{}", bare.stderr);
    assert!(
        bare.stderr.contains("create it before this statement"),
        "{}",
        bare.stderr
    );
    let inside = cassim(&[&["check", file, "--keyspace", "hawkular"][..], &vars[..]].concat());
    assert_eq!(inside.code, 0, "{}", inside.stderr);
    assert!(inside.stdout.contains("14 table(s)"), "{}", inside.stdout);
}
