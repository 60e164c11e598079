//! Corners where the engine once answered differently from AWS (issue 11): each test runs a
//! definition through the engine and expects what an execution on AWS records.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ecs_migrate::asl::{
    Definition, ExecutionResult, ExecutionStatus, Executor, SeededRandom, UnboundInvoker,
};
use ecs_migrate::common::clock::VirtualClock;
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

/// The cause of a failed execution without the "An error occurred while executing the state
/// '<name>' (entered at the event id #<n>). " prefix the service puts in front of it; the
/// error must be States.Runtime.
async fn runtime_cause(def: Value, input: Value) -> String {
    let r = run(def, input).await;
    assert_eq!(r.status, ExecutionStatus::Failed, "{:?}", r.output);
    assert_eq!(r.error.as_deref(), Some("States.Runtime"), "{:?}", r.cause);
    let cause = r.cause.unwrap_or_default();
    match cause.split_once("). ") {
        Some((located, reason)) if located.starts_with("An error occurred") => reason.to_string(),
        _ => cause,
    }
}

fn one_state(state: Value) -> Value {
    json!({"StartAt": "S", "States": {"S": state}})
}

fn map_with(field: &str, path: &str) -> Value {
    one_state(
        json!({"Type": "Map", "ItemsPath": "$.items", (field): path, "End": true,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}),
    )
}

