//! Following the migration container's log stream: logs:GetLogEvents from the head, then on
//! from each answer's nextForwardToken, so every line is shown once.

use crate::ports::logs::LogStream;
use crate::ports::AwsError;

use super::config::Aws;

/// Pages per read while the execution runs, and for the final drain (each page holds up to
/// 10,000 events or 1 MB).
pub(crate) const PAGES_PER_READ: usize = 10;
pub(crate) const PAGES_PER_DRAIN: usize = 100;

/// GetLogEvents' own bounds on a page: 10,000 events or 1 MB (each event counting its
/// message's bytes plus 26). A page below both is the stream's end, so no extra call is needed
/// to learn that; the margin covers one more event of the largest size (256 KB).
const PAGE_EVENTS: i32 = 10_000;
const PAGE_BYTES_COMPLETE: usize = 1_048_576 - 262_144;

/// What reading the stream came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LogRead {
    /// These lines are new (possibly none).
    Lines(Vec<String>),
    /// The stream does not exist yet (the task has not started logging).
    NotYet,
    /// Reading is not allowed: the lines cannot be shown, the wait goes on.
    Denied(AwsError),
    /// The log group does not exist (not created yet by awslogs-create-group, never created,
    /// or deleted): the wait goes on, and reads again.
    GroupMissing(AwsError),
}

/// Whether a ResourceNotFoundException names the log group (GetLogEvents answers "The
/// specified log group does not exist." for it, "... log stream does not exist." for a stream
/// not created yet:
/// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_GetLogEvents.html).
pub(crate) fn names_missing_group(err: &AwsError) -> bool {
    err.code.as_deref() == Some("ResourceNotFoundException")
        && err.message.to_ascii_lowercase().contains("log group")
}

pub(crate) struct LogFollower {
    aws: Aws,
    stream: Option<LogStream>,
    client: Option<aws_sdk_cloudwatchlogs::Client>,
    next_token: Option<String>,
    pub(crate) lines_shown: u64,
    pub(crate) denied: bool,
}

impl LogFollower {
    pub(crate) fn new(aws: Aws) -> Self {
        Self {
            aws,
            stream: None,
            client: None,
            next_token: None,
            lines_shown: 0,
            denied: false,
        }
    }

    pub(crate) fn stream(&self) -> Option<&LogStream> {
        self.stream.as_ref()
    }

    /// Follows `stream` from its first line (a new stream starts over).
    pub(crate) fn follow(&mut self, stream: LogStream) {
        if self.stream.as_ref() == Some(&stream) {
            return;
        }
        self.client = Some(
            self.aws
                .logs(stream.region.as_deref().or(Some(self.aws.region.as_str()))),
        );
        self.stream = Some(stream);
        self.next_token = None;
    }

