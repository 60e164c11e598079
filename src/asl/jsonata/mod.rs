//! Step Functions' JSONata query language: `{% %}` templates, the bindings an expression
//! sees (`$states` and the workflow variables), AWS's added functions and the result checks
//! and error texts the service gives. The language itself comes from a library behind the
//! [`Evaluator`] trait (`adapter` holds the one implementation), so the library can change
//! without touching the states.

mod adapter;
mod functions;
mod java_random;
mod template;

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

pub(crate) use template::{is_expression, AtaIo, AtaTemplate};

/// A JSONata implementation: parses expressions once, evaluates them many times.
pub(crate) trait Evaluator: Send + Sync {
    /// Parses `source` (the text between `{%` and `%}`); the error is the parser's message.
    fn compile(&self, source: &str) -> Result<Arc<dyn Compiled>, String>;
}

/// A parsed expression.
pub(crate) trait Compiled: Send + Sync + fmt::Debug {
    /// Evaluates the expression with no context item (AWS gives none: the input is
    /// `$states.input`). The error is the library's message, with its JSONata code.
    fn evaluate(&self, bindings: &Bindings<'_>) -> Result<Evaluated, String>;
}

/// What an expression reads: `$states` (built with `context` only for an expression that
/// reads `$states.context`, the costly part), the workflow variables, and the seed for
/// `$random()` and `$uuid()`.
pub(crate) struct Bindings<'a> {
    pub(crate) states: &'a dyn Fn(bool) -> Value,
    pub(crate) variables: &'a dyn Fn(&str) -> Option<Value>,
    pub(crate) seed: u64,
}

/// An expression's result: a JSON value, nothing, or a function (which is no JSON value).
#[derive(Debug, PartialEq)]
pub(crate) enum Evaluated {
    Value(Value),
    Undefined,
    Function,
}

/// The engine's JSONata implementation.
pub(crate) fn evaluator() -> &'static dyn Evaluator {
    &adapter::JsonataCore
}

/// One `{% %}` expression of a definition: its text and its parsed form.
#[derive(Clone)]
pub(crate) struct Expr {
    pub(crate) source: String,
    compiled: Arc<dyn Compiled>,
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{% {} %}}", self.source)
    }
}

impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Expr {
    /// Parses the inside of a `{% %}` string, as `asl validate` reports a failure:
    /// "INVALID_JSONATA_EXPRESSION: <the parser's message>".
    pub(crate) fn parse(source: &str) -> Result<Self, String> {
        let source = source.trim().to_string();
        if source.is_empty() {
            return Err("INVALID_JSONATA_EXPRESSION: the expression is empty".into());
        }
        evaluator()
            .compile(&source)
            .map(|compiled| Self { source, compiled })
            .map_err(|e| format!("INVALID_JSONATA_EXPRESSION: {e}"))
    }

    pub(crate) fn evaluate(&self, bindings: &Bindings<'_>) -> Result<Evaluated, String> {
        self.compiled.evaluate(bindings)
    }
}

/// An expression that failed, and where: the field's location in the state
/// (`Output/a/b`, `Choices[0]/Condition`), as the EvaluationFailed event names it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QueryError {
    pub(crate) location: String,
    pub(crate) cause: String,
}

/// The error every JSONata evaluation failure raises.
pub(crate) const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";

impl QueryError {
    /// The library raised an error: "The JSONata expression '<e>' specified for the field
    /// '<f>' threw an error during evaluation. <message>".
    pub(crate) fn threw(expr: &Expr, location: &str, message: &str) -> Self {
        Self {
            location: location.into(),
            cause: format!(
                "The JSONata expression '{}' specified for the field '{location}' threw an error during evaluation. {message}",
                expr.source
            ),
        }
    }

    /// The expression gave nothing where a value is needed (AWS's wording).
    pub(crate) fn undefined(expr: &Expr, location: &str) -> Self {
        Self {
            location: location.into(),
            cause: format!(
                "The JSONata expression '{}' specified for the field '{location}' returned nothing (undefined).",
                expr.source
            ),
        }
    }

    /// The expression gave a value of the wrong type: "... returned an unexpected result
    /// type. Expected 'array', but was 'object' for value: {...}" (AWS's wording for Items,
    /// used for every typed field).
    pub(crate) fn unexpected(expr: &Expr, location: &str, expected: &str, got: &Evaluated) -> Self {
        let (kind, shown) = match got {
            Evaluated::Value(v) => (type_name(v), crate::asl::path::compact(v)),
            Evaluated::Function => ("function", String::new()),
            Evaluated::Undefined => ("undefined", String::new()),
        };
        Self {
            location: location.into(),
            cause: format!(
                "The JSONata expression '{}' specified for the field '{location}' returned an unexpected result type. Expected '{expected}', but was '{kind}' for value: {shown}",
                expr.source
            ),
        }
    }

    /// A value of the right type that the field does not accept (a negative Seconds).
    pub(crate) fn invalid(expr: &Expr, location: &str, why: &str) -> Self {
        Self {
            location: location.into(),
            cause: format!(
                "The JSONata expression '{}' specified for the field '{location}' {why}",
                expr.source
            ),
        }
    }
}

