//! `cargo xtask bench-models`: every concurrency model of Part 4 against
//! nginx and may_minihttp, in the same run, with the same load generator.
//!
//! For each round, each scenario and each server (in an order that rotates
//! from round to round, so no server always runs first or last), the
//! harness starts the server pinned to one CPU, drives it with `wrk -t1`
//! pinned to another, and reads from `/proc` what the server spent: CPU
//! time (user + system, its threads and forked children included), memory
//! (PSS) and threads. Each figure is the median over the rounds; each
//! ratio to nginx is taken within a round (both measured minutes apart on
//! the same machine), then the median of those ratios. Results go to
//! `benchmarks.csv`, `benchmarks.txt` and `benchmarks.svg` in `--out`
//! (the book's `book/src/part4/`).
//!
//! Scenarios: keep-alive GET of `/hello.txt` (13 B) and of a 1 MiB file at
//! 1, 50 and 500 connections; `Connection: close` at 50; 16 pipelined
//! requests per write at 50; then 10,000 idle keep-alive connections with
//! one request on each; client3 opening 10,000 connections; and 50 active
//! keep-alive clients while 0, 1,000, 5,000 or 10,000 idle connections are
//! held open (select, poll, epoll, mio and nginx: what a wake-up costs when
//! the server watches many sockets and few are ready).

mod chart;
mod idle;
mod load;
mod report;
mod servers;

use clap::{Parser, Subcommand};
use lsbaws_harness::procfs;
use load::{Generator, Job};
use report::{Measured, Sample};
use servers::{Places, Pinning, Spec, SERVERS};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "Project tasks for lsbaws")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Compare the Part 4 models with nginx and may_minihttp (wrk), and
    /// write the book's benchmark table, CSV and chart.
    BenchModels(BenchArgs),
}

#[derive(clap::Args, Debug)]
struct BenchArgs {
    /// A quick check that the harness works (CI): one model and nginx (if
    /// installed), 1 s runs, a few connections, one round, debug builds,
    /// nothing installed; results go to a scratch directory, not the book.
    #[arg(long)]
    smoke: bool,
    /// Rounds; each figure is the median over them.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Seconds measured per run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Seconds of load before each measured run (not measured).
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Servers to run, by name (comma-separated; default: all there are).
    #[arg(long, value_delimiter = ',')]
    servers: Vec<String>,
    /// Scenarios to run, by name (comma-separated; default: all).
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Idle keep-alive connections in the idle run.
    #[arg(long, default_value_t = 10_000)]
    idle_connections: u32,
    /// Where the CSV, table and chart go (default: book/src/part4).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Use the binaries already built.
    #[arg(long)]
    no_build: bool,
    /// Use the harness's own load generator even if wrk is installed
    /// (the fallback, for when wrk cannot be had).
    #[arg(long)]
    builtin_load: bool,
    /// Re-measure some rows of an earlier run: keep the other rows of the
    /// CSV already in --out, replace the ones measured now.
    #[arg(long)]
    update: bool,
    /// Measure nothing: redraw the chart from the CSV already in --out
    /// (after changing how the chart is drawn).
    #[arg(long)]
    redraw: bool,
}

/// One kind of run.
#[derive(Debug, Clone)]
enum Scenario {
    Load { name: String, path: &'static str, connections: u32, close: bool, pipeline: u32 },
    Idle { name: String, connections: u32 },
    Client3 { name: String, clients: u32, conns: u32 },
    /// `active` keep-alive clients driven by the load generator while
    /// `idle` keep-alive connections (each answered once) are held open;
    /// on `servers` (empty: every server that can hold them).
    Busy { name: String, active: u32, idle: u32, servers: &'static [&'static str] },
    /// CPU-bound: keep-alive GETs of `/work?ms=MS` (MS milliseconds of CPU
    /// time per request), on the models only, with the server on every core
    /// (not pinned): which models use more than one.
    Work { name: String, ms: u32, connections: u32 },
}

