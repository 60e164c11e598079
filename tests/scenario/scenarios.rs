//! Layer 3: statemachine/migration.asl.json in the engine with the real steps, over a stateful
//! fake ECS on virtual time. Each scenario asserts the final Error/Cause, the states visited,
//! that no task is left running, and the history's event count.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ecs_migrate::asl::{
    Definition, EventType, ExecutionResult, ExecutionStatus, Executor, SeededRandom, TaskCall,
    TaskFailure, TaskInvoker,
};
use ecs_migrate::clock::{Clock, VirtualClock};
use ecs_migrate::machine::{budget, error_message, FunctionArns, Step, StepBinding};
use ecs_migrate::settings::Settings;
use ecs_migrate::steps::StepEnv;
use serde_json::{json, Value};

use crate::fake_ecs::{self, FakeEcs, Script};
use crate::fixtures::{settings_with, t0};

/// The function ARNs this test deploys the definition with.
fn function_arns() -> FunctionArns {
    FunctionArns::new("eu-west-1", "123456789012", "ecs-migrate-")
}

/// The definition as Terraform renders it, with this test's function ARNs.
fn definition() -> Definition {
    Definition::parse(&serde_json::from_str(&function_arns().render()).unwrap()).unwrap()
}

/// The five steps bound to a fake ECS, as `ecs-migrate local` binds them to its runner.
fn steps(settings: Settings, fake: Arc<FakeEcs>, clock: Arc<VirtualClock>) -> StepBinding {
    StepBinding::new(function_arns(), settings, fake.clone(), fake, clock)
}

/// Fails the first `failures` calls to `state` with a Lambda service error, then delegates.
struct FlakyLambda {
    inner: StepBinding,
    state: &'static str,
    failures: usize,
    calls: AtomicUsize,
}

#[async_trait]
impl TaskInvoker for FlakyLambda {
    async fn invoke(&self, call: TaskCall) -> Result<Value, TaskFailure> {
        if call.state_name == self.state
            && self.calls.fetch_add(1, Ordering::SeqCst) < self.failures
        {
            return Err(TaskFailure::new(
                "Lambda.ServiceException",
                "Lambda was unable to process the request",
            ));
        }
        self.inner.invoke(call).await
    }
}

struct Run {
    result: ExecutionResult,
    fake: Arc<FakeEcs>,
}

impl Run {
    /// State names in the order first entered.
    fn visited(&self) -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        for event in &self.result.history {
            if event.event_type.as_str().ends_with("StateEntered") {
                let name = event.state_name().unwrap_or_default().to_string();
                if !seen.contains(&name) {
                    seen.push(name);
                }
            }
        }
        seen
    }

    fn entered(&self, state: &str) -> usize {
        self.result
            .history
            .iter()
            .filter(|e| {
                e.event_type.as_str().ends_with("StateEntered") && e.state_name() == Some(state)
            })
            .count()
    }

    fn count(&self, event_type: EventType) -> usize {
        self.result
            .event_counts()
            .get(&event_type)
            .copied()
            .unwrap_or(0)
    }

    fn assert_failed(&self, error: &str, cause_fragments: &[&str]) {
        assert_eq!(
            self.result.status,
            ExecutionStatus::Failed,
            "{:?}",
            self.result.to_json(false)
        );
        assert_eq!(
            self.result.error.as_deref(),
            Some(error),
            "{:?}",
            self.result.cause
        );
        // A step's Cause is Lambda's error document; read its message as the console shows it.
        let cause = error_message(self.result.cause.as_deref().unwrap_or_default());
        for fragment in cause_fragments {
            assert!(
                cause.contains(fragment),
                "cause {cause:?} lacks {fragment:?}"
            );
        }
    }

    fn assert_nothing_running(&self) {
        assert_eq!(
            self.fake.running_tasks(),
            Vec::<String>::new(),
            "a task was left running"
        );
    }
}

struct Scenario {
    script: Script,
    settings: Vec<(&'static str, &'static str)>,
    flaky: Option<(&'static str, usize)>,
}

impl Scenario {
    fn new(script: Script) -> Self {
        Self {
            script,
            settings: vec![],
            flaky: None,
        }
    }

