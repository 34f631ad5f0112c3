//! Bad input gets one clear line and a non-zero exit, never a panic; a
//! server fails only in the way its lesson intends.

use assert_cmd::Command;
use lsbaws_harness::client::{get, reset_on_close, send_get};
use lsbaws_harness::{Exit, Launch};
use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// Every server of Parts 1 and 3, with flags that make it quick to test.
const SERVERS: &[(&str, &[&str])] = &[
    ("webserver1", &[]),
    ("webserver3a", &[]),
    ("webserver3b", &["--sleep", "0"]),
    ("webserver3c", &["--sleep", "0"]),
    ("webserver3d", &[]),
    ("webserver3f", &[]),
    ("webserver3g", &[]),
];

fn assert_one_clear_line(stderr: &str, expected: &str) {
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

#[test]
fn a_busy_port_is_one_clear_line() {
    let first = Launch::new("webserver3g").arg("--quiet").start().unwrap();
    for (name, _) in SERVERS {
        let output = Command::cargo_bin(name)
            .unwrap()
            .args(["--port", &first.port().to_string()])
            .timeout(WAIT)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_one_clear_line(&stderr, "EADDRINUSE");
        assert!(
            stderr.starts_with(&format!("{name}: bind() on 127.0.0.1:")),
            "{stderr}"
        );
    }
}

#[test]
fn an_unknown_host_is_one_clear_line() {
    let output = Command::cargo_bin("webserver3g")
        .unwrap()
        .args(["--host", "no-such-host.invalid", "--port", "0"])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_one_clear_line(
        &String::from_utf8_lossy(&output.stderr),
        "cannot resolve host",
    );
}

#[test]
fn bad_flags_are_usage_errors() {
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "webserver3g",
            &["--port", "http"],
            "invalid value 'http' for '--port",
        ),
        ("webserver3g", &["--port", "70000"], "--port"),
        ("webserver3g", &["--backlog", "0"], "--backlog"),
        (
            "webserver3b",
            &["--sleep=-1"],
            "must be a finite, non-negative number of seconds",
        ),
        (
            "webserver3c",
            &["--sleep", "soon"],
            "is not a number of seconds",
        ),
        ("webserver3a", &["--no-such-flag"], "unexpected argument"),
    ];
    for (name, args, expected) in cases {
        let output = Command::cargo_bin(name)
            .unwrap()
            .args(*args)
            .timeout(WAIT)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{name} {args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{name} {args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn servers_listen_on_loopback_by_default() {
    let server = Launch::new("webserver3a").arg("--quiet").start().unwrap();
    let listening = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let local = format!("0100007F:{:04X}", server.port());
    assert!(
        listening
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some(local.as_str())),
        "no socket bound to 127.0.0.1:{} in /proc/net/tcp",
        server.port()
    );
}

/// Clients that close silently, reset, or send garbage (including invalid
/// UTF-8 and a request larger than the server reads) do not stop a server;
/// it answers the next client and prints no panic.
#[test]
fn rude_clients_do_not_stop_any_server() {
    for (name, args) in SERVERS {
        let mut server = Launch::new(name).args(*args).start().unwrap();
        let addr = server.addr();

        drop(TcpStream::connect(addr).unwrap()); // connect, say nothing, close

        let mut garbage = TcpStream::connect(addr).unwrap();
        garbage
            .write_all(b"\x00\xff\xfe garbage \xc3\x28\r\n\r\n")
            .unwrap();
        drop(garbage);

        let mut flood = TcpStream::connect(addr).unwrap();
        let _ = flood.write_all(&vec![b'A'; 64 * 1024]);
        drop(flood); // unread bytes: the kernel resets the connection

        let reset = send_get(addr).unwrap();
        reset_on_close(&reset);
        drop(reset);

        let answered = get(addr, WAIT).unwrap_or_else(|e| {
            panic!(
                "{name} stopped serving after rude clients: {e}; stderr: {}",
                server.stderr()
            )
        });
        assert_eq!(answered.body, b"Hello, World!\n", "{name}");
        assert!(server.is_running(), "{name} exited: {}", server.stderr());
        let stderr = server.stderr();
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert_eq!(server.try_exit(), None::<Exit>);
    }
}
