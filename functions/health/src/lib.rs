//! `GET /health`: whether the API is up, and which version answers.
//!
//! Its binary (`src/bin/health.rs`) is a tiny main like every other function's.

use http::StatusCode;
use serde::Serialize;
use stockroom_http::{Body, Request, Response};

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
