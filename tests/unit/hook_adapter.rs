//! Layer 1: the deployment-hook adapter through the real aws-sdk-sfn adapter over
//! aws-smithy-mocks: what it answers ECS (Amazon ECS Developer Guide, "Lambda hooks for
//! Amazon ECS service deployments": hookStatus SUCCEEDED | FAILED | IN_PROGRESS, callBackDelay,
//! hookDetails passed back on the next invocation), and that it starts one execution per hook.

use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use aws_sdk_sfn::operation::start_execution::StartExecutionOutput;
use aws_sdk_sfn::types::ExecutionStatus;
use aws_sdk_sfn::Client as SfnClient;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use ecs_migrate::lambda::deployment_hook::{
    answer_hook, AdapterConfig, HookStatus, EXECUTION_KEY, UNREADABLE_KEY,
};
use ecs_migrate::ports::executions::{execution_arn, SdkExecutions};
use serde_json::{json, Value};

const STATE_MACHINE: &str = "arn:aws:states:us-west-2:123456789012:stateMachine:ecs-migrate";

fn config() -> AdapterConfig {
    AdapterConfig {
        state_machine_arn: STATE_MACHINE.into(),
        call_back_delay: 30,
        max_unreadable: 3,
    }
}

/// The payload of the Developer Guide's example, with the hook's own configured hookDetails.
fn payload(hook_details: Value) -> Value {
    json!({
        "executionId": "e8d5a28f-eb01-4f3c-9454-a30ba6dc54bc",
        "lifecycleStage": "PRE_SCALE_UP",
        "resourceArn": "arn:aws:ecs:us-west-2:123456789012:service-deployment/my-cluster/my-service/EZe5RNVLH6PPzHXINuP28",
        "executionDetails": {
            "serviceArn": "arn:aws:ecs:us-west-2:123456789012:service/my-cluster/my-service",
            "targetServiceRevisionArn": "arn:aws:ecs:us-west-2:123456789012:service-revision/my-cluster/my-service/9313423515462893900",
            "testTrafficWeights": {}, "productionTrafficWeights": {}
        },
        "hookDetails": hook_details
    })
}

fn client(rules: &[&Rule]) -> SdkExecutions {
    SdkExecutions::new(mock_client!(aws_sdk_sfn, RuleMode::MatchAny, rules, |b| b
        .retry_config(
            aws_sdk_sfn::config::retry::RetryConfig::standard()
                .with_max_attempts(2)
                .with_initial_backoff(std::time::Duration::from_millis(1))
        )))
}

fn started() -> Rule {
    mock!(SfnClient::start_execution)
        .match_requests(|r| {
            r.state_machine_arn() == Some(STATE_MACHINE)
                && r.name().is_some_and(|n| n.starts_with("hook-") && n.len() == 45)
                // hookDetails change between invocations: never part of the input.
                && r.input().is_some_and(|i| !i.contains("hookDetails"))
        })
        .then_output(|| {
            StartExecutionOutput::builder()
                .execution_arn(format!(
                    "{}:started",
                    STATE_MACHINE.replace(":stateMachine:", ":execution:")
                ))
                .start_date(aws_sdk_sfn::primitives::DateTime::from_secs(1_764_072_000))
                .build()
                .unwrap()
        })
}

fn described(status: ExecutionStatus) -> Rule {
    mock!(SfnClient::describe_execution).then_output(move || {
        DescribeExecutionOutput::builder()
            .execution_arn("arn:aws:states:us-west-2:123456789012:execution:ecs-migrate:x")
            .state_machine_arn(STATE_MACHINE)
            .status(status.clone())
            .start_date(aws_sdk_sfn::primitives::DateTime::from_secs(1_764_072_000))
            .build()
            .unwrap()
    })
}

fn as_json<T: serde::Serialize>(answer: &T) -> Value {
    serde_json::to_value(answer).unwrap()
}

