//! The tasks an execution owns: its `startedBy`, and finding, describing, stopping and waiting
//! for them, each ECS failure named for the state machine. Shared by the steps that stop tasks
//! (stop-task, acquire-lock's takeover, release-lock).

use chrono::{DateTime, Utc};

use crate::common::digest::hex_digest;
use crate::common::error::{ErrorKind, MigrationError};
use crate::migration::steps::StepEnv;
use crate::migration::StopResult;
use crate::ports::ecs::{LastStatus, TaskLookup};
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
pub const STARTED_BY_PREFIX: &str = "ecs-migrate/";

/// Stop codes of a task stopped from outside the migration (a console or API stop, a Spot
/// interruption, the service scheduler, an instance's termination notice): its exit code,
/// even 0 from a tool that traps SIGTERM, proves no finished migration.
pub const OUTSIDE_STOPS: [&str; 4] = [
    "UserInitiated",
    "SpotInterruption",
    "ServiceSchedulerInitiated",
    "TerminationNotice",
];

/// Whether `stop_code` says the task was stopped from outside.
pub fn stopped_from_outside(stop_code: Option<&str>) -> bool {
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

pub(crate) async fn list(
    env: &StepEnv<'_>,
    cluster: &str,
    started_by: &str,
) -> Result<Vec<String>, MigrationError> {
    env.ecs
        .list_tasks_started_by(cluster, started_by)
        .await
        .map_err(|err| {
            ecs_failure(
                err,
                format!("listing tasks started by {started_by}"),
                "ecs:ListTasks on the cluster",
            )
        })
}

pub(crate) async fn stop_all(
    env: &StepEnv<'_>,
    cluster: &str,
    tasks: Vec<String>,
    reason: String,
) -> Result<StopResult, MigrationError> {
    for task_arn in &tasks {
        env.ecs
            .stop_task(cluster, task_arn, &reason)
            .await
            .map_err(|err| {
                ecs_failure(
                    err,
                    format!("stopping task {task_arn}"),
                    "ecs:StopTask on the cluster's tasks",
                )
            })?;
        tracing::info!(task_arn = %task_arn, reason = %reason, "stopped migration task");
    }
    Ok(StopResult {
        stopped: tasks,
        reason,
    })
}

pub(crate) fn stop_reason(text: &str) -> String {
    text.chars().take(MAX_REASON_CHARS).collect()
}

/// Looks at `tasks` every POLL_INTERVAL_SECONDS until all are STOPPED (or gone) or `until`
/// passes; the first one not stopped then, with its status.
pub(crate) async fn wait_stopped(
    env: &StepEnv<'_>,
    cluster: &str,
    tasks: &[String],
    until: DateTime<Utc>,
) -> Result<Option<(String, LastStatus)>, MigrationError> {
    loop {
        let mut running = None;
        for task in tasks {
            if let TaskLookup::Found(state) = describe(env, cluster, task).await? {
                if state.last_status != LastStatus::Stopped {
                    running = Some((task.clone(), state.last_status));
                    break;
                }
            }
        }
        let Some(running) = running else {
            return Ok(None);
        };
        let now = env.clock.now();
        if now >= until {
            return Ok(Some(running));
        }
        let left = (until - now).to_std().unwrap_or_default();
        env.clock.sleep(env.settings.poll_interval.min(left)).await;
    }
}

/// Whether the task a lock item records is STOPPED, so its lock may go: DescribeTasks says
/// STOPPED, or no longer knows the task (ECS keeps a stopped task describable for about an
/// hour, then answers MISSING: "Amazon ECS task lifecycle", Amazon ECS Developer Guide). Any
/// other status, DEACTIVATING and STOPPING included, is a task that may still touch the
/// database. (Issue 19 item 2 changes release-lock and the cleanup to wait on the recorded
/// task too: they and the reconciler should share this one test.)
pub(crate) async fn recorded_task_stopped(
    env: &StepEnv<'_>,
    cluster: &str,
    task_arn: &str,
) -> Result<Option<LastStatus>, MigrationError> {
    match describe(env, cluster, task_arn).await? {
        TaskLookup::Found(task) if task.last_status != LastStatus::Stopped => {
            Ok(Some(task.last_status))
        }
        _ => Ok(None),
    }
}
