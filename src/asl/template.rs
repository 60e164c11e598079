//! Payload templates (`Parameters`, `ResultSelector`, `ItemSelector`, `Assign`): JSON whose
//! fields ending in `.$` take their value from a path or an intrinsic function; and the
//! environment they are evaluated in (state data, context object, variables).

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::intrinsics::{Intrinsic, Resolve};
use super::path::{compact, Path, Root};
use super::problem::{Problems, Ptr};
use super::random::RandomSource;

/// A parsed payload template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Template {
    /// No `.$` field anywhere below: used as is.
    Static(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Path {
        field: String,
        path: Path,
    },
    Call {
        field: String,
        call: Intrinsic,
    },
}

impl Template {
    /// Parses a template; problems are reported at `ptr`.
    pub(crate) fn parse(value: &Value, ptr: &Ptr, problems: &mut Problems) -> Self {
        match value {
            Value::Object(map) => {
                let mut fields = Vec::with_capacity(map.len());
                let mut dynamic = false;
                for (key, v) in map {
                    let p = ptr.key(key);
                    if let Some(field) = key.strip_suffix(".$") {
                        dynamic = true;
                        fields.push((field.to_string(), Self::parse_dynamic(key, v, &p, problems)));
                    } else {
                        let t = Self::parse(v, &p, problems);
                        dynamic |= !matches!(t, Template::Static(_));
                        fields.push((key.clone(), t));
                    }
                }
                if dynamic {
                    Template::Object(fields)
                } else {
                    Template::Static(value.clone())
                }
            }
            Value::Array(items) => {
                let parsed: Vec<Template> = items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Self::parse(v, &ptr.index(i), problems))
                    .collect();
                if parsed.iter().all(|t| matches!(t, Template::Static(_))) {
                    Template::Static(value.clone())
                } else {
                    Template::Array(parsed)
                }
            }
            _ => Template::Static(value.clone()),
        }
    }

    fn parse_dynamic(key: &str, v: &Value, ptr: &Ptr, problems: &mut Problems) -> Self {
        let field = key.trim_end_matches(".$").to_string();
        let Some(text) = v.as_str() else {
            problems.add(
                ptr,
                format!("the value of \"{key}\" must be a path or an intrinsic function string"),
            );
            return Template::Static(Value::Null);
        };
        if Intrinsic::looks_like_call(text) {
            match Intrinsic::parse(text) {
                Ok(call) => Template::Call { field, call },
                Err(e) => {
                    problems.add(ptr, e.to_string());
                    Template::Static(Value::Null)
                }
            }
        } else {
            match Path::parse(text) {
                Ok(path) => Template::Path { field, path },
                Err(e) => {
                    problems.add(ptr, e.to_string());
                    Template::Static(Value::Null)
                }
            }
        }
    }

    /// Builds the payload.
    pub(crate) fn eval(&self, env: &Env<'_>) -> Result<Value, String> {
        match self {
            Template::Static(v) => Ok(v.clone()),
            Template::Object(fields) => {
                let mut out = Map::new();
                for (k, t) in fields {
                    out.insert(k.clone(), t.eval(env)?);
                }
                Ok(Value::Object(out))
            }
            Template::Array(items) => items.iter().map(|t| t.eval(env)).collect::<Result<_, _>>().map(Value::Array),
            Template::Path { field, path } => env.resolve(path).map_err(|_| match path.root() {
                Root::Variable(name) if env.vars.get(name).is_none() => {
                    format!("The variable '{name}' specified for the field '{field}.$' is not defined")
                }
                _ => format!(
                    "The JSONPath '{path}' specified for the field '{field}.$' could not be found in the input '{}'",
                    env.describe_root(path)
                ),
            }),
            Template::Call { call, .. } => call.eval(env).map_err(|e| e.to_string()),
        }
    }
}

/// An `Assign` block: variable name → value template.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Assign(pub Vec<(String, Template)>);

impl Assign {
    pub(crate) fn parse(value: &Value, ptr: &Ptr, problems: &mut Problems) -> Option<Self> {
        let Some(map) = value.as_object() else {
            problems.add(ptr, "Assign must be a JSON object");
            return None;
        };
        let mut vars = Vec::with_capacity(map.len());
        for (key, v) in map {
            let p = ptr.key(key);
            let (name, dynamic) = match key.strip_suffix(".$") {
                Some(n) => (n, true),
                None => (key.as_str(), false),
            };
            if !valid_variable_name(name) {
                problems.add(
                    &p,
                    format!("\"{name}\" is not a valid variable name (a letter or _ followed by letters, digits or _)"),
                );
                continue;
            }
            let t = if dynamic {
                Template::parse_dynamic(key, v, &p, problems)
            } else {
                Template::parse(v, &p, problems)
            };
            vars.push((name.to_string(), t));
        }
        Some(Self(vars))
    }

    /// Evaluates every value against the variables as they were before the state (the
    /// assignments take effect together, afterwards).
    pub(crate) fn eval(&self, env: &Env<'_>) -> Result<Vec<(String, Value)>, String> {
        self.0
            .iter()
            .map(|(n, t)| t.eval(env).map(|v| (n.clone(), v)))
            .collect()
    }
}

