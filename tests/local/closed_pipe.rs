//! Every subcommand that prints, run with a standard output (and error) whose reader is gone,
//! as `ecs-migrate asl graph f.json | head -c1` leaves it: no panic (exit 101, "failed
//! printing to stdout"), the command's own exit status.

use std::process::{Command, Stdio};

/// Runs the binary with stdout and stderr pipes whose read ends were closed before it started,
/// so its first write fails with EPIPE; its exit code and whether it died of a signal.
fn with_closed_output(args: &[&str], lock_dir: &std::path::Path) -> Option<i32> {
    let (out_reader, out_writer) = std::io::pipe().unwrap();
    let (err_reader, err_writer) = std::io::pipe().unwrap();
    drop((out_reader, err_reader));
    let status = Command::new(env!("CARGO_BIN_EXE_ecs-migrate"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ECS_MIGRATE_LOCK_DIR", lock_dir)
        .env_remove("AWS_ENDPOINT_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::from(out_writer))
        .stderr(Stdio::from(err_writer))
        .status()
        .unwrap();
    status.code()
}

/// The same command with its output read: to show what it would have printed.
fn with_output(args: &[&str], lock_dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ecs-migrate"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("ECS_MIGRATE_LOCK_DIR", lock_dir)
        .env_remove("AWS_ENDPOINT_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn no_subcommand_panics_on_a_closed_pipe() {
    let lock_dir =
        std::env::temp_dir().join(format!("ecs-migrate-closed-pipe-{}", std::process::id()));
    let machine = "arn:aws:states:eu-west-1:123456789012:stateMachine:mig";
    let cases: [(&[&str], i32); 7] = [
        (&["asl", "graph", "statemachine/migration.asl.json"], 0),
        (&["asl", "validate", "statemachine/migration.asl.json"], 0),
        // Invalid: the problems are printed, then the usage error.
        (&["asl", "validate", "Cargo.toml"], 2),
        (
            &[
                "start",
                "--state-machine-arn",
                machine,
                "--task-definition",
                "app:1",
                "--dry-run",
            ],
            0,
        ),
        (
            &[
                "start",
                "--state-machine-arn",
                machine,
                "--task-definition",
                "app:1",
                "--dry-run",
                "--json",
            ],
            0,
        ),
        (&["lock", "status", "--scope", "app"], 0),
        (&["lock", "release", "--scope", "app"], 0),
    ];
    for (args, code) in cases {
        // It prints something when it can: the closed pipe is really written to.
        let shown = with_output(args, &lock_dir);
        assert!(
            !shown.stdout.is_empty() || !shown.stderr.is_empty(),
            "{args:?} prints nothing"
        );
        assert_eq!(shown.status.code(), Some(code), "{args:?}: {shown:?}");
        assert_eq!(
            with_closed_output(args, &lock_dir),
            Some(code),
            "{args:?} with a closed stdout"
        );
    }
    // lock status wrote nothing, not even the lock directory.
    assert!(!lock_dir.exists(), "{} was created", lock_dir.display());
}
