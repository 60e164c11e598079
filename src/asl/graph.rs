//! A Mermaid `flowchart TD` of a definition: Next, Default and Choices edges, Catch edges
//! (dotted, labelled with their error names), Start/End/Fail terminals, Parallel branches and
//! Map processors as subgraphs.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::choice::describe;
use super::definition::{Definition, Machine, State, StateKind};

/// Renders the definition as Mermaid.
pub fn mermaid(def: &Definition) -> String {
    let mut g = Graph::default();
    g.line(0, "flowchart TD");
    g.machine(&def.root, "root", 1);
    g.out
}

#[derive(Default)]
struct Graph {
    out: String,
    ids: HashMap<String, String>,
    next_id: usize,
}

fn label(text: &str) -> String {
    let escaped = text.replace('"', "#quot;").replace('\n', " ");
    let mut s: String = escaped.chars().take(80).collect();
    if escaped.chars().count() > 80 {
        s.push('…');
    }
    s
}

impl Graph {
    fn line(&mut self, indent: usize, text: &str) {
        let _ = writeln!(self.out, "{}{}", "    ".repeat(indent), text);
    }

    fn id(&mut self, name: &str) -> String {
        if let Some(id) = self.ids.get(name) {
            return id.clone();
        }
        let id = format!("n{}", self.next_id);
        self.next_id += 1;
        self.ids.insert(name.to_string(), id.clone());
        id
    }

    /// Draws one StartAt/States block; `scope` keeps its terminal node ids unique.
    fn machine(&mut self, m: &Machine, scope: &str, indent: usize) {
        let start = format!("{scope}_start");
        let end = format!("{scope}_end");
        let fail = format!("{scope}_fail");
        let (start_label, end_label) = if scope == "root" {
            ("Start", "End")
        } else {
            ("start", "end")
        };
        self.line(indent, &format!("{start}(({start_label}))"));
        let first = self.id(&m.start_at);
        self.line(indent, &format!("{start} --> {first}"));
        let mut uses_end = false;
        let mut uses_fail = false;
        for s in &m.states {
            let id = self.id(&s.name);
            self.node(s, &id, indent);
            if let Some(n) = &s.next {
                let to = self.id(n);
                self.line(indent, &format!("{id} --> {to}"));
            }
            match &s.kind {
                StateKind::Choice { choices, default } => {
                    for c in choices {
                        let to = self.id(&c.next);
                        self.line(
                            indent,
                            &format!("{id} -->|\"{}\"| {to}", label(&describe(&c.rule))),
                        );
                    }
                    if let Some(d) = default {
                        let to = self.id(d);
                        self.line(indent, &format!("{id} -->|\"Default\"| {to}"));
                    }
                }
                StateKind::Succeed => {
                    uses_end = true;
                    self.line(indent, &format!("{id} --> {end}"));
                }
                StateKind::Fail { .. } => {
                    uses_fail = true;
                    self.line(indent, &format!("{id} --> {fail}"));
                }
                _ => {
                    if s.next.is_none() {
                        uses_end = true;
                        self.line(indent, &format!("{id} --> {end}"));
                    }
                }
            }
            let catchers = s.kind.result_handling().map_or(&[][..], |h| &h.catch[..]);
            for c in catchers {
                let to = self.id(&c.next);
                self.line(
                    indent,
                    &format!("{id} -.->|\"{}\"| {to}", label(&c.errors.join(", "))),
                );
            }
        }
        if uses_end {
            self.line(indent, &format!("{end}((({end_label})))"));
        }
        if uses_fail {
            self.line(indent, &format!("{fail}(((Fail)))"));
        }
    }

    /// The state's node: its shape says its type; Parallel and Map hold their machines.
    fn node(&mut self, s: &State, id: &str, indent: usize) {
        let name = label(&s.name);
        match &s.kind {
            StateKind::Parallel(p) => {
                self.line(indent, &format!("subgraph {id}[\"{name} (Parallel)\"]"));
                for (i, b) in p.branches.iter().enumerate() {
                    let bid = format!("{id}_b{i}");
                    self.line(indent + 1, &format!("subgraph {bid}[\"Branch {}\"]", i + 1));
                    self.machine(b, &bid, indent + 2);
                    self.line(indent + 1, "end");
                }
                self.line(indent, "end");
            }
            StateKind::Map(mp) => {
                self.line(indent, &format!("subgraph {id}[\"{name} (Map)\"]"));
                self.machine(&mp.processor, &format!("{id}_it"), indent + 1);
                self.line(indent, "end");
            }
            StateKind::Choice { .. } => self.line(indent, &format!("{id}{{\"{name}\"}}")),
            StateKind::Wait(_) => self.line(indent, &format!("{id}([\"{name} (Wait)\"])")),
            StateKind::Pass { .. } => self.line(indent, &format!("{id}(\"{name}\")")),
            StateKind::Succeed => self.line(indent, &format!("{id}([\"{name}\"])")),
            StateKind::Fail { .. } => self.line(indent, &format!("{id}[[\"{name}\"]]")),
            StateKind::Task(_) => self.line(indent, &format!("{id}[\"{name}\"]")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn draws_edges_terminals_and_subgraphs() {
        let def = Definition::parse(&json!({
            "StartAt": "Check",
            "States": {
                "Check": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": true, "Next": "Work"}], "Default": "Bad"},
                "Work": {"Type": "Parallel", "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}}}],
                         "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Bad"}], "Next": "Done"},
                "Done": {"Type": "Succeed"},
                "Bad": {"Type": "Fail", "Error": "E"}
            }
        }))
        .unwrap();
        let g = mermaid(&def);
        assert!(g.starts_with("flowchart TD\n"));
        assert!(g.contains("root_start((Start))"), "{g}");
        assert!(g.contains("-->|\"$.ok BooleanEquals true\"|"), "{g}");
        assert!(g.contains("-->|\"Default\"|"), "{g}");
        assert!(g.contains("-.->|\"States.ALL\"|"), "{g}");
        assert!(g.contains("(Parallel)\"]"), "{g}");
        assert!(g.contains("root_fail(((Fail)))"), "{g}");
        assert!(g.contains("root_end(((End)))"), "{g}");
        assert_eq!(
            g.matches("subgraph").count(),
            g.lines().filter(|l| l.trim() == "end").count()
        );
    }
}
