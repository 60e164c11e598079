//! The lock table in memory: for the engine's tests and scenarios, with the conditions the
//! DynamoDB table applies (a mutex makes each call one atomic step, as each DynamoDB write is).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{put_allowed, to_millis, Expected, LockError, LockItem, LockPage, LockTable};
use crate::common::sync::lock;

/// A lock table in memory (one item per scope), shared by clones.
#[derive(Clone, Default)]
pub struct MemoryLockTable {
    items: Arc<Mutex<HashMap<String, LockItem>>>,
}

impl MemoryLockTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// The items now in the table.
    pub fn items(&self) -> Vec<LockItem> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, LockItem>> {
        // A panic elsewhere while holding the mutex leaves plain data: keep using it.
        lock(&self.items)
    }
}

#[async_trait]
impl LockTable for MemoryLockTable {
    /// Every item in one page, in scope order.
    async fn list_page(&self, _start: Option<&str>) -> Result<LockPage, LockError> {
        let mut items: Vec<LockItem> = self.lock().values().cloned().collect();
        items.sort_by(|a, b| a.scope.cmp(&b.scope));
        Ok(LockPage {
            items,
            unreadable: Vec::new(),
            next: None,
        })
    }

    async fn get(&self, scope: &str) -> Result<Option<LockItem>, LockError> {
        Ok(self.lock().get(scope).cloned())
    }

    async fn put(&self, item: &LockItem, expected: Expected<'_>) -> Result<bool, LockError> {
        let mut items = self.lock();
        if !put_allowed(items.get(&item.scope), expected) {
            return Ok(false);
        }
        let item = item.in_millis();
        items.insert(item.scope.clone(), item);
        Ok(true)
    }

    async fn renew(
        &self,
        scope: &str,
        holder: &str,
        lease_until: DateTime<Utc>,
        task_arn: Option<&str>,
    ) -> Result<bool, LockError> {
        let mut items = self.lock();
        let Some(item) = items.get_mut(scope).filter(|i| i.holder == holder) else {
            return Ok(false);
        };
        item.lease_until = to_millis(lease_until);
        if let Some(arn) = task_arn {
            item.task_arn = Some(arn.to_string());
        }
        Ok(true)
    }

    async fn release(&self, scope: &str, holder: &str) -> Result<bool, LockError> {
        let mut items = self.lock();
        if items.get(scope).is_none_or(|i| i.holder != holder) {
            return Ok(false);
        }
        items.remove(scope);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn item(scope: &str, holder: &str, lease_until: i64) -> LockItem {
        let t = |s| DateTime::from_timestamp(s, 0).unwrap();
        LockItem {
            scope: scope.into(),
            holder: holder.into(),
            execution_name: None,
            client_token: format!("token-{holder}"),
            taskdef_arn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/app:7".into(),
            family: "app".into(),
            revision: 7,
            cluster: "c".into(),
            started_by: format!("ecs-migrate/{holder}"),
            task_arn: None,
            since: t(1_000),
            lease_until: t(lease_until),
        }
    }

    #[tokio::test]
    async fn conditions_hold_as_dynamodb_applies_them() {
        let table = MemoryLockTable::new();
        let now = |s| DateTime::from_timestamp(s, 0).unwrap();
        assert!(table
            .put(&item("app", "a", 2_000), Expected::Free)
            .await
            .unwrap());
        // Taken: a second take fails, and so does a takeover before the lease ends.
        assert!(!table
            .put(&item("app", "b", 3_000), Expected::Free)
            .await
            .unwrap());
        let early = Expected::Expired {
            holder: "a",
            now: now(1_500),
        };
        assert!(!table.put(&item("app", "b", 3_000), early).await.unwrap());
        // Only the holder renews or releases.
        assert!(!table.renew("app", "b", now(9_000), None).await.unwrap());
        assert!(!table.release("app", "b").await.unwrap());
        assert!(table
            .renew("app", "a", now(2_500), Some("arn:task"))
            .await
            .unwrap());
        let got = table.get("app").await.unwrap().unwrap();
        assert_eq!(
            (got.lease_until, got.task_arn.as_deref()),
            (now(2_500), Some("arn:task"))
        );
        // A takeover must name the holder it found, and finds the renewed lease.
        let stale = Expected::Expired {
            holder: "a",
            now: now(2_200),
        };
        assert!(!table.put(&item("app", "b", 3_000), stale).await.unwrap());
        let wrong = Expected::Expired {
            holder: "x",
            now: now(2_600),
        };
        assert!(!table.put(&item("app", "b", 3_000), wrong).await.unwrap());
        let expired = Expected::Expired {
            holder: "a",
            now: now(2_600),
        };
        assert!(table.put(&item("app", "b", 3_000), expired).await.unwrap());
        // The old holder lost it: it can neither renew nor release the new holder's lock.
        assert!(!table.renew("app", "a", now(9_000), None).await.unwrap());
        assert!(!table.release("app", "a").await.unwrap());
        assert!(table.release("app", "b").await.unwrap());
        assert_eq!(table.get("app").await.unwrap(), None);
        assert!(!table.release("app", "b").await.unwrap());
        // Scopes are independent.
        assert!(table
            .put(&item("app", "a", 2_000), Expected::Free)
            .await
            .unwrap());
        assert!(table
            .put(&item("other", "b", 2_000), Expected::Free)
            .await
            .unwrap());
        assert_eq!(table.items().len(), 2);
    }
}
