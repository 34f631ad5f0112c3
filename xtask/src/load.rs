//! Driving a server: wrk when it is there (installed from Debian's packages
//! if it is not), and a small load generator of our own only as a fallback.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// What to send, on how many connections, for how long.
#[derive(Debug, Clone)]
pub struct Job {
    pub addr: SocketAddr,
    pub path: String,
    pub connections: u32,
    pub duration: Duration,
    /// Send `Connection: close`: a new connection per request.
    pub close: bool,
    /// Requests sent back to back before reading the answers (1: none).
    pub pipeline: u32,
}

/// What a run measured.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub requests: u64,
    pub seconds: f64,
    pub p99_ms: f64,
    /// Socket errors (connect, read, write, timeout) and non-2xx/3xx answers.
    pub errors: u64,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.requests as f64 / self.seconds
        } else {
            0.0
        }
    }
}

/// The load generator in use.
#[derive(Debug, Clone)]
pub enum Generator {
    Wrk(PathBuf),
    /// Ours (`load::builtin`), when wrk cannot be had.
    Builtin,
}

impl Generator {
    pub fn name(&self) -> &'static str {
        match self {
            Generator::Wrk(_) => "wrk -t1",
            Generator::Builtin => "the harness's built-in generator (wrk missing)",
        }
    }

    /// wrk, installing it with apt-get if `install` and it is missing.
    pub fn find(install: bool) -> Generator {
        if let Some(wrk) = crate::servers::which("wrk") {
            return Generator::Wrk(wrk);
        }
        if install && crate::servers::which("apt-get").is_some() {
            eprintln!("bench-models: wrk is missing; installing it: apt-get install -y wrk");
            let installed = Command::new("apt-get")
                .args(["install", "-y", "-q", "wrk"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success());
            if installed {
                if let Some(wrk) = crate::servers::which("wrk") {
                    return Generator::Wrk(wrk);
                }
            }
            eprintln!("bench-models: could not install wrk (try `apt-get update` first); using the built-in generator");
        }
        Generator::Builtin
    }

    /// Run `job`, pinned to `cpu`.
    pub fn run(&self, job: &Job, cpu: Option<usize>, scratch: &Path) -> Result<Outcome, String> {
        match self {
            Generator::Wrk(wrk) => run_wrk(wrk, job, cpu, scratch),
            Generator::Builtin => Ok(pinned(cpu, || builtin(job))),
        }
    }
}

/// Run `f` with the calling thread pinned to `cpu` (`sched_setaffinity(2)`),
/// then give the thread back the CPUs it had. Pinning for good would leak:
/// every process the thread starts later inherits its affinity, and a
/// server meant to have every core would get one.
pub fn pinned<T>(cpu: Option<usize>, f: impl FnOnce() -> T) -> T {
    let Some(cpu) = cpu else {
        return f();
    };
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: cpu_set_t is plain data; sched_getaffinity fills it,
    // CPU_SET writes inside it, and sched_setaffinity reads it.
    unsafe {
        let mut before: libc::cpu_set_t = std::mem::zeroed();
        let saved = libc::sched_getaffinity(0, size, &mut before) == 0;
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, size, &set);
        let result = f();
        if saved {
            libc::sched_setaffinity(0, size, &before);
        }
        result
    }
}

fn run_wrk(wrk: &Path, job: &Job, cpu: Option<usize>, scratch: &Path) -> Result<Outcome, String> {
    let mut command = crate::servers::pinned_command(wrk, cpu);
    let seconds = job.duration.as_secs_f64().ceil().max(1.0) as u64;
    command.args([
        "-t1".to_string(),
        format!("-c{}", job.connections),
        format!("-d{seconds}s"),
        "--latency".to_string(),
        "--timeout".to_string(),
        "5s".to_string(),
    ]);
    if job.close {
        command.args(["-H", "Connection: close"]);
    }
    if job.pipeline > 1 {
        // wrk counts the requests in the string a script returns and waits
        // for that many answers before sending it again.
        let script = scratch.join(format!("pipeline-{}.lua", job.pipeline));
        let lua = format!(
            "init = function(args)\n  local r = {{}}\n  for i = 1, {} do r[i] = wrk.format(nil, \"{}\") end\n  req = table.concat(r)\nend\nrequest = function() return req end\n",
            job.pipeline, job.path
        );
        std::fs::write(&script, lua).map_err(|e| format!("writing {}: {e}", script.display()))?;
        command.arg("-s").arg(script);
    }
    command.arg(format!("http://{}{}", job.addr, job.path));
    let output = command.output().map_err(|e| format!("running wrk: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!("wrk failed ({}): {}{}", output.status, text, String::from_utf8_lossy(&output.stderr)));
    }
    parse_wrk(&text).ok_or_else(|| format!("cannot read wrk's report:\n{text}"))
}

/// Read wrk's report (`--latency`): the request count and duration, the
/// 99th percentile, and the errors.
pub fn parse_wrk(text: &str) -> Option<Outcome> {
    let mut outcome = Outcome::default();
    let mut found = false;
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["99%", latency] => outcome.p99_ms = duration_ms(latency)?,
            [requests, "requests", "in", time, ..] => {
                outcome.requests = requests.parse().ok()?;
                outcome.seconds = duration_ms(time.trim_end_matches(','))? / 1000.0;
                found = true;
            }
            ["Socket", "errors:", rest @ ..] => {
                outcome.errors += rest.iter().filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok()).sum::<u64>();
            }
            ["Non-2xx", "or", "3xx", "responses:", n] => outcome.errors += n.parse::<u64>().ok()?,
            _ => {}
        }
    }
    found.then_some(outcome)
}

