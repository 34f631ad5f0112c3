//! The file server project's server: no lost data, no way out of the
//! library, bounded waits, and bad input answered with the standard codes.

mod ftp_support;

use assert_cmd::Command;
use ftp_support::{assert_same_bytes, pattern, Ftp, Raw, WAIT};
use lsbaws::ftp::client::{reset_on_close, Error};
use lsbaws_harness::names_in;
use std::io::Write;
use std::net::{Shutdown, TcpListener};
use std::time::{Duration, Instant};

// ---- a process per client -------------------------------------------------

#[test]
fn each_client_gets_its_own_process_and_is_reaped() {
    let ftp = Ftp::start("ftp-fork", &["--quiet"]);
    let first = ftp.client();
    let second = ftp.client();
    ftp.server
        .wait_until(WAIT, "two children", |s| s.children().len() == 2)
        .unwrap();
    first.quit().unwrap();
    drop(second); // no QUIT: the child sees EOF and ends all the same
    ftp.wait_sessions_over();
    assert_eq!(ftp.server.zombies(), 0);
}

#[test]
fn the_server_prints_the_protocol_it_speaks() {
    let ftp = Ftp::start("ftp-log", &[]);
    std::fs::write(ftp.library().join("a.txt"), "a").unwrap();
    let mut client = ftp.client();
    client.retrieve("a.txt", &mut Vec::new()).unwrap();
    client.quit().unwrap();
    ftp.wait_sessions_over();
    let log = ftp.server.stdout();
    for expected in [
        "Serving FTP on port ",
        "] connection from 127.0.0.1:",
        "] < 220 lsbaws ftp-server ready; log in as anonymous.",
        "] > USER anonymous",
        "] > PASS ****",
        "] > EPSV",
        "] < 229 Entering Extended Passive Mode (|||",
        "] > RETR a.txt",
        "] < 150 Opening BINARY mode data connection for /a.txt (1 bytes).",
        "] < 226 Transfer complete: 1 bytes sent.",
        "] < 221 Goodbye.",
        "] session ended: QUIT",
    ] {
        assert!(log.contains(expected), "{expected:?} missing from:\n{log}");
    }
    assert!(
        !log.contains("test@example.com"),
        "the password is not printed"
    );
}

// ---- no lost data ---------------------------------------------------------

/// Python's ftplib starts an upload (`command`, after `REST rest` unless
/// rest is "none"), sends `half` bytes of it, and kills itself with
/// SIGKILL: the kernel closes both of its connections.
const KILLED_UPLOAD: &str = r#"
import ftplib, os, signal, sys
port, half, command, rest = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ftp = ftplib.FTP()
ftp.connect("127.0.0.1", port, timeout=20)
ftp.login()
ftp.voidcmd("TYPE I")
data = ftp.transfercmd(command, None if rest == "none" else int(rest))
data.sendall(b"x" * half)
os.kill(os.getpid(), signal.SIGKILL)
"#;

/// Run [`KILLED_UPLOAD`] against `ftp`, and wait until its session is over.
fn kill_an_upload_halfway(ftp: &Ftp, command: &str, rest: &str) {
    let output = Command::new("python3")
        .args([
            "-c",
            KILLED_UPLOAD,
            &ftp.server.port().to_string(),
            &(512 * 1024).to_string(),
            command,
            rest,
        ])
        .timeout(WAIT)
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        output.status.signal(),
        Some(9),
        "{command}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    ftp.wait_sessions_over();
}

#[test]
fn an_upload_killed_halfway_leaves_nothing_behind() {
    let ftp = Ftp::start("ftp-killed", &[]);
    let precious = pattern(1 << 20, 7);
    std::fs::write(ftp.library().join("precious.bin"), &precious).unwrap();

    kill_an_upload_halfway(&ftp, "STOR precious.bin", "none");
    // The old file is intact, and no partial or temporary file is left.
    assert_eq!(ftp.library_names(), ["precious.bin"]);
    assert_same_bytes(
        &std::fs::read(ftp.library().join("precious.bin")).unwrap(),
        &precious,
        "precious.bin",
    );
    assert!(ftp
        .server
        .stdout()
        .contains("the client left during the upload: /precious.bin discarded"));
    ftp.assert_no_panic();
}

#[test]
fn an_upload_reset_halfway_is_discarded_and_the_session_goes_on() {
    let ftp = Ftp::start("ftp-reset", &["--quiet"]);
    std::fs::write(ftp.library().join("precious.bin"), "old contents").unwrap();
    let mut client = ftp.client();
    client.command("TYPE I").unwrap();
    let mut data = client.start_transfer("STOR precious.bin").unwrap();
    data.write_all(&pattern(256 * 1024, 8)).unwrap();
    reset_on_close(&data);
    drop(data); // RST: the upload was cut off
    match client.finish_transfer() {
        Err(Error::Reply(reply)) => assert_eq!(
            reply.to_string(),
            "426 Data connection reset by the client; upload discarded."
        ),
        other => panic!("expected 426, got {other:?}"),
    }
    assert_eq!(ftp.library_names(), ["precious.bin"]);
    assert_eq!(
        std::fs::read(ftp.library().join("precious.bin")).unwrap(),
        b"old contents"
    );
    assert_eq!(
        client.command("NOOP").unwrap().code,
        200,
        "the session goes on"
    );
}

