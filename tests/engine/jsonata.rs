//! JSONata states, from the Step Functions developer guide's JSONata pages:
//! - "Transforming data with JSONata in Step Functions",
//!   https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html
//! - "Passing data between states with variables",
//!   https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html
//! - "Processing input and output in Step Functions",
//!   https://docs.aws.amazon.com/step-functions/latest/dg/concepts-input-output-filtering.html
//! - "Handling errors in Step Functions workflows" (States.QueryEvaluationError),
//!   https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
//!
//! One test per field and function, each asserting the output or the error and cause; then
//! the engine's own wrapping of the library (error texts, `$random`, refused operators).

use crate::common;

use common::*;
use ecs_migrate::asl::{
    Definition, ExecutionResult, ExecutionStatus, RegistryInvoker, TaskFailure,
};
use serde_json::{json, Value};

const LAMBDA: &str = "arn:aws:lambda:us-east-1:123456789012:function:f";

/// A JSONata machine (top-level QueryLanguage) of the given states, starting at "S".
fn ata(states: Value) -> Value {
    json!({"QueryLanguage": "JSONata", "StartAt": "S", "States": states})
}

/// A one-state JSONata machine.
fn one(state: Value) -> Value {
    ata(json!({"S": state}))
}

/// An invoker whose function `f` answers with its input under "got".
fn echo() -> RegistryInvoker {
    RegistryInvoker::new().register("f", |call| async move {
        Ok::<_, TaskFailure>(json!({"got": call.input}))
    })
}

fn output(r: &ExecutionResult) -> Value {
    assert_eq!(
        r.status,
        ExecutionStatus::Succeeded,
        "{:?} {:?}",
        r.error,
        r.cause
    );
    r.output.clone().unwrap_or_default()
}

/// The error and cause of a failed execution.
fn failure(r: &ExecutionResult) -> (String, String) {
    assert_eq!(r.status, ExecutionStatus::Failed, "{:?}", r.output);
    (
        r.error.clone().unwrap_or_default(),
        r.cause.clone().unwrap_or_default(),
    )
}

fn problems(def: Value) -> Vec<String> {
    match Definition::parse(&def) {
        Ok(_) => Vec::new(),
        Err(p) => p.iter().map(|p| p.to_string()).collect(),
    }
}

/// The value of one expression in a Pass state's Output.
async fn eval(expr: &str, input: Value) -> Result<Value, (String, String)> {
    let r = run(
        one(json!({"Type": "Pass", "Output": {"v": format!("{{% {expr} %}}")}, "End": true})),
        input,
    )
    .await;
    match r.status {
        ExecutionStatus::Succeeded => Ok(r.output.unwrap_or_default()["v"].clone()),
        _ => Err(failure(&r)),
    }
}

// transforming-data.html, "Sample after conversion to JSONata": given input {"title":
// "Doctor"} and the variable customerName assigned "María", Arguments give {"static":
// "Hello", "title": "Doctor", "name": "María", "not-evaluated": "$customerName"}.
#[tokio::test]
async fn arguments_from_the_conversion_example() {
    let def = ata(json!({
        "S": {"Type": "Pass", "Assign": {"customerName": "María"}, "Next": "T"},
        "T": {"Type": "Task", "Resource": LAMBDA, "Arguments": {
            "static": "Hello",
            "title": "{% $states.input.title %}",
            "name": "{% $customerName %}",
            "not-evaluated": "$customerName"
        }, "End": true}
    }));
    let r = run_with(def, json!({"title": "Doctor"}), echo()).await;
    assert_eq!(
        output(&r),
        json!({"got": {"static": "Hello", "title": "Doctor", "name": "María", "not-evaluated": "$customerName"}})
    );
}

