//! Request parsing under generated input: bodies, content types, path parameters, query
//! strings and JWT claims, arbitrary and near-valid. Nothing here may panic, and every
//! refusal is a client error (4xx) of the kind the input deserves, never an internal one.
//!
//! Each property runs `STOCKROOM_FUZZ_CASES` cases (default 1000; the test command sets it).

#![allow(clippy::unwrap_used)] // A test that cannot unwrap has failed; the panic says where.

use std::collections::HashMap;

use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Request, RequestExt as _};
use proptest::prelude::*;
use serde::Deserialize;
use stockroom_domain::ProductId;
use stockroom_domain::id::is_valid_id;
use stockroom_http::{
    ApiError as _, Caller, ErrorKind, MAX_BODY_BYTES, QueryParams, json_body, path_param,
};

fn cases() -> u32 {
    std::env::var("STOCKROOM_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000)
}

/// A body shaped like the API's: optional fields, unknown ones refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Dto {
    name: Option<String>,
    price: Option<i64>,
    items: Option<Vec<Line>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Line {
    product_id: Option<String>,
    quantity: Option<i64>,
}

fn request(content_type: Option<&str>, body: Vec<u8>) -> Request {
    let mut builder = http::Request::builder().method("POST").uri("/x");
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    builder.body(Body::Binary(body)).unwrap()
}

/// JSON values of every shape, nested a few levels, with the API's field names among others.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let key = prop_oneof![
        Just(String::from("name")),
        Just(String::from("price")),
        Just(String::from("items")),
        Just(String::from("product_id")),
        Just(String::from("quantity")),
        "[a-z_]{0,8}",
        any::<String>(),
    ];
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        any::<String>().prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..8)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn content_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(Some(String::from("application/json"))),
        Just(Some(String::from("application/json; charset=utf-8"))),
        Just(Some(String::from("application/merge-patch+json"))),
        Just(Some(String::from("text/plain"))),
        Just(None),
        "[ -~]{0,40}".prop_map(Some),
    ]
}

