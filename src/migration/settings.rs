//! Settings: what Terraform puts in each function's environment, parsed once at cold start.
//!
//! A missing or malformed value is a `Migration.Misconfigured` error naming the variable; the
//! binaries keep that error and return it on every invocation instead of panicking at start-up.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::common::error::{ErrorKind, MigrationError};
use crate::migration::redact::Redaction;
use crate::ports::ecs::{AwsVpc, CapacityProvider, Placement};

/// The default migration command (the seed project runs alembic).
pub(crate) const DEFAULT_COMMAND: [&str; 3] = ["alembic", "upgrade", "head"];

/// Longest a single poll-status invocation may wait: Lambda's 900 s limit less a margin for the
/// DescribeTasks in flight and the response.
pub(crate) const MAX_POLL_WAIT_SECONDS: u64 = 840;

/// The settings every step shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// `CLUSTER`: the cluster name or ARN migrations run in.
    pub cluster: String,
    /// `CONTAINER_NAME`: the container whose command is overridden and whose exit code counts.
    pub container: String,
    /// `SUBNETS`, `SECURITY_GROUPS`, `ASSIGN_PUBLIC_IP`: the awsvpc network configuration, when
    /// subnets are given.
    pub network: Option<AwsVpc>,
    /// `LAUNCH_TYPE` or `CAPACITY_PROVIDER_STRATEGY` (at most one).
    pub(crate) placement: Placement,
    /// `PLATFORM_VERSION` (Fargate), optional.
    pub(crate) platform_version: Option<String>,
    /// `MIGRATION_COMMAND`: a JSON list of strings.
    pub command: Vec<String>,
    /// `ALLOWED_FAMILIES`: the task definition families this deployment may run.
    pub(crate) allowed_families: Vec<String>,
    /// `DEPLOYMENT_SERVICES`: the services (names or ARNs) whose deployments' hook events may
    /// start a migration; empty refuses every hook event.
    #[serde(default)]
    pub(crate) deployment_services: Vec<String>,
    /// `DEPLOYMENT_HOOK_STAGES`: the lifecycle stages whose PAUSE hooks may start a migration
    /// (PRE_SCALE_UP when unset); a hook waiting elsewhere is refused.
    #[serde(default)]
    pub(crate) deployment_hook_stages: Vec<String>,
    /// `MAX_DURATION_SECONDS`: after this the task is stopped and the execution fails with
    /// `Migration.Timeout`.
    pub max_duration: Duration,
    /// `START_TIMEOUT_SECONDS`: time allowed for the task to reach RUNNING.
    pub(crate) start_timeout: Duration,
    /// `POLL_INTERVAL_SECONDS`: time between DescribeTasks calls inside one poll-status run.
    pub(crate) poll_interval: Duration,
    /// `POLL_MAX_WAIT_SECONDS`: how long one poll-status invocation waits for the task to stop.
    pub(crate) poll_max_wait: Duration,
    /// `MISSING_GRACE_SECONDS`: how long after RunTask a task reported MISSING is still expected
    /// to appear (ECS is eventually consistent).
    pub(crate) missing_grace: Duration,
    /// `LOG_TAIL_LINES`: how many of the container's last log lines a failure's Cause carries.
    pub(crate) log_tail_lines: usize,
    /// `LOG_TAIL_REDACT`: a regular expression whose matches in those lines are masked before
    /// they enter the Cause (and so the execution history, the Lambda log and CI output).
    #[serde(default)]
    pub(crate) log_tail_redact: Redaction,
    /// `ACCOUNT_ID`: the account task definitions must belong to (optional).
    pub(crate) account_id: Option<String>,
    /// `AWS_REGION`: the region task definitions must belong to (optional).
    pub(crate) region: Option<String>,
    /// `STATE_MACHINE_ARN`: the state machine whose RUNNING executions alone make a function
    /// act; every function that changes anything checks its execution against it.
    #[serde(default)]
    pub state_machine_arn: Option<String>,
    /// `LOCK_TABLE`: the DynamoDB table of the migration lock (the Lambda functions' lock
    /// steps need it; `ecs-migrate local` keeps its lock in files instead).
    pub(crate) lock_table: Option<String>,
    /// `LOCK_SCOPE`: what one migration at a time is counted over; unset, the task definition
    /// family. Services that share one database share one scope.
    pub(crate) lock_scope: Option<String>,
    /// `LOCK_WAIT_SECONDS`: how long an execution waits for the lock before failing with
    /// `Migration.Locked`; 0 fails at once.
    pub(crate) lock_wait: Duration,
    /// `LOCK_LEASE_SECONDS`: how long the lock stays its holder's without a renewal (run-task
    /// and every poll round renew it); after that another execution may take it over, once it
    /// has stopped the holder's task.
    pub(crate) lock_lease: Duration,
    /// Where these settings came from, so a message names what the user set.
    #[serde(default)]
    pub(crate) origin: SettingsOrigin,
}

