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
//! binaries each check must fail on. `tests/lab_checks.rs` then proves
//! every check both ways, and `lab/tests/lab_cli.rs` walks a student's copy
//! from `lab start` to a passing `lab check`.

use super::check::Check;
use super::question::Question;
use super::{blocking, ftp, ftp_commands, homework, idle, multiplex, part3, part4, threads};

/// A source file of this repository, compiled in so that the table cannot
/// name a file that does not exist.
#[derive(Debug, Clone, Copy)]
pub struct SourceFile {
    /// Relative to the repository: `bins/part3/webserver3d.rs`.
    pub path: &'static str,
    pub text: &'static str,
}

/// `source!("bins/part3/webserver3d.rs")`.
macro_rules! source {
    ($path:literal) => {
        SourceFile {
            path: $path,
            text: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../", $path)),
        }
    };
}

/// One file of a student's copy.
#[derive(Debug, Clone, Copy)]
pub struct CopyFile {
    /// Where it goes in the copy: `src/main.rs`, `src/root.rs`.
    pub to: &'static str,
    pub from: SourceFile,
}

impl CopyFile {
    /// The file as it is written into the copy: the source, unchanged. A
    /// copy that replaces one of a server's modules has a `main.rs` of its
    /// own that declares it (`lessons/ftp-confine/starter/main.rs`).
    pub fn contents(&self) -> &'static str {
        self.from.text
    }
}

/// The name, in a proof table, of the untouched copy of a starter that is
/// not a binary of this package (the FTP exercises): `lab/tests/lab_cli.rs`
/// builds it with `lab start` and proves those checks on it.
pub const STARTER_COPY: &str = "starter copy";

/// `lesson_text!("3c")`: the exercise's README and hints from `lessons/3c/`.
macro_rules! lesson_text {
    ($step:literal) => {
        (
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../lessons/",
                $step,
                "/README.md"
            )),
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../lessons/",
                $step,
                "/hints.md"
            )),
        )
    };
}

/// A step's server in `bins/`: `bin_source!("part3", "webserver3d")`.
macro_rules! bin_source {
    ($part:literal, $bin:literal) => {
        SourceFile {
            path: concat!("bins/", $part, "/", $bin, ".rs"),
            text: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../bins/",
                $part,
                "/",
                $bin,
                ".rs"
            )),
        }
    };
}

/// An exercise whose copy is one step's server, whole, as src/main.rs
/// (`bins/PART/STARTER.rs`), to be made to behave like the next step
/// (`bins/PART/REFERENCE.rs`), whose name the student's binary takes. Its text is
/// in `lessons/STEP/`.
macro_rules! step_exercise {
    ($step:literal in $part:literal: $starter:literal -> $reference:literal, $title:literal, $chapter:literal,
     checks: $checks:expr, guards: $guards:expr, questions: $questions:expr, proof: $proof:expr,
     wrong: $wrong:expr $(,)?) => {
        Exercise {
            step: $step,
            title: $title,
            chapter: $chapter,
            files: &[CopyFile {
                to: "src/main.rs",
                from: bin_source!($part, $starter),
            }],
            starter_bin: Some($starter),
            reference_bin: $reference,
            binary: $reference,
            run_args: "--port 8888",
            reference: bin_source!($part, $reference),
            readme: lesson_text!($step).0,
            hints: lesson_text!($step).1,
            checks: $checks,
            guards: $guards,
            questions: $questions,
            proof: $proof,
            wrong: $wrong,
        }
    };
}

/// `wrong_fix!("3g", "blocking-handler", &["busy-child"])`: the wrong fix
/// in `lessons/3g/wrong/blocking-handler.rs`, and the checks that catch it.
macro_rules! wrong_fix {
    ($step:literal, $name:literal, $caught_by:expr) => {
        WrongFix {
            name: $name,
            source: SourceFile {
                path: concat!("lessons/", $step, "/wrong/", $name, ".rs"),
                text: include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/../lessons/",
                    $step,
                    "/wrong/",
                    $name,
                    ".rs"
                )),
            },
            caught_by: $caught_by,
        }
    };
}

