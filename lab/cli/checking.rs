//! `lab check STEP`: build the copy, run each check and print what it
//! expected and what it saw, then verify the predictions.

use crate::build::{build_copy, build_starter, BuildError};
use crate::workspace::Workspace;
use lsbaws_lab::exercise::Exercise;
use lsbaws_lab::question::{parse_answers, wrap, Grade};
use lsbaws_lab::Subject;
use std::path::PathBuf;

/// Lines of output are wrapped to this width.
const WIDTH: usize = 96;

/// Print `label` then `text`, wrapped, continuation lines indented.
fn print_field(label: &str, text: &str) {
    let indent = " ".repeat(6 + label.len());
    for (i, line) in wrap(text, WIDTH - indent.len()).iter().enumerate() {
        if i == 0 {
            println!("      {label}{line}");
        } else {
            println!("{indent}{line}");
        }
    }
}

pub fn check(workspace: &Workspace, exercise: &Exercise, binary: Option<PathBuf>) -> i32 {
    let step = exercise.step;
    let copy = workspace.copy_dir(exercise);
    if binary.is_none() && !copy.exists() {
        eprintln!(
            "lab: there is no copy of {step} to check yet — run `cargo lab start {step}` first"
        );
        return 1;
    }
    let binary = match binary {
        Some(path) => path,
        None => {
            eprintln!("Building your copy ({}) ...", workspace.show(&copy));
            match build_copy(workspace, exercise) {
                Ok(path) => path,
                Err(BuildError::DoesNotCompile) => {
                    eprintln!(
                        "lab: your copy does not compile: the compiler's errors are above. Fix {} \
                         and run `cargo lab check {step}` again.",
                        workspace.show(&workspace.source(exercise))
                    );
                    let _ = workspace.save_status(exercise, "started, does not compile");
                    return 1;
                }
                Err(BuildError::Cargo(why)) => {
                    eprintln!("lab: building your copy failed: {why}");
                    return 1;
                }
            }
        }
    };
    let subject = Subject::at(&binary);
    println!("Checking {step}: {}", exercise.title);
    println!("  server: {}", workspace.show(&binary));
    println!("  run as: {} --port 0\n", subject.command_line());

    let mut passed = 0;
    for check in exercise.all_checks() {
        let verdict = check.check(&subject);
        println!(
            "{}  {}",
            if verdict.passed { "PASS" } else { "FAIL" },
            check.title
        );
        print_field("expected: ", check.expected);
        print_field("saw:      ", &verdict.saw);
        passed += usize::from(verdict.passed);
    }
    let right = predictions(workspace, exercise);

    let checks = exercise.all_checks().count();
    let questions = exercise.questions.len();
    let summary =
        format!("{passed} of {checks} checks pass, {right} of {questions} predictions right");
    let done = passed == checks && right == questions;
    println!();
    if done {
        println!("{step}: {summary} — exercise done.{}", next_step(exercise));
        let _ = workspace.save_status(exercise, &format!("done ({summary})"));
        0
    } else {
        println!("{step}: {summary} — not done yet. `cargo lab hint {step}` gives a hint.");
        let _ = workspace.save_status(exercise, &format!("started, {summary}"));
        1
    }
}

/// " Next: `cargo lab start 3e`." for every exercise but the last.
fn next_step(exercise: &Exercise) -> String {
    let exercises = lsbaws_lab::EXERCISES;
    let at = exercises.iter().position(|e| e.step == exercise.step);
    match at.and_then(|i| exercises.get(i + 1)) {
        Some(next) => format!(" Next: `cargo lab start {}`.", next.step),
        None => String::new(),
    }
}

/// Grade each answered prediction against the experiment, run on the
/// starter; returns how many were right.
fn predictions(workspace: &Workspace, exercise: &Exercise) -> usize {
    let path = workspace.answers(exercise);
    let answers = std::fs::read_to_string(&path)
        .map(|text| parse_answers(&text))
        .unwrap_or_default();
    let on = exercise.starter_bin.unwrap_or("the untouched starter");
    println!(
        "\nPredictions ({}), measured on {on}:",
        workspace.show(&path)
    );
    let mut starter: Option<Result<Subject, String>> = None;
    let mut right = 0;
    for question in exercise.questions {
        let Some(given) = answers.get(question.key) else {
            println!(" ---  {}: not answered yet", question.key);
            print_field(
                "",
                &format!(
                    "{} Write your prediction after `{}:` in {} before you run anything; the \
                     check runs the experiment once you have.",
                    question.ask,
                    question.key,
                    workspace.show(&path)
                ),
            );
            continue;
        };
        // Built once, and only when a prediction needs it.
        let starter =
            starter.get_or_insert_with(|| build_starter(workspace, exercise).map(Subject::at));
        let measured = match starter {
            Ok(subject) => (question.measure)(subject),
            Err(why) => Err(why.clone()),
        };
        match measured {
            Ok(measured) => {
                let grade = question.grade(given, &measured);
                let mark = match grade {
                    Grade::Right => "RIGHT",
                    Grade::Wrong => "WRONG",
                    Grade::Unreadable(_) => " ??? ",
                };
                println!(
                    "{mark}  {}: you said {given:?}; measured: {}",
                    question.key, measured.value
                );
                if let Grade::Unreadable(why) = &grade {
                    print_field("", &format!("{why}. {}", question.ask));
                }
                print_field("", &measured.story);
                right += usize::from(grade == Grade::Right);
            }
            Err(why) => {
                println!(
                    " ???  {}: you said {given:?}, but the experiment could not run",
                    question.key
                );
                print_field("", &why);
            }
        }
    }
    right
}
