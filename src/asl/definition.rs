//! Parsing and statically checking a state machine definition. [`Definition::parse`] reports
//! every problem it finds, each with the JSON pointer of the offending field, so one run of
//! `ecs-migrate asl validate` shows all of them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::choice::ChoiceRule;
use super::intrinsics::Intrinsic;
use super::path::Path;
use super::problem::{Problem, Problems, Ptr};
use super::retry::{parse_catch, parse_retry, Catcher, Retrier};
use super::template::{Assign, Template};
use super::value::parse_timestamp;

/// Limits from the Step Functions quotas and field definitions.
const MAX_SECONDS: u64 = 99_999_999;
const MAX_NAME_LEN: usize = 80;

/// A parsed, checked state machine definition.
#[derive(Debug, Clone)]
pub struct Definition {
    pub(crate) root: Machine,
    pub(crate) timeout_seconds: Option<u64>,
    pub(crate) comment: Option<String>,
}

/// A `StartAt` + `States` block: the top level, a Parallel branch or a Map's processor.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    pub start_at: String,
    pub states: Vec<State>,
    index: HashMap<String, usize>,
}

impl Machine {
    pub fn get(&self, name: &str) -> Option<&State> {
        self.index.get(name).and_then(|&i| self.states.get(i))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct State {
    /// Shared with the history events that name the state.
    pub name: Arc<str>,
    pub input_path: IoPath,
    pub output_path: IoPath,
    /// `Some(name)` for Next, `None` for End (or a state that never transitions).
    pub next: Option<String>,
    pub assign: Option<Assign>,
    pub kind: StateKind,
}

/// `InputPath` / `OutputPath`: absent means `$`, `null` means `{}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum IoPath {
    Whole,
    Empty,
    Path(Path),
}

/// `ResultPath`: absent means `$` (the result replaces the input), `null` discards the result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ResultPathSpec {
    Replace,
    Discard,
    Path(Path),
}