/// Two clients upload the same name at once, their bytes interleaved on
/// the wire. A server writing straight into the target would mix them;
/// ours leaves one upload, whole.
#[test]
fn two_uploads_of_one_name_never_mix() {
    const SIZE: usize = 2 << 20;
    let ftp = Ftp::start("ftp-same-name", &["--quiet"]);
    let (a, b) = (pattern(SIZE, 11), pattern(SIZE, 12));
    let (mut first, mut second) = (ftp.client(), ftp.client());
    for client in [&mut first, &mut second] {
        client.command("TYPE I").unwrap();
    }
    for round in 0..3 {
        let mut data_a = first.start_transfer("STOR same.bin").unwrap();
        let mut data_b = second.start_transfer("STOR same.bin").unwrap();
        for (chunk_a, chunk_b) in a.chunks(64 * 1024).zip(b.chunks(64 * 1024)) {
            data_a.write_all(chunk_a).unwrap();
            data_b.write_all(chunk_b).unwrap();
        }
        // Finish in a different order each round.
        let (done_first, done_second) = if round % 2 == 0 {
            (data_a, data_b)
        } else {
            (data_b, data_a)
        };
        done_first.shutdown(Shutdown::Write).unwrap();
        done_second.shutdown(Shutdown::Write).unwrap();
        drop((done_first, done_second));
        first.finish_transfer().unwrap();
        second.finish_transfer().unwrap();
        let stored = std::fs::read(ftp.library().join("same.bin")).unwrap();
        assert!(
            stored == a || stored == b,
            "round {round}: the file is neither upload, but a mix"
        );
        assert_eq!(ftp.library_names(), ["same.bin"]);
    }
}

#[test]
fn an_upload_over_the_size_limit_is_refused_and_discarded() {
    let ftp = Ftp::start("ftp-limit", &["--quiet", "--max-upload", "1M"]);
    std::fs::write(ftp.library().join("big.bin"), "old").unwrap();
    let mut client = ftp.client();
    let just_right = pattern(1 << 20, 5);
    client.store("ok.bin", &mut &just_right[..]).unwrap();
    let too_big = pattern((1 << 20) + 1, 6);
    match client.store("big.bin", &mut &too_big[..]) {
        Err(Error::Reply(reply)) => {
            assert_eq!(
                reply.to_string(),
                "552 Upload larger than the limit of 1048576 bytes: discarded."
            )
        }
        other => panic!("expected 552, got {other:?}"),
    }
    assert_eq!(ftp.library_names(), ["big.bin", "ok.bin"]);
    assert_eq!(
        std::fs::read(ftp.library().join("big.bin")).unwrap(),
        b"old"
    );
    assert_eq!(client.command("NOOP").unwrap().code, 200);
}

#[test]
fn ascii_mode_converts_line_ends() {
    let ftp = Ftp::start("ftp-ascii", &["--quiet"]);
    std::fs::write(ftp.library().join("unix.txt"), "one\ntwo\n").unwrap();
    let mut client = ftp.client();
    assert_eq!(client.command("TYPE A").unwrap().code, 200);
    assert_eq!(
        client.command("SIZE unix.txt").unwrap().to_string(),
        "213 10"
    );
    let mut data = client.start_transfer("RETR unix.txt").unwrap();
    let mut wire = Vec::new();
    std::io::copy(&mut data, &mut wire).unwrap();
    drop(data);
    client.finish_transfer().unwrap();
    assert_eq!(wire, b"one\r\ntwo\r\n");

    let mut data = client.start_transfer("STOR dos.txt").unwrap();
    data.write_all(b"three\r\nfour\r\n").unwrap();
    drop(data);
    client.finish_transfer().unwrap();
    assert_eq!(
        std::fs::read(ftp.library().join("dos.txt")).unwrap(),
        b"three\nfour\n"
    );
}

#[test]
fn size_mdtm_dele_cwd_and_pwd() {
    let ftp = Ftp::start("ftp-commands", &["--quiet"]);
    std::fs::create_dir(ftp.library().join("music")).unwrap();
    std::fs::write(ftp.library().join("music/song.txt"), "la la la\n").unwrap();
    let mut client = ftp.client();
    assert_eq!(client.pwd().unwrap(), "/");
    client.cwd("music").unwrap();
    assert_eq!(client.pwd().unwrap(), "/music");
    assert_eq!(client.size("song.txt").unwrap(), 9);
    assert!(client
        .command("MDTM song.txt")
        .unwrap()
        .to_string()
        .starts_with("213 20"));
    assert_eq!(client.names(None).unwrap(), ["song.txt"]);
    client.delete("song.txt").unwrap();
    assert!(!ftp.library().join("music/song.txt").exists());
    assert_eq!(client.command("CDUP").unwrap().code, 250);
    assert_eq!(client.pwd().unwrap(), "/");
    let listing = String::from_utf8(client.list(None).unwrap()).unwrap();
    assert!(
        listing.starts_with("drwx") && listing.ends_with(" music\r\n"),
        "{listing}"
    );
    assert_eq!(
        client.command("DELE music").unwrap().code,
        550,
        "DELE removes files only"
    );
}

