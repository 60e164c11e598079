//! AWS's quotas that bound an execution: its history length and the size of the data it
//! passes between states. On by default, so a local run fails where AWS would fail it and
//! cannot grow without bound.

use serde_json::Value;

use super::super::depth::{too_deep, MAX_NESTING_DEPTH};
use super::super::value::{json_len, json_len_and_depth, MAX_PAYLOAD_BYTES};
use super::failure::Failure;

/// "Maximum execution history size: 25,000 events in a single state machine execution
/// history" (Step Functions developer guide, Service quotas; a hard quota).
pub const MAX_HISTORY_EVENTS: u64 = 25_000;

/// The quotas an [`super::Executor`] enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Events in one execution's history, counted whether the history is kept or not.
    pub history_events: Option<u64>,
    /// Bytes of UTF-8 JSON text in the execution input and any state's input, output or
    /// result.
    pub payload_bytes: Option<u64>,
}

impl Limits {
    /// AWS's: 25,000 history events and 256 KiB of data.
    pub fn aws() -> Self {
        Self {
            history_events: Some(MAX_HISTORY_EVENTS),
            payload_bytes: Some(MAX_PAYLOAD_BYTES),
        }
    }

    /// None of AWS's quotas (as the engine ran before it knew them). Data stays bounded in
    /// depth ([`MAX_NESTING_DEPTH`]): that bound keeps the engine itself from overflowing its
    /// stack, it is not a quota of the service.
    pub fn none() -> Self {
        Self {
            history_events: None,
            payload_bytes: None,
        }
    }

    /// Whether `value` is over the payload quota.
    pub(super) fn too_large(&self, value: &Value) -> bool {
        self.payload_bytes.is_some_and(|max| json_len(value) > max)
    }

    /// A state's result or output over the payload quota or nested too deep; `name` is the
    /// state's name, or a Task's resource for its result (as the service names them).
    pub(super) fn check_payload(&self, name: &str, value: &Value) -> Result<(), Failure> {
        // The values checked here were built by the engine from data already checked, so
        // the recursive writer can measure both at once.
        let (deep, large) = match self.payload_bytes {
            Some(max) => {
                let (bytes, depth) = json_len_and_depth(value);
                (depth > MAX_NESTING_DEPTH, bytes > max)
            }
            None => (too_deep(value), false),
        };
        if deep {
            return Err(nested_too_deep("data"));
        }
        if large {
            return Err(data_limit_exceeded(name));
        }
        Ok(())
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self::aws()
    }
}

/// `States.DataLimitExceeded` with the service's cause, e.g. from AWS for a Task:
/// "The state/task 'arn:aws:lambda:...' returned a result with a size exceeding the maximum
/// number of bytes service limit." (aws-ia/terraform-aws-control_tower_account_factory#414)
/// and for a Map state named 'ProcessAllItems' (aws-samples/review-and-assessment-powered-by-
/// intelligent-documentation#58).
pub(super) fn data_limit_exceeded(name: &str) -> Failure {
    Failure::new(
        "States.DataLimitExceeded",
        format!("The state/task '{name}' returned a result with a size exceeding the maximum number of bytes service limit."),
    )
}

/// Data nested deeper than [`MAX_NESTING_DEPTH`]: `States.Runtime`, which nothing retries
/// or catches, as for any data the service cannot process. AWS documents no nesting limit, so
/// there is no service wording to copy; the cause names the limit (see `asl::depth`).
pub(super) fn nested_too_deep(what: &str) -> Failure {
    Failure::runtime(nested_too_deep_cause(what))
}

pub(super) fn nested_too_deep_cause(what: &str) -> String {
    format!("The {what} is nested deeper than {MAX_NESTING_DEPTH} levels, the most the local engine admits (AWS documents no nesting limit).")
}

/// The cause AWS records in event 25,000 when an execution reaches the history quota:
/// `{"error":"States.Runtime","cause":"The execution reached the maximum number of history
/// events (25000)."}` (loads/ardere#86; floci-io/floci#2734 shows it as event 25,000 with
/// previousEventId 24,999).
pub(super) fn history_limit_cause(max: u64) -> String {
    format!("The execution reached the maximum number of history events ({max}).")
}

/// Why the engine does not start an execution: its input is refused, as StartExecution
/// refuses it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputRefused {
    /// StartExecution's `input` is at most 262,144 bytes of UTF-8 (API reference,
    /// StartExecution: "Length Constraints: Maximum length of 262144"); the service refuses
    /// a longer one with a ValidationException before any execution exists.
    #[error("1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have length less than or equal to {limit}")]
    InputTooLarge { bytes: u64, limit: u64 },
    /// Input nested deeper than the engine admits ([`MAX_NESTING_DEPTH`]); not a refusal of
    /// the service, which documents no nesting limit.
    #[error("The execution input is nested deeper than {limit} levels, the most the local engine admits (AWS documents no nesting limit).")]
    InputTooDeep { limit: usize },
}
