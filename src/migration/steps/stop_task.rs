//! stop-task: stops the migration task of a failed, timed-out or aborted execution, so no task
//! outlives it. Runs inside the state machine (after any error once a task may exist) and from
//! the EventBridge rule on "Step Functions Execution Status Change" (ABORTED, TIMED_OUT).

use serde::Deserialize;
use serde_json::Value;

use chrono::{DateTime, Utc};

use super::StepEnv;
use crate::common::clock::later_by;
use crate::common::error::{ErrorKind, MigrationError, StateError};
use crate::migration::event::parse_input;
use crate::migration::execution::{
    describe_own, execution_call_failed, verify_running, VerifiedExecution,
};
use crate::migration::hook_event::hook_family;
use crate::migration::lease::release_when_stopped;
use crate::migration::tasks::{
    list, ours, started_by_for_execution, stop_all, stop_one, stop_reason,
};
use crate::migration::{RunOutcome, StopResult};

/// The state data when the state machine calls stop-task.
#[derive(Debug, Clone, Deserialize)]
struct StopFromState {
    /// Required for the shape only: what stop-task acts on comes from the verified execution.
    #[serde(rename = "request")]
    _request: serde::de::IgnoredAny,
    #[serde(default)]
    task: Option<RunOutcome>,
    #[serde(default)]
    error: Option<StateError>,
    /// The execution (`$$.Execution.Id`) whose tasks to stop, once confirmed RUNNING.
    #[serde(default)]
    execution_id: Option<String>,
}

/// The `detail` of a Step Functions "Execution Status Change" event.
#[derive(Debug, Clone, Deserialize)]
struct ExecutionStatusChange {
    #[serde(rename = "executionArn")]
    execution_arn: String,
    status: String,
    /// When the execution ended, in milliseconds since the epoch.
    #[serde(default, rename = "stopDate")]
    stop_date: Option<i64>,
}

/// Stops the execution's task(s): the one RunTask returned, and any other carrying the
/// execution's `startedBy` (a RunTask whose answer was lost still started one). When no task is
/// known, it looks again until ListTasks, which is eventually consistent, can be trusted to
/// show a task started before the execution stopped (MISSING_GRACE_SECONDS after it).
pub async fn stop_task(
    env: &StepEnv<'_>,
    input: Value,
    return_by: Option<DateTime<Utc>>,
) -> Result<StopResult, MigrationError> {
    if input.get("source").and_then(Value::as_str) == Some("aws.states") {
        return stop_for_status_change(env, &input, return_by).await;
    }
    let state: StopFromState = serde_json::from_value(input).map_err(|e| {
        MigrationError::new(ErrorKind::InvalidEvent, format!(
            "stop-task takes the execution's state data ({{\"request\": ..., \"task\": ..., \"error\": ...}}) or a Step Functions Execution Status Change event: {e}"
        ))
    })?;
    let execution = verify_running(env, state.execution_id.as_deref(), "stop-task").await?;
    check_in_stop_state(env, &execution).await?;
    let why = state
        .error
        .as_ref()
        .map_or("failed".to_string(), |e| format!("failed with {}", e.error));
    let reason = stop_reason(&format!("ecs-migrate: execution {} {why}", execution.name));
    let started = state.task.as_ref().and_then(RunOutcome::started);
    let cluster = env.settings.cluster.clone();
    let started_by = &execution.started_by();

    let mut to_stop = Vec::new();
    if let Some(task) = started {
        if ours(env, &cluster, &task.task_arn, started_by).await? {
            to_stop.push(task.task_arn.clone());
        }
    }
    let look_until = started.is_none().then(|| env.clock.now());
    for arn in list_settled(env, &cluster, started_by, look_until, return_by).await? {
        if !to_stop.contains(&arn) {
            to_stop.push(arn);
        }
    }
    stop_all(env, &cluster, to_stop, reason).await
}

