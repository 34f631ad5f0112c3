//! # webserver4v — io_uring, multishot: one entry, many completions
//!
//! **What it shows.** 4u submits an entry for every operation: an accept
//! for every connection, a receive for every request, each receive with a
//! buffer of its own lent to the kernel. 4v submits one *multishot* accept
//! for the listener's whole life — the kernel posts a completion for every
//! connection it accepts — and one multishot receive per connection, which
//! posts a completion whenever bytes arrive. The receives name no buffer:
//! at start 4v registers a *provided buffer ring* with the kernel, a
//! thousand buffers for all connections; the kernel takes one for each
//! completion and says which, and the loop gives it back after parsing.
//! What is left to submit per request is the send.
//!
//! **See it.** `cargo run --bin webserver4v`, then the same load against
//! 4u and 4v under `strace -c -f`: fewer `io_uring_enter` calls per
//! request. `grep -E 'Sq|Cq' /proc/$(pgrep -x webserver4v)/fdinfo/4` shows
//! the two rings' heads and tails: entries submitted, completions posted.
//! Multishot receive came with Linux 6.0 (buffer rings with 5.19): an
//! older kernel refuses it, and 4v exits with one line saying which.
//!
//! A connection silent for `--idle-timeout` seconds (5 by default) is
//! closed. 4u's linked timeouts cannot do it here: a linked timeout runs
//! against its whole operation, and a multishot receive lasts as long as
//! the connection. So each connection keeps the time of its last
//! completion, and a timeout entry wakes the loop every quarter of the
//! idle timeout to close the silent ones. Out of descriptors (`EMFILE`),
//! the multishot accept ends; as in 4u, none is submitted again until a
//! connection closes (or a second has passed).
//!
//! **Next.** The benchmarks measure 4u and 4v against epoll.

use clap::Parser;
use io_uring::{cqueue, opcode, squeue, types, IoUring};
use lsbaws::cli::{IdleArgs, ServerArgs, SiteArgs};
use lsbaws::http::{Limits, Request, Response, Session};
use lsbaws::net::{accept_failure, AcceptFailure, SpareDescriptor};
use lsbaws::report::{die, die_msg, errno_of, explain, warn, warn_unless_disconnect, Throttle};
use lsbaws::uring::{missing_feature, BufferRing};
use nix::errno::Errno;
use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// Length of the listen queue.
const REQUEST_QUEUE_SIZE: i32 = 1024;
/// The provided buffers, shared by every connection: a buffer is off the
/// ring only from the kernel filling it to the loop parsing it.
const BUFFERS: u16 = 1024;
const BUFFER_SIZE: usize = 4 * 1024;
/// The id the receives name the buffer ring by (its *group*).
const BUFFER_GROUP: u16 = 0;
/// Entries of the submission ring (the completion ring has twice as many).
const RING_ENTRIES: u32 = 1024;
/// The `user_data` of the listener's accept, of the timers, and of cancel
/// requests; a connection's receive carries its descriptor, and its send
/// the descriptor plus SEND.
const ACCEPT: u64 = u64::MAX;
const ACCEPT_RETRY: u64 = u64::MAX - 1;
const IDLE_TICK: u64 = u64::MAX - 2;
const CANCEL: u64 = u64::MAX - 3;
const SEND: u64 = 1 << 32;
/// While out of descriptors, try an accept again at least this often (a
/// descriptor may be freed by something other than a connection closing).
const ACCEPT_RETRY_AFTER: Duration = Duration::from_secs(1);
/// Bytes received and not yet answered past which a connection's receive
/// is cancelled until its answers have gone out.
const MAX_UNANSWERED: usize = 64 * 1024;

// ANCHOR: args
/// Part 4, model v: one thread, io_uring, multishot.
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

// ANCHOR: connection
/// A connection's multishot receive: not submitted, armed (completions
/// keep coming, each with IORING_CQE_F_MORE), or cancelled (its last
/// completion, the one without F_MORE, is still to come).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Receive {
    Off,
    Armed,
    Cancelled,
}

