//! Following an execution's history: new events only (the last event id is kept), and what
//! they mean to a person watching a migration.

use std::collections::HashSet;

use aws_sdk_sfn::types::{HistoryEvent, HistoryEventType as T};
use chrono::{DateTime, Utc};

use crate::asl::ExecutionStatus;
use crate::common::error::StateError;
use crate::migration::LockState;
use crate::migration::TaskStatus;
use crate::migration::CAPACITY_ATTEMPTS;
use crate::migration::{RunOutcome, StartedTask};
use crate::ports::ecs::LastStatus;
use crate::ports::logs::LogStream;
use crate::ports::AwsError;
use crate::statemachine::{error_message, StateData};

/// The history events the command cares about, out of the SDK's types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    ExecutionStarted {
        at: DateTime<Utc>,
    },
    StateEntered {
        at: DateTime<Utc>,
        name: String,
    },
    StateExited {
        at: DateTime<Utc>,
        name: String,
        output: Option<String>,
    },
    /// A Task state's Lambda (or other resource) failed or timed out; the definition may retry
    /// or catch it, so this is news, not the end.
    StepFailed {
        at: DateTime<Utc>,
        error: Option<String>,
        cause: Option<String>,
    },
    ExecutionEnded(Ended),
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ended {
    pub(crate) at: DateTime<Utc>,
    pub(crate) status: ExecutionStatus,
    pub(crate) error: Option<String>,
    pub(crate) cause: Option<String>,
    pub(crate) output: Option<String>,
}

fn to_utc(time: &aws_sdk_sfn::primitives::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(time.secs(), time.subsec_nanos()).unwrap_or_default()
}

/// An empty string is no value (moto sends `""` for an abort without error or cause).
fn text(value: Option<&str>) -> Option<String> {
    value.filter(|s| !s.is_empty()).map(str::to_string)
}

impl Event {
    pub(crate) fn from_sdk(event: &HistoryEvent) -> Self {
        let at = to_utc(event.timestamp());
        if let Some(ended) = execution_end(event, at) {
            return Self::ExecutionEnded(ended);
        }
        if let Some((error, cause)) = step_failure(event) {
            return Self::StepFailed { at, error, cause };
        }
        if event.r#type() == &T::ExecutionStarted {
            return Self::ExecutionStarted { at };
        }
        state_change(event, at)
    }
}

/// How the execution ended, if `event` is its end.
fn execution_end(event: &HistoryEvent, at: DateTime<Utc>) -> Option<Ended> {
    let (status, error, cause, output) = match event.r#type() {
        T::ExecutionSucceeded => {
            let d = event.execution_succeeded_event_details();
            (
                ExecutionStatus::Succeeded,
                None,
                None,
                d.and_then(|d| d.output()),
            )
        }
        T::ExecutionFailed => {
            let d = event.execution_failed_event_details();
            let (error, cause) = (d.and_then(|d| d.error()), d.and_then(|d| d.cause()));
            (ExecutionStatus::Failed, error, cause, None)
        }
        T::ExecutionAborted => {
            let d = event.execution_aborted_event_details();
            let (error, cause) = (d.and_then(|d| d.error()), d.and_then(|d| d.cause()));
            (ExecutionStatus::Aborted, error, cause, None)
        }
        T::ExecutionTimedOut => {
            let d = event.execution_timed_out_event_details();
            let (error, cause) = (d.and_then(|d| d.error()), d.and_then(|d| d.cause()));
            (ExecutionStatus::TimedOut, error, cause, None)
        }
        _ => return None,
    };
    Some(Ended {
        at,
        status,
        error: text(error),
        cause: text(cause),
        output: text(output),
    })
}

/// The error and cause of a Task state's resource (a Lambda function or another) that failed
/// or timed out, if `event` is one; a timeout without an error is `States.Timeout`.
fn step_failure(event: &HistoryEvent) -> Option<(Option<String>, Option<String>)> {
    let (error, cause, timed_out) = match event.r#type() {
        T::TaskFailed => {
            let d = event.task_failed_event_details();
            (d.and_then(|d| d.error()), d.and_then(|d| d.cause()), false)
        }
        T::TaskTimedOut => {
            let d = event.task_timed_out_event_details();
            (d.and_then(|d| d.error()), d.and_then(|d| d.cause()), true)
        }
        T::LambdaFunctionFailed => {
            let d = event.lambda_function_failed_event_details();
            (d.and_then(|d| d.error()), d.and_then(|d| d.cause()), false)
        }
        T::LambdaFunctionTimedOut => {
            let d = event.lambda_function_timed_out_event_details();
            (d.and_then(|d| d.error()), d.and_then(|d| d.cause()), true)
        }
        _ => return None,
    };
    let error = text(error).or_else(|| timed_out.then(|| "States.Timeout".to_string()));
    Some((error, text(cause)))
}