/// A fix a student could make that looks right and is not: the starter
/// with a plausible wrong change, kept as a fixture beside the starter and
/// the reference. It replaces the exercise's edited file;
/// `lab/tests/wrong_fixes.rs` builds it as a student's copy would be built
/// and requires every check in `caught_by` to fail on it, every time.
#[derive(Debug)]
pub struct WrongFix {
    /// `blocking-handler`: `lessons/STEP/wrong/NAME.rs`.
    pub name: &'static str,
    pub source: SourceFile,
    /// The checks (by id) that must fail on it.
    pub caught_by: &'static [&'static str],
}

/// One exercise.
#[derive(Debug)]
pub struct Exercise {
    /// Its name on the command line: `3c`, `ftp-confine`.
    pub step: &'static str,
    pub title: &'static str,
    /// The book chapter it belongs to.
    pub chapter: &'static str,
    /// What `lab start` writes into the copy. The first file is the one the
    /// student edits; the copy's binary is built from `src/main.rs`.
    pub files: &'static [CopyFile],
    /// The starter as a binary of this package (`webserver3d`), when it is
    /// one; otherwise `lab` builds an untouched copy to run it.
    pub starter_bin: Option<&'static str>,
    /// The binary the student's fix should behave like.
    pub reference_bin: &'static str,
    /// Flags to run the student's server by hand, for `lab start`'s advice.
    pub run_args: &'static str,
    /// The name of the student's binary. Every copy builds into one target
    /// folder, so it must be unique among the exercises (the two FTP
    /// exercises' copies are both an ftp-server).
    pub binary: &'static str,
    /// What the edited file should come to look like (for `lab diff`).
    pub reference: SourceFile,
    /// `lessons/<step>/README.md`.
    pub readme: &'static str,
    /// `lessons/<step>/hints.md`: `## ` headings, mildest first.
    pub hints: &'static str,
    /// The behaviours the fix brings.
    pub checks: &'static [&'static Check],
    /// What already worked and must keep working (a "fix" that refuses
    /// everything must not pass). Proven to pass on the starter and on the
    /// reference.
    pub guards: &'static [&'static Check],
    pub questions: &'static [&'static Question],
    /// For CI: broken binaries of this package (or [`STARTER_COPY`]), and
    /// the checks (by id) each must fail. The starter comes first; then the
    /// earlier broken steps.
    pub proof: &'static [(&'static str, &'static [&'static str])],
    /// Known wrong fixes, each a fixture that some check must catch.
    pub wrong: &'static [WrongFix],
}

impl Exercise {
    /// The file the student edits.
    pub fn edited(&self) -> &'static CopyFile {
        &self.files[0]
    }

    /// The starter, as `lab list` names it: `webserver3d`, or
    /// `root.rs (starter)`.
    pub fn starter_name(&self) -> String {
        match self.starter_bin {
            Some(bin) => bin.to_string(),
            None => {
                let file = self
                    .edited()
                    .to
                    .rsplit('/')
                    .next()
                    .unwrap_or(self.edited().to);
                format!("{file} (starter)")
            }
        }
    }

    /// Checks, then guards: everything `lab check` runs.
    pub fn all_checks(&self) -> impl Iterator<Item = &'static Check> {
        self.checks.iter().chain(self.guards).copied()
    }
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
        hints_of(self.hints)
    }

    /// The check (or guard) with this id.
    pub fn check(&self, id: &str) -> Option<&'static Check> {
        self.all_checks().find(|c| c.id == id)
    }
}

/// The hints of a hints file, mildest first: each `## ` section.
pub fn hints_of(text: &str) -> Vec<Hint> {
    let mut hints = Vec::new();
    for section in text.split("\n## ").skip(1) {
        let (title, text) = section.split_once('\n').unwrap_or((section, ""));
        hints.push(Hint {
            title: title.trim().to_string(),
            text: text.trim().to_string(),
        });
    }
    hints
}