impl ResultPathSpec {
    pub fn parse(v: Option<&Value>, ptr: &Ptr, problems: &mut Problems) -> Self {
        match v {
            None => Self::Replace,
            Some(Value::Null) => Self::Discard,
            Some(Value::String(s)) => match Path::parse_reference(s) {
                Ok(p) if *p.root() == super::path::Root::Input => Self::Path(p),
                Ok(_) => {
                    problems.add(
                        ptr,
                        "ResultPath must start with $ (it writes into the state's data)",
                    );
                    Self::Replace
                }
                Err(e) => {
                    problems.add(ptr, e.to_string());
                    Self::Replace
                }
            },
            Some(_) => {
                problems.add(ptr, "ResultPath must be a reference path string or null");
                Self::Replace
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seconds {
    Fixed(u64),
    Path(Path),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WaitFor {
    Seconds(u64),
    SecondsPath(Path),
    Timestamp(DateTime<Utc>),
    TimestampPath(Path),
}

/// Fail's Error/Cause: literal, path or intrinsic.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Text {
    Literal(String),
    Path(Path),
    Call(Intrinsic),
}

/// What a Task, Parallel or Map state does with its result and its errors: the part the
/// executor's one retry/catch loop runs for all three.
#[derive(Debug, Clone)]
pub(crate) struct ResultHandling {
    pub result_selector: Option<Template>,
    pub result_path: ResultPathSpec,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

impl ResultHandling {
    fn parse(
        obj: &Map<String, Value>,
        ptr: &Ptr,
        names: &[String],
        problems: &mut Problems,
    ) -> Self {
        Self {
            result_selector: template(obj, "ResultSelector", ptr, problems),
            result_path: ResultPathSpec::parse(
                obj.get("ResultPath"),
                &ptr.key("ResultPath"),
                problems,
            ),
            retry: obj
                .get("Retry")
                .map(|r| parse_retry(r, &ptr.key("Retry"), problems))
                .unwrap_or_default(),
            catch: obj
                .get("Catch")
                .map(|c| parse_catch(c, &ptr.key("Catch"), names, problems))
                .unwrap_or_default(),
        }
    }
}

impl StateKind {
    /// The result and error handling of a task-like state; `None` for the others.
    pub(crate) fn result_handling(&self) -> Option<&ResultHandling> {
        match self {
            StateKind::Task(t) => Some(&t.handling),
            StateKind::Parallel(p) => Some(&p.handling),
            StateKind::Map(m) => Some(&m.handling),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub resource: String,
    pub parameters: Option<Template>,
    pub handling: ResultHandling,
    pub timeout: Option<Seconds>,
    pub heartbeat: Option<Seconds>,
}

#[derive(Debug, Clone)]
pub(crate) struct Parallel {
    pub branches: Vec<Machine>,
    pub parameters: Option<Template>,
    pub handling: ResultHandling,
}

/// A number of items or a percentage, given literally or by a path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Amount {
    Fixed(f64),
    Path(Path),
}

#[derive(Debug, Clone)]
pub(crate) struct MapState {
    pub processor: Machine,
    pub items_path: Option<Path>,
    pub item_selector: Option<Template>,
    pub handling: ResultHandling,
    pub max_concurrency: Option<Amount>,
    pub tolerated_percentage: Option<Amount>,
    pub tolerated_count: Option<Amount>,
    /// Distributed-map features this engine cannot run (ItemReader, ItemBatcher, ResultWriter).
    pub unsupported: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) enum StateKind {
    Pass {
        parameters: Option<Template>,
        result: Option<Value>,
        result_path: ResultPathSpec,
    },
    Task(Box<Task>),
    Choice {
        choices: Vec<ChoiceRule>,
        default: Option<String>,
    },
    Wait(WaitFor),
    Succeed,
    Fail {
        error: Option<Text>,
        cause: Option<Text>,
    },
    Parallel(Box<Parallel>),
    Map(Box<MapState>),
}

/// A definition that could not be read at all (before checking).
#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    #[error("the definition is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{} problem(s) in the definition:\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

impl Definition {
    /// Parses and checks a definition, returning every problem found.
    pub fn parse(value: &Value) -> Result<Self, Vec<Problem>> {
        let mut problems = Problems::default();
        let def = parse_definition(value, &mut problems);
        match def {
            Some(d) if problems.0.is_empty() => Ok(d),
            _ => {
                if problems.0.is_empty() {
                    problems.add(&Ptr::root(), "the definition could not be read");
                }
                Err(problems.0)
            }
        }
    }

    /// Parses JSON text and checks it.
    pub fn from_json_str(text: &str) -> Result<Self, DefinitionError> {
        let value: Value = serde_json::from_str(text)?;
        Self::parse(&value).map_err(DefinitionError::Invalid)
    }

    /// The state machine's `TimeoutSeconds`, if set.
    pub fn timeout_seconds(&self) -> Option<u64> {
        self.timeout_seconds
    }

    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    pub fn start_at(&self) -> &str {
        &self.root.start_at
    }

    /// Names of the top-level states in definition order.
    pub fn state_names(&self) -> Vec<&str> {
        self.root.states.iter().map(|s| &*s.name).collect()
    }

    /// Every Task state anywhere (including Parallel branches and Map processors), with
    /// its Resource.
    pub fn tasks(&self) -> Vec<(&str, &str)> {
        fn walk<'a>(m: &'a Machine, out: &mut Vec<(&'a str, &'a str)>) {
            for s in &m.states {
                match &s.kind {
                    StateKind::Task(t) => out.push((&s.name, &t.resource)),
                    StateKind::Parallel(p) => p.branches.iter().for_each(|b| walk(b, out)),
                    StateKind::Map(m) => walk(&m.processor, out),
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out
    }
}

const TOP_FIELDS: [&str; 6] = [
    "Comment",
    "StartAt",
    "States",
    "TimeoutSeconds",
    "Version",
    "QueryLanguage",
];
const COMMON: [&str; 3] = ["Type", "Comment", "QueryLanguage"];
const JSONATA_FIELDS: [&str; 3] = ["Arguments", "Output", "Items"];

fn allowed_fields(ty: &str) -> &'static [&'static str] {
    match ty {
        "Pass" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "Result",
            "ResultPath",
            "Assign",
        ],
        "Task" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Resource",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
            "Credentials",
            "Assign",
        ],
        "Choice" => &["InputPath", "OutputPath", "Choices", "Default", "Assign"],
        "Wait" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Seconds",
            "SecondsPath",
            "Timestamp",
            "TimestampPath",
            "Assign",
        ],
        "Succeed" => &["InputPath", "OutputPath"],
        "Fail" => &["Error", "ErrorPath", "Cause", "CausePath"],
        "Parallel" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Branches",
            "Assign",
        ],
        "Map" => &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "ItemsPath",
            "ItemSelector",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Iterator",
            "ItemProcessor",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ItemReader",
            "ItemBatcher",
            "ResultWriter",
            "Label",
            "Assign",
        ],
        _ => &[],
    }
}

fn parse_definition(value: &Value, problems: &mut Problems) -> Option<Definition> {
    let root = Ptr::root();
    let Some(obj) = value.as_object() else {
        problems.add(&root, "a state machine definition must be a JSON object");
        return None;
    };
    for key in obj.keys() {
        if !TOP_FIELDS.contains(&key.as_str()) {
            problems.add(&root.key(key), format!("unknown top-level field \"{key}\""));
        }
    }
    check_query_language(obj, &root, problems);
    let timeout_seconds = match obj.get("TimeoutSeconds") {
        None => None,
        Some(v) => match v.as_u64().filter(|n| (1..=MAX_SECONDS).contains(n)) {
            Some(n) => Some(n),
            None => {
                problems.add(
                    &root.key("TimeoutSeconds"),
                    format!("TimeoutSeconds must be an integer from 1 to {MAX_SECONDS}"),
                );
                None
            }
        },
    };
    if let Some(v) = obj.get("Version") {
        if !v.is_string() {
            problems.add(&root.key("Version"), "Version must be a string");
        }
    }
    let comment = comment(obj, &root, problems);
    let mut seen = HashMap::new();
    let machine = parse_machine(obj, &root, problems, &mut seen, false)?;
    Some(Definition {
        root: machine,
        timeout_seconds,
        comment,
    })
}

fn comment(obj: &Map<String, Value>, ptr: &Ptr, problems: &mut Problems) -> Option<String> {
    match obj.get("Comment") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            problems.add(&ptr.key("Comment"), "Comment must be a string");
            None
        }
    }
}