/// The servers of the CPU-bound runs: a process, a thread, a pool, one
/// event loop, one coroutine worker, and their fixes (two loops on one
/// port, two coroutine workers).
const WORK_SERVERS: &[&str] = &["4a-fork", "4b-thread", "4h-pool", "4e-epoll", "4g-mio", "4g-mio-loops2", "4f-may", "4f-may-2"];
/// Rows of the server table that exist for the CPU-bound runs only.
const WORK_ONLY: &[&str] = &["4g-mio-loops2", "4f-may-2"];

/// Idle connections held open beside the active clients in the busy runs.
const BUSY_IDLE: [u32; 4] = [0, 1_000, 5_000, 10_000];
/// The servers of the busy runs: one per readiness interface, io_uring,
/// and nginx (both configurations).
const BUSY_SERVERS: &[&str] = &["nginx", "nginx-nosendfile", "4s-select", "4p-poll", "4e-epoll", "4g-mio", "4u-uring", "4v-multishot"];
/// The most connections, active and idle, that webserver4s can watch:
/// select(2) takes descriptors below FD_SETSIZE (1024), less 0, 1, 2, the
/// listener and the site's directory (1019), less a margin for the load
/// generator's reconnections.
const SELECT_CONNECTIONS: u32 = 1_010;
/// The busy run's idle connections for webserver4s at its limit, beside
/// 50 active ones: its last point where the others have 1,000.
const SELECT_IDLE: u32 = SELECT_CONNECTIONS - 50;

impl Scenario {
    fn name(&self) -> &str {
        match self {
            Scenario::Load { name, .. }
            | Scenario::Idle { name, .. }
            | Scenario::Client3 { name, .. }
            | Scenario::Busy { name, .. }
            | Scenario::Work { name, .. } => name,
        }
    }

    fn applies_to(&self, spec: &Spec) -> bool {
        if WORK_ONLY.contains(&spec.name) && !matches!(self, Scenario::Work { .. }) {
            return false;
        }
        match self {
            Scenario::Work { .. } => WORK_SERVERS.contains(&spec.name),
            Scenario::Load { path, close, .. } => (!spec.hello_only || *path == HELLO) && !(*close && spec.ignores_close),
            Scenario::Idle { .. } => spec.no_idle.is_none(),
            // Opening 10,000 connections is a client's benchmark: run it
            // against the servers that hold them cheaply.
            Scenario::Client3 { .. } => ["nginx", "nginx-nosendfile", "4e-epoll", "4f-may", "4g-mio"].contains(&spec.name),
            // select holds connections up to its limit, and no further.
            Scenario::Busy { active, idle, servers, .. } => {
                (servers.is_empty() || servers.contains(&spec.name))
                    && if spec.name == "4s-select" { active + idle <= SELECT_CONNECTIONS } else { spec.no_idle.is_none() }
            }
        }
    }
}

const HELLO: &str = "/hello.txt";
const MIB: &str = "/files/one-mebibyte.bin";

fn scenarios(smoke: bool, idle_connections: u32) -> Vec<Scenario> {
    let load = |file: &str, path, connections, close, pipeline| {
        let name = match (close, pipeline) {
            (true, _) => format!("{file}-close-{connections}"),
            (false, 1) => format!("{file}-ka-{connections}"),
            (false, depth) => format!("{file}-pipe{depth}-{connections}"),
        };
        Scenario::Load { name, path, connections, close, pipeline }
    };
    if smoke {
        return vec![
            load("hello", HELLO, 2, false, 1),
            load("mib", MIB, 2, false, 1),
            load("hello", HELLO, 2, true, 1),
            load("hello", HELLO, 2, false, 4),
            Scenario::Idle { name: "idle-20".into(), connections: 20 },
            busy(2, 20, &[]),
            work(1, 2),
        ];
    }
    let mut all = Vec::new();
    for (file, path) in [("hello", HELLO), ("mib", MIB)] {
        for connections in [1, 50, 500] {
            all.push(load(file, path, connections, false, 1));
        }
    }
    all.push(load("hello", HELLO, 50, true, 1));
    all.push(load("hello", HELLO, 50, false, 16));
    all.push(Scenario::Idle { name: format!("idle-{idle_connections}"), connections: idle_connections });
    all.push(Scenario::Client3 { name: "client3-10000".into(), clients: 10, conns: 1000 });
    for idle in BUSY_IDLE {
        all.push(busy(50, idle, BUSY_SERVERS));
    }
    all.push(busy(50, SELECT_IDLE, &["4s-select"]));
    all.push(work(5, 8));
    all
}

