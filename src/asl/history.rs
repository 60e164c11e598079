//! The execution history, in the form `aws stepfunctions get-execution-history` prints it:
//! numbered events, each pointing at the event before it in its thread of execution
//! (`previousEventId`), with the `*EventDetails` object the event type carries.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::Value;

/// Called with each event as it is recorded (progress streaming).
pub type Observer = Arc<dyn Fn(&HistoryEvent) + Send + Sync>;

macro_rules! event_types {
    ($($name:ident),* $(,)?) => {
        /// The `type` of a history event.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventType { $($name),* }

        impl EventType {
            pub fn as_str(self) -> &'static str {
                match self { $(EventType::$name => stringify!($name)),* }
            }
        }
    };
}

event_types!(
    ExecutionStarted,
    ExecutionSucceeded,
    ExecutionFailed,
    ExecutionTimedOut,
    ExecutionAborted,
    PassStateEntered,
    PassStateExited,
    TaskStateEntered,
    TaskStateExited,
    TaskStateAborted,
    ChoiceStateEntered,
    ChoiceStateExited,
    WaitStateEntered,
    WaitStateExited,
    WaitStateAborted,
    SucceedStateEntered,
    SucceedStateExited,
    FailStateEntered,
    ParallelStateEntered,
    ParallelStateStarted,
    ParallelStateSucceeded,
    ParallelStateFailed,
    ParallelStateAborted,
    ParallelStateExited,
    MapStateEntered,
    MapStateStarted,
    MapStateSucceeded,
    MapStateFailed,
    MapStateAborted,
    MapStateExited,
    MapIterationStarted,
    MapIterationSucceeded,
    MapIterationFailed,
    MapIterationAborted,
    TaskScheduled,
    TaskStarted,
    TaskSucceeded,
    TaskFailed,
    TaskTimedOut,
    LambdaFunctionScheduled,
    LambdaFunctionStarted,
    LambdaFunctionSucceeded,
    LambdaFunctionFailed,
    LambdaFunctionTimedOut,
    ActivityScheduled,
    ActivityStarted,
    ActivitySucceeded,
    ActivityFailed,
    ActivityTimedOut,
    EvaluationFailed,
);

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for EventType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl EventType {
    /// The name of the details field this event type carries (`stateEnteredEventDetails`,
    /// `lambdaFunctionFailedEventDetails`, ...).
    pub(crate) fn details_key(self) -> String {
        let name = self.as_str();
        if name.ends_with("StateEntered") {
            return "stateEnteredEventDetails".into();
        }
        if name.ends_with("StateExited") {
            return "stateExitedEventDetails".into();
        }
        let mut key = String::with_capacity(name.len() + 12);
        let mut chars = name.chars();
        if let Some(c) = chars.next() {
            key.push(c.to_ascii_lowercase());
        }
        key.extend(chars);
        key.push_str("EventDetails");
        key
    }
}

/// One event of an execution's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEvent {
    pub id: u64,
    pub previous_event_id: u64,
    pub timestamp: DateTime<Utc>,
    pub event_type: EventType,
    /// The `*EventDetails` object the event type carries.
    pub details: EventDetails,
}

impl HistoryEvent {
    /// The state name for state entered/exited events and Map iteration events.
    pub fn state_name(&self) -> Option<&str> {
        self.details.name()
    }
}

/// An event's `*EventDetails`. The entered and exited events every state records are kept
/// typed, so recording one costs the payload's JSON text and little else; the API's JSON
/// shape is built when the event is serialized or asked for with [`EventDetails::to_value`].
#[derive(Debug, Clone, PartialEq)]
pub enum EventDetails {
    /// Event types that carry no details.
    None,
    /// `stateEnteredEventDetails`: the state's input as JSON text.
    StateEntered { name: Arc<str>, input: String },
    /// `stateExitedEventDetails`: the state's output as JSON text, and the variables it
    /// assigned (name, value as JSON text).
    StateExited {
        name: Arc<str>,
        output: String,
        assigned: Vec<(String, String)>,
    },
    /// Every other event type's details, in the API's shape (`input`/`output` as JSON text).
    Other(Value),
}

