//! Fuzz target of the engine: random definitions (Pass, Task, Choice, Wait, Succeed, Fail,
//! Parallel, Map, with paths, payload templates, intrinsic functions, ResultPath, Retry and
//! Catch, and JSONata Pass and Choice states among them) run on random inputs (nesting and large strings included). No case may panic, and
//! every run must end in a well-formed execution.
//!
//! Budget: `ASL_FUZZ_CASES` cases (default 2000) or `ASL_FUZZ_SECONDS` of wall time (default
//! 60), whichever comes first, so `cargo test` spends at most about a minute here on 2 cores.
//! Raise both to fuzz longer, e.g. `ASL_FUZZ_CASES=100000 ASL_FUZZ_SECONDS=3600 cargo test
//! --test engine fuzz::`. Each run draws a fresh seed and prints it; `ASL_FUZZ_SEED=N` replays
//! one. A failure prints the shrunk definition and input, and the seed: add it to
//! tests/engine/fuzz_corpus.txt, whose seeds `the_regression_corpus_still_passes` replays on
//! every run.
//!
//! Inputs nest up to `ASL_FUZZ_MAX_DEPTH` levels (default 140, past the engine's bound of
//! `MAX_NESTING_DEPTH` levels, so the refusal is fuzzed too). Every case runs on the test
//! harness's own thread: the bound keeps whatever a case builds (loops that wrap their data
//! deeper every turn included) from overflowing it.
//!
//! Every case is bounded: virtual time (Wait and retry intervals cost nothing), then the
//! execution is aborted after [`MAX_EVENTS`] history events (every [`FULL_HISTORY_EVERY`]th
//! case: past the engine's own limit of `MAX_HISTORY_EVENTS`, so runs that reach that limit are
//! checked against it) or stopped after [`MAX_DETAIL_BYTES`] of event details (a loop can double
//! its data every turn; such a run is still checked, on the events it recorded), or after a
//! wall-clock bound per case in case a state spins without recording events.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ecs_migrate::asl::{
    Definition, EventType, ExecutionResult, ExecutionStatus, Executor, HistoryEvent,
    RegistryInvoker, SeededRandom, TaskFailure, MAX_HISTORY_EVENTS, MAX_NESTING_DEPTH,
};
use ecs_migrate::common::clock::VirtualClock;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{json, Map, Value};

/// History events after which a case is aborted (a Pass or Choice loop never ends by itself).
const MAX_EVENTS: usize = 1_500;
/// Every this many cases runs with the event bound past the engine's history limit.
const FULL_HISTORY_EVERY: usize = 8;
/// The event bound of those cases: the engine must end them at `MAX_HISTORY_EVENTS` first.
const FULL_HISTORY_EVENTS: usize = MAX_HISTORY_EVENTS as usize + 10;
/// Bytes of event details (state inputs and outputs as JSON text) after which a case is
/// aborted: a loop whose Parameters copy `$` twice doubles its data every turn, and until the
/// engine enforces the 256 KiB payload quota nothing else stops it short of the machine's
/// memory.
const MAX_DETAIL_BYTES: usize = 64 << 20;
/// Wall-clock bound of one case: a safety net, not a speed goal (the case is aborted, not
/// failed, when it is reached).
const CASE_WALL_LIMIT: Duration = Duration::from_secs(20);

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ---- Leaves: paths, intrinsic calls, literals ------------------------------------------

/// Paths every generated input satisfies.
const SOUND_PATHS: &[&str] = &[
    "$",
    "$.a",
    "$.b",
    "$.b[*]",
    "$.b[0:2]",
    "$..a",
    "$.s",
    "$.n",
    "$.t",
    "$.items",
    "$.items[0]",
    "$.items[?(@ > 1)]",
    "$.items.length()",
    "$['a']",
    "$$.State.Name",
    "$$.Execution.Input",
];

/// Paths that may find nothing (or name a variable or Map item that does not exist).
const RISKY_PATHS: &[&str] = &[
    "$.b[0]",
    "$.b[-1]",
    "$.deep",
    "$.big",
    "$.missing",
    "$['we\\'ird\\\\key']",
    "$$.Map.Item.Value",
    "$$.Map.Item.Index",
    "$x",
    "$x.a",
];

const REFERENCE_PATHS: &[&str] = &["$", "$.a", "$.r", "$.b[0]", "$.new.deeper", "$.s.x", "$.n"];

const NUMBERS: &[&str] = &["-1", "0", "1", "3", "1000", "2147483648", "1.5"];

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(SOUND_PATHS),
        1 => prop::sample::select(RISKY_PATHS),
    ]
    .prop_map(String::from)
}

fn reference_path() -> impl Strategy<Value = String> {
    prop::sample::select(REFERENCE_PATHS).prop_map(String::from)
}

