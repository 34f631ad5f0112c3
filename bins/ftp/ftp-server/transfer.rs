//! The commands that move bytes over a data connection: LIST, NLST, RETR,
//! STOR, APPE. Each one follows the same steps:
//!
//! 1. check the request (550 for a missing file, before any connection);
//! 2. accept the client's connection on the passive listener (425 if it
//!    does not come);
//! 3. reply `150` on the control connection, move the bytes on the data
//!    connection, close it: in stream mode the close marks the end of file;
//! 4. reply `226` (or `426`/`451`/`552` if it went wrong).

use crate::atomic_file::AtomicFile;
use crate::listing::{list, long_line, now, Entry};
use crate::root::{is_directory, is_regular, VirtualPath};
use crate::session::{refusal, Next, Session};
use lsbaws::ftp::ascii::{FromNetwork, ToNetwork};
use lsbaws::report::errno_of;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::sendfile::sendfile;
use nix::sys::socket::{recv, MsgFlags};
use nix::sys::stat::{fstat, Mode};
use std::fs::File;
use std::io::{self, ErrorKind, Read, Seek, SeekFrom, Write};
use std::net::TcpStream;
use std::os::fd::{AsFd, AsRawFd};
use std::time::Instant;

/// How a transfer on the data connection ended, when it did not succeed.
enum Failed {
    /// The client reset or stalled the data connection: 426.
    Connection(String),
    /// Our side failed (the disk, say): 451, or 452 when it is full.
    Local(Errno),
    /// The upload grew past --max-upload: 552.
    TooLarge,
    /// The client closed the control connection during the upload.
    ClientGone,
}

