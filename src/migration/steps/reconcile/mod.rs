//! reconcile: the floor under the status-change cleanup. Step Functions' "Execution Status
//! Change" events are best effort, and the cleanup they invoke gets Lambda's two asynchronous
//! retries; a lost event or a failed cleanup leaves a migration task running and its lock held.
//! A scheduled run of this step finds what an ended execution left behind and fixes it:
//!
//! 1. the cluster's RUNNING tasks that ecs-migrate started (`startedBy` `ecs-migrate/...`,
//!    the `ecs-migrate:execution` tag naming the execution) whose execution is no longer
//!    RUNNING (DescribeExecution says so) are stopped;
//! 2. lock items whose holder has ended are released once every task of the holder (the one
//!    the item records, and those ListTasks shows with desiredStatus RUNNING or STOPPED) is
//!    STOPPED;
//! 3. a pause hook still AWAITING_ACTION for an execution that ended without answering it is
//!    answered ROLLBACK.
//!
//! A RUNNING (or PENDING_REDRIVE) execution's task and lock are never touched, and an
//! execution that ended less than [`grace`] ago is left to its own cleanup. Each run is bounded
//! by a number of API calls and a time; what it could not finish is left to the next run.

mod hooks;
mod locks;
mod tasks;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::StepEnv;
use crate::common::clock::later_by;
use crate::common::error::{ErrorKind, MigrationError};
use crate::ports::executions::ExecutionView;

/// The step's name: the function's handler / `ECS_MIGRATE_STEP`, and the CLI's subcommand.
pub(crate) const RECONCILE: &str = "reconcile";

/// API calls one run may make by default (`RECONCILE_MAX_CALLS` in Lambda, `--max-calls`).
pub(crate) const DEFAULT_MAX_CALLS: u32 = 500;

/// How much one run may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconcileLimits {
    /// API calls (ECS, DynamoDB, Step Functions) this run may make.
    pub max_calls: u32,
    /// The run stops starting new work at this time.
    pub until: DateTime<Utc>,
    /// Look and say what would be done, changing nothing.
    pub dry_run: bool,
    /// An execution that ended less than this ago is left to its own cleanup ([`grace`]).
    pub grace: chrono::Duration,
}

/// What a fix was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FixKind {
    StopTask,
    ReleaseLock,
    RollBackHook,
}

/// One thing the run fixed (or, in a dry run, would fix).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub kind: FixKind,
    /// The task ARN, the lock scope or `DEPLOYMENT_ARN#HOOK_ID`.
    pub(crate) target: String,
    /// The ended execution it was left behind by, and its status.
    pub(crate) execution: String,
    pub(crate) execution_status: String,
    /// False in a dry run.
    pub done: bool,
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    pub dry_run: bool,
    pub fixes: Vec<Fix>,
    /// What it saw but left, and why (a task still stopping, an unreadable lock item).
    pub left: Vec<String>,
    /// API calls made.
    pub api_calls: u32,
    /// False when the call or time budget ended the run early.
    pub complete: bool,
}

impl ReconcileReport {
    /// Tasks stopped and locks released: the status-change cleanup's work, so a non-zero count
    /// means an event (or its cleanup) was lost.
    pub(crate) fn cleanup_fixes(&self) -> usize {
        self.count(|k| k != FixKind::RollBackHook)
    }

    /// Pause hooks answered ROLLBACK.
    pub(crate) fn hook_fixes(&self) -> usize {
        self.count(|k| k == FixKind::RollBackHook)
    }

    fn count(&self, keep: impl Fn(FixKind) -> bool) -> usize {
        self.fixes.iter().filter(|f| keep(f.kind)).count()
    }
}

/// Whether an execution still runs, as DescribeExecution says.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Liveness {
    /// RUNNING or PENDING_REDRIVE: its task and lock are its own.
    Live,
    /// Ended with this status (or `GONE`: Step Functions no longer knows it).
    Ended(String),
    /// Ended less than the grace ago: its own cleanup may still be at work.
    JustEnded,
}

/// Why a run stopped early.
enum Halt {
    Budget,
    Failed(MigrationError),
}

impl From<MigrationError> for Halt {
    fn from(err: MigrationError) -> Self {
        Halt::Failed(err)
    }
}

