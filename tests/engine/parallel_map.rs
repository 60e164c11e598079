//! Parallel and Map: results, failure rules ("Parallel workflow state", "Map workflow
//! state"), tolerated failures, concurrency, variable scopes and overlapping waits in virtual
//! time.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use ecs_migrate::asl::{EventType, ExecutionStatus, RegistryInvoker, TaskFailure};
use ecs_migrate::common::clock::{Clock, VirtualClock};
use serde_json::{json, Value};

fn branch(states: Value, start: &str) -> Value {
    json!({"StartAt": start, "States": states})
}

// "Parallel workflow state": the output is an array with one element per branch, in branch
// order; Parameters feeds every branch; ResultSelector and ResultPath apply to the array.
#[tokio::test]
async fn parallel_collects_branch_outputs_in_order() {
    let def = single(json!({"Type": "Parallel",
        "Parameters": {"n.$": "$.n"},
        "Branches": [
            branch(json!({"W": {"Type": "Wait", "Seconds": 20, "Next": "A"}, "A": {"Type": "Pass", "Parameters": {"a.$": "$.n"}, "End": true}}), "W"),
            branch(json!({"B": {"Type": "Pass", "Parameters": {"b.$": "States.MathAdd($.n, 1)"}, "End": true}}), "B")
        ],
        "ResultSelector": {"first.$": "$[0].a", "second.$": "$[1].b"},
        "ResultPath": "$.result", "End": true}));
    let r = run(def, json!({"n": 1})).await;
    assert_eq!(
        r.output.unwrap(),
        json!({"n": 1, "result": {"first": 1, "second": 2}})
    );
}

// "Parallel workflow state": "If any branch fails, because of an unhandled error or by
// transitioning to a Fail state, the entire Parallel state is considered to have failed and
// all its branches are stopped." The error is the failing branch's own error.
#[tokio::test]
async fn one_failing_branch_fails_the_parallel_with_its_error() {
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Branches": [
            branch(json!({"Slow": {"Type": "Wait", "Seconds": 100, "End": true}}), "Slow"),
            branch(json!({"Quick": {"Type": "Wait", "Seconds": 1, "Next": "Boom"}, "Boom": {"Type": "Fail", "Error": "Branch.Error", "Cause": "bad"}}), "Quick")
        ], "Catch": [{"ErrorEquals": ["Branch.Error"], "Next": "Handled", "ResultPath": "$.err"}], "End": true},
        "Handled": {"Type": "Pass", "End": true}}});
    let r = run(def, json!({})).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert_eq!(
        r.output.clone().unwrap(),
        json!({"err": {"Error": "Branch.Error", "Cause": "bad"}})
    );
    let t = types(&r);
    // The slow branch's Wait is aborted, then the Parallel fails and is caught.
    let aborted = t
        .iter()
        .position(|x| *x == "WaitStateAborted")
        .expect("aborted");
    let failed = t
        .iter()
        .position(|x| *x == "ParallelStateFailed")
        .expect("failed");
    assert!(aborted < failed, "{t:?}");
    assert!(!t.contains(&"ParallelStateSucceeded"));
    let last = r
        .history
        .iter()
        .rev()
        .find(|e| e.event_type == EventType::ParallelStateExited)
        .unwrap();
    assert_eq!(
        (last.timestamp - t0()).num_seconds(),
        1,
        "the Parallel stops when the branch fails, not after the slow one"
    );
    // Uncaught, the execution fails with the branch's error.
    let def = single(json!({"Type": "Parallel", "Branches": [
        branch(json!({"Boom": {"Type": "Fail", "Error": "Branch.Error"}}), "Boom")], "End": true}));
    assert_eq!(
        run(def, json!({})).await.error.as_deref(),
        Some("Branch.Error")
    );
}

// Overlapping waits in branches end at the right virtual times (10 s and 20 s, not 30 s),
// on a multi-threaded runtime too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_waits_in_branches() {
    let def = single(json!({"Type": "Parallel", "Branches": [
        branch(json!({"A": {"Type": "Wait", "Seconds": 10, "End": true}}), "A"),
        branch(json!({"B": {"Type": "Wait", "Seconds": 20, "End": true}}), "B"),
        branch(json!({"C": {"Type": "Wait", "Seconds": 15, "Next": "C2"}, "C2": {"Type": "Wait", "Seconds": 1, "End": true}}), "C")
    ], "End": true}));
    let r = run(def, json!({})).await;
    let exits: Vec<(String, i64)> = r
        .history
        .iter()
        .filter(|e| e.event_type == EventType::WaitStateExited)
        .map(|e| {
            (
                e.state_name().unwrap().to_string(),
                (e.timestamp - t0()).num_seconds(),
            )
        })
        .collect();
    assert_eq!(
        exits,
        [
            ("A".to_string(), 10),
            ("C".into(), 15),
            ("C2".into(), 16),
            ("B".into(), 20)
        ]
    );
}

