//! # webserver4e — one thread, epoll, non-blocking sockets
//!
//! **What it shows.** One thread serves every connection at once, and sleeps
//! when none of them has anything to say. The kernel keeps the list of
//! sockets we care about (`epoll_create1(2)`, `epoll_ctl(2)`) and
//! `epoll_wait(2)` blocks until at least one of them is ready, then names
//! exactly those: no polling every socket in turn, no CPU burnt while idle,
//! and the cost of a wake-up does not grow with the number of idle
//! connections.
//!
//! Every socket is non-blocking, so `accept4(2)`, `read(2)` and `write(2)`
//! never put the thread to sleep: when there is nothing to do they fail with
//! `EAGAIN` and the loop goes back to `epoll_wait`. A connection is
//! registered for `EPOLLIN` ("a request arrived"); when a response does not
//! fit in the socket's send buffer, `write` takes only part of it, and the
//! connection switches to `EPOLLOUT` ("there is room to write again") until
//! the rest is out. Connections are kept alive between requests; the shared
//! [`Session`] parses requests, pipelined or split across reads.
//!
//! The registrations are *level-triggered*, as in the classic tutorials:
//! epoll reports a socket for as long as it is ready. So reading once per
//! wake-up is enough — if bytes remain, the next `epoll_wait` reports the
//! socket again.
//!
//! **See it.** `cargo run --bin webserver4e`, open <http://127.0.0.1:8888/>,
//! then `ls /proc/$(pgrep -x webserver4e)/task` (one thread, whatever the
//! number of clients) and `cat /proc/$(pgrep -x webserver4e)/fdinfo/4`
//! (epoll's interest list: one `tfd:` line per registered socket). `top`
//! shows 0% CPU while no client talks.
//!
//! **Its weak spot.** Level-triggered readiness has a dark side: when
//! `accept4` fails with `EMFILE` (no descriptor left), the connection stays
//! queued, the listener stays "readable", and `epoll_wait` returns at once,
//! forever: try it under `ulimit -n 64` with 100 clients and watch `top`.
//! And there is no idle timeout: a client that connects and says nothing
//! holds its descriptor for as long as it likes.
//!
//! **Next.** `webserver4f` keeps the simple blocking style of one task per
//! connection, with coroutines that cost kilobytes instead of threads;
//! `webserver4g` is the production form of this loop (mio): edge-triggered,
//! idle timeouts, and an accept loop that pauses on `EMFILE`.

use clap::Parser;
use lsbaws::cli::{ServerArgs, SiteArgs};
use lsbaws::http::{Limits, Request, Response, Session};
use lsbaws::net::{accept_failure, AcceptFailure};
use lsbaws::report::{die, explain, warn, warn_unless_disconnect, OrDie, Throttle};
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::sys::epoll::{Epoll, EpollCreateFlags, EpollEvent, EpollFlags, EpollTimeout};
use nix::sys::socket::{accept4, SockFlag};
use nix::unistd::{read, write};
use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// Length of the listen queue.
const REQUEST_QUEUE_SIZE: i32 = 1024;
/// One read buffer, shared by every connection (read(2) copies into it and
/// the session keeps only what it needs).
const READ_BUFFER: usize = 16 * 1024;
/// How many ready sockets one `epoll_wait` may report.
const MAX_EVENTS: usize = 1024;

/// Part 4, model e: a single-threaded epoll server.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    site: SiteArgs,
}

/// One open connection: its socket, the requests and responses in flight
/// on it, and what epoll watches it for.
struct Connection {
    socket: OwnedFd,
    session: Session,
    interest: EpollFlags,
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
    // to the hard one so that thousands of clients fit.
    lsbaws::net::raise_fd_limit();
    let listen_socket = lsbaws::net::listen_without_banner(&args.server, REQUEST_QUEUE_SIZE);
    // Still non-blocking: epoll may report a connection that the client has
    // reset by the time we call accept4(), which must not wait then.
    set_nonblocking(&listen_socket);

    // epoll_create1(2): a kernel object holding the interest list.
    let epoll = Epoll::new(EpollCreateFlags::EPOLL_CLOEXEC).or_die("epoll_create1()");
    // epoll_ctl(EPOLL_CTL_ADD): report the listener when a connection waits.
    // The u64 of data comes back with each event: we store the descriptor.
    let listen_fd = listen_socket.as_raw_fd();
    let listen_event = EpollEvent::new(EpollFlags::EPOLLIN, listen_fd as u64);
    epoll
        .add(&listen_socket, listen_event)
        .or_die("epoll_ctl(EPOLL_CTL_ADD, listener)");
    // Ready: say so (tests and students wait for this line).
    lsbaws::net::print_banner(lsbaws::net::local_port(&listen_socket));

