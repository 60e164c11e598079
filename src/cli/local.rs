//! `ecs-migrate local`: the whole migration on one machine. The real state machine
//! (statemachine/migration.asl.json) runs in the embedded engine with the real steps, bound to
//! the local runner (`crate::local`), which runs the task as a local process or a Docker
//! container. Exit 0 when the migration succeeded, 1 when it failed (Error and Cause printed),
//! 2 for usage errors (a bad flag; a task definition or event file that is unreadable, invalid
//! or too large; no Docker),
//! 128 + N when signal N (SIGINT, SIGTERM, SIGHUP) stopped it, after it stopped the task.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{CommandOutcome, UsageError};
use crate::asl::{Definition, ExecutionResult, ExecutionStatus, Executor, HistoryEvent, Limits};
use crate::common::clock::{Clock, SystemClock};
use crate::common::error::{ErrorKind, MigrationError, StateError};
use crate::local::taskdef::{LOCAL_ACCOUNT, LOCAL_REGION};
use crate::local::{DockerOptions, LocalEcs, LocalEvent, Runner};
use crate::migration::hook_event::parse_hook_event;
use crate::migration::lease::scope_of;
use crate::migration::log_tail::append_log_tail;
use crate::migration::redact::Redaction;
use crate::migration::settings::Settings;
use crate::migration::Holder;
use crate::ports::deployments::{Deployments, NoDeployments};
use crate::ports::ecs::Ecs;
use crate::ports::lock::{FileLockTable, LockTable};
use crate::ports::logs::LogStream;
use crate::statemachine::{budget, error_message, Seams, StepBinding};

mod deployment;
mod env;
mod progress;
mod relay;
mod setup;
mod signals;

pub(crate) use progress::{Ending, Note, Summary};
pub use setup::settings as local_settings;
pub(crate) use signals::{StopSignal, StopSignals};

/// How the task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum RunnerArg {
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
pub(crate) struct LocalArgs {
    /// The ECS task definition: the RegisterTaskDefinition JSON you would give to
    /// `aws ecs register-task-definition --cli-input-json` (DescribeTaskDefinition output works
    /// too).
    #[arg(long, value_name = "FILE")]
    pub(crate) task_definition: PathBuf,

    /// The execution input: an EventBridge event or {"taskdef_arn": "..."}; `-` reads standard
    /// input. Without it: {"taskdef_arn": "<family>"}. Input that is not JSON or is over 256 KiB
    /// (without --no-limits) is refused before anything runs (exit 2).
    #[arg(long, value_name = "FILE|-")]
    pub(crate) event: Option<String>,

    /// The migration container [default: the first essential container].
    #[arg(long, value_name = "NAME")]
    pub(crate) container: Option<String>,

    /// Stop the task and fail with Migration.Timeout after this many seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..=31_536_000))]
    pub(crate) timeout: u64,

    /// Set a variable for the task, over the task definition's `environment`; NAME alone takes
    /// this machine's value (an error when it is unset). Also fills a `secrets` entry of that
    /// name (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE", value_parser = env::parse_assignment)]
    pub(crate) env: Vec<(String, Option<String>)>,

    /// Read variables from FILE, one NAME=VALUE a line (Docker's --env-file format); --env
    /// wins over it (repeatable).
    #[arg(long, value_name = "FILE")]
    pub(crate) env_file: Vec<PathBuf>,

    /// How to run the task.
    #[arg(long, value_enum, default_value_t = RunnerArg::Process)]
    pub(crate) runner: RunnerArg,

    /// Print one JSON object with the result on stdout (progress goes to stderr).
    #[arg(long)]
    pub(crate) json: bool,

    /// Turn off AWS's quotas (25,000 history events; 256 KiB of execution input, --event
    /// included, and of any state's input, output or result), which are on by default so a
    /// run that passes here fits in Step Functions.
    #[arg(long)]
    pub(crate) no_limits: bool,

    /// What one migration at a time is counted over on this machine: runs with the same scope
    /// (and lock directory) wait for each other [default: the task definition's family].
    #[arg(long, value_name = "SCOPE")]
    pub(crate) lock_scope: Option<String>,

