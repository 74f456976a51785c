//! Reading requests: bodies, path parameters and query strings, each failure a clear 4xx.

use lambda_http::{Body, Request, RequestExt};
use serde::Deserialize as _;
use serde::de::DeserializeOwned;
use stockroom_domain::FieldError;
use stockroom_domain::page::{Cursor, CursorKey, Limit};

use crate::{ApiError, ErrorKind};

/// The largest request body accepted: 64 KiB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Why a request could not be read.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("{}", summary(.0))]
    Validation(Vec<FieldError>),
    #[error("The request body is not valid JSON of the expected shape: {0}")]
    MalformedBody(String, Vec<FieldError>),
    #[error("The request body must be JSON, sent with Content-Type: application/json.")]
    UnsupportedMediaType,
    #[error("The request body is larger than {MAX_BODY_BYTES} bytes.")]
    TooLarge,
    #[error("{0}")]
    NotFound(String),
    #[error("Send a valid token as Authorization: Bearer <token>.")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
}

fn summary(errors: &[FieldError]) -> String {
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    format!("Invalid value for: {}.", fields.join(", "))
}

impl ApiError for RequestError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Validation(_) => ErrorKind::Validation,
            Self::MalformedBody(..) => ErrorKind::MalformedBody,
            Self::UnsupportedMediaType => ErrorKind::UnsupportedMediaType,
            Self::TooLarge => ErrorKind::PayloadTooLarge,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Unauthorized => ErrorKind::Unauthorized,
            Self::Forbidden(_) => ErrorKind::Forbidden,
        }
    }

    fn field_errors(&self) -> &[FieldError] {
        match self {
            Self::Validation(errors) | Self::MalformedBody(_, errors) => errors,
            _ => &[],
        }
    }
}

impl From<FieldError> for RequestError {
    fn from(err: FieldError) -> Self {
        Self::Validation(vec![err])
    }
}

/// Whether the request says its body is JSON (`application/json` or any `+json` type).
fn is_json(req: &Request) -> bool {
    let Some(value) = req.headers().get(http::header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The body, parsed as JSON into `T` (a DTO with `#[serde(deny_unknown_fields)]`).
///
/// # Errors
/// 415 without a JSON content type, 413 over [`MAX_BODY_BYTES`], 400 for malformed JSON, a
/// wrong type or an unknown field, naming the field where there is one.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, RequestError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(RequestError::TooLarge);
    }
    if !is_json(req) {
        return Err(RequestError::UnsupportedMediaType);
    }
    // Every body this API takes is an object. serde would also accept a struct written as an
    // array (`["Mug", 5]`), a shape no client means to send, so anything else is refused here.
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => {
            return Err(RequestError::MalformedBody(
                String::from("the body is empty"),
                Vec::new(),
            ));
        }
        Some(b'{') => {}
        Some(_) if serde_json::from_slice::<serde_json::Value>(bytes).is_ok() => {
            return Err(RequestError::MalformedBody(
                String::from("the body must be a JSON object"),
                Vec::new(),
            ));
        }
        Some(_) => {}
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = public_message(&inner.to_string());
        let field = unknown_field(&message).or((path != "." && path != "?").then_some(path));
        let errors = field
            .map(|field| vec![FieldError::new(field, message.clone())])
            .unwrap_or_default();
        RequestError::MalformedBody(message, errors)
    })?;
    de.end()
        .map_err(|err| RequestError::MalformedBody(err.to_string(), Vec::new()))?;
    Ok(value)
}

/// For a body field that may be left out but not sent as `null`: on an `Option<Option<T>>`
/// with `#[serde(default, deserialize_with = "stockroom_http::sent")]`, `None` is a field left
/// out and `Some(None)` one sent as `null`, which the handler refuses (see
/// [`customer_field`]).
///
/// # Errors
/// As `T`'s own deserialisation.
pub fn sent<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A body's optional `customer_id` (read with [`sent`]): left out it is `None`, the caller's
/// own; sent, it must be a customer id, not `null`.
///
/// # Errors
/// A `customer_id` field error for `null` or a value that is no id.
pub fn customer_field(
    raw: Option<Option<String>>,
) -> Result<Option<stockroom_domain::orders::CustomerId>, FieldError> {
    match raw {
        None => Ok(None),
        Some(None) => Err(FieldError::new(
            "customer_id",
            "must be a customer id; leave it out to mean yourself",
        )),
        Some(Some(raw)) => {
            stockroom_domain::orders::CustomerId::parse_field("customer_id", &raw).map(Some)
        }
    }
}

/// serde's message without our Rust type names: "expected struct ProductInput" tells a client
/// nothing, "expected a JSON object" does.
fn public_message(message: &str) -> String {
    match message.find("expected struct ") {
        Some(start) => {
            let rest = &message[start + "expected struct ".len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            format!(
                "{}expected a JSON object{}",
                &message[..start],
                &rest[end..]
            )
        }
        None => message.to_owned(),
    }
}

/// serde reports an unknown field at the path of its parent; the name is in the message.
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest.split('`').next()?.to_owned())
}