// concepts-input-output-filtering.html: a Task's Output is built from $states.result (the
// result) and $states.input (the state's raw input); without Output the result is the output.
#[tokio::test]
async fn output_reads_result_and_input() {
    let def = one(json!({"Type": "Task", "Resource": LAMBDA,
        "Arguments": {"x": "{% $states.input.x %}"},
        "Output": {"fromResult": "{% $states.result.got.x %}", "fromInput": "{% $states.input.keep %}"},
        "End": true}));
    let r = run_with(def, json!({"x": 5, "keep": "k"}), echo()).await;
    assert_eq!(output(&r), json!({"fromResult": 5, "fromInput": "k"}));
    let plain = one(
        json!({"Type": "Task", "Resource": LAMBDA, "Arguments": "{% $states.input %}", "End": true}),
    );
    let r = run_with(plain, json!({"a": 1}), echo()).await;
    assert_eq!(output(&r), json!({"got": {"a": 1}}));
    // A Pass without Output passes its input on.
    let r = run(one(json!({"Type": "Pass", "End": true})), json!({"a": [1]})).await;
    assert_eq!(output(&r), json!({"a": [1]}));
}

// workflow-variables.html: the assignments of one state are evaluated together, with the
// values the variables had before the state ("x" and "y" swap); Output reads them the same.
#[tokio::test]
async fn assign_sees_values_before_the_state() {
    let def = ata(json!({
        "S": {"Type": "Pass", "Assign": {"x": 1, "y": 2}, "Next": "Swap"},
        "Swap": {"Type": "Pass", "Assign": {"x": "{% $y %}", "y": "{% $x %}"}, "Output": {"xBefore": "{% $x %}"}, "Next": "Show"},
        "Show": {"Type": "Pass", "Output": {"x": "{% $x %}", "y": "{% $y %}", "before": "{% $states.input.xBefore %}"}, "End": true}
    }));
    assert_eq!(
        output(&run(def, json!({})).await),
        json!({"x": 2, "y": 1, "before": 1})
    );
}

// workflow-variables.html: a variable assigned outside a Map or Parallel is read inside it;
// one assigned inside stays there.
#[tokio::test]
async fn variables_reach_into_map_iterations() {
    let def = ata(json!({
        "S": {"Type": "Pass", "Assign": {"factor": 10}, "Next": "M"},
        "M": {"Type": "Map", "Items": "{% $states.input.nums %}", "ItemProcessor": {"StartAt": "Mul", "States": {
            "Mul": {"Type": "Pass", "Assign": {"inner": 1}, "Output": "{% $states.input * $factor %}", "End": true}
        }}, "Output": {"r": "{% $states.result %}", "inner": "{% $exists($inner) %}"}, "End": true}
    }));
    assert_eq!(
        output(&run(def, json!({"nums": [1, 2, 3]})).await),
        json!({"r": [10, 20, 30], "inner": false})
    );
}

// Choice in JSONata: "Condition" takes a boolean expression; a matched rule's Output and
// Assign apply, the Default takes the state's own.
#[tokio::test]
async fn choice_condition_rule_output_and_default() {
    let def = ata(json!({
        "S": {"Type": "Choice", "Choices": [
            {"Condition": "{% $states.input.age >= 18 %}", "Next": "Adult", "Output": {"who": "adult"}, "Assign": {"minor": false}},
            {"Condition": true, "Next": "Minor"}
        ], "Default": "Minor"},
        "Adult": {"Type": "Pass", "Output": {"who": "{% $states.input.who %}", "minor": "{% $minor %}"}, "End": true},
        "Minor": {"Type": "Succeed", "Output": {"minor": true}}
    }));
    assert_eq!(
        output(&run(def.clone(), json!({"age": 30})).await),
        json!({"who": "adult", "minor": false})
    );
    assert_eq!(
        output(&run(def, json!({"age": 3})).await),
        json!({"minor": true})
    );
    let default = ata(json!({
        "S": {"Type": "Choice", "Choices": [{"Condition": "{% false %}", "Next": "D"}], "Default": "D", "Output": "{% 'default' %}"},
        "D": {"Type": "Succeed"}
    }));
    assert_eq!(output(&run(default, json!({})).await), json!("default"));
}

// A Condition that gives no boolean fails the state with States.QueryEvaluationError.
#[tokio::test]
async fn condition_must_be_a_boolean() {
    let def = ata(json!({
        "S": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.n %}", "Next": "D"}], "Default": "D"},
        "D": {"Type": "Succeed"}
    }));
    let (error, cause) = failure(&run(def, json!({"n": 1})).await);
    assert_eq!(error, "States.QueryEvaluationError");
    assert_eq!(cause, "An error occurred while executing the state 'S' (entered at the event id #2). The JSONata expression '$states.input.n' specified for the field 'Choices[0]/Condition' returned an unexpected result type. Expected 'boolean', but was 'number' for value: 1");
}

