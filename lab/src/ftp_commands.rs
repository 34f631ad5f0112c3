//! The file server project's exercise, ftp-commands: the student writes the
//! commands a client needs to list, get, put and quit (PASV, LIST, RETR,
//! STOR, QUIT). The checks drive the server with the clients students will
//! use (curl, Python's ftplib, lftp) and compare every byte; where a client
//! program cannot show a fault (a `226` sent before the file), they speak
//! FTP themselves.

use super::check::{Check, Verdict};
use super::ftp::{escape_attempts, Library, WAIT};
use super::question::{Answer, Measured, Question};
use super::subject::Subject;
use lsbaws::ftp::passive::parse_pasv;
use lsbaws::ftp::reply::{read_reply, Reply};
use lsbaws_harness::{pattern, ScratchDir};
use std::io::{BufReader, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The file every transfer check moves: 1 MiB, in both directions.
const FILE_SIZE: usize = 1 << 20;
/// How long a client program may take for one run: a 1 MiB transfer takes
/// milliseconds, so this is a hang.
const TOOL_TIME: Duration = Duration::from_secs(10);

/// A server on a fresh library (the one of the other FTP exercises, with
/// `big.bin` added: 1 MiB), and a local folder for the client's files.
struct Setup {
    library: Library,
    local: ScratchDir,
    big: Vec<u8>,
}

impl Setup {
    fn start(subject: &Subject, label: &str) -> Result<Setup, String> {
        let library = Library::start(subject, label)?;
        let big = pattern(FILE_SIZE, 7);
        std::fs::write(library.dir().join("big.bin"), &big)
            .map_err(|e| format!("writing big.bin failed: {e}"))?;
        let local = ScratchDir::new(&format!("{label}-local"))
            .map_err(|e| format!("creating a scratch directory failed: {e}"))?;
        Ok(Setup {
            library,
            local,
            big,
        })
    }

    fn url(&self, name: &str) -> String {
        format!("ftp://127.0.0.1:{}/{name}", self.library.server.port())
    }

    /// A local file of 1 MiB (another pattern than big.bin), to upload.
    fn upload_source(&self, seed: u64) -> Result<(PathBuf, Vec<u8>), String> {
        let bytes = pattern(FILE_SIZE, seed);
        let path = self.local.path().join("upload.bin");
        std::fs::write(&path, &bytes).map_err(|e| format!("writing {path:?} failed: {e}"))?;
        Ok((path, bytes))
    }

    /// Did the upload `name` arrive whole, as the only new name?
    fn check_upload(&self, before: &[String], name: &str, sent: &[u8]) -> Vec<String> {
        let mut problems = Vec::new();
        match std::fs::read(self.library.dir().join(name)) {
            Ok(stored) if stored == sent => {}
            Ok(stored) => problems.push(differs(&format!("the library's {name}"), &stored, sent)),
            Err(e) => problems.push(format!("the library has no {name}: {e}")),
        }
        let added: Vec<String> = self
            .library
            .names()
            .into_iter()
            .filter(|n| !before.contains(n))
            .collect();
        if added != [name] {
            problems.push(format!("the library gained {added:?}, not just {name}"));
        }
        problems
    }
}

/// How two byte strings differ, in words.
fn differs(what: &str, got: &[u8], expected: &[u8]) -> String {
    let at = got.iter().zip(expected).position(|(a, b)| a != b);
    match at {
        Some(at) => format!(
            "{what} differs from the original at byte {at} ({} bytes, the original {})",
            got.len(),
            expected.len()
        ),
        None => format!(
            "{what} is {} bytes, the original {}: {}",
            got.len(),
            expected.len(),
            if got.len() < expected.len() {
                "cut short"
            } else {
                "too long"
            }
        ),
    }
}

// ---- running client programs ---------------------------------------------------

/// What a client program did.
struct Run {
    /// Its exit status, or `None` if it was killed after [`TOOL_TIME`].
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// "curl exited with 13: curl: (13) Bad PASV/EPSV response: 502".
    fn failure(&self, program: &str) -> String {
        let said = self
            .stderr
            .lines()
            .rfind(|l| !l.starts_with(['*', '>', '<', '{', '}']) && !l.trim().is_empty())
            .unwrap_or("(nothing on stderr)")
            .trim()
            .to_string();
        match self.code {
            Some(code) => format!("{program} exited with {code}: {said}"),
            None => format!(
                "{program} had not finished after {TOOL_TIME:?} and was killed; it last said: {said}"
            ),
        }
    }
}

/// Is `program` on the PATH?
fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Run a client program in `dir` for at most [`TOOL_TIME`], in a process
/// group of its own that is killed and reaped if it takes longer. Its output
/// goes to files, so a chatty program never blocks on a full pipe.
fn run(program: &str, args: &[&str], dir: &Path) -> Result<Run, String> {
    use std::os::unix::process::CommandExt;
    let out = dir.join(format!(".{program}.out"));
    let err = dir.join(format!(".{program}.err"));
    let create =
        |path: &Path| std::fs::File::create(path).map_err(|e| format!("creating {path:?}: {e}"));
    let mut child = Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(create(&out)?)
        .stderr(create(&err)?)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("starting {program} failed: {e}"))?;
    let deadline = Instant::now() + TOOL_TIME;
    let code = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status.code().unwrap_or(-1)),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let group = nix::unistd::Pid::from_raw(child.id() as i32);
                let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
                let _ = child.wait();
                break None;
            }
        }
    };
    let read = |path: &Path| {
        let text = std::fs::read(path).unwrap_or_default();
        let _ = std::fs::remove_file(path);
        String::from_utf8_lossy(&text).into_owned()
    };
    Ok(Run {
        code,
        stdout: read(&out),
        stderr: read(&err),
    })
}

