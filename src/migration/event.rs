//! The execution input, checked: the EventBridge envelope as the rule delivers it, or the bare
//! `{"taskdef_arn": ...}` of `aws stepfunctions start-execution` and CI.
//! Nothing here talks to AWS; resolving the task definition is validate-event's job.

use serde_json::{Map, Value};

use crate::common::echo::echo;
use crate::common::error::{ErrorKind, MigrationError};
use crate::migration::settings::Settings;

pub(crate) const EVENT_SOURCE: &str = "ecs.migration";
pub(crate) const EVENT_DETAIL_TYPE: &str = "AWS ECS Migration Task";

/// Longest `taskdef_arn` accepted: an ARN is at most a few hundred characters, so anything
/// longer is a mistake (or an attempt to fill the execution history).
const MAX_TASKDEF_LEN: usize = 1024;

/// Fields that would choose what runs or where; they come from Settings only.
const FORBIDDEN_FIELDS: [&str; 6] = [
    "command",
    "overrides",
    "containerOverrides",
    "cluster",
    "container",
    "taskRoleArn",
];

/// A task definition as the input names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskDefRef {
    /// As written, to pass to ecs:DescribeTaskDefinition.
    pub(crate) raw: String,
    pub(crate) family: String,
    pub(crate) revision: Option<i32>,
    /// From a full ARN only.
    pub(crate) region: Option<String>,
    pub(crate) account: Option<String>,
}

/// The execution input, checked for shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationInput {
    pub(crate) task_definition: TaskDefRef,
    /// The EventBridge event `id`, when the input is an event (a redelivery repeats it).
    pub(crate) event_id: Option<String>,
}

/// Parses the execution input. Every rejection is `Migration.InvalidEvent` (shape) or
/// `Migration.NotAllowed` (a field that would choose the command), naming the field.
pub fn parse_input(input: &Value) -> Result<MigrationInput, MigrationError> {
    let Value::Object(object) = input else {
        return Err(invalid(format!(
            "the execution input is {}, not an object; send {{\"taskdef_arn\": \"family:revision\"}} or the EventBridge event",
            kind(input)
        )));
    };
    let is_envelope = ["detail", "detail-type", "source"]
        .iter()
        .any(|k| object.contains_key(*k));
    if !is_envelope {
        let task_definition = parse_detail(object, "")?;
        return Ok(MigrationInput {
            task_definition,
            event_id: None,
        });
    }

    expect_string(object, "source", EVENT_SOURCE)?;
    expect_string(object, "detail-type", EVENT_DETAIL_TYPE)?;
    let event_id = match object.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if !id.is_empty() && id.chars().count() <= 256 => Some(id.clone()),
        Some(other) => {
            return Err(invalid(format!(
                "id is {}; an EventBridge event id is a non-empty string of at most 256 characters",
                kind(other)
            )))
        }
    };
    let parsed_detail;
    let detail = match object.get("detail") {
        Some(Value::Object(detail)) => detail,
        // PutEvents takes Detail as a JSON string; a hand-made envelope may keep it that way.
        Some(Value::String(text)) => {
            parsed_detail = serde_json::from_str::<Value>(text).map_err(|e| {
                invalid(format!("detail is a string that is not JSON ({e}); send detail as an object: {{\"taskdef_arn\": \"...\"}}"))
            })?;
            match &parsed_detail {
                Value::Object(detail) => detail,
                other => {
                    return Err(invalid(format!(
                        "detail is a JSON string holding {}, not an object; send {{\"taskdef_arn\": \"...\"}}",
                        kind(other)
                    )))
                }
            }
        }
        None => {
            return Err(invalid(
                "detail is missing; the event must carry {\"taskdef_arn\": \"...\"} in detail"
                    .into(),
            ))
        }
        Some(other) => {
            return Err(invalid(format!(
                "detail is {}, not an object; send {{\"taskdef_arn\": \"...\"}}",
                kind(other)
            )))
        }
    };
    let task_definition = parse_detail(detail, "detail.")?;
    Ok(MigrationInput {
        task_definition,
        event_id,
    })
}