/// An intrinsic call over paths and literals, sometimes nested.
fn intrinsic() -> impl Strategy<Value = String> {
    let forms = prop::sample::select(vec![
        "States.Format('{} and {}', @P, @P)",
        "States.Format(@P, @P)",
        "States.StringToJson(@P)",
        "States.JsonToString(@P)",
        "States.Array(@P, @N, 'x')",
        "States.ArrayPartition(@P, @N)",
        "States.ArrayContains(@P, @P)",
        "States.ArrayRange(@N, @N, @N)",
        "States.ArrayGetItem(@P, @N)",
        "States.ArrayLength(@P)",
        "States.ArrayUnique(@P)",
        "States.Base64Encode(@P)",
        "States.Base64Decode(@P)",
        "States.Hash(@P, 'SHA-256')",
        "States.JsonMerge(@P, @P, false)",
        "States.MathRandom(@N, @N)",
        "States.MathAdd(@P, @N)",
        "States.StringSplit(@P, ',')",
        "States.UUID()",
        "States.ArrayLength(States.StringSplit(@P, ','))",
        "States.Format('{}', States.ArrayGetItem(States.Array(@P, @P), @N))",
    ]);
    (
        forms,
        prop::collection::vec(path(), 3),
        prop::collection::vec(prop::sample::select(NUMBERS), 3),
    )
        .prop_map(|(form, paths, numbers)| {
            let mut out = form.to_string();
            for p in &paths {
                out = out.replacen("@P", p, 1);
            }
            for n in &numbers {
                out = out.replacen("@N", n, 1);
            }
            out
        })
}

/// A literal value for templates, Result and choice comparisons.
fn literal() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        "[a-z{}',]{0,8}".prop_map(Value::String),
        Just(json!({"k": [1, {"v": "x"}]})),
    ]
}

/// A payload template (Parameters, ItemSelector, ResultSelector, Assign).
fn template() -> impl Strategy<Value = Value> {
    let entry = prop_oneof![
        literal().prop_map(|v| ("k".to_string(), v)),
        path().prop_map(|p| ("k.$".to_string(), Value::String(p))),
        intrinsic().prop_map(|c| ("k.$".to_string(), Value::String(c))),
        (path(), intrinsic()).prop_map(|(p, c)| (
            "nested".to_string(),
            json!({"p.$": p, "c.$": c, "fixed": 1})
        )),
    ];
    prop::collection::vec(entry, 0..4).prop_map(|entries| {
        let mut map = Map::new();
        for (i, (key, value)) in entries.into_iter().enumerate() {
            let key = match key.strip_suffix(".$") {
                Some(base) => format!("{base}{i}.$"),
                None => format!("{key}{i}"),
            };
            map.insert(key, value);
        }
        Value::Object(map)
    })
}

// ---- States -------------------------------------------------------------------------------

/// A transition target, resolved to a state name once the machine's size is known.
fn target() -> impl Strategy<Value = Value> {
    (0u8..8).prop_map(|k| Value::String(format!("@{k}")))
}

fn choice_rule(depth: u32) -> BoxedStrategy<Value> {
    let comparison = (
        path(),
        prop::sample::select(vec![
            ("StringEquals", json!("x")),
            ("StringLessThan", json!("m")),
            ("StringMatches", json!("a*b\\*")),
            ("NumericLessThan", json!(3)),
            ("NumericEquals", json!(1.5)),
            ("NumericGreaterThanEqualsPath", json!("$.n")),
            ("StringEqualsPath", json!("$.s")),
            ("BooleanEquals", json!(true)),
            ("TimestampLessThan", json!("2026-01-01T00:00:00Z")),
            ("IsPresent", json!(true)),
            ("IsNull", json!(false)),
            ("IsNumeric", json!(true)),
            ("IsString", json!(true)),
            ("IsTimestamp", json!(true)),
        ]),
    )
        .prop_map(|(variable, (op, operand))| {
            let mut rule = Map::new();
            rule.insert("Variable".into(), Value::String(variable));
            rule.insert(op.into(), operand);
            Value::Object(rule)
        });
    if depth == 0 {
        return comparison.boxed();
    }
    prop_oneof![
        3 => comparison,
        1 => prop::collection::vec(choice_rule(depth - 1), 1..3).prop_map(|rules| json!({"And": rules})),
        1 => prop::collection::vec(choice_rule(depth - 1), 1..3).prop_map(|rules| json!({"Or": rules})),
        1 => choice_rule(depth - 1).prop_map(|rule| json!({"Not": rule})),
    ]
    .boxed()
}

