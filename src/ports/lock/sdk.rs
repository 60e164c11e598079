//! The lock table on AWS: one DynamoDB item per scope (partition key `scope`, a string), changed
//! only by conditional writes, read with strongly consistent reads.
//!
//! - take: PutItem with `attribute_not_exists(#scope) OR (#holder = :me AND #since = :since)`;
//! - take over: PutItem with `(#holder = :holder AND #lease_until < :now) OR (#holder = :me AND
//!   #since = :since)`; the second half of both lets the same write succeed again, so a retry
//!   (the SDK's own, after a timeout or a 5xx whose write went through) is not refused by the
//!   item it wrote itself;
//! - renew: UpdateItem `SET #lease_until = :lease_until [, #task_arn = :task_arn]` with
//!   `#holder = :holder` (false on a missing item, so a renewal never recreates a released lock);
//! - release: DeleteItem with `#holder = :holder`;
//! - get: GetItem with `ConsistentRead = true`.
//!
//! DynamoDB evaluates a write's condition against the item as it is and applies the write only
//! if it holds, as one step ("Condition expressions", Amazon DynamoDB Developer Guide,
//! docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html);
//! a condition that does not hold fails the call with `ConditionalCheckFailedException`
//! (API Reference, PutItem / UpdateItem / DeleteItem, "Errors",
//! docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html), which is
//! `Ok(false)` here. GetItem is eventually consistent unless `ConsistentRead` is true; a
//! strongly consistent read "always returns the last updated value" (API Reference, GetItem,
//! docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_GetItem.html).
//!
//! Every attribute name goes through an `#name` placeholder, so none can clash with DynamoDB's
//! reserved words.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::{to_millis, Expected, LockError, LockItem, LockPage, LockTable};
use crate::ports::AwsError;

/// The table's partition key.
pub const PARTITION_KEY: &str = "scope";

// Attribute names. `since` and `lease_until` are numbers (epoch milliseconds): a condition
// compares two numbers numerically, while strings compare by character code ("Condition and
// filter expressions, operators, and functions", Making comparisons,
// docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.OperatorsAndFunctions.html),
// so the takeover's `#lease_until < :now` is a time comparison whatever the time's format.
const HOLDER: &str = "holder";
const EXECUTION_NAME: &str = "execution_name";
const CLIENT_TOKEN: &str = "client_token";
const TASKDEF_ARN: &str = "taskdef_arn";
const FAMILY: &str = "family";
const REVISION: &str = "revision";
const CLUSTER: &str = "cluster";
const STARTED_BY: &str = "started_by";
const TASK_ARN: &str = "task_arn";
const SINCE: &str = "since";
const LEASE_UNTIL: &str = "lease_until";

/// The conditions, as sent (the unit tests check them word for word).
const TAKE_CONDITION: &str = "attribute_not_exists(#scope) OR (#holder = :me AND #since = :since)";
const TAKEOVER_CONDITION: &str =
    "(#holder = :holder AND #lease_until < :now) OR (#holder = :me AND #since = :since)";
const HOLDER_CONDITION: &str = "#holder = :holder";

/// Error codes that a retry later may get past, beyond [`AwsError`]'s throttling and server
/// codes: DynamoDB's own throttling error, and a write that collided with a transaction on the
/// same item ("Error handling with DynamoDB", Error messages and codes,
/// docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html).
const TRANSIENT_CODES: [&str; 2] = [
    "ProvisionedThroughputExceededException",
    "TransactionConflictException",
];

/// The migration lock's DynamoDB table (`LOCK_TABLE`).
#[derive(Debug, Clone)]
pub struct DynamoDbLockTable {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoDbLockTable {
    /// The scope's item as DynamoDB holds it (a consistent GetItem), readable or not.
    async fn read_item(
        &self,
        scope: &str,
    ) -> Result<Option<HashMap<String, AttributeValue>>, LockError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(scope))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.error("dynamodb:GetItem", e))?;
        Ok(out.item)
    }

    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    fn error<E>(
        &self,
        operation: &'static str,
        err: aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    ) -> LockError
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
    {
        let err = AwsError::from_sdk(operation, err);
        let transient = err.transient
            || err
                .code
                .as_deref()
                .is_some_and(|c| TRANSIENT_CODES.contains(&c));
        let message = if err.code.as_deref() == Some("ResourceNotFoundException") {
            format!(
                "{err} (lock table {}): check LOCK_TABLE and the region; the Terraform module creates the table and sets LOCK_TABLE",
                self.table
            )
        } else {
            format!("{err} (lock table {})", self.table)
        };
        LockError { message, transient }
    }
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The time as the table keeps it: whole epoch milliseconds ([`to_millis`]).
fn millis(t: DateTime<Utc>) -> AttributeValue {
    n(to_millis(t).timestamp_millis())
}