/// One run's state: the budget, what it learned about executions and what it did.
struct Run<'a, 'e> {
    env: &'a StepEnv<'e>,
    limits: ReconcileLimits,
    machine: String,
    report: ReconcileReport,
    /// DescribeExecution's answers, by execution ARN.
    seen: HashMap<String, (Liveness, ExecutionView)>,
    /// Tasks this run stopped, by execution ARN.
    stopped: HashMap<String, Vec<String>>,
}

/// How long after an execution ended its status-change cleanup may still be at work (it
/// waits up to POLL_MAX_WAIT_SECONDS for the tasks to stop, after MISSING_GRACE_SECONDS, and
/// EventBridge and Lambda take a few seconds to start it): the reconciler leaves it alone until
/// then, so it fixes only what the cleanup did not. `RECONCILE_GRACE_SECONDS` /
/// `--grace-seconds` set another.
pub fn grace(settings: &crate::migration::settings::Settings) -> chrono::Duration {
    let waits = settings.poll_max_wait + settings.missing_grace;
    chrono::Duration::from_std(waits).unwrap_or(chrono::Duration::MAX)
        + chrono::Duration::minutes(1)
}

/// A run that ended on an error, with what it had fixed before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub(crate) report: ReconcileReport,
    pub(crate) error: MigrationError,
}

/// Runs the reconciler once within `limits`. A failed AWS call ends the run with the error and
/// what it fixed before.
pub async fn reconcile(
    env: &StepEnv<'_>,
    limits: ReconcileLimits,
) -> Result<ReconcileReport, Failed> {
    let Some(machine) = env.settings.state_machine_arn.clone() else {
        let error = MigrationError::new(
            ErrorKind::Misconfigured,
            "setting STATE_MACHINE_ARN is not set, so the reconciler cannot tell this state machine's executions from others; set it to the state machine's ARN",
        );
        return Err(Failed {
            report: ReconcileReport::default(),
            error,
        });
    };
    let mut run = Run {
        env,
        limits,
        machine,
        report: ReconcileReport {
            dry_run: limits.dry_run,
            complete: true,
            ..ReconcileReport::default()
        },
        seen: HashMap::new(),
        stopped: HashMap::new(),
    };
    let outcome = run.all_phases().await;
    let mut report = run.report;
    match outcome {
        Ok(()) => Ok(report),
        Err(Halt::Budget) => {
            report.complete = false;
            report.left.push(format!(
                "the run's budget ({} API calls, until {}) ended it: the next run goes on",
                limits.max_calls,
                limits.until.to_rfc3339()
            ));
            Ok(report)
        }
        Err(Halt::Failed(error)) => {
            report.complete = false;
            tracing::warn!(fixes = report.fixes.len(), error = %error, "the reconciler stopped on an error");
            Err(Failed { report, error })
        }
    }
}

impl Run<'_, '_> {
    async fn all_phases(&mut self) -> Result<(), Halt> {
        self.stop_orphaned_tasks().await?;
        self.release_ended_locks().await?;
        self.answer_abandoned_hooks().await
    }

    /// Counts `calls` API calls against the budget, or ends the run when they do not fit.
    fn spend(&mut self, calls: u32) -> Result<(), Halt> {
        let over = self.report.api_calls + calls > self.limits.max_calls;
        if over || self.env.clock.now() >= self.limits.until {
            return Err(Halt::Budget);
        }
        self.report.api_calls += calls;
        Ok(())
    }

    fn fixed(&mut self, kind: FixKind, target: &str, execution: &str, status: &str) {
        let fix = Fix {
            kind,
            target: target.to_string(),
            execution: execution.to_string(),
            execution_status: status.to_string(),
            done: !self.limits.dry_run,
        };
        tracing::info!(fix = ?fix.kind, target, execution, status, dry_run = self.limits.dry_run, "reconciler fix: left behind by an ended execution");
        self.report.fixes.push(fix);
    }

    fn leave(&mut self, why: String) {
        tracing::info!(%why, "reconciler left it");
        self.report.left.push(why);
    }

