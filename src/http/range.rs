//! `Range: bytes=...`: the part of a file a client asks for (RFC 9110
//! section 14). A video player seeking, or `curl -C -` resuming a download,
//! asks for one range: it gets `206 Partial Content` and those bytes. A
//! range that starts past the end cannot be served: `416`.
//!
//! Several ranges in one request (`bytes=0-9,20-29`) would need a
//! `multipart/byteranges` body; this server answers them with the whole
//! file (`200`), which RFC 9110 allows: a server may always ignore `Range`.
//! So is a header it cannot parse, or a unit other than bytes.

/// What a `Range` header asks of a file of a given length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// The whole file: no usable range (absent, malformed, another unit).
    Whole,
    /// Several ranges: answered with the whole file too (see the module).
    Several,
    /// One range of bytes: `start..end`, within the file.
    Part { start: u64, end: u64 },
    /// One range that no byte of the file satisfies: 416.
    Unsatisfiable,
}

/// Read a `Range` header for a file of `len` bytes.
pub fn parse(header: &str, len: u64) -> Wanted {
    let Some((unit, specs)) = header.split_once('=') else {
        return Wanted::Whole;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return Wanted::Whole;
    }
    let mut specs = specs.split(',').map(str::trim).filter(|s| !s.is_empty());
    let (Some(spec), None) = (specs.next(), specs.next()) else {
        return if specs_are_valid(header) {
            Wanted::Several
        } else {
            Wanted::Whole
        };
    };
    let Some((first, last)) = spec.split_once('-') else {
        return Wanted::Whole;
    };
    match (number(first), number(last)) {
        // `-500`: the last 500 bytes.
        (None, Some(suffix)) if first.is_empty() => {
            if suffix == 0 || len == 0 {
                Wanted::Unsatisfiable
            } else {
                Wanted::Part {
                    start: len.saturating_sub(suffix),
                    end: len,
                }
            }
        }
        // `500-`: from byte 500 to the end.
        (Some(start), None) if last.is_empty() => from(start, len, len),
        // `500-999`: bytes 500 to 999, the end clipped to the file.
        (Some(start), Some(end)) if end >= start => from(start, end.saturating_add(1), len),
        _ => Wanted::Whole,
    }
}

fn from(start: u64, end: u64, len: u64) -> Wanted {
    if start >= len {
        Wanted::Unsatisfiable
    } else {
        Wanted::Part {
            start,
            end: end.min(len),
        }
    }
}

/// Is every range of the header well formed? (Several ranges that are
/// valid are answered in full; so are invalid ones, but they are a
/// different case to name.)
fn specs_are_valid(header: &str) -> bool {
    let specs = header.split_once('=').map_or("", |(_, specs)| specs);
    let mut any = false;
    for spec in specs.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        any = true;
        let Some((first, last)) = spec.split_once('-') else {
            return false;
        };
        let ok = match (number(first), number(last)) {
            (None, Some(_)) => first.is_empty(),
            (Some(_), None) => last.is_empty(),
            (Some(a), Some(b)) => b >= a,
            (None, None) => false,
        };
        if !ok {
            return false;
        }
    }
    any
}

/// A decimal position: digits only (a number too big for 64 bits is past
/// any file's end).
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(start: u64, end: u64) -> Wanted {
        Wanted::Part { start, end }
    }

    #[test]
    fn one_range_in_each_form() {
        assert_eq!(parse("bytes=0-99", 1000), part(0, 100));
        assert_eq!(parse("bytes=500-", 1000), part(500, 1000));
        assert_eq!(parse("bytes=-100", 1000), part(900, 1000));
        assert_eq!(parse("Bytes = 10-10", 1000), part(10, 11));
    }

    #[test]
    fn ranges_past_the_end_are_clipped_or_unsatisfiable() {
        assert_eq!(parse("bytes=900-5000", 1000), part(900, 1000));
        assert_eq!(
            parse("bytes=0-99999999999999999999999", 1000),
            part(0, 1000)
        );
        assert_eq!(parse("bytes=-5000", 1000), part(0, 1000));
        assert_eq!(parse("bytes=1000-", 1000), Wanted::Unsatisfiable);
        assert_eq!(parse("bytes=1000-1001", 1000), Wanted::Unsatisfiable);
        assert_eq!(parse("bytes=-0", 1000), Wanted::Unsatisfiable);
        assert_eq!(parse("bytes=0-", 0), Wanted::Unsatisfiable);
        assert_eq!(parse("bytes=-1", 0), Wanted::Unsatisfiable);
    }

    #[test]
    fn malformed_or_other_units_mean_the_whole_file() {
        for header in [
            "bytes=5-1",
            "bytes=a-b",
            "bytes=-",
            "bytes=",
            "bytes=+1-2",
            "bytes=1",
            "items=0-1",
            "0-99",
        ] {
            assert_eq!(parse(header, 1000), Wanted::Whole, "{header}");
        }
    }

    #[test]
    fn several_ranges_are_named_as_such() {
        assert_eq!(parse("bytes=0-9,20-29", 1000), Wanted::Several);
        assert_eq!(parse("bytes=0-9, -5", 1000), Wanted::Several);
        assert_eq!(parse("bytes=0-9, , ", 1000), part(0, 10));
        assert_eq!(parse("bytes=0-9,x", 1000), Wanted::Whole);
    }
}
