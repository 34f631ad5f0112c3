//! Your ftp-server for the ftp-confine exercise.
//!
//! `server.rs`, `session.rs` and `transfer.rs` are the course's ftp-server
//! as they are in `bins/ftp/ftp-server/`; they name files through
//! `crate::root`, so with `mod root;` below they use your `root.rs` instead
//! of the library's. `listing.rs` is the library's, copied because it works
//! on root's types.

// The library's modules, whole: the server uses only part of them.
#[allow(dead_code)]
mod listing;
#[allow(dead_code)]
mod root;
mod server;
mod session;
mod transfer;

use lsbaws::ftp::atomic_file;

fn main() {
    server::main();
}
