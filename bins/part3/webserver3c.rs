//! # webserver3c — a forking server
//!
//! **What it shows.** Concurrency with `fork(2)`: the parent accepts, forks
//! a child per connection and goes straight back to `accept(2)`; the child
//! handles the client. After the fork both processes hold both descriptors
//! (the listening socket and the client socket), and each closes the one it
//! does not use: the kernel closes a socket only when its *last* descriptor
//! is closed, so this is what lets the client see EOF.
//!
//! Nobody waits for the children, so every finished child stays in the
//! process table as a zombie (`<defunct>` in `ps`).
//!
//! **See it.** Start it, run `curl localhost:8888/hello` twice at once: both
//! are answered immediately, each by its own process (the children sleep 60 s
//! before exiting). Then `ps -o pid,ppid,stat,cmd --ppid $(pgrep -x webserver3c)`
//! shows the children, and after they exit, `Z` (zombie) in the STAT column.
//!
//! **Next.** `webserver3d` forgets to close the parent's copy of the client
//! descriptor, to show why the `close` here matters.

use clap::Parser;
use lsbaws::cli::ServerArgs;
use lsbaws::hello::handle_request;
use lsbaws::report::OrDie;
use nix::sys::socket::accept;
use nix::unistd::{close, fork, getpid, getppid, ForkResult};
use std::time::Duration;

/// Length of the listen queue, as in the original Python step.
const REQUEST_QUEUE_SIZE: i32 = 5;

/// Part 3, step c: a child process per connection (and zombies).
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    /// Seconds each child sleeps after its response, before closing and
    /// exiting, so that you can see the children in `ps`.
    #[arg(long, default_value = "60", value_parser = lsbaws::cli::seconds)]
    sleep: Duration,
}

// ANCHOR: main
fn main() {
    let args = Args::parse();
    let listen_socket = lsbaws::net::listen(&args.server, REQUEST_QUEUE_SIZE);

    loop {
        let client_connection = accept(&listen_socket).or_die("accept()");
        // SAFETY: this process is single-threaded, so the child cannot inherit
        // a lock or allocator state held by another thread at the fork.
        match unsafe { fork() }.or_die("fork()") {
            ForkResult::Child => {
                // ANCHOR: child
                // The child never accepts: close its copy of the listening socket.
                let _ = close(listen_socket);
                if !args.server.quiet {
                    println!("Child PID: {}. Parent PID {}", getpid(), getppid());
                }
                handle_request(&client_connection, args.server.quiet);
                std::thread::sleep(args.sleep);
                let _ = close(client_connection);
                std::process::exit(0); // the child ends here; it never loops
                                       // ANCHOR_END: child
            }
            ForkResult::Parent { .. } => {
                // ANCHOR: parent
                // The child serves this client: close the parent's copy, so the
                // socket is really closed (EOF) when the child closes its own.
                let _ = close(client_connection);
                // ANCHOR_END: parent
            }
        }
    }
}
// ANCHOR_END: main
