//! What `LIST` and `NLST` send on the data connection.
//!
//! RFC 959 leaves the format of `LIST` to the server; every client in use
//! (curl prints it, browsers and GUI clients parse it) expects the lines of
//! `ls -l`, so that is what we send:
//!
//! ```text
//! -rw-r--r--   1 ftp      ftp      10485760 Nov 25 07:44 big.bin
//! drwxr-xr-x   2 ftp      ftp          4096 Nov 25 07:40 music
//! ```
//!
//! We list regular files and directories only (what a client can `RETR` or
//! `CWD` into), hide dot-files (among them uploads in progress), and leave
//! out anything the library cannot open: a symlink that leads outside the
//! root, say. What a listing shows can be fetched.

use super::root::{is_directory, is_regular, Library, VirtualPath};
use nix::dir::Dir;
use nix::sys::stat::FileStat;
use std::time::{SystemTime, UNIX_EPOCH};

/// One listed file or directory.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub stat: FileStat,
}

impl Entry {
    pub fn is_directory(&self) -> bool {
        is_directory(&self.stat)
    }
}

/// The regular files and directories in `dir`, sorted by name.
pub fn list(library: &Library, dir: &VirtualPath) -> nix::Result<Vec<Entry>> {
    let mut handle = Dir::from_fd(library.open_dir(dir)?)?;
    let mut entries = Vec::new();
    for entry in handle.iter() {
        let entry = entry?;
        // A name that is not UTF-8 could not be asked for by name anyway.
        let Ok(name) = entry.file_name().to_str() else {
            continue;
        };
        if name.starts_with('.') {
            continue; // ".", "..", hidden files, uploads in progress
        }
        // Stat through the library, not the directory: a symlink counts as
        // what it points to, and only if that is inside the root.
        let Ok(stat) = library.stat(&dir.child(name)) else {
            continue;
        };
        if is_regular(&stat) || is_directory(&stat) {
            entries.push(Entry {
                name: name.to_string(),
                stat,
            });
        }
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(entries)
}

/// One `ls -l` line, without its line end. Owner and group are shown as
/// `ftp`: the client has no use for the server's user names.
pub fn long_line(entry: &Entry, now: i64) -> String {
    let kind = if entry.is_directory() { 'd' } else { '-' };
    let mode = entry.stat.st_mode;
    let mut perms = String::with_capacity(9);
    for shift in [6, 3, 0] {
        let bits = (mode >> shift) & 7;
        perms.push(if bits & 4 != 0 { 'r' } else { '-' });
        perms.push(if bits & 2 != 0 { 'w' } else { '-' });
        perms.push(if bits & 1 != 0 { 'x' } else { '-' });
    }
    format!(
        "{kind}{perms} {:>3} ftp      ftp      {:>10} {} {}",
        entry.stat.st_nlink,
        entry.stat.st_size,
        ls_date(entry.stat.st_mtime, now),
        entry.name
    )
}

/// The seconds since the epoch now (for [`long_line`]).
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `ls`'s date column, in UTC: `Nov 25 07:44` for the last six months,
/// `Nov 25  2023` for older (or future) times.
pub fn ls_date(mtime: i64, now: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const HALF_YEAR: i64 = 183 * 24 * 3600;
    let (year, month, day) = civil_date(mtime.div_euclid(86_400));
    let month = MONTHS[(month - 1) as usize];
    if mtime <= now && now - mtime < HALF_YEAR {
        let seconds = mtime.rem_euclid(86_400);
        format!(
            "{month} {day:>2} {:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60
        )
    } else {
        format!("{month} {day:>2}  {year}")
    }
}

/// `MDTM`'s `YYYYMMDDHHMMSS`, in UTC (RFC 3659).
pub fn mdtm_time(mtime: i64) -> String {
    let (year, month, day) = civil_date(mtime.div_euclid(86_400));
    let seconds = mtime.rem_euclid(86_400);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// Days since 1970-01-01 to (year, month 1-12, day 1-31) in the proleptic
/// Gregorian calendar (Howard Hinnant's `civil_from_days`).
fn civil_date(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_like_ls() {
        // 2024-02-29 13:05:09 UTC
        let leap_day = 1_709_211_909;
        assert_eq!(ls_date(leap_day, leap_day + 60), "Feb 29 13:05");
        assert_eq!(ls_date(leap_day, leap_day + 400 * 86_400), "Feb 29  2024");
        assert_eq!(ls_date(0, 1_000_000_000), "Jan  1  1970");
        assert_eq!(mdtm_time(leap_day), "20240229130509");
    }
}
