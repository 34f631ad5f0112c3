//! One connection's HTTP state, apart from how its bytes move.
//!
//! A [`Session`] is fed the bytes that arrive and hands back the bytes to
//! send. It copes with what real clients do: a request split across many
//! reads, several requests in one read (pipelining), and a response larger
//! than the socket buffer (the writer takes what the kernel accepted and
//! comes back for the rest). The blocking models drive it with
//! [`serve_blocking`]; the event loops drive it from readiness events.

use super::request::{parse_request, Limits, Parse, Request};
use super::response::Response;
use std::io::{self, Read, Write};

/// How much unsent output a session queues before it stops answering
/// (see [`Session::with_output_limit`]). A few large answers' worth: enough
/// to batch many small pipelined answers into one write.
pub const OUTPUT_LIMIT: usize = 256 * 1024;

/// The protocol state of one connection.
#[derive(Debug, Default)]
pub struct Session {
    limits: Limits,
    /// Bytes received and not yet parsed into a request.
    input: Vec<u8>,
    /// Responses queued, and how much of them has been written.
    output: Vec<u8>,
    written: usize,
    /// No more requests will be answered: the last response says
    /// `Connection: close`, or the client went away.
    closing: bool,
    /// The client closed its side: no more bytes will arrive.
    peer_done: bool,
    /// Stop answering while this much output is unsent (`None`: no limit).
    output_limit: Option<usize>,
    /// The last answering pass stopped at the output limit: complete
    /// requests may be waiting in `input`.
    held_back: bool,
}

impl Session {
    pub fn new(limits: Limits) -> Session {
        Session { limits, ..Session::default() }
    }

    /// Stop answering pipelined requests while `bytes` of answers are
    /// unsent; the rest wait, parsed later by [`Session::answer_held_back`].
    ///
    /// Without a limit, 60 KiB of pipelined `GET /big-file` requests in
    /// one read would queue gigabytes of answers for a client that may
    /// never read them.
    pub fn with_output_limit(mut self, bytes: usize) -> Session {
        self.output_limit = Some(bytes);
        self
    }

    /// Bytes arrived: answer every complete request among them, in order,
    /// by queueing `handler`'s responses (up to the output limit, if set).
    pub fn receive(&mut self, bytes: &[u8], handler: impl FnMut(&Request) -> Response) {
        if self.closing || self.peer_done {
            return; // after `Connection: close` the rest is ignored
        }
        self.input.extend_from_slice(bytes);
        self.answer(handler);
    }

    /// Output has drained below the limit: answer the requests that were
    /// held back. Returns whether any were waiting.
    pub fn answer_held_back(&mut self, handler: impl FnMut(&Request) -> Response) -> bool {
        if !self.held_back {
            return false;
        }
        self.answer(handler);
        true
    }

    /// Are complete requests waiting for the output to drain?
    pub fn is_held_back(&self) -> bool {
        self.held_back
    }

    fn answer(&mut self, mut handler: impl FnMut(&Request) -> Response) {
        self.held_back = false;
        let mut start = 0;
        while !self.closing {
            if self.output_limit.is_some_and(|limit| self.pending().len() >= limit) {
                self.held_back = start < self.input.len();
                break;
            }
            match parse_request(&self.input[start..], &self.limits) {
                Parse::Complete { request, consumed } => {
                    start += consumed;
                    let keep_alive = request.keep_alive();
                    handler(&request).write_to(&mut self.output, keep_alive);
                    self.closing = !keep_alive;
                }
                Parse::Incomplete => break,
                Parse::Invalid(response) => {
                    response.write_to(&mut self.output, false);
                    self.closing = true;
                }
            }
        }
        self.input.drain(..start);
        if self.peer_done && !self.held_back {
            self.closing = true;
        }
    }

    /// The client closed its side: finish answering and sending, then close.
    pub fn peer_closed(&mut self) {
        self.peer_done = true;
        if !self.held_back {
            self.closing = true;
        }
    }

    /// Will more requests be read? False once a response said
    /// `Connection: close` or the client closed its side: an event loop
    /// then stops reading (bytes after that point are ignored anyway).
    pub fn wants_read(&self) -> bool {
        !self.closing && !self.peer_done
    }

    /// Bytes queued and not yet written.
    pub fn pending(&self) -> &[u8] {
        &self.output[self.written..]
    }

