//! The evaluation scope of a state as one value: what `$` names, the state's part of the
//! context object, the variables in scope and the run (for `$$` and randomness). Every
//! path, template, Assign, Choice rule and `*Path` field of a state is evaluated through it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::super::choice::Rule;
use super::super::definition::{Amount, IoPath, ResultPathSpec, Seconds, Text};
use super::super::depth::MAX_NESTING_DEPTH;
use super::super::path::{compact, Path, Root};
use super::super::template::{Assign, Env, Template, Vars};
use super::super::value::{as_integer, context_time};
use super::failure::Failure;
use super::limits::nested_too_deep;
use super::run::Run;

/// The per-state part of the context object.
#[derive(Clone)]
pub(super) struct StateCtx {
    pub(crate) name: Arc<str>,
    pub(crate) entered: DateTime<Utc>,
    pub(crate) retry_count: u64,
}

/// Everything a state's expressions read.
#[derive(Clone, Copy)]
pub(super) struct Scope<'s> {
    pub(crate) run: &'s Run<'s>,
    /// What `$` names.
    pub(crate) input: &'s Value,
    pub(crate) state: &'s StateCtx,
    pub(crate) vars: &'s Vars<'s>,
    /// JSONata's `$states.result` (a Task's, Parallel's or Map's result after success).
    pub(crate) result: Option<&'s Value>,
    /// JSONata's `$states.errorOutput` (in a catcher).
    pub(crate) error_output: Option<&'s Value>,
}

impl<'s> Scope<'s> {
    pub(crate) fn new(
        run: &'s Run<'s>,
        input: &'s Value,
        state: &'s StateCtx,
        vars: &'s Vars<'s>,
    ) -> Self {
        Self {
            run,
            input,
            state,
            vars,
            result: None,
            error_output: None,
        }
    }

    /// The same scope with `$` naming `input`.
    pub(crate) fn on<'t>(&'t self, input: &'t Value) -> Scope<'t> {
        Scope {
            run: self.run,
            input,
            state: self.state,
            vars: self.vars,
            result: self.result,
            error_output: self.error_output,
        }
    }

