//! Experiments on a running server that report what happened.
//!
//! Each function starts its own server from a [`Subject`] (so one broken
//! behaviour cannot spoil the next experiment), drives it with real
//! connections, and returns a plain description of the outcome: a count, a
//! state, an exit. They judge nothing: the project's tests assert on the
//! outcome they expect from each step, and the exercise checks
//! ([`super::part3`]) turn it into a verdict for a student. An `Err` means
//! the experiment itself could not be carried out, and says which behaviour
//! it was waiting for.

use super::subject::Subject;
use lsbaws_harness::client::{
    burst, get, read_response, send_get, wait_for_eof, AfterResponse, Response,
};
use lsbaws_harness::procfs::{self, SignalMasks};
use lsbaws_harness::{Exit, Launch, Server};
use nix::sys::signal::Signal;
use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Upper bound for anything that should happen "at once".
pub const WAIT: Duration = Duration::from_secs(10);
/// How long silence must last to call a connection hung.
pub const HANG: Duration = Duration::from_secs(1);
/// How long a server may take to reap a child that has exited. A SIGCHLD
/// handler runs within microseconds; a second covers a loaded machine.
pub const REAP_GRACE: Duration = Duration::from_secs(1);

/// `clients` connections to `server`, each sending `request` before any
/// answer is read; then every answer is read, all within `wait`. Returns
/// the connections, still open (for what the caller counts while they
/// are), and how many answers carried `Hello, World!` (the site's
/// `/hello.txt`).
pub fn clients_at_once(
    server: &Server,
    clients: usize,
    request: &[u8],
    wait: Duration,
) -> Result<(Vec<TcpStream>, usize), String> {
    let mut streams = Vec::with_capacity(clients);
    for n in 0..clients {
        let mut stream = TcpStream::connect(server.addr())
            .map_err(|e| format!("connecting client {} failed: {e}", n + 1))?;
        stream
            .write_all(request)
            .map_err(|e| format!("client {} could not send its request: {e}", n + 1))?;
        streams.push(stream);
    }
    let deadline = Instant::now() + wait;
    let mut answered = 0;
    for stream in &mut streams {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        if read_response(stream, left).is_ok_and(|r| r.body == b"Hello, World!") {
            answered += 1;
        }
    }
    Ok((streams, answered))
}

/// GET /hello and insist on the Hello, World! response.
pub fn expect_hello(server: &Server) -> Result<Response, String> {
    let mut stream = connect(server)?;
    stream
        .write_all(lsbaws_harness::client::request(server.addr()).as_bytes())
        .map_err(|e| format!("sending GET /hello failed: {e}"))?;
    read_hello(&mut stream)
}

fn connect(server: &Server) -> Result<TcpStream, String> {
    TcpStream::connect(server.addr())
        .map_err(|e| format!("connecting to {} failed: {e}", server.addr()))
}

fn read_hello(stream: &mut TcpStream) -> Result<Response, String> {
    let response = read_response(stream, WAIT)
        .map_err(|e| format!("waited {WAIT:?} for the response to GET /hello: {e}"))?;
    if response.status_line() != "HTTP/1.1 200 OK"
        || response.body != lsbaws::hello::BODY.as_bytes()
    {
        return Err(format!(
            "GET /hello got {:?} with body {:?}, not 200 OK and {:?}",
            response.status_line(),
            String::from_utf8_lossy(&response.body),
            lsbaws::hello::BODY
        ));
    }
    Ok(response)
}

/// The first line the server wrote to stderr, or a note that it wrote none.
pub fn first_error_line(stderr: &str) -> String {
    stderr
        .lines()
        .next()
        .map(str::to_string)
        .unwrap_or_else(|| "(nothing on stderr)".to_string())
}

/// How a process ended, in words.
pub fn describe_exit(exit: Exit, stderr: &str) -> String {
    match exit {
        Exit::Code(code) => format!("exited with status {code}: {}", first_error_line(stderr)),
        Exit::Signal(signal) => format!("was killed by {signal}"),
    }
}

// ---- concurrency ------------------------------------------------------------

/// What happened to a second client while a first one was connected and
/// silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SilentFirst {
    /// How long the second client waited for its response, if it got one
    /// within [`HANG`] x 2.
    pub answered_in: Option<Duration>,
    /// The server's child processes at that moment.
    pub children: usize,
}

