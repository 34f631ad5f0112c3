//! The syscalls of one client: open a connection with a timeout, send the
//! request, and read the answers on many connections at once with poll(2).
//!
//! Every socket here is non-blocking, so no call on it can block client3
//! forever: when we must wait, poll(2) does the waiting, always with a
//! deadline.

use crate::response::Response;
use crate::tally::Stage;
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    self, getsockopt, send, sockopt, AddressFamily, MsgFlags, SockFlag, SockType, SockaddrStorage,
};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// Open a TCP connection to `addr`, giving up after `timeout`. On failure,
/// says which syscall failed (`socket` or `connect`) and why.
pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<OwnedFd, (Stage, Errno)> {
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::Inet,
        SocketAddr::V6(_) => AddressFamily::Inet6,
    };
    let flags = SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC;
    let fd = socket::socket(family, SockType::Stream, flags, None)
        .map_err(|errno| (Stage::Socket, errno))?;
    match socket::connect(fd.as_raw_fd(), &SockaddrStorage::from(addr)) {
        Ok(()) => Ok(fd),
        // The usual answer of a non-blocking connect(): the handshake has
        // started, and we wait for it below.
        Err(Errno::EINPROGRESS) => match finish_connect(&fd, timeout) {
            Ok(()) => Ok(fd),
            Err(errno) => Err((Stage::Connect, errno)),
        },
        Err(errno) => Err((Stage::Connect, errno)),
    }
}

/// Wait for a started handshake to end, for at most `timeout`.
///
/// Why a timeout at all: when a server's listen queue is full, Linux drops
/// the incoming SYN instead of refusing it, and a blocking connect() would
/// quietly resend it for about two minutes before failing with ETIMEDOUT.
fn finish_connect(fd: &OwnedFd, timeout: Duration) -> nix::Result<()> {
    if !wait_for(fd, PollFlags::POLLOUT, Instant::now() + timeout)? {
        return Err(Errno::ETIMEDOUT);
    }
    // Writable means the handshake is over; SO_ERROR says how it ended
    // (0, or ECONNREFUSED and the like).
    match getsockopt(fd, sockopt::SocketError)? {
        0 => Ok(()),
        error => Err(Errno::from_raw(error)),
    }
}

/// Send all of `request`, waiting at most until `deadline` for room.
///
/// MSG_NOSIGNAL: if the server has already closed the connection, send()
/// fails with EPIPE (which we count) instead of raising SIGPIPE, which
/// would kill the client. (Rust also sets SIGPIPE to "ignore" before main()
/// and the forked clients inherit that; this makes it explicit.)
pub fn send_request(fd: &OwnedFd, mut request: &[u8], deadline: Instant) -> nix::Result<()> {
    while !request.is_empty() {
        match send(fd.as_raw_fd(), request, MsgFlags::MSG_NOSIGNAL) {
            Ok(sent) => request = &request[sent..],
            Err(Errno::EINTR) => continue,
            // The socket's send buffer is full. Never so for a request this
            // small on a new connection, but the socket is non-blocking.
            Err(Errno::EAGAIN) => {
                if !wait_for(fd, PollFlags::POLLOUT, deadline)? {
                    return Err(Errno::ETIMEDOUT);
                }
            }
            Err(errno) => return Err(errno),
        }
    }
    Ok(())
}

/// How a connection ended while we read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// read() returned 0: the server closed the connection.
    Eof,
    /// read() failed, e.g. with ECONNRESET.
    Failed(Errno),
    /// Still open, no EOF, when the deadline came.
    Hung,
}

/// What reading one connection found.
#[derive(Debug, Clone, Copy)]
pub struct Outcome {
    /// A complete HTTP response arrived.
    pub response: bool,
    pub ending: Ending,
}

/// Read every connection until each has ended (EOF or an error) or the
/// deadline has passed; one [`Outcome`] per connection, in order.
///
/// poll(2) waits on all the connections together, so a server that never
/// closes them costs one timeout in all, not one timeout per connection.
pub fn read_responses(conns: &[OwnedFd], deadline: Instant) -> Vec<Outcome> {
    let mut responses: Vec<Response> = conns.iter().map(|_| Response::default()).collect();
    let mut endings: Vec<Option<Ending>> = vec![None; conns.len()];
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let still_open: Vec<usize> = (0..conns.len()).filter(|&i| endings[i].is_none()).collect();
        if still_open.is_empty() {
            break;
        }
        let mut fds: Vec<PollFd> = still_open
            .iter()
            .map(|&i| PollFd::new(conns[i].as_fd(), PollFlags::POLLIN))
            .collect();
        match poll(&mut fds, poll_timeout(deadline)) {
            Ok(0) => break, // the deadline passed
            Ok(_) => {}
            Err(Errno::EINTR) => continue,
            Err(errno) => {
                // poll() itself failed (ENOMEM, say): count it on every
                // connection still open rather than give up silently.
                still_open
                    .iter()
                    .for_each(|&i| endings[i] = Some(Ending::Failed(errno)));
                break;
            }
        }
        for (&i, fd) in still_open.iter().zip(&fds) {
            if fd.any().unwrap_or(false) {
                endings[i] = read_some(&conns[i], &mut buf, &mut responses[i]);
            }
        }
        // A server that sends without end would keep poll() returning at
        // once; the deadline still ends the reading.
        if Instant::now() >= deadline {
            break;
        }
    }
    responses
        .iter()
        .zip(endings)
        .map(|(response, ending)| {
            let ending = ending.unwrap_or(Ending::Hung);
            Outcome {
                response: response.is_complete(ending == Ending::Eof),
                ending,
            }
        })
        .collect()
}

/// One read() on a connection poll() said is ready: `Some` if it ended.
fn read_some(fd: &OwnedFd, buf: &mut [u8], response: &mut Response) -> Option<Ending> {
    match nix::unistd::read(fd, buf) {
        Ok(0) => Some(Ending::Eof),
        Ok(n) => {
            response.feed(&buf[..n]);
            None
        }
        Err(Errno::EAGAIN | Errno::EINTR) => None,
        Err(errno) => Some(Ending::Failed(errno)),
    }
}

/// Wait until `fd` is ready for `events`; `false` if `deadline` came first.
fn wait_for(fd: &OwnedFd, events: PollFlags, deadline: Instant) -> nix::Result<bool> {
    loop {
        let mut fds = [PollFd::new(fd.as_fd(), events)];
        match poll(&mut fds, poll_timeout(deadline)) {
            Ok(0) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(errno),
        }
    }
}

/// The time left until `deadline`, for poll(), rounded up to whole
/// milliseconds so that we never wake up just before it.
fn poll_timeout(deadline: Instant) -> PollTimeout {
    let left = deadline.saturating_duration_since(Instant::now());
    let millis = left.as_nanos().div_ceil(1_000_000);
    PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX)
}
