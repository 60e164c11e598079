//! `ecs-migrate local`: the whole migration on one machine. The real state machine
//! (statemachine/migration.asl.json) runs in the embedded engine with the real steps, bound to
//! the local runner (`crate::local`), which runs the task as a local process or a Docker
//! container. Exit 0 when the migration succeeded, 1 when it failed (Error and Cause printed),
//! 2 for usage errors (a bad flag, an unreadable or invalid task definition file, no Docker).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{broadcast, mpsc};

use super::{Outcome, UsageError};
use crate::clock::SystemClock;
use crate::ecs::Ecs;
use crate::error::{MigrationError, StateError};
use crate::local::{DockerOptions, LocalEcs, LocalEvent, Runner};
use crate::logs::{LogStream, Logs};
use crate::settings::Settings;
use crate::steps::StepEnv;

mod progress;
mod setup;

pub use progress::{summary_json, summary_line, Ending, Summary, OUTPUT_PREFIX};
pub use setup::{
    function_arn, render_definition, settings as local_settings, step_for_arn, LOCAL_CLUSTER,
};

/// How the task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunnerArg {
    /// A child process on this machine, with this machine's environment plus the container's.
    Process,
    /// `docker run` of the container's image (needs a Docker daemon).
    Docker,
}

/// Run the migration on this machine.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example: ecs-migrate local --task-definition examples/local/taskdef.json -- python3 examples/local/migrate.py"
)]
pub struct LocalArgs {
    /// The ECS task definition: the RegisterTaskDefinition JSON you would give to
    /// `aws ecs register-task-definition --cli-input-json` (DescribeTaskDefinition output works
    /// too).
    #[arg(long, value_name = "FILE")]
    pub task_definition: PathBuf,

    /// The execution input: an EventBridge event or {"taskdef_arn": "..."}; `-` reads standard
    /// input. Without it: {"taskdef_arn": "<family>"}.
    #[arg(long, value_name = "FILE|-")]
    pub event: Option<String>,

    /// The migration container [default: the first essential container].
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,

    /// Stop the task and fail with Migration.Timeout after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub timeout: u64,

    /// How to run the task.
    #[arg(long, value_enum, default_value_t = RunnerArg::Process)]
    pub runner: RunnerArg,

    /// Print one JSON object with the result on stdout (progress goes to stderr).
    #[arg(long)]
    pub json: bool,

    /// The migration command [default: alembic upgrade head].
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Extra time beyond a container's stopTimeout for its task to reach STOPPED before the runner
/// kills what is left.
const SETTLE_MARGIN: Duration = Duration::from_secs(5);

pub async fn run(args: LocalArgs) -> Result<Outcome, UsageError> {
    let (taskdef, container) =
        setup::load_task_definition(&args.task_definition, args.container.as_deref())?;
    let input = setup::read_event(args.event.as_deref(), &taskdef.family)?;
    let settings = setup::settings(
        &taskdef,
        &container,
        Duration::from_secs(args.timeout),
        &args.command,
    );
    let stop_timeout = taskdef
        .find(&container)
        .map_or(Duration::from_secs(30), |c| c.stop_timeout);
    let runner = match args.runner {
        RunnerArg::Process => Runner::Process,
        RunnerArg::Docker => Runner::Docker(DockerOptions::default()),
    };
    let family = taskdef.family.clone();
    let ecs = LocalEcs::with_runner(taskdef, runner)
        .await
        .map_err(|e| UsageError::new(e.to_string()))?;

    let mut progress = progress::Progress::new(args.json);
    progress.message(&format!(
        "{} (family {family}), container {container}, command: {}",
        args.task_definition.display(),
        settings.command.join(" ")
    ));
    let began = Instant::now();
    let ending = match input {
        Err(invalid) => Ending::Failed(invalid.to_state_error()),
        Ok(input) => follow(&ecs, &settings, input, stop_timeout, &mut progress).await?,
    };
    let last = ecs.tasks().pop();
    let summary = Summary {
        ending,
        exit_code: last
            .as_ref()
            .and_then(|t| t.containers.first())
            .and_then(|c| c.exit_code),
        task_arn: last.map(|t| t.task_arn),
        duration: began.elapsed(),
    };
    progress.summary(&summary);
    Ok(match summary.ending {
        Ending::Succeeded(_) => Outcome::Succeeded,
        Ending::Failed(_) => Outcome::Failed,
    })
}

/// Runs the execution, printing its progress, until it ends or Ctrl-C interrupts it; then
/// waits for the task to stop (or kills it) so nothing is left running.
async fn follow(
    ecs: &LocalEcs,
    settings: &Settings,
    input: Value,
    stop_timeout: Duration,
    progress: &mut progress::Progress,
) -> Result<Ending, UsageError> {
    let mut events = ecs.subscribe();
    let (states_tx, mut states) = mpsc::unbounded_channel::<String>();
    let clock = SystemClock;
    let env = StepEnv {
        settings,
        ecs,
        logs: ecs,
        clock: &clock,
    };
    let mut engine = Box::pin(execute(env, input, states_tx));
    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);
    let mut events_open = true;
    let finished = loop {
        tokio::select! {
            result = &mut engine => break Some(result?),
            Some(name) = states.recv() => progress.state_entered(&name),
            event = events.recv(), if events_open => {
                events_open = show(progress, event);
            }
            _ = &mut interrupt => break None,
        }
    };
    drop(engine);
    while let Ok(name) = states.try_recv() {
        progress.state_entered(&name);
    }

