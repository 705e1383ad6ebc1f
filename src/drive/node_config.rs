//! What a real node needs to run a scenario: its `[settings]` as cassandra.yaml (5.0) entries, each
//! rendered in a unit Cassandra accepts for that setting, and the JVM heap by the same rule the
//! simulation uses (`heap::Jvm`). `validation/cassandra start --scenario` writes them into the
//! node's cassandra.yaml, so the simulated and the real node start from one definition.

use std::collections::BTreeMap;

use crate::scenario::{Scenario, SettingValue};

/// The smallest unit Cassandra 5.0 takes for a size setting (`DataStorageSpec` bounds in
/// `Config.java`): memtable and commit log spaces and caches are in MiB, the column index in KiB.
fn size_unit(name: &str) -> (&'static str, f64) {
    match name {
        "column_index_size"
        | "column_index_cache_size"
        | "batch_size_warn_threshold"
        | "batch_size_fail_threshold" => ("KiB", 1024.0),
        _ => ("MiB", 1024.0 * 1024.0),
    }
}

/// Settings whose value is a duration (rendered in milliseconds, which every one of them takes).
const DURATIONS: &[&str] = &[
    "commitlog_sync_period",
    "read_request_timeout",
    "write_request_timeout",
    "range_request_timeout",
];

/// Settings whose value is a byte rate (rendered in KiB/s).
const RATES: &[&str] = &["compaction_throughput", "stream_throughput_outbound"];

/// Settings whose value is a size.
const SIZES: &[&str] = &[
    "memtable_heap_space",
    "memtable_offheap_space",
    "commitlog_total_space",
    "commitlog_segment_size",
    "column_index_size",
    "column_index_cache_size",
    "key_cache_size",
    "counter_cache_size",
    "row_cache_size",
    "file_cache_size",
    "index_summary_capacity",
    "compaction_large_partition_warning_threshold",
    "batch_size_warn_threshold",
    "batch_size_fail_threshold",
];

/// A real node's configuration for a scenario.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeConfig {
    /// -Xms and -Xmx, in bytes (the scenario's heap or cassandra-env.sh's rule).
    pub heap_bytes: u64,
    /// Nodes of the first datacenter and its replication factor.
    pub nodes: u32,
    pub rf: u32,
    /// The datacenter's name (the real node's snitch must report it for NetworkTopologyStrategy).
    pub datacenter: String,
    /// cassandra.yaml entries, value as written in the file.
    pub yaml: BTreeMap<String, String>,
}

/// Renders a setting's value (base units) as cassandra.yaml 5.0 writes it.
fn render(name: &str, value: &SettingValue) -> String {
    match value {
        SettingValue::Text(s) => s.clone(),
        SettingValue::Number(n) => {
            if SIZES.contains(&name) {
                let (unit, bytes) = size_unit(name);
                // Rounded up: a space smaller than asked would flush earlier than simulated.
                format!("{}{unit}", (n / bytes).ceil() as u64)
            } else if DURATIONS.contains(&name) {
                format!("{}ms", (n * 1000.0).round() as u64)
            } else if RATES.contains(&name) {
                format!("{}KiB/s", (n / 1024.0).round() as u64)
            } else {
                format!("{}", n.round() as u64)
            }
        }
    }
}

/// The configuration of the real node(s) that play a scenario.
pub fn node_config(scenario: &Scenario) -> NodeConfig {
    let jvm = crate::heap::Jvm::of(scenario);
    let dc = &scenario.cluster.datacenters[0];
    let yaml = scenario
        .settings
        .values
        .iter()
        .map(|(k, v)| (k.clone(), render(k, v)))
        .collect();
    NodeConfig {
        heap_bytes: jvm.heap_bytes.round() as u64,
        nodes: dc.nodes,
        rf: dc.rf,
        datacenter: dc.name.clone(),
        yaml,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_durations_and_rates_take_cassandras_units() {
        let mib = 1024.0 * 1024.0;
        let n = SettingValue::Number;
        assert_eq!(render("memtable_heap_space", &n(64.0 * mib)), "64MiB");
        assert_eq!(render("memtable_heap_space", &n(1e6)), "1MiB");
        assert_eq!(render("column_index_size", &n(4096.0)), "4KiB");
        assert_eq!(render("commitlog_sync_period", &n(10.0)), "10000ms");
        assert_eq!(
            render("compaction_throughput", &n(64.0 * mib)),
            "65536KiB/s"
        );
        assert_eq!(render("tombstone_warn_threshold", &n(1000.0)), "1000");
        let t = SettingValue::Text("offheap_objects".into());
        assert_eq!(render("memtable_allocation_type", &t), "offheap_objects");
    }
}
