//! # webserver3d — the parent forgets to close (descriptor leak, zombies)
//!
//! **What it shows.** webserver3c, but the parent keeps every client
//! descriptor (in a list, like the original's `clients`) instead of closing
//! it. Two failures follow:
//!
//! 1. **No EOF.** The child answers and closes its copy, but the parent's copy
//!    keeps the socket open, so the client never sees the end of the stream.
//! 2. **Resources run out.** Each connection leaks a descriptor in the parent
//!    and leaves a zombie child. Under `ulimit -n 256`, `client3
//!    --max-clients 300` makes `accept(2)` fail with EMFILE ("Too many open
//!    files"). Under a process limit (`ulimit -u 400`, as a non-root user)
//!    the zombies fill it and `fork(2)` fails with EAGAIN.
//!
//! **See it.** `nc localhost 8888`, type `GET / HTTP/1.0` and an empty line:
//! the response arrives but `nc` never exits. `ls /proc/$(pgrep -o -x webserver3d)/fd`
//! grows with each connection (`-o`, the oldest: the children are
//! webserver3d too). Then, in a fresh shell: `ulimit -n 256 && cargo run
//! --bin webserver3d -- --backlog 1024`, and in another `cargo run --bin
//! client3 -- --max-clients 300` (the long queue keeps a burst of 300 from
//! overflowing 3d's queue of 5, which would drag the run out for a minute).
//!
//! **Next.** webserver3c's `close` fixes the leak; `webserver3e` starts
//! reaping the zombies with a SIGCHLD handler.

use clap::Parser;
use lsbaws::cli::ServerArgs;
use lsbaws::hello::handle_request;
use lsbaws::report::OrDie;
use nix::sys::socket::accept;
use nix::unistd::{close, fork, ForkResult};

/// Length of the listen queue, as in the original Python step.
const REQUEST_QUEUE_SIZE: i32 = 5;

/// Part 3, step d: the parent keeps every client descriptor open.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
}

// ANCHOR: main
fn main() {
    let args = Args::parse();
    let listen_socket = lsbaws::net::listen(&args.server, REQUEST_QUEUE_SIZE);
    // ANCHOR: clients
    // Every accepted descriptor is kept here and never closed. (In Rust,
    // dropping an OwnedFd closes it, so the list is what keeps them open,
    // exactly as the Python list kept its socket objects alive.)
    let mut clients = Vec::new();
    // ANCHOR_END: clients

    loop {
        let client_connection = accept(&listen_socket).or_die("accept()");
        // SAFETY: this process is single-threaded, so the child cannot inherit
        // a lock or allocator state held by another thread at the fork.
        match unsafe { fork() }.or_die("fork()") {
            ForkResult::Child => {
                // The child never accepts: close its copy of the listening socket.
                let _ = close(listen_socket);
                handle_request(&client_connection, args.server.quiet);
                let _ = close(client_connection);
                std::process::exit(0); // the child ends here; it never loops
            }
            ForkResult::Parent { .. } => {
                // ANCHOR: parent
                // The bug: no close(client_connection). The parent's copy keeps
                // the connection open after the child has closed its own.
                clients.push(client_connection);
                if !args.server.quiet {
                    println!("{}", clients.len());
                }
                // ANCHOR_END: parent
            }
        }
    }
}
// ANCHOR_END: main