#[tokio::test]
async fn in_progress_while_the_migration_runs_then_its_outcome() {
    let start = started();
    let running = described(ExecutionStatus::Running);
    let executions = client(&[&start, &running]);
    let first = answer_hook(&executions, &config(), payload(json!({"team": "db"}))).await;
    assert_eq!(first.hook_status, HookStatus::InProgress);
    let first = as_json(&first);
    assert_eq!(first["callBackDelay"], 30);
    // The hook's own details are kept, and the execution is remembered for the next call.
    assert_eq!(first["hookDetails"]["team"], "db");
    let arn = first["hookDetails"][EXECUTION_KEY]
        .as_str()
        .unwrap()
        .to_string();
    // The execution the adapter derives from the hook, whatever StartExecution echoed.
    assert!(arn.contains(":execution:ecs-migrate:hook-"), "{arn}");
    assert_eq!(start.num_calls(), 1);

    // ECS calls again with the details it was given: no second start.
    for (status, expected) in [
        (ExecutionStatus::Succeeded, HookStatus::Succeeded),
        (ExecutionStatus::Failed, HookStatus::Failed),
        (ExecutionStatus::TimedOut, HookStatus::Failed),
        (ExecutionStatus::Aborted, HookStatus::Failed),
    ] {
        let start = started();
        let ended = described(status.clone());
        let executions = client(&[&start, &ended]);
        let answer = answer_hook(
            &executions,
            &config(),
            payload(first["hookDetails"].clone()),
        )
        .await;
        assert_eq!(answer.hook_status, expected, "{status:?}");
        assert_eq!(answer.call_back_delay, None);
        assert_eq!(start.num_calls(), 0);
        // Only IN_PROGRESS carries a delay; the answer is always one ECS accepts.
        let text = as_json(&answer);
        assert!(["SUCCEEDED", "FAILED"].contains(&text["hookStatus"].as_str().unwrap()));
    }
}

#[tokio::test]
async fn a_name_already_taken_is_the_same_hook_s_execution() {
    let name_of = |p: &Value| {
        let hook = ecs_migrate::migration::hook_event::parse_hook_event(p)
            .unwrap()
            .unwrap();
        ecs_migrate::lambda::deployment_hook::execution_name(&hook)
    };
    let name = name_of(&payload(json!({})));
    // The name depends on the deployment and the hook invocation only.
    assert_eq!(name, name_of(&payload(json!({"other": 1}))));
    let mut another = payload(json!({}));
    another["executionId"] = json!("another-hook-run");
    assert_ne!(name, name_of(&another));

    let taken = mock!(SfnClient::start_execution).then_http_response(|| {
        aws_sdk_sfn::config::http::HttpResponse::new(
            400.try_into().unwrap(),
            json!({"__type": "ExecutionAlreadyExists", "message": "Execution Already Exists"})
                .to_string()
                .into(),
        )
    });
    let expected_arn = execution_arn(STATE_MACHINE, &name);
    let existing = mock!(SfnClient::describe_execution)
        .match_requests(move |r| r.execution_arn() == Some(expected_arn.as_str()))
        .then_output(|| {
            DescribeExecutionOutput::builder()
                .execution_arn("x")
                .state_machine_arn(STATE_MACHINE)
                .status(ExecutionStatus::Succeeded)
                .start_date(aws_sdk_sfn::primitives::DateTime::from_secs(1_764_072_000))
                .build()
                .unwrap()
        });
    let executions = client(&[&taken, &existing]);
    let answer = answer_hook(&executions, &config(), payload(json!({}))).await;
    assert_eq!(answer.hook_status, HookStatus::Succeeded);
    assert_eq!(existing.num_calls(), 1);
}

#[tokio::test]
async fn an_unreadable_execution_is_in_progress_a_bounded_number_of_times() {
    let throttled = mock!(SfnClient::describe_execution).then_http_response(|| {
        aws_sdk_sfn::config::http::HttpResponse::new(
            400.try_into().unwrap(),
            json!({"__type": "ThrottlingException", "message": "Rate exceeded"})
                .to_string()
                .into(),
        )
    });
    let executions = client(&[&throttled]);
    let arn = derived_execution();
    let mut details = json!({ EXECUTION_KEY: arn });
    for count in 1..=3 {
        let answer = answer_hook(&executions, &config(), payload(details.clone())).await;
        assert_eq!(answer.hook_status, HookStatus::InProgress, "call {count}");
        details = answer.hook_details.unwrap();
        assert_eq!(details[UNREADABLE_KEY], count);
    }
    let answer = answer_hook(&executions, &config(), payload(details)).await;
    assert_eq!(answer.hook_status, HookStatus::Failed);
}

