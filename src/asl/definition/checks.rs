//! Static checks over a parsed machine: every state reachable from StartAt.

use std::collections::{HashSet, VecDeque};

use serde_json::{Map, Value};

use super::model::{Machine, State, StateKind};
use crate::asl::problem::{Problems, Ptr};

/// Reports every state that no path of transitions from StartAt reaches.
pub(super) fn check_reachability(
    m: &Machine,
    states_ptr: &Ptr,
    states_obj: &Map<String, Value>,
    problems: &mut Problems,
) {
    // States that failed to parse still count as present; skip the check for them.
    if m.states.len() != states_obj.len() {
        return;
    }
    let mut reached: HashSet<&str> = HashSet::new();
    let mut queue: VecDeque<&str> = VecDeque::from([m.start_at.as_str()]);
    while let Some(name) = queue.pop_front() {
        if !reached.insert(name) {
            continue;
        }
        let Some(state) = m.get(name) else { continue };
        for t in transitions(state) {
            queue.push_back(t);
        }
    }
    for s in &m.states {
        if !reached.contains(&*s.name) {
            problems.add(
                &states_ptr.key(&s.name),
                format!("state \"{}\" is not reachable from StartAt", s.name),
            );
        }
    }
}

/// Every state a state can go to (Next, Choices, Default, Catch).
pub(super) fn transitions(state: &State) -> Vec<&str> {
    let mut out: Vec<&str> = state.next.iter().map(String::as_str).collect();
    match &state.kind {
        StateKind::Choice { choices, default } => {
            out.extend(choices.iter().map(|c| c.next.as_str()));
            out.extend(default.iter().map(String::as_str));
        }
        kind => {
            if let Some(handling) = kind.result_handling() {
                out.extend(handling.catch.iter().map(|c| c.next.as_str()));
            }
        }
    }
    out
}