fn map_def(extra: Value) -> Value {
    let mut m = json!({"Type": "Map", "ItemsPath": "$.items",
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Work",
            "States": {"Work": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Work", "End": true}}},
        "End": true});
    for (k, v) in extra.as_object().unwrap() {
        m[k] = v.clone();
    }
    single(m)
}

/// Doubles numbers; fails with "Item.Bad" on negative ones.
fn worker() -> RegistryInvoker {
    RegistryInvoker::new().register("Work", |call| async move {
        let n = call.input.as_i64().unwrap_or(0);
        if n < 0 {
            Err(TaskFailure::new("Item.Bad", format!("item {n}")))
        } else {
            Ok(json!(n * 2))
        }
    })
}

// "Map workflow state": one iteration per item, results in item order; the legacy Iterator
// field works the same way.
#[tokio::test]
async fn map_runs_every_item() {
    let r = run_with(map_def(json!({})), json!({"items": [1, 2, 3]}), worker()).await;
    assert_eq!(r.output, Some(json!([2, 4, 6])));
    let mut legacy = map_def(json!({}));
    let processor = legacy["States"]["S"]["ItemProcessor"].take();
    legacy["States"]["S"]
        .as_object_mut()
        .unwrap()
        .remove("ItemProcessor");
    legacy["States"]["S"]["Iterator"] =
        json!({"StartAt": processor["StartAt"], "States": processor["States"]});
    let r = run_with(legacy, json!({"items": []}), worker()).await;
    assert_eq!(r.output, Some(json!([])));
    let counts = r.event_counts();
    assert_eq!(counts.get(&EventType::MapStateStarted), Some(&1));
    assert_eq!(counts.get(&EventType::MapIterationStarted), None);
}

// Inline Map: a failed iteration fails the Map with that iteration's error and stops the
// others (MapIterationFailed, MapIterationAborted, MapStateFailed).
#[tokio::test]
async fn failing_iteration_fails_the_map() {
    let r = run_with(map_def(json!({})), json!({"items": [1, -1, 3]}), worker()).await;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("Item.Bad"));
    let counts = r.event_counts();
    assert_eq!(counts.get(&EventType::MapIterationFailed), Some(&1));
    assert_eq!(counts.get(&EventType::MapStateFailed), Some(&1));
    assert!(!counts.contains_key(&EventType::MapStateSucceeded));
}

// ToleratedFailureCount / ToleratedFailurePercentage: failures up to the threshold are
// tolerated (their error output takes the item's place); beyond it the Map fails with
// States.ExceedToleratedFailureThreshold.
#[tokio::test]
async fn tolerated_failures() {
    let items = json!({"items": [1, -1, 2, -2]});
    let r = run_with(
        map_def(json!({"ToleratedFailureCount": 2})),
        items.clone(),
        worker(),
    )
    .await;
    assert_eq!(r.status, ExecutionStatus::Succeeded, "{:?}", r.cause);
    assert_eq!(
        r.output.unwrap(),
        json!([2, {"Error": "Item.Bad", "Cause": "item -1"}, 4, {"Error": "Item.Bad", "Cause": "item -2"}])
    );
    let r = run_with(
        map_def(json!({"ToleratedFailureCount": 1})),
        items.clone(),
        worker(),
    )
    .await;
    assert_eq!(
        r.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    let r = run_with(
        map_def(json!({"ToleratedFailurePercentage": 50})),
        items.clone(),
        worker(),
    )
    .await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    let r = run_with(
        map_def(json!({"ToleratedFailurePercentage": 25})),
        items.clone(),
        worker(),
    )
    .await;
    assert_eq!(
        r.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );
    let r = run_with(
        map_def(json!({"ToleratedFailureCountPath": "$.tol"})),
        json!({"items": [-1], "tol": 1}),
        worker(),
    )
    .await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
}

// MaxConcurrency: at most N iterations run at once (here 2 items of 10 s each at a time:
// 5 items take 30 s of virtual time).
#[tokio::test]
async fn max_concurrency_limits_iterations() {
    let clock = Arc::new(VirtualClock::starting_at(t0()));
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (c, run_c, peak_c) = (clock.clone(), running.clone(), peak.clone());
    let invoker = RegistryInvoker::new().register("Work", move |_| {
        let (c, running, peak) = (c.clone(), run_c.clone(), peak_c.clone());
        async move {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            c.sleep(Duration::from_secs(10)).await;
            running.fetch_sub(1, Ordering::SeqCst);
            Ok::<_, TaskFailure>(json!(1))
        }
    });
    let ex = ecs_migrate::asl::Executor::new(
        definition(map_def(json!({"MaxConcurrency": 2}))),
        Arc::new(invoker),
        clock.clone(),
    );
    let r = ex
        .run_to_completion(json!({"items": [1, 2, 3, 4, 5]}))
        .await;
    assert_eq!(r.output, Some(json!([1, 1, 1, 1, 1])));
    assert_eq!(peak.load(Ordering::SeqCst), 2);
    assert_eq!((clock.now() - t0()).num_seconds(), 30);
}

// "Passing data between states with variables", variable scope: inner states of a Parallel
// or Map read outer variables; what they assign stays inside their branch/iteration.
#[tokio::test]
async fn variable_scopes() {
    let def = json!({"StartAt": "Set", "States": {
        "Set": {"Type": "Pass", "Assign": {"outer": "o", "shadow": "outer"}, "Next": "P"},
        "P": {"Type": "Parallel", "Branches": [branch(json!({
            "Inner": {"Type": "Pass", "Assign": {"inner": "i", "shadow": "inner"}, "Next": "Read"},
            "Read": {"Type": "Pass", "Parameters": {"outer.$": "$outer", "inner.$": "$inner", "shadow.$": "$shadow"}, "End": true}
        }), "Inner")], "ResultPath": "$.branch", "Next": "After"},
        "After": {"Type": "Pass", "Parameters": {"outer.$": "$outer", "shadow.$": "$shadow", "branch.$": "$.branch"}, "End": true}}});
    let r = run(def.clone(), json!({})).await;
    assert_eq!(
        r.output.unwrap(),
        json!({"outer": "o", "shadow": "outer", "branch": [{"outer": "o", "inner": "i", "shadow": "inner"}]})
    );
    // The inner variable does not exist outside.
    let mut leak = def;
    leak["States"]["After"]["Parameters"] = json!({"inner.$": "$inner"});
    let r = run(leak, json!({})).await;
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    let cause = r.cause.unwrap();
    assert!(
        cause.contains("'inner' specified for the field 'inner.$' is not defined"),
        "{cause}"
    );
}

// Assign evaluates all its values against the variables as they were before the state, and
// a Task's Assign sees the task result as $. The exited event lists assignedVariables.
#[tokio::test]
async fn assign_semantics() {
    let invoker = RegistryInvoker::new()
        .register("Work", |_| async { Ok::<_, TaskFailure>(json!({"id": 7})) });
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"x": 1}, "Next": "B"},
        "B": {"Type": "Pass", "Assign": {"x": 2, "old.$": "$x"}, "Next": "T"},
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Work",
              "Assign": {"taskId.$": "$.id"}, "ResultPath": null, "Next": "Out"},
        "Out": {"Type": "Pass", "Parameters": {"x.$": "$x", "old.$": "$old", "taskId.$": "$taskId"}, "End": true}}});
    let r = run_with(def, json!({}), invoker).await;
    assert_eq!(
        r.output.clone().unwrap(),
        json!({"x": 2, "old": 1, "taskId": 7})
    );
    let exited = r
        .history
        .iter()
        .find(|e| e.event_type == EventType::TaskStateExited)
        .unwrap();
    assert_eq!(
        exited.details.to_value()["assignedVariables"],
        json!({"taskId": "7"})
    );
}

