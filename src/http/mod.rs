//! The HTTP that Part 4's servers share, so that each model's binary shows
//! only its concurrency model.
//!
//! * [`request`] parses a request with `httparse` (split reads, pipelining,
//!   limits, percent-decoding).
//! * [`response`] builds the status line and headers.
//! * [`site`] maps a path to a file inside the site root, never outside.
//! * [`file_response`] answers for a file as real servers do: validators,
//!   `304 Not Modified`, ranges (with [`validators`], [`range`] and the
//!   `Date` of [`date`], which every response carries).
//! * [`session`] is one connection's state: bytes in, responses out,
//!   keep-alive or close; [`serve_blocking`] drives it over a blocking socket.
//! * [`text`] holds the words of a head (method, path, header names and
//!   values) without a heap allocation for each.
//!
//! [`load`] has the paths that cost time on purpose (`/slow?ms=N`), for
//! the models to show who else is served meanwhile.
//!
//! [`fast`] is speed, not a lesson: the same answers as [`site`], cheaper
//! (files opened with `openat2(2)`, kept in memory and checked on every
//! request), for the benchmarks. Its doc lists what the rest relies on.

pub mod date;
pub mod fast;
pub mod file_response;
pub mod load;
pub mod range;
pub mod request;
pub mod response;
pub mod session;
pub mod site;
pub mod text;
pub mod validators;

pub use request::{parse_request, Limits, Parse, Request};
pub use response::{Body, Response};
pub use session::{serve_blocking, serve_site, serve_site_with_slow_path, Session};
pub use site::Site;
pub use text::Text;
