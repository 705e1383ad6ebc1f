//! Reports: turns results into text and JSON for people and machines. The library's analyses produce
//! data; only this module formats it.

mod check_text;

pub use check_text::render_check;
pub mod charts;
pub mod document;
mod run_charts;
mod run_output;
mod run_report;
mod sweep_report;

pub use run_charts::{charts as run_charts, slug};
pub use run_output::{queries_csv, render_run, render_size, summary_json, timeseries_csv};
pub use sweep_report::{files as sweep_files, render as render_sweep};

/// The report files of a run besides the data: every chart under `charts/`, `summary.md` and
/// the self-contained `report.html`.
pub fn report_files(
    scenario: &crate::scenario::Scenario,
    run: &crate::sim::RunResult,
    summary: &crate::sim::Summary,
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let charts = run_charts(scenario, run, summary);
    let blocks = run_report::blocks(scenario, summary, &charts);
    documents(&format!("cassim: {}", summary.scenario), &blocks, &charts)
}

/// `charts` as files under `charts/` (an SVG and a PNG each, rendered in parallel, each chart on
/// its own so the bytes do not depend on scheduling), then `blocks` as `summary.md` and as
/// `report.html` with the SVGs inline.
pub fn documents(
    title: &str,
    blocks: &[document::Block],
    charts: &[charts::Chart],
) -> Result<Vec<(String, Vec<u8>)>, String> {
    use rayon::prelude::*;
    let rendered: Vec<Result<(String, Vec<u8>), String>> = charts
        .par_iter()
        .map(|c| Ok((charts::svg(c)?, charts::png(c)?)))
        .collect();
    let mut svgs = std::collections::BTreeMap::new();
    let mut out = Vec::new();
    for (c, r) in charts.iter().zip(rendered) {
        let (svg, png) = r?;
        out.push((format!("charts/{}.svg", c.file), svg.clone().into_bytes()));
        out.push((format!("charts/{}.png", c.file), png));
        svgs.insert(c.file.clone(), svg);
    }
    out.push(("summary.md".into(), document::markdown(blocks).into_bytes()));
    let html = document::html(title, blocks, &|f| svgs.get(f).cloned());
    out.push(("report.html".into(), html.into_bytes()));
    Ok(out)
}
