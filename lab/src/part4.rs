//! The checks and questions of Part 4's exercises (the servers that serve
//! the sample site): keep-alive with Content-Length (4d), epoll instead of
//! a busy loop (4e), a coroutine per connection instead of a thread (4f).
//!
//! They look at the server through the harness's `/proc` readings:
//! [`lsbaws_harness::Server::descriptors`] shows an `anon_inode:[eventpoll]`
//! and whether each socket is `O_NONBLOCK`,
//! [`lsbaws_harness::Server::sched_times`] tells a sleeping loop from a
//! spinning one, and [`lsbaws_harness::Server::threads`] counts threads (a
//! coroutine server serves many clients on few).

use super::check::{Check, Verdict};
use super::observe;
use super::question::{Answer, Measured, Question};
use super::subject::Subject;
use lsbaws_harness::client::exchange;
use lsbaws_harness::Server;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Upper bound for anything that should happen "at once".
pub const WAIT: Duration = Duration::from_secs(10);
/// How long silence must last to call a connection hung.
pub const HANG: Duration = Duration::from_secs(1);

/// How a client found the end of a response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEnd {
    /// A `Content-Length` said how long it was.
    ContentLength,
    /// No length was given; the server closed the connection after it.
    Close,
    /// No length was given and the connection stayed open: the client has
    /// the body but cannot know that it is complete.
    Unknown,
}

/// One response as a client without prior knowledge reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    pub head: String,
    pub body: Vec<u8>,
    pub end: BodyEnd,
}

/// Send `GET path` (HTTP/1.1, no `Connection` header: keep-alive is what
/// the client would like) on `stream` and read the response the way curl
/// does: `Content-Length` bytes if there is one, otherwise until the server
/// closes the connection (or [`HANG`] passes in silence).
pub fn get_on(stream: &mut TcpStream, path: &str) -> Result<Reading, String> {
    let addr = stream
        .peer_addr()
        .map_err(|e| format!("the connection is gone: {e}"))?;
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .map_err(|e| format!("sending GET {path} failed: {e}"))?;
    let deadline = Instant::now() + WAIT;
    let mut data = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).into_owned();
            if let Some(length) = content_length(&head) {
                if data.len() >= end + 4 + length {
                    let body = data[end + 4..end + 4 + length].to_vec();
                    return Ok(Reading {
                        head,
                        body,
                        end: BodyEnd::ContentLength,
                    });
                }
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("waited {WAIT:?} for the response to GET {path}"));
        }
        stream
            .set_read_timeout(Some(left.min(HANG)))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut buf) {
            Ok(0) => return split(data, BodyEnd::Close, path),
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e)
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
                    && !data.is_empty() =>
            {
                return split(data, BodyEnd::Unknown, path);
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset && data.is_empty() => {
                return Err(format!(
                    "the server reset the connection instead of answering GET {path}"
                ));
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Err(format!("reading the response to GET {path} failed: {e}")),
        }
    }
}

/// A response read without a length: head, then whatever came.
fn split(data: Vec<u8>, end: BodyEnd, path: &str) -> Result<Reading, String> {
    let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Err(format!(
            "no complete response head to GET {path} ({} bytes, then {end:?})",
            data.len()
        ));
    };
    Ok(Reading {
        head: String::from_utf8_lossy(&data[..at]).into_owned(),
        body: data[at + 4..].to_vec(),
        end,
    })
}

fn content_length(head: &str) -> Option<usize> {
    head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())?
    })
}

/// The sockets the server holds (`socket:[...]` in `/proc/PID/fd`).
pub(crate) fn sockets(server: &Server) -> usize {
    server
        .descriptors()
        .iter()
        .filter(|d| d.is_socket())
        .count()
}

/// A client asking for /hello.txt twice, as `curl URL URL` does: the
/// second request goes on the same connection if the server left it open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwoRequests {
    pub first: Reading,
    /// Sockets the server held after the first response: the listening
    /// socket, plus the client's connection if it was kept open.
    pub sockets_between: usize,
    /// TCP connections the two requests took.
    pub connections: usize,
    pub second: Reading,
}

