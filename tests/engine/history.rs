//! The execution history: event types, counts, ids and details in the form
//! `aws stepfunctions get-execution-history` returns them. The counts matter: a budget of
//! "history events per hour of migration" is computed from them.

use crate::common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::*;
use ecs_migrate::asl::{EventType, ExecutionStatus, RegistryInvoker, TaskFailure};
use serde_json::{json, Value};

fn echo() -> RegistryInvoker {
    RegistryInvoker::new()
        .register(
            "Echo",
            |call| async move { Ok::<_, TaskFailure>(call.input) },
        )
        .register("arn:aws:states:::aws-sdk:ecs:describeTasks", |_| async {
            Ok::<_, TaskFailure>(json!({"Tasks": []}))
        })
}

// A small machine of every kind of state: the exact event sequence (as in the HelloWorld
// execution history of the GetExecutionHistory API reference, extended per state type).
#[tokio::test]
async fn event_sequence_of_a_small_machine() {
    let def = json!({"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Result": {"n": 1}, "Next": "Call"},
        "Call": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Echo", "Next": "Check"},
        "Check": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "Pause"}]},
        "Pause": {"Type": "Wait", "Seconds": 5, "Next": "Fan"},
        "Fan": {"Type": "Parallel", "Branches": [
            {"StartAt": "B1", "States": {"B1": {"Type": "Pass", "End": true}}},
            {"StartAt": "B2", "States": {"B2": {"Type": "Pass", "End": true}}}], "Next": "Each"},
        "Each": {"Type": "Map", "ItemProcessor": {"StartAt": "It", "States": {"It": {"Type": "Pass", "End": true}}}, "Next": "Done"},
        "Done": {"Type": "Succeed"}}});
    let r = run_with(def, json!({}), echo()).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded, "{:?}", r.cause);
    // Branches and iterations interleave as they run; outside them the order is fixed.
    let nested = ["B1", "B2", "It"];
    let outer: Vec<&str> = r
        .history
        .iter()
        .filter(|e| !e.state_name().is_some_and(|n| nested.contains(&n)))
        .filter(|e| !e.event_type.as_str().starts_with("MapIteration"))
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(
        outer,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded",
            "TaskStateExited",
            "ChoiceStateEntered",
            "ChoiceStateExited",
            "WaitStateEntered",
            "WaitStateExited",
            "ParallelStateEntered",
            "ParallelStateStarted",
            "ParallelStateSucceeded",
            "ParallelStateExited",
            "MapStateEntered",
            "MapStateStarted",
            "MapStateSucceeded",
            "MapStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded",
        ]
    );
    let counts = r.event_counts();
    assert_eq!(r.history.len(), 35);
    assert_eq!(counts[&EventType::PassStateEntered], 5);
    assert_eq!(counts[&EventType::PassStateExited], 5);
    assert_eq!(counts[&EventType::MapIterationStarted], 2);
    assert_eq!(counts[&EventType::MapIterationSucceeded], 2);
    // Each branch's and iteration's events sit between the Parallel's/Map's start and end.
    let pos = |ty: EventType| r.history.iter().position(|e| e.event_type == ty).unwrap();
    let b1 = r
        .history
        .iter()
        .position(|e| e.state_name() == Some("B1"))
        .unwrap();
    assert!(
        pos(EventType::ParallelStateStarted) < b1 && b1 < pos(EventType::ParallelStateSucceeded)
    );
    // Ids are 1..n; every previousEventId points backwards; the first state points at 0.
    for (i, e) in r.history.iter().enumerate() {
        assert_eq!(e.id, i as u64 + 1);
        assert!(e.previous_event_id < e.id);
    }
    assert_eq!(r.history[1].previous_event_id, 0);
    assert_eq!(
        r.history.last().unwrap().previous_event_id,
        r.history.len() as u64 - 1
    );
    // Timestamps come from the clock: the Wait state's 5 seconds show.
    assert_eq!(secs_since_start(&r, r.history.len() - 1), 5);
}

