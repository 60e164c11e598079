//! What `ecs-migrate local` runs: the task definition file, the execution input, the settings
//! the steps get, and the state machine definition rendered with local function ARNs.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::cli::UsageError;
use crate::common::error::{ErrorKind, MigrationError};
use crate::local::taskdef::TaskDefError;
use crate::local::taskdef::{LOCAL_ACCOUNT, LOCAL_REGION};
use crate::local::LocalTaskDefinition;
use crate::migration::settings::{
    Settings, DEFAULT_COMMAND, MAX_POLL_WAIT_SECONDS, MIN_LOCK_LEASE_SECONDS,
};
use crate::ports::ecs::{AwsVpc, Placement};
use crate::statemachine::FunctionArns;

/// Step Functions' largest execution input (256 KiB); a larger event is refused as AWS would.
pub const MAX_INPUT_BYTES: usize = crate::common::files::MAX_EXECUTION_INPUT_BYTES as usize;

/// The cluster name local tasks report.
pub const LOCAL_CLUSTER: &str = "local";

/// Where the steps' functions are locally:
/// `arn:aws:lambda:local:000000000000:function:ecs-migrate-STEP`.
pub fn function_arns() -> FunctionArns {
    FunctionArns::new(LOCAL_REGION, LOCAL_ACCOUNT, "ecs-migrate-")
}

/// Loads the task definition file and picks the migration container. Both failures are usage
/// errors (exit 2) whose message names the field.
pub fn load_task_definition(
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
/// `{"taskdef_arn": FAMILY}`. An unreadable file is a usage error; an input that is not JSON
/// or is larger than Step Functions accepts is the execution's `Migration.InvalidEvent`.
pub fn read_event(
    event: Option<&str>,
    family: &str,
) -> Result<Result<Value, MigrationError>, UsageError> {
    let (text, source) = match event {
        None => return Ok(Ok(json!({ "taskdef_arn": family }))),
        Some("-") => (
            read_limited(std::io::stdin().lock()),
            "standard input".to_string(),
        ),
        Some(path) => {
            let file = std::fs::File::open(path).map_err(|e| {
                UsageError::new(format!(
                    "cannot read event file {path}: {e}; check the path given to --event"
                ))
            })?;
            (read_limited(file), format!("event file {path}"))
        }
    };
    let bytes = text.map_err(|e| UsageError::new(format!("cannot read the {source}: {e}")))?;
    Ok(parse_event(&bytes, &source))
}

fn read_limited(reader: impl Read) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_INPUT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// What to tell the user when the event names the file's family in other words than the file
/// itself: `event names myapp:42; running examples/taskdef.json in its place`. None when the
/// event names just the family, the file's own ARN, or something the execution will refuse.
pub fn stand_in_note(taskdef: &LocalTaskDefinition, input: &Value) -> Option<String> {
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

/// Parses an event's bytes as the execution input.
pub fn parse_event(bytes: &[u8], source: &str) -> Result<Value, MigrationError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(MigrationError::new(ErrorKind::InvalidEvent, format!(
            "the {source} is larger than {MAX_INPUT_BYTES} bytes, Step Functions' limit for an execution input; send only {{\"taskdef_arn\": \"...\"}} or the EventBridge event"
        )));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        MigrationError::new(ErrorKind::InvalidEvent, format!(
            "the {source} is not JSON ({e}); give an EventBridge event or {{\"taskdef_arn\": \"family:revision\"}}"
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
        account_id: taskdef.registered.as_ref().map(|r| r.account.clone()),
        region: taskdef.registered.as_ref().map(|r| r.region.clone()),
        // The engine's own state machine: the step binding fills it in per execution.
        state_machine_arn: None,
        lock_table: None,
        lock_scope: None,
        lock_wait: Duration::from_secs(1800),
        lock_lease: Duration::from_secs(MIN_LOCK_LEASE_SECONDS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events() {
        assert_eq!(
            read_event(None, "app").unwrap().unwrap(),
            json!({"taskdef_arn": "app"})
        );
        let err = parse_event(b"{not json", "event file e.json").unwrap_err();
        assert_eq!(err.name(), "Migration.InvalidEvent");
        assert!(
            err.message().contains("event file e.json is not JSON"),
            "{err}"
        );
        let huge = format!(
            "{{\"taskdef_arn\": \"app\", \"pad\": \"{}\"}}",
            "x".repeat(1 << 20)
        );
        let err = parse_event(huge.as_bytes(), "standard input").unwrap_err();
        assert_eq!(err.name(), "Migration.InvalidEvent");
        let err = read_event(Some("/nonexistent/event.json"), "app").unwrap_err();
        assert!(err.to_string().contains("--event"), "{err}");
    }
}
