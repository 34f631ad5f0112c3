//! The listening socket: `socket(2)`, `setsockopt(SO_REUSEADDR)`, `bind(2)`,
//! `listen(2)`, then the banner with the port the kernel actually bound.
//!
//! Part 1's `webserver1` makes these calls itself so the reader sees them
//! once; every later server calls [`listen`].

use crate::cli::ServerArgs;
use crate::report::{die, die_msg};
use nix::errno::Errno;
use nix::sys::socket::{
    self, AddressFamily, Backlog, SockFlag, SockType, SockaddrLike, SockaddrStorage,
};
use std::io::Write;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, OwnedFd};

/// Resolve `--host`/`--port` to one socket address (an IP, or a name such as
/// `localhost`), or exit with a clear line.
pub fn resolve(host: &str, port: u16) -> SocketAddr {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return SocketAddr::new(ip, port);
    }
    match (host, port).to_socket_addrs() {
        Ok(mut addrs) => addrs.next().unwrap_or_else(|| {
            die_msg(format!(
                "cannot resolve host {host:?}: no addresses — check --host"
            ))
        }),
        Err(err) => die_msg(format!(
            "cannot resolve host {host:?}: {err} — check --host"
        )),
    }
}

/// Open a listening TCP socket as the server's flags say, print
/// `Serving HTTP on port N ...`, and return it. `step_default_backlog` is the
/// listen queue length of the original step, used unless `--backlog` is given.
///
/// Exits with one clear line if any syscall fails (a busy port, say).
pub fn listen(args: &ServerArgs, step_default_backlog: i32) -> OwnedFd {
    listen_for("HTTP", args, step_default_backlog)
}

/// [`listen`] for another protocol: the banner reads
/// `Serving PROTOCOL on port N ...` (`ftp-server` prints `Serving FTP ...`).
pub fn listen_for(protocol: &str, args: &ServerArgs, step_default_backlog: i32) -> OwnedFd {
    let listener = listen_without_banner(args, step_default_backlog);
    print_banner_for(protocol, local_port(&listener));
    listener
}

/// [`listen`] without the banner, for a server that has more to set up
/// before it is ready (it then calls [`print_banner`] itself).
pub fn listen_without_banner(args: &ServerArgs, step_default_backlog: i32) -> OwnedFd {
    let addr = resolve(&args.host, args.port);
    let backlog = args.backlog_or(step_default_backlog);
    open_listener(addr, backlog)
        .unwrap_or_else(|(what, errno)| die(format!("{what} on {addr}"), errno))
}

/// socket + SO_REUSEADDR + bind + listen, reporting which call failed.
pub fn open_listener(addr: SocketAddr, backlog: i32) -> Result<OwnedFd, (&'static str, Errno)> {
    open_listener_with(addr, backlog, false)
}

/// `n` listening sockets on one port, each with SO_REUSEPORT: the kernel
/// spreads new connections over them (by a hash of each connection's
/// addresses), so that `n` event loops, one per socket, each accept their
/// share. The first is bound as `--port` says (0: the kernel picks), the
/// others to the port it got. Exits with one clear line if a call fails.
pub fn listen_reuseport(args: &ServerArgs, step_default_backlog: i32, n: usize) -> Vec<OwnedFd> {
    let mut addr = resolve(&args.host, args.port);
    let backlog = args.backlog_or(step_default_backlog);
    let mut listeners = Vec::with_capacity(n);
    for _ in 0..n {
        let listener = open_listener_with(addr, backlog, true)
            .unwrap_or_else(|(what, errno)| die(format!("{what} on {addr}"), errno));
        addr.set_port(local_port(&listener));
        listeners.push(listener);
    }
    listeners
}

fn open_listener_with(
    addr: SocketAddr,
    backlog: i32,
    reuse_port: bool,
) -> Result<OwnedFd, (&'static str, Errno)> {
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::Inet,
        SocketAddr::V6(_) => AddressFamily::Inet6,
    };
    let fd = socket::socket(family, SockType::Stream, SockFlag::empty(), None)
        .map_err(|e| ("socket()", e))?;
    // SO_REUSEADDR lets a restarted server bind the port at once, instead of
    // failing while the previous run's connections sit in TIME_WAIT.
    socket::setsockopt(&fd, socket::sockopt::ReuseAddr, &true)
        .map_err(|e| ("setsockopt(SO_REUSEADDR)", e))?;
    if reuse_port {
        socket::setsockopt(&fd, socket::sockopt::ReusePort, &true)
            .map_err(|e| ("setsockopt(SO_REUSEPORT)", e))?;
    }
    let sockaddr = SockaddrStorage::from(addr);
    socket::bind(fd.as_raw_fd(), &sockaddr).map_err(|e| ("bind()", e))?;
    let backlog = Backlog::new(backlog).map_err(|e| ("listen() backlog", e))?;
    socket::listen(&fd, backlog).map_err(|e| ("listen()", e))?;
    Ok(fd)
}