/// Connect a client that says nothing, then send a request on a second
/// connection. An iterative server is stuck reading the first; a concurrent
/// one answers the second at once.
pub fn second_client_while_first_is_silent(subject: &Subject) -> Result<SilentFirst, String> {
    let server = subject.start()?;
    let _silent = connect(&server)?;
    let mut second =
        send_get(server.addr()).map_err(|e| format!("connecting the second client failed: {e}"))?;
    let asked = Instant::now();
    match read_response(&mut second, HANG * 2) {
        Ok(_) => Ok(SilentFirst {
            answered_in: Some(asked.elapsed()),
            children: server.children().len(),
        }),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Ok(SilentFirst {
                answered_in: None,
                children: server.children().len(),
            })
        }
        Err(e) => Err(format!(
            "the second client's read failed: {e}; server stderr: {}",
            server.stderr()
        )),
    }
}

// ---- descriptors --------------------------------------------------------------

/// What a client sees after its response, once the server's children have
/// finished: EOF, or a connection that stays open.
pub fn after_the_response(subject: &Subject) -> Result<AfterResponse, String> {
    let server = subject.start()?;
    let mut stream = send_get(server.addr()).map_err(|e| format!("connecting failed: {e}"))?;
    read_hello(&mut stream)?;
    server.wait_children_finished(WAIT)?;
    wait_for_eof(&mut stream, HANG).map_err(|e| format!("reading after the response failed: {e}"))
}

/// The server's open descriptors before and after some connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Growth {
    pub connections: usize,
    pub before: usize,
    pub after: usize,
}

impl Growth {
    pub fn leaked(&self) -> usize {
        self.after.saturating_sub(self.before)
    }
}

/// Count the server's descriptors (`ls /proc/PID/fd`), answer `connections`
/// clients one after another, let the children finish, count again.
pub fn descriptor_growth(subject: &Subject, connections: usize) -> Result<Growth, String> {
    let server = subject.start()?;
    let before = server.open_fds();
    for done in 0..connections {
        expect_hello(&server).map_err(|e| format!("client {} of {connections}: {e}", done + 1))?;
    }
    server.wait_children_finished(WAIT)?;
    // The parent closes its copy right after fork(); on a busy machine the
    // client may have its response before the parent got to run that close.
    let _ = server.wait_until(REAP_GRACE, "the descriptors to be closed", |s| {
        s.open_fds() <= before
    });
    Ok(Growth {
        connections,
        before,
        after: server.open_fds(),
    })
}

// ---- running out of a resource -----------------------------------------------

/// A run of clients one after another under a resource limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitRun {
    /// The limit as a shell would set it: `ulimit -n 256`.
    pub limit: String,
    pub attempted: usize,
    pub answered: usize,
    /// What the first client that was not answered saw.
    pub unanswered: Option<String>,
    /// How the server ended, if it did.
    pub exit: Option<Exit>,
    pub stderr: String,
}

impl LimitRun {
    /// Did the server report that `call` failed with `errno` (`"accept()"`,
    /// `"EMFILE"`)?
    pub fn failed_with(&self, call: &str, errno: &str) -> bool {
        self.stderr.contains(&format!("{call} failed: {errno}"))
    }

    /// "252 of 300 answered, then the server exited with status 1: ...".
    pub fn summary(&self) -> String {
        let mut text = format!(
            "under `{}`: {} of {} clients answered",
            self.limit, self.answered, self.attempted
        );
        match self.exit {
            Some(exit) => text.push_str(&format!(
                ", then the server {}",
                describe_exit(exit, &self.stderr)
            )),
            None => text.push_str(", and the server is still running"),
        }
        text
    }
}

/// `ulimit -n limit`, then up to `connections` clients one after another.
pub fn under_open_file_limit(
    subject: &Subject,
    limit: u64,
    connections: usize,
) -> Result<LimitRun, String> {
    let server = subject.launch().limit_open_files(limit).start()?;
    Ok(clients_until_failure(
        server,
        format!("ulimit -n {limit}"),
        connections,
    ))
}

/// A process limit that leaves room for `room` processes, the server
/// included ([`with_room_for_processes`]), then up to `connections` clients
/// one after another.
pub fn under_process_limit(
    subject: &Subject,
    room: u64,
    connections: usize,
) -> Result<LimitRun, String> {
    // Room for the descriptors the server may leak, so that EMFILE does not
    // come first.
    let (_, hard_files) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map_err(|e| format!("getrlimit(RLIMIT_NOFILE) failed: {e}"))?;
    let launch = subject.launch().limit_open_files(hard_files.min(4096));
    let (launch, limit) = with_room_for_processes(launch, room);
    let server = launch.start()?;
    Ok(clients_until_failure(
        server,
        format!("ulimit -u {limit}"),
        connections,
    ))
}

