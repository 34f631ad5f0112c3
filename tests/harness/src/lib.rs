//! Start a server the way a student would, push it, look at it through
//! `/proc`, and clean up after it.
//!
//! The integration tests in `tests/`, the exercise checker (`lab/`) and the
//! benchmark harness (`xtask/`) use this one implementation:
//!
//! * [`Launch`] starts a binary of this package in its own process group,
//!   with the resource limits a shell's `ulimit -n` / `ulimit -u` would set
//!   (applied with `setrlimit(2)` in the child, just before `exec`) and,
//!   optionally, as another user. Its stdout and stderr go to files, not
//!   pipes: forked children inherit them, and a pipe would keep a reader
//!   waiting on the children long after the server is gone.
//! * [`Server`] waits for the `Serving HTTP on port N ...` line (never a
//!   fixed sleep), then answers questions a student would ask with `ps` and
//!   `ls /proc/PID/fd`: which children are zombies, how many descriptors
//!   are open, did it exit and with what message.
//! * Dropping a [`Server`] kills its whole process group and reaps every
//!   process in it, so no test leaves a server, a child or a zombie behind.
//! * [`client`] holds small HTTP client helpers that tell a response, an
//!   EOF and a hang apart.

pub mod procfs;

use nix::errno::Errno;
use nix::sys::resource::{getrlimit, setrlimit, Resource};
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{Gid, Pid, Uid};
use std::ffi::OsString;
use std::fs::{self, File};
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The Part 4 models that keep a connection open between requests and that
/// a browser and the tutorials' keep-alive checks are pointed at.
pub const KEEP_ALIVE_MODELS: &[&str] = &[
    "webserver4a",
    "webserver4b",
    "webserver4h",
    "webserver4d",
    "webserver4e",
    "webserver4f",
    "webserver4g",
];

/// How long a server may take to print its banner.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);

