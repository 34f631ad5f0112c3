//! # webserver4u — one thread, io_uring: ask for the work, collect the results
//!
//! **What it shows.** Every server so far asked the kernel *when* it could
//! read or write (readiness: select, poll, epoll say "you may read now"),
//! then made the `read` or `write` system call itself. io_uring turns this
//! around: the server puts the operations themselves — accept on this
//! listener, receive into this buffer, send these bytes — as entries on a
//! *submission ring*, and the kernel puts their results on a *completion
//! ring* when they are done ("your read is done: 88 bytes"). Both rings are
//! memory shared between the process and the kernel (`io_uring_setup(2)`
//! maps them), so entries and results pass without a copy; one system
//! call, `io_uring_enter(2)`, hands over what was queued and sleeps until
//! something completes.
//!
//! **See it.** `cargo run --bin webserver4u`, then
//! `curl localhost:8888/hello.txt localhost:8888/style.css`, and
//! `strace -c -f -p $(pgrep -x webserver4u)` during a load: `io_uring_enter`
//! where 4e made `epoll_wait`, `read` and `write`. If the kernel refuses
//! io_uring (the `kernel.io_uring_disabled` sysctl, or a seccomp filter in
//! a container), it exits with one line saying so.
//!
//! A connection silent for `--idle-timeout` seconds (5 by default) is
//! closed, with no timer list of ours: each receive and send is *linked*
//! to a timeout entry, and the kernel cancels the operation when the
//! timeout expires first. Out of descriptors (`EMFILE`), it submits no
//! accept until a connection closes (or a second has passed), and releases
//! a spare descriptor so that connected clients can still open files.
//!
//! **Next.** webserver4v: multishot accept and receive (one entry, many
//! completions), with receive buffers the kernel picks from a ring
//! registered once.

use clap::Parser;
use io_uring::{opcode, squeue, types, IoUring};
use lsbaws::cli::{IdleArgs, ServerArgs, SiteArgs};
use lsbaws::http::{Limits, Request, Response, Session};
use lsbaws::net::{accept_failure, AcceptFailure, SpareDescriptor};
use lsbaws::report::{die, die_msg, errno_of, explain, warn, warn_unless_disconnect, Throttle};
use nix::errno::Errno;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

/// Length of the listen queue.
const REQUEST_QUEUE_SIZE: i32 = 1024;
/// Each connection's receive buffer: the kernel writes into it while the
/// receive is in flight, so every connection needs its own.
const READ_BUFFER: usize = 16 * 1024;
/// Entries of the submission ring (the completion ring has twice as many).
const RING_ENTRIES: u32 = 1024;
/// The `user_data` of the listener's accept; a connection's operations
/// carry its descriptor, and the timeout linked to one carries the
/// descriptor plus IDLE_TIMER.
const ACCEPT: u64 = u64::MAX;
const ACCEPT_RETRY: u64 = u64::MAX - 1;
const IDLE_TIMER: u64 = 1 << 32;
/// While out of descriptors, try an accept again at least this often (a
/// descriptor may be freed by something other than a connection closing).
const ACCEPT_RETRY_AFTER: Duration = Duration::from_secs(1);

// ANCHOR: args
/// Part 4, model u: one thread, io_uring.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    site: SiteArgs,
    #[command(flatten)]
    idle: IdleArgs,
}
// ANCHOR_END: args

/// What a connection has in flight: one operation at a time, so that its
/// buffers stay untouched until the kernel is done with them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum InFlight {
    Recv,
    Send,
}

/// One open connection: its socket, its session, its receive buffer, and
/// the operation the kernel is doing for it.
struct Connection {
    socket: OwnedFd,
    session: Session,
    buf: Vec<u8>,
    in_flight: InFlight,
}

