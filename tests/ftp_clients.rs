//! The file server project with real clients: curl, Python's ftplib and our
//! own ftp-client each list, download and upload a 10 MiB file, byte for
//! byte; 20 clients transfer at once, each in its own server process; curl
//! and lftp append and resume.

mod ftp_support;

use assert_cmd::Command;
use ftp_support::{assert_same_bytes, pattern, Ftp, TEN_MIB, WAIT};
use lsbaws_harness::names_in;
use std::sync::{Arc, Barrier};

/// The library every client test starts with: a 10 MiB file and a small one.
fn start_with_files(label: &str) -> (Ftp, Vec<u8>) {
    let ftp = Ftp::start(label, &["--quiet"]);
    let big = pattern(TEN_MIB, 1);
    std::fs::write(ftp.library().join("big.bin"), &big).unwrap();
    std::fs::write(ftp.library().join("hello.txt"), "Hello, World!\n").unwrap();
    (ftp, big)
}

/// A local directory holding `upload.bin`: 10 MiB of pattern `seed`.
fn local_upload(ftp: &Ftp, seed: u64) -> (std::path::PathBuf, Vec<u8>) {
    let local = ftp.local();
    let upload = pattern(TEN_MIB, seed);
    std::fs::write(local.join("upload.bin"), &upload).unwrap();
    (local, upload)
}

/// Run ftp-client against `ftp` in `local`, commands piped on stdin.
fn run_client(ftp: &Ftp, local: &std::path::Path, commands: &str) -> std::process::Output {
    Command::cargo_bin("ftp-client")
        .unwrap()
        .args(["--port", &ftp.server.port().to_string()])
        .current_dir(local)
        .write_stdin(commands)
        .timeout(WAIT)
        .output()
        .unwrap()
}

fn stdout_of(output: &std::process::Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed ({:?}); stderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn curl(args: &[&str]) -> String {
    let output = Command::new("curl")
        .args(["--silent", "--show-error"])
        .args(args)
        .timeout(WAIT)
        .output()
        .unwrap();
    stdout_of(&output, &format!("curl {args:?}"))
}

#[test]
fn curl_lists_downloads_and_uploads_10_mib() {
    let (ftp, big) = start_with_files("ftp-curl");
    let local = ftp.local();

    // curl ftp://host/ lists with LIST: ls -l lines.
    let listing = curl(&[&ftp.url("")]);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 2, "{listing}");
    assert!(
        lines[0].starts_with("-rw-") && lines[0].contains(&format!(" {TEN_MIB} ")),
        "{listing}"
    );
    assert!(lines[0].ends_with(" big.bin"), "{listing}");
    assert!(lines[1].ends_with(" hello.txt"), "{listing}");
    // --list-only: NLST, names only (curl turns the CRLFs of an ASCII
    // listing into the local line end).
    assert_eq!(curl(&["--list-only", &ftp.url("")]), "big.bin\nhello.txt\n");

    let downloaded = local.join("downloaded.bin");
    curl(&["-o", downloaded.to_str().unwrap(), &ftp.url("big.bin")]);
    assert_same_bytes(
        &std::fs::read(&downloaded).unwrap(),
        &big,
        "curl's download",
    );

    let upload = pattern(TEN_MIB, 2);
    let source = local.join("upload.bin");
    std::fs::write(&source, &upload).unwrap();
    curl(&["-T", source.to_str().unwrap(), &ftp.url("uploaded.bin")]);
    assert_same_bytes(
        &std::fs::read(ftp.library().join("uploaded.bin")).unwrap(),
        &upload,
        "curl's upload",
    );
    assert!(curl(&["--list-only", &ftp.url("")]).contains("uploaded.bin"));
    ftp.assert_no_panic();
}

/// Each of `lines` appears in the server's log (it prints every command
/// and reply): the client resumed, it did not start again.
fn assert_logged(ftp: &Ftp, lines: &[&str]) {
    let log = ftp.server.stdout();
    for line in lines {
        assert!(log.contains(line), "{line:?} missing from:\n{log}");
    }
}

