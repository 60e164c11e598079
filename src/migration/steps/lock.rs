//! acquire-lock and release-lock: one migration per lock scope at a time, over the conditional
//! writes of [`crate::ports::lock`]. The lock is taken before RunTask, its lease renewed by run-task
//! and every poll round, and released only once the holder's task is STOPPED. A lease that ran
//! out (a holder whose functions all died) is taken over only after its task is stopped.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::StepEnv;
use crate::common::clock::later_by;
use crate::common::error::{ErrorKind, MigrationError};
use crate::migration::event::{check_allowed, parse_taskdef};
use crate::migration::execution::verify_running;
use crate::migration::hook_event::arn_name;
use crate::migration::lease::{
    holder_tasks, lock_failed, release_when_stopped, scope_of, wait_until_holder_stopped,
    FREE_ON_RETRY,
};
use crate::migration::settings::Settings;
use crate::migration::tasks::{stop_one, stop_reason};
use crate::migration::{
    Holder, LockHeld, LockReleased, LockState, LockWait, MigrationRequest, RunOutcome, StopResult,
};
use crate::ports::lock::{Expected, LockItem};

/// The longest pause between two looks at a held lock (the first is POLL_INTERVAL_SECONDS,
/// doubling): a waiter notices a release within 20 s, at three consistent reads a minute (the
/// looks are inside the invocation, so they cost no history events).
const MAX_CHECK_PAUSE: Duration = Duration::from_secs(20);

/// The state data acquire-lock reads: the request and its own previous answer (a wait).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcquireInput {
    pub request: MigrationRequest,
    #[serde(default)]
    pub lock: Option<LockState>,
    /// The execution (`$$.Execution.Id`) that takes the lock, once confirmed RUNNING.
    #[serde(default)]
    pub execution_id: Option<String>,
}

/// The state data release-lock reads: the lock, and the tasks that must be STOPPED first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseInput {
    pub request: MigrationRequest,
    #[serde(default)]
    pub lock: Option<LockState>,
    #[serde(default)]
    pub task: Option<RunOutcome>,
    #[serde(default)]
    pub stop: Option<StopResult>,
    /// The execution (`$$.Execution.Id`) that lets go of the lock, once confirmed RUNNING.
    #[serde(default)]
    pub execution_id: Option<String>,
}

/// Who takes the lock: all derived from the verified execution and the settings.
struct Taker {
    scope: String,
    holder: String,
    execution_name: String,
    client_token: String,
    started_by: String,
    taskdef_arn: String,
    family: String,
    revision: i32,
}

impl Taker {
    async fn verify(
        env: &StepEnv<'_>,
        request: &MigrationRequest,
        execution_id: Option<&str>,
    ) -> Result<Self, MigrationError> {
        let execution = verify_running(env, execution_id, "acquire-lock").await?;
        let taskdef = parse_taskdef(&request.taskdef_arn, "$.request.taskdef_arn")?;
        check_allowed(env.settings, &taskdef)?;
        Ok(Self {
            scope: scope_of(env.settings, &taskdef.family),
            client_token: execution.client_token(&request.taskdef_arn),
            started_by: execution.started_by(),
            holder: execution.arn,
            execution_name: execution.name,
            taskdef_arn: request.taskdef_arn.clone(),
            revision: taskdef.revision.unwrap_or(request.revision),
            family: taskdef.family,
        })
    }
}