/// The kinds a body may be refused with.
const BODY_KINDS: [ErrorKind; 4] = [
    ErrorKind::MalformedBody,
    ErrorKind::UnsupportedMediaType,
    ErrorKind::PayloadTooLarge,
    ErrorKind::Validation,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn arbitrary_bytes_as_a_body_are_read_or_refused_as_a_client_error(
        ct in content_type(),
        body in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        if let Err(err) = json_body::<Dto>(&request(ct.as_deref(), body)) {
            prop_assert!(BODY_KINDS.contains(&err.kind()), "{err:?}");
        }
    }

    #[test]
    fn any_json_value_as_a_body_is_read_or_refused_as_a_client_error(value in json_value()) {
        let body = serde_json::to_vec(&value).unwrap();
        let too_large = body.len() > MAX_BODY_BYTES;
        match json_body::<Dto>(&request(Some("application/json"), body)) {
            Ok(_) => prop_assert!(value.is_object() && !too_large),
            Err(err) => prop_assert!(BODY_KINDS.contains(&err.kind()), "{err:?}"),
        }
    }

    #[test]
    fn a_path_parameter_is_an_id_or_a_404(raw in prop_oneof![any::<String>(), "[A-Za-z0-9_-]{0,70}"]) {
        let req: Request = Request::default()
            .with_path_parameters(HashMap::from([(String::from("id"), raw.clone())]));
        match path_param(&req, "id", "product", ProductId::parse) {
            Ok(id) => prop_assert_eq!(id.as_str(), raw.as_str()),
            Err(err) => {
                prop_assert!(!is_valid_id(&raw));
                prop_assert_eq!(err.kind(), ErrorKind::NotFound);
            }
        }
    }

    #[test]
    fn query_strings_page_or_name_every_bad_parameter(
        params in prop::collection::hash_map(
            prop_oneof![Just(String::from("limit")), Just(String::from("cursor")),
                        Just(String::from("customer_id")), "[a-z]{1,6}"],
            prop_oneof![any::<String>(), "-?[0-9]{0,5}", "[A-Za-z0-9_=-]{0,30}"],
            0..5,
        ),
    ) {
        let req: Request = Request::default().with_query_string_parameters(params.clone());
        let mut query = QueryParams::new(&req);
        let _customer = query.optional("customer_id", |s| {
            stockroom_domain::orders::CustomerId::parse_field("customer_id", s)
        });
        let _page = query.page::<ProductId>();
        if let Err(err) = query.finish() {
            prop_assert_eq!(err.kind(), ErrorKind::Validation);
            for field in err.field_errors() {
                prop_assert!(params.contains_key(&field.field), "{field:?} of {params:?}");
            }
        }
    }

    #[test]
    fn any_claims_make_a_caller_or_a_403(
        sub in prop::option::of(prop_oneof![any::<String>(), "[A-Za-z0-9_|:-]{0,70}"]),
        groups in prop::option::of(prop_oneof![
            any::<String>(),
            "\\[[a-z ,\"]{0,30}\\]",
            Just(String::from("[admin]")),
            Just(String::from("[support admin]")),
        ]),
        group_claim in prop_oneof![Just("cognito:groups"), Just("groups"), Just("custom:groups")],
        others in prop::collection::hash_map("[a-z:_]{1,12}", any::<String>(), 0..6),
    ) {
        let mut claims: HashMap<String, String> = others;
        claims.remove("sub");
        claims.remove("groups");
        claims.remove("cognito:groups");
        if let Some(sub) = &sub {
            claims.insert(String::from("sub"), sub.clone());
        }
        if let Some(groups) = &groups {
            claims.insert(String::from(group_claim), groups.clone());
        }
        match Caller::from_claims(&claims) {
            Ok(Caller::SignedIn(principal)) => {
                prop_assert!(sub.as_deref().is_some_and(is_valid_id));
                let read = group_claim != "custom:groups";
                match groups.as_deref() {
                    Some("[admin]" | "[support admin]") => {
                        prop_assert_eq!(principal.admin, read, "{:?}", claims);
                    }
                    // No group list that lacks the word makes an administrator.
                    Some(g) if g.contains("admin") && read => {}
                    _ => prop_assert!(!principal.admin, "{:?}", claims),
                }
            }
            Ok(Caller::Anonymous) => prop_assert!(false, "claims never make an anonymous caller"),
            Err(err) => {
                prop_assert!(!sub.as_deref().is_some_and(is_valid_id));
                prop_assert_eq!(err.kind(), ErrorKind::Forbidden);
            }
        }
    }

    #[test]
    fn an_api_gateway_event_with_any_claims_reaches_the_handler_with_a_caller_or_a_403(
        claims in prop::collection::hash_map(
            prop_oneof![Just(String::from("sub")), Just(String::from("cognito:groups")), "[a-z]{1,8}"],
            any::<String>(),
            0..5,
        ),
    ) {
        let event = serde_json::json!({
            "version": "2.0",
            "routeKey": "GET /orders",
            "rawPath": "/orders",
            "rawQueryString": "",
            "headers": {},
            "requestContext": {
                "accountId": "123456789012", "apiId": "x", "domainName": "x", "domainPrefix": "x",
                "http": {"method": "GET", "path": "/orders", "protocol": "HTTP/1.1",
                         "sourceIp": "127.0.0.1", "userAgent": "t"},
                "requestId": "r", "routeKey": "GET /orders", "stage": "$default",
                "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 0,
                "authorizer": {"jwt": {"claims": claims, "scopes": null}},
            },
            "isBase64Encoded": false,
        });
        let event = serde_json::from_value(event).unwrap();
        let req: Request = LambdaRequest::ApiGatewayV2(event).into();
        match Caller::of(&req) {
            Ok(caller) => prop_assert!(caller.signed_in().is_ok()),
            Err(err) => prop_assert_eq!(err.kind(), ErrorKind::Forbidden),
        }
    }
}
