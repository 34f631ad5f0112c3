//! criterion benches of the servers' library's hot paths: what every
//! request costs the shared HTTP core before any syscall of the
//! concurrency model.
//!
//! `cargo bench --manifest-path xtask/Cargo.toml --bench hot_paths`
//! (they live in the xtask package so that the course's `cargo test` never
//! compiles criterion).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lsbaws::http::site::default_root;
use lsbaws::http::{parse_request, Limits, Parse, Request, Response, Session, Site};

/// What wrk sends.
const WRK_GET: &[u8] = b"GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
/// What a browser sends.
const BROWSER_GET: &[u8] = b"GET /guide/index.html HTTP/1.1\r\nHost: localhost:8888\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n\
Connection: keep-alive\r\nUpgrade-Insecure-Requests: 1\r\nSec-Fetch-Dest: document\r\n\
Sec-Fetch-Mode: navigate\r\nSec-Fetch-Site: none\r\nPriority: u=0, i\r\n\r\n";

fn request(text: &[u8]) -> Request {
    match parse_request(text, &Limits::default()) {
        Parse::Complete { request, .. } => request,
        other => panic!("{other:?}"),
    }
}

fn parsing(c: &mut Criterion) {
    let limits = Limits::default();
    c.bench_function("parse_request/wrk GET", |b| b.iter(|| parse_request(black_box(WRK_GET), &limits)));
    c.bench_function("parse_request/browser GET", |b| b.iter(|| parse_request(black_box(BROWSER_GET), &limits)));
}

fn resolving(c: &mut Criterion) {
    let site = Site::open(default_root()).expect("the sample site");
    let hello = request(WRK_GET);
    let index = request(b"GET /guide/ HTTP/1.1\r\n\r\n");
    // Path resolution alone (canonicalize, the slow path), then the whole
    // answer: fast-path open + fstat + read of the file.
    c.bench_function("site/lookup /hello.txt (canonicalize)", |b| b.iter(|| site.lookup(black_box("/hello.txt"))));
    c.bench_function("site/respond /hello.txt", |b| b.iter(|| site.respond(black_box(&hello))));
    c.bench_function("site/respond /guide/ (index.html)", |b| b.iter(|| site.respond(black_box(&index))));
}

fn responding(c: &mut Criterion) {
    let response = Response::new(200).with_body(b"Hello, World!".to_vec(), "text/plain; charset=utf-8");
    c.bench_function("response/head", |b| b.iter(|| black_box(&response).head(true)));
    let mut out = Vec::with_capacity(4096);
    c.bench_function("response/write_to", |b| {
        b.iter(|| {
            out.clear();
            black_box(&response).write_to(&mut out, true);
        })
    });
    let pipelined = WRK_GET.repeat(16);
    let hello = |_: &Request| response.clone();
    c.bench_function("session/16 pipelined requests", |b| {
        b.iter(|| {
            let mut session = Session::new(Limits::default());
            session.receive(black_box(&pipelined), hello);
            black_box(session.pending().len())
        })
    });
}

fn serving(c: &mut Criterion) {
    // The whole core path a pipelining client exercises: parse, look up
    // (the cached file, checked once per batch), build, queue.
    let site = Site::open(default_root()).expect("the sample site");
    let pipelined = WRK_GET.repeat(16);
    c.bench_function("session/16 pipelined GET /hello.txt from the site", |b| {
        b.iter(|| {
            let mut session = Session::new(Limits::default());
            session.receive(black_box(&pipelined), |r| site.respond(r));
            black_box(session.pending().len())
        })
    });
}

fn static_headers(c: &mut Criterion) {
    use lsbaws::http::validators::{FileVersion, Validators};
    use lsbaws::http::{date, range};
    use std::time::SystemTime;
    // The Date header: from this thread's once-a-second cache (what every
    // response pays), against formatting it every time.
    let now = date::unix_now();
    c.bench_function("date/cached (per response)", |b| {
        b.iter(|| date::text_of_second(black_box(now)))
    });
    c.bench_function("date/formatted every time", |b| {
        b.iter(|| date::format_seconds(black_box(now)))
    });
    let mut out = Vec::with_capacity(64);
    c.bench_function("date/write_now (clock read + cache)", |b| {
        b.iter(|| {
            out.clear();
            date::write_now(black_box(&mut out));
        })
    });
    // Validators: made per response, then checked against what a browser
    // sends back on a reload.
    let version = FileVersion {
        size: 13,
        mtime: (1_765_000_000, 123_456_789),
        ctime: (1_765_000_000, 123_456_789),
    };
    let when = SystemTime::now();
    c.bench_function("validators/new", |b| {
        b.iter(|| Validators::new(black_box(&version), when))
    });
    c.bench_function("validators/for_file (this thread's last ones)", |b| {
        b.iter(|| Validators::for_file(black_box(&version), when))
    });
    let validators = Validators::new(&version, when);
    let tag = validators.etag();
    let since = validators.last_modified_text();
    c.bench_function("validators/If-None-Match check", |b| {
        b.iter(|| validators.none_match_fails(black_box(&tag)))
    });
    c.bench_function("validators/If-Modified-Since check", |b| {
        b.iter(|| validators.not_modified_since(black_box(&since)))
    });
    // Range parsing: what a video player and `curl -C -` send.
    c.bench_function("range/bytes=0-99", |b| b.iter(|| range::parse(black_box("bytes=0-99"), 1 << 20)));
    c.bench_function("range/bytes=300000-", |b| b.iter(|| range::parse(black_box("bytes=300000-"), 1 << 20)));
    // The whole answer through the site: a revalidation (304) and a range
    // (206, sliced from the cached bytes).
    let site = Site::open(default_root()).expect("the sample site");
    let plain = site.respond(&request(WRK_GET));
    let etag = plain.headers.iter().find(|(n, _)| n == "ETag").map(|(_, v)| v.clone()).unwrap_or_default();
    let revalidate = request(format!("GET /hello.txt HTTP/1.1\r\nIf-None-Match: {etag}\r\n\r\n").as_bytes());
    c.bench_function("site/respond /hello.txt If-None-Match (304)", |b| b.iter(|| site.respond(black_box(&revalidate))));
    let ranged = request(b"GET /files/one-mebibyte.bin HTTP/1.1\r\nRange: bytes=300000-\r\n\r\n");
    c.bench_function("site/respond 1 MiB file Range (206)", |b| b.iter(|| site.respond(black_box(&ranged))));
}

criterion_group!(benches, parsing, resolving, responding, serving, static_headers);
criterion_main!(benches);