// concepts-error-handling.html: in a catcher, $states.errorOutput holds Error and Cause;
// without Output the error output is the state's output.
#[tokio::test]
async fn catch_output_and_assign_read_error_output() {
    let failing = RegistryInvoker::new().register("f", |_| async move {
        Err::<Value, _>(TaskFailure::new("Boom", "it broke"))
    });
    let def = ata(json!({
        "S": {"Type": "Task", "Resource": LAMBDA, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H",
            "Output": {"e": "{% $states.errorOutput.Error %}", "in": "{% $states.input.id %}"},
            "Assign": {"cause": "{% $states.errorOutput.Cause %}"}}], "End": true},
        "H": {"Type": "Pass", "Output": {"caught": "{% $states.input %}", "cause": "{% $cause %}"}, "End": true}
    }));
    let r = run_with(def, json!({"id": 7}), failing).await;
    assert_eq!(
        output(&r),
        json!({"caught": {"e": "Boom", "in": 7}, "cause": "it broke"})
    );
    let bare = ata(json!({
        "S": {"Type": "Task", "Resource": LAMBDA, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "H"}], "End": true},
        "H": {"Type": "Succeed"}
    }));
    let failing = RegistryInvoker::new().register("f", |_| async move {
        Err::<Value, _>(TaskFailure::new("Boom", "it broke"))
    });
    assert_eq!(
        output(&run_with(bare, json!({}), failing).await),
        json!({"Error": "Boom", "Cause": "it broke"})
    );
}

// $states.errorOutput exists in a catcher only, $states.result after success only.
#[tokio::test]
async fn error_output_and_result_elsewhere_are_undefined() {
    let (error, cause) = failure(
        &run(
            one(json!({"Type": "Pass", "Output": "{% $states.errorOutput %}", "End": true})),
            json!({}),
        )
        .await,
    );
    assert_eq!(error, "States.QueryEvaluationError");
    assert!(cause.ends_with("The JSONata expression '$states.errorOutput' specified for the field 'Output' returned nothing (undefined)."), "{cause}");
    let (_, cause) = failure(
        &run(
            one(json!({"Type": "Pass", "Output": "{% $states.result %}", "End": true})),
            json!({}),
        )
        .await,
    );
    assert!(
        cause.ends_with("specified for the field 'Output' returned nothing (undefined)."),
        "{cause}"
    );
}

// $states.context is the context object.
#[tokio::test]
async fn states_context() {
    let v = eval(
        "$states.context.Execution.Name & '/' & $states.context.State.Name",
        json!({}),
    )
    .await;
    assert_eq!(v, Ok(json!("test-execution/S")));
}

// A QueryEvaluationError is caught like any other error, and the failing field is named in
// an EvaluationFailed event (error, cause, location, state).
#[tokio::test]
async fn evaluation_failed_event_and_catch() {
    let def = ata(json!({
        "S": {"Type": "Task", "Resource": LAMBDA, "Arguments": {"a": {"b": "{% $states.input.missing %}"}},
            "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Next": "H"}], "End": true},
        "H": {"Type": "Succeed"}
    }));
    let r = run_with(def, json!({}), echo()).await;
    assert_eq!(output(&r)["Error"], json!("States.QueryEvaluationError"));
    let event = r
        .history
        .iter()
        .find(|e| e.event_type.as_str() == "EvaluationFailed")
        .expect("an EvaluationFailed event");
    assert_eq!(
        event.details.to_value(),
        json!({"error": "States.QueryEvaluationError",
               "cause": "The JSONata expression '$states.input.missing' specified for the field 'Arguments/a/b' returned nothing (undefined).",
               "location": "Arguments/a/b", "state": "S"})
    );
    assert_eq!(
        types(&r),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "EvaluationFailed",
            "TaskStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
}

