//! # echo-sigign — a forking echo server that lets the kernel reap (SIGCHLD = SIG_IGN)
//!
//! **What it shows.** `webserver3g` needed a SIGCHLD handler that loops over
//! `waitpid(WNOHANG)`. There is a shortcut: set SIGCHLD's disposition to
//! `SIG_IGN`. POSIX then says children that exit are not turned into
//! zombies at all — the kernel discards them at once (`man 2 sigaction`,
//! "POSIX.1-2001 ... SIG_IGN"). No handler, no `waitpid`, no EINTR (an
//! ignored signal never interrupts a call), no zombies.
//!
//! **When it is not enough.** The parent learns nothing about how a child
//! ended: `waitpid` finds no zombie to report and, once every child is gone,
//! fails with `ECHILD`. And the ignored disposition is inherited by every
//! child and survives `execve(2)`: a program the server runs still has
//! SIGCHLD ignored, and when *it* waits for a child of its own, the status
//! is gone. Run a command per connection (inetd-style, after `--`) to see
//! it: Python's `subprocess` then reports that `false` exited with 0. A
//! server that runs programs per request (a CGI host like `webserver3h`)
//! must reap with a handler instead — or restore `SIG_DFL` in the child
//! before `exec` (`--restore-sigchld`).
//!
//! **See it.** `cargo run --bin echo-sigign`, run
//! `cargo run --bin echo-client` many times, then
//! `ps -o pid,stat,cmd --ppid $(pgrep -x echo-sigign)`: no `Z` lines,
//! and `grep -E 'SigIgn|SigCgt' /proc/$(pgrep -x echo-sigign)/status`
//! shows bit 17 (SIGCHLD, mask 0x10000) ignored, not caught.

use clap::Parser;
use lsbaws::cli::ServerArgs;
use lsbaws::echo::echo;
use lsbaws::report::{die, die_msg, OrDie};
use nix::sys::signal::{signal, SigHandler, Signal};
use nix::unistd::{close, dup2_stdin, dup2_stdout, execvp, fork, ForkResult};
use std::ffi::CString;
use std::os::fd::OwnedFd;

/// Fork per client; SIGCHLD is ignored, so the kernel reaps the children.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,

    /// In each child, set SIGCHLD back to SIG_DFL before running COMMAND,
    /// so that the command can wait for its own children.
    #[arg(long, requires = "command")]
    restore_sigchld: bool,

    /// Instead of echoing, run this command in each child with the
    /// connection as its stdin and stdout, as inetd does (`-- cat` echoes
    /// too).
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

// ANCHOR: main
fn main() {
    let args = Args::parse();
    let command = to_c_strings(&args.command);
    let address = lsbaws::net::resolve(&args.server.host, args.server.port);
    let listener = lsbaws::net::open_listener(address, args.server.backlog_or(5))
        .unwrap_or_else(|(what, errno)| die(format!("{what} on {address}"), errno));
    let port = lsbaws::net::local_port(&listener);
    lsbaws::net::print_banner_for("ECHO", port);

    // The whole lesson: one call, and no handler. From now on the kernel
    // reaps every child of this process the moment it exits.
    // SAFETY: SIG_IGN installs no handler code, so nothing can run in
    // signal context.
    unsafe { signal(Signal::SIGCHLD, SigHandler::SigIgn) }.or_die("signal(SIGCHLD, SIG_IGN)");

    loop {
        // No handler runs, so accept() is never interrupted (no EINTR).
        let connection = nix::sys::socket::accept(&listener).or_die("accept()");
        // SAFETY: single-threaded process: the child inherits no lock held
        // by another thread.
        match unsafe { fork() }.or_die("fork()") {
            ForkResult::Child => {
                let _ = close(listener);
                match &command {
                    Some(command) => run_command(connection, command, args.restore_sigchld),
                    None => {
                        let _ = echo(&connection);
                        std::process::exit(0);
                    }
                }
            }
            ForkResult::Parent { .. } => {
                // Close the parent's copy (webserver3d's lesson), and do not
                // wait: nobody ever waits in this server.
                let _ = close(connection);
            }
        }
    }
}
// ANCHOR_END: main

// ANCHOR: exec
/// In the child: connection → stdin and stdout, then execvp(2) COMMAND.
fn run_command(connection: OwnedFd, command: &[CString], restore_sigchld: bool) -> ! {
    if restore_sigchld {
        // SIG_IGN survives execve(2); SIG_DFL gives the program back its
        // right to wait for its own children.
        // SAFETY: SIG_DFL installs no handler code.
        let _ = unsafe { signal(Signal::SIGCHLD, SigHandler::SigDfl) };
    }
    if let Err(errno) = dup2_stdin(&connection).and_then(|()| dup2_stdout(&connection)) {
        die("dup2()", errno);
    }
    drop(connection);
    let errno = execvp(&command[0], command).unwrap_err();
    die(format!("execvp({:?})", command[0]), errno)
}
// ANCHOR_END: exec

/// The command line as C strings for execvp, or None to echo.
fn to_c_strings(command: &[String]) -> Option<Vec<CString>> {
    if command.is_empty() {
        return None;
    }
    let converted = command.iter().map(|word| {
        CString::new(word.as_str())
            .unwrap_or_else(|_| die_msg(format!("COMMAND word {word:?} contains a NUL byte")))
    });
    Some(converted.collect())
}