// Detail objects: ExecutionStarted carries input and roleArn; entered/exited carry the
// state name and JSON text of input/output; a Lambda function resource records
// LambdaFunction* events, `arn:aws:states:::lambda:invoke` records Task* events with
// resourceType "lambda" and resource "invoke" (as in AWS histories of both integrations).
#[tokio::test]
async fn event_details() {
    let def = json!({"StartAt": "Fn", "States": {
        "Fn": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Echo", "Next": "Invoke"},
        "Invoke": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": "Echo", "Payload.$": "$"}, "ResultSelector": {"p.$": "$.Payload"}, "Next": "Sdk"},
        "Sdk": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:ecs:describeTasks", "ResultPath": null, "End": true}}});
    let r = run_with(def, json!({"a": 1}), echo()).await;
    assert_eq!(r.output.clone().unwrap(), json!({"p": {"a": 1}}));
    let by_type: HashMap<EventType, &ecs_migrate::asl::HistoryEvent> =
        r.history.iter().map(|e| (e.event_type, e)).collect();
    let started = by_type[&EventType::ExecutionStarted];
    assert_eq!(started.details.to_value()["input"], json!("{\"a\":1}"));
    assert_eq!(
        started.details.to_value()["inputDetails"],
        json!({"truncated": false})
    );
    assert!(started.details.to_value()["roleArn"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:iam::"));
    let scheduled = by_type[&EventType::LambdaFunctionScheduled];
    assert_eq!(
        scheduled.details.to_value()["resource"],
        json!("arn:aws:lambda:us-east-1:123456789012:function:Echo")
    );
    assert_eq!(scheduled.details.to_value()["input"], json!("{\"a\":1}"));
    let task_scheduled: Vec<_> = r
        .history
        .iter()
        .filter(|e| e.event_type == EventType::TaskScheduled)
        .collect();
    assert_eq!(
        task_scheduled[0].details.to_value()["resourceType"],
        json!("lambda")
    );
    assert_eq!(
        task_scheduled[0].details.to_value()["resource"],
        json!("invoke")
    );
    assert_eq!(
        task_scheduled[0].details.to_value()["region"],
        json!("us-east-1")
    );
    assert_eq!(
        task_scheduled[0].details.to_value()["parameters"],
        json!("{\"FunctionName\":\"Echo\",\"Payload\":{\"a\":1}}")
    );
    assert_eq!(
        task_scheduled[1].details.to_value()["resourceType"],
        json!("aws-sdk:ecs")
    );
    assert_eq!(
        task_scheduled[1].details.to_value()["resource"],
        json!("describeTasks")
    );
    let succeeded: Vec<_> = r
        .history
        .iter()
        .filter(|e| e.event_type == EventType::TaskSucceeded)
        .collect();
    let invoke_output: Value =
        serde_json::from_str(succeeded[0].details.to_value()["output"].as_str().unwrap()).unwrap();
    assert_eq!(invoke_output["StatusCode"], json!(200));
    assert_eq!(invoke_output["Payload"], json!({"a": 1}));
    let exited = r
        .history
        .iter()
        .find(|e| e.event_type == EventType::TaskStateExited)
        .unwrap();
    assert_eq!(exited.details.to_value()["name"], json!("Fn"));
    assert_eq!(
        exited.details.to_value()["outputDetails"],
        json!({"truncated": false})
    );
    // The serialized form uses the API's field names.
    let v = serde_json::to_value(r.history.last().unwrap()).unwrap();
    assert_eq!(v["type"], json!("ExecutionSucceeded"));
    assert!(v["executionSucceededEventDetails"]["output"].is_string());
    assert!(v["timestamp"].as_str().unwrap().ends_with("+00:00"));
    let failed = run_with(
        single(json!({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "Nope"}, "End": true})),
        json!({}),
        echo(),
    )
    .await;
    assert_eq!(failed.error.as_deref(), Some("States.Runtime"));
}

// A failing Lambda task records LambdaFunctionFailed then ExecutionFailed (no
// TaskStateExited), with error and cause, as AWS records an uncaught Lambda error.
#[tokio::test]
async fn failed_lambda_history() {
    let invoker = RegistryInvoker::new().register("Echo", |_| async {
        Err::<Value, _>(TaskFailure::new(
            "Exception",
            "{\"errorMessage\": \"Some exception was raised.\", \"errorType\": \"Exception\"}",
        ))
    });
    let def = single(
        json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Echo", "End": true}),
    );
    let r = run_with(def, json!({}), invoker).await;
    assert_eq!(
        types(&r),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionFailed",
            "ExecutionFailed"
        ]
    );
    let failed = &r.history[4];
    assert_eq!(failed.details.to_value()["error"], json!("Exception"));
    assert_eq!(r.history[5].details.to_value()["error"], json!("Exception"));
    assert_eq!(r.history[5].previous_event_id, 5);
}

// The migration's poll loop: Wait -> PollStatus (Task) -> Choice, repeated. Per iteration the
// history grows by 2 (Wait) + 5 (Task) + 2 (Choice) = 9 events; with a 30 s interval that is
// 120 iterations and 1080 events per hour.
#[tokio::test]
async fn events_per_poll_iteration() {
    let polls = Arc::new(AtomicUsize::new(0));
    let p = polls.clone();
    let invoker = RegistryInvoker::new().register("PollStatus", move |_| {
        let n = p.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            Ok::<_, TaskFailure>(json!({"status": if n >= 120 { "STOPPED" } else { "RUNNING" }}))
        }
    });
    let def = json!({"StartAt": "WaitBeforePoll", "States": {
        "WaitBeforePoll": {"Type": "Wait", "Seconds": 30, "Next": "PollStatus"},
        "PollStatus": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:PollStatus", "Next": "TaskStopped?"},
        "TaskStopped?": {"Type": "Choice", "Choices": [{"Variable": "$.status", "StringEquals": "STOPPED", "Next": "Done"}], "Default": "WaitBeforePoll"},
        "Done": {"Type": "Succeed"}}});
    let r = run_with(def, json!({}), invoker).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(polls.load(Ordering::SeqCst), 120);
    // 1 start + 120 × 9 + 2 (Succeed) + 1 end.
    assert_eq!(r.history.len(), 1 + 120 * 9 + 2 + 1);
    assert_eq!(secs_since_start(&r, r.history.len() - 1), 3600);
    let counts = r.event_counts();
    assert_eq!(counts[&EventType::WaitStateEntered], 120);
    assert_eq!(counts[&EventType::LambdaFunctionSucceeded], 120);
}

#[tokio::test]
async fn observer_sees_every_event_in_order() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let (ex, _) = executor(
        single(json!({"Type": "Pass", "End": true})),
        Arc::new(RegistryInvoker::new()),
    );
    let r = ex
        .with_observer(Arc::new(move |e| s.lock().unwrap().push(e.id)))
        .run_to_completion(json!({}))
        .await;
    // ExecutionStarted, PassStateEntered, PassStateExited, ExecutionSucceeded: two empty lists
    // would be equal too.
    assert_eq!(*seen.lock().unwrap(), vec![1, 2, 3, 4]);
    assert_eq!(
        *seen.lock().unwrap(),
        r.history.iter().map(|e| e.id).collect::<Vec<_>>()
    );
}

/// `without_history` keeps no events but runs the same and still tells an observer everything
/// (what `ecs-migrate asl run` without `--history` and `ecs-migrate local` rely on).
#[tokio::test]
async fn without_history_keeps_no_events_but_the_observer_sees_them_all() {
    let def = serde_json::json!({
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "B"},
            "B": {"Type": "Choice", "Choices": [{"Variable": "$.i", "NumericLessThan": 3, "Next": "A"}], "Default": "C"},
            "C": {"Type": "Succeed"}
        }
    });
    let (with, _) = executor(def.clone(), std::sync::Arc::new(RegistryInvoker::new()));
    let full = with.run_to_completion(serde_json::json!({"i": 0})).await;

    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let (without, _) = executor(def, std::sync::Arc::new(RegistryInvoker::new()));
    let bare = without
        .without_history()
        .with_observer(std::sync::Arc::new(
            move |e: &ecs_migrate::asl::HistoryEvent| {
                sink.lock().unwrap().push((e.id, e.event_type))
            },
        ))
        .run_to_completion(serde_json::json!({"i": 0}))
        .await;
    assert_eq!(bare.status, full.status);
    assert_eq!(bare.output, full.output);
    assert!(bare.history.is_empty());
    let expected: Vec<_> = full.history.iter().map(|e| (e.id, e.event_type)).collect();
    // Three rounds of A and B, then C: not two empty lists.
    assert_eq!(expected.len(), 2 + 3 * 4 + 2);
    assert_eq!(*seen.lock().unwrap(), expected);
}
