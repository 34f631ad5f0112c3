//! # webserver4f, with a slow path — the exercise 4f-blocking
//!
//! **What it shows.** webserver4f, a may coroutine per connection, with
//! one more path: `/slow?ms=N` waits N milliseconds before it answers,
//! like a handler waiting on a slow database. The library answers every
//! other path as usual, and calls this file's wait for `/slow`.
//!
//! **See it.** `cargo run -- --workers 1`, then
//! `curl localhost:8888/slow?ms=5000 &` and, while it waits,
//! `curl localhost:8888/hello.txt`: the second client waits too, for
//! the whole five seconds. Nobody else is served meanwhile.
//!
//! **Your task.** Find the call that holds the worker thread, and make the
//! slow path wait the coroutine way: `cargo lab check 4f-blocking`.

use clap::Parser;
use lsbaws::cli::{IdleArgs, ServerArgs, SiteArgs};
use lsbaws::http::{serve_site_with_slow_path, Site};
use lsbaws::net::{accept_failure, AcceptFailure, SpareDescriptor};
use lsbaws::report::{die, die_msg, errno_of, explain, warn, Throttle};
use may::net::TcpListener;
use std::os::fd::{FromRawFd, IntoRawFd};
use std::sync::Arc;
use std::time::Duration;

/// Length of the listen queue.
const REQUEST_QUEUE_SIZE: i32 = 1024;
/// Each coroutine's stack, in machine words (may's unit): 16 Ki words =
/// 128 KiB of address space. It is mmap'ed, so only the pages a connection
/// really touches use memory; the rest is a reservation. Serving a request
/// needs between 8 and 16 KiB of it in a debug build (with 1 Ki words the
/// tests overflow it, with 2 Ki they pass): 128 KiB leaves a wide margin.
/// An even size keeps may from pre-touching every page to measure use.
const STACK_WORDS: usize = 16 * 1024;
/// After EMFILE, wait this long before accepting again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// Part 4, model f: one may coroutine per connection.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    site: SiteArgs,
    #[command(flatten)]
    idle: IdleArgs,
    /// Worker threads that run the coroutines (default: one per core).
    #[arg(long, default_value_t = default_workers(), value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: u16,
}

fn default_workers() -> u16 {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(1024) as u16)
}

// ANCHOR: main
fn main() {
    let args = Args::parse();
    // Arc: every coroutine reads the same Site; the last one gone frees it.
    let site = Arc::new(args.site.open());
    // Each connection holds a descriptor: lift the soft limit (often 1024)
    // to the hard one so that thousands of clients fit.
    lsbaws::net::raise_fd_limit();
    // Configure the scheduler before anything starts it (the first spawn
    // or may socket does).
    may::config()
        .set_workers(args.workers as usize)
        .set_stack_size(STACK_WORDS);

    let listener = lsbaws::net::listen_without_banner(&args.server, REQUEST_QUEUE_SIZE);
    let port = lsbaws::net::local_port(&listener);
    // SAFETY: the descriptor is a listening TCP socket that we own and hand
    // over (into_raw_fd gives up ownership), so nothing else closes it.
    // may makes it non-blocking and registers it with its epoll, which
    // starts the scheduler: its worker threads and their epoll descriptors.
    let listener = unsafe { TcpListener::from_raw_fd(listener.into_raw_fd()) };
    // A descriptor held back for the day they run out (see below).
    let spare = SpareDescriptor::new();
    // Only now is the server ready.
    lsbaws::net::print_banner(port);

    // The accept loop is a coroutine too: while it waits for a client, its
    // worker thread runs the others; a new connection wakes it on a worker
    // (the main thread would need a cross-thread wake-up per connection).
    // SAFETY: as for the connection coroutines below: the accept loop keeps
    // no thread-local across may's accept and sleep (its only switches), and
    // needs far less stack than serving a request.
    let acceptor = unsafe {
        may::coroutine::Builder::new().spawn(move || accept_loop(&listener, spare, &site, &args))
    };
    let acceptor =
        acceptor.unwrap_or_else(|e| die_msg(format!("spawning a coroutine failed: {e}")));
    if acceptor.join().is_err() {
        die_msg("the accept loop stopped");
    }
}

/// Accept connections forever, one coroutine each.
fn accept_loop(listener: &TcpListener, mut spare: SpareDescriptor, site: &Arc<Site>, args: &Args) {
    let mut out_of_descriptors = Throttle::every_ten_seconds();
    loop {
        // Looks blocking; may parks this coroutine until its epoll
        // reports the listener readable.
        let mut stream = match listener.accept() {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                wait_after_failed_accept(&e, &mut out_of_descriptors, &mut spare);
                continue;
            }
        };
        let timeout = args.idle.timeout();
        let (site, quiet) = (Arc::clone(site), args.server.quiet);
        // A new coroutine for this connection; this one goes straight back
        // to accept(). It runs the same blocking serve_site as the thread
        // models: may turns each read and write that would block into a
        // switch to another coroutine.
        //
        // SAFETY: may's spawn is unsafe for two reasons, both ruled out here.
        // (1) Thread-locals: a coroutine may resume on another worker
        // thread after any may I/O call, so a thread-local read before a
        // switch and used after it would be the wrong thread's.
        // `serve_site_with_slow_path` and what it calls keep no
        // thread-local state across may I/O or may's sleep: stdout's lock,
        // errno and the file cache's batch number are taken and released
        // between switches (the /slow path sleeps outside the batch:
        // `fast::outside_batch`). (2) Stack overflow: the stack has a fixed
        // size, and a guard page turns an overflow into a crash; serving a
        // request needs at most 16 KiB of it (see STACK_WORDS), an eighth
        // of what each coroutine gets.
        let spawned = unsafe {
            may::coroutine::Builder::new().spawn(move || {
                // A silent client ends the coroutine after --idle-timeout.
                let _ = stream
                    .set_read_timeout(timeout)
                    .and(stream.set_write_timeout(timeout));
                // Let the other coroutines run until the time is up.
                serve_site_with_slow_path(&mut stream, &site, quiet, |wait| {
                    let until = std::time::Instant::now() + wait;
                    while std::time::Instant::now() < until {
                        may::coroutine::yield_now();
                    }
                });
            })
        };
        if let Err(e) = spawned {
            // mmap of a new stack failed (ENOMEM): drop this client only.
            warn("spawning a coroutine", e);
        }
    }
}
// ANCHOR_END: main

/// accept() failed. Out of descriptors (EMFILE) means the client stays
/// queued and accepting again at once fails again: say so (at most every
/// 10 seconds) and wait a little instead of retrying in a tight loop.
/// Meanwhile the spare descriptor is released, so that the coroutines of
/// connected clients can still open the files they ask for.
fn wait_after_failed_accept(
    error: &std::io::Error,
    out_of_descriptors: &mut Throttle,
    spare: &mut SpareDescriptor,
) {
    let errno = errno_of(error);
    match accept_failure(errno) {
        AcceptFailure::OutOfResources => {
            if out_of_descriptors.allow() {
                let why = explain(errno);
                warn(
                    "accept()",
                    format!(
                        "{why}; retrying every {ACCEPT_RETRY:?}, \
                         waiting clients stay in the listen queue"
                    ),
                );
            }
            spare.release();
            // may's sleep parks this coroutine only; std::thread::sleep
            // would stall every coroutine queued on this worker thread.
            may::coroutine::sleep(ACCEPT_RETRY);
            spare.reclaim();
        }
        AcceptFailure::ConnectionGone => {}
        AcceptFailure::Fatal => die("accept()", errno),
    }
}
