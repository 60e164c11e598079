//! One parser per state type, behind [`parse_state`], which reads what every state shares
//! (Type, the fields its type allows, Next/End, InputPath/OutputPath, Assign) and
//! dispatches on the [`StateType`].

use serde_json::{Map, Value};

use super::fields::Fields;
use super::machine::{parse_machine, SeenNames};
use super::map::parse_map;
use super::model::{
    IoPath, Machine, Parallel, ResultPathSpec, Seconds, State, StateKind, Task, WaitFor,
};
use super::state_type::{StateType, COMMON_FIELDS, JSONATA_FIELDS, JSONPATH_FIELDS};
use super::MAX_SECONDS;
use crate::asl::choice::ChoiceRule;
use crate::asl::jsonata::other_language;
use crate::asl::jsonata::{is_expression, AtaIo};
use crate::asl::problem::{Problems, Ptr};
use crate::asl::template::Assign;
use crate::asl::value::parse_timestamp;

/// What a state parser needs besides its own fields: the names of the states it may go to,
/// where problems go, and the names declared so far (for branches and processors).
pub(super) struct Scope<'a> {
    pub(crate) names: &'a [String],
    pub(crate) problems: &'a mut Problems,
    pub(crate) seen: &'a mut SeenNames,
}

pub(super) fn parse_state(
    name: &str,
    v: &Value,
    ptr: &Ptr,
    names: &[String],
    problems: &mut Problems,
    seen: &mut SeenNames,
) -> Option<State> {
    let Some(obj) = v.as_object() else {
        problems.add(ptr, "a state must be a JSON object");
        return None;
    };
    let fields = Fields::new(obj, ptr);
    let ty = state_type(fields, problems)?;
    let jsonata = match fields.query_language(problems) {
        Some(true) => true,
        // A JSONata machine cannot turn one state back to JSONPath (AWS's wording).
        Some(false) if seen.jsonata => {
            problems.add(
                ptr,
                "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
            );
            true
        }
        Some(false) => false,
        None => seen.jsonata,
    };
    let fields = fields.in_jsonata(jsonata);
    check_fields(fields, ty, problems);
    fields.comment(problems);
    let next = next_or_end(fields, ty, names, problems);
    let (input_path, output_path) = if ty.has_io_paths() && !jsonata {
        (
            fields.io_path("InputPath", problems),
            fields.io_path("OutputPath", problems),
        )
    } else {
        (IoPath::Whole, IoPath::Whole)
    };
    let (assign, ata) = if jsonata {
        (None, fields.ata_io(problems))
    } else {
        let assign = fields
            .get("Assign")
            .and_then(|a| Assign::parse(a, &fields.at("Assign"), problems));
        (assign, AtaIo::default())
    };
    let mut scope = Scope {
        names,
        problems,
        seen,
    };
    let kind = match ty {
        StateType::Pass => parse_pass(fields, scope.problems),
        StateType::Task => parse_task(fields, &mut scope),
        StateType::Choice => parse_choice(fields, &mut scope),
        StateType::Wait => parse_wait(fields, scope.problems),
        StateType::Succeed => StateKind::Succeed,
        StateType::Fail => StateKind::Fail {
            error: fields.text("Error", scope.problems),
            cause: fields.text("Cause", scope.problems),
        },
        StateType::Parallel => parse_parallel(fields, &mut scope),
        StateType::Map => parse_map(fields, &mut scope)?,
    };
    Some(State {
        name: name.into(),
        input_path,
        output_path,
        next,
        assign,
        jsonata,
        ata,
        kind,
    })
}

fn state_type(fields: Fields<'_>, problems: &mut Problems) -> Option<StateType> {
    let name = match fields.get("Type") {
        Some(Value::String(t)) => t.as_str(),
        Some(_) => {
            problems.add(&fields.at("Type"), "Type must be a string");
            return None;
        }
        None => {
            problems.add(&fields.at("Type"), "Type is required");
            return None;
        }
    };
    let ty = StateType::from_name(name);
    if ty.is_none() {
        problems.add(
            &fields.at("Type"),
            format!("unknown state type \"{name}\" (expected Pass, Task, Choice, Wait, Succeed, Fail, Parallel or Map)"),
        );
    }
    ty
}

