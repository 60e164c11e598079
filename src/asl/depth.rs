//! How deeply the engine lets JSON data nest, and the two walks that must survive a value of
//! any depth: the check of a value handed in from outside and the drop of one it refuses.
//!
//! AWS documents no nesting limit for a state's data: the Step Functions quotas bound only
//! its size (256 KiB) and StartExecution's `input` only its length. The engine needs one:
//! serde_json clones, compares, writes and drops a `Value` recursively, so 256 KiB of
//! `[[[…]]]` (about 131,000 levels) or a loop that wraps its data one level deeper each turn
//! overflows a thread's stack. The bound is the deepest JSON text serde_json reads
//! ([`MAX_NESTING_DEPTH`]), which every text the engine takes in already obeys
//! (`asl run --input`, a Lambda's or a mock's result, `States.StringToJson`, the
//! definition), so the bound refuses only data a run builds deeper, or a value handed to the
//! library API. Whatever the engine keeps stays readable as JSON by the engine itself and by
//! a Lambda function written with serde_json.

use serde_json::Value;

/// Arrays and objects nested in one another, at most: serde_json's parser refuses the 128th
/// level ("recursion limit exceeded"), a test below pins the two together.
pub const MAX_NESTING_DEPTH: usize = 127;

/// Whether `value` nests arrays and objects more than `max` levels deep (`[]` is one level,
/// a scalar none). It recurses, but never more than `max + 1` levels, however deep `value`
/// goes, and allocates nothing: it runs on every state's output.
pub(crate) fn deeper_than(value: &Value, max: usize) -> bool {
    match value {
        Value::Array(items) => max == 0 || items.iter().any(|c| deeper_than(c, max - 1)),
        Value::Object(map) => max == 0 || map.values().any(|c| deeper_than(c, max - 1)),
        _ => false,
    }
}

/// Whether `value` is deeper than the engine admits.
pub(crate) fn too_deep(value: &Value) -> bool {
    deeper_than(value, MAX_NESTING_DEPTH)
}

/// Drops `value` without recursing: containers are emptied onto a list first, so each value
/// dropped holds no children. serde_json's own drop of a 100,000-level value overflows.
pub(crate) fn drop_deep(value: Value) {
    let mut pending = vec![value];
    while let Some(v) = pending.pop() {
        match v {
            Value::Array(items) => pending.extend(items),
            Value::Object(map) => pending.extend(map.into_iter().map(|(_, v)| v)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// `depth` arrays nested in one another, built and checked without recursion.
    fn nested_arrays(depth: usize) -> Value {
        let mut v = json!(0);
        for _ in 0..depth {
            v = Value::Array(vec![v]);
        }
        v
    }

    #[test]
    fn depth_counts_arrays_and_objects_not_scalars() {
        assert!(!deeper_than(&json!(1), 0));
        assert!(deeper_than(&json!([]), 0));
        assert!(!deeper_than(&json!([]), 1));
        assert!(!deeper_than(&json!({"a": [1, {"b": 2}], "c": {}}), 3));
        assert!(deeper_than(&json!({"a": [1, {"b": []}], "c": {}}), 3));
    }

    // The bound is serde_json's: the deepest text it parses is admitted, one level more is
    // refused by both.
    #[test]
    fn the_bound_is_the_deepest_text_serde_json_reads() {
        let text = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let deepest: Value = serde_json::from_str(&text(MAX_NESTING_DEPTH)).unwrap();
        assert!(!too_deep(&deepest));
        let error = serde_json::from_str::<Value>(&text(MAX_NESTING_DEPTH + 1)).unwrap_err();
        assert!(error.to_string().contains("recursion limit"), "{error}");
        let deeper = Value::Array(vec![deepest]);
        assert!(too_deep(&deeper));
    }

    // 256 KiB of `[[…]]` on this test's thread: checked and dropped without overflow.
    #[test]
    fn a_value_as_deep_as_256_kib_allows_is_checked_and_dropped() {
        let deep = nested_arrays(131_072);
        assert!(too_deep(&deep));
        drop_deep(deep);
        let exact = nested_arrays(1_000);
        assert!(!deeper_than(&exact, 1_000));
        assert!(deeper_than(&exact, 999));
        drop_deep(exact);
    }
}
