//! The file server's exercises: confine every name to the library root,
//! and make uploads atomic. Experiments, checks and predict-then-run
//! questions, driven with the project's own FTP client
//! ([`lsbaws::ftp::client`]) against a server started on a fresh library.

use super::check::{Check, Verdict};
use super::question::{Answer, Measured, Question};
use super::subject::Subject;
use lsbaws::ftp::client::{reset_on_close, Client, Error};
use lsbaws_harness::{names_in, pattern, ScratchDir, Server};
use std::io::Write;
use std::net::Shutdown;
use std::path::PathBuf;
use std::time::Duration;

/// Upper bound for anything that should happen "at once".
pub const WAIT: Duration = Duration::from_secs(20);

/// What the file outside the library holds.
pub const SECRET: &[u8] = b"the secret outside the library\n";

/// A server on a library of its own:
///
/// ```text
/// scratch/outside/secret.txt         what must never be reached
/// scratch/library/hello.txt          "hello"
/// scratch/library/sub/inner/         directories
/// scratch/library/deep           ->  sub/inner                 (stays inside)
/// scratch/library/inner-link     ->  hello.txt            (stays inside)
/// scratch/library/relative-link  ->  ../outside/secret.txt
/// scratch/library/absolute-link  ->  /.../outside/secret.txt
/// scratch/library/door           ->  ../outside
/// ```
pub struct Library {
    pub server: Server,
    scratch: ScratchDir,
}

impl Library {
    pub fn start(subject: &Subject, label: &str) -> Result<Library, String> {
        let scratch = ScratchDir::new(label)
            .map_err(|e| format!("creating a scratch directory failed: {e}"))?;
        let library = scratch.path().join("library");
        let outside = scratch.path().join("outside");
        let plant = || -> std::io::Result<()> {
            std::fs::create_dir_all(library.join("sub").join("inner"))?;
            std::os::unix::fs::symlink("sub/inner", library.join("deep"))?;
            std::fs::create_dir_all(&outside)?;
            std::fs::write(outside.join("secret.txt"), SECRET)?;
            std::fs::write(library.join("hello.txt"), "hello")?;
            std::os::unix::fs::symlink("hello.txt", library.join("inner-link"))?;
            std::os::unix::fs::symlink("../outside/secret.txt", library.join("relative-link"))?;
            std::os::unix::fs::symlink(outside.join("secret.txt"), library.join("absolute-link"))?;
            std::os::unix::fs::symlink("../outside", library.join("door"))
        };
        plant().map_err(|e| format!("setting up the library failed: {e}"))?;
        let server = subject.launch().arg("--root").arg(&library).start()?;
        Ok(Library { server, scratch })
    }

    pub fn dir(&self) -> PathBuf {
        self.scratch.path().join("library")
    }

    /// A logged-in client.
    pub fn client(&self) -> Result<Client, String> {
        let mut client = Client::connect(self.server.addr(), WAIT)
            .map_err(|e| format!("connecting failed: {e}"))?;
        client
            .login("anonymous", "lab@example.com")
            .map_err(|e| format!("logging in failed: {e}"))?;
        Ok(client)
    }

    /// Every file named `name` outside the library (in the scratch folder
    /// or in `outside/`).
    fn escaped_files(&self, name: &str) -> Vec<PathBuf> {
        [
            self.scratch.path().join(name),
            self.scratch.path().join("outside").join(name),
        ]
        .into_iter()
        .filter(|path| path.exists())
        .collect()
    }

    /// `ls -A` of the library.
    pub fn names(&self) -> Vec<String> {
        names_in(&self.dir())
    }

    /// What the server wrote to stderr, if it panicked.
    fn panic_note(&self) -> String {
        let stderr = self.server.stderr();
        if stderr.contains("panicked") {
            format!(
                "; the server panicked: {}",
                super::observe::first_error_line(&stderr)
            )
        } else {
            String::new()
        }
    }
}

/// A failed FTP exchange in words (the server's reply, or the I/O error).
fn describe(error: &Error) -> String {
    match error {
        Error::Reply(reply) => format!("refused: {reply}"),
        Error::Io(err) => format!("connection failed: {err}"),
    }
}

// ---- confinement ---------------------------------------------------------------

/// One attempt to reach outside the library, and what came of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub command: String,
    /// The secret was sent, or a file was written outside the library.
    pub escaped: bool,
    pub outcome: String,
}

