//! Names that explain themselves across boundaries: no two folders of src/ (common, ports,
//! asl, migration, local, statemachine, lambda, cli) declare a visible type (`pub` or
//! `pub(...)` struct, enum, trait or type alias) of the same name. A reader meeting
//! `Outcome` in a signature should not have to look up which of two it is. Within one folder
//! the module path tells them apart (cli's `asl::RunArgs` and `aws::RunArgs`).

use std::collections::BTreeMap;

use super::source::{code_only, sources};

/// The visible type names each file declares, with the line of each.
fn declared_types(code: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    for (number, line) in code.lines().enumerate() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(visibility) = words.first() else {
            continue;
        };
        if !visibility.starts_with("pub") {
            continue;
        }
        let kind = words
            .iter()
            .position(|w| matches!(*w, "struct" | "enum" | "trait" | "type"));
        let Some(name) = kind.and_then(|k| words.get(k + 1)) else {
            continue;
        };
        let name: String = name
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.starts_with(|c: char| c.is_ascii_uppercase()) {
            found.push((name, number + 1));
        }
    }
    found
}

/// Each type name declared in more than one folder, with every `src/path:line` declaring it.
fn shared_across_folders(files: &[(String, String)]) -> BTreeMap<String, Vec<String>> {
    let mut by_name: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (path, text) in files {
        let folder = path.split_once('/').map_or("", |(folder, _)| folder);
        for (name, line) in declared_types(&code_only(text)) {
            by_name
                .entry(name)
                .or_default()
                .push((folder.to_string(), format!("src/{path}:{line}")));
        }
    }
    by_name
        .into_iter()
        .filter(|(_, places)| places.iter().any(|(folder, _)| *folder != places[0].0))
        .map(|(name, places)| (name, places.into_iter().map(|(_, at)| at).collect()))
        .collect()
}

#[test]
fn no_two_folders_declare_a_type_of_the_same_name() {
    let shared = shared_across_folders(&sources());
    let lines: Vec<String> = shared
        .iter()
        .map(|(name, places)| format!("{name}: {}", places.join(", ")))
        .collect();
    assert!(
        lines.is_empty(),
        "types of one name in two folders; give each a name that says which it is (CommandOutcome, WaitProgress, TaskObserver, InputRefused):\n{}",
        lines.join("\n")
    );
}

#[test]
fn the_check_catches_a_shared_name_and_allows_one_within_a_folder() {
    let files = vec![
        (
            "cli/a.rs".to_string(),
            "pub enum Outcome { A }\n".to_string(),
        ),
        (
            "asl/b.rs".to_string(),
            "// pub enum Printer\npub(super) struct Outcome<'a> { x: &'a str }\n".to_string(),
        ),
        ("cli/c.rs".to_string(), "pub struct Printer;\n".to_string()),
        ("cli/d.rs".to_string(), "pub struct Printer;\n".to_string()),
    ];
    let shared = shared_across_folders(&files);
    assert_eq!(shared.keys().collect::<Vec<_>>(), ["Outcome"]);
    assert_eq!(shared["Outcome"], ["src/cli/a.rs:1", "src/asl/b.rs:2"]);
}
