//! Running a step as a Lambda function: the wiring the `bootstrap` binary (and every
//! `src/bin/<step>.rs`) shares. Clients and settings are built once per cold start; a settings
//! error is returned on every invocation as `Migration.Misconfigured` rather than crashing the
//! runtime.
//!
//! One `bootstrap` serves all the functions: each function is configured for its step (its
//! handler setting, which Lambda passes to a custom runtime as `_HANDLER`, or
//! `ECS_MIGRATE_STEP`, which Terraform sets too), so the deployments share one binary and
//! one link instead of one each.

pub mod deployment_hook;

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use chrono::{DateTime, Utc};
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::Value;

use crate::common::clock::SystemClock;
use crate::common::error::{ErrorKind, MigrationError};
use crate::migration::settings::Settings;
use crate::migration::steps::reconcile::{
    limits_from_now, metric_line, reconcile, DEFAULT_MAX_CALLS, RECONCILE,
};
use crate::migration::steps::StepEnv;
use crate::ports::deployments::SdkDeployments;
use crate::ports::ecs::SdkEcs;
use crate::ports::executions::SdkExecutions;
use crate::ports::lock::{DynamoDbLockTable, LockTable, UnconfiguredLockTable};
use crate::ports::logs::SdkLogs;
use crate::statemachine::Step;
use deployment_hook::{answer_hook, AdapterConfig, HookAnswer, HookStatus, DEPLOYMENT_HOOK};

/// Time kept back from the Lambda deadline for poll-status's last call and its response: more
/// than one call can take ([`OPERATION_TIMEOUT`]).
const DEADLINE_MARGIN: chrono::Duration = chrono::Duration::seconds(20);

/// Bounds on every AWS call, so a hung connection fails the call (and the SDK retries it)
/// instead of running the function into its own timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(15);

/// The variable naming the step a function serves (Terraform sets it); wins over the handler.
pub(crate) const STEP_VARIABLE: &str = "ECS_MIGRATE_STEP";
/// The function's handler setting, as Lambda passes it to a custom runtime ("Defined runtime
/// environment variables", docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html).
pub(crate) const HANDLER_VARIABLE: &str = "_HANDLER";