/// Every exercise, in the order of the book.
pub static EXERCISES: &[Exercise] = &[
    step_exercise!("3c" in "part3": "webserver3d" -> "webserver3c",
        "Close the duplicate descriptors",
        "Part 3: webserver3c and webserver3d",
        checks: &[&part3::CONCURRENT, &part3::EOF, &part3::NO_LEAK, &part3::OPEN_FILE_LIMIT],
        guards: &[],
        questions: &[&part3::FDS_AFTER_TEN, &part3::EMFILE_COUNT, &part3::EOF_AFTER_RESPONSE],
        proof: &[
            ("webserver3d", &["eof", "no-leak", "ulimit-n"]),
            ("webserver3a", &["concurrent"]),
            ("webserver3b", &["concurrent"]),
        ],
        wrong: &[],
    ),
    step_exercise!("3e" in "part3": "webserver3c" -> "webserver3e",
        "Reap children with a SIGCHLD handler",
        "Part 3: webserver3e",
        checks: &[&part3::CONCURRENT, &part3::SIGCHLD_HANDLER, &part3::REAPED],
        guards: &[],
        questions: &[&part3::EAGAIN_COUNT],
        proof: &[
            ("webserver3c", &["sigchld-handler", "reaped"]),
            ("webserver3d", &["sigchld-handler", "reaped"]),
            ("webserver3a", &["concurrent", "sigchld-handler"]),
            ("webserver3b", &["concurrent", "sigchld-handler"]),
        ],
        wrong: &[],
    ),
    step_exercise!("3f" in "part3": "webserver3e" -> "webserver3f",
        "Survive EINTR",
        "Part 3: webserver3f",
        checks: &[&part3::CONCURRENT, &part3::SIGCHLD_HANDLER, &part3::REAPED, &part3::SURVIVES_EINTR],
        guards: &[&part3::ACCEPT_ERROR],
        questions: &[&part3::REQUESTS_BEFORE_EINTR],
        proof: &[
            ("webserver3e", &["survives"]),
            ("webserver3c", &["sigchld-handler", "reaped"]),
            ("webserver3d", &["sigchld-handler", "reaped"]),
            ("webserver3a", &["concurrent"]),
            ("webserver3b", &["concurrent"]),
        ],
        wrong: &[wrong_fix!("3f", "swallow-errors", &["accept-error"])],
    ),
    step_exercise!("3g" in "part3": "webserver3f" -> "webserver3g",
        "Reap every child",
        "Part 3: webserver3g",
        checks: &[
            &part3::CONCURRENT,
            &part3::SIGCHLD_HANDLER,
            &part3::REAPED,
            &part3::SURVIVES_EINTR,
            &part3::BUSY_CHILD,
            &part3::ONE_SIGNAL,
            &part3::BURSTS,
        ],
        guards: &[&part3::ACCEPT_ERROR],
        questions: &[&part3::ZOMBIES_AFTER_BURSTS],
        proof: &[
            ("webserver3f", &["one-signal", "bursts"]),
            ("webserver3e", &["survives", "busy-child"]),
            ("webserver3c", &["sigchld-handler", "reaped"]),
            ("webserver3d", &["sigchld-handler", "reaped"]),
            ("webserver3a", &["concurrent"]),
            ("webserver3b", &["concurrent"]),
        ],
        wrong: &[
            wrong_fix!("3g", "blocking-handler", &["busy-child"]),
            wrong_fix!("3g", "fixed-count", &["one-signal"]),
            wrong_fix!("3g", "sig-ign", &["sigchld-handler"]),
        ],
    ),
    Exercise {
        step: "3h",
        title: "Make the gateway server concurrent",
        chapter: "Part 3: webserver3h",
        files: &[CopyFile {
            to: "src/main.rs",
            from: bin_source!("part2", "webserver2"),
        }],
        starter_bin: Some("webserver2"),
        reference_bin: "webserver3h",
        binary: "webserver3h",
        run_args: "--port 8888 hello",
        reference: bin_source!("part3", "webserver3h"),
        readme: lesson_text!("3h").0,
        hints: lesson_text!("3h").1,
        checks: &[&part3::CONCURRENT, &part3::REAPED],
        guards: &[&part3::SURVIVES_EINTR, &part3::NO_LEAK, &part3::CGI_ANSWERS],
        questions: &[&part3::SECOND_ANSWERED],
        proof: &[
            ("webserver2", &["concurrent", "reaped"]),
            ("webserver3c", &["reaped"]),
            ("webserver3e", &["survives"]),
            ("webserver3d", &["no-leak"]),
        ],
        wrong: &[
            wrong_fix!("3h", "no-reaper", &["reaped"]),
            wrong_fix!("3h", "inherited-reaper", &["cgi"]),
            wrong_fix!("3h", "dies-on-eintr", &["survives"]),
        ],
    },
    Exercise {
        step: "4a",
        title: "Keep the connection, let idle clients go",
        chapter: "Part 4: webserver4a",
        files: &[CopyFile {
            to: "src/main.rs",
            from: bin_source!("part3", "webserver3g"),
        }],
        starter_bin: Some("webserver3g"),
        reference_bin: "webserver4a",
        binary: "webserver4a",
        run_args: "--port 8888",
        reference: bin_source!("part4", "webserver4a"),
        readme: lesson_text!("4a").0,
        hints: lesson_text!("4a").1,
        checks: &[
            &idle::SAME_CONNECTION,
            &idle::IDLE_TIMEOUT_CHECK,
            &idle::FORK_FAILS,
            &part4::SERVES_SITE,
        ],
        guards: &[&part3::CONCURRENT],
        questions: &[&idle::CURL_CONNECTIONS, &idle::SILENT_CHILD],
        proof: &[(
            "webserver3g",
            &["same-connection", "idle-timeout", "fork-fails", "site"],
        )],
        wrong: &[
            wrong_fix!("4a", "no-timeout", &["idle-timeout"]),
            wrong_fix!("4a", "waits-for-the-child", &["concurrent"]),
            wrong_fix!("4a", "dies-when-fork-fails", &["fork-fails"]),
        ],
    },
    step_exercise!("4d" in "part4": "webserver4c" -> "webserver4d",
        "Content-Length and keep-alive",
        "Part 4: webserver4d",
        checks: &[&part4::CONTENT_LENGTH, &part4::KEEP_ALIVE],
        guards: &[&part4::SERVES_SITE],
        questions: &[&part4::BODY_END, &part4::CONNECTIONS_FOR_TWO],
        proof: &[("webserver4c", &["content-length", "keep-alive"])],
        wrong: &[],
    ),
    step_exercise!("4p" in "part4": "webserver4s" -> "webserver4p",
        "Lift select's FD_SETSIZE limit",
        "Part 4: webserver4p",
        checks: &[&multiplex::PAST_FD_SETSIZE],
        guards: &[&part4::IDLE_CPU, &part4::KEEP_ALIVE, &part4::SERVES_SITE],
        questions: &[&multiplex::ANSWERED_OF_1100],
        proof: &[("webserver4s", &["past-fd-setsize"])],
        wrong: &[
            wrong_fix!("4p", "never-watched", &["past-fd-setsize"]),
            wrong_fix!("4p", "poll-them-myself", &["idle-cpu"]),
        ],
    ),
    step_exercise!("4e" in "part4": "webserver4d" -> "webserver4e",
        "Sleep in epoll instead of spinning",
        "Part 4: webserver4e",
        checks: &[&part4::IDLE_CPU, &part4::EPOLL, &part4::ASLEEP_IN_EPOLL],
        guards: &[&part4::NONBLOCKING, &part4::CONTENT_LENGTH, &part4::KEEP_ALIVE, &part4::SERVES_SITE],
        questions: &[&part4::IDLE_SPINS],
        proof: &[
            ("webserver4d", &["idle-cpu", "epoll", "asleep-in-epoll"]),
            ("webserver4c", &["idle-cpu", "epoll"]),
        ],
        wrong: &[wrong_fix!("4e", "unused-epoll", &["asleep-in-epoll"])],
    ),
    step_exercise!("4b" in "part4": "webserver4a" -> "webserver4b",
        "A thread per connection",
        "Part 4: webserver4b",
        checks: &[&threads::THREAD_PER_CONNECTION],
        guards: &[&part3::CONCURRENT, &part4::SERVES_SITE],
        questions: &[&threads::CHILDREN_FOR_20],
        proof: &[
            ("webserver4a", &["thread-per-connection"]),
            ("webserver4c", &["thread-per-connection"]),
            ("webserver4h", &["thread-per-connection"]),
        ],
        wrong: &[
            wrong_fix!("4b", "joined-at-once", &["concurrent"]),
            wrong_fix!("4b", "no-fork-no-thread", &["concurrent", "thread-per-connection"]),
        ],
    ),
    step_exercise!("4h" in "part4": "webserver4b" -> "webserver4h",
        "A pool of worker threads",
        "Part 4: webserver4h",
        checks: &[&idle::BOUNDED_THREADS],
        guards: &[&idle::ALL_SERVED, &idle::IDLE_LET_GO, &part3::CONCURRENT, &part4::SERVES_SITE],
        questions: &[&idle::THREADS_FOR_100, &idle::NINTH_CLIENT],
        proof: &[
            ("webserver4b", &["bounded-threads"]),
            ("webserver4a", &["bounded-threads"]),
        ],
        wrong: &[
            wrong_fix!("4h", "spawn-in-execute", &["bounded-threads"]),
            wrong_fix!("4h", "lock-while-serving", &["concurrent"]),
            wrong_fix!("4h", "no-idle-timeout", &["idle-let-go"]),
        ],
    ),
    step_exercise!("4f" in "part4": "webserver4b" -> "webserver4f",
        "A coroutine per connection",
        "Part 4: webserver4f",
        checks: &[&part4::FEW_THREADS],
        guards: &[&part4::KEEP_ALIVE, &part4::SERVES_SITE],
        questions: &[&part4::THREADS_FOR_200],
        proof: &[
            ("webserver4b", &["few-threads"]),
            ("webserver4a", &["few-threads"]),
            ("webserver4h", &["few-threads"]),
        ],
        wrong: &[],
    ),
    Exercise {
        step: "4f-blocking",
        title: "Find the blocking call",
        chapter: "Part 4: webserver4f",
        files: &[CopyFile {
            to: "src/main.rs",
            from: source!("lessons/4f-blocking/starter/main.rs"),
        }],
        starter_bin: None,
        reference_bin: "webserver4f",
        binary: "webserver4f-blocking",
        run_args: "--port 8888 --workers 1",
        reference: bin_source!("part4", "webserver4f"),
        readme: lesson_text!("4f-blocking").0,
        hints: lesson_text!("4f-blocking").1,
        checks: &[&blocking::OTHERS_SERVED, &blocking::SLEEP_TOGETHER],
        guards: &[
            &blocking::STILL_WAITS,
            &blocking::SLEEP_IS_IDLE,
            &part4::SERVES_SITE,
        ],
        questions: &[&blocking::SECOND_CLIENT],
        proof: &[(STARTER_COPY, &["others-served", "sleep-together"])],
        wrong: &[
            wrong_fix!("4f-blocking", "more-workers", &["sleep-together"]),
            wrong_fix!(
                "4f-blocking",
                "thread-join",
                &["others-served", "sleep-together"]
            ),
            wrong_fix!("4f-blocking", "yield-loop", &["sleep-is-idle"]),
        ],
    },
    Exercise {
        step: "homework",
        title: "The server-models homework",
        chapter: "The server toolkit: what a server is",
        files: &[CopyFile {
            to: "src/main.rs",
            from: source!("lessons/homework/starter/main.rs"),
        }],
        starter_bin: None,
        reference_bin: "webserver1",
        binary: "webserver1-homework",
        run_args: "--port 8888",
        reference: bin_source!("part1", "webserver1"),
        readme: lesson_text!("homework").0,
        hints: lesson_text!("homework").1,
        checks: &[&homework::BLANK_LINE, &homework::RESTART],
        guards: &[&homework::ANSWERS],
        questions: &[
            &homework::CHOOSING_JOB,
            &homework::HELLO_LINE,
            &homework::DATE_WRITER,
            &homework::PARENT_COUNTER,
            &homework::LOOP_MODEL,
            &homework::RESTART_BINDS,
        ],
        proof: &[(STARTER_COPY, &["blank-line", "restart"])],
        wrong: &[wrong_fix!("homework", "reuse-after-bind", &["restart"])],
    },
    Exercise {
        step: "ftp-commands",
        title: "The file server's commands",
        chapter: "The file server project",
        files: &[
            CopyFile {
                to: "src/session.rs",
                from: source!("lessons/ftp-commands/starter/session.rs"),
            },
            CopyFile {
                to: "src/main.rs",
                from: source!("lessons/ftp-commands/starter/main.rs"),
            },
            CopyFile {
                to: "src/server.rs",
                from: source!("bins/ftp/ftp-server/server.rs"),
            },
        ],
        starter_bin: None,
        reference_bin: "ftp-server",
        binary: "ftp-commands",
        run_args: "--root /tmp/lab/library",
        reference: source!("lessons/ftp-commands/reference/session.rs"),
        readme: lesson_text!("ftp-commands").0,
        hints: lesson_text!("ftp-commands").1,
        checks: &[
            &ftp_commands::CURL_LIST,
            &ftp_commands::CURL_GET,
            &ftp_commands::CURL_PUT,
            &ftp_commands::FTPLIB,
            &ftp_commands::LFTP,
            &ftp_commands::QUIT,
            &ftp_commands::REPLY_AFTER_DATA,
            &ftp_commands::CONFINED,
            &ftp::CUT_OFF,
        ],
        guards: &[],
        questions: &[&ftp_commands::FIRST_REFUSED],
        proof: &[(
            STARTER_COPY,
            &[
                "curl-list",
                "curl-get",
                "curl-put",
                "ftplib",
                "lftp",
                "quit",
                "reply-after-data",
                "confined",
                "cut-off",
            ],
        )],
        wrong: &[
            wrong_fix!("ftp-commands", "data-kept", &["curl-list"]),
            wrong_fix!("ftp-commands", "reply-first", &["reply-after-data"]),
            wrong_fix!("ftp-commands", "in-place", &["cut-off"]),
            wrong_fix!("ftp-commands", "ignore-root", &["confined"]),
        ],
    },
    Exercise {
        step: "ftp-confine",
        title: "Confine every name to the library root",
        chapter: "The file server project: no way out, no half files",
        files: &[
            CopyFile {
                to: "src/root.rs",
                from: source!("lessons/ftp-confine/starter/root.rs"),
            },
            CopyFile {
                to: "src/main.rs",
                from: source!("lessons/ftp-confine/starter/main.rs"),
            },
            CopyFile {
                to: "src/server.rs",
                from: source!("bins/ftp/ftp-server/server.rs"),
            },
            CopyFile {
                to: "src/session.rs",
                from: source!("bins/ftp/ftp-server/session.rs"),
            },
            CopyFile {
                to: "src/transfer.rs",
                from: source!("bins/ftp/ftp-server/transfer.rs"),
            },
            CopyFile {
                to: "src/listing.rs",
                from: source!("src/ftp/listing.rs"),
            },
        ],
        starter_bin: None,
        reference_bin: "ftp-server",
        binary: "ftp-confine",
        run_args: "--root /tmp/lab/library",
        reference: source!("src/ftp/root.rs"),
        readme: lesson_text!("ftp-confine").0,
        hints: lesson_text!("ftp-confine").1,
        checks: &[
            &ftp::DOTDOT,
            &ftp::DOTDOT_TEXT,
            &ftp::SYMLINKS,
            &ftp::SWAP_RACE,
        ],
        guards: &[&ftp::INSIDE_WORKS],
        questions: &[&ftp::CWD_UP, &ftp::SYMLINK_SECRET],
        proof: &[(
            STARTER_COPY,
            &["dotdot", "dotdot-text", "symlinks", "swap-race"],
        )],
        wrong: &[
            wrong_fix!("ftp-confine", "kernel-only", &["dotdot-text"]),
            wrong_fix!("ftp-confine", "realpath-prefix", &["swap-race"]),
        ],
    },
    Exercise {
        step: "ftp-atomic",
        title: "Atomic uploads",
        chapter: "The file server project: no way out, no half files",
        files: &[
            CopyFile {
                to: "src/atomic_file.rs",
                from: source!("lessons/ftp-atomic/starter/atomic_file.rs"),
            },
            CopyFile {
                to: "src/main.rs",
                from: source!("lessons/ftp-atomic/starter/main.rs"),
            },
            CopyFile {
                to: "src/server.rs",
                from: source!("bins/ftp/ftp-server/server.rs"),
            },
            CopyFile {
                to: "src/session.rs",
                from: source!("bins/ftp/ftp-server/session.rs"),
            },
            CopyFile {
                to: "src/transfer.rs",
                from: source!("bins/ftp/ftp-server/transfer.rs"),
            },
        ],
        starter_bin: None,
        reference_bin: "ftp-server",
        binary: "ftp-atomic",
        run_args: "--root /tmp/lab/library",
        reference: source!("src/ftp/atomic_file.rs"),
        readme: lesson_text!("ftp-atomic").0,
        hints: lesson_text!("ftp-atomic").1,
        checks: &[&ftp::CUT_OFF, &ftp::OLD_UNTIL_DONE, &ftp::NO_MIX],
        guards: &[&ftp::UPLOAD_WORKS],
        questions: &[&ftp::OLD_FILE_SURVIVES, &ftp::UPLOADS_MIX],
        proof: &[(STARTER_COPY, &["cut-off", "old-until-done", "no-mix"])],
        wrong: &[],
    },
];

