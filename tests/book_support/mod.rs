//! Building the book with mdBook, for the tests that check the built book
//! (tests/book.rs: links and images; tests/browser.rs: how Chromium
//! renders it).

#![allow(dead_code)] // each test file uses part of it

use std::fs;
use std::path::{Path, PathBuf};

/// mdBook, if this machine has it: `$MDBOOK`, `mdbook` on PATH, or
/// `~/.cargo/bin/mdbook` (where `cargo install mdbook` puts it).
pub fn find_mdbook() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("MDBOOK")
        .map(PathBuf::from)
        .into_iter()
        .collect();
    candidates.push(PathBuf::from("mdbook"));
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(Path::new(&home).join(".cargo/bin/mdbook"));
    }
    candidates.into_iter().find(|c| {
        std::process::Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

/// Build the book into a scratch folder with mdBook and return the folder;
/// `None` (with a note) when mdBook is not installed, except under CI,
/// where that is a failure.
pub fn build_book(tag: &str) -> Option<PathBuf> {
    let Some(mdbook) = find_mdbook() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "mdbook is not installed: `cargo install mdbook --version 0.4.48 --locked`"
        );
        eprintln!("note: mdbook is not installed, so the built book is not checked (cargo install mdbook --version 0.4.48 --locked)");
        return None;
    };
    let dest = std::env::temp_dir().join(format!("lsbaws-book-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dest);
    let output = std::process::Command::new(mdbook)
        .arg("build")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("book"))
        .arg("--dest-dir")
        .arg(&dest)
        .output()
        .expect("running mdbook");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // mdbook 0.4 logs a missing {{#include}} as [ERROR] and still exits 0.
    assert!(
        output.status.success() && !log.contains("[ERROR]"),
        "mdbook build failed:\n{log}"
    );
    Some(dest)
}
