//! An in-memory Step Functions, as strict as the DescribeExecution API reference (AWS Step
//! Functions API Reference, "DescribeExecution",
//! https://docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html):
//! an ARN that is not an execution's fails with `InvalidArn`, one it does not hold with
//! `ExecutionDoesNotExist`, both HTTP 400 and not worth a retry. Tests and the local engine's
//! binding start, stop and finish executions through it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{
    execution_arn, EndedExecution, ExecutionView, Executions, StartError, StartedExecution,
};
use crate::common::sync::lock;
use crate::ports::AwsError;

/// The executions the double holds, by ARN.
#[derive(Debug, Default)]
pub struct MemoryExecutions {
    executions: Mutex<BTreeMap<String, ExecutionView>>,
    /// The state each execution entered last, as its history shows it.
    states: Mutex<BTreeMap<String, String>>,
}

impl MemoryExecutions {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `execution_arn` of `state_machine_arn` with `status` (RUNNING, ABORTED, ...).
    pub fn put(&self, execution_arn: &str, state_machine_arn: &str, status: &str) {
        self.put_with_input(execution_arn, state_machine_arn, status, None);
    }

    /// [`Self::put`] with the execution's input (JSON text).
    pub fn put_with_input(
        &self,
        execution_arn: &str,
        state_machine_arn: &str,
        status: &str,
        input: Option<String>,
    ) {
        self.lock().insert(
            execution_arn.to_string(),
            ExecutionView {
                status: status.to_string(),
                state_machine_arn: state_machine_arn.to_string(),
                input,
                error: None,
                cause: None,
                output: None,
                stop_date: None,
            },
        );
    }

    /// Sets the status of an execution it holds (nothing for one it does not).
    pub fn set_status(&self, execution_arn: &str, status: &str) {
        if let Some(view) = self.lock().get_mut(execution_arn) {
            view.status = status.to_string();
        }
    }

    /// Sets when an execution it holds ended (DescribeExecution's `stopDate`).
    pub fn set_stop_date(&self, execution_arn: &str, at: chrono::DateTime<chrono::Utc>) {
        if let Some(view) = self.lock().get_mut(execution_arn) {
            view.stop_date = Some(at);
        }
    }

    /// Records that an execution it holds entered the state `name` (its history's newest
    /// `*StateEntered` event); nothing for one it does not hold.
    pub fn enter_state(&self, execution_arn: &str, name: &str) {
        if self.lock().contains_key(execution_arn) {
            lock(&self.states).insert(execution_arn.to_string(), name.to_string());
        }
    }

    /// Ends an execution it holds with `status` and `output` (JSON text).
    pub fn finish(&self, execution_arn: &str, status: &str, output: Option<String>) {
        if let Some(view) = self.lock().get_mut(execution_arn) {
            view.status = status.to_string();
            view.output = output;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ExecutionView>> {
        lock(&self.executions)
    }
}

/// `arn:PARTITION:states:REGION:ACCOUNT:execution:MACHINE:NAME`, as DescribeExecution takes it.
fn is_execution_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.split(':').collect();
    parts.len() == 8
        && parts[0] == "arn"
        && parts[2] == "states"
        && parts[5] == "execution"
        && parts[6..].iter().all(|p| !p.is_empty())
}

#[async_trait]
impl Executions for MemoryExecutions {
    async fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &str,
    ) -> Result<StartedExecution, StartError> {
        let arn = execution_arn(state_machine_arn, name);
        let mut executions = self.lock();
        if let Some(existing) = executions.get(&arn) {
            // The same name and input while it runs returns it; anything else is taken.
            if existing.status == "RUNNING" && existing.input.as_deref() == Some(input) {
                return Ok(StartedExecution {
                    execution_arn: arn,
                    start_date: None,
                });
            }
            return Err(StartError::AlreadyExists);
        }
        executions.insert(
            arn.clone(),
            ExecutionView {
                status: "RUNNING".into(),
                state_machine_arn: state_machine_arn.to_string(),
                input: Some(input.to_string()),
                error: None,
                cause: None,
                output: None,
                stop_date: None,
            },
        );
        Ok(StartedExecution {
            execution_arn: arn,
            start_date: None,
        })
    }

    /// The double keeps no dates: every execution with `status` is listed, without one.
    async fn list_ended(
        &self,
        state_machine_arn: &str,
        status: &str,
        max: i32,
    ) -> Result<Vec<EndedExecution>, AwsError> {
        let max = usize::try_from(max).unwrap_or(0);
        Ok(self
            .lock()
            .iter()
            .filter(|(_, v)| v.state_machine_arn == state_machine_arn && v.status == status)
            .take(max)
            .map(|(arn, _)| EndedExecution {
                execution_arn: arn.clone(),
                stop_date: None,
            })
            .collect())
    }

    async fn describe(&self, execution_arn: &str) -> Result<ExecutionView, AwsError> {
        if !is_execution_arn(execution_arn) {
            return Err(AwsError::permanent(
                "states:DescribeExecution",
                Some("InvalidArn"),
                format!("Invalid Arn: '{execution_arn}'"),
            ));
        }
        self.lock().get(execution_arn).cloned().ok_or_else(|| {
            AwsError::permanent(
                "states:DescribeExecution",
                Some("ExecutionDoesNotExist"),
                format!("Execution Does Not Exist: '{execution_arn}'"),
            )
        })
    }

    /// As GetExecutionHistory: `InvalidArn` and `ExecutionDoesNotExist` as DescribeExecution
    /// (API Reference, "GetExecutionHistory", Errors), and a `maxResults` outside 0..=1000 is
    /// refused; 0 means the default page of 100.
    async fn current_state(
        &self,
        execution_arn: &str,
        max: i32,
    ) -> Result<Option<String>, AwsError> {
        if !(0..=1000).contains(&max) {
            return Err(AwsError::permanent(
                "states:GetExecutionHistory",
                Some("ValidationException"),
                format!("maxResults {max} is not in 0..1000"),
            ));
        }
        self.describe(execution_arn).await.map_err(|e| AwsError {
            operation: "states:GetExecutionHistory",
            ..e
        })?;
        Ok(lock(&self.states).get(execution_arn).cloned())
    }

    async fn stop(&self, execution_arn: &str, error: &str, cause: &str) -> Result<(), AwsError> {
        let mut executions = self.lock();
        let Some(view) = executions.get_mut(execution_arn) else {
            return Err(AwsError::permanent(
                "states:StopExecution",
                Some("ExecutionDoesNotExist"),
                format!("Execution Does Not Exist: '{execution_arn}'"),
            ));
        };
        if view.status == "RUNNING" {
            view.status = "ABORTED".into();
            view.error = Some(error.to_string());
            view.cause = Some(cause.to_string());
        }
        Ok(())
    }
}
