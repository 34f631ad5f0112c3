//! Static files as real servers send them, as real clients see them: every
//! Part 4 model sends `Date`, `Last-Modified`, `ETag` and `Accept-Ranges`;
//! curl revalidates (304) and resumes a download (`curl -C -`, 206) into a
//! byte-identical file; Python's `http.client` walks RFC 9110's conditional
//! and range cases over one kept-alive connection, so a 304 without a body
//! must leave the connection ready for the next response.
//!
//! The shared HTTP core answers for every model (`lsbaws::http::file_response`);
//! the tests run the real binaries on port 0 through the harness, which
//! kills and reaps them.

use lsbaws::http::site::default_root;
use lsbaws_harness::{Launch, ScratchDir, Server};
use std::process::{Command, Output};
use std::time::Duration;

/// Every Part 4 model that serves the site.
const MODELS: &[&str] = &[
    "webserver4a",
    "webserver4b",
    "webserver4h",
    "webserver4c",
    "webserver4d",
    "webserver4s",
    "webserver4p",
    "webserver4e",
    "webserver4f",
    "webserver4g",
    "webserver4u",
    "webserver4v",
];

const MEBIBYTE_FILE: &str = "files/one-mebibyte.bin";

fn start(name: &str) -> Server {
    Launch::new(name).start().unwrap()
}

fn curl(args: &[&str]) -> Output {
    let output = Command::new("curl")
        .args(["--silent", "--show-error", "--max-time", "20"])
        .args(args)
        .output()
        .expect("running curl (is it installed?)");
    assert!(
        output.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The header lines of a head, lower-cased names, without `Date` (the
/// clock may tick between two requests).
fn header_lines_without_date(head: &str) -> Vec<String> {
    head.lines()
        .map(str::trim_end)
        .filter(|line| !line.is_empty() && !line.to_ascii_lowercase().starts_with("date:"))
        .map(|line| match line.split_once(':') {
            Some((name, value)) => format!("{}:{value}", name.to_ascii_lowercase()),
            None => line.to_string(),
        })
        .collect()
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn every_model_sends_date_validators_and_accept_ranges_and_head_matches_get() {
    for name in MODELS {
        let server = start(name);
        let url = format!("http://{}/hello.txt", server.addr());
        let head = String::from_utf8(curl(&["-I", &url]).stdout).unwrap();
        for wanted in ["Date", "Last-Modified", "ETag", "Accept-Ranges"] {
            assert!(
                header(&head, wanted).is_some(),
                "{name}: no {wanted} in\n{head}"
            );
        }
        assert_eq!(header(&head, "Accept-Ranges"), Some("bytes"), "{name}");
        let date = header(&head, "Date").unwrap();
        assert!(
            date.ends_with(" GMT") && date.len() == 29,
            "{name}: Date {date:?} is not an IMF-fixdate"
        );
        // GET: the same headers, then the body.
        let get = String::from_utf8(curl(&["-i", &url]).stdout).unwrap();
        let (get_head, body) = get.split_once("\r\n\r\n").unwrap();
        assert_eq!(body, "Hello, World!", "{name}");
        assert_eq!(
            header_lines_without_date(get_head),
            header_lines_without_date(&head),
            "{name}: HEAD and GET differ in more than the body"
        );
    }
}

#[test]
fn curl_revalidates_with_an_etag_and_a_date_and_gets_304() {
    let server = start("webserver4g");
    let scratch = ScratchDir::new("revalidate").unwrap();
    let url = format!("http://{}/style.css", server.addr());
    let etag_file = scratch.path().join("etag");
    let etag_file = etag_file.to_str().unwrap();
    let first = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--etag-save",
        etag_file,
        &url,
    ]);
    assert_eq!(first.stdout, b"200");
    let again = curl(&["-i", "--etag-compare", etag_file, &url]);
    let text = String::from_utf8(again.stdout).unwrap();
    assert!(text.starts_with("HTTP/1.1 304 Not Modified\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\n"), "a 304 has no body: {text:?}");
    assert!(header(&text, "Content-Length").is_none(), "{text}");
    // If-Modified-Since, from the Last-Modified just sent.
    let head = String::from_utf8(curl(&["-I", &url]).stdout).unwrap();
    let since = format!(
        "If-Modified-Since: {}",
        header(&head, "Last-Modified").unwrap()
    );
    let by_date = curl(&["-o", "/dev/null", "-w", "%{http_code}", "-H", &since, &url]);
    assert_eq!(by_date.stdout, b"304");
    let old = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        "If-Modified-Since: Thu, 01 Jan 1970 00:00:00 GMT",
        &url,
    ]);
    assert_eq!(old.stdout, b"200");
    server
        .wait_until(
            Duration::from_secs(10),
            "the access log shows the 304s",
            |s| {
                s.stdout()
                    .matches("\"GET /style.css HTTP/1.1\" 304 0")
                    .count()
                    == 2
            },
        )
        .unwrap();
}

