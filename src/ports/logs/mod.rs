//! The log seam: the last lines of a task's container log, over aws-sdk-cloudwatchlogs. The
//! local runner implements the same trait over the output it captured.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::ports::ecs::LogConfiguration;
use crate::ports::AwsError;

mod memory;
mod sdk;

pub use memory::MemoryLogs;
pub use sdk::SdkLogs;

/// Where a container's log lines are: the awslogs driver writes each task's container to
/// `awslogs-stream-prefix/container-name/task-id` in `awslogs-group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogStream {
    pub group: String,
    pub stream: String,
    pub region: Option<String>,
}

impl LogStream {
    /// Derives the stream of `container` in task `task_arn`, or says why it cannot be derived.
    pub fn for_container(
        log: Option<&LogConfiguration>,
        container: &str,
        task_arn: &str,
    ) -> Result<Self, String> {
        let Some(log) = log else {
            return Err(format!("container {container} has no logConfiguration"));
        };
        if log.driver != "awslogs" {
            return Err(format!(
                "container {container} logs with the {} driver, not awslogs",
                log.driver
            ));
        }
        let Some(group) = log.group.clone() else {
            return Err(format!(
                "container {container}'s awslogs configuration has no awslogs-group"
            ));
        };
        let Some(prefix) = log.stream_prefix.as_deref() else {
            return Err(format!(
                "container {container}'s awslogs configuration has no awslogs-stream-prefix, so its stream name cannot be derived"
            ));
        };
        Ok(Self {
            group,
            stream: format!("{prefix}/{container}/{}", task_id(task_arn)),
            region: log.region.clone(),
        })
    }
}

/// The task id: the last part of a task ARN (`arn:...:task/cluster/ID`), or the value itself.
pub fn task_id(task_arn: &str) -> &str {
    task_arn.rsplit('/').next().unwrap_or(task_arn)
}

/// Reading the end of a log stream.
#[async_trait]
pub trait Logs: Send + Sync {
    /// The last `lines` messages of the stream, oldest first; `None` if the stream (or its group)
    /// does not exist.
    async fn tail(&self, stream: &LogStream, lines: usize)
        -> Result<Option<Vec<String>>, AwsError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn awslogs(prefix: Option<&str>) -> LogConfiguration {
        LogConfiguration {
            driver: "awslogs".into(),
            group: Some("/ecs/app".into()),
            region: Some("eu-west-1".into()),
            stream_prefix: prefix.map(str::to_string),
        }
    }

    #[test]
    fn stream_is_prefix_container_task_id() {
        let stream = LogStream::for_container(
            Some(&awslogs(Some("ecs"))),
            "fastapi",
            "arn:aws:ecs:eu-west-1:123456789012:task/prod/0123456789abcdef",
        )
        .unwrap();
        assert_eq!(stream.group, "/ecs/app");
        assert_eq!(stream.stream, "ecs/fastapi/0123456789abcdef");
        assert_eq!(stream.region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn underivable_streams_say_why() {
        let no_prefix = LogStream::for_container(Some(&awslogs(None)), "fastapi", "t").unwrap_err();
        assert!(no_prefix.contains("awslogs-stream-prefix"), "{no_prefix}");
        let none = LogStream::for_container(None, "fastapi", "t").unwrap_err();
        assert!(none.contains("no logConfiguration"), "{none}");
    }
}
