//! Part 4, the blocking models (4a processes, 4b threads, 4h a thread pool)
//! and the busy loop (4c, and 4d with keep-alive): each serves the real
//! site correctly, and each model's cost or failure really shows.
//!
//! 4c and 4d spin on a CPU core for as long as they run, so the tests keep
//! them short-lived, and the one test that measures CPU time runs alone
//! (it takes [`exclusive`]; every other test takes [`shared`]).

use lsbaws::http::site::default_root;
use lsbaws_harness::client::{exchange, read_response, wait_for_eof, AfterResponse};
use lsbaws_harness::site_check::{
    assert_curl_fetches_site, assert_keep_alive, assert_traversal_refused, TrapSite,
};
use lsbaws_harness::{Launch, Server};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// Upper bound for anything that should happen "at once".
const WAIT: Duration = Duration::from_secs(10);
/// How long a client waits before calling a silent connection hung.
const HANG: Duration = Duration::from_secs(1);

/// Every server of this file.
const ALL: &[&str] = &[
    "webserver4a",
    "webserver4b",
    "webserver4c",
    "webserver4d",
    "webserver4h",
];
/// The ones that keep a connection open between requests.
const KEEP_ALIVE: &[&str] = &["webserver4a", "webserver4b", "webserver4d", "webserver4h"];

static CPU: RwLock<()> = RwLock::new(());

/// Taken by every test: they may run together.
fn shared() -> RwLockReadGuard<'static, ()> {
    CPU.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Taken by the test that measures CPU time: it runs alone.
fn exclusive() -> RwLockWriteGuard<'static, ()> {
    CPU.write().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn start(name: &str, args: &[&str]) -> Server {
    Launch::new(name).arg("--quiet").args(args).start().unwrap()
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n")
}

fn get_and_close(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
}

/// Ask for `/hello.txt` on an open keep-alive connection and read the answer.
fn assert_hello_on(stream: &mut TcpStream) {
    stream.write_all(get("/hello.txt").as_bytes()).unwrap();
    let response = read_response(stream, WAIT).unwrap();
    assert_eq!(response.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(
        response.body,
        std::fs::read(default_root().join("hello.txt")).unwrap()
    );
}

/// Nothing on stderr: disconnects and bad requests are not errors.
fn assert_quiet_stderr(server: &Server) {
    assert_eq!(server.stderr(), "", "{server:?} wrote to stderr");
}

// ---- The whole site, byte-exact, to curl --------------------------------------

fn assert_serves_the_site(name: &str) {
    let _shared = shared();
    let server = start(name, &[]);
    assert_curl_fetches_site(server.addr(), &default_root());
    assert_quiet_stderr(&server);
}

#[test]
fn webserver4a_serves_the_site_to_curl() {
    assert_serves_the_site("webserver4a");
}

#[test]
fn webserver4b_serves_the_site_to_curl() {
    assert_serves_the_site("webserver4b");
}

#[test]
fn webserver4c_serves_the_site_to_curl() {
    assert_serves_the_site("webserver4c");
}

#[test]
fn webserver4d_serves_the_site_to_curl() {
    assert_serves_the_site("webserver4d");
}

#[test]
fn webserver4h_serves_the_site_to_curl() {
    assert_serves_the_site("webserver4h");
}

// ---- Keep-alive ---------------------------------------------------------------

#[test]
fn keep_alive_models_reuse_one_connection() {
    let _shared = shared();
    for name in KEEP_ALIVE {
        let server = start(name, &[]);
        assert_keep_alive(server.addr(), &default_root(), 5);
        assert_quiet_stderr(&server);
    }
}

/// Read the body of the next response from `reader`, which keeps whatever
/// was read past it (the harness's `read_response` reads one response per
/// call and would drop the start of the next one).
fn next_body(reader: &mut std::io::BufReader<TcpStream>) -> std::io::Result<Vec<u8>> {
    use std::io::BufRead;
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        if line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok();
            }
        }
    }
    let mut body = vec![0; length.ok_or(ErrorKind::InvalidData)?];
    reader.read_exact(&mut body)?;
    Ok(body)
}

