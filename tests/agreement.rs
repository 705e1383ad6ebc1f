//! The agreement suite (issue 8): the aggregated engine against the per-row reference engine
//! (`cassim::reference`) on the same scenario and seed.
use std::collections::BTreeMap;
use std::path::Path;

use cassim::metrics::Percentiles;

fn load(file: &str, sets: &[(&str, &str)]) -> cassim::scenario::Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let mut all = vec![(
        "settings.compaction_throughput".to_string(),
        "\"0MiB/s\"".to_string(),
    )];
    all.extend(sets.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    cassim::scenario::Scenario::load(&path, &BTreeMap::new(), &all).expect("scenario")
}

/// One quantity's steady-state mean in each engine.
struct Compared {
    what: &'static str,
    reference: f64,
    aggregated: f64,
}

/// Runs both engines and returns the means, from sample `steady` on, of every compared quantity
/// of the scenario's first table; prints them as a table.
fn compare(s: &cassim::scenario::Scenario, steady: usize) -> Vec<Compared> {
    let reference = cassim::reference::run(s, s.seed, &|_, _| {}).expect("reference run");
    let aggregated = cassim::sim::simulate(s, s.seed, false, &|_, _| {});
    let table = &reference[0].table;
    let r: Vec<_> = reference.iter().filter(|x| &x.table == table).collect();
    let a: Vec<_> = aggregated.nodes[0]
        .samples
        .iter()
        .filter(|x| &x.table == table)
        .collect();
    assert_eq!(r.len(), a.len());
    assert!(r.len() > steady + 4, "too few samples after the warm-up");
    let n = (r.len() - steady) as f64;
    let mean = |f: &dyn Fn(usize) -> f64| (steady..r.len()).map(f).sum::<f64>() / n;
    let pct = |v: &[f64], q: f64| {
        let p = Percentiles::of(v);
        if q == 50.0 {
            p.p50
        } else {
            p.p99
        }
    };
    let rows = vec![
        Compared {
            what: "live rows",
            reference: mean(&|k| r[k].live_rows),
            aggregated: mean(&|k| a[k].live_rows),
        },
        Compared {
            what: "expired cells",
            reference: mean(&|k| r[k].tombstones.expired),
            aggregated: mean(&|k| a[k].tombstones.expired),
        },
        Compared {
            what: "row tombstones",
            reference: mean(&|k| r[k].tombstones.row),
            aggregated: mean(&|k| a[k].tombstones.row),
        },
        Compared {
            what: "range tombstones",
            reference: mean(&|k| r[k].tombstones.range),
            aggregated: mean(&|k| a[k].tombstones.range),
        },
        Compared {
            what: "partition tombstones",
            reference: mean(&|k| r[k].tombstones.partition),
            aggregated: mean(&|k| a[k].tombstones.partition),
        },
        Compared {
            what: "cell tombstones",
            reference: mean(&|k| r[k].tombstones.cell),
            aggregated: mean(&|k| a[k].tombstones.cell),
        },
        Compared {
            what: "sstables",
            reference: mean(&|k| r[k].sstables),
            aggregated: mean(&|k| a[k].sstables),
        },
        Compared {
            what: "sstables per read p50",
            reference: mean(&|k| pct(&r[k].sstables_per_read, 50.0)),
            aggregated: mean(&|k| a[k].sstables_per_read.p50),
        },
        Compared {
            what: "sstables per read p99",
            reference: mean(&|k| pct(&r[k].sstables_per_read, 99.0)),
            aggregated: mean(&|k| a[k].sstables_per_read.p99),
        },
        Compared {
            what: "tombstones per read p50",
            reference: mean(&|k| pct(&r[k].tombstones_per_read, 50.0)),
            aggregated: mean(&|k| a[k].tombstones_per_read.p50),
        },
        Compared {
            what: "tombstones per read p99",
            reference: mean(&|k| pct(&r[k].tombstones_per_read, 99.0)),
            aggregated: mean(&|k| a[k].tombstones_per_read.p99),
        },
    ];
    eprintln!("{}: {} samples from {steady}", s.name, r.len());
    for c in &rows {
        eprintln!(
            "  {:<24} reference {:>14.1}  aggregated {:>14.1}",
            c.what, c.reference, c.aggregated
        );
    }
    rows
}

/// Asserts each listed quantity agrees within its relative tolerance, or within `floor` in
/// absolute terms (so that quantities near zero are not judged by their noise).
fn assert_agree(rows: &[Compared], expected: &[(&str, f64, f64)]) {
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
