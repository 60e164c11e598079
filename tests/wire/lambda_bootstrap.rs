//! The one `bootstrap` for all the functions, under a Runtime API server on 127.0.0.1: it
//! serves the step its function is configured for (the handler, which Lambda passes as
//! `_HANDLER`, or `ECS_MIGRATE_STEP`), and an unconfigured function fails every invocation by
//! name instead of crashing the runtime.

use std::time::Duration;

use crate::lambda_wire::error_of;
use crate::runtime_api::RuntimeApi;
use ecs_migrate::statemachine::Step;
use serde_json::json;
use tokio::process::Child;

/// Starts the bootstrap against `api` with valid settings and `env`, as the wire tests start
/// every function.
fn bootstrap(api: &RuntimeApi, env: &[(&str, &str)]) -> Child {
    let settings = [
        ("CLUSTER", "prod"),
        ("CONTAINER_NAME", "fastapi"),
        ("ALLOWED_FAMILIES", "app"),
    ];
    let env: Vec<(&str, &str)> = settings.iter().chain(env).copied().collect();
    crate::lambda_wire::bootstrap(env!("CARGO_BIN_EXE_bootstrap"), api, &env)
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
