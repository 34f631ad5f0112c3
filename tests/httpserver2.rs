//! HTTPServer 2.0: the shipped site and the JSON endpoints, under many
//! clients at once, with keep-alive, an idle timeout and a thread cap.

use lsbaws::http::site::default_root;
use lsbaws_harness::client::{read_response, wait_for_eof, AfterResponse, Response};
use lsbaws_harness::site_check::{assert_curl_fetches_site, assert_keep_alive};
use lsbaws_harness::{Launch, Server};
use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn start(args: &[&str]) -> Server {
    Launch::new("httpserver2")
        .arg("--quiet")
        .args(args)
        .start()
        .unwrap()
}

/// Send one request on `stream` (kept open), read its response.
fn ask(stream: &mut TcpStream, method: &str, target: &str) -> Response {
    stream
        .write_all(format!("{method} {target} HTTP/1.1\r\nHost: test\r\n\r\n").as_bytes())
        .unwrap();
    read_response(stream, WAIT).unwrap_or_else(|e| panic!("{method} {target}: {e}"))
}

fn get(addr: SocketAddr, target: &str) -> Response {
    ask(&mut TcpStream::connect(addr).unwrap(), "GET", target)
}

fn body(response: &Response) -> String {
    String::from_utf8_lossy(&response.body).into_owned()
}

