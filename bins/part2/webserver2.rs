//! # webserver2 — Part 2: one server, any application
//!
//! **What it shows.** How do you run a Django, Flask or Pyramid application
//! under your own server without changing either? Python's answer is WSGI:
//! the server turns each request into an `environ` of CGI variables, calls
//! `application(environ, start_response)`, and sends back the status,
//! headers and body the application chose. [`lsbaws::gateway`] is that
//! contract in Rust. This server knows nothing about the application it
//! hosts: it is chosen by name on the command line, as
//! `python webserver2.py flaskapp:app` chooses `module:callable` — one of
//! the apps compiled into the lab, or `cgi:PATH`, a program in any language
//! (a Python WSGI app through `wsgiref.handlers.CGIHandler`, say) run per
//! request through CGI.
//!
//! **See it.** `cargo run --bin webserver2 -- greeter` and open
//! <http://localhost:8888/> in a browser; or
//! `cargo run --bin webserver2 -- environ` and `curl 'localhost:8888/a?b=c'`
//! to see the environment an application receives; or
//! `cargo run --bin webserver2 -- cgi:examples/cgi/wsgi_demo.py`.
//!
//! **Next.** Like Part 1, it serves one request at a time: a slow
//! application (or a CGI program that hangs until its timeout) stalls every
//! other client. `webserver3h` runs the same gateway in a child per
//! connection.

use clap::Parser;
use lsbaws::cli::ServerArgs;
use lsbaws::gateway::registry::{available_apps, GatewayArgs};
use lsbaws::report::die;
use nix::errno::Errno;
use nix::sys::socket::accept;

/// Length of the listen queue, as in the original webserver2.py.
const REQUEST_QUEUE_SIZE: i32 = 1;

/// Part 2: serve an application chosen by name, through the gateway interface.
#[derive(Parser)]
#[command(version, after_help = available_apps())]
struct Args {
    #[command(flatten)]
    server: ServerArgs,

    #[command(flatten)]
    gateway: GatewayArgs,
}

// ANCHOR: main
fn main() {
    let args = Args::parse();
    // The application, loaded once, before any request: the server holds
    // it only as `dyn Application`.
    let gateway = args.gateway.gateway(args.server.quiet, false);
    let listen_socket = lsbaws::net::listen(&args.server, REQUEST_QUEUE_SIZE);

    loop {
        let client_connection = match accept(&listen_socket) {
            Ok(client_connection) => client_connection,
            Err(Errno::ECONNABORTED) => continue, // the client left first
            Err(errno) => die("accept()", errno),
        };
        // Read the request, build the environ, call the application,
        // send its response, close.
        gateway.handle_one_request(client_connection);
    }
}
// ANCHOR_END: main
