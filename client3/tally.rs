//! Counting what happened to the connections, passing the counts from each
//! client process to the parent, and printing the summary.
//!
//! Every client process fills in one [`Tally`], sends it to the parent as one
//! short line of text through a pipe ([`Tally::to_line`]), and the parent adds
//! them all up ([`Tally::add`]) and prints the result ([`print_summary`]).

use nix::errno::Errno;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

/// The syscall a connection failed in. It tells the story: `socket()` failing
/// is client3's own problem, `connect()` failing means it never reached the
/// server, and `send()`/`read()` failing happened after the server answered
/// the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    Socket,
    Connect,
    Send,
    Read,
}

impl Stage {
    const ALL: [Stage; 4] = [Stage::Socket, Stage::Connect, Stage::Send, Stage::Read];

    fn name(self) -> &'static str {
        match self {
            Stage::Socket => "socket",
            Stage::Connect => "connect",
            Stage::Send => "send",
            Stage::Read => "read",
        }
    }

    fn from_name(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|stage| stage.name() == name)
    }

    /// Did the connection exist when this stage failed?
    fn after_connecting(self) -> bool {
        matches!(self, Stage::Send | Stage::Read)
    }
}

/// What happened to the connections of one client, or of all of them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    /// Connections we tried to open.
    pub attempted: u64,
    /// Connections whose handshake completed (`connect()` succeeded).
    pub established: u64,
    /// Complete HTTP responses read (status line, headers and body).
    pub responses: u64,
    /// Connections the server closed: read() returned 0 (end of file).
    pub eof: u64,
    /// Connections still open, with no EOF, when the read timeout ran out.
    pub hung: u64,
    /// Failures by the syscall they happened in and errno (kept as its
    /// number, because nix's Errno cannot be sorted).
    errors: BTreeMap<(Stage, i32), u64>,
}

impl Tally {
    pub fn count_error(&mut self, stage: Stage, errno: Errno) {
        *self.errors.entry((stage, errno as i32)).or_default() += 1;
    }

    /// Connections that were never established (socket or connect failed).
    pub fn failed(&self) -> u64 {
        self.errors_where(|stage| !stage.after_connecting())
            .iter()
            .map(|(_, n)| n)
            .sum()
    }

    /// Established connections that failed later (send or read).
    pub fn failed_later(&self) -> u64 {
        self.errors_where(Stage::after_connecting)
            .iter()
            .map(|(_, n)| n)
            .sum()
    }

    /// The failures in the stages `keep` selects, with their counts.
    fn errors_where(&self, keep: impl Fn(Stage) -> bool) -> Vec<((Stage, Errno), u64)> {
        self.errors
            .iter()
            .filter(|((stage, _), _)| keep(*stage))
            .map(|((stage, errno), n)| ((*stage, Errno::from_raw(*errno)), *n))
            .collect()
    }

    /// The most frequent reason connections could not be established.
    pub fn main_connect_error(&self) -> Option<Errno> {
        self.errors_where(|stage| !stage.after_connecting())
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .map(|((_, errno), _)| errno)
    }

    /// Add another client's counts to these.
    pub fn add(&mut self, other: &Tally) {
        self.attempted += other.attempted;
        self.established += other.established;
        self.responses += other.responses;
        self.eof += other.eof;
        self.hung += other.hung;
        for (key, n) in &other.errors {
            *self.errors.entry(*key).or_default() += n;
        }
    }

    /// The report a client sends to the parent: one line such as
    /// `attempted=3 established=3 responses=3 eof=2 hung=0 errors=read:104:1`.
    ///
    /// Errnos travel as numbers. A client meets only a few distinct errnos,
    /// so the line stays far below PIPE_BUF (4096 bytes on Linux), the size up
    /// to which a write(2) to a pipe is atomic: lines from clients writing at
    /// the same moment can never interleave.
    pub fn to_line(&self) -> String {
        let errors: Vec<String> = self
            .errors
            .iter()
            .map(|((stage, errno), n)| format!("{}:{errno}:{n}", stage.name()))
            .collect();
        format!(
            "attempted={} established={} responses={} eof={} hung={} errors={}\n",
            self.attempted,
            self.established,
            self.responses,
            self.eof,
            self.hung,
            errors.join(",")
        )
    }

    /// Read back a line made by [`Tally::to_line`]; `None` if it is garbled.
    pub fn from_line(line: &str) -> Option<Tally> {
        let mut tally = Tally::default();
        for field in line.split_whitespace() {
            let (key, value) = field.split_once('=')?;
            match key {
                "attempted" => tally.attempted = value.parse().ok()?,
                "established" => tally.established = value.parse().ok()?,
                "responses" => tally.responses = value.parse().ok()?,
                "eof" => tally.eof = value.parse().ok()?,
                "hung" => tally.hung = value.parse().ok()?,
                "errors" => {
                    for item in value.split(',').filter(|item| !item.is_empty()) {
                        let mut parts = item.split(':');
                        let stage = Stage::from_name(parts.next()?)?;
                        let errno: i32 = parts.next()?.parse().ok()?;
                        let n: u64 = parts.next()?.parse().ok()?;
                        *tally.errors.entry((stage, errno)).or_default() += n;
                    }
                }
                _ => return None,
            }
        }
        Some(tally)
    }
}

/// What the run was asked to do, for the summary's header line.
pub struct Plan<'a> {
    pub clients: u64,
    pub conns_per_client: u64,
    pub target: &'a str,
    /// `None`: responses were not read (--read-timeout 0).
    pub read_timeout: Option<Duration>,
}

