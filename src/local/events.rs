//! What the local runner tells an observer while tasks run: status changes and each line the
//! task writes, as it is written. `ecs-migrate local` prints them; tests read them.

use std::sync::{Arc, RwLock};

use serde::Serialize;
use tokio::sync::broadcast;

use crate::ports::ecs::TaskState;

/// Which of the process's outputs a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputStream {
    Stdout,
    Stderr,
}

/// One thing that happened to a local task. Lines of a task always come before the status
/// change that reports it STOPPED.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LocalEvent {
    /// The task's `lastStatus` or `desiredStatus` changed; `state` is what DescribeTasks would
    /// now answer.
    Status { state: TaskState },
    /// The task's container wrote a line (without its line ending; lines longer than 16 KiB
    /// are split, as Docker's log drivers do).
    Output {
        task_arn: String,
        container: String,
        stream: OutputStream,
        line: String,
    },
}

/// A callback run for every event, in the thread that caused it, before anyone can see the
/// change it reports (e.g. to print progress in the order things happened).
pub type TaskObserver = Arc<dyn Fn(&LocalEvent) + Send + Sync>;

/// How many events a [`broadcast`] subscriber may fall behind before it misses some.
pub const CHANNEL_CAPACITY: usize = 8192;

/// Hands each event to the observers, then to the broadcast subscribers.
#[derive(Clone)]
pub struct Emitter {
    channel: broadcast::Sender<LocalEvent>,
    observers: Arc<RwLock<Vec<TaskObserver>>>,
}

impl std::fmt::Debug for Emitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emitter")
            .field("subscribers", &self.channel.receiver_count())
            .finish_non_exhaustive()
    }
}

impl Default for Emitter {
    fn default() -> Self {
        Self {
            channel: broadcast::channel(CHANNEL_CAPACITY).0,
            observers: Arc::default(),
        }
    }
}

impl Emitter {
    pub fn emit(&self, event: LocalEvent) {
        let observers = self
            .observers
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for observer in observers.iter() {
            observer(&event);
        }
        let _ = self.channel.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LocalEvent> {
        self.channel.subscribe()
    }

    pub fn observe(&self, observer: TaskObserver) {
        self.observers
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(observer);
    }
}
