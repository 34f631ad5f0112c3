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
//!
//! A failure the server outlives (one client's connection, one fork) gets
//! the same line from [`warn`], and the server carries on; a client that
//! just went away gets no line at all ([`is_disconnect`],
//! [`warn_unless_disconnect`]).

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
            "another process is listening on that port, or connections to it are \
             still in TIME_WAIT and this socket or the one that accepted them lacked \
             SO_REUSEADDR; stop the other process or wait a minute, or choose another \
             port with --port (0 picks a free one)"
        }
        Errno::EADDRNOTAVAIL => "that address is not one of this machine's; check --host",
        Errno::EACCES => "ports below 1024 need root; choose a port above 1024 with --port",
        Errno::ECONNREFUSED => "nothing is listening there; start the server first",
        Errno::ENOMEM => "the kernel could not allocate memory for the call",
        _ => "see the syscall's man page for this error",
    }
}

/// `ERRNO — HINT`: an errno and what usually causes it, the "why" of
/// [`die`]'s line, to hand to [`warn`] for the same line without the exit.
pub fn explain(errno: Errno) -> String {
    format!("{errno} — {}", hint_for(errno))
}

/// Print `PROGRAM: WHAT failed: ERRNO — HINT` to stderr and exit with status 1.
pub fn die(what: impl Display, errno: Errno) -> ! {
    warn(what, explain(errno));
    std::process::exit(1)
}

/// Print `PROGRAM: MESSAGE` to stderr and exit with status 1.
pub fn die_msg(message: impl Display) -> ! {
    warn_msg(message);
    std::process::exit(1)
}

/// [`die`] without the exit, for a failure the server outlives: print
/// `PROGRAM: WHAT failed: WHY` to stderr and carry on.
/// `warn("fork()", explain(errno))` prints the very line `die` would.
pub fn warn(what: impl Display, why: impl Display) {
    eprintln!("{}: {what} failed: {why}", program_name());
}

/// [`die_msg`] without the exit: print `PROGRAM: MESSAGE` to stderr.
pub fn warn_msg(message: impl Display) {
    eprintln!("{}: {message}", program_name());
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

/// An error from a connection's read or write, as nix (`Errno`) or std
/// (`io::Error`) reports it.
pub trait ConnectionError: Display {
    /// See [`is_disconnect`].
    fn is_disconnect(&self) -> bool;
}

impl ConnectionError for Errno {
    fn is_disconnect(&self) -> bool {
        matches!(
            self,
            Errno::EPIPE
                | Errno::ECONNRESET
                | Errno::ECONNABORTED
                | Errno::ENOTCONN
                | Errno::ETIMEDOUT
        )
    }
}

impl ConnectionError for io::Error {
    fn is_disconnect(&self) -> bool {
        match self.raw_os_error() {
            Some(code) => Errno::from_raw(code).is_disconnect(),
            // No errno: std's read_exact/write_all met the end of the
            // stream in the middle of a message — the peer closed.
            None => self.kind() == io::ErrorKind::UnexpectedEof,
        }
    }
}

impl<E: ConnectionError> ConnectionError for &E {
    fn is_disconnect(&self) -> bool {
        (*self).is_disconnect()
    }
}

/// Is this error just the peer going away (reset, broken pipe, closed in
/// the middle of a message, ...)? Those are normal events for a server,
/// not errors worth a line on stderr. Takes an `Errno` or an `&io::Error`.
pub fn is_disconnect(error: impl ConnectionError) -> bool {
    error.is_disconnect()
}

/// `warn(what, error)`, unless the error is just the client going away
/// ([`is_disconnect`]): the line a server prints when serving one
/// connection failed.
pub fn warn_unless_disconnect(what: impl Display, error: impl ConnectionError) {
    if !error.is_disconnect() {
        warn(what, error);
    }
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
    fn a_disconnect_is_the_same_whether_nix_or_std_reports_it() {
        assert!(is_disconnect(Errno::ECONNRESET));
        assert!(is_disconnect(io::Error::from(Errno::ECONNRESET)));
        assert!(is_disconnect(io::Error::from(io::ErrorKind::UnexpectedEof)));
        assert!(!is_disconnect(Errno::EMFILE));
        assert!(!is_disconnect(io::Error::from(Errno::EMFILE)));
    }

    #[test]
    fn a_throttle_lets_one_message_through_per_period() {
        let mut throttle = Throttle::new(std::time::Duration::from_millis(200));
        assert!(throttle.allow());
        assert!(!throttle.allow());
        std::thread::sleep(std::time::Duration::from_millis(250));
        assert!(throttle.allow());
    }
}