/// curl, verbose: its `> COMMAND` and `< REPLY` lines go to stderr.
fn curl(setup: &Setup, args: &[&str]) -> Result<Run, String> {
    if !installed("curl") {
        return Err(
            "curl is not installed — install it (apt-get install curl): these checks drive \
             your server with it"
                .to_string(),
        );
    }
    let time = TOOL_TIME.as_secs().saturating_sub(2).to_string();
    let mut all = vec!["--silent", "--show-error", "--verbose", "--max-time", &time];
    all.extend_from_slice(args);
    run("curl", &all, setup.local.path())
}

/// The FTP dialogue in curl's verbose output: `> PASV`, `< 502 ...`.
fn dialogue(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter(|l| {
            (l.starts_with("> ") && l[2..].starts_with(|c: char| c.is_ascii_uppercase()))
                || (l.starts_with("< ") && l[2..].starts_with(|c: char| c.is_ascii_digit()))
        })
        .map(|l| l.trim_end().to_string())
        .collect()
}

/// A failed curl run in words, with the end of the dialogue.
fn curl_failed(run: &Run) -> String {
    let dialogue = dialogue(&run.stderr);
    let tail = &dialogue[dialogue.len().saturating_sub(4)..];
    let mut saw = run.failure("curl");
    if !tail.is_empty() {
        saw.push_str(&format!("; the last of the dialogue: {}", tail.join(" | ")));
    }
    let timed_out = run.code == Some(28) || run.code.is_none();
    if timed_out && dialogue.last().is_some_and(|l| l.starts_with("< 150")) {
        saw.push_str(
            "; curl had the 150 and was still reading the data connection: a transfer ends \
             for it only when that connection ends",
        );
    }
    saw
}

// ---- curl ----------------------------------------------------------------------

/// `curl ftp://host:port/`: the listing's problems.
fn curl_lists(subject: &Subject) -> Result<Vec<String>, String> {
    let setup = Setup::start(subject, "lab-ftp-curl-list")?;
    let run = curl(&setup, &[&setup.url("")])?;
    if !run.ok() {
        return Ok(vec![curl_failed(&run)]);
    }
    let mut problems = Vec::new();
    for name in ["big.bin", "hello.txt", "sub"] {
        let line = run
            .stdout
            .lines()
            .find(|l| l.split_whitespace().last() == Some(name));
        match line {
            Some(line) if line.contains(&FILE_SIZE.to_string()) || name != "big.bin" => {}
            Some(line) => problems.push(format!(
                "the line of big.bin does not say 1048576 bytes: {line:?}"
            )),
            None => problems.push(format!(
                "no line ends in {name}; curl printed {:?}",
                run.stdout
            )),
        }
    }
    Ok(problems)
}

pub static CURL_LIST: Check = Check {
    id: "curl-list",
    title: "curl lists the library",
    expected:
        "`curl ftp://127.0.0.1:PORT/` exits 0 and prints an `ls -l` line for each of big.bin \
               (1048576 bytes), hello.txt and sub",
    run: |subject| Verdict::from_problems(curl_lists(subject), "a line for each"),
};

