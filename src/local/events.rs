//! What the local runner tells an observer while tasks run: status changes and each line the
//! task writes, as it is written. `ecs-migrate local` prints them; tests read them.

use serde::Serialize;

use crate::ecs::TaskState;

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
