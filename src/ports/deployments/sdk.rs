//! The aws-sdk-ecs adapter of the deployment port.

use async_trait::async_trait;
use aws_sdk_ecs::types as sdk;
use chrono::{DateTime, Utc};

use super::*;
use crate::ports::AwsError;

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
            lifecycle_stage: d.lifecycle_stage().map(|s| s.as_str().to_string()),
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
