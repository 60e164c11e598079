//! `ecs-migrate start|wait|run` against moto server: the built binary
//! (`CARGO_BIN_EXE_ecs-migrate`, pinned by `common::bin`), pointed at moto with
//! `--endpoint-url` and dummy credentials.
//!
//! moto runs Pass/Wait/Choice/Succeed/Fail states for real (`execute_state_machine`), so the
//! test state machines are made of those, in the shape of statemachine/migration.asl.json:
//! Pass states named RunTask and PollStatus whose outputs carry `task` (a `StartedTask`, with
//! the log stream) and `status` (a `TaskStatus`, one per poll round, read from a script with
//! States.ArrayGetItem), the PollStatus/IsTaskStopped loop (a Wait state standing for the time
//! the real PollStatus waits inside its Lambda), and MigrationSucceeded or a MigrationFailed
//! Fail state with Error and Cause.
//!
//! A name taken by an execution with different input is a usage error: exit 2 (the migration
//! did not run, so it did not fail).

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::moto::{self, Moto};
use ecs_migrate::ecs::ContainerState;
use ecs_migrate::logs::LogStream;
use ecs_migrate::steps::{MigrationResult, Phase, StartedTask, TaskStatus};
use serde_json::{json, Value};

const ACCOUNT: &str = moto::ACCOUNT;
/// Every CLI run is bounded: a hung wait fails the test instead of hanging it.
const RUN_LIMIT: Duration = Duration::from_secs(60);

fn server() -> &'static Moto {
    let server = moto::shared();
    server.enable_state_machine_execution();
    server
}

// ---- running the binary ----

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// The command with only the environment a CI job would give it: dummy credentials and a
/// region, no ~/.aws, no instance metadata, and no AWS_ENDPOINT_URL (the flag must do it).
fn command(server: &Moto, args: &[&str]) -> Command {
    let mut cmd = Command::new(common::bin::ecs_migrate());
    cmd.env_clear();
    for (key, value) in server.client_env() {
        if key != "AWS_ENDPOINT_URL" {
            cmd.env(key, value);
        }
    }
    cmd.args(args);
    if !args.contains(&"--dry-run") && !args.contains(&"--help") {
        cmd.args(["--endpoint-url", &server.endpoint()]);
    }
    cmd
}

fn spawn(mut cmd: Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ecs-migrate")
}

/// Waits (bounded) for a spawned command, collecting what it printed.
fn finish(mut child: Child) -> Output {
    // A caller may have taken stdout to read it as it comes.
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut stdout) = stdout {
            let _ = stdout.read_to_string(&mut s);
        }
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(mut stderr) = stderr {
            let _ = stderr.read_to_string(&mut s);
        }
        s
    });
    let deadline = Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "ecs-migrate still running after {RUN_LIMIT:?}; stdout:\n{}",
                out.join().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn cli(server: &Moto, args: &[&str]) -> Output {
    finish(spawn(command(server, args)))
}

/// Runs the blocking CLI off the async runtime.
async fn cli_async(server: &'static Moto, args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cli(server, &args)
    })
    .await
    .unwrap()
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

// ---- test state machines in the real definition's shape ----

#[derive(Clone)]
enum End {
    Succeed,
    Fail { error: String, cause: String },
}

struct Machine {
    /// Seconds in each PollInterval.
    wait: u32,
    /// The task's last status at each PollStatus round; the last one should be STOPPED.
    statuses: Vec<&'static str>,
    exit_code: i32,
    log: Option<LogStream>,
    end: End,
}

impl Machine {
    fn new(log: Option<LogStream>, end: End) -> Self {
        Self {
            wait: 1,
            statuses: vec!["PENDING", "RUNNING", "STOPPED"],
            exit_code: if matches!(end, End::Succeed) { 0 } else { 1 },
            log,
            end,
        }
    }