impl Session<'_> {
    // ANCHOR: accept_data
    /// Wait (at most --data-timeout) for the client to connect to the
    /// passive listener, and take the connection. Replies 425 and returns
    /// `None` if there is no listener or no connection.
    fn accept_data(&mut self) -> io::Result<Option<TcpStream>> {
        let Some(listener) = self.passive.take() else {
            self.reply(425, "Use PASV or EPSV first.")?;
            return Ok(None);
        };
        let deadline = Instant::now() + self.args.data_timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            // poll(2) with a timeout: accept(2) itself would wait forever.
            let timeout = PollTimeout::try_from(left).unwrap_or(PollTimeout::MAX);
            let ready = match poll(
                &mut [PollFd::new(listener.as_fd(), PollFlags::POLLIN)],
                timeout,
            ) {
                Ok(ready) => ready,
                Err(Errno::EINTR) => continue,
                Err(errno) => return Err(errno.into()),
            };
            if ready == 0 {
                let secs = self.args.data_timeout.as_secs_f64();
                self.reply(425, &format!("No data connection within {secs} s."))?;
                return Ok(None);
            }
            let (data, from) = listener.accept()?;
            // Only the client may connect: anyone else could otherwise steal
            // the file (or inject an upload) by racing it to the port.
            if from.ip() != self.peer.ip() {
                self.log(&format!(
                    "refused a data connection from {from}: not the client"
                ));
                continue;
            }
            // SO_RCVTIMEO / SO_SNDTIMEO: a transfer that stalls this long fails.
            data.set_read_timeout(Some(self.args.data_timeout))?;
            data.set_write_timeout(Some(self.args.data_timeout))?;
            return Ok(Some(data));
        }
        // `listener` is dropped here: one PASV, one transfer.
    }
    // ANCHOR_END: accept_data

    /// LIST (`ls -l` lines) or NLST (names): a directory's regular files and
    /// subdirectories, or one file.
    pub fn list(&mut self, arg: Option<&str>, long: bool) -> io::Result<Next> {
        let Some((_, entries)) = self.listed("LIST", arg)? else {
            return Ok(Next::Continue);
        };
        let now = now();
        let mut text = String::new();
        for entry in &entries {
            text.push_str(&if long {
                long_line(entry, now)
            } else {
                entry.name.clone()
            });
            text.push_str("\r\n"); // listings are ASCII: CRLF, whatever TYPE says
        }
        let Some(mut data) = self.accept_data()? else {
            return Ok(Next::Continue);
        };
        self.reply(150, "Here comes the directory listing.")?;
        let sent = data.write_all(text.as_bytes());
        drop(data);
        match sent {
            Ok(()) => {
                let count = match entries.len() {
                    1 => "1 entry".to_string(),
                    n => format!("{n} entries"),
                };
                self.ok(226, &format!("Directory send OK: {count}."))
            }
            Err(err) => self.ok(
                426,
                &format!("Data connection failed: {err}; listing aborted."),
            ),
        }
    }

    /// What LIST (or STAT) with `arg` lists: the path and its entries.
    /// Replies itself (and returns `None`) when it cannot.
    pub fn listed(
        &mut self,
        verb: &str,
        arg: Option<&str>,
    ) -> io::Result<Option<(VirtualPath, Vec<Entry>)>> {
        // Clients often send ls options (`LIST -la`); we have none, skip them.
        let name = arg.map(|a| {
            a.split(' ')
                .filter(|w| !w.starts_with('-'))
                .collect::<Vec<_>>()
                .join(" ")
        });
        let path = match name.filter(|n| !n.is_empty()) {
            Some(name) => match self.path_arg(verb, Some(&name))? {
                Some(path) => path,
                None => return Ok(None),
            },
            None => self.cwd.clone(),
        };
        match self.entries(&path) {
            Ok(entries) => Ok(Some((path, entries))),
            Err(errno) => {
                self.refuse(&path, errno)?;
                Ok(None)
            }
        }
    }

    fn entries(&self, path: &VirtualPath) -> nix::Result<Vec<Entry>> {
        let stat = self.library.stat(path)?;
        if is_directory(&stat) {
            list(self.library, path)
        } else if is_regular(&stat) {
            Ok(vec![Entry {
                name: path.name().unwrap_or("").to_string(),
                stat,
            }])
        } else {
            Err(Errno::ENOENT)
        }
    }

    // ANCHOR: retr
    /// RETR: send a regular file of the library, from byte `offset` on
    /// (0, unless a REST came just before).
    pub fn retr(&mut self, arg: Option<&str>, offset: u64) -> io::Result<Next> {
        let Some(path) = self.path_arg("RETR", arg)? else {
            return Ok(Next::Continue);
        };
        let file = match self.library.open(&path, OFlag::O_RDONLY, Mode::empty()) {
            Ok(fd) => File::from(fd),
            Err(errno) => return self.refuse(&path, errno),
        };
        let size = match fstat(file.as_fd()) {
            Ok(stat) if is_regular(&stat) => stat.st_size as u64,
            Ok(_) => return self.ok(550, &format!("Not a regular file: {path}")),
            Err(errno) => return self.refuse(&path, errno),
        };
        if offset > size {
            return self.ok(554, &beyond_the_end(offset, &path, size));
        }
        // Resume: move the file's offset; sendfile(2) reads from there.
        if let Err(err) = (&file).seek(SeekFrom::Start(offset)) {
            return self.refuse(&path, errno_of(&err));
        }
        let Some(data) = self.accept_data()? else {
            return Ok(Next::Continue);
        };
        let mode = if self.binary { "BINARY" } else { "ASCII" };
        let from = match offset {
            0 => String::new(),
            n => format!(" from byte {n}"),
        };
        self.reply(
            150,
            &format!(
                "Opening {mode} mode data connection for {path} ({} bytes{from}).",
                size - offset
            ),
        )?;
        let sent = if self.binary {
            send_binary(&file, &data)
        } else {
            send_ascii(&file, &data)
        };
        drop(data); // the close tells the client the file is complete
        match sent {
            Ok(bytes) => self.ok(226, &format!("Transfer complete: {bytes} bytes sent.")),
            Err(Failed::Local(errno)) => self.ok(451, &format!("Reading {path} failed: {errno}.")),
            Err(Failed::Connection(why)) => {
                self.ok(426, &format!("Data connection {why}; transfer aborted."))
            }
            Err(Failed::TooLarge | Failed::ClientGone) => self.ok(426, "Transfer aborted."), // uploads only
        }
    }
    // ANCHOR_END: retr

    // ANCHOR: stor
    /// STOR (and APPE): receive a file into a temporary file, and rename it
    /// over the target only once the upload is complete.
    pub fn stor(&mut self, verb: &str, arg: Option<&str>, keep: Keep) -> io::Result<Next> {
        let Some((path, name)) = self.file_name_arg(verb, arg)? else {
            return Ok(Next::Continue);
        };
        if let Ok(stat) = self.library.stat(&path) {
            if is_directory(&stat) {
                return self.ok(550, &format!("Is a directory: {path}"));
            }
        }
        // What APPE or REST+STOR keep of the old file: opened (beneath the
        // root, like every name) before the temporary file exists.
        let old = match self.kept_part(&path, keep) {
            Ok(old) => old,
            Err((code, text)) => return self.ok(code, &text),
        };
        // The directory is opened beneath the root; the temporary file and
        // the final name are single components inside it.
        let upload = self
            .library
            .open_dir(&path.parent())
            .and_then(|dir| AtomicFile::create(dir, &name));
        let mut upload = match upload {
            Ok(upload) => upload,
            Err(errno) => return self.refuse(&path, errno),
        };
        // The kept bytes are copied into the temporary file and the new
        // ones go after them: the old file itself is never written to.
        // (std::io::copy between two files uses copy_file_range(2): the
        // kernel copies, the bytes never pass through our memory.)
        let kept = match old {
            None => 0,
            Some((old, length)) => match io::copy(&mut (&old).take(length), upload.file()) {
                Ok(copied) if copied == length => length,
                Ok(_) => return self.ok(451, &format!("{path} shrank while it was copied.")),
                Err(err) => return self.refuse(&path, errno_of(&err)),
            },
        };
        let Some(data) = self.accept_data()? else {
            return Ok(Next::Continue);
        };
        let after = match kept {
            0 => String::new(),
            n => format!(", after its first {n} bytes"),
        };
        self.reply(150, &format!("Ok to send data for {path}{after}."))?;
        let received = receive(&data, upload.file(), self.binary, self.args.max_upload);
        // Stream mode has no "end of file" marker: the client closes the
        // data connection. A client killed half-way closes it too, so
        // before we believe the file is complete, check that the client is
        // still there on the control connection.
        let received = received.and_then(|bytes| {
            if self.client_gone() {
                Err(Failed::ClientGone)
            } else {
                Ok(bytes)
            }
        });
        drop(data);
        let received = match received {
            Ok(bytes) => upload.commit().map(|()| bytes).map_err(Failed::Local),
            // Dropped unrenamed, the temporary file is removed and the old
            // file stays as it was; remove it before the reply, so that a
            // client that lists the folder next never sees it.
            Err(failed) => {
                drop(upload);
                Err(failed)
            }
        };
        match received {
            Ok(bytes) => self.ok(
                226,
                &format!("Transfer complete: {bytes} bytes stored as {path}{after}."),
            ),
            Err(Failed::ClientGone) => {
                self.log(&format!(
                    "the client left during the upload: {path} discarded"
                ));
                Ok(Next::Close("the client left during an upload"))
            }
            Err(Failed::TooLarge) => {
                let limit = self.args.max_upload;
                self.ok(
                    552,
                    &format!("Upload larger than the limit of {limit} bytes: discarded."),
                )
            }
            Err(Failed::Connection(why)) => {
                self.ok(426, &format!("Data connection {why}; upload discarded."))
            }
            Err(Failed::Local(errno)) => self.refuse(&path, errno),
        }
    }
    // ANCHOR_END: stor

    // ANCHOR: kept_part
    /// The old file an upload keeps a part of, and that part's length;
    /// `None` when it keeps nothing. `Err` holds the reply that refuses.
    fn kept_part(&self, path: &VirtualPath, keep: Keep) -> Result<Option<(File, u64)>, Refused> {
        if matches!(keep, Keep::First(0)) {
            return Ok(None); // a plain STOR
        }
        let old = match self.library.open(path, OFlag::O_RDONLY, Mode::empty()) {
            Ok(fd) => File::from(fd),
            // APPE to a name that does not exist yet creates it (RFC 959).
            Err(Errno::ENOENT) if keep == Keep::All => return Ok(None),
            Err(errno) => return Err(refusal(path, errno)),
        };
        let size = match fstat(old.as_fd()) {
            Ok(stat) if is_regular(&stat) => stat.st_size as u64,
            Ok(_) => return Err((550, format!("Not a regular file: {path}"))),
            Err(errno) => return Err(refusal(path, errno)),
        };
        match keep {
            Keep::First(n) if n > size => Err((554, beyond_the_end(n, path, size))),
            Keep::First(n) => Ok(Some((old, n))),
            Keep::All => Ok(Some((old, size))),
        }
    }
    // ANCHOR_END: kept_part

    /// Has the client hung up the control connection?
    ///
    /// A killed client's kernel closes both of its connections within
    /// microseconds, but in no promised order: the data connection's FIN
    /// may reach us first. So wait up to [`GONE_GRACE_MS`] for the control
    /// connection to become readable, then peek at it without consuming
    /// anything (`MSG_PEEK | MSG_DONTWAIT`): 0 bytes means its FIN arrived.
    /// A live client sends nothing here (it waits for our 226), so a live
    /// client's upload is committed after the grace period.
    fn client_gone(&self) -> bool {
        let mut fds = [PollFd::new(self.control.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(GONE_GRACE_MS)) {
            Ok(0) => return false, // quiet: the client waits for its reply
            Ok(_) => {}
            Err(_) => return true,
        }
        let mut byte = [0u8; 1];
        match recv(
            self.control.as_raw_fd(),
            &mut byte,
            MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(0) => true,
            Ok(_) => false, // it sent another command: still there
            Err(Errno::EAGAIN | Errno::EINTR) => false,
            Err(_) => true, // ECONNRESET and the like
        }
    }
}

