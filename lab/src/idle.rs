//! The checks and questions of the blocking servers that keep connections
//! open: a process per connection with keep-alive and an idle timeout (4a),
//! and a fixed pool of threads, which idle keep-alive clients can hold (4h).
//!
//! They start the server with the lesson's flags when its `--help` lists
//! them (`--idle-timeout 1`, `--threads 4`: [`Subject::launch_with`]), so a
//! starter that has no such flag yet runs as it is and shows its bug. Then
//! they watch it with real clients (which are answered, which are closed,
//! and when) and through `/proc`: its child processes, their exits and
//! their zombies, its threads, its sockets.

use super::check::{Check, Verdict};
use super::observe::{self, describe_exit, first_error_line, HANG, REAP_GRACE, WAIT};
use super::part4::{get_on, two_requests};
use super::question::{Answer, Measured, Question};
use super::subject::Subject;
use lsbaws_harness::client::{read_response, wait_for_eof, AfterResponse};
use lsbaws_harness::{Exit, Server};
use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The body of the site's `/hello.txt`.
const HELLO_TXT: &[u8] = b"Hello, World!";

/// A request that asks the server to close the connection after it.
const GET_AND_CLOSE: &[u8] = b"GET /hello.txt HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n";

fn connect(server: &Server) -> Result<TcpStream, String> {
    TcpStream::connect(server.addr())
        .map_err(|e| format!("connecting to {} failed: {e}", server.addr()))
}

/// The server's children that have not exited.
fn live_children(server: &Server) -> usize {
    server.children().iter().filter(|c| !c.is_zombie()).count()
}

// ---- 4a: a process per connection, kept alive, let go when idle ------------

/// The idle timeout the 4a checks start the server with.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(1);
/// `--idle-timeout 1`, for a server that has the flag.
const QUICK_IDLE: &[(&str, &str)] = &[("--idle-timeout", "1")];
/// How long past the idle timeout an idle connection may stay open: the
/// socket's timeout wakes its process within milliseconds, but a machine
/// busy compiling may not run it for seconds. A server without a timeout
/// never closes the connection at all, so a long grace costs nothing in
/// what the check tells apart.
pub const IDLE_GRACE: Duration = WAIT;

/// How a server treated two idle clients: one that never says anything,
/// and one that goes quiet after a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleClients {
    /// Whether it was started with `--idle-timeout 1` (it has the flag).
    pub timeout_flag: bool,
    /// Its live child processes while both clients were connected.
    pub children_while_open: usize,
    /// How long after connecting the silent client was closed, if it was
    /// within [`IDLE_TIMEOUT`] + [`IDLE_GRACE`].
    pub silent_closed: Option<Duration>,
    /// Whether the other client got /hello.txt.
    pub answered: bool,
    /// How long after its response it was closed, if it was in time.
    pub quiet_closed: Option<Duration>,
    /// Child processes left, running or zombie, once both were closed.
    pub children_left: usize,
    pub zombies: usize,
}

/// Wait until `deadline` for the server to close `stream` (whatever it
/// sends first, a 408 say, is read and let go); when it did, how long after
/// `since`.
fn closed_by(
    stream: &mut TcpStream,
    since: Instant,
    deadline: Instant,
) -> Result<Option<Duration>, String> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match wait_for_eof(stream, left) {
            Ok(AfterResponse::Eof) => return Ok(Some(since.elapsed())),
            Ok(AfterResponse::MoreData) => {}
            Ok(AfterResponse::Hung) => return Ok(None),
            Err(e) => return Err(format!("waiting for the server to close failed: {e}")),
        }
    }
}

