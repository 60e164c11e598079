//! Layer 3: statemachine/migration.asl.json in the engine with the real steps, over a stateful
//! fake ECS on virtual time. Each scenario asserts the final Error/Cause, the states visited,
//! that no task is left running, and the history's event count.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use ecs_migrate::asl::{
    Definition, EventType, ExecutionResult, ExecutionStatus, Executor, SeededRandom, TaskCall,
    TaskFailure, TaskInvoker,
};
use ecs_migrate::common::clock::{Clock, VirtualClock};
use ecs_migrate::migration::settings::Settings;
use ecs_migrate::migration::steps::StepEnv;
use ecs_migrate::ports::lock::{LockCall, LockFault, MemoryLockTable};
use ecs_migrate::statemachine::{budget, error_message, FunctionArns, Seams, Step, StepBinding};
use serde_json::{json, Value};

use crate::fake_ecs::{self, FakeEcs, Script};
use crate::fixtures::{settings_with, t0};

/// The function ARNs this test deploys the definition with.
pub(crate) fn function_arns() -> FunctionArns {
    FunctionArns::new("eu-west-1", "123456789012", "ecs-migrate-")
}

/// The definition as Terraform renders it, with this test's function ARNs.
pub(crate) fn definition() -> Definition {
    Definition::parse(&serde_json::from_str(&function_arns().render()).unwrap()).unwrap()
}

/// The steps bound to a fake ECS, as `ecs-migrate local` binds them to its runner.
pub(crate) fn steps(
    settings: Settings,
    fake: Arc<FakeEcs>,
    clock: Arc<VirtualClock>,
    lock: &MemoryLockTable,
) -> StepBinding {
    StepBinding::new(
        function_arns(),
        settings,
        Seams {
            ecs: fake.clone(),
            logs: fake,
            clock,
            lock: Arc::new(lock.clone()),
        },
    )
}

/// A Lambda-level fault on one state's invocations, as Step Functions reports them (Step
/// Functions Developer Guide, "Handling errors": Lambda.ServiceException, Lambda.Unknown,
/// Sandbox.Timedout, Lambda.TooManyRequestsException, ...).
#[derive(Clone)]
enum Fault {
    /// The first `times` invocations fail with `error` before the step runs.
    Before {
        state: &'static str,
        error: &'static str,
        times: usize,
    },
    /// The first `times` invocations run the step, then fail with `error`: its answer is lost
    /// (the function timed out or crashed after its AWS call).
    After {
        state: &'static str,
        error: &'static str,
        times: usize,
    },
    /// Every invocation fails with `error` until `seconds` after the execution started.
    Until {
        state: &'static str,
        error: &'static str,
        seconds: u64,
    },
    /// The first invocation runs the step, then its answer takes `seconds` to arrive.
    Slow { state: &'static str, seconds: u64 },
    /// Every invocation's result is over Step Functions' 256 KiB payload limit.
    Oversized { state: &'static str },
}

impl Fault {
    fn state(&self) -> &'static str {
        match self {
            Fault::Before { state, .. }
            | Fault::After { state, .. }
            | Fault::Until { state, .. }
            | Fault::Slow { state, .. }
            | Fault::Oversized { state } => state,
        }
    }
}

/// The step binding with faults in front of it.
struct FaultyLambda {
    inner: StepBinding,
    faults: Vec<Fault>,
    clock: Arc<VirtualClock>,
    calls: Mutex<HashMap<&'static str, usize>>,
}

fn lambda_failure(error: &str) -> TaskFailure {
    TaskFailure::new(error, format!("{error}: injected by the scenario"))
}

#[async_trait]
impl TaskInvoker for FaultyLambda {
    async fn invoke(&self, call: TaskCall) -> Result<Value, TaskFailure> {
        let Some(fault) = self.faults.iter().find(|f| f.state() == call.state_name) else {
            return self.inner.invoke(call).await;
        };
        let n = {
            let mut calls = self.calls.lock().unwrap();
            let n = calls.entry(fault.state()).or_insert(0);
            *n += 1;
            *n
        };
        match fault {
            Fault::Before { error, times, .. } if n <= *times => Err(lambda_failure(error)),
            Fault::After { error, times, .. } if n <= *times => {
                self.inner.invoke(call).await?;
                Err(lambda_failure(error))
            }
            Fault::Until { error, seconds, .. }
                if self.clock.now() < t0() + chrono::Duration::seconds(*seconds as i64) =>
            {
                Err(lambda_failure(error))
            }
            Fault::Slow { seconds, .. } if n == 1 => {
                let answer = self.inner.invoke(call).await;
                self.clock.sleep(Duration::from_secs(*seconds)).await;
                answer
            }
            Fault::Oversized { .. } => {
                let mut result = self.inner.invoke(call).await?;
                result["padding"] = json!("x".repeat(300 * 1024));
                Ok(result)
            }
            _ => self.inner.invoke(call).await,
        }
    }
}

struct Run {
    result: ExecutionResult,
    fake: Arc<FakeEcs>,
    /// Tasks still running when the execution ended, before the status-change rule ran.
    running_at_end: Vec<String>,
    /// What stop-task answered the status-change rule (FAILED, ABORTED, TIMED_OUT).
    cleanup: Option<Result<Value, String>>,
    /// The migration lock's table, after the cleanup.
    lock: MemoryLockTable,
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

