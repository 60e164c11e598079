//! The AWS flags every AWS subcommand shares, the SdkConfig they build, and the clients made
//! from it (each counting the HTTP requests it sends, for `--verbose` and the benchmark).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sfn::config::{
    interceptors::BeforeTransmitInterceptorContextRef, ConfigBag, Intercept, ProvideCredentials,
    RuntimeComponents,
};

use super::super::UsageError;
use crate::ports::error_chain;

/// AWS connection flags, shared by `start`, `wait` and `run`.
///
/// Credentials come from the usual chain: the environment (AWS_ACCESS_KEY_ID, ...), the
/// profile (static keys, or `role_arn` with `source_profile`), web identity (CI OIDC), the ECS
/// task role or the EC2 instance role. This build has no SSO or `credential_process` support:
/// for those, export credentials first (`aws configure export-credentials --format env`).
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct AwsFlags {
    /// AWS region [default: the region in the ARN given, else AWS_REGION or the profile's]
    #[arg(long, value_name = "REGION")]
    pub(crate) region: Option<String>,
    /// Named profile from ~/.aws/config and ~/.aws/credentials (static keys or role_arn +
    /// source_profile; not SSO or credential_process) [default: AWS_PROFILE, else "default"]
    #[arg(long, value_name = "NAME")]
    pub(crate) profile: Option<String>,
    /// Send every AWS request to this URL instead of AWS's (a VPC endpoint, or an emulator such
    /// as moto) [default: AWS_ENDPOINT_URL]
    #[arg(long, value_name = "URL")]
    pub(crate) endpoint_url: Option<String>,
}

/// Connect and read timeouts for every call: a hung connection must not hang `wait`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);

impl AwsFlags {
    /// The region the calls go to: `--region`, else the ARN's (an execution can only be read in
    /// its own region), else the environment's or profile's.
    fn region_for(&self, arn_region: Option<&str>) -> Result<Option<String>, UsageError> {
        match (self.region.as_deref(), arn_region) {
            (Some(flag), Some(arn)) if flag != arn => Err(UsageError::new(format!(
                "--region {flag} does not match the ARN's region {arn}: Step Functions only finds it in {arn}; drop --region"
            ))),
            (Some(flag), _) => Ok(Some(flag.to_string())),
            (None, arn) => Ok(arn.map(str::to_string)),
        }
    }

    /// Loads the SdkConfig and checks that there are credentials, so their absence is a usage
    /// error (exit 2) that says what to do, not a failed call later.
    pub(crate) async fn load(&self, arn_region: Option<&str>) -> Result<Aws, UsageError> {
        let region = self.region_for(arn_region)?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .build(),
        );
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = region {
            loader = loader.region(Region::new(region));
        }
        if let Some(url) = &self.endpoint_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(UsageError::new(format!(
                    "--endpoint-url {url:?} is not a URL: give http://HOST:PORT or https://HOST"
                )));
            }
            loader = loader.endpoint_url(url);
        }
        let config = loader.load().await;
        let Some(region) = config.region().map(|r| r.to_string()) else {
            return Err(UsageError::new(
                "no AWS region: pass --region REGION or set AWS_REGION (or give the profile a region)",
            ));
        };
        let Some(provider) = config.credentials_provider() else {
            return Err(no_credentials("no credentials provider", &self.profile));
        };
        if let Err(err) = provider.provide_credentials().await {
            return Err(no_credentials(&error_chain(&err), &self.profile));
        }
        Ok(Aws {
            config,
            region,
            calls: Arc::new(ApiCalls::default()),
        })
    }
}

fn no_credentials(detail: &str, profile: &Option<String>) -> UsageError {
    let profile_hint = match profile {
        Some(p) => format!("check that profile {p:?} has static keys or role_arn + source_profile (SSO and credential_process profiles are not supported: export their credentials with `aws configure export-credentials --profile {p} --format env`)"),
        None => "pass --profile NAME for a profile with static keys or role_arn + source_profile".to_string(),
    };
    UsageError::new(format!(
        "no AWS credentials ({detail}): set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, {profile_hint}, or run with a role (CI OIDC web identity, ECS task role, EC2 instance role)"
    ))
}

/// HTTP requests sent per service, retries included.
#[derive(Debug, Default)]
pub(crate) struct ApiCalls {
    pub(crate) states: AtomicU64,
    pub(crate) logs: AtomicU64,
}

impl ApiCalls {
    pub(crate) fn states(&self) -> u64 {
        self.states.load(Ordering::Relaxed)
    }
    pub(crate) fn logs(&self) -> u64 {
        self.logs.load(Ordering::Relaxed)
    }
}

/// Counts each attempt (each HTTP request) a client makes.
#[derive(Debug, Clone)]
struct CountAttempts {
    calls: Arc<ApiCalls>,
    logs: bool,
}

impl Intercept for CountAttempts {
    fn name(&self) -> &'static str {
        "ecs-migrate::CountAttempts"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_sfn::error::BoxError> {
        let counter = if self.logs {
            &self.calls.logs
        } else {
            &self.calls.states
        };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// The loaded configuration, and the clients the commands use.
#[derive(Debug, Clone)]
pub(crate) struct Aws {
    pub(crate) config: SdkConfig,
    /// The region the Step Functions calls go to.
    pub(crate) region: String,
    pub(crate) calls: Arc<ApiCalls>,
}

impl Aws {
    pub(crate) fn sfn(&self) -> aws_sdk_sfn::Client {
        let conf = aws_sdk_sfn::config::Builder::from(&self.config)
            .interceptor(CountAttempts {
                calls: self.calls.clone(),
                logs: false,
            })
            .build();
        aws_sdk_sfn::Client::from_conf(conf)
    }

    /// A CloudWatch Logs client for `region` (a container may log to another region than the
    /// state machine runs in: `awslogs-region`).
    pub(crate) fn logs(&self, region: Option<&str>) -> aws_sdk_cloudwatchlogs::Client {
        let mut builder = aws_sdk_cloudwatchlogs::config::Builder::from(&self.config).interceptor(
            CountAttempts {
                calls: self.calls.clone(),
                logs: true,
            },
        );
        if let Some(region) = region {
            builder = builder.region(aws_sdk_cloudwatchlogs::config::Region::new(
                region.to_string(),
            ));
        }
        aws_sdk_cloudwatchlogs::Client::from_conf(builder.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_arn_region_wins_unless_the_flag_contradicts_it() {
        let none = AwsFlags::default();
        assert_eq!(
            none.region_for(Some("eu-west-1")).unwrap().as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(none.region_for(None).unwrap(), None);
        let flag = AwsFlags {
            region: Some("eu-west-1".into()),
            ..AwsFlags::default()
        };
        assert_eq!(
            flag.region_for(Some("eu-west-1")).unwrap().as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(flag.region_for(None).unwrap().as_deref(), Some("eu-west-1"));
        let err = flag.region_for(Some("us-east-1")).unwrap_err().to_string();
        assert!(err.contains("drop --region"), "{err}");
    }
}
