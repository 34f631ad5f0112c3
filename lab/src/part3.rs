//! The checks and questions of Part 3's exercises: from an iterative server
//! to a forking one that closes what it does not use, reaps every child and
//! survives the signals that reaping brings.

use super::check::{Check, Verdict};
use super::observe::{self, ChildFate, LimitRun, SigchldHandling, HANG};
use super::question::{Answer, Measured, Question};
use super::subject::Subject;
use lsbaws_harness::client::AfterResponse;

// ---- checks ------------------------------------------------------------------

/// "no child process", "1 child process", "2 child processes".
fn child_processes(n: usize) -> String {
    match n {
        0 => "no child process".to_string(),
        1 => "1 child process".to_string(),
        n => format!("{n} child processes"),
    }
}

pub static CONCURRENT: Check = Check {
    id: "concurrent",
    title: "a silent client does not hold up the next one",
    expected:
        "a second client is answered within 2 s while a first one is connected and says nothing",
    run: |subject| {
        Verdict::from_observation(
            observe::second_client_while_first_is_silent(subject),
            |seen| match seen.answered_in {
                Some(took) => Verdict::pass(format!(
                    "answered in {} ms, with {} serving",
                    took.as_millis(),
                    child_processes(seen.children)
                )),
                None => Verdict::fail(format!(
                    "no response within {:?}: the server is busy with the silent client ({})",
                    HANG * 2,
                    child_processes(seen.children)
                )),
            },
        )
    },
};

pub static EOF: Check = Check {
    id: "eof",
    title: "the client sees the end of the stream",
    expected: "after the response, EOF (read returns 0) once the child that answered has exited",
    run: |subject| {
        Verdict::from_observation(observe::after_the_response(subject), |after| match after {
            AfterResponse::Eof => Verdict::pass("EOF"),
            AfterResponse::Hung => Verdict::fail(format!(
                "no EOF within {HANG:?} after the child exited: another descriptor for the \
                 connection is still open somewhere"
            )),
            AfterResponse::MoreData => Verdict::fail("more bytes after the response, not EOF"),
        })
    },
};

/// Connections for [`NO_LEAK`].
const LEAK_CONNECTIONS: usize = 20;

pub static NO_LEAK: Check = Check {
    id: "no-leak",
    title: "no descriptor is kept per connection",
    expected:
        "after 20 clients, one after another, as many open descriptors as before (ls /proc/PID/fd)",
    run: |subject| {
        Verdict::from_observation(
            observe::descriptor_growth(subject, LEAK_CONNECTIONS),
            |growth| {
                let saw = format!(
                    "{} descriptors before, {} after {} clients",
                    growth.before, growth.after, growth.connections
                );
                if growth.leaked() == 0 {
                    Verdict::pass(saw)
                } else {
                    Verdict::fail(format!("{saw}: {} kept open", growth.leaked()))
                }
            },
        )
    },
};

pub static OPEN_FILE_LIMIT: Check = Check {
    id: "ulimit-n",
    title: "300 clients under `ulimit -n 256`",
    expected: "all 300 clients answered, one after another, and the server still running",
    run: |subject| {
        Verdict::from_observation(observe::under_open_file_limit(subject, 256, 300), |run| {
            if run.answered == run.attempted && run.exit.is_none() {
                Verdict::pass(run.summary())
            } else {
                Verdict::fail(run.summary())
            }
        })
    },
};

pub static SIGCHLD_HANDLER: Check = Check {
    id: "sigchld-handler",
    title: "a SIGCHLD handler is installed",
    expected: "SIGCHLD among the caught signals (SigCgt in /proc/PID/status)",
    run: |subject| {
        Verdict::from_observation(
            observe::sigchld_handling(subject),
            |handling| match handling {
                SigchldHandling::Caught => Verdict::pass("SIGCHLD is caught"),
                SigchldHandling::Default => Verdict::fail(
                    "SIGCHLD has its default disposition: the signal is discarded and nothing in \
                 the server runs when a child exits",
                ),
                SigchldHandling::Ignored => Verdict::fail(
                    "SIGCHLD is set to SIG_IGN: the kernel then discards exited children itself, \
                 which works, but this exercise is about writing the handler",
                ),
            },
        )
    },
};

