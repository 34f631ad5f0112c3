//! Where a student's working copies live, and what `lab` remembers about
//! them (hints seen, the last check's result).
//!
//! ```text
//! lessons/work/                 (--work-dir; ignored by the repository's git)
//!   .cargo/config.toml          `cargo run` in a copy shares the build; `cargo lab` works there
//!   .lab/log                    what you did: an append-only log (see progress.rs)
//!   target/                     the copies' binaries (their dependencies build in
//!                               the repository's target/, cargo's build-dir)
//!   3c/Cargo.toml               a package of its own that depends on lsbaws
//!   3c/Cargo.lock               the repository's, so the same crate versions
//!   3c/src/main.rs              the starter, to edit
//!   3c/answers.txt              the predictions
//! ```

use lsbaws_lab::exercise::Exercise;
use lsbaws_lab::question::answers_template;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The repository this `lab` was built from.
pub fn repo() -> PathBuf {
    // This crate is lab/ in the repository.
    let lab = Path::new(env!("CARGO_MANIFEST_DIR"));
    lab.parent().unwrap_or(lab).to_path_buf()
}

/// The target folder this `lab` was built in (`target/` of the
/// repository, usually): starters are built there too, never in the work
/// folder's, where a starter `webserver3c` would overwrite a student's.
pub fn lab_target_dir() -> PathBuf {
    let bin_dir = lsbaws_harness::bin_dir(); // target/debug
    bin_dir.parent().map(PathBuf::from).unwrap_or(bin_dir)
}

pub struct Workspace {
    work: PathBuf,
    target: PathBuf,
}

impl Workspace {
    /// `work_dir`, or lessons/work in the repository. The build folder is
    /// `target/` inside it unless LAB_TARGET_DIR says otherwise (tests
    /// share one across runs).
    pub fn new(work_dir: Option<PathBuf>) -> Workspace {
        let work = work_dir.unwrap_or_else(|| repo().join("lessons").join("work"));
        let work = std::path::absolute(&work).unwrap_or(work);
        let target = std::env::var_os("LAB_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| work.join("target"));
        let target = std::path::absolute(&target).unwrap_or(target);
        Workspace { work, target }
    }

    pub fn work(&self) -> &Path {
        &self.work
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    pub fn copy_dir(&self, exercise: &Exercise) -> PathBuf {
        self.work.join(exercise.step)
    }

    pub fn manifest(&self, exercise: &Exercise) -> PathBuf {
        self.copy_dir(exercise).join("Cargo.toml")
    }

    /// The file the student edits.
    pub fn source(&self, exercise: &Exercise) -> PathBuf {
        self.copy_dir(exercise).join(exercise.edited().to)
    }

    pub fn answers(&self, exercise: &Exercise) -> PathBuf {
        self.copy_dir(exercise).join("answers.txt")
    }

    /// The student's binary, once built.
    pub fn binary(&self, exercise: &Exercise) -> PathBuf {
        self.target.join("debug").join(exercise.binary)
    }

    /// A path as the student should type it: relative to the current
    /// folder when inside it.
    pub fn show(&self, path: &Path) -> String {
        let here = std::env::current_dir().unwrap_or_default();
        match path.strip_prefix(&here) {
            Ok(relative) if !relative.as_os_str().is_empty() => relative.display().to_string(),
            _ => path.display().to_string(),
        }
    }

    /// Write the copy: a package depending on lsbaws, the starter as
    /// src/main.rs, the repository's Cargo.lock, and the answers file.
    pub fn create(&self, exercise: &Exercise) -> io::Result<()> {
        let copy = self.copy_dir(exercise);
        let package = Package {
            name: format!("lab-{}", exercise.step),
            bin: exercise.binary.to_string(),
        };
        write_package(&copy, exercise, &package)?;
        fs::write(
            self.answers(exercise),
            answers_template(exercise.step, exercise.questions),
        )?;
        // `cargo run` inside a copy builds as `lab check` does.
        fs::create_dir_all(self.work.join(".cargo"))?;
        fs::write(
            self.work.join(".cargo").join("config.toml"),
            format!(
                "# Written by `cargo lab start`: every working copy puts its binary in one\n\
                 # folder, and shares the repository's build folder (build-dir), so that\n\
                 # the dependencies compile once; and `cargo lab` works from inside a copy\n\
                 # too (the nearest Cargo.toml there is the copy's, which has no `lab`).\n\
                 [build]\ntarget-dir = {:?}\nbuild-dir = {:?}\n\n\
                 [alias]\nlab = \"run --manifest-path {} --target-dir {} --bin lab --\"\n",
                self.target.display().to_string(),
                lab_target_dir().display().to_string(),
                repo().join("Cargo.toml").display(),
                lab_target_dir().display(),
            ),
        )?;
        Ok(())
    }

    /// Rename the copy to `STEP.old-N` (the first N free) and return it.
    pub fn move_aside(&self, exercise: &Exercise) -> io::Result<PathBuf> {
        let aside = (1..)
            .map(|n| self.work.join(format!("{}.old-{n}", exercise.step)))
            .find(|path| !path.exists())
            .expect("some N is free");
        fs::rename(self.copy_dir(exercise), &aside)?;
        Ok(aside)
    }

    /// The append-only log of what the student did (see `progress`).
    pub fn log(&self) -> PathBuf {
        self.work.join(".lab").join("log")
    }

    /// The exercise whose copy holds `dir` (the current folder, say), if
    /// any: `lab check` run inside `lessons/work/3f/src` checks 3f.
    pub fn exercise_at(&self, dir: &Path) -> Option<&'static Exercise> {
        let dir = std::path::absolute(dir).ok()?;
        let inside = dir.strip_prefix(&self.work).ok()?;
        let first = inside.components().next()?;
        let name = first.as_os_str().to_str()?;
        lsbaws_lab::EXERCISES.iter().find(|e| e.step == name)
    }
}

/// The untouched copy of a starter that is not a binary of this package
/// (written afresh each time, in `.lab/starters/STEP`), and its manifest.
/// Its binary is `starter-STEP`, so it never overwrites the student's.
pub fn write_starter(workspace: &Workspace, exercise: &Exercise) -> io::Result<PathBuf> {
    let dir = workspace
        .work
        .join(".lab")
        .join("starters")
        .join(exercise.step);
    let package = Package {
        name: format!("lab-{}-starter", exercise.step),
        bin: format!("starter-{}", exercise.step),
    };
    write_package(&dir, exercise, &package)?;
    Ok(dir.join("Cargo.toml"))
}

/// A copy's package name and binary name.
struct Package {
    name: String,
    bin: String,
}

/// The copy's files as the exercise lists them, its manifest, and the
/// repository's Cargo.lock (so it builds with the same crate versions).
fn write_package(dir: &Path, exercise: &Exercise, package: &Package) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join("Cargo.toml"), manifest(exercise, package)?)?;
    fs::copy(repo().join("Cargo.lock"), dir.join("Cargo.lock"))?;
    for file in exercise.files {
        let path = dir.join(file.to);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(path, file.contents())?;
    }
    Ok(())
}

