//! The execution's state data, as the state machine carries it between steps:
//! ```text
//! { "request": MigrationRequest,   // ValidateEvent
//!   "lock":    LockState,          // AcquireLock (ACQUIRED, WAITING, DUPLICATE), ReleaseLock
//!   "task":    RunOutcome,         // RunTask (STARTED: the task; RETRY_LATER; DUPLICATE)
//!   "status":  TaskStatus,         // PollStatus (each round)
//!   "result":  MigrationResult,    // CheckExitCode, on success
//!   "error":   {"Error","Cause"},  // a Catch, or the deadline
//!   "stop":    StopResult }        // StopTask
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::common::error::StateError;
use crate::migration::hook_event::HookType;
use crate::ports::deployments::{HookAction, PinnedImage};
use crate::ports::ecs::{ContainerState, LastStatus, LogConfiguration};
use crate::ports::logs::LogStream;

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
    /// The execution's ARN (`$$.Execution.Id`): the holder of the migration lock.
    #[serde(default)]
    pub execution_id: Option<String>,
    #[serde(default)]
    pub event_id: Option<String>,
    /// When the execution started (or validate-event ran, without one).
    pub started_at: DateTime<Utc>,
    /// After this the task is stopped and the execution fails with `Migration.Timeout`.
    pub deadline: DateTime<Utc>,
    /// The migration container's log configuration, if it has one.
    #[serde(default)]
    pub log: Option<LogConfiguration>,
    /// The deployment hook this migration gates, when a hook event started it (the state
    /// machine's FromDeployment Choice answers it); absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<DeploymentRef>,
}

/// The deployment hook a migration gates: which hook to answer, and the revision it migrates
/// for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentRef {
    pub(crate) hook_type: HookType,
    pub hook_id: String,
    pub service_deployment_arn: String,
    pub(crate) service_arn: String,
    #[serde(default)]
    pub lifecycle_stage: Option<String>,
    pub target_revision_arn: String,
    /// The image digests the target revision resolved, for the record: RunTask cannot
    /// override a container's image, so the task runs the task definition's images as ECS
    /// resolves them at RunTask.
    #[serde(default)]
    pub images: Vec<PinnedImage>,
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

/// What run-task produces (at `$.task`; the state machine's Choice reads `outcome`): the task it
/// started, a wait before trying again when ECS had no capacity, or that another execution of
/// the same event already holds the client token (a redelivered event).
///
/// A `$.task` without `outcome` (written by a definition before RETRY_LATER and DUPLICATE
/// existed) reads as STARTED, so stop-task and `ecs-migrate wait` still handle executions that
/// started under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "SCREAMING_SNAKE_CASE")]
#[serde(remote = "RunOutcome")]
pub enum RunOutcome {
    Started(StartedTask),
    RetryLater(CapacityWait),
    Duplicate(DuplicateRun),
}

impl Serialize for RunOutcome {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RunOutcome::serialize(self, serializer)
    }
}

impl<'de> Deserialize<'de> for RunOutcome {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        if value.get("outcome").is_some() {
            RunOutcome::deserialize(value).map_err(serde::de::Error::custom)
        } else {
            StartedTask::deserialize(value)
                .map(RunOutcome::Started)
                .map_err(serde::de::Error::custom)
        }
    }
}

impl RunOutcome {
    pub fn started(&self) -> Option<&StartedTask> {
        match self {
            RunOutcome::Started(task) => Some(task),
            _ => None,
        }
    }
}

/// RunTask attempts before `Migration.CapacityUnavailable` (the first and six more).
pub(crate) const CAPACITY_ATTEMPTS: u32 = 7;

/// ECS had no capacity for attempt `attempt - 1`: wait, then run attempt `attempt` (with a
/// client token of its own, because ECS replays a token's first answer for 24 hours).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapacityWait {
    pub attempt: u32,
    pub wait_seconds: u64,
    /// ECS's reasons, for the console.
    pub reason: String,
}

/// RunTask refused the client token because another request (another execution of the same
/// event) used it with other parameters; `task_arns` are the tasks that request started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateRun {
    pub task_arns: Vec<String>,
    #[serde(default)]
    pub(crate) event_id: Option<String>,
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
    pub last_status: LastStatus,
    #[serde(default)]
    pub desired_status: Option<LastStatus>,
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

/// What report-deployment produces (at `$.hook_answer`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentAnswer {
    pub action: HookAction,
    /// True when this call answered the hook; false when it no longer waited.
    pub answered: bool,
    /// The hook's status as the deployment reported it before the answer.
    #[serde(default)]
    pub hook_status: Option<String>,
    pub(crate) message: String,
}