/// `work5-ka-8`: 8 keep-alive clients of /work?ms=5.
fn work(ms: u32, connections: u32) -> Scenario {
    Scenario::Work { name: format!("work{ms}-ka-{connections}"), ms, connections }
}

/// `hello-ka-50-idle-1000`: 50 active keep-alive clients of /hello.txt while
/// 1,000 idle connections are held open.
fn busy(active: u32, idle: u32, servers: &'static [&'static str]) -> Scenario {
    Scenario::Busy { name: format!("hello-ka-{active}-idle-{idle}"), active, idle, servers }
}

/// The idle connections of a busy run's name (`hello-ka-50-idle-1000`: 1000).
pub fn busy_idle(scenario: &str) -> Option<u32> {
    scenario.strip_prefix("hello-ka-50-idle-")?.parse().ok()
}

fn main() {
    let Task::BenchModels(args) = Cli::parse().task;
    if let Err(message) = bench_models(args) {
        eprintln!("bench-models: {message}");
        std::process::exit(1);
    }
}

fn bench_models(mut args: BenchArgs) -> Result<(), String> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().ok_or("xtask has no parent directory")?.to_path_buf();
    if args.smoke {
        args.rounds = 1;
        args.duration = 1;
        args.warmup = 0;
        if args.servers.is_empty() {
            args.servers = vec!["nginx".into(), "nginx-nosendfile".into(), "4b-thread".into(), "4g-mio-loops2".into()];
        }
    }
    let scratch = std::env::temp_dir().join(format!("lsbaws-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).map_err(|e| format!("creating {}: {e}", scratch.display()))?;
    let _cleanup = RemoveOnDrop(scratch.clone());
    let out = match (&args.out, args.smoke) {
        (Some(out), _) => out.clone(),
        (None, true) => scratch.join("out"),
        (None, false) => repo.join("book/src/part4"),
    };
    if args.redraw {
        let csv = out.join("benchmarks.csv");
        let text = std::fs::read_to_string(&csv).map_err(|e| format!("--redraw: reading {}: {e}", csv.display()))?;
        let rows = report::parse_csv(&text);
        let drawn = servers_in(&rows);
        chart::draw(&out.join("benchmarks.svg"), &rows, &drawn)?;
        println!("redrew {}", out.join("benchmarks.svg").display());
        return Ok(());
    }
    let profile = if args.smoke { "debug" } else { "release" };
    let places = Places {
        lab_bins: repo.join("target").join(profile),
        may_minihttp: repo.join("benches/ref-may-minihttp/target/release/ref-may-minihttp"),
        site: repo.join("site"),
        scratch: scratch.clone(),
        repo: repo.clone(),
    };
    if !args.no_build {
        build(&places, args.smoke)?;
    }
    raise_open_file_limit();
    servers::become_subreaper();

    let generator = if args.builtin_load { Generator::Builtin } else { Generator::find(!args.smoke) };
    let pinning = Pinning::detect();
    let chosen: Vec<&'static Spec> = SERVERS
        .iter()
        .filter(|s| args.servers.is_empty() || args.servers.iter().any(|n| n == s.name))
        .filter(|s| {
            let there = places.program_path(s).is_some();
            if !there {
                eprintln!("bench-models: skipping {}: {}", s.name, missing_why(s));
            }
            there
        })
        .collect();
    if chosen.is_empty() {
        return Err("no server to run (see --servers)".into());
    }
    let plan: Vec<Scenario> = scenarios(args.smoke, args.idle_connections)
        .into_iter()
        .filter(|s| args.scenarios.is_empty() || args.scenarios.iter().any(|n| n == s.name()))
        .collect();
    let header = header(&args, &generator, &pinning, &chosen);
    eprint!("{header}");

    let mut samples = Vec::new();
    let mut failures = Vec::new();
    // Every run, round by round, as printed: benchmarks-runs.txt, so the
    // page's medians can be checked against the values they came from.
    let mut runs = format!("# Every measured run of `cargo xtask bench-models`, in the order they ran.\n{header}");
    let mut log = |line: String| {
        eprintln!("{line}");
        runs.push_str(&line);
        runs.push('\n');
    };
    for round in 0..args.rounds {
        for scenario in &plan {
            let mut order: Vec<&'static Spec> = chosen.iter().copied().filter(|s| scenario.applies_to(s)).collect();
            if !order.is_empty() {
                let shift = round as usize % order.len();
                order.rotate_left(shift);
            }
            for spec in order {
                let started = Instant::now();
                match run_one(spec, scenario, &places, &generator, &pinning, &args) {
                    Ok(result) => {
                        log(format!(
                            "[round {}/{}] {:<16} {:<16} {}  ({:.0} s)",
                            round + 1,
                            args.rounds,
                            scenario.name(),
                            spec.name,
                            describe(&result),
                            started.elapsed().as_secs_f64()
                        ));
                        samples.push(Sample { round, scenario: scenario.name().to_string(), server: spec, result });
                    }
                    Err(e) => {
                        log(format!("[round {}/{}] {:<16} {:<16} FAILED: {e}", round + 1, args.rounds, scenario.name(), spec.name));
                        failures.push(format!("{} {}: {e}", scenario.name(), spec.name));
                    }
                }
            }
        }
    }

    let names: Vec<String> = plan.iter().map(|s| s.name().to_string()).collect();
    let mut rows = report::rows(&samples, &names, &chosen);
    let mut header = header;
    let mut drawn = chosen.clone();
    if args.update {
        let earlier = std::fs::read_to_string(out.join("benchmarks.csv"))
            .map_err(|e| format!("--update: reading {}/benchmarks.csv: {e}", out.display()))?;
        let earlier_text = std::fs::read_to_string(out.join("benchmarks.txt")).unwrap_or_default();
        let earlier_header = earlier_text.split("\n\n").next().unwrap_or("").to_string();
        rows = report::merge(report::parse_csv(&earlier), rows);
        header = format!(
            "{earlier_header}\nUpdated: these rows were measured again, in a run of their own:\n{}",
            header.lines().map(|l| format!("  | {l}\n")).collect::<String>()
        );
        drawn = servers_in(&rows);
    }
    report::write_all(&out, &header, &rows, &drawn)?;
    let runs_path = out.join("benchmarks-runs.txt");
    let runs = if args.update { std::fs::read_to_string(&runs_path).unwrap_or_default() + "\n" + &runs } else { runs };
    std::fs::write(&runs_path, runs).map_err(|e| format!("writing {}: {e}", runs_path.display()))?;
    println!("{header}{}", report::table(&rows));
    println!("wrote {0}/benchmarks.csv, {0}/benchmarks.txt, {0}/benchmarks.svg, {0}/benchmarks-runs.txt", out.display());
    if args.smoke {
        // A smoke run passes when every run answered requests without errors.
        let bad = samples.iter().filter(|s| !smoke_ok(&s.result)).count() + failures.len();
        println!("bench-models smoke: {} passed, {bad} failed", samples.len() + failures.len() - bad);
        if bad > 0 {
            return Err(format!("{bad} smoke run(s) failed: {failures:?}"));
        }
    }
    Ok(())
}

/// The servers that have rows in `rows`, in the table's order.
fn servers_in(rows: &[report::Row]) -> Vec<&'static Spec> {
    SERVERS.iter().filter(|s| rows.iter().any(|r| r.server == s.name)).collect()
}