pub fn two_requests(subject: &Subject) -> Result<TwoRequests, String> {
    let server = subject.start()?;
    let connect =
        || TcpStream::connect(server.addr()).map_err(|e| format!("connecting failed: {e}"));
    let mut stream = connect()?;
    let first = get_on(&mut stream, "/hello.txt")?;
    // Give a server that closes after a response the moment it needs.
    let _ = server.wait_until(HANG / 4, "the server to close the connection", |s| {
        sockets(s) < 2
    });
    let sockets_between = sockets(&server);
    let mut connections = 1;
    let second = match (first.end, get_on(&mut stream, "/hello.txt")) {
        (BodyEnd::ContentLength, Ok(second)) => second,
        _ => {
            connections += 1;
            get_on(&mut connect()?, "/hello.txt")?
        }
    };
    Ok(TwoRequests {
        first,
        sockets_between,
        connections,
        second,
    })
}

/// GET each of `paths` on a connection of its own with `Connection: close`
/// and compare the body with the file in the site; what did not match.
pub fn serves_site_files(subject: &Subject, paths: &[&str]) -> Result<Vec<String>, String> {
    let server = subject.start()?;
    let root = lsbaws::http::site::default_root();
    let mut problems = Vec::new();
    for path in paths {
        let request = format!("GET {path} HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n");
        let data = exchange(server.addr(), request.as_bytes(), WAIT)
            .map_err(|e| format!("GET {path}: {e}"))?;
        let expected = std::fs::read(root.join(path.trim_start_matches('/')))
            .map_err(|e| format!("reading the site's {path}: {e}"))?;
        let body = data
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|at| &data[at + 4..]);
        if body != Some(&expected[..]) {
            problems.push(format!(
                "GET {path}: {} bytes, not the {} bytes of the file",
                body.map_or(0, <[u8]>::len),
                expected.len()
            ));
        }
    }
    Ok(problems)
}

pub static CONTENT_LENGTH: Check = Check {
    id: "content-length",
    title: "every response says how long its body is",
    expected: "GET /hello.txt is answered with `Content-Length: 13` and the 13 bytes of the file",
    run: |subject| {
        Verdict::from_observation(two_requests(subject), |seen| {
            match (seen.first.end, content_length(&seen.first.head)) {
            (BodyEnd::ContentLength, Some(length)) if length == seen.first.body.len() && seen.first.body == b"Hello, World!" => {
                Verdict::pass(format!("Content-Length: {length}"))
            }
            (BodyEnd::ContentLength, length) => Verdict::fail(format!(
                "Content-Length: {length:?}, with body {:?}",
                String::from_utf8_lossy(&seen.first.body)
            )),
            (BodyEnd::Close, _) => Verdict::fail(
                "no Content-Length: the client knew the body was complete only when the server closed the connection",
            ),
            (BodyEnd::Unknown, _) => Verdict::fail(format!(
                "no Content-Length, and the connection stayed open: after {HANG:?} the client still could not \
                 tell whether the body was complete"
            )),
        }
        })
    },
};

pub static KEEP_ALIVE: Check = Check {
    id: "keep-alive",
    title: "a second request reuses the connection",
    expected: "after the first response the server still holds the client's socket (2 sockets in \
               /proc/PID/fd: the listener and the connection), and a second GET on it is answered",
    run: |subject| {
        Verdict::from_observation(two_requests(subject), |seen| {
            let saw = format!(
                "{} socket(s) held between the requests; the two requests took {} connection(s)",
                seen.sockets_between, seen.connections
            );
            Verdict::when(
                seen.connections == 1
                    && seen.sockets_between >= 2
                    && seen.second.body == b"Hello, World!",
                saw,
            )
        })
    },
};

pub static SERVES_SITE: Check = Check {
    id: "site",
    title: "the site's files are served whole",
    expected: "GET /, /hello.txt, /style.css and an image, each with `Connection: close`: every body is the file",
    run: |subject| {
        let paths = ["/index.html", "/hello.txt", "/style.css", "/images/icon.png"];
        Verdict::from_problems(serves_site_files(subject, &paths), "all four served whole")
    },
};

pub static CONNECTIONS_FOR_TWO: Question = Question {
    key: "connections_for_two",
    ask: "`curl URL URL` asks webserver4c for /hello.txt twice in one run, reusing its connection \
          when it can. How many TCP connections does it open?",
    answer: Answer::Number { tolerance: 0 },
    measure: |starter| {
        let seen = two_requests(starter)?;
        Ok(Measured {
            value: seen.connections.to_string(),
            story: format!(
                "{}: the first response ended by {:?}; the two requests took {} connection(s)",
                starter.name(),
                seen.first.end,
                seen.connections
            ),
        })
    },
};

