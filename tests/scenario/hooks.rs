//! Layer 3: migrations inside an ECS deployment. The definition in the engine with the real
//! steps over the fake ECS and the deployment double (`MemoryDeployments`, as strict as the
//! API reference: one answer per waiting hook, hooks time out and take their timeout action).
//! Each scenario asserts the states, the task left running (none) and the answers ECS got.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use ecs_migrate::asl::{ExecutionResult, ExecutionStatus, Executor};
use ecs_migrate::common::clock::VirtualClock;
use ecs_migrate::ports::deployments::{
    DeploymentCall, Deployments, HookAction, HookState, MemoryDeployments, PinnedImage,
    RecordedAnswer, ServiceDeployment, ServiceRevision, HOOK_AWAITING_ACTION,
};
use ecs_migrate::ports::lock::{Expected, LockItem, LockTable, MemoryLockTable};
use ecs_migrate::ports::AwsError;
use ecs_migrate::statemachine::error_message;
use serde_json::{json, Value};

use crate::fake_ecs::{FakeEcs, Script};
use crate::fixtures::{
    hook_event, settings_with, t0, CLUSTER_ARN, CONTAINER, DEPLOYMENT_ARN, HOOK_ID, IMAGE_DIGEST,
    REVISION_ARN, SERVICE_ARN, TASKDEF_ARN,
};
use crate::scenarios::{definition, steps};

/// The deployment paused at PRE_SCALE_UP, its hook expiring `expires_in` seconds after t0 with
/// ROLLBACK as its timeout action.
pub(crate) fn paused_deployment(
    clock: Arc<VirtualClock>,
    expires_in: i64,
) -> Arc<MemoryDeployments> {
    let deployments = MemoryDeployments::with_clock(clock);
    deployments.add_deployment(ServiceDeployment {
        arn: DEPLOYMENT_ARN.into(),
        service_arn: Some(SERVICE_ARN.into()),
        cluster_arn: Some(CLUSTER_ARN.into()),
        status: "IN_PROGRESS".into(),
        status_reason: None,
        target_revision_arn: Some(REVISION_ARN.into()),
        lifecycle_stage: None,
        hooks: vec![HookState {
            hook_id: HOOK_ID.into(),
            target_type: Some("PAUSE".into()),
            status: HOOK_AWAITING_ACTION.into(),
            expires_at: Some(t0() + chrono::Duration::seconds(expires_in)),
            timeout_action: Some(HookAction::Rollback),
        }],
    });
    deployments.add_revision(ServiceRevision {
        arn: REVISION_ARN.into(),
        task_definition: TASKDEF_ARN.into(),
        images: vec![PinnedImage {
            container: CONTAINER.into(),
            image: Some("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:latest".into()),
            digest: Some(IMAGE_DIGEST.into()),
        }],
    });
    Arc::new(deployments)
}

struct HookRun {
    results: Vec<ExecutionResult>,
    fake: Arc<FakeEcs>,
    deployments: Arc<MemoryDeployments>,
}

impl HookRun {
    fn last(&self) -> &ExecutionResult {
        self.results.last().expect("one execution at least")
    }

    fn visited(&self) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        for event in &self.last().history {
            if event.event_type.as_str().ends_with("StateEntered") {
                let name = event.state_name().unwrap_or_default().to_string();
                if !seen.contains(&name) {
                    seen.push(name);
                }
            }
        }
        seen
    }

    fn actions(&self) -> Vec<HookAction> {
        self.deployments
            .answers()
            .into_iter()
            .map(|RecordedAnswer { action, .. }| action)
            .collect()
    }

    fn assert_failed(&self, error: &str, fragment: &str) {
        let result = self.last();
        assert_eq!(
            result.status,
            ExecutionStatus::Failed,
            "{:?}",
            result.to_json(false)
        );
        assert_eq!(result.error.as_deref(), Some(error), "{:?}", result.cause);
        let cause = error_message(result.cause.as_deref().unwrap_or_default());
        assert!(cause.contains(fragment), "{cause:?} lacks {fragment:?}");
    }

    fn assert_nothing_running(&self) {
        assert_eq!(self.fake.running_tasks(), Vec::<String>::new());
    }
}

