//! The tasks an execution owns: its `startedBy`, and finding, describing, stopping and waiting
//! for them, each ECS failure named for the state machine. Shared by the steps that stop tasks
//! (stop-task, acquire-lock's takeover, release-lock).

use crate::common::digest::hex_digest;
use crate::common::error::{ErrorKind, MigrationError};
use crate::migration::steps::StepEnv;
use crate::migration::StopResult;
use crate::ports::ecs::{is_task_not_found, DesiredStatus, Ecs, LastStatus, TaskLookup};
use crate::ports::AwsError;

/// RunTask's `startedBy` for an execution: derived from its ARN, so stop-task can find the
/// execution's tasks from an "Execution Status Change" event that carries only the ARN.
pub fn started_by_for_execution(execution: &str) -> String {
    format!(
        "{STARTED_BY_PREFIX}{}",
        hex_digest(&["started-by", execution], 24)
    )
}

/// Every `startedBy` ecs-migrate gives a task begins with this (the role's tag condition on
/// ecs:StopTask matches it too).
pub(crate) const STARTED_BY_PREFIX: &str = "ecs-migrate/";

/// Stop codes of a task stopped from outside the migration (a console or API stop, a Spot
/// interruption, the service scheduler, an instance's termination notice): its exit code,
/// even 0 from a tool that traps SIGTERM, proves no finished migration.
pub(crate) const OUTSIDE_STOPS: [&str; 4] = [
    "UserInitiated",
    "SpotInterruption",
    "ServiceSchedulerInitiated",
    "TerminationNotice",
];

/// Whether `stop_code` says the task was stopped from outside.
pub(crate) fn stopped_from_outside(stop_code: Option<&str>) -> bool {
    stop_code.is_some_and(|code| OUTSIDE_STOPS.contains(&code))
}

/// ECS keeps at most 255 characters of a stop reason.
const MAX_REASON_CHARS: usize = 255;

/// Whether the task the state data names was started by this execution: stop-task stops no
/// task it did not start, whatever its input says. A task ECS does not show yet is taken as
/// ours (ECS and the role's tag condition still refuse to stop anyone else's).
pub(crate) async fn ours(
    env: &StepEnv<'_>,
    cluster: &str,
    task_arn: &str,
    started_by: &str,
) -> Result<bool, MigrationError> {
    let TaskLookup::Found(task) = describe(env, cluster, task_arn).await? else {
        return Ok(true);
    };
    match task.started_by.as_deref() {
        Some(by) if by == started_by && by.starts_with(STARTED_BY_PREFIX) => Ok(true),
        other => {
            tracing::warn!(task_arn, task_started_by = ?other, expected = started_by, "not stopping a task this execution did not start");
            Err(MigrationError::new(ErrorKind::NotAllowed, format!(
                "stop-task refuses to stop task {task_arn}: it was started by {:?}, not by this execution ({started_by})",
                other.unwrap_or("nobody named")
            )))
        }
    }
}

/// An ECS call's failure named for the state machine: retried when retrying may help, else a
/// setting to fix, saying which grant the function's role needs.
fn ecs_failure(err: AwsError, doing: String, grant: &str) -> MigrationError {
    let message = format!("{doing}: {err}");
    if err.transient {
        MigrationError::new(ErrorKind::AwsTransient, message)
    } else {
        MigrationError::new(
            ErrorKind::Misconfigured,
            format!("{message}; grant this function's role {grant}"),
        )
    }
}

/// ecs:DescribeTasks for one task, its failure named for the state machine.
pub(crate) async fn describe(
    env: &StepEnv<'_>,
    cluster: &str,
    task_arn: &str,
) -> Result<TaskLookup, MigrationError> {
    env.ecs
        .describe_task(cluster, task_arn)
        .await
        .map_err(|err| {
            ecs_failure(
                err,
                format!("describing task {task_arn}"),
                "ecs:DescribeTasks on the cluster's tasks",
            )
        })
}

/// ListTasks without `desiredStatus`: the tasks ECS still wants RUNNING (not those stopping).
pub(crate) async fn list(
    env: &StepEnv<'_>,
    cluster: &str,
    started_by: &str,
) -> Result<Vec<String>, MigrationError> {
    list_desired(env.ecs, cluster, started_by, DesiredStatus::Running).await
}

/// ListTasks with `desiredStatus` `desired`.
pub(crate) async fn list_desired(
    ecs: &dyn Ecs,
    cluster: &str,
    started_by: &str,
    desired: DesiredStatus,
) -> Result<Vec<String>, MigrationError> {
    ecs.list_tasks(cluster, started_by, desired)
        .await
        .map_err(|err| {
            ecs_failure(
                err,
                format!("listing tasks started by {started_by}"),
                "ecs:ListTasks on the cluster",
            )
        })
}

/// Stops `tasks`. A task StopTask does not find must be seen stopping or STOPPED to count:
/// ECS answers "not found" for a task it does not show yet, so a task RunTask just started is
/// not given up on; that is a transient failure (the state machine retries stop-task).
pub(crate) async fn stop_all(
    env: &StepEnv<'_>,
    cluster: &str,
    tasks: Vec<String>,
    reason: String,
) -> Result<StopResult, MigrationError> {
    for task_arn in &tasks {
        if !stop_one(env, cluster, task_arn, &reason).await? {
            let seen_stopping = match describe(env, cluster, task_arn).await? {
                TaskLookup::Found(state) => {
                    state.last_status == LastStatus::Stopped
                        || state.desired_status == Some(LastStatus::Stopped)
                }
                TaskLookup::Missing { .. } => false,
            };
            if !seen_stopping {
                return Err(MigrationError::new(ErrorKind::AwsTransient, format!(
                    "stopping task {task_arn}: ECS does not know it yet (StopTask: not found; DescribeTasks: not stopping); a task RunTask started a moment ago may not show yet, so it is asked again"
                )));
            }
        }
        tracing::info!(task_arn = %task_arn, reason = %reason, "stopped migration task");
    }
    Ok(StopResult {
        stopped: tasks,
        reason,
    })
}

/// ecs:StopTask for one task: `false` when ECS does not know the task (which proves nothing,
/// see `crate::ports::ecs::TASK_NOT_FOUND`).
pub(crate) async fn stop_one(
    env: &StepEnv<'_>,
    cluster: &str,
    task_arn: &str,
    reason: &str,
) -> Result<bool, MigrationError> {
    match env.ecs.stop_task(cluster, task_arn, reason).await {
        Ok(()) => Ok(true),
        Err(err) if is_task_not_found(&err) => {
            tracing::info!(task_arn, "StopTask: ECS does not know the task (yet)");
            Ok(false)
        }
        Err(err) => Err(ecs_failure(
            err,
            format!("stopping task {task_arn}"),
            "ecs:StopTask on the cluster's tasks",
        )),
    }
}

pub(crate) fn stop_reason(text: &str) -> String {
    text.chars().take(MAX_REASON_CHARS).collect()
}
