//! The book's transcripts and step diffs must not drift from the code.
//!
//! Every "what you will see" block in the book is a file in
//! `book/src/output/`, written by `book/record` from a real run, and every
//! step diff is a file in `book/src/diffs/`. This test records them all
//! again into a scratch folder and compares:
//!
//! * step diffs byte for byte (they are generated from the sources);
//! * transcripts after normalising, on both sides, what differs from one
//!   honest run to the next: pids, ports, times, dates, speeds, machine-wide
//!   counters, and the few counts that depend on timing (how the failures of
//!   a burst split between refused and reset connections). See [`RULES`]
//!   and [`LINE_RULES`]; what is left must match.
//!
//! ```console
//! $ book/record --check          # the same as the next line
//! $ cargo test --test transcripts -- --include-ignored
//! ```
//!
//! The full check runs the experiments (about 45 s) and needs the tools the
//! experiments use (curl, nc, strace, ps, nstat, setpriv), so it is
//! `#[ignore]`d in a plain `cargo test`; CI runs it. The normaliser's own
//! tests, and the check that every transcript is included by a chapter and
//! every step diff is current, run in a plain `cargo test`.
//!
//! `BOOK_RECORD_PATTERNS="3f 4c"` limits the full check to the experiments
//! whose names contain one of the patterns.

use regex::{Captures, Regex};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ---- the normaliser ------------------------------------------------------------

/// A substitution applied to every line of the transcripts whose file name
/// starts with `files` (`""`: every transcript).
struct Rule {
    files: &'static str,
    pattern: &'static str,
    replace: Replace,
}

