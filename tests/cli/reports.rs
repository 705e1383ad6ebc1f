//! Reports of a run (issue 6): every chart as SVG and PNG under `charts/`, PNGs that decode to
//! the chart size, `summary.md` with the findings first and every chart, and one self-contained
//! `report.html` with every chart inline and nothing fetched from anywhere.

use super::util::{cassim, path_str, TTL_SERIES};

const CHART_SIZE: (u32, u32) = (1100, 620);

fn run(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let out = dir.path().join("out");
    let r = cassim(&["run", TTL_SERIES, "--out", path_str(&out)]);
    assert!(r.code == 0 || r.code == 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("report.html"), "{}", r.stdout);
    out
}

fn charts(out: &std::path::Path) -> Vec<String> {
    let mut stems: Vec<String> = std::fs::read_dir(out.join("charts"))
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "svg").then(|| p.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    stems.sort();
    stems
}

#[test]
fn every_chart_is_an_svg_and_a_png_of_the_chart_size() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&dir);
    let stems = charts(&out);
    // The TTL series has one table with reads and one read query.
    for want in [
        "tombstones-ks.events",
        "latency-read-the-oldest-rows",
        "sstables-ks.events",
        "partition-sizes-ks.events",
        "disk",
        "heap",
        "flushes-compactions",
    ] {
        assert!(stems.iter().any(|s| s == want), "{want} in {stems:?}");
    }
    for stem in &stems {
        let svg = std::fs::read_to_string(out.join("charts").join(format!("{stem}.svg"))).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{stem}"
        );
        assert!(
            svg.contains("<text"),
            "{stem}: a chart has a title and labels"
        );
        let png = std::fs::read(out.join("charts").join(format!("{stem}.png"))).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        assert_eq!(
            (reader.info().width, reader.info().height),
            CHART_SIZE,
            "{stem}"
        );
        let mut buf = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut buf).unwrap();
        // Not blank: drawn pixels other than the white background.
        let drawn = buf[..frame.buffer_size()]
            .chunks(3)
            .filter(|p| p != &[255, 255, 255])
            .count();
        assert!(drawn > 5_000, "{stem}: {drawn} drawn pixels");
    }
    // The tombstone chart draws both thresholds, named as Cassandra names them.
    let t = std::fs::read_to_string(out.join("charts/tombstones-ks.events.svg")).unwrap();
    assert!(t.contains("tombstone_warn_threshold") && t.contains("tombstone_failure_threshold"));
    let p = std::fs::read_to_string(out.join("charts/partition-sizes-ks.events.svg")).unwrap();
    assert!(p.contains("100 MiB"));
}

#[test]
fn the_html_report_inlines_every_chart_and_references_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&dir);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for stem in charts(&out) {
        assert!(
            html.contains(&format!("<figure id=\"{stem}\">\n<svg")),
            "{stem} inline"
        );
    }
    let lower = html.to_lowercase();
    for external in [
        "http:", "https:", "src=", "href=", "url(", "@import", "<script", "<link",
    ] {
        assert!(!lower.contains(external), "report.html contains {external}");
    }
    // The same content as summary.md, and the scenario's inputs.
    assert!(html.contains("<h2>Findings</h2>") && html.contains("<h2>Scenario inputs</h2>"));
    assert!(html.contains("ks.events") && html.contains("gc_grace_seconds"));
    assert!(html.contains("cluster.datacenters[0].nodes"));
}

#[test]
fn summary_md_puts_the_findings_first_then_tables_nodes_sizing_and_charts() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&dir);
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    let at = |s: &str| md.find(s).unwrap_or_else(|| panic!("{s} in summary.md"));
    assert!(at("## Findings") < at("## Tables"));
    assert!(at("## Tables") < at("## Queries"));
    assert!(at("## Queries") < at("## Nodes"));
    assert!(at("## Nodes") < at("## Sizing"));
    assert!(at("## Sizing") < at("## Charts"));
    for stem in charts(&out) {
        assert!(md.contains(&format!("(charts/{stem}.png)")), "{stem}");
    }
    // The TTL series' expired cells push its oldest-rows reads past tombstone_warn_threshold in
    // the first hours: the finding comes first, in Cassandra's words, with the day it starts.
    let findings = &md[at("## Findings")..at("## Tables")];
    let first = findings.lines().find(|l| l.starts_with("- ")).unwrap();
    assert!(
        first.starts_with("- warn: tombstone_warn_threshold ks.events: from day 1"),
        "{first}"
    );
}
