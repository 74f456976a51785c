//! `GET /health`: whether the API is up, and which version answers.
//!
//! Its binary (`src/bin/health.rs`) is `stockroom_http::serve_binary::<Operation>()`, like
//! every other service's main.

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

stockroom_http::operations! {
    /// The health endpoint. It uses no store, so its function opens none and starts like a
    /// bare runtime.
    pub enum Operation in "health" without store {
        Health = "health", "GET /health" => health,
    }
}
