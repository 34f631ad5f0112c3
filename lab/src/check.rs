//! A check: one behaviour of a server, what is expected of it, and what was
//! seen when it ran.

use super::subject::Subject;

/// One behaviour a step must show.
#[derive(Debug)]
pub struct Check {
    /// Short name, used in the exercise table and by `tests/lab_checks.rs`.
    pub id: &'static str,
    /// What is checked, as a student would say it.
    pub title: &'static str,
    /// What a passing server does, concretely.
    pub expected: &'static str,
    /// Run the experiment on a binary and judge it.
    pub run: fn(&Subject) -> Verdict,
}

/// What a check saw, and whether that is what it expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub passed: bool,
    pub saw: String,
}

impl Verdict {
    pub fn pass(saw: impl Into<String>) -> Verdict {
        Verdict {
            passed: true,
            saw: saw.into(),
        }
    }

    pub fn fail(saw: impl Into<String>) -> Verdict {
        Verdict {
            passed: false,
            saw: saw.into(),
        }
    }

    /// Pass or fail on `passed`, saying what was seen either way.
    pub fn when(passed: bool, saw: impl Into<String>) -> Verdict {
        Verdict {
            passed,
            saw: saw.into(),
        }
    }

    /// For experiments that list what went wrong: pass with `all_well` when
    /// the list is empty, fail with the list otherwise (or with why the
    /// experiment could not run).
    pub fn from_problems(observed: Result<Vec<String>, String>, all_well: &str) -> Verdict {
        Verdict::from_observation(observed, |problems| {
            if problems.is_empty() {
                Verdict::pass(all_well)
            } else {
                Verdict::fail(problems.join("; "))
            }
        })
    }

    /// A verdict from an experiment that could not even be observed (the
    /// server did not start, a wait timed out): a failure saying why.
    pub fn from_observation<T>(
        observed: Result<T, String>,
        judge: impl FnOnce(T) -> Verdict,
    ) -> Verdict {
        match observed {
            Ok(value) => judge(value),
            Err(why) => Verdict::fail(why),
        }
    }
}

impl Check {
    pub fn check(&self, subject: &Subject) -> Verdict {
        (self.run)(subject)
    }
}
