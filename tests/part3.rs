//! Part 3: each step's failure really happens, and the next step fixes it.
//!
//! Every test starts the real binary on port 0 through the harness, which
//! kills and reaps the server and everything it forked when the test ends.

use lsbaws::harness::client::{burst, get, read_response, send_get, wait_for_eof, AfterResponse};
use lsbaws::harness::{Exit, Launch, Server};
use nix::sys::resource::{getrlimit, Resource};
use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Upper bound for anything that should happen "at once".
const WAIT: Duration = Duration::from_secs(10);
/// How long a client waits before calling a silent connection hung.
const HANG: Duration = Duration::from_secs(1);

fn start(name: &str, args: &[&str]) -> Server {
    Launch::new(name).arg("--quiet").args(args).start().unwrap()
}

fn assert_hello(stream: &mut TcpStream) {
    let response = read_response(stream, WAIT).unwrap();
    assert_eq!(response.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(response.body, b"Hello, World!\n");
}

fn assert_hung(result: std::io::Result<lsbaws::harness::client::Response>) {
    match result {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("expected no response within {HANG:?}, got {other:?}"),
    }
}

// ---- 3a / 3b: one client at a time -------------------------------------

#[test]
fn webserver3a_second_client_waits_for_the_first() {
    let server = start("webserver3a", &[]);
    // The first client connects and says nothing: the iterative server is
    // stuck in read() on it.
    let mut silent = server.connect();
    let mut second = send_get(server.addr()).unwrap();
    assert_hung(read_response(&mut second, HANG));

    // As soon as the first client speaks, both are served, in order.
    silent.write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
    assert_hello(&mut silent);
    assert_hello(&mut second);
}

#[test]
fn webserver3b_second_client_waits_out_the_sleep() {
    let server = start("webserver3b", &["--sleep", "2"]);
    let mut first = send_get(server.addr()).unwrap();
    assert_hello(&mut first);

    // The server now sleeps 2 s with the first connection open; nobody
    // calls accept() for the second client meanwhile.
    let asked = Instant::now();
    let mut second = send_get(server.addr()).unwrap();
    assert_hello(&mut second);
    let waited = asked.elapsed();
    assert!(waited >= Duration::from_millis(1800), "second client answered after only {waited:?}");
}

// ---- 3c: fork per connection ---------------------------------------------

#[test]
fn webserver3c_serves_two_clients_at_once() {
    let server = start("webserver3c", &["--sleep", "3"]);
    let mut first = send_get(server.addr()).unwrap();
    assert_hello(&mut first);

    // The first child is sleeping for 3 s; the parent is back in accept().
    let asked = Instant::now();
    let mut second = send_get(server.addr()).unwrap();
    assert_hello(&mut second);
    let waited = asked.elapsed();
    assert!(waited < Duration::from_secs(2), "second client waited {waited:?} for the first");
    assert_eq!(server.children().len(), 2, "one child per connection");
}

#[test]
fn webserver3c_client_gets_eof() {
    let server = start("webserver3c", &["--sleep", "0"]);
    let mut stream = send_get(server.addr()).unwrap();
    assert_hello(&mut stream);
    // Parent and child both closed their copies: the socket really closes.
    assert_eq!(wait_for_eof(&mut stream, WAIT).unwrap(), AfterResponse::Eof);
}

#[test]
fn webserver3c_leaves_zombies() {
    let server = start("webserver3c", &["--sleep", "0.2"]);
    let mut first = send_get(server.addr()).unwrap();
    let mut second = send_get(server.addr()).unwrap();
    assert_hello(&mut first);
    assert_hello(&mut second);
    server.wait_children_finished(WAIT).unwrap();
    // Nobody called wait(): both children stay in the process table.
    assert_eq!(server.zombies(), 2, "children: {:?}", server.children());
}

// ---- 3d: the parent keeps every descriptor and reaps nobody ---------------

#[test]
fn webserver3d_client_gets_response_but_no_eof() {
    let server = start("webserver3d", &[]);
    let mut stream = send_get(server.addr()).unwrap();
    assert_hello(&mut stream);
    // The child closed its copy and exited, but the parent's copy keeps the
    // connection open: the client never sees the end of the stream.
    server.wait_children_finished(WAIT).unwrap();
    assert_eq!(wait_for_eof(&mut stream, HANG).unwrap(), AfterResponse::Hung);
}

#[test]
fn webserver3d_runs_out_of_descriptors_emfile() {
    // `ulimit -n 256`, then 300 connections.
    let mut server = Launch::new("webserver3d")
        .arg("--quiet")
        .limit_open_files(256)
        .start()
        .unwrap();
    let baseline = server.open_fds();
    let mut made = 0;
    for _ in 0..300 {
        if !server.is_running() {
            break;
        }
        // Wait for each response: the parent has accepted by then, so the
        // small listen queue (5) never overflows and no SYN is retried.
        let Ok(_response) = get(server.addr(), WAIT) else { break };
        made += 1;
        if made == 100 {
            // The leak is visible in /proc/PID/fd long before the limit.
            server
                .wait_until(WAIT, "100 leaked descriptors", |s| s.open_fds() >= baseline + 100)
                .unwrap();
        }
    }
    let exit = server.wait_for_exit(WAIT);
    let stderr = server.stderr();
    assert_eq!(exit, Some(Exit::Code(1)), "after {made} connections; stderr: {stderr}");
    assert!(stderr.contains("accept() failed: EMFILE"), "stderr: {stderr}");
    assert!(made > 200 && made < 300, "died after {made} connections");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}

#[test]
fn webserver3d_fork_fails_eagain_under_nproc_limit() {
    // `ulimit -u 400` as an unprivileged user: the kernel ignores
    // RLIMIT_NPROC for root. The uid need not exist; it only has to be one
    // no other process uses, because the limit counts all of its processes.
    let uid = 60_000 + std::process::id() % 5_000;
    // Room for the leaked descriptors, or EMFILE would come first.
    let (_, hard_files) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    let mut launch = Launch::new("webserver3d").arg("--quiet").limit_open_files(hard_files.min(4096));
    launch = if nix::unistd::Uid::effective().is_root() {
        launch.as_user(uid).limit_processes(400)
    } else {
        // Not root: the limit applies to our own user, who already runs
        // some processes; leave room for 300 more.
        launch.limit_processes(processes_of_current_user() as u64 + 300)
    };
    let mut server = launch.start().unwrap();

    let mut made = 0;
    for _ in 0..1000 {
        if !server.is_running() {
            break;
        }
        // Wait for each response: the parent has accepted by then, so the
        // small listen queue (5) never overflows and no SYN is retried.
        let Ok(_response) = get(server.addr(), WAIT) else { break };
        made += 1;
        if made == 200 {
            // Nobody reaps: the finished children pile up as zombies.
            server.wait_until(WAIT, "150 zombies", |s| s.zombies() >= 150).unwrap();
        }
    }
    let exit = server.wait_for_exit(WAIT);
    let stderr = server.stderr();
    assert_eq!(exit, Some(Exit::Code(1)), "after {made} connections; stderr: {stderr}");
    // nix prints EAGAIN's text as "Try again"; the symbolic name is stable.
    assert!(stderr.contains("fork() failed: EAGAIN"), "stderr: {stderr}");
    assert!(made >= 200, "fork failed after only {made} connections");
}

fn processes_of_current_user() -> usize {
    let me = nix::unistd::Uid::current().as_raw().to_string();
    lsbaws::harness::processes()
        .iter()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{}/status", p.pid))
                .ok()
                .and_then(|status| {
                    let line = status.lines().find(|l| l.starts_with("Uid:"))?.to_string();
                    Some(line.split_whitespace().nth(1) == Some(me.as_str()))
                })
                .unwrap_or(false)
        })
        .count()
}

