//! One clear line when a syscall fails, then exit — never a panic backtrace.
//!
//! Lines read `PROGRAM: WHAT failed: ERRNO: DESCRIPTION — HINT`, for example
//!
//! ```text
//! webserver3d: accept() failed: EMFILE: Too many open files — this process hit
//! its open-file limit (see `ulimit -n`); every descriptor it keeps open counts
//! ```
//!
//! The errno's symbolic name is always printed, so a student (or a test) can
//! match `EAGAIN` rather than the libc-specific text ("Try again",
//! "Resource temporarily unavailable").

use nix::errno::Errno;
use std::fmt::Display;
use std::io;

/// The name the program was started as (`webserver3e`), for message prefixes.
pub fn program_name() -> String {
    std::env::args_os()
        .next()
        .map(std::path::PathBuf::from)
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "lsbaws".to_string())
}

/// What usually causes `errno` in this lab, and what to do about it.
pub fn hint_for(errno: Errno) -> &'static str {
    match errno {
        Errno::EINTR => {
            "a signal handler ran while the call was blocked, and the handler was \
             installed without SA_RESTART, so the kernel returned EINTR instead of \
             restarting the call"
        }
        Errno::EMFILE => {
            "this process hit its open-file limit (see `ulimit -n`); every descriptor \
             it keeps open counts against it"
        }
        Errno::ENFILE => "the whole system ran out of file descriptors",
        Errno::EAGAIN => {
            "the user hit its process limit (see `ulimit -u`); zombie children count \
             against it until they are reaped"
        }
        Errno::EADDRINUSE => {
            "another process is listening on that port; stop it, or choose another \
             with --port (0 picks a free one)"
        }
        Errno::EADDRNOTAVAIL => "that address is not one of this machine's; check --host",
        Errno::EACCES => "ports below 1024 need root; choose a port above 1024 with --port",
        Errno::ECONNREFUSED => "nothing is listening there; start the server first",
        Errno::ENOMEM => "the kernel could not allocate memory for the call",
        _ => "see the syscall's man page for this error",
    }
}

/// Print `PROGRAM: WHAT failed: ERRNO — HINT` to stderr and exit with status 1.
pub fn die(what: impl Display, errno: Errno) -> ! {
    eprintln!(
        "{}: {what} failed: {errno} — {}",
        program_name(),
        hint_for(errno)
    );
    std::process::exit(1)
}

/// Print `PROGRAM: MESSAGE` to stderr and exit with status 1.
pub fn die_msg(message: impl Display) -> ! {
    eprintln!("{}: {message}", program_name());
    std::process::exit(1)
}

/// The errno behind an `io::Error`, for errors that came through std.
pub fn errno_of(err: &io::Error) -> Errno {
    Errno::from_raw(err.raw_os_error().unwrap_or(0))
}

/// `result.or_die("accept()")`: the value, or one clear line and exit 1.
pub trait OrDie<T> {
    fn or_die(self, what: &str) -> T;
}

impl<T> OrDie<T> for nix::Result<T> {
    fn or_die(self, what: &str) -> T {
        self.unwrap_or_else(|errno| die(what, errno))
    }
}

impl<T> OrDie<T> for io::Result<T> {
    fn or_die(self, what: &str) -> T {
        self.unwrap_or_else(|err| match err.raw_os_error() {
            Some(code) => die(what, Errno::from_raw(code)),
            None => die_msg(format!("{what} failed: {err}")),
        })
    }
}

/// Is this error just the peer going away (reset, broken pipe, ...)?
/// Those are normal events for a server, not errors worth a line on stderr.
pub fn is_disconnect(errno: Errno) -> bool {
    matches!(
        errno,
        Errno::EPIPE | Errno::ECONNRESET | Errno::ECONNABORTED | Errno::ENOTCONN | Errno::ETIMEDOUT
    )
}

/// Lets a message that may repeat through at most once per period, so a
/// condition that persists (a server out of descriptors) is one line on
/// stderr, not a flood.
#[derive(Debug, Clone)]
pub struct Throttle {
    every: std::time::Duration,
    last: Option<std::time::Instant>,
}

impl Throttle {
    pub const fn new(every: std::time::Duration) -> Throttle {
        Throttle { every, last: None }
    }

    /// A line at most every 10 seconds: often enough to see that a
    /// condition persists, rarely enough to leave the rest of stderr
    /// readable.
    pub const fn every_ten_seconds() -> Throttle {
        Throttle::new(std::time::Duration::from_secs(10))
    }

    /// True the first time, then again once `every` has passed since the
    /// last time it said true.
    pub fn allow(&mut self) -> bool {
        let now = std::time::Instant::now();
        let due = self
            .last
            .is_none_or(|last| now.duration_since(last) >= self.every);
        if due {
            self.last = Some(now);
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_throttle_lets_one_message_through_per_period() {
        let mut throttle = Throttle::new(std::time::Duration::from_millis(200));
        assert!(throttle.allow());
        assert!(!throttle.allow());
        std::thread::sleep(std::time::Duration::from_millis(250));
        assert!(throttle.allow());
    }
}
