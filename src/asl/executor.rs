//! Runs a [`Definition`]: one template for every state (entered event, InputPath, the state's
//! own work, ResultSelector/ResultPath/OutputPath, Assign, exited event, next), one retry and
//! catch loop shared by Task, Parallel and Map, Parallel branches and Map iterations as
//! concurrent futures on the same task, time from the injected [`Clock`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::choice::Rule;
use super::definition::{
    Amount, Definition, IoPath, Machine, MapState, Parallel, ResultPathSpec, Seconds, State,
    StateKind, Task, Text, WaitFor,
};
use super::history::{not_truncated, EventDetails, EventType, HistoryEvent, Observer};
use super::invoker::{classify, Heartbeat, ResourceKind, TaskCall, TaskInvoker};
use super::path::{compact, Path};
use super::random::{uuid_v4, RandomSource, SeededRandom};
use super::retry::{matches, RetryCounters};
use super::template::{Assign, Env, Template, Vars};
use super::value::{as_integer, context_time, json_len, parse_timestamp, MAX_PAYLOAD_BYTES};
use crate::clock::Clock;

/// How an execution ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ExecutionStatus {
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl ExecutionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::TimedOut => "TIMED_OUT",
            Self::Aborted => "ABORTED",
        }
    }
}

/// The end of an execution: status, output or error and cause, and the full history.
#[derive(Debug, Clone)]
pub struct ExecutionResult {
    pub status: ExecutionStatus,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub history: Vec<HistoryEvent>,
}

impl ExecutionResult {
    /// `{"status":"SUCCEEDED","output":…}` or `{"status":"FAILED","error":…,"cause":…}`,
    /// plus `"history":[…]` when asked.
    pub fn to_json(&self, with_history: bool) -> Value {
        let mut m = Map::new();
        m.insert("status".into(), json!(self.status.as_str()));
        if let Some(o) = &self.output {
            m.insert("output".into(), o.clone());
        }
        if let Some(e) = &self.error {
            m.insert("error".into(), json!(e));
        }
        if let Some(c) = &self.cause {
            m.insert("cause".into(), json!(c));
        }
        if with_history {
            m.insert(
                "history".into(),
                serde_json::to_value(&self.history).unwrap_or_default(),
            );
        }
        Value::Object(m)
    }

    /// How many events of each type the history holds.
    pub fn event_counts(&self) -> HashMap<EventType, usize> {
        let mut counts = HashMap::new();
        for e in &self.history {
            *counts.entry(e.event_type).or_insert(0) += 1;
        }
        counts
    }
}

/// Runs one definition; reusable for many executions.
pub struct Executor {
    definition: Arc<Definition>,
    invoker: Arc<dyn TaskInvoker>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn RandomSource>,
    observer: Option<Observer>,
    keep_history: bool,
    execution_name: Option<String>,
    state_machine_name: String,
    region: String,
    account: String,
    role_arn: Option<String>,
}

