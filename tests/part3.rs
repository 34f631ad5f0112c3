//! Part 3: each step's failure really happens, and the next step fixes it.
//!
//! Every test starts the real binary on port 0 through the harness, which
//! kills and reaps the server and everything it forked when the test ends.

use lsbaws_harness::client::{get, read_response, send_get, AfterResponse};
use lsbaws_harness::{procfs, Exit, Launch, Server};
use lsbaws_lab::observe::{self, ChildFate, SigchldHandling};
use lsbaws_lab::Subject;
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

fn assert_hung(result: std::io::Result<lsbaws_harness::client::Response>) {
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
    silent
        .write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
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
    assert!(
        waited >= Duration::from_millis(1800),
        "second client answered after only {waited:?}"
    );
}

// ---- 3c: fork per connection ---------------------------------------------
//
// From here on the tests call the same experiments as the exercise checks
// of `cargo lab check` (lsbaws_lab::observe): one implementation. Servers
// with a --sleep flag run with a short one (Subject::QUICK_FLAGS).

#[test]
fn webserver3c_serves_two_clients_at_once() {
    let seen = observe::second_client_while_first_is_silent(&Subject::bin("webserver3c")).unwrap();
    assert!(
        seen.answered_in.is_some(),
        "the second client waited for the silent first"
    );
    assert!(seen.children >= 1, "one child per connection: {seen:?}");
}

#[test]
fn webserver3c_client_gets_eof() {
    // Parent and child both closed their copies: the socket really closes.
    assert_eq!(
        observe::after_the_response(&Subject::bin("webserver3c")).unwrap(),
        AfterResponse::Eof
    );
}

#[test]
fn webserver3c_closes_every_client_descriptor() {
    let growth = observe::descriptor_growth(&Subject::bin("webserver3c"), 20).unwrap();
    assert_eq!(growth.leaked(), 0, "{growth:?}");
}

#[test]
fn webserver3c_leaves_zombies() {
    // Nobody calls wait(): the finished child stays in the process table.
    let run = observe::fate_of_a_child(&Subject::bin("webserver3c")).unwrap();
    assert!(matches!(run.fate, ChildFate::Zombie { .. }), "{run:?}");
    assert_eq!(
        observe::sigchld_handling(&Subject::bin("webserver3c")).unwrap(),
        SigchldHandling::Default
    );
}

/// Part 3's basics: the child's PPID is the server's PID; the parent holds
/// the listening socket and not the connection, the child the connection
/// and not the listening socket, on top of descriptors 0, 1 and 2.
#[test]
fn webserver3c_parent_and_child_split_the_sockets() {
    let server = start("webserver3c", &["--sleep", "30"]);
    assert_hello(&mut send_get(server.addr()).unwrap());
    server
        .wait_until(WAIT, "a child", |s| !s.children().is_empty())
        .unwrap();
    let child = server.children()[0].clone();
    assert_eq!(child.ppid, server.pid().as_raw());
    let sockets = |pid: i32| -> Vec<(i32, String)> {
        procfs::descriptors(pid)
            .into_iter()
            .filter(|d| d.is_socket())
            .map(|d| (d.fd, d.target))
            .collect()
    };
    let parent = sockets(server.pid().as_raw());
    let in_child = sockets(child.pid);
    assert_eq!(parent.len(), 1, "the parent's sockets: {parent:?}");
    assert_eq!(in_child.len(), 1, "the child's sockets: {in_child:?}");
    assert_ne!(parent[0].1, in_child[0].1, "the same socket in both");
    assert!(parent[0].0 < in_child[0].0, "{parent:?} {in_child:?}");
    for pid in [server.pid().as_raw(), child.pid] {
        let fds: Vec<i32> = procfs::descriptors(pid).iter().map(|d| d.fd).collect();
        assert!(fds.starts_with(&[0, 1, 2]), "pid {pid}: {fds:?}");
    }
}