// An expression anywhere in a template that gives nothing, or a function, fails the field.
#[tokio::test]
async fn undefined_and_functions_are_errors() {
    let (_, cause) = failure(
        &run(
            one(json!({"Type": "Pass", "Output": {"list": [1, "{% $nope %}"]}, "End": true})),
            json!({}),
        )
        .await,
    );
    assert!(cause.ends_with("The JSONata expression '$nope' specified for the field 'Output/list[1]' returned nothing (undefined)."), "{cause}");
    let (error, cause) = eval("function($x){ $x }", json!({})).await.unwrap_err();
    assert_eq!(error, "States.QueryEvaluationError");
    assert!(cause.ends_with("specified for the field 'Output/v' returned an unexpected result type. Expected 'value', but was 'function' for value: "), "{cause}");
    let (_, cause) = eval("$states.input.s + 1", json!({"s": "x"}))
        .await
        .unwrap_err();
    assert!(cause.ends_with("The JSONata expression '$states.input.s + 1' specified for the field 'Output/v' threw an error during evaluation. T2001: The left side of the + operator must evaluate to a number"), "{cause}");
}

// Map: Items (an expression or a literal array), ItemSelector with
// $states.context.Map.Item, MaxConcurrency and ToleratedFailureCount as expressions.
#[tokio::test]
async fn map_fields() {
    let def = one(json!({"Type": "Map", "Items": "{% $states.input.list %}",
        "ItemSelector": {"v": "{% $states.context.Map.Item.Value %}", "i": "{% $states.context.Map.Item.Index %}"},
        "MaxConcurrency": "{% $states.input.n %}", "ToleratedFailureCount": "{% 0 %}",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}));
    assert_eq!(
        output(&run(def, json!({"list": ["a", "b"], "n": 1})).await),
        json!([{"v": "a", "i": 0}, {"v": "b", "i": 1}])
    );
    let literal = one(json!({"Type": "Map", "Items": [1, "{% 1 + 1 %}"],
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}));
    assert_eq!(output(&run(literal, json!({})).await), json!([1, 2]));
}

// Items must give an array (cause as LocalStack's AWS-validated interpreter words it).
#[tokio::test]
async fn map_items_must_be_an_array() {
    let def = one(json!({"Type": "Map", "Items": "{% $states.input.obj %}",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}));
    let (error, cause) = failure(&run(def, json!({"obj": {"a": 1}})).await);
    assert_eq!(error, "States.QueryEvaluationError");
    assert!(cause.ends_with("The JSONata expression '$states.input.obj' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was 'object' for value: {\"a\":1}"), "{cause}");
}

// Wait: Seconds an integer from 0 to 99,999,999, Timestamp an RFC 3339 string.
#[tokio::test]
async fn wait_seconds_and_timestamp() {
    let wait = |field: &str, expr: &str| {
        one(json!({"Type": "Wait", field: format!("{{% {expr} %}}"), "End": true}))
    };
    let r = run(wait("Seconds", "$states.input.s"), json!({"s": 30})).await;
    assert_eq!(output(&r), json!({"s": 30}));
    assert_eq!(secs_since_start(&r, r.history.len() - 1), 30);
    let r = run(
        wait("Timestamp", "$states.input.t"),
        json!({"t": "2026-01-01T00:01:00Z"}),
    )
    .await;
    assert_eq!(secs_since_start(&r, r.history.len() - 1), 60);
    let (_, cause) = failure(&run(wait("Seconds", "$states.input.s"), json!({"s": -1})).await);
    assert!(cause.ends_with("The JSONata expression '$states.input.s' specified for the field 'Seconds' returned a value outside the range from 0 to 99999999."), "{cause}");
    let (_, cause) = failure(&run(wait("Seconds", "$states.input.s"), json!({"s": 1.5})).await);
    assert!(
        cause.ends_with("Expected 'integer', but was 'number' for value: 1.5"),
        "{cause}"
    );
    let (error, cause) = failure(
        &run(
            wait("Timestamp", "$states.input.t"),
            json!({"t": "tomorrow"}),
        )
        .await,
    );
    assert_eq!(error, "States.QueryEvaluationError");
    assert!(
        cause.contains(
            "'Timestamp' returned the string 'tomorrow', which is not an RFC 3339 timestamp"
        ),
        "{cause}"
    );
}

