//! Layer 5: each function's IAM role grants exactly the AWS calls its code makes.
//!
//! The calls are derived by running every step's code paths through the real SDK clients (ECS,
//! CloudWatch Logs, and DynamoDB through the lock table, [`DynamoDbLockTable`]) with an
//! interceptor that records each operation the SDK executes; the grants are parsed from
//! terraform/iam.tf, lock.tf and reconcile.tf by tests/static/iam_actions.py. Both sides must
//! be equal. Then each grant must be on the resources its call needs and carry the conditions
//! the module promises ([`need`], from the Service Authorization Reference), and the tag RunTask
//! sends on the wire must be the one the StopTask condition names.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_sdk_cloudwatchlogs::operation::get_log_events::GetLogEventsOutput;
use aws_sdk_cloudwatchlogs::types::OutputLogEvent;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
use aws_sdk_dynamodb::Client as DynamoDbClient;
use aws_sdk_ecs::config::ConfigBag;
use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
use aws_sdk_ecs::operation::describe_tasks::DescribeTasksOutput;
use aws_sdk_ecs::operation::list_tasks::ListTasksOutput;
use aws_sdk_ecs::operation::run_task::{RunTaskError, RunTaskOutput};
use aws_sdk_ecs::operation::stop_task::StopTaskOutput;
use aws_sdk_ecs::types as ecs;
use aws_sdk_ecs::types::error::ConflictException;
use aws_sdk_ecs::Client as EcsClient;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use ecs_migrate::common::clock::VirtualClock;
use ecs_migrate::migration::steps::StepEnv;
use ecs_migrate::migration::{LockHeld, LockState};
use ecs_migrate::ports::deployments::SdkDeployments;
use ecs_migrate::ports::ecs::SdkEcs;
use ecs_migrate::ports::executions::SdkExecutions;
use ecs_migrate::ports::lock::{to_attributes, DynamoDbLockTable, LockItem, MemoryLockTable};
use ecs_migrate::ports::logs::SdkLogs;
use ecs_migrate::statemachine::Step;
use serde_json::{json, Value};

use crate::fixtures::*;
use crate::process;

/// Records `service:Operation` for every call the SDK executes, and the HTTP body of each
/// request as sent (`service:Operation`, body).
#[derive(Debug, Clone, Default)]
struct Recorder(Arc<Mutex<BTreeSet<String>>>, Bodies);

/// Request bodies as sent: (`service:Operation`, body).
type Bodies = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// The IAM `service:Operation` of the call the configuration describes.
fn action_of(cfg: &ConfigBag) -> String {
    let metadata = cfg.load::<Metadata>().expect("operation metadata");
    // The IAM service prefix of each SDK service this crate uses.
    let prefix = match metadata.service() {
        "ECS" => "ecs",
        "CloudWatch Logs" => "logs",
        "SFN" => "states",
        "DynamoDB" => "dynamodb",
        other => panic!("unexpected service {other}: add its IAM prefix here"),
    };
    format!("{prefix}:{}", metadata.name())
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "Recorder"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &aws_sdk_ecs::config::RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.lock().unwrap().insert(action_of(cfg));
        Ok(())
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_sdk_ecs::config::RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context
            .request()
            .body()
            .bytes()
            .unwrap_or_default()
            .to_vec();
        self.1.lock().unwrap().push((action_of(cfg), body));
        Ok(())
    }
}

/// An execution of an event another execution already started: its client token is taken.
const DUPLICATE_EXECUTION: &str =
    "arn:aws:states:eu-west-1:123456789012:execution:ecs-migrate:duplicate";
/// An execution that ended (ABORTED): the status-change rule's.
const ENDED_EXECUTION: &str = "arn:aws:states:eu-west-1:123456789012:execution:ecs-migrate:ended";

/// An execution started for a deployment's hook event: report-deployment's.
const HOOK_EXECUTION: &str = "arn:aws:states:eu-west-1:123456789012:execution:ecs-migrate:hook";

/// The client token the duplicate execution derives (from its name: it has no input).
fn duplicate_token() -> String {
    ecs_migrate::migration::execution::client_token(Some("duplicate"), TASKDEF_ARN)
}

/// DescribeExecution: the ended execution ABORTED, any other RUNNING, all of this state machine.
fn execution_rules() -> Vec<Rule> {
    use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
    use aws_sdk_sfn::types::ExecutionStatus;
    let answer = |arn: &str, status: ExecutionStatus| {
        let input = if arn == HOOK_EXECUTION {
            hook_event("hook-event")
        } else {
            json!({"taskdef_arn": FAMILY})
        };
        DescribeExecutionOutput::builder()
            .execution_arn(arn)
            .state_machine_arn(STATE_MACHINE_ARN)
            .status(status)
            .input(input.to_string())
            .start_date(aws_sdk_sfn::primitives::DateTime::from_secs(0))
            .build()
            .unwrap()
    };
    vec![
        mock!(aws_sdk_sfn::Client::describe_execution)
            .match_requests(|r| r.execution_arn() == Some(ENDED_EXECUTION))
            .then_output(move || answer(ENDED_EXECUTION, ExecutionStatus::Aborted)),
        mock!(aws_sdk_sfn::Client::describe_execution)
            .match_requests(|r| r.execution_arn() == Some(HOOK_EXECUTION))
            .then_output(move || answer(HOOK_EXECUTION, ExecutionStatus::Running)),
        mock!(aws_sdk_sfn::Client::describe_execution)
            .then_output(move || answer(EXECUTION_ARN, ExecutionStatus::Running)),
        // The running execution is in its StopTask state, so stop-task's stop path runs.
        mock!(aws_sdk_sfn::Client::get_execution_history).then_output(|| {
            use aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryOutput;
            use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType, StateEnteredEventDetails};
            let entered = HistoryEvent::builder()
                .timestamp(aws_sdk_sfn::primitives::DateTime::from_secs(0))
                .r#type(HistoryEventType::TaskStateEntered)
                .id(2)
                .state_entered_event_details(
                    StateEnteredEventDetails::builder()
                        .name("StopTask")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap();
            GetExecutionHistoryOutput::builder()
                .events(entered)
                .build()
                .unwrap()
        }),
    ]
}