/// The step this function is configured for: `ECS_MIGRATE_STEP`, else the handler setting.
pub(crate) fn configured_step(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Step, MigrationError> {
    let names: Vec<&str> = Step::ALL.iter().map(|s| s.name()).collect();
    let (variable, value) = match (lookup(STEP_VARIABLE), lookup(HANDLER_VARIABLE)) {
        (Some(step), _) if !step.trim().is_empty() => (STEP_VARIABLE, step),
        (_, Some(handler)) if !handler.trim().is_empty() => (HANDLER_VARIABLE, handler),
        _ => {
            return Err(MigrationError::new(ErrorKind::Misconfigured, format!(
                "this bootstrap serves one of {}: set the function's handler (or {STEP_VARIABLE}) to the step's name",
                names.join(", ")
            )))
        }
    };
    Step::from_name(value.trim()).ok_or_else(|| {
        MigrationError::new(
            ErrorKind::Misconfigured,
            format!(
                "{variable} is {value:?}, which is no step; use one of {}",
                names.join(", ")
            ),
        )
    })
}

/// The deployment-hook function's state machine (Terraform sets it).
pub(crate) const STATE_MACHINE_VARIABLE: &str = "STATE_MACHINE_ARN";
/// Seconds ECS waits before asking the deployment-hook function again (default 30).
pub(crate) const CALLBACK_DELAY_VARIABLE: &str = "HOOK_CALLBACK_DELAY_SECONDS";
/// Invocations in a row that may fail to read the execution before it answers FAILED.
const MAX_UNREADABLE: u64 = 10;

/// True when this function is the deployment-hook adapter (`ECS_MIGRATE_STEP`, else the
/// handler, is `deployment-hook`).
pub(crate) fn is_deployment_hook(lookup: impl Fn(&str) -> Option<String>) -> bool {
    let named = |variable| lookup(variable).filter(|v: &String| !v.trim().is_empty());
    named(STEP_VARIABLE)
        .or_else(|| named(HANDLER_VARIABLE))
        .is_some_and(|name| name.trim() == DEPLOYMENT_HOOK)
}

/// True when this function is the reconciler (`ECS_MIGRATE_STEP`, else the handler, is
/// `reconcile`).
pub(crate) fn is_reconciler(lookup: impl Fn(&str) -> Option<String>) -> bool {
    let named = |variable| lookup(variable).filter(|v: &String| !v.trim().is_empty());
    named(STEP_VARIABLE)
        .or_else(|| named(HANDLER_VARIABLE))
        .is_some_and(|name| name.trim() == RECONCILE)
}

/// Serves the step this function is configured for ([`configured_step`]), or the
/// deployment-hook adapter; when it is not configured, every invocation fails with
/// `Migration.Misconfigured` saying how to fix it.
pub async fn serve_configured() -> Result<(), lambda_runtime::Error> {
    let lookup = |name: &str| std::env::var(name).ok();
    if is_deployment_hook(lookup) {
        return serve_deployment_hook(adapter_config(lookup)).await;
    }
    if is_reconciler(lookup) {
        return serve_reconciler(reconciler_config(lookup)).await;
    }
    serve_step(configured_step(lookup)).await
}

/// The adapter's settings, or what is wrong with them.
pub(crate) fn adapter_config(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<AdapterConfig, String> {
    let state_machine_arn = lookup(STATE_MACHINE_VARIABLE)
        .filter(|v| v.starts_with("arn:") && v.contains(":stateMachine:"))
        .ok_or_else(|| format!("{STATE_MACHINE_VARIABLE} is not a state machine ARN"))?;
    let call_back_delay = match lookup(CALLBACK_DELAY_VARIABLE) {
        None => 30,
        Some(v) => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|d| (1..=900).contains(d))
            .ok_or_else(|| format!("{CALLBACK_DELAY_VARIABLE} is {v:?}, not 1 to 900"))?,
    };
    Ok(AdapterConfig {
        state_machine_arn,
        call_back_delay,
        max_unreadable: MAX_UNREADABLE,
    })
}

/// Serves the deployment-hook adapter. It answers every invocation with a valid hookStatus:
/// a misconfigured function answers FAILED (ECS rolls the deployment back) and says why in
/// its log.
async fn serve_deployment_hook(
    config: Result<AdapterConfig, String>,
) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    if let Err(problem) = &config {
        tracing::error!(
            problem,
            "deployment-hook is misconfigured; every invocation answers FAILED"
        );
    }
    let executions = SdkExecutions::new(aws_sdk_sfn::Client::new(&sdk_config().await));
    let (config, executions) = (&config, &executions);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let answer = match config {
            Ok(config) => answer_hook(executions, config, event.payload).await,
            Err(problem) => {
                tracing::error!(problem, "answering FAILED");
                HookAnswer {
                    hook_status: HookStatus::Failed,
                    call_back_delay: None,
                    hook_details: None,
                }
            }
        };
        // Plain data: encoding cannot fail, and a FAILED answer stands in if it ever did.
        Ok::<Value, lambda_runtime::Diagnostic>(
            serde_json::to_value(&answer)
                .unwrap_or_else(|_| serde_json::json!({"hookStatus": "FAILED"})),
        )
    }))
    .await
}

/// The SDK configuration every function builds its clients from, with bounded calls.
async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .load()
        .await
}

