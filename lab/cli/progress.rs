//! What a student has done, as evidence: an append-only log of attempts.
//!
//! Every `lab start`, `lab check` of the student's own copy, hint read and
//! prediction made adds one line to `.lab/log` in the work folder; nothing
//! is ever rewritten. `lab list` (and `lab report`) derive everything from
//! it: an exercise is done only if a check of the copy passed, and the
//! copy's hash at that check says which code it was; hints read are the
//! hints logged; a prediction is the first answer logged for its question.
//!
//! ```text
//! 1765040000  3c  start
//! 1765040100  3c  predict  emfile_clients  250
//! 1765040100  3c  check  9c1f0e2a33b4d5e6  failing  1/4  0/2
//! 1765040200  3c  hint  1
//! 1765040300  3c  check  0a7d61e4f2c8b901  does-not-compile
//! 1765040400  3c  check  5b2e9d0c1a3f4e67  done  4/4  1/2
//! ```
//!
//! Fields are separated by tabs (two spaces above): seconds since 1970, the step, the event,
//! then the event's own fields (a check: the copy's hash, the result, the
//! checks that passed and the predictions right at first).

use crate::workspace::Workspace;
use lsbaws_lab::exercise::Exercise;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub time: u64,
    pub step: String,
    pub event: Event,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Start,
    /// The first answer to a question: the one that is scored.
    Predict {
        key: String,
        answer: String,
    },
    Check(Attempt),
    /// The hint with this number (from 1) was shown.
    Hint(usize),
}

/// One `lab check` of the student's own copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// [`copy_hash`] of the copy that was checked.
    pub copy: String,
    pub result: Outcome,
    /// (passed, of) checks; (right, of) predictions, scored on first answers.
    pub checks: (usize, usize),
    pub predictions: (usize, usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Failing,
    DoesNotCompile,
}