fn smoke_ok(result: &Measured) -> bool {
    match result {
        Measured::Load { outcome, .. } => outcome.requests > 0 && outcome.errors == 0,
        Measured::Idle(idle) => idle.answered == idle.connections,
    }
}

fn missing_why(spec: &Spec) -> &'static str {
    match spec.program {
        servers::Program::Nginx { .. } => "nginx is not installed (apt-get install nginx-light)",
        servers::Program::MayMinihttp { .. } => "benches/ref-may-minihttp did not build",
        servers::Program::Lab { .. } | servers::Program::Hello { .. } => "its binary is not built (not on this branch yet?)",
    }
}

/// Start the server, load it (or open the idle connections), stop it.
fn run_one(
    spec: &'static Spec,
    scenario: &Scenario,
    places: &Places,
    generator: &Generator,
    pinning: &Pinning,
    args: &BenchArgs,
) -> Result<Measured, String> {
    // CPU-bound runs give the server every core, and the load generator
    // too (it mostly waits): which models use more than one is the point.
    let unpinned = Pinning { server: None, load: None };
    let pinning = if matches!(scenario, Scenario::Work { .. }) { &unpinned } else { pinning };
    let server = servers::start(spec, places, pinning.server)?;
    let job = |path: &str, connections: u32, close: bool, pipeline: u32| Job {
        addr: server.addr(),
        path: path.to_string(),
        connections,
        duration: Duration::from_secs(args.warmup),
        close,
        pipeline,
    };
    let result = match scenario {
        Scenario::Load { path, connections, close, pipeline, .. } => {
            load_run(job(path, *connections, *close, *pipeline), &server, places, generator, pinning, args)
        }
        Scenario::Idle { connections, .. } => {
            let idle = load::pinned(pinning.load, || {
                idle::run(server.addr(), server.pgid(), HELLO, *connections, Duration::from_secs(120))
            });
            if idle.opened == 0 {
                Err("no connection could be opened".into())
            } else {
                Ok(Measured::Idle(idle))
            }
        }
        Scenario::Client3 { clients, conns, .. } => client3(places, &server, *clients, *conns, pinning),
        Scenario::Work { ms, connections, .. } => {
            load_run(job(&format!("/work?ms={ms}"), *connections, false, 1), &server, places, generator, pinning, args)
        }
        Scenario::Busy { active, idle, .. } => {
            // The idle ones first, each answered once, held through the run.
            let held = load::pinned(pinning.load, || {
                idle::hold(server.addr(), HELLO, *idle, Instant::now() + Duration::from_secs(120))
            });
            if held.answered < *idle {
                Err(format!("only {} of {idle} idle connections were answered", held.answered))
            } else {
                let measured = load_run(job(HELLO, *active, false, 1), &server, places, generator, pinning, args);
                held.release();
                measured
            }
        }
    };
    server.stop();
    result
}

