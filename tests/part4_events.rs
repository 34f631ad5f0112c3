//! Part 4, the scalable models: epoll (4e), may coroutines (4f), the mio
//! event loop (4g) and io_uring (4u, and 4v with multishot operations)
//! serve the sample site over kept-alive connections.
//!
//! Every test starts the real binary on port 0 through the harness, which
//! kills and reaps it when the test ends. The tests a model shares with the
//! others are written once and instantiated per model by `for_models!`, so
//! a failure reads `pipelined_requests_are_answered_in_order::webserver4g`.

use lsbaws::http::site::default_root;
use lsbaws_harness::client::{
    read_response, wait_for_eof, AfterResponse, Response, ResponseReader,
};
use lsbaws_harness::site_check::{assert_curl_fetches_site, assert_keep_alive};
use lsbaws_harness::{Launch, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// Upper bound for anything that should happen "at once".
const WAIT: Duration = Duration::from_secs(10);
/// The big file of the sample site.
const MEBIBYTE_FILE: &str = "/files/one-mebibyte.bin";

/// `name::webserver4e`, `name::webserver4f`, ... for a test `fn name(&str)`.
macro_rules! for_models {
    ($test:ident: $($model:ident),+) => {
        mod $test {
            $(
                #[test]
                fn $model() {
                    super::$test(stringify!($model));
                }
            )+
        }
    };
    ($test:ident) => {
        for_models!($test: webserver4e, webserver4f, webserver4g, webserver4u, webserver4v);
    };
}

fn start(name: &str, args: &[&str]) -> Server {
    Launch::new(name).arg("--quiet").args(args).start().unwrap()
}

fn request(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n")
}

/// A file of the sample site, as on disk.
fn site_file(path: &str) -> Vec<u8> {
    let root = default_root();
    let relative = path.trim_start_matches('/');
    let file = if relative.is_empty() || relative.ends_with('/') {
        root.join(relative).join("index.html")
    } else {
        root.join(relative)
    };
    std::fs::read(&file).unwrap_or_else(|e| panic!("reading {}: {e}", file.display()))
}

fn assert_serves(response: &Response, path: &str) {
    assert_eq!(
        response.status_line(),
        "HTTP/1.1 200 OK",
        "{path}: {}",
        response.head
    );
    assert!(
        response.body == site_file(path),
        "{path}: wrong body ({} bytes)",
        response.body.len()
    );
}

/// Send a GET for `path` on a kept-alive connection and check the answer.
fn ask(client: &mut TcpStream, path: &str) {
    client.write_all(request(path).as_bytes()).unwrap();
    assert_serves(&read_response(client, WAIT).unwrap(), path);
}

fn get(server: &Server, path: &str) -> Response {
    let mut stream = server.connect();
    stream.write_all(request(path).as_bytes()).unwrap();
    read_response(&mut stream, WAIT).unwrap()
}

/// The tests open hundreds of sockets: lift the soft descriptor limit of
/// the test process to its hard limit, as the servers do.
fn room_for_many_sockets() {
    lsbaws::net::raise_fd_limit();
}

/// No line on stderr: no error, no panic.
fn assert_quiet_stderr(server: &Server) {
    let stderr = server.stderr();
    assert!(stderr.is_empty(), "stderr: {stderr}");
}

// ---- Every model: the site over HTTP/1.1 --------------------------------

fn serves_the_whole_site_to_curl(name: &str) {
    let server = start(name, &[]);
    assert_curl_fetches_site(server.addr(), &default_root());
    assert_quiet_stderr(&server);
}
for_models!(serves_the_whole_site_to_curl);

fn keeps_one_connection_alive_for_several_requests(name: &str) {
    let server = start(name, &[]);
    let before = server.open_fds();
    assert_keep_alive(server.addr(), &default_root(), 5);
    // One connection served all five: the server never held more than one.
    assert!(server.open_fds() <= before + 1);
}
for_models!(keeps_one_connection_alive_for_several_requests);

/// Data segments this socket has received (`tcpi_data_segs_in`).
fn data_segments_received(stream: &TcpStream) -> u32 {
    // SAFETY: an all-zero tcp_info is a valid value of this plain C struct.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `info`, which is
    // that large, and stores the size it wrote in `len`.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    assert_eq!(
        rc,
        0,
        "getsockopt(TCP_INFO): {}",
        std::io::Error::last_os_error()
    );
    info.tcpi_data_segs_in
}

