//! Layer 1: the hook event path of validate-event and report-deployment, through the real
//! aws-sdk-ecs adapter (`SdkDeployments`) over aws-smithy-mocks. The mocked answers are HTTP
//! bodies shaped as ECS sends them (JSON 1.1, timestamps in epoch seconds), from the Amazon
//! ECS API Reference pages DescribeServiceDeployments, DescribeServiceRevisions and
//! ContinueServiceDeployment (and ServiceDeployment, ServiceRevision,
//! DeploymentLifecycleHookDetail for the shapes).

use std::sync::Arc;

use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
use aws_sdk_ecs::Client as EcsClient;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use ecs_migrate::common::clock::VirtualClock;
use ecs_migrate::migration::settings::Settings;
use ecs_migrate::migration::steps::{
    report_deployment, validate_event, ReportInput, StepEnv, ValidateEventInput,
};
use ecs_migrate::migration::{ExecutionContext, MigrationRequest};
use ecs_migrate::ports::deployments::{HookAction, SdkDeployments};
use ecs_migrate::ports::ecs::SdkEcs;
use ecs_migrate::ports::lock::MemoryLockTable;
use ecs_migrate::ports::logs::SdkLogs;
use ecs_migrate::MigrationError;
use serde_json::{json, Value};

use crate::fixtures::*;

fn wire(status: u16, body: Value) -> HttpResponse {
    HttpResponse::new(
        status.try_into().expect("a valid status"),
        body.to_string().into(),
    )
}

fn deployment_body(status: &str, hook_status: &str) -> Value {
    json!({
        "serviceDeployments": [{
            "serviceDeploymentArn": DEPLOYMENT_ARN,
            "serviceArn": SERVICE_ARN,
            "clusterArn": CLUSTER_ARN,
            "createdAt": 1764072000.0,
            "startedAt": 1764072001.5,
            "status": status,
            "lifecycleStage": "PRE_SCALE_UP",
            "targetServiceRevision": {
                "arn": REVISION_ARN, "requestedTaskCount": 2, "runningTaskCount": 0,
                "pendingTaskCount": 0
            },
            "sourceServiceRevisions": [{
                "arn": "arn:aws:ecs:eu-west-1:123456789012:service-revision/prod/app/1",
                "requestedTaskCount": 2, "runningTaskCount": 2, "pendingTaskCount": 0
            }],
            "lifecycleHookDetails": [{
                "hookId": HOOK_ID, "targetType": "PAUSE", "status": hook_status,
                "expiresAt": 1764158400.0, "timeoutAction": "ROLLBACK"
            }]
        }],
        "failures": []
    })
}

fn revision_body(task_definition: &str) -> Value {
    json!({
        "serviceRevisions": [{
            "serviceRevisionArn": REVISION_ARN,
            "serviceArn": SERVICE_ARN,
            "clusterArn": CLUSTER_ARN,
            "taskDefinition": task_definition,
            "launchType": "FARGATE",
            "platformVersion": "1.4.0",
            "containerImages": [{
                "containerName": CONTAINER, "imageDigest": IMAGE_DIGEST,
                "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:latest"
            }],
            "guardDutyEnabled": false,
            "createdAt": 1764072000.0
        }],
        "failures": []
    })
}

fn missing(field: &str, arn: &str) -> Value {
    json!({field: [], "failures": [{"arn": arn, "reason": "MISSING"}]})
}

fn deployment_rule(body: Value) -> Rule {
    mock!(EcsClient::describe_service_deployments)
        .match_requests(|r| r.service_deployment_arns() == [DEPLOYMENT_ARN.to_string()])
        .then_http_response(move || wire(200, body.clone()))
}

fn revision_rule(body: Value) -> Rule {
    mock!(EcsClient::describe_service_revisions)
        .match_requests(|r| r.service_revision_arns() == [REVISION_ARN.to_string()])
        .then_http_response(move || wire(200, body.clone()))
}

fn taskdef_rule() -> Rule {
    mock!(EcsClient::describe_task_definition)
        .match_requests(|r| r.task_definition() == Some(TASKDEF_ARN))
        .then_output(|| {
            DescribeTaskDefinitionOutput::builder()
                .task_definition(task_definition())
                .build()
        })
}

/// The step environment over one mocked ECS client (the task definition and deployment calls
/// both go to ECS).
struct World {
    settings: Settings,
    ecs: SdkEcs,
    deployments: SdkDeployments,
    logs: SdkLogs,
    clock: Arc<VirtualClock>,
    lock: MemoryLockTable,
    executions: ecs_migrate::ports::executions::MemoryExecutions,
}

