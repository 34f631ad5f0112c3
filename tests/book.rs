//! The book must not rot: every `{{#include}}` in `book/src` points at a
//! file (and anchor) that exists, every binary has a chapter, SUMMARY.md
//! links only files that exist, and the tests the book and README name are
//! real. Plain std, no mdbook needed: `cargo test --test book`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

mod book_support;
use book_support::build_book;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn book_src() -> PathBuf {
    root().join("book/src")
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Every `.md` file under `dir`, recursively, sorted.
fn markdown_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn show(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// One `{{#include ...}}` (or `#rustdoc_include`, `#playground`) link.
#[derive(Debug)]
struct Include {
    /// The markdown file it is in, and the line (1-based).
    from: PathBuf,
    line: usize,
    /// The text between `{{#kind ` and `}}`.
    spec: String,
}

/// The mdBook links in one markdown file. A backslash before `{{#` escapes
/// a link, as in mdBook.
fn includes_in(path: &Path) -> Vec<Include> {
    let text = read(path);
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut rest = line;
        let mut offset = 0;
        while let Some(at) = rest.find("{{#") {
            let escaped = at > 0 && rest.as_bytes()[at - 1] == b'\\';
            let after = &rest[at + 3..];
            let Some(end) = after.find("}}") else {
                panic!("{}:{}: unterminated {{{{# link", show(path), i + 1);
            };
            let body = after[..end].trim();
            let (kind, spec) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
            if !escaped && matches!(kind, "include" | "rustdoc_include" | "playground") {
                found.push(Include {
                    from: path.to_path_buf(),
                    line: i + 1,
                    spec: spec.trim().to_string(),
                });
            }
            offset += at + 3 + end + 2;
            rest = &line[offset..];
        }
    }
    found
}

/// What an include asks for after the path: the whole file, a line range, or
/// an anchor.
#[derive(Debug, PartialEq)]
enum Part {
    Whole,
    Lines(Option<usize>, Option<usize>),
    Anchor(String),
}

/// Split `path[:anchor | :start[:end]]` as mdBook does.
fn parse_spec(spec: &str) -> (String, Part) {
    let spec = spec.split_whitespace().next().unwrap_or("");
    let mut pieces = spec.splitn(3, ':');
    let path = pieces.next().unwrap_or("").to_string();
    let first = pieces.next();
    let second = pieces.next();
    let number = |s: &str| {
        if s.is_empty() {
            Ok(None)
        } else {
            s.parse::<usize>().map(Some)
        }
    };
    let part = match (first, second) {
        (None, _) => Part::Whole,
        (Some(a), None) => match number(a) {
            Ok(start) => Part::Lines(start, start),
            Err(_) => Part::Anchor(a.to_string()),
        },
        (Some(a), Some(b)) => match (number(a), number(b)) {
            (Ok(start), Ok(end)) => Part::Lines(start, end),
            _ => Part::Anchor(a.to_string()),
        },
    };
    (path, part)
}

/// The anchor name on a line `... ANCHOR: name` (or `ANCHOR_END: name`).
fn anchor_on(line: &str, marker: &str) -> Option<String> {
    let at = line.find(marker)?;
    let name: String = line[at + marker.len()..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// Why this include would break the book, if it would.
fn check_include(include: &Include) -> Option<String> {
    let (path, part) = parse_spec(&include.spec);
    let here = format!(
        "{}:{}: {{{{#include {}}}}}",
        show(&include.from),
        include.line,
        include.spec
    );
    if path.is_empty() {
        return Some(format!("{here}: no file named"));
    }
    let target = include.from.parent().unwrap().join(&path);
    let Ok(text) = fs::read_to_string(&target) else {
        return Some(format!("{here}: {} does not exist", show(&target)));
    };
    match part {
        Part::Whole => {
            if text.trim().is_empty() {
                return Some(format!("{here}: {} is empty", show(&target)));
            }
        }
        Part::Lines(start, _) => {
            let lines = text.lines().count();
            if start.unwrap_or(1) > lines {
                return Some(format!("{here}: {} has only {lines} lines", show(&target)));
            }
        }
        Part::Anchor(name) => {
            let lines: Vec<&str> = text.lines().collect();
            let start = lines
                .iter()
                .position(|l| anchor_on(l, "ANCHOR:").as_deref() == Some(&*name));
            let Some(start) = start else {
                return Some(format!("{here}: no `ANCHOR: {name}` in {}", show(&target)));
            };
            let end = lines[start + 1..]
                .iter()
                .position(|l| anchor_on(l, "ANCHOR_END:").as_deref() == Some(&*name));
            if end.is_none() {
                return Some(format!(
                    "{here}: `ANCHOR: {name}` in {} has no `ANCHOR_END: {name}` after it",
                    show(&target)
                ));
            }
        }
    }
    None
}

fn fail_if_any(problems: Vec<String>, what: &str) {
    assert!(problems.is_empty(), "{what}:\n  {}", problems.join("\n  "));
}

#[test]
fn every_include_points_at_an_existing_file_and_anchor() {
    let mut problems = Vec::new();
    let mut count = 0;
    for md in markdown_files(&book_src()) {
        for include in includes_in(&md) {
            count += 1;
            problems.extend(check_include(&include));
        }
    }
    fail_if_any(problems, "broken includes in book/src");
    assert!(
        count > 0,
        "no {{{{#include}}}} found in book/src: is the parser broken?"
    );
}

/// The `[title](file.md)` links of SUMMARY.md, in order.
fn summary_links() -> Vec<(String, String)> {
    let summary = read(&book_src().join("SUMMARY.md"));
    let mut links = Vec::new();
    for line in summary.lines() {
        let mut rest = line;
        while let Some(open) = rest.find('[') {
            let Some(close) = rest[open..].find("](") else {
                break;
            };
            let title = rest[open + 1..open + close].to_string();
            let after = &rest[open + close + 2..];
            let Some(end) = after.find(')') else { break };
            links.push((title, after[..end].trim().to_string()));
            rest = &after[end + 1..];
        }
    }
    links
}

#[test]
fn summary_links_only_existing_files_and_every_page_is_linked() {
    let links = summary_links();
    assert!(!links.is_empty(), "no links found in book/src/SUMMARY.md");
    let mut problems = Vec::new();
    let mut linked = BTreeSet::new();
    for (title, target) in &links {
        if target.is_empty() {
            problems.push(format!(
                "SUMMARY.md: [{title}]() is a draft chapter with no file"
            ));
            continue;
        }
        if target.contains("://") {
            continue;
        }
        let file = target.split('#').next().unwrap();
        let path = book_src().join(file);
        if !path.is_file() {
            problems.push(format!(
                "SUMMARY.md: [{title}]({target}): {} does not exist",
                show(&path)
            ));
        }
        linked.insert(path);
    }
    for md in markdown_files(&book_src()) {
        if md.file_name().unwrap() != "SUMMARY.md" && !linked.contains(&md) {
            problems.push(format!(
                "{} is not linked from SUMMARY.md (mdBook would skip it)",
                show(&md)
            ));
        }
    }
    fail_if_any(problems, "SUMMARY.md");
}

/// The `name = "..."` of every `[[bin]]` table in Cargo.toml.
fn cargo_bins() -> Vec<String> {
    let manifest = read(&root().join("Cargo.toml"));
    let mut bins = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if in_bin {
            if let Some((key, value)) = line.split_once('=') {
                if key.trim() == "name" {
                    bins.push(value.trim().trim_matches('"').to_string());
                }
            }
        }
    }
    bins
}

/// Does `text` contain `word` not as part of a longer name
/// (`webserver3c` is not in `webserver3cd`, `ftp-server` not in `ftp-servers`)?
fn mentions(text: &str, word: &str) -> bool {
    let is_name = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_name) && !after.is_some_and(is_name)
    })
}