    /// How long to wait for another run holding the lock before failing with
    /// Migration.Locked; 0 fails at once.
    #[arg(long, value_name = "SECONDS", default_value_t = 1800,
          value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub(crate) lock_wait: u64,

    /// Where the lock files are [default: $ECS_MIGRATE_LOCK_DIR, else
    /// $XDG_STATE_HOME/ecs-migrate/locks, else ~/.local/state/ecs-migrate/locks].
    #[arg(long, value_name = "DIR")]
    pub(crate) lock_dir: Option<PathBuf>,

    /// Mask matches of this regular expression (Rust regex syntax) in the migration's output
    /// and in the Cause's log lines, as LOG_TAIL_REDACT does in AWS. Values given with --env
    /// and --env-file (of at least 4 characters) are masked whatever this says.
    #[arg(long, value_name = "REGEX")]
    pub(crate) redact: Option<String>,

    /// The migration lock's lease in seconds [default: 300]; for tests of a suspended run.
    #[arg(long, value_name = "SECONDS", hide = true,
          value_parser = clap::value_parser!(u64).range(2..=86_400))]
    pub(crate) lock_lease: Option<u64>,

    /// The migration command [default: alembic upgrade head].
    #[arg(last = true, value_name = "COMMAND")]
    pub(crate) command: Vec<String>,
}

/// Extra time beyond a container's stopTimeout for its task to reach STOPPED before the runner
/// kills what is left.
const SETTLE_MARGIN: Duration = Duration::from_secs(5);

pub(crate) async fn run(args: LocalArgs) -> Result<CommandOutcome, UsageError> {
    // Before anything starts: from here on a stop signal stops the task instead of leaving it.
    let mut signals = StopSignals::listen()
        .map_err(|e| UsageError::new(format!("cannot install signal handlers: {e}")))?;
    let suspend = signals::catch_suspend()
        .map_err(|e| UsageError::new(format!("cannot install signal handlers: {e}")))?;
    let (mut taskdef, container) =
        setup::load_task_definition(&args.task_definition, args.container.as_deref())?;
    // Secrets and --env/--env-file: resolved (or refused) before anything starts.
    let (secrets_note, given_values) =
        env::apply(&mut taskdef, &container, &args.env, &args.env_file)?;
    let redact = redaction(args.redact.as_deref(), &given_values)?;
    let input = setup::read_event(args.event.as_deref(), &taskdef.family, args.no_limits)?;
    let settings = flag_settings(&args, &taskdef, &container, &redact);
    // A pause hook event: the deployment it names is a local double rolling out FILE.
    let hook = parse_hook_event(&input).and_then(Result::ok);
    let hook_deployment = hook
        .as_ref()
        .map(|hook| deployment::paused_deployment(hook, &taskdef));
    let settings = match &hook {
        Some(hook) => deployment::hook_settings(settings, hook),
        None => settings,
    };
    // The same history budget as in AWS, said in terms of this command's flag.
    let longest = budget::longest_tracked_seconds(&settings);
    if args.timeout > longest {
        return Err(UsageError::new(format!(
            "--timeout {} is longer than one execution's history can track; use at most {longest}",
            args.timeout
        )));
    }
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
        .map_err(|e| UsageError::new(format!("{e}, or use --runner process")))?;
    let lock = local_lock(args.lock_dir.clone(), &ecs);

    let (relay, printer) = relay::start(progress::Progress::new(args.json, redact.clone()))
        .map_err(|e| UsageError::new(format!("cannot start the output thread: {e}")))?;
    // The command line may carry what --redact masks too.
    relay.message(&redact.apply(&format!(
        "{} (family {family}), container {container}, command: {}",
        args.task_definition.display(),
        progress::shell_quoted(&settings.command)
    )));
    if let Some(note) = &secrets_note {
        relay.message(note);
    }
    refuse_suspension(suspend, relay.clone());
    if let Some(note) = setup::stand_in_note(ecs.task_definition(), &input) {
        relay.message(&note);
    }
    let began = Instant::now();
    let limits = if args.no_limits {
        Limits::none()
    } else {
        Limits::aws()
    };
    let deployments: Arc<dyn Deployments> = match &hook_deployment {
        Some(double) => double.clone(),
        None => Arc::new(NoDeployments),
    };
    let run = Run {
        settings: &settings,
        stop_timeout,
        limits,
        lock: &lock,
        deployments,
    };
    let lock_timer = Arc::new(Mutex::new(LockWaitTimer::default()));
    let (ending, stopped_by) =
        follow(&ecs, &run, input, &relay, &mut signals, lock_timer.clone()).await?;
    if let (Some(hook), Some(double)) = (&hook, &hook_deployment) {
        relay.message(&deployment::answer_line(hook, double));
    }
    let last = ecs.tasks().pop();
    let summary = Summary {
        ending,
        exit_code: last
            .as_ref()
            .and_then(|t| t.containers.first())
            .and_then(|c| c.exit_code),
        task_arn: last.map(|t| t.task_arn),
        duration: began.elapsed(),
        lock_wait: lock_timer
            .lock()
            .ok()
            .and_then(|timer| timer.waited(Instant::now())),
    };
    let outcome = match (stopped_by, &summary.ending) {
        (Some(signal), _) => CommandOutcome::Signalled(signal.number()),
        (None, Ending::Succeeded(_)) => CommandOutcome::Succeeded,
        (None, Ending::Failed(_)) => CommandOutcome::Failed,
    };
    relay.summary(summary);
    printer.finish();
    Ok(outcome)
}

