//! `lab check STEP`: build the copy, run each check and print what it
//! expected and what it saw, then verify the predictions.

use crate::build::{build_copy, build_starter, BuildError};
use crate::progress::{self, Attempt, Event, Outcome};
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
    match binary {
        Some(path) => check_binary(exercise, &path),
        None => check_copy(workspace, exercise),
    }
}

/// Run every check; print each verdict; return how many passed.
fn run_checks(exercise: &Exercise, binary: &std::path::Path, shown_as: &str) -> usize {
    let subject = Subject::at(binary);
    println!("Checking {}: {}", exercise.step, exercise.title);
    println!("  server: {shown_as}");
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
    passed
}

/// `--binary PATH`: a debugging aid. The checks run on any server, but
/// nothing is recorded and no prediction is scored: only a check of the
/// student's own copy counts.
fn check_binary(exercise: &Exercise, binary: &std::path::Path) -> i32 {
    let step = exercise.step;
    println!(
        "(--binary: checking {}, not your copy. This run does not count: nothing is recorded, \
         and predictions are not scored.)\n",
        binary.display()
    );
    let passed = run_checks(exercise, binary, &binary.display().to_string());
    let checks = exercise.all_checks().count();
    println!(
        "\n{step}: {passed} of {checks} checks pass on {} (not recorded: `cargo lab check {step}` \
         checks your copy).",
        binary.display()
    );
    i32::from(passed != checks)
}