    fn setting(mut self, name: &'static str, value: &'static str) -> Self {
        self.settings.push((name, value));
        self
    }

    async fn run(self, input: Value) -> Run {
        let clock = Arc::new(VirtualClock::starting_at(t0()));
        let fake = FakeEcs::new(clock.clone(), self.script);
        let registry = steps(settings_with(&self.settings), fake.clone(), clock.clone());
        let invoker: Arc<dyn TaskInvoker> = match self.flaky {
            Some((state, failures)) => Arc::new(FlakyLambda {
                inner: registry,
                state,
                failures,
                calls: AtomicUsize::new(0),
            }),
            None => Arc::new(registry),
        };
        let result = Executor::new(definition(), invoker, clock.clone())
            .with_execution_name("app-42-20261125T120000Z")
            .with_state_machine_name("ecs-migrate")
            .with_account("eu-west-1", "123456789012")
            .with_random(Arc::new(SeededRandom::new(7)))
            .run_to_completion(input)
            .await;
        Run { result, fake }
    }
}

fn bare() -> Value {
    json!({"taskdef_arn": "app:42"})
}

const HAPPY_PATH: [&str; 6] = [
    "ValidateEvent",
    "RunTask",
    "PollStatus",
    "IsTaskStopped",
    "CheckExitCode",
    "MigrationSucceeded",
];

#[tokio::test]
async fn success() {
    let run = Scenario::new(Script::default()).run(bare()).await;
    assert_eq!(
        run.result.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        run.result.to_json(false)
    );
    assert_eq!(run.visited(), HAPPY_PATH);
    let output = run.result.output.clone().unwrap();
    assert_eq!(output["result"]["exit_code"], 0);
    assert_eq!(output["request"]["taskdef_arn"], fake_ecs::TASKDEF_ARN);
    run.assert_nothing_running();
    assert_eq!(run.fake.tasks_started(), 1);
    // 80 s of task (20 provisioning + 60 running): one PollStatus round, well inside 600 s.
    assert_eq!(run.entered("PollStatus"), 1);
    // Start + 4 Lambda task states of 5 events + Choice 2 + Succeed 2 + end.
    assert_eq!(run.result.history.len(), 1 + 4 * 5 + 2 + 2 + 1);
    // Detection: the execution ends within one poll interval of the task stopping.
    let stopped = t0() + chrono::Duration::seconds(80);
    let finished = run.result.history.last().unwrap().timestamp;
    assert!(
        finished - stopped <= chrono::Duration::seconds(5),
        "{finished} vs {stopped}"
    );
}

#[tokio::test]
async fn capacity_failure_retried_then_succeeding() {
    let run = Scenario::new(Script {
        capacity_failures: 2,
        ..Script::default()
    })
    .run(bare())
    .await;
    assert_eq!(run.result.status, ExecutionStatus::Succeeded);
    assert_eq!(run.visited(), HAPPY_PATH);
    assert_eq!(run.count(EventType::LambdaFunctionFailed), 2);
    assert_eq!(run.fake.tasks_started(), 1);
    run.assert_nothing_running();
    assert_eq!(run.result.history.len(), 1 + 4 * 5 + 2 * 3 + 2 + 2 + 1);
}

#[tokio::test]
async fn capacity_unavailable_for_good() {
    let run = Scenario::new(Script {
        capacity_failures: 100,
        ..Script::default()
    })
    .run(bare())
    .await;
    run.assert_failed("Migration.CapacityUnavailable", &["RESOURCE:MEMORY"]);
    assert_eq!(
        run.visited(),
        ["ValidateEvent", "RunTask", "StopTask", "MigrationFailed"]
    );
    // One attempt and six retries, each recorded as a failed Lambda invocation.
    assert_eq!(run.count(EventType::LambdaFunctionFailed), 7);
    assert_eq!(run.fake.tasks_started(), 0);
    run.assert_nothing_running();
    // Capped backoff: 10, 20, 40, 80, 120, 120 s at most, with full jitter.
    let elapsed = run.result.history.last().unwrap().timestamp - t0();
    assert!(elapsed <= chrono::Duration::seconds(390), "{elapsed}");
}

#[tokio::test]
async fn failed_to_start() {
    let run = Scenario::new(Script {
        failed_to_start: Some("CannotPullContainerError: pull access denied for app".into()),
        provisioning: Some(30),
        ..Script::default()
    })
    .run(bare())
    .await;
    run.assert_failed(
        "Migration.TaskFailedToStart",
        &["CannotPullContainerError", "stop code TaskFailedToStart"],
    );
    assert_eq!(
        run.visited(),
        [
            "ValidateEvent",
            "RunTask",
            "PollStatus",
            "IsTaskStopped",
            "CheckExitCode",
            "StopTask",
            "MigrationFailed"
        ]
    );
    run.assert_nothing_running();
}

#[tokio::test]
async fn non_zero_exit_carries_the_log_tail() {
    let run = Scenario::new(Script {
        exit_code: 1,
        log: (1..=8).map(|i| format!("log line {i}")).collect(),
        ..Script::default()
    })
    .run(bare())
    .await;
    // LOG_TAIL_LINES is 5 in the fixture settings: lines 4 to 8.
    run.assert_failed(
        "Migration.NonZeroExit",
        &[
            "exited with code 1",
            "last 5 log lines",
            "log line 4",
            "log line 8",
        ],
    );
    assert!(!run.result.cause.clone().unwrap().contains("log line 3"));
    assert_eq!(
        run.visited(),
        [
            "ValidateEvent",
            "RunTask",
            "PollStatus",
            "IsTaskStopped",
            "CheckExitCode",
            "StopTask",
            "MigrationFailed"
        ]
    );
    run.assert_nothing_running();
    // 1 + ValidateEvent, RunTask, PollStatus 5 each + Choice 2 + CheckExitCode failing 5
    // + StopTask 5 + Fail entered 1 + ExecutionFailed 1.
    assert_eq!(run.result.history.len(), 1 + 3 * 5 + 2 + 5 + 5 + 1 + 1);
}

#[tokio::test]
async fn exit_137_says_out_of_memory() {
    let run = Scenario::new(Script {
        exit_code: 137,
        ..Script::default()
    })
    .run(bare())
    .await;
    run.assert_failed(
        "Migration.NonZeroExit",
        &["137: killed by SIGKILL, usually out of memory"],
    );
    run.assert_nothing_running();
}

#[tokio::test]
async fn task_missing_for_good() {
    let run = Scenario::new(Script {
        missing_for: None,
        ..Script::default()
    })
    .run(bare())
    .await;
    run.assert_failed("Migration.TaskMissing", &["MISSING"]);
    assert_eq!(
        run.visited(),
        [
            "ValidateEvent",
            "RunTask",
            "PollStatus",
            "StopTask",
            "MigrationFailed"
        ]
    );
    // stop-task asked ECS to stop the task it cannot see any more (harmless, idempotent).
    assert!(run.fake.calls().contains(&"ecs:StopTask"));
}

#[tokio::test]
async fn missing_briefly_after_run_task_is_tolerated() {
    let run = Scenario::new(Script {
        missing_for: Some(15),
        ..Script::default()
    })
    .run(bare())
    .await;
    assert_eq!(run.result.status, ExecutionStatus::Succeeded);
}

#[tokio::test]
async fn deadline_passing_stops_the_task() {
    let run = Scenario::new(Script {
        running: 3 * 3600,
        ..Script::default()
    })
    .setting("MAX_DURATION_SECONDS", "1800")
    .run(bare())
    .await;
    run.assert_failed(
        "Migration.Timeout",
        &["MAX_DURATION_SECONDS", "being stopped"],
    );
    assert_eq!(
        run.visited(),
        [
            "ValidateEvent",
            "RunTask",
            "PollStatus",
            "IsTaskStopped",
            "TaskOverdue",
            "StopTask",
            "MigrationFailed"
        ]
    );
    run.assert_nothing_running();
    let stopped = run
        .fake
        .calls()
        .iter()
        .filter(|c| **c == "ecs:StopTask")
        .count();
    assert_eq!(stopped, 1);
    // The deadline is seen on the poll at 1800 s, not at the end of a 600 s round.
    let ended = run.result.history.last().unwrap().timestamp - t0();
    assert!(ended <= chrono::Duration::seconds(1805), "{ended}");
    assert_eq!(run.entered("PollStatus"), 3);
}

#[tokio::test]
async fn stuck_in_provisioning_is_stopped_as_a_failed_start() {
    let run = Scenario::new(Script {
        provisioning: None,
        ..Script::default()
    })
    .setting("START_TIMEOUT_SECONDS", "300")
    .run(bare())
    .await;
    run.assert_failed(
        "Migration.TaskFailedToStart",
        &["still PROVISIONING 300 s after RunTask"],
    );
    assert_eq!(
        run.visited(),
        [
            "ValidateEvent",
            "RunTask",
            "PollStatus",
            "IsTaskStopped",
            "TaskOverdue",
            "StopTask",
            "MigrationFailed"
        ]
    );
    run.assert_nothing_running();
}

#[tokio::test]
async fn lambda_transient_error_is_retried() {
    let mut scenario = Scenario::new(Script::default());
    scenario.flaky = Some(("PollStatus", 2));
    let run = scenario.run(bare()).await;
    assert_eq!(run.result.status, ExecutionStatus::Succeeded);
    assert_eq!(run.visited(), HAPPY_PATH);
    assert_eq!(run.count(EventType::LambdaFunctionFailed), 2);
    run.assert_nothing_running();
}

#[tokio::test]
async fn invalid_event_fails_before_any_task() {
    let run = Scenario::new(Script::default())
        .run(json!({"source": "ecs.migration", "detail-type": "AWS ECS Migration Task", "detail": "{oops"}))
        .await;
    run.assert_failed(
        "Migration.InvalidEvent",
        &["detail is a string that is not JSON"],
    );
    assert_eq!(run.visited(), ["ValidateEvent", "MigrationFailed"]);
    assert_eq!(run.fake.tasks_started(), 0);
}

#[tokio::test]
async fn redelivered_event_starts_one_task() {
    let clock = Arc::new(VirtualClock::starting_at(t0()));
    let fake = FakeEcs::new(clock.clone(), Script::default());
    let settings = settings_with(&[]);
    let event = json!({
        "version": "0", "id": "0d1e9a4c-redelivered", "detail-type": "AWS ECS Migration Task",
        "source": "ecs.migration", "account": "123456789012", "time": "2026-11-25T12:00:00Z",
        "region": "eu-west-1", "resources": [], "detail": {"taskdef_arn": "app:42"}
    });
    let mut task_arns = Vec::new();
    // EventBridge delivers the event twice: two executions with different names.
    for name in ["rule-delivery-1", "rule-delivery-2"] {
        let invoker = Arc::new(steps(settings.clone(), fake.clone(), clock.clone()));
        let result = Executor::new(definition(), invoker, clock.clone())
            .with_execution_name(name)
            .run_to_completion(event.clone())
            .await;
        assert_eq!(result.status, ExecutionStatus::Succeeded);
        task_arns.push(result.output.unwrap()["task"]["task_arn"].clone());
    }
    assert_eq!(
        fake.tasks_started(),
        1,
        "the second execution must reuse the first task"
    );
    assert_eq!(task_arns[0], task_arns[1]);
}

#[tokio::test]
async fn aborted_execution_task_is_stopped_by_the_status_change_rule() {
    let clock = Arc::new(VirtualClock::starting_at(t0()));
    let fake = FakeEcs::new(
        clock.clone(),
        Script {
            running: 3600,
            ..Script::default()
        },
    );
    let settings = settings_with(&[]);
    let invoker = Arc::new(steps(settings.clone(), fake.clone(), clock.clone()));
    let abort_clock = clock.clone();
    let execution = Executor::new(definition(), invoker, clock.clone())
        .with_execution_name("app-42-aborted")
        .with_state_machine_name("ecs-migrate")
        .with_account("eu-west-1", "123456789012");
    // A person aborts the execution ten minutes in.
    let result = execution
        .run(bare(), async move {
            abort_clock.sleep(Duration::from_secs(600)).await;
        })
        .await;
    assert_eq!(result.status, ExecutionStatus::Aborted);
    assert_eq!(
        fake.running_tasks().len(),
        1,
        "aborting alone leaves the task running"
    );

    // The EventBridge rule on "Execution Status Change" ABORTED invokes stop-task.
    let execution_arn =
        "arn:aws:states:eu-west-1:123456789012:execution:ecs-migrate:app-42-aborted";
    let event = json!({
        "version": "0", "id": "status-change", "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states", "account": "123456789012", "time": "2026-11-25T12:10:00Z",
        "region": "eu-west-1", "resources": [execution_arn],
        "detail": {"executionArn": execution_arn, "name": "app-42-aborted", "status": "ABORTED",
                   "stateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:ecs-migrate"}
    });
    let env = StepEnv {
        settings: &settings,
        ecs: fake.as_ref(),
        logs: fake.as_ref(),
        clock: clock.as_ref(),
    };
    let stopped = Step::StopTask.run(&env, event, None).await.unwrap();
    assert_eq!(stopped["stopped"].as_array().unwrap().len(), 1, "{stopped}");
    assert_eq!(fake.running_tasks(), Vec::<String>::new());
}

/// The tracking budget (issue goal): a 24-hour migration in virtual time. Prints the events per
/// hour and the detection latency; asserts at most 400 events an hour and 10 s latency.
#[tokio::test]
async fn simulated_24_hour_migration_meets_the_tracking_budget() {
    // Ends 3 s after a poll, so the latency includes waiting for the next DescribeTasks.
    let run = Scenario::new(Script {
        running: 24 * 3600 + 3,
        ..Script::default()
    })
    .setting("MAX_DURATION_SECONDS", "90000")
    .run(bare())
    .await;
    assert_eq!(
        run.result.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        run.result.error
    );
    let task_arn = run.result.output.as_ref().unwrap()["task"]["task_arn"]
        .as_str()
        .unwrap()
        .to_string();
    let stopped = run.fake.stopped_at(&task_arn).unwrap();
    let finished = run.result.history.last().unwrap().timestamp;
    let latency = (finished - stopped).num_milliseconds() as f64 / 1000.0;
    let duration_hours = (finished - t0()).num_seconds() as f64 / 3600.0;
    let events = run.result.history.len();
    let per_hour = events as f64 / duration_hours;
    let describe_calls = run
        .fake
        .calls()
        .iter()
        .filter(|c| **c == "ecs:DescribeTasks")
        .count();
    println!(
        "24-hour migration: {events} history events over {duration_hours:.2} h = {per_hour:.1} events/hour; \
         detection latency {latency:.1} s; {} PollStatus invocations; {describe_calls} DescribeTasks calls",
        run.entered("PollStatus")
    );
    assert!(per_hour <= 400.0, "{per_hour} events/hour");
    assert!(latency <= 10.0, "{latency} s");
    assert!(events < 25_000);
    // The static estimate validate-event refuses with must not under-count what really ran.
    let settings = settings_with(&[("MAX_DURATION_SECONDS", "90000")]);
    assert!(budget::events_needed(&settings) as usize >= events);
}

/// Event counts per type for the success path, as Step Functions records them.
#[tokio::test]
async fn success_history_event_types() {
    let run = Scenario::new(Script::default()).run(bare()).await;
    let counts: HashMap<&str, usize> = run
        .result
        .event_counts()
        .into_iter()
        .map(|(k, v)| (k.as_str(), v))
        .collect();
    let expected: HashMap<&str, usize> = [
        ("ExecutionStarted", 1),
        ("TaskStateEntered", 4),
        ("LambdaFunctionScheduled", 4),
        ("LambdaFunctionStarted", 4),
        ("LambdaFunctionSucceeded", 4),
        ("TaskStateExited", 4),
        ("ChoiceStateEntered", 1),
        ("ChoiceStateExited", 1),
        ("SucceedStateEntered", 1),
        ("SucceedStateExited", 1),
        ("ExecutionSucceeded", 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts, expected);
}
