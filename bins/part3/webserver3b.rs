//! # webserver3b — an iterative server with a slow handler
//!
//! **What it shows.** webserver3a whose handler sleeps after answering (60 s
//! by default, as in the original), standing in for real work. While it
//! sleeps, no other client is served: their connections complete in the
//! kernel's listen queue, but nobody calls `accept(2)`.
//!
//! **See it.** Start it, run `curl localhost:8888/hello` twice at once. The
//! first is answered at once (curl stops reading at Content-Length; with
//! `nc localhost 8888` you would see the connection stay open until the
//! sleep ends); the second gets nothing until then.
//!
//! **Next.** `webserver3c` forks a child per connection, so clients no longer
//! wait for each other.

use clap::Parser;
use lsbaws::cli::ServerArgs;
use lsbaws::hello::handle_request;
use lsbaws::report::OrDie;
use nix::sys::socket::accept;
use nix::unistd::close;
use std::time::Duration;

/// Length of the listen queue, as in the original Python step.
const REQUEST_QUEUE_SIZE: i32 = 5;

/// Part 3, step b: iterative, and each request takes a while.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    /// Seconds to sleep after each response, before closing the connection.
    #[arg(long, default_value = "60", value_parser = lsbaws::cli::seconds)]
    sleep: Duration,
}

// ANCHOR: main
fn main() {
    let args = Args::parse();
    let listen_socket = lsbaws::net::listen(&args.server, REQUEST_QUEUE_SIZE);

    loop {
        let client_connection = accept(&listen_socket).or_die("accept()");
        // While this runs, every other client waits in the listen queue.
        handle_request(&client_connection, args.server.quiet);
        // ANCHOR: sleep
        // The slow part. The client already has its response, but the
        // connection stays open and the loop cannot accept anyone else.
        std::thread::sleep(args.sleep);
        // ANCHOR_END: sleep
        let _ = close(client_connection);
    }
}
// ANCHOR_END: main
