//! One connection's HTTP state, apart from how its bytes move.
//!
//! A [`Session`] is fed the bytes that arrive and hands back the bytes to
//! send. It copes with what real clients do: a request split across many
//! reads, several requests in one read (pipelining), and a response larger
//! than the socket buffer (the writer takes what the kernel accepted and
//! comes back for the rest). The blocking models drive it with
//! [`serve_blocking`]; the event loops drive it from readiness events.

use super::request::{parse_request, Limits, Parse, Request};
use super::response::{Body, Response};
use crate::report::is_disconnect;
use std::collections::VecDeque;
use std::io::{self, Read, Write};

/// Answers queued and not yet written, in bytes, past which a session stops
/// answering further requests (and asks not to be read from) until the
/// client has taken some. Without it, a client that pipelines requests and
/// reads none of the answers makes the server build them all in memory:
/// 16 KiB of `GET /big-file` lines ask for hundreds of MiB.
pub const OUTPUT_HIGH_WATER: usize = 64 * 1024;

/// Buffer capacity a session keeps once its buffer is empty again. Past
/// it the buffer is freed: an idle keep-alive connection that fetched a
/// 1 MiB file would otherwise hold 1 MiB of output buffer for as long as it
/// stays open (10,000 of them: 10 GiB).
pub const RETAINED_CAPACITY: usize = 64 * 1024;

/// Bodies at least this big are queued as they are, not copied behind
/// their head: a cached 1 MiB file goes to `write(2)` straight from the
/// cache. Smaller ones are copied, so that the answers to a batch of
/// pipelined requests still leave in one `write`.
pub const SEPARATE_BODY: usize = 16 * 1024;

/// The protocol state of one connection.
#[derive(Debug, Default)]
pub struct Session {
    limits: Limits,
    /// Bytes received and not yet parsed into a request.
    input: Vec<u8>,
    /// Responses queued, in order: heads and small bodies copied into
    /// owned buffers, big bodies as they came (see [`SEPARATE_BODY`]).
    output: VecDeque<Body>,
    /// How much of the first buffer of `output` has been written.
    written: usize,
    /// Bytes queued and not yet written, over all of `output`.
    queued: usize,
    /// No more requests will be read: the last response says
    /// `Connection: close`, or the client went away.
    closing: bool,
    /// Answer every request with `Connection: close`, whatever the client
    /// asked for (a server without keep-alive, such as `webserver4c`).
    no_keep_alive: bool,
}

impl Session {
    pub fn new(limits: Limits) -> Session {
        Session {
            limits,
            ..Session::default()
        }
    }

    /// Close the connection after the first response, even if the client
    /// asked to keep it open: one request per connection.
    pub fn without_keep_alive(mut self) -> Session {
        self.no_keep_alive = true;
        self
    }

    /// Bytes arrived: answer every complete request among them, in order,
    /// by queueing `handler`'s responses.
    /// Past [`OUTPUT_HIGH_WATER`] of queued output the remaining requests
    /// wait in the buffer; [`Session::answer`] takes them up.
    pub fn receive(&mut self, bytes: &[u8], handler: impl FnMut(&Request) -> Response) {
        if self.closing {
            return; // after `Connection: close` the rest is ignored
        }
        self.input.extend_from_slice(bytes);
        self.answer(handler);
    }

    /// Bytes arrived while the output must stay as it is (a completion-based
    /// server has lent the pending bytes to the kernel, which is sending
    /// them): keep them unanswered; [`Session::answer`] takes them up.
    pub fn hold(&mut self, bytes: &[u8]) {
        if !self.closing {
            self.input.extend_from_slice(bytes);
        }
    }

    /// Bytes received and not yet answered (a partial request, or requests
    /// waiting behind [`OUTPUT_HIGH_WATER`] or held by [`Session::hold`]).
    pub fn unanswered(&self) -> usize {
        self.input.len()
    }

