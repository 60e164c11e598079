//! The evaluation scope of a state as one value: what `$` names, the state's part of the
//! context object, the variables in scope and the run (for `$$` and randomness). Every
//! path, template, Assign, Choice rule and `*Path` field of a state is evaluated through it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::super::choice::Rule;
use super::super::definition::{Amount, IoPath, ResultPathSpec, Seconds, Text};
use super::super::path::{compact, Path, Root};
use super::super::template::{Assign, Env, Template, Vars};
use super::super::value::{as_integer, context_time};
use super::failure::Failure;
use super::run::Run;

/// The per-state part of the context object.
#[derive(Clone)]
pub(super) struct StateCtx {
    pub name: Arc<str>,
    pub entered: DateTime<Utc>,
    pub retry_count: u64,
}

/// Everything a state's expressions read.
#[derive(Clone, Copy)]
pub(super) struct Scope<'s> {
    pub run: &'s Run<'s>,
    /// What `$` names.
    pub input: &'s Value,
    pub state: &'s StateCtx,
    pub vars: &'s Vars<'s>,
}

impl<'s> Scope<'s> {
    /// The same scope with `$` naming `input`.
    pub fn on<'t>(&'t self, input: &'t Value) -> Scope<'t> {
        Scope {
            run: self.run,
            input,
            state: self.state,
            vars: self.vars,
        }
    }

    /// The context object (`$$`) of the state.
    pub fn context(&self) -> Value {
        json!({
            "Execution": self.run.execution,
            "State": {
                "Name": self.state.name,
                "EnteredTime": context_time(self.state.entered),
                "RetryCount": self.state.retry_count,
            },
            "StateMachine": self.run.state_machine,
        })
    }

    /// Runs `f` in this scope's environment, with `context` building `$$` when a path asks
    /// for it. An evaluation error is a `States.Runtime` failure.
    fn with_context<R, E: std::fmt::Display>(
        &self,
        context: &(dyn Fn() -> Value + Sync),
        f: impl FnOnce(&Env<'_>) -> Result<R, E>,
    ) -> Result<R, Failure> {
        f(&Env {
            input: self.input,
            context,
            vars: self.vars,
            random: &*self.run.ex.random,
        })
        .map_err(|e| Failure::runtime(e.to_string()))
    }

    fn with_env<R, E: std::fmt::Display>(
        &self,
        f: impl FnOnce(&Env<'_>) -> Result<R, E>,
    ) -> Result<R, Failure> {
        self.with_context(&|| self.context(), f)
    }

    pub fn template(&self, t: &Template) -> Result<Value, Failure> {
        self.with_env(|env| t.eval(env))
    }

    /// A Map's ItemSelector: the template with `$$.Map.Item` set for one item.
    pub fn item_selector(
        &self,
        t: &Template,
        index: usize,
        item: &Value,
    ) -> Result<Value, Failure> {
        let context = || {
            let mut c = self.context();
            c["Map"] = json!({"Item": {"Index": index, "Value": item}});
            c
        };
        self.with_context(&context, |env| t.eval(env))
    }

    /// Template or `$` as is.
    pub fn template_or_input(&self, t: Option<&Template>) -> Result<Value, Failure> {
        match t {
            Some(t) => self.template(t),
            None => Ok(self.input.clone()),
        }
    }

    pub fn assign(&self, a: Option<&Assign>) -> Result<Vec<(String, Value)>, Failure> {
        let Some(a) = a else { return Ok(Vec::new()) };
        self.with_env(|env| a.eval(env))
    }

    pub fn rule(&self, rule: &Rule) -> Result<bool, Failure> {
        self.with_env(|env| rule.eval(env))
    }

    pub fn resolve(&self, path: &Path) -> Result<Value, Failure> {
        self.with_env(|env| env.select(path))
    }

    /// InputPath or OutputPath applied to `$`. A path that matches nothing fails with the
    /// service's words, e.g. "Invalid path '$.x' : No results for path: $['x']" (issue 11,
    /// recorded on AWS).
    pub fn io_path(&self, p: &IoPath) -> Result<Value, Failure> {
        match p {
            IoPath::Whole => Ok(self.input.clone()),
            IoPath::Empty => Ok(json!({})),
            IoPath::Path(path) if *path.root() == Root::Input => {
                path.select(self.input).map_err(|_| {
                    Failure::runtime(format!(
                        "Invalid path '{path}' : No results for path: {}",
                        path.normalized()
                    ))
                })
            }
            IoPath::Path(path) => self.resolve(path),
        }
    }

    /// Fail's Error or Cause: a literal, or a path or intrinsic that must give a string.
    pub fn text(&self, t: Option<&Text>, field: &str) -> Result<String, Failure> {
        let v = match t {
            None => return Ok(String::new()),
            Some(Text::Literal(s)) => return Ok(s.clone()),
            Some(Text::Path(p)) => self.resolve(p)?,
            Some(Text::Call(c)) => self.with_env(|env| c.eval(env))?,
        };
        match v {
            Value::String(s) => Ok(s),
            other => Err(Failure::runtime(format!(
                "The {field} must resolve to a string, got {}",
                compact(&other)
            ))),
        }
    }

    /// MaxConcurrency, ToleratedFailureCount or ToleratedFailurePercentage. `field` is the
    /// path field's name ("MaxConcurrencyPath").
    pub fn amount(&self, a: Option<&Amount>, field: &str) -> Result<Option<f64>, Failure> {
        let p = match a {
            None => return Ok(None),
            Some(Amount::Fixed(n)) => return Ok(Some(*n)),
            Some(Amount::Path(p)) => p,
        };
        let v = self.resolve(p)?;
        let name = field.trim_end_matches("Path");
        match v.as_f64() {
            // Issue 11, as AWS words them: "ToleratedFailureCount cannot be negative."
            Some(n) if n < 0.0 => Err(Failure::runtime(format!("{name} cannot be negative."))),
            Some(n) if field != "MaxConcurrencyPath" || as_integer(&v).is_some() => Ok(Some(n)),
            // Issue 11: "The MaxConcurrencyPath field refers to value \"{}\" which is not a
            // valid integer: $.path".
            _ if field == "MaxConcurrencyPath" => Err(Failure::runtime(format!(
                "The {field} field refers to value \"{}\" which is not a valid integer: {p}",
                compact(&v)
            ))),
            _ => Err(Failure::runtime(format!(
                "The {field} parameter does not reference a non-negative number: {}",
                compact(&v)
            ))),
        }
    }

    /// TimeoutSeconds or HeartbeatSeconds.
    pub fn seconds(&self, s: Option<&Seconds>, field: &str) -> Result<Option<u64>, Failure> {
        match s {
            None => Ok(None),
            Some(Seconds::Fixed(n)) => Ok(Some(*n)),
            Some(Seconds::Path(p)) => {
                let v = self.resolve(p)?;
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
}

/// Applies a ResultPath: `result` placed into `raw`, the state's input.
pub(super) fn apply_result_path(
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
