//! Map every name a client sends to a file of the library.
//!
//! The starter of exercise ftp-confine (`cargo lab start ftp-confine`): the
//! client's name is joined to its working directory, and the result is
//! opened relative to the library root. Nothing here keeps the result
//! inside the root: that is the exercise. The server (main.rs, session.rs,
//! transfer.rs) and listing.rs call this module and need no change.

use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fstat, FileStat, Mode};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

// What a library path is, and why a name can be refused, are the library's
// (src/ftp/root.rs): this module is about how a name becomes a path, and how
// a path is opened.
pub use lsbaws::ftp::root::{is_directory, is_regular, NameError, VirtualPath};

/// Which library path `name` means for a client whose working directory is
/// `cwd`. Absolute names start at the library root. Every other component
/// is appended as it is, and the kernel works out the `..`s when the path
/// is opened.
pub fn resolve(cwd: &VirtualPath, name: &str) -> Result<VirtualPath, NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.contains('\0') {
        return Err(NameError::Nul);
    }
    let mut path = if name.starts_with('/') {
        VirtualPath::root()
    } else {
        cwd.clone()
    };
    for component in name.split('/') {
        match component {
            "" | "." => {}
            name => path = path.child(name),
        }
    }
    Ok(path)
}

/// The library: a descriptor of its root directory. Every file the server
/// touches is reached through it.
#[derive(Debug)]
pub struct Library {
    root: OwnedFd,
}

impl Library {
    /// Open the root directory; fails with `ENOTDIR` if it is not one.
    pub fn new(root: &Path) -> nix::Result<Library> {
        let root = nix::fcntl::open(
            root,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Library { root })
    }

    /// Open a library path with `flags` (and `mode`, if creating),
    /// relative to the root directory.
    pub fn open(&self, path: &VirtualPath, flags: OFlag, mode: Mode) -> nix::Result<OwnedFd> {
        let relative = path.relative();
        loop {
            match openat(
                self.root.as_fd(),
                relative.as_str(),
                flags | OFlag::O_CLOEXEC,
                mode,
            ) {
                Err(Errno::EINTR) => continue,
                result => return result,
            }
        }
    }

    /// What a path is (following symlinks).
    pub fn stat(&self, path: &VirtualPath) -> nix::Result<FileStat> {
        fstat(self.open(path, OFlag::O_PATH, Mode::empty())?.as_fd())
    }

    /// Open an existing directory (for listing, or as the place an upload
    /// is renamed into).
    pub fn open_dir(&self, path: &VirtualPath) -> nix::Result<OwnedFd> {
        self.open(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty())
    }

    /// The root directory's descriptor.
    pub fn root_fd(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }
}
