//! What a server costs, read from `/proc`: CPU time, memory and threads of
//! every process in its process group (a forking model's children too).

use std::fs;
use std::time::Duration;

/// The kernel's clock tick (`sysconf(_SC_CLK_TCK)`), the unit of the CPU
/// times in `/proc/PID/stat`.
fn ticks_per_second() -> u64 {
    // SAFETY: sysconf reads a constant of the system; no memory is touched.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100)
}

/// The fields of `/proc/PID/stat` after the command name, which may itself
/// hold spaces and parentheses: split after the last `)`.
fn stat_fields(pid: u32) -> Option<Vec<u64>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &text[text.rfind(')')? + 2..];
    // Field 3 (state) is a letter; keep positions by mapping it to 0.
    Some(after.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect())
}

/// Every live process whose process group is `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| stat_fields(pid).is_some_and(|f| f.get(2) == Some(&u64::from(pgid))))
        .collect()
}

/// CPU time (user + system) used so far by the group `pgid`: every live
/// member's own, all threads included (`/proc/PID/stat` is per process),
/// plus what the leader's reaped children used (`cutime`, `cstime`), which
/// is where a forking server's finished connections end up.
pub fn group_cpu(pgid: u32) -> Duration {
    let mut ticks = 0;
    for pid in group_members(pgid) {
        let Some(f) = stat_fields(pid) else { continue };
        // After the name: state(0) ppid(1) pgrp(2) ... utime(11) stime(12)
        // cutime(13) cstime(14) ... num_threads(17).
        ticks += f.get(11).unwrap_or(&0) + f.get(12).unwrap_or(&0);
        if pid == pgid {
            ticks += f.get(13).unwrap_or(&0) + f.get(14).unwrap_or(&0);
        }
    }
    Duration::from_secs_f64(ticks as f64 / ticks_per_second() as f64)
}

/// Threads of the whole group (a process counts as one thread at least).
pub fn group_threads(pgid: u32) -> u64 {
    group_members(pgid)
        .into_iter()
        .filter_map(stat_fields)
        .map(|f| *f.get(17).unwrap_or(&1))
        .sum()
}

/// Memory of the whole group in KiB: the sum of each member's proportional
/// set size (PSS), so that pages a forked child shares with its parent are
/// counted once, not once per process as RSS would.
pub fn group_pss_kib(pgid: u32) -> u64 {
    group_members(pgid).into_iter().filter_map(pss_kib).sum()
}

fn pss_kib(pid: u32) -> Option<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let line = text.lines().find(|l| l.starts_with("Pss:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_measured() {
        let me = std::process::id();
        // SAFETY: getpgid(0) only reads this process's group id.
        let pgid = unsafe { libc::getpgid(0) } as u32;
        assert!(group_members(pgid).contains(&me));
        assert!(group_threads(pgid) >= 1);
        assert!(group_pss_kib(pgid) > 0);
        let spin = std::time::Instant::now();
        while spin.elapsed() < Duration::from_millis(50) {
            std::hint::black_box(0);
        }
        assert!(group_cpu(pgid) > Duration::ZERO);
    }
}
