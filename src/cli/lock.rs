//! `ecs-migrate lock status|release`: who holds a scope's migration lock, and the escape hatch
//! for a lock whose migration is gone.
//!
//! On AWS (`--table`) the lock is the DynamoDB table the Terraform module creates, and the
//! holder's task is looked up in ECS (DescribeTasks; ListTasks by `startedBy` when RunTask's
//! answer was never recorded). Locally (`--lock-dir`, the default) it is `ecs-migrate local`'s
//! lock files; a local run's task is another process's, so its lease, which the run renews
//! every poll round, stands for it, and once the lease ended, the runner pid and task process
//! group the lock file records (a suspended run renews nothing while its task may run on).
//!
//! `release` never removes a newer holder's lock: it deletes the item only if it is still held
//! by the holder it read (a conditional delete).
//!
//! Exit status: 0 the status was shown, or the lock was released (or was free); 1 release
//! refused (the holder's task still runs, or could not be checked, and no `--force`), the lock
//! changed hands meanwhile, or the table could not be read or written; 2 usage (bad flags, no
//! credentials).

use std::path::PathBuf;

use chrono::{DateTime, SecondsFormat, Utc};
use clap::Subcommand;
use serde_json::{json, Value};

use super::aws::output::duration_words;
use super::aws::AwsFlags;
use super::printable::printable;
use super::{CommandOutcome, UsageError};
use crate::migration::lease::holder_tasks;
use crate::ports::ecs::{Ecs, LastStatus, SdkEcs, TaskLookup, STOPPED_TASK_RETENTION};
use crate::ports::lock::{DynamoDbLockTable, FileLockTable, LockError, LockItem, LockTable};

#[derive(Debug, Subcommand)]
pub(crate) enum LockCommand {
    /// Show who holds the scope's lock: the execution, its migration, since when, until when
    /// its lease runs, and (on AWS) whether its task still runs. Exit 0 when shown (held or
    /// free), 1 when the lock cannot be read, 2 for usage errors.
    Status(StatusArgs),
    /// Release the scope's lock when its migration is gone. Refuses (exit 1) while the holder's
    /// task still runs (locally: while its lease lasts, or while the runner or task process
    /// group its lock file records lives) unless --force; deletes the lock only if
    /// it is still the holder's it read. Exit 0 when released (or already free).
    Release(ReleaseArgs),
}

/// Which lock: the scope, and the table that holds it.
#[derive(Debug, Clone, clap::Args)]
// The shared AWS flags' --region help speaks of an execution ARN these commands do not take.
#[command(mut_arg("region", |arg| arg.help(
    "The lock table's AWS region [default: AWS_REGION, else the profile's]"
)))]
pub(crate) struct LockTarget {
    /// The lock scope: LOCK_SCOPE / the Terraform module's `lock_scope`, or else the task
    /// definition family
    #[arg(long, value_name = "SCOPE")]
    pub(crate) scope: String,
    /// The DynamoDB lock table (the Terraform module's lock_table_name output): the lock on AWS
    #[arg(long, value_name = "NAME", conflicts_with = "lock_dir")]
    pub(crate) table: Option<String>,
    /// The directory of `ecs-migrate local`'s lock files [default: $ECS_MIGRATE_LOCK_DIR, else
    /// $XDG_STATE_HOME/ecs-migrate/locks, else ~/.local/state/ecs-migrate/locks]
    #[arg(long, value_name = "DIR")]
    pub(crate) lock_dir: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) aws: AwsFlags,
}

#[derive(Debug, clap::Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    pub(crate) target: LockTarget,
    /// Print one JSON object (scope, held, holder, task) instead of text
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ReleaseArgs {
    #[command(flatten)]
    pub(crate) target: LockTarget,
    /// Release even though the holder's task still runs (or could not be checked, or, locally,
    /// its lease lasts or its run's processes live): another migration of the scope may then
    /// start beside it
    #[arg(long)]
    pub(crate) force: bool,
}

