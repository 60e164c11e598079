//! One local task: its DescribeTasks state, its captured log, and the agent that starts its
//! container, follows it and stops it, moving the state through ECS's lifecycle:
//!
//! ```text
//! PROVISIONING -> PENDING -> RUNNING -> (STOPPING, after StopTask) -> STOPPED
//!                        \-> STOPPED (stop code TaskFailedToStart: the command cannot start)
//! ```
//! Stop codes: `EssentialContainerExited` when the container's process exits,
//! `UserInitiated` after StopTask, `TaskFailedToStart` when it never ran.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::io::{AsyncRead, BufReader};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::backend::{Backend, RunningContainer};
use super::ecs::Runner;
use super::events::{Emitter, LocalEvent, OutputStream};
use super::process;
use super::taskdef::LocalContainer;
use crate::common::sync::lock;
use crate::ports::ecs::{ContainerState, LastStatus, TaskState};

/// Lines of each task's output kept for `Logs::tail` (the most a Cause asks for).
pub const KEPT_LINES: usize = 10_000;
/// Bytes of each task's output kept for `Logs::tail`; older lines are dropped first.
pub const KEPT_BYTES: usize = 16 * 1024 * 1024;
/// How long the output readers may go on after the container ended (a process that left the
/// group may hold the pipes open).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

pub const STOP_CODE_EXITED: &str = "EssentialContainerExited";
pub const STOP_CODE_USER: &str = "UserInitiated";
pub const STOP_CODE_FAILED_TO_START: &str = "TaskFailedToStart";
const EXITED_REASON: &str = "Essential container in task exited";

/// A task's state with a counter of its changes.
#[derive(Debug, Clone)]
struct Snapshot {
    state: TaskState,
    generation: u64,
}

/// The last lines a task wrote, within [`KEPT_LINES`] and [`KEPT_BYTES`].
#[derive(Debug, Default)]
struct LogBuffer {
    lines: VecDeque<String>,
    bytes: usize,
}

impl LogBuffer {
    fn push(&mut self, line: String) {
        self.bytes += line.len();
        self.lines.push_back(line);
        while self.lines.len() > KEPT_LINES || (self.bytes > KEPT_BYTES && self.lines.len() > 1) {
            if let Some(old) = self.lines.pop_front() {
                self.bytes -= old.len();
            }
        }
    }
}

/// One task, shared by the runner (DescribeTasks, StopTask, Logs) and its agent.
#[derive(Debug)]
pub struct TaskRecord {
    pub arn: String,
    pub id: String,
    pub cluster: String,
    pub started_by: String,
    pub container: String,
    /// The awslogs group and stream this task's output answers for.
    pub log_group: String,
    pub log_stream: String,
    state: watch::Sender<Snapshot>,
    /// The generation DescribeTasks last reported, so a poller learns of changes it missed.
    described: AtomicU64,
    log: Mutex<LogBuffer>,
    /// The process group while it may have members.
    group: Mutex<Option<i32>>,
    /// What runs the task's container.
    backend: Arc<dyn Backend>,
    events: Emitter,
}

/// What the runner needs to create a record.
pub struct NewTask {
    pub arn: String,
    pub id: String,
    pub cluster: String,
    pub started_by: String,
    pub container: String,
    pub log_group: String,
    pub log_stream: String,
}

impl TaskRecord {
    pub fn new(task: NewTask, runner: &Runner, events: Emitter) -> Arc<Self> {
        let state = TaskState {
            task_arn: task.arn.clone(),
            started_by: Some(task.started_by.clone()),
            last_status: LastStatus::Provisioning,
            desired_status: Some(LastStatus::Running),
            stop_code: None,
            stopped_reason: None,
            created_at: Some(Utc::now()),
            started_at: None,
            stopped_at: None,
            containers: vec![ContainerState {
                name: task.container.clone(),
                last_status: Some(LastStatus::Pending),
                exit_code: None,
                reason: None,
            }],
        };
        let backend = runner.backend(&task.id);
        let record = Arc::new(Self {
            arn: task.arn,
            id: task.id,
            cluster: task.cluster,
            started_by: task.started_by,
            container: task.container,
            log_group: task.log_group,
            log_stream: task.log_stream,
            state: watch::Sender::new(Snapshot {
                state: state.clone(),
                generation: 0,
            }),
            described: AtomicU64::new(0),
            log: Mutex::new(LogBuffer::default()),
            group: Mutex::new(None),
            backend,
            events,
        });
        record.events.emit(LocalEvent::Status { state });
        record
    }

    /// The current state.
    pub fn state(&self) -> TaskState {
        self.state.borrow().state.clone()
    }

