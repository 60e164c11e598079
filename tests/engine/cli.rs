//! `ecs-migrate asl run|validate|graph` through the built binary: exit codes (0 succeeded,
//! 1 failed or timed out, 2 usage) and exactly one JSON object on stdout for `run`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::process::{finish, spawn, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ecs-migrate"))
}

/// A scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("asl-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, file: &str, v: &Value) -> PathBuf {
    let p = dir.join(file);
    std::fs::write(&p, serde_json::to_string_pretty(v).unwrap()).unwrap();
    p
}

fn asl(args: &[&str]) -> Output {
    let mut cmd = bin();
    cmd.arg("asl").args(args);
    finish(spawn(cmd))
}

/// stdout must be exactly one JSON object.
fn single_json(out: &Output) -> Value {
    let text = out.stdout.as_str();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let first = stream.next().expect("one JSON value").expect("valid JSON");
    assert!(
        stream.next().is_none(),
        "more than one JSON value on stdout: {text}"
    );
    assert!(first.is_object(), "{text}");
    first
}

fn code(out: &Output) -> i32 {
    out.code
}

fn migration_like() -> Value {
    json!({"StartAt": "ValidateEvent", "States": {
        "ValidateEvent": {"Type": "Task", "Resource": "${validate_event_function_arn}", "ResultPath": "$.validated", "Next": "Wait"},
        "Wait": {"Type": "Wait", "Seconds": 3600, "Next": "RunTask"},
        "RunTask": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "${run_task_function_arn}", "Payload.$": "$"},
            "ResultSelector": {"taskArn.$": "$.Payload.taskArn"}, "ResultPath": "$.task",
            "Catch": [{"ErrorEquals": ["Migration.RunTaskFailed"], "ResultPath": "$.error", "Next": "MigrationFailed"}],
            "Next": "MigrationSucceeded"},
        "MigrationSucceeded": {"Type": "Succeed"},
        "MigrationFailed": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}}})
}

fn mock_file() -> Value {
    json!({
        "StateMachines": {"migration": {"TestCases": {
            "HappyPath": {"ValidateEvent": "Valid", "RunTask": "Started"},
            "RunTaskFails": {"ValidateEvent": "Valid", "RunTask": "Refused"},
            "MissingRunTask": {"ValidateEvent": "Valid"}}}},
        "MockedResponses": {
            "Valid": {"0": {"Return": {"taskdef_arn": "arn:aws:ecs:us-east-1:123456789012:task-definition/app:42"}}},
            "Started": {"0": {"Return": {"StatusCode": 200, "Payload": {"taskArn": "arn:aws:ecs:us-east-1:123456789012:task/c/abc"}}}},
            "Refused": {"0": {"Throw": {"Error": "Migration.RunTaskFailed", "Cause": "RunTask refused: MISSING"}}}}
    })
}

#[test]
fn run_succeeds_with_mocks_in_virtual_time() {
    let dir = scratch("ok");
    let def = write(&dir, "migration.asl.json", &migration_like());
    let mocks = write(&dir, "MockConfigFile.json", &mock_file());
    let out = asl(&[
        "run",
        "--definition",
        def.to_str().unwrap(),
        "--input",
        r#"{"taskdef_arn":"app"}"#,
        "--mock-config",
        mocks.to_str().unwrap(),
        "--test-case",
        "HappyPath",
        "--clock",
        "virtual",
        "--history",
    ]);
    assert_eq!(code(&out), 0, "{}", out.stderr.as_str());
    let v = single_json(&out);
    assert_eq!(v["status"], json!("SUCCEEDED"));
    assert_eq!(
        v["output"]["task"],
        json!({"taskArn": "arn:aws:ecs:us-east-1:123456789012:task/c/abc"})
    );
    let history = v["history"].as_array().unwrap();
    assert_eq!(history[0]["type"], json!("ExecutionStarted"));
    assert_eq!(history.last().unwrap()["type"], json!("ExecutionSucceeded"));
    // The hour-long Wait state took no real time but shows in the timestamps.
    let first = history[0]["timestamp"].as_str().unwrap();
    let last = history.last().unwrap()["timestamp"].as_str().unwrap();
    let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
    assert_eq!((t(last) - t(first)).num_seconds(), 3600);
    // Progress goes to stderr, one line per state entered.
    let stderr = out.stderr.as_str();
    assert!(
        stderr.contains("TaskStateEntered ValidateEvent"),
        "{stderr}"
    );
}

#[test]
fn run_failure_exits_1_with_error_and_cause() {
    let dir = scratch("fail");
    let def = write(&dir, "migration.asl.json", &migration_like());
    let mocks = write(&dir, "mocks.json", &mock_file());
    let out = asl(&[
        "run",
        "--definition",
        def.to_str().unwrap(),
        "--mock-config",
        mocks.to_str().unwrap(),
        "--test-case",
        "RunTaskFails",
        "--clock",
        "virtual",
        "--quiet",
    ]);
    assert_eq!(code(&out), 1);
    assert_eq!(
        single_json(&out),
        json!({"status": "FAILED", "error": "Migration.RunTaskFailed", "cause": "RunTask refused: MISSING"})
    );
    assert!(
        out.stderr.is_empty(),
        "--quiet prints nothing: {}",
        out.stderr.as_str()
    );
}

