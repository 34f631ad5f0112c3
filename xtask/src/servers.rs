//! The servers compared: a table of the Part 4 models and the references,
//! and how to start, pin, watch and stop each one.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A model of the series, or a server it is measured against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Model,
    Reference,
}

/// How a server is started.
#[derive(Debug, Clone, Copy)]
pub enum Program {
    /// One of the lab's binaries, with these flags besides
    /// `--port P --quiet` (and `--root SITE` for the Part 4 servers).
    Lab { bin: &'static str, args: &'static [&'static str] },
    /// A Part 3 server: no site, `Hello, World!` for every request.
    Hello { bin: &'static str },
    /// nginx tuned as operators tune it (xtask/src/nginx.conf): one worker
    /// process, no master, access log off, open_file_cache; sendfile and
    /// tcp_nopush on, or both off.
    Nginx { sendfile: bool },
    /// benches/ref-may-minihttp: may_minihttp answering every request with
    /// the small file; `with_validators`: and with the headers our servers
    /// send with it (`Last-Modified`, `ETag`, `Accept-Ranges`,
    /// `Connection`), fixed at start.
    MayMinihttp { with_validators: bool },
}

/// One row of the table.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub name: &'static str,
    pub kind: Kind,
    /// What it is, for the table's legend.
    pub model: &'static str,
    pub program: Program,
    /// Serves only the small file (may_minihttp answers everything with it).
    pub hello_only: bool,
    /// Why it sits out the idle-connections run, if it does.
    pub no_idle: Option<&'static str>,
    /// Keeps every connection open whatever the client asks
    /// (may_minihttp ignores `Connection: close`): no `hello-close` run.
    pub ignores_close: bool,
}

// ANCHOR: table
/// Every server the harness knows, in the order the report lists them.
/// A model whose binary does not exist (not built on this branch yet) is
/// skipped with a note; adding a model is adding a row.
pub const SERVERS: &[Spec] = &[
    Spec {
        name: "nginx",
        kind: Kind::Reference,
        model: "nginx, 1 worker (epoll), open_file_cache, sendfile on, tcp_nopush on",
        program: Program::Nginx { sendfile: true },
        hello_only: false,
        no_idle: None,
        ignores_close: false,
    },
    Spec {
        name: "nginx-nosendfile",
        kind: Kind::Reference,
        model: "nginx, 1 worker (epoll), open_file_cache, sendfile off",
        program: Program::Nginx { sendfile: false },
        hello_only: false,
        no_idle: None,
        ignores_close: false,
    },
    Spec { name: "may_minihttp", kind: Kind::Reference, model: "may_minihttp, 1 worker (coroutines)", program: Program::MayMinihttp { with_validators: false }, hello_only: true, no_idle: None, ignores_close: true },
    Spec {
        name: "may-validators",
        kind: Kind::Reference,
        model: "may_minihttp, 1 worker, with our servers' headers (Last-Modified, ETag, Accept-Ranges, Connection; fixed at start)",
        program: Program::MayMinihttp { with_validators: true },
        hello_only: true,
        no_idle: Some("it is may_minihttp again, with longer answers: the idle run is the same"),
        ignores_close: true,
    },
    Spec {
        name: "3a-iterative",
        kind: Kind::Model,
        model: "webserver3a: iterative, one connection at a time (Part 3)",
        program: Program::Hello { bin: "webserver3a" },
        hello_only: true,
        no_idle: Some("it serves one connection at a time: the second idle one is never answered"),
        ignores_close: false,
    },
    Spec { name: "4a-fork", kind: Kind::Model, model: "webserver4a: a process per connection", program: Program::Lab { bin: "webserver4a", args: &["--idle-timeout", "0"] }, hello_only: false, no_idle: None, ignores_close: false },
    Spec { name: "4b-thread", kind: Kind::Model, model: "webserver4b: a thread per connection", program: Program::Lab { bin: "webserver4b", args: &["--idle-timeout", "0"] }, hello_only: false, no_idle: None, ignores_close: false },
    Spec {
        name: "4h-pool",
        kind: Kind::Model,
        model: "webserver4h: a pool of 64 threads",
        program: Program::Lab { bin: "webserver4h", args: &["--threads", "64", "--idle-timeout", "0"] },
        hello_only: false,
        no_idle: Some("64 workers serve 64 connections; the other idle ones wait for a worker forever"),
        ignores_close: false,
    },
    Spec { name: "4c-busy", kind: Kind::Model, model: "webserver4c: non-blocking busy loop, no keep-alive", program: Program::Lab { bin: "webserver4c", args: &[] }, hello_only: false, no_idle: None, ignores_close: false },
    Spec { name: "4d-busy-ka", kind: Kind::Model, model: "webserver4d: busy loop with keep-alive", program: Program::Lab { bin: "webserver4d", args: &[] }, hello_only: false, no_idle: None, ignores_close: false },
    Spec {
        name: "4s-select",
        kind: Kind::Model,
        model: "webserver4s: select(2) loop",
        program: Program::Lab { bin: "webserver4s", args: &[] },
        hello_only: false,
        no_idle: Some("select() cannot watch a descriptor past FD_SETSIZE (1024): it closes those connections"),
        ignores_close: false,
    },
    Spec { name: "4p-poll", kind: Kind::Model, model: "webserver4p: poll(2) loop", program: Program::Lab { bin: "webserver4p", args: &[] }, hello_only: false, no_idle: None, ignores_close: false },
    Spec { name: "4e-epoll", kind: Kind::Model, model: "webserver4e: epoll event loop", program: Program::Lab { bin: "webserver4e", args: &[] }, hello_only: false, no_idle: None, ignores_close: false },
    Spec { name: "4f-may", kind: Kind::Model, model: "webserver4f: may coroutines, 1 worker thread", program: Program::Lab { bin: "webserver4f", args: &["--workers", "1", "--idle-timeout", "0"] }, hello_only: false, no_idle: None, ignores_close: false },
    Spec { name: "4g-mio", kind: Kind::Model, model: "webserver4g: mio event loop", program: Program::Lab { bin: "webserver4g", args: &[] }, hello_only: false, no_idle: None, ignores_close: false },
    // The fixes for CPU-bound work, in its runs only: a loop per core on one
    // port (SO_REUSEPORT), and a coroutine worker per core (2 cores here).
    Spec { name: "4g-mio-loops2", kind: Kind::Model, model: "webserver4g --loops 2: two mio loops on one port (SO_REUSEPORT)", program: Program::Lab { bin: "webserver4g", args: &["--loops", "2"] }, hello_only: false, no_idle: None, ignores_close: false },
    Spec { name: "4f-may-2", kind: Kind::Model, model: "webserver4f: may coroutines, 2 worker threads", program: Program::Lab { bin: "webserver4f", args: &["--workers", "2", "--idle-timeout", "0"] }, hello_only: false, no_idle: None, ignores_close: false },
    Spec { name: "4u-uring", kind: Kind::Model, model: "webserver4u: io_uring completion loop", program: Program::Lab { bin: "webserver4u", args: &[] }, hello_only: false, no_idle: None, ignores_close: false },
    Spec { name: "4v-multishot", kind: Kind::Model, model: "webserver4v: io_uring, multishot accept and receive, provided buffers", program: Program::Lab { bin: "webserver4v", args: &[] }, hello_only: false, no_idle: None, ignores_close: false },
];
// ANCHOR_END: table

/// Where things are: the repository, the binaries, the site.
#[derive(Debug, Clone)]
pub struct Places {
    pub repo: PathBuf,
    pub lab_bins: PathBuf,
    pub may_minihttp: PathBuf,
    pub site: PathBuf,
    pub scratch: PathBuf,
}

impl Places {
    /// The program a spec runs, if it exists.
    pub fn program_path(&self, spec: &Spec) -> Option<PathBuf> {
        match spec.program {
            Program::Lab { bin, .. } | Program::Hello { bin } => Some(self.lab_bins.join(bin)).filter(|p| p.is_file()),
            Program::Nginx { .. } => which("nginx"),
            Program::MayMinihttp { .. } => Some(self.may_minihttp.clone()).filter(|p| p.is_file()),
        }
    }
}

/// The path of an executable on PATH (or in /usr/sbin, where Debian puts
/// nginx and a non-root PATH may not look).
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Which CPUs the server and the load generator get: different ones where
/// there are two or more, so that they do not take turns on one core.
#[derive(Debug, Clone, Copy)]
pub struct Pinning {
    pub server: Option<usize>,
    pub load: Option<usize>,
}

impl Pinning {
    pub fn detect() -> Pinning {
        let cpus = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        if cpus >= 2 && which("taskset").is_some() {
            Pinning { server: Some(cpus - 1), load: Some(0) }
        } else {
            Pinning { server: None, load: None }
        }
    }

    pub fn describe(&self) -> String {
        match (self.server, self.load) {
            (Some(s), Some(l)) => format!("server pinned to CPU {s}, load generator to CPU {l} (taskset; not in the CPU-bound work runs)"),
            _ => "not pinned (one CPU, or no taskset)".to_string(),
        }
    }
}

/// A command, run under `taskset -c CPU` when a CPU is given, that dies
/// with the harness: killed or interrupted, the harness leaves no server or
/// wrk running (`PR_SET_PDEATHSIG`, which survives the exec).
pub fn pinned_command(program: &Path, cpu: Option<usize>) -> Command {
    let mut command = match cpu {
        Some(cpu) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cpu.to_string()).arg(program);
            command
        }
        None => Command::new(program),
    };
    // SAFETY: between fork and exec only prctl(2), which is
    // async-signal-safe and touches no memory of ours, runs.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            Ok(())
        });
    }
    command
}

