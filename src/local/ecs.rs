//! `LocalEcs`: ECS and CloudWatch Logs for one machine. It answers the calls the steps make
//! (`crate::ports::ecs::Ecs`, `crate::ports::logs::Logs`) for the one task definition it was given, running each
//! task's migration container as a local process (or a Docker container).
//!
//! Local ARNs: the task definition is `arn:aws:ecs:local:000000000000:task-definition/FAMILY:1`,
//! tasks are `arn:aws:ecs:local:000000000000:task/CLUSTER/ID` with a 32-hex-digit id as ECS
//! gives. Only the container named in RunTask's override runs (other containers, such as
//! sidecars, are not started). The runner acts as the awslogs driver: a task's output is the
//! stream `PREFIX/CONTAINER/ID` of the group the task definition reports (see
//! `LocalTaskDefinition::to_task_definition`), and `Logs::tail` answers for it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::backend::Backend;
use super::docker::{self, DockerBackend, DockerError, DockerOptions};
use super::events::{Emitter, LocalEvent, TaskObserver};
use super::process::{self, ProcessBackend};
use super::task::{self, NewTask, TaskRecord};
use super::taskdef::{LocalTaskDefinition, LOCAL_ACCOUNT, LOCAL_REGION};
use crate::common::clock::Clock;
use crate::common::sync::lock;
use crate::ports::ecs::{
    check_run_task, ClientTokens, DesiredStatus, Ecs, RunTaskOutcome, RunTaskParams,
    TaskDefinition, TaskLookup, TaskState, TASK_NOT_FOUND,
};
use crate::ports::logs::{LogStream, Logs};
use crate::ports::AwsError;

/// How the runner starts a task's container.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Runner {
    /// A child process on this machine (the default).
    #[default]
    Process,
    /// `docker run` of the container's image; needs a Docker daemon.
    Docker(DockerOptions),
}

impl Runner {
    /// The back end that runs the container of task `task_id`.
    pub(crate) fn backend(&self, task_id: &str) -> Arc<dyn Backend> {
        match self {
            Runner::Process => Arc::new(ProcessBackend),
            Runner::Docker(options) => Arc::new(DockerBackend::new(options.clone(), task_id)),
        }
    }
}

/// ECS and CloudWatch Logs on one machine. Cheap to clone; the last clone to go kills every
/// task still running (with its whole process group), so nothing outlives the runner.
#[derive(Clone)]
pub struct LocalEcs {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for LocalEcs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEcs")
            .field("family", &self.inner.taskdef.family)
            .field("runner", &self.inner.runner)
            .finish_non_exhaustive()
    }
}

struct Inner {
    taskdef: LocalTaskDefinition,
    described: TaskDefinition,
    runner: Runner,
    events: Emitter,
    tasks: Mutex<Tasks>,
    counter: AtomicU64,
}

#[derive(Default)]
struct Tasks {
    /// In start order.
    all: Vec<Arc<TaskRecord>>,
    /// RunTask's client tokens, answered as ECS answers them.
    tokens: ClientTokens,
    agents: Vec<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let tasks = lock(&self.tasks);
        for record in &tasks.all {
            record.kill_now();
        }
        for agent in &tasks.agents {
            agent.abort();
        }
    }
}

impl LocalEcs {
    /// A runner for `taskdef` that runs tasks as local processes.
    pub fn new(taskdef: LocalTaskDefinition) -> Self {
        Self::with_runner_unchecked(taskdef, Runner::Process)
    }

    /// A runner for `taskdef` with the given runner. For Docker, checks first that a daemon
    /// answers (within `DockerOptions::probe_timeout`), so a missing daemon is an error here,
    /// never a hang later.
    pub async fn with_runner(
        taskdef: LocalTaskDefinition,
        runner: Runner,
    ) -> Result<Self, DockerError> {
        if let Runner::Docker(options) = &runner {
            docker::check_daemon(options).await?;
        }
        Ok(Self::with_runner_unchecked(taskdef, runner))
    }

    fn with_runner_unchecked(taskdef: LocalTaskDefinition, runner: Runner) -> Self {
        Self {
            inner: Arc::new(Inner {
                described: taskdef.to_task_definition(),
                taskdef,
                runner,
                events: Emitter::default(),
                tasks: Mutex::new(Tasks::default()),
                counter: AtomicU64::new(0),
            }),
        }
    }

