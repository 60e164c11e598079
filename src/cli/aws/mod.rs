//! `ecs-migrate start|wait|run`: the migration on AWS Step Functions.
//!
//! One module per job: `config` (the shared AWS flags and clients), `arn`, `start` (name,
//! input, StartExecution), `history` (new history events and what they mean), `logs` (the
//! migration's log stream), `wait` (the polling loop) and `output` (what is printed).

use std::time::Duration;

use chrono::Utc;
use serde_json::json;

use super::{CommandOutcome, UsageError};
use crate::ports::executions::execution_arn;

pub(crate) mod arn;
pub(crate) mod config;
pub(crate) mod history;
pub(crate) mod logs;
pub(crate) mod output;
pub(crate) mod start;
pub(crate) mod wait;

pub(crate) use config::AwsFlags;

/// What to start: the state machine and the task definition to migrate with.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct StartOpts {
    /// The migration state machine (the Terraform module's state_machine_arn output)
    #[arg(long, value_name = "ARN")]
    pub(crate) state_machine_arn: String,
    /// The task definition whose image and settings the migration runs with: an ARN,
    /// FAMILY:REVISION, or FAMILY (its latest ACTIVE revision)
    #[arg(long, value_name = "ARN|FAMILY[:REV]")]
    pub(crate) task_definition: String,
    /// Execution name [default: FAMILY-REVISION-YYYYMMDDTHHMMSSZ]. Starting again with the same
    /// name and task definition while that execution runs returns it rather than a second one
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
}

/// How to wait.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct FollowOpts {
    /// Stop waiting after this many seconds: exit 1, the execution goes on (unless
    /// --abort-on-timeout)
    #[arg(long, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub(crate) timeout: Option<u64>,
    /// When --timeout passes, stop the execution (StopExecution); the deployment's abort rule
    /// then stops its task
    #[arg(long, requires = "timeout")]
    pub(crate) abort_on_timeout: bool,
    /// Seconds between reads of the execution history (the log is read every second one);
    /// `wait` exits within about this long of the execution's end. Throttling and transient
    /// errors double it, up to 30 (or this value, if larger); a good answer halves it back
    #[arg(long, value_name = "SECONDS", default_value = "2", value_parser = parse_interval)]
    pub(crate) poll_interval: Duration,
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(0.2..=60.0).contains(&seconds) {
        return Err(format!(
            "{seconds} is outside 0.2 to 60 seconds (2 keeps well inside Step Functions' quotas)"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[derive(Debug, clap::Args)]
pub(crate) struct StartArgs {
    #[command(flatten)]
    pub(crate) aws: AwsFlags,
    #[command(flatten)]
    pub(crate) start: StartOpts,
    /// Check the flags (ARN, task definition, name) and print the execution that would be
    /// started, without calling AWS
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Print one JSON object (executionArn, name, input, startDate, consoleUrl) instead of the
    /// execution ARN
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct WaitArgs {
    #[command(flatten)]
    pub(crate) aws: AwsFlags,
    /// The execution to follow (what `ecs-migrate start` printed)
    #[arg(value_name = "EXECUTION_ARN")]
    pub(crate) execution_arn: String,
    #[command(flatten)]
    pub(crate) follow: FollowOpts,
    /// Print the result as one JSON object on stdout (status, executionArn, error, cause,
    /// output, consoleUrl, logLines, ...); progress goes to stderr
    #[arg(long)]
    pub(crate) json: bool,
    /// At exit, print how many AWS requests the wait made (to stderr)
    #[arg(long, short)]
    pub(crate) verbose: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) aws: AwsFlags,
    #[command(flatten)]
    pub(crate) start: StartOpts,
    #[command(flatten)]
    pub(crate) follow: FollowOpts,
    /// Check the flags and print the execution that would be started, without calling AWS
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Print the result as one JSON object on stdout; progress goes to stderr
    #[arg(long)]
    pub(crate) json: bool,
    /// At exit, print how many AWS requests the wait made (to stderr)
    #[arg(long, short)]
    pub(crate) verbose: bool,
}

/// Checks the flags and, unless `--dry-run`, starts the execution. `Ok(None)` after a dry run.
async fn start_execution(
    aws_flags: &AwsFlags,
    opts: &StartOpts,
    dry_run: bool,
    json: bool,
    quiet: bool,
) -> Result<Option<(config::Aws, String)>, UsageError> {
    let plan = start::StartPlan::new(
        &opts.state_machine_arn,
        &opts.task_definition,
        opts.name.as_deref(),
        Utc::now(),
    )?;
    let would_be = execution_arn(&plan.state_machine.raw, &plan.name);
    if dry_run {
        if json {
            crate::cli::print::stdout_line(&format!(
                "{}",
                json!({
                    "dryRun": true,
                    "stateMachineArn": plan.state_machine.raw,
                    "name": plan.name,
                    "input": plan.input,
                    "executionArn": would_be,
                })
            ));
        } else {
            crate::cli::print::stdout_line(&format!("dry run: would start execution {would_be}"));
            crate::cli::print::stdout_line(&format!("  state machine {}", plan.state_machine.raw));
            crate::cli::print::stdout_line(&format!("  name          {}", plan.name));
            crate::cli::print::stdout_line(&format!("  input         {}", plan.input));
        }
        return Ok(None);
    }
    let aws = aws_flags.load(Some(&plan.state_machine.region)).await?;
    let started = plan.start(&aws).await?;
    if !quiet {
        if json {
            crate::cli::print::stdout_line(&format!(
                "{}",
                json!({
                    "executionArn": started.execution_arn,
                    "name": plan.name,
                    "input": plan.input,
                    "startDate": started.start_date,
                    "consoleUrl": arn::console_url(&started.execution_arn),
                })
            ));
        } else {
            crate::cli::print::stdout_line(&started.execution_arn);
        }
    }
    Ok(Some((aws, started.execution_arn)))
}

/// `ecs-migrate start`: prints the execution ARN (or JSON).
pub(crate) async fn start(args: StartArgs) -> Result<CommandOutcome, UsageError> {
    start_execution(&args.aws, &args.start, args.dry_run, args.json, false).await?;
    Ok(CommandOutcome::Succeeded)
}

/// `ecs-migrate wait`: follows an execution to its end.
pub(crate) async fn wait(args: WaitArgs) -> Result<CommandOutcome, UsageError> {
    let arn = arn::StatesArn::execution(&args.execution_arn)?;
    let aws = args.aws.load(Some(&arn.region)).await?;
    wait::follow(&aws, &arn.raw, &args.follow, args.json, args.verbose).await
}

/// `ecs-migrate run`: start, then wait.
pub(crate) async fn run(args: RunArgs) -> Result<CommandOutcome, UsageError> {
    let Some((aws, execution_arn)) =
        start_execution(&args.aws, &args.start, args.dry_run, args.json, true).await?
    else {
        return Ok(CommandOutcome::Succeeded);
    };
    wait::follow(&aws, &execution_arn, &args.follow, args.json, args.verbose).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_intervals_are_bounded() {
        assert_eq!(parse_interval("2").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_interval("0.5").unwrap(), Duration::from_millis(500));
        for bad in ["0.1", "61", "soon"] {
            let err = parse_interval(bad).unwrap_err();
            assert!(err.contains(bad), "{bad}: {err}");
        }
    }
}
