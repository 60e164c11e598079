//! Step Functions ARNs as the command takes them, and the console URL of an execution.

use super::super::UsageError;

/// `arn:PARTITION:states:REGION:ACCOUNT:stateMachine:NAME` or
/// `arn:PARTITION:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatesArn {
    pub(crate) raw: String,
    pub(crate) partition: String,
    pub(crate) region: String,
    pub(crate) account: String,
    pub(crate) state_machine: String,
    /// The execution's name; `None` for a state machine ARN.
    pub(crate) execution: Option<String>,
}

impl StatesArn {
    /// A state machine ARN, as `--state-machine-arn` takes it. A version or alias suffix
    /// (`...:stateMachine:NAME:3`, `...:NAME:prod`) is accepted: StartExecution runs it.
    pub(crate) fn state_machine(raw: &str) -> Result<Self, UsageError> {
        let arn = parse(raw, "stateMachine").ok_or_else(|| {
            UsageError::new(format!(
                "--state-machine-arn {raw:?} is not a state machine ARN: expected arn:aws:states:REGION:ACCOUNT:stateMachine:NAME (the Terraform module's state_machine_arn output)"
            ))
        })?;
        Ok(arn)
    }

    /// An execution ARN, as `wait` takes it.
    pub(crate) fn execution(raw: &str) -> Result<Self, UsageError> {
        let arn = parse(raw, "execution")
            .filter(|a| a.execution.is_some())
            .ok_or_else(|| {
                UsageError::new(format!(
                    "{raw:?} is not an execution ARN: expected arn:aws:states:REGION:ACCOUNT:execution:STATE_MACHINE:NAME (what `ecs-migrate start` prints)"
                ))
            })?;
        Ok(arn)
    }
}

fn parse(raw: &str, kind: &str) -> Option<StatesArn> {
    let raw = raw.trim();
    let rest = raw.strip_prefix("arn:")?;
    let mut parts = rest.splitn(6, ':');
    let partition = parts.next()?;
    let service = parts.next()?;
    let region = parts.next()?;
    let account = parts.next()?;
    let resource_type = parts.next()?;
    let resource = parts.next()?;
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    if !partition.starts_with("aws")
        || service != "states"
        || !region_ok
        || !account_ok
        || resource_type != kind
    {
        return None;
    }
    let (state_machine, execution) = if kind == "execution" {
        let (machine, name) = resource.split_once(':')?;
        (machine, Some(name))
    } else {
        // NAME, NAME:VERSION or NAME:ALIAS
        (resource.split(':').next()?, None)
    };
    if state_machine.is_empty() || execution.is_some_and(str::is_empty) {
        return None;
    }
    Some(StatesArn {
        raw: raw.to_string(),
        partition: partition.to_string(),
        region: region.to_string(),
        account: account.to_string(),
        state_machine: state_machine.to_string(),
        execution: execution.map(str::to_string),
    })
}

/// Where a person sees the execution: the Step Functions console's execution page.
pub(crate) fn console_url(execution_arn: &str) -> String {
    let arn = parse(execution_arn, "execution");
    let (partition, region) = arn
        .as_ref()
        .map(|a| (a.partition.as_str(), a.region.as_str()))
        .unwrap_or(("aws", "us-east-1"));
    let domain = match partition {
        "aws-cn" => "console.amazonaws.cn",
        "aws-us-gov" => "console.amazonaws-us-gov.com",
        _ => "console.aws.amazon.com",
    };
    format!(
        "https://{region}.{domain}/states/home?region={region}#/v2/executions/details/{execution_arn}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MACHINE: &str = "arn:aws:states:eu-west-1:123456789012:stateMachine:migrate";
    const EXECUTION: &str =
        "arn:aws:states:eu-west-1:123456789012:execution:migrate:app-42-20261125T130501Z";

    #[test]
    fn state_machine_arns_parse_with_versions_and_aliases() {
        let arn = StatesArn::state_machine(MACHINE).unwrap();
        assert_eq!(arn.region, "eu-west-1");
        assert_eq!(arn.account, "123456789012");
        assert_eq!(arn.state_machine, "migrate");
        assert_eq!(
            crate::ports::executions::execution_arn(&arn.raw, "x"),
            "arn:aws:states:eu-west-1:123456789012:execution:migrate:x"
        );
        let alias = StatesArn::state_machine(&format!("{MACHINE}:prod")).unwrap();
        assert_eq!(alias.state_machine, "migrate");
        assert_eq!(alias.raw, format!("{MACHINE}:prod"));
    }

    #[test]
    fn wrong_arns_say_what_is_expected() {
        for bad in [
            "migrate",
            EXECUTION,
            "arn:aws:lambda:eu-west-1:123456789012:function:migrate",
            "arn:aws:states:eu-west-1:1234:stateMachine:migrate",
            "arn:aws:states::123456789012:stateMachine:migrate",
            "arn:aws:states:eu-west-1:123456789012:stateMachine:",
        ] {
            let err = StatesArn::state_machine(bad).unwrap_err().to_string();
            assert!(err.contains("arn:aws:states:REGION"), "{bad}: {err}");
        }
        for bad in [
            MACHINE,
            "arn:aws:states:eu-west-1:123456789012:execution:migrate",
        ] {
            let err = StatesArn::execution(bad).unwrap_err().to_string();
            assert!(err.contains("ecs-migrate start"), "{bad}: {err}");
        }
    }

    #[test]
    fn execution_arns_give_region_and_name() {
        let arn = StatesArn::execution(EXECUTION).unwrap();
        assert_eq!(arn.region, "eu-west-1");
        assert_eq!(arn.state_machine, "migrate");
        assert_eq!(arn.execution.as_deref(), Some("app-42-20261125T130501Z"));
    }

    #[test]
    fn console_url_is_the_v2_execution_page() {
        assert_eq!(
            console_url(EXECUTION),
            format!("https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/{EXECUTION}")
        );
        let cn = "arn:aws-cn:states:cn-north-1:123456789012:execution:m:n";
        assert!(console_url(cn).starts_with("https://cn-north-1.console.amazonaws.cn/"));
    }
}