async fn serve_step(step: Result<Step, MigrationError>) -> Result<(), lambda_runtime::Error> {
    // JSON when AWS_LAMBDA_LOG_FORMAT=JSON (Terraform sets it), the level from AWS_LAMBDA_LOG_LEVEL.
    lambda_runtime::tracing::init_default_subscriber();
    let settings = Settings::from_env();
    if let Err(err) = &settings {
        tracing::error!(error_type = err.name(), error = %err, "settings are invalid; every invocation will fail");
    }
    if let Err(err) = &step {
        tracing::error!(error_type = err.name(), error = %err, "no step is configured; every invocation will fail");
    }
    // The clients are built by the first invocation, not before the runtime asks for work:
    // aws-config's loading and the HTTPS client would otherwise triple the init of a bare
    // lambda_runtime function (benches/cold-start.sh), and an invocation needs them anyway.
    let clients = tokio::sync::OnceCell::new();
    let (settings, step, clients) = (&settings, &step, &clients);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let step = *step.as_ref().map_err(Clone::clone)?;
        let settings = settings.as_ref().map_err(Clone::clone)?;
        let clients = clients.get_or_init(|| Clients::new(settings)).await;
        let env = clients.env(settings);
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

/// The AWS clients the steps run over, built once per cold start.
struct Clients {
    ecs: SdkEcs,
    deployments: SdkDeployments,
    logs: SdkLogs,
    lock: Box<dyn LockTable>,
    executions: SdkExecutions,
}

impl Clients {
    async fn new(settings: &Settings) -> Self {
        let config = sdk_config().await;
        let ecs_client = aws_sdk_ecs::Client::new(&config);
        Self {
            ecs: SdkEcs::new(ecs_client.clone()),
            deployments: SdkDeployments::new(ecs_client),
            logs: SdkLogs::new(aws_sdk_cloudwatchlogs::Client::new(&config)),
            lock: lock_table(Some(settings), &config),
            executions: SdkExecutions::new(aws_sdk_sfn::Client::new(&config)),
        }
    }

    fn env<'a>(&'a self, settings: &'a Settings) -> StepEnv<'a> {
        StepEnv {
            settings,
            ecs: &self.ecs,
            logs: &self.logs,
            clock: &SystemClock,
            lock: self.lock.as_ref(),
            deployments: &self.deployments,
            executions: &self.executions,
        }
    }
}

/// The reconciler's API-call budget per run (default [`DEFAULT_MAX_CALLS`]).
pub(crate) const MAX_CALLS_VARIABLE: &str = "RECONCILE_MAX_CALLS";
/// The longest a reconciler run may take when the Lambda deadline is later.
const RECONCILE_MAX_TIME: Duration = Duration::from_secs(600);

/// How long after an execution ended the reconciler leaves it to its own cleanup (default:
/// the cleanup's longest wait and a minute).
pub(crate) const GRACE_VARIABLE: &str = "RECONCILE_GRACE_SECONDS";

/// The reconciler's own settings: its call budget and its grace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReconcilerConfig {
    pub max_calls: u32,
    pub(crate) grace_seconds: Option<u32>,
}

/// The reconciler's settings from `RECONCILE_MAX_CALLS` and `RECONCILE_GRACE_SECONDS`, or what
/// is wrong with them.
pub(crate) fn reconciler_config(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<ReconcilerConfig, String> {
    let number = |name: &str, range: std::ops::RangeInclusive<u32>| match lookup(name) {
        None => Ok(None),
        Some(v) => v
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| range.contains(n))
            .map(Some)
            .ok_or_else(|| format!("{name} is {v:?}, not {} to {}", range.start(), range.end())),
    };
    Ok(ReconcilerConfig {
        max_calls: number(MAX_CALLS_VARIABLE, 10..=100_000)?.unwrap_or(DEFAULT_MAX_CALLS),
        grace_seconds: number(GRACE_VARIABLE, 0..=86_400)?,
    })
}

/// Serves the reconciler: each invocation (the schedule's; its payload is not read) runs it
/// once within the call budget and the Lambda deadline, writes its counts as an embedded
/// metric format line, and fails when an AWS call failed.
async fn serve_reconciler(
    config: Result<ReconcilerConfig, String>,
) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let settings = Settings::from_env();
    if let Err(err) = &settings {
        tracing::error!(error_type = err.name(), error = %err, "settings are invalid; every invocation will fail");
    }
    // Built by the first invocation, as the steps' are (see `serve_step`).
    let clients = tokio::sync::OnceCell::new();
    let (settings, clients, config) = (&settings, &clients, &config);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let settings = settings.as_ref().map_err(Clone::clone)?;
        let clients = clients.get_or_init(|| Clients::new(settings)).await;
        let config = *config
            .as_ref()
            .map_err(|p| MigrationError::new(ErrorKind::Misconfigured, p.clone()))?;
        let env = clients.env(settings);
        let return_by = deadline(&event.context).map(|d| d - DEADLINE_MARGIN);
        let (calls, grace) = (config.max_calls, config.grace_seconds);
        let limits = limits_from_now(&env, calls, RECONCILE_MAX_TIME, return_by, grace);
        let outcome = reconcile(&env, limits).await;
        let report = match &outcome {
            Ok(report) => report,
            Err(failed) => &failed.report,
        };
        let machine = settings.state_machine_arn.as_deref().unwrap_or_default();
        // The metric line is the log line itself (stdout), as the format requires.
        println!("{}", metric_line(report, machine, Utc::now()));
        tracing::info!(fixes = report.cleanup_fixes(), hooks = report.hook_fixes(), api_calls = report.api_calls, complete = report.complete, left = ?report.left, "reconciler run");
        match outcome {
            Ok(report) => serde_json::to_value(report).map_err(|e| {
                MigrationError::new(ErrorKind::Misconfigured, format!("cannot encode the report: {e}"))
            }),
            Err(failed) => Err(failed.error),
        }
    }))
    .await
}

