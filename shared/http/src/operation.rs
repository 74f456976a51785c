//! What every service crate shares around its handlers: the error-enum glue ([`api_error!`]),
//! [`respond`], and the list of a service's endpoints ([`operations!`]), written once per
//! service and read by the dev server, which serves any service through [`Endpoints`].

use std::future::Future;
use std::pin::Pin;

use lambda_http::{Body, Response};

use crate::{ApiError, Caller, ErrorKind, Problem, error_response};

/// A handler's answer, boxed so a registry can hold handlers of every service.
pub type BoxResponse<'a> = Pin<Box<dyn Future<Output = Response<Body>> + Send + 'a>>;

/// A service's endpoints: each the handler of one function binary (its template.yaml
/// `Metadata.BuildProperties.Binary`), callable with the process's store `S`.
pub trait Endpoints<S: ?Sized>: Copy + Send + Sync + 'static {
    /// Every endpoint of the service.
    fn all() -> &'static [Self];
    /// The binary (and so the Lambda function) this endpoint is.
    fn binary(self) -> &'static str;
    /// Runs this endpoint's handler for `caller`, as its Lambda function would.
    fn call<'a>(self, store: &'a S, caller: Caller, req: lambda_http::Request) -> BoxResponse<'a>;
}

/// A handler's result as a response: success as it is, an error through [`error_response`].
pub fn respond<E: ApiError>(result: Result<Response<Body>, E>) -> Response<Body> {
    result.unwrap_or_else(|err| error_response(&err))
}

/// The 500 for a failure outside any operation's error enum (a store port this process was not
/// configured with, say). The body says nothing; the cause chain goes to the log.
pub fn internal_error(err: &anyhow::Error) -> Response<Body> {
    tracing::error!(error.chain = %format!("{err:#}"), "request failed");
    Problem::new(
        ErrorKind::Internal,
        "Something went wrong on our side. Try again later.",
    )
    .into_response()
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
/// its [`Endpoints`] implementation. Each entry names the binary and how to call its handler
/// with the store (`s`), the caller (`c`) and the request (`r`); `?` on the store's port
/// accessors answers a 500.
///
/// ```ignore
/// operations! {
///     pub enum Operation for stockroom_store::Store {
///         GetProduct = "get_product" => |s, _c, r| get_product(&*s.catalog()?, r).await,
///         CreateProduct = "create_product" => |s, c, r| create_product(&*s.catalog()?, c, r).await,
///     }
/// }
/// ```
#[macro_export]
macro_rules! operations {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident for $store:ty {
            $( $(#[$vmeta:meta])* $variant:ident = $binary:literal => |$s:ident, $c:ident, $r:ident| $call:expr ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $crate::Endpoints<$store> for $name {
            fn all() -> &'static [Self] {
                &[$(Self::$variant),*]
            }

            fn binary(self) -> &'static str {
                match self {
                    $(Self::$variant => $binary,)*
                }
            }

            fn call<'a>(
                self,
                store: &'a $store,
                caller: $crate::Caller,
                req: $crate::Request,
            ) -> $crate::BoxResponse<'a> {
                Box::pin(async move {
                    let result: $crate::__anyhow::Result<$crate::Response<$crate::Body>> = async {
                        Ok(match self {
                            $(Self::$variant => {
                                let $s = store;
                                let $c = caller;
                                let $r = req;
                                $call
                            })*
                        })
                    }
                    .await;
                    result.unwrap_or_else(|err| $crate::internal_error(&err))
                })
            }
        }
    };
}
