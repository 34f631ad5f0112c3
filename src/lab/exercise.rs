//! The table of exercises.
//!
//! An exercise is one step of the book that is a lesson: the student starts
//! from the previous step's server (the *starter*, which shows the failure)
//! and makes the fix that turns it into the next step (the *reference*).
//! Its text lives in `lessons/<step>/` (`README.md`: the task, what to
//! observe before and after, the experiments; `hints.md`: graded hints);
//! its checks and predict-then-run questions are Rust, in [`super::part3`].
//!
//! To add an exercise: write `lessons/<step>/README.md` and `hints.md`, add
//! its checks and questions (reusing the observations in
//! [`super::observe`]), add an entry below, and list in `proof` the broken
//! binaries each check must fail on. `tests/lab.rs` then proves every check
//! both ways and walks a student's copy from `lab start` to a passing
//! `lab check`.

use super::check::Check;
use super::part3;
use super::question::Question;

/// A server's source file in `bins/`, and the binary cargo builds from it.
#[derive(Debug, Clone, Copy)]
pub struct Program {
    /// The `[[bin]]` name: `webserver3d`.
    pub bin: &'static str,
    /// The source, relative to the repository: `bins/webserver3d.rs`.
    pub path: &'static str,
    /// The source itself, compiled in so that the table cannot name a file
    /// that does not exist.
    pub source: &'static str,
}

/// `program!("webserver3d")`: the binary and its source in `bins/`.
macro_rules! program {
    ($bin:literal) => {
        Program {
            bin: $bin,
            path: concat!("bins/", $bin, ".rs"),
            source: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/bins/", $bin, ".rs")),
        }
    };
}

/// `lesson_text!("3c")`: the exercise's README and hints from `lessons/3c/`.
macro_rules! lesson_text {
    ($step:literal) => {
        (
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/lessons/", $step, "/README.md")),
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/lessons/", $step, "/hints.md")),
        )
    };
}

/// One exercise.
#[derive(Debug)]
pub struct Exercise {
    /// The step it leads to, and its name on the command line: `3c`.
    pub step: &'static str,
    pub title: &'static str,
    /// The book chapter it belongs to.
    pub chapter: &'static str,
    /// The server the student starts from.
    pub starter: Program,
    /// The server the student's fix should behave like; the student's
    /// binary takes its name.
    pub reference: Program,
    /// `lessons/<step>/README.md`.
    pub readme: &'static str,
    /// `lessons/<step>/hints.md`: `## ` headings, mildest first.
    pub hints: &'static str,
    pub checks: &'static [&'static Check],
    pub questions: &'static [&'static Question],
    /// For CI: broken binaries of this package, and the checks (by id) each
    /// must fail. The starter comes first; then the earlier broken steps.
    pub proof: &'static [(&'static str, &'static [&'static str])],
}

/// One graded hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub title: String,
    pub text: String,
}

impl Exercise {
    /// The hints, mildest first: each `## ` section of `hints.md`.
    pub fn hints(&self) -> Vec<Hint> {
        let mut hints = Vec::new();
        for section in self.hints.split("\n## ").skip(1) {
            let (title, text) = section.split_once('\n').unwrap_or((section, ""));
            hints.push(Hint { title: title.trim().to_string(), text: text.trim().to_string() });
        }
        hints
    }

    /// The check with this id.
    pub fn check(&self, id: &str) -> Option<&'static Check> {
        self.checks.iter().copied().find(|c| c.id == id)
    }
}