/// `RETR` each of `reads` (names that lead to the secret) and `STOR` a
/// small file as each of `writes` (names that lead outside), on one session.
pub fn escape_attempts(
    subject: &Subject,
    reads: &[&str],
    writes: &[&str],
) -> Result<Vec<Attempt>, String> {
    let library = Library::start(subject, "lab-ftp-escape")?;
    let mut client = library.client()?;
    let mut attempts = Vec::new();
    for name in reads {
        let mut got = Vec::new();
        let (escaped, outcome) = match client.retrieve(name, &mut got) {
            Ok(_) if got == SECRET => (true, "sent the secret".to_string()),
            Ok(bytes) => (false, format!("sent {bytes} other bytes")),
            Err(e @ Error::Reply(_)) => (false, describe(&e)),
            Err(e) => {
                return Err(format!(
                    "RETR {name}: {}{}",
                    describe(&e),
                    library.panic_note()
                ))
            }
        };
        attempts.push(Attempt {
            command: format!("RETR {name}"),
            escaped,
            outcome,
        });
    }
    for name in writes {
        let stored = client.store(name, &mut &b"written from outside\n"[..]);
        let file_name = name.rsplit('/').next().unwrap_or(name);
        let outside = library.escaped_files(file_name);
        let outcome = match (&stored, outside.first()) {
            (_, Some(path)) => format!("wrote {}", path.display()),
            (Ok(_), None) => "stored, inside the library".to_string(),
            (Err(e @ Error::Reply(_)), None) => describe(e),
            (Err(e), None) => {
                return Err(format!(
                    "STOR {name}: {}{}",
                    describe(e),
                    library.panic_note()
                ))
            }
        };
        attempts.push(Attempt {
            command: format!("STOR {name}"),
            escaped: !outside.is_empty(),
            outcome,
        });
    }
    Ok(attempts)
}

/// `CWD ..` at the library root, then `PWD`: where the client ends up
/// (`/`, `/..`), or `refused: ...`.
pub fn cwd_up_from_root(subject: &Subject) -> Result<String, String> {
    let library = Library::start(subject, "lab-ftp-cwd")?;
    let mut client = library.client()?;
    match client.cwd("..") {
        Ok(_) => client.pwd().map_err(|e| format!("PWD: {}", describe(&e))),
        Err(e @ Error::Reply(_)) => Ok(describe(&e)),
        Err(e) => Err(format!("CWD ..: {}{}", describe(&e), library.panic_note())),
    }
}

/// Ordinary use of the library: files, a link and `..` that stay inside,
/// an upload. Returns what did not work (nothing, when all is well).
pub fn inside_the_library(subject: &Subject) -> Result<Vec<String>, String> {
    let library = Library::start(subject, "lab-ftp-inside")?;
    let mut client = library.client()?;
    let mut problems = Vec::new();
    let mut expect_hello = |client: &mut Client, name: &str| {
        let mut got = Vec::new();
        match client.retrieve(name, &mut got) {
            Ok(_) if got == b"hello" => {}
            Ok(_) => problems.push(format!(
                "RETR {name} sent {:?}, not \"hello\"",
                String::from_utf8_lossy(&got)
            )),
            Err(e) => problems.push(format!("RETR {name}: {}", describe(&e))),
        }
    };
    expect_hello(&mut client, "hello.txt");
    expect_hello(&mut client, "inner-link");
    match client.cwd("sub") {
        Ok(_) => {
            expect_hello(&mut client, "../hello.txt");
            expect_hello(&mut client, "/hello.txt");
        }
        Err(e) => problems.push(format!("CWD sub: {}", describe(&e))),
    }
    if let Err(e) = client.store("/new.txt", &mut &b"new"[..]) {
        problems.push(format!("STOR /new.txt: {}", describe(&e)));
    } else if std::fs::read(library.dir().join("new.txt")).ok().as_deref() != Some(&b"new"[..]) {
        problems.push("STOR /new.txt did not store new.txt in the library".to_string());
    }
    Ok(problems)
}