/// Where the lock is, and how its holder's task can be seen.
struct Opened {
    table: Box<dyn LockTable>,
    /// ECS, on AWS; `None` for the local lock files.
    ecs: Option<SdkEcs>,
    /// The local lock files, which also record the holder's runner and task process group.
    files: Option<FileLockTable>,
    /// What to call the table in messages.
    describe: String,
}

impl LockTarget {
    async fn open(&self) -> Result<Opened, UsageError> {
        if self.scope.trim().is_empty() {
            return Err(UsageError::new(
                "--scope is empty: give the lock scope (LOCK_SCOPE, or the task definition family)",
            ));
        }
        let Some(table) = &self.table else {
            let aws = &self.aws;
            if aws.region.is_some() || aws.profile.is_some() || aws.endpoint_url.is_some() {
                return Err(UsageError::new(
                    "--region, --profile and --endpoint-url are for the DynamoDB lock table: pass --table NAME with them (without --table the lock is ecs-migrate local's lock files)",
                ));
            }
            let dir = self
                .lock_dir
                .clone()
                .unwrap_or_else(|| FileLockTable::default_dir(|name| std::env::var(name).ok()));
            let files = FileLockTable::new(dir);
            return Ok(Opened {
                describe: format!("lock directory {}", files.dir().display()),
                table: Box::new(files.clone()),
                ecs: None,
                files: Some(files),
            });
        };
        let aws = self.aws.load(None).await?;
        Ok(Opened {
            describe: format!("DynamoDB table {table} ({})", aws.region),
            table: Box::new(DynamoDbLockTable::new(
                aws_sdk_dynamodb::Client::new(&aws.config),
                table,
            )),
            ecs: Some(SdkEcs::new(aws_sdk_ecs::Client::new(&aws.config))),
            files: None,
        })
    }
}

pub(crate) async fn run(command: LockCommand) -> Result<CommandOutcome, UsageError> {
    match command {
        LockCommand::Status(args) => {
            let opened = args.target.open().await?;
            let ecs = opened.ecs.as_ref().map(|e| e as &dyn Ecs);
            Ok(status(
                opened.table.as_ref(),
                ecs,
                opened.files.as_ref(),
                &args.target.scope,
                &opened.describe,
                args.json,
                Utc::now(),
            )
            .await)
        }
        LockCommand::Release(args) => {
            let opened = args.target.open().await?;
            let ecs = opened.ecs.as_ref().map(|e| e as &dyn Ecs);
            Ok(release(
                opened.table.as_ref(),
                ecs,
                opened.files.as_ref(),
                &args.target.scope,
                &opened.describe,
                args.force,
                Utc::now(),
            )
            .await)
        }
    }
}

/// Whether the holder's task still runs, as far as can be seen from here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HolderTask {
    /// ECS reports it, not yet STOPPED.
    Running {
        task_arn: String,
        last_status: String,
    },
    /// STOPPED, no longer known to ECS, or none found by the holder's `startedBy`.
    NotRunning { detail: String },
    /// A local run's task: another process's, not visible from here.
    Unchecked,
    /// A local run whose lock file records a runner or task process group that still has a
    /// process (`why` names it and what to do): suspended or hung, its migration may still run.
    LocalAlive { why: String },
    /// ECS could not be asked.
    CheckFailed { error: String },
}

/// Looks the holder's tasks up in ECS: the task the item records and the tasks listed by the
/// `startedBy` the holder gave RunTask, with desiredStatus RUNNING and STOPPED (a task being
/// stopped drains while listed only with STOPPED), the set a takeover waits for
/// ([`holder_tasks`]). The first that is not STOPPED is the one that runs.
pub(crate) async fn holder_task(ecs: Option<&dyn Ecs>, item: &LockItem) -> HolderTask {
    let Some(ecs) = ecs else {
        return HolderTask::Unchecked;
    };
    let tasks = match holder_tasks(ecs, item, &[]).await {
        Ok(tasks) => tasks,
        Err(err) => {
            return HolderTask::CheckFailed {
                error: err.message().to_string(),
            }
        }
    };
    let mut stopped = Vec::new();
    for task_arn in tasks {
        match one_task(ecs, item, task_arn).await {
            HolderTask::NotRunning { detail } => stopped.push(detail),
            other => return other,
        }
    }
    HolderTask::NotRunning {
        detail: match stopped.is_empty() {
            true => format!(
                "no task recorded, and none listed with startedBy {} (desiredStatus RUNNING or STOPPED)",
                item.started_by
            ),
            false => stopped.join("; "),
        },
    }
}