pub static REAPED: Check = Check {
    id: "reaped",
    title: "a finished child does not stay a zombie",
    expected: "the child that served a request is gone from /proc within 1 s of exiting (reaped by the server)",
    run: |subject| {
        Verdict::from_observation(observe::fate_of_a_child(subject), |run| {
            let after = match run.server_exit {
                Some(exit) => format!("; then the server {}", observe::describe_exit(exit, &run.stderr)),
                None => String::new(),
            };
            match run.fate {
                ChildFate::Reaped { pid } => Verdict::pass(format!("child {pid} exited and was reaped{after}")),
                ChildFate::Zombie { pid } => Verdict::fail(format!(
                    "child {pid} is a zombie (state Z, <defunct> in ps): the server never \
                     called wait() for it{after}"
                )),
                ChildFate::Orphaned { pid } => Verdict::fail(format!(
                    "child {pid} was still a zombie when the server exited{after}"
                )),
                ChildFate::StillRunning { pid } => Verdict::fail(format!(
                    "child {pid} was still running {:?} after its response{after}",
                    observe::WAIT
                )),
                ChildFate::NoChild => Verdict::fail(format!(
                    "no child process appeared to serve the connection within {:?}{after}",
                    HANG * 2
                )),
            }
        })
    },
};

/// Requests for [`SURVIVES_EINTR`].
const SURVIVAL_ROUNDS: usize = 5;

pub static SURVIVES_EINTR: Check = Check {
    id: "survives",
    title: "the server keeps serving while its children exit",
    expected: "5 clients answered one after another, each child exiting while the server waits in \
               accept(), and the server still running",
    run: |subject| {
        Verdict::from_observation(
            observe::serve_while_children_exit(subject, SURVIVAL_ROUNDS),
            |run| {
                let saw = format!("{} of {} clients answered", run.served, run.rounds);
                match run.exit {
                    None if run.served == run.rounds => {
                        Verdict::pass(format!("{saw}; still running"))
                    }
                    None => Verdict::fail(format!(
                        "{saw}; the server is running but stopped answering"
                    )),
                    Some(exit) => Verdict::fail(format!(
                        "{saw}; the server {}",
                        observe::describe_exit(exit, &run.stderr)
                    )),
                }
            },
        )
    },
};

pub static BURSTS: Check = Check {
    id: "bursts",
    title: "bursts of 128 clients leave no zombie",
    expected: "after each of 5 bursts of 128 simultaneous clients, every child reaped (no Z in ps)",
    run: |subject| {
        Verdict::from_observation(observe::zombies_after_bursts(subject, 5, 128), |bursts| {
            if bursts.zombies == 0 {
                Verdict::pass(format!(
                    "{} bursts of {} clients, no zombie left",
                    bursts.sent, bursts.size
                ))
            } else {
                Verdict::fail(format!(
                    "after burst {} of {} clients: {} zombie children left",
                    bursts.sent, bursts.size, bursts.zombies
                ))
            }
        })
    },
};

/// Children that exit while one SIGCHLD is pending, for [`ONE_SIGNAL`].
const ONE_SIGNAL_CHILDREN: usize = 20;

pub static ONE_SIGNAL: Check = Check {
    id: "one-signal",
    title: "one SIGCHLD reaps every child that has exited",
    expected:
        "20 children exit while the server is stopped (SIGSTOP), so their signals merge into \
               one; once it runs again (SIGCONT), every one of them is reaped within 1 s",
    run: |subject| {
        Verdict::from_observation(
            observe::exits_during_one_signal(subject, ONE_SIGNAL_CHILDREN),
            |run| {
                let after = match run.exit {
                    Some(exit) => {
                        format!("; the server {}", observe::describe_exit(exit, &run.stderr))
                    }
                    None => String::new(),
                };
                let saw = format!(
                    "{} children exited during one pending SIGCHLD; {} left as zombies{after}",
                    run.children, run.zombies
                );
                Verdict::when(run.zombies == 0 && run.exit.is_none(), saw)
            },
        )
    },
};

pub static BUSY_CHILD: Check = Check {
    id: "busy-child",
    title: "a child still serving does not stop the server",
    expected: "while one client is connected and silent (its child alive), another client's child \
               exits; a third client is then answered within 2 s",
    run: |subject| {
        Verdict::from_observation(
            observe::next_client_while_a_child_serves(subject),
            |run| match (run.answered_in, run.exit) {
                (_, Some(exit)) => Verdict::fail(format!(
                    "the server {}",
                    observe::describe_exit(exit, &run.stderr)
                )),
                (Some(took), None) => Verdict::pass(format!("answered in {} ms", took.as_millis())),
                (None, None) => Verdict::fail(format!(
                    "no response within {:?}; the server is asleep in `{}` (/proc/PID/wchan){}",
                    HANG * 2,
                    run.wchan,
                    if run.wchan == "do_wait" {
                        ": its SIGCHLD handler waits for a child that is still serving"
                    } else {
                        ""
                    }
                )),
            },
        )
    },
};

