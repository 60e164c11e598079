//! run-task: ecs:RunTask with the migration command as a container override.
//!
//! Each attempt has its own client token: the request's for the first, one derived from it and
//! the attempt number after ECS had no capacity, because ECS answers a reused token with the
//! first answer (its `failures[]` too) for 24 hours. A Lambda-level retry of an attempt gets the
//! same input, so the same token, and never starts a second task.

use serde::{Deserialize, Serialize};

use super::StepEnv;
use crate::common::clock::later_by;
use crate::common::digest::hex_digest;
use crate::common::error::{ErrorKind, MigrationError};
use crate::migration::event::{check_allowed, parse_taskdef};
use crate::migration::execution::{verify_running, VerifiedExecution};
use crate::migration::lease::{lock_failed, renew_lock, scope_of};
use crate::migration::tasks::{describe, stop_one, stop_reason};
use crate::migration::{CapacityWait, DuplicateRun, MigrationRequest, RunOutcome, StartedTask};
use crate::migration::{LockState, CAPACITY_ATTEMPTS};
use crate::ports::ecs::{LastStatus, RunTaskFailure, RunTaskOutcome, RunTaskParams, TaskLookup};
use crate::ports::logs::LogStream;

/// The wait before the second attempt; it doubles up to [`MAX_CAPACITY_WAIT_SECONDS`].
const FIRST_CAPACITY_WAIT_SECONDS: u64 = 10;
const MAX_CAPACITY_WAIT_SECONDS: u64 = 120;

/// ECS tag values: at most 256 characters of letters, digits, spaces and `_.:/=+-@` (Amazon ECS
/// API Reference, Tag).
const MAX_TAG_VALUE_CHARS: usize = 256;

/// The state data run-task reads: the request, and its own previous outcome (a capacity wait).
/// Nothing in it decides what runs: the command, container, cluster and network are the
/// settings', `startedBy`, the client token and the lock holder the verified execution's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunTaskInput {
    pub request: MigrationRequest,
    #[serde(default)]
    pub task: Option<RunOutcome>,
    /// The migration lock this execution holds (none under a definition without AcquireLock).
    #[serde(default)]
    pub lock: Option<LockState>,
    /// The execution (`$$.Execution.Id`) run-task starts the task for, once confirmed RUNNING.
    #[serde(default)]
    pub execution_id: Option<String>,
}

/// Who a task is started for, all derived from the verified execution and the settings.
struct Run {
    execution: VerifiedExecution,
    taskdef_arn: String,
    family: String,
    revision: i32,
    scope: String,
    client_token: String,
}

/// Starts the migration task (or, with the same client token, gets back the one already
/// started). RunTask fails three ways, each handled: an API error, `failures[]`, no task.
pub async fn run_task(
    env: &StepEnv<'_>,
    input: RunTaskInput,
) -> Result<RunOutcome, MigrationError> {
    let attempt = match &input.task {
        Some(RunOutcome::RetryLater(wait)) => wait.attempt,
        _ => 0,
    };
    let execution = verify_running(env, input.execution_id.as_deref(), "run-task").await?;
    let run = derive_run(env, &input.request, execution)?;
    if env.lock.configured() {
        // At most one live task per execution, whatever is replayed: the lock says which.
        if let Some(task) = recorded_task(env, &run).await? {
            return Ok(RunOutcome::Started(started(env, &input.request, task)));
        }
        // Capacity waits outlast no lease: renew before starting, and start nothing without it.
        renew_lock(env, &run.scope, &run.execution.arn, None).await?;
    }
    let params = params(env, &run, input.request.event_id.as_deref(), attempt);
    let outcome = match env.ecs.run_task(&params).await {
        Ok(outcome) => outcome,
        Err(err) => return run_task_error(&run.taskdef_arn, attempt, err),
    };
    match outcome {
        RunTaskOutcome::Started { task_arn } => {
            tracing::info!(task_arn = %task_arn, started_by = %params.started_by, attempt, "migration task started");
            if env.lock.configured() {
                // The lock records the task, so an execution taking over an expired lease stops it.
                if let Err(err) =
                    renew_lock(env, &run.scope, &run.execution.arn, Some(&task_arn)).await
                {
                    return Err(stop_unlocked_task(env, &task_arn, err).await);
                }
            }
            Ok(RunOutcome::Started(started(env, &input.request, task_arn)))
        }
        RunTaskOutcome::TokenInUse { task_arns } => {
            tracing::warn!(?task_arns, event_id = ?input.request.event_id, "the client token is in use by another execution of this event: not starting a second task");
            // This execution started nothing, so it may let go of the lock at once.
            if env.lock.configured() {
                env.lock
                    .release(&run.scope, &run.execution.arn)
                    .await
                    .map_err(lock_failed)?;
            }
            Ok(RunOutcome::Duplicate(DuplicateRun {
                task_arns,
                event_id: input.request.event_id,
            }))
        }
        RunTaskOutcome::Refused(failures) => refused(&run.taskdef_arn, attempt, &failures),
    }
}

