//! The reconciler (issue 19 item 1) after what the status-change cleanup missed: the real
//! definition runs in the engine over the fake ECS and the in-memory lock table; the event that
//! should have cleaned up is lost (or its cleanup fails), and one reconciler run must leave no
//! task running and no lock held, never touching a RUNNING execution's task or lock, and the
//! next execution then runs alone.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ecs_migrate::asl::{
    ExecutionResult, ExecutionStatus, Executor, TaskCall, TaskFailure, TaskInvoker,
};
use ecs_migrate::common::clock::{Clock, VirtualClock};
use ecs_migrate::migration::settings::Settings;
use ecs_migrate::migration::steps::reconcile::{
    grace, reconcile, FixKind, ReconcileLimits, ReconcileReport,
};
use ecs_migrate::migration::steps::StepEnv;
use ecs_migrate::migration::tasks::started_by_for_execution;
use ecs_migrate::ports::deployments::NoDeployments;
use ecs_migrate::ports::ecs::{
    AwsVpc, Ecs, LastStatus, Placement, RunTaskOutcome, RunTaskParams, TaskLookup,
};
use ecs_migrate::ports::executions::MemoryExecutions;
use ecs_migrate::ports::lock::{Expected, LockItem, LockTable, MemoryLockTable};
use ecs_migrate::statemachine::StepBinding;
use serde_json::Value;

use crate::fake_ecs::{FakeEcs, Script, TASKDEF_ARN};
use crate::fixtures::{settings_with, t0};
use crate::scenarios::{bare, definition, status_change, steps};

const MACHINE: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:ecs-migrate";

fn arn_of(name: &str) -> String {
    format!("arn:aws:states:eu-west-1:123456789012:execution:ecs-migrate:{name}")
}

/// How the migration's execution ends.
#[derive(Debug, Clone, Copy)]
enum End {
    /// Aborted this many seconds in.
    Aborted(u64),
    /// Every function call fails from this many seconds in (the execution FAILS without
    /// reaching its own cleanup).
    FunctionsDie(u64),
}

struct Dying {
    inner: StepBinding,
    clock: Arc<VirtualClock>,
    started: DateTime<Utc>,
    after: Option<u64>,
}

#[async_trait]
impl TaskInvoker for Dying {
    async fn invoke(&self, call: TaskCall) -> Result<Value, TaskFailure> {
        let Some(after) = self.after else {
            return self.inner.invoke(call).await;
        };
        let since = (self.clock.now() - self.started).num_seconds().max(0) as u64;
        let died = || TaskFailure::new("Lambda.Unknown", "the function died (injected)");
        if since >= after {
            return Err(died());
        }
        tokio::select! {
            answer = self.inner.invoke(call) => answer,
            _ = self.clock.sleep(Duration::from_secs(after - since)) => Err(died()),
        }
    }
}

struct World {
    clock: Arc<VirtualClock>,
    fake: Arc<FakeEcs>,
    lock: MemoryLockTable,
    settings: Settings,
    executions: MemoryExecutions,
}

impl World {
    fn new(script: Script) -> Self {
        Self::with_settings(script, &[])
    }

    fn with_settings(script: Script, settings: &[(&str, &str)]) -> Self {
        let clock = Arc::new(VirtualClock::starting_at(t0()));
        let mut pairs = vec![("MAX_DURATION_SECONDS", "7200")];
        pairs.extend_from_slice(settings);
        Self {
            fake: FakeEcs::new(clock.clone(), script),
            clock,
            lock: MemoryLockTable::new(),
            settings: settings_with(&pairs),
            executions: MemoryExecutions::new(),
        }
    }