    /// Whether one of the module's alarms would fire: a failed or timed-out execution, or an
    /// error of the stop-task function (in the execution or from the status-change rule).
    fn alarm(&self) -> bool {
        let stop_task_failed = self.result.history.iter().any(|e| {
            e.event_type == EventType::LambdaFunctionFailed
                && self.state_of_event(e.previous_event_id) == Some("StopTask")
        });
        matches!(
            self.result.status,
            ExecutionStatus::Failed | ExecutionStatus::TimedOut
        ) || stop_task_failed
            || matches!(self.cleanup, Some(Err(_)))
    }

    /// The state a history event belongs to, following previous_event_id to its
    /// TaskStateEntered.
    fn state_of_event(&self, mut id: u64) -> Option<&str> {
        for _ in 0..self.result.history.len() {
            let event = self.result.history.iter().find(|e| e.id == id)?;
            if let Some(name) = event.state_name() {
                return Some(name);
            }
            id = event.previous_event_id;
        }
        None
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
    faults: Vec<Fault>,
    /// A person aborts the execution this long after it started.
    abort_after: Option<u64>,
    /// The same input ran once before in another execution (a redelivered event).
    redelivered: bool,
    /// A customised definition instead of the shipped one.
    definition: Option<Definition>,
    /// Lock-table calls that fail: (call, which one of its kind, 1-based, fault).
    lock_faults: Vec<(LockCall, usize, LockFault)>,
}

impl Scenario {
    fn new(script: Script) -> Self {
        Self {
            script,
            settings: vec![],
            faults: vec![],
            abort_after: None,
            redelivered: false,
            definition: None,
            lock_faults: vec![],
        }
    }

    /// The `nth` lock-table call of kind `call` fails with `fault`.
    fn lock_fault(mut self, call: LockCall, nth: usize, fault: LockFault) -> Self {
        self.lock_faults.push((call, nth, fault));
        self
    }

    /// Runs `definition` (a team's customised migration machine) instead of the shipped one.
    fn definition(mut self, definition: Definition) -> Self {
        self.definition = Some(definition);
        self
    }

    fn fault(mut self, fault: Fault) -> Self {
        self.faults.push(fault);
        self
    }

    fn setting(mut self, name: &'static str, value: &'static str) -> Self {
        self.settings.push((name, value));
        self
    }

