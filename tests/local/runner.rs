//! The local runner with real processes: exit codes, output, environment, start failures,
//! stopping whole process trees, idempotent RunTask, prompt wake-ups, the Docker probe.
//! Every wait is bounded, so a broken runner fails a test instead of hanging it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ecs_migrate::common::clock::SystemClock;
use ecs_migrate::local::{
    DockerError, DockerOptions, LocalEcs, LocalEvent, LocalTaskDefinition, OutputStream, Runner,
};
use ecs_migrate::ports::ecs::{
    Ecs, LastStatus, Placement, RunTaskOutcome, RunTaskParams, TaskLookup, TaskState,
};
use ecs_migrate::ports::logs::{LogStream, Logs};
use serde_json::{json, Value};
use tokio::sync::broadcast;

const LIMIT: Duration = Duration::from_secs(20);

fn taskdef(container: Value) -> LocalTaskDefinition {
    let mut container = container;
    if let Value::Object(c) = &mut container {
        c.entry("name").or_insert(json!("migrate"));
    }
    LocalTaskDefinition::parse(
        "test-taskdef.json",
        &json!({"family": "demo", "containerDefinitions": [container]}).to_string(),
    )
    .unwrap()
}

fn params(command: &[&str], token: &str) -> RunTaskParams {
    RunTaskParams {
        cluster: "local".into(),
        task_definition: "demo".into(),
        container: "migrate".into(),
        command: command.iter().map(|s| s.to_string()).collect(),
        network: None,
        placement: Placement::ClusterDefault,
        platform_version: None,
        client_token: token.into(),
        started_by: format!("by-{token}"),
        tags: vec![],
    }
}

async fn start(ecs: &LocalEcs, command: &[&str], token: &str) -> String {
    match ecs.run_task(&params(command, token)).await.unwrap() {
        RunTaskOutcome::Started { task_arn } => task_arn,
        other => panic!("not started: {other:?}"),
    }
}

async fn stopped(ecs: &LocalEcs, arn: &str) -> TaskState {
    tokio::time::timeout(LIMIT, ecs.wait_stopped(arn))
        .await
        .expect("the task did not stop in time")
        .expect("unknown task")
}

fn exit_code(state: &TaskState) -> Option<i32> {
    state.containers.first().and_then(|c| c.exit_code)
}

/// Collects output lines until `n` have arrived (bounded).
async fn lines(rx: &mut broadcast::Receiver<LocalEvent>, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    let deadline = Instant::now() + LIMIT;
    while out.len() < n {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Ok(LocalEvent::Output { line, .. })) => out.push(line),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("event channel: {e}"),
            Err(_) => panic!("only {} of {n} lines arrived: {out:?}", out.len()),
        }
    }
    out
}

/// True while `pid` is a live (not zombie) process.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name: "PID (comm) S ...".
        Ok(stat) => stat
            .rsplit_once(')')
            .map(|(_, rest)| !matches!(rest.trim_start().chars().next(), Some('Z' | 'X')))
            .unwrap_or(false),
        Err(_) => false,
    }
}

async fn all_dead(pids: &[i32]) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if pids.iter().all(|p| !alive(*p)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "ecs-migrate-{name}-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn success_reports_exit_code_statuses_and_output() {
    let ecs = LocalEcs::new(taskdef(json!({})));
    let mut rx = ecs.subscribe();
    let arn = start(
        &ecs,
        &["sh", "-c", "echo one; echo two >&2; echo three"],
        "ok",
    )
    .await;
    let state = stopped(&ecs, &arn).await;
    assert_eq!(exit_code(&state), Some(0));
    assert_eq!(state.last_status, LastStatus::Stopped);
    assert_eq!(state.desired_status, Some(LastStatus::Stopped));
    assert_eq!(state.stop_code.as_deref(), Some("EssentialContainerExited"));
    assert_eq!(state.containers[0].name, "migrate");
    assert_eq!(state.containers[0].last_status, Some(LastStatus::Stopped));
    let (created, started, stopped_at) = (
        state.created_at.unwrap(),
        state.started_at.unwrap(),
        state.stopped_at.unwrap(),
    );
    assert!(created <= started && started <= stopped_at);
    assert!(
        arn.starts_with("arn:aws:ecs:local:000000000000:task/local/"),
        "{arn}"
    );

    // Observed: the lifecycle in order, every line with its stream, lines before STOPPED.
    let mut statuses = Vec::new();
    let mut output = Vec::new();
    while let Ok(event) = rx.try_recv() {
        match event {
            LocalEvent::Status { state } => {
                if statuses.last() != Some(&state.last_status) {
                    statuses.push(state.last_status);
                }
            }
            LocalEvent::Output { stream, line, .. } => {
                assert!(
                    statuses.last().is_some_and(|s| *s != LastStatus::Stopped),
                    "{line} after STOPPED"
                );
                output.push((stream, line));
            }
        }
    }
    assert_eq!(
        statuses,
        [
            LastStatus::Provisioning,
            LastStatus::Pending,
            LastStatus::Running,
            LastStatus::Stopped
        ]
    );
    output.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        output,
        vec![
            (OutputStream::Stdout, "one".to_string()),
            (OutputStream::Stdout, "three".to_string()),
            (OutputStream::Stderr, "two".to_string()),
        ]
    );
}

