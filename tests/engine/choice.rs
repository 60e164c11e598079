//! Choice rules, table-driven from "Choice workflow state" in the developer guide.

use crate::common;

use common::*;
use ecs_migrate::asl::ExecutionStatus;
use serde_json::{json, Value};

/// A Choice with one rule going to "Yes", Default "No"; the output names the branch taken.
fn decide(rule: Value) -> Value {
    let mut rule = rule;
    rule["Next"] = json!("Yes");
    json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [rule], "Default": "No"},
        "Yes": {"Type": "Pass", "Result": "yes", "End": true},
        "No": {"Type": "Pass", "Result": "no", "End": true}
    }})
}

async fn check(rule: Value, input: Value) -> Result<bool, String> {
    let r = run(decide(rule.clone()), input.clone()).await;
    match r.status {
        ExecutionStatus::Succeeded => Ok(r.output == Some(json!("yes"))),
        _ => Err(format!("{:?}: {:?}", r.error, r.cause)),
    }
}

// "Choice State Example": {"type": "Private", "value": 22} goes to ValueInTwenties.
#[tokio::test]
async fn guide_choice_state_example() {
    let def = json!({"StartAt": "ChoiceStateX", "States": {
        "ChoiceStateX": {"Type": "Choice", "Choices": [
            {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
            {"Variable": "$.value", "NumericEquals": 0, "Next": "ValueIsZero"},
            {"And": [{"Variable": "$.value", "NumericGreaterThanEquals": 20},
                     {"Variable": "$.value", "NumericLessThan": 30}], "Next": "ValueInTwenties"}
        ], "Default": "DefaultState"},
        "Public": {"Type": "Pass", "Result": "Public", "End": true},
        "ValueIsZero": {"Type": "Pass", "Result": "ValueIsZero", "End": true},
        "ValueInTwenties": {"Type": "Pass", "Result": "ValueInTwenties", "End": true},
        "DefaultState": {"Type": "Fail", "Cause": "No Matches!"}
    }});
    let cases = [
        (
            json!({"type": "Private", "value": 22}),
            Ok("ValueInTwenties"),
        ),
        (json!({"type": "Public", "value": 22}), Ok("Public")),
        (json!({"type": "Private", "value": 0}), Ok("ValueIsZero")),
        (json!({"type": "Private", "value": 35}), Err("No Matches!")),
    ];
    for (input, expected) in cases {
        let r = run(def.clone(), input.clone()).await;
        match expected {
            Ok(state) => assert_eq!(r.output, Some(json!(state)), "{input}"),
            Err(cause) => {
                assert_eq!(r.status, ExecutionStatus::Failed);
                assert_eq!(r.cause.as_deref(), Some(cause));
            }
        }
    }
    // "You must specify the $.type field. If the state input doesn't contain the $.type
    // field, the execution fails".
    let r = run(def, json!({"value": 22})).await;
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    assert!(r.cause.unwrap().contains("Invalid path '$.type'"));
}

// The operator table: each comparison operator, its Path variant, and "Step Functions
// doesn't attempt to match a numeric field to a string value" (type mismatch is false).
#[tokio::test]
async fn comparison_operators() {
    let input = json!({
        "s": "MyString", "n": 15, "f": 1.5, "b": true, "t": "2001-01-01T12:00:00Z",
        "t2": "2001-01-01T13:00:00+01:00", "other": {"s": "MyString", "n": 15, "b": true, "t": "2001-01-01T12:00:00Z"},
        "nul": null, "arr": [1]
    });
    let cases: Vec<(Value, bool)> = vec![
        (json!({"Variable": "$.s", "StringEquals": "MyString"}), true),
        (json!({"Variable": "$.s", "StringEquals": "other"}), false),
        (
            json!({"Variable": "$.s", "StringGreaterThan": "MyStringABC"}),
            false,
        ),
        (
            json!({"Variable": "$.s", "StringLessThan": "MyStringABC"}),
            true,
        ),
        (
            json!({"Variable": "$.s", "StringLessThanEquals": "MyString"}),
            true,
        ),
        (
            json!({"Variable": "$.s", "StringGreaterThanEquals": "MyString"}),
            true,
        ),
        (json!({"Variable": "$.n", "StringEquals": "15"}), false),
        (json!({"Variable": "$.n", "NumericEquals": 15}), true),
        (json!({"Variable": "$.n", "NumericEquals": 15.0}), true),
        (json!({"Variable": "$.f", "NumericLessThan": 2}), true),
        (json!({"Variable": "$.n", "NumericGreaterThan": 15}), false),
        (
            json!({"Variable": "$.n", "NumericGreaterThanEquals": 15}),
            true,
        ),
        (
            json!({"Variable": "$.n", "NumericLessThanEquals": 14}),
            false,
        ),
        (json!({"Variable": "$.s", "NumericEquals": 15}), false),
        (json!({"Variable": "$.b", "BooleanEquals": true}), true),
        (json!({"Variable": "$.s", "BooleanEquals": true}), false),
        (
            json!({"Variable": "$.t", "TimestampEquals": "2001-01-01T12:00:00Z"}),
            true,
        ),
        (
            json!({"Variable": "$.t2", "TimestampEquals": "2001-01-01T12:00:00Z"}),
            true,
        ),
        (
            json!({"Variable": "$.t", "TimestampLessThan": "2001-01-01T12:00:01Z"}),
            true,
        ),
        (
            json!({"Variable": "$.t", "TimestampGreaterThan": "2001-01-01T12:00:00Z"}),
            false,
        ),
        (
            json!({"Variable": "$.t", "TimestampGreaterThanEquals": "2001-01-01T12:00:00Z"}),
            true,
        ),
        (
            json!({"Variable": "$.t", "TimestampLessThanEquals": "2000-01-01T12:00:00Z"}),
            false,
        ),
        (
            json!({"Variable": "$.s", "TimestampEquals": "2001-01-01T12:00:00Z"}),
            false,
        ),
        // "a field considered to be a timestamp can be matched by a StringEquals comparator".
        (
            json!({"Variable": "$.t", "StringEquals": "2001-01-01T12:00:00Z"}),
            true,
        ),
        (
            json!({"Variable": "$.s", "StringEqualsPath": "$.other.s"}),
            true,
        ),
        (
            json!({"Variable": "$.n", "NumericEqualsPath": "$.other.n"}),
            true,
        ),
        (
            json!({"Variable": "$.n", "NumericLessThanPath": "$.other.n"}),
            false,
        ),
        (
            json!({"Variable": "$.b", "BooleanEqualsPath": "$.other.b"}),
            true,
        ),
        (
            json!({"Variable": "$.t", "TimestampEqualsPath": "$.other.t"}),
            true,
        ),
        (
            json!({"Variable": "$.s", "StringGreaterThanPath": "$.other.s"}),
            false,
        ),
        (json!({"Variable": "$.s", "StringMatches": "My*"}), true),
        (json!({"Variable": "$.s", "StringMatches": "*String"}), true),
        (json!({"Variable": "$.s", "StringMatches": "My\\*"}), false),
        (json!({"Variable": "$.nul", "IsNull": true}), true),
        (json!({"Variable": "$.s", "IsNull": false}), true),
        (json!({"Variable": "$.missing", "IsPresent": false}), true),
        (json!({"Variable": "$.s", "IsPresent": true}), true),
        (json!({"Variable": "$.n", "IsNumeric": true}), true),
        (json!({"Variable": "$.s", "IsNumeric": true}), false),
        (json!({"Variable": "$.s", "IsString": true}), true),
        (json!({"Variable": "$.arr", "IsString": false}), true),
        (json!({"Variable": "$.b", "IsBoolean": true}), true),
        (json!({"Variable": "$.t", "IsTimestamp": true}), true),
        (json!({"Variable": "$.s", "IsTimestamp": true}), false),
        (
            json!({"Or": [{"Variable": "$.n", "NumericEquals": 1}, {"Variable": "$.b", "BooleanEquals": true}]}),
            true,
        ),
        (
            json!({"And": [{"Variable": "$.n", "NumericEquals": 15}, {"Not": {"Variable": "$.b", "BooleanEquals": true}}]}),
            false,
        ),
    ];
    for (rule, expected) in cases {
        assert_eq!(
            check(rule.clone(), input.clone()).await,
            Ok(expected),
            "{rule}"
        );
    }
}

// "Choice workflow state", String comparisons follow Java's compareTo (UTF-16 code units):
// U+FF61 sorts after U+1F600 (a surrogate pair starting 0xD83D).
#[tokio::test]
async fn string_order_is_utf16() {
    let rule = json!({"Variable": "$.a", "StringGreaterThan": "\u{1F600}"});
    assert_eq!(check(rule, json!({"a": "\u{FF61}"})).await, Ok(true));
}

#[tokio::test]
async fn missing_variable_and_missing_path_operand_are_runtime_errors() {
    let err = check(json!({"Variable": "$.nope", "IsNull": true}), json!({}))
        .await
        .unwrap_err();
    assert!(
        err.contains("States.Runtime") && err.contains("Invalid path '$.nope'"),
        "{err}"
    );
    let err = check(
        json!({"Variable": "$.a", "StringEqualsPath": "$.nope"}),
        json!({"a": "x"}),
    )
    .await
    .unwrap_err();
    assert!(err.contains("Invalid path '$.nope'"), "{err}");
}

#[tokio::test]
async fn no_match_without_default_is_no_choice_matched() {
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": 1, "Next": "D"}]},
        "D": {"Type": "Succeed"}}});
    let r = run(def, json!({"x": 2})).await;
    assert_eq!(r.error.as_deref(), Some("States.NoChoiceMatched"));
    assert_eq!(
        types(&r),
        ["ExecutionStarted", "ChoiceStateEntered", "ExecutionFailed"]
    );
}

// "Passing data between states with variables": a Choice rule's Assign runs when the rule
// matches; the Choice state's own Assign when Default is taken. Choice keeps its input.
#[tokio::test]
async fn choice_assign_and_output() {
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "InputPath": "$.in",
              "Choices": [{"Variable": "$.x", "NumericEquals": 1, "Next": "Out", "Assign": {"branch": "rule", "x.$": "$.x"}}],
              "Default": "Out", "Assign": {"branch": "default"}},
        "Out": {"Type": "Pass", "Parameters": {"branch.$": "$branch", "in.$": "$"}, "End": true}}});
    let r = run(def.clone(), json!({"in": {"x": 1}})).await;
    assert_eq!(r.output.unwrap(), json!({"branch": "rule", "in": {"x": 1}}));
    let r = run(def, json!({"in": {"x": 2}})).await;
    assert_eq!(
        r.output.unwrap(),
        json!({"branch": "default", "in": {"x": 2}})
    );
}
