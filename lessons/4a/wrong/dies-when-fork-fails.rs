//! # A wrong fix for exercise 4a: a failed fork() still stops the server
//!
//! Keep-alive, the site and the idle timeout, each connection in a child,
//! but `fork()` is still called as webserver3g called it: when it fails
//! (EAGAIN, out of processes under `ulimit -u`), the whole server exits,
//! and every client after that is refused. `cargo lab check 4a` must fail
//! it (`fork-fails`); `lab/tests/wrong_fixes.rs` proves that it does.

use clap::Parser;
use lsbaws::cli::{IdleArgs, ServerArgs, SiteArgs};
use lsbaws::http::serve_site;
use lsbaws::net::accept_connection;
use lsbaws::reaper::reap_children;
use lsbaws::report::OrDie;
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
        match unsafe { fork() }.or_die("fork()") {
            ForkResult::Child => {
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
            ForkResult::Parent { .. } => {
                // The child serves this client; the parent's copy must go,
                // or the client would never see the connection close.
                drop(stream);
            }
        }
    }
}
// ANCHOR_END: main
