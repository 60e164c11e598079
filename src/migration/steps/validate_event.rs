//! validate-event: from the execution input to a checked, resolved [`MigrationRequest`].

use crate::common::digest::hex_digest;
use crate::migration::tasks::started_by_for_execution;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::StepEnv;
use crate::common::clock::later_by;
use crate::common::error::{ErrorKind, MigrationError};
use crate::migration::event::{check_allowed, parse_input, parse_taskdef, TaskDefRef};
use crate::migration::execution::{client_token, idempotency_key};
use crate::migration::hook_event::{
    arn_name, check_configured_service, parse_hook_event, HookEvent, HookType,
};
use crate::migration::settings::Settings;
use crate::migration::{DeploymentRef, ExecutionContext, MigrationRequest};
use crate::ports::deployments::ServiceDeployment;
use crate::ports::deployments::{HOOK_FAILED, HOOK_TIMED_OUT};
use crate::ports::ecs::{ContainerDefinition, TaskDefinition};
use crate::ports::AwsError;
use chrono::{DateTime, Utc};

/// What the state machine passes: the execution input and `$$.Execution`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidateEventInput {
    pub event: Value,
    #[serde(default)]
    pub execution: ExecutionContext,
}

/// Checks the input, the allow-list, the account and region, the task definition and its
/// container, and the time budget; computes the deadline, `startedBy` and the client token.
pub async fn validate_event(
    env: &StepEnv<'_>,
    input: ValidateEventInput,
) -> Result<MigrationRequest, MigrationError> {
    let settings = env.settings;
    // A hook event names a deployment, not a task definition: its target revision's.
    let (taskdef, event_id, deployment) = match parse_hook_event(&input.event) {
        Some(hook) => {
            let hook = hook?;
            let (taskdef, deployment) = resolve_hook(env, &hook).await?;
            (taskdef, hook.event_id, Some(deployment))
        }
        None => {
            let parsed = parse_input(&input.event)?;
            (parsed.task_definition, parsed.event_id, None)
        }
    };
    let taskdef = &taskdef;

    check_allowed(settings, taskdef)?;
    let (definition, container) = describe_checked(env, taskdef).await?;
    let started_at = input
        .execution
        .start_time
        .unwrap_or_else(|| env.clock.now());
    let deadline = later_by(started_at, settings.max_duration);
    let (client_token, started_by) = identity(&input, &definition.arn, started_at);
    if container.log.is_none() {
        tracing::warn!(container = %container.name, "the migration container has no logConfiguration: failures will carry no log tail");
    }

    Ok(MigrationRequest {
        taskdef_arn: definition.arn.clone(),
        family: definition.family.clone(),
        revision: definition.revision,
        cluster: settings.cluster.clone(),
        container: container.name.clone(),
        command: settings.command.clone(),
        client_token,
        started_by,
        execution_name: input.execution.name.clone(),
        execution_id: input.execution.id.clone(),
        event_id,
        started_at,
        deadline,
        log: container.log.clone(),
        deployment,
    })
}

/// The task definition as ECS resolves it, of the allowed family, with the migration container
/// (and a network for awsvpc).
async fn describe_checked(
    env: &StepEnv<'_>,
    taskdef: &TaskDefRef,
) -> Result<(TaskDefinition, ContainerDefinition), MigrationError> {
    let settings = env.settings;
    let Some(definition) = env
        .ecs
        .describe_task_definition(&taskdef.raw)
        .await
        .map_err(|e| describe_error(&taskdef.raw, e))?
    else {
        return Err(MigrationError::new(ErrorKind::TaskDefinitionNotFound, format!(
            "task definition {:?} does not exist (or is not visible to this account and region); register it first or check the revision",
            taskdef.raw
        )));
    };
    // The family ECS resolved must be the one the allow-list passed.
    if definition.family != taskdef.family {
        return Err(MigrationError::new(
            ErrorKind::NotAllowed,
            format!(
                "{:?} resolved to family {:?}, not {:?}",
                taskdef.raw, definition.family, taskdef.family
            ),
        ));
    }
    let Some(container) = definition
        .containers
        .iter()
        .find(|c| c.name == settings.container)
        .cloned()
    else {
        let names: Vec<&str> = definition
            .containers
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        return Err(MigrationError::new(
            ErrorKind::ContainerNotFound,
            format!(
                "container {:?} (setting CONTAINER_NAME) is not in task definition {}; it has: {}",
                settings.container,
                definition.arn,
                names.join(", ")
            ),
        ));
    };
    if definition.network_mode.as_deref() == Some("awsvpc") && settings.network.is_none() {
        return Err(MigrationError::new(ErrorKind::Misconfigured, format!(
            "task definition {} uses awsvpc networking but setting SUBNETS is not set; set SUBNETS (and SECURITY_GROUPS) to where the migration task should run",
            definition.arn
        )));
    }
    Ok((definition, container))
}

