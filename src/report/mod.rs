//! Reports: turns results into text and JSON for people and machines. The library's analyses produce
//! data; only this module formats it.

mod check_text;

pub use check_text::render_check;
pub mod charts;
mod run_charts;
mod run_output;

pub use run_charts::charts as run_charts;
pub use run_output::{queries_csv, render_run, render_size, summary_json, timeseries_csv};

/// Every chart of a run as files under `charts/`: an SVG and a PNG each, rendered in parallel
/// (each chart on its own, so the bytes do not depend on scheduling).
pub fn chart_files(
    scenario: &crate::scenario::Scenario,
    run: &crate::sim::RunResult,
    summary: &crate::sim::Summary,
) -> Result<Vec<(String, Vec<u8>)>, String> {
    use rayon::prelude::*;
    let charts = run_charts(scenario, run, summary);
    let rendered: Vec<Result<Vec<(String, Vec<u8>)>, String>> = charts
        .par_iter()
        .map(|c| {
            Ok(vec![
                (format!("charts/{}.svg", c.file), charts::svg(c)?.into_bytes()),
                (format!("charts/{}.png", c.file), charts::png(c)?),
            ])
        })
        .collect();
    let mut out = Vec::new();
    for r in rendered {
        out.extend(r?);
    }
    Ok(out)
}