/// Takes the lock, waiting (inside this invocation, checking with backoff) while another
/// execution holds it; returns WAITING when this invocation's wait is used up, DUPLICATE when
/// another execution of the same event holds it, and fails with `Migration.Locked` when
/// LOCK_WAIT_SECONDS pass.
pub async fn acquire_lock(
    env: &StepEnv<'_>,
    input: AcquireInput,
    return_by: Option<DateTime<Utc>>,
) -> Result<LockState, MigrationError> {
    let AcquireInput {
        request,
        lock,
        execution_id,
    } = input;
    let settings = env.settings;
    let taker = Taker::verify(env, &request, execution_id.as_deref()).await?;
    let started = env.clock.now();
    let (waiting_since, mut checks) = match &lock {
        Some(LockState::Waiting(wait)) if wait.holder == taker.holder => {
            (wait.waiting_since, wait.checks)
        }
        _ => (started, 0),
    };
    let wait_ends = later_by(waiting_since, settings.lock_wait);
    let until = invocation_ends(settings, started, return_by);
    let mut pause = settings.poll_interval;
    let mut slept = false;

    loop {
        checks += 1;
        let now = env.clock.now();
        let look = Look {
            taker: &taker,
            waiting_since,
            checks,
            until,
            wait_ends,
        };
        let item = env.lock.get(&taker.scope).await.map_err(lock_failed)?;
        // A write after a pause confirms again that the execution runs: one aborted meanwhile
        // would otherwise hold the lock until its lease ends.
        if slept && item.as_ref().is_none_or(|i| i.expired_at(now)) {
            verify_running(env, execution_id.as_deref(), "acquire-lock").await?;
        }
        let item = match item {
            None => match look.take_free(env, now).await? {
                Some(state) => return Ok(state),
                // Another execution took it between the read and the write: look again.
                None => continue,
            },
            Some(item) => item,
        };
        if let Some(state) = look.held(env, &item, now).await? {
            return Ok(state);
        }
        if item.holder == taker.holder {
            continue;
        }
        // An expired lease not taken over (its task still runs, or the table refused, as the
        // local table does while the holder's process group lives) is waited for like a held
        // one: within LOCK_WAIT_SECONDS, never in a busy loop.
        let held_by = Holder::of(&item).describe();
        if now >= wait_ends {
            let scope = &taker.scope;
            return Err(MigrationError::new(ErrorKind::Locked, format!(
                "the migration lock of scope {scope:?} was held by {held_by} for all of the {} s this execution may wait ({}); it ran no task. Run it again once that migration ends, or see `ecs-migrate lock status --scope {scope}`",
                settings.lock_wait.as_secs(),
                settings.lock_wait_named()
            )));
        }
        // The last look is when the wait ends, so Migration.Locked comes on time.
        let to_wait_end = (wait_ends - now).to_std().unwrap_or_default();
        let next_check = later_by(now, pause.min(to_wait_end));
        if next_check > until {
            return Ok(LockState::Waiting(
                look.wait(&item, format!("waiting for {held_by}")),
            ));
        }
        env.clock.sleep(pause.min(to_wait_end)).await;
        slept = true;
        pause = (pause * 2).min(MAX_CHECK_PAUSE);
    }
}

/// One look at the lock by `taker`.
struct Look<'a> {
    taker: &'a Taker,
    waiting_since: DateTime<Utc>,
    checks: u64,
    /// When this invocation must answer.
    until: DateTime<Utc>,
    /// When LOCK_WAIT_SECONDS from the first look run out: a takeover's wait for the old task
    /// counts too.
    wait_ends: DateTime<Utc>,
}

