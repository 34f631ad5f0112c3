//! The `openat2(2)` fast path: a file opened beneath a descriptor of the
//! site's root, its bytes offered to the [`FileCache`]. See the invariants
//! in [`super`].

use super::file_cache::FileCache;
use crate::http::response::Body;
use crate::http::site::{content_type, Lookup};
use crate::http::validators::FileVersion;
use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::{fstat, FileStat, Mode, SFlag};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;

/// The root directory, opened once, and the files read beneath it; shared
/// by the clones of a [`Site`](crate::http::Site).
#[derive(Debug, Clone)]
pub struct FastPath {
    pub(crate) root: Arc<OwnedFd>,
    pub(crate) cache: Arc<FileCache>,
}

impl FastPath {
    /// Open the (canonical) root `root` for the fast path; `None` if it
    /// cannot be opened: then every request takes [`Site::lookup`](crate::http::Site::lookup).
    pub fn open(root: &Path) -> Option<FastPath> {
        let root = nix::fcntl::open(
            root,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        Some(FastPath {
            root: Arc::new(out_of_the_way(root)),
            cache: Arc::default(),
        })
    }

    /// Find what the decoded request path `path` names without a
    /// `canonicalize`: the cache, or `openat2(2)` beneath the root
    /// descriptor, refusing every symlink, then `fstat(2)` and `read(2)`.
    /// `None` hands the request to [`Site::lookup`](crate::http::Site::lookup): a symlink on the way
    /// (`ELOOP`), `..` trouble (`EXDEV`), no `openat2` (`ENOSYS`), anything
    /// unexpected. The answers it does give are the ones `lookup` gives.
    pub fn find(&self, path: &str) -> Option<Found> {
        let root = &*self.root;
        if let Some(hit) = self.cache.get(root, path) {
            return Some(Found::File {
                bytes: hit.bytes.into(),
                content_type: hit.content_type,
                version: hit.version,
            });
        }
        if path.contains('\\') || path.contains('\0') {
            return Some(Found::Lookup(Lookup::Refused(400)));
        }
        let mut relative = String::with_capacity(path.len() + 12);
        let mut last_word = "";
        for word in path.split('/') {
            match word {
                "" | "." => {}
                ".." => return Some(Found::Lookup(Lookup::Refused(400))),
                word => {
                    if !relative.is_empty() {
                        relative.push('/');
                    }
                    relative.push_str(word);
                    last_word = word;
                }
            }
        }
        if relative.is_empty() {
            relative.push('.');
        }
        let (file, stat) = match open_beneath(root, &relative) {
            Ok(opened) => opened,
            Err(Errno::ENOENT | Errno::ENOTDIR) => {
                return Some(Found::Lookup(Lookup::Refused(404)))
            }
            Err(Errno::EACCES) => return Some(Found::Lookup(Lookup::Refused(403))),
            Err(_) => return None,
        };
        let (file, stat, name_for_type) = match file_type(&stat) {
            SFlag::S_IFREG => (file, stat, last_word),
            SFlag::S_IFDIR if !path.ends_with('/') => return Some(Found::Lookup(Lookup::AddSlash)),
            SFlag::S_IFDIR => {
                relative.push_str("/index.html");
                match open_beneath(root, &relative) {
                    Ok((index, stat)) if file_type(&stat) == SFlag::S_IFREG => {
                        (index, stat, "index.html")
                    }
                    Ok(_) | Err(Errno::ENOENT) => return Some(Found::Lookup(Lookup::Refused(404))),
                    Err(Errno::EACCES) => return Some(Found::Lookup(Lookup::Refused(403))),
                    Err(_) => return None,
                }
            }
            // A FIFO or a device. Opened O_NONBLOCK, so it could not block,
            // and never read: refused as the slow path refuses it.
            _ => return Some(Found::Lookup(Lookup::Refused(403))),
        };
        let size = usize::try_from(stat.st_size).unwrap_or(0);
        match read_up_to(&file, size) {
            Ok(bytes) => {
                let content_type = content_type(Path::new(name_for_type));
                let bytes = self
                    .cache
                    .offer(path, &relative, &stat, content_type, bytes);
                Some(Found::File {
                    bytes,
                    content_type,
                    version: FileVersion::of_stat(&stat),
                })
            }
            Err(_) => None, // let the slow path read it again and choose the status
        }
    }
}

/// What the fast path found.
pub enum Found {
    /// A regular file's bytes, their Content-Type, and what its
    /// validators are made of.
    File {
        bytes: Body,
        content_type: &'static str,
        version: FileVersion,
    },
    /// Not a file to send: a redirect or a refusal.
    Lookup(Lookup),
}

/// Move a descriptor the server keeps for its whole life to the top of the
/// descriptor range (the highest number below `min(RLIMIT_NOFILE, 1024)`
/// that is free), so the descriptors each lesson talks about keep the
/// numbers the book shows: the listening socket is 3, the epoll instance 4,
/// the first connection 5, as in a server without a site descriptor.
/// `fcntl(F_DUPFD_CLOEXEC, n)` returns the lowest free descriptor ≥ n; the
/// cap at 1024 keeps the kernel's descriptor table at its usual size when
/// the limit is huge. If no number up there is free, the descriptor stays
/// where it is.
fn out_of_the_way(fd: OwnedFd) -> OwnedFd {
    use nix::fcntl::{fcntl, FcntlArg};
    use nix::sys::resource::{getrlimit, Resource};
    use std::os::fd::{AsRawFd, FromRawFd};
    let limit = getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft.min(1024));
    let Ok(top) = i32::try_from(limit.saturating_sub(1)) else {
        return fd;
    };
    if fd.as_raw_fd() >= top {
        return fd;
    }
    match fcntl(fd.as_fd(), FcntlArg::F_DUPFD_CLOEXEC(top)) {
        // SAFETY: F_DUPFD_CLOEXEC returned a new descriptor that nothing
        // else owns; the original is closed when `fd` drops here.
        Ok(moved) => unsafe { OwnedFd::from_raw_fd(moved) },
        Err(_) => fd,
    }
}