/// One open connection: its socket, its session, what the kernel is doing
/// for it, and when it last did something.
struct Connection {
    socket: OwnedFd,
    session: Session,
    receive: Receive,
    /// A send is in flight: the session's pending bytes are lent to the
    /// kernel, and must not change until it completes.
    sending: bool,
    /// Done: its operations are cancelled, and it is dropped (closed) once
    /// their last completions have come.
    closing: bool,
    last_active: Instant,
}
// ANCHOR_END: connection

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
    // ANCHOR: register
    // io_uring_register(2), once: the ring of provided buffers. From now
    // on the kernel takes a buffer from it for every receive completion.
    let mut buffers = BufferRing::new(BUFFERS, BUFFER_SIZE);
    // SAFETY: the ring and its buffers are never freed (see BufferRing), so
    // they outlive the registration.
    let registered = unsafe {
        let (addr, count) = (buffers.addr(), buffers.count());
        ring.submitter()
            .register_buf_ring_with_flags(addr, count, BUFFER_GROUP, 0)
    };
    if let Err(e) = registered {
        let why = missing_feature(errno_of(&e), "the provided buffer ring", (5, 19));
        die_msg(format!(
            "io_uring_register(IORING_REGISTER_PBUF_RING) failed: {why}"
        ));
    }
    // ANCHOR_END: register
    let listen_socket = lsbaws::net::listen(&args.server, REQUEST_QUEUE_SIZE);
    let respond = |request: &Request| site.respond_and_log(request, args.server.quiet);
    // --idle-timeout 0: no timer, connections may stay forever.
    let idle_timeout = args.idle.timeout();
    let idle_tick = idle_timeout.map(|timeout| types::Timespec::from(timeout / 4));
    let accept_retry = types::Timespec::from(ACCEPT_RETRY_AFTER);

    let mut connections: HashMap<RawFd, Connection> = HashMap::new();
    // One line on stderr at most every 10 s while descriptors run out.
    let mut out_of_fds = Throttle::every_ten_seconds();
    // Released while descriptors are out: one free for opening files.
    let mut spare = SpareDescriptor::new();
    // No accept is armed while descriptors are out: the next close, or the
    // retry timer, submits one again.
    let mut accept_paused = false;
    let mut retry_armed = false;
    let mut tick_armed = false;
    queue(&mut ring, accept_entry(&listen_socket));
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
        // The completion ring: (whose operation, its result, its flags:
        // F_MORE if more completions of it will come, and which provided
        // buffer a receive filled).
        let completions: Vec<(u64, i32, u32)> = ring
            .completion()
            .map(|cqe| (cqe.user_data(), cqe.result(), cqe.flags()))
            .collect();
        let now = Instant::now();
        for (user_data, result, flags) in completions {
            match user_data {
                ACCEPT => {
                    match accepted(result, &mut out_of_fds) {
                        Ok(socket) => {
                            let fd = socket.as_raw_fd();
                            let connection = Connection {
                                socket,
                                session: Session::new(Limits::default()), // keep-alive
                                receive: Receive::Off,
                                sending: false,
                                closing: false,
                                last_active: now,
                            };
                            connections.insert(fd, connection);
                            next_operations(&mut ring, &mut connections, fd);
                            if let (Some(tick), false) = (&idle_tick, tick_armed) {
                                tick_armed = true;
                                queue(
                                    &mut ring,
                                    opcode::Timeout::new(tick).build().user_data(IDLE_TICK),
                                );
                            }
                        }
                        Err(AcceptFailure::OutOfResources) => {
                            accept_paused = true;
                            spare.release();
                            if !retry_armed {
                                retry_armed = true;
                                let timer = opcode::Timeout::new(&accept_retry).build();
                                queue(&mut ring, timer.user_data(ACCEPT_RETRY));
                            }
                        }
                        Err(_) => {}
                    }
                    // Without F_MORE the multishot accept has ended (an
                    // error ends it): submit it again, unless paused.
                    if !cqueue::more(flags) && !accept_paused {
                        queue(&mut ring, accept_entry(&listen_socket));
                    }
                    continue;
                }
                ACCEPT_RETRY => retry_armed = false,
                IDLE_TICK => {
                    tick_armed = false;
                    let idle = idle_timeout.unwrap_or(Duration::MAX);
                    let silent: Vec<RawFd> = connections
                        .iter()
                        .filter(|(_, c)| {
                            !c.closing && now.saturating_duration_since(c.last_active) >= idle
                        })
                        .map(|(&fd, _)| fd)
                        .collect();
                    let mut closed = false;
                    for fd in silent {
                        if let Some(connection) = connections.get_mut(&fd) {
                            connection.closing = true; // cancels what it has in flight
                        }
                        closed |= !next_operations(&mut ring, &mut connections, fd);
                    }
                    if let (Some(tick), false) = (&idle_tick, connections.is_empty()) {
                        tick_armed = true;
                        queue(
                            &mut ring,
                            opcode::Timeout::new(tick).build().user_data(IDLE_TICK),
                        );
                    }
                    if !closed {
                        continue;
                    }
                }
                CANCEL => continue, // a cancel request's own result
                _ => {
                    let fd = (user_data & !SEND) as RawFd;
                    let Some(connection) = connections.get_mut(&fd) else {
                        continue;
                    };
                    connection.last_active = now;
                    if user_data & SEND != 0 {
                        sent(connection, result, &respond);
                    } else {
                        received(connection, result, flags, &mut buffers, &respond);
                    }
                    if next_operations(&mut ring, &mut connections, fd) {
                        continue;
                    }
                }
            }
            // A descriptor was freed, or a second has passed: accept again,
            // the spare back in reserve first.
            if accept_paused {
                accept_paused = false;
                spare.reclaim();
                queue(&mut ring, accept_entry(&listen_socket));
            }
        }
    }
    // ANCHOR_END: loop
}
// ANCHOR_END: main

