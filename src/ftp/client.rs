//! A small FTP client: passive mode, binary transfers.
//!
//! `ftp-client` is a prompt around it, and the tests use it to drive
//! servers. It speaks to any FTP server that supports passive mode, not
//! just ours: it tries `EPSV` first and falls back to `PASV`, and it
//! connects data connections to the address of the control connection, as
//! curl and ftplib do, whatever address a `227` reply names.

use super::passive::{parse_epsv, parse_pasv};
use super::reply::{read_reply, Reply};
use std::fmt;
use std::io::{self, BufReader, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// What went wrong with a command.
#[derive(Debug)]
pub enum Error {
    /// The connection failed (refused, reset, timed out, closed).
    Io(io::Error),
    /// The server answered with a failure (or an unexpected) reply.
    Reply(Reply),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(err) => write!(f, "{err}"),
            Error::Reply(reply) => write!(f, "{reply}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Error {
        Error::Io(err)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// A logged-in (or about to be) control connection.
#[derive(Debug)]
pub struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    peer: IpAddr,
    timeout: Duration,
    /// The server's first reply (`220 ...`).
    pub greeting: Reply,
    /// Print every command and reply to stderr (`ftp-client --verbose`).
    pub trace: bool,
    binary: bool,
    epsv_refused: bool,
}

impl Client {
    /// Connect to `addr` (`127.0.0.1:2121`, `localhost:21`) and read the
    /// greeting. `timeout` bounds the connect and every later read and write.
    pub fn connect(addr: impl ToSocketAddrs, timeout: Duration) -> Result<Client> {
        let mut last_error =
            io::Error::new(io::ErrorKind::NotFound, "the name resolved to no address");
        for addr in addr.to_socket_addrs()? {
            match Client::connect_to(addr, timeout) {
                Ok(client) => return Ok(client),
                Err(Error::Io(err)) => last_error = err,
                Err(err) => return Err(err),
            }
        }
        Err(Error::Io(last_error))
    }

    fn connect_to(addr: SocketAddr, timeout: Duration) -> Result<Client> {
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        // Each command is one write: send it now, not after the last ACK.
        stream.set_nodelay(true)?;
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut greeting = read_reply(&mut reader)?;
        while greeting.code == 120 {
            greeting = read_reply(&mut reader)?; // "ready in a few minutes"
        }
        if greeting.code != 220 {
            return Err(Error::Reply(greeting));
        }
        Ok(Client {
            reader,
            peer: stream.peer_addr()?.ip(),
            writer: stream,
            timeout,
            greeting,
            trace: false,
            binary: false,
            epsv_refused: false,
        })
    }

    /// USER, then PASS if the server asks for it (331).
    pub fn login(&mut self, user: &str, password: &str) -> Result<Reply> {
        let reply = self.command(&format!("USER {user}"))?;
        match reply.code {
            230 => Ok(reply),
            331 => self.expect(&format!("PASS {password}"), |code| {
                code == 230 || code == 202
            }),
            _ => Err(Error::Reply(reply)),
        }
    }

    /// Send one command line and read the reply, whatever its code.
    pub fn command(&mut self, line: &str) -> Result<Reply> {
        self.send(line)?;
        self.reply()
    }

    /// Send a command; a reply whose code `ok` rejects is an error.
    pub fn expect(&mut self, line: &str, ok: impl Fn(u16) -> bool) -> Result<Reply> {
        let reply = self.command(line)?;
        if ok(reply.code) {
            Ok(reply)
        } else {
            Err(Error::Reply(reply))
        }
    }

    fn send(&mut self, line: &str) -> io::Result<()> {
        if self.trace {
            let shown = if line.starts_with("PASS ") {
                "PASS ****"
            } else {
                line
            };
            eprintln!("> {shown}");
        }
        self.writer.write_all(format!("{line}\r\n").as_bytes())
    }

    fn reply(&mut self) -> Result<Reply> {
        let reply = read_reply(&mut self.reader)?;
        if self.trace {
            for line in &reply.lines {
                eprintln!("< {line}");
            }
        }
        Ok(reply)
    }

    /// The working directory, from PWD's `257 "/dir" ...`.
    pub fn pwd(&mut self) -> Result<String> {
        let reply = self.expect("PWD", |code| code == 257)?;
        let text = reply.text();
        let quoted = text.strip_prefix('"').and_then(|rest| {
            // `""` inside the quotes stands for one `"`.
            let mut name = String::new();
            let mut chars = rest.chars().peekable();
            while let Some(c) = chars.next() {
                match (c, chars.peek()) {
                    ('"', Some('"')) => {
                        name.push('"');
                        chars.next();
                    }
                    ('"', _) => return Some(name),
                    (c, _) => name.push(c),
                }
            }
            None
        });
        Ok(quoted.unwrap_or_else(|| text.to_string()))
    }

    pub fn cwd(&mut self, dir: &str) -> Result<Reply> {
        self.expect(&format!("CWD {dir}"), |code| code == 250 || code == 200)
    }

    pub fn delete(&mut self, name: &str) -> Result<Reply> {
        self.expect(&format!("DELE {name}"), |code| code == 250 || code == 200)
    }

    /// SIZE, in bytes (binary mode).
    pub fn size(&mut self, name: &str) -> Result<u64> {
        self.binary()?;
        let reply = self.expect(&format!("SIZE {name}"), |code| code == 213)?;
        reply
            .text()
            .trim()
            .parse()
            .map_err(|_| Error::Reply(reply.clone()))
    }

    /// LIST: the server's `ls -l`-like lines, as sent.
    pub fn list(&mut self, path: Option<&str>) -> Result<Vec<u8>> {
        let command = path.map_or("LIST".to_string(), |p| format!("LIST {p}"));
        let mut listing = Vec::new();
        self.transfer(&command, |data| io::copy(data, &mut listing).map(drop))?;
        Ok(listing)
    }

    /// NLST: the names, one per line.
    pub fn names(&mut self, path: Option<&str>) -> Result<Vec<String>> {
        let command = path.map_or("NLST".to_string(), |p| format!("NLST {p}"));
        let mut listing = Vec::new();
        self.transfer(&command, |data| io::copy(data, &mut listing).map(drop))?;
        Ok(String::from_utf8_lossy(&listing)
            .lines()
            .map(str::to_string)
            .collect())
    }

    /// RETR `name` into `out`; returns the bytes received.
    pub fn retrieve(&mut self, name: &str, out: &mut impl Write) -> Result<u64> {
        self.binary()?;
        let mut received = 0;
        self.transfer(&format!("RETR {name}"), |data| {
            received = io::copy(data, out)?;
            Ok(())
        })?;
        Ok(received)
    }

    /// STOR `input` as `name`; returns the bytes sent.
    pub fn store(&mut self, name: &str, input: &mut impl Read) -> Result<u64> {
        self.binary()?;
        let mut sent = 0;
        self.transfer(&format!("STOR {name}"), |data| {
            sent = io::copy(input, data)?;
            // FIN: in stream mode the end of the connection is the end of
            // the file. The server answers 226 only after it sees it.
            data.shutdown(Shutdown::Write)
        })?;
        Ok(sent)
    }

    /// One transfer: [`Client::start_transfer`], let `move_bytes` use the
    /// data connection, close it, [`Client::finish_transfer`].
    pub fn transfer(
        &mut self,
        command: &str,
        move_bytes: impl FnOnce(&mut TcpStream) -> io::Result<()>,
    ) -> Result<Reply> {
        let mut data = self.start_transfer(command)?;
        let moved = move_bytes(&mut data);
        if moved.is_err() {
            // Our side failed half-way (a local file could not be read, say).
            // Close with RST, not FIN: a FIN would tell the server the file
            // is complete.
            reset_on_close(&data);
        }
        drop(data);
        let done = self.finish_transfer();
        match (done, moved) {
            // The server's reason (552 too large, say) explains a broken
            // data connection better than the broken pipe does.
            (Err(Error::Reply(reply)), _) => Err(Error::Reply(reply)),
            (_, Err(err)) => Err(Error::Io(err)),
            (done, Ok(())) => done,
        }
    }

    /// Open a data connection (EPSV or PASV), send `command` (`RETR x`) and
    /// wait for its preliminary `1yz` reply. The caller moves the bytes and
    /// closes the connection.
    pub fn start_transfer(&mut self, command: &str) -> Result<TcpStream> {
        let data = self.open_data()?;
        let started = self.command(command)?;
        if !started.is_preliminary() {
            return Err(Error::Reply(started));
        }
        Ok(data)
    }

    /// The final reply of a transfer, after the data connection closed:
    /// `226` (or another 2yz) is success.
    pub fn finish_transfer(&mut self) -> Result<Reply> {
        let done = self.reply()?;
        if done.is_success() {
            Ok(done)
        } else {
            Err(Error::Reply(done))
        }
    }

    /// Read one more reply (after a command sent some other way).
    pub fn read_reply(&mut self) -> Result<Reply> {
        self.reply()
    }

    /// EPSV (or PASV, if the server refuses EPSV), then connect.
    pub fn open_data(&mut self) -> Result<TcpStream> {
        let port = if self.epsv_refused {
            None
        } else {
            self.epsv_port()?
        };
        let port = match port {
            Some(port) => port,
            None => {
                let reply = self.expect("PASV", |code| code == 227)?;
                // Connect to the control connection's peer, not the address in
                // the reply: a server must not send us to a third machine.
                parse_pasv(reply.text())
                    .ok_or_else(|| Error::Reply(reply.clone()))?
                    .port()
            }
        };
        let data = TcpStream::connect_timeout(&SocketAddr::new(self.peer, port), self.timeout)?;
        data.set_read_timeout(Some(self.timeout))?;
        data.set_write_timeout(Some(self.timeout))?;
        Ok(data)
    }

    fn epsv_port(&mut self) -> Result<Option<u16>> {
        let reply = self.command("EPSV")?;
        match reply.code {
            229 => parse_epsv(reply.text())
                .map(Some)
                .ok_or(Error::Reply(reply)),
            500 | 501 | 502 | 522 => {
                self.epsv_refused = true;
                Ok(None)
            }
            _ => Err(Error::Reply(reply)),
        }
    }

    fn binary(&mut self) -> Result<()> {
        if !self.binary {
            self.expect("TYPE I", |code| code == 200)?;
            self.binary = true;
        }
        Ok(())
    }

    /// QUIT: the server says goodbye and closes the connection.
    pub fn quit(mut self) -> Result<Reply> {
        self.expect("QUIT", |code| code == 221)
    }
}

/// SO_LINGER with a zero timeout: close(2) sends RST instead of FIN.
pub fn reset_on_close(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let _ = nix::sys::socket::setsockopt(stream, nix::sys::socket::sockopt::Linger, &linger);
}
