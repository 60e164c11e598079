//! The execution's state data, read from outside the execution (`ecs-migrate wait` follows
//! it in each state's output).

use serde::Deserialize;

use crate::common::error::StateError;
use crate::migration::{
    DeploymentAnswer, LockState, MigrationRequest, MigrationResult, RunOutcome, StopResult,
    TaskStatus,
};

/// The execution's state data as a whole, for readers that watch it from outside (the
/// `ecs-migrate wait` history follower reads it from each state's output). Every part is
/// optional, and a part that is absent or has another shape (a hand-written test machine, an
/// older definition) is `None` rather than an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct StateData {
    #[serde(default, deserialize_with = "lenient")]
    pub request: Option<MigrationRequest>,
    #[serde(default, deserialize_with = "lenient")]
    pub lock: Option<LockState>,
    #[serde(default, deserialize_with = "lenient")]
    pub task: Option<RunOutcome>,
    #[serde(default, deserialize_with = "lenient")]
    pub status: Option<TaskStatus>,
    #[serde(default, deserialize_with = "lenient")]
    pub result: Option<MigrationResult>,
    #[serde(default, deserialize_with = "lenient")]
    pub(crate) error: Option<StateError>,
    #[serde(default, deserialize_with = "lenient")]
    pub(crate) stop: Option<StopResult>,
    /// report-deployment's answer to the deployment's pause hook.
    #[serde(default, deserialize_with = "lenient")]
    pub(crate) hook_answer: Option<DeploymentAnswer>,
    /// StopTask's own failure: the task may still be running.
    #[serde(default, deserialize_with = "lenient")]
    pub(crate) stop_error: Option<StateError>,
}

impl StateData {
    /// Reads a state's input or output; anything but a JSON object gives the empty data.
    pub(crate) fn from_json(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_default()
    }
}

fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}
