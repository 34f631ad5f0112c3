//! Files kept in memory, checked against the disk on every request.
//!
//! Serving `/hello.txt` costs four syscalls (`openat2`, `fstat`, `read`,
//! `close`), about 4 µs here: half of what a whole request costs nginx. A
//! cached file costs one `fstatat(2)` instead. The cache never serves
//! stale bytes, because every hit is checked: the file found at that path
//! now must be the same inode with the same size, mode, modification and
//! change times as when it was read. Any write, truncate, `chmod`,
//! rename over it or new link changes the change time (`ctime`), so the
//! entry is dropped and the file is read again.
//!
//! A hit shares the cached bytes (an `Arc`): a cached 1 MiB file is
//! written to the socket from the cache's copy, so a request for it costs
//! no `read(2)`, no allocation and no copy in the server, only the
//! `write(2)`. (Without this, a single-threaded server spent two thirds of
//! its time serving such a file in page faults: every answer allocated a
//! fresh 1 MiB buffer that the allocator gave back to the kernel after.)
//!
//! Pipelined requests are checked once per batch: the requests answered in
//! one pass of [`crate::http::Session`] had all arrived before the pass
//! began ([`BatchGuard`]), so one check made during the pass is as good as
//! one per request, and sixteen pipelined `GET /hello.txt` cost one
//! `fstatat`.
//!
//! One trap remains, the one git calls "racy clean": the kernel's clock
//! ticks in steps of a few milliseconds, so a file written twice within one
//! tick keeps the same times. A file is therefore cached only once its
//! `ctime` is more than a second old: any change after that gets a later
//! `ctime`.

use crate::http::response::Body;
use crate::http::validators::FileVersion;
use nix::fcntl::AtFlags;
use nix::sys::stat::{fstatat, FileStat, SFlag};
use std::cell::Cell;
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Files up to this size are cached; bigger ones are read each time.
pub const MAX_CACHED_FILE: usize = 4 * 1024 * 1024;
/// Entries kept, and bytes; past either the cache starts over (a site's
/// hot files are few).
const MAX_ENTRIES: usize = 512;
const MAX_CACHED_BYTES: usize = 64 * 1024 * 1024;
/// How old a file's last change must be before it is cached.
const SETTLED: Duration = Duration::from_secs(1);

