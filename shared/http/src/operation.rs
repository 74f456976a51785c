//! How a service's endpoints are wired, once: each service lists its operations with
//! [`operations!`] (an enum with one variant per Lambda function, naming its handler and its
//! route), and every way of reaching a handler goes through that enum's [`Endpoints`]: the
//! service's one binary (`stockroom_http::serve_binary::<stockroom_orders::Operation>()`), which
//! every function of the service runs with its own `Handler`, the dev server (through its
//! registry), `cargo lambda watch`, the bench and the tests.
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

/// A service's endpoints: each one Lambda function, which runs the service's one binary
/// (template.yaml's `Metadata.BuildProperties.Binary`) with this endpoint's handler name as its
/// `Handler`.
pub trait Endpoints: Copy + Send + Sync + 'static {
    /// The cargo-lambda binary every endpoint of the service is built into (`catalog`).
    const BINARY: &'static str;
    /// What the handlers are called with.
    type Store: Open;
    /// Every endpoint of the service.
    fn all() -> &'static [Self];
    /// The handler name: the function's template.yaml `Handler`, which Lambda hands the binary
    /// as `_HANDLER` (`get_product`).
    fn handler(self) -> &'static str;
    /// The route API Gateway sends it, as a route key: `GET /products/{id}`.
    fn route(self) -> &'static str;
    /// The endpoint whose handler name is `handler`.
    fn named(handler: &str) -> Option<Self> {
        Self::all()
            .iter()
            .copied()
            .find(|op| op.handler() == handler)
    }
    /// The endpoint `req` is for, by its route key (`GET /products/{id}`, as API Gateway and
    /// the `events/` samples send it) or else its method and path: how the binary serves
    /// `cargo lambda watch`, which sets no `_HANDLER` and sends the route key `$default`.
    fn for_request(req: &lambda_http::Request) -> Option<Self> {
        use lambda_http::RequestExt as _;
        use lambda_http::request::RequestContext;
        if let Some(RequestContext::ApiGatewayV2(context)) = req.request_context_ref()
            && let Some(key) = context.route_key.as_deref()
            && key != "$default"
        {
            return Self::all().iter().copied().find(|op| op.route() == key);
        }
        let path: Vec<&str> = req
            .uri()
            .path()
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        Self::all()
            .iter()
            .copied()
            .find(|op| route_matches(op.route(), req.method().as_str(), &path))
    }
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

/// Whether the route key `route` (`GET /products/{id}`) is `method` on `path` (its segments).
fn route_matches(route: &str, method: &str, path: &[&str]) -> bool {
    route
        .split_once(' ')
        .is_some_and(|(route_method, template)| {
            route_method.eq_ignore_ascii_case(method) && path_params(template, path).is_some()
        })
}

/// The path parameters of `path` (its segments) under the route path `template`
/// (`/products/{id}`), if it matches: a `{name}` takes one non-empty segment, a last `{name+}`
/// (API Gateway's greedy parameter) the rest of the path, one segment or more, joined by `/`.
/// How a function binary finds its endpoint without `_HANDLER` and how the dev server routes.
pub fn path_params<S: AsRef<str>>(template: &str, path: &[S]) -> Option<Vec<(String, String)>> {
    let pattern: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    let greedy = pattern
        .last()
        .and_then(|p| p.strip_prefix('{'))
        .and_then(|p| p.strip_suffix("+}"));
    let fixed = &pattern[..pattern.len() - usize::from(greedy.is_some())];
    let fits = match greedy {
        Some(_) => path.len() > fixed.len(),
        None => path.len() == fixed.len(),
    };
    if !fits {
        return None;
    }
    let mut params = Vec::new();
    for (p, s) in fixed.iter().zip(path) {
        let s = s.as_ref();
        match p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) if !s.is_empty() => params.push((name.to_owned(), s.to_owned())),
            Some(_) => return None,
            None if *p == s => {}
            None => return None,
        }
    }
    if let Some(name) = greedy {
        let rest: Vec<&str> = path[fixed.len()..].iter().map(AsRef::as_ref).collect();
        params.push((name.to_owned(), rest.join("/")));
    }
    Some(params)
}

/// Runs this process as the Lambda function of the service `O` that Lambda names in `_HANDLER`
/// (the function's template.yaml `Handler`): every function of a service runs the one binary,
/// so a fresh `sam build` links one binary per service rather than one per endpoint. A name
/// that is none of the service's handlers fails the init, saying which are. Without
/// `_HANDLER` (`cargo lambda watch` and `cargo lambda invoke`, which set none), each request
/// goes to the endpoint of its route ([`Endpoints::for_request`]), and one of no route here is
/// a 404. All a service binary's main does:
///
/// ```ignore
/// fn main() -> Result<(), lambda_http::Error> {
///     stockroom_http::serve_binary::<stockroom_orders::Operation>()
/// }
/// ```
///
/// # Errors
/// When `_HANDLER` names no endpoint of `O`, the store cannot be opened or lacks what the
/// service uses, or the runtime API fails.
pub fn serve_binary<O: Endpoints>() -> Result<(), lambda_runtime::Error> {
    let named = std::env::var("_HANDLER").ok();
    stockroom_telemetry::lambda::start(|| async move {
        let only = match named {
            Some(name) => Some(O::named(&name).ok_or_else(|| unknown_handler::<O>(&name))?),
            None => None,
        };
        let port = O::port(&O::Store::open().await?)?;
        stockroom_telemetry::init::finish("store");
        crate::run(|caller, req| match only.or_else(|| O::for_request(&req)) {
            Some(operation) => operation.call(&port, caller, req),
            None => Box::pin(async {
                Problem::new(ErrorKind::NotFound, "No such route.").into_response()
            }),
        })
        .await
    })
}

