//! The migration lock (issue 10) in the engine: several executions of the real definition over
//! one fake ECS, one in-memory lock table (the same conditions as DynamoDB's, proven by the wire
//! tests) and one virtual clock. Whatever happens to the holders, no two migration tasks of one
//! scope are ever unstopped at once, and nothing stays locked with no execution or task behind
//! it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ecs_migrate::asl::{
    EventDetails, ExecutionResult, ExecutionStatus, Executor, TaskCall, TaskFailure, TaskInvoker,
};
use ecs_migrate::common::clock::{Clock, VirtualClock};
use ecs_migrate::ports::lock::MemoryLockTable;
use ecs_migrate::statemachine::{error_message, StepBinding};
use futures::future::join_all;
use proptest::prelude::*;
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::fake_ecs::{FakeEcs, Script};
use crate::fixtures::{settings_with, t0, CLUSTER};
use crate::scenarios::{bare, definition, status_change, steps};
use ecs_migrate::ports::ecs::{Ecs, TaskLookup};

/// What happens to one execution.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fate {
    /// It runs to its end.
    Normal,
    /// A person aborts it this many seconds after it started; the status-change rule then
    /// stops its task and releases its lock.
    Aborted(u64),
    /// Every function it calls fails (Lambda.Unknown) from this many seconds after it started,
    /// the status-change rule's included: only its lease can free the lock.
    Crashed(u64),
    /// PollStatus fails for good (a Migration.TaskMissing): the failure path runs.
    Fails,
    /// A person aborts it this many seconds after it started, while its run-task invocation is
    /// in flight: as with Lambda, the invocation goes on after the abort (detached here).
    AbortedDuringRunTask(u64),
    /// Lambda fails every PollStatus invocation (Lambda.ServiceException, at once) from `from`
    /// seconds after the start for `secs` seconds: an outage PollStatus's Retry rides out.
    PollOutage { from: u64, secs: u64 },
}

/// One execution of the migration.
#[derive(Debug, Clone)]
struct Start {
    name: String,
    /// Seconds after t0 it starts.
    at: u64,
    fate: Fate,
    input: Value,
}

impl Start {
    fn new(name: &str, at: u64, fate: Fate) -> Self {
        Self {
            name: name.to_string(),
            at,
            fate,
            input: bare(),
        }
    }

    fn arn(&self) -> String {
        format!(
            "arn:aws:states:eu-west-1:123456789012:execution:ecs-migrate:{}",
            self.name
        )
    }
}

