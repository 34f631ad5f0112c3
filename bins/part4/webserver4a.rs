//! # webserver4a — a process per connection, serving a real site
//!
//! **What it shows.** Part 3's forking server (`webserver3g`) grown into a
//! static file server: the parent `accept(2)`s, `fork(2)`s a child per
//! connection and goes straight back to `accept(2)`; the child serves the
//! files under `--root`, request after request on the same connection
//! (HTTP/1.1 keep-alive), until the client closes it or stays silent for
//! `--idle-timeout` seconds; then it exits. Every exited child is reaped by
//! 3g's SIGCHLD handler, now in the library (`lsbaws::reaper`).
//!
//! Processes are the strongest isolation there is: a child that crashes
//! takes down one connection, nothing else. The price is a whole process
//! per connection — its own page tables, stack, descriptor table, and a
//! `fork(2)` for every client — even while the client sits idle between
//! requests.
//!
//! **See it.** `cargo run --bin webserver4a`, open <http://localhost:8888/>
//! in a browser, then `ps -o pid,ppid,stat,rss,cmd --ppid $(pgrep -x webserver4a)`:
//! one child per connection the browser keeps open (often several). They
//! exit `--idle-timeout` seconds after the browser goes quiet.
//!
//! **Next.** `webserver4b` serves each connection on a thread instead: the
//! same blocking code, in one address space.

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
                // SO_RCVTIMEO/SO_SNDTIMEO: a silent client ends this process
                // after --idle-timeout instead of keeping it forever.
                let timeout = args.idle.timeout();
                let _ = stream
                    .set_read_timeout(timeout)
                    .and(stream.set_write_timeout(timeout));
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
