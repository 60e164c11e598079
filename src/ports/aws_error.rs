//! What an AWS call's failure means to us, classified once from the SDK error so every adapter
//! (ECS, CloudWatch Logs, Step Functions) reports the same way.

/// An AWS call that failed, with the service's error code kept for classification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation}: {}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
pub struct AwsError {
    /// The API call, e.g. `ecs:RunTask`.
    pub operation: &'static str,
    /// The service's error code (`ThrottlingException`, `ClientException`, ...), if it sent one.
    pub code: Option<String>,
    pub message: String,
    /// Retrying later may succeed: throttling, a 5xx, a timeout or a network failure.
    pub transient: bool,
}

pub(super) const THROTTLING_CODES: [&str; 7] = [
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "RequestThrottled",
    "RequestThrottledException",
];

pub(super) const SERVER_CODES: [&str; 4] = [
    "ServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
];

impl AwsError {
    /// A failure retrying will not fix: a refusal by the service (or by a double standing in
    /// for it) with its error code, or a request that could not be built.
    pub fn permanent(
        operation: &'static str,
        code: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            operation,
            code: code.map(str::to_string),
            message: message.into(),
            transient: false,
        }
    }

    /// True when the service throttled the call (after the SDK's own retries).
    pub(crate) fn is_throttling(&self) -> bool {
        self.code
            .as_deref()
            .is_some_and(|c| THROTTLING_CODES.contains(&c))
    }

    /// True when the service said the caller may not do this.
    pub(crate) fn is_access_denied(&self) -> bool {
        matches!(
            self.code.as_deref(),
            Some("AccessDeniedException" | "AccessDenied" | "UnauthorizedOperation")
        )
    }
}

/// The error and its sources on one line: the SDK's top-level message alone ("dispatch failure")
/// does not say what went wrong.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}
