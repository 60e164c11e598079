//! Parsing and statically checking a state machine definition. [`Definition::parse`] reports
//! every problem it finds, each with the JSON pointer of the offending field, so one run of
//! `ecs-migrate asl validate` shows all of them.
//!
//! `model` holds what the executor reads; `fields` reads the fields states share;
//! `states` and `map` parse each state type; `machine` parses the top level and every
//! StartAt/States block; `checks` holds the static checks over a parsed machine.

mod checks;
mod fields;
mod machine;
mod map;
mod model;
mod state_type;
mod states;

use serde_json::Value;

pub(crate) use model::{
    Amount, IoPath, Machine, MapState, Parallel, ResultHandling, ResultPathSpec, Seconds, State,
    StateKind, Task, Text, WaitFor,
};

use super::depth::{too_deep, MAX_NESTING_DEPTH};
use super::problem::{Problem, Problems, Ptr};

/// Limits from the Step Functions quotas and field definitions.
const MAX_SECONDS: u64 = 99_999_999;
const MAX_NAME_LEN: usize = 80;

/// A parsed, checked state machine definition.
#[derive(Debug, Clone)]
pub struct Definition {
    pub(crate) root: Machine,
    pub(crate) timeout_seconds: Option<u64>,
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
        // Read from text, a definition cannot be deeper; handed in as a value, it could be
        // deep enough to overflow the recursive parse.
        if too_deep(value) {
            problems.add(
                &Ptr::root(),
                format!("the definition is nested deeper than {MAX_NESTING_DEPTH} levels"),
            );
            return Err(problems.0);
        }
        let def = machine::parse_definition(value, &mut problems);
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

    /// Names of the top-level states in definition order.
    pub(crate) fn state_names(&self) -> Vec<&str> {
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
        assert_eq!(d.root.start_at, "A");
        assert_eq!(d.state_names(), ["A"]);
    }

    #[test]
    fn non_objects_do_not_panic() {
        for (v, pointer) in [
            (json!(null), ""),
            (json!([]), ""),
            (json!("x"), ""),
            (json!({"States": []}), "/States"),
            (json!({"StartAt": 1, "States": {"A": 1}}), "/StartAt"),
        ] {
            let problems = Definition::parse(&v).unwrap_err();
            // Each refusal points at the member at fault.
            assert!(
                problems.iter().any(|p| p.pointer == pointer),
                "{v}: {problems:?}"
            );
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
