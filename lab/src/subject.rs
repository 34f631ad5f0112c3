//! The binary a check runs: a student's copy, a starter or a reference.

use lsbaws_harness::{bin_path, Launch, Server};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Flags a server may have that make a check quick, with the value checks
/// use. Some steps make their children sleep so that a student can watch
/// them in `ps` (webserver3b and 3c: 60 s, 3e: 3 s); checks shorten that to
/// half a second. That still leaves the parent time to be back, blocked in
/// `accept(2)`, when the child exits, which 3e's EINTR needs, even on a
/// loaded machine.
pub const QUICK_FLAGS: &[(&str, &str)] = &[("--sleep", "0.5")];

/// The gateway servers (webserver2, 3h) take the application to serve as
/// an argument (`<APP>` in their usage line); checks serve `hello`.
const DEFAULT_APP: &str = "hello";

/// A server binary to check, and the flags it will be started with.
#[derive(Debug, Clone)]
pub struct Subject {
    path: PathBuf,
    flags: Vec<OsString>,
    /// The application it serves, for a gateway server.
    app: Option<OsString>,
    /// What its `--help` says: which flags it has.
    help: String,
}

impl Subject {
    /// The binary at `path`. Its `--help` is read once to learn which of
    /// [`QUICK_FLAGS`] it takes; it is always started with `--quiet`.
    pub fn at(path: impl Into<PathBuf>) -> Subject {
        let path = path.into();
        let help = help_text(&path);
        let mut flags = vec![OsString::from("--quiet")];
        for (flag, value) in QUICK_FLAGS {
            if help.contains(flag) {
                flags.push(flag.into());
                flags.push(value.into());
            }
        }
        let app = help.contains("<APP>").then(|| OsString::from(DEFAULT_APP));
        Subject {
            path,
            flags,
            app,
            help,
        }
    }

    /// The same gateway server serving another application (`cgi:PATH`).
    pub fn serving(&self, app: impl Into<OsString>) -> Subject {
        Subject {
            app: Some(app.into()),
            ..self.clone()
        }
    }

    /// The same server started with more flags (`webserver1 --no-blank-line`,
    /// a broken step of a binary that breaks on request).
    pub fn with_flags(&self, flags: &[&str]) -> Subject {
        let mut more = self.clone();
        more.flags.extend(flags.iter().map(OsString::from));
        more
    }

    /// One of this package's binaries (`webserver3d`), built by cargo.
    pub fn bin(name: &str) -> Subject {
        Subject::at(bin_path(name))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The binary's file name, for messages.
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.path.display().to_string())
    }

    /// The flags it is started with (`--quiet`, and `--sleep 0.5` if it
    /// has that flag), and the application it serves, if it takes one.
    pub fn flags(&self) -> Vec<OsString> {
        self.flags.iter().chain(&self.app).cloned().collect()
    }

    /// The command line as a student would type it (the harness adds
    /// `--port 0`).
    pub fn command_line(&self) -> String {
        let mut line = self.name();
        for flag in self.flags() {
            line.push(' ');
            line.push_str(&flag.to_string_lossy());
        }
        line
    }

    /// How to start it; add limits or flags before `.start()`.
    pub fn launch(&self) -> Launch {
        Launch::path(&self.path).args(self.flags())
    }

    /// Start it and wait for its banner.
    pub fn start(&self) -> Result<Server, String> {
        self.launch().start()
    }

    /// How to start it with some of a lesson's flags (`--idle-timeout 1`):
    /// each one its `--help` lists, and none of the others, so that a
    /// starter that has not the flag yet runs as it is and shows its bug.
    pub fn launch_with(&self, lesson_flags: &[(&str, &str)]) -> Launch {
        let mut launch = self.launch();
        for (flag, value) in lesson_flags {
            if self.has_flag(flag) {
                launch = launch.args([*flag, *value]);
            }
        }
        launch
    }

    /// Does its `--help` list `flag` (`--threads`)?
    pub fn has_flag(&self, flag: &str) -> bool {
        self.help
            .split(|c: char| !(c.is_alphanumeric() || c == '-'))
            .any(|word| word == flag)
    }
}

/// What `path --help` prints, or nothing if it cannot run.
fn help_text(path: &Path) -> String {
    Command::new(path)
        .arg("--help")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default()
}
