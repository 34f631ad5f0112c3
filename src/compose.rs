//! Servers built from parts, in the spirit of Python's `socketserver`.
//!
//! Python assembles a server from three independent choices:
//!
//! * how requests arrive — `TCPServer` (a request is a connection) or
//!   `UDPServer` (a request is one datagram);
//! * where each request runs — inline, `ForkingMixIn` (a child process) or
//!   `ThreadingMixIn` (a thread): the mixin overrides `process_request`;
//! * what is done with it — a `StreamRequestHandler` or a
//!   `DatagramRequestHandler`, which both give the handler an `rfile` to read
//!   the request from and a `wfile` to write the reply to.
//!
//! `class ThreadingTCPServer(ThreadingMixIn, TCPServer)` picks two of them by
//! inheritance. Here the same choices are type parameters of one [`Server`]:
//!
//! ```no_run
//! use lsbaws::compose::{Forking, Handler, Request, Server, Tcp};
//! use std::io::{self, BufRead, Write};
//!
//! struct Upper;
//! impl Handler for Upper {
//!     fn handle(&self, request: &mut Request<'_>) -> io::Result<()> {
//!         let mut line = String::new();
//!         request.rfile.read_line(&mut line)?;
//!         request.wfile.write_all(line.to_uppercase().as_bytes())
//!     }
//! }
//!
//! let addr = "127.0.0.1:9999".parse().unwrap();
//! let server: Server<Tcp, Forking, Upper> =
//!     Server::bind(addr, 5, Forking::default(), Upper).unwrap();
//! server.serve_forever();
//! ```
//!
//! A handler sees only `rfile`, `wfile` and the client's address, so one
//! handler serves over TCP and UDP alike (`echo-composed` serves one echo
//! handler four ways). The transport turns a connection or a datagram into
//! that pair ([`Transport::finish_request`]); the concurrency strategy
//! decides where that call runs ([`Concurrency::process_request`]).

use crate::report::{explain, warn, warn_msg, warn_unless_disconnect};
use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags};
use nix::sys::socket::{self, AddressFamily, SockFlag, SockType, SockaddrStorage};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use std::collections::HashSet;
use std::io::{self, BufRead, BufReader, Cursor, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

// ANCHOR: parts
/// One request as a handler sees it, whatever the transport.
pub struct Request<'a> {
    /// The request's bytes: the connection's incoming stream (TCP) or the
    /// datagram's payload (UDP).
    pub rfile: &'a mut dyn BufRead,
    /// Where the reply goes: straight onto the connection (TCP), or into a
    /// buffer sent back as one datagram when the handler returns (UDP).
    pub wfile: &'a mut dyn Write,
    /// Who sent the request.
    pub client_address: SocketAddr,
}

/// A request reads like its `rfile` and writes like its `wfile`, so code
/// written for a socket (an HTTP session, say) runs on it unchanged.
impl io::Read for Request<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.rfile.read(buf)
    }
}

impl Write for Request<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.wfile.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.wfile.flush()
    }
}

/// What the server does with each request (Python's `handle()`).
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, request: &mut Request<'_>) -> io::Result<()>;

    /// Python's `StreamRequestHandler.timeout`: a read on a connection that
    /// waits longer than this fails with `WouldBlock`, so an idle client
    /// cannot hold a process or thread forever. `None` waits forever.
    fn timeout(&self) -> Option<Duration> {
        None
    }
}

/// How requests arrive (Python's `TCPServer` / `UDPServer`).
pub trait Transport: Sized + Send + Sync + 'static {
    /// One request, owned, so it can be moved to a thread or a child.
    type Request: Send + 'static;

    /// `TCP` or `UDP`, for [`Server::describe`].
    const NAME: &'static str;

    /// Open the socket. On failure, which call failed and why.
    fn bind(addr: SocketAddr, backlog: i32) -> Result<Self, (&'static str, Errno)>;

    fn local_addr(&self) -> io::Result<SocketAddr>;

    /// The socket to wait on with `poll(2)`.
    fn socket(&self) -> BorrowedFd<'_>;

    /// Take the next request: `accept(2)` a connection or `recvfrom(2)` a
    /// datagram.
    fn get_request(&self) -> io::Result<Self::Request>;

    /// Set up `rfile`/`wfile` for one request, run the handler, and finish:
    /// shut the connection down, or send the reply datagram.
    fn finish_request<H: Handler>(request: Self::Request, handler: &H) -> io::Result<()>;
}

