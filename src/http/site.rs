//! A static site: map a request path to a file under one root folder,
//! and never to anything outside it.
//!
//! Confinement works in two steps. First the decoded path is checked word by
//! word: `..`, backslashes and (already refused by the parser) NUL never
//! reach the file system, so `/../etc/passwd`, `/%2e%2e/etc/passwd` and
//! `/..%2fetc/passwd` all stop here. Then the file found is canonicalised
//! (every symlink followed) and must still lie inside the canonical root,
//! so a symlink that points out of the site is refused too.
//!
//! [`Site::respond`] first asks the fast path ([`super::fast`]: the file
//! opened with `openat2(2)` beneath the root, or kept in memory), which
//! gives the same answers more cheaply and hands anything else, such as a
//! symlink on the way, to [`Site::lookup`]. That is speed, not the lesson:
//! read `lookup` to see how a path is confined.

use super::fast::{FastPath, Found};
use super::file_response::file_response;
use super::request::Request;
use super::response::Response;
use super::validators::FileVersion;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The folder a server serves.
#[derive(Debug, Clone)]
pub struct Site {
    root: PathBuf,
    /// The same answers, cheaper (see [`super::fast`]). `None` if the root
    /// could not be opened as a descriptor: then every request takes
    /// [`Site::lookup`].
    fast: Option<FastPath>,
}

/// Where a request path leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A regular file inside the root.
    File(PathBuf),
    /// A directory asked for without its trailing slash: redirect, so that
    /// the page's relative links resolve inside the directory.
    AddSlash,
    /// An error status (400, 403, 404).
    Refused(u16),
}

/// The default `--root`: the sample site shipped with the lab, `site/` at
/// the top of the repository (this crate is its `src/`).
pub fn default_root() -> PathBuf {
    let library = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    library.parent().unwrap_or(library).join("site")
}

impl Site {
    /// Serve the folder `root`; fails with a message a user can act on.
    pub fn open(root: impl AsRef<Path>) -> Result<Site, String> {
        let root = root.as_ref();
        let canonical = root.canonicalize().map_err(|e| {
            format!(
                "cannot open site root {}: {e} — check --root",
                root.display()
            )
        })?;
        if !canonical.is_dir() {
            return Err(format!(
                "site root {} is not a directory — check --root",
                root.display()
            ));
        }
        Ok(Site {
            fast: FastPath::open(&canonical),
            root: canonical,
        })
    }

    /// The same site answered by [`Site::lookup`] alone, without the fast
    /// path: for tests that hold the fast path to the same answers.
    pub fn without_fast_path(&self) -> Site {
        Site {
            fast: None,
            ..self.clone()
        }
    }

    /// The canonical root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The response to a request: GET and HEAD of files, errors otherwise
    /// (and `/work?ms=N`, CPU-bound work: [`super::load`]).
    pub fn respond(&self, request: &Request) -> Response {
        if let Some(response) = super::load::respond_work(request) {
            return response;
        }
        let head_only = match request.method.as_str() {
            "GET" => false,
            "HEAD" => true,
            _ => return Response::error(405).with_header("Allow", "GET, HEAD"),
        };
        let found = self.fast.as_ref().and_then(|fast| fast.find(&request.path));
        let mut response = match found {
            Some(Found::File {
                bytes,
                content_type,
                version,
            }) => file_response(request, bytes, content_type, &version),
            Some(Found::Lookup(lookup)) => self.respond_to_lookup(lookup, request),
            None => self.respond_to_lookup(self.lookup(&request.path), request),
        };
        response.head_only = head_only;
        response
    }

    /// The response for where a path led (the slow path, and the fast
    /// path's redirects and refusals).
    fn respond_to_lookup(&self, lookup: Lookup, request: &Request) -> Response {
        match lookup {
            Lookup::File(file) => match read_with_version(&file) {
                Ok((bytes, version)) => {
                    file_response(request, bytes.into(), content_type(&file), &version)
                }
                Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Response::error(403),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Response::error(404),
                // open(2) failed with EMFILE/ENFILE: the process (or the
                // system) has no descriptor left for the file, because
                // connections hold them all. That is overload, not a bug:
                // 503 tells the client to come back shortly.
                Err(e) if is_out_of_descriptors(&e) => {
                    Response::error(503).with_header("Retry-After", "1")
                }
                Err(_) => Response::error(500),
            },
            Lookup::AddSlash => {
                let raw_path = request.target.split(['?', '#']).next().unwrap_or("/");
                let mut location = format!("{raw_path}/");
                if !request.query.is_empty() {
                    location = format!("{location}?{}", request.query);
                }
                Response::error(301).with_header("Location", location)
            }
            Lookup::Refused(status) => Response::error(status),
        }
    }

