//! `lab hint STEP`: the graded hints of `lessons/STEP/hints.md`, one more
//! each time, mildest first.

use crate::workspace::Workspace;
use lsbaws::report::die_msg;
use lsbaws_lab::exercise::Exercise;

pub fn next(workspace: &Workspace, exercise: &Exercise, reset: bool) -> i32 {
    let step = exercise.step;
    let hints = exercise.hints();
    let seen = if reset {
        0
    } else {
        workspace.hints_seen(exercise)
    };
    let Some(hint) = hints.get(seen) else {
        println!(
            "That was the last of the {} hints for {step}. `cargo lab diff {step}` shows how your \
             copy differs from the reference ({}); `cargo lab hint {step} --reset` starts the \
             hints over.",
            hints.len(),
            exercise.reference.path
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
    workspace
        .save_hints_seen(exercise, seen + 1)
        .unwrap_or_else(|e| {
            die_msg(format!(
                "saving your hint progress in {} failed: {e}",
                workspace.show(workspace.work())
            ))
        });
    0
}
