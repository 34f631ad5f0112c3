//! # A wrong fix for exercise ftp-confine: the kernel layer alone
//!
//! The starter with `Library::open` changed to `openat2(2)` with
//! `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`, and `resolve` left as it was:
//! every `..` is kept as a component for the kernel to work out. Nothing
//! leaves the library, but `..` now means the kernel's parent, not the parent
//! of the name the client sent: after `CWD sub` and `CWD ..`, `PWD` says
//! `/sub/..`, and `RETR deep/../hello.txt` through a link to a folder inside
//! looks in the link's target's parent. `cargo lab check ftp-confine` must
//! fail it (`dotdot-text`); `lab/tests/wrong_fixes.rs` proves that it does.

use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
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
        let how = OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC)
            .mode(mode)
            .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        let relative = path.relative();
        loop {
            match openat2(&self.root, relative.as_str(), how) {
                Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
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