/// Start the server with `--idle-timeout 1` (if it has the flag); connect a
/// client that sends nothing, and one that gets `/hello.txt` (HTTP/1.1:
/// keep-alive) and then says nothing more. Both must be closed within the
/// timeout and [`IDLE_GRACE`]; then every child must have exited and been
/// reaped.
pub fn idle_clients(subject: &Subject) -> Result<IdleClients, String> {
    let server = subject.launch_with(QUICK_IDLE).start()?;
    let mut silent = connect(&server)?;
    let silent_since = Instant::now();
    let mut quiet = connect(&server)?;
    let reading = get_on(&mut quiet, "/hello.txt")?;
    let quiet_since = Instant::now();
    let children_while_open = live_children(&server);
    let limit = IDLE_TIMEOUT + IDLE_GRACE;
    let silent_closed = closed_by(&mut silent, silent_since, silent_since + limit)?;
    let quiet_closed = closed_by(&mut quiet, quiet_since, quiet_since + limit)?;
    let _ = server.wait_until(REAP_GRACE, "every child to exit and be reaped", |s| {
        s.children().is_empty()
    });
    Ok(IdleClients {
        timeout_flag: subject.has_flag("--idle-timeout"),
        children_while_open,
        silent_closed,
        answered: reading.body == HELLO_TXT,
        quiet_closed,
        children_left: server.children().len(),
        zombies: server.zombies(),
    })
}

pub static IDLE_TIMEOUT_CHECK: Check = Check {
    id: "idle-timeout",
    title: "a silent connection is closed, and its child ends",
    expected: "started with `--idle-timeout 1`: a client that sends nothing, and one that goes \
               quiet after its /hello.txt, are each closed within 11 s, and then no child process \
               is left, running or zombie",
    run: |subject| {
        Verdict::from_observation(idle_clients(subject), |seen| {
            let limit = IDLE_TIMEOUT + IDLE_GRACE;
            let flag = if seen.timeout_flag {
                "started with --idle-timeout 1"
            } else {
                "started without --idle-timeout (its --help lists no such flag)"
            };
            let silent = match seen.silent_closed {
                Some(after) => format!("the client that sent nothing was closed after {after:.1?}"),
                None => format!("the client that sent nothing was still connected after {limit:?}"),
            };
            let quiet = match (seen.answered, seen.quiet_closed) {
                (false, _) => "the other client did not get /hello.txt".to_string(),
                (true, Some(after)) => {
                    format!("the one that went quiet after its response was closed {after:.1?} after it")
                }
                (true, None) => format!(
                    "the one that went quiet after its response was still connected {limit:?} after it"
                ),
            };
            let saw = format!(
                "{flag}: {silent}; {quiet}; {} child process(es) while both were connected, {} \
                 left after ({} zombie(s))",
                seen.children_while_open, seen.children_left, seen.zombies
            );
            Verdict::when(
                seen.answered
                    && seen.silent_closed.is_some()
                    && seen.quiet_closed.is_some()
                    && seen.children_left == 0,
                saw,
            )
        })
    },
};

pub static SAME_CONNECTION: Check = Check {
    id: "same-connection",
    title: "two requests are answered on one connection",
    expected: "GET /hello.txt twice on one connection (HTTP/1.1 keep-alive): the connection stays \
               open after the first response, and both are the file's 13 bytes",
    run: |subject| {
        Verdict::from_observation(two_requests(subject), |seen| {
            let saw = format!(
                "the two requests took {} connection(s); the bodies were {:?} and {:?}",
                seen.connections,
                String::from_utf8_lossy(&seen.first.body),
                String::from_utf8_lossy(&seen.second.body)
            );
            Verdict::when(
                seen.connections == 1
                    && seen.first.body == HELLO_TXT
                    && seen.second.body == HELLO_TXT,
                saw,
            )
        })
    },
};

/// What a server did when `fork()` failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForkFailure {
    /// The limit: `ulimit -u 2`.
    pub limit: String,
    /// What the client whose fork failed saw.
    pub refused: String,
    /// Whether a client that came after the first one had left was
    /// answered.
    pub later_answered: bool,
    pub exit: Option<Exit>,
    pub stderr: String,
}

