//! A [`TaskInvoker`] reading the AWS Step Functions Local mock configuration format
//! ("Configuration file for mocked service integrations" in the developer guide), so teams can
//! reuse their existing `MockConfigFile.json`:
//!
//! ```json
//! {"StateMachines": {"NAME": {"TestCases": {"CASE": {"StateName": "MockedResponseName"}}}},
//!  "MockedResponses": {"MockedResponseName": {
//!      "0": {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "..."}},
//!      "1-2": {"Return": {"StatusCode": 200, "Payload": {...}}}}}}
//! ```
//!
//! The keys count the invocations of the state within the execution (0 is the first; a loop
//! that comes back to the state, and each retry, is a further invocation). Past the last key
//! the last response is used again. `Return` is the task's result as the integration returns
//! it (for `lambda:invoke`, the whole Invoke response with `Payload`).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde_json::Value;

use super::invoker::{TaskCall, TaskFailure, TaskInvoker};
use crate::common::sync::lock;

/// A mock configuration that cannot be used; the message names what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MockConfigError {
    #[error("cannot read the mock configuration {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("the mock configuration is not valid JSON: {0}")]
    Json(String),
    #[error("mock configuration: {0}")]
    Invalid(String),
    #[error(
        "mock configuration: no state machine \"{name}\" under StateMachines (found: {found})"
    )]
    NoStateMachine { name: String, found: String },
    #[error("mock configuration: state machine \"{state_machine}\" has no test case \"{case}\" (found: {found})")]
    NoTestCase {
        state_machine: String,
        case: String,
        found: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Response {
    Return(Value),
    Throw { error: String, cause: String },
}

/// Mocked responses for one test case of one state machine.
#[derive(Debug)]
pub struct MockInvoker {
    state_machine: String,
    test_case: String,
    /// State name -> (mocked response name, responses by invocation number).
    states: HashMap<String, (String, Vec<Response>)>,
    calls: Mutex<HashMap<String, usize>>,
}

impl MockInvoker {
    /// Reads `path` and selects one test case.
    pub fn from_file(
        path: &std::path::Path,
        state_machine: &str,
        test_case: &str,
    ) -> Result<Self, MockConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| MockConfigError::Read {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let config: Value =
            serde_json::from_str(&text).map_err(|e| MockConfigError::Json(e.to_string()))?;
        Self::from_config(&config, state_machine, test_case)
    }

    /// Selects one test case of a parsed mock configuration.
    pub fn from_config(
        config: &Value,
        state_machine: &str,
        test_case: &str,
    ) -> Result<Self, MockConfigError> {
        let invalid = |m: String| MockConfigError::Invalid(m);
        let machines = config
            .get("StateMachines")
            .and_then(Value::as_object)
            .ok_or_else(|| invalid("the top level needs a StateMachines object".into()))?;
        let keys =
            |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<_>>().join(", ");
        let machine =
            machines
                .get(state_machine)
                .ok_or_else(|| MockConfigError::NoStateMachine {
                    name: state_machine.into(),
                    found: keys(machines),
                })?;
        let cases = machine
            .get("TestCases")
            .and_then(Value::as_object)
            .ok_or_else(|| {
                invalid(format!(
                    "StateMachines.{state_machine} needs a TestCases object"
                ))
            })?;
        let case = cases
            .get(test_case)
            .and_then(Value::as_object)
            .ok_or_else(|| MockConfigError::NoTestCase {
                state_machine: state_machine.into(),
                case: test_case.into(),
                found: keys(cases),
            })?;
        let responses = config.get("MockedResponses").and_then(Value::as_object);
        let mut states = HashMap::new();
        for (state, name) in case {
            let name = name.as_str().ok_or_else(|| {
                invalid(format!(
                    "TestCases.{test_case}.{state} must name a mocked response (a string)"
                ))
            })?;
            let def = responses.and_then(|r| r.get(name)).ok_or_else(|| {
                invalid(format!(
                    "state \"{state}\" uses mocked response \"{name}\", which is not under MockedResponses"
                ))
            })?;
            states.insert(
                state.clone(),
                (name.to_string(), parse_responses(name, def)?),
            );
        }
        Ok(Self {
            state_machine: state_machine.into(),
            test_case: test_case.into(),
            states,
            calls: Mutex::new(HashMap::new()),
        })
    }

    /// True if the test case has a mocked response for this state.
    pub(crate) fn mocks(&self, state_name: &str) -> bool {
        self.states.contains_key(state_name)
    }
}

/// Reads `{"0": {...}, "1-2": {...}}` into one response per invocation, checking that the
/// ranges start at 0 and leave no gaps.
fn parse_responses(name: &str, def: &Value) -> Result<Vec<Response>, MockConfigError> {
    let invalid = |m: String| MockConfigError::Invalid(format!("MockedResponses.{name}: {m}"));
    let obj = def.as_object().filter(|o| !o.is_empty()).ok_or_else(|| {
        invalid("must be a non-empty object keyed by invocation numbers (\"0\", \"1-2\")".into())
    })?;
    let mut ranges = Vec::new();
    for (key, v) in obj {
        let (start, end) = parse_range(key).ok_or_else(|| {
            invalid(format!(
                "\"{key}\" is not an invocation number or range such as \"0\" or \"1-2\""
            ))
        })?;
        let o = v
            .as_object()
            .ok_or_else(|| invalid(format!("\"{key}\" must be an object with Return or Throw")))?;
        let response = match (o.get("Return"), o.get("Throw")) {
            (Some(r), None) => Response::Return(r.clone()),
            (None, Some(t)) => {
                let field = |f: &str| t.get(f).and_then(Value::as_str).map(str::to_string);
                Response::Throw {
                    error: field("Error")
                        .ok_or_else(|| invalid(format!("\"{key}\".Throw needs an Error string")))?,
                    cause: field("Cause").unwrap_or_default(),
                }
            }
            _ => {
                return Err(invalid(format!(
                    "\"{key}\" must have exactly one of Return or Throw"
                )))
            }
        };
        ranges.push((start, end, response));
    }
    ranges.sort_by_key(|(s, _, _)| *s);
    let mut out = Vec::new();
    for (start, end, response) in ranges {
        if start != out.len() {
            return Err(invalid(format!(
                "invocation numbers must be consecutive from 0; expected {} next, found {start}",
                out.len()
            )));
        }
        for _ in start..=end {
            out.push(response.clone());
        }
    }
    Ok(out)
}

fn parse_range(key: &str) -> Option<(usize, usize)> {
    let (a, b) = match key.split_once('-') {
        Some((a, b)) => (a.trim().parse().ok()?, b.trim().parse().ok()?),
        None => {
            let n = key.trim().parse().ok()?;
            (n, n)
        }
    };
    (a <= b && b - a < 100_000).then_some((a, b))
}

#[async_trait]
impl TaskInvoker for MockInvoker {
    async fn invoke(&self, call: TaskCall) -> Result<Value, TaskFailure> {
        let Some((_, responses)) = self.states.get(&call.state_name) else {
            return Err(TaskFailure::unbound(format!(
                "Task state '{}' has no mocked response in test case '{}' of state machine '{}' in the mock configuration",
                call.state_name, self.test_case, self.state_machine
            )));
        };
        let n = {
            let mut calls = lock(&self.calls);
            let n = calls.entry(call.state_name.clone()).or_insert(0);
            let current = *n;
            *n += 1;
            current
        };
        let Some(response) = responses.get(n).or_else(|| responses.last()) else {
            return Err(TaskFailure::unbound(format!(
                "no mocked response for state '{}'",
                call.state_name
            )));
        };
        match response {
            Response::Return(v) => Ok(v.clone()),
            Response::Throw { error, cause } => Err(TaskFailure::new(error.clone(), cause.clone())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("0"), Some((0, 0)));
        assert_eq!(parse_range("1-2"), Some((1, 2)));
        assert_eq!(parse_range("2-1"), None);
        assert_eq!(parse_range("x"), None);
        assert_eq!(parse_range("0-99999999999"), None);
    }

    #[test]
    fn bad_configs_name_the_problem() {
        let cfg = json!({"StateMachines": {"M": {"TestCases": {"T": {"S": "R"}}}}, "MockedResponses": {"R": {"1": {"Return": 1}}}});
        let err = MockInvoker::from_config(&cfg, "M", "T").unwrap_err();
        assert!(err.to_string().contains("consecutive from 0"), "{err}");
        let err = MockInvoker::from_config(&cfg, "X", "T").unwrap_err();
        assert!(
            matches!(&err, MockConfigError::NoStateMachine { name, found } if name == "X" && found == "M"),
            "{err}"
        );
        let err = MockInvoker::from_config(&cfg, "M", "Nope").unwrap_err();
        assert!(err.to_string().contains("no test case \"Nope\""), "{err}");
        let both = json!({"StateMachines": {"M": {"TestCases": {"T": {"S": "R"}}}}, "MockedResponses": {"R": {"0": {"Return": 1, "Throw": {"Error": "E"}}}}});
        let err = MockInvoker::from_config(&both, "M", "T").unwrap_err();
        assert!(err.to_string().contains("Throw"), "{err}");
    }
}
