//! Waiting on an execution: poll its history and the migration's log until it ends, the
//! `--timeout` passes, or Ctrl-C; then drain the log and report.
//!
//! Cadence (the defaults): one GetExecutionHistory every 2 s (30 a minute) and one
//! GetLogEvents every 4 s once the log stream is known (15 a minute), so about 45 calls a
//! minute, and `wait` exits at most about 2 s (one poll interval, plus the last calls) after
//! the execution ends. Throttling doubles the interval, up to 30 s, and a good answer halves it
//! back.

use std::time::{Duration, Instant};

use tokio::signal::unix::{signal, SignalKind};

use super::super::{CommandOutcome, UsageError};
use super::config::Aws;
use super::history::{Ended, Event, HistoryFollower, Tracker, WaitProgress};
use super::logs::{LogFollower, LogRead, PAGES_PER_DRAIN, PAGES_PER_READ};
use super::output::{ApiCallCounts, Printer, Report, WaitEnd};
use super::{arn::console_url, FollowOpts};
use crate::asl::ExecutionStatus;
use crate::ports::ecs::LastStatus;
use crate::ports::executions::{Executions, SdkExecutions};
use crate::ports::AwsError;

/// The longest the poll interval grows to while throttled.
pub(crate) const MAX_INTERVAL: Duration = Duration::from_secs(30);
/// The log is read every this many history polls (and at once when there is news for it).
pub(crate) const LOG_EVERY: u64 = 2;
/// Transient failures (network, 5xx) in a row for this long end the wait.
const GIVE_UP_AFTER: Duration = Duration::from_secs(300);
/// The same before the first answer: then it is more likely a wrong --endpoint-url or network
/// setup than a passing outage.
const GIVE_UP_BEFORE_ANSWER: Duration = Duration::from_secs(10);
/// After StopExecution (`--abort-on-timeout`), how long to wait for the ABORTED event.
const ABORT_GRACE: Duration = Duration::from_secs(30);

/// The poll interval: the base one, doubled (up to [`MAX_INTERVAL`]) each time AWS throttles
/// or fails, halved back toward the base with each good answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cadence {
    base: Duration,
    current: Duration,
}

impl Cadence {
    pub(crate) fn new(base: Duration) -> Self {
        Self {
            base,
            current: base,
        }
    }

    pub(crate) fn current(&self) -> Duration {
        self.current
    }

    pub(crate) fn slow_down(&mut self) {
        self.current = (self.current * 2).min(MAX_INTERVAL.max(self.base));
    }

    pub(crate) fn answered(&mut self) {
        self.current = (self.current / 2).max(self.base);
    }

    pub(crate) fn reset(&mut self) {
        self.current = self.base;
    }
}

struct Waiter {
    execution_arn: String,
    history: HistoryFollower,
    logs: LogFollower,
    tracker: Tracker,
    printer: Printer,
    cadence: Cadence,
    tick: u64,
    failing_since: Option<Instant>,
    answered: bool,
    warned_logs: bool,
    /// The missing log group was said once.
    warned_group: bool,
    warned_throttle: bool,
}

impl Waiter {
    fn new(aws: &Aws, execution_arn: &str, opts: &FollowOpts, printer: Printer) -> Self {
        Self {
            execution_arn: execution_arn.to_string(),
            history: HistoryFollower::new(aws.sfn(), execution_arn),
            logs: LogFollower::new(aws.clone()),
            tracker: Tracker::default(),
            printer,
            cadence: Cadence::new(opts.poll_interval),
            tick: 0,
            failing_since: None,
            answered: false,
            warned_logs: false,
            warned_group: false,
            warned_throttle: false,
        }
    }

    /// Polls until the history shows the end.
    async fn until_end(&mut self) -> Result<Ended, UsageError> {
        loop {
            let mut read_logs = self.tick.is_multiple_of(LOG_EVERY);
            match self.history.poll().await {
                Ok(events) => {
                    self.history_answered();
                    read_logs |= self.show(events);
                    if let Some(ended) = &self.tracker.ended {
                        return Ok(ended.clone());
                    }
                }
                Err(err) => self.history_error(err)?,
            }
            if read_logs {
                self.read_logs(PAGES_PER_READ).await;
            }
            self.tick += 1;
            tokio::time::sleep(self.cadence.current()).await;
        }
    }

    /// A good answer: whatever failed or throttled before is over.
    fn history_answered(&mut self) {
        self.failing_since = None;
        self.answered = true;
        self.warned_throttle = false;
        self.cadence.answered();
    }

