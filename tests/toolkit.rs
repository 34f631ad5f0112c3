//! The server toolkit: socket basics, the SIG_IGN fork server, and one echo
//! handler composed with TCP/UDP and forking/threading/inline servers.
//!
//! Every server runs on port 0 through the harness, which kills and reaps
//! it and everything it forked when the test ends.

use assert_cmd::Command;
use lsbaws_harness::client::reset_on_close;
use lsbaws_harness::{Launch, Server};
use nix::sys::signal::Signal;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

fn start(name: &str, args: &[&str]) -> Server {
    Launch::new(name).args(args).start().unwrap()
}

/// Send `text`, shut down our sending side, read until the server closes.
fn tcp_echo(addr: SocketAddr, text: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream.write_all(text).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let mut reply = Vec::new();
    stream.read_to_end(&mut reply).unwrap();
    reply
}

/// Send one datagram, return the one that comes back.
fn udp_echo(addr: SocketAddr, text: &[u8]) -> Vec<u8> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(WAIT)).unwrap();
    socket.send_to(text, addr).unwrap();
    let mut reply = vec![0u8; 65_536];
    let (n, from) = socket.recv_from(&mut reply).unwrap();
    assert_eq!(from, addr, "the reply comes from the server's port");
    reply.truncate(n);
    reply
}

/// A port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---- socket basics ----------------------------------------------------------

fn value_after<'a>(output: &'a str, label: &str) -> &'a str {
    output
        .lines()
        .find_map(|line| line.strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} line in {output}"))
        .trim()
}

#[test]
fn echo_client_prints_the_ephemeral_port_the_server_accepted() {
    let server = start("echo-server", &[]);
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap();
    let bounds: Vec<u16> = range
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();

    let mut ports = Vec::new();
    for word in ["first", "second"] {
        let output = Command::cargo_bin("echo-client")
            .unwrap()
            .args(["--port", &server.port().to_string(), "hello", word])
            .timeout(WAIT)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert_eq!(value_after(&stdout, "received:"), format!("hello {word}"));
        assert_eq!(
            value_after(&stdout, "server address:"),
            server.addr().to_string()
        );
        let local = value_after(&stdout, "local address:");
        let local: SocketAddr = local.split_whitespace().next().unwrap().parse().unwrap();
        assert!(
            (bounds[0]..=bounds[1]).contains(&local.port()),
            "port {} outside ip_local_port_range {range}",
            local.port()
        );
        // getsockname() on the client == the address accept() returned.
        server
            .wait_until(WAIT, "the server to log the client", |s| {
                s.stdout().contains(&format!("connection from {local}\n"))
            })
            .unwrap();
        ports.push(local.port());
    }
    assert_ne!(
        ports[0], ports[1],
        "each connection gets its own ephemeral port"
    );
}

#[test]
fn echo_server_serves_one_client_at_a_time() {
    let server = start("echo-server", &["--quiet"]);
    let mut first = server.connect();
    first.write_all(b"one\n").unwrap();
    let mut buf = [0u8; 4];
    first.set_read_timeout(Some(WAIT)).unwrap();
    first.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"one\n");

    // The server is inside echo() for the first client: the second is
    // queued by the kernel but never read.
    let mut second = server.connect();
    second.write_all(b"two\n").unwrap();
    second
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let err = second.read(&mut buf).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err}"
    );

    drop(first); // EOF for the server: it moves on to the second client
    second.set_read_timeout(Some(WAIT)).unwrap();
    second.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"two\n");
}

#[test]
fn echo_client_errors_are_one_clear_line() {
    let port = closed_port().to_string();
    for args in [vec!["--port", &port], vec!["--udp", "--port", &port]] {
        let output = Command::cargo_bin("echo-client")
            .unwrap()
            .args(&args)
            .timeout(WAIT)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("ECONNREFUSED"), "{args:?}: {stderr}");
        assert!(stderr.contains("nothing is listening there"), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    }
}

// ---- SIGCHLD = SIG_IGN --------------------------------------------------------

#[test]
fn sigign_server_leaves_no_zombies_without_a_handler() {
    // A listen queue for the whole burst: with the default of 5, clients
    // whose handshake overflows it are retried a second later, or reset.
    let server = start("echo-sigign", &["--quiet", "--backlog", "128"]);
    let masks = server.signal_masks().expect("the server is running");
    assert!(
        masks.ignores(Signal::SIGCHLD),
        "SIGCHLD is ignored: {masks:?}"
    );
    assert!(
        !masks.catches(Signal::SIGCHLD),
        "and no handler catches it: {masks:?}"
    );

    for round in 0..3 {
        let clients: Vec<_> = (0..32)
            .map(|i| {
                let addr = server.addr();
                std::thread::spawn(move || tcp_echo(addr, format!("client {i}\n").as_bytes()))
            })
            .collect();
        for (i, client) in clients.into_iter().enumerate() {
            let reply = client
                .join()
                .unwrap_or_else(|_| panic!("round {round} client {i} stderr: {}", server.stderr()));
            assert_eq!(reply, format!("client {i}\n").as_bytes(), "round {round}");
        }
        // Nobody calls waitpid, yet every child disappears: the kernel
        // discarded each one as it exited instead of keeping a zombie.
        server
            .wait_until(WAIT, "every child to vanish", |s| s.children().is_empty())
            .unwrap();
    }
}

