//! CPU-bound work across cores: an event loop computes on one thread;
//! webserver4g's `--loops N` runs N loops, each with a socket of its own on
//! one port (SO_REUSEPORT), and the work spreads over them.
//!
//! Who computed is read from each thread's CPU time in
//! `/proc/PID/task/TID/stat`, not from a clock: on a shared machine wall
//! times say little, but a thread that ran no request used no CPU.

use lsbaws_harness::{Launch, Server};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// Send `requests` GETs of `/work?ms=ms` at once, each on a connection of
/// its own, read every answer, and return how many of the server's threads
/// used at least half a request's CPU time meanwhile.
fn threads_that_computed(server: &Server, requests: usize, ms: u64) -> usize {
    let before = server.cpu_by_thread();
    let clients: Vec<TcpStream> = (0..requests)
        .map(|_| {
            let mut stream = server.connect();
            stream
                .set_read_timeout(Some(Duration::from_secs(60)))
                .unwrap();
            write!(stream, "GET /work?ms={ms} HTTP/1.0\r\n\r\n").unwrap();
            stream
        })
        .collect();
    for mut client in clients {
        let mut text = String::new();
        client.read_to_string(&mut text).unwrap();
        assert!(text.ends_with(&format!("worked {ms} ms\n")), "{text}");
    }
    server.threads_that_used(&before, Duration::from_millis(ms / 2))
}

fn webserver4g(loops: &str) -> Server {
    Launch::new("webserver4g")
        .args(["--port", "0", "--quiet", "--loops", loops])
        .start()
        .unwrap()
}

#[test]
fn one_event_loop_computes_on_one_thread() {
    let server = webserver4g("1");
    assert_eq!(server.threads(), 1);
    assert_eq!(threads_that_computed(&server, 16, 60), 1);
}

#[test]
fn two_loops_on_one_port_share_the_work() {
    let server = webserver4g("2");
    assert_eq!(server.threads(), 2, "a thread per loop");
    // Two listening sockets, one port: the kernel hashes each connection's
    // addresses to pick one. All of 16 connections land on one socket with
    // a chance of 2 in 65,536.
    assert_eq!(threads_that_computed(&server, 16, 60), 2);
    // Both sockets listen on the server's port.
    let listening = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let port = format!(":{:04X} 00000000:0000 0A", server.port());
    assert_eq!(listening.matches(&port).count(), 2, "{listening}");
}
