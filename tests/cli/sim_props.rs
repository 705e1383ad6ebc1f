//! Property tests of whole runs: random small scenarios (strategies, versions, TTLs, gc_grace,
//! deletes and their targets, key popularity, consistency levels) simulate without a panic, give
//! finite, non-negative figures, and the same seed gives the same summary.

use std::collections::BTreeMap;
use std::path::Path;

use cassim::scenario::Scenario;
use proptest::prelude::*;

/// What the property varies.
struct Knobs<'a> {
    strategy: &'a str,
    version: &'a str,
    ttl: u32,
    gc_grace: u32,
    keys: &'a str,
    pattern: &'a str,
    delete: &'a str,
    target: &'a str,
    consistency: &'a str,
    rate: u32,
}

fn scenario(k: &Knobs) -> String {
    let Knobs {
        strategy,
        version,
        ttl,
        gc_grace,
        keys,
        pattern,
        delete,
        target,
        consistency,
        rate,
    } = *k;
    format!(
        r#"
name = "prop"
duration = "6h"
sample_every = "1h"
[cluster]
cassandra_version = "{version}"
datacenters = [{{ name = "dc1", nodes = 3, rf = 3 }}, {{ name = "dc2", nodes = 4, rf = 2 }}]
[node]
ram = "16GiB"
heap = "auto"
disk = {{ kind = "nvme", size = "1TiB" }}
[settings]
memtable_heap_space = "32MiB"
[schema]
cql = """
CREATE TABLE ks.t (pk int, ck int, v text, s int static, m map<text, text>, PRIMARY KEY (pk, ck))
  WITH compaction = {{'class': '{strategy}'}} AND gc_grace_seconds = {gc_grace} AND default_time_to_live = {ttl};
"""
[tables."ks.t"]
partitions = {{ entities = 300 }}
rows_per_partition = "uniform(1, 50)"
[[workload]]
cql = "INSERT INTO ks.t (pk, ck, v) VALUES (?, ?, ?)"
rate = "{rate}/s"
keys = "{keys}"
clustering = "{pattern}"
nulls = {{ v = 0.2 }}
[[workload]]
cql = "{delete}"
rate = "{drate}/s"
target = "{target}"
delay = "exp(5m)"
[[workload]]
cql = "UPDATE ks.t SET m = ? WHERE pk = ? AND ck = ?"
rate = "5/s"
[[workload]]
cql = "SELECT * FROM ks.t WHERE pk = ? LIMIT 20"
rate = "20/s"
keys = "{keys}"
consistency = "{consistency}"
"#,
        drate = rate / 2
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_scenarios_simulate_with_finite_figures_and_repeat_exactly(
        strategy in prop::sample::select(vec!["SizeTieredCompactionStrategy", "LeveledCompactionStrategy", "TimeWindowCompactionStrategy", "UnifiedCompactionStrategy"]),
        version in prop::sample::select(vec!["3.11", "4.0", "4.1", "5.0"]),
        ttl in prop::sample::select(vec![0u32, 600, 7200]),
        gc_grace in prop::sample::select(vec![0u32, 1800, 864000]),
        keys in prop::sample::select(vec!["uniform", "zipf(1.2)", "latest", "sequential"]),
        pattern in prop::sample::select(vec!["increasing", "random"]),
        delete in prop::sample::select(vec![
            "DELETE FROM ks.t WHERE pk = ? AND ck = ?",
            "DELETE FROM ks.t WHERE pk = ?",
            "DELETE FROM ks.t WHERE pk = ? AND ck < ?",
            "DELETE v FROM ks.t WHERE pk = ? AND ck = ?",
            "DELETE m['k'] FROM ks.t WHERE pk = ? AND ck = ?",
        ]),
        target in prop::sample::select(vec!["oldest", "newest", "random"]),
        consistency in prop::sample::select(vec!["ONE", "LOCAL_QUORUM", "QUORUM", "EACH_QUORUM", "ALL"]),
        rate in 1u32..2000,
    ) {
        let mut strategy = strategy;
        if strategy == "UnifiedCompactionStrategy" && version != "5.0" {
            strategy = "SizeTieredCompactionStrategy";
        }
        let text = scenario(&Knobs { strategy, version, ttl, gc_grace, keys, pattern, delete, target, consistency, rate });
        let s = Scenario::from_str(&text, Path::new("prop.toml"), &BTreeMap::new(), &[]).expect("valid scenario");
        let (run, summary) = cassim::sim::run(&s, 9, true, &|_, _| {});
        let json = serde_json::to_string(&summary).unwrap();
        for node in &run.nodes {
            for sample in &node.samples {
                for v in sample.csv_values().iter().skip(3) {
                    if let Ok(x) = v.parse::<f64>() {
                        prop_assert!(x.is_finite() && x >= 0.0, "{v} in {:?}", sample);
                    }
                }
            }
        }
        let (_, again) = cassim::sim::run(&s, 9, false, &|_, _| {});
        prop_assert_eq!(json, serde_json::to_string(&again).unwrap());
    }
}
