//! The ECS seam: the calls the steps make, as a trait over domain values, with the
//! aws-sdk-ecs adapter beside it. The local runner (`crate::local`) implements the same trait.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::common::clock::Clock;
use crate::ports::AwsError;

mod run_task_rules;
mod sdk;

pub use run_task_rules::{check_run_task, INACTIVE_TASK_DEFINITION};
pub use sdk::SdkEcs;

/// What the steps need of a registered task definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskDefinition {
    pub arn: String,
    pub family: String,
    pub revision: i32,
    pub network_mode: Option<String>,
    pub containers: Vec<ContainerDefinition>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerDefinition {
    pub name: String,
    pub essential: bool,
    pub log: Option<LogConfiguration>,
}

/// A container's log configuration; `group`, `region` and `stream_prefix` are the awslogs
/// driver's `awslogs-group`, `awslogs-region` and `awslogs-stream-prefix` options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogConfiguration {
    pub driver: String,
    pub group: Option<String>,
    pub region: Option<String>,
    pub stream_prefix: Option<String>,
}

impl LogConfiguration {
    /// Reads the awslogs options out of a driver's option map.
    pub(crate) fn from_options(driver: &str, options: &HashMap<String, String>) -> Self {
        Self {
            driver: driver.to_string(),
            group: options.get("awslogs-group").cloned(),
            region: options.get("awslogs-region").cloned(),
            stream_prefix: options.get("awslogs-stream-prefix").cloned(),
        }
    }
}

/// Everything ecs:RunTask is called with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunTaskParams {
    pub cluster: String,
    pub task_definition: String,
    pub container: String,
    pub command: Vec<String>,
    pub network: Option<AwsVpc>,
    pub placement: Placement,
    pub platform_version: Option<String>,
    pub client_token: String,
    pub started_by: String,
    pub tags: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsVpc {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
}

/// Where the task runs: a launch type, a capacity provider strategy, or the cluster's default
/// strategy (neither given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    LaunchType(String),
    CapacityProviders(Vec<CapacityProvider>),
    ClusterDefault,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapacityProvider {
    #[serde(rename = "capacityProvider")]
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) weight: i32,
    #[serde(default)]
    pub(crate) base: i32,
}

/// RunTask answered: a task, ECS's reasons for not starting one, or that the client token was
/// already used by a RunTask with other parameters (ConflictException), with the tasks that
/// request started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunTaskOutcome {
    Started { task_arn: String },
    Refused(Vec<RunTaskFailure>),
    TokenInUse { task_arns: Vec<String> },
}

/// How long ECS remembers a RunTask client token (Amazon ECS API Reference, "Ensuring
/// idempotency", Idempotency for RunTask).
pub(crate) const CLIENT_TOKEN_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// RunTask's client-token rules, for the stand-ins of ECS (the local runner, the tests' fake):
/// within the token's lifetime, the same token with the same parameters returns the first
/// request's answer, whatever it was (a task, or its `failures[]`), and the same token with other
/// parameters is refused with ConflictException naming the tasks the first request started
/// (API Reference, RunTask "clientToken"; ConflictException "resourceIds").
#[derive(Debug, Default)]
pub struct ClientTokens {
    answered: HashMap<String, (RunTaskParams, RunTaskOutcome, DateTime<Utc>)>,
}

impl ClientTokens {
    /// The answer ECS gives `params` without running anything, if its token is known.
    pub fn replay(&self, params: &RunTaskParams, now: DateTime<Utc>) -> Option<RunTaskOutcome> {
        let (first, outcome, at) = self.answered.get(&params.client_token)?;
        if now - *at >= CLIENT_TOKEN_LIFETIME {
            return None;
        }
        if first == params {
            return Some(outcome.clone());
        }
        let task_arns = match outcome {
            RunTaskOutcome::Started { task_arn } => vec![task_arn.clone()],
            _ => Vec::new(),
        };
        Some(RunTaskOutcome::TokenInUse { task_arns })
    }

