//! AWS's quotas in the engine: 25,000 history events per execution, 256 KiB of execution
//! input and of any state's result or output, a closed stdout; and that `Limits::none()`
//! and `--no-limits` turn them off.

use std::process::{Command, Stdio};
use std::sync::Arc;

use ecs_migrate::asl::{
    Definition, ExecutionResult, ExecutionStatus, Executor, InputRefused, Limits, UnboundInvoker,
    MAX_HISTORY_EVENTS,
};
use ecs_migrate::common::clock::VirtualClock;
use serde_json::{json, Value};

const QUOTA: usize = 262_144;

fn executor(definition: Value) -> Executor {
    let definition = Definition::parse(&definition).expect("a valid definition");
    let clock = Arc::new(VirtualClock::starting_at(chrono::Utc::now()));
    Executor::new(definition, Arc::new(UnboundInvoker), clock).with_execution_name("limits")
}

async fn run(executor: &Executor, input: Value) -> ExecutionResult {
    executor.run_to_completion(input).await
}

/// A Pass -> Choice loop that never ends by itself.
fn endless_loop() -> Value {
    json!({
        "StartAt": "Spin",
        "States": {
            "Spin": {"Type": "Pass", "Result": {"spin": true}, "Next": "Loop"},
            "Loop": {"Type": "Choice",
                     "Choices": [{"Variable": "$.spin", "BooleanEquals": true, "Next": "Spin"}],
                     "Default": "Done"},
            "Done": {"Type": "Succeed"}
        }
    })
}

// AWS's cut: "If the event number 25,000 isn't ExecutionSucceeded, the ExecutionFailed event
// is logged" (developer guide, "Avoid reaching the history quota"); error States.Runtime and
// cause "The execution reached the maximum number of history events (25000)." as an execution
// failed by AWS records them (loads/ardere#86), in event 25,000 after event 24,999
// (floci-io/floci#2734, get-execution-history of a Choice loop on AWS).
#[tokio::test]
async fn an_endless_loop_fails_at_event_25000_as_aws_fails_it() {
    let result = run(&executor(endless_loop()), json!({})).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert_eq!(result.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        result.cause.as_deref(),
        Some("The execution reached the maximum number of history events (25000).")
    );
    assert_eq!(result.history.len() as u64, MAX_HISTORY_EVENTS);
    let last = result.history.last().expect("events");
    assert_eq!(last.id, MAX_HISTORY_EVENTS);
    assert_eq!(last.previous_event_id, MAX_HISTORY_EVENTS - 1);
    assert_eq!(last.event_type.as_str(), "ExecutionFailed");
    let ids: Vec<u64> = result.history.iter().map(|e| e.id).collect();
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "ids are contiguous"
    );
}

#[tokio::test]
async fn the_history_quota_counts_events_that_are_not_kept() {
    let result = run(&executor(endless_loop()).without_history(), json!({})).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert_eq!(result.error.as_deref(), Some("States.Runtime"));
    assert!(result.history.is_empty());
}

// A loop of n rounds records 2 + 4n events (entered and exited of Pass and Choice per round,
// plus the start, Succeed and end): 7,000 rounds are over the quota and fine without it.
#[tokio::test]
async fn limits_none_lets_a_long_loop_finish() {
    let definition = json!({
        "StartAt": "Count",
        "States": {
            "Count": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "More?"},
            "More?": {"Type": "Choice",
                      "Choices": [{"Variable": "$.i", "NumericLessThan": 7000, "Next": "Count"}],
                      "Default": "Done"},
            "Done": {"Type": "Succeed"}
        }
    });
    let limited = run(&executor(definition.clone()), json!({"i": 0})).await;
    assert_eq!(limited.status, ExecutionStatus::Failed);
    let unlimited = executor(definition).with_limits(Limits::none());
    let result = run(&unlimited, json!({"i": 0})).await;
    assert_eq!(
        result.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        result.cause
    );
    assert_eq!(result.output, Some(json!({"i": 7000})));
    assert!(result.history.len() as u64 > MAX_HISTORY_EVENTS);
}