/// What identifies one version of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Version {
    dev: u64,
    ino: u64,
    size: i64,
    mode: u32,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Version {
    fn of(stat: &FileStat) -> Version {
        Version {
            dev: stat.st_dev,
            ino: stat.st_ino,
            size: stat.st_size,
            mode: stat.st_mode,
            mtime: (stat.st_mtime, stat.st_mtime_nsec),
            ctime: (stat.st_ctime, stat.st_ctime_nsec),
        }
    }

    /// What the response's validators are made of.
    fn file_version(&self) -> FileVersion {
        FileVersion {
            size: u64::try_from(self.size).unwrap_or(0),
            mtime: self.mtime,
            ctime: self.ctime,
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    /// The file read, relative to the root (`guide/index.html` for `/guide/`).
    relative: String,
    version: Version,
    content_type: &'static str,
    bytes: Arc<[u8]>,
    /// The batch during which the file was last checked.
    checked_in: Batch,
}

/// A batch of requests that arrived together: a thread's pass of
/// answering, numbered by [`BatchGuard::begin`]. `None` outside a pass:
/// then every hit is checked.
type Batch = Option<(u64, u64)>;

/// Numbers threads for [`Batch`] (cheaper than `thread::current().id()`,
/// which clones an `Arc` on every call).
static THREADS: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// This thread's batch number, and whether a batch is open.
    static BATCH: Cell<(u64, bool)> = const { Cell::new((0, false)) };
    static THREAD: u64 = THREADS.fetch_add(1, Ordering::Relaxed);
}

/// An open batch: the requests answered until it is dropped had all
/// arrived when it began, so a cached file checked once during it may serve
/// them all. [`crate::http::Session`] opens one for every answering pass.
///
/// **Never hold one across a coroutine switch.** The batch lives in a
/// thread-local, so while a guard lives this thread must run no other
/// connection's code: no may I/O, no `may` yield or sleep, no wait on a
/// channel. Otherwise another coroutine on this thread would find the batch
/// open and take unchecked hits for requests that arrived after it began
/// (stale bytes), and this coroutine could resume on another worker thread
/// and close that thread's batch instead. webserver4f spawns its coroutines
/// with `may`'s unsafe spawn on the promise that no thread-local is kept
/// across a switch; this is the thread-local that promise covers (its
/// SAFETY note says so).
pub struct BatchGuard(());

impl BatchGuard {
    /// Open a batch on this thread; it closes when the guard drops. See the
    /// type's rule: drop it before anything can switch coroutines.
    pub fn begin() -> BatchGuard {
        BATCH.with(|b| b.set((b.get().0 + 1, true)));
        BatchGuard(())
    }
}

impl Drop for BatchGuard {
    fn drop(&mut self) {
        BATCH.with(|b| b.set((b.get().0, false)));
    }
}

/// Run `wait` — a sleep, or anything else that may switch coroutines —
/// with this thread's batch closed, and open a new batch after it if one
/// was open. A request handler that waits (webserver4f's `/slow` path)
/// runs inside `Session::answer`'s batch; this keeps the rule of
/// [`BatchGuard`] for it: no batch is open on a thread while the coroutine
/// that opened it is switched out, and the batch after the wait is a new
/// one, on whichever thread the coroutine resumed, begun after every
/// request still to answer in this pass had arrived.
pub fn outside_batch<T>(wait: impl FnOnce() -> T) -> T {
    let was_open = close_batch();
    let result = wait();
    if was_open {
        reopen_batch();
    }
    result
}

// Separate, never inlined: the thread-local is looked up afresh after a
// switch, not through an address computed on the thread before it.
#[inline(never)]
fn close_batch() -> bool {
    BATCH.with(|b| {
        let (number, open) = b.get();
        b.set((number, false));
        open
    })
}

#[inline(never)]
fn reopen_batch() {
    BATCH.with(|b| b.set((b.get().0 + 1, true)));
}

fn current_batch() -> Batch {
    let (number, open) = BATCH.with(Cell::get);
    open.then(|| (THREAD.with(|t| *t), number))
}

/// A hit: the file's bytes (shared with the cache), its Content-Type and
/// what its validators are made of.
pub struct Hit {
    pub bytes: Arc<[u8]>,
    pub content_type: &'static str,
    pub version: FileVersion,
}

/// Request path -> file, shared by every thread serving the site.
#[derive(Debug, Default)]
pub struct FileCache {
    entries: Mutex<HashMap<String, Entry>>,
    /// `fstatat` checks made, for tests and curious readers.
    checks: AtomicU64,
}

impl FileCache {
    /// The cached file for request path `path`, if the file at the same
    /// place is still that version (one `fstatat`, not following a final
    /// symlink: the entry was made from a path without any).
    pub fn get(&self, root: &OwnedFd, path: &str) -> Option<Hit> {
        let batch = current_batch();
        let entry = {
            let entries = self.lock();
            let entry = entries.get(path)?;
            if batch.is_some() && entry.checked_in == batch {
                return Some(Hit {
                    bytes: entry.bytes.clone(),
                    content_type: entry.content_type,
                    version: entry.version.file_version(),
                });
            }
            entry.clone()
        };
        self.checks.fetch_add(1, Ordering::Relaxed);
        let now = fstatat(root, entry.relative.as_str(), AtFlags::AT_SYMLINK_NOFOLLOW);
        let mut entries = self.lock();
        if !now.is_ok_and(|stat| Version::of(&stat) == entry.version) {
            entries.remove(path);
            return None;
        }
        if let Some(cached) = entries.get_mut(path) {
            if cached.version == entry.version {
                cached.checked_in = batch;
            }
        }
        Some(Hit {
            bytes: entry.bytes.clone(),
            content_type: entry.content_type,
            version: entry.version.file_version(),
        })
    }

    /// How many `fstatat` checks hits have cost so far.
    pub fn checks(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }

    /// Remember `bytes`, read from `relative` (whose `fstat` is `stat`), as
    /// the answer to `path` — if the file is regular, not too big and
    /// settled — and hand them back as a response body: shared with the
    /// cache if it kept them, as they are if not.
    pub fn offer(
        &self,
        path: &str,
        relative: &str,
        stat: &FileStat,
        content_type: &'static str,
        bytes: Vec<u8>,
    ) -> Body {
        let regular = SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG;
        let complete = usize::try_from(stat.st_size).is_ok_and(|size| size == bytes.len());
        if !regular || !complete || bytes.len() > MAX_CACHED_FILE || !settled(stat) {
            return Body::Owned(bytes);
        }
        let bytes: Arc<[u8]> = bytes.into();
        let entry = Entry {
            relative: relative.to_string(),
            version: Version::of(stat),
            content_type,
            bytes: bytes.clone(),
            checked_in: current_batch(),
        };
        let mut entries = self.lock();
        let held: usize = entries.values().map(|e| e.bytes.len()).sum();
        if entries.len() >= MAX_ENTRIES || held + bytes.len() > MAX_CACHED_BYTES {
            entries.clear();
        }
        entries.insert(path.to_string(), entry);
        Body::Shared(bytes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Was the file last changed more than [`SETTLED`] ago?
fn settled(stat: &FileStat) -> bool {
    let (Ok(secs), Ok(nanos)) = (
        u64::try_from(stat.st_ctime),
        u32::try_from(stat.st_ctime_nsec),
    ) else {
        return false;
    };
    let changed = UNIX_EPOCH + Duration::new(secs, nanos);
    SystemTime::now()
        .duration_since(changed)
        .is_ok_and(|age| age > SETTLED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_closes_the_batch_and_the_pass_continues_in_a_new_one() {
        let guard = BatchGuard::begin();
        let before = current_batch();
        assert!(before.is_some());
        let during = outside_batch(current_batch);
        assert_eq!(during, None, "no batch is open while the handler waits");
        let after = current_batch();
        assert!(after.is_some(), "the pass goes on in a batch");
        assert_ne!(
            after, before,
            "a new batch: checks made before the wait do not count"
        );
        drop(guard);
        assert_eq!(current_batch(), None);
        // Outside a pass, waiting opens no batch.
        outside_batch(|| ());
        assert_eq!(current_batch(), None);
    }
}
