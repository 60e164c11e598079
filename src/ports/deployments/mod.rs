//! The ECS deployment seam: the three calls a migration inside a service deployment makes
//! (DescribeServiceDeployments, DescribeServiceRevisions, ContinueServiceDeployment), as a
//! trait over domain values, with the aws-sdk-ecs adapter and an in-memory double as strict as
//! the API reference. Kept apart from [`crate::ports::ecs::Ecs`]: a migration not started by a
//! deployment never calls these.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ports::AwsError;

mod memory;
mod sdk;

pub use memory::{DeploymentCall, MemoryDeployments, RecordedAnswer};
pub use sdk::SdkDeployments;

/// What a hook is waiting for, as `ContinueServiceDeployment`'s `action` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HookAction {
    Continue,
    Rollback,
}

impl HookAction {
    pub fn as_str(self) -> &'static str {
        match self {
            HookAction::Continue => "CONTINUE",
            HookAction::Rollback => "ROLLBACK",
        }
    }
}

/// A lifecycle hook's status (API Reference, DeploymentLifecycleHookDetail `status`:
/// AWAITING_ACTION | IN_PROGRESS | SUCCEEDED | FAILED | TIMED_OUT).
pub const HOOK_AWAITING_ACTION: &str = "AWAITING_ACTION";
pub(crate) const HOOK_SUCCEEDED: &str = "SUCCEEDED";
pub(crate) const HOOK_FAILED: &str = "FAILED";
pub(crate) const HOOK_TIMED_OUT: &str = "TIMED_OUT";

/// A hook of a service deployment, as `lifecycleHookDetails` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookState {
    pub hook_id: String,
    /// `AWS_LAMBDA` or `PAUSE`.
    #[serde(default)]
    pub target_type: Option<String>,
    pub status: String,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
    /// What ECS does at `expires_at`: CONTINUE or ROLLBACK.
    #[serde(default)]
    pub timeout_action: Option<HookAction>,
}

/// A service deployment, as DescribeServiceDeployments reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceDeployment {
    pub arn: String,
    pub service_arn: Option<String>,
    pub cluster_arn: Option<String>,
    /// PENDING | SUCCESSFUL | STOPPED | STOP_REQUESTED | IN_PROGRESS | ROLLBACK_REQUESTED |
    /// ROLLBACK_IN_PROGRESS | ROLLBACK_SUCCESSFUL | ROLLBACK_FAILED (API Reference,
    /// ServiceDeployment `status`).
    pub status: String,
    pub status_reason: Option<String>,
    pub target_revision_arn: Option<String>,
    /// The lifecycle stage the deployment is at (ServiceDeployment `lifecycleStage`), when ECS
    /// says.
    pub lifecycle_stage: Option<String>,
    pub hooks: Vec<HookState>,
}

impl ServiceDeployment {
    /// Still on its way: a hook of it may be waiting for an answer.
    pub(crate) fn in_progress(&self) -> bool {
        matches!(self.status.as_str(), "PENDING" | "IN_PROGRESS")
    }

    pub(crate) fn hook(&self, hook_id: &str) -> Option<&HookState> {
        self.hooks.iter().find(|h| h.hook_id == hook_id)
    }
}

/// An image a service revision resolved: the tag as written and the digest ECS pinned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinnedImage {
    pub container: String,
    pub image: Option<String>,
    pub digest: Option<String>,
}

/// A service revision, as DescribeServiceRevisions reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRevision {
    pub arn: String,
    pub task_definition: String,
    pub images: Vec<PinnedImage>,
}

/// The deployment calls a migration inside a service deployment makes.
#[async_trait]
pub trait Deployments: Send + Sync {
    /// The deployment, or `None` when ECS does not know it (a `failures[]` entry MISSING).
    async fn describe_deployment(&self, arn: &str) -> Result<Option<ServiceDeployment>, AwsError>;

    /// The revision, or `None` when ECS does not know it.
    async fn describe_revision(&self, arn: &str) -> Result<Option<ServiceRevision>, AwsError>;

    /// Answers the hook `hook_id` of deployment `arn`.
    async fn continue_deployment(
        &self,
        arn: &str,
        hook_id: &str,
        action: HookAction,
    ) -> Result<(), AwsError>;
}

/// For processes that serve no deployment (a migration started by hand or by CI): every call
/// fails, saying so; validate-event only calls it for a hook event.
pub struct NoDeployments;

#[async_trait]
impl Deployments for NoDeployments {
    async fn describe_deployment(&self, _: &str) -> Result<Option<ServiceDeployment>, AwsError> {
        Err(not_served("ecs:DescribeServiceDeployments"))
    }
    async fn describe_revision(&self, _: &str) -> Result<Option<ServiceRevision>, AwsError> {
        Err(not_served("ecs:DescribeServiceRevisions"))
    }
    async fn continue_deployment(&self, _: &str, _: &str, _: HookAction) -> Result<(), AwsError> {
        Err(not_served("ecs:ContinueServiceDeployment"))
    }
}

fn not_served(operation: &'static str) -> AwsError {
    AwsError::permanent(operation, None, "this process has no ECS deployment client")
}
