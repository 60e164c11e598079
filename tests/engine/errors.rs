//! Retry, Catch, timeouts and the States.* errors, in virtual time: the assertions read the
//! timestamps of the history, which is what the console would show.

use crate::common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use ecs_migrate::asl::{
    EventType, ExecutionStatus, RegistryInvoker, SeededRandom, TaskFailure, UnboundInvoker,
};
use ecs_migrate::common::clock::{Clock, VirtualClock};
use serde_json::{json, Value};

const FN: &str = "arn:aws:lambda:us-east-1:123456789012:function:Flaky";

/// A handler failing with `error` the first `failures` times, then returning {"ok": true}.
fn flaky(error: &'static str, failures: usize) -> (RegistryInvoker, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let invoker = RegistryInvoker::new().register("Flaky", move |_| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        async move {
            if n < failures {
                Err(TaskFailure::new(error, format!("attempt {n} failed")))
            } else {
                Ok(json!({"ok": true}))
            }
        }
    });
    (invoker, calls)
}

fn task(extra: Value) -> Value {
    let mut s = json!({"Type": "Task", "Resource": FN, "End": true});
    for (k, v) in extra.as_object().unwrap() {
        s[k] = v.clone();
    }
    s
}

/// Offsets (seconds from the start, with millisecond precision) of every event of a type.
fn offsets(r: &ecs_migrate::asl::ExecutionResult, ty: EventType) -> Vec<f64> {
    r.history
        .iter()
        .filter(|e| e.event_type == ty)
        .map(|e| (e.timestamp - t0()).num_milliseconds() as f64 / 1000.0)
        .collect()
}

// "Retrying after an error": IntervalSeconds 3, BackoffRate 2, MaxAttempts 4, with
// MaxDelaySeconds 10 capping the growth: waits of 3, 6, 10 and 10 seconds.
#[tokio::test]
async fn retry_backoff_and_max_delay_in_virtual_time() {
    let (invoker, calls) = flaky("Boom", 100);
    let def = single(task(
        json!({"Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 3, "MaxAttempts": 4,
                                           "BackoffRate": 2, "MaxDelaySeconds": 10}]}),
    ));
    let r = run_with(def, json!({}), invoker).await;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(r.error.as_deref(), Some("Boom"));
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    assert_eq!(
        offsets(&r, EventType::LambdaFunctionScheduled),
        [0.0, 3.0, 9.0, 19.0, 29.0]
    );
    assert_eq!(offsets(&r, EventType::ExecutionFailed), [29.0]);
}

// "Retrying after an error": "This example of a Retry makes 2 retry attempts after waiting
// for 3 and 4.5 seconds" (States.Timeout, IntervalSeconds 3, MaxAttempts 2, BackoffRate 1.5).
#[tokio::test]
async fn retry_example_3_and_4_5_seconds() {
    let (invoker, _) = flaky("States.Timeout", 100);
    let def = single(task(
        json!({"Retry": [{"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 3,
                                           "MaxAttempts": 2, "BackoffRate": 1.5}]}),
    ));
    let r = run_with(def, json!({}), invoker).await;
    assert_eq!(
        offsets(&r, EventType::LambdaFunctionScheduled),
        [0.0, 3.0, 7.5]
    );
    assert_eq!(r.error.as_deref(), Some("States.Timeout"));
}

// JitterStrategy FULL: each wait is random between 0 and the computed interval; with a seeded
// random source the schedule is the same on every run.
#[tokio::test]
async fn full_jitter_is_bounded_and_deterministic() {
    let def = single(task(
        json!({"Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10,
                                           "MaxAttempts": 3, "BackoffRate": 2, "JitterStrategy": "FULL"}]}),
    ));
    let mut schedules = Vec::new();
    for _ in 0..2 {
        let (invoker, _) = flaky("Boom", 100);
        let (ex, _) = executor(def.clone(), Arc::new(invoker));
        let r = ex
            .with_random(Arc::new(SeededRandom::new(7)))
            .run_to_completion(json!({}))
            .await;
        let at = offsets(&r, EventType::LambdaFunctionScheduled);
        let waits: Vec<f64> = at.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(waits.len(), 3);
        for (w, max) in waits.iter().zip([10.0, 20.0, 40.0]) {
            assert!(*w >= 0.0 && *w <= max, "{waits:?}");
        }
        schedules.push(at);
    }
    assert_eq!(schedules[0], schedules[1]);
    assert_ne!(
        schedules[0]
            .windows(2)
            .map(|w| w[1] - w[0])
            .collect::<Vec<_>>(),
        vec![10.0, 20.0, 40.0],
        "jitter should change the waits"
    );
}

