//! The HTTP side of the dev server: routing by template.yaml, in-process invocation, and the
//! server's own pages (`/openapi.yaml`, `/metrics`, the JWKS, and `POST /dev/token`).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, header};
use stockroom_http::{ErrorKind, Problem};
use tracing::Instrument as _;

use crate::auth::{Authorizer, Claims, Refusal, SigningKeyPair};
use crate::event::{Incoming, event_json, into_request};
use stockroom_store::Store;

use crate::registry::Handler;
use crate::template::Route;

/// API Gateway refuses request bodies over 10 MB before any function sees them.
pub const GATEWAY_MAX_BODY: usize = 10 * 1024 * 1024;

/// Everything a request needs: the routes with their handlers, the one store every handler's
/// port comes from, the spec, and the token check of the protected routes.
pub struct App {
    pub routes: Vec<(Route, Box<dyn Handler>)>,
    pub store: Store,
    pub openapi: String,
    /// What the JWT authorizer of the protected routes trusts: the data directory's key.
    pub authorizer: Authorizer,
    /// That key's public half, served at `/.well-known/jwks.json`.
    pub jwks: serde_json::Value,
    /// The signing key, for `POST /dev/token`: the console's local sign-in.
    pub keys: SigningKeyPair,
    /// The Prometheus registry `GET /metrics` renders, when this process installed one.
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

impl App {
    /// Pairs every template route with its handler; tokens signed by `keys` pass the routes'
    /// authorizer.
    ///
    /// # Errors
    /// When a route's handler is none of the services': the dev server would silently 404 a real
    /// endpoint otherwise.
    pub fn new(
        routes: Vec<Route>,
        store: Store,
        openapi: String,
        keys: &SigningKeyPair,
    ) -> anyhow::Result<Self> {
        let routes = routes
            .into_iter()
            .map(|route| {
                let handler = crate::registry::named(&route.handler).with_context(|| {
                    format!(
                        "template route {} names handler {} that no service has",
                        route.key(),
                        route.handler
                    )
                })?;
                Ok((route, handler))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Self {
            routes,
            store,
            openapi,
            authorizer: keys.authorizer(),
            jwks: keys.jwks(),
            keys: keys.clone(),
            metrics: None,
        })
    }
}

/// The router: the server's own pages first, every other request to the template's routes.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/openapi.yaml", axum::routing::get(openapi))
        .route("/metrics", axum::routing::get(metrics))
        .route("/.well-known/jwks.json", axum::routing::get(jwks))
        .route("/dev/token", axum::routing::post(dev_token))
        .fallback(invoke)
        .with_state(app)
}

async fn openapi(State(app): State<Arc<App>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/yaml")],
        app.openapi.clone(),
    )
        .into_response()
}

/// `POST /dev/token {"sub": "cust-ada", "admin": false}`: a one-hour token for that customer
/// (in the admin group if `admin`), as `cargo dev token` prints: the console's sign-in on the
/// dev server. Only the dev server mints tokens; in AWS the console signs in with Cognito.
async fn dev_token(State(app): State<Arc<App>>, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Ask {
        sub: String,
        #[serde(default)]
        admin: bool,
    }
    let ask: Ask = match serde_json::from_slice(&body) {
        Ok(ask) => ask,
        Err(err) => {
            return problem(Problem::new(
                ErrorKind::MalformedBody,
                format!("Send {{\"sub\": \"<customer id>\", \"admin\": false}}: {err}."),
            ));
        }
    };
    if let Err(err) = stockroom_domain::orders::CustomerId::parse_field("sub", &ask.sub) {
        return problem(
            Problem::new(ErrorKind::Validation, "sub cannot be a customer id.")
                .with_errors(vec![err]),
        );
    }
    let now = chrono::Utc::now().timestamp();
    let token = app.keys.token(&ask.sub, ask.admin, now, 3600);
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({"token": token, "sub": ask.sub, "admin": ask.admin, "expires_in": 3600})
            .to_string(),
    )
        .into_response()
}

/// The metrics in Prometheus text format: the dev server's stand-in for CloudWatch's EMF.
async fn metrics(State(app): State<Arc<App>>) -> Response {
    match &app.metrics {
        Some(handle) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            handle.render(),
        )
            .into_response(),
        None => problem(Problem::new(
            ErrorKind::NotFound,
            "This process records no metrics.",
        )),
    }
}

/// The key set the dev server's authorizer verifies tokens against, as an OIDC issuer
/// publishes it.
async fn jwks(State(app): State<Arc<App>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        app.jwks.to_string(),
    )
        .into_response()
}

/// API Gateway's answer to a request its JWT authorizer refuses.
fn unauthorized(refusal: &Refusal) -> Response {
    let mut response = (
        http::StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"message":"Unauthorized"}"#,
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&refusal.www_authenticate()) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

fn problem(problem: Problem) -> Response {
    into_axum(problem.into_response())
}

fn into_axum(response: lambda_http::Response<lambda_http::Body>) -> Response {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        lambda_http::Body::Text(text) => Bytes::from(text),
        lambda_http::Body::Binary(bytes) => Bytes::from(bytes),
        _ => Bytes::new(),
    };
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

