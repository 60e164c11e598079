//! The one `bootstrap` for the five functions, under a Runtime API server on 127.0.0.1: it
//! serves the step its function is configured for (the handler, which Lambda passes as
//! `_HANDLER`, or `ECS_MIGRATE_STEP`), and an unconfigured function fails every invocation by
//! name instead of crashing the runtime.

use std::process::Stdio;
use std::time::Duration;

use crate::runtime_api::{Answer, RuntimeApi};
use ecs_migrate::machine::Step;
use serde_json::json;
use tokio::process::{Child, Command};

/// Starts the bootstrap against `api` with valid settings, `env` and nothing inherited.
fn bootstrap(api: &RuntimeApi, env: &[(&str, &str)]) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bootstrap"));
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api.endpoint())
        .env("AWS_LAMBDA_FUNCTION_NAME", "test")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        // Nothing here should reach AWS: a closed port on loopback.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("CLUSTER", "prod")
        .env("CONTAINER_NAME", "fastapi")
        .env("ALLOWED_FAMILIES", "app")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    for (k, v) in env {
        command.env(k, v);
    }
    command.spawn().expect("start bootstrap")
}

fn error_of(answer: Answer) -> (String, String) {
    match answer {
        Answer::Error {
            error_type,
            message,
        } => (error_type, message),
        other => panic!("expected an error, got {other:?}"),
    }
}

/// Invokes with input no step accepts: the error names the step that ran.
async fn step_that_answers(api: &RuntimeApi) -> (String, String) {
    let invocation = api
        .invoke(
            json!({"not": "the state machine's shape"}),
            Duration::from_secs(30),
        )
        .await;
    error_of(invocation.answer)
}

#[tokio::test]
async fn the_handler_setting_chooses_the_step() {
    for step in Step::ALL {
        let api = RuntimeApi::start().await;
        let _child = bootstrap(&api, &[("_HANDLER", step.name())]);
        let (error_type, message) = step_that_answers(&api).await;
        assert_eq!(error_type, "Migration.InvalidEvent", "{step:?}: {message}");
        assert!(
            // Each step's message starts with its name ("run-task received input it cannot
            // read ...", "stop-task takes ...").
            message.starts_with(&format!("{} ", step.name())),
            "{step:?}: {message}"
        );
    }
}

#[tokio::test]
async fn ecs_migrate_step_wins_over_the_handler() {
    let api = RuntimeApi::start().await;
    let _child = bootstrap(
        &api,
        &[
            ("_HANDLER", "bootstrap"),
            ("ECS_MIGRATE_STEP", "poll-status"),
        ],
    );
    let (_, message) = step_that_answers(&api).await;
    assert!(
        message.contains("poll-status received input it cannot read"),
        "{message}"
    );
}

#[tokio::test]
async fn an_unconfigured_function_fails_every_invocation_by_name() {
    let api = RuntimeApi::start().await;
    let _child = bootstrap(&api, &[("_HANDLER", "bootstrap")]);
    for _ in 0..2 {
        let (error_type, message) = step_that_answers(&api).await;
        assert_eq!(error_type, "Migration.Misconfigured");
        assert!(
            message.contains("_HANDLER is \"bootstrap\", which is no step"),
            "{message}"
        );
    }
    assert_eq!(api.init_error(), None, "the runtime must not crash");
}
