//! Engine throughput: state transitions per second on a loop of a Pass state running
//! `States.MathAdd` and a Choice state, N times. Prints one JSON line; `benches/engine.sh`
//! runs it beside moto's and aws-local-stepfunctions' interpreters.
//!
//! `cargo bench --bench engine -- 5000 [--without-history]`: without history the engine keeps
//! no events (as `ecs-migrate asl run` without `--history`, and as aws-local-stepfunctions).
//!
//! `cargo bench --bench engine -- 100000 --map [--without-history]`: a Map state over N items
//! (a Pass state per iteration), which measures the Map bookkeeping per iteration.
//!
//! `cargo bench --bench engine -- 5000 --jsonata [--without-history]`: the same loop written
//! in JSONata (`Output` adds one, `Condition` compares), against the JSONPath loop's figure.

use std::sync::Arc;
use std::time::Instant;

use ecs_migrate::asl::{Definition, EventType, Executor, Limits, SeededRandom, UnboundInvoker};
use ecs_migrate::common::clock::VirtualClock;
use serde_json::json;

fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5000);
    let map = std::env::args().any(|a| a == "--map");
    let jsonata = std::env::args().any(|a| a == "--jsonata");
    let source = if map {
        map_definition()
    } else if jsonata {
        jsonata_loop_definition(n)
    } else {
        loop_definition(n)
    };
    let definition = match Definition::parse(&source) {
        Ok(d) => d,
        Err(problems) => {
            eprintln!("engine bench: bad definition: {problems:?}");
            std::process::exit(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("engine bench: no runtime: {e}");
            std::process::exit(2);
        }
    };
    let keep_history = !std::env::args().any(|a| a == "--without-history");
    let clock = Arc::new(VirtualClock::starting_at(chrono::Utc::now()));
    let mut executor = Executor::new(definition, Arc::new(UnboundInvoker), clock)
        .with_execution_name("bench")
        .with_random(Arc::new(SeededRandom::new(1)));
    if !keep_history {
        executor = executor.without_history();
    }
    if map {
        // 100,000 items are over AWS's 256 KiB input and 25,000 events: this case measures
        // the Map's bookkeeping, not the quotas.
        let executor = executor.with_limits(Limits::none());
        run_map(&runtime, &executor, n, keep_history);
        return;
    }
    // The peers have no history quota, and a loop of N over 12,499 passes 25,000 events: it is
    // measured without that quota, with the payload quota still checked on every state (its
    // cost is part of the figure).
    let executor = executor.with_limits(Limits {
        history_events: None,
        ..Limits::aws()
    });
    let start = Instant::now();
    let result = runtime.block_on(executor.run_to_completion(json!({"i": 0})));
    let seconds = start.elapsed().as_secs_f64();
    // Increment and Done? n times each, then Finish.
    let transitions = 2 * n + 1;
    assert_eq!(result.output, Some(json!({"i": n})), "{:?}", result.error);
    if keep_history {
        let entered = result
            .history
            .iter()
            .filter(|e| e.event_type.as_str().ends_with("StateEntered"))
            .count();
        assert_eq!(entered as u64, transitions);
        assert_eq!(
            result.history.last().map(|e| e.event_type),
            Some(EventType::ExecutionSucceeded)
        );
    }
    let events = result.history.len();
    println!(
        "{}",
        json!({
            "engine": match (jsonata, keep_history) {
                (false, true) => "ecs-migrate",
                (false, false) => "ecs-migrate (no history)",
                (true, true) => "ecs-migrate jsonata",
                (true, false) => "ecs-migrate jsonata (no history)",
            },
            "n": n,
            "status": result.status.as_str(),
            "output": result.output,
            "transitions": transitions,
            "events": events,
            "seconds": seconds,
            "transitions_per_second": transitions as f64 / seconds,
        })
    );
}

/// Runs the Map over `n` items and prints its JSON line.
fn run_map(runtime: &tokio::runtime::Runtime, executor: &Executor, n: u64, keep_history: bool) {
    let items: Vec<u64> = (0..n).collect();
    let start = Instant::now();
    let result = runtime.block_on(executor.run_to_completion(json!({ "items": items })));
    let seconds = start.elapsed().as_secs_f64();
    let length = result
        .output
        .as_ref()
        .and_then(|o| o.as_array())
        .map(Vec::len);
    assert_eq!(
        length,
        Some(n as usize),
        "{:?} {:?}",
        result.error,
        result.cause
    );
    println!(
        "{}",
        json!({
            "engine": if keep_history { "ecs-migrate map" } else { "ecs-migrate map (no history)" },
            "n": n,
            "status": result.status.as_str(),
            "events": result.history.len(),
            "seconds": seconds,
            "iterations_per_second": n as f64 / seconds,
        })
    );
}

/// A Map over `$.items` whose iterations each run one Pass state.
fn map_definition() -> serde_json::Value {
    json!({
        "StartAt": "Each",
        "States": {
            "Each": {"Type": "Map", "ItemsPath": "$.items", "End": true,
                     "ItemProcessor": {"StartAt": "Echo",
                                       "States": {"Echo": {"Type": "Pass", "End": true}}}}
        }
    })
}

/// The same definition `engine_moto.py` and `engine_als.mjs` run.
fn loop_definition(n: u64) -> serde_json::Value {
    json!({
        "Comment": "Benchmark loop: Pass (States.MathAdd) -> Choice, n times",
        "StartAt": "Increment",
        "States": {
            "Increment": {"Type": "Pass", "Parameters": {"i.$": "States.MathAdd($.i, 1)"}, "Next": "Done?"},
            "Done?": {"Type": "Choice",
                      "Choices": [{"Variable": "$.i", "NumericLessThan": n, "Next": "Increment"}],
                      "Default": "Finish"},
            "Finish": {"Type": "Succeed"}
        }
    })
}

/// The loop of [`loop_definition`] in JSONata: the same states, transitions and output.
fn jsonata_loop_definition(n: u64) -> serde_json::Value {
    json!({
        "Comment": "Benchmark loop in JSONata: Pass (Output adds one) -> Choice, n times",
        "QueryLanguage": "JSONata",
        "StartAt": "Increment",
        "States": {
            "Increment": {"Type": "Pass", "Output": {"i": "{% $states.input.i + 1 %}"}, "Next": "Done?"},
            "Done?": {"Type": "Choice",
                      "Choices": [{"Condition": format!("{{% $states.input.i < {n} %}}"), "Next": "Increment"}],
                      "Default": "Finish"},
            "Finish": {"Type": "Succeed"}
        }
    })
}
