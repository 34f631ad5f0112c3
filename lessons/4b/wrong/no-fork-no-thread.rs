
use clap::Parser;
use lsbaws::cli::{IdleArgs, ServerArgs, SiteArgs};
use lsbaws::http::serve_site;
use lsbaws::net::accept_connection;
use std::net::TcpListener;

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
    let site = args.site.open();
    let listener = TcpListener::from(lsbaws::net::listen(&args.server, REQUEST_QUEUE_SIZE));

    loop {
        let mut stream = accept_connection(&listener);
        let timeout = args.idle.timeout();
        let _ = stream
            .set_read_timeout(timeout)
            .and(stream.set_write_timeout(timeout));
        serve_site(&mut stream, &site, args.server.quiet);
    }
}
// ANCHOR_END: main
