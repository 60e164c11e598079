//! Layer 4: the Lambda binaries as Lambda runs them, under a Runtime API server on 127.0.0.1.
//! Errors must reach Step Functions as the DESIGN.md names (the `errorType`).

mod fixtures;

use std::process::Stdio;
use std::time::Duration;

use fixtures::runtime_api::{Answer, RuntimeApi};
use serde_json::json;
use tokio::process::{Child, Command};

/// Starts a step's bootstrap against `api` with `env` (and nothing inherited that could reach AWS).
fn bootstrap(binary: &str, api: &RuntimeApi, env: &[(&str, &str)]) -> Child {
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api.endpoint())
        .env("AWS_LAMBDA_FUNCTION_NAME", "test")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        // Nothing here should reach AWS: a closed port on loopback.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
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

#[tokio::test]
async fn misconfigured_settings_fail_every_invocation_with_the_variable_named() {
    let api = RuntimeApi::start().await;
    let _child = bootstrap(
        env!("CARGO_BIN_EXE_run-task"),
        &api,
        &[("CONTAINER_NAME", "fastapi"), ("ALLOWED_FAMILIES", "app")],
    );
    for _ in 0..2 {
        let invocation = api.invoke(json!({}), Duration::from_secs(30)).await;
        let (error_type, message) = error_of(invocation.answer);
        assert_eq!(error_type, "Migration.Misconfigured");
        assert!(message.contains("CLUSTER"), "{message}");
    }
    assert_eq!(
        api.init_error(),
        None,
        "settings errors must not crash the runtime"
    );
}

#[tokio::test]
async fn validate_event_rejects_a_bad_event_by_name() {
    let api = RuntimeApi::start().await;
    let _child = bootstrap(
        env!("CARGO_BIN_EXE_validate-event"),
        &api,
        &[
            ("CLUSTER", "prod"),
            ("CONTAINER_NAME", "fastapi"),
            ("ALLOWED_FAMILIES", "app"),
        ],
    );
    let event = json!({"event": {"source": "aws.ecs", "detail-type": "AWS ECS Migration Task",
                                 "detail": {"taskdef_arn": "app"}}, "execution": {}});
    let (error_type, message) = error_of(api.invoke(event, Duration::from_secs(30)).await.answer);
    assert_eq!(error_type, "Migration.InvalidEvent");
    assert!(message.contains("source is \"aws.ecs\""), "{message}");

    let (error_type, message) = error_of(
        api.invoke(
            json!({"not": "the state machine's shape"}),
            Duration::from_secs(30),
        )
        .await
        .answer,
    );
    assert_eq!(error_type, "Migration.InvalidEvent");
    assert!(
        message.contains("validate-event received input it cannot read"),
        "{message}"
    );
}