    /// The task definition this runner answers for.
    pub fn task_definition(&self) -> &LocalTaskDefinition {
        &self.inner.taskdef
    }

    /// Status changes and output lines of every task, from now on, as a channel (a subscriber
    /// that falls more than 8192 events behind misses the oldest).
    pub fn subscribe(&self) -> broadcast::Receiver<LocalEvent> {
        self.inner.events.subscribe()
    }

    /// Calls `observer` with every status change and output line from now on, in the thread
    /// where it happens and before DescribeTasks can report the change. Keep it quick (e.g. a
    /// channel send), and do not call back into the runner from it: a status change is
    /// reported while the task's state is locked.
    pub fn observe(&self, observer: TaskObserver) {
        self.inner.events.observe(observer);
    }

    /// Every task started so far, as DescribeTasks would report it, in start order.
    pub fn tasks(&self) -> Vec<TaskState> {
        lock(&self.inner.tasks)
            .all
            .iter()
            .map(|r| r.state())
            .collect()
    }

    /// Stops every task not stopped yet (Ctrl-C); returns their ARNs.
    pub fn stop_all(&self, reason: &str) -> Vec<String> {
        let records: Vec<_> = lock(&self.inner.tasks).all.clone();
        records
            .iter()
            .filter(|r| !r.is_stopped())
            .map(|r| {
                r.request_stop(reason);
                r.arn.clone()
            })
            .collect()
    }

    /// Kills every task's processes at once with SIGKILL (after a stop that took too long, or
    /// a second Ctrl-C); their tasks then go STOPPED with exit code 137.
    pub fn kill_all(&self) {
        let records: Vec<_> = lock(&self.inner.tasks).all.clone();
        for record in records {
            record.kill_now();
        }
    }

    /// Waits until the task is STOPPED; `None` for an unknown task.
    pub async fn wait_stopped(&self, task_arn: &str) -> Option<TaskState> {
        let record = self.find(task_arn)?;
        Some(record.wait_stopped().await)
    }

    /// Waits until every task this runner started has stopped.
    pub async fn wait_all_stopped(&self) {
        for task in self.tasks() {
            self.wait_stopped(&task.task_arn).await;
        }
    }

    /// The process group of a running task (its leader's pid), while it has one.
    pub fn process_group(&self, task_arn: &str) -> Option<i32> {
        self.find(task_arn)?.process_group()
    }

    fn find(&self, task_arn: &str) -> Option<Arc<TaskRecord>> {
        let tasks = lock(&self.inner.tasks);
        tasks
            .all
            .iter()
            .find(|r| r.arn == task_arn || r.id == task_arn)
            .cloned()
    }

    /// The task, when it belongs to `cluster` (a name or an ARN).
    fn find_in(&self, cluster: &str, task_arn: &str) -> Option<Arc<TaskRecord>> {
        self.find(task_arn)
            .filter(|record| record.cluster == cluster_name(cluster))
    }

    fn new_task_id(&self, token: &str) -> String {
        let n = self.inner.counter.fetch_add(1, Ordering::SeqCst);
        let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let digest = Sha256::digest(format!("{token}/{n}/{now}/{}", std::process::id()));
        digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
    }
}

fn cluster_name(cluster: &str) -> &str {
    // A cluster ARN is arn:aws:ecs:REGION:ACCOUNT:cluster/NAME.
    cluster.rsplit('/').next().unwrap_or(cluster)
}

#[async_trait]
impl Ecs for LocalEcs {
    async fn describe_task_definition(
        &self,
        task_definition: &str,
    ) -> Result<Option<TaskDefinition>, AwsError> {
        Ok(self
            .inner
            .taskdef
            .answers_to(task_definition)
            .then(|| self.inner.described.clone()))
    }

