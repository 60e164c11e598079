//! Starting an execution: its name, its input, and StartExecution's idempotency.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::super::UsageError;
use super::arn::StatesArn;
use super::config::Aws;
use crate::migration::event::{parse_taskdef, TaskDefRef};
use crate::ports::executions::{execution_arn, Executions, SdkExecutions, StartError};
use crate::ports::AwsError;

/// Step Functions' limit on execution names.
pub(crate) const MAX_NAME_LEN: usize = 80;

/// What `start` will do (or, with `--dry-run`, would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StartPlan {
    pub(crate) state_machine: StatesArn,
    pub(crate) task_definition: TaskDefRef,
    pub(crate) name: String,
    /// The execution input, exactly as sent: the same task definition always gives the same
    /// text, so a repeated start is recognised as the same execution.
    pub(crate) input: String,
}

/// A started (or already running) execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Started {
    pub(crate) execution_arn: String,
    pub(crate) start_date: Option<DateTime<Utc>>,
}

impl StartPlan {
    /// Checks the flags without calling AWS: the state machine ARN, the task definition
    /// reference (the rules validate-event applies), the name.
    pub(crate) fn new(
        state_machine_arn: &str,
        task_definition: &str,
        name: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self, UsageError> {
        let state_machine = StatesArn::state_machine(state_machine_arn)?;
        let task_definition = parse_taskdef(task_definition, "--task-definition").map_err(|e| {
            UsageError::new(format!(
                "{e}; pass --task-definition as an ARN, FAMILY:REVISION or FAMILY"
            ))
        })?;
        // validate-event refuses a task definition from another account or region
        // (Migration.NotAllowed); say so before starting anything.
        if let Some(region) = &task_definition.region {
            if *region != state_machine.region {
                return Err(UsageError::new(format!(
                    "--task-definition is in {region} but the state machine is in {}: migrations run in the state machine's region; register the task definition there",
                    state_machine.region
                )));
            }
        }
        if let Some(account) = &task_definition.account {
            if *account != state_machine.account {
                return Err(UsageError::new(format!(
                    "--task-definition belongs to account {account} but the state machine to {}: migrations run in the state machine's account",
                    state_machine.account
                )));
            }
        }
        let name = match name {
            Some(name) => {
                check_name(name)?;
                name.to_string()
            }
            None => default_name(&task_definition, now),
        };
        let input = json!({ "taskdef_arn": task_definition.raw.trim() }).to_string();
        Ok(Self {
            state_machine,
            task_definition,
            name,
            input,
        })
    }

    /// StartExecution. The same name and input as a running execution returns that execution
    /// (Step Functions' idempotency for standard workflows); a name already used otherwise is a
    /// usage error that says which case it is.
    pub(crate) async fn start(&self, aws: &Aws) -> Result<Started, UsageError> {
        let executions = SdkExecutions::new(aws.sfn());
        match executions
            .start(&self.state_machine.raw, &self.name, &self.input)
            .await
        {
            Ok(started) => Ok(Started {
                execution_arn: started.execution_arn,
                start_date: started.start_date,
            }),
            Err(StartError::AlreadyExists) => Err(self.already_exists(&executions).await),
            Err(StartError::Aws(err)) => Err(start_error(&err, &self.state_machine.raw)),
        }
    }

    /// Tells apart the two ways a name can already be taken.
    async fn already_exists(&self, executions: &dyn Executions) -> UsageError {
        let arn = execution_arn(&self.state_machine.raw, &self.name);
        let Ok(existing) = executions.describe(&arn).await else {
            return UsageError::new(format!(
                "an execution named {:?} already exists ({arn}); pass another --name, or leave --name out (the default name carries the time)",
                self.name
            ));
        };
        let same_input = existing
            .input
            .as_deref()
            .and_then(|i| serde_json::from_str::<Value>(i).ok())
            == serde_json::from_str::<Value>(&self.input).ok();
        if same_input {
            UsageError::new(format!(
                "execution {:?} already ran with this task definition and ended {}; see its result with `ecs-migrate wait {arn}`, or start a new one with another --name",
                self.name,
                existing.status
            ))
        } else {
            UsageError::new(format!(
                "an execution named {:?} already exists with different input ({}); pass another --name, or leave --name out (the default name carries the time)",
                self.name,
                existing.input.as_deref().unwrap_or("unknown")
            ))
        }
    }
}

/// A StartExecution failure, worded for what to do next.
fn start_error(err: &AwsError, state_machine_arn: &str) -> UsageError {
    let hint = match err.code.as_deref() {
        Some("StateMachineDoesNotExist") => format!(
            "no state machine {state_machine_arn}: check --state-machine-arn (the Terraform module's state_machine_arn output) and the account your credentials are for"
        ),
        Some("StateMachineDeleting") => {
            format!("state machine {state_machine_arn} is being deleted")
        }
        Some("ExecutionLimitExceeded") => {
            "too many executions are running in this account; try again when some have ended"
                .to_string()
        }
        _ if err.is_access_denied() => format!(
            "not allowed to start executions of {state_machine_arn}: the caller needs states:StartExecution on it (and states:DescribeExecution, states:GetExecutionHistory, states:StopExecution and logs:GetLogEvents to wait)"
        ),
        _ if err.transient => {
            "could not reach Step Functions after retries: check --endpoint-url, --region and the network, or try again".to_string()
        }
        _ => "could not start the execution".to_string(),
    };
    UsageError::new(format!("{hint} ({err})"))
}

/// `FAMILY-REVISION-YYYYMMDDTHHMMSSZ` (or `FAMILY-latest-...` for a bare family), within
/// Step Functions' 80 characters and using only characters every name rule accepts.
pub(crate) fn default_name(task_definition: &TaskDefRef, now: DateTime<Utc>) -> String {
    let revision = task_definition
        .revision
        .map(|r| r.to_string())
        .unwrap_or_else(|| "latest".to_string());
    let suffix = format!("-{revision}-{}", now.format("%Y%m%dT%H%M%SZ"));
    let family: String = task_definition
        .family
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(MAX_NAME_LEN - suffix.len())
        .collect();
    format!("{family}{suffix}")
}

/// Step Functions' execution name rules: 1 to 80 characters, none of whitespace, brackets,
/// wildcards, `"#%\^|~`$&,;:/` or control characters.
pub(crate) fn check_name(name: &str) -> Result<(), UsageError> {
    let len = name.chars().count();
    if len == 0 || len > MAX_NAME_LEN {
        return Err(UsageError::new(format!(
            "--name {} is {len} characters long; an execution name has 1 to {MAX_NAME_LEN}",
            crate::common::echo::echo(name)
        )));
    }
    const FORBIDDEN: &str = "<>{}[]?*\"#%\\^|~`$&,;:/";
    if let Some(bad) = name
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || FORBIDDEN.contains(*c))
    {
        return Err(UsageError::new(format!(
            "--name {name:?} contains {bad:?}; an execution name may not contain whitespace, control characters or any of {FORBIDDEN} (letters, digits, - and _ are safe)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:migrate";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 25, 13, 5, 1).unwrap()
    }

    #[test]
    fn default_names_carry_family_revision_and_time() {
        let plan = StartPlan::new(MACHINE, "app:42", None, now()).unwrap();
        assert_eq!(plan.name, "app-42-20261125T130501Z");
        assert_eq!(plan.input, r#"{"taskdef_arn":"app:42"}"#);
        let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/app_api:7";
        let plan = StartPlan::new(MACHINE, arn, None, now()).unwrap();
        assert_eq!(plan.name, "app_api-7-20261125T130501Z");
        assert_eq!(plan.input, format!(r#"{{"taskdef_arn":"{arn}"}}"#));
        let plan = StartPlan::new(MACHINE, "app", None, now()).unwrap();
        assert_eq!(plan.name, "app-latest-20261125T130501Z");
    }

    #[test]
    fn long_families_are_cut_to_fit_eighty_characters() {
        let family = "f".repeat(255);
        let plan = StartPlan::new(MACHINE, &format!("{family}:123456"), None, now()).unwrap();
        assert_eq!(plan.name.len(), MAX_NAME_LEN);
        assert!(
            plan.name.ends_with("-123456-20261125T130501Z"),
            "{}",
            plan.name
        );
        check_name(&plan.name).unwrap();
    }

    #[test]
    fn given_names_are_checked_not_rewritten() {
        let plan = StartPlan::new(MACHINE, "app:1", Some("ci-run-981"), now()).unwrap();
        assert_eq!(plan.name, "ci-run-981");
        for bad in ["", "a b", "a/b", "x:y", "tab\there", &"n".repeat(81)] {
            let err = StartPlan::new(MACHINE, "app:1", Some(bad), now()).unwrap_err();
            assert!(err.to_string().contains("--name"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn task_definitions_follow_validate_event_rules() {
        for bad in [
            "",
            "app:0",
            "app:x",
            "a pp",
            "arn:aws:ecs:us-east-1:123456789012:task-definition/app",
        ] {
            let err = StartPlan::new(MACHINE, bad, None, now()).unwrap_err();
            assert!(
                err.to_string().contains("--task-definition"),
                "{bad:?}: {err}"
            );
        }
    }

    #[test]
    fn other_regions_and_accounts_are_refused_before_starting() {
        let other_region = "arn:aws:ecs:eu-west-1:123456789012:task-definition/app:1";
        let err = StartPlan::new(MACHINE, other_region, None, now()).unwrap_err();
        assert!(err.to_string().contains("eu-west-1"), "{err}");
        let other_account = "arn:aws:ecs:us-east-1:210987654321:task-definition/app:1";
        let err = StartPlan::new(MACHINE, other_account, None, now()).unwrap_err();
        assert!(err.to_string().contains("210987654321"), "{err}");
    }

    #[test]
    fn bad_state_machine_arns_are_usage_errors() {
        let err = StartPlan::new("migrate", "app:1", None, now()).unwrap_err();
        assert!(err.to_string().contains("--state-machine-arn"), "{err}");
    }
}
