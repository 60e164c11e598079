//! The deployment-hook adapter as ECS runs it: the one `bootstrap` configured as
//! `deployment-hook`, invoked through a Lambda Runtime API server on 127.0.0.1, starting and
//! reading executions of a state machine in moto (which runs Wait/Succeed/Fail states for
//! real). ECS invokes a Lambda hook again while it answers IN_PROGRESS, passing back the
//! hookDetails it returned (Amazon ECS Developer Guide, "Lambda hooks for Amazon ECS service
//! deployments"); the tests do the same, a bounded number of times.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::process::Child;

use crate::cli_aws::server;
use crate::moto::{self, Moto};
use crate::runtime_api::{Answer, RuntimeApi};

fn adapter(api: &RuntimeApi, server: &Moto, state_machine: &str) -> Child {
    let mut env: Vec<(&str, String)> = server.client_env();
    env.push(("_HANDLER", "deployment-hook".into()));
    env.push(("STATE_MACHINE_ARN", state_machine.into()));
    env.push(("HOOK_CALLBACK_DELAY_SECONDS", "1".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    crate::lambda_wire::bootstrap(env!("CARGO_BIN_EXE_bootstrap"), api, &env)
}

/// ECS's Lambda hook payload (the Developer Guide's example, in moto's region and account).
fn payload(execution_id: &str, hook_details: Value) -> Value {
    json!({
        "executionId": execution_id,
        "lifecycleStage": "PRE_SCALE_UP",
        "resourceArn": format!("arn:aws:ecs:{}:{}:service-deployment/prod/app/d1", moto::REGION, moto::ACCOUNT),
        "executionDetails": {
            "serviceArn": format!("arn:aws:ecs:{}:{}:service/prod/app", moto::REGION, moto::ACCOUNT),
            "targetServiceRevisionArn": format!("arn:aws:ecs:{}:{}:service-revision/prod/app/1", moto::REGION, moto::ACCOUNT),
            "testTrafficWeights": {}, "productionTrafficWeights": {}
        },
        "hookDetails": hook_details
    })
}

async fn answer(api: &RuntimeApi, event: Value) -> Value {
    match api.invoke(event, Duration::from_secs(30)).await.answer {
        Answer::Response(value) => value,
        Answer::Error {
            error_type,
            message,
        } => panic!(
            "the adapter answered an error, which ECS takes as a rollback: {error_type}: {message}"
        ),
    }
}

/// Invokes as ECS does until the answer is no longer IN_PROGRESS (at most 60 times, 30 s).
async fn until_done(api: &RuntimeApi, execution_id: &str, first: Value) -> (Value, usize) {
    let began = Instant::now();
    let mut last = first;
    let mut calls = 1;
    while last["hookStatus"] == "IN_PROGRESS"
        && calls < 60
        && began.elapsed() < Duration::from_secs(30)
    {
        assert_eq!(last["callBackDelay"], 1, "{last}");
        tokio::time::sleep(Duration::from_millis(250)).await;
        last = answer(api, payload(execution_id, last["hookDetails"].clone())).await;
        calls += 1;
    }
    (last, calls)
}

async fn executions_of(server: &Moto, state_machine: &str) -> usize {
    server
        .sfn()
        .await
        .list_executions()
        .state_machine_arn(state_machine)
        .send()
        .await
        .expect("states:ListExecutions")
        .executions()
        .len()
}

#[tokio::test]
async fn in_progress_while_the_migration_runs_then_succeeded_with_one_execution() {
    let server = server();
    let machine = json!({"StartAt": "Migrate", "States": {
        "Migrate": {"Type": "Wait", "Seconds": 3, "Next": "Done"},
        "Done": {"Type": "Succeed"}}});
    let state_machine = server
        .create_state_machine(&moto::unique("hook-ok"), &machine)
        .await;
    let api = RuntimeApi::start().await;
    let _adapter = adapter(&api, server, &state_machine);

    let first = answer(&api, payload("run-1", json!({"team": "db"}))).await;
    assert_eq!(first["hookStatus"], "IN_PROGRESS", "{first}");
    assert_eq!(first["hookDetails"]["team"], "db");
    let (last, calls) = until_done(&api, "run-1", first).await;
    assert_eq!(
        last["hookStatus"], "SUCCEEDED",
        "{last} after {calls} calls"
    );
    assert!(calls >= 2);
    assert_eq!(executions_of(server, &state_machine).await, 1);

    // The chain starts over without its details (a lost answer): the same hook's execution,
    // not a second migration.
    let again = answer(&api, payload("run-1", json!({}))).await;
    assert_eq!(again["hookStatus"], "SUCCEEDED", "{again}");
    assert_eq!(executions_of(server, &state_machine).await, 1);
}

#[tokio::test]
async fn a_failed_migration_is_failed() {
    let server = server();
    let machine = json!({"StartAt": "Migrate", "States": {
        "Migrate": {"Type": "Wait", "Seconds": 1, "Next": "Failed"},
        "Failed": {"Type": "Fail", "Error": "Migration.NonZeroExit", "Cause": "exit code 1"}}});
    let state_machine = server
        .create_state_machine(&moto::unique("hook-failed"), &machine)
        .await;
    let api = RuntimeApi::start().await;
    let _adapter = adapter(&api, server, &state_machine);
    let first = answer(&api, payload("run-2", json!({}))).await;
    let (last, calls) = until_done(&api, "run-2", first).await;
    assert_eq!(last["hookStatus"], "FAILED", "{last} after {calls} calls");
    assert_eq!(executions_of(server, &state_machine).await, 1);
}

#[tokio::test]
async fn a_function_without_its_state_machine_answers_failed() {
    let server = server();
    let api = RuntimeApi::start().await;
    let mut env: Vec<(&str, String)> = server.client_env();
    env.push(("_HANDLER", "deployment-hook".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let _adapter = crate::lambda_wire::bootstrap(env!("CARGO_BIN_EXE_bootstrap"), &api, &env);
    let reply = answer(&api, payload("run-3", json!({}))).await;
    assert_eq!(reply, json!({"hookStatus": "FAILED"}));
}

/// "The Lambda-hook adapter trusts hookDetails": a service's hookDetails naming an old
/// execution that SUCCEEDED get no SUCCEEDED; the adapter starts and follows the execution it
/// derives from the hook itself.
#[tokio::test]
async fn hook_details_naming_an_old_successful_execution_prove_nothing() {
    let server = server();
    let machine = json!({"StartAt": "Migrate", "States": {
        "Migrate": {"Type": "Wait", "Seconds": 60, "Next": "Done"},
        "Done": {"Type": "Succeed"}}});
    let state_machine = server
        .create_state_machine(&moto::unique("hook-forged"), &machine)
        .await;
    // The old execution, of the same state machine, that SUCCEEDED: another one, quick.
    let quick = json!({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}});
    let quick_machine = server
        .create_state_machine(&moto::unique("hook-old"), &quick)
        .await;
    let sfn = server.sfn().await;
    let old = sfn
        .start_execution()
        .state_machine_arn(&quick_machine)
        .name(moto::unique("old"))
        .input("{}")
        .send()
        .await
        .expect("states:StartExecution")
        .execution_arn()
        .to_string();
    // Wait for it to end (the server runs definitions: cli_aws::server turns that on).
    for _ in 0..100 {
        let view = sfn.describe_execution().execution_arn(&old).send().await;
        if view.is_ok_and(|v| v.status().as_str() == "SUCCEEDED") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let view = sfn.describe_execution().execution_arn(&old).send().await;
    assert_eq!(view.unwrap().status().as_str(), "SUCCEEDED");
    let old_in_this_machine = old.replace(
        &quick_machine.replace(":stateMachine:", ":execution:"),
        &state_machine.replace(":stateMachine:", ":execution:"),
    );
    let api = RuntimeApi::start().await;
    let _adapter = adapter(&api, server, &state_machine);
    for forged in [old, old_in_this_machine] {
        let id = moto::unique("run-forged");
        let details = json!({"ecsMigrateExecutionArn": forged});
        let reply = answer(&api, payload(&id, details)).await;
        assert_eq!(reply["hookStatus"], "IN_PROGRESS", "{reply}");
        assert_ne!(
            reply["hookDetails"]["ecsMigrateExecutionArn"],
            json!(forged),
            "{reply}"
        );
    }
    // One execution of the migration's machine per hook, each the adapter's own.
    assert_eq!(executions_of(server, &state_machine).await, 2);
}