fn parse_detail(detail: &Map<String, Value>, prefix: &str) -> Result<TaskDefRef, MigrationError> {
    if let Some(field) = FORBIDDEN_FIELDS.iter().find(|f| detail.contains_key(**f)) {
        return Err(MigrationError::new(ErrorKind::NotAllowed, format!(
            "{prefix}{field} is not accepted: the command, container and cluster come from the deployment's settings, never from the event; send only {{\"taskdef_arn\": \"...\"}}"
        )));
    }
    let field = format!("{prefix}taskdef_arn");
    match detail.get("taskdef_arn") {
        None => Err(invalid(format!(
            "{field} is missing; give the task definition ARN, family:revision or family"
        ))),
        Some(Value::String(raw)) => parse_taskdef(raw, &field),
        Some(other) => Err(invalid(format!(
            "{field} is {}, not a string; give the task definition ARN, family:revision or family",
            kind(other)
        ))),
    }
}

/// Parses a full task definition ARN, `family:revision` or `family`.
/// The task definition is of a family in ALLOWED_FAMILIES, in ACCOUNT_ID and AWS_REGION (when
/// set): checked by validate-event, and again by every step that uses it.
pub(crate) fn check_allowed(
    settings: &Settings,
    taskdef: &TaskDefRef,
) -> Result<(), MigrationError> {
    if !settings.allowed_families.contains(&taskdef.family) {
        return Err(MigrationError::new(ErrorKind::NotAllowed, format!(
            "task definition family {:?} is not allowed here; allowed: {} (setting ALLOWED_FAMILIES)",
            taskdef.family,
            settings.allowed_families.join(", ")
        )));
    }
    check_same(
        "account",
        taskdef.account.as_deref(),
        settings.account_id.as_deref(),
    )?;
    check_same(
        "region",
        taskdef.region.as_deref(),
        settings.region.as_deref(),
    )
}

fn check_same(
    what: &str,
    given: Option<&str>,
    expected: Option<&str>,
) -> Result<(), MigrationError> {
    match (given, expected) {
        (Some(given), Some(expected)) if given != expected => Err(MigrationError::new(ErrorKind::NotAllowed, format!(
            "the task definition is in {what} {given}, but this deployment runs migrations in {what} {expected}"
        ))),
        _ => Ok(()),
    }
}

pub(crate) fn parse_taskdef(raw: &str, field: &str) -> Result<TaskDefRef, MigrationError> {
    let length = raw.chars().count();
    if length > MAX_TASKDEF_LEN {
        return Err(invalid(format!(
            "{field} is {length} characters long; a task definition ARN is at most {MAX_TASKDEF_LEN}"
        )));
    }
    let value = raw.trim();
    if value.is_empty() {
        return Err(invalid(format!(
            "{field} is empty; give the task definition ARN, family:revision or family"
        )));
    }
    let (family_revision, region, account) = if let Some(rest) = value.strip_prefix("arn:") {
        // arn:PARTITION:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        let [partition, service, region, account, resource] = parts[..] else {
            return Err(bad_arn(field, value));
        };
        let Some(family_revision) = resource.strip_prefix("task-definition/") else {
            return Err(bad_arn(field, value));
        };
        let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        let region_ok = !region.is_empty()
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !partition.starts_with("aws") || service != "ecs" || !account_ok || !region_ok {
            return Err(bad_arn(field, value));
        }
        if !family_revision.contains(':') {
            return Err(invalid(format!(
                "{field} {} is an ARN without a revision; a task definition ARN ends in :REVISION",
                echo(value)
            )));
        }
        (
            family_revision,
            Some(region.to_string()),
            Some(account.to_string()),
        )
    } else {
        (value, None, None)
    };
    let (family, revision) = match family_revision.split_once(':') {
        Some((family, revision)) => {
            let revision: i32 = revision.parse().ok().filter(|r| *r > 0).ok_or_else(|| {
                invalid(format!(
                    "{field} {} has revision {}; a revision is a whole number from 1",
                    echo(value),
                    echo(revision)
                ))
            })?;
            (family, Some(revision))
        }
        None => (family_revision, None),
    };
    let family_ok = !family.is_empty()
        && family.len() <= 255
        && family
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !family_ok {
        return Err(invalid(format!(
            "{field} {} has family {}; a family is 1-255 letters, digits, hyphens and underscores",
            echo(value),
            echo(family)
        )));
    }
    Ok(TaskDefRef {
        raw: value.to_string(),
        family: family.to_string(),
        revision,
        region,
        account,
    })
}

