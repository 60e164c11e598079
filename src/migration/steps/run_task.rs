//! run-task: ecs:RunTask with the migration command as a container override.
//!
//! Each attempt has its own client token: the request's for the first, one derived from it and
//! the attempt number after ECS had no capacity, because ECS answers a reused token with the
//! first answer (its `failures[]` too) for 24 hours. A Lambda-level retry of an attempt gets the
//! same input, so the same token, and never starts a second task.

use serde::{Deserialize, Serialize};

use super::StepEnv;
use crate::common::digest::hex_digest;
use crate::common::error::{ErrorKind, MigrationError};
use crate::migration::lease::{lock_failed, renew_lock};
use crate::migration::{CapacityWait, DuplicateRun, MigrationRequest, RunOutcome, StartedTask};
use crate::migration::{LockState, CAPACITY_ATTEMPTS};
use crate::ports::ecs::{RunTaskFailure, RunTaskOutcome, RunTaskParams};
use crate::ports::logs::LogStream;

/// The wait before the second attempt; it doubles up to [`MAX_CAPACITY_WAIT_SECONDS`].
const FIRST_CAPACITY_WAIT_SECONDS: u64 = 10;
const MAX_CAPACITY_WAIT_SECONDS: u64 = 120;

/// ECS tag values: at most 256 characters of letters, digits, spaces and `_.:/=+-@` (Amazon ECS
/// API Reference, Tag).
const MAX_TAG_VALUE_CHARS: usize = 256;

/// The state data run-task reads: the request, and its own previous outcome (a capacity wait).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunTaskInput {
    pub request: MigrationRequest,
    #[serde(default)]
    pub task: Option<RunOutcome>,
    /// The migration lock this execution holds (none under a definition without AcquireLock).
    #[serde(default)]
    pub lock: Option<LockState>,
}

/// Starts the migration task (or, with the same client token, gets back the one already
/// started). RunTask fails three ways, each handled: an API error, `failures[]`, no task.
pub async fn run_task(
    env: &StepEnv<'_>,
    input: RunTaskInput,
) -> Result<RunOutcome, MigrationError> {
    let RunTaskInput {
        request,
        task,
        lock,
    } = input;
    let attempt = match task {
        Some(RunOutcome::RetryLater(wait)) => wait.attempt,
        _ => 0,
    };
    // Capacity waits outlast no lease: renew before starting, and start nothing without it.
    renew_lock(env, lock.as_ref(), None).await?;
    let params = params(env, &request, attempt);
    let outcome = match env.ecs.run_task(&params).await {
        Ok(outcome) => outcome,
        Err(err) => {
            let message = format!("RunTask for {}: {err}", request.taskdef_arn);
            if err.transient {
                return Err(MigrationError::new(ErrorKind::AwsTransient, message));
            }
            if is_capacity_error(err.code.as_deref(), &err.message) {
                return capacity_wait(attempt, message);
            }
            if err.is_access_denied() {
                return Err(MigrationError::new(ErrorKind::RunTaskFailed, format!(
                    "{message}; grant run-task's role ecs:RunTask, ecs:TagResource and iam:PassRole for this task definition"
                )));
            }
            return Err(MigrationError::new(ErrorKind::RunTaskFailed, message));
        }
    };
    match outcome {
        RunTaskOutcome::Started { task_arn } => {
            let log_stream =
                LogStream::for_container(request.log.as_ref(), &request.container, &task_arn).ok();
            tracing::info!(task_arn = %task_arn, started_by = %request.started_by, attempt, "migration task started");
            // The lock records the task, so an execution taking over an expired lease stops it.
            renew_lock(env, lock.as_ref(), Some(&task_arn)).await?;
            Ok(RunOutcome::Started(StartedTask {
                task_arn,
                cluster: request.cluster,
                run_at: env.clock.now(),
                log_stream,
            }))
        }
        RunTaskOutcome::TokenInUse { task_arns } => {
            tracing::warn!(?task_arns, event_id = ?request.event_id, "the client token is in use by another execution of this event: not starting a second task");
            // This execution started nothing, so it may let go of the lock at once.
            if let Some(LockState::Acquired(held)) = &lock {
                env.lock
                    .release(&held.scope, &held.holder)
                    .await
                    .map_err(lock_failed)?;
            }
            Ok(RunOutcome::Duplicate(DuplicateRun {
                task_arns,
                event_id: request.event_id,
            }))
        }
        RunTaskOutcome::Refused(failures) if failures.is_empty() => Err(MigrationError::new(
            ErrorKind::RunTaskFailed,
            format!(
                "RunTask for {} returned neither a task nor a failure",
                request.taskdef_arn
            ),
        )),
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
                capacity_wait(attempt, message)
            } else {
                Err(MigrationError::new(ErrorKind::RunTaskFailed, message))
            }
        }
    }
}

/// RunTask's parameters for `attempt`.
fn params(env: &StepEnv<'_>, request: &MigrationRequest, attempt: u32) -> RunTaskParams {
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
        tags.push(("ecs-migrate:execution".to_string(), tag_value(name)));
    }
    if let Some(id) = &request.event_id {
        tags.push(("ecs-migrate:event-id".to_string(), tag_value(id)));
    }
    RunTaskParams {
        cluster: request.cluster.clone(),
        task_definition: request.taskdef_arn.clone(),
        container: request.container.clone(),
        command: request.command.clone(),
        network: settings.network.clone(),
        placement: settings.placement.clone(),
        platform_version: settings.platform_version.clone(),
        client_token: attempt_token(&request.client_token, attempt),
        started_by: request.started_by.clone(),
        tags,
    }
}

/// The client token of `attempt`: the request's for the first, then one per attempt, at most
/// 64 characters as RunTask allows.
pub fn attempt_token(base: &str, attempt: u32) -> String {
    if attempt == 0 {
        return base.to_string();
    }
    hex_digest(&["client-token-attempt", base, &attempt.to_string()], 64)
}

/// A value ECS accepts as a tag value: characters it does not allow become `_`, and it is cut
/// to 256 characters. Execution names and event ids may hold characters ECS refuses.
pub fn tag_value(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(MAX_TAG_VALUE_CHARS)
        .collect()
}

/// ECS had no capacity for `attempt`: wait and try the next one, or give up after the last.
fn capacity_wait(attempt: u32, message: String) -> Result<RunOutcome, MigrationError> {
    let next = attempt + 1;
    if next >= CAPACITY_ATTEMPTS {
        return Err(MigrationError::new(
            ErrorKind::CapacityUnavailable,
            format!("{message} (attempt {next} of {CAPACITY_ATTEMPTS}; no capacity came back)"),
        ));
    }
    let wait_seconds = FIRST_CAPACITY_WAIT_SECONDS
        .saturating_mul(1 << attempt.min(16))
        .min(MAX_CAPACITY_WAIT_SECONDS);
    tracing::warn!(attempt = next, wait_seconds, reason = %message, "no capacity; trying again later");
    Ok(RunOutcome::RetryLater(CapacityWait {
        attempt: next,
        wait_seconds,
        reason: message,
    }))
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