/// `curl -o` of big.bin and hello.txt: what did not arrive byte for byte.
fn curl_gets(subject: &Subject) -> Result<Vec<String>, String> {
    let setup = Setup::start(subject, "lab-ftp-curl-get")?;
    let mut problems = Vec::new();
    for (name, original) in [("big.bin", &setup.big[..]), ("hello.txt", b"hello")] {
        let local = setup.local.path().join(name);
        let run = curl(&setup, &["-o", &local.to_string_lossy(), &setup.url(name)])?;
        if !run.ok() {
            problems.push(format!("{name}: {}", curl_failed(&run)));
            continue;
        }
        match std::fs::read(&local) {
            Ok(got) if got == original => {}
            Ok(got) => problems.push(differs(&format!("curl's {name}"), &got, original)),
            Err(e) => problems.push(format!("curl wrote no {name}: {e}")),
        }
    }
    Ok(problems)
}

pub static CURL_GET: Check = Check {
    id: "curl-get",
    title: "curl downloads files byte for byte",
    expected: "`curl -o FILE ftp://127.0.0.1:PORT/big.bin` (1 MiB) and `.../hello.txt` exit 0, \
               and each file is the library's, byte for byte",
    run: |subject| Verdict::from_problems(curl_gets(subject), "both identical"),
};

/// `curl -T`: what did not arrive whole.
fn curl_puts(subject: &Subject) -> Result<Vec<String>, String> {
    let setup = Setup::start(subject, "lab-ftp-curl-put")?;
    let (source, sent) = setup.upload_source(8)?;
    let before = setup.library.names();
    let run = curl(
        &setup,
        &["-T", &source.to_string_lossy(), &setup.url("up.bin")],
    )?;
    if !run.ok() {
        return Ok(vec![curl_failed(&run)]);
    }
    Ok(setup.check_upload(&before, "up.bin", &sent))
}

pub static CURL_PUT: Check = Check {
    id: "curl-put",
    title: "curl uploads a file byte for byte",
    expected: "`curl -T upload.bin ftp://127.0.0.1:PORT/up.bin` (1 MiB) exits 0; the library's \
               up.bin is that file, byte for byte, and the only new name",
    run: |subject| Verdict::from_problems(curl_puts(subject), "up.bin stored whole"),
};

// ---- ftplib and lftp -------------------------------------------------------------

/// Lists, downloads big.bin, uploads upload.bin as up.bin, quits; prints
/// what it saw, one `key value` line each.
const FTPLIB_SCRIPT: &str = r#"
import ftplib, sys
port, local = int(sys.argv[1]), sys.argv[2]
ftp = ftplib.FTP()
ftp.connect("127.0.0.1", port, timeout=8)
ftp.login()
lines = []
ftp.dir(lines.append)
print("names", " ".join(line.split()[-1] for line in lines))
with open(local + "/big.bin", "wb") as f:
    ftp.retrbinary("RETR big.bin", f.write)
with open(local + "/upload.bin", "rb") as f:
    ftp.storbinary("STOR up.bin", f)
print("quit", ftp.quit())
"#;

/// Python's ftplib through its usual calls; `Ok(None)` when there is no
/// python3 to run it.
fn ftplib_session(subject: &Subject) -> Result<Option<Vec<String>>, String> {
    if !installed("python3") {
        return Ok(None);
    }
    let setup = Setup::start(subject, "lab-ftp-ftplib")?;
    let (_, sent) = setup.upload_source(9)?;
    let before = setup.library.names();
    let port = setup.library.server.port().to_string();
    let local = setup.local.path().to_string_lossy().into_owned();
    let run = run(
        "python3",
        &["-c", FTPLIB_SCRIPT, &port, &local],
        setup.local.path(),
    )?;
    if !run.ok() {
        // A Python traceback ends with the exception: `ftplib.error_perm: 502 ...`.
        return Ok(Some(vec![run.failure("python3 (ftplib)")]));
    }
    let mut problems = Vec::new();
    let said = |key: &str| {
        run.stdout
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
            .unwrap_or("")
            .to_string()
    };
    let names = said("names");
    if !["big.bin", "hello.txt", "sub"]
        .iter()
        .all(|n| names.split(' ').any(|m| m == *n))
    {
        problems.push(format!(
            "ftp.dir() (LIST) gave the names {names:?}, not big.bin, hello.txt and sub"
        ));
    }
    match std::fs::read(setup.local.path().join("big.bin")) {
        Ok(got) if got == setup.big => {}
        Ok(got) => problems.push(differs("retrbinary's big.bin", &got, &setup.big)),
        Err(e) => problems.push(format!("retrbinary wrote no big.bin: {e}")),
    }
    problems.extend(setup.check_upload(&before, "up.bin", &sent));
    if !said("quit").starts_with("221") {
        problems.push(format!("quit() got {:?}, not 221", said("quit")));
    }
    Ok(Some(problems))
}