    /// The context object (`$$`) of the state.
    pub(crate) fn context(&self) -> Value {
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

    pub(crate) fn template(&self, t: &Template) -> Result<Value, Failure> {
        self.with_env(|env| t.eval(env))
    }

    /// A Map's ItemSelector: the template with `$$.Map.Item` set for one item.
    pub(crate) fn item_selector(
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
    pub(crate) fn template_or_input(&self, t: Option<&Template>) -> Result<Value, Failure> {
        match t {
            Some(t) => self.template(t),
            None => Ok(self.input.clone()),
        }
    }

    pub(crate) fn assign(&self, a: Option<&Assign>) -> Result<Vec<(String, Value)>, Failure> {
        let Some(a) = a else { return Ok(Vec::new()) };
        self.with_env(|env| a.eval(env))
    }

    pub(crate) fn rule(&self, rule: &Rule) -> Result<bool, Failure> {
        self.with_env(|env| rule.eval(env))
    }

    pub(crate) fn resolve(&self, path: &Path) -> Result<Value, Failure> {
        self.with_env(|env| env.select(path))
    }

    /// InputPath or OutputPath applied to `$`. A path that matches nothing fails with the
    /// service's words, e.g. "Invalid path '$.x' : No results for path: $['x']" (issue 11,
    /// recorded on AWS).
    pub(crate) fn io_path(&self, p: &IoPath) -> Result<Value, Failure> {
        match p {
            IoPath::Whole => Ok(self.input.clone()),
            IoPath::Empty => Ok(json!({})),
            IoPath::Path(path) if *path.root() == Root::Input => {
                path.select(self.input).map_err(|_| no_results(path))
            }
            IoPath::Path(path) => self.resolve(path),
        }
    }

    /// Fail's Error or Cause: a literal, or a path or intrinsic that must give a string.
    /// A path to nothing, as AWS words it for `ErrorPath` (localstack/localstack#11951,
    /// the cause recorded on AWS): "The JSONPath '$.ErrorX' specified for the field
    /// 'ErrorPath' could not be found in the input '{...}'".
    pub(crate) fn text(&self, t: Option<&Text>, field: &str) -> Result<String, Failure> {
        let v = match t {
            None => return Ok(String::new()),
            Some(Text::Literal(s)) => return Ok(s.clone()),
            Some(Text::Path(p)) if *p.root() == Root::Input => {
                p.select(self.input).map_err(|_| {
                    Failure::runtime(format!(
                        "The JSONPath '{p}' specified for the field '{field}' could not be found in the input '{}'",
                        compact(self.input)
                    ))
                })?
            }
            Some(Text::Path(p)) => self.resolve(p)?,
            Some(Text::Call(c)) => self.with_env(|env| c.eval(env))?,
            Some(Text::Expr(t)) => return self.ata_text(t),
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
    /// path field's name ("MaxConcurrencyPath"). The causes are the service's: issue 11
    /// recorded "The MaxConcurrencyPath field refers to value \"{}\" which is not a valid
    /// integer: $.path" and "ToleratedFailureCount cannot be negative." on AWS; LocalStack's
    /// AWS-validated interpreter (state_map/tolerated_failure.py) words the percentage's
    /// "... which is not a valid float: $.path" and "ToleratedFailurePercentage must be
    /// between 0 and 100.", a string value shown without quotes.
    pub(crate) fn amount(&self, a: Option<&Amount>, field: &str) -> Result<Option<f64>, Failure> {
        let p = match a {
            None => return Ok(None),
            Some(Amount::Fixed(n)) => return Ok(Some(*n)),
            Some(Amount::Path(p)) => p,
            Some(Amount::Expr(t)) => return self.ata_amount(t, field).map(Some),
        };
        let v = self.resolve(p)?;
        let name = field.trim_end_matches("Path");
        let percentage = field == "ToleratedFailurePercentagePath";
        let number = if percentage {
            v.as_f64()
        } else {
            as_integer(&v).map(|n| n as f64)
        };
        let shown = match &v {
            Value::String(s) => s.clone(),
            other => compact(other),
        };
        let kind = if percentage { "float" } else { "integer" };
        match number {
            None => Err(Failure::runtime(format!(
                "The {field} field refers to value \"{shown}\" which is not a valid {kind}: {p}"
            ))),
            Some(n) if percentage && !(0.0..=100.0).contains(&n) => Err(Failure::runtime(format!(
                "{name} must be between 0 and 100."
            ))),
            Some(n) if n < 0.0 => Err(Failure::runtime(format!("{name} cannot be negative."))),
            Some(n) => Ok(Some(n)),
        }
    }

    /// TimeoutSeconds or HeartbeatSeconds.
    pub(crate) fn seconds(&self, s: Option<&Seconds>, field: &str) -> Result<Option<u64>, Failure> {
        match s {
            None => Ok(None),
            Some(Seconds::Fixed(n)) => Ok(Some(*n)),
            Some(Seconds::Expr(t)) => self.ata_seconds(t, 1).map(Some),
            Some(Seconds::Path(p)) => {
                // A path to nothing: "Invalid path '$.x' : No results for path: $['x']"
                // (LocalStack's AWS-validated timeouts/heartbeat.py and timeout.py). A value
                // that is not a positive integer: no source gives AWS's words; ours.
                let v = match p.root() {
                    Root::Input => p.select(self.input).map_err(|_| no_results(p))?,
                    _ => self.resolve(p)?,
                };
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

/// A path applied to the state's input that matches nothing, as the service words it for
/// InputPath, OutputPath (issue 11, recorded on AWS) and TimeoutSecondsPath /
/// HeartbeatSecondsPath: "Invalid path '$.x' : No results for path: $['x']".
fn no_results(path: &Path) -> Failure {
    Failure::runtime(format!(
        "Invalid path '{path}' : No results for path: {}",
        path.normalized()
    ))
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
        // The result would sit deeper than the bound admits: refused before it is built.
        ResultPathSpec::Path(p) if p.step_count() > MAX_NESTING_DEPTH => {
            Err(nested_too_deep("output"))
        }
        ResultPathSpec::Path(p) => {
            let mut out = raw.clone();
            p.set(&mut out, result)
                .map_err(|e| Failure::reference_path_conflict(e.to_string()))?;
            Ok(out)
        }
    }
}
