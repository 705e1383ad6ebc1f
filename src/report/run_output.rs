//! The outputs of `cassim run` (DESIGN.md 4): `summary.json`, `timeseries.csv` and the short
//! terminal summary with a `nodetool tablehistograms`-style table per table.

use crate::metrics::{format_number, TIMESERIES_COLUMNS};
use crate::sim::{RunResult, Summary};
use crate::units::{format_bytes, format_count, format_duration};

/// `summary.json`.
pub fn summary_json(summary: &Summary) -> String {
    serde_json::to_string_pretty(summary).unwrap_or_default() + "\n"
}

/// `timeseries.csv`: one row per sample, simulated node and table.
pub fn timeseries_csv(run: &RunResult) -> String {
    let mut out = TIMESERIES_COLUMNS.join(",");
    out.push('\n');
    for node in &run.nodes {
        for s in &node.samples {
            let row: Vec<String> = s.csv_values().into_iter().map(csv_field).collect();
            out.push_str(&row.join(","));
            out.push('\n');
        }
    }
    out
}

/// `queries.csv`: one row per sample, simulated node and workload statement, with its latency
/// percentiles in milliseconds (empty and `overloaded` = 1 when the node's stage was overloaded).
pub fn queries_csv(run: &RunResult, scenario: &crate::scenario::Scenario) -> String {
    let mut out = String::from(
        "t_s,node,query,kind,table,latency_p50_ms,latency_p75_ms,latency_p95_ms,latency_p98_ms,latency_p99_ms,latency_max_ms,overloaded\n",
    );
    for node in &run.nodes {
        for (t, op, l) in &node.query_latency {
            let Some(o) = scenario.workload.get(*op) else {
                continue;
            };
            let (kind, table) = match (&o.read, o.writes.first()) {
                (Some(r), _) => ("read", r.table.as_str()),
                (None, Some(w)) => ("write", w.table.as_str()),
                (None, None) => continue,
            };
            let ms = |f: fn(&crate::latency::LatencyMs) -> f64| {
                l.as_ref()
                    .map(|l| format!("{:.3}", f(l)))
                    .unwrap_or_default()
            };
            let row = [
                format_number(*t),
                node.share.name.clone(),
                o.name.clone(),
                kind.to_string(),
                table.to_string(),
                ms(|l| l.p50),
                ms(|l| l.p75),
                ms(|l| l.p95),
                ms(|l| l.p98),
                ms(|l| l.p99),
                ms(|l| l.max),
                if l.is_none() { "1".into() } else { "0".into() },
            ];
            let row: Vec<String> = row.into_iter().map(csv_field).collect();
            out.push_str(&row.join(","));
            out.push('\n');
        }
    }
    out
}

fn csv_field(s: String) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The terminal summary: findings first, then per table what `nodetool tablehistograms` and
/// `tablestats` would show at the end, and where the outputs went.
pub fn render_run(summary: &Summary, written: &[String]) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "cassim run: {} (seed {}, Cassandra {}, {} simulated)\n\n",
        summary.scenario,
        summary.seed,
        summary.cassandra_version,
        format_duration(summary.duration_s)
    ));
    if summary.findings.is_empty() {
        out.push_str("Findings: none\n\n");
    } else {
        out.push_str("Findings:\n");
        for f in &summary.findings {
            let table = f
                .table
                .as_deref()
                .map(|t| format!(" {t}:"))
                .unwrap_or_default();
            out.push_str(
                &format!("  [{:?}] {}{} {}\n", f.severity, f.code, table, f.message)
                    .to_lowercase_first(),
            );
        }
        out.push('\n');
    }
    for (name, t) in &summary.tables {
        out.push_str(&format!("{name}  (per node at the end)\n"));
        out.push_str(&format!(
            "  partitions {}  live rows {}  sstables {}  disk {}  tombstones {} (cell {}, row {}, range {}, partition {}, expired {})\n",
            format_count(t.partitions),
            format_count(t.live_rows),
            format_count(t.sstables),
            format_bytes(t.disk_bytes),
            format_count(t.tombstones.total()),
            format_count(t.tombstones.cell),
            format_count(t.tombstones.row),
            format_count(t.tombstones.range),
            format_count(t.tombstones.partition),
            format_count(t.tombstones.expired),
        ));
        out.push_str(
            "  Percentile  SSTables  Tombstones/read  Cells scanned  Partition Size  Cell Count\n",
        );
        for (label, pick) in [("50%", 0), ("99%", 1), ("Max", 2)] {
            let p = |x: &crate::metrics::Percentiles| [x.p50, x.p99, x.max][pick];
            out.push_str(&format!(
                "  {:<10}  {:>8}  {:>15}  {:>13}  {:>14}  {:>10}\n",
                label,
                format_number(p(&t.sstables_per_read)),
                format_number(p(&t.tombstones_per_read)),
                format_number(p(&t.cells_scanned_per_read)),
                format_bytes(p(&t.partition_bytes)),
                format_number(p(&t.partition_rows)),
            ));
        }
        out.push_str(&format!(
            "  flushes {}  compactions {}  compacted {}  warned reads {}  failed reads {}\n\n",
            format_count(t.flushes),
            format_count(t.compactions),
            format_bytes(t.bytes_compacted),
            format_count(t.warned_reads),
            format_count(t.failed_reads),
        ));
    }
    for q in &summary.queries {
        render_query(&mut out, q);
    }
    render_memory(&mut out, summary);
    render_sizing(&mut out, &summary.sizing);
    for note in &summary.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    if !written.is_empty() {
        out.push_str("\nWritten:\n");
        for w in written {
            out.push_str(&format!("  {w}\n"));
        }
    }
    out
}

