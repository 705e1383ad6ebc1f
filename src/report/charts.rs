//! Chart drawing with plotters, to SVG text and PNG bytes, with no system font: DejaVu Sans from
//! the `dejavu` crate is registered for plotters' `ab_glyph` text (STYLE.md). A chart is data
//! ([`Chart`]: panels of lines, threshold lines, bars); `draw` lays it out the same way on either
//! backend, so the SVG and the PNG show the same thing.

use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

/// Pixels of a chart: wide enough for a week of hourly samples, tall enough for a legend.
pub const SIZE: (u32, u32) = (1100, 620);

/// Colors a reader can tell apart, in the order series take them.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];

/// A line of a panel.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub color: RGBColor,
    /// A band around the line (low, high per point), drawn translucent: a sweep's seed spread.
    pub band: Option<Vec<(f64, f64, f64)>>,
}

/// A horizontal reference line (a threshold, a capacity).
#[derive(Debug, Clone)]
pub struct Level {
    pub name: String,
    pub y: f64,
    pub color: RGBColor,
}

/// One plot area: its y axis, lines, reference lines or bars.
#[derive(Debug, Clone, Default)]
pub struct Panel {
    pub y_label: String,
    pub series: Vec<Series>,
    pub levels: Vec<Level>,
    /// Bars `(label, value)` on a category axis instead of lines (`x_label` names the
    /// categories); a marker line at the category index `bar_marker` (e.g. 100 MiB).
    pub bars: Vec<(String, f64)>,
    pub bar_marker: Option<(String, f64)>,
    /// Draw y on a log10 scale (values below `log_floor` are drawn at it).
    pub log_y: bool,
    pub log_floor: f64,
    /// Divide y values by this for the axis (e.g. 2^30 with a label in GiB).
    pub y_unit: f64,
}

/// A chart: a title, a shared x axis and one or more panels stacked vertically.
#[derive(Debug, Clone)]
pub struct Chart {
    /// File name without extension.
    pub file: String,
    pub title: String,
    pub x_label: String,
    /// The x axis's extent (the run's time span), or from the data when `None`.
    pub x_range: Option<(f64, f64)>,
    /// Names of the x positions 0, 1, 2, … for a category axis (a sweep's values); empty for a
    /// numeric axis.
    pub x_names: Vec<String>,
    pub panels: Vec<Panel>,
}

static FONT: Once = Once::new();

/// Registers the embedded font once; plotters looks fonts up by family name.
fn register_font() {
    FONT.call_once(|| {
        for family in ["sans-serif", "DejaVu Sans"] {
            let _ =
                plotters::style::register_font(family, FontStyle::Normal, dejavu::sans::regular());
            let _ = plotters::style::register_font(family, FontStyle::Bold, dejavu::sans::bold());
        }
    });
}

/// The chart as an SVG document.
pub fn svg(chart: &Chart) -> Result<String, String> {
    register_font();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        draw(&root, chart)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// The chart as a PNG file's bytes.
pub fn png(chart: &Chart) -> Result<Vec<u8>, String> {
    register_font();
    let (w, h) = SIZE;
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        draw(&root, chart)?;
        root.present().map_err(|e| e.to_string())?;
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Default);
        encoder.set_filter(png::FilterType::Paeth);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(&rgb).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, chart: &Chart) -> Result<(), String> {
    root.fill(&WHITE).map_err(err)?;
    let root = root
        .titled(
            &chart.title,
            ("sans-serif", 26).into_font().style(FontStyle::Bold),
        )
        .map_err(err)?;
    let n = chart.panels.len().max(1);
    let areas = root.split_evenly((n, 1));
    for (k, (area, panel)) in areas.iter().zip(&chart.panels).enumerate() {
        let x_label = if k + 1 == n {
            chart.x_label.as_str()
        } else {
            ""
        };
        if panel.bars.is_empty() {
            draw_lines(area, panel, x_label, chart.x_range, &chart.x_names)?;
        } else {
            draw_bars(area, panel, x_label)?;
        }
    }
    Ok(())
}

/// A value as drawn on the panel's y axis.
fn y_of(panel: &Panel, v: f64) -> f64 {
    let v = v / if panel.y_unit > 0.0 {
        panel.y_unit
    } else {
        1.0
    };
    if panel.log_y {
        v.max(panel.log_floor.max(1e-12)).log10()
    } else {
        v
    }
}