#[test]
fn keep_alive_models_answer_pipelined_requests_in_order() {
    let _shared = shared();
    let files = ["/hello.txt", "/style.css", "/guide/checker.png"];
    let bodies: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(default_root().join(&f[1..])).unwrap())
        .collect();
    for name in KEEP_ALIVE {
        let server = start(name, &[]);
        let mut stream = server.connect();
        // 300 requests in one go, more answers than the server queues at once.
        let requests: String = (0..300).map(|i| get(files[i % 3])).collect();
        stream.write_all(requests.as_bytes()).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut reader = std::io::BufReader::new(stream);
        for i in 0..300 {
            let body =
                next_body(&mut reader).unwrap_or_else(|e| panic!("{name}: response {i}: {e}"));
            assert!(
                body == bodies[i % 3],
                "{name}: response {i} is not {}",
                files[i % 3]
            );
        }
        assert_quiet_stderr(&server);
    }
}

#[test]
fn a_client_that_pipelines_without_reading_does_not_make_a_server_grow() {
    let _shared = shared();
    // 16 KiB of requests for the 1 MiB file ask for about 400 MiB of answers.
    let request = get("/files/one-mebibyte.bin");
    let flood = request.repeat(16 * 1024 / request.len());
    for name in ALL {
        let server = start(name, &[]);
        let mut stream = server.connect();
        stream.write_all(flood.as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(500)); // time to (wrongly) build them all
        let rss_mib = server.rss_kib() / 1024;
        assert!(
            rss_mib < 64,
            "{name} holds {rss_mib} MiB for a client that reads nothing"
        );
        // Reading, the client gets its answers; here the first few.
        stream.set_read_timeout(Some(WAIT)).unwrap();
        if *name == "webserver4c" {
            // One answer, no Content-Length, then the connection closes.
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).unwrap();
            assert!(
                answer.starts_with(b"HTTP/1.1 200 OK\r\n") && answer.len() > 1024 * 1024,
                "{name}"
            );
            continue;
        }
        let mut reader = std::io::BufReader::new(stream);
        for i in 0..3 {
            let body =
                next_body(&mut reader).unwrap_or_else(|e| panic!("{name}: response {i}: {e}"));
            assert_eq!(body.len(), 1024 * 1024, "{name}");
        }
    }
}

#[test]
fn webserver4c_closes_every_connection_after_one_response() {
    let _shared = shared();
    let server = start("webserver4c", &[]);
    let mut stream = server.connect();
    stream.write_all(get("/hello.txt").as_bytes()).unwrap(); // asks for keep-alive
    let mut answer = Vec::new();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.read_to_end(&mut answer).unwrap(); // returns at EOF: the server closed
    let answer = String::from_utf8(answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.contains("\r\nConnection: close\r\n"), "{answer}");
    assert!(
        !answer.contains("Content-Length"),
        "4c lets the close end the body: {answer}"
    );
    assert!(answer.ends_with("\r\n\r\nHello, World!"), "{answer}");
}

// ---- What each model costs ----------------------------------------------------

#[test]
fn webserver4a_forks_a_child_per_connection_and_reaps_it() {
    let _shared = shared();
    let server = start("webserver4a", &[]);
    let mut clients: Vec<TcpStream> = (0..3).map(|_| server.connect()).collect();
    for client in &mut clients {
        assert_hello_on(client);
    }
    // Three idle keep-alive connections: three children, each blocked in read().
    server
        .wait_until(WAIT, "3 children", |s| s.children().len() == 3)
        .unwrap();
    drop(clients);
    // Each child sees EOF and exits; the SIGCHLD handler reaps it.
    server
        .wait_until(WAIT, "every child reaped", |s| s.children().is_empty())
        .unwrap();
    assert_quiet_stderr(&server);
}

#[test]
fn webserver4b_runs_a_thread_per_connection() {
    let _shared = shared();
    let server = start("webserver4b", &[]);
    assert_eq!(server.threads(), 1, "only main before any client");
    let mut clients: Vec<TcpStream> = (0..3).map(|_| server.connect()).collect();
    for client in &mut clients {
        assert_hello_on(client);
    }
    server
        .wait_until(WAIT, "main + 3 threads", |s| s.threads() == 4)
        .unwrap();
    assert!(server.children().is_empty(), "threads, not processes");
    drop(clients);
    server
        .wait_until(WAIT, "the connection threads to end", |s| s.threads() == 1)
        .unwrap();
}

