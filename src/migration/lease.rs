//! The migration lock as the steps share it: what `$.lock` holds, whose lock it is, renewing
//! the lease while the holder runs, and releasing it once the holder's tasks are STOPPED.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::common::clock::later_by;
use crate::common::error::{ErrorKind, MigrationError};
use crate::migration::settings::Settings;
use crate::migration::steps::StepEnv;
use crate::migration::tasks::{describe, list_desired, stop_one};
use crate::ports::ecs::{DesiredStatus, Ecs, LastStatus, TaskLookup, STOPPED_TASK_RETENTION};
use crate::ports::lock::{LockError, LockItem};

/// What AcquireLock and ReleaseLock put at `$.lock`; the Choice after AcquireLock reads
/// `outcome`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LockState {
    /// This execution holds the lock.
    Acquired(LockHeld),
    /// Another execution holds it: AcquireLock runs again.
    Waiting(LockWait),
    /// Another execution of the same event holds it and tracks the migration: nothing to do.
    Duplicate(LockWait),
    /// ReleaseLock ran (`released` says whether the lock was still this execution's).
    Released(LockReleased),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHeld {
    pub scope: String,
    pub holder: String,
    pub since: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
    /// The migration's deadline: MAX_DURATION_SECONDS from when it got the lock, so waiting
    /// for another migration does not shorten this one.
    pub deadline: DateTime<Utc>,
    /// How long this execution waited for the lock.
    pub waited_seconds: i64,
    /// The holder whose lease had run out, and whose task was stopped before this one took over.
    #[serde(default)]
    pub took_over_from: Option<Holder>,
}

/// Who holds a lock, as the state output and `ecs-migrate wait` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub(crate) execution: String,
    #[serde(default)]
    pub(crate) execution_name: Option<String>,
    /// `family:revision`.
    pub(crate) migration: String,
    pub(crate) since: DateTime<Utc>,
    pub(crate) lease_until: DateTime<Utc>,
    #[serde(default)]
    pub(crate) task_arn: Option<String>,
}

impl Holder {
    pub(crate) fn of(item: &LockItem) -> Self {
        Self {
            execution: item.holder.clone(),
            execution_name: item.execution_name.clone(),
            migration: item.migration(),
            since: item.since,
            lease_until: item.lease_until,
            task_arn: item.task_arn.clone(),
        }
    }

