//! What `ecs-migrate local` shows while it runs: each state as it is entered, the task's status
//! changes, the migration's own output as it is written (prefixed `  | `), and one summary at
//! the end (or, with `--json`, one JSON object on stdout, the progress going to stderr).

use crate::migration::redact::Redaction;
use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use serde_json::{json, Value};

use crate::cli::printable::{printable, printable_lines};
use crate::common::error::StateError;
use crate::local::LocalEvent;
use crate::ports::ecs::{LastStatus, TaskState};
use crate::ports::logs::task_id;

/// The prefix of the migration's own output lines.
pub(crate) const OUTPUT_PREFIX: &str = "  | ";

/// Something to show: a state the engine entered, or what the runner saw.
#[derive(Debug, Clone)]
pub(crate) enum Note {
    State(String),
    Runner(LocalEvent),
}

/// How the execution ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ending {
    Succeeded(Value),
    Failed(StateError),
}

/// The facts the summary reports.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Summary {
    pub(crate) ending: Ending,
    pub(crate) task_arn: Option<String>,
    pub(crate) exit_code: Option<i32>,
    /// The whole run, the wait for the migration lock included.
    pub(crate) duration: Duration,
    /// The part of `duration` spent waiting for another run's migration lock, when it waited.
    pub(crate) lock_wait: Option<Duration>,
}

/// Writes progress to stdout (text) or stderr (`--json`, so stdout holds only the result).
pub(crate) struct Progress {
    json: bool,
    /// `--redact` and the `--env`/`--env-file` values, masked in the migration's output.
    redact: Redaction,
    /// The last status printed for each task, so repeats are not printed.
    printed: HashMap<String, LastStatus>,
}

impl Progress {
    pub(crate) fn new(json: bool, redact: Redaction) -> Self {
        Self {
            json,
            redact,
            printed: HashMap::new(),
        }
    }

