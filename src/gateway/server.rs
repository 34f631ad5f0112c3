//! The server half of the gateway interface: read a request, build its
//! [`Environ`], call the application with a [`StartResponse`], and send
//! what the application chose. `webserver2` and `webserver3h` both call
//! [`Gateway::handle_one_request`] on each connection they accept; they
//! differ only in which process does it.

use super::{Application, Environ, ServerInfo, StartResponse};
use crate::http::{parse_request, Limits, Parse, Request, Response};
use crate::report::{program_name, warn_msg};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::OwnedFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// A server's side of the interface, holding the application it hosts.
pub struct Gateway {
    app: Box<dyn Application>,
    limits: Limits,
    quiet: bool,
    multiprocess: bool,
}

impl Gateway {
    /// Host `app`. `multiprocess` tells it (as `wsgi.multiprocess`)
    /// whether other processes may run it at the same time.
    pub fn new(
        app: Box<dyn Application>,
        limits: Limits,
        quiet: bool,
        multiprocess: bool,
    ) -> Gateway {
        Gateway {
            app,
            limits,
            quiet,
            multiprocess,
        }
    }

    // ANCHOR: handle_one_request
    /// Serve one request on `connection`, then close it, as the original
    /// `webserver2.py` does. A client that leaves or sends garbage costs
    /// nothing but its own connection.
    pub fn handle_one_request(&self, connection: OwnedFd) {
        let mut stream = TcpStream::from(connection);
        let (Ok(local), Ok(peer)) = (stream.local_addr(), stream.peer_addr()) else {
            return; // the client is already gone
        };
        let request = match read_request(&mut stream, &self.limits) {
            Ok(Some(request)) => request,
            Ok(None) => return, // connected and left without a request
            Err(refusal) => return self.refuse(stream, refusal),
        };
        if !self.quiet {
            print_request(&request);
        }
        let server = ServerInfo {
            software: format!("{}/{}", program_name(), env!("CARGO_PKG_VERSION")),
            local,
            peer,
            multiprocess: self.multiprocess,
            multithread: false,
        };
        let environ = Environ::from_request(&request, &server);
        let (status_line, response) = call_application(&*self.app, &environ);
        let bytes = with_status_line(&response, &status_line);
        if !self.quiet {
            print_response(&bytes, &response);
        }
        // The client may have gone; that is its business.
        let _ = stream.write_all(&bytes);
        // Dropping the stream closes it: the client reads EOF.
    }
    // ANCHOR_END: handle_one_request

    /// Answer a request we will not serve (400, 413, 431, ...) and close.
    fn refuse(&self, mut stream: TcpStream, response: Response) {
        if !self.quiet {
            println!(
                "> HTTP/1.1 {} {}\n",
                response.status,
                crate::http::response::reason(response.status)
            );
        }
        let _ = stream.write_all(&response.to_bytes(false));
        lingering_close(stream);
    }
}

/// Read until one whole request has arrived. `Ok(None)`: the client closed
/// without sending anything. `Err(response)`: not a request we can serve.
fn read_request(stream: &mut TcpStream, limits: &Limits) -> Result<Option<Request>, Response> {
    let mut received = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match parse_request(&received, limits) {
            Parse::Complete { request, .. } => return Ok(Some(request)),
            Parse::Invalid(response) => return Err(response),
            Parse::Incomplete => {}
        }
        match stream.read(&mut chunk) {
            Ok(0) if received.is_empty() => return Ok(None),
            // The client stopped sending halfway through a request.
            Ok(0) => return Err(Response::error(400)),
            Ok(n) => received.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Ok(None), // reset or gone: nobody to answer
        }
    }
}