    /// Answer the requests already received and not yet answered, as far
    /// as [`OUTPUT_HIGH_WATER`] allows. Call it after writing: requests that
    /// waited for the output to drain are answered now.
    pub fn answer(&mut self, mut handler: impl FnMut(&Request) -> Response) {
        // Everything answered in this pass has already arrived. The guard
        // lives only while `handler` runs: never across a coroutine switch
        // (see `BatchGuard`).
        let _batch = super::fast::BatchGuard::begin();
        let mut start = 0;
        while !self.closing && self.queued < OUTPUT_HIGH_WATER {
            match parse_request(&self.input[start..], &self.limits) {
                Parse::Complete { request, consumed } => {
                    start += consumed;
                    let keep_alive = request.keep_alive() && !self.no_keep_alive;
                    self.queue(handler(&request), keep_alive);
                    self.closing = !keep_alive;
                }
                Parse::Incomplete => break,
                Parse::Invalid(response) => {
                    self.queue(response, false);
                    self.closing = true;
                }
            }
        }
        self.input.drain(..start);
        if self.input.is_empty() && self.input.capacity() > RETAINED_CAPACITY {
            self.input = Vec::new();
        }
    }

    /// The client closed its side: finish sending, then close.
    pub fn peer_closed(&mut self) {
        self.closing = true;
    }

    /// Queue `response`: its head, and its body unless it answers a HEAD.
    fn queue(&mut self, mut response: Response, keep_alive: bool) {
        let separate = !response.head_only && response.body.len() >= SEPARATE_BODY;
        response.head_only |= separate; // then the head alone, with the body's length
        let buffer = self.last_buffer();
        let before = buffer.len();
        response.write_to(buffer, keep_alive);
        self.queued += buffer.len() - before;
        if separate {
            self.queued += response.body.len();
            self.output.push_back(std::mem::take(&mut response.body));
            // The next heads go into a buffer of their own, not behind the body.
            self.output.push_back(Body::Owned(Vec::new()));
        }
    }

    /// The owned buffer at the end of the queue, for heads and small bodies.
    fn last_buffer(&mut self) -> &mut Vec<u8> {
        if self.output.is_empty() {
            self.output.push_back(Body::Owned(Vec::new()));
        }
        match self.output.back_mut() {
            Some(Body::Owned(buffer)) => buffer,
            _ => unreachable!("a separate body is always followed by an owned buffer"),
        }
    }

    /// Bytes queued and not yet written: the rest of the first buffer of
    /// the queue (a writer that wrote all of it asks again for the next).
    pub fn pending(&self) -> &[u8] {
        self.output
            .front()
            .map_or(&[], |first| &first[self.written..])
    }

    /// `n` bytes of [`Session::pending`] were written.
    pub fn wrote(&mut self, n: usize) {
        self.written += n;
        self.queued -= n;
        let last = self.output.len() == 1;
        let Some(first) = self.output.front_mut() else {
            return;
        };
        if self.written < first.len() {
            return;
        }
        self.written = 0;
        match first {
            // The last buffer, written out: keep it for the next answers
            // unless it grew big (see RETAINED_CAPACITY).
            Body::Owned(buffer) if last && buffer.capacity() <= RETAINED_CAPACITY => buffer.clear(),
            _ => {
                self.output.pop_front();
            }
        }
    }

    /// Is it worth reading from the client? Not once no more requests will
    /// be answered, nor while the answers already queued exceed
    /// [`OUTPUT_HIGH_WATER`]: a client that sends without reading is then
    /// held back by TCP's flow control instead of by our memory.
    pub fn wants_read(&self) -> bool {
        !self.closing && self.queued < OUTPUT_HIGH_WATER
    }

    /// Is there anything to write?
    pub fn wants_write(&self) -> bool {
        self.queued > 0
    }

    /// Everything is written and no more requests will come: close now.
    pub fn is_finished(&self) -> bool {
        self.closing && !self.wants_write()
    }

    /// Has part of a request arrived and not yet been answered?
    pub fn has_partial_request(&self) -> bool {
        !self.input.is_empty()
    }
}

/// [`serve_blocking`]'s read buffer: its size at first, and at most.
const READ_BUFFER_START: usize = 4 * 1024;
const READ_BUFFER_MAX: usize = 16 * 1024;

