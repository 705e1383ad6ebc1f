//! The two engines side by side (`cassim run --reference` and the agreement suite): each table's
//! compared quantities (live rows, tombstones by kind, sstables, sstables and tombstones per read)
//! as means over the steady state, and the reference engine's samples as CSV.

use super::RefSample;
use crate::metrics::{Percentiles, TableSample};
use crate::scenario::Scenario;
use crate::sim::RunResult;

/// One quantity's steady-state mean in each engine.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Quantity {
    pub what: &'static str,
    pub reference: f64,
    pub aggregated: f64,
}

impl Quantity {
    /// The gap relative to the larger of the two (0 when both are 0).
    pub fn gap(&self) -> f64 {
        let scale = self.reference.abs().max(self.aggregated.abs());
        if scale > 0.0 {
            (self.reference - self.aggregated).abs() / scale
        } else {
            0.0
        }
    }
}

/// One table's comparison, over its samples from `from_s` on.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Comparison {
    pub table: String,
    pub from_s: f64,
    pub samples: usize,
    pub quantities: Vec<Quantity>,
}

/// Both engines' runs of a scenario with one seed.
pub struct BothRuns {
    pub reference: Vec<RefSample>,
    pub aggregated: RunResult,
}

/// Runs the reference engine, then the aggregated one, on `scenario` with `seed`.
pub fn run_both(
    scenario: &Scenario,
    seed: u64,
    progress: &dyn Fn(f64, f64),
) -> Result<BothRuns, String> {
    let reference = super::run(scenario, seed, progress)?;
    let aggregated = crate::sim::simulate(scenario, seed, false, &|_, _| {});
    Ok(BothRuns {
        reference,
        aggregated,
    })
}

/// Per table, the means of every compared quantity over the samples from index `steady` on
/// (the first node of the aggregated run, the one the reference engine runs).
pub fn compare(runs: &BothRuns, steady: usize) -> Vec<Comparison> {
    let mut tables: Vec<String> = Vec::new();
    for r in &runs.reference {
        if !tables.contains(&r.table) {
            tables.push(r.table.clone());
        }
    }
    tables
        .iter()
        .map(|table| {
            let r: Vec<&RefSample> = runs
                .reference
                .iter()
                .filter(|x| &x.table == table)
                .collect();
            let a: Vec<&TableSample> = runs.aggregated.nodes[0]
                .samples
                .iter()
                .filter(|x| &x.table == table)
                .collect();
            compare_table(table, &r, &a, steady)
        })
        .collect()
}

fn compare_table(table: &str, r: &[&RefSample], a: &[&TableSample], steady: usize) -> Comparison {
    let n = r.len().min(a.len());
    let steady = steady.min(n.saturating_sub(1));
    let count = (n - steady).max(1) as f64;
    let mean = |f: &dyn Fn(usize) -> f64| (steady..n).map(f).sum::<f64>() / count;
    let p50 = |v: &[f64]| Percentiles::of(v).p50;
    let p99 = |v: &[f64]| Percentiles::of(v).p99;
    let q = |what, reference, aggregated| Quantity {
        what,
        reference,
        aggregated,
    };
    let quantities = vec![
        q(
            "live rows",
            mean(&|k| r[k].live_rows),
            mean(&|k| a[k].live_rows),
        ),
        q(
            "expired cells",
            mean(&|k| r[k].tombstones.expired),
            mean(&|k| a[k].tombstones.expired),
        ),
        q(
            "row tombstones",
            mean(&|k| r[k].tombstones.row),
            mean(&|k| a[k].tombstones.row),
        ),
        q(
            "range tombstones",
            mean(&|k| r[k].tombstones.range),
            mean(&|k| a[k].tombstones.range),
        ),
        q(
            "partition tombstones",
            mean(&|k| r[k].tombstones.partition),
            mean(&|k| a[k].tombstones.partition),
        ),
        q(
            "cell tombstones",
            mean(&|k| r[k].tombstones.cell),
            mean(&|k| a[k].tombstones.cell),
        ),
        q("flushes", mean(&|k| r[k].flushes), mean(&|k| a[k].flushes)),
        q(
            "sstables",
            mean(&|k| r[k].sstables),
            mean(&|k| a[k].sstables),
        ),
        q(
            "sstables per read p50",
            mean(&|k| p50(&r[k].sstables_per_read)),
            mean(&|k| a[k].sstables_per_read.p50),
        ),
        q(
            "sstables per read p99",
            mean(&|k| p99(&r[k].sstables_per_read)),
            mean(&|k| a[k].sstables_per_read.p99),
        ),
        q(
            "tombstones per read p50",
            mean(&|k| p50(&r[k].tombstones_per_read)),
            mean(&|k| a[k].tombstones_per_read.p50),
        ),
        q(
            "tombstones per read p99",
            mean(&|k| p99(&r[k].tombstones_per_read)),
            mean(&|k| a[k].tombstones_per_read.p99),
        ),
    ];
    Comparison {
        table: table.to_string(),
        from_s: r.get(steady).map_or(0.0, |x| x.t_s),
        samples: n - steady,
        quantities,
    }
}

/// The comparison as a terminal table.
pub fn text(comparisons: &[Comparison]) -> String {
    let mut out = String::new();
    for c in comparisons {
        out.push_str(&format!(
            "{}: means over {} samples from {}\n  {:<24} {:>14} {:>14} {:>7}\n",
            c.table,
            c.samples,
            crate::units::format_duration(c.from_s),
            "",
            "reference",
            "aggregated",
            "gap"
        ));
        for q in &c.quantities {
            out.push_str(&format!(
                "  {:<24} {:>14.1} {:>14.1} {:>6.1}%\n",
                q.what,
                q.reference,
                q.aggregated,
                q.gap() * 100.0
            ));
        }
    }
    out
}

/// The reference engine's samples, one line per table and sample.
pub fn csv(samples: &[RefSample]) -> String {
    let mut out = String::from(
        "t_s,table,live_rows,expired_cells,row_tombstones,range_tombstones,partition_tombstones,cell_tombstones,sstables,sstables_per_read_p50,sstables_per_read_p99,tombstones_per_read_p50,tombstones_per_read_p99,tombstones_per_read_max\n",
    );
    for s in samples {
        let spr = Percentiles::of(&s.sstables_per_read);
        let tpr = Percentiles::of(&s.tombstones_per_read);
        let t = &s.tombstones;
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            s.t_s,
            s.table,
            s.live_rows,
            t.expired,
            t.row,
            t.range,
            t.partition,
            t.cell,
            s.sstables,
            spr.p50,
            spr.p99,
            tpr.p50,
            tpr.p99,
            tpr.max
        ));
    }
    out
}
