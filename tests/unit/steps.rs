//! Layer 1: each step against aws-smithy-mocks, through the real SDK adapters. Every error name
//! in docs/troubleshooting.md "By error name" is produced here by some step and asserted.

use std::sync::{Arc, Mutex};

use aws_sdk_cloudwatchlogs::operation::get_log_events::GetLogEventsOutput;
use aws_sdk_cloudwatchlogs::types::OutputLogEvent;
use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
use aws_sdk_ecs::operation::run_task::RunTaskOutput;
use aws_sdk_ecs::operation::stop_task::StopTaskOutput;
use aws_sdk_ecs::types as ecs;
use aws_sdk_ecs::Client as EcsClient;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use ecs_migrate::common::clock::{Clock, VirtualClock};
use ecs_migrate::migration::settings::Settings;
use ecs_migrate::migration::steps::{
    check_exit_code, poll_status, run_task, stop_task, validate_event, CheckInput, PollInput,
    RunTaskInput, StepEnv, ValidateEventInput,
};
use ecs_migrate::migration::tasks::started_by_for_execution;
use ecs_migrate::migration::{
    CapacityWait, MigrationRequest, Phase, RunOutcome, StartedTask, TaskStatus,
};
use ecs_migrate::ports::ecs::{ContainerState, LastStatus, SdkEcs};
use ecs_migrate::ports::lock::MemoryLockTable;
use ecs_migrate::ports::logs::{LogStream, SdkLogs};
use ecs_migrate::statemachine::Step;
use ecs_migrate::ErrorKind;
use ecs_migrate::{MigrationError, StateError};
use serde_json::{json, Value};

use crate::fixtures::*;

mod attacks;

/// An error response as the service sends it (JSON 1.1 `__type`), so the SDK parses its code.
fn aws_error(code: &str, message: &str) -> String {
    json!({"__type": code, "message": message}).to_string()
}

fn ecs_client(rules: &[&Rule]) -> SdkEcs {
    SdkEcs::new(mock_client!(aws_sdk_ecs, RuleMode::MatchAny, rules, |b| b
        .retry_config(fast_retries())))
}

fn logs_client(rules: &[&Rule]) -> SdkLogs {
    SdkLogs::new(mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        rules,
        |b| b.retry_config(fast_retries())
    ))
}

/// Runs `f` with a step environment over the given mocks and a virtual clock at `t0()`.
struct World {
    settings: Settings,
    ecs: SdkEcs,
    logs: SdkLogs,
    clock: Arc<VirtualClock>,
    lock: MemoryLockTable,
    executions: ecs_migrate::ports::executions::MemoryExecutions,
}

impl World {
    fn new(settings: Settings, ecs_rules: &[&Rule], logs_rules: &[&Rule]) -> Self {
        Self {
            settings,
            ecs: ecs_client(ecs_rules),
            logs: logs_client(logs_rules),
            clock: Arc::new(VirtualClock::starting_at(t0())),
            lock: MemoryLockTable::new(),
            executions: executions(),
        }
    }

    /// The migration lock of the family, held by [`EXECUTION_ARN`] (as AcquireLock left it).
    async fn hold_lock(&self) {
        use ecs_migrate::ports::lock::{Expected, LockItem, LockTable};
        let item = LockItem {
            scope: FAMILY.into(),
            holder: EXECUTION_ARN.into(),
            execution_name: None,
            client_token: request().client_token,
            taskdef_arn: TASKDEF_ARN.into(),
            family: FAMILY.into(),
            revision: 42,
            cluster: CLUSTER.into(),
            started_by: request().started_by,
            task_arn: None,
            since: t0(),
            lease_until: t0() + chrono::Duration::hours(1),
        };
        assert!(self.lock.put(&item, Expected::Free).await.unwrap());
    }

    fn env(&self) -> StepEnv<'_> {
        StepEnv {
            settings: &self.settings,
            ecs: &self.ecs,
            logs: &self.logs,
            clock: self.clock.as_ref(),
            lock: &self.lock,
            deployments: &ecs_migrate::ports::deployments::NoDeployments,
            executions: &self.executions,
        }
    }
}

fn describe_taskdef_ok() -> Rule {
    mock!(EcsClient::describe_task_definition).then_output(|| {
        DescribeTaskDefinitionOutput::builder()
            .task_definition(task_definition())
            .build()
    })
}

fn validate_input(event: Value) -> ValidateEventInput {
    ValidateEventInput {
        event,
        execution: ecs_migrate::migration::ExecutionContext {
            id: Some(EXECUTION_ARN.into()),
            name: Some("app-42-20261125T120000Z".into()),
            start_time: Some(t0()),
        },
    }
}

fn envelope(id: &str, taskdef: &str) -> Value {
    json!({
        "version": "0", "id": id, "detail-type": "AWS ECS Migration Task",
        "source": "ecs.migration", "account": ACCOUNT, "time": "2026-11-25T12:00:00Z",
        "region": REGION, "resources": [], "detail": {"taskdef_arn": taskdef}
    })
}

fn request() -> MigrationRequest {
    MigrationRequest {
        taskdef_arn: TASKDEF_ARN.into(),
        family: FAMILY.into(),
        revision: 42,
        cluster: CLUSTER.into(),
        container: CONTAINER.into(),
        command: vec!["alembic".into(), "upgrade".into(), "head".into()],
        // What run-task derives from the execution (which has no input here: its name).
        client_token: ecs_migrate::migration::execution::client_token(
            Some("app-42-20261125T120000Z"),
            TASKDEF_ARN,
        ),
        started_by: started_by_for_execution(EXECUTION_ARN),
        execution_name: Some("app-42-20261125T120000Z".into()),
        execution_id: Some(EXECUTION_ARN.into()),
        event_id: Some("event-1".into()),
        started_at: t0(),
        deadline: t0() + chrono::Duration::hours(1),
        log: Some(ecs_migrate::ports::ecs::LogConfiguration {
            driver: "awslogs".into(),
            group: Some("/ecs/app".into()),
            region: Some(REGION.into()),
            stream_prefix: Some("ecs".into()),
        }),
        deployment: None,
    }
}

fn started_task() -> StartedTask {
    StartedTask {
        task_arn: TASK_ARN.into(),
        cluster: CLUSTER.into(),
        run_at: t0(),
        log_stream: Some(LogStream {
            group: "/ecs/app".into(),
            stream: "ecs/fastapi/0123456789abcdef".into(),
            region: Some(REGION.into()),
        }),
    }
}

fn assert_error(result: Result<impl std::fmt::Debug, MigrationError>, name: &str, fragment: &str) {
    let err = result.expect_err(&format!("expected {name}"));
    assert_eq!(err.name(), name, "{err}");
    assert!(
        err.message().contains(fragment),
        "{name}: {:?} does not contain {fragment:?}",
        err.message()
    );
}

// ---------------------------------------------------------------- validate-event