fn retry() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![
            "States.ALL",
            "States.TaskFailed",
            "Boom",
            "States.Timeout",
        ]),
        0u32..4,
        1u32..3,
        prop::sample::select(vec![1.0, 2.0, 1.5]),
        prop::option::of(1u32..10),
        any::<bool>(),
    )
        .prop_map(|(error, attempts, interval, backoff, max_delay, jitter)| {
            let mut r = json!({"ErrorEquals": [error], "MaxAttempts": attempts,
                "IntervalSeconds": interval, "BackoffRate": backoff});
            if let Some(d) = max_delay {
                r["MaxDelaySeconds"] = json!(d);
            }
            if jitter {
                r["JitterStrategy"] = json!("FULL");
            }
            r
        })
}

fn catcher() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["States.ALL", "Boom", "States.TaskFailed"]),
        target(),
        prop::option::of(reference_path()),
    )
        .prop_map(|(error, next, result_path)| {
            let mut c = json!({"ErrorEquals": [error], "Next": next});
            if let Some(p) = result_path {
                c["ResultPath"] = json!(p);
            }
            c
        })
}

/// Retriers or catchers as the language wants them: States.ALL at most once, and last.
fn all_last(mut rules: Vec<Value>) -> Vec<Value> {
    let is_all = |r: &Value| r["ErrorEquals"][0] == "States.ALL";
    let all = rules.iter().position(is_all).map(|i| rules.remove(i));
    rules.retain(|r| !is_all(r));
    rules.extend(all);
    rules
}

/// Input/output processing any non-terminal state may carry.
fn io_fields() -> impl Strategy<Value = Vec<(&'static str, Value)>> {
    (
        prop::option::weighted(0.1, path()),
        prop::option::weighted(0.1, path()),
        prop::option::weighted(0.3, prop::option::of(reference_path())),
        prop::option::weighted(0.2, template()),
    )
        .prop_map(|(input, output, result, assign)| {
            let mut fields = Vec::new();
            if let Some(p) = input {
                fields.push(("InputPath", json!(p)));
            }
            if let Some(p) = output {
                fields.push(("OutputPath", json!(p)));
            }
            if let Some(p) = result {
                fields.push(("ResultPath", json!(p)));
            }
            if let Some(a) = assign {
                fields.push(("Assign", a));
            }
            fields
        })
}

fn task() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["echo", "boom", "flaky"]),
        prop::option::of(template()),
        prop::option::of(template()),
        prop::collection::vec(retry(), 0..3),
        prop::collection::vec(catcher(), 0..2),
        prop::option::of(1u32..100),
    )
        .prop_map(|(function, parameters, selector, retry, catch, timeout)| {
            let mut t = json!({"Type": "Task",
                "Resource": format!("arn:aws:lambda:us-east-1:123456789012:function:{function}")});
            if let Some(p) = parameters {
                t["Parameters"] = p;
            }
            if let Some(s) = selector {
                t["ResultSelector"] = s;
            }
            if !retry.is_empty() {
                t["Retry"] = json!(all_last(retry));
            }
            if !catch.is_empty() {
                t["Catch"] = json!(all_last(catch));
            }
            if let Some(s) = timeout {
                t["TimeoutSeconds"] = json!(s);
            }
            t
        })
}

fn wait() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u32..100).prop_map(|s| json!({"Type": "Wait", "Seconds": s})),
        reference_path().prop_map(|p| json!({"Type": "Wait", "SecondsPath": p})),
        Just(json!({"Type": "Wait", "Timestamp": "2026-01-01T00:01:00Z"})),
        reference_path().prop_map(|p| json!({"Type": "Wait", "TimestampPath": p})),
    ]
}

fn fail() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({"Type": "Fail", "Error": "Custom", "Cause": "because"})),
        reference_path().prop_map(|p| json!({"Type": "Fail", "ErrorPath": p, "CausePath": p})),
        intrinsic().prop_map(|c| json!({"Type": "Fail", "Error": "E", "CausePath": c})),
    ]
}

/// A state that does not nest machines; `@k` strings are transition targets.
/// A JSONata expression: reads of `$states`, variables, AWS's functions, arithmetic that can
/// fail, values that grow, and now and then one that does not parse.
fn jsonata_expression() -> impl Strategy<Value = String> {
    let part = prop::sample::select(vec![
        "$states.input",
        "$states.input.a",
        "$states.input.b[0]",
        "$states.input.items",
        "$states.context.State.Name",
        "$x",
        "$count($states.input.items)",
        "$string($states.input)",
        "$states.input.a + 1",
        "$random()",
        "$random(7)",
        "$range(0, 3, 1)",
        "$partition($states.input.items, 2)",
        "$hash($string($states.input), 'SHA-256')",
        "$uuid()",
        "$parse('[1, {\"k\": 2}]')",
        "$sum($states.input.items)",
        "$keys($states.input)",
        "1 / 0",
        "{'k': $states.input, 'j': $states.input}",
        "[$states.input, $x]",
        "$states.input.a = 1",
        "$states.errorOutput",
        "$states.result",
        "function($v) { $v }",
        "$eval('1')",
        "$states.input.(",
    ]);
    (
        part.clone(),
        prop::option::of((
            prop::sample::select(vec![" & ", " = ", " ? 1 : ", " + "]),
            part,
        )),
    )
        .prop_map(|(a, rest)| match rest {
            Some((op, b)) => format!("{a}{op}{b}"),
            None => a.to_string(),
        })
}

