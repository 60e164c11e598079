//! Static checks of statemachine/migration.asl.json that asl-validator cannot make.

use std::collections::BTreeSet;

use ecs_migrate::statemachine::Step;
use ecs_migrate::ErrorKind;
use serde_json::Value;

use crate::process;

fn definition() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/statemachine/migration.asl.json"
    ))
    .expect("read the definition");
    serde_json::from_str(&text).expect("the definition is JSON")
}

fn states(definition: &Value) -> Vec<(String, Value)> {
    definition["States"]
        .as_object()
        .expect("States is an object")
        .iter()
        .map(|(name, state)| (name.clone(), state.clone()))
        .collect()
}

#[test]
fn every_error_name_matched_is_a_design_error_a_lambda_error_or_a_states_error() {
    let definition = definition();
    let mut seen = BTreeSet::new();
    for (name, state) in states(&definition) {
        for list in ["Retry", "Catch"] {
            for rule in state[list].as_array().into_iter().flatten() {
                let errors = rule["ErrorEquals"]
                    .as_array()
                    .expect("ErrorEquals is a list");
                for (i, error) in errors.iter().enumerate() {
                    let error = error.as_str().expect("error names are strings");
                    assert!(
                        ErrorKind::ALL.iter().any(|k| k.name() == error)
                            || error.starts_with("Lambda.")
                            || error.starts_with("States.")
                            // A function that runs past its timeout (Step Functions
                            // Developer Guide, "Handling transient Lambda service exceptions").
                            || error == "Sandbox.Timedout",
                        "/States/{name}/{list}: unknown error name {error}"
                    );
                    if error == "States.ALL" {
                        assert_eq!(
                            i,
                            errors.len() - 1,
                            "/States/{name}/{list}: States.ALL must stand alone"
                        );
                    }
                    seen.insert(error.to_string());
                }
            }
        }
    }
    // Capacity is a RETRY_LATER loop in the definition, not a Retry; timeouts and crashes of a
    // function are retried like Lambda's transient errors.
    assert!(!seen.contains("Migration.CapacityUnavailable"));
    assert!(seen.contains("Sandbox.Timedout") && seen.contains("Lambda.Unknown"));
    assert!(seen.contains("Lambda.TooManyRequestsException"));
}

#[test]
fn task_resources_are_exactly_the_function_placeholders() {
    let definition = definition();
    let resources: BTreeSet<String> = states(&definition)
        .into_iter()
        .filter(|(_, s)| s["Type"] == "Task")
        .map(|(_, s)| s["Resource"].as_str().expect("Resource").to_string())
        .collect();
    let expected: BTreeSet<String> = Step::ALL.iter().map(|s| s.placeholder()).collect();
    assert_eq!(resources, expected);
}

#[test]
fn every_failure_after_run_task_passes_through_stop_task() {
    let definition = definition();
    let mut checked = 0;
    for (name, state) in states(&definition) {
        if ["RunTask", "PollStatus", "CheckExitCode"].contains(&name.as_str()) {
            checked += 1;
            let catches = state["Catch"].as_array().expect("Catch");
            assert!(
                catches
                    .iter()
                    .all(|c| c["Next"] == "StopTask" && c["ResultPath"] == "$.error"),
                "/States/{name}/Catch must go to StopTask keeping the error at $.error"
            );
        }
    }
    assert_eq!(
        checked, 3,
        "RunTask, PollStatus and CheckExitCode must all exist"
    );
    let fail = &definition["States"]["MigrationFailed"];
    assert_eq!(fail["ErrorPath"], "$.error.Error");
    assert_eq!(fail["CausePath"], "$.error.Cause");
    // StopTask's own failure must not overwrite the original error.
    assert_eq!(
        definition["States"]["StopTask"]["Catch"][0]["ResultPath"],
        "$.stop_error"
    );
}

#[test]
fn the_docs_show_the_generated_graph() {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ecs-migrate"));
    cmd.args(["asl", "graph"]).arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/statemachine/migration.asl.json"
    ));
    let output = process::finish(process::spawn(cmd));
    assert_eq!(output.code, 0, "{output:?}");
    let graph = output.stdout;
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/state-machine.md"
    ))
    .unwrap();
    assert!(
        docs.contains(&format!("```mermaid\n{}```", graph)),
        "docs/state-machine.md's graph is stale: paste the output of `ecs-migrate asl graph statemachine/migration.asl.json`"
    );
}

/// Settings' lease check counts on PollStatus's Retry waiting POLL_RETRY_WINDOW_SECONDS in all
/// before it gives up (issue 19): the sum of its waits as the ASL specification defines them
/// (IntervalSeconds, times BackoffRate per retry, capped by MaxDelaySeconds, for MaxAttempts
/// retries; no jitter), over every retrier of the state.
#[test]
fn the_lease_check_knows_poll_status_retry_window() {
    let definition = definition();
    let poll = states(&definition)
        .into_iter()
        .find(|(name, _)| name == "PollStatus")
        .map(|(_, state)| state)
        .expect("a PollStatus state");
    let mut window = 0.0_f64;
    for retrier in poll["Retry"].as_array().expect("PollStatus retries") {
        assert_eq!(
            retrier["JitterStrategy"], "NONE",
            "a jittered wait is shorter, not longer"
        );
        let interval = retrier["IntervalSeconds"].as_f64().unwrap_or(1.0);
        let rate = retrier["BackoffRate"].as_f64().unwrap_or(2.0);
        let cap = retrier["MaxDelaySeconds"].as_f64().unwrap_or(f64::MAX);
        let attempts = retrier["MaxAttempts"].as_u64().unwrap_or(3);
        let longest = (0..attempts)
            .map(|n| (interval * rate.powi(n as i32)).min(cap))
            .sum::<f64>();
        window = window.max(longest);
    }
    assert_eq!(
        window as u64,
        ecs_migrate::migration::settings::POLL_RETRY_WINDOW_SECONDS,
        "src/migration/settings.rs POLL_RETRY_WINDOW_SECONDS no longer matches PollStatus's Retry"
    );
}