/// Each node's heap, GC and off-heap memory, and its verdict with the reason.
fn render_memory(out: &mut String, summary: &Summary) {
    for n in &summary.nodes {
        out.push_str(&format!(
            "Memory on {}: heap {} ({}), live set peak {}, GC paused {:.1} % of the time (worst sample {:.1} %), {} flushes per hour\n",
            n.name,
            format_bytes(n.jvm.heap_bytes),
            n.jvm.collector.name(),
            format_bytes(n.peak_live_bytes),
            100.0 * n.gc_pause_fraction,
            100.0 * n.gc_pause_fraction_max,
            format_count(n.flushes_per_hour),
        ));
        let o = &n.offheap_bytes;
        out.push_str(&format!(
            "  off heap {}: bloom filters {}, index summaries {}, compression metadata {}, memtables {}, chunk cache {}; page cache {}\n",
            format_bytes(o.total()),
            format_bytes(o.bloom_filter),
            format_bytes(o.index_summary),
            format_bytes(o.compression_metadata),
            format_bytes(o.memtable),
            format_bytes(o.chunk_cache),
            format_bytes(n.page_cache_bytes),
        ));
        let since = n
            .verdict_at_s
            .map(|t| format!(" from {}", crate::units::format_day(t)))
            .unwrap_or_default();
        out.push_str(&format!(
            "  verdict: {}{}: {}\n",
            n.verdict.word(),
            since,
            n.verdict_reason
        ));
    }
    match summary.node.smallest_healthy_heap_bytes {
        Some(h) => out.push_str(&format!(
            "  smallest healthy heap: {} (runs of the scenario at the heap sizes operators use, up to half the RAM)\n\n",
            format_bytes(h)
        )),
        None => out.push_str(
            "  smallest healthy heap: none up to half the RAM; the verdict does not come from the heap alone\n\n",
        ),
    }
}

/// The sizing: each datacenter's limits with the nodes each needs, then the recommendation.
pub fn render_sizing(out: &mut String, s: &crate::sizing::Sizing) {
    if s.datacenters.is_empty() {
        return;
    }
    out.push_str(
        "Sizing (nodes each limit needs per datacenter, scaled from this run):
",
    );
    for d in &s.datacenters {
        out.push_str(&format!(
            "  {} ({} nodes, RF {}): needs {}, bound by {}
",
            d.name, d.nodes, d.rf, d.nodes_needed, d.binding_constraint
        ));
        for c in &d.constraints {
            out.push_str(&format!(
                "    {}
",
                crate::sizing::cluster::describe(c)
            ));
        }
    }
    out.push_str(
        "  recommendation:
",
    );
    for line in &s.recommendation {
        out.push_str(&format!(
            "    {line}
"
        ));
    }
    if s.cross_dc_bytes_per_s > 0.0 {
        out.push_str(&format!(
            "    cross-DC replication: {}/s
",
            format_bytes(s.cross_dc_bytes_per_s)
        ));
    }
    for (t, w) in s.write_amplification.iter().filter(|(_, w)| **w > 1.0) {
        out.push_str(&format!(
            "    {t}: {w:.2} rows written per row (views and indexes)
"
        ));
    }
    out.push('\n');
}

