
use clap::Parser;
use lsbaws::cli::{IdleArgs, ServerArgs, SiteArgs};
use lsbaws::http::serve_site;
use lsbaws::net::accept_connection;
use lsbaws::report::{errno_of, explain, warn};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;

/// Length of the listen queue.
const REQUEST_QUEUE_SIZE: i32 = 1024;

/// Part 4, model b: one thread per connection.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    site: SiteArgs,
    #[command(flatten)]
    idle: IdleArgs,
}

// ANCHOR: main
fn main() {
    let args = Args::parse();
    // Arc: every thread reads the same Site; the last one gone frees it.
    let site = Arc::new(args.site.open());
    let listener = TcpListener::from(lsbaws::net::listen(&args.server, REQUEST_QUEUE_SIZE));

    loop {
        let mut stream = accept_connection(&listener);
        let timeout = args.idle.timeout();
        let (site, quiet) = (Arc::clone(&site), args.server.quiet);
        // ANCHOR: spawn
        // A new thread for this connection; `main` goes straight back to
        // accept(). The `move` closure takes ownership of the stream.
        let spawned = thread::Builder::new()
            .name("connection".into())
            .spawn(move || {
                // A silent client ends the thread after --idle-timeout.
                let _ = stream
                    .set_read_timeout(timeout)
                    .and(stream.set_write_timeout(timeout));
                serve_site(&mut stream, &site, quiet);
            });
        // ANCHOR_END: spawn
        match spawned {
            // Wait for this connection's thread before accepting the next.
            Ok(handle) => {
                let _ = handle.join();
            }
            Err(e) => warn("spawning a thread", explain(errno_of(&e))),
        }
    }
}
// ANCHOR_END: main
