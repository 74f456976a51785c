//! End to end over HTTP for the inventory: every status of the contract, bad input that changes
//! nothing, and a race of decrements through the dev server.

use crate::support::{Server, fields, problem};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A server with `sku` in the catalog and, when `units` is given, that many available.
async fn stocked(sku: &str, units: Option<u64>) -> Server {
    let s = Server::start().await;
    s.add_product(sku, 1250, "USD", units).await;
    s
}

#[tokio::test]
async fn stock_can_be_set_read_moved_listed_and_deleted() {
    let s = stocked("sku-mug", None).await;

    let set = s
        .send_json(Method::PUT, "/stock/sku-mug", &json!({"available": 10}))
        .await;
    assert_eq!(set.status(), StatusCode::OK);
    assert_eq!(set.headers()["content-type"], "application/json");
    let body: Value = set.json().await.unwrap();
    assert_eq!(body["product_id"], "sku-mug");
    assert_eq!(
        (body["available"].as_u64(), body["reserved"].as_u64()),
        (Some(10), Some(0))
    );
    assert!(body["updated_at"].as_str().unwrap().ends_with('Z'));

    for (path, quantity, expected) in [
        ("decrement", 3, (7, 0)),
        ("reserve", 4, (3, 4)),
        ("release", 1, (4, 3)),
    ] {
        let moved = s
            .post(
                &format!("/stock/sku-mug/{path}"),
                &json!({"quantity": quantity}),
            )
            .await;
        assert_eq!(moved.status(), StatusCode::OK, "{path}");
        let body: Value = moved.json().await.unwrap();
        assert_eq!(
            (
                body["available"].as_u64().unwrap(),
                body["reserved"].as_u64().unwrap()
            ),
            expected,
            "{path}"
        );
        assert_eq!(s.counts("sku-mug").await, expected, "{path}");
    }

    // Setting again changes what is available and keeps what is reserved.
    let set = s
        .send_json(Method::PUT, "/stock/sku-mug", &json!({"available": 50}))
        .await;
    assert_eq!(set.status(), StatusCode::OK);
    assert_eq!(s.counts("sku-mug").await, (50, 3));

    let list: Value = s.get("/stock").await.json().await.unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["next_cursor"], Value::Null);

    let busy = s.http.delete(s.url("/stock/sku-mug")).send().await.unwrap();
    let body = problem(busy, StatusCode::CONFLICT).await;
    assert_eq!(
        body["detail"],
        "Product \"sku-mug\" still has 3 reserved; release them before deleting its stock level."
    );
    assert_eq!(s.counts("sku-mug").await, (50, 3));

    s.post("/stock/sku-mug/release", &json!({"quantity": 3}))
        .await;
    let deleted = s.http.delete(s.url("/stock/sku-mug")).send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(deleted.text().await.unwrap(), "");
    problem(s.get("/stock/sku-mug").await, StatusCode::NOT_FOUND).await;
    let again = s.http.delete(s.url("/stock/sku-mug")).send().await.unwrap();
    problem(again, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn taking_more_than_there_is_is_409_with_the_count_and_changes_nothing() {
    let s = stocked("sku-mug", Some(3)).await;
    for path in ["decrement", "reserve"] {
        let refused = s
            .post(&format!("/stock/sku-mug/{path}"), &json!({"quantity": 4}))
            .await;
        let body = problem(refused, StatusCode::CONFLICT).await;
        assert_eq!(
            body["detail"],
            "Product \"sku-mug\" has 3 available, fewer than the 4 requested. Nothing was changed.",
            "{path}"
        );
    }
    let refused = s
        .post("/stock/sku-mug/release", &json!({"quantity": 1}))
        .await;
    let body = problem(refused, StatusCode::CONFLICT).await;
    assert_eq!(
        body["detail"],
        "Product \"sku-mug\" has 0 reserved, fewer than the 1 to release. Nothing was changed."
    );
    assert_eq!(s.counts("sku-mug").await, (3, 0));
}

#[tokio::test]
async fn unknown_products_and_missing_levels_are_404_and_create_nothing() {
    let s = stocked("sku-mug", None).await;

    // Not in the catalog: setting its stock is refused.
    let refused = s
        .send_json(Method::PUT, "/stock/sku-ghost", &json!({"available": 5}))
        .await;
    let body = problem(refused, StatusCode::NOT_FOUND).await;
    assert_eq!(
        body["detail"],
        "No product has the id \"sku-ghost\" in the catalog; add it there before stocking it."
    );
    problem(s.get("/stock/sku-ghost").await, StatusCode::NOT_FOUND).await;

    // In the catalog without a level: no move creates one.
    for path in ["decrement", "reserve", "release"] {
        let refused = s
            .post(&format!("/stock/sku-mug/{path}"), &json!({"quantity": 1}))
            .await;
        let body = problem(refused, StatusCode::NOT_FOUND).await;
        assert_eq!(
            body["detail"],
            "Product \"sku-mug\" has no stock level; set one with PUT /stock/sku-mug first.",
            "{path}"
        );
    }
    let body = problem(s.get("/stock/sku-mug").await, StatusCode::NOT_FOUND).await;
    assert_eq!(body["detail"], "Product \"sku-mug\" has no stock level.");
    let list: Value = s.get("/stock").await.json().await.unwrap();
    assert_eq!(list["items"], json!([]));

    // An id that cannot exist is a 404 like any other.
    problem(s.get("/stock/not%20an%20id").await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn bad_input_is_a_4xx_problem_naming_the_field_and_changes_nothing() {
    let s = stocked("sku-mug", Some(5)).await;
    let cases: &[(&str, &str, Value, StatusCode, &[&str])] = &[
        (
            "PUT",
            "/stock/sku-mug",
            json!({"available": -1}),
            StatusCode::BAD_REQUEST,
            &["available"],
        ),
        (
            "PUT",
            "/stock/sku-mug",
            json!({"available": 1_000_000_001_u64}),
            StatusCode::BAD_REQUEST,
            &["available"],
        ),
        (
            "PUT",
            "/stock/sku-mug",
            json!({}),
            StatusCode::BAD_REQUEST,
            &["available"],
        ),
        (
            "PUT",
            "/stock/sku-mug",
            json!({"available": "ten"}),
            StatusCode::BAD_REQUEST,
            &["available"],
        ),
        (
            "PUT",
            "/stock/sku-mug",
            json!({"available": 1.5}),
            StatusCode::BAD_REQUEST,
            &["available"],
        ),
        (
            "PUT",
            "/stock/sku-mug",
            json!({"available": 5, "reserved": 0}),
            StatusCode::BAD_REQUEST,
            &["reserved"],
        ),
        (
            "PUT",
            "/stock/sku-mug",
            json!({"available": 5, "shards": 0}),
            StatusCode::BAD_REQUEST,
            &["shards"],
        ),
        (
            "PUT",
            "/stock/sku-mug",
            json!({"available": 5, "shards": 33}),
            StatusCode::BAD_REQUEST,
            &["shards"],
        ),
        (
            "PUT",
            "/stock/sku-mug",
            json!({"available": 5, "shards": null}),
            StatusCode::BAD_REQUEST,
            &["shards"],
        ),
        (
            "PUT",
            "/stock/sku-mug",
            json!({"available": -1, "shards": 0}),
            StatusCode::BAD_REQUEST,
            &["available", "shards"],
        ),
        (
            "POST",
            "/stock/sku-mug/decrement",
            json!({"quantity": 0}),
            StatusCode::BAD_REQUEST,
            &["quantity"],
        ),
        (
            "POST",
            "/stock/sku-mug/reserve",
            json!({"quantity": 1_000_001}),
            StatusCode::BAD_REQUEST,
            &["quantity"],
        ),
        (
            "POST",
            "/stock/sku-mug/release",
            json!({}),
            StatusCode::BAD_REQUEST,
            &["quantity"],
        ),
        (
            "POST",
            "/stock/sku-mug/decrement",
            json!({"quantity": -2}),
            StatusCode::BAD_REQUEST,
            &["quantity"],
        ),
        (
            "POST",
            "/stock/sku-mug/decrement",
            json!({"qty": 1}),
            StatusCode::BAD_REQUEST,
            &["qty"],
        ),
        (
            "POST",
            "/stock/sku-mug/decrement",
            json!([1]),
            StatusCode::BAD_REQUEST,
            &[],
        ),
    ];
    for (method, path, body, status, named) in cases {
        let response = s
            .send_json(Method::from_bytes(method.as_bytes()).unwrap(), path, body)
            .await;
        let problem = problem(response, *status).await;
        assert_eq!(fields(&problem), *named, "{method} {path} {body}");
    }
    let form = s
        .raw(
            Method::POST,
            "/stock/sku-mug/decrement",
            "application/x-www-form-urlencoded",
            "quantity=1",
        )
        .await;
    problem(form, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let big = format!(r#"{{"quantity": 1, "pad": "{}"}}"#, "x".repeat(70 * 1024));
    let too_large = s
        .raw(
            Method::POST,
            "/stock/sku-mug/decrement",
            "application/json",
            big,
        )
        .await;
    problem(too_large, StatusCode::PAYLOAD_TOO_LARGE).await;
    let malformed = s
        .raw(
            Method::PUT,
            "/stock/sku-mug",
            "application/json",
            "{\"available\": ",
        )
        .await;
    problem(malformed, StatusCode::BAD_REQUEST).await;

    assert_eq!(s.counts("sku-mug").await, (5, 0));

    for query in ["limit=0", "limit=101", "limit=x", "cursor=!!!"] {
        let body = problem(
            s.get(&format!("/stock?{query}")).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(fields(&body), [query.split('=').next().unwrap()], "{query}");
    }
    // An empty cursor is the first page.
    let first: Value = s.get("/stock?cursor=").await.json().await.unwrap();
    assert_eq!(first["items"][0]["product_id"], "sku-mug");
}

#[tokio::test]
async fn the_stock_list_pages_in_product_id_order() {
    let s = Server::start().await;
    for sku in ["c", "a", "e", "b", "d"] {
        s.post("/products", &json!({"id": sku, "name": sku, "price": 1}))
            .await;
        s.send_json(
            Method::PUT,
            &format!("/stock/{sku}"),
            &json!({"available": 1}),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut path = String::from("/stock?limit=2");
    loop {
        let page: Value = s.get(&path).await.json().await.unwrap();
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["product_id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/stock?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ["a", "b", "c", "d", "e"]);
}

#[tokio::test]
async fn thirty_concurrent_decrements_on_stock_ten_sell_exactly_ten() {
    let s = stocked("sku-hot", Some(10)).await;
    let requests = (0..30).map(|_| {
        let http = s.http.clone();
        let url = s.url("/stock/sku-hot/decrement");
        tokio::spawn(async move {
            http.post(url)
                .json(&json!({"quantity": 1}))
                .send()
                .await
                .unwrap()
                .status()
        })
    });
    let requests: Vec<_> = requests.collect();
    let (mut sold, mut refused) = (0, 0);
    for request in requests {
        match request.await.unwrap() {
            StatusCode::OK => sold += 1,
            StatusCode::CONFLICT => refused += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((sold, refused), (10, 20));
    assert_eq!(s.counts("sku-hot").await, (0, 0));
}
