//! The book's chart: four panels drawn with plotters into one SVG.
//!
//! 1. keep-alive GET of the small file: req/s against connections;
//! 2. the same for the 1 MiB file;
//! 3. the server's CPU time per request at 50 keep-alive connections;
//! 4. memory per idle keep-alive connection;
//! 5. when the run has them: the server's CPU time per request of 50 active
//!    clients against the idle connections held open beside them.

use crate::report::Row;
use crate::servers::{Spec, SERVERS};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// A marker shape, so that two servers of similar colour still differ.
#[derive(Clone, Copy)]
enum Shape {
    Circle,
    Ring,
    Square,
    Box,
    Triangle,
    Cross,
}

/// One colour and one marker per server of the table, so a server keeps
/// them in every panel; the colours are far apart (after Okabe and Ito's
/// and Paul Tol's palettes, which stay apart for colour-blind readers),
/// and neighbours in the table get different markers.
const STYLES: [(RGBColor, Shape); 19] = [
    (RGBColor(0, 0, 0), Shape::Square),          // nginx: black
    (RGBColor(80, 80, 80), Shape::Circle),       // nginx-nosendfile: dark grey
    (RGBColor(128, 128, 128), Shape::Cross),     // may_minihttp: grey
    (RGBColor(187, 187, 187), Shape::Triangle),  // may-validators: light grey
    (RGBColor(136, 34, 85), Shape::Ring),        // 3a: wine
    (RGBColor(213, 94, 0), Shape::Triangle),     // 4a: vermilion
    (RGBColor(230, 159, 0), Shape::Box),         // 4b: orange
    (RGBColor(140, 86, 75), Shape::Circle),      // 4h: brown
    (RGBColor(153, 153, 51), Shape::Cross),      // 4c: olive
    (RGBColor(68, 170, 153), Shape::Square),     // 4d: teal
    (RGBColor(86, 180, 233), Shape::Ring),       // 4s: sky blue
    (RGBColor(204, 121, 167), Shape::Cross),     // 4p: pink
    (RGBColor(0, 114, 178), Shape::Circle),      // 4e: blue
    (RGBColor(0, 158, 115), Shape::Triangle),    // 4f: green
    (RGBColor(170, 51, 119), Shape::Box),        // 4g: purple
    (RGBColor(102, 17, 0), Shape::Triangle),     // 4g --loops 2: dark red
    (RGBColor(17, 119, 51), Shape::Square),      // 4f --workers 2: dark green
    (RGBColor(51, 34, 136), Shape::Ring),        // 4u: indigo
    (RGBColor(221, 204, 119), Shape::Triangle),  // 4v: sand
];

/// A server's style: the one at its row of the server table.
fn style(server: &str) -> (RGBColor, Shape) {
    let index = SERVERS.iter().position(|s| s.name == server).unwrap_or(0);
    STYLES[index % STYLES.len()]
}

fn colour(server: &str) -> RGBColor {
    style(server).0
}

/// The reference servers (nginx, may_minihttp) are drawn dashed.
fn is_reference(server: &str) -> bool {
    SERVERS.iter().any(|s| s.name == server && matches!(s.kind, crate::servers::Kind::Reference))
}

/// A marker of `shape` centred on `at` (any coordinate), 5 px across.
fn marker<C: Clone + 'static>(at: C, shape: Shape, c: RGBColor) -> DynElement<'static, SVGBackend<'static>, C> {
    let filled = ShapeStyle::from(c).filled();
    let line = ShapeStyle::from(c).stroke_width(2);
    match shape {
        Shape::Circle => (EmptyElement::at(at) + Circle::new((0, 0), 5, filled)).into_dyn(),
        Shape::Ring => (EmptyElement::at(at) + Circle::new((0, 0), 5, line)).into_dyn(),
        Shape::Square => (EmptyElement::at(at) + Rectangle::new([(-5, -5), (5, 5)], filled)).into_dyn(),
        Shape::Box => (EmptyElement::at(at) + Rectangle::new([(-5, -5), (5, 5)], line)).into_dyn(),
        Shape::Triangle => (EmptyElement::at(at) + TriangleMarker::new((0, 0), 6, filled)).into_dyn(),
        Shape::Cross => (EmptyElement::at(at) + Cross::new((0, 0), 5, line)).into_dyn(),
    }
}

type Area = DrawingArea<SVGBackend<'static>, Shift>;

fn fail(e: impl std::fmt::Debug) -> String {
    format!("drawing the chart: {e:?}")
}

