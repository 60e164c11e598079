//! The step binding: the definition's Task states run the steps as the Lambda functions do on
//! AWS. A step's error reaches the engine as Step Functions records a function error: Error is
//! the `errorType`, Cause the error document the runtime posted
//! (`{"errorType": ..., "errorMessage": ...}`), so a Catch's `$.error.Cause` and the Fail
//! state's Cause read the same locally, in the tests and in the console.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{render_definition, Step, DEFINITION_TEMPLATE};
use crate::asl::{TaskCall, TaskFailure, TaskInvoker};
use crate::common::clock::Clock;
use crate::common::error::MigrationError;
use crate::migration::settings::Settings;
use crate::migration::steps::StepEnv;
use crate::ports::deployments::{Deployments, NoDeployments};
use crate::ports::ecs::Ecs;
use crate::ports::executions::MemoryExecutions;
use crate::ports::lock::LockTable;
use crate::ports::logs::Logs;

/// Where the step functions live: `arn:aws:lambda:REGION:ACCOUNT:function:PREFIXSTEP`, e.g.
/// `arn:aws:lambda:eu-west-1:123456789012:function:ecs-migrate-run-task`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionArns {
    region: String,
    account: String,
    prefix: String,
}

impl FunctionArns {
    pub fn new(
        region: impl Into<String>,
        account: impl Into<String>,
        prefix: impl Into<String>,
    ) -> Self {
        Self {
            region: region.into(),
            account: account.into(),
            prefix: prefix.into(),
        }
    }

    /// The ARN of `step`'s function.
    pub(crate) fn arn(&self, step: Step) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{}{}",
            self.region,
            self.account,
            self.prefix,
            step.name()
        )
    }

    /// The step whose function `resource` is, if it is one of these ARNs exactly.
    pub fn step_for(&self, resource: &str) -> Option<Step> {
        Step::ALL
            .into_iter()
            .find(|&step| self.arn(step) == resource)
    }

    /// The definition rendered with these ARNs, as templatefile() renders it on AWS.
    pub fn render(&self) -> String {
        render_definition(DEFINITION_TEMPLATE, |step| self.arn(step))
    }
}

/// Runs the step a Task state's Resource names, over the given ECS and log seams.
pub struct StepBinding {
    arns: FunctionArns,
    settings: Settings,
    ecs: Arc<dyn Ecs>,
    logs: Arc<dyn Logs>,
    clock: Arc<dyn Clock>,
    lock: Arc<dyn LockTable>,
    deployments: Arc<dyn Deployments>,
}

/// The seams a [`StepBinding`] runs the steps over.
pub struct Seams {
    pub ecs: Arc<dyn Ecs>,
    pub logs: Arc<dyn Logs>,
    pub clock: Arc<dyn Clock>,
    pub lock: Arc<dyn LockTable>,
}

impl StepBinding {
    pub fn new(arns: FunctionArns, settings: Settings, seams: Seams) -> Self {
        let Seams {
            ecs,
            logs,
            clock,
            lock,
        } = seams;
        Self {
            arns,
            settings,
            ecs,
            logs,
            clock,
            lock,
            deployments: Arc::new(NoDeployments),
        }
    }

    /// The service deployments hook events' migrations answer (none by default).
    pub fn with_deployments(mut self, deployments: Arc<dyn Deployments>) -> Self {
        self.deployments = deployments;
        self
    }
}

impl StepBinding {
    /// The settings and the Step Functions a step of the execution `context` (`$$`) runs
    /// against: that execution, RUNNING, of the engine's state machine, which stands for
    /// STATE_MACHINE_ARN here.
    fn engine_execution(&self, context: &Value) -> (Settings, MemoryExecutions) {
        let text = |path: &str| context.pointer(path).and_then(Value::as_str);
        let mut settings = self.settings.clone();
        let machine = text("/StateMachine/Id").map(str::to_string);
        settings.state_machine_arn = machine.clone();
        let executions = MemoryExecutions::new();
        if let (Some(id), Some(machine)) = (text("/Execution/Id"), machine) {
            let input = context.pointer("/Execution/Input").map(Value::to_string);
            executions.put_with_input(id, &machine, "RUNNING", input);
        }
        (settings, executions)
    }

    /// [`Self::engine_execution`], with the Task state `state_name` as the state the execution
    /// entered last, as its history shows while that state invokes its function.
    fn engine_execution_in(
        &self,
        context: &Value,
        state_name: &str,
    ) -> (Settings, MemoryExecutions) {
        let (settings, executions) = self.engine_execution(context);
        if let Some(id) = context.pointer("/Execution/Id").and_then(Value::as_str) {
            executions.enter_state(id, state_name);
        }
        (settings, executions)
    }
}

