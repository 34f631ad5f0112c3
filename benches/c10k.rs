//! # c10k — hold 10,000 kept-alive connections, and what each costs
//!
//! A load harness, not a timed test: for each scalable model (epoll 4e,
//! may coroutines 4f, mio 4g) it starts the server, opens N connections
//! (10,000 by default), sends one request on each and reads every answer
//! while keeping all of them open, then reports what the server paid:
//! resident memory per connection (`VmRSS` before and after, divided by
//! N), its thread count, the CPU it burns while the N connections sit
//! idle, and how long opening and answering took.
//!
//! ```text
//! cargo bench --bench c10k                      # all three models, 10,000 each
//! cargo bench --bench c10k -- webserver4g       # one model
//! C10K_CONNECTIONS=200 cargo bench --bench c10k # a quick run (seconds)
//! cargo test --bench c10k                       # the smoke run `cargo test` does:
//!                                               # 200 each, debug build
//! C10K_BACKLOG=1024 cargo bench --bench c10k    # the servers' own listen queue
//! ```
//!
//! Needs N + a few descriptors in this process and in each server: both
//! raise their soft `RLIMIT_NOFILE` to the hard limit (check `ulimit -Hn`).
//! Loopback has ~28,000 ephemeral ports (`net.ipv4.ip_local_port_range`),
//! plenty for 10,000.

use lsbaws_harness::client::read_response;
use lsbaws_harness::Launch;
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

const MODELS: [&str; 3] = ["webserver4e", "webserver4f", "webserver4g"];
const DEFAULT_CONNECTIONS: usize = 10_000;
/// What `cargo test` runs: the same checks, in seconds.
const SMOKE_CONNECTIONS: usize = 200;
/// The servers' listen queue. A client that connects faster than the
/// server accepts fills it; past it the kernel drops the SYN and the client
/// retries a second later. 4096 is Linux's default `net.core.somaxconn`.
const DEFAULT_BACKLOG: usize = 4096;
/// The page every connection asks for (13 bytes): the cost measured is the
/// connection's, not the file's.
const PATH: &str = "/hello.txt";
const WAIT: Duration = Duration::from_secs(30);

/// What one model cost.
struct Run {
    model: &'static str,
    connect: Duration,
    /// SYNs the kernel dropped because the listen queue was full.
    dropped_syns: u64,
    answer: Duration,
    threads: usize,
    rss_before: u64,
    rss_after: u64,
    idle_cpu: Duration,
}

fn main() {
    // `cargo bench` passes --bench; `cargo test` runs this as a smoke test.
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    let default = if benchmarking {
        DEFAULT_CONNECTIONS
    } else {
        SMOKE_CONNECTIONS
    };
    let connections = env_number("C10K_CONNECTIONS", default);
    // Any argument that names a model selects it (cargo adds `--bench`).
    let chosen: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let models: Vec<&'static str> = MODELS
        .iter()
        .copied()
        .filter(|m| chosen.is_empty() || chosen.iter().any(|c| c == m))
        .collect();
    if models.is_empty() {
        fail(&format!(
            "no model among {chosen:?}; choose from {MODELS:?}"
        ));
    }

    let backlog = env_number("C10K_BACKLOG", DEFAULT_BACKLOG) as u32;
    let limit = lsbaws::net::raise_fd_limit();
    if limit < connections as u64 + 64 {
        fail(&format!(
            "this process may open only {limit} descriptors (ulimit -Hn), too few for {connections} \
             connections — raise the hard limit or set C10K_CONNECTIONS lower"
        ));
    }

    println!(
        "c10k: {connections} kept-alive connections per server (listen backlog {backlog}), \
         one GET {PATH} answered on each, all held open"
    );
    println!();
    let runs: Vec<Run> = models
        .iter()
        .map(|model| measure(model, connections, backlog).unwrap_or_else(|e| fail(&e)))
        .collect();
    print_table(&runs, connections);
}