/// The renewal after RunTask failed: with LockLost (the cleanup of an execution aborted while
/// RunTask was in flight released the lock, or another execution took it over), the task just
/// started runs outside the lock, so it is stopped before run-task fails. ECS may not know a
/// task that new yet, so StopTask is asked again every POLL_INTERVAL_SECONDS until
/// MISSING_GRACE_SECONDS pass. The error says whether the task was stopped.
async fn stop_unlocked_task(
    env: &StepEnv<'_>,
    task_arn: &str,
    err: MigrationError,
) -> MigrationError {
    if err.kind() != ErrorKind::LockLost {
        return err;
    }
    let cluster = &env.settings.cluster;
    let reason = stop_reason("ecs-migrate: started after this execution lost its migration lock");
    let give_up = later_by(env.clock.now(), env.settings.missing_grace);
    let outcome = loop {
        match stop_one(env, cluster, task_arn, &reason).await {
            Ok(true) => break format!("task {task_arn} was stopped"),
            Ok(false) if env.clock.now() < give_up => {
                env.clock.sleep(env.settings.poll_interval).await;
            }
            Ok(false) => break format!("task {task_arn} could NOT be stopped: ECS did not know it within MISSING_GRACE_SECONDS"),
            Err(stop_err) => break format!("task {task_arn} could NOT be stopped: {stop_err}"),
        }
    };
    tracing::warn!(task_arn, outcome, "the lock was lost right after RunTask");
    MigrationError::new(ErrorKind::LockLost, format!("{}; {outcome}", err.message()))
}

/// The task definition re-checked against the settings, and the identity of the execution.
fn derive_run(
    env: &StepEnv<'_>,
    request: &MigrationRequest,
    execution: VerifiedExecution,
) -> Result<Run, MigrationError> {
    let taskdef = parse_taskdef(&request.taskdef_arn, "$.request.taskdef_arn")?;
    check_allowed(env.settings, &taskdef)?;
    let Some(revision) = taskdef.revision else {
        return Err(MigrationError::new(
            ErrorKind::NotAllowed,
            format!(
                "run-task runs an exact task definition revision, not {:?}",
                request.taskdef_arn
            ),
        ));
    };
    Ok(Run {
        client_token: execution.client_token(&request.taskdef_arn),
        scope: scope_of(env.settings, &taskdef.family),
        taskdef_arn: request.taskdef_arn.clone(),
        family: taskdef.family,
        revision,
        execution,
    })
}

