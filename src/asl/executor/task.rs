//! Task states: the scheduled and started events of the resource kind, the call through the
//! task invoker bounded by TimeoutSeconds and HeartbeatSeconds, and the event that ends it.

use std::time::Duration;

use serde_json::{json, Value};

use super::super::definition::{State, Task};
use super::super::depth::{drop_deep, too_deep};
use super::super::history::{not_truncated, EventType};
use super::super::invoker::{classify, Heartbeat, ResourceKind, TaskCall};
use super::super::path::compact;
use super::failure::Failure;
use super::limits::{data_limit_exceeded, nested_too_deep_cause};
use super::recorder::Thread;
use super::scope::Scope;

/// What the task's events carry besides the resource: its evaluated time limits.
struct Limits {
    timeout: Option<u64>,
    heartbeat: Option<u64>,
}

impl Limits {
    fn add_to(&self, mut d: Value) -> Value {
        if let Some(s) = self.timeout {
            d["timeoutInSeconds"] = json!(s);
        }
        if let Some(h) = self.heartbeat {
            d["heartbeatInSeconds"] = json!(h);
        }
        d
    }
}

impl<'s> Scope<'s> {
    pub(crate) async fn task_attempt(
        &self,
        t: &Task,
        state: &State,
        th: &mut Thread,
    ) -> Result<Value, Failure> {
        let params = match &t.arguments {
            Some(a) => self.ata(a)?,
            None => self.template_or_input(t.parameters.as_ref())?,
        };
        let limits = Limits {
            timeout: self.seconds(t.timeout.as_ref(), "TimeoutSecondsPath")?,
            heartbeat: self.seconds(t.heartbeat.as_ref(), "HeartbeatSecondsPath")?,
        };
        let kind = classify(&t.resource);
        self.record_task_start(t, &kind, &params, &limits, th);
        let call = TaskCall {
            resource: t.resource.clone(),
            state_name: state.name.to_string(),
            input: params,
            context: self.context(),
            heartbeat: Heartbeat::default(),
        };
        // Only activities and callback tasks can send heartbeats; a request-response call
        // (a Lambda invocation, an SDK call) is bounded by TimeoutSeconds alone.
        let beats =
            matches!(kind, ResourceKind::Activity) || t.resource.ends_with(".waitForTaskToken");
        let outcome = self.invoke(call, &limits, beats).await;
        // "States.DataLimitExceeded": a result over the payload quota fails the task, named
        // by its resource; only a Retry or Catch naming the error handles it (States.ALL does
        // not match it). A result nested too deep (an invoker's value, not parsed text) ends
        // the execution; depth is checked first (the check stops past the bound), and the
        // refused value is dropped without recursion.
        let outcome = outcome.and_then(|result| {
            if too_deep(&result) {
                drop_deep(result);
                Err((
                    "States.Runtime".to_string(),
                    nested_too_deep_cause("task's result"),
                ))
            } else if self.run.ex.limits.too_large(&result) {
                let f = data_limit_exceeded(&t.resource);
                Err((f.error, f.cause))
            } else {
                Ok(result)
            }
        });
        self.record_task_end(&kind, outcome, th)
    }

    /// The scheduled and started events, named after the kind of resource.
    fn record_task_start(
        &self,
        t: &Task,
        kind: &ResourceKind,
        params: &Value,
        limits: &Limits,
        th: &mut Thread,
    ) {
        let (scheduled, started) = match kind {
            ResourceKind::LambdaFunction { .. } => (
                (
                    EventType::LambdaFunctionScheduled,
                    limits.add_to(
                        json!({"resource": t.resource, "input": compact(params), "inputDetails": not_truncated()}),
                    ),
                ),
                (EventType::LambdaFunctionStarted, Value::Null),
            ),
            ResourceKind::Activity => (
                (
                    EventType::ActivityScheduled,
                    limits.add_to(
                        json!({"resource": t.resource, "input": compact(params), "inputDetails": not_truncated()}),
                    ),
                ),
                (
                    EventType::ActivityStarted,
                    json!({"workerName": "ecs-migrate"}),
                ),
            ),
            ResourceKind::Service {
                resource_type,
                resource,
                region,
            } => (
                (
                    EventType::TaskScheduled,
                    limits.add_to(json!({
                        "resourceType": resource_type,
                        "resource": resource,
                        "region": region.clone().unwrap_or_else(|| self.run.ex.region.clone()),
                        "parameters": compact(params),
                    })),
                ),
                (
                    EventType::TaskStarted,
                    json!({"resourceType": resource_type, "resource": resource}),
                ),
            ),
        };
        self.run.rec.record(th, scheduled.0, || scheduled.1);
        self.run.rec.record(th, started.0, || started.1);
    }

