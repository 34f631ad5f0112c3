//! client3, the load client: it really makes max-clients x max-conns
//! connections, counts what the server did with them, reaps its clients,
//! and exits 1 only for its own failures or an unreachable server.
//!
//! Each test runs client3 against a small server written here (a std
//! TcpListener on 127.0.0.1, port 0), whose behaviour is fixed: answer and
//! close, answer and keep open, reset, or never accept.

use assert_cmd::Command;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::process::Output;
use std::thread;
use std::time::{Duration, Instant};

/// No run here should take more than a few seconds; this bounds a broken one.
const RUN_LIMIT: Duration = Duration::from_secs(30);
/// Upper bound for anything that should happen "at once".
const WAIT: Duration = Duration::from_secs(10);

const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\nHello, World!\n";

// ---- running client3 ----------------------------------------------------

/// Run client3 against 127.0.0.1:`port` (quietly); its output and how long it ran.
fn client3(port: u16, args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let output = Command::cargo_bin("client3")
        .unwrap()
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--quiet",
        ])
        .args(args)
        .timeout(RUN_LIMIT)
        .output()
        .unwrap();
    (output, started.elapsed())
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The number on the summary line that starts with `label` (after
/// indentation), e.g. `value(&out, "hung")` for `hung (no EOF in 1s):    3`.
fn value(summary: &str, label: &str) -> u64 {
    let line = summary
        .lines()
        .find(|line| line.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} line in the summary:\n{summary}"));
    let (_, rest) = line.split_once(':').unwrap();
    let number = rest.split_whitespace().next().unwrap_or("");
    number
        .parse()
        .unwrap_or_else(|_| panic!("{label:?} line has no number: {line:?}\n{summary}"))
}

/// Exit status 0, no panic, and the summary it printed.
fn assert_success(output: &Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
    assert!(!stderr(output).contains("panicked"), "{}", stderr(output));
    stdout(output)
}

// ---- servers with fixed behaviour ----------------------------------------

/// A listener on 127.0.0.1 with a port the kernel picked.
fn listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

/// Serve every connection with `handle` on a thread of its own, forever
/// (the thread ends with the test process).
fn serve(handle: fn(TcpStream, &mut Vec<TcpStream>)) -> u16 {
    let (listener, port) = listener();
    thread::spawn(move || {
        let mut kept = Vec::new();
        for stream in listener.incoming().flatten() {
            handle(stream, &mut kept);
        }
    });
    port
}

/// Read one request, up to the blank line that ends its headers.
fn read_request(stream: &mut TcpStream) -> Vec<u8> {
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    request
}

fn answer_and_close(mut stream: TcpStream, _kept: &mut Vec<TcpStream>) {
    read_request(&mut stream);
    let _ = stream.write_all(HELLO);
}

fn answer_and_keep_open(mut stream: TcpStream, kept: &mut Vec<TcpStream>) {
    read_request(&mut stream);
    let _ = stream.write_all(HELLO);
    kept.push(stream);
}

/// Read the request, then close with SO_LINGER 0: the kernel sends a reset
/// (RST) instead of the usual FIN, and the client's read() fails with
/// ECONNRESET.
fn reset(mut stream: TcpStream, _kept: &mut Vec<TcpStream>) {
    read_request(&mut stream);
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    nix::sys::socket::setsockopt(&stream, nix::sys::socket::sockopt::Linger, &linger).unwrap();
}

/// Accept one connection already waiting, or waiting until `deadline`.
fn accept_by(listener: &TcpListener, deadline: Instant) -> Option<TcpStream> {
    listener.set_nonblocking(true).unwrap();
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                return Some(stream);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                let left = deadline.saturating_duration_since(Instant::now());
                let mut fds = [PollFd::new(listener.as_fd(), PollFlags::POLLIN)];
                let timeout = PollTimeout::try_from(left).unwrap();
                if poll(&mut fds, timeout).unwrap() == 0 {
                    return None;
                }
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// Accept connections until `expected` have been, or `deadline`; then make
/// sure no more are waiting.
fn accept_all(listener: &TcpListener, expected: usize) -> Vec<TcpStream> {
    let deadline = Instant::now() + WAIT;
    let mut streams = Vec::new();
    while streams.len() < expected {
        match accept_by(listener, deadline) {
            Some(stream) => streams.push(stream),
            None => break,
        }
    }
    if let Some(extra) = accept_by(listener, Instant::now()) {
        streams.push(extra);
    }
    streams
}

// ---- the tests -----------------------------------------------------------

#[test]
fn every_connection_is_answered_and_closed() {
    let port = serve(answer_and_close);
    let (output, _) = client3(
        port,
        &[
            "--max-clients",
            "4",
            "--max-conns",
            "3",
            "--read-timeout",
            "2",
        ],
    );
    let summary = assert_success(&output);
    assert!(
        summary.starts_with(&format!(
            "client3: 4 clients x 3 connections to 127.0.0.1:{port}\n"
        )),
        "{summary}"
    );
    assert_eq!(value(&summary, "connections attempted"), 12, "{summary}");
    assert_eq!(value(&summary, "established"), 12, "{summary}");
    assert_eq!(value(&summary, "failed"), 0, "{summary}");
    assert_eq!(value(&summary, "responses received"), 12, "{summary}");
    assert_eq!(value(&summary, "closed by server (EOF)"), 12, "{summary}");
    assert_eq!(value(&summary, "hung"), 0, "{summary}");
}

#[test]
fn answered_but_never_closed_connections_count_as_hung() {
    let port = serve(answer_and_keep_open);
    let (output, elapsed) = client3(
        port,
        &[
            "--max-clients",
            "2",
            "--max-conns",
            "3",
            "--read-timeout",
            "1",
        ],
    );
    let summary = assert_success(&output);
    assert_eq!(value(&summary, "established"), 6, "{summary}");
    assert_eq!(value(&summary, "responses received"), 6, "{summary}");
    assert_eq!(value(&summary, "closed by server (EOF)"), 0, "{summary}");
    assert_eq!(value(&summary, "hung (no EOF in 1s)"), 6, "{summary}");
    assert!(
        elapsed >= Duration::from_secs(1),
        "did not wait for EOF: {elapsed:?}"
    );
}

#[test]
fn a_server_reset_counts_as_econnreset() {
    let port = serve(reset);
    let (output, _) = client3(
        port,
        &[
            "--max-clients",
            "2",
            "--max-conns",
            "2",
            "--read-timeout",
            "2",
        ],
    );
    let summary = assert_success(&output);
    assert_eq!(value(&summary, "established"), 4, "{summary}");
    assert_eq!(value(&summary, "errors after connecting"), 4, "{summary}");
    assert_eq!(value(&summary, "ECONNRESET"), 4, "{summary}");
    assert_eq!(value(&summary, "responses received"), 0, "{summary}");
    assert_eq!(value(&summary, "closed by server (EOF)"), 0, "{summary}");
    assert_eq!(value(&summary, "hung"), 0, "{summary}");
}

#[test]
fn every_client_opens_all_its_connections() {
    // client3.py's clients exited after their first connection; ours open
    // --max-conns each. Nobody accepts here: the kernel completes the
    // handshakes into the listen queue, and we count them afterwards.
    let (listener, port) = listener();
    let (output, _) = client3(
        port,
        &[
            "--max-clients",
            "3",
            "--max-conns",
            "5",
            "--read-timeout",
            "0",
        ],
    );
    let summary = assert_success(&output);
    assert_eq!(value(&summary, "connections attempted"), 15, "{summary}");
    assert_eq!(value(&summary, "established"), 15, "{summary}");
    assert!(summary.contains("not read (--read-timeout 0)"), "{summary}");

    let mut streams = accept_all(&listener, 15);
    assert_eq!(streams.len(), 15, "connections the server saw");
    for stream in &mut streams {
        let request = read_request(stream);
        assert!(
            request.starts_with(b"GET /hello HTTP/1.1\r\nHost: "),
            "{:?}",
            String::from_utf8_lossy(&request)
        );
    }
}

#[test]
fn client3_exits_only_after_its_clients_have_closed_their_connections() {
    let (listener, port) = listener();
    let (output, elapsed) = client3(
        port,
        &[
            "--max-clients",
            "3",
            "--max-conns",
            "2",
            "--hold",
            "1",
            "--read-timeout",
            "0",
        ],
    );
    assert_success(&output);
    // The clients held their connections 1 s; client3 waited for them.
    assert!(
        elapsed >= Duration::from_secs(1),
        "client3 exited before its clients: {elapsed:?}"
    );
    // Every connection is closed: the server reads the request, then EOF.
    let streams = accept_all(&listener, 6);
    assert_eq!(streams.len(), 6);
    for mut stream in streams {
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut everything = Vec::new();
        stream
            .read_to_end(&mut everything)
            .expect("EOF: the client closed the connection");
        assert!(everything.starts_with(b"GET /hello"));
    }
}

/// Set (to a port) when this test binary is re-run as [`subreaper_helper`].
const HELPER_PORT: &str = "CLIENT3_TEST_SUBREAPER_PORT";

#[test]
fn client3_leaves_no_zombie_or_orphan_clients() {
    let (_listener, port) = listener();
    // Run this very test binary again, as a process of its own doing only
    // `subreaper_helper`, which reports what client3 left behind.
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "subreaper_helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HELPER_PORT, port.to_string())
        .timeout(RUN_LIMIT)
        .output()
        .unwrap();
    let report = format!("{}{}", stdout(&output), stderr(&output));
    assert!(output.status.success(), "{report}");
    assert!(
        report.contains("1 passed"),
        "the helper did not run:\n{report}"
    );
}

/// Not a test by itself (it does nothing unless [`HELPER_PORT`] is set):
/// run client3 as a child of a "subreaper". When a process exits, the kernel
/// hands its children, exited (zombies) or not (orphans), to the nearest
/// subreaper ancestor; so after reaping client3 we must have no child left.
#[test]
fn subreaper_helper() {
    let Ok(port) = std::env::var(HELPER_PORT) else {
        return;
    };
    nix::sys::prctl::set_child_subreaper(true).unwrap();
    let status = std::process::Command::new(assert_cmd::cargo::cargo_bin("client3"))
        .args([
            "--port",
            &port,
            "--max-clients",
            "3",
            "--max-conns",
            "2",
            "--hold",
            "0.2",
            "--read-timeout",
            "0",
        ])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{status}");
    let left = nix::sys::wait::waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG));
    assert_eq!(
        left,
        Err(nix::errno::Errno::ECHILD),
        "client3 left a client process behind"
    );
}

