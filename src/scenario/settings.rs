//! The `[settings]` section: cassandra.yaml overrides under their cassandra.yaml names, each parsed by
//! its kind (size, duration, byte rate, count, ratio, choice). Defaults live in `defaults`.

use std::collections::BTreeMap;

use super::reader::{closest, Obj, Result};
use crate::units;

/// What kind of value a setting takes.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Size,
    Duration,
    Throughput,
    Count,
    Ratio,
    Choice(&'static [&'static str]),
}

const MIB: f64 = 1024.0 * 1024.0;
/// A petabyte: more than any node's disk or memory, so no size multiplies into infinity.
const PIB: f64 = MIB * MIB * 1024.0;

/// The values a setting may take: what Cassandra accepts where it checks (`DatabaseDescriptor`),
/// and what a node can have where it does not, so that no setting turns a figure infinite or NaN.
fn bounds(key: &str, kind: Kind) -> (f64, f64) {
    match key {
        // A memtable space of 0 or 1 B flushes at every write.
        "memtable_heap_space" | "commitlog_total_space" => (MIB, PIB),
        // DatabaseDescriptor: a segment is positive and below 2 GiB.
        "commitlog_segment_size" => (MIB, 2048.0 * MIB - 1.0),
        "column_index_size" => (1024.0, 2048.0 * MIB),
        // A ratio of 0 flushes continually; DatabaseDescriptor wants it in (0.01, 0.99].
        "memtable_cleanup_threshold" => (0.01, 0.99),
        // Executors need a thread (DatabaseDescriptor: concurrent_compactors and the flush
        // writers are positive; concurrent_reads, writes and counter writes at least 2).
        "concurrent_compactors" | "memtable_flush_writers" => (1.0, 1024.0),
        "concurrent_reads" | "concurrent_writes" | "concurrent_counter_writes" => (2.0, 65536.0),
        _ => match kind {
            Kind::Size => (0.0, PIB),
            // Timeouts and periods of a millisecond to a day.
            Kind::Duration => (1e-3, 86_400.0),
            // 0 is unthrottled.
            Kind::Throughput => (0.0, PIB),
            Kind::Count => (0.0, i32::MAX as f64),
            Kind::Ratio => (0.0, 1.0),
            Kind::Choice(_) => (0.0, 0.0),
        },
    }
}

fn format_throughput(bytes_per_s: f64) -> String {
    format!("{}/s", units::format_bytes(bytes_per_s))
}

/// Settings cassim reads, by their cassandra.yaml (4.1+) names.
const KNOWN: &[(&str, Kind)] = &[
    ("memtable_heap_space", Kind::Size),
    ("memtable_offheap_space", Kind::Size),
    (
        "memtable_allocation_type",
        Kind::Choice(&[
            "heap_buffers",
            "offheap_buffers",
            "offheap_objects",
            "unslabbed_heap_buffers",
            "unslabbed_heap_buffers_logged",
        ]),
    ),
    ("memtable_cleanup_threshold", Kind::Ratio),
    ("memtable_flush_writers", Kind::Count),
    ("commitlog_total_space", Kind::Size),
    ("commitlog_segment_size", Kind::Size),
    (
        "commitlog_sync",
        Kind::Choice(&["periodic", "batch", "group"]),
    ),
    ("commitlog_sync_period", Kind::Duration),
    ("compaction_throughput", Kind::Throughput),
    ("stream_throughput_outbound", Kind::Throughput),
    ("concurrent_compactors", Kind::Count),
    ("concurrent_reads", Kind::Count),
    ("concurrent_writes", Kind::Count),
    ("concurrent_counter_writes", Kind::Count),
    ("tombstone_warn_threshold", Kind::Count),
    ("tombstone_failure_threshold", Kind::Count),
    ("column_index_size", Kind::Size),
    ("column_index_cache_size", Kind::Size),
    ("key_cache_size", Kind::Size),
    ("counter_cache_size", Kind::Size),
    ("row_cache_size", Kind::Size),
    ("file_cache_size", Kind::Size),
    ("index_summary_capacity", Kind::Size),
    ("compaction_large_partition_warning_threshold", Kind::Size),
    ("read_request_timeout", Kind::Duration),
    ("write_request_timeout", Kind::Duration),
    ("range_request_timeout", Kind::Duration),
    ("batch_size_warn_threshold", Kind::Size),
    ("batch_size_fail_threshold", Kind::Size),
    (
        "disk_access_mode",
        Kind::Choice(&["auto", "mmap", "mmap_index_only", "standard", "legacy"]),
    ),
];