/// The lock files (`--lock-dir`, else the default directory). The lock records this run's
/// task's process group, so a run that finds this one's lease ended (this process suspended)
/// does not take over while the task lives.
fn local_lock(dir: Option<PathBuf>, ecs: &LocalEcs) -> FileLockTable {
    let dir = dir.unwrap_or_else(|| FileLockTable::default_dir(|name| std::env::var(name).ok()));
    let groups = ecs.clone();
    FileLockTable::new(dir).with_task_groups(Arc::new(move |arn: &str| groups.process_group(arn)))
}

/// The steps' settings from the task definition and the flags.
fn flag_settings(
    args: &LocalArgs,
    taskdef: &crate::local::LocalTaskDefinition,
    container: &str,
    redact: &Redaction,
) -> Settings {
    let mut settings = setup::settings(
        taskdef,
        container,
        Duration::from_secs(args.timeout),
        &args.command,
    );
    settings.lock_scope = args.lock_scope.clone();
    settings.lock_wait = Duration::from_secs(args.lock_wait);
    settings.log_tail_redact = redact.clone();
    if let Some(lease) = args.lock_lease {
        settings.lock_lease = Duration::from_secs(lease);
    }
    settings
}

/// Says, on each Ctrl-Z, that the run does not suspend (see `signals`).
fn refuse_suspension(mut suspend: tokio::signal::unix::Signal, relay: relay::Relay) {
    tokio::spawn(async move {
        while suspend.recv().await.is_some() {
            relay.message(signals::SUSPEND_REFUSED);
        }
    });
}

/// What the run masks: `--redact`, and the values given on the command line.
fn redaction(pattern: Option<&str>, values: &[String]) -> Result<Redaction, UsageError> {
    let redact = Redaction::pattern(pattern.unwrap_or_default()).map_err(|e| {
        UsageError::new(format!(
            "--redact is not a regular expression (docs.rs/regex syntax): {e}"
        ))
    })?;
    Ok(redact.with_values(values.iter().map(String::as_str)))
}

/// How the execution runs: the steps' settings, the container's stop timeout, the engine's
/// limits.
struct Run<'a> {
    settings: &'a Settings,
    stop_timeout: Duration,
    limits: Limits,
    lock: &'a FileLockTable,
    /// The deployment a hook event's migration answers.
    deployments: Arc<dyn Deployments>,
}