    /// Runs the execution, then, when it ended FAILED, ABORTED or TIMED_OUT, what the
    /// module's status-change rule does: stop-task with the Execution Status Change event.
    async fn run(self, input: Value) -> Run {
        let clock = Arc::new(VirtualClock::starting_at(t0()));
        let fake = FakeEcs::new(clock.clone(), self.script);
        let settings = settings_with(&self.settings);
        let lock = MemoryLockTable::new();
        for (call, nth, fault) in &self.lock_faults {
            lock.fail_call(*call, *nth, *fault);
        }
        let invoker = Arc::new(FaultyLambda {
            inner: steps(settings.clone(), fake.clone(), clock.clone(), &lock),
            faults: self.faults,
            clock: clock.clone(),
            calls: Mutex::new(HashMap::new()),
        });
        if self.redelivered {
            let first = Arc::new(steps(settings.clone(), fake.clone(), clock.clone(), &lock));
            let earlier = Executor::new(definition(), first, clock.clone())
                .with_execution_name("app-42-first-delivery")
                .run_to_completion(input.clone())
                .await;
            assert_eq!(earlier.status, ExecutionStatus::Succeeded);
        }
        let name = "app-42-20261125T120000Z";
        let machine = self.definition.clone().unwrap_or_else(definition);
        let executor = Executor::new(machine, invoker, clock.clone())
            .with_execution_name(name)
            .with_state_machine_name("ecs-migrate")
            .with_account("eu-west-1", "123456789012")
            .with_random(Arc::new(SeededRandom::new(7)));
        let abort_clock = clock.clone();
        let result = executor
            .run(input.clone(), async move {
                match self.abort_after {
                    Some(secs) => abort_clock.sleep(Duration::from_secs(secs)).await,
                    None => std::future::pending().await,
                }
            })
            .await;
        let running_at_end = fake.running_tasks();
        let cleanup = match result.status {
            ExecutionStatus::Succeeded => None,
            status => Some(
                status_change(
                    &settings,
                    &fake,
                    &clock,
                    &lock,
                    name,
                    status.as_str(),
                    &input,
                )
                .await
                .map_err(|e| e.to_string()),
            ),
        };
        Run {
            result,
            fake,
            running_at_end,
            cleanup,
            lock,
        }
    }
}

/// stop-task as the status-change rule invokes it for execution `name` that ended with
/// `status`.
pub(crate) async fn status_change(
    settings: &Settings,
    fake: &Arc<FakeEcs>,
    clock: &Arc<VirtualClock>,
    lock: &MemoryLockTable,
    name: &str,
    status: &str,
    input: &Value,
) -> Result<Value, ecs_migrate::MigrationError> {
    let execution_arn =
        format!("arn:aws:states:eu-west-1:123456789012:execution:ecs-migrate:{name}");
    let event = json!({
        "version": "0", "id": "status-change", "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states", "account": "123456789012", "time": clock.now().to_rfc3339(),
        "region": "eu-west-1", "resources": [execution_arn],
        "detail": {"executionArn": execution_arn, "name": name, "status": status,
                   "input": input.to_string(),
                   "stopDate": clock.now().timestamp_millis(),
                   "stateMachineArn": "arn:aws:states:eu-west-1:123456789012:stateMachine:ecs-migrate"}
    });
    // Step Functions knows the execution ended as the event says.
    let executions = ecs_migrate::ports::executions::MemoryExecutions::new();
    executions.put_with_input(
        &execution_arn,
        "arn:aws:states:eu-west-1:123456789012:stateMachine:ecs-migrate",
        status,
        Some(input.to_string()),
    );
    let env = StepEnv {
        settings,
        ecs: fake.as_ref(),
        logs: fake.as_ref(),
        clock: clock.as_ref(),
        lock,
        deployments: &ecs_migrate::ports::deployments::NoDeployments,
        executions: &executions,
    };
    Step::StopTask.run(&env, event, None).await
}

pub(crate) fn bare() -> Value {
    json!({"taskdef_arn": "app:42"})
}

const HAPPY_PATH: [&str; 11] = [
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
    "MigrationSucceeded",
];

/// A task that stopped and failed CheckExitCode, then StopTask.
const FAILED_AT_CHECK: [&str; 12] = [
    "ValidateEvent",
    "AcquireLock",
    "LockTaken",
    "RunTask",
    "TaskStarted",
    "PollStatus",
    "IsTaskStopped",
    "CheckExitCode",
    "StopTask",
    "ReleaseLock",
    "FromDeployment",
    "MigrationFailed",
];

/// A task past its deadline or start budget, stopped through TaskOverdue.
const STOPPED_WHEN_OVERDUE: [&str; 12] = [
    "ValidateEvent",
    "AcquireLock",
    "LockTaken",
    "RunTask",
    "TaskStarted",
    "PollStatus",
    "IsTaskStopped",
    "TaskOverdue",
    "StopTask",
    "ReleaseLock",
    "FromDeployment",
    "MigrationFailed",
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
    // Start + 6 Lambda task states of 5 events + 4 Choices of 2 (FromDeployment among them)
    // + Succeed 2 + end.
    assert_eq!(run.result.history.len(), 1 + 6 * 5 + 4 * 2 + 2 + 1);
    // Detection: the execution ends within one poll interval of the task stopping.
    let stopped = t0() + chrono::Duration::seconds(80);
    let finished = run.result.history.last().unwrap().timestamp;
    assert!(
        finished - stopped <= chrono::Duration::seconds(5),
        "{finished} vs {stopped}"
    );
}

/// A team's customised machine, mixing the query languages (issue 20): after the migration, a
/// JSONPath state records the family in a variable, a JSONata state reads it and the step's
/// result to build a notice and assigns the exit code, and a JSONPath state reads that variable
/// back ("Passing data between states with variables" and "Transforming data with JSONata",
/// Step Functions developer guide).
#[tokio::test]
async fn a_customised_machine_mixes_jsonpath_and_jsonata_around_the_real_steps() {
    let mut machine: Value = serde_json::from_str(&function_arns().render()).unwrap();
    let states = machine["States"].as_object_mut().unwrap();
    states["FromDeployment"]["Default"] = json!("RecordFamily");
    states.insert(
        "RecordFamily".into(),
        json!({"Type": "Pass", "Assign": {"family.$": "$.request.family"}, "Next": "Notify"}),
    );
    states.insert(
        "Notify".into(),
        json!({
            "Type": "Pass",
            "QueryLanguage": "JSONata",
            "Assign": {"exitCode": "{% $states.input.result.exit_code %}"},
            "Output": "{% $merge([$states.input, {'notice': 'migrated ' & $family & ' (exit code ' & $string($states.input.result.exit_code) & ')'}]) %}",
            "Next": "CheckNotice"
        }),
    );
    states.insert(
        "CheckNotice".into(),
        json!({
            "Type": "Pass",
            "Parameters": {"exit_code.$": "$exitCode", "notice.$": "$.notice"},
            "ResultPath": "$.notified",
            "Next": "MigrationSucceeded"
        }),
    );
    let machine = Definition::parse(&machine).unwrap();
    let run = Scenario::new(Script::default())
        .definition(machine)
        .run(bare())
        .await;
    assert_eq!(
        run.result.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        run.result.to_json(false)
    );
    let visited = run.visited();
    let tail: Vec<&str> = visited[visited.len() - 4..]
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(
        tail,
        [
            "RecordFamily",
            "Notify",
            "CheckNotice",
            "MigrationSucceeded"
        ]
    );
    let output = run.result.output.clone().unwrap();
    let family = output["request"]["family"].as_str().unwrap().to_string();
    assert_eq!(
        output["notified"],
        json!({"exit_code": 0, "notice": format!("migrated {family} (exit code 0)")})
    );
    assert_eq!(
        output["result"]["exit_code"], 0,
        "the steps' data passes through"
    );
    run.assert_nothing_running();
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
    assert_eq!(
        run.visited(),
        [
            "ValidateEvent",
            "AcquireLock",
            "LockTaken",
            "RunTask",
            "TaskStarted",
            "WaitForCapacity",
            "PollStatus",
            "IsTaskStopped",
            "CheckExitCode",
            "ReleaseLock",
            "FromDeployment",
            "MigrationSucceeded"
        ]
    );
    // Each attempt is a successful invocation that says RETRY_LATER, with a token of its own
    // (ECS would replay the first token's failures[] to every retry that reused it).
    assert_eq!(run.count(EventType::LambdaFunctionFailed), 0);
    assert_eq!(run.entered("RunTask"), 3);
    assert_eq!(run.fake.tasks_started(), 1);
    run.assert_nothing_running();
    // ValidateEvent, AcquireLock and its Choice, three RunTask invocations, two capacity
    // waits (Choice 2 + Wait 2 each), then the happy path's other three Lambda states, its three
    // Choices, Succeed and the ends.
    assert_eq!(
        run.result.history.len(),
        1 + 2 * 5 + 2 + 3 * 5 + 2 * 4 + 3 * 5 + 3 * 2 + 2 + 1
    );
}

#[tokio::test]
async fn capacity_unavailable_for_good() {
    let run = Scenario::new(Script {
        capacity_failures: 100,
        ..Script::default()
    })
    .run(bare())
    .await;
    run.assert_failed(
        "Migration.CapacityUnavailable",
        &["RESOURCE:MEMORY", "attempt 7 of 7"],
    );
    assert_eq!(
        run.visited(),
        [
            "ValidateEvent",
            "AcquireLock",
            "LockTaken",
            "RunTask",
            "TaskStarted",
            "WaitForCapacity",
            "StopTask",
            "ReleaseLock",
            "FromDeployment",
            "MigrationFailed"
        ]
    );
    // Seven attempts; the last one fails the state.
    assert_eq!(run.entered("RunTask"), 7);
    assert_eq!(run.count(EventType::LambdaFunctionFailed), 1);
    assert_eq!(run.fake.tasks_started(), 0);
    run.assert_nothing_running();
    // Capped backoff: 10, 20, 40, 80, 120, 120 s, then stop-task's look for a task ListTasks
    // may not show yet (MISSING_GRACE_SECONDS, 60 s, as no task is known).
    let elapsed = run.result.history.last().unwrap().timestamp - t0();
    assert!(elapsed >= chrono::Duration::seconds(390), "{elapsed}");
    assert!(
        elapsed <= chrono::Duration::seconds(390 + 60 + 5),
        "{elapsed}"
    );
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
    assert_eq!(run.visited(), FAILED_AT_CHECK);
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
    assert_eq!(run.visited(), FAILED_AT_CHECK);
    run.assert_nothing_running();
    // 1 + ValidateEvent, AcquireLock, RunTask, PollStatus 5 each + 4 Choices of 2
    // (FromDeployment among them) + CheckExitCode failing 5 + StopTask 5 + ReleaseLock 5 +
    // Fail entered 1 + ExecutionFailed 1.
    assert_eq!(
        run.result.history.len(),
        1 + 4 * 5 + 4 * 2 + 5 + 5 + 5 + 1 + 1
    );
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
            "AcquireLock",
            "LockTaken",
            "RunTask",
            "TaskStarted",
            "PollStatus",
            "StopTask",
            "StopFailed",
            "FromDeployment",
            "MigrationFailed"
        ]
    );
    // StopTask answers "not found" for a task ECS does not show, which proves nothing (a task
    // just started is not shown yet): stop-task asks again until its retries run out, then
    // says the task COULD NOT BE STOPPED, and the lock is not released on an unproven stop.
    let stops = run
        .fake
        .calls()
        .iter()
        .filter(|c| **c == "ecs:StopTask")
        .count();
    assert!(stops > 1, "{stops}");
    let cause = run.result.cause.clone().unwrap_or_default();
    assert!(cause.contains("COULD NOT BE STOPPED"), "{cause}");
    assert_eq!(run.lock.items().len(), 1, "the lock stays to its lease");
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
    assert_eq!(run.visited(), STOPPED_WHEN_OVERDUE);
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
    assert_eq!(run.visited(), STOPPED_WHEN_OVERDUE);
    run.assert_nothing_running();
}

