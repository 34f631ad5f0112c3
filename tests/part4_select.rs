//! Part 4, select(2) and poll(2): the same single-threaded loop, watching
//! its sockets with select (4s) and with poll (4p). select's fd_set holds
//! descriptors below FD_SETSIZE (1024) only; poll's array has no such limit.
//!
//! The crowd is the book's: under `ulimit -n 4096`, client3 opens 1100
//! keep-alive connections and holds them, so the server's descriptors run
//! past 1023.

use lsbaws::http::site::default_root;
use lsbaws_harness::client::read_response;
use lsbaws_harness::site_check::{assert_curl_fetches_site, assert_keep_alive};
use lsbaws_harness::{bin_path, Launch, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Upper bound for anything that should happen "at once".
const WAIT: Duration = Duration::from_secs(10);
/// select's limit: an fd_set has bits for descriptors 0..FD_SETSIZE.
const FD_SETSIZE: i32 = 1024;
/// The crowd: enough connections to run past descriptor 1023.
const CROWD: usize = 1100;
/// `ulimit -n` for the crowd: room for all of it, so that the descriptor
/// limit is FD_SETSIZE's, not the process's.
const ULIMIT_N: u64 = 4096;
/// Keep-alive connections the test opens before the crowd, and asks again
/// while the crowd holds the rest.
const EARLY: usize = 3;

fn start(name: &str) -> Server {
    Launch::new(name)
        .arg("--quiet")
        .limit_open_files_hard(ULIMIT_N)
        .start()
        .unwrap()
}

fn ask(client: &mut TcpStream) {
    client
        .write_all(b"GET /hello.txt HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    let response = read_response(client, WAIT).unwrap();
    assert_eq!(
        response.status_line(),
        "HTTP/1.1 200 OK",
        "{}",
        response.head
    );
    assert_eq!(response.body, b"Hello, World!");
}

/// client3, killed and reaped when dropped (its clients die with it).
struct Client3(Option<Child>);

impl Client3 {
    /// `client3 --max-conns CROWD`: one client holding the whole crowd,
    /// reading answers for `read_timeout` s, then holding them `hold` s more.
    fn crowd(server: &Server, read_timeout: u32, hold: u32) -> Client3 {
        let child = Command::new(bin_path("client3"))
            .args(["--quiet", "--port", &server.port().to_string()])
            .args(["--max-conns", &CROWD.to_string()])
            .args(["--read-timeout", &read_timeout.to_string()])
            .args(["--hold", &hold.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Client3(Some(child))
    }

    /// Wait (bounded) for client3 to finish; its summary.
    fn summary(mut self) -> String {
        let mut child = self.0.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("client3 did not finish within 120 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert_eq!(
            output.status.code(),
            Some(0),
            "client3: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }
}

impl Drop for Client3 {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The value of one line of client3's summary (`established:  1100`).
fn summary_count(summary: &str, label: &str) -> usize {
    summary
        .lines()
        .find_map(|line| line.strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `{label}` in client3's summary:\n{summary}"))
}

fn descriptor_numbers(server: &Server) -> Vec<i32> {
    server.descriptors().iter().map(|d| d.fd).collect()
}

/// The open sockets of the server, by number.
fn sockets(server: &Server) -> Vec<i32> {
    server
        .descriptors()
        .iter()
        .filter(|d| d.is_socket())
        .map(|d| d.fd)
        .collect()
}

fn webserver_serves_the_site(name: &str) {
    let server = start(name);
    assert_curl_fetches_site(server.addr(), &default_root());
    assert_keep_alive(server.addr(), &default_root(), 5);
    assert!(server.stderr().is_empty(), "stderr: {}", server.stderr());
}

#[test]
fn webserver4s_serves_the_site_with_keep_alive() {
    webserver_serves_the_site("webserver4s");
}

#[test]
fn webserver4p_serves_the_site_with_keep_alive() {
    webserver_serves_the_site("webserver4p");
}

/// Idle, a select or poll server sleeps in the kernel: its CPU time does
/// not grow while a kept-alive client says nothing.
fn webserver_sleeps_while_idle(name: &str) {
    let server = start(name);
    let mut client = server.connect();
    ask(&mut client);
    let before = server.cpu_time();
    std::thread::sleep(Duration::from_millis(500));
    let used = server.cpu_time() - before;
    // A busy loop (4d) would use all 500 ms; one clock tick is 10 ms.
    assert!(
        used < Duration::from_millis(100),
        "{name} used {used:?} while idle"
    );
    ask(&mut client);
}

#[test]
fn webserver4s_sleeps_while_idle() {
    webserver_sleeps_while_idle("webserver4s");
}

#[test]
fn webserver4p_sleeps_while_idle() {
    webserver_sleeps_while_idle("webserver4p");
}

#[test]
fn webserver4s_closes_connections_past_fd_setsize_and_serves_the_rest() {
    lsbaws::net::raise_fd_limit(); // client3 raises its own, from ours
    let server = start("webserver4s");
    let mut early: Vec<TcpStream> = (0..EARLY).map(|_| server.connect()).collect();
    for client in &mut early {
        ask(client);
    }
    // Where the failure must start: accept(2) returns the lowest free
    // descriptor, so the first one at or past FD_SETSIZE that the server
    // does not already hold.
    let held = descriptor_numbers(&server);
    let first_past = (FD_SETSIZE..).find(|fd| !held.contains(fd)).unwrap();
    let free_below = (0..FD_SETSIZE).filter(|fd| !held.contains(fd)).count();

    let crowd = Client3::crowd(&server, 3, 10);
    server
        .wait_until(Duration::from_secs(60), "a line naming FD_SETSIZE", |s| {
            s.stderr().contains("FD_SETSIZE")
        })
        .unwrap();
    // While client3 holds the crowd: every descriptor below FD_SETSIZE is
    // in use, and no socket at or above it stays open.
    let held = descriptor_numbers(&server);
    assert!(
        (0..FD_SETSIZE).all(|fd| held.contains(&fd)),
        "free descriptors below {FD_SETSIZE}: {:?}",
        (0..FD_SETSIZE)
            .filter(|fd| !held.contains(fd))
            .collect::<Vec<_>>()
    );
    let past: Vec<i32> = sockets(&server)
        .into_iter()
        .filter(|&fd| fd >= FD_SETSIZE)
        .collect();
    assert!(
        past.is_empty(),
        "sockets past FD_SETSIZE still open: {past:?}"
    );
    // The connections below it are still served.
    for client in &mut early {
        ask(client);
    }

    let summary = crowd.summary();
    assert_eq!(summary_count(&summary, "established:"), CROWD, "{summary}");
    // The crowd got the descriptors below FD_SETSIZE that were free...
    let served = free_below;
    assert_eq!(
        summary_count(&summary, "responses received:"),
        served,
        "{summary}"
    );
    // ...and the rest were closed unanswered (with the request unread, the
    // kernel resets the connection instead of closing it quietly).
    let closed = summary_count(&summary, "closed by server (EOF):")
        + summary
            .lines()
            .filter(|line| line.trim_start().starts_with("ECONNRESET:"))
            .map(|line| summary_count(line.trim_start(), "ECONNRESET:"))
            .sum::<usize>();
    assert_eq!(closed, CROWD - served, "{summary}");

    // One clear line, naming the descriptor where it started; no panic.
    let stderr = server.stderr();
    let expected = format!(
        "webserver4s: closing the connection on descriptor {first_past}: select() can only \
         watch descriptors below FD_SETSIZE ({FD_SETSIZE})"
    );
    assert!(stderr.lines().count() >= 1, "stderr: {stderr}");
    for line in stderr.lines() {
        assert!(
            line.starts_with("webserver4s: closing the connection on descriptor "),
            "{stderr}"
        );
    }
    assert!(
        stderr.lines().next().unwrap().starts_with(&expected),
        "stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");

    // The crowd gone, its descriptors are free again and a new client is served.
    server
        .wait_until(WAIT, "the crowd's sockets closed", |s| {
            sockets(s).len() <= EARLY + 1
        })
        .unwrap();
    let mut late = server.connect();
    ask(&mut late);
    let mut rest = Vec::new();
    early[0]
        .set_read_timeout(Some(Duration::from_millis(1)))
        .unwrap();
    let _ = early[0].read_to_end(&mut rest); // nothing more was sent
    assert!(rest.is_empty());
}

#[test]
fn webserver4p_serves_the_crowd_past_fd_setsize() {
    lsbaws::net::raise_fd_limit(); // client3 raises its own, from ours
    let server = start("webserver4p");
    let mut early = server.connect();
    ask(&mut early);
    let crowd = Client3::crowd(&server, 5, 10);
    server
        .wait_until(Duration::from_secs(60), "the whole crowd accepted", |s| {
            sockets(s).len() > CROWD
        })
        .unwrap();
    // Sockets past FD_SETSIZE are open, and being watched: the early client,
    // below it, is served as before.
    let highest = *sockets(&server).iter().max().unwrap();
    assert!(highest >= FD_SETSIZE, "highest socket: {highest}");
    ask(&mut early);
    let summary = crowd.summary();
    assert_eq!(summary_count(&summary, "established:"), CROWD, "{summary}");
    assert_eq!(
        summary_count(&summary, "responses received:"),
        CROWD,
        "{summary}"
    );
    assert!(server.stderr().is_empty(), "stderr: {}", server.stderr());
}