/// Runs the execution, printing its progress, until it ends or a stop signal interrupts it;
/// then waits for the task to stop (or kills it) so nothing is left running. Also returns the
/// signal that interrupted it.
async fn follow(
    ecs: &LocalEcs,
    run: &Run<'_>,
    input: Value,
    relay: &relay::Relay,
    signals: &mut StopSignals,
    lock_timer: Arc<Mutex<LockWaitTimer>>,
) -> Result<(Ending, Option<StopSignal>), UsageError> {
    let (executor, holder) = local_executor(ecs, run, relay, lock_timer.clone())?;
    let scope = scope_of(run.settings, &ecs.task_definition().family);
    if say_who_holds_the_lock(run.lock, &scope, run.settings, relay).await {
        if let Ok(mut timer) = lock_timer.lock() {
            timer.held_by_another = true;
        }
    }
    let (result, stopped_by) = run_engine(executor, input, signals).await?;
    let ending = ending_of(ecs, run, result, stopped_by, relay, signals).await;
    if matches!(&ending, Ending::Failed(e) if e.error == ErrorKind::Locked.name()) {
        say_why_not_taken_over(run.lock, &scope, relay);
    }
    // Every task has stopped (or was killed): the lock, if this run still holds it (an
    // interrupted run, a task that had to be killed), is released here.
    release_local_lock(run, &scope, &holder, relay).await;
    Ok((ending, stopped_by))
}

/// The embedded engine with the real definition and the steps bound to the local runner; the
/// engine's states and the runner's events reach the terminal through `relay`, in the order
/// they happen. With the execution's ARN, the lock's holder.
fn local_executor(
    ecs: &LocalEcs,
    run: &Run<'_>,
    relay: &relay::Relay,
    lock_timer: Arc<Mutex<LockWaitTimer>>,
) -> Result<(Executor, String), UsageError> {
    let runner_notes = relay.clone();
    ecs.observe(Arc::new(move |event: &LocalEvent| {
        runner_notes.note(Note::Runner(event.clone()));
    }));
    let arns = setup::function_arns();
    let definition: Value = serde_json::from_str(&arns.render()).map_err(|e| {
        UsageError::new(format!(
            "the built-in state machine definition is not JSON: {e}"
        ))
    })?;
    let definition = Definition::parse(&definition).map_err(|problems| {
        UsageError::new(format!(
            "the built-in state machine definition is invalid: {problems:?}"
        ))
    })?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let steps = StepBinding::new(
        arns,
        run.settings.clone(),
        Seams {
            ecs: Arc::new(ecs.clone()),
            logs: Arc::new(ecs.clone()),
            clock: clock.clone(),
            lock: Arc::new(run.lock.clone()),
        },
    )
    .with_deployments(run.deployments.clone());
    let state_notes = relay.clone();
    let observer = move |event: &HistoryEvent| {
        if event.event_type.as_str().ends_with("StateEntered") {
            if let Some(name) = event.state_name() {
                if let Ok(mut timer) = lock_timer.lock() {
                    timer.entered(name, Instant::now());
                }
                state_notes.note(Note::State(name.to_string()));
            }
        }
    };
    let execution_name = format!(
        "local-{}-{}-{}",
        ecs.task_definition().family,
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
        std::process::id()
    );
    let executor = Executor::new(definition, Arc::new(steps), clock)
        .with_account(LOCAL_REGION, LOCAL_ACCOUNT)
        .with_state_machine_name("ecs-migrate")
        .with_execution_name(execution_name.clone())
        .with_limits(run.limits)
        // The observer prints progress; nothing reads the history afterwards.
        .without_history()
        .with_observer(Arc::new(observer));
    let holder = executor.execution_arn(&execution_name);
    Ok((executor, holder))
}

/// Runs the execution to its end. A stop signal aborts it, as StopExecution would (the task is
/// then stopped by the caller). The engine runs on its own task, so printing a flood of output
/// never holds it up.
async fn run_engine(
    executor: Executor,
    input: Value,
    signals: &mut StopSignals,
) -> Result<(ExecutionResult, Option<StopSignal>), UsageError> {
    let (abort, aborted) = tokio::sync::oneshot::channel::<()>();
    let mut engine = tokio::spawn(async move {
        executor
            .run(input, async {
                // A dropped sender is no request to stop.
                if aborted.await.is_err() {
                    std::future::pending::<()>().await;
                }
            })
            .await
    });
    let mut abort = Some(abort);
    let mut stopped_by = None;
    loop {
        tokio::select! {
            signal = signals.next(), if stopped_by.is_none() => {
                stopped_by = Some(signal);
                if let Some(abort) = abort.take() {
                    let _ = abort.send(());
                }
            }
            result = &mut engine => {
                let result = result.map_err(|e| {
                    UsageError::new(format!("the embedded engine stopped unexpectedly: {e}"))
                })?;
                return Ok((result, stopped_by));
            }
        }
    }
}

