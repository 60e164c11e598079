//! The source layout and its layering, as a newcomer reads them (docs/contributing.md): one
//! folder per role under src/, only lib.rs at its root, and a fixed table of which folder may
//! import which. A new arrow is a design decision: make it here, on purpose, not in passing.
//!
//! The checks read the source text (comments and literals blanked, tests/static/source.rs), so
//! they need no build of their own and fail with the file and the line that crossed a boundary.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use super::source::{code_only, sources};

/// Each folder of src/ and the folders it may import (`crate::FOLDER`). Read top to bottom, it is
/// the order of the layers: a folder imports only folders above it.
const ALLOWED: &[(&str, &[&str])] = &[
    // Errors, the clock, files, digests: what everything shares and nothing of the crate.
    ("common", &[]),
    // The outside systems (ECS, logs, deployments, the lock table) and their adapters.
    ("ports", &["common"]),
    // The embedded Amazon States Language engine: no I/O, no AWS, only the clock.
    ("asl", &["common"]),
    // The migration's inputs, state data and steps: plain functions over the ports.
    ("migration", &["common", "ports"]),
    // The local runner: the ECS and log ports on one machine (it reads task definition files
    // the way validate-event reads task definition references).
    ("local", &["common", "ports", "migration"]),
    // The definition's contract: binds the steps to the Task states of the engine or of AWS.
    ("statemachine", &["common", "ports", "asl", "migration"]),
    // The Lambda functions' composition root.
    ("lambda", &["common", "ports", "migration", "statemachine"]),
    // The command: everything but the Lambda wiring.
    (
        "cli",
        &[
            "common",
            "ports",
            "asl",
            "migration",
            "local",
            "statemachine",
        ],
    ),
];

/// Files that may name an AWS SDK crate: the SDK adapters and the two composition roots.
fn may_name_the_sdk(relative: &str) -> bool {
    relative.starts_with("lambda/")
        || relative.starts_with("cli/")
        || relative == "ports/sdk.rs"
        || (relative.starts_with("ports/") && relative.ends_with("/sdk.rs"))
}

const SDK_CRATES: [&str; 3] = ["aws_sdk_", "aws_config", "aws_smithy_"];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every file of src/ with its comments and literals blanked, so only code is read.
fn code_of_src() -> Vec<(String, String)> {
    sources()
        .into_iter()
        .map(|(path, text)| (path, code_only(&text)))
        .collect()
}

/// The crate's top-level modules a text names: `crate::x`, and each `x` of `crate::{x::.., y}`.
/// With the line of each, for the message.
fn crate_imports(text: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    for (start, _) in text.match_indices("crate::") {
        let line = text[..start].matches('\n').count() + 1;
        // `ecs_migrate::` or another crate ending in "crate" is not ours.
        if text[..start]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            continue;
        }
        let rest = &text[start + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = matching_brace(group);
            for item in split_top_level(&group[..end]) {
                if let Some(name) = leading_ident(item.trim()) {
                    found.push((name, line));
                }
            }
        } else if let Some(name) = leading_ident(rest) {
            found.push((name, line));
        }
    }
    found
}

fn matching_brace(text: &str) -> usize {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return i,
            '}' => depth -= 1,
            _ => {}
        }
    }
    text.len()
}

fn split_top_level(text: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut depth, mut from) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(&text[from..i]);
                from = i + 1;
            }
            _ => {}
        }
    }
    items.push(&text[from..]);
    items
}

fn leading_ident(text: &str) -> Option<String> {
    let ident: String = text
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!ident.is_empty()).then_some(ident)
}

fn folder_of(relative: &str) -> Option<&str> {
    relative.split_once('/').map(|(folder, _)| folder)
}

fn allowed() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    ALLOWED
        .iter()
        .map(|(folder, imports)| (*folder, imports.iter().copied().collect()))
        .collect()
}

/// The boundary violations in `files`: one line each, naming the file, the line and the rule.
fn layering_violations(files: &[(String, String)]) -> Vec<String> {
    let table = allowed();
    let mut violations = Vec::new();
    for (relative, text) in files {
        let Some(folder) = folder_of(relative) else {
            continue;
        };
        if folder == "bin" {
            continue;
        }
        let Some(may_import) = table.get(folder) else {
            violations.push(format!(
                "src/{relative}: folder {folder}/ is not in the layering table (tests/static/layering.rs ALLOWED): add it there with the folders it may import"
            ));
            continue;
        };
        for (name, line) in crate_imports(text) {
            if name == folder || !table.contains_key(name.as_str()) {
                // Within the folder, or a re-export of lib.rs (MigrationError, StateError).
                continue;
            }
            if !may_import.contains(name.as_str()) {
                violations.push(format!(
                    "src/{relative}:{line}: {folder}/ may not import crate::{name} (it may import {may_import:?}); move the shared code down a layer, or change the table on purpose"
                ));
            }
        }
        if !may_name_the_sdk(relative) {
            for (number, text_line) in text.lines().enumerate() {
                if let Some(sdk) = SDK_CRATES.iter().find(|sdk| text_line.contains(*sdk)) {
                    violations.push(format!(
                        "src/{relative}:{}: names {sdk}*: only the ports' sdk.rs adapters, lambda/ and cli/ may talk to the SDK",
                        number + 1
                    ));
                }
            }
        }
    }
    violations
}

