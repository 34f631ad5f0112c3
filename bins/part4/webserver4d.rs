//! # webserver4d — the busy loop with keep-alive and Content-Length
//!
//! **What it shows.** `webserver4c` with persistent connections. A browser
//! asks for a page, then its stylesheet and images; opening a new TCP
//! connection for each (a round trip for the handshake, a slow start) is
//! waste, so HTTP/1.1 keeps the connection open after a response
//! (keep-alive) and sends the next request on it.
//!
//! That changes how the client finds the end of a body. In 4c the server
//! closed the connection after each response, and the close marked the end.
//! With keep-alive nothing is closed, so every response must say how long
//! its body is: `Content-Length`. Without it the client has received the
//! whole body and cannot know it: it keeps waiting for more that never
//! comes (the browser's spinner keeps turning, curl hangs until
//! `--max-time`). `--no-content-length` drops the header to show exactly
//! that.
//!
//! The loop is 4c's, unchanged, so it still burns a core while idle.
//!
//! **See it.** `cargo run --bin webserver4d`, then
//! `curl -v localhost:8888/hello.txt localhost:8888/hello.txt`: the second
//! request says `Re-using existing connection`. Restart with
//! `--no-content-length` and run `curl -v --max-time 3 localhost:8888/hello.txt`:
//! the body arrives, then curl waits until it gives up.
//!
//! **Next.** `webserver4e` stops asking connections that are not ready:
//! `epoll(7)` sleeps until the kernel says which sockets are.

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
