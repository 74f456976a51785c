//! `GET /health`: whether the API is up, and which version answers.
//!
//! Its binary (`src/bin/health.rs`) is `stockroom_http::serve_binary::<Operation>()`, like
//! every other service's main.

use http::StatusCode;
use serde::Serialize;
use stockroom_http::{Body, BoxResponse, Caller, Endpoints, Request, Response};

/// The version every function reports: the workspace version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[derive(Debug, Serialize)]
struct Health {
    status: &'static str,
    version: &'static str,
}

/// Always `200 {"status": "ok", "version": ...}`: the function answering is the check.
#[tracing::instrument(skip_all, fields(route = "GET /health"))]
pub async fn health(_req: Request) -> Response<Body> {
    stockroom_http::json(
        StatusCode::OK,
        &Health {
            status: "ok",
            version: VERSION,
        },
    )
}

/// The health endpoint. Written out rather than with `operations!`: it uses no store, so its
/// function opens none (`Store = ()`) and starts like a bare runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Health,
}

impl Endpoints for Operation {
    const BINARY: &'static str = "health";
    type Store = ();

    fn all() -> &'static [Self] {
        &[Self::Health]
    }

    fn handler(self) -> &'static str {
        "health"
    }

    fn route(self) -> &'static str {
        "GET /health"
    }

    type Port = ();

    fn port(_store: &()) -> anyhow::Result<()> {
        Ok(())
    }

    fn call<'a>(self, _port: &'a (), _caller: Caller, req: Request) -> BoxResponse<'a> {
        Box::pin(health(req))
    }
}
