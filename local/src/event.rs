//! Builds the API Gateway HTTP API (payload format 2.0) event a request would become in AWS,
//! and turns it into the `lambda_http::Request` a handler receives, through the same
//! conversion `lambda_http`'s adapter applies in Lambda (under `stockroom_http::run`).

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use lambda_http::request::LambdaRequest;
use serde_json::{Map, Value, json};

use crate::template::Route;

/// What arrived over HTTP, before routing.
#[derive(Debug)]
pub struct Incoming<'a> {
    pub method: &'a str,
    /// The path as sent, still percent-encoded.
    pub raw_path: &'a str,
    pub raw_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
    pub source_ip: String,
}

/// Why `incoming` cannot become a request a function can read, if it cannot: `lambda_http`
/// builds each request's URI from the `host` header (else the domain name), the
/// `x-forwarded-proto` header, the path and the query, and panics on one that does not parse.
/// API Gateway sets those itself; the dev server passes what the client sent, so it checks.
///
/// # Errors
/// A sentence naming the header or part that is not a URI's.
pub fn check(incoming: &Incoming<'_>) -> Result<(), String> {
    let header = |name: http::header::HeaderName| {
        incoming
            .headers
            .get(name)
            .map(|v| v.to_str().map_err(|_| ()))
            .transpose()
    };
    let Ok(host) = header(http::header::HOST) else {
        return Err(String::from("The Host header is not a host name."));
    };
    let Ok(proto) = header(http::header::HeaderName::from_static("x-forwarded-proto")) else {
        return Err(String::from(
            "The X-Forwarded-Proto header is not http or https.",
        ));
    };
    if let Some(host) = host
        && host.parse::<http::uri::Authority>().is_err()
    {
        return Err(String::from("The Host header is not a host name."));
    }
    if proto.is_some_and(|p| p != "http" && p != "https") {
        return Err(String::from(
            "The X-Forwarded-Proto header is not http or https.",
        ));
    }
    let uri = format!(
        "{}://{}{}?{}",
        proto.unwrap_or("https"),
        host.unwrap_or("localhost"),
        incoming.raw_path,
        incoming.raw_query
    );
    let parsed_url = url::Url::parse(&uri).is_ok();
    if !parsed_url || uri.parse::<http::Uri>().is_err() {
        return Err(String::from(
            "The request's path or query string is not a URI's.",
        ));
    }
    Ok(())
}

/// Text bodies reach a function as they are; anything else is base64, as API Gateway does.
fn is_text(headers: &HeaderMap) -> bool {
    let ct = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let essence = ct.split(';').next().unwrap_or("").trim();
    essence.starts_with("text/")
        || essence.ends_with("/json")
        || essence.ends_with("+json")
        || essence.ends_with("/xml")
        || essence.ends_with("+xml")
        || essence == "application/x-www-form-urlencoded"
        || essence == "application/javascript"
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// The event JSON for `incoming`, matched to `route` with `params`; `claims` are those of the
/// token the route's authorizer verified, which API Gateway passes at
/// `requestContext.authorizer.jwt.claims`.
pub fn event_json(
    incoming: &Incoming<'_>,
    route: &Route,
    params: &[(String, String)],
    request_id: &str,
    claims: Option<&crate::auth::Claims>,
) -> Value {
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for name in incoming.headers.keys() {
        let values: Vec<&str> = incoming
            .headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if name == http::header::COOKIE {
            cookies.extend(values.iter().flat_map(|v| v.split("; ")).map(str::to_owned));
            continue;
        }
        // Header names arrive lower-cased and repeated headers comma-joined.
        headers.insert(name.as_str().to_owned(), Value::String(values.join(",")));
    }

    let mut query = Map::new();
    for pair in incoming.raw_query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (decode(k), decode(v));
        match query.get_mut(&k) {
            // Repeated parameters become one comma-separated value, as in payload 2.0.
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                query.insert(k, Value::String(v));
            }
        }
    }

    let (body, base64) = match (incoming.body.is_empty(), std::str::from_utf8(incoming.body)) {
        (true, _) => (Value::Null, false),
        (false, Ok(text)) if is_text(incoming.headers) => (Value::String(text.to_owned()), false),
        (false, _) => (Value::String(STANDARD.encode(incoming.body)), true),
    };

    let now = chrono::Utc::now();
    let user_agent = incoming
        .headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let host = incoming
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let path_params: Map<String, Value> = params
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();

    let mut event = json!({
        "version": "2.0",
        "routeKey": route.key(),
        "rawPath": incoming.raw_path,
        "rawQueryString": incoming.raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "stockroom-dev",
            "domainName": host,
            "domainPrefix": host.split('.').next().unwrap_or(host),
            "http": {
                "method": incoming.method,
                "path": incoming.raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": incoming.source_ip,
                "userAgent": user_agent,
            },
            "requestId": request_id,
            "routeKey": route.key(),
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": base64,
    });
    let fields = [
        ("cookies", (!cookies.is_empty()).then(|| json!(cookies))),
        (
            "queryStringParameters",
            (!query.is_empty()).then_some(Value::Object(query)),
        ),
        (
            "pathParameters",
            (!path_params.is_empty()).then_some(Value::Object(path_params)),
        ),
        ("body", (!body.is_null()).then_some(body)),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            event[key] = value;
        }
    }
    if let Some(claims) = claims {
        event["requestContext"]["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
    }
    event
}

/// `event` (an API Gateway HTTP API event, such as a file of `events/`) as API Gateway would
/// pass it with `token`, signed by `keys`: the token in its `authorization` header and its
/// verified claims at `requestContext.authorizer.jwt.claims`.
///
/// # Errors
/// When the event has no `requestContext` object or the token does not verify.
pub fn with_token(
    mut event: Value,
    token: &str,
    keys: &crate::auth::SigningKeyPair,
) -> anyhow::Result<Value> {
    let claims = keys
        .authorizer()
        .verify(Some(token), chrono::Utc::now().timestamp())
        .map_err(|refusal| anyhow::anyhow!("the token does not verify: {refusal}"))?;
    anyhow::ensure!(
        event["requestContext"].is_object(),
        "the event has no requestContext: it is not an HTTP API event"
    );
    event["requestContext"]["authorizer"] = json!({"jwt": {"claims": claims, "scopes": null}});
    if !event["headers"].is_object() {
        event["headers"] = json!({});
    }
    event["headers"]["authorization"] = Value::String(format!("Bearer {token}"));
    Ok(event)
}

/// The request a handler sees for `event`, converted exactly as in Lambda.
///
/// # Errors
/// When the JSON is not an HTTP API 2.0 event.
pub fn into_request(event: Value) -> anyhow::Result<lambda_http::Request> {
    let event: ApiGatewayV2httpRequest = serde_json::from_value(event)?;
    // lambda_http panics on a URI it cannot build; [`check`] refuses those requests first, and
    // this keeps any other such panic from taking a connection down with it.
    std::panic::catch_unwind(move || LambdaRequest::ApiGatewayV2(event).into())
        .map_err(|_| anyhow::anyhow!("lambda_http could not build a request from the event"))
}
