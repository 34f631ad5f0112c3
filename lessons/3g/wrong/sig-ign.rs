//! # A wrong fix for exercise 3g: SIG_IGN
//!
//! The starter with SIGCHLD set to `SIG_IGN` instead of a handler. The kernel
//! then reaps every child itself, and no zombie is ever left; but the server
//! can no longer learn how a child ended, and the exercise is about the
//! handler. The course does not accept it: `cargo lab check 3g` must fail it
//! (`sigchld-handler`); `lab/tests/wrong_fixes.rs` proves that it does.

use clap::Parser;
use lsbaws::cli::ServerArgs;
use lsbaws::hello::handle_request;
use lsbaws::report::{die, OrDie};
use nix::errno::Errno;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::socket::accept;
use nix::unistd::{close, fork, ForkResult};

/// Length of the listen queue, as in the original Python step.
const REQUEST_QUEUE_SIZE: i32 = 1024;

/// Part 3, step f: restart accept() on EINTR; one wait() per signal.
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

    // No SA_RESTART in the flags: a system call that the handler interrupts
    // fails with EINTR instead of being restarted by the kernel.
    let on_sigchld = SigAction::new(
        SigHandler::SigIgn,
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: no handler is installed: SIG_IGN runs no code of ours.
    unsafe { sigaction(Signal::SIGCHLD, &on_sigchld) }.or_die("sigaction(SIGCHLD)");

    loop {
        // ANCHOR: accept
        let client_connection = match accept(&listen_socket) {
            Ok(client_connection) => client_connection,
            // The SIGCHLD handler interrupted accept(): not an error, just
            // call accept() again.
            Err(Errno::EINTR) => continue,
            Err(errno) => die("accept()", errno),
        };
        // ANCHOR_END: accept
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
