//! The docs stay true to the code: docs/reference/cli.md is every subcommand's `--help` as the
//! real binary prints it, docs/troubleshooting.md has a section for every error name a step can
//! report, and every relative link in README.md, docs/ and terraform/README.md resolves to a
//! file (and, into a Markdown file, to a heading or an `<a name>` anchor).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use ecs_migrate::ErrorKind;

use crate::process;

const CLI_REFERENCE: &str = "docs/reference/cli.md";
/// Set to 1 to rewrite docs/reference/cli.md from the binary instead of comparing.
const WRITE_VARIABLE: &str = "ECS_MIGRATE_WRITE_DOCS";
const REGENERATE: &str = "ECS_MIGRATE_WRITE_DOCS=1 cargo test --test static cli_reference";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `ecs-migrate ARGS... --help` as the binary prints it.
fn help(path: &[&str]) -> String {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ecs-migrate"));
    cmd.args(path).arg("--help");
    let output = process::finish(process::spawn(cmd));
    assert_eq!(output.code, 0, "ecs-migrate {path:?} --help: {output:?}");
    output.stdout
}

/// The subcommands a help text lists under "Commands:", without clap's own `help`.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|line| line.trim() != "Commands:")
        .skip(1)
        .take_while(|line| line.starts_with("  "))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(String::from)
        .collect()
}

/// One section per command, depth first, each its `--help` in a text block.
fn cli_reference() -> String {
    let mut out = format!(
        "# CLI reference\n\n\
         Every command's `--help`, as the binary prints it. Generated: a test \
         (`tests/static/docs.rs`) keeps this file equal to the binary's output; after changing a \
         flag, regenerate it with `{REGENERATE}`.\n"
    );
    let mut pending: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(path) = pending.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let text = help(&args);
        let title = std::iter::once("ecs-migrate")
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        out.push_str(&format!("\n## {title}\n\n```text\n{text}```\n"));
        for name in subcommands(&text).into_iter().rev() {
            let mut child = path.clone();
            child.push(name);
            pending.push(child);
        }
    }
    out
}

/// The lines that differ between two texts, after their common first and last lines.
fn diff(old: &str, new: &str) -> String {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let mut out = format!("@@ line {} @@\n", prefix + 1);
    for line in &old[prefix..old.len() - suffix] {
        out.push_str(&format!("-{line}\n"));
    }
    for line in &new[prefix..new.len() - suffix] {
        out.push_str(&format!("+{line}\n"));
    }
    out
}

#[test]
fn cli_reference_is_the_help_of_every_command() {
    let generated = cli_reference();
    let path = repo().join(CLI_REFERENCE);
    if std::env::var(WRITE_VARIABLE).is_ok_and(|v| v == "1") {
        fs::write(&path, &generated).unwrap_or_else(|e| panic!("write {CLI_REFERENCE}: {e}"));
    }
    let written = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        written == generated,
        "{CLI_REFERENCE} differs from the binary's --help output:\n{}\nregenerate it with: {REGENERATE}",
        diff(&written, &generated)
    );
}

#[test]
fn the_cli_reference_covers_the_nested_commands() {
    // The generator walks "Commands:" lists; this pins that it found the nested ones.
    let generated = cli_reference();
    for title in [
        "## ecs-migrate local\n",
        "## ecs-migrate asl run\n",
        "## ecs-migrate asl graph\n",
        "## ecs-migrate run\n",
        "## ecs-migrate lock release\n",
    ] {
        assert!(generated.contains(title), "no section {title:?}");
    }
}

#[test]
fn troubleshooting_has_a_section_for_every_error_name() {
    let text = fs::read_to_string(repo().join("docs/troubleshooting.md")).unwrap();
    let headings: BTreeSet<&str> = text
        .lines()
        .filter_map(|line| line.strip_prefix("### "))
        .collect();
    let missing: Vec<&str> = ErrorKind::ALL
        .iter()
        .map(|kind| kind.name())
        .filter(|name| !headings.contains(name))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/troubleshooting.md has no `### NAME` section for {missing:?}"
    );
}

/// The Markdown files whose links are checked.
fn markdown_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|ext| ext == "md") {
                out.push(path);
            }
        }
    }
    let mut files = vec![repo().join("README.md"), repo().join("terraform/README.md")];
    walk(&repo().join("docs"), &mut files);
    files.sort();
    files
}

/// The lines of a Markdown file outside fenced code blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut fenced = false;
    let mut lines = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced {
            lines.push(line);
        }
    }
    lines
}

/// The targets of the inline links `[text](target)` in the prose.
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    for line in prose(text) {
        let mut rest = line;
        while let Some(start) = rest.find("](") {
            let after = &rest[start + 2..];
            let Some(end) = after.find(')') else { break };
            targets.push(after[..end].trim().to_string());
            rest = &after[end..];
        }
    }
    targets
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors a Markdown file defines: its headings' slugs and its `<a name="...">` tags.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in prose(text) {
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') {
            out.insert(slug(trimmed.trim_start_matches('#')));
        }
        let mut rest = line;
        while let Some(start) = rest.find("<a name=\"") {
            let after = &rest[start + 9..];
            let Some(end) = after.find('"') else { break };
            out.insert(after[..end].to_string());
            rest = &after[end..];
        }
    }
    out
}

#[test]
fn every_relative_link_resolves() {
    let mut broken = Vec::new();
    let mut checked = 0;
    for file in markdown_files() {
        let text = fs::read_to_string(&file).unwrap();
        let dir = file.parent().expect("a file's directory");
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            checked += 1;
            let (path, anchor) = match target.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (target.as_str(), None),
            };
            let resolved = if path.is_empty() {
                file.clone()
            } else {
                dir.join(path)
            };
            let name = file.strip_prefix(repo()).unwrap_or(&file).display();
            if !resolved.exists() {
                broken.push(format!("{name}: {target} (no such file)"));
                continue;
            }
            let Some(anchor) = anchor else { continue };
            if resolved.extension().is_some_and(|ext| ext == "md") {
                let linked = fs::read_to_string(&resolved).unwrap();
                if !anchors(&linked).contains(anchor) {
                    broken.push(format!("{name}: {target} (no such heading)"));
                }
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} links found: the scan is broken"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_link_check_finds_a_broken_link_and_anchor() {
    let text = "# A title\n\nSee [here](#a-title), [there](#nowhere) and [x](y.md).\n\
                ```\n[not](a-link.md)\n```\n";
    assert_eq!(link_targets(text), ["#a-title", "#nowhere", "y.md"]);
    let anchors = anchors(text);
    assert!(anchors.contains("a-title"));
    assert!(!anchors.contains("nowhere"));
    assert_eq!(
        slug("Migration.HookNotAwaiting"),
        "migrationhooknotawaiting"
    );
    assert_eq!(slug("1. Build the functions"), "1-build-the-functions");
    assert_eq!(slug("`ecs-migrate run`"), "ecs-migrate-run");
}
