//! Part 2: applications behind the gateway interface, under the iterative
//! `webserver2` and the forking `webserver3h`, and programs in any language
//! behind the CGI bridge — including the Python standard library's WSGI
//! demo application, and CGI programs that really crash, hang or print
//! garbage.

use assert_cmd::Command;
use lsbaws_harness::client::{burst, read_response, reset_on_close, Response};
use lsbaws_harness::{Launch, Server};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);
const SERVERS: [&str; 2] = ["webserver2", "webserver3h"];

fn start(server: &str, args: &[&str]) -> Server {
    Launch::new(server)
        .arg("--quiet")
        .args(args)
        .start()
        .unwrap()
}

/// `cgi:/abs/path/examples/cgi/NAME`
fn cgi(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/cgi")
        .join(name);
    format!("cgi:{}", path.display())
}

/// Send one raw request, read one response.
fn exchange(addr: SocketAddr, request: &[u8]) -> Response {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.write_all(request).unwrap();
    read_response(&mut stream, WAIT)
        .unwrap_or_else(|e| panic!("no response to {:?}: {e}", String::from_utf8_lossy(request)))
}

fn get(addr: SocketAddr, target: &str) -> Response {
    exchange(
        addr,
        format!("GET {target} HTTP/1.1\r\nHost: test\r\nX-Test: yes\r\n\r\n").as_bytes(),
    )
}