// Parallel branch previousEventId chains start at ParallelStateStarted; Map iteration
// chains at MapIterationStarted, which points at MapStateStarted (as AWS histories show).
#[tokio::test]
async fn thread_chains_in_history() {
    let def = single(
        json!({"Type": "Map", "ItemsPath": "$", "ItemProcessor": {"StartAt": "P",
        "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}),
    );
    let r = run(def, json!([1, 2])).await;
    let started = r
        .history
        .iter()
        .find(|e| e.event_type == EventType::MapStateStarted)
        .unwrap();
    assert_eq!(started.details.to_value(), json!({"length": 2}));
    for it in r
        .history
        .iter()
        .filter(|e| e.event_type == EventType::MapIterationStarted)
    {
        assert_eq!(it.previous_event_id, started.id);
        let entered = r
            .history
            .iter()
            .find(|e| e.event_type == EventType::PassStateEntered && e.previous_event_id == it.id)
            .expect("the iteration's first state points at its MapIterationStarted");
        assert_eq!(entered.state_name(), Some("P"));
    }
}

// Aborting the execution drops the running Task and ends it ABORTED, with TaskStateAborted
// for the state that was running.
#[tokio::test]
async fn abort_drops_the_running_task() {
    let clock = Arc::new(VirtualClock::starting_at(t0()));
    let finished = Arc::new(AtomicUsize::new(0));
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let started_tx = Arc::new(std::sync::Mutex::new(Some(started_tx)));
    let f = finished.clone();
    let invoker = RegistryInvoker::new().register("Work", move |_| {
        let f = f.clone();
        if let Some(tx) = started_tx.lock().unwrap().take() {
            let _ = tx.send(());
        }
        async move {
            std::future::pending::<()>().await;
            f.fetch_add(1, Ordering::SeqCst);
            Ok::<_, TaskFailure>(Value::Null)
        }
    });
    let def = single(
        json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Work", "End": true}),
    );
    let ex = ecs_migrate::asl::Executor::new(definition(def), Arc::new(invoker), clock.clone());
    // Abort as soon as the task is running (Ctrl-C in the CLI).
    let abort = async move {
        let _ = started_rx.await;
    };
    let r = ex.run(json!({}), abort).await;
    assert_eq!(r.status, ExecutionStatus::Aborted);
    assert_eq!(finished.load(Ordering::SeqCst), 0);
    assert_eq!(
        types(&r),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "TaskStateAborted",
            "ExecutionAborted"
        ]
    );
    assert_eq!(r.to_json(false), json!({"status": "ABORTED"}));
}