    /// Prints what the new events mean. True when the log has news: its stream just became
    /// known, or the task stopped (its last lines are there to read).
    fn show(&mut self, events: Vec<Event>) -> bool {
        let mut log_news = false;
        for event in events {
            for progress in self.tracker.apply(event) {
                self.printer.started_at = self.tracker.started_at;
                log_news |= self.log_news(&progress);
                self.printer.progress(&progress);
            }
        }
        log_news
    }

    fn log_news(&mut self, progress: &WaitProgress) -> bool {
        match progress {
            WaitProgress::LogStream(stream) => {
                self.logs.follow(stream.clone());
                true
            }
            WaitProgress::TaskStatus { status, .. } => status.last_status == LastStatus::Stopped,
            _ => false,
        }
    }

    fn history_error(&mut self, err: AwsError) -> Result<(), UsageError> {
        if let Some(stop) = expired_credentials(&self.execution_arn, &err) {
            return Err(stop);
        }
        if err.is_throttling() {
            self.slow_down("Step Functions");
            return Ok(());
        }
        if err.transient {
            let since = *self.failing_since.get_or_insert_with(Instant::now);
            if !self.answered && since.elapsed() >= GIVE_UP_BEFORE_ANSWER {
                return Err(UsageError::new(format!(
                    "could not reach Step Functions ({err}); check --endpoint-url, --region and the network"
                )));
            }
            if since.elapsed() >= GIVE_UP_AFTER {
                return Err(UsageError::new(format!(
                    "could not read the execution's history for {} minutes ({err}); the execution goes on: follow it again with `ecs-migrate wait {}`",
                    GIVE_UP_AFTER.as_secs() / 60,
                    self.execution_arn
                )));
            }
            self.printer.line(&format!("(retrying: {err})"));
            self.cadence.slow_down();
            return Ok(());
        }
        let arn = &self.execution_arn;
        let hint = match err.code.as_deref() {
            Some("ExecutionDoesNotExist") => format!(
                "no execution {arn}: check the ARN, and that your credentials are for its account"
            ),
            Some("InvalidArn") => format!("Step Functions does not take {arn:?} as an execution ARN"),
            _ if err.is_access_denied() => format!(
                "not allowed to read the history of {arn}: the caller needs states:GetExecutionHistory on it"
            ),
            _ => "could not read the execution's history".to_string(),
        };
        Err(UsageError::new(format!("{hint} ({err})")))
    }

    fn slow_down(&mut self, service: &str) {
        self.cadence.slow_down();
        if !self.warned_throttle {
            self.warned_throttle = true;
            self.printer.line(&format!(
                "(throttled by {service}: polling every {:.0}s for now)",
                self.cadence.current().as_secs_f64()
            ));
        }
    }

    async fn read_logs(&mut self, pages: usize) {
        match self.logs.read(pages).await {
            Ok(LogRead::Lines(lines)) => {
                for line in &lines {
                    self.printer.log_line(line);
                }
            }
            Ok(LogRead::NotYet) => {}
            Ok(LogRead::GroupMissing(_)) if self.warned_group => {}
            Ok(LogRead::GroupMissing(err)) => {
                self.warned_group = true;
                let stream = self.logs.stream().cloned();
                let (group, region) = stream.map_or((String::new(), None), |s| (s.group, s.region));
                self.printer.line(&format!(
                    "(log group {group}{} does not exist ({err}): unless the task definition sets awslogs-create-group, the container's output is not kept; create the group. The wait goes on, reading again.)",
                    region.map(|r| format!(" in {r}")).unwrap_or_default()
                ));
            }
            Ok(LogRead::Denied(err)) => {
                let group = self
                    .logs
                    .stream()
                    .map(|s| s.group.clone())
                    .unwrap_or_default();
                self.printer.line(&format!(
                    "(cannot read the migration's log: {err}; grant logs:GetLogEvents on log group {group} to see it here. The wait goes on.)"
                ));
            }
            Err(err) if err.is_throttling() => self.slow_down("CloudWatch Logs"),
            Err(err) => {
                if !self.warned_logs {
                    self.warned_logs = true;
                    self.printer.line(&format!(
                        "(could not read the migration's log: {err}; retrying)"
                    ));
                }
            }
        }
    }
}

/// The error codes of credentials that expired (a session token, a role's), as Step Functions
/// and STS answer them.
const EXPIRED_CREDENTIALS: [&str; 4] = [
    "ExpiredToken",
    "ExpiredTokenException",
    "TokenRefreshRequired",
    "RequestExpired",
];