fn expect_string(
    object: &Map<String, Value>,
    field: &str,
    expected: &str,
) -> Result<(), MigrationError> {
    match object.get(field) {
        Some(Value::String(s)) if s == expected => Ok(()),
        Some(Value::String(s)) => Err(invalid(format!(
            "{field} is {}; this state machine takes events with {field} {expected:?}",
            echo(s)
        ))),
        None => Err(invalid(format!(
            "{field} is missing; an EventBridge migration event has {field} {expected:?}"
        ))),
        Some(other) => Err(invalid(format!(
            "{field} is {}, not the string {expected:?}",
            kind(other)
        ))),
    }
}

fn bad_arn(field: &str, value: &str) -> MigrationError {
    invalid(format!(
        "{field} {} is not a task definition ARN; expected arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION, family:revision or family",
        echo(value)
    ))
}

fn invalid(message: String) -> MigrationError {
    MigrationError::new(ErrorKind::InvalidEvent, message)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:ecs:eu-west-1:123456789012:task-definition/app:42";

    fn envelope(detail: Value) -> Value {
        json!({
            "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": EVENT_DETAIL_TYPE, "source": EVENT_SOURCE,
            "account": "123456789012", "time": "2026-11-25T12:00:00Z", "region": "eu-west-1",
            "resources": [], "detail": detail
        })
    }

    #[test]
    fn accepted_inputs() {
        let cases = [
            (envelope(json!({"taskdef_arn": ARN})), "app", Some(42), true),
            (
                envelope(json!(format!("{{\"taskdef_arn\": \"{ARN}\"}}"))),
                "app",
                Some(42),
                true,
            ),
            (json!({"taskdef_arn": ARN}), "app", Some(42), false),
            (json!({"taskdef_arn": "app:7"}), "app", Some(7), false),
            (json!({"taskdef_arn": "my_app-2"}), "my_app-2", None, false),
            (
                json!({"taskdef_arn": "app", "git_sha": "abc"}),
                "app",
                None,
                false,
            ),
            (
                json!({"taskdef_arn": "arn:aws-cn:ecs:cn-north-1:123456789012:task-definition/app:1"}),
                "app",
                Some(1),
                false,
            ),
        ];
        for (input, family, revision, has_id) in cases {
            let parsed = parse_input(&input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(parsed.task_definition.family, family, "{input}");
            assert_eq!(parsed.task_definition.revision, revision, "{input}");
            assert_eq!(parsed.event_id.is_some(), has_id, "{input}");
        }
        let arn = parse_input(&json!({"taskdef_arn": ARN}))
            .unwrap()
            .task_definition;
        assert_eq!(arn.region.as_deref(), Some("eu-west-1"));
        assert_eq!(arn.account.as_deref(), Some("123456789012"));
    }

    #[test]
    fn rejected_inputs_name_their_field() {
        let huge = "a".repeat(1_000_000);
        let cases: Vec<(Value, &str, &str)> = vec![
            (json!("app"), "Migration.InvalidEvent", "execution input"),
            (json!([]), "Migration.InvalidEvent", "execution input"),
            (
                json!({}),
                "Migration.InvalidEvent",
                "taskdef_arn is missing",
            ),
            (
                json!({"taskdef_arn": 42}),
                "Migration.InvalidEvent",
                "taskdef_arn is a number",
            ),
            (
                json!({"taskdef_arn": null}),
                "Migration.InvalidEvent",
                "taskdef_arn is null",
            ),
            (
                json!({"taskdef_arn": ""}),
                "Migration.InvalidEvent",
                "taskdef_arn is empty",
            ),
            (
                json!({"taskdef_arn": huge}),
                "Migration.InvalidEvent",
                "taskdef_arn is 1000000 characters",
            ),
            (
                json!({"taskdef_arn": "app:0"}),
                "Migration.InvalidEvent",
                "revision",
            ),
            (
                json!({"taskdef_arn": "app:x"}),
                "Migration.InvalidEvent",
                "revision",
            ),
            (
                json!({"taskdef_arn": "a pp"}),
                "Migration.InvalidEvent",
                "family",
            ),
            (
                json!({"taskdef_arn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/app"}),
                "Migration.InvalidEvent",
                "without a revision",
            ),
            (
                json!({"taskdef_arn": "arn:aws:ecs:eu-west-1:123456789012:service/app"}),
                "Migration.InvalidEvent",
                "not a task definition ARN",
            ),
            (
                json!({"taskdef_arn": "arn:aws:s3:eu-west-1:123456789012:task-definition/app:1"}),
                "Migration.InvalidEvent",
                "not a task definition ARN",
            ),
            (
                json!({"taskdef_arn": "arn:aws:ecs:eu-west-1:1234:task-definition/app:1"}),
                "Migration.InvalidEvent",
                "not a task definition ARN",
            ),
            (
                json!({"taskdef_arn": "app", "command": ["rm", "-rf"]}),
                "Migration.NotAllowed",
                "command is not accepted",
            ),
            (
                envelope(json!({"taskdef_arn": "app", "overrides": {}})),
                "Migration.NotAllowed",
                "detail.overrides",
            ),
            (
                envelope(json!({})),
                "Migration.InvalidEvent",
                "detail.taskdef_arn is missing",
            ),
            (
                envelope(json!("{not json")),
                "Migration.InvalidEvent",
                "detail is a string that is not JSON",
            ),
            (
                envelope(json!("[1]")),
                "Migration.InvalidEvent",
                "detail is a JSON string holding an array",
            ),
            (
                envelope(json!(7)),
                "Migration.InvalidEvent",
                "detail is a number",
            ),
            (
                json!({"source": "ecs.migration", "detail-type": EVENT_DETAIL_TYPE}),
                "Migration.InvalidEvent",
                "detail is missing",
            ),
            (
                json!({"source": "aws.ecs", "detail-type": EVENT_DETAIL_TYPE, "detail": {"taskdef_arn": "app"}}),
                "Migration.InvalidEvent",
                "source is \"aws.ecs\"",
            ),
            (
                json!({"source": EVENT_SOURCE, "detail-type": "Other", "detail": {"taskdef_arn": "app"}}),
                "Migration.InvalidEvent",
                "detail-type is \"Other\"",
            ),
            (
                json!({"source": EVENT_SOURCE, "detail": {"taskdef_arn": "app"}}),
                "Migration.InvalidEvent",
                "detail-type is missing",
            ),
            (
                json!({"source": 1, "detail-type": EVENT_DETAIL_TYPE, "detail": {"taskdef_arn": "app"}}),
                "Migration.InvalidEvent",
                "source is a number",
            ),
            (
                json!({"id": 5, "source": EVENT_SOURCE, "detail-type": EVENT_DETAIL_TYPE, "detail": {"taskdef_arn": "app"}}),
                "Migration.InvalidEvent",
                "id is a number",
            ),
        ];
        for (input, name, fragment) in cases {
            let err = parse_input(&input).expect_err(&format!("{input} should be rejected"));
            assert_eq!(err.name(), name, "{input}: {err}");
            assert!(err.message().contains(fragment), "{input}: {err}");
            assert!(err.message().len() < 400, "cause too long: {err}");
        }
    }

    /// Lengths are counted in characters, and echoed values are cut to 120 of them.
    #[test]
    fn lengths_count_characters_and_echoes_are_cut() {
        // 700 characters, 1,400 bytes: within the 1,024-character bound, so it is parsed.
        let wide = format!("{}:1", "é".repeat(700));
        let err = parse_input(&json!({"taskdef_arn": wide})).unwrap_err();
        assert!(!err.message().contains("characters long"), "{err}");
        assert!(err.message().contains("(702 characters)"), "{err}");
        assert!(err.message().chars().count() < 400, "{err}");
        let over = "é".repeat(1_025);
        let err = parse_input(&json!({"taskdef_arn": over})).unwrap_err();
        assert!(err.message().contains("is 1025 characters long"), "{err}");
        let source = "x".repeat(5_000);
        let event = json!({"source": source, "detail-type": "d", "detail": {}});
        let err = parse_input(&event).unwrap_err();
        assert!(err.message().contains("... (5000 characters)"), "{err}");
        assert!(err.message().chars().count() < 400, "{err}");
    }
}
