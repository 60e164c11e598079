//! The ECS deployment seam: the three calls a migration inside a service deployment makes
//! (DescribeServiceDeployments, DescribeServiceRevisions, ContinueServiceDeployment), as a
//! trait over domain values, with the aws-sdk-ecs adapter and an in-memory double as strict as
//! the API reference. Kept apart from [`crate::ecs::Ecs`]: a migration not started by a
//! deployment never calls these.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_ecs::types as sdk;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::aws::AwsError;
use crate::clock::Clock;

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
pub const HOOK_SUCCEEDED: &str = "SUCCEEDED";
pub const HOOK_FAILED: &str = "FAILED";
pub const HOOK_TIMED_OUT: &str = "TIMED_OUT";

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
    pub hooks: Vec<HookState>,
}

impl ServiceDeployment {
    /// Still on its way: a hook of it may be waiting for an answer.
    pub fn in_progress(&self) -> bool {
        matches!(self.status.as_str(), "PENDING" | "IN_PROGRESS")
    }

    pub fn hook(&self, hook_id: &str) -> Option<&HookState> {
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

/// The aws-sdk-ecs adapter.
pub struct SdkDeployments {
    client: aws_sdk_ecs::Client,
}

impl SdkDeployments {
    pub fn new(client: aws_sdk_ecs::Client) -> Self {
        Self { client }
    }
}

fn timestamp(t: Option<&aws_sdk_ecs::primitives::DateTime>) -> Option<DateTime<Utc>> {
    let t = t?;
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// `failures[]` entries other than MISSING are the caller's problem (access, a malformed ARN):
/// an error, not "no such deployment".
fn failure_error(operation: &'static str, failures: &[sdk::Failure]) -> Option<AwsError> {
    let failure = failures.iter().find(|f| f.reason() != Some("MISSING"))?;
    Some(AwsError::permanent(
        operation,
        failure.reason(),
        failure.detail().unwrap_or_default(),
    ))
}

#[async_trait]
impl Deployments for SdkDeployments {
    async fn describe_deployment(&self, arn: &str) -> Result<Option<ServiceDeployment>, AwsError> {
        const OP: &str = "ecs:DescribeServiceDeployments";
        let out = self
            .client
            .describe_service_deployments()
            .service_deployment_arns(arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        let found = out
            .service_deployments()
            .iter()
            .find(|d| d.service_deployment_arn() == Some(arn));
        let Some(d) = found else {
            return match failure_error(OP, out.failures()) {
                Some(err) => Err(err),
                None => Ok(None),
            };
        };
        Ok(Some(ServiceDeployment {
            arn: arn.to_string(),
            service_arn: d.service_arn().map(str::to_string),
            cluster_arn: d.cluster_arn().map(str::to_string),
            status: d
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            status_reason: d.status_reason().map(str::to_string),
            target_revision_arn: d
                .target_service_revision()
                .and_then(|r| r.arn().map(str::to_string)),
            hooks: d
                .lifecycle_hook_details()
                .iter()
                .filter_map(|h| {
                    Some(HookState {
                        hook_id: h.hook_id()?.to_string(),
                        target_type: h.target_type().map(|t| t.as_str().to_string()),
                        status: h
                            .status()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default(),
                        expires_at: timestamp(h.expires_at()),
                        timeout_action: h.timeout_action().and_then(|a| match a {
                            sdk::DeploymentLifecycleHookAction::Continue => {
                                Some(HookAction::Continue)
                            }
                            sdk::DeploymentLifecycleHookAction::Rollback => {
                                Some(HookAction::Rollback)
                            }
                            _ => None,
                        }),
                    })
                })
                .collect(),
        }))
    }

    async fn describe_revision(&self, arn: &str) -> Result<Option<ServiceRevision>, AwsError> {
        const OP: &str = "ecs:DescribeServiceRevisions";
        let out = self
            .client
            .describe_service_revisions()
            .service_revision_arns(arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk(OP, e))?;
        let found = out
            .service_revisions()
            .iter()
            .find(|r| r.service_revision_arn() == Some(arn));
        let Some(r) = found else {
            return match failure_error(OP, out.failures()) {
                Some(err) => Err(err),
                None => Ok(None),
            };
        };
        let Some(task_definition) = r.task_definition() else {
            // A revision always names its task definition; one without is not usable.
            return Ok(None);
        };
        Ok(Some(ServiceRevision {
            arn: arn.to_string(),
            task_definition: task_definition.to_string(),
            images: r
                .container_images()
                .iter()
                .map(|i| PinnedImage {
                    container: i.container_name().unwrap_or_default().to_string(),
                    image: i.image().map(str::to_string),
                    digest: i.image_digest().map(str::to_string),
                })
                .collect(),
        }))
    }

    async fn continue_deployment(
        &self,
        arn: &str,
        hook_id: &str,
        action: HookAction,
    ) -> Result<(), AwsError> {
        let action = match action {
            HookAction::Continue => sdk::DeploymentLifecycleHookAction::Continue,
            HookAction::Rollback => sdk::DeploymentLifecycleHookAction::Rollback,
        };
        self.client
            .continue_service_deployment()
            .service_deployment_arn(arn)
            .hook_id(hook_id)
            .action(action)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ecs:ContinueServiceDeployment", e))?;
        Ok(())
    }
}

/// An answer the double was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedAnswer {
    pub deployment_arn: String,
    pub hook_id: String,
    pub action: HookAction,
}

/// A stand-in for ECS's deployments, for `ecs-migrate local` and the tests, as strict as the API
/// reference (Amazon ECS API Reference: ContinueServiceDeployment, DescribeServiceDeployments,
/// DescribeServiceRevisions, DeploymentLifecycleHookDetail):
/// - an unknown deployment is a `failures[]` MISSING on describe and
///   `ServiceDeploymentNotFoundException` on continue;
/// - only a hook whose status is AWAITING_ACTION, of a deployment still in progress, may be
///   answered; anything else is refused (`InvalidParameterException`; ECS's wording for this
///   case is not documented, so nothing may depend on the message);
/// - CONTINUE makes the hook SUCCEEDED; ROLLBACK makes it FAILED and the deployment
///   ROLLBACK_IN_PROGRESS;
/// - given a clock, a hook still waiting at its `expiresAt` becomes TIMED_OUT and ECS takes its
///   timeout action (DeploymentLifecycleHookDetail: "If the hook has not been completed by this
///   time, Amazon ECS takes the timeout action").
#[derive(Default)]
pub struct MemoryDeployments {
    state: Mutex<MemoryState>,
    clock: Option<std::sync::Arc<dyn Clock>>,
}

#[derive(Default)]
struct MemoryState {
    deployments: HashMap<String, ServiceDeployment>,
    revisions: HashMap<String, ServiceRevision>,
    answers: Vec<RecordedAnswer>,
}

impl MemoryDeployments {
    pub fn new() -> Self {
        Self::default()
    }

    /// Hooks time out by this clock.
    pub fn with_clock(clock: std::sync::Arc<dyn Clock>) -> Self {
        Self {
            state: Mutex::default(),
            clock: Some(clock),
        }
    }

    pub fn add_deployment(&self, deployment: ServiceDeployment) {
        self.lock()
            .deployments
            .insert(deployment.arn.clone(), deployment);
    }

    pub fn add_revision(&self, revision: ServiceRevision) {
        self.lock().revisions.insert(revision.arn.clone(), revision);
    }

    /// What ECS does on its own: a hook's timeout, a deployment finished by hand.
    pub fn set_hook_status(&self, deployment_arn: &str, hook_id: &str, status: &str) {
        let mut state = self.lock();
        if let Some(hook) = state
            .deployments
            .get_mut(deployment_arn)
            .and_then(|d| d.hooks.iter_mut().find(|h| h.hook_id == hook_id))
        {
            hook.status = status.to_string();
        }
    }

    pub fn set_deployment_status(&self, deployment_arn: &str, status: &str) {
        if let Some(d) = self.lock().deployments.get_mut(deployment_arn) {
            d.status = status.to_string();
        }
    }

    /// Every accepted ContinueServiceDeployment, in order.
    pub fn answers(&self) -> Vec<RecordedAnswer> {
        self.lock().answers.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        // A panic elsewhere while holding the lock leaves plain data behind: keep using it.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(clock) = &self.clock {
            state.expire_hooks(clock.now());
        }
        state
    }
}

impl MemoryState {
    fn expire_hooks(&mut self, now: DateTime<Utc>) {
        for deployment in self.deployments.values_mut() {
            let mut roll_back = false;
            for hook in &mut deployment.hooks {
                let due = hook.expires_at.is_some_and(|at| at <= now);
                if due && hook.status == HOOK_AWAITING_ACTION {
                    hook.status = HOOK_TIMED_OUT.to_string();
                    roll_back |= hook.timeout_action == Some(HookAction::Rollback);
                }
            }
            if roll_back && deployment.in_progress() {
                deployment.status = "ROLLBACK_IN_PROGRESS".to_string();
            }
        }
    }
}

#[async_trait]
impl Deployments for MemoryDeployments {
    async fn describe_deployment(&self, arn: &str) -> Result<Option<ServiceDeployment>, AwsError> {
        Ok(self.lock().deployments.get(arn).cloned())
    }

    async fn describe_revision(&self, arn: &str) -> Result<Option<ServiceRevision>, AwsError> {
        Ok(self.lock().revisions.get(arn).cloned())
    }

    async fn continue_deployment(
        &self,
        arn: &str,
        hook_id: &str,
        action: HookAction,
    ) -> Result<(), AwsError> {
        const OP: &str = "ecs:ContinueServiceDeployment";
        let mut state = self.lock();
        let Some(deployment) = state.deployments.get_mut(arn) else {
            return Err(AwsError::permanent(
                OP,
                Some("ServiceDeploymentNotFoundException"),
                format!("service deployment {arn} not found"),
            ));
        };
        if !deployment.in_progress() {
            return Err(AwsError::permanent(
                OP,
                Some("InvalidParameterException"),
                format!("service deployment {arn} is {}", deployment.status),
            ));
        }
        let Some(hook) = deployment.hooks.iter_mut().find(|h| h.hook_id == hook_id) else {
            return Err(AwsError::permanent(
                OP,
                Some("InvalidParameterException"),
                format!("hook {hook_id} not found in service deployment {arn}"),
            ));
        };
        if hook.status != HOOK_AWAITING_ACTION {
            return Err(AwsError::permanent(
                OP,
                Some("InvalidParameterException"),
                format!(
                    "hook {hook_id} is {}, not {HOOK_AWAITING_ACTION}",
                    hook.status
                ),
            ));
        }
        match action {
            HookAction::Continue => hook.status = HOOK_SUCCEEDED.to_string(),
            HookAction::Rollback => {
                hook.status = HOOK_FAILED.to_string();
                deployment.status = "ROLLBACK_IN_PROGRESS".to_string();
            }
        }
        state.answers.push(RecordedAnswer {
            deployment_arn: arn.to_string(),
            hook_id: hook_id.to_string(),
            action,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/app/d1";

    fn awaiting() -> MemoryDeployments {
        let double = MemoryDeployments::new();
        double.add_deployment(ServiceDeployment {
            arn: ARN.into(),
            service_arn: None,
            cluster_arn: None,
            status: "IN_PROGRESS".into(),
            status_reason: None,
            target_revision_arn: None,
            hooks: vec![HookState {
                hook_id: "h1".into(),
                target_type: Some("PAUSE".into()),
                status: HOOK_AWAITING_ACTION.into(),
                expires_at: None,
                timeout_action: None,
            }],
        });
        double
    }

    #[tokio::test]
    async fn the_double_takes_one_answer_per_hook_and_refuses_the_rest() {
        let double = awaiting();
        double
            .continue_deployment(ARN, "h1", HookAction::Continue)
            .await
            .unwrap();
        let again = double
            .continue_deployment(ARN, "h1", HookAction::Rollback)
            .await
            .unwrap_err();
        assert_eq!(again.code.as_deref(), Some("InvalidParameterException"));
        let unknown = double
            .continue_deployment("arn:other", "h1", HookAction::Continue)
            .await
            .unwrap_err();
        assert_eq!(
            unknown.code.as_deref(),
            Some("ServiceDeploymentNotFoundException")
        );
        assert_eq!(double.answers().len(), 1);
        let d = double.describe_deployment(ARN).await.unwrap().unwrap();
        assert_eq!(d.hook("h1").unwrap().status, HOOK_SUCCEEDED);
    }

    #[tokio::test]
    async fn a_timed_out_hook_or_a_rolled_back_deployment_takes_no_answer() {
        let double = awaiting();
        double.set_hook_status(ARN, "h1", HOOK_TIMED_OUT);
        assert!(double
            .continue_deployment(ARN, "h1", HookAction::Continue)
            .await
            .is_err());
        let double = awaiting();
        double
            .continue_deployment(ARN, "h1", HookAction::Rollback)
            .await
            .unwrap();
        let d = double.describe_deployment(ARN).await.unwrap().unwrap();
        assert!(!d.in_progress());
        assert_eq!(d.hook("h1").unwrap().status, HOOK_FAILED);
    }
}
