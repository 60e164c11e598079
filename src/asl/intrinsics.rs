//! Intrinsic functions of the JSONPath query language (`States.Format`, `States.Array`, ...):
//! parsed once with the definition, evaluated against the state's data.
//!
//! The argument checks follow "Intrinsic functions for JSONPath states" in the Step Functions
//! developer guide; a failed check is an [`IntrinsicError`], which the engine reports as
//! `States.Runtime` the way Step Functions does ("The function '...' had the following
//! error: ...").

use std::fmt;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::path::{compact, Path};
use super::random::{uuid_v4, RandomSource, SeededRandom};
use super::value::{as_integer, type_name};

/// Nesting limit from the developer guide ("You can nest up to 10 intrinsic functions").
pub const MAX_NESTING: usize = 10;
/// Input limit of the string functions (Base64Encode/Decode, Hash).
const MAX_STRING_CHARS: usize = 10_000;
/// `States.ArrayRange` may not produce more than this many items.
const MAX_RANGE_ITEMS: usize = 1000;

/// A parsed intrinsic call such as `States.Format('Hello {}', $.name)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Intrinsic {
    text: String,
    func: Func,
    args: Vec<Arg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Func {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

impl Func {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "States.Format" => Self::Format,
            "States.StringToJson" => Self::StringToJson,
            "States.JsonToString" => Self::JsonToString,
            "States.Array" => Self::Array,
            "States.ArrayPartition" => Self::ArrayPartition,
            "States.ArrayContains" => Self::ArrayContains,
            "States.ArrayRange" => Self::ArrayRange,
            "States.ArrayGetItem" => Self::ArrayGetItem,
            "States.ArrayLength" => Self::ArrayLength,
            "States.ArrayUnique" => Self::ArrayUnique,
            "States.Base64Encode" => Self::Base64Encode,
            "States.Base64Decode" => Self::Base64Decode,
            "States.Hash" => Self::Hash,
            "States.JsonMerge" => Self::JsonMerge,
            "States.MathRandom" => Self::MathRandom,
            "States.MathAdd" => Self::MathAdd,
            "States.StringSplit" => Self::StringSplit,
            "States.UUID" => Self::Uuid,
            _ => return None,
        })
    }

    /// Allowed argument counts (inclusive).
    fn arity(self) -> (usize, usize) {
        match self {
            Self::Format => (1, usize::MAX),
            Self::Array => (0, usize::MAX),
            Self::StringToJson
            | Self::JsonToString
            | Self::ArrayLength
            | Self::ArrayUnique
            | Self::Base64Encode
            | Self::Base64Decode => (1, 1),
            Self::ArrayPartition
            | Self::ArrayContains
            | Self::ArrayGetItem
            | Self::Hash
            | Self::MathAdd
            | Self::StringSplit => (2, 2),
            Self::ArrayRange | Self::JsonMerge => (3, 3),
            Self::MathRandom => (2, 3),
            Self::Uuid => (0, 0),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Lit(Value),
    /// A string literal; `pieces` is its reading as a `States.Format` template, where `\{`
    /// and `\}` are literal braces and `{}` is a placeholder.
    Str {
        value: String,
        pieces: Vec<Piece>,
    },
    Path(Path),
    Call(Box<Intrinsic>),
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Hole,
}

/// An intrinsic call that does not parse or has the wrong number of arguments.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid intrinsic function '{text}': {reason}")]
pub struct IntrinsicSyntaxError {
    pub text: String,
    pub reason: String,
}

/// An intrinsic call that failed at run time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("The function '{function}' had the following error: {message}")]
pub struct IntrinsicError {
    pub function: String,
    pub message: String,
}

/// What an intrinsic needs from the running state: path resolution and randomness.
pub trait Resolve {
    /// The value a path names, or a message saying why it cannot be resolved.
    fn resolve(&self, path: &Path) -> Result<Value, String>;
    fn random(&self) -> &dyn RandomSource;
}

impl fmt::Display for Intrinsic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Intrinsic {
    /// True when a `.$` value is an intrinsic call rather than a path.
    pub fn looks_like_call(text: &str) -> bool {
        text.trim_start().starts_with("States.")
    }

    pub fn parse(text: &str) -> Result<Self, IntrinsicSyntaxError> {
        let mut p = Parser {
            src: text,
            pos: 0,
            depth: 0,
        };
        p.ws();
        let call = p.call().map_err(|reason| IntrinsicSyntaxError {
            text: text.to_string(),
            reason,
        })?;
        p.ws();
        if p.pos != text.len() {
            return Err(IntrinsicSyntaxError {
                text: text.to_string(),
                reason: format!("unexpected '{}' after the call", &text[p.pos..]),
            });
        }
        Ok(call)
    }

    /// Evaluates the call.
    pub fn eval(&self, env: &dyn Resolve) -> Result<Value, IntrinsicError> {
        let fail = |message: String| IntrinsicError {
            function: self.text.clone(),
            message,
        };
        let mut values = Vec::with_capacity(self.args.len());
        for arg in &self.args {
            values.push(match arg {
                Arg::Lit(v) => v.clone(),
                Arg::Str { value, .. } => Value::String(value.clone()),
                Arg::Path(p) => env.resolve(p).map_err(|m| {
                    fail(format!(
                        "The JsonPath argument for the field '{p}' could not be found: {m}"
                    ))
                })?,
                // The innermost failure names the function that failed.
                Arg::Call(c) => c.eval(env)?,
            });
        }
        self.apply(values, env.random()).map_err(fail)
    }

    fn apply(&self, args: Vec<Value>, random: &dyn RandomSource) -> Result<Value, String> {
        match self.func {
            Func::Format => self.format(&args),
            Func::StringToJson => {
                let s = string_arg(&args[0], "the argument")?;
                // Executions on AWS return null for an empty (or blank) string rather than
                // failing (issue 11's field report; LocalStack's AWS-recorded snapshot agrees).
                if s.trim().is_empty() {
                    return Ok(Value::Null);
                }
                serde_json::from_str(s).map_err(|e| format!("The string is not valid JSON: {e}"))
            }
            Func::JsonToString => Ok(Value::String(compact(&args[0]))),
            Func::Array => Ok(Value::Array(args)),
            Func::ArrayPartition => {
                let arr = array_arg(&args[0], "the first argument")?;
                let size = int_arg(&args[1], "the chunk size")?;
                if size <= 0 {
                    return Err("The chunk size must be a non-zero, positive integer".into());
                }
                let size = usize::try_from(size).unwrap_or(usize::MAX);
                Ok(Value::Array(
                    arr.chunks(size).map(|c| Value::Array(c.to_vec())).collect(),
                ))
            }
            Func::ArrayContains => {
                let arr = array_arg(&args[0], "the first argument")?;
                Ok(Value::Bool(arr.contains(&args[1])))
            }
            Func::ArrayRange => {
                let start = rounded_int_arg(&args[0], "the start")?;
                let end = rounded_int_arg(&args[1], "the end")?;
                let step = rounded_int_arg(&args[2], "the step")?;
                if step <= 0 {
                    return Err("The step must be a non-zero, positive integer".into());
                }
                let mut out = Vec::new();
                let mut i = start;
                while i <= end {
                    if out.len() == MAX_RANGE_ITEMS {
                        return Err(format!(
                            "The array cannot contain more than {MAX_RANGE_ITEMS} items"
                        ));
                    }
                    out.push(Value::from(i));
                    match i.checked_add(step) {
                        Some(n) => i = n,
                        None => break,
                    }
                }
                Ok(Value::Array(out))
            }
            Func::ArrayGetItem => {
                let arr = array_arg(&args[0], "the first argument")?;
                let index = int_arg(&args[1], "the index")?;
                usize::try_from(index)
                    .ok()
                    .and_then(|i| arr.get(i))
                    .cloned()
                    .ok_or_else(|| {
                        format!(
                            "The index {index} is out of bounds for an array of length {}",
                            arr.len()
                        )
                    })
            }
            Func::ArrayLength => Ok(Value::from(array_arg(&args[0], "the argument")?.len())),
            Func::ArrayUnique => {
                let arr = array_arg(&args[0], "the argument")?;
                let mut out: Vec<Value> = Vec::new();
                for v in arr {
                    if !out.contains(v) {
                        out.push(v.clone());
                    }
                }
                Ok(Value::Array(out))
            }
            Func::Base64Encode => {
                let s = limited_string_arg(&args[0])?;
                Ok(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(s.as_bytes()),
                ))
            }
            Func::Base64Decode => {
                let s = limited_string_arg(&args[0])?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(s.as_bytes())
                    .map_err(|e| format!("The input is not valid base64: {e}"))?;
                String::from_utf8(bytes)
                    .map(Value::String)
                    .map_err(|_| "The decoded data is not valid UTF-8".into())
            }
            Func::Hash => {
                let data = limited_string_arg(&args[0])?;
                let alg = string_arg(&args[1], "the algorithm")?;
                hash(data, alg).map(Value::String)
            }
            Func::JsonMerge => {
                let deep = match &args[2] {
                    Value::Bool(b) => *b,
                    other => {
                        return Err(format!(
                            "The third argument must be a boolean, got {}",
                            type_name(other)
                        ))
                    }
                };
                if deep {
                    return Err("Step Functions only supports the shallow merging mode; set the third argument to false".into());
                }
                let second = object_arg(&args[1], "the second argument")?.clone();
                let mut merged: Map<String, Value> =
                    object_arg(&args[0], "the first argument")?.clone();
                merged.extend(second);
                Ok(Value::Object(merged))
            }
            Func::MathRandom => {
                let start = java_round_arg(&args[0], "the start")?;
                let end = java_round_arg(&args[1], "the end")?;
                if start >= end {
                    return Err(format!(
                        "The start ({start}) must be less than the end ({end})"
                    ));
                }
                let span = u64::try_from(i128::from(end) - i128::from(start)).unwrap_or(u64::MAX);
                let draw = match args.get(2) {
                    Some(seed) => {
                        let seed = java_round_arg(seed, "the seed")?;
                        SeededRandom::new(seed as u64).next_u64()
                    }
                    None => random.next_u64(),
                };
                Ok(Value::from(start + (draw % span) as i64))
            }
            Func::MathAdd => {
                let a = java_round_arg(&args[0], "the first argument")?;
                let b = java_round_arg(&args[1], "the second argument")?;
                Ok(Value::from(a + b))
            }
            Func::StringSplit => {
                let s = string_arg(&args[0], "the first argument")?;
                let delims = string_arg(&args[1], "the delimiter")?;
                Ok(Value::Array(
                    s.split(|c| delims.contains(c))
                        .filter(|p| !p.is_empty())
                        .map(|p| Value::String(p.to_string()))
                        .collect(),
                ))
            }
            Func::Uuid => Ok(Value::String(uuid_v4(random))),
        }
    }

    fn format(&self, args: &[Value]) -> Result<Value, String> {
        let pieces = match &self.args[0] {
            Arg::Str { pieces, .. } => pieces.clone(),
            _ => format_pieces(string_arg(&args[0], "the template")?, false)?,
        };
        let holes = pieces.iter().filter(|p| **p == Piece::Hole).count();
        if holes != args.len() - 1 {
            return Err(format!(
                "The template has {holes} placeholders but {} values were given",
                args.len() - 1
            ));
        }
        let mut out = String::new();
        let mut values = args[1..].iter();
        for p in pieces {
            match p {
                Piece::Text(t) => out.push_str(&t),
                Piece::Hole => {
                    if let Some(v) = values.next() {
                        out.push_str(&format_value(v));
                    }
                }
            }
        }
        Ok(Value::String(out))
    }
}