enum Replace {
    /// A fixed replacement (`$1` refers to a group).
    With(&'static str),
    /// A duration in seconds, in the group named `secs` (or `min` and
    /// `secs`): replaced by its class, so that "the second client waited
    /// seconds" and "the first did not" stay checked while the exact
    /// numbers may vary.
    Duration,
    /// CPU time used in a while: `ticks` (of 10 ms) in `secs` seconds,
    /// replaced by its class: a server that spins (a quarter of a core or
    /// more) or one that sleeps.
    CpuShare,
    /// A share of a core in percent, in the group `pct`: the same classes.
    CorePercent,
}

use Replace::{CorePercent, CpuShare, Duration, With};

/// Durations under this many seconds are `<short>`, the others `<long>`.
/// Every experiment either waits a second or more, or not at all.
const LONG: f64 = 0.5;

/// What varies from run to run, in the order applied.
const RULES: &[Rule] = &[
    // Ports: the server's (the kernel picks it), clients' ephemeral ports,
    // FTP's passive ports.
    Rule {
        files: "",
        pattern: r"PORT=\d+",
        replace: With("PORT=<PORT>"),
    },
    Rule {
        files: "",
        pattern: r"(127\.0\.0\.1|localhost):\d+",
        replace: With("$1:<PORT>"),
    },
    Rule {
        files: "",
        pattern: r"\b([Pp]ort) \d+",
        replace: With("$1 <PORT>"),
    },
    Rule {
        files: "",
        pattern: r"\(\|\|\|\d+\|\)",
        replace: With("(|||<PORT>|)"),
    },
    Rule {
        files: "",
        pattern: r"\(127,0,0,1,\d+,\d+\)",
        replace: With("(127,0,0,1,<P1>,<P2>)"),
    },
    // Pids, wherever a program prints one.
    Rule {
        files: "",
        pattern: r"PID=\d+",
        replace: With("PID=<PID>"),
    },
    Rule {
        files: "",
        pattern: r"\[pid +\d+\]",
        replace: With("[pid <PID>]"),
    },
    Rule {
        files: "",
        pattern: r"(Child PID:|Parent PID) \d+",
        replace: With("$1 <PID>"),
    },
    Rule {
        files: "",
        pattern: r"Process \d+ (attached|detached)",
        replace: With("Process <PID> $1"),
    },
    Rule {
        files: "",
        pattern: r"si_pid=\d+",
        replace: With("si_pid=<PID>"),
    },
    Rule {
        files: "",
        pattern: r"si_uid=\d+",
        replace: With("si_uid=<UID>"),
    },
    Rule {
        files: "",
        pattern: r"si_([us])time=\d+",
        replace: With("si_${1}time=<T>"),
    },
    Rule {
        files: "",
        pattern: r"^(wait4\(.*\) += )\d+$",
        replace: With("$1<PID>"),
    },
    // Times.
    Rule {
        files: "",
        pattern: r"after (?<secs>\d+(\.\d+)?) s\b",
        replace: Duration,
    },
    Rule {
        files: "",
        pattern: r"\bin (?<secs>\d+\.\d+) s\b",
        replace: Duration,
    },
    Rule {
        files: "",
        pattern: r"\([\d.]+ (KiB|MiB|GiB)/s\)",
        replace: With("(<SPEED> $1/s)"),
    },
    // How long a burst against a listen queue of 5 takes depends on how many
    // SYNs the kernel dropped (the recording retries until some were).
    Rule {
        files: "webserver3f-backlog",
        pattern: r"^real\t\d+m[\d.]+s$",
        replace: With("real\t<TIME>"),
    },
    Rule {
        files: "",
        pattern: r"^real\t(?<min>\d+)m(?<secs>[\d.]+)s$",
        replace: Duration,
    },
    Rule {
        files: "",
        pattern: r"^(user|sys)\t\d+m[\d.]+s$",
        replace: With("$1\t<TIME>"),
    },
    // HTTP-dates (Date, Last-Modified) and the ETags made of a file's
    // modification time (its size, the last part, stays checked).
    Rule {
        files: "",
        pattern: r"\b[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT\b",
        replace: With("<HTTP-DATE>"),
    },
    Rule {
        files: "",
        pattern: r#""[0-9a-f]{16}-([0-9a-f]+)""#,
        replace: With("\"<MTIME>-$1\""),
    },
    Rule {
        files: "",
        pattern: r"\b[A-Z][a-z]{2} [ \d]\d \d\d:\d\d\b",
        replace: With("<DATE>"),
    },
    // Versions of the tools.
    Rule {
        files: "",
        pattern: r"curl/[\d.]+",
        replace: With("curl/<VERSION>"),
    },
    // curl's progress meter: sizes stay, speeds and times go.
    Rule {
        files: "",
        pattern: r"^(\s*\d+\s+\d+\s+\d+\s+\d+\s+\d+\s+\d+)\s+\d+\s+\d+\s+[-:\d]+\s+[-:\d]+\s+[-:\d]+\s+\d+",
        replace: With("$1 <SPEED> <SPEED> <TIME> <TIME> <TIME> <SPEED>"),
    },
    // io_uring's account of a ring (/proc/PID/fdinfo): how many entries and
    // completions a load took depends on how the completions bunched up.
    Rule {
        files: "webserver4v-",
        pattern: r"^(SqTail|CqTail):\t\d+$",
        replace: With("$1:\t<COUNT>"),
    },
    // strace -c: how many calls and how long they took vary; whether every
    // call failed (errors == calls) is the lesson, and `strace_counts`
    // keeps it.
    // A machine-wide counter of the kernel: other programs add to it.
    Rule {
        files: "",
        pattern: r"^(TcpExt\w+)\s+\d+\s+[\d.]+$",
        replace: With("$1 <COUNT>"),
    },
    // A burst of 128 against a listen queue of 5: how many clients are
    // turned away wave after wave until client3 stops waiting (30 s) varies
    // from run to run, from none to dozens. Every one is established.
    Rule {
        files: "webserver3f-backlog5",
        pattern: r"^(responses received|closed by server \(EOF\)|hung \(no EOF in 30s\)):( +)\d+$",
        replace: With("$1:$2<COUNT>"),
    },
    // A burst of 128 leaves some zombies behind in 3f: how many varies.
    Rule {
        files: "webserver3f-burst",
        pattern: r"^\d+$",
        replace: With("<COUNT>"),
    },
    // When a server dies of EMFILE or EAGAIN, how the clients it did not
    // serve split between refused (connected after it was gone) and reset
    // (still queued) depends on timing. How many it served does not.
    Rule {
        files: "webserver3d-e",
        pattern: r"^(established|failed):( +)\d+$",
        replace: With("$1:$2<COUNT>"),
    },
    // When fork fails, the connection it was for is closed as the server
    // dies: the client sees EOF, or a reset if its request had arrived.
    Rule {
        files: "webserver3d-eagain",
        pattern: r"^(closed by server \(EOF\)):( +)\d+$",
        replace: With("$1:$2<COUNT>"),
    },
    // 4s closes the connections past FD_SETSIZE as it accepts them: a client
    // whose request had arrived sees a reset, one whose had not sees EOF.
    // How many got their answer (the descriptors below 1024) stays checked.
    Rule {
        files: "webserver4s-fd-setsize",
        pattern: r"^(closed by server \(EOF\)):( +)\d+$",
        replace: With("$1:$2<COUNT>"),
    },
    // The CGI environment: the ports again, and the length of a page that
    // prints them (and the paths below).
    Rule {
        files: "",
        pattern: r#"\b(REMOTE|SERVER)_PORT = (['"])\d+(['"])"#,
        replace: With("${1}_PORT = $2<PORT>$3"),
    },
    Rule {
        files: "part2-cgi-demo",
        pattern: r"^Content-Length: \d+$",
        replace: With("Content-Length: <N>"),
    },
    // Where the repository and Python are on this machine.
    Rule {
        files: "",
        pattern: r"/[^\s'\x22:]*/bin/python3(\.\d+)?\b",
        replace: With("<PYTHON>"),
    },
    Rule {
        files: "",
        pattern: r"/[^\s'\x22:]*/(examples|target|bins|site|book)/",
        replace: With("<REPO>/$1/"),
    },
    // A server's own report of itself.
    Rule {
        files: "",
        pattern: r#""(pid|uptime_seconds)":\d+"#,
        replace: With("\"$1\":<N>"),
    },
    // Threads under CPU-bound work (4f's workers, 4g's loops): their ids
    // vary, and so does how two threads split the work (may's stealing,
    // the kernel's hash of each connection); tests/coroutines.rs and
    // tests/cores.rs assert who computed. Kept: which threads there are.
    Rule {
        files: "part4-4",
        pattern: r"^\d+ \((webserver4[fg]|loop-\d+)\) \d+\.\d+ s of CPU$",
        replace: With("<TID> ($1) <CPU> s of CPU"),
    },
    // Clients started together finish in an order that varies.
    Rule {
        files: "",
        pattern: r"^client \d+: ",
        replace: With("client <N>: "),
    },
    Rule {
        files: "",
        pattern: r"^client <N>: (?<secs>\d+\.\d+) s$",
        replace: Duration,
    },
    // cargo's own timings, and the lab's.
    Rule {
        files: "",
        pattern: r"target\(s\) in [\d.]+m?s$",
        replace: With("target(s) in <TIME>"),
    },
    Rule {
        files: "",
        pattern: r"\b\d+ ms\b",
        replace: With("<N> ms"),
    },
    // Scratch folders named after the pid that made them.
    Rule {
        files: "",
        pattern: r"(/tmp/lsbaws-[A-Za-z-]+)-\d+-",
        replace: With("$1-<PID>-"),
    },
    // Which process or thread served a connection.
    Rule {
        files: "",
        pattern: r"\b(pid|thread) \d+\b",
        replace: With("$1 <PID>"),
    },
    // curl's timeout, to the millisecond.
    Rule {
        files: "",
        pattern: r"after \d+ milliseconds",
        replace: With("after <N> milliseconds"),
    },
    // Part 4's event loops: how much CPU a server used while watched, its
    // memory, the ports strace shows, /proc paths with a pid in them.
    Rule {
        files: "",
        pattern: r"CPU in (?<secs>\d+) s: (?<ticks>\d+) ticks",
        replace: CpuShare,
    },
    Rule {
        files: "",
        pattern: r"^(VmRSS|VmSize|VmHWM):(\s+)\d+ kB$",
        replace: With("$1:$2<N> kB"),
    },
    Rule {
        files: "",
        pattern: r"htons\(\d+\)",
        replace: With("htons(<PORT>)"),
    },
    Rule {
        files: "",
        pattern: r"/proc/\d+/",
        replace: With("/proc/<PID>/"),
    },
    // The lab's CPU measurements: how much a server wanted and got.
    Rule {
        files: "lab-",
        pattern: r"wanted \d+(\.\d+)?(ms|s|µs) of CPU",
        replace: With("wanted <TIME> of CPU"),
    },
    Rule {
        files: "lab-",
        pattern: r"got \d+(\.\d+)?(ms|s|µs)\b",
        replace: With("got <TIME>"),
    },
    Rule {
        files: "lab-",
        pattern: r"(?<pct>\d+)% of a core",
        replace: CorePercent,
    },
    // How long the check watched an idle server: a second, and a little
    // more when the machine is busy.
    Rule {
        files: "lab-",
        pattern: r"idle for \d+(\.\d+)?s\b",
        replace: With("idle for <TIME>"),
    },
    // webserver2's CGI child half a second after it started: asleep in its
    // sleep, or on a busy machine still running Python's start-up. That
    // there is one child at a time is the lesson; its state is not.
    Rule {
        files: "part2-webserver",
        pattern: r"^(\s*\d+ +)[RS](\s)",
        replace: With("${1}<R|S>$2"),
    },
    // The swap race of ftp-confine: which request lost it depends on timing.
    Rule {
        files: "lab-check-ftp-confine",
        pattern: r"request \d+ sent the secret \(before it: \d+ sent the file inside, \d+ refused\)",
        replace: With(
            "request <N> sent the secret (before it: <N> sent the file inside, <N> refused)",
        ),
    },
    // A crowd of 100 clients against `ulimit -n 64`: how many got in at once
    // depends on timing; which answer they got (200 or 503) does not.
    Rule {
        files: "part4-4",
        pattern: r"answered at once: \d+ \{'([^']*)': \d+\}",
        replace: With("answered at once: <N> {'$1': <N>}"),
    },
    Rule {
        files: "part4-4",
        pattern: r"^the \d+ answered clients left$",
        replace: With("the <N> answered clients left"),
    },
    // Waiting clients are served once descriptors free up, but one may come
    // in while the server has none left to open its file with (503).
    Rule {
        files: "part4-4",
        pattern: r"^the \d+ waiting clients: \{.*\} within [\d.]+ s$",
        replace: With("the <N> waiting clients: {<STATUSES>} within <TIME> s"),
    },
    // The sizes of reads and writes under strace, where a send buffer fills.
    Rule {
        files: "part4-4e-partial-write",
        pattern: r#"^(read|write)\((\d+), ("")?(\.\.\.)?, ?\d+\)\s+= \d+$"#,
        replace: With("$1($2, <BUF>, <N>) = <N>"),
    },
    Rule {
        files: "part4-4e-partial-write",
        pattern: r#"^write\((\d+), ""\.\.\., \d+\)\s+= -1 EAGAIN"#,
        replace: With("write($1, <BUF>, <N>) = -1 EAGAIN"),
    },
    // 4f at EMFILE: most connected clients get their file, a few may not.
    Rule {
        files: "part4-4f-emfile",
        pattern: r"answered at once: (\d+|<N>) \{.*\}$",
        replace: With("answered at once: <N> {<STATUSES>}"),
    },
    Rule {
        files: "part4-4e-emfile",
        pattern: r"answered at once: (\d+|<N>) \{.*\}$",
        replace: With("answered at once: <N> {<STATUSES>}"),
    },
    // The stats endpoint's answer holds the server's pid and uptime: its
    // length varies with their digits.
    Rule {
        files: "toolkit-httpserver2",
        pattern: r#"("GET /api/stats HTTP/1\.1" 200) \d+"#,
        replace: With("$1 <N>"),
    },
    // Memory per parked coroutine or thread: which pages the allocator and
    // the kernel hand out varies a little from run to run.
    Rule {
        files: "coroutines-stack",
        pattern: r"\+\d+\.\d KiB each",
        replace: With("+<N> KiB each"),
    },
    // A packet capture (tcpdump) and socket listings (ss): the ports in
    // tcpdump's ADDRESS.PORT form, the random initial sequence numbers of
    // the handshake, timestamps, window sizes and the window scale (which
    // depends on the machine's buffer sizes), and TIME_WAIT's timer.
    Rule {
        files: "tcp-",
        pattern: r"\b127\.0\.0\.1\.\d+\b",
        replace: With("127.0.0.1.<PORT>"),
    },
    Rule {
        files: "tcp-",
        pattern: r"(Flags \[S\.?\], seq )\d+",
        replace: With("$1<ISN>"),
    },
    Rule {
        files: "tcp-",
        pattern: r"(Flags \[S\.\], seq <ISN>, ack )\d+",
        replace: With("$1<ISN+1>"),
    },
    Rule {
        files: "tcp-",
        pattern: r"TS val \d+ ecr \d+",
        replace: With("TS val <T> ecr <T>"),
    },
    Rule {
        files: "tcp-",
        pattern: r"\b(win|wscale) \d+",
        replace: With("$1 <N>"),
    },
    Rule {
        files: "tcp-",
        pattern: r"timer:\(timewait,\d+sec,0\)",
        replace: With("timer:(timewait,<N>sec,0)"),
    },
    // Part 3's basics: where a process's descriptors lead (the recording's
    // folder, a socket's inode), pids at the start of strace -f -o lines,
    // and the limits of `ulimit -a` that depend on the machine (all but the
    // two the experiment sets).
    Rule {
        files: "basics-",
        pattern: r"-> \S*/(basics-[a-z0-9-]+\.server\.txt)$",
        replace: With("-> <DIR>/$1"),
    },
    Rule {
        files: "basics-",
        pattern: r"socket:\[\d+\]",
        replace: With("socket:[<INODE>]"),
    },
    Rule {
        files: "basics-",
        pattern: r"^\d+ +(write|\+\+\+|---)",
        replace: With("<PID> $1"),
    },
    // A write of text that held pids (replaced above): its length follows
    // their digits.
    Rule {
        files: "",
        pattern: r#"^(.*write\(\d+, "[^"]*<PID>[^"]*"(?:\.\.\.)?, )\d+(\) += )\d+$"#,
        replace: With("$1<LEN>$2<LEN>"),
    },
    Rule {
        files: "basics-ulimit",
        pattern: r"^([^(]*\((?:[^)]*, )?-[^nu]\)) +\S+$",
        replace: With("$1 <N>"),
    },
    // Addresses in memory (curl's connection cache).
    Rule {
        files: "",
        pattern: r"\b0x[0-9a-f]{6,}\b",
        replace: With("<ADDR>"),
    },
];

/// Lines dropped from a transcript before comparing, by file name prefix:
/// lines that appear or not depending on timing.
const LINE_RULES: &[(&str, &str)] = &[
    // curl logs the end of an FTP transfer's first phase before or after
    // it connects the data stream, as its two connections happen to go.
    ("ftp-curl", r"^\* ftp_perform ends with SECONDARY"),
    // ... and a read that finds nothing yet, when the FIN comes a turn late.
    ("part4-4g-pipeline", r"^recvfrom\(\d+, .*= -1 EAGAIN"),
    // A read that finds nothing yet, as the slow reader's bytes come late.
    ("part4-4e-partial-write", r"^read\(\d+, .*= -1 EAGAIN"),
    // The CGI demo prints its whole environment: what the machine adds
    // (Python's, pyenv's, the shell's) is not the lesson; the CGI variables
    // are.
    (
        "part2-cgi-demo",
        r"^(PATH|PWD|SHLVL|HOME|USER|LOGNAME|TERM|LANG|LC_[A-Z]+|_?PYENV[A-Z_]*|PYTHON[A-Z_]*) = ",
    ),
    // cargo waits for another cargo on the same machine (a parallel build,
    // a benchmark) before building a student's copy: not the lesson.
    ("lab-", r"^ +Blocking waiting for file lock on "),
    // How 4s's closed connections split between reset and EOF (see RULES).
    ("webserver4s-fd-setsize", r"^  E[A-Z]+: +\d+ "),
    ("webserver4s-fd-setsize", r"^errors after connecting: +\d+$"),
    // The per-errno breakdown of the clients a dying server did not serve.
    ("webserver3d-e", r"^  E[A-Z]+: +\d+ "),
    ("webserver3d-e", r"^errors after connecting: +\d+$"),
    // A bare acknowledgement may ride on the next segment instead, as the
    // two ends' timing goes; the segments that carry something (SYN, data,
    // FIN) are compared.
    ("tcp-capture", r"Flags \[\.\], ack \d+, .*length 0$"),
];

/// Transcripts whose commands print concurrently: the lines of each
/// command's output are compared in sorted order, and with `unique`, as a
/// set (how many times a line repeats varies too).
struct Unordered {
    files: &'static str,
    unique: bool,
}

const UNORDERED: &[Unordered] = &[
    // 3d's parent prints how many connections it keeps while its child
    // prints the request: two processes, one terminal, any order.
    Unordered {
        files: "webserver3d-no-eof.server",
        unique: false,
    },
    // Three curls at once: their answers and timings arrive in any order.
    Unordered {
        files: "part2-webserver2-slow",
        unique: false,
    },
    Unordered {
        files: "part2-webserver3h-slow",
        unique: false,
    },
    // strace of a slow reader: where the send buffer fills, and how often,
    // varies; that writes are partial, fail with EAGAIN, wait for EPOLLOUT
    // and finish does not.
    Unordered {
        files: "part4-4e-partial-write",
        unique: true,
    },
    // strace of five pipelined requests: whether the client's FIN arrives
    // in the same turn as its requests varies (one more epoll_wait if not).
    Unordered {
        files: "part4-4g-pipeline",
        unique: true,
    },
];

/// Sort (and with `unique`, deduplicate) the output of each command: the
/// lines between one `$ ` line and the next.
fn sort_outputs(lines: Vec<String>, unique: bool) -> Vec<String> {
    let mut out = Vec::with_capacity(lines.len());
    let mut block: Vec<String> = Vec::new();
    let flush = |block: &mut Vec<String>, out: &mut Vec<String>| {
        block.sort();
        if unique {
            block.dedup();
        }
        out.append(block);
    };
    for line in lines {
        if line.starts_with("$ ") {
            flush(&mut block, &mut out);
            out.push(line);
        } else {
            block.push(line);
        }
    }
    flush(&mut block, &mut out);
    out
}

fn compiled_rules() -> &'static [(Regex, &'static Rule)] {
    static RULES_RE: OnceLock<Vec<(Regex, &'static Rule)>> = OnceLock::new();
    RULES_RE.get_or_init(|| {
        RULES
            .iter()
            .map(|rule| {
                (
                    Regex::new(rule.pattern).unwrap_or_else(|e| panic!("{}: {e}", rule.pattern)),
                    rule,
                )
            })
            .collect()
    })
}

fn compiled_line_rules() -> &'static [(&'static str, Regex)] {
    static LINES_RE: OnceLock<Vec<(&'static str, Regex)>> = OnceLock::new();
    LINES_RE.get_or_init(|| {
        LINE_RULES
            .iter()
            .map(|(files, re)| (*files, Regex::new(re).unwrap()))
            .collect()
    })
}

fn cpu_class(caps: &Captures) -> &'static str {
    let seconds: f64 = caps["secs"].parse().unwrap();
    let ticks: f64 = caps["ticks"].parse().unwrap();
    if ticks / (seconds * 100.0) >= 0.25 {
        "<spinning>"
    } else {
        "<asleep>"
    }
}