/// A state entered or exited (whatever its type), or an event the command ignores.
fn state_change(event: &HistoryEvent, at: DateTime<Utc>) -> Event {
    if let Some(d) = event.state_entered_event_details() {
        Event::StateEntered {
            at,
            name: d.name().to_string(),
        }
    } else if let Some(d) = event.state_exited_event_details() {
        Event::StateExited {
            at,
            name: d.name().to_string(),
            output: d.output().map(str::to_string),
        }
    } else {
        Event::Other
    }
}

/// Events per GetExecutionHistory page once caught up: a poll finds a handful of new events,
/// so a small page keeps each answer small. The first read takes the largest page.
const PAGE_SMALL: i32 = 25;
const PAGE_LARGE: i32 = 1000;
/// Bound on pages per poll (Step Functions keeps at most 25,000 events).
const MAX_PAGES: usize = 30;

/// Reads new history events. Newest first (`reverseOrder`), stopping at the first event
/// already seen, so a poll reads only what is new (plus at most one page's overlap) however
/// long the execution has run.
pub(crate) struct HistoryFollower {
    client: aws_sdk_sfn::Client,
    execution_arn: String,
    last_id: i64,
}

impl HistoryFollower {
    pub(crate) fn new(client: aws_sdk_sfn::Client, execution_arn: &str) -> Self {
        Self {
            client,
            execution_arn: execution_arn.to_string(),
            last_id: 0,
        }
    }

    /// The events since the last poll, oldest first.
    pub(crate) async fn poll(&mut self) -> Result<Vec<Event>, AwsError> {
        let page_size = if self.last_id == 0 {
            PAGE_LARGE
        } else {
            PAGE_SMALL
        };
        let mut new: Vec<(i64, Event)> = Vec::new();
        let mut next_token = None;
        for _ in 0..MAX_PAGES {
            let out = self
                .client
                .get_execution_history()
                .execution_arn(&self.execution_arn)
                .reverse_order(true)
                .max_results(page_size)
                .include_execution_data(true)
                .set_next_token(next_token)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("states:GetExecutionHistory", e))?;
            let mut caught_up = false;
            for event in out.events() {
                if event.id() > self.last_id {
                    new.push((event.id(), Event::from_sdk(event)));
                } else {
                    caught_up = true;
                }
            }
            next_token = out.next_token().map(str::to_string);
            if caught_up || next_token.is_none() {
                break;
            }
        }
        // Pages come newest first (an emulator may ignore reverseOrder: sort either way).
        new.sort_by_key(|(id, _)| *id);
        new.dedup_by_key(|(id, _)| *id);
        if let Some((id, _)) = new.last() {
            self.last_id = *id;
        }
        Ok(new.into_iter().map(|(_, e)| e).collect())
    }
}

/// What a person watching should be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WaitProgress {
    State {
        at: DateTime<Utc>,
        name: String,
    },
    Task {
        at: DateTime<Utc>,
        task_arn: String,
    },
    LogStream(LogStream),
    TaskStatus {
        at: DateTime<Utc>,
        status: Box<TaskStatus>,
    },
    StepFailed {
        at: DateTime<Utc>,
        error: Option<String>,
        cause: Option<String>,
    },
    /// Something the state data says that changes what the watcher should expect: a wait for
    /// capacity, a duplicate execution, a task that could not be stopped.
    Notice {
        at: DateTime<Utc>,
        text: String,
    },
    Ended(Ended),
}

/// Turns events into progress. States are shown when first entered: the poll loop's repeats
/// (PollStatus, IsTaskStopped) would bury the migration's own log, so they show
/// as the task's status when it changes instead.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    pub(crate) started_at: Option<DateTime<Utc>>,
    seen_states: HashSet<String>,
    task_arn: Option<String>,
    log_stream: Option<LogStream>,
    shown_status: Option<(LastStatus, Option<String>)>,
    shown_notices: HashSet<String>,
    /// StopTask's failure, when it failed: the task may still be running.
    pub(crate) stop_error: Option<StateError>,
    pub(crate) ended: Option<Ended>,
}

