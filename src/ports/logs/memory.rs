//! CloudWatch Logs in memory, for the scenarios: streams by group and name, and the ways the
//! awslogs driver and CloudWatch Logs fall short of a complete, immediate log.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{LogStream, Logs};
use crate::common::clock::Clock;
use crate::common::sync::lock;
use crate::ports::AwsError;

/// A stand-in for CloudWatch Logs' GetLogEvents
/// (<https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html>):
/// - a stream is found by its exact group and name; any other name is
///   `ResourceNotFoundException` (here `None`, as [`Logs::tail`] says), so a container that
///   logs under another stream than the one derived has no tail;
/// - the awslogs driver ships lines asynchronously ("Using the awslogs log driver",
///   <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/using_awslogs.html>): a line
///   is readable only [`MemoryLogs::with_delay`] after the container wrote it;
/// - in `non-blocking` mode the driver drops lines when its buffer is full (same page, `mode`
///   and `max-buffer-size`): [`MemoryLogs::dropping_every`] loses lines;
/// - a call fails on request ([`MemoryLogs::fail_next`]): `ThrottlingException`,
///   `AccessDeniedException` (GetLogEvents "Errors"; throttling is transient).
pub struct MemoryLogs {
    clock: Arc<dyn Clock>,
    state: Mutex<LogState>,
}

/// A stream's lines, each with the time CloudWatch Logs has it.
type Lines = Vec<(DateTime<Utc>, String)>;

#[derive(Default)]
struct LogState {
    /// (group, stream) -> its lines.
    streams: HashMap<(String, String), Lines>,
    delay: chrono::Duration,
    drop_every: Option<usize>,
    written: usize,
    faults: VecDeque<String>,
}

impl MemoryLogs {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            state: Mutex::default(),
        }
    }

    /// Lines written from now on reach CloudWatch Logs `delay` after they were written.
    pub fn with_delay(self, delay: chrono::Duration) -> Self {
        lock(&self.state).delay = delay;
        self
    }

    /// Every `n`th line written from now on is lost on the way.
    pub fn dropping_every(self, n: usize) -> Self {
        lock(&self.state).drop_every = Some(n.max(1));
        self
    }

    /// The container writes `line` to `group`/`stream` at `at`.
    pub fn write(&self, group: &str, stream: &str, at: DateTime<Utc>, line: &str) {
        let mut state = lock(&self.state);
        state.written += 1;
        if state
            .drop_every
            .is_some_and(|n| state.written.is_multiple_of(n))
        {
            return;
        }
        let arrives = at + state.delay;
        state
            .streams
            .entry((group.to_string(), stream.to_string()))
            .or_default()
            .push((arrives, line.to_string()));
    }

    /// The next GetLogEvents fails with `code`.
    pub fn fail_next(&self, code: &str) {
        lock(&self.state).faults.push_back(code.to_string());
    }
}

#[async_trait]
impl Logs for MemoryLogs {
    async fn tail(
        &self,
        stream: &LogStream,
        lines: usize,
    ) -> Result<Option<Vec<String>>, AwsError> {
        const OP: &str = "logs:GetLogEvents";
        let now = self.clock.now();
        let mut state = lock(&self.state);
        if let Some(code) = state.faults.pop_front() {
            let mut err = AwsError::permanent(OP, Some(&code), "injected by the test");
            err.transient = err.is_throttling();
            return Err(err);
        }
        let key = (stream.group.clone(), stream.stream.clone());
        let Some(all) = state.streams.get(&key) else {
            return Ok(None);
        };
        let arrived: Vec<String> = all
            .iter()
            .filter(|(at, _)| *at <= now)
            .map(|(_, line)| line.clone())
            .collect();
        Ok(Some(
            arrived[arrived.len().saturating_sub(lines)..].to_vec(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::clock::VirtualClock;

    fn stream(name: &str) -> LogStream {
        LogStream {
            group: "/ecs/app".into(),
            stream: name.into(),
            region: None,
        }
    }

    #[tokio::test]
    async fn lines_arrive_late_get_lost_and_are_found_by_exact_name() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let clock = Arc::new(VirtualClock::starting_at(t0));
        let logs = MemoryLogs::new(clock.clone())
            .with_delay(chrono::Duration::seconds(10))
            .dropping_every(3);
        for (n, line) in ["a", "b", "c", "d"].iter().enumerate() {
            logs.write(
                "/ecs/app",
                "ecs/app/1",
                t0 + chrono::Duration::seconds(n as i64),
                line,
            );
        }
        assert_eq!(
            logs.tail(&stream("ecs/app/1"), 10).await.unwrap(),
            Some(vec![])
        );
        clock.advance(std::time::Duration::from_secs(11));
        assert_eq!(
            logs.tail(&stream("ecs/app/1"), 10).await.unwrap(),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        clock.advance(std::time::Duration::from_secs(2));
        // "c" was dropped.
        assert_eq!(
            logs.tail(&stream("ecs/app/1"), 2).await.unwrap(),
            Some(vec!["b".to_string(), "d".to_string()])
        );
        assert_eq!(logs.tail(&stream("ecs/other/1"), 10).await.unwrap(), None);
        logs.fail_next("ThrottlingException");
        let err = logs.tail(&stream("ecs/app/1"), 10).await.unwrap_err();
        assert!(err.transient && err.is_throttling(), "{err}");
    }
}