    /// [`Site::respond`], and unless `quiet` print one access-log line:
    /// `"GET /style.css HTTP/1.1" 200 383`.
    pub fn respond_and_log(&self, request: &Request, quiet: bool) -> Response {
        let response = self.respond(request);
        if !quiet {
            log_access(request, &response);
        }
        response
    }

    /// Map a decoded request path (`/guide/`) to what it names.
    pub fn lookup(&self, path: &str) -> Lookup {
        if path.contains('\\') || path.contains('\0') {
            return Lookup::Refused(400);
        }
        let mut candidate = self.root.clone();
        for word in path.split('/') {
            match word {
                "" | "." => {}
                ".." => return Lookup::Refused(400),
                word => candidate.push(word),
            }
        }
        let found = match self.confined(&candidate) {
            Ok(found) => found,
            Err(status) => return Lookup::Refused(status),
        };
        if found.is_dir() {
            if !path.ends_with('/') {
                return Lookup::AddSlash;
            }
            return match self.confined(&found.join("index.html")) {
                Ok(index) if index.is_file() => Lookup::File(index),
                Ok(_) => Lookup::Refused(404),
                Err(status) => Lookup::Refused(status),
            };
        }
        if found.is_file() {
            Lookup::File(found)
        } else {
            // A FIFO or a device: opening it could block or worse.
            Lookup::Refused(403)
        }
    }

    /// Follow every symlink; the result must still be inside the root.
    fn confined(&self, candidate: &Path) -> Result<PathBuf, u16> {
        let real = candidate.canonicalize().map_err(|e| match e.kind() {
            io::ErrorKind::PermissionDenied => 403u16,
            _ => 404,
        })?;
        if real.starts_with(&self.root) {
            Ok(real)
        } else {
            Err(403)
        }
    }
}

/// A file's bytes and what its validators are made of, from the one
/// descriptor (what `std::fs::read` does, keeping the `fstat` it makes).
fn read_with_version(file: &Path) -> io::Result<(Vec<u8>, FileVersion)> {
    use std::io::Read;
    let mut opened = std::fs::File::open(file)?;
    let metadata = opened.metadata()?;
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    opened.read_to_end(&mut bytes)?;
    Ok((bytes, FileVersion::of_metadata(&metadata)))
}

/// Did a call fail because no descriptor was free (EMFILE, ENFILE)?
pub fn is_out_of_descriptors(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE) | Some(libc::ENFILE)
    )
}

/// Print [`access_log_line`] on stdout. Not println!, which panics when
/// stdout is a closed pipe (`webserver4g | head`): a log line is not worth
/// the server.
pub fn log_access(request: &Request, response: &Response) {
    let _ = writeln!(
        std::io::stdout().lock(),
        "{}",
        access_log_line(request, response)
    );
}

/// The request line, the status and the body's length, as web servers'
/// access logs print them (the target is printed as sent, so a strange
/// request shows up as it was).
pub fn access_log_line(request: &Request, response: &Response) -> String {
    let target = request.target.escape_debug();
    format!(
        "\"{} {target} HTTP/1.{}\" {} {}",
        request.method,
        request.minor_version,
        response.status,
        response.body.len()
    )
}