    /// Runs one execution to its end; Step Functions then knows its status. No status-change
    /// cleanup runs: the event is lost.
    async fn execute(&self, name: &str, end: Option<End>) -> ExecutionResult {
        let after = match end {
            Some(End::FunctionsDie(after)) => Some(after),
            _ => None,
        };
        let invoker = Arc::new(Dying {
            inner: steps(
                self.settings.clone(),
                self.fake.clone(),
                self.clock.clone(),
                &self.lock,
            ),
            clock: self.clock.clone(),
            started: self.clock.now(),
            after,
        });
        let executor = Executor::new(definition(), invoker, self.clock.clone())
            .with_execution_name(name)
            .with_state_machine_name("ecs-migrate")
            .with_account("eu-west-1", "123456789012");
        let clock = self.clock.clone();
        let result = executor
            .run(bare(), async move {
                match end {
                    Some(End::Aborted(after)) => clock.sleep(Duration::from_secs(after)).await,
                    _ => std::future::pending().await,
                }
            })
            .await;
        self.executions.put_with_input(
            &arn_of(name),
            MACHINE,
            result.status.as_str(),
            Some(bare().to_string()),
        );
        self.executions
            .set_stop_date(&arn_of(name), self.clock.now());
        result
    }

    fn env(&self) -> StepEnv<'_> {
        StepEnv {
            settings: &self.settings,
            ecs: self.fake.as_ref(),
            logs: self.fake.as_ref(),
            clock: self.clock.as_ref(),
            lock: &self.lock,
            deployments: &NoDeployments,
            executions: &self.executions,
        }
    }

    /// One reconciler run, `after` seconds from now (past the cleanup's grace by default).
    async fn reconcile(&self, after: u64, dry_run: bool) -> ReconcileReport {
        self.clock.sleep(Duration::from_secs(after)).await;
        let limits = ReconcileLimits {
            max_calls: 500,
            until: self.clock.now() + chrono::Duration::seconds(120),
            dry_run,
            grace: grace(&self.settings),
        };
        reconcile(&self.env(), limits)
            .await
            .expect("the reconciler run")
    }

    /// A RUNNING execution elsewhere (scope "other"): its task and lock must stay.
    async fn live_neighbour(&self) -> String {
        let live = arn_of("live");
        self.executions.put(&live, MACHINE, "RUNNING");
        let params = RunTaskParams {
            cluster: self.settings.cluster.clone(),
            task_definition: TASKDEF_ARN.into(),
            container: "fastapi".into(),
            command: vec!["true".into()],
            // The fake's task definition is awsvpc: RunTask needs a network, as on ECS.
            network: Some(AwsVpc {
                subnets: vec!["subnet-1".into()],
                security_groups: vec![],
                assign_public_ip: false,
            }),
            placement: Placement::ClusterDefault,
            platform_version: None,
            client_token: "live".into(),
            started_by: started_by_for_execution(&live),
            tags: vec![("ecs-migrate:execution".into(), "live".into())],
        };
        let RunTaskOutcome::Started { task_arn } = self.fake.run_task(&params).await.unwrap()
        else {
            panic!("the fake refused the live task");
        };
        let item = LockItem {
            scope: "other".into(),
            holder: live,
            execution_name: Some("live".into()),
            client_token: "live".into(),
            taskdef_arn: TASKDEF_ARN.into(),
            family: "app".into(),
            revision: 42,
            cluster: self.settings.cluster.clone(),
            started_by: params.started_by.clone(),
            task_arn: Some(task_arn.clone()),
            since: self.clock.now(),
            lease_until: self.clock.now() + chrono::Duration::hours(1),
        };
        assert!(self.lock.put(&item, Expected::Free).await.unwrap());
        task_arn
    }

    async fn status(&self, task_arn: &str) -> LastStatus {
        match self
            .fake
            .describe_task(&self.settings.cluster, task_arn)
            .await
            .unwrap()
        {
            TaskLookup::Found(task) => task.last_status,
            TaskLookup::Missing { reason } => panic!("{task_arn} is missing: {reason}"),
        }
    }

    /// Every task but `except` is STOPPED, and only `except`'s scope is locked.
    async fn assert_clean_but(&self, except: &str) {
        for (task, _, _) in self.fake.task_lives() {
            if task != except {
                assert_eq!(
                    self.status(&task).await,
                    LastStatus::Stopped,
                    "{task} still runs"
                );
            }
        }
        let scopes: Vec<String> = self.lock.items().into_iter().map(|i| i.scope).collect();
        assert_eq!(scopes, vec!["other".to_string()], "a lock was left behind");
        assert_eq!(
            self.status(except).await,
            LastStatus::Running,
            "the live execution's task was touched"
        );
    }

    /// No two unstopped tasks of scope `app` (the migrations' scope) at once.
    fn assert_one_migration_at_a_time(&self, live: &str) {
        let mut lives: Vec<_> = self
            .fake
            .task_lives()
            .into_iter()
            .filter(|(t, _, _)| t != live)
            .collect();
        lives.sort_by_key(|(_, at, _)| *at);
        for pair in lives.windows(2) {
            let stopped = pair[0]
                .2
                .unwrap_or_else(|| panic!("{} never stopped", pair[0].0));
            assert!(
                stopped <= pair[1].1,
                "{} started while {} ran",
                pair[1].0,
                pair[0].0
            );
        }
    }
}