/// One of the holder's tasks, as DescribeTasks shows it.
async fn one_task(ecs: &dyn Ecs, item: &LockItem, task_arn: String) -> HolderTask {
    match ecs.describe_task(&item.cluster, &task_arn).await {
        Ok(TaskLookup::Found(task))
            if !matches!(task.last_status, LastStatus::Stopped | LastStatus::Deleted) =>
        {
            let stopping = task.desired_status == Some(LastStatus::Stopped);
            HolderTask::Running {
                task_arn,
                last_status: match stopping {
                    true => format!(
                        "{} (being stopped: desiredStatus STOPPED)",
                        task.last_status
                    ),
                    false => task.last_status.to_string(),
                },
            }
        }
        Ok(TaskLookup::Found(task)) => HolderTask::NotRunning {
            detail: match task.stopped_at {
                Some(at) => format!("{task_arn} is {} since {}", task.last_status, time(at)),
                None => format!("{task_arn} is {}", task.last_status),
            },
        },
        // MISSING proves the task gone only once it cannot be a task too new to show: the task
        // was recorded before the lease ended, and ECS keeps a STOPPED task at least an hour
        // (the same rule as `crate::migration::lease::wait_until_holder_stopped`). A task only
        // listed is no recorded one: ECS lists it, so it is there.
        Ok(TaskLookup::Missing { reason })
            if item.task_arn.as_deref() == Some(task_arn.as_str())
                && Utc::now() >= item.lease_until + STOPPED_TASK_RETENTION =>
        {
            HolderTask::NotRunning {
                detail: format!("{task_arn} is no longer known to ECS ({reason})"),
            }
        }
        Ok(TaskLookup::Missing { reason }) => HolderTask::Running {
            task_arn,
            last_status: format!(
                "{reason}: ECS does not show it (a task just started is not shown yet)"
            ),
        },
        Err(err) => HolderTask::CheckFailed {
            error: err.to_string(),
        },
    }
}

