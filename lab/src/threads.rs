//! The check and question of exercise 4b: a thread per connection instead
//! of a process per connection.

use super::check::{Check, Verdict};
use super::observe::clients_at_once;
use super::question::{Answer, Measured, Question};
use super::subject::Subject;
use std::time::Duration;

/// Clients held open at once.
const HELD: usize = 20;
/// How long the held clients may take, together, to be answered.
const HELD_WAIT: Duration = Duration::from_secs(5);

/// What serves [`HELD`] open connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub answered: usize,
    /// The server's threads (its main thread included).
    pub threads: usize,
    /// Its child processes that have not exited.
    pub children: usize,
}

/// Connect [`HELD`] clients, send each `GET /hello.txt` (HTTP/1.1: the
/// connection stays open after the response), read every response, and
/// count the server's threads and live children while all are connected.
pub fn held_clients(subject: &Subject) -> Result<Held, String> {
    let server = subject.start()?;
    let (_streams, answered) = clients_at_once(
        &server,
        HELD,
        b"GET /hello.txt HTTP/1.1\r\nHost: lab\r\n\r\n",
        HELD_WAIT,
    )?;
    let children = server.children().iter().filter(|c| !c.is_zombie()).count();
    Ok(Held {
        answered,
        threads: server.threads(),
        children,
    })
}

pub static THREAD_PER_CONNECTION: Check = Check {
    id: "thread-per-connection",
    title: "open connections are served by threads of one process",
    expected: "20 clients connected at once each get /hello.txt and stay connected, while the \
               server runs a thread for each (21 or more) and no child process",
    run: |subject| {
        Verdict::from_observation(held_clients(subject), |held| {
            let saw = format!(
                "{} of {HELD} clients answered within {HELD_WAIT:?}; while they were connected \
                 the server ran {} thread(s) and {} child process(es)",
                held.answered, held.threads, held.children
            );
            Verdict::when(
                held.answered == HELD && held.children == 0 && held.threads > HELD,
                saw,
            )
        })
    },
};

pub static CHILDREN_FOR_20: Question = Question {
    key: "children_for_20",
    ask: "20 clients are connected to webserver4a at once; each has had its response and keeps \
          its connection open. How many child processes does webserver4a have then?",
    answer: Answer::Number { tolerance: 0 },
    measure: |starter| {
        let held = held_clients(starter)?;
        Ok(Measured {
            value: held.children.to_string(),
            story: format!(
                "{}: {} of {HELD} clients answered; while they were connected it had {} child \
                 process(es) and {} thread(s)",
                starter.name(),
                held.answered,
                held.children,
                held.threads
            ),
        })
    },
};