#[test]
fn run_with_unmocked_task_names_it() {
    let dir = scratch("unmocked");
    let def = write(&dir, "migration.asl.json", &migration_like());
    let mocks = write(&dir, "mocks.json", &mock_file());
    let out = asl(&[
        "run",
        "--definition",
        def.to_str().unwrap(),
        "--mock-config",
        mocks.to_str().unwrap(),
        "--test-case",
        "MissingRunTask",
        "--clock",
        "virtual",
        "-q",
    ]);
    assert_eq!(code(&out), 1);
    let v = single_json(&out);
    assert_eq!(v["error"], json!("States.Runtime"));
    assert!(
        v["cause"]
            .as_str()
            .unwrap()
            .contains("'RunTask' has no mocked response"),
        "{v}"
    );
}

#[test]
fn run_without_bindings_says_how_to_bind() {
    let dir = scratch("unbound");
    let def = write(&dir, "m.json", &migration_like());
    let out = asl(&["run", "--definition", def.to_str().unwrap(), "-q"]);
    assert_eq!(code(&out), 1);
    let v = single_json(&out);
    assert!(v["cause"]
        .as_str()
        .unwrap()
        .contains("--mock-config FILE --test-case NAME or --lambda-endpoint URL"));
}

#[test]
fn run_timed_out_exits_1() {
    let dir = scratch("timeout");
    let def = write(
        &dir,
        "t.json",
        &json!({"TimeoutSeconds": 5, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 60, "End": true}}}),
    );
    let out = asl(&[
        "run",
        "--definition",
        def.to_str().unwrap(),
        "--clock",
        "virtual",
        "-q",
    ]);
    assert_eq!(code(&out), 1);
    let v = single_json(&out);
    assert_eq!(v["status"], json!("TIMED_OUT"));
    assert_eq!(v["error"], json!("States.Timeout"));
}

#[test]
fn run_input_from_file() {
    let dir = scratch("input");
    let def = write(
        &dir,
        "p.json",
        &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"v.$": "$.v"}, "End": true}}}),
    );
    let input = write(&dir, "input.json", &json!({"v": [1, 2]}));
    let out = asl(&[
        "run",
        "--definition",
        def.to_str().unwrap(),
        "--input",
        &format!("@{}", input.display()),
        "-q",
    ]);
    assert_eq!(code(&out), 0);
    assert_eq!(
        single_json(&out),
        json!({"status": "SUCCEEDED", "output": {"v": [1, 2]}})
    );
}