impl EventDetails {
    /// The state (or Map iteration) name the details carry.
    pub(crate) fn name(&self) -> Option<&str> {
        match self {
            Self::StateEntered { name, .. } | Self::StateExited { name, .. } => Some(name),
            Self::Other(v) => v.get("name").and_then(Value::as_str),
            Self::None => None,
        }
    }

    /// The `error` of a failure event's details.
    pub(crate) fn error(&self) -> Option<&str> {
        match self {
            Self::Other(v) => v.get("error").and_then(Value::as_str),
            _ => None,
        }
    }

    /// The details as the API returns them (`Value::Null` for none).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl From<Value> for EventDetails {
    fn from(v: Value) -> Self {
        match v {
            Value::Null => Self::None,
            v => Self::Other(v),
        }
    }
}

impl Serialize for EventDetails {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let not_truncated = NotTruncated;
        match self {
            Self::None => s.serialize_unit(),
            Self::Other(v) => v.serialize(s),
            Self::StateEntered { name, input } => {
                let mut m = s.serialize_map(Some(3))?;
                m.serialize_entry("name", name)?;
                m.serialize_entry("input", input)?;
                m.serialize_entry("inputDetails", &not_truncated)?;
                m.end()
            }
            Self::StateExited {
                name,
                output,
                assigned,
            } => {
                let mut m = s.serialize_map(None)?;
                m.serialize_entry("name", name)?;
                m.serialize_entry("output", output)?;
                m.serialize_entry("outputDetails", &not_truncated)?;
                if !assigned.is_empty() {
                    m.serialize_entry("assignedVariables", &AssignedVariables(assigned))?;
                    m.serialize_entry("assignedVariablesDetails", &not_truncated)?;
                }
                m.end()
            }
        }
    }
}

/// `{"truncated": false}`, written without building a map.
struct NotTruncated;

impl Serialize for NotTruncated {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("truncated", &false)?;
        m.end()
    }
}

struct AssignedVariables<'a>(&'a [(String, String)]);

impl Serialize for AssignedVariables<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Serialize for HistoryEvent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        // The AWS CLI prints timestamps with microseconds and a numeric offset.
        m.serialize_entry(
            "timestamp",
            &self
                .timestamp
                .format("%Y-%m-%dT%H:%M:%S%.6f%:z")
                .to_string(),
        )?;
        m.serialize_entry("type", &self.event_type)?;
        m.serialize_entry("id", &self.id)?;
        m.serialize_entry("previousEventId", &self.previous_event_id)?;
        if !matches!(self.details, EventDetails::None) {
            m.serialize_entry(&self.event_type.details_key(), &self.details)?;
        }
        m.end()
    }
}

/// `{"truncated": false}`, the `inputDetails` / `outputDetails` every payload carries.
pub(crate) fn not_truncated() -> Value {
    serde_json::json!({"truncated": false})
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn details_keys_follow_the_api() {
        assert_eq!(
            EventType::TaskStateEntered.details_key(),
            "stateEnteredEventDetails"
        );
        assert_eq!(
            EventType::FailStateEntered.details_key(),
            "stateEnteredEventDetails"
        );
        assert_eq!(
            EventType::MapStateExited.details_key(),
            "stateExitedEventDetails"
        );
        assert_eq!(
            EventType::LambdaFunctionScheduled.details_key(),
            "lambdaFunctionScheduledEventDetails"
        );
        assert_eq!(
            EventType::MapIterationStarted.details_key(),
            "mapIterationStartedEventDetails"
        );
        assert_eq!(
            EventType::ExecutionStarted.details_key(),
            "executionStartedEventDetails"
        );
    }

    #[test]
    fn serializes_like_the_cli() {
        let e = HistoryEvent {
            id: 2,
            previous_event_id: 0,
            timestamp: DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
                .unwrap()
                .with_timezone(&Utc),
            event_type: EventType::PassStateEntered,
            details: EventDetails::StateEntered {
                name: "A".into(),
                input: "{}".into(),
            },
        };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            json!({"timestamp": "2026-01-01T00:00:00.000000+00:00", "type": "PassStateEntered",
                   "id": 2, "previousEventId": 0,
                   "stateEnteredEventDetails": {"name": "A", "input": "{}", "inputDetails": {"truncated": false}}})
        );
    }
}
