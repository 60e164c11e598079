//! What the command prints: progress as it happens, then the result (text, or one JSON object
//! on stdout with `--json`, progress then going to stderr).

use std::io::Write;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::history::WaitProgress;
use crate::asl::ExecutionStatus;
use crate::cli::printable::{printable, printable_lines};
use crate::common::error::StateError;
use crate::migration::TaskStatus;

/// WaitProgress lines, with the time since the execution started.
pub(crate) struct Printer {
    json: bool,
    pub(crate) started_at: Option<DateTime<Utc>>,
}

impl Printer {
    pub(crate) fn new(json: bool) -> Self {
        Self {
            json,
            started_at: None,
        }
    }

    /// A line of progress: stdout, or stderr when stdout is for the JSON result. Every line
    /// goes through the printable filter: state names, task ARNs, stopped reasons and error
    /// names come from the execution's history, which a payload can shape.
    pub(crate) fn line(&self, text: &str) {
        let text = &*printable(text);
        if self.json {
            crate::cli::print::stderr_line(text);
        } else {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }

    fn stamp(&self, at: DateTime<Utc>) -> String {
        let Some(start) = self.started_at else {
            return format!("[{}]", at.format("%H:%M:%SZ"));
        };
        format!(
            "[+{}]",
            clock(at.signed_duration_since(start).num_seconds())
        )
    }

    pub(crate) fn progress(&self, progress: &WaitProgress) {
        match progress {
            WaitProgress::State { at, name } => self.line(&format!("{} {name}", self.stamp(*at))),
            WaitProgress::Task { at, task_arn } => {
                self.line(&format!("{} task {task_arn}", self.stamp(*at)))
            }
            WaitProgress::LogStream(stream) => self.line(&format!(
                "           log {} {}{}",
                stream.group,
                stream.stream,
                stream
                    .region
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            )),
            WaitProgress::TaskStatus { at, status } => self.line(&format!(
                "{} task {}",
                self.stamp(*at),
                describe_status(status)
            )),
            WaitProgress::StepFailed { at, error, cause } => self.line(&format!(
                "{} step failed: {}{}",
                self.stamp(*at),
                error.as_deref().unwrap_or("(no error name)"),
                cause
                    .as_deref()
                    .map(|c| format!(": {}", one_line(c, 300)))
                    .unwrap_or_default()
            )),
            WaitProgress::Notice { at, text } => {
                self.line(&format!("{} {}", self.stamp(*at), one_line(text, 600)))
            }
            // The end is reported by `Report`.
            WaitProgress::Ended(_) => {}
        }
    }

    /// A line of the migration's own log.
    pub(crate) fn log_line(&self, line: &str) {
        self.line(&format!("  | {}", printable(line)));
    }
}

/// `RUNNING`, or `STOPPED (EssentialContainerExited: Essential container in task exited; app
/// exit code 1)`.
fn describe_status(status: &TaskStatus) -> String {
    let mut details = Vec::new();
    if let Some(code) = &status.stop_code {
        match &status.stopped_reason {
            Some(reason) if !reason.is_empty() => details.push(format!("{code}: {reason}")),
            _ => details.push(code.clone()),
        }
    }
    for container in &status.containers {
        if let Some(exit) = container.exit_code {
            details.push(format!("{} exit code {exit}", container.name));
        }
    }
    if details.is_empty() {
        status.last_status.to_string()
    } else {
        format!("{} ({})", status.last_status, details.join("; "))
    }
}

/// `mm:ss`, or `h:mm:ss` past an hour.
fn clock(seconds: i64) -> String {
    let s = seconds.max(0);
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

/// `1m02s`, `2h03m`.
pub(crate) fn duration_words(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s / 60 % 60),
    }
}

fn one_line(text: &str, max: usize) -> String {
    let flat: String =
        printable(&text.split_whitespace().collect::<Vec<_>>().join(" ")).into_owned();
    if flat.chars().count() > max {
        format!("{}...", flat.chars().take(max).collect::<String>())
    } else {
        flat
    }
}

/// Where the wait left the execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WaitEnd {
    /// The execution ended with this status.
    Ended(ExecutionStatus),
    /// `--timeout` passed; the execution was left running.
    TimedOut,
    /// Ctrl-C; the execution was left running.
    Interrupted,
}

