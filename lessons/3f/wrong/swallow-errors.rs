//! # A wrong fix for exercise 3f: every error swallowed
//!
//! The starter with `accept()`'s errors all sent round the loop again
//! (`Err(_) => continue`). It survives EINTR, but it also "survives" errors
//! that retrying cannot cure: under a tight `ulimit -n`, accept() fails with
//! EMFILE again and again, and the server spins forever without a word.
//! `cargo lab check 3f` must fail it (`accept-error`);
//! `lab/tests/wrong_fixes.rs` proves that it does.

use clap::Parser;
use lsbaws::cli::ServerArgs;
use lsbaws::hello::handle_request;
use lsbaws::report::OrDie;
use nix::errno::Errno;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::socket::accept;
use nix::sys::wait::wait;
use nix::unistd::{close, fork, ForkResult};
use std::time::Duration;

/// Length of the listen queue, as in the original Python step.
const REQUEST_QUEUE_SIZE: i32 = 5;

/// Part 3, step e: a SIGCHLD handler reaps children; accept() dies of EINTR.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    /// Seconds each child sleeps after its response, so that the parent is
    /// back blocking in accept() when the child exits (as in the original).
    #[arg(long, default_value = "3", value_parser = lsbaws::cli::seconds)]
    sleep: Duration,
}

// ANCHOR: handler
/// Runs when a child exits. A signal handler interrupts the program at an
/// arbitrary point, so it may only make async-signal-safe calls: `wait(2)`
/// is one; printing is not (the Python original printed here; `println!`
/// takes stdout's lock and allocates, and would deadlock if the signal
/// arrived while the main code held that lock).
extern "C" fn grim_reaper(_signal: libc::c_int) {
    let saved_errno = Errno::last_raw(); // the calls below may overwrite errno
    let _ = wait(); // reap one child: its zombie disappears
    Errno::set_raw(saved_errno);
}
// ANCHOR_END: handler

// ANCHOR: main
fn main() {
    let args = Args::parse();
    let listen_socket = lsbaws::net::listen(&args.server, REQUEST_QUEUE_SIZE);

    // ANCHOR: install
    // No SA_RESTART in the flags: a system call that the handler interrupts
    // fails with EINTR instead of being restarted by the kernel.
    let on_sigchld = SigAction::new(
        SigHandler::Handler(grim_reaper),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: grim_reaper only calls wait(2) and reads/writes errno, all
    // async-signal-safe, and it touches no memory the main code uses.
    unsafe { sigaction(Signal::SIGCHLD, &on_sigchld) }.or_die("sigaction(SIGCHLD)");
    // ANCHOR_END: install

    loop {
        // ANCHOR: accept
        // When a child exits while we block here, SIGCHLD interrupts accept()
        // and it returns EINTR: or_die() prints the error and exits.
        let client_connection = match accept(&listen_socket) {
            Ok(client_connection) => client_connection,
            Err(_) => continue,
        };
        // ANCHOR_END: accept
        // SAFETY: this process is single-threaded, so the child cannot inherit
        // a lock or allocator state held by another thread at the fork.
        match unsafe { fork() }.or_die("fork()") {
            ForkResult::Child => {
                // The child never accepts: close its copy of the listening socket.
                let _ = close(listen_socket);
                handle_request(&client_connection, args.server.quiet);
                std::thread::sleep(args.sleep);
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
