//! The one [`Evaluator`] implementation: the `jsonata-core` crate (pinned). Everything that
//! names the library's types is here, so another library replaces only this file.
//!
//! What the engine wraps: AWS's functions are registered on every evaluator (`$random` and
//! `$eval` replace the library's: its `$random` cannot be called in 2.2.13, and AWS removes
//! `$eval`); `??` and `?:`, which the library accepts but jsonata 2.0.6 (the version AWS
//! runs) does not know, are refused at parse; numbers come back as JSON integers when whole.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context, Evaluator as Engine, EvaluatorError, EvaluatorOptions};
use jsonata_core::parser;
use jsonata_core::value::JValue;
use serde_json::{json, Map, Value};

use super::functions::{self, Draw};
use super::{Bindings, Compiled, Evaluated, Evaluator};

/// Deepest evaluation the library may nest (AWS refuses past 100 levels of an expression;
/// the library counts about three per level).
const MAX_STACK_DEPTH: usize = 1_000;

pub(super) struct JsonataCore;

impl Evaluator for JsonataCore {
    fn compile(&self, source: &str) -> Result<Arc<dyn Compiled>, String> {
        let ast = parser::parse(source).map_err(|e| e.to_string())?;
        // The AST's serialized form is walked once, here, for the checks and the variables.
        let tree = serde_json::to_value(&ast).map_err(|e| e.to_string())?;
        let mut walk = Walk::default();
        walk.node(&tree, true)?;
        Ok(Arc::new(CoreExpr {
            ast,
            variables: walk.variables,
            context: walk.context,
        }))
    }
}

#[derive(Debug)]
struct CoreExpr {
    ast: AstNode,
    /// The variables the expression reads (`$name`, without the `$`): only these are bound.
    variables: Vec<String>,
    /// Whether it may read `$states.context`.
    context: bool,
}

impl Compiled for CoreExpr {
    fn evaluate(&self, b: &Bindings<'_>) -> Result<Evaluated, String> {
        let mut context = Context::new();
        for name in &self.variables {
            let value = match name.as_str() {
                "states" => Some((b.states)(self.context)),
                _ => (b.variables)(name),
            };
            if let Some(v) = value {
                context.bind(name.clone(), JValue::from(v));
            }
        }
        let options = EvaluatorOptions {
            max_stack_depth: Some(MAX_STACK_DEPTH),
            ..EvaluatorOptions::default()
        };
        let mut engine = Engine::with_options(context, options);
        let draw = Rc::new(RefCell::new(Draw::new(b.seed)));
        for name in functions::NAMES {
            let draw = draw.clone();
            let f = move |args: &[JValue]| -> Result<JValue, EvaluatorError> {
                let args: Vec<Option<Value>> = args.iter().map(to_json).collect();
                match functions::call(name, &args, &mut draw.borrow_mut()) {
                    Ok(Some(v)) => Ok(JValue::from(v)),
                    Ok(None) => Ok(JValue::Undefined),
                    Err(m) => Err(EvaluatorError::EvaluationError(m)),
                }
            };
            if engine.register_fn(name, f.clone()).is_err() {
                engine
                    .register_fn_override(name, f)
                    .map_err(|e| e.message().to_string())?;
            }
        }
        let out = engine
            .evaluate(&self.ast, &JValue::Undefined)
            .map_err(|e| e.message().to_string())?;
        Ok(match &out {
            JValue::Undefined => Evaluated::Undefined,
            v if v.is_function() => Evaluated::Function,
            v => Evaluated::Value(to_json(v).unwrap_or(Value::Null)),
        })
    }
}

/// A library value as JSON: whole numbers as integers, as AWS prints them; numbers JSON
/// cannot hold as JavaScript names them; a function inside a value as JSONata's `$string`
/// writes it (""). `None` for undefined.
fn to_json(v: &JValue) -> Option<Value> {
    Some(match v {
        JValue::Undefined => return None,
        JValue::Null => Value::Null,
        JValue::Bool(b) => Value::Bool(*b),
        JValue::Number(n) => number(*n),
        JValue::String(s) => Value::String(s.to_string()),
        JValue::Array(items) => Value::Array(items.iter().filter_map(to_json).collect()),
        JValue::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (k, v) in map.iter() {
                if let Some(v) = to_json(v) {
                    out.insert(k.clone(), v);
                }
            }
            Value::Object(out)
        }
        _ => Value::String(String::new()),
    })
}