/// Actions AWS authorizes as part of a call, beyond the call itself.
fn implied(action: &str) -> &'static [&'static str] {
    match action {
        // RunTask with tags also needs ecs:TagResource; a task definition with a task or
        // execution role makes ECS check iam:PassRole for them.
        "ecs:RunTask" => &["ecs:TagResource", "iam:PassRole"],
        _ => &[],
    }
}

fn answering_rules() -> Vec<Rule> {
    vec![
        mock!(EcsClient::describe_task_definition).then_output(|| {
            DescribeTaskDefinitionOutput::builder()
                .task_definition(task_definition())
                .build()
        }),
        // Another execution of the same event holds this client token (run-task then releases
        // the lock it took); any other token starts a task.
        mock!(EcsClient::run_task)
            .match_requests(|r| r.client_token() == Some(duplicate_token().as_str()))
            .then_error(|| {
                RunTaskError::ConflictException(
                    ConflictException::builder().resource_ids(TASK_ARN).build(),
                )
            }),
        mock!(EcsClient::run_task)
            .then_output(|| RunTaskOutput::builder().tasks(task("PROVISIONING")).build()),
        mock!(EcsClient::describe_tasks).then_output(|| {
            DescribeTasksOutput::builder()
                .tasks(stopped_task(
                    ecs::TaskStopCode::EssentialContainerExited,
                    "Essential container in task exited",
                    vec![container(CONTAINER, Some(1))],
                ))
                .build()
        }),
        mock!(EcsClient::list_tasks)
            .then_output(|| ListTasksOutput::builder().task_arns(TASK_ARN).build()),
        mock!(EcsClient::stop_task).then_output(|| StopTaskOutput::builder().build()),
        // A deployment paused at its hook, in ECS's JSON (API Reference,
        // DescribeServiceDeployments, DescribeServiceRevisions, ContinueServiceDeployment).
        mock!(EcsClient::describe_service_deployments).then_http_response(|| {
            ecs_json(json!({"serviceDeployments": [{
                "serviceDeploymentArn": DEPLOYMENT_ARN, "serviceArn": SERVICE_ARN,
                "clusterArn": CLUSTER_ARN, "status": "IN_PROGRESS",
                "targetServiceRevision": {"arn": REVISION_ARN},
                "lifecycleHookDetails": [{"hookId": HOOK_ID, "targetType": "PAUSE",
                                          "status": "AWAITING_ACTION"}]}], "failures": []}))
        }),
        mock!(EcsClient::describe_service_revisions).then_http_response(|| {
            ecs_json(json!({"serviceRevisions": [{
                "serviceRevisionArn": REVISION_ARN, "serviceArn": SERVICE_ARN,
                "clusterArn": CLUSTER_ARN, "taskDefinition": TASKDEF_ARN}], "failures": []}))
        }),
        mock!(EcsClient::continue_service_deployment)
            .then_http_response(|| ecs_json(json!({"serviceDeploymentArn": DEPLOYMENT_ARN}))),
    ]
}

fn ecs_json(body: Value) -> aws_sdk_ecs::config::http::HttpResponse {
    aws_sdk_ecs::config::http::HttpResponse::new(
        200.try_into().expect("a valid status"),
        body.to_string().into(),
    )
}

/// The lock as a step finds it: held by another execution whose lease ran out long before
/// [`t0`], so a step that takes the lock goes the longest way (stop that holder's task, then
/// take over), and every other call answers as if this execution held it.
fn lock_rules() -> Vec<Rule> {
    lock_rules_holding(expired_item())
}

/// An earlier execution's item whose lease ended at [`t0`] less two hours.
fn expired_item() -> LockItem {
    LockItem {
        scope: FAMILY.into(),
        holder: format!("{EXECUTION_ARN}-earlier"),
        execution_name: Some("earlier".into()),
        client_token: "token-earlier".into(),
        taskdef_arn: TASKDEF_ARN.into(),
        family: FAMILY.into(),
        revision: 41,
        cluster: CLUSTER.into(),
        started_by: "ecs-migrate/000000000000000000000000".into(),
        task_arn: Some(TASK_ARN.into()),
        since: t0() - chrono::Duration::hours(3),
        lease_until: t0() - chrono::Duration::hours(2),
    }
}

/// `holder`'s item, with its task recorded or not.
fn held_by(holder: &str, task: Option<&str>) -> LockItem {
    LockItem {
        holder: holder.into(),
        task_arn: task.map(str::to_string),
        lease_until: t0() + chrono::Duration::minutes(15),
        ..expired_item()
    }
}

/// The lock table's answers with `item` at the family's scope.
fn lock_rules_holding(item: LockItem) -> Vec<Rule> {
    let attributes = to_attributes(&item);
    vec![
        mock!(DynamoDbClient::get_item).then_output(move || {
            GetItemOutput::builder()
                .set_item(Some(attributes.clone()))
                .build()
        }),
        // A take fails (the scope is held); a takeover succeeds.
        mock!(DynamoDbClient::put_item)
            .match_requests(|r| {
                r.condition_expression()
                    .is_some_and(|c| c.starts_with("attribute_not_exists"))
            })
            .then_error(|| {
                PutItemError::ConditionalCheckFailedException(
                    ConditionalCheckFailedException::builder().build(),
                )
            }),
        mock!(DynamoDbClient::put_item).then_output(|| PutItemOutput::builder().build()),
        mock!(DynamoDbClient::update_item).then_output(|| UpdateItemOutput::builder().build()),
        mock!(DynamoDbClient::delete_item).then_output(|| DeleteItemOutput::builder().build()),
    ]
}

/// The DynamoDB lock table the steps get, answering with `rules`, its calls recorded.
fn recorded_lock_table(rules: &[Rule], recorder: &Recorder) -> DynamoDbLockTable {
    let rule_refs: Vec<&Rule> = rules.iter().collect();
    let recorder = recorder.clone();
    DynamoDbLockTable::new(
        mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, &rule_refs, |b| b
            .interceptor(recorder.clone())),
        "mig-lock",
    )
}

/// Runs `step` on each input with recording clients; returns the actions its calls need.
async fn actions_of(step: Step, inputs: Vec<Value>) -> BTreeSet<String> {
    actions_with_lock(step, inputs, expired_item()).await
}