pub static BODY_END: Question = Question {
    key: "body_end",
    ask: "How does a client of webserver4c know that it has the whole body of a response: a \
          Content-Length header says so, or the server closes the connection?",
    answer: Answer::Choice(&["content-length", "close"]),
    measure: |starter| {
        let seen = two_requests(starter)?;
        let value = match seen.first.end {
            BodyEnd::ContentLength => "content-length",
            BodyEnd::Close => "close",
            BodyEnd::Unknown => "neither",
        };
        let length = match content_length(&seen.first.head) {
            Some(length) => format!("says Content-Length: {length}"),
            None => "has no Content-Length".to_string(),
        };
        Ok(Measured {
            value: value.to_string(),
            story: format!(
                "{}: the response {length}; its body ended by {:?}",
                starter.name(),
                seen.first.end
            ),
        })
    },
};

// ---- 4e: epoll instead of a busy loop -------------------------------------

/// How long an idle server is watched.
pub const IDLE_WINDOW: Duration = Duration::from_secs(1);

/// What an idle server did with the CPU over [`IDLE_WINDOW`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdleCpu {
    pub window: Duration,
    /// CPU time used (`ps`'s TIME column grew by this much).
    pub used: Duration,
    /// CPU time the main thread *wanted*: time on a CPU plus time runnable
    /// and waiting for one (`/proc/PID/schedstat`). A spinning loop wants
    /// the whole window even when a busy machine gives it less.
    pub wanted: Duration,
}

impl IdleCpu {
    /// The share of one core the server wanted, as `ps -o %cpu` would show
    /// on an idle machine.
    pub fn percent(&self) -> u128 {
        self.wanted.as_micros() * 100 / self.window.as_micros().max(1)
    }

    /// Sleeping, not spinning: it wanted less than a fifth of a core.
    pub fn sleeps(&self) -> bool {
        self.percent() < 20
    }
}

/// Start the server, connect nobody, and watch its CPU time for
/// [`IDLE_WINDOW`].
pub fn idle_cpu(subject: &Subject) -> Result<IdleCpu, String> {
    let mut server = subject.start()?;
    let wanted = |s: &Server| {
        let (on_cpu, waiting) = s.sched_times();
        on_cpu + waiting
    };
    let (used_before, wanted_before, started) =
        (server.cpu_time(), wanted(&server), Instant::now());
    std::thread::sleep(IDLE_WINDOW);
    let (used_after, wanted_after, window) =
        (server.cpu_time(), wanted(&server), started.elapsed());
    if !server.is_running() {
        return Err(format!("{} exited while idle", subject.name()));
    }
    let used = used_after.saturating_sub(used_before);
    Ok(IdleCpu {
        window,
        used,
        // What it got is a floor of what it wanted (and all there is on a
        // kernel without schedstat).
        wanted: wanted_after.saturating_sub(wanted_before).max(used),
    })
}

/// The server's descriptors while one keep-alive client is connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopDescriptors {
    /// `anon_inode:[eventpoll]` descriptors.
    pub epolls: usize,
    /// Sockets: the listener and the client's connection.
    pub sockets: usize,
    /// Those of them in `O_NONBLOCK` mode.
    pub nonblocking: usize,
}

/// Connect, get /hello.txt, and read `/proc/PID/fd` and `fdinfo` while the
/// connection is still open.
pub fn loop_descriptors(subject: &Subject) -> Result<LoopDescriptors, String> {
    let server = subject.start()?;
    let mut stream =
        TcpStream::connect(server.addr()).map_err(|e| format!("connecting failed: {e}"))?;
    get_on(&mut stream, "/hello.txt")?;
    let descriptors = server.descriptors();
    let sockets = || descriptors.iter().filter(|d| d.is_socket());
    Ok(LoopDescriptors {
        epolls: descriptors.iter().filter(|d| d.is_epoll()).count(),
        sockets: sockets().count(),
        nonblocking: sockets().filter(|d| d.is_nonblocking()).count(),
    })
}

pub static IDLE_CPU: Check = Check {
    id: "idle-cpu",
    title: "an idle server sleeps",
    expected:
        "with no client connected, the server wants less than a fifth of a core over a second \
               (its CPU time, /proc/PID/stat and schedstat, stays nearly flat)",
    run: |subject| {
        Verdict::from_observation(idle_cpu(subject), |seen| {
            Verdict::when(
                seen.sleeps(),
                format!(
                    "idle for {:.1?}: wanted {:.0?} of CPU ({}% of a core), got {:.0?}",
                    seen.window,
                    seen.wanted,
                    seen.percent(),
                    seen.used
                ),
            )
        })
    },
};

