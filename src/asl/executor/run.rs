//! One running execution: the template every state runs through (entered event, the
//! state's own work, exited event, next) and the loop that follows `Next` through a
//! machine (the top level, a Parallel branch or a Map iteration).

use futures::future::BoxFuture;
use serde_json::{json, Value};

use super::super::definition::{IoPath, Machine, ResultPathSpec, State, StateKind};
use super::super::depth::too_deep;
use super::super::history::{EventDetails, EventType};
use super::super::path::compact;
use super::super::template::Vars;
use super::failure::Failure;
use super::limits::nested_too_deep;
use super::recorder::{OpenKind, Recorder, Thread};
use super::scope::{Scope, StateCtx};
use super::Executor;

/// The state of one running execution, shared by its branches and iterations.
pub(super) struct Run<'e> {
    pub(crate) ex: &'e Executor,
    pub(crate) rec: Recorder<'e>,
    /// `$$.Execution`.
    pub(crate) execution: Value,
    /// `$$.StateMachine`.
    pub(crate) state_machine: Value,
}

/// What a state produced: its output, where to go, and variables it assigns.
pub(super) struct Outcome<'a> {
    pub(crate) output: Value,
    pub(crate) next: Option<&'a str>,
    pub(crate) assigned: Vec<(String, Value)>,
}

/// Transitions between cooperative yields, so an endless loop of Pass/Choice states can
/// still be aborted or timed out.
const YIELD_EVERY: u64 = 32;

fn entered_type(kind: &StateKind) -> EventType {
    match kind {
        StateKind::Pass { .. } => EventType::PassStateEntered,
        StateKind::Task(_) => EventType::TaskStateEntered,
        StateKind::Choice { .. } => EventType::ChoiceStateEntered,
        StateKind::Wait(_) => EventType::WaitStateEntered,
        StateKind::Succeed => EventType::SucceedStateEntered,
        StateKind::Fail { .. } => EventType::FailStateEntered,
        StateKind::Parallel(_) => EventType::ParallelStateEntered,
        StateKind::Map(_) => EventType::MapStateEntered,
    }
}

fn exited_type(kind: &StateKind) -> Option<EventType> {
    Some(match kind {
        StateKind::Pass { .. } => EventType::PassStateExited,
        StateKind::Task(_) => EventType::TaskStateExited,
        StateKind::Choice { .. } => EventType::ChoiceStateExited,
        StateKind::Wait(_) => EventType::WaitStateExited,
        StateKind::Succeed => EventType::SucceedStateExited,
        StateKind::Fail { .. } => return None,
        StateKind::Parallel(_) => EventType::ParallelStateExited,
        StateKind::Map(_) => EventType::MapStateExited,
    })
}

fn aborted_type(kind: &StateKind) -> Option<EventType> {
    match kind {
        StateKind::Task(_) => Some(EventType::TaskStateAborted),
        StateKind::Wait(_) => Some(EventType::WaitStateAborted),
        StateKind::Parallel(_) => Some(EventType::ParallelStateAborted),
        StateKind::Map(_) => Some(EventType::MapStateAborted),
        _ => None,
    }
}

