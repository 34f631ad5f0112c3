//! # echo-composed — one echo service, served four ways
//!
//! **What it shows.** Python's `socketserver` builds a server from parts:
//! `ForkingMixIn` or `ThreadingMixIn`, `TCPServer` or `UDPServer`, and a
//! request handler that reads `rfile` and writes `wfile`. The same parts are
//! types in [`lsbaws::compose`]. The echo handler below is written once;
//! `--transport` and `--concurrency` choose which [`Server`] runs it:
//! `Server<Tcp, Forking, Echo>`, `Server<Udp, Threading, Echo>`, ...
//!
//! **See it.** `cargo run --bin echo-composed -- --transport udp --concurrency fork`,
//! then `cargo run --bin echo-client -- --udp --port N hello`, or
//! `nc -u 127.0.0.1 N`. Each request prints the process and thread that
//! served it: forking shows a new pid per request, threading the server's
//! own pid and a new thread id. Add `--delay 5` and start two clients at
//! once: both are answered after 5 s, not 10 (but with `--concurrency inline`
//! the second waits for the first).
//!
//! **Next.** `httpserver2` is this toolkit again: a threading TCP server
//! whose handler speaks HTTP.

use clap::{Parser, ValueEnum};
use lsbaws::cli::{seconds, ServerArgs};
use lsbaws::compose::{
    Concurrency, Forking, Handler, Inline, Request, Server, Tcp, Threading, Transport, Udp,
};
use lsbaws::report::{die, OrDie};
use std::io;
use std::time::Duration;

/// One echo handler, served over TCP or UDP by processes or threads.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,

    /// How requests arrive: TCP connections or UDP datagrams.
    #[arg(long, value_enum, default_value_t = TransportChoice::Tcp)]
    transport: TransportChoice,

    /// Where each request runs: a child process, a thread, or inline (one
    /// at a time, no concurrency at all).
    #[arg(long, value_enum, default_value_t = ConcurrencyChoice::Thread)]
    concurrency: ConcurrencyChoice,

    /// Seconds the handler waits before echoing (to watch requests overlap).
    #[arg(long, default_value = "0", value_parser = seconds)]
    delay: Duration,
}

#[derive(Clone, Copy, ValueEnum)]
enum TransportChoice {
    Tcp,
    Udp,
}

#[derive(Clone, Copy, ValueEnum)]
enum ConcurrencyChoice {
    Fork,
    Thread,
    Inline,
}

// ANCHOR: handler
/// The echo service: every line that comes in goes back out. Written once,
/// against `rfile`/`wfile` only, it does not know whether the bytes came
/// from a connection or a datagram, or whether it runs in a thread or a
/// child process.
struct Echo {
    delay: Duration,
    quiet: bool,
}

impl Handler for Echo {
    fn handle(&self, request: &mut Request<'_>) -> io::Result<()> {
        if !self.quiet {
            // gettid(2): a thread's own id (the pid, in a single-threaded child).
            println!(
                "{} served by pid {}, thread {}",
                request.client_address,
                std::process::id(),
                nix::unistd::gettid()
            );
        }
        std::thread::sleep(self.delay);
        // Line by line, so that `nc` sees each line come back as it is typed.
        let mut line = Vec::new();
        while request.rfile.read_until(b'\n', &mut line)? > 0 {
            request.wfile.write_all(&line)?;
            line.clear();
        }
        Ok(())
    }
}
// ANCHOR_END: handler

// ANCHOR: main
fn main() {
    let args = Args::parse();
    let echo = Echo {
        delay: args.delay,
        quiet: args.server.quiet,
    };
    use {ConcurrencyChoice as C, TransportChoice as T};
    match (args.transport, args.concurrency) {
        (T::Tcp, C::Fork) => serve::<Tcp, Forking>(&args.server, Forking::default(), echo),
        (T::Tcp, C::Thread) => serve::<Tcp, Threading>(&args.server, Threading::default(), echo),
        (T::Tcp, C::Inline) => serve::<Tcp, Inline>(&args.server, Inline, echo),
        (T::Udp, C::Fork) => serve::<Udp, Forking>(&args.server, Forking::default(), echo),
        (T::Udp, C::Thread) => serve::<Udp, Threading>(&args.server, Threading::default(), echo),
        (T::Udp, C::Inline) => serve::<Udp, Inline>(&args.server, Inline, echo),
    }
}

/// Bind a `Server<T, C, Echo>`, print its banner, serve forever.
fn serve<T: Transport, C: Concurrency>(args: &ServerArgs, concurrency: C, echo: Echo) -> ! {
    let addr = lsbaws::net::resolve(&args.host, args.port);
    let server = Server::<T, C, Echo>::bind(addr, args.backlog_or(5), concurrency, echo)
        .unwrap_or_else(|(what, errno)| die(format!("{what} on {addr}"), errno));
    let port = server.local_addr().or_die("getsockname()").port();
    println!("{}", server.describe()); // `TCP server, forking`
    lsbaws::net::print_banner_for("ECHO", port);
    server.serve_forever()
}
// ANCHOR_END: main
