//! # A wrong fix for exercise 4e: an epoll descriptor, and a nap
//!
//! The starter with an epoll instance created (so `/proc/PID/fd` shows an
//! `anon_inode:[eventpoll]`) but never waited on, and a 1 ms sleep at the end
//! of each round of the busy loop. Its CPU use drops to a few percent, but it
//! still asks every connection a thousand times a second instead of sleeping
//! until one is ready. `cargo lab check 4e` must fail it (`asleep-in-epoll`);
//! `lab/tests/wrong_fixes.rs` proves that it does.

use clap::Parser;
use lsbaws::cli::{ServerArgs, SiteArgs};
use lsbaws::http::{Limits, Request, Response, Session};
use lsbaws::report::{warn_unless_disconnect, OrDie};
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::socket::accept;
use nix::unistd::{read, write};
use std::os::fd::OwnedFd;

/// Length of the listen queue.
const REQUEST_QUEUE_SIZE: i32 = 1024;
/// One read buffer, shared by every connection (read(2) copies into it and
/// the session keeps only what it needs).
const READ_BUFFER: usize = 16 * 1024;

// ANCHOR: args
/// Part 4, model d: the busy loop with keep-alive.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    site: SiteArgs,
    /// Leave out the Content-Length header, to see a keep-alive client wait
    /// for the end of a body forever.
    #[arg(long)]
    no_content_length: bool,
}
// ANCHOR_END: args

/// One open connection: its socket, and the requests and responses in
/// flight on it.
struct Connection {
    socket: OwnedFd,
    session: Session,
}

// ANCHOR: nonblocking
/// Switch a socket to non-blocking mode: from now on a call that would have
/// to wait fails with EAGAIN instead.
fn set_nonblocking(socket: &OwnedFd) {
    let flags = fcntl(socket, FcntlArg::F_GETFL).or_die("fcntl(F_GETFL)");
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(socket, FcntlArg::F_SETFL(flags)).or_die("fcntl(F_SETFL, O_NONBLOCK)");
}
// ANCHOR_END: nonblocking

// ANCHOR: main
fn main() {
    let args = Args::parse();
    let site = args.site.open();
    let listen_socket = lsbaws::net::listen(&args.server, REQUEST_QUEUE_SIZE);
    set_nonblocking(&listen_socket);
    // ANCHOR: respond
    let respond = |request: &Request| {
        let mut response = site.respond_and_log(request, args.server.quiet);
        // The connection stays open: only Content-Length says where the body ends.
        response.content_length = !args.no_content_length;
        response
    };
    // ANCHOR_END: respond

    // Shows in /proc/PID/fd; nothing ever waits on it.
    let _epoll = nix::sys::epoll::Epoll::new(nix::sys::epoll::EpollCreateFlags::EPOLL_CLOEXEC)
        .or_die("epoll_create1()");
    let mut connections: Vec<Connection> = Vec::new();
    let mut buf = vec![0u8; READ_BUFFER];
    // ANCHOR: loop
    loop {
        // Anyone new? accept() does not wait for a client any more.
        match accept(&listen_socket) {
            Ok(socket) => {
                set_nonblocking(&socket);
                let session = Session::new(Limits::default()); // keep-alive
                connections.push(Connection { socket, session });
            }
            Err(Errno::EAGAIN) => {} // nobody in the listen queue: go on
            Err(errno) => lsbaws::net::survive_accept_error(errno),
        }
        // Ask every connection in turn, whether or not it is ready, and
        // drop (close) the ones that are finished. Then straight round again.
        connections.retain_mut(|connection| take_turn(connection, &mut buf, &respond));
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    // ANCHOR_END: loop
}
// ANCHOR_END: main

// ANCHOR: turn
/// Read what has arrived, write what we can. Returns false once the
/// connection is finished and should be closed.
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
            Err(Errno::EAGAIN) => {} // nothing has arrived: ask again next turn
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
            Err(Errno::EAGAIN) => break, // send buffer full: the rest next turn
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