/// Where the settings came from: the functions' environment (Terraform's variables), or
/// `ecs-migrate local`'s flags, whose user typed `--timeout 1`, not MAX_DURATION_SECONDS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum SettingsOrigin {
    #[default]
    Environment,
    LocalFlags,
}

/// The shortest lease: longer than RunTask's capacity waits (120 s) and a Lambda retry or two
/// between renewals.
pub(crate) const MIN_LOCK_LEASE_SECONDS: u64 = 300;

/// What PollStatus's Retry waits between its attempts in all, before it gives up: 5, 10, 20
/// and 40 s, then 60 s (MaxDelaySeconds) for each of the other 16 of its 20 attempts
/// (statemachine/migration.asl.json; tests/static/definition.rs computes it from there).
pub const POLL_RETRY_WINDOW_SECONDS: u64 = 1035;

/// The shortest lease [`Settings::check_lease_outlasts_poll_retries`] accepts with this
/// POLL_MAX_WAIT_SECONDS.
fn shortest_safe_lease(poll_max_wait: u64) -> u64 {
    // lease - min(lease / 3, poll_max_wait) > window, for the smallest whole lease.
    (1..=24 * 3600)
        .find(|lease| lease - (lease / 3).min(poll_max_wait) > POLL_RETRY_WINDOW_SECONDS)
        .unwrap_or(24 * 3600)
}

impl Settings {
    /// `setting MAX_DURATION_SECONDS=3600`, or `--timeout 3600` for `ecs-migrate local`.
    pub(crate) fn max_duration_named(&self) -> String {
        let seconds = self.max_duration.as_secs();
        match self.origin {
            SettingsOrigin::Environment => format!("setting MAX_DURATION_SECONDS={seconds}"),
            SettingsOrigin::LocalFlags => format!("--timeout {seconds}"),
        }
    }

    /// `setting LOCK_WAIT_SECONDS`, or `--lock-wait 0` for `ecs-migrate local`.
    pub(crate) fn lock_wait_named(&self) -> String {
        match self.origin {
            SettingsOrigin::Environment => "setting LOCK_WAIT_SECONDS".to_string(),
            SettingsOrigin::LocalFlags => format!("--lock-wait {}", self.lock_wait.as_secs()),
        }
    }

    /// Reads the process environment: a Lambda function's settings, so the lease must also
    /// outlast the retries Step Functions makes of a failing PollStatus
    /// ([`Settings::check_lease_outlasts_poll_retries`]).
    pub(crate) fn from_env() -> Result<Self, MigrationError> {
        let settings = Self::from_lookup(|name| std::env::var(name).ok())?;
        settings.check_lease_outlasts_poll_retries()?;
        Ok(settings)
    }

    /// A live holder keeps its lease through an outage that PollStatus's Retry rides out: the
    /// longest gap between two renewals is the rest of the invocation after its last renewal
    /// (a third of the lease, at most POLL_MAX_WAIT_SECONDS) and then the Retry's waits
    /// ([`POLL_RETRY_WINDOW_SECONDS`]). A shorter lease lets a waiting execution take over and
    /// stop a healthy migration mid-DDL. Only where Step Functions drives the retries: the local
    /// runner's PollStatus never fails with the Lambda errors they cover.
    pub(crate) fn check_lease_outlasts_poll_retries(&self) -> Result<(), MigrationError> {
        if self.lock_table.is_none() && self.lock_scope.is_none() {
            return Ok(());
        }
        let lease = self.lock_lease.as_secs();
        let last_round = (lease / 3).min(self.poll_max_wait.as_secs());
        if lease.saturating_sub(last_round) > POLL_RETRY_WINDOW_SECONDS {
            return Ok(());
        }
        Err(misconfigured(
            "LOCK_LEASE_SECONDS",
            &format!(
                "is {lease}, shorter than the longest gap between two renewals: {last_round} s of a poll round (a third of the lease, at most POLL_MAX_WAIT_SECONDS={}) and then the {POLL_RETRY_WINDOW_SECONDS} s PollStatus's Retry may wait through an outage; a waiting execution would take over and stop a healthy migration. Set LOCK_LEASE_SECONDS to at least {} (the default is 1800)",
                self.poll_max_wait.as_secs(),
                shortest_safe_lease(self.poll_max_wait.as_secs())
            ),
        ))
    }