#[tokio::test]
async fn validate_event_resolves_the_task_definition() {
    let describe = mock!(EcsClient::describe_task_definition)
        .match_requests(|r| r.task_definition() == Some("app"))
        .then_output(|| {
            DescribeTaskDefinitionOutput::builder()
                .task_definition(task_definition())
                .build()
        });
    let world = World::new(settings(), &[&describe], &[]);
    let request = validate_event(&world.env(), validate_input(envelope("event-1", "app")))
        .await
        .unwrap();
    assert_eq!(request.taskdef_arn, TASKDEF_ARN);
    assert_eq!((request.family.as_str(), request.revision), (FAMILY, 42));
    assert_eq!(request.container, CONTAINER);
    assert_eq!(request.command, vec!["alembic", "upgrade", "head"]);
    assert_eq!(request.deadline, t0() + chrono::Duration::hours(1));
    assert_eq!(request.started_by, started_by_for_execution(EXECUTION_ARN));
    assert!(request.started_by.len() <= 128);
    assert_eq!(request.client_token.len(), 64);
    assert_eq!(request.event_id.as_deref(), Some("event-1"));
    assert_eq!(request.log.unwrap().stream_prefix.as_deref(), Some("ecs"));
    assert_eq!(describe.num_calls(), 1);
}

#[tokio::test]
async fn client_token_is_the_same_for_a_redelivered_event_and_differs_otherwise() {
    let describe = describe_taskdef_ok();
    let world = World::new(settings(), &[&describe], &[]);
    let token = |event: Value, execution: &str| {
        let mut input = validate_input(event);
        input.execution.id = Some(format!("{EXECUTION_ARN}-{execution}"));
        input.execution.name = Some(execution.to_string());
        let env = world.env();
        async move { validate_event(&env, input).await.unwrap() }
    };
    // EventBridge redelivers the same event id to a second execution.
    let first = token(envelope("event-1", "app"), "exec-a").await;
    let redelivered = token(envelope("event-1", "app"), "exec-b").await;
    let other_event = token(envelope("event-2", "app"), "exec-c").await;
    assert_eq!(first.client_token, redelivered.client_token);
    assert_ne!(first.client_token, other_event.client_token);
    // startedBy follows the execution, so each execution's tasks can be found.
    assert_ne!(first.started_by, redelivered.started_by);
    // Without an event id (bare input), the execution name keys the token: a retried Lambda
    // in the same execution gets the same token.
    let bare_1 = token(json!({"taskdef_arn": "app:42"}), "exec-d").await;
    let bare_2 = token(json!({"taskdef_arn": "app:42"}), "exec-d").await;
    let bare_3 = token(json!({"taskdef_arn": "app:42"}), "exec-e").await;
    assert_eq!(bare_1.client_token, bare_2.client_token);
    assert_ne!(bare_1.client_token, bare_3.client_token);
}

#[tokio::test]
async fn validate_event_rejections() {
    let describe = describe_taskdef_ok();
    let world = World::new(settings(), &[&describe], &[]);
    let env = world.env();
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"taskdef_arn": 1}),
            "Migration.InvalidEvent",
            "taskdef_arn is a number",
        ),
        (
            envelope("e", "other-family"),
            "Migration.NotAllowed",
            "ALLOWED_FAMILIES",
        ),
        (
            json!({"taskdef_arn": "arn:aws:ecs:eu-west-1:999999999999:task-definition/app:42"}),
            "Migration.NotAllowed",
            "account 999999999999",
        ),
        (
            json!({"taskdef_arn": "arn:aws:ecs:us-east-1:123456789012:task-definition/app:42"}),
            "Migration.NotAllowed",
            "region us-east-1",
        ),
        (
            json!({"taskdef_arn": "app", "command": ["sh"]}),
            "Migration.NotAllowed",
            "command",
        ),
    ];
    for (event, name, fragment) in cases {
        assert_error(
            validate_event(&env, validate_input(event)).await,
            name,
            fragment,
        );
    }
    assert_eq!(describe.num_calls(), 0, "rejected before any AWS call");
}

#[tokio::test]
async fn validate_event_task_definition_not_found() {
    let describe = mock!(EcsClient::describe_task_definition)
        .sequence()
        .http_status(
            400,
            Some(aws_error(
                "ClientException",
                "Unable to describe task definition.",
            )),
        )
        .repeatedly()
        .build();
    let world = World::new(settings(), &[&describe], &[]);
    assert_error(
        validate_event(
            &world.env(),
            validate_input(json!({"taskdef_arn": "app:99"})),
        )
        .await,
        "Migration.TaskDefinitionNotFound",
        "\"app:99\" does not exist",
    );
}

#[tokio::test]
async fn validate_event_container_not_found() {
    let describe = describe_taskdef_ok();
    let world = World::new(
        settings_with(&[("CONTAINER_NAME", "web")]),
        &[&describe],
        &[],
    );
    assert_error(
        validate_event(&world.env(), validate_input(json!({"taskdef_arn": "app"}))).await,
        "Migration.ContainerNotFound",
        "it has: fastapi, datadog-agent",
    );
}

#[tokio::test]
async fn validate_event_misconfigured() {
    let describe = describe_taskdef_ok();
    // awsvpc task definition, but no subnets configured.
    let mut no_network = settings();
    no_network.network = None;
    let world = World::new(no_network, &[&describe], &[]);
    assert_error(
        validate_event(&world.env(), validate_input(json!({"taskdef_arn": "app"}))).await,
        "Migration.Misconfigured",
        "SUBNETS",
    );
    // A maximum duration whose history cannot fit under 25,000 events.
    let long = settings_with(&[
        ("MAX_DURATION_SECONDS", "31536000"),
        ("POLL_MAX_WAIT_SECONDS", "60"),
    ]);
    // The state machine's binding checks it before validate-event runs (only it knows the
    // definition's history).
    let world = World::new(long, &[&describe], &[]);
    let input = serde_json::to_value(validate_input(json!({"taskdef_arn": "app"}))).unwrap();
    assert_error(
        Step::ValidateEvent.run(&world.env(), input, None).await,
        "Migration.Misconfigured",
        "MAX_DURATION_SECONDS=31536000 cannot be tracked",
    );
}

#[tokio::test]
async fn validate_event_throttling_is_retried_by_the_sdk() {
    let describe = mock!(EcsClient::describe_task_definition)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into()),
        )
        .times(2)
        .output(|| {
            DescribeTaskDefinitionOutput::builder()
                .task_definition(task_definition())
                .build()
        })
        .build();
    let world = World::new(settings(), &[&describe], &[]);
    let request = validate_event(&world.env(), validate_input(json!({"taskdef_arn": "app"})))
        .await
        .unwrap();
    assert_eq!(request.taskdef_arn, TASKDEF_ARN);
    assert_eq!(describe.num_calls(), 3);
}

