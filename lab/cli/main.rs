//! # lab — the course exercises, checked without a teacher
//!
//! **What it is.** Each step of the book that is a lesson is also an
//! exercise (`lessons/<step>/`): you start from the previous step's server,
//! which really shows the failure, and make the fix yourself. `lab` gives
//! you a working copy, builds it, and checks it the way the project's own
//! tests check the real servers: with real connections, and by looking at
//! the process itself through `/proc` (its descriptors, its zombie
//! children, the signals it catches).
//!
//! ```text
//! cargo lab list            the exercises, and how far you are with each
//! cargo lab start 3c        your copy of the starter, in lessons/work/3c/
//! cargo lab check 3c        build your copy, run the checks and your predictions
//! cargo lab hint 3c         the next hint (they go from a nudge to the answer)
//! cargo lab diff 3c         your code against the reference (--starter: what you changed)
//! cargo lab show 3c         the exercise text
//! cargo lab report          every started exercise checked again (--json, --junit)
//! ```
//!
//! **中文.** `show` and `hint` print the Chinese texts (`README.zh-CN.md`,
//! `hints.zh-CN.md`, the ones the Chinese edition of the book shows) when
//! `LANG` starts with `zh`, or with `--lang zh-CN`; `--lang en` for English.
//!
//! **Where your work goes.** `lessons/work/` (or `--work-dir`, or the
//! `LAB_WORK_DIR` variable). The repository's git ignores it, and `lab` never
//! overwrites a copy without asking: `start` on an existing copy asks, or
//! with `--force` moves it aside.
//!
//! **What counts.** `lab` keeps an append-only log of what you did
//! (`lessons/work/.lab/log`): each check of your copy with its code's hash
//! and results, each hint read, each prediction's first answer. `lab list`
//! reads your progress from it; an exercise is done when a check of your
//! own copy passes with every prediction made.
//!
//! **Exit status.** 0 when the command did its job (for `check`: every
//! check passes and every prediction is made), 1 when a check fails, a
//! copy does not compile or a file cannot be written, 2 for bad arguments
//! (an unknown step lists the steps).

mod build;
mod checking;
mod diff;
mod hints;
mod progress;
mod report;
mod workspace;

use clap::{Parser, Subcommand};
use lsbaws::report::die_msg;
use lsbaws_lab::exercise::{find, steps, Exercise, EXERCISES};
use lsbaws_lab::language::{self, Lang};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use workspace::Workspace;

/// The course exercises: start one, check your fix, get hints.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Folder for your working copies (default: lessons/work in the
    /// repository; the LAB_WORK_DIR variable sets it too).
    #[arg(long, global = true, value_name = "DIR")]
    work_dir: Option<PathBuf>,

    /// The language of `show` and `hint`: en or zh-CN (简体中文). Default:
    /// Chinese when LANG (or LC_ALL, LC_MESSAGES) starts with zh.
    #[arg(long, global = true, value_name = "LANG", value_parser = Lang::parse)]
    lang: Option<Lang>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the exercises and how far you are with each.
    List,
    /// Make your working copy of STEP's starter server.
    Start {
        #[arg(value_parser = exercise)]
        step: &'static Exercise,
        /// Start over without asking: your current copy is moved aside
        /// (to STEP.old-N), not deleted.
        #[arg(long)]
        force: bool,
    },
    /// Build your copy of STEP and run its checks and your predictions
    /// (STEP may be left out inside a copy's folder).
    Check {
        #[arg(value_parser = exercise)]
        step: Option<&'static Exercise>,
        /// Debugging aid: check this server binary instead of your copy (the
        /// reference target/debug/webserver3c, say, to see what passing
        /// looks like). Such a run is not recorded and does not count.
        #[arg(long, value_name = "PATH")]
        binary: Option<PathBuf>,
    },
    /// Show STEP's next hint; each is more direct than the last.
    Hint {
        #[arg(value_parser = exercise)]
        step: &'static Exercise,
        /// Show the hints read so far again, without reading another.
        #[arg(long)]
        again: bool,
    },
    /// Show how your copy of STEP differs from the reference.
    Diff {
        #[arg(value_parser = exercise)]
        step: &'static Exercise,
        /// Compare the starter with your copy instead: what you changed.
        #[arg(long)]
        starter: bool,
        /// Include comments and the book's ANCHOR markers (left out by
        /// default: they differ between any two steps, and the lesson is in
        /// the code).
        #[arg(long)]
        all: bool,
    },
    /// For instructors and graders: check every started exercise again and
    /// report, with what the log says of hints, predictions and attempts.
    Report {
        /// JSON, for tooling (`lab/classroom/merge-reports` makes a class's
        /// reports one CSV).
        #[arg(long, conflicts_with = "junit")]
        json: bool,
        /// JUnit XML, for CI systems that show test results.
        #[arg(long)]
        junit: bool,
    },
    /// Print STEP's exercise text (lessons/STEP/README.md, or
    /// README.zh-CN.md in Chinese).
    Show {
        #[arg(value_parser = exercise)]
        step: &'static Exercise,
    },
}

/// Parse STEP; an unknown one is a usage error that lists the steps.
fn exercise(step: &str) -> Result<&'static Exercise, String> {
    find(step).ok_or_else(|| {
        format!(
            "no exercise {step:?} — the steps are: {} (`cargo lab list` describes them)",
            steps()
        )
    })
}

