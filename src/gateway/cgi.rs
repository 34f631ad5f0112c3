//! The CGI bridge (RFC 3875): host a program in any language, one process
//! per request.
//!
//! [`Cgi`] is an [`Application`] like any other, so the servers need no
//! change to run it. For each request it starts the executable with the
//! request's CGI variables as its *entire* environment (plus `PATH`), the
//! request body on its stdin, and its stderr going to the server's. The
//! program prints a CGI response on stdout — header lines (`Status:`,
//! `Content-Type:`, `Location:`, others), a blank line, the body — and
//! exits. That is how a Python WSGI application runs here:
//! `wsgiref.handlers.CGIHandler().run(app)` is the WSGI server that speaks
//! CGI on the script's side.
//!
//! What can go wrong is answered the way a gateway should:
//!
//! | the program ...                              | the client gets       |
//! |----------------------------------------------|-----------------------|
//! | cannot be started, crashes, exits non-zero   | 502 Bad Gateway       |
//! | prints no blank line, a bad header or status | 502 Bad Gateway       |
//! | prints more than [`MAX_OUTPUT`] bytes        | 502 Bad Gateway       |
//! | runs longer than the timeout                 | 504 Gateway Timeout   |
//!
//! Each failure also prints one line on the server's stderr. The program
//! runs in a process group of its own; on a timeout the whole group is
//! killed with SIGKILL, and the program is always reaped with `waitpid`, so
//! no zombie and no stray process is left behind.

use super::server::{is_token, parse_status};
use super::{Application, Environ, StartResponse};
use crate::http::response::reason;
use crate::report::warn_msg;
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::fmt;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The most a program may print (headers and body) before it is cut off.
pub const MAX_OUTPUT: usize = 16 * 1024 * 1024;
/// The most its header block may take.
pub const MAX_HEAD: usize = 64 * 1024;

/// A CGI program, run once per request.
#[derive(Debug, Clone)]
pub struct Cgi {
    program: PathBuf,
    timeout: Duration,
}

/// Why a program's request failed.
#[derive(Debug)]
pub enum Failure {
    /// fork/exec failed (not executable, bad `#!` line, ...).
    Start(io::Error),
    /// It was killed by a signal or exited with a non-zero status.
    Crashed(ExitStatus),
    /// It printed something that is not a CGI response.
    Malformed(String),
    /// It printed more than [`MAX_OUTPUT`] bytes.
    TooMuchOutput,
    /// It was still running when the timeout passed.
    TimedOut(Duration),
    /// Talking to it failed.
    Io(io::Error),
}

impl Failure {
    /// 504 for a timeout, 502 for everything else.
    pub fn status(&self) -> u16 {
        match self {
            Failure::TimedOut(_) => 504,
            _ => 502,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Start(e) => write!(
                f,
                "could not be started: {e} — is it executable, with a valid #! line?"
            ),
            Failure::Crashed(status) => match status.signal() {
                Some(signal) => {
                    let name = Signal::try_from(signal)
                        .map(|s| s.as_str())
                        .unwrap_or("an unknown signal");
                    write!(f, "was killed by {name}")
                }
                None => write!(
                    f,
                    "exited with status {} — its error output is above",
                    status.code().unwrap_or(-1)
                ),
            },
            Failure::Malformed(why) => write!(f, "printed a malformed CGI response: {why}"),
            Failure::TooMuchOutput => write!(f, "printed more than {MAX_OUTPUT} bytes"),
            Failure::TimedOut(timeout) => write!(f, "ran longer than {timeout:?} and was killed"),
            Failure::Io(e) => write!(f, "could not be talked to: {e}"),
        }
    }
}

