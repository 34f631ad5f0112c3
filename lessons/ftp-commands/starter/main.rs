//! Your ftp-server for the ftp-commands exercise.
//!
//! `server.rs` is the course's ftp-server's accept loop and flags, as they
//! are in `bins/ftp/ftp-server/`: a child process per client, reaped the
//! way webserver3g reaps. For each client it calls `session::serve`, in
//! `session.rs`: your file.

// Its flags are the whole file server's; your session uses some of them.
#[allow(dead_code)]
mod server;
mod session;

// The library's modules for names (root: every name confined to the
// library) and for what your commands send and store (listing: `ls -l`
// lines; atomic_file: uploads that appear only when complete). The other
// files reach them as `crate::root` and so on.
#[allow(unused_imports)] // listing and atomic_file wait for your LIST and STOR
use lsbaws::ftp::{atomic_file, listing, root};

fn main() {
    server::main();
}