/// [`holder_task`], and for the local lock files, once the lease ended, whether the processes
/// the holder's lock file records still live ([`FileLockTable::suspended_holder`], the rule a
/// takeover applies): a suspended run renews nothing, so its lease ends while its task may
/// still run. During the lease the run renewing it stands for its task.
async fn local_or_ecs_task(
    ecs: Option<&dyn Ecs>,
    files: Option<&FileLockTable>,
    item: &LockItem,
    now: DateTime<Utc>,
) -> HolderTask {
    let files = files.filter(|_| item.expired_at(now));
    match files.map(|files| files.suspended_holder(&item.scope)) {
        Some(Ok(Some(why))) => HolderTask::LocalAlive { why },
        Some(Err(err)) => HolderTask::CheckFailed { error: err.message },
        _ => holder_task(ecs, item).await,
    }
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `in 3m02s` or `4m10s ago`.
fn relative(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let seconds = (t - now).num_seconds();
    if seconds >= 0 {
        format!("in {}", duration_words(seconds))
    } else {
        format!("{} ago", duration_words(-seconds))
    }
}

fn failed(what: &str, scope: &str, describe: &str, err: &LockError) -> CommandOutcome {
    crate::cli::print::stderr_line(&format!(
        "ecs-migrate: {what} the lock of scope {} in {describe}: {}",
        printable(scope),
        printable(&err.message)
    ));
    CommandOutcome::Failed
}

/// `ecs-migrate lock status`.
pub(crate) async fn status(
    table: &dyn LockTable,
    ecs: Option<&dyn Ecs>,
    files: Option<&FileLockTable>,
    scope: &str,
    describe: &str,
    as_json: bool,
    now: DateTime<Utc>,
) -> CommandOutcome {
    let item = match table.get(scope).await {
        Ok(item) => item,
        Err(err) => return failed("reading", scope, describe, &err),
    };
    let task = match &item {
        Some(item) => Some(local_or_ecs_task(ecs, files, item, now).await),
        None => None,
    };
    if as_json {
        crate::cli::print::stdout_line(&format!(
            "{}",
            status_json(scope, item.as_ref(), task.as_ref(), now)
        ));
        return CommandOutcome::Succeeded;
    }
    match (&item, &task) {
        (Some(item), Some(task)) => crate::cli::print::stdout_text(&status_text(item, task, now)),
        _ => crate::cli::print::stdout_line(&format!(
            "scope {}: free (no migration holds the lock in {describe})",
            printable(scope)
        )),
    }
    CommandOutcome::Succeeded
}

/// The holder, as `status` prints it.
fn status_text(item: &LockItem, task: &HolderTask, now: DateTime<Utc>) -> String {
    let name = item.execution_name.as_deref().unwrap_or("(unnamed)");
    let lease = if item.expired_at(now) {
        format!(
            "ended {} ({}): the next execution may take over once it has stopped the task",
            time(item.lease_until),
            relative(item.lease_until, now)
        )
    } else {
        format!(
            "until {} ({})",
            time(item.lease_until),
            relative(item.lease_until, now)
        )
    };
    let task_line = match task {
        HolderTask::Running {
            task_arn,
            last_status,
        } => format!("{task_arn}: {last_status}, still runs"),
        HolderTask::NotRunning { detail } => format!("not running: {detail}"),
        HolderTask::LocalAlive { why } => format!("still runs: {why}"),
        HolderTask::Unchecked => format!(
            "{} (a local run's task: not visible from here; its run renews the lease every poll round)",
            item.task_arn.as_deref().unwrap_or("not started yet")
        ),
        HolderTask::CheckFailed { error } => format!(
            "{}: could not check whether it runs ({error})",
            item.task_arn.as_deref().unwrap_or("unknown")
        ),
    };
    let lines = [
        format!("scope {}: held", item.scope),
        format!("  execution  {name} ({})", item.holder),
        format!("  migration  {} ({})", item.migration(), item.taskdef_arn),
        format!(
            "  since      {} ({})",
            time(item.since),
            relative(item.since, now)
        ),
        format!("  lease      {lease}"),
        format!("  task       {task_line}"),
    ];
    lines
        .iter()
        .map(|l| format!("{}\n", printable(l)))
        .collect()
}

fn status_json(
    scope: &str,
    item: Option<&LockItem>,
    task: Option<&HolderTask>,
    now: DateTime<Utc>,
) -> Value {
    let holder = item.map(|item| {
        json!({
            "execution": item.holder,
            "executionName": item.execution_name,
            "migration": item.migration(),
            "taskDefinitionArn": item.taskdef_arn,
            "cluster": item.cluster,
            "startedBy": item.started_by,
            "since": time(item.since),
            "leaseUntil": time(item.lease_until),
            "leaseExpired": item.expired_at(now),
            "taskArn": item.task_arn,
        })
    });
    let task = task.map(|task| match task {
        HolderTask::Running {
            task_arn,
            last_status,
        } => json!({"state": "RUNNING", "taskArn": task_arn, "lastStatus": last_status}),
        HolderTask::NotRunning { detail } => json!({"state": "NOT_RUNNING", "detail": detail}),
        HolderTask::LocalAlive { why } => json!({"state": "RUNNING", "detail": why}),
        HolderTask::Unchecked => json!({"state": "UNCHECKED",
            "detail": "a local run's task is not visible from here; its lease stands for it"}),
        HolderTask::CheckFailed { error } => json!({"state": "CHECK_FAILED", "detail": error}),
    });
    json!({
        "scope": scope,
        "held": item.is_some(),
        "holder": holder,
        "task": task,
    })
}

/// Whether `release` may delete the lock, and what it must say when it does.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Decision {
    Release { warning: Option<String> },
    Refuse(String),
}

