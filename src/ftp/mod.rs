//! The pieces of the file server project that are not its lesson.
//!
//! `ftp-server` (bins/ftp/ftp-server/main.rs) shows the design: a process per
//! control connection, a data connection per transfer. What it leans on
//! lives here, once, so that the client and the tests use the same code:
//!
//! * [`reply`] — FTP replies on the wire: `150 Opening data connection.`,
//!   multi-line replies (`211-Features:` ... `211 End`), and reading one back.
//! * [`line`] — read one command line off the control connection, bounded
//!   in length, whatever bytes arrive.
//! * [`root`] — confine every name a client sends to the library root:
//!   lexically (`..` cannot climb above `/`) and in the kernel
//!   (`openat2(2)` with `RESOLVE_BENEATH`, so no symlink leads out either).
//! * [`atomic_file`] — an upload goes to a hidden temporary file that is renamed
//!   over the target only when it is complete (the client's downloads too).
//! * [`ascii`] — `TYPE A`: LF in files, CRLF on the wire.
//! * [`listing`] — the `ls -l`-style lines of `LIST` and the names of `NLST`.
//! * [`passive`] — the passive-mode listener (a bounded port range) and the
//!   `227`/`229` replies that announce it, written and parsed.
//! * [`client`] — a small FTP client (passive mode), used by `ftp-client`
//!   and the tests.

pub mod ascii;
pub mod atomic_file;
pub mod client;
pub mod line;
pub mod listing;
pub mod passive;
pub mod reply;
pub mod root;