fn kinds(report: &ReconcileReport) -> Vec<FixKind> {
    report.fixes.iter().map(|f| f.kind).collect()
}

#[tokio::test]
async fn a_lost_status_change_event_is_cleaned_up_by_one_run() {
    let world = World::new(Script {
        running: 3600,
        stop_delay: 30,
        ..Script::default()
    });
    let live = world.live_neighbour().await;
    let lost = world.execute("lost", Some(End::Aborted(300))).await;
    assert_eq!(lost.status, ExecutionStatus::Aborted);
    assert_eq!(
        world.fake.running_tasks().len(),
        2,
        "the aborted execution's task runs on"
    );
    // Within the cleanup's grace the reconciler leaves the just-ended execution alone.
    let early = world.reconcile(60, false).await;
    assert_eq!(kinds(&early), vec![], "{early:?}");
    let report = world.reconcile(900, false).await;
    assert_eq!(
        kinds(&report),
        vec![FixKind::StopTask, FixKind::ReleaseLock],
        "{report:?}"
    );
    assert!(report.complete);
    world.assert_clean_but(&live).await;
    // The next execution runs alone.
    let next = world.execute("next", None).await;
    assert_eq!(next.status, ExecutionStatus::Succeeded);
    world.assert_one_migration_at_a_time(&live);
}

#[tokio::test]
async fn a_failed_cleanup_is_finished_by_one_run() {
    // The cleanup's StopTask is refused once (AccessDeniedException): it fails.
    let world = World::new(Script {
        running: 3600,
        stop_delay: 30,
        stop_denials: 1,
        ..Script::default()
    });
    let live = world.live_neighbour().await;
    world.execute("aborted", Some(End::Aborted(300))).await;
    let cleanup = status_change(
        &world.settings,
        &world.fake,
        &world.clock,
        &world.lock,
        "aborted",
        "ABORTED",
        &bare(),
    )
    .await;
    assert!(cleanup.is_err(), "the cleanup was to fail: {cleanup:?}");
    let report = world.reconcile(900, false).await;
    assert_eq!(
        kinds(&report),
        vec![FixKind::StopTask, FixKind::ReleaseLock],
        "{report:?}"
    );
    world.assert_clean_but(&live).await;
}