/// Serve one connection with blocking reads and writes until either side
/// closes it. Disconnects and timeouts end it quietly (they are normal
/// events for a server); other errors are returned.
pub fn serve_blocking(
    stream: &mut (impl Read + Write),
    limits: Limits,
    mut handler: impl FnMut(&Request) -> Response,
) -> io::Result<()> {
    let mut session = Session::new(limits);
    // The read buffer starts small and grows when a read fills it: every
    // open connection (a process, a thread, a coroutine) holds one, and a
    // zeroed 16 KiB buffer is 16 KiB of memory per idle connection, where
    // a request line and a few headers fit in 4 KiB.
    let mut buf = vec![0u8; READ_BUFFER_START];
    while !session.is_finished() {
        // Write everything queued before reading more, then answer the
        // requests that waited for it (pipelined past the high-water mark).
        if session.wants_write() {
            match stream.write_all(session.pending()) {
                Ok(()) => session.wrote(session.pending().len()),
                Err(e) if is_normal_end(&e) => return Ok(()),
                Err(e) => return Err(e),
            }
            session.answer(&mut handler);
            continue;
        }
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_normal_end(&e) => return Ok(()),
            Err(e) => return Err(e),
        };
        session.receive(&buf[..n], &mut handler);
        if n == buf.len() && buf.len() < READ_BUFFER_MAX {
            buf.resize(READ_BUFFER_MAX, 0); // a big request or a pipelined burst
        }
    }
    Ok(())
}

/// Serve the files of `site` over one blocking connection until either
/// side closes it (or the socket's timeouts, if any, expire), printing a
/// line per request unless `quiet`. Only unexpected errors reach stderr.
pub fn serve_site(stream: &mut (impl Read + Write), site: &super::Site, quiet: bool) {
    let served = serve_blocking(stream, Limits::default(), |request| {
        site.respond_and_log(request, quiet)
    });
    if let Err(e) = served {
        crate::report::warn("serving a connection", e);
    }
}

/// [`serve_site`], where `/slow?ms=N` waits by calling `sleep` (see
/// [`super::load::respond_slow_and_log`]): how a model waits decides who
/// else is served meanwhile.
pub fn serve_site_with_slow_path(
    stream: &mut (impl Read + Write),
    site: &super::Site,
    quiet: bool,
    sleep: impl Fn(std::time::Duration),
) {
    let served = serve_blocking(stream, Limits::default(), |request| {
        super::load::respond_slow_and_log(site, request, quiet, &sleep)
    });
    if let Err(e) = served {
        crate::report::warn("serving a connection", e);
    }
}

