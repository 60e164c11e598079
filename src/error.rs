//! The errors a step reports to the state machine.
//!
//! Each variant maps to one stable name (docs/troubleshooting.md, "By error name"): the Lambda
//! `errorType` that Step Functions' Retry and Catch match and that the console and CI show as
//! the execution's Error. The message is the Cause, so it names the field or setting and says
//! what to do.

use serde::{Deserialize, Serialize};

/// A failure of a migration step, named for the state machine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MigrationError {
    #[error("{0}")]
    InvalidEvent(String),
    #[error("{0}")]
    NotAllowed(String),
    #[error("{0}")]
    TaskDefinitionNotFound(String),
    #[error("{0}")]
    ContainerNotFound(String),
    #[error("{0}")]
    CapacityUnavailable(String),
    #[error("{0}")]
    RunTaskFailed(String),
    #[error("{0}")]
    TaskFailedToStart(String),
    #[error("{0}")]
    NonZeroExit(String),
    #[error("{0}")]
    TaskStopped(String),
    #[error("{0}")]
    TaskMissing(String),
    #[error("{0}")]
    Timeout(String),
    #[error("{0}")]
    Misconfigured(String),
    /// Another execution held the migration lock for all of LOCK_WAIT_SECONDS.
    #[error("{0}")]
    Locked(String),
    /// This execution's lease ran out and another execution took the lock over.
    #[error("{0}")]
    LockLost(String),
    /// An AWS call failed in a way that retrying the step may fix (throttling after the SDK's
    /// own retries, a 5xx, a network error). Named `Migration.AwsTransient` so the definition
    /// can retry it; not one of the user-facing outcomes.
    #[error("{0}")]
    AwsTransient(String),
    /// The deployment's hook no longer waits for an answer: it timed out, was answered by
    /// hand, or its deployment finished.
    #[error("{0}")]
    HookNotAwaiting(String),
}

impl MigrationError {
    /// Every name a step can report, in the order docs/troubleshooting.md lists them.
    pub const NAMES: [&'static str; 16] = [
        "Migration.InvalidEvent",
        "Migration.NotAllowed",
        "Migration.TaskDefinitionNotFound",
        "Migration.ContainerNotFound",
        "Migration.CapacityUnavailable",
        "Migration.RunTaskFailed",
        "Migration.TaskFailedToStart",
        "Migration.NonZeroExit",
        "Migration.TaskStopped",
        "Migration.TaskMissing",
        "Migration.Timeout",
        "Migration.Misconfigured",
        "Migration.Locked",
        "Migration.LockLost",
        "Migration.AwsTransient",
        "Migration.HookNotAwaiting",
    ];

    /// The stable error name (`errorType`) Step Functions sees.
    pub fn name(&self) -> &'static str {
        match self {
            Self::InvalidEvent(_) => "Migration.InvalidEvent",
            Self::NotAllowed(_) => "Migration.NotAllowed",
            Self::TaskDefinitionNotFound(_) => "Migration.TaskDefinitionNotFound",
            Self::ContainerNotFound(_) => "Migration.ContainerNotFound",
            Self::CapacityUnavailable(_) => "Migration.CapacityUnavailable",
            Self::RunTaskFailed(_) => "Migration.RunTaskFailed",
            Self::TaskFailedToStart(_) => "Migration.TaskFailedToStart",
            Self::NonZeroExit(_) => "Migration.NonZeroExit",
            Self::TaskStopped(_) => "Migration.TaskStopped",
            Self::TaskMissing(_) => "Migration.TaskMissing",
            Self::Timeout(_) => "Migration.Timeout",
            Self::Misconfigured(_) => "Migration.Misconfigured",
            Self::Locked(_) => "Migration.Locked",
            Self::LockLost(_) => "Migration.LockLost",
            Self::AwsTransient(_) => "Migration.AwsTransient",
            Self::HookNotAwaiting(_) => "Migration.HookNotAwaiting",
        }
    }

    /// The human-readable cause (the Lambda `errorMessage`).
    pub fn message(&self) -> &str {
        match self {
            Self::InvalidEvent(m)
            | Self::NotAllowed(m)
            | Self::TaskDefinitionNotFound(m)
            | Self::ContainerNotFound(m)
            | Self::CapacityUnavailable(m)
            | Self::RunTaskFailed(m)
            | Self::TaskFailedToStart(m)
            | Self::NonZeroExit(m)
            | Self::TaskStopped(m)
            | Self::TaskMissing(m)
            | Self::Timeout(m)
            | Self::Misconfigured(m)
            | Self::Locked(m)
            | Self::LockLost(m)
            | Self::AwsTransient(m)
            | Self::HookNotAwaiting(m) => m,
        }
    }

    /// The error as Step Functions records it: `{"Error": name, "Cause": message}`.
    pub fn to_state_error(&self) -> StateError {
        StateError {
            error: self.name().to_string(),
            cause: self.message().to_string(),
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

impl From<MigrationError> for lambda_runtime::Diagnostic {
    fn from(err: MigrationError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: err.name().to_string(),
            error_message: err.message().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_and_listed() {
        let all = [
            MigrationError::InvalidEvent(String::new()),
            MigrationError::NotAllowed(String::new()),
            MigrationError::TaskDefinitionNotFound(String::new()),
            MigrationError::ContainerNotFound(String::new()),
            MigrationError::CapacityUnavailable(String::new()),
            MigrationError::RunTaskFailed(String::new()),
            MigrationError::TaskFailedToStart(String::new()),
            MigrationError::NonZeroExit(String::new()),
            MigrationError::TaskStopped(String::new()),
            MigrationError::TaskMissing(String::new()),
            MigrationError::Timeout(String::new()),
            MigrationError::Misconfigured(String::new()),
            MigrationError::Locked(String::new()),
            MigrationError::LockLost(String::new()),
            MigrationError::AwsTransient(String::new()),
            MigrationError::HookNotAwaiting(String::new()),
        ];
        let names: Vec<_> = all.iter().map(|e| e.name()).collect();
        assert_eq!(names, MigrationError::NAMES.to_vec());
    }

    #[test]
    fn diagnostic_carries_the_stable_name() {
        let d: lambda_runtime::Diagnostic =
            MigrationError::NonZeroExit("exit code 1".into()).into();
        assert_eq!(d.error_type, "Migration.NonZeroExit");
        assert_eq!(d.error_message, "exit code 1");
    }
}
