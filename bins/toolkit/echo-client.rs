//! # echo-client — the simplest socket client, and its ephemeral port
//!
//! **What it shows.** A client does not `bind(2)`: `connect(2)` makes the
//! kernel pick a free *ephemeral* port for it from
//! `/proc/sys/net/ipv4/ip_local_port_range`. `getsockname(2)` tells which
//! one (the server sees the same address come out of `accept(2)`);
//! `getpeername(2)` gives the other end. Then it sends a line, shuts down
//! its sending side (the server reads EOF) and reads the echo until the
//! server closes. With `--udp` the same happens with a datagram socket:
//! `connect(2)` on UDP sends nothing, but it too gets an ephemeral port.
//!
//! **See it.** Start `echo-server` (or `echo-composed`), then run
//! `cargo run --bin echo-client -- --port N hello` a few times: a different
//! local port each time.

use clap::Parser;
use lsbaws::cli::seconds;
use lsbaws::report::{die, die_msg, errno_of, OrDie};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

/// Send a line to an echo server and print what comes back.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The server's address.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,

    /// The server's port.
    #[arg(long, short, default_value_t = 8888)]
    port: u16,

    /// Use a UDP datagram instead of a TCP connection.
    #[arg(long)]
    udp: bool,

    /// Seconds to wait for the reply.
    #[arg(long, default_value = "5", value_parser = seconds)]
    timeout: Duration,

    /// The words to send, as one line.
    #[arg(default_value = "Hello, World!")]
    message: Vec<String>,
}

// ANCHOR: main
fn main() {
    let args = Args::parse();
    let server = lsbaws::net::resolve(&args.host, args.port);
    let line = format!("{}\n", args.message.join(" "));
    if args.udp {
        udp_exchange(server, &line, args.timeout);
    } else {
        tcp_exchange(server, &line, args.timeout);
    }
}

fn tcp_exchange(server: SocketAddr, line: &str, timeout: Duration) {
    // socket() + connect(): the kernel binds the socket to a free local port.
    let mut stream = TcpStream::connect(server)
        .unwrap_or_else(|e| die(format!("connect() to {server}"), errno_of(&e)));
    print_addresses(stream.local_addr(), stream.peer_addr());

    stream.write_all(line.as_bytes()).or_die("write()");
    // shutdown(SHUT_WR): "no more from me". The server's read() returns 0,
    // it finishes echoing and closes; our read() then returns 0 too.
    stream.shutdown(Shutdown::Write).or_die("shutdown()");
    println!("sent:           {}", line.trim_end());

    stream
        .set_read_timeout(Some(timeout))
        .or_die("setsockopt(SO_RCVTIMEO)");
    let mut reply = Vec::new();
    match stream.read_to_end(&mut reply) {
        Ok(_) => {}
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => die_msg(
            format!("no end of the reply from {server} within {timeout:?} — is it an echo server?"),
        ),
        Err(e) => die(format!("read() from {server}"), errno_of(&e)),
    }
    println!(
        "received:       {}",
        String::from_utf8_lossy(&reply).trim_end()
    );
}

fn udp_exchange(server: SocketAddr, line: &str, timeout: Duration) {
    let any: SocketAddr = if server.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    }
    .parse()
    .unwrap();
    let socket = UdpSocket::bind(any).or_die("bind()");
    // connect() on UDP sends nothing; it fixes the peer (so send/recv need
    // no address, and an ICMP "port unreachable" comes back as
    // ECONNREFUSED) and binds the local address the route chooses.
    socket
        .connect(server)
        .unwrap_or_else(|e| die(format!("connect() to {server}"), errno_of(&e)));
    print_addresses(socket.local_addr(), socket.peer_addr());

    socket.send(line.as_bytes()).or_die("send()");
    println!("sent:           {}", line.trim_end());
    socket
        .set_read_timeout(Some(timeout))
        .or_die("setsockopt(SO_RCVTIMEO)");
    let mut reply = vec![0u8; lsbaws::compose::MAX_DATAGRAM];
    let n = match socket.recv(&mut reply) {
        Ok(n) => n,
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => die_msg(format!(
            "no reply from {server} within {timeout:?} — UDP does not retransmit: the datagram or its reply was lost, or nothing answers there"
        )),
        Err(e) => die(format!("recv() from {server}"), errno_of(&e)),
    };
    println!(
        "received:       {}",
        String::from_utf8_lossy(&reply[..n]).trim_end()
    );
}

/// getsockname(2) and getpeername(2), and where the local port came from.
fn print_addresses(local: std::io::Result<SocketAddr>, peer: std::io::Result<SocketAddr>) {
    let local = local.or_die("getsockname()");
    let peer = peer.or_die("getpeername()");
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .map(|r| r.split_whitespace().collect::<Vec<_>>().join("-"))
        .unwrap_or_else(|_| "?".into());
    println!("local address:  {local} (ephemeral port, picked by the kernel from {range})");
    println!("server address: {peer}");
}
// ANCHOR_END: main