/// A server running in its own process group.
pub struct Running {
    child: Child,
    pub port: u16,
}

impl Running {
    /// The process group: the server and everything it forked.
    pub fn pgid(&self) -> i32 {
        // The server leads its own group, so its pid is the group's id.
        self.child.id() as i32
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// Kill the group and reap every member (the harness is a child
    /// subreaper, so a forking server's orphans come back to it).
    pub fn stop(mut self) {
        let pgid = self.pgid();
        // SAFETY: kill(2) on our own child's process group; no memory involved.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
        reap_group(pgid);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let pgid = self.pgid();
        // SAFETY: as in stop(); killing an already dead group is harmless.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
        reap_group(pgid);
    }
}

/// Wait for every process of group `pgid` that is (or becomes) our child.
fn reap_group(pgid: i32) {
    loop {
        let mut status = 0;
        // SAFETY: waitpid writes only the status integer we pass.
        let pid = unsafe { libc::waitpid(-pgid, &mut status, 0) };
        if pid <= 0 {
            return; // ECHILD: none left
        }
    }
}

/// Make orphaned grandchildren (a forking server's children, once it is
/// killed) our children, so that we can reap them.
pub fn become_subreaper() {
    // SAFETY: prctl with PR_SET_CHILD_SUBREAPER takes an integer flag.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
}

/// A port nobody is listening on right now (the kernel picks it).
fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port())
}

