//! The terminal form of `cassim check`: a block per table, then the findings.

use std::fmt::Write;

use crate::check::{CheckReport, Severity};
use crate::units::{format_bytes, format_count, format_duration};

pub fn render_check(r: &CheckReport) -> String {
    let mut s = String::new();
    let duration = r
        .duration_s
        .map(|d| format!(", over {}", format_duration(d)))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "cassim check {} ({}, Cassandra {}{duration})",
        r.input, r.kind, r.cassandra_version
    );
    for t in &r.tables {
        let _ = writeln!(s);
        let view = t
            .view_of
            .as_ref()
            .map(|b| format!("  (materialized view of {b})"))
            .unwrap_or_default();
        let _ = writeln!(s, "{}{view}", t.table);
        let ck = if t.clustering.is_empty() {
            "none".to_string()
        } else {
            t.clustering.join(", ")
        };
        let _ = writeln!(s, "  partition key     ({})", t.partition_key.join(", "));
        let _ = writeln!(s, "  clustering        {ck}");
        let _ = writeln!(s, "  compaction        {}", t.compaction);
        let ttl = match t.ttl_written_s {
            Some(w) if w > 0.0 => format!(", writes expire after {}", format_duration(w)),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "  gc_grace_seconds  {} ({})   default_time_to_live {}{ttl}",
            t.gc_grace_seconds,
            format_duration(t.gc_grace_seconds as f64),
            t.default_time_to_live
        );
        let chunk = t
            .compression_chunk_kib
            .map(|c| format!("{c} KiB chunks"))
            .unwrap_or_else(|| "off".into());
        let _ = writeln!(
            s,
            "  bytes per row     {:.0} B serialized, {:.0} B on disk   (compression {chunk}, bloom_filter_fp_chance {})",
            t.bytes_per_row, t.bytes_per_row_on_disk, t.bloom_filter_fp_chance
        );
        if let Some(p) = &t.projection {
            let _ = writeln!(
                s,
                "  partitions        {} created over the run (each takes writes for {})",
                format_count(p.partitions),
                format_duration(p.active_s)
            );
            let _ = writeln!(s, "  per partition     {:>12} {:>12}", "p50", "max");
            let mut line = |label: &str, p50: String, max: String| {
                let _ = writeln!(s, "    {label:<16}{p50:>12} {max:>12}");
            };
            line("rows", format_count(p.rows_p50), format_count(p.rows_max));
            line(
                "cells (Nv)",
                format_count(p.cells_p50),
                format_count(p.cells_max),
            );
            line(
                "bytes",
                format_bytes(p.bytes_p50),
                format_bytes(p.bytes_max),
            );
            let _ = writeln!(
                s,
                "    on disk         {:>12} {:>12}   (Chebotko St for the max: {})",
                format_bytes(p.bytes_p50 * p.compression_ratio),
                format_bytes(p.bytes_max * p.compression_ratio),
                format_bytes(p.chebotko_bytes_max)
            );
        }
    }
    let _ = writeln!(s);
    if r.findings.is_empty() {
        let _ = writeln!(s, "findings: none");
    } else {
        let _ = writeln!(s, "findings:");
        for f in &r.findings {
            let sev = match f.severity {
                Severity::Error => "error",
                Severity::Warn => "warn ",
                Severity::Info => "info ",
            };
            let table = f
                .table
                .as_ref()
                .map(|t| format!(" {t}:"))
                .unwrap_or_default();
            let _ = writeln!(s, "  {sev} [{}]{table} {}", f.code, f.message);
        }
    }
    let errors = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warns = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Warn)
        .count();
    let _ = writeln!(
        s,
        "\n{} table(s), {errors} error(s), {warns} warning(s)",
        r.tables.len()
    );
    s
}
