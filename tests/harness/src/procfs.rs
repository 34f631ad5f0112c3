//! Everything the tests, the lab and the benchmark harness read from
//! `/proc/PID`, parsed here and nowhere else:
//!
//! * `stat`: pid, command name, state, parent, process group, CPU times and
//!   threads ([`Stat`], [`stat`], [`processes`]), and the same summed over a
//!   process group ([`group_cpu`], [`group_threads`]);
//! * `status`: the signals a process catches and ignores ([`SignalMasks`]),
//!   which ones wait to be delivered, its user, threads and resident memory;
//! * `fd` and `fdinfo`: its descriptors, and whether they are non-blocking;
//! * `schedstat`: the CPU time its main thread got and waited for;
//! * `smaps_rollup`: its proportional memory (PSS), for a whole group too.
//!
//! These are the facts a check needs to look at the process itself rather
//! than only at its replies: a SIGCHLD handler is installed (`SigCgt`), a
//! server multiplexes with epoll (`anon_inode:[eventpoll]` among its
//! descriptors), its sockets are non-blocking (`O_NONBLOCK` in
//! `/proc/PID/fdinfo/N`), an idle server does not spin (its CPU time stays
//! flat). The layout of each file is proc(5)'s.

use nix::sys::signal::Signal;
use std::fs;
use std::time::Duration;

// ---- /proc/PID/stat -------------------------------------------------------------

/// One process as `/proc/PID/stat` describes it (the fields anyone here
/// reads; proc(5) numbers them from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// Field 1.
    pub pid: i32,
    /// Field 2, without its parentheses: the executable's name, at most 15
    /// bytes, which may itself hold spaces and parentheses.
    pub comm: String,
    /// Field 3: `R`, `S`, `Z` (zombie), ...
    pub state: char,
    /// Field 4.
    pub ppid: i32,
    /// Field 5: the process group.
    pub pgrp: i32,
    /// Fields 14 and 15: CPU time in user and kernel mode, all threads
    /// together, in clock ticks.
    pub utime: u64,
    pub stime: u64,
    /// Fields 16 and 17: the same for the children this process has
    /// waited for (reaped), where a forking server's finished connections
    /// end up.
    pub cutime: u64,
    pub cstime: u64,
    /// Field 20.
    pub num_threads: u64,
}

impl Stat {
    /// Parse the text of a `/proc/PID/stat`. The command name is the only
    /// field that may hold spaces or parentheses, so it runs from the first
    /// `(` to the *last* `)`; the other fields are split on spaces.
    pub fn parse(text: &str) -> Option<Stat> {
        let (pid, rest) = text.split_once(" (")?;
        let (comm, rest) = rest.rsplit_once(") ")?;
        // Field 3 onwards; `field(n)` is proc(5)'s field n.
        let after: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| after.get(n - 3).copied();
        let number = |n: usize| field(n)?.parse::<u64>().ok();
        Some(Stat {
            pid: pid.trim().parse().ok()?,
            comm: comm.to_string(),
            state: field(3)?.chars().next()?,
            ppid: field(4)?.parse().ok()?,
            pgrp: field(5)?.parse().ok()?,
            utime: number(14)?,
            stime: number(15)?,
            cutime: number(16)?,
            cstime: number(17)?,
            num_threads: number(20)?,
        })
    }

    pub fn is_zombie(&self) -> bool {
        self.state == 'Z'
    }

    /// CPU time this process has used, all its threads together, in user
    /// and kernel mode (what `ps` shows as TIME).
    pub fn cpu_time(&self) -> Duration {
        ticks(self.utime + self.stime)
    }

    /// CPU time used by the children this process has reaped.
    pub fn reaped_children_cpu_time(&self) -> Duration {
        ticks(self.cutime + self.cstime)
    }
}

/// `n` clock ticks (`sysconf(_SC_CLK_TCK)`, usually 100 a second), the unit
/// of the CPU times in `/proc/PID/stat`.
fn ticks(n: u64) -> Duration {
    let per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|&t| t > 0)
        .unwrap_or(100);
    Duration::from_secs_f64(n as f64 / per_second as f64)
}

