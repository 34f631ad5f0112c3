//! The command-line flags every server in the series takes.
//!
//! A server's own `Args` struct flattens [`ServerArgs`] and adds the flags of
//! its lesson (`--sleep`, ...), so `--help` reads the same across the series.

use clap::Args;

/// Where to listen and how loudly to talk.
#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// Address to bind. The default listens on loopback only; use 0.0.0.0
    /// (or ::) to accept connections from other machines.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// TCP port to listen on; 0 lets the kernel pick a free one (the banner
    /// prints the port it picked).
    #[arg(long, short, default_value_t = 8888)]
    pub port: u16,

    /// Length of the listen(2) queue of connections not yet accepted.
    /// Each step defaults to the value of the original Python server.
    #[arg(long, value_parser = clap::value_parser!(i32).range(1..=65535))]
    pub backlog: Option<i32>,

    /// Do not print requests (the banner and errors are still printed).
    #[arg(long, short)]
    pub quiet: bool,
}

impl ServerArgs {
    /// The `--backlog` the user asked for, or this step's default.
    pub fn backlog_or(&self, step_default: i32) -> i32 {
        self.backlog.unwrap_or(step_default)
    }
}

/// Parse a `--sleep`-style duration in seconds (`60`, `0.5`); rejects
/// negative and non-finite values with a message clap prints as usual.
pub fn seconds(text: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    std::time::Duration::try_from_secs_f64(secs)
        .map_err(|_| format!("{text:?} must be a finite, non-negative number of seconds"))
}

/// The folder a Part 4 server serves.
#[derive(Args, Debug, Clone)]
pub struct SiteArgs {
    /// Folder to serve; `/` is its `index.html`. The default is the sample
    /// site shipped with the lab.
    #[arg(long, default_value_os_t = crate::http::site::default_root())]
    pub root: std::path::PathBuf,
}

impl SiteArgs {
    /// Open the site root, or exit with one clear line.
    pub fn open(&self) -> crate::http::Site {
        crate::http::Site::open(&self.root)
            .unwrap_or_else(|message| crate::report::die_msg(message))
    }
}

/// How long a quiet connection may hold its process, thread or slot. The
/// blocking servers set it as the socket's SO_RCVTIMEO and SO_SNDTIMEO;
/// `webserver4g` keeps a deadline per connection.
#[derive(Args, Debug, Clone)]
pub struct IdleArgs {
    /// Seconds a connection may stay silent (between keep-alive requests,
    /// or with a client that stops reading) before the server closes it;
    /// 0 waits forever.
    #[arg(long, default_value = "5", value_parser = seconds)]
    pub idle_timeout: std::time::Duration,
}

impl IdleArgs {
    /// The timeout to give `set_read_timeout`/`set_write_timeout`: `None`
    /// (block forever) for `--idle-timeout 0`, which the calls refuse as
    /// `Some(0)`.
    pub fn timeout(&self) -> Option<std::time::Duration> {
        Some(self.idle_timeout).filter(|t| !t.is_zero())
    }
}
