//! report-deployment: answers the pause hook a migration gates, CONTINUE after a migration that
//! succeeded and ROLLBACK after one that failed (its task stopped first), with
//! ContinueServiceDeployment. A hook that no longer waits is reported: after a failure there is
//! nothing left to roll back from here; after a success it is `Migration.HookNotAwaiting`, as
//! the deployment went on (or back) without the migration's answer.

use serde::{Deserialize, Serialize};

use super::StepEnv;
use crate::common::error::{ErrorKind, MigrationError, StateError};
use serde_json::Value;

use crate::migration::execution::{verify_running, VerifiedExecution};
use crate::migration::hook_event::{check_configured_service, parse_hook_event, HookType};
use crate::migration::tasks::{describe, stopped_from_outside};
use crate::migration::{DeploymentAnswer, DeploymentRef, MigrationResult};
use crate::ports::deployments::ServiceDeployment;
use crate::ports::deployments::{HookAction, HOOK_AWAITING_ACTION, HOOK_SUCCEEDED};
use crate::ports::ecs::{LastStatus, TaskLookup};
use crate::ports::AwsError;

/// What the state machine passes: the action, the hook (`$.request.deployment`) and, for a
/// ROLLBACK, the migration's error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportInput {
    pub action: HookAction,
    /// The hook validate-event resolved; absent when validation failed, and the hook is then
    /// the one the execution's own input (as Step Functions keeps it) names.
    #[serde(default)]
    pub deployment: Option<DeploymentRef>,
    #[serde(default)]
    pub error: Option<StateError>,
    /// The execution (`$$.Execution.Id`) that answers, once confirmed RUNNING.
    #[serde(default)]
    pub execution_id: Option<String>,
    /// For a CONTINUE, check-exit-code's result: the task whose exit ECS must confirm.
    #[serde(default)]
    pub result: Option<MigrationResult>,
}

/// The hook of a configured service the execution's input names (an "ECS Hook State Change"
/// event; a Lambda hook's payload is answered by the deployment-hook function).
fn hook_of(
    env: &StepEnv<'_>,
    execution: &VerifiedExecution,
) -> Result<DeploymentRef, MigrationError> {
    let hook = execution
        .input
        .as_deref()
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .and_then(|event| parse_hook_event(&event))
        .and_then(Result::ok)
        .filter(|hook| hook.hook_type == HookType::Pause);
    let Some(hook) = hook else {
        return Err(MigrationError::new(ErrorKind::NotAllowed, format!(
            "execution {} was not started for a deployment's pause hook: there is no hook to answer",
            execution.arn
        )));
    };
    check_configured_service(env.settings, &hook)?;
    Ok(DeploymentRef {
        hook_type: hook.hook_type,
        hook_id: hook.hook_id,
        service_deployment_arn: hook.service_deployment_arn,
        service_arn: hook.service_arn,
        lifecycle_stage: hook.lifecycle_stage,
        target_revision_arn: String::new(),
        images: Vec::new(),
    })
}

/// The hook the verified execution was started for must be the one it answers.
fn check_own_hook(execution: &VerifiedExecution, d: &DeploymentRef) -> Result<(), MigrationError> {
    let hook = execution
        .input
        .as_deref()
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .and_then(|event| parse_hook_event(&event))
        .and_then(Result::ok);
    match hook {
        Some(hook)
            if hook.service_deployment_arn == d.service_deployment_arn
                && hook.hook_id == d.hook_id =>
        {
            Ok(())
        }
        _ => Err(MigrationError::new(ErrorKind::NotAllowed, format!(
            "report-deployment answers only the hook its execution was started for; {} was not started for hook {} of {}",
            execution.arn, d.hook_id, d.service_deployment_arn
        ))),
    }
}

/// CONTINUE only on ECS's word: the task this execution started STOPPED, with the migration
/// container's exit code 0 and no outside stop.
async fn check_success(
    env: &StepEnv<'_>,
    execution: &VerifiedExecution,
    result: Option<&MigrationResult>,
) -> Result<(), MigrationError> {
    let refuse = |why: String| {
        Err(MigrationError::new(
            ErrorKind::TaskStopped,
            format!("report-deployment answers CONTINUE only after a migration ECS shows succeeded: {why}"),
        ))
    };
    let Some(result) = result else {
        return refuse("the input names no migration task".into());
    };
    let TaskLookup::Found(task) = describe(env, &env.settings.cluster, &result.task_arn).await?
    else {
        return refuse(format!("ECS does not show task {}", result.task_arn));
    };
    let exit_code = task
        .containers
        .iter()
        .find(|c| c.name == env.settings.container)
        .and_then(|c| c.exit_code);
    if task.started_by.as_deref() != Some(execution.started_by().as_str()) {
        return refuse(format!(
            "task {} was not started by {}",
            result.task_arn, execution.arn
        ));
    }
    if task.last_status != LastStatus::Stopped || exit_code != Some(0) {
        return refuse(format!(
            "task {} is {}, container {} exit code {exit_code:?}",
            result.task_arn, task.last_status, env.settings.container
        ));
    }
    if stopped_from_outside(task.stop_code.as_deref()) {
        return refuse(format!(
            "task {} was stopped from outside ({})",
            result.task_arn,
            task.stop_code.as_deref().unwrap_or_default()
        ));
    }
    Ok(())
}