/// Runs one execution per delivery of the hook event, one after the other.
async fn run(
    script: Script,
    settings: &[(&str, &str)],
    expires_in: i64,
    deliveries: &[&str],
) -> HookRun {
    let inputs: Vec<Value> = deliveries.iter().map(|id| hook_event(id)).collect();
    run_inputs(script, settings, expires_in, inputs).await
}

/// Runs one execution per input, one after the other.
async fn run_inputs(
    script: Script,
    settings: &[(&str, &str)],
    expires_in: i64,
    inputs: Vec<Value>,
) -> HookRun {
    run_faulty(script, settings, expires_in, inputs, Faults::default()).await
}

/// What the deployment calls and the lock table do besides what the double says.
#[derive(Default)]
struct Faults {
    /// DescribeServiceDeployments fails this way for its first `.1` calls.
    describe_deployment: Option<(AwsError, usize)>,
    /// DescribeServiceRevisions always fails this way.
    describe_revision: Option<AwsError>,
    /// Another execution holds the migration lock.
    locked_by: Option<LockItem>,
}

/// The deployment double with [`Faults`] in front.
struct FaultyDeployments {
    inner: Arc<MemoryDeployments>,
    describe_deployment: Mutex<Option<(AwsError, usize)>>,
    describe_revision: Option<AwsError>,
}

#[async_trait]
impl Deployments for FaultyDeployments {
    async fn describe_deployment(&self, arn: &str) -> Result<Option<ServiceDeployment>, AwsError> {
        if let Some((err, left)) = self.describe_deployment.lock().unwrap().as_mut() {
            if *left > 0 {
                *left -= 1;
                return Err(err.clone());
            }
        }
        self.inner.describe_deployment(arn).await
    }

    async fn describe_revision(&self, arn: &str) -> Result<Option<ServiceRevision>, AwsError> {
        match &self.describe_revision {
            Some(err) => Err(err.clone()),
            None => self.inner.describe_revision(arn).await,
        }
    }

    async fn continue_deployment(
        &self,
        arn: &str,
        hook_id: &str,
        action: HookAction,
    ) -> Result<(), AwsError> {
        self.inner.continue_deployment(arn, hook_id, action).await
    }
}

/// [`run_inputs`] with faults.
async fn run_faulty(
    script: Script,
    settings: &[(&str, &str)],
    expires_in: i64,
    inputs: Vec<Value>,
    faults: Faults,
) -> HookRun {
    let clock = Arc::new(VirtualClock::starting_at(t0()));
    let fake = FakeEcs::new(clock.clone(), script);
    let deployments = paused_deployment(clock.clone(), expires_in);
    let faulty: Arc<dyn Deployments> = Arc::new(FaultyDeployments {
        inner: deployments.clone(),
        describe_deployment: Mutex::new(faults.describe_deployment),
        describe_revision: faults.describe_revision,
    });
    let mut all: Vec<(&str, &str)> = vec![("DEPLOYMENT_SERVICES", "[\"app\"]")];
    all.extend_from_slice(settings);
    let settings = settings_with(&all);
    let lock = MemoryLockTable::new();
    if let Some(item) = &faults.locked_by {
        assert!(lock.put(item, Expected::Free).await.unwrap());
    }
    let mut results = Vec::new();
    for (n, input) in inputs.into_iter().enumerate() {
        let steps = steps(settings.clone(), fake.clone(), clock.clone(), &lock)
            .with_deployments(faulty.clone());
        let result = Executor::new(definition(), Arc::new(steps), clock.clone())
            .with_execution_name(format!("hook-delivery-{n}"))
            .run_to_completion(input)
            .await;
        results.push(result);
    }
    HookRun {
        results,
        fake,
        deployments,
    }
}

