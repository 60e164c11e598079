//! The lock table in memory: for the engine's tests and scenarios, with the conditions the
//! DynamoDB table applies (a mutex makes each call one atomic step, as each DynamoDB write is),
//! and DynamoDB's failures on request: throttling, AccessDenied, and a write whose answer is
//! lost after it succeeded.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{put_allowed, to_millis, Expected, LockError, LockItem, LockPage, LockTable};
use crate::common::sync::lock;

/// A lock table in memory (one item per scope), shared by clones.
#[derive(Clone, Default)]
pub struct MemoryLockTable {
    items: Arc<Mutex<HashMap<String, LockItem>>>,
    faults: Arc<Mutex<Faults>>,
}

/// Planned failures: (call, which call of that kind, 1-based, counted from the table's
/// creation, fault), and how many calls of each kind were made.
#[derive(Default)]
struct Faults {
    planned: VecDeque<(LockCall, usize, LockFault)>,
    calls: HashMap<LockCall, usize>,
}

/// A call of the lock table, for [`MemoryLockTable::fail_next`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LockCall {
    Get,
    Put,
    Renew,
    Release,
}

/// How DynamoDB fails a call (Amazon DynamoDB Developer Guide, "Error handling with
/// DynamoDB", <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockFault {
    /// `ProvisionedThroughputExceededException` (or `ThrottlingException`) after the SDK's
    /// retries: the call did nothing; retrying later may succeed.
    Throttled,
    /// `AccessDeniedException`: the role may not make the call; it did nothing.
    AccessDenied,
    /// The call took effect, but its answer was lost (a timeout, a dropped connection, a 500
    /// after the write): the caller sees a transient error.
    AnswerLost,
}

impl LockFault {
    fn error(self, call: LockCall) -> LockError {
        let operation = match call {
            LockCall::Get => "dynamodb:GetItem",
            LockCall::Put => "dynamodb:PutItem",
            LockCall::Renew => "dynamodb:UpdateItem",
            LockCall::Release => "dynamodb:DeleteItem",
        };
        let (what, transient) = match self {
            LockFault::Throttled => (
                "ProvisionedThroughputExceededException: the request rate is too high (injected)",
                true,
            ),
            LockFault::AccessDenied => (
                "AccessDeniedException: the role is not authorized to perform this call (injected)",
                false,
            ),
            LockFault::AnswerLost => (
                "dispatch failure: timed out waiting for the answer (injected)",
                true,
            ),
        };
        LockError {
            message: format!("lock table memory: {operation}: {what}"),
            transient,
        }
    }
}

impl MemoryLockTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// The items now in the table.
    pub fn items(&self) -> Vec<LockItem> {
        self.lock().values().cloned().collect()
    }

    /// The next `call` not yet given a fault fails with `fault` (call it again to fail the
    /// one after).
    pub fn fail_next(&self, call: LockCall, fault: LockFault) {
        let mut faults = lock(&self.faults);
        let made = faults.calls.get(&call).copied().unwrap_or(0);
        let last = faults
            .planned
            .iter()
            .filter(|(c, _, _)| *c == call)
            .map(|(_, n, _)| *n)
            .max()
            .unwrap_or(0);
        faults.planned.push_back((call, made.max(last) + 1, fault));
    }

    /// The `nth` call of kind `call` (1-based, counted since the table was made) fails with
    /// `fault`: e.g. the third renewal, the first of PollStatus after run-task's two.
    pub fn fail_call(&self, call: LockCall, nth: usize, fault: LockFault) {
        lock(&self.faults).planned.push_back((call, nth, fault));
    }

    /// Counts the call; the fault planned for it, if any.
    fn fault(&self, call: LockCall) -> Option<LockFault> {
        let mut faults = lock(&self.faults);
        let count = faults.calls.entry(call).or_insert(0);
        *count += 1;
        let nth = *count;
        let at = faults
            .planned
            .iter()
            .position(|(c, n, _)| *c == call && *n == nth)?;
        faults.planned.remove(at).map(|(_, _, f)| f)
    }

    /// Runs `apply` unless a fault refuses the call first; an [`LockFault::AnswerLost`] runs it
    /// and then fails.
    fn with_faults<T>(
        &self,
        call: LockCall,
        apply: impl FnOnce(&mut HashMap<String, LockItem>) -> T,
    ) -> Result<T, LockError> {
        match self.fault(call) {
            None => Ok(apply(&mut self.lock())),
            Some(LockFault::AnswerLost) => {
                apply(&mut self.lock());
                Err(LockFault::AnswerLost.error(call))
            }
            Some(fault) => Err(fault.error(call)),
        }
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
        self.with_faults(LockCall::Get, |items| items.get(scope).cloned())
    }

    async fn put(&self, item: &LockItem, expected: Expected<'_>) -> Result<bool, LockError> {
        self.with_faults(LockCall::Put, |items| {
            if !put_allowed(items.get(&item.scope), item, expected) {
                return false;
            }
            let item = item.in_millis();
            items.insert(item.scope.clone(), item);
            true
        })
    }

    async fn renew(
        &self,
        scope: &str,
        holder: &str,
        lease_until: DateTime<Utc>,
        task_arn: Option<&str>,
    ) -> Result<bool, LockError> {
        self.with_faults(LockCall::Renew, |items| {
            let Some(item) = items.get_mut(scope).filter(|i| i.holder == holder) else {
                return false;
            };
            item.lease_until = to_millis(lease_until);
            if let Some(arn) = task_arn {
                item.task_arn = Some(arn.to_string());
            }
            true
        })
    }

    async fn release(&self, scope: &str, holder: &str) -> Result<bool, LockError> {
        self.with_faults(LockCall::Release, |items| {
            if items.get(scope).is_none_or(|i| i.holder != holder) {
                return false;
            }
            items.remove(scope);
            true
        })
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

    #[tokio::test]
    async fn faults_fail_one_call_each_and_a_lost_answer_still_writes() {
        let table = MemoryLockTable::new();
        table.fail_next(LockCall::Put, LockFault::Throttled);
        table.fail_next(LockCall::Put, LockFault::AccessDenied);
        let a = item("app", "a", 2_000);
        let throttled = table.put(&a, Expected::Free).await.unwrap_err();
        assert!(throttled.transient, "{throttled}");
        assert!(throttled.message.contains("ProvisionedThroughputExceeded"));
        let denied = table.put(&a, Expected::Free).await.unwrap_err();
        assert!(!denied.transient, "{denied}");
        assert!(denied.message.contains("AccessDeniedException"));
        assert!(table.items().is_empty(), "a refused call wrote nothing");
        table.fail_next(LockCall::Put, LockFault::AnswerLost);
        assert!(table.put(&a, Expected::Free).await.unwrap_err().transient);
        assert_eq!(
            table.items().len(),
            1,
            "the lost answer's write went through"
        );
        // Its retry is the same write: done, not refused; another holder's is refused.
        assert!(table.put(&a, Expected::Free).await.unwrap());
        assert!(!table
            .put(&item("app", "b", 3_000), Expected::Free)
            .await
            .unwrap());
        table.fail_next(LockCall::Release, LockFault::AnswerLost);
        let lost = table.release("app", "a").await.unwrap_err();
        assert!(
            lost.transient && lost.message.contains("DeleteItem"),
            "{lost}"
        );
        assert!(table.items().is_empty());
    }
}