/// Every field must be one the type allows in the state's query language; a field of the
/// other language gets AWS's message, at the state.
fn check_fields(fields: Fields<'_>, ty: StateType, problems: &mut Problems) {
    let allowed = ty.allowed_fields();
    for key in fields.obj.keys() {
        let jsonata_field = JSONATA_FIELDS.contains(&key.as_str());
        if jsonata_field && !fields.jsonata {
            problems.add(fields.ptr, other_language(false, key));
        } else if jsonata_field && !ty.allows_jsonata_field(key) {
            problems.add(
                &fields.at(key),
                format!("field \"{key}\" is not allowed in a {ty} state"),
            );
        } else if jsonata_field {
        } else if fields.jsonata && JSONPATH_FIELDS.contains(&key.as_str()) {
            problems.add(fields.ptr, other_language(true, key));
        } else if !allowed.contains(&key.as_str()) && !COMMON_FIELDS.contains(&key.as_str()) {
            problems.add(
                &fields.at(key),
                format!("field \"{key}\" is not allowed in a {ty} state"),
            );
        }
    }
}

/// The state's Next, `None` for End and for the types that never take either.
fn next_or_end(
    fields: Fields<'_>,
    ty: StateType,
    names: &[String],
    problems: &mut Problems,
) -> Option<String> {
    let next = fields.state_name("Next", names, problems);
    let end = match fields.get("End") {
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            problems.add(&fields.at("End"), "End must be a boolean");
            false
        }
        None => false,
    };
    if ty.is_terminal_by_type() {
        return None;
    }
    if next.is_some() && end {
        problems.add(&fields.at("End"), "a state cannot have both Next and End");
    } else if next.is_none() && !end && !fields.has("Next") {
        problems.add(
            &fields.at("Next"),
            format!("a {ty} state needs Next or \"End\": true"),
        );
    }
    next
}

fn parse_pass(fields: Fields<'_>, problems: &mut Problems) -> StateKind {
    StateKind::Pass {
        parameters: fields.template("Parameters", problems),
        result: fields.get("Result").cloned(),
        result_path: ResultPathSpec::parse(
            fields.get("ResultPath"),
            &fields.at("ResultPath"),
            problems,
        ),
    }
}

fn parse_task(fields: Fields<'_>, scope: &mut Scope<'_>) -> StateKind {
    let problems = &mut *scope.problems;
    let resource = match fields.get("Resource") {
        Some(Value::String(r)) if !r.is_empty() => r.clone(),
        Some(_) => {
            problems.add(
                &fields.at("Resource"),
                "Resource must be a non-empty string (an ARN)",
            );
            String::new()
        }
        None => {
            problems.add(
                &fields.at("Resource"),
                "Resource is required in a Task state",
            );
            String::new()
        }
    };
    let timeout = fields.seconds("TimeoutSeconds", 1, problems);
    let heartbeat = fields.seconds("HeartbeatSeconds", 1, problems);
    if let (Some(Seconds::Fixed(t)), Some(Seconds::Fixed(h))) = (&timeout, &heartbeat) {
        if h >= t {
            problems.add(
                &fields.at("HeartbeatSeconds"),
                "HeartbeatSeconds must be smaller than TimeoutSeconds",
            );
        }
    }
    StateKind::Task(Box::new(Task {
        resource,
        parameters: fields.template("Parameters", problems),
        arguments: arguments(fields, problems),
        handling: fields.result_handling(scope.names, problems),
        timeout,
        heartbeat,
    }))
}

fn parse_choice(fields: Fields<'_>, scope: &mut Scope<'_>) -> StateKind {
    let problems = &mut *scope.problems;
    let cp = fields.at("Choices");
    let choices = match fields.get("Choices") {
        Some(Value::Array(list)) if !list.is_empty() => list
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                ChoiceRule::parse(r, &cp.index(i), scope.names, fields.jsonata, problems)
            })
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
    let default = fields.state_name("Default", scope.names, problems);
    for f in ["Next", "End"] {
        if fields.has(f) {
            problems.add(
                &fields.at(f),
                format!("a Choice state cannot have {f}; use Choices and Default"),
            );
        }
    }
    StateKind::Choice { choices, default }
}

