//! `ecs-migrate reconcile`: the reconciler the scheduled Lambda function runs, run once from
//! here with the caller's credentials (which need the calls the reconciler's role grants).
//! `--dry-run` looks and says what it would fix, changing nothing.
//!
//! Exit status: 0 the run ended (whatever it fixed; a run its budget ended early says so); 1
//! an AWS call failed (what it fixed before is printed); 2 usage (bad flags, no credentials).

use std::time::Duration;

use chrono::Utc;

use super::aws::arn::StatesArn;
use super::aws::AwsFlags;
use super::printable::printable;
use super::{CommandOutcome, UsageError};
use crate::common::clock::SystemClock;
use crate::migration::settings::Settings;
use crate::migration::steps::reconcile::{
    limits_from_now, reconcile, ReconcileReport, DEFAULT_MAX_CALLS,
};
use crate::migration::steps::StepEnv;
use crate::ports::deployments::SdkDeployments;
use crate::ports::ecs::SdkEcs;
use crate::ports::executions::SdkExecutions;
use crate::ports::lock::DynamoDbLockTable;
use crate::ports::logs::SdkLogs;

#[derive(Debug, clap::Args)]
pub(crate) struct ReconcileArgs {
    /// The migration state machine (the Terraform module's state_machine_arn output)
    #[arg(long, value_name = "ARN")]
    pub(crate) state_machine_arn: String,
    /// The cluster migrations run in (the module's CLUSTER setting)
    #[arg(long, value_name = "NAME")]
    pub(crate) cluster: String,
    /// The DynamoDB lock table (the module's lock_table_name output)
    #[arg(long, value_name = "NAME")]
    pub(crate) table: String,
    /// Services whose deployments' pause hooks run migrations (the module's
    /// DEPLOYMENT_SERVICES), comma-separated: only their hooks are answered
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub(crate) deployment_services: Vec<String>,
    /// Say what would be fixed; stop, release and answer nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// API calls the run may make
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CALLS)]
    pub(crate) max_calls: u32,
    /// Seconds the run may take (it waits for stopped tasks to reach STOPPED within them)
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub(crate) max_seconds: u64,
    /// Leave executions that ended less than this many seconds ago to their own cleanup
    /// [default: POLL_MAX_WAIT_SECONDS + MISSING_GRACE_SECONDS + 60 with the default settings]
    #[arg(long, value_name = "SECONDS")]
    pub(crate) grace_seconds: Option<u32>,
    /// Print one JSON object (the report) instead of text
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) aws: AwsFlags,
}

impl ReconcileArgs {
    /// The settings the reconciler reads, as the Lambda function has them; the timing
    /// settings are the defaults.
    fn settings(&self) -> Result<Settings, UsageError> {
        let services = serde_json::to_string(&self.deployment_services).unwrap_or_default();
        let vars = [
            ("CLUSTER", self.cluster.clone()),
            ("STATE_MACHINE_ARN", self.state_machine_arn.clone()),
            ("LOCK_TABLE", self.table.clone()),
            ("DEPLOYMENT_SERVICES", services),
            // Required by the settings, not read by the reconciler.
            ("CONTAINER_NAME", "-".into()),
            ("ALLOWED_FAMILIES", "[\"-\"]".into()),
        ];
        Settings::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        })
        .map_err(|e| UsageError::new(e.message().to_string()))
    }
}

pub(crate) async fn run(args: ReconcileArgs) -> Result<CommandOutcome, UsageError> {
    let machine = StatesArn::state_machine(&args.state_machine_arn)?;
    let settings = args.settings()?;
    let aws = args.aws.load(Some(&machine.region)).await?;
    let ecs_client = aws_sdk_ecs::Client::new(&aws.config);
    let (ecs, deployments) = (
        SdkEcs::new(ecs_client.clone()),
        SdkDeployments::new(ecs_client),
    );
    let logs = SdkLogs::new(aws_sdk_cloudwatchlogs::Client::new(&aws.config));
    let lock = DynamoDbLockTable::new(aws_sdk_dynamodb::Client::new(&aws.config), &args.table);
    let executions = SdkExecutions::new(aws.sfn());
    let env = StepEnv {
        settings: &settings,
        ecs: &ecs,
        logs: &logs,
        clock: &SystemClock,
        lock: &lock,
        deployments: &deployments,
        executions: &executions,
    };
    let seconds = Duration::from_secs(args.max_seconds);
    let mut limits = limits_from_now(&env, args.max_calls, seconds, None, args.grace_seconds);
    limits.dry_run = args.dry_run;
    let (report, error) = match reconcile(&env, limits).await {
        Ok(report) => (report, None),
        Err(failed) => (failed.report, Some(failed.error)),
    };
    if args.json {
        let mut value = serde_json::to_value(&report).unwrap_or_default();
        value["error"] = error
            .as_ref()
            .map_or(serde_json::Value::Null, |e| e.message().into());
        println!("{value}");
    } else {
        print!("{}", report_text(&report));
    }
    match error {
        None => Ok(CommandOutcome::Succeeded),
        Some(err) => {
            eprintln!(
                "ecs-migrate reconcile: {}: {}",
                err.name(),
                printable(err.message())
            );
            Ok(CommandOutcome::Failed)
        }
    }
}

/// The report as lines a person reads: each fix, what was left and why, and the totals.
pub(crate) fn report_text(report: &ReconcileReport) -> String {
    let verb = |done: bool, now: &'static str, would: &'static str| if done { now } else { would };
    let mut text = String::new();
    for fix in &report.fixes {
        let what = match fix.kind {
            crate::migration::steps::reconcile::FixKind::StopTask => {
                verb(fix.done, "stopped task", "would stop task")
            }
            crate::migration::steps::reconcile::FixKind::ReleaseLock => verb(
                fix.done,
                "released the lock of scope",
                "would release the lock of scope",
            ),
            crate::migration::steps::reconcile::FixKind::RollBackHook => verb(
                fix.done,
                "answered ROLLBACK to hook",
                "would answer ROLLBACK to hook",
            ),
        };
        text.push_str(&format!(
            "{what} {} (execution {} is {})\n",
            printable(&fix.target),
            printable(&fix.execution),
            printable(&fix.execution_status)
        ));
    }
    for why in &report.left {
        text.push_str(&format!("left: {}\n", printable(why)));
    }
    let mode = if report.dry_run {
        " (dry run: nothing changed)"
    } else {
        ""
    };
    let end = if report.complete {
        ""
    } else {
        "; the run ended early, run it again"
    };
    text.push_str(&format!(
        "{} fixed{mode}, {} API calls{end}; at {}\n",
        report.fixes.len(),
        report.api_calls,
        Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ));
    text
}
