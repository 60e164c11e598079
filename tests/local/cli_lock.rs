//! `ecs-migrate lock status|release --lock-dir DIR`: `ecs-migrate local`'s lock files, as a
//! user inspects and clears them. A local run's task is another process's, so its lease (which
//! the run renews every poll round) stands for it: release refuses while the lease lasts.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use ecs_migrate::ports::lock::{Expected, FileLockTable, LockItem, LockTable};
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(60);

struct LockDir(PathBuf);

impl LockDir {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "ecs-migrate-cli-lock-{name}-{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        Self(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 temporary path")
    }
}

impl Drop for LockDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs the binary to its end (bounded by `LIMIT`), with no AWS settings in its environment.
fn lock_cli(args: &[&str]) -> Run {
    let began = Instant::now();
    let mut child = Command::new(Path::new(env!("CARGO_BIN_EXE_ecs-migrate")))
        .arg("lock")
        .args(args)
        .env_remove("AWS_ENDPOINT_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ecs-migrate");
    loop {
        if child.try_wait().expect("wait for ecs-migrate").is_some() {
            break;
        }
        if began.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("ecs-migrate lock {args:?} did not finish within {LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = child.wait_with_output().expect("ecs-migrate's output");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A local run's lock item, its lease ending `lease_seconds` from now (negative: ended).
fn local_item(scope: &str, lease_seconds: i64) -> LockItem {
    let now = Utc::now();
    LockItem {
        scope: scope.into(),
        holder: "arn:aws:states:local:000000000000:execution:ecs-migrate-local:demo-1".into(),
        execution_name: Some("demo-1".into()),
        client_token: "token".into(),
        taskdef_arn: "arn:aws:ecs:local:000000000000:task-definition/demo:1".into(),
        family: "demo".into(),
        revision: 1,
        cluster: "local".into(),
        started_by: "ecs-migrate/demo-1".into(),
        task_arn: Some(
            "arn:aws:ecs:local:000000000000:task/local/0123456789abcdef0123456789abcdef".into(),
        ),
        since: now - chrono::Duration::minutes(2),
        lease_until: now + chrono::Duration::seconds(lease_seconds),
    }
}

#[tokio::test]
async fn release_refuses_during_the_lease_and_force_releases() {
    let dir = LockDir::new("lease");
    let table = FileLockTable::new(&dir.0);
    let held = local_item("demo", 600);
    assert!(table.put(&held, Expected::Free).await.unwrap());

    let out = lock_cli(&["status", "--lock-dir", dir.path(), "--scope", "demo"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    for needle in [
        "scope demo: held",
        "execution  demo-1 (arn:aws:states:local:000000000000:execution:ecs-migrate-local:demo-1)",
        "migration  demo:1",
        "lease      until ",
        "a local run's task: not visible from here",
    ] {
        assert!(out.stdout.contains(needle), "{needle}: {out:?}");
    }

    let out = lock_cli(&["release", "--lock-dir", dir.path(), "--scope", "demo"]);
    assert_eq!(out.code, Some(1), "refused during the lease: {out:?}");
    assert!(out.stderr.contains("its lease lasts until"), "{out:?}");
    assert!(out.stderr.contains("--force"), "{out:?}");
    assert_eq!(
        table.get("demo").await.unwrap().map(|i| i.holder),
        Some(held.holder.clone())
    );

    let out = lock_cli(&[
        "release",
        "--lock-dir",
        dir.path(),
        "--scope",
        "demo",
        "--force",
    ]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout
            .contains("scope demo: released the lock held by execution demo-1"),
        "{out:?}"
    );
    assert!(
        out.stdout.contains("warning: its lease had not ended"),
        "{out:?}"
    );
    assert_eq!(table.get("demo").await.unwrap(), None);
}

#[tokio::test]
async fn an_ended_lease_is_released_and_a_free_scope_says_so() {
    let dir = LockDir::new("ended");
    let table = FileLockTable::new(&dir.0);
    // A scope with characters a file name cannot hold.
    let scope = "shared/db:main";
    assert!(table
        .put(&local_item(scope, -30), Expected::Free)
        .await
        .unwrap());

    let out = lock_cli(&[
        "status",
        "--lock-dir",
        dir.path(),
        "--scope",
        scope,
        "--json",
    ]);
    assert_eq!(out.code, Some(0), "{out:?}");
    let status: Value = serde_json::from_str(&out.stdout).expect("one JSON object");
    assert_eq!(status["scope"], scope);
    assert_eq!(status["held"], true);
    assert_eq!(status["holder"]["leaseExpired"], true);
    assert_eq!(status["task"]["state"], "UNCHECKED");

    let out = lock_cli(&["release", "--lock-dir", dir.path(), "--scope", scope]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("its lease had ended"), "{out:?}");
    assert_eq!(table.get(scope).await.unwrap(), None);

    let out = lock_cli(&["status", "--lock-dir", dir.path(), "--scope", scope]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout.contains(&format!(
            "scope {scope}: free (no migration holds the lock in lock directory {})",
            dir.path()
        )),
        "{out:?}"
    );
    let out = lock_cli(&["release", "--lock-dir", dir.path(), "--scope", scope]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("nothing to release"), "{out:?}");
}

#[test]
fn aws_flags_without_a_table_and_an_empty_scope_are_usage_errors() {
    let out = lock_cli(&["status", "--scope", "demo", "--region", "eu-west-1"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("pass --table NAME"), "{out:?}");
    let out = lock_cli(&["status", "--scope", " ", "--lock-dir", "/nonexistent"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("--scope is empty"), "{out:?}");
}

#[tokio::test]
async fn an_unreadable_lock_file_fails_with_exit_1() {
    let dir = LockDir::new("unreadable");
    std::fs::create_dir_all(&dir.0).unwrap();
    std::fs::write(dir.0.join("demo.json"), "{not a lock").unwrap();
    let out = lock_cli(&["status", "--lock-dir", dir.path(), "--scope", "demo"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(out.stderr.contains("is not a lock item"), "{out:?}");
}