impl Look<'_> {
    fn wait(&self, item: &LockItem, message: String) -> LockWait {
        LockWait {
            scope: self.taker.scope.clone(),
            holder: self.taker.holder.clone(),
            waiting_since: self.waiting_since,
            held_by: Holder::of(item),
            message,
            checks: self.checks,
        }
    }

    /// Takes a free scope; `None` when another execution took it first.
    async fn take_free(
        &self,
        env: &StepEnv<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<LockState>, MigrationError> {
        let mine = new_item(env.settings, self.taker, now);
        let taken = env
            .lock
            .put(&mine, Expected::Free)
            .await
            .map_err(lock_failed)?;
        Ok(taken.then(|| acquired(env.settings, mine, self.waiting_since, None)))
    }

    /// What a held lock means: ours already (renewed), another execution of this event's
    /// (DUPLICATE), or an expired lease (taken over once its task stopped). `None`: look again,
    /// or wait when the item is neither ours nor expired.
    async fn held(
        &self,
        env: &StepEnv<'_>,
        item: &LockItem,
        now: DateTime<Utc>,
    ) -> Result<Option<LockState>, MigrationError> {
        let (settings, taker) = (env.settings, self.taker);
        if item.holder == taker.holder {
            // Ours already: a retry of an invocation whose answer was lost. Renew and go on.
            let lease_until = later_by(now, settings.lock_lease);
            let renewed = env
                .lock
                .renew(&taker.scope, &taker.holder, lease_until, None)
                .await
                .map_err(lock_failed)?;
            let mine = LockItem {
                lease_until,
                ..item.clone()
            };
            return Ok(renewed.then(|| acquired(settings, mine, self.waiting_since, None)));
        }
        if item.client_token == taker.client_token {
            tracing::info!(scope = %taker.scope, holder = %item.holder, "another execution of this event holds the lock and tracks the migration");
            return Ok(Some(LockState::Duplicate(self.wait(
                item,
                format!(
                    "another execution of the same event holds the lock for {}",
                    Holder::of(item).describe()
                ),
            ))));
        }
        if item.expired_at(now) {
            return self.take_over(env, item).await;
        }
        Ok(None)
    }

    /// Takes over an expired lease once the holder's tasks are stopped.
    async fn take_over(
        &self,
        env: &StepEnv<'_>,
        item: &LockItem,
    ) -> Result<Option<LockState>, MigrationError> {
        let (settings, taker) = (env.settings, self.taker);
        check_holders_cluster(settings, item)?;
        let reason = stop_reason(&format!(
            "ecs-migrate: {} takes over lock {}; the lease of {} ended",
            taker.holder, taker.scope, item.holder
        ));
        let until = self.until.min(self.wait_ends);
        if let Some(task) = stop_holders_tasks(env, item, reason, until).await? {
            if env.clock.now() >= self.wait_ends {
                return Err(task_does_not_stop(settings, item, &task));
            }
            if env.clock.now() < self.until {
                return Ok(None);
            }
            return Ok(Some(LockState::Waiting(self.wait(
                item,
                format!(
                    "waiting for task {task} of {} to stop: its lease ended at {}",
                    Holder::of(item).describe(),
                    item.lease_until.to_rfc3339()
                ),
            ))));
        }
        let mine = new_item(settings, taker, env.clock.now());
        let expected = Expected::Expired {
            holder: &item.holder,
            now: mine.since,
        };
        if !env.lock.put(&mine, expected).await.map_err(lock_failed)? {
            return Ok(None);
        }
        tracing::warn!(scope = %taker.scope, previous = %item.holder, "took over a lock whose lease had ended, after stopping its task");
        Ok(Some(acquired(
            settings,
            mine,
            self.waiting_since,
            Some(Holder::of(item)),
        )))
    }
}

/// Releases the lock once this execution's tasks are STOPPED: at once on the success path,
/// after StopTask on a failure path. A task still not stopped when this invocation must answer
/// keeps the lock (its lease runs out, and the next execution stops the task and takes over).
pub async fn release_lock(
    env: &StepEnv<'_>,
    input: ReleaseInput,
    return_by: Option<DateTime<Utc>>,
) -> Result<LockState, MigrationError> {
    if let Some(released @ LockState::Released(_)) = input.lock {
        // A retry of an invocation whose answer was lost.
        return Ok(released);
    }
    let execution = verify_running(env, input.execution_id.as_deref(), "release-lock").await?;
    let family = parse_taskdef(&input.request.taskdef_arn, "$.request.taskdef_arn")?.family;
    let scope = scope_of(env.settings, &family);
    let not_held = |note: &str| {
        Ok(LockState::Released(LockReleased {
            scope: scope.clone(),
            holder: execution.arn.clone(),
            released: false,
            note: note.into(),
        }))
    };
    if !env.lock.configured() {
        return not_held("this execution did not hold the migration lock");
    }
    // The table, not the payload, says whose lock it is and which task must stop first.
    let item = env.lock.get(&scope).await.map_err(lock_failed)?;
    let acquired =
        matches!(&input.lock, Some(LockState::Acquired(held)) if held.holder == execution.arn);
    if item.is_none() && acquired {
        // A retry after an earlier try's DeleteItem went through but its answer was lost: the
        // table says nobody holds the lock, so it is released. `$.lock` only picks these words
        // over "did not hold" (nothing is acted on); an item of another holder is never this.
        return Ok(LockState::Released(LockReleased {
            scope: scope.clone(),
            holder: execution.arn.clone(),
            released: true,
            note: FREE_ON_RETRY.into(),
        }));
    }
    let Some(item) = item.filter(|item| item.holder == execution.arn) else {
        return not_held("this execution did not hold the migration lock");
    };
    // The item records the task and the `startedBy` to wait for (see
    // `wait_until_holder_stopped`): an empty ListTasks proves nothing while it records one.
    let until = invocation_ends(env.settings, env.clock.now(), return_by);
    let released = release_when_stopped(env, &item, &[], None, until).await?;
    Ok(LockState::Released(released))
}

