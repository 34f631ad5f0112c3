//! The `Date` header every response carries (RFC 9110 says an origin
//! server with a clock MUST send it), formatted at most once a second.
//!
//! Formatting an HTTP-date (`Sun, 06 Dec 2026 19:52:07 GMT`) takes a
//! calendar computation; reading the clock does not (`clock_gettime` runs
//! in the vDSO, without a syscall). So each thread keeps the text of the
//! current second and formats a new one only when the second changes, as
//! nginx and hyper do: at 50,000 requests a second, one format in 50,000.
//!
//! The cache is a thread-local, used only between two reads of the clock in
//! [`write_now`]: nothing in it can switch coroutines, so a `may` coroutine
//! that moves to another thread only finds that thread's own cache.

use nix::time::{clock_gettime, ClockId};
use std::cell::Cell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An IMF-fixdate is always 29 bytes: `Sun, 06 Nov 1994 08:49:37 GMT`.
pub const HTTP_DATE_LEN: usize = 29;

thread_local! {
    /// The second last formatted, and its text.
    static CACHED: Cell<(u64, [u8; HTTP_DATE_LEN])> = const { Cell::new((u64::MAX, [0; HTTP_DATE_LEN])) };
}

/// Seconds since the epoch, now (0 for a clock set before 1970).
pub fn unix_now() -> u64 {
    seconds_of(now())
}

/// The time now, as of the kernel's last clock tick (a few milliseconds
/// ago at most): `CLOCK_REALTIME_COARSE` is a value the kernel stores
/// every tick, read from the vDSO without the arithmetic that
/// `SystemTime::now` does to be exact to the nanosecond. A `Date` needs the
/// second, and every response asks. The kernel stamps a file's times from
/// the same coarse clock, so a file's age measured with it is never more
/// than it really is.
pub fn now() -> SystemTime {
    match clock_gettime(ClockId::CLOCK_REALTIME_COARSE) {
        Ok(time) => match (u64::try_from(time.tv_sec()), u32::try_from(time.tv_nsec())) {
            (Ok(secs), Ok(nanos)) => UNIX_EPOCH + Duration::new(secs, nanos),
            _ => UNIX_EPOCH,
        },
        Err(_) => SystemTime::now(),
    }
}

/// Seconds since the epoch of `time` (0 before 1970).
pub fn seconds_of(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// Append the current time as an HTTP-date to `out`.
pub fn write_now(out: &mut Vec<u8>) {
    out.extend_from_slice(&text_of_second(unix_now()));
}

/// The HTTP-date of second `secs`: from this thread's cache if it is the
/// second last asked for, formatted (and cached) if not.
pub fn text_of_second(secs: u64) -> [u8; HTTP_DATE_LEN] {
    let (cached_secs, text) = CACHED.get();
    if cached_secs == secs {
        return text;
    }
    let text = format_seconds(secs);
    CACHED.set((secs, text));
    text
}

/// Format second `secs` as an HTTP-date, without the cache.
pub fn format_seconds(secs: u64) -> [u8; HTTP_DATE_LEN] {
    let time = UNIX_EPOCH + Duration::from_secs(secs);
    let mut text = [b' '; HTTP_DATE_LEN];
    let formatted = httpdate::fmt_http_date(time);
    let n = formatted.len().min(HTTP_DATE_LEN);
    text[..n].copy_from_slice(&formatted.as_bytes()[..n]);
    text
}

/// The HTTP-date of second `secs`, as a `String` (for `Last-Modified`).
pub fn format_seconds_string(secs: u64) -> String {
    String::from_utf8_lossy(&format_seconds(secs)).into_owned()
}

/// Parse an HTTP-date in any of the three formats RFC 9110 lets a client
/// send; seconds since the epoch, or `None` if it is not one.
pub fn parse(text: &str) -> Option<u64> {
    httpdate::parse_http_date(text.trim()).ok().map(seconds_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_formats_parse_and_one_is_sent() {
        let secs = 784_111_777; // RFC 9110's example
        assert_eq!(&format_seconds(secs), b"Sun, 06 Nov 1994 08:49:37 GMT");
        for text in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ] {
            assert_eq!(parse(text), Some(secs), "{text}");
        }
        assert_eq!(parse("yesterday"), None);
    }

    #[test]
    fn the_cache_gives_each_second_its_own_text() {
        assert_eq!(text_of_second(784_111_777), format_seconds(784_111_777));
        assert_eq!(text_of_second(784_111_777), format_seconds(784_111_777));
        assert_eq!(text_of_second(784_111_778), format_seconds(784_111_778));
        let mut out = Vec::new();
        write_now(&mut out);
        assert_eq!(
            parse(std::str::from_utf8(&out).unwrap()).map(|s| s.abs_diff(unix_now()) <= 1),
            Some(true)
        );
    }
}
