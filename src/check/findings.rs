//! Static findings, in Cassandra's words and with the numbers behind them: what an experienced
//! reviewer flags in a schema and workload before anything runs.

use crate::defaults::{self, CassandraVersion};
use crate::scenario::{Heap, Scenario};
use crate::schema::{ColumnKind, Schema, Strategy, Table};
use crate::units::{format_bytes, format_count, format_duration};

use super::projection::{PartitionProjection, Traffic};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warn,
    Error,
}

/// A finding, as `summary.json` holds them (DESIGN.md section 4).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub code: String,
    pub table: Option<String>,
    /// Simulated second it first holds, when it depends on time.
    pub at_s: Option<f64>,
    pub message: String,
}

pub(crate) fn finding(
    severity: Severity,
    code: &str,
    table: Option<&str>,
    at_s: Option<f64>,
    message: String,
) -> Finding {
    Finding {
        severity,
        code: code.into(),
        table: table.map(str::to_string),
        at_s,
        message,
    }
}

fn day(seconds: f64) -> String {
    format!("day {}", (seconds / 86_400.0).floor() as u64 + 1)
}

/// Findings from the schema alone.
pub fn schema_findings(schema: &Schema, version: CassandraVersion) -> Vec<Finding> {
    let mut out = Vec::new();
    for t in schema.tables.values() {
        let name = t.qualified_name();
        let name = Some(name.as_str());
        match &t.options.compaction.strategy {
            Strategy::Dtcs if version >= CassandraVersion::V4_0 => out.push(finding(Severity::Error, "removed_strategy", name, None,
                format!("DateTieredCompactionStrategy was removed in 4.0; Cassandra {version} rejects this table. Use TimeWindowCompactionStrategy"))),
            Strategy::Dtcs => out.push(finding(Severity::Warn, "deprecated_strategy", name, None,
                "DateTieredCompactionStrategy is deprecated since 3.8; TimeWindowCompactionStrategy replaces it".into())),
            Strategy::Ucs if !version.has_ucs() => out.push(finding(Severity::Error, "unknown_strategy", name, None,
                format!("UnifiedCompactionStrategy needs Cassandra 5.0; {version} does not have it"))),
            _ => {}
        }
        if let Some(base) = &t.view_of {
            out.push(finding(Severity::Warn, "materialized_view", name, None, format!(
                "materialized view of {base}: every base write also writes the view (read-before-write on the base replica), and views are experimental since 4.0 (materialized_views_enabled: false by default)")));
        }
        if t.compact_storage && version >= CassandraVersion::V4_0 {
            out.push(finding(Severity::Error, "compact_storage", name, None, format!(
                "COMPACT STORAGE tables are not supported in Cassandra {version}: run ALTER TABLE … DROP COMPACT STORAGE on 3.x first")));
        }
        if t.options.compaction.strategy == Strategy::Twcs
            && t.options.effective_default_ttl() == 0
            && schema.dml.is_empty()
        {
            out.push(finding(Severity::Info, "twcs_without_default_ttl", name, None,
                "TimeWindowCompactionStrategy without default_time_to_live: unless every write sets USING TTL, old windows never expire".into()));
        }
    }
    for idx in &schema.indexes {
        let Some(t) = schema.table(&idx.table) else {
            continue;
        };
        let Some(col) = t.column(&idx.column) else {
            continue;
        };
        let unique_type = matches!(
            col.ty.to_string().as_str(),
            "uuid" | "timeuuid" | "timestamp"
        );
        if idx.kind == "secondary" && (unique_type || col.kind == ColumnKind::Clustering) {
            out.push(finding(Severity::Warn, "high_cardinality_index", Some(&idx.table), None, format!(
                "secondary index {} on high-cardinality column `{}` ({}): each lookup asks every node and finds about one row; model a table keyed by `{}` instead",
                idx.name, idx.column, col.ty, idx.column)));
        }
    }
    for n in &schema.notes {
        out.push(finding(
            Severity::Info,
            "schema_note",
            None,
            None,
            format!("{}:{}: {}", n.line, n.col, n.message),
        ));
    }
    out
}

