//! From samples to figures: medians over the rounds, ratios to nginx taken
//! within each round, then a CSV, a text table and an SVG chart. The
//! baseline of a ratio is nginx in whichever of its configurations
//! ([`crate::servers::is_nginx`]) served more requests per second in that
//! scenario and round.

use crate::idle::Idle;
use crate::load::Outcome;
use crate::servers::{is_nginx, Kind, Spec};
use std::fmt::Write as _;
use std::path::Path;

/// One measured run.
#[derive(Debug, Clone)]
pub struct Sample {
    pub round: u32,
    pub scenario: String,
    pub server: &'static Spec,
    pub result: Measured,
}

#[derive(Debug, Clone)]
pub enum Measured {
    Load { outcome: Outcome, cpu_us_per_request: f64, kib: u64, threads: u64 },
    Idle(Idle),
}

/// One line of the report: a server in a scenario, medians over the rounds.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub scenario: String,
    pub server: String,
    pub kind: String,
    pub runs: usize,
    pub req_per_s: Option<f64>,
    pub p99_ms: Option<f64>,
    pub cpu_us_per_request: Option<f64>,
    pub kib: Option<f64>,
    pub threads: Option<f64>,
    pub errors: Option<f64>,
    pub rps_vs_nginx: Option<f64>,
    pub p99_vs_nginx: Option<f64>,
    pub cpu_vs_nginx: Option<f64>,
    pub kib_per_connection: Option<f64>,
    pub open_seconds: Option<f64>,
    pub answered: Option<f64>,
}

/// Requests per second of a load sample (none for an idle one).
fn per_second(sample: &Sample) -> f64 {
    match &sample.result {
        Measured::Load { outcome, .. } => outcome.per_second(),
        Measured::Idle(_) => f64::NEG_INFINITY,
    }
}

pub fn median(mut values: Vec<f64>) -> Option<f64> {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 { values[mid] } else { (values[mid - 1] + values[mid]) / 2.0 })
}

/// The median of each figure over the rounds, per scenario and server, in
/// the order given.
pub fn rows(samples: &[Sample], scenarios: &[String], servers: &[&'static Spec]) -> Vec<Row> {
    let mut rows = Vec::new();
    for scenario in scenarios {
        for spec in servers {
            let mine: Vec<&Sample> =
                samples.iter().filter(|s| &s.scenario == scenario && s.server.name == spec.name).collect();
            if mine.is_empty() {
                continue;
            }
            // The better nginx of the round (more requests per second).
            let baseline = |round: u32| {
                samples
                    .iter()
                    .filter(|s| &s.scenario == scenario && is_nginx(s.server.name) && s.round == round)
                    .max_by(|a, b| per_second(a).total_cmp(&per_second(b)))
            };
            let mut row = Row {
                scenario: scenario.clone(),
                server: spec.name.to_string(),
                kind: match spec.kind {
                    Kind::Model => "model".into(),
                    Kind::Reference => "reference".into(),
                },
                runs: mine.len(),
                ..Row::default()
            };
            let load = |f: &dyn Fn(&Outcome, f64, u64, u64) -> f64| {
                median(
                    mine.iter()
                        .filter_map(|s| match &s.result {
                            Measured::Load { outcome, cpu_us_per_request, kib, threads } => {
                                Some(f(outcome, *cpu_us_per_request, *kib, *threads))
                            }
                            Measured::Idle(_) => None,
                        })
                        .collect(),
                )
            };
            row.req_per_s = load(&|o, _, _, _| o.per_second());
            row.p99_ms = load(&|o, _, _, _| o.p99_ms);
            row.cpu_us_per_request = load(&|_, c, _, _| c);
            row.kib = load(&|_, _, k, _| k as f64);
            row.threads = load(&|_, _, _, t| t as f64);
            row.errors = load(&|o, _, _, _| o.errors as f64);
            // Ratios within each round, then their median: the machine's
            // mood during a round moves both servers alike.
            let ratio = |f: &dyn Fn(&Outcome, f64) -> f64| {
                median(
                    mine.iter()
                        .filter_map(|s| match (&s.result, &baseline(s.round)?.result) {
                            (
                                Measured::Load { outcome: a, cpu_us_per_request: ca, .. },
                                Measured::Load { outcome: b, cpu_us_per_request: cb, .. },
                            ) => Some(f(a, *ca) / f(b, *cb)),
                            _ => None,
                        })
                        .collect(),
                )
            };
            row.rps_vs_nginx = ratio(&|o, _| o.per_second());
            row.p99_vs_nginx = ratio(&|o, _| o.p99_ms);
            row.cpu_vs_nginx = ratio(&|_, c| c);
            let idle = |f: &dyn Fn(&Idle) -> f64| {
                median(
                    mine.iter()
                        .filter_map(|s| match &s.result {
                            Measured::Idle(idle) => Some(f(idle)),
                            Measured::Load { .. } => None,
                        })
                        .collect(),
                )
            };
            row.kib_per_connection = idle(&Idle::kib_per_connection);
            row.open_seconds = idle(&|i| i.open_seconds);
            row.answered = idle(&|i| f64::from(i.answered));
            if row.kib_per_connection.is_some() {
                row.kib = idle(&|i| i.loaded_kib as f64);
                row.threads = idle(&|i| i.threads as f64);
            }
            if row.threads == Some(0.0) {
                // client3's run: the client is timed, the server not read.
                (row.kib, row.threads, row.kib_per_connection) = (None, None, None);
            }
            rows.push(row);
        }
    }
    rows
}

fn cell(value: Option<f64>, decimals: usize) -> String {
    value.map(|v| format!("{v:.decimals$}")).unwrap_or_default()
}

pub fn csv(rows: &[Row]) -> String {
    let mut out = String::from(
        "scenario,server,kind,runs,req_per_s,p99_ms,cpu_us_per_request,server_kib,threads,errors,\
         rps_vs_nginx,p99_vs_nginx,cpu_vs_nginx,idle_kib_per_connection,idle_open_seconds,idle_answered\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            r.scenario,
            r.server,
            r.kind,
            r.runs,
            cell(r.req_per_s, 0),
            cell(r.p99_ms, 3),
            cell(r.cpu_us_per_request, 2),
            cell(r.kib, 0),
            cell(r.threads, 0),
            cell(r.errors, 0),
            cell(r.rps_vs_nginx, 3),
            cell(r.p99_vs_nginx, 3),
            cell(r.cpu_vs_nginx, 3),
            cell(r.kib_per_connection, 2),
            cell(r.open_seconds, 3),
            cell(r.answered, 0),
        );
    }
    out
}

