//! Why the kernel refused io_uring, in one line (for `webserver4u`).
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

use crate::report::hint_for;
use nix::errno::Errno;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_the_errno_and_a_way_out() {
        let line = refusal(Errno::ENOSYS);
        assert!(line.starts_with("ENOSYS"), "{line}");
        assert!(line.ends_with("webserver4e serves the same site with epoll"));
        assert!(!line.contains('\n'));
    }
}
