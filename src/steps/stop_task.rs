//! stop-task: stops the migration task of a failed, timed-out or aborted execution, so no task
//! outlives it. Runs inside the state machine (after any error once a task may exist) and from
//! the EventBridge rule on "Step Functions Execution Status Change" (ABORTED, TIMED_OUT).

use serde::Deserialize;
use serde_json::Value;

use super::validate_event::started_by_for_execution;
use super::{MigrationRequest, StartedTask, StepEnv, StopResult};
use crate::error::{MigrationError, StateError};

/// ECS keeps at most 255 characters of a stop reason.
const MAX_REASON_CHARS: usize = 255;

/// The state data when the state machine calls stop-task.
#[derive(Debug, Clone, Deserialize)]
struct StopFromState {
    request: MigrationRequest,
    #[serde(default)]
    task: Option<StartedTask>,
    #[serde(default)]
    error: Option<StateError>,
}

/// The `detail` of a Step Functions "Execution Status Change" event.
#[derive(Debug, Clone, Deserialize)]
struct ExecutionStatusChange {
    #[serde(rename = "executionArn")]
    execution_arn: String,
    status: String,
    #[serde(default)]
    name: Option<String>,
}

/// Stops the execution's task(s): the one RunTask returned, and any other carrying the
/// execution's `startedBy` (a RunTask whose answer was lost still started one).
pub async fn stop_task(env: &StepEnv<'_>, input: Value) -> Result<StopResult, MigrationError> {
    if input.get("source").and_then(Value::as_str) == Some("aws.states") {
        return stop_for_status_change(env, &input).await;
    }
    let state: StopFromState = serde_json::from_value(input).map_err(|e| {
        MigrationError::InvalidEvent(format!(
            "stop-task takes the execution's state data ({{\"request\": ..., \"task\": ..., \"error\": ...}}) or a Step Functions Execution Status Change event: {e}"
        ))
    })?;
    let execution = state
        .request
        .execution_name
        .clone()
        .unwrap_or_else(|| state.request.started_by.clone());
    let why = state
        .error
        .as_ref()
        .map_or("failed".to_string(), |e| format!("failed with {}", e.error));
    let reason = stop_reason(&format!("ecs-migrate: execution {execution} {why}"));
    let cluster = state
        .task
        .as_ref()
        .map_or(state.request.cluster.clone(), |t| t.cluster.clone());

    let mut to_stop: Vec<String> = state.task.iter().map(|t| t.task_arn.clone()).collect();
    for arn in list(env, &cluster, &state.request.started_by).await? {
        if !to_stop.contains(&arn) {
            to_stop.push(arn);
        }
    }
    stop_all(env, &cluster, to_stop, reason).await
}

async fn stop_for_status_change(
    env: &StepEnv<'_>,
    event: &Value,
) -> Result<StopResult, MigrationError> {
    let detail = event.get("detail").cloned().unwrap_or(Value::Null);
    let change: ExecutionStatusChange = serde_json::from_value(detail).map_err(|e| {
        MigrationError::InvalidEvent(format!(
            "detail of the Execution Status Change event: {e}; expected executionArn and status"
        ))
    })?;
    let name = change.name.as_deref().unwrap_or(&change.execution_arn);
    let reason = stop_reason(&format!("ecs-migrate: execution {name} {}", change.status));
    if !matches!(change.status.as_str(), "ABORTED" | "TIMED_OUT" | "FAILED") {
        // A running or succeeded execution's task is not ours to stop.
        return Ok(StopResult {
            stopped: Vec::new(),
            reason,
        });
    }
    let cluster = env.settings.cluster.clone();
    let started_by = started_by_for_execution(&change.execution_arn);
    let tasks = list(env, &cluster, &started_by).await?;
    stop_all(env, &cluster, tasks, reason).await
}

async fn list(
    env: &StepEnv<'_>,
    cluster: &str,
    started_by: &str,
) -> Result<Vec<String>, MigrationError> {
    env.ecs
        .list_tasks_started_by(cluster, started_by)
        .await
        .map_err(|err| {
            let message = format!("listing tasks started by {started_by}: {err}");
            if err.transient {
                MigrationError::AwsTransient(message)
            } else {
                MigrationError::Misconfigured(format!(
                    "{message}; grant stop-task's role ecs:ListTasks on the cluster"
                ))
            }
        })
}

async fn stop_all(
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
                let message = format!("stopping task {task_arn}: {err}");
                if err.transient {
                    MigrationError::AwsTransient(message)
                } else {
                    MigrationError::Misconfigured(format!(
                        "{message}; grant stop-task's role ecs:StopTask on the cluster's tasks"
                    ))
                }
            })?;
        tracing::info!(task_arn = %task_arn, reason = %reason, "stopped migration task");
    }
    Ok(StopResult {
        stopped: tasks,
        reason,
    })
}

fn stop_reason(text: &str) -> String {
    text.chars().take(MAX_REASON_CHARS).collect()
}
