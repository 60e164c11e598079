//! Choice rules: comparison operators (and their `...Path` forms), `Is*` tests, `And`, `Or`
//! and `Not`, as the "Choice workflow state" page of the developer guide defines them.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use super::jsonata::{AtaIo, AtaTemplate};
use super::path::{compact, Path};
use super::problem::{Problems, Ptr};
use super::template::{Assign, Env};
use super::value::{cmp_numbers, parse_timestamp};

/// A top-level choice rule with its transition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChoiceRule {
    pub(crate) rule: Rule,
    pub(crate) next: String,
    pub(crate) assign: Option<Assign>,
    /// A JSONata rule's Output and Assign.
    pub(crate) ata: AtaIo,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rule {
    /// A JSONata rule's `Condition`, which must give a boolean.
    Condition(AtaTemplate),
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Cmp {
        variable: Path,
        op: Op,
        operand: Operand,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Value(Value),
    Path(Path),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
    StringMatches,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Op {
    pub(crate) kind: Kind,
    /// For ordered comparisons: which orderings make the rule true.
    pub(crate) accept: [bool; 3],
    pub(crate) name: &'static str,
}

const EQ: [bool; 3] = [false, true, false];
const LT: [bool; 3] = [true, false, false];
const GT: [bool; 3] = [false, false, true];
const LE: [bool; 3] = [true, true, false];
const GE: [bool; 3] = [false, true, true];

/// Every comparison operator (without the `Path` suffix) and what it compares.
const OPERATORS: &[(&str, Kind, [bool; 3])] = &[
    ("StringEquals", Kind::String, EQ),
    ("StringLessThan", Kind::String, LT),
    ("StringGreaterThan", Kind::String, GT),
    ("StringLessThanEquals", Kind::String, LE),
    ("StringGreaterThanEquals", Kind::String, GE),
    ("StringMatches", Kind::StringMatches, EQ),
    ("NumericEquals", Kind::Numeric, EQ),
    ("NumericLessThan", Kind::Numeric, LT),
    ("NumericGreaterThan", Kind::Numeric, GT),
    ("NumericLessThanEquals", Kind::Numeric, LE),
    ("NumericGreaterThanEquals", Kind::Numeric, GE),
    ("BooleanEquals", Kind::Boolean, EQ),
    ("TimestampEquals", Kind::Timestamp, EQ),
    ("TimestampLessThan", Kind::Timestamp, LT),
    ("TimestampGreaterThan", Kind::Timestamp, GT),
    ("TimestampLessThanEquals", Kind::Timestamp, LE),
    ("TimestampGreaterThanEquals", Kind::Timestamp, GE),
    ("IsNull", Kind::IsNull, EQ),
    ("IsPresent", Kind::IsPresent, EQ),
    ("IsNumeric", Kind::IsNumeric, EQ),
    ("IsString", Kind::IsString, EQ),
    ("IsBoolean", Kind::IsBoolean, EQ),
    ("IsTimestamp", Kind::IsTimestamp, EQ),
];

const RULE_FIELDS: [&str; 5] = ["Variable", "Next", "Comment", "Assign", "Condition"];

/// Finds the operator a field name names; the bool says it is the `...Path` form.
fn lookup(field: &str) -> Option<(Op, bool)> {
    let (base, is_path) = match field.strip_suffix("Path") {
        Some(b) if b != "String" => (b, true),
        _ => (field, false),
    };
    OPERATORS
        .iter()
        .find(|(n, _, _)| *n == base)
        .filter(|(_, kind, _)| {
            !is_path
                || !matches!(
                    kind,
                    Kind::StringMatches
                        | Kind::IsNull
                        | Kind::IsPresent
                        | Kind::IsNumeric
                        | Kind::IsString
                        | Kind::IsBoolean
                        | Kind::IsTimestamp
                )
        })
        .map(|(name, kind, accept)| {
            (
                Op {
                    kind: *kind,
                    accept: *accept,
                    name,
                },
                is_path,
            )
        })
}

/// The one field of a rule object that names its operator (a comparison, And, Or or Not).
fn operator_field<'a>(
    obj: &'a Map<String, Value>,
    ptr: &Ptr,
    problems: &mut Problems,
) -> Option<&'a str> {
    let mut found: Vec<&str> = Vec::new();
    for key in obj.keys() {
        if matches!(key.as_str(), "And" | "Or" | "Not") || lookup(key).is_some() {
            found.push(key);
        } else if !RULE_FIELDS.contains(&key.as_str()) {
            problems.add(
                &ptr.key(key),
                format!("unknown field \"{key}\" in a choice rule"),
            );
        } else if matches!(key.as_str(), "Condition" | "Output") {
            problems.add(ptr, super::jsonata::other_language(false, key));
        }
    }
    match found.as_slice() {
        [one] => Some(*one),
        [] => {
            problems.add(
                ptr,
                "a choice rule needs one comparison operator, And, Or or Not",
            );
            None
        }
        many => {
            problems.add(
                ptr,
                format!(
                    "a choice rule must have exactly one operator, found {}",
                    sorted(many).join(", ")
                ),
            );
            None
        }
    }
}