/// When this invocation must answer: after one poll round's wait, or sooner by `return_by`.
fn invocation_ends(
    settings: &Settings,
    now: DateTime<Utc>,
    return_by: Option<DateTime<Utc>>,
) -> DateTime<Utc> {
    let until = later_by(now, settings.poll_max_wait);
    return_by.map_or(until, |by| until.min(by))
}

fn new_item(settings: &Settings, taker: &Taker, now: DateTime<Utc>) -> LockItem {
    LockItem {
        scope: taker.scope.clone(),
        holder: taker.holder.clone(),
        execution_name: Some(taker.execution_name.clone()),
        client_token: taker.client_token.clone(),
        taskdef_arn: taker.taskdef_arn.clone(),
        family: taker.family.clone(),
        revision: taker.revision,
        cluster: settings.cluster.clone(),
        started_by: taker.started_by.clone(),
        task_arn: None,
        since: now,
        lease_until: later_by(now, settings.lock_lease),
    }
}

fn acquired(
    settings: &Settings,
    item: LockItem,
    waiting_since: DateTime<Utc>,
    took_over_from: Option<Holder>,
) -> LockState {
    tracing::info!(scope = %item.scope, holder = %item.holder, "took the migration lock");
    LockState::Acquired(LockHeld {
        deadline: later_by(item.since, settings.max_duration),
        waited_seconds: (item.since - waiting_since).num_seconds().max(0),
        scope: item.scope,
        holder: item.holder,
        since: item.since,
        lease_until: item.lease_until,
        took_over_from,
    })
}

/// A takeover whose old task did not stop within LOCK_WAIT_SECONDS: the scope stays locked.
fn task_does_not_stop(settings: &Settings, item: &LockItem, task: &str) -> MigrationError {
    MigrationError::new(ErrorKind::Locked, format!(
        "the lease of {} on the migration lock of scope {:?} ended, but its task {task} did not stop within the {} s this execution may wait ({}); it ran no task. Find out why the task does not stop (ECS console, or `aws ecs describe-tasks --cluster {} --tasks {task}`), then run it again",
        Holder::of(item).describe(),
        item.scope,
        settings.lock_wait.as_secs(),
        settings.lock_wait_named(),
        item.cluster,
    ))
}

/// An item naming another cluster than CLUSTER: its tasks cannot be listed or stopped from
/// here (the role is scoped to CLUSTER), so only a person can clear it.
fn check_holders_cluster(settings: &Settings, item: &LockItem) -> Result<(), MigrationError> {
    if arn_name(&item.cluster) == arn_name(&settings.cluster) {
        return Ok(());
    }
    let table = settings.lock_table.as_deref().unwrap_or("TABLE");
    Err(MigrationError::new(ErrorKind::Locked, format!(
        "the migration lock of scope {:?} is held by {} in cluster {}, which this function cannot look at (setting CLUSTER is {}): its task cannot be checked or stopped from here. Once that migration is over (or its task stopped), clear the lock with `ecs-migrate lock release --table {table} --scope {} --force`",
        item.scope,
        Holder::of(item).describe(),
        item.cluster,
        settings.cluster,
        item.scope,
    )))
}

/// Stops the expired holder's tasks (the one it recorded and any carrying its `startedBy`) and
/// waits for them to stop; the first still running at `until`, if any.
async fn stop_holders_tasks(
    env: &StepEnv<'_>,
    item: &LockItem,
    reason: String,
    until: DateTime<Utc>,
) -> Result<Option<String>, MigrationError> {
    // StopTask once to each task the holder has (a task ECS does not know yet is stopped by the
    // wait once it shows), then wait for all to be STOPPED.
    for task in holder_tasks(env.ecs, item, &[]).await? {
        stop_one(env, &item.cluster, &task, &reason).await?;
    }
    Ok(
        wait_until_holder_stopped(env, item, &[], Some(&reason), until)
            .await?
            .map(|(task, _)| task),
    )
}
