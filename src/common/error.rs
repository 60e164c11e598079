//! The errors a step reports to the state machine.
//!
//! Each kind has one stable name (docs/troubleshooting.md, "By error name"): the Lambda `errorType` that Step
//! Functions' Retry and Catch match and that the console and CI show as the execution's Error.
//! The message is the Cause, so it names the field or setting and says what to do. A new kind is
//! one line of [`error_kinds!`]: its name, its place in [`ErrorKind::ALL`] and its
//! documentation come from that line.

use serde::{Deserialize, Serialize};

/// Declares the kinds once: each becomes a variant, its name `Migration.<Kind>` and an entry of
/// `ALL`, in the order written (the README's).
macro_rules! error_kinds {
    ($($(#[doc = $doc:literal])* $kind:ident,)*) => {
        /// What went wrong, as the state machine names it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorKind {
            $($(#[doc = $doc])* $kind,)*
        }

        impl ErrorKind {
            /// Every kind a step can report, in the README's order.
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$kind,)*];

            /// The stable error name (`errorType`) Step Functions sees.
            pub fn name(self) -> &'static str {
                match self {
                    $(ErrorKind::$kind => concat!("Migration.", stringify!($kind)),)*
                }
            }
        }
    };
}

error_kinds! {
    /// The input is not the expected shape; the message names the field.
    InvalidEvent,
    /// The family is not allow-listed, or another account, region or cluster.
    NotAllowed,
    /// No such task definition.
    TaskDefinitionNotFound,
    /// The configured container is not in the task definition.
    ContainerNotFound,
    /// RunTask failures ECS may clear (RESOURCE:*, capacity); retried.
    CapacityUnavailable,
    /// RunTask refused for good, or still failing after retries.
    RunTaskFailed,
    /// Stop code TaskFailedToStart (CannotPullContainerError, ...).
    TaskFailedToStart,
    /// The migration container exited non-zero (137 = killed / out of memory).
    NonZeroExit,
    /// Stopped before the container finished (user, spot, scheduler).
    TaskStopped,
    /// The task can no longer be described.
    TaskMissing,
    /// The deadline passed; the task was stopped.
    Timeout,
    /// A setting is missing or malformed; the message names it.
    Misconfigured,
    /// Another execution held the migration lock for all of LOCK_WAIT_SECONDS.
    Locked,
    /// This execution's lease ran out and another execution took the lock over.
    LockLost,
    /// An AWS call failed in a way that retrying the step may fix (throttling after the SDK's
    /// own retries, a 5xx, a network error), so the definition can retry it; not one of the
    /// user-facing outcomes.
    AwsTransient,
    /// The deployment's hook no longer waits for an answer: it timed out, was answered by
    /// hand, or its deployment finished.
    HookNotAwaiting,
}

/// A failure of a migration step: its kind, named for the state machine, and the Cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct MigrationError {
    kind: ErrorKind,
    message: String,
}

impl MigrationError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// What kind of failure this is (callers branch on it, never on the text).
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The stable error name (`errorType`) Step Functions sees.
    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// The human-readable cause (the Lambda `errorMessage`).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The error as Step Functions records it: `{"Error": name, "Cause": message}`.
    pub(crate) fn to_state_error(&self) -> StateError {
        StateError {
            error: self.name().to_string(),
            cause: self.message.clone(),
        }
    }
}

/// An error as the state machine carries it in its data (what a Catch puts at its ResultPath).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateError {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_prefixed() {
        let names: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.name()).collect();
        let distinct: std::collections::BTreeSet<&str> = names.iter().copied().collect();
        assert_eq!(distinct.len(), names.len(), "{names:?}");
        assert!(
            names.iter().all(|n| n.starts_with("Migration.")),
            "{names:?}"
        );
        assert_eq!(names[0], "Migration.InvalidEvent");
        assert_eq!(names[names.len() - 1], "Migration.HookNotAwaiting");
    }

    #[test]
    fn the_error_carries_its_kind_and_cause() {
        let err = MigrationError::new(ErrorKind::NonZeroExit, "exit code 1");
        assert_eq!(err.name(), "Migration.NonZeroExit");
        assert_eq!(err.to_state_error().cause, "exit code 1");
        assert_eq!(err.to_string(), "exit code 1");
    }
}
