//! # webserver4g — a production-style event loop with mio
//!
//! **What it shows.** The epoll loop of `webserver4e`, grown into what real
//! servers (nginx, tokio's reactor) do, on `mio` — the portable readiness
//! API tokio is built on (epoll on Linux, kqueue on the BSDs):
//!
//! * **A token per connection.** Connections live in a [`Slab`]; a
//!   connection's slot number is its mio [`Token`], so an event leads
//!   straight to its connection.
//! * **Edge-triggered readiness.** mio registers sockets with `EPOLLET`:
//!   epoll reports a socket when it *becomes* ready, not for as long as it
//!   is. So each turn reads until `WouldBlock` (or a short read, which
//!   for a stream socket says the same a call earlier) — or, if it stops
//!   early at its budget (fairness), it must remember to come back,
//!   because no new event will come for bytes already waiting.
//! * **Write interest only while needed.** A connection is registered for
//!   readable; while a response is partly written it is re-registered for
//!   writable too, and back when the response is out.
//! * **Batched answers.** Everything that arrived is read first, then every
//!   queued response goes out in one `write(2)`: ten pipelined requests in
//!   one packet cost one write, not ten.
//! * **No Nagle delay.** Every connection gets `TCP_NODELAY`, as nginx
//!   sets on keep-alive connections: an answer is written whole, so there is
//!   nothing for Nagle's algorithm to gather, and it would hold a large
//!   answer's last, partial segment until the client acknowledged the rest,
//!   which a client may put off for 40 ms or more.
//! * **Idle timeouts.** A connection that moves no byte for
//!   `--idle-timeout` seconds is closed: a kept-alive browser tab or a
//!   client that sent half a request must not hold a descriptor forever.
//!   `poll` sleeps exactly until the nearest deadline.
//! * **No busy loop on `EMFILE`.** When `accept` finds no free descriptor,
//!   the listener is deregistered until a connection closes: the waiting
//!   clients stay in the kernel's listen queue and are served in turn, and
//!   a spare descriptor, released meanwhile, lets the connected ones still
//!   open the files they ask for.
//! * **One loop per core, if asked.** One loop runs on one core, and a
//!   request that computes (`/work?ms=N`) holds up every connection of the
//!   loop. `--loops N` runs N loops on N threads, each with a listening
//!   socket of its own on the same port (`SO_REUSEPORT`), as nginx runs a
//!   worker process per core: the kernel spreads the connections.
//!
//! **See it.** `cargo run --bin webserver4g`, then `nc 127.0.0.1 8888` and
//! wait: after `--idle-timeout` (5 s by default) the server hangs up. Or
//! start it under `ulimit -n 64` (which lowers the hard limit too), open
//! 100 connections and watch `top`: 0% CPU, one line on stderr, and every
//! client served as others leave. `cargo bench --bench c10k` holds 10,000
//! connections open.
//!
//! **Next.** This is where Part 4 ends: tokio wraps this very loop (mio,
//! tokens, wakers, timers) behind `async`/`await`.

use clap::Parser;
use lsbaws::cli::{IdleArgs, ServerArgs, SiteArgs};
use lsbaws::http::{Limits, Request, Response, Session, Site};
use lsbaws::net::{accept_failure, AcceptFailure, SpareDescriptor};
use lsbaws::report::{
    die, die_msg, errno_of, explain, warn, warn_unless_disconnect, OrDie, Throttle,
};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use nix::errno::Errno;
use slab::Slab;
use std::collections::BTreeSet;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

/// Length of the listen queue: where clients wait while we cannot accept.
const REQUEST_QUEUE_SIZE: i32 = 1024;
/// The listener's token; connections use their slab keys, which start at 0.
const LISTENER: Token = Token(usize::MAX);
/// How many events one `poll` may return.
const EVENTS_CAPACITY: usize = 1024;
/// One read buffer shared by every connection.
const READ_BUFFER: usize = 64 * 1024;
/// At most this many bytes are read and written for one connection per
/// turn, so that one fast client cannot starve the others; its rest waits
/// for the next turn of the loop.
const TURN_BUDGET: usize = 1024 * 1024;
/// While paused on EMFILE, try accepting again at least this often (the
/// descriptors may be freed by something other than our connections).
const ACCEPT_RETRY: Duration = Duration::from_secs(1);

/// Part 4, model g: a mio event loop with idle timeouts and EMFILE handling.
#[derive(Parser)]
#[command(version, about)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    site: SiteArgs,
    #[command(flatten)]
    idle: IdleArgs,
    /// Event loops, each on a thread of its own with a listening socket of
    /// its own on the same port (SO_REUSEPORT): one per core spreads
    /// CPU-bound work over the cores. 1 is this step's single loop.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    loops: u16,
}

