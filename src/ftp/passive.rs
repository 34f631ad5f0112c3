//! Passive mode: the server opens a listening socket for one transfer and
//! tells the client where to connect.
//!
//! `PASV` answers `227 Entering Passive Mode (h1,h2,h3,h4,p1,p2).` — the
//! IPv4 address as four numbers and the port as two bytes (port =
//! p1 * 256 + p2). `EPSV` (RFC 2428) answers
//! `229 Entering Extended Passive Mode (|||port|)`, port only: the client
//! connects to the address it already talks to, which also works over IPv6
//! and through NAT.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener};
use std::str::FromStr;

/// The ports passive listeners may use (`--pasv-ports 50000-50100`), so a
/// firewall can open exactly those.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl FromStr for PortRange {
    type Err = String;

    /// `50000-50100` (both ends included), or one port: `50000`.
    fn from_str(text: &str) -> Result<PortRange, String> {
        let (first, last) = text.split_once('-').unwrap_or((text, text));
        let port = |s: &str| {
            s.trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("{s:?} is not a port number (1-65535); expected FIRST-LAST, e.g. 50000-50100"))
        };
        let (first, last) = (port(first)?, port(last)?);
        if first > last {
            return Err(format!(
                "{text:?} runs backwards; expected FIRST-LAST with FIRST <= LAST"
            ));
        }
        Ok(PortRange { first, last })
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

// ANCHOR: listen_passive
/// Open a passive listener on `ip` (the address the client reached us on):
/// on a port the kernel picks when `range` is `None`, else on a free port
/// of the range. Starting at a port that differs per call spreads
/// concurrent clients over the range instead of all racing for its first
/// port.
pub fn listen_passive(ip: IpAddr, range: Option<PortRange>) -> io::Result<TcpListener> {
    let Some(range) = range else {
        return TcpListener::bind((ip, 0));
    };
    let count = u32::from(range.last - range.first) + 1;
    let start = spread() % count;
    for i in 0..count {
        let port = range.first + ((start + i) % count) as u16;
        match TcpListener::bind((ip, port)) {
            Ok(listener) => return Ok(listener),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        format!("every passive port in {range} is in use"),
    ))
}
// ANCHOR_END: listen_passive

/// A number that differs between processes and calls.
fn spread() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    nanos ^ std::process::id().wrapping_mul(2_654_435_761)
}

/// The text of a `227` reply for a listener on `addr`.
pub fn pasv_text(addr: SocketAddrV4) -> String {
    let [h1, h2, h3, h4] = addr.ip().octets();
    let [p1, p2] = addr.port().to_be_bytes();
    format!("Entering Passive Mode ({h1},{h2},{h3},{h4},{p1},{p2}).")
}

/// The text of a `229` reply for a listener on `port`.
pub fn epsv_text(port: u16) -> String {
    format!("Entering Extended Passive Mode (|||{port}|)")
}

/// The address in a `227` reply's text: six numbers, found wherever they
/// are (servers word the rest differently, some without parentheses).
pub fn parse_pasv(text: &str) -> Option<SocketAddrV4> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let numbers: Vec<u8> = text[start..]
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .take(6)
        .map(|s| s.parse().ok())
        .collect::<Option<_>>()?;
    let [h1, h2, h3, h4, p1, p2] = numbers[..] else {
        return None;
    };
    Some(SocketAddrV4::new(
        Ipv4Addr::new(h1, h2, h3, h4),
        u16::from_be_bytes([p1, p2]),
    ))
}

/// The port in a `229` reply's text: `(|||port|)` (the delimiter may be any
/// character, so read it from the text).
pub fn parse_epsv(text: &str) -> Option<u16> {
    let inner = &text[text.find('(')? + 1..text.rfind(')')?];
    let delimiter = inner.chars().next()?;
    let fields: Vec<&str> = inner.split(delimiter).collect();
    match fields[..] {
        ["", "", "", port, ""] => port.parse().ok().filter(|p| *p > 0),
        _ => None,
    }
}

/// The socket address a client should connect to for `PASV`'s reply, when
/// it ignores the reply's address and uses the control connection's peer
/// (as curl and Python's ftplib do: a hostile server could otherwise
/// point the client at a third machine).
pub fn data_addr(control_peer: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(control_peer, port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_round_trip() {
        let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 50_001);
        assert_eq!(pasv_text(addr), "Entering Passive Mode (127,0,0,1,195,81).");
        assert_eq!(parse_pasv(&pasv_text(addr)), Some(addr));
        assert_eq!(
            parse_pasv("Entering Passive Mode 10,0,0,7,4,1"),
            Some("10.0.0.7:1025".parse().unwrap())
        );
        assert_eq!(parse_epsv(&epsv_text(50_001)), Some(50_001));
        assert_eq!(
            parse_epsv("Extended Passive Mode OK (!!!2121!)"),
            Some(2121)
        );
        assert_eq!(parse_pasv("Entering Passive Mode (127,0,0,1,300,1)."), None);
        assert_eq!(parse_epsv("(|||x|)"), None);
    }

    #[test]
    fn port_ranges_parse_and_are_honoured() {
        assert_eq!(
            "50000-50010".parse(),
            Ok(PortRange {
                first: 50_000,
                last: 50_010
            })
        );
        assert_eq!(
            "6000".parse(),
            Ok(PortRange {
                first: 6000,
                last: 6000
            })
        );
        assert!("50010-50000"
            .parse::<PortRange>()
            .unwrap_err()
            .contains("backwards"));
        assert!("0-10".parse::<PortRange>().is_err());
        assert!("a-b".parse::<PortRange>().is_err());

        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let range = PortRange {
            first: port,
            last: port,
        };
        let err = listen_passive(Ipv4Addr::LOCALHOST.into(), Some(range)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        drop(taken);
        let listener = listen_passive(Ipv4Addr::LOCALHOST.into(), Some(range)).unwrap();
        assert_eq!(listener.local_addr().unwrap().port(), port);
    }
}