#[tokio::test]
async fn lambda_transient_error_is_retried() {
    let run = Scenario::new(Script::default())
        .fault(Fault::Before {
            state: "PollStatus",
            error: "Lambda.ServiceException",
            times: 2,
        })
        .run(bare())
        .await;
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
    // Not a hook event: nothing to answer, it fails as it is.
    assert_eq!(
        run.visited(),
        [
            "ValidateEvent",
            "InvalidInput",
            "HookAwaitsAnswer",
            "MigrationFailed"
        ]
    );
    assert_eq!(run.fake.tasks_started(), 0);
}

/// EventBridge delivers at least once: the same event (same `id`) starts two executions with
/// different names. The second finds the client token in use with other parameters (its own
/// `startedBy` and tags), which ECS refuses with ConflictException; it ends SUCCEEDED as a
/// named duplicate, starting nothing and firing no failure alarm.
#[tokio::test]
async fn redelivered_event_starts_one_task() {
    let clock = Arc::new(VirtualClock::starting_at(t0()));
    let fake = FakeEcs::new(clock.clone(), Script::default());
    let settings = settings_with(&[]);
    let lock = MemoryLockTable::new();
    let event = redelivered_event();
    let mut results = Vec::new();
    for name in ["rule-delivery-1", "rule-delivery-2"] {
        let invoker = Arc::new(steps(settings.clone(), fake.clone(), clock.clone(), &lock));
        let result = Executor::new(definition(), invoker, clock.clone())
            .with_execution_name(name)
            .run_to_completion(event.clone())
            .await;
        assert_eq!(result.status, ExecutionStatus::Succeeded, "{name}");
        results.push(result.output.unwrap());
    }
    assert_eq!(
        fake.tasks_started(),
        1,
        "the second execution must not start a task"
    );
    let first = &results[0]["task"];
    let second = &results[1]["task"];
    assert_eq!(first["outcome"], "STARTED");
    assert_eq!(second["outcome"], "DUPLICATE", "{second}");
    assert_eq!(second["task_arns"], json!([first["task_arn"]]));
    assert_eq!(second["event_id"], "0d1e9a4c-redelivered");
}

