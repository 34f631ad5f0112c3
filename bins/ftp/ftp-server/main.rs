//! # ftp-server — the file server project: a process per client, a data
//! connection per transfer
//!
//! **What it shows.** A file server that many clients use at once and that
//! speaks enough standard FTP (RFC 959) for clients nobody here wrote:
//! curl, Python's `ftplib`, browsers' and desktop FTP clients.
//!
//! * The accept loop is `webserver3g`'s: `fork(2)` a child per *control
//!   connection*, close the copies each process does not need, reap every
//!   exited child from a SIGCHLD handler with `waitpid(-1, WNOHANG)`.
//! * The child ([`session`]) reads commands (`RETR big.bin`) and writes
//!   numbered replies (`150 ...`, `226 ...`) on the control connection,
//!   for as long as the client stays (or until it idles too long: `421`).
//! * Each listing, download and upload travels over a *data connection* of
//!   its own ([`transfer`]): the client asks for one with `PASV`/`EPSV`, the
//!   server listens on a new port and names it, the client connects, one
//!   file flows, the connection closes, and that close marks the end of
//!   the file.
//! * Safety: every name is confined to the library root (`openat2(2)` with
//!   `RESOLVE_BENEATH`), and an upload becomes visible only when it is
//!   complete (a temporary file, then `rename(2)`), a resumed (`REST`) or
//!   appended (`APPE`) one too: the old bytes are copied into the
//!   temporary file first.
//!
//! **See it.**
//!
//! ```text
//! cargo run --bin ftp-server -- --root /tmp/library      # port 2121
//! curl ftp://127.0.0.1:2121/                             # list
//! curl -T notes.txt ftp://127.0.0.1:2121/                # upload
//! curl -O ftp://127.0.0.1:2121/notes.txt                 # download
//! curl -C - -O ftp://127.0.0.1:2121/notes.txt            # resume it (REST)
//! cargo run --bin ftp-client                             # our client
//! ```
//!
//! The server prints every command and reply: the protocol on the wire.
//!
//! **Next.** Exercises: active mode (`PORT`), a limit on clients, sweeping
//! temporary files left by a killed child.

mod server;
mod session;
mod transfer;

// The library's modules for naming files (root: confinement to the
// library, listing: LIST lines) and for uploads (atomic_file). The other
// modules reach them as `crate::root` and so on, so an exercise copy
// (`cargo lab start ftp-confine`, `ftp-atomic`) can declare its own module
// in their place and leave every other file as it is.
use lsbaws::ftp::{atomic_file, listing, root};

fn main() {
    server::main();
}
