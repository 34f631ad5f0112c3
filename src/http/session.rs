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
    /// Past [`OUTPUT_HIGH_WATER`] of queued output the remaining requests
    /// wait in the buffer; [`Session::answer`] takes them up.
    pub fn receive(&mut self, bytes: &[u8], handler: impl FnMut(&Request) -> Response) {
        if self.closing {
            return; // after `Connection: close` the rest is ignored
        }
        self.input.extend_from_slice(bytes);
        self.answer(handler);
    }

    /// Answer the requests already received and not yet answered, as far
    /// as [`OUTPUT_HIGH_WATER`] allows. Call it after writing: requests that
    /// waited for the output to drain are answered now.
    pub fn answer(&mut self, mut handler: impl FnMut(&Request) -> Response) {
        // Everything answered in this pass has already arrived.
        let _batch = super::file_cache::BatchGuard::begin();
        let mut start = 0;
        while !self.closing && self.pending().len() < OUTPUT_HIGH_WATER {
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
        if self.input.is_empty() && self.input.capacity() > RETAINED_CAPACITY {
            self.input = Vec::new();
        }
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
            if self.output.capacity() > RETAINED_CAPACITY {
                self.output = Vec::new();
            }
        }
    }

    /// Is it worth reading from the client? Not once no more requests will
    /// be answered, nor while the answers already queued exceed
    /// [`OUTPUT_HIGH_WATER`]: a client that sends without reading is then
    /// held back by TCP's flow control instead of by our memory.
    pub fn wants_read(&self) -> bool {
        !self.closing && self.pending().len() < OUTPUT_HIGH_WATER
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
    fn a_client_that_pipelines_without_reading_gets_answers_as_it_reads() {
        let big = |_: &Request| Response::new(200).with_body(vec![b'x'; 40 * 1024], "text/plain");
        let mut session = Session::new(Limits::default());
        session.receive(&b"GET /big HTTP/1.1\r\n\r\n".repeat(100), big);
        // Two answers pass the high-water mark; the other 98 wait.
        assert!(session.pending().len() < OUTPUT_HIGH_WATER + 41 * 1024);
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
        let long_path = |r: &Request| Response::new(200).with_body(r.path.repeat(200).into_bytes(), "text/plain");
        serve_blocking(&mut pipe, Limits::default(), long_path).unwrap();
        let out = text(&pipe.1);
        assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 300);
        assert!(out.ends_with(&"/299".repeat(200)));
    }

    #[test]
    fn an_idle_connection_does_not_keep_a_big_response_buffer() {
        let big = |_: &Request| Response::new(200).with_body(vec![b'x'; 1024 * 1024], "application/octet-stream");
        let mut session = Session::new(Limits::default());
        session.receive(b"GET /big HTTP/1.1\r\n\r\n", big);
        assert!(session.output.capacity() > 1024 * 1024);
        session.wrote(session.pending().len());
        assert!(session.output.capacity() <= RETAINED_CAPACITY, "{}", session.output.capacity());
        // Small responses keep their buffer: no allocation per request.
        session.receive(b"GET /small HTTP/1.1\r\n\r\n", echo_path);
        let kept = session.output.as_ptr();
        session.wrote(session.pending().len());
        session.receive(b"GET /small HTTP/1.1\r\n\r\n", echo_path);
        assert_eq!(session.output.as_ptr(), kept);
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