pub async fn report_deployment(
    env: &StepEnv<'_>,
    input: ReportInput,
) -> Result<DeploymentAnswer, MigrationError> {
    let execution = verify_running(env, input.execution_id.as_deref(), "report-deployment").await?;
    let d = &match input.deployment.clone() {
        Some(d) => d,
        // Validation failed: roll back the hook the execution was started for, if it is one
        // of a configured service (the deployment's look below says whether it still waits).
        None if input.action == HookAction::Rollback => hook_of(env, &execution)?,
        None => {
            return Err(MigrationError::new(
                ErrorKind::InvalidEvent,
                "report-deployment answers CONTINUE only to the hook validate-event resolved",
            ))
        }
    };
    check_own_hook(&execution, d)?;
    let arn = &d.service_deployment_arn;
    let action = input.action;
    if action == HookAction::Continue {
        check_success(env, &execution, input.result.as_ref()).await?;
    }
    // Look first: a retried invocation finds its own earlier answer, and an expired hook is
    // said in words rather than as ECS's refusal.
    let deployment = env
        .deployments
        .describe_deployment(arn)
        .await
        .map_err(|e| aws_error(arn, e))?;
    let hook_status = deployment
        .as_ref()
        .and_then(|dep| dep.hook(&d.hook_id))
        .map(|h| h.status.clone());
    let waiting = deployment.as_ref().is_some_and(|dep| dep.in_progress())
        && hook_status
            .as_deref()
            .is_none_or(|s| s == HOOK_AWAITING_ACTION);
    if !waiting {
        return not_waiting(action, d, deployment.as_ref(), hook_status);
    }
    env.deployments
        .continue_deployment(arn, &d.hook_id, action)
        .await
        .map_err(|e| aws_error(arn, e))?;
    let message = match &input.error {
        Some(error) => format!(
            "answered {} to hook {} of {arn} after {}",
            action.as_str(),
            d.hook_id,
            error.error
        ),
        None => format!(
            "answered {} to hook {} of {arn}",
            action.as_str(),
            d.hook_id
        ),
    };
    tracing::info!(%message, "deployment hook answered");
    Ok(DeploymentAnswer {
        action,
        answered: true,
        hook_status,
        message,
    })
}

/// The hook no longer waits: a CONTINUE that already went through is what we wanted; any other
/// CONTINUE is `Migration.HookNotAwaiting`; a ROLLBACK has nothing left to do.
fn not_waiting(
    action: HookAction,
    d: &DeploymentRef,
    deployment: Option<&ServiceDeployment>,
    hook_status: Option<String>,
) -> Result<DeploymentAnswer, MigrationError> {
    let arn = &d.service_deployment_arn;
    let state = match (&deployment, &hook_status) {
        (None, _) => "gone (DescribeServiceDeployments does not know it)".to_string(),
        (Some(dep), Some(status)) => format!("{status}, the deployment {}", dep.status),
        (Some(dep), None) => format!("unlisted, the deployment {}", dep.status),
    };
    let message = format!(
        "hook {} of service deployment {arn} no longer waits: it is {state}",
        d.hook_id
    );
    let continued = hook_status.as_deref() == Some(HOOK_SUCCEEDED)
        && deployment
            .as_ref()
            .is_some_and(|dep| !dep.status.starts_with("ROLLBACK"));
    match action {
        // Already continued (by this step's earlier attempt, or by hand): what we wanted.
        HookAction::Continue if continued => Ok(DeploymentAnswer {
            action,
            answered: false,
            hook_status,
            message,
        }),
        HookAction::Continue => Err(MigrationError::new(
            ErrorKind::HookNotAwaiting,
            format!("the migration succeeded, but {message}; the deployment did not wait for it"),
        )),
        HookAction::Rollback => {
            tracing::warn!(%message, "nothing to roll back");
            Ok(DeploymentAnswer {
                action,
                answered: false,
                hook_status,
                message,
            })
        }
    }
}

fn aws_error(arn: &str, err: AwsError) -> MigrationError {
    if err.transient {
        MigrationError::new(
            ErrorKind::AwsTransient,
            format!("answering the hook of {arn}: {err}"),
        )
    } else if err.is_access_denied() {
        MigrationError::new(ErrorKind::Misconfigured, format!(
            "report-deployment may not answer {arn} ({err}); grant its role {} on the service's deployments",
            err.operation
        ))
    } else {
        // Refused between our look and our answer: the hook stopped waiting meanwhile.
        MigrationError::new(
            ErrorKind::HookNotAwaiting,
            format!("ECS refused the answer to service deployment {arn}: {err}"),
        )
    }
}
