//! The checks and questions of exercise 4p: lift select's FD_SETSIZE limit
//! (webserver4s → webserver4p).
//!
//! The experiment is the chapter's crowd: the server runs under
//! `ulimit -n 4096`, so that its descriptors can pass 1023, and 1,100
//! clients connect, each asking for /hello.txt. A server on `select(2)`
//! cannot watch a descriptor numbered `FD_SETSIZE` (1024) or more; one that
//! has lifted the limit answers every client.

use super::check::{Check, Verdict};
use super::question::{Answer, Measured, Question};
use super::subject::Subject;
use lsbaws_harness::client::read_response;
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Clients in the crowd: enough to run past descriptor 1023.
pub const CROWD: usize = 1100;
/// `ulimit -n` of the server: room for the whole crowd, so that the limit
/// it meets is select's, not the process's.
pub const CROWD_NOFILE: u64 = 4096;
/// `select(2)`'s limit: an `fd_set` has bits for descriptors below this.
pub const FD_SETSIZE: i32 = 1024;
/// How long the crowd may take, together, to be answered.
pub const CROWD_WAIT: Duration = Duration::from_secs(10);

/// What the crowd saw, and what the server held while it was connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crowd {
    pub connected: usize,
    /// Clients that got /hello.txt within [`CROWD_WAIT`].
    pub answered: usize,
    /// The highest-numbered socket the server held once the crowd had its
    /// answers (the crowd still connected).
    pub highest_socket: i32,
    /// The server's first line on stderr, if it wrote one.
    pub said: Option<String>,
}

/// Start the server under `ulimit -n 4096`, connect [`CROWD`] clients,
/// send each `GET /hello.txt`, and read every answer within [`CROWD_WAIT`].
pub fn crowd(subject: &Subject) -> Result<Crowd, String> {
    // The crowd's 1,100 sockets are this process's descriptors too.
    lsbaws::net::raise_fd_limit();
    let mut server = subject
        .launch()
        .limit_open_files_hard(CROWD_NOFILE)
        .start()?;
    let mut streams = Vec::with_capacity(CROWD);
    for n in 0..CROWD {
        let stream = TcpStream::connect(server.addr())
            .map_err(|e| format!("connecting client {} failed: {e}", n + 1))?;
        streams.push(stream);
    }
    // A server that closed a connection at once may make this write fail:
    // that client is simply not answered.
    for stream in &mut streams {
        let _ = stream.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: lab\r\n\r\n");
    }
    let deadline = Instant::now() + CROWD_WAIT;
    let mut answered = 0;
    for stream in &mut streams {
        let left = deadline.saturating_duration_since(Instant::now());
        let left = left.max(Duration::from_millis(1));
        if read_response(stream, left).is_ok_and(|r| r.body == b"Hello, World!") {
            answered += 1;
        }
    }
    let highest_socket = server
        .descriptors()
        .iter()
        .filter(|d| d.is_socket())
        .map(|d| d.fd)
        .max()
        .unwrap_or(-1);
    if !server.is_running() {
        return Err(format!(
            "{} exited under the crowd: {}",
            subject.name(),
            server.stderr().trim()
        ));
    }
    Ok(Crowd {
        connected: streams.len(),
        answered,
        highest_socket,
        said: server.stderr().lines().next().map(str::to_string),
    })
}

pub static PAST_FD_SETSIZE: Check = Check {
    id: "past-fd-setsize",
    title: "clients on descriptors past FD_SETSIZE are served",
    expected: "under `ulimit -n 4096`, 1100 clients connected at once each get /hello.txt within \
               10 s, while the server holds sockets numbered 1024 and above (/proc/PID/fd)",
    run: |subject| {
        Verdict::from_observation(crowd(subject), |seen| {
            let mut saw = format!(
                "{} of {} clients answered; the server's highest socket: {}",
                seen.answered, seen.connected, seen.highest_socket
            );
            if let Some(line) = &seen.said {
                saw.push_str(&format!("; it said: {line}"));
            }
            Verdict::when(
                seen.answered == seen.connected && seen.highest_socket >= FD_SETSIZE,
                saw,
            )
        })
    },
};

pub static ANSWERED_OF_1100: Question = Question {
    key: "answered_of_1100",
    ask: "webserver4s runs under `ulimit -n 4096`, and 1100 clients connect at once, each asking \
          for /hello.txt. How many of them get their answer?",
    answer: Answer::Number { tolerance: 5 },
    measure: |starter| {
        let seen = crowd(starter)?;
        Ok(Measured {
            value: seen.answered.to_string(),
            story: format!(
                "{}: {} of {} clients answered; its highest socket was {}{}",
                starter.name(),
                seen.answered,
                seen.connected,
                seen.highest_socket,
                seen.said
                    .map(|line| format!("; it said: {line}"))
                    .unwrap_or_default()
            ),
        })
    },
};