/// Start `spec` pinned to `cpu`, and wait until it accepts connections.
pub fn start(spec: &Spec, places: &Places, cpu: Option<usize>) -> Result<Running, String> {
    let program = places.program_path(spec).ok_or_else(|| format!("{}: not built or not installed", spec.name))?;
    let port = free_port().map_err(|e| format!("finding a free port: {e}"))?;
    let log = places.scratch.join(format!("{}.log", spec.name));
    let mut command = pinned_command(&program, cpu);
    match spec.program {
        Program::Lab { args, .. } => {
            command.args(["--port", &port.to_string(), "--quiet", "--root"]).arg(&places.site).args(args);
        }
        Program::Hello { .. } => {
            command.args(["--port", &port.to_string(), "--quiet"]);
        }
        Program::Nginx { sendfile } => {
            let conf = write_nginx_conf(places, port, sendfile).map_err(|e| format!("writing nginx.conf: {e}"))?;
            command.arg("-p").arg(&places.scratch).arg("-c").arg(conf).arg("-e").arg(&log);
        }
        Program::MayMinihttp { with_validators } => {
            command.arg(port.to_string()).arg(places.site.join("hello.txt")).arg("1");
            if with_validators {
                command.arg("--with-validators");
            }
        }
    }
    let stderr = std::fs::File::create(&log).map_err(|e| format!("creating {}: {e}", log.display()))?;
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(stderr).process_group(0);
    let child = command.spawn().map_err(|e| format!("starting {}: {e}", program.display()))?;
    let mut running = Running { child, port };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if TcpStream::connect_timeout(&running.addr(), Duration::from_secs(1)).is_ok() {
            return Ok(running);
        }
        if let Ok(Some(status)) = running.child.try_wait() {
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!("{} exited ({status}) before listening: {}", spec.name, said.trim()));
        }
        if Instant::now() > deadline {
            return Err(format!("{} did not listen on port {port} within 20 s", spec.name));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The nginx configuration, with placeholders (the book prints this file).
pub const NGINX_CONF: &str = include_str!("nginx.conf");

/// Is this one of the nginx configurations? The ratios of the report are to
/// the better of them in each scenario and round.
pub fn is_nginx(name: &str) -> bool {
    name == "nginx" || name.starts_with("nginx-")
}

/// nginx.conf for one run: [`NGINX_CONF`] with its placeholders filled in.
/// With `sendfile` off, tcp_nopush is off too (it only works with
/// sendfile): in an earlier measurement here, with sendfile and
/// tcp_nopush on, pipelined answers stalled on the socket's cork for ~40 ms
/// at a time (17k req/s corked, 50k without), which is why both
/// configurations run and the better one is the baseline.
pub fn nginx_conf(places: &Places, port: u16, sendfile: bool) -> String {
    NGINX_CONF
        .replace("@SCRATCH@", &places.scratch.display().to_string())
        .replace("@SITE@", &places.site.display().to_string())
        .replace("@PORT@", &port.to_string())
        .replace("@SENDFILE@", if sendfile { "on" } else { "off" })
}

fn write_nginx_conf(places: &Places, port: u16, sendfile: bool) -> io::Result<PathBuf> {
    let path = places.scratch.join(if sendfile { "nginx.conf" } else { "nginx-nosendfile.conf" });
    std::fs::write(&path, nginx_conf(places, port, sendfile))?;
    Ok(path)
}