fn decide(item: &LockItem, task: &HolderTask, now: DateTime<Utc>, force: bool) -> Decision {
    let name = item.execution_name.as_deref().unwrap_or(&item.holder);
    let refusal = match task {
        HolderTask::NotRunning { .. } => None,
        HolderTask::Running {
            task_arn,
            last_status,
        } => Some((
            format!(
                "the holder's task {task_arn} is still {last_status} in cluster {cluster}: stop it first (aws ecs stop-task --cluster {cluster} --task {task_arn}), or abort execution {name} (aws stepfunctions stop-execution --execution-arn {holder}: the deployment's cleanup stops its task and releases the lock)",
                cluster = item.cluster,
                holder = item.holder,
            ),
            format!("its task {task_arn} still runs ({last_status})"),
        )),
        HolderTask::CheckFailed { error } => Some((
            format!("could not check whether the holder's task still runs ({error}); check it in the ECS console"),
            "its task could not be checked".to_string(),
        )),
        HolderTask::LocalAlive { why } => Some((
            why.clone(),
            "its local run's processes still live".to_string(),
        )),
        HolderTask::Unchecked if item.expired_at(now) => None,
        HolderTask::Unchecked => Some((
            format!(
                "its lease lasts until {} ({}), and its `ecs-migrate local` run renews it every poll round, so that run is probably still going: stop it (Ctrl-C releases the lock), or wait until the lease ends",
                time(item.lease_until),
                relative(item.lease_until, now)
            ),
            "its lease had not ended".to_string(),
        )),
    };
    match (refusal, force) {
        (None, _) => Decision::Release { warning: None },
        (Some((why, _)), false) => Decision::Refuse(format!(
            "not released: {why}; or pass --force to release it anyway"
        )),
        (Some((_, what)), true) => Decision::Release {
            warning: Some(format!(
                "{what}: another migration of this scope may now start beside it"
            )),
        },
    }
}

/// `ecs-migrate lock release`.
pub(crate) async fn release(
    table: &dyn LockTable,
    ecs: Option<&dyn Ecs>,
    files: Option<&FileLockTable>,
    scope: &str,
    describe: &str,
    force: bool,
    now: DateTime<Utc>,
) -> CommandOutcome {
    let item = match table.get(scope).await {
        Ok(Some(item)) => item,
        Ok(None) => {
            crate::cli::print::stdout_line(&format!(
                "scope {}: no migration holds the lock in {describe}; nothing to release",
                printable(scope)
            ));
            return CommandOutcome::Succeeded;
        }
        Err(err) if force => return delete_unreadable(table, scope, describe, &err).await,
        Err(err) => return failed("reading", scope, describe, &err),
    };
    let task = local_or_ecs_task(ecs, files, &item, now).await;
    let holder = format!(
        "execution {} ({}), migration {} since {}",
        item.execution_name.as_deref().unwrap_or("(unnamed)"),
        item.holder,
        item.migration(),
        time(item.since)
    );
    let warning = match decide(&item, &task, now, force) {
        Decision::Refuse(why) => {
            crate::cli::print::stderr_line(&format!(
                "ecs-migrate: scope {}: held by {}: {}",
                printable(scope),
                printable(&holder),
                printable(&why)
            ));
            return CommandOutcome::Failed;
        }
        Decision::Release { warning } => warning,
    };
    // Conditional on the holder read above: a lock taken since then is never removed.
    match table.release(scope, &item.holder).await {
        Ok(true) => {
            crate::cli::print::stdout_line(&format!(
                "scope {}: released the lock held by {}",
                printable(scope),
                printable(&holder)
            ));
            match (&warning, &task) {
                (Some(warning), _) => {
                    crate::cli::print::stdout_line(&format!("  warning: {}", printable(warning)))
                }
                (None, HolderTask::NotRunning { detail }) => {
                    crate::cli::print::stdout_line(&format!("  its task: {}", printable(detail)))
                }
                (None, _) => crate::cli::print::stdout_line(&format!(
                    "  its lease had ended {}",
                    time(item.lease_until)
                )),
            }
            CommandOutcome::Succeeded
        }
        Ok(false) => {
            crate::cli::print::stderr_line(&format!(
                "ecs-migrate: scope {}: not released: the lock is no longer held by {} (it was released or taken over meanwhile); run `ecs-migrate lock status` again",
                printable(scope),
                printable(&holder)
            ));
            CommandOutcome::Failed
        }
        Err(err) => failed("releasing", scope, describe, &err),
    }
}