/// `now` for the takeover condition, rounded up to the next whole millisecond: a lease end kept
/// in whole milliseconds is before `now` exactly when it is before this, so the condition
/// decides as [`super::put_allowed`] does on the unrounded time.
fn millis_up(t: DateTime<Utc>) -> i64 {
    let floor = t.timestamp_millis();
    if to_millis(t) < t {
        floor.saturating_add(1)
    } else {
        floor
    }
}

/// The item's attributes, as PutItem writes them (absent options are left out: DynamoDB has
/// no empty value). Tests answer GetItem with them.
pub fn to_attributes(item: &LockItem) -> HashMap<String, AttributeValue> {
    let mut attributes = HashMap::from([
        (PARTITION_KEY.to_string(), s(&item.scope)),
        (HOLDER.to_string(), s(&item.holder)),
        (CLIENT_TOKEN.to_string(), s(&item.client_token)),
        (TASKDEF_ARN.to_string(), s(&item.taskdef_arn)),
        (FAMILY.to_string(), s(&item.family)),
        (REVISION.to_string(), n(i64::from(item.revision))),
        (CLUSTER.to_string(), s(&item.cluster)),
        (STARTED_BY.to_string(), s(&item.started_by)),
        (SINCE.to_string(), millis(item.since)),
        (LEASE_UNTIL.to_string(), millis(item.lease_until)),
    ]);
    if let Some(name) = &item.execution_name {
        attributes.insert(EXECUTION_NAME.to_string(), s(name));
    }
    if let Some(arn) = &item.task_arn {
        attributes.insert(TASK_ARN.to_string(), s(arn));
    }
    attributes
}

/// Reads an item back; an attribute missing or of the wrong type is an error naming it (the
/// item was not written by this code).
fn from_attributes(attributes: &HashMap<String, AttributeValue>) -> Result<LockItem, ItemError> {
    let text = |name: &'static str| -> Result<String, ItemError> {
        match attributes.get(name) {
            Some(AttributeValue::S(v)) => Ok(v.clone()),
            Some(_) => Err(ItemError::WrongType { name, kind: "S" }),
            None => Err(ItemError::Missing { name }),
        }
    };
    let optional_text = |name: &'static str| -> Result<Option<String>, ItemError> {
        match attributes.get(name) {
            None => Ok(None),
            Some(_) => text(name).map(Some),
        }
    };
    let number = |name: &'static str| -> Result<i64, ItemError> {
        match attributes.get(name) {
            Some(AttributeValue::N(v)) => v.parse().map_err(|_| ItemError::NotWhole {
                name,
                value: v.clone(),
            }),
            Some(_) => Err(ItemError::WrongType { name, kind: "N" }),
            None => Err(ItemError::Missing { name }),
        }
    };
    let time = |name: &'static str| -> Result<DateTime<Utc>, ItemError> {
        let ms = number(name)?;
        DateTime::from_timestamp_millis(ms).ok_or(ItemError::NotWhole {
            name,
            value: ms.to_string(),
        })
    };
    let revision = number(REVISION)?;
    Ok(LockItem {
        scope: text(PARTITION_KEY)?,
        holder: text(HOLDER)?,
        execution_name: optional_text(EXECUTION_NAME)?,
        client_token: text(CLIENT_TOKEN)?,
        taskdef_arn: text(TASKDEF_ARN)?,
        family: text(FAMILY)?,
        revision: i32::try_from(revision).map_err(|_| ItemError::NotWhole {
            name: REVISION,
            value: revision.to_string(),
        })?,
        cluster: text(CLUSTER)?,
        started_by: text(STARTED_BY)?,
        task_arn: optional_text(TASK_ARN)?,
        since: time(SINCE)?,
        lease_until: time(LEASE_UNTIL)?,
    })
}