// ANCHOR: main
fn main() {
    let args = Args::parse();
    let site = args.site.open();
    lsbaws::net::raise_fd_limit();
    // io_uring_setup(2): the two rings, mapped into this process and the
    // kernel alike.
    let mut ring = match IoUring::new(RING_ENTRIES) {
        Ok(ring) => ring,
        // Refused: say why, as /proc tells it (the sysctl, a seccomp filter,
        // or a kernel without io_uring).
        Err(e) => {
            let refusal = lsbaws::uring::refusal(errno_of(&e));
            die_msg(format!("io_uring_setup() failed: {refusal}"))
        }
    };
    let listen_socket = lsbaws::net::listen(&args.server, REQUEST_QUEUE_SIZE);
    let respond = |request: &Request| site.respond_and_log(request, args.server.quiet);
    // The timeouts the kernel reads when it takes an entry (None for
    // --idle-timeout 0: no timer, connections may stay forever).
    let idle_timeout = args.idle.timeout().map(types::Timespec::from);
    let accept_retry = types::Timespec::from(ACCEPT_RETRY_AFTER);

    let mut connections: HashMap<RawFd, Connection> = HashMap::new();
    // One line on stderr at most every 10 s while descriptors run out.
    let mut out_of_fds = Throttle::every_ten_seconds();
    // Released while descriptors are out: one free for opening files.
    let mut spare = SpareDescriptor::new();
    // No accept is in flight while descriptors are out: the next close, or
    // the retry timer, submits one again.
    let mut accept_paused = false;
    let mut retry_armed = false;
    queue(&mut ring, &[accept_entry(&listen_socket)]);
    // ANCHOR: loop
    loop {
        // io_uring_enter(2): hand the kernel the entries queued since the
        // last call, and sleep until at least one operation has completed.
        if let Err(e) = ring.submit_and_wait(1) {
            match Errno::from_raw(e.raw_os_error().unwrap_or(0)) {
                Errno::EINTR | Errno::EAGAIN | Errno::EBUSY => {} // collect what is there
                errno => die("io_uring_enter()", errno),
            }
        }
        // The completion ring: (whose operation, its result) — a byte
        // count, a new descriptor, or minus an errno.
        let completions: Vec<(u64, i32)> = ring
            .completion()
            .map(|cqe| (cqe.user_data(), cqe.result()))
            .collect();
        for (user_data, result) in completions {
            if user_data == ACCEPT {
                match accepted(result, &mut connections, &mut out_of_fds) {
                    Ok(recv) => {
                        queue_linked(&mut ring, recv, idle_timeout.as_ref());
                        queue(&mut ring, &[accept_entry(&listen_socket)]);
                    }
                    Err(AcceptFailure::OutOfResources) => {
                        accept_paused = true;
                        spare.release();
                        if !retry_armed {
                            retry_armed = true;
                            let timer = opcode::Timeout::new(&accept_retry).build();
                            queue(&mut ring, &[timer.user_data(ACCEPT_RETRY)]);
                        }
                    }
                    Err(_) => queue(&mut ring, &[accept_entry(&listen_socket)]),
                }
                continue;
            }
            if user_data == ACCEPT_RETRY {
                retry_armed = false;
            } else if user_data & IDLE_TIMER != 0 {
                // A linked timeout ended: it fired (its operation completes
                // with ECANCELED and closes the connection), or the
                // operation completed first and the kernel removed it.
                continue;
            } else {
                let fd = user_data as RawFd;
                let Some(connection) = connections.get_mut(&fd) else {
                    continue;
                };
                match next_operation(connection, result, &respond) {
                    Some(entry) => {
                        queue_linked(&mut ring, entry, idle_timeout.as_ref());
                        continue;
                    }
                    None => drop(connections.remove(&fd)), // close(2)
                }
            }
            // A descriptor was freed, or a second has passed: accept again,
            // the spare back in reserve first.
            if accept_paused {
                accept_paused = false;
                spare.reclaim();
                queue(&mut ring, &[accept_entry(&listen_socket)]);
            }
        }
    }
    // ANCHOR_END: loop
}
// ANCHOR_END: main

/// Put `entries` on the submission ring, together (a linked pair must
/// reach the kernel in one batch); if the ring is full, hand what it holds
/// to the kernel first.
fn queue(ring: &mut IoUring, entries: &[squeue::Entry]) {
    // SAFETY: every buffer an entry points into (a connection's receive
    // buffer, its session's pending bytes) stays in place and untouched
    // until that entry's completion has been collected: a connection has
    // one operation in flight at a time, is changed only when it completes,
    // and is dropped only then. A timeout entry points at a timespec of
    // main's, which outlives the loop (the kernel copies it anyway).
    while unsafe { ring.submission().push_multiple(entries) }.is_err() {
        if let Err(e) = ring.submit() {
            die(
                "io_uring_enter()",
                Errno::from_raw(e.raw_os_error().unwrap_or(0)),
            );
        }
    }
}

