//! The real steps over the local runner, called one after another as the state machine's main
//! path calls them: validate-event, run-task, poll-status, check-exit-code (and stop-task after
//! a deadline). This checks the seam the local engine relies on: the local ARNs pass
//! validate-event, the derived log stream is one the runner answers for, poll-status wakes as
//! soon as the process exits.

use std::time::{Duration, Instant};

use ecs_migrate::cli::local::local_settings;
use ecs_migrate::common::clock::SystemClock;
use ecs_migrate::local::{LocalEcs, LocalTaskDefinition};
use ecs_migrate::migration::settings::Settings;
use ecs_migrate::migration::steps::{
    check_exit_code, poll_status, run_task, stop_task, validate_event, CheckInput, PollInput,
    RunTaskInput, StepEnv, ValidateEventInput,
};
use ecs_migrate::migration::{
    ExecutionContext, MigrationRequest, Phase, RunOutcome, StartedTask, TaskStatus,
};
use ecs_migrate::ports::executions::MemoryExecutions;
use ecs_migrate::ports::lock::UnconfiguredLockTable;
use ecs_migrate::{ErrorKind, MigrationError};
use serde_json::{json, Value};

fn runner(container: Value) -> (LocalEcs, Settings) {
    let td = LocalTaskDefinition::parse(
        "steps-taskdef.json",
        &json!({"family": "demo", "networkMode": "awsvpc", "containerDefinitions": [container]})
            .to_string(),
    )
    .unwrap();
    let mut settings = local_settings(&td, "migrate", Duration::from_secs(3600), &[]);
    settings.state_machine_arn = Some(STATE_MACHINE.into());
    (LocalEcs::new(td), settings)
}

const STATE_MACHINE: &str = "arn:aws:states:local:000000000000:stateMachine:migration";
const EXECUTION: &str = "arn:aws:states:local:000000000000:execution:migration:test";

/// Step Functions as the local engine answers for its own execution: RUNNING.
static EXECUTIONS: std::sync::LazyLock<MemoryExecutions> = std::sync::LazyLock::new(|| {
    let executions = MemoryExecutions::new();
    executions.put(EXECUTION, STATE_MACHINE, "RUNNING");
    executions
});

struct Started {
    request: MigrationRequest,
    task: StartedTask,
}

async fn start(env: &StepEnv<'_>, event: Value) -> Result<Started, MigrationError> {
    let request = validate_event(
        env,
        ValidateEventInput {
            event,
            execution: ExecutionContext {
                id: Some(EXECUTION.into()),
                name: Some("test".into()),
                start_time: None,
            },
        },
    )
    .await?;
    let input = RunTaskInput {
        request: request.clone(),
        task: None,
        lock: None,
        execution_id: Some(EXECUTION.into()),
    };
    let task = match run_task(env, input).await? {
        RunOutcome::Started(task) => task,
        other => {
            return Err(MigrationError::new(
                ErrorKind::RunTaskFailed,
                format!("no task started: {other:?}"),
            ))
        }
    };
    Ok(Started { request, task })
}

async fn poll(env: &StepEnv<'_>, started: &Started) -> TaskStatus {
    let mut status = None;
    for _ in 0..20 {
        let next = poll_status(
            env,
            PollInput {
                request: started.request.clone(),
                task: started.task.clone(),
                status: status.clone(),
                lock: None,
                execution_id: Some(EXECUTION.into()),
            },
            None,
        )
        .await
        .unwrap();
        if next.phase != Phase::InProgress {
            return next;
        }
        status = Some(next);
    }
    panic!("poll-status never saw the task stop");
}

async fn check(
    env: &StepEnv<'_>,
    started: &Started,
    status: TaskStatus,
) -> Result<i32, MigrationError> {
    check_exit_code(
        env,
        CheckInput {
            request: started.request.clone(),
            task: started.task.clone(),
            status,
        },
    )
    .await
    .map(|r| r.exit_code)
}

/// The steps over the local runner, as `ecs-migrate local` binds them. These steps run without
/// the migration lock (no AcquireLock before them), so a table that refuses every call proves
/// they never touch it.
fn local_env<'a>(settings: &'a Settings, ecs: &'a LocalEcs) -> StepEnv<'a> {
    StepEnv {
        settings,
        ecs,
        logs: ecs,
        clock: &SystemClock,
        lock: &UnconfiguredLockTable,
        deployments: &ecs_migrate::ports::deployments::NoDeployments,
        executions: &*EXECUTIONS,
    }
}