/// The shortcut's limit: SIG_IGN survives execve(2), so a program the
/// server runs cannot learn its own children's exit status either.
#[test]
fn sigign_is_inherited_across_exec_and_loses_exit_statuses() {
    let script = "import subprocess, sys; sys.stdin.readline(); \
                  print('false exited with status', subprocess.run(['false']).returncode)";
    for (restore, expected) in [
        (false, "false exited with status 0\n"),
        (true, "false exited with status 1\n"),
    ] {
        let mut args = vec!["--quiet"];
        if restore {
            args.push("--restore-sigchld");
        }
        args.extend(["--", "python3", "-c", script]);
        let server = start("echo-sigign", &args);
        let reply = tcp_echo(server.addr(), b"go\n");
        assert_eq!(
            String::from_utf8_lossy(&reply),
            expected,
            "--restore-sigchld={restore}"
        );
    }
}

#[test]
fn sigign_command_mode_is_inetd_style_echo() {
    let server = start("echo-sigign", &["--quiet", "--", "cat"]);
    assert_eq!(tcp_echo(server.addr(), b"through cat\n"), b"through cat\n");
}

// ---- socketserver-style composition ------------------------------------------

const COMBINATIONS: &[(&str, &str)] = &[
    ("tcp", "fork"),
    ("tcp", "thread"),
    ("udp", "fork"),
    ("udp", "thread"),
];

fn start_composed(transport: &str, concurrency: &str, delay: &str) -> Server {
    start(
        "echo-composed",
        &[
            "--transport",
            transport,
            "--concurrency",
            concurrency,
            "--delay",
            delay,
        ],
    )
}

fn echo_via(transport: &str, addr: SocketAddr, text: &[u8]) -> Vec<u8> {
    match transport {
        "tcp" => tcp_echo(addr, text),
        _ => udp_echo(addr, text),
    }
}

#[test]
fn one_echo_handler_served_four_ways() {
    for (transport, concurrency) in COMBINATIONS {
        let server = start_composed(transport, concurrency, "0");
        let banner = server.stdout();
        let protocol = transport.to_uppercase();
        let mode = if *concurrency == "fork" {
            "forking"
        } else {
            "threading"
        };
        assert!(
            banner.starts_with(&format!("{protocol} server, {mode}\nServing ECHO on port")),
            "{banner}"
        );

        let text = b"first line\nsecond line\n";
        assert_eq!(
            echo_via(transport, server.addr(), text),
            text,
            "{transport}/{concurrency}"
        );

        // Who served it: a child (another pid) or a thread of the server.
        server
            .wait_until(WAIT, "the request to be logged", |s| {
                s.stdout().contains("served by")
            })
            .unwrap();
        let log = server.stdout();
        let line = log.lines().find(|l| l.contains("served by")).unwrap();
        // `127.0.0.1:PORT served by pid P, thread T`
        let (_, ids) = line.split_once(" served by pid ").unwrap();
        let (pid, tid) = ids.split_once(", thread ").unwrap();
        let (pid, tid): (u32, u32) = (pid.parse().unwrap(), tid.parse().unwrap());
        let server_pid = server.pid().as_raw() as u32;
        if *concurrency == "fork" {
            assert_ne!(pid, server_pid, "a forked child served it: {line}");
        } else {
            assert_eq!(pid, server_pid, "a thread of the server served it: {line}");
            assert_ne!(tid, server_pid, "not the main thread: {line}");
        }
    }
}

#[test]
fn composed_servers_serve_clients_concurrently() {
    // Three clients, each handled after a 1 s delay. Served at once they all
    // finish in about 1 s; one after another would take 3 s.
    for (transport, concurrency) in COMBINATIONS {
        let server = start_composed(transport, concurrency, "1");
        let addr = server.addr();
        let began = Instant::now();
        let clients: Vec<_> = (0..3)
            .map(|i| {
                let transport = transport.to_string();
                std::thread::spawn(move || echo_via(&transport, addr, format!("c{i}\n").as_bytes()))
            })
            .collect();
        for (i, client) in clients.into_iter().enumerate() {
            assert_eq!(client.join().unwrap(), format!("c{i}\n").as_bytes());
        }
        let took = began.elapsed();
        assert!(
            took < Duration::from_millis(2500),
            "{transport}/{concurrency}: took {took:?}"
        );
    }
}

#[test]
fn inline_server_serves_one_request_at_a_time() {
    let server = start_composed("udp", "inline", "0.5");
    let addr = server.addr();
    let began = Instant::now();
    let clients: Vec<_> = (0..3)
        .map(|_| std::thread::spawn(move || udp_echo(addr, b"x")))
        .collect();
    for client in clients {
        assert_eq!(client.join().unwrap(), b"x");
    }
    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(1400),
        "three 0.5 s requests in a row took only {took:?}"
    );
}