#[test]
fn mkd_rmd_rnfr_rnto_and_stat() {
    let ftp = Ftp::start("ftp-names", &["--quiet"]);
    let library = ftp.library();
    std::fs::write(library.join("a.txt"), "a").unwrap();
    let mut raw = ftp.raw();
    raw.login();
    let code = |raw: &mut Raw, line: &str| raw.cmd(line).code;

    // MKD: 257 with the new directory's name; twice is refused.
    let made = raw.cmd("MKD music");
    assert_eq!(
        (made.code, made.to_string().contains("\"/music\"")),
        (257, true),
        "{made}"
    );
    assert!(library.join("music").is_dir());
    assert_eq!(code(&mut raw, "MKD music"), 550);
    assert_eq!(code(&mut raw, "CWD music"), 250);
    assert_eq!(code(&mut raw, "XMKD old"), 257); // relative to the working directory
    assert!(library.join("music/old").is_dir());
    assert_eq!(code(&mut raw, "CWD /"), 250);

    // RNFR, RNTO: a file moved into a folder, a folder renamed.
    assert_eq!(code(&mut raw, "RNFR a.txt"), 350);
    assert_eq!(code(&mut raw, "RNTO music/b.txt"), 250);
    assert!(!library.join("a.txt").exists());
    assert_eq!(std::fs::read(library.join("music/b.txt")).unwrap(), b"a");
    assert_eq!(code(&mut raw, "RNFR music/old"), 350);
    assert_eq!(code(&mut raw, "RNTO music/older"), 250);
    assert!(library.join("music/older").is_dir());
    // RNTO belongs to the RNFR right before it: anything between forgets it.
    assert_eq!(code(&mut raw, "RNFR music/b.txt"), 350);
    assert_eq!(code(&mut raw, "NOOP"), 200);
    assert_eq!(code(&mut raw, "RNTO c.txt"), 503);
    assert!(library.join("music/b.txt").exists());
    // A folder cannot move inside itself.
    assert_eq!(code(&mut raw, "RNFR music"), 350);
    assert_eq!(code(&mut raw, "RNTO music/older/music"), 553);

    // RMD: a folder that is not empty stays; an empty one goes; files are
    // for DELE.
    assert_eq!(code(&mut raw, "RMD music"), 550);
    assert!(library.join("music").is_dir());
    assert_eq!(code(&mut raw, "RMD music/b.txt"), 550);
    assert_eq!(code(&mut raw, "XRMD music/older"), 250);
    assert!(!library.join("music/older").exists());
    assert_eq!(code(&mut raw, "RMD /"), 553);

    // STAT: the session on the control connection; with a name, its
    // listing there, a name's line end shown as `?` (it would end the reply).
    std::fs::write(library.join("music/two\r\n213 lines.txt"), "x").unwrap();
    assert_eq!(code(&mut raw, "CWD music"), 250);
    let status = raw.cmd("STAT");
    assert_eq!(status.code, 211, "{status:?}");
    assert!(
        status
            .lines
            .contains(&" Working directory: /music".to_string()),
        "{status:?}"
    );
    let listed = raw.cmd("STAT -la .");
    assert_eq!(listed.code, 213, "{listed:?}");
    assert_eq!(
        listed.lines.len(),
        4,
        "a first, two entries, a last: {listed:?}"
    );
    assert!(
        listed.lines[1].starts_with(" -rw-") && listed.lines[1].ends_with(" b.txt"),
        "{listed:?}"
    );
    assert!(
        listed.lines[2].ends_with(" two??213 lines.txt"),
        "{listed:?}"
    );
    assert_eq!(code(&mut raw, "STAT ../.."), 550);
    assert_eq!(code(&mut raw, "NOOP"), 200, "the replies are still in step");
    ftp.assert_no_panic();
}

// ---- resume and append -------------------------------------------------------

/// RETR of `name` (binary), whatever the reply: the bytes, or the reply
/// that refused.
fn fetch(client: &mut lsbaws::ftp::client::Client, name: &str) -> Result<Vec<u8>, u16> {
    let mut got = Vec::new();
    match client.retrieve(name, &mut got) {
        Ok(_) => Ok(got),
        Err(Error::Reply(reply)) => Err(reply.code),
        Err(Error::Io(err)) => panic!("RETR {name}: {err}"),
    }
}

