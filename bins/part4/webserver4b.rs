//! # webserver4b — a thread per connection
//!
//! **What it shows.** The same blocking code as `webserver4a`, but each
//! accepted connection gets a new thread (`std::thread::spawn`, which is
//! `clone(2)` sharing the address space) instead of a new process. No
//! `fork`, no SIGCHLD, no reaping: a thread ends when its function returns.
//! The threads share the site, the listening socket and one descriptor
//! table, so starting one is much cheaper than a fork — but every
//! connection still holds a whole thread (a stack of 2 MiB of address space
//! by default, a kernel task) for as long as it stays open, even idle, and
//! a crash in one thread is a crash of the whole server.
//!
//! **See it.** `cargo run --bin webserver4b`, open <http://localhost:8888/>
//! in a browser, then `ps -T -p $(pgrep -x webserver4b)` (or
//! `grep Threads /proc/$(pgrep -x webserver4b)/status`): one thread for
//! `main` plus one per open connection. Open 100 idle connections
//! (`for i in $(seq 100); do nc localhost 8888 & done`) and there are
//! 101 threads until `--idle-timeout` closes them.
//!
//! **Next.** `webserver4h` caps the number of threads with a pool; the
//! models after it (`webserver4c` on) use one thread for every connection.

use clap::Parser;
use lsbaws::cli::{IdleArgs, ServerArgs, SiteArgs};
use lsbaws::http::serve_site;
use lsbaws::net::accept_connection;
use lsbaws::report::{errno_of, explain, warn};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;

/// Length of the listen queue.
const REQUEST_QUEUE_SIZE: i32 = 1024;

/// Part 4, model b: one thread per connection.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    site: SiteArgs,
    #[command(flatten)]
    idle: IdleArgs,
}

// ANCHOR: main
fn main() {
    let args = Args::parse();
    // Arc: every thread reads the same Site; the last one gone frees it.
    let site = Arc::new(args.site.open());
    let listener = TcpListener::from(lsbaws::net::listen(&args.server, REQUEST_QUEUE_SIZE));

    loop {
        let mut stream = accept_connection(&listener);
        let timeout = args.idle.timeout();
        let (site, quiet) = (Arc::clone(&site), args.server.quiet);
        // ANCHOR: spawn
        // A new thread for this connection; `main` goes straight back to
        // accept(). The `move` closure takes ownership of the stream.
        let spawned = thread::Builder::new()
            .name("connection".into())
            .spawn(move || {
                // A silent client ends the thread after --idle-timeout.
                let _ = stream
                    .set_read_timeout(timeout)
                    .and(stream.set_write_timeout(timeout));
                serve_site(&mut stream, &site, quiet);
            });
        // ANCHOR_END: spawn
        if let Err(e) = spawned {
            // EAGAIN: out of threads or memory (`ulimit -u` counts threads).
            // The closure, and with it the stream, is dropped: this client
            // sees the connection close, and the others are still served.
            warn("spawning a thread", explain(errno_of(&e)));
        }
    }
}
// ANCHOR_END: main