/// The steps of migration/steps/ that a step file names (`super::x`, `steps::x`), other than
/// itself and the folder's mod.rs.
fn step_violations(files: &[(String, String)]) -> Vec<String> {
    let steps: BTreeSet<String> = files
        .iter()
        .filter_map(|(relative, _)| relative.strip_prefix("migration/steps/"))
        .filter(|file| *file != "mod.rs")
        .map(|file| file.trim_end_matches(".rs").to_string())
        .collect();
    let mut violations = Vec::new();
    for (relative, text) in files {
        let Some(file) = relative.strip_prefix("migration/steps/") else {
            continue;
        };
        let this = file.trim_end_matches(".rs");
        for step in &steps {
            if step == this {
                continue;
            }
            for pattern in [format!("super::{step}"), format!("steps::{step}")] {
                if let Some(at) = text.find(&pattern) {
                    let line = text[..at].matches('\n').count() + 1;
                    violations.push(format!(
                        "src/{relative}:{line}: the step {this} imports the step {step}: what steps share belongs in src/migration/ (tasks, lease, log_tail, ...)"
                    ));
                }
            }
        }
    }
    violations
}

#[test]
fn only_lib_rs_at_the_root_of_src() {
    let loose: Vec<String> = fs::read_dir(src_dir())
        .expect("read src/")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_file())
        .filter_map(|path| path.file_name()?.to_str().map(String::from))
        .filter(|name| name != "lib.rs")
        .collect();
    assert!(
        loose.is_empty(),
        "src/{loose:?}: every module lives in the folder of its role (common, ports, migration, statemachine, lambda, asl, local, cli, bin); only lib.rs sits at the root"
    );
}

#[test]
fn every_folder_of_src_is_in_the_table() {
    let table = allowed();
    for entry in fs::read_dir(src_dir()).expect("read src/") {
        let path = entry.expect("a directory entry").path();
        if !path.is_dir() {
            continue;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        assert!(
            name == "bin" || table.contains_key(name),
            "src/{name}/ is not in the layering table (tests/static/layering.rs ALLOWED)"
        );
    }
}

#[test]
fn the_table_has_no_cycle() {
    // Each folder imports only folders listed before it, so no chain of imports can come back.
    let mut seen = BTreeSet::new();
    for (folder, imports) in ALLOWED {
        for import in *imports {
            assert!(
                seen.contains(import),
                "{folder} imports {import}, which is not a layer below it: the table would allow a cycle"
            );
        }
        seen.insert(*folder);
    }
}

#[test]
fn imports_follow_the_table_and_only_adapters_name_the_sdk() {
    let violations = layering_violations(&code_of_src());
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

#[test]
fn no_step_imports_another_step() {
    let violations = step_violations(&code_of_src());
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

/// The checks themselves: a forbidden arrow, a grouped import, an SDK name in the domain and a
/// step reaching into another are each caught, and comments do not count.
#[test]
fn the_checks_catch_what_they_forbid() {
    let files = |path: &str, text: &str| vec![(path.to_string(), code_only(text))];
    assert_eq!(
        layering_violations(&files(
            "ports/ecs/mod.rs",
            "use crate::migration::settings::Settings;\n"
        ))
        .len(),
        1
    );
    let grouped = layering_violations(&files(
        "common/clock.rs",
        "use crate::{common::x, ports::AwsError};\n",
    ));
    assert_eq!(grouped.len(), 1, "{grouped:?}");
    assert!(grouped[0].contains("crate::ports"), "{grouped:?}");
    assert_eq!(
        layering_violations(&files(
            "migration/steps/run_task.rs",
            "fn f(c: aws_sdk_ecs::Client) {}\n"
        ))
        .len(),
        1
    );
    assert!(layering_violations(&files(
        "ports/ecs/mod.rs",
        "//! crate::migration and aws_sdk_ecs, in a comment\nlet s = \"// not a comment\";\n"
    ))
    .is_empty());
    assert!(
        layering_violations(&files("ports/ecs/sdk.rs", "use aws_sdk_ecs::types;\n")).is_empty()
    );
    let steps = vec![
        (
            "migration/steps/lock.rs".to_string(),
            "use super::stop_task::list;\n".to_string(),
        ),
        ("migration/steps/stop_task.rs".to_string(), String::new()),
    ];
    assert_eq!(step_violations(&steps).len(), 1);
}
