//! The Step Functions port: starting an execution, describing one, reading which state it is
//! in, stopping one. The
//! deployment-hook adapter starts and follows the migration's execution with it, `ecs-migrate
//! start|run` starts one and `wait --abort-on-timeout` stops one; each call is written once, in
//! the `sdk` adapter.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::ports::AwsError;

mod memory;
mod sdk;

pub use memory::MemoryExecutions;
pub use sdk::SdkExecutions;

/// An execution as DescribeExecution reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionView {
    /// RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED | PENDING_REDRIVE.
    pub status: String,
    /// The state machine (version or alias ARN included, if it was started through one).
    pub(crate) state_machine_arn: String,
    /// The execution's input, as the JSON text it was started with.
    pub(crate) input: Option<String>,
    pub(crate) error: Option<String>,
    pub(crate) cause: Option<String>,
    /// The output (JSON text) of an execution that SUCCEEDED.
    pub(crate) output: Option<String>,
    /// When it ended (DescribeExecution `stopDate`); `None` while it runs or when unknown.
    pub(crate) stop_date: Option<DateTime<Utc>>,
}

/// What StartExecution answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedExecution {
    pub(crate) execution_arn: String,
    pub(crate) start_date: Option<DateTime<Utc>>,
}

/// How StartExecution refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// The name is taken by an execution that ended, or that has another input.
    AlreadyExists,
    Aws(AwsError),
}

/// The Step Functions calls ecs-migrate makes.
#[async_trait]
pub trait Executions: Send + Sync {
    /// StartExecution; the same name and input as a running execution returns it.
    async fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> Result<StartedExecution, StartError>;
    /// DescribeExecution.
    async fn describe(&self, execution_arn: &str) -> Result<ExecutionView, AwsError>;
    /// StopExecution, with the Error and Cause the execution ends with.
    async fn stop(&self, execution_arn: &str, error: &str, cause: &str) -> Result<(), AwsError>;

    /// The name of the state the execution entered last: the newest `*StateEntered` event
    /// among the newest `max` events of one GetExecutionHistory call (reverseOrder) ("GetExecutionHistory",
    /// AWS Step Functions API Reference,
    /// docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html).
    /// `None` when none of those events entered a state.
    async fn current_state(
        &self,
        _execution_arn: &str,
        _max: i32,
    ) -> Result<Option<String>, AwsError> {
        Err(AwsError::permanent(
            "states:GetExecutionHistory",
            None,
            "this Step Functions backend cannot read an execution's history",
        ))
    }

    /// Up to `max` of the state machine's executions with `status` (ABORTED, FAILED,
    /// TIMED_OUT), newest first: one ListExecutions call ("ListExecutions", AWS Step Functions
    /// API Reference, docs.aws.amazon.com/step-functions/latest/apireference/API_ListExecutions.html).
    async fn list_ended(
        &self,
        _state_machine_arn: &str,
        _status: &str,
        _max: i32,
    ) -> Result<Vec<EndedExecution>, AwsError> {
        Err(AwsError::permanent(
            "states:ListExecutions",
            None,
            "this Step Functions backend cannot list executions",
        ))
    }
}

/// An execution ListExecutions shows as ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndedExecution {
    pub(crate) execution_arn: String,
    pub(crate) stop_date: Option<DateTime<Utc>>,
}

/// `arn:PARTITION:states:REGION:ACCOUNT:execution:MACHINE:NAME`, the ARN the execution `name`
/// of a state machine gets, from the state machine's ARN (`...:stateMachine:MACHINE`, with or
/// without a version or alias suffix, which the execution's ARN does not carry).
pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    let parts: Vec<&str> = state_machine_arn.trim().splitn(8, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "states", region, account, "stateMachine", machine, ..] => {
            format!("arn:{partition}:states:{region}:{account}:execution:{machine}:{name}")
        }
        // Not a state machine ARN: the caller checked it; keep the old substitution's answer.
        _ => format!(
            "{}:{name}",
            state_machine_arn.replacen(":stateMachine:", ":execution:", 1)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_arn_drops_a_version_or_alias_suffix() {
        let base = "arn:aws:states:eu-west-1:123456789012:stateMachine:ecs-migrate";
        let want = "arn:aws:states:eu-west-1:123456789012:execution:ecs-migrate:run-1";
        assert_eq!(execution_arn(base, "run-1"), want);
        assert_eq!(execution_arn(&format!("{base}:3"), "run-1"), want);
        assert_eq!(execution_arn(&format!("{base}:prod"), "run-1"), want);
        assert_eq!(
            execution_arn(
                "arn:aws-cn:states:cn-north-1:123456789012:stateMachine:m",
                "x"
            ),
            "arn:aws-cn:states:cn-north-1:123456789012:execution:m:x"
        );
    }
}
