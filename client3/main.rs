//! # client3 — many clients, many connections, all held open at once
//!
//! **What it is.** The Rust port of `client3.py` from Part 3 of Ruslan
//! Spivak's "Let's Build A Web Server". It forks `--max-clients` client
//! processes; each opens `--max-conns` connections to the server, one after
//! another, sends `GET /hello HTTP/1.1` on each and keeps them all open. The
//! point is not the answers but the load: every open connection holds a
//! descriptor, and for a forking server a child process, on the server side.
//! At the end client3 prints what happened, for example
//!
//! ```text
//! client3: 128 clients x 1 connection to 127.0.0.1:8888
//! connections attempted:  128
//! established:            128
//! failed:                 0
//! responses received:     128
//! closed by server (EOF): 128
//! hung (no EOF in 2s):    0
//! ```
//!
//! **How to use it.** Start a server in one shell and client3 in another:
//!
//! * `webserver3d` never closes its copy of a connection:
//!   `client3 --max-clients 10` shows ten responses and ten connections
//!   hung (no EOF within `--read-timeout`, 5 s by default). Each connection
//!   also leaks a descriptor: under `ulimit -n 256`, `client3 --max-clients
//!   300` makes its accept() fail with EMFILE, the server dies, and the
//!   connections it had not accepted yet are reset.
//! * `webserver3f` leaves zombies: after `client3 --max-clients 128`,
//!   count them with
//!   `ps -o stat --ppid $(pgrep -x webserver3f) | grep -c Z`.
//! * `webserver3g` reaps every child: the same run leaves none.
//!
//! client3 reads the responses to see which connections the server closed
//! (EOF) and which it left hanging for `--read-timeout` seconds (0: send
//! and close at once, reading nothing, as client3.py did); `--hold SECS`
//! keeps the connections open a while longer, to look at the server
//! meanwhile.
//!
//! **Difference from the original.** In client3.py, `os._exit(0)` sits inside
//! the loop over connections, so each client exits after its first
//! connection whatever `--max-conns` says. Ours opens `--max-conns`
//! connections per client, as the help says: `--max-clients N --max-conns M`
//! makes N x M connections. The original's `--max-conns` default (1024)
//! never mattered because of that quirk; ours defaults to 1, so that
//! `--max-clients 128` makes 128 connections, as the Python client did in
//! practice. Raise it to hold many connections per process (beyond about
//! 28,000 open at once the local ports run out: EADDRNOTAVAIL). Ours also
//! waits for its
//! clients and reaps them, and reports what happened instead of printing a
//! counter.
//!
//! **Exit status.** 0 when client3 did its job, whatever the server did
//! (refused, reset and hung connections are results). 1 for client3's own
//! failures (fork, pipe), and when not one connection could be established:
//! then the server is not there, and the last line says so. 2 for bad flags.

mod connection;
mod response;
mod tally;

use clap::Parser;
use lsbaws::cli::seconds;
use lsbaws::report::{hint_for, program_name, OrDie};
use nix::errno::Errno;
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use nix::sys::signal::Signal;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, getpid, getppid, pipe, ForkResult, Pid};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};
use tally::{plural, print_summary, ClientsFate, Plan, Stage, Tally};

/// Open many connections to a server at once and report what happened to
/// them (the Rust port of client3.py).
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Number of client processes to fork.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_clients: u64,

    /// Connections each client opens, one after another, and keeps open
    /// (the run makes max-clients x max-conns connections in all).
    #[arg(long, value_name = "M", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_conns: u64,

    /// Server to connect to: an IP address, or a name such as localhost.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,

    /// Server's TCP port.
    #[arg(long, short, default_value_t = 8888)]
    port: u16,

    /// Keep every connection open this long after sending (and reading),
    /// before closing it. Use it to look at the server in the meantime.
    #[arg(long, value_name = "SECS", value_parser = seconds, default_value = "0")]
    hold: Duration,

    /// Read the responses, waiting up to SECS for the server to close each
    /// connection; a connection not closed by then counts as hung. 0 reads
    /// nothing: each client sends and closes at once, as client3.py did.
    /// Reading also keeps the connections open while the server works
    /// through them, which a fast client needs: a connection that is closed
    /// while it waits in a full listen queue is never accepted at all.
    #[arg(long, value_name = "SECS", value_parser = seconds, default_value = "5")]
    read_timeout: Duration,

    /// Give up on a connection whose handshake has not completed after
    /// SECS (ETIMEDOUT). A server with a full listen queue drops the SYN, and
    /// connect() would otherwise retry for about two minutes.
    #[arg(long, value_name = "SECS", value_parser = seconds, default_value = "10")]
    connect_timeout: Duration,

    /// Do not print progress on stderr (the summary is still printed).
    #[arg(long, short)]
    quiet: bool,
}

/// Runs with at least this many connections print progress on stderr.
const PROGRESS_FROM: u64 = 100;

