//! The `coroutines` program: an explicit hand-off between two coroutines,
//! spawn/join/sleep done the coroutine way and the blocking way, and what a
//! parked coroutine costs. Each run ends on its own within a second or so.

use assert_cmd::Command;
use std::time::Duration;

fn run(args: &[&str]) -> String {
    let out = Command::cargo_bin("coroutines")
        .unwrap()
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(out.status.success(), "coroutines {args:?} failed: {out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn two_coroutines_hand_control_to_each_other_in_turn() {
    let out = run(&["switch", "--turns", "5"]);
    let turns: Vec<&str> = out.lines().filter(|l| l.contains(": turn ")).collect();
    assert_eq!(
        turns,
        [
            "ping: turn 1, switching to the other",
            "pong: turn 2, switching to the other",
            "ping: turn 3, switching to the other",
            "pong: turn 4, switching to the other",
            "ping: turn 5, switching to the other",
        ],
        "{out}"
    );
    // Neither ran before main handed the token over, and both ended.
    assert!(
        out.starts_with("main: both spawned, neither has run"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("main: both finished"), "{out}");
}

#[test]
fn timed_hand_offs_report_both_coroutines_and_threads() {
    let out = run(&["switch", "--turns", "1", "--timed", "100"]);
    for what in ["coroutines: 100 round trips", "threads: 100 round trips"] {
        assert!(out.contains(what), "no {what:?} in {out}");
    }
}

/// The seconds in "joined all three after N s".
fn joined_after(out: &str) -> f64 {
    let line = out
        .lines()
        .find(|l| l.starts_with("joined all three after "))
        .unwrap_or_else(|| panic!("no join line in {out}"));
    line["joined all three after ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn events(out: &str) -> Vec<String> {
    out.lines()
        .filter(|l| !l.starts_with("joined"))
        .map(|l| l.split(" (at").next().unwrap().to_string())
        .collect()
}

#[test]
fn coroutines_that_sleep_the_coroutine_way_sleep_together() {
    let out = run(&["spawn"]);
    // All three go to sleep before any wakes, and they wake by deadline:
    // a (100 ms), c (200 ms), b (300 ms).
    assert_eq!(
        events(&out),
        [
            "a: going to sleep for 100 ms",
            "b: going to sleep for 300 ms",
            "c: going to sleep for 200 ms",
            "a: awake",
            "c: awake",
            "b: awake",
        ],
        "{out}"
    );
    // The longest sleep, not the sum: well under 0.6 s.
    let took = joined_after(&out);
    assert!((0.3..0.55).contains(&took), "joined after {took} s: {out}");
}

#[test]
fn a_blocking_sleep_holds_the_worker_and_every_other_coroutine() {
    let out = run(&["spawn", "--blocking"]);
    // Each sleeper runs to the end before the next one starts.
    assert_eq!(
        events(&out),
        [
            "a: going to sleep for 100 ms",
            "a: awake",
            "b: going to sleep for 300 ms",
            "b: awake",
            "c: going to sleep for 200 ms",
            "c: awake",
        ],
        "{out}"
    );
    // The sum of the sleeps: 0.6 s at least.
    let took = joined_after(&out);
    assert!(took >= 0.6, "joined after {took} s: {out}");
}

/// The number before " KiB each" after `label` on the line starting `start`.
fn kib_each(out: &str, start: &str, label: &str) -> f64 {
    let line = out
        .lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no {start:?} line in {out}"));
    let rest = &line[line.find(label).unwrap_or_else(|| panic!("{line}")) + label.len()..];
    rest.split(" KiB").next().unwrap().parse().unwrap()
}

#[test]
fn a_parked_coroutine_reserves_its_stack_but_touches_a_few_pages() {
    let out = run(&["stack", "--coroutines", "2000", "--threads", "200"]);
    // 128 KiB of stack reserved per coroutine (plus a guard page) ...
    let reserved = kib_each(&out, "2000 parked coroutines", "address space +");
    assert!(reserved >= 128.0, "{out}");
    // ... of which it uses a few pages.
    let resident = kib_each(&out, "2000 parked coroutines", "resident +");
    assert!(resident < 64.0, "{out}");
    // A thread reserves far more address space for its stack.
    let thread_reserved = kib_each(&out, "200 parked threads: address", "address space +");
    assert!(thread_reserved > 4.0 * reserved, "{out}");
    // A stackless future is as big as what it holds across an await.
    assert!(
        out.contains("async fn future holding a counter across .await: 16 bytes"),
        "{out}"
    );
}