/// Close a connection whose request we did not read to the end (a body
/// too large, say) without destroying our own response: close(2) with
/// unread bytes makes the kernel send RST, and a client that gets RST
/// drops whatever it had not read yet — our 413 included. So send FIN
/// first, then read and discard what the client still sends, for a while.
fn lingering_close(stream: TcpStream) {
    const LINGER: Duration = Duration::from_secs(2);
    const MAX_DISCARD: usize = 64 * 1024 * 1024;
    let _ = stream.shutdown(Shutdown::Write);
    let deadline = Instant::now() + LINGER;
    let mut discarded = 0;
    let mut sink = [0u8; 64 * 1024];
    while discarded < MAX_DISCARD {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match (&stream).read(&mut sink) {
            Ok(0) | Err(_) => break,
            Ok(n) => discarded += n,
        }
    }
}

// ANCHOR: call_application
/// Call the application and check what it did: WSGI's
/// `result = application(environ, start_response)` and `finish_response`.
/// Returns the status line to send (the application's own reason phrase
/// included) and the response. An application that panics, never calls
/// `start_response`, or gives a malformed status or header gets the client
/// a 500 and a line on stderr, and the server goes on.
pub fn call_application(app: &dyn Application, environ: &Environ) -> (String, Response) {
    let mut start_response = StartResponse::new();
    let called = catch_unwind(AssertUnwindSafe(|| app.call(environ, &mut start_response)));
    let checked = match called {
        Err(_) => Err("the application panicked".to_string()),
        Ok(body) => match start_response.take() {
            None => Err("the application returned without calling start_response".to_string()),
            Some((status, headers)) => build_response(&status, headers, body, environ),
        },
    };
    checked.unwrap_or_else(|problem| {
        warn_msg(format!("{problem} — answered 500"));
        (
            "500 Internal Server Error".to_string(),
            Response::error(500),
        )
    })
}

fn build_response(
    status: &str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    environ: &Environ,
) -> Result<(String, Response), String> {
    let code = parse_status(status).ok_or_else(|| format!("invalid status {status:?}"))?;
    let head_only = environ.method() == "HEAD";
    let mut response = Response::new(code);
    for (name, value) in headers {
        if !is_token(&name) || value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(format!("malformed header {name:?}: {value:?}"));
        }
        match name.to_ascii_lowercase().as_str() {
            // The server frames the response: the length of the body it
            // actually got, and whether the connection stays open. (A HEAD
            // answer has no body, so the application's length stands.)
            "content-length" if head_only && body.is_empty() => response.content_length = false,
            "content-length" => continue,
            "connection" | "keep-alive" | "transfer-encoding" | "upgrade" => continue,
            _ => {}
        }
        response.headers.push((name.into(), value.into()));
    }
    response.body = body.into();
    response.head_only = head_only;
    Ok((status.to_string(), response))
}
// ANCHOR_END: call_application

/// `"404 Not Found"` → 404. Three digits, a space, a printable reason.
pub fn parse_status(status: &str) -> Option<u16> {
    let (code, reason) = status.split_once(' ').unwrap_or((status, ""));
    let valid = code.len() == 3
        && code.bytes().all(|b| b.is_ascii_digit())
        && !reason.bytes().any(|b| b.is_ascii_control());
    let code: u16 = code.parse().ok().filter(|c| (100..600).contains(c))?;
    valid.then_some(code)
}

/// An HTTP header name: one or more `token` characters (RFC 9110, 5.6.2).
pub fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// The response on the wire, with the application's own status line
/// (`418 I'm a teapot` keeps its reason phrase).
fn with_status_line(response: &Response, status: &str) -> Vec<u8> {
    let bytes = response.to_bytes(false);
    let first_line_end = bytes.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut out = format!("HTTP/1.1 {status}\r\n").into_bytes();
    out.extend_from_slice(&bytes[first_line_end..]);
    out
}

/// The request as the original prints it: `< ` before each line.
fn print_request(request: &Request) {
    let mut text = format!(
        "< {} {} HTTP/1.{}\n",
        request.method, request.target, request.minor_version
    );
    for (name, value) in &request.headers {
        text.push_str(&format!("< {name}: {value}\n"));
    }
    text.push_str("<\n");
    if !request.body.is_empty() {
        text.push_str(&format!("< [{} bytes of body]\n", request.body.len()));
    }
    // One write(2) for the whole block, so that forked children writing at
    // the same time do not interleave their lines.
    let _ = io::stdout().lock().write_all(text.as_bytes());
}