/// Findings about one table under the scenario's workload.
pub fn table_findings(
    s: &Scenario,
    table: &Table,
    t: &Traffic,
    p: &PartitionProjection,
) -> Vec<Finding> {
    let name = table.qualified_name();
    let tn = Some(name.as_str());
    let mut out = Vec::new();
    let bucket = s
        .model(&name)
        .and_then(|m| m.partitions.as_ref())
        .and_then(|p| p.bucket_s);
    let deletes = t.row_deletes_per_s + t.range_deletes_per_s + t.partition_deletes_per_s;
    let gc_grace = table.options.effective_gc_grace_seconds() as f64;
    let warn = s
        .settings
        .number("tombstone_warn_threshold")
        .unwrap_or(defaults::TOMBSTONE_WARN_THRESHOLD as f64);
    let fail = s
        .settings
        .number("tombstone_failure_threshold")
        .unwrap_or(defaults::TOMBSTONE_FAILURE_THRESHOLD as f64);
    let large = s
        .settings
        .number("compaction_large_partition_warning_threshold")
        .unwrap_or(defaults::LARGE_PARTITION_WARN_BYTES);

    if t.appended_rows_per_s > 0.0 && bucket.is_none() && t.ttl_s == 0.0 && deletes == 0.0 {
        out.push(finding(Severity::Warn, "unbounded_partition", tn, None, format!(
            "partitions grow without bound: append-only writes with no time bucket, no TTL and no deletes; the hottest partition grows {}/day. Add a time bucket to the partition key",
            format_bytes(p.bytes_per_day_max))));
    }
    if p.bytes_max > large {
        let at = if p.bytes_per_day_max > 0.0 {
            Some((large / p.bytes_per_day_max * 86_400.0).min(s.duration_s))
        } else {
            None
        };
        out.push(finding(Severity::Warn, "large_partition", tn, at, format!(
            "partition projected to {} ({} rows, {} cells), past the {} of compaction_large_partition_warning_threshold (\"Writing large partition\"){}",
            format_bytes(p.bytes_max), format_count(p.rows_max), format_count(p.cells_max), format_bytes(large),
            at.map(|a| format!(" on {}", day(a))).unwrap_or_default())));
    }
    if p.cells_max > defaults::MAX_CELLS_PER_PARTITION {
        out.push(finding(Severity::Error, "cells_limit", tn, None, format!(
            "partition projected to {} cells, past Cassandra's hard limit of 2 billion cells per partition", format_count(p.cells_max))));
    } else if p.cells_max >= 1e6 {
        out.push(finding(Severity::Warn, "wide_partition_reads", tn, None, format!(
            "partition projected to {} cells: reading a whole partition this wide takes seconds (FIELD-REPORT.md item 1 saw it from 1 000 000 cells); page or bound reads with a clustering slice",
            format_count(p.cells_max))));
    }
    if t.cell_tombstones_per_s > 0.0 {
        out.push(finding(Severity::Warn, "null_cell_tombstones", tn, None, format!(
            "writes bind null or remove collection elements: {} cell tombstones per second cluster-wide ({} per day), each kept for gc_grace_seconds ({}) and counted against tombstone_warn_threshold on reads. Leave unset columns out of the INSERT instead of binding null",
            format_count(t.cell_tombstones_per_s), format_count(t.cell_tombstones_per_s * 86_400.0), format_duration(gc_grace))));
    }
    if t.collection_overwrites_per_s > 0.0 {
        out.push(finding(Severity::Warn, "collection_overwrite", tn, None, format!(
            "writes overwrite a non-frozen collection: each write deletes the old collection first, a range tombstone per write ({} per second cluster-wide). Use frozen<…> or append with SET c = c + ?",
            format_count(t.collection_overwrites_per_s))));
    }
    if table.options.compaction.strategy == Strategy::Twcs {
        let window = table.options.compaction.window_seconds().unwrap_or(86_400) as f64;
        if t.ttl_s > 0.0 && t.ttl_s / window > defaults::TWCS_MAX_WINDOWS {
            out.push(finding(Severity::Warn, "twcs_window_count", tn, None, format!(
                "TimeWindowCompactionStrategy keeps {:.0} windows of {} inside the {} TTL; aim for fewer than 50 (compaction_window_size about {})",
                t.ttl_s / window, format_duration(window), format_duration(t.ttl_s), format_duration((t.ttl_s / 30.0).max(3600.0)))));
        }
        if t.ttl_s == 0.0 && t.appended_rows_per_s + t.upserted_rows_per_s > 0.0 {
            out.push(finding(Severity::Warn, "twcs_without_ttl", tn, None,
                "TimeWindowCompactionStrategy on data written without TTL: windows never expire, so sstables only accumulate".into()));
        }
        if deletes > 0.0 {
            out.push(finding(Severity::Warn, "twcs_with_deletes", tn, None,
                "explicit DELETEs on a TimeWindowCompactionStrategy table: tombstones in new windows shadow data in old ones, which blocks dropping fully expired sstables".into()));
        }
        if t.upserted_rows_per_s > 0.0 {
            out.push(finding(Severity::Warn, "twcs_with_overwrites", tn, None,
                "updates of existing rows on a TimeWindowCompactionStrategy table: a row's versions spread across windows and are never compacted together".into()));
        }
    }
    if deletes > 0.0 && gc_grace < 3.0 * 3600.0 && s.cluster.datacenters.iter().any(|d| d.rf > 1) {
        out.push(finding(Severity::Warn, "gc_grace_below_hint_window", tn, None, format!(
            "gc_grace_seconds {} is below max_hint_window (3h): a replica down longer than gc_grace can resurrect deleted data unless repair runs within it",
            table.options.effective_gc_grace_seconds())));
    }
    if table.is_counter_table() && deletes > 0.0 {
        out.push(finding(Severity::Warn, "counter_delete", tn, None,
            "deleting counters: a deleted counter cannot be incremented again until its tombstone is purged".into()));
    }
    out.extend(tombstone_scan(s, table, t, p, warn, fail, gc_grace));
    out
}

