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

/// The protocol state of one connection.
#[derive(Debug, Default)]
pub struct Session {
    limits: Limits,
    /// Bytes received and not yet parsed into a request.
    input: Vec<u8>,
    /// Responses queued, and how much of them has been written.
    output: Vec<u8>,
    written: usize,
    /// No more requests will be read: the last response says
    /// `Connection: close`, or the client went away.
    closing: bool,
    /// Answer every request with `Connection: close`, whatever the client
    /// asked for (a server without keep-alive, such as `webserver4c`).
    no_keep_alive: bool,
}

impl Session {
    pub fn new(limits: Limits) -> Session {
        Session { limits, ..Session::default() }
    }

    /// Close the connection after the first response, even if the client
    /// asked to keep it open: one request per connection.
    pub fn without_keep_alive(mut self) -> Session {
        self.no_keep_alive = true;
        self
    }

    /// Bytes arrived: answer every complete request among them, in order,
    /// by queueing `handler`'s responses.
    pub fn receive(&mut self, bytes: &[u8], mut handler: impl FnMut(&Request) -> Response) {
        if self.closing {
            return; // after `Connection: close` the rest is ignored
        }
        self.input.extend_from_slice(bytes);
        let mut start = 0;
        while !self.closing {
            match parse_request(&self.input[start..], &self.limits) {
                Parse::Complete { request, consumed } => {
                    start += consumed;
                    let keep_alive = request.keep_alive() && !self.no_keep_alive;
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
    }

    /// The client closed its side: finish sending, then close.
    pub fn peer_closed(&mut self) {
        self.closing = true;
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
    let mut session = Session::new(limits);
    let mut buf = vec![0u8; 16 * 1024];
    while !session.is_finished() {
        let n = match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_normal_end(&e) => return Ok(()),
            Err(e) => return Err(e),
        };
        session.receive(&buf[..n], &mut handler);
        if session.wants_write() {
            match stream.write_all(session.pending()) {
                Ok(()) => session.wrote(session.pending().len()),
                Err(e) if is_normal_end(&e) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// Serve the files of `site` over one blocking connection until either
/// side closes it (or the socket's timeouts, if any, expire), printing a
/// line per request unless `quiet`. Only unexpected errors reach stderr.
pub fn serve_site(stream: &mut (impl Read + Write), site: &super::Site, quiet: bool) {
    let served = serve_blocking(stream, Limits::default(), |request| site.respond_and_log(request, quiet));
    if let Err(e) = served {
        eprintln!("{}: serving a connection failed: {e}", crate::report::program_name());
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
    fn without_keep_alive_one_request_closes_the_connection() {
        let mut session = Session::new(Limits::default()).without_keep_alive();
        session.receive(b"GET /1 HTTP/1.1\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.1\r\n\r\n", echo_path);
        let out = text(session.pending());
        assert!(out.ends_with("Connection: close\r\n\r\n/1"), "{out}");
        session.wrote(session.pending().len());
        assert!(session.is_finished());
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