#[test]
fn webserver4h_thread_count_stays_fixed() {
    let _shared = shared();
    let server = start("webserver4h", &["--threads", "3"]);
    server
        .wait_until(WAIT, "main + 3 workers", |s| s.threads() == 4)
        .unwrap();
    let mut clients: Vec<TcpStream> = (0..3).map(|_| server.connect()).collect();
    for client in &mut clients {
        assert_hello_on(client);
    }
    // Seven more connections: they wait in the queue, no thread is added.
    let waiting: Vec<TcpStream> = (0..7).map(|_| server.connect()).collect();
    std::thread::sleep(Duration::from_millis(200)); // time to (wrongly) grow, if it did
    assert_eq!(
        server.threads(),
        4,
        "the pool does not grow with the clients"
    );
    drop((clients, waiting));
}

#[test]
fn webserver4h_idle_keep_alive_clients_hold_every_worker_until_the_idle_timeout() {
    let _shared = shared();
    let server = start("webserver4h", &["--threads", "2", "--idle-timeout", "3"]);
    // Two clients load something and keep their connections open, idle,
    // as a browser does: each holds one of the two workers.
    let mut idle: Vec<TcpStream> = (0..2).map(|_| server.connect()).collect();
    for client in &mut idle {
        assert_hello_on(client);
    }
    let idle_since = Instant::now();
    // A third client is accepted and queued, but no worker is free.
    let mut third = server.connect();
    third
        .write_all(get_and_close("/hello.txt").as_bytes())
        .unwrap();
    match read_response(&mut third, HANG) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("expected the third client to wait, got {other:?}"),
    }
    // After 3 idle seconds the workers close the idle connections and the
    // third client is served.
    let response = read_response(&mut third, WAIT).unwrap();
    assert_eq!(response.status_line(), "HTTP/1.1 200 OK");
    let waited = idle_since.elapsed();
    assert!(
        waited >= Duration::from_millis(2500),
        "served after only {waited:?}"
    );
    for client in &mut idle {
        assert_eq!(
            wait_for_eof(client, WAIT).unwrap(),
            AfterResponse::Eof,
            "the idle client is closed"
        );
    }
    assert_quiet_stderr(&server);
}

/// What a server did with the CPU over a window of time, as fractions of
/// that time: the CPU time it got (`utime + stime`, what `ps` and `top`
/// show), and the CPU time it wanted (on a CPU or waiting in the run queue).
#[derive(Debug, Clone, Copy)]
struct CpuUse {
    got: f64,
    wanted: f64,
}

fn cpu_use(server: &Server, window: Duration) -> CpuUse {
    let (cpu_before, (on_before, wait_before)) = (server.cpu_time(), server.sched_times());
    let started = Instant::now();
    std::thread::sleep(window);
    let (cpu_after, (on_after, wait_after)) = (server.cpu_time(), server.sched_times());
    let wall = started.elapsed().as_secs_f64();
    CpuUse {
        got: (cpu_after - cpu_before).as_secs_f64() / wall,
        wanted: ((on_after - on_before) + (wait_after - wait_before)).as_secs_f64() / wall,
    }
}

#[test]
fn webserver4c_burns_a_core_while_idle() {
    let _alone = exclusive();
    let busy = start("webserver4c", &[]);
    let blocking = start("webserver4h", &[]);
    // Nobody connects. The busy loop spins anyway; the pool sleeps in
    // accept() and read(). On a machine busy with other work the scheduler
    // may give the loop less than a core, though it wants all of it: measure
    // up to three 2 s windows, and accept a smaller share when the loop
    // was runnable the whole time.
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (spinning, sleeping) = std::thread::scope(|s| {
            let spinning = s.spawn(|| cpu_use(&busy, Duration::from_secs(2)));
            let sleeping = s.spawn(|| cpu_use(&blocking, Duration::from_secs(2)));
            (spinning.join().unwrap(), sleeping.join().unwrap())
        });
        assert!(
            sleeping.got < 0.05 && sleeping.wanted < 0.05,
            "idle webserver4h: {sleeping:?}"
        );
        seen.push(spinning);
        if spinning.got > 0.5 || (spinning.got > 0.2 && spinning.wanted > 0.9) {
            return;
        }
    }
    panic!("idle webserver4c should use (or want) a whole core, used: {seen:?}");
}