/// `launch` under a process limit (`ulimit -u`, which counts threads too)
/// that leaves room for `room` processes, the server included; and the
/// limit it sets. The kernel ignores RLIMIT_NPROC for root and counts every
/// process of the user: as root the server runs as a uid of its own that
/// no other process uses, with the limit set to `room`; otherwise the
/// limit is what our user runs already plus `room`.
pub fn with_room_for_processes(launch: Launch, room: u64) -> (Launch, u64) {
    if nix::unistd::Uid::effective().is_root() {
        (launch.as_user(unused_uid()).limit_processes(room), room)
    } else {
        let mine = procfs::processes_of_user(nix::unistd::Uid::current().as_raw()) as u64;
        (launch.limit_processes(mine + room), mine + room)
    }
}

/// A uid that no other process uses: distinct for every call in this
/// process, and for every process (it is derived from our pid).
fn unused_uid() -> u32 {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed) % 16;
    200_000 + std::process::id() * 16 + call
}

/// Answer clients one at a time until `connections` or the first failure.
/// Waiting for each response means the parent has accepted by then, so a
/// small listen queue never overflows and no SYN is retried.
fn clients_until_failure(mut server: Server, limit: String, connections: usize) -> LimitRun {
    let mut answered = 0;
    let mut unanswered = None;
    while answered < connections && server.is_running() {
        if let Err(e) = get(server.addr(), WAIT) {
            unanswered = Some(format!("client {}: {e}", answered + 1));
            break;
        }
        answered += 1;
    }
    let exit = if answered < connections {
        server.wait_for_exit(WAIT)
    } else {
        server.try_exit()
    };
    LimitRun {
        limit,
        attempted: connections,
        answered,
        unanswered,
        exit,
        stderr: server.stderr(),
    }
}

// ---- children and SIGCHLD -------------------------------------------------------

/// What the server does when a child exits, as `/proc/PID/status` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigchldHandling {
    /// The default: the signal is discarded; the child stays a zombie until
    /// someone calls wait().
    Default,
    /// SIG_IGN: the kernel reaps children itself (no zombies, no handler).
    Ignored,
    /// A handler is installed.
    Caught,
}

pub fn sigchld_handling(subject: &Subject) -> Result<SigchldHandling, String> {
    let server = subject.start()?;
    let masks: SignalMasks = server.signal_masks().ok_or_else(|| {
        format!(
            "could not read /proc/{}/status: the server is gone; stderr: {}",
            server.pid(),
            server.stderr()
        )
    })?;
    Ok(if masks.catches(Signal::SIGCHLD) {
        SigchldHandling::Caught
    } else if masks.ignores(Signal::SIGCHLD) {
        SigchldHandling::Ignored
    } else {
        SigchldHandling::Default
    })
}

/// What became of the child that served one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildFate {
    /// No child process appeared to serve the connection.
    NoChild,
    /// The child had not exited [`WAIT`] after its response.
    StillRunning { pid: i32 },
    /// The child exited and the server reaped it: it is gone.
    Reaped { pid: i32 },
    /// The child exited and is still the server's zombie.
    Zombie { pid: i32 },
    /// The server exited before reaping it (the child was re-parented).
    Orphaned { pid: i32 },
}

/// A [`ChildFate`], and how the server itself was doing afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildRun {
    pub fate: ChildFate,
    pub server_exit: Option<Exit>,
    pub stderr: String,
}

/// Connect and stay silent until the server has forked a child for the
/// connection (so the child is seen however fast it is later reaped), then
/// send the request, read the response, and watch the child exit.
pub fn fate_of_a_child(subject: &Subject) -> Result<ChildRun, String> {
    let mut server = subject.start()?;
    let mut client = connect(&server)?;
    let fork_seen = server.wait_until(HANG * 2, "a child process to serve the connection", |s| {
        !s.children().is_empty()
    });
    let run = |server: &mut Server, fate| ChildRun {
        fate,
        server_exit: server.try_exit(),
        stderr: server.stderr(),
    };
    if fork_seen.is_err() {
        return Ok(run(&mut server, ChildFate::NoChild));
    }
    let pid = server.children()[0].pid;
    client
        .write_all(lsbaws_harness::client::request(server.addr()).as_bytes())
        .map_err(|e| format!("sending the request failed: {e}"))?;
    read_hello(&mut client)?;
    let finished = server.wait_until(WAIT, &format!("child {pid} to exit"), |_| {
        procfs::stat(pid).is_none_or(|p| p.is_zombie())
    });
    if finished.is_err() {
        return Ok(run(&mut server, ChildFate::StillRunning { pid }));
    }
    let _ = server.wait_until(REAP_GRACE, &format!("child {pid} to be reaped"), |_| {
        procfs::stat(pid).is_none()
    });
    let fate = match procfs::stat(pid) {
        None => ChildFate::Reaped { pid },
        Some(p) if p.ppid == server.pid().as_raw() => ChildFate::Zombie { pid },
        Some(_) => ChildFate::Orphaned { pid },
    };
    // A handler without SA_RESTART makes accept() fail right after it ran:
    // wait for that, or for the server to be back in accept().
    server.wait_settled_after_sigchld(WAIT);
    Ok(run(&mut server, fate))
}

