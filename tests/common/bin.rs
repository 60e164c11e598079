//! The `ecs-migrate` binary under test, pinned for the whole test binary.
//!
//! Cargo leaves the built command at `target/debug/ecs-migrate` (CARGO_BIN_EXE_ecs-migrate), a
//! hard link to `deps/ecs_migrate-HASH`. Worktrees that share one CARGO_TARGET_DIR write both
//! paths (the hash depends on the path relative to the workspace, not on the worktree), so
//! another build can swap the file at any time. The first call links the file under a name of
//! our own (no copy: same inode), checks it is the command these tests expect (failing, not
//! skipping, when another build got there first), and every test runs that link.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub fn ecs_migrate() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let built = Path::new(env!("CARGO_BIN_EXE_ecs-migrate"));
        // One directory per worktree (the target dir may be shared), one link per process.
        let worktree: String = env!("CARGO_MANIFEST_DIR")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("ecs-migrate-bin")
            .join(worktree);
        std::fs::create_dir_all(&dir).expect("create the binary link directory");
        // Links left by earlier runs (their processes are gone).
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let pinned = dir.join(format!("ecs-migrate-{}", std::process::id()));
        if std::fs::hard_link(built, &pinned).is_err() {
            std::fs::copy(built, &pinned).expect("copy the ecs-migrate binary");
        }
        let help = Command::new(&pinned)
            .args(["start", "--help"])
            .output()
            .expect("run ecs-migrate start --help");
        assert!(
            String::from_utf8_lossy(&help.stdout).contains("--state-machine-arn"),
            "{} is not this worktree's build (another build sharing CARGO_TARGET_DIR replaced it between cargo's build and these tests); run the tests again",
            built.display()
        );
        pinned
    })
}
