//! # webserver3a — an iterative server
//!
//! **What it shows.** The Part 1 loop, tidied up: accept one connection,
//! handle it to the end, close it, accept the next. One client at a time.
//!
//! **See it.** Start it, then in two other terminals run `nc localhost 8888`
//! (connect, send nothing) and `curl localhost:8888/hello`. curl waits: the
//! server is stuck reading from the silent `nc` client. Type a line and an
//! empty line into `nc` and curl is answered at once.
//!
//! **Next.** `webserver3b` makes each request slow, so the wait is visible
//! with well-behaved clients too.

use clap::Parser;
use lsbaws::cli::ServerArgs;
use lsbaws::hello::handle_request;
use lsbaws::report::OrDie;
use nix::sys::socket::accept;
use nix::unistd::close;

/// Length of the listen queue, as in the original Python step.
const REQUEST_QUEUE_SIZE: i32 = 5;

/// Part 3, step a: an iterative server, one client at a time.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
}

// ANCHOR: main
fn main() {
    let args = Args::parse();
    let listen_socket = lsbaws::net::listen(&args.server, REQUEST_QUEUE_SIZE);

    loop {
        let client_connection = accept(&listen_socket).or_die("accept()");
        // While this runs, every other client waits in the listen queue.
        handle_request(&client_connection, args.server.quiet);
        let _ = close(client_connection);
    }
}
// ANCHOR_END: main