/// A zombie has no code left to stop: SIGKILL is delivered without error
/// and the entry stays until the parent waits (webserver3c never does).
#[test]
fn a_zombie_survives_kill_9() {
    let server = start("webserver3c", &["--sleep", "0"]);
    assert_hello(&mut send_get(server.addr()).unwrap());
    server
        .wait_until(WAIT, "a zombie child", |s| {
            s.children().iter().any(|c| c.is_zombie())
        })
        .unwrap();
    let zombie = server.children()[0].pid;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(zombie),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill -9 on a zombie succeeds");
    std::thread::sleep(Duration::from_millis(500));
    let after = procfs::stat(zombie).expect("the zombie is gone after kill -9");
    assert!(after.is_zombie(), "{after:?}");
}

// ---- 3d: the parent keeps every descriptor and reaps nobody ---------------

#[test]
fn webserver3d_client_gets_response_but_no_eof() {
    // The child closed its copy and exited, but the parent's copy keeps the
    // connection open: the client never sees the end of the stream.
    assert_eq!(
        observe::after_the_response(&Subject::bin("webserver3d")).unwrap(),
        AfterResponse::Hung
    );
}

#[test]
fn webserver3d_keeps_one_descriptor_per_connection() {
    // stdin, stdout, stderr and the listening socket, then one per client:
    // the leak is visible in /proc/PID/fd long before any limit.
    let growth = observe::descriptor_growth(&Subject::bin("webserver3d"), 10).unwrap();
    assert_eq!((growth.before, growth.after), (4, 14), "{growth:?}");
}

#[test]
fn webserver3d_runs_out_of_descriptors_emfile() {
    // `ulimit -n 256`, then 300 clients: descriptors 4 to 255 hold clients,
    // and the 253rd accept() fails.
    let run = observe::under_open_file_limit(&Subject::bin("webserver3d"), 256, 300).unwrap();
    assert_eq!(run.exit, Some(Exit::Code(1)), "{run:?}");
    assert!(run.failed_with("accept()", "EMFILE"), "{run:?}");
    assert_eq!(run.answered, 252, "{run:?}");
    assert!(!run.stderr.contains("panicked"), "{run:?}");
}

#[test]
fn webserver3d_fork_fails_eagain_under_nproc_limit() {
    // Room for 400 processes (as root: a uid of its own; the kernel ignores
    // RLIMIT_NPROC for root itself). Nobody reaps: the finished children
    // stay zombies and count against the limit until fork() fails.
    let run = observe::under_process_limit(&Subject::bin("webserver3d"), 400, 1000).unwrap();
    assert_eq!(run.exit, Some(Exit::Code(1)), "{run:?}");
    // nix prints EAGAIN's text as "Try again"; the symbolic name is stable.
    assert!(run.failed_with("fork()", "EAGAIN"), "{run:?}");
    assert!((395..=400).contains(&run.answered), "{run:?}");
}

/// The original tutorial's run: `ulimit -u 400` and `ulimit -n 500`
/// together. Both limits are in reach (3d leaks a descriptor and a zombie
/// per client), and the process limit comes first: about 400 zombies, while
/// 500 descriptors would have lasted for about 496 clients. The server dies
/// of fork's EAGAIN, never of accept's EMFILE.
#[test]
fn webserver3d_hits_ulimit_u_400_before_ulimit_n_500() {
    let launch = Launch::new("webserver3d")
        .arg("--quiet")
        .limit_open_files_hard(500);
    let launch = if nix::unistd::Uid::effective().is_root() {
        // The kernel ignores RLIMIT_NPROC for root: a uid no process uses.
        launch
            .as_user(300_000 + std::process::id())
            .limit_processes(400)
    } else {
        let mine = lsbaws_harness::procfs::processes_of_user(nix::unistd::Uid::current().as_raw());
        launch.limit_processes(mine as u64 + 400)
    };
    let mut server = launch.start().unwrap();
    let mut answered = 0;
    while answered < 600 && get(server.addr(), WAIT).is_ok() {
        answered += 1;
    }
    assert_eq!(server.wait_for_exit(WAIT), Some(Exit::Code(1)));
    let stderr = server.stderr();
    assert!(stderr.contains("fork() failed: EAGAIN"), "{stderr}");
    assert!(!stderr.contains("EMFILE"), "{stderr}");
    assert!(
        (395..=400).contains(&answered),
        "answered {answered}: {stderr}"
    );
}

