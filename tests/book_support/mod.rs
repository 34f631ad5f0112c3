//! Building the book with mdBook, for the tests that check the built book
//! (tests/book.rs: links and images; tests/browser.rs: how Chromium
//! renders it).

#![allow(dead_code)] // each test file uses part of it

use std::fs;
use std::path::{Path, PathBuf};

/// The mdBook release the book is written for (`book/book.toml` uses its
/// configuration format; 0.4 cannot read it). `.ci/run` installs this one.
pub const MDBOOK_VERSION: &str = "0.5.4";

/// The one line that says how to get the right mdBook.
pub fn install_hint() -> String {
    format!("cargo install mdbook --version {MDBOOK_VERSION} --locked")
}

/// The version an mdBook binary reports (`mdbook v0.5.4` -> `0.5.4`), or
/// `None` when it does not run.
fn version_of(mdbook: &Path) -> Option<String> {
    let output = std::process::Command::new(mdbook)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let text = String::from_utf8_lossy(&output.stdout);
    let version = text.split_whitespace().last()?.trim_start_matches('v');
    Some(version.to_string())
}

/// Can this version build the book? Any 0.5 release reads its book.toml.
fn compatible(version: &str) -> bool {
    let wanted: Vec<&str> = MDBOOK_VERSION.split('.').take(2).collect();
    let found: Vec<&str> = version.split('.').take(2).collect();
    wanted == found
}

/// What looking for mdBook found.
pub enum Found {
    /// An mdBook that builds the book.
    Usable(PathBuf),
    /// Only mdBooks of another release: where, and which version.
    WrongVersion(PathBuf, String),
    /// None at all.
    Missing,
}

/// mdBook, if this machine has it: `$MDBOOK`, `mdbook` on PATH, or
/// `~/.cargo/bin/mdbook` (where `cargo install mdbook` puts it); the first
/// of those of a compatible release.
pub fn find_mdbook() -> Found {
    let mut candidates: Vec<PathBuf> = std::env::var_os("MDBOOK")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    candidates.push(PathBuf::from("mdbook"));
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(Path::new(&home).join(".cargo/bin/mdbook"));
    }
    let mut wrong = None;
    for candidate in candidates {
        match version_of(&candidate) {
            Some(version) if compatible(&version) => return Found::Usable(candidate),
            Some(version) => {
                wrong.get_or_insert((candidate, version));
            }
            None => {}
        }
    }
    match wrong {
        Some((path, version)) => Found::WrongVersion(path, version),
        None => Found::Missing,
    }
}

/// Why there is no usable mdBook, in one line, or `None` if there is one.
pub fn mdbook_problem() -> Option<String> {
    match find_mdbook() {
        Found::Usable(_) => None,
        Found::WrongVersion(path, version) => Some(format!(
            "{} is mdBook {version}, but this book needs mdBook {MDBOOK_VERSION}: `{}`",
            path.display(),
            install_hint()
        )),
        Found::Missing => Some(format!("mdbook is not installed: `{}`", install_hint())),
    }
}

/// The release of mdbook-i18n-helpers (`mdbook-gettext`, which makes the
/// Chinese edition from book/po/zh-CN.po) that `.ci/run` installs.
pub const I18N_HELPERS_VERSION: &str = "0.4.0";

/// The one line that says how to get `mdbook-gettext`.
pub fn gettext_install_hint() -> String {
    format!("cargo install mdbook-i18n-helpers --version {I18N_HELPERS_VERSION} --locked")
}

/// The folder of the Chinese edition (`zh-CN`) inside a built book, if it
/// was built.
pub fn chinese_edition(book: &Path) -> Option<PathBuf> {
    let dir = book.join("zh-CN");
    dir.join("index.html").is_file().then_some(dir)
}

/// The mdBook to build with, or `None` with a one-line note when there is
/// none of the right release (under CI, a failure).
pub fn usable_mdbook() -> Option<PathBuf> {
    match find_mdbook() {
        Found::Usable(path) => Some(path),
        _ => {
            let problem = mdbook_problem().unwrap_or_default();
            assert!(std::env::var_os("CI").is_none(), "{problem}");
            eprintln!("note: the book is not checked: {problem}");
            None
        }
    }
}

/// PATH with the folder of `mdbook` first (see [`path_with`]).
pub fn path_with_mdbook(mdbook: &Path) -> std::ffi::OsString {
    path_with(mdbook)
}

/// PATH with the folder of `mdbook` first, so that the preprocessors next
/// to it (`cargo install` puts them in one folder) are found too.
fn path_with(mdbook: &Path) -> std::ffi::OsString {
    let mut dirs: Vec<PathBuf> = mdbook
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .into_iter()
        .collect();
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).unwrap_or_default()
}

/// Does `mdbook-gettext` run, with this PATH?
fn has_gettext(path: &std::ffi::OsStr) -> bool {
    std::process::Command::new("mdbook-gettext")
        .args(["supports", "html"])
        .env("PATH", path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Build the book into a scratch folder and return the folder: the English
/// edition, with the Chinese one in its `zh-CN` folder (`book/i18n build`,
/// what `.ci/run` builds). `None` (with a one-line note) when no mdBook of
/// the right release is installed, except under CI, where that is a
/// failure. Without `mdbook-gettext` only the English edition is built
/// (with a one-line note; under CI a failure).
pub fn build_book(tag: &str) -> Option<PathBuf> {
    let mdbook = match find_mdbook() {
        Found::Usable(path) => path,
        _ => {
            let problem = mdbook_problem().unwrap_or_default();
            assert!(std::env::var_os("CI").is_none(), "{problem}");
            eprintln!("note: the built book is not checked: {problem}");
            return None;
        }
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dest = std::env::temp_dir().join(format!("lsbaws-book-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dest);
    let path = path_with(&mdbook);
    let both = has_gettext(&path);
    let output = if both {
        std::process::Command::new("bash")
            .arg(root.join("book/i18n"))
            .arg("build")
            .arg(&dest)
            .env("PATH", &path)
            .output()
            .expect("running book/i18n build")
    } else {
        let problem = format!(
            "mdbook-gettext is not installed: `{}`",
            gettext_install_hint()
        );
        assert!(std::env::var_os("CI").is_none(), "{problem}");
        eprintln!("note: the Chinese edition is not checked: {problem}");
        std::process::Command::new(&mdbook)
            .arg("build")
            .arg(root.join("book"))
            .arg("--dest-dir")
            .arg(&dest)
            .env("PATH", &path)
            .output()
            .expect("running mdbook")
    };
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // mdBook logs a missing {{#include}} as ERROR and still exits 0; a
    // warning is a page that renders wrong. Without mdbook-gettext, mdBook
    // warns that the optional preprocessor is missing: that one is said above.
    let complaints: Vec<&str> = log
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            (l.starts_with("ERROR") || l.starts_with("WARN"))
                && !(!both && l.contains("mdbook-gettext") && l.contains("optional"))
        })
        .collect();
    assert!(
        output.status.success() && complaints.is_empty(),
        "mdbook build failed or warned:\n{log}"
    );
    assert!(
        !both || chinese_edition(&dest).is_some(),
        "book/i18n build made no Chinese edition in {}:\n{log}",
        dest.display()
    );
    Some(dest)
}
