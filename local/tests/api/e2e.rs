//! End to end over HTTP: the dev server on a real socket, template.yaml's routes, the handlers
//! and the embedded store, driven the way a user's curl or app would.

use crate::support::{Server, fields, problem};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn a_product_can_be_created_read_replaced_priced_and_deleted() {
    let s = Server::start().await;

    let created = s
        .post(
            "/products",
            &json!({"id": "sku-mug", "name": "Mug", "price": 1250, "category": "kitchen"}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.headers()["location"], "/products/sku-mug");
    let product: Value = created.json().await.unwrap();
    assert_eq!(product["currency"], "USD");
    assert_eq!(product["description"], Value::Null);
    assert_eq!(product["created_at"], product["updated_at"]);

    let read: Value = s.get("/products/sku-mug").await.json().await.unwrap();
    assert_eq!(read, product);

    let replaced = s
        .send_json(
            reqwest::Method::PUT,
            "/products/sku-mug",
            &json!({"name": "Mug", "price": 990, "category": "kitchen"}),
        )
        .await;
    assert_eq!(replaced.status(), StatusCode::OK);
    let replaced: Value = replaced.json().await.unwrap();
    assert_eq!(replaced["price"], 990);
    assert_eq!(replaced["created_at"], product["created_at"]);

    let prices = s.get("/products/sku-mug/prices?days=7").await;
    assert_eq!(prices.status(), StatusCode::OK);
    let prices: Value = prices.json().await.unwrap();
    assert_eq!(prices["product_id"], "sku-mug");
    assert_eq!(prices["days"], 7);
    // Created at 12.50 and cut to 9.90 today: today closes at 9.90, the lowest is 9.90.
    assert_eq!(
        prices["prices"].as_array().unwrap().last().unwrap()["price"],
        990
    );
    assert_eq!(prices["lowest"], 990);

    let deleted = s
        .http
        .delete(s.url("/products/sku-mug"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(deleted.bytes().await.unwrap().is_empty());
    let gone = problem(s.get("/products/sku-mug").await, StatusCode::NOT_FOUND).await;
    assert_eq!(gone["detail"], r#"No product has the id "sku-mug"."#);
    problem(
        s.http
            .delete(s.url("/products/sku-mug"))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        s.get("/products/sku-mug/prices").await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn a_product_without_an_id_gets_a_ulid() {
    let s = Server::start().await;
    let created = s
        .post("/products", &json!({"name": "Kettle", "price": 4900}))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let product: Value = created.json().await.unwrap();
    let id = product["id"].as_str().unwrap();
    assert_eq!(id.len(), 26);
    assert_eq!(location, format!("/products/{id}"));
    assert_eq!(s.get(&location).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_list_pages_with_a_cursor_and_filters_by_category() {
    let s = Server::start().await;
    for (id, category) in [
        ("a", "books"),
        ("b", "games"),
        ("c", "books"),
        ("d", "books"),
    ] {
        let r = s
            .post(
                "/products",
                &json!({"id": id, "name": id, "price": 1, "category": category}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let first: Value = s
        .get("/products?category=books&limit=2")
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a", "c"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value = s
        .get(&format!("/products?category=books&limit=2&cursor={cursor}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["items"][0]["id"], "d");
    assert_eq!(second["next_cursor"], Value::Null);

    let empty: Value = s.get("/products?category=toys").await.json().await.unwrap();
    assert_eq!(empty, json!({"items": [], "next_cursor": null}));
}

/// `(method, path, content type, body, expected status, fields named in errors)`.
type BadRequest<'a> = (
    reqwest::Method,
    &'a str,
    &'a str,
    String,
    StatusCode,
    Vec<&'a str>,
);

#[tokio::test]
async fn bad_input_gets_a_problem_and_changes_nothing() {
    let s = Server::start().await;
    assert_eq!(
        s.post(
            "/products",
            &json!({"id": "keep", "name": "Keep", "price": 5})
        )
        .await
        .status(),
        StatusCode::CREATED
    );
    let before = s.catalog().await;

    let too_big = format!(r#"{{"name":"{}","price":1}}"#, "x".repeat(64 * 1024));
    let cases: Vec<BadRequest<'_>> = vec![
        (
            reqwest::Method::POST,
            "/products",
            "application/json",
            "{".into(),
            StatusCode::BAD_REQUEST,
            vec![],
        ),
        (
            reqwest::Method::POST,
            "/products",
            "application/json",
            "".into(),
            StatusCode::BAD_REQUEST,
            vec![],
        ),
        (
            reqwest::Method::POST,
            "/products",
            "application/json",
            "null".into(),
            StatusCode::BAD_REQUEST,
            vec![],
        ),
        // serde would read a struct from an array; an API that takes objects must not.
        (
            reqwest::Method::POST,
            "/products",
            "application/json",
            r#"[null, "Mug", null, 5]"#.into(),
            StatusCode::BAD_REQUEST,
            vec![],
        ),
        (
            reqwest::Method::POST,
            "/products",
            "application/json",
            r#"{"name":"A","price":1,"colour":"red"}"#.into(),
            StatusCode::BAD_REQUEST,
            vec!["colour"],
        ),
        (
            reqwest::Method::POST,
            "/products",
            "application/json",
            r#"{"name":"A","price":"1"}"#.into(),
            StatusCode::BAD_REQUEST,
            vec!["price"],
        ),
        (
            reqwest::Method::POST,
            "/products",
            "application/json",
            r#"{"name":"A","price":19.99}"#.into(),
            StatusCode::BAD_REQUEST,
            vec!["price"],
        ),
        (
            reqwest::Method::POST,
            "/products",
            "application/json",
            r#"{}"#.into(),
            StatusCode::BAD_REQUEST,
            vec!["name", "price"],
        ),
        (
            reqwest::Method::POST,
            "/products",
            "application/json",
            r#"{"id":"no/slash","name":" ","price":-5,"currency":"usd","category":"a b"}"#.into(),
            StatusCode::BAD_REQUEST,
            vec!["id", "name", "price", "currency", "category"],
        ),
        (
            reqwest::Method::POST,
            "/products",
            "application/json",
            r#"{"id":"keep","name":"Other","price":1}"#.into(),
            StatusCode::CONFLICT,
            vec![],
        ),
        (
            reqwest::Method::POST,
            "/products",
            "text/plain",
            r#"{"name":"A","price":1}"#.into(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            vec![],
        ),
        (
            reqwest::Method::POST,
            "/products",
            "application/octet-stream",
            "\u{0}\u{1}".into(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            vec![],
        ),
        (
            reqwest::Method::POST,
            "/products",
            "application/json",
            too_big.clone(),
            StatusCode::PAYLOAD_TOO_LARGE,
            vec![],
        ),
        (
            reqwest::Method::PUT,
            "/products/keep",
            "application/json",
            r#"{"name":"Keep","price":-1}"#.into(),
            StatusCode::BAD_REQUEST,
            vec!["price"],
        ),
        (
            reqwest::Method::PUT,
            "/products/keep",
            "application/json",
            r#"{"id":"other","name":"Keep","price":1}"#.into(),
            StatusCode::BAD_REQUEST,
            vec!["id"],
        ),
        (
            reqwest::Method::PUT,
            "/products/keep",
            "text/plain",
            "{}".into(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            vec![],
        ),
        (
            reqwest::Method::PUT,
            "/products/keep",
            "application/json",
            too_big,
            StatusCode::PAYLOAD_TOO_LARGE,
            vec![],
        ),
        (
            reqwest::Method::PUT,
            "/products/ghost",
            "application/json",
            r#"{"name":"Ghost","price":1}"#.into(),
            StatusCode::NOT_FOUND,
            vec![],
        ),
        (
            reqwest::Method::PUT,
            "/products/bad%20id",
            "application/json",
            r#"{"name":"Ghost","price":1}"#.into(),
            StatusCode::NOT_FOUND,
            vec![],
        ),
        (
            reqwest::Method::DELETE,
            "/products/ghost",
            "application/json",
            String::new(),
            StatusCode::NOT_FOUND,
            vec![],
        ),
    ];
    for (method, path, content_type, body, status, expected_fields) in cases {
        let shown = format!("{method} {path} {content_type} {:.60}", body);
        let response = s.raw(method, path, content_type, body).await;
        assert_eq!(response.status(), status, "{shown}");
        let body = problem(response, status).await;
        assert_eq!(fields(&body), expected_fields, "{shown}: {body}");
        assert_eq!(s.catalog().await, before, "{shown} changed the catalog");
    }
}

#[tokio::test]
async fn bad_query_parameters_are_400_with_the_field_named() {
    let s = Server::start().await;
    s.post(
        "/products",
        &json!({"id": "mug", "name": "Mug", "price": 1}),
    )
    .await;
    let cases = [
        ("/products?limit=0", vec!["limit"]),
        ("/products?limit=101", vec!["limit"]),
        ("/products?limit=ten", vec!["limit"]),
        ("/products?cursor=not-a-cursor", vec!["cursor"]),
        ("/products?category=a%20b", vec!["category"]),
        ("/products?limit=0&cursor=%%%", vec!["limit", "cursor"]),
        ("/products/mug/prices?days=0", vec!["days"]),
        ("/products/mug/prices?days=366", vec!["days"]),
        ("/products/mug/prices?days=1.5", vec!["days"]),
    ];
    for (path, expected) in cases {
        let body = problem(s.get(path).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(fields(&body), expected, "{path}: {body}");
    }
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_problems() {
    let s = Server::start().await;
    problem(s.get("/nope").await, StatusCode::NOT_FOUND).await;
    problem(s.get("/products/a/b/c").await, StatusCode::NOT_FOUND).await;
    problem(s.get("/products/").await, StatusCode::NOT_FOUND).await;
    let wrong = s.http.patch(s.url("/products")).send().await.unwrap();
    assert_eq!(wrong.headers()["allow"], "GET, POST");
    problem(wrong, StatusCode::METHOD_NOT_ALLOWED).await;
    problem(
        s.http.post(s.url("/health")).send().await.unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
}

#[tokio::test]
async fn health_docs_and_the_spec_are_served() {
    let s = Server::start().await;
    let health: Value = s.get("/health").await.json().await.unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["version"], env!("CARGO_PKG_VERSION"));

    let spec = s.get("/openapi.yaml").await;
    assert_eq!(spec.status(), StatusCode::OK);
    assert!(spec.text().await.unwrap().contains("/products/{id}/prices"));

    // The interactive docs (Swagger UI, vendored) and the console: pages and the files they
    // load, all from the server itself; tests/browser drives them in Chromium.
    for page in ["/docs", "/shop", "/admin"] {
        let response = s.get(page).await;
        assert_eq!(response.status(), StatusCode::OK, "{page}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("text/html"),
            "{page}: {content_type}"
        );
        let html = response.text().await.unwrap();
        assert!(!html.contains("src=\"http"), "{page} must work offline");
    }
    let bundle = s
        .get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
        .await;
    assert_eq!(bundle.status(), StatusCode::OK);
    let missing = s.get("/static/no-such-file.js").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_dev_server_mints_console_tokens_the_api_accepts() {
    let s = Server::start().await;
    let minted = s
        .as_token(None)
        .post("/dev/token", &json!({"sub": "cust-web", "admin": false}))
        .await;
    assert_eq!(minted.status(), StatusCode::OK);
    let minted: Value = minted.json().await.unwrap();
    let token = minted["token"].as_str().unwrap().to_owned();
    let orders = s.as_token(Some(token)).get("/orders").await;
    assert_eq!(orders.status(), StatusCode::OK);
    let bad = s
        .as_token(None)
        .post("/dev/token", &json!({"sub": "not a customer id!"}))
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_host_or_forwarded_proto_no_uri_can_hold_is_a_400_not_a_dropped_connection() {
    let s = Server::start().await;
    for (name, value) in [("host", "bad host"), ("x-forwarded-proto", "ht tp")] {
        let response = s
            .http
            .get(s.url("/products"))
            .header(name, value)
            .send()
            .await
            .unwrap();
        let body = problem(response, StatusCode::BAD_REQUEST).await;
        assert!(
            body["detail"].as_str().unwrap().contains("header"),
            "{body}"
        );
    }
    // The server still answers.
    assert_eq!(s.get("/health").await.status(), StatusCode::OK);
}
