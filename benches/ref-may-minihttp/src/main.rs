//! `ref-may-minihttp PORT FILE [WORKERS] [--with-validators]`: answer
//! every request with the bytes of FILE (read once, at start), on
//! 127.0.0.1:PORT, with WORKERS may scheduler threads (default 1, to compare
//! with a one-worker nginx and one-threaded event loops on the same core).
//!
//! A benchmark reference, not a file server: it is the hello-world ceiling,
//! what a minimal server with batched responses reaches on this machine.
//!
//! `--with-validators` adds the headers the lab's servers send with a file
//! and may_minihttp does not: `Last-Modified` and `ETag` (made once, from
//! FILE's metadata at start, by the lab's own code), `Accept-Ranges: bytes`
//! and `Connection: keep-alive`. Each answer is then within a few bytes of
//! the lab's, so that what the load generator spends reading them is the
//! same for both; the server still does none of the per-request work
//! (no file check, no conditional or range request looked at).

use lsbaws::http::validators::{FileVersion, Validators};
use may_minihttp::{HttpServer, HttpService, Request, Response};
use std::io;
use std::sync::Arc;

#[derive(Clone)]
struct Fixed(Arc<Vec<u8>>, &'static [&'static str]);

impl HttpService for Fixed {
    fn call(&mut self, _request: Request, response: &mut Response) -> io::Result<()> {
        response.header("Content-Type: text/plain; charset=utf-8");
        for line in self.1 {
            response.header(line);
        }
        response.body_mut().extend_from_slice(&self.0);
        Ok(())
    }
}

/// The header lines of `--with-validators`, for the file with this
/// metadata, made by the lab's own code (so they cannot drift from what
/// its servers send). may_minihttp takes only `&'static str` headers:
/// these are made once and live as long as the process.
fn validator_lines(metadata: &std::fs::Metadata) -> &'static [&'static str] {
    let version = FileVersion::of_metadata(metadata);
    let validators = Validators::new(&version, std::time::SystemTime::now());
    let lines = vec![
        format!("Last-Modified: {}", validators.last_modified_text()),
        format!("ETag: {}", validators.etag()),
        "Accept-Ranges: bytes".to_string(),
        "Connection: keep-alive".to_string(),
    ];
    let lines: Vec<&'static str> = lines.into_iter().map(|l| &*l.leak()).collect();
    lines.leak()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: ref-may-minihttp PORT FILE [WORKERS] [--with-validators]";
    let (Some(port), Some(file)) = (args.get(1), args.get(2)) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let workers: usize = args.get(3).and_then(|w| w.parse().ok()).unwrap_or(1);
    let body = std::fs::read(file).unwrap_or_else(|e| {
        eprintln!("ref-may-minihttp: cannot read {file}: {e}");
        std::process::exit(1);
    });
    let validators = args.iter().any(|a| a == "--with-validators");
    let extra = match std::fs::metadata(file) {
        Ok(metadata) if validators => validator_lines(&metadata),
        _ => &[],
    };
    may::config().set_workers(workers);
    let server = HttpServer(Fixed(Arc::new(body), extra))
        .start(format!("127.0.0.1:{port}"))
        .unwrap_or_else(|e| {
            eprintln!("ref-may-minihttp: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        });
    println!("Serving HTTP on port {port} ...");
    server.join().ok();
}