#[tokio::test]
async fn stdout_lines_keep_their_order_in_the_log() {
    let ecs = LocalEcs::new(taskdef(json!({})));
    let arn = start(
        &ecs,
        &[
            "sh",
            "-c",
            "for i in 1 2 3 4 5 6 7 8 9 10; do echo line$i; done",
        ],
        "order",
    )
    .await;
    stopped(&ecs, &arn).await;
    let stream = LogStream {
        group: "/ecs-migrate/local/demo".into(),
        stream: format!("local/migrate/{}", ecs_migrate::ports::logs::task_id(&arn)),
        region: None,
    };
    let tail = ecs.tail(&stream, 100).await.unwrap().unwrap();
    let expected: Vec<String> = (1..=10).map(|i| format!("line{i}")).collect();
    assert_eq!(tail, expected);
}

#[tokio::test]
async fn non_zero_exit_code() {
    let ecs = LocalEcs::new(taskdef(json!({})));
    let arn = start(&ecs, &["sh", "-c", "echo failing >&2; exit 3"], "fail").await;
    let state = stopped(&ecs, &arn).await;
    assert_eq!(exit_code(&state), Some(3));
    assert_eq!(state.stop_code.as_deref(), Some("EssentialContainerExited"));
}

#[tokio::test]
async fn a_command_that_cannot_start_fails_to_start() {
    let ecs = LocalEcs::new(taskdef(json!({})));
    let arn = start(&ecs, &["/opt/app/migrate", "up"], "missing").await;
    let state = stopped(&ecs, &arn).await;
    assert_eq!(state.stop_code.as_deref(), Some("TaskFailedToStart"));
    assert_eq!(
        state.stopped_reason.as_deref(),
        Some("CannotStartContainerError: executable not found: /opt/app/migrate")
    );
    assert_eq!(exit_code(&state), None);
    assert_eq!(
        state.containers[0].reason.as_deref(),
        Some("CannotStartContainerError: executable not found: /opt/app/migrate")
    );
    assert_eq!(state.started_at, None);

    // Not executable.
    let dir = TempDir::new("noexec");
    let script = dir.0.join("migrate.sh");
    std::fs::write(&script, "#!/bin/sh\necho hi\n").unwrap();
    let path = script.to_string_lossy().into_owned();
    let arn = start(&ecs, &[&path], "noexec").await;
    let state = stopped(&ecs, &arn).await;
    assert_eq!(state.stop_code.as_deref(), Some("TaskFailedToStart"));
    let reason = state.stopped_reason.unwrap_or_default();
    assert!(
        reason.starts_with("CannotStartContainerError: permission denied"),
        "{reason}"
    );
}

#[tokio::test]
async fn entry_point_and_default_command_come_from_the_task_definition() {
    let ecs = LocalEcs::new(taskdef(json!({
        "entryPoint": ["sh", "-c"],
        "command": ["echo default-command"]
    })));
    let arn = start(&ecs, &[], "default").await;
    stopped(&ecs, &arn).await;
    let arn2 = start(&ecs, &["echo override"], "override").await;
    stopped(&ecs, &arn2).await;
    let tail = |arn: &str| {
        let stream = LogStream {
            group: "/ecs-migrate/local/demo".into(),
            stream: format!("local/migrate/{}", ecs_migrate::ports::logs::task_id(arn)),
            region: None,
        };
        let ecs = ecs.clone();
        async move { ecs.tail(&stream, 10).await.unwrap().unwrap() }
    };
    assert_eq!(tail(&arn).await, vec!["default-command"]);
    assert_eq!(tail(&arn2).await, vec!["override"]);
}