#[tokio::test]
async fn validate_event_throttled_for_good_is_transient() {
    let describe = mock!(EcsClient::describe_task_definition)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into()),
        )
        .repeatedly()
        .build();
    let world = World::new(settings(), &[&describe], &[]);
    assert_error(
        validate_event(&world.env(), validate_input(json!({"taskdef_arn": "app"}))).await,
        "Migration.AwsTransient",
        "ThrottlingException",
    );
}

// ---------------------------------------------------------------- run-task

#[tokio::test]
async fn run_task_sends_the_override_network_token_and_tags() {
    let expected_token = request().client_token;
    let expected_started_by = request().started_by;
    let run = mock!(EcsClient::run_task)
        .match_requests(move |r| {
            let overrides = r.overrides().unwrap().container_overrides();
            let vpc = r
                .network_configuration()
                .and_then(|n| n.awsvpc_configuration())
                .unwrap();
            let tags: Vec<(&str, &str)> = r
                .tags()
                .iter()
                .map(|t| (t.key().unwrap(), t.value().unwrap()))
                .collect();
            r.cluster() == Some(CLUSTER)
                && r.task_definition() == Some(TASKDEF_ARN)
                && overrides.len() == 1
                && overrides[0].name() == Some(CONTAINER)
                && overrides[0].command() == ["alembic", "upgrade", "head"]
                && vpc.subnets() == ["subnet-1", "subnet-2"]
                && vpc.security_groups() == ["sg-1"]
                && vpc.assign_public_ip() == Some(&ecs::AssignPublicIp::Disabled)
                && r.launch_type() == Some(&ecs::LaunchType::Fargate)
                && r.client_token() == Some(expected_token.as_str())
                && r.started_by() == Some(expected_started_by.as_str())
                && r.count() == Some(1)
                && tags.contains(&("ecs-migrate:execution", "app-42-20261125T120000Z"))
                && tags.contains(&("ecs-migrate:task-definition", "app:42"))
        })
        .then_output(|| RunTaskOutput::builder().tasks(task("PROVISIONING")).build());
    let world = World::new(settings(), &[&run], &[]);
    world.hold_lock().await;
    let outcome = run_task(&world.env(), first_attempt()).await.unwrap();
    let started = outcome.started().expect("started").clone();
    assert_eq!(started.task_arn, TASK_ARN);
    assert_eq!(started.run_at, t0());
    assert_eq!(started.log_stream, started_task().log_stream);
    assert_eq!(run.num_calls(), 1);
}

#[tokio::test]
async fn run_task_capacity_provider_strategy() {
    let run = mock!(EcsClient::run_task)
        .match_requests(|r| {
            let strategy = r.capacity_provider_strategy();
            r.launch_type().is_none()
                && strategy.len() == 1
                && strategy[0].capacity_provider() == "FARGATE_SPOT"
                && strategy[0].weight() == 2
        })
        .then_output(|| RunTaskOutput::builder().tasks(task("PROVISIONING")).build());
    let settings = settings_with(&[
        ("LAUNCH_TYPE", ""),
        (
            "CAPACITY_PROVIDER_STRATEGY",
            r#"[{"capacityProvider":"FARGATE_SPOT","weight":2}]"#,
        ),
    ]);
    let world = World::new(settings, &[&run], &[]);
    world.hold_lock().await;
    run_task(&world.env(), first_attempt()).await.unwrap();
    assert_eq!(run.num_calls(), 1);
}

fn first_attempt() -> RunTaskInput {
    RunTaskInput {
        request: request(),
        task: None,
        lock: None,
        execution_id: Some(EXECUTION_ARN.into()),
    }
}

/// The input after ECS had no capacity for `attempts` attempts.
fn after_capacity_waits(attempts: u32) -> RunTaskInput {
    RunTaskInput {
        request: request(),
        task: Some(RunOutcome::RetryLater(CapacityWait {
            attempt: attempts,
            wait_seconds: 10,
            reason: "RESOURCE:MEMORY".into(),
        })),
        lock: None,
        execution_id: Some(EXECUTION_ARN.into()),
    }
}

/// No capacity is not an error until the last attempt: run-task says RETRY_LATER, and the
/// next attempt sends a client token of its own (ECS would replay the first token's
/// failures[]), while a retry of the same attempt sends the same one.
#[tokio::test]
async fn run_task_capacity_waits_then_gives_up() {
    let no_capacity = || {
        mock!(EcsClient::run_task).then_output(|| {
            RunTaskOutput::builder()
                .failures(ecs::Failure::builder().reason("RESOURCE:MEMORY").build())
                .build()
        })
    };
    let tokens = Arc::new(Mutex::new(Vec::new()));
    let seen = tokens.clone();
    let recording = mock!(EcsClient::run_task)
        .match_requests(move |r| {
            seen.lock()
                .unwrap()
                .push(r.client_token().unwrap_or_default().to_string());
            true
        })
        .then_output(|| {
            RunTaskOutput::builder()
                .failures(ecs::Failure::builder().reason("RESOURCE:MEMORY").build())
                .build()
        });
    let world = World::new(settings(), &[&recording], &[]);
    world.hold_lock().await;
    for input in [first_attempt(), first_attempt(), after_capacity_waits(1)] {
        let outcome = run_task(&world.env(), input).await.unwrap();
        assert!(matches!(outcome, RunOutcome::RetryLater(_)), "{outcome:?}");
    }
    let tokens = tokens.lock().unwrap().clone();
    assert_eq!(
        tokens[0], tokens[1],
        "a retry of one attempt reuses its token"
    );
    assert_ne!(
        tokens[1], tokens[2],
        "the next attempt has a token of its own"
    );
    assert!(tokens.iter().all(|t| t.len() <= 64));

    let rule = no_capacity();
    let world = World::new(settings(), &[&rule], &[]);
    world.hold_lock().await;
    match run_task(&world.env(), first_attempt()).await.unwrap() {
        RunOutcome::RetryLater(wait) => {
            assert_eq!((wait.attempt, wait.wait_seconds), (1, 10));
            assert!(wait.reason.contains("RESOURCE:MEMORY"), "{}", wait.reason);
        }
        other => panic!("{other:?}"),
    }
    match run_task(&world.env(), after_capacity_waits(5))
        .await
        .unwrap()
    {
        RunOutcome::RetryLater(wait) => assert_eq!((wait.attempt, wait.wait_seconds), (6, 120)),
        other => panic!("{other:?}"),
    }
    assert_error(
        run_task(&world.env(), after_capacity_waits(6)).await,
        "Migration.CapacityUnavailable",
        "attempt 7 of 7",
    );
}

