//! Input and output processing, table-driven from the developer guide's examples: InputPath,
//! Parameters, ResultSelector, ResultPath, OutputPath, the context object and Pass states.

use crate::common;

use common::*;
use ecs_migrate::asl::{ExecutionStatus, RegistryInvoker, TaskFailure};
use serde_json::{json, Value};

const HELLO: &str = "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction";

/// The tutorial's HelloFunction: "Hello, " + who + "!".
fn hello() -> RegistryInvoker {
    RegistryInvoker::new().register("HelloFunction", |call| async move {
        let who = call
            .input
            .get("who")
            .and_then(Value::as_str)
            .unwrap_or("World")
            .to_string();
        Ok::<_, TaskFailure>(json!(format!("Hello, {who}!")))
    })
}

fn task(extra: Value) -> Value {
    let mut s = json!({"Type": "Task", "Resource": HELLO, "End": true});
    for (k, v) in extra.as_object().unwrap() {
        s[k] = v.clone();
    }
    single(s)
}

// "InputPath, ResultPath and OutputPath Example" (Input and output processing): InputPath
// "$.lambda" sends {"who": ...} to the function, ResultPath "$.data.lambdaresult" inserts the
// result under data, OutputPath "$.data" keeps only data.
#[tokio::test]
async fn inputpath_resultpath_outputpath_walkthrough() {
    let input = json!({
        "comment": "An input comment.",
        "data": {"val1": 23, "val2": 17},
        "extra": "foo",
        "lambda": {"who": "AWS Step Functions"}
    });
    let r = run_with(
        task(json!({"InputPath": "$.lambda", "ResultPath": "$.data.lambdaresult", "OutputPath": "$.data"})),
        input,
        hello(),
    )
    .await;
    assert_eq!(r.status, ExecutionStatus::Succeeded, "{:?}", r.cause);
    assert_eq!(
        r.output.unwrap(),
        json!({"val1": 23, "val2": 17, "lambdaresult": "Hello, AWS Step Functions!"})
    );
}

// "Understanding ResultPath": replace the input (default / "$"), include the result
// ("$.taskresult"), insert into a child node ("$.strings.lambdaresult"), update a node
// ("$.comment"), and discard the result (null).
#[tokio::test]
async fn resultpath_examples() {
    let input = json!({"comment": "This is a test of the input and output of a Task state.",
                       "details": "Default example", "who": "AWS Step Functions"});
    let cases: Vec<(Value, Value, Value)> = vec![
        (
            json!({}),
            input.clone(),
            json!("Hello, AWS Step Functions!"),
        ),
        (
            json!({"ResultPath": "$"}),
            input.clone(),
            json!("Hello, AWS Step Functions!"),
        ),
        (
            json!({"ResultPath": "$.taskresult"}),
            input.clone(),
            json!({"comment": "This is a test of the input and output of a Task state.", "details": "Default example",
                   "who": "AWS Step Functions", "taskresult": "Hello, AWS Step Functions!"}),
        ),
        (
            json!({"ResultPath": "$.strings.lambdaresult"}),
            json!({"comment": "An input comment.", "strings": {"string1": "foo", "string2": "bar", "string3": "baz"}, "who": "AWS Step Functions"}),
            json!({"comment": "An input comment.", "strings": {"string1": "foo", "string2": "bar", "string3": "baz",
                   "lambdaresult": "Hello, AWS Step Functions!"}, "who": "AWS Step Functions"}),
        ),
        (
            json!({"ResultPath": "$.comment"}),
            input.clone(),
            json!({"comment": "Hello, AWS Step Functions!", "details": "Default example", "who": "AWS Step Functions"}),
        ),
        (json!({"ResultPath": null}), input.clone(), input.clone()),
    ];
    for (fields, input, expected) in cases {
        let r = run_with(task(fields.clone()), input, hello()).await;
        assert_eq!(r.output, Some(expected), "{fields}");
    }
}