// "Retrying after an error", MaxAttempts: "A value of 0 specifies that the error or errors are
// never retried", and the example that retries everything except States.Timeout.
#[tokio::test]
async fn max_attempts_zero_is_never_retried() {
    let def = json!({"StartAt": "T", "States": {
        "T": task(json!({"End": null, "Next": "Done",
            "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"]}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]})),
        "Done": {"Type": "Succeed"},
        "Caught": {"Type": "Pass", "End": true}}});
    let mut def = def;
    def["States"]["T"].as_object_mut().unwrap().remove("End");
    let (invoker, calls) = flaky("States.Timeout", 100);
    let r = run_with(def.clone(), json!({}), invoker).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(r.output.unwrap()["Error"], json!("States.Timeout"));
    let (invoker, calls) = flaky("Other", 2);
    let r = run_with(def, json!({}), invoker).await;
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    assert_eq!(r.status, ExecutionStatus::Succeeded);
}

// "Use ResultPath to include both error and input in a Catch": input {"foo": "bar"} with
// ResultPath "$.error" gives {"foo": "bar", "error": {"Error": ..., "Cause": ...}}.
#[tokio::test]
async fn catch_with_resultpath_keeps_the_input() {
    let (invoker, _) = flaky("Error here", 100);
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": FN, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "NextTask", "ResultPath": "$.error"}], "End": true},
        "NextTask": {"Type": "Pass", "End": true}}});
    let r = run_with(def, json!({"foo": "bar"}), invoker).await;
    assert_eq!(
        r.output.clone().unwrap(),
        json!({"foo": "bar", "error": {"Error": "Error here", "Cause": "attempt 0 failed"}})
    );
    // A caught Task exits (TaskStateExited with the catcher's output), then Next runs.
    assert_eq!(
        types(&r),
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionFailed",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded"
        ]
    );
}