#[tokio::test]
async fn a_holder_whose_task_never_stopped_is_released_after_its_task_is_stopped() {
    // The functions die while the task runs: the execution FAILS and nothing stops its task.
    let world = World::new(Script {
        running: 100_000,
        stop_delay: 90,
        ..Script::default()
    });
    let live = world.live_neighbour().await;
    let dead = world.execute("dead", Some(End::FunctionsDie(120))).await;
    assert_eq!(dead.status, ExecutionStatus::Failed);
    let report = world.reconcile(900, false).await;
    // The run waited for the task to drain (90 s) before it released the lock.
    assert_eq!(
        kinds(&report),
        vec![FixKind::StopTask, FixKind::ReleaseLock],
        "{report:?}"
    );
    world.assert_clean_but(&live).await;
    // The next execution gets the lock and runs its task (this script's task runs past any
    // deadline), alone.
    let next = world.execute("next", None).await;
    assert_eq!(
        next.error.as_deref(),
        Some("Migration.Timeout"),
        "{:?}",
        next.cause
    );
    world.assert_one_migration_at_a_time(&live);
}

#[tokio::test]
async fn a_task_that_outlasts_the_run_keeps_its_lock_until_a_later_run() {
    // Draining takes longer than the run may wait (120 s).
    let world = World::new(Script {
        running: 100_000,
        stop_delay: 600,
        ..Script::default()
    });
    let live = world.live_neighbour().await;
    world.execute("dead", Some(End::FunctionsDie(120))).await;
    let first = world.reconcile(900, false).await;
    assert_eq!(kinds(&first), vec![FixKind::StopTask], "{first:?}");
    assert!(
        first
            .left
            .iter()
            .any(|l| l.contains("is still DEACTIVATING")),
        "{first:?}"
    );
    assert_eq!(
        world.lock.items().len(),
        2,
        "released while its task drained"
    );
    let second = world.reconcile(600, false).await;
    assert_eq!(kinds(&second), vec![FixKind::ReleaseLock], "{second:?}");
    world.assert_clean_but(&live).await;
}

#[tokio::test]
async fn a_dry_run_says_what_it_would_do_and_changes_nothing() {
    let world = World::new(Script {
        running: 3600,
        stop_delay: 30,
        ..Script::default()
    });
    world.live_neighbour().await;
    world.execute("lost", Some(End::Aborted(300))).await;
    let items = world.lock.items().len();
    let calls_before = world.fake.calls();
    let report = world.reconcile(900, true).await;
    assert_eq!(kinds(&report), vec![FixKind::StopTask], "{report:?}");
    assert!(report.fixes.iter().all(|f| !f.done));
    assert!(
        report.left.iter().any(|l| l.contains("is still RUNNING")),
        "{report:?}"
    );
    let calls: Vec<_> = world.fake.calls()[calls_before.len()..].to_vec();
    assert!(!calls.contains(&"ecs:StopTask"), "{calls:?}");
    assert_eq!(world.fake.running_tasks().len(), 2);
    assert_eq!(world.lock.items().len(), items);
}

#[tokio::test]
async fn a_run_stops_when_its_call_budget_ends_and_the_next_run_goes_on() {
    let world = World::new(Script {
        running: 3600,
        stop_delay: 30,
        ..Script::default()
    });
    let live = world.live_neighbour().await;
    world.execute("lost", Some(End::Aborted(300))).await;
    world.clock.sleep(Duration::from_secs(900)).await;
    let limits = ReconcileLimits {
        max_calls: 3,
        until: world.clock.now() + chrono::Duration::seconds(120),
        dry_run: false,
        grace: chrono::Duration::minutes(12),
    };
    let short = reconcile(&world.env(), limits)
        .await
        .expect("a budget-bound run");
    assert!(!short.complete);
    assert!(short.api_calls <= 3, "{short:?}");
    let report = world.reconcile(0, false).await;
    assert!(report.complete);
    world.assert_clean_but(&live).await;
}

mod hooks {
    use super::*;
    use crate::fixtures::{
        hook_event, hook_settings, CLUSTER_ARN, DEPLOYMENT_ARN, HOOK_ID, SERVICE_ARN,
    };
    use ecs_migrate::ports::deployments::{
        HookAction, HookState, MemoryDeployments, ServiceDeployment, HOOK_AWAITING_ACTION,
    };

