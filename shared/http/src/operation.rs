//! How a service's endpoints are wired, once: each service lists its operations with
//! [`operations!`] (an enum with one variant per function binary), and every way of reaching a
//! handler goes through that enum's [`Endpoints`]: a function's main
//! (`stockroom_http::serve(stockroom_orders::Operation::PlaceOrder)`), the dev server and
//! `cargo lambda watch` (through the dev server's registry), the bench and the tests.
//!
//! Handlers return `Result<Response<Body>, TheirError>`; the edge turns the error into a
//! problem response ([`error_response`]), so no handler formats one itself.

use std::future::Future;
use std::pin::Pin;

use lambda_http::{Body, Response};

use crate::{ApiError, Caller, ErrorKind, FieldError, Problem, RequestError, error_response};

/// A handler's answer, boxed so a registry can hold handlers of every service.
pub type BoxResponse<'a> = Pin<Box<dyn Future<Output = Response<Body>> + Send + 'a>>;

/// What a function opens once, at cold start, and hands to every invocation: the process's
/// store, or nothing for an endpoint that needs none.
pub trait Open: Sized + Send + Sync + 'static {
    /// # Errors
    /// When the store is misconfigured: the function's init fails, as Lambda reports it.
    fn open() -> impl Future<Output = anyhow::Result<Self>> + Send;
}

/// An endpoint that uses no store (`GET /health`) opens nothing.
impl Open for () {
    async fn open() -> anyhow::Result<Self> {
        Ok(())
    }
}

/// The one store of every service: the tables template.yaml's Globals name, or the embedded
/// file.
impl Open for stockroom_store::Store {
    async fn open() -> anyhow::Result<Self> {
        Self::from_env().await
    }
}

/// A service's endpoints: each the handler of one function binary (its template.yaml
/// `Metadata.BuildProperties.Binary`).
pub trait Endpoints: Copy + Send + Sync + 'static {
    /// What the handlers are called with.
    type Store: Open;
    /// Every endpoint of the service.
    fn all() -> &'static [Self];
    /// The binary (and so the Lambda function) this endpoint is.
    fn binary(self) -> &'static str;
    /// What the service's handlers take: its port of `Store`.
    type Port: Send + Sync + 'static;
    /// The service's port of `store`. A function takes it once, at cold start, so a
    /// misconfigured function (a table variable missing, say) fails its init rather than every
    /// request, and no request rebuilds it.
    ///
    /// # Errors
    /// What is missing.
    fn port(store: &Self::Store) -> anyhow::Result<Self::Port>;
    /// Runs this endpoint's handler for `caller`, as its Lambda function would.
    fn call<'a>(
        self,
        port: &'a Self::Port,
        caller: Caller,
        req: lambda_http::Request,
    ) -> BoxResponse<'a>;
}

/// Runs `operation` as this process's Lambda function: telemetry first, then its store, opened
/// once, and the service's port of it, then every request through [`crate::run`]; the time each of those took at cold start
/// is logged once ([`stockroom_telemetry::init`]). All an API function's main does:
///
/// ```ignore
/// fn main() -> Result<(), lambda_http::Error> {
///     stockroom_http::serve(stockroom_orders::Operation::PlaceOrder)
/// }
/// ```
///
/// # Errors
/// When the store cannot be opened, lacks what the endpoint uses, or the runtime API fails.
pub fn serve<O: Endpoints>(operation: O) -> Result<(), lambda_runtime::Error> {
    stockroom_telemetry::lambda::start(|| async move {
        let port = O::port(&O::Store::open().await?)?;
        stockroom_telemetry::init::finish("store");
        crate::run(|caller, req| operation.call(&port, caller, req)).await
    })
}

/// A handler's result as a response: success as it is, an error through [`error_response`].
pub fn respond<E: ApiError>(result: Result<Response<Body>, E>) -> Response<Body> {
    result.unwrap_or_else(|err| error_response(&err))
}

/// The 500 for a failure outside any operation's error enum (a store port this process was not
/// configured with, say). The body says nothing; the cause chain goes to the log.
pub fn internal_error(err: &anyhow::Error) -> Response<Body> {
    tracing::error!(error.chain = %format!("{err:#}"), "request failed");
    Problem::internal().into_response()
}

/// The error of an operation that can fail only on its request or unexpectedly (a list, say):
/// one type instead of an enum per such operation. Give the unexpected failure its context
/// (`.context("failed to list orders")`) where it happens.
#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl ApiError for OperationError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Request(err) => err.kind(),
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }

    fn field_errors(&self) -> &[FieldError] {
        match self {
            Self::Request(err) => err.field_errors(),
            Self::Unexpected(_) => &[],
        }
    }
}

/// Implements [`ApiError`] for an operation's error enum, which has a `Request(RequestError)`
/// and an `Unexpected(..)` variant: request errors keep their own kind, the listed variants get
/// theirs, `Unexpected` is internal.
///
/// ```ignore
/// api_error!(CreateProductError { AlreadyExists => Conflict });
/// ```
#[macro_export]
macro_rules! api_error {
    ($ty:ident { $($variant:ident => $kind:ident),* $(,)? }) => {
        impl $crate::ApiError for $ty {
            fn kind(&self) -> $crate::ErrorKind {
                match self {
                    Self::Request(err) => $crate::ApiError::kind(err),
                    $(Self::$variant { .. } => $crate::ErrorKind::$kind,)*
                    Self::Unexpected(..) => $crate::ErrorKind::Internal,
                }
            }

            fn field_errors(&self) -> &[$crate::FieldError] {
                match self {
                    Self::Request(err) => $crate::ApiError::field_errors(err),
                    _ => &[],
                }
            }
        }
    };
}

/// A service's endpoint list, written once: an enum with one variant per function binary and
/// its [`Endpoints`] implementation. The header names the store and the one port the service's
/// handlers take, by its accessor and its trait (`orders: OrdersStore` is `store.orders()`, an
/// `Arc<dyn OrdersStore>`); each entry names the variant, its binary and its handler, an
/// `async fn(&dyn Port, Caller, Request) -> Result<Response<Body>, E>` with `E:` [`ApiError`].
///
/// ```ignore
/// operations! {
///     pub enum Operation for stockroom_store::Store, port orders: stockroom_store::orders::OrdersStore {
///         PlaceOrder = "place_order" => place_order,
///         GetOrder = "get_order" => get_order,
///     }
/// }
/// ```
#[macro_export]
macro_rules! operations {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident for $store:ty, port $port:ident: $trait:path {
            $( $(#[$vmeta:meta])* $variant:ident = $binary:literal => $handler:path ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $crate::Endpoints for $name {
            type Store = $store;
            type Port = ::std::sync::Arc<dyn $trait>;

            fn all() -> &'static [Self] {
                &[$(Self::$variant),*]
            }

            fn binary(self) -> &'static str {
                match self {
                    $(Self::$variant => $binary,)*
                }
            }

            fn port(store: &$store) -> $crate::__anyhow::Result<Self::Port> {
                store.$port()
            }

            fn call<'a>(
                self,
                port: &'a Self::Port,
                caller: $crate::Caller,
                req: $crate::Request,
            ) -> $crate::BoxResponse<'a> {
                Box::pin(async move {
                    match self {
                        $(Self::$variant => $crate::respond($handler(&**port, caller, req).await),)*
                    }
                })
            }
        }
    };
}
