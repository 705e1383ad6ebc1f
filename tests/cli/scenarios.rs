//! The shipped scenarios check clean, and their projections follow from their numbers.

use super::util::cassim;

#[test]
fn every_shipped_scenario_checks_clean() {
    let mut n = 0;
    for f in std::fs::read_dir(super::util::root().join("scenarios")).unwrap() {
        let p = f.unwrap().path();
        if p.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let out = cassim(&["check", p.to_str().unwrap()]);
        assert_eq!(out.code, 0, "{}: {}{}", p.display(), out.stderr, out.stdout);
        assert!(out.stdout.contains("per partition"), "{}", out.stdout);
        n += 1;
    }
    assert_eq!(n, 5);
}

#[test]
fn m2m_partitions_hold_a_day_of_readings() {
    let out = cassim(&["check", "scenarios/m2m-readings.toml", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let t = json["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "m2m.readings_by_equipment")
        .unwrap();
    // 25 000 writes/s over 50 000 equipment, one partition per day: 0.5 × 86 400 rows.
    assert_eq!(
        t["projection"]["rows_p50"].as_f64().unwrap().round(),
        43_200.0
    );
    assert_eq!(t["ttl_written_s"].as_f64().unwrap(), 2_592_000.0);
    assert_eq!(json["cassandra_version"], "3.11");
}

#[test]
fn check_reads_a_bare_schema() {
    let out = cassim(&["check", "scenarios/schemas/m2m.cql"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("m2m.readings_by_equipment_type"));
    assert!(out
        .stdout
        .contains("TimeWindowCompactionStrategy (window 1d)"));
}