/// AWS's refusal of a field of the other query language: "The QueryLanguage is set to
/// 'JSONata', but field 'ResultPath' is only supported for the 'JSONPath' QueryLanguage".
pub(crate) fn other_language(jsonata: bool, field: &str) -> String {
    let (is, other) = if jsonata {
        ("JSONata", "JSONPath")
    } else {
        ("JSONPath", "JSONata")
    };
    format!("The QueryLanguage is set to '{is}', but field '{field}' is only supported for the '{other}' QueryLanguage")
}

/// JSONata's `$type` names.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Evaluates one expression where a JSON value is needed: nothing or a function is an error.
pub(crate) fn value_of(
    expr: &Expr,
    location: &str,
    bindings: &Bindings<'_>,
) -> Result<Value, QueryError> {
    match expr.evaluate(bindings) {
        Ok(Evaluated::Value(v)) => Ok(v),
        Ok(Evaluated::Undefined) => Err(QueryError::undefined(expr, location)),
        Ok(f @ Evaluated::Function) => Err(QueryError::unexpected(expr, location, "value", &f)),
        Err(message) => Err(QueryError::threw(expr, location, &message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(source: &str) -> Result<Evaluated, String> {
        let vars = |name: &str| match name {
            "v" => Some(json!({"a": null})),
            _ => None,
        };
        let states = |context: bool| {
            let mut s = json!({"input": {"n": 2, "s": "x", "list": [1, 2, 3]}});
            if context {
                s["context"] = json!({"State": {"Name": "S"}});
            }
            s
        };
        Expr::parse(source)?.evaluate(&Bindings {
            states: &states,
            variables: &vars,
            seed: 1,
        })
    }

    #[test]
    fn bindings_numbers_and_results() {
        assert_eq!(eval("$states.input.n * 3"), Ok(Evaluated::Value(json!(6))));
        assert_eq!(
            eval("$states.input.n / 4"),
            Ok(Evaluated::Value(json!(0.5)))
        );
        assert_eq!(eval("$v.a"), Ok(Evaluated::Value(json!(null))));
        assert_eq!(eval("$states.input.missing"), Ok(Evaluated::Undefined));
        assert_eq!(eval("$nope"), Ok(Evaluated::Undefined));
        assert_eq!(eval("function($x){$x}"), Ok(Evaluated::Function));
        assert_eq!(
            eval("$sum($states.input.list)"),
            Ok(Evaluated::Value(json!(6)))
        );
        assert!(eval("$states.input.s + 1")
            .unwrap_err()
            .starts_with("T2001"));
    }

    // The library's own $random() cannot be called in 2.2.13; AWS's seeded one is Java's.
    #[test]
    fn wrapped_functions() {
        assert_eq!(
            eval("$random(42)"),
            Ok(Evaluated::Value(json!(0.7275636800328681)))
        );
        let Ok(Evaluated::Value(Value::Number(n))) = eval("$random()") else {
            panic!("$random() gave no number")
        };
        assert!((0.0..1.0).contains(&n.as_f64().unwrap_or(-1.0)));
        assert!(eval("$eval('1 + 1')").unwrap_err().starts_with("T1006"));
        assert_eq!(
            eval("$range(1, 5, 2)"),
            Ok(Evaluated::Value(json!([1, 3, 5])))
        );
        assert_eq!(eval("$parse('[1]')[0]"), Ok(Evaluated::Value(json!(1))));
    }

    // jsonata 2.0.6, which AWS runs, has neither `??` nor `?:`; AWS refuses `$$` and field
    // names read from the (absent) context item.
    #[test]
    fn refused_at_parse() {
        for (source, message) in [
            ("$states.input.a ?? 1", "INVALID_JSONATA_EXPRESSION: S0211: The symbol ? cannot be used as a unary operator"),
            ("$states.input.a ?: 1", "INVALID_JSONATA_EXPRESSION: S0211: The symbol : cannot be used as a unary operator"),
            ("$.a", "INVALID_JSONATA_EXPRESSION: UNSUPPORTED_JSONATA_EXPRESSION: Reference to '$' at the top level is not supported."),
            ("$$.a", "INVALID_JSONATA_EXPRESSION: UNSUPPORTED_JSONATA_EXPRESSION: Reference to '$$' is not supported."),
            ("phone", "INVALID_JSONATA_EXPRESSION: UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'phone' at the top level is not supported."),
            ("{'a': phone}", "INVALID_JSONATA_EXPRESSION: UNSUPPORTED_JSONATA_EXPRESSION: Reference to 'phone' at the top level is not supported."),
        ] {
            assert_eq!(Expr::parse(source).unwrap_err(), message, "{source}");
        }
        assert!(Expr::parse("1 +")
            .unwrap_err()
            .starts_with("INVALID_JSONATA_EXPRESSION: "));
        for ok in [
            "$states.input.list[$ > 1]",
            "$map($states.input.list, function($x){ $x * 2 })",
            "$states.input.list^(>$)",
            "$a ? 1 : 2",
        ] {
            assert!(Expr::parse(ok).is_ok(), "{ok}");
        }
    }
}
