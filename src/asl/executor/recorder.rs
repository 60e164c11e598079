//! The execution history as it is recorded: event ids, the threads of execution (the main
//! path, Parallel branches, Map iterations) and what is still open in each, so an abort can
//! close them the way the service does.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use serde_json::{json, Value};

use super::super::history::{EventDetails, EventType, HistoryEvent, Observer};
use crate::common::clock::Clock;
use crate::common::sync::lock;

/// A thread of execution (the main path, a branch, an iteration) and its last event.
pub(super) struct Thread {
    pub(crate) id: u64,
    pub(crate) last: u64,
}

/// What an Aborted event closes.
pub(super) enum OpenKind {
    State(EventType),
    Iteration { name: String, index: usize },
}

struct Open {
    thread: u64,
    kind: OpenKind,
}

#[derive(Default)]
struct Book {
    events: Vec<HistoryEvent>,
    /// Events recorded so far (kept or not): the last event id.
    recorded: u64,
    /// Running states and iterations by the id of the event that opened them (unique), so
    /// closing one is O(1) however many run.
    open: HashMap<u64, Open>,
    parents: HashMap<u64, u64>,
    next_thread: u64,
}

/// Records the events of one execution; shared by its branches and iterations.
pub(super) struct Recorder<'e> {
    keep: bool,
    observer: Option<&'e Observer>,
    clock: &'e dyn Clock,
    /// The history quota: the last event an execution may record ends it.
    max_events: Option<u64>,
    /// An event was refused at the history quota: the execution must end, failed. Outside
    /// the lock, as every transition reads it.
    exhausted: AtomicBool,
    book: Mutex<Book>,
}

impl<'e> Recorder<'e> {
    pub(crate) fn new(
        keep: bool,
        observer: Option<&'e Observer>,
        clock: &'e dyn Clock,
        max_events: Option<u64>,
    ) -> Self {
        Self {
            keep,
            observer,
            clock,
            max_events,
            exhausted: AtomicBool::new(false),
            book: Mutex::new(Book {
                next_thread: 1,
                ..Book::default()
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Book> {
        lock(&self.book)
    }

    /// Records an event; `details` is built only when someone will see it.
    pub(crate) fn record_at<D: Into<EventDetails>>(
        &self,
        ty: EventType,
        previous: u64,
        details: impl FnOnce() -> D,
    ) -> u64 {
        let mut book = self.lock();
        // AWS: "If the event number 25,000 isn't ExecutionSucceeded, the ExecutionFailed
        // event is logged" (developer guide, Avoid reaching the history quota). So the last
        // slot is kept for the event that ends the execution.
        if let Some(max) = self.max_events {
            if !ends_execution(ty) && book.recorded + 1 >= max {
                self.exhausted.store(true, Ordering::Relaxed);
                return book.recorded;
            }
        }
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
    pub(crate) fn record<D: Into<EventDetails>>(
        &self,
        th: &mut Thread,
        ty: EventType,
        details: impl FnOnce() -> D,
    ) -> u64 {
        let id = self.record_at(ty, th.last, details);
        th.last = id;
        id
    }

    /// Whether the history quota stopped an event from being recorded.
    pub(crate) fn exhausted(&self) -> bool {
        self.exhausted.load(Ordering::Relaxed)
    }

    /// The id of the last event recorded.
    pub(crate) fn last_id(&self) -> u64 {
        self.lock().recorded
    }

    /// The kept events, leaving none behind.
    pub(crate) fn take_events(&self) -> Vec<HistoryEvent> {
        std::mem::take(&mut self.lock().events)
    }

    pub(crate) fn new_thread(&self, parent: u64) -> u64 {
        let mut book = self.lock();
        let id = book.next_thread;
        book.next_thread += 1;
        book.parents.insert(id, parent);
        id
    }

    /// Marks a state or iteration as running, so an abort closes it.
    pub(crate) fn open(&self, thread: u64, kind: OpenKind, entered: u64) {
        self.lock().open.insert(entered, Open { thread, kind });
    }

    pub(crate) fn close(&self, entered: u64) {
        self.lock().open.remove(&entered);
    }

    /// Records Aborted events for everything still running in `threads` (and the threads
    /// they started): per thread, innermost first. Each open state finds its thread among
    /// `threads` in one walk up its parents, so aborting n iterations costs O(n · depth), not
    /// O(n²): a Map of 35,000 items that hits the history quota fails at once.
    pub(crate) fn abort_threads(&self, threads: &[u64]) {
        let mut book = self.lock();
        let position: HashMap<u64, usize> =
            threads.iter().enumerate().map(|(i, &t)| (t, i)).collect();
        // The first of `threads` (in their order) that each open state descends from.
        let mut groups: Vec<Vec<u64>> = vec![Vec::new(); threads.len()];
        for (&entered, open) in &book.open {
            let mut thread = Some(open.thread);
            let mut first: Option<usize> = None;
            while let Some(t) = thread {
                if let Some(&i) = position.get(&t) {
                    first = Some(first.map_or(i, |f| f.min(i)));
                }
                thread = book.parents.get(&t).copied();
            }
            if let Some(i) = first {
                groups[i].push(entered);
            }
        }
        let mut to_emit = Vec::new();
        for mut group in groups {
            group.sort_unstable_by_key(|&entered| std::cmp::Reverse(entered));
            for entered in group {
                let Some(o) = book.open.remove(&entered) else {
                    continue;
                };
                let (ty, details) = match o.kind {
                    OpenKind::State(t) => (t, Value::Null),
                    OpenKind::Iteration { name, index } => (
                        EventType::MapIterationAborted,
                        json!({"index": index, "name": name}),
                    ),
                };
                to_emit.push((ty, entered, details));
            }
        }
        drop(book);
        for (ty, entered, details) in to_emit {
            self.record_at(ty, entered, || details);
        }
    }
}

fn ends_execution(ty: EventType) -> bool {
    matches!(
        ty,
        EventType::ExecutionSucceeded
            | EventType::ExecutionFailed
            | EventType::ExecutionTimedOut
            | EventType::ExecutionAborted
    )
}