    fn paused() -> MemoryDeployments {
        let deployments = MemoryDeployments::default();
        deployments.add_deployment(ServiceDeployment {
            arn: DEPLOYMENT_ARN.into(),
            service_arn: Some(SERVICE_ARN.into()),
            cluster_arn: Some(CLUSTER_ARN.into()),
            status: "IN_PROGRESS".into(),
            status_reason: None,
            target_revision_arn: None,
            lifecycle_stage: None,
            hooks: vec![HookState {
                hook_id: HOOK_ID.into(),
                target_type: Some("PAUSE".into()),
                status: HOOK_AWAITING_ACTION.into(),
                expires_at: None,
                timeout_action: Some(HookAction::Rollback),
            }],
        });
        deployments
    }

    async fn run_with(
        executions: &MemoryExecutions,
        deployments: &MemoryDeployments,
    ) -> ReconcileReport {
        let clock = Arc::new(VirtualClock::starting_at(t0()));
        let fake = FakeEcs::new(clock.clone(), Script::default());
        let lock = MemoryLockTable::new();
        let settings = hook_settings();
        let env = StepEnv {
            settings: &settings,
            ecs: fake.as_ref(),
            logs: fake.as_ref(),
            clock: clock.as_ref(),
            lock: &lock,
            deployments,
            executions,
        };
        let limits = ReconcileLimits {
            max_calls: 100,
            until: t0() + chrono::Duration::seconds(60),
            dry_run: false,
            grace: chrono::Duration::minutes(12),
        };
        reconcile(&env, limits).await.expect("the run")
    }

    #[tokio::test]
    async fn a_pause_hook_left_waiting_by_an_aborted_execution_is_rolled_back() {
        let executions = MemoryExecutions::new();
        let input = Some(hook_event("ev-1").to_string());
        executions.put_with_input(&arn_of("hook-aborted"), MACHINE, "ABORTED", input);
        let deployments = paused();
        let report = run_with(&executions, &deployments).await;
        assert_eq!(kinds(&report), vec![FixKind::RollBackHook], "{report:?}");
        let answers = deployments.answers();
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0].action, HookAction::Rollback);
        assert_eq!(answers[0].hook_id, HOOK_ID);
    }

    #[tokio::test]
    async fn a_hook_a_running_execution_serves_is_left_to_it() {
        let executions = MemoryExecutions::new();
        let input = Some(hook_event("ev-1").to_string());
        executions.put_with_input(&arn_of("hook-aborted"), MACHINE, "ABORTED", input.clone());
        executions.put_with_input(&arn_of("hook-again"), MACHINE, "RUNNING", input);
        // The running one holds the lock, so the run meets it.
        let deployments = paused();
        let clock = Arc::new(VirtualClock::starting_at(t0()));
        let fake = FakeEcs::new(clock.clone(), Script::default());
        let lock = MemoryLockTable::new();
        let item = LockItem {
            scope: "app".into(),
            holder: arn_of("hook-again"),
            execution_name: None,
            client_token: "t".into(),
            taskdef_arn: TASKDEF_ARN.into(),
            family: "app".into(),
            revision: 42,
            cluster: "prod".into(),
            started_by: started_by_for_execution(&arn_of("hook-again")),
            task_arn: None,
            since: t0(),
            lease_until: t0() + chrono::Duration::hours(1),
        };
        assert!(lock.put(&item, Expected::Free).await.unwrap());
        let settings = hook_settings();
        let env = StepEnv {
            settings: &settings,
            ecs: fake.as_ref(),
            logs: fake.as_ref(),
            clock: clock.as_ref(),
            lock: &lock,
            deployments: &deployments,
            executions: &executions,
        };
        let limits = ReconcileLimits {
            max_calls: 100,
            until: t0() + chrono::Duration::seconds(60),
            dry_run: false,
            grace: chrono::Duration::minutes(12),
        };
        let report = reconcile(&env, limits).await.expect("the run");
        assert_eq!(kinds(&report), vec![], "{report:?}");
        assert_eq!(deployments.answers(), vec![]);
        assert_eq!(lock.items().len(), 1);
    }

    #[tokio::test]
    async fn a_hook_already_answered_is_not_answered_again() {
        let executions = MemoryExecutions::new();
        let input = Some(hook_event("ev-1").to_string());
        executions.put_with_input(&arn_of("hook-failed"), MACHINE, "FAILED", input);
        let deployments = paused();
        deployments.set_hook_status(DEPLOYMENT_ARN, HOOK_ID, "FAILED");
        let report = run_with(&executions, &deployments).await;
        assert_eq!(kinds(&report), vec![], "{report:?}");
        assert_eq!(deployments.answers(), vec![]);
    }
}

