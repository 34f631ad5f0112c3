//! Write a file so that readers see the old file or the whole new one,
//! never a part.
//!
//! The bytes go to a new hidden file beside the target
//! (`.upload-PID-N.part`, created with `O_EXCL`, so it is never anybody
//! else's file). Only when the last byte is in do we `fsync(2)` it and
//! `rename(2)` it over the target. The kernel makes that rename atomic: at
//! every instant the name points at the old inode or at the new one. So:
//!
//! * an upload cut off half-way is never renamed: [`AtomicFile`]'s `Drop`
//!   unlinks the temporary file, and the file it would have replaced is
//!   untouched;
//! * two clients uploading the same name each write their own temporary
//!   file; the last rename wins, and the result is all of one upload;
//! * a reader that opened the old file keeps reading the old inode.
//!
//! `ftp-server` writes uploads this way, and `ftp-client` its downloads.

use nix::errno::Errno;
use nix::fcntl::{openat, renameat, OFlag};
use nix::sys::stat::Mode;
use nix::unistd::{fsync, unlinkat, UnlinkatFlags};
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

/// Temporary files start with this. Listings hide every dot-file, and the
/// server refuses client names that start with it, so no client can read,
/// replace or delete another client's upload in progress.
pub const TEMP_PREFIX: &str = ".upload-";

/// Is `name` one of our temporary files (or posing as one)?
pub fn is_temporary(name: &str) -> bool {
    name.starts_with(TEMP_PREFIX)
}

// ANCHOR: atomic_upload
/// A file being written under a temporary name in `dir`; it takes the
/// name `final_name` only at [`AtomicFile::commit`].
#[derive(Debug)]
pub struct AtomicFile {
    dir: OwnedFd,
    temp_name: String,
    final_name: String,
    file: File,
    committed: bool,
}

impl AtomicFile {
    /// Create an empty temporary file in `dir` (a directory descriptor) for
    /// what will become `final_name` there (one component, no `/`).
    pub fn create(dir: OwnedFd, final_name: &str) -> nix::Result<AtomicFile> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let temp_name = format!("{TEMP_PREFIX}{}-{n}.part", std::process::id());
            // O_EXCL: fail rather than open a file that already exists, so a
            // stale or planted file (or a symlink) is never written through.
            let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_CLOEXEC;
            match openat(
                dir.as_fd(),
                temp_name.as_str(),
                flags,
                Mode::from_bits_truncate(0o644),
            ) {
                Ok(fd) => {
                    return Ok(AtomicFile {
                        dir,
                        temp_name,
                        final_name: final_name.to_string(),
                        file: File::from(fd),
                        committed: false,
                    })
                }
                Err(Errno::EEXIST) => continue,
                Err(errno) => return Err(errno),
            }
        }
    }

    /// Where the bytes go.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Every byte is in: flush it to the disk (`fsync`), give it its name
    /// with one atomic `rename(2)`, and flush the directory so the new name
    /// survives a crash too.
    pub fn commit(mut self) -> nix::Result<()> {
        fsync(self.file.as_fd())?;
        renameat(
            self.dir.as_fd(),
            self.temp_name.as_str(),
            self.dir.as_fd(),
            self.final_name.as_str(),
        )?;
        self.committed = true;
        fsync(self.dir.as_fd())
    }
}

impl Drop for AtomicFile {
    /// Not committed (an error, a cut-off transfer, a panic): remove the
    /// temporary file. The target was never touched.
    fn drop(&mut self) {
        if !self.committed {
            let _ = unlinkat(
                self.dir.as_fd(),
                self.temp_name.as_str(),
                UnlinkatFlags::NoRemoveDir,
            );
        }
    }
}
// ANCHOR_END: atomic_upload