/// The first bytes of a file, already there from a transfer cut short.
const PARTIAL: usize = 300_000;

#[test]
fn curl_append_appends_byte_exactly() {
    let ftp = Ftp::start("ftp-curl-append", &[]);
    let old = pattern(PARTIAL, 20);
    std::fs::write(ftp.library().join("log.bin"), &old).unwrap();
    let (local, tail) = local_upload(&ftp, 21);
    let source = local.join("upload.bin");
    let source = source.to_str().unwrap();

    // --append: APPE instead of STOR. To an existing file, and to a new name.
    curl(&["--append", "-T", source, &ftp.url("log.bin")]);
    curl(&["--append", "-T", source, &ftp.url("new.bin")]);
    assert_same_bytes(
        &std::fs::read(ftp.library().join("log.bin")).unwrap(),
        &[&old[..], &tail[..]].concat(),
        "the old file, then the appended one",
    );
    assert_same_bytes(
        &std::fs::read(ftp.library().join("new.bin")).unwrap(),
        &tail,
        "appended to nothing",
    );
    assert_eq!(ftp.library_names(), ["log.bin", "new.bin"]);
    assert_logged(&ftp, &["] > APPE log.bin", "after its first 300000 bytes."]);
    ftp.assert_no_panic();
}

#[test]
fn curl_resumes_a_partial_download() {
    let ftp = Ftp::start("ftp-curl-resume", &[]);
    let big = pattern(TEN_MIB, 22);
    std::fs::write(ftp.library().join("big.bin"), &big).unwrap();
    let partial = ftp.local().join("big.bin");
    std::fs::write(&partial, &big[..PARTIAL]).unwrap();

    // -C -: curl looks at the local file's size and asks for the rest.
    curl(&[
        "-C",
        "-",
        "-o",
        partial.to_str().unwrap(),
        &ftp.url("big.bin"),
    ]);
    assert_same_bytes(
        &std::fs::read(&partial).unwrap(),
        &big,
        "the resumed download",
    );
    assert_logged(
        &ftp,
        &[
            "] > REST 300000",
            &format!("(10185760 bytes from byte {PARTIAL})."),
            "] < 226 Transfer complete: 10185760 bytes sent.",
        ],
    );
    ftp.assert_no_panic();
}

/// lftp's `get -c` and `put -c` continue a transfer cut short, with REST
/// before RETR and before STOR.
#[test]
fn lftp_get_c_and_put_c_resume_byte_identically() {
    let ftp = Ftp::start("ftp-lftp-resume", &[]);
    let big = pattern(TEN_MIB, 23);
    std::fs::write(ftp.library().join("big.bin"), &big).unwrap();
    let (local, upload) = local_upload(&ftp, 24);
    std::fs::write(local.join("big.bin"), &big[..PARTIAL]).unwrap();
    std::fs::write(ftp.library().join("up.bin"), &upload[..PARTIAL]).unwrap();

    lftp(
        &ftp,
        &format!(
            "get -c big.bin -o {}; put -c {} -o up.bin",
            local.join("big.bin").display(),
            local.join("upload.bin").display()
        ),
    );
    assert_same_bytes(
        &std::fs::read(local.join("big.bin")).unwrap(),
        &big,
        "lftp's resumed download",
    );
    assert_same_bytes(
        &std::fs::read(ftp.library().join("up.bin")).unwrap(),
        &upload,
        "lftp's resumed upload",
    );
    assert_eq!(ftp.library_names(), ["big.bin", "up.bin"]);
    assert_logged(
        &ftp,
        &[
            "] > REST 300000",
            &format!("(10185760 bytes from byte {PARTIAL})."),
            "] > STOR up.bin",
            "] < 226 Transfer complete: 10185760 bytes stored as /up.bin, after its first 300000 bytes.",
        ],
    );
    ftp.assert_no_panic();
}

