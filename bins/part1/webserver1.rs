//! # webserver1 — Part 1: the smallest web server
//!
//! **What it shows.** The four calls every TCP server makes: `socket(2)`,
//! `bind(2)`, `listen(2)`, then `accept(2)` in a loop. Each accepted
//! connection is a new descriptor: read the request from it, print it, write
//! a response, close it.
//!
//! **See it.** `cargo run --bin webserver1`, then `curl -v localhost:8888/hello`
//! or open <http://localhost:8888/hello> in a browser and watch the request
//! the browser sends appear in the terminal.
//!
//! **Break it on purpose.** `--no-reuseaddr` skips `SO_REUSEADDR`: stop the
//! server right after a request and start it again on the same port, and
//! `bind` fails with `EADDRINUSE` while the closed connection sits in
//! `TIME_WAIT`. `--no-blank-line` leaves out the empty line that ends the
//! response headers: curl refuses the answer, a browser shows an empty page.
//!
//! **Next.** Part 3 starts from this loop (`webserver3a`) and asks what
//! happens when more than one client arrives at once.

use clap::Parser;
use lsbaws::cli::ServerArgs;
use lsbaws::hello::{read_request, send_all, RESPONSE, RESPONSE_WITHOUT_BLANK_LINE};
use lsbaws::net::{print_banner, resolve};
use lsbaws::report::OrDie;
use nix::sys::socket::{
    accept, bind, listen, setsockopt, socket, sockopt, AddressFamily, Backlog, SockFlag, SockType,
    SockaddrStorage,
};
use nix::unistd::close;
use std::os::fd::AsRawFd;

/// Part 1: accept, print the request, answer "Hello, World!".
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,

    /// Do not set SO_REUSEADDR: restarting on the same port then fails
    /// with EADDRINUSE while old connections are in TIME_WAIT.
    #[arg(long)]
    no_reuseaddr: bool,

    /// Leave out the blank line between the response headers and the
    /// body, and see what clients make of it.
    #[arg(long)]
    no_blank_line: bool,
}

// ANCHOR: main
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
    // SO_REUSEADDR: restart the server at once even while old connections
    // to this port are still in TIME_WAIT.
    let bind_what = if args.no_reuseaddr {
        format!("bind() on {address} without SO_REUSEADDR")
    } else {
        setsockopt(&listen_socket, sockopt::ReuseAddr, &true).or_die("setsockopt(SO_REUSEADDR)");
        format!("bind() on {address}")
    };
    // bind(): claim the address and port.
    bind(listen_socket.as_raw_fd(), &SockaddrStorage::from(address)).or_die(&bind_what);
    // listen(): mark it passive; the kernel now queues incoming connections
    // (at most `backlog` not yet accepted).
    listen(
        &listen_socket,
        Backlog::new(args.server.backlog_or(1)).or_die("listen()"),
    )
    .or_die("listen()");
    print_banner(lsbaws::net::local_port(&listen_socket));

    loop {
        // accept(): take the next connection off the queue (blocking until
        // there is one). It returns a *new* descriptor for that client.
        let client_connection = accept(&listen_socket).or_die("accept()");
        let request = read_request(&client_connection).unwrap_or_default();
        if !args.server.quiet {
            println!("{}", String::from_utf8_lossy(&request));
        }
        if !request.is_empty() {
            // A client that left early is its own problem, not the server's.
            let response = if args.no_blank_line {
                RESPONSE_WITHOUT_BLANK_LINE
            } else {
                RESPONSE
            };
            let _ = send_all(&client_connection, response);
        }
        // close(): the client sees EOF, which ends its response.
        let _ = close(client_connection);
    }
}
// ANCHOR_END: main
