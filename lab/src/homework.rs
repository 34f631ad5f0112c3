//! The checks and questions of the server-models homework: the first
//! server written again (the empty line that ends the headers, the
//! `SO_REUSEADDR` a restart needs), and the homework's questions of
//! understanding, each with its answer key.

use super::check::{Check, Verdict};
use super::observe::{first_error_line, WAIT};
use super::question::{nothing_to_run, Answer, Measured, Question};
use super::subject::Subject;
use lsbaws_harness::client::exchange;
use lsbaws_harness::procfs::tcp_sockets;
use std::time::{Duration, Instant};

/// The request every experiment here sends.
const GET_HELLO: &[u8] = b"GET /hello HTTP/1.1\r\nHost: lab\r\n\r\n";

// ---- the empty line -------------------------------------------------------------

/// A response to GET /hello as a client that follows HTTP reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelloResponse {
    /// Every byte the server sent before it closed.
    pub bytes: Vec<u8>,
}

impl HelloResponse {
    /// What follows the empty line (`\r\n\r\n`) that ends the headers, or
    /// `None` when there is no such line: then every line is a header.
    pub fn body(&self) -> Option<&[u8]> {
        let at = self.bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
        Some(&self.bytes[at + 4..])
    }

    /// Where the line `Hello, World!` is: `body` or `headers`.
    pub fn hello_in(&self) -> &'static str {
        match self.body() {
            Some(body) if body.starts_with(b"Hello") => "body",
            Some(_) => "neither",
            None if contains(&self.bytes, b"Hello") => "headers",
            None => "neither",
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Start the server, send GET /hello, read until it closes.
pub fn hello_response(subject: &Subject) -> Result<HelloResponse, String> {
    let server = subject.start()?;
    let bytes = exchange(server.addr(), GET_HELLO, WAIT).map_err(|e| {
        format!(
            "GET /hello: no complete response within {WAIT:?} ({e}); server stderr: {}",
            first_error_line(&server.stderr())
        )
    })?;
    Ok(HelloResponse { bytes })
}

pub static BLANK_LINE: Check = Check {
    id: "blank-line",
    title: "an empty line ends the headers",
    expected: "GET /hello is answered with the status line and headers, then an empty line \
               (\\r\\n\\r\\n), then the body `Hello, World!`",
    run: |subject| {
        Verdict::from_observation(hello_response(subject), |response| {
            match (response.body(), response.hello_in()) {
                (Some(_), "body") => Verdict::pass("headers, \\r\\n\\r\\n, then Hello, World!"),
                (Some(body), _) => Verdict::fail(format!(
                    "the headers end, but the body is {:?}",
                    String::from_utf8_lossy(body)
                )),
                (None, _) if contains(&response.bytes, b"\n\n") => Verdict::fail(
                    "the headers end with \\n\\n: HTTP ends each line with \\r\\n, so the empty \
                     line is \\r\\n\\r\\n",
                ),
                (None, _) => Verdict::fail(format!(
                    "no empty line: a client reads every line as a header and finds no body in \
                     {:?}",
                    response.text()
                )),
            }
        })
    },
};

pub static ANSWERS: Check = Check {
    id: "answers",
    title: "every request is answered with Hello",
    expected: "two GET /hello, one after the other, each get `HTTP/1.1 200 OK` and \
               `Hello, World!`, then the end of the stream",
    run: |subject| {
        let observed = (|| {
            let server = subject.start()?;
            let mut seen = Vec::new();
            for n in 1..=2 {
                let bytes = exchange(server.addr(), GET_HELLO, WAIT)
                    .map_err(|e| format!("request {n}: no complete response: {e}"))?;
                seen.push(HelloResponse { bytes });
            }
            Ok(seen)
        })();
        Verdict::from_observation(observed, |seen| {
            let bad = seen.iter().find(|r| {
                !r.bytes.starts_with(b"HTTP/1.1 200 OK\r\n") || !contains(&r.bytes, b"Hello")
            });
            match bad {
                None => Verdict::pass("both answered 200 OK, Hello, World!, then closed"),
                Some(r) => Verdict::fail(format!("a response was {:?}", r.text())),
            }
        })
    },
};

/// Which side of the response `Hello, World!` lands on, measured on the
/// starter.
pub static HELLO_LINE: Question = Question {
    key: "hello_line",
    ask: "A client that follows HTTP reads the starter's response to GET /hello. Where does it \
          find the line `Hello, World!`: in the response's body, or among its headers?",
    answer: Answer::Choice(&["body", "headers"]),
    measure: |starter| {
        let response = hello_response(starter)?;
        let value = response.hello_in();
        let how = match response.body() {
            Some(_) => "has the empty line (\\r\\n\\r\\n) after its headers",
            None => "has no empty line (\\r\\n\\r\\n): its headers never end",
        };
        Ok(Measured {
            value: value.to_string(),
            story: format!(
                "{}: the response {how}; Hello, World! is in the {value}. It was {:?}",
                starter.name(),
                response.text()
            ),
        })
    },
};

// ---- the restart ---------------------------------------------------------------------

/// A server stopped right after one request, and started again on its port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restart {
    pub port: u16,
    /// Whether the closed connection was still in TIME_WAIT on that port
    /// when the second start bound it (or failed to).
    pub time_wait: bool,
    /// `Ok` when the second start bound the port and answered; `Err` says
    /// what it did instead (its first line on stderr).
    pub second: Result<(), String>,
}

impl Restart {
    pub fn bound(&self) -> bool {
        self.second.is_ok()
    }
}

fn time_wait_on(port: u16) -> bool {
    tcp_sockets()
        .iter()
        .any(|s| s.local_port == port && s.is_time_wait())
}

/// Serve one request (the server closes first, so its side of the
/// connection enters TIME_WAIT on its own port), stop the server, and start
/// it again at once on the same port.
pub fn restart_after_a_request(subject: &Subject) -> Result<Restart, String> {
    let mut server = subject.start()?;
    let port = server.port();
    // Read until the server closes (whatever it sends: the starter's
    // response has no end of headers), then close our side: the server
    // closed first, so its side enters TIME_WAIT.
    exchange(server.addr(), GET_HELLO, WAIT).map_err(|e| {
        format!(
            "the server did not answer GET /hello and close the connection within {WAIT:?} \
             ({e}): only the side that closes first keeps a TIME_WAIT"
        )
    })?;
    let deadline = Instant::now() + WAIT;
    while !time_wait_on(port) {
        if Instant::now() >= deadline {
            return Err(format!(
                "no TIME_WAIT socket on port {port} within {WAIT:?} after the server closed"
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    server.stop();
    let second = match subject.launch().args(["--port", &port.to_string()]).start() {
        Ok(again) => {
            let bytes = exchange(again.addr(), GET_HELLO, WAIT);
            match bytes {
                Ok(bytes) if contains(&bytes, b"Hello") => Ok(()),
                Ok(bytes) => Err(format!(
                    "bound, but answered {:?}",
                    String::from_utf8_lossy(&bytes)
                )),
                Err(e) => Err(format!("bound, but did not answer: {e}")),
            }
        }
        Err(why) => Err(why
            .lines()
            .find(|line| line.contains("bind"))
            .unwrap_or_else(|| why.lines().last().unwrap_or_default())
            .to_string()),
    };
    Ok(Restart {
        port,
        time_wait: time_wait_on(port),
        second,
    })
}

pub static RESTART: Check = Check {
    id: "restart",
    title: "a restart right after a request binds its port",
    expected: "after one request (the server closes first, leaving its side in TIME_WAIT on its \
               port) the server is stopped and started again on the same port: it binds and \
               answers",
    run: |subject| {
        Verdict::from_observation(restart_after_a_request(subject), |restart| {
            let waiting = if restart.time_wait {
                "with the old connection in TIME_WAIT"
            } else {
                "(the TIME_WAIT had gone)"
            };
            match &restart.second {
                Ok(()) => Verdict::pass(format!(
                    "started again on port {} {waiting}: bound and answered",
                    restart.port
                )),
                Err(why) => Verdict::fail(format!(
                    "started again on port {} {waiting}: {why}",
                    restart.port
                )),
            }
        })
    },
};

pub static RESTART_BINDS: Question = Question {
    key: "restart_binds",
    ask: "The starter answers one request (closing the connection first, as it always does), is \
          stopped, and is started again at once on the same port. Does the second start manage \
          to bind its port?",
    answer: Answer::Choice(&["yes", "no"]),
    measure: |starter| {
        let restart = restart_after_a_request(starter)?;
        let outcome = match &restart.second {
            Ok(()) => "bound it and answered".to_string(),
            Err(why) => format!("failed: {why}"),
        };
        let waiting = if restart.time_wait {
            "while the closed connection was still in TIME_WAIT there"
        } else {
            "after the TIME_WAIT had gone"
        };
        Ok(Measured {
            value: if restart.bound() { "yes" } else { "no" }.to_string(),
            story: format!(
                "{} served one request on port {}, was stopped, and started again on that port \
                 {waiting}: it {outcome}",
                starter.name(),
                restart.port
            ),
        })
    },
};

// ---- questions of understanding -------------------------------------------------------

pub static CHOOSING_JOB: Question = Question {
    key: "choosing_job",
    ask: "To answer /hello and /bye differently, webserver1 would have to look at each \
          request's path and choose between two answers. Of the five jobs of a server program \
          (the chapter What a server is), which one is that choosing?",
    answer: Answer::Known {
        words: &["connections", "protocol", "logic", "data", "transfer"],
        right: "logic",
        why: "Choosing an answer from the request is the logic, and webserver1 has none: every \
              request gets the same answer. Its connections are socket, bind, listen and \
              accept; its protocol is read_request reading up to the empty line; its data is \
              the constant response; its transfer is send_all, then close.",
    },
    measure: nothing_to_run,
};

pub static DATE_WRITER: Question = Question {
    key: "date_writer",
    ask: "webserver2 runs an application that returns a status, a Content-Type header and a \
          body, and nothing more. The response that reaches curl also carries a `Date` header. \
          Which side wrote it?",
    answer: Answer::Known {
        words: &["server", "application"],
        right: "server",
        why: "The gateway server writes the status line it is given and adds what every HTTP \
              response needs and the application did not send: Server, Date, Content-Length. \
              Content-Type and the body are the application's (see the chapter on the CGI \
              bridge: who writes which header).",
    },
    measure: nothing_to_run,
};

pub static PARENT_COUNTER: Question = Question {
    key: "parent_counter",
    ask: "A server forks a child for each connection, and each child adds 1 to a hit counter, a \
          global variable, before it answers. After ten requests, what does the counter read in \
          the parent process?",
    answer: Answer::Known {
        words: &["0", "1", "10"],
        right: "0",
        why: "After fork the child has its own copy of the parent's memory: each child adds 1 to \
              its copy, which goes when it exits, and the parent's counter never moves. Threads \
              share their process's memory: with a thread per connection the counter reaches \
              10, if every addition is atomic or made under a lock (httpserver2's /api/stats).",
    },
    measure: nothing_to_run,
};

pub static LOOP_MODEL: Question = Question {
    key: "loop_model",
    ask: "Every request a server gets is one UDP datagram, answered from memory in a few \
          microseconds. Which model does the server-models tutorial recommend for such a server?",
    answer: Answer::Known {
        words: &["loop", "fork", "threads", "epoll"],
        right: "loop",
        why: "The loop model (one request after another, webserver1 and webserver3a) costs no \
              process, thread or event loop, and waiting in line costs a client microseconds \
              when every request is that short; UDP holds no connection open between requests. \
              One slow request makes everyone wait, though (webserver3b): then a concurrent \
              model is needed.",
    },
    measure: nothing_to_run,
};
