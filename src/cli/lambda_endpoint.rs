//! `asl run --lambda-endpoint URL`: Task states that name a Lambda function are invoked through
//! the Lambda Invoke API (aws-sdk-lambda) at URL, such as the endpoint `cargo lambda watch`
//! serves. A function error comes back as `FunctionError` with the
//! `{"errorType", "errorMessage"}` document as the payload; its `errorType` becomes the Task's
//! error and the document its Cause, as Step Functions records it.

use async_trait::async_trait;
use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::primitives::Blob;
use serde_json::Value;

use crate::asl::{
    function_name, invoke_response, is_lambda_invoke, is_placeholder, TaskCall, TaskFailure,
    TaskInvoker,
};
use crate::ports::error_chain;

/// An endpoint URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid --lambda-endpoint '{url}': {reason} (expected e.g. http://127.0.0.1:9000)")]
pub struct LambdaEndpointError {
    pub(crate) url: String,
    pub(crate) reason: &'static str,
}

/// Invokes Lambda functions at one endpoint.
#[derive(Debug, Clone)]
pub struct LambdaEndpointInvoker {
    client: aws_sdk_lambda::Client,
}

/// Which function a Task state calls, and with what.
struct Target {
    name: String,
    qualifier: Option<String>,
    payload: Value,
    /// `lambda:invoke` returns the Invoke response around the payload.
    wrap: bool,
}

impl LambdaEndpointInvoker {
    /// A client for `endpoint`. Local endpoints check no signature, so the requests are signed
    /// with fixed local credentials rather than whatever the environment holds; the SDK does not
    /// retry, so a failure reaches the state's Retry as it would on Step Functions.
    pub fn new(endpoint: &str) -> Result<Self, LambdaEndpointError> {
        let invalid = |reason| LambdaEndpointError {
            url: endpoint.into(),
            reason,
        };
        let rest = endpoint
            .strip_prefix("http://")
            .ok_or_else(|| invalid("only http:// URLs are supported"))?;
        if rest.trim_end_matches('/').is_empty() || rest.contains(char::is_whitespace) {
            return Err(invalid("the URL has no host"));
        }
        let config = aws_sdk_lambda::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(endpoint.trim_end_matches('/'))
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(
                "ecs-migrate-local",
                "ecs-migrate-local",
                None,
                None,
                "ecs-migrate asl run",
            ))
            .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled())
            .build();
        Ok(Self {
            client: aws_sdk_lambda::Client::from_conf(config),
        })
    }

    fn target(call: &TaskCall) -> Result<Target, TaskFailure> {
        if is_lambda_invoke(&call.resource) {
            let name = call
                .input
                .get("FunctionName")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    TaskFailure::unbound(format!(
                        "state '{}': lambda:invoke needs a FunctionName parameter",
                        call.state_name
                    ))
                })?;
            if is_placeholder(name) {
                return Err(placeholder(call, name));
            }
            let (name, qualifier) = function_name(name);
            let qualifier = call
                .input
                .get("Qualifier")
                .and_then(Value::as_str)
                .map(str::to_string)
                .or(qualifier);
            let payload = call.input.get("Payload").cloned().unwrap_or(Value::Null);
            return Ok(Target {
                name,
                qualifier,
                payload,
                wrap: true,
            });
        }
        if is_placeholder(&call.resource) {
            return Err(placeholder(call, &call.resource));
        }
        if !call.resource.starts_with("arn:aws:lambda:") {
            return Err(TaskFailure::unbound(format!(
                "state '{}': resource '{}' is not a Lambda function; --lambda-endpoint only runs Lambda tasks (mock the others with --mock-config)",
                call.state_name, call.resource
            )));
        }
        let (name, qualifier) = function_name(&call.resource);
        Ok(Target {
            name,
            qualifier,
            payload: call.input.clone(),
            wrap: false,
        })
    }
}

fn placeholder(call: &TaskCall, what: &str) -> TaskFailure {
    TaskFailure::unbound(format!(
        "state '{}': '{what}' is a Terraform placeholder, not a function; render the definition first or mock the state with --mock-config",
        call.state_name
    ))
}

#[async_trait]
impl TaskInvoker for LambdaEndpointInvoker {
    async fn invoke(&self, call: TaskCall) -> Result<Value, TaskFailure> {
        let target = Self::target(&call)?;
        let body = serde_json::to_vec(&target.payload).map_err(|e| {
            TaskFailure::new(
                "Lambda.SdkClientException",
                format!("encoding the payload: {e}"),
            )
        })?;
        let output = self
            .client
            .invoke()
            .function_name(&target.name)
            .set_qualifier(target.qualifier)
            .payload(Blob::new(body))
            .send()
            .await
            .map_err(invoke_failure)?;
        let payload = output.payload().map(Blob::as_ref).unwrap_or_default();
        let text = String::from_utf8_lossy(payload);
        if output.function_error().is_some() {
            // Step Functions names the failure by the document's errorType.
            let error = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("errorType").and_then(Value::as_str).map(String::from))
                .unwrap_or_else(|| "Lambda.Unknown".to_string());
            return Err(TaskFailure::new(error, text));
        }
        let result: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|e| {
                TaskFailure::new(
                    "Lambda.InvalidResponseException",
                    format!("the function returned invalid JSON: {e}"),
                )
            })?
        };
        Ok(if target.wrap {
            invoke_response(result)
        } else {
            result
        })
    }
}

/// An Invoke call that failed, named as Step Functions names Lambda's errors: `Lambda.` and
/// the API's error code (ResourceNotFoundException, TooManyRequestsException, ...), or
/// `Lambda.SdkClientException` when no answer came.
fn invoke_failure<E, R>(err: SdkError<E, R>) -> TaskFailure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    match &err {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            let code = inner.code().unwrap_or("ServiceException");
            let message = inner.message().unwrap_or_default();
            TaskFailure::new(format!("Lambda.{code}"), message)
        }
        _ => TaskFailure::new("Lambda.SdkClientException", error_chain(&err)),
    }
}
