//! Runs a [`Definition`]: one template for every state (entered event, InputPath, the state's
//! own work, ResultSelector/ResultPath/OutputPath, Assign, exited event, next), one retry and
//! catch loop shared by Task, Parallel and Map, Parallel branches and Map iterations as
//! concurrent futures on the same task, time from the injected [`Clock`].

mod ata;
mod failure;
mod limits;
mod map;
mod parallel;
mod recorder;
mod retry_catch;
mod run;
mod scope;
mod states;
mod task;

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::definition::Definition;
use super::depth::{drop_deep, too_deep, MAX_NESTING_DEPTH};
use super::history::{not_truncated, EventType, HistoryEvent, Observer};
use super::invoker::TaskInvoker;
use super::path::compact;
use super::random::{uuid_v4, RandomSource, SeededRandom};
use super::template::Vars;
use super::value::context_time;
use crate::common::clock::Clock;
use failure::Failure;
use recorder::{Recorder, Thread};
use run::Run;

pub use limits::{InputRefused, Limits, MAX_HISTORY_EVENTS};

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl ExecutionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::TimedOut => "TIMED_OUT",
            Self::Aborted => "ABORTED",
        }
    }
}

/// The end of an execution: status, output or error and cause, and the full history.
#[derive(Debug, Clone)]
pub struct ExecutionResult {
    pub status: ExecutionStatus,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub history: Vec<HistoryEvent>,
}

impl ExecutionResult {
    /// `{"status":"SUCCEEDED","output":…}` or `{"status":"FAILED","error":…,"cause":…}`,
    /// plus `"history":[…]` when asked.
    pub fn to_json(&self, with_history: bool) -> Value {
        let mut m = Map::new();
        m.insert("status".into(), json!(self.status.as_str()));
        if let Some(o) = &self.output {
            m.insert("output".into(), o.clone());
        }
        if let Some(e) = &self.error {
            m.insert("error".into(), json!(e));
        }
        if let Some(c) = &self.cause {
            m.insert("cause".into(), json!(c));
        }
        if with_history {
            m.insert(
                "history".into(),
                serde_json::to_value(&self.history).unwrap_or_default(),
            );
        }
        Value::Object(m)
    }

    /// How many events of each type the history holds.
    pub fn event_counts(&self) -> HashMap<EventType, usize> {
        let mut counts = HashMap::new();
        for e in &self.history {
            *counts.entry(e.event_type).or_insert(0) += 1;
        }
        counts
    }
}

/// Runs one definition; reusable for many executions.
pub struct Executor {
    definition: Arc<Definition>,
    invoker: Arc<dyn TaskInvoker>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
    observer: Option<Observer>,
    keep_history: bool,
    limits: Limits,
    execution_name: Option<String>,
    state_machine_name: String,
    region: String,
    account: String,
}

