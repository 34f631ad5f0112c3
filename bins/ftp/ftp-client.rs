//! # ftp-client — the file server project's terminal client
//!
//! **What it shows.** The client side of FTP: one control connection for
//! commands and replies, and a new data connection for each listing,
//! download and upload (passive mode: the client connects to a port the
//! server names). `--verbose` prints every command and reply.
//!
//! **See it.** Start `ftp-server`, then
//!
//! ```text
//! cargo run --bin ftp-client                  # 127.0.0.1:2121, a prompt
//! ftp> help
//! ftp> put Cargo.toml
//! ftp> list
//! ftp> get Cargo.toml copy.toml
//! ftp> quit
//! ```
//!
//! It reads commands from a pipe too (`printf 'list\nquit\n' | ftp-client`),
//! without the prompt; its exit status is then 1 if any command failed.
//! It also talks to other FTP servers that offer passive mode.

use clap::Parser;
use lsbaws::ftp::atomic_file::AtomicFile;
use lsbaws::ftp::client::{Client, Error};
use lsbaws::report::{die, die_msg, errno_of, warn_msg};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::fs::File;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// The file server project's client: list, get, put at a prompt.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The server's address.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,

    /// The server's control port.
    #[arg(long, short, default_value_t = 2121)]
    port: u16,

    /// The user to log in as.
    #[arg(long, default_value = "anonymous")]
    user: String,

    /// The password (anonymous servers take anything, by custom an email).
    #[arg(long, default_value = "guest@example.com")]
    password: String,

    /// Give up on a connection, a reply or a stalled transfer after this
    /// many seconds.
    #[arg(long, default_value = "30", value_name = "SECS", value_parser = lsbaws::cli::seconds)]
    timeout: Duration,

    /// Print every command and reply of the control connection (to stderr).
    #[arg(long, short)]
    verbose: bool,
}

const HELP: &str = "\
Commands:
  list [DIR]          list a directory (ls, dir)
  get NAME [LOCAL]    download NAME into LOCAL (default: NAME's last part)
  put PATH [NAME]     upload the local file PATH as NAME (default: its file name)
  cd DIR              change the server directory
  pwd                 print the server directory
  delete NAME         delete a file on the server
  help                this text (?)
  quit                log out and leave (exit, bye, or end of input)
Quote names with spaces: get \"my file.txt\"";

fn main() {
    let args = Args::parse();
    let address = format!("{}:{}", args.host, args.port);
    let mut client = match Client::connect(address.as_str(), args.timeout) {
        Ok(client) => client,
        Err(Error::Io(err)) => die(format!("connecting to {address}"), errno_of(&err)),
        Err(Error::Reply(reply)) => die_msg(format!("{address} is not ready: {reply}")),
    };
    client.trace = args.verbose;
    println!("Connected to {address}: {}", client.greeting);
    // With --verbose every reply is already on stderr; print it once.
    let show = |reply: lsbaws::ftp::reply::Reply| {
        if !args.verbose {
            println!("{reply}");
        }
    };
    match client.login(&args.user, &args.password) {
        Ok(reply) => show(reply),
        Err(err) => fail_connection("login", err),
    }

    // A prompt only for a person at a terminal; a pipe gets clean output.
    let interactive = io::stdin().is_terminal();
    if interactive {
        println!("Type help for the commands.");
    }
    let mut failures = 0;
    let mut stdin = io::stdin().lock();
    loop {
        if interactive {
            print!("ftp> ");
            let _ = io::stdout().flush();
        }
        let mut line = String::new();
        match stdin.read_line(&mut line) {
            Ok(0) => break, // end of input: log out as `quit` would
            Ok(_) => {}
            Err(err) => die_msg(format!("reading commands from stdin failed: {err}")),
        }
        let words = split_words(&line);
        let Some((command, rest)) = words.split_first() else {
            continue;
        };
        let rest: Vec<&str> = rest.iter().map(String::as_str).collect();
        let result = match (command.as_str(), rest.as_slice()) {
            ("quit" | "exit" | "bye", []) => break,
            ("help" | "?", _) => {
                println!("{HELP}");
                Ok(())
            }
            ("list" | "ls" | "dir", [] | [_]) => list(&mut client, rest.first().copied()),
            ("get", [name]) => get(&mut client, name, None),
            ("get", [name, local]) => get(&mut client, name, Some(local)),
            ("put", [path]) => put(&mut client, path, None),
            ("put", [path, name]) => put(&mut client, path, Some(name)),
            ("cd", [dir]) => client
                .cwd(dir)
                .map(|reply| println!("{reply}"))
                .map_err(Failure::Server),
            ("pwd", []) => client
                .pwd()
                .map(|dir| println!("{dir}"))
                .map_err(Failure::Server),
            ("delete" | "rm", [name]) => client
                .delete(name)
                .map(|reply| println!("{reply}"))
                .map_err(Failure::Server),
            (
                "list" | "ls" | "dir" | "get" | "put" | "cd" | "pwd" | "delete" | "rm" | "quit"
                | "exit" | "bye",
                _,
            ) => Err(Failure::Usage(
                "wrong number of arguments; type help".to_string(),
            )),
            (unknown, _) => Err(Failure::Usage(format!(
                "unknown command {unknown:?}; type help"
            ))),
        };
        match result {
            Ok(()) => {}
            Err(Failure::Server(Error::Io(err))) => fail_connection(command, Error::Io(err)),
            Err(failure) => {
                failures += 1;
                warn_msg(format!("{command}: {failure}"));
            }
        }
    }
    match client.quit() {
        Ok(reply) => show(reply),
        Err(err) => fail_connection("quit", err),
    }
    // Scripts can tell whether everything worked.
    std::process::exit(if failures > 0 && !interactive { 1 } else { 0 });
}

/// Why a command failed, to print after `ftp-client: get: `.
enum Failure {
    /// The server refused (the reply), or the connection broke.
    Server(Error),
    /// A local file could not be read or written.
    Local(String),
    /// The command line was wrong.
    Usage(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Server(err) => write!(f, "{err}"),
            Failure::Local(text) | Failure::Usage(text) => f.write_str(text),
        }
    }
}

