//! The lock table in a directory, for `ecs-migrate local`: one JSON file per scope, each write
//! made under an exclusive flock(2) of the scope's `.guard` file, so two processes on one
//! machine see each other's writes as DynamoDB's conditional writes would be seen. A call that
//! leaves no item removes the guard file too, so a finished run leaves the directory empty.
//! Reads take no flock and create nothing: items are replaced whole by a rename, so a reader
//! sees the old item or the new one (`lock status` writes nothing).
//!
//! A local holder is a process on this machine, and its task a process group: the item also
//! records the runner's pid and, once its task runs, the task's process group. A suspended
//! runner (Ctrl-Z, SIGSTOP) renews nothing, so its lease ends while its task may still run;
//! a takeover is refused while that group has a process left (see `still_running`).

// The crate denies unsafe code (Cargo.toml [lints]); flock(2) is a libc call.
#![allow(unsafe_code)]

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{put_allowed, to_millis, Expected, LockError, LockItem, LockTable};

/// The variable that names the lock directory when `--lock-dir` is not given.
pub const LOCK_DIR_VARIABLE: &str = "ECS_MIGRATE_LOCK_DIR";

/// The most a lock file may hold: an item is well under 4 KiB, so anything larger is not one
/// and is refused unread (a 500 MB file in the lock directory must not be read whole).
pub(crate) const MAX_LOCK_FILE_BYTES: u64 = 64 * 1024;

/// How long a call waits for another process's flock of the scope (held for a read and a
/// write, milliseconds) before failing as busy.
const GUARD_WAIT: Duration = Duration::from_secs(10);
const GUARD_FIRST_PAUSE: Duration = Duration::from_millis(2);
const GUARD_MAX_PAUSE: Duration = Duration::from_millis(200);

/// The process group of one of this runner's tasks, by task ARN, while it has one.
pub type TaskGroupLookup = Arc<dyn Fn(&str) -> Option<i32> + Send + Sync>;

/// The lock files of one machine (`--lock-dir`, by default under the user's state directory).
#[derive(Clone)]
pub struct FileLockTable {
    dir: PathBuf,
    /// The runner's tasks' process groups, recorded in the items this process holds.
    task_groups: Option<TaskGroupLookup>,
}

impl std::fmt::Debug for FileLockTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileLockTable")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// A lock file: the item, and the local processes of its holder.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    item: LockItem,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    local: Option<LocalHolder>,
}

/// The holder's processes on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct LocalHolder {
    /// The `ecs-migrate local` process that took the lock.
    runner_pid: i32,
    /// Its task's process group, once the task runs.
    #[serde(default)]
    task_pgid: Option<i32>,
}

impl LocalHolder {
    fn me() -> Self {
        Self {
            runner_pid: i32::try_from(std::process::id()).unwrap_or(0),
            task_pgid: None,
        }
    }
}

/// Why a holder whose lease ended may not be taken over yet: its task's process group (or,
/// before the task's group was recorded, its runner) still has a process. A suspended runner
/// renews nothing, but its task runs on.
fn still_running(local: &LocalHolder) -> Option<String> {
    let me = i32::try_from(std::process::id()).unwrap_or(0);
    match local.task_pgid {
        Some(pgid) if group_lives(pgid) => Some(format!(
            "its task's process group {pgid} (runner pid {}) still has processes: the runner is suspended (Ctrl-Z, SIGSTOP) or hung, and its migration may still run. Resume it (`kill -CONT {}`, or `fg` in its terminal) or end it (`kill -TERM -- -{pgid}; kill -TERM {}`), then run again",
            local.runner_pid, local.runner_pid, local.runner_pid
        )),
        Some(_) => None,
        None if local.runner_pid != me && process_lives(local.runner_pid) => Some(format!(
            "its runner (pid {}) still lives and had not yet recorded its task's process group: it is suspended (Ctrl-Z, SIGSTOP) or hung. Resume it (`kill -CONT {}`, or `fg` in its terminal) or end it (`kill -TERM {}`), then run again",
            local.runner_pid, local.runner_pid, local.runner_pid
        )),
        None => None,
    }
}

