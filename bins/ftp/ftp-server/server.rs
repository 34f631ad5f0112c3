//! The accept loop of ftp-server: a child process per control connection,
//! every exited child reaped by webserver3g's handler (`lsbaws::reaper`);
//! and the server's flags.

use crate::root::Library;
use clap::Parser;
use lsbaws::cli::{seconds, ServerArgs};
use lsbaws::ftp::passive::PortRange;
use lsbaws::reaper::reap_children;
use lsbaws::report::{die, die_msg, OrDie};
use nix::errno::Errno;
use nix::sys::socket::accept;
use nix::unistd::{close, fork, ForkResult};
use std::io::Write;
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

/// Length of the listen queue.
const REQUEST_QUEUE_SIZE: i32 = 128;

/// The file server project: an FTP server, a process per client.
#[derive(Parser, Debug)]
#[command(version, mut_arg("port", |port| port.default_value("2121")))]
pub struct Args {
    #[command(flatten)]
    pub server: ServerArgs,

    /// The library: the directory whose files are served and uploads land
    /// in. Created if missing. Clients cannot reach anything outside it.
    #[arg(long, default_value = "ftp-library")]
    pub root: PathBuf,

    /// The largest upload accepted, in bytes; K, M and G multiply by 1024
    /// (`10M`). A larger upload is refused with 552 and discarded.
    #[arg(long, default_value = "1G", value_parser = parse_size)]
    pub max_upload: u64,

    /// The ports passive data connections may use, FIRST-LAST (for a
    /// firewall). By default the kernel picks any free port.
    #[arg(long, value_name = "FIRST-LAST")]
    pub pasv_ports: Option<PortRange>,

    /// Close a control connection that sends no command for this many
    /// seconds (reply 421).
    #[arg(long, default_value = "300", value_name = "SECS", value_parser = positive_seconds)]
    pub idle_timeout: Duration,

    /// How long to wait for the client to open a data connection, and for
    /// a stalled transfer to move again, in seconds (then 425 / 426).
    #[arg(long, default_value = "30", value_name = "SECS", value_parser = positive_seconds)]
    pub data_timeout: Duration,
}

// ANCHOR: main
pub fn main() {
    let args = Args::parse();
    let library = open_library(&args.root);
    let root = std::fs::canonicalize(&args.root).unwrap_or_else(|_| args.root.clone());
    let listen_socket = lsbaws::net::listen_for("FTP", &args.server, REQUEST_QUEUE_SIZE);
    let _ = writeln!(
        std::io::stdout().lock(),
        "library {}; uploads up to {} bytes; passive ports {}; idle timeout {:?}",
        root.display(),
        args.max_upload,
        args.pasv_ports
            .map_or("picked by the kernel".to_string(), |r| r.to_string()),
        args.idle_timeout,
    );

    // SIGCHLD: reap every exited child, with webserver3g's handler.
    reap_children();

    loop {
        let control_connection = match accept(&listen_socket) {
            Ok(control_connection) => control_connection,
            Err(Errno::EINTR) => continue, // SIGCHLD arrived: a child was reaped
            Err(Errno::ECONNABORTED) => continue, // the client gave up in the queue
            Err(errno) => die("accept()", errno),
        };
        // SAFETY: this process is single-threaded, so the child cannot inherit
        // a lock or allocator state held by another thread at the fork.
        match unsafe { fork() }.or_die("fork()") {
            ForkResult::Child => {
                // The child serves this one client for the whole session: its
                // commands, and every data connection they open.
                let _ = close(listen_socket);
                crate::session::serve(TcpStream::from(control_connection), &library, &args);
                std::process::exit(0);
            }
            ForkResult::Parent { .. } => {
                // The child has its own copy; ours would keep the connection
                // open after the child closes it.
                let _ = close(control_connection);
            }
        }
    }
}
// ANCHOR_END: main

/// Create the library directory if needed and open it. Every child inherits
/// this one descriptor and opens files beneath it.
fn open_library(root: &PathBuf) -> Library {
    if let Err(err) = std::fs::create_dir_all(root) {
        die_msg(format!(
            "cannot create the library {}: {err} — choose another --root",
            root.display()
        ));
    }
    Library::new(root).unwrap_or_else(|errno| match errno {
        Errno::ENOSYS => die_msg("openat2(2) is missing: ftp-server needs Linux 5.6 or newer"),
        errno => die(format!("opening the library {}", root.display()), errno),
    })
}

/// `--max-upload`: bytes, with an optional K, M or G (powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let (digits, unit) = match text.trim().char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c.to_ascii_uppercase()),
        _ => (text, 'B'),
    };
    let factor: u64 = match unit {
        'B' => 1,
        'K' => 1 << 10,
        'M' => 1 << 20,
        'G' => 1 << 30,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?}; use K, M or G (e.g. 10M)"
            ))
        }
    };
    let number: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a size in bytes (e.g. 1048576 or 10M)"))?;
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// A timeout: seconds, more than zero (zero would mean "never" to the kernel).
fn positive_seconds(text: &str) -> Result<Duration, String> {
    let duration = seconds(text)?;
    if duration.is_zero() {
        return Err(format!("{text:?}: a timeout must be more than 0 seconds"));
    }
    Ok(duration)
}