#[test]
fn forking_composition_reaps_its_children_without_a_signal_handler() {
    for transport in ["tcp", "udp"] {
        let server = start_composed(transport, "fork", "0");
        for i in 0..20 {
            assert_eq!(
                echo_via(transport, server.addr(), format!("{i}\n").as_bytes()),
                format!("{i}\n").as_bytes()
            );
        }
        // service_actions() runs waitpid(WNOHANG) at least every 0.5 s.
        server
            .wait_until(WAIT, "every child to be reaped", |s| {
                s.children().is_empty()
            })
            .unwrap();
        let masks = server.signal_masks().expect("the server is running");
        assert!(
            !masks.catches(Signal::SIGCHLD),
            "no SIGCHLD handler: {masks:?}"
        );
        assert!(
            !masks.ignores(Signal::SIGCHLD),
            "not SIG_IGN either: {masks:?}"
        );
    }
}

#[test]
fn udp_datagrams_come_back_whole() {
    let server = start_composed("udp", "thread", "0");
    // Near the largest IPv4 UDP payload: nothing is cut short.
    let big: Vec<u8> = (0..60_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    assert_eq!(udp_echo(server.addr(), &big), big);
    assert_eq!(
        udp_echo(server.addr(), b""),
        b"",
        "an empty datagram gets an empty reply"
    );
}

#[test]
fn composed_servers_survive_rude_clients() {
    for (transport, concurrency) in COMBINATIONS.iter().filter(|(t, _)| *t == "tcp") {
        let mut server = start_composed(transport, concurrency, "0");
        drop(TcpStream::connect(server.addr()).unwrap()); // connect and leave
        let mut reset = TcpStream::connect(server.addr()).unwrap();
        reset.write_all(&vec![b'x'; 100_000]).unwrap_or(());
        reset_on_close(&reset);
        drop(reset); // RST mid-echo
        assert_eq!(tcp_echo(server.addr(), b"still here\n"), b"still here\n");
        assert!(server.is_running());
        assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
    }
}

// ---- bad input for every server of this part ---------------------------------

/// Each new server, with the arguments it needs to start.
const NEW_SERVERS: &[(&str, &[&str])] = &[
    ("webserver2", &["hello"]),
    ("webserver3h", &["hello"]),
    ("echo-server", &[]),
    ("echo-sigign", &[]),
    ("echo-composed", &["--concurrency", "fork"]),
    ("httpserver2", &[]),
];

#[test]
fn a_busy_port_is_one_clear_line_for_every_new_server() {
    let busy_tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let tcp_port = busy_tcp.local_addr().unwrap().port().to_string();
    let busy_udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let udp_port = busy_udp.local_addr().unwrap().port().to_string();
    let mut cases: Vec<(&str, Vec<&str>)> = NEW_SERVERS
        .iter()
        .map(|(name, args)| (*name, [&["--port", tcp_port.as_str()][..], args].concat()))
        .collect();
    cases.push((
        "echo-composed",
        vec!["--port", &udp_port, "--transport", "udp"],
    ));
    for (name, args) in cases {
        let output = Command::cargo_bin(name)
            .unwrap()
            .args(&args)
            .timeout(WAIT)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{name} {args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.starts_with(&format!("{name}: bind() on 127.0.0.1:")),
            "{stderr}"
        );
        assert!(stderr.contains("EADDRINUSE"), "{name}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{name}: {stderr}");
    }
}

#[test]
fn bad_flags_are_usage_errors_for_every_new_server() {
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "echo-composed",
            &["--transport", "sctp"],
            "invalid value 'sctp'",
        ),
        (
            "echo-composed",
            &["--delay=-1"],
            "must be a finite, non-negative number of seconds",
        ),
        (
            "echo-client",
            &["--timeout", "soon"],
            "is not a number of seconds",
        ),
        ("echo-sigign", &["--restore-sigchld"], "<COMMAND>"),
        ("httpserver2", &["--max-threads", "0"], "--max-threads"),
        (
            "httpserver2",
            &["--root", "/no/such/folder"],
            "cannot open site root",
        ),
        ("webserver2", &[], "<APP>"),
        (
            "webserver3h",
            &["--cgi-timeout", "x", "hello"],
            "is not a number of seconds",
        ),
    ];
    for (name, args, expected) in cases {
        let output = Command::cargo_bin(name)
            .unwrap()
            .args(*args)
            .timeout(WAIT)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            matches!(output.status.code(), Some(1 | 2)),
            "{name} {args:?}: {stderr}"
        );
        assert!(stderr.contains(expected), "{name} {args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    for (name, _) in NEW_SERVERS {
        let help = Command::cargo_bin(name)
            .unwrap()
            .arg("--help")
            .timeout(WAIT)
            .output()
            .unwrap();
        assert!(help.status.success(), "{name} --help");
    }
}
