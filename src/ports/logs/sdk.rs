//! The aws-sdk-cloudwatchlogs adapter of the log port.

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::config::Region;

use super::{LogStream, Logs};
use crate::ports::AwsError;

/// The aws-sdk-cloudwatchlogs adapter. A container may log to another region than the one the
/// function runs in (`awslogs-region`), so clients are built per region from one base config.
#[derive(Debug, Clone)]
pub struct SdkLogs {
    client: aws_sdk_cloudwatchlogs::Client,
}

impl SdkLogs {
    pub fn new(client: aws_sdk_cloudwatchlogs::Client) -> Self {
        Self { client }
    }

    fn client_for(&self, region: Option<&str>) -> aws_sdk_cloudwatchlogs::Client {
        let same_region = self.client.config().region().map(Region::as_ref) == region;
        match region {
            Some(region) if !same_region => aws_sdk_cloudwatchlogs::Client::from_conf(
                self.client
                    .config()
                    .to_builder()
                    .region(Region::new(region.to_string()))
                    .build(),
            ),
            _ => self.client.clone(),
        }
    }
}

#[async_trait]
impl Logs for SdkLogs {
    async fn tail(
        &self,
        stream: &LogStream,
        lines: usize,
    ) -> Result<Option<Vec<String>>, AwsError> {
        const OP: &str = "logs:GetLogEvents";
        let limit = i32::try_from(lines.clamp(1, 10_000)).unwrap_or(10_000);
        let result = self
            .client_for(stream.region.as_deref())
            .get_log_events()
            .log_group_name(&stream.group)
            .log_stream_name(&stream.stream)
            .start_from_head(false)
            .limit(limit)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Some(
                out.events()
                    .iter()
                    .filter_map(|e| e.message())
                    .map(|m| m.trim_end().to_string())
                    .collect(),
            )),
            Err(err) => {
                let err = AwsError::from_sdk(OP, err);
                if err.code.as_deref() == Some("ResourceNotFoundException") {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }
}
