//! Static checks: each problem is reported with the JSON pointer of the field at fault, and
//! all problems of a definition are reported together. Rules come from the Amazon States
//! Language specification and the state pages of the developer guide.

use ecs_migrate::asl::Definition;
use serde_json::{json, Value};

fn problems(def: &Value) -> Vec<String> {
    match Definition::parse(def) {
        Ok(_) => Vec::new(),
        Err(p) => p.iter().map(|p| p.to_string()).collect(),
    }
}

fn machine(states: Value) -> Value {
    json!({"StartAt": "A", "States": states})
}

const TASK: &str = "arn:aws:lambda:us-east-1:123456789012:function:F";

#[test]
fn each_check_reports_its_pointer() {
    let cases: Vec<(Value, &str)> = vec![
        // Transitions.
        (machine(json!({"A": {"Type": "Pass", "Next": "Y"}})), "/States/A/Next: no such state \"Y\""),
        (json!({"StartAt": "Nope", "States": {"A": {"Type": "Succeed"}}}), "/StartAt: no such state \"Nope\""),
        (machine(json!({"A": {"Type": "Succeed"}, "Orphan": {"Type": "Succeed"}})), "/States/Orphan: state \"Orphan\" is not reachable from StartAt"),
        (machine(json!({"A": {"Type": "Pass"}})), "/States/A/Next: a Pass state needs Next or \"End\": true"),
        (machine(json!({"A": {"Type": "Pass", "Next": "B", "End": true}, "B": {"Type": "Succeed"}})), "/States/A/End: a state cannot have both Next and End"),
        (machine(json!({"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": true, "Next": "A"}], "Default": "Z"}})), "/States/A/Default: no such state \"Z\""),
        (machine(json!({"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsNull": true, "Next": "A"}], "Next": "A"}})), "/States/A/Next: a Choice state cannot have Next; use Choices and Default"),
        // Retry and Catch.
        (
            machine(json!({"A": {"Type": "Task", "Resource": TASK, "End": true,
                "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]}})),
            "/States/A/Retry/0/ErrorEquals: a retrier with States.ALL must be the last one",
        ),
        (
            machine(json!({"A": {"Type": "Task", "Resource": TASK, "End": true,
                "Catch": [{"ErrorEquals": ["States.ALL", "X"], "Next": "A"}]}})),
            "/States/A/Catch/0/ErrorEquals: States.ALL must appear alone in ErrorEquals",
        ),
        (
            machine(json!({"A": {"Type": "Task", "Resource": TASK, "End": true,
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Missing"}]}})),
            "/States/A/Catch/0/Next: no such state \"Missing\"",
        ),
        (
            machine(json!({"A": {"Type": "Task", "Resource": TASK, "End": true, "Catch": [{"ErrorEquals": ["X"]}]}})),
            "/States/A/Catch/0/Next: Next is required in a catcher",
        ),
        (
            machine(json!({"A": {"Type": "Task", "Resource": TASK, "End": true, "Retry": [{"ErrorEquals": ["States.Bogus"]}]}})),
            "/States/A/Retry/0/ErrorEquals/0: \"States.Bogus\" is not a States error name",
        ),
        (
            machine(json!({"A": {"Type": "Task", "Resource": TASK, "End": true, "Retry": [{"ErrorEquals": ["X"], "BackoffRate": 0.5}]}})),
            "/States/A/Retry/0/BackoffRate: BackoffRate must be a number greater than or equal to 1.0",
        ),
        (
            machine(json!({"A": {"Type": "Task", "Resource": TASK, "End": true, "Retry": [{"ErrorEquals": ["X"], "JitterStrategy": "SOME"}]}})),
            "/States/A/Retry/0/JitterStrategy: JitterStrategy must be FULL or NONE",
        ),
        (
            machine(json!({"A": {"Type": "Task", "Resource": TASK, "End": true, "Retry": [{"ErrorEquals": ["X"], "MaxDelaySeconds": 0}]}})),
            "/States/A/Retry/0/MaxDelaySeconds: MaxDelaySeconds must be an integer from 1 to 31622400",
        ),
        (
            machine(json!({"A": {"Type": "Task", "Resource": TASK, "End": true, "Retry": [{"ErrorEquals": []}]}})),
            "/States/A/Retry/0/ErrorEquals: ErrorEquals must be a non-empty array of error names",
        ),
        // Paths.
        (machine(json!({"A": {"Type": "Pass", "InputPath": "foo", "End": true}})), "/States/A/InputPath: invalid path 'foo': a path must start with $"),
        (
            machine(json!({"A": {"Type": "Pass", "ResultPath": "$.a[*]", "End": true}})),
            "/States/A/ResultPath: invalid path '$.a[*]': a reference path may only use .name, ['name'] and [index] (no @ .. , : ? * or functions)",
        ),
        (
            machine(json!({"A": {"Type": "Choice", "Choices": [{"Variable": "x", "IsNull": true, "Next": "A"}]}})),
            "/States/A/Choices/0/Variable: invalid path 'x': a path must start with $",
        ),
        (
            machine(json!({"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "StringEqualsPath": "$.y[*]", "Next": "A"}]}})),
            "/States/A/Choices/0/StringEqualsPath: invalid path '$.y[*]': a reference path may only use .name, ['name'] and [index] (no @ .. , : ? * or functions)",
        ),
        (
            machine(json!({"A": {"Type": "Pass", "Parameters": {"x.$": 5}, "End": true}})),
            "/States/A/Parameters/x.$: the value of \"x.$\" must be a path or an intrinsic function string",
        ),
        (
            machine(json!({"A": {"Type": "Pass", "Parameters": {"x.$": "States.Nope()"}, "End": true}})),
            "/States/A/Parameters/x.$: invalid intrinsic function 'States.Nope()': unknown intrinsic function States.Nope",
        ),
        (
            machine(json!({"A": {"Type": "Map", "ItemsPath": "$.items[0:2]", "ItemProcessor": {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}, "End": true}})),
            "/States/A/ItemsPath: invalid path '$.items[0:2]': a reference path may only use .name, ['name'] and [index] (no @ .. , : ? * or functions)",
        ),
        // Required fields and field values.
        (json!({"States": {"A": {"Type": "Succeed"}}}), "/StartAt: StartAt is required"),
        (json!({"StartAt": "A"}), "/States: States is required"),
        (machine(json!({"A": {"Type": "Task", "End": true}})), "/States/A/Resource: Resource is required in a Task state"),
        (machine(json!({"A": {"Type": "Choice"}})), "/States/A/Choices: Choices is required in a Choice state"),
        (machine(json!({"A": {"Type": "Parallel", "End": true}})), "/States/A/Branches: Branches is required in a Parallel state"),
        (machine(json!({"A": {"Type": "Map", "End": true}})), "/States/A/ItemProcessor: ItemProcessor (or the legacy Iterator) is required in a Map state"),
        (machine(json!({"A": {"Type": "Shiny", "End": true}})), "/States/A/Type: unknown state type \"Shiny\" (expected Pass, Task, Choice, Wait, Succeed, Fail, Parallel or Map)"),
        (machine(json!({"A": {"Type": "Pass", "Resource": TASK, "End": true}})), "/States/A/Resource: field \"Resource\" is not allowed in a Pass state"),
        (json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}, "Extra": 1}), "/Extra: unknown top-level field \"Extra\""),
        (machine(json!({"A": {"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": true}})), "/States/A: a Wait state needs exactly one of Seconds, SecondsPath, Timestamp or TimestampPath"),
        (machine(json!({"A": {"Type": "Wait", "Seconds": -1, "End": true}})), "/States/A/Seconds: Seconds must be an integer from 0 to 99999999"),
        (machine(json!({"A": {"Type": "Wait", "Timestamp": "2016-03-14 01:59:00", "End": true}})), "/States/A/Timestamp: Timestamp must be an RFC 3339 timestamp such as 2016-03-14T01:59:00Z"),
        (
            machine(json!({"A": {"Type": "Task", "Resource": TASK, "TimeoutSeconds": 10, "HeartbeatSeconds": 10, "End": true}})),
            "/States/A/HeartbeatSeconds: HeartbeatSeconds must be smaller than TimeoutSeconds",
        ),
        (
            machine(json!({"A": {"Type": "Task", "Resource": TASK, "TimeoutSeconds": 10, "TimeoutSecondsPath": "$.t", "End": true}})),
            "/States/A/TimeoutSecondsPath: TimeoutSeconds and TimeoutSecondsPath cannot both be set",
        ),
        (machine(json!({"A": {"Type": "Task", "Resource": TASK, "TimeoutSeconds": 0, "End": true}})), "/States/A/TimeoutSeconds: TimeoutSeconds must be an integer from 1 to 99999999"),
        (machine(json!({"A": {"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}})), "/States/A/ErrorPath: Error and ErrorPath cannot both be set"),
        (
            machine(json!({"A": {"Type": "Map", "ToleratedFailurePercentage": 150, "ItemProcessor": {"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}, "End": true}})),
            "/States/A/ToleratedFailurePercentage: ToleratedFailurePercentage must be a number from 0 to 100",
        ),
        (json!({"StartAt": "A", "TimeoutSeconds": 0, "States": {"A": {"Type": "Succeed"}}}), "/TimeoutSeconds: TimeoutSeconds must be an integer from 1 to 99999999"),
        // Choice rules.
        (
            machine(json!({"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "StringEquals": "a", "NumericEquals": 1, "Next": "A"}]}})),
            "/States/A/Choices/0: a choice rule must have exactly one operator, found NumericEquals, StringEquals",
        ),
        (
            machine(json!({"A": {"Type": "Choice", "Choices": [{"Not": {"Variable": "$.x", "IsNull": true, "Next": "A"}, "Next": "A"}]}})),
            "/States/A/Choices/0/Not/Next: Next is only allowed in a top-level choice rule",
        ),
        (
            machine(json!({"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "NumericEquals": "1", "Next": "A"}]}})),
            "/States/A/Choices/0/NumericEquals: NumericEquals must be a number",
        ),
        (
            machine(json!({"A": {"Type": "Choice", "Choices": [{"Variable": "$.x", "StringEquals": "a"}]}})),
            "/States/A/Choices/0: a choice rule must have a Next field",
        ),
        (
            machine(json!({"A": {"Type": "Choice", "Choices": [{"And": [], "Next": "A"}]}})),
            "/States/A/Choices/0/And: And must be a non-empty array of rules",
        ),
        // Nested machines carry the full pointer; names are unique across the definition.
        (
            machine(json!({"A": {"Type": "Parallel", "End": true, "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "Gone"}}}]}})),
            "/States/A/Branches/0/States/X/Next: no such state \"Gone\"",
        ),
        (
            machine(json!({"A": {"Type": "Parallel", "Next": "X", "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Succeed"}}}]}, "X": {"Type": "Succeed"}})),
            "/States/X: duplicate state name \"X\" (also declared at /States/A/Branches/0/States/X)",
        ),
        // JSONata and Assign.
        (json!({"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "OutputPath": "$.a", "End": true}}}), "/States/A: The QueryLanguage is set to 'JSONata', but field 'OutputPath' is only supported for the 'JSONPath' QueryLanguage"),
        (machine(json!({"A": {"Type": "Pass", "Output": {}, "End": true}})), "/States/A: The QueryLanguage is set to 'JSONPath', but field 'Output' is only supported for the 'JSONata' QueryLanguage"),
        (machine(json!({"A": {"Type": "Pass", "Assign": {"1bad": 1}, "End": true}})), "/States/A/Assign/1bad: \"1bad\" is not a valid variable name (a letter or _ followed by letters, digits or _)"),
    ];
    for (def, expected) in cases {
        let found = problems(&def);
        assert!(
            found.contains(&expected.to_string()),
            "{def}\nexpected: {expected}\nfound: {found:#?}"
        );
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let def = json!({"StartAt": "A", "Bogus": true, "States": {
        "A": {"Type": "Pass", "Next": "Missing"},
        "B": {"Type": "Task", "End": true},
        "C": {"Type": "Wait", "End": true},
        "D": {"Type": "Choice", "Choices": []}
    }});
    let found = problems(&def);
    for expected in [
        "/Bogus: unknown top-level field \"Bogus\"",
        "/States/A/Next: no such state \"Missing\"",
        "/States/B/Resource: Resource is required in a Task state",
        "/States/C: a Wait state needs exactly one of Seconds, SecondsPath, Timestamp or TimestampPath",
        "/States/D/Choices: Choices must be a non-empty array of choice rules",
    ] {
        assert!(found.contains(&expected.to_string()), "{expected}: {found:#?}");
    }
}

// Terraform fills ${...} placeholders when it renders the definition; an unrendered
// definition still parses.
#[test]
fn terraform_placeholders_parse() {
    let def = machine(
        json!({"A": {"Type": "Task", "Resource": "${validate_event_function_arn}", "End": true}}),
    );
    let d = Definition::parse(&def).unwrap();
    assert_eq!(d.tasks(), [("A", "${validate_event_function_arn}")]);
}

#[test]
fn escaped_pointers() {
    let def = json!({"StartAt": "a/b", "States": {"a/b": {"Type": "Pass", "Next": "x~y"}}});
    assert!(problems(&def).contains(&"/States/a~1b/Next: no such state \"x~y\"".to_string()));
}
