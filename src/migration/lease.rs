//! The migration lock as the steps share it: what `$.lock` holds, whose lock it is, renewing
//! the lease while the holder runs, and releasing it once the holder's tasks are STOPPED.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::common::clock::later_by;
use crate::common::error::{ErrorKind, MigrationError};
use crate::migration::settings::Settings;
use crate::migration::steps::StepEnv;
use crate::migration::tasks::wait_stopped;
use crate::ports::ecs::{LastStatus, TaskLookup};
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
    pub execution: String,
    #[serde(default)]
    pub execution_name: Option<String>,
    /// `family:revision`.
    pub migration: String,
    pub since: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
    #[serde(default)]
    pub task_arn: Option<String>,
}

impl Holder {
    pub fn of(item: &LockItem) -> Self {
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
    pub fn describe(&self) -> String {
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
    pub scope: String,
    /// This execution.
    pub holder: String,
    pub waiting_since: DateTime<Utc>,
    pub held_by: Holder,
    /// `waiting for app:7 (execution NAME, since TIME)`, for the console and `ecs-migrate wait`.
    pub message: String,
    /// Reads of the lock so far.
    pub checks: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockReleased {
    pub scope: String,
    pub holder: String,
    pub released: bool,
    pub note: String,
}

/// The scope a request's migration is counted in: `LOCK_SCOPE`, else its family.
pub fn scope_of(settings: &Settings, family: &str) -> String {
    settings
        .lock_scope
        .clone()
        .unwrap_or_else(|| family.to_string())
}

/// Waits until `tasks` are STOPPED (up to `until`), then releases `scope` if `holder` holds it.
pub(crate) async fn release_when_stopped(
    env: &StepEnv<'_>,
    scope: &str,
    holder: &str,
    cluster: &str,
    tasks: &[String],
    until: DateTime<Utc>,
) -> Result<LockReleased, MigrationError> {
    let result = |released: bool, note: String| LockReleased {
        scope: scope.to_string(),
        holder: holder.to_string(),
        released,
        note,
    };
    if let Some((task, status)) = wait_stopped(env, cluster, tasks, until).await? {
        tracing::warn!(scope, task, %status, "the task has not stopped: keeping the lock until its lease ends");
        return Ok(result(
            false,
            format!("task {task} was still {status}: the lock stays until its lease ends, when the next execution stops the task and takes over"),
        ));
    }
    if env.lock.release(scope, holder).await.map_err(lock_failed)? {
        tracing::info!(scope, holder, "released the migration lock");
        Ok(result(true, "released".into()))
    } else {
        tracing::warn!(scope, holder, "the lock was no longer this execution's");
        Ok(result(
            false,
            "the lock was no longer this execution's: its lease ran out and another execution took it over".into(),
        ))
    }
}

/// Moves the lease of `scope` on while `holder` (a verified RUNNING execution) runs: run-task
/// and each poll round; fails with `Migration.LockLost` when another execution took it over.
pub async fn renew_lock(
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
            format!("its task {task_arn} is not found ({reason}): it stopped long ago")
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
