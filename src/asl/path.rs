//! JSONPath as the Amazon States Language uses it: paths (`InputPath`, `OutputPath`, `.$`
//! fields), reference paths (`ResultPath`, Choice `Variable`, `*Path` fields) and writing a
//! value at a reference path (`ResultPath`).
//!
//! Step Functions evaluates paths with Jayway JsonPath: a *definite* path (names and indexes
//! only) selects one node and fails when it is missing; an *indefinite* path (wildcards, deep
//! scan, unions, slices, filters) selects a list, possibly empty. A path starts at `$` (the
//! state's data), `$$` (the context object) or `$name` (the variable `name`).

use std::fmt;

use serde_json::Value;

mod parse;
mod select;

use parse::Parser;
use select::{apply_seg, Expr};

/// Where a path starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// `$`: the data the state works on.
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a variable.
    Variable(String),
}

/// A path that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid path '{path}': {reason}")]
pub struct PathSyntaxError {
    pub(crate) path: String,
    pub(crate) reason: String,
}

/// A path that parses but cannot be applied to the data at hand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("no results for path {0}")]
    NotFound(String),
    /// The service's wording: a data input that is not an object or array names the whole
    /// path; otherwise the message names the step that met a value it cannot write into.
    #[error("{}", cannot_set_message(path, step.as_deref(), input))]
    CannotSet {
        path: String,
        /// The first step that could not be applied, when the input is an object or array.
        step: Option<String>,
        input: String,
    },
}