pub static FTPLIB: Check = Check {
    id: "ftplib",
    title: "Python's ftplib lists, downloads, uploads and quits",
    expected: "ftplib's `login()`, `dir()` (PASV, LIST), `retrbinary(\"RETR big.bin\")`, \
               `storbinary(\"STOR up.bin\")` and `quit()` all succeed; both files arrive byte for \
               byte and QUIT gets 221 (skipped, and passed, when python3 is not installed: curl's \
               checks cover the same commands)",
    run: |subject| match ftplib_session(subject) {
        Ok(None) => Verdict::pass(
            "skipped: python3 is not installed; curl's checks cover LIST, RETR and STOR",
        ),
        Ok(Some(problems)) => Verdict::from_problems(Ok(problems), "all of it worked"),
        Err(why) => Verdict::fail(why),
    },
};

/// lftp lists, downloads and uploads; `Ok(None)` when it is not installed.
fn lftp_session(subject: &Subject) -> Result<Option<Vec<String>>, String> {
    if !installed("lftp") {
        return Ok(None);
    }
    let setup = Setup::start(subject, "lab-ftp-lftp")?;
    let (_, sent) = setup.upload_source(10)?;
    let before = setup.library.names();
    // No retries and no TLS: one honest attempt at each command.
    let script = format!(
        "set cmd:fail-exit yes; set net:max-retries 1; set net:timeout 5; \
         set net:reconnect-interval-base 1; set ftp:ssl-allow no; set xfer:clobber yes; \
         open -u anonymous,lab@example.com 127.0.0.1:{}; cls -1; get big.bin -o got.bin; \
         put upload.bin -o up.bin; quit",
        setup.library.server.port()
    );
    let run = run("lftp", &["-c", &script], setup.local.path())?;
    if !run.ok() {
        return Ok(Some(vec![run.failure("lftp")]));
    }
    let mut problems = Vec::new();
    let names: Vec<&str> = run
        .stdout
        .lines()
        .map(|l| l.trim_end_matches('/'))
        .collect();
    if !["big.bin", "hello.txt", "sub"]
        .iter()
        .all(|n| names.contains(n))
    {
        problems.push(format!(
            "`cls -1` (LIST) printed {:?}, not big.bin, hello.txt and sub",
            run.stdout
        ));
    }
    match std::fs::read(setup.local.path().join("got.bin")) {
        Ok(got) if got == setup.big => {}
        Ok(got) => problems.push(differs("lftp's get of big.bin", &got, &setup.big)),
        Err(e) => problems.push(format!("lftp's get wrote no got.bin: {e}")),
    }
    problems.extend(setup.check_upload(&before, "up.bin", &sent));
    Ok(Some(problems))
}

pub static LFTP: Check = Check {
    id: "lftp",
    title: "lftp lists, downloads and uploads",
    expected: "`lftp -c 'open ...; cls -1; get big.bin; put upload.bin -o up.bin; quit'` exits 0; \
               both files arrive byte for byte (skipped, and passed, when lftp is not installed: \
               curl's checks cover the same commands)",
    run: |subject| {
        match lftp_session(subject) {
        Ok(None) => Verdict::pass(
            "skipped: lftp is not installed (apt-get install lftp); curl's checks cover LIST, RETR and STOR",
        ),
        Ok(Some(problems)) => Verdict::from_problems(Ok(problems), "all of it worked"),
        Err(why) => Verdict::fail(why),
    }
    },
};

// ---- the protocol, spoken by hand ----------------------------------------------------

/// A control connection spoken by hand: commands out, replies in.
struct Control {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    addr: SocketAddr,
}

impl Control {
    /// Connected, greeted and logged in as anonymous.
    fn login(addr: SocketAddr) -> Result<Control, String> {
        let stream = TcpStream::connect_timeout(&addr, WAIT)
            .map_err(|e| format!("connecting to {addr} failed: {e}"))?;
        let _ = stream.set_read_timeout(Some(WAIT));
        let _ = stream.set_write_timeout(Some(WAIT));
        let reader = BufReader::new(
            stream
                .try_clone()
                .map_err(|e| format!("cloning a socket failed: {e}"))?,
        );
        let mut control = Control {
            reader,
            writer: stream,
            addr,
        };
        control.reply("the greeting")?;
        control.expect("USER anonymous", 331)?;
        control.expect("PASS lab@example.com", 230)?;
        Ok(control)
    }

