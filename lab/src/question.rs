//! Predict, then run: questions about what a broken server will do, whose
//! answers are checked against the experiment, run for real.
//!
//! A student writes each prediction in `answers.txt` in their working copy,
//! one `key: answer` line per question, before running anything. `lab check`
//! then runs the experiment (on the exercise's starter, the broken server
//! the question is about) and compares: a count within a stated tolerance,
//! or one of a few words.
//!
//! A question of understanding has no experiment: its answer is one of a
//! few words, the right one fixed ([`Answer::Known`]). It is locked and
//! scored the same way, first answer only, and its answer is shown only
//! once the student's is locked.

use super::subject::Subject;
use std::collections::BTreeMap;

/// The form an answer takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// A whole number; right if within `tolerance` of the measured one.
    Number { tolerance: u64 },
    /// One of these words.
    Choice(&'static [&'static str]),
    /// One of these words, the right one known without running anything:
    /// a question of understanding. `why` is what the student reads once
    /// their answer is locked. Such a question's `measure` is
    /// [`nothing_to_run`].
    Known {
        words: &'static [&'static str],
        right: &'static str,
        why: &'static str,
    },
}

/// One predict-then-run question.
#[derive(Debug)]
pub struct Question {
    /// The key of its line in `answers.txt`.
    pub key: &'static str,
    /// The question, as the student reads it.
    pub ask: &'static str,
    pub answer: Answer,
    /// Run the experiment on the starter and report what happened.
    pub measure: fn(&Subject) -> Result<Measured, String>,
}

/// What the experiment measured: the answer it gives (a number or one of
/// the words) and a sentence saying what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Measured {
    pub value: String,
    pub story: String,
}

/// How a prediction compares with the measurement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grade {
    Right,
    Wrong,
    /// The answer is not in the form asked for; says what form is.
    Unreadable(String),
}

impl Question {
    /// "a whole number" / "one of: yes, no".
    pub fn form(&self) -> String {
        match self.answer {
            Answer::Number { tolerance: 0 } => "a whole number".to_string(),
            Answer::Number { tolerance } => {
                format!("a whole number (within {tolerance} counts as right)")
            }
            Answer::Choice(words) | Answer::Known { words, .. } => {
                format!("one of: {}", words.join(", "))
            }
        }
    }

    /// The answer of a question of understanding, as a [`Measured`] (its
    /// explanation for the story); `None` when the answer is measured.
    pub fn known(&self) -> Option<Measured> {
        match self.answer {
            Answer::Known { right, why, .. } => Some(Measured {
                value: right.to_string(),
                story: why.to_string(),
            }),
            _ => None,
        }
    }

    /// Why `given` is not an answer in the form asked for, if it is not.
    pub fn form_error(&self, given: &str) -> Option<String> {
        let given = given.trim();
        let fits = match self.answer {
            Answer::Number { .. } => parse_number(given).is_some(),
            Answer::Choice(words) | Answer::Known { words, .. } => {
                words.iter().any(|w| w.eq_ignore_ascii_case(given))
            }
        };
        (!fits).then(|| format!("{given:?} is not {}", self.form()))
    }

    /// Compare a prediction with what was measured.
    pub fn grade(&self, given: &str, measured: &Measured) -> Grade {
        let given = given.trim();
        match self.answer {
            Answer::Number { tolerance } => {
                let Some(predicted) = parse_number(given) else {
                    return Grade::Unreadable(format!("{given:?} is not {}", self.form()));
                };
                let Ok(actual) = measured.value.parse::<u64>() else {
                    return Grade::Wrong;
                };
                if predicted.abs_diff(actual) <= tolerance {
                    Grade::Right
                } else {
                    Grade::Wrong
                }
            }
            Answer::Choice(words) | Answer::Known { words, .. } => {
                match words.iter().find(|w| w.eq_ignore_ascii_case(given)) {
                    Some(word) if word.eq_ignore_ascii_case(&measured.value) => Grade::Right,
                    Some(_) => Grade::Wrong,
                    None => Grade::Unreadable(format!("{given:?} is not {}", self.form())),
                }
            }
        }
    }
}

/// The `measure` of a question of understanding ([`Answer::Known`]):
/// there is no experiment, and `lab` never calls it.
pub fn nothing_to_run(_: &Subject) -> Result<Measured, String> {
    Err("a question of understanding: there is no experiment to run".to_string())
}

/// `252`, `~252`, `about 252`.
fn parse_number(text: &str) -> Option<u64> {
    let text = text.trim_start_matches('~');
    let text = text.strip_prefix("about").unwrap_or(text);
    text.trim().parse().ok()
}

/// The answers in an `answers.txt`: `key: answer` lines; `#` starts a
/// comment line; a key with nothing after the colon is not answered yet.
pub fn parse_answers(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (key, value) = line.split_once(':')?;
            let value = value.trim();
            (!value.is_empty()).then(|| (key.trim().to_string(), value.to_string()))
        })
        .collect()
}