#[test]
fn connect_gives_up_on_a_full_listen_queue() {
    // A listen queue of length 0 holds one connection; nobody accepts it, so
    // Linux drops the SYNs of the next ones. Without --connect-timeout,
    // connect() would retry them for about two minutes.
    let (listener, port) = full_queue_listener();
    let (output, elapsed) = client3(port, &["--max-conns", "3", "--connect-timeout", "0.3"]);
    let summary = assert_success(&output);
    assert_eq!(value(&summary, "established"), 1, "{summary}");
    assert_eq!(value(&summary, "failed"), 2, "{summary}");
    assert_eq!(value(&summary, "ETIMEDOUT"), 2, "{summary}");
    assert!(elapsed < WAIT, "{elapsed:?}");
    drop(listener);
}

/// A listening socket with listen(2)'s backlog 0 (std always asks for 128).
fn full_queue_listener() -> (OwnedFd, u16) {
    use nix::sys::socket::*;
    let fd = socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    let any_port = SockaddrIn::new(127, 0, 0, 1, 0);
    bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &any_port).unwrap();
    listen(&fd, Backlog::new(0).unwrap()).unwrap();
    let bound: SockaddrIn = getsockname(std::os::fd::AsRawFd::as_raw_fd(&fd)).unwrap();
    (fd, bound.port())
}