/// Start the server with room for two processes: itself and one child.
/// One client connects and stays (its child fills the room); a second
/// client's `fork()` then fails with EAGAIN. Then the first client leaves
/// (its child exits), and a third client comes.
pub fn when_fork_fails(subject: &Subject) -> Result<ForkFailure, String> {
    // A long idle timeout: the first client's child must stay while the
    // second client comes.
    let launch = subject.launch_with(&[("--idle-timeout", "60")]);
    let (launch, limit) = observe::with_room_for_processes(launch, 2);
    let mut server = launch.start()?;
    let first = connect(&server)?;
    server.wait_until(HANG * 2, "a child process to serve the first client", |s| {
        live_children(s) >= 1
    })?;
    let mut second = connect(&server)?;
    second
        .write_all(GET_AND_CLOSE)
        .map_err(|e| format!("the second client could not send its request: {e}"))?;
    let refused = match read_response(&mut second, HANG * 2) {
        Ok(response) => format!("was answered {:?}", response.status_line()),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            format!("got nothing for {:?}", HANG * 2)
        }
        Err(_) => "was closed without an answer".to_string(),
    };
    drop(first);
    let _ = server.wait_until(WAIT, "the first client's child to exit", |s| {
        live_children(s) == 0
    });
    let _ = server.wait_until(REAP_GRACE, "it to be reaped", |s| s.children().is_empty());
    let later_answered = server.is_running() && {
        let mut later = connect(&server)?;
        later
            .write_all(GET_AND_CLOSE)
            .map_err(|e| format!("the third client could not send its request: {e}"))?;
        read_response(&mut later, WAIT).is_ok_and(|r| r.body == HELLO_TXT)
    };
    Ok(ForkFailure {
        limit: format!("ulimit -u {limit}"),
        refused,
        later_answered,
        exit: server.try_exit(),
        stderr: server.stderr(),
    })
}

pub static FORK_FAILS: Check = Check {
    id: "fork-fails",
    title: "a failed fork() costs one client, not the server",
    expected: "with room for the server and one child (`ulimit -u`), a client holding that child \
               and a second client's fork() failing with EAGAIN: the server says so on stderr, \
               keeps running, and answers a client that comes once the first has left",
    run: |subject| {
        Verdict::from_observation(when_fork_fails(subject), |seen| {
            let server = match seen.exit {
                Some(exit) => format!("the server {}", describe_exit(exit, &seen.stderr)),
                None => format!(
                    "the server kept running (stderr: {})",
                    first_error_line(&seen.stderr)
                ),
            };
            let later = if seen.later_answered {
                "a client after the first had left was answered"
            } else {
                "a client after the first had left was not answered"
            };
            Verdict::when(
                seen.exit.is_none() && seen.later_answered,
                format!(
                    "under `{}`, one client holding the only child: the next client {}; {server}; \
                     {later}",
                    seen.limit, seen.refused
                ),
            )
        })
    },
};

/// How long the silent-child question waits.
const SILENT_FOR: Duration = Duration::from_secs(2);

pub static SILENT_CHILD: Question = Question {
    key: "silent_child",
    ask: "A client connects to webserver3g and sends nothing at all. Two seconds later, is the \
          child process webserver3g forked for it still running? (yes or no)",
    answer: Answer::Choice(&["yes", "no"]),
    measure: |starter| {
        let server = starter.start()?;
        let _silent = connect(&server)?;
        server.wait_until(HANG * 2, "a child process to serve the client", |s| {
            live_children(s) >= 1
        })?;
        std::thread::sleep(SILENT_FOR);
        let alive = live_children(&server);
        Ok(Measured {
            value: if alive > 0 { "yes" } else { "no" }.to_string(),
            story: format!(
                "{}: {SILENT_FOR:?} after a client connected and said nothing, {alive} child \
                 process(es) still running",
                starter.name()
            ),
        })
    },
};

pub static CURL_CONNECTIONS: Question = Question {
    key: "curl_connections",
    ask: "`curl URL URL` asks webserver3g for /hello.txt twice in one run, reusing its \
          connection when the server leaves it open. How many TCP connections does it open?",
    answer: Answer::Number { tolerance: 0 },
    measure: |starter| {
        let seen = two_requests(starter)?;
        Ok(Measured {
            value: seen.connections.to_string(),
            story: format!(
                "{}: the two requests took {} connection(s)",
                starter.name(),
                seen.connections
            ),
        })
    },
};

// ---- 4h: a fixed pool of threads, and the idle clients that hold it ---------

/// The pool the 4h thread count is checked with: `--threads 4`.
pub const POOL: usize = 4;
/// Clients that connect and say nothing, in the thread-count check.
pub const CROWD: usize = 100;

/// Kernel tasks a server runs: its threads, and one per live child process
/// (a forking server does not cheat).
fn tasks(server: &Server) -> usize {
    server.threads() + live_children(server)
}

