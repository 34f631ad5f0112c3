//! What `/proc/PID` tells about a process beyond its children, its threads
//! and its CPU time (which [`super::Server`] reads itself): the signals it
//! catches, its descriptors (and whether they are non-blocking), its user.
//!
//! These are the facts a check needs to look at the process itself rather
//! than only at its replies: a SIGCHLD handler is installed (`SigCgt`), a
//! server multiplexes with epoll (`anon_inode:[eventpoll]` among its
//! descriptors), its sockets are non-blocking (`O_NONBLOCK` in
//! `/proc/PID/fdinfo/N`), an idle server does not spin (its CPU time stays
//! flat).

use nix::sys::signal::Signal;
use std::fs;

/// The signal masks of `/proc/PID/status`: bit `n - 1` stands for signal `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalMasks {
    /// `SigCgt`: signals with a handler installed.
    pub caught: u64,
    /// `SigIgn`: signals set to SIG_IGN.
    pub ignored: u64,
}

impl SignalMasks {
    pub fn catches(&self, signal: Signal) -> bool {
        self.caught & bit(signal) != 0
    }

    pub fn ignores(&self, signal: Signal) -> bool {
        self.ignored & bit(signal) != 0
    }
}

fn bit(signal: Signal) -> u64 {
    1u64 << (signal as i32 - 1)
}

/// One open descriptor of a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    pub fd: i32,
    /// What `ls -l /proc/PID/fd` shows: `socket:[81234]`,
    /// `anon_inode:[eventpoll]`, `/dev/null`, ...
    pub target: String,
    /// The file status flags of `/proc/PID/fdinfo/N` (octal there).
    pub flags: i32,
}

impl Descriptor {
    pub fn is_socket(&self) -> bool {
        self.target.starts_with("socket:")
    }

    pub fn is_epoll(&self) -> bool {
        self.target == "anon_inode:[eventpoll]"
    }

    pub fn is_nonblocking(&self) -> bool {
        self.flags & libc::O_NONBLOCK != 0
    }
}

/// The value of one `Name:\tvalue` line of `/proc/PID/status`.
fn status_field(pid: i32, name: &str) -> Option<String> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key == name).then(|| value.trim().to_string())
    })
}

/// The signals `pid` catches and ignores, or None if it is gone.
pub fn signal_masks(pid: i32) -> Option<SignalMasks> {
    let mask = |name| u64::from_str_radix(&status_field(pid, name)?, 16).ok();
    Some(SignalMasks {
        caught: mask("SigCgt")?,
        ignored: mask("SigIgn")?,
    })
}

/// The real uid `pid` runs as (`Uid:`), or None if it is gone.
pub fn uid_of(pid: i32) -> Option<u32> {
    status_field(pid, "Uid")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// How many processes run as `uid`: what RLIMIT_NPROC (`ulimit -u`) is
/// compared with when that user forks.
pub fn processes_of_user(uid: u32) -> usize {
    super::processes()
        .iter()
        .filter(|p| uid_of(p.pid) == Some(uid))
        .count()
}

/// Every descriptor `pid` holds, sorted by number; empty if it is gone.
/// A descriptor closed between listing and reading is left out.
pub fn descriptors(pid: i32) -> Vec<Descriptor> {
    let Ok(entries) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    let mut found: Vec<Descriptor> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let fd: i32 = entry.file_name().to_str()?.parse().ok()?;
            let target = fs::read_link(entry.path())
                .ok()?
                .to_string_lossy()
                .into_owned();
            let info = fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).ok()?;
            let flags = info.lines().find_map(|line| {
                i32::from_str_radix(line.strip_prefix("flags:")?.trim(), 8).ok()
            })?;
            Some(Descriptor { fd, target, flags })
        })
        .collect();
    found.sort_by_key(|d| d.fd);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn me() -> i32 {
        std::process::id() as i32
    }

    #[test]
    fn sees_this_process_epoll_and_nonblocking_socket() {
        let epoll =
            nix::sys::epoll::Epoll::new(nix::sys::epoll::EpollCreateFlags::empty()).unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let fds = descriptors(me());
        let find = |fd: i32| fds.iter().find(|d| d.fd == fd).unwrap().clone();
        assert!(find(epoll.0.as_raw_fd()).is_epoll());
        let socket = find(listener.as_raw_fd());
        assert!(socket.is_socket() && socket.is_nonblocking(), "{socket:?}");
        listener.set_nonblocking(false).unwrap();
        assert!(!descriptors(me())
            .iter()
            .find(|d| d.fd == listener.as_raw_fd())
            .unwrap()
            .is_nonblocking());
    }

    #[test]
    fn counts_this_users_processes() {
        let uid = nix::unistd::Uid::current().as_raw();
        assert_eq!(uid_of(me()), Some(uid));
        assert!(processes_of_user(uid) >= 1);
    }

    #[test]
    fn a_gone_process_has_nothing() {
        assert_eq!(signal_masks(i32::MAX), None);
        assert!(descriptors(i32::MAX).is_empty());
    }
}
