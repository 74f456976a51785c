//! The browser side of Stockroom: the shop (`/shop`), the back office (`/admin`), the
//! interactive API docs (`/docs`, Swagger UI over `/openapi.yaml`) and their static files under
//! `/static/`, all embedded in the binary at build time from the workspace's `web/` folder (and
//! openapi.yaml), so they need no bucket, no CDN and no network: `cargo dev` serves them from
//! this crate's handler as the stack's `WebFunction` does, on the API's own domain (no CORS).
//!
//! The pages are plain HTML and JavaScript modules with no build step; Swagger UI is vendored
//! (web/static/vendor/swagger-ui/VERSION says which).

use http::{StatusCode, header};
use stockroom_http::{Body, BoxResponse, Caller, Endpoints, ErrorKind, Problem, Request, Response};

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// Its URL path: `/shop`, `/static/shop.js`.
    pub path: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The file served at `path` (a trailing `/` ignored), if any.
pub fn asset(path: &str) -> Option<&'static Asset> {
    let path = match path.strip_suffix('/') {
        Some(trimmed) if !trimmed.is_empty() => trimmed,
        _ => path,
    };
    ASSETS.iter().find(|a| a.path == path)
}

/// What every page and file is sent with: the pages load nothing from elsewhere, and embed
/// nothing elsewhere embeds.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                   frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// `GET /{proxy+}`: the embedded file at the request's path, or a 404 problem.
#[tracing::instrument(skip_all, fields(route = "GET /{proxy+}"))]
pub async fn web(req: Request) -> Response<Body> {
    let Some(asset) = asset(req.uri().path()) else {
        return Problem::new(
            ErrorKind::NotFound,
            format!("Nothing is served at {}.", req.uri().path()),
        )
        .into_response();
    };
    // Pages and the spec are re-checked on every load; the files they load are fetched again
    // after five minutes (a deploy changes them in place).
    let cache = if asset.path.starts_with("/static/") {
        "public, max-age=300"
    } else {
        "no-cache"
    };
    let body = match std::str::from_utf8(asset.bytes) {
        Ok(text) => Body::Text(text.to_owned()),
        Err(_) => Body::Binary(asset.bytes.to_vec()),
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static(cache),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    response
}

/// The web endpoint: one function for every page and file, with no store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Web,
}

impl Endpoints for Operation {
    const BINARY: &'static str = "web";
    type Store = ();

    fn all() -> &'static [Self] {
        &[Self::Web]
    }

    fn handler(self) -> &'static str {
        "web"
    }

    fn route(self) -> &'static str {
        "GET /{proxy+}"
    }

    type Port = ();

    fn port(_store: &()) -> anyhow::Result<()> {
        Ok(())
    }

    fn call<'a>(self, _port: &'a (), _caller: Caller, req: Request) -> BoxResponse<'a> {
        Box::pin(web(req))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_pages_the_docs_and_the_spec_are_embedded() {
        for path in [
            "/shop",
            "/admin",
            "/docs",
            "/openapi.yaml",
            "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        ] {
            assert!(asset(path).is_some(), "{path}");
        }
        assert_eq!(asset("/shop/").unwrap().path, "/shop");
        assert!(asset("/nothing").is_none());
        assert!(asset("/").is_none());
    }

    #[test]
    fn nothing_a_page_loads_comes_from_elsewhere() {
        for asset in ASSETS
            .iter()
            .filter(|a| a.path.ends_with(".html") || !a.path.contains('.'))
        {
            let text = std::str::from_utf8(asset.bytes).unwrap();
            for needle in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
                assert!(!text.contains(needle), "{} loads {needle}...", asset.path);
            }
        }
    }
}
