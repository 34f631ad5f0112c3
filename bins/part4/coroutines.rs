//! # coroutines — what a coroutine is, before 4f serves a site with them
//!
//! **What it shows.** may's coroutines without a server around them, in
//! three experiments, all on ONE worker thread (as a greenlet or a gevent
//! program runs on one thread):
//!
//! * `switch`: two coroutines hand control to each other explicitly and
//!   print their interleaving (greenlet's `switch`); with `--timed N`, what
//!   a hand-off costs, against the same hand-off between two threads.
//! * `spawn`: three coroutines that sleep 100, 300 and 200 ms, spawned and
//!   joined (gevent's `spawn`, `joinall` and `sleep`). With `--blocking`
//!   they sleep with `std::thread::sleep`, which blocks the worker thread:
//!   the others cannot run meanwhile (what gevent's `monkey.patch_all()`
//!   exists to prevent).
//! * `stack`: what a coroutine costs in memory — thousands of them parked,
//!   against the same number of threads — and how big the state of Rust's
//!   own (stackless) `async fn` is.
//!
//! **See it.** `cargo run --bin coroutines -- switch`,
//! `cargo run --release --bin coroutines -- switch --timed 100000`, `... -- spawn`,
//! `... -- spawn --blocking`, `... -- stack`.
//!
//! **Next.** `webserver4f` gives each connection one of these coroutines.

use clap::{Parser, Subcommand};
use may::coroutine::JoinHandle;
use may::sync::mpsc::{channel, Receiver, Sender};
use std::time::{Duration, Instant};

/// Stack of each coroutine, in machine words (may's unit), as in 4f:
/// 16 Ki words = 128 KiB of address space, of which a coroutine touches
/// only the pages it uses.
const STACK_WORDS: usize = 16 * 1024;

/// Coroutines from the ground up: switch, spawn/join/sleep, their stacks.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[command(subcommand)]
    experiment: Experiment,
}

#[derive(Subcommand)]
enum Experiment {
    /// Two coroutines hand control to each other (greenlet's switch).
    Switch {
        /// Turns to print (each ends with a hand-off to the other).
        #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=100))]
        turns: u32,
        /// Then time this many round trips, coroutines against threads
        /// (meaningful in a release build).
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=10_000_000))]
        timed: u32,
    },
    /// Spawn sleepers, join them all (gevent's spawn, joinall and sleep).
    Spawn {
        /// Sleep with std::thread::sleep, which blocks the worker thread.
        #[arg(long)]
        blocking: bool,
    },
    /// Park many coroutines (then as many threads) and measure memory.
    Stack {
        /// How many coroutines to park.
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        coroutines: u32,
        /// How many threads to park, for comparison.
        #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        threads: u32,
    },
}

fn main() {
    let args = Args::parse();
    // One worker thread runs every coroutine: one at a time, like greenlet
    // and gevent. Set before the first spawn starts the scheduler.
    may::config().set_workers(1).set_stack_size(STACK_WORDS);
    match args.experiment {
        Experiment::Switch { turns, timed } => {
            switch(turns);
            if timed > 0 {
                time_switches(timed);
            }
        }
        Experiment::Spawn { blocking } => spawn_and_join(blocking),
        Experiment::Stack {
            coroutines,
            threads,
        } => {
            stacks(coroutines, threads);
            futures();
        }
    }
}

/// Spawn a coroutine on may's scheduler.
fn go<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    // SAFETY: may's spawn is unsafe because a coroutine can resume on
    // another worker thread (a thread-local read before a switch would be
    // stale after it) and because its stack has a fixed size. There is one
    // worker here, every closure keeps no thread-local across a switch, and
    // none needs more than a few KiB of the 128 KiB stack.
    let spawned = unsafe { may::coroutine::Builder::new().spawn(f) };
    spawned.unwrap_or_else(|e| lsbaws::report::die_msg(format!("spawning a coroutine failed: {e}")))
}

