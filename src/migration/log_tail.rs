//! The last lines of a task's log, appended to a failure's Cause within the size a Step
//! Functions Cause holds. check-exit-code and `ecs-migrate local` both use it.

use crate::migration::redact::Redaction;
use crate::ports::logs::{LogStream, Logs};

/// Step Functions keeps at most 32,768 characters of a Cause, and a Lambda error's Cause is the
/// error document (`{"errorType": ..., "errorMessage": "<escaped>"}`), where a quote or newline
/// takes two characters and a control character (an ANSI colour code's ESC) six. Keep the
/// escaped message under this, leaving room for the document around it and for StopFailed's
/// words when the stop fails too.
const MAX_ESCAPED_CAUSE_CHARS: usize = 30_000;

const MAX_LINE_CHARS: usize = 1_000;

/// Appends the last `lines` lines of `stream` to a Cause, each line masked by `redact` and then
/// kept, with the whole Cause, under the sizes a Step Functions Cause holds.
pub(crate) async fn append_log_tail(
    logs: &dyn Logs,
    lines: usize,
    redact: &Redaction,
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
                // Masked before it is cut, so a secret at the cut is not left half shown.
                tail.extend(redact.apply(line).chars().take(MAX_LINE_CHARS));
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
