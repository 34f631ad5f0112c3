//! # A wrong fix for exercise 3h: the child keeps the parent's reaper
//!
//! webserver3g's loop around the gateway, without the child's
//! `signal(SIGCHLD, SIG_DFL)`. The child inherits the parent's handler, so
//! when the CGI program it runs exits, the handler reaps it first and the
//! child's own `waitpid` for it fails: the client gets 502 for a program
//! that worked. `cargo lab check 3h` must fail it (`cgi`);
//! `lab/tests/wrong_fixes.rs` proves that it does.

use clap::Parser;
use lsbaws::cli::ServerArgs;
use lsbaws::gateway::registry::{available_apps, GatewayArgs};
use lsbaws::reaper::reap_children;
use lsbaws::report::{die, OrDie};
use nix::errno::Errno;
use nix::sys::socket::accept;
use nix::unistd::{close, fork, ForkResult};

/// Length of the listen queue, as in the original webserver2.py.
const REQUEST_QUEUE_SIZE: i32 = 1;

/// Part 2: serve an application chosen by name, through the gateway interface.
#[derive(Parser)]
#[command(version, after_help = available_apps())]
struct Args {
    #[command(flatten)]
    server: ServerArgs,

    #[command(flatten)]
    gateway: GatewayArgs,
}

// ANCHOR: main
fn main() {
    let args = Args::parse();
    // The application, loaded once, before any request: the server holds
    // it only as `dyn Application`.
    let gateway = args.gateway.gateway(args.server.quiet, false);
    let listen_socket = lsbaws::net::listen(&args.server, REQUEST_QUEUE_SIZE);

    reap_children();

    loop {
        let client_connection = match accept(&listen_socket) {
            Ok(client_connection) => client_connection,
            Err(Errno::EINTR) => continue,
            Err(Errno::ECONNABORTED) => continue, // the client left first
            Err(errno) => die("accept()", errno),
        };
        // SAFETY: this process is single-threaded, so the child cannot inherit
        // a lock or allocator state held by another thread at the fork.
        match unsafe { fork() }.or_die("fork()") {
            ForkResult::Child => {
                let _ = close(listen_socket);
                gateway.handle_one_request(client_connection);
                std::process::exit(0);
            }
            ForkResult::Parent { .. } => {
                let _ = close(client_connection);
            }
        }
    }
}
// ANCHOR_END: main