/// How `States.Format` prints a value: strings as they are, scalars as JSON, arrays and
/// objects in the service's Java-style rendering (`[a, b]`, `{k=v}`).
fn format_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(format_value).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("{k}={}", format_value(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => compact(other),
    }
}

fn hash(data: &str, alg: &str) -> Result<String, String> {
    use sha2::Digest;
    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
    Ok(match alg {
        "MD5" => hex(&md5::Md5::digest(data.as_bytes())),
        "SHA-1" => hex(&sha1::Sha1::digest(data.as_bytes())),
        "SHA-256" => hex(&sha2::Sha256::digest(data.as_bytes())),
        "SHA-384" => hex(&sha2::Sha384::digest(data.as_bytes())),
        "SHA-512" => hex(&sha2::Sha512::digest(data.as_bytes())),
        other => {
            return Err(format!(
                "The hash algorithm '{other}' is not supported; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512"
            ))
        }
    })
}

fn string_arg<'a>(v: &'a Value, what: &str) -> Result<&'a str, String> {
    v.as_str()
        .ok_or_else(|| format!("{what} must be a string, got {}", type_name(v)))
        .map_err(capitalize)
}

fn limited_string_arg(v: &Value) -> Result<&str, String> {
    let s = string_arg(v, "the input")?;
    if s.chars().count() > MAX_STRING_CHARS {
        return Err(format!(
            "The input must not exceed {MAX_STRING_CHARS} characters"
        ));
    }
    Ok(s)
}

