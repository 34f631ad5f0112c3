//! The checks and the question of the 4f-blocking exercise: a coroutine
//! server whose `/slow?ms=N` path waits with a call that blocks the worker
//! thread, so that with one worker every other client waits out the sleep.
//!
//! Each experiment starts the server with `--workers 1` and without
//! `--quiet`: the line `"GET /slow?ms=N HTTP/1.0" sleeping N ms` that the
//! library prints when the wait begins is the readiness signal (a sleep is
//! under way), and the access-log line printed when it is answered says it
//! is over. Who was answered first is read from the kernel, not from a
//! clock: when the quick client has its whole answer, is the slow client's
//! answer already in its socket?

use super::check::{Check, Verdict};
use super::question::{Answer, Measured, Question};
use super::subject::Subject;
use lsbaws_harness::client::exchange;
use lsbaws_harness::{Launch, Server};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// How long the slow request sleeps while another client asks for a page.
/// Long enough that the quick client, answered at once by a server that
/// does not stall, is answered well before it ends, even on a busy machine.
pub const SLOW_MS: u64 = 3000;
/// Slow requests sent at once by [`sleep_together`].
pub const TOGETHER: usize = 16;
/// How long each of them sleeps.
pub const TOGETHER_MS: u64 = 2000;
/// Upper bound for anything that should happen at once, and for a sleep to
/// begin.
pub const WAIT: Duration = Duration::from_secs(10);

/// The server on one worker thread, printing its lines.
fn one_worker(subject: &Subject) -> Result<Server, String> {
    Launch::path(subject.path())
        .args(["--workers", "1"])
        .start()
}

/// Send `GET path` on a new connection, HTTP/1.0: the server closes after
/// answering. The answer is read later.
fn send(server: &Server, path: &str) -> Result<TcpStream, String> {
    let mut stream =
        TcpStream::connect(server.addr()).map_err(|e| format!("connecting failed: {e}"))?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
        .map_err(|e| format!("sending GET {path} failed: {e}"))?;
    Ok(stream)
}

/// Read the rest of an answer, until the server closes.
fn answer(mut stream: TcpStream, path: &str, timeout: Duration) -> Result<String, String> {
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let mut data = Vec::new();
    stream
        .read_to_end(&mut data)
        .map_err(|e| format!("reading the answer to GET {path} failed: {e}"))?;
    Ok(String::from_utf8_lossy(&data).into_owned())
}

/// Lines of the server's output holding `needle`.
fn lines_with(server: &Server, needle: &str) -> usize {
    server
        .stdout()
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

/// What happened to a quick client while a slow request slept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlowAndQuick {
    /// From the server saying it sleeps to the quick client's whole answer.
    pub quick_waited: Duration,
    /// When the quick client had its answer, the slow client's answer was
    /// already in its socket: the quick one was served after it.
    pub slow_answered_first: bool,
}

/// A client asks `/slow?ms=SLOW_MS`; once the server says it is sleeping, a
/// second client asks `/hello.txt`. Was the second answered while the first
/// slept?
pub fn slow_and_quick(subject: &Subject) -> Result<SlowAndQuick, String> {
    let server = one_worker(subject)?;
    let slow_path = format!("/slow?ms={SLOW_MS}");
    let slow = send(&server, &slow_path)?;
    server.wait_until(WAIT, "the slow request to start sleeping", |s| {
        lines_with(s, "sleeping") >= 1
    })?;
    let start = Instant::now();
    let quick = exchange(
        server.addr(),
        b"GET /hello.txt HTTP/1.0\r\n\r\n",
        WAIT + Duration::from_millis(SLOW_MS),
    )
    .map_err(|e| format!("GET /hello.txt during the sleep: {e}"))?;
    let quick_waited = start.elapsed();
    if !quick.starts_with(b"HTTP/1.1 200") {
        return Err(format!(
            "GET /hello.txt during the sleep was answered {:?}",
            String::from_utf8_lossy(&quick[..quick.len().min(40)])
        ));
    }
    // One worker writes one answer at a time: a server that served the
    // quick client after the slow one wrote the slow answer first.
    slow.set_nonblocking(true).map_err(|e| e.to_string())?;
    let slow_answered_first = match slow.peek(&mut [0u8; 1]) {
        Ok(_) => true,
        Err(e) if e.kind() == ErrorKind::WouldBlock => false,
        Err(e) => return Err(format!("looking at the slow client's socket failed: {e}")),
    };
    slow.set_nonblocking(false).map_err(|e| e.to_string())?;
    let slow_answer = answer(slow, &slow_path, WAIT + Duration::from_millis(SLOW_MS))?;
    if !slow_answer.ends_with(&format!("slept {SLOW_MS} ms\n")) {
        return Err(format!("GET {slow_path} was answered {slow_answer:?}"));
    }
    Ok(SlowAndQuick {
        quick_waited,
        slow_answered_first,
    })
}

/// How many of [`TOGETHER`] slow requests, sent at once, were sleeping at
/// the same time before the first was answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Together {
    pub sleeping: usize,
    pub answered: bool,
}

