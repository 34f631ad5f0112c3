//! Building a response: status line, headers, blank line, body.

use super::text::Text;
use std::sync::Arc;

/// A response about to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Headers other than `Content-Length` and `Connection`, which
    /// [`Response::to_bytes`] writes itself.
    pub headers: Vec<(Text, Text)>,
    pub body: Body,
    /// Send the headers but not the body (the answer to HEAD).
    pub head_only: bool,
    /// Declare the body's length. Without it the client can only find the
    /// end of the body by the connection closing (Part 4's lesson in 4d).
    pub content_length: bool,
}

impl Response {
    /// An empty response with this status.
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Body::default(),
            head_only: false,
            content_length: true,
        }
    }

    /// A small `text/plain` error page: `404 Not Found`.
    pub fn error(status: u16) -> Response {
        let text = format!("{status} {}\n", reason(status));
        Response::new(status).with_body(text.into_bytes(), "text/plain; charset=utf-8")
    }

    /// Add a header. A name or value known when the program was built
    /// (`"Content-Type"`) costs no allocation; see [`Text`].
    pub fn with_header(mut self, name: impl Into<Text>, value: impl Into<Text>) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn with_body(mut self, body: impl Into<Body>, content_type: &'static str) -> Response {
        self.body = body.into();
        self.with_header("Content-Type", content_type)
    }

    /// Does the response already have this header (a gateway application
    /// may send its own `Date`)?
    pub fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }

    /// The status line and headers, ending with the blank line.
    /// `keep_alive` says whether the server will keep the connection open.
    pub fn head(&self, keep_alive: bool) -> Vec<u8> {
        let mut head = Vec::with_capacity(128);
        self.write_head_to(&mut head, keep_alive);
        head
    }

    /// Append the status line and headers to `out`, in place: no head
    /// built on the side and copied over (once per response).
    fn write_head_to(&self, out: &mut Vec<u8>, keep_alive: bool) {
        for part in [
            b"HTTP/1.1 ".as_slice(),
            &decimal(u64::from(self.status)),
            b" ",
            reason(self.status).as_bytes(),
        ] {
            out.extend_from_slice(part);
        }
        out.extend_from_slice(b"\r\nServer: lsbaws\r\n");
        if !self.has_header("Date") {
            out.extend_from_slice(b"Date: ");
            super::date::write_now(out);
            out.extend_from_slice(b"\r\n");
        }
        for (name, value) in &self.headers {
            for part in [name.as_bytes(), b": ", value.as_bytes(), b"\r\n"] {
                out.extend_from_slice(part);
            }
        }
        if self.content_length {
            out.extend_from_slice(b"Content-Length: ");
            out.extend_from_slice(&decimal(self.body.len() as u64));
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(if keep_alive {
            b"Connection: keep-alive\r\n\r\n"
        } else {
            b"Connection: close\r\n\r\n"
        });
    }

    /// Append the whole response (head, and body unless `head_only`) to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>, keep_alive: bool) {
        let body: &[u8] = if self.head_only { &[] } else { &self.body };
        out.reserve(160 + body.len());
        self.write_head_to(out, keep_alive);
        out.extend_from_slice(body);
    }

    /// The whole response as bytes.
    pub fn to_bytes(&self, keep_alive: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.body.len() + 160);
        self.write_to(&mut out, keep_alive);
        out
    }
}

/// A response's body: bytes of its own, or bytes shared with the file
/// cache (a cached 1 MiB file is sent from the cache's copy, not copied
/// for every request). Either way it reads, and compares, as a `[u8]`.
#[derive(Clone)]
pub enum Body {
    Owned(Vec<u8>),
    Shared(Arc<[u8]>),
    /// Part of bytes shared with the cache (a `Range` answer), not copied.
    Part(Arc<[u8]>, std::ops::Range<usize>),
}