#[tokio::test]
async fn environment_overlays_the_hosts() {
    let ecs = LocalEcs::new(taskdef(json!({
        "environment": [
            {"name": "DATABASE_URL", "value": "sqlite:///x.db"},
            {"name": "HOME", "value": "/from-taskdef"},
            {"name": "EMPTY"}
        ]
    })));
    let mut rx = ecs.subscribe();
    let arn = start(
        &ecs,
        &[
            "sh",
            "-c",
            "echo \"url=$DATABASE_URL\"; echo \"home=$HOME\"; echo \"empty=${EMPTY-unset}\"; test -n \"$PATH\" && echo path-inherited",
        ],
        "env",
    )
    .await;
    let got = lines(&mut rx, 4).await;
    stopped(&ecs, &arn).await;
    assert_eq!(
        got,
        vec![
            "url=sqlite:///x.db",
            "home=/from-taskdef",
            "empty=",
            "path-inherited"
        ]
    );
}

#[tokio::test]
async fn working_directory_is_honoured() {
    let dir = TempDir::new("workdir");
    let canonical = dir.0.canonicalize().unwrap();
    let ecs = LocalEcs::new(taskdef(json!({
        "workingDirectory": dir.0.to_string_lossy()
    })));
    let mut rx = ecs.subscribe();
    let arn = start(&ecs, &["pwd", "-P"], "wd").await;
    let got = lines(&mut rx, 1).await;
    stopped(&ecs, &arn).await;
    assert_eq!(got, vec![canonical.to_string_lossy().into_owned()]);

    // A relative directory starts from the current one (cargo runs tests in the crate root).
    let ecs = LocalEcs::new(taskdef(json!({"workingDirectory": "src"})));
    let mut rx = ecs.subscribe();
    let arn = start(&ecs, &["pwd", "-P"], "wd-relative").await;
    let got = lines(&mut rx, 1).await;
    stopped(&ecs, &arn).await;
    let expected = std::env::current_dir()
        .unwrap()
        .join("src")
        .canonicalize()
        .unwrap();
    assert_eq!(got, vec![expected.to_string_lossy().into_owned()]);

    // A missing one is a start failure that names it.
    let ecs = LocalEcs::new(taskdef(json!({"workingDirectory": "/nonexistent/app"})));
    let arn = start(&ecs, &["true"], "wd-missing").await;
    let state = stopped(&ecs, &arn).await;
    assert_eq!(state.stop_code.as_deref(), Some("TaskFailedToStart"));
    assert!(state
        .stopped_reason
        .unwrap_or_default()
        .contains("workingDirectory /nonexistent/app"),);
}

#[tokio::test]
async fn user_is_switched_by_root_and_refused_otherwise() {
    let ecs = LocalEcs::new(taskdef(json!({"user": "65534:65534"})));
    let mut rx = ecs.subscribe();
    let arn = start(&ecs, &["sh", "-c", "id -u; id -g"], "user").await;
    let root = ecs_migrate::local::user::current().uid == 0;
    if root {
        let got = lines(&mut rx, 2).await;
        let state = stopped(&ecs, &arn).await;
        assert_eq!(got, vec!["65534", "65534"]);
        assert_eq!(exit_code(&state), Some(0));
    } else {
        let state = stopped(&ecs, &arn).await;
        assert_eq!(state.stop_code.as_deref(), Some("TaskFailedToStart"));
        let reason = state.stopped_reason.unwrap_or_default();
        assert!(reason.contains("only root can switch users"), "{reason}");
    }
}