/// Read back a CSV written by [`csv`] (for `--update`).
pub fn parse_csv(text: &str) -> Vec<Row> {
    let number = |cell: &str| cell.parse::<f64>().ok();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let c: Vec<&str> = line.split(',').collect();
            (c.len() == 16).then(|| Row {
                scenario: c[0].to_string(),
                server: c[1].to_string(),
                kind: c[2].to_string(),
                runs: c[3].parse().unwrap_or(0),
                req_per_s: number(c[4]),
                p99_ms: number(c[5]),
                cpu_us_per_request: number(c[6]),
                kib: number(c[7]),
                threads: number(c[8]),
                errors: number(c[9]),
                rps_vs_nginx: number(c[10]),
                p99_vs_nginx: number(c[11]),
                cpu_vs_nginx: number(c[12]),
                kib_per_connection: number(c[13]),
                open_seconds: number(c[14]),
                answered: number(c[15]),
            })
        })
        .collect()
}

/// `old` with the rows of `new` in place of those they re-measure, in the
/// order of the scenarios first seen and of the server table.
pub fn merge(old: Vec<Row>, new: Vec<Row>) -> Vec<Row> {
    let mut scenarios: Vec<String> = Vec::new();
    for row in old.iter().chain(&new) {
        if !scenarios.contains(&row.scenario) {
            scenarios.push(row.scenario.clone());
        }
    }
    let mut all: Vec<Row> = old
        .into_iter()
        .filter(|o| !new.iter().any(|n| n.scenario == o.scenario && n.server == o.server))
        .collect();
    all.extend(new);
    let order = |r: &Row| {
        let scenario = scenarios.iter().position(|s| *s == r.scenario).unwrap_or(usize::MAX);
        let server = crate::servers::SERVERS.iter().position(|s| s.name == r.server).unwrap_or(usize::MAX);
        (scenario, server)
    };
    all.sort_by_key(order);
    all
}

/// A column of the text table: title, width, and the cell of a row.
type Column = (&'static str, usize, fn(&Row) -> String);

/// The columns of a load scenario's block.
const LOAD_COLUMNS: &[Column] = &[
    ("req/s", 10, |r| cell(r.req_per_s, 0)),
    ("×nginx", 6, |r| cell(r.rps_vs_nginx, 2)),
    ("p99 ms", 9, |r| cell(r.p99_ms, 2)),
    ("×nginx", 6, |r| cell(r.p99_vs_nginx, 2)),
    ("CPU µs/req", 10, |r| cell(r.cpu_us_per_request, 2)),
    ("×nginx", 6, |r| cell(r.cpu_vs_nginx, 2)),
    ("PSS KiB", 9, |r| cell(r.kib, 0)),
    ("threads", 8, |r| cell(r.threads, 0)),
    ("errors", 6, |r| cell(r.errors, 0)),
];

/// The columns of the idle-connections (and client3) block.
const IDLE_COLUMNS: &[Column] = &[
    ("answered", 9, |r| cell(r.answered, 0)),
    ("KiB/conn", 10, |r| cell(r.kib_per_connection, 2)),
    ("PSS KiB", 10, |r| cell(r.kib, 0)),
    ("threads", 8, |r| cell(r.threads, 0)),
    ("open s", 9, |r| cell(r.open_seconds, 2)),
];

/// The table a person reads: one block per scenario.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let mut scenario = "";
    for r in rows {
        let columns = if r.answered.is_some() { IDLE_COLUMNS } else { LOAD_COLUMNS };
        if r.scenario != scenario {
            scenario = &r.scenario;
            let _ = write!(out, "\n{scenario}\n  {:<17}", "server");
            for (title, width, _) in columns {
                let _ = write!(out, " {title:>width$}");
            }
            out.push('\n');
        }
        let _ = write!(out, "  {:<17}", r.server);
        for (_, width, value) in columns {
            let _ = write!(out, " {:>width$}", value(r));
        }
        out.push('\n');
    }
    out
}