// Fail: Error and Cause as expressions.
#[tokio::test]
async fn fail_error_and_cause() {
    let def = one(
        json!({"Type": "Fail", "Error": "{% 'Custom.' & $states.input.kind %}", "Cause": "{% $string($states.input.n) %}"}),
    );
    assert_eq!(
        failure(&run(def, json!({"kind": "Bad", "n": 3})).await),
        ("Custom.Bad".into(), "3".into())
    );
}

// Task: TimeoutSeconds from an expression, which the task's events carry.
#[tokio::test]
async fn task_timeout_seconds() {
    let def = one(
        json!({"Type": "Task", "Resource": LAMBDA, "TimeoutSeconds": "{% $states.input.t %}", "Arguments": {}, "End": true}),
    );
    let r = run_with(def, json!({"t": 45}), echo()).await;
    output(&r);
    assert_eq!(
        r.history[2].details.to_value()["timeoutInSeconds"],
        json!(45)
    );
}

// Parallel: Arguments become every branch's input; the result is the branches' outputs.
#[tokio::test]
async fn parallel_arguments() {
    let def = one(
        json!({"Type": "Parallel", "Arguments": {"x": "{% $states.input.x %}"}, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "Output": "{% $states.input.x + 1 %}", "End": true}}},
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": true}}}
    ], "Output": {"sum": "{% $states.result[0] %}", "b": "{% $states.result[1] %}"}, "End": true}),
    );
    assert_eq!(
        output(&run(def, json!({"x": 1})).await),
        json!({"sum": 2, "b": {"x": 1}})
    );
}

// transforming-data.html, "JSONata functions provided by Step Functions".
#[tokio::test]
async fn partition_and_range() {
    assert_eq!(
        eval("$partition([1,2,3,4,5,6,7,8,9], 3)", json!({})).await,
        Ok(json!([[1, 2, 3], [4, 5, 6], [7, 8, 9]]))
    );
    assert_eq!(
        eval("$partition([1,2,3,4], 3)", json!({})).await,
        Ok(json!([[1, 2, 3], [4]]))
    );
    assert_eq!(
        eval("$range(0, 10, 2)", json!({})).await,
        Ok(json!([0, 2, 4, 6, 8, 10]))
    );
    assert_eq!(
        eval("$range(0, 9, 2)", json!({})).await,
        Ok(json!([0, 2, 4, 6, 8]))
    );
    assert_eq!(
        eval("$range(10, 0, -5)", json!({})).await,
        Ok(json!([10, 5, 0]))
    );
    // One element gives the number, not an array.
    assert_eq!(eval("$range(4, 4, 1)", json!({})).await, Ok(json!(4)));
}

#[tokio::test]
async fn hash_algorithms() {
    for (algorithm, digest) in [
        ("MD5", "b10a8db164e0754105b7a99be72e3fe5"),
        ("SHA-1", "0a4d55a8d778e5022fab701977c5d840bbc486d0"),
        ("SHA-256", "a591a6d40bf420404a011733cfb7b190d62c65bf0bcda32b57b277d9ad9f146e"),
        ("SHA-384", "99514329186b2f6ae4a1329e7ee6c610a729636335174ac6b740f9028396fcc803d0e93863a7c3d90f86beee782f4f3f"),
        ("SHA-512", "2c74fd17edafd80e8447b0d46741ee243b7eb74dd2149a0ab1b9246fb30382f27e853d8585719e0e67cbda0daa8f51671064615d645ae27acb15bfb1447f459b"),
    ] {
        let v = eval(&format!("$hash($states.input.content, '{algorithm}')"), json!({"content": "Hello World"})).await;
        assert_eq!(v, Ok(json!(digest)), "{algorithm}");
    }
    let (error, _) = eval("$hash('a', 'SHA-999')", json!({})).await.unwrap_err();
    assert_eq!(error, "States.QueryEvaluationError");
}

// $random(seed) is Java's `new java.util.Random(seed).nextDouble()` (values printed by
// OpenJDK); the library's own $random() cannot be called in 2.2.13, so the engine's
// replaces it, drawing from the executor's random source.
#[tokio::test]
async fn random_seeded_is_javas_and_unseeded_is_in_range() {
    assert_eq!(
        eval("$random(42)", json!({})).await,
        Ok(json!(0.7275636800328681))
    );
    assert_eq!(
        eval("$random($states.input.seed)", json!({"seed": 1})).await,
        Ok(json!(0.7308781907032909))
    );
    let v = eval("$random()", json!({})).await.unwrap();
    assert!((0.0..1.0).contains(&v.as_f64().unwrap()), "{v}");
}

