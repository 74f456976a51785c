//! What every API request gets around its handler, in Lambda ([`run`]) and in the dev server
//! ([`observe`]) alike: a server span named by the route, the request metrics, and the
//! [`Caller`] read from the authorizer's claims.

use std::convert::Infallible;
use std::future::Future;
use std::time::Instant;

use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt as _, Response};
use stockroom_telemetry::lambda::Trigger;
use stockroom_telemetry::metrics;
use tracing::Instrument as _;
use tracing::field::Empty;

use crate::{Caller, error_response};

/// The method and the template path of the route API Gateway matched (`routeKey`, as
/// `GET /products/{id}`), or the request's own method and `unmatched`: never the concrete path,
/// which would make a metric label per product.
fn route_of(req: &Request) -> (String, String) {
    if let RequestContext::ApiGatewayV2(context) = req.request_context()
        && let Some((method, path)) = context.route_key.as_deref().and_then(|k| k.split_once(' '))
    {
        return (method.to_owned(), path.to_owned());
    }
    (req.method().as_str().to_owned(), "unmatched".to_owned())
}

/// Runs `handler` on `req` inside the request's server span (`GET /products/{id}`, with
/// `http.request.method`, `http.route` and `http.response.status_code`; a 5xx marks it an
/// error) and records `http_requests_total` and `http_request_duration_seconds`. The handler
/// gets the request's [`Caller`]; claims that name no usable caller are answered here.
pub async fn observe<F, Fut>(req: Request, handler: F) -> Response<Body>
where
    F: FnOnce(Caller, Request) -> Fut,
    Fut: Future<Output = Response<Body>>,
{
    let (method, route) = route_of(&req);
    let span = tracing::info_span!(
        "request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = Empty,
        otel.status_code = Empty,
    );
    let started = Instant::now();
    let response = async move {
        match Caller::of(&req) {
            Ok(caller) => handler(caller, req).await,
            Err(err) => error_response(&err),
        }
    }
    .instrument(span.clone())
    .await;
    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
    }
    metrics::http_request(&route, &method, status, started.elapsed());
    response
}

/// Runs an API function: `handler` answers every request, through [`observe`], under the
/// runtime's telemetry layers ([`stockroom_telemetry::lambda::run`]). What [`crate::serve`]
/// runs each endpoint with.
///
/// # Errors
/// When the runtime API fails.
pub async fn run<F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(Caller, Request) -> Fut + Sync,
    Fut: Future<Output = Response<Body>> + Send,
{
    let service = lambda_runtime::service_fn(|req: Request| {
        let response = observe(req, &handler);
        async move { Ok::<_, Infallible>(response.await) }
    });
    stockroom_telemetry::lambda::run(Trigger::Http, lambda_http::Adapter::from(service)).await
}