const ONE_DAY: i64 = 24 * 3600;

#[tokio::test]
async fn a_successful_migration_continues_the_deployment_once() {
    let run = run(Script::default(), &[], ONE_DAY, &["e-1"]).await;
    let result = run.last();
    assert_eq!(
        result.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        result.to_json(false)
    );
    assert_eq!(
        run.visited(),
        [
            "ValidateEvent",
            "AcquireLock",
            "LockTaken",
            "RunTask",
            "TaskStarted",
            "PollStatus",
            "IsTaskStopped",
            "CheckExitCode",
            "ReleaseLock",
            "FromDeployment",
            "ContinueDeployment",
            "MigrationSucceeded"
        ]
    );
    assert_eq!(run.actions(), [HookAction::Continue]);
    let output = result.output.clone().unwrap();
    assert_eq!(output["hook_answer"]["answered"], true);
    assert_eq!(output["request"]["deployment"]["hook_id"], HOOK_ID);
    assert_eq!(
        output["request"]["deployment"]["images"][0]["digest"],
        IMAGE_DIGEST
    );
    assert_eq!(run.fake.tasks_started(), 1);
    run.assert_nothing_running();
}

#[tokio::test]
async fn a_failed_migration_stops_its_task_then_rolls_the_deployment_back() {
    let run = run(
        Script {
            exit_code: 3,
            ..Script::default()
        },
        &[],
        ONE_DAY,
        &["e-1"],
    )
    .await;
    // The Fail state keeps the migration's Error and Cause, not the hook's.
    run.assert_failed("Migration.NonZeroExit", "exit code 3");
    let visited = run.visited();
    let stop = visited
        .iter()
        .position(|s| s == "StopTask")
        .expect("StopTask");
    let rollback = visited
        .iter()
        .position(|s| s == "RollBackDeployment")
        .expect("RollBackDeployment");
    assert!(stop < rollback, "{visited:?}");
    assert!(!visited.contains(&"ContinueDeployment".to_string()));
    assert_eq!(run.actions(), [HookAction::Rollback]);
    run.assert_nothing_running();
}

#[tokio::test]
async fn a_migration_past_its_deadline_rolls_the_deployment_back() {
    let run = run(
        Script {
            running: 3 * 3600,
            ..Script::default()
        },
        &[("MAX_DURATION_SECONDS", "1800")],
        ONE_DAY,
        &["e-1"],
    )
    .await;
    run.assert_failed("Migration.Timeout", "MAX_DURATION_SECONDS");
    assert!(run.visited().contains(&"TaskOverdue".to_string()));
    assert_eq!(run.actions(), [HookAction::Rollback]);
    run.assert_nothing_running();
}

/// EventBridge delivers at least once: a redelivery while the deployment still goes on after
/// the answer (its later stages take minutes) finds the hook SUCCEEDED and ends at
/// DuplicateEvent; one task runs, ECS hears once. After the deployment finished, see
/// `a_hook_event_redelivered_after_the_deployment_finished_fails_by_name`.
#[tokio::test]
async fn a_redelivered_hook_event_runs_one_task_and_answers_once() {
    for ids in [["e-1", "e-1"], ["e-1", "e-2"]] {
        let run = run(Script::default(), &[], ONE_DAY, &ids).await;
        assert_eq!(run.results[0].status, ExecutionStatus::Succeeded);
        let second = run.last();
        assert_eq!(
            second.status,
            ExecutionStatus::Succeeded,
            "{:?}",
            second.to_json(false)
        );
        assert_eq!(
            run.visited().last().map(String::as_str),
            Some("DuplicateEvent")
        );
        assert_eq!(run.fake.tasks_started(), 1, "{ids:?}");
        assert_eq!(run.actions(), [HookAction::Continue], "{ids:?}");
    }
}