fn array_arg<'a>(v: &'a Value, what: &str) -> Result<&'a Vec<Value>, String> {
    v.as_array()
        .ok_or_else(|| capitalize(format!("{what} must be an array, got {}", type_name(v))))
}

fn object_arg<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, String> {
    v.as_object().ok_or_else(|| {
        capitalize(format!(
            "{what} must be a JSON object, got {}",
            type_name(v)
        ))
    })
}

fn int_arg(v: &Value, what: &str) -> Result<i64, String> {
    as_integer(v)
        .ok_or_else(|| capitalize(format!("{what} must be an integer, got {}", compact(v))))
}

fn rounded_int_arg(v: &Value, what: &str) -> Result<i64, String> {
    match v.as_f64() {
        Some(f) if as_integer(v).is_none() && f.is_finite() && f.abs() < 9e15 => {
            Ok(f.round() as i64)
        }
        _ => int_arg(v, what),
    }
}

/// MathAdd and MathRandom round non-integers to the nearest integer the way Java's
/// `Math.round` does (halves up) and accept only 32-bit values ("-2147483648 to 2147483647").
fn java_round_arg(v: &Value, what: &str) -> Result<i64, String> {
    let Some(f) = v.as_f64() else {
        return Err(capitalize(format!(
            "{what} must be a number, got {}",
            type_name(v)
        )));
    };
    let i = match as_integer(v) {
        Some(i) => i,
        None => (f + 0.5).floor() as i64,
    };
    if !(i64::from(i32::MIN)..=i64::from(i32::MAX)).contains(&i) || !f.is_finite() {
        return Err(capitalize(format!(
            "{what} must be in the range -2147483648 to 2147483647, got {}",
            compact(v)
        )));
    }
    Ok(i)
}