/// RunTask's client token and `startedBy` for this execution (redelivered events and retried
/// invocations get the same token).
fn identity(
    input: &ValidateEventInput,
    definition_arn: &str,
    started_at: DateTime<Utc>,
) -> (String, String) {
    // A redelivered event repeats its id, and a retried Lambda repeats the execution: either way
    // the token is the same, so ECS returns the first task instead of starting a second one.
    // A hook runs one migration whatever event or execution carries it: its key is the hook's.
    let key = idempotency_key(
        Some(&input.event),
        input.execution.name.as_deref(),
        input.execution.id.as_deref(),
    );
    let client_token = match key {
        Some(key) => client_token(Some(&key), definition_arn),
        None => hex_digest(
            &["client-token", definition_arn, &started_at.to_rfc3339()],
            64,
        ),
    };
    let started_by = match input
        .execution
        .id
        .as_deref()
        .or(input.execution.name.as_deref())
    {
        Some(execution) => started_by_for_execution(execution),
        None => started_by_for_execution(&client_token),
    };
    (client_token, started_by)
}

/// From a hook event to the task definition its deployment rolls out: the service must be one
/// this deployment serves, in its cluster, and the deployment still waiting on the hook.
async fn resolve_hook(
    env: &StepEnv<'_>,
    hook: &HookEvent,
) -> Result<(TaskDefRef, DeploymentRef), MigrationError> {
    let settings = env.settings;
    check_configured_service(settings, hook)?;
    let arn = &hook.service_deployment_arn;
    let Some(deployment) = env
        .deployments
        .describe_deployment(arn)
        .await
        .map_err(|e| deployment_error("describe service deployment", arn, e))?
    else {
        return Err(MigrationError::new(
            ErrorKind::TaskDefinitionNotFound,
            format!(
            "service deployment {arn} does not exist (or is not visible to this account and region)"
        ),
        ));
    };
    check_deployment(settings, hook, &deployment)?;
    check_hook_waits(settings, hook, &deployment)?;
    let Some(revision_arn) = deployment.target_revision_arn.clone() else {
        return Err(MigrationError::new(
            ErrorKind::TaskDefinitionNotFound,
            format!("service deployment {arn} names no target service revision"),
        ));
    };
    let Some(revision) = env
        .deployments
        .describe_revision(&revision_arn)
        .await
        .map_err(|e| deployment_error("describe service revision", &revision_arn, e))?
    else {
        return Err(MigrationError::new(ErrorKind::TaskDefinitionNotFound, format!(
            "service revision {revision_arn}, the target of service deployment {arn}, does not exist"
        )));
    };
    let taskdef = parse_taskdef(
        &revision.task_definition,
        "the target revision's taskDefinition",
    )?;
    Ok((
        taskdef,
        DeploymentRef {
            hook_type: hook.hook_type,
            hook_id: hook.hook_id.clone(),
            service_deployment_arn: arn.clone(),
            service_arn: hook.service_arn.clone(),
            lifecycle_stage: hook.lifecycle_stage.clone(),
            target_revision_arn: revision_arn,
            images: revision.images,
        },
    ))
}