impl Tracker {
    #[cfg(test)]
    pub(crate) fn log_stream(&self) -> Option<&LogStream> {
        self.log_stream.as_ref()
    }

    /// The task's last status as last shown (`STOPPED`, `RUNNING`, ...).
    #[cfg(test)]
    pub(crate) fn task_last_status(&self) -> Option<&str> {
        self.shown_status.as_ref().map(|(s, _)| s.as_str())
    }

    /// Shows `text` once.
    fn notice(&mut self, progress: &mut Vec<WaitProgress>, at: DateTime<Utc>, text: String) {
        if self.shown_notices.insert(text.clone()) {
            progress.push(WaitProgress::Notice { at, text });
        }
    }

    /// What the migration lock's state says: whom the execution waits for, that it took over
    /// an expired lease, that another execution of the event holds it, or that it was kept.
    fn lock_notice(
        &mut self,
        progress: &mut Vec<WaitProgress>,
        at: DateTime<Utc>,
        lock: Option<&LockState>,
    ) {
        let text = match lock {
            Some(LockState::Waiting(wait)) => format!("{} (scope {})", wait.message, wait.scope),
            Some(LockState::Duplicate(wait)) => format!("{}; this one starts nothing", wait.message),
            Some(LockState::Acquired(held)) => match &held.took_over_from {
                Some(previous) => format!(
                    "took over the migration lock of scope {} from {}, whose lease had run out, after stopping its task",
                    held.scope,
                    previous.describe()
                ),
                None if held.waited_seconds > 0 => format!(
                    "got the migration lock of scope {} after waiting {} s",
                    held.scope, held.waited_seconds
                ),
                None => return,
            },
            Some(LockState::Released(released)) if !released.released => {
                format!("the migration lock of scope {} was not released: {}", released.scope, released.note)
            }
            _ => return,
        };
        self.notice(progress, at, text);
    }

    pub(crate) fn apply(&mut self, event: Event) -> Vec<WaitProgress> {
        let mut progress = Vec::new();
        match event {
            Event::ExecutionStarted { at } => self.started_at = Some(at),
            Event::StateEntered { at, name } => {
                if self.seen_states.insert(name.clone()) {
                    progress.push(WaitProgress::State { at, name });
                }
            }
            Event::StateExited { at, output, .. } => {
                let data = output
                    .as_deref()
                    .map(StateData::from_json)
                    .unwrap_or_default();
                self.state_data(&mut progress, at, data);
            }
            Event::StepFailed { at, error, cause } => {
                progress.push(WaitProgress::StepFailed { at, error, cause })
            }
            Event::ExecutionEnded(ended) => {
                if self.ended.is_none() {
                    self.ended = Some(ended.clone());
                    progress.push(WaitProgress::Ended(ended));
                }
            }
            Event::Other => {}
        }
        progress
    }

    /// What a state's output tells the watcher, in the order it happened: a failed stop, the
    /// lock, the hook's answer, the task started (or not), the task's status.
    fn state_data(&mut self, progress: &mut Vec<WaitProgress>, at: DateTime<Utc>, data: StateData) {
        if let Some(error) = data.stop_error {
            let text = format!(
                "the migration task could not be stopped and may still be running: {}: {}",
                error.error,
                error_message(&error.cause)
            );
            self.notice(progress, at, text);
            self.stop_error = Some(error);
        }
        self.lock_notice(progress, at, data.lock.as_ref());
        if let Some(answer) = data.hook_answer {
            self.notice(progress, at, format!("deployment hook: {}", answer.message));
        }
        if let Some(task) = self.run_outcome(progress, at, data.task) {
            self.task_started(progress, at, task);
        }
        if let Some(status) = data.status {
            self.task_status(progress, at, status);
        }
    }

    /// The task RunTask started, if it did; a wait for capacity or a duplicate is a notice.
    fn run_outcome(
        &mut self,
        progress: &mut Vec<WaitProgress>,
        at: DateTime<Utc>,
        outcome: Option<RunOutcome>,
    ) -> Option<StartedTask> {
        let text = match outcome? {
            RunOutcome::Started(task) => return Some(task),
            RunOutcome::RetryLater(wait) => format!(
                "no capacity for the migration task; RunTask again in {} s (attempt {} of {CAPACITY_ATTEMPTS})",
                wait.wait_seconds,
                wait.attempt + 1
            ),
            RunOutcome::Duplicate(duplicate) => format!(
                "a duplicate delivery of event {}: another execution started its task ({}) and tracks it; this one starts nothing",
                duplicate.event_id.as_deref().unwrap_or("(no id)"),
                duplicate.task_arns.join(", ")
            ),
        };
        self.notice(progress, at, text);
        None
    }

