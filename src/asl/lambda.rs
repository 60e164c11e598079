//! A [`TaskInvoker`] that calls Lambda functions through a Lambda Invoke endpoint, such as
//! the one `cargo lambda watch` serves: `POST {endpoint}/2015-03-31/functions/{name}/invocations`
//! with the event as the body. A function error comes back with the `X-Amz-Function-Error`
//! header and a `{"errorType", "errorMessage"}` body; its `errorType` becomes the Task's error.
//!
//! Plain HTTP/1.1 through hyper (already in the dependency tree via the AWS SDK), not
//! aws-sdk-lambda: the local endpoints speak plain HTTP without SigV4, and the SDK would add a
//! large crate to build for one call.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use super::invoker::{
    classify, function_name, invoke_response, is_lambda_invoke, is_placeholder, ResourceKind,
    TaskCall, TaskFailure, TaskInvoker,
};
use super::path::compact;

/// An endpoint URL that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid --lambda-endpoint '{url}': {reason} (expected e.g. http://127.0.0.1:9000)")]
pub struct LambdaEndpointError {
    pub url: String,
    pub reason: String,
}

/// Invokes Lambda functions over HTTP.
#[derive(Debug, Clone)]
pub struct LambdaEndpointInvoker {
    endpoint: String,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

impl LambdaEndpointInvoker {
    pub fn new(endpoint: &str) -> Result<Self, LambdaEndpointError> {
        let trimmed = endpoint.trim_end_matches('/');
        let uri: hyper::Uri =
            trimmed
                .parse()
                .map_err(|e: hyper::http::uri::InvalidUri| LambdaEndpointError {
                    url: endpoint.into(),
                    reason: e.to_string(),
                })?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(LambdaEndpointError {
                url: endpoint.into(),
                reason: "only http:// URLs with a host are supported".into(),
            });
        }
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build_http();
        Ok(Self {
            endpoint: trimmed.to_string(),
            client,
        })
    }

    /// Which function to call and with what event.
    fn target(call: &TaskCall) -> Result<(String, Option<String>, Value, bool), TaskFailure> {
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
            return Ok((name, qualifier, payload, true));
        }
        if is_placeholder(&call.resource) {
            return Err(placeholder(call, &call.resource));
        }
        match classify(&call.resource) {
            ResourceKind::LambdaFunction { .. } => {
                let (name, qualifier) = function_name(&call.resource);
                Ok((name, qualifier, call.input.clone(), false))
            }
            _ => Err(TaskFailure::unbound(format!(
                "state '{}': resource '{}' is not a Lambda function; --lambda-endpoint only runs Lambda tasks (mock the others with --mock-config)",
                call.state_name, call.resource
            ))),
        }
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
        let (name, qualifier, payload, wrap) = Self::target(&call)?;
        let mut url = format!("{}/2015-03-31/functions/{name}/invocations", self.endpoint);
        if let Some(q) = qualifier {
            url.push_str(&format!("?Qualifier={q}"));
        }
        let request = hyper::Request::post(&url)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(compact(&payload))))
            .map_err(|e| {
                TaskFailure::new(
                    "Lambda.SdkClientException",
                    format!("cannot build the request to {url}: {e}"),
                )
            })?;
        let response = self.client.request(request).await.map_err(|e| {
            TaskFailure::new(
                "Lambda.SdkClientException",
                format!("cannot reach the Lambda endpoint {url}: {e}"),
            )
        })?;
        let status = response.status();
        let function_error = response.headers().contains_key("x-amz-function-error");
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| {
                TaskFailure::new(
                    "Lambda.SdkClientException",
                    format!("reading the response from {url}: {e}"),
                )
            })?
            .to_bytes();
        let text = String::from_utf8_lossy(&body).to_string();
        if function_error {
            let parsed: Option<Value> = serde_json::from_str(&text).ok();
            let error = parsed
                .as_ref()
                .and_then(|v| v.get("errorType"))
                .and_then(Value::as_str)
                .unwrap_or("Lambda.Unknown")
                .to_string();
            return Err(TaskFailure::new(error, text));
        }
        if !status.is_success() {
            let error = match status.as_u16() {
                404 => "Lambda.ResourceNotFoundException",
                429 => "Lambda.TooManyRequestsException",
                400..=499 => "Lambda.InvalidRequestContentException",
                _ => "Lambda.ServiceException",
            };
            return Err(TaskFailure::new(
                error,
                format!("HTTP {status} from {url}: {text}"),
            ));
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
        Ok(if wrap {
            invoke_response(result)
        } else {
            result
        })
    }
}