#[tokio::test]
async fn stop_ends_the_whole_process_tree() {
    let ecs = LocalEcs::new(taskdef(json!({"stopTimeout": 5})));
    let mut rx = ecs.subscribe();
    let arn = start(
        &ecs,
        &[
            "sh",
            "-c",
            "sleep 300 & echo $!; sleep 300 & echo $!; echo $$; wait",
        ],
        "tree",
    )
    .await;
    let pids: Vec<i32> = lines(&mut rx, 3)
        .await
        .iter()
        .map(|l| l.parse().unwrap())
        .collect();
    assert!(pids.iter().all(|p| alive(*p)), "{pids:?} should be running");
    assert_eq!(ecs.process_group(&arn), Some(pids[2]));
    ecs.stop_task("local", &arn, "migration cancelled")
        .await
        .unwrap();
    let state = stopped(&ecs, &arn).await;
    assert_eq!(state.stop_code.as_deref(), Some("UserInitiated"));
    assert_eq!(state.stopped_reason.as_deref(), Some("migration cancelled"));
    // SIGTERM ended it (128 + 15); the SIGKILL after the stop timeout would give 137.
    assert_eq!(exit_code(&state), Some(143));
    assert!(
        all_dead(&pids).await,
        "a process of {pids:?} survived the stop"
    );
    assert_eq!(ecs.process_group(&arn), None);

    // Stopping again is fine; stopping what the runner never had fails as ECS fails it (the
    // ECS contract test, tests/wire/ecs_contract.rs, holds the rest of StopTask's rules).
    ecs.stop_task("local", &arn, "again").await.unwrap();
    let err = ecs
        .stop_task(
            "local",
            "arn:aws:ecs:local:000000000000:task/local/nope",
            "x",
        )
        .await
        .unwrap_err();
    assert!(ecs_migrate::ports::ecs::is_task_not_found(&err), "{err}");
    let state = stopped(&ecs, &arn).await;
    assert_eq!(state.stopped_reason.as_deref(), Some("migration cancelled"));
}

#[tokio::test]
async fn a_process_ignoring_sigterm_is_killed_after_the_stop_timeout() {
    let ecs = LocalEcs::new(taskdef(json!({"stopTimeout": 1})));
    let mut rx = ecs.subscribe();
    let arn = start(
        &ecs,
        &[
            "sh",
            "-c",
            "trap '' TERM; echo $$; while :; do sleep 0.1; done",
        ],
        "stubborn",
    )
    .await;
    let pid: i32 = lines(&mut rx, 1).await[0].parse().unwrap();
    let before = Instant::now();
    ecs.stop_task("local", &arn, "timeout").await.unwrap();
    // While it ignores SIGTERM the task is STOPPING, not yet STOPPED.
    match ecs.describe_task("local", &arn).await.unwrap() {
        TaskLookup::Found(state) => {
            assert_eq!(state.last_status, LastStatus::Stopping);
            assert_eq!(state.desired_status, Some(LastStatus::Stopped));
        }
        other => panic!("{other:?}"),
    }
    let state = stopped(&ecs, &arn).await;
    let took = before.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "killed too early: {took:?}"
    );
    assert!(took < Duration::from_secs(6), "killed too late: {took:?}");
    assert_eq!(exit_code(&state), Some(137));
    assert!(all_dead(&[pid]).await);
}

#[tokio::test]
async fn what_the_main_process_leaves_behind_dies_with_it() {
    let ecs = LocalEcs::new(taskdef(json!({})));
    let mut rx = ecs.subscribe();
    // The background sleep keeps the pipes open; the task still ends when sh exits.
    let arn = start(&ecs, &["sh", "-c", "sleep 300 & echo $!"], "orphan").await;
    let pid: i32 = lines(&mut rx, 1).await[0].parse().unwrap();
    let state = stopped(&ecs, &arn).await;
    assert_eq!(exit_code(&state), Some(0));
    assert!(
        all_dead(&[pid]).await,
        "the background sleep {pid} survived"
    );
}

#[tokio::test]
async fn dropping_the_runner_kills_running_tasks() {
    let ecs = LocalEcs::new(taskdef(json!({})));
    let mut rx = ecs.subscribe();
    let _arn = start(
        &ecs,
        &["sh", "-c", "sleep 300 & echo $!; echo $$; wait"],
        "dropped",
    )
    .await;
    let pids: Vec<i32> = lines(&mut rx, 2)
        .await
        .iter()
        .map(|l| l.parse().unwrap())
        .collect();
    drop(ecs);
    assert!(all_dead(&pids).await, "{pids:?} outlived the runner");
}