/// What an upload keeps of the file it replaces.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// STOR: the first n bytes (after `REST n`; 0, nothing, for a plain STOR).
    First(u64),
    /// APPE: all of it; the upload goes at the end.
    All,
}

/// A refusal: the reply's code and text.
type Refused = (u16, String);

/// 554 (RFC 3659: "invalid REST parameter"): the offset is past the end.
fn beyond_the_end(offset: u64, path: &VirtualPath, size: u64) -> String {
    format!("Cannot restart at byte {offset}: {path} has only {size} bytes.")
}

/// How long an upload waits, after its data connection ends, to see
/// whether the control connection ends too (a killed client).
const GONE_GRACE_MS: u8 = 100;

/// What a failed read or write of the data connection means.
fn connection_failed(err: &io::Error) -> Failed {
    Failed::Connection(match err.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => "stalled (data timeout)".to_string(),
        ErrorKind::ConnectionReset => "reset by the client".to_string(),
        ErrorKind::BrokenPipe => "closed by the client".to_string(),
        _ => format!("failed: {err}"),
    })
}

// ANCHOR: sendfile
/// TYPE I: the file as it is, with sendfile(2): the kernel copies from the
/// page cache to the socket, never through our memory.
fn send_binary(file: &File, data: &TcpStream) -> Result<u64, Failed> {
    let mut sent = 0u64;
    loop {
        match sendfile(data.as_fd(), file.as_fd(), None, 1 << 20) {
            Ok(0) => return Ok(sent), // end of file
            Ok(n) => sent += n as u64,
            Err(Errno::EINTR) => continue,
            Err(errno @ (Errno::EAGAIN | Errno::EPIPE | Errno::ECONNRESET)) => {
                return Err(connection_failed(&io::Error::from(errno)))
            }
            Err(errno) => return Err(Failed::Local(errno)),
        }
    }
}
// ANCHOR_END: sendfile