/// What a program answered: `Status`, the other headers, and the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgiResponse {
    pub status: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Cgi {
    /// Host the program at `path`. Fails if it is not an executable file.
    pub fn new(path: impl AsRef<Path>, timeout: Duration) -> Result<Cgi, String> {
        let path = path.as_ref();
        let program = path
            .canonicalize()
            .map_err(|e| format!("CGI program {}: {e}", path.display()))?;
        let metadata = program
            .metadata()
            .map_err(|e| format!("CGI program {}: {e}", path.display()))?;
        if !metadata.is_file() {
            return Err(format!("CGI program {} is not a file", path.display()));
        }
        if metadata.permissions().mode() & 0o111 == 0 {
            return Err(format!(
                "CGI program {} is not executable — `chmod +x {}`",
                path.display(),
                path.display()
            ));
        }
        Ok(Cgi { program, timeout })
    }

    pub fn program(&self) -> &Path {
        &self.program
    }

    // ANCHOR: run
    /// Run the program for one request.
    pub fn run(&self, environ: &Environ) -> Result<CgiResponse, Failure> {
        let deadline = Instant::now() + self.timeout;
        let mut child = Command::new(&self.program)
            // The request's CGI variables are the whole environment: the
            // server's own variables are none of the program's business.
            .env_clear()
            .envs(environ.vars())
            .env(
                "PATH",
                std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
            )
            // RFC 3875, 9.6: run it in its own directory.
            .current_dir(self.program.parent().unwrap_or(Path::new("/")))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            // setpgid(0, 0) in the child: one killpg() stops the program
            // and anything it started.
            .process_group(0)
            .spawn()
            .map_err(Failure::Start)?;

        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("stdout is piped");
        let outcome = exchange(stdin, stdout, environ.input(), deadline)
            .and_then(|output| Ok((output, wait_until(&mut child, deadline)?)));
        let (output, status) = match outcome {
            Ok(done) => done,
            Err(failure) => {
                kill_and_reap(&mut child);
                return Err(match failure {
                    Failure::TimedOut(_) => Failure::TimedOut(self.timeout),
                    other => other,
                });
            }
        };
        if !status.success() {
            return Err(Failure::Crashed(status));
        }
        parse_response(&output).map_err(Failure::Malformed)
    }
    // ANCHOR_END: run
}

// ANCHOR: call
impl Application for Cgi {
    fn call(&self, environ: &Environ, start_response: &mut StartResponse) -> Vec<u8> {
        match self.run(environ) {
            Ok(response) => {
                start_response.start(response.status, response.headers);
                response.body
            }
            Err(failure) => {
                warn_msg(format!("CGI program {} {failure}", self.program.display()));
                let status = failure.status();
                let line = format!("{status} {}", reason(status));
                start_response.start(
                    line.clone(),
                    [("Content-Type", "text/plain; charset=utf-8")],
                );
                format!("{line}\n").into_bytes()
            }
        }
    }
}
// ANCHOR_END: call

/// Feed `input` to the program's stdin while reading its stdout, until it
/// closes stdout, with `poll(2)` so that neither side can block the other:
/// a program that prints a lot before reading its input would otherwise
/// fill the stdout pipe while we sit in write() on a full stdin pipe.
fn exchange(
    stdin: Option<ChildStdin>,
    mut stdout: ChildStdout,
    input: &[u8],
    deadline: Instant,
) -> Result<Vec<u8>, Failure> {
    // An empty body: close stdin at once, the program reads EOF.
    let mut stdin = stdin.filter(|_| !input.is_empty());
    let mut unwritten = input;
    set_nonblocking(&stdout)?;
    if let Some(pipe) = &stdin {
        set_nonblocking(pipe)?;
    }
    let mut output = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::TimedOut(Duration::ZERO));
        }
        let (stdout_ready, stdin_ready) = {
            let mut fds = vec![PollFd::new(stdout.as_fd(), PollFlags::POLLIN)];
            if let Some(pipe) = &stdin {
                fds.push(PollFd::new(pipe.as_fd(), PollFlags::POLLOUT));
            }
            let millis = left.as_millis().min(i32::MAX as u128) as i32;
            match poll(
                &mut fds,
                nix::poll::PollTimeout::try_from(millis).unwrap_or(nix::poll::PollTimeout::MAX),
            ) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(errno) => return Err(Failure::Io(errno.into())),
            }
            let ready = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
            (ready(&fds[0]), fds.get(1).is_some_and(ready))
        };
        if stdin_ready {
            if let Some(pipe) = stdin.as_mut() {
                match pipe.write(unwritten) {
                    Ok(n) => unwritten = &unwritten[n..],
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    // EPIPE: it exited or closed stdin without reading all
                    // of the body. Its choice; its output still counts.
                    Err(_) => unwritten = &[],
                }
                if unwritten.is_empty() {
                    stdin = None; // close: the program reads EOF
                }
            }
        }
        if stdout_ready {
            loop {
                match stdout.read(&mut buf) {
                    Ok(0) => return Ok(output), // it closed stdout: done
                    Ok(n) => output.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(Failure::Io(e)),
                }
                if output.len() > MAX_OUTPUT {
                    return Err(Failure::TooMuchOutput);
                }
            }
        }
    }
}

fn set_nonblocking(pipe: &impl AsFd) -> Result<(), Failure> {
    let flags = fcntl(pipe.as_fd(), FcntlArg::F_GETFL).map_err(|e| Failure::Io(e.into()))?;
    let flags = OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK;
    fcntl(pipe.as_fd(), FcntlArg::F_SETFL(flags)).map_err(|e| Failure::Io(e.into()))?;
    Ok(())
}