/// `command` (STOR or APPE) with `bytes` as the data, whatever the reply.
fn upload(client: &mut lsbaws::ftp::client::Client, command: &str, bytes: &[u8]) -> u16 {
    let sent = client.transfer(command, |data| {
        data.write_all(bytes)?;
        data.shutdown(Shutdown::Write)
    });
    match sent {
        Ok(reply) => reply.code,
        Err(Error::Reply(reply)) => reply.code,
        Err(Error::Io(err)) => panic!("{command}: {err}"),
    }
}

#[test]
fn rest_offsets_the_next_transfer_only() {
    let ftp = Ftp::start("ftp-rest", &["--quiet"]);
    let library = ftp.library();
    std::fs::write(library.join("a.txt"), "0123456789").unwrap();
    let mut client = ftp.client();
    let code =
        |client: &mut lsbaws::ftp::client::Client, line: &str| client.command(line).unwrap().code;
    assert_eq!(code(&mut client, "TYPE I"), 200);

    // REST n, then RETR: from byte n. The REST survives the commands a
    // client sends in between (EPSV here, PASV or SIZE for others), and
    // only the next transfer uses it.
    assert_eq!(code(&mut client, "REST 4"), 350);
    assert_eq!(fetch(&mut client, "a.txt").unwrap(), b"456789");
    assert_eq!(fetch(&mut client, "a.txt").unwrap(), b"0123456789");
    assert_eq!(code(&mut client, "REST 4"), 350);
    client.names(None).unwrap(); // a listing takes the offset, and ignores it
    assert_eq!(fetch(&mut client, "a.txt").unwrap(), b"0123456789");
    // The end of the file is a valid offset (nothing left to send); past
    // it is 554 (RFC 3659), and the offset is gone all the same.
    assert_eq!(code(&mut client, "REST 10"), 350);
    assert_eq!(fetch(&mut client, "a.txt").unwrap(), b"");
    assert_eq!(code(&mut client, "REST 11"), 350);
    assert_eq!(fetch(&mut client, "a.txt"), Err(554));
    assert_eq!(fetch(&mut client, "a.txt").unwrap(), b"0123456789");

    // Offsets that are not a whole number of bytes: 501, and no offset.
    for line in [
        "REST",
        "REST -1",
        "REST abc",
        "REST 1.5",
        "REST 99999999999999999999",
    ] {
        assert_eq!(code(&mut client, line), 501, "{line}");
    }
    assert_eq!(code(&mut client, "REST 4"), 350);
    assert_eq!(code(&mut client, "REST -4"), 501);
    assert_eq!(fetch(&mut client, "a.txt").unwrap(), b"0123456789");

    // REST n, then STOR: the first n bytes of the old file, then the data.
    assert_eq!(code(&mut client, "REST 3"), 350);
    assert_eq!(upload(&mut client, "STOR a.txt", b"XYZ"), 226);
    assert_eq!(std::fs::read(library.join("a.txt")).unwrap(), b"012XYZ");
    assert_eq!(upload(&mut client, "STOR a.txt", b"new"), 226);
    assert_eq!(std::fs::read(library.join("a.txt")).unwrap(), b"new");
    // Past the end, or no old file to keep bytes of: refused, unchanged.
    assert_eq!(code(&mut client, "REST 4"), 350);
    assert_eq!(upload(&mut client, "STOR a.txt", b"lost"), 554);
    assert_eq!(code(&mut client, "REST 1"), 350);
    assert_eq!(upload(&mut client, "STOR missing.txt", b"lost"), 550);
    assert_eq!(std::fs::read(library.join("a.txt")).unwrap(), b"new");

    // APPE: the old file, then the data; a new name is created. REST
    // before APPE makes no sense (it appends at the end): 503.
    assert_eq!(upload(&mut client, "APPE a.txt", b" and more"), 226);
    assert_eq!(
        std::fs::read(library.join("a.txt")).unwrap(),
        b"new and more"
    );
    assert_eq!(upload(&mut client, "APPE b.txt", b"first"), 226);
    assert_eq!(std::fs::read(library.join("b.txt")).unwrap(), b"first");
    assert_eq!(code(&mut client, "REST 2"), 350);
    assert_eq!(upload(&mut client, "APPE b.txt", b"lost"), 503);
    assert_eq!(code(&mut client, "MKD folder"), 257);
    assert_eq!(upload(&mut client, "APPE folder", b"lost"), 550);

    // An offset counts bytes of the file, which differ from the bytes on
    // the wire in ASCII mode: 555 (RFC 3659, a type mismatch).
    assert_eq!(code(&mut client, "TYPE A"), 200);
    assert_eq!(code(&mut client, "REST 2"), 350);
    assert_eq!(
        client
            .start_transfer("RETR a.txt")
            .map(drop)
            .map_err(|err| err.to_string()),
        Err("555 Resuming works in binary mode only: send TYPE I, then REST again.".into())
    );
    assert_eq!(code(&mut client, "TYPE I"), 200);
    assert_eq!(ftp.library_names(), ["a.txt", "b.txt", "folder"]);

    // FEAT says so.
    let mut raw = ftp.raw();
    raw.login();
    let features = raw.cmd("FEAT");
    assert!(
        features.lines.contains(&" REST STREAM".to_string()),
        "{features:?}"
    );
    ftp.assert_no_panic();
}