/// [`actions_of`] with `item` in the lock table.
async fn actions_with_lock(step: Step, inputs: Vec<Value>, item: LockItem) -> BTreeSet<String> {
    actions_with_lock_rules(step, inputs, lock_rules_holding(item)).await
}

/// `item` held, but the renewal that records a task refused: the lock was lost while RunTask
/// ran, and run-task stops the task it started.
fn lock_rules_lost_at_recording(item: LockItem) -> Vec<Rule> {
    let mut rules = vec![mock!(DynamoDbClient::update_item)
        .match_requests(|r| {
            r.update_expression() == Some("SET #lease_until = :lease_until, #task_arn = :task_arn")
        })
        .then_error(|| {
            UpdateItemError::ConditionalCheckFailedException(
                ConditionalCheckFailedException::builder().build(),
            )
        })];
    rules.extend(lock_rules_holding(item));
    rules
}

/// [`actions_of`] with the lock table answering with `lock_rules`.
async fn actions_with_lock_rules(
    step: Step,
    inputs: Vec<Value>,
    lock_rules: Vec<Rule>,
) -> BTreeSet<String> {
    let recorder = recorded_with_lock_rules(step, inputs, lock_rules).await;
    let calls = recorder.0.lock().unwrap().clone();
    let mut actions = calls.clone();
    for call in &calls {
        actions.extend(implied(call).iter().map(|a| a.to_string()));
    }
    actions
}

/// Runs `step` on each input with recording clients and `item` in the lock table.
async fn recorded_with_lock(step: Step, inputs: Vec<Value>, item: LockItem) -> Recorder {
    recorded_with_lock_rules(step, inputs, lock_rules_holding(item)).await
}

/// Runs `step` on each input with recording clients and the lock table answering with
/// `lock_rules`.
async fn recorded_with_lock_rules(
    step: Step,
    inputs: Vec<Value>,
    lock_rules: Vec<Rule>,
) -> Recorder {
    let recorder = Recorder::default();
    let rules = answering_rules();
    let rule_refs: Vec<&Rule> = rules.iter().collect();
    let ecs_recorder = recorder.clone();
    let ecs_client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &rule_refs, |b| b
        .interceptor(ecs_recorder.clone()));
    let ecs = SdkEcs::new(ecs_client.clone());
    let deployments = SdkDeployments::new(ecs_client);
    let logs_rule = mock!(aws_sdk_cloudwatchlogs::Client::get_log_events).then_output(|| {
        GetLogEventsOutput::builder()
            .events(OutputLogEvent::builder().message("boom").build())
            .build()
    });
    let logs_recorder = recorder.clone();
    let logs = SdkLogs::new(mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        &[&logs_rule],
        |b| b.interceptor(logs_recorder.clone())
    ));
    let lock = recorded_lock_table(&lock_rules, &recorder);
    let execution_rules = execution_rules();
    let execution_refs: Vec<&Rule> = execution_rules.iter().collect();
    let sfn_recorder = recorder.clone();
    let executions = SdkExecutions::new(mock_client!(
        aws_sdk_sfn,
        RuleMode::MatchAny,
        &execution_refs,
        |b| b.interceptor(sfn_recorder.clone())
    ));
    let settings = settings_with(&[
        ("DEPLOYMENT_SERVICES", "[\"app\"]"),
        ("LOCK_TABLE", "mig-lock"),
    ]);
    let clock = VirtualClock::starting_at(t0());
    let env = StepEnv {
        settings: &settings,
        ecs: &ecs,
        logs: &logs,
        clock: &clock,
        lock: &lock,
        deployments: &deployments,
        executions: &executions,
    };
    for input in inputs {
        // A step may fail after its calls (check-exit-code fails on exit 1), but never on its
        // input or settings: that would end it before the calls this test counts.
        if let Err(e) = step.run(&env, input.clone(), None).await {
            assert!(
                !matches!(
                    e.name(),
                    "Migration.InvalidEvent" | "Migration.Misconfigured"
                ),
                "{}: {input} was refused before any call: {e}",
                step.name()
            );
        }
    }
    recorder
}

/// The request validate-event resolves for `{"taskdef_arn": "app"}`, as the later steps get it.
async fn validated_request() -> Value {
    let execution =
        json!({"id": EXECUTION_ARN, "name": "exec", "start_time": "2026-11-25T12:00:00Z"});
    let request = ecs_migrate::migration::steps::validate_event(
        &StepEnv {
            settings: &settings(),
            ecs: &SdkEcs::new(mock_client!(
                aws_sdk_ecs,
                RuleMode::MatchAny,
                &[&answering_rules()[0]]
            )),
            logs: &SdkLogs::new(mock_client!(
                aws_sdk_cloudwatchlogs,
                RuleMode::MatchAny,
                &[] as &[&Rule]
            )),
            clock: &VirtualClock::starting_at(t0()),
            lock: &MemoryLockTable::new(),
            deployments: &ecs_migrate::ports::deployments::NoDeployments,
            executions: &executions(),
        },
        serde_json::from_value(json!({"event": {"taskdef_arn": "app"}, "execution": execution}))
            .unwrap(),
    )
    .await
    .unwrap();
    serde_json::to_value(request).unwrap()
}

/// What AcquireLock put at $.lock: this execution holds the family's lock.
fn held_lock() -> Value {
    serde_json::to_value(LockState::Acquired(LockHeld {
        scope: FAMILY.into(),
        holder: EXECUTION_ARN.into(),
        since: t0(),
        lease_until: t0() + chrono::Duration::minutes(15),
        deadline: t0() + chrono::Duration::hours(1),
        waited_seconds: 0,
        took_over_from: None,
    }))
    .unwrap()
}