fn cannot_set_message(path: &str, step: Option<&str>, input: &str) -> String {
    match step {
        Some(step) => format!("Unable to apply step \"{step}\" to input {input}"),
        None => format!("Unable to apply ReferencePath {path} to input {input}"),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    /// A field name and the quote it was written with in brackets (`'` for dot notation):
    /// Jayway prints a name back in the quote it was read with.
    Child(String, char),
    Index(i64),
    Wildcard,
    /// `..` followed by a selector: the selector applied to every descendant (and self).
    Descend(Box<Seg>),
    /// Names or indexes in one bracket; the quote of its names, as for `Child`.
    Union(Vec<Key>, char),
    Slice(Option<i64>, Option<i64>, Option<i64>),
    Filter(Box<Expr>),
    Length,
}

impl Seg {
    /// How a write failure names this step: a field name, or an index in brackets.
    fn step_name(&self) -> String {
        match self {
            Seg::Child(name, _) => name.clone(),
            Seg::Index(i) => format!("[{i}]"),
            _ => String::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Key {
    Name(String),
    Index(i64),
}

/// A parsed JSONPath.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    text: String,
    root: Root,
    segs: Vec<Seg>,
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Path {
    /// Parses any path (Jayway syntax subset: names, indexes, `*`, `..`, unions, slices,
    /// filters `[?(...)]` and a trailing `length()`).
    pub fn parse(text: &str) -> Result<Self, PathSyntaxError> {
        let err = |reason: &str| PathSyntaxError {
            path: text.to_string(),
            reason: reason.to_string(),
        };
        let (root, rest) = split_root(text).ok_or_else(|| err("a path must start with $"))?;
        let mut p = Parser::new(rest);
        let segs = p.segments(false).map_err(|r| err(&r))?;
        if !p.at_end() {
            return Err(err(&format!("unexpected '{}'", &rest[p.pos..])));
        }
        if let Some(i) = segs.iter().position(|s| *s == Seg::Length) {
            if i + 1 != segs.len() {
                return Err(err("length() must come last"));
            }
        }
        Ok(Self {
            text: text.to_string(),
            root,
            segs,
        })
    }

    /// Parses a reference path: only `.name`, `['name']` and `[index]` steps.
    pub(crate) fn parse_reference(text: &str) -> Result<Self, PathSyntaxError> {
        let path = Self::parse(text)?;
        if !path.is_reference() {
            return Err(PathSyntaxError {
                path: text.to_string(),
                reason: "a reference path may only use .name, ['name'] and [index] (no @ .. , : ? * or functions)".into(),
            });
        }
        Ok(path)
    }

    pub(crate) fn root(&self) -> &Root {
        &self.root
    }

    /// The path as Jayway JsonPath prints it back, the form Step Functions quotes in its
    /// messages ("No results for path: $['x']", issue 11): names in brackets with the quote
    /// they were read with and their escapes resolved, `[0]`, `[*]`, `..`, `[1:2]`, `[?]`
    /// for a filter, `.length()`. The root is printed as written (`$`, `$$`, `$name`).
    pub(crate) fn normalized(&self) -> String {
        let mut out = match &self.root {
            Root::Input => "$".to_string(),
            Root::Context => "$$".to_string(),
            Root::Variable(name) => format!("${name}"),
        };
        for seg in &self.segs {
            write_normalized(seg, &mut out);
        }
        out
    }

    /// True for a path that identifies a single node by names and non-negative indexes.
    pub(crate) fn is_reference(&self) -> bool {
        self.segs.iter().all(|s| match s {
            Seg::Child(..) => true,
            Seg::Index(i) => *i >= 0,
            _ => false,
        })
    }

    /// How many steps follow the root (`$.a[0]` has two).
    pub(crate) fn step_count(&self) -> usize {
        self.segs.len()
    }

    /// True when the path selects at most one node (Jayway's "definite" path).
    pub(crate) fn is_definite(&self) -> bool {
        self.segs
            .iter()
            .all(|s| matches!(s, Seg::Child(..) | Seg::Index(_) | Seg::Length))
    }

    /// Applies the path to `data` (the value its root names). A definite path that matches
    /// nothing is [`PathError::NotFound`]; an indefinite path returns an array of matches.
    pub fn select(&self, data: &Value) -> Result<Value, PathError> {
        let (body, length) = match self.segs.last() {
            Some(Seg::Length) => (&self.segs[..self.segs.len() - 1], true),
            _ => (&self.segs[..], false),
        };
        let mut current: Vec<&Value> = vec![data];
        for seg in body {
            let mut next = Vec::new();
            for v in current {
                apply_seg(seg, v, data, &mut next);
            }
            current = next;
        }
        let definite = self.is_definite();
        let value = if definite {
            match current.first() {
                Some(v) => (*v).clone(),
                None => return Err(PathError::NotFound(self.text.clone())),
            }
        } else {
            Value::Array(current.into_iter().cloned().collect())
        };
        if length {
            return match &value {
                Value::Array(a) => Ok(Value::from(a.len())),
                Value::String(s) => Ok(Value::from(s.chars().count())),
                Value::Object(o) => Ok(Value::from(o.len())),
                _ => Err(PathError::NotFound(self.text.clone())),
            };
        }
        Ok(value)
    }

    /// `blocked_step` checked every step already: a mismatch afterwards would be a logic
    /// error, which we report instead of panicking.
    fn cannot_set(&self) -> PathError {
        PathError::CannotSet {
            path: self.text.clone(),
            step: None,
            input: String::new(),
        }
    }

    /// Writes `value` into `target` at this reference path, creating missing objects on the
    /// way (`ResultPath`). `$` replaces the whole target.
    pub fn set(&self, target: &mut Value, value: Value) -> Result<(), PathError> {
        let fail = |target: &Value, step: Option<&Seg>| PathError::CannotSet {
            path: self.text.clone(),
            step: step
                .filter(|_| target.is_object() || target.is_array())
                .map(Seg::step_name),
            input: compact(target),
        };
        if self.segs.is_empty() {
            *target = value;
            return Ok(());
        }
        if !self.is_reference() || self.root != Root::Input {
            return Err(fail(target, None));
        }
        // Check first so a failed write leaves the target untouched and the message shows it.
        if let Some(step) = blocked_step(&self.segs, target) {
            return Err(fail(target, Some(step)));
        }
        let mut cur = target;
        let last = self.segs.len() - 1;
        for (i, seg) in self.segs.iter().enumerate() {
            match seg {
                Seg::Child(name, _) => {
                    let Value::Object(map) = cur else {
                        return Err(self.cannot_set());
                    };
                    if i == last {
                        map.insert(name.clone(), value);
                        return Ok(());
                    }
                    cur = map
                        .entry(name.clone())
                        .or_insert_with(|| Value::Object(Default::default()));
                }
                Seg::Index(idx) => {
                    let Value::Array(arr) = cur else {
                        return Err(self.cannot_set());
                    };
                    let Some(slot) = usize::try_from(*idx).ok().and_then(|i| arr.get_mut(i)) else {
                        return Err(self.cannot_set());
                    };
                    if i == last {
                        *slot = value;
                        return Ok(());
                    }
                    cur = slot;
                }
                _ => return Err(self.cannot_set()),
            }
        }
        Ok(())
    }
}

/// Appends one segment in Jayway's printed form (see [`Path::normalized`]).
fn write_normalized(seg: &Seg, out: &mut String) {
    let names = |keys: &[Key], quote: char| {
        keys.iter()
            .map(|k| match k {
                Key::Name(n) => format!("{quote}{n}{quote}"),
                Key::Index(i) => i.to_string(),
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let opt = |x: &Option<i64>| x.map(|v| v.to_string()).unwrap_or_default();
    match seg {
        Seg::Child(name, quote) => out.push_str(&format!("[{quote}{name}{quote}]")),
        Seg::Index(i) => out.push_str(&format!("[{i}]")),
        Seg::Wildcard => out.push_str("[*]"),
        Seg::Descend(inner) => {
            out.push_str("..");
            write_normalized(inner, out);
        }
        Seg::Union(keys, quote) => out.push_str(&format!("[{}]", names(keys, *quote))),
        Seg::Slice(start, end, None) => out.push_str(&format!("[{}:{}]", opt(start), opt(end))),
        Seg::Slice(start, end, step) => {
            out.push_str(&format!("[{}:{}:{}]", opt(start), opt(end), opt(step)))
        }
        Seg::Filter(_) => out.push_str("[?]"),
        Seg::Length => out.push_str(".length()"),
    }
}

/// The first step of a reference path that cannot be written into `target`, if any.
fn blocked_step<'s>(segs: &'s [Seg], target: &Value) -> Option<&'s Seg> {
    let (first, rest) = segs.split_first()?;
    match (first, target) {
        (Seg::Child(name, _), Value::Object(map)) => match map.get(name) {
            Some(next) => blocked_step(rest, next),
            // Missing objects are created; the remaining steps must then all be names.
            None => rest.iter().find(|s| !matches!(s, Seg::Child(..))),
        },
        (Seg::Index(i), Value::Array(arr)) => {
            match usize::try_from(*i).ok().and_then(|i| arr.get(i)) {
                Some(next) => blocked_step(rest, next),
                None => Some(first),
            }
        }
        _ => Some(first),
    }
}

/// Compact JSON text of a value (for messages and history details).
pub(crate) fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

fn split_root(text: &str) -> Option<(Root, &str)> {
    let rest = text.strip_prefix('$')?;
    if let Some(rest) = rest.strip_prefix('$') {
        return Some((Root::Context, rest));
    }
    let name_len = rest
        .char_indices()
        .take_while(|(i, c)| c.is_ascii_alphabetic() || *c == '_' || (*i > 0 && c.is_ascii_digit()))
        .map(|(i, c)| i + c.len_utf8())
        .last()
        .unwrap_or(0);
    if name_len > 0 {
        return Some((
            Root::Variable(rest[..name_len].to_string()),
            &rest[name_len..],
        ));
    }
    Some((Root::Input, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sel(path: &str, data: &Value) -> Result<Value, PathError> {
        Path::parse(path).unwrap().select(data)
    }

    // "Reference Paths" (Step Functions developer guide, Paths): $.foo => 123, $.bar =>
    // ["a","b","c"], $.car.cdr => true.
    #[test]
    fn reference_paths_from_the_guide() {
        let data = json!({"foo": 123, "bar": ["a", "b", "c"], "car": {"cdr": true}});
        assert_eq!(sel("$.foo", &data).unwrap(), json!(123));
        assert_eq!(sel("$.bar", &data).unwrap(), json!(["a", "b", "c"]));
        assert_eq!(sel("$.car.cdr", &data).unwrap(), json!(true));
        assert!(Path::parse_reference("$.car.cdr").is_ok());
        for bad in [
            "$.bar[*]",
            "$..foo",
            "$.bar[0:1]",
            "$.bar[?(@ == 'a')]",
            "$.bar.length()",
        ] {
            assert!(Path::parse_reference(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roots() {
        assert_eq!(
            Path::parse("$$.Execution.Id").unwrap().root(),
            &Root::Context
        );
        assert_eq!(
            Path::parse("$myVar.x").unwrap().root(),
            &Root::Variable("myVar".into())
        );
        assert_eq!(Path::parse("$").unwrap().root(), &Root::Input);
        for bad in ["foo", "$.", "$["] {
            let err = Path::parse(bad).unwrap_err();
            let step = &bad[bad.rfind(['.', '[']).unwrap_or(0)..];
            assert!(
                err.to_string().contains(step.trim_start_matches('.')),
                "{bad}: {err}"
            );
        }
    }

    // The "Parameters" example of the ASL spec: "$.vals[0]" and "$.vals[3:]".
    #[test]
    fn indexes_slices_wildcards_filters() {
        let data = json!({"vals": [0, 10, 20, 30, 40, 50], "o": {"a": 1, "b": 2},
            "books": [{"p": 8, "t": "x"}, {"p": 12, "t": "y"}, {"t": "z"}]});
        assert_eq!(sel("$.vals[0]", &data).unwrap(), json!(0));
        assert_eq!(sel("$.vals[3:]", &data).unwrap(), json!([30, 40, 50]));
        assert_eq!(sel("$.vals[-1]", &data).unwrap(), json!(50));
        assert_eq!(sel("$.vals[::2]", &data).unwrap(), json!([0, 20, 40]));
        assert_eq!(sel("$.vals[0,2]", &data).unwrap(), json!([0, 20]));
        assert_eq!(sel("$.o.*", &data).unwrap(), json!([1, 2]));
        assert_eq!(sel("$.books[*].t", &data).unwrap(), json!(["x", "y", "z"]));
        assert_eq!(sel("$..p", &data).unwrap(), json!([8, 12]));
        assert_eq!(sel("$.books[?(@.p < 10)].t", &data).unwrap(), json!(["x"]));
        assert_eq!(sel("$.books[?(@.p)].t", &data).unwrap(), json!(["x", "y"]));
        assert_eq!(
            sel("$.books[?(@.t == 'y' || @.p == 8)].t", &data).unwrap(),
            json!(["x", "y"])
        );
        assert_eq!(sel("$.vals.length()", &data).unwrap(), json!(6));
        assert_eq!(sel("$['o']['b']", &data).unwrap(), json!(2));
        assert_eq!(sel("$.missing[*]", &data).unwrap(), json!([]));
        assert!(matches!(
            sel("$.missing", &data),
            Err(PathError::NotFound(_))
        ));
        assert!(matches!(
            sel("$.vals[9]", &data),
            Err(PathError::NotFound(_))
        ));
    }

    // Step Functions reads paths with Jayway JsonPath, whose bracket notation takes the
    // escapes of a Java string literal (PathCompiler.readBracketPropertyToken, then
    // Utils.unescape): `$['a\\"b']` names the field a\"b, `$["a\"b"]` the field a"b.
    #[test]
    fn quoted_names_take_java_escapes() {
        let data =
            json!({"a\\\"b": 1, "a\"b": 2, "it's": 3, "t\tn\nA": 4, "\u{1F600}": 5, "x\\": 6});
        assert_eq!(sel(r#"$['a\\"b']"#, &data).unwrap(), json!(1));
        assert_eq!(sel(r#"$["a\"b"]"#, &data).unwrap(), json!(2));
        assert_eq!(sel(r#"$['it\'s']"#, &data).unwrap(), json!(3));
        assert_eq!(sel(r#"$["it's"]"#, &data).unwrap(), json!(3));
        assert_eq!(sel(r#"$['t\tn\n\u0041']"#, &data).unwrap(), json!(4));
        assert_eq!(sel(r#"$['\uD83D\uDE00']"#, &data).unwrap(), json!(5));
        assert_eq!(sel(r#"$['x\\']"#, &data).unwrap(), json!(6));
        assert_eq!(
            sel(r#"$[?(@ == 'a\"b')]"#, &json!(["a\"b", "c"])).unwrap(),
            json!(["a\"b"])
        );
        for bad in [
            r#"$['\u00G1']"#,
            r#"$['\uD83D']"#,
            r#"$['\u12']"#,
            r#"$['a\']"#,
        ] {
            assert!(Path::parse(bad).is_err(), "{bad}");
        }
        // The engine prints a path back as it was written.
        let text = r#"$['a\\"b'].c"#;
        let path = Path::parse_reference(text).unwrap();
        assert_eq!(path.to_string(), text);
        assert_eq!(
            path.select(&data).unwrap_err().to_string(),
            format!("no results for path {text}")
        );
        let mut target = json!({});
        path.set(&mut target, json!(7)).unwrap();
        assert_eq!(target, json!({"a\\\"b": {"c": 7}}));
    }

    // Jayway prints a path back with every name in brackets, in the quote it was read with and
    // its escapes resolved; Step Functions quotes that form ("No results for path: $['x']").
    #[test]
    fn normalized_form_is_jayways() {
        let cases = [
            ("$", "$"),
            ("$.x", "$['x']"),
            ("$.a[0].b", "$['a'][0]['b']"),
            (r#"$["c\"d"]"#, r#"$["c"d"]"#),
            (r#"$['a\\"b'].c"#, r#"$['a\"b']['c']"#),
            ("$$.Execution.Id", "$$['Execution']['Id']"),
            ("$v.items[-1]", "$v['items'][-1]"),
            ("$.l[*]..id", "$['l'][*]..['id']"),
            ("$.l[1:3]", "$['l'][1:3]"),
            ("$['a','b']", "$['a','b']"),
            ("$.l[0,2]", "$['l'][0,2]"),
            ("$.l[?(@.p > 1)].t", "$['l'][?]['t']"),
            ("$.l.length()", "$['l'].length()"),
        ];
        for (text, normalized) in cases {
            assert_eq!(
                Path::parse(text).unwrap().normalized(),
                normalized,
                "{text}"
            );
        }
    }

    #[test]
    fn set_creates_objects_and_refuses_non_objects() {
        let mut data = json!({"a": 1});
        Path::parse("$.b.c")
            .unwrap()
            .set(&mut data, json!(2))
            .unwrap();
        assert_eq!(data, json!({"a": 1, "b": {"c": 2}}));
        Path::parse("$")
            .unwrap()
            .set(&mut data, json!("x"))
            .unwrap();
        assert_eq!(data, json!("x"));
        let err = Path::parse("$.a")
            .unwrap()
            .set(&mut data, json!(1))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Unable to apply ReferencePath $.a to input \"x\""
        );
        let mut arr = json!({"l": [1, 2]});
        Path::parse("$.l[1]")
            .unwrap()
            .set(&mut arr, json!(9))
            .unwrap();
        assert_eq!(arr, json!({"l": [1, 9]}));
        for bad in ["$.l[5]", "$.l.x"] {
            let err = Path::parse(bad)
                .unwrap()
                .set(&mut arr, json!(9))
                .unwrap_err();
            assert!(
                matches!(err, PathError::CannotSet { .. } | PathError::NotFound(_)),
                "{bad}: {err:?}"
            );
            let step = &bad[bad.rfind(['.', '[']).unwrap_or(0)..];
            assert!(
                err.to_string().contains(step.trim_start_matches('.')),
                "{bad}: {err}"
            );
        }
    }
}
