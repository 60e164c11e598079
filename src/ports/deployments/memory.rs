//! The in-memory deployment double, as strict as the API reference.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::*;
use crate::common::clock::Clock;
use crate::common::sync::lock;
use crate::ports::AwsError;

/// An answer the double was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedAnswer {
    pub(crate) deployment_arn: String,
    pub(crate) hook_id: String,
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

    /// What ECS does on its own: a hook's timeout (the unit tests' way to set it directly).
    #[cfg(test)]
    pub(crate) fn set_hook_status(&self, deployment_arn: &str, hook_id: &str, status: &str) {
        let mut state = self.lock();
        if let Some(hook) = state
            .deployments
            .get_mut(deployment_arn)
            .and_then(|d| d.hooks.iter_mut().find(|h| h.hook_id == hook_id))
        {
            hook.status = status.to_string();
        }
    }

    /// Every accepted ContinueServiceDeployment, in order.
    pub fn answers(&self) -> Vec<RecordedAnswer> {
        self.lock().answers.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        // A panic elsewhere while holding the lock leaves plain data behind: keep using it.
        let mut state = lock(&self.state);
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
        let double = MemoryDeployments::default();
        double.add_deployment(ServiceDeployment {
            arn: ARN.into(),
            service_arn: None,
            cluster_arn: None,
            status: "IN_PROGRESS".into(),
            status_reason: None,
            target_revision_arn: None,
            lifecycle_stage: None,
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
