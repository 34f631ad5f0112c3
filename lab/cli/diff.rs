//! `lab diff STEP`: the student's copy against the reference (or, with
//! `--starter`, the starter against the copy: what the student changed), as
//! a unified diff.

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
        (old, new)
    } else {
        (code_of(old), code_of(new))
    };
    let diff = TextDiff::from_lines(old, new);
    let left_out = if all {
        ""
    } else {
        " (doc headers left out; --all includes them)"
    };
    if diff.ratio() == 1.0 {
        println!("No differences between {old_name} and {new_name}{left_out}.");
        return 0;
    }
    if !all {
        println!("# The `//!` doc headers are left out; `--all` includes them.");
    }
    print!(
        "{}",
        diff.unified_diff()
            .context_radius(3)
            .header(&old_name, &new_name)
    );
    0
}

/// The source after its leading `//!` doc header and the blank lines that
/// follow it.
fn code_of(source: &str) -> &str {
    let mut rest = source;
    while let Some(line_end) = rest.find('\n') {
        let line = rest[..line_end].trim();
        if line.starts_with("//!") || line.is_empty() {
            rest = &rest[line_end + 1..];
        } else {
            break;
        }
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::code_of;

    #[test]
    fn the_doc_header_is_left_out() {
        assert_eq!(
            code_of("//! # x\n//!\n//! y\n\nuse a;\n//! not a header\n"),
            "use a;\n//! not a header\n"
        );
        assert_eq!(code_of("fn main() {}\n"), "fn main() {}\n");
    }
}