/// The definition's states whose Resource is stop-task's function: a RUNNING execution's task
/// is stopped on the state data's word only while the execution is in one of them
/// (statemachine/migration.asl.json; `statemachine::binding`'s tests keep the two equal).
pub(crate) const STOP_TASK_STATES: [&str; 1] = ["StopTask"];

/// How many of the newest history events are read to find the state the execution is in.
/// Step Functions records `TaskStateEntered` before it invokes the function, then at most three
/// events per attempt (LambdaFunctionScheduled, Started, Failed or TimedOut); StopTask's 20
/// retries (21 attempts) make at most 63 events after it, so 100 reach it on the last attempt too.
const HISTORY_EVENTS: i32 = 100;

/// A RUNNING execution's own state machine invokes stop-task from its StopTask state, after a
/// failure. Anyone else naming a live execution (a direct lambda:InvokeFunction) would end its
/// migration early: the execution's history, not the payload, says where it is.
async fn check_in_stop_state(
    env: &StepEnv<'_>,
    execution: &VerifiedExecution,
) -> Result<(), MigrationError> {
    let state = env
        .executions
        .current_state(&execution.arn, HISTORY_EVENTS)
        .await
        .map_err(|err| {
            execution_call_failed("stop-task", "GetExecutionHistory", &execution.arn, err)
        })?;
    match state.as_deref() {
        Some(name) if STOP_TASK_STATES.contains(&name) => Ok(()),
        other => {
            let is_in = other.map_or("no state its history shows".to_string(), |name| {
                format!("state {name}")
            });
            let message = format!(
                "stop-task stops a RUNNING execution's task only when the execution itself calls it from its {} state, and execution {} is in {is_in}: its migration is left running",
                STOP_TASK_STATES.join(" or "),
                execution.arn
            );
            tracing::warn!(%message, "refused: a live execution's migration is not stopped on the payload's word");
            Err(MigrationError::new(ErrorKind::NotAllowed, message))
        }
    }
}

async fn stop_for_status_change(
    env: &StepEnv<'_>,
    event: &Value,
    return_by: Option<DateTime<Utc>>,
) -> Result<StopResult, MigrationError> {
    let detail = event.get("detail").cloned().unwrap_or(Value::Null);
    let change: ExecutionStatusChange = serde_json::from_value(detail).map_err(|e| {
        MigrationError::new(
            ErrorKind::InvalidEvent,
            format!(
            "detail of the Execution Status Change event: {e}; expected executionArn and status"
        ),
        )
    })?;
    // The event's word is checked: only an execution of ours that really ended is cleaned up.
    let execution = describe_own(env, &change.execution_arn, "stop-task").await?;
    if execution.status != change.status {
        return Err(MigrationError::new(ErrorKind::NotAllowed, format!(
            "the status-change event says execution {} is {}, but Step Functions says {}: stop-task stops and releases nothing on its word",
            change.execution_arn, change.status, execution.status
        )));
    }
    let reason = stop_reason(&format!(
        "ecs-migrate: execution {} {}",
        execution.name, execution.status
    ));
    if !matches!(
        execution.status.as_str(),
        "ABORTED" | "TIMED_OUT" | "FAILED"
    ) {
        // A running or succeeded execution's task is not ours to stop.
        return Ok(StopResult {
            stopped: Vec::new(),
            reason,
        });
    }
    let cluster = env.settings.cluster.clone();
    let started_by = started_by_for_execution(&change.execution_arn);
    let stopped_at = change
        .stop_date
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .unwrap_or_else(|| env.clock.now());
    let tasks = list_settled(env, &cluster, &started_by, Some(stopped_at), return_by).await?;
    // A task StopTask does not find yet (eventual consistency) is stopped by the lock's wait
    // once ECS shows it; one still unaccounted for after that fails the call, so it is retried.
    let mut unfound = Vec::new();
    for task in &tasks {
        if !stop_one(env, &cluster, task, &reason).await? {
            unfound.push(task.clone());
        }
    }
    release_for_ended_execution(env, &execution, &tasks, return_by).await;
    if !unfound.is_empty() {
        stop_all(env, &cluster, unfound, reason.clone()).await?;
    }
    Ok(StopResult {
        stopped: tasks,
        reason,
    })
}