/// The lock table `LOCK_TABLE` names; without it, one whose every call fails saying so (the
/// steps that need the lock then fail with the message, the others never call it).
fn lock_table(settings: Option<&Settings>, config: &aws_config::SdkConfig) -> Box<dyn LockTable> {
    match settings.and_then(|s| s.lock_table.as_deref()) {
        Some(table) => Box::new(DynamoDbLockTable::new(
            aws_sdk_dynamodb::Client::new(config),
            table,
        )),
        None => Box::new(UnconfiguredLockTable),
    }
}

fn deadline(context: &lambda_runtime::Context) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(i64::try_from(context.deadline).ok()?)
}

/// A step's error as the Lambda runtime reports it: `errorType` is the name Step Functions'
/// Retry and Catch match, `errorMessage` the Cause.
impl From<MigrationError> for lambda_runtime::Diagnostic {
    fn from(err: MigrationError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: err.name().to_string(),
            error_message: err.message().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::error::ErrorKind;

    #[test]
    fn diagnostic_carries_the_stable_name() {
        let d: lambda_runtime::Diagnostic =
            MigrationError::new(ErrorKind::NonZeroExit, "exit code 1").into();
        assert_eq!(d.error_type, "Migration.NonZeroExit");
        assert_eq!(d.error_message, "exit code 1");
    }

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_deployment_hook_is_served_by_name_with_a_state_machine() {
        assert!(is_deployment_hook(lookup(&[(
            "_HANDLER",
            "deployment-hook"
        )])));
        assert!(is_deployment_hook(lookup(&[
            ("ECS_MIGRATE_STEP", "deployment-hook"),
            ("_HANDLER", "bootstrap")
        ])));
        assert!(!is_deployment_hook(lookup(&[
            ("ECS_MIGRATE_STEP", "run-task"),
            ("_HANDLER", "deployment-hook")
        ])));
        let arn = "arn:aws:states:eu-west-1:123456789012:stateMachine:ecs-migrate";
        let config = adapter_config(lookup(&[("STATE_MACHINE_ARN", arn)])).unwrap();
        assert_eq!(config.call_back_delay, 30);
        let err = adapter_config(lookup(&[])).unwrap_err();
        assert!(err.contains("STATE_MACHINE_ARN"), "{err}");
        let err = adapter_config(lookup(&[
            ("STATE_MACHINE_ARN", arn),
            ("HOOK_CALLBACK_DELAY_SECONDS", "0"),
        ]))
        .unwrap_err();
        assert!(err.contains("HOOK_CALLBACK_DELAY_SECONDS"), "{err}");
    }

    #[test]
    fn the_reconciler_is_served_by_name_with_its_budget_and_grace() {
        assert!(is_reconciler(lookup(&[("_HANDLER", "reconcile")])));
        assert!(!is_reconciler(lookup(&[
            ("ECS_MIGRATE_STEP", "stop-task"),
            ("_HANDLER", "reconcile")
        ])));
        let defaults = reconciler_config(lookup(&[])).unwrap();
        assert_eq!(defaults.max_calls, DEFAULT_MAX_CALLS);
        assert_eq!(defaults.grace_seconds, None);
        let set = reconciler_config(lookup(&[
            ("RECONCILE_MAX_CALLS", "40"),
            ("RECONCILE_GRACE_SECONDS", "0"),
        ]))
        .unwrap();
        assert_eq!((set.max_calls, set.grace_seconds), (40, Some(0)));
        let err = reconciler_config(lookup(&[("RECONCILE_MAX_CALLS", "5")])).unwrap_err();
        assert!(
            err.contains("RECONCILE_MAX_CALLS is \"5\", not 10 to 100000"),
            "{err}"
        );
    }

    #[test]
    fn the_step_comes_from_the_variable_or_the_handler() {
        for step in Step::ALL {
            assert_eq!(
                configured_step(lookup(&[("_HANDLER", step.name())])),
                Ok(step)
            );
            assert_eq!(
                configured_step(lookup(&[
                    ("ECS_MIGRATE_STEP", step.name()),
                    ("_HANDLER", "bootstrap")
                ])),
                Ok(step)
            );
        }
        let err = configured_step(lookup(&[("_HANDLER", "bootstrap")])).unwrap_err();
        assert_eq!(err.name(), "Migration.Misconfigured");
        assert!(
            err.message()
                .contains("_HANDLER is \"bootstrap\", which is no step"),
            "{err}"
        );
        let err = configured_step(lookup(&[])).unwrap_err();
        assert!(
            err.message()
                .contains("set the function's handler (or ECS_MIGRATE_STEP)"),
            "{err}"
        );
    }
}
