//! The exercise texts in the student's language: English (`README.md`,
//! `hints.md`) or Simplified Chinese (`README.zh-CN.md`, `hints.zh-CN.md`
//! beside them, which the Chinese edition of the book includes too, so the
//! terminal and the book say the same).
//!
//! A Chinese file starts with a stamp naming the English text it was
//! translated from (a hash of it): `<!-- zh-CN: README.md fnv1a64:... -->`.
//! When the English changes and the Chinese does not, the stamps no longer
//! match and a test says which file to update, and the new stamp.

use crate::exercise::{hints_of, Exercise, Hint};

/// The language `lab show` and `lab hint` print in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    ZhCn,
}

impl Lang {
    /// `--lang`: `en`, or `zh-CN` (also `zh`, `zh_CN`, `zh-Hans`).
    pub fn parse(name: &str) -> Result<Lang, String> {
        let lower = name.trim().to_ascii_lowercase();
        if lower == "en" || lower.starts_with("en-") || lower.starts_with("en_") {
            Ok(Lang::En)
        } else if lower == "zh" || lower.starts_with("zh-") || lower.starts_with("zh_") {
            Ok(Lang::ZhCn)
        } else {
            Err(format!(
                "no exercise texts in {name:?} — the languages are en and zh-CN"
            ))
        }
    }

    /// The language of a locale setting (`zh_CN.UTF-8`, `en_US.UTF-8`, `C`):
    /// Chinese when it starts with `zh`, English otherwise.
    pub fn of_locale(locale: &str) -> Lang {
        if locale.starts_with("zh") {
            Lang::ZhCn
        } else {
            Lang::En
        }
    }

    /// The student's language from the environment, as other programs
    /// choose the language of their messages: the first of `LC_ALL`,
    /// `LC_MESSAGES` and `LANG` that is set and not empty.
    pub fn from_env() -> Lang {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|var| std::env::var(var).ok())
            .find(|value| !value.is_empty())
            .map_or(Lang::En, |locale| Lang::of_locale(&locale))
    }
}

/// One exercise's texts in Chinese.
struct Chinese {
    step: &'static str,
    readme: &'static str,
    hints: &'static str,
}

/// `chinese!("3c")`: `lessons/3c/README.zh-CN.md` and `hints.zh-CN.md`.
macro_rules! chinese {
    ($step:literal) => {
        Chinese {
            step: $step,
            readme: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../lessons/",
                $step,
                "/README.zh-CN.md"
            )),
            hints: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../lessons/",
                $step,
                "/hints.zh-CN.md"
            )),
        }
    };
}

/// The Chinese texts, one entry per exercise (a test checks that every
/// exercise has one).
static CHINESE: &[Chinese] = &[
    chinese!("3c"),
    chinese!("3e"),
    chinese!("3f"),
    chinese!("3g"),
    chinese!("3h"),
    chinese!("4a"),
    chinese!("4d"),
    chinese!("4e"),
    chinese!("4b"),
    chinese!("4h"),
    chinese!("4f"),
    chinese!("4f-blocking"),
    chinese!("4p"),
    chinese!("homework"),
    chinese!("ftp-commands"),
    chinese!("ftp-confine"),
    chinese!("ftp-atomic"),
];

fn chinese(exercise: &Exercise) -> Option<&'static Chinese> {
    CHINESE.iter().find(|c| c.step == exercise.step)
}

/// The text as a terminal shows it: without the translation stamp, and
/// without the `{#id}` a Chinese heading carries so that the book's links
/// to it work in both editions.
fn for_terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        if line.starts_with("<!-- zh-CN:") {
            continue;
        }
        let line = match (line.starts_with('#'), line.rfind(" {#")) {
            (true, Some(at)) if line.ends_with('}') => &line[..at],
            _ => line,
        };
        out.push_str(line);
        out.push('\n');
    }
    out.trim_start_matches('\n').to_string()
}

/// The exercise's text (`lab show`) in `lang`.
pub fn readme(exercise: &Exercise, lang: Lang) -> String {
    match (lang, chinese(exercise)) {
        (Lang::ZhCn, Some(zh)) => for_terminal(zh.readme),
        _ => exercise.readme.to_string(),
    }
}

/// The exercise's graded hints (`lab hint`) in `lang`.
pub fn hints(exercise: &Exercise, lang: Lang) -> Vec<Hint> {
    match (lang, chinese(exercise)) {
        (Lang::ZhCn, Some(zh)) => hints_of(&for_terminal(zh.hints)),
        _ => exercise.hints(),
    }
}

