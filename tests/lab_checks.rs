//! Every exercise check is proven both ways: it fails on the untouched
//! starter and on the earlier broken steps its exercise names, and passes
//! on the reference. Every predict-then-run question measures the real
//! starter and gets the answer the lesson text leads to.
//!
//! A check that passed on everything would teach nothing; one that failed
//! on the reference could never be passed. These tests run the same check
//! functions `cargo lab check` runs, on this package's own binaries.

use lsbaws_lab::exercise::STARTER_COPY;
use lsbaws_lab::question::Grade;
use lsbaws_lab::{find, Exercise, Subject};

/// Run every check of `step` on the reference (each must pass) and every
/// check the proof table names on each broken binary (each must fail).
fn prove(step: &str) {
    let exercise: &Exercise = find(step).unwrap();
    let mut report = Vec::new();
    let reference = Subject::bin(exercise.reference_bin);
    for check in exercise.all_checks() {
        let verdict = check.check(&reference);
        report.push(format!(
            "{} on {}: {:?}",
            check.id,
            reference.name(),
            verdict
        ));
        assert!(
            verdict.passed,
            "{step}: check {} fails on the reference {}: {}",
            check.id,
            reference.name(),
            verdict.saw
        );
    }
    // Guards hold on the starter too (when it is one of our binaries; an
    // untouched copy is proven by lab/tests/lab_cli.rs).
    if let Some(starter) = exercise.starter_bin {
        for guard in exercise.guards {
            let verdict = guard.check(&Subject::bin(starter));
            assert!(
                verdict.passed,
                "{step}: guard {} fails on the starter {starter}: {}",
                guard.id, verdict.saw
            );
        }
    }
    for (broken, ids) in exercise.proof {
        if *broken == STARTER_COPY {
            continue;
        }
        let subject = Subject::bin(broken);
        for id in *ids {
            let verdict = exercise.check(id).unwrap().check(&subject);
            report.push(format!("{id} on {broken}: {verdict:?}"));
            assert!(
                !verdict.passed,
                "{step}: check {id} passes on the broken {broken}: {}",
                verdict.saw
            );
        }
    }
    // What a student would read, in the test log (`--nocapture`).
    println!("{}", report.join("\n"));
}

#[test]
fn exercise_3c_checks_fail_on_3d_3a_3b_and_pass_on_3c() {
    prove("3c");
}

#[test]
fn exercise_3e_checks_fail_on_3c_3d_3a_3b_and_pass_on_3e() {
    prove("3e");
}

#[test]
fn exercise_3f_checks_fail_on_3e_3c_3d_3a_3b_and_pass_on_3f() {
    prove("3f");
}

#[test]
fn exercise_3g_checks_fail_on_3f_3e_3c_3d_3a_3b_and_pass_on_3g() {
    prove("3g");
}

#[test]
fn exercise_3h_checks_fail_on_2_3c_3e_3d_and_pass_on_3h() {
    prove("3h");
}

#[test]
fn exercise_4a_checks_fail_on_3g_and_pass_on_4a() {
    prove("4a");
}

#[test]
fn exercise_4b_checks_fail_on_4a_4c_4h_and_pass_on_4b() {
    prove("4b");
}

#[test]
fn exercise_4h_checks_fail_on_4b_4a_and_pass_on_4h() {
    prove("4h");
}

#[test]
fn exercise_4d_checks_fail_on_4c_and_pass_on_4d() {
    prove("4d");
}

#[test]
fn exercise_4p_checks_fail_on_4s_and_pass_on_4p() {
    prove("4p");
}

#[test]
fn exercise_4e_checks_fail_on_4d_4c_and_pass_on_4e() {
    prove("4e");
}

#[test]
fn exercise_4f_checks_fail_on_4b_4a_4h_and_pass_on_4f() {
    prove("4f");
}

#[test]
fn exercise_4f_blocking_checks_and_guards_pass_on_4f() {
    // Its starter is not one of our binaries: lab/tests/lab_cli.rs proves the
    // checks fail on the untouched copy, lab/tests/wrong_fixes.rs on the
    // wrong fixes.
    prove("4f-blocking");
}

#[test]
fn exercise_homework_checks_and_guard_pass_on_webserver1_and_fail_when_it_breaks_itself() {
    // Its starter is not one of our binaries: lab/tests/lab_cli.rs proves the
    // checks fail on the untouched copy. webserver1 leaves out what the
    // starter leaves out when asked to, and each check fails on that.
    prove("homework");
    let exercise = find("homework").unwrap();
    let webserver1 = Subject::bin("webserver1");
    for (flag, id) in [
        ("--no-blank-line", "blank-line"),
        ("--no-reuseaddr", "restart"),
    ] {
        let verdict = exercise
            .check(id)
            .unwrap()
            .check(&webserver1.with_flags(&[flag]));
        println!("{id} on webserver1 {flag}: {verdict:?}");
        assert!(
            !verdict.passed,
            "{id} passes on webserver1 {flag}: {}",
            verdict.saw
        );
    }
}