impl Executor {
    pub fn new(
        definition: impl Into<Arc<Definition>>,
        invoker: Arc<dyn TaskInvoker>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            definition: definition.into(),
            invoker,
            clock,
            random: Arc::new(SeededRandom::from_entropy()),
            observer: None,
            keep_history: true,
            limits: Limits::aws(),
            execution_name: None,
            state_machine_name: "StateMachine".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
        }
    }

    /// Do not keep the history in the result (`ExecutionResult::history` stays empty): a
    /// caller that wants only the outcome saves the memory of every event and, without an
    /// observer, the cost of building their details.
    pub fn without_history(mut self) -> Self {
        self.keep_history = false;
        self
    }

    /// The quotas the execution is held to (default [`Limits::aws`]).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Whether StartExecution would accept `input`, and the engine hold it.
    pub fn check_input(&self, input: &Value) -> Result<(), InputRefused> {
        // Depth first: its check stops past the bound, the size is counted by a recursive writer.
        if too_deep(input) {
            return Err(InputRefused::InputTooDeep {
                limit: MAX_NESTING_DEPTH,
            });
        }
        match self.limits.payload_bytes {
            Some(limit) if self.limits.too_large(input) => Err(InputRefused::InputTooLarge {
                bytes: super::value::json_len(input),
                limit,
            }),
            _ => Ok(()),
        }
    }

    /// The execution's name (default: a random UUID).
    pub fn with_execution_name(mut self, name: impl Into<String>) -> Self {
        self.execution_name = Some(name.into());
        self
    }

    /// The state machine's name, used in `$$.StateMachine` and the execution ARN.
    pub fn with_state_machine_name(mut self, name: impl Into<String>) -> Self {
        self.state_machine_name = name.into();
        self
    }

    /// Called with every history event as it is recorded.
    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Randomness for retry jitter, `States.MathRandom`, `States.UUID` and default names.
    pub fn with_random(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.random = random;
        self
    }

    /// Region and account for the ARNs in the context object and history.
    pub fn with_account(mut self, region: impl Into<String>, account: impl Into<String>) -> Self {
        self.region = region.into();
        self.account = account.into();
        self
    }

    /// The ARN an execution named `name` of this state machine has (`$$.Execution.Id`).
    pub(crate) fn execution_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:states:{}:{}:execution:{}:{name}",
            self.region, self.account, self.state_machine_name
        )
    }

    /// Runs to the end.
    pub async fn run_to_completion(&self, input: Value) -> ExecutionResult {
        self.run(input, std::future::pending()).await
    }

    /// Runs until the execution ends or `abort` completes; aborting drops the running
    /// Task futures and ends the execution ABORTED. The state machine's `TimeoutSeconds`
    /// (on the clock) ends it TIMED_OUT.
    ///
    /// An input StartExecution would refuse ([`Executor::check_input`]) starts nothing: the
    /// result is FAILED with the refusal as error `ValidationException` and no history.
    pub async fn run<F: Future<Output = ()>>(&self, input: Value, abort: F) -> ExecutionResult {
        match self.start(input, abort).await {
            Ok(result) => result,
            Err(refused) => ExecutionResult {
                status: ExecutionStatus::Failed,
                output: None,
                error: Some("ValidationException".into()),
                cause: Some(refused.to_string()),
                history: Vec::new(),
            },
        }
    }

    /// As [`Executor::run`], but an input StartExecution would refuse is an error.
    pub async fn start<F: Future<Output = ()>>(
        &self,
        input: Value,
        abort: F,
    ) -> Result<ExecutionResult, InputRefused> {
        if let Err(refused) = self.check_input(&input) {
            // The input may be far deeper than a recursive drop survives.
            drop_deep(input);
            return Err(refused);
        }
        let run = self.start_run(&input);
        let mut vars = Vars::root();
        let mut thread = Thread { id: 0, last: 0 };
        let timeout = self.definition.timeout_seconds;
        let clock = self.clock.clone();
        let outcome = {
            let main = run.run_machine(&self.definition.root, input, &mut vars, &mut thread);
            let timer = async move {
                match timeout {
                    Some(t) => clock.sleep(Duration::from_secs(t)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                r = main => End::Done(r),
                _ = timer => End::TimedOut,
                _ = abort => End::Aborted,
            }
        };
        Ok(self.finish(&run, outcome, thread.last))
    }

    /// The run's context object parts and its ExecutionStarted event.
    fn start_run(&self, input: &Value) -> Run<'_> {
        let name = self
            .execution_name
            .clone()
            .unwrap_or_else(|| uuid_v4(&*self.random));
        let start = self.clock.now();
        let sm_arn = format!(
            "arn:aws:states:{}:{}:stateMachine:{}",
            self.region, self.account, self.state_machine_name
        );
        let role = format!(
            "arn:aws:iam::{}:role/service-role/StepFunctions-{}-role",
            self.account, self.state_machine_name
        );
        let run = Run {
            ex: self,
            rec: Recorder::new(
                self.keep_history,
                self.observer.as_ref(),
                &*self.clock,
                self.limits.history_events,
            ),
            execution: json!({
                "Id": self.execution_arn(&name),
                "Input": input.clone(),
                "Name": name,
                "RoleArn": role,
                "StartTime": context_time(start),
                "RedriveCount": 0,
            }),
            state_machine: json!({"Id": sm_arn, "Name": self.state_machine_name}),
        };
        run.rec.record_at(
            EventType::ExecutionStarted,
            0,
            || json!({"input": compact(input), "inputDetails": not_truncated(), "roleArn": role}),
        );
        run
    }

    /// Records the execution's last event and builds its result.
    fn finish(&self, run: &Run<'_>, outcome: End, last: u64) -> ExecutionResult {
        let rec = &run.rec;
        // Whatever the machine did after it reached the history quota, the execution failed.
        let (outcome, last) = match self.limits.history_events {
            Some(max) if rec.exhausted() => (
                End::Done(Err(Failure::runtime(limits::history_limit_cause(max)))),
                rec.last_id(),
            ),
            _ => (outcome, last),
        };
        let (status, output, error, cause) = match outcome {
            End::Done(Ok(out)) => {
                rec.record_at(
                    EventType::ExecutionSucceeded,
                    last,
                    || json!({"output": compact(&out), "outputDetails": not_truncated()}),
                );
                (ExecutionStatus::Succeeded, Some(out), None, None)
            }
            End::Done(Err(f)) => {
                rec.record_at(
                    EventType::ExecutionFailed,
                    last,
                    || json!({"error": f.error, "cause": f.cause}),
                );
                (ExecutionStatus::Failed, None, Some(f.error), Some(f.cause))
            }
            End::TimedOut => {
                let timeout = self.definition.timeout_seconds.unwrap_or_default();
                let cause = format!(
                    "The execution exceeded the state machine's TimeoutSeconds ({timeout}s)"
                );
                rec.record_at(
                    EventType::ExecutionTimedOut,
                    last,
                    || json!({"error": "States.Timeout", "cause": cause}),
                );
                let error = Some("States.Timeout".into());
                (ExecutionStatus::TimedOut, None, error, Some(cause))
            }
            End::Aborted => {
                rec.abort_threads(&[0]);
                let recorded = rec.last_id();
                let last = if recorded > 0 { recorded } else { last };
                rec.record_at(EventType::ExecutionAborted, last, || Value::Null);
                (ExecutionStatus::Aborted, None, None, None)
            }
        };
        ExecutionResult {
            status,
            output,
            error,
            cause,
            history: rec.take_events(),
        }
    }
}

enum End {
    Done(Result<Value, Failure>),
    TimedOut,
    Aborted,
}
