//! Which execution a function acts for: the one Step Functions names (`$$.Execution.Id`),
//! confirmed with one DescribeExecution to belong to STATE_MACHINE_ARN and to be RUNNING. A
//! direct invocation can name any ARN; it gains nothing by it, because everything that acts
//! (the lock holder, `startedBy`, the client token) is derived from the confirmed execution.

use serde_json::Value;

use crate::common::digest::hex_digest;
use crate::common::echo::echo;
use crate::common::error::{ErrorKind, MigrationError};
use crate::migration::event::parse_input;
use crate::migration::hook_event::parse_hook_event;
use crate::migration::steps::StepEnv;
use crate::migration::tasks::started_by_for_execution;
use crate::ports::executions::ExecutionView;

/// An execution of this state machine as DescribeExecution showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VerifiedExecution {
    /// Its ARN: the lock's holder.
    pub(crate) arn: String,
    pub(crate) name: String,
    /// RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED | PENDING_REDRIVE.
    pub(crate) status: String,
    /// The execution's input, as it was started.
    pub(crate) input: Option<String>,
}

impl VerifiedExecution {
    /// RunTask's `startedBy` for its tasks.
    pub(crate) fn started_by(&self) -> String {
        started_by_for_execution(&self.arn)
    }

    pub(crate) fn is_running(&self) -> bool {
        self.status == "RUNNING"
    }

    /// RunTask's client token for the task definition `taskdef_arn`, from the execution's own
    /// input as Step Functions keeps it (so every execution of one event or hook shares it).
    pub(crate) fn client_token(&self, taskdef_arn: &str) -> String {
        let event = self
            .input
            .as_deref()
            .and_then(|text| serde_json::from_str::<Value>(text).ok());
        let key = idempotency_key(event.as_ref(), Some(&self.name), Some(&self.arn));
        client_token(key.as_deref(), taskdef_arn)
    }
}

/// What a migration's RunTask client token is derived from: a hook's deployment and id (one
/// migration per hook, whatever event or execution carries it), else the event's id (a
/// redelivered event repeats it), else the execution.
pub fn idempotency_key(
    event: Option<&Value>,
    execution_name: Option<&str>,
    execution_id: Option<&str>,
) -> Option<String> {
    if let Some(event) = event {
        if let Some(Ok(hook)) = parse_hook_event(event) {
            return Some(format!(
                "hook\0{}\0{}",
                hook.service_deployment_arn, hook.hook_id
            ));
        }
        if let Some(id) = parse_input(event).ok().and_then(|parsed| parsed.event_id) {
            return Some(id);
        }
    }
    execution_name.or(execution_id).map(str::to_string)
}

/// RunTask's client token (at most 64 characters) for `key` and the task definition.
pub fn client_token(key: Option<&str>, taskdef_arn: &str) -> String {
    hex_digest(&["client-token", key.unwrap_or(""), taskdef_arn], 64)
}

/// The execution `execution_id` names, confirmed to be this state machine's and RUNNING: what
/// every function that changes anything calls first.
pub(crate) async fn verify_running(
    env: &StepEnv<'_>,
    execution_id: Option<&str>,
    step: &str,
) -> Result<VerifiedExecution, MigrationError> {
    let Some(arn) = execution_id else {
        return Err(refused(format!(
            "{step} acts only for an execution of this state machine, and its input names none ($$.Execution.Id)"
        )));
    };
    let execution = describe_own(env, arn, step).await?;
    if !execution.is_running() {
        return Err(refused(format!(
            "{step} acts only for a RUNNING execution; {arn} is {}",
            execution.status
        )));
    }
    Ok(execution)
}

/// The execution `arn`, confirmed to be this state machine's, whatever its status.
pub(crate) async fn describe_own(
    env: &StepEnv<'_>,
    arn: &str,
    step: &str,
) -> Result<VerifiedExecution, MigrationError> {
    let Some(machine) = env.settings.state_machine_arn.as_deref() else {
        return Err(MigrationError::new(ErrorKind::Misconfigured, format!(
            "setting STATE_MACHINE_ARN is not set, so {step} cannot tell this state machine's executions from others; set it to the state machine's ARN"
        )));
    };
    let name = execution_of(arn, machine).ok_or_else(|| {
        refused(format!(
            "{step}: {} is not an execution of state machine {machine} (setting STATE_MACHINE_ARN)",
            echo(arn)
        ))
    })?;
    let view = env
        .executions
        .describe(arn)
        .await
        .map_err(|e| execution_call_failed(step, "DescribeExecution", arn, e))?;
    check_machine(&view, machine, arn, step)?;
    Ok(VerifiedExecution {
        arn: arn.to_string(),
        name,
        status: view.status,
        input: view.input,
    })
}

/// The execution's name when `arn` is `arn:P:states:R:A:execution:MACHINE:NAME` of `machine`
/// (`arn:P:states:R:A:stateMachine:MACHINE`).
pub(crate) fn execution_of(arn: &str, machine: &str) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let machine_parts: Vec<&str> = machine.split(':').collect();
    let [_, partition, "states", region, account, "execution", name_of_machine, name] =
        parts.as_slice()
    else {
        return None;
    };
    let expected = [
        "arn",
        partition,
        "states",
        region,
        account,
        "stateMachine",
        name_of_machine,
    ];
    (machine_parts.get(..7) == Some(&expected[..]) && !name.is_empty()).then(|| name.to_string())
}

/// DescribeExecution's state machine (a version or alias ARN included) is `machine`.
fn check_machine(
    view: &ExecutionView,
    machine: &str,
    arn: &str,
    step: &str,
) -> Result<(), MigrationError> {
    let base: Vec<&str> = view.state_machine_arn.split(':').take(7).collect();
    if base.join(":") == machine {
        return Ok(());
    }
    Err(refused(format!(
        "{step}: execution {arn} belongs to {}, not to {machine} (setting STATE_MACHINE_ARN)",
        view.state_machine_arn
    )))
}

/// A Step Functions call about execution `arn` that failed: retried when transient, a missing
/// grant named when refused, else no execution of ours stands behind the call.
pub(crate) fn execution_call_failed(
    step: &str,
    call: &str,
    arn: &str,
    err: crate::ports::AwsError,
) -> MigrationError {
    let message = format!("{step}: {call} of {arn}: {err}");
    if err.transient {
        return MigrationError::new(ErrorKind::AwsTransient, message);
    }
    if err.is_access_denied() {
        return MigrationError::new(
            ErrorKind::Misconfigured,
            format!(
            "{message}; grant the function's role states:{call} on this state machine's executions"
        ),
        );
    }
    // ExecutionDoesNotExist, InvalidArn: no execution of ours stands behind the call.
    refused(message)
}

fn refused(message: String) -> MigrationError {
    tracing::warn!(%message, "refused: no live execution of this state machine stands behind the call");
    MigrationError::new(ErrorKind::NotAllowed, message)
}