fn y_range(panel: &Panel) -> (f64, f64) {
    let mut values: Vec<f64> = panel
        .series
        .iter()
        .flat_map(|s| {
            s.points
                .iter()
                .map(|p| p.1)
                .chain(s.band.iter().flatten().flat_map(|b| [b.1, b.2].into_iter()))
        })
        .chain(panel.levels.iter().map(|l| l.y))
        .filter(|v| v.is_finite())
        .map(|v| y_of(panel, v))
        .collect();
    if values.is_empty() {
        values.push(0.0);
    }
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    // Room above the data for the legend in the upper left, by its entries.
    let entries = (panel.series.len() + panel.levels.len()) as f64;
    let room = (0.1 + 0.07 * entries).min(0.7);
    if panel.log_y {
        let lo = (lo - 0.1).floor();
        let hi = hi.max(lo + 1.0);
        // A fifth of a decade per legend entry is room enough on a log axis.
        (lo, (hi + (0.2 * entries).min(1.5)).ceil())
    } else {
        let lo = lo.min(0.0);
        // All zero (no tombstones at all): an axis from 0 to 1 rather than a degenerate one.
        let hi = if hi - lo < 1e-9 { lo + 1.0 } else { hi };
        (lo, hi + room * (hi - lo))
    }
}

fn x_range(panel: &Panel) -> (f64, f64) {
    let xs: Vec<f64> = panel
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.0))
        .collect();
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if lo.is_finite() && hi > lo {
        (lo, hi)
    } else if lo.is_finite() {
        (lo - 0.5, lo + 0.5)
    } else {
        (0.0, 1.0)
    }
}

/// Tick labels: short, with thousands as k and M so they stay readable.
fn tick(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        let m = format!("{:.2}", v / 1e6);
        format!("{}M", m.trim_end_matches('0').trim_end_matches('.'))
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.1}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn log_tick(v: f64) -> String {
    // Round to three significant digits, so 10^-4 stays 0.0001 and 10^2.5 reads 316.
    let x = 10f64.powf(v);
    let scale = 10f64.powi(2 - x.log10().floor() as i32);
    tick((x * scale).round() / scale)
}

fn draw_lines<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    x_label: &str,
    x_span: Option<(f64, f64)>,
    x_names: &[String],
) -> Result<(), String> {
    let (x0, x1) = match x_span {
        Some(r) => r,
        None if !x_names.is_empty() => (-0.3, x_names.len() as f64 - 0.7),
        None => x_range(panel),
    };
    let (y0, y1) = y_range(panel);
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(if x_label.is_empty() { 30 } else { 56 })
        .y_label_area_size(86)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(err)?;
    let log = panel.log_y;
    let y_fmt = move |v: &f64| if log { log_tick(*v) } else { tick(*v) };
    let x_fmt = |v: &f64| {
        if x_names.is_empty() {
            return tick(*v);
        }
        let k = v.round();
        if (v - k).abs() < 1e-6 && k >= 0.0 && (k as usize) < x_names.len() {
            x_names[k as usize].clone()
        } else {
            String::new()
        }
    };
    let x_ticks = if x_names.is_empty() {
        10
    } else {
        // Every integer position gets a tick between -0.3 and n - 0.7.
        x_names.len() + 1
    };
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(panel.y_label.as_str())
        .axis_desc_style(("sans-serif", 18))
        .label_style(("sans-serif", 15))
        .x_labels(x_ticks)
        .y_labels(if log { (y1 - y0) as usize + 1 } else { 8 })
        .y_label_formatter(&y_fmt)
        .x_label_formatter(&x_fmt)
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    for (k, s) in panel.series.iter().enumerate() {
        // The first line is drawn wider, so a later line on the same values (sstables per read
        // equal to the sstable count, a live set equal to the old generation's) leaves it visible.
        let width = if k == 0 && panel.series.len() > 1 {
            5
        } else {
            2
        };
        if let Some(band) = &s.band {
            let mut poly: Vec<(f64, f64)> = band.iter().map(|b| (b.0, y_of(panel, b.2))).collect();
            poly.extend(band.iter().rev().map(|b| (b.0, y_of(panel, b.1))));
            chart
                .draw_series(std::iter::once(Polygon::new(
                    poly,
                    s.color.mix(0.18).filled(),
                )))
                .map_err(err)?;
        }
        let color = s.color;
        let pts: Vec<(f64, f64)> = thin(
            s.points
                .iter()
                .filter(|p| p.1.is_finite())
                .map(|p| (p.0, y_of(panel, p.1)))
                .collect(),
        );
        let style = ShapeStyle::from(&color).stroke_width(width);
        let drawn = chart
            .draw_series(LineSeries::new(pts.clone(), style))
            .map_err(err)?;
        drawn.label(s.name.clone()).legend(move |(x, y)| {
            PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3))
        });
        // A lone point (a run of one sample, or a sweep value) still shows.
        if pts.len() <= 24 {
            chart
                .draw_series(pts.iter().map(|p| Circle::new(*p, 3, color.filled())))
                .map_err(err)?;
        }
    }
    for l in &panel.levels {
        let color = l.color;
        let y = y_of(panel, l.y);
        chart
            .draw_series(DashedLineSeries::new(
                vec![(x0, y), (x1, y)],
                10,
                6,
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(l.name.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(2))
            });
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

type Cartesian = plotters::coord::cartesian::Cartesian2d<
    plotters::coord::types::RangedCoordf64,
    plotters::coord::types::RangedCoordf64,
>;

/// The legend, on a translucent box so lines under it still show.
fn legend<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<'a, DB, Cartesian>,
    position: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .draw()
        .map_err(err)
}

