//! The third execution input form, a deployment's lifecycle hook, in its two shapes:
//! - ECS's "ECS Hook State Change" event for a pause hook that is awaiting action (Amazon ECS
//!   Developer Guide, "Pause hooks for Amazon ECS service deployments": ECS emits an EventBridge
//!   event with detail-type `ECS Hook State Change` and event name `HOOK_AWAITING_ACTION`, then
//!   waits for ContinueServiceDeployment);
//! - the payload ECS invokes a Lambda hook with, which the deployment-hook function passes on
//!   as the execution input (Developer Guide, "Lambda hooks for Amazon ECS service
//!   deployments": `executionId`, `lifecycleStage`, `resourceArn` (the service deployment),
//!   `executionDetails.serviceArn`, `executionDetails.targetServiceRevisionArn`).
//!
//! Nothing here talks to AWS; finding the deployment's target revision is validate-event's job.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::common::echo::echo;
use crate::common::error::{ErrorKind, MigrationError};
use crate::migration::event::parse_taskdef;
use crate::migration::settings::Settings;
use crate::ports::deployments::Deployments;

pub(crate) const HOOK_EVENT_SOURCE: &str = "aws.ecs";
pub(crate) const HOOK_EVENT_DETAIL_TYPE: &str = "ECS Hook State Change";
pub(crate) const HOOK_EVENT_NAME: &str = "HOOK_AWAITING_ACTION";

/// How the hook is answered: a pause hook through ContinueServiceDeployment (the state
/// machine's ContinueDeployment / RollBackDeployment states), a Lambda hook by the
/// deployment-hook function's own return value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum HookType {
    Pause,
    AwsLambda,
}

/// The hook a migration runs for, as the event names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookEvent {
    /// The EventBridge event id (a redelivery repeats it).
    pub(crate) event_id: Option<String>,
    pub(crate) hook_type: HookType,
    pub(crate) hook_id: String,
    pub(crate) service_deployment_arn: String,
    pub(crate) service_arn: String,
    pub(crate) cluster_arn: String,
    pub(crate) lifecycle_stage: Option<String>,
    pub(crate) expires_at: Option<String>,
}

/// `Some` when the input is a hook event (by its source and detail-type), checked for shape;
/// `None` for every other input, which [`crate::migration::event::parse_input`] reads.
/// The hook's service is one whose deployments run migrations here (DEPLOYMENT_SERVICES), in
/// this cluster (CLUSTER).
pub(crate) fn check_configured_service(
    settings: &Settings,
    hook: &HookEvent,
) -> Result<(), MigrationError> {
    let service = arn_name(&hook.service_arn);
    if !settings
        .deployment_services
        .iter()
        .any(|s| s == &hook.service_arn || s == service)
    {
        return Err(MigrationError::new(ErrorKind::NotAllowed, format!(
            "service {service:?} is not one whose deployments run migrations here; allowed: [{}] (setting DEPLOYMENT_SERVICES)",
            settings.deployment_services.join(", ")
        )));
    }
    if arn_name(&hook.cluster_arn) != arn_name(&settings.cluster) {
        return Err(MigrationError::new(
            ErrorKind::NotAllowed,
            format!(
                "the hook's cluster {} is not {} (setting CLUSTER)",
                hook.cluster_arn, settings.cluster
            ),
        ));
    }
    Ok(())
}

/// The task definition family a hook event's migration runs, for a configured service's hook:
/// its deployment's target revision's (DescribeServiceDeployments, DescribeServiceRevisions),
/// as validate-event resolved it. `None` for any other input, or when ECS no longer says.
pub(crate) async fn hook_family(
    settings: &Settings,
    deployments: &dyn Deployments,
    input: &Value,
) -> Option<String> {
    let hook = parse_hook_event(input)?.ok()?;
    check_configured_service(settings, &hook).ok()?;
    let deployment = deployments
        .describe_deployment(&hook.service_deployment_arn)
        .await
        .ok()??;
    let revision = deployments
        .describe_revision(deployment.target_revision_arn.as_deref()?)
        .await
        .ok()??;
    let taskdef = parse_taskdef(
        &revision.task_definition,
        "the service revision's taskDefinition",
    );
    taskdef.ok().map(|t| t.family)
}

pub fn parse_hook_event(input: &Value) -> Option<Result<HookEvent, MigrationError>> {
    let object = input.as_object()?;
    if object.contains_key("executionDetails") && object.contains_key("resourceArn") {
        return Some(parse_lambda_payload(object));
    }
    let is_hook = object.get("source").and_then(Value::as_str) == Some(HOOK_EVENT_SOURCE)
        && object.get("detail-type").and_then(Value::as_str) == Some(HOOK_EVENT_DETAIL_TYPE);
    is_hook.then(|| parse(object))
}

/// A Lambda hook's invocation payload. The hook's id is the invocation's `executionId`; the
/// cluster is the one the service ARN (`service/CLUSTER/SERVICE`) names.
fn parse_lambda_payload(object: &Map<String, Value>) -> Result<HookEvent, MigrationError> {
    let Some(Value::Object(details)) = object.get("executionDetails") else {
        return Err(invalid("executionDetails is not an object".into()));
    };
    let service_arn = arn_field(details, "executionDetails.", "serviceArn", "service/")?;
    let Some((prefix, rest)) = service_arn.split_once(":service/") else {
        return Err(invalid(
            "executionDetails.serviceArn names no cluster".into(),
        ));
    };
    let Some((cluster, _service)) = rest.split_once('/') else {
        return Err(invalid(
            "executionDetails.serviceArn is not service/CLUSTER/SERVICE".into(),
        ));
    };
    Ok(HookEvent {
        event_id: None,
        hook_type: HookType::AwsLambda,
        hook_id: text_field(object, "", "executionId")?,
        service_deployment_arn: arn_field(object, "", "resourceArn", "service-deployment/")?,
        cluster_arn: format!("{prefix}:cluster/{cluster}"),
        service_arn,
        lifecycle_stage: optional_text(object, "lifecycleStage"),
        expires_at: None,
    })
}