/// One client.
struct Connection {
    stream: TcpStream,
    session: Session,
    /// When it is closed unless a byte moves before then (`None` without
    /// an idle timeout).
    deadline: Option<Instant>,
    /// Registered for WRITABLE as well as READABLE?
    wants_writable: bool,
}

/// The whole server: one thread, one `Poll`, every connection.
struct EventLoop {
    poll: Poll,
    listener: TcpListener,
    connections: Slab<Connection>,
    /// (deadline, slab key) of every connection, nearest first.
    deadlines: BTreeSet<(Instant, usize)>,
    /// Connections that stopped at their turn's budget with work left.
    unfinished: Vec<usize>,
    /// Accepting is paused (EMFILE); retry at this time at the latest.
    accept_paused_until: Option<Instant>,
    /// Reports running out of descriptors at most every 10 seconds.
    out_of_descriptors: Throttle,
    /// Released while accepting is paused: room to open a file.
    spare: SpareDescriptor,
    buffer: Vec<u8>,
    site: Site,
    /// `None` for `--idle-timeout 0`: connections may idle forever.
    idle_timeout: Option<Duration>,
    quiet: bool,
}

fn main() {
    let args = Args::parse();
    let site = args.site.open();
    // Each connection holds a descriptor: lift the soft limit (often 1024)
    // to the hard one so that thousands of clients fit.
    lsbaws::net::raise_fd_limit();
    let listeners = if args.loops == 1 {
        vec![lsbaws::net::listen_without_banner(
            &args.server,
            REQUEST_QUEUE_SIZE,
        )]
    } else {
        lsbaws::net::listen_reuseport(&args.server, REQUEST_QUEUE_SIZE, args.loops.into())
    };
    let port = lsbaws::net::local_port(&listeners[0]);
    let mut loops = listeners.into_iter().map(|listener| {
        // mio expects a non-blocking socket, as edge-triggered readiness needs.
        let listener = std::net::TcpListener::from(listener);
        listener.set_nonblocking(true).or_die("fcntl(O_NONBLOCK)");
        EventLoop {
            poll: Poll::new().or_die("epoll_create1()"),
            listener: TcpListener::from_std(listener),
            connections: Slab::new(),
            deadlines: BTreeSet::new(),
            unfinished: Vec::new(),
            accept_paused_until: None,
            out_of_descriptors: Throttle::every_ten_seconds(),
            spare: SpareDescriptor::new(),
            buffer: vec![0; READ_BUFFER],
            site: site.clone(),
            idle_timeout: args.idle.timeout(),
            quiet: args.server.quiet,
        }
    });
    let mut first = loops.next().expect("at least one loop");
    // --loops N: the others share nothing with this one but the site (read
    // only) and the port; each runs on a thread of its own. A connection
    // queued on a socket whose loop is not polling yet is reported when it
    // registers the socket.
    for (n, mut other) in loops.enumerate() {
        std::thread::Builder::new()
            .name(format!("loop-{}", n + 1))
            .spawn(move || other.run(None))
            .or_die("spawning an event loop thread");
    }
    first.run(Some(port));
}

