//! poll-status: follows the task with ecs:DescribeTasks, waiting inside one invocation (up to
//! `POLL_MAX_WAIT_SECONDS`) so a long migration costs few state transitions, yet a stopped task
//! is noticed within one poll interval.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StepEnv;
use crate::common::clock::later_by;
use crate::common::error::{ErrorKind, MigrationError, StateError};
use crate::migration::execution::verify_running;
use crate::migration::lease::{renew_lock, with_task_note};
use crate::migration::settings::Settings;
use crate::migration::LockState;
use crate::migration::{MigrationRequest, Phase, StartedTask, TaskStatus};
use crate::ports::ecs::{LastStatus, TaskLookup, TaskState};

/// The state data poll-status reads: the request, the task, and its previous answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollInput {
    pub request: MigrationRequest,
    pub task: StartedTask,
    #[serde(default)]
    pub status: Option<TaskStatus>,
    /// The migration lock this execution holds: each round renews its lease, and its deadline
    /// (MAX_DURATION_SECONDS from when the lock was taken) is the migration's.
    #[serde(default)]
    pub lock: Option<LockState>,
    /// The execution (`$$.Execution.Id`) whose lease the rounds renew, once confirmed RUNNING.
    #[serde(default)]
    pub execution_id: Option<String>,
}

/// The stand-in status of a task DescribeTasks does not find yet (eventual consistency right
/// after RunTask): it counts against the start budget like PROVISIONING.
const MISSING: &str = "MISSING";

/// Polls until the task stops, the deadline or start budget passes, or this invocation's wait
/// is used up. `return_by` is when the caller must have an answer (the Lambda deadline less a
/// margin); `None` means only the settings bound the wait.
pub async fn poll_status(
    env: &StepEnv<'_>,
    input: PollInput,
    return_by: Option<DateTime<Utc>>,
) -> Result<TaskStatus, MigrationError> {
    let settings = env.settings;
    let PollInput {
        request,
        task,
        status: previous,
        lock,
        execution_id,
    } = input;
    let lease = lease_to_renew(env, lock.as_ref(), execution_id.as_deref()).await?;
    let (deadline, counted_from) = match &lock {
        Some(LockState::Acquired(held)) => (held.deadline, "when it got the migration lock"),
        _ => (request.deadline, "the execution's start"),
    };
    // Renewing every third of the lease keeps it alive through a missed round or two.
    let renew_every = settings.lock_lease / 3;
    let mut renew_at = env.clock.now();
    let mut polls = previous.as_ref().map_or(0, |s| s.polls);
    let start = env.clock.now();
    let mut until = later_by(start, settings.poll_max_wait);
    if let Some(return_by) = return_by {
        until = until.min(return_by);
    }
    let start_budget_ends = later_by(task.run_at, settings.start_timeout);
    let missing_grace_ends = later_by(task.run_at, settings.missing_grace);

    loop {
        if let Some((scope, holder)) = lease.as_ref().filter(|_| env.clock.now() >= renew_at) {
            if let Err(err) = renew_running(env, scope, holder, renew_at > start).await {
                return Err(with_task_note(env, err, &settings.cluster, &task.task_arn).await);
            }
            renew_at = later_by(env.clock.now(), renew_every);
        }
        let state = describe_round(env, &task).await?;
        polls += 1;
        let now = env.clock.now();
        let limits = Limits {
            deadline,
            counted_from,
            start_budget_ends,
        };
        let state = match state {
            Ok(state) => state,
            // Right after RunTask, DescribeTasks may not see the task yet.
            Err(reason) if now < missing_grace_ends => missing_state(&task.task_arn, &reason),
            Err(reason) => {
                return Err(MigrationError::new(ErrorKind::TaskMissing, format!(
                    "task {} can no longer be described ({reason}), {} s after RunTask; it may have been stopped and expired, check the cluster's stopped tasks",
                    task.task_arn,
                    (now - task.run_at).num_seconds()
                )))
            }
        };
        if let Some((phase, error)) = verdict(settings, &task, &limits, &state, now) {
            return Ok(status(phase, state, now, polls, error));
        }
        if now >= until {
            return Ok(status(Phase::InProgress, state, now, polls, None));
        }
        let next_event = [until, deadline, start_budget_ends, renew_at]
            .into_iter()
            .filter(|t| *t > now)
            .min()
            .unwrap_or(until);
        let pause = settings
            .poll_interval
            .min((next_event - now).to_std().unwrap_or(Duration::ZERO))
            .max(Duration::from_millis(1));
        env.ecs
            .wait_for_change(env.clock, &task.task_arn, pause)
            .await;
    }
}