    /// Reads settings through `lookup` (the environment, or a map in tests). Empty values count
    /// as unset, as Terraform writes optional variables as "".
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, MigrationError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let get: &Get = &get;

        let cluster = required(get, "CLUSTER", "the ECS cluster name or ARN")?;
        let container = required(get, "CONTAINER_NAME", "the migration container's name")?;
        let timing = Timing::read(get)?;
        let (lock_wait, lock_lease) = lock_times(get, timing.poll_interval)?;
        Ok(Self {
            cluster,
            container,
            network: network(get)?,
            placement: placement(get)?,
            platform_version: get("PLATFORM_VERSION"),
            command: command(get)?,
            allowed_families: allowed_families(get)?,
            deployment_services: optional_list(get, "DEPLOYMENT_SERVICES")?,
            deployment_hook_stages: hook_stages(get)?,
            max_duration: timing.max_duration,
            start_timeout: timing.start_timeout,
            poll_interval: timing.poll_interval,
            poll_max_wait: timing.poll_max_wait,
            missing_grace: timing.missing_grace,
            log_tail_lines: whole_number(get, "LOG_TAIL_LINES", 50, 0, 10_000)? as usize,
            log_tail_redact: redaction(get)?,
            account_id: get("ACCOUNT_ID"),
            region: get("AWS_REGION"),
            state_machine_arn: state_machine_arn(get)?,
            lock_table: get("LOCK_TABLE"),
            lock_scope: get("LOCK_SCOPE"),
            lock_wait,
            lock_lease,
            origin: SettingsOrigin::Environment,
        })
    }
}

/// `LOG_TAIL_REDACT`: a regular expression (Rust `regex` syntax), none when unset.
fn redaction(get: &Get) -> Result<Redaction, MigrationError> {
    let Some(pattern) = get("LOG_TAIL_REDACT") else {
        return Ok(Redaction::default());
    };
    Redaction::pattern(&pattern).map_err(|e| {
        misconfigured(
            "LOG_TAIL_REDACT",
            &format!("is not a regular expression (docs.rs/regex syntax): {e}"),
        )
    })
}

/// How a setting is looked up: `None` when unset or empty.
type Get<'a> = dyn Fn(&str) -> Option<String> + 'a;

/// `SUBNETS`, `SECURITY_GROUPS`, `ASSIGN_PUBLIC_IP`: the awsvpc configuration, when subnets are
/// given.
fn network(get: &Get) -> Result<Option<AwsVpc>, MigrationError> {
    let subnets = get("SUBNETS")
        .map(|v| string_list("SUBNETS", &v))
        .transpose()?;
    let security_groups = optional_list(get, "SECURITY_GROUPS")?;
    let assign_public_ip = match get("ASSIGN_PUBLIC_IP").as_deref() {
        None | Some("DISABLED") => false,
        Some("ENABLED") => true,
        Some(other) => {
            return Err(misconfigured(
                "ASSIGN_PUBLIC_IP",
                &format!("is {other:?}; set it to ENABLED or DISABLED"),
            ))
        }
    };
    if subnets.is_none() && !security_groups.is_empty() {
        return Err(misconfigured(
            "SUBNETS",
            "is not set but SECURITY_GROUPS is; set SUBNETS to a JSON list of subnet ids",
        ));
    }
    Ok(subnets.map(|subnets| AwsVpc {
        subnets,
        security_groups,
        assign_public_ip,
    }))
}

