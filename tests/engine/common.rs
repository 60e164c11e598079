//! Helpers for the engine tests: a fixed virtual clock, deterministic randomness, and
//! one-call execution.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ecs_migrate::asl::{
    Definition, ExecutionResult, Executor, RegistryInvoker, SeededRandom, TaskInvoker,
};
use ecs_migrate::common::clock::VirtualClock;
use serde_json::Value;

pub fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// Seconds between the execution's start and an event.
pub fn secs_since_start(r: &ExecutionResult, event_index: usize) -> i64 {
    (r.history[event_index].timestamp - t0()).num_seconds()
}

pub fn definition(v: Value) -> Definition {
    match Definition::parse(&v) {
        Ok(d) => d,
        Err(p) => panic!("definition problems: {p:#?}"),
    }
}

pub fn executor(def: Value, invoker: Arc<dyn TaskInvoker>) -> (Executor, Arc<VirtualClock>) {
    let clock = Arc::new(VirtualClock::starting_at(t0()));
    let ex = Executor::new(definition(def), invoker, clock.clone())
        .with_execution_name("test-execution")
        .with_state_machine_name("TestMachine")
        .with_random(Arc::new(SeededRandom::new(42)));
    (ex, clock)
}

pub async fn run_with(
    def: Value,
    input: Value,
    invoker: impl TaskInvoker + 'static,
) -> ExecutionResult {
    let (ex, _) = executor(def, Arc::new(invoker));
    ex.run_to_completion(input).await
}

pub async fn run(def: Value, input: Value) -> ExecutionResult {
    run_with(def, input, RegistryInvoker::new()).await
}

pub fn types(r: &ExecutionResult) -> Vec<&'static str> {
    r.history.iter().map(|e| e.event_type.as_str()).collect()
}

/// A one-state machine around `state` (named "S").
pub fn single(state: Value) -> Value {
    serde_json::json!({"StartAt": "S", "States": {"S": state}})
}
