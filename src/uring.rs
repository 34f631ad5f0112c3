//! Why the kernel refused io_uring, in one line (for `webserver4u` and
//! `webserver4v`), and the provided buffer ring of `webserver4v`.
//!
//! `io_uring_setup(2)` fails, on machines a student really meets, for one
//! of three reasons:
//!
//! * the administrator turned it off: `kernel.io_uring_disabled` is 2
//!   (nobody may) or 1 (only members of `kernel.io_uring_group`), and the
//!   call fails with `EPERM`;
//! * a seccomp filter forbids the call: container runtimes do so by default
//!   (Docker's profile answers `EPERM`, others `ENOSYS`);
//! * the kernel has no io_uring: older than Linux 5.1, or built without
//!   `CONFIG_IO_URING` (`ENOSYS`).
//!
//! [`refusal`] says which of these this machine shows: it reads the sysctl
//! and the `Seccomp:` line of `/proc/self/status` rather than guessing.
//! [`missing_feature`] does the same for a feature newer than io_uring
//! itself (multishot receive, buffer rings), from the kernel's release.

use crate::report::hint_for;
use nix::errno::Errno;
use std::alloc::{alloc_zeroed, Layout};
use std::ptr::{addr_of_mut, NonNull};
use std::sync::atomic::{AtomicU16, Ordering};

/// The value of `kernel.io_uring_disabled`, if this kernel has the sysctl
/// (Linux 6.6 and later).
pub fn disabled_sysctl() -> Option<u8> {
    std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Does this process run under a seccomp filter (`Seccomp: 2`)?
pub fn under_seccomp_filter() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .any(|line| line.split_whitespace().eq(["Seccomp:", "2"]))
    })
}

/// The `WHY — WHAT TO DO` of the line a server prints when
/// `io_uring_setup(2)` failed with `errno`.
pub fn refusal(errno: Errno) -> String {
    let why = match (errno, disabled_sysctl()) {
        (Errno::EPERM, Some(2)) => "io_uring is disabled on this machine \
             (kernel.io_uring_disabled = 2); as root, `sysctl kernel.io_uring_disabled=0` \
             turns it back on"
            .to_string(),
        (Errno::EPERM, Some(1)) => "io_uring is reserved to the group \
             kernel.io_uring_group (kernel.io_uring_disabled = 1) and this process \
             is not in it"
            .to_string(),
        (Errno::EPERM | Errno::ENOSYS, sysctl) if under_seccomp_filter() => {
            let enabled = match sysctl {
                Some(value) => {
                    format!("io_uring is enabled (kernel.io_uring_disabled = {value}), and ")
                }
                None => String::new(),
            };
            format!(
                "{enabled}this process runs under a seccomp filter (Seccomp: 2 in \
                 /proc/self/status): container runtimes' filters refuse io_uring by \
                 default; run it outside the container, or with a profile that allows \
                 io_uring_setup"
            )
        }
        (Errno::ENOSYS, _) => "this kernel has no io_uring (older than Linux 5.1, \
             or built without CONFIG_IO_URING)"
            .to_string(),
        _ => hint_for(errno).to_string(),
    };
    format!("{errno} — {why}; webserver4e serves the same site with epoll")
}

/// This kernel's release as (major, minor), from
/// `/proc/sys/kernel/osrelease` (`6.1.0-18-amd64` gives `(6, 1)`).
pub fn kernel_release() -> Option<(u32, u32)> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    let mut numbers = release.trim().split(['.', '-']).map(str::parse::<u32>);
    Some((numbers.next()?.ok()?, numbers.next()?.ok()?))
}

/// The `WHY — WHAT TO DO` of the line a server prints when io_uring
/// refused `feature` (which came with Linux `since`) with `errno`: a
/// kernel older than `since` is named as the reason; on a newer one the
/// errno's usual meaning is all there is to say.
pub fn missing_feature(errno: Errno, feature: &str, since: (u32, u32)) -> String {
    let why = match kernel_release() {
        Some(release) if release < since => format!(
            "{feature} came with Linux {}.{} and this kernel is {}.{}",
            since.0, since.1, release.0, release.1
        ),
        _ => hint_for(errno).to_string(),
    };
    format!("{errno} — {why}; webserver4u serves the same site without it")
}

/// One buffer's place in a [`BufferRing`]: `struct io_uring_buf` of
/// `<linux/io_uring.h>`. In the ring's first entry, `resv` is the ring's
/// tail (the kernel's header overlays the two).
#[repr(C)]
struct RingEntry {
    addr: u64,
    len: u32,
    bid: u16,
    resv: u16,
}

// ANCHOR: buffer_ring
/// A *provided buffer ring* (Linux 5.19): `count` buffers of `size` bytes,
/// and a ring of `count` entries that tells the kernel where they are.
/// The program registers the ring once (`register_buf_ring`, with
/// [`BufferRing::addr`]); then a receive names the ring's group instead of
/// a buffer, the kernel takes the next buffer off the ring when bytes
/// arrive, fills it, and says which one in the completion (its id). The
/// program reads it ([`BufferRing::filled`]) and puts it back
/// ([`BufferRing::give_back`]): it goes in at the tail, which only the
/// program moves; the kernel keeps its head to itself.
///
/// The memory is never freed: the kernel may write into these buffers for
/// as long as the ring is registered, which is the process's lifetime.
pub struct BufferRing {
    /// `count` entries, page-aligned as the kernel requires.
    entries: NonNull<RingEntry>,
    /// The buffers, one after the other: buffer `id` starts at `id * size`.
    buffers: NonNull<u8>,
    count: u16,
    size: usize,
    /// How many buffers the program has put on the ring, ever (wrapping):
    /// the next one goes into entry `tail % count`.
    tail: u16,
}