/// The ended execution's lock, released once its tasks are STOPPED. Best effort: a lock this
/// cannot release (no scope to be found, a task still stopping, a table error) stays until its
/// lease ends, when the next execution stops the task and takes over.
async fn release_for_ended_execution(
    env: &StepEnv<'_>,
    execution: &VerifiedExecution,
    tasks: &[String],
    return_by: Option<DateTime<Utc>>,
) {
    // The scope from the execution's input as Step Functions keeps it, not the event's copy;
    // a hook's from the revision its deployment runs.
    let input = execution
        .input
        .as_deref()
        .and_then(|text| serde_json::from_str::<Value>(text).ok());
    let family = input
        .as_ref()
        .and_then(|input| parse_input(input).ok())
        .map(|parsed| parsed.task_definition.family);
    let family = match (family, &env.settings.lock_scope, &input) {
        (None, None, Some(input)) => hook_family(env.settings, env.deployments, input).await,
        (family, _, _) => family,
    };
    let scope = match (&env.settings.lock_scope, family) {
        (Some(scope), _) => scope.clone(),
        (None, Some(family)) => family,
        (None, None) => {
            tracing::warn!(execution = %execution.arn, "the execution has no readable input to find the lock scope in; its lock, if any, is left to its lease");
            return;
        }
    };
    let until = later_by(env.clock.now(), env.settings.poll_max_wait);
    let until = return_by.map_or(until, |by| until.min(by));
    // The table says whose lock it is and which task it records; that task, and every task of
    // the execution, stopping ones included, must be STOPPED before the lock goes.
    let item = match env.lock.get(&scope).await {
        Ok(Some(item)) if item.holder == execution.arn => item,
        Ok(_) => return,
        Err(err) => {
            tracing::warn!(scope, error = %err, "could not read the ended execution's lock; it is left to its lease");
            return;
        }
    };
    // The execution ended: a task it started after the first look (a RunTask in flight when it
    // was aborted) is stopped too.
    let reason = stop_reason(&format!(
        "ecs-migrate: execution {} {}",
        execution.name, execution.status
    ));
    match release_when_stopped(env, &item, tasks, Some(&reason), until).await {
        Ok(released) => {
            tracing::info!(scope, released = released.released, note = %released.note, "the ended execution's lock")
        }
        Err(err) => {
            tracing::warn!(scope, error = %err, "could not release the ended execution's lock; it is left to its lease")
        }
    }
}

/// The running tasks with `started_by`. With `after`, a task RunTask started up to that moment
/// may not be listed yet: until MISSING_GRACE_SECONDS after it (and no later than `return_by`,
/// the function's deadline less a margin), an empty answer is asked again every
/// POLL_INTERVAL_SECONDS. A look cut short by the deadline is taken up by the status-change
/// rule's own call when the execution ends.
async fn list_settled(
    env: &StepEnv<'_>,
    cluster: &str,
    started_by: &str,
    after: Option<DateTime<Utc>>,
    return_by: Option<DateTime<Utc>>,
) -> Result<Vec<String>, MigrationError> {
    let settled_at = after.map(|t| {
        let settled = later_by(t, env.settings.missing_grace);
        return_by.map_or(settled, |by| settled.min(by))
    });
    loop {
        let tasks = list(env, cluster, started_by).await?;
        let now = env.clock.now();
        match settled_at {
            Some(at) if tasks.is_empty() && now < at => {
                let pause = (at - now)
                    .to_std()
                    .unwrap_or_default()
                    .min(env.settings.poll_interval);
                env.clock.sleep(pause).await;
            }
            _ => return Ok(tasks),
        }
    }
}