/// The response head, `> ` before each line.
fn print_response(bytes: &[u8], response: &Response) {
    let head_len = bytes.len()
        - if response.head_only {
            0
        } else {
            response.body.len()
        };
    let head = String::from_utf8_lossy(&bytes[..head_len]);
    let mut text: String = head
        .lines()
        .map(|line| format!("{}\n", format!("> {line}").trim_end()))
        .collect();
    text.push_str(&format!(
        "> [{} bytes of body]\n\n",
        if response.head_only {
            0
        } else {
            response.body.len()
        }
    ));
    let mut out = io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environ(method: &str) -> Environ {
        Environ::new([("REQUEST_METHOD", method), ("PATH_INFO", "/")], Vec::new())
    }

    fn wire(app: &dyn Application, method: &str) -> String {
        let (status, response) = call_application(app, &environ(method));
        String::from_utf8(with_status_line(&response, &status)).unwrap()
    }

    #[test]
    fn the_application_chooses_status_headers_and_body() {
        let app = |_: &Environ, start: &mut StartResponse| {
            start.start(
                "418 I'm a teapot",
                [("Content-Type", "text/plain"), ("X-Tea", "earl grey")],
            );
            b"short and stout\n".to_vec()
        };
        let text = wire(&app, "GET");
        assert!(text.starts_with("HTTP/1.1 418 I'm a teapot\r\n"), "{text}");
        assert!(text.contains("\r\nX-Tea: earl grey\r\n"), "{text}");
        assert!(
            text.contains("\r\nContent-Length: 16\r\nConnection: close\r\n\r\nshort and stout\n"),
            "{text}"
        );
    }

    #[test]
    fn the_server_frames_the_response_itself() {
        let app = |_: &Environ, start: &mut StartResponse| {
            start.start(
                "200 OK",
                [
                    ("Content-Length", "999"),
                    ("Connection", "keep-alive"),
                    ("Content-Type", "a/b"),
                ],
            );
            b"four".to_vec()
        };
        let text = wire(&app, "GET");
        assert_eq!(text.matches("Content-Length").count(), 1, "{text}");
        assert!(text.contains("Content-Length: 4\r\n"), "{text}");
        assert!(
            text.contains("Connection: close\r\n") && !text.contains("keep-alive"),
            "{text}"
        );
        // HEAD: no body on the wire, but the length of the one GET would get.
        let head = wire(&app, "HEAD");
        assert!(
            head.ends_with("Content-Length: 4\r\nConnection: close\r\n\r\n"),
            "{head}"
        );
    }

    #[test]
    fn broken_applications_get_500() {
        let panics = |_: &Environ, _: &mut StartResponse| -> Vec<u8> { panic!("application bug") };
        let silent = |_: &Environ, _: &mut StartResponse| b"no start_response".to_vec();
        let bad_status = |_: &Environ, start: &mut StartResponse| {
            start.start("OK", [("Content-Type", "text/plain")]);
            Vec::new()
        };
        let split = |_: &Environ, start: &mut StartResponse| {
            start.start("200 OK", [("X-Evil", "a\r\nSet-Cookie: stolen=1")]);
            Vec::new()
        };
        let apps: [&dyn Application; 4] = [&panics, &silent, &bad_status, &split];
        for app in apps {
            assert!(wire(app, "GET").starts_with("HTTP/1.1 500 Internal Server Error\r\n"));
        }
    }

    #[test]
    fn statuses() {
        assert_eq!(parse_status("200 OK"), Some(200));
        assert_eq!(parse_status("204"), Some(204));
        assert_eq!(parse_status("99 Low"), None);
        assert_eq!(parse_status("700 High"), None);
        assert_eq!(parse_status("2000 OK"), None);
        assert_eq!(parse_status("abc OK"), None);
        assert_eq!(parse_status("200 O\nK"), None);
    }
}