/// ECS refuses a client token reused with other parameters with ConflictException, whose
/// resourceIds name the task the first request started (API Reference, RunTask errors).
#[tokio::test]
async fn run_task_token_in_use_is_a_duplicate() {
    let conflict = mock!(EcsClient::run_task)
        .sequence()
        .http_status(
            400,
            Some(
                json!({
                    "__type": "ConflictException",
                    "message": "The clientToken is already in use with a different RunTask request.",
                    "resourceIds": [TASK_ARN]
                })
                .to_string(),
            ),
        )
        .build();
    let world = World::new(settings(), &[&conflict], &[]);
    world.hold_lock().await;
    match run_task(&world.env(), first_attempt()).await.unwrap() {
        RunOutcome::Duplicate(duplicate) => assert_eq!(duplicate.task_arns, [TASK_ARN]),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn run_task_failures() {
    let failure = |reason: &'static str, detail: Option<&'static str>| {
        mock!(EcsClient::run_task).then_output(move || {
            RunTaskOutput::builder()
                .failures(
                    ecs::Failure::builder()
                        .reason(reason)
                        .set_detail(detail.map(str::to_string))
                        .arn("arn:aws:ecs:eu-west-1:123456789012:container-instance/x")
                        .build(),
                )
                .build()
        })
    };
    // Capacity failures on the last attempt; earlier ones wait (see above).
    let cases: Vec<(Rule, &str, &str)> = vec![
        (
            failure("RESOURCE:MEMORY", None),
            "Migration.CapacityUnavailable",
            "RESOURCE:MEMORY",
        ),
        (
            failure(
                "Capacity is unavailable at this time. Please try again later.",
                None,
            ),
            "Migration.CapacityUnavailable",
            "Capacity is unavailable",
        ),
        (
            failure("AGENT", None),
            "Migration.CapacityUnavailable",
            "AGENT",
        ),
        (
            failure("ATTRIBUTE", Some("requires ecs.capability.secrets")),
            "Migration.RunTaskFailed",
            "ATTRIBUTE (requires ecs.capability.secrets)",
        ),
        (
            mock!(EcsClient::run_task).then_output(|| RunTaskOutput::builder().build()),
            "Migration.RunTaskFailed",
            "neither a task nor a failure",
        ),
        (
            mock!(EcsClient::run_task)
                .sequence()
                .http_status(
                    400,
                    Some(aws_error(
                        "InvalidParameterException",
                        "No Fargate configuration exists for given values.",
                    )),
                )
                .repeatedly()
                .build(),
            "Migration.RunTaskFailed",
            "No Fargate configuration",
        ),
        (
            mock!(EcsClient::run_task)
                .sequence()
                .http_status(
                    400,
                    Some(aws_error(
                        "AccessDeniedException",
                        "not authorized to perform: ecs:TagResource",
                    )),
                )
                .repeatedly()
                .build(),
            "Migration.RunTaskFailed",
            "grant run-task's role",
        ),
        (
            mock!(EcsClient::run_task)
                .sequence()
                .http_status(500, Some(aws_error("ServerException", "internal")))
                .repeatedly()
                .build(),
            "Migration.AwsTransient",
            "internal",
        ),
    ];
    for (rule, name, fragment) in cases {
        let world = World::new(settings(), &[&rule], &[]);
        world.hold_lock().await;
        assert_error(
            run_task(&world.env(), after_capacity_waits(6)).await,
            name,
            fragment,
        );
    }
}

// ---------------------------------------------------------------- poll-status

fn describe_sequence(statuses: &[ecs::Task]) -> Rule {
    let mut builder = mock!(EcsClient::describe_tasks).sequence();
    for task in statuses {
        let task = task.clone();
        builder =
            builder.output(move || DescribeTasksOutput::builder().tasks(task.clone()).build());
    }
    builder.repeatedly().build()
}

fn missing() -> DescribeTasksOutput {
    DescribeTasksOutput::builder()
        .failures(
            ecs::Failure::builder()
                .arn(TASK_ARN)
                .reason("MISSING")
                .build(),
        )
        .build()
}

fn poll_input() -> PollInput {
    PollInput {
        request: request(),
        task: started_task(),
        status: None,
        lock: None,
        execution_id: Some(EXECUTION_ARN.into()),
    }
}

#[tokio::test]
async fn poll_status_follows_the_task_to_stopped() {
    let describe = describe_sequence(&[
        task("PROVISIONING"),
        task("RUNNING"),
        task("RUNNING"),
        stopped_task(
            ecs::TaskStopCode::EssentialContainerExited,
            "Essential container in task exited",
            vec![container(CONTAINER, Some(0))],
        ),
    ]);
    let world = World::new(settings(), &[&describe], &[]);
    let status = poll_status(&world.env(), poll_input(), None).await.unwrap();
    assert_eq!(status.phase, Phase::Stopped);
    assert_eq!(status.last_status, LastStatus::Stopped);
    assert_eq!(
        status.stop_code.as_deref(),
        Some("EssentialContainerExited")
    );
    assert_eq!(status.containers[0].exit_code, Some(0));
    assert_eq!(status.polls, 4);
    // Three 5-second intervals passed between the four DescribeTasks.
    assert_eq!(world.clock.now(), t0() + chrono::Duration::seconds(15));
}

#[tokio::test]
async fn poll_status_returns_in_progress_after_its_wait() {
    let describe = describe_sequence(&[task("RUNNING")]);
    let settings = settings_with(&[("POLL_MAX_WAIT_SECONDS", "60")]);
    let world = World::new(settings, &[&describe], &[]);
    let mut input = poll_input();
    input.status = Some(in_progress_status(7));
    let status = poll_status(&world.env(), input, None).await.unwrap();
    assert_eq!(status.phase, Phase::InProgress);
    assert_eq!(status.last_status, LastStatus::Running);
    // 60 s at 5 s intervals: 13 calls, counted on from the previous round's 7.
    assert_eq!(status.polls, 7 + 13);
    assert_eq!(world.clock.now(), t0() + chrono::Duration::seconds(60));
}

#[tokio::test]
async fn poll_status_respects_the_lambda_deadline() {
    let describe = describe_sequence(&[task("RUNNING")]);
    let world = World::new(settings(), &[&describe], &[]);
    let return_by = t0() + chrono::Duration::seconds(12);
    let status = poll_status(&world.env(), poll_input(), Some(return_by))
        .await
        .unwrap();
    assert_eq!(status.phase, Phase::InProgress);
    assert_eq!(world.clock.now(), return_by);
}

#[tokio::test]
async fn poll_status_tolerates_missing_right_after_run_task() {
    let describe = mock!(EcsClient::describe_tasks)
        .sequence()
        .output(missing)
        .times(2)
        .output(|| {
            DescribeTasksOutput::builder()
                .tasks(stopped_task(
                    ecs::TaskStopCode::EssentialContainerExited,
                    "done",
                    vec![container(CONTAINER, Some(0))],
                ))
                .build()
        })
        .build();
    let world = World::new(settings(), &[&describe], &[]);
    let status = poll_status(&world.env(), poll_input(), None).await.unwrap();
    assert_eq!(status.phase, Phase::Stopped);
    assert_eq!(describe.num_calls(), 3);
}

#[tokio::test]
async fn poll_status_missing_for_good_is_task_missing() {
    let describe = mock!(EcsClient::describe_tasks).then_output(missing);
    let world = World::new(settings(), &[&describe], &[]);
    assert_error(
        poll_status(&world.env(), poll_input(), None).await,
        "Migration.TaskMissing",
        "can no longer be described (MISSING)",
    );
    // The default grace is 60 s, polled every 5 s.
    assert!(world.clock.now() >= t0() + chrono::Duration::seconds(60));
    assert!(world.clock.now() <= t0() + chrono::Duration::seconds(65));
}

#[tokio::test]
async fn poll_status_stuck_in_provisioning_is_a_failed_start() {
    let describe = describe_sequence(&[task("PROVISIONING")]);
    let settings = settings_with(&[("START_TIMEOUT_SECONDS", "120")]);
    let world = World::new(settings, &[&describe], &[]);
    let status = poll_status(&world.env(), poll_input(), None).await.unwrap();
    assert_eq!(status.phase, Phase::StartTimedOut);
    let error = status.error.unwrap();
    assert_eq!(error.error, "Migration.TaskFailedToStart");
    assert!(
        error
            .cause
            .contains("still PROVISIONING 120 s after RunTask"),
        "{}",
        error.cause
    );
    assert_eq!(world.clock.now(), t0() + chrono::Duration::seconds(120));
}

#[tokio::test]
async fn poll_status_past_the_deadline_is_a_timeout() {
    let describe = describe_sequence(&[task("RUNNING")]);
    let world = World::new(settings(), &[&describe], &[]);
    let mut input = poll_input();
    input.request.deadline = t0() + chrono::Duration::seconds(30);
    let status = poll_status(&world.env(), input, None).await.unwrap();
    assert_eq!(status.phase, Phase::DeadlinePassed);
    let error = status.error.unwrap();
    assert_eq!(error.error, "Migration.Timeout");
    assert!(
        error.cause.contains("MAX_DURATION_SECONDS"),
        "{}",
        error.cause
    );
    assert_eq!(world.clock.now(), t0() + chrono::Duration::seconds(30));
}

#[tokio::test]
async fn poll_status_throttled_then_answered() {
    let describe = mock!(EcsClient::describe_tasks)
        .sequence()
        .http_status(
            400,
            Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.into()),
        )
        .output(|| {
            DescribeTasksOutput::builder()
                .tasks(stopped_task(
                    ecs::TaskStopCode::EssentialContainerExited,
                    "done",
                    vec![container(CONTAINER, Some(0))],
                ))
                .build()
        })
        .build();
    let world = World::new(settings(), &[&describe], &[]);
    let status = poll_status(&world.env(), poll_input(), None).await.unwrap();
    assert_eq!(status.phase, Phase::Stopped);
    assert_eq!(describe.num_calls(), 2);
}

fn in_progress_status(polls: u64) -> TaskStatus {
    TaskStatus {
        phase: Phase::InProgress,
        last_status: LastStatus::Running,
        desired_status: Some(LastStatus::Running),
        stop_code: None,
        stopped_reason: None,
        created_at: None,
        started_at: None,
        stopped_at: None,
        containers: vec![],
        checked_at: t0(),
        polls,
        error: None,
    }
}

// ---------------------------------------------------------------- check-exit-code

/// A stopped task as poll-status reports it: (container, exit code, reason) per container.
fn stopped_status(
    stop_code: &str,
    stopped_reason: &str,
    containers: &[(&str, Option<i32>, Option<&str>)],
) -> TaskStatus {
    TaskStatus {
        phase: Phase::Stopped,
        last_status: LastStatus::Stopped,
        desired_status: Some(LastStatus::Stopped),
        stop_code: Some(stop_code.into()),
        stopped_reason: Some(stopped_reason.into()),
        created_at: Some(t0()),
        started_at: Some(t0() + chrono::Duration::seconds(10)),
        stopped_at: Some(t0() + chrono::Duration::seconds(70)),
        containers: containers
            .iter()
            .map(|(name, exit_code, reason)| ContainerState {
                name: name.to_string(),
                last_status: Some(LastStatus::Stopped),
                exit_code: *exit_code,
                reason: reason.map(str::to_string),
            })
            .collect(),
        checked_at: t0() + chrono::Duration::seconds(72),
        polls: 3,
        error: None,
    }
}

fn log_lines(lines: &'static [&'static str]) -> Rule {
    mock!(aws_sdk_cloudwatchlogs::Client::get_log_events)
        .match_requests(|r| {
            r.log_group_name() == Some("/ecs/app")
                && r.log_stream_name() == Some("ecs/fastapi/0123456789abcdef")
                && r.start_from_head() == Some(false)
                && r.limit() == Some(5)
        })
        .then_output(move || {
            let mut out = GetLogEventsOutput::builder();
            for line in lines {
                out = out.events(
                    OutputLogEvent::builder()
                        .message(*line)
                        .timestamp(1)
                        .build(),
                );
            }
            out.build()
        })
}

