//! The aws-sdk-sfn adapter of the Step Functions port.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{EndedExecution, ExecutionView, Executions, StartError, StartedExecution};
use crate::ports::AwsError;

/// The aws-sdk-sfn adapter.
#[derive(Debug, Clone)]
pub struct SdkExecutions {
    client: aws_sdk_sfn::Client,
}

impl SdkExecutions {
    pub fn new(client: aws_sdk_sfn::Client) -> Self {
        Self { client }
    }
}

fn to_utc(time: &aws_sdk_sfn::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(time.secs(), time.subsec_nanos())
}

#[async_trait]
impl Executions for SdkExecutions {
    async fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> Result<StartedExecution, StartError> {
        match self
            .client
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(input)
            .send()
            .await
        {
            Ok(out) => Ok(StartedExecution {
                execution_arn: out.execution_arn().to_string(),
                start_date: to_utc(out.start_date()),
            }),
            Err(err) => {
                let err = AwsError::from_sdk("states:StartExecution", err);
                if err.code.as_deref() == Some("ExecutionAlreadyExists") {
                    Err(StartError::AlreadyExists)
                } else {
                    Err(StartError::Aws(err))
                }
            }
        }
    }

    async fn describe(&self, execution_arn: &str) -> Result<ExecutionView, AwsError> {
        let out = self
            .client
            .describe_execution()
            .execution_arn(execution_arn)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("states:DescribeExecution", e))?;
        Ok(ExecutionView {
            status: out.status().as_str().to_string(),
            state_machine_arn: out.state_machine_arn().to_string(),
            input: out.input().map(str::to_string),
            error: out.error().map(str::to_string),
            cause: out.cause().map(str::to_string),
            output: out.output().map(str::to_string),
            stop_date: out.stop_date().and_then(to_utc),
        })
    }

    async fn current_state(
        &self,
        execution_arn: &str,
        max: i32,
    ) -> Result<Option<String>, AwsError> {
        let out = self
            .client
            .get_execution_history()
            .execution_arn(execution_arn)
            .reverse_order(true)
            .max_results(max)
            .include_execution_data(false)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("states:GetExecutionHistory", e))?;
        // Newest first: the first state entered is the one the execution is in.
        Ok(out
            .events()
            .iter()
            .filter(|e| e.r#type().as_str().ends_with("StateEntered"))
            .find_map(|e| e.state_entered_event_details())
            .map(|d| d.name().to_string()))
    }

    async fn list_ended(
        &self,
        state_machine_arn: &str,
        status: &str,
        max: i32,
    ) -> Result<Vec<EndedExecution>, AwsError> {
        let out = self
            .client
            .list_executions()
            .state_machine_arn(state_machine_arn)
            .status_filter(aws_sdk_sfn::types::ExecutionStatus::from(status))
            .max_results(max)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("states:ListExecutions", e))?;
        Ok(out
            .executions()
            .iter()
            .map(|e| EndedExecution {
                execution_arn: e.execution_arn().to_string(),
                stop_date: e.stop_date().and_then(to_utc),
            })
            .collect())
    }

    async fn stop(&self, execution_arn: &str, error: &str, cause: &str) -> Result<(), AwsError> {
        self.client
            .stop_execution()
            .execution_arn(execution_arn)
            .error(error)
            .cause(cause)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("states:StopExecution", e))?;
        Ok(())
    }
}
