//! `ecs-migrate local --event hook-event.json`: the deployment a pause hook event names, stood
//! in for by the in-memory deployment double, whose target revision is the task definition
//! file. It records the answer the state machine gives the hook, and says it.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::common::clock::SystemClock;
use crate::local::LocalTaskDefinition;
use crate::migration::hook_event::{arn_name, HookEvent};
use crate::migration::settings::Settings;
use crate::ports::deployments::{
    HookState, MemoryDeployments, ServiceDeployment, ServiceRevision, HOOK_AWAITING_ACTION,
};

/// The deployment paused at the event's hook, rolling out `taskdef`.
pub(crate) fn paused_deployment(
    hook: &HookEvent,
    taskdef: &LocalTaskDefinition,
) -> Arc<MemoryDeployments> {
    let revision_arn = format!("{}/local-target-revision", hook.service_deployment_arn);
    let deployments = MemoryDeployments::with_clock(Arc::new(SystemClock));
    deployments.add_deployment(ServiceDeployment {
        arn: hook.service_deployment_arn.clone(),
        service_arn: Some(hook.service_arn.clone()),
        cluster_arn: Some(hook.cluster_arn.clone()),
        status: "IN_PROGRESS".to_string(),
        status_reason: None,
        target_revision_arn: Some(revision_arn.clone()),
        lifecycle_stage: hook.lifecycle_stage.clone(),
        hooks: vec![HookState {
            hook_id: hook.hook_id.clone(),
            target_type: Some("PAUSE".to_string()),
            status: HOOK_AWAITING_ACTION.to_string(),
            // A hook that expires during the run times out here too (its timeout action is
            // not in the event, so the deployment stays as it is).
            expires_at: hook
                .expires_at
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
            timeout_action: None,
        }],
    });
    deployments.add_revision(ServiceRevision {
        arn: revision_arn,
        task_definition: taskdef
            .registered
            .as_ref()
            .map_or_else(|| taskdef.family.clone(), |r| r.arn.clone()),
        images: Vec::new(),
    });
    Arc::new(deployments)
}

/// The settings for a hook event: the event's service is the one configured, in its cluster.
pub(crate) fn hook_settings(mut settings: Settings, hook: &HookEvent) -> Settings {
    settings.deployment_services = vec![arn_name(&hook.service_arn).to_string()];
    settings.cluster = hook.cluster_arn.clone();
    settings
}

/// What the run told the deployment, for the terminal.
pub(crate) fn answer_line(hook: &HookEvent, deployments: &MemoryDeployments) -> String {
    let service = arn_name(&hook.service_arn);
    match deployments.answers().last() {
        Some(answer) => format!(
            "deployment of {service}: answered {} to hook {} (local deployment double)",
            answer.action.as_str(),
            hook.hook_id
        ),
        None => format!(
            "deployment of {service}: hook {} got no answer (local deployment double)",
            hook.hook_id
        ),
    }
}