// ---- 3e: SIGCHLD without SA_RESTART ----------------------------------------

#[test]
fn webserver3e_reaps_its_child_then_dies_of_eintr() {
    let subject = Subject::bin("webserver3e");
    assert_eq!(
        observe::sigchld_handling(&subject).unwrap(),
        SigchldHandling::Caught
    );
    let run = observe::fate_of_a_child(&subject).unwrap();
    assert!(matches!(run.fate, ChildFate::Reaped { .. }), "{run:?}");
    assert_eq!(run.server_exit, Some(Exit::Code(1)), "{run:?}");
}

#[test]
fn webserver3e_dies_of_eintr_after_one_request() {
    let run = observe::serve_while_children_exit(&Subject::bin("webserver3e"), 3).unwrap();
    assert_eq!(run.served, 1, "{run:?}");
    assert_eq!(run.exit, Some(Exit::Code(1)), "{run:?}");
    assert!(run.stderr.contains("accept() failed: EINTR"), "{run:?}");
    assert_eq!(
        run.stderr.lines().count(),
        1,
        "one clear line, got: {}",
        run.stderr
    );
}

// ---- 3f: restart on EINTR, but one wait() per signal -----------------------

#[test]
fn webserver3f_survives_eintr() {
    let subject = Subject::bin("webserver3f");
    let run = observe::serve_while_children_exit(&subject, 3).unwrap();
    assert_eq!((run.served, run.exit), (3, None), "{run:?}");
    let child = observe::fate_of_a_child(&subject).unwrap();
    assert!(matches!(child.fate, ChildFate::Reaped { .. }), "{child:?}");
}

#[test]
fn webserver3f_burst_leaves_zombies() {
    // Whether two children exit close enough together for their signals to
    // merge is a race; that race is the lesson. Each burst gives it 128
    // chances.
    let bursts = observe::zombies_after_bursts(&Subject::bin("webserver3f"), 5, 128).unwrap();
    assert!(
        bursts.zombies > 0,
        "no zombie after 5 bursts of 128 clients: {bursts:?}"
    );
}

// ---- 3g: reap every child ----------------------------------------------------

#[test]
fn webserver3g_bursts_leave_no_zombies() {
    let bursts = observe::zombies_after_bursts(&Subject::bin("webserver3g"), 3, 128).unwrap();
    assert_eq!((bursts.sent, bursts.zombies), (3, 0), "{bursts:?}");
    let server = start("webserver3g", &[]);
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
    assert_eq!(
        output.status.code(),
        Some(0),
        "client3 {args:?}: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
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
    assert_eq!(
        exit,
        Some(Exit::Code(1)),
        "stderr: {stderr}\nclient3: {summary}"
    );
    assert!(
        stderr.contains("accept() failed: EMFILE: Too many open files"),
        "stderr: {stderr}"
    );
    // The server died with connections in its listen queue: those are reset.
    assert!(
        summary.contains("ECONNRESET"),
        "client3 summary:\n{summary}"
    );
}

#[test]
fn webserver3f_and_3g_under_client3_128_clients() {
    for (name, zombies_expected) in [("webserver3f", true), ("webserver3g", false)] {
        let server = start(name, &[]);
        let mut zombies = 0;
        for _ in 0..5 {
            let summary = client3(&server, &["--max-clients", "128"]);
            assert!(
                summary.contains("responses received:     128"),
                "{name}:\n{summary}"
            );
            server.wait_children_finished(WAIT).unwrap();
            zombies = server.zombies();
            if zombies > 0 || !zombies_expected {
                break;
            }
        }
        if zombies_expected {
            assert!(
                zombies > 0,
                "{name}: no zombie after 5 runs of client3 --max-clients 128"
            );
        } else {
            server
                .wait_until(WAIT, "no children left", |s| s.children().is_empty())
                .unwrap();
        }
    }
}