// ---- 3e: SIGCHLD without SA_RESTART ----------------------------------------

#[test]
fn webserver3e_dies_of_eintr_after_one_request() {
    let mut server = start("webserver3e", &["--sleep", "0.2"]);
    let mut stream = send_get(server.addr()).unwrap();
    assert_hello(&mut stream);
    // The child exits 0.2 s later; SIGCHLD interrupts the parent's accept().
    let exit = server.wait_for_exit(WAIT);
    let stderr = server.stderr();
    assert_eq!(exit, Some(Exit::Code(1)), "stderr: {stderr}");
    assert!(stderr.contains("accept() failed: EINTR"), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one clear line, got: {stderr}");
}

// ---- 3f: restart on EINTR, but one wait() per signal -----------------------

#[test]
fn webserver3f_survives_eintr() {
    let mut server = start("webserver3f", &[]);
    for _ in 0..3 {
        let answered = get(server.addr(), WAIT).unwrap();
        assert_eq!(answered.body, b"Hello, World!\n");
        // The handler ran (the child is reaped) while accept() was blocked.
        server
            .wait_until(WAIT, "the child to be reaped", |s| s.children().is_empty())
            .unwrap();
        assert!(server.is_running(), "stderr: {}", server.stderr());
    }
}

#[test]
fn webserver3f_burst_leaves_zombies() {
    let mut server = start("webserver3f", &[]);
    // Whether two children exit close enough together for their signals to
    // merge is a race; that race is the lesson. Each burst gives it 128
    // chances, and zombies accumulate across bursts.
    for _ in 0..5 {
        assert_eq!(burst(server.addr(), 128, WAIT), 128, "every client is answered");
        server.wait_children_finished(WAIT).unwrap();
        if server.zombies() > 0 {
            break;
        }
    }
    assert!(server.zombies() > 0, "no zombie after 5 bursts of 128 clients");
    assert!(server.is_running(), "stderr: {}", server.stderr());
}

// ---- 3g: reap every child ----------------------------------------------------

#[test]
fn webserver3g_bursts_leave_no_zombies() {
    let mut server = start("webserver3g", &[]);
    for _ in 0..3 {
        assert_eq!(burst(server.addr(), 128, WAIT), 128, "every client is answered");
        server
            .wait_until(Duration::from_secs(20), "every child to be reaped", |s| {
                s.children().is_empty()
            })
            .unwrap();
    }
    assert!(server.is_running(), "stderr: {}", server.stderr());
    assert_eq!(get(server.addr(), WAIT).unwrap().body, b"Hello, World!\n");
}

// ---- The experiments as the book runs them, with client3 ------------------

fn client3(server: &Server, args: &[&str]) -> String {
    let output = assert_cmd::Command::cargo_bin("client3")
        .unwrap()
        .args(["--quiet", "--port", &server.port().to_string()])
        .args(args)
        .timeout(Duration::from_secs(150))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(0), "client3 {args:?}: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

#[test]
fn webserver3d_client3_300_clients_under_ulimit_n_256() {
    // `ulimit -n 256`, `webserver3d --backlog 1024`, `client3 --max-clients
    // 300`. With 3d's own listen queue of 5, a burst of 300 overflows it:
    // the kernel drops SYNs and final ACKs, and those clients get in only
    // as TCP retransmits with exponential backoff, up to a minute later on
    // a busy machine. The book runs the experiment with a long queue so
    // that it shows the descriptor leak alone.
    let mut server = Launch::new("webserver3d")
        .args(["--quiet", "--backlog", "1024"])
        .limit_open_files(256)
        .start()
        .unwrap();
    let summary = client3(&server, &["--max-clients", "300"]);
    let exit = server.wait_for_exit(WAIT);
    let stderr = server.stderr();
    assert_eq!(exit, Some(Exit::Code(1)), "stderr: {stderr}\nclient3: {summary}");
    assert!(stderr.contains("accept() failed: EMFILE: Too many open files"), "stderr: {stderr}");
    // The server died with connections in its listen queue: those are reset.
    assert!(summary.contains("ECONNRESET"), "client3 summary:\n{summary}");
}

#[test]
fn webserver3f_and_3g_under_client3_128_clients() {
    for (name, zombies_expected) in [("webserver3f", true), ("webserver3g", false)] {
        let server = start(name, &[]);
        let mut zombies = 0;
        for _ in 0..5 {
            let summary = client3(&server, &["--max-clients", "128"]);
            assert!(summary.contains("responses received:     128"), "{name}:\n{summary}");
            server.wait_children_finished(WAIT).unwrap();
            zombies = server.zombies();
            if zombies > 0 || !zombies_expected {
                break;
            }
        }
        if zombies_expected {
            assert!(zombies > 0, "{name}: no zombie after 5 runs of client3 --max-clients 128");
        } else {
            server
                .wait_until(WAIT, "no children left", |s| s.children().is_empty())
                .unwrap();
        }
    }
}