/// The path parameter `name`, parsed with `parse`. A value that cannot be an id cannot name an
/// existing resource, so it is a 404 like any other unknown id.
///
/// # Errors
/// 404 when the parameter is missing or does not parse.
pub fn path_param<T, E>(
    req: &Request,
    name: &str,
    what: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, RequestError> {
    let raw = req
        .path_parameters_ref()
        .and_then(|params| params.first(name).map(str::to_owned));
    match raw {
        Some(raw) => parse(&raw)
            .map_err(|_| RequestError::NotFound(format!("No {what} has the id {raw:?}."))),
        None => Err(RequestError::NotFound(format!("No {what} was named."))),
    }
}

/// Query string parameters, parsed one by one; every bad value is collected so the client
/// hears about all of them at once.
pub struct QueryParams<'a> {
    req: &'a Request,
    errors: Vec<FieldError>,
}

impl<'a> QueryParams<'a> {
    pub fn new(req: &'a Request) -> Self {
        Self {
            req,
            errors: Vec::new(),
        }
    }

    /// The parameter `name` parsed with `parse`, `None` when absent or (recording the error)
    /// invalid.
    pub fn optional<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, FieldError>,
    ) -> Option<T> {
        let raw = self.req.query_string_parameters_ref()?.first(name)?;
        match parse(raw) {
            Ok(value) => Some(value),
            Err(mut err) => {
                err.field = name.to_owned();
                self.errors.push(err);
                None
            }
        }
    }

    /// The parameter `name` parsed with `parse`; `None` when invalid or (recording that it is
    /// required) absent.
    pub fn required<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, FieldError>,
    ) -> Option<T> {
        let present = self
            .req
            .query_string_parameters_ref()
            .is_some_and(|params| params.first(name).is_some());
        if !present {
            self.errors.push(FieldError::new(name, "is required"));
            return None;
        }
        self.optional(name, parse)
    }

    /// The paging parameters every list takes: `limit` (default 50) and `cursor` (after the
    /// key of type `K`; absent or empty for the first page).
    pub fn page<K: CursorKey>(&mut self) -> (Limit, Option<K>) {
        let limit = self.optional("limit", Limit::parse).unwrap_or_default();
        let after = self.optional("cursor", Cursor::<K>::param).flatten();
        (limit, after)
    }

    /// # Errors
    /// A 400 listing every parameter that did not parse.
    pub fn finish(self) -> Result<(), RequestError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(RequestError::Validation(self.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Dto {
        name: Option<String>,
        price: Option<i64>,
    }

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut builder = http::Request::builder().method("POST").uri("/products");
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        builder.body(Body::Text(body.to_owned())).unwrap()
    }

    fn field_of(err: &RequestError) -> Option<&str> {
        err.field_errors().first().map(|e| e.field.as_str())
    }

    #[test]
    fn bodies_that_are_not_json_of_the_right_shape_are_rejected_with_a_reason() {
        let cases: &[(Option<&str>, &str, ErrorKind, Option<&str>)] = &[
            (
                Some("application/json"),
                "{",
                ErrorKind::MalformedBody,
                None,
            ),
            (Some("application/json"), "", ErrorKind::MalformedBody, None),
            (
                Some("application/json"),
                "[]",
                ErrorKind::MalformedBody,
                None,
            ),
            (
                Some("application/json"),
                "{} {}",
                ErrorKind::MalformedBody,
                None,
            ),
            (
                Some("application/json"),
                r#"{"price":"ten"}"#,
                ErrorKind::MalformedBody,
                Some("price"),
            ),
            (
                Some("application/json"),
                r#"{"price":19.99}"#,
                ErrorKind::MalformedBody,
                Some("price"),
            ),
            (
                Some("application/json"),
                r#"{"colour":"red"}"#,
                ErrorKind::MalformedBody,
                Some("colour"),
            ),
            (
                Some("text/plain"),
                "{}",
                ErrorKind::UnsupportedMediaType,
                None,
            ),
            (None, "{}", ErrorKind::UnsupportedMediaType, None),
        ];
        for (ct, body, kind, field) in cases {
            let err = json_body::<Dto>(&request(*ct, body)).unwrap_err();
            assert_eq!(err.kind(), *kind, "{ct:?} {body:?}");
            assert_eq!(field_of(&err), *field, "{ct:?} {body:?}: {err}");
        }
    }

    #[test]
    fn messages_name_json_shapes_not_rust_types() {
        let err = json_body::<Dto>(&request(Some("application/json"), r#"{"name":{"a":1}}"#))
            .unwrap_err();
        assert!(!err.to_string().contains("Option"), "{err}");
        for body in ["[1]", r#"["Mug", 5]"#, "5", r#""Mug""#] {
            let err = json_body::<Dto>(&request(Some("application/json"), body)).unwrap_err();
            assert!(
                err.to_string().contains("must be a JSON object"),
                "{body}: {err}"
            );
        }
    }

    #[test]
    fn a_body_over_64_kib_is_413_whatever_it_holds() {
        let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(MAX_BODY_BYTES));
        let err = json_body::<Dto>(&request(Some("application/json"), &big)).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PayloadTooLarge);
    }

    #[test]
    fn json_with_a_charset_or_a_json_suffix_is_accepted() {
        for ct in [
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/merge-patch+json",
        ] {
            assert!(
                json_body::<Dto>(&request(Some(ct), r#"{"price":1}"#)).is_ok(),
                "{ct}"
            );
        }
    }
}