impl Executor {
    pub fn new(
        definition: impl Into<Arc<Definition>>,
        invoker: Arc<dyn TaskInvoker>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            definition: definition.into(),
            invoker,
            clock,
            random: Arc::new(SeededRandom::from_entropy()),
            observer: None,
            keep_history: true,
            execution_name: None,
            state_machine_name: "StateMachine".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
            role_arn: None,
        }
    }

    /// Do not keep the history in the result (`ExecutionResult::history` stays empty): a
    /// caller that wants only the outcome saves the memory of every event and, without an
    /// observer, the cost of building their details.
    pub fn without_history(mut self) -> Self {
        self.keep_history = false;
        self
    }

    /// The execution's name (default: a random UUID).
    pub fn with_execution_name(mut self, name: impl Into<String>) -> Self {
        self.execution_name = Some(name.into());
        self
    }

    /// The state machine's name, used in `$$.StateMachine` and the execution ARN.
    pub fn with_state_machine_name(mut self, name: impl Into<String>) -> Self {
        self.state_machine_name = name.into();
        self
    }

    /// Called with every history event as it is recorded.
    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Randomness for retry jitter, `States.MathRandom`, `States.UUID` and default names.
    pub fn with_random(mut self, random: Arc<dyn RandomSource>) -> Self {
        self.random = random;
        self
    }

    /// Region and account for the ARNs in the context object and history.
    pub fn with_account(mut self, region: impl Into<String>, account: impl Into<String>) -> Self {
        self.region = region.into();
        self.account = account.into();
        self
    }

    pub fn with_role_arn(mut self, role_arn: impl Into<String>) -> Self {
        self.role_arn = Some(role_arn.into());
        self
    }

    pub fn definition(&self) -> &Definition {
        &self.definition
    }

    /// Runs to the end.
    pub async fn run_to_completion(&self, input: Value) -> ExecutionResult {
        self.run(input, std::future::pending()).await
    }

    /// Runs until the execution ends or `abort` completes; aborting drops the running
    /// Task futures and ends the execution ABORTED. The state machine's `TimeoutSeconds`
    /// (on the clock) ends it TIMED_OUT.
    pub async fn run<F: Future<Output = ()>>(&self, input: Value, abort: F) -> ExecutionResult {
        let name = self
            .execution_name
            .clone()
            .unwrap_or_else(|| uuid_v4(&*self.random));
        let start = self.clock.now();
        let sm_arn = format!(
            "arn:aws:states:{}:{}:stateMachine:{}",
            self.region, self.account, self.state_machine_name
        );
        let role = self.role_arn.clone().unwrap_or_else(|| {
            format!(
                "arn:aws:iam::{}:role/service-role/StepFunctions-{}-role",
                self.account, self.state_machine_name
            )
        });
        let run = Run {
            ex: self,
            rec: Mutex::new(Recorder::default()),
            execution: json!({
                "Id": format!("arn:aws:states:{}:{}:execution:{}:{}", self.region, self.account, self.state_machine_name, name),
                "Input": input.clone(),
                "Name": name,
                "RoleArn": role,
                "StartTime": context_time(start),
                "RedriveCount": 0,
            }),
            state_machine: json!({"Id": sm_arn, "Name": self.state_machine_name}),
            next_thread: AtomicU64::new(1),
        };
        run.record_at(
            EventType::ExecutionStarted,
            0,
            || json!({"input": compact(&input), "inputDetails": not_truncated(), "roleArn": role}),
        );
        let mut vars = Vars::root();
        let mut thread = Thread { id: 0, last: 0 };
        let timeout = self.definition.timeout_seconds;
        let clock = self.clock.clone();
        let outcome = {
            let main = run.run_machine(&self.definition.root, input, &mut vars, &mut thread);
            let timer = async move {
                match timeout {
                    Some(t) => clock.sleep(Duration::from_secs(t)).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                r = main => End::Done(r),
                _ = timer => End::TimedOut,
                _ = abort => End::Aborted,
            }
        };
        let last = thread.last;
        let (status, output, error, cause) = match outcome {
            End::Done(Ok(out)) => {
                run.record_at(
                    EventType::ExecutionSucceeded,
                    last,
                    || json!({"output": compact(&out), "outputDetails": not_truncated()}),
                );
                (ExecutionStatus::Succeeded, Some(out), None, None)
            }
            End::Done(Err(f)) => {
                run.record_at(
                    EventType::ExecutionFailed,
                    last,
                    || json!({"error": f.error, "cause": f.cause}),
                );
                (ExecutionStatus::Failed, None, Some(f.error), Some(f.cause))
            }
            End::TimedOut => {
                let cause = format!(
                    "The execution exceeded the state machine's TimeoutSeconds ({}s)",
                    timeout.unwrap_or_default()
                );
                run.record_at(
                    EventType::ExecutionTimedOut,
                    last,
                    || json!({"error": "States.Timeout", "cause": cause}),
                );
                (
                    ExecutionStatus::TimedOut,
                    None,
                    Some("States.Timeout".into()),
                    Some(cause),
                )
            }
            End::Aborted => {
                let open: Vec<u64> = vec![0];
                run.abort_threads(&open);
                let recorded = run.lock().recorded;
                let last = if recorded > 0 { recorded } else { last };
                run.record_at(EventType::ExecutionAborted, last, || Value::Null);
                (ExecutionStatus::Aborted, None, None, None)
            }
        };
        let history = std::mem::take(&mut run.lock().events);
        ExecutionResult {
            status,
            output,
            error,
            cause,
            history,
        }
    }
}

enum End {
    Done(Result<Value, Failure>),
    TimedOut,
    Aborted,
}

/// A failed state. `fatal` errors (States.Runtime, States.ReferencePathConflict) skip
/// retriers and catchers; `located` ones already carry the cause the service shows.
#[derive(Debug, Clone)]
struct Failure {
    error: String,
    cause: String,
    fatal: bool,
    located: bool,
}

impl Failure {
    fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
            fatal: false,
            located: false,
        }
    }

    fn runtime(cause: impl Into<String>) -> Self {
        Self {
            error: "States.Runtime".into(),
            cause: cause.into(),
            fatal: true,
            located: false,
        }
    }

    /// A ResultPath that cannot be applied to the state's input. The service fails the
    /// execution with `States.ReferencePathConflict` and its bare message ("Unable to apply
    /// step ..."), not the `States.ResultPathMatchFailure` of the error-name list.
    fn reference_path_conflict(cause: String) -> Self {
        Self {
            error: "States.ReferencePathConflict".into(),
            cause,
            fatal: true,
            located: true,
        }
    }
}

/// A thread of execution (the main path, a branch, an iteration) and its last event.
struct Thread {
    id: u64,
    last: u64,
}

enum OpenKind {
    State(EventType),
    Iteration { name: String, index: usize },
}

struct Open {
    thread: u64,
    kind: OpenKind,
    entered: u64,
}

#[derive(Default)]
struct Recorder {
    events: Vec<HistoryEvent>,
    /// Events recorded so far (kept or not): the last event id.
    recorded: u64,
    open: Vec<Open>,
    parents: HashMap<u64, u64>,
}

