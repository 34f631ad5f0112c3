//! Confine every name a client sends to the library root.
//!
//! Two layers, because each one alone has a hole:
//!
//! 1. **Lexical** ([`resolve`]): the client's name is joined to its working
//!    directory and `.`/`..` are worked out as text. A `..` that would climb
//!    above the root is refused, and an absolute name (`/etc/passwd`) starts
//!    at the library root, not at the machine's. This catches every
//!    traversal written into a name, but it cannot see symlinks: the text
//!    `music/old` says nothing about `old` being a link to `/home`.
//! 2. **In the kernel** ([`Library::open`]): every file is opened with
//!    `openat2(2)` relative to a descriptor of the root directory, with
//!    `RESOLVE_BENEATH`. The kernel then refuses (`EXDEV`) any resolution
//!    that would leave the root, through `..` or through a symlink, absolute
//!    or relative, and it does so while it resolves, so no rename between
//!    a check and the open can sneak a link in (the classic `realpath` then
//!    `open` race). Symlinks that stay inside the root work.

use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstat, FileStat, Mode, SFlag};
use std::fmt;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

// ANCHOR: virtual_path
/// A path inside the library as the client sees it: absolute from the
/// library root, with no `.` or `..` left (`/music/a.mp3`; `/` is the root).
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

    /// The path relative to the root directory, as `openat2(2)` takes it
    /// (`music/a.mp3`; `.` for the root). Never absolute, never `..`.
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
// ANCHOR_END: virtual_path

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

// ANCHOR: resolve
/// Work out, as text, which library path `name` means for a client whose
/// working directory is `cwd`. Absolute names start at the library root;
/// `..` may climb up to the root and no further.
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
            ".." => {
                if path.components.pop().is_none() {
                    return Err(NameError::OutsideRoot);
                }
            }
            name => path.components.push(name.to_string()),
        }
    }
    Ok(path)
}
// ANCHOR_END: resolve

/// The library: a descriptor of its root directory. Every file the server
/// touches is reached through it.
#[derive(Debug)]
pub struct Library {
    root: OwnedFd,
}

impl Library {
    /// Open the root directory. Fails with `ENOTDIR` if it is not one, and
    /// with `ENOSYS` on a kernel older than 5.6, which has no `openat2(2)`.
    pub fn new(root: &Path) -> nix::Result<Library> {
        let root = nix::fcntl::open(
            root,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        let library = Library { root };
        library.open(&VirtualPath::root(), OFlag::O_PATH, Mode::empty())?; // is openat2 there?
        Ok(library)
    }

    // ANCHOR: open_beneath
    /// Open a library path with `flags` (and `mode`, if creating). The
    /// kernel resolves it beneath the root: a symlink or `..` that leads out
    /// fails with `EXDEV`; magic links such as `/proc/self/fd/N` fail too.
    pub fn open(&self, path: &VirtualPath, flags: OFlag, mode: Mode) -> nix::Result<OwnedFd> {
        let how = OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC)
            .mode(mode)
            .resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        let relative = path.relative();
        loop {
            match openat2(&self.root, relative.as_str(), how) {
                // EAGAIN: a concurrent rename moved something while the
                // kernel checked a `..`; it asks us to try again.
                Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
                result => return result,
            }
        }
    }
    // ANCHOR_END: open_beneath

    /// What a path is, following symlinks that stay inside the root.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(cwd: &str, name: &str) -> Result<String, NameError> {
        let cwd = resolve(&VirtualPath::root(), cwd).unwrap();
        resolve(&cwd, name).map(|p| p.to_string())
    }

    #[test]
    fn names_resolve_inside_the_root() {
        assert_eq!(at("/", "a.txt").unwrap(), "/a.txt");
        assert_eq!(at("/music", "a.mp3").unwrap(), "/music/a.mp3");
        assert_eq!(at("/music", "../a.txt").unwrap(), "/a.txt");
        assert_eq!(at("/music", "/a.txt").unwrap(), "/a.txt");
        assert_eq!(at("/music", "./x//y/./z/..").unwrap(), "/music/x/y");
        assert_eq!(at("/", "/etc/passwd").unwrap(), "/etc/passwd"); // the library's /etc, if any
        assert_eq!(at("/music", "..").unwrap(), "/");
    }

    #[test]
    fn climbing_above_the_root_is_refused() {
        assert_eq!(at("/", ".."), Err(NameError::OutsideRoot));
        assert_eq!(at("/", "../secret"), Err(NameError::OutsideRoot));
        assert_eq!(at("/music", "../../secret"), Err(NameError::OutsideRoot));
        assert_eq!(at("/", "/../secret"), Err(NameError::OutsideRoot));
        assert_eq!(at("/", "a/../../secret"), Err(NameError::OutsideRoot));
        assert_eq!(at("/", ""), Err(NameError::Empty));
        assert_eq!(at("/", "a\0b"), Err(NameError::Nul));
    }

    #[test]
    fn relative_paths_for_openat2_never_start_with_a_slash() {
        assert_eq!(VirtualPath::root().relative(), ".");
        assert_eq!(at("/", "/a/b").map(|p| p.len()).unwrap(), 4);
        assert_eq!(
            resolve(&VirtualPath::root(), "/a/b").unwrap().relative(),
            "a/b"
        );
    }
}