/// Warm up with `job`, then run it for `--duration` seconds and read what
/// the server spent: CPU per request, and memory and threads halfway.
fn load_run(
    mut job: Job,
    server: &servers::Running,
    places: &Places,
    generator: &Generator,
    pinning: &Pinning,
    args: &BenchArgs,
) -> Result<Measured, String> {
    if args.warmup > 0 {
        generator.run(&job, pinning.load, &places.scratch)?;
    }
    job.duration = Duration::from_secs(args.duration);
    let pgid = server.pgid();
    let cpu_before = procfs::group_cpu(pgid);
    // Memory and threads are read halfway through, under load.
    let (outcome, kib, threads) = std::thread::scope(|scope| {
        let running = scope.spawn(|| generator.run(&job, pinning.load, &places.scratch));
        std::thread::sleep(job.duration / 2);
        let seen = (procfs::group_pss_kib(pgid), procfs::group_threads(pgid));
        (running.join().unwrap_or_else(|_| Err("the load generator panicked".into())), seen.0, seen.1)
    });
    let outcome = outcome?;
    let cpu = procfs::group_cpu(pgid).saturating_sub(cpu_before);
    let cpu_us_per_request = cpu.as_secs_f64() * 1e6 / outcome.requests.max(1) as f64;
    Ok(Measured::Load { outcome, cpu_us_per_request, kib, threads })
}

