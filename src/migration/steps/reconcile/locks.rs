//! Phase 2: lock items whose holder has ended are released once every task of the holder is
//! STOPPED: the one the item records, the ones this run stopped, and the ones ListTasks shows
//! for the holder's `startedBy` with desiredStatus RUNNING or STOPPED (a task told to stop is
//! listed only under STOPPED while it drains).

use super::tasks::ecs_failed;
use super::{FixKind, Halt, Liveness, Run};
use crate::migration::hook_event::arn_name;
use crate::migration::lease::{holder_task_pending, lock_failed};
use crate::migration::tasks::started_by_for_execution;
use crate::ports::ecs::{DesiredStatus, LastStatus, TaskQuery};
use crate::ports::lock::LockItem;

impl Run<'_, '_> {
    pub(super) async fn release_ended_locks(&mut self) -> Result<(), Halt> {
        let mut start: Option<String> = None;
        loop {
            self.spend(1)?;
            let page = self
                .env
                .lock
                .list_page(start.as_deref())
                .await
                .map_err(lock_failed)?;
            for (scope, problem) in page.unreadable {
                self.leave(format!(
                    "lock item {scope:?} is not a lock item ({problem}): `ecs-migrate lock release --table TABLE --scope {scope} --force` deletes it"
                ));
            }
            for item in page.items {
                self.check_lock(&item).await?;
            }
            start = page.next;
            if start.is_none() {
                return Ok(());
            }
        }
    }

    async fn check_lock(&mut self, item: &LockItem) -> Result<(), Halt> {
        let status = match self.liveness(&item.holder).await? {
            Some(Liveness::Ended(status)) => status,
            Some(_) => return Ok(()),
            None => {
                self.leave(format!(
                    "lock of scope {:?} is held by {:?}, not an execution of {}: left alone",
                    item.scope, item.holder, self.machine
                ));
                return Ok(());
            }
        };
        let cluster = self.env.settings.cluster.clone();
        if arn_name(&item.cluster) != arn_name(&cluster) {
            self.leave(format!(
                "lock of scope {:?} records cluster {}, not {cluster} (setting CLUSTER): its task cannot be checked from here; `ecs-migrate lock release --scope {} --table TABLE` releases it once its task is stopped",
                item.scope, item.cluster, item.scope
            ));
            return Ok(());
        }
        let tasks = self.holder_tasks(&cluster, item, &status).await?;
        if let Some((task, task_status)) = self.first_not_stopped(item, &tasks).await? {
            self.leave(format!(
                "lock of scope {:?} kept: task {task} of ended execution {} is still {task_status}; a later run releases it once the task is STOPPED",
                item.scope, item.holder
            ));
            return Ok(());
        }
        self.release(item, &status).await
    }

    /// Every task of the ended holder: the recorded one, and those listed for its `startedBy`
    /// (RUNNING ones not yet stopped are stopped here).
    async fn holder_tasks(
        &mut self,
        cluster: &str,
        item: &LockItem,
        status: &str,
    ) -> Result<Vec<String>, Halt> {
        let mut tasks = self.stopped.get(&item.holder).cloned().unwrap_or_default();
        if let Some(recorded) = item.task_arn.as_ref().filter(|t| !tasks.contains(t)) {
            tasks.push(recorded.clone());
        }
        // Derived from the verified holder, not from the item's own startedBy field.
        let started_by = started_by_for_execution(&item.holder);
        for desired in [DesiredStatus::Running, DesiredStatus::Stopped] {
            let query = TaskQuery {
                started_by: Some(started_by.clone()),
                desired_status: desired,
            };
            let mut token: Option<String> = None;
            loop {
                self.spend(1)?;
                let page = self
                    .env
                    .ecs
                    .list_tasks_page(cluster, &query, token.as_deref())
                    .await
                    .map_err(|e| {
                        ecs_failed(
                            e,
                            &format!("listing tasks started by {started_by}"),
                            "ecs:ListTasks on the cluster",
                        )
                    })?;
                for arn in page.task_arns {
                    if desired == DesiredStatus::Running && !tasks.contains(&arn) {
                        self.stop(cluster, &arn, &item.holder, status).await?;
                    }
                    if !tasks.contains(&arn) {
                        tasks.push(arn);
                    }
                }
                token = page.next_token;
                if token.is_none() {
                    break;
                }
            }
        }
        Ok(tasks)
    }

    /// The first of `tasks` that is not STOPPED, waiting (within the run's time) for them to
    /// stop; a dry run looks once.
    async fn first_not_stopped(
        &mut self,
        item: &LockItem,
        tasks: &[String],
    ) -> Result<Option<(String, LastStatus)>, Halt> {
        let mut pending: Vec<String> = tasks.to_vec();
        loop {
            let mut still = Vec::new();
            for task in &pending {
                self.spend(1)?;
                if let Some(status) = holder_task_pending(self.env, item, task).await? {
                    still.push((task.clone(), status));
                }
            }
            let Some(first) = still.first().cloned() else {
                return Ok(None);
            };
            let pause = self.env.settings.poll_interval;
            let next_look = crate::common::clock::later_by(self.env.clock.now(), pause);
            if self.limits.dry_run || next_look >= self.limits.until {
                return Ok(Some(first));
            }
            pending = still.into_iter().map(|(task, _)| task).collect();
            self.env.clock.sleep(pause).await;
        }
    }

    async fn release(&mut self, item: &LockItem, status: &str) -> Result<(), Halt> {
        if !self.limits.dry_run {
            self.spend(1)?;
            let released = self
                .env
                .lock
                .release(&item.scope, &item.holder)
                .await
                .map_err(lock_failed)?;
            if !released {
                self.leave(format!(
                    "lock of scope {:?} changed hands while the run looked: left to its new holder",
                    item.scope
                ));
                return Ok(());
            }
        }
        self.fixed(FixKind::ReleaseLock, &item.scope, &item.holder, status);
        Ok(())
    }
}
