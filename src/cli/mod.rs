//! The `ecs-migrate` command: argument parsing and the exit-status contract. Each subcommand
//! lives in its own module and returns a [`CommandOutcome`] or a [`UsageError`].

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub(crate) mod asl;
pub(crate) mod aws;
pub mod lambda_endpoint;
pub mod local;
pub(crate) mod lock;
pub(crate) mod print;
pub(crate) mod printable;
pub(crate) mod reconcile;

/// Run database migrations as a one-off ECS task, tracked to the end.
#[derive(Debug, Parser)]
#[command(name = "ecs-migrate", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the migration on this machine: the real state machine in the embedded engine, the
    /// task as a local process (or Docker container).
    Local(local::LocalArgs),
    /// Run, check or draw any Amazon States Language definition with the embedded engine.
    #[command(subcommand)]
    Asl(asl::AslCommand),
    /// Start a migration execution on AWS Step Functions and print its ARN.
    Start(aws::StartArgs),
    /// Follow an execution to its end, showing states and the migration's log; exit with its result.
    Wait(aws::WaitArgs),
    /// Start an execution and wait for it (what CI calls).
    Run(aws::RunArgs),
    /// Show or release a scope's migration lock (on AWS with --table, else the local lock files).
    #[command(subcommand)]
    Lock(lock::LockCommand),
    /// Stop the tasks and release the locks that ended executions left behind, and answer
    /// ROLLBACK to their waiting pause hooks (what the scheduled reconciler does); --dry-run
    /// says what it would do.
    Reconcile(reconcile::ReconcileArgs),
}

/// How a command ended, as the exit status says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CommandOutcome {
    /// Exit 0: the migration (or the execution) succeeded.
    Succeeded,
    /// Exit 1: it failed; the Error name and Cause were printed.
    Failed,
    /// Exit 130 (the shell's code for Ctrl-C): the command stopped waiting at the user's
    /// request; what it waited on goes on, and it said so.
    Interrupted,
    /// Exit 128 + N: a signal (SIGINT 2, SIGTERM 15, SIGHUP 1) stopped the command, which
    /// stopped what it ran first, as a shell reports a process the signal ended.
    Signalled(i32),
}

/// Exit 2: a bad flag, an unreadable or invalid file, missing credentials. The message says
/// what to do next.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub String);

impl UsageError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

pub(crate) const EXIT_FAILED: u8 = 1;
pub(crate) const EXIT_USAGE: u8 = 2;
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

/// Parses the command line, runs the subcommand and maps its result to the exit status.
pub async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version itself and exits 0 for them; usage errors exit 2.
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::Local(args) => local::run(args).await,
        Command::Asl(cmd) => asl::run(cmd).await,
        Command::Start(args) => aws::start(args).await,
        Command::Wait(args) => aws::wait(args).await,
        Command::Run(args) => aws::run(args).await,
        Command::Lock(cmd) => lock::run(cmd).await,
        Command::Reconcile(args) => reconcile::run(args).await,
    };
    match result {
        Ok(CommandOutcome::Succeeded) => ExitCode::SUCCESS,
        Ok(CommandOutcome::Failed) => ExitCode::from(EXIT_FAILED),
        Ok(CommandOutcome::Interrupted) => ExitCode::from(EXIT_INTERRUPTED),
        Ok(CommandOutcome::Signalled(signal)) => {
            ExitCode::from(u8::try_from(128 + signal).unwrap_or(EXIT_FAILED))
        }
        Err(err) => {
            crate::cli::print::stderr_line(&format!("ecs-migrate: {err}"));
            ExitCode::from(EXIT_USAGE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flags_do_not_clash() {
        Cli::command().debug_assert();
    }
}