// TimestampPath, as AWS recorded it (LocalStack's tests/aws/services/stepfunctions/v2/base/
// test_wait.snapshot.json, test_wait_timestamppath[]): "The TimestampPath parameter does not
// reference a valid ISO-8601 extended offset date-time format string: $.start_at == <the
// string>". A value that is no string is shown as JSON (no source gives AWS's form).
#[tokio::test]
async fn timestamp_path_causes() {
    let wait = one_state(json!({"Type": "Wait", "TimestampPath": "$.start_at", "End": true}));
    let prefix = "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: $.start_at == ";
    for (value, shown) in [
        (json!("2026-01-01 00:00:00"), "2026-01-01 00:00:00"),
        (json!("yesterday"), "yesterday"),
        (json!(17), "17"),
        (json!({"t": 1}), r#"{"t":1}"#),
    ] {
        assert_eq!(
            runtime_cause(wait.clone(), json!({ "start_at": value })).await,
            format!("{prefix}{shown}")
        );
    }
}

// Fail's ErrorPath / CausePath that match nothing, as AWS words it
// (localstack/localstack#11951, the cause an execution on AWS records): "The JSONPath
// '$.ErrorX' specified for the field 'ErrorPath' could not be found in the input '{...}'".
#[tokio::test]
async fn error_and_cause_paths_that_match_nothing() {
    let input = json!({"Error": "error-value", "Cause": "cause-value"});
    for field in ["ErrorPath", "CausePath"] {
        let fail = one_state(json!({"Type": "Fail", (field): "$.ErrorX"}));
        assert_eq!(
            runtime_cause(fail, input.clone()).await,
            format!(
                r#"The JSONPath '$.ErrorX' specified for the field '{field}' could not be found in the input '{{"Error":"error-value","Cause":"cause-value"}}'"#
            )
        );
    }
}

// TimeoutSecondsPath and HeartbeatSecondsPath that match nothing: "Invalid path '$.x' : No
// results for path: $['x']" (LocalStack's AWS-validated common/timeouts/timeout.py and
// heartbeat.py, the InputPath wording). A value that is not a positive integer has no
// recorded wording: the engine's own cause names the field and the value.
#[tokio::test]
async fn timeout_and_heartbeat_seconds_paths() {
    for field in ["TimeoutSecondsPath", "HeartbeatSecondsPath"] {
        let task = one_state(json!({"Type": "Task",
            "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", (field): "$.x", "End": true}));
        assert_eq!(
            runtime_cause(task.clone(), json!({"y": 1})).await,
            "Invalid path '$.x' : No results for path: $['x']"
        );
        for bad in [json!(0), json!(-3), json!(1.5), json!("10")] {
            let cause = runtime_cause(task.clone(), json!({ "x": bad })).await;
            assert!(
                cause.contains(field) && cause.contains(&bad.to_string()),
                "{cause}"
            );
        }
    }
}

// Map's tolerated-failure and concurrency paths, in the service's words (issue 11, recorded on
// AWS, for MaxConcurrencyPath and a negative ToleratedFailureCount; LocalStack's
// AWS-validated state_map/tolerated_failure.py for the rest). A string value is shown as is.
#[tokio::test]
async fn map_threshold_paths() {
    let items = |v: Value| json!({"items": [1], "path": v});
    let cases = [
        (
            "ToleratedFailureCountPath",
            json!(1.5),
            r#"The ToleratedFailureCountPath field refers to value "1.5" which is not a valid integer: $.path"#,
        ),
        (
            "ToleratedFailureCountPath",
            json!("two"),
            r#"The ToleratedFailureCountPath field refers to value "two" which is not a valid integer: $.path"#,
        ),
        (
            "ToleratedFailureCountPath",
            json!(-1),
            "ToleratedFailureCount cannot be negative.",
        ),
        (
            "ToleratedFailurePercentagePath",
            json!([]),
            r#"The ToleratedFailurePercentagePath field refers to value "[]" which is not a valid float: $.path"#,
        ),
        (
            "ToleratedFailurePercentagePath",
            json!(100.5),
            "ToleratedFailurePercentage must be between 0 and 100.",
        ),
        (
            "ToleratedFailurePercentagePath",
            json!(-1),
            "ToleratedFailurePercentage must be between 0 and 100.",
        ),
        (
            "MaxConcurrencyPath",
            json!("x"),
            r#"The MaxConcurrencyPath field refers to value "x" which is not a valid integer: $.path"#,
        ),
    ];
    for (field, value, cause) in cases {
        assert_eq!(
            runtime_cause(map_with(field, "$.path"), items(value)).await,
            cause,
            "{field}"
        );
    }
    // In range, each is accepted.
    for (field, value) in [
        ("ToleratedFailureCountPath", json!(2)),
        ("ToleratedFailurePercentagePath", json!(12.5)),
        ("MaxConcurrencyPath", json!(0)),
    ] {
        let r = run(map_with(field, "$.path"), items(value)).await;
        assert_eq!(
            r.status,
            ExecutionStatus::Succeeded,
            "{field}: {:?}",
            r.cause
        );
    }
}

// A Choice rule whose Variable matches nothing: "Invalid path '$.missing': The choice state's
// condition path references an invalid value." (the cause Step Functions records, as
// aws-local-stepfunctions and other emulators reproduce it); IsPresent is the way to test.
#[tokio::test]
async fn a_choice_variable_that_matches_nothing() {
    let choice = one_state(json!({"Type": "Choice", "Default": "S",
        "Choices": [{"Variable": "$.missing", "NumericEquals": 1, "Next": "S"}]}));
    assert_eq!(
        runtime_cause(choice, json!({"present": 1})).await,
        "Invalid path '$.missing': The choice state's condition path references an invalid value."
    );
}

// Intrinsic functions, as AWS words their failures (floci-io/floci's
// StepFunctionsIntrinsicMissingArgumentIntegrationTest, causes recorded on AWS us-east-1):
// the whole expression is named, also when a nested call took the missing argument; and
// "Invalid arguments in States.MathAdd" (an integration test against AWS), "... in
// States.StringToJson" (a user's report of an execution on AWS), "... in States.ArrayRange /
// ArrayPartition / MathRandom" (a conformance suite run against AWS).
#[tokio::test]
async fn intrinsic_failures() {
    let pass =
        |call: &str| one_state(json!({"Type": "Pass", "Parameters": {"v.$": call}, "End": true}));
    let cases = [
        ("States.Format('{}', $.nope)", json!({"other": 1}),
         r#"The function 'States.Format('{}', $.nope)' had the following error: The JsonPath argument for the field '$.nope' could not be found in the input '{"other":1}'"#),
        ("States.Format('{}', States.Format('{}', $.nope))", json!({"other": 1}),
         r#"The function 'States.Format('{}', States.Format('{}', $.nope))' had the following error: The JsonPath argument for the field '$.nope' could not be found in the input '{"other":1}'"#),
        ("States.Format('{}', $.items[5])", json!({"items": [1, 2]}),
         r#"The function 'States.Format('{}', $.items[5])' had the following error: The JsonPath argument for the field '$.items[5]' could not be found in the input '{"items":[1,2]}'"#),
        ("States.MathAdd($.a, $.b)", json!({"a": 1, "b": "NOT A NUMBER"}),
         "The function 'States.MathAdd($.a, $.b)' had the following error: Invalid arguments in States.MathAdd"),
        ("States.StringToJson($.s)", json!({"s": "{nope"}),
         "The function 'States.StringToJson($.s)' had the following error: Invalid arguments in States.StringToJson"),
        ("States.ArrayRange(1, 9, 0)", json!({}),
         "The function 'States.ArrayRange(1, 9, 0)' had the following error: Invalid arguments in States.ArrayRange"),
        ("States.ArrayPartition($.a, 0)", json!({"a": [1]}),
         "The function 'States.ArrayPartition($.a, 0)' had the following error: Invalid arguments in States.ArrayPartition"),
        ("States.MathRandom(5, 5)", json!({}),
         "The function 'States.MathRandom(5, 5)' had the following error: Invalid arguments in States.MathRandom"),
    ];
    for (call, input, cause) in cases {
        assert_eq!(runtime_cause(pass(call), input).await, cause, "{call}");
    }
    // A present null argument is no miss.
    assert_eq!(
        eval("States.Format('{}', $.nul)", json!({"nul": null})).await,
        json!("null")
    );
}
