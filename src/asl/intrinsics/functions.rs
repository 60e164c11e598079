//! What each intrinsic function computes once its arguments are values, and the argument
//! checks of "Intrinsic functions for JSONPath states" in the Step Functions developer guide.

use std::collections::HashSet;

use base64::Engine as _;
use serde_json::{Map, Value};

use super::parse::format_pieces;
use super::{Arg, Func, Intrinsic, Piece};
use crate::asl::path::compact;
use crate::asl::random::{uuid_v4, RandomSource, SeededRandom};
use crate::asl::value::{as_integer, type_name};

/// Input limit of the string functions (Base64Encode/Decode, Hash).
const MAX_STRING_CHARS: usize = 10_000;
/// `States.ArrayRange` may not produce more than this many items.
const MAX_RANGE_ITEMS: usize = 1000;

impl Intrinsic {
    /// Applies the function to its evaluated arguments; the error is the message the
    /// service puts after "had the following error: ".
    pub(super) fn apply(
        &self,
        args: Vec<Value>,
        random: &dyn RandomSource,
    ) -> Result<Value, String> {
        match self.func {
            Func::Format => self.format(&args),
            Func::StringToJson => string_to_json(&args[0]),
            Func::JsonToString => Ok(Value::String(compact(&args[0]))),
            Func::Array => Ok(Value::Array(args)),
            Func::ArrayPartition => array_partition(&args[0], &args[1]),
            Func::ArrayContains => {
                let arr = array_arg(&args[0], "the first argument")?;
                Ok(Value::Bool(arr.contains(&args[1])))
            }
            Func::ArrayRange => array_range(&args[0], &args[1], &args[2]),
            Func::ArrayGetItem => array_get_item(&args[0], &args[1]),
            Func::ArrayLength => Ok(Value::from(array_arg(&args[0], "the argument")?.len())),
            Func::ArrayUnique => array_unique(&args[0]),
            Func::Base64Encode => {
                let s = limited_string_arg(&args[0])?;
                Ok(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(s.as_bytes()),
                ))
            }
            Func::Base64Decode => base64_decode(&args[0]),
            Func::Hash => {
                let data = limited_string_arg(&args[0])?;
                let alg = string_arg(&args[1], "the algorithm")?;
                hash(data, alg).map(Value::String)
            }
            Func::JsonMerge => json_merge(&args[0], &args[1], &args[2]),
            Func::MathRandom => math_random(&args, random),
            Func::MathAdd => {
                let a = java_round_arg(&args[0], "the first argument")?;
                let b = java_round_arg(&args[1], "the second argument")?;
                Ok(Value::from(a + b))
            }
            Func::StringSplit => string_split(&args[0], &args[1]),
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

fn string_to_json(arg: &Value) -> Result<Value, String> {
    let s = string_arg(arg, "the argument")?;
    // Executions on AWS return null for an empty (or blank) string rather than failing
    // (issue 11's field report; LocalStack's AWS-recorded snapshot agrees).
    if s.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(s).map_err(|e| format!("The string is not valid JSON: {e}"))
}

fn array_partition(array: &Value, size: &Value) -> Result<Value, String> {
    let arr = array_arg(array, "the first argument")?;
    let size = int_arg(size, "the chunk size")?;
    if size <= 0 {
        return Err("The chunk size must be a non-zero, positive integer".into());
    }
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    Ok(Value::Array(
        arr.chunks(size).map(|c| Value::Array(c.to_vec())).collect(),
    ))
}

fn array_range(start: &Value, end: &Value, step: &Value) -> Result<Value, String> {
    let start = rounded_int_arg(start, "the start")?;
    let end = rounded_int_arg(end, "the end")?;
    let step = rounded_int_arg(step, "the step")?;
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

fn array_get_item(array: &Value, index: &Value) -> Result<Value, String> {
    let arr = array_arg(array, "the first argument")?;
    let index = int_arg(index, "the index")?;
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

/// The first of each equal value, in order. Values are compared as JSON values (objects by
/// their members whatever the order, `1` and `1.0` apart, as before), through a canonical text
/// of each, so n items cost O(n) lookups instead of O(n²) comparisons.
fn array_unique(array: &Value) -> Result<Value, String> {
    let arr = array_arg(array, "the argument")?;
    let mut seen: HashSet<String> = HashSet::with_capacity(arr.len());
    let mut out: Vec<Value> = Vec::new();
    for v in arr {
        let mut key = String::new();
        canonical(v, &mut key);
        if seen.insert(key) {
            out.push(v.clone());
        }
    }
    Ok(Value::Array(out))
}

/// `value` as JSON text with every object's members sorted by name, so equal values (as
/// serde_json compares them) give equal texts.
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(members) => {
            let mut names: Vec<&String> = members.keys().collect();
            names.sort_unstable();
            out.push('{');
            for (i, name) in names.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(name.clone()).to_string());
                out.push(':');
                canonical(&members[name.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn base64_decode(arg: &Value) -> Result<Value, String> {
    let s = limited_string_arg(arg)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.as_bytes())
        .map_err(|e| format!("The input is not valid base64: {e}"))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| "The decoded data is not valid UTF-8".into())
}

fn json_merge(first: &Value, second: &Value, deep: &Value) -> Result<Value, String> {
    let deep = match deep {
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
    let second = object_arg(second, "the second argument")?.clone();
    let mut merged: Map<String, Value> = object_arg(first, "the first argument")?.clone();
    merged.extend(second);
    Ok(Value::Object(merged))
}

fn math_random(args: &[Value], random: &dyn RandomSource) -> Result<Value, String> {
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

fn string_split(string: &Value, delimiters: &Value) -> Result<Value, String> {
    let s = string_arg(string, "the first argument")?;
    let delims = string_arg(delimiters, "the delimiter")?;
    Ok(Value::Array(
        s.split(|c| delims.contains(c))
            .filter(|p| !p.is_empty())
            .map(|p| Value::String(p.to_string()))
            .collect(),
    ))
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
