//! # A wrong fix for exercise 4p: try the ones select cannot watch, every turn
//!
//! The starter without its refusal: a connection on a descriptor numbered
//! FD_SETSIZE (1024) or above is kept and, since select() cannot watch it,
//! read and written every turn, with select() given a zero timeout so that
//! the turns keep coming. Every client is answered — by a busy loop: the
//! thread never sleeps again, even with nobody connected, and burns a core,
//! which is what 4c did and select was brought in to stop. `cargo lab check
//! 4p` must fail it (`idle-cpu`); `lab/tests/wrong_fixes.rs` proves that it
//! does.

use clap::Parser;
use lsbaws::cli::{ServerArgs, SiteArgs};
use lsbaws::http::{Limits, Request, Response, Session};
use lsbaws::report::{die, warn_unless_disconnect, OrDie, Throttle};
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::select::{select, FdSet, FD_SETSIZE};
use nix::sys::socket::accept;
use nix::unistd::{read, write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

/// Length of the listen queue.
const REQUEST_QUEUE_SIZE: i32 = 1024;
/// One read buffer, shared by every connection (read(2) copies into it and
/// the session keeps only what it needs).
const READ_BUFFER: usize = 16 * 1024;

// ANCHOR: args
/// Part 4, step s: one thread, select(2).
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
    // to the hard one, so that running out shows select's own limit,
    // FD_SETSIZE, and not the process's.
    lsbaws::net::raise_fd_limit();
    let listen_socket = lsbaws::net::listen(&args.server, REQUEST_QUEUE_SIZE);
    set_nonblocking(&listen_socket);
    let respond = |request: &Request| site.respond_and_log(request, args.server.quiet);

    let mut connections: Vec<Connection> = Vec::new();
    let mut buf = vec![0u8; READ_BUFFER];
    // One line on stderr at most every 10 s while descriptors past
    // FD_SETSIZE are turned away.
    let mut past_fd_setsize = Throttle::every_ten_seconds();
    // ANCHOR: loop
    loop {
        // ANCHOR: sets
        // The sets are rebuilt from scratch every turn: select() overwrites
        // them with its answer.
        let mut want_read = FdSet::new();
        let mut want_write = FdSet::new();
        want_read.insert(listen_socket.as_fd()); // a connection is waiting
        for connection in &connections {
            // select() cannot take those past FD_SETSIZE: tried every turn.
            if connection.socket.as_raw_fd() as usize >= FD_SETSIZE {
                continue;
            }
            if connection.session.wants_read() {
                want_read.insert(connection.socket.as_fd());
            }
            if connection.session.wants_write() {
                want_write.insert(connection.socket.as_fd());
            }
        }
        // select(2): sleep until one of them is ready. nfds (None: nix
        // passes the highest descriptor + 1) tells the kernel how far to
        // scan; no timeout, so an idle server sleeps here for good.
        match select(None, &mut want_read, &mut want_write, None, &mut nix::sys::time::TimeVal::new(0, 0)) {
            Ok(_) => {}
            Err(Errno::EINTR) => continue, // a signal (a debugger, say)
            Err(errno) => die("select()", errno),
        }
        // The sets now hold only the ready descriptors. Finding them means
        // asking about every connection again.
        let listener_ready = want_read.contains(listen_socket.as_fd());
        let ready: Vec<bool> = connections
            .iter()
            .map(|c| c.socket.as_raw_fd() as usize >= FD_SETSIZE || want_read.contains(c.socket.as_fd()) || want_write.contains(c.socket.as_fd()))
            .collect();
        // ANCHOR_END: sets
        let mut ready = ready.into_iter();
        connections.retain_mut(|connection| {
            !ready.next().unwrap_or(false) || take_turn(connection, &mut buf, &respond)
        });
        if listener_ready {
            accept_all(&listen_socket, &mut connections, &mut past_fd_setsize);
        }
    }
    // ANCHOR_END: loop
}
// ANCHOR_END: main

// ANCHOR: accept
/// Accept every queued connection. One whose descriptor is FD_SETSIZE or
/// above can never go in an fd_set: close it and say why.
fn accept_all(
    listen_socket: &OwnedFd,
    connections: &mut Vec<Connection>,
    _past_fd_setsize: &mut Throttle,
) {
    loop {
        let socket = match accept(listen_socket) {
            Ok(socket) => socket,
            Err(Errno::EAGAIN) => return, // the listen queue is empty
            Err(errno) => {
                lsbaws::net::survive_accept_error(errno);
                return;
            }
        };
        // Keep every connection, whatever its number: no more refusals.
        set_nonblocking(&socket);
        let session = Session::new(Limits::default()); // keep-alive
        connections.push(Connection { socket, session });
    }
}
// ANCHOR_END: accept

// ANCHOR: turn
/// Read what has arrived, write what we can. Returns false once the
/// connection is finished and should be closed. (`webserver4d`'s: only who
/// calls it, and when, is new.)
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
            Err(Errno::EAGAIN) => break, // send buffer full: select() says when
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
