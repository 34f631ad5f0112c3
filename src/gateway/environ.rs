//! The request's environment: the CGI meta-variables of RFC 3875 that WSGI
//! requires, plus the body (WSGI's `wsgi.input`).

use crate::http::{Request, Text};
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// What the server knows about the connection a request came on.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    /// `SERVER_SOFTWARE`: `webserver2/0.1.0`.
    pub software: String,
    /// The server's end of the connection (`getsockname`).
    pub local: SocketAddr,
    /// The client's end (`getpeername`).
    pub peer: SocketAddr,
    /// WSGI's `wsgi.multiprocess`: may another process run the same app
    /// at the same time (a forking server)?
    pub multiprocess: bool,
    /// WSGI's `wsgi.multithread`: may another thread?
    pub multithread: bool,
}

/// One request as an application sees it.
#[derive(Debug, Clone, Default)]
pub struct Environ {
    vars: BTreeMap<String, String>,
    input: Vec<u8>,
    /// `wsgi.multiprocess`.
    pub multiprocess: bool,
    /// `wsgi.multithread`.
    pub multithread: bool,
}

// ANCHOR: from_request
impl Environ {
    /// Build the environment of `request`, as the server side of WSGI does
    /// in `get_environ()`.
    pub fn from_request(request: &Request, server: &ServerInfo) -> Environ {
        let mut vars = BTreeMap::new();
        let mut set = |name: &str, value: String| {
            vars.insert(name.to_string(), value);
        };
        set("GATEWAY_INTERFACE", "CGI/1.1".into());
        set("SERVER_SOFTWARE", server.software.clone());
        set(
            "SERVER_PROTOCOL",
            format!("HTTP/1.{}", request.minor_version),
        );
        set("SERVER_NAME", server_name(request, server));
        set("SERVER_PORT", server.local.port().to_string());
        set("REMOTE_ADDR", server.peer.ip().to_string());
        set("REMOTE_PORT", server.peer.port().to_string());
        set("REQUEST_METHOD", request.method.to_string());
        // The application is mounted at the root: all of the path is its own.
        set("SCRIPT_NAME", String::new());
        set("PATH_INFO", request.path.to_string());
        set("QUERY_STRING", request.query.to_string());
        if let Some(content_type) = request.header("content-type") {
            set("CONTENT_TYPE", content_type.to_string());
        }
        if request.header("content-length").is_some() || !request.body.is_empty() {
            set("CONTENT_LENGTH", request.body.len().to_string());
        }
        for (name, value) in protocol_variables(&request.headers) {
            vars.insert(name, value);
        }
        Environ {
            vars,
            input: request.body.clone(),
            multiprocess: server.multiprocess,
            multithread: server.multithread,
        }
    }
}

/// `HTTP_*` variables: `User-Agent: curl` becomes `HTTP_USER_AGENT=curl`.
fn protocol_variables(headers: &[(Text, Text)]) -> BTreeMap<String, String> {
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        // Already CONTENT_TYPE / CONTENT_LENGTH (RFC 3875, 4.1.18).
        if name.eq_ignore_ascii_case("content-type") || name.eq_ignore_ascii_case("content-length")
        {
            continue;
        }
        // `X-User` and `X_User` would both become HTTP_X_USER, letting a
        // client forge a header a proxy in front of us set; nginx and
        // Apache drop names with underscores for that reason.
        // `Proxy:` would become HTTP_PROXY, which many HTTP libraries take
        // as *their* proxy setting (the "httpoxy" hole, CVE-2016-5385).
        if name.contains('_') || name.eq_ignore_ascii_case("proxy") {
            continue;
        }
        let key = format!("HTTP_{}", name.to_ascii_uppercase().replace('-', "_"));
        // A header sent twice is one list: `a, b` (cookies use `; `).
        let separator = if key == "HTTP_COOKIE" { "; " } else { ", " };
        vars.entry(key)
            .and_modify(|joined| {
                joined.push_str(separator);
                joined.push_str(value);
            })
            .or_insert_with(|| value.to_string());
    }
    vars
}
// ANCHOR_END: from_request

/// `SERVER_NAME`: the host the client asked for (the `Host` header without
/// its port), or the address it connected to.
fn server_name(request: &Request, server: &ServerInfo) -> String {
    let from_host = request.header("host").map(|host| {
        match host.rsplit_once(':') {
            // `[::1]:8080` or `example.com:8080`, but not a bare `[::1]`.
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            _ => host,
        }
        .trim()
        .to_string()
    });
    from_host
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| server.local.ip().to_string())
}