/// A JSONata Pass (Output and Assign templates) or Choice (Conditions), in a machine that is
/// otherwise JSONPath: the states share the variables.
fn jsonata_state() -> BoxedStrategy<Value> {
    let expr = || jsonata_expression().prop_map(|e| json!(format!("{{% {e} %}}")));
    prop_oneof![
        2 => (prop::option::of(expr()), prop::option::of(expr()), literal()).prop_map(|(output, assign, lit)| {
            let mut p = json!({"Type": "Pass", "QueryLanguage": "JSONata"});
            if let Some(o) = output {
                p["Output"] = json!({"v": o, "lit": lit, "list": [1, "{% $states.input %}"]});
            }
            if let Some(a) = assign {
                p["Assign"] = json!({"x": a});
            }
            p
        }),
        1 => (expr(), target(), target()).prop_map(|(condition, next, default)| {
            json!({"Type": "Choice", "QueryLanguage": "JSONata",
                   "Choices": [{"Condition": condition, "Next": next, "Output": "{% $states.input %}"}],
                   "Default": default})
        }),
    ]
    .boxed()
}

fn flat_state() -> BoxedStrategy<Value> {
    prop_oneof![
        2 => jsonata_state(),
        3 => (prop::option::of(template()), prop::option::of(literal()))
            .prop_map(|(parameters, result)| {
                let mut p = json!({"Type": "Pass"});
                if let Some(t) = parameters {
                    p["Parameters"] = t;
                }
                if let Some(r) = result {
                    p["Result"] = r;
                }
                p
            }),
        2 => task(),
        2 => (prop::collection::vec((choice_rule(2), target()), 1..4), prop::option::of(target()))
            .prop_map(|(rules, default)| {
                let choices: Vec<Value> = rules
                    .into_iter()
                    .map(|(mut rule, next)| {
                        rule["Next"] = next;
                        rule
                    })
                    .collect();
                let mut c = json!({"Type": "Choice", "Choices": choices});
                if let Some(d) = default {
                    c["Default"] = d;
                }
                c
            }),
        1 => wait(),
        1 => fail(),
        1 => Just(json!({"Type": "Succeed"})),
    ]
    .boxed()
}

fn state(depth: u32) -> BoxedStrategy<Value> {
    if depth == 0 {
        return flat_state();
    }
    let map = (
        machine(depth - 1),
        prop::sample::select(vec![
            "$.b",
            "$.items",
            "$.a",
            "$.deep",
            "$$.Execution.Input.b",
        ]),
        prop::option::of(template()),
        0u32..4,
        prop::option::of(0u32..3),
        prop::collection::vec(catcher(), 0..2),
    )
        .prop_map(
            |(processor, items, selector, concurrency, tolerated, catch)| {
                let mut m = json!({"Type": "Map", "ItemProcessor": processor, "ItemsPath": items,
                "MaxConcurrency": concurrency});
                if let Some(s) = selector {
                    m["ItemSelector"] = s;
                }
                if let Some(t) = tolerated {
                    m["ToleratedFailureCount"] = json!(t);
                }
                if !catch.is_empty() {
                    m["Catch"] = json!(all_last(catch));
                }
                m
            },
        );
    let parallel = (
        prop::collection::vec(machine(depth - 1), 1..3),
        prop::option::of(template()),
        prop::collection::vec(retry(), 0..2),
    )
        .prop_map(|(branches, selector, retry)| {
            let mut p = json!({"Type": "Parallel", "Branches": branches});
            if let Some(s) = selector {
                p["ResultSelector"] = s;
            }
            if !retry.is_empty() {
                p["Retry"] = json!(all_last(retry));
            }
            p
        });
    prop_oneof![4 => flat_state(), 1 => map, 1 => parallel].boxed()
}