/// Requests answered while the children that served them exited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survival {
    pub rounds: usize,
    pub served: usize,
    pub exit: Option<Exit>,
    pub stderr: String,
}

/// Send `rounds` requests one after another; after each, wait until the
/// child that served it has exited (while the parent blocks in accept()).
pub fn serve_while_children_exit(subject: &Subject, rounds: usize) -> Result<Survival, String> {
    let mut server = subject.start()?;
    let mut served = 0;
    while served < rounds && server.is_running() {
        if get(server.addr(), WAIT).is_err() {
            break;
        }
        served += 1;
        server.wait_children_finished(WAIT)?;
        // Let the SIGCHLD land before the next client: otherwise a quick
        // client can be accepted before the signal interrupts accept(),
        // and 3e seems to serve one more than it does.
        server.wait_settled_after_sigchld(WAIT);
    }
    Ok(Survival {
        rounds,
        served,
        exit: server.try_exit(),
        stderr: server.stderr(),
    })
}

/// Bursts of simultaneous clients, and the zombies they left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bursts {
    pub size: usize,
    /// Bursts sent (the run stops at the first that leaves a zombie).
    pub sent: usize,
    /// Zombies after the last burst.
    pub zombies: usize,
}

/// Up to `bursts` bursts of `size` clients at once. Whether two children
/// exit close enough together for their SIGCHLDs to merge is a race (the
/// race is the lesson): each burst gives it `size` chances.
pub fn zombies_after_bursts(
    subject: &Subject,
    bursts: usize,
    size: usize,
) -> Result<Bursts, String> {
    let mut server = subject.start()?;
    let mut result = Bursts {
        size,
        sent: 0,
        zombies: 0,
    };
    while result.sent < bursts {
        result.sent += 1;
        let answered = burst(server.addr(), size, WAIT);
        if answered < size {
            let state = match server.wait_for_exit(HANG / 2) {
                Some(exit) => format!("the server {}", describe_exit(exit, &server.stderr())),
                None => "the server is still running".to_string(),
            };
            return Err(format!(
                "burst {}: only {answered} of {size} clients answered; {state}",
                result.sent
            ));
        }
        server.wait_children_finished(WAIT)?;
        let _ = server.wait_until(REAP_GRACE, "the children to be reaped", |s| {
            s.zombies() == 0
        });
        result.zombies = server.zombies();
        if result.zombies > 0 {
            break;
        }
    }
    Ok(result)
}

/// What the kernel says a process is asleep in (`/proc/PID/wchan`:
/// `do_wait` for wait(2), `ep_poll` for epoll_wait(2)), or `running`.
pub fn wchan(pid: i32) -> String {
    wchan_in(std::path::Path::new(&format!("/proc/{pid}")))
}

/// The `wchan` of a process or thread folder (`/proc/PID/task/TID`).
pub fn wchan_in(dir: &std::path::Path) -> String {
    match std::fs::read_to_string(dir.join("wchan")) {
        Ok(name) if name.trim() == "0" || name.trim().is_empty() => "running".to_string(),
        Ok(name) => name.trim().to_string(),
        Err(_) => "gone".to_string(),
    }
}

/// A client that came after a child exited, while another child was still
/// serving a silent client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusyChild {
    /// How long the last client waited for its response, if it got one
    /// within [`HANG`] x 2.
    pub answered_in: Option<Duration>,
    /// Where the server was asleep when the client was not answered.
    pub wchan: String,
    pub exit: Option<Exit>,
    pub stderr: String,
}

