//! Building with cargo: the student's copy (its binary into the target
//! folder of the work directory, never into the repository's; the
//! dependencies shared with the repository's build), and a starter from
//! the repository (for the predict-then-run experiments).

use crate::workspace::{lab_target_dir, repo, write_starter, Workspace};
use lsbaws_lab::exercise::Exercise;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The cargo that runs us (`cargo lab` sets CARGO), or the one on PATH.
fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Why a build produced no binary.
pub enum BuildError {
    /// The compiler refused the code; its errors are already on stderr.
    DoesNotCompile,
    /// cargo itself could not run.
    Cargo(String),
}

/// `cargo build` the student's copy. Cargo's output (progress, warnings,
/// the compiler's errors) goes straight to our stderr, as the student would
/// see it from `cargo build`.
pub fn build_copy(workspace: &Workspace, exercise: &Exercise) -> Result<PathBuf, BuildError> {
    build(&workspace.manifest(exercise), workspace)?;
    let binary = workspace.binary(exercise);
    if binary.exists() {
        Ok(binary)
    } else {
        Err(BuildError::Cargo(format!(
            "cargo succeeded but built no {}",
            binary.display()
        )))
    }
}

/// `cargo build` one copy, into the work folder's target folder.
fn build(manifest: &Path, workspace: &Workspace) -> Result<(), BuildError> {
    let status = cargo()
        .arg("build")
        .arg("--manifest-path")
        .arg(manifest)
        // The binaries go to our own folder: a CARGO_TARGET_DIR shared
        // with the repository would let the copy's webserver3c overwrite
        // the repository's. The intermediate files (every dependency,
        // compiled once) go to the repository's build folder, shared with
        // `cargo build` there: cargo's build-dir, whose artifacts are named
        // by a hash of the package, so the two webserver3c never meet.
        // (A cargo older than 1.91 ignores it and compiles the
        // dependencies again.)
        .env("CARGO_TARGET_DIR", workspace.target())
        .env("CARGO_BUILD_BUILD_DIR", lab_target_dir())
        .stdin(Stdio::null())
        .status()
        .map_err(|e| BuildError::Cargo(format!("running cargo failed: {e} — is cargo on PATH?")))?;
    if status.success() {
        Ok(())
    } else {
        Err(BuildError::DoesNotCompile)
    }
}

/// The starter, built: `cargo build --bin STARTER` in the repository when
/// it is one of its binaries (the path read from cargo's JSON messages, so
/// that any target folder or profile works), or else an untouched copy
/// built beside the student's.
pub fn build_starter(workspace: &Workspace, exercise: &Exercise) -> Result<PathBuf, String> {
    let Some(bin) = exercise.starter_bin else {
        let manifest = write_starter(workspace, exercise).map_err(|e| {
            format!(
                "writing the untouched starter in {} failed: {e}",
                workspace.show(workspace.work())
            )
        })?;
        eprintln!("Building an untouched copy of the starter ...");
        return match build(&manifest, workspace) {
            Ok(()) => Ok(workspace
                .target()
                .join("debug")
                .join(format!("starter-{}", exercise.step))),
            Err(BuildError::DoesNotCompile) => {
                Err("the untouched starter does not compile (errors above)".to_string())
            }
            Err(BuildError::Cargo(why)) => Err(why),
        };
    };
    eprintln!("Building the starter, {bin} ...");
    let output = cargo()
        .args([
            "build",
            "--message-format=json-render-diagnostics",
            "--bin",
            bin,
            "--manifest-path",
        ])
        .arg(repo().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(lab_target_dir())
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("running cargo failed: {e} — is cargo on PATH?"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo build --bin {bin}` failed (its errors are above)"
        ));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| line.contains("\"reason\":\"compiler-artifact\""))
        .find_map(executable)
        .filter(|path| path.file_name().is_some_and(|name| name == bin))
        .ok_or_else(|| format!("`cargo build --bin {bin}` reported no executable"))
}

/// The `"executable":"..."` of a cargo JSON message (paths here have no
/// characters JSON escapes other than backslash and quote).
fn executable(message: &str) -> Option<PathBuf> {
    let start = message.find("\"executable\":\"")? + "\"executable\":\"".len();
    let mut path = String::new();
    let mut chars = message[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(PathBuf::from(path)),
            '\\' => path.push(chars.next()?),
            c => path.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_executable_of_a_cargo_message() {
        let message = r#"{"reason":"compiler-artifact","executable":"/r/target/debug/webserver3d","fresh":true}"#;
        assert_eq!(
            executable(message),
            Some(PathBuf::from("/r/target/debug/webserver3d"))
        );
        assert_eq!(executable(r#"{"executable":null}"#), None);
        assert_eq!(
            executable(r#"{"executable":"/a \"b\""}"#),
            Some(PathBuf::from("/a \"b\""))
        );
    }
}