/// The literal operand of a comparison, which must have the type the operator compares.
fn literal_operand(
    raw: &Value,
    op: Op,
    op_name: &str,
    operand_ptr: &Ptr,
    problems: &mut Problems,
) -> Option<Value> {
    let ok = match op.kind {
        Kind::String | Kind::StringMatches => raw.is_string(),
        Kind::Numeric => raw.is_number(),
        Kind::Timestamp => raw.as_str().and_then(parse_timestamp).is_some(),
        _ => raw.is_boolean(),
    };
    if !ok {
        let expected = match op.kind {
            Kind::String | Kind::StringMatches => "a string",
            Kind::Numeric => "a number",
            Kind::Timestamp => "a timestamp string such as 2016-08-18T17:33:00Z",
            _ => "a boolean",
        };
        problems.add(operand_ptr, format!("{op_name} must be {expected}"));
        return None;
    }
    Some(raw.clone())
}

impl ChoiceRule {
    pub(crate) fn parse(
        v: &Value,
        ptr: &Ptr,
        states: &[String],
        jsonata: bool,
        problems: &mut Problems,
    ) -> Option<Self> {
        let rule = if jsonata {
            Rule::parse_condition(v, ptr, problems)?
        } else {
            Rule::parse(v, ptr, true, problems)?
        };
        let obj = v.as_object()?;
        let next = match obj.get("Next") {
            Some(Value::String(n)) => {
                if !states.contains(n) {
                    problems.add(&ptr.key("Next"), format!("no such state \"{n}\""));
                }
                n.clone()
            }
            Some(_) => {
                problems.add(&ptr.key("Next"), "Next must be a string");
                return None;
            }
            None => {
                problems.add(ptr, "a choice rule must have a Next field");
                return None;
            }
        };
        if jsonata {
            let index = ptr.as_str().rsplit('/').next().unwrap_or_default();
            let ata = AtaIo::parse(obj, ptr, &format!("Choices[{index}]/"), problems);
            return Some(Self {
                rule,
                next,
                assign: None,
                ata,
            });
        }
        let assign = obj
            .get("Assign")
            .and_then(|a| Assign::parse(a, &ptr.key("Assign"), problems));
        Some(Self {
            rule,
            next,
            assign,
            ata: AtaIo::default(),
        })
    }
}

impl Rule {
    /// A JSONata rule: `Condition` (an expression or a literal boolean), `Next`, and its
    /// own Output and Assign; the JSONPath operators are refused.
    fn parse_condition(v: &Value, ptr: &Ptr, problems: &mut Problems) -> Option<Self> {
        let Some(obj) = v.as_object() else {
            problems.add(ptr, "a choice rule must be a JSON object");
            return None;
        };
        for key in obj.keys() {
            if matches!(key.as_str(), "Variable" | "And" | "Or" | "Not") || lookup(key).is_some() {
                problems.add(ptr, super::jsonata::other_language(true, key));
            } else if !matches!(
                key.as_str(),
                "Condition" | "Next" | "Assign" | "Output" | "Comment"
            ) {
                problems.add(
                    &ptr.key(key),
                    format!("unknown field \"{key}\" in a choice rule"),
                );
            }
        }
        let index = ptr.as_str().rsplit('/').next().unwrap_or_default();
        let location = format!("Choices[{index}]/Condition");
        match obj.get("Condition") {
            Some(c @ (Value::String(_) | Value::Bool(_))) => Some(Rule::Condition(
                AtaTemplate::parse(&location, c, &ptr.key("Condition"), problems),
            )),
            Some(_) => {
                problems.add(
                    &ptr.key("Condition"),
                    "Condition must be a JSONata expression string or a boolean",
                );
                None
            }
            None => {
                problems.add(ptr, "a JSONata choice rule needs a Condition");
                None
            }
        }
    }

