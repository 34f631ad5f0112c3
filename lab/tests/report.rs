//! The instructor's side: `lab report` (table, `--json`, `--junit`), the
//! GitHub Classroom autograding setup, and the script that merges a class's
//! JSON reports into one CSV, run as a class would run them.

use assert_cmd::Command;
use lsbaws_harness::ScratchDir;
use lsbaws_lab::EXERCISES;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(300);
const AUTOGRADING: &str = include_str!("../../.github/classroom/autograding.json");

fn target() -> PathBuf {
    lsbaws_harness::bin_dir()
        .parent()
        .expect("target/")
        .join("lab-work-report")
}

/// `lab ARGS` with `work` as the work folder.
fn lab(work: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("lab")
        .unwrap()
        .arg("--work-dir")
        .arg(work)
        .args(args)
        .env("LAB_TARGET_DIR", target())
        .env_remove("LAB_WORK_DIR")
        .timeout(LIMIT)
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The `run` commands of the autograding file, in order.
fn autograding_runs() -> Vec<String> {
    AUTOGRADING
        .lines()
        .filter_map(|line| {
            let value = line.trim().strip_prefix("\"run\": \"")?;
            Some(
                value
                    .trim_end_matches(',')
                    .trim_end_matches('"')
                    .to_string(),
            )
        })
        .collect()
}

#[test]
fn the_classroom_setup_checks_every_exercise() {
    let runs = autograding_runs();
    let wanted: Vec<String> = EXERCISES
        .iter()
        .map(|e| format!("cargo lab check {}", e.step))
        .collect();
    assert_eq!(
        runs, wanted,
        ".github/classroom/autograding.json must run `cargo lab check STEP` for every exercise, \
         in the order of the exercise table"
    );
}

#[test]
fn a_class_is_graded_reported_and_merged() {
    let work = ScratchDir::new("report").unwrap();
    let work = work.path();
    assert!(lab(work, &["start", "3c"]).status.success());
    let copy = work.join("3c");
    std::fs::write(
        copy.join("src/main.rs"),
        include_str!("../../bins/part3/webserver3c.rs"),
    )
    .unwrap();
    let answers = std::fs::read_to_string(copy.join("answers.txt"))
        .unwrap()
        .replace("\nfds_after_10: \n", "\nfds_after_10: 14\n")
        .replace("\nemfile_clients: \n", "\nemfile_clients: 300\n")
        .replace("\neof_after_response: \n", "\neof_after_response: no\n");
    std::fs::write(copy.join("answers.txt"), answers).unwrap();
    assert!(lab(work, &["start", "3e"]).status.success());

    // The autograding commands, as Classroom runs them: 3c passes, 3e (the
    // untouched starter) does not, 3f (not started) does not.
    for (step, passes) in [("3c", true), ("3e", false), ("3f", false)] {
        let run = format!("cargo lab check {step}");
        assert!(autograding_runs().contains(&run), "{run}");
        let graded = lab(work, &["check", step]);
        assert_eq!(graded.status.success(), passes, "{run}:\n{}", text(&graded));
    }

    let table = lab(work, &["report"]);
    let table = text(&table);
    assert!(
        table.contains(&format!("2 of {} exercises started", EXERCISES.len())),
        "{table}"
    );
    let line = |step: &str| {
        table
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{step} ")))
            .unwrap_or_default()
            .to_string()
    };
    assert!(
        line("3c").contains("done") && line("3c").contains("3/3 made"),
        "{table}"
    );
    assert!(line("3e").contains("not done"), "{table}");

    let json = lab(work, &["report", "--json"]);
    assert!(json.status.success(), "{}", text(&json));
    let reports = ScratchDir::new("reports").unwrap();
    let alice = reports.path().join("alice.json");
    std::fs::write(&alice, &json.stdout).unwrap();
    let junit = text(&lab(work, &["report", "--junit"]));
    assert!(
        junit.contains("<testsuite name=\"3e\"") && junit.contains("<failure message="),
        "{junit}"
    );

    let merged = std::process::Command::new(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("classroom/merge-reports"),
    )
    .arg(&alice)
    .output()
    .unwrap();
    let csv = text(&merged);
    assert!(merged.status.success(), "{csv}");
    let mut lines = csv.lines();
    assert!(
        lines.next().unwrap().starts_with("student,step,done,"),
        "{csv}"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "{csv}");
    assert!(
        rows[0].starts_with("alice,3c,True,True,4,4,3,2,3,"),
        "{csv}"
    );
    assert!(rows[1].starts_with("alice,3e,False,True,"), "{csv}");
}