/// At most [`MAX_POINTS`] points, about two per pixel column: each window keeps its highest
/// point, so peaks (the worst sample) stay drawn, and the files stay small.
const MAX_POINTS: usize = 600;

fn thin(pts: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    if pts.len() <= MAX_POINTS {
        return pts;
    }
    let window = pts.len().div_ceil(MAX_POINTS);
    pts.chunks(window)
        .filter_map(|w| w.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1)))
        .collect()
}

fn draw_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panel: &Panel,
    x_label: &str,
) -> Result<(), String> {
    let n = panel.bars.len().max(1);
    let hi = panel.bars.iter().map(|b| b.1).fold(0.0, f64::max).max(1.0);
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(64)
        .y_label_area_size(86)
        .build_cartesian_2d(-0.5..(n as f64 - 0.5), 0.0..hi * 1.3)
        .map_err(err)?;
    let labels: Vec<String> = panel.bars.iter().map(|b| b.0.clone()).collect();
    let every = n.div_ceil(12).max(1);
    let x_fmt = |v: &f64| {
        let k = v.round();
        if (v - k).abs() < 1e-6
            && k >= 0.0
            && (k as usize) < labels.len()
            && (k as usize).is_multiple_of(every)
        {
            labels[k as usize].clone()
        } else {
            String::new()
        }
    };
    let y_fmt = |v: &f64| tick(*v);
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(panel.y_label.as_str())
        .axis_desc_style(("sans-serif", 18))
        .label_style(("sans-serif", 14))
        .x_labels(n + 1)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .disable_x_mesh()
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    let color = PALETTE[0];
    chart
        .draw_series(panel.bars.iter().enumerate().map(|(k, b)| {
            let x = k as f64;
            Rectangle::new([(x - 0.4, 0.0), (x + 0.4, b.1)], color.filled())
        }))
        .map_err(err)?
        .label("partitions")
        .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], color.filled()));
    if let Some((name, at)) = &panel.bar_marker {
        let red = PALETTE[3];
        chart
            .draw_series(DashedLineSeries::new(
                vec![(*at, 0.0), (*at, hi * 1.3)],
                10,
                6,
                red.stroke_width(2),
            ))
            .map_err(err)?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], red.stroke_width(2)));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> Chart {
        Chart {
            file: "t".into(),
            title: "Tombstones per read".into(),
            x_label: "simulated time (days)".into(),
            x_range: None,
            x_names: Vec::new(),
            panels: vec![Panel {
                y_label: "tombstones".into(),
                series: vec![Series {
                    name: "p99".into(),
                    points: (0..10).map(|k| (k as f64, (k * k) as f64)).collect(),
                    color: PALETTE[0],
                    band: None,
                }],
                levels: vec![Level {
                    name: "tombstone_warn_threshold".into(),
                    y: 1000.0,
                    color: PALETTE[1],
                }],
                log_y: true,
                log_floor: 1.0,
                ..Panel::default()
            }],
        }
    }

    #[test]
    fn a_chart_renders_to_svg_and_png_without_system_fonts() {
        let c = chart();
        let s = svg(&c).unwrap();
        assert!(s.starts_with("<svg") && s.contains("Tombstones per read"));
        let p = png(&c).unwrap();
        assert_eq!(&p[1..4], b"PNG");
        let decoder = png::Decoder::new(std::io::Cursor::new(p));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), SIZE);
    }

    #[test]
    fn long_series_keep_their_peaks() {
        let pts: Vec<(f64, f64)> = (0..1440)
            .map(|k| (k as f64, if k == 700 { 99.0 } else { 1.0 }))
            .collect();
        let t = thin(pts);
        assert!(t.len() <= MAX_POINTS);
        assert!(t.iter().any(|p| p.1 == 99.0));
    }

    #[test]
    fn ticks_stay_short() {
        assert_eq!(tick(1500.0), "1500");
        assert_eq!(tick(25_000.0), "25k");
        assert_eq!(tick(2_500_000.0), "2.5M");
        assert_eq!(tick(1_000_000.0), "1M");
        assert_eq!(log_tick(3.0), "1000");
        assert_eq!(log_tick(-4.0), "0.0001");
    }
}