    fn reply(&mut self, after: &str) -> Result<Reply, String> {
        read_reply(&mut self.reader)
            .map_err(|e| format!("reading the reply to {after} failed: {e}"))
    }

    fn command(&mut self, line: &str) -> Result<Reply, String> {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .map_err(|e| format!("sending {line} failed: {e}"))?;
        self.reply(line)
    }

    fn expect(&mut self, line: &str, code: u16) -> Result<Reply, String> {
        let reply = self.command(line)?;
        if reply.code != code {
            return Err(format!(
                "{line} got {reply:?}, not {code}",
                reply = reply.to_string()
            ));
        }
        Ok(reply)
    }

    /// PASV, then connect where it says (to the server's address).
    fn data(&mut self) -> Result<TcpStream, String> {
        let reply = self.expect("PASV", 227)?;
        let port = parse_pasv(reply.text())
            .ok_or_else(|| format!("PASV's reply {:?} names no address", reply.to_string()))?
            .port();
        let data = TcpStream::connect_timeout(&SocketAddr::new(self.addr.ip(), port), WAIT)
            .map_err(|e| format!("connecting to the data port {port} failed: {e}"))?;
        let _ = data.set_read_timeout(Some(WAIT));
        Ok(data)
    }
}

/// The file of the early-reply check: far more than the kernel buffers on
/// both ends of a loopback connection hold (a few MiB each), so a server
/// that writes it all before replying cannot have finished while the
/// client reads nothing.
const LARGE: usize = 32 << 20;
/// How long the client reads nothing and listens for a premature reply.
const QUIET: Duration = Duration::from_secs(1);

/// What came of a RETR whose data the client left unread for a while.
#[derive(Debug)]
struct Early {
    /// A reply that came while the file was unread.
    early: Option<String>,
    received: usize,
    whole: bool,
    /// The reply after the data connection ended.
    last: String,
}

fn retr_unread(subject: &Subject) -> Result<Early, String> {
    let library = Library::start(subject, "lab-ftp-early")?;
    let large = pattern(LARGE, 11);
    std::fs::write(library.dir().join("large.bin"), &large)
        .map_err(|e| format!("writing large.bin failed: {e}"))?;
    let mut control = Control::login(library.server.addr())?;
    control.expect("TYPE I", 200)?;
    let mut data = control.data()?;
    let started = control.command("RETR large.bin")?;
    if started.code != 150 && started.code != 125 {
        return Err(format!(
            "RETR large.bin got {:?}, not 150",
            started.to_string()
        ));
    }
    // Read nothing from the data connection; is there a reply already?
    let _ = control.writer.set_read_timeout(Some(QUIET));
    let early = match read_reply(&mut control.reader) {
        Ok(reply) => Some(reply.to_string()),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => None,
        Err(e) => {
            return Err(format!(
                "listening for a reply during the transfer failed: {e}"
            ))
        }
    };
    let _ = control.writer.set_read_timeout(Some(WAIT));
    let mut got = Vec::with_capacity(LARGE);
    if let Err(e) = data.read_to_end(&mut got) {
        let stalled = matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut);
        if stalled && got.len() == LARGE {
            return Err(format!(
                "all 32 MiB of large.bin arrived, but the data connection did not end within \
                 {WAIT:?}: the client cannot tell that the file is complete"
            ));
        }
        return Err(format!(
            "reading large.bin failed after {} bytes: {e}{}",
            got.len(),
            match &early {
                Some(reply) => format!(" (the server had already said {reply:?})"),
                None => String::new(),
            }
        ));
    }
    let last = match &early {
        Some(_) => String::new(),
        None => control.reply("the transfer")?.to_string(),
    };
    Ok(Early {
        early,
        received: got.len(),
        whole: got == large,
        last,
    })
}

