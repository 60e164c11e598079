//! run-task: ecs:RunTask with the migration command as a container override.

use super::{MigrationRequest, StartedTask, StepEnv};
use crate::ecs::{RunTaskFailure, RunTaskOutcome, RunTaskParams};
use crate::error::MigrationError;
use crate::logs::LogStream;

/// Starts the migration task (or, with the same client token, gets back the one already
/// started). RunTask fails three ways, each handled: an API error, `failures[]`, no task.
pub async fn run_task(
    env: &StepEnv<'_>,
    request: MigrationRequest,
) -> Result<StartedTask, MigrationError> {
    let settings = env.settings;
    let mut tags = vec![
        (
            "ecs-migrate:task-definition".to_string(),
            format!("{}:{}", request.family, request.revision),
        ),
        (
            "ecs-migrate:started-by".to_string(),
            request.started_by.clone(),
        ),
    ];
    if let Some(name) = &request.execution_name {
        tags.push(("ecs-migrate:execution".to_string(), name.clone()));
    }
    if let Some(id) = &request.event_id {
        tags.push(("ecs-migrate:event-id".to_string(), id.clone()));
    }
    let params = RunTaskParams {
        cluster: request.cluster.clone(),
        task_definition: request.taskdef_arn.clone(),
        container: request.container.clone(),
        command: request.command.clone(),
        network: settings.network.clone(),
        placement: settings.placement.clone(),
        platform_version: settings.platform_version.clone(),
        client_token: request.client_token.clone(),
        started_by: request.started_by.clone(),
        tags,
    };

    let outcome = env.ecs.run_task(&params).await.map_err(|err| {
        let message = format!("RunTask for {}: {err}", request.taskdef_arn);
        if err.transient {
            MigrationError::AwsTransient(message)
        } else if is_capacity_error(err.code.as_deref(), &err.message) {
            MigrationError::CapacityUnavailable(message)
        } else if err.is_access_denied() {
            MigrationError::RunTaskFailed(format!(
                "{message}; grant run-task's role ecs:RunTask, ecs:TagResource and iam:PassRole for this task definition"
            ))
        } else {
            MigrationError::RunTaskFailed(message)
        }
    })?;

    match outcome {
        RunTaskOutcome::Started { task_arn } => {
            let log_stream =
                LogStream::for_container(request.log.as_ref(), &request.container, &task_arn).ok();
            tracing::info!(task_arn = %task_arn, started_by = %request.started_by, "migration task started");
            Ok(StartedTask {
                task_arn,
                cluster: request.cluster,
                run_at: env.clock.now(),
                log_stream,
            })
        }
        RunTaskOutcome::Refused(failures) if failures.is_empty() => {
            Err(MigrationError::RunTaskFailed(format!(
                "RunTask for {} returned neither a task nor a failure",
                request.taskdef_arn
            )))
        }
        RunTaskOutcome::Refused(failures) => {
            let message = format!(
                "RunTask for {} started no task: {}",
                request.taskdef_arn,
                describe_failures(&failures)
            );
            if failures
                .iter()
                .any(|f| is_capacity_error(Some(&f.reason), f.detail.as_deref().unwrap_or("")))
            {
                Err(MigrationError::CapacityUnavailable(message))
            } else {
                Err(MigrationError::RunTaskFailed(message))
            }
        }
    }
}

/// Failures ECS may clear by itself: no instance with enough CPU, memory, ports or ENIs, no
/// agent, or Fargate out of capacity for the moment.
fn is_capacity_error(reason: Option<&str>, detail: &str) -> bool {
    let reason = reason.unwrap_or("");
    reason.starts_with("RESOURCE:")
        || reason == "AGENT"
        || reason.to_ascii_lowercase().contains("capacity")
        || detail
            .to_ascii_lowercase()
            .contains("capacity is unavailable")
}

fn describe_failures(failures: &[RunTaskFailure]) -> String {
    failures
        .iter()
        .map(|f| {
            let mut text = f.reason.clone();
            if let Some(detail) = f.detail.as_deref().filter(|d| !d.is_empty()) {
                text.push_str(&format!(" ({detail})"));
            }
            if let Some(arn) = &f.arn {
                text.push_str(&format!(" [{arn}]"));
            }
            text
        })
        .collect::<Vec<_>>()
        .join("; ")
}
