//! The agreement suite (issue 8): the aggregated engine against the per-row reference engine
//! (`cassim::reference`) on the same scenario and seed.
use std::collections::BTreeMap;
use std::path::Path;

use cassim::reference::compare::{self, Quantity};

fn load(file: &str, sets: &[(&str, &str)]) -> cassim::scenario::Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let mut all = vec![(
        "settings.compaction_throughput".to_string(),
        "\"0MiB/s\"".to_string(),
    )];
    all.extend(sets.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    cassim::scenario::Scenario::load(&path, &BTreeMap::new(), &all).expect("scenario")
}

/// Runs both engines and returns the first table's steady-state means from sample `steady` on;
/// prints them as `cassim run --reference` does.
fn compare(s: &cassim::scenario::Scenario, steady: usize) -> Vec<Quantity> {
    let runs = compare::run_both(s, s.seed, &|_, _| {}).expect("reference run");
    let comparisons = compare::compare(&runs, steady);
    eprintln!("{}\n{}", s.name, compare::text(&comparisons));
    assert!(
        comparisons[0].samples > 4,
        "too few samples after the warm-up"
    );
    comparisons[0].quantities.clone()
}

/// Asserts each listed quantity agrees within its relative tolerance, or within `floor` in
/// absolute terms (so that quantities near zero are not judged by their noise).
fn assert_agree(rows: &[Quantity], expected: &[(&str, f64, f64)]) {
    for (what, tolerance, floor) in expected {
        let c = rows
            .iter()
            .find(|c| c.what == *what)
            .unwrap_or_else(|| panic!("no quantity {what}"));
        let gap = (c.reference - c.aggregated).abs();
        let scale = c.reference.abs().max(c.aggregated.abs());
        assert!(
            gap <= tolerance * scale || gap <= *floor,
            "{what}: reference {} against aggregated {} (tolerance {} %, or {floor})",
            c.reference,
            c.aggregated,
            tolerance * 100.0
        );
    }
}

#[test]
fn ttl_series_under_twcs() {
    let s = load(
        "tests/data/scenarios/ttl-series.toml",
        &[("duration", "\"1d\""), ("sample_every", "\"25m\"")],
    );
    let rows = compare(&s, 8);
    assert_agree(&rows, &[("live rows", 0.01, 0.0)]);
}

#[test]
fn ttl_series_under_stcs() {
    let s = load(
        "tests/data/scenarios/ttl-series.toml",
        &[
            ("duration", "\"1d\""),
            ("sample_every", "\"25m\""),
            (
                "tables.\"ks.events\".compaction",
                "{ class = \"SizeTieredCompactionStrategy\" }",
            ),
        ],
    );
    let rows = compare(&s, 8);
    assert_agree(&rows, &[("live rows", 0.01, 0.0)]);
}

#[test]
fn queue_with_head_deletes() {
    let s = load(
        "scenarios/queue.toml",
        &[
            ("duration", "\"1d\""),
            ("sample_every", "\"25m\""),
            ("tables.\"m2m.commands\".partitions.entities", "100"),
            ("tables.\"m2m.commands\".gc_grace_seconds", "3600"),
            ("workload[0].rate", "\"50/s\""),
            ("workload[1].rate", "\"50/s\""),
            ("workload[2].rate", "\"20/s\""),
            ("settings.memtable_heap_space", "\"16MiB\""),
        ],
    );
    let rows = compare(&s, 8);
    assert_agree(&rows, &[("live rows", 0.05, 0.0)]);
}

#[test]
fn upserts_into_a_small_clustering_population() {
    let s = load(
        "tests/data/scenarios/upserts.toml",
        &[("duration", "\"6h\""), ("sample_every", "\"10m\"")],
    );
    let rows = compare(&s, 8);
    assert_agree(&rows, &[("live rows", 0.01, 0.0)]);
}

#[test]
fn the_reference_engine_refuses_what_it_cannot_run_and_says_why() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/scenarios/ttl-series.toml");
    let throttled =
        cassim::scenario::Scenario::load(&path, &BTreeMap::new(), &[]).expect("scenario");
    let e = cassim::reference::supported(&throttled).unwrap_err();
    assert!(e.contains("compaction_throughput"), "{e}");
    let big = load(
        "tests/data/scenarios/ttl-series.toml",
        &[("workload[0].rate", "\"5000000/s\"")],
    );
    let e = cassim::reference::supported(&big).unwrap_err();
    assert!(e.contains("too large") && e.contains("GiB"), "{e}");
}