/// The `answers.txt` a new working copy starts with: each question as a
/// comment, and its key with an empty answer.
pub fn answers_template(step: &str, questions: &[&Question]) -> String {
    let mut text = format!(
        "# Exercise {step}: predict, then run.\n\
         # Write each answer after its key's colon BEFORE you run the experiment\n\
         # (lessons/{step}/README.md says how). `cargo lab check {step}` runs it\n\
         # for real and tells you whether your prediction was right.\n"
    );
    for question in questions {
        text.push('\n');
        for line in wrap(question.ask, 72) {
            text.push_str(&format!("# {line}\n"));
        }
        if question.known().is_some() {
            text.push_str(
                "# Nothing is run for this one: it is a question of understanding,\n\
                 # and your first answer is scored against the answer key.\n",
            );
        }
        text.push_str(&format!(
            "# Answer with {}.\n{}: \n",
            question.form(),
            question.key
        ));
    }
    text
}

/// Break `text` into lines of at most `width` characters, at spaces.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never(_: &Subject) -> Result<Measured, String> {
        Err("not run in unit tests".to_string())
    }

    const COUNT: Question = Question {
        key: "count",
        ask: "How many?",
        answer: Answer::Number { tolerance: 5 },
        measure: never,
    };
    const YES_NO: Question = Question {
        key: "zombies",
        ask: "Any zombies?",
        answer: Answer::Choice(&["yes", "no"]),
        measure: never,
    };

    const JOB: Question = Question {
        key: "job",
        ask: "Which job has no code?",
        answer: Answer::Known {
            words: &["connections", "logic", "transfer"],
            right: "logic",
            why: "every request gets the same answer",
        },
        measure: nothing_to_run,
    };

    fn measured(value: &str) -> Measured {
        Measured {
            value: value.to_string(),
            story: String::new(),
        }
    }

    #[test]
    fn numbers_are_right_within_the_tolerance() {
        assert_eq!(COUNT.grade("252", &measured("252")), Grade::Right);
        assert_eq!(COUNT.grade(" ~256 ", &measured("252")), Grade::Right);
        assert_eq!(COUNT.grade("about 247", &measured("252")), Grade::Right);
        assert_eq!(COUNT.grade("246", &measured("252")), Grade::Wrong);
        assert_eq!(COUNT.grade("300", &measured("252")), Grade::Wrong);
        assert!(
            matches!(COUNT.grade("lots", &measured("252")), Grade::Unreadable(why) if why.contains("whole number"))
        );
    }

    #[test]
    fn choices_ignore_case_and_refuse_other_words() {
        assert_eq!(YES_NO.grade("Yes", &measured("yes")), Grade::Right);
        assert_eq!(YES_NO.grade("no", &measured("yes")), Grade::Wrong);
        assert!(
            matches!(YES_NO.grade("maybe", &measured("yes")), Grade::Unreadable(why) if why.contains("yes, no"))
        );
    }

    #[test]
    fn known_answers_are_graded_without_a_run() {
        let key = JOB.known().expect("a question of understanding");
        assert_eq!(key.value, "logic");
        assert_eq!(key.story, "every request gets the same answer");
        assert_eq!(JOB.grade("Logic", &key), Grade::Right);
        assert_eq!(JOB.grade("transfer", &key), Grade::Wrong);
        assert!(
            matches!(JOB.grade("data", &key), Grade::Unreadable(why) if why.contains("connections, logic, transfer"))
        );
        assert_eq!(JOB.form_error("logic"), None);
        assert!(JOB.form_error("maybe").is_some());
        // Measured questions have no answer before the run.
        assert_eq!(COUNT.known(), None);
        assert_eq!(YES_NO.known(), None);
        assert!((JOB.measure)(&Subject::at("/nonexistent")).is_err());
    }

    #[test]
    fn the_template_says_which_questions_run_nothing() {
        let template = answers_template("homework", &[&YES_NO, &JOB]);
        assert!(
            template.contains(
                "# Which job has no code?\n# Nothing is run for this one: it is a question of \
                 understanding,\n# and your first answer is scored against the answer key.\n\
                 # Answer with one of: connections, logic, transfer.\njob: \n"
            ),
            "{template}"
        );
        assert_eq!(template.matches("Nothing is run").count(), 1, "{template}");
        assert!(!template.contains("every request gets the same answer"));
    }

    #[test]
    fn the_template_parses_as_unanswered_and_answers_parse_back() {
        let template = answers_template("3c", &[&COUNT, &YES_NO]);
        assert!(template.contains(
            "# How many?\n# Answer with a whole number (within 5 counts as right).\ncount: \n"
        ));
        assert!(parse_answers(&template).is_empty(), "{template}");
        let filled = template
            .replace("count: ", "count: 250")
            .replace("zombies: ", "zombies: yes");
        let answers = parse_answers(&filled);
        assert_eq!(answers.get("count").map(String::as_str), Some("250"));
        assert_eq!(answers.get("zombies").map(String::as_str), Some("yes"));
    }

    #[test]
    fn wrap_keeps_words_whole() {
        assert_eq!(wrap("aaa bbb ccc", 7), vec!["aaa bbb", "ccc"]);
        assert_eq!(wrap("", 7), Vec::<String>::new());
    }
}