#[test]
fn nothing_listening_exits_1_with_one_clear_line() {
    let (listener, port) = listener();
    drop(listener); // the port is now closed: connect() is refused
    let (output, _) = client3(port, &["--max-clients", "2", "--max-conns", "2"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let summary = stdout(&output);
    assert_eq!(value(&summary, "failed"), 4, "{summary}");
    assert_eq!(value(&summary, "ECONNREFUSED"), 4, "{summary}");
    let errors = stderr(&output);
    assert_eq!(errors.lines().count(), 1, "{errors}");
    assert!(
        errors.starts_with(&format!(
            "client3: could not connect to 127.0.0.1:{port}: ECONNREFUSED — "
        )),
        "{errors}"
    );
    assert!(!errors.contains("panicked"), "{errors}");
}

#[test]
fn bad_flags_exit_2_without_a_panic() {
    for bad in [
        &["--max-clients", "banana"][..],
        &["--max-clients", "0"],
        &["--read-timeout", "-1"],
        &["--no-such-flag"],
    ] {
        let (output, _) = client3(8888, bad);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{bad:?}: {}",
            stderr(&output)
        );
        let errors = stderr(&output);
        assert!(
            errors.contains("error:") && !errors.contains("panicked"),
            "{bad:?}: {errors}"
        );
        assert!(output.stdout.is_empty(), "{bad:?} started a run");
    }
}
