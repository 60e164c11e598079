//! Corners where the engine once answered differently from AWS (issue 11): each test runs a
//! definition through the engine and expects what an execution on AWS records.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ecs_migrate::asl::{
    Definition, ExecutionResult, ExecutionStatus, Executor, SeededRandom, UnboundInvoker,
};
use ecs_migrate::clock::VirtualClock;
use serde_json::{json, Value};

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .expect("a fixed RFC 3339 time")
}

async fn run(def: Value, input: Value) -> ExecutionResult {
    let def = Definition::parse(&def).unwrap_or_else(|p| panic!("{p:#?}"));
    Executor::new(
        def,
        Arc::new(UnboundInvoker),
        Arc::new(VirtualClock::starting_at(start())),
    )
    .with_random(Arc::new(SeededRandom::new(7)))
    .run_to_completion(input)
    .await
}

/// Runs `{"value.$": call}` in a Pass state and returns `value`.
async fn eval(call: &str, input: Value) -> Value {
    let def = json!({"StartAt": "S", "States": {"S": {"Type": "Pass",
        "Parameters": {"value.$": call}, "End": true}}});
    let r = run(def, input).await;
    assert_eq!(
        r.status,
        ExecutionStatus::Succeeded,
        "{call}: {:?}",
        r.cause
    );
    r.output.expect("a succeeded execution has output")["value"].clone()
}

// Executions on AWS give null for States.StringToJson of an empty string (issue 11's field
// report; LocalStack's implementation, whose snapshots are recorded against AWS, returns None
// for an empty or blank string). The engine used to fail with States.Runtime.
#[tokio::test]
async fn string_to_json_of_an_empty_string_is_null() {
    for s in ["", "   ", "\n\t"] {
        assert_eq!(
            eval("States.StringToJson($.s)", json!({"s": s})).await,
            Value::Null,
            "{s:?}"
        );
    }
    assert_eq!(
        eval("States.StringToJson($.s)", json!({"s": " [1] "})).await,
        json!([1])
    );
}

// Step Functions evaluates paths with Jayway JsonPath: a bracket name takes the escapes of a
// Java string literal (PathCompiler.readBracketPropertyToken, Utils.unescape). So
// `$['a\\"b']` names the field a\"b and `$["a\"b"]` the field a"b, in every field that takes
// a path: InputPath, Parameters, intrinsic arguments, Choice Variable, ItemsPath, ResultPath.
#[tokio::test]
async fn bracket_names_with_escaped_quotes_and_backslashes_resolve() {
    let def = json!({"StartAt": "In", "States": {
        "In": {"Type": "Pass", "InputPath": r#"$['a\\"b']"#,
               "Parameters": {
                   "plain.$": r#"$["c\"d"]"#,
                   "formatted.$": r#"States.Format('{} {}', $['c\"d'], $["t\tab"])"#,
                   "items.$": r#"$['\u0069tems']"#
               },
               "ResultPath": r#"$['out\\put']"#, "Next": "Pick"},
        "Pick": {"Type": "Choice",
                 "Choices": [{"Variable": r#"$['a\\"b']["c\"d"]"#, "NumericEquals": 1,
                              "Next": "Each"}],
                 "Default": "Missed"},
        "Each": {"Type": "Map", "ItemsPath": r#"$['out\\put'].items"#,
                 "ItemProcessor": {"StartAt": "Echo", "States": {"Echo": {"Type": "Pass", "End": true}}},
                 "ResultPath": "$.mapped", "End": true},
        "Missed": {"Type": "Fail", "Error": "Missed"}
    }});
    let input = json!({r#"a\"b"#: {r#"c"d"#: 1, "t\tab": "x", "items": [1, 2]}});
    let r = run(def, input).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded, "{:?}", r.cause);
    let output = r.output.expect("output");
    assert_eq!(output["mapped"], json!([1, 2]));
    assert_eq!(
        output[r"out\put"],
        json!({"plain": 1, "formatted": "1 x", "items": [1, 2]})
    );
}

// A path the data does not satisfy is reported with the path as written, escapes included.
#[tokio::test]
async fn a_missing_escaped_path_is_reported_as_written() {
    let path = r#"$['no\\"such']"#;
    let def = json!({"StartAt": "S", "States": {"S": {"Type": "Pass",
        "Parameters": {"v.$": path}, "End": true}}});
    let r = run(def, json!({})).await;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    assert!(
        r.cause.as_deref().unwrap_or_default().contains(path),
        "{:?}",
        r.cause
    );
}