/// Where each request runs (Python's mixins override `process_request`).
pub trait Concurrency: Send + 'static {
    /// `inline`, `forking` or `threading`, for [`Server::describe`].
    const NAME: &'static str;

    /// Run one request, here or elsewhere. Dropping the request closes the
    /// server's copy of the connection.
    fn process_request<T: Transport, H: Handler>(&mut self, request: T::Request, handler: &Arc<H>);

    /// Python's `service_actions()`: called after every request and every
    /// poll interval, even when no request came.
    fn service_actions(&mut self) {}
}

// ANCHOR_END: parts

/// Python's `serve_forever` poll interval: how often the server wakes up
/// for [`Concurrency::service_actions`] when no request comes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// A server: a transport, a concurrency strategy and a handler.
pub struct Server<T: Transport, C: Concurrency, H: Handler> {
    transport: T,
    concurrency: C,
    handler: Arc<H>,
}

pub type TcpServer<H> = Server<Tcp, Inline, H>;
pub type UdpServer<H> = Server<Udp, Inline, H>;
pub type ForkingTcpServer<H> = Server<Tcp, Forking, H>;
pub type ForkingUdpServer<H> = Server<Udp, Forking, H>;
pub type ThreadingTcpServer<H> = Server<Tcp, Threading, H>;
pub type ThreadingUdpServer<H> = Server<Udp, Threading, H>;

