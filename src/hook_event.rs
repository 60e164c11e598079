//! The third execution input form: ECS's "ECS Hook State Change" event for a pause hook that is
//! awaiting action (Amazon ECS Developer Guide, "Pause hooks for Amazon ECS service
//! deployments": ECS emits an EventBridge event with detail-type `ECS Hook State Change` and
//! event name `HOOK_AWAITING_ACTION`, then waits for ContinueServiceDeployment). Nothing here
//! talks to AWS; finding the deployment's target revision is validate-event's job.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::MigrationError;

pub const HOOK_EVENT_SOURCE: &str = "aws.ecs";
pub const HOOK_EVENT_DETAIL_TYPE: &str = "ECS Hook State Change";
pub const HOOK_EVENT_NAME: &str = "HOOK_AWAITING_ACTION";

/// How the hook is answered: a pause hook through ContinueServiceDeployment (the state
/// machine's ContinueDeployment / RollBackDeployment states), a Lambda hook by the
/// deployment-hook function's own return value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HookType {
    Pause,
    AwsLambda,
}

/// The hook a migration runs for, as the event names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookEvent {
    /// The EventBridge event id (a redelivery repeats it).
    pub event_id: Option<String>,
    pub hook_type: HookType,
    pub hook_id: String,
    pub service_deployment_arn: String,
    pub service_arn: String,
    pub cluster_arn: String,
    pub lifecycle_stage: Option<String>,
    pub expires_at: Option<String>,
}

/// `Some` when the input is a hook event (by its source and detail-type), checked for shape;
/// `None` for every other input, which [`crate::request::parse_input`] reads.
pub fn parse_hook_event(input: &Value) -> Option<Result<HookEvent, MigrationError>> {
    let object = input.as_object()?;
    let is_hook = object.get("source").and_then(Value::as_str) == Some(HOOK_EVENT_SOURCE)
        && object.get("detail-type").and_then(Value::as_str) == Some(HOOK_EVENT_DETAIL_TYPE);
    is_hook.then(|| parse(object))
}

fn parse(object: &Map<String, Value>) -> Result<HookEvent, MigrationError> {
    let Some(Value::Object(detail)) = object.get("detail") else {
        return Err(invalid("detail is missing or not an object".into()));
    };
    let event_name = text(detail, "eventName")?;
    if event_name != HOOK_EVENT_NAME {
        return Err(invalid(format!(
            "detail.eventName is {event_name:?}; only {HOOK_EVENT_NAME} starts a migration (match it in the rule's event pattern)"
        )));
    }
    let hook_type = match text(detail, "hookType")?.as_str() {
        "PAUSE" => HookType::Pause,
        other => {
            return Err(invalid(format!(
                "detail.hookType is {other:?}; the hook event rule takes PAUSE hooks (Lambda hooks invoke the deployment-hook function)"
            )))
        }
    };
    let event_id = object
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty() && id.len() <= 256)
        .map(str::to_string);
    Ok(HookEvent {
        event_id,
        hook_type,
        hook_id: text(detail, "hookId")?,
        service_deployment_arn: arn(detail, "serviceDeploymentArn", "service-deployment/")?,
        service_arn: arn(detail, "serviceArn", "service/")?,
        cluster_arn: arn(detail, "clusterArn", "cluster/")?,
        lifecycle_stage: optional_text(detail, "lifecycleStage"),
        expires_at: optional_text(detail, "expiresAt"),
    })
}

/// A required string of at most 1024 characters (ids and ARNs are far shorter).
fn text(detail: &Map<String, Value>, field: &str) -> Result<String, MigrationError> {
    match detail.get(field) {
        Some(Value::String(s)) if !s.is_empty() && s.len() <= 1024 => Ok(s.clone()),
        Some(Value::String(s)) if s.is_empty() => Err(invalid(format!("detail.{field} is empty"))),
        Some(Value::String(s)) => Err(invalid(format!(
            "detail.{field} is {} characters long",
            s.len()
        ))),
        None => Err(invalid(format!("detail.{field} is missing"))),
        Some(_) => Err(invalid(format!("detail.{field} is not a string"))),
    }
}

