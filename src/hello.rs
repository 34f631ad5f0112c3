//! The request handler of Parts 1 and 3: read the request, print it, answer
//! `Hello, World!`.
//!
//! The Python original sent a bare `HTTP/1.1 200 OK\n\nHello, World!\n`.
//! Ours is the same body in a valid HTTP/1.1 response (CRLF line ends and a
//! Content-Length), so curl, browsers and wrk accept it. One consequence the
//! book points out: because the length is declared, curl finishes as soon as
//! the body arrives, even from `webserver3d`, which never closes the
//! connection; `nc` or `client3 --read-timeout` show the missing EOF.

use crate::report::warn_unless_disconnect;
use nix::errno::Errno;
use std::io::Write;
use std::os::fd::AsFd;

/// The body every Part 1/3 server answers with.
pub const BODY: &str = "Hello, World!\n";

/// The whole response: status line, headers, blank line, body.
pub const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Length: 14\r\n\
Connection: close\r\n\
\r\n\
Hello, World!\n";

/// [`RESPONSE`] without the empty line that ends its headers (webserver1's
/// `--no-blank-line`): a client reads `Hello, World!` as one more header
/// line, and the response has no body.
pub const RESPONSE_WITHOUT_BLANK_LINE: &[u8] = b"HTTP/1.1 200 OK\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Length: 14\r\n\
Connection: close\r\n\
Hello, World!\n";

/// How much of a request the handler reads at most. The original read 1024
/// bytes once; we read up to the blank line that ends the headers so that a
/// browser's longer request is read whole (closing a socket with unread
/// bytes makes the kernel send a reset, and the browser would show an error).
pub const MAX_REQUEST: usize = 8192;

/// Read one request (up to the end of its headers, EOF, or [`MAX_REQUEST`]
/// bytes), print it unless `quiet`, and send [`RESPONSE`].
///
/// A client that disconnects, sends nothing or sends garbage is a normal
/// event: the handler returns quietly and the server goes on.
pub fn handle_request(client: impl AsFd, quiet: bool) {
    let client = client.as_fd();
    let request = match read_request(client) {
        Ok(request) => request,
        Err(errno) => return warn_unless_disconnect("reading the request", errno),
    };
    if !quiet {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(String::from_utf8_lossy(&request).as_bytes());
        let _ = out.write_all(b"\n");
        let _ = out.flush();
    }
    if request.is_empty() {
        return; // connected and closed without a word: nothing to answer
    }
    if let Err(errno) = send_all(client, RESPONSE) {
        warn_unless_disconnect("sending the response", errno);
    }
}

/// Read until the blank line that ends the headers, EOF, or MAX_REQUEST bytes.
pub fn read_request(client: impl AsFd) -> nix::Result<Vec<u8>> {
    let client = client.as_fd();
    let mut request = Vec::with_capacity(1024);
    let mut buf = [0u8; 1024];
    while request.len() < MAX_REQUEST && !ends_headers(&request) {
        match nix::unistd::read(client, &mut buf) {
            Ok(0) => break,
            Ok(n) => request.extend_from_slice(&buf[..n]),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(request)
}

fn ends_headers(request: &[u8]) -> bool {
    request.windows(4).any(|w| w == b"\r\n\r\n") || request.windows(2).any(|w| w == b"\n\n")
}

/// `sendall`: write(2) until every byte is out (a write may take only part).
pub fn send_all(client: impl AsFd, mut bytes: &[u8]) -> nix::Result<()> {
    let client = client.as_fd();
    while !bytes.is_empty() {
        match nix::unistd::write(client, bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