/// How the run ended, once its tasks have stopped: an aborted execution stops them first.
async fn ending_of(
    ecs: &LocalEcs,
    run: &Run<'_>,
    result: ExecutionResult,
    stopped_by: Option<StopSignal>,
    relay: &relay::Relay,
    signals: &mut StopSignals,
) -> Ending {
    let stop_timeout = run.stop_timeout;
    match result.status {
        ExecutionStatus::Succeeded => {
            settle(ecs, relay, stop_timeout, signals).await;
            Ending::Succeeded(result.output.unwrap_or(Value::Null))
        }
        ExecutionStatus::Failed | ExecutionStatus::TimedOut => {
            // A stop the state machine asked for (timeout, failure) may still be in progress.
            settle(ecs, relay, stop_timeout, signals).await;
            Ending::Failed(StateError {
                error: result
                    .error
                    .unwrap_or_else(|| format!("States.{}", result.status.as_str())),
                cause: error_message(result.cause.as_deref().unwrap_or_default()),
            })
        }
        ExecutionStatus::Aborted => {
            // Only a stop signal aborts the execution.
            let signal = stopped_by.unwrap_or(StopSignal::Interrupt);
            relay.message(&format!(
                "interrupted by {}: stopping the task (SIGTERM, then SIGKILL after {} s; Ctrl-C again to kill it now)",
                signal.describe(),
                stop_timeout.as_secs()
            ));
            ecs.stop_all(&format!(
                "Stopped by ecs-migrate local: interrupted by {}",
                signal.describe()
            ));
            settle(ecs, relay, stop_timeout, signals).await;
            Ending::Failed(interrupted(ecs, run.settings, signal).await)
        }
    }
}

/// Releases the migration lock if this run still holds it, saying how to clear it otherwise.
async fn release_local_lock(run: &Run<'_>, scope: &str, holder: &str, relay: &relay::Relay) {
    match run.lock.release(scope, holder).await {
        Ok(true) => relay.message(&format!("released the migration lock of scope {scope}")),
        Ok(false) => {}
        Err(err) => relay.message(&format!(
            "could not release the migration lock of scope {scope} ({err}); it ends with its lease in {} s, or run `ecs-migrate lock release --scope {scope} --lock-dir {}`",
            run.settings.lock_lease.as_secs(),
            run.lock.dir().display()
        )),
    }
}

/// How long the run waited for the migration lock: from entering AcquireLock to entering the
/// first state after the lock's Choice (LockTaken), as the engine reports the states.
#[derive(Debug, Default)]
struct LockWaitTimer {
    began: Option<Instant>,
    ended: Option<Instant>,
    /// Another run held the lock when this one started: it waited, however briefly.
    held_by_another: bool,
}

impl LockWaitTimer {
    fn entered(&mut self, state: &str, at: Instant) {
        match state {
            // AcquireLock comes back through LockTaken while another run holds the lock.
            "AcquireLock" | "LockTaken" => {
                self.began.get_or_insert(at);
            }
            _ if self.began.is_some() => {
                self.ended.get_or_insert(at);
            }
            _ => {}
        }
    }

    /// The wait (up to `now` if the run stopped while waiting) when the run waited: another
    /// run held the lock at the start, or taking it took long enough to show (an uncontended
    /// lock takes milliseconds).
    fn waited(&self, now: Instant) -> Option<Duration> {
        let began = self.began?;
        let wait = self.ended.unwrap_or(now).saturating_duration_since(began);
        (self.held_by_another || wait >= Duration::from_millis(50)).then_some(wait)
    }
}