/// `/proc/PID/stat` of `pid`, or None if it is gone.
pub fn stat(pid: i32) -> Option<Stat> {
    Stat::parse(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Every process in `/proc`.
pub fn processes() -> Vec<Stat> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(stat)
        .collect()
}

/// Every live process whose process group is `pgid`.
pub fn group(pgid: i32) -> Vec<Stat> {
    processes().into_iter().filter(|p| p.pgrp == pgid).collect()
}

/// CPU time (user + system) used so far by the group `pgid`: every live
/// member's own, all threads included, plus what the leader's reaped
/// children used, which is where a forking server's finished connections
/// end up.
pub fn group_cpu(pgid: i32) -> Duration {
    group(pgid)
        .iter()
        .map(|p| {
            let reaped = if p.pid == pgid {
                p.reaped_children_cpu_time()
            } else {
                Duration::ZERO
            };
            p.cpu_time() + reaped
        })
        .sum()
}

/// Threads of the whole group `pgid`.
pub fn group_threads(pgid: i32) -> u64 {
    group(pgid).iter().map(|p| p.num_threads.max(1)).sum()
}

// ---- /proc/PID/status -----------------------------------------------------------

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

/// The value of one `Name:\tvalue` line of `/proc/PID/status`, or None if
/// the process is gone.
pub fn status_field(pid: i32, name: &str) -> Option<String> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key == name).then(|| value.trim().to_string())
    })
}

/// The signals `pid` catches and ignores, or None if it is gone.
pub fn signal_masks(pid: i32) -> Option<SignalMasks> {
    Some(SignalMasks {
        caught: status_mask(pid, "SigCgt")?,
        ignored: status_mask(pid, "SigIgn")?,
    })
}

/// A hexadecimal signal mask line of `/proc/PID/status`.
fn status_mask(pid: i32, name: &str) -> Option<u64> {
    u64::from_str_radix(&status_field(pid, name)?, 16).ok()
}