/// The exercise for `step` (`3c`; `webserver3c` works too).
pub fn find(step: &str) -> Option<&'static Exercise> {
    let step = step.trim().trim_start_matches("webserver");
    EXERCISES.iter().find(|e| e.step.eq_ignore_ascii_case(step))
}

/// "3c, 3e, 3f, 3g", for messages.
pub fn steps() -> String {
    EXERCISES
        .iter()
        .map(|e| e.step)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exercise_is_complete() {
        for exercise in EXERCISES {
            let step = exercise.step;
            assert!(
                exercise.hints().len() >= 3,
                "{step}: graded hints, at least three"
            );
            assert!(
                exercise
                    .hints()
                    .iter()
                    .all(|h| !h.title.is_empty() && !h.text.is_empty()),
                "{step}"
            );
            // Hints give the idea in words; the code is the student's to write.
            for hint in exercise.hints() {
                let statement = hint.text.split('`').skip(1).step_by(2).find(|code| {
                    code.trim_end().ends_with(';')
                        || code.contains("=>")
                        || code.starts_with("let ")
                        || code.contains("fn ")
                });
                assert!(
                    !hint.text.contains("```") && statement.is_none(),
                    "{step}: hint {:?} holds code ({statement:?}): say the idea in words",
                    hint.title
                );
            }
            assert!(
                !exercise.questions.is_empty(),
                "{step}: a predict-then-run question"
            );
            assert_eq!(
                exercise.proof[0].0,
                exercise.starter_bin.unwrap_or(STARTER_COPY),
                "{step}: the proof starts with the starter"
            );
            assert!(
                exercise.files.iter().any(|f| f.to == "src/main.rs"),
                "{step}: the copy has a src/main.rs"
            );
            for check in exercise.checks {
                assert!(
                    exercise
                        .proof
                        .iter()
                        .any(|(_, ids)| ids.contains(&check.id)),
                    "{step}: check {} is proven to fail on no broken binary",
                    check.id
                );
            }
            for (bin, ids) in exercise.proof {
                assert!(
                    !ids.is_empty(),
                    "{step}: {bin} is listed with no failing check"
                );
                for id in *ids {
                    assert!(
                        exercise.check(id).is_some(),
                        "{step}: proof names unknown check {id}"
                    );
                }
            }
            for wrong in exercise.wrong {
                // Close to the starter (one small wrong change), or, when the
                // fix is a rewrite, close to the reference (the reference
                // with one thing wrong): either way a change to that file
                // flags its fixtures.
                let changed = changed_lines(exercise.edited().contents(), wrong.source.text)
                    .min(changed_lines(exercise.reference.text, wrong.source.text));
                assert!(
                    changed <= WRONG_FIX_LINES,
                    "{step}: the wrong fix {} changes {changed} lines of the starter or of the \
                     reference: it should be one of them as it is now with one small wrong \
                     change (did the starter or the reference change?)",
                    wrong.name
                );
                assert!(
                    !wrong.caught_by.is_empty()
                        && wrong
                            .caught_by
                            .iter()
                            .all(|id| exercise.check(id).is_some()),
                    "{step}: wrong fix {} is caught by no known check",
                    wrong.name
                );
            }
            for question in exercise.questions {
                assert!(
                    exercise.readme.contains(question.key),
                    "{step}: README asks nothing about {}",
                    question.key
                );
                // A question of understanding must not give its answer away.
                if let Some(known) = question.known() {
                    let said = question
                        .ask
                        .split(|c: char| !c.is_alphanumeric())
                        .any(|word| word.eq_ignore_ascii_case(&known.value));
                    assert!(
                        !said,
                        "{step}: the question {} says its own answer {:?}",
                        question.key, known.value
                    );
                    assert!(
                        question.form_error(&known.value).is_none(),
                        "{step}: the answer of {} is not one of its words",
                        question.key
                    );
                }
            }
            // A prediction is made before the run that answers it: the
            // README asks before its "Before: see the bug" experiment.
            if !exercise.questions.is_empty() {
                let ask = exercise.readme.find("## Predict, then run");
                let see = exercise.readme.find("## Before");
                assert!(
                    matches!((ask, see), (Some(ask), Some(see)) if ask < see),
                    "{step}: README should ask its predictions (## Predict, then run) before \
                     the run that shows the answer (## Before: see the bug)"
                );
            }
        }
    }

    /// How many lines a wrong fix may change in the starter's code.
    const WRONG_FIX_LINES: usize = 30;

    /// Lines added or removed from `starter` to `wrong`, `//!` headers left
    /// out.
    fn changed_lines(starter: &str, wrong: &str) -> usize {
        let code = |text: &str| {
            text.lines()
                .filter(|l| !l.starts_with("//!"))
                .map(|l| format!("{l}\n"))
                .collect::<String>()
        };
        let (starter, wrong) = (code(starter), code(wrong));
        similar::TextDiff::from_lines(&starter, &wrong)
            .iter_all_changes()
            .filter(|c| c.tag() != similar::ChangeTag::Equal)
            .count()
    }

    #[test]
    fn the_blocking_starter_is_webserver4f_but_for_the_wait() {
        // Its starter is a copy of webserver4f with the slow path's wait
        // made the wrong way: when webserver4f changes, so must the starter.
        let exercise = find("4f-blocking").unwrap();
        let changed = changed_lines(exercise.reference.text, exercise.edited().contents());
        assert!(
            changed <= WRONG_FIX_LINES,
            "lessons/4f-blocking/starter/main.rs changes {changed} lines of webserver4f"
        );
    }

    #[test]
    fn students_binaries_have_names_of_their_own() {
        let mut names: Vec<&str> = EXERCISES.iter().map(|e| e.binary).collect();
        names.sort();
        names.dedup();
        assert_eq!(
            names.len(),
            EXERCISES.len(),
            "two copies would build the same binary"
        );
    }

    #[test]
    fn steps_are_found_by_name() {
        assert_eq!(
            find("3c").map(|e| e.starter_name()).as_deref(),
            Some("webserver3d")
        );
        assert_eq!(
            find("ftp-atomic").map(|e| e.starter_name()).as_deref(),
            Some("atomic_file.rs (starter)")
        );
        assert_eq!(find("webserver3G").map(|e| e.step), Some("3g"));
        assert!(find("9z").is_none());
        assert_eq!(
            find("FTP-confine").map(|e| e.reference_bin),
            Some("ftp-server")
        );
        assert_eq!(
            steps(),
            "3c, 3e, 3f, 3g, 3h, 4a, 4d, 4p, 4e, 4b, 4h, 4f, 4f-blocking, homework, ftp-commands, ftp-confine, ftp-atomic"
        );
    }
}