/// Send [`TOGETHER`] requests for `/slow?ms=TOGETHER_MS` at once and wait
/// until all say they sleep or one is answered.
pub fn sleep_together(subject: &Subject) -> Result<Together, String> {
    let server = one_worker(subject)?;
    let path = format!("/slow?ms={TOGETHER_MS}");
    let answered_line = format!("\"GET {path} HTTP/1.0\" 200");
    let _clients = (0..TOGETHER)
        .map(|_| send(&server, &path))
        .collect::<Result<Vec<_>, _>>()?;
    let seen = |s: &Server| (lines_with(s, "sleeping"), lines_with(s, &answered_line) > 0);
    server.wait_until(
        WAIT + Duration::from_millis(TOGETHER_MS),
        "every slow request to sleep, or the first to be answered",
        |s| {
            let (sleeping, answered) = seen(s);
            sleeping >= TOGETHER || answered
        },
    )?;
    // Read once: every "sleeping" line before the first answer's line.
    let out = server.stdout();
    let before = out.split(&answered_line).next().unwrap_or_default();
    Ok(Together {
        sleeping: before.matches("sleeping").count(),
        answered: out.contains(&answered_line),
    })
}

/// How much CPU the server used over [`IDLE_WINDOW`] while one request
/// slept (and nothing else happened).
pub fn cpu_while_sleeping(subject: &Subject) -> Result<Duration, String> {
    let server = one_worker(subject)?;
    let slow = send(&server, &format!("/slow?ms={SLOW_MS}"))?;
    server.wait_until(WAIT, "the slow request to start sleeping", |s| {
        lines_with(s, "sleeping") >= 1
    })?;
    let before = server.cpu_time();
    std::thread::sleep(IDLE_WINDOW);
    let used = server.cpu_time().saturating_sub(before);
    drop(slow);
    Ok(used)
}

/// How long [`cpu_while_sleeping`] watches.
pub const IDLE_WINDOW: Duration = Duration::from_secs(1);
/// The most CPU a server may use over [`IDLE_WINDOW`] while a request
/// sleeps: a quarter of a core (a waiting server uses next to none; one
/// that spins, most of a core even on a busy machine).
pub const IDLE_MAX: Duration = Duration::from_millis(250);

pub static SLEEP_IS_IDLE: Check = Check {
    id: "sleep-is-idle",
    title: "a sleeping request costs no CPU",
    expected:
        "started with --workers 1: while GET /slow?ms=3000 sleeps, the server uses less than \
               a quarter of a core over a second (its CPU time, /proc/PID/stat)",
    run: |subject| {
        Verdict::from_observation(cpu_while_sleeping(subject), |used| {
            Verdict::when(
                used < IDLE_MAX,
                format!("it used {used:.0?} of CPU in {IDLE_WINDOW:?} while the request slept"),
            )
        })
    },
};

pub static OTHERS_SERVED: Check = Check {
    id: "others-served",
    title: "a slow request stalls nobody",
    expected: "started with --workers 1 (and its log, which says when a sleep begins): while \
               GET /slow?ms=3000 sleeps, GET /hello.txt on another connection is answered, before \
               the slow one",
    run: |subject| {
        Verdict::from_observation(slow_and_quick(subject), |seen| {
            Verdict::when(
                !seen.slow_answered_first,
                if seen.slow_answered_first {
                    format!(
                        "/hello.txt was answered only after the slow request, {:.1?} after the \
                         server said it was sleeping: the whole worker slept",
                        seen.quick_waited
                    )
                } else {
                    format!(
                        "/hello.txt was answered in {:.0?}, while the slow request slept",
                        seen.quick_waited
                    )
                },
            )
        })
    },
};

pub static SLEEP_TOGETHER: Check = Check {
    id: "sleep-together",
    title: "slow requests sleep side by side",
    expected: "started with --workers 1 (and its log): all of 16 requests for /slow?ms=2000 \
               sent at once are sleeping before the first of them is answered",
    run: |subject| {
        Verdict::from_observation(sleep_together(subject), |seen| {
            Verdict::when(
                seen.sleeping >= TOGETHER,
                format!(
                    "{} of {TOGETHER} were sleeping {}",
                    seen.sleeping,
                    if seen.answered {
                        "when the first was answered"
                    } else {
                        "at once"
                    }
                ),
            )
        })
    },
};

pub static STILL_WAITS: Check = Check {
    id: "still-waits",
    title: "the slow path still waits",
    expected: "GET /slow?ms=1000 is answered `slept 1000 ms`, no sooner than a second after it \
               was sent",
    run: |subject| {
        let observed = (|| {
            let server = subject.start()?;
            let start = Instant::now();
            let data = exchange(server.addr(), b"GET /slow?ms=1000 HTTP/1.0\r\n\r\n", WAIT)
                .map_err(|e| format!("GET /slow?ms=1000: {e}"))?;
            Ok((start.elapsed(), String::from_utf8_lossy(&data).into_owned()))
        })();
        Verdict::from_observation(observed, |(took, text): (Duration, String)| {
            Verdict::when(
                took >= Duration::from_millis(1000) && text.ends_with("slept 1000 ms\n"),
                format!(
                    "answered after {took:.1?}: {:?}",
                    text.lines().last().unwrap_or_default()
                ),
            )
        })
    },
};

pub static SECOND_CLIENT: Question = Question {
    key: "second_client",
    ask: "The starter runs with `--workers 1`. One client asks /slow?ms=3000; while it sleeps, \
          a second client asks /hello.txt. Is the second client answered `before` the slow one \
          or `after` it?",
    answer: Answer::Choice(&["before", "after"]),
    measure: |starter| {
        let seen = slow_and_quick(starter)?;
        Ok(Measured {
            value: if seen.slow_answered_first {
                "after"
            } else {
                "before"
            }
            .to_string(),
            story: format!(
                "{} with --workers 1: /hello.txt was answered {:.1?} after the slow request began \
                 to sleep, {} it",
                starter.name(),
                seen.quick_waited,
                if seen.slow_answered_first {
                    "after"
                } else {
                    "before"
                }
            ),
        })
    },
};