/// Time `client3 --max-clients C --max-conns M --read-timeout 0`: it forks
/// C clients, each opening M connections one after another (a request on
/// each), and exits once all are open and sent.
fn client3(places: &Places, server: &servers::Running, clients: u32, conns: u32, pinning: &Pinning) -> Result<Measured, String> {
    let program = places.lab_bins.join("client3");
    let started = Instant::now();
    let output = servers::pinned_command(&program, pinning.load)
        .args(["--max-clients", &clients.to_string(), "--max-conns", &conns.to_string()])
        .args(["--read-timeout", "0", "--quiet", "--port", &server.port.to_string()])
        .output()
        .map_err(|e| format!("running {}: {e}", program.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&output.stdout);
    let established = text
        .lines()
        .find_map(|l| l.strip_prefix("established:"))
        .and_then(|n| n.trim().parse::<u32>().ok())
        .ok_or_else(|| format!("client3 printed no summary: {text}"))?;
    Ok(Measured::Idle(idle::Idle {
        connections: clients * conns,
        opened: established,
        answered: established,
        open_seconds: seconds,
        ..idle::Idle::default()
    }))
}

fn describe(result: &Measured) -> String {
    match result {
        Measured::Load { outcome, cpu_us_per_request, kib, threads } => format!(
            "{:>9.0} req/s  p99 {:>8.2} ms  {:>7.2} µs CPU/req  {:>7} KiB  {:>4} threads  {} errors",
            outcome.per_second(),
            outcome.p99_ms,
            cpu_us_per_request,
            kib,
            threads,
            outcome.errors
        ),
        Measured::Idle(idle) => format!(
            "{}/{} answered  {:.2} KiB/conn  {} threads  opened in {:.2} s, answered in {:.2} s",
            idle.answered,
            idle.connections,
            idle.kib_per_connection(),
            idle.threads,
            idle.open_seconds,
            idle.answer_seconds
        ),
    }
}

/// The lines on top of the table: when, where, how.
fn header(args: &BenchArgs, generator: &Generator, pinning: &Pinning, chosen: &[&'static Spec]) -> String {
    let date = Command::new("date").arg("-u").arg("+%Y-%m-%d %H:%M UTC").output().ok();
    let date = date.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| t.lines().find_map(|l| l.strip_prefix("model name")?.split(':').nth(1).map(str::trim).map(String::from)))
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut text = format!(
        "bench-models, {date}: {cpus} CPUs ({cpu}), Linux {}, load average at start {}\n\
         {}; {}; {} round(s) of {} s after {} s of warm-up; figures are medians, ratios are to the better nginx (of the two configurations) within each round\n",
        kernel.trim(),
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        generator.name(),
        pinning.describe(),
        args.rounds,
        args.duration,
        args.warmup,
    );
    for spec in chosen {
        text.push_str(&format!("  {:<16} {}\n", spec.name, spec.model));
    }
    text
}

/// Build what is measured: the lab's binaries, and the may_minihttp
/// reference (release, unless smoke-testing with the debug build).
fn build(places: &Places, smoke: bool) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut lab = Command::new(&cargo);
    lab.arg("build").arg("--bins").arg("--manifest-path").arg(places.repo.join("Cargo.toml"));
    if !smoke {
        lab.arg("--release");
    }
    eprintln!("bench-models: building the lab's servers{}", if smoke { "" } else { " (release)" });
    let ok = lab.status().map_err(|e| format!("running cargo: {e}"))?.success();
    if !ok {
        return Err("building the lab's servers failed".into());
    }
    if !smoke {
        eprintln!("bench-models: building benches/ref-may-minihttp (release)");
        let reference = Command::new(&cargo)
            .args(["build", "--release", "--manifest-path"])
            .arg(places.repo.join("benches/ref-may-minihttp/Cargo.toml"))
            .status();
        if !reference.is_ok_and(|s| s.success()) {
            eprintln!("bench-models: may_minihttp reference did not build; it will be skipped");
        }
    }
    Ok(())
}

