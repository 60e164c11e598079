//! The migration lock: one migration per lock scope at a time. A [`LockTable`] holds one item
//! per scope and changes it only by conditional writes, so the steps' protocol (take, renew,
//! take over an expired lease, release) is as strong as the table's conditions:
//!
//! - take: write the item if the scope has none;
//! - take over: write it if the scope's item is still the expired holder's (its lease ended
//!   before the taker's now), after the taker has made sure that holder's task is stopped;
//! - either write, repeated by the same holder with the same take time, succeeds again (a
//!   retry after an answer lost on the way back);
//! - renew (poll-status, run-task): move the lease on if the writer still holds the item;
//! - release: delete the item if the writer holds it.
//!
//! On AWS the table is DynamoDB ([`DynamoDbLockTable`]); `ecs-migrate local` keeps it in files ([`FileLockTable`]);
//! tests use [`MemoryLockTable`], with the same conditions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ports::AwsError;

mod file;
mod memory;
mod sdk;

pub use file::{FileLockTable, TaskGroupLookup, LOCK_DIR_VARIABLE};
pub use memory::{LockCall, LockFault, MemoryLockTable};
pub use sdk::{to_attributes, DynamoDbLockTable, PARTITION_KEY};

/// The item a scope's holder keeps in the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockItem {
    /// What is locked: `LOCK_SCOPE`, or the task definition family.
    pub scope: String,
    /// The execution holding the lock (its ARN; locally the local execution's ARN).
    pub holder: String,
    #[serde(default)]
    pub execution_name: Option<String>,
    /// The event's RunTask client token: another execution of the same event (EventBridge
    /// delivers at least once) carries the same one and is not blocked by this lock.
    pub client_token: String,
    pub taskdef_arn: String,
    pub family: String,
    pub revision: i32,
    pub cluster: String,
    /// The holder's `startedBy`: finds its task even if RunTask's answer was lost.
    pub started_by: String,
    /// The holder's task, once RunTask returned it.
    #[serde(default)]
    pub task_arn: Option<String>,
    /// When the holder took the lock.
    pub since: DateTime<Utc>,
    /// Until when the lock is the holder's without a renewal; after it another execution may
    /// take it over (after stopping the holder's task).
    pub lease_until: DateTime<Utc>,
}

impl LockItem {
    /// `family:revision`, as messages name the holder's migration.
    pub fn migration(&self) -> String {
        format!("{}:{}", self.family, self.revision)
    }

    pub(crate) fn expired_at(&self, now: DateTime<Utc>) -> bool {
        self.lease_until < now
    }

    /// The item with its times in whole milliseconds, as every table keeps them.
    pub(crate) fn in_millis(&self) -> LockItem {
        LockItem {
            since: to_millis(self.since),
            lease_until: to_millis(self.lease_until),
            ..self.clone()
        }
    }
}

/// What a conditional write of a whole item expects to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected<'a> {
    /// No item for the scope.
    Free,
    /// The item of `holder`, with a lease that ended before `now`.
    Expired { holder: &'a str, now: DateTime<Utc> },
}

/// A lock table call that failed (not a condition that did not hold: that is `Ok(false)`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LockError {
    pub message: String,
    /// Retrying later may succeed (throttling, a 5xx, a network failure, a busy lock file).
    pub transient: bool,
}

impl From<AwsError> for LockError {
    fn from(err: AwsError) -> Self {
        Self {
            message: err.to_string(),
            transient: err.transient,
        }
    }
}

