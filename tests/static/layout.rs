//! The test layout itself: one binary per layer. A `tests/*.rs` file would be a binary of its
//! own (linking the library and the AWS SDKs once more), and a file in a layer's directory that
//! its `main.rs` does not declare is never compiled, so its tests would be lost without a word.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// The `.rs` files directly in `dir`, by file name.
fn rust_files(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|ext| ext == "rs"))
        .filter_map(|path| path.file_name()?.to_str().map(String::from))
        .collect()
}

/// The directories of tests/ that cargo builds as test binaries (they hold a main.rs).
fn layer_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(tests_dir())
        .expect("read tests/")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.join("main.rs").is_file())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn no_test_file_is_a_binary_of_its_own() {
    let loose = rust_files(&tests_dir());
    assert!(
        loose.is_empty(),
        "tests/{loose:?} would each be a test binary of their own: move each into the directory \
         of its layer (git mv tests/x.rs tests/LAYER/x.rs) and declare it there (`mod x;` in \
         tests/LAYER/main.rs), with `mod common;` becoming `use crate::...` lines"
    );
}

#[test]
fn every_file_of_a_layer_is_compiled() {
    let layers = layer_dirs();
    assert!(!layers.is_empty(), "no test binaries found under tests/");
    let mut shared_includes = String::new();
    for dir in &layers {
        let main = fs::read_to_string(dir.join("main.rs")).expect("read main.rs");
        for file in rust_files(dir) {
            if file == "main.rs" {
                continue;
            }
            let module = file.trim_end_matches(".rs");
            assert!(
                main.lines().any(|line| {
                    let line = line.trim();
                    line == format!("mod {module};") || line == format!("pub mod {module};")
                }),
                "{}/{file} is never compiled: declare `mod {module};` in {}/main.rs",
                dir.display(),
                dir.display()
            );
        }
        shared_includes.push_str(&main);
    }
    for file in rust_files(&tests_dir().join("common")) {
        assert!(
            shared_includes.contains(&format!("#[path = \"../common/{file}\"]")),
            "tests/common/{file} is included by no test binary: include it with \
             #[path = \"../common/{file}\"] where it is used, or remove it"
        );
    }
}
