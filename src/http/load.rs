//! Paths that cost time on purpose, for the models to show who else is
//! served meanwhile:
//!
//! * `/work?ms=N` computes for N milliseconds of CPU time (a hash, over
//!   and over) before it answers: CPU-bound work, which every server of
//!   the site answers ([`Site::respond`] asks [`respond_work`] first). A
//!   model that runs requests on one thread serialises them behind it.
//! * `/slow?ms=N` waits N milliseconds the way the server hands it (a
//!   handler waiting on a slow database or another service): only a server
//!   that asks for it ([`super::serve_site_with_slow_path`]) answers it;
//!   every other path goes to [`Site::respond_and_log`].

use super::request::Request;
use super::response::Response;
use super::site::{log_access, Site};
use std::io::Write;
use std::time::Duration;

/// The path that waits.
pub const SLOW_PATH: &str = "/slow";
/// The longest wait `/slow?ms=N` accepts.
pub const SLOW_MAX_MS: u64 = 60_000;

/// The path that computes.
pub const WORK_PATH: &str = "/work";
/// The most CPU time one `/work?ms=N` may take.
pub const WORK_MAX_MS: u64 = 1_000;

/// The answer to `GET /work?ms=N`, if this is one: N milliseconds (at most
/// [`WORK_MAX_MS`]) of this thread's CPU time spent hashing, then `worked N
/// ms`; a 400 when N is not such a number. CPU time, not wall
/// time: on a busy machine the work takes longer but costs the same.
pub fn respond_work(request: &Request) -> Option<Response> {
    if request.path != WORK_PATH || request.method != "GET" {
        return None;
    }
    let Some(ms) = ms_in(&request.query, WORK_MAX_MS) else {
        return Some(Response::error(400));
    };
    std::hint::black_box(work_for(Duration::from_millis(ms)));
    let body = format!("worked {ms} ms\n");
    Some(Response::new(200).with_body(body.into_bytes(), "text/plain"))
}

/// Hash until this thread has used `cpu` of CPU time; return the hash (so
/// that the work cannot be optimised away).
pub fn work_for(cpu: Duration) -> u64 {
    let start = thread_cpu_time();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    loop {
        // FNV-1a over a few thousand bytes between looks at the clock.
        for byte in 0..4096u32 {
            hash ^= u64::from(byte as u8);
            hash = std::hint::black_box(hash.wrapping_mul(0x0000_0100_0000_01b3));
        }
        if thread_cpu_time().saturating_sub(start) >= cpu {
            return hash;
        }
    }
}

/// CPU time this thread has used (CLOCK_THREAD_CPUTIME_ID).
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the call to fill;
    // this clock exists on every Linux, and on failure `now` stays zero.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// The N of `ms=N` in a query, if it is a whole number up to `max`.
pub fn ms_in(query: &str, max: u64) -> Option<u64> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("ms="))
        .and_then(|n| n.parse().ok())
        .filter(|&ms| ms <= max)
}

/// [`Site::respond_and_log`], with one more path: `/slow?ms=N` waits N
/// milliseconds (at most [`SLOW_MAX_MS`]) by calling `sleep`, then answers
/// `slept N ms`; a wait that is not such a number is a 400. Unless `quiet`,
/// a line says when the wait begins, and the access-log line when it is
/// answered.
pub fn respond_slow_and_log(
    site: &Site,
    request: &Request,
    quiet: bool,
    sleep: impl FnOnce(Duration),
) -> Response {
    if request.path != SLOW_PATH {
        return site.respond_and_log(request, quiet);
    }
    let response = match ms_in(&request.query, SLOW_MAX_MS) {
        Some(ms) => {
            if !quiet {
                let _ = writeln!(
                    std::io::stdout().lock(),
                    "\"{} {}\" sleeping {ms} ms",
                    request.method,
                    request.target
                );
            }
            // A sleep that switches coroutines must not hold the file
            // cache's batch open (see `fast::BatchGuard`).
            super::fast::outside_batch(|| sleep(Duration::from_millis(ms)));
            Response::new(200).with_body(format!("slept {ms} ms\n").into_bytes(), "text/plain")
        }
        None => Response::error(400),
    };
    if !quiet {
        log_access(request, &response);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_takes_the_cpu_time_asked_for() {
        let start = thread_cpu_time();
        work_for(Duration::from_millis(30));
        assert!(thread_cpu_time() - start >= Duration::from_millis(30));
    }

    #[test]
    fn a_wait_is_a_bounded_whole_number_of_milliseconds() {
        assert_eq!(ms_in("ms=250", SLOW_MAX_MS), Some(250));
        assert_eq!(ms_in("x=1&ms=0", SLOW_MAX_MS), Some(0));
        for query in ["", "ms=", "ms=abc", "ms=-1", "ms=1.5", "ms=60001"] {
            assert_eq!(ms_in(query, SLOW_MAX_MS), None, "{query}");
        }
    }
}