fn post_form(addr: SocketAddr, target: &str, body: &str) -> Response {
    let request = format!(
        "POST {target} HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    exchange(addr, request.as_bytes())
}

fn text(response: &Response) -> String {
    String::from_utf8_lossy(&response.body).into_owned()
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// After the request, every process the server started is gone: the CGI
/// program was reaped, and (3h) the child that ran it too.
fn assert_nothing_left(server: &Server) {
    server
        .wait_until(WAIT, "every child to be reaped", |s| {
            s.children().is_empty()
        })
        .unwrap();
}

// ---- built-in applications, under both servers ----------------------------------

#[test]
fn hello_app_under_both_servers() {
    for name in SERVERS {
        let server = start(name, &["hello"]);
        let response = get(server.addr(), "/anything");
        assert_eq!(response.status_line(), "HTTP/1.1 200 OK", "{name}");
        assert_eq!(response.body, b"Hello, World!\n", "{name}");
        assert_eq!(
            header(&response, "Content-Type"),
            Some("text/plain; charset=utf-8")
        );
        // HEAD: the same head, no body.
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        stream
            .write_all(b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let mut head = Vec::new();
        std::io::Read::read_to_end(&mut stream, &mut head).unwrap();
        let head = String::from_utf8(head).unwrap();
        assert!(
            head.ends_with("Content-Length: 14\r\nConnection: close\r\n\r\n"),
            "{name}: {head}"
        );
    }
}

#[test]
fn environ_app_sees_the_cgi_variables_under_both_servers() {
    for (name, multiprocess) in [("webserver2", false), ("webserver3h", true)] {
        let server = start(name, &["environ"]);
        let body = text(&get(server.addr(), "/a%20b/c?x=1&y=%41"));
        for expected in [
            "REQUEST_METHOD = \"GET\"".to_string(),
            "PATH_INFO = \"/a b/c\"".to_string(),
            "QUERY_STRING = \"x=1&y=%41\"".to_string(),
            "SCRIPT_NAME = \"\"".to_string(),
            "SERVER_NAME = \"test\"".to_string(),
            format!("SERVER_PORT = \"{}\"", server.port()),
            "SERVER_PROTOCOL = \"HTTP/1.1\"".to_string(),
            format!("SERVER_SOFTWARE = \"{name}/"),
            "HTTP_X_TEST = \"yes\"".to_string(),
            "REMOTE_ADDR = \"127.0.0.1\"".to_string(),
            format!("wsgi.multiprocess = {multiprocess}"),
        ] {
            assert!(
                body.contains(&expected),
                "{name}: no {expected:?} in\n{body}"
            );
        }
        let posted = post_form(server.addr(), "/", "a=1");
        assert!(text(&posted).contains("CONTENT_LENGTH = \"3\""), "{name}");
        assert!(text(&posted).contains("CONTENT_TYPE = \"application/x-www-form-urlencoded\""));
        assert!(text(&posted).contains("wsgi.input = 3 bytes"));
    }
}

#[test]
fn greeter_framework_app_under_both_servers() {
    for name in SERVERS {
        let server = start(name, &["greeter"]);
        let addr = server.addr();

        let page = get(addr, "/");
        assert_eq!(page.status_line(), "HTTP/1.1 200 OK");
        assert!(
            text(&page).contains("<form method=\"post\" action=\"/greet\">"),
            "{name}"
        );

        let greeted = post_form(addr, "/greet", "name=Ada+%3Cb%3ELovelace&greeting=Bonjour");
        assert_eq!(greeted.status_line(), "HTTP/1.1 200 OK", "{name}");
        assert!(
            text(&greeted).contains("<h1>Bonjour, Ada &lt;b&gt;Lovelace!</h1>"),
            "{name}: {}",
            text(&greeted)
        );

        assert_eq!(text(&get(addr, "/hello/World?greeting=Hi")), "Hi, World!\n");
        assert_eq!(
            text(&get(addr, "/hello/Ada%20Lovelace")),
            "Hello, Ada Lovelace!\n"
        );

        assert_eq!(
            post_form(addr, "/greet", "name=").status_line(),
            "HTTP/1.1 400 Bad Request"
        );
        assert_eq!(
            post_form(addr, "/greet", "name=%zz").status_line(),
            "HTTP/1.1 400 Bad Request"
        );
        assert_eq!(
            get(addr, "/no/such/page").status_line(),
            "HTTP/1.1 404 Not Found"
        );
        let wrong = get(addr, "/greet");
        assert_eq!(wrong.status_line(), "HTTP/1.1 405 Method Not Allowed");
        assert_eq!(header(&wrong, "Allow"), Some("POST"));
        let json = exchange(
            addr,
            b"POST /greet HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
        );
        // The application's own reason phrase reaches the client.
        assert_eq!(json.status_line(), "HTTP/1.1 415 Unsupported Media Type");
    }
}

#[test]
fn webserver3h_reaps_every_child() {
    let mut server = start("webserver3h", &["hello"]);
    assert_eq!(
        burst(server.addr(), 64, WAIT),
        64,
        "every client is answered"
    );
    assert_nothing_left(&server);
    assert!(server.is_running(), "{}", server.stderr());
}

// ---- the CGI bridge ---------------------------------------------------------------

#[test]
fn cgi_bridge_runs_the_stdlib_wsgi_demo_app() {
    for name in SERVERS {
        let server = start(name, &[&cgi("wsgi_demo.py")]);
        let response = get(server.addr(), "/some/path?a=1");
        assert_eq!(
            response.status_line(),
            "HTTP/1.1 200 OK",
            "{name}: {}",
            server.stderr()
        );
        let body = text(&response);
        assert!(body.starts_with("Hello world!\n"), "{name}: {body}");
        // demo_app prints the environ CGIHandler built from our variables.
        for expected in [
            "REQUEST_METHOD = 'GET'",
            "PATH_INFO = '/some/path'",
            "QUERY_STRING = 'a=1'",
            "GATEWAY_INTERFACE = 'CGI/1.1'",
            "HTTP_X_TEST = 'yes'",
            "wsgi.run_once = True",
        ] {
            assert!(
                body.contains(expected),
                "{name}: no {expected:?} in\n{body}"
            );
        }
        // The program gets the request's variables, not the server's own
        // environment (cargo runs the tests with CARGO_PKG_NAME set).
        assert!(std::env::var("CARGO_PKG_NAME").is_ok());
        assert!(
            !body.contains("CARGO_PKG_NAME"),
            "{name} leaked its environment:\n{body}"
        );
        assert_nothing_left(&server);
    }
}

#[test]
fn cgi_bridge_posts_a_form_to_a_python_wsgi_app() {
    for name in SERVERS {
        let server = start(name, &[&cgi("wsgi_form.py")]);
        let form = get(server.addr(), "/");
        assert!(
            text(&form).contains("<form method=\"post\">"),
            "{name}: {}",
            server.stderr()
        );

        let answer = post_form(server.addr(), "/", "name=Grace+%3CHopper%3E");
        assert_eq!(answer.status_line(), "HTTP/1.1 200 OK", "{name}");
        assert!(
            text(&answer).contains("<p>Hello, Grace &lt;Hopper&gt;!</p>"),
            "{name}: {}",
            text(&answer)
        );

        // A body larger than a pipe's buffer (64 KiB) goes in while the
        // answer comes out: neither side blocks the other.
        let big = format!("name=Big&padding={}", "x".repeat(300_000));
        let answer = post_form(server.addr(), "/", &big);
        assert!(
            text(&answer).contains(&format!("({} bytes of form data)", big.len())),
            "{name}: {}",
            text(&answer)
        );
        assert_nothing_left(&server);
    }
}

#[test]
fn cgi_failures_are_502_and_the_server_goes_on() {
    let cases = [
        ("crash", "exited with status 1"),
        ("killed", "was killed by SIGKILL"),
        ("garbage", "a header line without a colon"),
        ("nothing", "it printed nothing"),
        ("flood", "printed more than"),
    ];
    for name in SERVERS {
        let mut server = start(name, &[&cgi("misbehave.py")]);
        for (mode, logged) in cases {
            let response = get(server.addr(), &format!("/?do={mode}"));
            assert_eq!(
                response.status_line(),
                "HTTP/1.1 502 Bad Gateway",
                "{name} ?do={mode}"
            );
            server
                .wait_until(WAIT, "the failure to be logged", |s| {
                    s.stderr().contains(logged)
                })
                .unwrap();
            // ... and the next request is served as usual.
            assert_eq!(
                text(&get(server.addr(), "/?do=ok")),
                "ok: all good\n",
                "{name} after {mode}"
            );
            assert_nothing_left(&server);
        }
        let stderr = server.stderr();
        assert!(
            stderr.contains("ZeroDivisionError"),
            "the program's traceback is in the log: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(server.is_running());
    }
}

#[test]
fn a_hanging_cgi_program_gets_504_within_the_timeout() {
    for name in SERVERS {
        let mut server = start(name, &["--cgi-timeout", "1", &cgi("misbehave.py")]);
        let began = Instant::now();
        let response = get(server.addr(), "/?do=hang");
        let took = began.elapsed();
        assert_eq!(
            response.status_line(),
            "HTTP/1.1 504 Gateway Timeout",
            "{name}"
        );
        assert!(
            took >= Duration::from_millis(900) && took < Duration::from_secs(5),
            "{name}: {took:?}"
        );
        assert!(
            server
                .stderr()
                .contains("ran longer than 1s and was killed"),
            "{}",
            server.stderr()
        );
        // Killed and reaped: no sleeping program, no zombie.
        assert_nothing_left(&server);
        assert_eq!(text(&get(server.addr(), "/?do=ok")), "ok: all good\n");
        assert!(server.is_running());
    }
}

#[test]
fn webserver3h_runs_slow_programs_side_by_side() {
    // Three requests that each take 1 s: about 1 s in all under the forking
    // server, 3 s under the iterative one.
    for (name, concurrent) in [("webserver3h", true), ("webserver2", false)] {
        let server = start(name, &[&cgi("misbehave.py")]);
        let addr = server.addr();
        let began = Instant::now();
        let clients: Vec<_> = (0..3)
            .map(|_| std::thread::spawn(move || text(&get(addr, "/?do=slow"))))
            .collect();
        for client in clients {
            assert_eq!(client.join().unwrap(), "slow: all good\n");
        }
        let took = began.elapsed();
        if concurrent {
            assert!(took < Duration::from_millis(2500), "{name} took {took:?}");
        } else {
            assert!(
                took >= Duration::from_millis(2900),
                "{name} took only {took:?}"
            );
        }
    }
}

// ---- bad input ----------------------------------------------------------------------

#[test]
fn an_oversized_body_gets_413() {
    for name in SERVERS {
        let server = start(name, &["--max-body", "1000", "greeter"]);
        let fits = format!("name={}", "a".repeat(995));
        assert_eq!(
            post_form(server.addr(), "/greet", &fits).status_line(),
            "HTTP/1.1 200 OK",
            "{name}"
        );

        // A client that sends its whole body before it reads (Python's
        // http.client, requests) must be able to finish sending, or it
        // reports "connection reset" and never sees the 413. So the server
        // shuts down its side and drains, rather than close with unread
        // bytes (which makes the kernel answer the upload with RST).
        let body = vec![b'a'; 16 * 1024 * 1024]; // more than socket buffers hold
        let mut stream = TcpStream::connect(server.addr()).unwrap();
        let head = format!(
            "POST /greet HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let mut writer = stream.try_clone().unwrap();
        let sender = std::thread::spawn(move || {
            writer
                .write_all(head.as_bytes())
                .and_then(|()| writer.write_all(&body))
        });
        let sent = sender.join().unwrap();
        assert!(sent.is_ok(), "{name}: the upload was cut off: {sent:?}");
        let response = read_response(&mut stream, WAIT).unwrap();
        assert_eq!(
            response.status_line(),
            "HTTP/1.1 413 Content Too Large",
            "{name}"
        );
        drop(stream);
        assert_eq!(
            post_form(server.addr(), "/greet", "name=next").status_line(),
            "HTTP/1.1 200 OK"
        );
    }
}

#[test]
fn an_unknown_app_lists_the_available_ones() {
    for name in SERVERS {
        let output = Command::cargo_bin(name)
            .unwrap()
            .args(["--port", "0", "flaskapp:app"])
            .timeout(WAIT)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("no application named \"flaskapp:app\""),
            "{stderr}"
        );
        for app in ["hello", "environ", "greeter", "cgi:PATH"] {
            assert!(stderr.contains(app), "{name}: {app} not listed in {stderr}");
        }
        assert!(!stderr.contains("panicked"));
    }
    let not_executable = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    for (spec, expected) in [
        ("cgi:/no/such/program".to_string(), "No such file"),
        (
            format!("cgi:{}", not_executable.display()),
            "is not executable — `chmod +x",
        ),
    ] {
        let output = Command::cargo_bin("webserver2")
            .unwrap()
            .args(["--port", "0", &spec])
            .timeout(WAIT)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{spec}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{spec}: {stderr}");
    }
}

#[test]
fn rude_clients_do_not_stop_either_server() {
    for name in SERVERS {
        let mut server = start(name, &["hello"]);
        let addr = server.addr();
        drop(TcpStream::connect(addr).unwrap()); // connect and leave

        let garbage = exchange(addr, b"\x00\xff garbage \xc3\x28\r\n\r\n");
        assert_eq!(garbage.status_line(), "HTTP/1.1 400 Bad Request", "{name}");

        let mut half = TcpStream::connect(addr).unwrap();
        half.write_all(b"GET / HTTP/1.1\r\nHost: x").unwrap();
        half.shutdown(std::net::Shutdown::Write).unwrap(); // stops mid-head
        assert_eq!(
            read_response(&mut half, WAIT).unwrap().status_line(),
            "HTTP/1.1 400 Bad Request"
        );

        let reset = TcpStream::connect(addr).unwrap();
        (&reset).write_all(b"GET / HTTP/1.1\r\n").unwrap();
        reset_on_close(&reset);
        drop(reset); // RST mid-request

        assert_eq!(get(addr, "/").body, b"Hello, World!\n", "{name}");
        assert!(server.is_running(), "{name}: {}", server.stderr());
        assert!(!server.stderr().contains("panicked"), "{}", server.stderr());
    }
}

/// The virtualenv of the pinned frameworks (`book/cgi-venv`, which
/// `.ci/run` runs), as a PATH that finds its `python3` first; None, with
/// the reason printed, where it has not been made.
fn frameworks_path() -> Option<String> {
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/cgi-venv/bin");
    if !bin.join("python3").exists() {
        eprintln!(
            "skipped: no Flask, Pyramid and Django virtualenv in {} (make it with book/cgi-venv)",
            bin.display()
        );
        return None;
    }
    Some(format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    ))
}

/// The original tutorial's three frameworks, each application unchanged
/// behind the same servers through CGI: the application's body, status
/// and reason phrase reach the client; the server adds its own headers.
#[test]
fn flask_pyramid_and_django_apps_run_unchanged_through_the_cgi_bridge() {
    let Some(path) = frameworks_path() else {
        return;
    };
    let apps = [
        ("flask_app.py", "Flask", "HTTP/1.1 404 NOT FOUND"),
        ("pyramid_app.py", "Pyramid", "HTTP/1.1 404 Not Found"),
        ("django_app.py", "Django", "HTTP/1.1 404 Not Found"),
    ];
    for name in SERVERS {
        for (script, framework, not_found) in apps {
            let server = Launch::new(name)
                .arg("--quiet")
                .arg(cgi(script))
                .env("PATH", &path)
                .start()
                .unwrap();
            let response = get(server.addr(), "/hello/Ada?greeting=Hi");
            assert_eq!(
                response.status_line(),
                "HTTP/1.1 200 OK",
                "{name} {framework}: {}",
                server.stderr()
            );
            assert_eq!(text(&response), format!("Hi, Ada, from {framework}!\n"));
            for name_of_header in ["Server", "Date", "Content-Type", "Content-Length"] {
                assert!(
                    header(&response, name_of_header).is_some(),
                    "{name} {framework}: no {name_of_header}: {}",
                    response.head
                );
            }
            // The framework's own reason phrase reaches the client.
            assert_eq!(get(server.addr(), "/nope").status_line(), not_found);
            assert_nothing_left(&server);
        }
    }
}
