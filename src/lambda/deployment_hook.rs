//! deployment-hook: the function ECS invokes as a Lambda lifecycle hook (Amazon ECS Developer
//! Guide, "Lambda hooks for Amazon ECS service deployments"). It starts the migration's
//! execution once per hook invocation chain (the name comes from the deployment and the hook's
//! `executionId`), answers `IN_PROGRESS` with a `callBackDelay` while it runs, then
//! `SUCCEEDED` or `FAILED`. It always answers with a valid `hookStatus`: ECS rolls the
//! deployment back on an invalid answer or an error, so every failure is a deliberate FAILED,
//! and an execution it cannot read is IN_PROGRESS until `max_unreadable` times in a row.
//!
//! State between invocations travels in `hookDetails`, which ECS passes back ("Passing state
//! with hookDetails").

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::common::digest::hex_digest;
use crate::migration::hook_event::{parse_hook_event, HookEvent, HookType};
use crate::ports::executions::{execution_arn, ExecutionView, Executions, StartError};

/// The function's name, as its handler (or `ECS_MIGRATE_STEP`) names it.
pub const DEPLOYMENT_HOOK: &str = "deployment-hook";
/// `hookDetails` keys this function owns.
pub const EXECUTION_KEY: &str = "ecsMigrateExecutionArn";
pub const UNREADABLE_KEY: &str = "ecsMigrateUnreadable";

/// `hookStatus` values (Developer Guide, "hookStatus values").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HookStatus {
    Succeeded,
    Failed,
    InProgress,
}

/// The function's answer to ECS.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HookAnswer {
    #[serde(rename = "hookStatus")]
    pub hook_status: HookStatus,
    #[serde(rename = "callBackDelay", skip_serializing_if = "Option::is_none")]
    pub call_back_delay: Option<u32>,
    #[serde(rename = "hookDetails", skip_serializing_if = "Option::is_none")]
    pub hook_details: Option<Value>,
}

/// What the adapter is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterConfig {
    pub state_machine_arn: String,
    /// Seconds until ECS asks again while the migration runs.
    pub call_back_delay: u32,
    /// Invocations in a row that may fail to read the execution before the answer is FAILED.
    pub max_unreadable: u64,
}

/// The execution's name for a hook: `hook-` and 40 hex digits of the deployment and the hook's
/// id (Step Functions names: at most 80 characters of letters, digits, `-` and `_`).
pub fn execution_name(hook: &HookEvent) -> String {
    format!(
        "hook-{}",
        hex_digest(&["hook", &hook.service_deployment_arn, &hook.hook_id], 40)
    )
}

/// Answers one invocation of the hook. The execution it follows is the one it derives from the
/// hook (its name is the deployment's and the hook's): `hookDetails`, which the service's
/// configuration can set, only says whether it was started already.
pub async fn answer_hook(
    executions: &dyn Executions,
    config: &AdapterConfig,
    payload: Value,
) -> HookAnswer {
    let mut details = match payload.get("hookDetails") {
        Some(Value::Object(d)) => d.clone(),
        _ => Map::new(),
    };
    let hook = match parse_hook_event(&payload) {
        Some(Ok(hook)) if hook.hook_type == HookType::AwsLambda => hook,
        Some(Err(err)) => return failed(&format!("the hook payload is not readable: {err}")),
        _ => return failed("the invocation is not a Lambda lifecycle hook's payload"),
    };
    let unreadable = details
        .get(UNREADABLE_KEY)
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let execution = execution_arn(&config.state_machine_arn, &execution_name(&hook));
    let started = details.get(EXECUTION_KEY).and_then(Value::as_str) == Some(execution.as_str());
    if !started {
        if let Err(problem) = start(executions, config, &hook, &payload).await {
            return match problem {
                Retry::Later(problem) => not_yet(config, details, unreadable, &problem),
                Retry::Never(problem) => failed(&problem),
            };
        }
    }
    details.insert(EXECUTION_KEY.into(), json!(execution));
    match executions.describe(&execution).await {
        Ok(view) => judge(executions, config, details, unreadable, &execution, view).await,
        Err(err) => not_yet(
            config,
            details,
            unreadable,
            &format!("cannot read execution {execution}: {err}"),
        ),
    }
}

/// Why the execution could not be started: a failure that may pass, or one that will not.
enum Retry {
    Later(String),
    Never(String),
}

