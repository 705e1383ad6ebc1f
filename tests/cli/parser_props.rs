//! Property tests: the CQL reader, the scenario reader and the stress-profile import never panic,
//! whatever the input (the bounded version of the fuzz targets in `fuzz/`).

use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;

const SAMPLE: &str = "CREATE TABLE ks.t (pk int, ck timestamp, v map<text, frozen<list<int>>>, PRIMARY KEY ((pk), ck)) WITH CLUSTERING ORDER BY (ck DESC) AND compaction = {'class': 'TimeWindowCompactionStrategy'}; INSERT INTO ks.t (pk, ck, v) VALUES (?, ?, {'a': [1, 2]}) USING TTL 10; SELECT * FROM ks.t WHERE pk IN (1, 2) AND ck > ? ORDER BY ck ASC LIMIT 5 ALLOW FILTERING; DELETE v['a'] FROM ks.t WHERE pk = ? IF EXISTS;";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_cql_reader_never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
        let _ = cassim::cql::parse("p.cql", &text, &BTreeMap::new());
        let _ = cassim::schema::Schema::from_cql("p.cql", &text, &BTreeMap::new(), None);
    }

    #[test]
    fn the_cql_reader_never_panics_on_cut_or_spliced_statements(cut in 0usize..400, len in 0usize..60, junk in "[(){}<>;,'\"$:?.a-z0-9 -]{0,12}") {
        let chars: Vec<char> = SAMPLE.chars().collect();
        let start = cut.min(chars.len());
        let end = (start + len).min(chars.len());
        let text: String = chars[..start].iter().chain(junk.chars().collect::<Vec<_>>().iter()).chain(chars[end..].iter()).collect();
        let _ = cassim::schema::Schema::from_cql("p.cql", &text, &BTreeMap::new(), None);
    }

    #[test]
    fn templates_never_panic(text in "[$${}<>:,()TEMPLATEa-z]{0,40}") {
        let _ = cassim::cql::parse("p.cql", &text, &BTreeMap::new());
    }

    #[test]
    fn the_scenario_reader_never_panics(text in "[a-z_\\[\\]\"=. \n0-9{}]{0,120}") {
        let _ = cassim::scenario::Scenario::from_str(&text, Path::new("p.toml"), &BTreeMap::new(), &[]);
    }
}

const PROFILE: &str = "keyspace: ks\ntable: t\ntable_definition: |\n  CREATE TABLE t (pk int, ck int, v text, PRIMARY KEY (pk, ck))\ncolumnspec:\n  - name: v\n    size: uniform(1..100)\n  - name: ck\n    cluster: fixed(10)\ninsert:\n  partitions: fixed(1)\n  select: fixed(1)/10\n  batchtype: UNLOGGED\nqueries:\n  read:\n    cql: SELECT * FROM t WHERE pk = ?\n    fields: samerow\n";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_stress_import_never_panics_on_cut_or_spliced_profiles(cut in 0usize..400, len in 0usize..40, junk in "[a-z0-9()./:| \n-]{0,12}") {
        let chars: Vec<char> = PROFILE.chars().collect();
        let start = cut.min(chars.len());
        let end = (start + len).min(chars.len());
        let text: String = chars[..start].iter().chain(junk.chars().collect::<Vec<_>>().iter()).chain(chars[end..].iter()).collect();
        let _ = cassim::stress::import("p.yaml", &text, None);
    }

    #[test]
    fn the_stress_import_never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
        let _ = cassim::stress::import("p.yaml", &text, None);
    }
}

#[test]
fn the_sample_profile_imports() {
    let scenario = cassim::stress::import("p.yaml", PROFILE, None).unwrap();
    assert!(scenario.contains("[[workload]]"), "{scenario}");
}

#[test]
fn the_sample_parses() {
    let s = cassim::cql::parse("p.cql", SAMPLE, &BTreeMap::new()).unwrap();
    assert_eq!(s.len(), 4);
}
