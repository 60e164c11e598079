//! Phase 1: the cluster's RUNNING tasks that ecs-migrate started for an execution that has
//! ended are stopped.

use super::{FixKind, Halt, Liveness, Run};
use crate::common::error::{ErrorKind, MigrationError};
use crate::migration::tasks::{started_by_for_execution, stop_reason, STARTED_BY_PREFIX};
use crate::ports::ecs::{DesiredStatus, LastStatus, TaggedTask, TaskQuery};
use crate::ports::executions::execution_arn;
use crate::ports::AwsError;

/// The tag run-task puts on each task naming the execution that started it.
pub(super) const EXECUTION_TAG: &str = "ecs-migrate:execution";

impl Run<'_, '_> {
    pub(super) async fn stop_orphaned_tasks(&mut self) -> Result<(), Halt> {
        let cluster = self.env.settings.cluster.clone();
        let query = TaskQuery {
            started_by: None,
            desired_status: DesiredStatus::Running,
        };
        let mut token: Option<String> = None;
        loop {
            self.spend(1)?;
            let page = self
                .env
                .ecs
                .list_tasks_page(&cluster, &query, token.as_deref())
                .await
                .map_err(|e| {
                    ecs_failed(
                        e,
                        "listing the cluster's RUNNING tasks",
                        "ecs:ListTasks on the cluster",
                    )
                })?;
            self.check_tasks(&cluster, &page.task_arns).await?;
            token = page.next_token;
            if token.is_none() {
                return Ok(());
            }
        }
    }

    /// Describes one page of tasks (with their tags) and stops those of ended executions.
    async fn check_tasks(&mut self, cluster: &str, arns: &[String]) -> Result<(), Halt> {
        if arns.is_empty() {
            return Ok(());
        }
        self.spend(1)?;
        let tasks = self
            .env
            .ecs
            .describe_tagged(cluster, arns)
            .await
            .map_err(|e| {
                ecs_failed(
                    e,
                    "describing the cluster's tasks",
                    "ecs:DescribeTasks on the cluster's tasks",
                )
            })?;
        for task in tasks {
            let Some(execution) = self.execution_of_task(&task) else {
                continue;
            };
            if task.state.last_status == LastStatus::Stopped {
                continue;
            }
            if let Some(Liveness::Ended(status)) = self.liveness(&execution).await? {
                self.stop(cluster, &task.state.task_arn, &execution, &status)
                    .await?;
            }
        }
        Ok(())
    }

    /// The execution that started `task`: the ARN its `ecs-migrate:execution` tag names in this
    /// state machine, confirmed by its `startedBy` (a digest of that ARN). `None` for a task
    /// ecs-migrate did not start, or another state machine's.
    fn execution_of_task(&self, task: &TaggedTask) -> Option<String> {
        let started_by = task.state.started_by.as_deref()?;
        if !started_by.starts_with(STARTED_BY_PREFIX) {
            return None;
        }
        let name = task.tag(EXECUTION_TAG)?;
        let arn = execution_arn(&self.machine, name);
        if started_by_for_execution(&arn) != started_by {
            tracing::debug!(task = %task.state.task_arn, "an ecs-migrate task of another state machine (or with a changed tag): not this reconciler's");
            return None;
        }
        Some(arn)
    }

    /// Stops `task_arn` of the ended `execution` (says so only, in a dry run).
    pub(super) async fn stop(
        &mut self,
        cluster: &str,
        task_arn: &str,
        execution: &str,
        status: &str,
    ) -> Result<(), Halt> {
        if !self.limits.dry_run {
            self.spend(1)?;
            let reason = stop_reason(&format!(
                "ecs-migrate reconcile: execution {execution} is {status}"
            ));
            self.env
                .ecs
                .stop_task(cluster, task_arn, &reason)
                .await
                .map_err(|e| {
                    ecs_failed(
                        e,
                        &format!("stopping task {task_arn}"),
                        "ecs:StopTask on the cluster's tasks",
                    )
                })?;
        }
        self.stopped
            .entry(execution.to_string())
            .or_default()
            .push(task_arn.to_string());
        self.fixed(FixKind::StopTask, task_arn, execution, status);
        Ok(())
    }
}

pub(super) fn ecs_failed(err: AwsError, doing: &str, grant: &str) -> MigrationError {
    let message = format!("reconcile: {doing}: {err}");
    if err.transient {
        MigrationError::new(ErrorKind::AwsTransient, message)
    } else {
        MigrationError::new(
            ErrorKind::Misconfigured,
            format!("{message}; grant the reconciler's role {grant}"),
        )
    }
}