impl World {
    fn new(settings: Settings, rules: &[&Rule]) -> Self {
        let evidence = migration_succeeded();
        let mut rules = rules.to_vec();
        rules.push(&evidence);
        let client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &rules, |b| b
            .retry_config(fast_retries()));
        // The execution stands for the hook event the tests answer.
        let executions = executions();
        executions.put_with_input(
            EXECUTION_ARN,
            STATE_MACHINE_ARN,
            "RUNNING",
            Some(hook_event("hook-event").to_string()),
        );
        Self {
            settings,
            ecs: SdkEcs::new(client.clone()),
            deployments: SdkDeployments::new(client),
            logs: SdkLogs::new(mock_client!(
                aws_sdk_cloudwatchlogs,
                RuleMode::MatchAny,
                &[] as &[&Rule]
            )),
            clock: Arc::new(VirtualClock::starting_at(t0())),
            lock: MemoryLockTable::new(),
            executions,
        }
    }

    fn env(&self) -> StepEnv<'_> {
        StepEnv {
            settings: &self.settings,
            ecs: &self.ecs,
            logs: &self.logs,
            clock: self.clock.as_ref(),
            lock: &self.lock,
            deployments: &self.deployments,
            executions: &self.executions,
        }
    }

    async fn validate(&self, event: Value) -> Result<MigrationRequest, MigrationError> {
        validate_event(
            &self.env(),
            ValidateEventInput {
                event,
                execution: ExecutionContext {
                    id: Some(EXECUTION_ARN.into()),
                    name: Some("hook-execution".into()),
                    start_time: Some(t0()),
                },
            },
        )
        .await
    }
}

fn assert_error<T: std::fmt::Debug>(result: Result<T, MigrationError>, name: &str, fragment: &str) {
    let err = result.expect_err("the step should fail");
    assert_eq!(err.name(), name, "{err}");
    assert!(err.message().contains(fragment), "{err}");
}

#[tokio::test]
async fn the_target_revision_is_found_and_its_task_definition_migrated() {
    let deployment = deployment_rule(deployment_body("IN_PROGRESS", "AWAITING_ACTION"));
    let revision = revision_rule(revision_body(TASKDEF_ARN));
    let taskdef = taskdef_rule();
    let world = World::new(hook_settings(), &[&deployment, &revision, &taskdef]);

    let request = world.validate(hook_event("event-1")).await.unwrap();
    assert_eq!(request.taskdef_arn, TASKDEF_ARN);
    assert_eq!(request.event_id.as_deref(), Some("event-1"));
    let hook = request.deployment.clone().expect("the hook is carried");
    assert_eq!(hook.hook_id, HOOK_ID);
    assert_eq!(hook.service_deployment_arn, DEPLOYMENT_ARN);
    assert_eq!(hook.target_revision_arn, REVISION_ARN);
    assert_eq!(hook.lifecycle_stage.as_deref(), Some("PRE_SCALE_UP"));
    assert_eq!(hook.images.len(), 1);
    assert_eq!(hook.images[0].digest.as_deref(), Some(IMAGE_DIGEST));
    // In the state data the hook type reads as the Choice compares it.
    assert_eq!(
        serde_json::to_value(&request).unwrap()["deployment"]["hook_type"],
        "PAUSE"
    );
    assert_eq!(deployment.num_calls(), 1);
    assert_eq!(revision.num_calls(), 1);
    assert_eq!(taskdef.num_calls(), 1);

    // The hook, not the event, keys the RunTask token: a redelivery under another id (or a
    // second execution) asks ECS for the same task.
    let again = world.validate(hook_event("event-2")).await.unwrap();
    assert_eq!(again.client_token, request.client_token);
    // Another hook keys another token (and is refused here: the deployment lists no such
    // hook).
    let mut other_hook = hook_event("event-1");
    other_hook["detail"]["hookId"] = json!("ecs-pause-another");
    use ecs_migrate::migration::execution::idempotency_key;
    assert_ne!(
        idempotency_key(Some(&other_hook), None, None),
        idempotency_key(Some(&hook_event("event-1")), None, None)
    );
    assert_error(
        world.validate(other_hook).await,
        "Migration.NotAllowed",
        "lists no such hook",
    );
}