/// Whether group `pgid` has a process (a zombie not yet reaped counts: a suspended runner has
/// not reaped its task).
fn group_lives(pgid: i32) -> bool {
    if pgid <= 1 {
        return false;
    }
    // SAFETY: killpg with signal 0 only checks for the group; it touches no memory.
    let rc = unsafe { libc::killpg(pgid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn process_lives(pid: i32) -> bool {
    if pid <= 1 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks for the process; it touches no memory.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Holds the scope's flock until dropped (closing the file releases it).
struct Guard {
    _file: File,
    /// The guard file's path, and the item file's.
    path: PathBuf,
    item: PathBuf,
}

impl Drop for Guard {
    fn drop(&mut self) {
        // No item left: remove the guard file while its flock is still held. A process already
        // waiting on it finds, once it gets the flock, that the path no longer names the file
        // it locked, and starts over (see `guard`).
        if !self.item.exists() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Whether `path` still names the open `file` (same device and inode).
fn still_names(path: &Path, file: &File) -> bool {
    match (fs::metadata(path), file.metadata()) {
        (Ok(named), Ok(open)) => named.dev() == open.dev() && named.ino() == open.ino(),
        _ => false,
    }
}

impl FileLockTable {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            task_groups: None,
        }
    }

    /// Records, in the items this process holds, the process group of their task as `lookup`
    /// finds it (the local runner's), so another run can tell whether that task still runs.
    pub(crate) fn with_task_groups(mut self, lookup: TaskGroupLookup) -> Self {
        self.task_groups = Some(lookup);
        self
    }

    /// Why the scope's holder may not be taken over although its lease ended (see
    /// `still_running`); `None` when it may, or when the scope is free.
    pub(crate) fn suspended_holder(&self, scope: &str) -> Result<Option<String>, LockError> {
        Ok(self
            .read_stored(scope)?
            .and_then(|stored| stored.local)
            .and_then(|local| still_running(&local)))
    }

    /// The default directory: `$ECS_MIGRATE_LOCK_DIR`, else `$XDG_STATE_HOME/ecs-migrate/locks`,
    /// else `$HOME/.local/state/ecs-migrate/locks`, else under the system's temporary directory.
    pub(crate) fn default_dir(lookup: impl Fn(&str) -> Option<String>) -> PathBuf {
        if let Some(dir) = lookup(LOCK_DIR_VARIABLE).filter(|v| !v.is_empty()) {
            return PathBuf::from(dir);
        }
        let state = lookup("XDG_STATE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                lookup("HOME")
                    .filter(|v| !v.is_empty())
                    .map(|home| Path::new(&home).join(".local/state"))
            })
            .unwrap_or_else(std::env::temp_dir);
        state.join("ecs-migrate").join("locks")
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The item's file: the scope with every character outside `[A-Za-z0-9._-]` written as
    /// `%XX`, so any scope maps to one file name and no two scopes to the same.
    fn path(&self, scope: &str, extension: &str) -> PathBuf {
        let mut name = String::with_capacity(scope.len());
        for byte in scope.bytes() {
            match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' => name.push(byte as char),
                _ => name.push_str(&format!("%{byte:02X}")),
            }
        }
        self.dir.join(format!("{name}.{extension}"))
    }

    /// Takes the scope's flock without blocking the thread: a busy flock is tried again with
    /// a growing pause, up to [`GUARD_WAIT`] (a blocking flock(2) would hold a runtime thread,
    /// and with it every task on it, for as long as another process keeps the file locked).
    async fn guard(&self, scope: &str) -> Result<Guard, LockError> {
        fs::create_dir_all(&self.dir).map_err(|e| io_error(&self.dir, e))?;
        let path = self.path(scope, "guard");
        let started = std::time::Instant::now();
        let mut pause = GUARD_FIRST_PAUSE;
        loop {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| io_error(&path, e))?;
            // SAFETY: flock on a descriptor this function owns; LOCK_NB never blocks.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc != 0 {
                let err = std::io::Error::last_os_error();
                if err.kind() != ErrorKind::WouldBlock {
                    return Err(io_error(&path, err));
                }
                if started.elapsed() >= GUARD_WAIT {
                    return Err(LockError {
                        message: format!(
                            "lock file {} stayed locked by another process for {} s; try again, or find the process holding it (`fuser {}`)",
                            path.display(),
                            GUARD_WAIT.as_secs(),
                            path.display()
                        ),
                        transient: true,
                    });
                }
                drop(file);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(GUARD_MAX_PAUSE);
                continue;
            }
            // The holder before us may have removed the file we waited on: lock the one the
            // path names now, so every caller locks the same file.
            if still_names(&path, &file) {
                return Ok(Guard {
                    _file: file,
                    path,
                    item: self.path(scope, "json"),
                });
            }
        }
    }

    fn read(&self, scope: &str) -> Result<Option<LockItem>, LockError> {
        Ok(self.read_stored(scope)?.map(|stored| stored.item))
    }

    /// The scope's lock file, read only if it is no larger than [`MAX_LOCK_FILE_BYTES`].
    fn read_stored(&self, scope: &str) -> Result<Option<Stored>, LockError> {
        let path = self.path(scope, "json");
        let file = match File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(&path, e)),
        };
        let mut bytes = Vec::new();
        file.take(MAX_LOCK_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| io_error(&path, e))?;
        if bytes.len() as u64 > MAX_LOCK_FILE_BYTES {
            return Err(LockError {
                message: format!(
                    "lock file {} is larger than {MAX_LOCK_FILE_BYTES} bytes, so it is not a lock item (not read); remove it if no migration runs",
                    path.display()
                ),
                transient: false,
            });
        }
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| LockError {
                message: format!(
                    "lock file {} is not a lock item ({e}); remove it if no migration runs",
                    path.display()
                ),
                transient: false,
            })
    }

    /// Writes the item whole, through a temporary file and a rename, so a reader never sees half.
    fn write(&self, stored: &Stored) -> Result<(), LockError> {
        let path = self.path(&stored.item.scope, "json");
        let temporary = self.path(&stored.item.scope, "json.tmp");
        let text = serde_json::to_vec_pretty(stored).map_err(|e| LockError {
            message: format!("encoding the lock item: {e}"),
            transient: false,
        })?;
        fs::write(&temporary, text).map_err(|e| io_error(&temporary, e))?;
        fs::rename(&temporary, &path).map_err(|e| io_error(&path, e))
    }
}