impl BufferRing {
    /// `count` (a power of two, at most 32768) buffers of `size` bytes,
    /// all on the ring.
    pub fn new(count: u16, size: usize) -> BufferRing {
        assert!(count.is_power_of_two() && count <= 1 << 15);
        let page = 4096;
        let entries = Layout::from_size_align(usize::from(count) * size_of::<RingEntry>(), page);
        let buffers = Layout::from_size_align(usize::from(count) * size, page);
        let (Ok(entries), Ok(buffers)) = (entries, buffers) else {
            panic!("a buffer ring of {count} buffers of {size} bytes does not fit in memory");
        };
        // SAFETY: both layouts have a non-zero size (count >= 1, and a
        // buffer of 0 bytes would hold nothing).
        let (entries, buffers) = unsafe { (alloc_zeroed(entries), alloc_zeroed(buffers)) };
        let (Some(entries), Some(buffers)) = (NonNull::new(entries), NonNull::new(buffers)) else {
            panic!("out of memory for a buffer ring of {count} buffers of {size} bytes");
        };
        let mut ring = BufferRing {
            entries: entries.cast(),
            buffers,
            count,
            size,
            tail: 0,
        };
        for id in 0..count {
            ring.give_back(id);
        }
        ring
    }

    /// The ring's address, for `register_buf_ring`.
    pub fn addr(&self) -> u64 {
        self.entries.as_ptr() as u64
    }

    /// How many entries (and buffers) the ring has.
    pub fn count(&self) -> u16 {
        self.count
    }

    /// The first `len` bytes of buffer `id`.
    ///
    /// # Safety
    ///
    /// The kernel handed buffer `id` over in a completion, and it has not
    /// been given back since: until it is, the kernel writes nothing there.
    pub unsafe fn filled(&self, id: u16, len: usize) -> &[u8] {
        assert!(id < self.count && len <= self.size);
        // SAFETY: buffer `id` lies inside the allocation (checked above),
        // and the caller vouches that the kernel is not writing into it.
        unsafe {
            let start = self.buffers.as_ptr().add(usize::from(id) * self.size);
            std::slice::from_raw_parts(start, len)
        }
    }

    /// Put buffer `id` back on the ring: write its entry at the tail, then
    /// move the tail past it, so that the kernel may take it again.
    pub fn give_back(&mut self, id: u16) {
        assert!(id < self.count);
        let index = usize::from(self.tail & (self.count - 1));
        // SAFETY: `index` < count, inside the entries' allocation. The
        // kernel reads only the entries between its head and the tail, and
        // this one is at the tail: not among them until the tail moves.
        // `resv` is not written: in entry 0 it is the tail.
        unsafe {
            let entry = self.entries.as_ptr().add(index);
            let start = self.buffers.as_ptr().add(usize::from(id) * self.size);
            addr_of_mut!((*entry).addr).write(start as u64);
            addr_of_mut!((*entry).len).write(self.size as u32);
            addr_of_mut!((*entry).bid).write(id);
        }
        self.tail = self.tail.wrapping_add(1);
        // SAFETY: the tail is the `resv` field of entry 0, a u16 in the
        // allocation, aligned, and shared with the kernel, which reads it
        // with an acquire load: this release store makes the entry written
        // above visible to the kernel before the new tail is.
        let tail = unsafe { AtomicU16::from_ptr(addr_of_mut!((*self.entries.as_ptr()).resv)) };
        tail.store(self.tail, Ordering::Release);
    }
}
// ANCHOR_END: buffer_ring

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_feature_names_the_errno_and_a_way_out() {
        let line = missing_feature(Errno::EINVAL, "multishot receive", (6, 0));
        assert!(line.starts_with("EINVAL: Invalid argument — "), "{line}");
        assert!(line.ends_with("webserver4u serves the same site without it"));
        // Asked of a release older than this one, it blames the kernel.
        let release = kernel_release().expect("/proc/sys/kernel/osrelease");
        let line = missing_feature(Errno::EINVAL, "multishot receive", (release.0 + 1, 0));
        assert!(line.contains("multishot receive came with Linux"), "{line}");
    }

    #[test]
    fn a_new_buffer_ring_holds_every_buffer() {
        let ring = BufferRing::new(8, 16);
        let base = ring.buffers.as_ptr() as u64;
        for index in 0..8u16 {
            // SAFETY: entry `index` lies in the allocation (index < count).
            let entry = unsafe { &*ring.entries.as_ptr().add(usize::from(index)) };
            assert_eq!((entry.bid, entry.len), (index, 16));
            assert_eq!(entry.addr, base + u64::from(index) * 16);
        }
        // The tail, in entry 0: eight buffers on the ring.
        // SAFETY: entry 0 lies in the allocation.
        assert_eq!(unsafe { (*ring.entries.as_ptr()).resv }, 8);
    }
}
