//! Validators: what lets a client ask "has this file changed since I got
//! it?" and get `304 Not Modified` instead of the file again.
//!
//! A file's response carries two (RFC 9110 section 8.8):
//!
//! * `Last-Modified`, its modification time to the second;
//! * `ETag`, an opaque tag made of the modification time to the
//!   nanosecond and the size: any write changes one or the other. The time
//!   is written as 16 hex digits, so every file's head has the same length
//!   whatever its time (a varying head length would move every byte count
//!   a transcript or a benchmark shows).
//!
//! A browser that has the file sends them back on a reload
//! (`If-None-Match`, `If-Modified-Since`); a download manager resuming a
//! file sends one in `If-Range` so that it gets the rest only if the file
//! is still the one it has the start of.
//!
//! A tag is **strong** (the same tag means the same bytes) only if the
//! file's last change (`ctime`) is more than a second old. A file written
//! twice within one tick of the kernel's clock keeps the same times, so a
//! tag made just after a write could name two different contents: it is
//! sent weak (`W/"..."`), which is good for a 304 but never for a range.
//! The file cache waits for the same second before it trusts a file.

use super::date;
use super::text::Text;
use nix::sys::stat::FileStat;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What the validators of one version of a file are made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileVersion {
    pub size: u64,
    /// Modification time: seconds, nanoseconds.
    pub mtime: (i64, i64),
    /// Change time (any write, `chmod`, rename over): seconds, nanoseconds.
    pub ctime: (i64, i64),
}

impl FileVersion {
    pub fn of_stat(stat: &FileStat) -> FileVersion {
        FileVersion {
            size: u64::try_from(stat.st_size).unwrap_or(0),
            mtime: (stat.st_mtime, stat.st_mtime_nsec),
            ctime: (stat.st_ctime, stat.st_ctime_nsec),
        }
    }

    pub fn of_metadata(metadata: &std::fs::Metadata) -> FileVersion {
        use std::os::unix::fs::MetadataExt;
        FileVersion {
            size: metadata.size(),
            mtime: (metadata.mtime(), metadata.mtime_nsec()),
            ctime: (metadata.ctime(), metadata.ctime_nsec()),
        }
    }

    /// Was the file last changed more than a second before `now`?
    pub fn settled(&self, now: SystemTime) -> bool {
        let (Ok(secs), Ok(nanos)) = (u64::try_from(self.ctime.0), u32::try_from(self.ctime.1))
        else {
            return false;
        };
        let changed = UNIX_EPOCH + Duration::new(secs, nanos);
        now.duration_since(changed)
            .is_ok_and(|age| age > Duration::from_secs(1))
    }
}

/// A file's validators, as sent and as compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validators {
    /// `Last-Modified`, in seconds since the epoch: never later than now
    /// (RFC 9110 says a modification time in the future is sent as now).
    pub last_modified: u64,
    /// The tag without `W/` and with its quotes: `"6751f3a2-1b2c3d4-d"`.
    pub opaque_tag: String,
    /// Strong: the same tag always means the same bytes (see the module).
    pub strong: bool,
    /// The header values, formatted once and shared by every response
    /// that sends them (cloning them costs no allocation).
    etag_text: Arc<str>,
    last_modified_text: Arc<str>,
}

thread_local! {
    /// The validators this thread made last: a site's hot file is asked for
    /// again and again, and formatting its tag and date cost more than the
    /// rest of the response's head. Used only inside [`Validators::for_file`],
    /// which cannot switch coroutines.
    static LAST: std::cell::RefCell<Option<(FileVersion, Arc<Validators>)>> = const { std::cell::RefCell::new(None) };
}

impl Validators {
    pub fn new(version: &FileVersion, now: SystemTime) -> Validators {
        let (secs, nanos) = version.mtime;
        let modified = u64::try_from(secs).unwrap_or(0);
        let last_modified = modified.min(date::seconds_of(now));
        // Nanoseconds since the epoch, always 16 hex digits (a u64 holds
        // them until the year 2554).
        let mtime_nanos =
            u64::try_from(i128::from(secs) * 1_000_000_000 + i128::from(nanos)).unwrap_or(0);
        let opaque_tag = format!("\"{mtime_nanos:016x}-{:x}\"", version.size);
        let strong = version.settled(now);
        Validators {
            last_modified,
            etag_text: if strong {
                opaque_tag.as_str().into()
            } else {
                format!("W/{opaque_tag}").into()
            },
            opaque_tag,
            strong,
            last_modified_text: date::format_seconds_string(last_modified).into(),
        }
    }

    /// [`Validators::new`], from this thread's last ones when they are for
    /// the same version and cannot have changed since: a strong tag stays
    /// strong as time goes on, and a modification time that was not in the
    /// future stays as it is. (The same version always makes the same
    /// validators: they are made of nothing else, and of the time.)
    pub fn for_file(version: &FileVersion, now: SystemTime) -> Arc<Validators> {
        LAST.with(|last| {
            let mut last = last.borrow_mut();
            if let Some((seen, validators)) = last.as_ref() {
                let unclamped =
                    u64::try_from(version.mtime.0).ok() == Some(validators.last_modified);
                if seen == version && validators.strong && unclamped {
                    return validators.clone();
                }
            }
            let validators = Arc::new(Validators::new(version, now));
            *last = Some((*version, validators.clone()));
            validators
        })
    }

    /// The `ETag` header's value.
    pub fn etag(&self) -> Text {
        Text::Shared(self.etag_text.clone())
    }

    /// The `Last-Modified` header's value.
    pub fn last_modified_text(&self) -> Text {
        Text::Shared(self.last_modified_text.clone())
    }