// $$.State.RetryCount counts the retries of the current state (Context object page).
#[tokio::test]
async fn retry_count_in_the_context_object() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let n = Arc::new(AtomicUsize::new(0));
    let invoker = RegistryInvoker::new().register("Flaky", move |call| {
        s.lock().unwrap().push(call.input["retry"].clone());
        let k = n.fetch_add(1, Ordering::SeqCst);
        async move {
            if k < 2 {
                Err(TaskFailure::new("Boom", ""))
            } else {
                Ok(json!("done"))
            }
        }
    });
    let def = single(task(
        json!({"Parameters": {"retry.$": "$$.State.RetryCount"},
                                 "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 1}]}),
    ));
    let r = run_with(def, json!({}), invoker).await;
    assert_eq!(r.output, Some(json!("done")));
    assert_eq!(*seen.lock().unwrap(), [json!(0), json!(1), json!(2)]);
}

/// A handler that takes `secs` of virtual time and records whether it was dropped unfinished.
fn slow(clock: Arc<VirtualClock>, secs: u64, dropped: Arc<AtomicBool>) -> RegistryInvoker {
    RegistryInvoker::new().register("Flaky", move |_| {
        let clock = clock.clone();
        let dropped = dropped.clone();
        async move {
            struct Guard(Arc<AtomicBool>, bool);
            impl Drop for Guard {
                fn drop(&mut self) {
                    if !self.1 {
                        self.0.store(true, Ordering::SeqCst);
                    }
                }
            }
            let mut g = Guard(dropped, false);
            clock.sleep(Duration::from_secs(secs)).await;
            g.1 = true;
            Ok::<_, TaskFailure>(json!("finished"))
        }
    })
}

// "Task workflow state", TimeoutSeconds: a task running longer fails with States.Timeout; the
// running invocation is dropped. The history shows LambdaFunctionTimedOut at +60 s.
#[tokio::test]
async fn task_timeout_in_virtual_time() {
    for (timeout, input) in [
        (json!({"TimeoutSeconds": 60}), json!({})),
        (json!({"TimeoutSecondsPath": "$.t"}), json!({"t": 60})),
    ] {
        let clock = Arc::new(VirtualClock::starting_at(t0()));
        let dropped = Arc::new(AtomicBool::new(false));
        let invoker = slow(clock.clone(), 120, dropped.clone());
        let ex = ecs_migrate::asl::Executor::new(
            definition(single(task(timeout))),
            Arc::new(invoker),
            clock.clone(),
        );
        let r = ex.run_to_completion(input).await;
        assert_eq!(r.status, ExecutionStatus::Failed);
        assert_eq!(r.error.as_deref(), Some("States.Timeout"));
        assert_eq!(offsets(&r, EventType::LambdaFunctionTimedOut), [60.0]);
        let scheduled = r
            .history
            .iter()
            .find(|e| e.event_type == EventType::LambdaFunctionScheduled)
            .unwrap();
        assert_eq!(scheduled.details.to_value()["timeoutInSeconds"], json!(60));
        assert!(
            dropped.load(Ordering::SeqCst),
            "the timed-out invocation must be dropped"
        );
    }
}

#[tokio::test]
async fn task_within_its_timeout_succeeds() {
    let clock = Arc::new(VirtualClock::starting_at(t0()));
    let invoker = slow(clock.clone(), 30, Arc::new(AtomicBool::new(false)));
    let ex = ecs_migrate::asl::Executor::new(
        definition(single(task(json!({"TimeoutSeconds": 60})))),
        Arc::new(invoker),
        clock,
    );
    let r = ex.run_to_completion(json!({})).await;
    assert_eq!(r.output, Some(json!("finished")));
    assert_eq!(offsets(&r, EventType::LambdaFunctionSucceeded), [30.0]);
}

// HeartbeatSeconds ("Task workflow state"): an activity (or a .waitForTaskToken callback)
// that stops sending heartbeats fails with States.HeartbeatTimeout, which a catcher for
// States.Timeout also matches ("States.Timeout: ... or failed to send a heartbeat for a period
// longer than the HeartbeatSeconds value"). A request-response Lambda call is bounded by
// TimeoutSeconds only.
#[tokio::test]
async fn heartbeat_timeout() {
    const ACTIVITY: &str = "arn:aws:states:us-east-1:123456789012:activity:Migrate";
    let run_one = |resource: &'static str| async move {
        let clock = Arc::new(VirtualClock::starting_at(t0()));
        let c = clock.clone();
        let invoker = RegistryInvoker::new().register(resource, move |call| {
            let c = c.clone();
            async move {
                for _ in 0..3 {
                    c.sleep(Duration::from_secs(10)).await;
                    call.heartbeat.beat();
                }
                c.sleep(Duration::from_secs(100)).await;
                Ok::<_, TaskFailure>(json!("finished"))
            }
        });
        let def = json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": resource, "TimeoutSeconds": 500, "HeartbeatSeconds": 25,
                  "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Caught"}], "End": true},
            "Caught": {"Type": "Pass", "End": true}}});
        let ex = ecs_migrate::asl::Executor::new(definition(def), Arc::new(invoker), clock);
        ex.run_to_completion(json!({})).await
    };
    let r = run_one(ACTIVITY).await;
    assert_eq!(
        r.output.clone().unwrap()["Error"],
        json!("States.HeartbeatTimeout")
    );
    assert_eq!(offsets(&r, EventType::ActivityTimedOut), [75.0]);
    let scheduled = r
        .history
        .iter()
        .find(|e| e.event_type == EventType::ActivityScheduled)
        .unwrap();
    assert_eq!(
        scheduled.details.to_value()["heartbeatInSeconds"],
        json!(25)
    );
    let r = run_one(FN).await;
    assert_eq!(r.output, Some(json!("finished")));
    assert_eq!(offsets(&r, EventType::LambdaFunctionSucceeded), [130.0]);
}

// State machine TimeoutSeconds: the execution ends TIMED_OUT with States.Timeout.
#[tokio::test]
async fn state_machine_timeout_times_the_execution_out() {
    let def = json!({"TimeoutSeconds": 30, "StartAt": "W", "States": {
        "W": {"Type": "Wait", "Seconds": 100, "Next": "Done"}, "Done": {"Type": "Succeed"}}});
    let r = run(def, json!({})).await;
    assert_eq!(r.status, ExecutionStatus::TimedOut);
    assert_eq!(r.error.as_deref(), Some("States.Timeout"));
    assert_eq!(
        types(&r),
        ["ExecutionStarted", "WaitStateEntered", "ExecutionTimedOut"]
    );
    assert_eq!(offsets(&r, EventType::ExecutionTimedOut), [30.0]);
    assert_eq!(r.to_json(false)["status"], json!("TIMED_OUT"));
}

