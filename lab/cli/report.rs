//! `lab report`: for an instructor (or a grader), every started exercise
//! checked again, as a table, JSON (`--json`) or JUnit XML (`--junit`).
//!
//! Each copy is built and its checks run now, exactly as `lab check` runs
//! them, and the run is logged like any check of the copy. What cannot be
//! re-run cheaply comes from the log: the predictions' first answers and
//! how many were right (measured when they were made), hints read, the
//! number of checks and when the exercise was first done.

use crate::build::{build_copy, BuildError};
use crate::progress::{self, Attempt, Event, Outcome};
use crate::workspace::Workspace;
use lsbaws_lab::exercise::Exercise;
use lsbaws_lab::{Subject, EXERCISES};

/// One check's verdict now.
struct CheckRow {
    id: &'static str,
    title: &'static str,
    passed: bool,
    saw: String,
}

/// One exercise in the report.
struct Row {
    step: &'static str,
    title: &'static str,
    /// Did the copy compile? (No checks ran if not.)
    compiles: bool,
    checks: Vec<CheckRow>,
    /// Predictions made (first answers logged), and right at first.
    predictions_made: usize,
    predictions_right: usize,
    questions: usize,
    hints_read: usize,
    hints: usize,
    /// Checks of the copy in the log, this one included.
    attempts: usize,
    /// When a check of the copy first passed (seconds since 1970).
    first_done: Option<u64>,
    copy: String,
}

impl Row {
    fn passed(&self) -> usize {
        self.checks.iter().filter(|c| c.passed).count()
    }

    fn done(&self) -> bool {
        self.compiles
            && self.checks.iter().all(|c| c.passed)
            && self.predictions_made == self.questions
    }
}

fn evaluate(workspace: &Workspace, exercise: &'static Exercise) -> Row {
    let copy = workspace.copy_dir(exercise);
    let hash = progress::copy_hash(&copy);
    eprintln!("Building and checking {} ...", workspace.show(&copy));
    let built = build_copy(workspace, exercise);
    let checks: Vec<CheckRow> = match &built {
        Ok(binary) => {
            let subject = Subject::at(binary);
            exercise
                .all_checks()
                .map(|check| {
                    let verdict = check.check(&subject);
                    CheckRow {
                        id: check.id,
                        title: check.title,
                        passed: verdict.passed,
                        saw: verdict.saw,
                    }
                })
                .collect()
        }
        Err(BuildError::DoesNotCompile | BuildError::Cargo(_)) => Vec::new(),
    };
    let entries = progress::entries(workspace, exercise);
    let questions = exercise.questions.len();
    let predictions_made = exercise
        .questions
        .iter()
        .filter(|q| progress::prediction(&entries, q.key).is_some())
        .count();
    // Right at first, as measured when the predictions were made.
    let predictions_right = progress::attempts(&entries)
        .iter()
        .map(|(_, a)| a.predictions.0)
        .max()
        .unwrap_or(0);
    let mut row = Row {
        step: exercise.step,
        title: exercise.title,
        compiles: built.is_ok(),
        checks,
        predictions_made,
        predictions_right,
        questions,
        hints_read: progress::hints_seen(&entries),
        hints: exercise.hints().len(),
        attempts: progress::attempts(&entries).len() + 1,
        first_done: progress::attempts(&entries)
            .iter()
            .find(|(_, a)| a.result == Outcome::Done)
            .map(|(time, _)| *time),
        copy: hash.clone(),
    };
    let result = match (row.compiles, row.done()) {
        (false, _) => Outcome::DoesNotCompile,
        (true, true) => Outcome::Done,
        (true, false) => Outcome::Failing,
    };
    let attempt = Attempt {
        copy: hash,
        result,
        checks: (row.passed(), exercise.all_checks().count()),
        predictions: (row.predictions_right, questions),
    };
    if progress::record(workspace, exercise, Event::Check(attempt)).is_ok()
        && result == Outcome::Done
        && row.first_done.is_none()
    {
        row.first_done = progress::attempts(&progress::entries(workspace, exercise))
            .iter()
            .find(|(_, a)| a.result == Outcome::Done)
            .map(|(time, _)| *time);
    }
    row
}

pub fn report(workspace: &Workspace, json: bool, junit: bool) -> i32 {
    let rows: Vec<Row> = EXERCISES
        .iter()
        .filter(|e| workspace.copy_dir(e).exists())
        .map(|e| evaluate(workspace, e))
        .collect();
    if json {
        print!("{}", to_json(workspace, &rows));
    } else if junit {
        print!("{}", to_junit(&rows));
    } else {
        print_table(workspace, &rows);
    }
    0
}

