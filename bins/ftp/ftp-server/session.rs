//! One client's session, run by the child process that `main` forked for
//! its control connection: read a command, act, reply; until `QUIT`, EOF,
//! or the idle timeout.

use crate::atomic_file::is_temporary;
use crate::listing::mdtm_time;
use crate::root::{is_directory, is_regular, resolve, Library, NameError, VirtualPath};
use crate::server::Args;
use crate::transfer::Keep;
use lsbaws::ftp::line::{read_command, Command, Line};
use lsbaws::ftp::passive::{epsv_text, listen_passive, pasv_text};
use lsbaws::ftp::reply;
use lsbaws::report::{errno_of, warn_unless_disconnect};
use nix::errno::Errno;
use nix::fcntl::{renameat, AtFlags, OFlag};
use nix::sys::stat::{fstatat, mkdirat, Mode};
use nix::unistd::{unlinkat, UnlinkatFlags};
use std::io::{self, BufReader, ErrorKind, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream};

/// What the session does after a command.
pub enum Next {
    Continue,
    /// End the session, for this reason.
    Close(&'static str),
}

/// Where the client is in the login sequence.
#[derive(PartialEq, Eq)]
enum Login {
    /// Nothing sent yet: USER comes first.
    Waiting,
    /// USER anonymous accepted: PASS comes next.
    UserAccepted,
    LoggedIn,
}

/// One client's state; `transfer.rs` adds the commands that open a data
/// connection.
pub struct Session<'a> {
    pub library: &'a Library,
    pub args: &'a Args,
    /// Commands come in through a buffer (a command may arrive in pieces,
    /// or several in one segment); replies go straight out.
    reader: BufReader<TcpStream>,
    pub control: TcpStream,
    pub peer: SocketAddr,
    login: Login,
    /// The client's working directory (`CWD`), inside the library.
    pub cwd: VirtualPath,
    /// `TYPE I` (true, the bytes as they are) or `TYPE A` (line ends converted).
    pub binary: bool,
    /// The listener of the last `PASV`/`EPSV`, waiting for the next transfer.
    pub passive: Option<TcpListener>,
    /// The name an `RNFR` accepted, for the `RNTO` that must come next.
    rename_from: Option<(VirtualPath, String)>,
    /// The byte offset a `REST` gave, for the next transfer only.
    restart: Option<u64>,
}

/// Serve one control connection to its end. Errors end the session, never
/// the process with a panic: the parent and the other clients go on.
pub fn serve(control: TcpStream, library: &Library, args: &Args) {
    let mut session = match Session::new(control, library, args) {
        Ok(session) => session,
        Err(err) => return warn_unless_disconnect("setting up the control connection", &err),
    };
    session.log(&format!("connection from {}", session.peer));
    match session.run() {
        Ok(why) => session.log(&format!("session ended: {why}")),
        Err(err) => {
            session.log(&format!("session ended: {err}"));
            warn_unless_disconnect("the control connection", &err);
        }
    }
}

