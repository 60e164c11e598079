//! Layer 3: the log tail of a failed migration's Cause (a headline promise: "Error and Cause
//! with the log tail", docs/guarantees.md) when CloudWatch Logs is neither complete nor
//! immediate: lines shipped late by the awslogs driver, lines it dropped, a container logging
//! to another stream than the one derived, and GetLogEvents throttled or refused. The faults
//! come from [`MemoryLogs`] (src/ports/logs/memory.rs), below the steps.

use std::sync::Arc;

use ecs_migrate::asl::{ExecutionResult, ExecutionStatus, Executor};
use ecs_migrate::common::clock::VirtualClock;
use ecs_migrate::ports::lock::MemoryLockTable;
use ecs_migrate::ports::logs::MemoryLogs;
use ecs_migrate::statemachine::{error_message, Seams, StepBinding};

use crate::fake_ecs::{FakeEcs, Script};
use crate::fixtures::{settings_with, t0, CONTAINER};
use crate::scenarios::{bare, definition, function_arns};

const GROUP: &str = "/ecs/app";

/// The stream the awslogs driver writes the fake's first task's container to
/// (`awslogs-stream-prefix/container/task-id`).
fn first_task_stream() -> String {
    format!("ecs/{CONTAINER}/{:032x}", 1)
}

/// The container's lines: one every 10 s from t0 + 30 s, the last (the error) at t0 + 115 s,
/// just before the container exits (the task runs 120 s after 20 s of PROVISIONING).
fn lines() -> Vec<(i64, String)> {
    let mut lines: Vec<(i64, String)> = (0..8)
        .map(|n| (30 + 10 * n, format!("INFO step {n}")))
        .collect();
    lines.push((115, "ERROR relation \"users\" already exists".into()));
    lines
}

/// Runs a migration that exits 1 with its log in `logs` (written to `stream`).
async fn failed_run(
    make_logs: impl FnOnce(Arc<VirtualClock>) -> MemoryLogs,
    stream: &str,
) -> (ExecutionResult, Arc<FakeEcs>) {
    let clock = Arc::new(VirtualClock::starting_at(t0()));
    let fake = FakeEcs::new(
        clock.clone(),
        Script {
            running: 120,
            exit_code: 1,
            ..Script::default()
        },
    );
    let logs = make_logs(clock.clone());
    for (at, line) in lines() {
        logs.write(GROUP, stream, t0() + chrono::Duration::seconds(at), &line);
    }
    let lock = MemoryLockTable::new();
    let steps = StepBinding::new(
        function_arns(),
        settings_with(&[("LOG_TAIL_LINES", "20")]),
        Seams {
            ecs: fake.clone(),
            logs: Arc::new(logs),
            clock: clock.clone(),
            lock: Arc::new(lock),
        },
    );
    let result = Executor::new(definition(), Arc::new(steps), clock)
        .run_to_completion(bare())
        .await;
    assert_eq!(
        result.status,
        ExecutionStatus::Failed,
        "{:?}",
        result.to_json(false)
    );
    // Whatever the log did, the Error is the migration's.
    assert_eq!(result.error.as_deref(), Some("Migration.NonZeroExit"));
    assert!(fake.running_tasks().is_empty());
    (result, fake)
}

fn cause(result: &ExecutionResult) -> String {
    error_message(result.cause.as_deref().unwrap_or_default())
}

#[tokio::test]
async fn a_complete_log_ends_the_cause_with_the_error_line() {
    let (result, _) = failed_run(|clock| MemoryLogs::new(clock), &first_task_stream()).await;
    let cause = cause(&result);
    assert!(cause.contains("--- last 9 log lines of"), "{cause}");
    assert!(
        cause.ends_with("ERROR relation \"users\" already exists"),
        "{cause}"
    );
}

/// awslogs ships asynchronously: lines that reach CloudWatch Logs after CheckExitCode read
/// the stream are not in the tail, which holds what had arrived (and says how many lines).
#[tokio::test]
async fn lines_shipped_late_are_missing_from_the_tail_and_the_rest_is_there() {
    let (result, _) = failed_run(
        |clock| MemoryLogs::new(clock).with_delay(chrono::Duration::seconds(45)),
        &first_task_stream(),
    )
    .await;
    let cause = cause(&result);
    assert!(cause.contains("INFO step 0"), "{cause}");
    assert!(!cause.contains("ERROR relation"), "{cause}");
    assert!(!cause.contains("--- last 9 log lines"), "{cause}");
}

/// Lines the driver dropped are simply absent: the tail is what CloudWatch Logs has.
#[tokio::test]
async fn dropped_lines_leave_gaps_and_the_rest_is_in_order() {
    let (result, _) = failed_run(
        |clock| MemoryLogs::new(clock).dropping_every(2),
        &first_task_stream(),
    )
    .await;
    let cause = cause(&result);
    let kept: Vec<&str> = cause
        .lines()
        .filter(|l| l.starts_with("INFO step"))
        .collect();
    assert_eq!(
        kept,
        ["INFO step 0", "INFO step 2", "INFO step 4", "INFO step 6"],
        "{cause}"
    );
    assert!(cause.contains("ERROR relation"), "{cause}");
}

/// The container logs to another stream than the one its logConfiguration derives: the Cause
/// says the derived stream does not exist, naming it; the failure is still reported.
#[tokio::test]
async fn a_log_under_another_stream_name_is_said_not_found() {
    let wrong = format!("other-prefix/{CONTAINER}/{:032x}", 1);
    let (result, _) = failed_run(|clock| MemoryLogs::new(clock), &wrong).await;
    let cause = cause(&result);
    assert!(cause.contains("does not exist"), "{cause}");
    assert!(cause.contains(&first_task_stream()), "{cause}");
    assert!(!cause.contains("INFO step"), "{cause}");
}

/// GetLogEvents throttled or refused: the tail is replaced by the reason, never fatal.
#[tokio::test]
async fn a_throttled_or_refused_log_read_is_said_and_not_fatal() {
    for code in ["ThrottlingException", "AccessDeniedException"] {
        let (result, _) = failed_run(
            |clock| {
                let logs = MemoryLogs::new(clock);
                logs.fail_next(code);
                logs
            },
            &first_task_stream(),
        )
        .await;
        let cause = cause(&result);
        assert!(
            cause.contains(&format!("(no log tail: logs:GetLogEvents: {code}")),
            "{cause}"
        );
    }
}
