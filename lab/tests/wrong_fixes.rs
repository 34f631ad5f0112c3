//! Every known wrong fix fails a check, every time.
//!
//! An exercise's wrong fixes (`lessons/STEP/wrong/NAME.rs`, listed in the
//! exercise table) are what a student might write that looks right and is
//! not: a SIGCHLD handler that blocks, an error swallowed, an epoll
//! descriptor nobody waits on. Each is built exactly as a student's copy is
//! (`lab start`, the file replaced, `cargo build` into a target folder
//! shared with the other lab tests, so only the copy itself compiles), then
//! the checks named for it are run [`RUNS`] times: each must fail each time.
//! A check that caught a wrong fix only now and then would let a student
//! re-run until it passed.

use assert_cmd::Command;
use lsbaws_harness::ScratchDir;
use lsbaws_lab::{find, Subject, EXERCISES};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How many times each catching check runs on each wrong fix.
const RUNS: usize = 5;

/// One target folder for every wrong fix: each exercise's copy builds a
/// binary of its own name, and the wrong fixes of one exercise are built
/// one after another.
fn target() -> PathBuf {
    lsbaws_harness::bin_dir()
        .parent()
        .expect("target/")
        .join("lab-work-wrong")
}

fn cargo() -> std::process::Command {
    std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// `lab start STEP` in `work`, then each wrong fix written in and built;
/// returns (name, binary) for each.
fn build_wrong_fixes(work: &Path, step: &str) -> Vec<(&'static str, PathBuf)> {
    let exercise = find(step).unwrap();
    let started = Command::cargo_bin("lab")
        .unwrap()
        .arg("--work-dir")
        .arg(work)
        .args(["start", step])
        .env("LAB_TARGET_DIR", target())
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(started.status.success(), "{started:?}");
    let copy = work.join(step);
    exercise
        .wrong
        .iter()
        .map(|wrong| {
            std::fs::write(copy.join(exercise.edited().to), wrong.source.text).unwrap();
            let built = cargo()
                .arg("build")
                .arg("--manifest-path")
                .arg(copy.join("Cargo.toml"))
                .env("CARGO_TARGET_DIR", target())
                .output()
                .unwrap();
            assert!(
                built.status.success(),
                "{step}: the wrong fix {} does not compile:\n{}",
                wrong.name,
                String::from_utf8_lossy(&built.stderr)
            );
            let binary = work.join(wrong.name);
            std::fs::copy(target().join("debug").join(exercise.binary), &binary).unwrap();
            (wrong.name, binary)
        })
        .collect()
}

fn every_wrong_fix_fails(step: &str) {
    let exercise = find(step).unwrap();
    assert!(!exercise.wrong.is_empty(), "{step} has no wrong fix");
    let work = ScratchDir::new("wrong").unwrap();
    for (wrong, (name, binary)) in exercise
        .wrong
        .iter()
        .zip(build_wrong_fixes(work.path(), step))
    {
        let subject = Subject::at(&binary);
        for id in wrong.caught_by {
            let check = exercise.check(id).unwrap();
            for run in 1..=RUNS {
                let verdict = check.check(&subject);
                println!("{step} {name}, {id}, run {run}: {verdict:?}");
                assert!(
                    !verdict.passed,
                    "{step}: the wrong fix {name} passes check {id} on run {run} of {RUNS}: {}",
                    verdict.saw
                );
            }
        }
    }
}

#[test]
fn wrong_fixes_of_3f_fail() {
    every_wrong_fix_fails("3f");
}

#[test]
fn wrong_fixes_of_3g_fail() {
    every_wrong_fix_fails("3g");
}

#[test]
fn wrong_fixes_of_3h_fail() {
    every_wrong_fix_fails("3h");
}

#[test]
fn wrong_fixes_of_4a_fail() {
    every_wrong_fix_fails("4a");
}

#[test]
fn wrong_fixes_of_4b_fail() {
    every_wrong_fix_fails("4b");
}

#[test]
fn wrong_fixes_of_4h_fail() {
    every_wrong_fix_fails("4h");
}

#[test]
fn wrong_fixes_of_4p_fail() {
    every_wrong_fix_fails("4p");
}

#[test]
fn wrong_fixes_of_4e_fail() {
    every_wrong_fix_fails("4e");
}

#[test]
fn wrong_fixes_of_4f_blocking_fail() {
    every_wrong_fix_fails("4f-blocking");
}

#[test]
fn wrong_fixes_of_homework_fail() {
    every_wrong_fix_fails("homework");
}

#[test]
fn wrong_fixes_of_ftp_commands_fail() {
    every_wrong_fix_fails("ftp-commands");
}

#[test]
fn wrong_fixes_of_ftp_confine_fail() {
    every_wrong_fix_fails("ftp-confine");
}

#[test]
fn every_exercise_with_wrong_fixes_has_a_test_here() {
    let this_file = include_str!("wrong_fixes.rs");
    for exercise in EXERCISES.iter().filter(|e| !e.wrong.is_empty()) {
        let test = format!(
            "fn wrong_fixes_of_{}_fail()",
            exercise.step.replace('-', "_")
        );
        assert!(
            this_file.contains(&test),
            "no `{test}` in lab/tests/wrong_fixes.rs"
        );
    }
}