/// A verdict on escape attempts: pass when none escaped.
fn judge_attempts(attempts: Vec<Attempt>) -> Verdict {
    let escaped: Vec<String> = attempts
        .iter()
        .filter(|a| a.escaped)
        .map(|a| format!("{}: {}", a.command, a.outcome))
        .collect();
    if escaped.is_empty() {
        let all: Vec<String> = attempts
            .iter()
            .map(|a| format!("{}: {}", a.command, a.outcome))
            .collect();
        Verdict::pass(all.join("; "))
    } else {
        Verdict::fail(escaped.join("; "))
    }
}

/// Names that climb out with `..`.
const DOTDOT_READS: &[&str] = &[
    "../outside/secret.txt",
    "/../outside/secret.txt",
    "sub/../../outside/secret.txt",
];
/// Symlinks inside the library that point out of it.
const LINK_READS: &[&str] = &["relative-link", "absolute-link", "door/secret.txt"];

pub static DOTDOT: Check = Check {
    id: "dotdot",
    title: "`..` cannot climb out of the library",
    expected: "RETR ../outside/secret.txt, /../outside/secret.txt and sub/../../outside/secret.txt refused; \
               STOR ../escaped.txt refused; CWD .. at the root refused",
    run: |subject| {
        Verdict::from_observation(escape_attempts(subject, DOTDOT_READS, &["../escaped.txt"]), |attempts| {
            let mut verdict = judge_attempts(attempts);
            match cwd_up_from_root(subject) {
                Ok(place) if place.starts_with("refused") => verdict.saw.push_str(&format!("; CWD ..: {place}")),
                Ok(place) => {
                    verdict = Verdict::fail(format!("{}; CWD .. at the root went to {place:?}", verdict.saw));
                }
                Err(why) => verdict = Verdict::fail(format!("{}; CWD ..: {why}", verdict.saw)),
            }
            verdict
        })
    },
};

pub static SYMLINKS: Check = Check {
    id: "symlinks",
    title: "symlinks that lead out of the library are not followed",
    expected:
        "RETR relative-link, absolute-link (links to the secret outside) and door/secret.txt \
               (a link to the outside folder) refused; STOR door/escaped.txt refused",
    run: |subject| {
        Verdict::from_observation(
            escape_attempts(subject, LINK_READS, &["door/escaped.txt"]),
            judge_attempts,
        )
    },
};

pub static INSIDE_WORKS: Check = Check {
    id: "inside",
    title: "files, links and `..` that stay inside still work",
    expected: "RETR hello.txt and inner-link (a link to it) send \"hello\"; after CWD sub, ../hello.txt and \
               /hello.txt do too; STOR /new.txt stores it",
    run: |subject| Verdict::from_problems(inside_the_library(subject), "all of them worked"),
};

/// `..` worked out as text: what did not come out as the task says.
pub fn dotdot_as_text(subject: &Subject) -> Result<Vec<String>, String> {
    let library = Library::start(subject, "lab-ftp-dotdot")?;
    let mut client = library.client()?;
    let mut problems = Vec::new();
    let mut got = Vec::new();
    match client.retrieve("deep/../hello.txt", &mut got) {
        Ok(_) if got == b"hello" => {}
        Ok(_) => problems.push(format!(
            "RETR deep/../hello.txt sent {:?}, not \"hello\"",
            String::from_utf8_lossy(&got)
        )),
        Err(e) => problems.push(format!(
            "RETR deep/../hello.txt (deep is a link to sub/inner): {}: `..` went to the \
             parent of the link's target, not of the name",
            describe(&e)
        )),
    }
    let place = client
        .cwd("sub")
        .and_then(|_| client.cwd(".."))
        .and_then(|_| client.pwd());
    match place {
        Ok(place) if place == "/" => {}
        Ok(place) => problems.push(format!(
            "after CWD sub and CWD .., PWD says {place:?}, not \"/\""
        )),
        Err(e) => problems.push(format!("CWD sub, CWD .., PWD: {}", describe(&e))),
    }
    Ok(problems)
}

pub static DOTDOT_TEXT: Check = Check {
    id: "dotdot-text",
    title: "`..` is worked out as text, before the kernel sees the name",
    expected: "after CWD sub and CWD .., PWD says \"/\"; RETR deep/../hello.txt (deep: a link to \
               sub/inner) sends hello.txt of the root, the parent of the name as written",
    run: |subject| Verdict::from_problems(dotdot_as_text(subject), "both as written"),
};