fn parse(object: &Map<String, Value>) -> Result<HookEvent, MigrationError> {
    let Some(Value::Object(detail)) = object.get("detail") else {
        return Err(invalid("detail is missing or not an object".into()));
    };
    let event_name = text(detail, "eventName")?;
    if event_name != HOOK_EVENT_NAME {
        return Err(invalid(format!(
            "detail.eventName is {}; only {HOOK_EVENT_NAME} starts a migration (match it in the rule's event pattern)",
            echo(&event_name)
        )));
    }
    let hook_type = match text(detail, "hookType")?.as_str() {
        "PAUSE" => HookType::Pause,
        other => {
            return Err(invalid(format!(
                "detail.hookType is {}; the hook event rule takes PAUSE hooks (Lambda hooks invoke the deployment-hook function)",
                echo(other)
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

/// A required string of `detail` of at most 1024 characters (ids and ARNs are far shorter).
fn text(detail: &Map<String, Value>, field: &str) -> Result<String, MigrationError> {
    text_field(detail, "detail.", field)
}

fn text_field(
    object: &Map<String, Value>,
    prefix: &str,
    field: &str,
) -> Result<String, MigrationError> {
    match object.get(field) {
        Some(Value::String(s)) if !s.is_empty() && s.chars().count() <= 1024 => Ok(s.clone()),
        Some(Value::String(s)) if s.is_empty() => Err(invalid(format!("{prefix}{field} is empty"))),
        Some(Value::String(s)) => Err(invalid(format!(
            "{prefix}{field} is {} characters long; at most 1024",
            s.chars().count()
        ))),
        None => Err(invalid(format!("{prefix}{field} is missing"))),
        Some(_) => Err(invalid(format!("{prefix}{field} is not a string"))),
    }
}

fn optional_text(detail: &Map<String, Value>, field: &str) -> Option<String> {
    detail
        .get(field)
        .and_then(Value::as_str)
        .filter(|s| s.len() <= 256)
        .map(str::to_string)
}

/// An ARN of `detail` whose resource starts with `resource`.
fn arn(detail: &Map<String, Value>, field: &str, resource: &str) -> Result<String, MigrationError> {
    arn_field(detail, "detail.", field, resource)
}

/// An ECS ARN whose resource starts with `resource` (`arn:PARTITION:ecs:REGION:ACCOUNT:...`).
fn arn_field(
    object: &Map<String, Value>,
    prefix: &str,
    field: &str,
    resource: &str,
) -> Result<String, MigrationError> {
    let value = text_field(object, prefix, field)?;
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let ok = matches!(parts[..], ["arn", partition, "ecs", _, _, rest]
        if partition.starts_with("aws") && rest.starts_with(resource));
    if ok {
        Ok(value)
    } else {
        Err(invalid(format!(
            "{prefix}{field} is not an ECS ARN of a {}",
            resource.trim_end_matches('/')
        )))
    }
}

/// The name at the end of an ECS ARN (`.../prod/app` is `app`), or the value itself.
pub(crate) fn arn_name(value: &str) -> &str {
    value.rsplit('/').next().unwrap_or(value)
}

fn invalid(message: String) -> MigrationError {
    MigrationError::new(ErrorKind::InvalidEvent, format!("hook event: {message}"))
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

    /// The payload of the Developer Guide's "Lambda hooks" page example.
    fn lambda_payload() -> Value {
        json!({"executionId": "e8d5a28f-eb01-4f3c-9454-a30ba6dc54bc",
               "lifecycleStage": "PRE_SCALE_UP",
               "resourceArn": "arn:aws:ecs:us-west-2:123456789012:service-deployment/my-cluster/my-service/EZe5RNVLH6PPzHXINuP28",
               "executionDetails": {
                   "serviceArn": "arn:aws:ecs:us-west-2:123456789012:service/my-cluster/my-service",
                   "targetServiceRevisionArn": "arn:aws:ecs:us-west-2:123456789012:service-revision/my-cluster/my-service/9313423515462893900",
                   "testTrafficWeights": {}, "productionTrafficWeights": {}},
               "hookDetails": {"approvalChecked": true}})
    }

    #[test]
    fn a_lambda_hook_payload_is_read() {
        let hook = parse_hook_event(&lambda_payload()).unwrap().unwrap();
        assert_eq!(hook.hook_type, HookType::AwsLambda);
        assert_eq!(hook.hook_id, "e8d5a28f-eb01-4f3c-9454-a30ba6dc54bc");
        assert_eq!(
            hook.cluster_arn,
            "arn:aws:ecs:us-west-2:123456789012:cluster/my-cluster"
        );
        assert_eq!(arn_name(&hook.service_arn), "my-service");
        let mut bad = lambda_payload();
        bad["executionDetails"]["serviceArn"] = json!("my-service");
        let err = parse_hook_event(&bad).unwrap().unwrap_err();
        assert!(
            err.message().contains("executionDetails.serviceArn"),
            "{err}"
        );
        let mut bad = lambda_payload();
        bad.as_object_mut().unwrap().remove("executionId");
        let err = parse_hook_event(&bad).unwrap().unwrap_err();
        assert!(err.message().contains("executionId is missing"), "{err}");
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
