//! The `lab` command as a student uses it: start a copy, check it, get
//! hints, compare, and never lose work.
//!
//! Copies go to a scratch work folder; each test's copies put their
//! binaries in a target folder of its own under this repository's
//! `target/` (LAB_TARGET_DIR), and their dependencies, as a student's do,
//! in the repository's `target/` (cargo's build-dir). (Two work folders
//! must not share one target folder: both would build their `webserver3c`
//! to the same path.)

use assert_cmd::Command;
use lsbaws_harness::ScratchDir;
use lsbaws_lab::EXERCISES;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

/// Building a copy the first time compiles the library and its
/// dependencies; checks take seconds.
const LIMIT: Duration = Duration::from_secs(300);

fn target_for(work: &Path) -> PathBuf {
    // The scratch folder's name starts with its label: lsbaws-LABEL-...
    let name = work.file_name().unwrap().to_string_lossy();
    let label = name.split('-').nth(1).unwrap_or("lab");
    lsbaws_harness::bin_dir()
        .parent()
        .expect("target/")
        .join(format!("lab-work-{label}"))
}

fn lab(work: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("lab")
        .unwrap()
        .arg("--work-dir")
        .arg(work)
        .args(args)
        .env("LAB_TARGET_DIR", target_for(work))
        .env_remove("LAB_WORK_DIR")
        // English, whatever the machine's locale (see the_texts_come_in_chinese_too).
        .env("LANG", "C.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .timeout(LIMIT)
        .output()
        .unwrap()
}

/// `lab ARGS` with the locale variable `LANG` set to `lang`.
fn lab_in_locale(work: &Path, lang: &str, args: &[&str]) -> String {
    let output = Command::cargo_bin("lab")
        .unwrap()
        .arg("--work-dir")
        .arg(work)
        .args(args)
        .env("LANG", lang)
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("LAB_WORK_DIR")
        .timeout(LIMIT)
        .output()
        .unwrap();
    assert_status(&output, 0)
}

/// `lab show` and `lab hint` speak Chinese when the locale is Chinese or
/// `--lang zh-CN` asks for it, from the same texts the Chinese book shows
/// (lessons/STEP/README.zh-CN.md and hints.zh-CN.md).
#[test]
fn the_texts_come_in_chinese_too() {
    let scratch = ScratchDir::new("lab-lang").unwrap();
    let work = scratch.path();
    let english = lab_in_locale(work, "en_US.UTF-8", &["show", "3c"]);
    assert!(
        english.starts_with("# Exercise 3c: close the duplicate descriptors"),
        "{english}"
    );
    let chinese = lab_in_locale(work, "zh_CN.UTF-8", &["show", "3c"]);
    assert!(
        chinese.starts_with("# 练习 3c：关闭重复的描述符\n"),
        "the Chinese text, without its stamp and heading ids:\n{chinese}"
    );
    assert!(
        !chinese.contains("<!--") && !chinese.contains("{#"),
        "{chinese}"
    );
    let flag = lab_in_locale(work, "en_US.UTF-8", &["show", "3c", "--lang", "zh-CN"]);
    assert_eq!(flag, chinese);
    let back = lab_in_locale(work, "zh_CN.UTF-8", &["--lang", "en", "show", "3c"]);
    assert_eq!(back, english);

    let hint = lab_in_locale(work, "zh_CN.UTF-8", &["hint", "3c"]);
    assert!(
        hint.starts_with("3c 的提示 1/4：谁持有这个连接？") && hint.contains("再运行一次"),
        "{hint}"
    );
    let again = lab_in_locale(work, "C.UTF-8", &["hint", "3c", "--again"]);
    assert!(
        again.starts_with("Hint 1 of 4 for 3c: Who holds the connection?"),
        "the same hint, read in English: {again}"
    );
    let unknown = Command::cargo_bin("lab")
        .unwrap()
        .args(["show", "3c", "--lang", "fr"])
        .timeout(LIMIT)
        .output()
        .unwrap();
    let said = assert_status(&unknown, 2);
    assert!(said.contains("the languages are en and zh-CN"), "{said}");
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn assert_status(output: &Output, code: i32) -> String {
    let all = text(output);
    assert_eq!(output.status.code(), Some(code), "{all}");
    assert!(!all.contains("panicked"), "{all}");
    all
}

/// The answers the lesson text leads to, as a student would write them.
fn write_right_answers(answers: &Path) {
    let right = [
        ("fds_after_10", "14"),
        ("emfile_clients", "250"),
        ("eof_after_response", "no"),
        ("eagain_clients", "399"),
        ("clients_answered", "1"),
        ("zombies_left", "yes"),
        ("second_answered", "no"),
        ("curl_connections", "2"),
        ("silent_child", "yes"),
        ("children_for_20", "20"),
        ("threads_for_100", "101"),
        ("ninth_client", "yes"),
        ("body_end", "close"),
        ("connections_for_two", "2"),
        ("idle_cpu", "spins"),
        ("answered_of_1100", "1019"),
        ("threads_for_200", "201"),
        ("second_client", "after"),
        ("first_refused", "EPSV"),
        ("cwd_up", "/.."),
        ("symlink_secret", "yes"),
        ("old_file_survives", "no"),
        ("uploads_mix", "yes"),
    ];
    let mut text = std::fs::read_to_string(answers).unwrap();
    for (key, answer) in right {
        text = text.replace(&format!("\n{key}: \n"), &format!("\n{key}: {answer}\n"));
    }
    std::fs::write(answers, text).unwrap();
}

#[test]
fn a_student_works_through_exercise_3c() {
    let work = ScratchDir::new("student3c").unwrap();
    let work = work.path();
    let copy = work.join("3c");

    let listed = assert_status(&lab(work, &["list"]), 0);
    for exercise in EXERCISES {
        let line = listed
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{} ", exercise.step)));
        assert!(line.is_some_and(|l| l.contains(exercise.title)), "{listed}");
    }
    assert!(listed.contains("not started"), "{listed}");

    // Bad input: an unknown step lists the steps; nothing to check yet.
    let unknown = assert_status(&lab(work, &["check", "3z"]), 2);
    assert!(
        unknown.contains(
            "no exercise \"3z\" — the steps are: 3c, 3e, 3f, 3g, 3h, 4a, 4d, 4p, 4e, 4b, 4h, 4f, 4f-blocking, homework, ftp-commands, ftp-confine, ftp-atomic"
        ),
        "{unknown}"
    );
    let early = assert_status(&lab(work, &["check", "3c"]), 1);
    assert!(early.contains("run `cargo lab start 3c` first"), "{early}");

    let started = assert_status(&lab(work, &["start", "3c"]), 0);
    assert!(
        started.contains("your copy of webserver3d, to make into webserver3c"),
        "{started}"
    );
    // `cargo lab` works from inside the copy, whose Cargo.toml has no `lab`.
    let inside = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["lab", "--work-dir"])
        .arg(work)
        .arg("list")
        .current_dir(&copy)
        .env_remove("LAB_WORK_DIR")
        .timeout(LIMIT)
        .output()
        .unwrap();
    let inside = assert_status(&inside, 0);
    assert!(inside.contains("started, not checked yet"), "{inside}");
    let source = copy.join("src/main.rs");
    assert_eq!(
        std::fs::read_to_string(&source).unwrap(),
        include_str!("../../bins/part3/webserver3d.rs")
    );

    // The untouched copy compiles, runs, and fails the checks the lesson is
    // about, saying what it expected and what it saw. Its dependencies are
    // compiled in the repository's build folder, not again in the copies'
    // (which holds only the copies' binaries).
    let deps = target_for(work).join("debug").join("deps");
    let _ = std::fs::remove_dir_all(&deps);
    let untouched = assert_status(&lab(work, &["check", "3c"]), 1);
    assert!(
        target_for(work).join("debug").join("webserver3c").exists(),
        "{untouched}"
    );
    assert!(
        !deps.exists(),
        "the copy's dependencies were compiled into {} instead of the repository's target/",
        deps.display()
    );
    assert!(
        untouched.contains("PASS  a silent client does not hold up the next one"),
        "{untouched}"
    );
    assert!(
        untouched.contains("FAIL  the client sees the end of the stream"),
        "{untouched}"
    );
    assert!(
        untouched.contains("saw:      4 descriptors before, 24 after 20 clients: 20 kept open"),
        "{untouched}"
    );
    assert!(untouched.contains("accept() failed: EMFILE"), "{untouched}");
    assert!(
        untouched.contains(" ---  emfile_clients: not answered yet"),
        "{untouched}"
    );
    assert!(
        untouched.contains(
            "3c: 1 of 4 checks pass, 0 of 3 predictions right at first — not done yet. Every \
             prediction must be made, too."
        ),
        "{untouched}"
    );

    // Checking a binary by path is a debugging aid: it says so, and it is
    // not recorded (here: the copy's own build, which `check` made).
    let built = target_for(work).join("debug").join("webserver3c");
    let aside = assert_status(
        &lab(work, &["check", "3c", "--binary", built.to_str().unwrap()]),
        1,
    );
    assert!(aside.contains("This run does not count"), "{aside}");
    assert!(aside.contains("1 of 4 checks pass on"), "{aside}");
    let listed = assert_status(&lab(work, &["list"]), 0);
    assert!(
        listed.contains("started, 1 of 4 checks pass (1 check)"),
        "{listed}"
    );
    // Work is never overwritten without asking.
    std::fs::write(
        &source,
        "// my work\nfn main() { let broken: u32 = \"not a number\"; }\n",
    )
    .unwrap();
    let again = assert_status(&lab(work, &["start", "3c"]), 1);
    assert!(
        again.contains("already holds your work on 3c; nothing was changed"),
        "{again}"
    );
    assert!(std::fs::read_to_string(&source)
        .unwrap()
        .starts_with("// my work"));

    // A copy that does not compile: the compiler's errors, and a plain word.
    let broken = assert_status(&lab(work, &["check", "3c"]), 1);
    assert!(
        broken.contains("error[E0308]: mismatched types"),
        "{broken}"
    );
    assert!(
        broken.contains("lab: your copy does not compile: the compiler's errors are above"),
        "{broken}"
    );
    assert!(!broken.contains("PASS"), "{broken}");
    let listed = assert_status(&lab(work, &["list"]), 0);
    assert!(listed.contains("started, does not compile"), "{listed}");
    // Inside the copy's folder, `lab check` knows the step.
    let inside = Command::cargo_bin("lab")
        .unwrap()
        .arg("--work-dir")
        .arg(work)
        .arg("check")
        .current_dir(copy.join("src"))
        .env("LAB_TARGET_DIR", target_for(work))
        .env_remove("LAB_WORK_DIR")
        .timeout(LIMIT)
        .output()
        .unwrap();
    let inside = assert_status(&inside, 1);
    assert!(
        inside.contains("lab: your copy does not compile"),
        "{inside}"
    );

    // Hints come one at a time, mildest first.
    let first = assert_status(&lab(work, &["hint", "3c"]), 0);
    assert!(
        first.contains("Hint 1 of 4 for 3c: Who holds the connection?"),
        "{first}"
    );
    let second = assert_status(&lab(work, &["hint", "3c"]), 0);
    assert!(
        second.contains("(seen: 1. Who holds the connection?)") && second.contains("Hint 2 of 4"),
        "{second}"
    );

    // The fix (here: the reference itself) and the predictions, one of
    // them wrong: the listening socket forgotten.
    std::fs::write(&source, include_str!("../../bins/part3/webserver3c.rs")).unwrap();
    let listed = assert_status(&lab(work, &["list"]), 0);
    assert!(
        listed.contains("does not compile when last checked; changed since, check again"),
        "{listed}"
    );
    // `cargo build` in the copy, as a student would: `lab list` sees that
    // it compiles again.
    let built = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .arg("build")
        .current_dir(&copy)
        .env_remove("CARGO_TARGET_DIR")
        .timeout(LIMIT)
        .output()
        .unwrap();
    assert_status(&built, 0);
    let listed = assert_status(&lab(work, &["list"]), 0);
    assert!(
        listed.contains("started, compiles again since the last check; check again"),
        "{listed}"
    );
    let answers = copy.join("answers.txt");
    let first = std::fs::read_to_string(&answers)
        .unwrap()
        .replace("\nfds_after_10: \n", "\nfds_after_10: 13\n");
    std::fs::write(&answers, first).unwrap();
    write_right_answers(&answers);
    let fixed = assert_status(&lab(work, &["check", "3c"]), 0);
    assert!(!fixed.contains("FAIL"), "{fixed}");
    assert!(
        fixed.contains("RIGHT  emfile_clients: you predicted \"250\"; measured: 252"),
        "{fixed}"
    );
    assert!(
        fixed.contains("WRONG  fds_after_10: you predicted \"13\"; measured: 14"),
        "{fixed}"
    );
    assert!(fixed.contains("3c: 4 of 4 checks pass, 2 of 3 predictions right at first — exercise done. Next: `cargo lab start 3e`."), "{fixed}");
    let listed = assert_status(&lab(work, &["list"]), 0);
    assert!(
        listed.contains("done (2 of 3 predictions right at first) (4 checks) (hints: 2 of 4)"),
        "{listed}"
    );

    // The first answer is the one scored: a later edit is a correction.
    let corrected = std::fs::read_to_string(&answers)
        .unwrap()
        .replace("fds_after_10: 13", "fds_after_10: 14");
    std::fs::write(&answers, corrected).unwrap();
    let again = assert_status(&lab(work, &["check", "3c"]), 0);
    assert!(
        again.contains("WRONG  fds_after_10: you predicted \"13\"; measured: 14")
            && again.contains("Your answers file now says \"14\": a correction (right), not a"),
        "{again}"
    );
    // Hints read are counted from the log; they cannot be reset.
    let reread = assert_status(&lab(work, &["hint", "3c", "--again"]), 0);
    assert!(
        reread.contains("Hint 2 of 4") && !reread.contains("Hint 3 of 4"),
        "{reread}"
    );

    let same = assert_status(&lab(work, &["diff", "3c"]), 0);
    assert!(same.contains("No differences between your copy"), "{same}");
    let changed = assert_status(&lab(work, &["diff", "3c", "--starter"]), 0);
    assert!(
        changed.contains("-                clients.push(client_connection);"),
        "{changed}"
    );
    assert!(
        !changed.contains("//! # webserver3d"),
        "doc headers are left out:\n{changed}"
    );

    // Starting over, when asked to, keeps the old copy.
    let forced = assert_status(&lab(work, &["start", "3c", "--force"]), 0);
    assert!(forced.contains("Moved your previous copy to"), "{forced}");
    assert_eq!(
        std::fs::read_to_string(work.join("3c.old-1/src/main.rs")).unwrap(),
        include_str!("../../bins/part3/webserver3c.rs")
    );
    assert_eq!(
        std::fs::read_to_string(&source).unwrap(),
        include_str!("../../bins/part3/webserver3d.rs")
    );
}

/// The untouched copy builds and fails the checks the proof table names for
/// its starter (for the FTP exercises this is the only place those are
/// proven), while its guards pass; with the reference's code and the
/// predictions written in, `lab check` passes.
fn from_start_to_a_passing_check(step: &str) {
    let exercise = lsbaws_lab::find(step).unwrap();
    // Every exercise's copy builds a binary of its own name, so these tests
    // can share one target folder (the label) while each has its own work
    // folder.
    let work = ScratchDir::new("exercises").unwrap();
    let work = work.path();
    assert_status(&lab(work, &["start", step]), 0);
    let untouched = assert_status(&lab(work, &["check", step]), 1);
    let (_, failing) = exercise.proof[0];
    for id in failing {
        let title = exercise.check(id).unwrap().title;
        assert!(
            untouched.contains(&format!("FAIL  {title}\n")),
            "{step}: {id} should fail on the starter:\n{untouched}"
        );
    }
    for guard in exercise.guards {
        assert!(
            untouched.contains(&format!("PASS  {}\n", guard.title)),
            "{step}: guard {}:\n{untouched}",
            guard.id
        );
    }

    // What a student ends with: the reference's code, predictions made.
    let copy = work.join(step);
    std::fs::write(copy.join(exercise.edited().to), exercise.reference.text).unwrap();
    write_right_answers(&copy.join("answers.txt"));
    let checked = assert_status(&lab(work, &["check", step]), 0);
    assert!(!checked.contains("FAIL"), "{checked}");
    assert!(
        checked.contains(&format!("{step}: ")) && checked.contains("exercise done"),
        "{checked}"
    );
}

#[test]
fn exercise_3c_from_start_to_a_passing_check() {
    from_start_to_a_passing_check("3c");
}

#[test]
fn exercise_3e_from_start_to_a_passing_check() {
    from_start_to_a_passing_check("3e");
}

#[test]
fn exercise_3f_from_start_to_a_passing_check() {
    from_start_to_a_passing_check("3f");
}

#[test]
fn exercise_3g_from_start_to_a_passing_check() {
    from_start_to_a_passing_check("3g");
}

#[test]
fn exercise_3h_from_start_to_a_passing_check() {
    from_start_to_a_passing_check("3h");
}

#[test]
fn exercise_4a_from_start_to_a_passing_check() {
    from_start_to_a_passing_check("4a");
}

#[test]
fn exercise_4b_from_start_to_a_passing_check() {
    from_start_to_a_passing_check("4b");
}

#[test]
fn exercise_4h_from_start_to_a_passing_check() {
    from_start_to_a_passing_check("4h");
}

#[test]
fn exercise_4d_from_start_to_a_passing_check() {
    from_start_to_a_passing_check("4d");
}

#[test]
fn exercise_4p_from_start_to_a_passing_check() {
    from_start_to_a_passing_check("4p");
}

#[test]
fn exercise_4e_from_start_to_a_passing_check() {
    from_start_to_a_passing_check("4e");
}

#[test]
fn exercise_4f_from_start_to_a_passing_check() {
    from_start_to_a_passing_check("4f");
}

#[test]
fn exercise_4f_blocking_from_start_to_a_passing_check() {
    from_start_to_a_passing_check("4f-blocking");
}

/// The homework, walked by a student who answers some questions wrong,
/// one not in the form asked, and one not at all: the experiments run on
/// the untouched starter (its own words come back), the questions of
/// understanding are scored against their key, nothing is shown of an
/// answer before the student's is locked, and the first answer stays the
/// one scored after a correction.
#[test]
fn exercise_homework_from_start_to_a_passing_check() {
    let exercise = lsbaws_lab::find("homework").unwrap();
    let work = ScratchDir::new("exercises").unwrap();
    let work = work.path();
    assert_status(&lab(work, &["start", "homework"]), 0);
    let copy = work.join("homework");
    let answers = copy.join("answers.txt");
    let template = std::fs::read_to_string(&answers).unwrap();
    assert!(
        template.contains("# Nothing is run for this one")
            && template.contains("\nchoosing_job: \n"),
        "{template}"
    );
    let first = template
        .replace("\nchoosing_job: \n", "\nchoosing_job: transfer\n")
        .replace("\nhello_line: \n", "\nhello_line: headers\n")
        .replace("\ndate_writer: \n", "\ndate_writer: server\n")
        .replace("\nloop_model: \n", "\nloop_model: maybe\n")
        .replace("\nrestart_binds: \n", "\nrestart_binds: yes\n");
    std::fs::write(&answers, first).unwrap();

    let untouched = assert_status(&lab(work, &["check", "homework"]), 1);
    for (id, verdict) in [
        ("blank-line", "FAIL"),
        ("restart", "FAIL"),
        ("answers", "PASS"),
    ] {
        let title = exercise.check(id).unwrap().title;
        assert!(
            untouched.contains(&format!("{verdict}  {title}\n")),
            "{id}:\n{untouched}"
        );
    }
    assert!(
        untouched.contains("measured on the untouched starter or against the answer key:"),
        "{untouched}"
    );
    // Known answers: scored both ways, the key shown once locked.
    assert!(
        untouched.contains("WRONG  choosing_job: you predicted \"transfer\"; the answer: logic"),
        "{untouched}"
    );
    assert!(
        untouched.contains("RIGHT  date_writer: you predicted \"server\"; the answer: server"),
        "{untouched}"
    );
    // Measured answers: scored both ways, from a run of the starter, whose
    // own words on stderr come back.
    assert!(
        untouched.contains("RIGHT  hello_line: you predicted \"headers\"; measured: headers"),
        "{untouched}"
    );
    assert!(
        untouched.contains("WRONG  restart_binds: you predicted \"yes\"; measured: no"),
        "{untouched}"
    );
    assert!(
        untouched.contains("Building an untouched copy of the starter")
            && untouched.contains("starter-homework served one request on port")
            && untouched.contains("EADDRINUSE"),
        "{untouched}"
    );
    // Unanswered, or not an answer: nothing locked, nothing given away.
    assert!(
        untouched.contains(" ---  parent_counter: not answered yet")
            && untouched.contains(" ???  loop_model: you said \"maybe\""),
        "{untouched}"
    );
    for question in exercise.questions {
        if let Some(known) = question.known() {
            if ["parent_counter", "loop_model"].contains(&question.key) {
                assert!(!untouched.contains(&known.story), "{untouched}");
            }
        }
    }
    assert!(
        untouched.contains("homework: 1 of 3 checks pass, 2 of 6 predictions right at first"),
        "{untouched}"
    );

    // The fix, the remaining answers, and corrections of the wrong ones.
    std::fs::write(copy.join("src/main.rs"), exercise.reference.text).unwrap();
    let corrected = std::fs::read_to_string(&answers)
        .unwrap()
        .replace("choosing_job: transfer", "choosing_job: logic")
        .replace("restart_binds: yes", "restart_binds: no")
        .replace("loop_model: maybe", "loop_model: loop")
        .replace("\nparent_counter: \n", "\nparent_counter: 10\n");
    std::fs::write(&answers, corrected).unwrap();
    let checked = assert_status(&lab(work, &["check", "homework"]), 0);
    assert!(!checked.contains("FAIL"), "{checked}");
    assert!(
        checked.contains("WRONG  choosing_job: you predicted \"transfer\"; the answer: logic")
            && checked.contains("Your answers file now says \"logic\": a correction (right)"),
        "{checked}"
    );
    assert!(
        checked.contains("WRONG  restart_binds: you predicted \"yes\"; measured: no")
            && checked.contains("Your answers file now says \"no\": a correction (right)"),
        "{checked}"
    );
    assert!(
        checked.contains("RIGHT  loop_model: you predicted \"loop\"; the answer: loop")
            && checked.contains("WRONG  parent_counter: you predicted \"10\"; the answer: 0"),
        "{checked}"
    );
    assert!(
        checked.contains(
            "homework: 3 of 3 checks pass, 3 of 6 predictions right at first — exercise done."
        ),
        "{checked}"
    );
}

#[test]
fn exercise_ftp_commands_from_start_to_a_passing_check() {
    from_start_to_a_passing_check("ftp-commands");
}

#[test]
fn exercise_ftp_confine_from_start_to_a_passing_check() {
    from_start_to_a_passing_check("ftp-confine");
}

#[test]
fn exercise_ftp_atomic_from_start_to_a_passing_check() {
    from_start_to_a_passing_check("ftp-atomic");
}

#[test]
fn every_exercise_is_walked_from_start_to_a_passing_check() {
    // One test above per exercise: a new exercise needs one too.
    let this_file = include_str!("lab_cli.rs");
    for exercise in EXERCISES {
        let test = format!(
            "fn exercise_{}_from_start_to_a_passing_check()",
            exercise.step.replace('-', "_")
        );
        assert!(
            this_file.contains(&test),
            "no `{test}` in lab/tests/lab_cli.rs"
        );
    }
}