fn redelivered_event() -> Value {
    json!({
        "version": "0", "id": "0d1e9a4c-redelivered", "detail-type": "AWS ECS Migration Task",
        "source": "ecs.migration", "account": "123456789012", "time": "2026-11-25T12:00:00Z",
        "region": "eu-west-1", "resources": [], "detail": {"taskdef_arn": "app:42"}
    })
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
    let lock = MemoryLockTable::new();
    let invoker = Arc::new(steps(settings.clone(), fake.clone(), clock.clone(), &lock));
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
    let stopped = status_change(
        &settings,
        &fake,
        &clock,
        &lock,
        "app-42-aborted",
        "ABORTED",
        &bare(),
    )
    .await
    .unwrap();
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
        ("TaskStateEntered", 6),
        ("LambdaFunctionScheduled", 6),
        ("LambdaFunctionStarted", 6),
        ("LambdaFunctionSucceeded", 6),
        ("TaskStateExited", 6),
        ("ChoiceStateEntered", 4),
        ("ChoiceStateExited", 4),
        ("SucceedStateEntered", 1),
        ("SucceedStateExited", 1),
        ("ExecutionSucceeded", 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(counts, expected);
}

/// A StopTask that fails keeps the original Error and says in the Cause that the task may
/// still be running; the status-change rule on FAILED then stops it.
#[tokio::test]
async fn a_failed_stop_is_said_and_the_status_change_rule_stops_the_task() {
    let run = Scenario::new(Script {
        running: 3 * 3600,
        stop_denials: 1,
        ..Script::default()
    })
    .setting("MAX_DURATION_SECONDS", "1800")
    .run(bare())
    .await;
    run.assert_failed(
        "Migration.Timeout",
        &[
            "MAX_DURATION_SECONDS",
            "AND THE MIGRATION TASK COULD NOT BE STOPPED",
            "Migration.Misconfigured",
            "ecs:StopTask",
        ],
    );
    assert!(run.visited().contains(&"StopFailed".to_string()));
    assert_eq!(
        run.running_at_end.len(),
        1,
        "the denied stop left it running"
    );
    let cleanup = run.cleanup.clone().unwrap().unwrap();
    assert_eq!(cleanup["stopped"], json!(run.running_at_end));
    run.assert_nothing_running();
    assert!(run.alarm());
}

/// One row of the fault matrix: what the execution ended with, whether a task was left
/// running once the status-change rule had run, and whether an alarm would fire.
struct Row {
    fault: &'static str,
    scenario: Scenario,
    input: Value,
    status: ExecutionStatus,
    error: Option<&'static str>,
    alarm: bool,
}

fn row(
    fault: &'static str,
    scenario: Scenario,
    status: ExecutionStatus,
    error: Option<&'static str>,
    alarm: bool,
) -> Row {
    Row {
        fault,
        scenario,
        input: bare(),
        status,
        error,
        alarm,
    }
}

/// The AWS path's promises under the faults ECS, Lambda and EventBridge really produce: every
/// execution that ran a task ends with it stopped, a redelivered event starts nothing, and a
/// healthy migration survives Lambda and AWS hiccups. Prints the matrix.
#[tokio::test]
async fn fault_matrix() {
    use ExecutionStatus::{Aborted, Failed, Succeeded};
    let long_task = || Script {
        running: 1800,
        ..Script::default()
    };
    let mut rows = vec![
        row(
            "StopTask refused (AccessDenied) after the deadline",
            Scenario::new(Script {
                running: 3 * 3600,
                stop_denials: 1,
                ..Script::default()
            })
            .setting("MAX_DURATION_SECONDS", "1800"),
            Failed,
            Some("Migration.Timeout"),
            true,
        ),
        row(
            "PollStatus result over 256 KiB (uncatchable)",
            Scenario::new(long_task()).fault(Fault::Oversized {
                state: "PollStatus",
            }),
            Failed,
            Some("States.DataLimitExceeded"),
            true,
        ),
        Row {
            input: redelivered_event(),
            ..row(
                "event redelivered (same id)",
                Scenario {
                    redelivered: true,
                    ..Scenario::new(Script::default())
                },
                Succeeded,
                None,
                false,
            )
        },
        row(
            "no capacity twice; ECS replays a token's failures[]",
            Scenario::new(Script {
                capacity_failures: 2,
                ..Script::default()
            }),
            Succeeded,
            None,
            false,
        ),
        row(
            "RunTask's answer lost (Lambda.Unknown after the call)",
            Scenario::new(Script::default()).fault(Fault::After {
                state: "RunTask",
                error: "Lambda.Unknown",
                times: 1,
            }),
            Succeeded,
            None,
            false,
        ),
        row(
            "PollStatus times out 3 times (Sandbox.Timedout)",
            Scenario::new(long_task()).fault(Fault::Before {
                state: "PollStatus",
                error: "Sandbox.Timedout",
                times: 3,
            }),
            Succeeded,
            None,
            false,
        ),
        row(
            "PollStatus crashes twice (Lambda.Unknown)",
            Scenario::new(long_task()).fault(Fault::After {
                state: "PollStatus",
                error: "Lambda.Unknown",
                times: 2,
            }),
            Succeeded,
            None,
            false,
        ),
        row(
            "Lambda throttles PollStatus for 12 minutes",
            Scenario::new(long_task()).fault(Fault::Until {
                state: "PollStatus",
                error: "Lambda.TooManyRequestsException",
                seconds: 720,
            }),
            Succeeded,
            None,
            false,
        ),
        row(
            "ECS throttles DescribeTasks for 12 minutes",
            Scenario::new(long_task()).fault(Fault::Until {
                state: "PollStatus",
                error: "Migration.AwsTransient",
                seconds: 720,
            }),
            Succeeded,
            None,
            false,
        ),
        row(
            "aborted while RunTask is in flight; ListTasks 20 s behind",
            Scenario {
                abort_after: Some(10),
                ..Scenario::new(Script {
                    list_lag: 20,
                    ..long_task()
                })
                .fault(Fault::Slow {
                    state: "RunTask",
                    seconds: 30,
                })
            },
            Aborted,
            None,
            false,
        ),
    ];
    for (what, input) in [
        ("input is a string", json!("app:42")),
        ("input is an array", json!(["app:42"])),
        ("input is a number", json!(42)),
        ("input is null", Value::Null),
    ] {
        rows.push(Row {
            input,
            ..row(
                what,
                Scenario::new(Script::default()),
                Failed,
                Some("Migration.InvalidEvent"),
                true,
            )
        });
    }

    let mut table = vec![
        "| fault | status | Error | task running at the end | task stopped by cleanup | alarm | lock left |"
            .to_string(),
        "| --- | --- | --- | --- | --- | --- | --- |".to_string(),
    ];
    let mut wrong = Vec::new();
    for row in rows {
        let run = row.scenario.run(row.input).await;
        let running_after = run.fake.running_tasks();
        let stopped_by_cleanup = match &run.cleanup {
            Some(Ok(v)) => v["stopped"].as_array().map_or(0, Vec::len),
            _ => 0,
        };
        let locked_after = run.lock.items();
        table.push(format!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.fault,
            run.result.status.as_str(),
            run.result.error.as_deref().unwrap_or("-"),
            if running_after.is_empty() {
                "no"
            } else {
                "YES"
            },
            if stopped_by_cleanup > 0 {
                format!(
                    "{stopped_by_cleanup} (of {} running)",
                    run.running_at_end.len()
                )
            } else {
                "-".to_string()
            },
            if run.alarm() { "fires" } else { "quiet" },
            if locked_after.is_empty() { "no" } else { "YES" },
        ));
        let ok = run.result.status == row.status
            && run.result.error.as_deref() == row.error
            && running_after.is_empty()
            && run.alarm() == row.alarm
            && run.fake.tasks_started() <= 1
            && locked_after.is_empty()
            && !matches!(run.cleanup, Some(Err(_)));
        if !ok {
            wrong.push(format!(
                "{}: {:?} {:?} cleanup {:?} running {running_after:?} locked {locked_after:?} started {}",
                row.fault,
                run.result.status,
                run.result.to_json(false),
                run.cleanup,
                run.fake.tasks_started()
            ));
        }
    }
    println!("{}", table.join("\n"));
    assert!(
        wrong.is_empty(),
        "rows that do not hold:\n{}",
        wrong.join("\n")
    );
}

