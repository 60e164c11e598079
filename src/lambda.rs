//! Running a step as a Lambda function: the wiring every `src/bin/<step>.rs` shares. Clients
//! and settings are built once per cold start; a settings error is returned on every
//! invocation as `Migration.Misconfigured` rather than crashing the runtime.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use chrono::{DateTime, Utc};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

use crate::clock::SystemClock;
use crate::ecs::SdkEcs;
use crate::logs::SdkLogs;
use crate::machine::Step;
use crate::settings::Settings;
use crate::steps::StepEnv;

/// Time kept back from the Lambda deadline for poll-status's last call and its response: more
/// than one call can take ([`OPERATION_TIMEOUT`]).
const DEADLINE_MARGIN: chrono::Duration = chrono::Duration::seconds(20);

/// Bounds on every AWS call, so a hung connection fails the call (and the SDK retries it)
/// instead of running the function into its own timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(15);

/// Serves `step` under the Lambda Runtime API until the runtime stops.
pub async fn serve(step: Step) -> Result<(), lambda_runtime::Error> {
    // JSON when AWS_LAMBDA_LOG_FORMAT=JSON (Terraform sets it), the level from AWS_LAMBDA_LOG_LEVEL.
    lambda_runtime::tracing::init_default_subscriber();
    let settings = Settings::from_env();
    if let Err(err) = &settings {
        tracing::error!(error_type = err.name(), error = %err, "settings are invalid; every invocation will fail");
    }
    let config = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .load()
        .await;
    let ecs = SdkEcs::new(aws_sdk_ecs::Client::new(&config));
    let logs = SdkLogs::new(aws_sdk_cloudwatchlogs::Client::new(&config));
    let clock = SystemClock;

    let settings = &settings;
    let (ecs, logs, clock) = (&ecs, &logs, &clock);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let settings = settings.as_ref().map_err(Clone::clone)?;
        let env = StepEnv {
            settings,
            ecs,
            logs,
            clock,
        };
        let return_by = deadline(&event.context).map(|d| d - DEADLINE_MARGIN);
        let result = step.run(&env, event.payload, return_by).await;
        match &result {
            Ok(_) => tracing::info!(step = step.name(), "step succeeded"),
            Err(err) => {
                tracing::warn!(step = step.name(), error_type = err.name(), cause = %err, "step failed")
            }
        }
        result
    }))
    .await
}

fn deadline(context: &lambda_runtime::Context) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(i64::try_from(context.deadline).ok()?)
}
