//! Many idle keep-alive connections: open them all, then send one request
//! on each and read every answer, keeping the connections open; then read
//! what the server holds for them (memory, threads).

use lsbaws_harness::procfs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// What the idle run measured.
#[derive(Debug, Clone, Default)]
pub struct Idle {
    pub connections: u32,
    /// Connections established (the rest failed to connect in time).
    pub opened: u32,
    /// Connections that got their answer.
    pub answered: u32,
    /// Seconds to open them all, and to get every answer after that.
    pub open_seconds: f64,
    pub answer_seconds: f64,
    /// The server's memory (PSS of its process group) before and with the
    /// connections open, and its threads with them open.
    pub base_kib: u64,
    pub loaded_kib: u64,
    pub threads: u64,
}

impl Idle {
    pub fn kib_per_connection(&self) -> f64 {
        if self.answered == 0 {
            return 0.0;
        }
        self.loaded_kib.saturating_sub(self.base_kib) as f64 / f64::from(self.answered)
    }
}

/// Run it against the server at `addr` (process group `pgid`), giving up
/// after `limit` in all.
pub fn run(addr: SocketAddr, pgid: i32, path: &str, connections: u32, limit: Duration) -> Idle {
    let deadline = Instant::now() + limit;
    // One answered request first, so that the baseline includes what any
    // first request faults in (code, buffers, caches), not just startup.
    if let Ok(mut warm) = TcpStream::connect(addr) {
        let _ = warm.set_read_timeout(Some(Duration::from_secs(5)));
        let _ = warm.write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes());
        let _ = warm.read_to_end(&mut Vec::new());
    }
    std::thread::sleep(Duration::from_millis(200));
    let base_kib = procfs::group_pss_kib(pgid);
    let held = hold(addr, path, connections, deadline);
    // Let a forking server's children settle before reading their memory.
    std::thread::sleep(Duration::from_millis(300));
    Idle {
        connections,
        opened: held.opened,
        answered: held.answered,
        open_seconds: held.open_seconds,
        answer_seconds: held.answer_seconds,
        base_kib,
        loaded_kib: procfs::group_pss_kib(pgid),
        threads: procfs::group_threads(pgid),
    }
}

/// Keep-alive connections the client holds open, each answered once.
pub struct Held {
    /// The connections still open (dropping them closes them).
    pub streams: Vec<TcpStream>,
    pub opened: u32,
    pub answered: u32,
    pub open_seconds: f64,
    pub answer_seconds: f64,
}

/// Open `connections` to `addr`, then send `GET path` on each and read
/// every answer, keeping the connections open; stop at `deadline`.
pub fn hold(addr: SocketAddr, path: &str, connections: u32, deadline: Instant) -> Held {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    let started = Instant::now();
    let mut streams = Vec::with_capacity(connections as usize);
    for _ in 0..connections {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        if let Ok(stream) = TcpStream::connect_timeout(&addr, left.min(Duration::from_secs(5))) {
            streams.push(stream);
        }
    }
    let open_seconds = started.elapsed().as_secs_f64();
    let opened = streams.len() as u32;

    let started = Instant::now();
    let mut live = Vec::with_capacity(streams.len());
    for mut stream in streams {
        if stream.write_all(request.as_bytes()).is_ok() {
            live.push(stream);
        }
    }
    let mut answered = 0;
    for stream in &mut live {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let _ = stream.set_read_timeout(Some(left));
        if read_one_response(stream) {
            answered += 1;
        }
    }
    Held { streams: live, opened, answered, open_seconds, answer_seconds: started.elapsed().as_secs_f64() }
}

impl Held {
    /// Close them all (the server sees each client leave).
    pub fn release(self) {
        drop(self.streams);
    }
}

/// Read one whole response (head and Content-Length body).
fn read_one_response(stream: &mut TcpStream) -> bool {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 4096];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        if let Some(head) = crate::load::parse_head(&buf) {
            if buf.len() >= head.total {
                return head.status == 200;
            }
        }
    }
}