// ANCHOR: linked
/// Queue a connection's receive or send; with an idle timeout, linked
/// (IO_LINK) to a timeout entry: if the operation has not completed when
/// the timeout expires, the kernel cancels it (ECANCELED).
fn queue_linked(ring: &mut IoUring, operation: squeue::Entry, idle: Option<&types::Timespec>) {
    let Some(timeout) = idle else {
        return queue(ring, &[operation]);
    };
    let timer = opcode::LinkTimeout::new(timeout).build();
    let timer = timer.user_data(operation.get_user_data() | IDLE_TIMER);
    queue(ring, &[operation.flags(squeue::Flags::IO_LINK), timer]);
}
// ANCHOR_END: linked

// ANCHOR: entries
/// "Accept a connection on the listener": the result is its descriptor.
fn accept_entry(listen_socket: &OwnedFd) -> squeue::Entry {
    let listener = types::Fd(listen_socket.as_raw_fd());
    opcode::Accept::new(listener, std::ptr::null_mut(), std::ptr::null_mut())
        .flags(libc::SOCK_CLOEXEC)
        .build()
        .user_data(ACCEPT)
}

/// "Receive into this connection's buffer": the result is the byte count.
fn recv_entry(connection: &mut Connection) -> squeue::Entry {
    connection.in_flight = InFlight::Recv;
    let fd = connection.socket.as_raw_fd();
    let buf = &mut connection.buf;
    opcode::Recv::new(types::Fd(fd), buf.as_mut_ptr(), buf.len() as u32)
        .build()
        .user_data(fd as u64)
}

/// "Send these pending bytes": the result is how many were sent.
fn send_entry(connection: &mut Connection) -> squeue::Entry {
    connection.in_flight = InFlight::Send;
    let pending = connection.session.pending();
    let fd = connection.socket.as_raw_fd();
    opcode::Send::new(types::Fd(fd), pending.as_ptr(), pending.len() as u32)
        .build()
        .user_data(fd as u64)
}
// ANCHOR_END: entries

// ANCHOR: accepted
/// An accept completed: keep the new connection and return its first
/// receive, or sort the failure as 4e does.
fn accepted(
    result: i32,
    connections: &mut HashMap<RawFd, Connection>,
    out_of_fds: &mut Throttle,
) -> Result<squeue::Entry, AcceptFailure> {
    if result < 0 {
        let errno = Errno::from_raw(-result);
        let failure = accept_failure(errno);
        match failure {
            AcceptFailure::ConnectionGone => {}
            AcceptFailure::OutOfResources => {
                if out_of_fds.allow() {
                    let why = explain(errno);
                    warn(
                        "accept",
                        format!("{why}; no new accept until a connection closes"),
                    );
                }
            }
            AcceptFailure::Fatal => die("accept", errno),
        }
        return Err(failure);
    }
    // SAFETY: the completion of an accept carries a new descriptor that
    // nothing else in this process owns.
    let socket = unsafe { OwnedFd::from_raw_fd(result) };
    let connection = Connection {
        socket,
        session: Session::new(Limits::default()), // keep-alive
        buf: vec![0u8; READ_BUFFER],
        in_flight: InFlight::Recv,
    };
    Ok(recv_entry(connections.entry(result).or_insert(connection)))
}
// ANCHOR_END: accepted

// ANCHOR: completed
/// A receive or a send of `connection` completed with `result`: feed the
/// session, and return the next operation, or None to close.
fn next_operation(
    connection: &mut Connection,
    result: i32,
    respond: &dyn Fn(&Request) -> Response,
) -> Option<squeue::Entry> {
    let session = &mut connection.session;
    if result < 0 {
        match Errno::from_raw(-result) {
            Errno::EINTR | Errno::EAGAIN => {} // try the same again
            // The linked timeout expired: idle too long. Close, quietly.
            Errno::ECANCELED => return None,
            errno => {
                // The client is gone. Only a failure other than a disconnect
                // (ECONNRESET, EPIPE, ...) is worth a line on stderr.
                warn_unless_disconnect("serving a connection", errno);
                return None;
            }
        }
    } else {
        let n = result as usize;
        match connection.in_flight {
            InFlight::Recv if n == 0 => session.peer_closed(), // the client closed its side
            InFlight::Recv => session.receive(&connection.buf[..n], respond),
            InFlight::Send => {
                session.wrote(n);
                session.answer(respond); // requests that waited for room
            }
        }
    }
    if session.wants_write() {
        Some(send_entry(connection))
    } else if session.is_finished() {
        None
    } else {
        Some(recv_entry(connection))
    }
}
// ANCHOR_END: completed