/// How long, at most, the swap race is run.
const RACE_FOR: Duration = Duration::from_secs(12);
/// Requests, at most, made during the race. A check-then-open server lost
/// the race anywhere from the 12th to the 1113th request on two busy cores,
/// and once not within 1500: 6000 leave it no way through, while a server
/// that is right takes the whole 12 s at worst.
const RACE_REQUESTS: usize = 6000;

/// What the race between a check and an open gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Race {
    pub requests: usize,
    /// Requests that sent the harmless file inside the library.
    pub inside: usize,
    /// Requests refused (the name led outside when it was opened).
    pub refused: usize,
    /// The request that sent the secret, if one did.
    pub escaped_at: Option<usize>,
}

/// `library/swing/secret.txt` is a harmless file; a thread swaps the
/// folder `swing` with a link `swing-link -> ../outside` (renameat2 with
/// RENAME_EXCHANGE) as fast as it can, while a client asks for
/// `swing/secret.txt` again and again. A server that checks a name, then
/// opens it, sooner or later checks the folder and opens the link.
pub fn swap_race(subject: &Subject) -> Result<Race, String> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let library = Library::start(subject, "lab-ftp-race")?;
    let dir = library.dir();
    let plant = || -> std::io::Result<std::fs::File> {
        std::fs::create_dir(dir.join("swing"))?;
        std::fs::write(dir.join("swing").join("secret.txt"), b"inside")?;
        std::os::unix::fs::symlink("../outside", dir.join("swing-link"))?;
        std::fs::File::open(&dir)
    };
    let dir_fd = plant().map_err(|e| format!("setting up the swap failed: {e}"))?;
    let mut client = library.client()?;
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let swapper = scope.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                nix::fcntl::renameat2(
                    &dir_fd,
                    "swing",
                    &dir_fd,
                    "swing-link",
                    nix::fcntl::RenameFlags::RENAME_EXCHANGE,
                )
                .map_err(|e| format!("renameat2(RENAME_EXCHANGE) failed: {e}"))?;
            }
            Ok::<(), String>(())
        });
        let mut race = Race {
            requests: 0,
            inside: 0,
            refused: 0,
            escaped_at: None,
        };
        let deadline = std::time::Instant::now() + RACE_FOR;
        let mut outcome = Ok(());
        while race.requests < RACE_REQUESTS && std::time::Instant::now() < deadline {
            race.requests += 1;
            let mut got = Vec::new();
            match client.retrieve("swing/secret.txt", &mut got) {
                Ok(_) if got == SECRET => {
                    race.escaped_at = Some(race.requests);
                    break;
                }
                Ok(_) => race.inside += 1,
                Err(Error::Reply(_)) => race.refused += 1,
                Err(e) => {
                    outcome = Err(format!(
                        "RETR swing/secret.txt, request {}: {}{}",
                        race.requests,
                        describe(&e),
                        library.panic_note()
                    ));
                    break;
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        let swapped = swapper
            .join()
            .unwrap_or_else(|_| Err("the swapping thread panicked".to_string()));
        outcome.and(swapped).map(|()| race)
    })
}

pub static SWAP_RACE: Check = Check {
    id: "swap-race",
    title: "a folder swapped for a link during a request does not lead out",
    expected: "while a folder of the library is swapped, again and again, with a link to the \
               outside (renameat2 RENAME_EXCHANGE), up to 6000 RETRs of a file in it in 12 s never \
               send the secret outside",
    run: |subject| {
        Verdict::from_observation(swap_race(subject), |race| match race.escaped_at {
            Some(at) => Verdict::fail(format!(
                "request {at} sent the secret (before it: {} sent the file inside, {} refused): \
                 the name was checked, then swapped, then opened",
                race.inside, race.refused
            )),
            None => Verdict::when(
                race.inside > 0 && race.refused > 0,
                format!(
                    "{} requests: {} sent the file inside, {} refused, none the secret",
                    race.requests, race.inside, race.refused
                ),
            ),
        })
    },
};

pub static CWD_UP: Question = Question {
    key: "cwd_up",
    ask: "With the starter, a client at the library root sends `CWD ..`, then `PWD`. Where is it: \
          still at `/`, at `/..`, or was CWD refused?",
    answer: Answer::Choice(&["/", "/..", "refused"]),
    measure: |starter| {
        let place = cwd_up_from_root(starter)?;
        let value = if place.starts_with("refused") {
            "refused".to_string()
        } else {
            place.clone()
        };
        Ok(Measured {
            value,
            story: format!("CWD .. then PWD: {place}"),
        })
    },
};