/// `LAUNCH_TYPE` or `CAPACITY_PROVIDER_STRATEGY` (at most one), else the cluster's default.
fn placement(get: &Get) -> Result<Placement, MigrationError> {
    match (get("LAUNCH_TYPE"), get("CAPACITY_PROVIDER_STRATEGY")) {
        (Some(_), Some(_)) => Err(misconfigured(
            "LAUNCH_TYPE",
            "and CAPACITY_PROVIDER_STRATEGY are both set; ECS takes one or the other, so unset one",
        )),
        (Some(launch_type), None) => {
            const KNOWN: [&str; 4] = ["FARGATE", "EC2", "EXTERNAL", "MANAGED_INSTANCES"];
            if !KNOWN.contains(&launch_type.as_str()) {
                return Err(misconfigured(
                    "LAUNCH_TYPE",
                    &format!("is {launch_type:?}; use one of {}", KNOWN.join(", ")),
                ));
            }
            Ok(Placement::LaunchType(launch_type))
        }
        (None, Some(strategy)) => capacity_providers(&strategy),
        (None, None) => Ok(Placement::ClusterDefault),
    }
}

fn capacity_providers(strategy: &str) -> Result<Placement, MigrationError> {
    let providers: Vec<CapacityProvider> = serde_json::from_str(strategy).map_err(|e| {
        misconfigured(
            "CAPACITY_PROVIDER_STRATEGY",
            &format!(
                "is not a JSON list of {{\"capacityProvider\",\"weight\",\"base\"}} objects: {e}"
            ),
        )
    })?;
    if providers.is_empty() {
        return Err(misconfigured(
            "CAPACITY_PROVIDER_STRATEGY",
            "is an empty list; name at least one capacity provider or unset it",
        ));
    }
    Ok(Placement::CapacityProviders(providers))
}

/// `MIGRATION_COMMAND`: a JSON list, never empty; the seed project's alembic by default.
fn command(get: &Get) -> Result<Vec<String>, MigrationError> {
    let command = match get("MIGRATION_COMMAND") {
        // Only JSON: a comma list would turn `alembic upgrade head` into one program name.
        Some(v) if !v.trim_start().starts_with('[') => {
            return Err(misconfigured(
                "MIGRATION_COMMAND",
                "must be a JSON list of strings, one per argument, e.g. [\"alembic\",\"upgrade\",\"head\"]",
            ))
        }
        Some(v) => string_list("MIGRATION_COMMAND", &v)?,
        None => DEFAULT_COMMAND.iter().map(|s| s.to_string()).collect(),
    };
    if command.is_empty() {
        return Err(misconfigured(
            "MIGRATION_COMMAND",
            "is an empty list; give the command as a JSON list, e.g. [\"alembic\",\"upgrade\",\"head\"]",
        ));
    }
    Ok(command)
}

fn allowed_families(get: &Get) -> Result<Vec<String>, MigrationError> {
    let families = optional_list(get, "ALLOWED_FAMILIES")?;
    if families.is_empty() {
        return Err(misconfigured(
            "ALLOWED_FAMILIES",
            "is not set; list the task definition families that may run migrations, e.g. [\"app\"]",
        ));
    }
    Ok(families)
}

fn optional_list(get: &Get, name: &str) -> Result<Vec<String>, MigrationError> {
    match get(name) {
        Some(v) => string_list(name, &v),
        None => Ok(Vec::new()),
    }
}

/// The lifecycle stages where ECS allows a PAUSE hook (Amazon ECS Developer Guide, "Lifecycle
/// hooks for Amazon ECS service deployments"): none at TEST_TRAFFIC_SHIFT or
/// PRODUCTION_TRAFFIC_SHIFT.
pub(crate) const PAUSE_HOOK_STAGES: [&str; 6] = [
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRE_PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
];

/// `DEPLOYMENT_HOOK_STAGES`: where a hook event may start a migration (PRE_SCALE_UP unset).
fn hook_stages(get: &Get) -> Result<Vec<String>, MigrationError> {
    let stages = match get("DEPLOYMENT_HOOK_STAGES") {
        Some(v) => string_list("DEPLOYMENT_HOOK_STAGES", &v)?,
        None => vec!["PRE_SCALE_UP".to_string()],
    };
    if let Some(bad) = stages
        .iter()
        .find(|s| !PAUSE_HOOK_STAGES.contains(&s.as_str()))
    {
        return Err(misconfigured(
            "DEPLOYMENT_HOOK_STAGES",
            &format!(
                "names {bad:?}, where ECS allows no pause hook; use some of {}",
                PAUSE_HOOK_STAGES.join(", ")
            ),
        ));
    }
    Ok(stages)
}