/// An item in the table that is not a lock item this code wrote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum ItemError {
    #[error("attribute {name} is missing")]
    Missing { name: &'static str },
    #[error("attribute {name} is not of type {kind}")]
    WrongType {
        name: &'static str,
        kind: &'static str,
    },
    #[error("attribute {name} is {value}, not a whole number in range")]
    NotWhole { name: &'static str, value: String },
}

fn is_condition_failure<E>(
    err: &aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    check: impl Fn(&E) -> bool,
) -> bool {
    err.as_service_error().is_some_and(check)
}

#[async_trait]
impl LockTable for DynamoDbLockTable {
    /// GetItem (consistent), then, when the item is not a lock item, DeleteItem conditional on
    /// every attribute still having the value read (up to DynamoDB's expression limits), so an
    /// item written meanwhile is never deleted.
    async fn delete_unreadable(&self, scope: &str) -> Result<Option<String>, LockError> {
        let Some(attributes) = self.read_item(scope).await? else {
            return Ok(None);
        };
        let Err(problem) = from_attributes(&attributes) else {
            return Ok(None);
        };
        let mut request = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(scope));
        let mut conditions = Vec::new();
        let mut names: Vec<&String> = attributes.keys().collect();
        names.sort();
        for (i, name) in names.iter().enumerate() {
            conditions.push(format!("#a{i} = :v{i}"));
            request = request
                .expression_attribute_names(format!("#a{i}"), name.as_str())
                .expression_attribute_values(format!(":v{i}"), attributes[*name].clone());
        }
        match request.condition_expression(conditions.join(" AND ")).send().await {
            Ok(_) => Ok(Some(format!(
                "the item of scope {scope:?} in table {} ({problem}; attributes {})",
                self.table,
                names.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ")
            ))),
            Err(err)
                if is_condition_failure(&err, |e| e.is_conditional_check_failed_exception()) =>
            {
                Err(LockError {
                    message: format!("the item of scope {scope:?} changed while it was being deleted; look again with `ecs-migrate lock status`"),
                    transient: false,
                })
            }
            Err(err) => Err(self.error("dynamodb:DeleteItem", err)),
        }
    }

    /// One Scan page (up to 1 MB, DynamoDB's page limit: "Scan", Amazon DynamoDB API
    /// Reference, docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Scan.html),
    /// strongly consistent like the reads the lock steps make.
    async fn list_page(&self, start: Option<&str>) -> Result<LockPage, LockError> {
        let out = self
            .client
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .set_exclusive_start_key(
                start.map(|scope| HashMap::from([(PARTITION_KEY.to_string(), s(scope))])),
            )
            .send()
            .await
            .map_err(|e| self.error("dynamodb:Scan", e))?;
        let mut page = LockPage::default();
        for attributes in out.items() {
            match from_attributes(attributes) {
                Ok(item) => page.items.push(item),
                Err(err) => {
                    let scope = match attributes.get(PARTITION_KEY) {
                        Some(AttributeValue::S(scope)) => scope.clone(),
                        _ => format!("{:?}", attributes.get(PARTITION_KEY)),
                    };
                    page.unreadable.push((scope, err.to_string()));
                }
            }
        }
        page.next = out
            .last_evaluated_key()
            .and_then(|key| match key.get(PARTITION_KEY) {
                Some(AttributeValue::S(scope)) => Some(scope.clone()),
                _ => None,
            });
        Ok(page)
    }

    async fn get(&self, scope: &str) -> Result<Option<LockItem>, LockError> {
        let Some(attributes) = self.read_item(scope).await? else {
            return Ok(None);
        };
        from_attributes(&attributes).map(Some).map_err(|e| LockError {
            message: format!(
                "lock table {}: the item of scope {scope:?} is not a lock item ({e}); delete it if no migration runs",
                self.table
            ),
            transient: false,
        })
    }

    async fn put(&self, item: &LockItem, expected: Expected<'_>) -> Result<bool, LockError> {
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_attributes(item)));
        // The same write again: this holder's item with this take time.
        let request = request
            .expression_attribute_names("#holder", HOLDER)
            .expression_attribute_names("#since", SINCE)
            .expression_attribute_values(":me", s(&item.holder))
            .expression_attribute_values(":since", millis(item.since));
        let request = match expected {
            Expected::Free => request
                .condition_expression(TAKE_CONDITION)
                .expression_attribute_names("#scope", PARTITION_KEY),
            Expected::Expired { holder, now } => request
                .condition_expression(TAKEOVER_CONDITION)
                .expression_attribute_names("#lease_until", LEASE_UNTIL)
                .expression_attribute_values(":holder", s(holder))
                .expression_attribute_values(":now", n(millis_up(now))),
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(err)
                if is_condition_failure(&err, |e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(self.error("dynamodb:PutItem", err)),
        }
    }

    async fn renew(
        &self,
        scope: &str,
        holder: &str,
        lease_until: DateTime<Utc>,
        task_arn: Option<&str>,
    ) -> Result<bool, LockError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(scope))
            .condition_expression(HOLDER_CONDITION)
            .expression_attribute_names("#holder", HOLDER)
            .expression_attribute_names("#lease_until", LEASE_UNTIL)
            .expression_attribute_values(":holder", s(holder))
            .expression_attribute_values(":lease_until", millis(lease_until));
        request = match task_arn {
            Some(arn) => request
                .update_expression("SET #lease_until = :lease_until, #task_arn = :task_arn")
                .expression_attribute_names("#task_arn", TASK_ARN)
                .expression_attribute_values(":task_arn", s(arn)),
            None => request.update_expression("SET #lease_until = :lease_until"),
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(err)
                if is_condition_failure(&err, |e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(self.error("dynamodb:UpdateItem", err)),
        }
    }

    async fn release(&self, scope: &str, holder: &str) -> Result<bool, LockError> {
        let request = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PARTITION_KEY, s(scope))
            .condition_expression(HOLDER_CONDITION)
            .expression_attribute_names("#holder", HOLDER)
            .expression_attribute_values(":holder", s(holder));
        match request.send().await {
            Ok(_) => Ok(true),
            Err(err)
                if is_condition_failure(&err, |e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(err) => Err(self.error("dynamodb:DeleteItem", err)),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The adapter's requests and its reading of DynamoDB's answers, against aws-smithy-mocks.
    //! What the conditions do is proven against moto's DynamoDB (tests/wire/lock_table.rs).

    use std::time::Duration;

    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_sdk_dynamodb::operation::delete_item::{DeleteItemError, DeleteItemOutput};
    use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
    use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
    use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
    use aws_sdk_dynamodb::types::error::ConditionalCheckFailedException;
    use aws_sdk_dynamodb::Client;
    use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};

    use super::*;

    const TABLE: &str = "app-lock";

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).unwrap()
    }

    fn item() -> LockItem {
        LockItem {
            scope: "app".into(),
            holder: "arn:aws:states:eu-west-1:123456789012:execution:m:a".into(),
            execution_name: Some("a".into()),
            client_token: "token-a".into(),
            taskdef_arn: "arn:aws:ecs:eu-west-1:123456789012:task-definition/app:7".into(),
            family: "app".into(),
            revision: 7,
            cluster: "arn:aws:ecs:eu-west-1:123456789012:cluster/c".into(),
            started_by: "ecs-migrate/0123456789abcdef01234567".into(),
            task_arn: None,
            since: at(1_000_123),
            lease_until: at(2_000_456),
        }
    }

    fn table(rules: &[&Rule]) -> DynamoDbLockTable {
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules, |b| b
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(2)
                    .with_initial_backoff(Duration::from_millis(1))
            ));
        DynamoDbLockTable::new(client, TABLE)
    }

    fn condition_failed() -> ConditionalCheckFailedException {
        ConditionalCheckFailedException::builder()
            .message("The conditional request failed")
            .build()
    }

    fn names(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[tokio::test]
    async fn get_reads_consistently_and_decodes_the_item() {
        let mut stored = item();
        stored.task_arn = Some("arn:aws:ecs:eu-west-1:123456789012:task/c/abc".into());
        let attributes = to_attributes(&stored);
        let rule = mock!(Client::get_item)
            .match_requests(|r| {
                r.table_name() == Some(TABLE)
                    && r.consistent_read() == Some(true)
                    && r.key().and_then(|k| k.get(PARTITION_KEY)) == Some(&s("app"))
            })
            .then_output(move || {
                GetItemOutput::builder()
                    .set_item(Some(attributes.clone()))
                    .build()
            });
        let got = table(&[&rule]).get("app").await.unwrap();
        assert_eq!(got, Some(stored));
        assert_eq!(rule.num_calls(), 1);

        let empty = mock!(Client::get_item).then_output(|| GetItemOutput::builder().build());
        assert_eq!(table(&[&empty]).get("app").await.unwrap(), None);
    }

    #[tokio::test]
    async fn times_are_numbers_of_milliseconds() {
        let mut written = item();
        written.since = at(1_000_123) + chrono::Duration::microseconds(999);
        let attributes = to_attributes(&written);
        assert_eq!(attributes.get(SINCE), Some(&n(1_000_123)));
        assert_eq!(attributes.get(LEASE_UNTIL), Some(&n(2_000_456)));
        assert_eq!(attributes.get(REVISION), Some(&n(7)));
        assert!(!attributes.contains_key(TASK_ARN), "no empty task_arn");
        let read = from_attributes(&attributes).unwrap();
        assert_eq!(read.since, at(1_000_123));
        // An item this code did not write is refused, naming what is wrong.
        let mut foreign = attributes.clone();
        foreign.insert(LEASE_UNTIL.into(), s("2026-01-01T00:00:00Z"));
        assert_eq!(
            from_attributes(&foreign),
            Err(ItemError::WrongType {
                name: LEASE_UNTIL,
                kind: "N"
            })
        );
        foreign.remove(LEASE_UNTIL);
        assert_eq!(
            from_attributes(&foreign),
            Err(ItemError::Missing { name: LEASE_UNTIL })
        );
    }

    #[tokio::test]
    async fn a_take_is_conditional_on_no_item() {
        let expected = to_attributes(&item());
        let rule = mock!(Client::put_item)
            .match_requests(move |r| {
                r.condition_expression() == Some(TAKE_CONDITION)
                    && r.expression_attribute_names()
                        == names(&[
                            ("#scope", "scope"),
                            ("#holder", "holder"),
                            ("#since", "since"),
                        ])
                        .as_ref()
                    && r.expression_attribute_values()
                        .and_then(|v| v.get(":since"))
                        == Some(&n(1_000_123))
                    && r.item() == Some(&expected)
            })
            .then_output(|| PutItemOutput::builder().build());
        assert!(table(&[&rule]).put(&item(), Expected::Free).await.unwrap());
        assert_eq!(rule.num_calls(), 1);

        let refused = mock!(Client::put_item)
            .then_error(|| PutItemError::ConditionalCheckFailedException(condition_failed()));
        assert!(!table(&[&refused])
            .put(&item(), Expected::Free)
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn a_takeover_names_the_holder_and_compares_whole_milliseconds() {
        // 5.000_4 s: a lease that ended at 5.000 s is over, so :now is rounded up to 5.001 s.
        let now = at(5_000) + chrono::Duration::microseconds(400);
        let rule = mock!(Client::put_item)
            .match_requests(|r| {
                let values = r.expression_attribute_values();
                r.condition_expression() == Some(TAKEOVER_CONDITION)
                    && r.expression_attribute_names()
                        == names(&[
                            ("#holder", "holder"),
                            ("#lease_until", "lease_until"),
                            ("#since", "since"),
                        ])
                        .as_ref()
                    && values.and_then(|v| v.get(":holder")) == Some(&s("old"))
                    && values.and_then(|v| v.get(":me")) == Some(&s(&item().holder))
                    && values.and_then(|v| v.get(":now")) == Some(&n(5_001))
            })
            .then_output(|| PutItemOutput::builder().build());
        let expected = Expected::Expired { holder: "old", now };
        assert!(table(&[&rule]).put(&item(), expected).await.unwrap());
        assert_eq!(rule.num_calls(), 1);
        assert_eq!(millis_up(at(5_000)), 5_000);
    }

    #[tokio::test]
    async fn a_renewal_sets_the_lease_and_the_task_only_for_the_holder() {
        let with_task = mock!(Client::update_item)
            .match_requests(|r| {
                let values = r.expression_attribute_values();
                r.condition_expression() == Some(HOLDER_CONDITION)
                    && r.update_expression()
                        == Some("SET #lease_until = :lease_until, #task_arn = :task_arn")
                    && values.and_then(|v| v.get(":holder")) == Some(&s("a"))
                    && values.and_then(|v| v.get(":lease_until")) == Some(&n(9_000))
                    && values.and_then(|v| v.get(":task_arn")) == Some(&s("arn:task"))
            })
            .then_output(|| UpdateItemOutput::builder().build());
        let table_with = table(&[&with_task]);
        assert!(table_with
            .renew("app", "a", at(9_000), Some("arn:task"))
            .await
            .unwrap());
        let lease_only = mock!(Client::update_item)
            .match_requests(|r| {
                r.update_expression() == Some("SET #lease_until = :lease_until")
                    && r.expression_attribute_names()
                        == names(&[("#holder", "holder"), ("#lease_until", "lease_until")]).as_ref()
            })
            .then_output(|| UpdateItemOutput::builder().build());
        assert!(table(&[&lease_only])
            .renew("app", "a", at(9_000), None)
            .await
            .unwrap());
        let refused = mock!(Client::update_item)
            .then_error(|| UpdateItemError::ConditionalCheckFailedException(condition_failed()));
        assert!(!table(&[&refused])
            .renew("app", "b", at(9_000), None)
            .await
            .unwrap());
    }

    #[tokio::test]
    async fn a_release_deletes_only_the_holders_item() {
        let rule = mock!(Client::delete_item)
            .match_requests(|r| {
                r.condition_expression() == Some(HOLDER_CONDITION)
                    && r.key().and_then(|k| k.get(PARTITION_KEY)) == Some(&s("app"))
                    && r.expression_attribute_values()
                        .and_then(|v| v.get(":holder"))
                        == Some(&s("a"))
            })
            .then_output(|| DeleteItemOutput::builder().build());
        assert!(table(&[&rule]).release("app", "a").await.unwrap());
        let refused = mock!(Client::delete_item)
            .then_error(|| DeleteItemError::ConditionalCheckFailedException(condition_failed()));
        assert!(!table(&[&refused]).release("app", "b").await.unwrap());
    }

    /// A PutItem whose write went through but whose answer was lost (a 500 after the write):
    /// the SDK sends it again, and that retry carries the same-write condition, so DynamoDB
    /// (moto in tests/wire/lock_table.rs) accepts it instead of refusing the item it wrote.
    #[tokio::test]
    async fn a_write_retried_after_a_lost_answer_carries_the_same_write_condition() {
        let holder = item().holder;
        let rule = mock!(Client::put_item)
            .match_requests(move |r| {
                let values = r.expression_attribute_values();
                r.condition_expression() == Some(TAKE_CONDITION)
                    && values.and_then(|v| v.get(":me")) == Some(&s(&holder))
                    && values.and_then(|v| v.get(":since")) == Some(&n(1_000_123))
            })
            .sequence()
            .http_status(
                500,
                Some(r#"{"__type":"InternalServerError","message":"lost"}"#.into()),
            )
            .output(|| PutItemOutput::builder().build())
            .build();
        assert!(table(&[&rule]).put(&item(), Expected::Free).await.unwrap());
        assert_eq!(rule.num_calls(), 2, "sent again by the SDK");
        // Lost twice: a transient error, for the step's own retry.
        let lost = mock!(Client::put_item)
            .sequence()
            .http_status(500, None)
            .repeatedly()
            .build();
        let err = table(&[&lost])
            .put(&item(), Expected::Free)
            .await
            .unwrap_err();
        assert!(err.transient, "{err}");
    }

    #[tokio::test]
    async fn throttling_is_transient_after_the_sdk_retries() {
        for code in [
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        ] {
            let body = format!(r#"{{"__type":"{code}","message":"Rate exceeded"}}"#);
            let rule = mock!(Client::put_item)
                .sequence()
                .http_status(400, Some(body))
                .repeatedly()
                .build();
            let err = table(&[&rule])
                .put(&item(), Expected::Free)
                .await
                .unwrap_err();
            assert!(err.transient, "{code}: {err}");
            assert!(err.message.contains("dynamodb:PutItem"), "{err}");
            assert!(err.message.contains("lock table app-lock"), "{err}");
            // The SDK retried it (max_attempts 2) before giving up.
            assert_eq!(rule.num_calls(), 2, "{code}");
        }
    }

    #[tokio::test]
    async fn a_refusal_is_not_transient_and_a_missing_table_says_what_to_check() {
        let denied = mock!(Client::get_item)
            .sequence()
            .http_status(
                400,
                Some(r#"{"__type":"AccessDeniedException","message":"not authorized"}"#.into()),
            )
            .repeatedly()
            .build();
        let err = table(&[&denied]).get("app").await.unwrap_err();
        assert!(!err.transient, "{err}");
        assert_eq!(denied.num_calls(), 1, "not retried");
        let missing = mock!(Client::delete_item)
            .sequence()
            .http_status(
                400,
                Some(
                    r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}"#
                        .into(),
                ),
            )
            .repeatedly()
            .build();
        let err = table(&[&missing]).release("app", "a").await.unwrap_err();
        assert!(!err.transient, "{err}");
        assert!(err.message.contains("check LOCK_TABLE"), "{err}");
    }
}