#[test]
fn every_binary_has_a_chapter() {
    let bins = cargo_bins();
    assert!(
        bins.len() >= 2,
        "found only {bins:?} in Cargo.toml's [[bin]] tables"
    );
    // A chapter is "about" a binary when its title in SUMMARY.md or its
    // first heading names it (the introduction mentions them all, which
    // does not count).
    let titles: Vec<String> = summary_links()
        .into_iter()
        .filter(|(_, target)| !target.is_empty() && !target.contains("://"))
        .flat_map(|(title, target)| {
            let text = fs::read_to_string(book_src().join(target.split('#').next().unwrap()));
            let heading = text
                .ok()
                .and_then(|t| t.lines().find(|l| l.starts_with("# ")).map(str::to_string));
            [Some(title), heading].into_iter().flatten()
        })
        .collect();
    let missing: Vec<String> = bins
        .iter()
        .filter(|bin| !titles.iter().any(|title| mentions(title, bin)))
        .map(|bin| format!("[[bin]] {bin} has no chapter in SUMMARY.md whose title names it"))
        .collect();
    fail_if_any(missing, "binaries without a chapter");
}

/// `fn name(` for every function in tests/*.rs, by file stem.
fn test_functions() -> Vec<(String, String)> {
    let mut found = Vec::new();
    let files = ["tests", LAB_TESTS]
        .into_iter()
        .flat_map(|dir| fs::read_dir(root().join(dir)).unwrap());
    for entry in files {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            for line in read(&path).lines() {
                if let Some(at) = line.find("fn ") {
                    let name: String = line[at + 3..]
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if line[at + 3 + name.len()..].starts_with('(') {
                        found.push((stem.clone(), name));
                    }
                }
            }
        }
    }
    found
}

/// The pages that name tests: the book and the README.
fn pages() -> Vec<PathBuf> {
    let mut pages = markdown_files(&book_src());
    pages.push(root().join("README.md"));
    pages
}

/// Where `cargo test -p lsbaws-lab --test FILE` finds FILE.
const LAB_TESTS: &str = "lab/tests";

/// Text between backticks, one item per code span.
fn code_spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

#[test]
fn the_tests_the_book_names_exist() {
    let functions = test_functions();
    let exists = |file: Option<&str>, name: &str| {
        functions
            .iter()
            .any(|(stem, f)| f == name && file.is_none_or(|file| stem == file))
    };
    let mut problems = Vec::new();
    for page in pages() {
        let text = read(&page);
        for span in code_spans(&text).iter().flat_map(|span| span.lines()) {
            let words: Vec<&str> = span.split_whitespace().collect();
            // `cargo test [-p lsbaws-lab] --test FILE [NAME]`: the file, and
            // a test in it (NAME may be a prefix, as cargo's filter is).
            if let Some(i) = words.iter().position(|w| *w == "--test") {
                let Some(file) = words.get(i + 1) else {
                    continue;
                };
                let dir = if words.windows(2).any(|w| w == ["-p", "lsbaws-lab"]) {
                    LAB_TESTS
                } else {
                    "tests"
                };
                if !root().join(dir).join(format!("{file}.rs")).is_file() {
                    problems.push(format!(
                        "{}: `{span}`: there is no {dir}/{file}.rs",
                        show(&page)
                    ));
                } else if let Some(filter) = words.get(i + 2).filter(|w| !w.starts_with('-')) {
                    let matched = functions
                        .iter()
                        .any(|(stem, f)| stem == file && f.contains(filter));
                    if !matched && *filter != "NAME" {
                        problems.push(format!(
                            "{}: `{span}`: no test in {dir}/{file}.rs matches {filter}",
                            show(&page)
                        ));
                    }
                }
            }
            // A bare test name such as `webserver3d_runs_out_of_descriptors_emfile`.
            if words.len() == 1
                && span.starts_with("webserver")
                && span.contains('_')
                && !exists(None, span)
            {
                problems.push(format!("{}: `{span}` is not a test in tests/", show(&page)));
            }
        }
    }
    fail_if_any(
        problems,
        "tests named in the book or README that do not exist",
    );
}

/// The rows of the first markdown table after the heading `heading`.
fn table_after(text: &str, heading: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !(l.starts_with('#') && l.trim_start_matches('#').trim() == heading))
        .skip(1)
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .map(str::to_string)
        .collect()
}

/// The cells of a markdown table row, `\|` read as a `|`.
fn row_cells(row: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut chars = row.trim().trim_start_matches('|').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cells.last_mut().unwrap().push('|');
                chars.next();
            }
            '|' => cells.push(String::new()),
            _ => cells.last_mut().unwrap().push(c),
        }
    }
    if cells.last().is_some_and(|c| c.trim().is_empty()) {
        cells.pop();
    }
    cells.iter().map(|c| c.trim().to_string()).collect()
}