    /// The execution `arn` of this state machine as DescribeExecution shows it (one call the
    /// first time in a run); `None` for an ARN that is not one of this state machine's.
    async fn liveness(&mut self, arn: &str) -> Result<Option<Liveness>, Halt> {
        if let Some((liveness, _)) = self.seen.get(arn) {
            return Ok(Some(liveness.clone()));
        }
        if crate::migration::execution::execution_of(arn, &self.machine).is_none() {
            return Ok(None);
        }
        self.spend(1)?;
        let (liveness, view) = match self.env.executions.describe(arn).await {
            Ok(view) => (self.judge(&view), view),
            // Kept 90 days after it closed: one Step Functions no longer knows ended long ago.
            Err(err) if err.code.as_deref() == Some("ExecutionDoesNotExist") => {
                (Liveness::Ended("GONE".into()), gone(&self.machine))
            }
            Err(err) => return Err(Halt::Failed(describe_failed(arn, err))),
        };
        self.seen.insert(arn.to_string(), (liveness.clone(), view));
        Ok(Some(liveness))
    }

    fn judge(&self, view: &ExecutionView) -> Liveness {
        if matches!(view.status.as_str(), "RUNNING" | "PENDING_REDRIVE") {
            return Liveness::Live;
        }
        let settled = view
            .stop_date
            .is_none_or(|at| later_by_delta(at, self.limits.grace) <= self.env.clock.now());
        if settled {
            Liveness::Ended(view.status.clone())
        } else {
            Liveness::JustEnded
        }
    }
}

fn later_by_delta(at: DateTime<Utc>, by: chrono::Duration) -> DateTime<Utc> {
    at.checked_add_signed(by)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn gone(machine: &str) -> ExecutionView {
    ExecutionView {
        status: "GONE".into(),
        state_machine_arn: machine.to_string(),
        input: None,
        error: None,
        cause: None,
        output: None,
        stop_date: None,
    }
}

fn describe_failed(arn: &str, err: crate::ports::AwsError) -> MigrationError {
    let message = format!("reconcile: DescribeExecution of {arn}: {err}");
    if err.transient {
        MigrationError::new(ErrorKind::AwsTransient, message)
    } else {
        MigrationError::new(ErrorKind::Misconfigured, format!(
            "{message}; grant the reconciler's role states:DescribeExecution on this state machine's executions"
        ))
    }
}

/// The limits of a run that starts now: `max_calls` calls, and `seconds` from now (less when
/// `deadline`, the Lambda deadline less its margin, comes first); the grace is [`grace`]'s
/// unless `grace_seconds` is given.
pub(crate) fn limits_from_now(
    env: &StepEnv<'_>,
    max_calls: u32,
    seconds: std::time::Duration,
    deadline: Option<DateTime<Utc>>,
    grace_seconds: Option<u32>,
) -> ReconcileLimits {
    let until = later_by(env.clock.now(), seconds);
    ReconcileLimits {
        max_calls,
        until: deadline.map_or(until, |d| d.min(until)),
        dry_run: false,
        grace: grace_seconds.map_or_else(
            || grace(env.settings),
            |s| chrono::Duration::seconds(i64::from(s)),
        ),
    }
}

/// The CloudWatch namespace and metric names of the reconciler's embedded-metric-format line.
pub(crate) const METRIC_NAMESPACE: &str = "ecs-migrate";
pub(crate) const FIXES_METRIC: &str = "ReconcilerFixes";
pub(crate) const HOOKS_METRIC: &str = "ReconcilerHookRollbacks";

/// The run's counts as one CloudWatch embedded metric format log line ("Specification:
/// Embedded metric format", Amazon CloudWatch User Guide,
/// docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
/// a Lambda function's stdout goes to its log group, where CloudWatch Logs extracts the
/// metrics, with no SDK call and no extra permission.
pub(crate) fn metric_line(
    report: &ReconcileReport,
    state_machine: &str,
    now: DateTime<Utc>,
) -> String {
    let name = state_machine.rsplit(':').next().unwrap_or(state_machine);
    serde_json::json!({
        "_aws": {
            "Timestamp": now.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": METRIC_NAMESPACE,
                "Dimensions": [["StateMachine"]],
                "Metrics": [
                    {"Name": FIXES_METRIC, "Unit": "Count"},
                    {"Name": HOOKS_METRIC, "Unit": "Count"},
                ],
            }],
        },
        "StateMachine": name,
        FIXES_METRIC: report.cleanup_fixes(),
        HOOKS_METRIC: report.hook_fixes(),
        "dryRun": report.dry_run,
        "apiCalls": report.api_calls,
    })
    .to_string()
}