/// The peer went away ([`is_disconnect`]), or stayed silent past the
/// socket's timeout (SO_RCVTIMEO/SO_SNDTIMEO make the call fail with
/// EAGAIN): the session just ends, without a line on stderr.
fn is_normal_end(error: &io::Error) -> bool {
    is_disconnect(error)
        || matches!(
            error.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo_path(request: &Request) -> Response {
        Response::new(200).with_body(request.path.as_bytes().to_vec(), "text/plain")
    }

    fn text(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    #[test]
    fn a_request_fed_byte_by_byte() {
        let mut session = Session::new(Limits::default());
        for byte in b"GET /slow HTTP/1.1\r\nHost: h\r\n\r\n" {
            assert!(!session.wants_write());
            session.receive(&[*byte], echo_path);
        }
        assert!(text(session.pending()).ends_with("keep-alive\r\n\r\n/slow"));
        assert!(!session.is_finished());
    }

    #[test]
    fn pipelined_requests_are_answered_in_order() {
        let mut session = Session::new(Limits::default());
        session.receive(b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\nConnection: close\r\n\r\nGET /3 HTTP/1.1\r\n\r\n", echo_path);
        let out = text(session.pending());
        let first = out.find("/1").unwrap();
        let second = out.find("/2").unwrap();
        assert!(first < second);
        assert!(
            !out.contains("/3"),
            "nothing is answered after Connection: close"
        );
        assert!(out.ends_with("Connection: close\r\n\r\n/2"));
    }

    #[test]
    fn held_bytes_leave_the_output_alone_until_answered() {
        let mut session = Session::new(Limits::default());
        session.receive(b"GET /1 HTTP/1.1\r\n\r\n", echo_path);
        let lent = session.pending().as_ptr();
        let len = session.pending().len();
        session.hold(b"GET /2 HTTP/1.1\r\n\r\n");
        // The pending bytes, lent to the kernel, have not moved or grown.
        assert_eq!(
            (session.pending().as_ptr(), session.pending().len()),
            (lent, len)
        );
        assert_eq!(session.unanswered(), 19);
        session.wrote(len);
        session.answer(echo_path);
        assert!(text(session.pending()).ends_with("/2"));
        assert_eq!(session.unanswered(), 0);
    }

    #[test]
    fn partial_writes_resume_where_they_stopped() {
        let mut session = Session::new(Limits::default());
        session.receive(b"GET /x HTTP/1.0\r\n\r\n", echo_path);
        let total = session.pending().len();
        session.wrote(10);
        assert_eq!(session.pending().len(), total - 10);
        session.wrote(total - 10);
        assert!(session.is_finished());
    }

    #[test]
    fn without_keep_alive_one_request_closes_the_connection() {
        let mut session = Session::new(Limits::default()).without_keep_alive();
        session.receive(
            b"GET /1 HTTP/1.1\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
            echo_path,
        );
        let out = text(session.pending());
        assert!(out.ends_with("Connection: close\r\n\r\n/1"), "{out}");
        session.wrote(session.pending().len());
        assert!(session.is_finished());
    }

    #[test]
    fn a_client_that_pipelines_without_reading_gets_answers_as_it_reads() {
        let big = |_: &Request| Response::new(200).with_body(vec![b'x'; 40 * 1024], "text/plain");
        let mut session = Session::new(Limits::default());
        session.receive(&b"GET /big HTTP/1.1\r\n\r\n".repeat(100), big);
        // Two answers pass the high-water mark; the other 98 wait.
        assert!(session.queued < OUTPUT_HIGH_WATER + 41 * 1024);
        assert!(!session.wants_read());
        let mut answered = 0;
        while session.wants_write() {
            answered += text(session.pending()).matches("HTTP/1.1 200 OK").count();
            session.wrote(session.pending().len());
            session.answer(big);
        }
        assert_eq!(answered, 100);
        assert!(session.wants_read());
    }

    #[test]
    fn serve_blocking_answers_pipelined_requests_in_order() {
        // A stream that reads from one buffer and writes into another.
        struct Pipe(io::Cursor<Vec<u8>>, Vec<u8>);
        impl Read for Pipe {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.0.read(buf)
            }
        }
        impl Write for Pipe {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.1.write(buf)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut requests = Vec::new();
        for i in 0..300 {
            requests.extend_from_slice(format!("GET /{i} HTTP/1.1\r\n\r\n").as_bytes());
        }
        let mut pipe = Pipe(io::Cursor::new(requests), Vec::new());
        let long_path = |r: &Request| {
            Response::new(200).with_body(r.path.repeat(200).into_bytes(), "text/plain")
        };
        serve_blocking(&mut pipe, Limits::default(), long_path).unwrap();
        let out = text(&pipe.1);
        assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 300);
        assert!(out.ends_with(&"/299".repeat(200)));
    }

    /// Everything a session holds for its output: buffer capacities, and
    /// the bodies it queued.
    fn output_memory(session: &Session) -> usize {
        session
            .output
            .iter()
            .map(|b| {
                if let Body::Owned(v) = b {
                    v.capacity()
                } else {
                    b.len()
                }
            })
            .sum()
    }

    /// Write out everything queued, as a writer does: `pending`, then
    /// `wrote`, until nothing is left.
    fn drain(session: &mut Session) -> Vec<u8> {
        let mut out = Vec::new();
        while session.wants_write() {
            let chunk = session.pending().to_vec();
            assert!(!chunk.is_empty(), "wants_write with nothing pending");
            out.extend_from_slice(&chunk);
            session.wrote(chunk.len());
        }
        out
    }

    #[test]
    fn an_idle_connection_does_not_keep_a_big_response_buffer() {
        let big = |_: &Request| {
            Response::new(200).with_body(vec![b'x'; 1024 * 1024], "application/octet-stream")
        };
        let mut session = Session::new(Limits::default());
        session.receive(b"GET /big HTTP/1.1\r\n\r\n", big);
        assert!(output_memory(&session) > 1024 * 1024);
        drain(&mut session);
        assert!(
            output_memory(&session) <= RETAINED_CAPACITY,
            "{}",
            output_memory(&session)
        );
        // Small responses keep their buffer: no allocation per request.
        session.receive(b"GET /small HTTP/1.1\r\n\r\n", echo_path);
        let kept = session.pending().as_ptr();
        session.wrote(session.pending().len());
        session.receive(b"GET /small HTTP/1.1\r\n\r\n", echo_path);
        assert_eq!(session.pending().as_ptr(), kept);
    }

    #[test]
    fn a_big_shared_body_is_written_from_where_it_is() {
        let file: std::sync::Arc<[u8]> = vec![b'x'; 2 * SEPARATE_BODY].into();
        let shared = file.clone();
        let mut session = Session::new(Limits::default());
        session.receive(b"GET /big HTTP/1.1\r\n\r\n", |_| {
            Response::new(200).with_body(shared.clone(), "text/plain")
        });
        let head = text(session.pending());
        assert!(
            head.starts_with("HTTP/1.1 200 OK") && head.ends_with("\r\n\r\n"),
            "{head}"
        );
        assert!(
            head.contains(&format!("Content-Length: {}\r\n", file.len())),
            "{head}"
        );
        session.wrote(head.len());
        // No copy: the next bytes to write are the cache's own.
        assert_eq!(session.pending().as_ptr(), file.as_ptr());
        assert_eq!(session.pending().len(), file.len());
        session.wrote(100);
        assert_eq!(session.pending().as_ptr(), file[100..].as_ptr());
    }

    #[test]
    fn a_head_queued_after_a_big_body_does_not_move_it() {
        let answer = |r: &Request| match r.path.as_str() {
            "/big" => Response::new(200).with_body(vec![b'B'; 4 * OUTPUT_HIGH_WATER], "text/plain"),
            _ => echo_path(r),
        };
        let mut session = Session::new(Limits::default());
        session.receive(
            b"GET /big HTTP/1.1\r\n\r\nGET /small HTTP/1.1\r\n\r\n",
            answer,
        );
        session.wrote(session.pending().len()); // the head
        let body = session.pending().as_ptr();
        // Nearly all of the body written: below the high-water mark again,
        // so the waiting request is answered behind it.
        session.wrote(session.pending().len() - 10);
        session.answer(answer);
        assert_eq!(
            session.pending().as_ptr(),
            body.wrapping_add(4 * OUTPUT_HIGH_WATER - 10),
            "the body was moved"
        );
        assert!(text(&drain(&mut session)).ends_with("/small"));
    }

    #[test]
    fn big_and_small_answers_leave_in_the_order_asked() {
        let answer = |r: &Request| match r.path.as_str() {
            "/big" => {
                let mut big = Response::new(200).with_body(vec![b'B'; SEPARATE_BODY], "text/plain");
                big.head_only = r.method == "HEAD";
                big
            }
            path => echo_path(r).with_header("X-Path", path.to_string()),
        };
        let mut session = Session::new(Limits::default());
        session.receive(b"GET /a HTTP/1.1\r\n\r\nGET /big HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nHEAD /big HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n", answer);
        let out = text(&drain(&mut session));
        let big = "B".repeat(SEPARATE_BODY);
        let bodies: Vec<&str> = out
            .split("\r\n\r\n")
            .skip(1)
            .map(|rest| rest.split("HTTP/1.1").next().unwrap())
            .map(|body| if body == big { "big" } else { body })
            .collect();
        assert_eq!(bodies, ["/a", "big", "/b", "", "/c"]);
        assert_eq!(
            out.matches(&format!("Content-Length: {SEPARATE_BODY}\r\n"))
                .count(),
            2,
            "HEAD declares the length too"
        );
        assert!(session.wants_read() && !session.wants_write());
    }

    #[test]
    fn garbage_gets_400_and_closes() {
        let mut session = Session::new(Limits::default());
        session.receive(b"\x16\x03\x01 not http\r\n\r\n", echo_path);
        assert!(text(session.pending()).starts_with("HTTP/1.1 400 Bad Request"));
        session.wrote(session.pending().len());
        assert!(session.is_finished());
    }
}