/// The deployment is the event's service's, in this cluster, and still on its way.
fn check_deployment(
    settings: &Settings,
    hook: &HookEvent,
    deployment: &ServiceDeployment,
) -> Result<(), MigrationError> {
    let arn = &deployment.arn;
    if deployment
        .service_arn
        .as_deref()
        .is_some_and(|s| s != hook.service_arn)
    {
        return Err(MigrationError::new(
            ErrorKind::NotAllowed,
            format!(
                "service deployment {arn} belongs to {}, not to the event's service {}",
                deployment.service_arn.as_deref().unwrap_or_default(),
                hook.service_arn
            ),
        ));
    }
    if deployment
        .cluster_arn
        .as_deref()
        .is_some_and(|c| arn_name(c) != arn_name(&settings.cluster))
    {
        return Err(MigrationError::new(
            ErrorKind::NotAllowed,
            format!(
                "service deployment {arn} is in cluster {}, not {} (setting CLUSTER)",
                deployment.cluster_arn.as_deref().unwrap_or_default(),
                settings.cluster
            ),
        ));
    }
    if !deployment.in_progress() {
        return Err(MigrationError::new(ErrorKind::HookNotAwaiting, format!(
            "service deployment {arn} is already {}{}: its hook waits for no answer, so no migration runs for it",
            deployment.status,
            deployment
                .status_reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        )));
    }
    Ok(())
}

/// The event's hook is one this deployment was configured for: listed in the deployment, of
/// target type PAUSE (for a pause hook event), at a stage in DEPLOYMENT_HOOK_STAGES that is the
/// deployment's current one, and not answered or expired.
fn check_hook_waits(
    settings: &Settings,
    hook: &HookEvent,
    deployment: &ServiceDeployment,
) -> Result<(), MigrationError> {
    let arn = &deployment.arn;
    let not_allowed = |why: String| {
        Err(MigrationError::new(
            ErrorKind::NotAllowed,
            format!("hook {} of service deployment {arn}: {why}", hook.hook_id),
        ))
    };
    let Some(state) = deployment.hook(&hook.hook_id) else {
        return not_allowed("the deployment lists no such hook".into());
    };
    // An answered or expired hook: the deployment went on (or back) without this migration.
    // SUCCEEDED passes: the execution that answered it holds the RunTask token, so this one
    // ends as a duplicate.
    if state.status == HOOK_TIMED_OUT || state.status == HOOK_FAILED {
        return Err(MigrationError::new(
            ErrorKind::HookNotAwaiting,
            format!(
                "hook {} of service deployment {arn} is already {}: no migration runs for it",
                hook.hook_id, state.status
            ),
        ));
    }
    if hook.hook_type != HookType::Pause {
        return Ok(());
    }
    if state.target_type.as_deref().is_some_and(|t| t != "PAUSE") {
        return not_allowed(format!(
            "its target type is {}, not PAUSE",
            state.target_type.as_deref().unwrap_or_default()
        ));
    }
    let stage = hook.lifecycle_stage.as_deref().unwrap_or_default();
    if !settings.deployment_hook_stages.iter().any(|s| s == stage) {
        return not_allowed(format!(
            "stage {stage:?} is not one whose hooks run migrations here: [{}] (setting DEPLOYMENT_HOOK_STAGES)",
            settings.deployment_hook_stages.join(", ")
        ));
    }
    match deployment.lifecycle_stage.as_deref() {
        Some(current) if current != stage => not_allowed(format!(
            "the deployment is at stage {current}, not at the event's {stage}"
        )),
        _ => Ok(()),
    }
}

fn deployment_error(what: &str, arn: &str, err: AwsError) -> MigrationError {
    if err.transient {
        MigrationError::new(ErrorKind::AwsTransient, format!("{what} {arn}: {err}"))
    } else if err.is_access_denied() {
        MigrationError::new(
            ErrorKind::Misconfigured,
            format!(
                "validate-event may not {what} {arn} ({err}); grant its role {}",
                err.operation
            ),
        )
    } else {
        MigrationError::new(
            ErrorKind::TaskDefinitionNotFound,
            format!("could not {what} {arn}: {err}"),
        )
    }
}

fn describe_error(taskdef: &str, err: AwsError) -> MigrationError {
    if err.transient {
        MigrationError::new(
            ErrorKind::AwsTransient,
            format!("describing task definition {taskdef:?}: {err}"),
        )
    } else if err.is_access_denied() {
        MigrationError::new(ErrorKind::Misconfigured, format!(
            "validate-event may not describe task definition {taskdef:?} ({err}); grant its role ecs:DescribeTaskDefinition"
        ))
    } else {
        MigrationError::new(
            ErrorKind::TaskDefinitionNotFound,
            format!("task definition {taskdef:?} could not be described: {err}"),
        )
    }
}