#[tokio::test]
async fn uuid_and_parse() {
    let v = eval("$uuid()", json!({})).await.unwrap();
    let s = v.as_str().unwrap();
    assert_eq!(s.len(), 36);
    assert_eq!(&s[14..15], "4", "{s}");
    // Two calls differ; the same seeded executor gives the same sequence.
    assert_eq!(eval("$uuid() = $uuid()", json!({})).await, Ok(json!(false)));
    assert_eq!(eval("$uuid()", json!({})).await.unwrap(), v);
    assert_eq!(
        eval(
            "$parse($states.input.json_string)",
            json!({"json_string": "{\"a\":[1,2]}"})
        )
        .await,
        Ok(json!({"a": [1, 2]}))
    );
}

// AWS removes $eval: a call fails.
#[tokio::test]
async fn eval_is_removed() {
    let (error, cause) = eval("$eval('1 + 1')", json!({})).await.unwrap_err();
    assert_eq!(error, "States.QueryEvaluationError");
    assert!(
        cause.ends_with(
            "threw an error during evaluation. T1006: Attempted to invoke a non-function: $eval"
        ),
        "{cause}"
    );
}

// jsonata 2.0.6 (what AWS runs) has no `??` or `?:`; the library accepts them, the engine
// refuses them when it reads the definition, as any expression that does not parse.
#[test]
fn rejected_operators_and_parse_errors() {
    let p = problems(one(
        json!({"Type": "Pass", "Output": {"a": "{% $states.input.x ?? 1 %}", "b": "{% $states.input.x ?: 1 %}", "c": "{% 1 + %}"}, "End": true}),
    ));
    assert!(p.contains(&"/States/S/Output/a: INVALID_JSONATA_EXPRESSION: S0211: The symbol ? cannot be used as a unary operator".to_string()), "{p:#?}");
    assert!(p.contains(&"/States/S/Output/b: INVALID_JSONATA_EXPRESSION: S0211: The symbol : cannot be used as a unary operator".to_string()), "{p:#?}");
    assert!(
        p.iter()
            .any(|m| m.starts_with("/States/S/Output/c: INVALID_JSONATA_EXPRESSION: ")),
        "{p:#?}"
    );
    // "You cannot use $$ or unqualified field names at the top level."
    let p = problems(one(
        json!({"Type": "Pass", "Output": {"a": "{% $$.x %}", "b": "{% phone %}"}, "End": true}),
    ));
    assert!(p.contains(&"/States/S/Output/a: INVALID_JSONATA_EXPRESSION: UNSUPPORTED_JSONATA_EXPRESSION: Reference to '$$' is not supported.".to_string()), "{p:#?}");
    assert!(p.contains(&"/States/S/Output/b: INVALID_JSONATA_EXPRESSION: UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'phone' at the top level is not supported.".to_string()), "{p:#?}");
}