/// The hook expires (ROLLBACK timeout action) while the migration runs: the success cannot be
/// told to ECS, and the execution says so with a named error.
#[tokio::test]
async fn a_hook_that_timed_out_meanwhile_fails_the_execution_by_name() {
    let run = run(Script::default(), &[], 30, &["e-1"]).await;
    run.assert_failed(
        "Migration.HookNotAwaiting",
        "the migration succeeded, but hook",
    );
    let cause = error_message(run.last().cause.as_deref().unwrap_or_default());
    assert!(cause.contains("TIMED_OUT"), "{cause}");
    assert!(run.visited().contains(&"ContinueDeployment".to_string()));
    assert_eq!(run.actions(), Vec::<HookAction>::new());
    run.assert_nothing_running();

    // The same after a failed migration: nothing is left to roll back, and the Error is still
    // the migration's.
    let failed = self::run(
        Script {
            exit_code: 1,
            ..Script::default()
        },
        &[],
        30,
        &["e-1"],
    )
    .await;
    failed.assert_failed("Migration.NonZeroExit", "exit code 1");
    // RollBackDeployment answered (nothing to do) rather than failing into RollBackFailed.
    assert!(failed.visited().contains(&"RollBackDeployment".to_string()));
    assert!(!failed.visited().contains(&"RollBackFailed".to_string()));
    assert_eq!(failed.actions(), Vec::<HookAction>::new());
}

/// A hook event that arrives after the hook expired starts no task.
#[tokio::test]
async fn a_hook_event_that_arrives_late_starts_nothing() {
    let run = run(Script::default(), &[], -60, &["e-1"]).await;
    run.assert_failed("Migration.HookNotAwaiting", "ROLLBACK_IN_PROGRESS");
    assert_eq!(run.fake.tasks_started(), 0);
    assert_eq!(run.actions(), Vec::<HookAction>::new());
}

/// The deployment-hook function starts the execution with ECS's Lambda hook payload: the
/// migration runs for the target revision, and the function's own answer (not
/// ContinueServiceDeployment) tells ECS, so the state machine answers nothing.
#[tokio::test]
async fn a_lambda_hook_payload_migrates_without_answering_through_the_api() {
    let payload = json!({
        "executionId": HOOK_ID, "lifecycleStage": "PRE_SCALE_UP", "resourceArn": DEPLOYMENT_ARN,
        "executionDetails": {"serviceArn": SERVICE_ARN, "targetServiceRevisionArn": REVISION_ARN,
                             "testTrafficWeights": {}, "productionTrafficWeights": {}}
    });
    let run = run_inputs(Script::default(), &[], ONE_DAY, vec![payload]).await;
    let result = run.last();
    assert_eq!(
        result.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        result.to_json(false)
    );
    assert_eq!(
        result.output.clone().unwrap()["request"]["deployment"]["hook_type"],
        "AWS_LAMBDA"
    );
    let visited = run.visited();
    assert!(visited.contains(&"FromDeployment".to_string()));
    assert!(!visited.contains(&"ContinueDeployment".to_string()));
    assert_eq!(run.actions(), Vec::<HookAction>::new());
    assert_eq!(run.fake.tasks_started(), 1);
}

/// "A pause hook gets no answer when ValidateEvent fails": a hook event of a configured
/// service that fails validation (a family not allowed, a stage not configured) ends with
/// exactly one ROLLBACK, and no task.
#[tokio::test]
async fn a_hook_event_that_fails_validation_is_rolled_back_once() {
    for (settings, error) in [
        (
            &[("ALLOWED_FAMILIES", "[\"worker\"]")][..],
            "Migration.NotAllowed",
        ),
        (
            &[("DEPLOYMENT_HOOK_STAGES", "[\"POST_SCALE_UP\"]")][..],
            "Migration.NotAllowed",
        ),
    ] {
        let run = run(Script::default(), settings, ONE_DAY, &["e-1"]).await;
        run.assert_failed(error, "");
        assert!(
            run.visited().contains(&"RollBackInvalidInput".to_string()),
            "{:?}",
            run.visited()
        );
        assert_eq!(run.actions(), vec![HookAction::Rollback], "{settings:?}");
        assert_eq!(run.fake.tasks_started(), 0);
    }
}

