//! check-exit-code: judges the migration container (not sidecars) of a stopped task, and puts
//! the tail of its log into the Cause when it failed.

use serde::{Deserialize, Serialize};

use super::{MigrationRequest, MigrationResult, StartedTask, StepEnv, TaskStatus};
use crate::common::error::MigrationError;
use crate::ports::logs::{LogStream, Logs};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckInput {
    pub request: MigrationRequest,
    pub task: StartedTask,
    pub status: TaskStatus,
}

/// Step Functions keeps at most 32,768 characters of a Cause, and a Lambda error's Cause is the
/// error document (`{"errorType": ..., "errorMessage": "<escaped>"}`), where a quote or newline
/// takes two characters and a control character (an ANSI colour code's ESC) six. Keep the
/// escaped message under this, leaving room for the document around it and for StopFailed's
/// words when the stop fails too.
const MAX_ESCAPED_CAUSE_CHARS: usize = 30_000;
const MAX_LINE_CHARS: usize = 1_000;

/// Order (as ecspresso does it): a task that failed to start, then a container without an exit
/// code, then the exit code itself.
pub async fn check_exit_code(
    env: &StepEnv<'_>,
    input: CheckInput,
) -> Result<MigrationResult, MigrationError> {
    let CheckInput {
        request,
        task,
        status,
    } = input;
    let container = status
        .containers
        .iter()
        .find(|c| c.name == request.container);
    let exit_code = container.and_then(|c| c.exit_code);
    let summary = summary(&request, &task, &status, exit_code);

    if status.stop_code.as_deref() == Some("TaskFailedToStart") {
        let cause = with_log_tail(
            env,
            &task,
            format!("the migration task failed to start: {summary}"),
        )
        .await;
        return Err(MigrationError::TaskFailedToStart(cause));
    }
    let Some(exit_code) = exit_code else {
        let what = match container {
            None => format!("container {} is not in the stopped task", request.container),
            Some(c) => format!(
                "container {} has no exit code{}",
                request.container,
                c.reason
                    .as_deref()
                    .map(|r| format!(" (reason: {r})"))
                    .unwrap_or_default()
            ),
        };
        let cause = with_log_tail(
            env,
            &task,
            format!("the task stopped before the migration finished: {what}; {summary}"),
        )
        .await;
        return Err(MigrationError::TaskStopped(cause));
    };
    if exit_code != 0 {
        let meaning = match exit_code {
            137 => " (137: killed by SIGKILL, usually out of memory or a stop that outlasted stopTimeout)",
            143 => " (143: terminated by SIGTERM)",
            _ => "",
        };
        let cause = with_log_tail(
            env,
            &task,
            format!("the migration exited with code {exit_code}{meaning}: {summary}"),
        )
        .await;
        return Err(MigrationError::NonZeroExit(cause));
    }

    let duration_seconds = match (status.started_at, status.stopped_at) {
        (Some(start), Some(stop)) => Some((stop - start).num_seconds()),
        _ => None,
    };
    tracing::info!(task_arn = %task.task_arn, exit_code, ?duration_seconds, "migration succeeded");
    Ok(MigrationResult {
        task_arn: task.task_arn,
        container: request.container,
        exit_code,
        duration_seconds,
        log_stream: task.log_stream,
    })
}

fn summary(
    request: &MigrationRequest,
    task: &StartedTask,
    status: &TaskStatus,
    exit_code: Option<i32>,
) -> String {
    format!(
        "container {}, exit code {}, stop code {}, stopped reason {:?}, task {}",
        request.container,
        exit_code.map_or("none".to_string(), |c| c.to_string()),
        status.stop_code.as_deref().unwrap_or("none"),
        status.stopped_reason.as_deref().unwrap_or(""),
        task.task_arn
    )
}

/// Appends the container's last log lines; a log that cannot be read is said, never fatal.
async fn with_log_tail(env: &StepEnv<'_>, task: &StartedTask, cause: String) -> String {
    append_log_tail(
        env.logs,
        env.settings.log_tail_lines,
        task.log_stream.as_ref(),
        cause,
    )
    .await
}

/// Appends the last `lines` lines of `stream` to a Cause, each line and the whole Cause kept
/// under the sizes a Step Functions Cause holds.
pub(crate) async fn append_log_tail(
    logs: &dyn Logs,
    lines: usize,
    stream: Option<&LogStream>,
    mut cause: String,
) -> String {
    if lines == 0 {
        return cause;
    }
    let Some(stream) = stream else {
        cause.push_str("\n(no log tail: the container's awslogs stream could not be derived from its logConfiguration)");
        return cause;
    };
    match logs.tail(stream, lines).await {
        Ok(Some(log)) if log.is_empty() => {
            cause.push_str(&format!("\n(log stream {} is empty)", describe(stream)));
        }
        Ok(Some(log)) => {
            let count = match log.len() {
                1 => "log line".to_string(),
                n => format!("{n} log lines"),
            };
            cause.push_str(&format!("\n--- last {count} of {} ---", describe(stream)));
            let mut tail = String::new();
            for line in &log {
                tail.push('\n');
                tail.extend(line.chars().take(MAX_LINE_CHARS));
            }
            // Keep the end of the log: the error is usually in the last lines.
            let mut room = MAX_ESCAPED_CAUSE_CHARS.saturating_sub(escaped_len(&cause));
            let mut kept: Vec<char> = Vec::new();
            for c in tail.chars().rev() {
                let width = escaped_char_len(c);
                if width > room {
                    break;
                }
                room -= width;
                kept.push(c);
            }
            cause.extend(kept.into_iter().rev());
        }
        Ok(None) => {
            cause.push_str(&format!(
                "\n(no log tail: log stream {} does not exist)",
                describe(stream)
            ));
        }
        Err(err) => {
            cause.push_str(&format!("\n(no log tail: {err})"));
        }
    }
    cause
}

/// Characters `text` takes inside a JSON string.
fn escaped_len(text: &str) -> usize {
    text.chars().map(escaped_char_len).sum()
}

/// Characters `c` takes inside a JSON string (RFC 8259 section 7: `\"`, `\\`, `\n`, ... or
/// `\u00XX` for other control characters), counting those outside the Basic Multilingual Plane
/// as the two UTF-16 units Step Functions counts.
fn escaped_char_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf16(),
    }
}

fn describe(stream: &LogStream) -> String {
    format!("{} in log group {}", stream.stream, stream.group)
}