/// Run an lftp script against `ftp`; it stops at the first failing command.
fn lftp(ftp: &Ftp, script: &str) -> String {
    let output = Command::new("lftp")
        .args([
            "-c",
            &format!("set cmd:fail-exit yes; open {}; {script}", ftp.url("")),
        ])
        .timeout(WAIT)
        .output()
        .expect("running lftp failed — install it (Debian: apt-get install lftp)");
    stdout_of(&output, &format!("lftp -c {script:?}"))
}

/// ftplib: the FTP client of Python's standard library.
const FTPLIB_SCRIPT: &str = r#"
import ftplib, sys
port, local = int(sys.argv[1]), sys.argv[2]
ftp = ftplib.FTP()
ftp.connect("127.0.0.1", port, timeout=20)
ftp.login()                      # anonymous
print("names", " ".join(ftp.nlst()))
lines = []
ftp.dir(lines.append)            # LIST
for line in lines:
    print("line", line)
with open(local + "/downloaded.bin", "wb") as f:
    ftp.retrbinary("RETR big.bin", f.write)
with open(local + "/upload.bin", "rb") as f:
    ftp.storbinary("STOR uploaded.bin", f)
print("size", ftp.size("uploaded.bin"))
print("pwd", ftp.pwd())
print("quit", ftp.quit())
"#;

#[test]
fn ftplib_lists_downloads_and_uploads_10_mib() {
    let (ftp, big) = start_with_files("ftp-ftplib");
    let (local, upload) = local_upload(&ftp, 3);

    let output = Command::new("python3")
        .args([
            "-c",
            FTPLIB_SCRIPT,
            &ftp.server.port().to_string(),
            local.to_str().unwrap(),
        ])
        .timeout(WAIT)
        .output()
        .unwrap();
    let stdout = stdout_of(&output, "python3 ftplib");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "names big.bin hello.txt", "{stdout}");
    assert!(
        lines[1].starts_with("line -rw") && lines[1].ends_with(" big.bin"),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with("line -rw") && lines[2].ends_with(" hello.txt"),
        "{stdout}"
    );
    assert_eq!(
        lines[3..],
        [&format!("size {TEN_MIB}")[..], "pwd /", "quit 221 Goodbye."],
        "{stdout}"
    );

    assert_same_bytes(
        &std::fs::read(local.join("downloaded.bin")).unwrap(),
        &big,
        "ftplib's download",
    );
    assert_same_bytes(
        &std::fs::read(ftp.library().join("uploaded.bin")).unwrap(),
        &upload,
        "ftplib's upload",
    );
    ftp.assert_no_panic();
}

#[test]
fn ftp_client_lists_gets_and_puts_10_mib() {
    let (ftp, big) = start_with_files("ftp-client");
    let (local, upload) = local_upload(&ftp, 4);

    // Piped commands: no prompt, one result line per command.
    let commands =
        "list\nget big.bin\nput upload.bin uploaded.bin\nget uploaded.bin round-trip.bin\nquit\n";
    let output = run_client(&ftp, &local, commands);
    let stdout = stdout_of(&output, "ftp-client");
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 8, "{stdout}");
    assert_eq!(
        lines[0],
        format!(
            "Connected to 127.0.0.1:{}: 220 lsbaws ftp-server ready; log in as anonymous.",
            ftp.server.port()
        )
    );
    assert_eq!(lines[1], "230 Logged in as anonymous; the library is /.");
    assert!(
        lines[2].starts_with("-rw") && lines[2].ends_with(" big.bin"),
        "{stdout}"
    );
    assert!(lines[3].ends_with(" hello.txt"), "{stdout}");
    assert!(
        lines[4].starts_with(&format!("big.bin: {TEN_MIB} bytes received in ")),
        "{stdout}"
    );
    assert!(
        lines[5].starts_with(&format!("uploaded.bin: {TEN_MIB} bytes sent in ")),
        "{stdout}"
    );
    assert!(
        lines[6].starts_with(&format!("uploaded.bin: {TEN_MIB} bytes received in ")),
        "{stdout}"
    );
    assert_eq!(lines[7], "221 Goodbye.");
    assert!(
        !stdout.contains("ftp>"),
        "no prompt when stdin is not a terminal"
    );

    assert_same_bytes(
        &std::fs::read(local.join("big.bin")).unwrap(),
        &big,
        "ftp-client's download",
    );
    assert_same_bytes(
        &std::fs::read(ftp.library().join("uploaded.bin")).unwrap(),
        &upload,
        "ftp-client's upload",
    );
    assert_same_bytes(
        &std::fs::read(local.join("round-trip.bin")).unwrap(),
        &upload,
        "the round trip",
    );
    // The downloads went through temporary files: none is left.
    assert_eq!(
        names_in(&local),
        ["big.bin", "round-trip.bin", "upload.bin"]
    );
    ftp.assert_no_panic();
}

