//! One client's session: the file server's commands. The finished version
//! of exercise ftp-commands (`lessons/ftp-commands/starter/session.rs`).
//!
//! The project's file server does four things: list the library, get a
//! file, put a file, quit. A client asks for them in FTP (RFC 959), the
//! protocol curl, Python's ftplib and lftp speak. Commands and numbered
//! replies travel on the *control connection*, one session long; every
//! listing and every file travels on a *data connection* of its own:
//!
//! ```text
//! list   PASV, then LIST        227 (where to connect), 150, the lines, 226
//! get    PASV, then RETR name   227, 150, the file's bytes, 226
//! put    PASV, then STOR name   227, 150, the client sends the bytes, 226
//! quit   QUIT                   221, and the server closes the connection
//! ```
//!
//! First the session loop (greeting, one command at a time, the idle
//! timeout), the login (USER, PASS) and the small commands clients send
//! first (TYPE, PWD, CWD, SYST, NOOP), and helpers for names and for the
//! data connection; then the exercise: PASV, LIST, RETR, STOR and QUIT.

use crate::atomic_file::{is_temporary, AtomicFile};
use crate::listing::{list, long_line, now};
use crate::root::{is_directory, resolve, Library, NameError, VirtualPath};
use crate::server::Args;
use lsbaws::ftp::line::{read_command, Line};
use lsbaws::ftp::passive::{listen_passive, pasv_text};
use lsbaws::ftp::reply;
use lsbaws::report::{errno_of, warn_unless_disconnect};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::socket::{setsockopt, sockopt::ReceiveTimeout};
use nix::sys::stat::Mode;
use nix::sys::time::TimeVal;
use std::fs::File;
use std::io::{self, BufReader, ErrorKind, Write};
use std::net::{IpAddr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};

/// What the session does after a command.
enum Next {
    Continue,
    Close,
}

struct Session<'a> {
    library: &'a Library,
    args: &'a Args,
    /// Commands come in through a buffer; replies go straight out.
    reader: BufReader<TcpStream>,
    control: TcpStream,
    peer: SocketAddr,
    /// USER was accepted: PASS comes next.
    user_accepted: bool,
    logged_in: bool,
    /// The client's working directory (CWD), inside the library.
    cwd: VirtualPath,
    /// The listener your PASV opened, waiting for the next LIST, RETR or
    /// STOR to take the client's data connection from it.
    passive: Option<TcpListener>,
}

/// Serve one client until it leaves. `server.rs` calls this in the child
/// process it forked for the client, and exits when it returns.
pub fn serve(control: TcpStream, library: &Library, args: &Args) {
    let session = Session::new(control, library, args);
    if let Err(err) = session.and_then(|mut session| session.run()) {
        warn_unless_disconnect("the control connection", &err);
    }
}