    /// `If-None-Match: <tags>`: does the client already have this version?
    /// `*` or any tag equal to ours, compared weakly (`W/` ignored), as
    /// RFC 9110 asks for this header.
    pub fn none_match_fails(&self, header: &str) -> bool {
        if header.trim() == "*" {
            return true;
        }
        entity_tags(header).any(|(_, opaque)| opaque == self.opaque_tag)
    }

    /// `If-Modified-Since: <date>`: not changed since then? A value that is
    /// not a date is ignored (false), as RFC 9110 says.
    pub fn not_modified_since(&self, header: &str) -> bool {
        date::parse(header).is_some_and(|since| self.last_modified <= since)
    }

    /// `If-Range: <tag or date>`: is the file still the version the client
    /// has a part of? Only a strong comparison will do: both tags strong
    /// and equal, or the date exactly our `Last-Modified` with the file
    /// settled. If not, the client gets the whole file.
    pub fn if_range_holds(&self, header: &str) -> bool {
        let header = header.trim();
        if header.starts_with('"') || header.starts_with("W/") {
            let mut tags = entity_tags(header);
            return matches!((tags.next(), tags.next()), (Some((false, opaque)), None)
                if self.strong && opaque == self.opaque_tag);
        }
        self.strong && date::parse(header) == Some(self.last_modified)
    }
}

/// The entity tags of a list (`W/"a", "b"`): (weak, `"opaque"`) pairs, up to
/// the first malformed one.
fn entity_tags(list: &str) -> impl Iterator<Item = (bool, &str)> {
    let mut rest = list;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        let weak = rest.starts_with("W/");
        if weak {
            rest = &rest[2..];
        }
        let body = rest.strip_prefix('"')?;
        let end = body.find('"')? + 2; // the closing quote, in `rest`
        let (tag, after) = rest.split_at(end);
        rest = after;
        Some((weak, tag))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(mtime: i64, ctime: i64, size: u64) -> FileVersion {
        FileVersion {
            size,
            mtime: (mtime, 5),
            ctime: (ctime, 0),
        }
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn tags_are_weak_until_the_file_settles() {
        let old = Validators::new(&version(1000, 1000, 13), at(5000));
        assert_eq!(old.etag(), "\"000000e8d4a51005-d\"");
        assert_eq!(old.last_modified_text(), "Thu, 01 Jan 1970 00:16:40 GMT");
        let fresh = Validators::new(&version(1000, 4999, 13), at(5000));
        assert_eq!(fresh.etag(), "W/\"000000e8d4a51005-d\"");
    }

    #[test]
    fn a_modification_time_in_the_future_is_sent_as_now() {
        assert_eq!(
            Validators::new(&version(9000, 1000, 1), at(5000)).last_modified,
            5000
        );
    }

    #[test]
    fn the_last_validators_are_reused_only_while_they_hold() {
        let settled = version(1000, 1000, 13);
        let first = Validators::for_file(&settled, at(5000));
        assert_eq!(Validators::for_file(&settled, at(6000)), first);
        let other = version(1000, 1000, 14);
        assert_eq!(
            Validators::for_file(&other, at(6000)).etag(),
            "\"000000e8d4a51005-e\""
        );
        // Weak ones are made again: a second later the file has settled.
        let fresh = version(1000, 4999, 13);
        assert!(!Validators::for_file(&fresh, at(5000)).strong);
        assert!(Validators::for_file(&fresh, at(5001)).strong);
        // A modification time in the future is made again, clamped to now.
        let future = version(9000, 1000, 1);
        assert_eq!(Validators::for_file(&future, at(5000)).last_modified, 5000);
        assert_eq!(Validators::for_file(&future, at(5001)).last_modified, 5001);
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let v = Validators::new(&version(1000, 1000, 13), at(5000));
        assert!(v.none_match_fails("\"000000e8d4a51005-d\""));
        assert!(v.none_match_fails("W/\"000000e8d4a51005-d\""));
        assert!(v.none_match_fails("\"x\", W/\"000000e8d4a51005-d\""));
        assert!(v.none_match_fails(" * "));
        assert!(!v.none_match_fails("\"000000e8d4a51005-e\""));
        assert!(!v.none_match_fails("000000e8d4a51005-d"));
        assert!(!v.none_match_fails(""));
    }

    #[test]
    fn if_modified_since_takes_any_date_at_or_after_the_modification() {
        let v = Validators::new(&version(1000, 1000, 13), at(5000));
        assert!(v.not_modified_since("Thu, 01 Jan 1970 00:16:40 GMT"));
        assert!(v.not_modified_since("Thu, 01 Jan 1970 01:00:00 GMT"));
        assert!(!v.not_modified_since("Thu, 01 Jan 1970 00:16:39 GMT"));
        assert!(!v.not_modified_since("not a date"));
    }

    #[test]
    fn if_range_needs_a_strong_match() {
        let v = Validators::new(&version(1000, 1000, 13), at(5000));
        assert!(v.if_range_holds("\"000000e8d4a51005-d\""));
        assert!(!v.if_range_holds("W/\"000000e8d4a51005-d\""));
        assert!(!v.if_range_holds("\"000000e8d4a51005-d\", \"000000e8d4a51005-d\""));
        assert!(v.if_range_holds("Thu, 01 Jan 1970 00:16:40 GMT"));
        assert!(!v.if_range_holds("Thu, 01 Jan 1970 01:00:00 GMT"));
        let fresh = Validators::new(&version(1000, 4999, 13), at(5000));
        assert!(!fresh.if_range_holds("\"000000e8d4a51005-d\""));
        assert!(!fresh.if_range_holds("Thu, 01 Jan 1970 00:16:40 GMT"));
    }
}