/// The directory cargo put this package's binaries in: the test executable
/// lives in `target/<profile>/deps/`, the binaries one level up.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe: cannot locate the running test binary");
    let dir = exe
        .parent()
        .expect("the test binary has a parent directory");
    if dir.ends_with("deps") {
        dir.parent().expect("deps/ has a parent").to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// The path of one of this package's binaries (`webserver3d`, `client3`).
pub fn bin_path(name: &str) -> PathBuf {
    bin_dir().join(name)
}

/// A private scratch directory, removed on drop.
#[derive(Debug)]
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    pub fn new(label: &str) -> io::Result<ScratchDir> {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("lsbaws-{label}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path)?;
        Ok(ScratchDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// How to start a server: which binary, which flags, under which limits.
#[derive(Debug, Clone)]
pub struct Launch {
    name: String,
    /// Set by [`Launch::path`]: a binary anywhere (a student's copy), not
    /// one of this package's.
    program: Option<PathBuf>,
    args: Vec<OsString>,
    open_files: Option<u64>,
    open_files_hard: bool,
    processes: Option<u64>,
    uid: Option<u32>,
    env: Vec<(OsString, OsString)>,
    refused_syscall: Option<(libc::c_long, libc::c_int)>,
}

impl Launch {
    /// Start `name`, one of this package's binaries, with `--port 0` added
    /// unless the arguments name a port themselves.
    pub fn new(name: &str) -> Launch {
        Launch {
            name: name.to_string(),
            program: None,
            args: Vec::new(),
            open_files: None,
            open_files_hard: false,
            processes: None,
            uid: None,
            env: Vec::new(),
            refused_syscall: None,
        }
    }

    /// Start the binary at `program` (a student's copy built elsewhere, say),
    /// otherwise as [`Launch::new`] does.
    pub fn path(program: impl Into<PathBuf>) -> Launch {
        let program = program.into();
        let name = program
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| program.display().to_string());
        Launch {
            program: Some(program),
            ..Launch::new(&name)
        }
    }

    /// Set an environment variable for the server (`PATH`, say, which the
    /// CGI bridge passes on to the programs it runs).
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Launch {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Launch {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Launch
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// `ulimit -n N`: RLIMIT_NOFILE. Above the hard limit only root may go.
    pub fn limit_open_files(mut self, n: u64) -> Launch {
        self.open_files = Some(n);
        self
    }

    /// `ulimit -n N` as bash runs it: the soft *and* the hard RLIMIT_NOFILE
    /// become N, so the server cannot raise its own soft limit past N
    /// (servers that scale call `lsbaws::net::raise_fd_limit` at start).
    pub fn limit_open_files_hard(mut self, n: u64) -> Launch {
        self.open_files = Some(n);
        self.open_files_hard = true;
        self
    }

    /// `ulimit -u N`: RLIMIT_NPROC. The kernel counts every
    /// process of the user (zombies included) and ignores the limit for
    /// root, so when the tests run as root combine this with [`Launch::as_user`].
    pub fn limit_processes(mut self, n: u64) -> Launch {
        self.processes = Some(n);
        self
    }

    /// Run as this uid (and gid), which need not exist in /etc/passwd. Only
    /// root can do this; for anybody else the call changes nothing.
    pub fn as_user(mut self, uid: u32) -> Launch {
        self.uid = Some(uid);
        self
    }

    /// Run under a seccomp filter that fails the system call `number` with
    /// `errno` and allows every other, as a container runtime's profile
    /// refuses the calls it does not trust (Docker's fails `io_uring_setup`
    /// with EPERM).
    pub fn refuse_syscall(mut self, number: libc::c_long, errno: libc::c_int) -> Launch {
        self.refused_syscall = Some((number, errno));
        self
    }

    /// Start the server and wait for its `Serving HTTP on port N ...` line
    /// (`Serving FTP on port N ...` for `ftp-server`).
    pub fn start(self) -> Result<Server, String> {
        let server = self.spawn()?;
        server.wait_for_banner()
    }

    /// Start the process without waiting for a banner (for programs that
    /// are expected to fail at once, or are not servers).
    pub fn spawn(self) -> Result<Server, String> {
        let scratch = ScratchDir::new(&self.name)
            .map_err(|e| format!("creating a scratch directory failed: {e}"))?;
        let mut program = self.program.clone().unwrap_or_else(|| bin_path(&self.name));
        if !program.exists() {
            let build = match self.program {
                Some(_) => "build it first".to_string(),
                None => format!("build it first (`cargo build --bin {}`)", self.name),
            };
            return Err(format!("{} does not exist — {build}", program.display()));
        }
        let switch_user = self.uid.filter(|_| Uid::effective().is_root());
        if switch_user.is_some() {
            // The target directory may sit below a directory another user
            // cannot enter (/root, say): give that user its own readable copy.
            program = copy_for_other_user(&program, scratch.path())
                .map_err(|e| format!("copying {} for another user failed: {e}", self.name))?;
        }
        let stdout_path = scratch.path().join("stdout");
        let stderr_path = scratch.path().join("stderr");
        let open = |path: &Path| {
            File::create(path).map_err(|e| format!("creating {} failed: {e}", path.display()))
        };
        let mut args = self.args.clone();
        if !args.iter().any(|a| a == "--port" || a == "-p") {
            // Before a `--`: what follows it is a command the server runs.
            let at = args.iter().position(|a| a == "--").unwrap_or(args.len());
            args.splice(at..at, ["--port".into(), "0".into()]);
        }
        let mut command = Command::new(&program);
        command
            .args(&args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(open(&stdout_path)?)
            .stderr(open(&stderr_path)?);
        let (open_files, processes) = (self.open_files, self.processes);
        let open_files_hard = self.open_files_hard;
        let refused_syscall = self.refused_syscall;
        // SAFETY: the closure runs in the forked child before exec. It only
        // makes raw syscalls (setpgid, setrlimit, setgroups, setgid, setuid,
        // prctl) and allocates nothing, so it cannot trip over a lock that another
        // thread of the test process held at the moment of the fork.
        unsafe {
            command.pre_exec(move || {
                // A process group of its own: the server and every child it
                // forks can be killed with one killpg().
                nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0))?;
                // Start with only stdin, stdout and stderr, as from a shell:
                // descriptors the test process inherited without
                // close-on-exec (cargo's jobserver pipe) would otherwise be
                // counted in the server's /proc/PID/fd and its `ulimit -n`.
                close_inherited_on_exec();
                // As `ulimit -n N` / `ulimit -u N` do: the soft limit is
                // what the kernel enforces; the hard limit only rises (for
                // root) when N is above it.
                if let Some(n) = open_files {
                    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE)?;
                    let hard = if open_files_hard { n } else { hard.max(n) };
                    setrlimit(Resource::RLIMIT_NOFILE, n, hard)?;
                }
                if let Some(n) = processes {
                    let (_, hard) = getrlimit(Resource::RLIMIT_NPROC)?;
                    setrlimit(Resource::RLIMIT_NPROC, n, hard.max(n))?;
                }
                if let Some(uid) = switch_user {
                    nix::unistd::setgroups(&[])?;
                    nix::unistd::setgid(Gid::from_raw(uid))?;
                    nix::unistd::setuid(Uid::from_raw(uid))?;
                }
                if let Some((number, errno)) = refused_syscall {
                    refuse_syscall(number, errno)?;
                }
                Ok(())
            });
        }
        become_subreaper();
        let child = command
            .spawn()
            .map_err(|e| format!("starting {} failed: {e}", program.display()))?;
        Ok(Server {
            name: self.name,
            pid: Pid::from_raw(child.id() as i32),
            port: 0,
            stdout_path,
            stderr_path,
            exit: None,
            _scratch: scratch,
        })
    }
}

/// Mark every descriptor from 3 up close-on-exec. Async-signal-safe (raw
/// syscalls only): it runs between fork and exec.
fn close_inherited_on_exec() {
    // SAFETY: close_range(2) and fcntl(2) only change descriptor flags of
    // this (forked) process; no memory is touched.
    unsafe {
        let all = libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
        if all != 0 {
            // Kernels before 5.11: one descriptor at a time.
            for fd in 3..4096 {
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
    }
}

/// The `AUDIT_ARCH_*` value of the architecture this was built for: a
/// seccomp filter must check it, as system call numbers differ between
/// architectures.
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xC000_003E;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xC000_00B7;

/// Install a seccomp filter on this (forked) process: the system call
/// `number` fails with `errno`, every other one runs. Raw syscalls only and
/// no allocation: it runs between fork and exec.
fn refuse_syscall(number: libc::c_long, errno: libc::c_int) -> io::Result<()> {
    // The classic BPF program the kernel runs on every system call, reading
    // `struct seccomp_data` (nr at offset 0, arch at offset 4).
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    };
    let load = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let ret = libc::BPF_RET | libc::BPF_K;
    let mut program = [
        stmt(load, 4),             // A = arch
        jump(AUDIT_ARCH, 0, 3),    // another ABI: allow
        stmt(load, 0),             // A = nr
        jump(number as u32, 0, 1), // the refused call?
        stmt(ret, libc::SECCOMP_RET_ERRNO | (errno as u32 & 0xffff)),
        stmt(ret, libc::SECCOMP_RET_ALLOW),
    ];
    let filter = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_mut_ptr(),
    };
    // SAFETY: prctl(PR_SET_NO_NEW_PRIVS) sets a flag (required to install a
    // filter without CAP_SYS_ADMIN); PR_SET_SECCOMP reads `filter` and the
    // program it points to, both alive on this stack for the whole call.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &filter as *const libc::sock_fprog,
            ) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Make this (test) process the "subreaper" of everything it starts: when a
/// server dies, its children are re-parented to us rather than to init, so
/// the harness can reap them and no zombie outlives a test.
fn become_subreaper() {
    // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) only sets a flag on the calling
    // process; it touches no memory.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

fn copy_for_other_user(program: &Path, dir: &Path) -> io::Result<PathBuf> {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
    let copy = dir.join(program.file_name().unwrap_or_default());
    fs::copy(program, &copy)?;
    fs::set_permissions(&copy, fs::Permissions::from_mode(0o755))?;
    Ok(copy)
}

/// How a server process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(Signal),
}

/// A running server (or other program) started by [`Launch`].
#[derive(Debug)]
pub struct Server {
    name: String,
    pid: Pid,
    port: u16,
    stdout_path: PathBuf,
    stderr_path: PathBuf,
    exit: Option<Exit>,
    _scratch: ScratchDir,
}

impl Server {
    fn wait_for_banner(mut self) -> Result<Server, String> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Some(port) = banner_port(&self.stdout()) {
                self.port = port;
                return Ok(self);
            }
            if let Some(exit) = self.try_exit() {
                return Err(format!(
                    "{} exited ({exit:?}) before printing its banner; stderr:\n{}",
                    self.name,
                    self.stderr()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} printed no `Serving HTTP on port N` (or `Serving FTP ...`) line within {STARTUP_TIMEOUT:?}",
                    self.name
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn pid(&self) -> Pid {
        self.pid
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Connect to the server (panics with a clear message if that fails:
    /// only tests call this).
    pub fn connect(&self) -> TcpStream {
        TcpStream::connect(self.addr()).unwrap_or_else(|e| {
            panic!("connecting to {} on {} failed: {e}", self.name, self.addr())
        })
    }

    /// Everything the server has written to stdout so far.
    pub fn stdout(&self) -> String {
        fs::read_to_string(&self.stdout_path).unwrap_or_default()
    }

    /// Everything the server has written to stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// The server's direct children, as `ps --ppid PID` would list them.
    pub fn children(&self) -> Vec<procfs::Stat> {
        procfs::processes()
            .into_iter()
            .filter(|p| p.ppid == self.pid.as_raw())
            .collect()
    }

    /// How many of the server's children are zombies (`<defunct>`).
    pub fn zombies(&self) -> usize {
        self.children().iter().filter(|p| p.is_zombie()).count()
    }

    /// How many descriptors the server holds (`ls /proc/PID/fd | wc -l`).
    pub fn open_fds(&self) -> usize {
        fs::read_dir(format!("/proc/{}/fd", self.pid))
            .map(|entries| entries.count())
            .unwrap_or(0)
    }

    /// The signals the server catches and ignores (`SigCgt`, `SigIgn`).
    pub fn signal_masks(&self) -> Option<procfs::SignalMasks> {
        procfs::signal_masks(self.pid.as_raw())
    }

    /// The server's descriptors: what each is, and its flags.
    pub fn descriptors(&self) -> Vec<procfs::Descriptor> {
        procfs::descriptors(self.pid.as_raw())
    }

    /// CPU time the server has used so far, all its threads together, in
    /// user and kernel mode (`utime + stime` of `/proc/PID/stat`, what `ps`
    /// shows as TIME). Zero once the process is gone.
    pub fn cpu_time(&self) -> Duration {
        procfs::stat(self.pid.as_raw())
            .map(|s| s.cpu_time())
            .unwrap_or_default()
    }

    /// CPU time each thread of the server has used so far, by thread id
    /// (`utime + stime` of `/proc/PID/task/TID/stat`): which threads did
    /// the work.
    pub fn cpu_by_thread(&self) -> std::collections::BTreeMap<String, Duration> {
        let tasks = format!("/proc/{}/task", self.pid());
        names_in(std::path::Path::new(&tasks))
            .into_iter()
            .filter_map(|tid| {
                let stat = std::fs::read_to_string(format!("{tasks}/{tid}/stat")).ok()?;
                let cpu = procfs::Stat::parse(&stat)?.cpu_time();
                Some((tid, cpu))
            })
            .collect()
    }

    /// How many threads used at least `at_least` of CPU time since
    /// `before` (an earlier [`Server::cpu_by_thread`]).
    pub fn threads_that_used(
        &self,
        before: &std::collections::BTreeMap<String, Duration>,
        at_least: Duration,
    ) -> usize {
        self.cpu_by_thread()
            .iter()
            .filter(|(tid, cpu)| {
                cpu.saturating_sub(before.get(*tid).copied().unwrap_or_default()) >= at_least
            })
            .count()
    }

    /// From `/proc/PID/schedstat` (the main thread): time spent on a CPU,
    /// and time spent runnable but waiting for one.
    pub fn sched_times(&self) -> (Duration, Duration) {
        procfs::sched_times(self.pid.as_raw())
    }

    /// How many threads the server runs (`Threads:` in `/proc/PID/status`,
    /// the lines of `ps -T -p PID`).
    pub fn threads(&self) -> usize {
        procfs::threads(self.pid.as_raw())
    }

    /// Resident memory of the server and its children together, in KiB
    /// (`VmRSS` of `/proc/PID/status`, the RSS column of `ps`).
    pub fn rss_kib(&self) -> u64 {
        procfs::rss_kib(self.pid.as_raw())
            + self
                .children()
                .iter()
                .map(|child| procfs::rss_kib(child.pid))
                .sum::<u64>()
    }

    /// Has the process exited? (Reaps it if so.)
    pub fn try_exit(&mut self) -> Option<Exit> {
        if self.exit.is_none() {
            self.exit = match waitpid(self.pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(_, code)) => Some(Exit::Code(code)),
                Ok(WaitStatus::Signaled(_, signal, _)) => Some(Exit::Signal(signal)),
                _ => None,
            };
        }
        self.exit
    }

    pub fn is_running(&mut self) -> bool {
        self.try_exit().is_none()
    }

    /// Wait up to `timeout` for the process to exit.
    pub fn wait_for_exit(&mut self, timeout: Duration) -> Option<Exit> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(exit) = self.try_exit() {
                return Some(exit);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.try_exit()
    }

    /// After a SIGCHLD: wait up to `timeout` until the server has either
    /// exited (its accept() failed with EINTR, as 3e's does) or is asleep in
    /// accept(2) again with no SIGCHLD still pending (its handler ran and
    /// it went back to accepting, as 3f's does). A fixed short wait would
    /// misjudge a slow, busy machine; this waits for the verdict itself.
    pub fn wait_settled_after_sigchld(&mut self, timeout: Duration) -> Option<Exit> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(exit) = self.try_exit() {
                return Some(exit);
            }
            if self.asleep_in_accept() && !self.sigchld_pending() || Instant::now() > deadline {
                return self.try_exit();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Is the process blocked in accept(2) or accept4(2)? (`/proc/PID/syscall`
    /// starts with the number of the system call it is blocked in.)
    fn asleep_in_accept(&self) -> bool {
        const ACCEPT: &str = "43"; // x86-64 syscall numbers
        const ACCEPT4: &str = "288";
        let syscall = fs::read_to_string(format!("/proc/{}/syscall", self.pid)).unwrap_or_default();
        matches!(syscall.split_whitespace().next(), Some(ACCEPT | ACCEPT4))
    }

    /// Is a SIGCHLD waiting to be delivered (`SigPnd`/`ShdPnd` in
    /// `/proc/PID/status`)? Unreadable counts as pending: keep waiting.
    fn sigchld_pending(&self) -> bool {
        let sigchld = 1u64 << (Signal::SIGCHLD as i32 - 1);
        procfs::pending_signals(self.pid.as_raw()).is_none_or(|mask| mask & sigchld != 0)
    }

    /// Poll `condition` until it holds or `timeout` passes; the error says
    /// what was awaited and what the server looked like at the end.
    pub fn wait_until(
        &self,
        timeout: Duration,
        what: &str,
        mut condition: impl FnMut(&Server) -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if condition(self) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} (pid {}): waited {timeout:?} for {what}; children now: {:?}; stderr: {}",
                    self.name,
                    self.pid,
                    self.children(),
                    self.stderr()
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Wait until every child has finished: each one is a zombie or gone.
    pub fn wait_children_finished(&self, timeout: Duration) -> Result<(), String> {
        self.wait_until(timeout, "every child to finish", |s| {
            s.children().iter().all(procfs::Stat::is_zombie)
        })
    }

    /// Kill the whole process group and reap every process in it.
    pub fn stop(&mut self) {
        let _ = killpg(self.pid, Signal::SIGKILL);
        loop {
            // Children of the server were re-parented to us (we are their
            // subreaper) when it died; -pgid reaps any process of its group.
            match waitpid(Pid::from_raw(-self.pid.as_raw()), None) {
                Ok(WaitStatus::Exited(pid, code)) if pid == self.pid => {
                    self.exit.get_or_insert(Exit::Code(code));
                }
                Ok(WaitStatus::Signaled(pid, signal, _)) if pid == self.pid => {
                    self.exit.get_or_insert(Exit::Signal(signal));
                }
                Ok(_) | Err(Errno::EINTR) => continue,
                Err(_) => break, // ECHILD: nothing of that group is left
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The port in a `Serving HTTP on port N ...` line (or the same line for
/// another protocol: `Serving FTP on port N ...`), if one was printed.
pub fn banner_port(output: &str) -> Option<u16> {
    output.lines().find_map(|line| {
        let (protocol, rest) = line.strip_prefix("Serving ")?.split_once(" on port ")?;
        if protocol.is_empty() || protocol.contains(' ') {
            return None;
        }
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// The names in a directory, hidden ones included, sorted (`ls -A`):
/// what a test checks to prove that nothing was left behind.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| Some(e.ok()?.file_name().to_string_lossy().into_owned()))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// `len` bytes that are the same on every run for the same `seed`, and
/// differ at almost every position between seeds (xorshift64*): test data
/// whose every part is recognisable.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        bytes.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

pub mod client {
    //! Client-side helpers that tell apart what a student sees with curl
    //! and nc: a response, the end of the stream, or a hang.

    use std::io::{self, Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::time::{Duration, Instant};

    /// The request client3 and the tests send.
    pub fn request(addr: SocketAddr) -> String {
        format!("GET /hello HTTP/1.1\r\nHost: {addr}\r\n\r\n")
    }

    /// Connect and send a GET request.
    pub fn send_get(addr: SocketAddr) -> io::Result<TcpStream> {
        let mut stream = TcpStream::connect(addr)?;
        stream.write_all(request(addr).as_bytes())?;
        Ok(stream)
    }

    /// A response read off the wire: the head and exactly Content-Length
    /// bytes of body.
    #[derive(Debug, Clone)]
    pub struct Response {
        pub head: String,
        pub body: Vec<u8>,
    }

    impl Response {
        pub fn status_line(&self) -> &str {
            self.head.lines().next().unwrap_or("")
        }
    }

    /// Read one response (head plus Content-Length body) within `timeout`.
    /// A timeout surfaces as `WouldBlock`/`TimedOut`. Bytes read past the
    /// response are dropped: for pipelined responses use [`ResponseReader`].
    pub fn read_response(stream: &mut TcpStream, timeout: Duration) -> io::Result<Response> {
        read_response_after(stream, &mut Vec::new(), timeout)
    }

    /// Reads pipelined responses off one connection, one after another:
    /// bytes that arrived with one response but belong to the next are kept
    /// for the next [`ResponseReader::next`].
    #[derive(Debug, Default)]
    pub struct ResponseReader {
        buffered: Vec<u8>,
    }

    impl ResponseReader {
        pub fn new() -> ResponseReader {
            ResponseReader::default()
        }

        /// The next response on `stream` within `timeout`.
        pub fn next(&mut self, stream: &mut TcpStream, timeout: Duration) -> io::Result<Response> {
            read_response_after(stream, &mut self.buffered, timeout)
        }
    }

    /// Read one response, starting with the bytes in `buffered`; whatever
    /// follows the response is left in `buffered`.
    fn read_response_after(
        stream: &mut TcpStream,
        buffered: &mut Vec<u8>,
        timeout: Duration,
    ) -> io::Result<Response> {
        let deadline = Instant::now() + timeout;
        let data = buffered;
        let mut buf = [0u8; 4096];
        loop {
            if let Some(end) = find(data, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&data[..end]).into_owned();
                let length = content_length(&head).ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("no Content-Length in {head:?}"),
                    )
                })?;
                let body_start = end + 4;
                if data.len() >= body_start + length {
                    let body = data[body_start..body_start + length].to_vec();
                    data.drain(..body_start + length);
                    return Ok(Response { head, body });
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no complete response in time",
                ));
            }
            stream.set_read_timeout(Some(left))?;
            match read_retrying_eintr(stream, &mut buf)? {
                0 => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("EOF after {} bytes, before a complete response", data.len()),
                    ))
                }
                n => data.extend_from_slice(&buf[..n]),
            }
        }
    }

    /// What came after the response.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum AfterResponse {
        /// The server closed the connection (read returned 0).
        Eof,
        /// Nothing arrived and the connection stayed open for the whole wait
        /// (on Linux a read timeout surfaces as WouldBlock).
        Hung,
        /// More bytes arrived.
        MoreData,
    }

    /// Wait up to `timeout` for the end of the stream.
    pub fn wait_for_eof(stream: &mut TcpStream, timeout: Duration) -> io::Result<AfterResponse> {
        let deadline = Instant::now() + timeout;
        let mut buf = [0u8; 1024];
        let outcome = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(AfterResponse::Hung);
            }
            stream.set_read_timeout(Some(left))?;
            match stream.read(&mut buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                outcome => break outcome,
            }
        };
        match outcome {
            Ok(0) => Ok(AfterResponse::Eof),
            Ok(_) => Ok(AfterResponse::MoreData),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(AfterResponse::Hung)
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Ok(AfterResponse::Eof),
            Err(e) => Err(e),
        }
    }

    /// Send `request` as it is on a new connection and read everything the
    /// server sends until it closes the connection (what `nc` shows). The
    /// request should say `Connection: close`, or the wait ends in a timeout.
    pub fn exchange(addr: SocketAddr, request: &[u8], timeout: Duration) -> io::Result<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut stream = TcpStream::connect(addr)?;
        stream.write_all(request)?;
        let mut data = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the server did not close in time",
                ));
            }
            stream.set_read_timeout(Some(left))?;
            match stream.read(&mut buf) {
                Ok(0) => return Ok(data),
                Ok(n) => data.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Make `close` (or drop) of `stream` send RST instead of FIN:
    /// SO_LINGER with a zero timeout, as a crashing or impatient client
    /// does.
    pub fn reset_on_close(stream: &TcpStream) {
        nix::sys::socket::setsockopt(
            stream,
            nix::sys::socket::sockopt::Linger,
            &libc::linger {
                l_onoff: 1,
                l_linger: 0,
            },
        )
        .expect("setsockopt(SO_LINGER)");
    }

    /// GET and read the response in one go.
    pub fn get(addr: SocketAddr, timeout: Duration) -> io::Result<Response> {
        let mut stream = send_get(addr)?;
        read_response(&mut stream, timeout)
    }

    /// `n` clients at once, each on its own thread: connect, send, read the
    /// response. Returns how many were answered. The threads start together
    /// (a barrier) so that the server's children finish together too.
    pub fn burst(addr: SocketAddr, n: usize, timeout: Duration) -> usize {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(n));
        let threads: Vec<_> = (0..n)
            .map(|_| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    get(addr, timeout).is_ok()
                })
            })
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().unwrap_or(false))
            .filter(|ok| *ok)
            .count()
    }

    /// A socket read with a timeout (SO_RCVTIMEO) is never restarted after
    /// a signal handler runs, SA_RESTART or not (signal(7)); and a test
    /// process gets SIGCHLD for every child it reaps, with a handler
    /// installed by anything that waits with a timeout. Retry: the caller's
    /// deadline still bounds the wait.
    fn read_retrying_eintr(stream: &mut TcpStream, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match stream.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                outcome => return outcome,
            }
        }
    }

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    fn content_length(head: &str) -> Option<usize> {
        head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
    }
}