impl Environ {
    /// An environment from given variables and body (for tests, and for
    /// servers that build one another way).
    pub fn new<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
        input: Vec<u8>,
    ) -> Environ {
        let vars = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Environ {
            vars,
            input,
            multiprocess: false,
            multithread: false,
        }
    }

    /// A CGI variable (`"REQUEST_METHOD"`), if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// `REQUEST_METHOD`: `GET`, `POST`, ...
    pub fn method(&self) -> &str {
        self.get("REQUEST_METHOD").unwrap_or("GET")
    }

    /// `PATH_INFO`: the request path, percent-decoded (`/hello/Ada Lovelace`).
    pub fn path_info(&self) -> &str {
        self.get("PATH_INFO").unwrap_or("/")
    }

    /// `QUERY_STRING`: what followed `?`, still encoded.
    pub fn query_string(&self) -> &str {
        self.get("QUERY_STRING").unwrap_or("")
    }

    /// A request header by its HTTP name (`"User-Agent"`), via `HTTP_*`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.get(&format!(
            "HTTP_{}",
            name.to_ascii_uppercase().replace('-', "_")
        ))
    }

    /// `wsgi.input`: the request body.
    pub fn input(&self) -> &[u8] {
        &self.input
    }

    /// Every CGI variable, sorted by name: what a CGI script gets as its
    /// environment.
    pub fn vars(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{parse_request, Limits, Parse};

    fn environ_of(text: &[u8]) -> Environ {
        let Parse::Complete { request, .. } = parse_request(text, &Limits::default()) else {
            panic!("not a complete request")
        };
        let server = ServerInfo {
            software: "test/1".into(),
            local: "127.0.0.1:8080".parse().unwrap(),
            peer: "127.0.0.1:54321".parse().unwrap(),
            multiprocess: true,
            multithread: false,
        };
        Environ::from_request(&request, &server)
    }

    #[test]
    fn the_cgi_variables_wsgi_requires() {
        let environ = environ_of(
            b"POST /hello/Ada%20L?x=1&y=%41 HTTP/1.1\r\nHost: example.com:8080\r\n\
User-Agent: curl/8\r\nContent-Type: application/x-www-form-urlencoded\r\n\
Content-Length: 9\r\n\r\nname=Ada!",
        );
        assert_eq!(environ.method(), "POST");
        assert_eq!(environ.path_info(), "/hello/Ada L");
        assert_eq!(environ.query_string(), "x=1&y=%41");
        assert_eq!(environ.get("SCRIPT_NAME"), Some(""));
        assert_eq!(environ.get("SERVER_NAME"), Some("example.com"));
        assert_eq!(environ.get("SERVER_PORT"), Some("8080"));
        assert_eq!(environ.get("SERVER_PROTOCOL"), Some("HTTP/1.1"));
        assert_eq!(environ.get("REMOTE_ADDR"), Some("127.0.0.1"));
        assert_eq!(
            environ.get("CONTENT_TYPE"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(environ.get("CONTENT_LENGTH"), Some("9"));
        assert_eq!(environ.get("HTTP_USER_AGENT"), Some("curl/8"));
        assert_eq!(environ.header("user-agent"), Some("curl/8"));
        assert_eq!(
            environ.get("HTTP_CONTENT_TYPE"),
            None,
            "not duplicated as HTTP_*"
        );
        assert_eq!(environ.input(), b"name=Ada!");
        assert!(environ.multiprocess && !environ.multithread);
    }

    #[test]
    fn no_body_no_content_length_and_defaults() {
        let environ = environ_of(b"GET / HTTP/1.0\r\n\r\n");
        assert_eq!(environ.get("CONTENT_LENGTH"), None);
        assert_eq!(environ.get("CONTENT_TYPE"), None);
        assert_eq!(environ.query_string(), "");
        assert_eq!(
            environ.get("SERVER_NAME"),
            Some("127.0.0.1"),
            "no Host: the address"
        );
        assert_eq!(environ.get("SERVER_PROTOCOL"), Some("HTTP/1.0"));
    }

    #[test]
    fn repeated_headers_join_and_dangerous_ones_are_dropped() {
        let environ = environ_of(
            b"GET / HTTP/1.1\r\nAccept: a\r\nAccept: b\r\nCookie: x=1\r\nCookie: y=2\r\n\
X_Forwarded_For: 6.6.6.6\r\nProxy: http://evil:3128\r\nHost: [::1]:81\r\n\r\n",
        );
        assert_eq!(environ.get("HTTP_ACCEPT"), Some("a, b"));
        assert_eq!(environ.get("HTTP_COOKIE"), Some("x=1; y=2"));
        assert_eq!(environ.get("HTTP_X_FORWARDED_FOR"), None);
        assert_eq!(environ.get("HTTP_PROXY"), None);
        assert_eq!(environ.get("SERVER_NAME"), Some("[::1]"));
    }
}