#[test]
fn usage_errors_exit_2_with_nothing_on_stdout() {
    let dir = scratch("usage");
    let good = write(
        &dir,
        "good.json",
        &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}),
    );
    let bad = write(
        &dir,
        "bad.json",
        &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "Nowhere"}}}),
    );
    std::fs::write(dir.join("broken.json"), "{").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "run".into(),
                "--definition".into(),
                bad.display().to_string(),
            ],
            "/States/P/Next: no such state \"Nowhere\"",
        ),
        (
            vec![
                "run".into(),
                "--definition".into(),
                dir.join("missing.json").display().to_string(),
            ],
            "cannot read",
        ),
        (
            vec![
                "run".into(),
                "--definition".into(),
                dir.join("broken.json").display().to_string(),
            ],
            "is not valid JSON",
        ),
        (
            vec![
                "run".into(),
                "--definition".into(),
                good.display().to_string(),
                "--input".into(),
                "{nope".into(),
            ],
            "--input is not valid JSON",
        ),
        (
            vec![
                "run".into(),
                "--definition".into(),
                good.display().to_string(),
                "--input".into(),
                "@/nonexistent/input.json".into(),
            ],
            "cannot read --input",
        ),
        (
            vec![
                "run".into(),
                "--definition".into(),
                good.display().to_string(),
                "--mock-config".into(),
                good.display().to_string(),
            ],
            "--test-case",
        ),
        (
            vec![
                "run".into(),
                "--definition".into(),
                good.display().to_string(),
                "--mock-config".into(),
                good.display().to_string(),
                "--test-case".into(),
                "X".into(),
            ],
            "StateMachines",
        ),
        (
            vec![
                "run".into(),
                "--definition".into(),
                good.display().to_string(),
                "--lambda-endpoint".into(),
                "ftp://x".into(),
            ],
            "--lambda-endpoint",
        ),
        (
            vec![
                "run".into(),
                "--definition".into(),
                good.display().to_string(),
                "--clock".into(),
                "sundial".into(),
            ],
            "sundial",
        ),
        (vec!["run".into()], "--definition"),
    ];
    for (args, needle) in cases {
        let out = asl(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(code(&out), 2, "{args:?}: {}", out.stderr.as_str());
        assert!(
            out.stdout.is_empty(),
            "{args:?}: stdout {}",
            out.stdout.as_str()
        );
        let stderr = out.stderr.as_str();
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}

#[test]
fn validate_lists_every_problem() {
    let dir = scratch("validate");
    let good = write(&dir, "good.json", &migration_like());
    let out = asl(&["validate", good.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", out.stderr.as_str());
    assert!(out.stdout.as_str().contains("valid"));
    let bad = write(
        &dir,
        "bad.json",
        &json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "Y"},
        "B": {"Type": "Task", "End": true, "Retry": [{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}]}}}),
    );
    let out = asl(&["validate", bad.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    let stdout = out.stdout.as_str();
    for line in [
        "/States/A/Next: no such state \"Y\"",
        "/States/B/Resource: Resource is required in a Task state",
        "/States/B/Retry/0/ErrorEquals: a retrier with States.ALL must be the last one",
        "/States/B: state \"B\" is not reachable from StartAt",
    ] {
        assert!(stdout.lines().any(|l| l == line), "{line}\n{stdout}");
    }
    assert!(out.stderr.as_str().contains("4 problem(s)"));
}

#[test]
fn graph_prints_mermaid() {
    let dir = scratch("graph");
    let def = write(&dir, "g.json", &migration_like());
    let out = asl(&["graph", def.to_str().unwrap()]);
    assert_eq!(code(&out), 0);
    let g = out.stdout.as_str();
    assert!(g.starts_with("flowchart TD\n"), "{g}");
    assert!(g.contains("-.->|\"Migration.RunTaskFailed\"|"), "{g}");
    assert!(g.contains("root_fail(((Fail)))"), "{g}");
    let out = asl(&["graph", dir.join("nope.json").to_str().unwrap()]);
    assert_eq!(code(&out), 2);
}

#[test]
fn help_lists_the_asl_commands() {
    let out = asl(&["--help"]);
    assert_eq!(code(&out), 0);
    let text = out.stdout.as_str();
    for cmd in ["run", "validate", "graph"] {
        assert!(text.contains(cmd), "{text}");
    }
}

/// examples/asl/MockConfigFile.json walks the real migration definition: each test case ends
/// as its README says, and what each mocked step returns has the shape the real step produces
/// (the final state data reads back into every part the later states and `wait` read).
#[test]
fn the_example_mock_config_walks_the_migration_machine() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let definition = root.join("statemachine/migration.asl.json");
    let mocks = root.join("examples/asl/MockConfigFile.json");
    let config: Value = serde_json::from_str(&std::fs::read_to_string(&mocks).unwrap()).unwrap();
    // Test case -> (status, error, a state it must pass through).
    let expected = [
        ("HappyPath", "SUCCEEDED", None, "CheckExitCode"),
        (
            "CapacityThenThrottled",
            "SUCCEEDED",
            None,
            "WaitForCapacity",
        ),
        (
            "NonZeroExit",
            "FAILED",
            Some("Migration.NonZeroExit"),
            "StopTask",
        ),
        (
            "Locked",
            "FAILED",
            Some("Migration.Locked"),
            "FromDeployment",
        ),
    ];
    let cases: Vec<&String> = config["StateMachines"]["migration"]["TestCases"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    let mut listed: Vec<&str> = expected.iter().map(|(case, ..)| *case).collect();
    listed.sort_unstable();
    let mut in_file: Vec<&str> = cases.iter().map(|c| c.as_str()).collect();
    in_file.sort_unstable();
    assert_eq!(
        in_file, listed,
        "every test case of the file is checked here"
    );

    for (case, status, error, passes) in expected {
        let out = asl(&[
            "run",
            "--definition",
            definition.to_str().unwrap(),
            "--input",
            r#"{"taskdef_arn":"app:42"}"#,
            "--mock-config",
            mocks.to_str().unwrap(),
            "--test-case",
            case,
            "--clock",
            "virtual",
            "--history",
            "-q",
        ]);
        let v = single_json(&out);
        assert_eq!(v["status"], json!(status), "{case}: {v}");
        assert_eq!(code(&out), if status == "SUCCEEDED" { 0 } else { 1 });
        assert_eq!(v["error"].as_str(), error, "{case}: {v}");
        let entered: Vec<&str> = v["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                e["type"]
                    .as_str()
                    .is_some_and(|t| t.ends_with("StateEntered"))
            })
            .filter_map(|e| e["stateEnteredEventDetails"]["name"].as_str())
            .collect();
        assert!(entered.contains(&passes), "{case}: {entered:?}");
        if status == "SUCCEEDED" {
            let data: ecs_migrate::statemachine::StateData =
                serde_json::from_value(v["output"].clone()).unwrap();
            assert!(data.request.is_some(), "{case}: request");
            assert!(data.lock.is_some(), "{case}: lock");
            assert!(
                data.task.as_ref().and_then(|t| t.started()).is_some(),
                "{case}: task"
            );
            assert!(data.status.is_some(), "{case}: status");
            assert_eq!(data.result.map(|r| r.exit_code), Some(0), "{case}: result");
        }
    }
}