pub static SYMLINK_SECRET: Question = Question {
    key: "symlink_secret",
    ask: "The library holds `absolute-link`, a symlink to a secret file outside the library. With the \
          starter, does `RETR absolute-link` send the secret?",
    answer: Answer::Choice(&["yes", "no"]),
    measure: |starter| {
        let attempt = escape_attempts(starter, &["absolute-link"], &[])?.remove(0);
        let value = if attempt.escaped { "yes" } else { "no" };
        Ok(Measured { value: value.to_string(), story: format!("{}: {}", attempt.command, attempt.outcome) })
    },
};

// ---- atomic uploads ------------------------------------------------------------

/// The file every upload experiment replaces: 1 MiB.
const OLD_SIZE: usize = 1 << 20;
/// How much of a new upload is sent before it is cut off or read.
const HALF: usize = 256 << 10;

/// An upload over an existing file, cut off half-way (the data connection
/// reset), and what the library held afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutOff {
    /// The server's final reply to the STOR.
    pub reply: String,
    /// `precious.bin` is still the old file, byte for byte.
    pub old_intact: bool,
    pub size_after: Option<u64>,
    /// `ls -A` of the library afterwards.
    pub names: Vec<String>,
}

pub fn upload_cut_off(subject: &Subject) -> Result<CutOff, String> {
    let library = Library::start(subject, "lab-ftp-cutoff")?;
    let old = pattern(OLD_SIZE, 1);
    let precious = library.dir().join("precious.bin");
    std::fs::write(&precious, &old).map_err(|e| format!("writing precious.bin failed: {e}"))?;
    let before = library.names();
    let mut client = library.client()?;
    client.command("TYPE I").map_err(|e| describe(&e))?;
    let mut data = client
        .start_transfer("STOR precious.bin")
        .map_err(|e| format!("STOR precious.bin: {}", describe(&e)))?;
    let _ = data.write_all(&pattern(HALF, 2));
    reset_on_close(&data);
    drop(data); // RST: the upload is cut off
    let reply = match client.finish_transfer() {
        Ok(reply) => reply.to_string(),
        Err(e) => describe(&e),
    };
    // The server may remove its temporary file just after it replies.
    let _ = library.server.wait_until(
        Duration::from_secs(1),
        "the upload's leftovers to go",
        |_| library.names() == before,
    );
    let after = std::fs::read(&precious).ok();
    let names: Vec<String> = library
        .names()
        .into_iter()
        .filter(|n| !before.contains(n) || n == "precious.bin")
        .collect();
    Ok(CutOff {
        reply,
        old_intact: after.as_deref() == Some(&old[..]),
        size_after: after.map(|bytes| bytes.len() as u64),
        names,
    })
}

/// What a second client read while an upload over the file was under way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadDuringUpload {
    /// The reader got the old file, whole.
    pub old_whole: bool,
    pub read_len: usize,
    /// After the upload finished, the file is the new one, whole.
    pub new_whole: bool,
}

pub fn read_during_upload(subject: &Subject) -> Result<ReadDuringUpload, String> {
    let library = Library::start(subject, "lab-ftp-reader")?;
    let (old, new) = (pattern(OLD_SIZE, 3), pattern(OLD_SIZE, 4));
    let precious = library.dir().join("precious.bin");
    std::fs::write(&precious, &old).map_err(|e| format!("writing precious.bin failed: {e}"))?;
    let before = library.names();
    let mut uploader = library.client()?;
    uploader.command("TYPE I").map_err(|e| describe(&e))?;
    let mut data = uploader
        .start_transfer("STOR precious.bin")
        .map_err(|e| format!("STOR precious.bin: {}", describe(&e)))?;
    data.write_all(&new[..HALF])
        .map_err(|e| format!("sending the first part failed: {e}"))?;
    // The server has begun writing: a new (temporary) file appeared, or the
    // target itself changed.
    library
        .server
        .wait_until(WAIT, "the server to begin writing the upload", |_| {
            library.names() != before
                || std::fs::metadata(&precious).map(|m| m.len()).ok() != Some(OLD_SIZE as u64)
        })?;
    let mut reader = library.client()?;
    let mut read = Vec::new();
    reader
        .retrieve("precious.bin", &mut read)
        .map_err(|e| format!("RETR during the upload: {}", describe(&e)))?;
    data.write_all(&new[HALF..])
        .map_err(|e| format!("sending the rest failed: {e}"))?;
    data.shutdown(Shutdown::Write)
        .map_err(|e| format!("closing the data connection failed: {e}"))?;
    drop(data);
    uploader
        .finish_transfer()
        .map_err(|e| format!("finishing the upload: {}", describe(&e)))?;
    Ok(ReadDuringUpload {
        old_whole: read == old,
        read_len: read.len(),
        new_whole: std::fs::read(&precious).ok().as_deref() == Some(&new[..]),
    })
}

