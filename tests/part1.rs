//! Part 1: the smallest server answers like a web server and shows the
//! request it received.

use lsbaws_harness::client::{get, read_response, send_get, wait_for_eof, AfterResponse};
use lsbaws_harness::Launch;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn webserver1_answers_hello_and_prints_the_request() {
    let server = Launch::new("webserver1").start().unwrap();

    let mut stream = send_get(server.addr()).unwrap();
    let response = read_response(&mut stream, WAIT).unwrap();
    assert_eq!(response.status_line(), "HTTP/1.1 200 OK");
    assert_eq!(response.body, b"Hello, World!\n");
    // The server closes the connection after each response: curl and a
    // browser see the end of the stream.
    assert_eq!(wait_for_eof(&mut stream, WAIT).unwrap(), AfterResponse::Eof);

    // Iterative, but it goes on serving.
    assert_eq!(get(server.addr(), WAIT).unwrap().body, b"Hello, World!\n");
    server
        .wait_until(WAIT, "the request to be printed", |s| {
            s.stdout().contains("GET /hello HTTP/1.1")
        })
        .unwrap();
}