impl<T: Transport, C: Concurrency, H: Handler> Server<T, C, H> {
    /// Bind `addr` (a listen queue of `backlog` for TCP).
    pub fn bind(
        addr: SocketAddr,
        backlog: i32,
        concurrency: C,
        handler: H,
    ) -> Result<Self, (&'static str, Errno)> {
        let transport = T::bind(addr, backlog)?;
        Ok(Server {
            transport,
            concurrency,
            handler: Arc::new(handler),
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.transport.local_addr()
    }

    /// `TCP server, forking`: how this server is composed.
    pub fn describe(&self) -> String {
        format!("{} server, {}", T::NAME, C::NAME)
    }

    // ANCHOR: serve
    /// Serve until the process is killed: wait up to [`POLL_INTERVAL`] for a
    /// request, hand it to the concurrency strategy, run its service actions.
    pub fn serve_forever(mut self) -> ! {
        loop {
            let mut ready = [PollFd::new(self.transport.socket(), PollFlags::POLLIN)];
            match poll(&mut ready, POLL_INTERVAL.as_millis() as u16) {
                Ok(0) | Err(Errno::EINTR) => {}
                Ok(_) => self.handle_request(),
                Err(errno) => crate::report::die("poll()", errno),
            }
            self.concurrency.service_actions();
        }
    }

    /// Take one request and process it (Python's `_handle_request_noblock`).
    /// A failed accept or receive is reported and the server goes on.
    fn handle_request(&mut self) {
        match self.transport.get_request() {
            Ok(request) => self
                .concurrency
                .process_request::<T, H>(request, &self.handler),
            Err(err) => warn_unless_disconnect("taking a request", &err),
        }
    }
    // ANCHOR_END: serve
}

// ---- transports -------------------------------------------------------------

/// Requests are TCP connections (Python's `TCPServer` with a
/// `StreamRequestHandler`).
pub struct Tcp {
    listener: TcpListener,
}

impl Transport for Tcp {
    type Request = (TcpStream, SocketAddr);
    const NAME: &'static str = "TCP";

    fn bind(addr: SocketAddr, backlog: i32) -> Result<Tcp, (&'static str, Errno)> {
        let fd = crate::net::open_listener(addr, backlog)?;
        Ok(Tcp {
            listener: TcpListener::from(fd),
        })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    fn socket(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }

    fn get_request(&self) -> io::Result<(TcpStream, SocketAddr)> {
        self.listener.accept()
    }

    // ANCHOR: tcp_finish
    fn finish_request<H: Handler>(request: Self::Request, handler: &H) -> io::Result<()> {
        let (stream, client_address) = request;
        stream.set_read_timeout(handler.timeout())?;
        // rfile is buffered (line reads would otherwise cost a read(2) per
        // byte); wfile writes straight to the socket, as Python's does.
        let mut rfile = BufReader::new(&stream);
        let mut wfile = &stream;
        let handled = handler.handle(&mut Request {
            rfile: &mut rfile,
            wfile: &mut wfile,
            client_address,
        });
        // shutdown(SHUT_WR) sends the FIN now, even if another process (a
        // forking server's parent, say) still holds a copy of this socket.
        let _ = stream.shutdown(Shutdown::Write);
        handled
    }
    // ANCHOR_END: tcp_finish
}

/// Requests are datagrams (Python's `UDPServer` with a
/// `DatagramRequestHandler`).
pub struct Udp {
    socket: UdpSocket,
}

/// The largest UDP payload over IPv4 (65535 minus the IP and UDP headers):
/// no datagram is ever cut short.
pub const MAX_DATAGRAM: usize = 65_507;

impl Transport for Udp {
    /// The payload, who sent it, and a copy of the socket to reply with.
    type Request = (Vec<u8>, SocketAddr, UdpSocket);
    const NAME: &'static str = "UDP";

    fn bind(addr: SocketAddr, _backlog: i32) -> Result<Udp, (&'static str, Errno)> {
        let family = if addr.is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        };
        let fd = socket::socket(family, SockType::Datagram, SockFlag::empty(), None)
            .map_err(|e| ("socket()", e))?;
        socket::bind(fd.as_raw_fd(), &SockaddrStorage::from(addr)).map_err(|e| ("bind()", e))?;
        Ok(Udp {
            socket: UdpSocket::from(fd),
        })
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    fn socket(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }

    fn get_request(&self) -> io::Result<Self::Request> {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let (n, client) = self.socket.recv_from(&mut buf)?;
        buf.truncate(n);
        // dup(2): the request owns its own descriptor for the reply, so it
        // can move to a thread or a child like a TCP connection does.
        Ok((buf, client, self.socket.try_clone()?))
    }

    // ANCHOR: udp_finish
    fn finish_request<H: Handler>(request: Self::Request, handler: &H) -> io::Result<()> {
        let (payload, client_address, socket) = request;
        let mut rfile = Cursor::new(payload);
        let mut wfile = Vec::new();
        handler.handle(&mut Request {
            rfile: &mut rfile,
            wfile: &mut wfile,
            client_address,
        })?;
        // UDP has no connection to write to: what the handler wrote goes
        // back as one datagram (an empty one if it wrote nothing).
        socket.send_to(&wfile, client_address)?;
        Ok(())
    }
    // ANCHOR_END: udp_finish
}

// ---- concurrency strategies -------------------------------------------------

/// Each request runs to completion before the next is taken (plain
/// `TCPServer`): one slow client stalls everybody.
#[derive(Debug, Default)]
pub struct Inline;

impl Concurrency for Inline {
    const NAME: &'static str = "inline";

    fn process_request<T: Transport, H: Handler>(&mut self, request: T::Request, handler: &Arc<H>) {
        if let Err(err) = T::finish_request(request, &**handler) {
            warn_unless_disconnect("handling a request", &err);
        }
    }
}

/// Each request runs in a thread of its own (`ThreadingMixIn`), at most
/// `max_threads` at once if a limit is set.
#[derive(Debug, Default)]
pub struct Threading {
    slots: Option<Arc<Slots>>,
}

/// How many request threads run, and the most that may.
#[derive(Debug)]
struct Slots {
    max: usize,
    active: Mutex<usize>,
    freed: Condvar,
}

/// Held by a request thread; frees its slot when the thread ends.
struct Slot(Arc<Slots>);

impl Drop for Slot {
    fn drop(&mut self) {
        let mut active = self.0.active.lock().unwrap_or_else(|e| e.into_inner());
        *active -= 1;
        self.0.freed.notify_one();
    }
}

impl Threading {
    /// At most `max_threads` requests at once: past that the server waits
    /// for a thread to finish before it takes the next request, and new
    /// connections wait in the kernel's listen queue instead of costing a
    /// thread (and its stack) each.
    pub fn with_max_threads(max_threads: usize) -> Threading {
        let slots = Slots {
            max: max_threads.max(1),
            active: Mutex::new(0),
            freed: Condvar::new(),
        };
        Threading {
            slots: Some(Arc::new(slots)),
        }
    }

    /// Wait for a free slot, if there is a limit.
    fn acquire(&self) -> Option<Slot> {
        let slots = self.slots.as_ref()?;
        let mut active = slots.active.lock().unwrap_or_else(|e| e.into_inner());
        while *active >= slots.max {
            active = slots.freed.wait(active).unwrap_or_else(|e| e.into_inner());
        }
        *active += 1;
        Some(Slot(Arc::clone(slots)))
    }
}

impl Concurrency for Threading {
    const NAME: &'static str = "threading";

    fn process_request<T: Transport, H: Handler>(&mut self, request: T::Request, handler: &Arc<H>) {
        let handler = Arc::clone(handler);
        let slot = self.acquire();
        let spawned = std::thread::Builder::new().spawn(move || {
            let _slot = slot;
            if let Err(err) = T::finish_request(request, &*handler) {
                warn_unless_disconnect("handling a request", &err);
            }
        });
        // clone(2) fails with EAGAIN at the thread limit; the request and
        // the slot (moved into the closure) are dropped: the connection is
        // closed and the slot freed.
        if let Err(err) = spawned {
            warn(
                "starting a thread",
                format!("{err} — the request was dropped"),
            );
        }
    }
}

/// Each request runs in a child process (`ForkingMixIn`). The children are
/// reaped with `waitpid(WNOHANG)` from [`Concurrency::service_actions`], so
/// no signal handler is needed, and at most `max_children` run at once.
#[derive(Debug)]
pub struct Forking {
    active_children: HashSet<Pid>,
    max_children: usize,
}

impl Forking {
    /// At most `max_children` at once: past that, the server waits for one
    /// to exit before it forks again.
    pub fn with_max_children(max_children: usize) -> Forking {
        Forking {
            active_children: HashSet::new(),
            max_children: max_children.max(1),
        }
    }

    /// How many children are running (or exited and not yet reaped).
    pub fn active_children(&self) -> usize {
        self.active_children.len()
    }

    /// Python's `collect_children`: block while at the limit, then reap
    /// every child that has exited, without waiting for the others.
    fn collect_children(&mut self) {
        while self.active_children.len() >= self.max_children {
            self.reap(None);
        }
        while !self.active_children.is_empty() && self.reap(Some(WaitPidFlag::WNOHANG)) {}
    }

    /// One `waitpid(-1, flags)`. True if it reaped a child.
    fn reap(&mut self, flags: Option<WaitPidFlag>) -> bool {
        match waitpid(None, flags) {
            Ok(WaitStatus::StillAlive) | Err(Errno::EINTR) => false,
            Ok(status) => {
                if let Some(pid) = status.pid() {
                    self.active_children.remove(&pid);
                }
                // Unlike SIGCHLD = SIG_IGN, waitpid tells how a child ended.
                match status {
                    WaitStatus::Exited(pid, code) if code != 0 => {
                        warn_msg(format!("child {pid} exited with status {code}"))
                    }
                    WaitStatus::Signaled(pid, signal, _) => {
                        warn_msg(format!("child {pid} was killed by {signal}"))
                    }
                    _ => {}
                }
                true
            }
            Err(_) => {
                // ECHILD: no children at all, whatever our list says.
                self.active_children.clear();
                false
            }
        }
    }
}

impl Default for Forking {
    /// Python's `ForkingMixIn.max_children` is 40.
    fn default() -> Forking {
        Forking::with_max_children(40)
    }
}

// ANCHOR: forking
impl Concurrency for Forking {
    const NAME: &'static str = "forking";

    fn process_request<T: Transport, H: Handler>(&mut self, request: T::Request, handler: &Arc<H>) {
        // SAFETY: a forking server is single-threaded (it starts no threads),
        // so the child cannot inherit a lock held by another thread.
        match unsafe { fork() } {
            Ok(ForkResult::Child) => {
                let status = match T::finish_request(request, &**handler) {
                    Ok(()) => 0,
                    Err(err) => {
                        warn_unless_disconnect("handling a request", &err);
                        1
                    }
                };
                std::process::exit(status);
            }
            Ok(ForkResult::Parent { child }) => {
                self.active_children.insert(child);
                // The request drops here: the parent closes its copy of the
                // connection (the lesson of webserver3d).
            }
            Err(errno) => {
                let why = explain(errno);
                warn("fork()", format!("{why}; the request was dropped"));
            }
        }
    }

    fn service_actions(&mut self) {
        self.collect_children();
    }
}
// ANCHOR_END: forking