#[test]
fn ftp_client_reports_failures_and_goes_on() {
    let (ftp, _) = start_with_files("ftp-client-failures");
    let local = ftp.local();
    let commands =
        "get missing.txt\nput no-such-local-file\ncd ..\nfrobnicate\nget\nget hello.txt\n";
    let output = run_client(&ftp, &local, commands);
    // Every failure is one line on stderr; the good command still runs;
    // end of input logs out; the exit status says something failed.
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let errors: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        errors,
        [
            "ftp-client: get: 550 No such file or directory: /missing.txt",
            "ftp-client: put: cannot open no-such-local-file: No such file or directory (os error 2)",
            "ftp-client: cd: 550 Refused: ..: that name leads outside the library root.",
            "ftp-client: frobnicate: unknown command \"frobnicate\"; type help",
            "ftp-client: get: wrong number of arguments; type help",
        ],
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("hello.txt: 14 bytes received in "),
        "{stdout}"
    );
    assert!(stdout.ends_with("221 Goodbye.\n"), "{stdout}");
    // A failed download leaves no file and no temporary file.
    assert_eq!(names_in(&local), ["hello.txt"]);
}

#[test]
fn ftp_client_without_a_server_is_one_clear_line() {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = unused.local_addr().unwrap().port();
    drop(unused);
    let output = Command::cargo_bin("ftp-client")
        .unwrap()
        .args(["--port", &port.to_string()])
        .write_stdin("list\n")
        .timeout(WAIT)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(&format!(
            "ftp-client: connecting to 127.0.0.1:{port} failed: ECONNREFUSED"
        )),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// 20 clients log in (20 server processes exist at once), then all
/// transfer at the same time: each uploads its own 1 MiB file, downloads
/// the shared one and its own upload, and compares.
#[test]
fn twenty_concurrent_clients_transfer_at_once() {
    const CLIENTS: usize = 20;
    const SIZE: usize = 1 << 20;
    let ftp = Ftp::start("ftp-twenty", &["--quiet"]);
    let shared = pattern(SIZE, 100);
    std::fs::write(ftp.library().join("shared.bin"), &shared).unwrap();

    let logged_in = Arc::new(Barrier::new(CLIENTS + 1));
    let go = Arc::new(Barrier::new(CLIENTS + 1));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (logged_in, go, shared) = (logged_in.clone(), go.clone(), shared.clone());
            let mut client = ftp.client();
            std::thread::spawn(move || {
                logged_in.wait();
                go.wait();
                let mine = pattern(SIZE, i as u64 + 1);
                let name = format!("client-{i}.bin");
                assert_eq!(client.store(&name, &mut &mine[..]).unwrap(), SIZE as u64);
                let mut got = Vec::new();
                client.retrieve("shared.bin", &mut got).unwrap();
                assert_same_bytes(&got, &shared, &format!("client {i}: shared.bin"));
                got.clear();
                client.retrieve(&name, &mut got).unwrap();
                assert_same_bytes(&got, &mine, &format!("client {i}: {name}"));
                client.quit().unwrap();
            })
        })
        .collect();
    logged_in.wait();
    // A process per control connection: 20 children, all alive.
    ftp.server
        .wait_until(WAIT, "20 children", |s| {
            s.children().iter().filter(|c| !c.is_zombie()).count() == CLIENTS
        })
        .unwrap();
    go.wait();
    for thread in threads {
        thread.join().unwrap();
    }
    for i in 0..CLIENTS {
        let stored = std::fs::read(ftp.library().join(format!("client-{i}.bin"))).unwrap();
        assert_same_bytes(
            &stored,
            &pattern(SIZE, i as u64 + 1),
            &format!("client-{i}.bin on disk"),
        );
    }
    // Every child exited and was reaped: no zombies.
    ftp.wait_sessions_over();
    assert_eq!(ftp.server.zombies(), 0);
    ftp.assert_no_panic();
}

