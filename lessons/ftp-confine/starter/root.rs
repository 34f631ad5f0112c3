//! Map every name a client sends to a file of the library.
//!
//! The starter of exercise ftp-confine (`cargo lab start ftp-confine`): the
//! client's name is joined to its working directory, and the result is
//! opened relative to the library root. Nothing here keeps the result
//! inside the root: that is the exercise. The server (main.rs, session.rs,
//! transfer.rs) and listing.rs call this module and need no change.

use nix::errno::Errno;
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fstat, FileStat, Mode, SFlag};
use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

/// A path inside the library as the client sees it, from the library root
/// (`/music/a.mp3`; `/` is the root).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VirtualPath {
    components: Vec<String>,
}

impl VirtualPath {
    /// `/`, the library root.
    pub fn root() -> VirtualPath {
        VirtualPath::default()
    }

    pub fn is_root(&self) -> bool {
        self.components.is_empty()
    }

    /// The last component (`a.mp3`); `None` for the root.
    pub fn name(&self) -> Option<&str> {
        self.components.last().map(String::as_str)
    }

    /// The path of `name` inside this directory. `name` must be one
    /// component (no `/`): a name read from a directory listing.
    pub fn child(&self, name: &str) -> VirtualPath {
        let mut components = self.components.clone();
        components.push(name.to_string());
        VirtualPath { components }
    }

    /// The directory that holds this path; the root's parent is the root.
    pub fn parent(&self) -> VirtualPath {
        let mut components = self.components.clone();
        components.pop();
        VirtualPath { components }
    }

    /// The path relative to the root directory, as `openat(2)` takes it
    /// (`music/a.mp3`; `.` for the root).
    pub fn relative(&self) -> String {
        if self.components.is_empty() {
            ".".to_string()
        } else {
            self.components.join("/")
        }
    }
}

impl fmt::Display for VirtualPath {
    /// What `PWD` shows: `/music`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/{}", self.components.join("/"))
    }
}

/// Why a name was refused before the file system was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    /// An empty name.
    Empty,
    /// A NUL byte: it cannot be part of a Linux file name.
    Nul,
    /// `..` would climb above the library root.
    OutsideRoot,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameError::Empty => "an empty name",
            NameError::Nul => "a name with a NUL byte",
            NameError::OutsideRoot => "that name leads outside the library root",
        })
    }
}

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
    let mut path = if name.starts_with('/') { VirtualPath::root() } else { cwd.clone() };
    for component in name.split('/') {
        match component {
            "" | "." => {}
            name => path.components.push(name.to_string()),
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
        let root = nix::fcntl::open(root, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())?;
        Ok(Library { root })
    }

    /// Open a library path with `flags` (and `mode`, if creating),
    /// relative to the root directory.
    pub fn open(&self, path: &VirtualPath, flags: OFlag, mode: Mode) -> nix::Result<OwnedFd> {
        let relative = path.relative();
        loop {
            match openat(self.root.as_fd(), relative.as_str(), flags | OFlag::O_CLOEXEC, mode) {
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

/// Is this a regular file (not a directory, device, socket or pipe)?
pub fn is_regular(stat: &FileStat) -> bool {
    SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG
}

/// Is this a directory?
pub fn is_directory(stat: &FileStat) -> bool {
    SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR
}