/// A StartAt/States block of 1 to 5 states. Each state goes on to the next one (a Choice by
/// its Default); the last may jump back (a loop); a Succeed or Fail ends the block, so every
/// state is reachable. `@k` targets become names here; `tag` keeps names unique across machines.
fn machine(depth: u32) -> BoxedStrategy<Value> {
    (
        prop::collection::vec(
            (
                state(depth),
                io_fields(),
                prop::option::weighted(0.15, 0usize..8),
            ),
            1..6,
        ),
        any::<u32>(),
    )
        .prop_map(|(mut parts, tag)| {
            if let Some(end) = parts
                .iter()
                .position(|(s, _, _)| matches!(s["Type"].as_str(), Some("Succeed" | "Fail")))
            {
                parts.truncate(end + 1);
            }
            let count = parts.len();
            let name = move |i: usize| format!("M{tag:x}S{i}");
            let mut states = Map::new();
            for (i, (mut state, io, jump_back)) in parts.into_iter().enumerate() {
                let ty = state["Type"].as_str().unwrap_or_default().to_string();
                let has_next = i + 1 < count;
                if ty == "Choice" && has_next {
                    state["Default"] = json!(name(i + 1));
                }
                if !matches!(ty.as_str(), "Choice" | "Succeed" | "Fail") {
                    for (key, value) in io {
                        if key == "ResultPath" && ty == "Wait" {
                            continue;
                        }
                        state[key] = value;
                    }
                    match (has_next, jump_back) {
                        (true, _) => state["Next"] = json!(name(i + 1)),
                        (false, Some(k)) => state["Next"] = json!(name(k % count)),
                        (false, None) => state["End"] = json!(true),
                    }
                }
                resolve_targets(&mut state, count, &name);
                states.insert(name(i), state);
            }
            json!({"StartAt": name(0), "States": states})
        })
        .boxed()
}

/// Replaces `@k` under Next and Default with the name of state `k % count`, not descending
/// into nested machines (they resolved their own).
fn resolve_targets(value: &mut Value, count: usize, name: &dyn Fn(usize) -> String) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match (key.as_str(), &*v) {
                    ("Next" | "Default", Value::String(s)) if s.starts_with('@') => {
                        let k: usize = s[1..].parse().unwrap_or(0);
                        *v = json!(name(k % count));
                    }
                    ("ItemProcessor" | "Branches", _) => {}
                    _ => resolve_targets(v, count, name),
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| resolve_targets(v, count, name)),
        _ => {}
    }
}

/// A definition, a third of the time with one member replaced by a random literal (a
/// near-valid definition exercises the parser's checks; most of these still parse and run).
fn definition() -> impl Strategy<Value = Value> {
    (
        machine(2),
        prop::option::weighted(0.3, (any::<prop::sample::Index>(), literal())),
    )
        .prop_map(|(mut definition, mutation)| {
            if let Some((at, value)) = mutation {
                let mut pointers = Vec::new();
                member_pointers(&definition, String::new(), &mut pointers);
                if !pointers.is_empty() {
                    let pointer = &pointers[at.index(pointers.len())];
                    if let Some(slot) = definition.pointer_mut(pointer) {
                        *slot = value;
                    }
                }
            }
            definition
        })
}

/// The JSON pointer of every object member and array item under `value`.
fn member_pointers(value: &Value, at: String, out: &mut Vec<String>) {
    let children: Vec<(String, &Value)> = match value {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.replace('~', "~0").replace('/', "~1"), v))
            .collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v))
            .collect(),
        _ => return,
    };
    for (key, child) in children {
        let pointer = format!("{at}/{key}");
        out.push(pointer.clone());
        member_pointers(child, pointer, out);
    }
}

// ---- Inputs ---------------------------------------------------------------------------------

fn nested(depth: usize) -> Value {
    let mut v = json!("bottom");
    for i in 0..depth {
        v = if i % 2 == 0 {
            json!([v])
        } else {
            json!({"a": v})
        };
    }
    v
}

fn input() -> impl Strategy<Value = Value> {
    let max_depth = env_number("ASL_FUZZ_MAX_DEPTH", 140) as usize;
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "\\PC{0,16}".prop_map(Value::String),
        Just(json!("{\"k\": [1, 2]}")),
        Just(json!("aGVsbG8=")),
        Just(json!("2026-01-01T00:00:30Z")),
        Just(json!("a,b,,c")),
    ];
    let any_json = scalar.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec!["a", "b", "s", "n", "x", "k"]),
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    });
    (
        any_json.clone(),
        prop::collection::vec(any_json, 0..4),
        "\\PC{0,12}",
        any::<i32>(),
        prop::option::weighted(0.3, 0..=max_depth),
        prop::option::weighted(0.1, 0usize..300_000),
    )
        .prop_map(|(a, b, s, n, depth, big)| {
            let mut input = json!({"a": a, "b": b, "s": s, "n": n,
                "t": "2026-01-01T00:00:30Z", "items": [1, 2, 3]});
            if let Some(d) = depth {
                input["deep"] = nested(d);
            }
            if let Some(len) = big {
                input["big"] = json!("x".repeat(len));
            }
            input
        })
}

// ---- The harness --------------------------------------------------------------------------