// "Fail workflow state": Error/Cause, or ErrorPath/CausePath (a reference path or an
// intrinsic that returns a string).
#[tokio::test]
async fn fail_state_error_and_cause() {
    let r = run(
        single(json!({"Type": "Fail", "Error": "ErrorA", "Cause": "Kaiju attack"})),
        json!({}),
    )
    .await;
    assert_eq!(
        (r.error.as_deref(), r.cause.as_deref()),
        (Some("ErrorA"), Some("Kaiju attack"))
    );
    assert_eq!(
        types(&r),
        ["ExecutionStarted", "FailStateEntered", "ExecutionFailed"]
    );
    let def = single(
        json!({"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('code {}', $.code)"}),
    );
    let r = run(def, json!({"e": "Migration.NonZeroExit", "code": 1})).await;
    assert_eq!(
        (r.error.as_deref(), r.cause.as_deref()),
        (Some("Migration.NonZeroExit"), Some("code 1"))
    );
    let r = run(
        single(json!({"Type": "Fail", "ErrorPath": "$.e"})),
        json!({"e": 5}),
    )
    .await;
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
}

// "States.TaskFailed ... matches any known error name except for States.Timeout".
#[tokio::test]
async fn task_failed_matches_task_errors_but_not_timeouts() {
    let def = json!({"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": FN, "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Succeed"}}});
    let (invoker, _) = flaky("Lambda.Unknown", 1);
    assert_eq!(
        run_with(def.clone(), json!({}), invoker).await.status,
        ExecutionStatus::Succeeded
    );
    let (invoker, _) = flaky("States.Timeout", 1);
    assert_eq!(
        run_with(def, json!({}), invoker).await.status,
        ExecutionStatus::Failed
    );
}

// "States.Runtime ... A States.Runtime error isn't retriable": a retrier on States.ALL does
// not retry it; a missing binding is reported the same way and names the state.
#[tokio::test]
async fn runtime_errors_are_not_retried_and_unbound_tasks_name_the_state() {
    let (invoker, calls) = flaky("Boom", 0);
    let def = single(task(
        json!({"Parameters": {"x.$": "$.missing"}, "Retry": [{"ErrorEquals": ["States.ALL"]}]}),
    ));
    let r = run_with(def, json!({}), invoker).await;
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let def = single(task(
        json!({"Catch": [{"ErrorEquals": ["States.ALL"], "Next": "S"}]}),
    ));
    let r = run_with(def, json!({}), UnboundInvoker).await;
    assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    assert!(r.cause.unwrap().contains("state 'S'"));
}

// A Parallel state retries as a whole ("Parallel workflow state": Retry and Catch apply to
// the Parallel state).
#[tokio::test]
async fn parallel_retry_reruns_all_branches() {
    let (invoker, calls) = flaky("Boom", 1);
    let def = single(json!({"Type": "Parallel", "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": FN, "End": true}}},
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "Result": 2, "End": true}}}],
        "Retry": [{"ErrorEquals": ["Boom"], "IntervalSeconds": 5}], "End": true}));
    let r = run_with(def, json!({}), invoker).await;
    assert_eq!(r.output, Some(json!([{"ok": true}, 2])));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(offsets(&r, EventType::ParallelStateStarted), [0.0, 5.0]);
    assert_eq!(offsets(&r, EventType::ParallelStateFailed), [0.0]);
}

