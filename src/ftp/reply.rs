//! FTP replies (RFC 959, section 4.2): a three-digit code, a space, text,
//! CRLF. The first digit says how it went:
//!
//! | code  | meaning                                   | example |
//! |-------|-------------------------------------------|---------|
//! | `1yz` | preliminary: wait for another reply       | `150 Opening data connection.` |
//! | `2yz` | done                                      | `226 Transfer complete.` |
//! | `3yz` | send the next command of the sequence     | `331 Send your password.` |
//! | `4yz` | failed this time; trying again may work   | `425 Can't open data connection.` |
//! | `5yz` | failed; do not repeat it as it is         | `550 No such file.` |
//!
//! A multi-line reply opens with `CODE-` and ends with a line `CODE text`:
//!
//! ```text
//! 211-Features:
//!  EPSV
//!  SIZE
//! 211 End
//! ```

use std::fmt;
use std::io::{self, BufRead, Read, Write};

/// The longest reply line [`read_reply`] accepts (a server sending more
/// without a line end is broken or hostile).
pub const MAX_REPLY_LINE: usize = 8192;

/// Write a one-line reply: `CODE TEXT\r\n`, in one write(2).
pub fn send(out: &mut impl Write, code: u16, text: &str) -> io::Result<()> {
    out.write_all(format_reply(code, text).as_bytes())
}

/// Write a multi-line reply: `CODE-FIRST`, each of `lines` indented by one
/// space (so no line can be mistaken for the last), then `CODE LAST`.
pub fn send_multi(
    out: &mut impl Write,
    code: u16,
    first: &str,
    lines: &[&str],
    last: &str,
) -> io::Result<()> {
    let mut reply = format!("{code}-{first}\r\n");
    for line in lines {
        reply.push_str(&format!(" {line}\r\n"));
    }
    reply.push_str(&format_reply(code, last));
    out.write_all(reply.as_bytes())
}

/// `CODE TEXT\r\n`. A CR or LF in the text (a file name can hold one) would
/// end the reply early and let the rest pass for another reply; they become
/// spaces.
pub fn format_reply(code: u16, text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    format!("{code} {text}\r\n")
}

/// A reply as a client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// Every line of the reply, without line ends (one for a simple reply).
    pub lines: Vec<String>,
}

impl Reply {
    /// The text of the last line, after the code: `Transfer complete.`
    pub fn text(&self) -> &str {
        self.lines
            .last()
            .map(|line| line.get(4..).unwrap_or(""))
            .unwrap_or("")
    }

    /// 1yz: the command goes on; another reply follows.
    pub fn is_preliminary(&self) -> bool {
        (100..200).contains(&self.code)
    }

    /// 2yz: the command succeeded.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.code)
    }
}

impl fmt::Display for Reply {
    /// The last line as sent: `550 No such file: a.txt`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.text())
    }
}

/// Read one reply, following a multi-line reply to its last line.
/// EOF before a complete reply is `UnexpectedEof`; a line that does not
/// start with a code is `InvalidData`.
pub fn read_reply(input: &mut impl BufRead) -> io::Result<Reply> {
    let first = read_line(input)?;
    let code = parse_code(&first).ok_or_else(|| invalid(format!("not an FTP reply: {first:?}")))?;
    let mut lines = vec![first.clone()];
    if first.as_bytes().get(3) == Some(&b'-') {
        // Multi-line: read until a line that starts with "CODE ".
        loop {
            let line = read_line(input)?;
            let done =
                line.len() >= 4 && parse_code(&line) == Some(code) && line.as_bytes()[3] == b' ';
            lines.push(line);
            if done {
                break;
            }
        }
    }
    Ok(Reply { code, lines })
}

fn parse_code(line: &str) -> Option<u16> {
    let digits = line.get(..3)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match line.as_bytes().get(3) {
        None | Some(b' ') | Some(b'-') => digits.parse().ok(),
        _ => None,
    }
}

fn read_line(input: &mut impl BufRead) -> io::Result<String> {
    let mut line = Vec::new();
    let n = input
        .by_ref()
        .take(MAX_REPLY_LINE as u64)
        .read_until(b'\n', &mut line)?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the server closed the control connection",
        ));
    }
    if line.last() != Some(&b'\n') {
        return Err(invalid(format!(
            "a reply line longer than {MAX_REPLY_LINE} bytes, or cut off"
        )));
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_simple_and_a_multi_line_reply() {
        let mut wire: &[u8] = b"220 ready\r\n211-Features:\r\n EPSV\r\n211 End\r\n";
        let first = read_reply(&mut wire).unwrap();
        assert_eq!((first.code, first.text()), (220, "ready"));
        let features = read_reply(&mut wire).unwrap();
        assert_eq!(features.code, 211);
        assert_eq!(features.lines, ["211-Features:", " EPSV", "211 End"]);
        assert_eq!(features.text(), "End");
    }

    #[test]
    fn a_line_break_in_the_text_cannot_forge_a_reply() {
        assert_eq!(
            format_reply(550, "No such file: a\r\n226 ok"),
            "550 No such file: a  226 ok\r\n"
        );
    }

    #[test]
    fn garbage_and_eof_are_errors() {
        let mut garbage: &[u8] = b"hello\r\n";
        assert_eq!(
            read_reply(&mut garbage).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        let mut cut: &[u8] = b"226 Transf";
        assert_eq!(
            read_reply(&mut cut).unwrap_err().kind(),
            io::ErrorKind::InvalidData
        );
        let mut empty: &[u8] = b"";
        assert_eq!(
            read_reply(&mut empty).unwrap_err().kind(),
            io::ErrorKind::UnexpectedEof
        );
    }
}
