//! # httpserver2 — HTTPServer 2.0: a threaded server in a type, serving pages and data
//!
//! **What it shows.** Python's `http.server.ThreadingHTTPServer` is
//! `ThreadingMixIn` + `TCPServer` + a request handler class. HTTPServer 2.0
//! is the same composition from [`lsbaws::compose`] —
//! `Server<Tcp, Threading, HttpServer2>` — with everything the server is
//! wrapped in one type, [`HttpServer2`]: the static site it serves, the data
//! endpoints it answers with JSON, and the counters every connection thread
//! updates. Threads share memory, so `/api/stats` can count the requests of
//! all of them; the forking servers could not without some shared memory or
//! a pipe to the parent.
//!
//! Better than `webserver3g` in three ways: a thread costs less than a
//! process; connections stay open for several requests (keep-alive), with
//! an idle timeout so a silent client cannot hold a thread forever; and the
//! number of threads is capped, so a flood of connections waits in the
//! listen queue instead of exhausting memory or the process limit.
//!
//! **See it.** `cargo run --bin httpserver2`, then open
//! <http://localhost:8888/> in a browser, or
//! `curl 'localhost:8888/api/square?n=12'`, `curl 'localhost:8888/api/query?a=1&a=2&b=x'`,
//! `curl localhost:8888/api/stats`. `ls /proc/$(pgrep -x httpserver2)/task`
//! lists one thread per open connection, plus the main one.

use clap::Parser;
use lsbaws::cli::{seconds, ServerArgs, SiteArgs};
use lsbaws::compose::{Handler, Request as Connection, Server, Tcp, Threading};
use lsbaws::http::{serve_blocking, Limits, Request, Response, Site};
use lsbaws::json::Object;
use lsbaws::report::{die, OrDie};
use std::io;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// HTTPServer 2.0: a threaded server serving a static site and JSON data.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,

    #[command(flatten)]
    site: SiteArgs,

    /// Most connections served at once (one thread each); more wait in
    /// the listen queue.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    max_threads: u32,

    /// Seconds a kept-alive connection may sit idle before it is closed.
    #[arg(long, default_value = "5", value_parser = seconds)]
    idle_timeout: Duration,
}

// ANCHOR: type
/// The server: what it serves, and what all its threads share.
struct HttpServer2 {
    site: Site,
    started: Instant,
    quiet: bool,
    idle_timeout: Duration,
    /// Updated by every connection's thread at once: atomics, no lock.
    requests: AtomicU64,
    connections: AtomicU64,
    open_connections: AtomicU64,
}

impl HttpServer2 {
    fn new(site: Site, idle_timeout: Duration, quiet: bool) -> HttpServer2 {
        HttpServer2 {
            site,
            started: Instant::now(),
            quiet,
            idle_timeout,
            requests: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            open_connections: AtomicU64::new(0),
        }
    }

    /// Bind, print the banner, and serve with a thread per connection.
    fn serve_forever(self, args: &ServerArgs, max_threads: usize) -> ! {
        let addr = lsbaws::net::resolve(&args.host, args.port);
        let threading = Threading::with_max_threads(max_threads);
        let server = Server::<Tcp, Threading, HttpServer2>::bind(
            addr,
            args.backlog_or(1024),
            threading,
            self,
        )
        .unwrap_or_else(|(what, errno)| die(format!("{what} on {addr}"), errno));
        lsbaws::net::print_banner(server.local_addr().or_die("getsockname()").port());
        server.serve_forever()
    }

    /// One request: data under `/api/`, pages from the site otherwise.
    fn respond(&self, request: &Request) -> Response {
        self.requests.fetch_add(1, Relaxed);
        let mut response = match request.path.strip_prefix("/api/") {
            Some(endpoint) => self.data(endpoint, request),
            None => return self.site.respond(request),
        };
        response.head_only = request.method == "HEAD";
        response
    }
}
// ANCHOR_END: type

// ANCHOR: handler
/// Each connection, in its own thread: HTTP/1.1 with keep-alive until the
/// client closes, sends `Connection: close`, or stays idle too long.
impl Handler for HttpServer2 {
    fn timeout(&self) -> Option<Duration> {
        Some(self.idle_timeout)
    }

    fn handle(&self, connection: &mut Connection<'_>) -> io::Result<()> {
        self.connections.fetch_add(1, Relaxed);
        self.open_connections.fetch_add(1, Relaxed);
        let client = connection.client_address;
        let served = serve_blocking(connection, Limits::default(), |request| {
            let response = self.respond(request);
            if !self.quiet {
                log(client, request, &response);
            }
            response
        });
        self.open_connections.fetch_sub(1, Relaxed);
        served
    }
}
// ANCHOR_END: handler

// ANCHOR: data
impl HttpServer2 {
    /// `/api/square?n=12`, `/api/query?...`, `/api/stats`, as JSON.
    fn data(&self, endpoint: &str, request: &Request) -> Response {
        if request.method != "GET" && request.method != "HEAD" {
            return json(405, Object::new().string("error", "use GET"))
                .with_header("Allow", "GET, HEAD");
        }
        let Some(query) = lsbaws::urlencoded::parse(&request.query) else {
            return json(400, Object::new().string("error", "malformed query string"));
        };
        match endpoint {
            "square" => {
                let n = lsbaws::urlencoded::value(&query, "n").and_then(|n| n.parse::<i64>().ok());
                match n.and_then(|n| Some((n, n.checked_mul(n)?))) {
                    Some((n, square)) => {
                        json(200, Object::new().number("n", n).number("square", square))
                    }
                    None => json(
                        400,
                        Object::new()
                            .string("error", "n must be an integer whose square fits in 64 bits"),
                    ),
                }
            }
            "query" => {
                // Every name with all its values, in order: ?a=1&a=2 → {"a":["1","2"]}
                let mut names: Vec<&str> = Vec::new();
                for (name, _) in &query {
                    if !names.contains(&name.as_str()) {
                        names.push(name);
                    }
                }
                let object = names.into_iter().fold(Object::new(), |object, name| {
                    object.strings(
                        name,
                        query
                            .iter()
                            .filter(|(n, _)| n == name)
                            .map(|(_, v)| v.as_str()),
                    )
                });
                json(200, object)
            }
            "stats" => json(
                200,
                Object::new()
                    .number("requests", self.requests.load(Relaxed))
                    .number("connections", self.connections.load(Relaxed))
                    .number("open_connections", self.open_connections.load(Relaxed))
                    .number("uptime_seconds", self.started.elapsed().as_secs())
                    .number("pid", std::process::id()),
            ),
            _ => json(
                404,
                Object::new().string("error", "no such endpoint: try square, query or stats"),
            ),
        }
    }
}

fn json(status: u16, object: Object) -> Response {
    let body = format!("{}\n", object.finish()).into_bytes();
    Response::new(status).with_body(body, "application/json")
}
// ANCHOR_END: data

/// `127.0.0.1:5555 "GET /api/stats HTTP/1.1" 200 84 (thread 1234)`, with
/// the body bytes sent: one
/// println! per line, so lines from different threads never interleave.
fn log(client: std::net::SocketAddr, request: &Request, response: &Response) {
    println!(
        "{client} \"{} {} HTTP/1.{}\" {} {} (thread {})",
        request.method,
        request.target,
        request.minor_version,
        response.status,
        if response.head_only {
            0
        } else {
            response.body.len()
        },
        nix::unistd::gettid()
    );
}

fn main() {
    let args = Args::parse();
    let site = args.site.open();
    HttpServer2::new(site, args.idle_timeout, args.server.quiet)
        .serve_forever(&args.server, args.max_threads as usize)
}