    async fn run_task(&self, params: &RunTaskParams) -> Result<RunTaskOutcome, AwsError> {
        const OP: &str = "ecs:RunTask";
        let taskdef = &self.inner.taskdef;
        if !taskdef.answers_to(&params.task_definition) {
            return Err(AwsError::permanent(
                OP,
                Some("ClientException"),
                format!(
                    "TaskDefinition not found: {} (the local runner has only {})",
                    params.task_definition,
                    taskdef.arn()
                ),
            ));
        }
        // The refusals ECS gives (an override naming another container, awsvpc without a
        // network, a bad launch type or tags), before anything runs.
        check_run_task(params, &self.inner.described)?;
        let Some(container) = taskdef.find(&params.container) else {
            return Err(AwsError::permanent(
                OP,
                Some("InvalidParameterException"),
                format!(
                    "Override for container named {} is not a container in the TaskDefinition.",
                    params.container
                ),
            ));
        };
        let mut tasks = lock(&self.inner.tasks);
        let now = chrono::Utc::now();
        if let Some(answer) = tasks.tokens.replay(params, now) {
            return Ok(answer);
        }
        let cluster = cluster_name(&params.cluster).to_string();
        let id = self.new_task_id(&params.client_token);
        let arn = format!("arn:aws:ecs:{LOCAL_REGION}:{LOCAL_ACCOUNT}:task/{cluster}/{id}");
        let log = taskdef.effective_log(container);
        let prefix = log.stream_prefix.unwrap_or_default();
        let record = TaskRecord::new(
            NewTask {
                log_group: log.group.unwrap_or_default(),
                log_stream: format!("{prefix}/{}/{id}", container.name),
                arn: arn.clone(),
                id,
                cluster,
                started_by: params.started_by.clone(),
                container: container.name.clone(),
            },
            &self.inner.runner,
            self.inner.events.clone(),
        );
        let argv = process::argv(container, &params.command);
        let agent = tokio::spawn(task::drive(record.clone(), container.clone(), argv));
        tasks.all.push(record);
        tasks.agents.push(agent);
        let outcome = RunTaskOutcome::Started { task_arn: arn };
        tasks.tokens.record(params, &outcome, now);
        Ok(outcome)
    }

    /// Answers per cluster, as ECS does: a task of another cluster is MISSING (API Reference,
    /// DescribeTasks, failures;
    /// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html).
    async fn describe_task(&self, cluster: &str, task_arn: &str) -> Result<TaskLookup, AwsError> {
        Ok(match self.find_in(cluster, task_arn) {
            Some(record) => TaskLookup::Found(record.describe()),
            None => TaskLookup::Missing {
                reason: "MISSING".into(),
            },
        })
    }

    /// A task this runner does not know in `cluster` fails as ECS fails it (API Reference,
    /// StopTask; https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html).
    async fn stop_task(&self, cluster: &str, task_arn: &str, reason: &str) -> Result<(), AwsError> {
        let Some(record) = self.find_in(cluster, task_arn) else {
            return Err(AwsError::permanent(
                "ecs:StopTask",
                Some("InvalidParameterException"),
                TASK_NOT_FOUND,
            ));
        };
        record.request_stop(reason);
        Ok(())
    }

    /// A task being stopped has desiredStatus STOPPED, so the default (RUNNING) filter no
    /// longer lists it (API Reference, ListTasks, desiredStatus;
    /// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html).
    async fn list_tasks(
        &self,
        cluster: &str,
        started_by: &str,
        desired: DesiredStatus,
    ) -> Result<Vec<String>, AwsError> {
        let cluster = cluster_name(cluster);
        Ok(lock(&self.inner.tasks)
            .all
            .iter()
            .filter(|r| r.started_by == started_by && r.cluster == cluster)
            .filter(|r| desired.matches(r.state().desired_status.as_ref()))
            .map(|r| r.arn.clone())
            .collect())
    }

    /// Returns as soon as the task's state differs from what DescribeTasks last reported, or
    /// after `interval`: a process that exits is seen at once, not at the next poll.
    async fn wait_for_change(&self, clock: &dyn Clock, task_arn: &str, interval: Duration) {
        match self.find(task_arn) {
            Some(record) => record.wait_for_change(clock.sleep(interval)).await,
            None => clock.sleep(interval).await,
        }
    }
}

#[async_trait]
impl Logs for LocalEcs {
    async fn tail(
        &self,
        stream: &LogStream,
        lines: usize,
    ) -> Result<Option<Vec<String>>, AwsError> {
        let record = lock(&self.inner.tasks)
            .all
            .iter()
            .find(|r| r.log_group == stream.group && r.log_stream == stream.stream)
            .cloned();
        Ok(record.map(|r| r.tail(lines)))
    }
}
