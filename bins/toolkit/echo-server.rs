//! # echo-server — the simplest socket server
//!
//! **What it shows.** A server is a listening socket (`socket`, `bind`,
//! `listen`, as in `webserver1`) and a loop: `accept(2)` returns a new,
//! connected socket for one client together with the client's address. Its
//! port is not one anybody chose: the client's kernel picked a free
//! *ephemeral* port when the client called `connect(2)` (run `echo-client`
//! and compare the port it prints with the one printed here). Then the
//! server `read`s and `write`s until the client closes its side.
//!
//! **See it.** `cargo run --bin echo-server`, then in another terminal
//! `cargo run --bin echo-client -- hello` (or `nc 127.0.0.1 8888` and type).
//! `ss -tn` lists both ends of the connection with their ports.
//!
//! **Next.** This server serves one client at a time: while `nc` is open,
//! a second client waits. `echo-sigign` forks a child per client.

use clap::Parser;
use lsbaws::cli::ServerArgs;
use lsbaws::echo::echo;
use lsbaws::report::{die, warn_unless_disconnect, OrDie};
use std::net::TcpListener;

/// Echo what each client sends, one client at a time.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
}

// ANCHOR: main
fn main() {
    let args = Args::parse();
    let address = lsbaws::net::resolve(&args.server.host, args.server.port);
    // socket(), setsockopt(SO_REUSEADDR), bind(), listen(): see webserver1.
    let listener = lsbaws::net::open_listener(address, args.server.backlog_or(5))
        .unwrap_or_else(|(what, errno)| die(format!("{what} on {address}"), errno));
    let listener = TcpListener::from(listener);
    let port = listener.local_addr().or_die("getsockname()").port();
    lsbaws::net::print_banner_for("ECHO", port);

    loop {
        // accept(2): the connected socket, and the client's address as the
        // kernel saw it in the SYN (its IP and ephemeral port).
        let (connection, client) = listener.accept().or_die("accept()");
        if !args.server.quiet {
            println!("connection from {client}");
        }
        match echo(&connection) {
            Ok(bytes) if !args.server.quiet => println!("{client} closed; echoed {bytes} bytes"),
            Ok(_) => {}
            Err(errno) => warn_unless_disconnect(format!("echoing to {client}"), errno),
        }
        // Dropping `connection` closes it: close(2).
    }
}
// ANCHOR_END: main