fn check_input(status: TaskStatus) -> CheckInput {
    CheckInput {
        request: request(),
        task: started_task(),
        status,
    }
}

#[tokio::test]
async fn check_exit_code_zero_succeeds_even_when_a_sidecar_failed() {
    let world = World::new(settings(), &[], &[]);
    let result = check_exit_code(
        &world.env(),
        check_input(stopped_status(
            "EssentialContainerExited",
            "Essential container in task exited",
            &[("datadog-agent", Some(1), None), (CONTAINER, Some(0), None)],
        )),
    )
    .await
    .unwrap();
    assert_eq!(result.exit_code, 0);
    assert_eq!(result.container, CONTAINER);
    assert_eq!(result.duration_seconds, Some(60));
    assert_eq!(result.log_stream, started_task().log_stream);
}

#[tokio::test]
async fn check_exit_code_non_zero_carries_the_log_tail() {
    let logs = log_lines(&[
        "INFO  [alembic.runtime.migration] Running upgrade 1a2b -> 3c4d, add orders",
        "sqlalchemy.exc.ProgrammingError: relation \"users\" does not exist",
    ]);
    let world = World::new(settings(), &[], &[&logs]);
    let result = check_exit_code(
        &world.env(),
        check_input(stopped_status(
            "EssentialContainerExited",
            "Essential container in task exited",
            &[(CONTAINER, Some(1), None), ("datadog-agent", Some(0), None)],
        )),
    )
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.name(), "Migration.NonZeroExit");
    let cause = err.message();
    for expected in [
        "exited with code 1",
        "stop code EssentialContainerExited",
        "Essential container in task exited",
        "--- last 2 log lines of ecs/fastapi/0123456789abcdef in log group /ecs/app ---",
        "relation \"users\" does not exist",
    ] {
        assert!(cause.contains(expected), "{cause:?} lacks {expected:?}");
    }
    assert!(
        cause.ends_with("relation \"users\" does not exist"),
        "{cause}"
    );
}