    /// Remembers the answer to a request that was not a replay.
    pub fn record(&mut self, params: &RunTaskParams, outcome: &RunTaskOutcome, now: DateTime<Utc>) {
        if !params.client_token.is_empty() {
            self.answered.insert(
                params.client_token.clone(),
                (params.clone(), outcome.clone(), now),
            );
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunTaskFailure {
    pub arn: Option<String>,
    pub reason: String,
    pub detail: Option<String>,
}

/// A task's or container's `lastStatus` / `desiredStatus`, as the ECS task lifecycle names
/// it (Amazon ECS Developer Guide, "Amazon ECS task lifecycle"). A status ECS adds later, or a
/// stand-in such as poll-status's `MISSING`, is kept as [`LastStatus::Other`]. It travels in
/// the state data as the ECS string.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum LastStatus {
    Provisioning,
    Pending,
    Activating,
    Running,
    Deactivating,
    Stopping,
    Deprovisioning,
    Stopped,
    Deleted,
    Other(String),
}

impl LastStatus {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Provisioning => "PROVISIONING",
            Self::Pending => "PENDING",
            Self::Activating => "ACTIVATING",
            Self::Running => "RUNNING",
            Self::Deactivating => "DEACTIVATING",
            Self::Stopping => "STOPPING",
            Self::Deprovisioning => "DEPROVISIONING",
            Self::Stopped => "STOPPED",
            Self::Deleted => "DELETED",
            Self::Other(s) => s,
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "PROVISIONING" => Self::Provisioning,
            "PENDING" => Self::Pending,
            "ACTIVATING" => Self::Activating,
            "RUNNING" => Self::Running,
            "DEACTIVATING" => Self::Deactivating,
            "STOPPING" => Self::Stopping,
            "DEPROVISIONING" => Self::Deprovisioning,
            "STOPPED" => Self::Stopped,
            "DELETED" => Self::Deleted,
            other => Self::Other(other.to_string()),
        }
    }

    /// Still on its way to RUNNING: the start budget applies.
    pub fn before_running(&self) -> bool {
        matches!(self, Self::Provisioning | Self::Pending | Self::Activating)
    }
}

impl From<String> for LastStatus {
    fn from(s: String) -> Self {
        Self::parse(&s)
    }
}

impl From<LastStatus> for String {
    fn from(status: LastStatus) -> Self {
        match status {
            LastStatus::Other(s) => s,
            known => known.as_str().to_string(),
        }
    }
}

impl std::fmt::Display for LastStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A task as DescribeTasks reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskState {
    pub task_arn: String,
    /// The `startedBy` RunTask was given.
    pub started_by: Option<String>,
    pub last_status: LastStatus,
    pub desired_status: Option<LastStatus>,
    pub stop_code: Option<String>,
    pub stopped_reason: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub stopped_at: Option<DateTime<Utc>>,
    pub containers: Vec<ContainerState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerState {
    pub name: String,
    pub last_status: Option<LastStatus>,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
}

/// DescribeTasks found the task, or reported it in `failures[]` (reason `MISSING`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskLookup {
    Found(TaskState),
    Missing { reason: String },
}

/// ListTasks' `desiredStatus` filter. ECS lists only tasks whose desiredStatus is RUNNING when
/// none is given, so a task already told to stop is invisible to a plain ListTasks while it
/// drains (Amazon ECS API Reference, ListTasks: "The default status filter is RUNNING";
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DesiredStatus {
    Running,
    Stopped,
}

impl DesiredStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Stopped => "STOPPED",
        }
    }

    /// Whether a task whose `desiredStatus` is `desired` passes this filter.
    pub fn matches(self, desired: Option<&LastStatus>) -> bool {
        let stopped = desired == Some(&LastStatus::Stopped);
        match self {
            Self::Running => !stopped,
            Self::Stopped => stopped,
        }
    }
}

/// StopTask's message for a task ECS does not know, in an InvalidParameterException (Amazon
/// ECS API Reference, StopTask, Errors;
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_StopTask.html). ECS answers
/// it for a task that stopped long ago, one of another cluster, and one RunTask started a moment
/// ago that ECS does not show yet (eventual consistency): it proves nothing about the task.
pub const TASK_NOT_FOUND: &str = "The referenced task was not found.";