/// `cassim size`: the candidates with their binding constraint, then the recommendation.
pub fn render_size(r: &crate::sizing::search::SizeReport, written: &[String]) -> String {
    let mut out = format!(
        "cassim size: {} (seed {})\n\nEstimate from the scenario's run:\n",
        r.scenario, r.seed
    );
    for line in &r.estimate.recommendation {
        out.push_str(&format!("  {line}\n"));
    }
    out.push_str(&format!(
        "\nCandidates (nodes per datacenter: {}):\n  {:<14} {:>9} {:<17} {:>11}  {}\n",
        r.datacenters.join(", "),
        "nodes",
        "heap",
        "verdict",
        "disk/node",
        "binding constraint"
    ));
    for (k, c) in r.candidates.iter().enumerate() {
        let nodes: Vec<String> = c.nodes.iter().map(|n| n.to_string()).collect();
        let what = if c.meets {
            format!("meets every limit (set by {})", c.binding_constraint)
        } else {
            format!("fails {}", c.unmet.join(", "))
        };
        out.push_str(&format!(
            "  {:<14} {:>9} {:<17} {:>11}  {}{}\n",
            nodes.join(" + "),
            format_bytes(c.heap_bytes),
            c.verdict,
            format_bytes(c.disk_per_node_bytes),
            what,
            if Some(k) == r.recommended {
                "  <- recommended"
            } else {
                ""
            }
        ));
    }
    out.push('\n');
    match r.recommended.map(|k| (k, &r.candidates[k])) {
        Some((k, c)) => {
            let nodes: Vec<String> = r
                .datacenters
                .iter()
                .zip(&c.nodes)
                .map(|(d, n)| format!("{n} nodes in {d}"))
                .collect();
            let heap = match (c.sizing.heap_bytes, c.sizing.smallest_healthy_heap_bytes) {
                (Some(h), Some(smallest)) => format!(
                    "heap {} (healthy from {}, a step of margin; ran at {})",
                    format_bytes(h),
                    format_bytes(smallest),
                    format_bytes(c.heap_bytes)
                ),
                _ => format!("heap {}", format_bytes(c.heap_bytes)),
            };
            out.push_str(&format!(
                "Recommendation: {}, {heap}: every limit met; the nearest is {}\n",
                nodes.join(", "),
                c.binding_constraint
            ));
            if let Some(smaller) = k.checked_sub(1).map(|j| &r.candidates[j]) {
                let n: Vec<String> = smaller.nodes.iter().map(|n| n.to_string()).collect();
                out.push_str(&format!(
                    "  the next smaller candidate ({}) fails {}\n",
                    n.join(" + "),
                    smaller.unmet.join(", ")
                ));
            }
            for d in &c.sizing.datacenters {
                let n = &d.node;
                out.push_str(&format!(
                    "  {} per node: disk {} of {} usable (sstables {}, compaction headroom {}, commit log {}, snapshots {}); RAM {} for heap, off-heap and reserve, {} with the hot data cached, of {}; {} open files (nofile {}); a replacement streams {} in {}\n",
                    d.name,
                    format_bytes(n.disk.total_bytes),
                    format_bytes(n.disk.usable_bytes),
                    format_bytes(n.disk.sstables_bytes),
                    format_bytes(n.disk.compaction_headroom_bytes),
                    format_bytes(n.disk.commitlog_bytes),
                    format_bytes(n.disk.snapshot_bytes),
                    format_bytes(n.ram.total_bytes - n.ram.page_cache_wanted_bytes),
                    format_bytes(n.ram.total_bytes),
                    format_bytes(n.ram.ram_bytes),
                    format_count(n.open_files.total),
                    format_count(n.open_files.nofile),
                    format_bytes(n.stream.bytes),
                    crate::units::format_span(n.stream.time_s),
                ));
            }
            if c.sizing.cross_dc_bytes_per_s > 0.0 {
                out.push_str(&format!(
                    "  cross-DC replication: {}/s\n",
                    format_bytes(c.sizing.cross_dc_bytes_per_s)
                ));
            }
        }
        None => out.push_str(
            "No candidate meets every limit: see the failing limits above (a bigger node, more disk or RAM, or a different schema)\n",
        ),
    }
    if !written.is_empty() {
        out.push_str("\nWritten:\n");
        for w in written {
            out.push_str(&format!("  {w}\n"));
        }
    }
    out
}

/// One query's `nodetool tablehistograms`-style table: latencies in microseconds, sizes in bytes.
pub(super) fn render_query(out: &mut String, q: &crate::sim::QuerySummary) {
    out.push_str(&format!("{} ({} on {})\n", q.name, q.kind, q.table));
    if q.overloaded_samples > 0 {
        out.push_str(&format!(
            "  overloaded in {} samples: the node's stage queue grows without bound, latency is not a number\n",
            q.overloaded_samples
        ));
    }
    out.push_str("  Percentile  SSTables     Write Latency      Read Latency    Partition Size        Cell Count\n");
    out.push_str("                              (micros)          (micros)           (bytes)\n");
    let us = |x: Option<f64>| x.map(|v| format!("{v:.2}")).unwrap_or_else(|| "-".into());
    for r in &q.tablehistograms {
        out.push_str(&format!(
            "  {:<10}  {:>8}  {:>16}  {:>16}  {:>16}  {:>16}\n",
            r.percentile,
            format_number(r.sstables),
            us(r.write_latency_us),
            us(r.read_latency_us),
            format_number(r.partition_size_bytes),
            format_number(r.cell_count),
        ));
    }
    out.push('\n');
}

trait LowerFirst {
    fn to_lowercase_first(self) -> String;
}

impl LowerFirst for String {
    /// Severity tags print in lower case (`[warn]`), the rest as written.
    fn to_lowercase_first(self) -> String {
        match self.find(']') {
            Some(i) => self[..i].to_lowercase() + &self[i..],
            None => self,
        }
    }
}