fn main() {
    let args = Args::parse();
    let addr = lsbaws::net::resolve(&args.host, args.port);
    let target = format!("{}:{}", args.host, args.port);
    raise_open_file_limit();

    let total_conns = args.max_clients.saturating_mul(args.max_conns);
    let progress = Progress::new(!args.quiet && total_conns >= PROGRESS_FROM);
    progress.say(format!(
        "starting {} x {} to {target} ({total_conns} connections)",
        plural(args.max_clients, "client"),
        plural(args.max_conns, "connection"),
    ));

    let started = start_clients(&args, addr, &progress);
    let clients = started.pids.len() as u64;
    let (total, reported) = collect_reports(started.reports, clients, &progress);
    let abnormal = reap(&started.pids);

    let plan = Plan {
        clients: args.max_clients,
        conns_per_client: args.max_conns,
        target: &target,
        read_timeout: Some(args.read_timeout).filter(|t| !t.is_zero()),
    };
    print_summary(
        &plan,
        &ClientsFate {
            started: clients,
            reported,
        },
        &total,
    );
    std::process::exit(exit_status(
        &target,
        &started.fork_error,
        clients - reported,
        &abnormal,
        &total,
    ));
}

/// Each client keeps `--max-conns` descriptors open at once, more than the
/// usual soft limit of 1024 allows. Raise our soft RLIMIT_NOFILE to the hard
/// limit (allowed without privileges); the forked clients inherit it. If
/// that fails, the clients that run out count EMFILE in socket().
fn raise_open_file_limit() {
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

/// The clients the parent started, and how it will hear from them.
struct Started {
    pids: Vec<Pid>,
    /// The read end of the pipe every client writes its report to.
    reports: OwnedFd,
    /// Why forking stopped early, if it did.
    fork_error: Option<Errno>,
}

/// Fork the client processes. A fork that fails stops the forking (the
/// system is out of processes; more attempts would fail too), and the run
/// goes on with the clients already started.
fn start_clients(args: &Args, addr: SocketAddr, progress: &Progress) -> Started {
    let (reports, report_writer) = pipe().or_die("pipe()");
    let parent = getpid();
    let mut pids = Vec::new();
    let mut fork_error = None;
    // Anything still in our stdout buffer would be copied into every child.
    let _ = std::io::stdout().flush();
    for _ in 0..args.max_clients {
        // SAFETY: client3 never starts a thread, so at the fork it is
        // single-threaded: the child cannot inherit a lock (of the allocator,
        // of stdout) held by another thread, and may go on running Rust code.
        match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                drop(reports); // a client only writes to the pipe
                be_a_client(args, addr, parent, report_writer)
            }
            Ok(ForkResult::Parent { child }) => pids.push(child),
            Err(errno) => {
                complain(format!("fork() failed: {errno} — {}", hint_for(errno)));
                fork_error = Some(errno);
                break;
            }
        }
        progress.every_second(|| format!("forked {} of {} clients", pids.len(), args.max_clients));
    }
    // Close the parent's own write end now: the parent reads the pipe until
    // EOF, and EOF comes only once every write end is closed. Had we kept
    // ours, the parent would wait for itself forever.
    drop(report_writer);
    progress.say(format!(
        "forked {}; waiting for them to finish",
        plural(pids.len() as u64, "client")
    ));
    Started {
        pids,
        reports,
        fork_error,
    }
}

/// The life of one client process: connect, report to the parent, exit.
fn be_a_client(args: &Args, addr: SocketAddr, parent: Pid, report: OwnedFd) -> ! {
    die_with_parent(parent);
    let tally = run_client(args, addr);
    // One write(2) of one short line: atomic (see Tally::to_line), so the
    // parent never sees two clients' lines mixed. If the parent is gone,
    // write() fails with EPIPE (SIGPIPE is ignored) and we just exit.
    let status = match nix::unistd::write(&report, tally.to_line().as_bytes()) {
        Ok(_) => 0,
        Err(_) => 1,
    };
    std::process::exit(status)
}

/// If client3 itself is killed (say, with SIGKILL, which it cannot catch),
/// have the kernel kill this client too, rather than leave an orphan holding
/// connections open on the server.
fn die_with_parent(parent: Pid) {
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    // The parent may have died before the line above ran.
    if getppid() != parent {
        std::process::exit(1);
    }
}

/// One client's work: open its connections, optionally read the responses,
/// hold, then close them all.
fn run_client(args: &Args, addr: SocketAddr) -> Tally {
    let request = request_for(&args.host, args.port);
    let mut tally = Tally::default();
    // The open connections. Keeping them in this list keeps them open, like
    // the original's `socks` list; dropping an OwnedFd closes it.
    let mut open = Vec::new();
    for _ in 0..args.max_conns {
        tally.attempted += 1;
        let fd = match connection::connect(addr, args.connect_timeout) {
            Ok(fd) => fd,
            Err((stage, errno)) => {
                tally.count_error(stage, errno);
                continue;
            }
        };
        tally.established += 1;
        let deadline = Instant::now() + args.connect_timeout;
        match connection::send_request(&fd, request.as_bytes(), deadline) {
            Ok(()) => open.push(fd),
            Err(errno) => tally.count_error(Stage::Send, errno),
        }
    }
    if !args.read_timeout.is_zero() {
        let timeout = args.read_timeout;
        read_all(&open, timeout, &mut tally);
    }
    std::thread::sleep(args.hold);
    drop(open); // close every connection
    tally
}

