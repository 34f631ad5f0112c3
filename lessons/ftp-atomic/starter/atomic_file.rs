//! Write an uploaded file.
//!
//! The starter of exercise ftp-atomic (`cargo lab start ftp-atomic`): the
//! bytes go straight into the file with the client's name, emptied when the
//! upload starts. A reader in the middle of it, an upload cut off half-way,
//! or two clients uploading the same name at once all see a file that is
//! neither the old one nor the new one. Making readers see the old file or
//! the whole new one, never a part, is the exercise. The server (main.rs,
//! session.rs, transfer.rs) calls this module and needs no change.

use nix::fcntl::{openat, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::fsync;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};

// The names reserved for uploads in progress are the library's
// (src/ftp/atomic_file.rs): the server hides and refuses them.
pub use lsbaws::ftp::atomic_file::{is_temporary, TEMP_PREFIX};

/// A file being uploaded as `final_name` in `dir`.
#[derive(Debug)]
pub struct AtomicFile {
    dir: OwnedFd,
    final_name: String,
    file: File,
}

impl AtomicFile {
    /// Open `final_name` in `dir` (a directory descriptor) for writing,
    /// created if need be, emptied if it exists.
    pub fn create(dir: OwnedFd, final_name: &str) -> nix::Result<AtomicFile> {
        let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_TRUNC | OFlag::O_CLOEXEC;
        let fd = openat(
            dir.as_fd(),
            final_name,
            flags,
            Mode::from_bits_truncate(0o644),
        )?;
        Ok(AtomicFile {
            dir,
            final_name: final_name.to_string(),
            file: File::from(fd),
        })
    }

    /// Where the bytes go.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Every byte is in: flush it to the disk.
    pub fn commit(self) -> nix::Result<()> {
        fsync(self.file.as_fd())
    }
}