/// The Content-Type for a file, by its extension.
pub fn content_type(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match extension.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "txt" | "md" | "rs" | "py" => "text/plain; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request::{parse_request, Limits, Parse};
    use crate::http::response::Body;
    use nix::sys::stat::Mode;
    use std::sync::Arc;

    fn get(site: &Site, target: &str) -> Response {
        let text = format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n");
        match parse_request(text.as_bytes(), &Limits::default()) {
            Parse::Complete { request, .. } => site.respond(&request),
            Parse::Invalid(response) => response,
            Parse::Incomplete => panic!("incomplete"),
        }
    }

    fn sample() -> Site {
        Site::open(default_root()).unwrap()
    }

    #[test]
    fn serves_files_and_directory_indexes() {
        let site = sample();
        let index = get(&site, "/");
        assert_eq!(index.status, 200);
        assert_eq!(
            index.body,
            std::fs::read(default_root().join("index.html")).unwrap()
        );
        assert!(index
            .headers
            .contains(&("Content-Type".into(), "text/html; charset=utf-8".into())));
        assert_eq!(get(&site, "/guide/").status, 200);
        assert_eq!(get(&site, "/images/icon.png").status, 200);
        assert_eq!(get(&site, "/no-such-file").status, 404);
    }

    #[test]
    fn the_access_log_line() {
        let text = b"GET /hello.txt HTTP/1.1\r\n\r\n";
        let Parse::Complete { request, .. } = parse_request(text, &Limits::default()) else {
            panic!()
        };
        let response = sample().respond(&request);
        assert_eq!(
            access_log_line(&request, &response),
            "\"GET /hello.txt HTTP/1.1\" 200 13"
        );
    }

    #[test]
    fn a_directory_without_its_slash_is_redirected() {
        let response = get(&sample(), "/guide?x=1");
        assert_eq!(response.status, 301);
        assert!(response
            .headers
            .contains(&("Location".into(), "/guide/?x=1".into())));
    }

    #[test]
    fn only_get_and_head() {
        let site = sample();
        let text = b"DELETE / HTTP/1.1\r\n\r\n";
        let Parse::Complete { request, .. } = parse_request(text, &Limits::default()) else {
            panic!()
        };
        assert_eq!(site.respond(&request).status, 405);
    }

    #[test]
    fn traversal_never_leaves_the_root() {
        let site = sample();
        for target in [
            "/../Cargo.toml",
            "/%2e%2e/Cargo.toml",
            "/%2E%2E%2FCargo.toml",
            "/guide/../../Cargo.toml",
            "/..%5cCargo.toml",
            "/guide\\..\\..\\Cargo.toml",
            "/%00",
            "//etc/passwd",
            "/etc/passwd",
            "http://host/../Cargo.toml",
        ] {
            let response = get(&site, target);
            assert!(
                response.status >= 400,
                "{target} was answered {}",
                response.status
            );
        }
    }

    /// The fast path answers every kind of target exactly as the
    /// canonicalising lookup does: same status, headers and body.
    #[test]
    fn the_fast_path_answers_as_the_lookup_does() {
        let dir = std::env::temp_dir().join(format!("lsbaws-site-fast-{}", std::process::id()));
        let root = dir.join("root");
        std::fs::create_dir_all(root.join("sub/empty")).unwrap();
        std::fs::write(dir.join("outside.txt"), "outside").unwrap();
        std::fs::write(root.join("page.html"), "<p>page</p>").unwrap();
        std::fs::write(root.join("sub/index.html"), "index").unwrap();
        std::fs::write(root.join("sub/data.json"), "{}").unwrap();
        std::os::unix::fs::symlink("page.html", root.join("alias")).unwrap();
        std::os::unix::fs::symlink(root.join("sub"), root.join("linked-dir")).unwrap();
        std::os::unix::fs::symlink("../outside.txt", root.join("escape.txt")).unwrap();
        nix::unistd::mkfifo(&root.join("pipe"), Mode::from_bits_truncate(0o600)).unwrap();
        let fast = Site::open(&root).unwrap();
        assert!(fast.fast.is_some(), "the fast path is in use");
        let slow = Site {
            fast: None,
            ..fast.clone()
        };
        for target in [
            "/",
            "/page.html",
            "/page.html/",
            "/./page.html",
            "/sub",
            "/sub/",
            "/sub/data.json",
            "/sub/empty/",
            "/sub/nothing",
            "/nothing/x",
            "/page.html/x",
            "/alias",
            "/linked-dir/",
            "/linked-dir/data.json",
            "/escape.txt",
            "/pipe",
            "/sub/../page.html",
            "/sub%5cx",
        ] {
            assert_eq!(get(&fast, target), get(&slow, target), "{target}");
        }
        // A symlink is judged by its target's name, as canonicalize sees it.
        assert!(get(&fast, "/alias")
            .headers
            .contains(&("Content-Type".into(), "text/html; charset=utf-8".into())));
        assert_eq!(get(&fast, "/pipe").status, 403);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A big file is read once and then sent from the cache's copy: the
    /// same bytes, shared, for every request (no read, no allocation).
    #[test]
    fn a_big_file_is_served_from_the_cache_without_a_copy() {
        let site = Site::open(default_root()).unwrap();
        let first = get(&site, "/files/one-mebibyte.bin");
        let second = get(&site, "/files/one-mebibyte.bin");
        assert_eq!(first.body.len(), 1 << 20);
        assert_eq!(
            *first.body,
            std::fs::read(default_root().join("files/one-mebibyte.bin")).unwrap()[..]
        );
        match (&first.body, &second.body) {
            (Body::Shared(a), Body::Shared(b)) => {
                assert!(Arc::ptr_eq(a, b), "two copies of the cached file")
            }
            _ => panic!("the 1 MiB file was not kept by the cache"),
        }
    }

    /// Cached files are never served stale: every change on disk
    /// (content, rename over, a directory swapped for a symlink out) shows
    /// in the next response, exactly as the uncached lookup sees it.
    #[test]
    fn cached_files_follow_every_change_on_disk() {
        let dir = std::env::temp_dir().join(format!("lsbaws-site-cache-{}", std::process::id()));
        let root = dir.join("root");
        std::fs::create_dir_all(root.join("docs")).unwrap();
        std::fs::create_dir_all(dir.join("elsewhere")).unwrap();
        std::fs::write(root.join("docs/a.txt"), "first").unwrap();
        std::fs::write(root.join("b.txt"), "bee").unwrap();
        std::fs::write(dir.join("elsewhere/a.txt"), "secret").unwrap();
        let fast = Site::open(&root).unwrap();
        let slow = Site {
            fast: None,
            ..fast.clone()
        };
        let cache = &fast.fast.as_ref().unwrap().cache;
        let same = |target: &str| {
            let response = get(&fast, target);
            assert_eq!(response, get(&slow, target), "{target}");
            response
        };
        // Just written: not cached yet (a change within the same clock
        // tick could keep the same times).
        assert_eq!(same("/b.txt").body, b"bee");
        std::fs::write(root.join("b.txt"), "BEE").unwrap();
        assert_eq!(same("/b.txt").body, b"BEE");
        // Settled files are cached...
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert_eq!(same("/docs/a.txt").body, b"first");
        let root_dir = &fast.fast.as_ref().unwrap().root;
        assert!(cache.get(root_dir, "/docs/a.txt").is_some(), "cached");
        // ...and every change is seen at once.
        std::fs::write(root.join("docs/a.txt"), "other").unwrap();
        assert_eq!(same("/docs/a.txt").body, b"other");
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert_eq!(same("/docs/a.txt").body, b"other");
        std::fs::write(root.join("docs/new.txt"), "renamed over").unwrap();
        std::fs::rename(root.join("docs/new.txt"), root.join("docs/a.txt")).unwrap();
        assert_eq!(same("/docs/a.txt").body, b"renamed over");
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert_eq!(same("/docs/a.txt").body, b"renamed over");
        // Sixteen pipelined requests in one read: one check serves them all.
        let checks = cache.checks();
        let mut session = crate::http::Session::new(Limits::default());
        session.receive(&b"GET /docs/a.txt HTTP/1.1\r\n\r\n".repeat(16), |r| {
            fast.respond(r)
        });
        assert_eq!(
            String::from_utf8_lossy(session.pending())
                .matches("renamed over")
                .count(),
            16
        );
        assert_eq!(cache.checks() - checks, 1);
        // The next read is a new batch: checked again, and a change is seen.
        std::fs::write(root.join("docs/a.txt"), "changed again").unwrap();
        session.wrote(session.pending().len());
        session.receive(b"GET /docs/a.txt HTTP/1.1\r\n\r\n", |r| fast.respond(r));
        assert!(String::from_utf8_lossy(session.pending()).ends_with("changed again"));
        std::fs::rename(root.join("docs"), dir.join("docs-moved")).unwrap();
        std::os::unix::fs::symlink(dir.join("elsewhere"), root.join("docs")).unwrap();
        assert_eq!(same("/docs/a.txt").status, 403);
        std::fs::remove_file(root.join("docs")).unwrap();
        assert_eq!(same("/docs/a.txt").status, 404);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn symlinks_out_of_the_root_are_refused() {
        let dir = std::env::temp_dir().join(format!("lsbaws-site-test-{}", std::process::id()));
        let root = dir.join("root");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(dir.join("secret.txt"), "secret").unwrap();
        std::fs::write(root.join("inside.txt"), "inside").unwrap();
        std::os::unix::fs::symlink(dir.join("secret.txt"), root.join("link.txt")).unwrap();
        std::os::unix::fs::symlink(root.join("inside.txt"), root.join("ok.txt")).unwrap();
        let site = Site::open(&root).unwrap();
        assert_eq!(get(&site, "/link.txt").status, 403);
        assert_eq!(get(&site, "/ok.txt").body, b"inside");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
