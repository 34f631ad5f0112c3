//! `TYPE A` (ASCII): on the wire every line ends in CRLF, whatever the
//! machines at either end use. We store files with Unix line ends (LF), so
//! a download in ASCII mode turns each bare LF into CRLF, and an upload
//! turns each CRLF back into LF. `TYPE I` (image, binary) sends the bytes
//! as they are; curl and ftplib use it for every file transfer.
//!
//! A CR and its LF can arrive in different reads, so both directions keep
//! one byte of state across chunks.

/// File bytes to wire bytes: LF becomes CRLF unless a CR already precedes it.
#[derive(Debug, Default)]
pub struct ToNetwork {
    last_was_cr: bool,
}

impl ToNetwork {
    pub fn convert(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        for &byte in chunk {
            if byte == b'\n' && !self.last_was_cr {
                out.push(b'\r');
            }
            out.push(byte);
            self.last_was_cr = byte == b'\r';
        }
    }
}

/// Wire bytes to file bytes: CRLF becomes LF; a lone CR stays.
#[derive(Debug, Default)]
pub struct FromNetwork {
    pending_cr: bool,
}

impl FromNetwork {
    pub fn convert(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        for &byte in chunk {
            if self.pending_cr && byte != b'\n' {
                out.push(b'\r');
            }
            self.pending_cr = byte == b'\r';
            if !self.pending_cr {
                out.push(byte);
            }
        }
    }

    /// The end of the upload: a CR held back waiting for its LF is data.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if std::mem::take(&mut self.pending_cr) {
            out.push(b'\r');
        }
    }
}

/// How many bytes `file` takes on the wire in ASCII mode (what `SIZE`
/// answers after `TYPE A`).
pub fn network_size(file: &mut impl std::io::Read) -> std::io::Result<u64> {
    let mut converter = ToNetwork::default();
    let (mut buf, mut out, mut total) = (vec![0u8; 64 * 1024], Vec::new(), 0u64);
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        out.clear();
        converter.convert(&buf[..n], &mut out);
        total += out.len() as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_chunks<F: FnMut(&[u8], &mut Vec<u8>)>(data: &[u8], size: usize, mut f: F) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in data.chunks(size) {
            f(chunk, &mut out);
        }
        out
    }

    #[test]
    fn line_ends_survive_any_chunking() {
        let file = b"one\ntwo\r\nthree\rfour\n\n";
        let wire = b"one\r\ntwo\r\nthree\rfour\r\n\r\n";
        for size in 1..=file.len() {
            let mut to = ToNetwork::default();
            assert_eq!(
                in_chunks(file, size, |c, o| to.convert(c, o)),
                wire,
                "chunks of {size}"
            );
            let mut from = FromNetwork::default();
            let mut back = in_chunks(wire, size, |c, o| from.convert(c, o));
            from.finish(&mut back);
            assert_eq!(back, b"one\ntwo\nthree\rfour\n\n", "chunks of {size}");
        }
        let mut from = FromNetwork::default();
        let mut out = Vec::new();
        from.convert(b"ends in CR\r", &mut out);
        from.finish(&mut out);
        assert_eq!(out, b"ends in CR\r");
        assert_eq!(network_size(&mut &file[..]).unwrap(), wire.len() as u64);
    }
}