/// "StartExecution is enough to approve a manual-approval pause hook": a hand-made hook event
/// is refused unless the deployment shows that hook waiting, of target type PAUSE, at a
/// configured stage that is the deployment's current one.
#[tokio::test]
async fn a_hook_is_migrated_only_where_it_was_configured() {
    let cases: [(&str, &str, &str, &str); 3] = [
        // (event stage, deployment stage, hook target type, refusal)
        (
            "POST_SCALE_UP",
            "POST_SCALE_UP",
            "PAUSE",
            "setting DEPLOYMENT_HOOK_STAGES",
        ),
        (
            "PRE_SCALE_UP",
            "POST_SCALE_UP",
            "PAUSE",
            "the deployment is at stage POST_SCALE_UP",
        ),
        ("PRE_SCALE_UP", "PRE_SCALE_UP", "AWS_LAMBDA", "not PAUSE"),
    ];
    for (event_stage, deployment_stage, target_type, refusal) in cases {
        let mut body = deployment_body("IN_PROGRESS", "AWAITING_ACTION");
        body["serviceDeployments"][0]["lifecycleStage"] = json!(deployment_stage);
        body["serviceDeployments"][0]["lifecycleHookDetails"][0]["targetType"] = json!(target_type);
        let deployment = deployment_rule(body);
        let world = World::new(hook_settings(), &[&deployment]);
        let mut event = hook_event("e");
        event["detail"]["lifecycleStage"] = json!(event_stage);
        assert_error(world.validate(event).await, "Migration.NotAllowed", refusal);
    }
}

#[tokio::test]
async fn a_revision_of_a_family_not_allowed_is_refused() {
    let deployment = deployment_rule(deployment_body("IN_PROGRESS", "AWAITING_ACTION"));
    let revision = revision_rule(revision_body(
        "arn:aws:ecs:eu-west-1:123456789012:task-definition/billing:3",
    ));
    let world = World::new(hook_settings(), &[&deployment, &revision]);
    assert_error(
        world.validate(hook_event("e")).await,
        "Migration.NotAllowed",
        "family \"billing\" is not allowed",
    );
}

#[tokio::test]
async fn a_missing_revision_is_named() {
    let deployment = deployment_rule(deployment_body("IN_PROGRESS", "AWAITING_ACTION"));
    let revision = revision_rule(missing("serviceRevisions", REVISION_ARN));
    let world = World::new(hook_settings(), &[&deployment, &revision]);
    assert_error(
        world.validate(hook_event("e")).await,
        "Migration.TaskDefinitionNotFound",
        &format!("service revision {REVISION_ARN}, the target of service deployment"),
    );

    let gone = deployment_rule(missing("serviceDeployments", DEPLOYMENT_ARN));
    let world = World::new(hook_settings(), &[&gone]);
    assert_error(
        world.validate(hook_event("e")).await,
        "Migration.TaskDefinitionNotFound",
        &format!("service deployment {DEPLOYMENT_ARN} does not exist"),
    );
}

#[tokio::test]
async fn a_finished_deployment_or_an_expired_hook_runs_nothing() {
    let finished = deployment_rule(deployment_body("ROLLBACK_SUCCESSFUL", "TIMED_OUT"));
    let world = World::new(hook_settings(), &[&finished]);
    assert_error(
        world.validate(hook_event("e")).await,
        "Migration.HookNotAwaiting",
        "is already ROLLBACK_SUCCESSFUL",
    );
    let expired = deployment_rule(deployment_body("IN_PROGRESS", "TIMED_OUT"));
    let world = World::new(hook_settings(), &[&expired]);
    assert_error(
        world.validate(hook_event("e")).await,
        "Migration.HookNotAwaiting",
        "is already TIMED_OUT",
    );
}

#[tokio::test]
async fn a_deployment_of_another_cluster_or_service_is_refused() {
    let mut body = deployment_body("IN_PROGRESS", "AWAITING_ACTION");
    body["serviceDeployments"][0]["clusterArn"] =
        json!("arn:aws:ecs:eu-west-1:123456789012:cluster/staging");
    let other_cluster = deployment_rule(body);
    let world = World::new(hook_settings(), &[&other_cluster]);
    assert_error(
        world.validate(hook_event("e")).await,
        "Migration.NotAllowed",
        "is in cluster arn:aws:ecs:eu-west-1:123456789012:cluster/staging",
    );
    let mut body = deployment_body("IN_PROGRESS", "AWAITING_ACTION");
    body["serviceDeployments"][0]["serviceArn"] =
        json!("arn:aws:ecs:eu-west-1:123456789012:service/prod/billing");
    let other_service = deployment_rule(body);
    let world = World::new(hook_settings(), &[&other_service]);
    assert_error(
        world.validate(hook_event("e")).await,
        "Migration.NotAllowed",
        "belongs to arn:aws:ecs:eu-west-1:123456789012:service/prod/billing",
    );
}

#[tokio::test]
async fn a_service_or_cluster_not_configured_is_refused_before_any_call() {
    // No rule: a call would panic the mock client.
    let world = World::new(settings(), &[]);
    assert_error(
        world.validate(hook_event("e")).await,
        "Migration.NotAllowed",
        "setting DEPLOYMENT_SERVICES",
    );
    let world = World::new(
        settings_with(&[("DEPLOYMENT_SERVICES", "app"), ("CLUSTER", "staging")]),
        &[],
    );
    assert_error(
        world.validate(hook_event("e")).await,
        "Migration.NotAllowed",
        "(setting CLUSTER)",
    );
}