/// APPE and REST+STOR write a temporary file as STOR does: cut off
/// half-way, by a reset or a killed client, they leave the old file as it
/// was and nothing else.
#[test]
fn an_append_or_resume_cut_off_leaves_the_old_file() {
    let ftp = Ftp::start("ftp-append-cut", &[]);
    let precious = pattern(1 << 20, 7);
    let path = ftp.library().join("precious.bin");
    std::fs::write(&path, &precious).unwrap();
    let intact = |what: &str| {
        assert_eq!(ftp.library_names(), ["precious.bin"], "{what}");
        assert_same_bytes(&std::fs::read(&path).unwrap(), &precious, what);
    };

    for (command, rest) in [("APPE precious.bin", "none"), ("STOR precious.bin", "4096")] {
        kill_an_upload_halfway(&ftp, command, rest);
        intact(&format!("{command} killed half-way"));

        let mut client = ftp.client();
        client.command("TYPE I").unwrap();
        if rest != "none" {
            assert_eq!(client.command(&format!("REST {rest}")).unwrap().code, 350);
        }
        let mut data = client.start_transfer(command).unwrap();
        data.write_all(&pattern(256 * 1024, 8)).unwrap();
        reset_on_close(&data);
        drop(data); // RST: the upload was cut off
        match client.finish_transfer() {
            Err(Error::Reply(reply)) => assert_eq!(reply.code, 426, "{command}: {reply}"),
            other => panic!("{command}: expected 426, got {other:?}"),
        }
        intact(&format!("{command} reset half-way"));
    }
    let discarded = "the client left during the upload: /precious.bin discarded";
    assert_eq!(ftp.server.stdout().matches(discarded).count(), 2);
    ftp.assert_no_panic();
}

// ---- confined to the library ----------------------------------------------

#[test]
fn traversal_attempts_are_refused() {
    let ftp = Ftp::start("ftp-traversal", &["--quiet"]);
    let outside = ftp.scratch.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), "secret").unwrap();
    let library = ftp.library();
    std::fs::write(library.join("hello.txt"), "hello").unwrap();
    std::os::unix::fs::symlink("../outside/secret.txt", library.join("relative-link")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), library.join("absolute-link")).unwrap();
    std::os::unix::fs::symlink("../outside", library.join("door")).unwrap();
    std::os::unix::fs::symlink("hello.txt", library.join("inner-link")).unwrap();

    let mut client = ftp.client();
    for name in [
        "../outside/secret.txt",
        "/../outside/secret.txt",
        "a/../../outside/secret.txt",
        "relative-link",
        "absolute-link",
        "door/secret.txt",
        "/etc/passwd",
        &outside.join("secret.txt").to_string_lossy(),
    ] {
        for verb in ["RETR", "SIZE", "MDTM", "LIST", "DELE"] {
            if verb == "DELE" && name.ends_with("-link") {
                continue; // the link itself is inside: see below
            }
            let command = format!("{verb} {name}");
            let reply = match verb {
                "RETR" | "LIST" => client.start_transfer(&command).map(drop).unwrap_err(),
                _ => Error::Reply(client.command(&command).unwrap()),
            };
            match reply {
                Error::Reply(reply) => assert_eq!(reply.code, 550, "{command}: {reply}"),
                Error::Io(err) => panic!("{command}: {err}"),
            }
        }
    }
    for name in ["../escaped.txt", "door/escaped.txt", "/../escaped.txt"] {
        let err = client
            .start_transfer(&format!("STOR {name}"))
            .map(drop)
            .unwrap_err();
        assert!(
            matches!(err, Error::Reply(ref r) if r.code == 550),
            "STOR {name}: {err}"
        );
    }
    // MKD, RMD, RNFR and RNTO are confined too: `..` is refused as text,
    // a link leading out by the kernel, and a link named last is itself
    // the thing removed or renamed, never what it points at.
    std::fs::create_dir(outside.join("keep")).unwrap();
    for line in [
        "MKD ../made",
        "MKD door/made",
        "MKD /../made",
        "RMD ../outside/keep",
        "RMD door/keep",
        "RMD door",
        "RNFR ../outside/secret.txt",
        "RNFR door/secret.txt",
    ] {
        assert_eq!(client.command(line).unwrap().code, 550, "{line}");
    }
    for to in ["../stolen.txt", "door/stolen.txt", "/../stolen.txt"] {
        assert_eq!(client.command("RNFR hello.txt").unwrap().code, 350);
        let reply = client.command(&format!("RNTO {to}")).unwrap();
        assert_eq!(reply.code, 550, "RNTO {to}: {reply}");
    }
    assert!(library.join("hello.txt").exists());
    assert_eq!(names_in(&outside), ["keep", "secret.txt"]);
    std::fs::remove_dir(outside.join("keep")).unwrap();
    assert!(!ftp.scratch.path().join("made").exists());
    assert!(!ftp.scratch.path().join("stolen.txt").exists());
    for dir in ["..", "door", "/..", "/tmp"] {
        assert_eq!(
            client.command(&format!("CWD {dir}")).unwrap().code,
            550,
            "CWD {dir}"
        );
    }
    assert_eq!(client.pwd().unwrap(), "/");

    // Nothing outside was read, changed or created; links that stay inside
    // the library work; links that lead out are not even listed.
    assert_eq!(names_in(&outside), ["secret.txt"]);
    assert!(!ftp.scratch.path().join("escaped.txt").exists());
    let mut through_inner = Vec::new();
    client.retrieve("inner-link", &mut through_inner).unwrap();
    assert_eq!(through_inner, b"hello");
    assert_eq!(client.names(None).unwrap(), ["hello.txt", "inner-link"]);
    // DELE removes a link (a name in the library), never what it points at.
    client.delete("absolute-link").unwrap();
    assert!(!library.join("absolute-link").exists());
    assert_eq!(
        std::fs::read(outside.join("secret.txt")).unwrap(),
        b"secret"
    );
    ftp.assert_no_panic();
}