/// A JSON string value whose text is exactly `bytes` long: `{"s":"xxx…"}`.
fn payload_of(bytes: usize) -> Value {
    json!({"s": "x".repeat(bytes - r#"{"s":""}"#.len())})
}

// StartExecution: input "Length Constraints: Maximum length of 262144" bytes of UTF-8 (API
// reference); a longer input starts no execution.
#[tokio::test]
async fn an_execution_input_over_256_kib_is_refused_at_start() {
    let pass = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let ex = executor(pass);
    assert_eq!(ex.check_input(&payload_of(QUOTA)), Ok(()));
    let ok = run(&ex, payload_of(QUOTA)).await;
    assert_eq!(ok.status, ExecutionStatus::Succeeded);

    let refused = ex
        .start(payload_of(QUOTA + 1), std::future::pending())
        .await
        .expect_err("refused");
    assert_eq!(
        refused,
        InputRefused::InputTooLarge {
            bytes: QUOTA as u64 + 1,
            limit: QUOTA as u64
        }
    );
    let result = run(&ex, payload_of(QUOTA + 1)).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert!(result.history.is_empty(), "nothing started");
    let free = run(&ex.with_limits(Limits::none()), payload_of(QUOTA + 1)).await;
    assert_eq!(free.status, ExecutionStatus::Succeeded);
}

// AWS, for a Pass state whose result is over the quota: States.DataLimitExceeded, "The
// state/task '<name>' returned a result with a size exceeding the maximum number of bytes
// service limit." (issue 11; the same cause for a Map named 'ProcessAllItems' in
// aws-samples/review-and-assessment-powered-by-intelligent-documentation#58).
#[tokio::test]
async fn a_pass_result_over_256_kib_fails_with_data_limit_exceeded() {
    let definition = json!({"StartAt": "Big", "States": {
        "Big": {"Type": "Pass", "Result": payload_of(QUOTA + 1), "End": true}}});
    let result = run(&executor(definition), json!({})).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert_eq!(result.error.as_deref(), Some("States.DataLimitExceeded"));
    assert_eq!(
        result.cause.as_deref(),
        Some("The state/task 'Big' returned a result with a size exceeding the maximum number of bytes service limit.")
    );
}

// A state whose output doubles its input on every round: it must end with the quota's error
// long before memory runs out (18 rounds from 2 bytes).
#[tokio::test]
async fn a_doubling_input_fails_with_data_limit_exceeded() {
    let definition = json!({
        "StartAt": "Double",
        "States": {
            "Double": {"Type": "Pass", "Parameters": {"a.$": "$", "b.$": "$"}, "Next": "Double"}
        }
    });
    let result = run(&executor(definition), json!({})).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert_eq!(result.error.as_deref(), Some("States.DataLimitExceeded"));
    assert!(
        result.history.len() < 100,
        "{} events",
        result.history.len()
    );
}

// A Map's result array over the quota fails the Map state, which a Catch naming the error
// handles.
#[tokio::test]
async fn a_map_result_over_256_kib_is_caught_by_name() {
    let definition = json!({
        "StartAt": "Each",
        "States": {
            "Each": {"Type": "Map", "ItemsPath": "$.items",
                     "ItemProcessor": {"StartAt": "Grow", "States": {
                         "Grow": {"Type": "Pass", "Result": payload_of(QUOTA / 3), "End": true}}},
                     "Catch": [{"ErrorEquals": ["States.DataLimitExceeded"], "Next": "Caught"}],
                     "End": true},
            "Caught": {"Type": "Pass", "End": true}
        }
    });
    let result = run(&executor(definition), json!({"items": [1, 2, 3, 4]})).await;
    assert_eq!(result.status, ExecutionStatus::Succeeded);
    let output = result.output.expect("output");
    assert_eq!(output["Error"], "States.DataLimitExceeded");
    assert_eq!(
        output["Cause"],
        "The state/task 'Each' returned a result with a size exceeding the maximum number of bytes service limit."
    );
}

fn write_definition(dir: &std::path::Path, definition: &Value) -> std::path::PathBuf {
    let path = dir.join("machine.asl.json");
    std::fs::write(&path, definition.to_string()).expect("write the definition");
    path
}

// `asl run ... | head` where head has already exited: the write fails with EPIPE, which
// is no error (exit 0 as the execution succeeded), and never a panic (exit 101).
#[test]
fn asl_run_exits_quietly_on_a_closed_stdout() {
    let dir = tempdir();
    let file = write_definition(
        &dir,
        &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    );
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let output = Command::new(env!("CARGO_BIN_EXE_ecs-migrate"))
        .args(["asl", "run", "--quiet", "--definition"])
        .arg(&file)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("run ecs-migrate");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn asl_run_refuses_a_large_input_unless_no_limits() {
    let dir = tempdir();
    let file = write_definition(
        &dir,
        &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "OutputPath": "$.n", "End": true}}}),
    );
    let mut input = payload_of(QUOTA + 1);
    input["n"] = json!(1);
    let input_file = dir.join("input.json");
    std::fs::write(&input_file, input.to_string()).expect("write the input");
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ecs-migrate"))
            .args(["asl", "run", "--quiet", "--definition"])
            .arg(&file)
            .arg("--input")
            .arg(format!("@{}", input_file.display()))
            .args(extra)
            .output()
            .expect("run ecs-migrate")
    };
    let refused = run(&[]);
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("Member must have length less than or equal to 262144"),
        "{stderr}"
    );
    let free = run(&["--no-limits"]);
    assert_eq!(free.status.code(), Some(0));
    let printed: Value = serde_json::from_slice(&free.stdout).expect("one JSON object");
    assert_eq!(printed["output"], 1);
}