/// The state of one running execution, shared by its branches and iterations.
struct Run<'e> {
    ex: &'e Executor,
    rec: Mutex<Recorder>,
    execution: Value,
    state_machine: Value,
    next_thread: AtomicU64,
}

/// What a state produced: its output, where to go, and variables it assigns.
struct Outcome<'a> {
    output: Value,
    next: Option<&'a str>,
    assigned: Vec<(String, Value)>,
}

/// The per-state part of the context object.
#[derive(Clone)]
struct StateCtx {
    name: Arc<str>,
    entered: DateTime<Utc>,
    retry_count: u64,
}

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

/// Transitions between cooperative yields, so an endless loop of Pass/Choice states can
/// still be aborted or timed out.
const YIELD_EVERY: u64 = 32;

impl<'e> Run<'e> {
    fn lock(&self) -> MutexGuard<'_, Recorder> {
        self.rec.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records an event; `details` is built only when someone will see it.
    fn record_at<D: Into<EventDetails>>(
        &self,
        ty: EventType,
        previous: u64,
        details: impl FnOnce() -> D,
    ) -> u64 {
        let mut rec = self.lock();
        rec.recorded += 1;
        let id = rec.recorded;
        if !self.ex.keep_history && self.ex.observer.is_none() {
            return id;
        }
        let event = HistoryEvent {
            id,
            previous_event_id: previous,
            timestamp: self.ex.clock.now(),
            event_type: ty,
            details: details().into(),
        };
        if let Some(obs) = &self.ex.observer {
            obs(&event);
        }
        if self.ex.keep_history {
            rec.events.push(event);
        }
        id
    }

    fn record<D: Into<EventDetails>>(
        &self,
        th: &mut Thread,
        ty: EventType,
        details: impl FnOnce() -> D,
    ) -> u64 {
        let id = self.record_at(ty, th.last, details);
        th.last = id;
        id
    }

    fn new_thread(&self, parent: u64) -> u64 {
        let id = self.next_thread.fetch_add(1, Ordering::Relaxed);
        self.lock().parents.insert(id, parent);
        id
    }

    fn open(&self, thread: u64, kind: OpenKind, entered: u64) {
        self.lock().open.push(Open {
            thread,
            kind,
            entered,
        });
    }

    fn close(&self, thread: u64, entered: u64) {
        self.lock()
            .open
            .retain(|o| !(o.thread == thread && o.entered == entered));
    }

    /// Records Aborted events for everything still running in `threads` (and the threads
    /// they started): per thread, innermost first.
    fn abort_threads(&self, threads: &[u64]) {
        let mut rec = self.lock();
        let descends = |rec: &Recorder, mut t: u64, root: u64| loop {
            if t == root {
                return true;
            }
            match rec.parents.get(&t) {
                Some(&p) => t = p,
                None => return false,
            }
        };
        let mut to_emit = Vec::new();
        for &root in threads {
            let mut group: Vec<usize> = (0..rec.open.len())
                .filter(|&i| descends(&rec, rec.open[i].thread, root))
                .collect();
            group.sort_by_key(|&i| std::cmp::Reverse(rec.open[i].entered));
            for i in group {
                let o = &rec.open[i];
                let (ty, details) = match &o.kind {
                    OpenKind::State(t) => (*t, Value::Null),
                    OpenKind::Iteration { name, index } => (
                        EventType::MapIterationAborted,
                        json!({"index": index, "name": name}),
                    ),
                };
                to_emit.push((i, ty, o.entered, details));
            }
        }
        let mut remove: Vec<usize> = to_emit.iter().map(|(i, ..)| *i).collect();
        remove.sort_unstable();
        remove.dedup();
        for i in remove.into_iter().rev() {
            rec.open.remove(i);
        }
        drop(rec);
        for (_, ty, entered, details) in to_emit {
            self.record_at(ty, entered, || details);
        }
    }

    fn context(&self, sc: &StateCtx) -> Value {
        json!({
            "Execution": self.execution,
            "State": {
                "Name": sc.name,
                "EnteredTime": context_time(sc.entered),
                "RetryCount": sc.retry_count,
            },
            "StateMachine": self.state_machine,
        })
    }

