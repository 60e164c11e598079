//! What `ecs-migrate local` runs: the task definition file, the execution input, the settings
//! the steps get, and the state machine definition rendered with local function ARNs.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::cli::UsageError;
use crate::common::files::{MAX_EXECUTION_INPUT_BYTES, MAX_INPUT_FILE_BYTES};
use crate::local::taskdef::TaskDefError;
use crate::local::taskdef::{LOCAL_ACCOUNT, LOCAL_REGION};
use crate::local::LocalTaskDefinition;
use crate::migration::settings::{
    Settings, SettingsOrigin, DEFAULT_COMMAND, MAX_POLL_WAIT_SECONDS, MIN_LOCK_LEASE_SECONDS,
};
use crate::ports::ecs::{AwsVpc, Placement};
use crate::statemachine::FunctionArns;

/// The cluster name local tasks report.
pub(crate) const LOCAL_CLUSTER: &str = "local";

/// Where the steps' functions are locally:
/// `arn:aws:lambda:local:000000000000:function:ecs-migrate-STEP`.
pub(crate) fn function_arns() -> FunctionArns {
    FunctionArns::new(LOCAL_REGION, LOCAL_ACCOUNT, "ecs-migrate-")
}

/// Loads the task definition file and picks the migration container. Both failures are usage
/// errors (exit 2) whose message names the field.
pub(crate) fn load_task_definition(
    path: &Path,
    container: Option<&str>,
) -> Result<(LocalTaskDefinition, String), UsageError> {
    let taskdef = LocalTaskDefinition::load(path).map_err(advise)?;
    let name = taskdef.container(container).map_err(advise)?.name.clone();
    Ok((taskdef, name))
}

/// The runner's error in this command's terms: which flag to fix.
fn advise(err: TaskDefError) -> UsageError {
    let advice = match &err {
        TaskDefError::Unreadable { .. } => "; check the path given to --task-definition",
        TaskDefError::UnknownContainer { .. } => "; pass one of those to --container",
        _ => "",
    };
    UsageError::new(format!("{err}{advice}"))
}

/// The execution input: `--event FILE`, `--event -` (standard input), or by default
/// `{"taskdef_arn": FAMILY}`. What StartExecution would refuse before any execution starts
/// (input that is unreadable, not JSON, or over Step Functions' 256 KiB unless `--no-limits`)
/// is a usage error, exit 2, like any other bad file on the command line; JSON the state
/// machine refuses is the execution's `Migration.InvalidEvent`, exit 1.
pub(crate) fn read_event(
    event: Option<&str>,
    family: &str,
    no_limits: bool,
) -> Result<Value, UsageError> {
    let limit = if no_limits {
        MAX_INPUT_FILE_BYTES
    } else {
        MAX_EXECUTION_INPUT_BYTES
    };
    let (bytes, source) = match event {
        None => return Ok(json!({ "taskdef_arn": family })),
        Some("-") => (
            read_limited(std::io::stdin().lock(), limit),
            "standard input".to_string(),
        ),
        Some(path) => {
            let file = std::fs::File::open(path).map_err(|e| {
                UsageError::new(format!(
                    "cannot read event file {path}: {e}; check the path given to --event"
                ))
            })?;
            (read_limited(file, limit), format!("event file {path}"))
        }
    };
    let bytes = bytes.map_err(|e| UsageError::new(format!("cannot read the {source}: {e}")))?;
    parse_event(&bytes, &source, limit)
}

