//! Mistakes in the example code of the tutorials the course comes from,
//! each made impossible here and checked from outside, on the real
//! servers: a 404 without `Content-Length` on a kept-alive connection, and
//! an epoll loop that compares an event mask with `==`.

use lsbaws_harness::client::{read_response, reset_on_close};
use lsbaws_harness::{procfs, Launch, Server, KEEP_ALIVE_MODELS};
use std::io::Write;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn start(name: &str) -> Server {
    Launch::new(name).arg("--quiet").start().unwrap()
}

/// The tutorial's keep-alive server sends `Content-Length` with its 200
/// and not with its 404: after a missing file, the browser cannot tell
/// where the error page ends and waits on the connection. Here a 404 has a
/// length like every response, and the same connection serves the next
/// request.
#[test]
fn a_404_on_a_kept_alive_connection_has_a_length_and_the_connection_goes_on() {
    for name in KEEP_ALIVE_MODELS {
        let server = start(name);
        let mut client = server.connect();
        client
            .write_all(b"GET /no-such-file.html HTTP/1.1\r\nHost: test\r\n\r\n")
            .unwrap();
        let missing = read_response(&mut client, WAIT)
            .unwrap_or_else(|e| panic!("{name}: the 404 never ended: {e}"));
        assert!(
            missing.status_line().starts_with("HTTP/1.1 404"),
            "{name}: {}",
            missing.head
        );
        assert!(
            missing
                .head
                .to_ascii_lowercase()
                .contains("content-length:"),
            "{name}: a 404 without Content-Length: {}",
            missing.head
        );
        client
            .write_all(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            .unwrap();
        let next = read_response(&mut client, WAIT)
            .unwrap_or_else(|e| panic!("{name}: no answer after the 404: {e}"));
        assert_eq!(next.status_line(), "HTTP/1.1 200 OK", "{name}");
    }
}

/// The tutorial's epoll loop tests `event == EPOLLIN`. A client that
/// resets its connection makes epoll report EPOLLIN together with EPOLLHUP
/// and EPOLLERR: the mask is not equal to EPOLLIN, no branch handles the
/// socket, it is never closed, and level-triggered epoll reports it again
/// at once, for ever: a descriptor leak and a spinning core. Here the
/// server closes the socket and goes back to sleep.
#[test]
fn a_reset_connection_is_closed_and_the_epoll_loop_sleeps() {
    for name in ["webserver4e", "webserver4g"] {
        let server = start(name);
        let pid = server.pid().as_raw();
        let baseline = procfs::descriptors(pid).len();
        for _ in 0..5 {
            let client = server.connect();
            // An unfinished request, then RST: unread bytes or not, the
            // server sees its socket readable, hung up and in error at once.
            (&client).write_all(b"GET / HTTP/1.1\r\n").unwrap();
            reset_on_close(&client);
            drop(client);
        }
        server
            .wait_until(WAIT, "the reset sockets to be closed", |_| {
                procfs::descriptors(pid).len() == baseline
            })
            .unwrap_or_else(|e| panic!("{name}: {e}: {:?}", procfs::descriptors(pid)));
        let before = server.cpu_time();
        std::thread::sleep(Duration::from_secs(1));
        let used = server.cpu_time() - before;
        assert!(
            used <= Duration::from_millis(50),
            "{name} used {used:?} of CPU in the second after the resets"
        );
        assert!(server.stderr().is_empty(), "{name}: {}", server.stderr());
    }
}