async fn actions_per_function() -> BTreeMap<String, BTreeSet<String>> {
    let execution =
        json!({"id": EXECUTION_ARN, "name": "exec", "start_time": "2026-11-25T12:00:00Z"});
    let request = validated_request().await;
    let task = json!({"task_arn": TASK_ARN, "cluster": CLUSTER, "run_at": "2026-11-25T12:00:00Z",
                      "log_stream": {"group": "/ecs/app", "stream": "ecs/fastapi/0123456789abcdef", "region": REGION}});
    let status = json!({"phase": "STOPPED", "last_status": "STOPPED", "stop_code": "EssentialContainerExited",
                        "containers": [{"name": CONTAINER, "exit_code": 1}], "checked_at": "2026-11-25T12:01:00Z"});
    // The execution's input names the family: the lock scope the cleanup releases.
    let status_change = json!({"source": "aws.states", "detail-type": "Step Functions Execution Status Change",
                               "detail": {"executionArn": ENDED_EXECUTION, "status": "ABORTED",
                                          "input": json!({"taskdef_arn": FAMILY}).to_string()}});
    let lock = held_lock();
    // What the definition hands each Task state: the state and the execution's ARN.
    let call = |state: Value| json!({"state": state, "execution_id": EXECUTION_ARN});
    let duplicate = json!({"state": {"request": request.clone(), "lock": lock.clone()},
                           "execution_id": DUPLICATE_EXECUTION});

    let mut result = BTreeMap::new();
    result.insert(
        ecs_migrate::lambda::deployment_hook::DEPLOYMENT_HOOK.to_string(),
        deployment_hook_actions().await,
    );
    for (step, inputs) in [
        (
            Step::ValidateEvent,
            vec![
                json!({"event": {"taskdef_arn": "app"}, "execution": execution}),
                json!({"event": hook_event("hook-event"), "execution": execution}),
            ],
        ),
        (
            Step::AcquireLock,
            vec![call(json!({"request": request.clone()}))],
        ),
        (
            Step::PollStatus,
            vec![call(
                json!({"request": request, "task": task, "lock": lock.clone()}),
            )],
        ),
        (
            Step::CheckExitCode,
            vec![call(
                json!({"request": request, "task": task, "status": status}),
            )],
        ),
        (
            Step::ReportDeployment,
            // ROLLBACK answers; CONTINUE first asks ECS how the migration task ended.
            ["ROLLBACK", "CONTINUE"]
                .map(|action| {
                    json!({"action": action, "execution_id": HOOK_EXECUTION,
                    "error": {"Error": "Migration.NonZeroExit", "Cause": ""},
                    "result": {"task_arn": TASK_ARN, "container": CONTAINER, "exit_code": 0},
                    "deployment": {
                        "hook_type": "PAUSE", "hook_id": HOOK_ID, "service_deployment_arn": DEPLOYMENT_ARN,
                        "service_arn": SERVICE_ARN, "target_revision_arn": REVISION_ARN}})
                })
                .to_vec(),
        ),
    ] {
        result.insert(step.name().to_string(), actions_of(step, inputs).await);
    }
    // The steps that read the lock table act only where it names their execution.
    let held = held_by(EXECUTION_ARN, None);
    let mut run = actions_with_lock(
        Step::RunTask,
        vec![call(
            json!({"request": request.clone(), "lock": lock.clone()}),
        )],
        held.clone(),
    )
    .await;
    run.extend(
        actions_with_lock(
            Step::RunTask,
            vec![duplicate],
            held_by(DUPLICATE_EXECUTION, None),
        )
        .await,
    );
    // A retry finds the task the lock records (here STOPPED: it starts no second one).
    run.extend(
        actions_with_lock(
            Step::RunTask,
            vec![call(
                json!({"request": request.clone(), "lock": lock.clone()}),
            )],
            held_by(EXECUTION_ARN, Some(TASK_ARN)),
        )
        .await,
    );
    // The lock lost while RunTask ran: run-task stops the task it started.
    run.extend(
        actions_with_lock_rules(
            Step::RunTask,
            vec![call(
                json!({"request": request.clone(), "lock": lock.clone()}),
            )],
            lock_rules_lost_at_recording(held.clone()),
        )
        .await,
    );
    result.insert(Step::RunTask.name().to_string(), run);
    let mut stop = actions_with_lock(
        Step::StopTask,
        vec![call(json!({"request": request, "task": task, "error": {"Error": "Migration.Timeout", "Cause": ""}}))],
        held.clone(),
    )
    .await;
    stop.extend(
        actions_with_lock(
            Step::StopTask,
            vec![status_change],
            held_by(ENDED_EXECUTION, Some(TASK_ARN)),
        )
        .await,
    );
    result.insert(Step::StopTask.name().to_string(), stop);
    result.insert(
        Step::ReleaseLock.name().to_string(),
        actions_with_lock(
            Step::ReleaseLock,
            vec![call(
                json!({"request": request, "task": task, "lock": lock}),
            )],
            held_by(EXECUTION_ARN, Some(TASK_ARN)),
        )
        .await,
    );
    result.insert("reconcile".to_string(), reconcile_actions().await);
    let stop_task = result.entry(Step::StopTask.name().to_string()).or_default();
    stop_task.extend(stop_task_hook_actions().await);
    result
}

fn granted_per_function() -> BTreeMap<String, BTreeSet<String>> {
    serde_json::from_str(&iam_actions(&[])).expect("iam_actions.py prints JSON")
}

/// iam_actions.py's stdout, run with `args`; it must succeed.
fn iam_actions(args: &[&str]) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let python = format!("{root}/.tools/checkov/bin/python");
    let child = std::process::Command::new(&python)
        .arg(format!("{root}/tests/static/iam_actions.py"))
        .args(args)
        .current_dir(root)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run {python} (bash tests/run.sh installs it): {e}"));
    let output = process::finish(child);
    assert_eq!(output.code, 0, "iam_actions.py failed: {}", output.stderr);
    output.stdout
}

#[tokio::test(flavor = "multi_thread")]
async fn each_role_grants_exactly_the_calls_its_function_makes() {
    let made = actions_per_function().await;
    // Sanity: the derivation saw real calls for every function.
    for (function, actions) in &made {
        assert!(!actions.is_empty(), "{function}: no AWS call recorded");
    }
    let granted = granted_per_function();
    assert_eq!(
        made, granted,
        "left: actions the code needs, right: actions terraform/iam.tf and lock.tf grant"
    );
}