#[tokio::test]
async fn check_exit_code_says_log_line_for_one_line() {
    let logs = log_lines(&["sqlalchemy.exc.OperationalError: could not connect"]);
    let world = World::new(settings(), &[], &[&logs]);
    let err = check_exit_code(
        &world.env(),
        check_input(stopped_status(
            "EssentialContainerExited",
            "Essential container in task exited",
            &[(CONTAINER, Some(1), None)],
        )),
    )
    .await
    .unwrap_err();
    let cause = err.message();
    assert!(
        cause.contains(
            "--- last log line of ecs/fastapi/0123456789abcdef in log group /ecs/app ---"
        ),
        "{cause}"
    );
}

/// The Cause is Lambda's error document, escaped: ANSI-coloured lines (ESC is six characters
/// escaped) must still fit Step Functions' 32,768 characters, and the last line is kept.
#[tokio::test]
async fn check_exit_code_cause_fits_after_escaping() {
    let logs = mock!(aws_sdk_cloudwatchlogs::Client::get_log_events).then_output(|| {
        let mut out = GetLogEventsOutput::builder();
        for i in 0..200 {
            let line = format!(
                "\u{1b}[31mERROR\u{1b}[0m \"{}\" line {i}",
                "\u{1b}[1m".repeat(150)
            );
            out = out.events(OutputLogEvent::builder().message(line).timestamp(1).build());
        }
        out.build()
    });
    let world = World::new(settings_with(&[("LOG_TAIL_LINES", "200")]), &[], &[&logs]);
    let err = check_exit_code(
        &world.env(),
        check_input(stopped_status(
            "EssentialContainerExited",
            "Essential container in task exited",
            &[(CONTAINER, Some(1), None)],
        )),
    )
    .await
    .unwrap_err();
    let document = ecs_migrate::statemachine::lambda_error(&err).cause;
    let utf16 = document.encode_utf16().count();
    assert!(utf16 <= 32_768, "{utf16} characters");
    assert!(
        utf16 >= 28_000,
        "the tail was cut more than needed: {utf16}"
    );
    assert!(err.message().ends_with("line 199"), "{}", err.message());
}

/// LOG_TAIL_REDACT masks a secret the migration printed before its lines enter the Cause
/// (which Step Functions keeps in the execution history).
#[tokio::test]
async fn check_exit_code_masks_log_tail_redact_matches_in_the_cause() {
    let logs = log_lines(&[
        "connecting with password=hunter2-very-secret",
        "ERROR: relation \"users\" does not exist",
    ]);
    let world = World::new(
        settings_with(&[("LOG_TAIL_REDACT", r"password=\S+")]),
        &[],
        &[&logs],
    );
    let err = check_exit_code(
        &world.env(),
        check_input(stopped_status(
            "EssentialContainerExited",
            "Essential container in task exited",
            &[(CONTAINER, Some(1), None)],
        )),
    )
    .await
    .unwrap_err();
    let cause = ecs_migrate::statemachine::lambda_error(&err).cause;
    assert!(!cause.contains("hunter2"), "{cause}");
    assert!(cause.contains("connecting with [redacted]"), "{cause}");
    assert!(cause.contains("relation"), "{cause}");
}

#[tokio::test]
async fn check_exit_code_137_says_killed_or_out_of_memory() {
    let logs = log_lines(&["Killed"]);
    let world = World::new(settings(), &[], &[&logs]);
    let result = check_exit_code(
        &world.env(),
        check_input(stopped_status(
            "EssentialContainerExited",
            "Essential container in task exited",
            &[(
                CONTAINER,
                Some(137),
                Some("OutOfMemoryError: Container killed due to memory usage"),
            )],
        )),
    )
    .await;
    assert_error(
        result,
        "Migration.NonZeroExit",
        "137: killed by SIGKILL, usually out of memory",
    );
}

#[tokio::test]
async fn check_exit_code_failed_to_start() {
    let missing_stream = mock!(aws_sdk_cloudwatchlogs::Client::get_log_events)
        .sequence()
        .http_status(
            400,
            Some(aws_error(
                "ResourceNotFoundException",
                "The specified log stream does not exist.",
            )),
        )
        .repeatedly()
        .build();
    let world = World::new(settings(), &[], &[&missing_stream]);
    let result = check_exit_code(
        &world.env(),
        check_input(stopped_status(
            "TaskFailedToStart",
            "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found",
            &[(CONTAINER, None, None)],
        )),
    )
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.name(), "Migration.TaskFailedToStart");
    assert!(err.message().contains("CannotPullContainerError"), "{err}");
    // A missing stream is said, not fatal.
    assert!(err.message().contains("does not exist"), "{err}");
}

#[tokio::test]
async fn check_exit_code_stopped_without_exit_code() {
    let logs = log_lines(&["INFO  [alembic.runtime.migration] Running upgrade"]);
    let world = World::new(settings(), &[], &[&logs]);
    let result = check_exit_code(
        &world.env(),
        check_input(stopped_status(
            "SpotInterruption",
            "Your Spot Task was interrupted.",
            &[(CONTAINER, None, None)],
        )),
    )
    .await;
    let err = result.unwrap_err();
    assert_eq!(err.name(), "Migration.TaskStopped");
    assert!(err.message().contains("SpotInterruption"), "{err}");
    assert!(err.message().contains("Running upgrade"), "{err}");
}

#[tokio::test]
async fn check_exit_code_without_log_configuration_says_so() {
    let world = World::new(settings(), &[], &[]);
    let mut input = check_input(stopped_status(
        "EssentialContainerExited",
        "Essential container in task exited",
        &[(CONTAINER, Some(2), None)],
    ));
    input.task.log_stream = None;
    assert_error(
        check_exit_code(&world.env(), input).await,
        "Migration.NonZeroExit",
        "no log tail",
    );
}

// ---------------------------------------------------------------- stop-task

/// DescribeTasks answering that the task was started by `started_by`.
fn describe_started_by(started_by: &str) -> Rule {
    let started_by = started_by.to_string();
    mock!(EcsClient::describe_tasks).then_output(move || {
        let mut task = task("RUNNING");
        task.started_by = Some(started_by.clone());
        DescribeTasksOutput::builder().tasks(task).build()
    })
}

#[tokio::test]
async fn stop_task_stops_the_task_and_strays_from_the_same_execution() {
    let stray = "arn:aws:ecs:eu-west-1:123456789012:task/prod/stray";
    let started_by = request().started_by;
    let list = mock!(EcsClient::list_tasks)
        .match_requests(move |r| {
            r.started_by() == Some(started_by.as_str()) && r.cluster() == Some(CLUSTER)
        })
        .then_output(move || {
            ListTasksOutput::builder()
                .task_arns(TASK_ARN)
                .task_arns(stray)
                .build()
        });
    let stop = mock!(EcsClient::stop_task)
        .match_requests(|r| {
            r.reason()
                == Some(
                    "ecs-migrate: execution app-42-20261125T120000Z failed with Migration.Timeout",
                )
        })
        .then_output(|| StopTaskOutput::builder().build());
    let describe = describe_started_by(&request().started_by);
    let world = World::new(settings(), &[&list, &stop, &describe], &[]);
    world.executions.enter_state(EXECUTION_ARN, "StopTask");
    let state = json!({
        "request": request(),
        "execution_id": EXECUTION_ARN,
        "task": started_task(),
        "error": StateError { error: "Migration.Timeout".into(), cause: "late".into() },
    });
    let result = stop_task(&world.env(), state, None).await.unwrap();
    assert_eq!(
        result.stopped,
        vec![TASK_ARN.to_string(), stray.to_string()]
    );
    assert_eq!(stop.num_calls(), 2);
}

