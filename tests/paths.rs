//! Every repository path named in the sources, the docs, the lessons and the
//! book exists: a comment that says "see `bins/part3/webserver3f.rs`" or a
//! chapter that sends a student to `lessons/3f/README.md` must not outlive a
//! move or a rename. Plain std, no git needed: `cargo test --test paths`.
//!
//! A name is a word that starts with one of the repository's top-level
//! folders ([`TOP`]) followed by `/`, or a relative link to one
//! (`../../bins/...`). It is looked up from the repository's root, a
//! relative link from the file's own folder first; a name inside a crate
//! or the book may also be relative to that crate or book (`src/lib.rs` in
//! `lab/`, `src/output/` in `book/`). Placeholders (`lessons/<step>/`,
//! `book/src/output/{name}.txt`, `lessons/STEP/`, `*`) match any name, and
//! a name that ends in `...` is a prefix. The few names that exist only at
//! run time are in [`RUN_TIME`], each with the reason.

use std::fs;
use std::path::{Path, PathBuf};

/// The top-level folders whose names the check looks for.
const TOP: &[&str] = &[
    "bins", "src", "tests", "examples", "lessons", "lab", "book", "benches", "xtask", "client3",
];

/// Names that are right to mention although no clone holds them: in files
/// under the first folder (any file for ""), names that start with the
/// second, and why.
const RUN_TIME: &[(&str, &str, &str)] = &[
    (
        "",
        "lessons/work",
        "a student's exercise copies: `cargo lab start` creates them, git ignores them",
    ),
    (
        "",
        "book/build",
        "the rendered book: `mdbook build book` writes it",
    ),
    (
        "lab/",
        "src/",
        "the checker and `cargo lab` speak of the files of a student's copy \
         (lessons/work/STEP/src/main.rs), made at run time",
    ),
    (
        "lessons/",
        "src/",
        "a lesson speaks of the files of the student's copy it is read beside",
    ),
];

/// Folders not read: build output, the version control's own, students'
/// copies, and the recorded transcripts (real runs' output, which may name
/// a student's copy under `lessons/work/`).
const SKIPPED: &[&str] = &[
    ".git",
    "target",
    "lessons/work",
    "book/build",
    "book/src/output",
    // This file's fixtures name missing paths on purpose.
    "tests/paths.rs",
];

/// One name that does not exist.
#[derive(Debug, PartialEq, Eq)]
struct Missing {
    file: String,
    line: usize,
    name: String,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: `{}` does not exist",
            self.file, self.line, self.name
        )
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The text files of the repository (relative paths, sorted), outside
/// [`SKIPPED`]; files that are not UTF-8 (images) are left out later.
fn files(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(root.join(&dir))
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let entry = entry.unwrap();
            let relative = dir.join(entry.file_name());
            if SKIPPED
                .iter()
                .any(|s| relative.ends_with(s) || relative == Path::new(s))
            {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                pending.push(relative);
            } else if !matches!(
                relative.extension().and_then(|e| e.to_str()),
                Some("png" | "svg" | "csv" | "lock" | "ico" | "jpg" | "gif" | "bin")
            ) {
                found.push(relative);
            }
        }
    }
    found.sort();
    found
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_.-/<>*{}…".contains(c)
}

/// The path names in `text`, with the line each is on: a [`TOP`] folder
/// and `/` at the start of a word (or after `../`s), up to the first
/// character that cannot be part of a path.
fn names_in(text: &str) -> Vec<(usize, String)> {
    let mut names = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let mut from = 0;
        while let Some(slash) = line[from..].find('/').map(|i| from + i) {
            from = slash + 1;
            let word_start = line[..slash]
                .char_indices()
                .rev()
                .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .map_or(0, |(i, c)| i + c.len_utf8());
            if !TOP.contains(&&line[word_start..slash]) {
                continue;
            }
            // Before the folder: the start of the line, `../`s, or a
            // character that does not continue a path (a space, a quote,
            // a backtick, a parenthesis).
            let mut start = word_start;
            while line[..start].ends_with("../") {
                start -= 3;
            }
            if line[..start].ends_with(|c: char| is_name_char(c) || c == '\\') {
                continue;
            }
            let end = line[slash..]
                .find(|c: char| !is_name_char(c))
                .map_or(line.len(), |i| slash + i);
            from = end.max(from);
            let mut name = &line[start..end];
            // `{{#include ../../lessons/3c/README.md}}`: braces closing
            // something opened before the name are not part of it.
            while name.ends_with('}') && name.matches('}').count() > name.matches('{').count() {
                name = &name[..name.len() - 1];
            }
            names.push((number + 1, name.to_string()));
        }
    }
    names
}

/// Does the segment stand for any name (`<step>`, `{name}.txt`, `STEP`,
/// `FROM-TO.diff`, `*.rs`)?
fn is_placeholder(segment: &str) -> bool {
    let stem = segment.split('.').next().unwrap_or("");
    segment.contains(['<', '{', '*'])
        || stem.len() >= 3
            && stem
                .chars()
                .all(|c| c.is_ascii_uppercase() || c == '-' || c == '_')
}