/// Write the CSV, the table (with `header` on top) and the chart into `dir`.
pub fn write_all(dir: &Path, header: &str, rows: &[Row], servers: &[&'static Spec]) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))
    };
    write("benchmarks.csv", csv(rows))?;
    write("benchmarks.txt", format!("{header}{}", table(rows)))?;
    crate::chart::draw(&dir.join("benchmarks.svg"), rows, servers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::SERVERS;

    fn spec(name: &str) -> &'static Spec {
        SERVERS.iter().find(|s| s.name == name).unwrap()
    }

    fn load(round: u32, server: &str, requests: u64, cpu: f64) -> Sample {
        Sample {
            round,
            scenario: "s".into(),
            server: spec(server),
            result: Measured::Load {
                outcome: Outcome { requests, seconds: 1.0, p99_ms: 1.0, errors: 0 },
                cpu_us_per_request: cpu,
                kib: 100,
                threads: 1,
            },
        }
    }

    fn rows_for(samples: &[Sample], servers: &[&'static Spec]) -> Vec<Row> {
        rows(samples, &["s".into()], servers)
    }

    #[test]
    fn medians_and_ratios_within_rounds() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
        // Round 2 is slow for both: the ratio holds.
        let samples = vec![
            load(0, "nginx", 100, 10.0),
            load(0, "4a-fork", 50, 20.0),
            load(1, "nginx", 100, 10.0),
            load(1, "4a-fork", 50, 20.0),
            load(2, "nginx", 10, 10.0),
            load(2, "4a-fork", 5, 20.0),
        ];
        let servers: Vec<&'static Spec> = vec![spec("nginx"), spec("4a-fork")];
        let rows = rows(&samples, &["s".into()], &servers);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].req_per_s, Some(50.0));
        assert_eq!(rows[1].rps_vs_nginx, Some(0.5));
        assert_eq!(rows[1].cpu_vs_nginx, Some(2.0));
        assert!(csv(&rows).lines().nth(2).unwrap().starts_with("s,4a-fork,model,3,50,"));
        assert!(table(&rows).contains("4a-fork"));
        // --update: read back, replace what was re-measured, keep the rest.
        let read = parse_csv(&csv(&rows));
        assert_eq!(read.len(), 2);
        assert_eq!(read[1].rps_vs_nginx, Some(0.5));
        let again = rows_for(&[load(0, "nginx", 100, 10.0), load(0, "4a-fork", 80, 20.0)], &servers);
        let merged = merge(read, again);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].server, "nginx");
        assert_eq!(merged[1].rps_vs_nginx, Some(0.8));
    }

    #[test]
    fn ratios_are_to_the_better_nginx_of_each_round() {
        let samples = vec![
            load(0, "nginx", 100, 10.0),
            load(0, "nginx-nosendfile", 200, 5.0),
            load(0, "4g-mio", 100, 10.0),
            load(1, "nginx", 400, 10.0),
            load(1, "nginx-nosendfile", 200, 5.0),
            load(1, "4g-mio", 100, 10.0),
            load(2, "nginx", 400, 10.0),
            load(2, "nginx-nosendfile", 200, 5.0),
            load(2, "4g-mio", 100, 10.0),
        ];
        let servers: Vec<&'static Spec> = vec![spec("nginx"), spec("nginx-nosendfile"), spec("4g-mio")];
        let rows = rows_for(&samples, &servers);
        // Against nginx-nosendfile in round 0 (0.5), nginx in rounds 1 and 2 (0.25).
        assert_eq!(rows[2].rps_vs_nginx, Some(0.25));
        assert_eq!(rows[0].rps_vs_nginx, Some(1.0));
        assert_eq!(rows[1].rps_vs_nginx, Some(0.5));
        // CPU is compared with the same (better) nginx sample.
        assert_eq!(rows[2].cpu_vs_nginx, Some(1.0));
    }
}
