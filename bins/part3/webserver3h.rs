//! # webserver3h — the gateway server, made concurrent
//!
//! **What it shows.** `webserver3g`'s forking loop with `webserver2`'s
//! gateway in the child: any application, one process per connection,
//! every child reaped by 3g's SIGCHLD handler (from `lsbaws::reaper`),
//! which loops over `waitpid(-1, WNOHANG)`. The application is loaded once, before the first
//! fork; each child inherits it (and is told so: `wsgi.multiprocess` is
//! true).
//!
//! One new line, and it matters: the child sets SIGCHLD back to `SIG_DFL`.
//! A child inherits its parent's handlers, so without it the *child's*
//! SIGCHLD handler would reap the CGI program the child starts — before
//! the child's own `waitpid` for it, which then fails with ECHILD, and the
//! client gets 502 for a program that worked. (For the same reason the
//! parent cannot take `echo-sigign`'s shortcut: SIG_IGN would be inherited
//! too, and is not even reset by exec.)
//!
//! **See it.** `cargo run --bin webserver3h -- cgi:examples/cgi/misbehave.py`
//! and start several `curl 'localhost:8888/?do=slow'` at once: they finish together,
//! not one after another as under `webserver2`. `ps -o pid,stat,cmd
//! --ppid $(pgrep -x webserver3h)` shows one child per request in flight,
//! and no `Z` lines after.

use clap::Parser;
use lsbaws::cli::ServerArgs;
use lsbaws::gateway::registry::{available_apps, GatewayArgs};
use lsbaws::reaper::reap_children;
use lsbaws::report::{die, OrDie};
use nix::errno::Errno;
use nix::sys::signal::{signal, SigHandler, Signal};
use nix::sys::socket::accept;
use nix::unistd::{close, fork, ForkResult};

/// Length of the listen queue, as in webserver3g.
const REQUEST_QUEUE_SIZE: i32 = 1024;

/// Part 3, step h: the gateway server, one child per connection.
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
    let gateway = args.gateway.gateway(args.server.quiet, true);
    let listen_socket = lsbaws::net::listen(&args.server, REQUEST_QUEUE_SIZE);

    // SIGCHLD: reap every exited child, with webserver3g's handler.
    reap_children();

    loop {
        let client_connection = match accept(&listen_socket) {
            Ok(client_connection) => client_connection,
            // The SIGCHLD handler interrupted accept(): not an error, just
            // call accept() again.
            Err(Errno::EINTR) => continue,
            Err(errno) => die("accept()", errno),
        };
        // SAFETY: this process is single-threaded, so the child cannot inherit
        // a lock or allocator state held by another thread at the fork.
        match unsafe { fork() }.or_die("fork()") {
            ForkResult::Child => {
                // The child never accepts: close its copy of the listening socket.
                let _ = close(listen_socket);
                // The child waits for its own children (CGI programs):
                // the inherited reaper must not take them first.
                // SAFETY: SIG_DFL installs no handler code.
                unsafe { signal(Signal::SIGCHLD, SigHandler::SigDfl) }
                    .or_die("signal(SIGCHLD, SIG_DFL)");
                gateway.handle_one_request(client_connection);
                std::process::exit(0); // the child ends here; it never loops
            }
            ForkResult::Parent { .. } => {
                // The child serves this client: close the parent's copy, so the
                // socket is really closed (EOF) when the child closes its own.
                let _ = close(client_connection);
            }
        }
    }
}
// ANCHOR_END: main