/// The literal text around a placeholder segment's placeholder: `{name}.txt`
/// matches names that end in `.txt`.
fn matches_placeholder(segment: &str, name: &str) -> bool {
    let open = segment.find(['<', '{', '*']);
    let (prefix, suffix) = match open {
        Some(open) => {
            let close = segment[open..]
                .find(['>', '}', '*'])
                .map_or(segment.len(), |i| open + i + 1);
            (&segment[..open], &segment[close..])
        }
        // STEP, NAME.svg: the capitals are the placeholder.
        None => ("", segment.find('.').map_or("", |dot| &segment[dot..])),
    };
    name.len() > prefix.len() + suffix.len() && name.starts_with(prefix) && name.ends_with(suffix)
}

/// Does some path under `base` match `name` (placeholders matching any
/// name)?
fn exists(base: &Path, name: &str) -> bool {
    // Sentence punctuation is not part of the name; `src/http/...` and
    // `src/http/…` name a prefix, which must exist.
    let name = name.trim_end_matches(['.', ',', ':', ';', '…']);
    let segments: Vec<&str> = name.split('/').filter(|s| !s.is_empty()).collect();
    let mut candidates = vec![base.to_path_buf()];
    for &segment in &segments {
        candidates = candidates
            .iter()
            .flat_map(|dir| {
                if segment == ".." {
                    return dir.parent().map(Path::to_path_buf).into_iter().collect();
                }
                if !is_placeholder(segment) {
                    let path = dir.join(segment);
                    return if path.exists() { vec![path] } else { vec![] };
                }
                fs::read_dir(dir)
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.ok())
                    .filter(|e| matches_placeholder(segment, &e.file_name().to_string_lossy()))
                    .map(|e| e.path())
                    .collect::<Vec<_>>()
            })
            .collect();
        if candidates.is_empty() {
            return false;
        }
    }
    true
}

/// Every name in `text` (the file `file`, relative to `root`) that names
/// nothing.
fn missing_in(root: &Path, file: &Path, text: &str) -> Vec<Missing> {
    let dir = file.parent().unwrap_or(Path::new(""));
    // The crate or book `file` belongs to: relative names inside it may
    // start from its folder.
    let home = dir
        .ancestors()
        .find(|a| {
            !a.as_os_str().is_empty()
                && (root.join(a).join("Cargo.toml").exists()
                    || root.join(a).join("book.toml").exists())
        })
        .map(Path::to_path_buf);
    names_in(text)
        .into_iter()
        .filter(|(_, name)| {
            let plain = name.trim_start_matches("../");
            let allowed = RUN_TIME
                .iter()
                .any(|(under, prefix, _)| file.starts_with(under) && plain.starts_with(prefix))
                // Cargo's build output.
                || plain.split('/').any(|s| s == "target");
            // A relative link is looked up from the file's folder; failing
            // that, from the root, as a page about the book shows a link
            // that a chapter two folders down would write.
            let found = if name.starts_with("../") {
                exists(&root.join(dir), name) || exists(root, plain)
            } else {
                exists(root, name) || home.as_ref().is_some_and(|h| exists(&root.join(h), name))
            };
            !allowed && !found
        })
        .map(|(line, name)| Missing {
            file: file.display().to_string(),
            line,
            name,
        })
        .collect()
}

#[test]
fn every_path_named_in_the_repository_exists() {
    let root = root();
    let mut missing = Vec::new();
    for file in files(&root) {
        let Ok(text) = fs::read_to_string(root.join(&file)) else {
            continue; // not text
        };
        missing.extend(missing_in(&root, &file, &text));
    }
    let report: Vec<String> = missing.iter().map(Missing::to_string).collect();
    assert!(
        missing.is_empty(),
        "{} path names name nothing (fix the name, or, if the path is made at run time, \
         add it to RUN_TIME in tests/paths.rs with the reason):\n{}",
        missing.len(),
        report.join("\n")
    );
}

#[test]
fn a_missing_path_is_reported_with_its_file_and_line() {
    let root = root();
    let fixture = "\
// The server is bins/part3/webserver3f.rs; its lesson is `lessons/3f/README.md`.
// Gone: see bins/part9/webserver9z.rs, and (tests/lab.rs).
// A copy lives in lessons/work/3f/, each step in lessons/<step>/README.md,
// transcripts in book/src/output/{name}.txt; see [the code](../bins/part1/webserver1.rs).
// Not names: a/bins/x, my_src/x, https://example.com/src/nothing.rs
";
    let missing = missing_in(&root, Path::new("tests/fixture.rs"), fixture);
    let at = |line, name: &str| Missing {
        file: "tests/fixture.rs".into(),
        line,
        name: name.into(),
    };
    assert_eq!(
        missing,
        [at(2, "bins/part9/webserver9z.rs"), at(2, "tests/lab.rs")]
    );
    assert_eq!(
        missing[0].to_string(),
        "tests/fixture.rs:2: `bins/part9/webserver9z.rs` does not exist"
    );
}

#[test]
fn placeholders_match_only_what_their_literal_text_allows() {
    let root = root();
    assert!(exists(&root, "lessons/<step>/README.md"));
    assert!(!exists(&root, "lessons/<step>/no-such-file.md"));
    assert!(exists(&root, "bins/PART/webserver1.rs"));
    assert!(exists(&root, "bins/*/webserver3a.rs"));
    assert!(!exists(&root, "bins/{part}.toml"));
    assert!(exists(&root, "src/http/..."));
    assert!(!exists(&root, "src/nowhere/..."));
}
