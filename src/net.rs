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
            die_msg(format!("cannot resolve host {host:?}: no addresses — check --host"))
        }),
        Err(err) => die_msg(format!("cannot resolve host {host:?}: {err} — check --host")),
    }
}

/// Open a listening TCP socket as the server's flags say, print
/// `Serving HTTP on port N ...`, and return it. `step_default_backlog` is the
/// listen queue length of the original step, used unless `--backlog` is given.
///
/// Exits with one clear line if any syscall fails (a busy port, say).
pub fn listen(args: &ServerArgs, step_default_backlog: i32) -> OwnedFd {
    let addr = resolve(&args.host, args.port);
    let backlog = args.backlog_or(step_default_backlog);
    let listener = open_listener(addr, backlog).unwrap_or_else(|(what, errno)| {
        die(format!("{what} on {addr}"), errno)
    });
    print_banner(local_port(&listener));
    listener
}

/// socket + SO_REUSEADDR + bind + listen, reporting which call failed.
pub fn open_listener(addr: SocketAddr, backlog: i32) -> Result<OwnedFd, (&'static str, Errno)> {
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
    let sockaddr = SockaddrStorage::from(addr);
    socket::bind(fd.as_raw_fd(), &sockaddr).map_err(|e| ("bind()", e))?;
    let backlog = Backlog::new(backlog).map_err(|e| ("listen() backlog", e))?;
    socket::listen(&fd, backlog).map_err(|e| ("listen()", e))?;
    Ok(fd)
}

/// The port a socket is bound to (what `--port 0` turned into).
pub fn local_port(fd: &OwnedFd) -> u16 {
    let addr: SockaddrStorage = socket::getsockname(fd.as_raw_fd()).unwrap_or_else(|e| die("getsockname()", e));
    if let Some(v4) = addr.as_sockaddr_in() {
        v4.port()
    } else if let Some(v6) = addr.as_sockaddr_in6() {
        v6.port()
    } else {
        die_msg(format!("getsockname() returned a non-IP address ({:?})", addr.family()))
    }
}

/// `Serving HTTP on port N ...`, flushed at once: tests and students wait for
/// this line to know the server is ready.
pub fn print_banner(port: u16) {
    print_service_banner("HTTP", port);
}

/// `Serving SERVICE on port N ...` for servers that do not speak HTTP
/// (`Serving TCP echo on port N ...`); the harness waits for either form.
pub fn print_service_banner(service: &str, port: u16) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "Serving {service} on port {port} ...");
    let _ = out.flush();
}
