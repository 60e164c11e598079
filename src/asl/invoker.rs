//! Task bindings: the [`TaskInvoker`] trait the engine calls for every Task state, and the
//! in-process [`RegistryInvoker`]. The mock-file invoker lives in `mock.rs`, the CLI's
//! Lambda-endpoint invoker in `crate::cli`. The engine never knows which one it talks to.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;
use serde_json::{json, Value};

/// A Task state's call, as the engine makes it.
#[derive(Debug, Clone)]
pub struct TaskCall {
    /// The `Resource` field as written in the definition.
    pub resource: String,
    pub state_name: String,
    /// The effective parameters (state input after InputPath and Parameters).
    pub input: Value,
    /// The context object (`$$`).
    pub(crate) context: Value,
    /// Call [`Heartbeat::beat`] to report progress when the state sets `HeartbeatSeconds`.
    pub heartbeat: Heartbeat,
}

/// How a task failed: `error` is the Lambda `errorType` or a `States.*` name, `cause` the
/// message (for Lambda, the error JSON). An invoker returns `States.Runtime` for a binding
/// problem (no handler, no mocked response): the execution then fails, uncatchable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {cause}")]
pub struct TaskFailure {
    pub(crate) error: String,
    pub cause: String,
}

impl TaskFailure {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            cause: cause.into(),
        }
    }

    /// A binding problem: the execution fails with `States.Runtime`.
    pub fn unbound(cause: impl Into<String>) -> Self {
        Self::new("States.Runtime", cause)
    }
}

/// Runs the work behind a Task state.
#[async_trait]
pub trait TaskInvoker: Send + Sync {
    async fn invoke(&self, call: TaskCall) -> Result<Value, TaskFailure>;
}

/// Liveness reports from a running task (`SendTaskHeartbeat` for local bindings).
#[derive(Debug, Clone, Default)]
pub struct Heartbeat(Arc<AtomicU64>);

impl Heartbeat {
    pub fn beat(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn count(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// What kind of integration a Resource names; decides the history event types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ResourceKind {
    /// `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`.
    LambdaFunction { name: String },
    /// `arn:aws:states:REGION:ACCOUNT:activity:NAME`.
    Activity,
    /// `arn:aws:states:::SERVICE:ACTION[.sync|.waitForTaskToken]` (and anything else).
    Service {
        resource_type: String,
        resource: String,
        region: Option<String>,
    },
}

pub(crate) fn classify(resource: &str) -> ResourceKind {
    let parts: Vec<&str> = resource.split(':').collect();
    if parts.len() >= 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function" {
        return ResourceKind::LambdaFunction {
            name: parts[6].to_string(),
        };
    }
    if parts.len() >= 7 && parts[0] == "arn" && parts[2] == "states" && parts[5] == "activity" {
        return ResourceKind::Activity;
    }
    if parts.len() >= 7 && parts[0] == "arn" && parts[2] == "states" {
        // arn:aws:states:::lambda:invoke -> ("lambda", "invoke");
        // arn:aws:states:::aws-sdk:ecs:runTask -> ("aws-sdk:ecs", "runTask").
        let rest = &parts[5..];
        let (ty, res) = rest.split_at(rest.len() - 1);
        return ResourceKind::Service {
            resource_type: ty.join(":"),
            resource: res.join(":"),
            region: Some(parts[3]).filter(|r| !r.is_empty()).map(String::from),
        };
    }
    ResourceKind::Service {
        resource_type: "unknown".into(),
        resource: resource.to_string(),
        region: None,
    }
}

/// True for `arn:aws:states:::lambda:invoke` (optionally `.waitForTaskToken`), whose input
/// holds `FunctionName` and `Payload` and whose result is the Invoke response.
pub(crate) fn is_lambda_invoke(resource: &str) -> bool {
    let r = resource.trim();
    r.ends_with(":states:::lambda:invoke")
        || r.ends_with(":states:::lambda:invoke.waitForTaskToken")
}

/// The function name in a name, a partial ARN (`ACCOUNT:function:NAME`) or a full ARN,
/// with its qualifier if any: `("NAME", Some("alias"))`.
pub(crate) fn function_name(name_or_arn: &str) -> (String, Option<String>) {
    let parts: Vec<&str> = name_or_arn.split(':').collect();
    match parts.iter().position(|p| *p == "function") {
        Some(i) if i + 1 < parts.len() => (
            parts[i + 1].to_string(),
            parts.get(i + 2).map(|q| q.to_string()),
        ),
        _ => match parts.as_slice() {
            [name, qualifier] => (name.to_string(), Some(qualifier.to_string())),
            _ => (name_or_arn.to_string(), None),
        },
    }
}

/// A `${...}` Terraform placeholder left in a Resource.
pub(crate) fn is_placeholder(resource: &str) -> bool {
    resource.contains("${")
}

/// The Lambda Invoke response shape the `lambda:invoke` integration returns.
pub(crate) fn invoke_response(payload: Value) -> Value {
    json!({
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {"HttpStatusCode": 200},
        "StatusCode": 200
    })
}

type Handler =
    Arc<dyn Fn(TaskCall) -> BoxFuture<'static, Result<Value, TaskFailure>> + Send + Sync>;

/// Binds resources to async closures running in this process.
///
/// A handler is found by the exact `Resource` string, or for a Lambda resource (a function
/// ARN, or `arn:aws:states:::lambda:invoke` with its `FunctionName`) by the function name. For
/// `lambda:invoke` the handler receives the `Payload` as its input and its result is wrapped
/// in the Invoke response (`{"Payload": ..., "StatusCode": 200, ...}`).
#[derive(Clone, Default)]
pub struct RegistryInvoker {
    handlers: HashMap<String, Handler>,
}

impl std::fmt::Debug for RegistryInvoker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut keys: Vec<_> = self.handlers.keys().collect();
        keys.sort();
        f.debug_struct("RegistryInvoker")
            .field("handlers", &keys)
            .finish()
    }
}