fn check_query_language(obj: &Map<String, Value>, ptr: &Ptr, problems: &mut Problems) {
    match obj.get("QueryLanguage") {
        None => {}
        Some(Value::String(s)) if s == "JSONPath" => {}
        Some(Value::String(s)) if s == "JSONata" => problems.add(
            &ptr.key("QueryLanguage"),
            "JSONata is not supported by this engine; use the JSONPath query language",
        ),
        Some(_) => problems.add(
            &ptr.key("QueryLanguage"),
            "QueryLanguage must be \"JSONPath\" or \"JSONata\"",
        ),
    }
}

/// Parses a StartAt/States block. `seen` maps every state name in the whole definition to the
/// pointer where it was first declared (names must be unique across the definition).
fn parse_machine(
    obj: &Map<String, Value>,
    ptr: &Ptr,
    problems: &mut Problems,
    seen: &mut HashMap<String, String>,
    nested: bool,
) -> Option<Machine> {
    if nested {
        for key in obj.keys() {
            if !matches!(
                key.as_str(),
                "StartAt" | "States" | "Comment" | "ProcessorConfig"
            ) {
                problems.add(&ptr.key(key), format!("unknown field \"{key}\""));
            }
        }
        comment(obj, ptr, problems);
    }
    let start_at = match obj.get("StartAt") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            problems.add(&ptr.key("StartAt"), "StartAt must be a string");
            None
        }
        None => {
            problems.add(&ptr.key("StartAt"), "StartAt is required");
            None
        }
    };
    let states_ptr = ptr.key("States");
    let states_obj = match obj.get("States") {
        Some(Value::Object(m)) if !m.is_empty() => Some(m),
        Some(Value::Object(_)) => {
            problems.add(&states_ptr, "States must contain at least one state");
            None
        }
        Some(_) => {
            problems.add(&states_ptr, "States must be a JSON object");
            None
        }
        None => {
            problems.add(&states_ptr, "States is required");
            None
        }
    };
    let states_obj = states_obj?;
    let names: Vec<String> = states_obj.keys().cloned().collect();
    if let Some(start) = &start_at {
        if !names.contains(start) {
            problems.add(&ptr.key("StartAt"), format!("no such state \"{start}\""));
        }
    }
    let mut states = Vec::with_capacity(names.len());
    for (name, v) in states_obj {
        let p = states_ptr.key(name);
        if let Some(first) = seen.get(name) {
            problems.add(
                &p,
                format!("duplicate state name \"{name}\" (also declared at {first})"),
            );
        } else {
            seen.insert(name.clone(), p.as_str().to_string());
        }
        if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
            problems.add(
                &p,
                format!("state names must be 1 to {MAX_NAME_LEN} characters long"),
            );
        }
        if let Some(s) = parse_state(name, v, &p, &names, problems, seen) {
            states.push(s);
        }
    }
    let start_at = start_at?;
    let index = states
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.to_string(), i))
        .collect();
    let machine = Machine {
        start_at,
        states,
        index,
    };
    check_reachability(&machine, &states_ptr, states_obj, problems);
    Some(machine)
}