/// FNV-1a, 64 bits, as 16 hex digits: the stamp of an English text.
pub fn fnv1a64(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The stamp line a Chinese file translated from `english` (named `file`)
/// starts with.
pub fn stamp_line(file: &str, english: &str) -> String {
    format!("<!-- zh-CN: {file} fnv1a64:{} -->", fnv1a64(english))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EXERCISES;

    /// The fenced code blocks of a Markdown text: the commands a student
    /// types, which the translation keeps as they are.
    fn code_blocks(text: &str) -> Vec<String> {
        text.split("```")
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn every_exercise_has_chinese_texts_translated_from_the_current_english() {
        let mut problems = Vec::new();
        for exercise in EXERCISES {
            let step = exercise.step;
            let Some(zh) = chinese(exercise) else {
                problems.push(format!(
                    "{step}: no Chinese texts: write lessons/{step}/README.zh-CN.md and \
                     hints.zh-CN.md and add chinese!(\"{step}\") to lab/src/language.rs"
                ));
                continue;
            };
            for (file, english, chinese) in [
                ("README.md", exercise.readme, zh.readme),
                ("hints.md", exercise.hints, zh.hints),
            ] {
                let zh_file = file.replace(".md", ".zh-CN.md");
                let want = stamp_line(file, english);
                if chinese.lines().next() != Some(want.as_str()) {
                    problems.push(format!(
                        "lessons/{step}/{file} changed since lessons/{step}/{zh_file} was \
                         translated from it: bring the Chinese up to date (`git log -p \
                         lessons/{step}/{file}` shows what changed), then make its first line \
                         {want}"
                    ));
                }
                if code_blocks(english) != code_blocks(chinese) {
                    problems.push(format!(
                        "lessons/{step}/{zh_file}: its code blocks differ from {file}'s (commands \
                         and output stay as they are in a translation)"
                    ));
                }
            }
            let (en_hints, zh_hints) = (exercise.hints(), hints(exercise, Lang::ZhCn));
            if en_hints.len() != zh_hints.len()
                || zh_hints
                    .iter()
                    .any(|h| h.title.is_empty() || h.text.is_empty())
            {
                problems.push(format!(
                    "lessons/{step}/hints.zh-CN.md: {} hints, hints.md has {}",
                    zh_hints.len(),
                    en_hints.len()
                ));
            }
            for question in exercise.questions {
                if !zh.readme.contains(question.key) {
                    problems.push(format!(
                        "lessons/{step}/README.zh-CN.md asks nothing about {}",
                        question.key
                    ));
                }
            }
        }
        assert!(
            problems.is_empty(),
            "the Chinese exercise texts:\n  {}",
            problems.join("\n  ")
        );
    }

    #[test]
    fn the_terminal_text_has_no_stamp_and_no_heading_ids() {
        let text =
            "<!-- zh-CN: README.md fnv1a64:0 -->\n# 练习 {#exercise}\n\n正文 {#not-a-heading}\n";
        assert_eq!(for_terminal(text), "# 练习\n\n正文 {#not-a-heading}\n");
        let exercise = crate::find("3c").unwrap();
        let shown = readme(exercise, Lang::ZhCn);
        assert!(
            shown.starts_with("# ") && !shown.contains("<!--"),
            "{shown}"
        );
        assert_eq!(readme(exercise, Lang::En), exercise.readme);
    }

    #[test]
    fn the_language_comes_from_the_flag_or_the_locale() {
        assert_eq!(Lang::parse("zh-CN"), Ok(Lang::ZhCn));
        assert_eq!(Lang::parse("zh_CN"), Ok(Lang::ZhCn));
        assert_eq!(Lang::parse("zh"), Ok(Lang::ZhCn));
        assert_eq!(Lang::parse("en"), Ok(Lang::En));
        assert!(Lang::parse("fr").unwrap_err().contains("en and zh-CN"));
        assert_eq!(Lang::of_locale("zh_CN.UTF-8"), Lang::ZhCn);
        assert_eq!(Lang::of_locale("zh_TW.UTF-8"), Lang::ZhCn);
        assert_eq!(Lang::of_locale("en_US.UTF-8"), Lang::En);
        assert_eq!(Lang::of_locale("C.UTF-8"), Lang::En);
    }

    #[test]
    fn fnv1a64_is_the_standard_one() {
        // The published test vectors of FNV-1a 64.
        assert_eq!(fnv1a64(""), "cbf29ce484222325");
        assert_eq!(fnv1a64("a"), "af63dc4c8601ec8c");
        assert_eq!(fnv1a64("foobar"), "85944171f73967e8");
    }
}