/// The init error of a function whose `Handler` is none of its binary's.
fn unknown_handler<O: Endpoints>(name: &str) -> anyhow::Error {
    let known: Vec<&str> = O::all().iter().map(|op| op.handler()).collect();
    anyhow::anyhow!(
        "the function's Handler (_HANDLER) is {name:?}, which the {} binary does not serve; its handlers are {}",
        O::BINARY,
        known.join(", ")
    )
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

/// A service's endpoint list, written once: an enum with one variant per Lambda function and
/// its [`Endpoints`] implementation. The header names the service's binary, the store and the
/// one port the service's handlers take, by its accessor and its trait (`orders: OrdersStore`
/// is `store.orders()`, an `Arc<dyn OrdersStore>`); each entry names the variant, its handler
/// name, its route and its handler, an
/// `async fn(&dyn Port, Caller, Request) -> Result<Response<Body>, E>` with `E:` [`ApiError`].
/// A test in local/ checks every name and route against template.yaml.
///
/// ```ignore
/// operations! {
///     pub enum Operation in "orders" for stockroom_store::Store, port orders: stockroom_store::orders::OrdersStore {
///         PlaceOrder = "place_order", "POST /orders" => place_order,
///         GetOrder = "get_order", "GET /orders/{id}" => get_order,
///     }
/// }
/// ```
///
/// A service with no store (`GET /health`, the console) says `without store`: its function
/// opens none (`Store = ()`) and starts like a bare runtime, and each handler is an
/// `async fn(Request) -> Response<Body>`.
///
/// ```ignore
/// operations! {
///     pub enum Operation in "health" without store {
///         Health = "health", "GET /health" => health,
///     }
/// }
/// ```
#[macro_export]
macro_rules! operations {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident in $binary:literal without store {
            $( $(#[$vmeta:meta])* $variant:ident = $handler_name:literal, $route:literal => $handler:path ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $crate::Endpoints for $name {
            const BINARY: &'static str = $binary;
            type Store = ();
            type Port = ();

            fn all() -> &'static [Self] {
                &[$(Self::$variant),*]
            }

            fn handler(self) -> &'static str {
                match self {
                    $(Self::$variant => $handler_name,)*
                }
            }

            fn route(self) -> &'static str {
                match self {
                    $(Self::$variant => $route,)*
                }
            }

            fn port(_store: &()) -> $crate::__anyhow::Result<()> {
                Ok(())
            }

            fn call<'a>(
                self,
                _port: &'a (),
                _caller: $crate::Caller,
                req: $crate::Request,
            ) -> $crate::BoxResponse<'a> {
                match self {
                    $(Self::$variant => Box::pin($handler(req)),)*
                }
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident in $binary:literal for $store:ty, port $port:ident: $trait:path {
            $( $(#[$vmeta:meta])* $variant:ident = $handler_name:literal, $route:literal => $handler:path ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $crate::Endpoints for $name {
            const BINARY: &'static str = $binary;
            type Store = $store;
            type Port = ::std::sync::Arc<dyn $trait>;

            fn all() -> &'static [Self] {
                &[$(Self::$variant),*]
            }

            fn handler(self) -> &'static str {
                match self {
                    $(Self::$variant => $handler_name,)*
                }
            }

            fn route(self) -> &'static str {
                match self {
                    $(Self::$variant => $route,)*
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::path_params;

    fn params(template: &str, path: &str) -> Option<Vec<(String, String)>> {
        let segments: Vec<&str> = path.split('/').skip(1).collect();
        path_params(template, &segments)
    }

    #[test]
    fn parameters_take_one_segment_and_a_greedy_one_the_rest() {
        let id = |v: &str| Some(vec![(String::from("id"), String::from(v))]);
        assert_eq!(params("/products/{id}", "/products/mug"), id("mug"));
        assert_eq!(
            params("/products/{id}", "/products/"),
            None,
            "an empty segment is no id"
        );
        assert_eq!(params("/products/{id}", "/products/mug/prices"), None);
        assert_eq!(params("/products", "/products"), Some(vec![]));
        let proxy = |v: &str| Some(vec![(String::from("proxy"), String::from(v))]);
        assert_eq!(params("/{proxy+}", "/shop"), proxy("shop"));
        assert_eq!(
            params("/{proxy+}", "/static/vendor/a.js"),
            proxy("static/vendor/a.js")
        );
        assert_eq!(
            params("/{proxy+}", ""),
            None,
            "a greedy parameter takes a segment or more"
        );
    }
}
