//! # A wrong fix for exercise 4h: a pool without the idle timeout
//!
//! A bounded pool of workers fed by a channel, but the job only serves the
//! site: the socket gets no timeout. A worker serves a connection until the
//! client closes it, so as many idle keep-alive clients as there are
//! workers hold the whole pool, and every client after them waits for as
//! long as they stay connected. `cargo lab check 4h` must fail it
//! (`idle-let-go`); `lab/tests/wrong_fixes.rs` proves that it does.

use clap::Parser;
use lsbaws::cli::{IdleArgs, ServerArgs, SiteArgs};
use lsbaws::http::serve_site;
use lsbaws::net::accept_connection;
use lsbaws::report::OrDie;
use std::net::TcpListener;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

/// Length of the listen queue.
const REQUEST_QUEUE_SIZE: i32 = 1024;

/// Connections accepted and waiting for a free worker. Past this the main
/// thread stops accepting and the kernel's listen queue takes over.
const QUEUE_CAPACITY: usize = 1024;

/// Part 4, model h: a bounded thread pool.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    site: SiteArgs,
    #[command(flatten)]
    idle: IdleArgs,
    /// Worker threads: at most this many connections are served at once.
    /// The default is above the 6 connections a browser opens per site.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=4096))]
    threads: u16,
}

// ANCHOR: pool
/// What a worker runs: serving one connection.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// A fixed set of worker threads and the channel that feeds them.
struct ThreadPool {
    sender: SyncSender<Job>,
    _workers: Vec<thread::JoinHandle<()>>,
}

impl ThreadPool {
    /// Start `size` workers, sharing one receiving end of a channel that
    /// holds up to `queue` jobs.
    fn new(size: usize, queue: usize) -> ThreadPool {
        let (sender, receiver) = mpsc::sync_channel::<Job>(queue);
        // mpsc has one receiver: the workers take turns holding it.
        let receiver = Arc::new(Mutex::new(receiver));
        let workers = (0..size)
            .map(|id| {
                let receiver = Arc::clone(&receiver);
                thread::Builder::new()
                    .name(format!("worker-{id}"))
                    .spawn(move || worker(&receiver))
                    .or_die("spawning a worker thread")
            })
            .collect();
        ThreadPool {
            sender,
            _workers: workers,
        }
    }

    /// Queue a job for the next free worker; blocks while the queue is full.
    fn execute(&self, job: impl FnOnce() + Send + 'static) {
        // Err only if every worker is gone, and workers never return.
        let _ = self.sender.send(Box::new(job));
    }
}

/// A worker's life: wait for a job, run it, repeat.
fn worker(receiver: &Mutex<Receiver<Job>>) {
    loop {
        // The lock guard is a temporary dropped at the end of this statement,
        // so the lock is held while waiting for a job, not while running it.
        let job = receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        let Ok(job) = job else {
            return; // the pool is gone
        };
        // A bug that panics while serving one connection costs that
        // connection, not the worker: the pool keeps its size.
        let _ = catch_unwind(AssertUnwindSafe(job));
    }
}
// ANCHOR_END: pool

// ANCHOR: main
fn main() {
    let args = Args::parse();
    // Arc: every thread reads the same Site; the last one gone frees it.
    let site = Arc::new(args.site.open());
    let listener = TcpListener::from(lsbaws::net::listen(&args.server, REQUEST_QUEUE_SIZE));
    let pool = ThreadPool::new(usize::from(args.threads), QUEUE_CAPACITY);

    loop {
        let mut stream = accept_connection(&listener);
        let (site, quiet) = (Arc::clone(&site), args.server.quiet);
        // The worker serves the connection until the client closes it.
        pool.execute(move || serve_site(&mut stream, &site, quiet));
    }
}
// ANCHOR_END: main
