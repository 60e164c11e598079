//! terraform/scripts/run-migration.sh (bash + the AWS CLI, for CI without ecs-migrate) against
//! moto server: the AWS CLI from `.tools/moto` (tests/support/install-moto.sh installs it),
//! pointed at moto with AWS_ENDPOINT_URL, on the same test state machines as cli_aws.rs.

use std::process::Command;

use crate::machines::{execution_status, log_stream, End, Machine};
use crate::moto::{self, Moto};
use crate::process::{finish, spawn, Output};

fn server() -> &'static Moto {
    let server = moto::shared();
    server.enable_state_machine_execution();
    server
}

/// `bash run-migration.sh ARGS` with the venv's `aws` first on PATH and only the environment
/// a CI job would give it.
fn script(server: &Moto, args: &[&str]) -> Output {
    let aws = moto::aws_cli();
    assert!(
        aws.exists(),
        "no AWS CLI at {}: run tests/support/install-moto.sh",
        aws.display()
    );
    let path = format!(
        "{}:{}",
        aws.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into())
    );
    let mut cmd = Command::new("bash");
    cmd.env_clear()
        .env("PATH", path)
        .arg(moto::repo_root().join("terraform/scripts/run-migration.sh"))
        .args(args);
    for (key, value) in server.client_env() {
        cmd.env(key, value);
    }
    finish(spawn(cmd))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_successful_migration_exits_0_and_shows_the_states() {
    let server = server();
    let log = log_stream(server, &["upgrade done"]).await;
    let machine = Machine::new(Some(log), End::Succeed)
        .create(server, "script-ok")
        .await;
    let out = tokio::task::spawn_blocking(move || {
        script(server, &["--poll-interval", "1", &machine, "app:4"])
    })
    .await
    .unwrap();
    assert_eq!(out.code, 0, "{out:?}");
    for state in [
        "RunTask",
        "PollStatus",
        "CheckExitCode",
        "MigrationSucceeded",
    ] {
        assert!(
            out.stdout.contains(&format!("-> {state}\n")),
            "{state}: {out:?}"
        );
    }
    assert!(out.stdout.contains("status: SUCCEEDED"), "{out:?}");
    let execution = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("execution: "))
        .expect("the execution ARN");
    assert!(
        execution.contains(":app-4-"),
        "named after family and revision: {execution}"
    );
    assert_eq!(execution_status(server, execution).await, "SUCCEEDED");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_migration_exits_1_with_error_and_cause() {
    let server = server();
    let machine = Machine::new(
        None,
        End::Fail {
            error: "Migration.NonZeroExit".into(),
            cause: "the migration container exited with code 1".into(),
        },
    )
    .create(server, "script-fail")
    .await;
    let out = tokio::task::spawn_blocking(move || {
        script(server, &["--poll-interval", "1", &machine, "app:4"])
    })
    .await
    .unwrap();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("-> MigrationFailed\n"), "{out:?}");
    assert!(out.stdout.contains("status: FAILED"), "{out:?}");
    assert!(
        out.stdout.contains("error: Migration.NonZeroExit\n"),
        "{out:?}"
    );
    assert!(
        out.stdout
            .contains("cause: the migration container exited with code 1\n"),
        "{out:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_arguments_exit_2() {
    let server = server();
    let out = tokio::task::spawn_blocking(move || script(server, &["not-an-arn", "app:1"]))
        .await
        .unwrap();
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("STATE_MACHINE_ARN"), "{out:?}");
}