impl EventLoop {
    // ANCHOR: run
    fn run(&mut self, banner: Option<u16>) -> ! {
        let registry = self.poll.registry();
        registry
            .register(&mut self.listener, LISTENER, Interest::READABLE)
            .or_die("epoll_ctl(ADD)");
        // Ready: say so (tests and students wait for this line).
        if let Some(port) = banner {
            lsbaws::net::print_banner(port);
        }
        let mut events = Events::with_capacity(EVENTS_CAPACITY);
        loop {
            // Sleep until an event, or the nearest deadline: no CPU is used
            // while nothing happens, however many connections are open.
            let timeout = self.poll_timeout(Instant::now());
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                die_msg(format!("epoll_wait() failed: {e}"));
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept_all(),
                    Token(key) => self.on_ready(key, event.is_read_closed()),
                }
            }
            for key in std::mem::take(&mut self.unfinished) {
                self.on_ready(key, true);
            }
            let now = Instant::now();
            self.close_idle(now);
            if self.accept_paused_until.is_some_and(|retry| retry <= now) {
                self.resume_accepting();
            }
        }
    }

    /// How long `poll` may sleep: until the nearest idle deadline or accept
    /// retry, not at all if a connection has bytes left to read, and
    /// forever (`None`) if nothing is pending.
    fn poll_timeout(&self, now: Instant) -> Option<Duration> {
        if !self.unfinished.is_empty() {
            return Some(Duration::ZERO);
        }
        let nearest_deadline = self.deadlines.first().map(|&(deadline, _)| deadline);
        let wake_at = match (nearest_deadline, self.accept_paused_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        wake_at.map(|at| at.saturating_duration_since(now))
    }
    // ANCHOR_END: run

    // ANCHOR: accept
    /// Accept every waiting connection (edge-triggered: until WouldBlock).
    fn accept_all(&mut self) {
        loop {
            // mio's accept is accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC.
            let mut stream = match self.listener.accept() {
                Ok((stream, _peer)) => stream,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) => match accept_failure(errno_of(&e)) {
                    AcceptFailure::OutOfResources => return self.pause_accepting(errno_of(&e)),
                    AcceptFailure::ConnectionGone => continue,
                    AcceptFailure::Fatal => die("accept()", errno_of(&e)),
                },
            };
            // TCP_NODELAY, as nginx sets on keep-alive connections. Nagle's
            // algorithm holds an answer's last, partial segment until every
            // segment before it is acknowledged, and a client may delay its
            // acknowledgement by 40 ms or more: with 1 MiB answers, a stall
            // now and then. Our answers are whole when written, so there is
            // nothing for Nagle to coalesce.
            if let Err(e) = stream.set_nodelay(true) {
                warn("setsockopt(TCP_NODELAY)", e);
            }
            let entry = self.connections.vacant_entry();
            let key = entry.key();
            let registry = self.poll.registry();
            if let Err(e) = registry.register(&mut stream, Token(key), Interest::READABLE) {
                warn("epoll_ctl(ADD)", e);
                continue; // dropping the stream closes it
            }
            let session = Session::new(Limits::default());
            entry.insert(Connection {
                stream,
                session,
                deadline: None,
                wants_writable: false,
            });
            self.restart_idle_clock(key);
        }
    }

    /// No descriptor for a new connection. Accepting again at once would
    /// fail the same way; with a level-triggered listener (webserver4e) the
    /// kernel would also keep waking us for it, a 100% CPU loop.
    ///
    /// Two classic answers. (1) Keep a spare descriptor; on EMFILE close it,
    /// accept the connection, close that at once and reopen the spare: the
    /// queue drains, but every extra client is turned away with a reset and
    /// loses its request. (2) Stop listening for a while. We do (2): the
    /// clients wait in the kernel's listen queue (it completes their
    /// handshakes; once it is full, TCP retries their SYNs) and are served
    /// in order as soon as a connection closes — nobody loses a request,
    /// and overload shows as latency, not errors. We retry on every close,
    /// and after ACCEPT_RETRY anyway in case descriptors freed elsewhere.
    ///
    /// We keep a spare descriptor too, for another reason: at EMFILE the
    /// clients already connected would find no descriptor to open the file
    /// they ask for. Releasing the spare while paused leaves one free, and
    /// one is enough: this single thread opens one file at a time.
    fn pause_accepting(&mut self, errno: Errno) {
        // epoll_ctl(DEL): no more events for the listener while paused.
        let _ = self.poll.registry().deregister(&mut self.listener);
        self.spare.release();
        self.accept_paused_until = Some(Instant::now() + ACCEPT_RETRY);
        if self.out_of_descriptors.allow() {
            let (why, open) = (explain(errno), self.connections.len());
            warn(
                "accept()",
                format!(
                    "{why}; not accepting until a connection closes ({open} open); \
                     waiting clients stay in the listen queue"
                ),
            );
        }
    }

    fn resume_accepting(&mut self) {
        if self.accept_paused_until.take().is_none() {
            return;
        }
        // Back into reserve before accepting, so accept fails one early.
        self.spare.reclaim();
        let registry = self.poll.registry();
        registry
            .register(&mut self.listener, LISTENER, Interest::READABLE)
            .or_die("epoll_ctl(ADD)");
        // Edge-triggered: connections that queued while we were away may
        // bring no new event, so look now.
        self.accept_all();
    }
    // ANCHOR_END: accept

    // ANCHOR: ready
    /// A connection is ready (or has bytes left from its last turn).
    /// `read_to_end`: read until `WouldBlock` or the end even after a short
    /// read (the peer has closed, or no event brought us here).
    fn on_ready(&mut self, key: usize, read_to_end: bool) {
        // An event for a slot closed earlier in this batch (or reused since:
        // the new connection's read then just finds WouldBlock).
        let Some(connection) = self.connections.get_mut(key) else {
            return;
        };
        let site = &self.site;
        let quiet = self.quiet;
        let turn = match take_turn(connection, &mut self.buffer, read_to_end, |request| {
            site.respond_and_log(request, quiet)
        }) {
            Ok(turn) => turn,
            Err(e) => {
                warn_unless_disconnect("a client's connection", e);
                return self.close(key);
            }
        };
        if connection.session.is_finished() {
            return self.close(key);
        }
        // Ask for WRITABLE only while an answer is partly written.
        let wants_writable = connection.session.wants_write();
        if wants_writable != connection.wants_writable {
            let interest = if wants_writable {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            let registry = self.poll.registry();
            registry
                .reregister(&mut connection.stream, Token(key), interest)
                .or_die("epoll_ctl(MOD)");
            connection.wants_writable = wants_writable;
        }
        if turn.more_to_do {
            self.unfinished.push(key);
        }
        if turn.bytes_moved > 0 {
            self.restart_idle_clock(key);
        }
    }
    // ANCHOR_END: ready

    // ANCHOR: timeouts
    /// A byte moved (or the connection is new): it may now stay quiet for
    /// the idle timeout. One deadline per connection, kept in a sorted set,
    /// so the nearest is `first()` and moving one costs O(log n).
    fn restart_idle_clock(&mut self, key: usize) {
        let Some(idle_timeout) = self.idle_timeout else {
            return;
        };
        let connection = &mut self.connections[key];
        if let Some(old) = connection.deadline.take() {
            self.deadlines.remove(&(old, key));
        }
        let deadline = Instant::now() + idle_timeout;
        connection.deadline = Some(deadline);
        self.deadlines.insert((deadline, key));
    }

    /// Close every connection whose deadline has passed.
    fn close_idle(&mut self, now: Instant) {
        while let Some(&(deadline, key)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.close(key); // removes the deadline too
        }
    }
    // ANCHOR_END: timeouts

    fn close(&mut self, key: usize) {
        let mut connection = self.connections.remove(key);
        if let Some(deadline) = connection.deadline {
            self.deadlines.remove(&(deadline, key));
        }
        // epoll_ctl(DEL), then close(2) as the stream drops.
        let _ = self.poll.registry().deregister(&mut connection.stream);
        drop(connection);
        // A descriptor is free: if accepting was paused, take the next client.
        self.resume_accepting();
    }
}