/// Every exercise, in the order of the book.
pub static EXERCISES: &[Exercise] = &[
    Exercise {
        step: "3c",
        title: "Close the duplicate descriptors",
        chapter: "Part 3: webserver3c and webserver3d",
        starter: program!("webserver3d"),
        reference: program!("webserver3c"),
        readme: lesson_text!("3c").0,
        hints: lesson_text!("3c").1,
        checks: &[&part3::CONCURRENT, &part3::EOF, &part3::NO_LEAK, &part3::OPEN_FILE_LIMIT],
        questions: &[&part3::FDS_AFTER_TEN, &part3::EMFILE_COUNT],
        proof: &[
            ("webserver3d", &["eof", "no-leak", "ulimit-n"]),
            ("webserver3a", &["concurrent"]),
            ("webserver3b", &["concurrent"]),
        ],
    },
    Exercise {
        step: "3e",
        title: "Reap children with a SIGCHLD handler",
        chapter: "Part 3: webserver3e",
        starter: program!("webserver3c"),
        reference: program!("webserver3e"),
        readme: lesson_text!("3e").0,
        hints: lesson_text!("3e").1,
        checks: &[&part3::CONCURRENT, &part3::SIGCHLD_HANDLER, &part3::REAPED],
        questions: &[&part3::EAGAIN_COUNT],
        proof: &[
            ("webserver3c", &["sigchld-handler", "reaped"]),
            ("webserver3d", &["sigchld-handler", "reaped"]),
            ("webserver3a", &["concurrent", "sigchld-handler"]),
            ("webserver3b", &["concurrent", "sigchld-handler"]),
        ],
    },
    Exercise {
        step: "3f",
        title: "Survive EINTR",
        chapter: "Part 3: webserver3f",
        starter: program!("webserver3e"),
        reference: program!("webserver3f"),
        readme: lesson_text!("3f").0,
        hints: lesson_text!("3f").1,
        checks: &[&part3::CONCURRENT, &part3::REAPED, &part3::SURVIVES_EINTR],
        questions: &[&part3::REQUESTS_BEFORE_EINTR],
        proof: &[
            ("webserver3e", &["survives"]),
            ("webserver3c", &["reaped"]),
            ("webserver3d", &["reaped"]),
            ("webserver3a", &["concurrent"]),
            ("webserver3b", &["concurrent"]),
        ],
    },
    Exercise {
        step: "3g",
        title: "Reap every child",
        chapter: "Part 3: webserver3g",
        starter: program!("webserver3f"),
        reference: program!("webserver3g"),
        readme: lesson_text!("3g").0,
        hints: lesson_text!("3g").1,
        checks: &[&part3::CONCURRENT, &part3::REAPED, &part3::SURVIVES_EINTR, &part3::BURSTS],
        questions: &[&part3::ZOMBIES_AFTER_BURSTS],
        proof: &[
            ("webserver3f", &["bursts"]),
            ("webserver3e", &["survives"]),
            ("webserver3c", &["reaped"]),
            ("webserver3d", &["reaped"]),
            ("webserver3a", &["concurrent"]),
            ("webserver3b", &["concurrent"]),
        ],
    },
];

/// The exercise for `step` (`3c`; `webserver3c` works too).
pub fn find(step: &str) -> Option<&'static Exercise> {
    let step = step.trim().trim_start_matches("webserver");
    EXERCISES.iter().find(|e| e.step.eq_ignore_ascii_case(step))
}

/// "3c, 3e, 3f, 3g", for messages.
pub fn steps() -> String {
    EXERCISES.iter().map(|e| e.step).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exercise_is_complete() {
        for exercise in EXERCISES {
            let step = exercise.step;
            assert!(exercise.hints().len() >= 3, "{step}: graded hints, at least three");
            assert!(exercise.hints().iter().all(|h| !h.title.is_empty() && !h.text.is_empty()), "{step}");
            assert!(!exercise.questions.is_empty(), "{step}: a predict-then-run question");
            assert_eq!(exercise.proof[0].0, exercise.starter.bin, "{step}: the proof starts with the starter");
            for check in exercise.checks {
                assert!(
                    exercise.proof.iter().any(|(_, ids)| ids.contains(&check.id)),
                    "{step}: check {} is proven to fail on no broken binary",
                    check.id
                );
            }
            for (bin, ids) in exercise.proof {
                assert!(!ids.is_empty(), "{step}: {bin} is listed with no failing check");
                for id in *ids {
                    assert!(exercise.check(id).is_some(), "{step}: proof names unknown check {id}");
                }
            }
            for question in exercise.questions {
                assert!(exercise.readme.contains(question.key), "{step}: README asks nothing about {}", question.key);
            }
        }
    }

    #[test]
    fn steps_are_found_by_name() {
        assert_eq!(find("3c").map(|e| e.starter.bin), Some("webserver3d"));
        assert_eq!(find("webserver3G").map(|e| e.step), Some("3g"));
        assert!(find("9z").is_none());
        assert_eq!(steps(), "3c, 3e, 3f, 3g");
    }
}
