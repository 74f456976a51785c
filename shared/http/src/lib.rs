//! The HTTP edge every function shares: turning API Gateway requests into domain input and
//! operation errors into `application/problem+json` responses.
//!
//! Handlers parse with [`json_body`], [`path_param`] and [`QueryParams`], and return their
//! operation's error; [`error_response`] is the one place where an error becomes a status code.
//! A 5xx body never says what went wrong inside; the whole cause chain goes to the log instead.
//! Each service declares its error enums with [`api_error!`] and its endpoints with
//! [`operations!`], and a function's main is [`serve`] of one of those operations.

mod caller;
mod observe;
mod operation;
mod problem;
mod request;
mod response;

pub use caller::{ADMIN_GROUP, Caller, Principal};
pub use lambda_http::{Body, Request, Response};
pub use observe::{observe, run};
pub use operation::{
    BoxResponse, Endpoints, Open, OperationError, internal_error, path_params, respond,
    serve_binary,
};
pub use problem::{ApiError, ErrorKind, Problem, error_response};
pub use request::{
    MAX_BODY_BYTES, QueryParams, RequestError, customer_field, json_body, path_param, sent,
};
pub use response::{created, json, no_content};
pub use stockroom_domain::FieldError;

#[doc(hidden)]
pub use anyhow as __anyhow;
