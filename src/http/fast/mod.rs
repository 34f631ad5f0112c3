//! Speed, not lessons: the same answers as [`super::site`], cheaper. A
//! reader of `http/` for the course can skip this module; `Site::lookup`
//! and `Site::respond` are the lesson, and a site without this module
//! answers every request the same (only slower).
//!
//! Two fast paths, measured in `benches/README.md` (its optimisation
//! history), where each one's cost before and after is shown:
//!
//! * [`open`]: a file is opened with one `openat2(2)` beneath a descriptor
//!   of the site's root, refusing every symlink, instead of being
//!   canonicalised (a `readlink` per path component) and then opened.
//! * [`file_cache`]: files read that way stay in memory, checked against
//!   the disk with one `fstatat(2)` per hit, or one per batch of pipelined
//!   requests.
//!
//! # What the rest of the code relies on
//!
//! 1. **The same answers.** Whatever status, headers and body the fast
//!    path gives, `Site::lookup` would have given; anything it cannot
//!    decide the same way (a symlink on the way, `ENOSYS`, an odd error)
//!    it hands back (`None`). The test
//!    `the_fast_path_answers_as_the_lookup_does` in `site.rs` holds it to
//!    that.
//! 2. **Never stale.** A cached file is served only if the file at that
//!    path is still the same version (inode, size, mode, mtime, ctime),
//!    checked since the batch began (see 3).
//! 3. **A batch never spans a coroutine switch.** The cache's batch number
//!    is a thread-local, opened by [`BatchGuard::begin`] for one pass of
//!    answering requests and closed when the guard drops; no guard may live
//!    across a point where this thread could run another connection's
//!    code (the rule in full, and why, is at [`BatchGuard`]). Its one user,
//!    `Session::answer`, runs only the request handler meanwhile; the
//!    site's handler makes plain syscalls, and the one that waits (the
//!    `/slow` path) waits inside [`outside_batch`]. webserver4f's SAFETY note
//!    (`may`'s spawn is sound only if no thread-local is kept across a
//!    switch) relies on this.
//! 4. **Descriptor numbers unchanged.** The root descriptor the fast path
//!    keeps is moved to the top of the descriptor range, so every lesson's
//!    descriptors keep the numbers the book shows (the listening socket 3,
//!    4e's epoll instance 4).

pub mod file_cache;
pub mod open;

pub use file_cache::{outside_batch, BatchGuard, FileCache};
pub use open::{FastPath, Found};
