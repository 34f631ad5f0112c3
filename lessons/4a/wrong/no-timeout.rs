//! # A wrong fix for exercise 4a: kept alive, but never let go
//!
//! A child per connection that serves the site request after request on
//! the same connection, but the socket has no timeout: `--idle-timeout` is
//! accepted and never used. A client that goes quiet, or never says
//! anything, keeps its child blocked in `read(2)` for as long as it stays
//! connected. `cargo lab check 4a` must fail it (`idle-timeout`);
//! `lab/tests/wrong_fixes.rs` proves that it does.

use clap::Parser;
use lsbaws::cli::{IdleArgs, ServerArgs, SiteArgs};
use lsbaws::http::serve_site;
use lsbaws::net::accept_connection;
use lsbaws::reaper::reap_children;
use lsbaws::report::{explain, warn};
use nix::unistd::{fork, ForkResult};
use std::net::TcpListener;

/// Length of the listen queue.
const REQUEST_QUEUE_SIZE: i32 = 1024;

/// Part 4, model a: one process per connection.
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
    let site = args.site.open();
    let listener = TcpListener::from(lsbaws::net::listen(&args.server, REQUEST_QUEUE_SIZE));

    // SIGCHLD: reap every exited child, with webserver3g's handler.
    reap_children();

    loop {
        // accept(2); the EINTR that SIGCHLD causes is retried, as in 3g.
        let mut stream = accept_connection(&listener);
        // SAFETY: this process is single-threaded, so the child cannot inherit
        // a lock or allocator state held by another thread at the fork.
        match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                // ANCHOR: child
                // The child never accepts: close its copy of the listener.
                drop(listener);
                // Read requests and answer them until the client closes.
                serve_site(&mut stream, &site, args.server.quiet);
                std::process::exit(0);
                // ANCHOR_END: child
            }
            Ok(ForkResult::Parent { .. }) => {
                // The child serves this client; the parent's copy must go,
                // or the client would never see the connection close.
                drop(stream);
            }
            Err(errno) => {
                // EAGAIN: out of processes (`ulimit -u`). Drop this client
                // (it sees the connection close) and keep serving the others.
                warn("fork()", explain(errno));
                drop(stream);
            }
        }
    }
}
// ANCHOR_END: main
