//! Parsing one HTTP/1.x request off the front of a buffer.
//!
//! The servers that must be robust parse with `httparse`, a small, fuzzed,
//! zero-copy parser used by hyper: hand-written request parsing is where
//! real servers grow their security bugs, and it is not this lab's lesson.
//! What `httparse` leaves to us is here: how much of the buffer one request
//! takes (head plus `Content-Length` body), the limits, the target's
//! percent-decoding, and whether the connection stays open.

use super::response::Response;
use super::text::Text;
use std::mem::MaybeUninit;

/// Bounds on what one request may take; past them the client gets an
/// error status instead of the server's memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Request line plus headers, in bytes (431 past it).
    pub max_head: usize,
    /// Number of header lines (431 past it).
    pub max_headers: usize,
    /// `Content-Length` of a request body (413 past it).
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_head: 16 * 1024,
            max_headers: 64,
            max_body: 1024 * 1024,
        }
    }
}

/// One parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `HEAD`, `POST`, ...
    pub method: Text,
    /// The request target exactly as sent (`/a%20b?x=1`).
    pub target: Text,
    /// The target's path, percent-decoded (`/a b`). Always starts with `/`.
    pub path: Text,
    /// The part after `?`, still encoded (`x=1`), or empty.
    pub query: Text,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor_version: u8,
    /// Header names and values in the order sent (values lossily UTF-8).
    pub headers: Vec<(Text, Text)>,
    /// The body (`Content-Length` bytes; empty without one).
    pub body: Vec<u8>,
}

impl Request {
    /// The first header of that name (case-insensitive), if any.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Does the client want the connection kept open after the response?
    /// HTTP/1.1 is persistent unless it says `Connection: close`; HTTP/1.0
    /// closes unless it says `Connection: keep-alive`.
    pub fn keep_alive(&self) -> bool {
        let tokens = self.header("connection").unwrap_or("");
        let says = |word: &str| {
            tokens
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case(word))
        };
        if self.minor_version >= 1 {
            !says("close")
        } else {
            says("keep-alive")
        }
    }
}

/// What the front of the buffer holds.
#[derive(Debug)]
pub enum Parse {
    /// A whole request, which took the first `consumed` bytes.
    Complete { request: Request, consumed: usize },
    /// Not a whole request yet: read more and try again.
    Incomplete,
    /// Not a request we can serve: send this error and close the connection
    /// (the rest of the stream cannot be trusted to start a request).
    Invalid(Response),
}

/// Header slots [`parse_request`] keeps on the stack; more (a larger
/// [`Limits::max_headers`]) go on the heap.
const STACK_HEADER_SLOTS: usize = 64;

/// Parse the request at the front of `buf`.
pub fn parse_request(buf: &[u8], limits: &Limits) -> Parse {
    // httparse fills slots we lend it. Up to the default 64 they live on
    // the stack, uninitialised: this runs once per request, and both a 2 KiB
    // heap allocation and a 2 KiB memset per request showed in the profile.
    let mut on_stack = [const { MaybeUninit::<httparse::Header>::uninit() }; STACK_HEADER_SLOTS];
    let mut on_heap = Vec::new();
    let header_slots: &mut [MaybeUninit<httparse::Header>] =
        if limits.max_headers <= STACK_HEADER_SLOTS {
            &mut on_stack[..limits.max_headers]
        } else {
            on_heap.resize_with(limits.max_headers, MaybeUninit::uninit);
            &mut on_heap
        };
    let mut parsed = httparse::Request::new(&mut []);
    let head_len = match parsed.parse_with_uninit_headers(buf, header_slots) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > limits.max_head => {
            return Parse::Invalid(Response::error(431))
        }
        Ok(httparse::Status::Partial) => return Parse::Incomplete,
        Err(httparse::Error::TooManyHeaders) => return Parse::Invalid(Response::error(431)),
        Err(httparse::Error::Version) => return Parse::Invalid(Response::error(505)),
        Err(_) => return Parse::Invalid(Response::error(400)),
    };
    if head_len > limits.max_head {
        return Parse::Invalid(Response::error(431));
    }
    // Complete means httparse filled these in.
    let method = known(parsed.method.unwrap_or_default(), METHODS);
    let target = parsed.path.unwrap_or_default();
    let minor_version = parsed.version.unwrap_or(1);
    let headers: Vec<(Text, Text)> = parsed
        .headers
        .iter()
        .map(|h| {
            (
                known(h.name, HEADER_NAMES),
                match std::str::from_utf8(h.value) {
                    Ok(value) => Text::copy_of(value),
                    Err(_) => Text::Owned(String::from_utf8_lossy(h.value).into_owned()),
                },
            )
        })
        .collect();

    let Some((path, query)) = split_target(target) else {
        return Parse::Invalid(Response::error(400));
    };
    let target = Text::copy_of(target);
    let mut request = Request {
        method,
        target,
        path,
        query,
        minor_version,
        headers,
        body: Vec::new(),
    };

    // A body we cannot delimit cannot be skipped either, so it ends the
    // connection: chunked request bodies are not supported (501).
    if request.header("transfer-encoding").is_some() {
        return Parse::Invalid(Response::error(501));
    }
    let body_len = match content_length(&request) {
        Ok(len) => len,
        Err(status) => return Parse::Invalid(Response::error(status)),
    };
    if body_len > limits.max_body {
        return Parse::Invalid(Response::error(413));
    }
    if buf.len() < head_len + body_len {
        return Parse::Incomplete;
    }
    request.body = buf[head_len..head_len + body_len].to_vec();
    Parse::Complete {
        request,
        consumed: head_len + body_len,
    }
}