#[tokio::test]
async fn a_migration_that_succeeds() {
    let (ecs, mut settings) = runner(json!({"name": "migrate"}));
    settings.command = vec!["sh".into(), "-c".into(), "echo migrated".into()];
    let env = local_env(&settings, &ecs);
    let started = start(&env, json!({"taskdef_arn": "demo"})).await.unwrap();
    assert_eq!(
        started.request.taskdef_arn,
        "arn:aws:ecs:local:000000000000:task-definition/demo:1"
    );
    assert!(started.task.log_stream.is_some());
    let began = Instant::now();
    let status = poll(&env, &started).await;
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );
    assert_eq!(status.phase, Phase::Stopped);
    assert_eq!(check(&env, &started, status).await, Ok(0));
}

#[tokio::test]
async fn a_failing_migration_carries_its_log_tail() {
    let (ecs, mut settings) = runner(json!({"name": "migrate"}));
    settings.command = vec![
        "sh".into(),
        "-c".into(),
        "echo applying 0003; echo 'relation \"postz\" does not exist' >&2; exit 1".into(),
    ];
    let env = local_env(&settings, &ecs);
    let started = start(&env, json!({"taskdef_arn": "demo:1"})).await.unwrap();
    let status = poll(&env, &started).await;
    let err = check(&env, &started, status).await.unwrap_err();
    assert_eq!(err.name(), "Migration.NonZeroExit");
    let cause = err.message();
    assert!(cause.contains("exited with code 1"), "{cause}");
    assert!(cause.contains("applying 0003"), "{cause}");
    assert!(
        cause.contains("relation \"postz\" does not exist"),
        "{cause}"
    );
}

#[tokio::test]
async fn a_command_that_cannot_start() {
    let (ecs, mut settings) = runner(json!({"name": "migrate"}));
    settings.command = vec!["/opt/app/migrate".into()];
    let env = local_env(&settings, &ecs);
    let started = start(&env, json!({"taskdef_arn": "demo"})).await.unwrap();
    let status = poll(&env, &started).await;
    let err = check(&env, &started, status).await.unwrap_err();
    assert_eq!(err.name(), "Migration.TaskFailedToStart");
    assert!(
        err.message()
            .contains("CannotStartContainerError: executable not found: /opt/app/migrate"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn a_deadline_stops_the_task() {
    let (ecs, mut settings) = runner(json!({"name": "migrate", "stopTimeout": 2}));
    settings.command = vec!["sh".into(), "-c".into(), "sleep 300 & echo $!; wait".into()];
    settings.max_duration = Duration::from_secs(1);
    let env = local_env(&settings, &ecs);
    let started = start(&env, json!({"taskdef_arn": "demo"})).await.unwrap();
    let status = poll(&env, &started).await;
    assert_eq!(status.phase, Phase::DeadlinePassed);
    assert_eq!(status.error.as_ref().unwrap().error, "Migration.Timeout");
    // The state machine calls stop-task from its StopTask state, as the engine's binding says.
    EXECUTIONS.enter_state(EXECUTION, "StopTask");
    let stop = stop_task(
        &env,
        json!({"request": started.request, "task": started.task, "error": status.error,
               "execution_id": EXECUTION}),
        None,
    )
    .await
    .unwrap();
    assert_eq!(stop.stopped, vec![started.task.task_arn.clone()]);
    let state = tokio::time::timeout(
        Duration::from_secs(10),
        ecs.wait_stopped(&started.task.task_arn),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(state.stop_code.as_deref(), Some("UserInitiated"));
    assert!(state
        .stopped_reason
        .unwrap_or_default()
        .contains("Migration.Timeout"));
    assert_eq!(state.containers[0].exit_code, Some(143));
}

#[tokio::test]
async fn another_family_is_never_allowed() {
    let (ecs, settings) = runner(json!({"name": "migrate"}));
    let env = local_env(&settings, &ecs);
    // The file has no ARN: another revision or account of its family runs it (see
    // tests/local_cli.rs); another family never does.
    let cases = [
        (json!({"taskdef_arn": "other"}), "Migration.NotAllowed"),
        (
            json!({"taskdef_arn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/other:1"}),
            "Migration.NotAllowed",
        ),
        (json!({"taskdef_arn": 7}), "Migration.InvalidEvent"),
    ];
    for (event, name) in cases {
        let err = start(&env, event.clone())
            .await
            .err()
            .unwrap_or_else(|| panic!("{event} ran"));
        assert_eq!(err.name(), name, "{event}: {err}");
    }
    assert!(ecs.tasks().is_empty());
}