    /// Calls the invoker, racing TimeoutSeconds and, when the task can send them, the
    /// heartbeats.
    async fn invoke(
        &self,
        call: TaskCall,
        limits: &Limits,
        beats: bool,
    ) -> Result<Value, (String, String)> {
        let clock = &self.run.ex.clock;
        let beat = call.heartbeat.clone();
        let invoke = self.run.ex.invoker.invoke(call);
        let timer = async {
            match limits.timeout {
                Some(s) => clock.sleep(Duration::from_secs(s)).await,
                None => std::future::pending().await,
            }
        };
        let watchdog = async {
            match limits.heartbeat.filter(|_| beats) {
                Some(h) => loop {
                    let seen = beat.count();
                    clock.sleep(Duration::from_secs(h)).await;
                    if beat.count() == seen {
                        break;
                    }
                },
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = invoke => r.map_err(|f| (f.error, f.cause)),
            _ = timer => Err(("States.Timeout".to_string(), format!("The task exceeded its TimeoutSeconds ({}s)", limits.timeout.unwrap_or_default()))),
            _ = watchdog => Err(("States.HeartbeatTimeout".to_string(), format!("The task sent no heartbeat for HeartbeatSeconds ({}s)", limits.heartbeat.unwrap_or_default()))),
        }
    }

    /// The succeeded, failed or timed-out event of the resource kind.
    fn record_task_end(
        &self,
        kind: &ResourceKind,
        outcome: Result<Value, (String, String)>,
        th: &mut Thread,
    ) -> Result<Value, Failure> {
        let resource_fields = |mut d: Value| {
            if let ResourceKind::Service {
                resource_type,
                resource,
                ..
            } = kind
            {
                d["resourceType"] = json!(resource_type);
                d["resource"] = json!(resource);
            }
            d
        };
        let rec = &self.run.rec;
        match outcome {
            Ok(result) => {
                let ty = match kind {
                    ResourceKind::LambdaFunction { .. } => EventType::LambdaFunctionSucceeded,
                    ResourceKind::Activity => EventType::ActivitySucceeded,
                    ResourceKind::Service { .. } => EventType::TaskSucceeded,
                };
                rec.record(th, ty, || {
                    resource_fields(
                        json!({"output": compact(&result), "outputDetails": not_truncated()}),
                    )
                });
                Ok(result)
            }
            Err((error, cause)) if error == "States.Runtime" => Err(Failure::runtime(cause)),
            Err((error, cause)) => {
                let timed_out =
                    matches!(error.as_str(), "States.Timeout" | "States.HeartbeatTimeout");
                rec.record(th, failed_type(kind, timed_out), || {
                    resource_fields(json!({"error": error, "cause": cause}))
                });
                Err(Failure::new(error, cause))
            }
        }
    }
}

fn failed_type(kind: &ResourceKind, timed_out: bool) -> EventType {
    match (kind, timed_out) {
        (ResourceKind::LambdaFunction { .. }, false) => EventType::LambdaFunctionFailed,
        (ResourceKind::LambdaFunction { .. }, true) => EventType::LambdaFunctionTimedOut,
        (ResourceKind::Activity, false) => EventType::ActivityFailed,
        (ResourceKind::Activity, true) => EventType::ActivityTimedOut,
        (ResourceKind::Service { .. }, false) => EventType::TaskFailed,
        (ResourceKind::Service { .. }, true) => EventType::TaskTimedOut,
    }
}