/// `772.00us`, `1.19ms`, `2.00s`, `1.50m` in milliseconds.
fn duration_ms(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    Some(match unit {
        "us" => value / 1000.0,
        "ms" => value,
        "s" => value * 1000.0,
        "m" => value * 60_000.0,
        "h" => value * 3_600_000.0,
        _ => return None,
    })
}

/// The fallback generator: one thread per connection, each sending its
/// requests with blocking I/O and timing every answer. Good enough to
/// rank the models and to smoke-test the harness; wrk (one thread, epoll)
/// is the instrument for the book's figures.
pub fn builtin(job: &Job) -> Outcome {
    let deadline = Instant::now() + job.duration;
    let started = Instant::now();
    let results: Vec<(u64, u64, Vec<u32>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..job.connections).map(|_| scope.spawn(|| one_connection(job, deadline))).collect();
        workers.into_iter().map(|w| w.join().unwrap_or_default()).collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    let mut latencies: Vec<u32> = results.iter().flat_map(|r| r.2.iter().copied()).collect();
    latencies.sort_unstable();
    let p99_us = latencies.get((latencies.len() * 99 / 100).min(latencies.len().saturating_sub(1))).copied().unwrap_or(0);
    Outcome {
        requests: results.iter().map(|r| r.0).sum(),
        seconds,
        p99_ms: f64::from(p99_us) / 1000.0,
        errors: results.iter().map(|r| r.1).sum(),
    }
}

/// One connection's loop: (answers, errors, latencies in µs).
fn one_connection(job: &Job, deadline: Instant) -> (u64, u64, Vec<u32>) {
    let close = if job.close { "Connection: close\r\n" } else { "" };
    let request = format!("GET {} HTTP/1.1\r\nHost: {}\r\n{close}\r\n", job.path, job.addr).repeat(job.pipeline.max(1) as usize);
    let (mut answers, mut errors, mut latencies) = (0, 0, Vec::new());
    let mut stream: Option<TcpStream> = None;
    let mut reader = Reader::default();
    while Instant::now() < deadline {
        if stream.is_none() {
            match TcpStream::connect_timeout(&job.addr, Duration::from_secs(5)) {
                Ok(s) => {
                    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                    let _ = s.set_nodelay(true);
                    stream = Some(s);
                    reader = Reader::default();
                }
                Err(_) => {
                    errors += 1;
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                }
            }
        }
        let Some(s) = stream.as_mut() else { continue };
        let sent = Instant::now();
        if s.write_all(request.as_bytes()).is_err() {
            errors += 1;
            stream = None;
            continue;
        }
        for _ in 0..job.pipeline.max(1) {
            match reader.response(s) {
                Ok((status, closes)) => {
                    latencies.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                    if (200..400).contains(&status) {
                        answers += 1;
                    } else {
                        errors += 1;
                    }
                    if closes {
                        stream = None;
                        break;
                    }
                }
                Err(_) => {
                    errors += 1;
                    stream = None;
                    break;
                }
            }
        }
    }
    (answers, errors, latencies)
}

/// Reads whole responses (head, then a Content-Length body) off a stream.
#[derive(Default)]
struct Reader {
    buf: Vec<u8>,
}

impl Reader {
    /// The next response's status and whether the server closes after it.
    fn response(&mut self, stream: &mut TcpStream) -> io::Result<(u16, bool)> {
        loop {
            if let Some(head) = parse_head(&self.buf) {
                while self.buf.len() < head.total {
                    self.fill(stream)?;
                }
                self.buf.drain(..head.total);
                return Ok((head.status, head.closes));
            }
            self.fill(stream)?;
        }
    }

    fn fill(&mut self, stream: &mut TcpStream) -> io::Result<()> {
        let mut chunk = [0u8; 64 * 1024];
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

/// A response head at the front of a buffer.
pub struct Head {
    pub status: u16,
    /// Head plus Content-Length body, in bytes.
    pub total: usize,
    /// The server says `Connection: close`.
    pub closes: bool,
}

/// The head at the front of `buf`, once all of it has arrived.
pub fn parse_head(buf: &[u8]) -> Option<Head> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Some(Head { status, total: end + 4 + length, closes: head.contains("connection: close") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_wrk_report() {
        let report = "Running 3s test @ http://127.0.0.1:18082/hello.txt
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.71ms    2.88ms  33.14ms   92.59%
    Req/Sec    47.77k    20.15k   73.25k    50.00%
  Latency Distribution
     50%  772.00us
     75%    1.19ms
     90%    3.67ms
     99%   16.02ms
  142603 requests in 3.01s, 33.86MB read
  Socket errors: connect 0, read 2, write 0, timeout 12
  Non-2xx or 3xx responses: 5
Requests/sec:  47393.16
Transfer/sec:     11.25MB
";
        let outcome = parse_wrk(report).unwrap();
        assert_eq!(outcome.requests, 142603);
        assert!((outcome.seconds - 3.01).abs() < 1e-9);
        assert!((outcome.p99_ms - 16.02).abs() < 1e-9);
        assert_eq!(outcome.errors, 19);
        assert!((outcome.per_second() - 47376.4).abs() < 1.0);
        assert!(parse_wrk("wrk: connection refused").is_none());
    }

    #[test]
    fn latency_units() {
        assert_eq!(duration_ms("772.00us"), Some(0.772));
        assert_eq!(duration_ms("2.00s"), Some(2000.0));
        assert_eq!(duration_ms("1.5m"), Some(90_000.0));
        assert_eq!(duration_ms("12"), None);
    }
}