/// Starts the hook's execution (a repeated start with the same input returns it).
async fn start(
    executions: &dyn Executions,
    config: &AdapterConfig,
    hook: &HookEvent,
    payload: &Value,
) -> Result<(), Retry> {
    // hookDetails change between invocations: leave them out, so a repeated start has the
    // same input and returns the running execution.
    let mut input = payload.clone();
    if let Some(object) = input.as_object_mut() {
        object.remove("hookDetails");
    }
    let name = execution_name(hook);
    match executions
        .start(&config.state_machine_arn, &name, &input.to_string())
        .await
    {
        Ok(_) | Err(StartError::AlreadyExists) => Ok(()),
        Err(StartError::Aws(err)) if err.transient => {
            Err(Retry::Later(format!("cannot start: {err}")))
        }
        Err(StartError::Aws(err)) => Err(Retry::Never(format!(
            "the migration could not be started: {err}"
        ))),
    }
}

/// The answer for the execution as DescribeExecution shows it. One that ended at
/// DuplicateEvent ran no migration: the original execution's end is the answer.
async fn judge(
    executions: &dyn Executions,
    config: &AdapterConfig,
    details: Map<String, Value>,
    unreadable: u64,
    execution: &str,
    view: ExecutionView,
) -> HookAnswer {
    let view = match duplicate_of(&view) {
        Some(Original::Execution(original)) if same_machine(&original, execution) => {
            match executions.describe(&original).await {
                // The original's own end counts only if it is not a duplicate too.
                Ok(original_view) if duplicate_of(&original_view).is_none() => original_view,
                Ok(_) => return failed(&format!("{original} ran no migration either")),
                Err(err) => {
                    let problem = format!("cannot read original execution {original}: {err}");
                    return not_yet(config, details, unreadable, &problem);
                }
            }
        }
        Some(_) => {
            return failed(&format!(
                "execution {execution} ran no migration (DuplicateEvent) and names no execution of this state machine that did"
            ))
        }
        None => view,
    };
    let (hook_status, call_back_delay) = match view.status.as_str() {
        "RUNNING" | "PENDING_REDRIVE" => (HookStatus::InProgress, Some(config.call_back_delay)),
        "SUCCEEDED" => {
            tracing::info!(%execution, "migration succeeded: the deployment goes on");
            (HookStatus::Succeeded, None)
        }
        status => {
            tracing::warn!(%execution, status, error = ?view.error, cause = ?view.cause, "migration did not succeed: the deployment rolls back");
            (HookStatus::Failed, None)
        }
    };
    let mut details = details;
    details.insert(UNREADABLE_KEY.into(), json!(0));
    HookAnswer {
        hook_status,
        call_back_delay,
        hook_details: Some(Value::Object(details)),
    }
}

/// Who ran the migration of an execution that SUCCEEDED at DuplicateEvent.
enum Original {
    /// The execution holding the lock for the same event.
    Execution(String),
    /// Only the tasks the RunTask token named: no execution to follow.
    Unknown,
}

/// For an execution that ended at DuplicateEvent (its output's `lock` or `task` outcome is
/// DUPLICATE), the original it deferred to.
fn duplicate_of(view: &ExecutionView) -> Option<Original> {
    if view.status != "SUCCEEDED" {
        return None;
    }
    let output: Value = serde_json::from_str(view.output.as_deref()?).ok()?;
    let outcome = |key: &str| {
        output
            .pointer(&format!("/{key}/outcome"))
            .and_then(Value::as_str)
    };
    if outcome("lock") == Some("DUPLICATE") {
        return Some(
            output
                .pointer("/lock/held_by/execution")
                .and_then(Value::as_str)
                .map_or(Original::Unknown, |arn| {
                    Original::Execution(arn.to_string())
                }),
        );
    }
    (outcome("task") == Some("DUPLICATE")).then_some(Original::Unknown)
}

/// Both ARNs are executions of one state machine (`...:execution:MACHINE:`).
fn same_machine(a: &str, b: &str) -> bool {
    let machine = |arn: &str| arn.rsplit_once(':').map(|(prefix, _)| prefix.to_string());
    machine(a).is_some() && machine(a) == machine(b) && a.contains(":execution:")
}

/// IN_PROGRESS for a failure that may pass, until `max_unreadable` in a row; then FAILED.
fn not_yet(
    config: &AdapterConfig,
    mut details: Map<String, Value>,
    unreadable: u64,
    problem: &str,
) -> HookAnswer {
    let count = unreadable.saturating_add(1);
    if count > config.max_unreadable {
        return failed(&format!(
            "{problem} ({count} invocations in a row; giving up)"
        ));
    }
    tracing::warn!(problem, count, "will ask again");
    details.insert(UNREADABLE_KEY.into(), json!(count));
    HookAnswer {
        hook_status: HookStatus::InProgress,
        call_back_delay: Some(config.call_back_delay),
        hook_details: Some(Value::Object(details)),
    }
}

fn failed(problem: &str) -> HookAnswer {
    tracing::error!(problem, "answering FAILED: the deployment rolls back");
    HookAnswer {
        hook_status: HookStatus::Failed,
        call_back_delay: None,
        hook_details: None,
    }
}