/// Two uploads of one name whose transfers overlap: the first starts, the
/// second starts, the first sends 2 MiB and finishes, then the second sends
/// 1 MiB and finishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SameName {
    /// The file is the second upload, whole (the last one to finish wins).
    pub last_whole: bool,
    pub len: usize,
    /// Of its 64 KiB chunks, how many are the first upload's and how many
    /// the second's (at the same offsets).
    pub chunks: (usize, usize),
    /// New names in the library.
    pub names: Vec<String>,
}

/// The order is fixed, so the outcome is not a race: both uploads have
/// opened their file (the server says 150 only after that) before either
/// sends a byte, and the first is complete before the second sends any.
pub fn two_uploads_of_one_name(subject: &Subject) -> Result<SameName, String> {
    const CHUNK: usize = 64 << 10;
    let library = Library::start(subject, "lab-ftp-same-name")?;
    let before = library.names();
    let (first_bytes, second_bytes) = (pattern(2 << 20, 11), pattern(1 << 20, 12));
    let (mut first, mut second) = (library.client()?, library.client()?);
    for client in [&mut first, &mut second] {
        client.command("TYPE I").map_err(|e| describe(&e))?;
    }
    let start = |client: &mut Client| {
        client
            .start_transfer("STOR same.bin")
            .map_err(|e| format!("STOR same.bin: {}", describe(&e)))
    };
    let mut sends = [
        (start(&mut first)?, &first_bytes, &mut first),
        (start(&mut second)?, &second_bytes, &mut second),
    ];
    for (data, bytes, client) in &mut sends {
        data.write_all(bytes)
            .map_err(|e| format!("sending an upload failed: {e}"))?;
        data.shutdown(Shutdown::Write)
            .map_err(|e| format!("closing a data connection failed: {e}"))?;
        client
            .finish_transfer()
            .map_err(|e| format!("finishing an upload: {}", describe(&e)))?;
    }
    let stored = std::fs::read(library.dir().join("same.bin")).unwrap_or_default();
    let chunks =
        stored
            .chunks(CHUNK)
            .enumerate()
            .fold((0, 0), |(from_first, from_second), (i, chunk)| {
                let at = i * CHUNK..i * CHUNK + chunk.len();
                (
                    from_first + usize::from(first_bytes.get(at.clone()) == Some(chunk)),
                    from_second + usize::from(second_bytes.get(at) == Some(chunk)),
                )
            });
    let names = library
        .names()
        .into_iter()
        .filter(|n| !before.contains(n))
        .collect();
    Ok(SameName {
        last_whole: stored == second_bytes,
        len: stored.len(),
        chunks,
        names,
    })
}

/// An ordinary upload: 1 MiB stored as new.bin; what did not work.
pub fn plain_upload(subject: &Subject) -> Result<Vec<String>, String> {
    let library = Library::start(subject, "lab-ftp-upload")?;
    let before = library.names();
    let bytes = pattern(OLD_SIZE, 5);
    let mut client = library.client()?;
    let mut problems = Vec::new();
    match client.store("new.bin", &mut &bytes[..]) {
        Ok(_) => {
            if std::fs::read(library.dir().join("new.bin")).ok().as_deref() != Some(&bytes[..]) {
                problems.push("new.bin is not the 1 MiB that was sent".to_string());
            }
            let added: Vec<String> = library
                .names()
                .into_iter()
                .filter(|n| !before.contains(n))
                .collect();
            if added != ["new.bin"] {
                problems.push(format!("the library gained {added:?}, not just new.bin"));
            }
        }
        Err(e) => problems.push(format!("STOR new.bin: {}", describe(&e))),
    }
    Ok(problems)
}

