//! The migration steps: plain async functions over the ECS and log seams, run by the Lambda
//! binaries, by the local engine and by the tests alike.
//!
//! The execution's state data, as the state machine carries it between steps:
//! ```text
//! { "request": MigrationRequest,   // ValidateEvent
//!   "task":    StartedTask,        // RunTask
//!   "status":  TaskStatus,         // PollStatus (each round)
//!   "result":  MigrationResult,    // CheckExitCode, on success
//!   "error":   {"Error","Cause"},  // a Catch, or the deadline
//!   "stop":    StopResult }        // StopTask
//! ```

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::clock::Clock;
use crate::ecs::{ContainerState, Ecs, LogConfiguration};
use crate::error::{MigrationError, StateError};
use crate::logs::{LogStream, Logs};
use crate::settings::Settings;

pub mod budget;
pub mod check_exit_code;
pub mod poll_status;
pub mod run_task;
pub mod stop_task;
pub mod validate_event;

pub use check_exit_code::{check_exit_code, CheckInput};
pub use poll_status::{poll_status, PollInput};
pub use run_task::run_task;
pub use stop_task::stop_task;
pub use validate_event::{started_by_for_execution, validate_event, ValidateEventInput};

/// What every step runs against: the settings and the seams.
#[derive(Clone, Copy)]
pub struct StepEnv<'a> {
    pub settings: &'a Settings,
    pub ecs: &'a dyn Ecs,
    pub logs: &'a dyn Logs,
    pub clock: &'a dyn Clock,
}

/// The five steps, by the names their Lambda functions and binaries carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    ValidateEvent,
    RunTask,
    PollStatus,
    CheckExitCode,
    StopTask,
}

impl Step {
    pub const ALL: [Step; 5] = [
        Step::ValidateEvent,
        Step::RunTask,
        Step::PollStatus,
        Step::CheckExitCode,
        Step::StopTask,
    ];

    /// The function's name: `validate-event`, `run-task`, ...
    pub fn name(self) -> &'static str {
        match self {
            Step::ValidateEvent => "validate-event",
            Step::RunTask => "run-task",
            Step::PollStatus => "poll-status",
            Step::CheckExitCode => "check-exit-code",
            Step::StopTask => "stop-task",
        }
    }

    pub fn from_name(name: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The placeholder statemachine/migration.asl.json has for this step's function ARN:
    /// `${validate_event_arn}`, ... (Terraform's templatefile() fills them in).
    pub fn placeholder(self) -> String {
        format!("${{{}_arn}}", self.name().replace('-', "_"))
    }

    /// Runs the step on its JSON input, as a Lambda invocation or the local engine delivers it.
    /// `return_by` bounds poll-status's wait (the Lambda deadline less a margin).
    pub async fn run(
        self,
        env: &StepEnv<'_>,
        input: Value,
        return_by: Option<DateTime<Utc>>,
    ) -> Result<Value, MigrationError> {
        match self {
            Step::ValidateEvent => to_json(validate_event(env, from_json(self, input)?).await?),
            Step::RunTask => to_json(run_task(env, from_json(self, input)?).await?),
            Step::PollStatus => {
                to_json(poll_status(env, from_json(self, input)?, return_by).await?)
            }
            Step::CheckExitCode => to_json(check_exit_code(env, from_json(self, input)?).await?),
            Step::StopTask => to_json(stop_task(env, input).await?),
        }
    }
}

/// The state machine definition with each step's placeholder replaced by `arn(step)`, as
/// templatefile() renders it for AWS and the local engine renders it with its own ARNs.
pub fn render_definition(template: &str, arn: impl Fn(Step) -> String) -> String {
    Step::ALL
        .into_iter()
        .fold(template.to_string(), |text, step| {
            text.replace(&step.placeholder(), &arn(step))
        })
}

/// `t + d`, saturating at the latest representable time: `t` comes from the execution input
/// or the state data, and a date near chrono's limit must not panic a step.
fn later_by(t: DateTime<Utc>, d: std::time::Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn from_json<T: DeserializeOwned>(step: Step, input: Value) -> Result<T, MigrationError> {
    serde_json::from_value(input).map_err(|e| {
        MigrationError::InvalidEvent(format!(
            "{} received input it cannot read: {e}; check the state machine's InputPath/Parameters for this step",
            step.name()
        ))
    })
}

fn to_json<T: Serialize>(value: T) -> Result<Value, MigrationError> {
    // Serializing these plain data types cannot fail; map it anyway rather than panic.
    serde_json::to_value(value)
        .map_err(|e| MigrationError::Misconfigured(format!("cannot encode step output: {e}")))
}

/// The slice of the context object (`$$.Execution`) the state machine passes to the steps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionContext {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub start_time: Option<DateTime<Utc>>,
}