/// Issue 19 items 3 and 4: a takeover waits for the old task within LOCK_WAIT_SECONDS only, and
/// an item of another cluster fails at once, naming the command that clears it.
mod takeover {
    use super::*;

    #[tokio::test]
    async fn a_takeover_whose_old_task_never_stops_fails_locked_within_the_wait() {
        // The holder's functions die 30 s in; its task then ignores StopTask for a day.
        let world = World::with_settings(
            Script {
                running: 100_000,
                stop_delay: 86_400,
                ..Script::default()
            },
            &[("LOCK_LEASE_SECONDS", "300"), ("LOCK_WAIT_SECONDS", "900")],
        );
        let next = async {
            world.clock.sleep(Duration::from_secs(5)).await;
            let result = world.execute("next", None).await;
            (result, world.clock.now())
        };
        let (dead, (next, next_ended)) =
            tokio::join!(world.execute("dead", Some(End::FunctionsDie(30))), next);
        assert_eq!(dead.status, ExecutionStatus::Failed);
        assert_eq!(
            next.error.as_deref(),
            Some("Migration.Locked"),
            "{:?}",
            next.cause
        );
        let cause = next.cause.clone().unwrap_or_default();
        let dead_task = world.fake.task_lives()[0].0.clone();
        assert!(
            cause.contains(&dead_task),
            "the cause names the task that does not stop: {cause}"
        );
        assert!(cause.contains("LOCK_WAIT_SECONDS"), "{cause}");
        // It gave up within its wait (900 s from its first look, 5 s in) and a poll round.
        let ended = next_ended - t0();
        assert!(ended <= chrono::Duration::seconds(905 + 600), "{ended}");
        assert_eq!(
            world.fake.tasks_started(),
            1,
            "the next execution ran a task beside it"
        );
    }

    #[tokio::test]
    async fn an_item_of_another_cluster_fails_acquire_naming_the_command_that_clears_it() {
        let world = World::with_settings(Script::default(), &[("LOCK_TABLE", "mig-lock")]);
        let item = LockItem {
            scope: "app".into(),
            holder: arn_of("elsewhere"),
            execution_name: Some("elsewhere".into()),
            client_token: "other".into(),
            taskdef_arn: TASKDEF_ARN.into(),
            family: "app".into(),
            revision: 41,
            cluster: "arn:aws:ecs:eu-west-1:123456789012:cluster/staging".into(),
            started_by: started_by_for_execution(&arn_of("elsewhere")),
            task_arn: None,
            since: t0() - chrono::Duration::hours(3),
            lease_until: t0() - chrono::Duration::hours(2),
        };
        assert!(world.lock.put(&item, Expected::Free).await.unwrap());
        let next = world.execute("next", None).await;
        assert_eq!(
            next.error.as_deref(),
            Some("Migration.Locked"),
            "{:?}",
            next.cause
        );
        let cause = next.cause.unwrap_or_default();
        assert!(cause.contains("cluster/staging"), "{cause}");
        assert!(
            cause.contains("ecs-migrate lock release --table mig-lock --scope app --force"),
            "{cause}"
        );
        assert_eq!(world.fake.tasks_started(), 0);
    }
}