fn main() {
    // `cargo lab diff 3c | head`: when the reader goes away, end quietly as
    // other command-line tools do, rather than panic on EPIPE.
    // SAFETY: signal(2) only changes this process's disposition of SIGPIPE,
    // before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let args = Args::parse();
    let work_dir = args
        .work_dir
        .or_else(|| std::env::var_os("LAB_WORK_DIR").map(PathBuf::from));
    let workspace = Workspace::new(work_dir);
    let lang = args.lang.unwrap_or_else(Lang::from_env);
    let status = match args.command {
        Command::List => list(&workspace),
        Command::Start { step, force } => start(&workspace, step, force),
        Command::Check { step, binary } => {
            let here = std::env::current_dir().unwrap_or_default();
            match step.or_else(|| workspace.exercise_at(&here)) {
                Some(step) => checking::check(&workspace, step, binary),
                None => {
                    eprintln!(
                        "lab: which exercise? `cargo lab check STEP` (the steps are: {}), or run \
                         it inside a copy's folder ({}/STEP)",
                        steps(),
                        workspace.show(workspace.work())
                    );
                    2
                }
            }
        }
        Command::Hint { step, again } => hints::next(&workspace, step, again, lang),
        Command::Diff { step, starter, all } => diff::show(&workspace, step, starter, all),
        Command::Report { json, junit } => report::report(&workspace, json, junit),
        Command::Show { step } => {
            print!("{}", language::readme(step, lang));
            0
        }
    };
    std::process::exit(status);
}

/// `lab list`: every exercise, its starter and reference, and its status.
fn list(workspace: &Workspace) -> i32 {
    println!(
        "Exercises (`cargo lab start STEP` to begin one; your copies: {}):",
        workspace.show(workspace.work())
    );
    let rows: Vec<[String; 4]> = EXERCISES
        .iter()
        .map(|e| {
            let from_to = format!("{} -> {}", e.starter_name(), e.reference_bin);
            [
                e.step.to_string(),
                e.title.to_string(),
                from_to,
                progress::status(workspace, e),
            ]
        })
        .collect();
    let width = |column: usize| {
        rows.iter()
            .map(|row| row[column].chars().count())
            .max()
            .unwrap_or(0)
            + 2
    };
    let (w0, w1, w2) = (width(0), width(1), width(2));
    for [step, title, from_to, status] in &rows {
        println!("  {step:<w0$}{title:<w1$}{from_to:<w2$}{status}");
    }
    0
}

/// `lab start STEP`: copy the starter into a package of its own.
fn start(workspace: &Workspace, exercise: &Exercise, force: bool) -> i32 {
    let step = exercise.step;
    let copy = workspace.copy_dir(exercise);
    if copy.exists() {
        if !force && !confirm_start_over(workspace, exercise) {
            eprintln!(
                "lab: {} already holds your work on {step}; nothing was changed. To start over, \
                 run `cargo lab start {step} --force`: your copy is moved aside, not deleted.",
                workspace.show(&copy)
            );
            return 1;
        }
        let aside = workspace.move_aside(exercise).unwrap_or_else(|e| {
            die_msg(format!(
                "moving {} aside failed: {e}",
                workspace.show(&copy)
            ))
        });
        println!("Moved your previous copy to {}", workspace.show(&aside));
    }
    if let Err(e) = workspace
        .create(exercise)
        .and_then(|()| progress::record(workspace, exercise, progress::Event::Start))
    {
        die_msg(format!(
            "creating {} failed: {e} — check that the folder is writable",
            workspace.show(&copy)
        ));
    }
    let show = |path: PathBuf| workspace.show(&path);
    let what = match exercise.starter_bin {
        Some(bin) => format!(
            "your copy of {bin}, to make into {}",
            exercise.reference_bin
        ),
        None => format!(
            "{} with the starter's {}, to fix",
            exercise.reference_bin,
            exercise.edited().to
        ),
    };
    println!(
        "Created {}: {what}.\n\n  \
         read the task:  lessons/{step}/README.md  (or `cargo lab show {step}`)\n  \
         predict first:  {}\n  \
         edit:           {}\n  \
         see the bug:    {}\n  \
         run yours:      cd {} && cargo run -- {}\n  \
         check it:       cargo lab check {step}\n  \
         stuck?          cargo lab hint {step}",
        show(copy.clone()),
        show(workspace.answers(exercise)),
        show(workspace.source(exercise)),
        see_the_bug(exercise),
        show(copy),
        exercise.run_args,
    );
    0
}

/// How to run the untouched starter and watch it fail.
fn see_the_bug(exercise: &Exercise) -> String {
    match exercise.starter_bin {
        Some(bin) => format!("cargo run --bin {bin}   (the untouched starter)"),
        None => format!("lessons/{}/README.md, \"Before\"", exercise.step),
    }
}

/// Ask on a terminal whether to start over; never without one.
fn confirm_start_over(workspace: &Workspace, exercise: &Exercise) -> bool {
    if !std::io::stdin().is_terminal() {
        return false;
    }
    print!(
        "{} already holds your work on {}. Start over (your copy is moved aside, not deleted)? [y/N] ",
        workspace.show(&workspace.copy_dir(exercise)),
        exercise.step
    );
    let _ = std::io::stdout().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().read_line(&mut answer);
    matches!(answer.trim(), "y" | "Y" | "yes" | "Yes")
}