    fn definition(&self) -> Value {
        let task_arn = format!("arn:aws:ecs:us-east-1:{ACCOUNT}:task/migrations/0a1b2c3d");
        let task = StartedTask {
            task_arn: task_arn.clone(),
            cluster: "migrations".into(),
            run_at: Utc::now(),
            log_stream: self.log.clone(),
        };
        // One entry per poll round, each field its own array (States.ArrayGetItem picks the
        // round's).
        let rounds: Vec<TaskStatus> = self
            .statuses
            .iter()
            .enumerate()
            .map(|(i, last)| {
                let stopped = *last == "STOPPED";
                TaskStatus {
                    phase: if stopped {
                        Phase::Stopped
                    } else {
                        Phase::InProgress
                    },
                    last_status: last.to_string(),
                    desired_status: Some(if stopped { "STOPPED" } else { "RUNNING" }.into()),
                    stop_code: stopped.then(|| "EssentialContainerExited".into()),
                    stopped_reason: stopped.then(|| "Essential container in task exited".into()),
                    created_at: None,
                    started_at: None,
                    stopped_at: None,
                    containers: vec![ContainerState {
                        name: "app".into(),
                        last_status: Some(last.to_string()),
                        exit_code: stopped.then_some(self.exit_code),
                        reason: None,
                    }],
                    checked_at: Utc::now(),
                    polls: i as u64 + 1,
                    error: None,
                }
            })
            .collect();
        let rounds = serde_json::to_value(&rounds).unwrap();
        let field = |name: &str| -> Value {
            Value::Array(
                rounds
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r[name].clone())
                    .collect(),
            )
        };
        let fields = [
            "phase",
            "last_status",
            "stop_code",
            "stopped_reason",
            "containers",
            "checked_at",
            "polls",
        ];
        let mut script = serde_json::Map::new();
        for name in fields {
            script.insert(name.to_string(), field(name));
        }
        script.insert("round".into(), json!(0));
        let mut poll_params = serde_json::Map::new();
        let mut count_params = serde_json::Map::new();
        for name in fields {
            poll_params.insert(
                format!("{name}.$"),
                json!(format!(
                    "States.ArrayGetItem($.script.{name}, $.script.round)"
                )),
            );
            count_params.insert(format!("{name}.$"), json!(format!("$.script.{name}")));
        }
        count_params.insert("round.$".into(), json!("States.MathAdd($.script.round, 1)"));
        let check_next = match self.end {
            End::Succeed => "MigrationSucceeded",
            End::Fail { .. } => "MigrationFailed",
        };
        let result = MigrationResult {
            task_arn,
            container: "app".into(),
            exit_code: self.exit_code,
            duration_seconds: Some(3),
            log_stream: self.log.clone(),
        };
        // statemachine/migration.asl.json's names; the real PollStatus waits inside its Lambda,
        // here a Wait state (PollInterval) stands for that time.
        let mut states = json!({
            "ValidateEvent": {"Type": "Pass", "Result": Value::Object(script), "ResultPath": "$.script", "Next": "RunTask"},
            "RunTask": {"Type": "Pass", "Result": task, "ResultPath": "$.task", "Next": "PollInterval"},
            "PollInterval": {"Type": "Wait", "Seconds": self.wait, "Next": "PollStatus"},
            "PollStatus": {"Type": "Pass", "Parameters": Value::Object(poll_params), "ResultPath": "$.status", "Next": "NextRound"},
            "NextRound": {"Type": "Pass", "Parameters": Value::Object(count_params), "ResultPath": "$.script", "Next": "IsTaskStopped"},
            "IsTaskStopped": {"Type": "Choice",
                "Choices": [{"Variable": "$.status.phase", "StringEquals": "STOPPED", "Next": "CheckExitCode"}],
                "Default": "PollInterval"},
            "CheckExitCode": {"Type": "Pass", "Result": result, "ResultPath": "$.result", "Next": check_next},
        });
        match &self.end {
            End::Succeed => {
                states["MigrationSucceeded"] = json!({"Type": "Succeed"});
            }
            End::Fail { error, cause } => {
                states["MigrationFailed"] = json!({"Type": "Fail", "Error": error, "Cause": cause});
            }
        }
        json!({"Comment": "ecs-migrate test machine", "StartAt": "ValidateEvent", "States": states})
    }

    async fn create(&self, server: &Moto, prefix: &str) -> String {
        server
            .create_state_machine(&moto::unique(prefix), &self.definition())
            .await
    }
}

