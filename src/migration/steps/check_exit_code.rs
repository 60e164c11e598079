//! check-exit-code: judges the migration container (not sidecars) of a stopped task, and puts
//! the tail of its log into the Cause when it failed.

use serde::{Deserialize, Serialize};

use super::StepEnv;
use crate::common::error::{ErrorKind, MigrationError};
use crate::migration::log_tail::append_log_tail;
use crate::migration::tasks::stopped_from_outside;
use crate::migration::{MigrationRequest, MigrationResult, StartedTask, TaskStatus};
use crate::ports::ecs::ContainerState;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckInput {
    pub request: MigrationRequest,
    pub task: StartedTask,
    pub status: TaskStatus,
}

/// Order (as ecspresso does it): a task that failed to start, then a container without an exit
/// code, then the exit code itself.
pub async fn check_exit_code(
    env: &StepEnv<'_>,
    input: CheckInput,
) -> Result<MigrationResult, MigrationError> {
    let CheckInput {
        mut request,
        task,
        status,
    } = input;
    // The container judged is the configured migration container, whatever the payload names
    // (a sidecar's exit 0 must not pass for the migration's).
    request.container = env.settings.container.clone();
    let container = status
        .containers
        .iter()
        .find(|c| c.name == request.container);
    let exit_code = container.and_then(|c| c.exit_code);
    let summary = summary(&request, &task, &status, exit_code);

    if status.stop_code.as_deref() == Some("TaskFailedToStart") {
        let cause = with_log_tail(
            env,
            &task,
            format!("the migration task failed to start: {summary}"),
        )
        .await;
        return Err(MigrationError::new(ErrorKind::TaskFailedToStart, cause));
    }
    let Some(exit_code) = exit_code else {
        let cause = with_log_tail(env, &task, no_exit_code(&request, container, &summary)).await;
        return Err(MigrationError::new(ErrorKind::TaskStopped, cause));
    };
    if exit_code != 0 {
        let meaning = match exit_code {
            137 => " (137: killed by SIGKILL, usually out of memory or a stop that outlasted stopTimeout)",
            143 => " (143: terminated by SIGTERM)",
            _ => "",
        };
        let cause = with_log_tail(
            env,
            &task,
            format!("the migration exited with code {exit_code}{meaning}: {summary}"),
        )
        .await;
        return Err(MigrationError::new(ErrorKind::NonZeroExit, cause));
    }

    if stopped_from_outside(status.stop_code.as_deref()) {
        let cause = with_log_tail(
            env,
            &task,
            format!("the task was stopped from outside before the migration could be judged, so its exit code 0 proves nothing: {summary}"),
        )
        .await;
        return Err(MigrationError::new(ErrorKind::TaskStopped, cause));
    }
    let duration_seconds = match (status.started_at, status.stopped_at) {
        (Some(start), Some(stop)) => Some((stop - start).num_seconds()),
        _ => None,
    };
    tracing::info!(task_arn = %task.task_arn, exit_code, ?duration_seconds, "migration succeeded");
    Ok(MigrationResult {
        task_arn: task.task_arn,
        container: request.container,
        exit_code,
        duration_seconds,
        log_stream: task.log_stream,
    })
}

/// Why the migration container has no exit code: gone from the task, or stopped without one.
fn no_exit_code(
    request: &MigrationRequest,
    container: Option<&ContainerState>,
    summary: &str,
) -> String {
    let what = match container {
        None => format!("container {} is not in the stopped task", request.container),
        Some(c) => format!(
            "container {} has no exit code{}",
            request.container,
            c.reason
                .as_deref()
                .map(|r| format!(" (reason: {r})"))
                .unwrap_or_default()
        ),
    };
    format!("the task stopped before the migration finished: {what}; {summary}")
}

fn summary(
    request: &MigrationRequest,
    task: &StartedTask,
    status: &TaskStatus,
    exit_code: Option<i32>,
) -> String {
    format!(
        "container {}, exit code {}, stop code {}, stopped reason {:?}, task {}",
        request.container,
        exit_code.map_or("none".to_string(), |c| c.to_string()),
        status.stop_code.as_deref().unwrap_or("none"),
        status.stopped_reason.as_deref().unwrap_or(""),
        task.task_arn
    )
}

/// Appends the container's last log lines; a log that cannot be read is said, never fatal.
async fn with_log_tail(env: &StepEnv<'_>, task: &StartedTask, cause: String) -> String {
    append_log_tail(
        env.logs,
        env.settings.log_tail_lines,
        &env.settings.log_tail_redact,
        task.log_stream.as_ref(),
        cause,
    )
    .await
}