// ---- 4d: keep-alive needs Content-Length --------------------------------------

#[test]
fn webserver4d_with_content_length_the_client_knows_where_the_body_ends() {
    let _shared = shared();
    let server = start("webserver4d", &[]);
    let mut stream = server.connect();
    stream.write_all(get("/hello.txt").as_bytes()).unwrap();
    let response = read_response(&mut stream, HANG).unwrap(); // stops after Content-Length bytes
    assert!(
        response.head.contains("Content-Length: 13"),
        "{}",
        response.head
    );
    assert!(
        response.head.contains("Connection: keep-alive"),
        "{}",
        response.head
    );
    // And curl is done as soon as the body is in.
    let url = format!("http://{}/hello.txt", server.addr());
    let curl = Command::new("curl")
        .args(["--silent", "--max-time", "5", &url])
        .output()
        .unwrap();
    assert_eq!(curl.status.code(), Some(0));
    assert_eq!(curl.stdout, b"Hello, World!");
}

#[test]
fn webserver4d_without_content_length_a_keep_alive_client_never_sees_the_end_of_the_body() {
    let _shared = shared();
    let server = start("webserver4d", &["--no-content-length"]);
    let mut stream = server.connect();
    stream.write_all(get("/hello.txt").as_bytes()).unwrap();
    // Read all that comes: the head, the whole body ... and then nothing,
    // with the connection still open. The client cannot tell that the body
    // is complete.
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    stream.set_read_timeout(Some(HANG)).unwrap();
    let end = loop {
        match stream.read(&mut buf) {
            Ok(0) => break "EOF",
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => break "still waiting",
            Err(e) => panic!("{e}"),
        }
    };
    let received = String::from_utf8(received).unwrap();
    assert!(
        received.ends_with("\r\n\r\nHello, World!"),
        "the whole body arrived: {received}"
    );
    assert!(!received.contains("Content-Length"), "{received}");
    assert!(received.contains("Connection: keep-alive"), "{received}");
    assert_eq!(end, "still waiting", "after the body");
    // curl, too, has the body and waits until --max-time: exit status 28.
    let url = format!("http://{}/hello.txt", server.addr());
    let curl = Command::new("curl")
        .args(["--silent", "--max-time", "1", &url])
        .output()
        .unwrap();
    assert_eq!(curl.status.code(), Some(28), "curl timed out");
    assert_eq!(curl.stdout, b"Hello, World!");
}

// ---- Confinement ----------------------------------------------------------------

#[test]
fn no_model_serves_anything_outside_its_root() {
    let _shared = shared();
    let trap = TrapSite::new();
    let root = trap.root().display().to_string();
    for name in ALL {
        let server = start(name, &["--root", &root]);
        assert_traversal_refused(server.addr(), &trap);
        assert_quiet_stderr(&server);
    }
}

// ---- Load: the pool and 1,000 connections ----------------------------------------

/// Raise this process's RLIMIT_NOFILE soft limit to its hard limit (the
/// servers started afterwards inherit it) and return it.
fn raise_open_file_limit() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).unwrap();
    }
    hard
}

#[test]
fn webserver4h_serves_1000_concurrent_connections() {
    let _shared = shared();
    let limit = raise_open_file_limit();
    assert!(
        limit >= 2100,
        "RLIMIT_NOFILE hard limit {limit} is too low for 1,000 connections"
    );
    let server = start("webserver4h", &[]);
    let hello = std::fs::read(default_root().join("hello.txt")).unwrap();
    // All 1,000 connect and send their request before any answer is read.
    let mut clients: Vec<TcpStream> = (0..1000)
        .map(|i| {
            let mut stream =
                TcpStream::connect(server.addr()).unwrap_or_else(|e| panic!("client {i}: {e}"));
            stream
                .write_all(get_and_close("/hello.txt").as_bytes())
                .unwrap();
            stream
        })
        .collect();
    for (i, client) in clients.iter_mut().enumerate() {
        let response = read_response(client, WAIT).unwrap_or_else(|e| panic!("client {i}: {e}"));
        assert_eq!(response.status_line(), "HTTP/1.1 200 OK", "client {i}");
        assert_eq!(response.body, hello, "client {i}");
    }
    assert_quiet_stderr(&server);
}

// ---- Rude clients ------------------------------------------------------------------