    /// The current state, remembered as seen by the poller (see [`Self::wait_for_change`]).
    pub fn describe(&self) -> TaskState {
        let snapshot = self.state.borrow().clone();
        self.described.store(snapshot.generation, Ordering::SeqCst);
        snapshot.state
    }

    pub fn is_stopped(&self) -> bool {
        self.state.borrow().state.last_status == LastStatus::Stopped
    }

    /// Returns when the state differs from what DescribeTasks last reported (at once if it
    /// already does), or after `timeout`'s future completes.
    pub async fn wait_for_change(&self, timeout: impl std::future::Future<Output = ()>) {
        let seen = self.described.load(Ordering::SeqCst);
        let mut rx = self.state.subscribe();
        tokio::select! {
            _ = async { let _ = rx.wait_for(|s| s.generation != seen).await; } => {}
            _ = timeout => {}
        }
    }

    /// Returns once the task is STOPPED.
    pub async fn wait_stopped(&self) -> TaskState {
        let mut rx = self.state.subscribe();
        let _ = rx
            .wait_for(|s| s.state.last_status == LastStatus::Stopped)
            .await;
        self.state()
    }

    /// The last `lines` lines the task wrote, oldest first.
    pub fn tail(&self, lines: usize) -> Vec<String> {
        let log = lock(&self.log);
        let skip = log.lines.len().saturating_sub(lines);
        log.lines.iter().skip(skip).cloned().collect()
    }

    /// The live process group, if any.
    pub fn process_group(&self) -> Option<i32> {
        *lock(&self.group)
    }

    /// Changes the state and tells observers. `change` returns false to leave it unchanged.
    fn update(&self, change: impl FnOnce(&mut TaskState) -> bool) {
        self.state.send_if_modified(|snapshot| {
            if !change(&mut snapshot.state) {
                return false;
            }
            snapshot.generation += 1;
            // Sent while the new state is not yet visible: whoever sees it (DescribeTasks) can
            // count on observers having been told first.
            self.events.emit(LocalEvent::Status {
                state: snapshot.state.clone(),
            });
            true
        });
    }

    fn stop_requested(&self) -> bool {
        self.state.borrow().state.desired_status == Some(LastStatus::Stopped)
    }

    /// Returns once StopTask asked for the task to stop (at once if it already has).
    async fn until_stop_requested(&self) {
        let mut rx = self.state.subscribe();
        let _ = rx
            .wait_for(|s| s.state.desired_status == Some(LastStatus::Stopped))
            .await;
    }

    /// StopTask: asks the agent to stop the container. Nothing happens to a stopped task, or to
    /// one already asked to stop.
    pub fn request_stop(&self, reason: &str) {
        self.update(|state| {
            if state.last_status == LastStatus::Stopped
                || state.desired_status == Some(LastStatus::Stopped)
            {
                return false;
            }
            state.desired_status = Some(LastStatus::Stopped);
            state.stop_code = Some(STOP_CODE_USER.into());
            state.stopped_reason = Some(if reason.trim().is_empty() {
                "Task stopped by user".into()
            } else {
                reason.to_string()
            });
            if state.last_status == LastStatus::Running {
                state.last_status = LastStatus::Stopping;
            }
            true
        });
    }

    fn push_line(&self, stream: OutputStream, line: String) {
        lock(&self.log).push(line.clone());
        self.events.emit(LocalEvent::Output {
            task_arn: self.arn.clone(),
            container: self.container.clone(),
            stream,
            line,
        });
    }

    fn set_pending(&self) {
        self.update(|state| {
            if state.last_status != LastStatus::Provisioning {
                return false;
            }
            state.last_status = LastStatus::Pending;
            true
        });
    }

    fn set_running(&self) {
        self.update(|state| {
            state.started_at = Some(Utc::now());
            if let Some(c) = state.containers.first_mut() {
                c.last_status = Some(LastStatus::Running);
            }
            if state.desired_status == Some(LastStatus::Stopped) {
                state.last_status = LastStatus::Stopping;
            } else {
                state.last_status = LastStatus::Running;
            }
            true
        });
    }