/// The result, as `--json` prints it (one object).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Report {
    /// SUCCEEDED, FAILED, TIMED_OUT, ABORTED, or RUNNING when the wait stopped first.
    pub(crate) status: String,
    pub(crate) execution_arn: String,
    pub(crate) error: Option<String>,
    pub(crate) cause: Option<String>,
    /// The execution's output (parsed when it is JSON).
    pub(crate) output: Option<Value>,
    pub(crate) console_url: String,
    /// Lines of the migration's log shown.
    pub(crate) log_lines: u64,
    /// The wait ended before the execution: `--timeout` passed (`"timeout"`) or Ctrl-C
    /// (`"interrupted"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) wait_stopped: Option<&'static str>,
    /// StopTask's failure, when it failed: the migration task may still be running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stop_error: Option<StateError>,
    pub(crate) start_date: Option<DateTime<Utc>>,
    pub(crate) stop_date: Option<DateTime<Utc>>,
    /// HTTP requests sent while waiting, per service (retries included).
    pub(crate) api_calls: ApiCallCounts,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct ApiCallCounts {
    pub(crate) states: u64,
    pub(crate) logs: u64,
}

impl Report {
    /// Prints the result: the JSON object, or the text lines.
    pub(crate) fn print(&self, json: bool) {
        if json {
            let text = serde_json::to_string(self).unwrap_or_else(|_| "{}".into());
            crate::cli::print::stdout_line(&text);
            return;
        }
        let mut out = std::io::stdout().lock();
        let took = match (self.start_date, self.stop_date) {
            (Some(start), Some(stop)) => format!(
                " after {}",
                duration_words(stop.signed_duration_since(start).num_seconds())
            ),
            _ => String::new(),
        };
        match self.wait_stopped {
            Some(why) => {
                let _ = writeln!(
                    out,
                    "{} (wait {}): {}",
                    self.status,
                    if why == "timeout" {
                        "timed out"
                    } else {
                        "interrupted"
                    },
                    self.execution_arn
                );
            }
            None => {
                let _ = writeln!(out, "{}{took}: {}", self.status, self.execution_arn);
            }
        }
        if let Some(error) = &self.error {
            let _ = writeln!(out, "Error: {}", printable(error));
        }
        if let Some(cause) = &self.cause {
            // A Cause may hold several lines (check-exit-code adds the log's last lines).
            let _ = writeln!(
                out,
                "Cause: {}",
                printable_lines(cause.trim_end()).replace('\n', "\n       ")
            );
        }
        let _ = writeln!(out, "console: {}", self.console_url);
        let _ = out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migration::Phase;
    use crate::ports::ecs::ContainerState;
    use crate::ports::ecs::LastStatus;

    #[test]
    fn clocks_and_durations() {
        assert_eq!(clock(0), "00:00");
        assert_eq!(clock(62), "01:02");
        assert_eq!(clock(3723), "1:02:03");
        assert_eq!(duration_words(5), "5s");
        assert_eq!(duration_words(62), "1m02s");
        assert_eq!(duration_words(7380), "2h03m");
    }

    #[test]
    fn stopped_status_names_stop_code_and_exit_codes() {
        let status = TaskStatus {
            phase: Phase::Stopped,
            last_status: LastStatus::Stopped,
            desired_status: None,
            stop_code: Some("EssentialContainerExited".into()),
            stopped_reason: Some("Essential container in task exited".into()),
            created_at: None,
            started_at: None,
            stopped_at: None,
            containers: vec![ContainerState {
                name: "app".into(),
                last_status: Some(LastStatus::Stopped),
                exit_code: Some(1),
                reason: None,
            }],
            checked_at: Utc::now(),
            polls: 3,
            error: None,
        };
        assert_eq!(
            describe_status(&status),
            "STOPPED (EssentialContainerExited: Essential container in task exited; app exit code 1)"
        );
    }

    #[test]
    fn causes_are_flattened_for_step_lines() {
        assert_eq!(one_line("a\n  b\tc", 10), "a b c");
        assert_eq!(one_line("abcdef", 3), "abc...");
    }
}