/// The task the lock records for this execution, when it is not STOPPED (a retry gets it back
/// instead of starting another); refuses when this execution does not hold the lock, or its
/// recorded task already STOPPED (its one migration ran).
async fn recorded_task(env: &StepEnv<'_>, run: &Run) -> Result<Option<String>, MigrationError> {
    let item = env.lock.get(&run.scope).await.map_err(lock_failed)?;
    let Some(item) = item.filter(|item| item.holder == run.execution.arn) else {
        return Err(MigrationError::new(ErrorKind::LockLost, format!(
            "run-task starts a task only for the execution that holds the migration lock of scope {:?}, and {} does not",
            run.scope, run.execution.arn
        )));
    };
    let Some(task_arn) = item.task_arn else {
        return Ok(None);
    };
    match describe(env, &env.settings.cluster, &task_arn).await? {
        TaskLookup::Found(task) if task.last_status == LastStatus::Stopped => {
            Err(MigrationError::new(ErrorKind::NotAllowed, format!(
                "execution {} already ran its migration task {task_arn}, now STOPPED; run-task starts no second one",
                run.execution.arn
            )))
        }
        // Not stopped, or not shown yet (ECS is eventually consistent): the one task.
        _ => Ok(Some(task_arn)),
    }
}

fn started(env: &StepEnv<'_>, request: &MigrationRequest, task_arn: String) -> StartedTask {
    let settings = env.settings;
    StartedTask {
        log_stream: LogStream::for_container(request.log.as_ref(), &settings.container, &task_arn)
            .ok(),
        task_arn,
        cluster: settings.cluster.clone(),
        run_at: env.clock.now(),
    }
}

fn run_task_error(
    taskdef_arn: &str,
    attempt: u32,
    err: crate::ports::AwsError,
) -> Result<RunOutcome, MigrationError> {
    let message = format!("RunTask for {taskdef_arn}: {err}");
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
    Err(MigrationError::new(ErrorKind::RunTaskFailed, message))
}

fn refused(
    taskdef_arn: &str,
    attempt: u32,
    failures: &[RunTaskFailure],
) -> Result<RunOutcome, MigrationError> {
    if failures.is_empty() {
        return Err(MigrationError::new(
            ErrorKind::RunTaskFailed,
            format!("RunTask for {taskdef_arn} returned neither a task nor a failure"),
        ));
    }
    let message = format!(
        "RunTask for {taskdef_arn} started no task: {}",
        describe_failures(failures)
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

/// RunTask's parameters for `attempt`: the settings' command, container, cluster, network
/// and placement; the verified execution's `startedBy` and client token.
fn params(env: &StepEnv<'_>, run: &Run, event_id: Option<&str>, attempt: u32) -> RunTaskParams {
    let settings = env.settings;
    let started_by = run.execution.started_by();
    let mut tags = vec![
        (
            "ecs-migrate:task-definition".to_string(),
            format!("{}:{}", run.family, run.revision),
        ),
        ("ecs-migrate:started-by".to_string(), started_by.clone()),
        (
            "ecs-migrate:execution".to_string(),
            tag_value(&run.execution.name),
        ),
    ];
    if let Some(id) = event_id {
        tags.push(("ecs-migrate:event-id".to_string(), tag_value(id)));
    }
    RunTaskParams {
        cluster: settings.cluster.clone(),
        task_definition: run.taskdef_arn.clone(),
        container: settings.container.clone(),
        command: settings.command.clone(),
        network: settings.network.clone(),
        placement: settings.placement.clone(),
        platform_version: settings.platform_version.clone(),
        client_token: attempt_token(&run.client_token, attempt),
        started_by,
        tags,
    }
}

/// The client token of `attempt`: the request's for the first, then one per attempt, at most
/// 64 characters as RunTask allows.
pub(crate) fn attempt_token(base: &str, attempt: u32) -> String {
    if attempt == 0 {
        return base.to_string();
    }
    hex_digest(&["client-token-attempt", base, &attempt.to_string()], 64)
}

/// A value ECS accepts as a tag value: characters it does not allow become `_`, and it is cut
/// to 256 characters. Execution names and event ids may hold characters ECS refuses.
pub(crate) fn tag_value(text: &str) -> String {
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
