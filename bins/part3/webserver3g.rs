//! # webserver3g — reap every child: no zombies, no EINTR crash
//!
//! **What it shows.** The correct forking server. Its SIGCHLD handler does
//! not assume one signal means one exited child: it calls
//! `waitpid(-1, WNOHANG)` in a loop, reaping every child that has exited,
//! until the call says none is left (0) or there are no children (ECHILD).
//! `WNOHANG` matters: without it the handler would block on children that
//! are still serving. `accept(2)` is still restarted on EINTR, as in 3f.
//!
//! **See it.** Start it (`cargo run --bin webserver3g`), run
//! `cargo run --bin client3 -- --max-clients 128` as often as you like, then
//! `ps -o pid,stat,cmd --ppid $(pgrep -x webserver3g)`: no `Z` lines.
//!
//! **Next.** Part 4 keeps the request loop and changes the concurrency
//! model: threads, a busy loop over non-blocking sockets, epoll, coroutines.

use clap::Parser;
use lsbaws::cli::ServerArgs;
use lsbaws::hello::handle_request;
use lsbaws::report::{die, OrDie};
use nix::errno::Errno;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::socket::accept;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{close, fork, ForkResult};

/// Length of the listen queue, as in the original Python step.
const REQUEST_QUEUE_SIZE: i32 = 1024;

/// Part 3, step g: the correct forking server.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
}

// ANCHOR: handler
/// Runs when one or more children have exited (async-signal-safe calls
/// only). Reap them all: signals do not queue, so one SIGCHLD may stand for
/// many exits.
extern "C" fn grim_reaper(_signal: libc::c_int) {
    let saved_errno = Errno::last_raw(); // the calls below may overwrite errno
    loop {
        // pid -1: any child. WNOHANG: return at once if none has exited.
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => break, // children left, none exited
            Ok(_) => continue,                   // reaped one; look for more
            Err(_) => break,                     // ECHILD: no children at all
        }
    }
    Errno::set_raw(saved_errno);
}
// ANCHOR_END: handler

// ANCHOR: main
fn main() {
    let args = Args::parse();
    let listen_socket = lsbaws::net::listen(&args.server, REQUEST_QUEUE_SIZE);

    // No SA_RESTART in the flags: a system call that the handler interrupts
    // fails with EINTR instead of being restarted by the kernel.
    let on_sigchld = SigAction::new(
        SigHandler::Handler(grim_reaper),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: grim_reaper only calls waitpid(2) and reads/writes errno, all
    // async-signal-safe, and it touches no memory the main code uses.
    unsafe { sigaction(Signal::SIGCHLD, &on_sigchld) }.or_die("sigaction(SIGCHLD)");

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
                handle_request(&client_connection, args.server.quiet);
                let _ = close(client_connection);
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