/// `STATE_MACHINE_ARN`: the state machine whose RUNNING executions alone may make a function
/// act (`arn:PARTITION:states:REGION:ACCOUNT:stateMachine:NAME`).
fn state_machine_arn(get: &Get) -> Result<Option<String>, MigrationError> {
    let Some(arn) = get("STATE_MACHINE_ARN") else {
        return Ok(None);
    };
    let parts: Vec<&str> = arn.split(':').collect();
    if parts.len() != 7 || parts[0] != "arn" || parts[2] != "states" || parts[5] != "stateMachine" {
        return Err(misconfigured(
            "STATE_MACHINE_ARN",
            &format!("is {arn:?}, not arn:PARTITION:states:REGION:ACCOUNT:stateMachine:NAME"),
        ));
    }
    Ok(Some(arn))
}

/// The durations of one migration and of its polling.
struct Timing {
    max_duration: Duration,
    start_timeout: Duration,
    poll_interval: Duration,
    poll_max_wait: Duration,
    missing_grace: Duration,
}

impl Timing {
    fn read(get: &Get) -> Result<Self, MigrationError> {
        let poll_interval = seconds(get, "POLL_INTERVAL_SECONDS", 5, 1, 300)?;
        let poll_max_wait = seconds(get, "POLL_MAX_WAIT_SECONDS", 600, 1, MAX_POLL_WAIT_SECONDS)?;
        if poll_max_wait < poll_interval {
            // Shorter than one interval, every poll-status run would be a single DescribeTasks
            // and the state machine would loop without pause.
            return Err(misconfigured(
                "POLL_MAX_WAIT_SECONDS",
                &format!(
                    "is {} but POLL_INTERVAL_SECONDS is {}; it must be at least the interval",
                    poll_max_wait.as_secs(),
                    poll_interval.as_secs()
                ),
            ));
        }
        Ok(Self {
            max_duration: seconds(get, "MAX_DURATION_SECONDS", 3600, 60, 365 * 24 * 3600)?,
            start_timeout: seconds(get, "START_TIMEOUT_SECONDS", 600, 10, 24 * 3600)?,
            poll_interval,
            poll_max_wait,
            missing_grace: seconds(get, "MISSING_GRACE_SECONDS", 60, 0, 3600)?,
        })
    }
}

/// `LOCK_WAIT_SECONDS` and `LOCK_LEASE_SECONDS`; the lease lasts at least two poll rounds.
fn lock_times(get: &Get, poll_interval: Duration) -> Result<(Duration, Duration), MigrationError> {
    let lock_wait = seconds(get, "LOCK_WAIT_SECONDS", 1800, 0, 24 * 3600)?;
    let lock_lease = seconds(
        get,
        "LOCK_LEASE_SECONDS",
        1800,
        MIN_LOCK_LEASE_SECONDS,
        24 * 3600,
    )?;
    if lock_lease < 2 * poll_interval {
        return Err(misconfigured(
            "LOCK_LEASE_SECONDS",
            &format!(
                "is {} but POLL_INTERVAL_SECONDS is {}; the lease must last at least two poll rounds",
                lock_lease.as_secs(),
                poll_interval.as_secs()
            ),
        ));
    }
    Ok((lock_wait, lock_lease))
}

fn misconfigured(name: &str, problem: &str) -> MigrationError {
    MigrationError::new(
        ErrorKind::Misconfigured,
        format!("setting {name} {problem}"),
    )
}

fn required(get: &Get, name: &str, what: &str) -> Result<String, MigrationError> {
    get(name).ok_or_else(|| misconfigured(name, &format!("is not set; set it to {what}")))
}

/// A list given as JSON (`["a","b"]`) or, for hand-set variables, comma-separated (`a,b`).
fn string_list(name: &str, value: &str) -> Result<Vec<String>, MigrationError> {
    let trimmed = value.trim();
    if trimmed.starts_with('[') {
        let items: Vec<String> = serde_json::from_str(trimmed)
            .map_err(|e| misconfigured(name, &format!("is not a JSON list of strings: {e}")))?;
        if items.iter().any(|s| s.trim().is_empty()) {
            return Err(misconfigured(name, "has an empty string in its list"));
        }
        Ok(items)
    } else {
        Ok(trimmed
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect())
    }
}