/// Pseudo-random bytes (a fixed-seed xorshift), different for each `seed`.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn a_malformed_request_gets_400_and_the_server_keeps_serving() {
    let _shared = shared();
    let malformed: &[&[u8]] = &[
        b"\x00\xff\xfe garbage \xc3\x28\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost localhost\r\n\r\n",
        b"GET /%zz HTTP/1.1\r\n\r\n",
        b"GET /a%00b HTTP/1.1\r\n\r\n",
        b"GET /%ff%fe HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    ];
    for name in ALL {
        let mut server = start(name, &[]);
        for request in malformed {
            let answer = exchange(server.addr(), request, WAIT).unwrap();
            let answer = String::from_utf8_lossy(&answer);
            assert!(
                answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
                "{name} {request:?}: {answer}"
            );
        }
        // Random bytes: any answer (or none) will do, but no crash.
        for seed in 0..20 {
            let _ = exchange(server.addr(), &noise(seed, 64 + seed as usize * 100), HANG);
        }
        let answer = exchange(server.addr(), get_and_close("/hello.txt").as_bytes(), WAIT).unwrap();
        assert!(answer.ends_with(b"Hello, World!"), "{name} still serves");
        assert!(server.is_running(), "{name} exited: {}", server.stderr());
        assert_quiet_stderr(&server);
    }
}

#[test]
fn clients_that_leave_mid_response_are_not_errors() {
    let _shared = shared();
    for name in ALL {
        let mut server = start(name, &[]);
        for _ in 0..5 {
            // Ask for 1 MiB, read a little of it, then reset the connection:
            // the server's next write fails with EPIPE or ECONNRESET.
            let mut stream = server.connect();
            stream
                .write_all(get("/files/one-mebibyte.bin").as_bytes())
                .unwrap();
            let mut some = [0u8; 1024];
            stream.read_exact(&mut some).unwrap();
            lsbaws_harness::client::reset_on_close(&stream);
            drop(stream);
            // Half a request, then a plain close.
            let mut half = server.connect();
            half.write_all(b"GET /hello.txt HTTP/1.1\r\nHo").unwrap();
            drop(half);
        }
        let answer = exchange(server.addr(), get_and_close("/hello.txt").as_bytes(), WAIT).unwrap();
        assert!(answer.ends_with(b"Hello, World!"), "{name} still serves");
        assert!(server.is_running(), "{name} exited: {}", server.stderr());
        assert_quiet_stderr(&server);
    }
}

// ---- Flags ---------------------------------------------------------------------------

#[test]
fn bad_flags_and_a_busy_port_are_one_clear_line() {
    let _shared = shared();
    let first = start("webserver4h", &[]);
    let port = first.port().to_string();
    for name in ALL {
        let cases: &[(&[&str], i32, &str)] = &[
            (&["--port", &port], 1, "EADDRINUSE"),
            (
                &["--root", "/no/such/folder"],
                1,
                "cannot open site root /no/such/folder",
            ),
            (
                &["--root", concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")],
                1,
                "is not a directory",
            ),
        ];
        for (args, code, expected) in cases {
            let output = assert_cmd::Command::cargo_bin(name)
                .unwrap()
                .args(*args)
                .timeout(WAIT)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(
                output.status.code(),
                Some(*code),
                "{name} {args:?}: {stderr}"
            );
            assert!(stderr.contains(expected), "{name} {args:?}: {stderr}");
            assert_eq!(
                stderr.trim_end().lines().count(),
                1,
                "{name} {args:?}: {stderr}"
            );
        }
    }
    let usage: &[(&str, &[&str], &str)] = &[
        ("webserver4h", &["--threads", "0"], "--threads"),
        (
            "webserver4h",
            &["--idle-timeout", "soon"],
            "is not a number of seconds",
        ),
        (
            "webserver4b",
            &["--idle-timeout=-1"],
            "must be a finite, non-negative number",
        ),
        (
            "webserver4c",
            &["--no-content-length"],
            "unexpected argument",
        ),
    ];
    for (name, args, expected) in usage {
        let output = assert_cmd::Command::cargo_bin(name)
            .unwrap()
            .args(*args)
            .timeout(WAIT)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name} {args:?}: {stderr}");
        assert!(stderr.contains(expected), "{name} {args:?}: {stderr}");
    }
}