/// The step binding of one execution, with its fate's faults in front.
struct Fated {
    inner: Arc<StepBinding>,
    clock: Arc<VirtualClock>,
    started: DateTime<Utc>,
    fate: Fate,
    /// Invocations that outlive their execution, awaited by the world before it checks.
    detached: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

#[async_trait]
impl TaskInvoker for Fated {
    async fn invoke(&self, call: TaskCall) -> Result<Value, TaskFailure> {
        let since_start = (self.clock.now() - self.started).num_seconds().max(0) as u64;
        let crashed = || {
            TaskFailure::new(
                "Lambda.Unknown",
                "The function crashed (injected by the scenario)",
            )
        };
        match self.fate {
            Fate::Crashed(after) if since_start >= after => Err(crashed()),
            // An invocation in flight dies with its function: whatever it was doing (waiting,
            // renewing the lease) stops at that moment.
            Fate::Crashed(after) => {
                let left = Duration::from_secs(after - since_start);
                tokio::select! {
                    answer = self.inner.invoke(call) => answer,
                    _ = self.clock.sleep(left) => Err(crashed()),
                }
            }
            Fate::AbortedDuringRunTask(_) if call.state_name == "RunTask" => {
                let (answer, answered) = tokio::sync::oneshot::channel();
                let inner = self.inner.clone();
                let invocation = tokio::spawn(async move {
                    let _ = answer.send(inner.invoke(call).await);
                });
                self.detached.lock().unwrap().push(invocation);
                answered
                    .await
                    .unwrap_or_else(|_| Err(TaskFailure::new("Lambda.Unknown", "detached")))
            }
            Fate::PollOutage { from, secs }
                if call.state_name == "PollStatus"
                    && (from..from + secs).contains(&since_start) =>
            {
                Err(TaskFailure::new(
                    "Lambda.ServiceException",
                    "Lambda is unavailable (injected by the scenario)",
                ))
            }
            Fate::Fails if call.state_name == "PollStatus" => Err(TaskFailure::new(
                "Migration.TaskMissing",
                "task can no longer be described (injected by the scenario)",
            )),
            _ => self.inner.invoke(call).await,
        }
    }
}

struct World {
    clock: Arc<VirtualClock>,
    fake: Arc<FakeEcs>,
    lock: MemoryLockTable,
    settings: Vec<(&'static str, String)>,
    detached: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

struct Ended {
    start: Start,
    result: ExecutionResult,
}

impl Ended {
    fn lock_output(&self) -> Value {
        self.result
            .output
            .as_ref()
            .map_or(Value::Null, |o| o["lock"].clone())
    }

    fn cause(&self) -> String {
        error_message(self.result.cause.as_deref().unwrap_or_default())
    }
}

impl World {
    fn new(script: Script, settings: &[(&'static str, &str)]) -> Self {
        let clock = Arc::new(VirtualClock::starting_at(t0()));
        Self {
            fake: FakeEcs::new(clock.clone(), script),
            clock,
            lock: MemoryLockTable::new(),
            settings: settings.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            detached: Arc::default(),
        }
    }

    fn settings(&self) -> ecs_migrate::migration::settings::Settings {
        let pairs: Vec<(&str, &str)> = self
            .settings
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .collect();
        settings_with(&pairs)
    }

    /// Runs every start at its time, all at once on the virtual clock, each followed by the
    /// status-change rule's stop-task when it ends FAILED or ABORTED (unless its functions
    /// crashed). Also watches that no two tasks are ever unstopped at once.
    async fn run(&self, starts: Vec<Start>) -> Vec<Ended> {
        let executions = starts.into_iter().map(|start| self.execute(start));
        let ended = join_all(executions).await;
        // Invocations that outlived their execution finish too.
        let detached: Vec<_> = self.detached.lock().unwrap().drain(..).collect();
        for invocation in detached {
            invocation.await.unwrap();
        }
        ended
    }

    async fn execute(&self, start: Start) -> Ended {
        let settings = self.settings();
        self.clock.sleep(Duration::from_secs(start.at)).await;
        let invoker = Arc::new(Fated {
            inner: Arc::new(steps(
                settings.clone(),
                self.fake.clone(),
                self.clock.clone(),
                &self.lock,
            )),
            clock: self.clock.clone(),
            started: self.clock.now(),
            fate: start.fate,
            detached: self.detached.clone(),
        });
        let executor = Executor::new(definition(), invoker, self.clock.clone())
            .with_execution_name(&start.name)
            .with_state_machine_name("ecs-migrate")
            .with_account("eu-west-1", "123456789012");
        let abort_clock = self.clock.clone();
        let fate = start.fate;
        let result = executor
            .run(start.input.clone(), async move {
                match fate {
                    Fate::Aborted(after) | Fate::AbortedDuringRunTask(after) => {
                        abort_clock.sleep(Duration::from_secs(after)).await
                    }
                    _ => std::future::pending().await,
                }
            })
            .await;
        let ended_badly = matches!(
            result.status,
            ExecutionStatus::Failed | ExecutionStatus::Aborted | ExecutionStatus::TimedOut
        );
        if ended_badly && !matches!(start.fate, Fate::Crashed(_)) {
            status_change(
                &settings,
                &self.fake,
                &self.clock,
                &self.lock,
                &start.name,
                result.status.as_str(),
                &start.input,
            )
            .await
            .expect("the status-change rule's stop-task");
        }
        Ended { start, result }
    }

    /// No two tasks' lives (RunTask to STOPPED) overlap; the number of tasks.
    fn assert_one_task_at_a_time(&self) -> usize {
        let mut lives = self.fake.task_lives();
        lives.sort_by_key(|(_, run_at, _)| *run_at);
        for pair in lives.windows(2) {
            let (first, _, stopped) = &pair[0];
            let (second, started, _) = &pair[1];
            let stopped =
                stopped.unwrap_or_else(|| panic!("{first} never stopped, yet {second} started"));
            assert!(
                stopped <= *started,
                "{second} started at {started} while {first} ran until {stopped}"
            );
        }
        lives.len()
    }

    fn assert_nothing_locked(&self) {
        assert_eq!(self.lock.items(), vec![], "a lock was left behind");
    }
}

/// The figures of a run: the virtual time from the first start to the last end, the longest
/// lock wait, and the history events of the execution that waited longest.
fn figures(ended: &[Ended]) -> (i64, i64, usize) {
    let last_end = ended
        .iter()
        .filter_map(|e| e.result.history.last().map(|h| h.timestamp))
        .max()
        .unwrap_or(t0());
    let waited = |e: &Ended| -> i64 {
        e.result
            .output
            .as_ref()
            .and_then(|o| o["lock"]["waited_seconds"].as_i64())
            .or_else(|| history_lock_wait(e))
            .unwrap_or(0)
    };
    let longest = ended.iter().max_by_key(|e| waited(e));
    (
        (last_end - t0()).num_seconds(),
        longest.map_or(0, waited),
        longest.map_or(0, |e| e.result.history.len()),
    )
}

/// Every state's output, as the history records it.
fn state_outputs(result: &ExecutionResult) -> impl Iterator<Item = &str> {
    result.history.iter().filter_map(|e| match &e.details {
        EventDetails::StateExited { output, .. } => Some(output.as_str()),
        _ => None,
    })
}

/// The wait AcquireLock reported (ReleaseLock overwrites `$.lock`, so read it from the history).
fn history_lock_wait(ended: &Ended) -> Option<i64> {
    state_outputs(&ended.result)
        .filter_map(|text| serde_json::from_str::<Value>(text).ok())
        .filter_map(|data| data["lock"]["waited_seconds"].as_i64())
        .max()
}

#[tokio::test]
async fn two_executions_started_together_run_one_after_the_other() {
    // Rounds of 30 s, so the waiter answers WAITING (and says for whom) before it gets the lock.
    let world = World::new(Script::default(), &[("POLL_MAX_WAIT_SECONDS", "30")]);
    let ended = world
        .run(vec![
            Start::new("first", 0, Fate::Normal),
            Start::new("second", 0, Fate::Normal),
        ])
        .await;
    for e in &ended {
        assert_eq!(
            e.result.status,
            ExecutionStatus::Succeeded,
            "{}",
            e.start.name
        );
    }
    assert_eq!(world.assert_one_task_at_a_time(), 2);
    world.assert_nothing_locked();
    // The second waited for the whole of the first migration (80 s of task), and said for whom.
    let waits: Vec<i64> = ended.iter().filter_map(history_lock_wait).collect();
    assert!(waits.iter().any(|w| *w >= 80), "{waits:?}");
    let waiting = ended
        .iter()
        .flat_map(|e| state_outputs(&e.result))
        .find(|text| text.contains("\"WAITING\""))
        .expect("a WAITING answer in the history");
    assert!(
        waiting.contains("waiting for app:42 (execution "),
        "{waiting}"
    );
}

#[tokio::test]
async fn a_failed_holder_releases_after_its_task_stopped() {
    let world = World::new(
        Script {
            exit_code: 3,
            ..Script::default()
        },
        &[],
    );
    let ended = world
        .run(vec![
            Start::new("fails", 0, Fate::Normal),
            Start::new("next", 1, Fate::Normal),
        ])
        .await;
    for e in &ended {
        assert_eq!(e.result.error.as_deref(), Some("Migration.NonZeroExit"));
    }
    assert_eq!(world.assert_one_task_at_a_time(), 2);
    world.assert_nothing_locked();
}

#[tokio::test]
async fn an_aborted_holder_is_released_by_the_status_change_rule_after_its_task_stopped() {
    let world = World::new(
        Script {
            running: 3600,
            stop_delay: 30,
            ..Script::default()
        },
        &[("MAX_DURATION_SECONDS", "7200")],
    );
    let ended = world
        .run(vec![
            Start::new("aborted", 0, Fate::Aborted(300)),
            Start::new("next", 10, Fate::Aborted(1200)),
        ])
        .await;
    assert!(ended
        .iter()
        .all(|e| e.result.status == ExecutionStatus::Aborted));
    assert_eq!(world.assert_one_task_at_a_time(), 2);
    world.assert_nothing_locked();
}

#[tokio::test]
async fn a_timed_out_holder_keeps_the_lock_until_its_task_is_stopped() {
    let world = World::new(
        Script {
            running: 3600,
            stop_delay: 30,
            ..Script::default()
        },
        &[("MAX_DURATION_SECONDS", "120")],
    );
    let ended = world
        .run(vec![
            Start::new("slow", 0, Fate::Normal),
            Start::new("next", 1, Fate::Normal),
        ])
        .await;
    for e in &ended {
        assert_eq!(
            e.result.error.as_deref(),
            Some("Migration.Timeout"),
            "{}",
            e.cause()
        );
        // The deadline counts from when the execution got the lock.
        assert!(
            e.cause()
                .contains("counted from when it got the migration lock"),
            "{}",
            e.cause()
        );
    }
    assert_eq!(world.assert_one_task_at_a_time(), 2);
    world.assert_nothing_locked();
}

#[tokio::test]
async fn a_failed_stop_keeps_the_lock_until_the_status_change_rule_stopped_the_task() {
    let world = World::new(
        Script {
            running: 3600,
            stop_denials: 1,
            stop_delay: 30,
            ..Script::default()
        },
        &[("MAX_DURATION_SECONDS", "120")],
    );
    let ended = world
        .run(vec![
            Start::new("unstoppable", 0, Fate::Normal),
            Start::new("next", 1, Fate::Normal),
        ])
        .await;
    let first = ended
        .iter()
        .find(|e| e.start.name == "unstoppable")
        .unwrap();
    assert!(
        first.cause().contains("COULD NOT BE STOPPED"),
        "{}",
        first.cause()
    );
    // StopFailed skips the release: the lock stays the holder's until the rule stopped the task.
    let entered: Vec<&str> = first
        .result
        .history
        .iter()
        .filter(|e| e.event_type.as_str().ends_with("StateEntered"))
        .filter_map(|e| e.state_name())
        .collect();
    assert!(entered.contains(&"StopFailed"), "{entered:?}");
    assert!(!entered.contains(&"ReleaseLock"), "{entered:?}");
    assert_eq!(world.assert_one_task_at_a_time(), 2);
    world.assert_nothing_locked();
}

/// Issue 19: the default lease (1,800 s) outlasts an outage PollStatus's Retry rides out. Lambda
/// fails every PollStatus invocation that starts between 700 s and 2,220 s in: the poll round
/// running at 700 s ends at about 1,200 s, and the Retry's waits (5, 10, 20, 40, then 60 s; 19
/// of its 20) bring the next successful invocation, which renews, about 1,035 s later. With the
/// old 900 s lease (renewed every 300 s, last at about 900 s) the waiting execution took over
/// after about 1,800 s and stopped the healthy migration: Settings now refuses that lease on
/// Lambda (this scenario reads its settings without that check, and `LOCK_LEASE_SECONDS=900`
/// here fails it).
#[tokio::test]
async fn a_poll_status_outage_the_retry_rides_out_keeps_the_lock() {
    let world = World::new(
        Script {
            running: 3000,
            ..Script::default()
        },
        &[
            ("MAX_DURATION_SECONDS", "7200"),
            ("LOCK_WAIT_SECONDS", "7200"),
        ],
    );
    let ended = world
        .run(vec![
            Start::new(
                "outage",
                0,
                Fate::PollOutage {
                    from: 700,
                    secs: 1520,
                },
            ),
            Start::new("next", 10, Fate::Normal),
        ])
        .await;
    for e in &ended {
        assert_eq!(
            e.result.status,
            ExecutionStatus::Succeeded,
            "{}: {}",
            e.start.name,
            e.cause()
        );
    }
    let next = ended.iter().find(|e| e.start.name == "next").unwrap();
    assert_eq!(
        next.lock_output()["took_over_from"],
        Value::Null,
        "{}",
        next.lock_output()
    );
    // The first migration ran to its own end (not stopped by a takeover), then the next one.
    assert_eq!(world.assert_one_task_at_a_time(), 2);
    let lives = world.fake.task_lives();
    let (_, run_at, stopped) = &lives[0];
    assert!(
        stopped.unwrap() >= *run_at + chrono::Duration::seconds(3000),
        "the first task was stopped at {stopped:?}, before its natural end"
    );
    world.assert_nothing_locked();
}

#[tokio::test]
async fn a_holder_whose_functions_all_died_is_taken_over_after_its_task_is_stopped() {
    let world = World::new(
        Script {
            running: 3600,
            stop_delay: 30,
            ..Script::default()
        },
        &[
            ("MAX_DURATION_SECONDS", "7200"),
            ("LOCK_LEASE_SECONDS", "300"),
        ],
    );
    // The holder's functions die 30 s in, while its task runs; nobody renews its lease.
    let ended = world
        .run(vec![
            Start::new("dead", 0, Fate::Crashed(30)),
            Start::new("next", 5, Fate::Normal),
        ])
        .await;
    let dead = ended.iter().find(|e| e.start.name == "dead").unwrap();
    let next = ended.iter().find(|e| e.start.name == "next").unwrap();
    assert_eq!(
        next.result.status,
        ExecutionStatus::Succeeded,
        "{}",
        next.cause()
    );
    let took_over = history_output_with(next, "took_over_from");
    assert_eq!(
        took_over["lock"]["took_over_from"]["execution"],
        dead.start.arn(),
        "{took_over}"
    );
    // The dead holder's task was stopped before the next one started.
    assert_eq!(world.assert_one_task_at_a_time(), 2);
    let lives = world.fake.task_lives();
    let (_, _, dead_stopped) = &lives[0];
    let stopped = dead_stopped.unwrap();
    // Not before the lease ran out (300 s after the last renewal, which was at most 30 s in).
    assert!(
        stopped >= t0() + chrono::Duration::seconds(300),
        "{stopped}"
    );
    world.assert_nothing_locked();
}

fn history_output_with(ended: &Ended, field: &str) -> Value {
    state_outputs(&ended.result)
        .filter(|text| text.contains(field))
        .filter_map(|text| serde_json::from_str::<Value>(text).ok())
        .find(|data| !data["lock"][field].is_null())
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_wait_that_runs_out_fails_with_migration_locked_and_starts_nothing() {
    for wait in ["60", "0"] {
        let world = World::new(
            Script {
                running: 3600,
                ..Script::default()
            },
            &[
                ("MAX_DURATION_SECONDS", "7200"),
                ("LOCK_WAIT_SECONDS", wait),
            ],
        );
        let ended = world
            .run(vec![
                Start::new("holder", 0, Fate::Aborted(600)),
                Start::new("waiter", 10, Fate::Normal),
            ])
            .await;
        let waiter = ended.iter().find(|e| e.start.name == "waiter").unwrap();
        assert_eq!(
            waiter.result.error.as_deref(),
            Some("Migration.Locked"),
            "{wait}"
        );
        let cause = waiter.cause();
        assert!(cause.contains("app:42 (execution holder, since"), "{cause}");
        assert!(cause.contains(&format!("{wait} s")), "{cause}");
        assert!(cause.contains("ran no task"), "{cause}");
        assert_eq!(world.fake.tasks_started(), 1, "the waiter started a task");
        // Waiting cost few events: AcquireLock and its Choice per minute-long check at most.
        assert!(
            waiter.result.history.len() < 40,
            "{}",
            waiter.result.history.len()
        );
        world.assert_nothing_locked();
    }
}

#[tokio::test]
async fn another_execution_of_the_same_event_is_not_blocked_by_its_lock() {
    let world = World::new(Script::default(), &[]);
    let event = json!({
        "version": "0", "id": "0d1e9a4c-twice", "detail-type": "AWS ECS Migration Task",
        "source": "ecs.migration", "account": "123456789012", "time": "2026-11-25T12:00:00Z",
        "region": "eu-west-1", "resources": [], "detail": {"taskdef_arn": "app:42"}
    });
    let mut first = Start::new("delivery-1", 0, Fate::Normal);
    first.input = event.clone();
    let mut second = Start::new("delivery-2", 1, Fate::Normal);
    second.input = event;
    let ended = world.run(vec![first, second]).await;
    let second = ended.iter().find(|e| e.start.name == "delivery-2").unwrap();
    assert_eq!(second.result.status, ExecutionStatus::Succeeded);
    assert_eq!(second.lock_output()["outcome"], "DUPLICATE");
    assert_eq!(world.fake.tasks_started(), 1);
    world.assert_nothing_locked();
}

/// Issue 10's figure: 50 executions started at once on one scope.
#[tokio::test]
async fn fifty_executions_at_once_finish_one_after_another() {
    let world = World::new(Script::default(), &[("LOCK_WAIT_SECONDS", "86400")]);
    let starts = (0..50)
        .map(|i| Start::new(&format!("deploy-{i:02}"), 0, Fate::Normal))
        .collect();
    let ended = world.run(starts).await;
    for e in &ended {
        assert_eq!(
            e.result.status,
            ExecutionStatus::Succeeded,
            "{}: {}",
            e.start.name,
            e.cause()
        );
    }
    assert_eq!(world.assert_one_task_at_a_time(), 50);
    world.assert_nothing_locked();
    let (total, longest_wait, events) = figures(&ended);
    println!(
        "50 executions on one scope: {total} s of virtual time in all, longest lock wait {longest_wait} s, {events} history events for the longest waiter"
    );
    // Each migration's task lives 80 s; a waiter looks again within 20 s of a release.
    assert!(total < 50 * (80 + 20), "{total}");
    assert!(events < 400, "{events}");
}

fn fate() -> impl Strategy<Value = Fate> {
    prop_oneof![
        3 => Just(Fate::Normal),
        1 => (1u64..400).prop_map(Fate::Aborted),
        1 => (1u64..200).prop_map(Fate::Crashed),
        1 => Just(Fate::Fails),
        1 => (1u64..400).prop_map(Fate::AbortedDuringRunTask),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Under random starts, aborts, failures and crashes: never two unstopped tasks in the
    /// scope, and once all settle, nothing stays locked that a new execution cannot take: a
    /// probe started after the longest lease gets the lock and succeeds, leaving it free.
    #[test]
    fn never_two_tasks_and_nothing_stuck(
        plan in prop::collection::vec((0u64..300, fate()), 2..6),
        running in 30u64..900,
        lag_seed in any::<u64>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let world = World::new(
                // Each case draws its own eventual-consistency lag.
                Script { running, stop_delay: 20, lag: Some(lag_seed), ..Script::default() },
                &[("LOCK_LEASE_SECONDS", "300"), ("LOCK_WAIT_SECONDS", "7200")],
            );
            let starts: Vec<Start> = plan
                .iter()
                .enumerate()
                .map(|(i, (at, fate))| Start::new(&format!("e{i}"), *at, *fate))
                .collect();
            let ended = world.run(starts).await;
            // Each execution ended as its fate allows: the lock makes the others wait, it
            // never fails or loses a healthy one.
            for e in &ended {
                let (status, error) = (e.result.status, e.result.error.as_deref());
                let allowed = match e.start.fate {
                    Fate::Normal => status == ExecutionStatus::Succeeded,
                    Fate::Fails => error == Some("Migration.TaskMissing"),
                    Fate::PollOutage { .. } => status == ExecutionStatus::Succeeded,
                    Fate::Aborted(_) | Fate::AbortedDuringRunTask(_) => matches!(status, ExecutionStatus::Aborted | ExecutionStatus::Succeeded),
                    Fate::Crashed(_) => matches!(status, ExecutionStatus::Failed | ExecutionStatus::Succeeded)
                        && error.is_none_or(|e| e == "Lambda.Unknown"),
                };
                prop_assert!(allowed, "{} ({:?}) ended {:?} {:?}: {}", e.start.name, e.start.fate, status, error, e.cause());
            }
            let tasks = world.assert_one_task_at_a_time();
            let succeeded = ended.iter().filter(|e| e.result.status == ExecutionStatus::Succeeded).count();
            prop_assert!(tasks >= succeeded, "{succeeded} succeeded with {tasks} tasks");
            // Settle: past any lease and any task's natural end, then a probe.
            world.clock.sleep(Duration::from_secs(3600)).await;
            let probe = world.run(vec![Start::new("probe", 0, Fate::Normal)]).await;
            prop_assert_eq!(probe[0].result.status, ExecutionStatus::Succeeded, "{}", probe[0].cause());
            world.assert_one_task_at_a_time();
            world.assert_nothing_locked();
            Ok(())
        })?;
    }
}

/// Issue 19: the lock waits for the task it recorded. The aborted holder's task takes 400 s
/// to stop (a SIGTERM-trapping migration on EC2), longer than the status-change cleanup may
/// wait (POLL_MAX_WAIT_SECONDS=120): the cleanup stops it and keeps the lock, the next
/// execution takes the lease over only once the task is STOPPED, and at no moment do two tasks
/// of the scope live (RunTask to STOPPED) at once.
#[tokio::test]
async fn a_task_slow_to_stop_keeps_the_lock_until_it_is_stopped() {
    let world = World::new(
        Script {
            running: 3600,
            stop_delay: 400,
            ..Script::default()
        },
        &[
            ("MAX_DURATION_SECONDS", "7200"),
            ("LOCK_LEASE_SECONDS", "300"),
            ("LOCK_WAIT_SECONDS", "7200"),
            ("POLL_MAX_WAIT_SECONDS", "120"),
        ],
    );
    let ended = world
        .run(vec![
            Start::new("slow", 0, Fate::Aborted(120)),
            Start::new("next", 10, Fate::Aborted(1500)),
        ])
        .await;
    assert!(ended
        .iter()
        .all(|e| e.result.status == ExecutionStatus::Aborted));
    assert_eq!(world.assert_one_task_at_a_time(), 2);
    let lives = world.fake.task_lives();
    let (_, _, slow_stopped) = &lives[0];
    // Stopped 400 s after the abort's StopTask, not before: the lock waited all that time.
    assert!(
        slow_stopped.unwrap() >= t0() + chrono::Duration::seconds(120 + 400),
        "{slow_stopped:?}"
    );
    // The second holder's task drains as slowly: its lock is kept too, past its cleanup.
    let kept: Vec<String> = world.lock.items().into_iter().map(|i| i.holder).collect();
    assert_eq!(kept, vec![ended[1].start.arn()]);
    // Once all settled, a probe takes that lock over and runs to success, leaving it free.
    world.clock.sleep(Duration::from_secs(3600)).await;
    let probe = world.run(vec![Start::new("probe", 0, Fate::Normal)]).await;
    assert_eq!(
        probe[0].result.status,
        ExecutionStatus::Succeeded,
        "{}",
        probe[0].cause()
    );
    assert_eq!(world.assert_one_task_at_a_time(), 3);
    world.assert_nothing_locked();
}

/// Issue 19: an abort while run-task's RunTask is in flight. The status-change cleanup finds
/// no task (none exists yet) and releases the lock; the RunTask then starts one, and run-task's
/// renewal fails with Migration.LockLost: run-task stops the task it started (asking again
/// while ECS does not show it yet). Nothing runs on, nothing stays locked, and a later
/// execution gets the lock.
#[tokio::test]
async fn an_abort_during_run_task_leaves_no_task_running() {
    let world = World::new(
        Script {
            running: 3600,
            run_task_delay: 200,
            ..Script::default()
        },
        &[("MAX_DURATION_SECONDS", "7200")],
    );
    let ended = world
        .run(vec![Start::new(
            "aborted",
            0,
            Fate::AbortedDuringRunTask(30),
        )])
        .await;
    assert_eq!(ended[0].result.status, ExecutionStatus::Aborted);
    assert_eq!(
        world.fake.tasks_started(),
        1,
        "the RunTask in flight started one"
    );
    // StopTask's effect shows within the fake's lag, the task STOPPED after its stop delay.
    world.clock.sleep(Duration::from_secs(60)).await;
    assert_eq!(world.fake.unstopped_tasks(), Vec::<String>::new());
    let (arn, _, _) = world.fake.task_lives()[0].clone();
    let TaskLookup::Found(task) = world.fake.describe_task(CLUSTER, &arn).await.unwrap() else {
        panic!("{arn} not shown");
    };
    assert_eq!(task.stop_code.as_deref(), Some("UserInitiated"), "{task:?}");
    assert!(
        task.stopped_reason
            .as_deref()
            .unwrap_or_default()
            .contains("lost its migration lock"),
        "{task:?}"
    );
    world.assert_nothing_locked();
    // Settled: a later execution takes the lock and runs, one task at a time.
    world.clock.sleep(Duration::from_secs(600)).await;
    let later = world
        .run(vec![Start::new("later", 0, Fate::Aborted(900))])
        .await;
    assert_eq!(later[0].result.status, ExecutionStatus::Aborted);
    assert_eq!(world.assert_one_task_at_a_time(), 2);
    world.assert_nothing_locked();
}

/// A task ECS does not show yet when the cleanup looks (MISSING for 90 s after RunTask,
/// within MISSING_GRACE_SECONDS): StopTask does not find it, which proves nothing, so the
/// cleanup keeps the lock, stops the task once ECS shows it, and releases only once it is
/// STOPPED; the waiting execution's task never overlaps it.
#[tokio::test]
async fn a_task_missing_when_the_cleanup_looks_is_stopped_before_the_lock_goes() {
    let world = World::new(
        Script {
            running: 3600,
            missing_for: Some(90),
            stop_delay: 30,
            ..Script::default()
        },
        &[
            ("MAX_DURATION_SECONDS", "7200"),
            ("MISSING_GRACE_SECONDS", "120"),
        ],
    );
    let ended = world
        .run(vec![
            Start::new("aborted", 0, Fate::Aborted(20)),
            Start::new("next", 5, Fate::Aborted(900)),
        ])
        .await;
    assert!(ended
        .iter()
        .all(|e| e.result.status == ExecutionStatus::Aborted));
    assert_eq!(world.assert_one_task_at_a_time(), 2);
    world.assert_nothing_locked();
}

/// Issue 19: release-lock when the lock item records no task (RunTask answered, but the renewal
/// that records its task never succeeded, and stop-task then stopped it). ListTasks without
/// desiredStatus no longer lists a task being stopped, so release-lock also lists the
/// execution's tasks with desiredStatus STOPPED, and keeps the lock while one drains.
#[tokio::test]
async fn release_lock_waits_for_a_stopping_task_the_lock_item_does_not_record() {
    use ecs_migrate::migration::steps::StepEnv;
    use ecs_migrate::migration::tasks::started_by_for_execution;
    use ecs_migrate::ports::ecs::{AwsVpc, Placement, RunTaskOutcome, RunTaskParams};
    use ecs_migrate::ports::lock::{Expected, LockItem, LockTable};
    use ecs_migrate::statemachine::Step;

    let clock = Arc::new(VirtualClock::starting_at(t0()));
    let fake = FakeEcs::new(
        clock.clone(),
        Script {
            running: 3600,
            stop_delay: 600,
            ..Script::default()
        },
    );
    let execution = "arn:aws:states:eu-west-1:123456789012:execution:ecs-migrate:e";
    let started_by = started_by_for_execution(execution);
    let params = RunTaskParams {
        cluster: CLUSTER.into(),
        task_definition: crate::fake_ecs::TASKDEF_ARN.into(),
        container: crate::fake_ecs::CONTAINER.into(),
        command: vec!["migrate".into()],
        network: Some(AwsVpc {
            subnets: vec!["subnet-1".into()],
            security_groups: vec![],
            assign_public_ip: false,
        }),
        placement: Placement::LaunchType("FARGATE".into()),
        platform_version: None,
        client_token: "token-e".into(),
        started_by: started_by.clone(),
        tags: vec![],
    };
    let RunTaskOutcome::Started { task_arn } = fake.run_task(&params).await.unwrap() else {
        panic!("not started");
    };
    clock.sleep(Duration::from_secs(30)).await;
    fake.stop_task(CLUSTER, &task_arn, "ecs-migrate: execution e failed")
        .await
        .unwrap();
    // StopTask's effect shows (the fake's lag is at most 3 s); the task drains for 600 s.
    clock.sleep(Duration::from_secs(5)).await;
    assert!(fake
        .list_tasks_started_by(CLUSTER, &started_by)
        .await
        .unwrap()
        .is_empty());

    let lock = MemoryLockTable::new();
    let item = LockItem {
        scope: "app".into(),
        holder: execution.into(),
        execution_name: Some("e".into()),
        client_token: "token-e".into(),
        taskdef_arn: crate::fake_ecs::TASKDEF_ARN.into(),
        family: "app".into(),
        revision: 42,
        cluster: CLUSTER.into(),
        started_by: started_by.clone(),
        task_arn: None,
        since: t0(),
        lease_until: t0() + chrono::Duration::seconds(900),
    };
    assert!(lock.put(&item, Expected::Free).await.unwrap());
    let executions = ecs_migrate::ports::executions::MemoryExecutions::new();
    executions.put(
        execution,
        "arn:aws:states:eu-west-1:123456789012:stateMachine:ecs-migrate",
        "RUNNING",
    );
    let settings = settings_with(&[("POLL_MAX_WAIT_SECONDS", "120")]);
    let env = StepEnv {
        settings: &settings,
        ecs: fake.as_ref(),
        logs: fake.as_ref(),
        clock: clock.as_ref(),
        lock: &lock,
        deployments: &ecs_migrate::ports::deployments::NoDeployments,
        executions: &executions,
    };
    let request = serde_json::json!({
        "taskdef_arn": crate::fake_ecs::TASKDEF_ARN, "family": "app", "revision": 42,
        "cluster": CLUSTER, "container": crate::fake_ecs::CONTAINER, "command": ["migrate"],
        "client_token": "token-e", "started_by": started_by, "execution_name": "e",
        "execution_id": execution, "started_at": t0(), "deadline": t0() + chrono::Duration::hours(2),
    });
    let input = serde_json::json!({"request": request, "execution_id": execution});
    let answer = Step::ReleaseLock.run(&env, input, None).await.unwrap();
    assert_eq!(answer["released"], false, "{answer}");
    assert!(
        answer["note"].as_str().unwrap().contains(&task_arn),
        "{answer}"
    );
    assert_eq!(
        lock.items().len(),
        1,
        "the lock stays while the task drains"
    );
    // Once STOPPED, release-lock lets go.
    clock.sleep(Duration::from_secs(600)).await;
    let input = serde_json::json!({"request": request, "execution_id": execution});
    let answer = Step::ReleaseLock.run(&env, input, None).await.unwrap();
    assert_eq!(answer["released"], true, "{answer}");
    assert_eq!(lock.items(), vec![]);
}

/// ECS throttling and 5xx below the steps (API Reference, Common Errors): a RunTask answered
/// ServerException, a DescribeTasks and a ListTasks answered ThrottlingException are retried
/// (Migration.AwsTransient) and the migration runs once, its lock released.
#[tokio::test]
async fn throttled_and_failed_ecs_calls_are_retried_without_a_second_task() {
    let world = World::new(Script::default(), &[]);
    world.fake.fail_next("ecs:RunTask", "ServerException");
    world
        .fake
        .fail_next("ecs:DescribeTasks", "ThrottlingException");
    world.fake.fail_next("ecs:ListTasks", "ThrottlingException");
    let ended = world
        .run(vec![Start::new("throttled", 0, Fate::Normal)])
        .await;
    assert_eq!(
        ended[0].result.status,
        ExecutionStatus::Succeeded,
        "{}",
        ended[0].cause()
    );
    let run_tasks = world
        .fake
        .calls()
        .iter()
        .filter(|c| **c == "ecs:RunTask")
        .count();
    assert_eq!(run_tasks, 2, "the failed RunTask and its retry");
    assert_eq!(world.assert_one_task_at_a_time(), 1);
    world.assert_nothing_locked();
}

/// A lock table whose DeleteItem goes through but answers ConditionalCheckFailed: what the
/// SDK's own retry of a DeleteItem whose first answer was lost (a timeout) gets, the item
/// being gone by then.
struct DeleteAnsweredLost(MemoryLockTable);

#[async_trait]
impl ecs_migrate::ports::lock::LockTable for DeleteAnsweredLost {
    async fn get(
        &self,
        scope: &str,
    ) -> Result<Option<ecs_migrate::ports::lock::LockItem>, ecs_migrate::ports::lock::LockError>
    {
        self.0.get(scope).await
    }
    async fn put(
        &self,
        item: &ecs_migrate::ports::lock::LockItem,
        expected: ecs_migrate::ports::lock::Expected<'_>,
    ) -> Result<bool, ecs_migrate::ports::lock::LockError> {
        self.0.put(item, expected).await
    }
    async fn renew(
        &self,
        scope: &str,
        holder: &str,
        lease_until: DateTime<Utc>,
        task_arn: Option<&str>,
    ) -> Result<bool, ecs_migrate::ports::lock::LockError> {
        self.0.renew(scope, holder, lease_until, task_arn).await
    }
    async fn release(
        &self,
        scope: &str,
        holder: &str,
    ) -> Result<bool, ecs_migrate::ports::lock::LockError> {
        assert!(
            self.0.release(scope, holder).await?,
            "the first try deletes"
        );
        Ok(false)
    }
}

/// ReleaseLock's DeleteItem went through but its answer was lost. Retried by the state
/// machine (the memory table's injected lost answer) or by the SDK (a ConditionalCheckFailed
/// answer to the retried delete), ReleaseLock finds the lock free and reports it released; a
/// lock another execution holds is never reported released.
#[tokio::test]
async fn release_lock_after_a_lost_answer_reports_the_free_lock_released() {
    use ecs_migrate::migration::steps::StepEnv;
    use ecs_migrate::ports::lock::{Expected, LockCall, LockFault, LockItem, LockTable};
    use ecs_migrate::statemachine::Step;

    let clock = Arc::new(VirtualClock::starting_at(t0()));
    let fake = FakeEcs::new(clock.clone(), Script::default());
    let execution = "arn:aws:states:eu-west-1:123456789012:execution:ecs-migrate:e";
    let item = |holder: &str| LockItem {
        scope: "app".into(),
        holder: holder.into(),
        execution_name: Some("e".into()),
        client_token: "token-e".into(),
        taskdef_arn: crate::fake_ecs::TASKDEF_ARN.into(),
        family: "app".into(),
        revision: 42,
        cluster: CLUSTER.into(),
        started_by: "ecs-migrate/e".into(),
        task_arn: None,
        since: t0(),
        lease_until: t0() + chrono::Duration::seconds(900),
    };
    let executions = ecs_migrate::ports::executions::MemoryExecutions::new();
    executions.put(
        execution,
        "arn:aws:states:eu-west-1:123456789012:stateMachine:ecs-migrate",
        "RUNNING",
    );
    let settings = settings_with(&[]);
    let memory = MemoryLockTable::new();
    let sdk_retried = DeleteAnsweredLost(memory.clone());
    let env = |lock| StepEnv {
        settings: &settings,
        ecs: fake.as_ref(),
        logs: fake.as_ref(),
        clock: clock.as_ref(),
        lock,
        deployments: &ecs_migrate::ports::deployments::NoDeployments,
        executions: &executions,
    };
    let request = json!({
        "taskdef_arn": crate::fake_ecs::TASKDEF_ARN, "family": "app", "revision": 42,
        "cluster": CLUSTER, "container": crate::fake_ecs::CONTAINER, "command": ["migrate"],
        "client_token": "token-e", "started_by": "ecs-migrate/e", "execution_name": "e",
        "execution_id": execution, "started_at": t0(), "deadline": t0() + chrono::Duration::hours(2),
    });
    // $.lock as AcquireLock left it.
    let input = json!({"request": request, "execution_id": execution, "lock": {
        "outcome": "ACQUIRED", "scope": "app", "holder": execution, "since": t0(),
        "lease_until": t0() + chrono::Duration::seconds(900),
        "deadline": t0() + chrono::Duration::hours(2), "waited_seconds": 0,
    }});

    // The state machine's retry: the first invocation fails (AwsTransient), the item is gone.
    assert!(memory.put(&item(execution), Expected::Free).await.unwrap());
    memory.fail_next(LockCall::Release, LockFault::AnswerLost);
    let lost = Step::ReleaseLock
        .run(&env(&memory), input.clone(), None)
        .await
        .unwrap_err();
    assert_eq!(lost.kind(), ecs_migrate::ErrorKind::AwsTransient);
    assert_eq!(memory.items(), vec![], "the delete went through");
    let answer = Step::ReleaseLock
        .run(&env(&memory), input.clone(), None)
        .await
        .unwrap();
    assert_eq!(answer["released"], true, "{answer}");
    assert!(
        answer["note"].as_str().unwrap().contains("free"),
        "{answer}"
    );

    // The SDK's retry: one invocation, the delete's answer a failed condition.
    assert!(memory.put(&item(execution), Expected::Free).await.unwrap());
    let answer = Step::ReleaseLock
        .run(&env(&sdk_retried), input.clone(), None)
        .await
        .unwrap();
    assert_eq!(answer["released"], true, "{answer}");
    assert!(
        !answer["note"].as_str().unwrap().contains("took it over"),
        "{answer}"
    );
    assert_eq!(memory.items(), vec![]);

    // Another execution's lock is never reported released, whatever $.lock says.
    let other = "arn:aws:states:eu-west-1:123456789012:execution:ecs-migrate:other";
    assert!(memory.put(&item(other), Expected::Free).await.unwrap());
    let answer = Step::ReleaseLock
        .run(&env(&memory), input, None)
        .await
        .unwrap();
    assert_eq!(answer["released"], false, "{answer}");
    assert_eq!(memory.get("app").await.unwrap().unwrap().holder, other);
}