/// Task functions: `echo` returns its input, `boom` always fails, `flaky` fails on every
/// other call.
fn invoker() -> RegistryInvoker {
    let calls = Arc::new(AtomicUsize::new(0));
    RegistryInvoker::new()
        .register("echo", |call| async move { Ok(call.input) })
        .register("boom", |_| async {
            Err::<Value, _>(TaskFailure::new("Boom", "the fuzz target's failing task"))
        })
        .register("flaky", move |call| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n.is_multiple_of(2) {
                    Err(TaskFailure::new("Boom", "flaky"))
                } else {
                    Ok(call.input)
                }
            }
        })
}

fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// Counts the bytes written to it.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// How large an event's details are as JSON text.
fn details_bytes(event: &HistoryEvent) -> usize {
    let mut count = ByteCount(0);
    match serde_json::to_writer(&mut count, &event.details) {
        Ok(()) => count.0,
        Err(_) => 0,
    }
}

/// One bounded run: the execution (none when the byte bound stopped it), the largest event
/// details it recorded, and every event as the observer saw it (id, previous id, type), which
/// is all a run stopped by the byte bound leaves to check.
struct BoundedRun {
    result: Option<ExecutionResult>,
    largest_details: usize,
    seen: Vec<(u64, u64, EventType)>,
}

/// The panic payload with which the observer stops a case over [`MAX_DETAIL_BYTES`] at once:
/// an abort is only seen at the executor's next yield, up to 32 transitions later, time
/// enough for a doubling loop to exhaust memory.
struct OverBudget;

/// Keeps [`OverBudget`] panics out of the test output; every other panic is reported.
fn quiet_budget_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<OverBudget>().is_none() {
                report(info);
            }
        }));
    });
}

/// Runs one definition on one input, aborted after [`MAX_EVENTS`] events or
/// [`CASE_WALL_LIMIT`], stopped at once past [`MAX_DETAIL_BYTES`] of event details.
fn run_bounded(definition: Definition, input: Value) -> BoundedRun {
    run_bounded_to(definition, input, MAX_EVENTS)
}

/// [`run_bounded`], aborted after `max_events` events.
fn run_bounded_to(definition: Definition, input: Value, max_events: usize) -> BoundedRun {
    quiet_budget_panics();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let largest = Arc::new(AtomicUsize::new(0));
    let largest_seen = largest.clone();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_by_observer = seen.clone();
    let run = std::panic::AssertUnwindSafe(async move {
        let (events, bytes) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let stop = Mutex::new(Some(stop));
        let executor = Executor::new(
            definition,
            Arc::new(invoker()),
            Arc::new(VirtualClock::starting_at(start_time())),
        )
        .with_execution_name("fuzz")
        .with_random(Arc::new(SeededRandom::new(11)))
        .with_observer(Arc::new(move |event: &HistoryEvent| {
            let size = details_bytes(event);
            largest_seen.fetch_max(size, Ordering::SeqCst);
            if let Ok(mut seen) = seen_by_observer.lock() {
                seen.push((event.id, event.previous_event_id, event.event_type));
            }
            if bytes.fetch_add(size, Ordering::SeqCst) + size >= MAX_DETAIL_BYTES {
                std::panic::panic_any(OverBudget);
            }
            if events.fetch_add(1, Ordering::SeqCst) + 1 >= max_events {
                if let Some(stop) = stop.lock().ok().and_then(|mut s| s.take()) {
                    let _ = stop.send(());
                }
            }
        }));
        executor
            .run(input, async move {
                tokio::select! {
                    _ = stopped => {}
                    _ = tokio::time::sleep(CASE_WALL_LIMIT) => {}
                }
            })
            .await
    });
    let result = match std::panic::catch_unwind(|| runtime.block_on(run)) {
        Ok(result) => Some(result),
        Err(payload) if payload.is::<OverBudget>() => None,
        Err(payload) => std::panic::resume_unwind(payload),
    };
    let seen = std::mem::take(&mut *seen.lock().unwrap_or_else(|p| p.into_inner()));
    BoundedRun {
        result,
        largest_details: largest.load(Ordering::SeqCst),
        seen,
    }
}