/// Pre-4.1 names and their 4.1 equivalents, for the hint.
const RENAMED: &[(&str, &str)] = &[
    ("memtable_heap_space_in_mb", "memtable_heap_space"),
    ("memtable_offheap_space_in_mb", "memtable_offheap_space"),
    ("commitlog_total_space_in_mb", "commitlog_total_space"),
    ("commitlog_segment_size_in_mb", "commitlog_segment_size"),
    ("compaction_throughput_mb_per_sec", "compaction_throughput"),
    ("column_index_size_in_kb", "column_index_size"),
    ("column_index_cache_size_in_kb", "column_index_cache_size"),
    ("key_cache_size_in_mb", "key_cache_size"),
    ("file_cache_size_in_mb", "file_cache_size"),
    (
        "compaction_large_partition_warning_threshold_mb",
        "compaction_large_partition_warning_threshold",
    ),
    ("read_request_timeout_in_ms", "read_request_timeout"),
    (
        "stream_throughput_outbound_megabits_per_sec",
        "stream_throughput_outbound",
    ),
    ("write_request_timeout_in_ms", "write_request_timeout"),
];

/// A setting's value, in base units (bytes, seconds, bytes/s) or as given.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum SettingValue {
    Number(f64),
    Text(String),
}

/// cassandra.yaml overrides from `[settings]`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Settings {
    pub values: BTreeMap<String, SettingValue>,
}

impl Settings {
    pub fn number(&self, name: &str) -> Option<f64> {
        match self.values.get(name) {
            Some(SettingValue::Number(n)) => Some(*n),
            _ => None,
        }
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        match self.values.get(name) {
            Some(SettingValue::Text(s)) => Some(s),
            _ => None,
        }
    }

    pub fn read(obj: &Obj) -> Result<Settings> {
        let mut values = BTreeMap::new();
        for (key, value) in obj.table {
            let Some((_, kind)) = KNOWN.iter().find(|(k, _)| k == key) else {
                let names: Vec<&str> = KNOWN.iter().map(|(k, _)| *k).collect();
                let hint = match RENAMED.iter().find(|(old, _)| old == key) {
                    Some((_, new)) => format!("cassim uses the 4.1+ name `{new}`, with a unit"),
                    None => match closest(key, &names) {
                        Some(c) => format!("did you mean `{c}`?"),
                        None => format!("settings cassim reads: {}", names.join(", ")),
                    },
                };
                return Err(obj.error(key, Some(value), "unknown setting", hint));
            };
            let (min, max) = bounds(key, *kind);
            let parsed = match kind {
                Kind::Size => obj
                    .unit_in(key, units::parse_size, (min, max), units::format_bytes)?
                    .map(SettingValue::Number),
                Kind::Duration => obj
                    .unit_in(
                        key,
                        units::parse_duration,
                        (min, max),
                        units::format_duration,
                    )?
                    .map(SettingValue::Number),
                Kind::Throughput => obj
                    .unit_in(key, units::parse_throughput, (min, max), format_throughput)?
                    .map(SettingValue::Number),
                Kind::Count => obj
                    .int(key, min as i64, max as i64)?
                    .map(|n| SettingValue::Number(n as f64)),
                Kind::Ratio => obj.float(key, min, max)?.map(SettingValue::Number),
                Kind::Choice(choices) => {
                    let s = obj.str(key)?.unwrap_or_default();
                    if !choices.contains(&s) {
                        return Err(obj.error(
                            key,
                            Some(value),
                            "is not one of the allowed values",
                            format!("use one of: {}", choices.join(", ")),
                        ));
                    }
                    Some(SettingValue::Text(s.to_string()))
                }
            };
            if let Some(v) = parsed {
                values.insert(key.clone(), v);
            }
        }
        Ok(Settings { values })
    }
}
