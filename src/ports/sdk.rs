//! What an SDK error means to us: every AWS adapter classifies its client's errors here, once.

use aws_sdk_ecs::config::http::HttpResponse;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};

use super::aws_error::{error_chain, AwsError, SERVER_CODES, THROTTLING_CODES};

impl AwsError {
    /// Classifies any SDK error: service errors by their code, everything that never reached a
    /// service answer (timeouts, connection failures, unreadable responses) as transient.
    pub(crate) fn from_sdk<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match &err {
            SdkError::ServiceError(service) => {
                let inner = service.err();
                let code = inner.code().map(str::to_string);
                let message = inner
                    .message()
                    .map(str::to_string)
                    .unwrap_or_else(|| inner.to_string());
                let transient = code
                    .as_deref()
                    .is_some_and(|c| THROTTLING_CODES.contains(&c) || SERVER_CODES.contains(&c))
                    || service.raw().status().is_server_error();
                Self {
                    operation,
                    code,
                    message,
                    transient,
                }
            }
            SdkError::ConstructionFailure(_) => Self {
                operation,
                code: None,
                message: error_chain(&err),
                transient: false,
            },
            _ => Self {
                operation,
                code: None,
                message: error_chain(&err),
                transient: true,
            },
        }
    }
}