fn check_reachability(
    m: &Machine,
    states_ptr: &Ptr,
    states_obj: &Map<String, Value>,
    problems: &mut Problems,
) {
    // States that failed to parse still count as present; skip the check for them.
    if m.states.len() != states_obj.len() {
        return;
    }
    let mut reached: HashSet<&str> = HashSet::new();
    let mut queue: VecDeque<&str> = VecDeque::from([m.start_at.as_str()]);
    while let Some(name) = queue.pop_front() {
        if !reached.insert(name) {
            continue;
        }
        let Some(state) = m.get(name) else { continue };
        for t in transitions(state) {
            queue.push_back(t);
        }
    }
    for s in &m.states {
        if !reached.contains(&*s.name) {
            problems.add(
                &states_ptr.key(&s.name),
                format!("state \"{}\" is not reachable from StartAt", s.name),
            );
        }
    }
}

/// Every state a state can go to (Next, Choices, Default, Catch).
pub(crate) fn transitions(state: &State) -> Vec<&str> {
    let mut out: Vec<&str> = state.next.iter().map(String::as_str).collect();
    match &state.kind {
        StateKind::Choice { choices, default } => {
            out.extend(choices.iter().map(|c| c.next.as_str()));
            out.extend(default.iter().map(String::as_str));
        }
        kind => {
            if let Some(handling) = kind.result_handling() {
                out.extend(handling.catch.iter().map(|c| c.next.as_str()));
            }
        }
    }
    out
}

fn parse_io_path(
    obj: &Map<String, Value>,
    key: &str,
    ptr: &Ptr,
    problems: &mut Problems,
) -> IoPath {
    match obj.get(key) {
        None => IoPath::Whole,
        Some(Value::Null) => IoPath::Empty,
        Some(Value::String(s)) => match Path::parse(s) {
            Ok(p) => IoPath::Path(p),
            Err(e) => {
                problems.add(&ptr.key(key), e.to_string());
                IoPath::Whole
            }
        },
        Some(_) => {
            problems.add(
                &ptr.key(key),
                format!("{key} must be a path string or null"),
            );
            IoPath::Whole
        }
    }
}

fn reference_path(
    obj: &Map<String, Value>,
    key: &str,
    ptr: &Ptr,
    problems: &mut Problems,
) -> Option<Path> {
    let v = obj.get(key)?;
    match v.as_str().map(Path::parse_reference) {
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            problems.add(&ptr.key(key), e.to_string());
            None
        }
        None => {
            problems.add(
                &ptr.key(key),
                format!("{key} must be a reference path string"),
            );
            None
        }
    }
}

fn template(
    obj: &Map<String, Value>,
    key: &str,
    ptr: &Ptr,
    problems: &mut Problems,
) -> Option<Template> {
    let v = obj.get(key)?;
    if !v.is_object() && key != "Parameters" {
        problems.add(&ptr.key(key), format!("{key} must be a JSON object"));
        return None;
    }
    Some(Template::parse(v, &ptr.key(key), problems))
}