fn report(action: HookAction) -> ReportInput {
    ReportInput {
        action,
        deployment: serde_json::from_value(json!({
            "hook_type": "PAUSE", "hook_id": HOOK_ID, "service_deployment_arn": DEPLOYMENT_ARN,
            "service_arn": SERVICE_ARN, "target_revision_arn": REVISION_ARN
        }))
        .unwrap(),
        error: None,
        execution_id: Some(EXECUTION_ARN.into()),
        result: Some(ecs_migrate::migration::MigrationResult {
            task_arn: TASK_ARN.into(),
            container: CONTAINER.into(),
            exit_code: 0,
            duration_seconds: None,
            log_stream: None,
        }),
    }
}

/// ECS's word on the migration task: started by [`EXECUTION_ARN`], exited 0 by itself.
fn migration_succeeded() -> Rule {
    mock!(EcsClient::describe_tasks).then_output(|| {
        let mut task = stopped_task(
            aws_sdk_ecs::types::TaskStopCode::EssentialContainerExited,
            "Essential container in task exited",
            vec![container(CONTAINER, Some(0))],
        );
        task.started_by = Some(ecs_migrate::migration::tasks::started_by_for_execution(
            EXECUTION_ARN,
        ));
        aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput::builder()
            .tasks(task)
            .build()
    })
}

fn continue_rule(action: &'static str) -> Rule {
    mock!(EcsClient::continue_service_deployment)
        .match_requests(move |r| {
            r.service_deployment_arn() == Some(DEPLOYMENT_ARN)
                && r.hook_id() == Some(HOOK_ID)
                && r.action().map(|a| a.as_str()) == Some(action)
        })
        .then_http_response(|| wire(200, json!({"serviceDeploymentArn": DEPLOYMENT_ARN})))
}

#[tokio::test]
async fn a_waiting_hook_is_answered_once_with_the_action() {
    for action in [HookAction::Continue, HookAction::Rollback] {
        let deployment = deployment_rule(deployment_body("IN_PROGRESS", "AWAITING_ACTION"));
        let answer = continue_rule(action.as_str());
        let world = World::new(hook_settings(), &[&deployment, &answer]);
        let result = report_deployment(&world.env(), report(action))
            .await
            .unwrap();
        assert!(result.answered, "{result:?}");
        assert_eq!(result.action, action);
        assert_eq!(answer.num_calls(), 1);
    }
}

#[tokio::test]
async fn a_hook_that_no_longer_waits_is_reported_not_answered() {
    // Timed out while the migration ran: CONTINUE fails with the named error...
    let expired = deployment_rule(deployment_body("ROLLBACK_IN_PROGRESS", "TIMED_OUT"));
    let world = World::new(hook_settings(), &[&expired]);
    assert_error(
        report_deployment(&world.env(), report(HookAction::Continue)).await,
        "Migration.HookNotAwaiting",
        "it is TIMED_OUT, the deployment ROLLBACK_IN_PROGRESS",
    );
    // ...and ROLLBACK has nothing left to do.
    let rolled = report_deployment(&world.env(), report(HookAction::Rollback))
        .await
        .unwrap();
    assert!(!rolled.answered);
    assert_eq!(rolled.hook_status.as_deref(), Some("TIMED_OUT"));

    // Continued already (a retried invocation whose first answer got through): no second call.
    let continued = deployment_rule(deployment_body("IN_PROGRESS", "SUCCEEDED"));
    let world = World::new(hook_settings(), &[&continued]);
    let result = report_deployment(&world.env(), report(HookAction::Continue))
        .await
        .unwrap();
    assert!(!result.answered);
}

#[tokio::test]
async fn throttling_and_access_denied_get_their_names() {
    let deployment = deployment_rule(deployment_body("IN_PROGRESS", "AWAITING_ACTION"));
    let denied = mock!(EcsClient::continue_service_deployment).then_http_response(|| {
        wire(
            400,
            json!({"__type": "AccessDeniedException", "message": "not authorized"}),
        )
    });
    let world = World::new(hook_settings(), &[&deployment, &denied]);
    assert_error(
        report_deployment(&world.env(), report(HookAction::Continue)).await,
        "Migration.Misconfigured",
        "ecs:ContinueServiceDeployment",
    );
    let throttled = mock!(EcsClient::describe_service_deployments).then_http_response(|| {
        wire(
            400,
            json!({"__type": "ThrottlingException", "message": "Rate exceeded"}),
        )
    });
    let world = World::new(hook_settings(), &[&throttled]);
    assert_error(
        report_deployment(&world.env(), report(HookAction::Continue)).await,
        "Migration.AwsTransient",
        "ThrottlingException",
    );
}