#[tokio::test]
async fn stop_task_of_a_task_ecs_does_not_know_is_retried_not_taken_as_stopped() {
    let list = mock!(EcsClient::list_tasks).then_output(|| ListTasksOutput::builder().build());
    let stop = mock!(EcsClient::stop_task)
        .sequence()
        .http_status(
            400,
            Some(aws_error(
                "InvalidParameterException",
                "The referenced task was not found.",
            )),
        )
        .repeatedly()
        .build();
    let describe = mock!(EcsClient::describe_tasks).then_output(|| {
        DescribeTasksOutput::builder()
            .failures(
                ecs::Failure::builder()
                    .arn(TASK_ARN)
                    .reason("MISSING")
                    .build(),
            )
            .build()
    });
    let world = World::new(settings(), &[&list, &stop, &describe], &[]);
    world.executions.enter_state(EXECUTION_ARN, "StopTask");
    let state =
        json!({"request": request(), "task": started_task(), "execution_id": EXECUTION_ARN});
    // "The referenced task was not found" with DescribeTasks MISSING: a task RunTask started a
    // moment ago looks the same, so it is not success but a failure worth retrying.
    let err = stop_task(&world.env(), state, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AwsTransient, "{err}");
    assert!(err.message().contains(TASK_ARN), "{err}");
    assert_eq!(stop.num_calls(), 1);
}

/// stop-task trusts no task ARN from its input: a task someone else started (a service's, or
/// another execution's) is refused, and nothing is stopped.
#[tokio::test]
async fn stop_task_refuses_a_task_it_did_not_start() {
    let stop = mock!(EcsClient::stop_task).then_output(|| StopTaskOutput::builder().build());
    for started_by in ["ecs-svc/1234567890", "ecs-migrate/another-execution"] {
        let describe = describe_started_by(started_by);
        let world = World::new(settings(), &[&stop, &describe], &[]);
        world.executions.enter_state(EXECUTION_ARN, "StopTask");
        let state =
            json!({"request": request(), "task": started_task(), "execution_id": EXECUTION_ARN});
        assert_error(
            stop_task(&world.env(), state, None).await,
            "Migration.NotAllowed",
            &format!("started by \"{started_by}\", not by this execution"),
        );
    }
    assert_eq!(stop.num_calls(), 0);
}

/// ListTasks is eventually consistent: an execution aborted while RunTask was in flight may
/// have a task ListTasks does not show yet. stop-task looks again until MISSING_GRACE_SECONDS
/// after the execution stopped, then stops what it found.
#[tokio::test]
async fn stop_task_looks_again_for_a_task_not_listed_yet() {
    let list = mock!(EcsClient::list_tasks)
        .sequence()
        .output(|| ListTasksOutput::builder().build())
        .times(3)
        .output(|| ListTasksOutput::builder().task_arns(TASK_ARN).build())
        .build();
    let stop = mock!(EcsClient::stop_task).then_output(|| StopTaskOutput::builder().build());
    let world = World::new(settings(), &[&list, &stop], &[]);
    world.executions.set_status(EXECUTION_ARN, "ABORTED");
    let mut event = aborted_event();
    event["detail"]["stopDate"] = json!(t0().timestamp_millis());
    let result = stop_task(&world.env(), event, None).await.unwrap();
    assert_eq!(result.stopped, vec![TASK_ARN.to_string()]);
    assert_eq!(list.num_calls(), 4);
    // Three empty answers, five seconds apart (POLL_INTERVAL_SECONDS).
    assert_eq!(world.clock.now(), t0() + chrono::Duration::seconds(15));

    // Nothing ever shows: it gives up at the grace, not before, and stops nothing.
    let never = mock!(EcsClient::list_tasks).then_output(|| ListTasksOutput::builder().build());
    let world = World::new(settings(), &[&never], &[]);
    world.executions.set_status(EXECUTION_ARN, "ABORTED");
    let mut event = aborted_event();
    event["detail"]["stopDate"] = json!(t0().timestamp_millis());
    let result = stop_task(&world.env(), event, None).await.unwrap();
    assert!(result.stopped.is_empty());
    assert_eq!(world.clock.now(), t0() + chrono::Duration::seconds(60));
    // ... nor past the function's deadline.
    let world = World::new(settings(), &[&never], &[]);
    world.executions.set_status(EXECUTION_ARN, "ABORTED");
    let mut event = aborted_event();
    event["detail"]["stopDate"] = json!(t0().timestamp_millis());
    let deadline = t0() + chrono::Duration::seconds(20);
    stop_task(&world.env(), event, Some(deadline))
        .await
        .unwrap();
    assert_eq!(world.clock.now(), deadline);
}

fn aborted_event() -> Value {
    json!({
        "version": "0", "id": "x", "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states", "account": ACCOUNT, "time": "2026-11-25T12:30:00Z", "region": REGION,
        "resources": [EXECUTION_ARN],
        "detail": {"executionArn": EXECUTION_ARN, "stateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:ecs-migrate",
                   "name": "app-42-20261125T120000Z", "status": "ABORTED"}
    })
}

#[tokio::test]
async fn stop_task_from_an_aborted_execution_event() {
    let started_by = started_by_for_execution(EXECUTION_ARN);
    let list = mock!(EcsClient::list_tasks)
        .match_requests(move |r| r.started_by() == Some(started_by.as_str()))
        .then_output(|| ListTasksOutput::builder().task_arns(TASK_ARN).build());
    let stop = mock!(EcsClient::stop_task)
        .match_requests(|r| r.task() == Some(TASK_ARN) && r.cluster() == Some(CLUSTER))
        .then_output(|| StopTaskOutput::builder().build());
    let world = World::new(settings(), &[&list, &stop], &[]);
    world.executions.set_status(EXECUTION_ARN, "ABORTED");
    let event = aborted_event();
    let result = stop_task(&world.env(), event.clone(), None).await.unwrap();
    assert_eq!(result.stopped, vec![TASK_ARN.to_string()]);
    assert!(result.reason.contains("ABORTED"));
    // A succeeded execution's status change stops nothing.
    let mut succeeded = event;
    succeeded["detail"]["status"] = json!("SUCCEEDED");
    world.executions.set_status(EXECUTION_ARN, "SUCCEEDED");
    let result = stop_task(&world.env(), succeeded, None).await.unwrap();
    assert!(result.stopped.is_empty());
    assert_eq!(stop.num_calls(), 1);
}