impl Body {
    /// These bytes in `range` (within them): shared bytes stay shared.
    pub fn slice(self, range: std::ops::Range<usize>) -> Body {
        match self {
            Body::Owned(mut bytes) => {
                bytes.truncate(range.end);
                bytes.drain(..range.start);
                Body::Owned(bytes)
            }
            Body::Shared(bytes) => Body::Part(bytes, range),
            Body::Part(bytes, outer) => {
                Body::Part(bytes, outer.start + range.start..outer.start + range.end)
            }
        }
    }
}

impl Default for Body {
    fn default() -> Body {
        Body::Owned(Vec::new())
    }
}

impl std::ops::Deref for Body {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Body::Owned(bytes) => bytes,
            Body::Shared(bytes) => bytes,
            Body::Part(bytes, range) => &bytes[range.clone()],
        }
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body::Owned(bytes)
    }
}

impl From<Arc<[u8]>> for Body {
    fn from(bytes: Arc<[u8]>) -> Body {
        Body::Shared(bytes)
    }
}

impl PartialEq for Body {
    fn eq(&self, other: &Body) -> bool {
        **self == **other
    }
}

impl Eq for Body {}

impl<const N: usize> PartialEq<&[u8; N]> for Body {
    fn eq(&self, other: &&[u8; N]) -> bool {
        **self == other[..]
    }
}

impl PartialEq<Vec<u8>> for Body {
    fn eq(&self, other: &Vec<u8>) -> bool {
        **self == other[..]
    }
}

/// A number in decimal, without `fmt`'s machinery (which showed in the
/// profile of a pipelined hello: two formatted numbers per response).
struct Decimal([u8; 20], usize);

impl std::ops::Deref for Decimal {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0[self.1..]
    }
}

fn decimal(mut n: u64) -> Decimal {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    Decimal(digits, start)
}

/// The reason phrase for the statuses this lab sends.
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        416 => "Range Not Satisfiable",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_on_the_wire() {
        let response = Response::new(200).with_body(b"hi".to_vec(), "text/plain");
        let text = String::from_utf8(response.to_bytes(true)).unwrap();
        // The Date line, 37 bytes, comes right after Server's.
        let start = text.find("Date: ").unwrap();
        let date = &text[start + 6..start + 35];
        assert!(super::super::date::parse(date).is_some(), "{date:?}");
        assert_eq!(
            format!("{}{}", &text[..start], &text[start + 37..]),
            "HTTP/1.1 200 OK\r\nServer: lsbaws\r\nContent-Type: text/plain\r\n\
Content-Length: 2\r\nConnection: keep-alive\r\n\r\nhi"
        );
    }

    #[test]
    fn a_date_of_its_own_is_not_doubled() {
        let response = Response::new(200).with_header("date", "Sun, 06 Nov 1994 08:49:37 GMT");
        let text = String::from_utf8(response.to_bytes(true)).unwrap();
        assert_eq!(
            text.to_ascii_lowercase().matches("date:").count(),
            1,
            "{text}"
        );
    }

    #[test]
    fn a_slice_of_a_body_shares_or_cuts_its_bytes() {
        let shared: Arc<[u8]> = b"0123456789".to_vec().into();
        let part = Body::Shared(shared.clone()).slice(2..8).slice(1..3);
        assert_eq!(part, b"34");
        assert!(matches!(part, Body::Part(bytes, _) if Arc::ptr_eq(&bytes, &shared)));
        assert_eq!(Body::Owned(b"0123456789".to_vec()).slice(9..10), b"9");
    }

    #[test]
    fn numbers_in_decimal() {
        for n in [0, 7, 10, 200, 1_048_576, u64::MAX] {
            assert_eq!(&*decimal(n), n.to_string().as_bytes());
        }
    }

    #[test]
    fn head_keeps_the_length_but_not_the_body() {
        let mut response = Response::error(404);
        response.head_only = true;
        let bytes = String::from_utf8(response.to_bytes(false)).unwrap();
        assert!(
            bytes.ends_with("Content-Length: 14\r\nConnection: close\r\n\r\n"),
            "{bytes}"
        );
    }
}