    /// The task and its log stream, each shown when it changes.
    fn task_started(
        &mut self,
        progress: &mut Vec<WaitProgress>,
        at: DateTime<Utc>,
        task: StartedTask,
    ) {
        if self.task_arn.as_deref() != Some(task.task_arn.as_str()) {
            self.task_arn = Some(task.task_arn.clone());
            progress.push(WaitProgress::Task {
                at,
                task_arn: task.task_arn,
            });
        }
        let Some(stream) = task.log_stream else {
            return;
        };
        if self.log_stream.as_ref() != Some(&stream) {
            self.log_stream = Some(stream.clone());
            progress.push(WaitProgress::LogStream(stream));
        }
    }

    /// The task's status, shown when its last status or stop code changes.
    fn task_status(
        &mut self,
        progress: &mut Vec<WaitProgress>,
        at: DateTime<Utc>,
        status: TaskStatus,
    ) {
        let key = (status.last_status.clone(), status.stop_code.clone());
        if self.shown_status.as_ref() != Some(&key) {
            self.shown_status = Some(key);
            progress.push(WaitProgress::TaskStatus {
                at,
                status: Box::new(status),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at(second: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + second, 0).unwrap()
    }

    fn exited(second: i64, name: &str, output: serde_json::Value) -> Event {
        Event::StateExited {
            at: at(second),
            name: name.into(),
            output: Some(output.to_string()),
        }
    }

    fn task() -> serde_json::Value {
        json!({"task_arn": "arn:aws:ecs:us-east-1:123456789012:task/c/abc", "cluster": "c",
               "run_at": "2026-11-25T13:05:02Z",
               "log_stream": {"group": "/ecs/app", "stream": "ecs/app/abc", "region": "us-east-1"}})
    }

    fn status(last: &str, phase: &str) -> serde_json::Value {
        json!({"phase": phase, "last_status": last, "checked_at": "2026-11-25T13:05:09Z"})
    }

    #[test]
    fn capacity_waits_duplicates_and_failed_stops_are_told_once() {
        let mut tracker = Tracker::default();
        let wait = json!({"task": {"outcome": "RETRY_LATER", "attempt": 1, "wait_seconds": 10,
                                    "reason": "RESOURCE:MEMORY"}});
        let mut notices: Vec<String> = Vec::new();
        for event in [
            exited(1, "RunTask", wait.clone()),
            exited(2, "WaitForCapacity", wait),
            exited(
                3,
                "RunTask",
                json!({"task": {"outcome": "DUPLICATE",
                "task_arns": ["arn:aws:ecs:us-east-1:1:task/c/first"], "event_id": "e-1"}}),
            ),
            exited(
                4,
                "StopTask",
                json!({"stop_error": {"Error": "Migration.Misconfigured",
                "Cause": "{\"errorType\":\"Migration.Misconfigured\",\"errorMessage\":\"stopping task t: AccessDenied\"}"}}),
            ),
        ] {
            for progress in tracker.apply(event) {
                if let WaitProgress::Notice { text, .. } = progress {
                    notices.push(text);
                }
            }
        }
        assert_eq!(notices.len(), 3, "{notices:?}");
        assert!(notices[0].contains("RunTask again in 10 s (attempt 2 of 7)"));
        assert!(notices[1].contains("duplicate delivery of event e-1"));
        assert!(notices[1].contains("task/c/first"));
        assert!(notices[2].contains("could not be stopped"));
        assert!(notices[2].contains("Migration.Misconfigured: stopping task t: AccessDenied"));
        assert_eq!(
            tracker.stop_error.as_ref().map(|e| e.error.as_str()),
            Some("Migration.Misconfigured")
        );
    }

    #[test]
    fn loop_states_show_once_and_status_changes_show_each_time() {
        let mut tracker = Tracker::default();
        let mut all = Vec::new();
        let mut feed = |e| all.extend(tracker.apply(e));
        feed(Event::ExecutionStarted { at: at(0) });
        feed(Event::StateEntered {
            at: at(0),
            name: "RunTask".into(),
        });
        feed(exited(1, "RunTask", json!({"task": task()})));
        for (round, last) in ["PENDING", "RUNNING", "RUNNING", "STOPPED"]
            .iter()
            .enumerate()
        {
            let s = round as i64 * 5 + 2;
            feed(Event::StateEntered {
                at: at(s),
                name: "PollStatus".into(),
            });
            let phase = if *last == "STOPPED" {
                "STOPPED"
            } else {
                "IN_PROGRESS"
            };
            feed(exited(
                s + 4,
                "PollStatus",
                json!({"task": task(), "status": status(last, phase)}),
            ));
            feed(Event::StateEntered {
                at: at(s + 4),
                name: "IsTaskStopped".into(),
            });
        }
        let names: Vec<String> = all
            .iter()
            .map(|p| match p {
                WaitProgress::State { name, .. } => format!("state {name}"),
                WaitProgress::Task { .. } => "task".into(),
                WaitProgress::LogStream(s) => format!("log {}", s.stream),
                WaitProgress::TaskStatus { status, .. } => format!("status {}", status.last_status),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            names,
            [
                "state RunTask",
                "task",
                "log ecs/app/abc",
                "state PollStatus",
                "status PENDING",
                "state IsTaskStopped",
                "status RUNNING",
                "status STOPPED"
            ]
        );
        assert_eq!(tracker.started_at, Some(at(0)));
        assert_eq!(tracker.task_last_status(), Some("STOPPED"));
        assert_eq!(tracker.log_stream().unwrap().group, "/ecs/app");
    }

    #[test]
    fn the_lock_and_the_hook_answer_are_told_once() {
        let mut tracker = Tracker::default();
        let held_by = json!({"execution": "arn:aws:states:us-east-1:1:execution:m:deploy-7",
            "execution_name": "deploy-7", "migration": "app:41", "since": "2026-11-25T13:00:00Z",
            "lease_until": "2026-11-25T13:15:00Z"});
        let waiting = json!({"lock": {"outcome": "WAITING", "scope": "app", "holder": "me",
            "waiting_since": "2026-11-25T13:05:00Z", "held_by": held_by, "checks": 3,
            "message": "waiting for app:41 (execution deploy-7, since 2026-11-25T13:00:00Z)"}});
        let acquired = json!({"lock": {"outcome": "ACQUIRED", "scope": "app", "holder": "me",
            "since": "2026-11-25T13:20:00Z", "lease_until": "2026-11-25T13:35:00Z",
            "deadline": "2026-11-25T14:20:00Z", "waited_seconds": 900}});
        let mut notices: Vec<String> = Vec::new();
        for event in [
            exited(1, "AcquireLock", waiting.clone()),
            exited(2, "LockTaken", waiting),
            exited(3, "AcquireLock", acquired),
            exited(
                4,
                "ContinueDeployment",
                json!({"hook_answer": {"action": "CONTINUE", "answered": true,
                    "message": "answered CONTINUE to hook h-1"}}),
            ),
        ] {
            for p in tracker.apply(event) {
                if let WaitProgress::Notice { text, .. } = p {
                    notices.push(text);
                }
            }
        }
        assert_eq!(
            notices,
            [
                "waiting for app:41 (execution deploy-7, since 2026-11-25T13:00:00Z) (scope app)",
                "got the migration lock of scope app after waiting 900 s",
                "deployment hook: answered CONTINUE to hook h-1"
            ]
        );
    }

    #[test]
    fn unexpected_state_data_is_ignored() {
        let mut tracker = Tracker::default();
        assert!(tracker
            .apply(exited(1, "X", json!({"task": "nope", "status": 3})))
            .is_empty());
        assert!(tracker.apply(exited(1, "X", json!([1, 2]))).is_empty());
        assert!(tracker
            .apply(Event::StateExited {
                at: at(1),
                name: "X".into(),
                output: None
            })
            .is_empty());
    }

    #[test]
    fn only_the_first_end_counts() {
        let mut tracker = Tracker::default();
        let end = |status| {
            Event::ExecutionEnded(Ended {
                at: at(9),
                status,
                error: None,
                cause: None,
                output: None,
            })
        };
        assert_eq!(tracker.apply(end(ExecutionStatus::Aborted)).len(), 1);
        assert!(tracker.apply(end(ExecutionStatus::Succeeded)).is_empty());
        assert_eq!(tracker.ended.unwrap().status, ExecutionStatus::Aborted);
    }

    fn pass_entered(id: i64, name: &str) -> HistoryEvent {
        use aws_sdk_sfn::primitives::DateTime as SdkTime;
        use aws_sdk_sfn::types::StateEnteredEventDetails;
        HistoryEvent::builder()
            .id(id)
            .timestamp(SdkTime::from_secs(1_790_000_000 + id))
            .r#type(T::PassStateEntered)
            .state_entered_event_details(
                StateEnteredEventDetails::builder()
                    .name(name)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    /// The follower asks newest-first, stops paging at the first event it has seen, and hands
    /// back only new events, oldest first.
    #[tokio::test]
    async fn polls_read_only_new_events() {
        use aws_sdk_sfn::operation::get_execution_history::GetExecutionHistoryOutput;
        use aws_smithy_mocks::{mock, mock_client, RuleMode};
        let page = |ids: &[i64], token: Option<&str>| {
            let events: Vec<HistoryEvent> = ids
                .iter()
                .map(|id| pass_entered(*id, &format!("S{id}")))
                .collect();
            GetExecutionHistoryOutput::builder()
                .set_events(Some(events))
                .set_next_token(token.map(str::to_string))
                .build()
                .unwrap()
        };
        // First poll: everything, in two pages, large page size.
        let first_a = mock!(aws_sdk_sfn::Client::get_execution_history)
            .match_requests(|r| {
                r.reverse_order() == Some(true)
                    && r.max_results() == Some(PAGE_LARGE)
                    && r.next_token().is_none()
            })
            .then_output(move || page(&[3, 2], Some("t1")));
        let first_b = mock!(aws_sdk_sfn::Client::get_execution_history)
            .match_requests(|r| r.next_token() == Some("t1"))
            .then_output(move || page(&[1], None));
        // Second poll: 6 and 5 are new; the page after holds 4 and 3, and 3 was seen: stop.
        let second_a = mock!(aws_sdk_sfn::Client::get_execution_history)
            .match_requests(|r| r.max_results() == Some(PAGE_SMALL) && r.next_token().is_none())
            .then_output(move || page(&[6, 5], Some("t2")));
        let second_b = mock!(aws_sdk_sfn::Client::get_execution_history)
            .match_requests(|r| r.next_token() == Some("t2"))
            .then_output(move || page(&[4, 3], Some("t3")));
        // Third poll: nothing new (the newest page starts with a seen event).
        let third = mock!(aws_sdk_sfn::Client::get_execution_history)
            .match_requests(|r| r.next_token().is_none())
            .then_output(move || page(&[6, 5], Some("t4")));
        let client = mock_client!(
            aws_sdk_sfn,
            RuleMode::Sequential,
            [&first_a, &first_b, &second_a, &second_b, &third]
        );
        let mut follower = HistoryFollower::new(client, "arn");
        let names = |events: Vec<Event>| -> Vec<String> {
            events
                .into_iter()
                .map(|e| match e {
                    Event::StateEntered { name, .. } => name,
                    other => format!("{other:?}"),
                })
                .collect()
        };
        assert_eq!(names(follower.poll().await.unwrap()), ["S1", "S2", "S3"]);
        assert_eq!(names(follower.poll().await.unwrap()), ["S4", "S5", "S6"]);
        assert!(follower.poll().await.unwrap().is_empty());
        assert_eq!(third.num_calls(), 1);
        assert_eq!(second_b.num_calls(), 1);
    }

    #[test]
    fn sdk_events_convert() {
        use aws_sdk_sfn::primitives::DateTime as SdkTime;
        use aws_sdk_sfn::types::{ExecutionFailedEventDetails, StateEnteredEventDetails};
        let entered = HistoryEvent::builder()
            .id(2)
            .timestamp(SdkTime::from_secs(1_790_000_000))
            .r#type(T::TaskStateEntered)
            .state_entered_event_details(
                StateEnteredEventDetails::builder()
                    .name("RunTask")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        assert_eq!(
            Event::from_sdk(&entered),
            Event::StateEntered {
                at: at(0),
                name: "RunTask".into()
            }
        );
        let failed = HistoryEvent::builder()
            .id(9)
            .timestamp(SdkTime::from_secs(1_790_000_005))
            .r#type(T::ExecutionFailed)
            .execution_failed_event_details(
                ExecutionFailedEventDetails::builder()
                    .error("Migration.NonZeroExit")
                    .cause("exit code 1")
                    .build(),
            )
            .build()
            .unwrap();
        assert_eq!(
            Event::from_sdk(&failed),
            Event::ExecutionEnded(Ended {
                at: at(5),
                status: ExecutionStatus::Failed,
                error: Some("Migration.NonZeroExit".into()),
                cause: Some("exit code 1".into()),
                output: None
            })
        );
    }
}