/// A hook event of a service not configured gets no answer from here (it is not ours).
#[tokio::test]
async fn a_hook_event_of_another_service_is_not_answered() {
    let run = run(
        Script::default(),
        &[("DEPLOYMENT_SERVICES", "[\"billing\"]")],
        ONE_DAY,
        &["e-1"],
    )
    .await;
    run.assert_failed("Migration.NotAllowed", "");
    assert_eq!(run.actions(), Vec::<HookAction>::new());
}

/// Whether the module's failed-executions alarm would fire for this execution.
fn fires_alarm(result: &ExecutionResult) -> bool {
    matches!(
        result.status,
        ExecutionStatus::Failed | ExecutionStatus::TimedOut
    )
}

/// Like [`run`], with the deployment double prepared by `prepare` (faults to inject) and the
/// clock moved on by `gap` before each delivery after the first.
async fn run_prepared(
    prepare: impl Fn(&MemoryDeployments),
    gap: std::time::Duration,
    inputs: Vec<Value>,
) -> HookRun {
    let clock = Arc::new(VirtualClock::starting_at(t0()));
    let fake = FakeEcs::new(clock.clone(), Script::default());
    let deployments = paused_deployment(clock.clone(), ONE_DAY);
    prepare(&deployments);
    let settings = settings_with(&[("DEPLOYMENT_SERVICES", "[\"app\"]")]);
    let lock = MemoryLockTable::new();
    let mut results = Vec::new();
    for (n, input) in inputs.into_iter().enumerate() {
        if n > 0 {
            clock.advance(gap);
        }
        let steps = steps(settings.clone(), fake.clone(), clock.clone(), &lock)
            .with_deployments(deployments.clone());
        let result = Executor::new(definition(), Arc::new(steps), clock.clone())
            .with_execution_name(format!("hook-delivery-{n}"))
            .run_to_completion(input)
            .await;
        results.push(result);
    }
    HookRun {
        results,
        fake,
        deployments,
    }
}

/// After CONTINUE the deployment goes on and ends SUCCESSFUL. A redelivery that arrives after
/// that finds no hook waiting: on AWS it fails with `Migration.HookNotAwaiting` at
/// ValidateEvent (starting no task, answering nothing) and the failed-executions alarm fires.
#[tokio::test]
async fn a_hook_event_redelivered_after_the_deployment_finished_fails_by_name() {
    let ten_minutes = std::time::Duration::from_secs(600);
    for ids in [["e-1", "e-1"], ["e-1", "e-2"]] {
        let inputs = ids.iter().map(|id| hook_event(id)).collect();
        let run = run_prepared(|_| {}, ten_minutes, inputs).await;
        assert_eq!(run.results[0].status, ExecutionStatus::Succeeded);
        assert!(!fires_alarm(&run.results[0]));
        run.assert_failed("Migration.HookNotAwaiting", "is already SUCCESSFUL");
        // RollBackInvalidInput finds nothing waiting and answers nothing.
        assert_eq!(
            run.visited(),
            [
                "ValidateEvent",
                "InvalidInput",
                "HookAwaitsAnswer",
                "RollBackInvalidInput",
                "MigrationFailed"
            ]
        );
        assert!(fires_alarm(run.last()), "{ids:?}");
        assert_eq!(run.fake.tasks_started(), 1, "{ids:?}");
        assert_eq!(run.actions(), [HookAction::Continue], "{ids:?}");
    }
}