impl RegistryInvoker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `handler` for a Resource string or a Lambda function name.
    pub fn register<F, Fut>(mut self, name: impl Into<String>, handler: F) -> Self
    where
        F: Fn(TaskCall) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, TaskFailure>> + Send + 'static,
    {
        self.handlers
            .insert(name.into(), Arc::new(move |call| Box::pin(handler(call))));
        self
    }

    fn find(&self, keys: &[&str]) -> Option<&Handler> {
        keys.iter().find_map(|k| self.handlers.get(*k))
    }
}

#[async_trait]
impl TaskInvoker for RegistryInvoker {
    async fn invoke(&self, call: TaskCall) -> Result<Value, TaskFailure> {
        if is_lambda_invoke(&call.resource) {
            let target = call
                .input
                .get("FunctionName")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| {
                    TaskFailure::unbound(format!(
                        "state '{}': lambda:invoke needs a FunctionName parameter",
                        call.state_name
                    ))
                })?;
            let (name, _) = function_name(&target);
            let handler = self
                .find(&[call.resource.as_str(), target.as_str(), name.as_str()])
                .cloned()
                .ok_or_else(|| {
                    TaskFailure::unbound(format!(
                        "state '{}': no handler registered for Lambda function '{target}'",
                        call.state_name
                    ))
                })?;
            let payload = call.input.get("Payload").cloned().unwrap_or(Value::Null);
            let out = handler(TaskCall {
                input: payload,
                ..call
            })
            .await?;
            return Ok(invoke_response(out));
        }
        let mut keys = vec![call.resource.as_str()];
        let name;
        if let ResourceKind::LambdaFunction { name: n } = classify(&call.resource) {
            name = n;
            keys.push(&name);
        }
        let Some(handler) = self.find(&keys).cloned() else {
            let hint = if is_placeholder(&call.resource) {
                " (it is a Terraform placeholder: register a handler under this exact string)"
            } else {
                ""
            };
            return Err(TaskFailure::unbound(format!(
                "state '{}': no handler registered for resource '{}'{hint}",
                call.state_name, call.resource
            )));
        };
        handler(call).await
    }
}

/// Fails every task with `States.Runtime`: no binding was given for it.
#[derive(Debug, Clone, Default)]
pub struct UnboundInvoker;

impl UnboundInvoker {
    /// The Cause it fails `call` with; a host adds how to bind tasks in its own terms.
    pub(crate) fn cause(call: &TaskCall) -> String {
        format!(
            "state '{}' (resource '{}') has no binding",
            call.state_name, call.resource
        )
    }
}

#[async_trait]
impl TaskInvoker for UnboundInvoker {
    async fn invoke(&self, call: TaskCall) -> Result<Value, TaskFailure> {
        Err(TaskFailure::unbound(Self::cause(&call)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_classified() {
        assert_eq!(
            classify("arn:aws:lambda:us-east-1:123456789012:function:ValidateEvent"),
            ResourceKind::LambdaFunction {
                name: "ValidateEvent".into()
            }
        );
        assert_eq!(
            classify("arn:aws:states:::lambda:invoke"),
            ResourceKind::Service {
                resource_type: "lambda".into(),
                resource: "invoke".into(),
                region: None
            }
        );
        assert_eq!(
            classify("arn:aws:states:::aws-sdk:ecs:runTask"),
            ResourceKind::Service {
                resource_type: "aws-sdk:ecs".into(),
                resource: "runTask".into(),
                region: None
            }
        );
        assert_eq!(
            classify("arn:aws:states:us-east-1:1:activity:x"),
            ResourceKind::Activity
        );
        assert!(matches!(classify("${Fn}"), ResourceKind::Service { .. }));
        assert!(is_lambda_invoke("arn:aws:states:::lambda:invoke"));
        assert!(is_placeholder("${ValidateEventArn}"));
    }

    #[test]
    fn function_names() {
        assert_eq!(function_name("my-fn"), ("my-fn".into(), None));
        assert_eq!(
            function_name("my-fn:live"),
            ("my-fn".into(), Some("live".into()))
        );
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:1:function:my-fn:3"),
            ("my-fn".into(), Some("3".into()))
        );
        assert_eq!(function_name("1:function:my-fn"), ("my-fn".into(), None));
    }
}