pub static CUT_OFF: Check = Check {
    id: "cut-off",
    title: "an upload cut off half-way leaves the old file",
    expected: "a 1 MiB precious.bin; an upload over it sends 256 KiB, then resets its data connection: \
               the server refuses it (426), precious.bin is the old 1 MiB, and no other file is left",
    run: |subject| {
        Verdict::from_observation(upload_cut_off(subject), |cut| {
            let saw = format!(
                "reply {:?}; precious.bin {}; library: {:?}",
                cut.reply,
                match (cut.old_intact, cut.size_after) {
                    (true, _) => "is the old file".to_string(),
                    (false, Some(size)) => format!("is {size} bytes that are not the old file"),
                    (false, None) => "is gone".to_string(),
                },
                cut.names
            );
            Verdict::when(cut.old_intact && cut.names == ["precious.bin"] && !cut.reply.starts_with("226"), saw)
        })
    },
};

pub static OLD_UNTIL_DONE: Check = Check {
    id: "old-until-done",
    title: "while an upload is under way, readers get the old file",
    expected: "a client reading precious.bin in the middle of an upload over it gets the old 1 MiB whole; \
               once the upload is done, the file is the new 1 MiB",
    run: |subject| {
        Verdict::from_observation(read_during_upload(subject), |seen| {
            let saw = format!(
                "the reader got {} bytes ({}); afterwards the file {} the new upload",
                seen.read_len,
                if seen.old_whole { "the old file" } else { "not the old file" },
                if seen.new_whole { "is" } else { "is not" }
            );
            Verdict::when(seen.old_whole && seen.new_whole, saw)
        })
    },
};

pub static NO_MIX: Check = Check {
    id: "no-mix",
    title: "two uploads of one name never mix",
    expected: "two uploads of same.bin overlap: both start, the first sends 2 MiB and finishes, then the \
               second sends 1 MiB and finishes; same.bin is the second upload, whole, and nothing else is left",
    run: |subject| {
        Verdict::from_observation(two_uploads_of_one_name(subject), |same| {
            let saw = format!(
                "same.bin is {} bytes: {} chunks of 64 KiB from the first upload, {} from the second; \
                 the library gained {:?}",
                same.len, same.chunks.0, same.chunks.1, same.names
            );
            Verdict::when(same.last_whole && same.names == ["same.bin"], saw)
        })
    },
};

pub static UPLOAD_WORKS: Check = Check {
    id: "upload",
    title: "an upload stores the file",
    expected: "STOR new.bin with 1 MiB: new.bin holds those bytes, and it is the only new name",
    run: |subject| {
        Verdict::from_problems(
            plain_upload(subject),
            "new.bin stored whole, nothing else left",
        )
    },
};

pub static OLD_FILE_SURVIVES: Question = Question {
    key: "old_file_survives",
    ask: "With the starter, a client uploads over precious.bin (1 MiB), sends 256 KiB and resets its \
          data connection. Is precious.bin still the old 1 MiB file afterwards?",
    answer: Answer::Choice(&["yes", "no"]),
    measure: |starter| {
        let cut = upload_cut_off(starter)?;
        Ok(Measured {
            value: if cut.old_intact { "yes" } else { "no" }.to_string(),
            story: format!(
                "reply {:?}; precious.bin is {} bytes{}",
                cut.reply,
                cut.size_after.unwrap_or(0),
                if cut.old_intact { ", the old file" } else { ", not the old file" }
            ),
        })
    },
};

pub static UPLOADS_MIX: Question = Question {
    key: "uploads_mix",
    ask: "With the starter, two clients upload same.bin: both start, the first sends 2 MiB and \
          finishes, then the second sends 1 MiB and finishes. Does same.bin end up a mix of the two?",
    answer: Answer::Choice(&["yes", "no"]),
    measure: |starter| {
        let same = two_uploads_of_one_name(starter)?;
        let mixed = same.chunks.0 > 0 && same.chunks.1 > 0;
        Ok(Measured {
            value: if mixed { "yes" } else { "no" }.to_string(),
            story: format!(
                "same.bin is {} bytes: {} chunks of 64 KiB from the first upload, {} from the second",
                same.len, same.chunks.0, same.chunks.1
            ),
        })
    },
};