#[tokio::test]
async fn wait_state_forms() {
    let cases = [
        (
            json!({"Type": "Wait", "Seconds": 10, "End": true}),
            json!({}),
            10.0,
        ),
        (
            json!({"Type": "Wait", "SecondsPath": "$.s", "End": true}),
            json!({"s": 25}),
            25.0,
        ),
        (
            json!({"Type": "Wait", "Timestamp": "2026-01-01T01:00:00Z", "End": true}),
            json!({}),
            3600.0,
        ),
        // "Wait workflow state", TimestampPath: wait until the time in the input.
        (
            json!({"Type": "Wait", "TimestampPath": "$.expirydate", "End": true}),
            json!({"expirydate": "2026-01-01T00:02:00+00:00"}),
            120.0,
        ),
        // A timestamp in the past does not wait.
        (
            json!({"Type": "Wait", "Timestamp": "2020-01-01T00:00:00Z", "End": true}),
            json!({}),
            0.0,
        ),
    ];
    for (state, input, secs) in cases {
        let r = run(single(state.clone()), input.clone()).await;
        assert_eq!(r.status, ExecutionStatus::Succeeded, "{state}");
        assert_eq!(r.output, Some(input), "{state}");
        assert_eq!(offsets(&r, EventType::WaitStateExited), [secs], "{state}");
    }
    for (state, input) in [
        (
            json!({"Type": "Wait", "SecondsPath": "$.s", "End": true}),
            json!({"s": -1}),
        ),
        (
            json!({"Type": "Wait", "TimestampPath": "$.t", "End": true}),
            json!({"t": "yesterday"}),
        ),
    ] {
        let r = run(single(state.clone()), input).await;
        assert_eq!(r.error.as_deref(), Some("States.Runtime"), "{state}");
    }
}

// "Error names": States.ParameterPathFailure and States.IntrinsicFailure are reserved for
// future use; parameter and intrinsic processing errors are reported as States.Runtime. So a
// Catch naming either one does not fire, and the execution fails with States.Runtime.
#[tokio::test]
async fn parameter_and_intrinsic_failures_are_reported_as_runtime() {
    let cases = [
        (
            "States.ParameterPathFailure",
            json!({"JobName.$": "$.JobName"}),
            "The JSONPath '$.JobName' specified for the field 'JobName.$' could not be found",
        ),
        (
            "States.IntrinsicFailure",
            json!({"parsed.$": "States.StringToJson($.text)"}),
            "The function 'States.StringToJson($.text)' had the following error",
        ),
    ];
    for (name, parameters, cause) in cases {
        let (invoker, calls) = flaky("Boom", 0);
        let def = json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": FN, "Parameters": parameters,
                  "Retry": [{"ErrorEquals": [name]}],
                  "Catch": [{"ErrorEquals": [name], "Next": "Caught"}], "End": true},
            "Caught": {"Type": "Succeed"}}});
        let r = run_with(def, json!({"text": "not json"}), invoker).await;
        assert_eq!(r.status, ExecutionStatus::Failed, "{name}");
        assert_eq!(r.error.as_deref(), Some("States.Runtime"), "{name}");
        assert!(
            r.cause.as_deref().unwrap_or_default().contains(cause),
            "{name}: {:?}",
            r.cause
        );
        assert_eq!(calls.load(Ordering::SeqCst), 0, "{name}");
    }
}

// "States.DataLimitExceeded": a task result over the 256 KiB payload quota fails the task with
// the service's message; States.ALL does not catch it, a Catch naming it does.
#[tokio::test]
async fn oversized_task_results_exceed_the_data_limit() {
    let big = || {
        RegistryInvoker::new().register("Flaky", |_| async {
            Ok::<_, TaskFailure>(json!({"rows": "x".repeat(262_144)}))
        })
    };
    let def = |errors: Value| {
        json!({"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": FN,
                  "Catch": [{"ErrorEquals": errors, "Next": "Caught"}], "End": true},
            "Caught": {"Type": "Succeed"}}})
    };
    let r = run_with(def(json!(["States.ALL"])), json!({}), big()).await;
    assert_eq!(r.status, ExecutionStatus::Failed);
    assert_eq!(
        (r.error.as_deref(), r.cause.as_deref()),
        (
            Some("States.DataLimitExceeded"),
            Some(&*format!("The state/task '{FN}' returned a result with a size exceeding the maximum number of bytes service limit."))
        )
    );
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
    let r = run_with(def(json!(["States.DataLimitExceeded"])), json!({}), big()).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    // Just under the quota passes: {"rows":"..."} is 11 bytes of framing.
    let fits = RegistryInvoker::new().register("Flaky", |_| async {
        Ok::<_, TaskFailure>(json!({"rows": "x".repeat(262_144 - 11)}))
    });
    let r = run_with(def(json!(["States.ALL"])), json!({}), fits).await;
    assert_eq!(r.status, ExecutionStatus::Succeeded);
    assert!(!types(&r).contains(&"LambdaFunctionFailed"));
}