#[tokio::test]
async fn stop_task_rejects_input_it_cannot_read() {
    let world = World::new(settings(), &[], &[]);
    assert_error(
        stop_task(&world.env(), json!({"task": 1}), None).await,
        "Migration.InvalidEvent",
        "stop-task takes the execution's state data",
    );
}

/// The lock steps' own answers, one call at a time (tests/scenario/lock.rs runs them together).
mod lock_steps {
    use super::*;
    use ecs_migrate::migration::steps::{acquire_lock, release_lock, AcquireInput, ReleaseInput};
    use ecs_migrate::migration::LockState;
    use ecs_migrate::ports::lock::{Expected, LockItem, LockTable};

    fn acquire_input(lock: Option<LockState>) -> AcquireInput {
        AcquireInput {
            request: request(),
            lock,
            execution_id: Some(EXECUTION_ARN.into()),
        }
    }

    fn other_holder(world: &World, lease_seconds: i64) -> LockItem {
        LockItem {
            scope: FAMILY.into(),
            holder: "arn:aws:states:eu-west-1:123456789012:execution:ecs-migrate:other".into(),
            execution_name: Some("other".into()),
            client_token: "b".repeat(64),
            taskdef_arn: TASKDEF_ARN.into(),
            family: FAMILY.into(),
            revision: 41,
            cluster: CLUSTER.into(),
            started_by: "ecs-migrate/other".into(),
            task_arn: None,
            since: world.clock.now(),
            lease_until: world.clock.now() + chrono::Duration::seconds(lease_seconds),
        }
    }

    #[tokio::test]
    async fn a_free_scope_is_taken_once_and_a_retry_finds_it_its_own() {
        let world = World::new(settings(), &[], &[]);
        let first = acquire_lock(&world.env(), acquire_input(None), None)
            .await
            .unwrap();
        let LockState::Acquired(held) = &first else {
            panic!("{first:?}")
        };
        assert_eq!(held.scope, FAMILY);
        assert_eq!(held.holder, EXECUTION_ARN);
        assert_eq!(held.waited_seconds, 0);
        assert_eq!(held.deadline, t0() + chrono::Duration::hours(1));
        // A retry of the invocation (its answer lost) gets the same lock, not a second item.
        let again = acquire_lock(&world.env(), acquire_input(None), None)
            .await
            .unwrap();
        assert!(matches!(again, LockState::Acquired(_)), "{again:?}");
        let items = world.lock.items();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].migration(), "app:42");
        // The token is derived from the verified execution, not read from the request.
        assert_eq!(items[0].client_token, request().client_token);
    }

    #[tokio::test]
    async fn lock_scope_overrides_the_family() {
        let world = World::new(settings_with(&[("LOCK_SCOPE", "orders-db")]), &[], &[]);
        acquire_lock(&world.env(), acquire_input(None), None)
            .await
            .unwrap();
        assert_eq!(world.lock.items()[0].scope, "orders-db");
    }

    #[tokio::test]
    async fn a_held_lock_answers_waiting_then_fails_with_migration_locked() {
        let world = World::new(
            settings_with(&[
                ("LOCK_WAIT_SECONDS", "120"),
                ("POLL_MAX_WAIT_SECONDS", "60"),
            ]),
            &[],
            &[],
        );
        let other = other_holder(&world, 3600);
        assert!(world.lock.put(&other, Expected::Free).await.unwrap());
        let first = acquire_lock(&world.env(), acquire_input(None), None)
            .await
            .unwrap();
        let LockState::Waiting(wait) = &first else {
            panic!("{first:?}")
        };
        assert_eq!(
            wait.message,
            "waiting for app:41 (execution other, since 2026-11-25T12:00:00Z)"
        );
        assert_eq!(wait.waiting_since, t0());
        // The next rounds keep counting from when the wait began, and end it at 120 s.
        let mut previous = first;
        let mut rounds = 1;
        let err = loop {
            match acquire_lock(&world.env(), acquire_input(Some(previous)), None).await {
                Ok(LockState::Waiting(w)) if rounds < 5 => {
                    assert_eq!(w.waiting_since, t0());
                    previous = LockState::Waiting(w);
                    rounds += 1;
                }
                Ok(other) => panic!("{other:?}"),
                Err(err) => break err,
            }
        };
        assert_eq!(world.clock.now(), t0() + chrono::Duration::seconds(120));
        assert_eq!(err.name(), "Migration.Locked");
        assert!(err.message().contains("app:41 (execution other"), "{err}");
        assert!(err.message().contains("120 s"), "{err}");
    }

    #[tokio::test]
    async fn poll_status_fails_with_lock_lost_once_another_took_the_lock_over() {
        // The Cause says whether this execution's task was stopped, as DescribeTasks shows it.
        for (status, said) in [
            ("STOPPED", format!("its task {TASK_ARN} was stopped")),
            (
                "RUNNING",
                format!("its task {TASK_ARN} was not stopped: it is still RUNNING"),
            ),
        ] {
            let describe = describe_sequence(&[task(status)]);
            let world = World::new(settings(), &[&describe], &[]);
            let held = acquire_lock(&world.env(), acquire_input(None), None)
                .await
                .unwrap();
            // Another execution took over after the lease ran out.
            let later = world.lock.items()[0].lease_until + chrono::Duration::seconds(1);
            let other = other_holder(&world, 900);
            let expected = Expected::Expired {
                holder: EXECUTION_ARN,
                now: later,
            };
            assert!(world.lock.put(&other, expected).await.unwrap());
            let mut input = poll_input();
            input.lock = Some(held);
            let err = poll_status(&world.env(), input, None).await.unwrap_err();
            assert_eq!(err.name(), "Migration.LockLost");
            assert!(err.message().contains("LOCK_LEASE_SECONDS=1800"), "{err}");
            assert!(err.message().contains(&said), "{err}");
        }
    }

    #[tokio::test]
    async fn release_without_a_lock_says_so_and_with_one_deletes_it() {
        // No task of this execution runs: the lock goes at once.
        let none_running =
            mock!(EcsClient::list_tasks).then_output(|| ListTasksOutput::builder().build());
        let world = World::new(settings(), &[&none_running], &[]);
        let none = release_lock(
            &world.env(),
            ReleaseInput {
                request: request(),
                lock: None,
                task: None,
                stop: None,
                execution_id: Some(EXECUTION_ARN.into()),
            },
            None,
        )
        .await
        .unwrap();
        assert!(
            matches!(&none, LockState::Released(r) if !r.released && r.note.contains("did not hold")),
            "{none:?}"
        );
        let held = acquire_lock(&world.env(), acquire_input(None), None)
            .await
            .unwrap();
        let released = release_lock(
            &world.env(),
            ReleaseInput {
                request: request(),
                lock: Some(held),
                task: None,
                stop: None,
                execution_id: Some(EXECUTION_ARN.into()),
            },
            None,
        )
        .await
        .unwrap();
        assert!(
            matches!(&released, LockState::Released(r) if r.released),
            "{released:?}"
        );
        assert!(world.lock.items().is_empty());
    }
}