impl<'a> Session<'a> {
    fn new(control: TcpStream, library: &'a Library, args: &'a Args) -> io::Result<Session<'a>> {
        // SO_RCVTIMEO: a read(2) that waits longer than this fails with
        // EAGAIN. That is the idle timeout, kept by the kernel. SO_SNDTIMEO
        // bounds a reply to a client that stopped reading.
        control.set_read_timeout(Some(args.idle_timeout))?;
        control.set_write_timeout(Some(args.idle_timeout))?;
        // TCP_NODELAY: each reply is one complete write(2). With Nagle's
        // algorithm on, `226` would wait for the client to acknowledge
        // `150`, and the client delays that ACK by up to 40 ms.
        control.set_nodelay(true)?;
        Ok(Session {
            library,
            args,
            reader: BufReader::new(control.try_clone()?),
            peer: control.peer_addr()?,
            control,
            login: Login::Waiting,
            cwd: VirtualPath::root(),
            binary: false, // RFC 959: the default type is ASCII
            passive: None,
            rename_from: None,
            restart: None,
        })
    }

    // ANCHOR: command_loop
    /// Greet, then one command at a time until the client leaves. Returns
    /// why the session ended.
    fn run(&mut self) -> io::Result<&'static str> {
        self.reply(220, "lsbaws ftp-server ready; log in as anonymous.")?;
        loop {
            let command = match read_command(&mut self.reader) {
                Ok(Line::Command(command)) => command,
                Ok(Line::TooLong) => {
                    self.reply(500, "Command line too long.")?;
                    continue;
                }
                Ok(Line::Eof) => return Ok("the client closed the control connection"),
                Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    let secs = self.args.idle_timeout.as_secs_f64();
                    self.reply(
                        421,
                        &format!("Idle for {secs} s: closing the control connection."),
                    )?;
                    return Ok("idle timeout");
                }
                Err(err) if err.kind() == ErrorKind::InvalidData => {
                    self.reply(
                        500,
                        "Command line without an end: closing the control connection.",
                    )?;
                    return Ok("an endless command line");
                }
                Err(err) => return Err(err),
            };
            self.log_command(&command);
            if let Next::Close(why) = self.dispatch(&command)? {
                return Ok(why);
            }
        }
    }
    // ANCHOR_END: command_loop

    // ANCHOR: dispatch
    /// Run one command. `Err` means the control connection itself failed.
    fn dispatch(&mut self, command: &Command) -> io::Result<Next> {
        let arg = command.arg.as_deref();
        // RNTO names the new name of the RNFR just before it, and of no
        // other: any other command in between forgets the RNFR.
        let rename_from = self.rename_from.take();
        // What a client may send before it has logged in.
        match command.verb.as_str() {
            "USER" => return self.user(arg),
            "PASS" => return self.pass(),
            "QUIT" => {
                self.reply(221, "Goodbye.")?;
                return Ok(Next::Close("QUIT"));
            }
            "NOOP" => return self.ok(200, "OK."),
            "SYST" => return self.ok(215, "UNIX Type: L8"),
            "FEAT" => {
                self.log_reply(211, "Features: ... End");
                let features = ["EPSV", "MDTM", "PASV", "REST STREAM", "SIZE", "TVFS", "UTF8"];
                reply::send_multi(&mut self.control, 211, "Features:", &features, "End")?;
                return Ok(Next::Continue);
            }
            "OPTS" => return self.opts(arg),
            "HELP" => return self.ok(214, "Commands: USER PASS QUIT NOOP SYST FEAT OPTS PWD CWD CDUP TYPE MODE STRU PASV EPSV LIST NLST RETR STOR APPE REST SIZE MDTM DELE MKD RMD RNFR RNTO STAT ABOR ALLO."),
            _ => {}
        }
        if self.login != Login::LoggedIn {
            return match command.verb.as_str() {
                verb if NEED_LOGIN.contains(&verb) => {
                    self.ok(530, "Log in first: USER anonymous, then PASS.")
                }
                verb => self.unknown(verb),
            };
        }
        // REST's offset is for the next transfer only: each transfer command
        // takes it, whether it uses it or not (a listing starts at 0).
        let restart = match command.verb.as_str() {
            "RETR" | "STOR" | "APPE" | "LIST" | "NLST" => self.restart.take().unwrap_or(0),
            _ => 0,
        };
        match command.verb.as_str() {
            "PWD" | "XPWD" => {
                // A `"` in the name is written twice (RFC 959, appendix II).
                let quoted = self.cwd.to_string().replace('"', "\"\"");
                self.ok(257, &format!("\"{quoted}\" is the current directory."))
            }
            "CWD" | "XCWD" => self.cwd(arg),
            "CDUP" | "XCUP" => self.cwd(Some("..")),
            "TYPE" => self.set_type(arg),
            "MODE" => self.only_one(arg, "S", "stream mode"),
            "STRU" => self.only_one(arg, "F", "file structure"),
            "PASV" => self.pasv(),
            "EPSV" => self.epsv(arg),
            "LIST" => self.list(arg, true),
            "NLST" => self.list(arg, false),
            "REST" => self.rest(arg),
            // An offset counts bytes of the file; in ASCII mode the bytes on
            // the wire differ (CRLF), so no offset means the same on both ends.
            "RETR" | "STOR" | "APPE" if restart > 0 && !self.binary => self.ok(
                555,
                "Resuming works in binary mode only: send TYPE I, then REST again.",
            ),
            "RETR" => self.retr(arg, restart),
            "STOR" => self.stor("STOR", arg, Keep::First(restart)),
            "APPE" if restart > 0 => self.ok(503, "APPE appends at the end: send it without REST."),
            "APPE" => self.stor("APPE", arg, Keep::All),
            "SIZE" => self.size(arg),
            "MDTM" => self.mdtm(arg),
            "DELE" => self.dele(arg),
            "STAT" => self.stat(arg),
            "MKD" | "XMKD" => self.mkd(arg),
            "RMD" | "XRMD" => self.rmd(arg),
            "RNFR" => self.rnfr(arg),
            "RNTO" => self.rnto(arg, rename_from),
            "ABOR" => self.ok(225, "No transfer to abort."),
            "ALLO" => self.ok(202, "No storage allocation necessary."),
            "PORT" | "EPRT" => self.ok(502, "Active mode is not supported: use PASV or EPSV."),
            verb => self.unknown(verb),
        }
    }
    // ANCHOR_END: dispatch

    /// 502 for a command of RFC 959 we leave out, 500 for anything else.
    fn unknown(&mut self, verb: &str) -> io::Result<Next> {
        if NOT_IMPLEMENTED.contains(&verb) {
            return self.ok(502, &format!("{verb} is not implemented."));
        }
        // Echo at most a few printable characters of what was sent.
        let shown: String = verb
            .chars()
            .take(16)
            .map(|c| if c.is_ascii_graphic() { c } else { '?' })
            .collect();
        self.ok(500, &format!("Unknown command {shown:?}."))
    }

    // ANCHOR: login
    fn user(&mut self, arg: Option<&str>) -> io::Result<Next> {
        let Some(name) = arg else {
            return self.ok(501, "USER needs a name: USER anonymous.");
        };
        if self.login == Login::LoggedIn {
            return self.ok(503, "Already logged in.");
        }
        if name.eq_ignore_ascii_case("anonymous") || name.eq_ignore_ascii_case("ftp") {
            self.login = Login::UserAccepted;
            return self.ok(331, "Anonymous login OK; send any password.");
        }
        self.login = Login::Waiting;
        self.ok(530, "Only anonymous login is allowed: USER anonymous.")
    }

    fn pass(&mut self) -> io::Result<Next> {
        match self.login {
            Login::Waiting => self.ok(503, "Send USER first."),
            Login::LoggedIn => self.ok(503, "Already logged in."),
            Login::UserAccepted => {
                self.login = Login::LoggedIn;
                self.ok(230, "Logged in as anonymous; the library is /.")
            }
        }
    }
    // ANCHOR_END: login

    fn opts(&mut self, arg: Option<&str>) -> io::Result<Next> {
        match arg.map(str::to_ascii_uppercase).as_deref() {
            Some("UTF8 ON") | Some("UTF-8 ON") => self.ok(200, "Always in UTF8 mode."),
            _ => self.ok(501, "Option not understood; try OPTS UTF8 ON."),
        }
    }

    /// REST n: the next RETR starts at byte n of the file, and the next
    /// STOR keeps the first n bytes of the file it replaces.
    fn rest(&mut self, arg: Option<&str>) -> io::Result<Next> {
        match arg.map(str::parse::<u64>) {
            Some(Ok(offset)) => {
                self.restart = Some(offset);
                self.ok(
                    350,
                    &format!("Restarting at byte {offset}: send RETR or STOR next."),
                )
            }
            _ => {
                self.restart = None;
                self.ok(501, "REST needs a byte offset: a whole number, 0 or more.")
            }
        }
    }

    fn cwd(&mut self, arg: Option<&str>) -> io::Result<Next> {
        let Some(path) = self.path_arg("CWD", arg)? else {
            return Ok(Next::Continue);
        };
        match self.library.stat(&path) {
            Ok(stat) if is_directory(&stat) => {
                self.cwd = path;
                self.ok(250, &format!("Directory changed to {}.", self.cwd))
            }
            Ok(_) => self.ok(550, &format!("Not a directory: {path}")),
            Err(errno) => self.refuse(&path, errno),
        }
    }

    fn set_type(&mut self, arg: Option<&str>) -> io::Result<Next> {
        match arg.map(str::to_ascii_uppercase).as_deref() {
            Some("I") | Some("L 8") => {
                self.binary = true;
                self.ok(200, "Switching to binary mode (TYPE I).")
            }
            Some("A") | Some("A N") => {
                self.binary = false;
                self.ok(
                    200,
                    "Switching to ASCII mode (TYPE A): line ends become CRLF on the wire.",
                )
            }
            Some(_) => self.ok(504, "Only TYPE I and TYPE A are supported."),
            None => self.ok(501, "TYPE needs an argument: TYPE I or TYPE A."),
        }
    }

    /// MODE S and STRU F are the only values anyone uses.
    fn only_one(&mut self, arg: Option<&str>, value: &str, what: &str) -> io::Result<Next> {
        match arg {
            Some(a) if a.eq_ignore_ascii_case(value) => self.ok(200, &format!("OK, {what}.")),
            Some(_) => self.ok(504, &format!("Only {what} is supported.")),
            None => self.ok(501, "Missing argument."),
        }
    }

    // ANCHOR: pasv
    /// PASV: listen on a new port of the address the client reached us on,
    /// and tell the client where. The next transfer command accepts one
    /// connection on it.
    fn pasv(&mut self) -> io::Result<Next> {
        let IpAddr::V4(ip) = self.control.local_addr()?.ip() else {
            return self.ok(522, "PASV is for IPv4; use EPSV.");
        };
        let Some(listener) = self.open_passive(ip.into())? else {
            return Ok(Next::Continue);
        };
        let port = listener.local_addr()?.port();
        self.passive = Some(listener);
        self.ok(227, &pasv_text(std::net::SocketAddrV4::new(ip, port)))
    }
    // ANCHOR_END: pasv

    /// EPSV (RFC 2428): the same, naming only the port.
    fn epsv(&mut self, arg: Option<&str>) -> io::Result<Next> {
        let local = self.control.local_addr()?.ip();
        match arg {
            None => {}
            Some(a) if a.eq_ignore_ascii_case("ALL") => {
                return self.ok(200, "EPSV ALL: only EPSV from now on.")
            }
            Some("1") if local.is_ipv4() => {}
            Some("2") if local.is_ipv6() => {}
            Some(_) => {
                return self.ok(
                    522,
                    "Network protocol not supported; use (1) for IPv4, (2) for IPv6.",
                )
            }
        }
        let Some(listener) = self.open_passive(local)? else {
            return Ok(Next::Continue);
        };
        let port = listener.local_addr()?.port();
        self.passive = Some(listener);
        self.ok(229, &epsv_text(port))
    }

    fn open_passive(&mut self, ip: IpAddr) -> io::Result<Option<TcpListener>> {
        self.passive = None; // a new PASV replaces the last one
        match listen_passive(ip, self.args.pasv_ports) {
            Ok(listener) => Ok(Some(listener)),
            Err(err) => {
                self.reply(425, &format!("Cannot open a passive port: {err}."))?;
                Ok(None)
            }
        }
    }

    fn size(&mut self, arg: Option<&str>) -> io::Result<Next> {
        let Some(path) = self.path_arg("SIZE", arg)? else {
            return Ok(Next::Continue);
        };
        let file = match self.library.open(&path, OFlag::O_RDONLY, Mode::empty()) {
            Ok(file) => std::fs::File::from(file),
            Err(errno) => return self.refuse(&path, errno),
        };
        match file.metadata() {
            Ok(meta) if meta.is_file() && self.binary => self.ok(213, &meta.len().to_string()),
            // In ASCII mode SIZE counts the bytes as sent: with CRLF line ends.
            Ok(meta) if meta.is_file() => match lsbaws::ftp::ascii::network_size(&mut &file) {
                Ok(size) => self.ok(213, &size.to_string()),
                Err(err) => self.refuse(&path, errno_of(&err)),
            },
            Ok(_) => self.ok(550, &format!("Not a regular file: {path}")),
            Err(err) => self.refuse(&path, errno_of(&err)),
        }
    }

    fn mdtm(&mut self, arg: Option<&str>) -> io::Result<Next> {
        let Some(path) = self.path_arg("MDTM", arg)? else {
            return Ok(Next::Continue);
        };
        match self.library.stat(&path) {
            Ok(stat) if is_regular(&stat) => self.ok(213, &mdtm_time(stat.st_mtime)),
            Ok(_) => self.ok(550, &format!("Not a regular file: {path}")),
            Err(errno) => self.refuse(&path, errno),
        }
    }

    fn dele(&mut self, arg: Option<&str>) -> io::Result<Next> {
        let Some((path, name)) = self.file_name_arg("DELE", arg)? else {
            return Ok(Next::Continue);
        };
        // unlinkat(2) in the parent directory, itself opened beneath the
        // root: the last component is never followed, so deleting a
        // symlink deletes the link, not what it points at.
        let result = self
            .library
            .open_dir(&path.parent())
            .and_then(|dir| unlinkat(&dir, name.as_str(), UnlinkatFlags::NoRemoveDir));
        match result {
            Ok(()) => self.ok(250, &format!("Deleted {path}.")),
            Err(errno) => self.refuse(&path, errno),
        }
    }

    // MKD, RMD, RNFR/RNTO: like DELE, each opens the parent directory
    // beneath the root (openat2, RESOLVE_BENEATH) and acts on the last
    // component with a *at(2) call, which never follows it: a symlink
    // named last is itself made, removed or renamed, never what it points
    // at, and a `..` or a link that leads out fails in the open.

    fn mkd(&mut self, arg: Option<&str>) -> io::Result<Next> {
        let Some((path, name)) = self.file_name_arg("MKD", arg)? else {
            return Ok(Next::Continue);
        };
        let result = self
            .library
            .open_dir(&path.parent())
            .and_then(|dir| mkdirat(&dir, name.as_str(), Mode::from_bits_truncate(0o755)));
        match result {
            // 257 names the new directory, quoted as PWD quotes it.
            Ok(()) => {
                let quoted = path.to_string().replace('"', "\"\"");
                self.ok(257, &format!("\"{quoted}\" created."))
            }
            Err(Errno::EEXIST) => self.ok(550, &format!("Already exists: {path}")),
            Err(errno) => self.refuse(&path, errno),
        }
    }

    fn rmd(&mut self, arg: Option<&str>) -> io::Result<Next> {
        let Some((path, name)) = self.file_name_arg("RMD", arg)? else {
            return Ok(Next::Continue);
        };
        let result = self
            .library
            .open_dir(&path.parent())
            .and_then(|dir| unlinkat(&dir, name.as_str(), UnlinkatFlags::RemoveDir));
        match result {
            Ok(()) => self.ok(250, &format!("Removed {path}.")),
            Err(Errno::ENOTEMPTY | Errno::EEXIST) => {
                self.ok(550, &format!("Directory not empty: {path}"))
            }
            Err(errno) => self.refuse(&path, errno),
        }
    }

    /// STAT: the session's state, or (with a name) its listing, on the
    /// control connection instead of a data connection.
    fn stat(&mut self, arg: Option<&str>) -> io::Result<Next> {
        if arg.is_none() {
            let lines = [
                format!("Connected from {}, logged in as anonymous", self.peer),
                format!("Working directory: {}", self.cwd),
                match self.binary {
                    true => "TYPE I (binary)".to_string(),
                    false => "TYPE A (ASCII)".to_string(),
                },
                match self.passive {
                    Some(_) => "A passive port is open for the next transfer".to_string(),
                    None => "No transfer in progress".to_string(),
                },
            ];
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            self.log_reply(211, "Status: ... End of status");
            reply::send_multi(&mut self.control, 211, "Status:", &lines, "End of status.")?;
            return Ok(Next::Continue);
        }
        let Some((path, entries)) = self.listed("STAT", arg)? else {
            return Ok(Next::Continue);
        };
        let now = crate::listing::now();
        // A name may hold a CR or LF: on the control connection it would end
        // the reply early, so control characters become `?`.
        let lines: Vec<String> = entries
            .iter()
            .map(|entry| {
                crate::listing::long_line(entry, now)
                    .chars()
                    .map(|c| if c.is_control() { '?' } else { c })
                    .collect()
            })
            .collect();
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        self.log_reply(213, &format!("Status of {path}: ... End of status"));
        reply::send_multi(
            &mut self.control,
            213,
            &format!("Status of {path}:"),
            &lines,
            "End of status.",
        )?;
        Ok(Next::Continue)
    }

    /// RNFR: remember the name if it exists; RNTO renames it.
    fn rnfr(&mut self, arg: Option<&str>) -> io::Result<Next> {
        let Some((path, name)) = self.file_name_arg("RNFR", arg)? else {
            return Ok(Next::Continue);
        };
        let exists = self
            .library
            .open_dir(&path.parent())
            .and_then(|dir| fstatat(&dir, name.as_str(), AtFlags::AT_SYMLINK_NOFOLLOW).map(|_| ()));
        match exists {
            Ok(()) => {
                self.rename_from = Some((path.clone(), name));
                self.ok(350, &format!("{path} exists; send RNTO with its new name."))
            }
            Err(errno) => self.refuse(&path, errno),
        }
    }

    fn rnto(&mut self, arg: Option<&str>, from: Option<(VirtualPath, String)>) -> io::Result<Next> {
        let Some((from, from_name)) = from else {
            return self.ok(503, "RNTO comes right after RNFR: send RNFR first.");
        };
        let Some((to, to_name)) = self.file_name_arg("RNTO", arg)? else {
            return Ok(Next::Continue);
        };
        let result = self.library.open_dir(&from.parent()).and_then(|from_dir| {
            let to_dir = self.library.open_dir(&to.parent())?;
            renameat(&from_dir, from_name.as_str(), &to_dir, to_name.as_str())
        });
        match result {
            Ok(()) => self.ok(250, &format!("Renamed {from} to {to}.")),
            Err(Errno::ENOTEMPTY | Errno::EEXIST) => self.ok(
                550,
                &format!("Not renamed: {to} is a directory that is not empty"),
            ),
            Err(Errno::EINVAL) => self.ok(
                553,
                &format!("Not renamed: {from} cannot move inside itself ({to})"),
            ),
            Err(errno) => self.refuse(&to, errno),
        }
    }

    /// The library path a command names. Replies itself (and returns
    /// `None`) if the argument is missing or leads outside the root.
    pub fn path_arg(&mut self, verb: &str, arg: Option<&str>) -> io::Result<Option<VirtualPath>> {
        let Some(name) = arg else {
            self.reply(501, &format!("{verb} needs a file name."))?;
            return Ok(None);
        };
        match resolve(&self.cwd, name) {
            Ok(path) => Ok(Some(path)),
            Err(NameError::OutsideRoot) => {
                self.reply(
                    550,
                    &format!("Refused: {name}: that name leads outside the library root."),
                )?;
                Ok(None)
            }
            Err(why) => {
                self.reply(501, &format!("Refused: {why}."))?;
                Ok(None)
            }
        }
    }

    /// Like [`Session::path_arg`], for a command that creates or removes a
    /// file: also returns its last component, and refuses the root and the
    /// names of uploads in progress.
    pub fn file_name_arg(
        &mut self,
        verb: &str,
        arg: Option<&str>,
    ) -> io::Result<Option<(VirtualPath, String)>> {
        let Some(path) = self.path_arg(verb, arg)? else {
            return Ok(None);
        };
        match path.name() {
            Some(name) if !is_temporary(name) => {
                let name = name.to_string();
                Ok(Some((path, name)))
            }
            _ => {
                self.reply(553, &format!("File name not allowed: {path}"))?;
                Ok(None)
            }
        }
    }

    /// Reply [`refusal`] for a failed file-system call on `path`.
    pub fn refuse(&mut self, path: &VirtualPath, errno: Errno) -> io::Result<Next> {
        let (code, text) = refusal(path, errno);
        self.ok(code, &text)
    }

    /// Send a reply and go on with the session.
    pub fn ok(&mut self, code: u16, text: &str) -> io::Result<Next> {
        self.reply(code, text)?;
        Ok(Next::Continue)
    }

    /// Send a reply (and print it, as the server prints every command).
    pub fn reply(&mut self, code: u16, text: &str) -> io::Result<()> {
        self.log_reply(code, text);
        reply::send(&mut self.control, code, text)
    }

    fn log_command(&self, command: &Command) {
        match (command.verb.as_str(), &command.arg) {
            ("PASS", Some(_)) => self.log("> PASS ****"),
            (verb, Some(arg)) => self.log(&format!("> {verb} {arg}")),
            (verb, None) => self.log(&format!("> {verb}")),
        }
    }

    fn log_reply(&self, code: u16, text: &str) {
        self.log(&format!("< {code} {text}"));
    }

    /// One line on stdout, tagged with this child's pid (unless --quiet).
    pub fn log(&self, text: &str) {
        if !self.args.server.quiet {
            // Escape control characters: the log shows what a client sent,
            // and a client may send anything.
            let mut shown = String::with_capacity(text.len());
            for c in text.chars() {
                if c.is_control() {
                    shown.extend(c.escape_default());
                } else {
                    shown.push(c);
                }
            }
            // Not println!: it panics when stdout is gone (a closed pipe).
            let _ = writeln!(io::stdout().lock(), "[pid {}] {shown}", std::process::id());
        }
    }
}