fn io_error(path: &Path, err: std::io::Error) -> LockError {
    LockError {
        message: format!("lock file {}: {err}", path.display()),
        transient: false,
    }
}

#[async_trait]
impl LockTable for FileLockTable {
    /// Under the scope's guard: a lock file that cannot be read as a lock item is removed.
    async fn delete_unreadable(&self, scope: &str) -> Result<Option<String>, LockError> {
        let _guard = self.guard(scope).await?;
        let Err(problem) = self.read(scope) else {
            return Ok(None);
        };
        let path = self.path(scope, "json");
        fs::remove_file(&path).map_err(|e| io_error(&path, e))?;
        Ok(Some(format!(
            "lock file {} ({})",
            path.display(),
            problem.message
        )))
    }

    /// Read without the flock: see the module's documentation.
    async fn get(&self, scope: &str) -> Result<Option<LockItem>, LockError> {
        self.read(scope)
    }

    async fn put(&self, item: &LockItem, expected: Expected<'_>) -> Result<bool, LockError> {
        let _guard = self.guard(&item.scope).await?;
        let current = self.read_stored(&item.scope)?;
        if !put_allowed(current.as_ref().map(|c| &c.item), item, expected) {
            return Ok(false);
        }
        // An expired lease whose task still runs is not taken over (the taker waits, and
        // fails with Migration.Locked when its wait ends).
        if let Some(reason) = current
            .and_then(|c| c.local)
            .and_then(|local| still_running(&local))
        {
            tracing::warn!(scope = %item.scope, "not taking over the lock: {reason}");
            return Ok(false);
        }
        self.write(&Stored {
            item: item.in_millis(),
            local: Some(LocalHolder::me()),
        })?;
        Ok(true)
    }

    async fn renew(
        &self,
        scope: &str,
        holder: &str,
        lease_until: DateTime<Utc>,
        task_arn: Option<&str>,
    ) -> Result<bool, LockError> {
        let _guard = self.guard(scope).await?;
        let Some(mut stored) = self.read_stored(scope)?.filter(|s| s.item.holder == holder) else {
            return Ok(false);
        };
        stored.item.lease_until = to_millis(lease_until);
        if let Some(arn) = task_arn {
            stored.item.task_arn = Some(arn.to_string());
        }
        self.record_task_group(&mut stored);
        self.write(&stored)?;
        Ok(true)
    }

    async fn release(&self, scope: &str, holder: &str) -> Result<bool, LockError> {
        let _guard = self.guard(scope).await?;
        if self.read(scope)?.is_none_or(|i| i.holder != holder) {
            return Ok(false);
        }
        let path = self.path(scope, "json");
        fs::remove_file(&path).map_err(|e| io_error(&path, e))?;
        Ok(true)
    }
}