    /// Reads what is new, up to `max_pages` pages.
    pub(crate) async fn read(&mut self, max_pages: usize) -> Result<LogRead, AwsError> {
        let (Some(stream), Some(client)) = (&self.stream, &self.client) else {
            return Ok(LogRead::Lines(Vec::new()));
        };
        if self.denied {
            return Ok(LogRead::Lines(Vec::new()));
        }
        let mut lines = Vec::new();
        for _ in 0..max_pages {
            let result = client
                .get_log_events()
                .log_group_name(&stream.group)
                .log_stream_name(&stream.stream)
                .start_from_head(true)
                .limit(PAGE_EVENTS)
                .set_next_token(self.next_token.clone())
                .send()
                .await;
            let out = match result {
                Ok(out) => out,
                Err(err) => {
                    let err = AwsError::from_sdk("logs:GetLogEvents", err);
                    if names_missing_group(&err) && lines.is_empty() {
                        // Read again later: awslogs-create-group makes it when the container
                        // first logs.
                        return Ok(LogRead::GroupMissing(err));
                    }
                    if err.code.as_deref() == Some("ResourceNotFoundException") {
                        return Ok(if lines.is_empty() {
                            LogRead::NotYet
                        } else {
                            LogRead::Lines(lines)
                        });
                    }
                    if err.is_access_denied() {
                        self.denied = true;
                        return Ok(LogRead::Denied(err));
                    }
                    if lines.is_empty() {
                        return Err(err);
                    }
                    // Keep what was read; the next read resumes from the token.
                    break;
                }
            };
            let events = out.events();
            let mut bytes = 0;
            for event in events {
                if let Some(message) = event.message() {
                    bytes += message.len() + 26;
                    lines.extend(
                        message
                            .trim_end()
                            .split('\n')
                            .map(|l| l.trim_end().to_string()),
                    );
                }
            }
            let token = out.next_forward_token().map(str::to_string);
            // The stream's end: the same token back, or a page short of both limits.
            let short_page = events.len() < PAGE_EVENTS as usize && bytes < PAGE_BYTES_COMPLETE;
            let at_end = token.is_none() || token == self.next_token || short_page;
            if token.is_some() {
                self.next_token = token;
            }
            if at_end {
                break;
            }
        }
        self.lines_shown += lines.len() as u64;
        Ok(LogRead::Lines(lines))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudwatchlogs::operation::get_log_events::{
        GetLogEventsError, GetLogEventsOutput,
    };
    use aws_sdk_cloudwatchlogs::types::error::ResourceNotFoundException;
    use aws_sdk_cloudwatchlogs::types::OutputLogEvent;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn follower(client: aws_sdk_cloudwatchlogs::Client) -> LogFollower {
        let aws = Aws {
            config: aws_config::SdkConfig::builder().build(),
            region: "us-east-1".into(),
            calls: Default::default(),
        };
        let mut follower = LogFollower::new(aws);
        follower.follow(LogStream {
            group: "/ecs/app".into(),
            stream: "ecs/app/abc".into(),
            region: None,
        });
        follower.client = Some(client);
        follower
    }

    fn page(messages: &[&str], token: &str) -> GetLogEventsOutput {
        GetLogEventsOutput::builder()
            .set_events(Some(
                messages
                    .iter()
                    .map(|m| OutputLogEvent::builder().message(*m).build())
                    .collect(),
            ))
            .next_forward_token(token)
            .build()
    }

    /// From the head, then from each answer's forward token: every line once, and a page
    /// short of the limits ends the read without another call.
    #[tokio::test]
    async fn each_line_is_read_once() {
        let not_yet = mock!(aws_sdk_cloudwatchlogs::Client::get_log_events).then_error(|| {
            GetLogEventsError::ResourceNotFoundException(
                // As the SDK parses it: the modelled error with its code in the metadata.
                ResourceNotFoundException::builder()
                    .meta(
                        aws_sdk_cloudwatchlogs::error::ErrorMetadata::builder()
                            .code("ResourceNotFoundException")
                            .build(),
                    )
                    .build(),
            )
        });
        let head = mock!(aws_sdk_cloudwatchlogs::Client::get_log_events)
            .match_requests(|r| r.start_from_head() == Some(true) && r.next_token().is_none())
            .then_output(|| page(&["one\n", "two\nthree"], "f/1"));
        let nothing = mock!(aws_sdk_cloudwatchlogs::Client::get_log_events)
            .match_requests(|r| r.next_token() == Some("f/1"))
            .then_output(|| page(&[], "f/1"));
        let more = mock!(aws_sdk_cloudwatchlogs::Client::get_log_events)
            .match_requests(|r| r.next_token() == Some("f/1"))
            .then_output(|| page(&["four"], "f/2"));
        let client = mock_client!(
            aws_sdk_cloudwatchlogs,
            RuleMode::Sequential,
            [&not_yet, &head, &nothing, &more]
        );
        let mut follower = follower(client);
        assert_eq!(follower.read(10).await.unwrap(), LogRead::NotYet);
        assert_eq!(
            follower.read(10).await.unwrap(),
            LogRead::Lines(vec!["one".into(), "two".into(), "three".into()])
        );
        assert_eq!(follower.read(10).await.unwrap(), LogRead::Lines(vec![]));
        assert_eq!(
            follower.read(10).await.unwrap(),
            LogRead::Lines(vec!["four".into()])
        );
        assert_eq!(follower.lines_shown, 4);
        assert_eq!(head.num_calls(), 1);
        assert_eq!(more.num_calls(), 1);
    }

    #[tokio::test]
    async fn access_denied_stops_reading_without_failing() {
        let denied = mock!(aws_sdk_cloudwatchlogs::Client::get_log_events).then_error(|| {
            GetLogEventsError::generic(
                aws_sdk_cloudwatchlogs::error::ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .message("no")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::Sequential, [&denied]);
        let mut follower = follower(client);
        assert!(matches!(
            follower.read(10).await.unwrap(),
            LogRead::Denied(_)
        ));
        assert!(follower.denied);
        assert_eq!(follower.read(10).await.unwrap(), LogRead::Lines(vec![]));
        assert_eq!(denied.num_calls(), 1);
    }

    /// A missing log group is named as such (not taken for a stream not created yet, which
    /// would be waited for in silence); the next read tries again.
    #[tokio::test]
    async fn a_missing_log_group_is_named_and_reading_stops() {
        let missing = mock!(aws_sdk_cloudwatchlogs::Client::get_log_events).then_error(|| {
            GetLogEventsError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("The specified log group does not exist.")
                    .meta(
                        aws_sdk_cloudwatchlogs::error::ErrorMetadata::builder()
                            .code("ResourceNotFoundException")
                            .message("The specified log group does not exist.")
                            .build(),
                    )
                    .build(),
            )
        });
        let created = mock!(aws_sdk_cloudwatchlogs::Client::get_log_events)
            .then_output(|| page(&["first"], "f/1"));
        let client = mock_client!(
            aws_sdk_cloudwatchlogs,
            RuleMode::Sequential,
            [&missing, &created]
        );
        let mut follower = follower(client);
        let read = follower.read(10).await.unwrap();
        let LogRead::GroupMissing(err) = read else {
            panic!("{read:?}");
        };
        assert!(names_missing_group(&err), "{err}");
        assert_eq!(
            follower.read(10).await.unwrap(),
            LogRead::Lines(vec!["first".into()])
        );
    }
}