    fn parse(v: &Value, ptr: &Ptr, top: bool, problems: &mut Problems) -> Option<Self> {
        let Some(obj) = v.as_object() else {
            problems.add(ptr, "a choice rule must be a JSON object");
            return None;
        };
        if !top {
            for f in ["Next", "Assign"] {
                if obj.contains_key(f) {
                    problems.add(
                        &ptr.key(f),
                        format!("{f} is only allowed in a top-level choice rule"),
                    );
                }
            }
        }
        let op_name = operator_field(obj, ptr, problems)?;
        let operand_ptr = ptr.key(op_name);
        match op_name {
            "And" | "Or" => Self::parse_and_or(obj, op_name, ptr, &operand_ptr, problems),
            "Not" => {
                if obj.contains_key("Variable") {
                    problems.add(&ptr.key("Variable"), "Variable is not allowed with Not");
                }
                let inner = obj.get("Not")?;
                Rule::parse(inner, &operand_ptr, false, problems).map(|r| Rule::Not(Box::new(r)))
            }
            _ => Self::parse_comparison(obj, op_name, ptr, &operand_ptr, problems),
        }
    }

    fn parse_and_or(
        obj: &Map<String, Value>,
        op_name: &str,
        ptr: &Ptr,
        operand_ptr: &Ptr,
        problems: &mut Problems,
    ) -> Option<Self> {
        if obj.contains_key("Variable") {
            problems.add(
                &ptr.key("Variable"),
                format!("Variable is not allowed with {op_name}"),
            );
        }
        let Some(list) = obj
            .get(op_name)
            .and_then(Value::as_array)
            .filter(|l| !l.is_empty())
        else {
            problems.add(
                operand_ptr,
                format!("{op_name} must be a non-empty array of rules"),
            );
            return None;
        };
        let rules: Vec<Rule> = list
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Rule::parse(r, &operand_ptr.index(i), false, problems))
            .collect();
        if rules.len() != list.len() {
            return None;
        }
        Some(if op_name == "And" {
            Rule::And(rules)
        } else {
            Rule::Or(rules)
        })
    }

    /// `Variable` plus one comparison operator (`StringEquals`, `NumericLessThanPath`, ...).
    fn parse_comparison(
        obj: &Map<String, Value>,
        op_name: &str,
        ptr: &Ptr,
        operand_ptr: &Ptr,
        problems: &mut Problems,
    ) -> Option<Self> {
        let (op, is_path) = lookup(op_name)?;
        let variable = match obj.get("Variable") {
            Some(Value::String(s)) => match Path::parse(s) {
                Ok(p) => p,
                Err(e) => {
                    problems.add(&ptr.key("Variable"), e.to_string());
                    return None;
                }
            },
            Some(_) => {
                problems.add(&ptr.key("Variable"), "Variable must be a string path");
                return None;
            }
            None => {
                problems.add(ptr, format!("{op_name} needs a Variable"));
                return None;
            }
        };
        let raw = obj.get(op_name)?;
        let operand = if is_path {
            match raw.as_str().map(Path::parse_reference) {
                Some(Ok(p)) => Operand::Path(p),
                Some(Err(e)) => {
                    problems.add(operand_ptr, e.to_string());
                    return None;
                }
                None => {
                    problems.add(
                        operand_ptr,
                        format!("{op_name} must be a reference path string"),
                    );
                    return None;
                }
            }
        } else {
            Operand::Value(literal_operand(raw, op, op_name, operand_ptr, problems)?)
        };
        Some(Rule::Cmp {
            variable,
            op,
            operand,
        })
    }

    /// Evaluates the rule. A missing `Variable` (except for `IsPresent`) or a missing
    /// `...Path` operand is an error, which the engine raises as `States.Runtime`.
    pub(crate) fn eval(&self, env: &Env<'_>) -> Result<bool, String> {
        match self {
            // The executor evaluates a Condition itself (it needs the JSONata bindings).
            Rule::Condition(_) => Err("a JSONata Condition outside a JSONata state".into()),
            Rule::And(rules) => {
                for r in rules {
                    if !r.eval(env)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rules) => {
                for r in rules {
                    if r.eval(env)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(r) => Ok(!r.eval(env)?),
            Rule::Cmp {
                variable,
                op,
                operand,
            } => {
                let value = super::intrinsics::Resolve::resolve(env, variable).ok();
                if op.kind == Kind::IsPresent {
                    return Ok(value.is_some() == expect_bool(operand));
                }
                let Some(value) = value else {
                    return Err(format!(
                        "Invalid path '{variable}': The choice state's condition path references an invalid value."
                    ));
                };
                let expected = match operand {
                    Operand::Value(v) => v.clone(),
                    Operand::Path(p) => super::intrinsics::Resolve::resolve(env, p).map_err(|_| {
                        format!("Invalid path '{p}': The choice state's condition path references an invalid value.")
                    })?,
                };
                Ok(compare(&value, op, &expected))
            }
        }
    }
}

fn sorted<'a>(names: &[&'a str]) -> Vec<&'a str> {
    let mut v = names.to_vec();
    v.sort_unstable();
    v
}