/// The real uid `pid` runs as (`Uid:`), or None if it is gone.
pub fn uid_of(pid: i32) -> Option<u32> {
    status_field(pid, "Uid")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Signals waiting to be delivered to `pid`: to one of its threads
/// (`SigPnd`) or to the whole process (`ShdPnd`). None if it is gone.
pub fn pending_signals(pid: i32) -> Option<u64> {
    Some(status_mask(pid, "SigPnd")? | status_mask(pid, "ShdPnd")?)
}

/// How many threads `pid` runs (`Threads:`, the lines of `ps -T -p PID`);
/// 0 if it is gone.
pub fn threads(pid: i32) -> usize {
    status_field(pid, "Threads")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Resident memory of `pid` in KiB (`VmRSS:`, the RSS column of `ps`); 0 if
/// it is gone (or a zombie, which has none).
pub fn rss_kib(pid: i32) -> u64 {
    status_field(pid, "VmRSS")
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// How many processes run as `uid`: what RLIMIT_NPROC (`ulimit -u`) is
/// compared with when that user forks.
pub fn processes_of_user(uid: u32) -> usize {
    processes()
        .iter()
        .filter(|p| uid_of(p.pid) == Some(uid))
        .count()
}

// ---- /proc/PID/schedstat, /proc/PID/smaps_rollup -------------------------------

/// From `/proc/PID/schedstat` (the main thread): time spent on a CPU, and
/// time spent runnable but waiting for one. Their sum is the CPU time the
/// thread *wanted*; on a busy machine it gets less. Zeros if it is gone.
pub fn sched_times(pid: i32) -> (Duration, Duration) {
    let text = fs::read_to_string(format!("/proc/{pid}/schedstat")).unwrap_or_default();
    let mut fields = text
        .split_whitespace()
        .map(|f| f.parse::<u64>().unwrap_or(0));
    let on_cpu = Duration::from_nanos(fields.next().unwrap_or(0));
    let waiting = Duration::from_nanos(fields.next().unwrap_or(0));
    (on_cpu, waiting)
}

/// The proportional set size of `pid` in KiB (`Pss:` of
/// `/proc/PID/smaps_rollup`): pages shared with other processes (a forked
/// child's with its parent) count in part, so a group's sum counts them
/// once, not once per process as RSS would.
pub fn pss_kib(pid: i32) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let line = text.lines().find(|l| l.starts_with("Pss:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Memory of the whole group `pgid` in KiB: the sum of its members' PSS.
pub fn group_pss_kib(pgid: i32) -> u64 {
    group(pgid).iter().filter_map(|p| pss_kib(p.pid)).sum()
}

// ---- /proc/PID/fd, /proc/PID/fdinfo ---------------------------------------------

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

/// One IPv4 TCP socket of this network namespace, as `ss -tan` lists it
/// (from `/proc/net/tcp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSocket {
    pub local_port: u16,
    pub remote_port: u16,
    /// The kernel's state number: 1 ESTABLISHED, 6 TIME_WAIT, 10 LISTEN, ...
    pub state: u8,
}

impl TcpSocket {
    pub const TIME_WAIT: u8 = 6;

    pub fn is_time_wait(&self) -> bool {
        self.state == Self::TIME_WAIT
    }
}

/// Every IPv4 TCP socket the kernel lists in `/proc/net/tcp`: listening,
/// connected, and closed ones that linger in TIME_WAIT (which belong to no
/// process any more, so no `/proc/PID/fd` shows them).
pub fn tcp_sockets() -> Vec<TcpSocket> {
    let text = fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    text.lines().skip(1).filter_map(parse_tcp_line).collect()
}

/// `  0: 0100007F:1F90 0100007F:C350 06 ...`: addresses as hex
/// `ADDRESS:PORT`, then the state in hex.
fn parse_tcp_line(line: &str) -> Option<TcpSocket> {
    let mut fields = line.split_whitespace().skip(1);
    let port = |field: &str| u16::from_str_radix(field.rsplit_once(':')?.1, 16).ok();
    let local_port = port(fields.next()?)?;
    let remote_port = port(fields.next()?)?;
    let state = u8::from_str_radix(fields.next()?, 16).ok()?;
    Some(TcpSocket {
        local_port,
        remote_port,
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn reads_a_line_of_proc_net_tcp() {
        let line = "   3: 0100007F:1F90 0100007F:C350 06 00000000:00000000 03:00001770 00000000     0        0 0 3 0000000000000000";
        assert_eq!(
            parse_tcp_line(line),
            Some(TcpSocket {
                local_port: 8080,
                remote_port: 50000,
                state: TcpSocket::TIME_WAIT
            })
        );
    }

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
        assert_eq!(stat(i32::MAX), None);
        assert!(descriptors(i32::MAX).is_empty());
    }

    /// A stat line as the kernel writes it for a command named `a) (b c`.
    const ODD_NAME: &str = "4242 (a) (b c) S 1 4242 4242 0 -1 4194560 105 0 0 0 \
                            7 3 11 5 20 0 2 0 123456 1000000 200 18446744073709551615";

    #[test]
    fn a_command_name_with_spaces_and_parentheses_keeps_the_fields_in_place() {
        let stat = Stat::parse(ODD_NAME).unwrap();
        assert_eq!(
            stat,
            Stat {
                pid: 4242,
                comm: "a) (b c".into(),
                state: 'S',
                ppid: 1,
                pgrp: 4242,
                utime: 7,
                stime: 3,
                cutime: 11,
                cstime: 5,
                num_threads: 2,
            }
        );
        assert!(Stat::parse("4242 (truncated) S 1").is_none());
    }

    #[test]
    fn this_process_is_measured() {
        let me = stat(me()).unwrap();
        assert_eq!(me.ppid, nix::unistd::getppid().as_raw());
        assert!(me.num_threads >= 1 && threads(me.pid) >= 1);
        assert!(group(me.pgrp).iter().any(|p| p.pid == me.pid));
        assert!(group_pss_kib(me.pgrp) > 0 && rss_kib(me.pid) > 0);
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(50) {
            std::hint::black_box(0);
        }
        assert!(stat(me.pid).unwrap().cpu_time() > Duration::ZERO);
        assert!(group_cpu(me.pgrp) > Duration::ZERO);
    }
}