/// How long ECS keeps a STOPPED task describable and listed: "at least one hour" (Amazon ECS
/// API Reference, ListTasks and DescribeTasks;
/// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html). After it
/// the task is MISSING.
pub const STOPPED_TASK_RETENTION: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// Whether StopTask failed because ECS does not know the task ([`TASK_NOT_FOUND`]).
pub fn is_task_not_found(err: &AwsError) -> bool {
    matches!(
        err.code.as_deref(),
        Some("InvalidParameterException" | "ClientException")
    ) && err.message.to_ascii_lowercase().contains("not found")
}

/// Which tasks a ListTasks page asks for: ECS lists one desired status at a time (RUNNING
/// when none is given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskQuery {
    pub started_by: Option<String>,
    pub desired_status: DesiredStatus,
}

/// One ListTasks page: the ARNs and the token of the next page, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskPage {
    pub task_arns: Vec<String>,
    pub next_token: Option<String>,
}

/// A task as DescribeTasks with `include=TAGS` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedTask {
    pub state: TaskState,
    pub tags: Vec<(String, String)>,
}

impl TaggedTask {
    pub(crate) fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[async_trait]
pub trait Ecs: Send + Sync {
    /// ecs:DescribeTaskDefinition; `None` when there is no such task definition.
    async fn describe_task_definition(
        &self,
        task_definition: &str,
    ) -> Result<Option<TaskDefinition>, AwsError>;

    /// ecs:RunTask (with tags, which ECS also authorizes as ecs:TagResource).
    async fn run_task(&self, params: &RunTaskParams) -> Result<RunTaskOutcome, AwsError>;

    /// ecs:DescribeTasks for one task.
    async fn describe_task(&self, cluster: &str, task_arn: &str) -> Result<TaskLookup, AwsError>;

    /// ecs:StopTask. A task already stopping or STOPPED is not an error; a task ECS does not
    /// know is ([`TASK_NOT_FOUND`], see [`is_task_not_found`]): the caller decides what that
    /// proves.
    async fn stop_task(&self, cluster: &str, task_arn: &str, reason: &str) -> Result<(), AwsError>;

    /// ecs:ListTasks: the cluster's tasks that carry this `startedBy` and whose desiredStatus
    /// is `desired`.
    async fn list_tasks(
        &self,
        cluster: &str,
        started_by: &str,
        desired: DesiredStatus,
    ) -> Result<Vec<String>, AwsError>;

    /// ecs:ListTasks as ECS answers it without `desiredStatus`: the tasks ECS still wants
    /// RUNNING (not those being stopped).
    async fn list_tasks_started_by(
        &self,
        cluster: &str,
        started_by: &str,
    ) -> Result<Vec<String>, AwsError> {
        self.list_tasks(cluster, started_by, DesiredStatus::Running)
            .await
    }

    /// Waits before the next DescribeTasks. ECS has no push notification, so this sleeps the
    /// poll interval; a runner that sees its tasks stop (the local one) returns at once then.
    /// One page (up to 100 ARNs) of the cluster's tasks whose desired status is `desired`,
    /// optionally only those `started_by` names (ListTasks; "ListTasks", ECS API Reference:
    /// docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html), and the token of
    /// the next page. Backends that cannot list (the local runner) say so.
    async fn list_tasks_page(
        &self,
        _cluster: &str,
        _query: &TaskQuery,
        _next_token: Option<&str>,
    ) -> Result<TaskPage, AwsError> {
        Err(AwsError::permanent(
            "ecs:ListTasks",
            None,
            "this ECS backend cannot list a cluster's tasks",
        ))
    }

    /// Up to 100 tasks with their tags (DescribeTasks with `include=TAGS`); tasks ECS no longer
    /// knows are left out.
    async fn describe_tagged(
        &self,
        _cluster: &str,
        _task_arns: &[String],
    ) -> Result<Vec<TaggedTask>, AwsError> {
        Err(AwsError::permanent(
            "ecs:DescribeTasks",
            None,
            "this ECS backend cannot describe tasks with their tags",
        ))
    }

    async fn wait_for_change(&self, clock: &dyn Clock, _task_arn: &str, interval: Duration) {
        clock.sleep(interval).await;
    }
}