/// The book's catalogue entries: for each `### ` section, its
/// `{#id}` and the values of its `- **Step:**`, `**What goes wrong:**`,
/// `**See it:**`, `**Fix:**` and `**Test:**` lines (the step without its link).
fn catalogue_entries(text: &str) -> Vec<(String, Vec<String>)> {
    const FIELDS: [&str; 5] = ["Step", "What goes wrong", "See it", "Fix", "Test"];
    let mut entries: Vec<(String, Vec<String>)> = Vec::new();
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("### ") {
            let id = heading
                .rsplit_once("{#")
                .map(|(_, id)| id.trim_end_matches('}').to_string())
                .unwrap_or_default();
            entries.push((id, Vec::new()));
        } else if let Some((_, fields)) = entries.last_mut() {
            let i = fields.len();
            if i == FIELDS.len() {
                continue;
            }
            let prefix = format!("- **{}:** ", FIELDS[i]);
            if let Some(value) = line.strip_prefix(&prefix) {
                let value = if i == 0 {
                    // [step](chapter): the step.
                    value
                        .strip_prefix('[')
                        .and_then(|v| v.rsplit_once("]("))
                        .map_or(value, |(step, _)| step)
                } else {
                    value
                };
                fields.push(value.trim().to_string());
            }
        }
    }
    entries
}

/// README.md has the catalogue as one wide table (GitHub scrolls it); the
/// book has a section per entry, with What/See/Fix/Test, and a narrow table
/// at the top that links to each. The two say the same, in the same order.
#[test]
fn readme_and_book_have_the_same_failure_catalogue() {
    let page = read(&book_src().join("reference/failure-modes.md"));
    let book = catalogue_entries(&page);
    let readme: Vec<Vec<String>> =
        table_after(&read(&root().join("README.md")), "Failure-mode catalogue")
            .iter()
            .skip(2)
            .map(|row| row_cells(row))
            .collect();
    assert!(
        readme.len() > 2,
        "no table under '## Failure-mode catalogue' in README.md"
    );
    for (i, (r, (id, b))) in readme.iter().zip(&book).enumerate() {
        assert_eq!(
            r, b,
            "entry {} of the catalogue differs between README.md's table (left) and the `### ` section {{#{id}}} of book/src/reference/failure-modes.md (right): Step, What goes wrong, See it, Fix, Test",
            i + 1
        );
        assert!(
            !id.is_empty() && page.contains(&format!("](#{id}) |")),
            "book/src/reference/failure-modes.md: the section of entry {} needs an id (`### step: what {{#id}}`) and a row in the table at the top linking to it",
            i + 1
        );
    }
    assert_eq!(
        readme.len(),
        book.len(),
        "README.md's catalogue has {} rows, the book's {} sections",
        readme.len(),
        book.len()
    );
}

/// The inline code spans (`` `...` ``) and link targets (`](...)`) of a
/// Markdown message, each with how many times it occurs.
fn code_and_links(text: &str) -> std::collections::BTreeMap<String, usize> {
    let mut found = std::collections::BTreeMap::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 && !part.is_empty() {
            *found.entry(format!("`{part}`")).or_insert(0) += 1;
        }
    }
    for part in text.split("](").skip(1) {
        if let Some(target) = part.split(')').next() {
            // The Chinese edition shows Chinese diagrams and exercise texts.
            let target = target
                .replace("diagrams/zh-CN/", "diagrams/")
                .replace("README.zh-CN.md", "README.md");
            *found.entry(format!("]({target})")).or_insert(0) += 1;
        }
    }
    found
}

/// One message of a po file.
struct PoMessage {
    id: String,
    text: String,
    fuzzy: bool,
    source: String,
}