fn duration_class(caps: &Captures) -> &'static str {
    let minutes: f64 = caps
        .name("min")
        .map_or(0.0, |m| m.as_str().parse().unwrap());
    let seconds: f64 = caps["secs"].parse().unwrap();
    if minutes * 60.0 + seconds < LONG {
        "<short>"
    } else {
        "<long>"
    }
}

/// The columns of a `ps` or `top` table whose values vary between runs.
const VOLATILE_COLUMNS: &[&str] = &[
    "PID", "PPID", "SPID", "TID", "LWP", "RSS", "VSZ", "%CPU", "%MEM", "TIME", "TIME+", "VIRT",
    "RES", "SHR", "USER",
];

/// Rewrite the rows of `ps`/`top` tables: volatile columns become `<..>`,
/// and columns are separated by one space (their widths vary with the
/// numbers in them).
fn normalise_tables(lines: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(lines.len());
    let mut header: Option<Vec<String>> = None;
    for line in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.first() == Some(&"PID")
            && fields.len() >= 2
            && fields[1..].iter().all(|f| {
                f.chars()
                    .all(|c| c.is_ascii_uppercase() || "%+_".contains(c))
            })
        {
            header = Some(fields.iter().map(|f| f.to_string()).collect());
            out.push(fields.join(" "));
            continue;
        }
        if let Some(columns) = &header {
            if fields
                .first()
                .is_some_and(|f| f.chars().all(|c| c.is_ascii_digit()))
            {
                // The last column (the command) may contain spaces.
                let mut parts: Vec<String> = line
                    .split_whitespace()
                    .take(columns.len() - 1)
                    .map(str::to_string)
                    .chain(std::iter::once(tail_after_fields(&line, columns.len() - 1)))
                    .collect();
                for (value, column) in parts.iter_mut().zip(columns) {
                    if VOLATILE_COLUMNS.contains(&column.as_str()) {
                        *value = format!("<{column}>");
                    }
                }
                out.push(parts.join(" ").trim_end().to_string());
                continue;
            }
            header = None;
        }
        out.push(line);
    }
    out
}