/// Methods and header names common enough to be worth keeping as fixed
/// words (see [`Text`]), spelled as clients send them.
const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"];
const HEADER_NAMES: &[&str] = &[
    "Host",
    "User-Agent",
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Connection",
    "Content-Length",
    "Content-Type",
    "If-None-Match",
    "If-Modified-Since",
    "Range",
    "Cache-Control",
];

/// `word` as one of `table`'s fixed words if it is one (case and all),
/// or as a copy.
fn known(word: &str, table: &[&'static str]) -> Text {
    match table.iter().find(|fixed| **fixed == word) {
        Some(fixed) => Text::Static(fixed),
        None => Text::copy_of(word),
    }
}

/// The declared body length: 0 without the header; 400 for a malformed or
/// conflicting one (two different lengths are a request-smuggling trick).
fn content_length(request: &Request) -> Result<usize, u16> {
    let mut length = None;
    for (name, value) in &request.headers {
        if !name.eq_ignore_ascii_case("content-length") {
            continue;
        }
        let value = value.trim();
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(400);
        }
        let parsed: usize = value.parse().map_err(|_| 413u16)?;
        if length.is_some_and(|previous| previous != parsed) {
            return Err(400);
        }
        length = Some(parsed);
    }
    Ok(length.unwrap_or(0))
}

/// Split a request target into its decoded path and its raw query.
/// Accepts origin form (`/path?q`) and absolute form
/// (`http://host/path?q`, which proxies send); anything else is `None`.
fn split_target(target: &str) -> Option<(Text, Text)> {
    let origin = if target.starts_with('/') {
        target
    } else {
        let rest = target
            .strip_prefix("http://")
            .or_else(|| target.strip_prefix("https://"))?;
        match rest.find('/') {
            Some(slash) => &rest[slash..],
            None => "/",
        }
    };
    let (raw_path, query) = origin.split_once('?').unwrap_or((origin, ""));
    let raw_path = raw_path.split('#').next().unwrap_or(raw_path);
    Some((percent_decode(raw_path)?, Text::copy_of(query)))
}

