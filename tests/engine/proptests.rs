//! No input makes the engine panic: arbitrary JSON as a definition, arbitrary strings as
//! paths and intrinsic calls, and random-but-plausible definitions parsed and run.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::t0;
use ecs_migrate::asl::{Definition, Executor, Path, SeededRandom, UnboundInvoker};
use ecs_migrate::common::clock::VirtualClock;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "\\PC{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "Pass",
            "Task",
            "Choice",
            "Wait",
            "Succeed",
            "Fail",
            "Parallel",
            "Map",
            "$",
            "$.a",
            "$$.Execution.Id",
            "States.ALL",
            "A",
            "B",
            "States.Format('{}', $.a)",
            "$.a[0]",
            "$..a",
            "2016-03-14T01:59:00Z",
        ])
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "StartAt",
                        "States",
                        "Type",
                        "Next",
                        "End",
                        "Resource",
                        "Parameters",
                        "ResultPath",
                        "InputPath",
                        "OutputPath",
                        "Choices",
                        "Default",
                        "Variable",
                        "StringEquals",
                        "NumericLessThan",
                        "And",
                        "Not",
                        "Retry",
                        "Catch",
                        "ErrorEquals",
                        "Branches",
                        "ItemProcessor",
                        "Iterator",
                        "Seconds",
                        "TimeoutSeconds",
                        "x.$",
                        "A",
                        "B",
                        "Assign",
                        "ItemsPath",
                        "MaxConcurrency",
                        "Result",
                    ]),
                    inner,
                ),
                0..8,
            )
            .prop_map(|kv| Value::Object(
                kv.into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect::<Map<_, _>>()
            )),
        ]
    })
}

/// A state of a plausible kind; `next` keeps the chain A -> B -> C -> D reachable and `jump`
/// is any state (loops included).
fn arb_state() -> impl Strategy<Value = (u8, &'static str, &'static str, u64)> {
    (
        0u8..9,
        prop::sample::select(vec!["A", "B", "C", "D"]),
        prop::sample::select(vec![
            "$",
            "$.a",
            "$.b[0]",
            "$.missing",
            "$$.State.Name",
            "$x",
            "$.a[*]",
        ]),
        0u64..5,
    )
}

fn build_state(kind: u8, next: Option<&str>, jump: &str, path: &str, n: u64) -> Value {
    let mut s = match kind {
        0 => json!({"Type": "Pass", "Parameters": {"v.$": path, "a": 1}}),
        1 => json!({"Type": "Pass", "Result": {"a": [1, 2]}, "Assign": {"x": n}}),
        2 => json!({"Type": "Wait", "Seconds": n}),
        3 => {
            return json!({"Type": "Choice", "Choices": [{"Variable": path, "IsPresent": true, "Next": jump}],
                          "Default": next.unwrap_or(jump)})
        }
        4 => json!({"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                    "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": n}],
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": jump}]}),
        5 => {
            json!({"Type": "Parallel", "Branches": [{"StartAt": format!("P{jump}"), "States": {format!("P{jump}"): {"Type": "Pass", "End": true}}}]})
        }
        6 => json!({"Type": "Map", "ItemsPath": "$.a", "MaxConcurrency": n,
                    "ItemProcessor": {"StartAt": format!("M{jump}"), "States": {format!("M{jump}"): {"Type": "Pass", "End": true}}}}),
        7 => return json!({"Type": "Fail", "Error": "E", "Cause": path}),
        _ => return json!({"Type": "Succeed"}),
    };
    match next {
        Some(n) => s["Next"] = json!(n),
        None => s["End"] = json!(true),
    }
    s
}

fn arb_definition() -> impl Strategy<Value = Value> {
    prop::collection::vec(arb_state(), 4).prop_map(|parts| {
        let names = ["A", "B", "C", "D"];
        let mut map = Map::new();
        for (i, (kind, jump, path, n)) in parts.into_iter().enumerate() {
            let next = names.get(i + 1).copied();
            map.insert(names[i].to_string(), build_state(kind, next, jump, path, n));
        }
        json!({"StartAt": "A", "States": map})
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn parsing_arbitrary_json_never_panics(v in arb_json()) {
        let _ = Definition::parse(&v);
        let _ = Definition::parse(&json!({"StartAt": "A", "States": {"A": v.clone()}}));
        let _ = Definition::parse(&json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": v, "End": true}}}));
    }

    #[test]
    fn arbitrary_path_and_intrinsic_strings_never_panic(s in "\\PC{0,40}", data in arb_json()) {
        for text in [s.clone(), format!("${s}"), format!("$.{s}"), format!("States.{s}"), format!("States.Format({s})")] {
            if let Ok(p) = Path::parse(&text) {
                let _ = p.select(&data);
                let mut target = data.clone();
                let _ = p.set(&mut target, json!(1));
            }
            let def = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"v.$": text}, "End": true}}});
            if let Ok(d) = Definition::parse(&def) {
                run_bounded(d, data.clone());
            }
        }
    }

    #[test]
    fn plausible_definitions_parse_and_run_without_panics(def in arb_definition(), input in arb_json()) {
        if let Ok(d) = Definition::parse(&def) {
            run_bounded(d, input);
            run_bounded(Definition::parse(&def).unwrap(), json!({"a": [1, 2], "b": ["x"]}));
        }
    }
}

/// Runs with virtual time and aborts after a few hundred events (definitions may loop).
fn run_bounded(def: Definition, input: Value) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let count = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let tx = Arc::new(Mutex::new(Some(tx)));
        let c = count.clone();
        let clock = Arc::new(VirtualClock::starting_at(t0()));
        let ex = Executor::new(def, Arc::new(UnboundInvoker), clock)
            .with_random(Arc::new(SeededRandom::new(1)))
            .with_observer(Arc::new(move |_| {
                if c.fetch_add(1, Ordering::SeqCst) == 300 {
                    if let Some(tx) = tx.lock().unwrap().take() {
                        let _ = tx.send(());
                    }
                }
            }));
        let r = ex
            .run(input, async move {
                let _ = rx.await;
            })
            .await;
        assert!(!r.history.is_empty());
    });
}

/// The property above only runs definitions that parse: a good share of the generated ones
/// must (about 40% do), or it would pass without running anything.
#[test]
fn a_good_share_of_plausible_definitions_parse() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = arb_definition();
    let total = 200;
    let parsed = (0..total)
        .filter(|_| {
            let def = strategy.new_tree(&mut runner).unwrap().current();
            Definition::parse(&def).is_ok()
        })
        .count();
    assert!(parsed * 4 >= total, "only {parsed} of {total} parse");
}
