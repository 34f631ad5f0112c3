//! `lab hint STEP`: the graded hints of `lessons/STEP/hints.md`, one more
//! each time, mildest first. Each hint shown is logged (`progress`): the
//! count cannot be lowered, and `--again` shows the ones read without
//! reading another.

use crate::progress::{self, Event};
use crate::workspace::Workspace;
use lsbaws::report::die_msg;
use lsbaws_lab::exercise::Exercise;

pub fn next(workspace: &Workspace, exercise: &Exercise, again: bool) -> i32 {
    let step = exercise.step;
    let hints = exercise.hints();
    let seen = progress::hints_seen(&progress::entries(workspace, exercise));
    if again {
        if seen == 0 {
            println!("No hint read yet for {step}: `cargo lab hint {step}` shows the first.");
        }
        for (i, hint) in hints[..seen.min(hints.len())].iter().enumerate() {
            println!(
                "Hint {} of {} for {step}: {}\n\n{}\n",
                i + 1,
                hints.len(),
                hint.title,
                hint.text
            );
        }
        return 0;
    }
    let Some(hint) = hints.get(seen) else {
        println!(
            "That was the last of the {} hints for {step}. `cargo lab hint {step} --again` shows \
             them again; `cargo lab diff {step}` shows how your copy differs from the reference.",
            hints.len(),
        );
        return 0;
    };
    if seen > 0 {
        let earlier: Vec<String> = hints[..seen]
            .iter()
            .enumerate()
            .map(|(i, h)| format!("{}. {}", i + 1, h.title))
            .collect();
        println!("(seen: {})\n", earlier.join("; "));
    }
    println!(
        "Hint {} of {} for {step}: {}\n\n{}\n",
        seen + 1,
        hints.len(),
        hint.title,
        hint.text
    );
    if seen + 1 < hints.len() {
        println!("(`cargo lab hint {step}` again for the next, more direct one)");
    }
    progress::record(workspace, exercise, Event::Hint(seen + 1)).unwrap_or_else(|e| {
        die_msg(format!(
            "saving your hint progress in {} failed: {e}",
            workspace.show(workspace.work())
        ))
    });
    0
}
