//! The gateway interface: Rust's counterpart of Python's WSGI (PEP 3333).
//!
//! Part 2 asks how one server can run applications written for no server in
//! particular, and one application run under any server. WSGI's answer is
//! a contract between the two halves:
//!
//! * the **server** turns each request into an `environ` — the CGI
//!   variables (`REQUEST_METHOD`, `PATH_INFO`, `QUERY_STRING`, `HTTP_*`, ...)
//!   plus the request body — and calls the application with it and a
//!   `start_response` callable;
//! * the **application** calls `start_response(status, headers)` once and
//!   returns the body;
//! * the server sends status, headers and body to the client.
//!
//! Here the application is anything that implements [`Application`] — a
//! plain function `fn(&Environ, &mut StartResponse) -> Vec<u8>` does — the
//! environment is an [`Environ`], and `start_response` is a
//! [`StartResponse`]. Neither half sees the other's code: the apps in
//! [`crate::apps`] use only this module, and the servers (`webserver2`,
//! `webserver3h`) only call [`server::Gateway`], which holds *an*
//! application chosen by name at run time ([`registry`]) — or a program in
//! any language run through CGI ([`cgi`]).
//!
//! ```
//! use lsbaws::gateway::{Environ, StartResponse};
//!
//! fn app(environ: &Environ, start_response: &mut StartResponse) -> Vec<u8> {
//!     start_response.start("200 OK", [("Content-Type", "text/plain")]);
//!     format!("You asked for {}\n", environ.path_info()).into_bytes()
//! }
//! ```

pub mod cgi;
pub mod environ;
pub mod registry;
pub mod server;

pub use environ::{Environ, ServerInfo};

// ANCHOR: interface
/// A web application as the server sees it (WSGI's `application`
/// callable): given the request's environment, it calls `start_response`
/// with the status and headers, and returns the body.
pub trait Application: Send + Sync {
    fn call(&self, environ: &Environ, start_response: &mut StartResponse) -> Vec<u8>;
}

/// Any function with the right signature is an application.
impl<F> Application for F
where
    F: Fn(&Environ, &mut StartResponse) -> Vec<u8> + Send + Sync,
{
    fn call(&self, environ: &Environ, start_response: &mut StartResponse) -> Vec<u8> {
        self(environ, start_response)
    }
}

/// WSGI's `start_response`: the application hands the server the status
/// line (`"200 OK"`) and the response headers before it returns the body.
///
/// Nothing is sent until the application returns, so calling it again
/// replaces what an earlier call set (WSGI allows that only with
/// `exc_info`, for an error found after headers were chosen; here the
/// headers can never have been sent yet).
#[derive(Debug, Default, Clone)]
pub struct StartResponse {
    started: Option<(String, Vec<(String, String)>)>,
}

impl StartResponse {
    pub fn new() -> StartResponse {
        StartResponse::default()
    }

    /// `start_response("404 Not Found", [("Content-Type", "text/plain")])`.
    pub fn start<K, V>(
        &mut self,
        status: impl Into<String>,
        headers: impl IntoIterator<Item = (K, V)>,
    ) where
        K: Into<String>,
        V: Into<String>,
    {
        let headers = headers
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self.started = Some((status.into(), headers));
    }

    /// The status and headers the application chose, if it chose any.
    pub fn take(self) -> Option<(String, Vec<(String, String)>)> {
        self.started
    }
}
// ANCHOR_END: interface
