//! How a state fails: the error name and cause the service would show, and whether the
//! retry and catch loop may handle it.

use super::super::jsonata::{QueryError, QUERY_EVALUATION_ERROR};

/// A failed state. `fatal` errors (States.Runtime, States.ReferencePathConflict) skip
/// retriers and catchers; `located` ones already carry the cause the service shows.
#[derive(Debug, Clone)]
pub(super) struct Failure {
    pub(crate) error: String,
    pub(crate) cause: String,
    pub(crate) fatal: bool,
    pub(crate) located: bool,
    /// For a JSONata expression that failed: the field's location, until the
    /// EvaluationFailed event that names it is recorded.
    pub(crate) location: Option<String>,
}

impl Failure {
    pub(crate) fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
            fatal: false,
            located: false,
            location: None,
        }
    }

    /// A JSONata field that failed: `States.QueryEvaluationError`, which Retry and Catch
    /// handle as any other error (States.ALL included).
    pub(crate) fn query(e: QueryError) -> Self {
        Self {
            location: Some(e.location),
            ..Self::new(QUERY_EVALUATION_ERROR, e.cause)
        }
    }

    pub(crate) fn runtime(cause: impl Into<String>) -> Self {
        Self {
            error: "States.Runtime".into(),
            cause: cause.into(),
            fatal: true,
            located: false,
            location: None,
        }
    }

    /// A ResultPath that cannot be applied to the state's input. The service fails the
    /// execution with `States.ReferencePathConflict` and its bare message ("Unable to apply
    /// step ..."), not the `States.ResultPathMatchFailure` of the error-name list.
    pub(crate) fn reference_path_conflict(cause: String) -> Self {
        Self {
            error: "States.ReferencePathConflict".into(),
            cause,
            fatal: true,
            located: true,
            location: None,
        }
    }
}