/// A machine that stays in one Wait state for `seconds` (for idempotency and timeouts).
async fn slow_machine(server: &Moto, seconds: u32) -> String {
    let definition = json!({"StartAt": "PollInterval", "States": {
        "PollInterval": {"Type": "Wait", "Seconds": seconds, "Next": "MigrationSucceeded"},
        "MigrationSucceeded": {"Type": "Succeed"}}});
    server
        .create_state_machine(&moto::unique("slow"), &definition)
        .await
}

/// A log group and stream with `lines`, as the task's container would have written them.
async fn log_stream(server: &Moto, lines: &[&str]) -> LogStream {
    let stream = LogStream {
        group: format!("/ecs/{}", moto::unique("app")),
        stream: format!("ecs/app/{}", moto::unique("task")),
        region: Some(moto::REGION.into()),
    };
    server
        .create_log_stream(&stream.group, &stream.stream, lines)
        .await;
    stream
}

async fn execution_status(server: &Moto, arn: &str) -> String {
    server
        .sfn()
        .await
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .expect("states:DescribeExecution")
        .status()
        .as_str()
        .to_string()
}

fn state_machine_args(machine: &str, taskdef: &str) -> Vec<String> {
    vec![
        "--state-machine-arn".into(),
        machine.into(),
        "--task-definition".into(),
        taskdef.into(),
    ]
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

// ---- the tests ----

#[tokio::test(flavor = "multi_thread")]
async fn run_succeeds_with_states_status_and_log_then_wait_replays_it() {
    let server = server();
    let lines = [
        "INFO  [alembic] Running upgrade -> a1",
        "INFO  [alembic] Running upgrade a1 -> b2",
        "done",
    ];
    let log = log_stream(server, &lines).await;
    let machine = Machine::new(Some(log.clone()), End::Succeed)
        .create(server, "ok")
        .await;

    let mut args = strings(&["run", "--poll-interval", "0.5", "--verbose"]);
    args.extend(state_machine_args(&machine, "app:42"));
    let out = cli_async(server, args).await;
    assert_eq!(out.code, 0, "{out:?}");
    let execution = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("execution "))
        .expect("the execution ARN first")
        .to_string();
    assert!(
        execution.contains(":execution:") && execution.contains(":app-42-"),
        "named after family and revision: {execution}"
    );
    for state in [
        "ValidateEvent",
        "RunTask",
        "PollInterval",
        "PollStatus",
        "IsTaskStopped",
        "CheckExitCode",
        "MigrationSucceeded",
    ] {
        assert_eq!(
            out.stdout
                .lines()
                .filter(|l| l.ends_with(&format!("] {state}")))
                .count(),
            1,
            "{state} once: {out:?}"
        );
    }
    assert!(out.stdout.contains("task PENDING"), "{out:?}");
    assert!(out.stdout.contains("task RUNNING"), "{out:?}");
    assert!(
        out.stdout.contains("task STOPPED (EssentialContainerExited: Essential container in task exited; app exit code 0)"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains(&format!("log {} {}", log.group, log.stream)),
        "{out:?}"
    );
    for line in lines {
        assert_eq!(
            count(&out.stdout, &format!("  | {line}\n")),
            1,
            "{line}: {out:?}"
        );
    }
    let result_line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("SUCCEEDED"))
        .expect("result line");
    assert!(result_line.ends_with(&execution), "{result_line}");
    let console = format!(
        "console: https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/{execution}"
    );
    assert!(out.stdout.contains(&console), "{out:?}");
    assert!(
        out.stderr.contains("api calls: "),
        "--verbose counts calls: {out:?}"
    );
    assert_eq!(execution_status(server, &execution).await, "SUCCEEDED");

    // wait on the ended execution shows the same story and exits the same way.
    let again = cli_async(server, strings(&["wait", &execution])).await;
    assert_eq!(again.code, 0, "{again:?}");
    for line in lines {
        assert_eq!(
            count(&again.stdout, &format!("  | {line}\n")),
            1,
            "{again:?}"
        );
    }
    assert!(again.stdout.contains("] MigrationSucceeded"), "{again:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_migration_prints_error_and_cause_and_exits_1() {
    let server = server();
    let log = log_stream(
        server,
        &[
            "Traceback (most recent call last):",
            "psycopg.errors.DuplicateTable",
        ],
    )
    .await;
    let cause =
        "the migration container exited with code 1\nlast lines:\npsycopg.errors.DuplicateTable";
    let machine = Machine::new(
        Some(log),
        End::Fail {
            error: "Migration.NonZeroExit".into(),
            cause: cause.into(),
        },
    )
    .create(server, "fail")
    .await;
    let mut args = strings(&["run", "--poll-interval", "0.5"]);
    args.extend(state_machine_args(&machine, "app:7"));
    let out = cli_async(server, args).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("\nFAILED after "), "{out:?}");
    assert!(
        out.stdout.contains("Error: Migration.NonZeroExit\n"),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("Cause: the migration container exited with code 1\n       last lines:\n       psycopg.errors.DuplicateTable\n"),
        "{out:?}"
    );
    assert!(out.stdout.contains("app exit code 1"), "{out:?}");
    assert!(out.stdout.contains("] MigrationFailed"), "{out:?}");
    assert_eq!(
        count(&out.stdout, "  | psycopg.errors.DuplicateTable\n"),
        1,
        "{out:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn json_is_one_object_with_the_result() {
    let server = server();
    let log = log_stream(server, &["one", "two"]).await;
    let ok = Machine::new(Some(log.clone()), End::Succeed)
        .create(server, "json")
        .await;
    let mut args = strings(&["run", "--json", "--poll-interval", "0.5"]);
    args.extend(state_machine_args(&ok, "app:3"));
    let out = cli_async(server, args).await;
    assert_eq!(out.code, 0, "{out:?}");
    let report: Value =
        serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    assert_eq!(out.stdout.trim().lines().count(), 1, "one object: {out:?}");
    assert_eq!(report["status"], "SUCCEEDED");
    let arn = report["executionArn"].as_str().unwrap();
    assert!(arn.contains(":app-3-"), "{report}");
    assert_eq!(
        report["consoleUrl"],
        format!("https://us-east-1.console.aws.amazon.com/states/home?region=us-east-1#/v2/executions/details/{arn}")
    );
    assert_eq!(report["logLines"], 2);
    assert_eq!(report["error"], Value::Null);
    assert_eq!(report["output"]["result"]["exit_code"], 0, "{report}");
    assert!(
        report["apiCalls"]["states"].as_u64().unwrap() >= 2,
        "{report}"
    );
    // Progress went to stderr, so stdout stays parseable.
    assert!(out.stderr.contains("  | one"), "{out:?}");

    let failing = Machine::new(
        None,
        End::Fail {
            error: "Migration.Timeout".into(),
            cause: "deadline passed".into(),
        },
    )
    .create(server, "json-fail")
    .await;
    let mut args = strings(&["run", "--json", "--poll-interval", "0.5"]);
    args.extend(state_machine_args(&failing, "app:3"));
    let out = cli_async(server, args).await;
    assert_eq!(out.code, 1, "{out:?}");
    let report: Value =
        serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    assert_eq!(report["status"], "FAILED");
    assert_eq!(report["error"], "Migration.Timeout");
    assert_eq!(report["cause"], "deadline passed");
    assert_eq!(report["logLines"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn log_lines_stream_while_running_and_the_last_ones_are_drained() {
    let server = server();
    let early = ["early 1", "early 2", "early 3"];
    let late = ["late 1", "late 2"];
    let log = log_stream(server, &early).await;
    let mut machine = Machine::new(Some(log.clone()), End::Succeed);
    machine.wait = 5;
    machine.statuses = vec!["STOPPED"];
    let arn = machine.create(server, "drain").await;
    let start = cli(
        server,
        &[
            "start",
            "--state-machine-arn",
            &arn,
            "--task-definition",
            "app:9",
        ],
    );
    assert_eq!(start.code, 0, "{start:?}");
    let execution = start.stdout.trim().to_string();

    // Poll every 4 s: the first poll (at once) sees RunTask and reads the early lines; the
    // execution ends about 5 s in, so the next history poll sees the end, and only the final
    // drain can show the late lines.
    let mut child = spawn(command(
        server,
        &["wait", &execution, "--poll-interval", "4"],
    ));
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            all.push_str(&line);
            all.push('\n');
            let _ = tx.send(line);
        }
        all
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.ends_with("early 3")) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("the early lines did not stream within 10 s: {seen:?}"),
        }
    }
    assert_eq!(
        execution_status(server, &execution).await,
        "RUNNING",
        "the early lines came while the execution ran"
    );
    server.put_log_lines(&log.group, &log.stream, &late).await;
    let out = tokio::task::spawn_blocking(move || {
        let mut out = finish(child);
        out.stdout = reader.join().unwrap();
        out
    })
    .await
    .unwrap();
    assert_eq!(out.code, 0, "{out:?}");
    for line in early.iter().chain(late.iter()) {
        assert_eq!(
            count(&out.stdout, &format!("  | {line}\n")),
            1,
            "{line}: {out:?}"
        );
    }
    let first_late = out.stdout.find("  | late 1").unwrap();
    assert!(
        out.stdout.find("  | early 3").unwrap() < first_late,
        "{out:?}"
    );
    assert!(
        out.stdout.find("] MigrationSucceeded").unwrap() < first_late,
        "drained after the end: {out:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn starting_twice_with_the_same_name_and_input_gives_the_same_execution() {
    let server = server();
    let machine = slow_machine(server, 60).await;
    let name = moto::unique("ci-run");
    let args = [
        "start",
        "--state-machine-arn",
        &machine,
        "--task-definition",
        "app:5",
        "--name",
        &name,
    ];
    let first = cli(server, &args);
    assert_eq!(first.code, 0, "{first:?}");
    let second = cli(server, &args);
    assert_eq!(second.code, 0, "{second:?}");
    let arn = first.stdout.trim();
    assert!(arn.ends_with(&format!(":{name}")), "{first:?}");
    assert_eq!(second.stdout.trim(), arn);
    let executions = server
        .sfn()
        .await
        .list_executions()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    assert_eq!(executions.executions().len(), 1);

    // The same name with another task definition: a usage error naming the clash.
    let other = cli(
        server,
        &[
            "start",
            "--state-machine-arn",
            &machine,
            "--task-definition",
            "app:6",
            "--name",
            &name,
        ],
    );
    assert_eq!(other.code, 2, "{other:?}");
    assert!(
        other.stderr.contains("already exists with different input"),
        "{other:?}"
    );
    assert!(
        other.stderr.contains("app:5"),
        "shows the existing input: {other:?}"
    );

    server
        .sfn()
        .await
        .stop_execution()
        .execution_arn(arn)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_name_of_an_ended_execution_cannot_be_reused() {
    let server = server();
    let machine = slow_machine(server, 0).await;
    let name = moto::unique("done");
    let args = [
        "start",
        "--state-machine-arn",
        &machine,
        "--task-definition",
        "app:5",
        "--name",
        &name,
        "--json",
    ];
    let first = cli(server, &args);
    assert_eq!(first.code, 0, "{first:?}");
    let started: Value = serde_json::from_str(first.stdout.trim()).unwrap();
    assert_eq!(started["name"], name.as_str());
    assert_eq!(started["input"], r#"{"taskdef_arn":"app:5"}"#);
    let arn = started["executionArn"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    while execution_status(server, &arn).await == "RUNNING" {
        assert!(Instant::now() < deadline, "execution did not end");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let again = cli(server, &args);
    assert_eq!(again.code, 2, "{again:?}");
    assert!(again.stderr.contains("already ran"), "{again:?}");
    assert!(
        again.stderr.contains(&format!("ecs-migrate wait {arn}")),
        "{again:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn timeout_leaves_the_execution_running_unless_told_to_abort() {
    let server = server();
    let machine = slow_machine(server, 120).await;
    let start = cli(
        server,
        &[
            "start",
            "--state-machine-arn",
            &machine,
            "--task-definition",
            "app:1",
        ],
    );
    assert_eq!(start.code, 0, "{start:?}");
    let execution = start.stdout.trim().to_string();

    let began = Instant::now();
    let out = cli_async(
        server,
        strings(&[
            "wait",
            &execution,
            "--timeout",
            "2",
            "--poll-interval",
            "0.5",
        ]),
    )
    .await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "{:?}",
        began.elapsed()
    );
    assert!(
        out.stdout
            .contains("still running after --timeout 2s; it goes on"),
        "{out:?}"
    );
    assert!(out.stdout.contains("RUNNING (wait timed out)"), "{out:?}");
    assert_eq!(execution_status(server, &execution).await, "RUNNING");

    let out = cli_async(
        server,
        strings(&[
            "wait",
            &execution,
            "--timeout",
            "1",
            "--abort-on-timeout",
            "--json",
            "--poll-interval",
            "0.5",
        ]),
    )
    .await;
    assert_eq!(out.code, 1, "{out:?}");
    let report: Value =
        serde_json::from_str(out.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {out:?}"));
    assert_eq!(report["status"], "ABORTED", "{report}");
    assert_eq!(execution_status(server, &execution).await, "ABORTED");
}

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_checks_the_flags_and_starts_nothing() {
    let server = server();
    let machine = slow_machine(server, 0).await;
    // No credentials needed: nothing is called.
    let mut cmd = command(
        server,
        &[
            "start",
            "--dry-run",
            "--state-machine-arn",
            &machine,
            "--task-definition",
            "app:12",
        ],
    );
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    let out = finish(spawn(cmd));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("dry run: would start execution"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains(r#"input         {"taskdef_arn":"app:12"}"#),
        "{out:?}"
    );
    assert!(out.stdout.contains("name          app-12-"), "{out:?}");

    let out = cli(
        server,
        &[
            "run",
            "--dry-run",
            "--json",
            "--state-machine-arn",
            &machine,
            "--task-definition",
            "app:12",
            "--name",
            "x1",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let plan: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(plan["dryRun"], true);
    assert_eq!(plan["name"], "x1");
    let machine_name = machine.rsplit(':').next().unwrap();
    assert_eq!(
        plan["executionArn"],
        format!("arn:aws:states:us-east-1:{ACCOUNT}:execution:{machine_name}:x1")
    );

    let executions = server
        .sfn()
        .await
        .list_executions()
        .state_machine_arn(&machine)
        .send()
        .await
        .unwrap();
    assert!(
        executions.executions().is_empty(),
        "a dry run started something"
    );

    for (taskdef, says) in [
        ("app:0", "revision"),
        ("", "empty"),
        (
            "arn:aws:ecs:eu-west-1:123456789012:task-definition/app:1",
            "eu-west-1",
        ),
    ] {
        let out = cli(
            server,
            &[
                "start",
                "--dry-run",
                "--state-machine-arn",
                &machine,
                "--task-definition",
                taskdef,
            ],
        );
        assert_eq!(out.code, 2, "{taskdef:?}: {out:?}");
        assert!(out.stderr.contains(says), "{taskdef:?}: {out:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_exit_2_and_say_what_to_do() {
    let server = server();
    let machine = format!("arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:whatever");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["start", "--task-definition", "app:1"],
            "--state-machine-arn",
        ),
        (
            vec![
                "start",
                "--state-machine-arn",
                &machine,
                "--task-definition",
                "app:1",
                "--bogus",
            ],
            "--bogus",
        ),
        (
            vec![
                "start",
                "--state-machine-arn",
                "migrate",
                "--task-definition",
                "app:1",
            ],
            "arn:aws:states:REGION",
        ),
        (
            vec![
                "start",
                "--state-machine-arn",
                &machine,
                "--task-definition",
                "app:1",
                "--name",
                "a b",
            ],
            "--name",
        ),
        (vec!["wait"], "EXECUTION_ARN"),
        (vec!["wait", "not-an-arn"], "ecs-migrate start"),
        (
            vec![
                "wait",
                "arn:aws:states:us-east-1:123456789012:execution:m:n",
                "--poll-interval",
                "0",
            ],
            "0.2 to 60",
        ),
        (
            vec![
                "wait",
                "arn:aws:states:us-east-1:123456789012:execution:m:n",
                "--abort-on-timeout",
            ],
            "--timeout",
        ),
        (
            vec![
                "wait",
                "arn:aws:states:us-east-1:123456789012:execution:m:n",
                "--region",
                "eu-west-1",
            ],
            "drop --region",
        ),
        (
            vec![
                "run",
                "--state-machine-arn",
                &machine,
                "--task-definition",
                "app:1",
                "--timeout",
                "soon",
            ],
            "--timeout",
        ),
    ];
    for (args, says) in cases {
        let out = cli(server, &args);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(
            out.stderr.contains(says),
            "{args:?} should mention {says:?}: {out:?}"
        );
    }
    // Step Functions errors that are the caller's to fix.
    let missing = format!("arn:aws:states:us-east-1:{ACCOUNT}:execution:nothing:here");
    let out = cli(server, &["wait", &missing]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("no execution"), "{out:?}");
    let out = cli(
        server,
        &[
            "start",
            "--state-machine-arn",
            &machine,
            "--task-definition",
            "app:1",
        ],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("no state machine"), "{out:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_credentials_is_a_usage_error_saying_where_to_put_them() {
    let server = server();
    let machine = format!("arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:whatever");
    let mut cmd = command(
        server,
        &[
            "start",
            "--state-machine-arn",
            &machine,
            "--task-definition",
            "app:1",
        ],
    );
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    let out = finish(spawn(cmd));
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("no AWS credentials"), "{out:?}");
    assert!(out.stderr.contains("AWS_ACCESS_KEY_ID"), "{out:?}");
    assert!(out.stderr.contains("--profile"), "{out:?}");
}

#[test]
fn help_lists_the_flags() {
    for (sub, flags) in [
        (
            "start",
            vec![
                "--state-machine-arn",
                "--task-definition",
                "--name",
                "--dry-run",
                "--json",
                "--region",
                "--profile",
                "--endpoint-url",
            ],
        ),
        (
            "wait",
            vec![
                "--timeout",
                "--abort-on-timeout",
                "--poll-interval",
                "--json",
                "--region",
                "--profile",
                "--endpoint-url",
            ],
        ),
        (
            "run",
            vec![
                "--state-machine-arn",
                "--task-definition",
                "--timeout",
                "--abort-on-timeout",
                "--dry-run",
                "--json",
            ],
        ),
    ] {
        let out = Command::new(common::bin::ecs_migrate())
            .args([sub, "--help"])
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        for flag in flags {
            assert!(text.contains(flag), "{sub} --help lacks {flag}:\n{text}");
        }
    }
}
