//! A file's response as a real server sends it: with its validators
//! (`Last-Modified`, `ETag`) and `Accept-Ranges: bytes`; `304 Not
//! Modified` with no body when the client's copy is current; `206
//! Partial Content` for a range, `416` for a range past the end. Both
//! [`super::Site`]'s paths (the lookup and the fast path) answer through
//! [`file_response`], so every Part 4 model sends the same.
//!
//! The order is RFC 9110's (section 13.2.2): `If-None-Match`, or when it is
//! absent `If-Modified-Since`, decides a 304; only then is `Range` looked
//! at, and `If-Range` may cancel it. HEAD gets the headers GET would get,
//! without the body; `Range` is defined for GET only, so a HEAD with a
//! `Range` is answered as a HEAD without one (200).

use super::range::{self, Wanted};
use super::request::Request;
use super::response::{Body, Response};
use super::validators::{FileVersion, Validators};

// ANCHOR: file_response
/// The response to GET or HEAD `request` for a file of this `version`,
/// whose bytes are `bytes`.
pub fn file_response(
    request: &Request,
    bytes: Body,
    content_type: &'static str,
    version: &FileVersion,
) -> Response {
    let validators = Validators::for_file(version, super::date::now());
    if is_current(request, &validators) {
        let mut response = Response::new(304)
            .with_header("Last-Modified", validators.last_modified_text())
            .with_header("ETag", validators.etag());
        // A 304's Content-Length would have to be the file's; none is
        // simpler, and a 304 never has a body.
        response.content_length = false;
        return response;
    }
    let len = bytes.len() as u64;
    let wanted = match request.header("range") {
        Some(header) if request.method == "GET" => match request.header("if-range") {
            Some(if_range) if !validators.if_range_holds(if_range) => Wanted::Whole,
            _ => range::parse(header, len),
        },
        _ => Wanted::Whole,
    };
    let with_validators = |response: Response| {
        response
            .with_header("Last-Modified", validators.last_modified_text())
            .with_header("ETag", validators.etag())
            .with_header("Accept-Ranges", "bytes")
    };
    match wanted {
        Wanted::Whole | Wanted::Several => {
            with_validators(Response::new(200).with_body(bytes, content_type))
        }
        Wanted::Part { start, end } => {
            let content_range = format!("bytes {start}-{}/{len}", end - 1);
            let part = bytes.slice(start as usize..end as usize);
            with_validators(Response::new(206).with_body(part, content_type))
                .with_header("Content-Range", content_range)
        }
        Wanted::Unsatisfiable => {
            Response::error(416).with_header("Content-Range", format!("bytes */{len}"))
        }
    }
}

// ANCHOR_END: file_response

/// Does the client already hold this version (a 304)? `If-None-Match`
/// decides when present; `If-Modified-Since` only when it is absent.
fn is_current(request: &Request, validators: &Validators) -> bool {
    if let Some(tags) = request.header("if-none-match") {
        return validators.none_match_fails(tags);
    }
    request
        .header("if-modified-since")
        .is_some_and(|since| validators.not_modified_since(since))
}

#[cfg(test)]
mod tests {
    use crate::http::request::{parse_request, Limits, Parse};
    use crate::http::{Response, Site};

    fn ask(site: &Site, head: &str) -> Response {
        let text = format!("{head}\r\nHost: t\r\n\r\n");
        match parse_request(text.as_bytes(), &Limits::default()) {
            Parse::Complete { request, .. } => site.respond(&request),
            other => panic!("{other:?}"),
        }
    }

    fn header<'a>(response: &'a Response, name: &str) -> &'a str {
        response
            .headers
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// A file just written gets a weak tag (two writes within one clock
    /// tick could share it), good for a 304 but not for `If-Range`; once
    /// settled its tag is strong. The fast path and the lookup agree on
    /// every answer.
    #[test]
    fn fresh_files_get_weak_tags_and_both_paths_answer_alike() {
        let dir = std::env::temp_dir().join(format!("lsbaws-file-response-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.txt"), "0123456789").unwrap();
        let fast = Site::open(&dir).unwrap();
        let slow = fast.without_fast_path();
        let fresh = ask(&fast, "GET /a.txt HTTP/1.1");
        let tag = header(&fresh, "ETag").to_string();
        assert!(tag.starts_with("W/\""), "{tag}");
        let revalidated = ask(
            &fast,
            &format!("GET /a.txt HTTP/1.1\r\nIf-None-Match: {tag}"),
        );
        assert_eq!(revalidated.status, 304);
        assert!(revalidated.body.is_empty() && !revalidated.content_length);
        let if_range = format!("GET /a.txt HTTP/1.1\r\nRange: bytes=2-3\r\nIf-Range: {tag}");
        assert_eq!(ask(&fast, &if_range).status, 200);
        std::thread::sleep(std::time::Duration::from_millis(1100));
        let tag = header(&ask(&fast, "GET /a.txt HTTP/1.1"), "ETag").to_string();
        assert!(tag.starts_with('"'), "{tag}");
        let modified = header(&ask(&fast, "GET /a.txt HTTP/1.1"), "Last-Modified").to_string();
        for head in [
            "GET /a.txt HTTP/1.1".to_string(),
            "HEAD /a.txt HTTP/1.1".to_string(),
            format!("GET /a.txt HTTP/1.1\r\nIf-None-Match: {tag}"),
            format!("GET /a.txt HTTP/1.1\r\nIf-Modified-Since: {modified}"),
            "GET /a.txt HTTP/1.1\r\nRange: bytes=2-3".to_string(),
            "GET /a.txt HTTP/1.1\r\nRange: bytes=-3".to_string(),
            "GET /a.txt HTTP/1.1\r\nRange: bytes=10-".to_string(),
            "GET /a.txt HTTP/1.1\r\nRange: bytes=0-1,4-5".to_string(),
            format!("GET /a.txt HTTP/1.1\r\nRange: bytes=2-3\r\nIf-Range: {tag}"),
        ] {
            assert_eq!(ask(&fast, &head), ask(&slow, &head), "{head}");
        }
        let part = ask(
            &fast,
            &format!("GET /a.txt HTTP/1.1\r\nRange: bytes=2-3\r\nIf-Range: {tag}"),
        );
        assert_eq!((part.status, &*part.body), (206, &b"23"[..]));
        assert_eq!(header(&part, "Content-Range"), "bytes 2-3/10");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