/// The harness records the lock table's calls as IAM actions, as it does ECS's: what makes the
/// lock steps' grants testable.
#[tokio::test]
async fn lock_table_calls_are_recorded_as_dynamodb_actions() {
    use ecs_migrate::ports::lock::{Expected, LockTable};
    let recorder = Recorder::default();
    let rules = lock_rules();
    let lock = recorded_lock_table(&rules, &recorder);
    let held = lock
        .get(FAMILY)
        .await
        .unwrap()
        .expect("the expired holder's item");
    let mut mine = held.clone();
    mine.holder = EXECUTION_ARN.into();
    assert!(!lock.put(&mine, Expected::Free).await.unwrap());
    let takeover = Expected::Expired {
        holder: &held.holder,
        now: t0(),
    };
    assert!(lock.put(&mine, takeover).await.unwrap());
    assert!(lock.renew(FAMILY, EXECUTION_ARN, t0(), None).await.unwrap());
    assert!(lock.release(FAMILY, EXECUTION_ARN).await.unwrap());
    let recorded: Vec<String> = recorder.0.lock().unwrap().iter().cloned().collect();
    assert_eq!(
        recorded,
        [
            "dynamodb:DeleteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem"
        ]
    );
}

/// The deployment-hook function's calls: a first invocation (start, then describe) with
/// recording Step Functions clients.
async fn deployment_hook_actions() -> BTreeSet<String> {
    use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
    use aws_sdk_sfn::operation::start_execution::StartExecutionOutput;
    let recorder = Recorder::default();
    let state_machine = "arn:aws:states:eu-west-1:123456789012:stateMachine:ecs-migrate";
    let start = mock!(aws_sdk_sfn::Client::start_execution).then_output(|| {
        StartExecutionOutput::builder()
            .execution_arn("arn:aws:states:eu-west-1:123456789012:execution:ecs-migrate:hook-x")
            .start_date(aws_sdk_sfn::primitives::DateTime::from_secs(1_764_072_000))
            .build()
            .unwrap()
    });
    let describe = mock!(aws_sdk_sfn::Client::describe_execution).then_output(move || {
        DescribeExecutionOutput::builder()
            .execution_arn("arn:aws:states:eu-west-1:123456789012:execution:ecs-migrate:hook-x")
            .state_machine_arn(state_machine)
            .status(aws_sdk_sfn::types::ExecutionStatus::Running)
            .start_date(aws_sdk_sfn::primitives::DateTime::from_secs(1_764_072_000))
            .build()
            .unwrap()
    });
    let sfn_recorder = recorder.clone();
    let executions = ecs_migrate::ports::executions::SdkExecutions::new(mock_client!(
        aws_sdk_sfn,
        RuleMode::MatchAny,
        &[&start, &describe],
        |b| b.interceptor(sfn_recorder.clone())
    ));
    let config = ecs_migrate::lambda::deployment_hook::AdapterConfig {
        state_machine_arn: state_machine.into(),
        call_back_delay: 30,
        max_unreadable: 10,
    };
    let payload = json!({
        "executionId": HOOK_ID, "lifecycleStage": "PRE_SCALE_UP", "resourceArn": DEPLOYMENT_ARN,
        "executionDetails": {"serviceArn": SERVICE_ARN, "targetServiceRevisionArn": REVISION_ARN}
    });
    let answer =
        ecs_migrate::lambda::deployment_hook::answer_hook(&executions, &config, payload).await;
    assert_eq!(
        answer.hook_status,
        ecs_migrate::lambda::deployment_hook::HookStatus::InProgress
    );
    let calls = recorder.0.lock().unwrap().clone();
    assert!(!calls.is_empty(), "deployment-hook made no call");
    calls
}

/// What one call needs: the resource types a grant for it must name (all of them, and no
/// other), the condition keys IAM evaluates for it (a statement using another key would never
/// match, or would match everything), and the conditions the module promises on it.
struct Need {
    resources: &'static [&'static str],
    keys: &'static [&'static str],
    /// (test, key, values) each statement granting the action must carry.
    conditions: &'static [Condition],
}

type Condition = (&'static str, &'static str, &'static [&'static str]);
/// A row of [`need`]'s table: resource types, condition keys, conditions.
type NeedRow = (
    &'static [&'static str],
    &'static [&'static str],
    &'static [Condition],
);

const IN_CLUSTER: Condition = ("ArnEquals", "ecs:cluster", &["${var.cluster_arn}"]);
const TASK_KEYS: &[&str] = &["aws:ResourceTag/", "ecs:ResourceTag/", "ecs:cluster"];
const ITEM_KEYS: &[&str] = &[
    "dynamodb:Attributes",
    "dynamodb:EnclosingOperation",
    "dynamodb:LeadingKeys",
    "dynamodb:ReturnConsumedCapacity",
    "dynamodb:ReturnValues",
    "dynamodb:Select",
];