// ANCHOR: switch
/// greenlet's `gr.switch()` names the coroutine to run next. may's scheduler
/// picks who runs, so the explicit hand-off is a channel: a coroutine
/// wakes the other by sending it a token, then parks on its own channel
/// until the token comes back. Only the holder of the token runs.
fn switch(turns: u32) {
    let (to_ping, ping_inbox) = channel::<u32>();
    let (to_pong, pong_inbox) = channel::<u32>();
    let to_ping_again = to_ping.clone();
    let ping = go(move || player("ping", turns, ping_inbox, to_pong));
    let pong = go(move || player("pong", turns, pong_inbox, to_ping_again));
    println!("main: both spawned, neither has run; handing the token to ping");
    to_ping.send(1).expect("ping is waiting");
    // From now on only the players hold senders: when one stops, the
    // other's recv() fails and it stops too.
    drop(to_ping);
    join(ping);
    join(pong);
    println!("main: both finished");
}

fn player(name: &str, turns: u32, inbox: Receiver<u32>, other: Sender<u32>) {
    // recv() parks this coroutine (saves its registers, switches to
    // another one) until the other side sends.
    while let Ok(turn) = inbox.recv() {
        if turn > turns {
            break;
        }
        println!("{name}: turn {turn}, switching to the other");
        if other.send(turn + 1).is_err() {
            break;
        }
    }
}
// ANCHOR_END: switch

/// What a hand-off costs: `n` round trips through may's channels, then
/// the same between two kernel threads (std's channels, futex wake-ups).
fn time_switches(n: u32) {
    let (to_b, b_inbox) = channel::<u32>();
    let (to_a, a_inbox) = channel::<u32>();
    let start = Instant::now();
    let echo = go(move || {
        while let Ok(x) = b_inbox.recv() {
            if to_a.send(x).is_err() {
                break;
            }
        }
    });
    let driver = go(move || {
        for i in 0..n {
            to_b.send(i).expect("the echo coroutine runs");
            a_inbox.recv().expect("the echo coroutine answers");
        }
    });
    join(driver);
    join(echo);
    report_switches("coroutines", n, start.elapsed());

    let (to_b, b_inbox) = std::sync::mpsc::channel::<u32>();
    let (to_a, a_inbox) = std::sync::mpsc::channel::<u32>();
    let start = Instant::now();
    let echo = std::thread::spawn(move || {
        while let Ok(x) = b_inbox.recv() {
            if to_a.send(x).is_err() {
                break;
            }
        }
    });
    for i in 0..n {
        to_b.send(i).expect("the echo thread runs");
        a_inbox.recv().expect("the echo thread answers");
    }
    drop(to_b);
    echo.join().expect("the echo thread finished");
    report_switches("threads", n, start.elapsed());
}

fn report_switches(what: &str, round_trips: u32, took: Duration) {
    // A round trip is two hand-offs.
    let per_switch = took.as_nanos() / (2 * u128::from(round_trips));
    println!(
        "{what}: {round_trips} round trips in {:.3} s, {per_switch} ns per hand-off",
        took.as_secs_f64()
    );
}

// ANCHOR: spawn
/// gevent.spawn three sleepers, gevent.joinall them.
fn spawn_and_join(blocking: bool) {
    let start = Instant::now();
    let sleepers: Vec<_> = [("a", 100), ("b", 300), ("c", 200)]
        .into_iter()
        .map(|(name, ms)| go(move || sleeper(name, ms, blocking, start)))
        .collect();
    for sleeper in sleepers {
        join(sleeper);
    }
    let way = if blocking {
        "std::thread::sleep"
    } else {
        "may::coroutine::sleep"
    };
    println!(
        "joined all three after {:.2} s ({way})",
        start.elapsed().as_secs_f64()
    );
}

fn sleeper(name: &str, ms: u64, blocking: bool, start: Instant) {
    let at = |start: Instant| start.elapsed().as_millis() / 100 * 100;
    println!("{name}: going to sleep for {ms} ms (at {} ms)", at(start));
    if blocking {
        // Blocks the worker thread itself: no other coroutine runs on it
        // until this returns.
        std::thread::sleep(Duration::from_millis(ms));
    } else {
        // Parks this coroutine on may's timer; the worker runs the others.
        may::coroutine::sleep(Duration::from_millis(ms));
    }
    println!("{name}: awake (at {} ms)", at(start));
}
// ANCHOR_END: spawn

