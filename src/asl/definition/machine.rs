//! The top level of a definition and every `StartAt` + `States` block in it.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::checks::check_reachability;
use super::fields::Fields;
use super::model::Machine;
use super::states::parse_state;
use super::{Definition, MAX_NAME_LEN, MAX_SECONDS};
use crate::asl::problem::{Problems, Ptr};

const TOP_FIELDS: [&str; 6] = [
    "Comment",
    "StartAt",
    "States",
    "TimeoutSeconds",
    "Version",
    "QueryLanguage",
];

/// What the parse of every state needs from the whole definition: the pointer where each
/// state name was first declared (names are unique across the definition, branches and
/// processors included), and the machine's query language, which every state without its
/// own inherits (a Parallel's or Map's states too, not from the enclosing state).
#[derive(Default)]
pub(super) struct SeenNames {
    names: HashMap<String, String>,
    /// The top-level `"QueryLanguage": "JSONata"`.
    pub(crate) jsonata: bool,
}

impl SeenNames {
    pub(crate) fn get(&self, name: &str) -> Option<&String> {
        self.names.get(name)
    }

    pub(crate) fn insert(&mut self, name: String, ptr: String) {
        self.names.insert(name, ptr);
    }
}

pub(super) fn parse_definition(value: &Value, problems: &mut Problems) -> Option<Definition> {
    let root = Ptr::root();
    let Some(obj) = value.as_object() else {
        problems.add(&root, "a state machine definition must be a JSON object");
        return None;
    };
    let fields = Fields::new(obj, &root);
    for key in obj.keys() {
        if !TOP_FIELDS.contains(&key.as_str()) {
            problems.add(&root.key(key), format!("unknown top-level field \"{key}\""));
        }
    }
    let jsonata = fields.query_language(problems) == Some(true);
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
    // Checked only: nothing reads a machine's Comment.
    fields.comment(problems);
    let mut seen = SeenNames {
        jsonata,
        ..SeenNames::default()
    };
    let machine = parse_machine(obj, &root, problems, &mut seen, false)?;
    Some(Definition {
        root: machine,
        timeout_seconds,
    })
}

/// Parses a StartAt/States block; `nested` for a Parallel branch or a Map processor, which
/// allow fewer fields than the top level (checked there).
pub(super) fn parse_machine(
    obj: &Map<String, Value>,
    ptr: &Ptr,
    problems: &mut Problems,
    seen: &mut SeenNames,
    nested: bool,
) -> Option<Machine> {
    let fields = Fields::new(obj, ptr);
    if nested {
        check_nested_fields(fields, problems);
    }
    let start_at = start_at(fields, problems);
    let states_ptr = ptr.key("States");
    let states_obj = states_object(fields, &states_ptr, problems)?;
    let names: Vec<String> = states_obj.keys().cloned().collect();
    if let Some(start) = &start_at {
        if !names.contains(start) {
            problems.add(&ptr.key("StartAt"), format!("no such state \"{start}\""));
        }
    }
    let mut states = Vec::with_capacity(names.len());
    for (name, v) in states_obj {
        let p = states_ptr.key(name);
        check_state_name(name, &p, problems, seen);
        if let Some(s) = parse_state(name, v, &p, &names, problems, seen) {
            states.push(s);
        }
    }
    let machine = Machine::new(start_at?, states);
    check_reachability(&machine, &states_ptr, states_obj, problems);
    Some(machine)
}

fn check_nested_fields(fields: Fields<'_>, problems: &mut Problems) {
    for key in fields.obj.keys() {
        if !matches!(
            key.as_str(),
            "StartAt" | "States" | "Comment" | "ProcessorConfig"
        ) {
            problems.add(&fields.at(key), format!("unknown field \"{key}\""));
        }
    }
    fields.comment(problems);
}

fn start_at(fields: Fields<'_>, problems: &mut Problems) -> Option<String> {
    match fields.get("StartAt") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            problems.add(&fields.at("StartAt"), "StartAt must be a string");
            None
        }
        None => {
            problems.add(&fields.at("StartAt"), "StartAt is required");
            None
        }
    }
}

fn states_object<'a>(
    fields: Fields<'a>,
    states_ptr: &Ptr,
    problems: &mut Problems,
) -> Option<&'a Map<String, Value>> {
    match fields.get("States") {
        Some(Value::Object(m)) if !m.is_empty() => Some(m),
        Some(Value::Object(_)) => {
            problems.add(states_ptr, "States must contain at least one state");
            None
        }
        Some(_) => {
            problems.add(states_ptr, "States must be a JSON object");
            None
        }
        None => {
            problems.add(states_ptr, "States is required");
            None
        }
    }
}

/// State names are unique across the definition and 1 to 80 characters long.
fn check_state_name(name: &str, ptr: &Ptr, problems: &mut Problems, seen: &mut SeenNames) {
    if let Some(first) = seen.get(name) {
        problems.add(
            ptr,
            format!("duplicate state name \"{name}\" (also declared at {first})"),
        );
    } else {
        seen.insert(name.to_string(), ptr.as_str().to_string());
    }
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
        problems.add(
            ptr,
            format!("state names must be 1 to {MAX_NAME_LEN} characters long"),
        );
    }
}