// A JSONata state refuses the JSONPath fields, with AWS's wording, at the state.
#[test]
fn jsonpath_fields_are_refused_in_jsonata_states() {
    for (state, field) in [
        (
            json!({"Type": "Pass", "InputPath": "$.a", "End": true}),
            "InputPath",
        ),
        (
            json!({"Type": "Pass", "Parameters": {}, "End": true}),
            "Parameters",
        ),
        (json!({"Type": "Pass", "Result": 1, "End": true}), "Result"),
        (
            json!({"Type": "Pass", "ResultPath": "$.r", "End": true}),
            "ResultPath",
        ),
        (
            json!({"Type": "Task", "Resource": LAMBDA, "ResultSelector": {}, "End": true}),
            "ResultSelector",
        ),
        (
            json!({"Type": "Wait", "SecondsPath": "$.s", "End": true}),
            "SecondsPath",
        ),
        (
            json!({"Type": "Map", "ItemsPath": "$.a", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Succeed"}}}, "End": true}),
            "ItemsPath",
        ),
    ] {
        let p = problems(one(state));
        let expected = format!("/States/S: The QueryLanguage is set to 'JSONata', but field '{field}' is only supported for the 'JSONPath' QueryLanguage");
        assert!(p.contains(&expected), "{field}: {p:#?}");
    }
    // A Choice rule's operators, at the rule.
    let p = problems(one(
        json!({"Type": "Choice", "Choices": [{"Variable": "$.a", "IsPresent": true, "Next": "S"}], "Default": "S"}),
    ));
    for field in ["Variable", "IsPresent"] {
        let expected = format!("/States/S/Choices/0: The QueryLanguage is set to 'JSONata', but field '{field}' is only supported for the 'JSONPath' QueryLanguage");
        assert!(p.contains(&expected), "{field}: {p:#?}");
    }
}

// A JSONPath machine may hold JSONata states; a JSONata machine refuses JSONPath states.
#[test]
fn query_language_per_state() {
    let mixed = json!({"StartAt": "S", "States": {"S": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% 1 %}", "End": true}}});
    assert!(problems(mixed).is_empty());
    let p = problems(one(
        json!({"Type": "Pass", "QueryLanguage": "JSONPath", "End": true}),
    ));
    assert_eq!(p, ["/States/S: 'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine"]);
    let p = problems(
        json!({"StartAt": "S", "States": {"S": {"Type": "Pass", "Output": {}, "End": true}}}),
    );
    assert_eq!(p, ["/States/S: The QueryLanguage is set to 'JSONPath', but field 'Output' is only supported for the 'JSONata' QueryLanguage"]);
}

// workflow-variables.html: variables are shared by the two languages. A JSONPath state
// assigns, a JSONata state reads and assigns, a JSONPath state reads it back.
#[tokio::test]
async fn mixed_machine_shares_variables() {
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"count.$": "$.start", "name": "x"}, "Next": "B"},
        "B": {"Type": "Pass", "QueryLanguage": "JSONata", "Assign": {"count": "{% $count + 1 %}", "label": "{% $uppercase($name) %}"}, "Output": {"seen": "{% $count %}"}, "Next": "C"},
        "C": {"Type": "Pass", "Parameters": {"count.$": "$count", "label.$": "$label", "seen.$": "$.seen"}, "End": true}
    }});
    assert_eq!(
        output(&run(def, json!({"start": 41})).await),
        json!({"count": 42, "label": "X", "seen": 41})
    );
}

// `asl graph` labels a JSONata Choice's edges with the Conditions.
#[test]
fn graph_labels_conditions() {
    let def = definition(ata(json!({
        "S": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.n > 1 %}", "Next": "A"}], "Default": "A"},
        "A": {"Type": "Succeed"}
    })));
    let graph = ecs_migrate::asl::graph::mermaid(&def);
    assert!(graph.contains("-->|\"$states.input.n > 1\"|"), "{graph}");
}

// The mock configuration answers a JSONata Task as a JSONPath one; a mocked error reaches a
// JSONata catcher's $states.errorOutput, a mocked result $states.result.
#[tokio::test]
async fn mock_config_drives_jsonata_tasks() {
    let config = json!({
        "StateMachines": {"M": {"TestCases": {"Fail": {"S": "Err"}, "Ok": {"S": "Res"}}}},
        "MockedResponses": {
            "Err": {"0": {"Throw": {"Error": "Mocked.Error", "Cause": "mocked"}}},
            "Res": {"0": {"Return": {"v": 3}}}
        }
    });
    let def = ata(json!({
        "S": {"Type": "Task", "Resource": LAMBDA, "Arguments": {}, "Output": "{% $states.result.v * 2 %}",
            "Catch": [{"ErrorEquals": ["Mocked.Error"], "Output": "{% $states.errorOutput.Cause %}", "Next": "H"}], "End": true},
        "H": {"Type": "Succeed"}
    }));
    let failing = ecs_migrate::asl::MockInvoker::from_config(&config, "M", "Fail").unwrap();
    assert_eq!(
        output(&run_with(def.clone(), json!({}), failing).await),
        json!("mocked")
    );
    let ok = ecs_migrate::asl::MockInvoker::from_config(&config, "M", "Ok").unwrap();
    assert_eq!(output(&run_with(def, json!({}), ok).await), json!(6));
}