/// The reply (code and text) for a failed file-system call on `path`.
pub fn refusal(path: &VirtualPath, errno: Errno) -> (u16, String) {
    let (code, why) = match errno {
        Errno::ENOENT => (550, "No such file or directory"),
        // openat2(RESOLVE_BENEATH) refused: a symlink or `..` leads out.
        Errno::EXDEV | Errno::ELOOP => (550, "Refused, it leads outside the library root"),
        Errno::EACCES | Errno::EPERM => (550, "Permission denied"),
        Errno::ENOTDIR => (550, "Not a directory"),
        Errno::EISDIR => (550, "Is a directory"),
        Errno::ENAMETOOLONG => (553, "File name too long"),
        Errno::ENOSPC | Errno::EDQUOT => (452, "Not enough storage space"),
        _ => (451, errno.desc()),
    };
    (code, format!("{why}: {path}"))
}

/// Commands that need a login first (530 before it).
const NEED_LOGIN: &[&str] = &[
    "PWD", "XPWD", "CWD", "XCWD", "CDUP", "XCUP", "TYPE", "MODE", "STRU", "PASV", "EPSV", "LIST",
    "NLST", "RETR", "STOR", "SIZE", "MDTM", "DELE", "MKD", "XMKD", "RMD", "XRMD", "RNFR", "RNTO",
    "STAT", "ABOR", "ALLO", "PORT", "EPRT", "REST", "APPE",
];

/// Commands of RFC 959 and its extensions that this server leaves out.
const NOT_IMPLEMENTED: &[&str] = &[
    "ACCT", "SMNT", "REIN", "STOU", "SITE", "MLSD", "MLST", "LPRT", "LPSV",
];