fn pipelined_requests_are_answered_in_order_in_one_write(name: &str) {
    let server = start(name, &[]);
    let paths = [
        "/hello.txt",
        "/style.css",
        "/guide/",
        "/images/icon.png",
        "/hello.txt",
    ];
    let mut stream = server.connect();
    // All five requests in one write(), before reading anything.
    let batch: String = paths.iter().map(|path| request(path)).collect();
    stream.write_all(batch.as_bytes()).unwrap();
    let mut responses = ResponseReader::new();
    for path in paths {
        assert_serves(&responses.next(&mut stream, WAIT).unwrap(), path);
    }
    // The five answers (3 KB) were queued together and sent by one write:
    // they reached us as one TCP segment. Written one by one, they would
    // have come in several.
    assert_eq!(
        data_segments_received(&stream),
        1,
        "the answers came in several segments"
    );
}
for_models!(pipelined_requests_are_answered_in_order_in_one_write);

fn a_slow_reader_gets_big_files_whole_while_others_are_served(name: &str) {
    let server = start(name, &[]);
    let mut slow = server.connect();
    // Six mebibytes of answers: more than the kernel's socket buffers hold
    // (a send buffer grows to 4 MiB at most), so the server's writes stop
    // part-way and must resume when the reader makes room.
    const COPIES: usize = 6;
    slow.write_all(request(MEBIBYTE_FILE).repeat(COPIES).as_bytes())
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // The server is not stuck in a write to the slow reader: another client
    // is answered meanwhile.
    assert_serves(&get(&server, "/hello.txt"), "/hello.txt");
    // The reader takes its answers one at a time, pausing in between, and
    // gets every byte of every copy.
    let mut responses = ResponseReader::new();
    for copy in 0..COPIES {
        let response = responses
            .next(&mut slow, WAIT)
            .unwrap_or_else(|e| panic!("copy {copy}: {e}"));
        assert_serves(&response, MEBIBYTE_FILE);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_quiet_stderr(&server);
}
for_models!(a_slow_reader_gets_big_files_whole_while_others_are_served);

fn serves_a_thousand_concurrent_connections(name: &str) {
    room_for_many_sockets();
    let server = start(name, &[]);
    const CLIENTS: usize = 1000;
    let mut clients: Vec<TcpStream> = (0..CLIENTS).map(|_| server.connect()).collect();
    for client in &mut clients {
        client.write_all(request("/hello.txt").as_bytes()).unwrap();
    }
    for (i, client) in clients.iter_mut().enumerate() {
        let response = read_response(client, WAIT).unwrap_or_else(|e| panic!("client {i}: {e}"));
        assert_serves(&response, "/hello.txt");
    }
    // Every connection is still open on the server's side: it held all
    // thousand at once.
    assert!(
        server.open_fds() >= CLIENTS,
        "the server holds {} descriptors",
        server.open_fds()
    );
    assert_quiet_stderr(&server);
}
for_models!(serves_a_thousand_concurrent_connections);

fn garbage_gets_400_and_the_server_keeps_serving(name: &str) {
    let server = start(name, &[]);
    let mut rude = server.connect();
    rude.write_all(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 this is not HTTP\r\n\r\n")
        .unwrap();
    let response = read_response(&mut rude, WAIT).unwrap();
    assert_eq!(response.status_line(), "HTTP/1.1 400 Bad Request");
    // After a request it cannot parse, the server closes the connection:
    // the rest of the stream cannot be trusted to start a request.
    assert_eq!(wait_for_eof(&mut rude, WAIT).unwrap(), AfterResponse::Eof);
    assert_serves(&get(&server, "/"), "/");
    assert_quiet_stderr(&server);
}
for_models!(garbage_gets_400_and_the_server_keeps_serving);

fn a_client_leaving_mid_answer_is_not_an_error(name: &str) {
    let server = start(name, &[]);
    let baseline = server.open_fds();
    for _ in 0..5 {
        let mut leaver = server.connect();
        leaver
            .write_all(request(MEBIBYTE_FILE).repeat(6).as_bytes())
            .unwrap();
        let mut first = [0u8; 1024];
        leaver.read_exact(&mut first).unwrap();
        // Closing with unread data sends a reset: the server's next write
        // fails with ECONNRESET or EPIPE.
        drop(leaver);
    }
    server
        .wait_until(WAIT, "every connection to be closed", |s| {
            s.open_fds() <= baseline
        })
        .unwrap();
    assert_serves(&get(&server, "/hello.txt"), "/hello.txt");
    // A client hanging up is a normal event for a server, not an error.
    assert_quiet_stderr(&server);
}
for_models!(a_client_leaving_mid_answer_is_not_an_error);

fn a_client_that_never_reads_cannot_balloon_memory(name: &str) {
    let server = start(name, &[]);
    let before = server.rss_kib() * 1024;
    // 200 requests for the 1 MiB file in one write: 200 MiB of answers for
    // a client that reads none of them. The server answers as its socket
    // buffers drain, never all at once.
    let mut hoarder = server.connect();
    hoarder
        .write_all(request(MEBIBYTE_FILE).repeat(200).as_bytes())
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_serves(&get(&server, "/hello.txt"), "/hello.txt");
    let grown = (server.rss_kib() * 1024).saturating_sub(before);
    assert!(grown < 64 << 20, "the server grew by {} MiB", grown >> 20);
    // And the answers are all there for a client that does read.
    let mut responses = ResponseReader::new();
    for _ in 0..3 {
        assert_serves(&responses.next(&mut hoarder, WAIT).unwrap(), MEBIBYTE_FILE);
    }
}
for_models!(
    a_client_that_never_reads_cannot_balloon_memory: webserver4f,
    webserver4g,
    webserver4u,
    webserver4v
);

// ---- The event loops sleep when idle ----------------------------------------

fn uses_no_cpu_while_idle(name: &str) {
    let server = start(name, &[]);
    // Ten kept-alive connections, one answered, none talking now.
    let mut idle: Vec<TcpStream> = (0..10).map(|_| server.connect()).collect();
    ask(&mut idle[0], "/");
    let before = server.cpu_time();
    std::thread::sleep(Duration::from_secs(2));
    let used = server.cpu_time() - before;
    // epoll_wait blocks: the process is not even scheduled. (Clock ticks
    // are 10 ms; a busy loop would show close to 2 s here.)
    assert!(
        used <= Duration::from_millis(50),
        "{name} used {used:?} of CPU in 2 s of idleness"
    );
}
for_models!(uses_no_cpu_while_idle: webserver4e, webserver4g, webserver4u, webserver4v);

// ---- Running out of descriptors (EMFILE) ------------------------------------

/// The server's descriptor limit in these tests (`ulimit -n`).
const FD_LIMIT: u64 = 64;
/// Clients beyond the limit, left waiting in the listen queue.
const EXTRA_CLIENTS: usize = 10;

/// Start `name` under `ulimit -n FD_LIMIT` and connect until accept() fails
/// with EMFILE: returns the server, the clients it holds, and the clients
/// waiting in its listen queue (each of which has sent a request).
fn fill_every_descriptor(name: &str) -> (Server, Vec<TcpStream>, Vec<TcpStream>) {
    room_for_many_sockets();
    let mut launch = Launch::new(name)
        .arg("--quiet")
        .limit_open_files_hard(FD_LIMIT);
    if ["webserver4f", "webserver4g", "webserver4u", "webserver4v"].contains(&name) {
        // The held clients sit idle: keep the idle timeout from freeing
        // their descriptors before the test lets them go.
        launch = launch.args(["--idle-timeout", "60"]);
    }
    let server = launch.start().unwrap();
    let free = FD_LIMIT as usize - fds_below_limit(&server);
    let held: Vec<TcpStream> = (0..free).map(|_| server.connect()).collect();
    // The kernel completes these connections and queues them; the server
    // has no descriptor left to accept them with.
    let mut waiting: Vec<TcpStream> = (0..EXTRA_CLIENTS).map(|_| server.connect()).collect();
    server
        .wait_until(WAIT, "accept() to fail with EMFILE", |s| {
            s.stderr().contains("EMFILE")
        })
        .unwrap();
    // Every descriptor is in use (but the one a server with a spare
    // releases once accept fails).
    let in_use = fds_below_limit(&server);
    assert!(
        in_use >= FD_LIMIT as usize - 1,
        "{in_use} of {FD_LIMIT} descriptors in use"
    );
    for client in &mut waiting {
        client.write_all(request("/hello.txt").as_bytes()).unwrap();
    }
    (server, held, waiting)
}

/// How many of the descriptors the limit allows (0 to FD_LIMIT - 1) are
/// open. (A descriptor inherited above the limit, such as cargo's jobserver
/// pipe, stays usable but takes no room below it.)
fn fds_below_limit(server: &Server) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", server.pid()))
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .filter(|&fd| fd < FD_LIMIT)
        .count()
}

/// CPU the server uses in one second.
fn cpu_in_one_second(server: &Server) -> Duration {
    let before = server.cpu_time();
    std::thread::sleep(Duration::from_secs(1));
    server.cpu_time() - before
}

fn survives_running_out_of_descriptors(name: &str) {
    let (server, mut held, mut waiting) = fill_every_descriptor(name);
    // No busy loop while the waiting clients wait.
    let used = cpu_in_one_second(&server);
    assert!(
        used <= Duration::from_millis(100),
        "{name} used {used:?} of CPU in 1 s at EMFILE"
    );
    // A connected client is still served: the server released its spare
    // descriptor, so the file can be opened.
    ask(&mut held[0], "/hello.txt");
    // As the held clients leave, the waiting ones are accepted and served:
    // nobody's request is lost.
    drop(held);
    for (i, client) in waiting.iter_mut().enumerate() {
        let response =
            read_response(client, WAIT).unwrap_or_else(|e| panic!("waiting client {i}: {e}"));
        assert_serves(&response, "/hello.txt");
    }
    assert_serves(&get(&server, "/hello.txt"), "/hello.txt");
    // One line about it, not one per attempt.
    let stderr = server.stderr();
    assert_eq!(stderr.lines().count(), 1, "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}
for_models!(
    survives_running_out_of_descriptors: webserver4f,
    webserver4g,
    webserver4u,
    webserver4v
);

/// What the 4e chapter shows in /proc and strace: the listening socket is
/// descriptor 3 and the epoll instance 4, as in any server that opens
/// nothing else first. The site's root directory, which the server keeps
/// open, must not take one of those numbers.
#[test]
fn webserver4e_listener_is_fd_3_and_epoll_fd_4() {
    let server = start("webserver4e", &[]);
    let descriptors = server.descriptors();
    let target = |fd: i32| {
        descriptors
            .iter()
            .find(|d| d.fd == fd)
            .map(|d| d.target.clone())
    };
    assert!(
        target(3).is_some_and(|t| t.starts_with("socket:")),
        "fd 3 should be the listener: {descriptors:?}"
    );
    assert_eq!(
        target(4).as_deref(),
        Some("anon_inode:[eventpoll]"),
        "fd 4 should be epoll: {descriptors:?}"
    );
    let site = descriptors
        .iter()
        .find(|d| d.target.ends_with("/site"))
        .expect("the site's root directory is open");
    assert!(
        site.fd > 100,
        "the site's descriptor should be out of the way: {descriptors:?}"
    );
}

#[test]
fn webserver4e_spins_at_emfile_level_triggered() {
    let (server, mut held, mut waiting) = fill_every_descriptor("webserver4e");
    // The queued connection keeps the listener readable, so epoll_wait
    // returns at once, again and again: the loop burns a CPU doing nothing.
    // (Alone it takes a whole core; on a busy machine it still gets a fair
    // share, far above the nothing an idle server uses.)
    let used = cpu_in_one_second(&server) + cpu_in_one_second(&server);
    assert!(
        used >= Duration::from_millis(150),
        "webserver4e used only {used:?} of CPU in 2 s at EMFILE"
    );
    // With no spare descriptor, a connected client's request finds none
    // to open its file with: 503, come back later.
    held[0].write_all(request("/hello.txt").as_bytes()).unwrap();
    let response = read_response(&mut held[0], WAIT).unwrap();
    assert_eq!(response.status_line(), "HTTP/1.1 503 Service Unavailable");
    assert!(
        response.head.contains("Retry-After: 1"),
        "{}",
        response.head
    );
    // It recovers once descriptors free up, and says it once. A waiting
    // client accepted before enough of the held ones were closed may still
    // find no descriptor for the file and get the same 503: its retry on
    // the same connection, as Retry-After invites, is served.
    drop(held);
    for client in &mut waiting {
        let mut response = read_response(client, WAIT).unwrap();
        for _ in 0..5 {
            if response.status_line() != "HTTP/1.1 503 Service Unavailable" {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
            client.write_all(request("/hello.txt").as_bytes()).unwrap();
            response = read_response(client, WAIT).unwrap();
        }
        assert_serves(&response, "/hello.txt");
    }
    assert_eq!(
        server.stderr().lines().count(),
        1,
        "stderr: {}",
        server.stderr()
    );
}

// ---- 4g, 4u and 4v: idle timeouts ---------------------------------------------

fn closes_idle_connections(name: &str) {
    let server = start(name, &["--idle-timeout", "0.5"]);
    // A kept-alive client that goes quiet after one request...
    let mut quiet_after_one = server.connect();
    ask(&mut quiet_after_one, "/");
    let answered = Instant::now();
    // ...and one that connects and never says a word.
    let mut silent = server.connect();
    // A client that keeps talking more often than the timeout stays.
    let mut chatty = server.connect();
    for _ in 0..8 {
        std::thread::sleep(Duration::from_millis(200));
        ask(&mut chatty, "/hello.txt");
    }
    assert_eq!(
        wait_for_eof(&mut quiet_after_one, WAIT).unwrap(),
        AfterResponse::Eof
    );
    assert_eq!(wait_for_eof(&mut silent, WAIT).unwrap(), AfterResponse::Eof);
    assert!(answered.elapsed() >= Duration::from_millis(450));
    assert_quiet_stderr(&server);
}
#[test]
fn webserver4g_closes_idle_connections() {
    closes_idle_connections("webserver4g");
}

/// 4u's idle timer is a timeout entry linked to each receive and send.
#[test]
fn webserver4u_closes_idle_connections() {
    closes_idle_connections("webserver4u");
}

/// 4v's is a sweep: a timeout entry wakes the loop every quarter of the
/// idle timeout, and connections silent for longer are closed.
#[test]
fn webserver4v_closes_idle_connections() {
    closes_idle_connections("webserver4v");
}

fn idle_timeout_is_not_early(name: &str) {
    let server = start(name, &["--idle-timeout", "2"]);
    let mut client = server.connect();
    ask(&mut client, "/");
    // Half the timeout later the connection is still open and usable.
    assert_eq!(
        wait_for_eof(&mut client, Duration::from_secs(1)).unwrap(),
        AfterResponse::Hung
    );
    ask(&mut client, "/hello.txt");
}
#[test]
fn webserver4g_idle_timeout_is_not_early() {
    idle_timeout_is_not_early("webserver4g");
}

#[test]
fn webserver4u_idle_timeout_is_not_early() {
    idle_timeout_is_not_early("webserver4u");
}

#[test]
fn webserver4v_idle_timeout_is_not_early() {
    idle_timeout_is_not_early("webserver4v");
}

fn idle_timeout_0_keeps_quiet_connections(name: &str) {
    let server = start(name, &["--idle-timeout", "0"]);
    let mut client = server.connect();
    ask(&mut client, "/");
    // No deadline at all: the loop sleeps until a client speaks.
    let before = server.cpu_time();
    assert_eq!(
        wait_for_eof(&mut client, Duration::from_millis(1500)).unwrap(),
        AfterResponse::Hung
    );
    assert!(server.cpu_time() - before <= Duration::from_millis(50));
    ask(&mut client, "/hello.txt");
}
#[test]
fn webserver4g_idle_timeout_0_keeps_quiet_connections() {
    idle_timeout_0_keeps_quiet_connections("webserver4g");
}

#[test]
fn webserver4u_idle_timeout_0_keeps_quiet_connections() {
    idle_timeout_0_keeps_quiet_connections("webserver4u");
}

#[test]
fn webserver4v_idle_timeout_0_keeps_quiet_connections() {
    idle_timeout_0_keeps_quiet_connections("webserver4v");
}

/// A client that asks for much and stops reading: the send waits for room
/// that never comes, and the idle timeout ends it (4u: the kernel cancels
/// the send its timer is linked to; 4v: the sweep cancels it).
fn closes_a_client_that_stops_reading(name: &str) {
    let server = start(name, &["--idle-timeout", "0.5"]);
    let baseline = server.open_fds();
    let mut hoarder = server.connect();
    hoarder
        .write_all(request(MEBIBYTE_FILE).repeat(20).as_bytes())
        .unwrap();
    server
        .wait_until(WAIT, "the connection to be accepted", |s| {
            s.open_fds() > baseline
        })
        .unwrap();
    server
        .wait_until(WAIT, "the stalled connection to be closed", |s| {
            s.open_fds() <= baseline
        })
        .unwrap();
    assert_serves(&get(&server, "/hello.txt"), "/hello.txt");
    assert_quiet_stderr(&server);
    drop(hoarder);
}
for_models!(closes_a_client_that_stops_reading: webserver4g, webserver4u, webserver4v);

// ---- 4u and 4v: io_uring ---------------------------------------------------------

/// A kernel that refuses io_uring, here through a seccomp filter like a
/// container runtime's, gets one line naming the call, the errno and the
/// reason found in /proc; exit status 1, no panic.
fn says_in_one_line_when_the_kernel_refuses_io_uring(name: &str) {
    for errno in [libc::EPERM, libc::ENOSYS] {
        let mut server = Launch::new(name)
            .refuse_syscall(libc::SYS_io_uring_setup, errno)
            .spawn()
            .unwrap();
        let exit = server.wait_for_exit(WAIT);
        let stderr = server.stderr();
        assert_eq!(exit, Some(lsbaws_harness::Exit::Code(1)), "{stderr}");
        let errno = nix::errno::Errno::from_raw(errno);
        assert!(
            stderr.starts_with(&format!("{name}: io_uring_setup() failed: {errno:?}")),
            "{stderr}"
        );
        // io_uring is enabled on this machine (or the sysctl is absent): the
        // filter is what refused it, and the line says so.
        if lsbaws::uring::disabled_sysctl().unwrap_or(0) == 0 {
            assert!(stderr.contains("seccomp filter"), "{stderr}");
        }
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
}
#[test]
fn webserver4u_says_in_one_line_when_the_kernel_refuses_io_uring() {
    says_in_one_line_when_the_kernel_refuses_io_uring("webserver4u");
}

#[test]
fn webserver4v_says_in_one_line_when_the_kernel_refuses_io_uring() {
    says_in_one_line_when_the_kernel_refuses_io_uring("webserver4v");
}

/// 4v registers its buffer ring with io_uring_register(2): refused (as a
/// kernel before 5.19 refuses it, here by a seccomp filter), one line
/// naming the call and the errno, exit status 1.
#[test]
fn webserver4v_says_in_one_line_when_the_buffer_ring_is_refused() {
    let mut server = Launch::new("webserver4v")
        .refuse_syscall(libc::SYS_io_uring_register, libc::EINVAL)
        .spawn()
        .unwrap();
    let exit = server.wait_for_exit(WAIT);
    let stderr = server.stderr();
    assert_eq!(exit, Some(lsbaws_harness::Exit::Code(1)), "{stderr}");
    assert!(
        stderr.starts_with(
            "webserver4v: io_uring_register(IORING_REGISTER_PBUF_RING) failed: EINVAL"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("webserver4u serves the same site without it"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
}

/// The submission ring's tail, from the kernel's account of the ring
/// (`/proc/PID/fdinfo/FD`, the descriptor `anon_inode:[io_uring]`): how many
/// entries the server has ever submitted.
fn entries_submitted(server: &Server) -> u32 {
    let ring = server
        .descriptors()
        .into_iter()
        .find(|d| d.target == "anon_inode:[io_uring]")
        .expect("the server has an io_uring descriptor");
    let fdinfo =
        std::fs::read_to_string(format!("/proc/{}/fdinfo/{}", server.pid(), ring.fd)).unwrap();
    fdinfo
        .lines()
        .find_map(|line| line.strip_prefix("SqTail:"))
        .and_then(|tail| tail.trim().parse().ok())
        .unwrap_or_else(|| panic!("no SqTail in fdinfo:\n{fdinfo}"))
}

/// Entries submitted while `CLIENTS` connections are opened (and left
/// silent, with no idle timer) against `name`.
fn entries_for_connections(name: &str) -> u32 {
    const CLIENTS: usize = 50;
    let server = start(name, &["--idle-timeout", "0"]);
    let mut first = server.connect();
    ask(&mut first, "/hello.txt"); // the server is up and serving
    let before = entries_submitted(&server);
    let baseline = server.open_fds();
    let clients: Vec<TcpStream> = (0..CLIENTS).map(|_| server.connect()).collect();
    // Every connection accepted, and every one's first receive submitted
    // (in the same batch as anything else its accept made the loop submit).
    server
        .wait_until(
            WAIT,
            "every connection to be accepted and received on",
            |s| {
                s.open_fds() >= baseline + CLIENTS
                    && entries_submitted(s) - before >= CLIENTS as u32
            },
        )
        .unwrap();
    let submitted = entries_submitted(&server) - before;
    drop(clients);
    submitted
}

/// One multishot accept serves every connection: 4v submits an entry per
/// connection (its receive) and none to accept it, where 4u submits two
/// (the receive, and the next accept).
#[test]
fn webserver4v_accepts_many_connections_from_one_entry() {
    let uring = entries_for_connections("webserver4u");
    let multishot = entries_for_connections("webserver4v");
    // 4u: a receive and an accept for each (the last accept, submitted
    // before its connection came, may be counted before this test's).
    assert!(
        uring >= 98,
        "4u submitted {uring} entries for 50 connections"
    );
    assert!(
        multishot <= 50 + 1,
        "4v submitted {multishot} entries for 50 connections (4u: {uring})"
    );
}

// ---- 4f: the worker threads -------------------------------------------------

#[test]
fn webserver4f_runs_its_coroutines_on_the_workers_asked_for() {
    room_for_many_sockets();
    let one = start("webserver4f", &["--workers", "1"]);
    let three = start("webserver4f", &["--workers", "3"]);
    for server in [&one, &three] {
        // Many connections, and not one thread more.
        let mut clients: Vec<TcpStream> = (0..100).map(|_| server.connect()).collect();
        for client in &mut clients {
            ask(client, "/hello.txt");
        }
    }
    // Each --workers more is one thread more; none per connection.
    assert_eq!(
        three.threads(),
        one.threads() + 2,
        "threads: {} and {}",
        one.threads(),
        three.threads()
    );
    assert!(
        one.threads() < 10,
        "{} threads for 100 connections",
        one.threads()
    );
}

// ---- Bad input: one clear line, never a panic ----------------------------------

fn assert_one_clear_line(output: &std::process::Output, code: i32, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "stderr: {stderr}");
    assert!(
        stderr.contains(expected),
        "expected {expected:?} in stderr: {stderr}"
    );
    assert!(
        !stderr.contains("panicked"),
        "a panic instead of an error: {stderr}"
    );
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line, got: {stderr}"
    );
}

fn run(name: &str, args: &[&str]) -> std::process::Output {
    assert_cmd::Command::cargo_bin(name)
        .unwrap()
        .args(args)
        .timeout(WAIT)
        .output()
        .unwrap()
}

fn a_busy_port_or_a_missing_root_is_one_clear_line(name: &str) {
    let first = start(name, &[]);
    let port = first.port().to_string();
    assert_one_clear_line(&run(name, &["--port", &port]), 1, "bind() on 127.0.0.1");
    assert_one_clear_line(
        &run(name, &["--port", "0", "--root", "/no/such/folder"]),
        1,
        "cannot open site root",
    );
}
for_models!(a_busy_port_or_a_missing_root_is_one_clear_line);

#[test]
fn bad_model_flags_are_usage_errors() {
    let output = run("webserver4f", &["--workers", "0"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--workers"));
    let output = run("webserver4g", &["--idle-timeout", "soon"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not a number of seconds"));
}

fn rude_clients_do_not_stop_it(name: &str) {
    let server = start(name, &[]);
    let addr = server.addr();
    drop(TcpStream::connect(addr).unwrap()); // connect, say nothing, close
    let mut garbage = TcpStream::connect(addr).unwrap();
    garbage
        .write_all(b"\x00\xff\xfe garbage \xc3\x28\r\n\r\n")
        .unwrap();
    drop(garbage);
    let mut flood = TcpStream::connect(addr).unwrap();
    let _ = flood.write_all(&vec![b'A'; 64 * 1024]); // no end of line at all
    drop(flood);
    let mut half = TcpStream::connect(addr).unwrap();
    half.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x")
        .unwrap(); // and gone
    drop(half);
    assert_serves(&get(&server, "/hello.txt"), "/hello.txt");
    assert_quiet_stderr(&server);
}
for_models!(rude_clients_do_not_stop_it);

/// `bin --quiet --port 0` under `strace -f -e EXPRESSION -o trace`.
fn start_traced(bin: &str, expression: &str, trace: &std::path::Path) -> Server {
    let strace = ["/usr/bin/strace", "/bin/strace"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .expect("strace is installed (apt-get install strace)");
    Launch::path(strace)
        .args(["-f", "-e", expression, "-o"])
        .arg(trace)
        .arg(lsbaws_harness::bin_path(bin))
        .args(["--quiet", "--port", "0"])
        .start()
        .unwrap()
}

/// The trace once it contains `wanted` (strace writes it as the calls
/// happen), or as it is after `WAIT`.
fn trace_once_it_shows(trace: &std::path::Path, wanted: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(trace).unwrap_or_default();
        if text.contains(wanted) || Instant::now() > deadline {
            return text;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// 4g turns Nagle's algorithm off on every connection it accepts, as
/// nginx does on keep-alive connections: otherwise the last, partial
/// segment of a large answer can wait for an acknowledgement that the
/// client delays by 40 ms (`TcpExtDelayedACKs` counts those waits).
#[test]
fn webserver4g_sets_tcp_nodelay_on_each_connection() {
    let scratch = lsbaws_harness::ScratchDir::new("4g-nodelay").unwrap();
    let trace = scratch.path().join("trace");
    let server = start_traced("webserver4g", "trace=setsockopt", &trace);
    assert_serves(&get(&server, "/hello.txt"), "/hello.txt");
    let text = trace_once_it_shows(&trace, "TCP_NODELAY");
    assert!(
        text.lines()
            .any(|l| l.contains("SOL_TCP, TCP_NODELAY, [1], 4) = 0")),
        "expected setsockopt(fd, SOL_TCP, TCP_NODELAY, [1], 4) = 0:\n{text}"
    );
}

/// 4g stops reading at a short read, as epoll(7) allows for a stream
/// socket: sixteen pipelined requests that arrive together cost one
/// `recvfrom` and one `sendto`, without a second `recvfrom` that would only
/// say `EAGAIN`.
#[test]
fn webserver4g_reads_a_pipelined_batch_with_one_recvfrom() {
    let scratch = lsbaws_harness::ScratchDir::new("4g-short-read").unwrap();
    let trace = scratch.path().join("trace");
    let server = start_traced("webserver4g", "trace=recvfrom,sendto", &trace);
    let mut client = server.connect();
    client
        .write_all(request("/hello.txt").repeat(16).as_bytes())
        .unwrap();
    let mut reader = ResponseReader::new();
    for _ in 0..16 {
        assert_serves(&reader.next(&mut client, WAIT).unwrap(), "/hello.txt");
    }
    let text = trace_once_it_shows(&trace, "sendto(");
    let calls: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("recvfrom(") || l.contains("sendto("))
        .collect();
    assert!(
        calls.len() == 2 && calls[0].contains("recvfrom(") && calls[1].contains("sendto("),
        "expected one recvfrom, then one sendto:\n{text}"
    );
}