/// `release --force` on an item that cannot be read as a lock item: deletes it (only if it
/// is still the unreadable item) and says what it deleted.
async fn delete_unreadable(
    table: &dyn LockTable,
    scope: &str,
    describe: &str,
    read_error: &LockError,
) -> CommandOutcome {
    match table.delete_unreadable(scope).await {
        Ok(Some(deleted)) => {
            println!(
                "scope {}: deleted {} with --force: it was not a lock item this version can read",
                printable(scope),
                printable(&deleted)
            );
            CommandOutcome::Succeeded
        }
        // Readable after all (rewritten meanwhile) or gone: the first error stands.
        Ok(None) => failed("reading", scope, describe, read_error),
        Err(err) => failed("deleting the unreadable item of", scope, describe, &err),
    }
}

#[cfg(test)]
mod tests {
    use async_trait::async_trait;

    use super::*;
    use crate::ports::lock::{Expected, MemoryLockTable};

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    /// `lock status|release --region` takes no ARN, so its help names none.
    #[test]
    fn region_help_speaks_of_the_lock_table_not_an_arn() {
        use clap::CommandFactory;
        let cli = crate::cli::Cli::command();
        let lock = cli.find_subcommand("lock").unwrap();
        for name in ["status", "release"] {
            let region = lock
                .find_subcommand(name)
                .unwrap()
                .get_arguments()
                .find(|a| a.get_id() == "region")
                .unwrap();
            let help = region.get_help().unwrap().to_string();
            assert!(help.contains("lock table"), "{name}: {help}");
            assert!(!help.contains("ARN"), "{name}: {help}");
        }
        // start, wait and run keep the ARN's region.
        let wait = cli.find_subcommand("wait").unwrap();
        let region = wait
            .get_arguments()
            .find(|a| a.get_id() == "region")
            .unwrap();
        assert!(region.get_help().unwrap().to_string().contains("ARN"));
    }

    fn item(holder: &str, lease_until: i64) -> LockItem {
        LockItem {
            scope: "app".into(),
            holder: format!("arn:aws:states:eu-west-1:123456789012:execution:m:{holder}"),
            execution_name: Some(holder.into()),
            client_token: "token".into(),
            taskdef_arn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/app:7".into(),
            family: "app".into(),
            revision: 7,
            cluster: "prod".into(),
            started_by: format!("ecs-migrate/{holder}"),
            task_arn: Some("arn:aws:ecs:eu-west-1:123456789012:task/prod/abc".into()),
            since: at(0),
            lease_until: at(lease_until),
        }
    }

    fn running() -> HolderTask {
        HolderTask::Running {
            task_arn: "arn:aws:ecs:eu-west-1:123456789012:task/prod/abc".into(),
            last_status: "RUNNING".into(),
        }
    }

    #[test]
    fn a_running_task_refuses_unless_forced() {
        let held = item("a", 900);
        let Decision::Refuse(why) = decide(&held, &running(), at(100), false) else {
            panic!("released while the task runs");
        };
        for needle in [
            "task/prod/abc is still RUNNING",
            "aws ecs stop-task --cluster prod --task arn:aws:ecs:eu-west-1:123456789012:task/prod/abc",
            "aws stepfunctions stop-execution --execution-arn arn:aws:states:eu-west-1:123456789012:execution:m:a",
            "--force",
        ] {
            assert!(why.contains(needle), "{needle}: {why}");
        }
        let Decision::Release { warning: Some(w) } = decide(&held, &running(), at(100), true)
        else {
            panic!("--force must release, with a warning");
        };
        assert!(w.contains("still runs"), "{w}");
        // An expired lease does not make a running task's lock free.
        assert!(matches!(
            decide(&held, &running(), at(5_000), false),
            Decision::Refuse(_)
        ));
    }