/// The homework's measured questions give the answer of the server they
/// run on: one answer on webserver1 broken the starter's ways, the other
/// on webserver1 itself. A value that did not come from the run could not
/// do both. Its questions of understanding have their answer without a run.
#[test]
fn question_homework_answers_are_measured_on_the_server_or_known() {
    let exercise = find("homework").unwrap();
    let broken = Subject::bin("webserver1").with_flags(&["--no-blank-line", "--no-reuseaddr"]);
    let fixed = Subject::bin("webserver1");
    let mut measured = 0;
    for question in exercise.questions {
        if let Some(known) = question.known() {
            assert!(
                (question.measure)(&fixed).is_err(),
                "{}: a question of understanding runs nothing",
                question.key
            );
            assert_eq!(question.grade(&known.value, &known), Grade::Right);
            continue;
        }
        let (expected_broken, expected_fixed) = match question.key {
            "hello_line" => ("headers", "body"),
            "restart_binds" => ("no", "yes"),
            other => panic!("no expected answers for homework's {other}"),
        };
        for (subject, expected, other) in [
            (&broken, expected_broken, expected_fixed),
            (&fixed, expected_fixed, expected_broken),
        ] {
            let seen = (question.measure)(subject)
                .unwrap_or_else(|e| panic!("{} on {}: {e}", question.key, subject.command_line()));
            println!("{} on {}: {seen:?}", question.key, subject.command_line());
            assert_eq!(question.grade(expected, &seen), Grade::Right, "{seen:?}");
            assert_eq!(question.grade(other, &seen), Grade::Wrong, "{seen:?}");
        }
        measured += 1;
    }
    assert_eq!(measured, 2, "hello_line and restart_binds are experiments");
}

#[test]
fn exercise_ftp_commands_checks_pass_on_ftp_server() {
    // Its starter and reference are a student's copy, not our binaries:
    // lab/tests/lab_cli.rs proves the checks fail on the untouched copy and
    // pass on the finished one, lab/tests/wrong_fixes.rs that they catch the
    // wrong fixes. Here they must pass on the file server itself.
    prove("ftp-commands");
}

#[test]
fn exercise_ftp_confine_checks_and_guard_pass_on_ftp_server() {
    // Its starter is not one of our binaries: lab/tests/lab_cli.rs proves the
    // checks fail on the untouched copy.
    prove("ftp-confine");
}

#[test]
fn exercise_ftp_atomic_checks_and_guard_pass_on_ftp_server() {
    prove("ftp-atomic");
}

/// Measure each question of `step` on its starter; the measured answer must
/// be `expected` (within the question's tolerance), so the lesson text that
/// leads to that answer stays true.
fn measure(step: &str, expected: &[(&str, &str)]) {
    let exercise = find(step).unwrap();
    let starter = Subject::bin(exercise.starter_bin.expect("a starter among our binaries"));
    assert_eq!(
        exercise.questions.len(),
        expected.len(),
        "{step}: one expected answer per question"
    );
    for (question, (key, answer)) in exercise.questions.iter().zip(expected) {
        assert_eq!(question.key, *key);
        let measured = (question.measure)(&starter).unwrap_or_else(|e| panic!("{step} {key}: {e}"));
        println!("{step} {key}: {measured:?}");
        assert_eq!(
            question.grade(answer, &measured),
            Grade::Right,
            "{step} {key}: measured {measured:?}"
        );
    }
}

#[test]
fn question_3c_webserver3d_holds_14_descriptors_and_answers_252_under_ulimit_n_256() {
    // 0, 1, 2 and the listening socket, then one per client: 4 + 10; and
    // descriptors 4..=255 for clients before accept() fails.
    measure(
        "3c",
        &[
            ("fds_after_10", "14"),
            ("emfile_clients", "252"),
            ("eof_after_response", "no"),
        ],
    );
}

#[test]
fn question_3e_webserver3c_answers_399_under_room_for_400_processes() {
    measure("3e", &[("eagain_clients", "399")]);
}

#[test]
fn question_3f_webserver3e_answers_one_client() {
    measure("3f", &[("clients_answered", "1")]);
}

#[test]
fn question_3g_webserver3f_leaves_zombies() {
    measure("3g", &[("zombies_left", "yes")]);
}

#[test]
fn question_3h_webserver2_does_not_answer_a_second_client() {
    measure("3h", &[("second_answered", "no")]);
}

#[test]
fn question_4a_webserver3g_takes_a_connection_per_request_and_keeps_a_silent_child() {
    measure("4a", &[("curl_connections", "2"), ("silent_child", "yes")]);
}

#[test]
fn question_4b_webserver4a_has_a_child_per_connection() {
    measure("4b", &[("children_for_20", "20")]);
}

#[test]
fn question_4h_webserver4b_runs_a_thread_per_silent_client_and_answers_the_next_at_once() {
    // The main thread, and one per connection.
    measure("4h", &[("threads_for_100", "101"), ("ninth_client", "yes")]);
}

#[test]
fn question_4d_webserver4c_ends_bodies_by_closing_and_takes_two_connections() {
    measure("4d", &[("body_end", "close"), ("connections_for_two", "2")]);
}

#[test]
fn question_4p_webserver4s_answers_the_clients_below_fd_setsize() {
    // Descriptors 0 to 1023, less stdin, stdout, stderr, the listener and
    // the site's directory (1023): 1019 connections.
    measure("4p", &[("answered_of_1100", "1019")]);
}

#[test]
fn question_4e_idle_webserver4d_spins() {
    measure("4e", &[("idle_cpu", "spins")]);
}

#[test]
fn question_4f_webserver4b_runs_a_thread_per_client() {
    // The main thread, and one per connection.
    measure("4f", &[("threads_for_200", "201")]);
}