/// `openat2(root, relative)` for reading, never leaving the root and never
/// following a symlink, then `fstat`. `O_NONBLOCK` so that a FIFO does not
/// block the open (nginx opens its files the same way and checks the type
/// after); `O_NOCTTY` so that a terminal device never becomes ours.
fn open_beneath(root: &OwnedFd, relative: &str) -> nix::Result<(OwnedFd, FileStat)> {
    let how = OpenHow::new()
        .flags(OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .resolve(
            ResolveFlag::RESOLVE_BENEATH
                | ResolveFlag::RESOLVE_NO_SYMLINKS
                | ResolveFlag::RESOLVE_NO_MAGICLINKS,
        );
    let file = loop {
        match openat2(root.as_fd(), relative, how) {
            // EAGAIN: a concurrent rename raced the kernel's check; retry.
            Err(Errno::EAGAIN | Errno::EINTR) => continue,
            result => break result?,
        }
    };
    let stat = fstat(file.as_fd())?;
    Ok((file, stat))
}

fn file_type(stat: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT
}

/// Read at most `size` bytes (the size `fstat` gave): one `read(2)` for a
/// small file, and no extra call to find the end of file. A file that grows
/// meanwhile is sent as it was when stat'ed, with a matching Content-Length.
fn read_up_to(file: &OwnedFd, size: usize) -> nix::Result<Vec<u8>> {
    let mut bytes = vec![0u8; size];
    let mut filled = 0;
    while filled < size {
        match nix::unistd::read(file.as_fd(), &mut bytes[filled..]) {
            Ok(0) => break, // it shrank: send what is there
            Ok(n) => filled += n,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
    bytes.truncate(filled);
    Ok(bytes)
}
