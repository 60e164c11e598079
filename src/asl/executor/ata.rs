//! JSONata fields evaluated in a state's scope: the bindings (`$states` and the workflow
//! variables), and the checks AWS makes on the fields that need a value of some type.

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::super::jsonata::{AtaIo, AtaTemplate, Bindings, Evaluated, QueryError};
use super::super::value::parse_timestamp;
use super::failure::Failure;
use super::scope::Scope;

/// The largest Seconds, TimeoutSeconds or HeartbeatSeconds AWS accepts.
const MAX_SECONDS: i64 = 99_999_999;

impl<'s> Scope<'s> {
    /// `$states`: the state's input, its context object, and `result` or `errorOutput`
    /// where the field may read them.
    fn states(&self, context: Option<&dyn Fn() -> Value>) -> Value {
        let mut m = Map::with_capacity(4);
        m.insert("input".into(), self.input.clone());
        if let Some(context) = context {
            m.insert("context".into(), context());
        }
        if let Some(r) = self.result {
            m.insert("result".into(), r.clone());
        }
        if let Some(e) = self.error_output {
            m.insert("errorOutput".into(), e.clone());
        }
        Value::Object(m)
    }

    /// Runs `f` with the bindings of this scope; `context` builds `$states.context`.
    fn with_bindings<R>(
        &self,
        context: &dyn Fn() -> Value,
        f: impl FnOnce(&Bindings<'_>) -> Result<R, QueryError>,
    ) -> Result<R, Failure> {
        let states = |with_context: bool| self.states(with_context.then_some(context));
        let variables = |name: &str| self.vars.get(name).cloned();
        f(&Bindings {
            states: &states,
            variables: &variables,
            seed: self.run.ex.random.next_u64(),
        })
        .map_err(Failure::query)
    }

    /// A JSONata field's value.
    pub(crate) fn ata(&self, t: &AtaTemplate) -> Result<Value, Failure> {
        self.with_bindings(&|| self.context(), |b| t.eval(b))
    }

    /// A Map's ItemSelector: `$states.context.Map.Item` holds the item and its index.
    pub(crate) fn ata_item(
        &self,
        t: &AtaTemplate,
        index: usize,
        item: &Value,
    ) -> Result<Value, Failure> {
        let context = || {
            let mut c = self.context();
            c["Map"] = json!({"Item": {"Index": index, "Value": item}});
            c
        };
        self.with_bindings(&context, |b| t.eval(b))
    }

    fn ata_raw(&self, t: &AtaTemplate) -> Result<Evaluated, Failure> {
        self.with_bindings(&|| self.context(), |b| t.eval_raw(b))
    }

    /// Assign and Output of a JSONata state, rule or catcher, both against the variables
    /// as they were before the state; `default` is the output without an Output field.
    pub(crate) fn ata_finish(
        &self,
        io: &AtaIo,
        default: impl FnOnce() -> Value,
    ) -> Result<(Value, Vec<(String, Value)>), Failure> {
        let assigned = match &io.assign {
            Some(a) => match self.ata(a)? {
                Value::Object(m) => m.into_iter().collect(),
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        let output = match &io.output {
            Some(o) => self.ata(o)?,
            None => default(),
        };
        Ok((output, assigned))
    }

    /// A Choice rule's Condition, which must give a boolean.
    pub(crate) fn condition(&self, t: &AtaTemplate) -> Result<bool, Failure> {
        match self.ata_raw(t)? {
            Evaluated::Value(Value::Bool(b)) => Ok(b),
            other => Err(self.unexpected(t, "boolean", &other)),
        }
    }

    /// A Map's Items, which must give an array; without Items, `$states.input`.
    pub(crate) fn ata_items(&self, t: Option<&AtaTemplate>) -> Result<Vec<Value>, Failure> {
        let Some(t) = t else {
            return match self.input {
                Value::Array(items) => Ok(items.clone()),
                other => Err(Failure::query(QueryError {
                    location: "Items".into(),
                    cause: format!(
                        "The Map state's input must be an array when it has no Items field, but was: {}",
                        super::super::path::compact(other)
                    ),
                })),
            };
        };
        match self.ata_raw(t)? {
            Evaluated::Value(Value::Array(items)) => Ok(items),
            other => Err(self.unexpected(t, "array", &other)),
        }
    }

    /// Seconds, TimeoutSeconds or HeartbeatSeconds: an integer from `min` to 99,999,999.
    pub(crate) fn ata_seconds(&self, t: &AtaTemplate, min: i64) -> Result<u64, Failure> {
        let got = self.ata_raw(t)?;
        let n = match &got {
            Evaluated::Value(Value::Number(n)) => n.as_i64(),
            _ => None,
        };
        match n {
            Some(n) if (min..=MAX_SECONDS).contains(&n) => Ok(n as u64),
            Some(_) => Err(self.invalid(
                t,
                &format!("returned a value outside the range from {min} to {MAX_SECONDS}."),
            )),
            None => Err(self.unexpected(t, "integer", &got)),
        }
    }

    /// A Wait's Timestamp: an RFC 3339 string.
    pub(crate) fn ata_timestamp(&self, t: &AtaTemplate) -> Result<DateTime<Utc>, Failure> {
        let got = self.ata_raw(t)?;
        if let Evaluated::Value(Value::String(s)) = &got {
            return parse_timestamp(s).ok_or_else(|| {
                self.invalid(
                    t,
                    &format!("returned the string '{s}', which is not an RFC 3339 timestamp such as 2016-03-14T01:59:00Z."),
                )
            });
        }
        Err(self.unexpected(t, "string", &got))
    }

    /// MaxConcurrency or ToleratedFailureCount (non-negative integers) or
    /// ToleratedFailurePercentage (a number from 0 to 100); `field` is the `...Path` name.
    pub(crate) fn ata_amount(&self, t: &AtaTemplate, field: &str) -> Result<f64, Failure> {
        let percentage = field.starts_with("ToleratedFailurePercentage");
        let got = self.ata_raw(t)?;
        let n = match &got {
            Evaluated::Value(Value::Number(n)) => n.as_f64(),
            _ => None,
        };
        match n {
            Some(n) if percentage && (0.0..=100.0).contains(&n) => Ok(n),
            Some(n) if !percentage && n >= 0.0 && n.fract() == 0.0 => Ok(n),
            Some(_) if percentage => {
                Err(self.invalid(t, "returned a value outside the range from 0 to 100."))
            }
            Some(n) if n >= 0.0 => Err(self.unexpected(t, "integer", &got)),
            Some(_) => Err(self.invalid(t, "returned a negative value.")),
            None => Err(self.unexpected(t, if percentage { "number" } else { "integer" }, &got)),
        }
    }

    /// A Fail's Error or Cause, which must give a string.
    pub(crate) fn ata_text(&self, t: &AtaTemplate) -> Result<String, Failure> {
        match self.ata_raw(t)? {
            Evaluated::Value(Value::String(s)) => Ok(s),
            other => Err(self.unexpected(t, "string", &other)),
        }
    }

    fn unexpected(&self, t: &AtaTemplate, expected: &str, got: &Evaluated) -> Failure {
        match (t.expression(), got) {
            (Some(e), Evaluated::Undefined) => {
                Failure::query(QueryError::undefined(e, t.location()))
            }
            (Some(e), got) => {
                Failure::query(QueryError::unexpected(e, t.location(), expected, got))
            }
            (None, got) => Failure::query(QueryError {
                location: t.location().into(),
                cause: format!(
                    "The field '{}' must be of type '{expected}', but was {}",
                    t.location(),
                    match got {
                        Evaluated::Value(v) => super::super::path::compact(v),
                        _ => String::new(),
                    }
                ),
            }),
        }
    }

    fn invalid(&self, t: &AtaTemplate, why: &str) -> Failure {
        match t.expression() {
            Some(e) => Failure::query(QueryError::invalid(e, t.location(), why)),
            None => Failure::query(QueryError {
                location: t.location().into(),
                cause: format!("The field '{}' {why}", t.location()),
            }),
        }
    }
}