// "InputPath and Parameters": InputPath "$.dataset2" selects one dataset; the Parameters
// example builds {"comment": ..., "MyDetails": {"size", "exists", "StaticValue"}}.
#[tokio::test]
async fn inputpath_and_parameters_examples() {
    let input = json!({"comment": "Example for InputPath.",
        "dataset1": {"val1": 1, "val2": 2, "val3": 3},
        "dataset2": {"val1": "a", "val2": "b", "val3": "c"}});
    let r = run(
        single(json!({"Type": "Pass", "InputPath": "$.dataset2", "End": true})),
        input,
    )
    .await;
    assert_eq!(
        r.output.unwrap(),
        json!({"val1": "a", "val2": "b", "val3": "c"})
    );

    let input = json!({"comment": "Example for Parameters.",
        "product": {"details": {"color": "blue", "size": "small", "material": "cotton"},
                    "availability": "in stock", "sku": "2317", "cost": "$23"}});
    let params = json!({"comment": "Selecting what I care about.",
        "MyDetails": {"size.$": "$.product.details.size", "exists.$": "$.product.availability", "StaticValue": "foo"}});
    let r = run(
        single(json!({"Type": "Pass", "Parameters": params, "End": true})),
        input,
    )
    .await;
    assert_eq!(
        r.output.unwrap(),
        json!({"comment": "Selecting what I care about.",
               "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"}})
    );
}

// "ResultSelector" (Filtering state output): from the EMR createCluster.sync result keep
// ClusterId and resourceType, then ResultPath "$.EMROutput" adds them to the input.
#[tokio::test]
async fn resultselector_example() {
    let emr = RegistryInvoker::new().register("arn:aws:states:::elasticmapreduce:createCluster.sync", |_| async {
        Ok::<_, TaskFailure>(json!({
            "resourceType": "elasticmapreduce",
            "resource": "createCluster.sync",
            "output": {"SdkHttpMetadata": {"HttpStatusCode": 200}, "SdkResponseMetadata": {"RequestId": "1234"},
                       "ClusterId": "AKIAIOSFODNN7EXAMPLE"}
        }))
    });
    let def = single(json!({
        "Type": "Task", "Resource": "arn:aws:states:::elasticmapreduce:createCluster.sync",
        "ResultSelector": {"ClusterId.$": "$.output.ClusterId", "ResourceType.$": "$.resourceType"},
        "ResultPath": "$.EMROutput", "End": true
    }));
    let r = run_with(def, json!({"Name": "MyWorkflowCluster"}), emr).await;
    assert_eq!(
        r.output.unwrap(),
        json!({"Name": "MyWorkflowCluster",
               "EMROutput": {"ResourceType": "elasticmapreduce", "ClusterId": "AKIAIOSFODNN7EXAMPLE"}})
    );
}

// "Input and Output Processing": InputPath null gives {} to the state, OutputPath null sends
// {} on; InputPath "$.a[0:2]" on {"a": [1,2,3,4]} yields [1, 2].
#[tokio::test]
async fn null_paths_and_indefinite_inputpath() {
    let r = run(
        single(json!({"Type": "Pass", "InputPath": null, "End": true})),
        json!({"x": 1}),
    )
    .await;
    assert_eq!(r.output.unwrap(), json!({}));
    let r = run(
        single(json!({"Type": "Pass", "OutputPath": null, "End": true})),
        json!({"x": 1}),
    )
    .await;
    assert_eq!(r.output.unwrap(), json!({}));
    let r = run(
        single(json!({"Type": "Pass", "InputPath": "$.a[0:2]", "End": true})),
        json!({"a": [1, 2, 3, 4]}),
    )
    .await;
    assert_eq!(r.output.unwrap(), json!([1, 2]));
}