/// Put `entry` on the submission ring; if the ring is full, hand what it
/// holds to the kernel first.
fn queue(ring: &mut IoUring, entry: squeue::Entry) {
    // SAFETY: every buffer an entry points into stays in place and
    // untouched until that entry's last completion has been collected: a
    // send points into its session's pending bytes, which do not change
    // while it is in flight (bytes received meanwhile are held aside), and
    // a connection is dropped only once nothing of it is in flight.
    // Receives point into no buffer of ours but the registered ring. A
    // timeout entry points at a timespec of main's, which outlives the loop
    // (the kernel copies it anyway).
    while unsafe { ring.submission().push(&entry) }.is_err() {
        if let Err(e) = ring.submit() {
            die(
                "io_uring_enter()",
                Errno::from_raw(e.raw_os_error().unwrap_or(0)),
            );
        }
    }
}

// ANCHOR: entries
/// "Accept connections on the listener, until told otherwise": one
/// completion per connection, its result the new descriptor.
fn accept_entry(listen_socket: &OwnedFd) -> squeue::Entry {
    let listener = types::Fd(listen_socket.as_raw_fd());
    opcode::AcceptMulti::new(listener)
        .flags(libc::SOCK_CLOEXEC)
        .build()
        .user_data(ACCEPT)
}

/// "Receive on this connection, into buffers of the ring, until told
/// otherwise": one completion per arrival, its result the byte count.
fn recv_entry(fd: RawFd) -> squeue::Entry {
    opcode::RecvMulti::new(types::Fd(fd), BUFFER_GROUP)
        .build()
        .user_data(fd as u64)
}

/// "Send these pending bytes": the result is how many were sent.
fn send_entry(connection: &Connection) -> squeue::Entry {
    let pending = connection.session.pending();
    let fd = connection.socket.as_raw_fd();
    opcode::Send::new(types::Fd(fd), pending.as_ptr(), pending.len() as u32)
        .build()
        .user_data(fd as u64 | SEND)
}

/// "Cancel the operation whose user_data is this."
fn cancel_entry(user_data: u64) -> squeue::Entry {
    opcode::AsyncCancel::new(user_data)
        .build()
        .user_data(CANCEL)
}
// ANCHOR_END: entries

// ANCHOR: accepted
/// An accept completed: the new connection's socket, or the failure sorted
/// as 4e does.
fn accepted(result: i32, out_of_fds: &mut Throttle) -> Result<OwnedFd, AcceptFailure> {
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
            AcceptFailure::Fatal if errno == Errno::EINVAL => {
                let why = missing_feature(errno, "multishot accept", (5, 19));
                die_msg(format!("multishot accept failed: {why}"))
            }
            AcceptFailure::Fatal => die("accept", errno),
        }
        return Err(failure);
    }
    // SAFETY: the completion of an accept carries a new descriptor that
    // nothing else in this process owns.
    Ok(unsafe { OwnedFd::from_raw_fd(result) })
}
// ANCHOR_END: accepted