fn parse_wait(fields: Fields<'_>, problems: &mut Problems) -> StateKind {
    let given: Vec<&str> = ["Seconds", "SecondsPath", "Timestamp", "TimestampPath"]
        .into_iter()
        .filter(|k| fields.has(k))
        .collect();
    if given.len() != 1 {
        problems.add(
            fields.ptr,
            "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp or TimestampPath",
        );
    }
    let expression = |key: &str| matches!(fields.get(key), Some(Value::String(s)) if fields.jsonata && is_expression(s));
    let wait = match given.first().copied() {
        Some("Seconds") if expression("Seconds") => {
            fields.ata("Seconds", problems).map(WaitFor::SecondsExpr)
        }
        Some("Timestamp") if expression("Timestamp") => fields
            .ata("Timestamp", problems)
            .map(WaitFor::TimestampExpr),
        Some("Seconds") => match fields
            .get("Seconds")
            .and_then(Value::as_u64)
            .filter(|n| *n <= MAX_SECONDS)
        {
            Some(n) => Some(WaitFor::Seconds(n)),
            None => {
                problems.add(
                    &fields.at("Seconds"),
                    format!("Seconds must be an integer from 0 to {MAX_SECONDS}"),
                );
                None
            }
        },
        Some("Timestamp") => match fields
            .get("Timestamp")
            .and_then(Value::as_str)
            .and_then(parse_timestamp)
        {
            Some(t) => Some(WaitFor::Timestamp(t)),
            None => {
                problems.add(
                    &fields.at("Timestamp"),
                    "Timestamp must be an RFC 3339 timestamp such as 2016-03-14T01:59:00Z",
                );
                None
            }
        },
        Some("SecondsPath") => fields
            .reference_path("SecondsPath", problems)
            .map(WaitFor::SecondsPath),
        Some("TimestampPath") => fields
            .reference_path("TimestampPath", problems)
            .map(WaitFor::TimestampPath),
        _ => None,
    };
    StateKind::Wait(wait.unwrap_or(WaitFor::Seconds(0)))
}

fn parse_parallel(fields: Fields<'_>, scope: &mut Scope<'_>) -> StateKind {
    let bp = fields.at("Branches");
    let branches = match fields.get("Branches") {
        Some(Value::Array(list)) if !list.is_empty() => list
            .iter()
            .enumerate()
            .filter_map(|(i, b)| parse_branch(b, &bp.index(i), scope))
            .collect(),
        Some(_) => {
            scope
                .problems
                .add(&bp, "Branches must be a non-empty array");
            Vec::new()
        }
        None => {
            scope
                .problems
                .add(&bp, "Branches is required in a Parallel state");
            Vec::new()
        }
    };
    StateKind::Parallel(Box::new(Parallel {
        branches,
        parameters: fields.template("Parameters", scope.problems),
        arguments: arguments(fields, scope.problems),
        handling: fields.result_handling(scope.names, scope.problems),
    }))
}

fn parse_branch(branch: &Value, ptr: &Ptr, scope: &mut Scope<'_>) -> Option<Machine> {
    match branch.as_object() {
        Some(o) => parse_nested(o, ptr, scope),
        None => {
            scope.problems.add(
                ptr,
                "a branch must be a JSON object with StartAt and States",
            );
            None
        }
    }
}

/// A Parallel branch or a Map processor: a machine of its own, whose state names still
/// count against the whole definition's.
pub(super) fn parse_nested(
    obj: &Map<String, Value>,
    ptr: &Ptr,
    scope: &mut Scope<'_>,
) -> Option<Machine> {
    parse_machine(obj, ptr, scope.problems, scope.seen, true)
}

/// A JSONata Task's or Parallel's Arguments: a JSON object or an expression string.
fn arguments(
    fields: Fields<'_>,
    problems: &mut Problems,
) -> Option<crate::asl::jsonata::AtaTemplate> {
    let v = fields.get("Arguments")?;
    if !fields.jsonata {
        return None;
    }
    if !v.is_object() && !matches!(v, Value::String(s) if is_expression(s)) {
        problems.add(
            &fields.at("Arguments"),
            "Arguments must be a JSON object or a JSONata expression string",
        );
    }
    fields.ata("Arguments", problems)
}