impl Outcome {
    fn word(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::Failing => "failing",
            Outcome::DoesNotCompile => "does-not-compile",
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// "4/7" and back.
fn pair(text: &str) -> Option<(usize, usize)> {
    let (a, b) = text.split_once('/')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

impl Entry {
    fn line(&self) -> String {
        let fields: Vec<String> = match &self.event {
            Event::Start => vec!["start".into()],
            Event::Predict { key, answer } => {
                // One line, one answer: tabs and newlines become spaces.
                let answer = answer.replace(['\t', '\n', '\r'], " ");
                vec!["predict".into(), key.clone(), answer]
            }
            Event::Hint(n) => vec!["hint".into(), n.to_string()],
            Event::Check(a) => vec![
                "check".into(),
                a.copy.clone(),
                a.result.word().into(),
                format!("{}/{}", a.checks.0, a.checks.1),
                format!("{}/{}", a.predictions.0, a.predictions.1),
            ],
        };
        format!("{}\t{}\t{}\n", self.time, self.step, fields.join("\t"))
    }

    /// A line of the log; `None` for one this version does not read.
    fn parse(line: &str) -> Option<Entry> {
        let fields: Vec<&str> = line.split('\t').collect();
        let (time, step, event) = (fields.first()?, fields.get(1)?, fields.get(2)?);
        let event = match *event {
            "start" => Event::Start,
            "predict" => Event::Predict {
                key: fields.get(3)?.to_string(),
                answer: fields.get(4).unwrap_or(&"").to_string(),
            },
            "hint" => Event::Hint(fields.get(3)?.parse().ok()?),
            "check" => Event::Check(Attempt {
                copy: fields.get(3)?.to_string(),
                result: match *fields.get(4)? {
                    "done" => Outcome::Done,
                    "failing" => Outcome::Failing,
                    "does-not-compile" => Outcome::DoesNotCompile,
                    _ => return None,
                },
                checks: fields.get(5).and_then(|f| pair(f)).unwrap_or((0, 0)),
                predictions: fields.get(6).and_then(|f| pair(f)).unwrap_or((0, 0)),
            }),
            _ => return None,
        };
        Some(Entry {
            time: time.parse().ok()?,
            step: step.to_string(),
            event,
        })
    }
}

/// Add `event` for `exercise` to the log.
pub fn record(workspace: &Workspace, exercise: &Exercise, event: Event) -> io::Result<()> {
    let path = workspace.log();
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let entry = Entry {
        time: now(),
        step: exercise.step.to_string(),
        event,
    };
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?
        .write_all(entry.line().as_bytes())
}

/// Every entry of the log about `exercise`, oldest first.
pub fn entries(workspace: &Workspace, exercise: &Exercise) -> Vec<Entry> {
    fs::read_to_string(workspace.log())
        .unwrap_or_default()
        .lines()
        .filter_map(Entry::parse)
        .filter(|e| e.step == exercise.step)
        .collect()
}

/// The checks of the student's copy, oldest first.
pub fn attempts(entries: &[Entry]) -> Vec<(u64, &Attempt)> {
    entries
        .iter()
        .filter_map(|e| match &e.event {
            Event::Check(a) => Some((e.time, a)),
            _ => None,
        })
        .collect()
}

/// How many hints have been shown.
pub fn hints_seen(entries: &[Entry]) -> usize {
    entries
        .iter()
        .filter_map(|e| match e.event {
            Event::Hint(n) => Some(n),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// The first answer logged for `key`: the prediction that is scored.
pub fn prediction<'a>(entries: &'a [Entry], key: &str) -> Option<&'a str> {
    entries.iter().find_map(|e| match &e.event {
        Event::Predict { key: k, answer } if k == key => Some(answer.as_str()),
        _ => None,
    })
}

/// A fingerprint of the copy's code: every file under `src/` and its
/// `Cargo.toml`, names and contents (FNV-1a, 64 bits, in hex). The same
/// code gives the same hash on any machine.
pub fn copy_hash(copy: &Path) -> String {
    let mut files = Vec::new();
    collect(&copy.join("src"), &mut files);
    files.push(copy.join("Cargo.toml"));
    files.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for file in files {
        let name = file.strip_prefix(copy).unwrap_or(&file);
        feed(name.to_string_lossy().as_bytes());
        feed(&[0]);
        feed(&fs::read(&file).unwrap_or_default());
        feed(&[0]);
    }
    format!("{hash:016x}")
}

fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else {
            files.push(path);
        }
    }
}

/// Was `binary` built after the check at `checked` (seconds since the
/// epoch) and after the last change to the copy's code?
fn built_since(binary: &Path, copy: &Path, checked: u64) -> bool {
    let modified = |path: &Path| fs::metadata(path).and_then(|m| m.modified()).ok();
    let Some(built) = modified(binary) else {
        return false;
    };
    let after_check = built
        .duration_since(std::time::UNIX_EPOCH)
        .is_ok_and(|t| t.as_secs() >= checked);
    let mut files = Vec::new();
    collect(&copy.join("src"), &mut files);
    files.push(copy.join("Cargo.toml"));
    after_check
        && files
            .iter()
            .all(|file| modified(file).is_some_and(|edited| edited <= built))
}

/// What `lab list` says of an exercise.
pub fn status(workspace: &Workspace, exercise: &Exercise) -> String {
    let entries = entries(workspace, exercise);
    let copy = workspace.copy_dir(exercise);
    let attempts = attempts(&entries);
    let mut status = if !copy.exists() {
        "not started".to_string()
    } else {
        match attempts.last() {
            None => "started, not checked yet".to_string(),
            Some((when, last)) => {
                let said = match last.result {
                    Outcome::Done => "done".to_string(),
                    Outcome::Failing => format!(
                        "started, {} of {} checks pass",
                        last.checks.0, last.checks.1
                    ),
                    Outcome::DoesNotCompile => "started, does not compile".to_string(),
                };
                if last.copy == copy_hash(&copy) {
                    said
                } else if last.result == Outcome::DoesNotCompile
                    && built_since(&workspace.binary(exercise), &copy, *when)
                {
                    // `cargo build` (or `cargo run`) in the copy has built it
                    // since: the code compiles again.
                    "started, compiles again since the last check; check again".to_string()
                } else {
                    format!("{said} when last checked; changed since, check again")
                }
            }
        }
    };
    if let Some((_, done)) = attempts.iter().find(|(_, a)| a.result == Outcome::Done) {
        if !status.starts_with("done") {
            status = format!("done once, {status}");
        }
        status.push_str(&format!(
            " ({} of {} predictions right at first)",
            done.predictions.0, done.predictions.1
        ));
    }
    if !attempts.is_empty() {
        let n = attempts.len();
        status.push_str(&format!(" ({n} check{})", if n == 1 { "" } else { "s" }));
    }
    let seen = hints_seen(&entries);
    if seen > 0 {
        status.push_str(&format!(" (hints: {seen} of {})", exercise.hints().len()));
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_reads_back_as_written() {
        let entries = [
            Event::Start,
            Event::Predict {
                key: "emfile_clients".into(),
                answer: "250".into(),
            },
            Event::Hint(2),
            Event::Check(Attempt {
                copy: "00ff".into(),
                result: Outcome::Failing,
                checks: (3, 7),
                predictions: (0, 1),
            }),
            Event::Check(Attempt {
                copy: "00ff".into(),
                result: Outcome::DoesNotCompile,
                checks: (0, 7),
                predictions: (0, 1),
            }),
        ];
        for event in entries {
            let entry = Entry {
                time: 17,
                step: "3c".into(),
                event,
            };
            assert_eq!(Entry::parse(entry.line().trim_end()), Some(entry));
        }
        assert_eq!(Entry::parse("17\t3c\tsomething new"), None);
    }
}