/// Variable names: a letter or `_`, then letters, digits or `_`; at most 80 characters.
pub(crate) fn valid_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 80
}

/// The variables visible to a state: its own scope and, read-only, the scopes of the
/// Parallel branches or Map iterations it runs in.
#[derive(Debug, Default)]
pub(crate) struct Vars<'p> {
    local: HashMap<String, Value>,
    parent: Option<&'p Vars<'p>>,
}

impl<'p> Vars<'p> {
    pub(crate) fn root() -> Self {
        Self::default()
    }

    /// A scope for a branch or iteration: reads `parent`, writes only to itself.
    pub(crate) fn child(parent: &'p Vars<'p>) -> Self {
        Self {
            local: HashMap::new(),
            parent: Some(parent),
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.local
            .get(name)
            .or_else(|| self.parent.and_then(|p| p.get(name)))
    }

    pub(crate) fn assign(&mut self, values: Vec<(String, Value)>) {
        self.local.extend(values);
    }
}

/// Everything a path, template or intrinsic can read while a state runs.
pub(crate) struct Env<'a> {
    /// What `$` names.
    pub(crate) input: &'a Value,
    /// Builds the context object (`$$`) when a path asks for it.
    pub(crate) context: &'a (dyn Fn() -> Value + Sync),
    pub(crate) vars: &'a Vars<'a>,
    pub(crate) random: &'a dyn RandomSource,
}

impl Env<'_> {
    fn describe_root(&self, path: &Path) -> String {
        match path.root() {
            Root::Input => compact(self.input),
            Root::Context => compact(&(self.context)()),
            Root::Variable(n) => self.vars.get(n).map(compact).unwrap_or_default(),
        }
    }

    /// Resolves a path, with the message Step Functions gives when it cannot.
    pub(crate) fn select(&self, path: &Path) -> Result<Value, String> {
        self.resolve(path).map_err(|reason| {
            format!(
                "Invalid path '{path}': {reason} in the input '{}'",
                self.describe_root(path)
            )
        })
    }
}

impl Resolve for Env<'_> {
    fn root_text(&self, path: &Path) -> String {
        self.describe_root(path)
    }

    fn resolve(&self, path: &Path) -> Result<Value, String> {
        match path.root() {
            Root::Input => path.select(self.input).map_err(|e| e.to_string()),
            Root::Context => path.select(&(self.context)()).map_err(|e| e.to_string()),
            Root::Variable(name) => match self.vars.get(name) {
                Some(v) => path.select(v).map_err(|e| e.to_string()),
                None => Err(format!("the variable '{name}' is not defined")),
            },
        }
    }

    fn random(&self) -> &dyn RandomSource {
        self.random
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asl::random::SeededRandom;
    use serde_json::json;

    fn env_eval(template: &Value, input: &Value, vars: &Vars<'_>) -> Result<Value, String> {
        let mut problems = Problems::default();
        let t = Template::parse(template, &Ptr::root(), &mut problems);
        assert!(problems.0.is_empty(), "{:?}", problems.0);
        let ctx = || json!({"Execution": {"Name": "e1"}});
        let rnd = SeededRandom::new(1);
        t.eval(&Env {
            input,
            context: &ctx,
            vars,
            random: &rnd,
        })
    }

    // "Parameters" example of the Amazon States Language spec (Payload Template section).
    #[test]
    fn spec_parameters_example() {
        let template =
            json!({"flagged": true, "parts": {"first.$": "$.vals[0]", "last3.$": "$.vals[3:]"}});
        let input = json!({"flagged": 7, "vals": [0, 10, 20, 30, 40, 50]});
        assert_eq!(
            env_eval(&template, &input, &Vars::root()).unwrap(),
            json!({"flagged": true, "parts": {"first": 0, "last3": [30, 40, 50]}})
        );
    }

    #[test]
    fn context_variables_and_missing_paths() {
        let root = Vars::root();
        let mut outer = Vars::child(&root);
        outer.assign(vec![("x".into(), json!({"y": 5}))]);
        let inner = Vars::child(&outer);
        let t = json!({"name.$": "$$.Execution.Name", "y.$": "$x.y", "list": [{"a.$": "$.a"}]});
        assert_eq!(
            env_eval(&t, &json!({"a": 1}), &inner).unwrap(),
            json!({"name": "e1", "y": 5, "list": [{"a": 1}]})
        );
        let err = env_eval(&json!({"b.$": "$.b"}), &json!({"a": 1}), &inner).unwrap_err();
        assert_eq!(
            err,
            "The JSONPath '$.b' specified for the field 'b.$' could not be found in the input '{\"a\":1}'"
        );
        let err = env_eval(&json!({"z.$": "$nope"}), &json!({}), &inner).unwrap_err();
        assert!(err.contains("variable 'nope'"), "{err}");
    }

    #[test]
    fn bad_templates_are_problems() {
        let mut problems = Problems::default();
        Template::parse(
            &json!({"a.$": 3, "b.$": "nope", "c.$": "States.Nope()"}),
            &Ptr::root().key("Parameters"),
            &mut problems,
        );
        let pointers: Vec<_> = problems.0.iter().map(|p| p.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            ["/Parameters/a.$", "/Parameters/b.$", "/Parameters/c.$"]
        );
    }
}