    /// The task is over: `exit` is the container's exit code, or why it never ran (or why
    /// the exit code is unknown).
    fn finish(&self, exit: Result<i32, Ended>) {
        self.update(|state| {
            state.last_status = LastStatus::Stopped;
            state.desired_status = Some(LastStatus::Stopped);
            state.stopped_at = Some(Utc::now());
            let container = state.containers.first_mut();
            match exit {
                Ok(code) => {
                    if let Some(c) = container {
                        c.last_status = Some(LastStatus::Stopped);
                        c.exit_code = Some(code);
                    }
                    if state.stop_code.is_none() {
                        state.stop_code = Some(STOP_CODE_EXITED.into());
                        state.stopped_reason = Some(EXITED_REASON.into());
                    }
                }
                Err(Ended::FailedToStart(reason)) => {
                    if let Some(c) = container {
                        c.last_status = Some(LastStatus::Stopped);
                        c.reason = Some(reason.clone());
                    }
                    if state.stop_code.is_none() {
                        state.stop_code = Some(STOP_CODE_FAILED_TO_START.into());
                        state.stopped_reason = Some(reason);
                    }
                }
                Err(Ended::Unknown(reason)) => {
                    if let Some(c) = container {
                        c.last_status = Some(LastStatus::Stopped);
                        c.reason = Some(reason.clone());
                    }
                    if state.stop_code.is_none() {
                        state.stop_code = Some(STOP_CODE_EXITED.into());
                        state.stopped_reason = Some(reason);
                    }
                }
                Err(Ended::NotStarted) => {
                    if let Some(c) = container {
                        c.last_status = Some(LastStatus::Stopped);
                    }
                }
            }
            true
        });
    }

    /// Kills whatever the task still runs, at once (the runner is going away).
    pub fn kill_now(&self) {
        if let Some(pgid) = lock(&self.group).take() {
            process::signal_group(pgid, libc::SIGKILL);
        }
        if !self.is_stopped() {
            self.backend.kill_now();
        }
    }
}

/// Why a task stopped without an exit code.
#[derive(Debug)]
enum Ended {
    FailedToStart(String),
    NotStarted,
    Unknown(String),
}

/// Starts `argv` in `container` for `record` and follows it to STOPPED: the task's lifecycle,
/// whichever back end runs its container.
pub async fn drive(record: Arc<TaskRecord>, container: LocalContainer, argv: Vec<String>) {
    record.set_pending();
    if record.stop_requested() {
        return record.finish(Err(Ended::NotStarted));
    }
    let backend = record.backend.clone();
    let mut running = match backend.start(&container, &argv) {
        Ok(running) => running,
        Err(reason) => return record.finish(Err(Ended::FailedToStart(reason))),
    };
    *lock(&record.group) = Some(running.process_group());
    let readers = read_outputs(&record, &mut running);
    record.set_running();

    let status = tokio::select! {
        status = running.wait() => status,
        _ = record.until_stop_requested() => backend.stop(&mut running, container.stop_timeout).await,
    };
    running.end();
    *lock(&record.group) = None;
    drain(readers).await;
    let exit = match status {
        Ok(status) => backend
            .exit_code(status, &record.tail(5))
            .await
            .map_err(Ended::FailedToStart),
        Err(err) => Err(Ended::Unknown(format!(
            "the runner lost track of the process: {err}"
        ))),
    };
    record.finish(exit);
}

/// Copies the container's stdout and stderr into the task's log, each in a task of its own.
fn read_outputs(record: &Arc<TaskRecord>, running: &mut RunningContainer) -> Vec<JoinHandle<()>> {
    let (stdout, stderr) = running.take_output();
    let mut readers = Vec::new();
    if let Some(stdout) = stdout {
        readers.push(tokio::spawn(read_output(
            record.clone(),
            stdout,
            OutputStream::Stdout,
        )));
    }
    if let Some(stderr) = stderr {
        readers.push(tokio::spawn(read_output(
            record.clone(),
            stderr,
            OutputStream::Stderr,
        )));
    }
    readers
}

/// Lets the output readers finish, within [`DRAIN_TIMEOUT`] each.
async fn drain(readers: Vec<JoinHandle<()>>) {
    for reader in readers {
        let abort = reader.abort_handle();
        if tokio::time::timeout(DRAIN_TIMEOUT, reader).await.is_err() {
            abort.abort();
        }
    }
}

async fn read_output(record: Arc<TaskRecord>, pipe: impl AsyncRead + Unpin, stream: OutputStream) {
    let mut reader = BufReader::new(pipe);
    let mut line = Vec::new();
    while let Ok(true) = process::next_line(&mut reader, &mut line).await {
        record.push_line(stream, String::from_utf8_lossy(&line).into_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_the_newest_lines() {
        let mut log = LogBuffer::default();
        for i in 0..KEPT_LINES + 5 {
            log.push(format!("{i}"));
        }
        assert_eq!(log.lines.len(), KEPT_LINES);
        assert_eq!(log.lines.front().map(String::as_str), Some("5"));
        let mut log = LogBuffer::default();
        let big = "x".repeat(KEPT_BYTES / 2 + 1);
        log.push(big.clone());
        log.push(big.clone());
        log.push("tail".into());
        assert_eq!(log.lines.len(), 2);
        assert!(log.bytes <= KEPT_BYTES);
    }
}