pub fn draw(path: &Path, rows: &[Row], servers: &[&'static Spec]) -> Result<(), String> {
    // One panel under the other, each as wide as the book's column, so the
    // book shows the text at the size it is drawn.
    // plotters' legend entries are `'static` elements over the backend, so
    // the backend borrows a `'static` path: one small leak per chart drawn.
    let path: &'static Path = Box::leak(path.to_path_buf().into_boxed_path());
    let busy = rows.iter().any(|r| crate::busy_idle(&r.scenario).is_some());
    // The CPU-bound run, if measured: which models use more than one core.
    let work = rows.iter().find(|r| r.scenario.starts_with("work")).map(|r| r.scenario.clone());
    let count = 4 + u32::from(busy) + u32::from(work.is_some());
    let root = SVGBackend::new(path, (880, 560 * count)).into_drawing_area();
    root.fill(&WHITE).map_err(fail)?;
    let panels = root.split_evenly((count as usize, 1));
    curve(&panels[0], rows, servers, "hello-ka-", "Keep-alive GET /hello.txt (13 B): req/s")?;
    curve(&panels[1], rows, servers, "mib-ka-", "Keep-alive GET of 1 MiB: req/s")?;
    let cpu: Vec<(String, f64)> = bars_for(rows, servers, |r| {
        (r.scenario == "hello-ka-50").then_some(r.cpu_us_per_request).flatten()
    });
    bars(&panels[2], &cpu, "Server CPU µs per request (hello, 50 keep-alive connections)", false)?;
    let idle_title = rows
        .iter()
        .find(|r| r.kib_per_connection.is_some())
        .map(|r| format!("KiB per idle keep-alive connection ({}, log scale)", r.scenario))
        .unwrap_or_else(|| "KiB per idle keep-alive connection".into());
    let idle: Vec<(String, f64)> = bars_for(rows, servers, |r| r.kib_per_connection);
    bars(&panels[3], &idle, &idle_title, true)?;
    if busy {
        busy_curve(&panels[4], rows, servers)?;
    }
    if let Some(scenario) = work {
        let per_second: Vec<(String, f64)> =
            bars_for(rows, servers, |r| (r.scenario == scenario).then_some(r.req_per_s).flatten());
        let title = format!("CPU-bound: req/s of {scenario}, the server on every core");
        bars(&panels[count as usize - 1], &per_second, &title, false)?;
    }
    root.present().map_err(fail)
}

/// The busy runs' points of each server: (idle connections, CPU µs per
/// request), in order of idle connections.
pub fn busy_points(rows: &[Row], server: &str) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| r.server == server)
        .filter_map(|r| Some((f64::from(crate::busy_idle(&r.scenario)?), r.cpu_us_per_request?)))
        .collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    points
}