pub static EPOLL: Check = Check {
    id: "epoll",
    title: "the server waits in epoll",
    expected:
        "while a client is connected, /proc/PID/fd holds an `anon_inode:[eventpoll]` descriptor",
    run: |subject| {
        Verdict::from_observation(loop_descriptors(subject), |seen| {
            Verdict::when(
                seen.epolls >= 1,
                format!(
                    "{} eventpoll descriptor(s) beside {} socket(s)",
                    seen.epolls, seen.sockets
                ),
            )
        })
    },
};

pub static NONBLOCKING: Check = Check {
    id: "nonblocking",
    title: "every socket is non-blocking",
    expected:
        "the listener and the client's connection are both O_NONBLOCK (/proc/PID/fdinfo flags)",
    run: |subject| {
        Verdict::from_observation(loop_descriptors(subject), |seen| {
            Verdict::when(
                seen.sockets >= 2 && seen.nonblocking == seen.sockets,
                format!(
                    "{} of {} socket(s) O_NONBLOCK",
                    seen.nonblocking, seen.sockets
                ),
            )
        })
    },
};

/// Where an idle server's threads sleep, and how often they wake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asleep {
    pub window: Duration,
    /// Each thread's `/proc/PID/task/TID/wchan`: `ep_poll` while asleep in
    /// epoll_wait(2), `hrtimer_nanosleep` in a sleep, `running` on a CPU.
    pub wchans: Vec<String>,
    /// Times its threads gave up the CPU to wait (`voluntary_ctxt_switches`
    /// of `/proc/PID/task/*/status`) during the window: a thread asleep
    /// until a client speaks wakes never; one that naps 1 ms, ~1000 times.
    pub wakeups: u64,
}

/// Wakes an asleep server may have in [`IDLE_WINDOW`] and still count as
/// asleep.
pub const FEW_WAKEUPS: u64 = 20;

impl Asleep {
    pub fn in_epoll(&self) -> bool {
        self.wchans
            .iter()
            .any(|w| w == "ep_poll" || w == "do_epoll_wait")
    }
}

/// (tid, wchan, voluntary context switches) of each thread of `pid`.
fn tasks(pid: i32) -> Vec<(String, String, u64)> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|entry| {
            let tid = entry.file_name().to_string_lossy().into_owned();
            let dir = entry.path();
            let wchan = super::observe::wchan_in(&dir);
            let switches = std::fs::read_to_string(dir.join("status"))
                .ok()
                .and_then(|status| {
                    status.lines().find_map(|line| {
                        line.strip_prefix("voluntary_ctxt_switches:")?
                            .trim()
                            .parse()
                            .ok()
                    })
                })
                .unwrap_or(0);
            (tid, wchan, switches)
        })
        .collect()
}

/// Connect a keep-alive client, get /hello.txt, then leave the connection
/// open and idle for [`IDLE_WINDOW`]: where do the server's threads sleep,
/// and how often do they wake?
pub fn asleep_while_idle(subject: &Subject) -> Result<Asleep, String> {
    let mut server = subject.start()?;
    let mut stream =
        TcpStream::connect(server.addr()).map_err(|e| format!("connecting failed: {e}"))?;
    get_on(&mut stream, "/hello.txt")?;
    let pid = server.pid().as_raw();
    let wakeups = |tasks: &[(String, String, u64)]| tasks.iter().map(|t| t.2).sum::<u64>();
    let (before, started) = (wakeups(&tasks(pid)), Instant::now());
    std::thread::sleep(IDLE_WINDOW);
    let after = tasks(pid);
    if !server.is_running() {
        return Err(format!("{} exited while idle", subject.name()));
    }
    Ok(Asleep {
        window: started.elapsed(),
        wchans: after.iter().map(|t| t.1.clone()).collect(),
        wakeups: wakeups(&after).saturating_sub(before),
    })
}

