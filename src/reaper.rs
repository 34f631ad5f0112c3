//! Reap every exited child from a SIGCHLD handler, for the forking servers
//! whose lesson is something else (webserver3h, webserver4a, ftp-server).
//!
//! The handler is webserver3g's, where reaping *is* the lesson and the
//! handler is written out in full: one SIGCHLD may stand for many exited
//! children (signals do not queue), so it calls `waitpid(-1, WNOHANG)` in
//! a loop until no exited child is left.
//!
//! The handler is installed without `SA_RESTART`, as in 3g: a blocking
//! `accept(2)` that SIGCHLD interrupts fails with EINTR, and the accept loop
//! retries it.

use crate::report::OrDie;
use nix::errno::Errno;
use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};

/// Install the SIGCHLD handler that reaps every child once it exits, so
/// none is left a zombie. Exits with one clear line if `sigaction(2)` fails.
pub fn reap_children() {
    let on_sigchld = SigAction::new(
        SigHandler::Handler(grim_reaper),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: grim_reaper only calls waitpid(2) and reads/writes errno, all
    // async-signal-safe, and it touches no memory the main code uses.
    unsafe { sigaction(Signal::SIGCHLD, &on_sigchld) }.or_die("sigaction(SIGCHLD)");
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