    let ending = match finished {
        Some(ending) => {
            // A stop the state machine asked for (timeout, failure) may still be in progress.
            settle(ecs, &mut events, progress, stop_timeout).await;
            ending
        }
        None => {
            progress.message(&format!(
                "interrupted: stopping the task (SIGTERM, then SIGKILL after {} s; Ctrl-C again to kill it now)",
                stop_timeout.as_secs()
            ));
            ecs.stop_all("Stopped by ecs-migrate local: interrupted (Ctrl-C)");
            settle(ecs, &mut events, progress, stop_timeout).await;
            Ending::Failed(interrupted(ecs, settings).await)
        }
    };
    while let Ok(event) = events.try_recv() {
        progress.local(&event);
    }
    Ok(ending)
}

/// Prints one runner event; false once the channel is closed.
fn show(
    progress: &mut progress::Progress,
    event: Result<LocalEvent, broadcast::error::RecvError>,
) -> bool {
    match event {
        Ok(event) => {
            progress.local(&event);
            true
        }
        Err(broadcast::error::RecvError::Lagged(skipped)) => {
            progress.message(&format!("({skipped} lines of output not shown)"));
            true
        }
        Err(broadcast::error::RecvError::Closed) => false,
    }
}

/// Waits (printing) until every task is STOPPED; kills what is left after the stop timeout
/// plus a margin, or at a (further) Ctrl-C.
async fn settle(
    ecs: &LocalEcs,
    events: &mut broadcast::Receiver<LocalEvent>,
    progress: &mut progress::Progress,
    stop_timeout: Duration,
) {
    let all_stopped = async {
        for task in ecs.tasks() {
            ecs.wait_stopped(&task.task_arn).await;
        }
    };
    tokio::pin!(all_stopped);
    let give_up = tokio::time::sleep(stop_timeout + SETTLE_MARGIN);
    tokio::pin!(give_up);
    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);
    let mut events_open = true;
    let killed = loop {
        tokio::select! {
            _ = &mut all_stopped => break false,
            event = events.recv(), if events_open => events_open = show(progress, event),
            _ = &mut give_up => {
                progress.message("the task did not stop in time: killing it");
                break true;
            }
            _ = &mut interrupt => {
                progress.message("interrupted again: killing the task now");
                break true;
            }
        }
    };
    if killed {
        ecs.kill_all();
        let stopped = async {
            for task in ecs.tasks() {
                ecs.wait_stopped(&task.task_arn).await;
            }
        };
        let _ = tokio::time::timeout(SETTLE_MARGIN, stopped).await;
    }
}

/// The error an interrupted execution ends with: the task was stopped before the migration
/// finished, with its exit code and the end of its output.
async fn interrupted(ecs: &LocalEcs, settings: &Settings) -> StateError {
    let Some(task) = ecs.tasks().pop() else {
        return MigrationError::TaskStopped(
            "interrupted (Ctrl-C) before the migration task started".into(),
        )
        .to_state_error();
    };
    let exit = task
        .containers
        .first()
        .and_then(|c| c.exit_code)
        .map_or("no exit code".to_string(), |c| format!("exit code {c}"));
    let mut cause = format!(
        "interrupted (Ctrl-C): ecs-migrate local stopped task {} before the migration finished ({exit}, stop code {})",
        task.task_arn,
        task.stop_code.as_deref().unwrap_or("none")
    );
    let log = match ecs
        .describe_task_definition(&ecs.task_definition().family)
        .await
    {
        Ok(Some(td)) => td
            .containers
            .into_iter()
            .find(|c| c.name == settings.container)
            .and_then(|c| c.log),
        _ => None,
    };
    if let Ok(stream) = LogStream::for_container(log.as_ref(), &settings.container, &task.task_arn)
    {
        if let Ok(Some(lines)) = ecs.tail(&stream, settings.log_tail_lines).await {
            if !lines.is_empty() {
                cause.push_str(&format!("\n--- last {} log lines ---", lines.len()));
                for line in lines {
                    cause.push('\n');
                    cause.push_str(&line);
                }
            }
        }
    }
    MigrationError::TaskStopped(cause).to_state_error()
}

/// Runs the rendered definition in the embedded engine with the real steps, reporting each
/// state entered on `states`.
async fn execute(
    _env: StepEnv<'_>,
    _input: Value,
    _states: mpsc::UnboundedSender<String>,
) -> Result<Ending, UsageError> {
    let _ = setup::render_definition();
    Err(UsageError::new(
        "ecs-migrate local needs the embedded ASL engine (src/asl), which is not merged yet",
    ))
}