fn optional_text(detail: &Map<String, Value>, field: &str) -> Option<String> {
    detail
        .get(field)
        .and_then(Value::as_str)
        .filter(|s| s.len() <= 256)
        .map(str::to_string)
}

/// An ECS ARN whose resource starts with `resource` (`arn:PARTITION:ecs:REGION:ACCOUNT:...`).
fn arn(detail: &Map<String, Value>, field: &str, resource: &str) -> Result<String, MigrationError> {
    let value = text(detail, field)?;
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let ok = matches!(parts[..], ["arn", partition, "ecs", _, _, rest]
        if partition.starts_with("aws") && rest.starts_with(resource));
    if ok {
        Ok(value)
    } else {
        Err(invalid(format!(
            "detail.{field} is not an ECS ARN of a {}",
            resource.trim_end_matches('/')
        )))
    }
}

/// The name at the end of an ECS ARN (`.../prod/app` is `app`), or the value itself.
pub fn arn_name(value: &str) -> &str {
    value.rsplit('/').next().unwrap_or(value)
}

fn invalid(message: String) -> MigrationError {
    MigrationError::InvalidEvent(format!("hook event: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(detail: Value) -> Value {
        json!({"version": "0", "id": "e-1", "detail-type": HOOK_EVENT_DETAIL_TYPE,
               "source": HOOK_EVENT_SOURCE, "account": "123456789012", "region": "eu-west-1",
               "time": "2026-11-25T12:00:00Z", "resources": [], "detail": detail})
    }

    fn detail() -> Value {
        json!({"eventName": "HOOK_AWAITING_ACTION", "hookType": "PAUSE", "hookId": "ecs-pause-1",
               "lifecycleStage": "PRE_SCALE_UP",
               "clusterArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
               "serviceArn": "arn:aws:ecs:eu-west-1:123456789012:service/prod/app",
               "serviceDeploymentArn": "arn:aws:ecs:eu-west-1:123456789012:service-deployment/prod/app/d1",
               "expiresAt": "2026-11-26T12:00:00Z"})
    }

    #[test]
    fn other_inputs_are_not_hook_events() {
        assert!(parse_hook_event(&json!({"taskdef_arn": "app"})).is_none());
        assert!(parse_hook_event(&json!("x")).is_none());
        let mut other = event(detail());
        other["detail-type"] = json!("ECS Task State Change");
        assert!(parse_hook_event(&other).is_none());
    }

    #[test]
    fn a_pause_hook_event_is_read() {
        let hook = parse_hook_event(&event(detail())).unwrap().unwrap();
        assert_eq!(hook.hook_id, "ecs-pause-1");
        assert_eq!(hook.hook_type, HookType::Pause);
        assert_eq!(hook.event_id.as_deref(), Some("e-1"));
        assert_eq!(arn_name(&hook.service_arn), "app");
        assert_eq!(hook.lifecycle_stage.as_deref(), Some("PRE_SCALE_UP"));
    }

    #[test]
    fn malformed_hook_events_name_their_field() {
        let cases = [
            (
                "eventName",
                json!("HOOK_SUCCEEDED"),
                "only HOOK_AWAITING_ACTION",
            ),
            ("hookType", json!("AWS_LAMBDA"), "detail.hookType"),
            ("hookId", json!(""), "detail.hookId is empty"),
            ("hookId", json!(7), "detail.hookId is not a string"),
            (
                "serviceArn",
                json!("app"),
                "detail.serviceArn is not an ECS ARN",
            ),
            (
                "serviceDeploymentArn",
                json!("arn:aws:ecs:eu-west-1:123456789012:service/prod/app"),
                "service-deployment",
            ),
        ];
        for (field, value, fragment) in cases {
            let mut d = detail();
            d[field] = value;
            let err = parse_hook_event(&event(d)).unwrap().unwrap_err();
            assert_eq!(err.name(), "Migration.InvalidEvent");
            assert!(err.message().contains(fragment), "{field}: {err}");
        }
        let mut missing = detail();
        missing.as_object_mut().unwrap().remove("clusterArn");
        let err = parse_hook_event(&event(missing)).unwrap().unwrap_err();
        assert!(
            err.message().contains("detail.clusterArn is missing"),
            "{err}"
        );
    }
}
