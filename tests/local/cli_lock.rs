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
    // A run that ended: its runner and its task's group are gone.
    put_local(&dir, &local_item(scope, -30), NO_PROCESS, NO_PROCESS).await;

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

/// A pid no process has: Linux's pid_max is at most 2^22.
const NO_PROCESS: u32 = 2_147_483_000;

/// Writes `item` as a local run's lock file that records its runner pid and its task's process
/// group, as `ecs-migrate local` does.
async fn put_local(dir: &LockDir, item: &LockItem, runner_pid: u32, task_pgid: u32) {
    let table = FileLockTable::new(&dir.0);
    assert!(table.put(item, Expected::Free).await.unwrap());
    let name: String = item
        .scope
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let file = dir.0.join(format!("{name}.json"));
    let mut stored: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    stored["local"] = serde_json::json!({"runner_pid": runner_pid, "task_pgid": task_pgid});
    std::fs::write(&file, serde_json::to_vec(&stored).unwrap()).unwrap();
}

/// A suspended local run renews nothing, so its lease ends while its task's process group may
/// still run: release refuses while that group has a process (naming it, and how to resume or
/// end it) unless --force, and releases once the group is gone.
#[tokio::test]
async fn release_refuses_while_a_suspended_runs_task_group_lives() {
    use std::os::unix::process::CommandExt;
    let dir = LockDir::new("suspended");
    let table = FileLockTable::new(&dir.0);
    // The task: a process group of its own, as the local runner starts it.
    let mut task = Command::new("sleep")
        .arg("120")
        .process_group(0)
        .spawn()
        .expect("start sleep");
    let pgid = task.id();
    // A runner that is gone: the group alone must refuse.
    let runner = NO_PROCESS;
    put_local(&dir, &local_item("demo", -30), runner, pgid).await;
    let release = ["release", "--lock-dir", dir.path(), "--scope", "demo"];

    let out = lock_cli(&["status", "--lock-dir", dir.path(), "--scope", "demo"]);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("still runs"), "{out:?}");
    assert!(
        out.stdout.contains(&format!("process group {pgid}")),
        "{out:?}"
    );

    let out = lock_cli(&release);
    assert_eq!(out.code, Some(1), "refused while the group lives: {out:?}");
    for needle in [
        format!("process group {pgid}"),
        format!("kill -CONT {runner}"),
        format!("kill -TERM -- -{pgid}"),
        "--force".to_string(),
    ] {
        assert!(out.stderr.contains(&needle), "{needle}: {out:?}");
    }
    assert!(table.get("demo").await.unwrap().is_some(), "kept");

    let mut forced = release.to_vec();
    forced.push("--force");
    let out = lock_cli(&forced);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(
        out.stdout
            .contains("warning: its local run's processes still live"),
        "{out:?}"
    );
    assert_eq!(table.get("demo").await.unwrap(), None);

    // Once the group is gone, the ended lease is released without --force.
    put_local(&dir, &local_item("demo", -30), runner, pgid).await;
    task.kill().unwrap();
    task.wait().unwrap();
    let out = lock_cli(&release);
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("its lease had ended"), "{out:?}");
    assert_eq!(table.get("demo").await.unwrap(), None);
}
