//! The `ecs-migrate` binary under test, pinned for the whole test binary.
//!
//! Cargo leaves the built command at `target/debug/ecs-migrate` (CARGO_BIN_EXE_ecs-migrate), a
//! hard link to this build's own `deps/ecs_migrate-HASH`. Worktrees that share one
//! CARGO_TARGET_DIR all write that same path, so another build can swap it at any time. So the
//! first call finds this worktree's own `deps/ecs_migrate-HASH` (its dep-info names this
//! worktree's `src/bin/ecs-migrate.rs`), newest first, checks it is the command these tests
//! expect, and links it under a name of our own (no copy: same inode) that every test runs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::SystemTime;

fn is_the_command(path: &Path) -> bool {
    Command::new(path)
        .args(["start", "--help"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).contains("--state-machine-arn"))
        .unwrap_or(false)
}

/// This worktree's `deps/ecs_migrate-HASH` executables, newest first.
fn own_builds() -> Vec<PathBuf> {
    let Some(deps) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    else {
        return Vec::new();
    };
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bin/ecs-migrate.rs");
    let source = source.to_string_lossy().into_owned();
    let mut found: Vec<(SystemTime, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(&deps).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if !(name.starts_with("ecs_migrate-") && name.ends_with(".d")) {
            continue;
        }
        let executable = path.with_extension("");
        let Ok(meta) = std::fs::metadata(&executable) else {
            continue;
        };
        let ours = std::fs::read_to_string(&path).is_ok_and(|d| d.contains(&source));
        if ours && meta.is_file() {
            found.push((
                meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                executable,
            ));
        }
    }
    found.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
    found.into_iter().map(|(_, p)| p).collect()
}

pub fn ecs_migrate() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let uplifted = PathBuf::from(env!("CARGO_BIN_EXE_ecs-migrate"));
        let built = own_builds()
            .into_iter()
            .find(|p| is_the_command(p))
            .or_else(|| is_the_command(&uplifted).then(|| uplifted.clone()))
            .unwrap_or_else(|| {
                panic!(
                    "no ecs-migrate build of {} with `start --state-machine-arn` (is {} another worktree's build?); run the tests again",
                    env!("CARGO_MANIFEST_DIR"),
                    uplifted.display()
                )
            });
        // One directory per worktree (the target dir may be shared), one link per process.
        let worktree: String = env!("CARGO_MANIFEST_DIR")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("ecs-migrate-bin")
            .join(worktree);
        std::fs::create_dir_all(&dir).expect("create the binary link directory");
        // Links left by earlier runs (test binaries run one at a time).
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let _ = std::fs::remove_file(entry.path());
        }
        let pinned = dir.join(format!("ecs-migrate-{}", std::process::id()));
        if std::fs::hard_link(&built, &pinned).is_err() {
            std::fs::copy(&built, &pinned).expect("copy the ecs-migrate binary");
        }
        pinned
    })
}
