//! What the FTP tests share: a server on a fresh library, deterministic
//! file contents, and a raw control connection for the rude cases.

#![allow(dead_code)] // each test file uses a different part

use lsbaws::ftp::client::Client;
use lsbaws::ftp::reply::{read_reply, Reply};
use lsbaws_harness::{names_in, Launch, ScratchDir, Server};
use std::io::{BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

/// Upper bound for anything that should happen "at once".
pub const WAIT: Duration = Duration::from_secs(20);

/// The size of the big test file: 10 MiB.
pub const TEN_MIB: usize = 10 << 20;

/// A server with its own library directory (and a scratch directory
/// beside it, for "outside the root" and for clients' local files).
pub struct Ftp {
    pub server: Server,
    pub scratch: ScratchDir,
}

impl Ftp {
    pub fn start(label: &str, args: &[&str]) -> Ftp {
        let scratch = ScratchDir::new(label).unwrap();
        let library = scratch.path().join("library");
        std::fs::create_dir(&library).unwrap();
        let server = Launch::new("ftp-server")
            .arg("--root")
            .arg(&library)
            .args(args)
            .start()
            .unwrap();
        Ftp { server, scratch }
    }

    pub fn library(&self) -> PathBuf {
        self.scratch.path().join("library")
    }

    /// A directory for a client's own files, outside the library.
    pub fn local(&self) -> PathBuf {
        let local = self.scratch.path().join("local");
        std::fs::create_dir_all(&local).unwrap();
        local
    }

    pub fn url(&self, path: &str) -> String {
        format!("ftp://127.0.0.1:{}/{path}", self.server.port())
    }

    /// A logged-in client.
    pub fn client(&self) -> Client {
        let mut client = Client::connect(self.server.addr(), WAIT).unwrap();
        client.login("anonymous", "test@example.com").unwrap();
        client
    }

    /// A raw control connection, greeting read.
    pub fn raw(&self) -> Raw {
        let stream = self.server.connect();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let mut raw = Raw {
            reader: BufReader::new(stream.try_clone().unwrap()),
            stream,
        };
        assert_eq!(raw.reply().code, 220);
        raw
    }

    /// Every name in the library directory, hidden ones included, sorted.
    pub fn library_names(&self) -> Vec<String> {
        names_in(&self.library())
    }

    /// The server's stderr holds no panic.
    pub fn assert_no_panic(&self) {
        let stderr = self.server.stderr();
        assert!(!stderr.contains("panicked"), "stderr: {stderr}");
    }

    /// Wait until every child has ended and been reaped.
    pub fn wait_sessions_over(&self) {
        self.server
            .wait_until(WAIT, "every session to end and be reaped", |s| {
                s.children().is_empty()
            })
            .unwrap();
    }
}

/// A control connection that sends whatever bytes a test likes.
pub struct Raw {
    pub stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Raw {
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    pub fn reply(&mut self) -> Reply {
        read_reply(&mut self.reader).unwrap()
    }

    /// Send a line, read its reply.
    pub fn cmd(&mut self, line: &str) -> Reply {
        self.send_bytes(format!("{line}\r\n").as_bytes());
        self.reply()
    }

    pub fn login(&mut self) {
        assert_eq!(self.cmd("USER anonymous").code, 331);
        assert_eq!(self.cmd("PASS test@").code, 230);
    }

    /// What comes next: a reply, or the end of the connection.
    pub fn next(&mut self) -> std::io::Result<Reply> {
        read_reply(&mut self.reader)
    }
}

pub use lsbaws_harness::pattern;

/// Compare big byte strings without printing megabytes when they differ.
pub fn assert_same_bytes(actual: &[u8], expected: &[u8], what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    if let Some(at) = actual.iter().zip(expected).position(|(a, b)| a != b) {
        panic!("{what}: the bytes differ first at offset {at}");
    }
}