pub mod site_check {
    //! Checks that a Part 4 server serves a static site correctly, as curl
    //! and a raw keep-alive client see it.

    use super::client::read_response;
    use std::io::Write;
    use std::net::{SocketAddr, TcpStream};
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::time::Duration;

    /// Every regular file under `root`, as (URL path, contents), sorted.
    pub fn site_files(root: &Path) -> Vec<(String, Vec<u8>)> {
        let mut files = Vec::new();
        let mut folders = vec![PathBuf::from(root)];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder)
                .expect("reading the site folder")
                .flatten()
            {
                let path = entry.path();
                let kind = entry.file_type().expect("file type");
                if kind.is_dir() {
                    folders.push(path);
                } else if kind.is_file() {
                    let relative = path.strip_prefix(root).expect("inside root");
                    let url = format!("/{}", relative.to_string_lossy());
                    files.push((url, std::fs::read(&path).expect("reading a site file")));
                }
            }
        }
        files.sort();
        files
    }

    /// Fetch every file of `root` from the server with one curl run (curl
    /// reuses its connection where the server allows) and compare bytes.
    pub fn assert_curl_fetches_site(addr: SocketAddr, root: &Path) {
        let files = site_files(root);
        let out = super::ScratchDir::new("curl").expect("scratch dir");
        let mut curl = Command::new("curl");
        curl.args(["--silent", "--show-error", "--fail", "--max-time", "20"]);
        for (i, (url, _)) in files.iter().enumerate() {
            curl.arg(format!("http://{addr}{url}"))
                .arg("-o")
                .arg(out.path().join(i.to_string()));
        }
        let status = curl.status().expect("running curl (is it installed?)");
        assert!(status.success(), "curl failed against {addr}: {status}");
        for (i, (url, expected)) in files.iter().enumerate() {
            let got = std::fs::read(out.path().join(i.to_string())).unwrap_or_default();
            assert!(
                got == *expected,
                "{url}: {} bytes differ from the {} on disk",
                got.len(),
                expected.len()
            );
        }
    }

    /// A site root in a scratch folder with a secret file just outside it,
    /// and symlinks inside that lead out: what a traversal attack goes for.
    pub struct TrapSite {
        dir: super::ScratchDir,
        /// The secret file's contents, which no response may contain.
        pub secret: String,
    }

    impl TrapSite {
        pub fn new() -> TrapSite {
            let dir = super::ScratchDir::new("trap-site").expect("scratch dir");
            let secret = format!(
                "TOP-SECRET-{}-{:?}",
                std::process::id(),
                std::time::Instant::now()
            );
            let root = dir.path().join("root");
            std::fs::create_dir_all(root.join("sub")).expect("creating the trap root");
            std::fs::write(dir.path().join("secret.txt"), &secret).expect("writing the secret");
            std::fs::write(root.join("inside.txt"), "inside\n").expect("writing inside.txt");
            std::fs::write(root.join("index.html"), "<p>trap</p>\n").expect("writing index.html");
            let link = |target: &Path, name: &str| {
                std::os::unix::fs::symlink(target, root.join(name)).expect("creating a symlink")
            };
            link(&dir.path().join("secret.txt"), "link-out.txt");
            link(dir.path(), "dir-out");
            link(&root.join("inside.txt"), "link-in.txt");
            TrapSite { dir, secret }
        }

        pub fn root(&self) -> PathBuf {
            self.dir.path().join("root")
        }

        /// Request targets that try to leave the root: dot-dot in every
        /// spelling, encoded slashes and backslashes, NUL, absolute paths
        /// and absolute-form URLs, and the symlinks that point out.
        pub fn attacks(&self) -> Vec<String> {
            let secret_path = self.dir.path().join("secret.txt").display().to_string();
            let mut attacks: Vec<String> = [
                "/../secret.txt",
                "/sub/../../secret.txt",
                "/./../secret.txt",
                "/%2e%2e/secret.txt",
                "/%2E%2E/secret.txt",
                "/.%2e/secret.txt",
                "/%2e%2e%2fsecret.txt",
                "/..%2fsecret.txt",
                "/sub%2f..%2f..%2fsecret.txt",
                "/..%5csecret.txt",
                "/..\\secret.txt",
                "/sub\\..\\..\\secret.txt",
                "/%00/../secret.txt",
                "/secret.txt%00.html",
                "/%252e%252e/secret.txt",
                "../secret.txt",
                "http://localhost/../secret.txt",
                "http://localhost/%2e%2e/secret.txt",
                "/link-out.txt",
                "/dir-out/secret.txt",
                "/dir-out/root/../secret.txt",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            attacks.push(secret_path.clone());
            attacks.push(format!("/{secret_path}"));
            attacks.push(format!("file://{secret_path}"));
            attacks
        }
    }

    impl Default for TrapSite {
        fn default() -> TrapSite {
            TrapSite::new()
        }
    }

    /// Send every attack of `trap` on a raw socket (curl would normalise
    /// the dots away) and check that none is answered with the secret or a
    /// success status, while files inside the root (one through a symlink
    /// that stays inside) are still served.
    pub fn assert_traversal_refused(addr: SocketAddr, trap: &TrapSite) {
        let fetch = |target: &str| {
            let request =
                format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            let bytes = super::client::exchange(addr, request.as_bytes(), Duration::from_secs(10))
                .unwrap_or_else(|e| panic!("GET {target}: {e}"));
            String::from_utf8_lossy(&bytes).into_owned()
        };
        for inside in ["/inside.txt", "/link-in.txt"] {
            let answer = fetch(inside);
            assert!(
                answer.starts_with("HTTP/1.1 200 ") && answer.ends_with("inside\n"),
                "GET {inside}: {answer}"
            );
        }
        for attack in trap.attacks() {
            let answer = fetch(&attack);
            assert!(
                !answer.contains(&trap.secret),
                "GET {attack} leaked the secret: {answer}"
            );
            let status = answer.split(' ').nth(1).unwrap_or("");
            assert!(
                status.starts_with('4'),
                "GET {attack}: expected a 4xx status, got {:?}",
                answer.lines().next()
            );
        }
    }

    /// Send `requests` requests for `/` one after another on ONE connection,
    /// each answered in full before the next is sent.
    pub fn assert_keep_alive(addr: SocketAddr, root: &Path, requests: usize) {
        let index = std::fs::read(root.join("index.html")).expect("index.html");
        let mut stream = TcpStream::connect(addr).expect("connect");
        for i in 0..requests {
            stream
                .write_all(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
                .unwrap_or_else(|e| panic!("request {i} on the kept-alive connection: {e}"));
            let response = read_response(&mut stream, Duration::from_secs(10))
                .unwrap_or_else(|e| panic!("response {i} on the kept-alive connection: {e}"));
            assert_eq!(response.status_line(), "HTTP/1.1 200 OK");
            assert!(response.body == index, "response {i}: wrong body");
        }
    }
}
