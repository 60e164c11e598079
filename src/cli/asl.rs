//! `ecs-migrate asl run|validate|graph`: the embedded Amazon States Language engine on the
//! command line. `run` prints exactly one JSON object on stdout; progress goes to stderr.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use serde_json::Value;

use super::lambda_endpoint::LambdaEndpointInvoker;
use super::{CommandOutcome, UsageError};
use crate::asl::MockConfigError;
use crate::asl::{
    graph, Definition, ExecutionStatus, Executor, HistoryEvent, Limits, MockInvoker, TaskCall,
    TaskFailure, TaskInvoker, UnboundInvoker,
};
use crate::common::clock::{Clock, SystemClock, VirtualClock};
use crate::common::files::{
    read_text, ReadError, MAX_INPUT_FILE_BYTES, MAX_STATE_MACHINE_DEFINITION_BYTES,
};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum AslCommand {
    /// Run a definition and print one JSON object: {"status":"SUCCEEDED","output":…} or
    /// {"status":"FAILED","error":…,"cause":…}. Exit 0 succeeded, 1 failed or timed out,
    /// 2 bad definition, file or flag.
    Run(RunArgs),
    /// Check a definition and print every problem with its JSON pointer (exit 0 valid, 2 not).
    Validate(FileArgs),
    /// Print a Mermaid flowchart of a definition.
    Graph(FileArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ClockKind {
    /// Wall-clock time: Wait states and retry delays really wait.
    Real,
    /// Virtual time: waits end at once while the history records the times AWS would show.
    Virtual,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// The state machine definition (Amazon States Language, JSON).
    #[arg(long, value_name = "FILE")]
    pub(crate) definition: PathBuf,
    /// Execution input: inline JSON, or @FILE to read it from a file.
    #[arg(long, value_name = "JSON|@FILE", default_value = "{}")]
    pub(crate) input: String,
    /// Add the execution history (get-execution-history events) to the output.
    #[arg(long)]
    pub(crate) history: bool,
    /// Real or virtual time. Virtual time does not wait for real I/O: with --lambda-endpoint a
    /// TimeoutSeconds can fire while a call is in flight.
    #[arg(long, value_enum, default_value_t = ClockKind::Real)]
    pub(crate) clock: ClockKind,
    /// Step Functions Local mock configuration (MockConfigFile.json format).
    #[arg(long, value_name = "FILE", requires = "test_case")]
    pub(crate) mock_config: Option<PathBuf>,
    /// The test case to use from the mock configuration.
    #[arg(long, value_name = "NAME", requires = "mock_config")]
    pub(crate) test_case: Option<String>,
    /// The state machine's name (mock configuration key, $$.StateMachine.Name); default: the
    /// definition file's name without .json or .asl.json (migration.asl.json: migration).
    #[arg(long, value_name = "NAME")]
    pub(crate) state_machine: Option<String>,
    /// Call Lambda tasks on this Invoke endpoint (e.g. http://127.0.0.1:9000 as `cargo lambda
    /// watch` serves it). With --mock-config, only states the test case does not mock.
    #[arg(long, value_name = "URL")]
    pub(crate) lambda_endpoint: Option<String>,
    /// The execution's name (default: a random UUID).
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
    /// Turn off AWS's quotas (25,000 history events per execution; 256 KiB of execution
    /// input and of any state's input, output or result), which are on by default.
    #[arg(long)]
    pub(crate) no_limits: bool,
    /// Do not print progress (states entered, failures) on stderr.
    #[arg(long, short)]
    pub(crate) quiet: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct FileArgs {
    /// The state machine definition (Amazon States Language, JSON).
    #[arg(value_name = "FILE")]
    pub(crate) file: PathBuf,
}

pub(crate) async fn run(cmd: AslCommand) -> Result<CommandOutcome, UsageError> {
    match cmd {
        AslCommand::Run(args) => run_definition(args).await,
        AslCommand::Validate(args) => validate(&args.file),
        AslCommand::Graph(args) => {
            let def = load(&args.file)?;
            crate::cli::print::stdout_text(&graph::mermaid(&def));
            Ok(CommandOutcome::Succeeded)
        }
    }
}

fn read(path: &Path, what: &'static str, limit: u64) -> Result<String, UsageError> {
    read_text(path, what, limit).map_err(|e| match e {
        ReadError::Unreadable { .. } => UsageError::new(format!("{e}; check the path")),
        other => UsageError::new(other.to_string()),
    })
}

fn read_json(path: &Path) -> Result<Value, UsageError> {
    let text = read(path, "the definition", MAX_STATE_MACHINE_DEFINITION_BYTES)?;
    serde_json::from_str(&text).map_err(|e| {
        UsageError::new(format!(
            "{} is not valid JSON: {e}; an ASL definition is a JSON object with StartAt and States",
            path.display()
        ))
    })
}

/// Reads and checks a definition; problems become one usage error listing all of them.
fn load(path: &Path) -> Result<Definition, UsageError> {
    let value = read_json(path)?;
    Definition::parse(&value).map_err(|problems| {
        let list: Vec<String> = problems.iter().map(|p| format!("  {p}")).collect();
        UsageError::new(format!(
            "{} has {} problem(s); fix them and run again:\n{}",
            path.display(),
            problems.len(),
            list.join("\n")
        ))
    })
}

fn validate(path: &Path) -> Result<CommandOutcome, UsageError> {
    let value = read_json(path)?;
    match Definition::parse(&value) {
        Ok(def) => {
            crate::cli::print::stdout_line(&format!(
                "{}: valid ({} top-level states, {} Task states)",
                path.display(),
                def.state_names().len(),
                def.tasks().len()
            ));
            Ok(CommandOutcome::Succeeded)
        }
        Err(problems) => {
            for p in &problems {
                crate::cli::print::stdout_line(&format!("{p}"));
            }
            Err(UsageError::new(format!(
                "{}: {} problem(s) in the definition",
                path.display(),
                problems.len()
            )))
        }
    }
}

fn parse_input(input: &str) -> Result<Value, UsageError> {
    let (text, origin) = match input.strip_prefix('@') {
        Some(file) => (
            read(Path::new(file), "--input file", MAX_INPUT_FILE_BYTES)?,
            format!("--input file {file}"),
        ),
        None => (input.to_string(), "--input".to_string()),
    };
    serde_json::from_str(&text).map_err(|e| {
        UsageError::new(format!(
            "{origin} is not valid JSON: {e}; pass JSON (--input '{{\"k\":1}}') or @FILE"
        ))
    })
}

/// Mocked states from the mock configuration; the rest from the fallback.
struct MockThenFallback {
    mock: MockInvoker,
    fallback: Arc<dyn TaskInvoker>,
}

#[async_trait]
impl TaskInvoker for MockThenFallback {
    async fn invoke(&self, call: TaskCall) -> Result<Value, TaskFailure> {
        if self.mock.mocks(&call.state_name) {
            self.mock.invoke(call).await
        } else {
            self.fallback.invoke(call).await
        }
    }
}

async fn run_definition(args: RunArgs) -> Result<CommandOutcome, UsageError> {
    let definition = load(&args.definition)?;
    let input = parse_input(&args.input)?;
    let state_machine = match &args.state_machine {
        Some(n) => n.clone(),
        None => args
            .definition
            .file_stem()
            .map(|s| {
                let s = s.to_string_lossy();
                // migration.asl.json -> migration
                s.strip_suffix(".asl").unwrap_or(&s).to_string()
            })
            .unwrap_or_else(|| "StateMachine".into()),
    };
    let endpoint: Option<Arc<dyn TaskInvoker>> = match &args.lambda_endpoint {
        Some(url) => Some(Arc::new(
            LambdaEndpointInvoker::new(url).map_err(|e| UsageError::new(e.to_string()))?,
        )),
        None => None,
    };
    let invoker: Arc<dyn TaskInvoker> = match (&args.mock_config, &args.test_case) {
        (Some(file), Some(case)) => {
            let mock = MockInvoker::from_file(file, &state_machine, case).map_err(|e| {
                UsageError::new(match &e {
                    MockConfigError::NoStateMachine { .. } => {
                        format!("{e}; pass --state-machine NAME")
                    }
                    _ => e.to_string(),
                })
            })?;
            match endpoint {
                Some(fallback) => Arc::new(MockThenFallback { mock, fallback }),
                None => Arc::new(mock),
            }
        }
        _ => endpoint.unwrap_or_else(|| Arc::new(AdviseBinding)),
    };
    let clock: Arc<dyn Clock> = match args.clock {
        ClockKind::Real => Arc::new(SystemClock),
        ClockKind::Virtual => Arc::new(VirtualClock::starting_at(Utc::now())),
    };
    let mut executor =
        Executor::new(definition, invoker, clock).with_state_machine_name(state_machine);
    if let Some(name) = &args.name {
        executor = executor.with_execution_name(name.clone());
    }
    if !args.history {
        executor = executor.without_history();
    }
    if args.no_limits {
        executor = executor.with_limits(Limits::none());
    }
    // StartExecution refuses such an input: no execution, a usage error.
    executor.check_input(&input).map_err(|e| {
        UsageError::new(format!(
            "{e} (the --input is too large; --no-limits runs it anyway)"
        ))
    })?;
    if !args.quiet {
        executor = executor.with_observer(Arc::new(progress));
    }
    let abort = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let result = executor.run(input, abort).await;
    let text = serde_json::to_string(&result.to_json(args.history))
        .map_err(|e| UsageError::new(format!("cannot print the result: {e}")))?;
    print_result(&text)?;
    Ok(match result.status {
        ExecutionStatus::Succeeded => CommandOutcome::Succeeded,
        _ => CommandOutcome::Failed,
    })
}

/// Prints the result line. A reader that closed the pipe (`| head`) wanted no more: that is
/// not an error, and not a panic as `println!` would make it.
fn print_result(text: &str) -> Result<(), UsageError> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}").and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(UsageError::new(format!("cannot print the result: {e}"))),
    }
}

/// One stderr line per state entered and per failure.
fn progress(e: &HistoryEvent) {
    let ty = e.event_type.as_str();
    let show = ty.ends_with("StateEntered")
        || ty.ends_with("Failed")
        || ty.ends_with("TimedOut")
        || ty.ends_with("Aborted");
    if !show {
        return;
    }
    let mut line = format!("{} {ty}", e.timestamp.format("%H:%M:%S%.3f"));
    if let Some(name) = e.state_name() {
        line.push(' ');
        line.push_str(name);
    }
    if let Some(err) = e.details.error() {
        line.push_str(&format!(" error={err}"));
    }
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Without --mock-config or --lambda-endpoint every Task state fails, saying how to bind it.
struct AdviseBinding;

#[async_trait]
impl TaskInvoker for AdviseBinding {
    async fn invoke(&self, call: TaskCall) -> Result<Value, TaskFailure> {
        Err(TaskFailure::unbound(format!(
            "{}: pass --mock-config FILE --test-case NAME or --lambda-endpoint URL",
            UnboundInvoker::cause(&call)
        )))
    }
}