/// The `...Path` alternative of a field (`Seconds` -> `SecondsPath`); setting both is a
/// problem, reported on the path field.
fn path_alternative(
    obj: &Map<String, Value>,
    key: &str,
    ptr: &Ptr,
    problems: &mut Problems,
) -> String {
    let path_key = format!("{key}Path");
    if obj.contains_key(key) && obj.contains_key(&path_key) {
        problems.add(
            &ptr.key(&path_key),
            format!("{key} and {path_key} cannot both be set"),
        );
    }
    path_key
}

/// An integer field with an optional `...Path` alternative; both given is a problem.
fn seconds_field(
    obj: &Map<String, Value>,
    key: &str,
    ptr: &Ptr,
    min: u64,
    problems: &mut Problems,
) -> Option<Seconds> {
    let path_key = path_alternative(obj, key, ptr, problems);
    if let Some(v) = obj.get(key) {
        return match v.as_u64().filter(|n| (min..=MAX_SECONDS).contains(n)) {
            Some(n) => Some(Seconds::Fixed(n)),
            None => {
                problems.add(
                    &ptr.key(key),
                    format!("{key} must be an integer from {min} to {MAX_SECONDS}"),
                );
                None
            }
        };
    }
    reference_path(obj, &path_key, ptr, problems).map(Seconds::Path)
}

fn amount_field(
    obj: &Map<String, Value>,
    key: &str,
    ptr: &Ptr,
    max: f64,
    integer: bool,
    problems: &mut Problems,
) -> Option<Amount> {
    let path_key = path_alternative(obj, key, ptr, problems);
    if let Some(v) = obj.get(key) {
        let ok = v
            .as_f64()
            .filter(|n| *n >= 0.0 && *n <= max && (!integer || n.fract() == 0.0));
        return match ok {
            Some(n) => Some(Amount::Fixed(n)),
            None => {
                let what = if integer { "an integer" } else { "a number" };
                problems.add(
                    &ptr.key(key),
                    format!("{key} must be {what} from 0 to {max}"),
                );
                None
            }
        };
    }
    reference_path(obj, &path_key, ptr, problems).map(Amount::Path)
}

fn text_field(
    obj: &Map<String, Value>,
    key: &str,
    ptr: &Ptr,
    problems: &mut Problems,
) -> Option<Text> {
    let path_key = path_alternative(obj, key, ptr, problems);
    if let Some(v) = obj.get(key) {
        return match v {
            Value::String(s) => Some(Text::Literal(s.clone())),
            _ => {
                problems.add(&ptr.key(key), format!("{key} must be a string"));
                None
            }
        };
    }
    let v = obj.get(&path_key)?;
    let p = ptr.key(&path_key);
    let Some(s) = v.as_str() else {
        problems.add(
            &p,
            format!("{path_key} must be a path or an intrinsic function string"),
        );
        return None;
    };
    if Intrinsic::looks_like_call(s) {
        match Intrinsic::parse(s) {
            Ok(c) => Some(Text::Call(c)),
            Err(e) => {
                problems.add(&p, e.to_string());
                None
            }
        }
    } else {
        match Path::parse_reference(s) {
            Ok(path) => Some(Text::Path(path)),
            Err(e) => {
                problems.add(&p, e.to_string());
                None
            }
        }
    }
}