    #[test]
    fn locally_the_lease_stands_for_the_task() {
        let held = item("a", 900);
        let Decision::Refuse(why) = decide(&held, &HolderTask::Unchecked, at(100), false) else {
            panic!("released during the lease");
        };
        assert!(why.contains("lease lasts until"), "{why}");
        assert_eq!(
            decide(&held, &HolderTask::Unchecked, at(901), false),
            Decision::Release { warning: None }
        );
        let failed = HolderTask::CheckFailed {
            error: "AccessDenied".into(),
        };
        assert!(matches!(
            decide(&held, &failed, at(5_000), false),
            Decision::Refuse(_)
        ));
        let stopped = HolderTask::NotRunning {
            detail: "STOPPED".into(),
        };
        assert_eq!(
            decide(&held, &stopped, at(100), false),
            Decision::Release { warning: None }
        );
    }

    /// A table whose lock changes hands between `release`'s read and its delete.
    struct TakenOverMeanwhile(MemoryLockTable);

    #[async_trait]
    impl LockTable for TakenOverMeanwhile {
        async fn get(&self, scope: &str) -> Result<Option<LockItem>, LockError> {
            let seen = self.0.get(scope).await?;
            let newer = item("b", 9_000);
            let takeover = Expected::Expired {
                holder: &item("a", 0).holder,
                now: at(1_000),
            };
            assert!(self.0.put(&newer, takeover).await?, "the takeover");
            Ok(seen)
        }
        async fn put(&self, item: &LockItem, expected: Expected<'_>) -> Result<bool, LockError> {
            self.0.put(item, expected).await
        }
        async fn renew(
            &self,
            scope: &str,
            holder: &str,
            lease_until: DateTime<Utc>,
            task_arn: Option<&str>,
        ) -> Result<bool, LockError> {
            self.0.renew(scope, holder, lease_until, task_arn).await
        }
        async fn release(&self, scope: &str, holder: &str) -> Result<bool, LockError> {
            self.0.release(scope, holder).await
        }
    }

    #[tokio::test]
    async fn a_newer_holders_lock_is_never_released() {
        let memory = MemoryLockTable::new();
        assert!(memory.put(&item("a", 900), Expected::Free).await.unwrap());
        let table = TakenOverMeanwhile(memory.clone());
        // a's lease ended and its run is gone (local: unchecked, lease over): release goes on,
        // but b took the lock over in between.
        let outcome = release(&table, None, None, "app", "test", false, at(1_000)).await;
        assert_eq!(outcome, CommandOutcome::Failed);
        let kept = memory.get("app").await.unwrap().expect("b's lock is kept");
        assert_eq!(kept.execution_name.as_deref(), Some("b"));
    }

    #[tokio::test]
    async fn free_scopes_release_nothing_and_say_so() {
        let memory = MemoryLockTable::new();
        assert_eq!(
            release(&memory, None, None, "app", "test", false, at(0)).await,
            CommandOutcome::Succeeded
        );
        assert_eq!(
            status(&memory, None, None, "app", "test", true, at(0)).await,
            CommandOutcome::Succeeded
        );
        let json = status_json("app", None, None, at(0));
        assert_eq!(json["held"], false);
        assert_eq!(json["holder"], Value::Null);
    }

    #[test]
    fn status_names_the_holder_its_lease_and_its_task() {
        let held = item("a", 900);
        let text = status_text(&held, &running(), at(600));
        for needle in [
            "scope app: held",
            "execution  a (arn:aws:states:eu-west-1:123456789012:execution:m:a)",
            "migration  app:7 (arn:aws:ecs:eu-west-1:123456789012:task-definition/app:7)",
            "since      2027-01-15T08:00:00.000Z (10m00s ago)",
            "lease      until 2027-01-15T08:15:00.000Z (in 5m00s)",
            "task/prod/abc: RUNNING, still runs",
        ] {
            assert!(text.contains(needle), "{needle}:\n{text}");
        }
        let expired = status_text(&held, &running(), at(1_000));
        assert!(expired.contains("lease      ended"), "{expired}");
        let json = status_json("app", Some(&held), Some(&running()), at(1_000));
        assert_eq!(json["holder"]["leaseExpired"], true);
        assert_eq!(json["holder"]["migration"], "app:7");
        assert_eq!(json["task"]["state"], "RUNNING");
    }
}