/// How the client processes themselves fared.
pub struct ClientsFate {
    pub started: u64,
    pub reported: u64,
}

/// Print the summary on stdout, in a form a student can read at a glance:
///
/// ```text
/// client3: 128 clients x 1 connection to 127.0.0.1:8888
/// connections attempted:  128
/// established:            128
/// failed:                 0
/// responses received:     128
/// closed by server (EOF): 128
/// hung (no EOF in 2s):    0
/// ```
pub fn print_summary(plan: &Plan, clients: &ClientsFate, total: &Tally) {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "client3: {} x {} to {}",
        plural(plan.clients, "client"),
        plural(plan.conns_per_client, "connection"),
        plan.target
    );
    if clients.started < plan.clients {
        line(
            &mut out,
            "clients started:",
            format!("{} of {}", clients.started, plan.clients),
        );
    }
    if clients.reported < clients.started {
        let lost = clients.started - clients.reported;
        line(
            &mut out,
            "clients lost:",
            format!("{lost} (exited without reporting)"),
        );
    }
    line(&mut out, "connections attempted:", total.attempted);
    line(&mut out, "established:", total.established);
    line(&mut out, "failed:", total.failed());
    breakdown(&mut out, total, |stage| !stage.after_connecting());
    match plan.read_timeout {
        Some(timeout) => {
            line(&mut out, "responses received:", total.responses);
            line(&mut out, "closed by server (EOF):", total.eof);
            line(
                &mut out,
                &format!("hung (no EOF in {timeout:?}):"),
                total.hung,
            );
        }
        None => {
            line(
                &mut out,
                "responses received:",
                "not read (--read-timeout 0)",
            );
            line(&mut out, "closed by server (EOF):", "not read");
            line(&mut out, "hung:", "not read");
        }
    }
    if total.failed_later() > 0 {
        line(&mut out, "errors after connecting:", total.failed_later());
        breakdown(&mut out, total, Stage::after_connecting);
    }
    // Not print!: it panics if stdout is closed (`client3 | head -1`).
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}

/// `label:` padded so the values line up in one column.
fn line(out: &mut String, label: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "{label:<23} {value}");
}

/// One indented line per (syscall, errno), biggest first:
/// `  ECONNREFUSED:         3   in connect(): nothing is listening`.
fn breakdown(out: &mut String, total: &Tally, keep: impl Fn(Stage) -> bool) {
    let mut rows = total.errors_where(keep);
    rows.sort_by_key(|((stage, errno), n)| (std::cmp::Reverse(*n), *stage, *errno as i32));
    for ((stage, errno), n) in rows {
        // `{:?}` of an Errno is its symbolic name (ECONNREFUSED); that, not
        // the libc description, is what man pages and students search for.
        let label = format!("  {errno:?}:");
        let why = why(stage, errno)
            .map(|why| format!(": {why}"))
            .unwrap_or_default();
        let _ = writeln!(out, "{label:<23} {n:<4} in {}(){why}", stage.name());
    }
}

/// A short reason for the errnos students meet in this lab.
fn why(stage: Stage, errno: Errno) -> Option<&'static str> {
    Some(match (stage, errno) {
        (Stage::Socket, Errno::EMFILE) => {
            "client3's own open-file limit; fewer --max-conns per client"
        }
        (Stage::Connect, Errno::ECONNREFUSED) => "nothing is listening (has the server died?)",
        (Stage::Connect, Errno::ETIMEDOUT) => {
            "no answer within --connect-timeout (listen queue full?)"
        }
        (Stage::Connect, Errno::EADDRNOTAVAIL) => {
            "client3 ran out of local ports (too many connections open at once)"
        }
        (Stage::Send, Errno::EPIPE) => "the server had already closed the connection",
        (_, Errno::ECONNRESET) => "the server reset the connection",
        _ => return None,
    })
}

/// `1 client`, `128 clients`.
pub fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_line_reads_back_to_the_same_tally() {
        let mut tally = Tally {
            attempted: 5,
            established: 4,
            responses: 3,
            eof: 2,
            hung: 1,
            ..Tally::default()
        };
        tally.count_error(Stage::Connect, Errno::ECONNREFUSED);
        tally.count_error(Stage::Read, Errno::ECONNRESET);
        tally.count_error(Stage::Read, Errno::ECONNRESET);
        let line = tally.to_line();
        assert!(line.ends_with('\n') && line.len() < 4096, "{line:?}");
        assert_eq!(Tally::from_line(&line), Some(tally));
    }

    #[test]
    fn garbled_lines_are_rejected() {
        assert_eq!(Tally::from_line("attempted=x"), None);
        assert_eq!(Tally::from_line("bogus=1"), None);
        assert_eq!(Tally::from_line("errors=fly:1:1"), None);
    }

    #[test]
    fn failures_before_and_after_connecting_are_counted_apart() {
        let mut tally = Tally::default();
        tally.count_error(Stage::Socket, Errno::EMFILE);
        tally.count_error(Stage::Connect, Errno::ECONNREFUSED);
        tally.count_error(Stage::Connect, Errno::ECONNREFUSED);
        tally.count_error(Stage::Send, Errno::EPIPE);
        assert_eq!(tally.failed(), 3);
        assert_eq!(tally.failed_later(), 1);
        assert_eq!(tally.main_connect_error(), Some(Errno::ECONNREFUSED));
    }
}
