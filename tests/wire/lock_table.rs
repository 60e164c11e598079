//! The lock table's contract, one test body run against three tables: [`DynamoDbLockTable`] on
//! moto's DynamoDB (a table created as terraform/lock.tf creates it), and the doubles the
//! engine's scenarios ([`MemoryLockTable`]) and `ecs-migrate local` ([`FileLockTable`]) use.
//! The doubles passing the same assertions as DynamoDB is what makes them as strict as it.
//!
//! DynamoDB's side: conditional writes (Amazon DynamoDB Developer Guide, "Condition
//! expressions"), ConditionalCheckFailedException (API Reference, PutItem / UpdateItem /
//! DeleteItem), strongly consistent GetItem (API Reference, GetItem, ConsistentRead).

use chrono::{DateTime, Duration, Utc};
use ecs_migrate::ports::lock::{
    DynamoDbLockTable, Expected, FileLockTable, LockItem, LockTable, MemoryLockTable,
};

use crate::moto;

/// Times with sub-millisecond parts, so the tables' millisecond precision is exercised.
fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(1_800_000_000_000 + ms).unwrap()
}

fn item(scope: &str, holder: &str, lease_until: DateTime<Utc>) -> LockItem {
    LockItem {
        scope: scope.into(),
        holder: format!("arn:aws:states:us-east-1:123456789012:execution:migrate:{holder}"),
        execution_name: Some(holder.into()),
        client_token: format!("token-{holder}"),
        taskdef_arn: "arn:aws:ecs:us-east-1:123456789012:task-definition/app:7".into(),
        family: "app".into(),
        revision: 7,
        cluster: "arn:aws:ecs:us-east-1:123456789012:cluster/c".into(),
        started_by: format!("ecs-migrate/{holder}"),
        task_arn: None,
        since: at(0) + Duration::microseconds(250),
        lease_until,
    }
}

/// `item` as a table keeps it: times in whole milliseconds.
fn as_kept(mut item: LockItem) -> LockItem {
    item.since = ecs_migrate::ports::lock::to_millis(item.since);
    item.lease_until = ecs_migrate::ports::lock::to_millis(item.lease_until);
    item
}