/// Keep one client connected and silent (its child stays alive, waiting
/// for the request), get a response on a second connection (its child
/// exits: SIGCHLD), then send a third request. A SIGCHLD handler that
/// blocks in wait(2) for the silent client's child never returns to
/// accept(2), and the third client is never answered.
pub fn next_client_while_a_child_serves(subject: &Subject) -> Result<BusyChild, String> {
    let mut server = subject.start()?;
    let _silent = connect(&server)?;
    server.wait_until(
        HANG * 2,
        "a child process to serve the silent client",
        |s| !s.children().is_empty(),
    )?;
    expect_hello(&server)?;
    server.wait_until(WAIT, "the second client's child to exit", |s| {
        s.children().iter().filter(|c| !c.is_zombie()).count() <= 1
    })?;
    server.wait_settled_after_sigchld(HANG * 2);
    let mut answered_in = None;
    if server.is_running() {
        let mut third = send_get(server.addr())
            .map_err(|e| format!("connecting the third client failed: {e}"))?;
        let asked = Instant::now();
        if read_response(&mut third, HANG * 2).is_ok() {
            answered_in = Some(asked.elapsed());
        }
    }
    Ok(BusyChild {
        answered_in,
        wchan: wchan(server.pid().as_raw()),
        exit: server.try_exit(),
        stderr: server.stderr(),
    })
}

/// Children that all exited while one SIGCHLD was pending, and the zombies
/// the server's handler left of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneSignal {
    pub children: usize,
    pub zombies: usize,
    pub exit: Option<Exit>,
    pub stderr: String,
}

/// Sends SIGCONT when dropped, so that a stopped server is never left
/// stopped by an early return.
struct Resume(nix::unistd::Pid);

impl Drop for Resume {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(self.0, Signal::SIGCONT);
    }
}

/// Connect `n` clients and wait until a child serves each; stop the server
/// (SIGSTOP), send every request and let every child exit while it is
/// stopped, so that their `n` SIGCHLDs merge into one pending signal; then
/// let it run (SIGCONT) and count the zombies its handler left. Without the
/// stop this is a race (bursts); with it, the handler runs once for `n`
/// exits, every time.
pub fn exits_during_one_signal(subject: &Subject, n: usize) -> Result<OneSignal, String> {
    let mut server = subject.start()?;
    let mut clients = (0..n)
        .map(|_| connect(&server))
        .collect::<Result<Vec<_>, _>>()?;
    server.wait_until(WAIT, &format!("{n} child processes"), |s| {
        s.children().len() >= n
    })?;
    nix::sys::signal::kill(server.pid(), Signal::SIGSTOP)
        .map_err(|e| format!("stopping the server with SIGSTOP failed: {e}"))?;
    let resume = Resume(server.pid());
    for client in &mut clients {
        client
            .write_all(lsbaws_harness::client::request(server.addr()).as_bytes())
            .map_err(|e| format!("sending a request failed: {e}"))?;
    }
    for client in &mut clients {
        read_hello(client)?;
    }
    server.wait_children_finished(WAIT)?;
    drop(resume);
    let _ = server.wait_until(REAP_GRACE, "the children to be reaped", |s| {
        s.zombies() == 0
    });
    server.wait_settled_after_sigchld(HANG);
    Ok(OneSignal {
        children: n,
        zombies: server.zombies(),
        exit: server.try_exit(),
        stderr: server.stderr(),
    })
}

/// How a server ended when its first accept(2) failed with EMFILE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptError {
    /// The limit: `ulimit -n 4`.
    pub limit: String,
    pub exit: Option<Exit>,
    pub stderr: String,
    /// CPU time the server used in the meantime (a loop that retries
    /// accept() at once spins).
    pub cpu: Duration,
}

/// Start the server with no descriptor to spare (`ulimit -n` = its
/// descriptors: 0, 1, 2 and the listening socket), connect a client, and
/// see what it does when accept(2) fails with EMFILE, an error that
/// retrying cannot cure.
pub fn accept_fails_with_emfile(subject: &Subject) -> Result<AcceptError, String> {
    const LIMIT: u64 = 4;
    let mut server = subject.launch().limit_open_files(LIMIT).start()?;
    // The harness may have connected already to see the server ready, and
    // the server exited then: a refused connection is part of the outcome.
    let _client = TcpStream::connect(server.addr());
    let exit = server.wait_for_exit(HANG * 2);
    Ok(AcceptError {
        limit: format!("ulimit -n {LIMIT}"),
        exit,
        cpu: server.cpu_time(),
        stderr: server.stderr(),
    })
}
