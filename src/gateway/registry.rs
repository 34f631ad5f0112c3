//! Choosing the application at run time, by name, as
//! `python webserver2.py flaskapp:app` picks `module:callable`.
//!
//! Rust has no `import` at run time, so the applications compiled into the
//! lab are listed here by name; `cgi:PATH` names any other program, in any
//! language, to run through the CGI bridge.

use super::cgi::Cgi;
use super::server::Gateway;
use super::Application;
use crate::apps;
use crate::http::Limits;
use clap::Args;
use std::path::PathBuf;
use std::time::Duration;

/// An application compiled into the lab.
pub struct BuiltinApp {
    pub name: &'static str,
    pub about: &'static str,
    pub make: fn() -> Box<dyn Application>,
}

/// Every application compiled in, by name.
pub const BUILTIN_APPS: &[BuiltinApp] = &[
    BuiltinApp {
        name: "hello",
        about: "Hello, World! from a plain function",
        make: || Box::new(apps::hello::app),
    },
    BuiltinApp {
        name: "environ",
        about: "prints the environment it is called with (like wsgiref's demo_app)",
        make: || Box::new(apps::show_environ::app),
    },
    BuiltinApp {
        name: "greeter",
        about: "a framework app: routes, a form, a POST (GET / in a browser)",
        make: || Box::new(apps::greeter::app()),
    },
];

/// The application named on the command line.
#[derive(Clone)]
pub enum AppSpec {
    Builtin(&'static BuiltinApp),
    /// `cgi:PATH`
    Cgi(PathBuf),
}

impl std::fmt::Debug for AppSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppSpec::Builtin(app) => write!(f, "{}", app.name),
            AppSpec::Cgi(path) => write!(f, "cgi:{}", path.display()),
        }
    }
}

/// Parse an `APP` argument (clap prints the error and exits with status 2).
pub fn parse_app_spec(text: &str) -> Result<AppSpec, String> {
    if let Some(path) = text.strip_prefix("cgi:") {
        // Checked now, not at the first request: a typo fails at start-up.
        Cgi::new(path, Duration::ZERO)?;
        return Ok(AppSpec::Cgi(PathBuf::from(path)));
    }
    BUILTIN_APPS
        .iter()
        .find(|app| app.name == text)
        .map(AppSpec::Builtin)
        .ok_or_else(|| {
            format!(
                "no application named {text:?}\n\n{}",
                available_apps().trim_end()
            )
        })
}

/// The list printed with an unknown name, and in `--help`.
pub fn available_apps() -> String {
    let mut text = String::from("Available applications:\n");
    for app in BUILTIN_APPS {
        text.push_str(&format!("  {:<10} {}\n", app.name, app.about));
    }
    text.push_str(
        "  cgi:PATH   the program at PATH, in any language, run per request through CGI\n",
    );
    text
}

/// The flags of a server that hosts an application.
#[derive(Args, Debug, Clone)]
pub struct GatewayArgs {
    /// The application to serve: hello, environ, greeter, or cgi:PATH
    /// (any executable, run per request through CGI).
    #[arg(value_name = "APP", value_parser = parse_app_spec)]
    pub app: AppSpec,

    /// Seconds a CGI program may run; past that it is killed and the
    /// client gets 504 Gateway Timeout.
    #[arg(long, default_value = "30", value_parser = crate::cli::seconds)]
    pub cgi_timeout: Duration,

    /// The largest request body accepted, in bytes; a larger one gets
    /// 413 Content Too Large.
    #[arg(long, default_value_t = Limits::default().max_body)]
    pub max_body: usize,
}

impl GatewayArgs {
    /// Load the application and wrap it in the server's side of the
    /// interface.
    pub fn gateway(&self, quiet: bool, multiprocess: bool) -> Gateway {
        let app: Box<dyn Application> = match &self.app {
            AppSpec::Builtin(builtin) => (builtin.make)(),
            AppSpec::Cgi(path) => match Cgi::new(path, self.cgi_timeout) {
                Ok(cgi) => Box::new(cgi),
                Err(message) => crate::report::die_msg(message),
            },
        };
        let limits = Limits {
            max_body: self.max_body,
            ..Limits::default()
        };
        Gateway::new(app, limits, quiet, multiprocess)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_cgi_paths() {
        assert!(
            matches!(parse_app_spec("hello"), Ok(AppSpec::Builtin(app)) if app.name == "hello")
        );
        assert!(matches!(parse_app_spec("greeter"), Ok(AppSpec::Builtin(_))));
        let unknown = parse_app_spec("flaskapp:app").unwrap_err();
        assert!(
            unknown.contains("no application named \"flaskapp:app\""),
            "{unknown}"
        );
        for app in BUILTIN_APPS {
            assert!(unknown.contains(app.name), "{unknown}");
        }
        assert!(unknown.contains("cgi:PATH"));
        assert!(parse_app_spec("cgi:/no/such/script").is_err());
        assert!(parse_app_spec("cgi:/bin/true").is_ok());
    }
}