#[async_trait]
impl TaskInvoker for StepBinding {
    async fn invoke(&self, call: TaskCall) -> Result<Value, TaskFailure> {
        let Some(step) = self.arns.step_for(&call.resource) else {
            return Err(TaskFailure::unbound(format!(
                "state '{}': no step is bound to Resource {}",
                call.state_name, call.resource
            )));
        };
        // The engine's own execution answers DescribeExecution: RUNNING while it runs.
        let (settings, executions) = self.engine_execution_in(&call.context, &call.state_name);
        let env = StepEnv {
            settings: &settings,
            ecs: &*self.ecs,
            logs: &*self.logs,
            clock: &*self.clock,
            lock: &*self.lock,
            deployments: &*self.deployments,
            executions: &executions,
        };
        // No Lambda deadline here: poll-status waits its configured round.
        step.run(&env, call.input, None)
            .await
            .map_err(|err| lambda_error(&err))
    }
}

/// A step's error as Step Functions records a Lambda function error: Error = `errorType`,
/// Cause = the error document.
pub fn lambda_error(err: &MigrationError) -> TaskFailure {
    TaskFailure::new(
        err.name(),
        json!({"errorType": err.name(), "errorMessage": err.message()}).to_string(),
    )
}

/// The `errorMessage` inside a Lambda error document, or the Cause as it is (a `States.*`
/// error, or an error a Pass state put there).
pub fn error_message(cause: &str) -> String {
    serde_json::from_str::<Value>(cause)
        .ok()
        .and_then(|v| {
            v.get("errorMessage")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| cause.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::error::ErrorKind;

    #[test]
    fn arns_round_trip_and_only_exact_arns_bind() {
        let arns = FunctionArns::new("eu-west-1", "123456789012", "ecs-migrate-");
        for step in Step::ALL {
            assert_eq!(arns.step_for(&arns.arn(step)), Some(step));
        }
        assert_eq!(
            arns.arn(Step::RunTask),
            "arn:aws:lambda:eu-west-1:123456789012:function:ecs-migrate-run-task"
        );
        assert_eq!(
            arns.step_for("arn:aws:lambda:us-east-1:123456789012:function:ecs-migrate-run-task"),
            None
        );
        assert_eq!(arns.step_for("ecs-migrate-run-task"), None);
    }

    #[test]
    fn the_rendered_definition_names_every_step_and_no_placeholder() {
        let arns = FunctionArns::new("local", "000000000000", "ecs-migrate-");
        let text = arns.render();
        assert!(!text.contains("${"), "a placeholder is left: {text}");
        let definition: Value = serde_json::from_str(&text).unwrap();
        let mut bound: Vec<Step> = definition["States"]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|s| s.get("Resource").and_then(Value::as_str))
            .map(|r| arns.step_for(r).unwrap_or_else(|| panic!("unbound {r}")))
            .collect();
        bound.sort_by_key(|s| s.name());
        // report-deployment serves two states (ContinueDeployment, RollBackDeployment).
        bound.dedup();
        let mut all = Step::ALL.to_vec();
        all.sort_by_key(|s| s.name());
        assert_eq!(bound, all);
    }

    #[test]
    fn stop_task_is_allowed_in_exactly_the_states_bound_to_its_function() {
        let arns = FunctionArns::new("local", "000000000000", "ecs-migrate-");
        let definition: Value = serde_json::from_str(&arns.render()).unwrap();
        let stop_task = arns.arn(Step::StopTask);
        let mut bound: Vec<&str> = definition["States"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, s)| s.get("Resource").and_then(Value::as_str) == Some(&stop_task))
            .map(|(name, _)| name.as_str())
            .collect();
        bound.sort_unstable();
        let mut allowed = crate::migration::steps::stop_task::STOP_TASK_STATES.to_vec();
        allowed.sort_unstable();
        assert_eq!(bound, allowed);
    }

    #[test]
    fn errors_travel_as_the_lambda_error_document() {
        let failure = lambda_error(&MigrationError::new(ErrorKind::NonZeroExit, "exit \"1\""));
        assert_eq!(failure.error, "Migration.NonZeroExit");
        let doc: Value = serde_json::from_str(&failure.cause).unwrap();
        assert_eq!(
            doc,
            json!({"errorType": "Migration.NonZeroExit", "errorMessage": "exit \"1\""})
        );
        assert_eq!(error_message(&failure.cause), "exit \"1\"");
        assert_eq!(error_message("plain words"), "plain words");
    }
}