#[tokio::test]
async fn the_same_client_token_starts_one_task() {
    let dir = TempDir::new("token");
    let marker = dir.0.join("runs");
    let script = format!("echo run >> {}", marker.display());
    let ecs = LocalEcs::new(taskdef(json!({})));
    let first = start(&ecs, &["sh", "-c", &script], "same-token").await;
    let second = start(&ecs, &["sh", "-c", &script], "same-token").await;
    assert_eq!(first, second);
    stopped(&ecs, &first).await;
    let third = start(&ecs, &["sh", "-c", &script], "same-token").await;
    assert_eq!(first, third, "a stopped task still answers for its token");
    assert_eq!(ecs.tasks().len(), 1);
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "run\n");
    let other = start(&ecs, &["sh", "-c", &script], "other-token").await;
    assert_ne!(first, other);
    stopped(&ecs, &other).await;
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "run\nrun\n");
}

#[tokio::test]
async fn wait_for_change_returns_when_the_process_exits() {
    let ecs = LocalEcs::new(taskdef(json!({})));
    let arn = start(&ecs, &["sh", "-c", "sleep 0.3"], "prompt").await;
    let began = Instant::now();
    let mut polls = 0;
    loop {
        polls += 1;
        assert!(polls < 20, "too many wake-ups");
        match ecs.describe_task("local", &arn).await.unwrap() {
            TaskLookup::Found(state) if state.last_status == LastStatus::Stopped => break,
            TaskLookup::Found(_) => {}
            other => panic!("{other:?}"),
        }
        ecs.wait_for_change(&SystemClock, &arn, Duration::from_secs(30))
            .await;
    }
    assert!(
        began.elapsed() < Duration::from_secs(5),
        "{:?}",
        began.elapsed()
    );

    // With nothing changing it waits the interval.
    let arn = start(&ecs, &["sleep", "300"], "quiet").await;
    let starting = Instant::now();
    loop {
        match ecs.describe_task("local", &arn).await.unwrap() {
            TaskLookup::Found(state) if state.last_status == LastStatus::Running => break,
            other => {
                assert!(
                    starting.elapsed() < Duration::from_secs(30),
                    "never RUNNING: {other:?}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await
            }
        }
    }
    let began = Instant::now();
    ecs.wait_for_change(&SystemClock, &arn, Duration::from_millis(300))
        .await;
    let waited = began.elapsed();
    assert!(
        waited >= Duration::from_millis(250),
        "returned early: {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    ecs.stop_task("local", &arn, "done").await.unwrap();
    stopped(&ecs, &arn).await;
}

#[tokio::test]
async fn unknown_tasks_are_missing_and_listing_finds_running_ones() {
    let ecs = LocalEcs::new(taskdef(json!({})));
    let lookup = ecs
        .describe_task("local", "arn:aws:ecs:local:000000000000:task/local/0123")
        .await
        .unwrap();
    assert_eq!(
        lookup,
        TaskLookup::Missing {
            reason: "MISSING".into()
        }
    );

    let arn = start(&ecs, &["sleep", "300"], "listed").await;
    let quick = start(&ecs, &["true"], "finished").await;
    stopped(&ecs, &quick).await;
    assert_eq!(
        ecs.list_tasks_started_by("local", "by-listed")
            .await
            .unwrap(),
        vec![arn.clone()]
    );
    assert_eq!(
        ecs.list_tasks_started_by("arn:aws:ecs:local:000000000000:cluster/local", "by-listed")
            .await
            .unwrap(),
        vec![arn.clone()]
    );
    assert!(ecs
        .list_tasks_started_by("local", "by-finished")
        .await
        .unwrap()
        .is_empty());
    assert!(ecs
        .list_tasks_started_by("other", "by-listed")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(ecs.stop_all("Ctrl-C"), vec![arn.clone()]);
    let state = stopped(&ecs, &arn).await;
    assert_eq!(state.stop_code.as_deref(), Some("UserInitiated"));
    assert!(ecs
        .list_tasks_started_by("local", "by-listed")
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn task_definition_lookups_and_run_task_refusals() {
    let td = LocalTaskDefinition::parse(
        "td.json",
        &json!({"family": "demo", "containerDefinitions": [
            {"name": "migrate", "logConfiguration": {"logDriver": "awslogs", "options": {
                "awslogs-group": "/ecs/demo", "awslogs-stream-prefix": "ecs"}}},
            {"name": "sidecar", "essential": false}
        ]})
        .to_string(),
    )
    .unwrap();
    let ecs = LocalEcs::new(td);
    // The file stands in for every revision of its family, wherever it is registered.
    for name in [
        "demo",
        "demo:1",
        "demo:2",
        "arn:aws:ecs:local:000000000000:task-definition/demo:1",
        "arn:aws:ecs:eu-west-1:123456789012:task-definition/demo:1",
    ] {
        let found = ecs.describe_task_definition(name).await.unwrap();
        let found = found.unwrap_or_else(|| panic!("{name} not found"));
        assert_eq!(
            found.arn,
            "arn:aws:ecs:local:000000000000:task-definition/demo:1"
        );
        assert_eq!(found.revision, 1);
    }
    for name in [
        "other",
        "other:1",
        "arn:aws:ecs:eu-west-1:123456789012:task-definition/other:1",
    ] {
        assert_eq!(
            ecs.describe_task_definition(name).await.unwrap(),
            None,
            "{name}"
        );
    }

    // The stream derived from the reported log configuration is the one the runner answers for.
    let td = ecs.describe_task_definition("demo").await.unwrap().unwrap();
    let log = td.containers[0].log.clone();
    let arn = start(
        &ecs,
        &["sh", "-c", "for i in 1 2 3 4 5; do echo $i; done"],
        "logs",
    )
    .await;
    stopped(&ecs, &arn).await;
    let stream = LogStream::for_container(log.as_ref(), "migrate", &arn).unwrap();
    assert_eq!(stream.group, "/ecs/demo");
    assert!(stream.stream.starts_with("ecs/migrate/"));
    assert_eq!(
        ecs.tail(&stream, 2).await.unwrap(),
        Some(vec!["4".into(), "5".into()])
    );
    let elsewhere = LogStream {
        group: "/ecs/demo".into(),
        stream: "ecs/migrate/unknown".into(),
        region: None,
    };
    assert_eq!(ecs.tail(&elsewhere, 2).await.unwrap(), None);
    let sidecar = LogStream::for_container(td.containers[1].log.as_ref(), "sidecar", &arn).unwrap();
    assert_eq!(sidecar.group, "/ecs-migrate/local/demo");

    let mut wrong = params(&["true"], "wrong-family");
    wrong.task_definition = "other:1".into();
    let err = ecs.run_task(&wrong).await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("ClientException"));
    let mut wrong = params(&["true"], "wrong-container");
    wrong.container = "web".into();
    let err = ecs.run_task(&wrong).await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("InvalidParameterException"));
    assert!(err.message.contains("web"), "{err}");
}

#[tokio::test]
async fn docker_without_a_daemon_is_a_clear_error_at_once() {
    let options = DockerOptions {
        host: Some("unix:///nonexistent/ecs-migrate/docker.sock".into()),
        probe_timeout: Duration::from_secs(5),
    };
    let began = Instant::now();
    let err = LocalEcs::with_runner(taskdef(json!({"image": "app:1"})), Runner::Docker(options))
        .await
        .unwrap_err();
    assert!(began.elapsed() < Duration::from_secs(6));
    assert!(
        matches!(&err, DockerError::NoDaemon { host, .. } if host.contains("/nonexistent/")),
        "{err}"
    );
}

#[tokio::test]
async fn docker_probe_gives_up_on_a_daemon_that_never_answers() {
    let dir = TempDir::new("docker-sock");
    let socket = dir.0.join("docker.sock");
    let listener = tokio::net::UnixListener::bind(&socket).unwrap();
    // Accepts connections and never answers.
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    });
    let options = DockerOptions {
        host: Some(format!("unix://{}", socket.display())),
        probe_timeout: Duration::from_secs(1),
    };
    // The daemon accepts and never answers: the probe must give up (after its 1 s), not hang.
    let err = tokio::time::timeout(
        LIMIT,
        LocalEcs::with_runner(taskdef(json!({"image": "app:1"})), Runner::Docker(options)),
    )
    .await
    .expect("the probe of a daemon that never answers hung")
    .unwrap_err();
    server.abort();
    assert!(matches!(err, DockerError::NoDaemon { .. }), "{err}");
}