/// Up to the hard limit: 10,000 idle connections are 10,000 descriptors
/// here and in the server (which inherits the limit).
fn raise_open_file_limit() {
    // SAFETY: getrlimit/setrlimit read and write the rlimit struct we own.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str) -> &'static Spec {
        SERVERS.iter().find(|s| s.name == name).unwrap()
    }

    fn runs(plan: &[Scenario], server: &str) -> Vec<String> {
        plan.iter().filter(|s| s.applies_to(spec(server))).map(|s| s.name().to_string()).collect()
    }

    #[test]
    fn busy_runs_keep_select_below_fd_setsize() {
        let plan = scenarios(false, 10_000);
        let busy = |server| runs(&plan, server).into_iter().filter(|n| busy_idle(n).is_some()).collect::<Vec<_>>();
        // select runs up to its limit: none of its descriptors reach 1024.
        assert_eq!(busy("4s-select"), ["hello-ka-50-idle-0", "hello-ka-50-idle-960"]);
        assert!(50 + SELECT_IDLE <= SELECT_CONNECTIONS && SELECT_CONNECTIONS < 1019);
        for server in ["nginx", "4p-poll", "4e-epoll", "4g-mio", "4u-uring", "4v-multishot"] {
            assert_eq!(
                busy(server),
                ["hello-ka-50-idle-0", "hello-ka-50-idle-1000", "hello-ka-50-idle-5000", "hello-ka-50-idle-10000"],
                "{server}"
            );
        }
        // The blocking models and the busy loops sit it out.
        for server in ["4a-fork", "4b-thread", "4h-pool", "4c-busy", "4d-busy-ka", "4f-may"] {
            assert!(busy(server).is_empty(), "{server}");
        }
        // select sits out the 10,000 idle connections of the idle run.
        assert!(!runs(&plan, "4s-select").contains(&"idle-10000".to_string()));
        assert!(runs(&plan, "4p-poll").contains(&"idle-10000".to_string()));
    }

    #[test]
    fn the_smoke_run_holds_idle_connections_under_load() {
        let plan = scenarios(true, 10_000);
        assert!(runs(&plan, "nginx").contains(&"hello-ka-2-idle-20".to_string()));
        assert!(runs(&plan, "4s-select").contains(&"hello-ka-2-idle-20".to_string()));
        assert_eq!(busy_idle("hello-ka-50-idle-5000"), Some(5000));
        assert_eq!(busy_idle("hello-ka-50"), None);
        assert_eq!(busy_idle("hello-ka-2-idle-20"), None);
    }

    #[test]
    fn cpu_bound_work_runs_on_the_models_and_their_fixes_only() {
        let plan = scenarios(false, 10_000);
        for model in ["4a-fork", "4b-thread", "4h-pool", "4e-epoll", "4g-mio", "4f-may"] {
            assert!(runs(&plan, model).contains(&"work5-ka-8".to_string()), "{model}");
        }
        // nginx has no /work; the fixes run nothing else.
        assert!(!runs(&plan, "nginx").contains(&"work5-ka-8".to_string()));
        assert_eq!(runs(&plan, "4g-mio-loops2"), ["work5-ka-8"]);
        assert_eq!(runs(&plan, "4f-may-2"), ["work5-ka-8"]);
        assert!(runs(&scenarios(true, 10_000), "4b-thread").contains(&"work1-ka-2".to_string()));
    }

    #[test]
    fn the_busy_panel_plots_cpu_against_idle_connections() {
        let row = |scenario: &str, server: &str, cpu: f64| report::Row {
            scenario: scenario.into(),
            server: server.into(),
            cpu_us_per_request: Some(cpu),
            ..report::Row::default()
        };
        let rows = vec![
            row("hello-ka-50-idle-5000", "4p-poll", 90.0),
            row("hello-ka-50-idle-0", "4p-poll", 8.0),
            row("hello-ka-50", "4p-poll", 7.0),
            row("hello-ka-50-idle-5000", "4e-epoll", 8.5),
        ];
        assert_eq!(chart::busy_points(&rows, "4p-poll"), [(0.0, 8.0), (5000.0, 90.0)]);
        assert_eq!(chart::busy_points(&rows, "4e-epoll"), [(5000.0, 8.5)]);
        let dir = std::env::temp_dir().join(format!("xtask-chart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let servers = [spec("4p-poll"), spec("4e-epoll")];
        chart::draw(&dir.join("c.svg"), &rows, &servers).unwrap();
        let svg = std::fs::read_to_string(dir.join("c.svg")).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(svg.contains("N idle connections held open"));
        assert!(svg.contains("height=\"2800\""));
    }
}
