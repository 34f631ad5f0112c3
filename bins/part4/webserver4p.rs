//! # webserver4p — one thread, poll(2): no FD_SETSIZE
//!
//! **What it shows.** `webserver4s`'s loop with `poll(2)` in place of
//! `select(2)`. Instead of two bitmaps of 1024 bits, we hand the kernel an
//! array of `struct pollfd` — a descriptor number, the events we want
//! (`POLLIN`: something to read; `POLLOUT`: room to write) and a field the
//! kernel fills with the events that happened (`revents`). The array is as
//! long as we like, so a descriptor numbered 1024 or 40,000 is watched like
//! any other: the FD_SETSIZE limit is gone, and the 1100 connections that
//! 4s turned away past descriptor 1023 are all served.
//!
//! **What stays.** Every call still copies the whole array into the kernel,
//! which checks every descriptor in it (and hooks the thread onto each
//! socket's wait queue, and off again), and copies it back; then we scan it
//! all to find the few that are ready. With 10,000 idle connections and one
//! busy one, each wake-up costs 10,000 entries' worth of work. That cost
//! grows with the number of connections watched, not with the number ready.
//!
//! **See it.** `cargo run --bin webserver4p` under `ulimit -n 4096`, then
//! `cargo run --bin client3 -- --max-conns 1100 --hold 5`: every connection
//! gets its answer, and `ls /proc/$(pgrep -x webserver4p)/fd | sort -n |
//! tail -3` shows descriptors past 1023. `strace -c -p $(pgrep -x
//! webserver4p)` counts the poll() calls.
//!
//! **Next.** `webserver4e` keeps the list of watched sockets in the kernel
//! (epoll): registered once, and each wake-up names only the ready ones.

use clap::Parser;
use lsbaws::cli::{ServerArgs, SiteArgs};
use lsbaws::http::{Limits, Request, Response, Session};
use lsbaws::report::{die, warn_unless_disconnect, OrDie};
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::accept;
use nix::unistd::{read, write};
use std::os::fd::{AsFd, OwnedFd};

/// Length of the listen queue.
const REQUEST_QUEUE_SIZE: i32 = 1024;
/// One read buffer, shared by every connection (read(2) copies into it and
/// the session keeps only what it needs).
const READ_BUFFER: usize = 16 * 1024;

// ANCHOR: args
/// Part 4, step p: one thread, poll(2).
#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    site: SiteArgs,
}
// ANCHOR_END: args

/// One open connection: its socket, and the requests and responses in
/// flight on it.
struct Connection {
    socket: OwnedFd,
    session: Session,
}

/// Switch a socket to non-blocking mode: from now on a call that would have
/// to wait fails with EAGAIN instead.
fn set_nonblocking(socket: &OwnedFd) {
    let flags = fcntl(socket, FcntlArg::F_GETFL).or_die("fcntl(F_GETFL)");
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(socket, FcntlArg::F_SETFL(flags)).or_die("fcntl(F_SETFL, O_NONBLOCK)");
}

// ANCHOR: main
fn main() {
    let args = Args::parse();
    let site = args.site.open();
    // Each connection holds a descriptor: lift the soft limit (often 1024)
    // to the hard one, so that thousands of clients fit.
    lsbaws::net::raise_fd_limit();
    let listen_socket = lsbaws::net::listen(&args.server, REQUEST_QUEUE_SIZE);
    set_nonblocking(&listen_socket);
    let respond = |request: &Request| site.respond_and_log(request, args.server.quiet);

    let mut connections: Vec<Connection> = Vec::new();
    let mut buf = vec![0u8; READ_BUFFER];
    // ANCHOR: loop
    loop {
        // ANCHOR: sets
        // The array is rebuilt every turn from what each connection wants:
        // one pollfd per socket, the listener first.
        let mut fds = Vec::with_capacity(1 + connections.len());
        fds.push(PollFd::new(listen_socket.as_fd(), PollFlags::POLLIN));
        for connection in &connections {
            let mut events = PollFlags::empty();
            if connection.session.wants_read() {
                events |= PollFlags::POLLIN;
            }
            if connection.session.wants_write() {
                events |= PollFlags::POLLOUT;
            }
            fds.push(PollFd::new(connection.socket.as_fd(), events));
        }
        // poll(2): sleep until one of them is ready; no timeout, so an idle
        // server sleeps here for good. The kernel writes each revents.
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(Errno::EINTR) => continue, // a signal (a debugger, say)
            Err(errno) => die("poll()", errno),
        }
        // Finding the ready ones means reading every entry's revents.
        // (POLLHUP and POLLERR come even unasked: the read or write then
        // says what happened.)
        let ready: Vec<bool> = fds
            .iter()
            .map(|fd| fd.revents().is_some_and(|revents| !revents.is_empty()))
            .collect();
        let listener_ready = ready[0];
        // ANCHOR_END: sets
        let mut ready = ready.into_iter().skip(1);
        connections.retain_mut(|connection| {
            !ready.next().unwrap_or(false) || take_turn(connection, &mut buf, &respond)
        });
        if listener_ready {
            accept_all(&listen_socket, &mut connections);
        }
    }
    // ANCHOR_END: loop
}
// ANCHOR_END: main

// ANCHOR: accept
/// Accept every queued connection: any descriptor number will do.
fn accept_all(listen_socket: &OwnedFd, connections: &mut Vec<Connection>) {
    loop {
        let socket = match accept(listen_socket) {
            Ok(socket) => socket,
            Err(Errno::EAGAIN) => return, // the listen queue is empty
            Err(errno) => {
                lsbaws::net::survive_accept_error(errno);
                return;
            }
        };
        set_nonblocking(&socket);
        let session = Session::new(Limits::default()); // keep-alive
        connections.push(Connection { socket, session });
    }
}
// ANCHOR_END: accept

// ANCHOR: turn
/// Read what has arrived, write what we can. Returns false once the
/// connection is finished and should be closed. (`webserver4s`'s, unchanged.)
fn take_turn(
    connection: &mut Connection,
    buf: &mut [u8],
    respond: &dyn Fn(&Request) -> Response,
) -> bool {
    let (socket, session) = (&connection.socket, &mut connection.session);
    // No reading past the last request, or while the client leaves many
    // answers unread (see Session::wants_read).
    if session.wants_read() {
        match read(socket, buf) {
            Ok(0) => session.peer_closed(), // the client closed its side
            Ok(n) => session.receive(&buf[..n], respond),
            Err(Errno::EAGAIN) => {} // ready for writing only, say
            Err(Errno::EINTR) => {}
            Err(errno) => {
                // The client is gone. Only a failure other than a disconnect
                // (ECONNRESET, EPIPE, ...) is worth a line on stderr.
                warn_unless_disconnect("serving a connection", errno);
                return false;
            }
        }
    }
    while session.wants_write() {
        // write() copies what fits into the socket's send buffer and returns
        // how much that was: maybe less than all of it (a partial write).
        match write(socket, session.pending()) {
            Ok(n) => {
                session.wrote(n);
                session.answer(respond); // requests that waited for room
            }
            Err(Errno::EAGAIN) => break, // send buffer full: poll() says when
            Err(Errno::EINTR) => {}
            Err(errno) => {
                warn_unless_disconnect("serving a connection", errno);
                return false;
            }
        }
    }
    !session.is_finished()
}
// ANCHOR_END: turn