/// Says, before the run waits for it, which run holds the scope's lock on this machine; true
/// when one does.
async fn say_who_holds_the_lock(
    lock: &FileLockTable,
    scope: &str,
    settings: &Settings,
    relay: &relay::Relay,
) -> bool {
    match lock.get(scope).await {
        Ok(Some(item)) => {
            let holder = Holder::of(&item).describe();
            let wait = settings.lock_wait.as_secs();
            relay.message(&if wait == 0 {
                format!("the migration lock of scope {scope} is held by {holder}: not waiting (--lock-wait 0)")
            } else {
                format!("the migration lock of scope {scope} is held by {holder}: waiting for it, up to {wait} s (--lock-wait)")
            });
            if item.expired_at(chrono::Utc::now()) {
                say_why_not_taken_over(lock, scope, relay);
            }
            true
        }
        Ok(None) => false,
        Err(err) => {
            relay.message(&format!("cannot read the migration lock: {err}"));
            false
        }
    }
}

/// Says why the lock of a holder whose lease ended was not taken over: its task still runs.
fn say_why_not_taken_over(lock: &FileLockTable, scope: &str, relay: &relay::Relay) {
    if let Ok(Some(reason)) = lock.suspended_holder(scope) {
        relay.message(&format!(
            "the migration lock of scope {scope} was not taken over although its lease ended: {reason}"
        ));
    }
}

/// Waits (printing) until every task is STOPPED; kills what is left after the stop timeout
/// plus a margin, or at a (further) stop signal.
async fn settle(
    ecs: &LocalEcs,
    relay: &relay::Relay,
    stop_timeout: Duration,
    signals: &mut StopSignals,
) {
    let killed = tokio::select! {
        _ = ecs.wait_all_stopped() => false,
        _ = tokio::time::sleep(stop_timeout + SETTLE_MARGIN) => {
            relay.message("the task did not stop in time: killing it");
            true
        }
        signal = signals.next() => {
            relay.message(&format!(
                "{} received: killing the task now",
                signal.describe()
            ));
            true
        }
    };
    if killed {
        ecs.kill_all();
        let _ = tokio::time::timeout(SETTLE_MARGIN, ecs.wait_all_stopped()).await;
    }
}

/// The error an interrupted execution ends with: the task was stopped before the migration
/// finished, with its exit code and the end of its output.
async fn interrupted(ecs: &LocalEcs, settings: &Settings, signal: StopSignal) -> StateError {
    let Some(task) = ecs.tasks().pop() else {
        return MigrationError::new(
            ErrorKind::TaskStopped,
            format!(
                "interrupted by {} before the migration task started",
                signal.describe()
            ),
        )
        .to_state_error();
    };
    let exit = task
        .containers
        .first()
        .and_then(|c| c.exit_code)
        .map_or("no exit code".to_string(), |c| format!("exit code {c}"));
    let cause = format!(
        "interrupted by {}: ecs-migrate local stopped task {} before the migration finished ({exit}, stop code {})",
        signal.describe(),
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
    let stream = LogStream::for_container(log.as_ref(), &settings.container, &task.task_arn).ok();
    let cause = append_log_tail(
        ecs,
        settings.log_tail_lines,
        &settings.log_tail_redact,
        stream.as_ref(),
        cause,
    )
    .await;
    MigrationError::new(ErrorKind::TaskStopped, cause).to_state_error()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_wait_runs_from_acquire_lock_to_the_state_after_it() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut timer = LockWaitTimer::default();
        timer.entered("ValidateEvent", at(0));
        assert_eq!(timer.waited(at(5)), None);
        for (state, ms) in [
            ("AcquireLock", 10),
            ("LockTaken", 20),
            ("AcquireLock", 30),
            ("LockTaken", 40),
            ("RunTask", 50),
            ("PollStatus", 60),
        ] {
            timer.entered(state, at(ms));
        }
        // 40 ms: an uncontended lock, unless another run held it at the start.
        assert_eq!(timer.waited(at(1000)), None);
        timer.held_by_another = true;
        assert_eq!(timer.waited(at(1000)), Some(Duration::from_millis(40)));
        // Stopped while still waiting: up to now.
        let mut waiting = LockWaitTimer::default();
        waiting.entered("AcquireLock", at(10));
        assert_eq!(waiting.waited(at(110)), Some(Duration::from_millis(100)));
    }
}