impl FileLockTable {
    /// Notes the process group of the item's task, once this runner's task has one.
    fn record_task_group(&self, stored: &mut Stored) {
        let (Some(lookup), Some(arn)) = (&self.task_groups, &stored.item.task_arn) else {
            return;
        };
        let Some(pgid) = lookup(arn) else {
            return;
        };
        let local = stored.local.get_or_insert_with(LocalHolder::me);
        local.task_pgid = Some(pgid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(scope: &str, holder: &str, lease_until: i64) -> LockItem {
        let t = |s| DateTime::from_timestamp(s, 0).unwrap();
        LockItem {
            scope: scope.into(),
            holder: holder.into(),
            execution_name: Some("run-1".into()),
            client_token: "token".into(),
            taskdef_arn: "local:app:1".into(),
            family: "app".into(),
            revision: 1,
            cluster: "local".into(),
            started_by: "ecs-migrate/run-1".into(),
            task_arn: None,
            since: t(1_000),
            lease_until: t(lease_until),
        }
    }

    #[tokio::test]
    async fn two_tables_on_one_directory_see_one_lock() {
        let dir =
            std::env::temp_dir().join(format!("ecs-migrate-lock-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let (a, b) = (FileLockTable::new(&dir), FileLockTable::new(&dir));
        let now = |s| DateTime::from_timestamp(s, 0).unwrap();
        // A scope with characters a file name cannot hold still gets its own file.
        let scope = "shared/db:main";
        assert!(a
            .put(&item(scope, "x", 2_000), Expected::Free)
            .await
            .unwrap());
        assert!(!b
            .put(&item(scope, "y", 3_000), Expected::Free)
            .await
            .unwrap());
        assert_eq!(b.get(scope).await.unwrap().unwrap().holder, "x");
        assert!(b.get("shared_db_main").await.unwrap().is_none());
        assert!(a
            .renew(scope, "x", now(2_500), Some("task-1"))
            .await
            .unwrap());
        let takeover = Expected::Expired {
            holder: "x",
            now: now(2_400),
        };
        assert!(!b.put(&item(scope, "y", 3_000), takeover).await.unwrap());
        let takeover = Expected::Expired {
            holder: "x",
            now: now(2_600),
        };
        assert!(b.put(&item(scope, "y", 3_000), takeover).await.unwrap());
        assert!(!a.release(scope, "x").await.unwrap());
        assert!(b.release(scope, "y").await.unwrap());
        assert_eq!(a.get(scope).await.unwrap(), None);
        // Released (and read while free): no lock file and no guard file is left behind.
        let left: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(left.is_empty(), "{left:?}");
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Guard files come and go while other callers wait on them: still one holder at a time.
    #[test]
    fn removed_guard_files_keep_one_holder_at_a_time() {
        let dir =
            std::env::temp_dir().join(format!("ecs-migrate-lock-race-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let holders = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|n| {
                let table = FileLockTable::new(&dir);
                let holders = holders.clone();
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_time()
                        .build()
                        .unwrap();
                    let me = format!("holder-{n}");
                    for _ in 0..200 {
                        let taken = runtime
                            .block_on(table.put(&item("race", &me, 2_000), Expected::Free))
                            .unwrap();
                        if taken {
                            let before = holders.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            assert_eq!(before, 0, "two holders at once");
                            holders.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                            assert!(runtime.block_on(table.release("race", &me)).unwrap());
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let left: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(left.is_empty(), "{left:?}");
        fs::remove_dir_all(&dir).unwrap();
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "ecs-migrate-lock-{name}-{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    /// A 500 MB lock file (sparse: it costs no disk) is refused unread, with the size said.
    #[tokio::test]
    async fn an_oversized_lock_file_is_refused_unread() {
        let dir = scratch("huge");
        fs::create_dir_all(&dir).unwrap();
        let table = FileLockTable::new(&dir);
        let file = File::create(table.path("app", "json")).unwrap();
        file.set_len(500 * 1024 * 1024).unwrap();
        let err = table.get("app").await.unwrap_err();
        assert!(
            err.message.contains("is larger than 65536 bytes"),
            "{}",
            err.message
        );
        assert!(!err.transient);
        let err = table
            .put(&item("app", "x", 2_000), Expected::Free)
            .await
            .unwrap_err();
        assert!(err.message.contains("larger than"), "{}", err.message);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// Reading (`lock status`) creates neither the directory nor a guard file.
    #[tokio::test]
    async fn reads_write_nothing() {
        let dir = scratch("read-only");
        let table = FileLockTable::new(&dir);
        assert_eq!(table.get("app").await.unwrap(), None);
        assert!(!dir.exists(), "reading created {}", dir.display());
        fs::create_dir_all(&dir).unwrap();
        let stored = Stored {
            item: item("app", "x", 2_000),
            local: None,
        };
        fs::write(
            table.path("app", "json"),
            serde_json::to_vec(&stored).unwrap(),
        )
        .unwrap();
        assert_eq!(table.get("app").await.unwrap().unwrap().holder, "x");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("app.json")]);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// While another process holds the scope's flock, a write waits without blocking its
    /// thread: on a single-threaded runtime another task still runs (here, the one that lets
    /// the flock go). A blocking flock(2) would hang this test.
    #[test]
    fn a_busy_flock_does_not_block_the_runtime_thread() {
        let dir = scratch("busy");
        fs::create_dir_all(&dir).unwrap();
        let table = FileLockTable::new(&dir);
        let other = File::create(table.path("app", "guard")).unwrap();
        // SAFETY: flock on a descriptor this test owns.
        assert_eq!(unsafe { libc::flock(other.as_raw_fd(), libc::LOCK_EX) }, 0);
        let (done, finished) = std::sync::mpsc::channel();
        let worker_dir = dir.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap();
            let table = FileLockTable::new(&worker_dir);
            let taken = runtime.block_on(async {
                let mine = item("app", "x", 2_000);
                let write = table.put(&mine, Expected::Free);
                let free_it = async {
                    tokio::task::yield_now().await;
                    drop(other);
                };
                let (taken, ()) = tokio::join!(write, free_it);
                taken
            });
            let _ = done.send(taken);
        });
        let taken = finished
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the write blocked the runtime's only thread");
        assert_eq!(taken, Ok(true));
        fs::remove_dir_all(&dir).unwrap();
    }

    /// An expired lease is not taken over while its task's process group (or, with no group
    /// recorded, its runner) lives; it is once they are gone.
    #[tokio::test]
    async fn an_expired_lease_waits_for_its_local_processes() {
        use std::os::unix::process::CommandExt;
        let dir = scratch("local-holder");
        fs::create_dir_all(&dir).unwrap();
        let table = FileLockTable::new(&dir);
        let mut task = std::process::Command::new("sleep")
            .arg("60")
            .process_group(0)
            .spawn()
            .unwrap();
        let pid = i32::try_from(task.id()).unwrap();
        let now = DateTime::from_timestamp(3_000, 0).unwrap();
        let takeover = Expected::Expired { holder: "x", now };
        for local in [
            LocalHolder {
                runner_pid: 1,
                task_pgid: Some(pid),
            },
            LocalHolder {
                runner_pid: pid,
                task_pgid: None,
            },
        ] {
            let stored = Stored {
                item: item("app", "x", 2_000),
                local: Some(local),
            };
            fs::write(
                table.path("app", "json"),
                serde_json::to_vec(&stored).unwrap(),
            )
            .unwrap();
            let reason = table.suspended_holder("app").unwrap().expect("a reason");
            assert!(reason.contains(&pid.to_string()), "{reason}");
            assert!(!table.put(&item("app", "y", 4_000), takeover).await.unwrap());
            assert_eq!(table.get("app").await.unwrap().unwrap().holder, "x");
        }
        task.kill().unwrap();
        task.wait().unwrap();
        assert_eq!(table.suspended_holder("app").unwrap(), None);
        assert!(table.put(&item("app", "y", 4_000), takeover).await.unwrap());
        let taken: Stored =
            serde_json::from_slice(&fs::read(table.path("app", "json")).unwrap()).unwrap();
        assert_eq!(
            taken.local.map(|l| l.runner_pid),
            Some(i32::try_from(std::process::id()).unwrap())
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_default_directory_follows_xdg_then_home() {
        let dir = FileLockTable::default_dir(|k| (k == "XDG_STATE_HOME").then(|| "/s".into()));
        assert_eq!(dir, PathBuf::from("/s/ecs-migrate/locks"));
        let dir = FileLockTable::default_dir(|k| (k == "HOME").then(|| "/h".into()));
        assert_eq!(dir, PathBuf::from("/h/.local/state/ecs-migrate/locks"));
        let dir = FileLockTable::default_dir(|k| match k {
            "ECS_MIGRATE_LOCK_DIR" => Some("/l".into()),
            _ => Some("/other".into()),
        });
        assert_eq!(dir, PathBuf::from("/l"));
    }
}
