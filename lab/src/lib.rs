//! The course exercises: what each one asks, and the checks that tell a
//! student, without a teacher, whether their server now behaves.
//!
//! An exercise ([`exercise::Exercise`]) is a folder of text in `lessons/`
//! (the task and graded hints), a *starter* (the previous step's server,
//! which shows the failure), a *reference* (the next step's server, which
//! does not) and a set of checks. The `lab` command (`cargo lab`) copies the
//! starter for the student, builds their copy, and runs the checks on it.
//!
//! A check never trusts the replies alone: it starts the real binary through
//! [`lsbaws_harness`] (the one the project's own tests use), drives it with
//! real connections, and looks at the process through `/proc` — its
//! descriptors, its children and their zombies, the signals it catches.
//! `tests/lab_checks.rs` proves each check both ways: it fails on the
//! starter (and on the earlier broken steps named in the exercise) and
//! passes on the reference.
//!
//! * [`subject`] — the binary under check, and the flags that make it quick.
//! * [`observe`] — experiments that return what happened (a count, an exit,
//!   a state); tests assert on them, checks judge them.
//! * [`check`] — a check: a title, what it expects, and a verdict with what
//!   it saw.
//! * [`question`] — predict-then-run questions whose answers are verified by
//!   running the experiment for real.
//! * [`exercise`] — the table of exercises.
//! * [`language`] — the exercise texts in English or Chinese (`--lang`, `LANG`).
//! * [`part3`] — the checks and questions of Part 3.
//! * [`idle`] — those of the blocking servers that keep connections open:
//!   keep-alive, the idle timeout, a failed `fork()`.
//! * [`part4`] — those of Part 4's event loops (keep-alive).
//! * [`multiplex`] — those of select and poll (descriptors past FD_SETSIZE).
//! * [`blocking`] — those of the blocking call in a coroutine server.
//! * [`ftp`] — those of the file server: path confinement, atomic uploads.
//! * [`homework`] — those of the server-models homework: the first server
//!   again, and the homework's questions of understanding.
//! * [`ftp_commands`] — those of the file server's commands, driven with
//!   curl, Python's ftplib and lftp.

pub mod blocking;
pub mod check;
pub mod exercise;
pub mod ftp;
pub mod ftp_commands;
pub mod homework;
pub mod idle;
pub mod language;
pub mod multiplex;
pub mod observe;
pub mod part3;
pub mod part4;
pub mod question;
pub mod subject;
pub mod threads;

pub use check::{Check, Verdict};
pub use exercise::{find, Exercise, EXERCISES};
pub use language::Lang;
pub use question::Question;
pub use subject::Subject;