/// APPE and REST+STOR read the old file they keep a part of: that open
/// is confined like every other, so neither copies a file from outside
/// into the library, nor writes outside.
#[test]
fn rest_and_appe_stay_inside_the_library() {
    let ftp = Ftp::start("ftp-append-traversal", &["--quiet"]);
    let outside = ftp.scratch.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("secret.txt"), "secret").unwrap();
    let library = ftp.library();
    std::os::unix::fs::symlink("../outside/secret.txt", library.join("relative-link")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret.txt"), library.join("absolute-link")).unwrap();
    std::os::unix::fs::symlink("../outside", library.join("door")).unwrap();

    let mut client = ftp.client();
    client.command("TYPE I").unwrap();
    let names = [
        "../outside/secret.txt",
        "/../outside/secret.txt",
        "door/secret.txt",
        "relative-link",
        "absolute-link",
        "../escaped.txt",
        "door/escaped.txt",
    ];
    for name in names {
        assert_eq!(
            upload(&mut client, &format!("APPE {name}"), b"+"),
            550,
            "APPE {name}"
        );
        for verb in ["RETR", "STOR"] {
            assert_eq!(client.command("REST 1").unwrap().code, 350);
            let code = match verb {
                "RETR" => fetch(&mut client, name).unwrap_err(),
                _ => upload(&mut client, &format!("STOR {name}"), b"+"),
            };
            assert_eq!(code, 550, "REST 1, {verb} {name}");
        }
    }
    // Nothing outside was changed or created, nothing was copied in, and
    // the links are still links.
    assert_eq!(names_in(&outside), ["secret.txt"]);
    assert_eq!(
        std::fs::read(outside.join("secret.txt")).unwrap(),
        b"secret"
    );
    assert_eq!(names_in(ftp.scratch.path()), ["library", "outside"]);
    assert_eq!(
        ftp.library_names(),
        ["absolute-link", "door", "relative-link"]
    );
    for link in ["absolute-link", "door", "relative-link"] {
        assert!(library.join(link).is_symlink(), "{link}");
    }
    ftp.assert_no_panic();
}

#[test]
fn uploads_in_progress_are_hidden_and_their_names_reserved() {
    let ftp = Ftp::start("ftp-temp-names", &["--quiet"]);
    let mut client = ftp.client();
    client.command("TYPE I").unwrap();
    let mut data = client.start_transfer("STOR growing.bin").unwrap();
    data.write_all(b"first half").unwrap();
    // The temporary file exists, but no client can see or touch it.
    ftp.server
        .wait_until(WAIT, "the temporary file", |_| {
            ftp.library_names().len() == 1
        })
        .unwrap();
    let temp = ftp.library_names().remove(0);
    assert!(
        temp.starts_with(".upload-") && temp.ends_with(".part"),
        "{temp}"
    );
    let mut other = ftp.client();
    assert_eq!(other.names(None).unwrap(), Vec::<String>::new());
    for verb in ["DELE", "STOR"] {
        assert_eq!(
            other.command(&format!("{verb} {temp}")).unwrap().code,
            553,
            "{verb}"
        );
    }
    data.write_all(b", second half").unwrap();
    drop(data);
    client.finish_transfer().unwrap();
    assert_eq!(ftp.library_names(), ["growing.bin"]);
    assert_eq!(
        std::fs::read(ftp.library().join("growing.bin")).unwrap(),
        b"first half, second half"
    );
}