#[tokio::test]
async fn a_payload_it_cannot_read_or_a_refused_start_is_failed_never_an_error() {
    let executions = client(&[]);
    for garbage in [
        json!("x"),
        json!({}),
        json!({"executionDetails": {}, "resourceArn": 5}),
    ] {
        let answer = answer_hook(&executions, &config(), garbage.clone()).await;
        assert_eq!(answer.hook_status, HookStatus::Failed, "{garbage}");
        assert_eq!(as_json(&answer), json!({"hookStatus": "FAILED"}));
    }
    let denied = mock!(SfnClient::start_execution).then_http_response(|| {
        aws_sdk_sfn::config::http::HttpResponse::new(
            400.try_into().unwrap(),
            json!({"__type": "StateMachineDoesNotExist", "message": "no such machine"})
                .to_string()
                .into(),
        )
    });
    let executions = client(&[&denied]);
    let answer = answer_hook(&executions, &config(), payload(json!({}))).await;
    assert_eq!(answer.hook_status, HookStatus::Failed);
}

/// The execution the adapter derives for [`payload`]'s hook.
fn derived_execution() -> String {
    let hook = ecs_migrate::migration::hook_event::parse_hook_event(&payload(json!({})))
        .unwrap()
        .unwrap();
    execution_arn(
        STATE_MACHINE,
        &ecs_migrate::lambda::deployment_hook::execution_name(&hook),
    )
}

/// "The Lambda-hook adapter trusts hookDetails": a configured hookDetails naming an old
/// successful execution is not followed; the adapter starts and follows its own.
#[tokio::test]
async fn hook_details_cannot_name_the_execution_followed() {
    let executions = ecs_migrate::ports::executions::MemoryExecutions::new();
    let old = execution_arn(STATE_MACHINE, "old-success");
    executions.put(&old, STATE_MACHINE, "SUCCEEDED");
    let answer = answer_hook(
        &executions,
        &config(),
        payload(json!({ EXECUTION_KEY: old })),
    )
    .await;
    assert_eq!(answer.hook_status, HookStatus::InProgress);
    assert_eq!(
        answer.hook_details.unwrap()[EXECUTION_KEY],
        derived_execution().as_str()
    );
}

/// "An execution that ended at DuplicateEvent also counts as a success": it follows the
/// original execution instead, and without one it is FAILED.
#[tokio::test]
async fn a_duplicate_event_end_follows_the_original_execution() {
    let original = execution_arn(STATE_MACHINE, "original");
    let duplicate_of = |held_by: Value| {
        Some(json!({"lock": {"outcome": "DUPLICATE", "held_by": held_by}}).to_string())
    };
    let cases = [
        (
            "RUNNING",
            duplicate_of(json!({"execution": original})),
            HookStatus::InProgress,
        ),
        (
            "FAILED",
            duplicate_of(json!({"execution": original})),
            HookStatus::Failed,
        ),
        (
            "SUCCEEDED",
            duplicate_of(json!({"execution": original})),
            HookStatus::Succeeded,
        ),
        // Another state machine's execution is not followed.
        (
            "SUCCEEDED",
            duplicate_of(
                json!({"execution": "arn:aws:states:us-west-2:123456789012:execution:other:x"}),
            ),
            HookStatus::Failed,
        ),
        // A RunTask token duplicate names no execution.
        (
            "SUCCEEDED",
            Some(json!({"task": {"outcome": "DUPLICATE", "task_arns": []}}).to_string()),
            HookStatus::Failed,
        ),
    ];
    for (original_status, output, expected) in cases {
        let executions = ecs_migrate::ports::executions::MemoryExecutions::new();
        executions.put(&original, STATE_MACHINE, original_status);
        let derived = derived_execution();
        executions.put(&derived, STATE_MACHINE, "RUNNING");
        executions.finish(&derived, "SUCCEEDED", output.clone());
        let details = json!({ EXECUTION_KEY: derived });
        let answer = answer_hook(&executions, &config(), payload(details)).await;
        assert_eq!(answer.hook_status, expected, "{original_status} {output:?}");
    }
}