pub static ACCEPT_ERROR: Check = Check {
    id: "accept-error",
    title: "any other accept() error stops the server with a clear line",
    expected: "under `ulimit -n 4` accept() fails with EMFILE: the server exits with status 1 and \
               `accept() failed: EMFILE ...` on stderr, within 2 s",
    run: |subject| {
        Verdict::from_observation(
            observe::accept_fails_with_emfile(subject),
            |run| match run.exit {
                Some(lsbaws_harness::Exit::Code(code))
                    if code != 0
                        && run.stderr.contains("accept")
                        && run.stderr.contains("EMFILE") =>
                {
                    Verdict::pass(format!(
                        "under `{}`: exited with status {code}: {}",
                        run.limit,
                        observe::first_error_line(&run.stderr)
                    ))
                }
                Some(exit) => Verdict::fail(format!(
                    "under `{}`: the server {}, without naming accept() and EMFILE",
                    run.limit,
                    observe::describe_exit(exit, &run.stderr)
                )),
                None => Verdict::fail(format!(
                "under `{}`: still running {:?} after accept() failed with EMFILE, having used \
                 {} ms of CPU: the error was swallowed, and the loop retries what cannot succeed",
                run.limit,
                HANG * 2,
                run.cpu.as_millis()
            )),
            },
        )
    },
};

/// Requests for [`CGI_ANSWERS`].
const CGI_ROUNDS: usize = 5;

/// A CGI program of one line, written for the check.
const CGI_PROGRAM: &str = "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nhello from CGI\\n'\n";

pub static CGI_ANSWERS: Check = Check {
    id: "cgi",
    title: "a CGI program run by a child still answers",
    expected: "serving cgi:PROGRAM (a shell script that prints a short page), 5 requests one \
               after another each get 200 and the page",
    run: |subject| {
        Verdict::from_observation(cgi_rounds(subject), |(answered, first_other)| {
            let saw = format!("{answered} of {CGI_ROUNDS} requests answered 200 with the page");
            match first_other {
                None => Verdict::pass(saw),
                Some(other) => Verdict::fail(format!(
                    "{saw}; one got {other:?}: the child that ran the program could not collect \
                     its exit (a SIGCHLD handler inherited from the parent reaps it first, and \
                     the child's own waitpid finds nothing)"
                )),
            }
        })
    },
};

/// Serve [`CGI_PROGRAM`] and ask for it [`CGI_ROUNDS`] times: how many got
/// 200 with the page, and the first status line that was something else.
fn cgi_rounds(subject: &Subject) -> Result<(usize, Option<String>), String> {
    use std::os::unix::fs::PermissionsExt;
    let dir = lsbaws_harness::ScratchDir::new("lab-cgi")
        .map_err(|e| format!("making a scratch folder failed: {e}"))?;
    let program = dir.path().join("page.sh");
    std::fs::write(&program, CGI_PROGRAM)
        .and_then(|()| std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)))
        .map_err(|e| format!("writing {} failed: {e}", program.display()))?;
    let server = subject
        .serving(format!("cgi:{}", program.display()))
        .start()?;
    let mut answered = 0;
    for _ in 0..CGI_ROUNDS {
        let response = lsbaws_harness::client::get(server.addr(), HANG * 4)
            .map_err(|e| format!("GET / of the CGI program: {e}"))?;
        let body = String::from_utf8_lossy(&response.body);
        if response.status_line().contains(" 200 ") && body.contains("hello from CGI") {
            answered += 1;
        } else {
            return Ok((answered, Some(response.status_line().to_string())));
        }
    }
    Ok((answered, None))
}

// ---- predict-then-run questions ------------------------------------------------

pub static FDS_AFTER_TEN: Question = Question {
    key: "fds_after_10",
    ask: "webserver3d starts, then answers 10 clients, one after another. How many descriptors \
          does it hold open then (`ls /proc/PID/fd | wc -l`)?",
    answer: Answer::Number { tolerance: 0 },
    measure: |starter| {
        let growth = observe::descriptor_growth(starter, 10)?;
        Ok(Measured {
            value: growth.after.to_string(),
            story: format!(
                "{} held {} descriptors at start (stdin, stdout, stderr and the listening socket) \
                 and {} after 10 clients",
                starter.name(),
                growth.before,
                growth.after
            ),
        })
    },
};