    let respond = |request: &Request| site.respond_and_log(request, args.server.quiet);
    let mut connections: HashMap<RawFd, Connection> = HashMap::new();
    let mut events = vec![EpollEvent::empty(); MAX_EVENTS];
    let mut buf = vec![0u8; READ_BUFFER];
    // One line on stderr at most every 10 s while descriptors run out.
    let mut out_of_fds = Throttle::every_ten_seconds();
    loop {
        // epoll_wait(2): sleep until some registered socket is ready. No
        // timeout: with nothing to do, this process uses no CPU at all.
        let ready = match epoll.wait(&mut events, EpollTimeout::NONE) {
            Ok(ready) => ready,
            Err(Errno::EINTR) => continue, // a signal (a debugger, say)
            Err(errno) => die("epoll_wait()", errno),
        };
        for event in &events[..ready] {
            let fd = event.data() as RawFd;
            if fd == listen_fd {
                accept_all(&listen_socket, &epoll, &mut connections, &mut out_of_fds);
            } else if let Some(connection) = connections.get_mut(&fd) {
                // Ready to read, or to write the rest (or hung up, or in
                // error: the read or write then says so).
                if take_turn(connection, &mut buf, &respond) {
                    watch_for_what_comes_next(&epoll, connection);
                } else {
                    // epoll_ctl(EPOLL_CTL_DEL), then close(2) when the
                    // OwnedFd drops. (Closing alone would also remove it:
                    // epoll forgets a socket whose last descriptor closes.)
                    let _ = epoll.delete(&connection.socket);
                    connections.remove(&fd);
                }
            }
        }
    }
}
// ANCHOR_END: main

// ANCHOR: accept
/// Accept every queued connection, make it non-blocking and register it.
fn accept_all(
    listen_socket: &OwnedFd,
    epoll: &Epoll,
    connections: &mut HashMap<RawFd, Connection>,
    out_of_fds: &mut Throttle,
) {
    loop {
        // accept4(2) sets O_NONBLOCK on the new socket in the same call.
        let flags = SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC;
        let socket = match accept4(listen_socket, flags) {
            Ok(socket) => socket,
            Err(Errno::EAGAIN) => return, // the queue is empty
            Err(errno) => match accept_failure(errno) {
                // That client already left (ECONNABORTED, EPROTO, ...), or a
                // signal came (EINTR): accept the next one.
                AcceptFailure::ConnectionGone => continue,
                AcceptFailure::OutOfResources => {
                    // The connection stays queued and the listener stays
                    // ready, so (level-triggered) the next epoll_wait returns
                    // at once with this same event: a busy loop until a
                    // descriptor frees.
                    if out_of_fds.allow() {
                        let why = explain(errno);
                        warn(
                            "accept4()",
                            format!(
                                "{why}; the connection stays queued, \
                                 so epoll_wait() reports the listener again at once"
                            ),
                        );
                    }
                    return;
                }
                AcceptFailure::Fatal => die("accept4()", errno),
            },
        };
        let fd = socket.as_raw_fd();
        // epoll_ctl(EPOLL_CTL_ADD): tell us when this client sends something.
        let interest = EpollFlags::EPOLLIN;
        if let Err(errno) = epoll.add(&socket, EpollEvent::new(interest, fd as u64)) {
            // ENOMEM or ENOSPC (fs.epoll.max_user_watches): drop this client.
            warn("epoll_ctl(EPOLL_CTL_ADD)", errno);
            continue;
        }
        let session = Session::new(Limits::default());
        connections.insert(
            fd,
            Connection {
                socket,
                session,
                interest,
            },
        );
    }
}
// ANCHOR_END: accept

// ANCHOR: turn
/// Read what has arrived, write what we can. Returns false once the
/// connection is finished and should be closed. (`webserver4d`'s, unchanged:
/// only who calls it, and when, is new.)
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
            Err(Errno::EAGAIN) => {} // nothing has arrived after all
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
            Err(Errno::EAGAIN) => break, // send buffer full: wait for EPOLLOUT
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

// ANCHOR: interest
/// While a response is partly written, wait for room to write (EPOLLOUT)
/// and read nothing new; once it is out, wait for the next request (EPOLLIN).
fn watch_for_what_comes_next(epoll: &Epoll, connection: &mut Connection) {
    let wanted = if connection.session.wants_write() {
        EpollFlags::EPOLLOUT
    } else {
        EpollFlags::EPOLLIN
    };
    if wanted != connection.interest {
        // epoll_ctl(EPOLL_CTL_MOD): change what this socket is watched for.
        let mut event = EpollEvent::new(wanted, connection.socket.as_raw_fd() as u64);
        epoll
            .modify(&connection.socket, &mut event)
            .or_die("epoll_ctl(EPOLL_CTL_MOD)");
        connection.interest = wanted;
    }
}
// ANCHOR_END: interest