    /// `n` bytes of [`Session::pending`] were written.
    pub fn wrote(&mut self, n: usize) {
        self.written += n;
        if self.written == self.output.len() {
            self.output.clear();
            self.written = 0;
        }
    }

    /// Is there anything to write?
    pub fn wants_write(&self) -> bool {
        !self.pending().is_empty()
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

/// Serve one connection with blocking reads and writes until either side
/// closes it. Disconnects and timeouts end it quietly (they are normal
/// events for a server); other errors are returned.
pub fn serve_blocking(
    stream: &mut (impl Read + Write),
    limits: Limits,
    mut handler: impl FnMut(&Request) -> Response,
) -> io::Result<()> {
    let mut session = Session::new(limits).with_output_limit(OUTPUT_LIMIT);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        // Send everything answered so far (answering held-back pipelined
        // requests as room frees) before reading more.
        while session.wants_write() {
            match stream.write_all(session.pending()) {
                Ok(()) => session.wrote(session.pending().len()),
                Err(e) if is_normal_end(&e) => return Ok(()),
                Err(e) => return Err(e),
            }
            session.answer_held_back(&mut handler);
        }
        if session.is_finished() {
            return Ok(());
        }
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_normal_end(&e) => return Ok(()),
            Err(e) => return Err(e),
        };
        session.receive(&buf[..n], &mut handler);
    }
}

/// The peer went away or an idle timeout passed: not worth a line on stderr.
pub fn is_normal_end(error: &io::Error) -> bool {
    use io::ErrorKind::*;
    matches!(
        error.kind(),
        ConnectionReset | ConnectionAborted | BrokenPipe | NotConnected | UnexpectedEof | WouldBlock | TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo_path(request: &Request) -> Response {
        Response::new(200).with_body(request.path.clone().into_bytes(), "text/plain")
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
        assert!(!out.contains("/3"), "nothing is answered after Connection: close");
        assert!(out.ends_with("Connection: close\r\n\r\n/2"));
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
    fn reading_stops_after_connection_close() {
        let mut session = Session::new(Limits::default());
        session.receive(b"GET /a HTTP/1.1\r\n\r\n", echo_path);
        assert!(session.wants_read());
        session.receive(b"GET /b HTTP/1.1\r\nConnection: close\r\n\r\n", echo_path);
        assert!(!session.wants_read());
        let mut other = Session::new(Limits::default());
        other.peer_closed();
        assert!(!other.wants_read());
    }

    #[test]
    fn the_output_limit_holds_pipelined_requests_back() {
        let mut session = Session::new(Limits::default()).with_output_limit(10);
        session.receive(b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n", echo_path);
        // The first answer alone passes the limit: /2 and /3 wait.
        let first = text(session.pending());
        assert!(first.ends_with("/1") && !first.contains("/2"), "{first}");
        assert!(session.is_held_back());
        // The client stops sending, but what it already sent is answered.
        session.peer_closed();
        assert!(!session.wants_read());
        assert!(!session.is_finished());
        session.wrote(session.pending().len());
        assert!(session.answer_held_back(echo_path));
        assert!(text(session.pending()).ends_with("/2"));
        session.wrote(session.pending().len());
        assert!(session.answer_held_back(echo_path));
        assert!(text(session.pending()).ends_with("/3"));
        session.wrote(session.pending().len());
        assert!(!session.answer_held_back(echo_path));
        assert!(session.is_finished());
    }

    #[test]
    fn serve_blocking_answers_held_back_requests_in_order() {
        // A duplex stand-in for a socket: reads from `input`, collects writes.
        struct Duplex {
            input: io::Cursor<Vec<u8>>,
            output: Vec<u8>,
        }
        impl Read for Duplex {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.input.read(buf)
            }
        }
        impl Write for Duplex {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.output.write(buf)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let big = |request: &Request| {
            Response::new(200).with_body(request.path.repeat(OUTPUT_LIMIT).into_bytes(), "text/plain")
        };
        let mut stream = Duplex {
            input: io::Cursor::new(b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n".to_vec()),
            output: Vec::new(),
        };
        serve_blocking(&mut stream, Limits::default(), big).unwrap();
        let out = text(&stream.output);
        assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 2);
        assert!(out.find("/a").unwrap() < out.find("/b").unwrap());
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
