//! The browser side of Stockroom: the shop (`/shop`), the back office (`/admin`), the
//! interactive API docs (`/docs`, Swagger UI over `/openapi.yaml`) and their static files under
//! `/static/`, all embedded in the binary at build time from the workspace's `web/` folder (and
//! openapi.yaml), so they need no bucket, no CDN and no network: `cargo dev` serves them from
//! this crate's handler as the stack's `WebFunction` does, on the API's own domain (no CORS).
//!
//! The pages are plain HTML and JavaScript modules with no build step; Swagger UI is vendored
//! (web/static/vendor/swagger-ui/VERSION says which).

use http::{StatusCode, header};
use stockroom_http::{Body, ErrorKind, Problem, Request, Response};

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

/// Where the console signs in, from the environment the stack gives `WebFunction` (its
/// `ConsoleUrl` parameter set): Cognito's hosted sign-in and the console's app client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignIn {
    /// `https://<domain>.auth.<region>.amazoncognito.com`: `/oauth2/authorize` and
    /// `/oauth2/token` are under it.
    pub url: String,
    pub client_id: String,
}

/// The variables `SignIn` is read from.
pub const SIGN_IN_URL_VAR: &str = "CONSOLE_SIGN_IN_URL";
pub const CLIENT_ID_VAR: &str = "CONSOLE_CLIENT_ID";

impl SignIn {
    /// From `var` (the environment): both variables set, the URL `https://` (or, for a local
    /// stand-in, `http://127.0.0.1:`) and plain enough to put in a header, else none.
    pub fn from(var: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let url = var(SIGN_IN_URL_VAR)?.trim_end_matches('/').to_owned();
        let client_id = var(CLIENT_ID_VAR)?;
        let allowed = url.starts_with("https://") || url.starts_with("http://127.0.0.1:");
        let plain = |s: &str| {
            s.chars()
                .all(|c| c.is_ascii_graphic() && !"'\\\";<>,".contains(c))
        };
        (allowed && plain(&url) && plain(&client_id) && !client_id.is_empty())
            .then_some(Self { url, client_id })
    }
}

fn sign_in() -> Option<&'static SignIn> {
    static SIGN_IN: std::sync::OnceLock<Option<SignIn>> = std::sync::OnceLock::new();
    SIGN_IN
        .get_or_init(|| SignIn::from(|name| std::env::var(name).ok()))
        .as_ref()
}

/// What every page and file is sent with: the pages load nothing from elsewhere, embed
/// nothing elsewhere embeds, and call only this server and, with hosted sign-in, its token
/// endpoint.
fn csp(sign_in: Option<&SignIn>) -> String {
    let connect = sign_in.map_or(String::new(), |s| format!(" {}", s.url));
    format!(
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
         connect-src 'self'{connect}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
}

/// `GET /console.json`: how the console signs in here, `{"sign_in": {"url", "client_id"}}`, or
/// `{"sign_in": null}` (a pasted token, or the dev server's `POST /dev/token`).
fn console_json(sign_in: Option<&SignIn>) -> String {
    match sign_in {
        Some(s) => format!(
            "{{\"sign_in\":{{\"url\":\"{}\",\"client_id\":\"{}\"}}}}",
            s.url, s.client_id
        ),
        None => String::from("{\"sign_in\":null}"),
    }
}

/// `GET /{proxy+}`: the embedded file at the request's path (or `/console.json`), or a 404
/// problem.
#[tracing::instrument(skip_all, fields(route = "GET /{proxy+}"))]
pub async fn web(req: Request) -> Response<Body> {
    serve(req.uri().path(), sign_in())
}

/// What `web` answers for `path`, with `sign_in` configured.
pub fn serve(path: &str, sign_in: Option<&SignIn>) -> Response<Body> {
    if path == "/console.json" {
        let body = Body::Text(console_json(sign_in));
        return respond(body, "application/json", "no-cache", sign_in);
    }
    let Some(asset) = asset(path) else {
        return Problem::new(ErrorKind::NotFound, format!("Nothing is served at {path}."))
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
    respond(body, asset.content_type, cache, sign_in)
}

fn respond(
    body: Body,
    content_type: &'static str,
    cache: &'static str,
    sign_in: Option<&SignIn>,
) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static(cache),
    );
    if let Ok(policy) = header::HeaderValue::from_str(&csp(sign_in)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    response
}

stockroom_http::operations! {
    /// The web endpoint: one function for every page and file, with no store.
    pub enum Operation in "web" without store {
        Web = "web", "GET /{proxy+}" => web,
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
    fn hosted_sign_in_is_served_to_the_pages_and_allowed_by_their_policy() {
        let vars = |url: &'static str| {
            move |name: &str| match name {
                SIGN_IN_URL_VAR => Some(url.to_owned()),
                CLIENT_ID_VAR => Some(String::from("client-1")),
                _ => None,
            }
        };
        let cognito = "https://stockroom-x.auth.eu-west-1.amazoncognito.com";
        let sign_in = SignIn::from(vars(
            "https://stockroom-x.auth.eu-west-1.amazoncognito.com/",
        ))
        .unwrap();
        assert_eq!(sign_in.url, cognito);
        let text = |response: Response<Body>| match response.into_body() {
            Body::Text(text) => text,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            text(serve("/console.json", Some(&sign_in))),
            format!(r#"{{"sign_in":{{"url":"{cognito}","client_id":"client-1"}}}}"#)
        );
        assert_eq!(text(serve("/console.json", None)), r#"{"sign_in":null}"#);
        let policy = |sign_in| {
            serve("/shop", sign_in).headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert!(policy(Some(&sign_in)).contains(&format!("connect-src 'self' {cognito};")));
        assert!(policy(None).contains("connect-src 'self';"));
        // Nothing that could widen the policy or break the JSON.
        assert!(SignIn::from(vars("http://evil.example")).is_none());
        assert!(SignIn::from(vars("https://a.example; script-src *")).is_none());
        assert!(SignIn::from(vars("https://a.example\",\"x")).is_none());
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