/// The program closed stdout; wait (until the deadline) for it to exit.
fn wait_until(child: &mut Child, deadline: Instant) -> Result<ExitStatus, Failure> {
    loop {
        // waitpid(pid, WNOHANG)
        if let Some(status) = child.try_wait().map_err(Failure::Io)? {
            return Ok(status);
        }
        if Instant::now() >= deadline {
            return Err(Failure::TimedOut(Duration::ZERO));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// SIGKILL the program's whole process group, then reap the program.
fn kill_and_reap(child: &mut Child) {
    let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
    let _ = child.wait();
}

// ANCHOR: parse_response
/// Parse a CGI response (RFC 3875, section 6): header lines ending in LF
/// or CRLF, a blank line, the body.
pub fn parse_response(output: &[u8]) -> Result<CgiResponse, String> {
    if output.is_empty() {
        return Err("it printed nothing".into());
    }
    let mut status = None;
    let mut headers = Vec::new();
    let mut rest = output;
    loop {
        let Some(end) = rest.iter().position(|&b| b == b'\n') else {
            return Err("no blank line after the headers".into());
        };
        if output.len() - rest.len() > MAX_HEAD {
            return Err(format!("headers longer than {MAX_HEAD} bytes"));
        }
        let line = &rest[..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        rest = &rest[end + 1..];
        if line.is_empty() {
            break;
        }
        let line =
            std::str::from_utf8(line).map_err(|_| "a header line that is not UTF-8".to_string())?;
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!("a header line without a colon: {line:?}"));
        };
        let value = value.trim();
        if !is_token(name) || value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(format!("a malformed header: {line:?}"));
        }
        if name.eq_ignore_ascii_case("status") {
            parse_status(value).ok_or_else(|| format!("a malformed Status: {value:?}"))?;
            // `Status: 404` is allowed to omit the reason phrase.
            status = Some(if value.len() == 3 {
                format!("{value} {}", reason(value.parse().unwrap_or(500)))
            } else {
                value.to_string()
            });
        } else {
            headers.push((name.to_string(), value.to_string()));
        }
    }
    let has = |wanted: &str| {
        headers
            .iter()
            .any(|(n, _): &(String, String)| n.eq_ignore_ascii_case(wanted))
    };
    let status = match status {
        Some(status) => status,
        // A redirect without a Status (RFC 3875, 6.2.3/6.2.4).
        None if has("location") => "302 Found".to_string(),
        None if has("content-type") => "200 OK".to_string(),
        None => return Err("no Content-Type, Location or Status header".into()),
    };
    if !rest.is_empty() && !has("content-type") {
        return Err("a body without a Content-Type".into());
    }
    Ok(CgiResponse {
        status,
        headers,
        body: rest.to_vec(),
    })
}
// ANCHOR_END: parse_response

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_response() {
        let parsed = parse_response(b"Content-Type: text/plain\r\nX-A: 1\r\n\r\nhello\n").unwrap();
        assert_eq!(parsed.status, "200 OK");
        assert_eq!(
            parsed.headers,
            vec![
                ("Content-Type".into(), "text/plain".into()),
                ("X-A".into(), "1".into())
            ]
        );
        assert_eq!(parsed.body, b"hello\n");
    }

    #[test]
    fn status_and_bare_newlines() {
        let parsed =
            parse_response(b"Status: 404 Nope\nContent-Type: text/html\n\n<p>gone").unwrap();
        assert_eq!(parsed.status, "404 Nope");
        assert_eq!(parsed.body, b"<p>gone");
        assert_eq!(
            parse_response(b"Status: 204\n\n").unwrap().status,
            "204 No Content"
        );
    }

    #[test]
    fn a_redirect_defaults_to_302() {
        let parsed = parse_response(b"Location: http://example.com/\r\n\r\n").unwrap();
        assert_eq!(parsed.status, "302 Found");
    }

    #[test]
    fn malformed_output_is_refused() {
        for bad in [
            &b""[..],
            b"Content-Type: text/plain\r\nno blank line",
            b"hello world\n\n",
            b"Content-Type text/plain\n\nbody",
            b"Bad Name: x\n\n",
            b"Status: OK\nContent-Type: text/plain\n\n",
            b"X-Only: 1\n\n",
            b"Status: 200 OK\n\nbody without a type",
        ] {
            assert!(
                parse_response(bad).is_err(),
                "accepted {:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn a_program_that_is_not_executable_is_refused_up_front() {
        let err = Cgi::new("Cargo.toml", Duration::from_secs(1)).unwrap_err();
        assert!(err.contains("not executable"), "{err}");
        assert!(Cgi::new("no/such/program", Duration::from_secs(1)).is_err());
        assert!(Cgi::new("gateway", Duration::from_secs(1))
            .unwrap_err()
            .contains("not a file"));
    }
}