/// `accept(2)` failed: go on if the failure is one a server outlives, or
/// exit with one clear line.
///
/// * EINTR (a signal arrived), ECONNABORTED and EPROTO (the client gave up
///   while it waited in the listen queue): try again at once.
/// * EMFILE/ENFILE (out of descriptors): say so, pause 100 ms so that
///   connections being served can finish and free theirs, and try again;
///   the connection stays queued in the kernel meanwhile.
/// * Anything else is a bug or a broken socket: exit.
pub fn survive_accept_error(errno: Errno) {
    match accept_failure(errno) {
        AcceptFailure::ConnectionGone => {}
        AcceptFailure::OutOfResources => {
            let why = crate::report::explain(errno);
            crate::report::warn("accept()", format!("{why}; retrying in 100 ms"));
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        AcceptFailure::Fatal => die("accept()", errno),
    }
}

/// Wait in `accept(2)` for the next connection on a blocking listener,
/// retrying the failures a server outlives ([`survive_accept_error`]).
pub fn accept_connection(listener: &std::net::TcpListener) -> std::net::TcpStream {
    loop {
        match listener.accept() {
            Ok((stream, _peer)) => return stream,
            Err(e) => survive_accept_error(crate::report::errno_of(&e)),
        }
    }
}

/// The port a socket is bound to (what `--port 0` turned into).
pub fn local_port(fd: &OwnedFd) -> u16 {
    let addr: SockaddrStorage =
        socket::getsockname(fd.as_raw_fd()).unwrap_or_else(|e| die("getsockname()", e));
    if let Some(v4) = addr.as_sockaddr_in() {
        v4.port()
    } else if let Some(v6) = addr.as_sockaddr_in6() {
        v6.port()
    } else {
        die_msg(format!(
            "getsockname() returned a non-IP address ({:?})",
            addr.family()
        ))
    }
}

/// `Serving HTTP on port N ...`, flushed at once: tests and students wait for
/// this line to know the server is ready.
pub fn print_banner(port: u16) {
    print_banner_for("HTTP", port);
}

/// `Serving PROTOCOL on port N ...`, flushed at once.
pub fn print_banner_for(protocol: &str, port: u16) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "Serving {protocol} on port {port} ...");
    let _ = out.flush();
}

/// Raise this process's soft limit on open descriptors (`RLIMIT_NOFILE`)
/// to its hard limit, and return the limit now in force.
///
/// Every connection costs a descriptor. Shells start programs with a soft
/// limit of 1024 (`ulimit -Sn`) for the sake of old programs that use
/// `select(2)`, which cannot watch descriptors above 1023; the hard limit
/// (`ulimit -Hn`) is usually far higher, and any process may raise its own
/// soft limit up to it. The servers meant to hold thousands of connections
/// (epoll, mio, may) call this at start, as nginx's `worker_rlimit_nofile`
/// does; a server started under `ulimit -n N` (which sets both limits)
/// keeps N.
pub fn raise_fd_limit() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 0; // cannot happen on Linux; keep whatever limit we have
    };
    if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        return hard;
    }
    soft
}

/// What a failed `accept(2)` means for an accept loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptFailure {
    /// No descriptor or memory for the new socket (EMFILE, ENFILE, ENOBUFS,
    /// ENOMEM): the connection stays queued, and accepting again at once
    /// fails again. Wait until something is freed.
    OutOfResources,
    /// That one connection failed — the client reset it before we took it
    /// (ECONNABORTED), a signal came (EINTR), or a network error hit it,
    /// which accept(2) says to treat like EAGAIN: accept the next one.
    ConnectionGone,
    /// Anything else (EBADF, EINVAL, ...) is a bug in the server: stop.
    Fatal,
}

/// Sort an `accept(2)` error into [`AcceptFailure`].
pub fn accept_failure(errno: Errno) -> AcceptFailure {
    match errno {
        Errno::EMFILE | Errno::ENFILE | Errno::ENOBUFS | Errno::ENOMEM => {
            AcceptFailure::OutOfResources
        }
        Errno::ECONNABORTED
        | Errno::EINTR
        | Errno::EPROTO
        | Errno::EPERM
        | Errno::ENETDOWN
        | Errno::ENOPROTOOPT
        | Errno::EHOSTDOWN
        | Errno::ENONET
        | Errno::EHOSTUNREACH
        | Errno::EOPNOTSUPP
        | Errno::ENETUNREACH => AcceptFailure::ConnectionGone,
        _ => AcceptFailure::Fatal,
    }
}

/// One descriptor kept in reserve (open on `/dev/null`), to give back when
/// a server runs out.
///
/// A server that accepts until `EMFILE` has no descriptor left for the file
/// a request asks for. Holding a spare makes `accept(2)` fail one
/// descriptor early; releasing it while accepting is paused leaves one free
/// for opening files, so the clients already connected are still served.
#[derive(Debug)]
pub struct SpareDescriptor(Option<std::fs::File>);

impl SpareDescriptor {
    /// Open the spare (if even that fails, the server runs without one).
    pub fn new() -> SpareDescriptor {
        SpareDescriptor(std::fs::File::open("/dev/null").ok())
    }

    /// Close it: one descriptor is free for whoever needs it next.
    pub fn release(&mut self) {
        self.0 = None;
    }

    /// Take a descriptor back into reserve, if one is free.
    pub fn reclaim(&mut self) {
        if self.0.is_none() {
            self.0 = std::fs::File::open("/dev/null").ok();
        }
    }
}

impl Default for SpareDescriptor {
    fn default() -> SpareDescriptor {
        SpareDescriptor::new()
    }
}