/// Tombstones a head read passes: a queue's deletes and expired TTL cells before the first live row
/// (CASSANDRA.md 6.4: counted until gc_grace_seconds has passed).
fn tombstone_scan(
    s: &Scenario,
    table: &Table,
    t: &Traffic,
    p: &PartitionProjection,
    warn: f64,
    fail: f64,
    gc_grace: f64,
) -> Vec<Finding> {
    let name = table.qualified_name();
    let mut out = Vec::new();
    if t.reads_per_s == 0.0 {
        return out;
    }
    let entities = s
        .model(&name)
        .and_then(|m| m.partitions.as_ref())
        .map(|p| p.entities)
        .unwrap_or(1.0);
    let reads_from_head = s
        .workload
        .iter()
        .filter_map(|o| o.read.as_ref())
        .any(|r| r.table == name && !r.point && !r.reversed);
    // Markers per delete: 1 for a row deletion, 2 for a range tombstone (CASSANDRA.md 6.1).
    let per_s = (t.head_deletes_per_s.min(t.row_deletes_per_s)
        + 2.0 * t.head_deletes_per_s.min(t.range_deletes_per_s))
        / entities
        * t.hot_factor;
    let window = gc_grace.min(p.active_s);
    let mut push = |what: &str, rate: f64| {
        if rate <= 0.0 {
            return;
        }
        let peak = rate * window;
        // A projection, not a certainty: warn; the simulation (`cassim run`) counts real failures.
        let (severity, code, limit) = if peak > fail {
            (Severity::Warn, "tombstone_failure_threshold", fail)
        } else if peak > warn {
            (Severity::Warn, "tombstone_warn_threshold", warn)
        } else {
            return;
        };
        let at = limit / rate;
        out.push(finding(severity, code, Some(&name), Some(at), format!(
            "reads from the head of a partition pass {what}: about {} per read after gc_grace_seconds ({}), past {code} ({}) from {}{}",
            format_count(peak), format_duration(gc_grace), limit, day(at),
            if code == "tombstone_failure_threshold" { "; those reads would fail with TombstoneOverwhelmingException" } else { "" })));
    };
    if reads_from_head {
        push("the rows a queue consumer deleted", per_s);
        if t.ttl_s > 0.0 && p.active_s > t.ttl_s {
            let cells = p.cells_p50 / p.rows_p50.max(1.0);
            let expired_per_s = t.appended_rows_per_s / entities * t.hot_factor * cells;
            push("expired TTL cells", expired_per_s);
        }
    }
    out
}

/// Findings about the cluster and node settings.
pub fn scenario_findings(s: &Scenario) -> Vec<Finding> {
    let mut out = Vec::new();
    if s.node.nofile < 100_000 {
        out.push(finding(Severity::Warn, "nofile", None, None, format!(
            "nofile is {}: Cassandra opens several files per sstable and wants at least 100000 (FIELD-REPORT.md item 10: sessions that ignore limits.conf get 1024)",
            s.node.nofile)));
    }
    if let Heap::Bytes(h) = s.node.heap {
        if h > 31.0 * 1024f64.powi(3) {
            out.push(finding(Severity::Warn, "heap_above_compressed_oops", None, None, format!(
                "heap {} is above 31 GiB: the JVM loses compressed oops, so the same objects take more room", format_bytes(h))));
        }
        if s.cluster.cassandra_version < CassandraVersion::V5_0 && h > 14.0 * 1024f64.powi(3) {
            out.push(finding(Severity::Info, "cms_large_heap", None, None, format!(
                "heap {} under CMS (the collector before 5.0): DataStax advises CMS only up to 14 GB and G1 above", format_bytes(h))));
        }
    }
    for op in &s.workload {
        if op.read.as_ref().is_some_and(|r| r.allow_filtering) {
            out.push(finding(Severity::Warn, "allow_filtering", Some(&op.table), None, format!(
                "`{}` uses ALLOW FILTERING: it reads and discards rows across partitions, and its cost grows with the data", op.cql)));
        }
        if op.lwt {
            out.push(finding(Severity::Info, "lightweight_transaction", Some(&op.table), None, format!(
                "`{}` is a lightweight transaction: four Paxos round trips at SERIAL consistency", op.cql)));
        }
    }
    for t in s.schema.tables.values() {
        let name = t.qualified_name();
        let written = s
            .workload
            .iter()
            .any(|o| o.writes.iter().any(|w| w.table == name));
        if written && s.model(&name).and_then(|m| m.partitions.as_ref()).is_none() {
            out.push(finding(Severity::Info, "no_population", Some(&name), None,
                "no [tables] partitions entry: every write is taken to hit one partition; give partitions = { entities = N } for realistic widths".into()));
        }
    }
    out
}
