//! The lock table in a directory, for `ecs-migrate local`: one JSON file per scope, each call
//! made under an exclusive flock(2) of the scope's `.guard` file, so two processes on one
//! machine see each other's writes as DynamoDB's conditional writes would be seen. A call that
//! leaves no item removes the guard file too, so a finished run leaves the directory empty.

// The crate denies unsafe code (Cargo.toml [lints]); flock(2) is a libc call.
#![allow(unsafe_code)]

use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{put_allowed, to_millis, Expected, LockError, LockItem, LockTable};

/// The variable that names the lock directory when `--lock-dir` is not given.
pub const LOCK_DIR_VARIABLE: &str = "ECS_MIGRATE_LOCK_DIR";

/// The lock files of one machine (`--lock-dir`, by default under the user's state directory).
#[derive(Debug, Clone)]
pub struct FileLockTable {
    dir: PathBuf,
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
        Self { dir: dir.into() }
    }

    /// The default directory: `$ECS_MIGRATE_LOCK_DIR`, else `$XDG_STATE_HOME/ecs-migrate/locks`,
    /// else `$HOME/.local/state/ecs-migrate/locks`, else under the system's temporary directory.
    pub fn default_dir(lookup: impl Fn(&str) -> Option<String>) -> PathBuf {
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

    pub fn dir(&self) -> &Path {
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

    fn guard(&self, scope: &str) -> Result<Guard, LockError> {
        fs::create_dir_all(&self.dir).map_err(|e| io_error(&self.dir, e))?;
        let path = self.path(scope, "guard");
        loop {
            let file = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&path)
                .map_err(|e| io_error(&path, e))?;
            // SAFETY: flock on a descriptor this function owns; it blocks only while another
            // process is inside one of these short calls.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc != 0 {
                return Err(io_error(&path, std::io::Error::last_os_error()));
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
        let path = self.path(scope, "json");
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| LockError {
                    message: format!(
                        "lock file {} is not a lock item ({e}); remove it if no migration runs",
                        path.display()
                    ),
                    transient: false,
                }),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path, e)),
        }
    }

    /// Writes the item whole, through a temporary file and a rename, so a reader never sees half.
    fn write(&self, item: &LockItem) -> Result<(), LockError> {
        let path = self.path(&item.scope, "json");
        let temporary = self.path(&item.scope, "json.tmp");
        let text = serde_json::to_vec_pretty(item).map_err(|e| LockError {
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
        let _guard = self.guard(scope)?;
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

    async fn get(&self, scope: &str) -> Result<Option<LockItem>, LockError> {
        let _guard = self.guard(scope)?;
        self.read(scope)
    }

    async fn put(&self, item: &LockItem, expected: Expected<'_>) -> Result<bool, LockError> {
        let _guard = self.guard(&item.scope)?;
        if !put_allowed(self.read(&item.scope)?.as_ref(), expected) {
            return Ok(false);
        }
        let item = item.in_millis();
        self.write(&item)?;
        Ok(true)
    }

    async fn renew(
        &self,
        scope: &str,
        holder: &str,
        lease_until: DateTime<Utc>,
        task_arn: Option<&str>,
    ) -> Result<bool, LockError> {
        let _guard = self.guard(scope)?;
        let Some(mut item) = self.read(scope)?.filter(|i| i.holder == holder) else {
            return Ok(false);
        };
        item.lease_until = to_millis(lease_until);
        if let Some(arn) = task_arn {
            item.task_arn = Some(arn.to_string());
        }
        self.write(&item)?;
        Ok(true)
    }

    async fn release(&self, scope: &str, holder: &str) -> Result<bool, LockError> {
        let _guard = self.guard(scope)?;
        if self.read(scope)?.is_none_or(|i| i.holder != holder) {
            return Ok(false);
        }
        let path = self.path(scope, "json");
        fs::remove_file(&path).map_err(|e| io_error(&path, e))?;
        Ok(true)
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
