//! Knowing when an HTTP response has fully arrived.
//!
//! client3 does not need the response itself, only to know whether a whole
//! one came: a status line, headers up to the blank line, then a body as long
//! as the `Content-Length` header says. A response without Content-Length
//! (the original Python servers sent a bare `HTTP/1.1 200 OK\n\nHello,
//! World!\n`) ends where the connection ends, so it is complete at EOF.

/// Headers longer than this are not a response from our servers.
const MAX_HEAD: usize = 64 * 1024;

/// How the end of the body is found, once the headers are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// `Content-Length: N`: the body is N bytes.
    Length(usize),
    /// No Content-Length: the body runs until the server closes.
    UntilClose,
    /// Not an HTTP response at all: it never counts as received.
    NotHttp,
}

/// The bytes of one response so far. Feed it what read(2) returns.
#[derive(Debug, Default)]
pub struct Response {
    /// The status line and headers, until the blank line that ends them.
    head: Vec<u8>,
    /// Known once the head is complete.
    framing: Option<Framing>,
    /// Body bytes seen so far (only counted, not kept).
    body_len: usize,
}

impl Response {
    /// Take the next bytes read from the connection.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.framing.is_some() {
            self.body_len += bytes.len();
            return;
        }
        self.head.extend_from_slice(bytes);
        if let Some(end) = head_end(&self.head) {
            self.body_len = self.head.len() - end;
            self.head.truncate(end);
            self.framing = Some(framing_of(&self.head));
        } else if self.head.len() > MAX_HEAD {
            self.framing = Some(Framing::NotHttp);
        }
    }

    /// Has a whole response arrived? `at_eof`: the server has closed.
    pub fn is_complete(&self, at_eof: bool) -> bool {
        match self.framing {
            Some(Framing::Length(n)) => self.body_len >= n,
            Some(Framing::UntilClose) => at_eof,
            Some(Framing::NotHttp) | None => false,
        }
    }
}

/// Where the body starts: just after `\r\n\r\n` (or a bare `\n\n`).
fn head_end(bytes: &[u8]) -> Option<usize> {
    let crlf = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    let lf = bytes.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Read the status line and the Content-Length header.
fn framing_of(head: &[u8]) -> Framing {
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    if !lines
        .next()
        .is_some_and(|status| status.starts_with("HTTP/"))
    {
        return Framing::NotHttp;
    }
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                return match value.trim().parse() {
                    Ok(n) => Framing::Length(n),
                    Err(_) => Framing::NotHttp,
                };
            }
        }
    }
    Framing::UntilClose
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fed(chunks: &[&[u8]]) -> Response {
        let mut response = Response::default();
        for chunk in chunks {
            response.feed(chunk);
        }
        response
    }

    #[test]
    fn content_length_decides_when_the_body_is_complete() {
        let whole = fed(&[b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\nHello, World!\n"]);
        assert!(whole.is_complete(false));
        let short = fed(&[b"HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\nHello"]);
        assert!(!short.is_complete(false));
        assert!(!short.is_complete(true), "a cut-off body is not a response");
    }

    #[test]
    fn a_response_may_arrive_in_pieces() {
        let response = fed(&[
            b"HTTP/1.1 200 OK\r\nConte",
            b"nt-Length: 2\r\n\r",
            b"\nh",
            b"i",
        ]);
        assert!(response.is_complete(false));
    }

    #[test]
    fn without_content_length_the_response_ends_at_eof() {
        // What the original webserver3*.py sent.
        let response = fed(&[b"HTTP/1.1 200 OK\n\nHello, World!\n"]);
        assert!(!response.is_complete(false));
        assert!(response.is_complete(true));
    }

    #[test]
    fn other_bytes_are_not_a_response() {
        assert!(!fed(&[b"SSH-2.0-OpenSSH\r\n\r\n"]).is_complete(true));
        assert!(
            !fed(&[b"HTTP/1.1 200 OK\r\n"]).is_complete(true),
            "headers unfinished"
        );
        assert!(!fed(&[]).is_complete(true));
    }
}