/// The table of what each call the code makes needs, from the Service Authorization Reference
/// ("Actions, resources, and condition keys for ..."; a key ending in `/` stands for
/// `.../${TagKey}`):
/// - Amazon Elastic Container Service,
///   <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html>
///   (RunTask: task-definition*; StopTask, DescribeTasks: task*; TagResource at launch: the
///   task, with ecs:CreateAction; ContinueServiceDeployment and DescribeServiceDeployments:
///   service* and service-deployment*; DescribeServiceRevisions: service* and
///   service-revision*; DescribeTaskDefinition: no resource type, so `*`; ListTasks by
///   cluster and startedBy names no container instance, so `*` under ecs:cluster);
/// - Amazon DynamoDB, <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html>
///   (GetItem, PutItem, UpdateItem, DeleteItem: table*);
/// - Amazon CloudWatch Logs, <https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatchlogs.html>
///   (GetLogEvents: log-stream*);
/// - AWS Step Functions, <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsstepfunctions.html>
///   (DescribeExecution: execution*; StartExecution: stateMachine*);
/// - IAM, <https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html>
///   (PassRole: role*, with iam:PassedToService).
fn need(action: &str) -> Option<Need> {
    let (resources, keys, conditions): NeedRow = match action {
        "ecs:RunTask" => (
            &["ecs:task-definition"],
            &[
                "aws:RequestTag/",
                "aws:ResourceTag/",
                "aws:TagKeys",
                "ecs:ResourceTag/",
                "ecs:capacity-provider",
                "ecs:cluster",
                "ecs:enable-execute-command",
                "ecs:task-cpu",
                "ecs:task-memory",
            ],
            &[IN_CLUSTER],
        ),
        "ecs:StopTask" => (
            &["ecs:task"],
            TASK_KEYS,
            &[
                IN_CLUSTER,
                (
                    "StringLike",
                    "aws:ResourceTag/ecs-migrate:started-by",
                    &["ecs-migrate/*"],
                ),
            ],
        ),
        "ecs:DescribeTasks" => (&["ecs:task"], TASK_KEYS, &[IN_CLUSTER]),
        "ecs:ListTasks" => (
            &["*"],
            &["ecs:cluster", "ecs:container-instance"],
            &[IN_CLUSTER],
        ),
        "ecs:TagResource" => (
            &["ecs:task"],
            &[
                "aws:RequestTag/",
                "aws:ResourceTag/",
                "aws:TagKeys",
                "ecs:CreateAction",
                "ecs:ResourceTag/",
            ],
            &[("StringEquals", "ecs:CreateAction", &["RunTask"])],
        ),
        "ecs:DescribeTaskDefinition" => (&["*"], &[], &[]),
        "ecs:DescribeServiceDeployments" | "ecs:ContinueServiceDeployment" => (
            &["ecs:service", "ecs:service-deployment"],
            &["aws:ResourceTag/", "ecs:ResourceTag/"],
            &[],
        ),
        "ecs:DescribeServiceRevisions" => (
            &["ecs:service", "ecs:service-revision"],
            &["aws:ResourceTag/", "ecs:ResourceTag/"],
            &[],
        ),
        "dynamodb:GetItem" | "dynamodb:PutItem" | "dynamodb:UpdateItem" | "dynamodb:DeleteItem" => {
            (&["dynamodb:table"], ITEM_KEYS, &[])
        }
        "logs:GetLogEvents" => (&["logs:log-stream"], &[], &[]),
        "states:DescribeExecution" => (&["states:execution"], &[], &[]),
        "states:GetExecutionHistory" => (&["states:execution"], &[], &[]),
        "states:StartExecution" => (&["states:stateMachine"], &[], &[]),
        // The reconciler: the lock table's items (Scan) and this state machine's ended
        // executions (ListExecutions on the stateMachine resource type).
        "dynamodb:Scan" => (&["dynamodb:table"], ITEM_KEYS, &[]),
        "states:ListExecutions" => (&["states:stateMachine"], &[], &[]),
        "iam:PassRole" => (
            &["iam:role"],
            &["iam:AssociatedResourceArn", "iam:PassedToService"],
            &[(
                "StringEquals",
                "iam:PassedToService",
                &["ecs-tasks.amazonaws.com"],
            )],
        ),
        _ => return None,
    };
    Some(Need {
        resources,
        keys,
        conditions,
    })
}