fn parse_state(
    name: &str,
    v: &Value,
    ptr: &Ptr,
    names: &[String],
    problems: &mut Problems,
    seen: &mut HashMap<String, String>,
) -> Option<State> {
    let Some(obj) = v.as_object() else {
        problems.add(ptr, "a state must be a JSON object");
        return None;
    };
    let ty = match obj.get("Type") {
        Some(Value::String(t)) => t.as_str(),
        Some(_) => {
            problems.add(&ptr.key("Type"), "Type must be a string");
            return None;
        }
        None => {
            problems.add(&ptr.key("Type"), "Type is required");
            return None;
        }
    };
    let allowed = allowed_fields(ty);
    if allowed.is_empty() {
        problems.add(
            &ptr.key("Type"),
            format!("unknown state type \"{ty}\" (expected Pass, Task, Choice, Wait, Succeed, Fail, Parallel or Map)"),
        );
        return None;
    }
    for key in obj.keys() {
        if JSONATA_FIELDS.contains(&key.as_str()) {
            problems.add(
                &ptr.key(key),
                format!("{key} is JSONata; this engine runs JSONPath definitions"),
            );
        } else if !allowed.contains(&key.as_str()) && !COMMON.contains(&key.as_str()) {
            problems.add(
                &ptr.key(key),
                format!("field \"{key}\" is not allowed in a {ty} state"),
            );
        }
    }
    check_query_language(obj, ptr, problems);
    comment(obj, ptr, problems);

    // Next / End.
    let terminal_by_type = matches!(ty, "Choice" | "Succeed" | "Fail");
    let next = match obj.get("Next") {
        Some(Value::String(n)) => {
            if !names.contains(n) {
                problems.add(&ptr.key("Next"), format!("no such state \"{n}\""));
            }
            Some(n.clone())
        }
        Some(_) => {
            problems.add(&ptr.key("Next"), "Next must be a string");
            None
        }
        None => None,
    };
    let end = match obj.get("End") {
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            problems.add(&ptr.key("End"), "End must be a boolean");
            false
        }
        None => false,
    };
    if !terminal_by_type {
        if next.is_some() && end {
            problems.add(&ptr.key("End"), "a state cannot have both Next and End");
        } else if next.is_none() && !end && !obj.contains_key("Next") {
            problems.add(
                &ptr.key("Next"),
                format!("a {ty} state needs Next or \"End\": true"),
            );
        }
    }

    let input_path = if ty == "Fail" {
        IoPath::Whole
    } else {
        parse_io_path(obj, "InputPath", ptr, problems)
    };
    let output_path = if ty == "Fail" {
        IoPath::Whole
    } else {
        parse_io_path(obj, "OutputPath", ptr, problems)
    };
    let assign = obj
        .get("Assign")
        .and_then(|a| Assign::parse(a, &ptr.key("Assign"), problems));

    let kind = match ty {
        "Pass" => StateKind::Pass {
            parameters: template(obj, "Parameters", ptr, problems),
            result: obj.get("Result").cloned(),
            result_path: ResultPathSpec::parse(
                obj.get("ResultPath"),
                &ptr.key("ResultPath"),
                problems,
            ),
        },
        "Task" => {
            let resource = match obj.get("Resource") {
                Some(Value::String(r)) if !r.is_empty() => r.clone(),
                Some(_) => {
                    problems.add(
                        &ptr.key("Resource"),
                        "Resource must be a non-empty string (an ARN)",
                    );
                    String::new()
                }
                None => {
                    problems.add(&ptr.key("Resource"), "Resource is required in a Task state");
                    String::new()
                }
            };
            let timeout = seconds_field(obj, "TimeoutSeconds", ptr, 1, problems);
            let heartbeat = seconds_field(obj, "HeartbeatSeconds", ptr, 1, problems);
            if let (Some(Seconds::Fixed(t)), Some(Seconds::Fixed(h))) = (&timeout, &heartbeat) {
                if h >= t {
                    problems.add(
                        &ptr.key("HeartbeatSeconds"),
                        "HeartbeatSeconds must be smaller than TimeoutSeconds",
                    );
                }
            }
            StateKind::Task(Box::new(Task {
                resource,
                parameters: template(obj, "Parameters", ptr, problems),
                handling: ResultHandling::parse(obj, ptr, names, problems),
                timeout,
                heartbeat,
            }))
        }
        "Choice" => {
            let cp = ptr.key("Choices");
            let choices = match obj.get("Choices") {
                Some(Value::Array(list)) if !list.is_empty() => list
                    .iter()
                    .enumerate()
                    .filter_map(|(i, r)| ChoiceRule::parse(r, &cp.index(i), names, problems))
                    .collect(),
                Some(_) => {
                    problems.add(&cp, "Choices must be a non-empty array of choice rules");
                    Vec::new()
                }
                None => {
                    problems.add(&cp, "Choices is required in a Choice state");
                    Vec::new()
                }
            };
            let default = match obj.get("Default") {
                Some(Value::String(d)) => {
                    if !names.contains(d) {
                        problems.add(&ptr.key("Default"), format!("no such state \"{d}\""));
                    }
                    Some(d.clone())
                }
                Some(_) => {
                    problems.add(&ptr.key("Default"), "Default must be a string");
                    None
                }
                None => None,
            };
            for f in ["Next", "End"] {
                if obj.contains_key(f) {
                    problems.add(
                        &ptr.key(f),
                        format!("a Choice state cannot have {f}; use Choices and Default"),
                    );
                }
            }
            StateKind::Choice { choices, default }
        }
        "Wait" => {
            let given: Vec<&str> = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
                .into_iter()
                .filter(|k| obj.contains_key(*k))
                .collect();
            if given.len() != 1 {
                problems.add(ptr, "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp or TimestampPath");
            }
            let wait = match given.first().copied() {
                Some("Seconds") => match obj
                    .get("Seconds")
                    .and_then(Value::as_u64)
                    .filter(|n| *n <= MAX_SECONDS)
                {
                    Some(n) => Some(WaitFor::Seconds(n)),
                    None => {
                        problems.add(
                            &ptr.key("Seconds"),
                            format!("Seconds must be an integer from 0 to {MAX_SECONDS}"),
                        );
                        None
                    }
                },
                Some("Timestamp") => {
                    match obj
                        .get("Timestamp")
                        .and_then(Value::as_str)
                        .and_then(parse_timestamp)
                    {
                        Some(t) => Some(WaitFor::Timestamp(t)),
                        None => {
                            problems.add(&ptr.key("Timestamp"), "Timestamp must be an RFC 3339 timestamp such as 2016-03-14T01:59:00Z");
                            None
                        }
                    }
                }
                Some("SecondsPath") => {
                    reference_path(obj, "SecondsPath", ptr, problems).map(WaitFor::SecondsPath)
                }
                Some("TimestampPath") => {
                    reference_path(obj, "TimestampPath", ptr, problems).map(WaitFor::TimestampPath)
                }
                _ => None,
            };
            StateKind::Wait(wait.unwrap_or(WaitFor::Seconds(0)))
        }
        "Succeed" => StateKind::Succeed,
        "Fail" => StateKind::Fail {
            error: text_field(obj, "Error", ptr, problems),
            cause: text_field(obj, "Cause", ptr, problems),
        },
        "Parallel" => {
            let bp = ptr.key("Branches");
            let branches = match obj.get("Branches") {
                Some(Value::Array(list)) if !list.is_empty() => list
                    .iter()
                    .enumerate()
                    .filter_map(|(i, b)| match b.as_object() {
                        Some(o) => parse_machine(o, &bp.index(i), problems, seen, true),
                        None => {
                            problems.add(
                                &bp.index(i),
                                "a branch must be a JSON object with StartAt and States",
                            );
                            None
                        }
                    })
                    .collect(),
                Some(_) => {
                    problems.add(&bp, "Branches must be a non-empty array");
                    Vec::new()
                }
                None => {
                    problems.add(&bp, "Branches is required in a Parallel state");
                    Vec::new()
                }
            };
            StateKind::Parallel(Box::new(Parallel {
                branches,
                parameters: template(obj, "Parameters", ptr, problems),
                handling: ResultHandling::parse(obj, ptr, names, problems),
            }))
        }
        "Map" => parse_map(obj, ptr, names, problems, seen)?,
        _ => return None,
    };
    Some(State {
        name: name.into(),
        input_path,
        output_path,
        next: if terminal_by_type { None } else { next },
        assign,
        kind,
    })
}