/// What validate-event produces: the migration, resolved and checked, that the later steps run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationRequest {
    /// The exact task definition ARN, revision included.
    pub taskdef_arn: String,
    pub family: String,
    pub revision: i32,
    pub cluster: String,
    pub container: String,
    pub command: Vec<String>,
    /// RunTask's idempotency token: the same for a redelivered event or a retried step.
    pub client_token: String,
    /// RunTask's `startedBy`: unique to the execution, so its tasks can be found and stopped.
    pub started_by: String,
    #[serde(default)]
    pub execution_name: Option<String>,
    #[serde(default)]
    pub event_id: Option<String>,
    /// When the execution started (or validate-event ran, without one).
    pub started_at: DateTime<Utc>,
    /// After this the task is stopped and the execution fails with `Migration.Timeout`.
    pub deadline: DateTime<Utc>,
    /// The migration container's log configuration, if it has one.
    #[serde(default)]
    pub log: Option<LogConfiguration>,
}

/// What run-task produces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartedTask {
    pub task_arn: String,
    pub cluster: String,
    /// When RunTask returned: the start budget and the MISSING grace count from here.
    pub run_at: DateTime<Utc>,
    /// Where the migration container's log lines go, when that can be derived.
    #[serde(default)]
    pub log_stream: Option<LogStream>,
}

/// Where the task is, as poll-status last saw it. The Choice state reads `phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Phase {
    /// Not stopped yet: poll again.
    InProgress,
    /// The task stopped: check the exit code.
    Stopped,
    /// The migration's deadline passed: stop the task, fail with `Migration.Timeout`.
    DeadlinePassed,
    /// The task did not reach RUNNING within the start budget: stop it, fail with
    /// `Migration.TaskFailedToStart`.
    StartTimedOut,
}

/// What poll-status produces each round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskStatus {
    pub phase: Phase,
    pub last_status: String,
    #[serde(default)]
    pub desired_status: Option<String>,
    #[serde(default)]
    pub stop_code: Option<String>,
    #[serde(default)]
    pub stopped_reason: Option<String>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub stopped_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub containers: Vec<ContainerState>,
    pub checked_at: DateTime<Utc>,
    /// DescribeTasks calls made so far in this execution.
    #[serde(default)]
    pub polls: u64,
    /// For phases that fail the execution: the Error and Cause to fail with.
    #[serde(default)]
    pub error: Option<StateError>,
}

/// What check-exit-code produces when the migration succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationResult {
    pub task_arn: String,
    pub container: String,
    pub exit_code: i32,
    #[serde(default)]
    pub duration_seconds: Option<i64>,
    #[serde(default)]
    pub log_stream: Option<LogStream>,
}

/// What stop-task produces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopResult {
    /// The tasks it asked ECS to stop (none when there was nothing left running).
    pub stopped: Vec<String>,
    pub reason: String,
}

/// The execution's state data as a whole, for readers that watch it from outside (the
/// `ecs-migrate wait` history follower reads it from each state's output). Every part is
/// optional, and a part that is absent or has another shape (a hand-written test machine, an
/// older definition) is `None` rather than an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct StateData {
    #[serde(default, deserialize_with = "lenient")]
    pub request: Option<MigrationRequest>,
    #[serde(default, deserialize_with = "lenient")]
    pub task: Option<StartedTask>,
    #[serde(default, deserialize_with = "lenient")]
    pub status: Option<TaskStatus>,
    #[serde(default, deserialize_with = "lenient")]
    pub result: Option<MigrationResult>,
    #[serde(default, deserialize_with = "lenient")]
    pub error: Option<StateError>,
    #[serde(default, deserialize_with = "lenient")]
    pub stop: Option<StopResult>,
}

impl StateData {
    /// Reads a state's input or output; anything but a JSON object gives the empty data.
    pub fn from_json(text: &str) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn later_by_adds_and_saturates_instead_of_panicking() {
        let t = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        assert_eq!(
            later_by(t, Duration::from_secs(60)).timestamp(),
            1_700_000_060
        );
        let near_end = DateTime::<Utc>::MAX_UTC - chrono::Duration::seconds(10);
        assert_eq!(
            later_by(near_end, Duration::from_secs(3600)),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(later_by(t, Duration::MAX), DateTime::<Utc>::MAX_UTC);
    }
}