pub static EOF_AFTER_RESPONSE: Question = Question {
    key: "eof_after_response",
    ask: "A client asks webserver3d for /hello. The child that serves it sends the response, \
          closes its descriptor for the connection and exits. Does the client then see the end \
          of the stream (read returns 0) within a second?",
    answer: Answer::Choice(&["yes", "no"]),
    measure: |starter| {
        let after = observe::after_the_response(starter)?;
        let (value, saw) = match after {
            AfterResponse::Eof => ("yes", "the end of the stream"),
            AfterResponse::Hung => (
                "no",
                "no end of the stream: another descriptor for the connection is still open \
                 somewhere",
            ),
            AfterResponse::MoreData => ("no", "more bytes, not the end of the stream"),
        };
        Ok(Measured {
            value: value.to_string(),
            story: format!(
                "{}: after the response, and once the child that sent it had exited, the client \
                 waited {HANG:?} and saw {saw}",
                starter.name()
            ),
        })
    },
};

/// The clients a run under a limit answered, provided the starter then
/// failed the way the question says (`accept()` with `EMFILE`).
fn answered_until(
    starter: &Subject,
    run: LimitRun,
    call: &str,
    errno: &str,
) -> Result<Measured, String> {
    if !run.failed_with(call, errno) {
        return Err(format!(
            "{} did not fail with {errno}: {}",
            starter.name(),
            run.summary()
        ));
    }
    Ok(Measured {
        value: run.answered.to_string(),
        story: format!("{}: {}", starter.name(), run.summary()),
    })
}

pub static EMFILE_COUNT: Question = Question {
    key: "emfile_clients",
    ask: "Under `ulimit -n 256`, how many clients, one after another, does webserver3d answer \
          before accept() fails with EMFILE?",
    answer: Answer::Number { tolerance: 5 },
    measure: |starter| {
        answered_until(
            starter,
            observe::under_open_file_limit(starter, 256, 300)?,
            "accept()",
            "EMFILE",
        )
    },
};

pub static EAGAIN_COUNT: Question = Question {
    key: "eagain_clients",
    ask: "webserver3c never reaps its children. It runs under a process limit (`ulimit -u`) \
          that leaves room for 400 processes, itself included. How many clients, one after \
          another, does it answer before fork() fails with EAGAIN?",
    answer: Answer::Number { tolerance: 5 },
    measure: |starter| {
        answered_until(
            starter,
            observe::under_process_limit(starter, 400, 600)?,
            "fork()",
            "EAGAIN",
        )
    },
};

pub static REQUESTS_BEFORE_EINTR: Question = Question {
    key: "clients_answered",
    ask: "Clients are sent to webserver3e one after another, each once the previous one's child \
          has exited. How many are answered before the server exits?",
    answer: Answer::Number { tolerance: 0 },
    measure: |starter| {
        let run = observe::serve_while_children_exit(starter, SURVIVAL_ROUNDS)?;
        let ending = match run.exit {
            Some(exit) => format!("then it {}", observe::describe_exit(exit, &run.stderr)),
            None => "and it is still running".to_string(),
        };
        Ok(Measured {
            value: run.served.to_string(),
            story: format!(
                "{} answered {} of {} clients, {ending}",
                starter.name(),
                run.served,
                run.rounds
            ),
        })
    },
};

pub static SECOND_ANSWERED: Question = Question {
    key: "second_answered",
    ask: "A first client connects to webserver2 and sends nothing. While it stays connected, is \
          a second client's request answered within 2 s?",
    answer: Answer::Choice(&["yes", "no"]),
    measure: |starter| {
        let seen = observe::second_client_while_first_is_silent(starter)?;
        Ok(Measured {
            value: if seen.answered_in.is_some() {
                "yes"
            } else {
                "no"
            }
            .to_string(),
            story: match seen.answered_in {
                Some(took) => format!(
                    "{}: the second client was answered in {} ms",
                    starter.name(),
                    took.as_millis()
                ),
                None => format!(
                    "{}: no response to the second client within {:?}, while the first said \
                     nothing",
                    starter.name(),
                    HANG * 2
                ),
            },
        })
    },
};

pub static ZOMBIES_AFTER_BURSTS: Question = Question {
    key: "zombies_left",
    ask: "Bursts of 128 clients connect to webserver3f at once (up to five bursts), and every \
          client is answered. Once all the children have exited, does any remain a zombie?",
    answer: Answer::Choice(&["yes", "no"]),
    measure: |starter| {
        let bursts = observe::zombies_after_bursts(starter, 5, 128)?;
        Ok(Measured {
            value: if bursts.zombies > 0 { "yes" } else { "no" }.to_string(),
            story: format!(
                "{}: after burst {} of {} clients, {} zombie children",
                starter.name(),
                bursts.sent,
                bursts.size,
                bursts.zombies
            ),
        })
    },
};
