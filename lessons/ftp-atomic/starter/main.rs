//! Your ftp-server for the ftp-atomic exercise.
//!
//! `server.rs`, `session.rs` and `transfer.rs` are the course's ftp-server
//! as they are in `bins/ftp/ftp-server/`; they write uploads through
//! `crate::atomic_file`, so with `mod atomic_file;` below they use your
//! `atomic_file.rs` instead of the library's.

// Your module: the server uses only part of it.
#[allow(dead_code)]
mod atomic_file;
mod server;
mod session;
mod transfer;

use lsbaws::ftp::{listing, root};

fn main() {
    server::main();
}
