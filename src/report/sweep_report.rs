//! The report of a sweep: its comparison charts (`sweep::charts`), a `summary.md` and a
//! self-contained `report.html` with the runs' key outcomes, and the terminal summary.

use super::document::Block;
use crate::scenario::Scenario;
use crate::sweep::Row;
use crate::units::format_bytes;

/// Charts under `charts/<scenario>/`, `summary.md` and `report.html` of a sweep.
pub fn files(
    bases: &[Scenario],
    labels: &[String],
    rows: &[Row],
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut blocks = vec![Block::Heading(1, "cassim sweep".into())];
    let mut charts = Vec::new();
    for (i, s) in bases.iter().enumerate() {
        let mine: Vec<Row> = rows.iter().filter(|r| r.task.file == i).cloned().collect();
        blocks.push(Block::Heading(2, format!("{} ({})", s.name, labels[i])));
        if let Some(sw) = &s.sweep {
            blocks.push(Block::Para(format!(
                "{} variants × {} seeds; swept: {}.",
                crate::sweep::variants(sw).len(),
                sw.replicas.max(1),
                sw.axes
                    .iter()
                    .map(|(p, v)| format!("{p} = [{}]", v.join(", ")))
                    .collect::<Vec<_>>()
                    .join("; ")
            )));
        }
        blocks.push(table(&mine));
        for mut c in crate::sweep::charts(&s.name, &mine) {
            c.file = format!("{}/{}", labels[i], c.file);
            blocks.push(Block::Chart {
                file: c.file.clone(),
                title: c.title.clone(),
            });
            charts.push(c);
        }
    }
    super::documents("cassim sweep", &blocks, &charts)
}

fn table(rows: &[Row]) -> Block {
    let axes: Vec<String> = rows
        .first()
        .map(|r| r.task.values.iter().map(|(p, _)| p.clone()).collect())
        .unwrap_or_default();
    let mut head: Vec<String> = vec!["variant".into(), "seed".into()];
    head.extend(axes.iter().cloned());
    head.extend(
        [
            "p99 read latency (ms)",
            "p99 tombstones per read",
            "peak heap live set",
            "disk per node",
            "largest partition",
            "verdict",
            "nodes needed",
            "report",
        ]
        .map(String::from),
    );
    let body = rows
        .iter()
        .map(|r| {
            let o = &r.outcomes;
            let mut cells = vec![format!("{}", r.task.variant + 1), r.task.seed.to_string()];
            cells.extend(r.task.values.iter().map(|(_, v)| v.clone()));
            let [latency, tombstones, heap, disk] = outcome_cells(o);
            cells.extend([
                latency,
                tombstones,
                heap,
                disk,
                format_bytes(o.max_partition_bytes),
                o.verdict.clone(),
                crate::units::format_count(o.nodes_needed),
                format!("{}/", r.task.dir),
            ]);
            cells
        })
        .collect();
    Block::Table { head, rows: body }
}

/// p99 read latency, p99 tombstones per read, peak heap live set and disk per node, as printed.
fn outcome_cells(o: &crate::sweep::Outcomes) -> [String; 4] {
    [
        o.p99_read_latency_ms
            .map(|x| format!("{x:.2}"))
            .unwrap_or_else(|| "overloaded".into()),
        crate::units::format_count(o.p99_tombstones_per_read),
        format_bytes(o.peak_heap_live_bytes),
        format_bytes(o.disk_per_node_bytes),
    ]
}

/// The terminal summary of a sweep.
pub fn render(rows: &[Row], skipped: usize, written: &[String]) -> String {
    let mut out = format!("cassim sweep: {} runs", rows.len());
    if skipped > 0 {
        out.push_str(&format!(
            " ({skipped} finished by an earlier sweep, kept with --resume)"
        ));
    }
    out.push_str("\n\n");
    out.push_str(&format!(
        "  {:<44} {:>6} {:>14} {:>12} {:>12} {:>12}  {}\n",
        "variant", "seed", "p99 read ms", "tombstones", "heap live", "disk/node", "verdict"
    ));
    for r in rows {
        let values: Vec<String> = r.task.values.iter().map(|(_, v)| v.clone()).collect();
        let [latency, tombstones, heap, disk] = outcome_cells(&r.outcomes);
        out.push_str(&format!(
            "  {:<44} {:>6} {:>14} {:>12} {:>12} {:>12}  {}\n",
            format!("{} {}", r.scenario, values.join(" ")),
            r.task.replica,
            latency,
            tombstones,
            heap,
            disk,
            r.outcomes.verdict
        ));
    }
    if !written.is_empty() {
        out.push_str("\nWritten:\n");
        for w in written {
            out.push_str(&format!("  {w}\n"));
        }
    }
    out
}
