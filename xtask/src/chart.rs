//! The book's chart: four panels drawn with plotters into one SVG.
//!
//! 1. keep-alive GET of the small file: req/s against connections;
//! 2. the same for the 1 MiB file;
//! 3. the server's CPU time per request at 50 keep-alive connections;
//! 4. memory per idle keep-alive connection.

use crate::report::Row;
use crate::servers::{Spec, SERVERS};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::Path;

/// One colour per server of the table, so a server keeps it in every panel.
const COLOURS: [RGBColor; 11] = [
    RGBColor(0, 0, 0),       // nginx: black
    RGBColor(120, 120, 120), // may_minihttp: grey
    RGBColor(148, 103, 189),
    RGBColor(214, 39, 40),
    RGBColor(255, 127, 14),
    RGBColor(188, 189, 34),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
    RGBColor(44, 160, 44),
    RGBColor(31, 119, 180),
];

fn colour(server: &str) -> RGBColor {
    let index = SERVERS.iter().position(|s| s.name == server).unwrap_or(0);
    COLOURS[index % COLOURS.len()]
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn fail(e: impl std::fmt::Debug) -> String {
    format!("drawing the chart: {e:?}")
}

pub fn draw(path: &Path, rows: &[Row], servers: &[&'static Spec]) -> Result<(), String> {
    let root = SVGBackend::new(path, (1200, 900)).into_drawing_area();
    root.fill(&WHITE).map_err(fail)?;
    let panels = root.split_evenly((2, 2));
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
    root.present().map_err(fail)
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
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(70)
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
        .light_line_style(WHITE)
        .draw()
        .map_err(fail)?;
    for (name, points) in lines {
        let c = colour(&name);
        chart
            .draw_series(LineSeries::new(points.clone(), c.stroke_width(2)))
            .map_err(fail)?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, c.filled()))).map_err(fail)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
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
    builder.caption(title, ("sans-serif", 18)).margin(12).x_label_area_size(35).y_label_area_size(110);
    if log {
        let bottom = values.iter().map(|(_, v)| *v).filter(|v| *v > 0.0).fold(top, f64::min).max(0.01) / 2.0;
        let mut chart = builder
            .build_cartesian_2d((bottom..top * 2.0).log_scale(), -0.5f64..n - 0.5)
            .map_err(fail)?;
        chart.configure_mesh().y_labels(values.len().max(2) * 2 + 1).y_label_formatter(&y_label).light_line_style(WHITE).draw().map_err(fail)?;
        for (i, (name, value)) in values.iter().enumerate() {
            let y = i as f64;
            let c = colour(name);
            chart
                .draw_series([Rectangle::new([(bottom, y - 0.35), (value.max(bottom), y + 0.35)], c.filled())])
                .map_err(fail)?;
            chart
                .draw_series([Text::new(format!(" {value:.2}"), (value.max(bottom), y + 0.15), ("sans-serif", 12))])
                .map_err(fail)?;
        }
    } else {
        let mut chart = builder.build_cartesian_2d(0f64..top, -0.5f64..n - 0.5).map_err(fail)?;
        chart.configure_mesh().y_labels(values.len().max(2) * 2 + 1).y_label_formatter(&y_label).light_line_style(WHITE).draw().map_err(fail)?;
        for (i, (name, value)) in values.iter().enumerate() {
            let y = i as f64;
            let c = colour(name);
            chart.draw_series([Rectangle::new([(0.0, y - 0.35), (*value, y + 0.35)], c.filled())]).map_err(fail)?;
            chart
                .draw_series([Text::new(format!(" {value:.1}"), (*value, y + 0.15), ("sans-serif", 12))])
                .map_err(fail)?;
        }
    }
    Ok(())
}