/// Decode `%XX` escapes. `None` for a broken escape, a decoded NUL, or
/// bytes that are not UTF-8: no file name the site serves needs them.
pub fn percent_decode(text: &str) -> Option<Text> {
    let bytes = text.as_bytes();
    // Most paths have no escape: nothing to decode, and `text` is UTF-8.
    if !bytes.contains(&b'%') {
        return (!bytes.contains(&0)).then(|| Text::copy_of(text));
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    if out.contains(&0) {
        return None;
    }
    String::from_utf8(out).ok().map(Text::Owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &[u8]) -> Parse {
        parse_request(text, &Limits::default())
    }

    fn complete(text: &[u8]) -> (Request, usize) {
        match parse(text) {
            Parse::Complete { request, consumed } => (request, consumed),
            other => panic!("expected a complete request, got {other:?}"),
        }
    }

    fn invalid_status(text: &[u8]) -> u16 {
        match parse(text) {
            Parse::Invalid(response) => response.status,
            other => panic!("expected an invalid request, got {other:?}"),
        }
    }

    #[test]
    fn a_simple_get() {
        let text = b"GET /a%20b/c.html?x=1&y=%41 HTTP/1.1\r\nHost: h\r\n\r\n";
        let (request, consumed) = complete(text);
        assert_eq!(request.method, "GET");
        assert_eq!(request.path, "/a b/c.html");
        assert_eq!(request.query, "x=1&y=%41");
        assert_eq!(request.header("HOST"), Some("h"));
        assert_eq!(consumed, text.len());
        assert!(request.keep_alive());
    }

    #[test]
    fn words_are_kept_as_sent_however_they_are_held() {
        let long = "x".repeat(100);
        let mut bytes =
            format!("PATCH /{long} HTTP/1.1\r\nHost: h\r\nX-Long: {long}\r\nx-odd: a").into_bytes();
        bytes.push(0xff); // not UTF-8, as a client may send
        bytes.extend_from_slice(b"b\r\n\r\n");
        let (request, _) = complete(&bytes);
        assert_eq!(request.method, "PATCH");
        assert_eq!(request.path, format!("/{long}").as_str());
        assert_eq!(request.header("x-long"), Some(long.as_str()));
        assert_eq!(request.header("X-ODD"), Some("a\u{fffd}b"));
        let names: Vec<&str> = request.headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["Host", "X-Long", "x-odd"]);
    }

    #[test]
    fn split_across_reads_is_incomplete_until_the_end() {
        let whole = b"POST /form HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello";
        for cut in 0..whole.len() {
            assert!(
                matches!(parse(&whole[..cut]), Parse::Incomplete),
                "cut at {cut}"
            );
        }
        let (request, consumed) = complete(whole);
        assert_eq!(request.body, b"hello");
        assert_eq!(consumed, whole.len());
    }

    #[test]
    fn pipelined_requests_are_taken_one_at_a_time() {
        let two = b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n";
        let (first, consumed) = complete(two);
        assert_eq!(first.path, "/1");
        let (second, _) = complete(&two[consumed..]);
        assert_eq!(second.path, "/2");
    }

    #[test]
    fn connection_persistence_follows_the_version() {
        assert!(!complete(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
            .0
            .keep_alive());
        assert!(!complete(b"GET / HTTP/1.0\r\n\r\n").0.keep_alive());
        assert!(
            complete(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
                .0
                .keep_alive()
        );
    }

    #[test]
    fn absolute_form_keeps_only_the_path() {
        assert_eq!(
            complete(b"GET http://example.com/x?y HTTP/1.1\r\n\r\n")
                .0
                .path,
            "/x"
        );
        assert_eq!(
            complete(b"GET http://example.com HTTP/1.1\r\n\r\n").0.path,
            "/"
        );
    }

    #[test]
    fn bad_requests_get_their_status() {
        assert_eq!(invalid_status(b"\x00\xff garbage\r\n\r\n"), 400);
        assert_eq!(invalid_status(b"GET / HTTP/2.0\r\n\r\n"), 505);
        assert_eq!(invalid_status(b"GET /%zz HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(invalid_status(b"GET /a%00b HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(invalid_status(b"GET * HTTP/1.1\r\n\r\n"), 400);
        assert_eq!(
            invalid_status(b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
            400
        );
        assert_eq!(
            invalid_status(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"),
            400
        );
        assert_eq!(
            invalid_status(b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"),
            413
        );
        assert_eq!(
            invalid_status(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            501
        );
    }

    #[test]
    fn an_endless_head_is_refused() {
        let mut endless = b"GET / HTTP/1.1\r\n".to_vec();
        while endless.len() <= Limits::default().max_head {
            endless.extend_from_slice(b"X-Filler: 0123456789\r\n");
        }
        let status = match parse(&endless) {
            Parse::Invalid(response) => response.status,
            other => panic!("{other:?}"),
        };
        assert_eq!(status, 431);
    }
}