// "Pass workflow state" example: Result {"x-datum": 0.381018, "y-datum": 622.2269926397355}
// with ResultPath "$.coords" on {"georefOf": "Home"}.
#[tokio::test]
async fn pass_state_example() {
    let def = single(
        json!({"Type": "Pass", "Result": {"x-datum": 0.381018, "y-datum": 622.2269926397355},
                            "ResultPath": "$.coords", "End": true}),
    );
    let r = run(def, json!({"georefOf": "Home"})).await;
    assert_eq!(
        r.output.unwrap(),
        json!({"georefOf": "Home", "coords": {"x-datum": 0.381018, "y-datum": 622.2269926397355}})
    );
}

// "Accessing execution data from the Context object": $$.Execution.Id/Name/Input/StartTime/
// RoleArn, $$.State.Name/EnteredTime/RetryCount and $$.StateMachine.Id/Name.
#[tokio::test]
async fn context_object_fields() {
    let def = single(json!({"Type": "Pass", "Parameters": {
        "exec.$": "$$.Execution.Id", "name.$": "$$.Execution.Name", "input.$": "$$.Execution.Input",
        "start.$": "$$.Execution.StartTime", "role.$": "$$.Execution.RoleArn",
        "state.$": "$$.State.Name", "entered.$": "$$.State.EnteredTime", "retries.$": "$$.State.RetryCount",
        "sm.$": "$$.StateMachine.Id", "smName.$": "$$.StateMachine.Name", "all.$": "$$"
    }, "End": true}));
    let r = run(def, json!({"k": "v"})).await;
    let out = r.output.unwrap();
    assert_eq!(
        out["exec"],
        json!("arn:aws:states:us-east-1:123456789012:execution:TestMachine:test-execution")
    );
    assert_eq!(out["name"], json!("test-execution"));
    assert_eq!(out["input"], json!({"k": "v"}));
    assert_eq!(out["start"], json!("2026-01-01T00:00:00.000Z"));
    assert!(out["role"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:iam::123456789012:role/"));
    assert_eq!(out["state"], json!("S"));
    assert_eq!(out["entered"], json!("2026-01-01T00:00:00.000Z"));
    assert_eq!(out["retries"], json!(0));
    assert_eq!(
        out["sm"],
        json!("arn:aws:states:us-east-1:123456789012:stateMachine:TestMachine")
    );
    assert_eq!(out["smName"], json!("TestMachine"));
    assert!(
        out["all"].get("Map").is_none(),
        "$$.Map only exists in ItemSelector"
    );
}

// "Map state input and output fields", ItemSelector: the context object's Map.Item.Index and
// Map.Item.Value are available while the selector builds each iteration's input.
#[tokio::test]
async fn map_item_selector_with_context() {
    let def = single(json!({
        "Type": "Map", "ItemsPath": "$.detail.shipped",
        "ItemSelector": {"ContextIndex.$": "$$.Map.Item.Index", "ContextValue.$": "$$.Map.Item.Value",
                         "delivery-partner.$": "$.delivery-partner"},
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
        "End": true
    }));
    let input = json!({"delivery-partner": "UQS", "detail": {"shipped": [{"prod": "R31"}, {"prod": "S39"}]}});
    let r = run(def, input).await;
    assert_eq!(
        r.output.unwrap(),
        json!([
            {"ContextIndex": 0, "ContextValue": {"prod": "R31"}, "delivery-partner": "UQS"},
            {"ContextIndex": 1, "ContextValue": {"prod": "S39"}, "delivery-partner": "UQS"}
        ])
    );
}

// A path that matches nothing fails the execution with States.Runtime and the service's
// message; a Catch on States.ALL does not catch it ("Handling errors", States.Runtime).
#[tokio::test]
async fn missing_parameter_path_is_an_uncatchable_runtime_error() {
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": HELLO, "Parameters": {"JobName.$": "$.JobName"},
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Succeed"}}});
    let r = run_with(def, json!({}), hello()).await;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        r.cause.as_deref(),
        Some("An error occurred while executing the state 'T' (entered at the event id #2). The JSONPath '$.JobName' specified for the field 'JobName.$' could not be found in the input '{}'")
    );
    assert_eq!(
        types(&r),
        ["ExecutionStarted", "TaskStateEntered", "ExecutionFailed"]
    );
}

// A ResultPath that cannot be written into the state's input. The error-name list describes
// States.ResultPathMatchFailure for this, but the service fails the execution with
// States.ReferencePathConflict and a bare cause, as executions report it: "Unable to apply
// ReferencePath $.someTaskResult to input \"input1\"" for a string input, and "Unable to
// apply step \"aggregatedResult\" to input [...]" for a Parallel state's array output.
#[tokio::test]
async fn resultpath_that_cannot_be_applied_is_a_reference_path_conflict() {
    let cases = [
        (
            "$.someTaskResult",
            json!("input1"),
            r#"Unable to apply ReferencePath $.someTaskResult to input "input1""#,
        ),
        (
            "$.aggregatedResult",
            json!([{"a": 1}, {"b": 2}]),
            r#"Unable to apply step "aggregatedResult" to input [{"a":1},{"b":2}]"#,
        ),
        (
            "$.discovery.objects",
            json!({"discovery": "failed"}),
            r#"Unable to apply step "objects" to input {"discovery":"failed"}"#,
        ),
        (
            "$.items[5]",
            json!({"items": [1]}),
            r#"Unable to apply step "[5]" to input {"items":[1]}"#,
        ),
    ];
    for (path, input, cause) in cases {
        let def = single(json!({"Type": "Pass", "Result": 1, "ResultPath": path, "End": true}));
        let r = run(def, input).await;
        assert_eq!(r.status, ExecutionStatus::Failed, "{path}");
        assert_eq!(
            (r.error.as_deref(), r.cause.as_deref()),
            (Some("States.ReferencePathConflict"), Some(cause)),
            "{path}"
        );
        assert_eq!(
            types(&r),
            ["ExecutionStarted", "PassStateEntered", "ExecutionFailed"]
        );
    }
}

// The conflict ends the execution: a Catch on States.ALL (or on ResultPathMatchFailure) does
// not catch a Task's own ResultPath conflict, and a Catch whose ResultPath cannot be applied
// fails the execution instead of moving on.
#[tokio::test]
async fn reference_path_conflicts_are_not_caught() {
    let catch_all = json!([{"ErrorEquals": ["States.ResultPathMatchFailure"], "Next": "Caught"},
                           {"ErrorEquals": ["States.ALL"], "Next": "Caught"}]);
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": HELLO, "ResultPath": "$.greeting",
              "Catch": catch_all, "End": true},
        "Caught": {"Type": "Succeed"}}});
    let r = run_with(def, json!("input1"), hello()).await;
    assert_eq!(r.error.as_deref(), Some("States.ReferencePathConflict"));
    assert_eq!(
        types(&r),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded",
            "ExecutionFailed"
        ]
    );

    let failing = RegistryInvoker::new().register("HelloFunction", |_| async {
        Err::<Value, _>(TaskFailure::new("Boom", "no"))
    });
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": HELLO,
              "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
              "End": true},
        "Caught": {"Type": "Succeed"}}});
    let r = run_with(def, json!(["an", "array"]), failing).await;
    assert_eq!(
        (r.error.as_deref(), r.cause.as_deref()),
        (
            Some("States.ReferencePathConflict"),
            Some(r#"Unable to apply step "error" to input ["an","array"]"#)
        )
    );
}

#[tokio::test]
async fn missing_outputpath_is_a_runtime_error() {
    let r = run(
        single(json!({"Type": "Pass", "OutputPath": "$.nope", "End": true})),
        json!({}),
    )
    .await;
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    assert!(r.cause.unwrap().contains("Invalid path '$.nope'"));
}