/// The contract. `scope` must be unused in `table`.
async fn conditions_hold(table: &dyn LockTable, scope: &str) {
    let a = item(scope, "a", at(60_000) + Duration::microseconds(700));
    let b = item(scope, "b", at(200_000));
    let (holder_a, holder_b) = (a.holder.as_str(), b.holder.as_str());
    assert_eq!(table.get(scope).await.unwrap(), None, "a new scope is free");

    // Take, and read back what was written, in whole milliseconds.
    assert!(table.put(&a, Expected::Free).await.unwrap(), "take");
    // The same write again (a retry after a lost answer) is done, not refused.
    assert!(table.put(&a, Expected::Free).await.unwrap(), "take retried");
    let kept = table.get(scope).await.unwrap().expect("the holder's item");
    assert_eq!(kept, as_kept(a.clone()));
    assert_eq!(kept.lease_until, at(60_000));

    // A second take is refused and changes nothing.
    assert!(!table.put(&b, Expected::Free).await.unwrap(), "second take");
    assert_eq!(table.get(scope).await.unwrap(), Some(as_kept(a.clone())));

    // Only the holder renews; the task, once given, stays when a renewal gives none.
    let task = "arn:aws:ecs:us-east-1:123456789012:task/c/0123456789abcdef0123456789abcdef";
    assert!(!table
        .renew(scope, holder_b, at(900_000), None)
        .await
        .unwrap());
    assert!(table
        .renew(scope, holder_a, at(90_000), Some(task))
        .await
        .unwrap());
    assert!(table
        .renew(
            scope,
            holder_a,
            at(120_000) + Duration::microseconds(900),
            None
        )
        .await
        .unwrap());
    let renewed = table.get(scope).await.unwrap().expect("still held");
    assert_eq!(renewed.lease_until, at(120_000));
    assert_eq!(renewed.task_arn.as_deref(), Some(task));
    assert_eq!(
        renewed.holder, a.holder,
        "a refused renewal changed nothing"
    );

    // Takeover: only after the lease ended (strictly), and only of the holder named.
    let before = Expected::Expired {
        holder: holder_a,
        now: at(119_999),
    };
    assert!(!table.put(&b, before).await.unwrap(), "lease not over");
    let at_the_end = Expected::Expired {
        holder: holder_a,
        now: at(120_000),
    };
    assert!(!table.put(&b, at_the_end).await.unwrap(), "lease ends now");
    let other_holder = Expected::Expired {
        holder: holder_b,
        now: at(500_000),
    };
    assert!(
        !table.put(&b, other_holder).await.unwrap(),
        "names another holder"
    );
    // 0.3 ms after the lease ended is after it.
    let after = Expected::Expired {
        holder: holder_a,
        now: at(120_000) + Duration::microseconds(300),
    };
    assert!(table.put(&b, after).await.unwrap(), "takeover");
    assert!(table.put(&b, after).await.unwrap(), "takeover retried");
    // The taker's whole item replaces the old one (no task carried over).
    assert_eq!(table.get(scope).await.unwrap(), Some(as_kept(b.clone())));

    // The old holder lost it: it neither renews nor releases the new holder's lock.
    assert!(!table
        .renew(scope, holder_a, at(900_000), None)
        .await
        .unwrap());
    assert!(!table.release(scope, holder_a).await.unwrap());
    assert_eq!(table.get(scope).await.unwrap(), Some(as_kept(b.clone())));

    // Scopes are independent.
    let other_scope = format!("{scope}/other");
    let mut c = item(&other_scope, "c", at(60_000));
    c.execution_name = None;
    assert!(table.put(&c, Expected::Free).await.unwrap());
    assert_eq!(
        table.get(&other_scope).await.unwrap(),
        Some(as_kept(c.clone()))
    );

    // Release by the holder only; then the scope is free, and stays free: a late renewal or a
    // takeover of a released lock creates nothing.
    assert!(table.release(scope, holder_b).await.unwrap(), "release");
    assert_eq!(table.get(scope).await.unwrap(), None);
    assert!(
        !table.release(scope, holder_b).await.unwrap(),
        "released twice"
    );
    assert!(!table
        .renew(scope, holder_b, at(900_000), None)
        .await
        .unwrap());
    let gone = Expected::Expired {
        holder: holder_b,
        now: at(900_000),
    };
    assert!(!table.put(&a, gone).await.unwrap(), "takeover of no item");
    assert_eq!(table.get(scope).await.unwrap(), None);
    assert!(table.put(&a, Expected::Free).await.unwrap(), "free again");
    assert!(table.release(scope, holder_a).await.unwrap());
    assert!(table.release(&other_scope, &c.holder).await.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn dynamodb_on_moto_applies_the_conditions() {
    let server = moto::shared();
    let table = server.create_lock_table(&moto::unique("lock")).await;
    let lock = DynamoDbLockTable::new(server.dynamodb().await, table);
    conditions_hold(&lock, "app").await;
    // A scope with characters a file name could not hold is just a key here.
    conditions_hold(&lock, "shared/db:main").await;
}

#[tokio::test]
async fn the_memory_table_applies_the_same_conditions() {
    let table = MemoryLockTable::new();
    conditions_hold(&table, "app").await;
    conditions_hold(&table, "shared/db:main").await;
}

#[tokio::test]
async fn the_file_table_applies_the_same_conditions() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(moto::unique("locks"));
    let table = FileLockTable::new(&dir);
    conditions_hold(&table, "app").await;
    conditions_hold(&table, "shared/db:main").await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_dynamodb_table_is_an_error_naming_it() {
    let server = moto::shared();
    let name = moto::unique("no-such-table");
    let lock = DynamoDbLockTable::new(server.dynamodb().await, &name);
    let err = lock.get("app").await.unwrap_err();
    assert!(!err.transient, "{err}");
    assert!(err.message.contains(&name), "{err}");
    assert!(err.message.contains("ResourceNotFoundException"), "{err}");
}
