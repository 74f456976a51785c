//! RFC 9457 problem details, and the single mapping from error kinds to status codes.

use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;
use stockroom_domain::FieldError;

/// What kind of failure an operation error is; decides status, title and `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is invalid; `errors` lists each field.
    Validation,
    /// The body is not JSON or does not have the expected shape.
    MalformedBody,
    /// A protected route reached without a verified token.
    Unauthorized,
    /// A caller who may not do this (not an administrator, or acting for another customer).
    Forbidden,
    NotFound,
    MethodNotAllowed,
    /// The request conflicts with the current state (an id that exists, too little stock).
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    /// A well-formed request that cannot be applied (an idempotency key reused with another body).
    Unprocessable,
    /// A valid request for something there is nothing to do with (checking out an empty cart):
    /// the client must change what it asks about first.
    NothingToDo,
    /// The store could not take the request right now (throttled, failing, too slow) even
    /// after the SDK's retries: 503 with `Retry-After`, so the client knows to send it again.
    Unavailable,
    /// Our fault. The response says nothing more; the log has the cause chain.
    Internal,
}

/// The seconds a 503's `Retry-After` asks a client to wait: long enough for DynamoDB to add
/// capacity to a throttled partition or for a failed node to be replaced, short enough for a
/// shopper who is waiting.
pub const RETRY_AFTER_SECONDS: u32 = 1;

impl ErrorKind {
    pub fn status(self) -> StatusCode {
        match self {
            Self::Validation | Self::MalformedBody | Self::NothingToDo => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Self::Validation => "validation-error",
            Self::MalformedBody => "malformed-body",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Conflict => "conflict",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::Unprocessable => "unprocessable",
            Self::NothingToDo => "nothing-to-do",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal-error",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::Validation => "Your request has invalid fields",
            Self::MalformedBody => "Your request body could not be read",
            Self::Unauthorized => "Sign-in required",
            Self::Forbidden => "Not allowed",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Conflict => "Conflict with the current state",
            Self::PayloadTooLarge => "Request body too large",
            Self::UnsupportedMediaType => "Unsupported content type",
            Self::Unprocessable => "Request cannot be processed",
            Self::NothingToDo => "Nothing to do",
            Self::Unavailable => "Temporarily unavailable",
            Self::Internal => "Internal server error",
        }
    }
}

/// Implemented by each operation's error enum, so [`error_response`] can answer any of them.
pub trait ApiError: std::error::Error {
    fn kind(&self) -> ErrorKind;

    /// The per-field errors of a validation failure.
    fn field_errors(&self) -> &[FieldError] {
        &[]
    }
}

/// An `application/problem+json` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

impl Problem {
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Self {
            type_: format!("https://stockroom.dev/problems/{}", kind.slug()),
            title: kind.title().to_owned(),
            status: kind.status().as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// The one 500 every failure inside the service answers: it says nothing about the cause,
    /// which goes to the log where the failure is caught.
    pub fn internal() -> Self {
        Self::new(
            ErrorKind::Internal,
            "Something went wrong on our side. Try again later.",
        )
    }

    /// The 503 a request gets when the store could not take it right now.
    pub fn unavailable() -> Self {
        Self::new(
            ErrorKind::Unavailable,
            "The shop's database is busy or did not answer in time. Send the same request \
             again after Retry-After seconds; with the same Idempotency-Key an order is placed \
             at most once.",
        )
    }

    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn into_response(self) -> Response<Body> {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_string(&self).unwrap_or_else(|_| String::from("{}"));
        let mut response = Response::new(Body::Text(body));
        *response.status_mut() = status;
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from(RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}

/// The response for `err`: its kind decides the status. Client errors carry the error's own
/// message; server errors carry a fixed sentence, and their cause chain is logged.
///
/// A server error whose cause chain holds [`stockroom_store::Unavailable`] is a 503 with
/// `Retry-After`: the store could not take the request right now, and sending it again is what
/// the client should do.
pub fn error_response<E: ApiError + ?Sized>(err: &E) -> Response<Body> {
    let kind = err.kind();
    if kind == ErrorKind::Internal {
        if err
            .source()
            .is_some_and(stockroom_store::Unavailable::in_chain)
        {
            tracing::warn!(error.chain = %chain(err), "store unavailable: answered 503");
            return Problem::unavailable().into_response();
        }
        tracing::error!(error.chain = %chain(err), "request failed");
        return Problem::internal().into_response();
    }
    tracing::info!(error = %err, status = kind.status().as_u16(), "request rejected");
    Problem::new(kind, err.to_string())
        .with_errors(err.field_errors().to_vec())
        .into_response()
}

/// `err` and all its sources, outermost first, joined by `: `.
fn chain(err: &(impl std::error::Error + ?Sized)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("failed to read product")]
    struct Opaque(#[source] std::io::Error);

    impl ApiError for Opaque {
        fn kind(&self) -> ErrorKind {
            ErrorKind::Internal
        }
    }

    #[derive(Debug, thiserror::Error)]
    enum StoreFailed {
        #[error("failed to place an order")]
        Unexpected(#[source] anyhow::Error),
    }

    impl ApiError for StoreFailed {
        fn kind(&self) -> ErrorKind {
            ErrorKind::Internal
        }
    }

    #[test]
    fn a_store_that_is_unavailable_deep_in_the_chain_is_a_503_with_retry_after() {
        // As the orders service nests it: its error, the port's error as anyhow, the adapter's
        // context, the SDK's reason.
        #[derive(Debug, thiserror::Error)]
        enum PortError {
            #[error(transparent)]
            Unexpected(#[from] anyhow::Error),
        }
        let unavailable = anyhow::Error::new(stockroom_store::Unavailable {
            reason: String::from(
                "ThrottlingException: rate of requests exceeds the allowed throughput",
            ),
        })
        .context("failed to place an order");
        let err = StoreFailed::Unexpected(PortError::from(unavailable).into());
        let response = error_response(&err);
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "1");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let Body::Text(body) = response.body() else {
            panic!("expected a text body")
        };
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            problem["type"],
            "https://stockroom.dev/problems/unavailable"
        );
        assert_eq!(problem["status"], 503);
        assert!(!body.contains("Throttling"), "{body}");

        // Any other failure stays the opaque 500, without Retry-After.
        let other =
            StoreFailed::Unexpected(anyhow::anyhow!("stored order has an unexpected shape"));
        let response = error_response(&other);
        assert_eq!(response.status(), 500);
        assert!(response.headers().get("retry-after").is_none());
    }

    #[test]
    fn a_server_error_body_says_nothing_about_its_cause() {
        let err = Opaque(std::io::Error::other("table secret-table does not exist"));
        let response = error_response(&err);
        assert_eq!(response.status(), 500);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let Body::Text(body) = response.body() else {
            panic!("expected a text body")
        };
        assert!(!body.contains("secret-table"), "{body}");
        assert!(!body.contains("failed to read"), "{body}");
        assert_eq!(
            chain(&err),
            "failed to read product: table secret-table does not exist"
        );
    }
}
