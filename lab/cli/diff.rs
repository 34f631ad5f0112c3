//! `lab diff STEP`: the student's copy against the reference (or, with
//! `--starter`, the starter against the copy: what the student changed), as
//! a unified diff of the code: comments, `ANCHOR` markers (the book's) and
//! blank-line runs are left out unless `--all` asks for them, so that the
//! diff shows code that differs, not wording.

use crate::workspace::Workspace;
use lsbaws_lab::exercise::Exercise;
use similar::TextDiff;

pub fn show(workspace: &Workspace, exercise: &Exercise, from_starter: bool, all: bool) -> i32 {
    let step = exercise.step;
    let source = workspace.source(exercise);
    let Ok(yours) = std::fs::read_to_string(&source) else {
        eprintln!(
            "lab: there is no copy of {step} to compare yet — run `cargo lab start {step}` first"
        );
        return 1;
    };
    let starter = exercise.edited().contents();
    let your_name = format!("your copy ({})", workspace.show(&source));
    let (old, old_name, new, new_name) = if from_starter {
        (
            starter,
            format!("starter ({})", exercise.edited().from.path),
            yours.as_str(),
            your_name,
        )
    } else {
        (
            yours.as_str(),
            your_name,
            exercise.reference.text,
            format!("reference ({})", exercise.reference.path),
        )
    };
    let (old, new) = if all {
        (old.to_string(), new.to_string())
    } else {
        (code_of(old), code_of(new))
    };
    let diff = TextDiff::from_lines(&old, &new);
    let left_out = if all {
        ""
    } else {
        " (comments left out; --all includes them)"
    };
    if diff.ratio() == 1.0 {
        println!("No differences between {old_name} and {new_name}{left_out}.");
        return 0;
    }
    if !all {
        println!("# Comments and the book's ANCHOR markers are left out; `--all` includes them.");
    }
    print!(
        "{}",
        diff.unified_diff()
            .context_radius(3)
            .header(&old_name, &new_name)
    );
    0
}

/// The code of a source file: every comment (`//`, `///`, `//!`, also
/// at the end of a line of code) and `ANCHOR` marker removed, trailing
/// blanks trimmed, runs of blank lines made one, and leading blank lines
/// dropped.
fn code_of(source: &str) -> String {
    let mut out = String::new();
    let mut blank = true;
    for line in source.lines() {
        let had_comment = line.trim_start().starts_with("//");
        let code = strip_comment(line).trim_end();
        if code.is_empty() {
            // A line that held only a comment is gone, not blank.
            if !had_comment && !blank {
                out.push('\n');
                blank = true;
            }
            continue;
        }
        out.push_str(code);
        out.push('\n');
        blank = false;
    }
    out
}

/// `line` without a `//` comment, if one starts outside a string or
/// character literal.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_string => i += 1,
            b'"' => in_string = !in_string,
            b'\'' if !in_string => {
                // A char literal ('"', '\'') is skipped whole; a lifetime
                // has no closing quote within three bytes.
                if let Some(end) = line[i + 1..].find('\'').filter(|&n| n <= 3) {
                    i += end + 1;
                }
            }
            b'/' if !in_string && bytes.get(i + 1) == Some(&b'/') => return &line[..i],
            _ => {}
        }
        i += 1;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::code_of;

    #[test]
    fn comments_and_anchors_are_left_out() {
        assert_eq!(
            code_of(
                "//! # x\n//!\n//! y\n\nuse a;\n// ANCHOR: main\nfn main() { // why\n\n\n    let s = \"http://x\"; // c\n    let c = '\"'; // d\n}\n// ANCHOR_END: main\n"
            ),
            "use a;\nfn main() {\n\n    let s = \"http://x\";\n    let c = '\"';\n}\n"
        );
        assert_eq!(code_of("fn main() {}\n"), "fn main() {}\n");
    }
}
