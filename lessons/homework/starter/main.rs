//! # webserver1, written again from memory — the server-models homework
//!
//! **What it is.** Part 1's loop server as a student might write it again
//! from memory: `socket(2)`, `bind(2)`, `listen(2)`, then `accept(2)` in a
//! loop, reading each request and answering `Hello, World!`. It runs, it
//! answers, and two things the first server got right are missing.
//!
//! **See it.** `curl -v localhost:8888/hello`: curl refuses the answer. Stop
//! the server right after that request and start it again at once.
//!
//! **The task.** `lessons/homework/README.md`; the server it should come to
//! behave like is `bins/part1/webserver1.rs`.

use clap::Parser;
use lsbaws::cli::ServerArgs;
use lsbaws::hello::{read_request, send_all};
use lsbaws::net::{print_banner, resolve};
use lsbaws::report::OrDie;
use nix::sys::socket::{
    accept, bind, listen, socket, AddressFamily, Backlog, SockFlag, SockType, SockaddrStorage,
};
use nix::unistd::close;
use std::os::fd::AsRawFd;

/// The answer to every request: a status line, headers, the body.
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Length: 14\r\n\
Connection: close\r\n\
Hello, World!\n";

/// webserver1 again: accept, print the request, answer "Hello, World!".
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
}

fn main() {
    let args = Args::parse();
    let address = resolve(&args.server.host, args.server.port);
    let family = if address.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };

    // socket(): a TCP endpoint, not yet bound to any address.
    let listen_socket =
        socket(family, SockType::Stream, SockFlag::empty(), None).or_die("socket()");
    // bind(): claim the address and port.
    bind(listen_socket.as_raw_fd(), &SockaddrStorage::from(address))
        .or_die(&format!("bind() on {address}"));
    // listen(): the kernel now queues incoming connections.
    listen(
        &listen_socket,
        Backlog::new(args.server.backlog_or(1)).or_die("listen()"),
    )
    .or_die("listen()");
    print_banner(lsbaws::net::local_port(&listen_socket));

    loop {
        // accept(): the next connection, as a new descriptor.
        let client_connection = accept(&listen_socket).or_die("accept()");
        let request = read_request(&client_connection).unwrap_or_default();
        if !args.server.quiet {
            println!("{}", String::from_utf8_lossy(&request));
        }
        if !request.is_empty() {
            let _ = send_all(&client_connection, RESPONSE);
        }
        // close(): the client sees EOF.
        let _ = close(client_connection);
    }
}