    fn line(&self, text: &str) {
        // A closed terminal or pipe must not stop the migration: write errors are ignored.
        if self.json {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{text}");
        } else {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }

    /// One line of the command's own; what it quotes (a hook's id, a lock holder's names from
    /// a lock file, a task's stopped reason) goes through the printable filter.
    pub(crate) fn message(&self, text: &str) {
        self.line(&format!("ecs-migrate local: {}", printable(text)));
    }

    pub(crate) fn note(&mut self, note: Note) {
        match note {
            Note::State(name) => self.state_entered(&name),
            Note::Runner(event) => self.local(&event),
        }
    }

    /// Where output lines were dropped because the terminal could not keep up.
    pub(crate) fn dropped(&self, count: u64) {
        self.line(&format!(
            "[ecs-migrate: {} lines not shown]",
            thousands(count)
        ));
    }

    pub(crate) fn state_entered(&self, name: &str) {
        self.line(&format!("- {name}"));
    }

    pub(crate) fn local(&mut self, event: &LocalEvent) {
        match event {
            LocalEvent::Status { state } => {
                let changed = self.printed.get(&state.task_arn) != Some(&state.last_status);
                if changed {
                    self.printed
                        .insert(state.task_arn.clone(), state.last_status.clone());
                    self.line(&status_line(state));
                }
            }
            LocalEvent::Output { line, .. } => {
                let line = self.redact.apply(line);
                self.line(&format!("{OUTPUT_PREFIX}{}", printable(&line)))
            }
        }
    }

    /// The end: one summary line (and the Cause), or the JSON object.
    pub(crate) fn summary(&self, summary: &Summary) {
        if self.json {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", summary_json(summary));
            let _ = out.flush();
            return;
        }
        self.line(&printable(&summary_line(summary)));
        if let Ending::Failed(error) = &summary.ending {
            if !error.cause.is_empty() {
                // The Cause ends with the task's last lines: as untrusted as the output.
                self.line(&format!("cause: {}", printable_lines(&error.cause)));
            }
        }
    }
}

fn status_line(state: &TaskState) -> String {
    let mut text = format!("  task {} {}", short_id(&state.task_arn), state.last_status);
    let container = state.containers.first();
    if state.last_status == LastStatus::Stopped {
        let mut details = Vec::new();
        if let Some(code) = &state.stop_code {
            details.push(code.clone());
        }
        match container.and_then(|c| c.exit_code) {
            Some(code) => details.push(format!("exit code {code}")),
            None => {
                if let Some(reason) = &state.stopped_reason {
                    details.push(reason.clone());
                }
            }
        }
        if !details.is_empty() {
            text.push_str(&format!(" ({})", details.join(", ")));
        }
    } else if state.last_status == LastStatus::Stopping {
        if let Some(reason) = &state.stopped_reason {
            text.push_str(&format!(" ({reason})"));
        }
    }
    text
}

/// `12,345`.
fn thousands(count: u64) -> String {
    let digits = count.to_string();
    let mut text = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}

fn short_id(task_arn: &str) -> &str {
    let id = task_id(task_arn);
    id.get(..12).unwrap_or(id)
}

/// The command as a POSIX shell would take it back: `sh -c 'echo about to fail; exit 3'`.
/// Words of only safe characters stay bare; others are single-quoted (`'` as `'\''`).
pub(crate) fn shell_quoted(command: &[String]) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c);
    command
        .iter()
        .map(|word| {
            if !word.is_empty() && word.chars().all(safe) {
                word.clone()
            } else {
                format!("'{}'", word.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn seconds(duration: Duration) -> String {
    format!("{:.1} s", duration.as_secs_f64())
}

/// `succeeded: exit code 0, 1.2 s (task ID)` or
/// `failed: Migration.NonZeroExit, exit code 1, after 3.4 s (task ID)`; a run that waited for
/// the migration lock says how much of its time that was: `14.0 s, 12.8 s of it waiting for
/// the migration lock`.
pub(crate) fn summary_line(summary: &Summary) -> String {
    let task = summary
        .task_arn
        .as_deref()
        .map(|arn| format!(" (task {})", task_id(arn)))
        .unwrap_or_default();
    let exit = summary
        .exit_code
        .map(|c| format!("exit code {c}, "))
        .unwrap_or_default();
    let mut took = seconds(summary.duration);
    if let Some(wait) = summary.lock_wait {
        took.push_str(&format!(
            ", {} of it waiting for the migration lock",
            seconds(wait)
        ));
    }
    match &summary.ending {
        Ending::Succeeded(_) => format!("succeeded: {exit}{took}{task}"),
        Ending::Failed(error) => format!("failed: {}, {exit}after {took}{task}", error.error),
    }
}

/// `{"status":"SUCCEEDED","output":...}` or `{"status":"FAILED","error":...,"cause":...}`, with
/// the task, its exit code and the duration.
pub(crate) fn summary_json(summary: &Summary) -> Value {
    let mut object = match &summary.ending {
        Ending::Succeeded(output) => json!({"status": "SUCCEEDED", "output": output}),
        Ending::Failed(error) => {
            json!({"status": "FAILED", "error": error.error, "cause": error.cause})
        }
    };
    object["task_arn"] = json!(summary.task_arn);
    object["exit_code"] = json!(summary.exit_code);
    let millis = |d: Duration| (d.as_secs_f64() * 1000.0).round() / 1000.0;
    object["duration_seconds"] = json!(millis(summary.duration));
    object["lock_wait_seconds"] = json!(millis(summary.lock_wait.unwrap_or_default()));
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:ecs:local:000000000000:task/local/0123456789abcdef0123456789abcdef";

    #[test]
    fn commands_are_shell_quoted() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            shell_quoted(&words(&["python3", "examples/local/migrate.py"])),
            "python3 examples/local/migrate.py"
        );
        assert_eq!(
            shell_quoted(&words(&["sh", "-c", "echo about to fail; exit 3"])),
            "sh -c 'echo about to fail; exit 3'"
        );
        assert_eq!(
            shell_quoted(&words(&["echo", "it's", ""])),
            r#"echo 'it'\''s' ''"#
        );
    }

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(12_345), "12,345");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn summaries() {
        let ok = Summary {
            ending: Ending::Succeeded(json!({})),
            task_arn: Some(ARN.into()),
            exit_code: Some(0),
            duration: Duration::from_millis(1234),
            lock_wait: None,
        };
        assert_eq!(
            summary_line(&ok),
            "succeeded: exit code 0, 1.2 s (task 0123456789abcdef0123456789abcdef)"
        );
        let failed = Summary {
            ending: Ending::Failed(StateError {
                error: "Migration.NonZeroExit".into(),
                cause: "exit 1".into(),
            }),
            task_arn: None,
            exit_code: Some(1),
            duration: Duration::from_secs(3),
            lock_wait: None,
        };
        assert_eq!(
            summary_line(&failed),
            "failed: Migration.NonZeroExit, exit code 1, after 3.0 s"
        );
        let value = summary_json(&failed);
        assert_eq!(value["status"], "FAILED");
        assert_eq!(value["error"], "Migration.NonZeroExit");
        assert_eq!(value["exit_code"], 1);
        assert_eq!(value["duration_seconds"], 3.0);
        let waited = Summary {
            duration: Duration::from_millis(14_000),
            lock_wait: Some(Duration::from_millis(12_800)),
            ..ok.clone()
        };
        assert_eq!(
            summary_line(&waited),
            "succeeded: exit code 0, 14.0 s, 12.8 s of it waiting for the migration lock (task 0123456789abcdef0123456789abcdef)"
        );
        assert_eq!(summary_json(&waited)["lock_wait_seconds"], 12.8);
    }
}
