//! The steps by the names their Lambda functions carry, and how each runs on the JSON a
//! Task state delivers.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::budget;
use crate::common::error::{ErrorKind, MigrationError};
use crate::migration::steps::{
    acquire_lock, check_exit_code, poll_status, release_lock, report_deployment, run_task,
    stop_task, validate_event, StepEnv,
};

/// The steps, by the names their Lambda functions and binaries carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    ValidateEvent,
    AcquireLock,
    RunTask,
    PollStatus,
    CheckExitCode,
    StopTask,
    ReleaseLock,
    /// Answers the deployment's pause hook (ContinueDeployment, RollBackDeployment).
    ReportDeployment,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Step::ValidateEvent,
        Step::AcquireLock,
        Step::RunTask,
        Step::PollStatus,
        Step::CheckExitCode,
        Step::StopTask,
        Step::ReleaseLock,
        Step::ReportDeployment,
    ];

    /// The function's name: `validate-event`, `run-task`, ...
    pub fn name(self) -> &'static str {
        match self {
            Step::ValidateEvent => "validate-event",
            Step::AcquireLock => "acquire-lock",
            Step::RunTask => "run-task",
            Step::PollStatus => "poll-status",
            Step::CheckExitCode => "check-exit-code",
            Step::StopTask => "stop-task",
            Step::ReleaseLock => "release-lock",
            Step::ReportDeployment => "report-deployment",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The placeholder statemachine/migration.asl.json has for this step's function ARN:
    /// `${validate_event_arn}`, ... (Terraform's templatefile() fills them in).
    pub fn placeholder(self) -> String {
        format!("${{{}_arn}}", self.name().replace('-', "_"))
    }

    /// Runs the step on its JSON input, as a Lambda invocation or the local engine delivers it.
    /// `return_by` bounds the steps that wait inside one invocation (poll-status, acquire-lock,
    /// release-lock, stop-task's second looks): the Lambda deadline less a margin.
    pub async fn run(
        self,
        env: &StepEnv<'_>,
        input: Value,
        return_by: Option<DateTime<Utc>>,
    ) -> Result<Value, MigrationError> {
        let input = unwrap_call(input);
        match self {
            Step::ValidateEvent => {
                // A history that cannot fit is a deployment problem: say so before calling ECS.
                budget::check_fits(env.settings)?;
                to_json(validate_event(env, from_json(self, input)?).await?)
            }
            Step::AcquireLock => {
                to_json(acquire_lock(env, from_json(self, input)?, return_by).await?)
            }
            Step::ReleaseLock => {
                to_json(release_lock(env, from_json(self, input)?, return_by).await?)
            }
            Step::RunTask => to_json(run_task(env, from_json(self, input)?).await?),
            Step::PollStatus => {
                to_json(poll_status(env, from_json(self, input)?, return_by).await?)
            }
            Step::CheckExitCode => to_json(check_exit_code(env, from_json(self, input)?).await?),
            Step::StopTask => to_json(stop_task(env, input, return_by).await?),
            Step::ReportDeployment => {
                to_json(report_deployment(env, from_json(self, input)?).await?)
            }
        }
    }
}

/// The definition hands each Task state `{"state": $, "execution_id": $$.Execution.Id}`: the
/// step reads the state data with the execution's ARN beside it. Any other input (the
/// status-change event, validate-event's and report-deployment's own Parameters) is as it is.
fn unwrap_call(input: Value) -> Value {
    let Value::Object(mut call) = input else {
        return input;
    };
    let wrapped =
        call.len() == 2 && call.contains_key("state") && call.contains_key("execution_id");
    if !wrapped {
        return Value::Object(call);
    }
    let execution_id = call.remove("execution_id").unwrap_or(Value::Null);
    match call.remove("state") {
        Some(Value::Object(mut state)) => {
            state.insert("execution_id".into(), execution_id);
            Value::Object(state)
        }
        Some(other) => other,
        None => Value::Null,
    }
}

fn from_json<T: DeserializeOwned>(step: Step, input: Value) -> Result<T, MigrationError> {
    serde_json::from_value(input).map_err(|e| {
        MigrationError::new(ErrorKind::InvalidEvent, format!(
            "{} received input it cannot read: {e}; check the state machine's InputPath/Parameters for this step",
            step.name()
        ))
    })
}

fn to_json<T: Serialize>(value: T) -> Result<Value, MigrationError> {
    // Serializing these plain data types cannot fail; map it anyway rather than panic.
    serde_json::to_value(value).map_err(|e| {
        MigrationError::new(
            ErrorKind::Misconfigured,
            format!("cannot encode step output: {e}"),
        )
    })
}