/// The body of a po string line: `"..."` unescaped.
fn po_string(line: &str) -> String {
    let inner = line
        .trim()
        .strip_prefix('"')
        .and_then(|l| l.strip_suffix('"'))
        .unwrap_or("");
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// The messages of a po file, its header (the empty msgid) and obsolete
/// entries (`#~`) left out.
fn po_messages(text: &str) -> Vec<PoMessage> {
    let mut messages = Vec::new();
    for block in text.split("\n\n") {
        let (mut id, mut msgstr, mut fuzzy, mut source) =
            (String::new(), String::new(), false, String::new());
        let mut into_str = false;
        for line in block.lines() {
            if line.starts_with("#,") && line.contains("fuzzy") {
                fuzzy = true;
            } else if let Some(refs) = line.strip_prefix("#: ") {
                // The first page the message comes from.
                if source.is_empty() {
                    source = refs.split_whitespace().next().unwrap_or("").to_string();
                }
            } else if let Some(rest) = line.strip_prefix("msgid ") {
                id = po_string(rest);
                into_str = false;
            } else if let Some(rest) = line.strip_prefix("msgstr ") {
                msgstr = po_string(rest);
                into_str = true;
            } else if line.starts_with('"') {
                if into_str {
                    msgstr.push_str(&po_string(line));
                } else {
                    id.push_str(&po_string(line));
                }
            }
        }
        if !id.is_empty() {
            messages.push(PoMessage {
                id,
                text: msgstr,
                fuzzy,
                source,
            });
        }
    }
    messages
}

/// The translated messages of a po file: (page, English, Chinese), the
/// untranslated and fuzzy ones left out.
fn translated_messages(po: &str) -> Vec<(String, String, String)> {
    po_messages(po)
        .into_iter()
        .filter(|m| !m.text.is_empty() && !m.fuzzy)
        .map(|m| (m.source, m.id, m.text))
        .collect()
}

/// Every translation keeps the code and the links of its English: the
/// same inline code spans (commands, names, output) and the same link
/// targets and images (the Chinese diagrams and exercise texts standing
/// for the English ones). A translator's slip here is a broken command or
/// a link to the wrong place.
#[test]
fn translations_keep_the_code_and_links_of_the_english() {
    let po = read(&root().join("book/po/zh-CN.po"));
    let messages = translated_messages(&po);
    assert!(
        messages.len() > 1000,
        "only {} translated messages",
        messages.len()
    );
    let mut problems = Vec::new();
    for (page, english, chinese) in &messages {
        let (want, have) = (code_and_links(english), code_and_links(chinese));
        let missing: Vec<&String> = want
            .iter()
            .filter(|(item, n)| have.get(*item).copied().unwrap_or(0) < **n)
            .map(|(item, _)| item)
            .collect();
        let wrong_links: Vec<&String> = have
            .keys()
            .filter(|item| item.starts_with("](") && !want.contains_key(*item))
            .collect();
        if !missing.is_empty() || !wrong_links.is_empty() {
            let first: String = english.chars().take(60).collect();
            problems.push(format!(
                "{page}: {first:?}: the translation lacks {missing:?}{}",
                if wrong_links.is_empty() {
                    String::new()
                } else {
                    format!(" and links elsewhere: {wrong_links:?}")
                }
            ));
        }
    }
    fail_if_any(problems, "translations in book/po/zh-CN.po");
}

/// Every message of book/po/zh-CN.po is translated, none is fuzzy (what
/// `msgfmt --statistics` reports; `.ci/run` runs it too, through
/// `book/i18n check`): the Chinese edition never falls back to English.
#[test]
fn the_chinese_translation_is_complete() {
    let po = read(&root().join("book/po/zh-CN.po"));
    let messages = po_messages(&po);
    assert!(messages.len() > 1000, "only {} messages", messages.len());
    let missing: Vec<String> = messages
        .iter()
        .filter(|m| m.text.is_empty() || m.fuzzy)
        .map(|m| {
            let what = if m.fuzzy { "fuzzy" } else { "untranslated" };
            let first: String = m.id.chars().take(70).collect();
            format!("{} ({what}): {first:?}", m.source)
        })
        .collect();
    fail_if_any(
        missing,
        "messages of book/po/zh-CN.po to translate (then remove the fuzzy mark)",
    );
}

/// book/po/messages.pot is what the English pages give now: a page changed
/// in English and not in the template (and so not in the translation)
/// fails here. Needs mdbook-xgettext; without it, a note (under CI, a
/// failure).
#[test]
fn the_translation_template_is_current() {
    let Some(mdbook) = book_support::usable_mdbook() else {
        return;
    };
    let path = book_support::path_with_mdbook(&mdbook);
    let fresh = std::env::temp_dir().join(format!("lsbaws-pot-{}.pot", std::process::id()));
    let output = std::process::Command::new("bash")
        .arg(root().join("book/i18n"))
        .arg("extract")
        .arg(&fresh)
        .env("PATH", &path)
        .output()
        .expect("running book/i18n extract");
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr).trim().to_string();
        assert!(std::env::var_os("CI").is_none(), "{said}");
        eprintln!("note: the translation template is not checked: {said}");
        return;
    }
    let body = |text: &str| -> Vec<(String, String)> {
        po_messages(text)
            .into_iter()
            .map(|m| (m.source, m.id))
            .collect()
    };
    let stored = body(&read(&root().join("book/po/messages.pot")));
    let now = body(&fs::read_to_string(&fresh).unwrap());
    let _ = fs::remove_file(&fresh);
    let stored_ids: BTreeSet<&String> = stored.iter().map(|(_, id)| id).collect();
    let now_ids: BTreeSet<&String> = now.iter().map(|(_, id)| id).collect();
    let mut problems: Vec<String> = now
        .iter()
        .filter(|(_, id)| !stored_ids.contains(id))
        .map(|(page, id)| {
            let first: String = id.chars().take(70).collect();
            format!("new or changed in {page}: {first:?}")
        })
        .collect();
    problems.extend(
        stored
            .iter()
            .filter(|(_, id)| !now_ids.contains(id))
            .map(|(page, id)| {
                let first: String = id.chars().take(70).collect();
                format!("gone from {page}: {first:?}")
            }),
    );
    if problems.is_empty() && stored != now {
        problems.push("the messages are the same but their order or pages changed".to_string());
    }
    fail_if_any(
        problems,
        "the English changed since book/po/messages.pot was extracted: run `book/i18n update`, \
         then translate in book/po/zh-CN.po what it marks untranslated or fuzzy",
    );
}

/// README.zh-CN.md is README.md for a Chinese reader: linked from it, with
/// the same first commands and every program of README's table.
#[test]
fn the_chinese_readme_has_the_same_commands_and_programs() {
    let english = read(&root().join("README.md"));
    let chinese = read(&root().join("README.zh-CN.md"));
    let mut problems = Vec::new();
    if !english.contains("(README.zh-CN.md)") || !chinese.contains("(README.md)") {
        problems.push("README.md and README.zh-CN.md link to each other".to_string());
    }
    let first_block = |text: &str| text.split("```").nth(1).map(str::to_string);
    if first_block(&english) != first_block(&chinese) {
        problems.push("README.zh-CN.md starts with README.md's first commands".to_string());
    }
    let rows = table_after(&english, "The programs");
    assert!(rows.len() > 20, "README.md's table of programs: {rows:?}");
    for row in rows.iter().skip(2) {
        let name = row_cells(row).into_iter().next().unwrap_or_default();
        if !chinese.contains(&format!("| {name} |")) {
            problems.push(format!("README.zh-CN.md has no row for {name}"));
        }
    }
    fail_if_any(problems, "README.zh-CN.md");
}

#[test]
fn spec_parsing_follows_mdbook() {
    assert_eq!(parse_spec("a.rs"), ("a.rs".into(), Part::Whole));
    assert_eq!(
        parse_spec("a.rs:main"),
        ("a.rs".into(), Part::Anchor("main".into()))
    );
    assert_eq!(
        parse_spec("a.rs:3"),
        ("a.rs".into(), Part::Lines(Some(3), Some(3)))
    );
    assert_eq!(
        parse_spec("a.rs:3:"),
        ("a.rs".into(), Part::Lines(Some(3), None))
    );
    assert_eq!(
        parse_spec("a.rs::9"),
        ("a.rs".into(), Part::Lines(None, Some(9)))
    );
    assert_eq!(
        anchor_on("    // ANCHOR: child", "ANCHOR:"),
        Some("child".into())
    );
    assert_eq!(anchor_on("// ANCHOR_END: child", "ANCHOR:"), None);
    assert!(mentions("# webserver3c: a child", "webserver3c"));
    assert!(!mentions("# webserver3cd", "webserver3c"));
    let dir = std::env::temp_dir().join(format!("book-test-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let md = dir.join("x.md");
    fs::write(
        &md,
        "a {{#include f.rs:x}} b \\{{#include no.rs}} {{#title T}}\n",
    )
    .unwrap();
    let found = includes_in(&md);
    fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].spec, "f.rs:x");
}