fn segments(raw_path: &str) -> Vec<String> {
    raw_path
        .strip_prefix('/')
        .unwrap_or(raw_path)
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

/// Routes a request as API Gateway would (the most literal matching route wins), builds its
/// event and calls the handler in-process.
/// Serves one request as API Gateway and Lambda would, step by step: find its route (404,
/// 405), run the route's authorizer (401), read the body (413), build the function's event
/// (400), then invoke the handler in the function's span.
async fn invoke(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: axum::extract::Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let (route, handler, params) = match route(&app, &parts) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let claims = match authorize(&app, route, &parts) {
        Ok(claims) => claims,
        Err(response) => return *response,
    };
    let Ok(body) = axum::body::to_bytes(body, GATEWAY_MAX_BODY).await else {
        return problem(Problem::new(
            ErrorKind::PayloadTooLarge,
            "The request body is larger than 10 MB.",
        ));
    };
    let request_id = ulid::Ulid::new().to_string();
    let incoming = Incoming {
        method: parts.method.as_str(),
        raw_path: parts.uri.path(),
        raw_query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body: &body,
        source_ip: peer.ip().to_string(),
    };
    if let Err(reason) = crate::event::check(&incoming) {
        return problem(Problem::new(ErrorKind::Validation, reason));
    }
    let event = event_json(&incoming, route, &params, &request_id, claims.as_ref());
    call(
        &app,
        route,
        handler.as_ref(),
        event,
        &parts.headers,
        &request_id,
    )
    .await
}

/// A route that matched a request, its function's handler and the path parameters.
type Matched<'a> = (&'a Route, &'a Box<dyn Handler>, Vec<(String, String)>);

/// The most specific of the template's routes for the request's path and method, or the 404
/// (no route has the path) or 405 (with `Allow`) API Gateway would answer.
fn route<'a>(app: &'a App, parts: &http::request::Parts) -> Result<Matched<'a>, Box<Response>> {
    let path = segments(parts.uri.path());
    let matching: Vec<_> = app
        .routes
        .iter()
        .filter_map(|(route, handler)| route.matches(&path).map(|params| (route, handler, params)))
        .collect();
    if matching.is_empty() {
        return Err(Box::new(problem(Problem::new(
            ErrorKind::NotFound,
            format!("No route matches {}.", parts.uri.path()),
        ))));
    }
    let mut allowed: Vec<&str> = matching
        .iter()
        .map(|(route, ..)| route.method.as_str())
        .collect();
    allowed.sort_unstable();
    allowed.dedup();
    let allowed = allowed.join(", ");
    match matching
        .into_iter()
        .filter(|(route, ..)| route.method == parts.method.as_str())
        .max_by_key(|(route, ..)| route.specificity())
    {
        Some(found) => Ok(found),
        None => {
            let mut response = problem(Problem::new(
                ErrorKind::MethodNotAllowed,
                format!(
                    "{} does not accept {}; it accepts {allowed}.",
                    parts.uri.path(),
                    parts.method,
                ),
            ));
            if let Ok(value) = HeaderValue::from_str(&allowed) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            Err(Box::new(response))
        }
    }
}

/// The route's authorizer, before the function: the claims of a valid token (for the event),
/// nothing for a public route, or API Gateway's 401. The token itself is never logged.
fn authorize(
    app: &App,
    route: &Route,
    parts: &http::request::Parts,
) -> Result<Option<Claims>, Box<Response>> {
    if route.authorizer.is_none() {
        return Ok(None);
    }
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match app
        .authorizer
        .verify(authorization, chrono::Utc::now().timestamp())
    {
        Ok(claims) => Ok(Some(claims)),
        Err(refusal) => {
            tracing::info!(route = %route.key(), reason = %refusal, "unauthorized");
            Err(Box::new(unauthorized(&refusal)))
        }
    }
}

/// Invokes `handler` with `event` inside the span Lambda's runtime opens around an invocation,
/// continuing the client's trace from `headers`.
async fn call(
    app: &App,
    route: &Route,
    handler: &dyn Handler,
    event: serde_json::Value,
    headers: &http::HeaderMap,
    request_id: &str,
) -> Response {
    let span = tracing::info_span!(
        "invoke",
        otel.name = %route.function,
        faas.trigger = "http",
        faas.invocation_id = %request_id,
        requestId = %request_id,
        function = %route.function,
    );
    stockroom_telemetry::otel::continue_trace(
        &span,
        headers
            .iter()
            .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?))),
    );
    async {
        let request = match into_request(event) {
            Ok(request) => request,
            Err(err) => {
                tracing::error!(error = %err, "failed to build the API Gateway event");
                return problem(Problem::new(
                    ErrorKind::Internal,
                    "The request could not be passed to its function.",
                ));
            }
        };
        let response = stockroom_http::observe(request, |caller, request| {
            handler.call(&app.store, caller, request)
        })
        .await;
        tracing::info!(status = response.status().as_u16(), route = %route.key(), "invoked");
        into_axum(response)
    }
    .instrument(span)
    .await
}

/// Serves `app` on `listener` until `shutdown` completes.
///
/// # Errors
/// When the listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<App>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    axum::serve(
        listener,
        router(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("the dev server stopped")
}
