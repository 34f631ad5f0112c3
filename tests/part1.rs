//! Part 1: the smallest server answers like a web server and shows the
//! request it received.

use assert_cmd::Command;
use lsbaws_harness::client::{exchange, get, read_response, send_get, wait_for_eof, AfterResponse};
use lsbaws_harness::procfs::tcp_sockets;
use lsbaws_harness::Launch;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn webserver1_answers_hello_and_prints_the_request() {
    let server = Launch::new("webserver1").start().unwrap();

    let mut stream = send_get(server.addr()).unwrap();
    let response = read_response(&mut stream, WAIT).unwrap();
    assert_eq!(response.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(response.body, b"Hello, World!\n");
    // The server closes the connection after each response: curl and a
    // browser see the end of the stream.
    assert_eq!(wait_for_eof(&mut stream, WAIT).unwrap(), AfterResponse::Eof);

    // Iterative, but it goes on serving.
    assert_eq!(get(server.addr(), WAIT).unwrap().body, b"Hello, World!\n");
    server
        .wait_until(WAIT, "the request to be printed", |s| {
            s.stdout().contains("GET /hello HTTP/1.1")
        })
        .unwrap();
}

/// webserver1 does not parse: whatever arrives up to a blank line is "a
/// request", and the answer is always the same Hello. A sentence in plain
/// English, ended by an empty line, gets a full HTTP response, and the
/// server prints the sentence as it printed a real request.
#[test]
fn webserver1_answers_hello_even_to_a_request_that_is_not_http() {
    let server = Launch::new("webserver1").start().unwrap();
    let bytes = exchange(server.addr(), b"Hi there, server. Any news?\n\n", WAIT).unwrap();
    assert_eq!(bytes, lsbaws::hello::RESPONSE);
    server
        .wait_until(WAIT, "the sentence to be printed", |s| {
            s.stdout().contains("Hi there, server. Any news?")
        })
        .unwrap();
}

/// The server closes first, so the closed connection lingers in TIME_WAIT
/// on the server's side, on the server's port, for a minute. A new server
/// on that port cannot bind without SO_REUSEADDR until it is gone; with the
/// option (the default) it can.
#[test]
fn a_restart_needs_so_reuseaddr_while_time_wait_lingers() {
    let mut server = Launch::new("webserver1").arg("--quiet").start().unwrap();
    let port = server.port();
    let mut stream = send_get(server.addr()).unwrap();
    read_response(&mut stream, WAIT).unwrap();
    assert_eq!(wait_for_eof(&mut stream, WAIT).unwrap(), AfterResponse::Eof);
    drop(stream); // our FIN answers the server's: its socket enters TIME_WAIT
    let time_wait_on_port = || {
        tcp_sockets()
            .iter()
            .any(|s| s.local_port == port && s.is_time_wait())
    };
    let deadline = Instant::now() + WAIT;
    while !time_wait_on_port() {
        assert!(
            Instant::now() < deadline,
            "no TIME_WAIT socket on port {port} after the server closed first"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    server.stop(); // the listening socket is gone; the TIME_WAIT stays

    let port_arg = port.to_string();
    let output = Command::cargo_bin("webserver1")
        .unwrap()
        .args(["--no-reuseaddr", "--quiet", "--port", &port_arg])
        .timeout(WAIT)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "webserver1: bind() on 127.0.0.1:{port} without SO_REUSEADDR failed: EADDRINUSE"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("TIME_WAIT"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        time_wait_on_port(),
        "the TIME_WAIT socket vanished before the restart: the failure was something else"
    );

    // The same restart with SO_REUSEADDR, while the TIME_WAIT is still there.
    let again = Launch::new("webserver1")
        .args(["--quiet", "--port", &port_arg])
        .start()
        .unwrap();
    assert_eq!(again.port(), port);
    assert_eq!(get(again.addr(), WAIT).unwrap().body, b"Hello, World!\n");
}

/// Without the blank line the headers never end: every byte of the
/// response arrives, yet no client can tell where the body starts. curl
/// refuses the response rather than show a body.
#[test]
fn without_the_blank_line_clients_find_no_body() {
    let server = Launch::new("webserver1")
        .args(["--quiet", "--no-blank-line"])
        .start()
        .unwrap();
    let bytes = exchange(
        server.addr(),
        b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
        WAIT,
    )
    .unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(
        text.ends_with("Connection: close\r\nHello, World!\n"),
        "{text}"
    );
    assert!(!text.contains("\r\n\r\n"), "{text}");

    let curl = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .arg(format!("http://{}/hello", server.addr()))
        .output()
        .expect("running curl (apt-get install curl)");
    let stdout = String::from_utf8_lossy(&curl.stdout);
    let stderr = String::from_utf8_lossy(&curl.stderr);
    assert!(!curl.status.success(), "curl accepted it: {stdout}");
    assert_ne!(curl.status.code(), Some(28), "curl timed out: {stderr}");
    assert!(!stdout.contains("Hello"), "{stdout}");
}