fn number(n: f64) -> Value {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if n.is_nan() {
        Value::String("NaN".into())
    } else if n.is_infinite() {
        Value::String(if n > 0.0 { "Infinity" } else { "-Infinity" }.into())
    } else if n.fract() == 0.0 && n.abs() < EXACT {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n)
            .map(Value::Number)
            .unwrap_or(Value::Null)
    }
}

/// What the parse-time walk finds: the variables read, and the constructs AWS refuses.
#[derive(Default)]
struct Walk {
    variables: Vec<String>,
    /// Whether `$states` is read other than as `$states.input`, `.result` or `.errorOutput`.
    context: bool,
}

impl Walk {
    fn variable(&mut self, name: &str) {
        if !name.is_empty() && !self.variables.iter().any(|n| n == name) {
            self.variables.push(name.to_string());
        }
    }

    /// `top`: whether a field name here would be read from the context item, which AWS's
    /// expressions do not have ("Reference to 'x' at the top level is not supported").
    fn node(&mut self, v: &Value, top: bool) -> Result<(), String> {
        match v {
            Value::Object(m) if m.len() == 1 => {
                let Some((kind, body)) = m.iter().next() else {
                    return Ok(());
                };
                self.kind(kind, body, top)
            }
            Value::Object(m) => m.values().try_for_each(|c| self.node(c, top)),
            Value::Array(items) => items.iter().try_for_each(|c| self.node(c, top)),
            _ => Ok(()),
        }
    }

    /// A path's steps; `$states.input...`, `.result...` and `.errorOutput...` read no context.
    fn path(&mut self, body: &Value, top: bool) -> Result<(), String> {
        let steps = body.get("steps").and_then(Value::as_array);
        let plain = steps.is_some_and(|steps| states_field_without_context(steps));
        if plain {
            self.variable("states");
        }
        for (i, step) in steps.into_iter().flatten().enumerate() {
            match step.get("node") {
                Some(_) if plain && i == 0 => {}
                Some(n) => self.node(n, top && i == 0)?,
                None => self.node(step, false)?,
            }
            for (k, c) in step.as_object().into_iter().flatten() {
                if k != "node" {
                    self.node(c, false)?;
                }
            }
        }
        Ok(())
    }

    fn kind(&mut self, kind: &str, body: &Value, top: bool) -> Result<(), String> {
        match kind {
            "Variable" => {
                let name = body.as_str().unwrap_or_default();
                // "You cannot use $ or $$ at the top level" (transforming-data.html).
                if name.is_empty() && top {
                    return Err(
                        "UNSUPPORTED_JSONATA_EXPRESSION: Reference to '$' at the top level is not supported.".into(),
                    );
                }
                if name == "states" {
                    self.context = true;
                }
                self.variable(name);
                Ok(())
            }
            "ParentVariable" => Err(
                "UNSUPPORTED_JSONATA_EXPRESSION: Reference to '$$' is not supported.".into(),
            ),
            "Name" if top => Err(format!(
                "UNSUPPORTED_JSONATA_EXPRESSION: Reference to '{}' at the top level is not supported.",
                body.as_str().unwrap_or_default()
            )),
            "Binary" => {
                // jsonata 2.0.6 reads `a ?? b` as a condition whose branch starts with `?`,
                // and `a ?: b` as one whose branch starts with `:`.
                match body.get("op").and_then(Value::as_str) {
                    Some("Coalesce") => return Err(unary("?")),
                    Some("Default") => return Err(unary(":")),
                    _ => {}
                }
                self.node(body, top)
            }
            "Path" => self.path(body, top),
            "Sort" | "ObjectTransform" => {
                if let Some(input) = body.get("input") {
                    self.node(input, top)?;
                }
                for (k, c) in body.as_object().into_iter().flatten() {
                    if k != "input" {
                        self.node(c, false)?;
                    }
                }
                Ok(())
            }
            "Predicate" | "Filter" => self.node(body, false),
            _ => self.node(body, top),
        }
    }
}

/// Whether a path starts `$states.input`, `$states.result` or `$states.errorOutput`, with
/// nothing else on its first step: such a path needs no `$states.context`.
fn states_field_without_context(steps: &[Value]) -> bool {
    let [first, second, ..] = steps else {
        return false;
    };
    let states = first.get("node") == Some(&json!({"Variable": "states"}))
        && first.as_object().is_some_and(|m| {
            m.iter()
                .all(|(k, v)| k == "node" || v.is_null() || v == &json!([]) || v == &json!(false))
        });
    let field = second.pointer("/node/Name").and_then(Value::as_str);
    states && matches!(field, Some("input" | "result" | "errorOutput"))
}

fn unary(symbol: &str) -> String {
    format!("S0211: The symbol {symbol} cannot be used as a unary operator")
}
