//! The echo loop of the socket-basics servers (`echo-server`,
//! `echo-fork-sigign`): `read(2)` what the client sent, `write(2)` it back,
//! until the client closes its side.

use crate::hello::send_all;
use nix::errno::Errno;
use std::os::fd::AsFd;

// ANCHOR: echo
/// Echo everything until the client closes its side (read returns 0).
/// Returns how many bytes went back.
pub fn echo(connection: impl AsFd) -> nix::Result<u64> {
    let connection = connection.as_fd();
    let mut buf = [0u8; 4096];
    let mut echoed = 0;
    loop {
        // read(2) returns as soon as *some* bytes arrived (a line typed into
        // nc, say), not when the buffer is full; 0 means the client sent FIN.
        let n = match nix::unistd::read(connection, &mut buf) {
            Ok(0) => return Ok(echoed),
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(errno),
        };
        // write(2) may take only part of what we hand it: send_all loops.
        send_all(connection, &buf[..n])?;
        echoed += n as u64;
    }
}
// ANCHOR_END: echo