/// What is left of `line` after its first `n` whitespace-separated fields.
fn tail_after_fields(line: &str, n: usize) -> String {
    let mut rest = line.trim_start();
    for _ in 0..n {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    rest.to_string()
}

/// `strace -c`'s rows: `% time  seconds  usecs/call  calls  errors  syscall`.
/// The numbers vary; whether every call failed does not.
fn strace_counts(line: &str) -> Option<String> {
    static ROW: OnceLock<Regex> = OnceLock::new();
    let row = ROW.get_or_init(|| {
        Regex::new(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(\d+)?\s*(\w+)$").unwrap()
    });
    let caps = row.captures(line)?;
    let errors = match caps.get(2) {
        None => "",
        Some(errors) if errors.as_str() == &caps[1] => " <all failed>",
        Some(_) => " <some failed>",
    };
    Some(format!(
        "<TIME> <SECONDS> <USECS> <CALLS>{errors} {}",
        &caps[3]
    ))
}

/// `/proc/PID/status` lines `SigIgn:`/`SigBlk:`/`SigCgt:` without signals
/// 32 and 33, which glibc keeps for itself: a program started by a Rust
/// program (the drift check) inherits them as ignored, one started from a
/// shell does not, and nothing can change them.
fn signal_mask_without_glibc_signals(line: &str) -> Option<String> {
    let (name, hex) = line.split_once(":\t")?;
    if !matches!(name, "SigIgn" | "SigBlk" | "SigCgt" | "SigPnd" | "ShdPnd") || hex.len() != 16 {
        return None;
    }
    let mask = u64::from_str_radix(hex, 16).ok()?;
    let glibc = (1u64 << 31) | (1u64 << 32); // bit n-1 is signal n
    Some(format!("{name}:\t{:016x}", mask & !glibc))
}

/// The lab wraps what a check expected and saw at 96 columns, at spaces,
/// continuing under the text (16 spaces in). Where it wraps depends on the
/// width of what varies (a count, a pid in a path), so the check compares
/// each paragraph as one line.
fn unwrap_lab_paragraphs(text: &str) -> String {
    const CONTINUATION: &str = "                ";
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let continues = line.starts_with(CONTINUATION) && !out.is_empty() && !out.ends_with("\n\n");
        if continues {
            out.pop(); // the previous line's newline
            out.push(' ');
            out.push_str(line.trim_start());
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// The transcript `name` (a file name in book/src/output) as the drift
/// check compares it.
fn normalise(name: &str, text: &str) -> String {
    let unwrapped;
    let text = if name.starts_with("lab-check") {
        unwrapped = unwrap_lab_paragraphs(text);
        unwrapped.as_str()
    } else {
        text
    };
    let mut lines: Vec<String> = Vec::new();
    'line: for line in text.lines() {
        for (files, re) in compiled_line_rules() {
            if name.starts_with(files) && re.is_match(line) {
                continue 'line;
            }
        }
        let mut line = line.to_string();
        for (re, rule) in compiled_rules() {
            if !name.starts_with(rule.files) {
                continue;
            }
            line = match rule.replace {
                With(replacement) => re.replace_all(&line, replacement).into_owned(),
                CorePercent => re
                    .replace_all(&line, |caps: &Captures| {
                        let pct: f64 = caps["pct"].parse().unwrap();
                        if pct >= 25.0 {
                            "<spinning>"
                        } else {
                            "<asleep>"
                        }
                        .to_string()
                    })
                    .into_owned(),
                CpuShare => re
                    .replace_all(&line, |caps: &Captures| {
                        format!("CPU in {} s: {}", &caps["secs"], cpu_class(caps))
                    })
                    .into_owned(),
                Duration => re
                    .replace_all(&line, |caps: &Captures| {
                        let class = duration_class(caps);
                        let whole = &caps[0];
                        let secs = caps.name("secs").unwrap();
                        let start = caps.name("min").map_or(secs.start(), |m| m.start())
                            - caps.get(0).unwrap().start();
                        let end = secs.end() - caps.get(0).unwrap().start();
                        format!("{}{class}{}", &whole[..start], &whole[end..])
                    })
                    .into_owned(),
            };
        }
        if let Some(row) = strace_counts(&line) {
            line = row;
        }
        if let Some(mask) = signal_mask_without_glibc_signals(&line) {
            line = mask;
        }
        lines.push(line);
    }
    let mut lines = normalise_tables(lines);
    if let Some(unordered) = UNORDERED.iter().find(|u| name.starts_with(u.files)) {
        lines = sort_outputs(lines, unordered.unique);
    }
    let mut normalised = lines.join("\n");
    normalised.push('\n');
    normalised
}

// ---- running book/record and comparing ---------------------------------------------

/// Every file in `dir` (not recursive), by name.
fn files_in(dir: &Path) -> BTreeSet<String> {
    match fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.unwrap())
            .filter(|e| e.path().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => BTreeSet::new(),
    }
}

/// A scratch folder, removed when dropped.
struct Scratch(PathBuf);
impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("lsbaws-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}
impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// `book/record --out DIR ARGS...`; panics with its output if it fails.
fn record(out: &Path, args: &[&str]) {
    let output = Command::new(root().join("book/record"))
        // Experiments too slow for the check (benchmarks) skip themselves.
        .env("BOOK_RECORD_CHECK", "1")
        .arg("--out")
        .arg(out)
        .args(args)
        .current_dir(root())
        .output()
        .expect("running book/record");
    assert!(
        output.status.success(),
        "book/record --out {} {args:?} failed ({}):\n{}{}",
        out.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
}

/// `diff -u` of two texts, labelled.
fn unified_diff(stored_label: &str, stored: &str, fresh_label: &str, fresh: &str) -> String {
    let scratch = Scratch::new("diff");
    let (a, b) = (scratch.0.join("a"), scratch.0.join("b"));
    fs::write(&a, stored).unwrap();
    fs::write(&b, fresh).unwrap();
    let output = Command::new("diff")
        .args(["-u", "--label", stored_label, "--label", fresh_label])
        .arg(&a)
        .arg(&b)
        .output()
        .expect("running diff");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Compare the step diffs in `fresh` with book/src/diffs, exactly.
fn compare_diffs(fresh: &Path) -> Vec<String> {
    let stored = root().join("book/src/diffs");
    let mut problems = Vec::new();
    let (old, new) = (files_in(&stored), files_in(fresh));
    for name in new.union(&old) {
        match (
            fs::read_to_string(stored.join(name)),
            fs::read_to_string(fresh.join(name)),
        ) {
            (Ok(a), Ok(b)) if a == b => {}
            (Ok(a), Ok(b)) => problems.push(unified_diff(
                &format!("book/src/diffs/{name}"),
                &a,
                &format!("fresh/{name}"),
                &b,
            )),
            (Err(_), Ok(_)) => problems.push(format!(
                "book/src/diffs/{name} is missing (book/steps.txt lists it)"
            )),
            (Ok(_), Err(_)) => problems.push(format!(
                "book/src/diffs/{name} is not in book/steps.txt any more: remove it"
            )),
            (Err(_), Err(_)) => unreachable!(),
        }
    }
    problems
}

fn report(problems: Vec<String>, what: &str) {
    assert!(
        problems.is_empty(),
        "{what}:\n\n{}\n\nIf the change is intended, run `book/record` (or `book/record NAME`) and commit the result.",
        problems.join("\n")
    );
}

#[test]
fn step_diffs_are_current() {
    let scratch = Scratch::new("step-diffs");
    record(&scratch.0, &["diffs"]);
    report(
        compare_diffs(&scratch.0.join("diffs")),
        "the step diffs in book/src/diffs differ from the sources",
    );
}

#[test]
#[ignore = "runs every experiment of the book (about 45 s; needs curl, nc, strace, nstat, setpriv): `book/record --check`"]
fn transcripts_match_a_fresh_run() {
    let scratch = Scratch::new("transcripts");
    let patterns = std::env::var("BOOK_RECORD_PATTERNS").unwrap_or_default();
    // BOOK_RECORD_FRESH=DIR compares DIR (made by `book/record --out DIR`)
    // instead of recording anew: for working on the rules.
    let fresh_base = match std::env::var("BOOK_RECORD_FRESH") {
        Ok(dir) => PathBuf::from(dir),
        Err(_) => {
            let jobs = std::env::var("BOOK_RECORD_JOBS").unwrap_or_else(|_| "0".into());
            let mut args: Vec<&str> = vec!["--jobs", &jobs];
            args.extend(patterns.split_whitespace());
            record(&scratch.0, &args);
            scratch.0.clone()
        }
    };

    let stored_dir = root().join("book/src/output");
    let fresh_dir = fresh_base.join("output");
    let (stored, fresh) = (files_in(&stored_dir), files_in(&fresh_dir));
    let mut problems = Vec::new();
    for name in &fresh {
        let new = fs::read_to_string(fresh_dir.join(name)).unwrap();
        let Ok(old) = fs::read_to_string(stored_dir.join(name)) else {
            problems.push(format!(
                "book/src/output/{name} is recorded by an experiment but not checked in"
            ));
            continue;
        };
        let (a, b) = (normalise(name, &old), normalise(name, &new));
        if a != b {
            problems.push(unified_diff(
                &format!("book/src/output/{name} (normalised)"),
                &a,
                "fresh run (normalised)",
                &b,
            ));
        }
    }
    let skipped = fs::read_to_string(fresh_base.join("skipped.txt")).unwrap_or_default();
    let was_skipped = |name: &str| {
        skipped
            .lines()
            .any(|s| name == format!("{s}.txt") || name == format!("{s}.server.txt"))
    };
    for name in skipped.lines() {
        eprintln!("note: {name} was not recorded by this run (an optional tool is missing, or it is too slow for the check); not compared");
    }
    if patterns.trim().is_empty() {
        for name in stored.difference(&fresh).filter(|name| !was_skipped(name)) {
            problems.push(format!("book/src/output/{name} is recorded by no experiment in book/recording/: remove it, or record it"));
        }
        problems.extend(compare_diffs(&fresh_base.join("diffs")));
    }
    eprintln!("compared {} transcripts", fresh.len());
    report(
        problems,
        "the book's transcripts no longer match what the code does",
    );
}

// ---- what the book includes --------------------------------------------------------

/// The files under book/src/`dir` that some chapter includes
/// (`{{#include ...dir/NAME}}`).
fn included_from(dir: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut pending = vec![root().join("book/src")];
    let marker = format!("{dir}/");
    while let Some(d) = pending.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                for piece in fs::read_to_string(&path)
                    .unwrap()
                    .split("{{#include ")
                    .skip(1)
                {
                    let spec = piece.split("}}").next().unwrap_or("");
                    if let Some(at) = spec.find(&marker) {
                        found.insert(
                            spec[at + marker.len()..]
                                .split(':')
                                .next()
                                .unwrap()
                                .trim()
                                .to_string(),
                        );
                    }
                }
            }
        }
    }
    found
}

/// Every step diff is in a chapter, and so is every recorded terminal
/// pair: `NAME.txt` (the clients' terminal), `NAME.server.txt` (the
/// server's), or both. A chapter may leave out the terminal it has nothing
/// to say about; it is recorded and checked all the same.
#[test]
fn every_transcript_and_step_diff_is_shown_in_the_book() {
    let mut problems = Vec::new();
    let included = included_from("diffs");
    for name in files_in(&root().join("book/src/diffs")) {
        if !included.contains(&name) {
            problems.push(format!(
                "the step diff book/src/diffs/{name} is included by no chapter"
            ));
        }
    }
    let included = included_from("output");
    for name in files_in(&root().join("book/src/output")) {
        let experiment = name.trim_end_matches(".txt").trim_end_matches(".server");
        let shown = [
            format!("{experiment}.txt"),
            format!("{experiment}.server.txt"),
        ]
        .iter()
        .any(|n| included.contains(n));
        if !shown {
            problems.push(format!("the transcript book/src/output/{name} is included by no chapter (nor is its other terminal)"));
        }
    }
    report(problems, "recorded files the book does not show");
}

// ---- the normaliser's own tests --------------------------------------------------------

#[test]
fn http_dates_and_etags_are_normalised_but_sizes_kept() {
    let a = "Date: Sun, 06 Dec 2026 19:53:48 GMT\nETag: \"18ae8c5b21617061-d\"\n";
    let b = "Date: Mon, 07 Dec 2026 01:02:03 GMT\nETag: \"18ae9a0000000000-d\"\n";
    assert_eq!(normalise("x", a), normalise("x", b));
    assert_ne!(
        normalise("x", a),
        normalise("x", &b.replace("-d\"", "-e\""))
    );
}

#[test]
fn ports_pids_and_times_are_normalised() {
    let a = "$ PORT=33353 PID=26141\n$ curl -sS -w 'second finished after %{time_total} s\\n' http://127.0.0.1:$PORT/hello\nsecond finished after 4.712 s\nfirst finished after 0.0004 s\n* Connected to 127.0.0.1 (127.0.0.1) port 46317 (#0)\n";
    let b = "$ PORT=41000 PID=7\n$ curl -sS -w 'second finished after %{time_total} s\\n' http://127.0.0.1:$PORT/hello\nsecond finished after 4.998 s\nfirst finished after 0.002 s\n* Connected to 127.0.0.1 (127.0.0.1) port 40000 (#0)\n";
    assert_eq!(normalise("x.txt", a), normalise("x.txt", b));
    assert!(normalise("x.txt", a).contains("second finished after <long> s"));
    // A client that waited is not one that did not.
    let c = a.replace("4.712", "0.003");
    assert_ne!(normalise("x.txt", a), normalise("x.txt", &c));
}

#[test]
fn a_cgi_childs_start_up_and_an_idle_checks_length_are_normalised() {
    let running = "  PID STAT CMD\n15473 R    python3 misbehave.py\n";
    let sleeping = "  PID STAT CMD\n 9001 S    python3 misbehave.py\n";
    let zombie = "  PID STAT CMD\n 9001 Z    [python3] <defunct>\n";
    let name = "part2-webserver2-slow.txt";
    assert_eq!(normalise(name, running), normalise(name, sleeping));
    assert_ne!(normalise(name, running), normalise(name, zombie));
    let (a, b) = ("saw: idle for 1.0s: wanted", "saw: idle for 1.2s: wanted");
    assert_eq!(
        normalise("lab-check-4e.txt", a),
        normalise("lab-check-4e.txt", b)
    );
}

#[test]
fn lab_paragraphs_compare_whatever_their_wrapping() {
    let a = "FAIL  swapped\n      saw:      request 1 sent the secret (before it: 0 sent the\n                file inside): the name was checked\nPASS  next\n";
    let b = "FAIL  swapped\n      saw:      request 1 sent the secret (before it: 0 sent\n                the file inside): the name was checked\nPASS  next\n";
    let name = "lab-check-ftp-confine-starter.txt";
    assert_eq!(normalise(name, a), normalise(name, b));
    let c = b.replace("the name was checked", "the name was opened");
    assert_ne!(normalise(name, a), normalise(name, &c));
    assert!(
        normalise(name, a).lines().any(|l| l.starts_with("PASS")),
        "the next check stays a line of its own"
    );
}

#[test]
fn a_written_line_of_pids_may_change_length() {
    let five = r#"20138 write(1, "Child PID: 20138. Parent PID 20129\n", 35) = 35"#;
    let four = r#"2013 write(1, "Child PID: 2013. Parent PID 2012\n", 33) = 33"#;
    let name = "basics-write-fd1.txt";
    assert_eq!(normalise(name, five), normalise(name, four));
    let other = r#"2013 write(1, "GET /hello HTTP/1.1\r\n", 21) = 21"#;
    let kept = normalise(name, other);
    assert!(kept.contains("21) = 21"), "{kept}");
}

#[test]
fn ps_tables_keep_states_and_commands_but_not_pids() {
    let a = "  PID STAT CMD\n26335 Z    [webserver3f] <defunct>\n 9257  9273 Ssl  connection\n";
    let b = "  PID STAT CMD\n  335 Z    [webserver3f] <defunct>\n 9257  9273 Ssl  connection\n";
    assert_eq!(normalise("x", a), normalise("x", b));
    assert!(normalise("x", a).contains("<PID> Z [webserver3f] <defunct>"));
    let alive = a.replace(" Z  ", " S  ");
    assert_ne!(
        normalise("x", a),
        normalise("x", &alive),
        "a zombie is not a sleeping process"
    );
    let top = "  PID USER      PR  NI    VIRT    RES    SHR S  %CPU  %MEM     TIME+ COMMAND\n14312 root      20   0    4668   3508   3240 R 100.0   0.0   0:02.86 webserver+\n";
    assert_eq!(
        normalise("x", top).lines().nth(1),
        Some("<PID> <USER> 20 0 <VIRT> <RES> <SHR> R <%CPU> <%MEM> <TIME+> webserver+")
    );
}

#[test]
fn counts_that_are_the_lesson_stay_checked() {
    let a = "responses received:     252\nestablished:            266\n  ECONNREFUSED:         34   in connect(): nothing is listening\n";
    let b = "responses received:     252\nestablished:            300\n";
    assert_eq!(
        normalise("webserver3d-emfile.txt", a),
        normalise("webserver3d-emfile.txt", b)
    );
    let c = "responses received:     251\nestablished:            300\n";
    assert_ne!(
        normalise("webserver3d-emfile.txt", a),
        normalise("webserver3d-emfile.txt", c)
    );
    // Elsewhere, every count is checked.
    assert_ne!(
        normalise("client3-run.txt", a),
        normalise("client3-run.txt", b)
    );
    // A queue of 5: how many clients are still waiting after 30 s varies,
    // but every one of them must have been established.
    let waited =
        "established:            128\nresponses received:     128\nhung (no EOF in 30s):   0\n";
    let gave_up =
        "established:            128\nresponses received:     99\nhung (no EOF in 30s):   29\n";
    let refused =
        "established:            99\nresponses received:     99\nhung (no EOF in 30s):   0\n";
    let name = "webserver3f-backlog5.txt";
    assert_eq!(normalise(name, waited), normalise(name, gave_up));
    assert_ne!(normalise(name, waited), normalise(name, refused));
    assert_ne!(
        normalise("webserver3f-backlog1024.txt", waited),
        normalise("webserver3f-backlog1024.txt", gave_up),
        "with a queue of 1024 nobody waits"
    );
}

#[test]
fn signal_masks_ignore_only_glibcs_own_signals() {
    assert_eq!(
        normalise("x", "SigIgn:\t0000000180011006\n"),
        normalise("x", "SigIgn:\t0000000000011006\n")
    );
    assert_ne!(
        normalise("x", "SigIgn:\t0000000000011006\n"),
        normalise("x", "SigIgn:\t0000000000001006\n"),
        "SIGCHLD ignored or not is the lesson"
    );
}

#[test]
fn cpu_use_is_spinning_or_asleep() {
    let spin = |ticks: u32| normalise("x", &format!("CPU in 2 s: {ticks} ticks of 10 ms\n"));
    assert_eq!(spin(200), spin(148));
    assert_eq!(spin(0), spin(3));
    assert_ne!(
        spin(0),
        spin(200),
        "a server that spins is not one that sleeps"
    );
}

#[test]
fn concurrent_output_is_compared_in_any_order() {
    let a = "$ go\nslow: all good\nclient 2: 1.2 s\nslow: all good\nclient 1: 2.3 s\n$ next\n";
    let b = "$ go\nslow: all good\nslow: all good\nclient 1: 1.1 s\nclient 2: 2.2 s\n$ next\n";
    assert_eq!(
        normalise("part2-webserver3h-slow.txt", a),
        normalise("part2-webserver3h-slow.txt", b)
    );
    let fewer = "$ go\nslow: all good\nclient 1: 1.1 s\n$ next\n";
    assert_ne!(
        normalise("part2-webserver3h-slow.txt", a),
        normalise("part2-webserver3h-slow.txt", fewer)
    );
    let writes = |sizes: &[u32]| {
        let mut t = String::from("$ sed\n");
        for n in sizes {
            t.push_str(&format!(
                "write(5, \"\"..., 1048700)                = {n}\n"
            ));
        }
        t.push_str("write(5, \"\"..., 913835)                 = -1 EAGAIN (Resource temporarily unavailable)\n");
        normalise("part4-4e-partial-write.txt", &t)
    };
    assert_eq!(writes(&[1048700, 134865]), writes(&[396797]));
}

#[test]
fn strace_summaries_keep_whether_every_call_failed() {
    let a = "100.00    0.189860           9     19700     19700 accept\n";
    let b = "100.00    0.289860          12     29000     29000 accept\n";
    let c = "100.00    0.289860          12     29000       100 accept\n";
    assert_eq!(normalise("x", a), normalise("x", b));
    assert_ne!(normalise("x", a), normalise("x", c));
}