/// A whole number within `min..=max`, with a default when unset.
fn whole_number(
    get: &Get,
    name: &str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, MigrationError> {
    let Some(raw) = get(name) else {
        return Ok(default);
    };
    let value: u64 = raw.trim().parse().map_err(|_| {
        misconfigured(
            name,
            &format!("is {raw:?}; set it to a whole number from {min} to {max}"),
        )
    })?;
    if !(min..=max).contains(&value) {
        return Err(misconfigured(
            name,
            &format!("is {value}; it must be from {min} to {max}"),
        ));
    }
    Ok(value)
}

/// A number of seconds within `min..=max`, with a default when unset.
fn seconds(
    get: &Get,
    name: &str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<Duration, MigrationError> {
    whole_number(get, name, default, min, max).map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, MigrationError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    const MINIMAL: [(&str, &str); 3] = [
        ("CLUSTER", "prod"),
        ("CONTAINER_NAME", "fastapi"),
        ("ALLOWED_FAMILIES", "[\"app\"]"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        let mut vars = MINIMAL.to_vec();
        vars.extend_from_slice(extra);
        vars
    }

    /// The lease must outlast PollStatus's Retry window plus the rest of a poll round: 900 s
    /// did not (600 s of waits left, against 1,035 s), the 1,800 s default does, and the
    /// shortest accepted lease is the one the message names.
    #[test]
    fn the_lease_outlasts_poll_status_retries() {
        let locked = |extra: &[(&'static str, &'static str)]| {
            let mut vars = with(&[("LOCK_TABLE", "locks")]);
            vars.extend_from_slice(extra);
            settings(&vars).unwrap()
        };
        assert!(locked(&[]).check_lease_outlasts_poll_retries().is_ok());
        let err = locked(&[("LOCK_LEASE_SECONDS", "900")])
            .check_lease_outlasts_poll_retries()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Misconfigured);
        assert!(err.message().contains("LOCK_LEASE_SECONDS is 900"), "{err}");
        assert!(err.message().contains("at least 1553"), "{err}");
        assert!(locked(&[("LOCK_LEASE_SECONDS", "1553")])
            .check_lease_outlasts_poll_retries()
            .is_ok());
        assert!(locked(&[("LOCK_LEASE_SECONDS", "1552")])
            .check_lease_outlasts_poll_retries()
            .is_err());
        // A short poll round leaves a shorter gap: 1,200 - 120 > 1,035.
        assert!(locked(&[
            ("LOCK_LEASE_SECONDS", "1200"),
            ("POLL_MAX_WAIT_SECONDS", "120")
        ])
        .check_lease_outlasts_poll_retries()
        .is_ok());
        // Without a lock there is no lease to lose.
        let unlocked = settings(&with(&[("LOCK_LEASE_SECONDS", "900")])).unwrap();
        assert!(unlocked.check_lease_outlasts_poll_retries().is_ok());
    }

    #[test]
    fn defaults() {
        let s = settings(&MINIMAL).unwrap();
        assert_eq!(s.command, vec!["alembic", "upgrade", "head"]);
        assert_eq!(s.placement, Placement::ClusterDefault);
        assert_eq!(s.network, None);
        assert_eq!(s.max_duration, Duration::from_secs(3600));
        assert_eq!(s.poll_max_wait, Duration::from_secs(600));
        assert_eq!(s.log_tail_lines, 50);
    }

    #[test]
    fn full_configuration() {
        let s = settings(&with(&[
            ("SUBNETS", "[\"subnet-1\",\"subnet-2\"]"),
            ("SECURITY_GROUPS", "sg-1, sg-2"),
            ("ASSIGN_PUBLIC_IP", "ENABLED"),
            (
                "CAPACITY_PROVIDER_STRATEGY",
                "[{\"capacityProvider\":\"FARGATE_SPOT\",\"weight\":1}]",
            ),
            ("MIGRATION_COMMAND", "[\"python\",\"-m\",\"migrate\"]"),
            ("LOG_TAIL_LINES", "20"),
        ]))
        .unwrap();
        assert_eq!(
            s.network,
            Some(AwsVpc {
                subnets: vec!["subnet-1".into(), "subnet-2".into()],
                security_groups: vec!["sg-1".into(), "sg-2".into()],
                assign_public_ip: true,
            })
        );
        assert_eq!(
            s.placement,
            Placement::CapacityProviders(vec![CapacityProvider {
                name: "FARGATE_SPOT".into(),
                weight: 1,
                base: 0
            }])
        );
        assert_eq!(s.command, vec!["python", "-m", "migrate"]);
        assert_eq!(s.log_tail_lines, 20);
    }

    #[test]
    fn every_bad_value_names_its_variable() {
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (
                vec![("CONTAINER_NAME", "x"), ("ALLOWED_FAMILIES", "a")],
                "CLUSTER",
            ),
            (
                vec![("CLUSTER", "c"), ("ALLOWED_FAMILIES", "a")],
                "CONTAINER_NAME",
            ),
            (
                vec![("CLUSTER", "c"), ("CONTAINER_NAME", "x")],
                "ALLOWED_FAMILIES",
            ),
            (with(&[("SUBNETS", "[1,2]")]), "SUBNETS"),
            (with(&[("SECURITY_GROUPS", "sg-1")]), "SUBNETS"),
            (with(&[("ASSIGN_PUBLIC_IP", "yes")]), "ASSIGN_PUBLIC_IP"),
            (
                with(&[
                    ("LAUNCH_TYPE", "FARGATE"),
                    ("CAPACITY_PROVIDER_STRATEGY", "[]"),
                ]),
                "LAUNCH_TYPE",
            ),
            (with(&[("LAUNCH_TYPE", "LAMBDA")]), "LAUNCH_TYPE"),
            (
                with(&[("CAPACITY_PROVIDER_STRATEGY", "{}")]),
                "CAPACITY_PROVIDER_STRATEGY",
            ),
            (
                with(&[("CAPACITY_PROVIDER_STRATEGY", "[]")]),
                "CAPACITY_PROVIDER_STRATEGY",
            ),
            (with(&[("MIGRATION_COMMAND", "[]")]), "MIGRATION_COMMAND"),
            (
                with(&[("MIGRATION_COMMAND", "alembic upgrade head")]),
                "MIGRATION_COMMAND",
            ),
            (
                with(&[("MIGRATION_COMMAND", "[\"a\",")]),
                "MIGRATION_COMMAND",
            ),
            (
                with(&[("MAX_DURATION_SECONDS", "an hour")]),
                "MAX_DURATION_SECONDS",
            ),
            (
                with(&[("MAX_DURATION_SECONDS", "5")]),
                "MAX_DURATION_SECONDS",
            ),
            (
                with(&[("POLL_MAX_WAIT_SECONDS", "900")]),
                "POLL_MAX_WAIT_SECONDS",
            ),
            (
                with(&[("POLL_INTERVAL_SECONDS", "0")]),
                "POLL_INTERVAL_SECONDS",
            ),
            (
                with(&[
                    ("POLL_INTERVAL_SECONDS", "30"),
                    ("POLL_MAX_WAIT_SECONDS", "10"),
                ]),
                "POLL_MAX_WAIT_SECONDS",
            ),
            (with(&[("LOG_TAIL_LINES", "-1")]), "LOG_TAIL_LINES"),
        ];
        for (vars, name) in cases {
            let err = settings(&vars).unwrap_err();
            assert_eq!(err.name(), "Migration.Misconfigured");
            assert!(
                err.message().contains(name),
                "{vars:?}: {} does not name {name}",
                err.message()
            );
        }
    }

    #[test]
    fn log_tail_redact_is_a_regular_expression() {
        let s = settings(&with(&[("LOG_TAIL_REDACT", r"password=\S+")])).unwrap();
        assert_eq!(
            s.log_tail_redact.apply("x password=abc y"),
            "x [redacted] y"
        );
        assert!(!settings(&MINIMAL).unwrap().log_tail_redact.is_active());
        let err = settings(&with(&[("LOG_TAIL_REDACT", "(unclosed")])).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Misconfigured);
        assert!(
            err.message()
                .contains("setting LOG_TAIL_REDACT is not a regular expression"),
            "{err}"
        );
    }
}