fn parse_map(
    obj: &Map<String, Value>,
    ptr: &Ptr,
    names: &[String],
    problems: &mut Problems,
    seen: &mut HashMap<String, String>,
) -> Option<StateKind> {
    let processor_key = match (
        obj.contains_key("ItemProcessor"),
        obj.contains_key("Iterator"),
    ) {
        (true, true) => {
            problems.add(
                &ptr.key("Iterator"),
                "ItemProcessor and Iterator cannot both be set",
            );
            "ItemProcessor"
        }
        (true, false) => "ItemProcessor",
        (false, true) => "Iterator",
        (false, false) => {
            problems.add(
                &ptr.key("ItemProcessor"),
                "ItemProcessor (or the legacy Iterator) is required in a Map state",
            );
            return None;
        }
    };
    let pp = ptr.key(processor_key);
    let Some(pobj) = obj.get(processor_key).and_then(Value::as_object) else {
        problems.add(
            &pp,
            format!("{processor_key} must be a JSON object with StartAt and States"),
        );
        return None;
    };
    if let Some(cfg) = pobj.get("ProcessorConfig") {
        let cp = pp.key("ProcessorConfig");
        match cfg.as_object() {
            Some(c) => {
                for (k, v) in c {
                    match k.as_str() {
                        "Mode" if matches!(v.as_str(), Some("INLINE" | "DISTRIBUTED")) => {}
                        "Mode" => {
                            problems.add(&cp.key("Mode"), "Mode must be INLINE or DISTRIBUTED")
                        }
                        "ExecutionType" if matches!(v.as_str(), Some("STANDARD" | "EXPRESS")) => {}
                        "ExecutionType" => {
                            problems.add(&cp.key(k), "ExecutionType must be STANDARD or EXPRESS")
                        }
                        _ => problems.add(
                            &cp.key(k),
                            format!("unknown field \"{k}\" in ProcessorConfig"),
                        ),
                    }
                }
            }
            None => problems.add(&cp, "ProcessorConfig must be a JSON object"),
        }
    }
    let processor = parse_machine(pobj, &pp, problems, seen, true)?;
    if obj.contains_key("ItemSelector") && obj.contains_key("Parameters") {
        problems.add(
            &ptr.key("Parameters"),
            "ItemSelector and Parameters cannot both be set (Parameters is the legacy name)",
        );
    }
    let item_selector = template(obj, "ItemSelector", ptr, problems)
        .or_else(|| template(obj, "Parameters", ptr, problems));
    let unsupported = ["ItemReader", "ItemBatcher", "ResultWriter"]
        .into_iter()
        .filter(|k| obj.contains_key(*k))
        .map(String::from)
        .collect();
    if let Some(l) = obj.get("Label") {
        if !l.is_string() {
            problems.add(&ptr.key("Label"), "Label must be a string");
        }
    }
    Some(StateKind::Map(Box::new(MapState {
        processor,
        items_path: reference_path(obj, "ItemsPath", ptr, problems),
        item_selector,
        handling: ResultHandling::parse(obj, ptr, names, problems),
        max_concurrency: amount_field(
            obj,
            "MaxConcurrency",
            ptr,
            MAX_SECONDS as f64,
            true,
            problems,
        ),
        tolerated_percentage: amount_field(
            obj,
            "ToleratedFailurePercentage",
            ptr,
            100.0,
            false,
            problems,
        ),
        tolerated_count: amount_field(
            obj,
            "ToleratedFailureCount",
            ptr,
            MAX_SECONDS as f64,
            true,
            problems,
        ),
        unsupported,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(v: Value) -> Vec<String> {
        match Definition::parse(&v) {
            Ok(_) => Vec::new(),
            Err(p) => p.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn minimal_definition_parses() {
        let d = Definition::parse(&json!({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}))
            .unwrap();
        assert_eq!(d.start_at(), "A");
        assert_eq!(d.state_names(), ["A"]);
    }

    #[test]
    fn non_objects_do_not_panic() {
        for v in [
            json!(null),
            json!([]),
            json!("x"),
            json!({"States": []}),
            json!({"StartAt": 1, "States": {"A": 1}}),
        ] {
            assert!(Definition::parse(&v).is_err());
        }
    }

    #[test]
    fn every_problem_is_reported() {
        let p = problems(json!({
            "StartAt": "A",
            "Bogus": 1,
            "States": {
                "A": {"Type": "Pass", "Next": "Y"},
                "B": {"Type": "Task", "End": true},
                "C": {"Type": "Wait", "Seconds": 1, "Timestamp": "2020-01-01T00:00:00Z", "End": true}
            }
        }));
        assert!(
            p.contains(&"/Bogus: unknown top-level field \"Bogus\"".to_string()),
            "{p:?}"
        );
        assert!(
            p.contains(&"/States/A/Next: no such state \"Y\"".to_string()),
            "{p:?}"
        );
        assert!(
            p.contains(&"/States/B/Resource: Resource is required in a Task state".to_string()),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|m| m.starts_with("/States/C: a Wait state needs exactly one")),
            "{p:?}"
        );
    }
}
