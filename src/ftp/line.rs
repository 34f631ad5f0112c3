//! Read one command line off the control connection, whatever arrives.
//!
//! A command is `VERB [ARGUMENT]` ending in CRLF (we accept a bare LF too).
//! The bytes come from a stranger: a line may be endless, hold NULs or
//! invalid UTF-8, or stop half-way when the client disconnects. Each of
//! those is an ordinary outcome here, not a panic.

use std::io::{self, BufRead, Read};

/// The longest command line we take. RFC 959 sets no limit, but a path
/// name is at most 4096 bytes on Linux (PATH_MAX), and a verb is 4 letters.
pub const MAX_LINE: usize = 4096 + 16;

/// How much of an overlong line we read and throw away, looking for its
/// end, before we give up on the client.
const MAX_DISCARD: u64 = 1 << 20;

/// What one read of the control connection produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A complete line, without its line end: `VERB` or `VERB ARGUMENT`.
    Command(Command),
    /// A line longer than [`MAX_LINE`]; its bytes were read and discarded.
    TooLong,
    /// The client closed the connection (possibly in the middle of a line).
    Eof,
}

/// One parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The verb in upper case (`RETR`); commands are case-insensitive.
    pub verb: String,
    /// Everything after the first space (`my file.txt`), if anything.
    pub arg: Option<String>,
}

impl Command {
    /// Split `retr my file.txt` into `RETR` and `my file.txt`. Names may
    /// contain spaces, so only the first space separates.
    pub fn parse(line: &str) -> Command {
        let (verb, arg) = match line.split_once(' ') {
            Some((verb, arg)) => (verb, Some(arg.to_string())),
            None => (line, None),
        };
        Command {
            verb: verb.to_ascii_uppercase(),
            arg: arg.filter(|a| !a.is_empty()),
        }
    }
}

/// Read the next command. Errors are the socket's own (a reset, or
/// `WouldBlock` when `SO_RCVTIMEO` ran out: the caller's idle timeout).
pub fn read_command(input: &mut impl BufRead) -> io::Result<Line> {
    let mut raw = Vec::new();
    input
        .by_ref()
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut raw)?;
    if raw.last() != Some(&b'\n') {
        if raw.len() <= MAX_LINE {
            return Ok(Line::Eof); // closed with no line end (or nothing at all)
        }
        // Overlong: discard through the line end so the next command is
        // read cleanly; a client that never sends one is cut off.
        let mut rest = Vec::new();
        let n = input
            .by_ref()
            .take(MAX_DISCARD)
            .read_until(b'\n', &mut rest)?;
        return if rest.last() == Some(&b'\n') {
            Ok(Line::TooLong)
        } else if (n as u64) < MAX_DISCARD {
            Ok(Line::Eof)
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "a command line with no end in sight (over 1 MiB)",
            ))
        };
    }
    raw.pop();
    if raw.last() == Some(&b'\r') {
        raw.pop();
    }
    let text = String::from_utf8_lossy(&strip_telnet(&raw)).into_owned();
    Ok(Line::Command(Command::parse(&text)))
}

/// The control connection is a Telnet connection (RFC 959, 4.1.3): a client
/// aborting a transfer may send `IAC IP IAC DM` (0xFF 0xF4 0xFF 0xF2) before
/// `ABOR`. Drop such two-byte commands; `IAC IAC` stands for one 0xFF byte.
fn strip_telnet(raw: &[u8]) -> Vec<u8> {
    const IAC: u8 = 0xFF;
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.iter().copied();
    while let Some(byte) = bytes.next() {
        if byte != IAC {
            out.push(byte);
            continue;
        }
        match bytes.next() {
            Some(IAC) => out.push(IAC),
            Some(command) if command >= 0xFB => {
                bytes.next(); // WILL/WONT/DO/DONT take an option byte
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(mut wire: &[u8]) -> Vec<Line> {
        let mut lines = Vec::new();
        loop {
            let line = read_command(&mut wire).unwrap();
            lines.push(line.clone());
            if line == Line::Eof {
                return lines;
            }
        }
    }

    fn command(verb: &str, arg: Option<&str>) -> Line {
        Line::Command(Command {
            verb: verb.into(),
            arg: arg.map(Into::into),
        })
    }

    #[test]
    fn splits_verb_and_argument() {
        assert_eq!(
            read_all(b"retr my file.txt\r\nNOOP\nTYPE I\r\nhalf a li"),
            [
                command("RETR", Some("my file.txt")),
                command("NOOP", None),
                command("TYPE", Some("I")),
                Line::Eof
            ]
        );
    }

    #[test]
    fn garbage_is_a_line_like_any_other() {
        let lines = read_all(b"\x00\xff\xf4\xff\xf2ABOR\r\n\xc3\x28 x\r\n");
        assert_eq!(lines[0], command("\0ABOR", None));
        assert_eq!(lines[1], command("\u{fffd}(", Some("x")));
    }

    #[test]
    fn an_overlong_line_is_skipped_and_the_next_one_read() {
        let mut wire = vec![b'A'; MAX_LINE * 3];
        wire.extend_from_slice(b"\r\nNOOP\r\n");
        assert_eq!(
            read_all(&wire),
            [Line::TooLong, command("NOOP", None), Line::Eof]
        );
    }
}
