//! Findings of a run, in Cassandra's words, with the simulated time they start: reads over
//! tombstone_warn_threshold and tombstone_failure_threshold, large partitions written, disks
//! filling up, compaction falling behind.

use std::collections::BTreeMap;

use super::summary::TableSummary;
use super::RunResult;
use crate::check::{finding, Finding, Severity};
use crate::scenario::Scenario;
use crate::units::{format_bytes, format_count, format_day as day};

pub fn findings(
    scenario: &Scenario,
    run: &RunResult,
    tables: &BTreeMap<String, TableSummary>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let warn = scenario
        .settings
        .number("tombstone_warn_threshold")
        .unwrap_or(crate::defaults::TOMBSTONE_WARN_THRESHOLD as f64);
    let fail = scenario
        .settings
        .number("tombstone_failure_threshold")
        .unwrap_or(crate::defaults::TOMBSTONE_FAILURE_THRESHOLD as f64);
    for (name, t) in tables {
        let table = Some(name.as_str());
        if let Some(at) = t.first_failure_s {
            out.push(finding(Severity::Error, "tombstone_failure_threshold", table, Some(at), format!(
                "from {}: reads scan over {} tombstones and abort (TombstoneOverwhelmingException, \"Scanned over {} tombstones ... query aborted\"); {} client reads fail over the run",
                day(at), format_count(fail), format_count(fail + 1.0), format_count(t.failed_reads))));
        }
        if let Some(at) = t.first_warning_s {
            out.push(finding(Severity::Warn, "tombstone_warn_threshold", table, Some(at), format!(
                "from {}: reads pass more than {} tombstones (\"Read N live rows and M tombstone cells ... (see tombstone_warn_threshold)\"); worst sample p99 {} per read, {} warned client reads",
                day(at), format_count(warn), format_count(t.tombstones_per_read.p99), format_count(t.warned_reads))));
        }
        if t.max_sstable_partition_bytes > crate::defaults::LARGE_PARTITION_WARN_BYTES {
            let at = run
                .nodes
                .iter()
                .flat_map(|n| n.tables.iter())
                .filter(|x| &x.table == name)
                .filter_map(|x| x.first_large_partition_s)
                .fold(f64::INFINITY, f64::min);
            out.push(finding(Severity::Warn, "large_partition", table, at.is_finite().then_some(at), format!(
                "\"Writing large partition\": a partition of {} went into one sstable, over compaction_large_partition_warning_threshold (100 MiB)",
                format_bytes(t.max_sstable_partition_bytes))));
        }
        backlog(run, name, &mut out);
    }
    disk(scenario, run, &mut out);
    sort(&mut out);
    out
}

/// Errors first, then by the time they start, then by code.
pub fn sort(out: &mut [Finding]) {
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(
                a.at_s
                    .unwrap_or(f64::INFINITY)
                    .total_cmp(&b.at_s.unwrap_or(f64::INFINITY)),
            )
            .then(a.code.cmp(&b.code))
    });
}

/// Compaction falls behind when sstables keep piling up: the count at the end is at least twice
/// the count at mid-run and above what the strategies hold in steady state (assumed: 64).
fn backlog(run: &RunResult, table: &str, out: &mut Vec<Finding>) {
    for node in &run.nodes {
        let series: Vec<(f64, f64)> = node
            .samples
            .iter()
            .filter(|s| s.table == table)
            .map(|s| (s.t_s, s.sstables))
            .collect();
        let (Some(mid), Some(last)) = (series.get(series.len() / 2), series.last()) else {
            continue;
        };
        if last.1 > 64.0 && last.1 >= 2.0 * mid.1 {
            out.push(finding(Severity::Warn, "compaction_backlog", Some(table), Some(mid.0), format!(
                "compaction falls behind on {}: {} sstables at {} and {} at the end; pending compactions keep growing (raise compaction_throughput or concurrent_compactors, or revisit the strategy)",
                node.share.name, format_count(mid.1), day(mid.0), format_count(last.1))));
            return;
        }
    }
}

/// Data on a node beyond its disk.
fn disk(scenario: &Scenario, run: &RunResult, out: &mut Vec<Finding>) {
    let size = scenario.node.disk.size_bytes;
    for node in &run.nodes {
        let by_time = crate::metrics::sum_by_time(&node.samples, |s| s.disk_bytes);
        if let Some((t, bytes)) = by_time.iter().find(|(_, b)| *b > size) {
            out.push(finding(
                Severity::Error,
                "disk_full",
                None,
                Some(*t),
                format!(
                    "from {}: {} of sstables on {} exceed its {} disk",
                    day(*t),
                    format_bytes(*bytes),
                    node.share.name,
                    format_bytes(size)
                ),
            ));
            return;
        }
    }
}
