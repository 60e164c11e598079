//! How deep the engine lets data nest (`MAX_NESTING_DEPTH`, see `src/asl/depth.rs`: AWS
//! documents no nesting limit; the engine admits what serde_json reads). Each test runs on
//! the test harness's default thread (2 MiB in a debug build): the deepest data the rule
//! admits goes through every kind of state, path, template, intrinsic and the history, and
//! data built deeper fails cleanly instead of overflowing the stack.

use std::process::Command;
use std::sync::Arc;

use ecs_migrate::asl::{
    Definition, ExecutionStatus, InputRefused, RegistryInvoker, TaskFailure, MAX_NESTING_DEPTH,
};
use serde_json::{json, Map, Value};

use crate::common::{executor, run, run_with, types};
use crate::process::{finish, spawn};

/// `levels` arrays and objects nested in one another, alternately, around "bottom": the
/// value is exactly `levels` deep. Built by moves only (`json!` would serialize a copy of
/// the value it wraps, recursively).
fn nested(levels: usize) -> Value {
    let mut v = json!("bottom");
    for i in 0..levels {
        v = if i % 2 == 0 {
            Value::Array(vec![v])
        } else {
            Value::Object(Map::from_iter([("a".to_string(), v)]))
        };
    }
    v
}

/// Takes a value of any depth apart without recursion (serde_json's own drop recurses).
fn dismantle(value: Value) {
    let mut pending = vec![value];
    while let Some(v) = pending.pop() {
        match v {
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => pending.extend(map.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

/// The path from `$` to the bottom of [`nested`]`(levels)`: level `depth` (counted from the
/// bottom) is an array when `depth` is odd.
fn path_into(levels: usize) -> String {
    let mut path = String::from("$");
    for depth in (1..=levels).rev() {
        path.push_str(if depth % 2 == 1 { "[0]" } else { ".a" });
    }
    path
}

fn too_deep_cause_names_the_limit(cause: Option<&str>) {
    let cause = cause.unwrap_or_default();
    assert!(
        cause.contains(&format!("nested deeper than {MAX_NESTING_DEPTH} levels")),
        "{cause}"
    );
}

// The deepest input the engine admits through every state type: Choice (a rule on the
// innermost value, 127 steps down), a Task that echoes, Parallel and Map (whose result arrays
// add a level to branch and iteration outputs one level shallower), Pass states with
// templates, paths and intrinsics that wrap and unwrap the data to the bound, and the history.
#[tokio::test]
async fn the_deepest_admitted_data_runs_through_every_state_type() {
    let max = MAX_NESTING_DEPTH;
    let input = nested(max);
    let bottom = path_into(max);
    let definition = json!({
        "StartAt": "Decide",
        "States": {
            "Decide": {"Type": "Choice", "Choices": [{"And": [
                    {"Variable": bottom.as_str(), "StringEquals": "bottom"},
                    {"Not": {"Variable": "$[1]", "IsPresent": true}}],
                "Next": "Echo"}], "Default": "Wrong"},
            "Echo": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:echo",
                "Next": "Both"},
            "Both": {"Type": "Parallel", "Branches": [
                    {"StartAt": "B", "States": {"B": {"Type": "Pass", "InputPath": "$[0]", "End": true}}},
                    {"StartAt": "C", "States": {"C": {"Type": "Pass", "OutputPath": "$[0]", "End": true}}}],
                "Next": "Each"},
            "Each": {"Type": "Map", "ItemsPath": "$",
                "ItemProcessor": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}},
                "ResultSelector": {"first.$": "$[0]"}, "OutputPath": "$.first", "Next": "Templates"},
            "Templates": {"Type": "Pass", "Parameters": {
                    "all.$": "$",
                    "text.$": "States.JsonToString($)",
                    "wrapped.$": "States.Array($.a)"},
                "Next": "Back"},
            "Back": {"Type": "Pass", "Parameters": {
                    "parsed.$": "States.StringToJson($.text)",
                    "unwrapped.$": "States.ArrayGetItem($.wrapped, 0)"},
                "OutputPath": "$.parsed", "End": true},
            "Wrong": {"Type": "Fail", "Error": "Wrong"}
        }
    });
    let echo = RegistryInvoker::new().register("echo", |call| async move { Ok(call.input) });
    let result = run_with(definition, input.clone(), echo).await;
    assert_eq!(
        result.status,
        ExecutionStatus::Succeeded,
        "{:?}",
        result.cause
    );
    // Both branches give the input's first item (one level shallower); the Map iterates over
    // the two and its ResultSelector and OutputPath take the first back out.
    assert_eq!(result.output.as_ref(), Some(&input[0]));
    assert!(types(&result).contains(&"MapIterationSucceeded"));
    // The history as `asl run --history` prints it.
    let printed = serde_json::to_string(&result.to_json(true)).expect("history as text");
    assert!(printed.contains("\"ExecutionSucceeded\""));
}

// A loop that wraps its data one level deeper every turn is ended by the bound, not by the
// stack: the turn that would build level MAX_NESTING_DEPTH + 1 fails with States.Runtime.
#[tokio::test]
async fn a_loop_that_nests_its_data_deeper_fails_at_the_bound() {
    let definition = json!({"StartAt": "Wrap", "States": {"Wrap": {"Type": "Pass",
        "Parameters": {"a.$": "$"}, "Next": "Wrap"}}});
    // `{}` is one level deep; turn k outputs k + 1 levels.
    let result = run(definition, json!({})).await;
    assert_eq!(result.error.as_deref(), Some("States.Runtime"));
    too_deep_cause_names_the_limit(result.cause.as_deref());
    let turns = types(&result)
        .iter()
        .filter(|t| **t == "PassStateEntered")
        .count();
    assert_eq!(turns, MAX_NESTING_DEPTH);
}

// The same through a variable that wraps itself (Assign), and through ResultPath.
#[tokio::test]
async fn a_variable_or_a_result_path_nesting_deeper_fails_at_the_bound() {
    let variable = json!({"StartAt": "Start", "States": {
        "Start": {"Type": "Pass", "Assign": {"v": []}, "Next": "Wrap"},
        "Wrap": {"Type": "Pass", "Assign": {"v.$": "States.Array($v)"}, "Next": "Wrap"}}});
    let result = run(variable, json!({})).await;
    assert_eq!(result.error.as_deref(), Some("States.Runtime"));
    too_deep_cause_names_the_limit(result.cause.as_deref());

    let result_path = json!({"StartAt": "Wrap", "States": {"Wrap": {"Type": "Pass",
        "ResultPath": "$.a.b", "Next": "Wrap"}}});
    let result = run(result_path, json!({})).await;
    assert_eq!(result.error.as_deref(), Some("States.Runtime"));
    too_deep_cause_names_the_limit(result.cause.as_deref());

    // A ResultPath longer than the bound fails before it builds anything.
    let long_path = format!("${}", ".a".repeat(MAX_NESTING_DEPTH + 1));
    let long = json!({"StartAt": "P", "States": {"P": {"Type": "Pass",
        "ResultPath": long_path, "End": true}}});
    let result = run(long, json!({})).await;
    assert_eq!(result.error.as_deref(), Some("States.Runtime"));
    too_deep_cause_names_the_limit(result.cause.as_deref());
}

// 256 KiB of `[[[…]]]` (131,072 levels) handed to the library: refused at start, as
// StartExecution refuses what it will not take, and dropped without overflowing.
#[tokio::test]
async fn an_input_as_deep_as_256_kib_allows_is_refused_at_start() {
    let pass = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    let (ex, _) = executor(pass, Arc::new(RegistryInvoker::new()));
    let deep = nested(131_072);
    assert_eq!(
        ex.check_input(&deep),
        Err(InputRefused::InputTooDeep {
            limit: MAX_NESTING_DEPTH
        })
    );
    let result = ex.run_to_completion(deep).await;
    assert_eq!(result.error.as_deref(), Some("ValidationException"));
    too_deep_cause_names_the_limit(result.cause.as_deref());
    assert!(result.history.is_empty());
    // One level less than the bound is admitted.
    let admitted = ex.run_to_completion(nested(MAX_NESTING_DEPTH)).await;
    assert_eq!(admitted.status, ExecutionStatus::Succeeded);
}

// A task binding that returns data deeper than the bound (a Lambda's result is text and
// cannot be) ends the execution with States.Runtime, the value dropped without overflow.
#[tokio::test]
async fn a_task_result_too_deep_ends_the_execution() {
    let definition = json!({"StartAt": "T", "States": {"T": {"Type": "Task",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:deep",
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
        "Caught": {"Type": "Succeed"}}});
    let deep = RegistryInvoker::new()
        .register("deep", |_| async { Ok::<_, TaskFailure>(nested(131_072)) });
    let result = run_with(definition, json!({}), deep).await;
    assert_eq!(result.error.as_deref(), Some("States.Runtime"));
    too_deep_cause_names_the_limit(result.cause.as_deref());
}

// A definition handed in as a value deeper than the bound is a problem, not a crash.
#[test]
fn a_definition_deeper_than_the_bound_is_refused() {
    let mut definition = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}});
    definition["States"]["P"]["Result"] = nested(131_072);
    let problems = Definition::parse(&definition).expect_err("too deep");
    assert!(
        problems[0]
            .to_string()
            .contains(&format!("nested deeper than {MAX_NESTING_DEPTH} levels")),
        "{problems:?}"
    );
    dismantle(definition);
}

// `asl run --input` reads JSON text: 256 KiB of `[[[…]]]` is refused as input that does not
// parse (usage error, exit 2), never a crash.
#[test]
fn asl_run_refuses_input_text_nested_too_deep() {
    let dir = std::env::temp_dir().join(format!("asl-depth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let definition = dir.join("pass.json");
    std::fs::write(
        &definition,
        r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}"#,
    )
    .expect("the definition written");
    let input = dir.join("deep.json");
    let levels = 131_072;
    std::fs::write(
        &input,
        format!("{}{}", "[".repeat(levels), "]".repeat(levels)),
    )
    .expect("the input written");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ecs-migrate"));
    cmd.args(["asl", "run", "--definition"])
        .arg(&definition)
        .arg("--input")
        .arg(format!("@{}", input.display()));
    let out = finish(spawn(cmd));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(out.stderr.contains("recursion limit"), "{}", out.stderr);
}