/// CPU per request of 50 active clients against the idle connections held
/// open beside them, a line per server.
fn busy_curve(area: &Area, rows: &[Row], servers: &[&'static Spec]) -> Result<(), String> {
    let lines: Vec<(String, Vec<(f64, f64)>)> = servers
        .iter()
        .map(|s| (s.name.to_string(), busy_points(rows, s.name)))
        .filter(|(_, points)| !points.is_empty())
        .collect();
    let right = lines.iter().flat_map(|(_, p)| p.iter().map(|(x, _)| *x)).fold(1.0, f64::max);
    let top = lines.iter().flat_map(|(_, p)| p.iter().map(|(_, y)| *y)).fold(1.0, f64::max) * 1.2;
    let mut chart = ChartBuilder::on(area)
        .caption("Server CPU µs per request: 50 active clients, N idle connections held open", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(-right * 0.03..right * 1.03, 0f64..top)
        .map_err(fail)?;
    chart
        .configure_mesh()
        .x_desc("idle keep-alive connections")
        .y_desc("CPU µs per request")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .label_style(("sans-serif", 18))
        .axis_desc_style(("sans-serif", 18))
        .light_line_style(WHITE)
        .draw()
        .map_err(fail)?;
    draw_lines(&mut chart, lines)
}

/// One value per server, in the table's order, where `pick` finds one.
fn bars_for(rows: &[Row], servers: &[&'static Spec], pick: impl Fn(&Row) -> Option<f64>) -> Vec<(String, f64)> {
    servers
        .iter()
        .filter_map(|s| rows.iter().filter(|r| r.server == s.name).find_map(&pick).map(|v| (s.name.to_string(), v)))
        .collect()
}

/// req/s against connections (1, 50, 500 ... evenly spaced), a line per server.
fn curve(area: &Area, rows: &[Row], servers: &[&'static Spec], prefix: &str, title: &str) -> Result<(), String> {
    let mut counts: Vec<u32> =
        rows.iter().filter_map(|r| r.scenario.strip_prefix(prefix)?.parse().ok()).collect();
    counts.sort_unstable();
    counts.dedup();
    let lines: Vec<(String, Vec<(f64, f64)>)> = servers
        .iter()
        .map(|s| {
            let points = counts
                .iter()
                .enumerate()
                .filter_map(|(i, n)| {
                    let name = format!("{prefix}{n}");
                    let row = rows.iter().find(|r| r.server == s.name && r.scenario == name)?;
                    Some((i as f64, row.req_per_s?))
                })
                .collect();
            (s.name.to_string(), points)
        })
        .filter(|(_, points): &(String, Vec<(f64, f64)>)| !points.is_empty())
        .collect();
    let top = lines.iter().flat_map(|(_, p)| p.iter().map(|(_, y)| *y)).fold(1.0, f64::max) * 1.1;
    // The legend sits in the upper left and takes about the upper half of
    // the panel: keep the leftmost points below it.
    let left = lines.iter().flat_map(|(_, p)| p.iter().filter(|(x, _)| *x == 0.0).map(|(_, y)| *y)).fold(0.0, f64::max);
    let top = top.max(left * 2.1);
    let last = counts.len().saturating_sub(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 24))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(-0.2f64..last + 0.2, 0f64..top)
        .map_err(fail)?;
    let labels = counts.clone();
    chart
        .configure_mesh()
        .x_labels(counts.len().max(2))
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 0.01 && i >= 0.0 {
                labels.get(i as usize).map(|n| format!("{n} conns")).unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| if top >= 20_000.0 { format!("{:.0}k", y / 1000.0) } else { format!("{y:.0}") })
        .y_desc("requests per second")
        .label_style(("sans-serif", 18))
        .axis_desc_style(("sans-serif", 18))
        .light_line_style(WHITE)
        .draw()
        .map_err(fail)?;
    draw_lines(&mut chart, lines)
}

/// A line per server (dashed for the references), its markers, and the
/// legend in the upper left.
fn draw_lines(
    chart: &mut ChartContext<'_, SVGBackend<'static>, Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>>,
    lines: Vec<(String, Vec<(f64, f64)>)>,
) -> Result<(), String> {
    for (name, points) in lines {
        let (c, shape) = style(&name);
        let line = c.stroke_width(2);
        let series = if is_reference(&name) {
            chart.draw_series(DashedLineSeries::new(points.clone(), 8, 5, line)).map_err(fail)?
        } else {
            chart.draw_series(LineSeries::new(points.clone(), line)).map_err(fail)?
        };
        series.label(name).legend(move |(x, y)| {
            (EmptyElement::at((x, y))
                + PathElement::new(vec![(0, 0), (28, 0)], c.stroke_width(2))
                + marker((14, 0), shape, c))
            .into_dyn()
        });
        chart.draw_series(points.iter().map(|p| marker(*p, shape, c))).map_err(fail)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 18))
        .draw()
        .map_err(fail)
}

/// Horizontal bars, one per server, the value written at the end.
fn bars(area: &Area, values: &[(String, f64)], title: &str, log: bool) -> Result<(), String> {
    // The first server (nginx) at the top.
    let values: Vec<(String, f64)> = values.iter().rev().cloned().collect();
    let n = values.len().max(1) as f64;
    let top = values.iter().map(|(_, v)| *v).fold(0.0, f64::max).max(1e-3) * 1.25;
    let names: Vec<String> = values.iter().map(|(n, _)| n.clone()).collect();
    let y_label = move |y: &f64| {
        let i = y.round();
        if (y - i).abs() < 0.01 && i >= 0.0 {
            names.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let mut builder = ChartBuilder::on(area);
    builder.caption(title, ("sans-serif", 24)).margin(12).x_label_area_size(40).y_label_area_size(130);
    if log {
        let bottom = values.iter().map(|(_, v)| *v).filter(|v| *v > 0.0).fold(top, f64::min).max(0.01) / 2.0;
        let mut chart = builder
            .build_cartesian_2d((bottom..top * 2.0).log_scale(), -0.5f64..n - 0.5)
            .map_err(fail)?;
        chart.configure_mesh().y_labels(values.len().max(2) * 2 + 1).y_label_formatter(&y_label).label_style(("sans-serif", 18)).light_line_style(WHITE).draw().map_err(fail)?;
        for (i, (name, value)) in values.iter().enumerate() {
            let y = i as f64;
            let c = colour(name);
            chart
                .draw_series([Rectangle::new([(bottom, y - 0.35), (value.max(bottom), y + 0.35)], c.filled())])
                .map_err(fail)?;
            chart
                .draw_series([Text::new(format!(" {value:.2}"), (value.max(bottom), y + 0.15), ("sans-serif", 18))])
                .map_err(fail)?;
        }
    } else {
        let mut chart = builder.build_cartesian_2d(0f64..top, -0.5f64..n - 0.5).map_err(fail)?;
        chart.configure_mesh().y_labels(values.len().max(2) * 2 + 1).y_label_formatter(&y_label).label_style(("sans-serif", 18)).light_line_style(WHITE).draw().map_err(fail)?;
        for (i, (name, value)) in values.iter().enumerate() {
            let y = i as f64;
            let c = colour(name);
            chart.draw_series([Rectangle::new([(0.0, y - 0.35), (*value, y + 0.35)], c.filled())]).map_err(fail)?;
            chart
                .draw_series([Text::new(format!(" {value:.1}"), (*value, y + 0.15), ("sans-serif", 18))])
                .map_err(fail)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server added to the table needs a style of its own here, or it
    /// would share one with another server in the legend.
    #[test]
    fn every_server_has_a_style_of_its_own() {
        assert_eq!(STYLES.len(), SERVERS.len(), "one entry of STYLES per row of SERVERS");
        for (i, a) in STYLES.iter().enumerate() {
            for b in &STYLES[i + 1..] {
                assert!(a.0 != b.0, "two servers share the colour {:?}", a.0);
            }
        }
    }
}