fn expect_bool(operand: &Operand) -> bool {
    matches!(operand, Operand::Value(Value::Bool(true)))
}

fn compare(value: &Value, op: &Op, expected: &Value) -> bool {
    let ordered = |ord: Option<Ordering>| match ord {
        Some(Ordering::Less) => op.accept[0],
        Some(Ordering::Equal) => op.accept[1],
        Some(Ordering::Greater) => op.accept[2],
        None => false,
    };
    let flag = matches!(expected, Value::Bool(true));
    match op.kind {
        // Java's String.compareTo: UTF-16 code units, as the Choice state page says.
        Kind::String => match (value, expected) {
            (Value::String(a), Value::String(b)) => {
                ordered(Some(a.encode_utf16().cmp(b.encode_utf16())))
            }
            _ => false,
        },
        Kind::Numeric => match (value, expected) {
            (Value::Number(a), Value::Number(b)) => ordered(cmp_numbers(a, b)),
            _ => false,
        },
        Kind::Boolean => match (value, expected) {
            (Value::Bool(a), Value::Bool(b)) => a == b,
            _ => false,
        },
        Kind::Timestamp => {
            let a = value.as_str().and_then(parse_timestamp);
            let b = expected.as_str().and_then(parse_timestamp);
            match (a, b) {
                (Some(a), Some(b)) => ordered(Some(a.cmp(&b))),
                _ => false,
            }
        }
        Kind::StringMatches => match (value, expected) {
            (Value::String(s), Value::String(pattern)) => string_matches(s, pattern),
            _ => false,
        },
        Kind::IsNull => value.is_null() == flag,
        Kind::IsPresent => flag,
        Kind::IsNumeric => value.is_number() == flag,
        Kind::IsString => value.is_string() == flag,
        Kind::IsBoolean => value.is_boolean() == flag,
        Kind::IsTimestamp => value.as_str().and_then(parse_timestamp).is_some() == flag,
    }
}

/// `StringMatches`: `*` matches any run of characters; `\*` is a literal asterisk and `\\`
/// a literal backslash.
pub(crate) fn string_matches(s: &str, pattern: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Star,
        Char(char),
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => toks.push(Tok::Char(n)),
                None => toks.push(Tok::Char('\\')),
            },
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Char(c)),
        }
    }
    let text: Vec<char> = s.chars().collect();
    // Greedy matching with backtracking to the last star: linear in practice.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match toks.get(p) {
            Some(Tok::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Tok::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(|t| *t == Tok::Star)
}

/// A one-line description of a rule (for graphs and messages).
pub(crate) fn describe(rule: &Rule) -> String {
    match rule {
        Rule::Condition(t) => match (t.expression(), t.literal()) {
            (Some(e), _) => e.source.clone(),
            (None, Some(v)) => compact(v),
            (None, None) => String::new(),
        },
        Rule::And(r) => r.iter().map(describe).collect::<Vec<_>>().join(" and "),
        Rule::Or(r) => r.iter().map(describe).collect::<Vec<_>>().join(" or "),
        Rule::Not(r) => format!("not ({})", describe(r)),
        Rule::Cmp {
            variable,
            op,
            operand,
        } => {
            let operand = match operand {
                Operand::Value(v) => compact(v),
                Operand::Path(p) => p.to_string(),
            };
            format!("{variable} {} {operand}", op.name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // "Choice workflow state", StringMatches: "log-*.txt" matches "log-2023.txt"; escape a
    // literal * as \\* and a literal \ as \\\\ (in JSON).
    #[test]
    fn string_matches_wildcards_and_escapes() {
        assert!(string_matches("log-2023.txt", "log-*.txt"));
        assert!(string_matches("log-.txt", "log-*.txt"));
        assert!(!string_matches("log-2023.csv", "log-*.txt"));
        assert!(string_matches("a*b", "a\\*b"));
        assert!(!string_matches("axb", "a\\*b"));
        assert!(string_matches("a\\b", "a\\\\b"));
        assert!(string_matches("anything", "*"));
        assert!(string_matches("", "*"));
        assert!(string_matches("abcbc", "*bc"));
        assert!(!string_matches("abc", "abcd"));
    }

    #[test]
    fn operator_lookup() {
        assert_eq!(
            lookup("StringEqualsPath").map(|(o, p)| (o.name, p)),
            Some(("StringEquals", true))
        );
        assert!(lookup("StringMatchesPath").is_none());
        assert!(lookup("IsNullPath").is_none());
        assert!(lookup("Nope").is_none());
        assert!(lookup("").is_none());
    }
}
