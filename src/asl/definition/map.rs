//! The Map state: its item processor (or the legacy Iterator) and the inline-map fields.

use serde_json::Value;

use super::fields::Fields;
use super::model::{MapState, StateKind};
use super::states::{parse_nested, Scope};
use super::MAX_SECONDS;
use crate::asl::jsonata::is_expression;
use crate::asl::problem::{Problems, Ptr};

pub(super) fn parse_map(fields: Fields<'_>, scope: &mut Scope<'_>) -> Option<StateKind> {
    let processor_key = processor_key(fields, scope.problems)?;
    let pp = fields.at(processor_key);
    let Some(pobj) = fields.get(processor_key).and_then(Value::as_object) else {
        scope.problems.add(
            &pp,
            format!("{processor_key} must be a JSON object with StartAt and States"),
        );
        return None;
    };
    if let Some(cfg) = pobj.get("ProcessorConfig") {
        check_processor_config(cfg, &pp.key("ProcessorConfig"), scope.problems);
    }
    let processor = parse_nested(pobj, &pp, scope)?;
    let problems = &mut *scope.problems;
    if fields.has("ItemSelector") && fields.has("Parameters") {
        problems.add(
            &fields.at("Parameters"),
            "ItemSelector and Parameters cannot both be set (Parameters is the legacy name)",
        );
    }
    let (item_selector, ata_selector, items) = if fields.jsonata {
        for key in ["ItemReader", "ItemBatcher", "ResultWriter"] {
            fields.ata(key, problems);
        }
        let items = fields.get("Items").and_then(|v| match v {
            Value::Array(_) => fields.ata("Items", problems),
            Value::String(s) if is_expression(s) => fields.ata("Items", problems),
            _ => {
                problems.add(
                    &fields.at("Items"),
                    "Items must be a JSON array or a JSONata expression string",
                );
                None
            }
        });
        (None, fields.ata("ItemSelector", problems), items)
    } else {
        let selector = fields
            .template("ItemSelector", problems)
            .or_else(|| fields.template("Parameters", problems));
        (selector, None, None)
    };
    let unsupported = ["ItemReader", "ItemBatcher", "ResultWriter"]
        .into_iter()
        .filter(|k| fields.has(k))
        .map(String::from)
        .collect();
    if let Some(l) = fields.get("Label") {
        if !l.is_string() {
            problems.add(&fields.at("Label"), "Label must be a string");
        }
    }
    Some(StateKind::Map(Box::new(MapState {
        processor,
        items_path: fields.reference_path("ItemsPath", problems),
        item_selector,
        items,
        ata_selector,
        handling: fields.result_handling(scope.names, problems),
        max_concurrency: fields.amount("MaxConcurrency", MAX_SECONDS as f64, true, problems),
        tolerated_percentage: fields.amount("ToleratedFailurePercentage", 100.0, false, problems),
        tolerated_count: fields.amount("ToleratedFailureCount", MAX_SECONDS as f64, true, problems),
        unsupported,
    })))
}

/// `ItemProcessor`, or the legacy `Iterator`; exactly one is required.
fn processor_key(fields: Fields<'_>, problems: &mut Problems) -> Option<&'static str> {
    match (fields.has("ItemProcessor"), fields.has("Iterator")) {
        (true, true) => {
            problems.add(
                &fields.at("Iterator"),
                "ItemProcessor and Iterator cannot both be set",
            );
            Some("ItemProcessor")
        }
        (true, false) => Some("ItemProcessor"),
        (false, true) => Some("Iterator"),
        (false, false) => {
            problems.add(
                &fields.at("ItemProcessor"),
                "ItemProcessor (or the legacy Iterator) is required in a Map state",
            );
            None
        }
    }
}

fn check_processor_config(cfg: &Value, cp: &Ptr, problems: &mut Problems) {
    let Some(c) = cfg.as_object() else {
        problems.add(cp, "ProcessorConfig must be a JSON object");
        return;
    };
    for (k, v) in c {
        match k.as_str() {
            "Mode" if matches!(v.as_str(), Some("INLINE" | "DISTRIBUTED")) => {}
            "Mode" => problems.add(&cp.key("Mode"), "Mode must be INLINE or DISTRIBUTED"),
            "ExecutionType" if matches!(v.as_str(), Some("STANDARD" | "EXPRESS")) => {}
            "ExecutionType" => {
                problems.add(&cp.key(k), "ExecutionType must be STANDARD or EXPRESS")
            }
            _ => problems.add(
                &cp.key(k),
                format!("unknown field \"{k}\" in ProcessorConfig"),
            ),
        }
    }
}