/// DescribeServiceDeployments throttled once: ValidateEvent's retry gets through. Refused
/// (AccessDenied): the execution fails naming the grant, and no task runs.
#[tokio::test]
async fn a_throttled_or_refused_deployment_describe_is_retried_or_named() {
    let run = run_prepared(
        |d| d.fail_next(DeploymentCall::DescribeDeployment, "ThrottlingException"),
        std::time::Duration::ZERO,
        vec![hook_event("e-1")],
    )
    .await;
    assert_eq!(run.last().status, ExecutionStatus::Succeeded);
    assert_eq!(run.actions(), [HookAction::Continue]);

    let run = run_prepared(
        |d| d.fail_next(DeploymentCall::DescribeDeployment, "AccessDeniedException"),
        std::time::Duration::ZERO,
        vec![hook_event("e-1")],
    )
    .await;
    run.assert_failed("Migration.Misconfigured", "ecs:DescribeServiceDeployments");
    assert_eq!(run.fake.tasks_started(), 0);
}

/// A hook event naming a malformed deployment ARN: DescribeServiceDeployments refuses it
/// (InvalidParameterException) and no task runs.
#[tokio::test]
async fn a_malformed_deployment_arn_starts_nothing() {
    let mut event = hook_event("e-1");
    event["detail"]["serviceDeploymentArn"] =
        json!("arn:aws:ecs:eu-west-1:123456789012:service-deployment/app");
    let run = run_prepared(|_| {}, std::time::Duration::ZERO, vec![event]).await;
    assert_eq!(run.last().status, ExecutionStatus::Failed);
    let cause = error_message(run.last().cause.as_deref().unwrap_or_default());
    assert!(cause.contains("InvalidParameterException"), "{cause}");
    assert_eq!(run.fake.tasks_started(), 0);
    assert_eq!(run.actions(), Vec::<HookAction>::new());
}

/// ContinueServiceDeployment refused (AccessDenied) after a successful migration: the execution
/// fails naming the grant. Its reply lost after ECS acted: the retry finds the hook SUCCEEDED
/// and the execution succeeds with one answer.
#[tokio::test]
async fn a_refused_or_lost_answer_to_the_hook_is_named_or_recovered() {
    let run = run_prepared(
        |d| d.fail_next(DeploymentCall::Continue, "AccessDeniedException"),
        std::time::Duration::ZERO,
        vec![hook_event("e-1")],
    )
    .await;
    run.assert_failed("Migration.Misconfigured", "ecs:ContinueServiceDeployment");
    assert_eq!(run.actions(), Vec::<HookAction>::new());
    run.assert_nothing_running();

    let run = run_prepared(
        |d| d.lose_next_answer(),
        std::time::Duration::ZERO,
        vec![hook_event("e-1")],
    )
    .await;
    let result = run.last();
    assert_eq!(
        result.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        result.to_json(false)
    );
    assert_eq!(run.actions(), [HookAction::Continue]);
    assert_eq!(
        result.output.clone().unwrap()["hook_answer"]["answered"],
        false
    );
}

/// "Every waiting hook gets an answer" (issue 18, item 6): a hook event that fails before the
/// migration runs, for each class of failure, ends with exactly one ROLLBACK and no task.
async fn assert_rolled_back_once(run: &HookRun, error: &str, fragment: &str, rollback_state: &str) {
    run.assert_failed(error, fragment);
    let visited = run.visited();
    assert!(visited.contains(&rollback_state.to_string()), "{visited:?}");
    assert!(
        !visited.contains(&"RollBackFailed".to_string()),
        "{visited:?}"
    );
    assert_eq!(run.actions(), vec![HookAction::Rollback], "{error}");
    assert_eq!(run.fake.tasks_started(), 0, "{error}");
}

fn denied(operation: &'static str) -> AwsError {
    AwsError::permanent(
        operation,
        Some("AccessDeniedException"),
        format!("User is not authorized to perform: {operation}"),
    )
}