    /// Runs `f` with the evaluation environment of a state: `$` is `input`, `$$` the context
    /// object (built only when a path asks for it), the variables in scope, the random source.
    /// An evaluation error is a `States.Runtime` failure.
    fn with_env<R, E: std::fmt::Display>(
        &self,
        input: &Value,
        sc: &StateCtx,
        vars: &Vars<'_>,
        f: impl FnOnce(&Env<'_>) -> Result<R, E>,
    ) -> Result<R, Failure> {
        let ctx = || self.context(sc);
        f(&Env {
            input,
            context: &ctx,
            vars,
            random: &*self.ex.random,
        })
        .map_err(|e| Failure::runtime(e.to_string()))
    }

    fn eval_template(
        &self,
        t: &Template,
        input: &Value,
        sc: &StateCtx,
        vars: &Vars<'_>,
    ) -> Result<Value, Failure> {
        self.with_env(input, sc, vars, |env| t.eval(env))
    }

    fn eval_assign(
        &self,
        a: Option<&Assign>,
        input: &Value,
        sc: &StateCtx,
        vars: &Vars<'_>,
    ) -> Result<Vec<(String, Value)>, Failure> {
        let Some(a) = a else { return Ok(Vec::new()) };
        self.with_env(input, sc, vars, |env| a.eval(env))
    }

    fn resolve(
        &self,
        path: &Path,
        input: &Value,
        sc: &StateCtx,
        vars: &Vars<'_>,
    ) -> Result<Value, Failure> {
        self.with_env(input, sc, vars, |env| env.select(path))
    }

    fn input_path(
        &self,
        p: &IoPath,
        raw: &Value,
        sc: &StateCtx,
        vars: &Vars<'_>,
    ) -> Result<Value, Failure> {
        match p {
            IoPath::Whole => Ok(raw.clone()),
            IoPath::Empty => Ok(json!({})),
            IoPath::Path(path) => self.resolve(path, raw, sc, vars),
        }
    }

    fn result_path(
        &self,
        spec: &ResultPathSpec,
        raw: &Value,
        result: Value,
    ) -> Result<Value, Failure> {
        match spec {
            ResultPathSpec::Replace => Ok(result),
            ResultPathSpec::Discard => Ok(raw.clone()),
            ResultPathSpec::Path(p) => {
                let mut out = raw.clone();
                p.set(&mut out, result)
                    .map_err(|e| Failure::reference_path_conflict(e.to_string()))?;
                Ok(out)
            }
        }
    }

    fn run_machine<'a, 'v: 'a>(
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

    async fn run_state<'a, 'v>(
        &'a self,
        state: &'a State,
        raw: Value,
        vars: &mut Vars<'v>,
        th: &mut Thread,
    ) -> Result<(Value, Option<&'a str>), Failure> {
        let entered = self.ex.clock.now();
        let entered_id = self.record(th, entered_type(&state.kind), || {
            EventDetails::StateEntered {
                name: state.name.clone(),
                input: compact(&raw),
            }
        });
        let open = aborted_type(&state.kind);
        if let Some(t) = open {
            self.open(th.id, OpenKind::State(t), entered_id);
        }
        let mut sc = StateCtx {
            name: state.name.clone(),
            entered,
            retry_count: 0,
        };
        let result = self.state_body(state, raw, vars, th, &mut sc).await;
        if open.is_some() {
            self.close(th.id, entered_id);
        }
        match result {
            Ok(o) => {
                if let Some(t) = exited_type(&state.kind) {
                    self.record(th, t, || EventDetails::StateExited {
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
                if f.fatal && !f.located {
                    f.cause = format!(
                        "An error occurred while executing the state '{}' (entered at the event id #{entered_id}). {}",
                        state.name, f.cause
                    );
                    f.located = true;
                }
                Err(f)
            }
        }
    }

    async fn state_body<'a, 'v>(
        &'a self,
        state: &'a State,
        raw: Value,
        vars: &mut Vars<'v>,
        th: &mut Thread,
        sc: &mut StateCtx,
    ) -> Result<Outcome<'a>, Failure> {
        let next = state.next.as_deref();
        match &state.kind {
            StateKind::Pass {
                parameters,
                result,
                result_path,
            } => {
                let eff = self.input_path(&state.input_path, &raw, sc, vars)?;
                let eff = match parameters {
                    Some(t) => self.eval_template(t, &eff, sc, vars)?,
                    None => eff,
                };
                let result = result.clone().unwrap_or(eff);
                let assigned = self.eval_assign(state.assign.as_ref(), &result, sc, vars)?;
                let out = self.result_path(result_path, &raw, result)?;
                let output = self.input_path(&state.output_path, &out, sc, vars)?;
                Ok(Outcome {
                    output,
                    next,
                    assigned,
                })
            }
            StateKind::Choice { choices, default } => {
                let eff = self.input_path(&state.input_path, &raw, sc, vars)?;
                let mut chosen = None;
                for c in choices {
                    if self.eval_rule(&c.rule, &eff, sc, vars)? {
                        chosen = Some((c.next.as_str(), c.assign.as_ref()));
                        break;
                    }
                }
                let (next, assign) = match (chosen, default) {
                    (Some(c), _) => c,
                    (None, Some(d)) => (d.as_str(), state.assign.as_ref()),
                    (None, None) => {
                        return Err(Failure::new(
                            "States.NoChoiceMatched",
                            format!("No Choice rule matched and there is no Default in the Choice state '{}'", state.name),
                        ))
                    }
                };
                let assigned = self.eval_assign(assign, &eff, sc, vars)?;
                let output = self.input_path(&state.output_path, &eff, sc, vars)?;
                Ok(Outcome {
                    output,
                    next: Some(next),
                    assigned,
                })
            }
            StateKind::Wait(w) => {
                let eff = self.input_path(&state.input_path, &raw, sc, vars)?;
                let delay = match w {
                    WaitFor::Seconds(s) => Duration::from_secs(*s),
                    WaitFor::SecondsPath(p) => {
                        let v = self.resolve(p, &eff, sc, vars)?;
                        match as_integer(&v).filter(|n| *n >= 0) {
                            Some(n) => Duration::from_secs(n as u64),
                            None => {
                                return Err(Failure::runtime(format!(
                                    "The SecondsPath parameter does not reference a valid integer value: {}",
                                    compact(&v)
                                )))
                            }
                        }
                    }
                    WaitFor::Timestamp(t) => until(*t, self.ex.clock.now()),
                    WaitFor::TimestampPath(p) => {
                        let v = self.resolve(p, &eff, sc, vars)?;
                        match v.as_str().and_then(parse_timestamp) {
                            Some(t) => until(t, self.ex.clock.now()),
                            None => {
                                return Err(Failure::runtime(format!(
                                    "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {}",
                                    compact(&v)
                                )))
                            }
                        }
                    }
                };
                if !delay.is_zero() {
                    self.ex.clock.sleep(delay).await;
                }
                let assigned = self.eval_assign(state.assign.as_ref(), &eff, sc, vars)?;
                let output = self.input_path(&state.output_path, &eff, sc, vars)?;
                Ok(Outcome {
                    output,
                    next,
                    assigned,
                })
            }
            StateKind::Succeed => {
                let eff = self.input_path(&state.input_path, &raw, sc, vars)?;
                let output = self.input_path(&state.output_path, &eff, sc, vars)?;
                Ok(Outcome {
                    output,
                    next: None,
                    assigned: Vec::new(),
                })
            }
            StateKind::Fail { error, cause } => {
                let error = self.text(error.as_ref(), &raw, sc, vars, "ErrorPath")?;
                let cause = self.text(cause.as_ref(), &raw, sc, vars, "CausePath")?;
                Err(Failure::new(error, cause))
            }
            StateKind::Task(_) | StateKind::Parallel(_) | StateKind::Map(_) => {
                self.retryable(state, raw, vars, th, sc).await
            }
        }
    }

    fn eval_rule(
        &self,
        rule: &Rule,
        input: &Value,
        sc: &StateCtx,
        vars: &Vars<'_>,
    ) -> Result<bool, Failure> {
        self.with_env(input, sc, vars, |env| rule.eval(env))
    }

    fn text(
        &self,
        t: Option<&Text>,
        raw: &Value,
        sc: &StateCtx,
        vars: &Vars<'_>,
        field: &str,
    ) -> Result<String, Failure> {
        let v = match t {
            None => return Ok(String::new()),
            Some(Text::Literal(s)) => return Ok(s.clone()),
            Some(Text::Path(p)) => self.resolve(p, raw, sc, vars)?,
            Some(Text::Call(c)) => self.with_env(raw, sc, vars, |env| c.eval(env))?,
        };
        match v {
            Value::String(s) => Ok(s),
            other => Err(Failure::runtime(format!(
                "The {field} must resolve to a string, got {}",
                compact(&other)
            ))),
        }
    }

    /// The retry and catch loop shared by Task, Parallel and Map.
    #[allow(clippy::too_many_arguments)]
    async fn retryable<'a, 'v>(
        &'a self,
        state: &'a State,
        raw: Value,
        vars: &mut Vars<'v>,
        th: &mut Thread,
        sc: &mut StateCtx,
    ) -> Result<Outcome<'a>, Failure> {
        let Some(handling) = state.kind.result_handling() else {
            return Err(Failure::runtime("not a retryable state"));
        };
        let eff = self.input_path(&state.input_path, &raw, sc, vars)?;
        let mut counters = RetryCounters::default();
        loop {
            let attempt = match &state.kind {
                StateKind::Task(t) => self.task_attempt(t, state, &eff, vars, th, sc).await,
                StateKind::Parallel(p) => self.parallel_attempt(p, &eff, vars, th, sc).await,
                StateKind::Map(m) => self.map_attempt(m, state, &eff, vars, th, sc).await,
                _ => Err(Failure::runtime("not a retryable state")),
            };
            match attempt {
                Ok(result) => {
                    let assigned = self.eval_assign(state.assign.as_ref(), &result, sc, vars)?;
                    let selected = match &handling.result_selector {
                        Some(t) => self.eval_template(t, &result, sc, vars)?,
                        None => result,
                    };
                    let out = self.result_path(&handling.result_path, &raw, selected)?;
                    let output = self.input_path(&state.output_path, &out, sc, vars)?;
                    return Ok(Outcome {
                        output,
                        next: state.next.as_deref(),
                        assigned,
                    });
                }
                Err(f) if f.fatal => return Err(f),
                Err(f) => {
                    if let Some(delay) =
                        counters.next_delay(&handling.retry, &f.error, &*self.ex.random)
                    {
                        if !delay.is_zero() {
                            self.ex.clock.sleep(delay).await;
                        }
                        sc.retry_count += 1;
                        continue;
                    }
                    let Some(c) = handling.catch.iter().find(|c| matches(&c.errors, &f.error))
                    else {
                        return Err(f);
                    };
                    let error_output = json!({"Error": f.error, "Cause": f.cause});
                    let assigned = self.eval_assign(c.assign.as_ref(), &error_output, sc, vars)?;
                    let output = self.result_path(&c.result_path, &raw, error_output)?;
                    return Ok(Outcome {
                        output,
                        next: Some(c.next.as_str()),
                        assigned,
                    });
                }
            }
        }
    }

    fn seconds(
        &self,
        s: Option<&Seconds>,
        input: &Value,
        sc: &StateCtx,
        vars: &Vars<'_>,
        field: &str,
    ) -> Result<Option<u64>, Failure> {
        match s {
            None => Ok(None),
            Some(Seconds::Fixed(n)) => Ok(Some(*n)),
            Some(Seconds::Path(p)) => {
                let v = self.resolve(p, input, sc, vars)?;
                match as_integer(&v).filter(|n| *n > 0) {
                    Some(n) => Ok(Some(n as u64)),
                    None => Err(Failure::runtime(format!(
                        "The {field} parameter does not reference a positive integer: {}",
                        compact(&v)
                    ))),
                }
            }
        }
    }

    async fn task_attempt(
        &self,
        t: &Task,
        state: &State,
        eff: &Value,
        vars: &Vars<'_>,
        th: &mut Thread,
        sc: &StateCtx,
    ) -> Result<Value, Failure> {
        let params = match &t.parameters {
            Some(tpl) => self.eval_template(tpl, eff, sc, vars)?,
            None => eff.clone(),
        };
        let timeout = self.seconds(t.timeout.as_ref(), eff, sc, vars, "TimeoutSecondsPath")?;
        let heartbeat =
            self.seconds(t.heartbeat.as_ref(), eff, sc, vars, "HeartbeatSecondsPath")?;
        let kind = classify(&t.resource);
        let with_limits = |mut d: Value| {
            if let Some(s) = timeout {
                d["timeoutInSeconds"] = json!(s);
            }
            if let Some(h) = heartbeat {
                d["heartbeatInSeconds"] = json!(h);
            }
            d
        };
        let (scheduled, started) = match &kind {
            ResourceKind::LambdaFunction { .. } => (
                (
                    EventType::LambdaFunctionScheduled,
                    with_limits(
                        json!({"resource": t.resource, "input": compact(&params), "inputDetails": not_truncated()}),
                    ),
                ),
                (EventType::LambdaFunctionStarted, Value::Null),
            ),
            ResourceKind::Activity => (
                (
                    EventType::ActivityScheduled,
                    with_limits(
                        json!({"resource": t.resource, "input": compact(&params), "inputDetails": not_truncated()}),
                    ),
                ),
                (
                    EventType::ActivityStarted,
                    json!({"workerName": "ecs-migrate"}),
                ),
            ),
            ResourceKind::Service {
                resource_type,
                resource,
                region,
            } => (
                (
                    EventType::TaskScheduled,
                    with_limits(json!({
                        "resourceType": resource_type,
                        "resource": resource,
                        "region": region.clone().unwrap_or_else(|| self.ex.region.clone()),
                        "parameters": compact(&params),
                    })),
                ),
                (
                    EventType::TaskStarted,
                    json!({"resourceType": resource_type, "resource": resource}),
                ),
            ),
        };
        self.record(th, scheduled.0, || scheduled.1);
        self.record(th, started.0, || started.1);
        let beat = Heartbeat::default();
        let call = TaskCall {
            resource: t.resource.clone(),
            state_name: state.name.to_string(),
            input: params,
            context: self.context(sc),
            timeout_seconds: timeout,
            heartbeat_seconds: heartbeat,
            heartbeat: beat.clone(),
        };
        let clock = &self.ex.clock;
        let invoke = self.ex.invoker.invoke(call);
        let timer = async {
            match timeout {
                Some(s) => clock.sleep(Duration::from_secs(s)).await,
                None => std::future::pending().await,
            }
        };
        // Only activities and callback tasks can send heartbeats; a request-response call
        // (a Lambda invocation, an SDK call) is bounded by TimeoutSeconds alone.
        let beats =
            matches!(kind, ResourceKind::Activity) || t.resource.ends_with(".waitForTaskToken");
        let watchdog = async {
            match heartbeat.filter(|_| beats) {
                Some(h) => loop {
                    let seen = beat.count();
                    clock.sleep(Duration::from_secs(h)).await;
                    if beat.count() == seen {
                        break;
                    }
                },
                None => std::future::pending().await,
            }
        };
        let outcome = tokio::select! {
            r = invoke => r.map_err(|f| (f.error, f.cause)),
            _ = timer => Err(("States.Timeout".to_string(), format!("The task exceeded its TimeoutSeconds ({}s)", timeout.unwrap_or_default()))),
            _ = watchdog => Err(("States.HeartbeatTimeout".to_string(), format!("The task sent no heartbeat for HeartbeatSeconds ({}s)", heartbeat.unwrap_or_default()))),
        };
        // "States.DataLimitExceeded": a result over the payload quota fails the task; only a
        // Retry or Catch naming the error handles it (States.ALL does not match it).
        let outcome = outcome.and_then(|result| {
            if json_len(&result) > MAX_PAYLOAD_BYTES {
                Err((
                    "States.DataLimitExceeded".to_string(),
                    format!("The state/task '{}' returned a result with a size exceeding the maximum number of bytes service limit.", t.resource),
                ))
            } else {
                Ok(result)
            }
        });
        let resource_fields = |mut d: Value| {
            if let ResourceKind::Service {
                resource_type,
                resource,
                ..
            } = &kind
            {
                d["resourceType"] = json!(resource_type);
                d["resource"] = json!(resource);
            }
            d
        };
        match outcome {
            Ok(result) => {
                let ty = match &kind {
                    ResourceKind::LambdaFunction { .. } => EventType::LambdaFunctionSucceeded,
                    ResourceKind::Activity => EventType::ActivitySucceeded,
                    ResourceKind::Service { .. } => EventType::TaskSucceeded,
                };
                self.record(th, ty, || {
                    resource_fields(
                        json!({"output": compact(&result), "outputDetails": not_truncated()}),
                    )
                });
                Ok(result)
            }
            Err((error, cause)) if error == "States.Runtime" => Err(Failure::runtime(cause)),
            Err((error, cause)) => {
                let timed_out =
                    matches!(error.as_str(), "States.Timeout" | "States.HeartbeatTimeout");
                let ty = match (&kind, timed_out) {
                    (ResourceKind::LambdaFunction { .. }, false) => EventType::LambdaFunctionFailed,
                    (ResourceKind::LambdaFunction { .. }, true) => {
                        EventType::LambdaFunctionTimedOut
                    }
                    (ResourceKind::Activity, false) => EventType::ActivityFailed,
                    (ResourceKind::Activity, true) => EventType::ActivityTimedOut,
                    (ResourceKind::Service { .. }, false) => EventType::TaskFailed,
                    (ResourceKind::Service { .. }, true) => EventType::TaskTimedOut,
                };
                self.record(th, ty, || {
                    resource_fields(json!({"error": error, "cause": cause}))
                });
                Err(Failure::new(error, cause))
            }
        }
    }

    async fn parallel_attempt(
        &self,
        p: &Parallel,
        eff: &Value,
        vars: &Vars<'_>,
        th: &mut Thread,
        sc: &StateCtx,
    ) -> Result<Value, Failure> {
        let input = match &p.parameters {
            Some(t) => self.eval_template(t, eff, sc, vars)?,
            None => eff.clone(),
        };
        let started = self.record(th, EventType::ParallelStateStarted, || Value::Null);
        let mut pending: Vec<u64> = Vec::with_capacity(p.branches.len());
        let mut running = FuturesUnordered::new();
        for (i, branch) in p.branches.iter().enumerate() {
            let tid = self.new_thread(th.id);
            pending.push(tid);
            let input = input.clone();
            running.push(async move {
                let mut t = Thread {
                    id: tid,
                    last: started,
                };
                let mut scope = Vars::child(vars);
                let r = self.run_machine(branch, input, &mut scope, &mut t).await;
                (i, tid, t.last, r)
            });
        }
        let mut results = vec![Value::Null; p.branches.len()];
        let mut failure = None;
        let mut last = started;
        while let Some((i, tid, branch_last, r)) = running.next().await {
            pending.retain(|t| *t != tid);
            last = last.max(branch_last);
            match r {
                Ok(v) => results[i] = v,
                Err(f) => {
                    failure = Some(f);
                    break;
                }
            }
        }
        drop(running);
        th.last = last;
        if let Some(f) = failure {
            self.abort_threads(&pending);
            self.record(th, EventType::ParallelStateFailed, || Value::Null);
            return Err(f);
        }
        self.record(th, EventType::ParallelStateSucceeded, || Value::Null);
        Ok(Value::Array(results))
    }

    fn amount(
        &self,
        a: Option<&Amount>,
        input: &Value,
        sc: &StateCtx,
        vars: &Vars<'_>,
        field: &str,
    ) -> Result<Option<f64>, Failure> {
        match a {
            None => Ok(None),
            Some(Amount::Fixed(n)) => Ok(Some(*n)),
            Some(Amount::Path(p)) => {
                let v = self.resolve(p, input, sc, vars)?;
                match v.as_f64().filter(|n| *n >= 0.0) {
                    Some(n) => Ok(Some(n)),
                    None => Err(Failure::runtime(format!(
                        "The {field} parameter does not reference a non-negative number: {}",
                        compact(&v)
                    ))),
                }
            }
        }
    }

    async fn map_attempt(
        &self,
        m: &MapState,
        state: &State,
        eff: &Value,
        vars: &Vars<'_>,
        th: &mut Thread,
        sc: &StateCtx,
    ) -> Result<Value, Failure> {
        if let Some(feature) = m.unsupported.first() {
            return Err(Failure::runtime(format!(
                "{feature} (distributed Map) is not supported by the local engine"
            )));
        }
        let items = match &m.items_path {
            Some(p) => self.resolve(p, eff, sc, vars)?,
            None => eff.clone(),
        };
        let Value::Array(items) = items else {
            return Err(Failure::runtime(format!(
                "Items of the Map state must be a JSON array, got {}",
                compact(&items)
            )));
        };
        let concurrency = self
            .amount(
                m.max_concurrency.as_ref(),
                eff,
                sc,
                vars,
                "MaxConcurrencyPath",
            )?
            .map(|n| n as usize)
            .filter(|n| *n > 0)
            .unwrap_or(usize::MAX);
        let tolerated_pct = self.amount(
            m.tolerated_percentage.as_ref(),
            eff,
            sc,
            vars,
            "ToleratedFailurePercentagePath",
        )?;
        let tolerated_count = self.amount(
            m.tolerated_count.as_ref(),
            eff,
            sc,
            vars,
            "ToleratedFailureCountPath",
        )?;
        let tolerant = tolerated_pct.is_some() || tolerated_count.is_some();
        let total = items.len();
        let started = self.record(th, EventType::MapStateStarted, || json!({"length": total}));

        // Iteration inputs: ItemSelector (or legacy Parameters) with $$.Map.Item.
        let mut inputs = Vec::with_capacity(total);
        for (index, item) in items.iter().enumerate() {
            let input = match &m.item_selector {
                Some(t) => {
                    let ctx = || {
                        let mut c = self.context(sc);
                        c["Map"] = json!({"Item": {"Index": index, "Value": item}});
                        c
                    };
                    let env = Env {
                        input: eff,
                        context: &ctx,
                        vars,
                        random: &*self.ex.random,
                    };
                    t.eval(&env).map_err(Failure::runtime)?
                }
                None => item.clone(),
            };
            inputs.push(input);
        }

        let mut results = vec![Value::Null; total];
        let mut queue = inputs.into_iter().enumerate();
        let mut running = FuturesUnordered::new();
        let mut live: Vec<u64> = Vec::new();
        let mut failed = 0usize;
        let mut failure: Option<Failure> = None;
        let mut last = started;
        let parent = th.id;
        let launch = |index: usize, input: Value| {
            let tid = self.new_thread(parent);
            let it = self.record_at(
                EventType::MapIterationStarted,
                started,
                || json!({"index": index, "name": state.name}),
            );
            self.open(
                tid,
                OpenKind::Iteration {
                    name: state.name.to_string(),
                    index,
                },
                it,
            );
            let fut = async move {
                let mut t = Thread { id: tid, last: it };
                let mut scope = Vars::child(vars);
                let r = self
                    .run_machine(&m.processor, input, &mut scope, &mut t)
                    .await;
                (index, tid, it, t.last, r)
            };
            (tid, fut)
        };
        for _ in 0..concurrency.min(total) {
            if let Some((i, input)) = queue.next() {
                let (tid, fut) = launch(i, input);
                live.push(tid);
                running.push(fut);
            }
        }
        while let Some((index, tid, it, it_last, r)) = running.next().await {
            live.retain(|t| *t != tid);
            self.close(tid, it);
            match r {
                Ok(v) => {
                    last = self.record_at(
                        EventType::MapIterationSucceeded,
                        it_last,
                        || json!({"index": index, "name": state.name}),
                    );
                    results[index] = v;
                }
                Err(f) => {
                    last = self.record_at(
                        EventType::MapIterationFailed,
                        it_last,
                        || json!({"index": index, "name": state.name}),
                    );
                    failed += 1;
                    let exceeded = !tolerant
                        || f.fatal
                        || tolerated_count.is_some_and(|c| failed as f64 > c)
                        || tolerated_pct.is_some_and(|p| failed as f64 * 100.0 > p * total as f64);
                    if exceeded {
                        failure = Some(if tolerant && !f.fatal {
                            Failure::new(
                                "States.ExceedToleratedFailureThreshold",
                                format!(
                                    "The specified tolerated failure threshold was exceeded: {failed} of {total} items failed"
                                ),
                            )
                        } else {
                            f
                        });
                        break;
                    }
                    results[index] = json!({"Error": f.error, "Cause": f.cause});
                }
            }
            if let Some((i, input)) = queue.next() {
                let (tid, fut) = launch(i, input);
                live.push(tid);
                running.push(fut);
            }
        }
        drop(running);
        th.last = last;
        if let Some(f) = failure {
            self.abort_threads(&live);
            self.record(th, EventType::MapStateFailed, || Value::Null);
            return Err(f);
        }
        self.record(th, EventType::MapStateSucceeded, || Value::Null);
        Ok(Value::Array(results))
    }
}

fn until(t: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (t - now).to_std().unwrap_or(Duration::ZERO)
}