    /// `waiting for app:7 (execution NAME, since TIME)`.
    pub(crate) fn describe(&self) -> String {
        format!(
            "{} (execution {}, since {})",
            self.migration,
            self.execution_name.as_deref().unwrap_or(&self.execution),
            self.since
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockWait {
    pub(crate) scope: String,
    /// This execution.
    pub(crate) holder: String,
    pub waiting_since: DateTime<Utc>,
    pub(crate) held_by: Holder,
    /// `waiting for app:7 (execution NAME, since TIME)`, for the console and `ecs-migrate wait`.
    pub message: String,
    /// Reads of the lock so far.
    pub(crate) checks: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockReleased {
    pub(crate) scope: String,
    pub(crate) holder: String,
    pub released: bool,
    pub note: String,
}

/// The scope a request's migration is counted in: `LOCK_SCOPE`, else its family.
pub(crate) fn scope_of(settings: &Settings, family: &str) -> String {
    settings
        .lock_scope
        .clone()
        .unwrap_or_else(|| family.to_string())
}

/// Waits until the holder's tasks are STOPPED (see [`wait_until_holder_stopped`], up to
/// `until`, stopping them with `stop`'s reason), then releases the lock of `item` if its holder
/// still holds it.
pub(crate) async fn release_when_stopped(
    env: &StepEnv<'_>,
    item: &LockItem,
    also: &[String],
    stop: Option<&str>,
    until: DateTime<Utc>,
) -> Result<LockReleased, MigrationError> {
    let (scope, holder) = (item.scope.as_str(), item.holder.as_str());
    let result = |released: bool, note: String| LockReleased {
        scope: scope.to_string(),
        holder: holder.to_string(),
        released,
        note,
    };
    if let Some((task, status)) = wait_until_holder_stopped(env, item, also, stop, until).await? {
        tracing::warn!(scope, task, %status, "the task has not stopped: keeping the lock until its lease ends");
        return Ok(result(
            false,
            format!("task {task} was still {status}: the lock stays until its lease ends, when the next execution stops the task and takes over"),
        ));
    }
    if env.lock.release(scope, holder).await.map_err(lock_failed)? {
        tracing::info!(scope, holder, "released the migration lock");
        return Ok(result(true, "released".into()));
    }
    // A failed condition is also what the SDK's retry of a DeleteItem whose first answer was
    // lost gets: that delete went through. Only an item of another holder means a takeover; no
    // item means the lock is free, so released.
    match env.lock.get(scope).await.map_err(lock_failed)? {
        None => {
            tracing::info!(
                scope,
                holder,
                "the migration lock is free (an earlier delete went through)"
            );
            Ok(result(true, FREE_ON_RETRY.into()))
        }
        Some(other) => {
            tracing::warn!(scope, holder, now = %other.holder, "the lock was no longer this execution's");
            Ok(result(
                false,
                format!("the lock was no longer this execution's: its lease ran out and another execution ({}) took it over", other.holder),
            ))
        }
    }
}

/// ReleaseLock's note when it finds the lock free where this execution's item was.
pub(crate) const FREE_ON_RETRY: &str = "released: the lock is free (an earlier try's delete went through though its answer was lost, or the lock was let go since)";

/// The status a task that DescribeTasks does not show is reported with.
const MISSING: &str = "MISSING";

/// The lock waits for the task it recorded: every POLL_INTERVAL_SECONDS until `until`, it looks
/// at the task the lock item records, the holder's tasks ListTasks shows with desiredStatus
/// RUNNING and with STOPPED (a task being stopped is listed only with STOPPED), and `also`;
/// `None` once all are STOPPED, else the first that is not, with its status. With `stop`, a
/// task ECS still wants RUNNING is sent StopTask with that reason (again each round until ECS
/// knows it: a task just started may not be found yet).
///
/// MISSING is not STOPPED: DescribeTasks answers it for a task RunTask started a moment ago
/// (eventual consistency) as well as for one stopped longer ago than ECS keeps it. What is
/// provable: the item's task was recorded by a renewal, so before `lease_until`; a task at
/// least [`STOPPED_TASK_RETENTION`] (ECS keeps STOPPED tasks "at least one hour") older than
/// that is no new task ECS does not show yet, so MISSING then means it is gone. Anything else
/// MISSING keeps the lock (until its lease ends, and the next holder's takeover waits for it).
pub(crate) async fn wait_until_holder_stopped(
    env: &StepEnv<'_>,
    item: &LockItem,
    also: &[String],
    stop: Option<&str>,
    until: DateTime<Utc>,
) -> Result<Option<(String, LastStatus)>, MigrationError> {
    let cluster = item.cluster.as_str();
    loop {
        let tasks = holder_tasks(env.ecs, item, also).await?;
        let now = env.clock.now();
        let mut pending = None;
        for task in &tasks {
            let status = match describe(env, cluster, task).await? {
                TaskLookup::Found(state) if state.last_status == LastStatus::Stopped => continue,
                TaskLookup::Found(state) => {
                    if let Some(reason) =
                        stop.filter(|_| state.desired_status != Some(LastStatus::Stopped))
                    {
                        stop_one(env, cluster, task, reason).await?;
                    }
                    state.last_status
                }
                TaskLookup::Missing { .. } if missing_is_gone(item, task, now) => continue,
                TaskLookup::Missing { .. } => LastStatus::Other(MISSING.into()),
            };
            pending.get_or_insert((task.clone(), status));
        }
        let Some(pending) = pending else {
            return Ok(None);
        };
        if now >= until {
            return Ok(Some(pending));
        }
        let left = (until - now).to_std().unwrap_or_default();
        env.clock.sleep(env.settings.poll_interval.min(left)).await;
    }
}

/// Whether a task of `item`'s holder that DescribeTasks reports MISSING is gone for good:
/// only the recorded task, and only once the item's lease ended more than ECS's retention of
/// stopped tasks ago (it was recorded before the lease ran out, so it is not a task too new to
/// show). Any other MISSING task may be one RunTask started a moment ago.
fn missing_is_gone(item: &LockItem, task: &str, now: DateTime<Utc>) -> bool {
    item.task_arn.as_deref() == Some(task) && now >= item.lease_until + STOPPED_TASK_RETENTION
}

/// What one look at a task of `item`'s holder says: `None` when it is STOPPED (or gone, by
/// [`missing_is_gone`]), else its status (MISSING included). The reconciler's test, the same
/// rule as [`wait_until_holder_stopped`]'s.
pub(crate) async fn holder_task_pending(
    env: &StepEnv<'_>,
    item: &LockItem,
    task: &str,
) -> Result<Option<LastStatus>, MigrationError> {
    Ok(match describe(env, &item.cluster, task).await? {
        TaskLookup::Found(state) if state.last_status == LastStatus::Stopped => None,
        TaskLookup::Found(state) => Some(state.last_status),
        TaskLookup::Missing { .. } if missing_is_gone(item, task, env.clock.now()) => None,
        TaskLookup::Missing { .. } => Some(LastStatus::Other(MISSING.into())),
    })
}

/// The task the item records, the holder's tasks listed with desiredStatus RUNNING and
/// STOPPED, and `also`, each once: what a takeover and a release wait for, and what
/// `ecs-migrate lock status|release` look at.
pub(crate) async fn holder_tasks(
    ecs: &dyn Ecs,
    item: &LockItem,
    also: &[String],
) -> Result<Vec<String>, MigrationError> {
    let mut tasks: Vec<String> = item.task_arn.iter().chain(also).cloned().collect();
    for desired in [DesiredStatus::Running, DesiredStatus::Stopped] {
        tasks.extend(list_desired(ecs, &item.cluster, &item.started_by, desired).await?);
    }
    let mut seen = std::collections::HashSet::new();
    tasks.retain(|task| seen.insert(task.clone()));
    Ok(tasks)
}

/// Moves the lease of `scope` on while `holder` (a verified RUNNING execution) runs: run-task
/// and each poll round; fails with `Migration.LockLost` when another execution took it over.
pub(crate) async fn renew_lock(
    env: &StepEnv<'_>,
    scope: &str,
    holder: &str,
    task_arn: Option<&str>,
) -> Result<(), MigrationError> {
    let lease_until = later_by(env.clock.now(), env.settings.lock_lease);
    if env
        .lock
        .renew(scope, holder, lease_until, task_arn)
        .await
        .map_err(lock_failed)?
    {
        return Ok(());
    }
    Err(MigrationError::new(ErrorKind::LockLost, format!(
        "this execution does not hold the migration lock of scope {scope:?}: its lease (LOCK_LEASE_SECONDS={}) ran out without a renewal and another execution took it over, or it never took it",
        env.settings.lock_lease.as_secs()
    )))
}

/// LockLost's Cause with whether this execution's task was stopped (by the execution that
/// took over, or it ended), or still runs (the failure path then stops it), as DescribeTasks
/// says now. Other errors are returned as they are.
pub(crate) async fn with_task_note(
    env: &StepEnv<'_>,
    err: MigrationError,
    cluster: &str,
    task_arn: &str,
) -> MigrationError {
    if err.kind() != ErrorKind::LockLost {
        return err;
    }
    let note = match env.ecs.describe_task(cluster, task_arn).await {
        Ok(TaskLookup::Found(task)) if task.last_status == LastStatus::Stopped => format!(
            "its task {task_arn} was stopped ({})",
            task.stopped_reason
                .or(task.stop_code)
                .unwrap_or_else(|| "no reason given".into())
        ),
        Ok(TaskLookup::Found(task)) => format!(
            "its task {task_arn} was not stopped: it is still {}, and this execution stops it now",
            task.last_status
        ),
        Ok(TaskLookup::Missing { reason }) => {
            format!("its task {task_arn} is not found ({reason}): ECS does not show it yet, or it stopped over an hour ago")
        }
        Err(e) => format!("whether its task {task_arn} was stopped is not known ({e})"),
    };
    MigrationError::new(ErrorKind::LockLost, format!("{}; {note}", err.message()))
}

pub(crate) fn lock_failed(err: LockError) -> MigrationError {
    let message = format!("migration lock table: {err}");
    if err.transient {
        MigrationError::new(ErrorKind::AwsTransient, message)
    } else {
        MigrationError::new(ErrorKind::Misconfigured, message)
    }
}