/// What one turn of a connection did.
struct Turn {
    /// Bytes read plus bytes written (zero: the connection is idle).
    bytes_moved: usize,
    /// It stopped at its budget with work maybe left: bytes in the socket
    /// (no new edge will announce them) or requests held back.
    more_to_do: bool,
}

// ANCHOR: turn
/// Read what arrived, answer it, write the answers; repeat while writing
/// makes room for more — until the socket would block, or the turn's budget
/// is spent (so that one busy client cannot starve the others).
fn take_turn(
    connection: &mut Connection,
    buffer: &mut [u8],
    read_to_end: bool,
    mut respond: impl FnMut(&Request) -> Response,
) -> io::Result<Turn> {
    let Connection {
        stream, session, ..
    } = connection;
    let mut moved = 0;
    // Has a read found the socket empty (or at its end)? Edge-triggered:
    // until then nothing else would tell us about bytes already waiting.
    let mut drained = false;
    loop {
        if moved >= TURN_BUDGET {
            // Bytes may wait in the socket, or requests in the session: no
            // event would announce either, so come back next time round.
            return Ok(Turn {
                bytes_moved: moved,
                more_to_do: true,
            });
        }
        // Requests that waited for the output to drain come first.
        session.answer(&mut respond);
        // Read until WouldBlock — unless the answers are backed up past the
        // session's high-water mark (wants_read is false then).
        while !drained && session.wants_read() && moved < TURN_BUDGET {
            match stream.read(buffer) {
                Ok(0) => {
                    session.peer_closed();
                    drained = true;
                }
                Ok(n) => {
                    moved += n;
                    session.receive(&buffer[..n], &mut respond);
                    // A read that filled less than the buffer emptied the
                    // socket: epoll(7) lets a stream socket stop here, a
                    // call before WouldBlock (one recvfrom less per batch
                    // of pipelined requests); bytes that come later bring
                    // a new edge. Not once the peer has closed: its FIN is
                    // already in, and brings no further edge.
                    drained = n < buffer.len() && !read_to_end;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => drained = true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if !session.wants_write() {
            return Ok(Turn {
                bytes_moved: moved,
                more_to_do: false,
            });
        }
        // Every answer queued above goes out together: one write(2) for a
        // whole batch of pipelined requests, as much as the socket takes.
        while session.wants_write() {
            match stream.write(session.pending()) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    moved += n;
                    session.wrote(n);
                }
                // Socket buffer full: the WRITABLE event brings us back.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    return Ok(Turn {
                        bytes_moved: moved,
                        more_to_do: false,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        // All written: answer what waited, read on.
    }
}
// ANCHOR_END: turn