/// A server with [`CROWD`] silent clients connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crowd {
    /// Whether it was started with `--threads 4` (it has the flag).
    pub threads_flag: bool,
    pub clients: usize,
    /// Its tasks while they were connected: threads, child processes.
    pub tasks: usize,
    /// The sockets it held: the listener and the connections it accepted.
    pub sockets: usize,
}

/// Start the server (with `--threads 4` if it has the flag), connect
/// `clients` clients that say nothing, give it the time to accept them (a
/// thread per connection has one for each by then; a pool has queued them,
/// or left them in the listen queue), and count its tasks.
pub fn silent_crowd(subject: &Subject, clients: usize) -> Result<Crowd, String> {
    let server = subject.launch_with(&[("--threads", "4")]).start()?;
    let streams = (0..clients)
        .map(|n| {
            TcpStream::connect(server.addr())
                .map_err(|e| format!("connecting client {} failed: {e}", n + 1))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let _ = server.wait_until(HANG, "it to take every connection", |s| {
        tasks(s) > clients || super::part4::sockets(s) > clients
    });
    // Time to (wrongly) grow some more, if it does.
    std::thread::sleep(HANG / 5);
    Ok(Crowd {
        threads_flag: subject.has_flag("--threads"),
        clients: streams.len(),
        tasks: tasks(&server),
        sockets: super::part4::sockets(&server),
    })
}

pub static BOUNDED_THREADS: Check = Check {
    id: "bounded-threads",
    title: "the threads do not grow with the clients",
    expected: "started with `--threads 4`, 100 clients connected and silent: the server runs at \
               most 6 threads (the 4 workers, main and one more), child processes counted",
    run: |subject| {
        Verdict::from_observation(silent_crowd(subject, CROWD), |seen| {
            let flag = if seen.threads_flag {
                "started with --threads 4"
            } else {
                "started without --threads (its --help lists no such flag)"
            };
            Verdict::when(
                seen.threads_flag && seen.tasks <= POOL + 2,
                format!(
                    "{flag}: with {} clients connected and silent it held {} socket(s) and ran {} \
                     thread(s), child processes included",
                    seen.clients, seen.sockets, seen.tasks
                ),
            )
        })
    },
};

/// Clients that each ask for /hello.txt at once, in the all-served guard.
pub const RUSH: usize = 100;

/// Connect [`RUSH`] clients, each sending `GET /hello.txt` with
/// `Connection: close` before any response is read, then read every
/// response; how many were answered within [`WAIT`].
pub fn rush(subject: &Subject) -> Result<usize, String> {
    let server = subject.launch_with(&[("--threads", "4")]).start()?;
    let (_streams, answered) = observe::clients_at_once(&server, RUSH, GET_AND_CLOSE, WAIT)?;
    Ok(answered)
}

pub static ALL_SERVED: Check = Check {
    id: "all-served",
    title: "a rush of clients is served, none refused",
    expected: "started with `--threads 4`, 100 clients each send GET /hello.txt before any is \
               answered: all 100 get the file within 10 s",
    run: |subject| {
        Verdict::from_observation(rush(subject), |answered| {
            Verdict::when(
                answered == RUSH,
                format!("{answered} of {RUSH} clients got /hello.txt within {WAIT:?}"),
            )
        })
    },
};

/// A client that comes while others are connected and say nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BehindIdle {
    /// The flags it was started with, of those asked for.
    pub flags: String,
    pub idle: usize,
    /// How long the newcomer waited for its response, if it got one in
    /// time.
    pub answered_in: Option<Duration>,
}

/// Start the server with `flags` (those it has), connect `idle` clients
/// that say nothing and let it take them, then send `GET /hello.txt` on one
/// more connection and wait up to `patience` for the response.
pub fn behind_idle_clients(
    subject: &Subject,
    flags: &[(&str, &str)],
    idle: usize,
    patience: Duration,
) -> Result<BehindIdle, String> {
    let server = subject.launch_with(flags).start()?;
    let _idle = (0..idle)
        .map(|_| connect(&server))
        .collect::<Result<Vec<_>, _>>()?;
    // The idle clients first: a server that takes them in order has them
    // all before the newcomer.
    let _ = server.wait_until(HANG, "it to take the idle connections", |s| {
        tasks(s) > idle || super::part4::sockets(s) > idle
    });
    let mut newcomer = connect(&server)?;
    newcomer
        .write_all(GET_AND_CLOSE)
        .map_err(|e| format!("the newcomer could not send its request: {e}"))?;
    let asked = Instant::now();
    let answered_in = match read_response(&mut newcomer, patience) {
        Ok(response) if response.body == HELLO_TXT => Some(asked.elapsed()),
        Ok(response) => {
            return Err(format!(
                "the newcomer got {:?} with body {:?}, not /hello.txt",
                response.status_line(),
                String::from_utf8_lossy(&response.body)
            ))
        }
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
        Err(e) => return Err(format!("the newcomer's read failed: {e}")),
    };
    let given: Vec<String> = flags
        .iter()
        .filter(|(flag, _)| subject.has_flag(flag))
        .map(|(flag, value)| format!("{flag} {value}"))
        .collect();
    Ok(BehindIdle {
        flags: given.join(" "),
        idle,
        answered_in,
    })
}

/// `--threads 2 --idle-timeout 1`: the pool and timeout of the idle check.
const SMALL_POOL: &[(&str, &str)] = &[("--threads", "2"), ("--idle-timeout", "1")];
/// Idle clients in the idle check: twice the pool.
const IDLE_AHEAD: usize = 4;
/// How long the newcomer may wait: two rounds of the idle timeout (the
/// pool frees two workers a second), and [`IDLE_GRACE`] for a loaded
/// machine. A pool whose idle clients are never let go answers it never.
const NEWCOMER_PATIENCE: Duration = Duration::from_secs(2).saturating_add(IDLE_GRACE);

pub static IDLE_LET_GO: Check = Check {
    id: "idle-let-go",
    title: "idle clients do not hold the server for ever",
    expected: "started with `--threads 2 --idle-timeout 1`: with 4 clients connected and silent, \
               a fifth client's GET /hello.txt is answered within 12 s",
    run: |subject| {
        let seen = behind_idle_clients(subject, SMALL_POOL, IDLE_AHEAD, NEWCOMER_PATIENCE);
        Verdict::from_observation(seen, |seen| {
            let started = if seen.flags.is_empty() {
                "started without --threads or --idle-timeout".to_string()
            } else {
                format!("started with {}", seen.flags)
            };
            match seen.answered_in {
                Some(waited) => Verdict::pass(format!(
                    "{started}: with {} silent clients connected, the next one was answered after \
                     {waited:.1?}",
                    seen.idle
                )),
                None => Verdict::fail(format!(
                    "{started}: with {} silent clients connected, the next one was still waiting \
                     after {NEWCOMER_PATIENCE:?}",
                    seen.idle
                )),
            }
        })
    },
};

pub static THREADS_FOR_100: Question = Question {
    key: "threads_for_100",
    ask: "100 clients connect to webserver4b and send nothing. How many threads does webserver4b \
          run while they are connected (`grep Threads /proc/PID/status`)?",
    answer: Answer::Number { tolerance: 2 },
    measure: |starter| {
        let seen = silent_crowd(starter, CROWD)?;
        Ok(Measured {
            value: seen.tasks.to_string(),
            story: format!(
                "{}: with {} clients connected and silent it ran {} thread(s)",
                starter.name(),
                seen.clients,
                seen.tasks
            ),
        })
    },
};

pub static NINTH_CLIENT: Question = Question {
    key: "ninth_client",
    ask: "8 clients are connected to webserver4b and send nothing. Is a ninth client's request \
          answered within a second? (yes or no)",
    answer: Answer::Choice(&["yes", "no"]),
    measure: |starter| {
        let seen = behind_idle_clients(starter, &[], 8, HANG)?;
        Ok(Measured {
            value: if seen.answered_in.is_some() {
                "yes"
            } else {
                "no"
            }
            .to_string(),
            story: match seen.answered_in {
                Some(waited) => format!(
                    "{}: with 8 silent clients connected, a ninth was answered in {waited:.1?}",
                    starter.name()
                ),
                None => format!(
                    "{}: with 8 silent clients connected, a ninth was still waiting after {HANG:?}",
                    starter.name()
                ),
            },
        })
    },
};