/// The lock's storage: one item per scope, changed only under conditions.
#[async_trait]
pub trait LockTable: Send + Sync {
    /// The scope's item, as last written (strongly consistent).
    async fn get(&self, scope: &str) -> Result<Option<LockItem>, LockError>;
    /// Writes `item` if its scope's item is as `expected` says; `Ok(false)` if not.
    async fn put(&self, item: &LockItem, expected: Expected<'_>) -> Result<bool, LockError>;
    /// Sets the lease end (and the task, when given) if `holder` holds `scope`; `Ok(false)` if
    /// not (the lease expired and another execution took over, or the item is gone).
    async fn renew(
        &self,
        scope: &str,
        holder: &str,
        lease_until: DateTime<Utc>,
        task_arn: Option<&str>,
    ) -> Result<bool, LockError>;
    /// Deletes the scope's item if `holder` holds it; `Ok(false)` if not.
    async fn release(&self, scope: &str, holder: &str) -> Result<bool, LockError>;
    /// Whether there is a table at all: the steps then act only where it names their
    /// execution, whatever the state data says.
    /// Deletes the item of `scope` when it is not a lock item this code can read (the escape
    /// hatch of `lock release --force`), only if it is still the item just read; returns what
    /// it deleted, `None` when the item is readable (release it the usual way) or absent.
    async fn delete_unreadable(&self, _scope: &str) -> Result<Option<String>, LockError> {
        Err(LockError {
            message: "this lock table cannot delete an unreadable item".into(),
            transient: false,
        })
    }

    /// One page of the table's items (a DynamoDB Scan), for the reconciler; items it cannot
    /// read are named by scope rather than failing the page. Tables that cannot be listed
    /// (the local lock files) say so.
    async fn list_page(&self, _start: Option<&str>) -> Result<LockPage, LockError> {
        Err(LockError {
            message: "this lock table cannot be listed".into(),
            transient: false,
        })
    }
    fn configured(&self) -> bool {
        true
    }
}

/// One page of a lock table's items.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockPage {
    pub(crate) items: Vec<LockItem>,
    /// Scopes of items that are not lock items this code wrote, with what is wrong.
    pub(crate) unreadable: Vec<(String, String)>,
    /// Where the next page starts (the last scope read), if there is one.
    pub(crate) next: Option<String>,
}

/// Whether `item` may be written where `current` is, under `expected`: the one condition every
/// table applies. The same write again (same holder, same take time) is allowed too, so a
/// retry of a write whose answer was lost after it succeeded finds it done, not refused.
pub(crate) fn put_allowed(
    current: Option<&LockItem>,
    item: &LockItem,
    expected: Expected<'_>,
) -> bool {
    let same_write = current
        .is_some_and(|c| c.holder == item.holder && to_millis(c.since) == to_millis(item.since));
    same_write
        || match (current, expected) {
            (None, Expected::Free) => true,
            (Some(current), Expected::Expired { holder, now }) => {
                current.holder == holder && current.expired_at(now)
            }
            _ => false,
        }
}

/// A lease end or take time as the tables keep it: whole milliseconds, so a time read back
/// compares equal to the one written.
pub fn to_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// The table of a function deployed without `LOCK_TABLE`: every call fails saying so.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnconfiguredLockTable;

impl UnconfiguredLockTable {
    fn refuse<T>(&self) -> Result<T, LockError> {
        Err(LockError {
            message: "setting LOCK_TABLE is not set; set it to the migration lock's DynamoDB table (the Terraform module creates it and sets it)".into(),
            transient: false,
        })
    }
}

#[async_trait]
impl LockTable for UnconfiguredLockTable {
    fn configured(&self) -> bool {
        false
    }
    async fn get(&self, _scope: &str) -> Result<Option<LockItem>, LockError> {
        self.refuse()
    }
    async fn put(&self, _item: &LockItem, _expected: Expected<'_>) -> Result<bool, LockError> {
        self.refuse()
    }
    async fn renew(
        &self,
        _scope: &str,
        _holder: &str,
        _lease_until: DateTime<Utc>,
        _task_arn: Option<&str>,
    ) -> Result<bool, LockError> {
        self.refuse()
    }
    async fn release(&self, _scope: &str, _holder: &str) -> Result<bool, LockError> {
        self.refuse()
    }
}