/// The copy's Cargo.toml: the servers' library (lsbaws, in src/) by path,
/// and the dependencies the course's binaries have (the starter uses nix,
/// clap, libc directly), at the workspace's versions, so that the copy
/// compiles exactly as `bins/` does.
fn manifest(exercise: &Exercise, package: &Package) -> io::Result<String> {
    let ours = fs::read_to_string(repo().join("Cargo.toml"))?;
    Ok(format!(
        "# Your working copy for exercise {step} ({title}), made by `cargo lab start {step}`.\n\
         # Edit src/main.rs; `cargo lab check {step}` builds and checks it.\n\
         [package]\n\
         name = \"{package}\"\n\
         version = \"0.1.0\"\n\
         edition = \"2021\"\n\
         publish = false\n\n\
         # A workspace of its own: not part of the lsbaws package around it.\n\
         [workspace]\n\n\
         [[bin]]\n\
         name = \"{bin}\"\n\
         path = \"src/main.rs\"\n\n\
         [dependencies]\n\
         lsbaws = {{ path = {library:?} }}\n\
         {deps}",
        step = exercise.step,
        title = exercise.title,
        package = package.name,
        bin = package.bin,
        library = repo().join("src").display().to_string(),
        deps = dependencies_section(&ours),
    ))
}

/// The body of the course's `[dependencies]` table with every
/// `NAME.workspace = true` spelled out from `[workspace.dependencies]`, and
/// without lsbaws itself (the copy names it by path). Dev-dependencies are
/// left out.
fn dependencies_section(manifest: &str) -> String {
    let mut workspace = Vec::new();
    let mut plain = Vec::new();
    let mut table = "";
    for line in manifest.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            table = trimmed;
            continue;
        }
        match table {
            "[workspace.dependencies]" => workspace.push(line),
            "[dependencies]" => plain.push(line),
            _ => {}
        }
    }
    let mut out = String::new();
    for line in plain {
        let line = match line.split_once(".workspace = true") {
            Some((name, _)) => {
                let name = name.trim();
                let prefix = format!("{name} =");
                match workspace
                    .iter()
                    .find(|l| l.trim_start().starts_with(&prefix))
                {
                    Some(spelled) => spelled,
                    None => line,
                }
            }
            None => line,
        };
        if !line.trim_start().starts_with("lsbaws ") {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_dependencies_table_is_copied_with_workspace_versions() {
        let manifest = "[workspace.dependencies]\nlsbaws = { path = \"src\" }\nnix = { version = \"1\", features = [\"dir\"] }\n\n\
                        [package]\nname = \"x\"\n\n[dependencies]\nlsbaws.workspace = true\n# why\nnix.workspace = true\nmay = \"0.3\"\n\n\
                        [dev-dependencies]\nassert_cmd = \"2\"\n";
        assert_eq!(
            dependencies_section(manifest),
            "# why\nnix = { version = \"1\", features = [\"dir\"] }\nmay = \"0.3\"\n\n"
        );
    }
}