pub static REPLY_AFTER_DATA: Check = Check {
    id: "reply-after-data",
    title: "226 comes after the file, not before",
    expected: "RETR large.bin (32 MiB): 150; while the client has read nothing for 1 s, no \
               other reply; then the 32 MiB arrive whole, the data connection ends, and only then 226",
    run: |subject| {
        Verdict::from_observation(retr_unread(subject), |seen| match seen.early {
            Some(reply) => Verdict::fail(format!(
                "the server said {reply:?} while the 32 MiB were still unread on the data \
                 connection: it cannot know yet that the file will arrive (then {} bytes came{})",
                seen.received,
                if seen.whole { ", whole" } else { ", not the file" }
            )),
            None => Verdict::when(
                seen.whole && seen.last.starts_with("226"),
                format!(
                    "no reply while the data was unread; then {} bytes ({}), then {:?}",
                    seen.received,
                    if seen.whole { "the file, whole" } else { "not the file" },
                    seen.last
                ),
            ),
        })
    },
};

/// QUIT's reply, and whether the connection ended after it.
fn quit_session(subject: &Subject) -> Result<Vec<String>, String> {
    let library = Library::start(subject, "lab-ftp-quit")?;
    let mut control = Control::login(library.server.addr())?;
    let reply = control.command("QUIT")?;
    if reply.code != 221 {
        return Ok(vec![format!("QUIT got {:?}, not 221", reply.to_string())]);
    }
    let mut problems = Vec::new();
    let mut rest = Vec::new();
    match control.reader.read_to_end(&mut rest) {
        Ok(_) if rest.is_empty() => {}
        Ok(_) => problems.push(format!(
            "after QUIT the server sent {:?} more, then closed",
            String::from_utf8_lossy(&rest)
        )),
        Err(e) => problems.push(format!(
            "the control connection was still open {WAIT:?} after QUIT ({e}): the session did not end"
        )),
    }
    Ok(problems)
}

pub static QUIT: Check = Check {
    id: "quit",
    title: "QUIT says goodbye and ends the session",
    expected: "QUIT gets 221, then the server closes the control connection",
    run: |subject| Verdict::from_problems(quit_session(subject), "221, then the connection ended"),
};

/// Get and put through `..`, an absolute name and a link that lead out of
/// the library; and, so that refusing everything does not pass, a get that
/// stays inside.
fn confinement(subject: &Subject) -> Result<Vec<String>, String> {
    let attempts = escape_attempts(
        subject,
        &[
            "hello.txt",
            "../outside/secret.txt",
            "/../outside/secret.txt",
            "absolute-link",
        ],
        &["../escaped.txt"],
    )?;
    let mut problems = Vec::new();
    for attempt in &attempts {
        if attempt.escaped {
            problems.push(format!("{}: {}", attempt.command, attempt.outcome));
        }
    }
    let inside = &attempts[0];
    if inside.outcome != "sent 5 other bytes" {
        problems.push(format!(
            "{} (inside the library) should send hello, but: {}",
            inside.command, inside.outcome
        ));
    }
    Ok(problems)
}

pub static CONFINED: Check = Check {
    id: "confined",
    title: "get and put stay inside the library",
    expected: "RETR hello.txt sends it; RETR ../outside/secret.txt, /../outside/secret.txt and \
               absolute-link (a link to the secret outside) are refused; STOR ../escaped.txt is \
               refused and writes nothing outside",
    run: |subject| Verdict::from_problems(confinement(subject), "inside yes, outside never"),
};

// ---- the question ------------------------------------------------------------------

/// The commands curl sends to list a folder, in order, and the first one
/// the server refuses (5yz).
pub static FIRST_REFUSED: Question = Question {
    key: "first_refused",
    ask: "With the starter, `curl ftp://127.0.0.1:2121/` lists the library. Which of curl's \
          commands does the starter refuse first: USER, PWD, EPSV, PASV, TYPE or LIST?",
    answer: Answer::Choice(&["USER", "PWD", "EPSV", "PASV", "TYPE", "LIST"]),
    measure: |starter| {
        let setup = Setup::start(starter, "lab-ftp-first-refused")?;
        let run = curl(&setup, &[&setup.url("")])?;
        let dialogue = dialogue(&run.stderr);
        let refused = dialogue.windows(2).find_map(|pair| {
            let verb = pair[0].strip_prefix("> ")?.split(' ').next()?;
            pair[1].strip_prefix("< 5").map(|_| verb.to_string())
        });
        let shown: Vec<&str> = dialogue.iter().map(String::as_str).collect();
        Ok(Measured {
            value: refused.unwrap_or_else(|| "none".to_string()),
            story: format!("curl's dialogue: {}", shown.join(" | ")),
        })
    },
};