/// The control connection broke: nothing more can be done.
fn fail_connection(what: &str, err: Error) -> ! {
    match err {
        Error::Io(err) => die_msg(format!(
            "{what}: the connection to the server failed: {err}"
        )),
        Error::Reply(reply) => die_msg(format!("{what}: {reply}")),
    }
}

fn list(client: &mut Client, dir: Option<&str>) -> Result<(), Failure> {
    let listing = client.list(dir).map_err(Failure::Server)?;
    let mut out = io::stdout().lock();
    for line in String::from_utf8_lossy(&listing).lines() {
        let _ = writeln!(out, "{line}");
    }
    Ok(())
}

// ANCHOR: get
/// Download into a temporary file beside LOCAL, renamed into place only
/// when complete: an interrupted download never leaves half a file.
fn get(client: &mut Client, name: &str, local: Option<&str>) -> Result<(), Failure> {
    let local = Path::new(local.unwrap_or(name));
    let Some(file_name) = local.file_name().and_then(|n| n.to_str()) else {
        return Err(Failure::Usage(format!(
            "{}: not a file name; give a local name",
            local.display()
        )));
    };
    let dir = match local.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let dir_fd = nix::fcntl::open(
        dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|errno| {
        Failure::Local(format!(
            "cannot open the directory {}: {}",
            dir.display(),
            errno.desc()
        ))
    })?;
    let mut download = AtomicFile::create(dir_fd, file_name).map_err(|errno| {
        Failure::Local(format!(
            "cannot create a file in {}: {}",
            dir.display(),
            errno.desc()
        ))
    })?;
    let started = Instant::now();
    let bytes = client
        .retrieve(name, download.file())
        .map_err(Failure::Server)?;
    download.commit().map_err(|errno| {
        Failure::Local(format!("cannot save {}: {}", local.display(), errno.desc()))
    })?;
    println!("{name}: {bytes} bytes received in {}", rate(bytes, started));
    Ok(())
}
// ANCHOR_END: get

fn put(client: &mut Client, path: &str, name: Option<&str>) -> Result<(), Failure> {
    let local = Path::new(path);
    let name = match name {
        Some(name) => name.to_string(),
        None => match local.file_name().and_then(|n| n.to_str()) {
            Some(name) => name.to_string(),
            None => {
                return Err(Failure::Usage(format!(
                    "{path}: not a file name; give a remote name"
                )))
            }
        },
    };
    let mut file =
        File::open(local).map_err(|err| Failure::Local(format!("cannot open {path}: {err}")))?;
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(Failure::Local(format!("{path} is a directory")));
    }
    let started = Instant::now();
    let bytes = client.store(&name, &mut file).map_err(Failure::Server)?;
    println!("{name}: {bytes} bytes sent in {}", rate(bytes, started));
    Ok(())
}

/// `0.05 s (200.0 MiB/s)`
fn rate(bytes: u64, started: Instant) -> String {
    let secs = started.elapsed().as_secs_f64();
    let mib_per_sec = bytes as f64 / (1024.0 * 1024.0) / secs.max(1e-6);
    format!("{secs:.2} s ({mib_per_sec:.1} MiB/s)")
}

/// Split a command line into words; double quotes keep spaces in a word.
fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut in_word) = (false, false);
    for c in line.trim().chars() {
        match c {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}
