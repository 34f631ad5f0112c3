//! The `coroutines` program: an explicit hand-off between two coroutines,
//! spawn/join/sleep done the coroutine way and the blocking way, and what a
//! parked coroutine costs. Each run ends on its own within a second or so.

use assert_cmd::Command;
use std::time::Duration;

fn run(args: &[&str]) -> String {
    let out = Command::cargo_bin("coroutines")
        .unwrap()
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(out.status.success(), "coroutines {args:?} failed: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn two_coroutines_hand_control_to_each_other_in_turn() {
    let out = run(&["switch", "--turns", "5"]);
    let turns: Vec<&str> = out.lines().filter(|l| l.contains(": turn ")).collect();
    assert_eq!(
        turns,
        [
            "ping: turn 1, switching to the other",
            "pong: turn 2, switching to the other",
            "ping: turn 3, switching to the other",
            "pong: turn 4, switching to the other",
            "ping: turn 5, switching to the other",
        ],
        "{out}"
    );
    // Neither ran before main handed the token over, and both ended.
    assert!(
        out.starts_with("main: both spawned, neither has run"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("main: both finished"), "{out}");
}

#[test]
fn timed_hand_offs_report_both_coroutines_and_threads() {
    let out = run(&["switch", "--turns", "1", "--timed", "100"]);
    for what in ["coroutines: 100 round trips", "threads: 100 round trips"] {
        assert!(out.contains(what), "no {what:?} in {out}");
    }
}

/// The seconds in "joined all three after N s".
fn joined_after(out: &str) -> f64 {
    let line = out
        .lines()
        .find(|l| l.starts_with("joined all three after "))
        .unwrap_or_else(|| panic!("no join line in {out}"));
    line["joined all three after ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn events(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| !l.starts_with("joined"))
        .map(|l| l.split(" (at").next().unwrap().to_string())
        .collect()
}

#[test]
fn coroutines_that_sleep_the_coroutine_way_sleep_together() {
    let out = run(&["spawn"]);
    // All three go to sleep before any wakes, and they wake by deadline:
    // a (100 ms), c (200 ms), b (300 ms).
    assert_eq!(
        events(&out),
        [
            "a: going to sleep for 100 ms",
            "b: going to sleep for 300 ms",
            "c: going to sleep for 200 ms",
            "a: awake",
            "c: awake",
            "b: awake",
        ],
        "{out}"
    );
    // The order above is the proof that they slept together (sleeping one
    // after another, a would wake before b went to sleep). No upper bound
    // on the time: on a loaded machine even 0.3 s of sleeping together can
    // take longer; the longest sleep is the least it can take.
    let took = joined_after(&out);
    assert!(took >= 0.3, "joined after {took} s: {out}");
}

#[test]
fn a_blocking_sleep_holds_the_worker_and_every_other_coroutine() {
    let out = run(&["spawn", "--blocking"]);
    // Each sleeper runs to the end before the next one starts.
    assert_eq!(
        events(&out),
        [
            "a: going to sleep for 100 ms",
            "a: awake",
            "b: going to sleep for 300 ms",
            "b: awake",
            "c: going to sleep for 200 ms",
            "c: awake",
        ],
        "{out}"
    );
    // The sum of the sleeps: 0.6 s at least.
    let took = joined_after(&out);
    assert!(took >= 0.6, "joined after {took} s: {out}");
}

/// The number before " KiB each" after `label` on the line starting `start`.
fn kib_each(out: &str, start: &str, label: &str) -> f64 {
    let line = out
        .lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no {start:?} line in {out}"));
    let rest = &line[line.find(label).unwrap_or_else(|| panic!("{line}")) + label.len()..];
    rest.split(" KiB").next().unwrap().parse().unwrap()
}

#[test]
fn a_parked_coroutine_reserves_its_stack_but_touches_a_few_pages() {
    let out = run(&["stack", "--coroutines", "2000", "--threads", "200"]);
    // 128 KiB of stack reserved per coroutine (plus a guard page) ...
    let reserved = kib_each(&out, "2000 parked coroutines", "address space +");
    assert!(reserved >= 128.0, "{out}");
    // ... of which it uses a few pages.
    let resident = kib_each(&out, "2000 parked coroutines", "resident +");
    assert!(resident < 64.0, "{out}");
    // A thread reserves far more address space for its stack.
    let thread_reserved = kib_each(&out, "200 parked threads: address", "address space +");
    assert!(thread_reserved > 4.0 * reserved, "{out}");
    // A stackless future is as big as what it holds across an await.
    assert!(
        out.contains("async fn future holding a counter across .await: 16 bytes"),
        "{out}"
    );
}

// ---- 4f's slow path: the blocking call that stalls everyone ----------------

use lsbaws_harness::{Launch, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

/// How long `/slow` sleeps in these tests.
const SLOW: Duration = Duration::from_millis(2000);
const WAIT: Duration = Duration::from_secs(30);

/// 4f on one worker thread, sleeping on `/slow` the way given.
fn one_worker_4f(sleep: &str) -> Server {
    Launch::new("webserver4f")
        .args(["--port", "0", "--workers", "1", "--slow-wait", sleep])
        .start()
        .unwrap()
}

/// Send `GET path` on a new connection (the answer is read later).
fn send(server: &Server, path: &str) -> TcpStream {
    let mut stream = server.connect();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\n\r\n").unwrap();
    stream
}

/// Read one whole answer (HTTP/1.0: the server closes after it).
fn answer(mut stream: TcpStream) -> String {
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

/// A client asks `/slow`; once the server says it sleeps, a second client
/// asks for a small file. Returns how long the second client waited and
/// whether it was answered while the slow one still slept.
fn second_client_during_a_slow_request(server: &Server) -> (Duration, bool) {
    let slow = send(server, &format!("/slow?ms={}", SLOW.as_millis()));
    server
        .wait_until(WAIT, "the slow request to start sleeping", |s| {
            s.stdout().contains("sleeping")
        })
        .unwrap();
    let start = Instant::now();
    let quick = answer(send(server, "/hello.txt"));
    let waited = start.elapsed();
    assert!(quick.starts_with("HTTP/1.1 200"), "{quick}");
    // Was the slow one still sleeping when the quick one was answered? One
    // worker writes one answer at a time, so if the slow answer was written
    // first, it is already in the slow client's socket.
    slow.set_nonblocking(true).unwrap();
    let slow_still_sleeping =
        matches!(slow.peek(&mut [0u8; 1]), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
    slow.set_nonblocking(false).unwrap();
    let slow_answer = answer(slow);
    assert!(slow_answer.ends_with("slept 2000 ms\n"), "{slow_answer}");
    (waited, slow_still_sleeping)
}

#[test]
fn a_thread_sleep_in_one_coroutine_stalls_every_other_client() {
    let server = one_worker_4f("thread");
    let (waited, during) = second_client_during_a_slow_request(&server);
    // std::thread::sleep holds the only worker: the accept loop and every
    // other coroutine wait out the sleep (most of it: the clock started
    // only after the server said it was sleeping).
    assert!(
        waited >= SLOW / 2,
        "the second client waited only {waited:?} of a {SLOW:?} sleep"
    );
    assert!(
        !during,
        "the second client was answered while the first slept"
    );
}

#[test]
fn a_coroutine_sleep_lets_the_others_run() {
    let server = one_worker_4f("coroutine");
    let (waited, during) = second_client_during_a_slow_request(&server);
    // may's sleep parks only the slow coroutine: the second client is
    // answered while it sleeps.
    assert!(
        during,
        "the second client waited for the slow one ({waited:?})"
    );
}

#[test]
fn the_slow_path_refuses_a_wait_that_is_not_a_bounded_number() {
    let server = one_worker_4f("coroutine");
    for path in ["/slow", "/slow?ms=abc", "/slow?ms=3600000", "/slow?ms=-1"] {
        let text = answer(send(&server, path));
        assert!(text.starts_with("HTTP/1.1 400"), "{path}: {text}");
    }
    let text = answer(send(&server, "/slow?ms=0"));
    assert!(text.ends_with("slept 0 ms\n"), "{text}");
}

// ---- 4f's workers and cores: CPU-bound work ----------------------------------

/// Run four `/work?ms=400` requests at once on 4f with `workers` worker
/// threads; how many of its threads each used at least 200 ms of CPU.
fn threads_that_worked(workers: &str) -> usize {
    let server = Launch::new("webserver4f")
        .args(["--port", "0", "--quiet", "--workers", workers])
        .start()
        .unwrap();
    let before = server.cpu_by_thread();
    let clients: Vec<TcpStream> = (0..4).map(|_| send(&server, "/work?ms=400")).collect();
    for client in clients {
        let text = answer(client);
        assert!(text.contains("worked 400 ms"), "{text}");
    }
    server.threads_that_used(&before, Duration::from_millis(200))
}

#[test]
fn one_worker_computes_on_one_thread_two_workers_on_two() {
    // 1.6 s of CPU-bound work arrives at once. One worker runs it all on
    // its one thread, one request after another: one core. Two workers
    // take a coroutine each and compute in parallel (may's idle worker
    // steals from the busy one's queue).
    assert_eq!(threads_that_worked("1"), 1);
    assert_eq!(threads_that_worked("2"), 2);
}