fn read_limited(reader: impl Read, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(limit + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// What to tell the user when the event names the file's family in other words than the file
/// itself: `event names myapp:42; running examples/taskdef.json in its place`. None when the
/// event names just the family, the file's own ARN, or something the execution will refuse.
pub(crate) fn stand_in_note(taskdef: &LocalTaskDefinition, input: &Value) -> Option<String> {
    let named = crate::migration::event::parse_input(input)
        .ok()?
        .task_definition;
    let raw = named.raw.trim();
    if raw == taskdef.family || !taskdef.answers_to(raw) {
        return None;
    }
    match &taskdef.registered {
        Some(registered) if registered.arn == raw => None,
        Some(registered) => Some(format!(
            "event names {raw}; running {} ({})",
            taskdef.path.display(),
            registered.arn
        )),
        None => Some(format!(
            "event names {raw}; running {} in its place",
            taskdef.path.display()
        )),
    }
}

/// Parses an event's bytes (at most `limit + 1` of them were read) as the execution input.
pub(crate) fn parse_event(bytes: &[u8], source: &str, limit: u64) -> Result<Value, UsageError> {
    if bytes.len() as u64 > limit {
        return Err(UsageError::new(if limit == MAX_EXECUTION_INPUT_BYTES {
            format!(
                "the {source} is larger than {limit} bytes (256 KiB), Step Functions' limit for an execution input, which StartExecution would refuse; send only {{\"taskdef_arn\": \"...\"}} or the EventBridge event, or pass --no-limits to run it here anyway"
            )
        } else {
            format!("the {source} is larger than {limit} bytes, the most --event reads even with --no-limits")
        }));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        UsageError::new(format!(
            "the {source} is not JSON ({e}); give --event an EventBridge event or {{\"taskdef_arn\": \"family:revision\"}}"
        ))
    })
}

/// The settings the steps run with locally: cluster `local`, the chosen container, the command
/// (`-- COMMAND`, else `alembic upgrade head`), the file's family as the only allowed one,
/// the account and region of the file's own ARN when it has one (else the event's account and
/// region are not checked: the file stands in for the family wherever it is registered),
/// `--timeout` as the maximum duration, and short poll intervals (the
/// runner wakes the poller as soon as a task changes anyway). A task definition with awsvpc
/// networking gets a placeholder subnet: the local runner has no network to configure.
pub fn settings(
    taskdef: &LocalTaskDefinition,
    container: &str,
    timeout: Duration,
    command: &[String],
) -> Settings {
    let network = (taskdef.network_mode.as_deref() == Some("awsvpc")).then(|| AwsVpc {
        subnets: vec!["subnet-local".to_string()],
        security_groups: Vec::new(),
        assign_public_ip: false,
    });
    Settings {
        cluster: LOCAL_CLUSTER.to_string(),
        container: container.to_string(),
        network,
        placement: Placement::ClusterDefault,
        platform_version: None,
        command: if command.is_empty() {
            DEFAULT_COMMAND.iter().map(|s| s.to_string()).collect()
        } else {
            command.to_vec()
        },
        allowed_families: vec![taskdef.family.clone()],
        deployment_services: Vec::new(),
        deployment_hook_stages: vec!["PRE_SCALE_UP".to_string()],
        max_duration: timeout,
        start_timeout: Duration::from_secs(120),
        poll_interval: Duration::from_secs(1),
        poll_max_wait: Duration::from_secs(MAX_POLL_WAIT_SECONDS),
        missing_grace: Duration::from_secs(10),
        log_tail_lines: 50,
        log_tail_redact: Default::default(),
        account_id: taskdef.registered.as_ref().map(|r| r.account.clone()),
        region: taskdef.registered.as_ref().map(|r| r.region.clone()),
        // The engine's own state machine: the step binding fills it in per execution.
        state_machine_arn: None,
        lock_table: None,
        lock_scope: None,
        lock_wait: Duration::from_secs(1800),
        lock_lease: Duration::from_secs(MIN_LOCK_LEASE_SECONDS),
        origin: SettingsOrigin::LocalFlags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events() {
        assert_eq!(
            read_event(None, "app", false).unwrap(),
            json!({"taskdef_arn": "app"})
        );
        let err = parse_event(b"{not json", "event file e.json", 100).unwrap_err();
        assert!(
            err.to_string().contains("event file e.json is not JSON"),
            "{err}"
        );
        let huge = format!(
            "{{\"taskdef_arn\": \"app\", \"pad\": \"{}\"}}",
            "x".repeat(1 << 20)
        );
        let err =
            parse_event(huge.as_bytes(), "standard input", MAX_EXECUTION_INPUT_BYTES).unwrap_err();
        assert!(err.to_string().contains("--no-limits"), "{err}");
        // --no-limits reads it.
        assert_eq!(
            parse_event(huge.as_bytes(), "standard input", MAX_INPUT_FILE_BYTES).unwrap()
                ["taskdef_arn"],
            "app"
        );
        let err = read_event(Some("/nonexistent/event.json"), "app", false).unwrap_err();
        assert!(err.to_string().contains("--event"), "{err}");
    }
}