fn check_copy(workspace: &Workspace, exercise: &Exercise) -> i32 {
    let step = exercise.step;
    let copy = workspace.copy_dir(exercise);
    if !copy.exists() {
        eprintln!(
            "lab: there is no copy of {step} to check yet — run `cargo lab start {step}` first"
        );
        return 1;
    }
    let checks = exercise.all_checks().count();
    let questions = exercise.questions.len();
    let hash = progress::copy_hash(&copy);
    let record = |result, passed, right| {
        let attempt = Attempt {
            copy: hash.clone(),
            result,
            checks: (passed, checks),
            predictions: (right, questions),
        };
        if let Err(e) = progress::record(workspace, exercise, Event::Check(attempt)) {
            eprintln!(
                "lab: recording this check in {} failed: {e} — it will not count",
                workspace.show(&workspace.log())
            );
        }
    };
    eprintln!("Building your copy ({}) ...", workspace.show(&copy));
    let binary = match build_copy(workspace, exercise) {
        Ok(path) => path,
        Err(BuildError::DoesNotCompile) => {
            eprintln!(
                "lab: your copy does not compile: the compiler's errors are above. Fix {} \
                 and run `cargo lab check {step}` again.",
                workspace.show(&workspace.source(exercise))
            );
            record(Outcome::DoesNotCompile, 0, 0);
            return 1;
        }
        Err(BuildError::Cargo(why)) => {
            eprintln!("lab: building your copy failed: {why}");
            return 1;
        }
    };
    let passed = run_checks(exercise, &binary, &workspace.show(&binary));
    let predicted = predictions(workspace, exercise);

    let summary = format!(
        "{passed} of {checks} checks pass, {} of {questions} predictions right at first",
        predicted.right
    );
    let done = passed == checks && predicted.made == questions;
    println!();
    if done {
        println!("{step}: {summary} — exercise done.{}", next_step(exercise));
        record(Outcome::Done, passed, predicted.right);
        0
    } else {
        let missing = if predicted.made < questions {
            " Every prediction must be made, too."
        } else {
            ""
        };
        println!(
            "{step}: {summary} — not done yet.{missing} `cargo lab hint {step}` gives a hint."
        );
        record(Outcome::Failing, passed, predicted.right);
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

/// Predictions made (first answers logged) and how many were right.
struct Predicted {
    made: usize,
    right: usize,
}

/// Lock each new readable answer in the log (the first answer is the one
/// scored), then grade each locked prediction against the experiment, run
/// on the starter. The measured value is shown only once the prediction it
/// answers is locked; a later edit is shown as a correction, not scored.
fn predictions(workspace: &Workspace, exercise: &Exercise) -> Predicted {
    let path = workspace.answers(exercise);
    let answers = std::fs::read_to_string(&path)
        .map(|text| parse_answers(&text))
        .unwrap_or_default();
    let on = exercise.starter_bin.unwrap_or("the untouched starter");
    let key = if exercise.questions.iter().any(|q| q.known().is_some()) {
        " or against the answer key"
    } else {
        ""
    };
    println!(
        "\nPredictions ({}), measured on {on}{key}:",
        workspace.show(&path)
    );
    let mut entries = progress::entries(workspace, exercise);
    let mut starter: Option<Result<Subject, String>> = None;
    let mut predicted = Predicted { made: 0, right: 0 };
    for question in exercise.questions {
        let now = answers.get(question.key);
        if progress::prediction(&entries, question.key).is_none() {
            match now {
                Some(given) if question.form_error(given).is_none() => {
                    let event = Event::Predict {
                        key: question.key.to_string(),
                        answer: given.trim().to_string(),
                    };
                    if progress::record(workspace, exercise, event).is_err() {
                        println!(
                            " ???  {}: your prediction could not be recorded",
                            question.key
                        );
                        continue;
                    }
                    entries = progress::entries(workspace, exercise);
                }
                Some(given) => {
                    println!(" ???  {}: you said {given:?}", question.key);
                    print_field(
                        "",
                        &format!(
                            "{}. {}",
                            question.form_error(given).unwrap_or_default(),
                            question.ask
                        ),
                    );
                    continue;
                }
                None => {
                    println!(" ---  {}: not answered yet", question.key);
                    print_field(
                        "",
                        &format!(
                            "{} Write your prediction after `{}:` in {} before you run anything: \
                             your first answer is the one scored, and the check shows {} only \
                             after that.",
                            question.ask,
                            question.key,
                            workspace.show(&path),
                            if question.known().is_some() {
                                "the right answer"
                            } else {
                                "what it measured"
                            }
                        ),
                    );
                    continue;
                }
            }
        }
        let first = progress::prediction(&entries, question.key)
            .unwrap_or_default()
            .to_string();
        predicted.made += 1;
        // A question of understanding has its answer without a run; the
        // starter is built once, and only when a prediction needs it.
        let measured = match question.known() {
            Some(known) => Ok(known),
            None => match starter
                .get_or_insert_with(|| build_starter(workspace, exercise).map(Subject::at))
            {
                Ok(subject) => (question.measure)(subject),
                Err(why) => Err(why.clone()),
            },
        };
        let source = if question.known().is_some() {
            "the answer"
        } else {
            "measured"
        };
        match measured {
            Ok(measured) => {
                let grade = question.grade(&first, &measured);
                let mark = if grade == Grade::Right {
                    "RIGHT"
                } else {
                    "WRONG"
                };
                println!(
                    "{mark}  {}: you predicted {first:?}; {source}: {}",
                    question.key, measured.value
                );
                if let Some(given) = now.filter(|given| given.trim() != first) {
                    let second = match question.grade(given, &measured) {
                        Grade::Right => "right",
                        Grade::Wrong => "still wrong",
                        Grade::Unreadable(_) => "not an answer",
                    };
                    print_field(
                        "",
                        &format!(
                            "Your answers file now says {:?}: a correction ({second}), not a \
                             prediction; the first answer is the one scored.",
                            given.trim()
                        ),
                    );
                }
                print_field("", &measured.story);
                predicted.right += usize::from(grade == Grade::Right);
            }
            Err(why) => {
                println!(
                    " ???  {}: you predicted {first:?}, but the experiment could not run",
                    question.key
                );
                print_field("", &why);
            }
        }
    }
    predicted
}
