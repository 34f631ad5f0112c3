//! The checks and questions of Part 4's exercises (the event-loop servers
//! that serve the sample site): keep-alive with Content-Length (4d).
//!
//! To add 4e (epoll) and 4f (coroutines), the experiments they need are
//! already in the harness: [`crate::harness::Server::descriptors`] shows an
//! `anon_inode:[eventpoll]` and whether each socket is `O_NONBLOCK`,
//! [`crate::harness::Server::cpu_time`] and `sched_times` tell a sleeping
//! loop from a spinning one, and [`crate::harness::Server::threads`] counts
//! threads (a coroutine server serves many clients on few).

use super::check::{Check, Verdict};
use super::question::{Answer, Measured, Question};
use super::subject::Subject;
use crate::harness::client::exchange;
use crate::harness::Server;
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
fn sockets(server: &Server) -> usize {
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
    let root = crate::http::site::default_root();
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