/// Wait for a coroutine; a panic inside it ends the program with its message.
fn join<T>(handle: JoinHandle<T>) -> T {
    handle
        .join()
        .unwrap_or_else(|_| lsbaws::report::die_msg("a coroutine panicked"))
}

// ANCHOR: stack
/// Park `n` coroutines, then `t` threads, each on a channel that never
/// sends, and report what memory grew by per coroutine and per thread.
fn stacks(n: u32, t: u32) {
    let before = memory();
    let (ready, all_ready) = channel::<()>();
    let mut parked = Vec::new();
    for _ in 0..n {
        let (gate, wait) = channel::<()>();
        let ready = ready.clone();
        let handle = go(move || {
            let _ = ready.send(());
            // Parked: its registers saved, nothing of it runs.
            let _ = wait.recv();
        });
        parked.push((gate, handle));
    }
    for _ in 0..n {
        all_ready.recv().expect("every coroutine starts");
    }
    report_memory("coroutines", n, before, memory());
    for (gate, handle) in parked {
        drop(gate); // its recv() fails: the coroutine returns
        join(handle);
    }

    let before = memory();
    let kernel_before = kernel_stacks();
    let (ready, all_ready) = std::sync::mpsc::channel::<()>();
    let mut parked = Vec::new();
    for _ in 0..t {
        let (gate, wait) = std::sync::mpsc::channel::<()>();
        let ready = ready.clone();
        let handle = std::thread::spawn(move || {
            let _ = ready.send(());
            let _ = wait.recv();
        });
        parked.push((gate, handle));
    }
    for _ in 0..t {
        all_ready.recv().expect("every thread starts");
    }
    report_memory("threads", t, before, memory());
    // A thread also has a kernel stack, outside the process's memory: the
    // machine-wide KernelStack of /proc/meminfo grows with each one.
    let kernel_growth = kernel_stacks().saturating_sub(kernel_before);
    println!(
        "{t} parked threads: kernel stacks +{:.1} KiB each (machine-wide KernelStack)",
        kernel_growth as f64 / f64::from(t)
    );
    for (gate, handle) in parked {
        drop(gate);
        let _ = handle.join();
    }
}
// ANCHOR_END: stack

/// (VmSize, VmRSS) of this process, in KiB, from /proc/self/status.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_else(|e| {
        lsbaws::report::die_msg(format!(
            "reading /proc/self/status failed: {e} — this needs Linux"
        ))
    });
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("VmSize:"), field("VmRSS:"))
}

/// KernelStack of /proc/meminfo, in KiB: every thread's kernel-side stack.
fn kernel_stacks() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("KernelStack:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        })
        .unwrap_or(0)
}

fn report_memory(what: &str, n: u32, (size0, rss0): (u64, u64), (size1, rss1): (u64, u64)) {
    let each = |grew: u64| grew as f64 / f64::from(n);
    println!(
        "{n} parked {what}: address space +{:.1} KiB each, resident +{:.1} KiB each",
        each(size1.saturating_sub(size0)),
        each(rss1.saturating_sub(rss0))
    );
}

// ANCHOR: future
/// Rust's own coroutines are stackless: an `async fn` compiles to a state
/// machine, a value holding exactly the variables that live across an
/// `.await`. Nothing here runs it (no executor); its size is known anyway.
async fn small_handler() -> usize {
    let request_count = 1usize;
    yield_once().await;
    request_count + 1
}

async fn handler_with_buffer() -> usize {
    let buffer = [0u8; 4096];
    yield_once().await;
    buffer.iter().filter(|&&b| b == b'\n').count()
}

fn futures() {
    println!(
        "async fn future holding a counter across .await: {} bytes",
        std::mem::size_of_val(&small_handler())
    );
    println!(
        "async fn future holding a 4096-byte buffer across .await: {} bytes",
        std::mem::size_of_val(&handler_with_buffer())
    );
}
// ANCHOR_END: future

/// A future that is pending once, then ready: an `.await` point.
fn yield_once() -> impl std::future::Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
}