/// Expired credentials end the wait, not the execution: say so, and how to follow it again.
fn expired_credentials(execution_arn: &str, err: &AwsError) -> Option<UsageError> {
    let code = err.code.as_deref()?;
    EXPIRED_CREDENTIALS.contains(&code).then(|| {
        UsageError::new(format!(
            "the credentials expired while following the execution ({err}); the execution goes on in Step Functions: renew the credentials and follow it again with `ecs-migrate wait {execution_arn}`"
        ))
    })
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

enum Stop {
    Ended(Ended),
    TimedOut,
    Interrupted,
}

/// Follows `execution_arn` to its end (or the timeout, or Ctrl-C) and reports.
pub(crate) async fn follow(
    aws: &Aws,
    execution_arn: &str,
    opts: &FollowOpts,
    json: bool,
    verbose: bool,
) -> Result<CommandOutcome, UsageError> {
    let began = Instant::now();
    // The Ctrl-C handler is in place before the first line is printed (tokio's ctrl_c() would
    // install it only when first polled), so an interrupt any time after that line is seen.
    let mut interrupt = signal(SignalKind::interrupt())
        .map_err(|e| UsageError::new(format!("cannot watch for Ctrl-C: {e}")))?;
    let printer = Printer::new(json);
    printer.line(&format!("execution {execution_arn}"));
    printer.line(&format!("console   {}", console_url(execution_arn)));
    let mut waiter = Waiter::new(aws, execution_arn, opts, printer);
    let deadline = opts
        .timeout
        .map(|t| tokio::time::Instant::now() + Duration::from_secs(t));
    let ctrl_c = interrupt.recv();
    tokio::pin!(ctrl_c);

    let mut stop = tokio::select! {
        ended = waiter.until_end() => Stop::Ended(ended?),
        _ = &mut ctrl_c => Stop::Interrupted,
        _ = sleep_until(deadline) => Stop::TimedOut,
    };
    if matches!(stop, Stop::TimedOut) && opts.abort_on_timeout {
        waiter
            .stop_execution(aws, opts.timeout.unwrap_or_default())
            .await?;
        // The ABORTED event (or whatever end came first) closes the wait.
        stop = tokio::select! {
            ended = tokio::time::timeout(ABORT_GRACE, waiter.until_end()) => match ended {
                Ok(ended) => Stop::Ended(ended?),
                Err(_) => Stop::TimedOut,
            },
            _ = &mut ctrl_c => Stop::Interrupted,
        };
    }
    // The last lines: the container's final output reaches CloudWatch by the time the
    // execution ends, but may not have been read yet.
    if !matches!(stop, Stop::Interrupted) {
        waiter.read_logs(PAGES_PER_DRAIN).await;
    }
    let end = waiter.report(aws, stop, opts, json);
    if verbose {
        print_api_calls(aws, began);
    }
    Ok(match end {
        WaitEnd::Ended(ExecutionStatus::Succeeded) => CommandOutcome::Succeeded,
        WaitEnd::Interrupted => CommandOutcome::Interrupted,
        _ => CommandOutcome::Failed,
    })
}

impl Waiter {
    /// `--abort-on-timeout`: StopExecution, so the deployment's abort rule stops its task.
    async fn stop_execution(&mut self, aws: &Aws, timeout: u64) -> Result<(), UsageError> {
        self.printer.line(&format!(
            "--timeout {timeout}s passed: stopping the execution (--abort-on-timeout)"
        ));
        let cause =
            format!("ecs-migrate wait --timeout {timeout} --abort-on-timeout: the wait timed out");
        let arn = &self.execution_arn;
        SdkExecutions::new(aws.sfn())
            .stop(arn, "EcsMigrate.WaitTimeout", &cause)
            .await
            .map_err(|err| {
                UsageError::new(format!(
                    "the wait timed out and stopping the execution failed ({err}); it goes on: stop it with `aws stepfunctions stop-execution --execution-arn {arn}`"
                ))
            })?;
        self.cadence.reset();
        Ok(())
    }

    /// Says how the wait stopped when the execution goes on, then prints the result; returns
    /// where the wait left the execution.
    fn report(&self, aws: &Aws, stop: Stop, opts: &FollowOpts, json: bool) -> WaitEnd {
        let (end, ended) = match stop {
            Stop::Ended(ended) => (WaitEnd::Ended(ended.status), Some(ended)),
            Stop::TimedOut => (WaitEnd::TimedOut, None),
            Stop::Interrupted => (WaitEnd::Interrupted, None),
        };
        let arn = &self.execution_arn;
        let again = format!("Follow it again with `ecs-migrate wait {arn}`, or stop it with `aws stepfunctions stop-execution --execution-arn {arn}`");
        match end {
            WaitEnd::TimedOut => self.printer.line(&format!(
                "still running after --timeout {}s; it goes on. {again}",
                opts.timeout.unwrap_or_default()
            )),
            WaitEnd::Interrupted => self.printer.line(&format!(
                "interrupted: stopped waiting, the execution goes on. {again}"
            )),
            WaitEnd::Ended(_) => {}
        }
        self.result(aws, end, ended.as_ref()).print(json);
        end
    }

    /// The result: the execution's end (if it ended), what the wait saw, the calls it made.
    fn result(&self, aws: &Aws, end: WaitEnd, ended: Option<&Ended>) -> Report {
        Report {
            status: ended
                .map(|e| e.status.as_str())
                .unwrap_or("RUNNING")
                .to_string(),
            execution_arn: self.execution_arn.clone(),
            error: ended.and_then(|e| e.error.clone()),
            cause: ended.and_then(|e| e.cause.clone()),
            output: ended.and_then(|e| e.output.as_deref()).map(|o| {
                serde_json::from_str(o).unwrap_or_else(|_| serde_json::Value::String(o.to_string()))
            }),
            console_url: console_url(&self.execution_arn),
            log_lines: self.logs.lines_shown,
            wait_stopped: match end {
                WaitEnd::Ended(_) => None,
                WaitEnd::TimedOut => Some("timeout"),
                WaitEnd::Interrupted => Some("interrupted"),
            },
            stop_error: self.tracker.stop_error.clone(),
            start_date: self.tracker.started_at,
            stop_date: ended.map(|e| e.at),
            api_calls: ApiCallCounts {
                states: aws.calls.states(),
                logs: aws.calls.logs(),
            },
        }
    }
}

/// `--verbose`: the AWS requests the wait made, and their rate.
fn print_api_calls(aws: &Aws, began: Instant) {
    let seconds = began.elapsed().as_secs_f64();
    let calls = aws.calls.states() + aws.calls.logs();
    crate::cli::print::stderr_line(&format!(
        "api calls: {calls} (states {}, logs {}) in {seconds:.1}s: {:.1} a minute",
        aws.calls.states(),
        aws.calls.logs(),
        calls as f64 * 60.0 / seconds.max(0.001)
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_doubles_the_interval_up_to_the_cap_and_answers_bring_it_back() {
        let mut cadence = Cadence::new(Duration::from_secs(2));
        let mut seen = Vec::new();
        for _ in 0..6 {
            cadence.slow_down();
            seen.push(cadence.current().as_secs());
        }
        assert_eq!(seen, [4, 8, 16, 30, 30, 30]);
        let mut back = Vec::new();
        for _ in 0..6 {
            cadence.answered();
            back.push(cadence.current().as_secs());
        }
        assert_eq!(back, [15, 7, 3, 2, 2, 2]);
        cadence.slow_down();
        cadence.reset();
        assert_eq!(cadence.current(), Duration::from_secs(2));
    }

    #[test]
    fn expired_credentials_say_the_execution_goes_on() {
        let arn = "arn:aws:states:eu-west-1:123456789012:execution:mig:run-1";
        for code in ["ExpiredTokenException", "ExpiredToken"] {
            let err = AwsError::permanent(
                "states:GetExecutionHistory",
                Some(code),
                "The security token included in the request is expired",
            );
            let stop = expired_credentials(arn, &err).expect("an expired token ends the wait");
            let text = stop.to_string();
            assert!(text.contains("the execution goes on"), "{text}");
            assert!(text.contains(&format!("ecs-migrate wait {arn}")), "{text}");
            assert!(text.contains(code), "{text}");
        }
        let denied = AwsError::permanent(
            "states:GetExecutionHistory",
            Some("AccessDeniedException"),
            "no",
        );
        assert!(expired_credentials(arn, &denied).is_none());
    }

    #[test]
    fn a_base_above_the_cap_is_kept() {
        let mut cadence = Cadence::new(Duration::from_secs(60));
        cadence.slow_down();
        assert_eq!(cadence.current(), Duration::from_secs(60));
    }
}