/// TYPE A: LF becomes CRLF on the way out.
fn send_ascii(mut file: &File, mut data: &TcpStream) -> Result<u64, Failed> {
    let (mut buf, mut out, mut sent) = (vec![0u8; 64 * 1024], Vec::new(), 0u64);
    let mut converter = ToNetwork::default();
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Failed::Local(errno_of(&e)))?;
        if n == 0 {
            return Ok(sent);
        }
        out.clear();
        converter.convert(&buf[..n], &mut out);
        data.write_all(&out).map_err(|e| connection_failed(&e))?;
        sent += out.len() as u64;
    }
}

// ANCHOR: receive
/// Read the data connection to its end into `file`, at most `limit` bytes
/// (counted as they arrive on the wire). Returns the bytes written.
fn receive(mut data: &TcpStream, file: &mut File, binary: bool, limit: u64) -> Result<u64, Failed> {
    let (mut buf, mut out, mut received, mut written) =
        (vec![0u8; 64 * 1024], Vec::new(), 0u64, 0u64);
    let mut converter = FromNetwork::default();
    loop {
        let n = match data.read(&mut buf) {
            Ok(n) => n,
            Err(err) if err.kind() == ErrorKind::Interrupted => continue,
            Err(err) => return Err(connection_failed(&err)),
        };
        received += n as u64;
        if received > limit {
            return Err(Failed::TooLarge);
        }
        let bytes: &[u8] = if n == 0 && !binary {
            out.clear();
            converter.finish(&mut out);
            &out
        } else if binary {
            &buf[..n]
        } else {
            out.clear();
            converter.convert(&buf[..n], &mut out);
            &out
        };
        file.write_all(bytes)
            .map_err(|e| Failed::Local(errno_of(&e)))?;
        written += bytes.len() as u64;
        if n == 0 {
            return Ok(written); // EOF: the client closed the data connection
        }
    }
}
// ANCHOR_END: receive