/// lftp, a common command-line client: `mirror -R` uploads a tree of
/// folders (MKD for each, STOR for each file), `mirror` brings it back,
/// byte for byte; `mv` is RNFR/RNTO, `rmdir` is RMD.
#[test]
fn lftp_mirrors_a_tree_there_and_back() {
    let ftp = Ftp::start("ftp-lftp", &["--quiet"]);
    let local = ftp.local();
    let tree = local.join("tree");
    std::fs::create_dir_all(tree.join("a/b/c")).unwrap();
    std::fs::create_dir_all(tree.join("d")).unwrap();
    std::fs::create_dir_all(tree.join("empty")).unwrap();
    std::fs::write(tree.join("a/b/c/deep.bin"), pattern(300_000, 7)).unwrap();
    std::fs::write(tree.join("a/one.bin"), pattern(1 << 20, 8)).unwrap();
    std::fs::write(tree.join("d/note.txt"), "a note\n").unwrap();
    std::fs::write(tree.join("top.txt"), "top\n").unwrap();

    let lftp = |script: &str| lftp(&ftp, script);
    lftp(&format!("mirror -R --no-perms {} /up", tree.display()));
    let back = local.join("back");
    lftp(&format!("mirror /up {}", back.display()));
    for file in ["a/b/c/deep.bin", "a/one.bin", "d/note.txt", "top.txt"] {
        assert_same_bytes(
            &std::fs::read(back.join(file)).unwrap(),
            &std::fs::read(tree.join(file)).unwrap(),
            &format!("{file} there and back"),
        );
    }
    assert!(back.join("empty").is_dir());
    assert_eq!(names_in(&back), names_in(&tree));

    lftp("mv /up/top.txt /up/d/moved.txt; rmdir /up/empty; mkdir /up/new");
    let up = ftp.library().join("up");
    assert_eq!(std::fs::read(up.join("d/moved.txt")).unwrap(), b"top\n");
    assert!(!up.join("top.txt").exists() && !up.join("empty").exists());
    assert!(up.join("new").is_dir());
    ftp.assert_no_panic();
}

/// wget, recursively: it reads LIST's `ls -l` lines to find the folders
/// and files of a tree, and fetches each, byte for byte.
#[test]
fn wget_fetches_a_tree_recursively() {
    let ftp = Ftp::start("ftp-wget", &["--quiet"]);
    let tree = ftp.library().join("tree");
    std::fs::create_dir_all(tree.join("a/b")).unwrap();
    std::fs::write(tree.join("a/b/deep.bin"), pattern(300_000, 9)).unwrap();
    std::fs::write(tree.join("top.txt"), "top\n").unwrap();
    let local = ftp.local();
    let output = Command::new("wget")
        .args([
            "--quiet",
            "--recursive",
            "--no-host-directories",
            &ftp.url("tree/"),
        ])
        .current_dir(&local)
        .timeout(WAIT)
        .output()
        .expect("running wget failed — install it (Debian: apt-get install wget)");
    stdout_of(&output, "wget --recursive");
    for file in ["a/b/deep.bin", "top.txt"] {
        assert_same_bytes(
            &std::fs::read(local.join("tree").join(file)).unwrap(),
            &std::fs::read(tree.join(file)).unwrap(),
            &format!("wget's {file}"),
        );
    }
    ftp.assert_no_panic();
}