/// What every execution must look like, however it ended: within AWS's limits (the engine's
/// default), with a well-formed history. A run the byte bound stopped is checked on the
/// events it recorded.
fn check_execution(run: &BoundedRun) -> Result<(), TestCaseError> {
    // No state's input or output past 256 KiB: an event's details hold at most one of each
    // (and the state's name), JSON-escaped.
    prop_assert!(
        run.largest_details <= 2 * (2 * 256 * 1024 + 1024),
        "an event of {} bytes",
        run.largest_details
    );
    prop_assert!(run.seen.len() as u64 <= MAX_HISTORY_EVENTS);
    for (i, (id, previous, _)) in run.seen.iter().enumerate() {
        prop_assert_eq!(*id, i as u64 + 1, "event ids count from 1, as recorded");
        prop_assert!(previous < id);
    }
    let Some(r) = &run.result else {
        // Stopped by the byte bound: what it recorded began with the execution.
        prop_assert_eq!(
            run.seen.first().map(|e| e.2),
            Some(EventType::ExecutionStarted)
        );
        return Ok(());
    };
    prop_assert!(r.history.len() as u64 <= MAX_HISTORY_EVENTS);
    if r.history.is_empty() {
        // StartExecution refused the input (over 256 KiB): no execution ran.
        prop_assert_eq!(r.error.as_deref(), Some("ValidationException"));
        return Ok(());
    }
    prop_assert_eq!(r.history[0].event_type, EventType::ExecutionStarted);
    let last = r.history[r.history.len() - 1].event_type;
    let expected_last = match r.status {
        ExecutionStatus::Succeeded => EventType::ExecutionSucceeded,
        ExecutionStatus::Failed => EventType::ExecutionFailed,
        ExecutionStatus::TimedOut => EventType::ExecutionTimedOut,
        ExecutionStatus::Aborted => EventType::ExecutionAborted,
    };
    prop_assert_eq!(last, expected_last);
    prop_assert_eq!(r.output.is_some(), r.status == ExecutionStatus::Succeeded);
    if r.status == ExecutionStatus::Failed {
        prop_assert!(r.error.is_some(), "a failed execution names its error");
    }
    // A run that used the whole history ended because of it, by name.
    if r.history.len() as u64 == MAX_HISTORY_EVENTS {
        prop_assert_eq!(r.error.as_deref(), Some("States.Runtime"));
    }
    for (i, e) in r.history.iter().enumerate() {
        prop_assert_eq!(e.id, i as u64 + 1, "event ids count from 1");
        prop_assert!(e.previous_event_id < e.id);
    }
    Ok(())
}

/// A seed from the clock: enough to vary runs, not a secret.
fn rand_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        .max(1)
}

/// What a fuzz run saw.
#[derive(Default)]
struct Tally {
    ran: AtomicUsize,
    parsed: AtomicUsize,
    /// Runs with the event bound past the history limit that reached the limit.
    at_history_limit: AtomicUsize,
    /// Executions by final status and by whether a bound cut them short.
    outcomes: Mutex<std::collections::BTreeMap<String, usize>>,
    largest: AtomicUsize,
}

/// Fuzzes `cases` cases from `seed` (within `budget` of wall time when given); panics with the
/// shrunk case on a failure.
fn fuzz(seed: u64, cases: u32, budget: Option<Duration>) -> Tally {
    let started = Instant::now();
    let tally = Tally::default();
    let config = Config {
        cases,
        max_shrink_time: 120_000,
        // Failures are printed (shrunk); nothing is written next to the sources.
        failure_persistence: None,
        ..Config::default()
    };
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(
        config,
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    );
    let result = runner.run(&(definition(), input()), |(definition, input)| {
        // Past the time budget the remaining cases pass without running.
        if budget.is_some_and(|b| started.elapsed() > b) {
            return Ok(());
        }
        let n = tally.ran.fetch_add(1, Ordering::SeqCst);
        let Ok(parsed_definition) = Definition::parse(&definition) else {
            return Ok(());
        };
        tally.parsed.fetch_add(1, Ordering::SeqCst);
        let bound = if n % FULL_HISTORY_EVERY == 0 {
            FULL_HISTORY_EVENTS
        } else {
            MAX_EVENTS
        };
        let run = run_bounded_to(parsed_definition, input, bound);
        tally
            .largest
            .fetch_max(run.largest_details, Ordering::SeqCst);
        let outcome = match &run.result {
            Some(r) if r.status == ExecutionStatus::Aborted => "ABORTED (event bound)".into(),
            Some(r) => format!(
                "{} {}",
                r.status.as_str(),
                r.error.as_deref().unwrap_or_default()
            ),
            None => "STOPPED (byte bound)".into(),
        };
        if run.seen.len() as u64 >= MAX_HISTORY_EVENTS {
            tally.at_history_limit.fetch_add(1, Ordering::SeqCst);
        }
        if let Ok(mut counts) = tally.outcomes.lock() {
            *counts.entry(outcome).or_default() += 1;
        }
        check_execution(&run)
    });
    if let Err(e) = result {
        panic!("seed {seed} (ASL_FUZZ_SEED={seed} replays it): {e}");
    }
    eprintln!(
        "asl_fuzz: seed {seed}: {} cases in {:.1} s, {} definitions parsed and ran: {:?}; \
         {} reached the history limit; largest event details {} bytes",
        tally.ran.load(Ordering::SeqCst),
        started.elapsed().as_secs_f64(),
        tally.parsed.load(Ordering::SeqCst),
        tally.outcomes.lock().map(|o| o.clone()).unwrap_or_default(),
        tally.at_history_limit.load(Ordering::SeqCst),
        tally.largest.load(Ordering::SeqCst)
    );
    tally
}