#[test]
fn pages_and_data_under_concurrent_clients() {
    let server = start(&[]);
    let addr = server.addr();
    let index = std::fs::read(default_root().join("index.html")).unwrap();
    let css = std::fs::read(default_root().join("style.css")).unwrap();
    const CLIENTS: usize = 32;
    let clients: Vec<_> = (0..CLIENTS as i64)
        .map(|i| {
            let (index, css) = (index.clone(), css.clone());
            std::thread::spawn(move || {
                // Four requests on one kept-alive connection.
                let mut stream = TcpStream::connect(addr).unwrap();
                let page = ask(&mut stream, "GET", "/");
                assert_eq!(page.status_line(), "HTTP/1.1 200 OK");
                assert!(page.body == index, "client {i}: wrong index.html");
                let square = ask(&mut stream, "GET", &format!("/api/square?n={i}"));
                assert_eq!(
                    body(&square),
                    format!("{{\"n\":{i},\"square\":{}}}\n", i * i)
                );
                assert!(square.head.contains("Content-Type: application/json"));
                assert!(
                    ask(&mut stream, "GET", "/style.css").body == css,
                    "client {i}: wrong style.css"
                );
                let query = ask(
                    &mut stream,
                    "GET",
                    &format!("/api/query?client={i}&tag=a+b&tag=%22q%22"),
                );
                assert_eq!(
                    body(&query),
                    format!("{{\"client\":[\"{i}\"],\"tag\":[\"a b\",\"\\\"q\\\"\"]}}\n")
                );
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
    // The counters are shared by every connection's thread.
    let stats = body(&get(addr, "/api/stats"));
    assert!(
        stats.contains(&format!("\"connections\":{}", CLIENTS + 1)),
        "{stats}"
    );
    assert!(
        stats.contains(&format!("\"requests\":{}", CLIENTS * 4 + 1)),
        "{stats}"
    );
    assert!(
        stats.contains(&format!("\"pid\":{}", server.pid())),
        "{stats}"
    );
}

#[test]
fn curl_fetches_the_whole_site_with_keep_alive() {
    let server = start(&[]);
    assert_curl_fetches_site(server.addr(), &default_root());
    assert_keep_alive(server.addr(), &default_root(), 20);
}

#[test]
fn json_errors_and_methods() {
    let server = start(&[]);
    let addr = server.addr();
    for (target, status, text) in [
        ("/api/square", "400 Bad Request", "n must be an integer"),
        (
            "/api/square?n=ten",
            "400 Bad Request",
            "n must be an integer",
        ),
        (
            "/api/square?n=4000000000",
            "400 Bad Request",
            "fits in 64 bits",
        ),
        (
            "/api/square?n=%zz",
            "400 Bad Request",
            "malformed query string",
        ),
        ("/api/nothing", "404 Not Found", "no such endpoint"),
    ] {
        let response = get(addr, target);
        assert_eq!(
            response.status_line(),
            format!("HTTP/1.1 {status}"),
            "{target}"
        );
        assert!(
            body(&response).starts_with("{\"error\":\"") && body(&response).contains(text),
            "{target}: {}",
            body(&response)
        );
    }
    let mut stream = TcpStream::connect(addr).unwrap();
    let post = ask(&mut stream, "POST", "/api/stats");
    assert_eq!(post.status_line(), "HTTP/1.1 405 Method Not Allowed");
    assert!(post.head.contains("Allow: GET, HEAD"));
    // HEAD: the head GET would get, with its length, and no body.
    let mut raw = TcpStream::connect(addr).unwrap();
    raw.write_all(b"HEAD /api/square?n=3 HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut raw, &mut text).unwrap();
    assert!(
        text.ends_with("Content-Length: 19\r\nConnection: close\r\n\r\n"),
        "{text}"
    );
    // Traversal stays inside the site.
    assert!(get(addr, "/../Cargo.toml")
        .status_line()
        .starts_with("HTTP/1.1 4"));
}

#[test]
fn an_idle_client_neither_blocks_others_nor_keeps_its_thread() {
    let server = start(&["--idle-timeout", "1"]);
    let mut silent = server.connect();
    // Others are served while the silent one holds its thread.
    for i in 0..5 {
        assert_eq!(
            body(&get(server.addr(), &format!("/api/square?n={i}"))),
            format!("{{\"n\":{i},\"square\":{}}}\n", i * i)
        );
    }
    // After the idle timeout its thread closes the connection.
    assert_eq!(
        wait_for_eof(&mut silent, Duration::from_secs(5)).unwrap(),
        AfterResponse::Eof
    );
    // A kept-alive connection that goes quiet is closed the same way.
    let mut idle = server.connect();
    assert_eq!(
        ask(&mut idle, "GET", "/hello.txt").status_line(),
        "HTTP/1.1 200 OK"
    );
    assert_eq!(
        wait_for_eof(&mut idle, Duration::from_secs(5)).unwrap(),
        AfterResponse::Eof
    );
}

fn threads_of(server: &Server) -> usize {
    std::fs::read_dir(format!("/proc/{}/task", server.pid()))
        .unwrap()
        .count()
}

#[test]
fn the_thread_cap_queues_connections_instead_of_spawning_more() {
    let server = start(&["--max-threads", "2", "--idle-timeout", "30"]);
    let mut first = server.connect();
    let mut second = server.connect();
    assert_eq!(
        ask(&mut first, "GET", "/hello.txt").status_line(),
        "HTTP/1.1 200 OK"
    );
    assert_eq!(
        ask(&mut second, "GET", "/hello.txt").status_line(),
        "HTTP/1.1 200 OK"
    );
    assert_eq!(
        threads_of(&server),
        3,
        "the main thread and one per connection"
    );

    // Both threads are busy with their kept-alive connections: the third
    // client is accepted by the kernel but not served.
    let mut third = server.connect();
    third
        .write_all(b"GET /hello.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    match read_response(&mut third, Duration::from_millis(700)) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("the third client was served beyond the cap: {other:?}"),
    }
    assert_eq!(threads_of(&server), 3);

    drop(first); // its thread ends and frees a slot
    let answered = read_response(&mut third, WAIT).unwrap();
    assert_eq!(answered.status_line(), "HTTP/1.1 200 OK");
}

#[test]
fn rude_clients_do_not_stop_it() {
    let mut server = start(&[]);
    let garbage = {
        let mut stream = server.connect();
        stream.write_all(b"\x16\x03\x01 not http\r\n\r\n").unwrap();
        read_response(&mut stream, WAIT).unwrap()
    };
    assert_eq!(garbage.status_line(), "HTTP/1.1 400 Bad Request");
    drop(server.connect());
    let mut half = server.connect();
    half.write_all(b"GET / HTTP/1.1\r\nHo").unwrap();
    drop(half);
    assert_eq!(
        get(server.addr(), "/hello.txt").status_line(),
        "HTTP/1.1 200 OK"
    );
    assert!(server.is_running());
    assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
}