// ---- bounded waits --------------------------------------------------------

#[test]
fn an_idle_control_connection_times_out() {
    let ftp = Ftp::start("ftp-idle", &["--quiet", "--idle-timeout", "1"]);
    let mut raw = ftp.raw();
    raw.login();
    let started = Instant::now();
    let reply = raw.next().unwrap();
    assert_eq!(
        reply.to_string(),
        "421 Idle for 1 s: closing the control connection."
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    assert_eq!(
        raw.next().unwrap_err().kind(),
        std::io::ErrorKind::UnexpectedEof,
        "then the server closes"
    );
    ftp.wait_sessions_over();
}

#[test]
fn a_client_that_never_opens_the_data_connection_gets_425() {
    let ftp = Ftp::start("ftp-data-timeout", &["--quiet", "--data-timeout", "1"]);
    std::fs::write(ftp.library().join("a.txt"), "a").unwrap();
    let mut raw = ftp.raw();
    raw.login();
    assert_eq!(raw.cmd("PASV").code, 227);
    let started = Instant::now();
    assert_eq!(
        raw.cmd("RETR a.txt").to_string(),
        "425 No data connection within 1 s."
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(
        raw.cmd("RETR a.txt").to_string(),
        "425 Use PASV or EPSV first.",
        "one PASV, one transfer"
    );
    assert_eq!(raw.cmd("NOOP").code, 200);
}

#[test]
fn passive_ports_come_from_the_configured_range() {
    let probe = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let range = format!("{port}-{port}");
    let ftp = Ftp::start("ftp-pasv-range", &["--quiet", "--pasv-ports", &range]);
    let mut raw = ftp.raw();
    raw.login();
    let [p1, p2] = port.to_be_bytes();
    assert_eq!(
        raw.cmd("PASV").text(),
        format!("Entering Passive Mode (127,0,0,1,{p1},{p2}).")
    );
    assert_eq!(
        raw.cmd("EPSV").text(),
        format!("Entering Extended Passive Mode (|||{port}|)")
    );
    // Another client holds the range's only port: 425, not a port outside it.
    let mut other = ftp.raw();
    other.login();
    assert_eq!(
        other.cmd("PASV").to_string(),
        format!("425 Cannot open a passive port: every passive port in {range} is in use.")
    );
}

// ---- bad input --------------------------------------------------------------

#[test]
fn commands_get_the_standard_codes() {
    let ftp = Ftp::start("ftp-codes", &["--quiet"]);
    let mut raw = ftp.raw();
    let before_login = [
        ("PASS secret", 503), // out of order: USER comes first
        ("RETR a.txt", 530),  // not logged in
        ("LIST", 530),
        ("USER", 501),       // missing argument
        ("USER root", 530),  // anonymous only
        ("FROBNICATE", 500), // unknown
        ("SYST", 215),
        ("NOOP", 200),
    ];
    let after_login = [
        ("RETR missing.txt", 550),
        ("SIZE missing.txt", 550),
        ("CWD missing", 550),
        ("PASS again", 503),
        ("LIST", 425), // no PASV first
        ("PORT 127,0,0,1,4,1", 502),
        ("EPRT |1|127.0.0.1|1025|", 502),
        ("RNFR missing.txt", 550),
        ("RNTO b.txt", 503), // no RNFR first
        ("MKD", 501),
        ("REST x", 501),
        ("SITE CHMOD 644 a.txt", 502),
        ("TYPE X", 504),
        ("MODE B", 504),
        ("STRU R", 504),
        ("TYPE", 501),
        ("XYZZY plugh", 500),
        ("", 500),
        ("STOR", 501),
        ("OPTS UTF8 ON", 200),
        ("ABOR", 225),
        ("PWD", 257),
    ];
    for (line, code) in before_login {
        assert_eq!(raw.cmd(line).code, code, "{line:?}");
    }
    raw.login();
    for (line, code) in after_login {
        assert_eq!(raw.cmd(line).code, code, "{line:?}");
    }
    let features = raw.cmd("FEAT");
    assert_eq!(features.code, 211);
    assert!(
        features.lines.contains(&" EPSV".to_string()),
        "{features:?}"
    );
    assert_eq!(raw.cmd("QUIT").code, 221);
    assert!(raw.next().is_err(), "QUIT closes the connection");
}

#[test]
fn garbage_never_stops_the_server() {
    let mut ftp = Ftp::start("ftp-garbage", &["--quiet"]);
    // Someone else is in the middle of a session all along.
    let mut bystander = ftp.client();

    let mut raw = ftp.raw();
    raw.send_bytes(b"\x00\xff\xfe garbage \xc3\x28\r\n");
    assert_eq!(raw.reply().code, 500);
    raw.send_bytes(&vec![b'A'; 100_000]);
    raw.send_bytes(b"\r\nNOOP\r\n");
    assert_eq!(raw.reply().to_string(), "500 Command line too long.");
    assert_eq!(raw.reply().code, 200, "the line after the long one is read");
    // Pseudo-random bytes, with line ends among them, then a NOOP: every
    // line is answered, and the NOOP too.
    let noise = pattern(64 * 1024, 99);
    raw.send_bytes(&noise);
    raw.send_bytes(b"\r\nNOOP\r\n");
    loop {
        let reply = raw.reply();
        assert!(
            matches!(reply.code, 200 | 500 | 530 | 503 | 501 | 221),
            "{reply:?}"
        );
        if reply.to_string() == "200 OK." {
            break;
        }
    }
    // A line that never ends is cut off after a bounded amount.
    let mut endless = ftp.raw();
    let _ = endless.stream.write_all(&vec![b'B'; 2 << 20]);
    assert_eq!(
        endless.next().unwrap().to_string(),
        "500 Command line without an end: closing the control connection."
    );
    // Half a command, then a hang-up; a reset.
    let mut half = ftp.raw();
    half.send_bytes(b"RET");
    drop(half);
    let reset = ftp.raw();
    reset_on_close(&reset.stream);
    drop(reset);

    assert_eq!(bystander.command("NOOP").unwrap().code, 200);
    assert!(ftp.server.is_running());
    let mut fresh = ftp.client();
    assert_eq!(fresh.pwd().unwrap(), "/");
    ftp.assert_no_panic();
}

#[test]
fn bad_flags_and_a_bad_root_are_one_clear_line() {
    let usage = [
        (&["--pasv-ports", "6000-5000"][..], "runs backwards"),
        (&["--pasv-ports", "x"][..], "not a port number"),
        (&["--max-upload", "10X"][..], "unknown unit"),
        (&["--idle-timeout", "0"][..], "must be more than 0 seconds"),
        (&["--data-timeout=-1"][..], "non-negative"),
    ];
    for (args, expected) in usage {
        let output = Command::cargo_bin("ftp-server")
            .unwrap()
            .args(args)
            .timeout(WAIT)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let file = tempfile_in_scratch();
    let output = Command::cargo_bin("ftp-server")
        .unwrap()
        .args([
            "--port",
            "0",
            "--root",
            file.path().join("file").to_str().unwrap(),
        ])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("ftp-server: cannot create the library "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// A scratch directory holding a regular file named `file`.
fn tempfile_in_scratch() -> lsbaws_harness::ScratchDir {
    let scratch = lsbaws_harness::ScratchDir::new("ftp-bad-root").unwrap();
    std::fs::write(scratch.path().join("file"), "not a directory").unwrap();
    scratch
}

#[test]
fn a_busy_port_is_one_clear_line() {
    let ftp = Ftp::start("ftp-busy", &["--quiet"]);
    let output = Command::cargo_bin("ftp-server")
        .unwrap()
        .args([
            "--port",
            &ftp.server.port().to_string(),
            "--root",
            ftp.library().to_str().unwrap(),
        ])
        .timeout(WAIT)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("ftp-server: bind() on 127.0.0.1:") && stderr.contains("EADDRINUSE"),
        "{stderr}"
    );
}

/// The atomic upload, on its own: the target changes only at commit, and
/// an upload dropped before it leaves nothing behind.
mod atomic_file {
    use lsbaws::ftp::atomic_file::AtomicFile;
    use lsbaws_harness::{names_in, ScratchDir};
    use nix::fcntl::OFlag;
    use nix::sys::stat::Mode;
    use std::io::Write;
    use std::os::fd::OwnedFd;

    fn scratch(label: &str) -> ScratchDir {
        ScratchDir::new(label).unwrap()
    }

    fn dir_fd(path: &std::path::Path) -> OwnedFd {
        nix::fcntl::open(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY, Mode::empty()).unwrap()
    }

    #[test]
    fn the_target_changes_only_at_commit() {
        let dir = scratch("atomic-commit");
        std::fs::write(dir.path().join("a.txt"), "old").unwrap();
        let mut file = AtomicFile::create(dir_fd(dir.path()), "a.txt").unwrap();
        file.file().write_all(b"new contents").unwrap();
        assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"old");
        assert_eq!(
            names_in(dir.path()).len(),
            2,
            "the temporary file is beside the target"
        );
        file.commit().unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("a.txt")).unwrap(),
            b"new contents"
        );
        assert_eq!(names_in(dir.path()), ["a.txt"]);
    }

    #[test]
    fn dropping_an_uncommitted_file_leaves_nothing_behind() {
        let dir = scratch("atomic-drop");
        std::fs::write(dir.path().join("a.txt"), "old").unwrap();
        let mut file = AtomicFile::create(dir_fd(dir.path()), "a.txt").unwrap();
        file.file().write_all(b"half of it").unwrap();
        drop(file);
        assert_eq!(names_in(dir.path()), ["a.txt"]);
        assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"old");
    }
}