/// Where the grants (iam_actions.py --grants) fall short of or go beyond what each call
/// `made` needs: one line per problem.
fn grant_problems(made: &BTreeMap<String, BTreeSet<String>>, grants: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (function, actions) in made {
        for action in actions {
            let Some(need) = need(action) else {
                problems.push(format!(
                    "{function} {action}: not in the table of needs (fn need)"
                ));
                continue;
            };
            let statements = grants[function][action]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if statements.is_empty() {
                problems.push(format!("{function} {action}: no statement grants it"));
            }
            let mut covered = BTreeSet::new();
            for st in &statements {
                let sid = st["sid"].as_str().unwrap_or("?");
                let kinds: BTreeSet<&str> = st["resources"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                for kind in &kinds {
                    if !need.resources.contains(kind) {
                        problems.push(format!(
                            "{function} {action} ({sid}): granted on {kind}, the call needs {:?}",
                            need.resources
                        ));
                    }
                }
                covered.extend(kinds);
                problems.extend(condition_problems(function, action, sid, st, &need));
            }
            for kind in need.resources {
                if !statements.is_empty() && !covered.contains(kind) {
                    problems.push(format!(
                        "{function} {action}: no grant on {kind}, which the call needs"
                    ));
                }
            }
        }
    }
    problems
}

/// A statement's conditions: keys IAM knows for the action, and the ones the module promises.
fn condition_problems(
    function: &str,
    action: &str,
    sid: &str,
    st: &Value,
    need: &Need,
) -> Vec<String> {
    let mut problems = Vec::new();
    let conditions = st["conditions"].as_array().cloned().unwrap_or_default();
    for c in &conditions {
        let key = c["variable"].as_str().unwrap_or_default();
        let known = need
            .keys
            .iter()
            .any(|k| key == *k || (k.ends_with('/') && key.starts_with(k)));
        if !known {
            problems.push(format!(
                "{function} {action} ({sid}): condition key {key} is not one IAM evaluates for it"
            ));
        }
    }
    for (test, key, values) in need.conditions {
        let present = conditions.iter().any(|c| {
            c["test"] == *test
                && c["variable"] == *key
                && c["values"]
                    .as_array()
                    .is_some_and(|v| v == &values.iter().map(|s| json!(s)).collect::<Vec<_>>())
        });
        if !present {
            problems.push(format!(
                "{function} {action} ({sid}): lacks the condition {test} {key} = {values:?}"
            ));
        }
    }
    problems
}

fn granted_on(args: &[&str]) -> Value {
    let mut all = vec!["--grants"];
    all.extend_from_slice(args);
    serde_json::from_str(&iam_actions(&all)).expect("iam_actions.py --grants prints JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn each_grant_is_on_the_resources_and_conditions_its_call_needs() {
    let made = actions_per_function().await;
    let problems = grant_problems(&made, &granted_on(&[]));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The comparison can fail: iam.tf with one grant moved to the wrong resource, and one grant
/// missing a resource type its call needs (the hook answer without the service), is reported.
#[tokio::test(flavor = "multi_thread")]
async fn a_grant_on_the_wrong_resource_fails_the_comparison() {
    let made = actions_per_function().await;
    let root = env!("CARGO_MANIFEST_DIR");
    let iam_tf = std::fs::read_to_string(format!("{root}/terraform/iam.tf")).unwrap();
    let lock_tf = format!("{root}/terraform/lock.tf");
    for (document, from, to, expected) in [
        (
            "\"poll_status\"",
            "resources = [local.cluster_tasks_arn]",
            "resources = local.allowed_task_definition_arns",
            "poll-status ecs:DescribeTasks (DescribeClusterTasks): granted on ecs:task-definition",
        ),
        (
            "\"report_deployment\"",
            "resources = concat(local.service_arns, local.service_deployment_arns)",
            "resources = local.service_deployment_arns",
            "report-deployment ecs:ContinueServiceDeployment: no grant on ecs:service",
        ),
    ] {
        let start = iam_tf.find(document).expect("the policy document");
        let at = start + iam_tf[start..].find(from).expect("the grant to break");
        let broken = format!("{}{to}{}", &iam_tf[..at], &iam_tf[at + from.len()..]);
        let path = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("iam-broken-{}.tf", document.trim_matches('"')));
        std::fs::write(&path, broken).unwrap();
        let grants = granted_on(&["--iam-tf", path.to_str().unwrap(), "--iam-tf", &lock_tf]);
        let problems = grant_problems(&made, &grants);
        assert!(
            problems.iter().any(|p| p.starts_with(expected)),
            "{expected:?} not among {problems:#?}"
        );
        std::fs::remove_file(&path).unwrap();
    }
}

/// `pattern` as IAM's StringLike reads it: `*` any run of characters, `?` one.
fn string_like(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    // matches[i][j]: p[..i] matches v[..j].
    let mut matches = vec![vec![false; v.len() + 1]; p.len() + 1];
    matches[0][0] = true;
    for i in 1..=p.len() {
        matches[i][0] = matches[i - 1][0] && p[i - 1] == '*';
        for j in 1..=v.len() {
            matches[i][j] = match p[i - 1] {
                '*' => matches[i - 1][j] || matches[i][j - 1],
                '?' => matches[i - 1][j - 1],
                c => matches[i - 1][j - 1] && c == v[j - 1],
            };
        }
    }
    matches[p.len()][v.len()]
}

/// The tag RunTask sends (the request body as the SDK serialized it, captured before
/// transmission) satisfies the StopTask condition in the Terraform, for both functions that
/// stop tasks: same tag key, a value of the condition's shape. Without it stop-task and
/// acquire-lock could not stop the migrations run-task starts.
#[tokio::test(flavor = "multi_thread")]
async fn run_tasks_tag_on_the_wire_satisfies_the_stop_task_condition() {
    let request = validated_request().await;
    let call =
        json!({"state": {"request": request, "lock": held_lock()}, "execution_id": EXECUTION_ARN});
    let recorder =
        recorded_with_lock(Step::RunTask, vec![call], held_by(EXECUTION_ARN, None)).await;
    let bodies = recorder.1.lock().unwrap().clone();
    let (_, body) = bodies
        .iter()
        .find(|(action, _)| action == "ecs:RunTask")
        .expect("a RunTask request on the wire");
    let sent: Value = serde_json::from_slice(body).expect("RunTask's body is JSON");
    let tags: Vec<(String, String)> = sent["tags"]
        .as_array()
        .expect("RunTask sends tags")
        .iter()
        .map(|t| {
            (
                t["key"].as_str().unwrap().to_string(),
                t["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let grants = granted_on(&[]);
    for function in ["stop-task", "acquire-lock"] {
        let statements = grants[function]["ecs:StopTask"]
            .as_array()
            .expect("a StopTask grant");
        for st in statements {
            let tag_conditions: Vec<&Value> = st["conditions"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| {
                    let key = c["variable"].as_str().unwrap_or_default();
                    key.starts_with("aws:ResourceTag/") || key.starts_with("ecs:ResourceTag/")
                })
                .collect();
            assert!(
                !tag_conditions.is_empty(),
                "{function}: StopTask without a tag condition"
            );
            for c in tag_conditions {
                let key = c["variable"].as_str().unwrap().split_once('/').unwrap().1;
                let test = c["test"].as_str().unwrap();
                let patterns: Vec<&str> = c["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                let value = tags
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, v)| v.as_str())
                    .unwrap_or_else(|| panic!("RunTask sends no tag {key}: {tags:?}"));
                let ok = patterns.iter().any(|p| match test {
                    "StringLike" => string_like(p, value),
                    "StringEquals" => *p == value,
                    other => panic!("{function}: unexpected condition operator {other}"),
                });
                assert!(
                    ok,
                    "{function}: tag {key}={value} does not satisfy {test} {patterns:?}"
                );
            }
        }
    }
    // The matcher itself tells a value of another shape apart.
    assert!(string_like("ecs-migrate/*", "ecs-migrate/0123"));
    assert!(!string_like("ecs-migrate/*", "ecs-migrate:0123"));
    assert!(!string_like("ecs-migrate/?", "ecs-migrate/"));
}

/// The reconciler's calls (issue 19), on its longest path: a RUNNING task of an ended execution
/// (stopped), that execution's lock (released once the task is STOPPED) and the pause hook it
/// left waiting (rolled back).
async fn reconcile_actions() -> BTreeSet<String> {
    use aws_sdk_dynamodb::operation::scan::ScanOutput;
    use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
    use aws_sdk_sfn::operation::list_executions::ListExecutionsOutput;
    use ecs_migrate::migration::steps::reconcile::{reconcile, FixKind, ReconcileLimits};
    use ecs_migrate::migration::tasks::started_by_for_execution;
    let recorder = Recorder::default();
    // DescribeTasks with include=TAGS (the cluster's tasks) shows it RUNNING; the later look
    // at the recorded task, after StopTask, shows it STOPPED.
    let running = || {
        ecs::Task::builder()
            .task_arn(TASK_ARN)
            .last_status("RUNNING")
            .started_by(started_by_for_execution(ENDED_EXECUTION))
            .tags(
                ecs::Tag::builder()
                    .key("ecs-migrate:execution")
                    .value("ended")
                    .build(),
            )
            .build()
    };
    let mut ecs_rules = vec![
        mock!(EcsClient::describe_tasks)
            .match_requests(|r| !r.include().is_empty())
            .then_output(move || DescribeTasksOutput::builder().tasks(running()).build()),
        mock!(EcsClient::describe_tasks).then_output(|| {
            DescribeTasksOutput::builder()
                .tasks(stopped_task(
                    ecs::TaskStopCode::UserInitiated,
                    "stopped",
                    vec![],
                ))
                .build()
        }),
        mock!(EcsClient::list_tasks)
            .then_output(|| ListTasksOutput::builder().task_arns(TASK_ARN).build()),
        mock!(EcsClient::stop_task).then_output(|| StopTaskOutput::builder().build()),
    ];
    // DescribeServiceDeployments, ContinueServiceDeployment: the paused deployment's answers.
    ecs_rules.extend(answering_rules().into_iter().skip(6));
    let ecs_refs: Vec<&Rule> = ecs_rules.iter().collect();
    let ecs_recorder = recorder.clone();
    let ecs_client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &ecs_refs, |b| b
        .interceptor(ecs_recorder.clone()));
    let attributes = to_attributes(&held_by(ENDED_EXECUTION, Some(TASK_ARN)));
    let mut lock_rules = vec![mock!(DynamoDbClient::scan)
        .then_output(move || ScanOutput::builder().items(attributes.clone()).build())];
    lock_rules.extend(lock_rules_holding(expired_item()));
    let lock = recorded_lock_table(&lock_rules, &recorder);
    let describe = mock!(aws_sdk_sfn::Client::describe_execution).then_output(|| {
        DescribeExecutionOutput::builder()
            .execution_arn(ENDED_EXECUTION)
            .state_machine_arn(STATE_MACHINE_ARN)
            .status(aws_sdk_sfn::types::ExecutionStatus::Aborted)
            .input(hook_event("hook-event").to_string())
            .start_date(aws_sdk_sfn::primitives::DateTime::from_secs(0))
            .build()
            .unwrap()
    });
    let list = mock!(aws_sdk_sfn::Client::list_executions).then_output(|| {
        ListExecutionsOutput::builder()
            .set_executions(Some(vec![]))
            .build()
            .unwrap()
    });
    let sfn_recorder = recorder.clone();
    let executions = SdkExecutions::new(mock_client!(
        aws_sdk_sfn,
        RuleMode::MatchAny,
        &[&describe, &list],
        |b| b.interceptor(sfn_recorder.clone())
    ));
    let settings = settings_with(&[
        ("DEPLOYMENT_SERVICES", "[\"app\"]"),
        ("LOCK_TABLE", "mig-lock"),
    ]);
    let clock = VirtualClock::starting_at(t0());
    let logs = SdkLogs::new(mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        &[] as &[&Rule]
    ));
    let env = StepEnv {
        settings: &settings,
        ecs: &SdkEcs::new(ecs_client.clone()),
        logs: &logs,
        clock: &clock,
        lock: &lock,
        deployments: &SdkDeployments::new(ecs_client),
        executions: &executions,
    };
    let limits = ReconcileLimits {
        max_calls: 100,
        until: t0() + chrono::Duration::seconds(120),
        dry_run: false,
        grace: chrono::Duration::minutes(12),
    };
    let report = reconcile(&env, limits).await.expect("the reconciler run");
    let kinds: Vec<FixKind> = report.fixes.iter().map(|f| f.kind).collect();
    assert_eq!(
        kinds,
        [
            FixKind::StopTask,
            FixKind::ReleaseLock,
            FixKind::RollBackHook
        ],
        "the reconciler's longest path: {report:?}"
    );
    let calls = recorder.0.lock().unwrap().clone();
    calls
}

/// stop-task's calls for a hook execution's status-change event (issue 19 item 3): the lock's
/// scope comes from the revision the hook's deployment runs.
async fn stop_task_hook_actions() -> BTreeSet<String> {
    use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
    let recorder = Recorder::default();
    let mut ecs_rules = vec![
        mock!(EcsClient::list_tasks).then_output(|| ListTasksOutput::builder().build()),
        mock!(EcsClient::describe_tasks).then_output(|| {
            DescribeTasksOutput::builder()
                .tasks(stopped_task(
                    ecs::TaskStopCode::UserInitiated,
                    "stopped",
                    vec![],
                ))
                .build()
        }),
    ];
    // DescribeServiceDeployments, DescribeServiceRevisions.
    ecs_rules.extend(answering_rules().into_iter().skip(6).take(2));
    let ecs_refs: Vec<&Rule> = ecs_rules.iter().collect();
    let ecs_recorder = recorder.clone();
    let ecs_client = mock_client!(aws_sdk_ecs, RuleMode::MatchAny, &ecs_refs, |b| b
        .interceptor(ecs_recorder.clone()));
    let lock_rules = lock_rules_holding(held_by(ENDED_EXECUTION, Some(TASK_ARN)));
    let lock = recorded_lock_table(&lock_rules, &recorder);
    let describe = mock!(aws_sdk_sfn::Client::describe_execution).then_output(|| {
        DescribeExecutionOutput::builder()
            .execution_arn(ENDED_EXECUTION)
            .state_machine_arn(STATE_MACHINE_ARN)
            .status(aws_sdk_sfn::types::ExecutionStatus::Aborted)
            .input(hook_event("hook-event").to_string())
            .start_date(aws_sdk_sfn::primitives::DateTime::from_secs(0))
            .build()
            .unwrap()
    });
    let sfn_recorder = recorder.clone();
    let executions = SdkExecutions::new(mock_client!(
        aws_sdk_sfn,
        RuleMode::MatchAny,
        &[&describe],
        |b| b.interceptor(sfn_recorder.clone())
    ));
    let settings = settings_with(&[
        ("DEPLOYMENT_SERVICES", "[\"app\"]"),
        ("LOCK_TABLE", "mig-lock"),
    ]);
    let logs = SdkLogs::new(mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        &[] as &[&Rule]
    ));
    let clock = VirtualClock::starting_at(t0());
    let env = StepEnv {
        settings: &settings,
        ecs: &SdkEcs::new(ecs_client.clone()),
        logs: &logs,
        clock: &clock,
        lock: &lock,
        deployments: &SdkDeployments::new(ecs_client),
        executions: &executions,
    };
    let event = json!({
        "source": "aws.states", "detail-type": "Step Functions Execution Status Change",
        "detail": {"executionArn": ENDED_EXECUTION, "status": "ABORTED",
                   "stopDate": t0().timestamp_millis()}
    });
    Step::StopTask
        .run(&env, event, None)
        .await
        .expect("stop-task for the hook execution");
    let calls = recorder.0.lock().unwrap().clone();
    assert!(
        calls.contains("dynamodb:DeleteItem"),
        "the hook execution's lock was not released: {calls:?}"
    );
    calls
}