fn capitalize(s: String) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().collect::<String>() + c.as_str(),
        None => s,
    }
}

/// Reads a Format template: `{}` is a placeholder; with `escapes`, `\{`, `\}`, `\'` and
/// `\\` stand for the character itself.
fn format_pieces(s: &str, escapes: bool) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if escapes => match chars.next() {
                Some(n @ ('{' | '}' | '\'' | '\\')) => text.push(n),
                _ => return Err("an open escape backslash in the template".into()),
            },
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Hole);
            }
            _ => text.push(c),
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    Ok(pieces)
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            if !c.is_whitespace() {
                break;
            }
            self.pos += c.len_utf8();
        }
    }

    fn call(&mut self) -> Result<Intrinsic, String> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(format!(
                "more than {MAX_NESTING} nested intrinsic functions"
            ));
        }
        let start = self.pos;
        let name_len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
            .unwrap_or(self.rest().len());
        let name = &self.src[start..start + name_len];
        let func = Func::from_name(name).ok_or_else(|| {
            if name.is_empty() {
                "expected a function name such as States.Format".to_string()
            } else {
                format!("unknown intrinsic function {name}")
            }
        })?;
        self.pos += name_len;
        self.ws();
        if self.peek() != Some('(') {
            return Err(format!("expected ( after {name}"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.ws();
        if self.peek() == Some(')') {
            self.pos += 1;
        } else {
            loop {
                self.ws();
                args.push(self.arg()?);
                self.ws();
                match self.peek() {
                    Some(',') => self.pos += 1,
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(format!("expected , or ) in the arguments of {name}")),
                }
            }
        }
        let (min, max) = func.arity();
        if args.len() < min || args.len() > max {
            let expected = if min == max {
                format!("{min}")
            } else if max == usize::MAX {
                format!("at least {min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(format!(
                "{name} takes {expected} argument(s), got {}",
                args.len()
            ));
        }
        if func == Func::Format {
            match &args[0] {
                Arg::Str { pieces, .. } => {
                    let holes = pieces.iter().filter(|p| **p == Piece::Hole).count();
                    if holes != args.len() - 1 {
                        return Err(format!(
                            "the template has {holes} placeholders but {} values were given",
                            args.len() - 1
                        ));
                    }
                }
                Arg::Lit(_) => {
                    return Err("the first argument of States.Format must be a string".into())
                }
                _ => {}
            }
        }
        self.depth -= 1;
        let end = self.pos;
        Ok(Intrinsic {
            text: self.src[start..end].to_string(),
            func,
            args,
        })
    }

    fn arg(&mut self) -> Result<Arg, String> {
        match self.peek() {
            Some('\'') => self.string(),
            Some('$') => self.path(),
            Some('S') if self.rest().starts_with("States.") => {
                Ok(Arg::Call(Box::new(self.call()?)))
            }
            Some(c) if c == '-' || c.is_ascii_digit() => self.number(),
            _ => {
                for (word, v) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if self.rest().starts_with(word) {
                        self.pos += word.len();
                        return Ok(Arg::Lit(v));
                    }
                }
                Err(format!("unexpected argument '{}'", self.rest()))
            }
        }
    }

    fn string(&mut self) -> Result<Arg, String> {
        self.pos += 1; // opening quote
        let start = self.pos;
        let mut value = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, n @ ('\'' | '{' | '}' | '\\'))) => value.push(n),
                    _ => return Err("an open escape backslash in a string argument".into()),
                },
                '\'' => {
                    let raw = &self.src[start..start + i];
                    self.pos = start + i + 1;
                    let pieces = format_pieces(raw, true)?;
                    return Ok(Arg::Str { value, pieces });
                }
                _ => value.push(c),
            }
        }
        Err("unterminated string argument".into())
    }

    fn number(&mut self) -> Result<Arg, String> {
        let len = self
            .rest()
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
            .unwrap_or(self.rest().len());
        let text = &self.rest()[..len];
        let v: Value = serde_json::from_str(text).map_err(|_| format!("bad number {text}"))?;
        if !v.is_number() {
            return Err(format!("bad number {text}"));
        }
        self.pos += len;
        Ok(Arg::Lit(v))
    }

    fn path(&mut self) -> Result<Arg, String> {
        let (mut square, mut round, mut quote) = (0i32, 0i32, None::<char>);
        let mut end = self.rest().len();
        let mut escaped = false;
        for (i, c) in self.rest().char_indices() {
            if let Some(q) = quote {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                continue;
            }
            match c {
                '\'' | '"' => quote = Some(c),
                '[' => square += 1,
                ']' => square -= 1,
                '(' => round += 1,
                ')' if round > 0 => round -= 1,
                ',' | ')' if square == 0 && round == 0 => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let text = self.rest()[..end].trim_end().to_string();
        let path = Path::parse(&text).map_err(|e| e.to_string())?;
        self.pos += end;
        Ok(Arg::Path(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Env(Value, SeededRandom);
    impl Resolve for Env {
        fn resolve(&self, path: &Path) -> Result<Value, String> {
            path.select(&self.0).map_err(|e| e.to_string())
        }
        fn random(&self) -> &dyn RandomSource {
            &self.1
        }
    }

    fn eval(call: &str, input: Value) -> Result<Value, IntrinsicError> {
        Intrinsic::parse(call)
            .unwrap_or_else(|e| panic!("{e}"))
            .eval(&Env(input, SeededRandom::new(1)))
    }

    #[test]
    fn syntax_errors_are_reported() {
        for bad in [
            "States.Nope(1)",
            "States.Format(",
            "States.ArrayLength()",
            "States.Format('{} {}', $.a)",
            "States.Format(1)",
            "States.UUID(1)",
            "States.Array('a\\x')",
            "States.Array($.)",
            "States.Array(1) junk",
        ] {
            assert!(Intrinsic::parse(bad).is_err(), "{bad}");
        }
        let deep = "States.Array(".repeat(11) + &")".repeat(11);
        assert!(Intrinsic::parse(&deep).is_err());
        let ok = "States.Array(".repeat(10) + &")".repeat(10);
        assert!(Intrinsic::parse(&ok).is_ok());
    }

    #[test]
    fn format_escapes_and_rendering() {
        assert_eq!(
            eval(
                "States.Format('\\{\\} {} \\'x\\' \\\\', $.a)",
                json!({"a": 1})
            )
            .unwrap(),
            json!("{} 1 'x' \\")
        );
        assert_eq!(
            eval(
                "States.Format('{} {}', $.o, $.l)",
                json!({"o": {"k": "v"}, "l": [1, "b"]})
            )
            .unwrap(),
            json!("{k=v} [1, b]")
        );
    }

    #[test]
    fn hash_all_algorithms() {
        let h = |alg: &str| eval(&format!("States.Hash('abc', '{alg}')"), json!({})).unwrap();
        assert_eq!(h("MD5"), json!("900150983cd24fb0d6963f7d28e17f72"));
        assert_eq!(
            h("SHA-1"),
            json!("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(
            h("SHA-256"),
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert!(h("SHA-384")
            .as_str()
            .unwrap()
            .starts_with("cb00753f45a35e8b"));
        assert!(h("SHA-512")
            .as_str()
            .unwrap()
            .starts_with("ddaf35a193617aba"));
    }
}
