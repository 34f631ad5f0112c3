//! # lsbaws — Let's Build A Web Server, in Rust
//!
//! The plumbing that every server in the series shares, so that each binary
//! in `bins/` can show only the syscalls of its own lesson:
//!
//! * [`cli`] — the flags every server takes (`--host`, `--port`, `--backlog`,
//!   `--quiet`), parsed with clap.
//! * [`net`] — `socket`, `bind`, `listen` and the `Serving HTTP on port N ...`
//!   banner. Part 1 (`webserver1`) spells these syscalls out; from Part 3 on
//!   the servers call [`net::listen`].
//! * [`hello`] — read a request, print it, answer `Hello, World!` in a valid
//!   HTTP/1.1 response.
//! * [`http`] — Part 4's shared HTTP: parsing (httparse), responses, the
//!   static site confined to its root, and a per-connection session that
//!   handles split reads, pipelining and partial writes.
//! * [`gateway`] — Part 2's gateway interface, Rust's WSGI: the
//!   [`gateway::Application`] contract, the request's [`gateway::Environ`],
//!   the server side that webserver2 and webserver3h share, the registry
//!   that picks an application by name, and the CGI bridge that hosts a
//!   program in any language. [`apps`] holds applications written against
//!   it (hello, environ, a micro framework and an app built with it).
//! * [`compose`] — servers assembled from parts as in Python's
//!   `socketserver`: `Server<Tcp | Udp, Inline | Forking | Threading,
//!   Handler>` (echo-composed, httpserver2). [`echo`] is the echo loop of
//!   the socket-basics servers.
//! * [`urlencoded`] and [`json`] — form/query decoding and a small JSON
//!   writer for the applications and HTTPServer 2.0.
//! * [`report`] — turn a failed syscall into one clear line and an exit
//!   status: `webserver3e: accept() failed: EINTR: Interrupted system call — …`
//!   (or, for a failure the server outlives, the same line and no exit).
//! * [`uring`] — why the kernel refused io_uring, read from `/proc`, for
//!   webserver4u's one line when `io_uring_setup(2)` fails.
//! * [`reaper`] — the SIGCHLD handler that reaps every exited child, for the
//!   forking servers that are not webserver3g's reaping lesson.
//!
//! What is not a server's lives in crates of its own: the test harness
//! (`tests/harness`, crate `lsbaws_harness`) and the exercise checker
//! (`lab/`, crate `lsbaws_lab`). A student's exercise copy depends on this
//! crate alone.
//!
//! The lab targets Linux: the servers use `fork(2)`, `sigaction(2)` and
//! `epoll(7)`, and the harness reads `/proc`.

#[cfg(not(target_os = "linux"))]
compile_error!(
    "lsbaws targets Linux: its lessons use fork(2), SIGCHLD, epoll(7) and /proc. \
     Run it in a Linux VM or container."
);

pub mod apps;
pub mod cli;
pub mod compose;
pub mod echo;
pub mod ftp;
pub mod gateway;
pub mod hello;
pub mod http;
pub mod json;
pub mod net;
pub mod reaper;
pub mod report;
pub mod uring;
pub mod urlencoded;