fn print_table(workspace: &Workspace, rows: &[Row]) {
    println!(
        "Report for {} ({} of {} exercises started):",
        workspace.show(workspace.work()),
        rows.len(),
        EXERCISES.len()
    );
    println!(
        "  {:<13}{:<18}{:<10}{:<14}{:<8}{:<9}failing",
        "step", "status", "checks", "predictions", "hints", "checked"
    );
    for row in rows {
        let status = if !row.compiles {
            "does not compile"
        } else if row.done() {
            "done"
        } else {
            "not done"
        };
        let failing: Vec<&str> = row
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.id)
            .collect();
        println!(
            "  {:<13}{:<18}{:<10}{:<14}{:<8}{:<9}{}",
            row.step,
            status,
            format!("{}/{}", row.passed(), row.checks.len()),
            format!("{}/{} made", row.predictions_made, row.questions),
            format!("{}/{}", row.hints_read, row.hints),
            format!("{}x", row.attempts),
            failing.join(" ")
        );
    }
}

/// A JSON string literal.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn to_json(workspace: &Workspace, rows: &[Row]) -> String {
    let exercises: Vec<String> = rows
        .iter()
        .map(|row| {
            let checks: Vec<String> = row
                .checks
                .iter()
                .map(|c| {
                    format!(
                        "{{\"id\": {}, \"title\": {}, \"passed\": {}, \"saw\": {}}}",
                        quoted(c.id),
                        quoted(c.title),
                        c.passed,
                        quoted(&c.saw)
                    )
                })
                .collect();
            format!(
                "    {{\"step\": {}, \"title\": {}, \"done\": {}, \"compiles\": {}, \
                 \"checks_passed\": {}, \"checks\": {}, \"predictions_made\": {}, \
                 \"predictions_right_at_first\": {}, \"questions\": {}, \"hints_read\": {}, \
                 \"hints\": {}, \"attempts\": {}, \"first_done\": {}, \"copy\": {},\n     \
                 \"results\": [{}]}}",
                quoted(row.step),
                quoted(row.title),
                row.done(),
                row.compiles,
                row.passed(),
                row.checks.len(),
                row.predictions_made,
                row.predictions_right,
                row.questions,
                row.hints_read,
                row.hints,
                row.attempts,
                row.first_done.map_or("null".to_string(), |t| t.to_string()),
                quoted(&row.copy),
                checks.join(", ")
            )
        })
        .collect();
    format!(
        "{{\"work_dir\": {}, \"exercises_total\": {}, \"exercises\": [\n{}\n]}}\n",
        quoted(&workspace.work().display().to_string()),
        EXERCISES.len(),
        exercises.join(",\n")
    )
}

/// Text for XML: the five characters that must be escaped.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn to_junit(rows: &[Row]) -> String {
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"lab\">\n");
    for row in rows {
        let failures = if row.compiles {
            row.checks.len() - row.passed()
        } else {
            1
        };
        let tests = row.checks.len().max(1) + 1;
        out.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{}\">\n",
            xml(row.step),
            failures + usize::from(row.predictions_made < row.questions)
        ));
        if !row.compiles {
            out.push_str(&format!(
                "    <testcase classname=\"{0}\" name=\"compiles\"><failure message=\"the copy does not compile\"/></testcase>\n",
                xml(row.step)
            ));
        }
        for check in &row.checks {
            out.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}: {}\">",
                xml(row.step),
                xml(check.id),
                xml(check.title)
            ));
            if !check.passed {
                out.push_str(&format!("<failure message=\"{}\"/>", xml(&check.saw)));
            }
            out.push_str("</testcase>\n");
        }
        out.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"predictions made\">",
            xml(row.step)
        ));
        if row.predictions_made < row.questions {
            out.push_str(&format!(
                "<failure message=\"{} of {} predictions made\"/>",
                row.predictions_made, row.questions
            ));
        }
        out.push_str("</testcase>\n  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::{quoted, xml};

    #[test]
    fn strings_are_escaped() {
        assert_eq!(quoted("a \"b\"\\\n\u{1}"), "\"a \\\"b\\\"\\\\\\n\\u0001\"");
        assert_eq!(xml("<a & 'b'>"), "&lt;a &amp; &apos;b&apos;&gt;");
    }
}
