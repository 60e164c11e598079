//! Readers for the fields states share: each reads one field of a JSON object, reports a
//! problem at the field's pointer when it is malformed, and returns what it could read.

use serde_json::{Map, Value};

use super::model::{Amount, IoPath, ResultHandling, ResultPathSpec, Seconds, Text};
use super::MAX_SECONDS;
use crate::asl::intrinsics::Intrinsic;
use crate::asl::jsonata::{is_expression, AtaIo, AtaTemplate};
use crate::asl::path::{Path, Root};
use crate::asl::problem::{Problems, Ptr};
use crate::asl::retry::{parse_catch, parse_retry};
use crate::asl::template::Template;

/// One JSON object of the definition and where it sits in it.
#[derive(Clone, Copy)]
pub(super) struct Fields<'a> {
    pub(crate) obj: &'a Map<String, Value>,
    pub(crate) ptr: &'a Ptr,
    /// Whether the object belongs to a JSONata state: its `{% %}` strings are expressions.
    pub(crate) jsonata: bool,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(obj: &'a Map<String, Value>, ptr: &'a Ptr) -> Self {
        Self {
            obj,
            ptr,
            jsonata: false,
        }
    }

    /// The same object read in the given query language.
    pub(crate) fn in_jsonata(self, jsonata: bool) -> Self {
        Self { jsonata, ..self }
    }

    /// A JSONata field as a template located at its key (`Output`, `Items`).
    pub(crate) fn ata(&self, key: &str, problems: &mut Problems) -> Option<AtaTemplate> {
        let v = self.get(key)?;
        Some(AtaTemplate::parse(key, v, &self.at(key), problems))
    }

    /// A JSONata field that is an expression string (`"{% ... %}"`), if it is one.
    fn ata_expression(&self, key: &str, problems: &mut Problems) -> Option<AtaTemplate> {
        match self.get(key) {
            Some(Value::String(s)) if self.jsonata && is_expression(s) => self.ata(key, problems),
            _ => None,
        }
    }

    /// The Output and Assign of a JSONata state.
    pub(crate) fn ata_io(&self, problems: &mut Problems) -> AtaIo {
        AtaIo::parse(self.obj, self.ptr, "", problems)
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.obj.get(key)
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.obj.contains_key(key)
    }

    pub(crate) fn at(&self, key: &str) -> Ptr {
        self.ptr.key(key)
    }

    pub(crate) fn comment(&self, problems: &mut Problems) -> Option<String> {
        match self.get("Comment") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                problems.add(&self.at("Comment"), "Comment must be a string");
                None
            }
        }
    }

    /// The object's own QueryLanguage: `Some(true)` for JSONata, `Some(false)` for
    /// JSONPath, `None` when absent (or not one of the two, a problem).
    pub(crate) fn query_language(&self, problems: &mut Problems) -> Option<bool> {
        match self.get("QueryLanguage") {
            None => None,
            Some(Value::String(s)) if s == "JSONPath" => Some(false),
            Some(Value::String(s)) if s == "JSONata" => Some(true),
            Some(_) => {
                problems.add(
                    &self.at("QueryLanguage"),
                    "QueryLanguage must be \"JSONPath\" or \"JSONata\"",
                );
                None
            }
        }
    }

    /// A state name field (Next, Default) that must name a state of the same machine.
    pub(crate) fn state_name(
        &self,
        key: &str,
        names: &[String],
        problems: &mut Problems,
    ) -> Option<String> {
        match self.get(key) {
            Some(Value::String(n)) => {
                if !names.contains(n) {
                    problems.add(&self.at(key), format!("no such state \"{n}\""));
                }
                Some(n.clone())
            }
            Some(_) => {
                problems.add(&self.at(key), format!("{key} must be a string"));
                None
            }
            None => None,
        }
    }

    pub(crate) fn io_path(&self, key: &str, problems: &mut Problems) -> IoPath {
        match self.get(key) {
            None => IoPath::Whole,
            Some(Value::Null) => IoPath::Empty,
            Some(Value::String(s)) => match Path::parse(s) {
                Ok(p) => IoPath::Path(p),
                Err(e) => {
                    problems.add(&self.at(key), e.to_string());
                    IoPath::Whole
                }
            },
            Some(_) => {
                problems.add(
                    &self.at(key),
                    format!("{key} must be a path string or null"),
                );
                IoPath::Whole
            }
        }
    }

    pub(crate) fn reference_path(&self, key: &str, problems: &mut Problems) -> Option<Path> {
        let v = self.get(key)?;
        match v.as_str().map(Path::parse_reference) {
            Some(Ok(p)) => Some(p),
            Some(Err(e)) => {
                problems.add(&self.at(key), e.to_string());
                None
            }
            None => {
                problems.add(
                    &self.at(key),
                    format!("{key} must be a reference path string"),
                );
                None
            }
        }
    }

    /// A payload template; only `Parameters` may be something other than an object.
    pub(crate) fn template(&self, key: &str, problems: &mut Problems) -> Option<Template> {
        let v = self.get(key)?;
        if !v.is_object() && key != "Parameters" {
            problems.add(&self.at(key), format!("{key} must be a JSON object"));
            return None;
        }
        Some(Template::parse(v, &self.at(key), problems))
    }

    /// The `...Path` alternative of a field (`Seconds` -> `SecondsPath`); setting both is a
    /// problem, reported on the path field.
    fn path_alternative(&self, key: &str, problems: &mut Problems) -> String {
        let path_key = format!("{key}Path");
        if self.has(key) && self.has(&path_key) {
            problems.add(
                &self.at(&path_key),
                format!("{key} and {path_key} cannot both be set"),
            );
        }
        path_key
    }

    /// An integer field with an optional `...Path` alternative; both given is a problem.
    pub(crate) fn seconds(&self, key: &str, min: u64, problems: &mut Problems) -> Option<Seconds> {
        if let Some(t) = self.ata_expression(key, problems) {
            return Some(Seconds::Expr(t));
        }
        let path_key = self.path_alternative(key, problems);
        if let Some(v) = self.get(key) {
            return match v.as_u64().filter(|n| (min..=MAX_SECONDS).contains(n)) {
                Some(n) => Some(Seconds::Fixed(n)),
                None => {
                    problems.add(
                        &self.at(key),
                        format!("{key} must be an integer from {min} to {MAX_SECONDS}"),
                    );
                    None
                }
            };
        }
        self.reference_path(&path_key, problems).map(Seconds::Path)
    }

    /// A count or percentage from 0 to `max`, or its `...Path` alternative.
    pub(crate) fn amount(
        &self,
        key: &str,
        max: f64,
        integer: bool,
        problems: &mut Problems,
    ) -> Option<Amount> {
        if let Some(t) = self.ata_expression(key, problems) {
            return Some(Amount::Expr(t));
        }
        let path_key = self.path_alternative(key, problems);
        if let Some(v) = self.get(key) {
            let ok = v
                .as_f64()
                .filter(|n| *n >= 0.0 && *n <= max && (!integer || n.fract() == 0.0));
            return match ok {
                Some(n) => Some(Amount::Fixed(n)),
                None => {
                    let what = if integer { "an integer" } else { "a number" };
                    problems.add(
                        &self.at(key),
                        format!("{key} must be {what} from 0 to {max}"),
                    );
                    None
                }
            };
        }
        self.reference_path(&path_key, problems).map(Amount::Path)
    }

    /// Fail's Error or Cause: a literal, or its `...Path` alternative holding a reference
    /// path or an intrinsic call.
    pub(crate) fn text(&self, key: &str, problems: &mut Problems) -> Option<Text> {
        if let Some(t) = self.ata_expression(key, problems) {
            return Some(Text::Expr(t));
        }
        let path_key = self.path_alternative(key, problems);
        if let Some(v) = self.get(key) {
            return match v {
                Value::String(s) => Some(Text::Literal(s.clone())),
                _ => {
                    problems.add(&self.at(key), format!("{key} must be a string"));
                    None
                }
            };
        }
        let v = self.get(&path_key)?;
        let p = self.at(&path_key);
        let Some(s) = v.as_str() else {
            problems.add(
                &p,
                format!("{path_key} must be a path or an intrinsic function string"),
            );
            return None;
        };
        let parsed = if Intrinsic::looks_like_call(s) {
            Intrinsic::parse(s)
                .map(Text::Call)
                .map_err(|e| e.to_string())
        } else {
            Path::parse_reference(s)
                .map(Text::Path)
                .map_err(|e| e.to_string())
        };
        parsed.map_err(|e| problems.add(&p, e)).ok()
    }

    /// ResultSelector, ResultPath, Retry and Catch of a Task, Parallel or Map state.
    pub(crate) fn result_handling(
        &self,
        names: &[String],
        problems: &mut Problems,
    ) -> ResultHandling {
        ResultHandling {
            result_selector: self.template("ResultSelector", problems),
            result_path: ResultPathSpec::parse(
                self.get("ResultPath"),
                &self.at("ResultPath"),
                problems,
            ),
            retry: self
                .get("Retry")
                .map(|r| parse_retry(r, &self.at("Retry"), problems))
                .unwrap_or_default(),
            catch: self
                .get("Catch")
                .map(|c| parse_catch(c, &self.at("Catch"), names, self.jsonata, problems))
                .unwrap_or_default(),
        }
    }
}

impl ResultPathSpec {
    pub(crate) fn parse(v: Option<&Value>, ptr: &Ptr, problems: &mut Problems) -> Self {
        match v {
            None => Self::Replace,
            Some(Value::Null) => Self::Discard,
            Some(Value::String(s)) => match Path::parse_reference(s) {
                Ok(p) if *p.root() == Root::Input => Self::Path(p),
                Ok(_) => {
                    problems.add(
                        ptr,
                        "ResultPath must start with $ (it writes into the state's data)",
                    );
                    Self::Replace
                }
                Err(e) => {
                    problems.add(ptr, e.to_string());
                    Self::Replace
                }
            },
            Some(_) => {
                problems.add(ptr, "ResultPath must be a reference path string or null");
                Self::Replace
            }
        }
    }
}