/// Read the responses on all the connections at once, and count how each
/// connection ended.
fn read_all(open: &[OwnedFd], timeout: Duration, tally: &mut Tally) {
    for outcome in connection::read_responses(open, Instant::now() + timeout) {
        if outcome.response {
            tally.responses += 1;
        }
        match outcome.ending {
            connection::Ending::Eof => tally.eof += 1,
            connection::Ending::Hung => tally.hung += 1,
            connection::Ending::Failed(errno) => tally.count_error(Stage::Read, errno),
        }
    }
}

/// The request of client3.py, with the Host header naming our server.
fn request_for(host: &str, port: u16) -> String {
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    format!("GET /hello HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n")
}

/// Read every client's report line until EOF (when the last client has
/// exited, or closed the pipe), and add them up. Returns the total and how
/// many clients reported.
fn collect_reports(reports: OwnedFd, clients: u64, progress: &Progress) -> (Tally, u64) {
    let mut total = Tally::default();
    let mut reported = 0;
    for line in BufReader::new(std::fs::File::from(reports)).lines() {
        let Ok(line) = line else { break };
        if let Some(tally) = Tally::from_line(&line) {
            total.add(&tally);
            reported += 1;
            progress.every_second(|| format!("{reported} of {clients} clients finished"));
        }
    }
    progress.say(format!("{reported} of {clients} clients finished"));
    (total, reported)
}

/// waitpid(2) every client, so that none is left a zombie, and return the
/// ones that did not exit normally.
fn reap(pids: &[Pid]) -> Vec<WaitStatus> {
    let mut abnormal = Vec::new();
    for &pid in pids {
        loop {
            match waitpid(pid, None) {
                Ok(WaitStatus::Exited(_, 0)) => break,
                Ok(status) => {
                    abnormal.push(status);
                    break;
                }
                Err(Errno::EINTR) => continue,
                Err(_) => break, // ECHILD: not ours any more; nothing to reap
            }
        }
    }
    abnormal
}

/// 1 for client3's own failures and for a server that could not be reached
/// at all (each with one line on stderr saying why), 0 otherwise.
fn exit_status(
    target: &str,
    fork_error: &Option<Errno>,
    lost: u64,
    abnormal: &[WaitStatus],
    total: &Tally,
) -> i32 {
    let mut status = if fork_error.is_some() { 1 } else { 0 };
    if lost > 0 {
        let example = abnormal.first().map(describe).unwrap_or_default();
        complain(format!(
            "{} exited without reporting its counts{example}",
            plural(lost, "client")
        ));
        status = 1;
    }
    if total.attempted > 0 && total.established == 0 {
        let errno = total.main_connect_error().unwrap_or(Errno::UnknownErrno);
        complain(format!(
            "could not connect to {target}: {errno:?} — {}",
            connect_hint(errno)
        ));
        status = 1;
    }
    status
}

/// `(pid 1234 was killed by SIGKILL)`, for the lost-clients line.
fn describe(status: &WaitStatus) -> String {
    match status {
        WaitStatus::Signaled(pid, signal, _) => format!(" (pid {pid} was killed by {signal})"),
        WaitStatus::Exited(pid, code) => format!(" (pid {pid} exited with status {code})"),
        other => format!(" ({other:?})"),
    }
}

/// Why a connection could not be made, as the student would fix it.
fn connect_hint(errno: Errno) -> &'static str {
    match errno {
        Errno::ETIMEDOUT => {
            "no answer within --connect-timeout; is the server's listen queue full, \
             or the host unreachable?"
        }
        Errno::EADDRNOTAVAIL => "client3 ran out of local ports; open fewer connections at once",
        Errno::EMFILE => "client3 hit its own open-file limit; use fewer --max-conns per client",
        _ => hint_for(errno),
    }
}

/// Progress lines on stderr (`client3: 64 of 128 clients finished`), for
/// runs big enough to take a while; at most about one a second.
struct Progress {
    enabled: bool,
    last: std::cell::Cell<Instant>,
}

impl Progress {
    fn new(enabled: bool) -> Progress {
        Progress {
            enabled,
            last: std::cell::Cell::new(Instant::now()),
        }
    }

    /// Print this line now.
    fn say(&self, message: String) {
        if self.enabled {
            complain(message);
            self.last.set(Instant::now());
        }
    }

    /// Print this line if a second has passed since the last one.
    fn every_second(&self, message: impl FnOnce() -> String) {
        if self.enabled && self.last.get().elapsed() >= Duration::from_secs(1) {
            self.say(message());
        }
    }
}

/// `client3: MESSAGE` on stderr. (Not eprintln!, which panics if stderr is
/// closed: client3 never ends in a panic.)
fn complain(message: String) {
    let _ = writeln!(std::io::stderr(), "{}: {message}", program_name());
}