impl<'a> Session<'a> {
    fn new(control: TcpStream, library: &'a Library, args: &'a Args) -> io::Result<Session<'a>> {
        // A read that waits longer than --idle-timeout fails: a client that
        // says nothing cannot hold its process for ever.
        control.set_read_timeout(Some(args.idle_timeout))?;
        // Each reply leaves at once, not after the client's delayed ACK.
        control.set_nodelay(true)?;
        Ok(Session {
            library,
            args,
            reader: BufReader::new(control.try_clone()?),
            peer: control.peer_addr()?,
            control,
            user_accepted: false,
            logged_in: false,
            cwd: VirtualPath::root(),
            passive: None,
        })
    }

    /// Greet, then one command at a time until QUIT, the end of the
    /// connection, or the idle timeout.
    fn run(&mut self) -> io::Result<()> {
        self.reply(220, "ftp-commands ready; log in as anonymous.")?;
        loop {
            let command = match read_command(&mut self.reader) {
                Ok(Line::Command(command)) => command,
                Ok(Line::TooLong) => {
                    self.reply(500, "Command line too long.")?;
                    continue;
                }
                Ok(Line::Eof) => return Ok(()),
                Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return self.reply(421, "Idle for too long: goodbye.");
                }
                Err(err) => return Err(err),
            };
            let (verb, arg) = (command.verb.as_str(), command.arg.as_deref());
            match (verb, arg) {
                ("PASS", _) => self.log("> PASS ****"),
                (verb, Some(arg)) => self.log(&format!("> {verb} {arg}")),
                (verb, None) => self.log(&format!("> {verb}")),
            }
            if let Next::Close = self.dispatch(verb, arg)? {
                return Ok(());
            }
        }
    }

    /// Run one command. `Err` means the control connection itself failed.
    fn dispatch(&mut self, verb: &str, arg: Option<&str>) -> io::Result<Next> {
        match verb {
            "USER" => self.user(arg),
            "PASS" => self.pass(),
            "QUIT" => self.quit(),
            _ if !self.logged_in => self.ok(530, "Log in first: USER anonymous, then PASS."),
            "SYST" => self.ok(215, "UNIX Type: L8"),
            "NOOP" => self.ok(200, "OK."),
            // Clients send TYPE A before a listing and TYPE I before a file;
            // this server sends every file byte for byte either way.
            "TYPE" => self.ok(200, "OK: every file is sent byte for byte."),
            "PWD" => self.ok(257, &format!("\"{}\" is the current directory.", self.cwd)),
            "CWD" => self.cwd(arg),
            "PASV" => self.pasv(),
            "LIST" => self.list(arg),
            "RETR" => self.retr(arg),
            "STOR" => self.stor(arg),
            verb => {
                // At most a few printable characters of what was sent.
                let shown: String = verb
                    .chars()
                    .filter(char::is_ascii_graphic)
                    .take(16)
                    .collect();
                self.ok(502, &format!("{shown} is not implemented."))
            }
        }
    }

    fn user(&mut self, arg: Option<&str>) -> io::Result<Next> {
        let anonymous = arg.is_some_and(|name| {
            name.eq_ignore_ascii_case("anonymous") || name.eq_ignore_ascii_case("ftp")
        });
        self.user_accepted = anonymous && !self.logged_in;
        match (self.logged_in, anonymous) {
            (true, _) => self.ok(503, "Already logged in."),
            (false, true) => self.ok(331, "Anonymous login OK; send any password."),
            (false, false) => self.ok(530, "Only anonymous login: USER anonymous."),
        }
    }

    fn pass(&mut self) -> io::Result<Next> {
        if !self.user_accepted {
            return self.ok(503, "Send USER anonymous first.");
        }
        (self.user_accepted, self.logged_in) = (false, true);
        self.ok(230, "Logged in; the library is /.")
    }

    fn cwd(&mut self, arg: Option<&str>) -> io::Result<Next> {
        let Some(path) = self.path("CWD", arg)? else {
            return Ok(Next::Continue);
        };
        match self.library.stat(&path) {
            Ok(stat) if is_directory(&stat) => {
                self.cwd = path;
                self.ok(250, &format!("Now in {}.", self.cwd))
            }
            Ok(_) => self.ok(550, &format!("Not a directory: {path}")),
            Err(errno) => self.refuse(&path, errno),
        }
    }

    // ---- helpers for your commands -------------------------------------------

    /// The library path a command names (relative to the working directory,
    /// `..` worked out), or `None` once it has replied why not: 501 for a
    /// missing name, 550 for a name that climbs above the library root.
    /// Open what it returns through `self.library` (`open`, `open_dir`,
    /// `stat`), which the kernel keeps beneath the root, symlinks included.
    fn path(&mut self, verb: &str, arg: Option<&str>) -> io::Result<Option<VirtualPath>> {
        let Some(name) = arg else {
            self.reply(501, &format!("{verb} needs a name."))?;
            return Ok(None);
        };
        match resolve(&self.cwd, name) {
            Ok(path) => Ok(Some(path)),
            Err(NameError::OutsideRoot) => {
                self.reply(550, &format!("Refused: {name} leads outside the library."))?;
                Ok(None)
            }
            Err(why) => {
                self.reply(501, &format!("Refused: {why}."))?;
                Ok(None)
            }
        }
    }

    /// The reply to a failed open (or stat) of `path`.
    fn refuse(&mut self, path: &VirtualPath, errno: Errno) -> io::Result<Next> {
        let why = match errno {
            Errno::ENOENT => "No such file or directory",
            // RESOLVE_BENEATH refused: a symlink or `..` leads out.
            Errno::EXDEV | Errno::ELOOP => "Refused, it leads outside the library",
            Errno::EISDIR => "Is a directory",
            Errno::ENOTDIR => "Not a directory",
            errno => errno.desc(),
        };
        self.ok(550, &format!("{why}: {path}"))
    }

    /// Take the client's data connection from the listener PASV opened.
    /// Replies 425 and returns `None` if there was no PASV, or if the client
    /// does not connect within --data-timeout. The connection returned
    /// gives up on a transfer that stalls that long, too.
    fn accept_data(&mut self) -> io::Result<Option<TcpStream>> {
        let Some(listener) = self.passive.take() else {
            self.reply(425, "Send PASV first.")?;
            return Ok(None);
        };
        let timeout = self.args.data_timeout;
        // SO_RCVTIMEO bounds accept(2) on a listening socket as it bounds
        // read(2) on a connection: EAGAIN when it runs out.
        let limit = TimeVal::new(timeout.as_secs() as _, timeout.subsec_micros() as _);
        setsockopt(&listener, ReceiveTimeout, &limit)?;
        loop {
            match listener.accept() {
                // Only our client: anyone else racing it to the port could
                // steal the file, or plant an upload.
                Ok((data, from)) if from.ip() == self.peer.ip() => {
                    data.set_read_timeout(Some(timeout))?;
                    data.set_write_timeout(Some(timeout))?;
                    return Ok(Some(data));
                }
                Ok(_) => continue,
                Err(err) if err.kind() == ErrorKind::Interrupted => continue,
                Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    self.reply(425, "No data connection came.")?;
                    return Ok(None);
                }
                Err(err) => return Err(err),
            }
        }
        // `listener` closes here: one PASV, one transfer.
    }

    /// Send a reply and go on with the session.
    fn ok(&mut self, code: u16, text: &str) -> io::Result<Next> {
        self.reply(code, text)?;
        Ok(Next::Continue)
    }

    /// Send a reply (and print it, as the server prints every command).
    fn reply(&mut self, code: u16, text: &str) -> io::Result<()> {
        self.log(&format!("< {code} {text}"));
        reply::send(&mut self.control, code, text)
    }

    /// One line on stdout, with this child's pid (unless --quiet).
    fn log(&self, line: &str) {
        if !self.args.server.quiet {
            // Not println!: it panics when stdout is gone (a closed pipe).
            let line = line.escape_debug(); // a client may send anything
            let _ = writeln!(io::stdout().lock(), "[pid {}] {line}", std::process::id());
        }
    }

    // ---- the commands ----------------------------------------------------------

    /// PASV: listen on a new port of the address the client reached us on,
    /// and tell the client where. The next LIST, RETR or STOR accepts one
    /// connection on it.
    fn pasv(&mut self) -> io::Result<Next> {
        let IpAddr::V4(ip) = self.control.local_addr()?.ip() else {
            return self.ok(522, "PASV is for IPv4.");
        };
        let listener = match listen_passive(ip.into(), self.args.pasv_ports) {
            Ok(listener) => listener,
            Err(err) => return self.ok(425, &format!("Cannot open a passive port: {err}.")),
        };
        let port = listener.local_addr()?.port();
        self.passive = Some(listener);
        self.ok(227, &pasv_text(SocketAddrV4::new(ip, port)))
    }

    /// LIST [name]: the `ls -l` lines of a directory over the data connection.
    fn list(&mut self, arg: Option<&str>) -> io::Result<Next> {
        // Clients may send ls options (`LIST -la`): we have none, skip them.
        let dir = match arg.filter(|name| !name.starts_with('-')) {
            None => self.cwd.clone(),
            name => match self.path("LIST", name)? {
                Some(path) => path,
                None => return Ok(Next::Continue),
            },
        };
        let entries = match list(self.library, &dir) {
            Ok(entries) => entries,
            Err(errno) => return self.refuse(&dir, errno),
        };
        let now = now();
        let text: String = entries
            .iter()
            .map(|entry| long_line(entry, now) + "\r\n")
            .collect();
        let Some(mut data) = self.accept_data()? else {
            return Ok(Next::Continue);
        };
        self.reply(150, "Here comes the listing.")?;
        let sent = data.write_all(text.as_bytes());
        drop(data); // the close tells the client the listing is complete
        match sent {
            Ok(()) => self.ok(226, &format!("Listing sent: {} entries.", entries.len())),
            Err(err) => self.ok(426, &format!("Data connection failed: {err}.")),
        }
    }

    /// RETR name: send a file of the library, byte for byte.
    fn retr(&mut self, arg: Option<&str>) -> io::Result<Next> {
        let Some(path) = self.path("RETR", arg)? else {
            return Ok(Next::Continue);
        };
        let mut file = match self.library.open(&path, OFlag::O_RDONLY, Mode::empty()) {
            Ok(fd) => File::from(fd),
            Err(errno) => return self.refuse(&path, errno),
        };
        match file.metadata() {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => return self.ok(550, &format!("Not a file: {path}")),
            Err(err) => return self.refuse(&path, errno_of(&err)),
        }
        let Some(mut data) = self.accept_data()? else {
            return Ok(Next::Continue);
        };
        self.reply(150, &format!("Sending {path}."))?;
        let sent = io::copy(&mut file, &mut data);
        drop(data); // the close tells the client the file is complete
        match sent {
            Ok(bytes) => self.ok(226, &format!("Sent {bytes} bytes.")),
            Err(err) => self.ok(426, &format!("Data connection failed: {err}.")),
        }
    }

    /// STOR name: store what the client sends, all or nothing.
    fn stor(&mut self, arg: Option<&str>) -> io::Result<Next> {
        let Some(path) = self.path("STOR", arg)? else {
            return Ok(Next::Continue);
        };
        // The last component, which names the file in its directory; never
        // the root, nor a name reserved for uploads in progress.
        let Some(name) = path.name().filter(|name| !is_temporary(name)) else {
            return self.ok(553, &format!("File name not allowed: {path}"));
        };
        let name = name.to_string();
        let upload = self
            .library
            .open_dir(&path.parent())
            .and_then(|dir| AtomicFile::create(dir, &name));
        let mut upload = match upload {
            Ok(upload) => upload,
            Err(errno) => return self.refuse(&path, errno),
        };
        let Some(mut data) = self.accept_data()? else {
            return Ok(Next::Continue);
        };
        self.reply(150, &format!("Send {path}."))?;
        // The client closes the data connection when it has sent everything:
        // that EOF ends the copy. A reset or a stall is an error instead.
        let received = io::copy(&mut data, upload.file());
        drop(data);
        // Only a complete upload takes the name; one that failed is dropped
        // here, uncommitted, which removes its temporary file.
        let stored = received
            .and_then(move |bytes| upload.commit().map(|()| bytes).map_err(io::Error::from));
        match stored {
            Ok(bytes) => self.ok(226, &format!("Stored {bytes} bytes as {path}.")),
            Err(err) => self.ok(426, &format!("Upload failed: {err}; discarded.")),
        }
    }

    /// QUIT: say goodbye and end the session; the child process exits, and
    /// the kernel closes the control connection.
    fn quit(&mut self) -> io::Result<Next> {
        self.reply(221, "Goodbye.")?;
        Ok(Next::Close)
    }
}