/// validate-event's role may not describe the deployment (its first DescribeServiceDeployments
/// is refused; report-deployment's role may), or the revision.
#[tokio::test]
async fn access_denied_before_the_migration_rolls_the_hook_back_once() {
    let on_deployment = Faults {
        describe_deployment: Some((denied("ecs:DescribeServiceDeployments"), 1)),
        ..Faults::default()
    };
    let on_revision = Faults {
        describe_revision: Some(denied("ecs:DescribeServiceRevisions")),
        ..Faults::default()
    };
    for (faults, operation) in [
        (on_deployment, "DescribeServiceDeployments"),
        (on_revision, "DescribeServiceRevisions"),
    ] {
        let inputs = vec![hook_event("e-1")];
        let run = run_faulty(Script::default(), &[], ONE_DAY, inputs, faults).await;
        assert_rolled_back_once(
            &run,
            "Migration.Misconfigured",
            operation,
            "RollBackInvalidInput",
        )
        .await;
    }
}

/// A history that cannot fit Step Functions' limit fails validate-event before any AWS call.
#[tokio::test]
async fn a_history_over_budget_rolls_the_hook_back_once() {
    let settings = [
        ("MAX_DURATION_SECONDS", "2592000"),
        ("POLL_MAX_WAIT_SECONDS", "10"),
    ];
    let run = run(Script::default(), &settings, ONE_DAY, &["e-1"]).await;
    assert_rolled_back_once(
        &run,
        "Migration.Misconfigured",
        "cannot be tracked",
        "RollBackInvalidInput",
    )
    .await;
}

/// Transient errors until validate-event's retries (MaxAttempts 6) are used up.
#[tokio::test]
async fn transient_errors_exhausted_roll_the_hook_back_once() {
    let throttled = AwsError {
        operation: "ecs:DescribeServiceRevisions",
        code: Some("ThrottlingException".into()),
        message: "Rate exceeded".into(),
        transient: true,
    };
    let faults = Faults {
        describe_revision: Some(throttled),
        ..Faults::default()
    };
    let run = run_faulty(
        Script::default(),
        &[],
        ONE_DAY,
        vec![hook_event("e-1")],
        faults,
    )
    .await;
    assert_rolled_back_once(
        &run,
        "Migration.AwsTransient",
        "Rate exceeded",
        "RollBackInvalidInput",
    )
    .await;
    let validations = run
        .last()
        .history
        .iter()
        .filter(|e| {
            e.event_type.as_str() == "TaskStateEntered" && e.state_name() == Some("ValidateEvent")
        })
        .count();
    assert_eq!(validations, 1, "one state entry, its retries inside it");
}

/// Another execution holds the migration lock for longer than LOCK_WAIT_SECONDS.
#[tokio::test]
async fn migration_locked_rolls_the_hook_back_once() {
    let holder = "arn:aws:states:eu-west-1:123456789012:execution:ecs-migrate:other";
    let item = LockItem {
        scope: "app".into(),
        holder: holder.into(),
        execution_name: Some("other".into()),
        client_token: "another-event".into(),
        taskdef_arn: TASKDEF_ARN.into(),
        family: "app".into(),
        revision: 42,
        cluster: "prod".into(),
        started_by: "ecs-migrate/other".into(),
        task_arn: None,
        since: t0(),
        lease_until: t0() + chrono::Duration::days(1),
    };
    let faults = Faults {
        locked_by: Some(item),
        ..Faults::default()
    };
    let settings = [("LOCK_WAIT_SECONDS", "60")];
    let run = run_faulty(
        Script::default(),
        &settings,
        ONE_DAY,
        vec![hook_event("e-1")],
        faults,
    )
    .await;
    assert_rolled_back_once(
        &run,
        "Migration.Locked",
        "held by app:42",
        "RollBackDeployment",
    )
    .await;
}
