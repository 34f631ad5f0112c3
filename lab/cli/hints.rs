//! `lab hint STEP`: the graded hints of `lessons/STEP/hints.md`, one more
//! each time, mildest first. Each hint shown is logged (`progress`): the
//! count cannot be lowered, and `--again` shows the ones read without
//! reading another.

use crate::progress::{self, Event};
use crate::workspace::Workspace;
use lsbaws::report::die_msg;
use lsbaws_lab::exercise::{Exercise, Hint};
use lsbaws_lab::language::{self, Lang};

/// "Hint 2 of 4 for 3c: TITLE", and the hint.
fn heading(lang: Lang, step: &str, number: usize, hints: &[Hint], hint: &Hint) -> String {
    let of = hints.len();
    let (title, text) = (&hint.title, &hint.text);
    match lang {
        Lang::En => format!("Hint {number} of {of} for {step}: {title}\n\n{text}\n"),
        Lang::ZhCn => format!("{step} 的提示 {number}/{of}：{title}\n\n{text}\n"),
    }
}

pub fn next(workspace: &Workspace, exercise: &Exercise, again: bool, lang: Lang) -> i32 {
    let step = exercise.step;
    let hints = language::hints(exercise, lang);
    let seen = progress::hints_seen(&progress::entries(workspace, exercise));
    if again {
        if seen == 0 {
            match lang {
                Lang::En => println!(
                    "No hint read yet for {step}: `cargo lab hint {step}` shows the first."
                ),
                Lang::ZhCn => {
                    println!("{step} 的提示还一条都没看过：`cargo lab hint {step}` 显示第一条。")
                }
            }
        }
        for (i, hint) in hints[..seen.min(hints.len())].iter().enumerate() {
            println!("{}", heading(lang, step, i + 1, &hints, hint));
        }
        return 0;
    }
    let Some(hint) = hints.get(seen) else {
        match lang {
            Lang::En => println!(
                "That was the last of the {} hints for {step}. `cargo lab hint {step} --again` \
                 shows them again; `cargo lab diff {step}` shows how your copy differs from the \
                 reference.",
                hints.len(),
            ),
            Lang::ZhCn => println!(
                "{step} 的 {} 条提示已经全部看完。`cargo lab hint {step} --again` 再显示一遍；\
                 `cargo lab diff {step}` 显示你的副本与参考答案的差别。",
                hints.len(),
            ),
        }
        return 0;
    };
    if seen > 0 {
        let earlier: Vec<String> = hints[..seen]
            .iter()
            .enumerate()
            .map(|(i, h)| format!("{}. {}", i + 1, h.title))
            .collect();
        match lang {
            Lang::En => println!("(seen: {})\n", earlier.join("; ")),
            Lang::ZhCn => println!("（已看过：{}）\n", earlier.join("；")),
        }
    }
    println!("{}", heading(lang, step, seen + 1, &hints, hint));
    if seen + 1 < hints.len() {
        match lang {
            Lang::En => println!("(`cargo lab hint {step}` again for the next, more direct one)"),
            Lang::ZhCn => println!("（再运行一次 `cargo lab hint {step}`，看下一条更直接的提示）"),
        }
    }
    progress::record(workspace, exercise, Event::Hint(seen + 1)).unwrap_or_else(|e| {
        die_msg(format!(
            "saving your hint progress in {} failed: {e}",
            workspace.show(workspace.work())
        ))
    });
    0
}