/// Start `model`, load it, measure it, stop it. An error stops the server
/// too (it is dropped on the way out) before the caller exits.
fn measure(model: &'static str, n: usize, backlog: u32) -> Result<Run, String> {
    let mut launch = Launch::new(model).args(["--quiet", "--backlog", &backlog.to_string()]);
    if model == "webserver4f" || model == "webserver4g" {
        // The connections sit idle while we measure: no idle timeout.
        launch = launch.args(["--idle-timeout", "0"]);
    }
    let server = launch.start()?;
    let rss_before = server.rss_kib() * 1024;

    let drops_before = listen_drops();
    let started = Instant::now();
    let mut clients = Vec::with_capacity(n);
    for i in 0..n {
        clients.push(
            TcpStream::connect(server.addr())
                .map_err(|e| format!("{model}: connection {i}: {e}"))?,
        );
    }
    let connect = started.elapsed();
    let dropped_syns = listen_drops().saturating_sub(drops_before);

    let started = Instant::now();
    let request = format!("GET {PATH} HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr());
    for client in &mut clients {
        client
            .write_all(request.as_bytes())
            .map_err(|e| format!("{model}: sending: {e}"))?;
    }
    for (i, client) in clients.iter_mut().enumerate() {
        let response =
            read_response(client, WAIT).map_err(|e| format!("{model}: answer {i}: {e}"))?;
        if response.status_line() != "HTTP/1.1 200 OK" {
            return Err(format!("{model}: answer {i}: {}", response.status_line()));
        }
    }
    let answer = started.elapsed();

    // Every connection is open and idle now: what does holding them cost?
    // (The server has accepted them all: each was answered.)
    server.wait_until(WAIT, "every connection to be open", |s| s.open_fds() >= n)?;
    let rss_after = server.rss_kib() * 1024;
    let threads = server.threads();
    let before = server.cpu_time();
    std::thread::sleep(Duration::from_secs(1));
    let idle_cpu = server.cpu_time() - before;
    Ok(Run {
        model,
        connect,
        dropped_syns,
        answer,
        threads,
        rss_before,
        rss_after,
        idle_cpu,
    })
}

/// How many times the kernel dropped a SYN because a listen queue was full
/// (`ListenOverflows` in /proc/net/netstat; system-wide, but on a quiet
/// machine these are ours). A dropped SYN costs its client a 1 s retry.
fn listen_drops() -> u64 {
    let text = std::fs::read_to_string("/proc/net/netstat").unwrap_or_default();
    let mut tcp_ext = text.lines().filter(|line| line.starts_with("TcpExt:"));
    let (Some(names), Some(values)) = (tcp_ext.next(), tcp_ext.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(name, _)| *name == "ListenOverflows")
        .and_then(|(_, value)| value.parse().ok())
        .unwrap_or(0)
}

fn print_table(runs: &[Run], n: usize) {
    println!(
        "{:<12} {:>9} {:>10} {:>9} {:>8} {:>11} {:>11} {:>10} {:>13}",
        "model",
        "connect",
        "SYN drops",
        "answer",
        "threads",
        "RSS before",
        "RSS after",
        "per conn",
        "idle CPU (1s)"
    );
    for run in runs {
        let per_connection = run.rss_after.saturating_sub(run.rss_before) as f64 / n as f64;
        println!(
            "{:<12} {:>7.2} s {:>10} {:>7.2} s {:>8} {:>7.1} MiB {:>7.1} MiB {:>6.1} KiB {:>10} ms",
            run.model,
            run.connect.as_secs_f64(),
            run.dropped_syns,
            run.answer.as_secs_f64(),
            run.threads,
            mib(run.rss_before),
            mib(run.rss_after),
            per_connection / 1024.0,
            run.idle_cpu.as_millis()
        );
    }
}

/// A number from the environment, or `default`.
fn env_number(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| fail(&format!("{name}={text:?} is not a number"))),
        Err(_) => default,
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn fail(message: &str) -> ! {
    eprintln!("c10k: {message}");
    std::process::exit(1)
}
