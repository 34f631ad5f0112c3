//! A micro web framework, in the spirit of Flask and Pyramid, written
//! against the gateway interface only.
//!
//! A framework is what sits between the interface and application code: it
//! is itself one [`Application`], and it turns the raw environment into
//! something nicer — it picks a *view* function by method and path
//! (`/hello/<name>`), hands it the path's parameters, the query and the
//! form, and turns the [`Reply`] it returns into `start_response` and a
//! body. Unknown paths get 404, a known path with the wrong method 405.
//!
//! ```
//! use lsbaws::apps::framework::{Reply, Req, Router};
//!
//! fn hello(req: &Req) -> Reply {
//!     Reply::text(format!("Hello, {}!\n", req.param("name")))
//! }
//! let app = Router::new().route("GET", "/hello/<name>", hello);
//! ```

use crate::gateway::{Application, Environ, StartResponse};
use crate::urlencoded;

/// A view: a request in, a reply out.
pub type View = fn(&Req) -> Reply;

/// The application: a table of routes.
#[derive(Default)]
pub struct Router {
    routes: Vec<Route>,
}

struct Route {
    method: &'static str,
    pattern: Vec<Segment>,
    view: View,
}

enum Segment {
    Literal(&'static str),
    /// `<name>`: one path segment, whatever it is.
    Param(&'static str),
}

/// What a view sees of the request.
pub struct Req<'a> {
    pub environ: &'a Environ,
    params: Vec<(&'static str, String)>,
}

/// What a view returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Router {
    pub fn new() -> Router {
        Router::default()
    }

    /// Send `method` requests for paths matching `pattern` (`/`,
    /// `/hello/<name>`) to `view`.
    pub fn route(mut self, method: &'static str, pattern: &'static str, view: View) -> Router {
        let pattern = pattern
            .split('/')
            .filter(|s| !s.is_empty())
            .map(
                |s| match s.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
                    Some(name) => Segment::Param(name),
                    None => Segment::Literal(s),
                },
            )
            .collect();
        self.routes.push(Route {
            method,
            pattern,
            view,
        });
        self
    }
}

impl Route {
    /// The parameters, if `path` matches this route's pattern.
    fn matches(&self, path: &str) -> Option<Vec<(&'static str, String)>> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if segments.len() != self.pattern.len() {
            return None;
        }
        let mut params = Vec::new();
        for (segment, expected) in segments.iter().zip(&self.pattern) {
            match expected {
                Segment::Literal(literal) if literal == segment => {}
                Segment::Literal(_) => return None,
                Segment::Param(name) => params.push((*name, segment.to_string())),
            }
        }
        Some(params)
    }
}

// ANCHOR: dispatch
impl Application for Router {
    fn call(&self, environ: &Environ, start_response: &mut StartResponse) -> Vec<u8> {
        let method = environ.method();
        let mut allowed = Vec::new();
        for route in &self.routes {
            let Some(params) = route.matches(environ.path_info()) else {
                continue;
            };
            // HEAD is GET without the body (the server drops the body).
            if route.method == method || (method == "HEAD" && route.method == "GET") {
                return (route.view)(&Req { environ, params }).send(start_response);
            }
            allowed.push(route.method);
        }
        let reply = if allowed.is_empty() {
            Reply::text("Not Found\n").with_status("404 Not Found")
        } else {
            Reply::text("Method Not Allowed\n")
                .with_status("405 Method Not Allowed")
                .with_header("Allow", allowed.join(", "))
        };
        reply.send(start_response)
    }
}
// ANCHOR_END: dispatch

impl Req<'_> {
    /// A `<name>` parameter of the route (empty if the route has none).
    pub fn param(&self, name: &str) -> &str {
        self.params
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The query string's pairs; a malformed query is a 400.
    pub fn query(&self) -> Result<Vec<(String, String)>, Reply> {
        urlencoded::parse(self.environ.query_string())
            .ok_or_else(|| bad_request("malformed query string"))
    }

    /// The POSTed form's pairs (`application/x-www-form-urlencoded`).
    /// Another content type is a 415, a malformed body a 400.
    pub fn form(&self) -> Result<Vec<(String, String)>, Reply> {
        let content_type = self.environ.get("CONTENT_TYPE").unwrap_or("");
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(
                Reply::text("expected an HTML form (application/x-www-form-urlencoded)\n")
                    .with_status("415 Unsupported Media Type"),
            );
        }
        let body = std::str::from_utf8(self.environ.input())
            .map_err(|_| bad_request("form data is not UTF-8"))?;
        urlencoded::parse(body).ok_or_else(|| bad_request("malformed form data"))
    }
}

fn bad_request(why: &str) -> Reply {
    Reply::text(format!("Bad Request: {why}\n")).with_status("400 Bad Request")
}

impl Reply {
    pub fn text(body: impl Into<String>) -> Reply {
        Reply::ok(body.into().into_bytes(), "text/plain; charset=utf-8")
    }

    pub fn html(body: impl Into<String>) -> Reply {
        Reply::ok(body.into().into_bytes(), "text/html; charset=utf-8")
    }

    /// 303 See Other: after a POST, send the browser to a page it may GET
    /// (so that reloading does not post the form again).
    pub fn see_other(location: &str) -> Reply {
        Reply::text(format!("See {location}\n"))
            .with_status("303 See Other")
            .with_header("Location", location)
    }

    fn ok(body: Vec<u8>, content_type: &str) -> Reply {
        Reply {
            status: "200 OK".into(),
            headers: vec![("Content-Type".into(), content_type.into())],
            body,
        }
    }

    pub fn with_status(mut self, status: &str) -> Reply {
        self.status = status.into();
        self
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Hand status and headers to `start_response`; return the body.
    pub fn send(self, start_response: &mut StartResponse) -> Vec<u8> {
        start_response.start(self.status, self.headers);
        self.body
    }
}

/// Make text safe inside HTML: a name typed into a form must not become
/// markup (or script) in the page that shows it.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo_name(req: &Req) -> Reply {
        Reply::text(req.param("name").to_string())
    }

    fn call(router: &Router, method: &str, path: &str) -> (String, Vec<(String, String)>, Vec<u8>) {
        let environ = Environ::new(
            [("REQUEST_METHOD", method), ("PATH_INFO", path)],
            Vec::new(),
        );
        let mut start = StartResponse::new();
        let body = router.call(&environ, &mut start);
        let (status, headers) = start.take().unwrap();
        (status, headers, body)
    }

    #[test]
    fn routes_params_404_and_405() {
        let router = Router::new()
            .route("GET", "/hello/<name>", echo_name)
            .route("POST", "/hello/<name>", echo_name);
        assert_eq!(
            call(&router, "GET", "/hello/Ada Lovelace").2,
            b"Ada Lovelace"
        );
        assert_eq!(call(&router, "HEAD", "/hello/x").0, "200 OK");
        assert_eq!(call(&router, "GET", "/hello").0, "404 Not Found");
        assert_eq!(call(&router, "GET", "/hello/a/b").0, "404 Not Found");
        let (status, headers, _) = call(&router, "DELETE", "/hello/x");
        assert_eq!(status, "405 Method Not Allowed");
        assert!(headers.contains(&("Allow".into(), "GET, POST".into())));
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html(r#"<script>alert("x&y's")</script>"#),
            "&lt;script&gt;alert(&quot;x&amp;y&#39;s&quot;)&lt;/script&gt;"
        );
    }
}