pub static ASLEEP_IN_EPOLL: Check = Check {
    id: "asleep-in-epoll",
    title: "an idle server is asleep in epoll_wait",
    expected: "with a keep-alive client connected and silent for a second, a thread of the server \
               is asleep in epoll_wait (`ep_poll` in /proc/PID/task/*/wchan) and its threads woke \
               fewer than 20 times (voluntary_ctxt_switches)",
    run: |subject| {
        Verdict::from_observation(asleep_while_idle(subject), |seen| {
            let saw = format!(
                "idle for {:.1?}: threads asleep in [{}]; they woke {} times",
                seen.window,
                seen.wchans.join(", "),
                seen.wakeups
            );
            if !seen.in_epoll() {
                Verdict::fail(format!("{saw}: no thread waits in epoll_wait"))
            } else if seen.wakeups >= FEW_WAKEUPS {
                Verdict::fail(format!(
                    "{saw}: asleep in epoll_wait, but woken again and again (a timeout, or a \
                     loop that naps)"
                ))
            } else {
                Verdict::pass(saw)
            }
        })
    },
};

pub static IDLE_SPINS: Question = Question {
    key: "idle_cpu",
    ask: "With no client connected for a second, what does webserver4d do with the CPU: sleep \
          (`sleeps`, close to 0% in `ps -o %cpu`) or spin (`spins`, close to a whole core)?",
    answer: Answer::Choice(&["sleeps", "spins"]),
    measure: |starter| {
        let seen = idle_cpu(starter)?;
        Ok(Measured {
            value: if seen.sleeps() { "sleeps" } else { "spins" }.to_string(),
            story: format!(
                "{} idle for {:.1?}: it wanted {:.0?} of CPU, {}% of a core",
                starter.name(),
                seen.window,
                seen.wanted,
                seen.percent()
            ),
        })
    },
};

// ---- 4f: a coroutine per connection ---------------------------------------

/// Clients held open at once by the 4f check.
pub const MANY_CLIENTS: usize = 200;
/// How long the many clients may take, together, to be answered.
pub const MANY_WAIT: Duration = Duration::from_secs(5);

/// A server with [`MANY_CLIENTS`] connected, each answered once and kept
/// open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManyClients {
    pub connected: usize,
    pub answered: usize,
    /// Kernel tasks the server runs: its threads, plus one per child
    /// process (a forking server does not cheat).
    pub tasks: usize,
}

/// Threads a server that runs its connections on a few workers may need:
/// one worker per core, the main thread, and a few helpers (may's timer).
pub fn few_tasks() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()) + 4
}

/// Connect [`MANY_CLIENTS`] clients, send each `GET /hello.txt`, read
/// every response within [`MANY_WAIT`], and count the server's tasks while
/// every connection is still open.
pub fn many_clients(subject: &Subject) -> Result<ManyClients, String> {
    let server = subject.start()?;
    let (streams, answered) = observe::clients_at_once(
        &server,
        MANY_CLIENTS,
        b"GET /hello.txt HTTP/1.1\r\nHost: lab\r\n\r\n",
        MANY_WAIT,
    )?;
    let tasks = server.threads() + server.children().len();
    Ok(ManyClients {
        connected: streams.len(),
        answered,
        tasks,
    })
}

pub static FEW_THREADS: Check = Check {
    id: "few-threads",
    title: "many clients are served on a few threads",
    expected: "200 clients connected at once each get /hello.txt and stay connected, while the \
               server runs no more threads than its workers and a few helpers (one per core, plus 4)",
    run: |subject| {
        Verdict::from_observation(many_clients(subject), |seen| {
            let limit = few_tasks();
            let saw = format!(
                "{} of {} clients answered within {MANY_WAIT:?}; while they were connected the \
                 server ran {} thread(s), child processes included (at most {limit} expected)",
                seen.answered, seen.connected, seen.tasks
            );
            Verdict::when(seen.answered == seen.connected && seen.tasks <= limit, saw)
        })
    },
};

pub static THREADS_FOR_200: Question = Question {
    key: "threads_for_200",
    ask: "200 clients are connected to webserver4b at once, each has had its response and keeps \
          its connection open. How many threads does webserver4b run (`grep Threads \
          /proc/PID/status`)?",
    answer: Answer::Number { tolerance: 2 },
    measure: |starter| {
        let seen = many_clients(starter)?;
        Ok(Measured {
            value: seen.tasks.to_string(),
            story: format!(
                "{}: {} of {} clients answered; it ran {} thread(s) while they were connected",
                starter.name(),
                seen.answered,
                seen.connected,
                seen.tasks
            ),
        })
    },
};
