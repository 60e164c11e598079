//! `ecs-migrate start|wait|run` against moto server: the built binary
//! (`CARGO_BIN_EXE_ecs-migrate`), pointed at moto with
//! `--endpoint-url` and dummy credentials.
//!
//! moto runs Pass/Wait/Choice/Succeed/Fail states for real (`execute_state_machine`), so the
//! test state machines (`machines`) are made of those, in the real definition's shape.
//!
//! A name taken by an execution with different input is a usage error: exit 2 (the migration
//! did not run, so it did not fail).

use std::io::{BufRead, BufReader, Read};
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::machines::{execution_status, log_stream, slow_machine, End, Machine};
use crate::moto::{self, Moto};
use crate::process::{finish, spawn, Output};

const ACCOUNT: &str = moto::ACCOUNT;

pub(crate) fn server() -> &'static Moto {
    let server = moto::shared();
    server.enable_state_machine_execution();
    server
}

// ---- running the binary ----

/// The command with only the environment a CI job would give it: dummy credentials and a
/// region, no ~/.aws, no instance metadata, and no AWS_ENDPOINT_URL (the flag must do it).
fn bare_command(server: &Moto, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecs-migrate"));
    cmd.env_clear();
    for (key, value) in server.client_env() {
        if key != "AWS_ENDPOINT_URL" {
            cmd.env(key, value);
        }
    }
    cmd.args(args);
    cmd
}

/// [`bare_command`] pointed at moto with `--endpoint-url` (dry runs too: a call they made
/// by mistake would reach moto, where the test sees it, never AWS).
pub(crate) fn command(server: &Moto, args: &[&str]) -> Command {
    let mut cmd = bare_command(server, args);
    if !args.contains(&"--help") {
        cmd.args(["--endpoint-url", &server.endpoint()]);
    }
    cmd
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
    // The execution runs until the test stops it (a Wait of an hour), so that the early lines
    // are seen while it runs however slowly `wait` starts on a loaded machine, and its end
    // comes after the late lines are written.
    let mut machine = Machine::new(Some(log.clone()), End::Succeed);
    machine.wait = 3600;
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

    // Poll every 4 s: the first poll (at once) sees RunTask and reads the early lines; the test
    // then writes the late lines and stops the execution within one poll interval, so the next
    // history poll sees the end, and only the final drain can show the late lines.
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
    server
        .sfn()
        .await
        .stop_execution()
        .execution_arn(&execution)
        .send()
        .await
        .unwrap();
    let out = tokio::task::spawn_blocking(move || {
        let mut out = finish(child);
        out.stdout = reader.join().unwrap();
        out
    })
    .await
    .unwrap();
    // Aborted: exit 1 (docs/ci.md); the drain is the same at any end.
    assert_eq!(out.code, 1, "{out:?}");
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
    // The late lines were written just before the end: the end's drain shows them, before the
    // summary line that closes the wait.
    assert!(
        first_late < out.stdout.find("ABORTED after").unwrap(),
        "drained before the summary: {out:?}"
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

/// `ecs-migrate start` of a machine whose run takes `seconds`; the execution's ARN.
async fn start_slow_execution(server: &Moto, seconds: u32) -> String {
    let machine = slow_machine(server, seconds).await;
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
    start.stdout.trim().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn timeout_leaves_the_execution_running_unless_told_to_abort() {
    let server = server();
    let execution = start_slow_execution(server, 120).await;

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
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecs-migrate"));
        cmd.args([sub, "--help"]);
        let out = finish(spawn(cmd));
        assert_eq!(out.code, 0, "{out:?}");
        let text = out.stdout;
        for flag in flags {
            assert!(text.contains(flag), "{sub} --help lacks {flag}:\n{text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_waiting_and_leaves_the_execution_running() {
    let server = server();
    let execution = start_slow_execution(server, 120).await;
    let mut child = spawn(command(
        server,
        &["wait", &execution, "--poll-interval", "0.5"],
    ));
    let pid = child.id().to_string();
    // The handler is in place before wait prints its first line: wait for that line, not for
    // a while.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("execution "), "{first:?}");
    let kill = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(kill.success());
    let out = tokio::task::spawn_blocking(move || {
        let rest = std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = stdout.read_to_string(&mut rest);
            rest
        });
        // finish() bounds the wait; once the command has exited, the reader sees the end.
        let mut out = finish(child);
        out.stdout = first + &rest.join().unwrap();
        out
    })
    .await
    .unwrap();
    assert_eq!(out.code, 130, "{out:?}");
    assert!(
        out.stdout
            .contains("interrupted: stopped waiting, the execution goes on"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains(&format!("ecs-migrate wait {execution}")),
        "{out:?}"
    );
    assert_eq!(execution_status(server, &execution).await, "RUNNING");
    server
        .sfn()
        .await
        .stop_execution()
        .execution_arn(&execution)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_with_static_keys_is_enough() {
    let server = server();
    let machine = slow_machine(server, 0).await;
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(moto::unique("aws"));
    std::fs::create_dir_all(&dir).unwrap();
    let credentials = dir.join("credentials");
    std::fs::write(
        &credentials,
        "[ci]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let args = [
        "run",
        "--profile",
        "ci",
        "--state-machine-arn",
        &machine,
        "--task-definition",
        "app:2",
        "--poll-interval",
        "0.5",
    ];
    let mut cmd = command(server, &args);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials);
    let out = tokio::task::spawn_blocking(move || finish(spawn(cmd)))
        .await
        .unwrap();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("\nSUCCEEDED"), "{out:?}");

    // The same profile name without keys anywhere: exit 2, naming the profile.
    let mut cmd = command(server, &args);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    let out = tokio::task::spawn_blocking(move || finish(spawn(cmd)))
        .await
        .unwrap();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("profile \"ci\""), "{out:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_endpoint_is_a_usage_error_soon() {
    let server = server();
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{closed}");
    let machine = format!("arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:m");
    let execution = format!("arn:aws:states:us-east-1:{ACCOUNT}:execution:m:n");
    for args in [
        vec![
            "start",
            "--state-machine-arn",
            &machine,
            "--task-definition",
            "app:1",
        ],
        vec!["wait", &execution, "--poll-interval", "0.5"],
    ] {
        let mut cmd = bare_command(server, &args);
        cmd.args(["--endpoint-url", &endpoint]);
        let began = Instant::now();
        let out = tokio::task::spawn_blocking(move || finish(spawn(cmd)))
            .await
            .unwrap();
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(
            began.elapsed() < Duration::from_secs(40),
            "{args:?}: {:?}",
            began.elapsed()
        );
        assert!(out.stderr.contains("ecs-migrate: "), "{args:?}: {out:?}");
    }
}