#[test]
fn curl_resumes_a_download_into_a_byte_identical_file() {
    let server = start("webserver4g");
    let original = std::fs::read(default_root().join(MEBIBYTE_FILE)).unwrap();
    let scratch = ScratchDir::new("resume").unwrap();
    let partial = scratch.path().join("download.bin");
    // A download cut off after 300,000 bytes...
    std::fs::write(&partial, &original[..300_000]).unwrap();
    let url = format!("http://{}/{MEBIBYTE_FILE}", server.addr());
    // ...resumed: curl asks for `bytes=300000-` and appends what it gets.
    let resumed = curl(&[
        "-C",
        "-",
        "-o",
        partial.to_str().unwrap(),
        "-w",
        "%{http_code} %{size_download}",
        &url,
    ]);
    assert_eq!(
        String::from_utf8(resumed.stdout).unwrap(),
        format!("206 {}", original.len() - 300_000)
    );
    assert!(
        std::fs::read(&partial).unwrap() == original,
        "the resumed file differs from the original"
    );
    server
        .wait_until(
            Duration::from_secs(10),
            "the access log shows the 206",
            |s| {
                s.stdout()
                    .contains(&format!("\"GET /{MEBIBYTE_FILE} HTTP/1.1\" 206 748576"))
            },
        )
        .unwrap();
}

/// Python's http.client on one kept-alive connection: each case's status,
/// headers and body, as RFC 9110 says. It prints `ok` and nothing else.
const PYTHON_CLIENT: &str = r#"
import http.client, sys
host, port, path, size = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
whole = open(sys.argv[5], "rb").read()
conn = http.client.HTTPConnection(host, port, timeout=10)
def ask(method="GET", **headers):
    conn.request(method, path, headers={k.replace("_", "-"): v for k, v in headers.items()})
    r = conn.getresponse()
    return r, r.read()
def check(what, cond):
    if not cond:
        sys.exit("failed: " + what)
r, body = ask()
check("200 with the file", r.status == 200 and body == whole)
etag, modified = r.getheader("ETag"), r.getheader("Last-Modified")
check("validators", etag.startswith('"') and modified.endswith(" GMT") and r.getheader("Date"))
check("accept-ranges", r.getheader("Accept-Ranges") == "bytes")
h, hbody = ask("HEAD")
check("HEAD: no body, same length", hbody == b"" and h.getheader("Content-Length") == str(size))
check("HEAD: same validators", h.getheader("ETag") == etag and h.getheader("Last-Modified") == modified)
r, body = ask(If_None_Match=etag)
check("If-None-Match -> 304", r.status == 304 and body == b"" and r.getheader("ETag") == etag)
r, body = ask(If_None_Match='"other", W/' + etag)
check("weak comparison -> 304", r.status == 304)
r, body = ask(If_None_Match="*")
check("* -> 304", r.status == 304)
r, body = ask(If_Modified_Since=modified)
check("If-Modified-Since -> 304", r.status == 304 and body == b"")
r, body = ask(If_None_Match='"other"', If_Modified_Since=modified)
check("If-None-Match decides over If-Modified-Since", r.status == 200 and body == whole)
r, body = ask("HEAD", If_None_Match=etag)
check("HEAD is conditional too", r.status == 304)
r, body = ask(Range="bytes=0-99")
check("206", r.status == 206 and body == whole[:100])
check("Content-Range", r.getheader("Content-Range") == "bytes 0-%d/%d" % (min(99, size - 1), size))
r, body = ask(Range="bytes=-10")
check("suffix range", r.status == 206 and body == whole[-10:])
r, body = ask(Range="bytes=%d-" % (size - 1))
check("open range", r.status == 206 and body == whole[-1:])
r, body = ask(Range="bytes=%d-" % size)
check("416", r.status == 416 and r.getheader("Content-Range") == "bytes */%d" % size)
r, body = ask(Range="bytes=0-0,10-19")
check("several ranges -> 200 whole", r.status == 200 and body == whole)
r, body = ask(Range="bytes=9-0")
check("a malformed range is ignored", r.status == 200 and body == whole)
r, body = ask(Range="bytes=10-19", If_Range=etag)
check("If-Range with the tag -> 206", r.status == 206 and body == whole[10:20])
r, body = ask(Range="bytes=10-19", If_Range=modified)
check("If-Range with the date -> 206", r.status == 206 and body == whole[10:20])
r, body = ask(Range="bytes=10-19", If_Range='"older"')
check("If-Range with another tag -> 200 whole", r.status == 200 and body == whole)
r, body = ask(Range="bytes=10-19", If_Range="W/" + etag)
check("If-Range with a weak tag -> 200 whole", r.status == 200 and body == whole)
r, body = ask("HEAD", Range="bytes=0-9")
check("HEAD ignores Range", r.status == 200 and r.getheader("Content-Length") == str(size))
r, body = ask()
check("the connection still works", r.status == 200 and body == whole)
print("ok")
"#;

fn python_client(name: &str, path: &str) {
    let server = start(name);
    let file = default_root().join(path.trim_start_matches('/'));
    let size = std::fs::metadata(&file).unwrap().len().to_string();
    let output = Command::new("python3")
        .args(["-c", PYTHON_CLIENT, "127.0.0.1"])
        .arg(server.port().to_string())
        .args([path, &size])
        .arg(&file)
        .output()
        .expect("running python3");
    assert!(
        output.status.success() && output.stdout == b"ok\n",
        "{name} {path}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // One connection for every case: the 304s left it in step.
    assert_eq!(server.stderr(), "", "{name} wrote to stderr");
}

#[test]
fn python_http_client_sees_conditionals_and_ranges_as_rfc_9110_says() {
    for name in ["webserver4g", "webserver4e", "webserver4f", "webserver4b"] {
        python_client(name, "/hello.txt");
    }
    // A file big enough to be queued apart from its head (and sliced
    // without a copy from the cache).
    python_client("webserver4g", "/files/one-mebibyte.bin");
}
