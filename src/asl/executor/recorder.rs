//! The execution history as it is recorded: event ids, the threads of execution (the main
//! path, Parallel branches, Map iterations) and what is still open in each, so an abort can
//! close them the way the service does.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use serde_json::{json, Value};

use super::super::history::{EventDetails, EventType, HistoryEvent, Observer};
use crate::clock::Clock;

/// A thread of execution (the main path, a branch, an iteration) and its last event.
pub(super) struct Thread {
    pub id: u64,
    pub last: u64,
}

/// What an Aborted event closes.
pub(super) enum OpenKind {
    State(EventType),
    Iteration { name: String, index: usize },
}

struct Open {
    thread: u64,
    kind: OpenKind,
    entered: u64,
}

#[derive(Default)]
struct Book {
    events: Vec<HistoryEvent>,
    /// Events recorded so far (kept or not): the last event id.
    recorded: u64,
    open: Vec<Open>,
    parents: HashMap<u64, u64>,
    next_thread: u64,
}

/// Records the events of one execution; shared by its branches and iterations.
pub(super) struct Recorder<'e> {
    keep: bool,
    observer: Option<&'e Observer>,
    clock: &'e dyn Clock,
    book: Mutex<Book>,
}

impl<'e> Recorder<'e> {
    pub fn new(keep: bool, observer: Option<&'e Observer>, clock: &'e dyn Clock) -> Self {
        Self {
            keep,
            observer,
            clock,
            book: Mutex::new(Book {
                next_thread: 1,
                ..Book::default()
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Book> {
        self.book.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records an event; `details` is built only when someone will see it.
    pub fn record_at<D: Into<EventDetails>>(
        &self,
        ty: EventType,
        previous: u64,
        details: impl FnOnce() -> D,
    ) -> u64 {
        let mut book = self.lock();
        book.recorded += 1;
        let id = book.recorded;
        if !self.keep && self.observer.is_none() {
            return id;
        }
        let event = HistoryEvent {
            id,
            previous_event_id: previous,
            timestamp: self.clock.now(),
            event_type: ty,
            details: details().into(),
        };
        if let Some(obs) = self.observer {
            obs(&event);
        }
        if self.keep {
            book.events.push(event);
        }
        id
    }

    /// Records an event that follows the thread's last one.
    pub fn record<D: Into<EventDetails>>(
        &self,
        th: &mut Thread,
        ty: EventType,
        details: impl FnOnce() -> D,
    ) -> u64 {
        let id = self.record_at(ty, th.last, details);
        th.last = id;
        id
    }

    /// The id of the last event recorded.
    pub fn last_id(&self) -> u64 {
        self.lock().recorded
    }

    /// The kept events, leaving none behind.
    pub fn take_events(&self) -> Vec<HistoryEvent> {
        std::mem::take(&mut self.lock().events)
    }

    pub fn new_thread(&self, parent: u64) -> u64 {
        let mut book = self.lock();
        let id = book.next_thread;
        book.next_thread += 1;
        book.parents.insert(id, parent);
        id
    }

    /// Marks a state or iteration as running, so an abort closes it.
    pub fn open(&self, thread: u64, kind: OpenKind, entered: u64) {
        self.lock().open.push(Open {
            thread,
            kind,
            entered,
        });
    }

    pub fn close(&self, thread: u64, entered: u64) {
        self.lock()
            .open
            .retain(|o| !(o.thread == thread && o.entered == entered));
    }

    /// Records Aborted events for everything still running in `threads` (and the threads
    /// they started): per thread, innermost first.
    pub fn abort_threads(&self, threads: &[u64]) {
        let mut book = self.lock();
        let descends = |book: &Book, mut t: u64, root: u64| loop {
            if t == root {
                return true;
            }
            match book.parents.get(&t) {
                Some(&p) => t = p,
                None => return false,
            }
        };
        let mut to_emit = Vec::new();
        for &root in threads {
            let mut group: Vec<usize> = (0..book.open.len())
                .filter(|&i| descends(&book, book.open[i].thread, root))
                .collect();
            group.sort_by_key(|&i| std::cmp::Reverse(book.open[i].entered));
            for i in group {
                let o = &book.open[i];
                let (ty, details) = match &o.kind {
                    OpenKind::State(t) => (*t, Value::Null),
                    OpenKind::Iteration { name, index } => (
                        EventType::MapIterationAborted,
                        json!({"index": index, "name": name}),
                    ),
                };
                to_emit.push((i, ty, o.entered, details));
            }
        }
        let mut remove: Vec<usize> = to_emit.iter().map(|(i, ..)| *i).collect();
        remove.sort_unstable();
        remove.dedup();
        for i in remove.into_iter().rev() {
            book.open.remove(i);
        }
        drop(book);
        for (_, ty, entered, details) in to_emit {
            self.record_at(ty, entered, || details);
        }
    }
}
