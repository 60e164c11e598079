//! JSONata templates: a field's JSON value in which every string that is wholly a `{% %}`
//! expression, at any depth, is replaced by the expression's value.

use serde_json::{Map, Value};

use super::{value_of, Bindings, Evaluated, Expr, QueryError};
use crate::asl::problem::{Problems, Ptr};

/// Whether a string is a JSONata expression: it starts with `{%` and ends with `%}`.
/// Anything else, a `{%` in the middle included, is a literal string.
pub(crate) fn is_expression(s: &str) -> bool {
    s.len() >= 4 && s.starts_with("{%") && s.ends_with("%}")
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    /// No expression anywhere below: used as is.
    Static(Value),
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
    Expr(Expr),
}

/// One field of a JSONata state (`Output`, `Arguments`, `Assign/x`, `Items`, ...), with its
/// location for the error texts and the EvaluationFailed event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AtaTemplate {
    location: String,
    node: Node,
}

impl AtaTemplate {
    /// Parses the field `location` (relative to the state); expressions that fail to parse
    /// are problems at their pointer.
    pub(crate) fn parse(location: &str, v: &Value, ptr: &Ptr, problems: &mut Problems) -> Self {
        Self {
            location: location.to_string(),
            node: parse_node(v, ptr, problems),
        }
    }

    pub(crate) fn location(&self) -> &str {
        &self.location
    }

    /// The expression when the whole field is one.
    pub(crate) fn expression(&self) -> Option<&Expr> {
        match &self.node {
            Node::Expr(e) => Some(e),
            _ => None,
        }
    }

    /// The field's value when it holds no expression.
    pub(crate) fn literal(&self) -> Option<&Value> {
        match &self.node {
            Node::Static(v) => Some(v),
            _ => None,
        }
    }

    /// The field's value; an expression anywhere that gives nothing or a function fails.
    pub(crate) fn eval(&self, b: &Bindings<'_>) -> Result<Value, QueryError> {
        eval_node(&self.node, &self.location, b)
    }

    /// The field's value as the expression gave it, for the fields that check its type.
    pub(crate) fn eval_raw(&self, b: &Bindings<'_>) -> Result<Evaluated, QueryError> {
        match &self.node {
            Node::Expr(e) => e
                .evaluate(b)
                .map_err(|m| QueryError::threw(e, &self.location, &m)),
            n => eval_node(n, &self.location, b).map(Evaluated::Value),
        }
    }
}

fn parse_node(v: &Value, ptr: &Ptr, problems: &mut Problems) -> Node {
    match v {
        Value::String(s) if is_expression(s) => match Expr::parse(&s[2..s.len() - 2]) {
            Ok(e) => Node::Expr(e),
            Err(m) => {
                problems.add(ptr, m);
                Node::Static(Value::Null)
            }
        },
        Value::Object(map) => {
            let fields: Vec<(String, Node)> = map
                .iter()
                .map(|(k, v)| (k.clone(), parse_node(v, &ptr.key(k), problems)))
                .collect();
            if fields.iter().all(|(_, n)| matches!(n, Node::Static(_))) {
                Node::Static(v.clone())
            } else {
                Node::Object(fields)
            }
        }
        Value::Array(items) => {
            let nodes: Vec<Node> = items
                .iter()
                .enumerate()
                .map(|(i, v)| parse_node(v, &ptr.index(i), problems))
                .collect();
            if nodes.iter().all(|n| matches!(n, Node::Static(_))) {
                Node::Static(v.clone())
            } else {
                Node::Array(nodes)
            }
        }
        other => Node::Static(other.clone()),
    }
}

fn eval_node(n: &Node, location: &str, b: &Bindings<'_>) -> Result<Value, QueryError> {
    match n {
        Node::Static(v) => Ok(v.clone()),
        Node::Expr(e) => value_of(e, location, b),
        Node::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            for (k, n) in fields {
                out.insert(k.clone(), eval_node(n, &format!("{location}/{k}"), b)?);
            }
            Ok(Value::Object(out))
        }
        Node::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, n)| eval_node(n, &format!("{location}[{i}]"), b))
            .collect::<Result<_, _>>()
            .map(Value::Array),
    }
}

/// The `Output` and `Assign` of a JSONata state, Choice rule or catcher.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct AtaIo {
    pub(crate) output: Option<AtaTemplate>,
    /// The whole Assign object: its value is the variables, by name.
    pub(crate) assign: Option<AtaTemplate>,
}

impl AtaIo {
    /// Reads `Output` and `Assign` of `obj`; `prefix` locates them in the state
    /// (`Choices[0]/`, `Catch[1]/`, or nothing for the state's own).
    pub(crate) fn parse(
        obj: &Map<String, Value>,
        ptr: &Ptr,
        prefix: &str,
        problems: &mut Problems,
    ) -> Self {
        let assign = obj.get("Assign").and_then(|a| {
            let p = ptr.key("Assign");
            let Some(map) = a.as_object() else {
                problems.add(&p, "Assign must be a JSON object");
                return None;
            };
            for key in map.keys() {
                if !crate::asl::template::valid_variable_name(key) {
                    problems.add(
                        &p.key(key),
                        format!("\"{key}\" is not a valid variable name (a letter or _ followed by letters, digits or _)"),
                    );
                } else if key == "states" {
                    problems.add(&p.key(key), "\"states\" is reserved: it names $states");
                }
            }
            Some(AtaTemplate::parse(&format!("{prefix}Assign"), a, &p, problems))
        });
        let output = obj.get("Output").map(|o| {
            AtaTemplate::parse(&format!("{prefix}Output"), o, &ptr.key("Output"), problems)
        });
        Self { output, assign }
    }
}