/// A fresh directory under the target's temporary directory.
fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "asl_limits-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    dir
}

/// The cause of a States.Runtime failure, without the "An error occurred while executing
/// the state ..." prefix that locates it.
async fn runtime_cause(definition: Value, input: Value) -> String {
    let result = run(&executor(definition), input).await;
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert_eq!(result.error.as_deref(), Some("States.Runtime"));
    let cause = result.cause.unwrap_or_default();
    match cause.split_once("). ") {
        Some((located, reason)) if located.starts_with("An error occurred") => reason.to_string(),
        _ => cause,
    }
}

// Causes as AWS words them (issue 11, from executions recorded on AWS; the negative
// SecondsPath wording as LocalStack's AWS-snapshotted tests record it).
#[tokio::test]
async fn runtime_causes_use_aws_wording() {
    let wait = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.path", "End": true}}});
    assert_eq!(
        runtime_cause(wait.clone(), json!({"path": -1.5})).await,
        "The SecondsPath parameter cannot be parsed as a long value: $.path == -1.5"
    );
    assert_eq!(
        runtime_cause(wait, json!({"path": -1})).await,
        "The SecondsPath parameter references a negative value: $.path == -1"
    );
    let map = |field: &str| {
        json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", (field): "$.path", "End": true,
            "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}})
    };
    assert_eq!(
        runtime_cause(map("MaxConcurrencyPath"), json!({"path": {}, "items": [1]})).await,
        "The MaxConcurrencyPath field refers to value \"{}\" which is not a valid integer: $.path"
    );
    assert_eq!(
        runtime_cause(
            map("ToleratedFailureCountPath"),
            json!({"path": -1, "items": [1]})
        )
        .await,
        "ToleratedFailureCount cannot be negative."
    );
    for field in ["InputPath", "OutputPath"] {
        let pass =
            json!({"StartAt": "P", "States": {"P": {"Type": "Pass", (field): "$.x", "End": true}}});
        assert_eq!(
            runtime_cause(pass, json!({"y": 1})).await,
            "Invalid path '$.x' : No results for path: $['x']"
        );
    }
}
