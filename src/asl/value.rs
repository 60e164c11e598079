//! Small helpers over `serde_json::Value` shared by the engine: number comparison, integer
//! extraction, the timestamp format the States Language accepts and payload sizes.

use std::cell::Cell;
use std::cmp::Ordering;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};
use serde_json::{Number, Value};

/// The payload quota: 256 KiB of UTF-8 JSON text, for a state's data and a task's result.
pub(crate) const MAX_PAYLOAD_BYTES: u64 = 262_144;

/// Counts the bytes written to it.
struct Count(u64);

impl std::io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The size of a value as compact JSON text, counted without building the text.
pub(crate) fn json_len(v: &Value) -> u64 {
    let mut count = Count(0);
    // Writing a Value to a counter cannot fail: its keys are strings and the sink never errs.
    let _ = serde_json::to_writer(&mut count, v);
    count.0
}

/// The compact writer, noting how deeply arrays and objects nest as it writes them.
struct DepthFormatter<'a> {
    open: usize,
    deepest: &'a Cell<usize>,
}

impl DepthFormatter<'_> {
    fn enter(&mut self) {
        self.open += 1;
        self.deepest.set(self.deepest.get().max(self.open));
    }
}

impl Formatter for DepthFormatter<'_> {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.enter();
        w.write_all(b"[")
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open = self.open.saturating_sub(1);
        w.write_all(b"]")
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.enter();
        w.write_all(b"{")
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open = self.open.saturating_sub(1);
        w.write_all(b"}")
    }
}

/// [`json_len`] and the nesting depth (`[]` is one level) in one pass of the writer, which
/// recurses: only for values the engine built, whose depth its checks have bounded.
pub(crate) fn json_len_and_depth(v: &Value) -> (u64, usize) {
    let deepest = Cell::new(0);
    let mut count = Count(0);
    let formatter = DepthFormatter {
        open: 0,
        deepest: &deepest,
    };
    // As in json_len, the write cannot fail.
    let _ = v.serialize(&mut Serializer::with_formatter(&mut count, formatter));
    (count.0, deepest.get())
}

/// Compares two JSON numbers exactly when both are integers, as `f64` otherwise.
pub(crate) fn cmp_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    match (as_i128(a), as_i128(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

fn as_i128(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

/// The value as an integer if it is a JSON number with no fractional part (`3` or `3.0`).
pub(crate) fn as_integer(v: &Value) -> Option<i64> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(i);
    }
    let f = n.as_f64()?;
    if f.fract() == 0.0 && f >= i64::MIN as f64 && f <= i64::MAX as f64 {
        Some(f as i64)
    } else {
        None
    }
}

/// Parses a timestamp the way the States Language requires: RFC 3339 with an uppercase `T`
/// between date and time and an uppercase `Z` when there is no numeric offset
/// (`2016-08-18T17:33:00Z`, `2016-08-18T17:33:00.123+02:00`).
pub(crate) fn parse_timestamp(s: &str) -> Option<DateTime<Utc>> {
    let bytes = s.as_bytes();
    if bytes.get(10) != Some(&b'T') || s.contains('z') || s.contains('t') {
        return None;
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// The context object's time format: `2019-03-26T20:14:13.192Z`.
pub(crate) fn context_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The JSON type name used in messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_len_counts_the_compact_utf8_text() {
        for v in [
            json!(null),
            json!({"a": [1, 2.5, "é\n"], "b": {"c": true}}),
            json!("😀 \"quoted\""),
        ] {
            assert_eq!(
                json_len(&v),
                serde_json::to_string(&v).unwrap().len() as u64
            );
        }
    }

    #[test]
    fn one_pass_gives_the_size_and_the_depth() {
        for (v, depth) in [
            (json!(1), 0),
            (json!([]), 1),
            (json!({"a": [1, {"b": []}], "c": {}}), 4),
            (json!([[1], [[2]], 3]), 3),
        ] {
            let text = serde_json::to_string(&v).unwrap();
            assert_eq!(json_len_and_depth(&v), (text.len() as u64, depth), "{text}");
        }
    }

    #[test]
    fn numbers_compare_exactly_or_as_floats() {
        let n = |v: Value| v.as_number().cloned().unwrap();
        assert_eq!(
            cmp_numbers(&n(json!(1)), &n(json!(1.0))),
            Some(Ordering::Equal)
        );
        assert_eq!(
            cmp_numbers(&n(json!(u64::MAX)), &n(json!(i64::MAX))),
            Some(Ordering::Greater)
        );
        assert_eq!(
            cmp_numbers(&n(json!(1.5)), &n(json!(2))),
            Some(Ordering::Less)
        );
        assert_eq!(as_integer(&json!(3.0)), Some(3));
        assert_eq!(as_integer(&json!(3.5)), None);
        assert_eq!(as_integer(&json!(1e300)), None);
    }

    // Choice state docs: "timestamps must conform to RFC3339 profile of ISO 8601, with the
    // further restrictions that an uppercase T must separate the date and time portions, and
    // an uppercase Z must denote that a numeric time zone offset is not present".
    #[test]
    fn timestamps_follow_the_restricted_rfc3339_profile() {
        assert!(parse_timestamp("2016-08-18T17:33:00Z").is_some());
        assert!(parse_timestamp("2016-08-18T17:33:00.123+02:00").is_some());
        assert!(parse_timestamp("2016-08-18t17:33:00Z").is_none());
        assert!(parse_timestamp("2016-08-18T17:33:00z").is_none());
        assert!(parse_timestamp("2016-08-18 17:33:00Z").is_none());
        assert!(parse_timestamp("2016-08-18").is_none());
        assert!(parse_timestamp("").is_none());
    }
}