/// One row of the lock-table fault matrix: the fault, and what the execution must end with.
struct LockRow {
    fault: &'static str,
    scenario: Scenario,
    status: ExecutionStatus,
    error: Option<&'static str>,
    alarm: bool,
    /// The lock item still there after the run (and the cleanup): left to its lease.
    lock_left: bool,
    tasks: usize,
}

fn lock_row(
    fault: &'static str,
    faults: &[(LockCall, usize, LockFault)],
    expected: (ExecutionStatus, Option<&'static str>, bool, bool, usize),
) -> LockRow {
    let mut scenario = Scenario::new(Script {
        running: 120,
        ..Script::default()
    });
    for (call, nth, fault) in faults {
        scenario = scenario.lock_fault(*call, *nth, *fault);
    }
    let (status, error, alarm, lock_left, tasks) = expected;
    LockRow {
        fault,
        scenario,
        status,
        error,
        alarm,
        lock_left,
        tasks,
    }
}

/// The failure table's promises (docs/guarantees.md "How each failure shows", docs/lock.md,
/// the ReleaseLock Catch to `$.lock_error`) under the faults DynamoDB really produces below the
/// steps: throttling, AccessDenied, and a write whose answer was lost after it succeeded.
/// Renewals 1 and 2 are run-task's (before RunTask, then recording the task); 3 on are
/// PollStatus's. Prints the matrix.
#[tokio::test]
async fn lock_table_fault_matrix() {
    use ExecutionStatus::{Failed, Succeeded};
    use LockCall::{Get, Put, Release, Renew};
    use LockFault::{AccessDenied, AnswerLost, Throttled};
    let ok = (Succeeded, None, false, false, 1);
    let misconfigured_before_task = (Failed, Some("Migration.Misconfigured"), true, false, 0);
    let mut rows = vec![
        lock_row(
            "AcquireLock's GetItem throttled twice",
            &[(Get, 1, Throttled), (Get, 2, Throttled)],
            ok,
        ),
        lock_row(
            "AcquireLock's PutItem throttled 3 times",
            &[
                (Put, 1, Throttled),
                (Put, 2, Throttled),
                (Put, 3, Throttled),
            ],
            ok,
        ),
        lock_row(
            "AcquireLock's PutItem refused (AccessDenied)",
            &[(Put, 1, AccessDenied)],
            misconfigured_before_task,
        ),
        lock_row(
            "AcquireLock's PutItem answer lost after the write",
            &[(Put, 1, AnswerLost)],
            ok,
        ),
        lock_row("run-task's renewal throttled", &[(Renew, 1, Throttled)], ok),
        lock_row(
            "run-task's renewal refused (AccessDenied)",
            &[(Renew, 1, AccessDenied)],
            (Failed, Some("Migration.Misconfigured"), true, false, 0),
        ),
        lock_row(
            "the task's recording (renewal 2) answer lost",
            &[(Renew, 2, AnswerLost)],
            ok,
        ),
        lock_row(
            "PollStatus's renewal throttled 3 times",
            &[
                (Renew, 3, Throttled),
                (Renew, 4, Throttled),
                (Renew, 5, Throttled),
            ],
            ok,
        ),
        lock_row(
            "PollStatus's renewal answer lost",
            &[(Renew, 3, AnswerLost)],
            ok,
        ),
        lock_row(
            "PollStatus's renewal refused (AccessDenied)",
            &[(Renew, 3, AccessDenied)],
            (Failed, Some("Migration.Misconfigured"), true, false, 1),
        ),
        lock_row(
            "ReleaseLock's DeleteItem throttled twice",
            &[(Release, 1, Throttled), (Release, 2, Throttled)],
            ok,
        ),
        lock_row(
            "ReleaseLock's DeleteItem answer lost after the delete",
            &[(Release, 1, AnswerLost)],
            ok,
        ),
        lock_row(
            "ReleaseLock's DeleteItem refused (AccessDenied): $.lock_error",
            &[(Release, 1, AccessDenied)],
            (Succeeded, None, false, true, 1),
        ),
    ];
    // A failed migration whose ReleaseLock (after StopTask) is refused: the status-change
    // rule's stop-task releases the lock once the task stopped.
    rows.push(LockRow {
        scenario: Scenario::new(Script {
            running: 120,
            exit_code: 1,
            ..Script::default()
        })
        .lock_fault(Release, 1, AccessDenied),
        ..lock_row(
            "a failed migration's ReleaseLock refused; the cleanup releases",
            &[],
            (Failed, Some("Migration.NonZeroExit"), true, false, 1),
        )
    });
    let mut table = vec![
        "| lock-table fault | status | Error | task running at the end | alarm | lock left | tasks |".to_string(),
        "| --- | --- | --- | --- | --- | --- | --- |".to_string(),
    ];
    let mut wrong = Vec::new();
    for row in rows {
        let run = row.scenario.run(bare()).await;
        let running_after = run.fake.running_tasks();
        let lock_left = !run.lock.items().is_empty();
        let lock_error = run
            .result
            .output
            .as_ref()
            .and_then(|o| o.get("lock_error"))
            .cloned();
        table.push(format!(
            "| {} | {} | {} | {} | {} | {} | {} |",
            row.fault,
            run.result.status.as_str(),
            run.result.error.as_deref().unwrap_or("-"),
            if running_after.is_empty() {
                "no"
            } else {
                "YES"
            },
            if run.alarm() { "fires" } else { "quiet" },
            if lock_left { "YES" } else { "no" },
            run.fake.tasks_started(),
        ));
        // A lock left behind is only ever ReleaseLock's failure, caught at $.lock_error.
        let lock_error_ok = lock_error.is_some() == row.lock_left;
        let ok = run.result.status == row.status
            && run.result.error.as_deref() == row.error
            && running_after.is_empty()
            && run.alarm() == row.alarm
            && lock_left == row.lock_left
            && lock_error_ok
            && run.fake.tasks_started() == row.tasks
            && !matches!(run.cleanup, Some(Err(_)));
        if !ok {
            wrong.push(format!(
                "{}: {:?} {:?} cleanup {:?} running {running_after:?} lock left {lock_left} lock_error {lock_error:?} started {}",
                row.fault,
                run.result.status,
                run.result.to_json(false),
                run.cleanup,
                run.fake.tasks_started()
            ));
        }
    }
    println!("{}", table.join("\n"));
    assert!(
        wrong.is_empty(),
        "rows that do not hold:\n{}",
        wrong.join("\n")
    );
}
