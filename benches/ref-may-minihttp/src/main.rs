//! `ref-may-minihttp PORT FILE [WORKERS]`: answer every request with the
//! bytes of FILE (read once, at start), on 127.0.0.1:PORT, with WORKERS
//! may scheduler threads (default 1, to compare with a one-worker nginx and
//! one-threaded event loops on the same core).
//!
//! A benchmark reference, not a file server: it is the hello-world ceiling,
//! what a minimal server with batched responses reaches on this machine.

use may_minihttp::{HttpServer, HttpService, Request, Response};
use std::io;
use std::sync::Arc;

#[derive(Clone)]
struct Fixed(Arc<Vec<u8>>);

impl HttpService for Fixed {
    fn call(&mut self, _request: Request, response: &mut Response) -> io::Result<()> {
        response.header("Content-Type: text/plain; charset=utf-8");
        response.body_mut().extend_from_slice(&self.0);
        Ok(())
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: ref-may-minihttp PORT FILE [WORKERS]";
    let (Some(port), Some(file)) = (args.get(1), args.get(2)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let workers: usize = args.get(3).and_then(|w| w.parse().ok()).unwrap_or(1);
    let body = std::fs::read(file).unwrap_or_else(|e| {
        eprintln!("ref-may-minihttp: cannot read {file}: {e}");
        std::process::exit(1);
    });
    may::config().set_workers(workers);
    let server = HttpServer(Fixed(Arc::new(body)))
        .start(format!("127.0.0.1:{port}"))
        .unwrap_or_else(|e| {
            eprintln!("ref-may-minihttp: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        });
    println!("Serving HTTP on port {port} ...");
    server.join().ok();
}