impl<'e> Run<'e> {
    /// Runs a machine from its `StartAt` to a state that ends it.
    pub(crate) fn run_machine<'a, 'v: 'a>(
        &'a self,
        machine: &'a Machine,
        input: Value,
        vars: &'a mut Vars<'v>,
        th: &'a mut Thread,
    ) -> BoxFuture<'a, Result<Value, Failure>> {
        Box::pin(async move {
            let mut name: &str = &machine.start_at;
            let mut data = input;
            let mut transitions = 0u64;
            loop {
                if self.rec.exhausted() {
                    return Err(self.history_exhausted());
                }
                let state = machine
                    .get(name)
                    .ok_or_else(|| Failure::runtime(format!("no state named '{name}'")))?;
                let (out, next) = self.run_state(state, data, vars, th).await?;
                match next {
                    Some(n) => {
                        name = n;
                        data = out;
                    }
                    None => return Ok(out),
                }
                transitions += 1;
                if transitions.is_multiple_of(YIELD_EVERY) {
                    tokio::task::yield_now().await;
                }
            }
        })
    }

    /// One state: entered event, its work, exited event; the variables it assigns take
    /// effect afterwards.
    async fn run_state<'a, 'v>(
        &'a self,
        state: &'a State,
        raw: Value,
        vars: &mut Vars<'v>,
        th: &mut Thread,
    ) -> Result<(Value, Option<&'a str>), Failure> {
        let entered = self.ex.clock.now();
        let entered_id = self.rec.record(th, entered_type(&state.kind), || {
            EventDetails::StateEntered {
                name: state.name.clone(),
                input: compact(&raw),
            }
        });
        let open = aborted_type(&state.kind);
        if let Some(t) = open {
            self.rec.open(th.id, OpenKind::State(t), entered_id);
        }
        let mut sc = StateCtx {
            name: state.name.clone(),
            entered,
            retry_count: 0,
        };
        let result = self.state_body(state, raw, vars, th, &mut sc).await;
        if open.is_some() {
            self.rec.close(entered_id);
        }
        let result = result.and_then(|o| {
            if may_grow(state) {
                self.ex.limits.check_payload(&state.name, &o.output)?;
            }
            // A variable can wrap itself one level deeper every turn of a loop.
            if o.assigned.iter().any(|(_, v)| too_deep(v)) {
                return Err(nested_too_deep("assigned value"));
            }
            Ok(o)
        });
        match result {
            Ok(o) => {
                if let Some(t) = exited_type(&state.kind) {
                    self.rec.record(th, t, || EventDetails::StateExited {
                        name: state.name.clone(),
                        output: compact(&o.output),
                        assigned: o
                            .assigned
                            .iter()
                            .map(|(k, v)| (k.clone(), compact(v)))
                            .collect(),
                    });
                }
                vars.assign(o.assigned);
                Ok((o.output, o.next))
            }
            Err(mut f) => {
                self.record_evaluation_failed(&mut f, state, th);
                Err(locate(f, state, entered_id))
            }
        }
    }

    /// The EvaluationFailed event of a JSONata field that failed, once per failure.
    pub(super) fn record_evaluation_failed(&self, f: &mut Failure, state: &State, th: &mut Thread) {
        if let Some(location) = f.location.take() {
            self.rec.record(th, EventType::EvaluationFailed, || {
                json!({"error": f.error, "cause": f.cause, "location": location, "state": state.name})
            });
        }
    }

    async fn state_body<'a>(
        &'a self,
        state: &'a State,
        raw: Value,
        vars: &Vars<'_>,
        th: &mut Thread,
        sc: &mut StateCtx,
    ) -> Result<Outcome<'a>, Failure> {
        let scope = Scope::new(self, &raw, sc, vars);
        match &state.kind {
            StateKind::Pass {
                parameters,
                result,
                result_path,
            } => scope.pass(state, parameters.as_ref(), result.as_ref(), result_path),
            StateKind::Choice { choices, default } => {
                scope.choice(state, choices, default.as_deref())
            }
            StateKind::Wait(w) => scope.wait(state, w).await,
            StateKind::Succeed => scope.succeed(state),
            StateKind::Fail { error, cause } => Err(scope.fail(error.as_ref(), cause.as_ref())?),
            StateKind::Task(_) | StateKind::Parallel(_) | StateKind::Map(_) => {
                self.retryable(state, &raw, vars, th, sc).await
            }
        }
    }
}

impl Run<'_> {
    /// The failure that unwinds every thread once the history quota is reached; the
    /// execution's end records the service's cause.
    fn history_exhausted(&self) -> Failure {
        let mut f = Failure::runtime("history quota reached");
        f.located = true;
        f
    }
}

/// Whether a state's output can be larger than what was already checked: the input, and a
/// Pass state's result (states.rs). A task-like state's output adds ResultSelector's work;
/// a Pass that writes its result at a ResultPath merges it into its input; an indefinite
/// InputPath or OutputPath (`$..a`) can repeat parts of its input. Other outputs are parts
/// of the input or the result.
fn may_grow(state: &State) -> bool {
    let indefinite = |p: &IoPath| matches!(p, IoPath::Path(path) if !path.is_definite());
    let adds = match &state.kind {
        StateKind::Task(_) | StateKind::Parallel(_) | StateKind::Map(_) => true,
        StateKind::Pass { result_path, .. } => matches!(result_path, ResultPathSpec::Path(_)),
        _ => false,
    };
    // A JSONata state's Output can be any value.
    adds || state.jsonata || indefinite(&state.input_path) || indefinite(&state.output_path)
}

/// A fatal failure's cause names the state and the event it entered at, as the service's do;
/// so does a JSONata evaluation failure's (recorded on AWS: "An error occurred while
/// executing the state 'X' (entered at the event id #6). The JSONata expression ...").
fn locate(mut f: Failure, state: &State, entered_id: u64) -> Failure {
    let query = f.error == super::super::jsonata::QUERY_EVALUATION_ERROR;
    if (f.fatal || query) && !f.located {
        f.cause = format!(
            "An error occurred while executing the state '{}' (entered at the event id #{entered_id}). {}",
            state.name, f.cause
        );
        f.located = true;
    }
    f
}
