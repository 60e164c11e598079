//! The parsed definition as the executor reads it: machines, states and what each state
//! type holds. Parsing lives in the sibling modules; nothing here reads JSON.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::asl::choice::ChoiceRule;
use crate::asl::intrinsics::Intrinsic;
use crate::asl::jsonata::{AtaIo, AtaTemplate};
use crate::asl::path::Path;
use crate::asl::retry::{Catcher, Retrier};
use crate::asl::template::{Assign, Template};

/// A `StartAt` + `States` block: the top level, a Parallel branch or a Map's processor.
#[derive(Debug, Clone)]
pub(crate) struct Machine {
    pub(crate) start_at: String,
    pub(crate) states: Vec<State>,
    /// State name -> position in `states`.
    pub(super) index: HashMap<String, usize>,
}

impl Machine {
    pub(super) fn new(start_at: String, states: Vec<State>) -> Self {
        let index = states
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.to_string(), i))
            .collect();
        Self {
            start_at,
            states,
            index,
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&State> {
        self.index.get(name).and_then(|&i| self.states.get(i))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct State {
    /// Shared with the history events that name the state.
    pub(crate) name: Arc<str>,
    pub(crate) input_path: IoPath,
    pub(crate) output_path: IoPath,
    /// `Some(name)` for Next, `None` for End (or a state that never transitions).
    pub(crate) next: Option<String>,
    pub(crate) assign: Option<Assign>,
    /// Whether the state's query language is JSONata (its own or the machine's).
    pub(crate) jsonata: bool,
    /// A JSONata state's Output and Assign.
    pub(crate) ata: AtaIo,
    pub(crate) kind: StateKind,
}

/// `InputPath` / `OutputPath`: absent means `$`, `null` means `{}`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum IoPath {
    Whole,
    Empty,
    Path(Path),
}

/// `ResultPath`: absent means `$` (the result replaces the input), `null` discards the result.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ResultPathSpec {
    Replace,
    Discard,
    Path(Path),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seconds {
    Fixed(u64),
    Path(Path),
    Expr(AtaTemplate),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WaitFor {
    Seconds(u64),
    SecondsPath(Path),
    Timestamp(DateTime<Utc>),
    TimestampPath(Path),
    SecondsExpr(AtaTemplate),
    TimestampExpr(AtaTemplate),
}

/// Fail's Error/Cause: literal, path or intrinsic.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Text {
    Literal(String),
    Path(Path),
    Call(Intrinsic),
    Expr(AtaTemplate),
}

/// What a Task, Parallel or Map state does with its result and its errors: the part the
/// executor's one retry/catch loop runs for all three.
#[derive(Debug, Clone)]
pub(crate) struct ResultHandling {
    pub(crate) result_selector: Option<Template>,
    pub(crate) result_path: ResultPathSpec,
    pub(crate) retry: Vec<Retrier>,
    pub(crate) catch: Vec<Catcher>,
}

#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub(crate) resource: String,
    pub(crate) parameters: Option<Template>,
    /// A JSONata state's Arguments.
    pub(crate) arguments: Option<AtaTemplate>,
    pub(crate) handling: ResultHandling,
    pub(crate) timeout: Option<Seconds>,
    pub(crate) heartbeat: Option<Seconds>,
}

#[derive(Debug, Clone)]
pub(crate) struct Parallel {
    pub(crate) branches: Vec<Machine>,
    pub(crate) parameters: Option<Template>,
    pub(crate) arguments: Option<AtaTemplate>,
    pub(crate) handling: ResultHandling,
}

/// A number of items or a percentage, given literally or by a path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Amount {
    Fixed(f64),
    Path(Path),
    Expr(AtaTemplate),
}

#[derive(Debug, Clone)]
pub(crate) struct MapState {
    pub(crate) processor: Machine,
    pub(crate) items_path: Option<Path>,
    pub(crate) item_selector: Option<Template>,
    /// A JSONata Map's Items (an array or an expression) and ItemSelector.
    pub(crate) items: Option<AtaTemplate>,
    pub(crate) ata_selector: Option<AtaTemplate>,
    pub(crate) handling: ResultHandling,
    pub(crate) max_concurrency: Option<Amount>,
    pub(crate) tolerated_percentage: Option<Amount>,
    pub(crate) tolerated_count: Option<Amount>,
    /// Distributed-map features this engine cannot run (ItemReader, ItemBatcher, ResultWriter).
    pub(crate) unsupported: Vec<String>,
}

#[derive(Debug, Clone)]
pub(crate) enum StateKind {
    Pass {
        parameters: Option<Template>,
        result: Option<Value>,
        result_path: ResultPathSpec,
    },
    Task(Box<Task>),
    Choice {
        choices: Vec<ChoiceRule>,
        default: Option<String>,
    },
    Wait(WaitFor),
    Succeed,
    Fail {
        error: Option<Text>,
        cause: Option<Text>,
    },
    Parallel(Box<Parallel>),
    Map(Box<MapState>),
}

impl StateKind {
    /// The result and error handling of a task-like state; `None` for the others.
    pub(crate) fn result_handling(&self) -> Option<&ResultHandling> {
        match self {
            StateKind::Task(t) => Some(&t.handling),
            StateKind::Parallel(p) => Some(&p.handling),
            StateKind::Map(m) => Some(&m.handling),
            _ => None,
        }
    }
}