// ANCHOR: completed
/// A completion of `connection`'s multishot receive: feed the session the
/// bytes in the buffer the kernel chose, and give the buffer back.
fn received(
    connection: &mut Connection,
    result: i32,
    flags: u32,
    buffers: &mut BufferRing,
    respond: &dyn Fn(&Request) -> Response,
) {
    if !cqueue::more(flags) {
        connection.receive = Receive::Off; // its last completion
    }
    let session = &mut connection.session;
    if result > 0 {
        let Some(id) = cqueue::buffer_select(flags) else {
            unreachable!("a receive with bytes names the buffer they are in")
        };
        // SAFETY: this completion hands buffer `id` over; the kernel writes
        // no more into it until it is given back, below.
        let bytes = unsafe { buffers.filled(id, result as usize) };
        if connection.sending {
            session.hold(bytes); // answered when the send completes
        } else {
            session.receive(bytes, respond);
        }
        buffers.give_back(id);
        return;
    }
    match result {
        // The client closed its side. While a send is in flight, requests
        // it sent before may still be held: the receive, submitted again
        // once they are answered, finds the end again at once.
        0 if connection.sending => {}
        0 => session.peer_closed(),
        _ => match Errno::from_raw(-result) {
            // The ring ran out of buffers: this receive ended, and
            // next_operations submits it again (they are back by then).
            Errno::ENOBUFS | Errno::ECANCELED => {}
            Errno::EINVAL => {
                let why = missing_feature(Errno::EINVAL, "multishot receive", (6, 0));
                die_msg(format!("multishot receive failed: {why}"))
            }
            errno => {
                // The client is gone. Only a failure other than a disconnect
                // (ECONNRESET, EPIPE, ...) is worth a line on stderr.
                warn_unless_disconnect("serving a connection", errno);
                connection.closing = true;
            }
        },
    }
}

/// A send of `connection` completed: the session's output may change
/// again, so answer what arrived meanwhile.
fn sent(connection: &mut Connection, result: i32, respond: &dyn Fn(&Request) -> Response) {
    connection.sending = false;
    if result < 0 {
        match Errno::from_raw(-result) {
            Errno::EINTR | Errno::EAGAIN => {} // send the same again
            Errno::ECANCELED => connection.closing = true, // closed for idling
            errno => {
                warn_unless_disconnect("serving a connection", errno);
                connection.closing = true;
            }
        }
        return;
    }
    connection.session.wrote(result as usize);
    connection.session.answer(respond); // requests that arrived or waited
}

/// Submit what connection `fd` needs next: a send of its pending answers;
/// its receive again, or cancelled while it should not read; a close.
/// Returns false when the connection is gone (dropped: its socket closed).
fn next_operations(
    ring: &mut IoUring,
    connections: &mut HashMap<RawFd, Connection>,
    fd: RawFd,
) -> bool {
    let Some(connection) = connections.get_mut(&fd) else {
        return false;
    };
    let session = &connection.session;
    if !connection.closing && !connection.sending && session.wants_write() {
        connection.sending = true;
        queue(ring, send_entry(connection));
    }
    let session = &connection.session;
    connection.closing |= session.is_finished();
    let should_read =
        !connection.closing && session.wants_read() && session.unanswered() < MAX_UNANSWERED;
    match connection.receive {
        Receive::Off if should_read => {
            connection.receive = Receive::Armed;
            queue(ring, recv_entry(fd));
        }
        Receive::Armed if !should_read => {
            connection.receive = Receive::Cancelled;
            queue(ring, cancel_entry(fd as u64));
        }
        _ => {}
    }
    if connection.closing && connection.sending {
        queue(ring, cancel_entry(fd as u64 | SEND)); // a client that stopped reading
    }
    if connection.closing && connection.receive == Receive::Off && !connection.sending {
        connections.remove(&fd); // close(2)
        return false;
    }
    true
}
// ANCHOR_END: completed
