//! Paths that cost time on purpose, for the models to show who else is
//! served meanwhile: `/slow?ms=N` waits N milliseconds the way the server
//! hands it (a handler waiting on a slow database or another service).
//!
//! They are not part of the site: only a server that asks for them
//! ([`super::serve_site_with_slow_path`]) answers them; every other path
//! goes to [`Site::respond_and_log`].

use super::request::Request;
use super::response::Response;
use super::site::{access_log_line, Site};
use std::io::Write;
use std::time::Duration;

/// The path that waits.
pub const SLOW_PATH: &str = "/slow";
/// The longest wait `/slow?ms=N` accepts.
pub const SLOW_MAX_MS: u64 = 60_000;

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
        let _ = writeln!(
            std::io::stdout().lock(),
            "{}",
            access_log_line(request, &response)
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_is_a_bounded_whole_number_of_milliseconds() {
        assert_eq!(ms_in("ms=250", SLOW_MAX_MS), Some(250));
        assert_eq!(ms_in("x=1&ms=0", SLOW_MAX_MS), Some(0));
        for query in ["", "ms=", "ms=abc", "ms=-1", "ms=1.5", "ms=60001"] {
            assert_eq!(ms_in(query, SLOW_MAX_MS), None, "{query}");
        }
    }
}