#[test]
fn random_definitions_on_random_inputs_never_panic() {
    let cases = env_number("ASL_FUZZ_CASES", 2_000) as u32;
    let budget = Duration::from_secs(env_number("ASL_FUZZ_SECONDS", 60));
    // A fresh seed each run, printed to replay it; ASL_FUZZ_SEED=N replays seed N.
    let seed = match env_number("ASL_FUZZ_SEED", 0) {
        0 => rand_seed(),
        seed => seed,
    };
    eprintln!("asl_fuzz: seed {seed} (ASL_FUZZ_SEED={seed} replays this run)");
    let tally = fuzz(seed, cases, Some(budget));
    let (ran, parsed) = (tally.ran.into_inner(), tally.parsed.into_inner());
    // Cases that do not parse exercise only the parser: most must run.
    assert!(ran > 0, "the budget ran out before the first case");
    assert!(
        parsed * 2 >= ran,
        "only {parsed} of {ran} definitions parsed"
    );
}

/// The seeds in tests/engine/fuzz_corpus.txt (`SEED CASES  # why`), each replayed for its
/// number of cases with no time budget, so a seed that once found a bug keeps being run.
#[test]
fn the_regression_corpus_still_passes() {
    let corpus = include_str!("fuzz_corpus.txt");
    let mut replayed = 0;
    for line in corpus.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split_whitespace();
        let seed: u64 = fields.next().and_then(|s| s.parse().ok()).expect("a seed");
        let cases: u32 = fields
            .next()
            .and_then(|s| s.parse().ok())
            .expect("a case count");
        let tally = fuzz(seed, cases, None);
        assert_eq!(tally.ran.into_inner(), cases as usize, "seed {seed}");
        replayed += 1;
    }
    assert!(replayed > 0, "the corpus is empty");
}

/// A loop that never ends is ended by the engine at the history limit (25,000 events, as
/// Step Functions), and the harness's bound for such cases lets it get there: the check on
/// the history's length is reachable.
#[test]
fn a_loop_that_never_ends_meets_the_history_limit() {
    let definition =
        json!({"StartAt": "Spin", "States": {"Spin": {"Type": "Pass", "Next": "Spin"}}});
    let definition = Definition::parse(&definition).unwrap_or_else(|p| panic!("{p:?}"));
    let run = run_bounded_to(definition, json!({}), FULL_HISTORY_EVENTS);
    let result = run.result.as_ref().expect("the engine ends it");
    assert_eq!(result.status, ExecutionStatus::Failed);
    assert_eq!(result.error.as_deref(), Some("States.Runtime"));
    assert_eq!(result.history.len() as u64, MAX_HISTORY_EVENTS);
    check_execution(&run).unwrap_or_else(|e| panic!("{e}"));
}

// A Pass loop whose Parameters copy its whole input twice doubles its data every turn: the
// engine's 256 KiB limit ends it, as AWS does, long before the harness's byte bound.
#[test]
fn a_loop_that_doubles_its_data_is_cut_short() {
    let definition = json!({"StartAt": "Double", "States": {"Double": {"Type": "Pass",
        "Parameters": {"left.$": "$", "right.$": "$"}, "Next": "Double"}}});
    let definition = Definition::parse(&definition).unwrap_or_else(|p| panic!("{p:?}"));
    let run = run_bounded(definition, json!({"seed": "x".repeat(1000)}));
    // Checked first: were the engine's payload limit gone, the byte bound would stop the run
    // and this check, on the events it recorded, would name the oversized one.
    check_execution(&run).unwrap_or_else(|e| panic!("{e}"));
    let result = run.result.expect("the engine ends it, not the byte bound");
    assert_eq!(result.error.as_deref(), Some("States.DataLimitExceeded"));
    assert!(
        run.largest_details < MAX_DETAIL_BYTES,
        "{}",
        run.largest_details
    );
}

// A loop that wraps its data four levels deeper every turn: the engine's nesting bound ends
// it long before the event bound, on the test's own thread.
#[test]
fn a_loop_that_nests_its_data_deeper_is_cut_short() {
    let definition = json!({"StartAt": "Wrap", "States": {"Wrap": {"Type": "Pass",
        "Parameters": {"a": {"b": {"c": {"d.$": "$"}}}}, "Next": "Wrap"}}});
    let definition = Definition::parse(&definition).unwrap_or_else(|p| panic!("{p:?}"));
    let run = run_bounded(definition, json!({"deep": nested(100)}));
    let result = run.result.expect("the engine ends it, not the byte bound");
    assert_eq!(result.error.as_deref(), Some("States.Runtime"));
    let cause = result.cause.unwrap_or_default();
    assert!(
        cause.contains(&format!("nested deeper than {MAX_NESTING_DEPTH} levels")),
        "{cause}"
    );
    assert!(result.history.len() < MAX_EVENTS);
}