// ---- the built book: links, anchors and images ---------------------------------------

/// Every HTML page of a built edition, but the print page (one page made of
/// all the others), the 404 page (its links are absolute on purpose) and
/// the pages of the Chinese edition inside the English one (its `zh-CN`
/// folder, an edition of its own).
fn html_pages(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if d == dir && name == "zh-CN" {
                    continue;
                }
                pending.push(path);
            } else if name.ends_with(".html")
                && name != "print.html"
                && name != "404.html"
                && name != "toc.html"
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// An HTML page without the contents of its `<pre>` blocks: the HTML that a
/// transcript or an example shows as text is not the page's own.
fn without_code_blocks(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("<pre") {
        out.push_str(&rest[..start]);
        match rest[start..].find("</pre>") {
            Some(end) => rest = &rest[start + end + "</pre>".len()..],
            None => rest = "",
        }
    }
    out.push_str(rest);
    out
}

/// The values of `attribute="..."` in an HTML page.
fn attribute_values<'a>(html: &'a str, attribute: &str) -> Vec<&'a str> {
    let needle = format!(" {attribute}=\"");
    html.match_indices(&needle)
        .filter_map(|(at, _)| {
            let rest = &html[at + needle.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

/// Why a link from `page` to `target` is broken, if it is.
fn check_link(
    book: &Path,
    page: &Path,
    ids: &dyn Fn(&Path) -> BTreeSet<String>,
    target: &str,
) -> Option<String> {
    if target.contains("://")
        || target.starts_with("mailto:")
        || target.starts_with("javascript:")
        || target.is_empty()
    {
        return None;
    }
    let target = target.replace("&amp;", "&");
    let (file, fragment) = match target.split_once('#') {
        Some((file, fragment)) => (file, Some(fragment)),
        None => (target.as_str(), None),
    };
    let file = file.split('?').next().unwrap();
    let resolved = if file.is_empty() {
        page.to_path_buf()
    } else {
        page.parent().unwrap().join(file)
    };
    let resolved = if resolved.is_dir() {
        resolved.join("index.html")
    } else {
        resolved
    };
    if !resolved.starts_with(book) || !resolved.is_file() {
        return Some(format!("{target}: no such file"));
    }
    match fragment {
        Some(fragment)
            if !fragment.is_empty() && resolved.extension().is_some_and(|e| e == "html") =>
        {
            (!ids(&resolved).contains(fragment))
                .then(|| format!("{target}: no id=\"{fragment}\" in that page"))
        }
        _ => None,
    }
}

/// The links, anchors and images of one built edition that are broken.
fn broken_links_in(book: &Path, edition: &str) -> Vec<String> {
    let ids_of = |page: &Path| -> BTreeSet<String> {
        let html = without_code_blocks(&fs::read_to_string(page).unwrap_or_default());
        attribute_values(&html, "id")
            .into_iter()
            .map(str::to_string)
            .collect()
    };
    let mut problems = Vec::new();
    let pages = html_pages(book);
    assert!(
        pages.len() > 10,
        "the built {edition} edition has only {} pages",
        pages.len()
    );
    for page in &pages {
        let html = without_code_blocks(&read(page));
        let shown = format!("{edition}: {}", page.strip_prefix(book).unwrap().display());
        for target in attribute_values(&html, "href")
            .into_iter()
            .chain(attribute_values(&html, "src"))
        {
            if let Some(problem) = check_link(book, page, &ids_of, target) {
                problems.push(format!("{shown}: {problem}"));
            }
        }
        // An image without a text for readers who cannot see it.
        for img in html.split("<img").skip(1) {
            let tag = &img[..img.find('>').unwrap_or(img.len())];
            if !tag.contains(" alt=\"") || tag.contains(" alt=\"\"") {
                problems.push(format!("{shown}: <img{tag}> has no alt text"));
            }
        }
    }
    problems
}

/// Both editions: no broken link, anchor or image in either, and every
/// page has its twin in the other edition, where the language picker
/// (book/theme/lsbaws.js) sends the reader.
#[test]
fn the_built_book_has_no_broken_link_anchor_or_image() {
    let Some(book) = build_book("links") else {
        return;
    };
    let mut problems = broken_links_in(&book, "English");
    if let Some(chinese) = book_support::chinese_edition(&book) {
        problems.extend(broken_links_in(&chinese, "Chinese"));
        // A translated heading's `{#id}` where mdBook keeps the English
        // one itself (an explicit id) shows on the page as text.
        for page in html_pages(&chinese) {
            let html = without_code_blocks(&read(&page));
            let text: String = html
                .split("<code")
                .enumerate()
                .map(|(i, part)| {
                    if i == 0 {
                        part
                    } else {
                        part.split_once("</code>").map_or("", |(_, rest)| rest)
                    }
                })
                .collect();
            if text.contains("{#") {
                let shown = page.strip_prefix(&chinese).unwrap().display().to_string();
                problems.push(format!(
                    "Chinese: {shown}: a heading id shows as text (\"{{#\"): drop it from the \
                     message in book/po/zh-CN.po, the English heading's explicit id is kept"
                ));
            }
        }
        let relative = |dir: &Path| -> BTreeSet<PathBuf> {
            html_pages(dir)
                .into_iter()
                .map(|p| p.strip_prefix(dir).unwrap().to_path_buf())
                .collect()
        };
        let (english, zh) = (relative(&book), relative(&chinese));
        for page in english.symmetric_difference(&zh) {
            problems.push(format!(
                "{}: in one edition only; the language picker would lead nowhere",
                page.display()
            ));
        }
    }
    let _ = fs::remove_dir_all(&book);
    fail_if_any(problems, "broken links or images in the built book");
}

// ---- what every chapter carries ---------------------------------------------------------

/// The chapter about each binary: the first page in SUMMARY.md whose title
/// or first heading names it, instructor notes and reference pages aside.
fn chapter_of(bin: &str) -> Option<PathBuf> {
    summary_links()
        .into_iter()
        .filter(|(_, target)| {
            !target.is_empty()
                && !target.contains("://")
                && !target.starts_with("instructors/")
                && !target.starts_with("reference/")
                && target.contains(".md")
        })
        .map(|(title, target)| (title, book_src().join(target.split('#').next().unwrap())))
        .find(|(title, path)| {
            let heading = fs::read_to_string(path)
                .ok()
                .and_then(|t| t.lines().find(|l| l.starts_with("# ")).map(str::to_string));
            mentions(title, bin) || heading.is_some_and(|h| mentions(&h, bin))
        })
        .map(|(_, path)| path)
}

/// The pages nested under `page` in SUMMARY.md (a chapter's sections).
fn nested_pages(page: &Path) -> Vec<PathBuf> {
    let summary = read(&book_src().join("SUMMARY.md"));
    let rel = page.strip_prefix(book_src()).unwrap().display().to_string();
    let mut found = Vec::new();
    let mut parent_indent: Option<usize> = None;
    for line in summary.lines() {
        let indent = line.len() - line.trim_start().len();
        let target = line
            .split("](")
            .nth(1)
            .and_then(|rest| rest.split(')').next());
        match (parent_indent, target) {
            (None, Some(t)) if t == rel => parent_indent = Some(indent),
            (Some(p), Some(t)) if indent > p => found.push(book_src().join(t)),
            (Some(_), _) => break,
            _ => {}
        }
    }
    found
}

/// Every binary's chapter (or the pages nested under it) shows a recorded
/// transcript and a diagram, and links its instructor notes: a chapter
/// added on another branch fails here until it has all three.
#[test]
fn every_chapter_has_a_transcript_a_diagram_and_instructor_notes() {
    let mut problems = Vec::new();
    for bin in cargo_bins() {
        let Some(chapter) = chapter_of(&bin) else {
            continue;
        }; // every_binary_has_a_chapter says so
        let mut text = read(&chapter);
        for page in nested_pages(&chapter) {
            text.push_str(&fs::read_to_string(page).unwrap_or_default());
        }
        let here = show(&chapter);
        if !text.contains("output/") {
            problems.push(format!("{here} ({bin}): no transcript: record one (book/recording/) and {{{{#include}}}} it from output/"));
        }
        if !text.contains("diagrams/") || !text.contains(".svg)") {
            problems.push(format!("{here} ({bin}): no diagram: add an SVG under book/src/diagrams/ and show it with ![alt text](diagrams/NAME.svg)"));
        }
        if !read(&chapter).contains("instructors/") {
            problems.push(format!(
                "{here} ({bin}): no link to its instructor notes (book/src/instructors/)"
            ));
        }
    }
    fail_if_any(problems, "chapters missing a part");
}

#[test]
fn every_binary_has_a_row_in_the_table_of_programs() {
    let table = table_after(
        &read(&book_src().join("reference/binaries.md")),
        "Every program",
    );
    let missing: Vec<String> = cargo_bins()
        .into_iter()
        .filter(|bin| {
            !table
                .iter()
                .any(|row| row.starts_with(&format!("| `{bin}` |")))
        })
        .map(|bin| format!("book/src/reference/binaries.md has no row for `{bin}`"))
        .collect();
    fail_if_any(missing, "the table of every program");
}

/// Why an SVG diagram would not render offline, if it would not: it must
/// refer to nothing outside the file (fonts, images, stylesheets) and have
/// a title and a size.
fn svg_problems(shown: &str, svg: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let external = svg.replace("http://www.w3.org/2000/svg", "");
    for needle in ["http://", "https://", "@import", "@font-face", "url(data:"] {
        if external.contains(needle) {
            problems.push(format!(
                "{shown}: refers to something outside the file ({needle})"
            ));
        }
    }
    if !svg.contains("<title>") || !svg.contains("width=\"") || !svg.contains("viewBox=\"") {
        problems.push(format!(
            "{shown}: needs a <title>, a width/height and a viewBox"
        ));
    }
    problems
}

/// Diagrams are files of our own that render offline: SVG with no
/// external reference (fonts, images, stylesheets), a title, a size, and
/// each one shown somewhere in the book. Each has a Chinese twin in
/// `diagrams/zh-CN/` (the same drawing, its labels in Chinese), which the
/// Chinese edition shows instead (book/po/zh-CN.po points its image links
/// there); a twin starts with a stamp of the English file it was made
/// from, so a diagram changed in English and not in Chinese fails here.
#[test]
fn diagrams_are_self_contained_svg_and_all_shown() {
    let dir = book_src().join("diagrams");
    let pages: String = markdown_files(&book_src())
        .iter()
        .map(|p| read(p))
        .collect();
    // The po file wraps long strings over several quoted lines.
    let po = fs::read_to_string(root().join("book/po/zh-CN.po"))
        .unwrap_or_default()
        .replace("\"\n\"", "");
    let mut problems = Vec::new();
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name == "zh-CN" && path.is_dir() {
            continue;
        }
        if !name.ends_with(".svg") {
            problems.push(format!(
                "book/src/diagrams/{name}: only .svg files belong here"
            ));
            continue;
        }
        let svg = read(&path);
        problems.extend(svg_problems(&format!("book/src/diagrams/{name}"), &svg));
        if !pages.contains(&format!("diagrams/{name})")) {
            problems.push(format!("book/src/diagrams/{name} is shown by no page"));
        }
        let twin = dir.join("zh-CN").join(&name);
        let shown = format!("book/src/diagrams/zh-CN/{name}");
        let Ok(chinese) = fs::read_to_string(&twin) else {
            problems.push(format!(
                "{shown} is missing: the Chinese edition shows a Chinese twin of every diagram \
                 (copy book/src/diagrams/{name}, translate its <title> and labels, and stamp it \
                 as the others are)"
            ));
            continue;
        };
        problems.extend(svg_problems(&shown, &chinese));
        let stamp = format!(
            "<!-- zh-CN: {name} fnv1a64:{} -->",
            lsbaws_lab::language::fnv1a64(&svg)
        );
        if !chinese.contains(&stamp) {
            problems.push(format!(
                "book/src/diagrams/{name} changed since {shown} was made from it: make the same \
                 change there (labels in Chinese), then set its stamp line to {stamp}"
            ));
        }
        if svg.lines().next() != chinese.lines().next() {
            problems.push(format!(
                "{shown}: its size and viewBox (first line) differ from the English one's"
            ));
        }
        if !po.contains(&format!("diagrams/zh-CN/{name})")) {
            problems.push(format!(
                "{shown} is shown by no message of book/po/zh-CN.po (the Chinese edition would \
                 show the English diagram)"
            ));
        }
    }
    for entry in fs::read_dir(dir.join("zh-CN")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !dir.join(&name).is_file() {
            problems.push(format!(
                "book/src/diagrams/zh-CN/{name} is the twin of no English diagram"
            ));
        }
    }
    fail_if_any(problems, "diagrams");
}

/// Output shown in the book comes from real runs: a ```console block is
/// either an included transcript or commands to type (`$ ...`, with
/// continuation lines), never output typed in by hand.
#[test]
fn console_blocks_hold_commands_or_recorded_output() {
    let mut problems = Vec::new();
    for page in markdown_files(&book_src()) {
        let text = read(&page);
        // Inside a console block: where it starts and its lines; inside
        // another block: skip to its end.
        let mut block: Option<(usize, Vec<&str>)> = None;
        let mut in_other = false;
        for (i, line) in text.lines().enumerate() {
            if let Some(fence) = line.strip_prefix("```") {
                if in_other {
                    in_other = false;
                    continue;
                }
                match block.take() {
                    None if fence.trim() == "console" => block = Some((i + 1, Vec::new())),
                    None => in_other = true,
                    Some((start, body)) => {
                        if body.iter().any(|l| l.contains("{{#include")) {
                            continue;
                        }
                        let mut continued = false;
                        for l in body {
                            if !(l.trim().is_empty() || l.starts_with("$ ") || continued) {
                                problems.push(format!(
                                    "{}:{start}: `{l}` in a console block: record it (book/recording/) and include it",
                                    show(&page)
                                ));
                            }
                            continued = l.ends_with('\\');
                        }
                    }
                }
            } else if let Some((_, body)) = block.as_mut() {
                body.push(line);
            }
        }
    }
    fail_if_any(problems, "hand-written output in the book");
}

// ---- navigation: titles and one order ----------------------------------------------------

/// The first `# ` heading of a page, following a page that is only an
/// `{{#include}}` of another file (the exercise pages include the lab's
/// texts), with backticks dropped.
fn first_heading(page: &Path) -> Option<String> {
    let text = fs::read_to_string(page).ok()?;
    let first = text.lines().next().unwrap_or("");
    let text = match first
        .trim()
        .strip_prefix("{{#include ")
        .and_then(|rest| rest.strip_suffix("}}"))
    {
        Some(spec) => fs::read_to_string(page.parent()?.join(spec.trim())).ok()?,
        None => text,
    };
    text.lines()
        .find_map(|l| l.strip_prefix("# "))
        .map(|h| h.replace('`', "").trim().to_string())
}

/// A reader who clicks "webserver4e: one thread, epoll" in the sidebar
/// lands on a page with that heading.
#[test]
fn sidebar_titles_match_page_headings() {
    let mut problems = Vec::new();
    for (title, target) in summary_links() {
        if target.is_empty() || target.contains("://") {
            continue;
        }
        let page = book_src().join(target.split('#').next().unwrap());
        let title = title.replace('`', "");
        match first_heading(&page) {
            Some(heading) if heading == title => {}
            Some(heading) => problems.push(format!(
                "SUMMARY.md: [{title}]({target}), but the page's heading is \"# {heading}\": make them the same"
            )),
            None => problems.push(format!("{target}: no `# ` heading")),
        }
    }
    fail_if_any(problems, "sidebar titles that are not their page's heading");
}

/// The `| `NAME` |` rows of the first table under `heading`, in order.
fn program_rows(text: &str, heading: &str) -> Vec<String> {
    table_after(text, heading)
        .iter()
        .filter_map(|row| {
            let first = row.trim_start_matches('|').split('|').next()?.trim();
            let name = first.strip_prefix('`')?.split('`').next()?;
            Some(name.to_string())
        })
        .collect()
}

/// The binaries in the order a list names them, each at its first mention.
fn order_of(bins: &[String], names: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen = Vec::new();
    for name in names {
        for bin in bins {
            if mentions(&name, bin) && !seen.contains(bin) {
                seen.push(bin.clone());
            }
        }
    }
    seen
}

/// The course has one order: the Cargo.toml bin list, the sidebar, the
/// table of every program and README's table of programs list the steps
/// the same way (a reader following any of them meets 4h after 4b).
#[test]
fn the_steps_come_in_one_order_everywhere() {
    let bins = cargo_bins();
    let sidebar = order_of(
        &bins,
        summary_links()
            .into_iter()
            .filter(|(_, target)| {
                !target.starts_with("instructors/") && !target.starts_with("reference/")
            })
            .map(|(title, _)| title),
    );
    let table = order_of(
        &bins,
        program_rows(
            &read(&book_src().join("reference/binaries.md")),
            "Every program",
        ),
    );
    let readme = order_of(
        &bins,
        program_rows(&read(&root().join("README.md")), "The programs"),
    );
    let in_list = |list: &[String]| -> Vec<String> {
        bins.iter().filter(|b| list.contains(b)).cloned().collect()
    };
    for (what, order) in [
        ("the sidebar (SUMMARY.md)", sidebar),
        ("book/src/reference/binaries.md", table),
        ("README.md's table of programs", readme),
    ] {
        assert_eq!(
            order,
            in_list(&order),
            "{what} lists the programs in another order than Cargo.toml's [[bin]] tables (left: {what}, right: Cargo.toml)"
        );
    }
}

/// A transcript of a two-terminal experiment says which terminal it is:
/// its fence carries `server` (`NAME.server.txt`) or `client` /
/// `client2` (`NAME.txt` beside a `NAME.server.txt`), which the theme
/// (book/theme/lsbaws.css) shows as a caption.
#[test]
fn two_terminal_transcripts_are_labelled() {
    let mut problems = Vec::new();
    for page in markdown_files(&book_src()) {
        let text = read(&page);
        let lines: Vec<&str> = text.lines().collect();
        for (i, pair) in lines.windows(2).enumerate() {
            let (fence, include) = (pair[0], pair[1].trim());
            let Some(info) = fence.strip_prefix("```") else {
                continue;
            };
            let Some(spec) = include
                .strip_prefix("{{#include ")
                .and_then(|s| s.strip_suffix("}}"))
            else {
                continue;
            };
            let (path, _) = parse_spec(spec);
            if !path.contains("output/") || !path.ends_with(".txt") {
                continue;
            }
            let file = page.parent().unwrap().join(&path);
            let classes: Vec<&str> = info.split(',').map(str::trim).skip(1).collect();
            let wanted: &[&str] = if path.ends_with(".server.txt") {
                &["server"]
            } else if file.with_extension("server.txt").is_file() {
                &["client", "client2"]
            } else {
                continue;
            };
            if !classes.iter().any(|c| wanted.contains(c)) {
                problems.push(format!(
                    "{}:{}: ```{info} shows {path}, a transcript of one of two terminals: write ```{},{}",
                    show(&page),
                    i + 1,
                    info.split(',').next().unwrap_or("text"),
                    wanted[0]
                ));
            }
        }
    }
    fail_if_any(problems, "transcripts without their terminal");
}

/// The lines of `text` an include shows, as a range of line indices.
fn included_range(text: &str, part: &Part) -> Option<std::ops::Range<usize>> {
    let lines: Vec<&str> = text.lines().collect();
    match part {
        Part::Whole => Some(0..lines.len()),
        Part::Lines(start, end) => {
            let start = start.unwrap_or(1).saturating_sub(1);
            Some(start..end.unwrap_or(lines.len()).min(lines.len()))
        }
        Part::Anchor(name) => {
            let start = lines
                .iter()
                .position(|l| anchor_on(l, "ANCHOR:").as_deref() == Some(&**name))?;
            let end = lines[start..]
                .iter()
                .position(|l| anchor_on(l, "ANCHOR_END:").as_deref() == Some(&**name))?;
            Some(start..start + end)
        }
    }
}

/// A page shows each piece of code once: no listing includes lines that
/// another listing on the same page already showed (a snippet, then "the
/// whole loop" that repeats it).
#[test]
fn no_page_shows_the_same_code_twice() {
    let mut problems = Vec::new();
    for page in markdown_files(&book_src()) {
        let mut shown: Vec<(PathBuf, String, std::ops::Range<usize>)> = Vec::new();
        for include in includes_in(&page) {
            let (path, part) = parse_spec(&include.spec);
            let Ok(file) = fs::canonicalize(page.parent().unwrap().join(&path)) else {
                continue;
            };
            // Transcripts and step diffs are the book's own files.
            if !path.ends_with(".rs") {
                continue;
            }
            let Ok(text) = fs::read_to_string(&file) else {
                continue;
            };
            let Some(range) = included_range(&text, &part) else {
                continue;
            };
            for (other, spec, seen) in &shown {
                if *other == file && range.start < seen.end && seen.start < range.end {
                    problems.push(format!(
                        "{}:{}: {{{{#include {}}}}} shows lines that {{{{#include {spec}}}}} already showed on this page",
                        show(&page),
                        include.line,
                        include.spec
                    ));
                }
            }
            shown.push((file, include.spec.clone(), range));
        }
    }
    fail_if_any(problems, "code shown twice on one page");
}

/// A listing says which file it comes from: a `<p class="listing">` line
/// naming the file, right above every code block that includes a source
/// file (transcripts and step diffs, files of the book itself, say what
/// they are in their own way).
#[test]
fn every_listing_names_its_file() {
    let root_dir = fs::canonicalize(root()).unwrap();
    let book = fs::canonicalize(book_src()).unwrap();
    let mut problems = Vec::new();
    for page in markdown_files(&book_src()) {
        let text = read(&page);
        let lines: Vec<&str> = text.lines().collect();
        for (i, pair) in lines.windows(2).enumerate() {
            if !pair[0].starts_with("```") {
                continue;
            }
            let Some(spec) = pair[1]
                .trim()
                .strip_prefix("{{#include ")
                .and_then(|s| s.strip_suffix("}}"))
            else {
                continue;
            };
            let (path, _) = parse_spec(spec);
            let Ok(file) = fs::canonicalize(page.parent().unwrap().join(&path)) else {
                continue; // every_include_points_at_an_existing_file_and_anchor says so
            };
            if file.starts_with(&book) {
                continue;
            }
            let name = file.strip_prefix(&root_dir).unwrap().display().to_string();
            let caption = lines[..i].iter().rev().find(|l| !l.trim().is_empty());
            if !caption.is_some_and(|c| {
                c.contains("class=\"listing\"") && c.contains(&format!(">{name}<"))
            }) {
                problems.push(format!(
                    "{}:{}: the listing of {name} needs a caption above it: <p class=\"listing\"><a href=\"https://github.com/lsbaws-rs/lsbaws-rs/blob/main/{name}\">{name}</a></p>",
                    show(&page),
                    i + 1
                ));
            }
        }
    }
    fail_if_any(problems, "listings that do not say where they come from");
}

/// The level-triggered diagram shows what 4e does: one read of its buffer
/// per wake-up, as big as `READ_BUFFER` in bins/part4/webserver4e.rs.
#[test]
fn the_level_triggered_diagram_reads_what_4e_reads() {
    let code = read(&root().join("bins/part4/webserver4e.rs"));
    let line = code
        .lines()
        .find(|l| l.starts_with("const READ_BUFFER: usize ="))
        .expect("bins/part4/webserver4e.rs: no `const READ_BUFFER: usize = ...`");
    let kib: usize = line
        .split('=')
        .nth(1)
        .unwrap()
        .trim()
        .trim_end_matches(';')
        .trim_end_matches("* 1024")
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("READ_BUFFER is not `N * 1024`: {line}"));
    let svg = read(&book_src().join("diagrams/epoll-level-triggered.svg"));
    assert!(
        svg.contains(&format!(">read {kib} KiB:")),
        "book/src/diagrams/epoll-level-triggered.svg should show a read of {kib} KiB, 4e's READ_BUFFER"
    );
}