fn missing_state(task_arn: &str, reason: &str) -> TaskState {
    TaskState {
        task_arn: task_arn.to_string(),
        started_by: None,
        last_status: LastStatus::parse(if reason.is_empty() { MISSING } else { reason }),
        desired_status: None,
        stop_code: None,
        stopped_reason: None,
        created_at: None,
        started_at: None,
        stopped_at: None,
        containers: Vec::new(),
    }
}

fn status(
    phase: Phase,
    state: TaskState,
    checked_at: DateTime<Utc>,
    polls: u64,
    error: Option<StateError>,
) -> TaskStatus {
    TaskStatus {
        phase,
        last_status: state.last_status,
        desired_status: state.desired_status,
        stop_code: state.stop_code,
        stopped_reason: state.stopped_reason,
        created_at: state.created_at,
        started_at: state.started_at,
        stopped_at: state.stopped_at,
        containers: state.containers,
        checked_at,
        polls,
        error,
    }
}

/// The lease each round renews, `(scope, holder)`: only a RUNNING execution of this state
/// machine's own, so no call keeps a finished execution's lock alive.
async fn lease_to_renew(
    env: &StepEnv<'_>,
    lock: Option<&LockState>,
    execution_id: Option<&str>,
) -> Result<Option<(String, String)>, MigrationError> {
    let Some(LockState::Acquired(held)) = lock else {
        return Ok(None);
    };
    let execution = verify_running(env, execution_id, "poll-status").await?;
    Ok(Some((held.scope.clone(), execution.arn)))
}

/// Renews the lease; a renewal later in the round first confirms again that the execution
/// runs (one aborted meanwhile would otherwise keep its lock until the round ends).
async fn renew_running(
    env: &StepEnv<'_>,
    scope: &str,
    holder: &str,
    again: bool,
) -> Result<(), MigrationError> {
    if again {
        verify_running(env, Some(holder), "poll-status").await?;
    }
    renew_lock(env, scope, holder, None).await
}

/// ecs:DescribeTasks for the task: its state, or ECS's reason (MISSING) when it shows none.
async fn describe_round(
    env: &StepEnv<'_>,
    task: &StartedTask,
) -> Result<Result<TaskState, String>, MigrationError> {
    let lookup = env
        .ecs
        .describe_task(&task.cluster, &task.task_arn)
        .await
        .map_err(|err| {
            let message = format!("describing task {}: {err}", task.task_arn);
            if err.transient {
                MigrationError::new(ErrorKind::AwsTransient, message)
            } else {
                MigrationError::new(ErrorKind::TaskMissing, message)
            }
        })?;
    Ok(match lookup {
        TaskLookup::Found(state) => Ok(state),
        TaskLookup::Missing { reason } => Err(reason),
    })
}

/// The limits a round judges the task against.
struct Limits {
    deadline: DateTime<Utc>,
    counted_from: &'static str,
    start_budget_ends: DateTime<Utc>,
}

/// The round's phase (and error) when the task stopped, passed its deadline or never started
/// in time; `None` to keep waiting.
fn verdict(
    settings: &Settings,
    task: &StartedTask,
    limits: &Limits,
    state: &TaskState,
    now: DateTime<Utc>,
) -> Option<(Phase, Option<StateError>)> {
    if state.last_status == LastStatus::Stopped {
        return Some((Phase::Stopped, None));
    }
    if now >= limits.deadline {
        let error = MigrationError::new(ErrorKind::Timeout, format!(
            "the migration was still {} at its deadline {} ({}, counted from {}); its task {} is being stopped",
            state.last_status,
            limits.deadline.to_rfc3339(),
            settings.max_duration_named(),
            limits.counted_from,
            task.task_arn
        ))
        .to_state_error();
        return Some((Phase::DeadlinePassed, Some(error)));
    }
    let not_yet_running =
        state.last_status.before_running() || state.last_status.as_str() == MISSING;
    if not_yet_running && now >= limits.start_budget_ends {
        let error = MigrationError::new(ErrorKind::TaskFailedToStart, format!(
            "task {} was still {} {} s after RunTask (setting START_TIMEOUT_SECONDS); it is being stopped. Capacity providers leave tasks in PROVISIONING while they wait for capacity",
            task.task_arn,
            state.last_status,
            (now - task.run_at).num_seconds()
        ))
        .to_state_error();
        return Some((Phase::StartTimedOut, Some(error)));
    }
    None
}
