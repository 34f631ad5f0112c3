//! # A wrong fix for exercise ftp-confine: realpath, compare, open
//!
//! The starter with `..` worked out as text in `resolve` (as the task asks),
//! and `Library::open` made to canonicalize the path (`realpath`: every link
//! followed, every `..` worked out), check that the result is inside the root,
//! and then open it. Each name is checked, but the check and the open are two
//! steps: a folder swapped for a link to the outside between them lets the open
//! follow the link. `cargo lab check ftp-confine` must fail it (`swap-race`);
//! `lab/tests/wrong_fixes.rs` proves that it does.

use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fstat, FileStat, Mode};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

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
            ".." if path.is_root() => return Err(NameError::OutsideRoot),
            ".." => path = path.parent(),
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
    /// The root, canonicalized: what every opened path must start with.
    root_path: PathBuf,
}

impl Library {
    /// Open the root directory; fails with `ENOTDIR` if it is not one.
    pub fn new(root: &Path) -> nix::Result<Library> {
        let root_path = std::fs::canonicalize(root).map_err(io_errno)?;
        let root = nix::fcntl::open(
            root,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Library { root, root_path })
    }

    /// Open a library path with `flags` (and `mode`, if creating),
    /// relative to the root directory.
    pub fn open(&self, path: &VirtualPath, flags: OFlag, mode: Mode) -> nix::Result<OwnedFd> {
        // realpath(3): follow every link, work out every `..`.
        let real = std::fs::canonicalize(self.root_path.join(path.relative()))
            .map_err(io_errno)?;
        if !real.starts_with(&self.root_path) {
            return Err(Errno::EXDEV);
        }
        loop {
            // An absolute path: the directory descriptor is not used.
            match openat(self.root.as_fd(), real.as_path(), flags | OFlag::O_CLOEXEC, mode) {
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

/// The errno of an I/O error.
fn io_errno(error: std::io::Error) -> Errno {
    Errno::from_raw(error.raw_os_error().unwrap_or(libc::EIO))
}
