//! End to end over HTTP for orders: the README's flow, every error status of the contract
//! (each checked to change no stock and no order), idempotent retries and a race of orders
//! through the dev server.

use crate::support::{Server, fields, problem};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn order_ids(s: &Server, customer: &str) -> Vec<String> {
    let page: Value = s
        .get(&format!("/orders?customer_id={customer}&limit=100"))
        .await
        .json()
        .await
        .unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn place(s: &Server, body: &Value, key: Option<&str>) -> reqwest::Response {
    let mut request = s.http.post(s.url("/orders")).json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.unwrap()
}

fn one(customer: &str, sku: &str, quantity: i64) -> Value {
    json!({"customer_id": customer, "items": [{"product_id": sku, "quantity": quantity}]})
}

async fn status(s: &Server, id: &str, to: &str) -> reqwest::Response {
    s.send_json(
        Method::PATCH,
        &format!("/orders/{id}"),
        &json!({"status": to}),
    )
    .await
}

#[tokio::test]
async fn an_order_is_placed_read_listed_shipped_delivered_and_another_cancelled() {
    let s = Server::with_products(&[
        ("sku-mug", 1250, "USD", Some(10)),
        ("sku-pen", 3200, "USD", Some(5)),
    ])
    .await;

    let placed = place(
        &s,
        &json!({"customer_id": "cust-ada", "items": [
            {"product_id": "sku-mug", "quantity": 2},
            {"product_id": "sku-pen", "quantity": 1},
        ]}),
        None,
    )
    .await;
    assert_eq!(placed.status(), StatusCode::CREATED);
    assert!(placed.headers().get("idempotent-replayed").is_none());
    let location = placed.headers()["location"].to_str().unwrap().to_owned();
    let order: Value = placed.json().await.unwrap();
    let id = order["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/orders/{id}"));
    assert_eq!(id.len(), 26, "a ULID: {id}");
    assert_eq!(
        (&order["status"], &order["total"], &order["currency"]),
        (&json!("confirmed"), &json!(2 * 1250 + 3200), &json!("USD"))
    );
    assert_eq!(
        order["items"][0],
        json!({"product_id": "sku-mug", "name": "Name of sku-mug", "quantity": 2,
               "unit_price": 1250, "line_total": 2500})
    );
    assert_eq!(order["created_at"], order["updated_at"]);
    assert_eq!(s.counts("sku-mug").await, (8, 2));
    assert_eq!(s.counts("sku-pen").await, (4, 1));

    let read = s.get(&location).await;
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(read.json::<Value>().await.unwrap(), order);

    let shipped = status(&s, &id, "shipped").await;
    assert_eq!(shipped.status(), StatusCode::OK);
    assert_eq!(shipped.json::<Value>().await.unwrap()["status"], "shipped");
    assert_eq!(s.counts("sku-mug").await, (8, 0));
    assert_eq!(s.counts("sku-pen").await, (4, 0));
    let delivered = status(&s, &id, "delivered").await;
    assert_eq!(delivered.status(), StatusCode::OK);
    assert_eq!(s.counts("sku-mug").await, (8, 0));

    let second: Value = place(&s, &one("cust-ada", "sku-mug", 3), None)
        .await
        .json()
        .await
        .unwrap();
    let second_id = second["id"].as_str().unwrap();
    assert_eq!(s.counts("sku-mug").await, (5, 3));
    let cancelled = s
        .http
        .post(s.url(&format!("/orders/{second_id}/cancel")))
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), StatusCode::OK);
    assert_eq!(
        cancelled.json::<Value>().await.unwrap()["status"],
        "cancelled"
    );
    assert_eq!(s.counts("sku-mug").await, (8, 0));

    // Newest first; another customer's orders are not listed.
    place(&s, &one("cust-bob", "sku-mug", 1), None).await;
    assert_eq!(order_ids(&s, "cust-ada").await, [second_id, id.as_str()]);
    let page: Value = s
        .get("/orders?customer_id=cust-ada&limit=1")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["id"], second_id);
    let cursor = page["next_cursor"].as_str().unwrap();
    let next: Value = s
        .get(&format!(
            "/orders?customer_id=cust-ada&limit=1&cursor={cursor}"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(next["items"][0]["id"], id.as_str());
    assert_eq!(next["next_cursor"], Value::Null);
    let empty: Value = s
        .get("/orders?customer_id=nobody")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(empty, json!({"items": [], "next_cursor": null}));
}

#[tokio::test]
async fn invalid_order_requests_are_400_and_change_nothing() {
    let s = Server::with_products(&[("sku-mug", 1250, "USD", Some(10))]).await;
    let line = |q: i64| json!({"product_id": "sku-mug", "quantity": q});
    let many: Vec<Value> = (0..26)
        .map(|i| json!({"product_id": format!("p{i}"), "quantity": 1}))
        .collect();
    let cases: Vec<(Value, Vec<&str>)> = vec![
        // Left out, customer_id is the caller; sent, it must be an id, not null.
        (
            json!({"customer_id": null, "items": [line(1)]}),
            vec!["customer_id"],
        ),
        (
            json!({"customer_id": "a b", "items": [line(1)]}),
            vec!["customer_id"],
        ),
        (json!({"customer_id": "c"}), vec!["items"]),
        (json!({"customer_id": "c", "items": []}), vec!["items"]),
        (json!({"customer_id": "c", "items": many}), vec!["items"]),
        (
            json!({"customer_id": "c", "items": [line(0)]}),
            vec!["items[0].quantity"],
        ),
        (
            json!({"customer_id": "c", "items": [line(1001)]}),
            vec!["items[0].quantity"],
        ),
        (
            json!({"customer_id": "c", "items": [line(1), line(2)]}),
            vec!["items[1].product_id"],
        ),
        (
            json!({"customer_id": "c", "items": [{"product_id": "sku mug", "quantity": 1}]}),
            vec!["items[0].product_id"],
        ),
        (
            json!({"customer_id": "c", "items": [line(1)], "total": 1}),
            vec!["total"],
        ),
        (
            json!({"customer_id": "c", "items": [{"product_id": "sku-mug", "quantity": 1, "unit_price": 1}]}),
            vec!["unit_price"],
        ),
        (
            json!({"customer_id": "c", "items": [{"product_id": "sku-mug", "quantity": 1.5}]}),
            vec!["items[0].quantity"],
        ),
    ];
    for (body, expected) in cases {
        let p = problem(place(&s, &body, None).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(fields(&p), expected, "{body}");
    }
    let bad_key = "k".repeat(256);
    let p = problem(
        place(&s, &one("c", "sku-mug", 1), Some(&bad_key)).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(fields(&p), ["Idempotency-Key"]);
    problem(
        s.raw(Method::POST, "/orders", "application/json", "{")
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    problem(
        s.raw(
            Method::POST,
            "/orders",
            "application/x-www-form-urlencoded",
            "customer_id=c",
        )
        .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;
    let huge = format!(r#"{{"customer_id":"{}"}}"#, "c".repeat(70_000));
    problem(
        s.raw(Method::POST, "/orders", "application/json", huge)
            .await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert_eq!(s.counts("sku-mug").await, (10, 0));
    assert!(order_ids(&s, "c").await.is_empty());
}

#[tokio::test]
async fn unknown_products_short_stock_and_mixed_currencies_are_refused_and_change_nothing() {
    let s = Server::with_products(&[
        ("sku-mug", 1250, "USD", Some(10)),
        ("sku-pen", 3200, "USD", Some(2)),
        ("sku-plant", 1500, "USD", None),
        ("sku-lamp", 5900, "EUR", Some(5)),
    ])
    .await;
    let order = |lines: &[(&str, i64)]| {
        let items: Vec<Value> = lines
            .iter()
            .map(|(p, q)| json!({"product_id": p, "quantity": q}))
            .collect();
        json!({"customer_id": "cust-ada", "items": items})
    };

    let p = problem(
        place(&s, &order(&[("sku-mug", 1), ("sku-ghost", 1)]), None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(
        p["detail"],
        "Not in the catalog: \"sku-ghost\". Nothing was ordered."
    );

    let p = problem(
        place(
            &s,
            &order(&[("sku-mug", 3), ("sku-pen", 3), ("sku-plant", 1)]),
            None,
        )
        .await,
        StatusCode::CONFLICT,
    )
    .await;
    let detail = p["detail"].as_str().unwrap();
    assert!(
        detail.contains("\"sku-pen\" has 2 available, 3 needed"),
        "{detail}"
    );
    assert!(
        detail.contains("\"sku-plant\" has 0 available, 1 needed"),
        "{detail}"
    );
    assert!(!detail.contains("sku-mug"), "{detail}");

    let p = problem(
        place(&s, &order(&[("sku-mug", 1), ("sku-lamp", 1)]), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("\"sku-lamp\" in EUR"),
        "{p}"
    );

    assert_eq!(s.counts("sku-mug").await, (10, 0));
    assert_eq!(s.counts("sku-pen").await, (2, 0));
    assert_eq!(s.counts("sku-lamp").await, (5, 0));
    assert!(order_ids(&s, "cust-ada").await.is_empty());
}

#[tokio::test]
async fn a_retried_key_replays_the_first_order_and_another_body_is_422() {
    let s = Server::with_products(&[("sku-mug", 1250, "USD", Some(10))]).await;
    let first = place(&s, &one("cust-ada", "sku-mug", 2), Some("retry-1")).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();

    // Without a key the same body is a new order.
    let again = place(&s, &one("cust-ada", "sku-mug", 2), None).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(s.counts("sku-mug").await, (6, 4));

    // The same request spelled differently (spacing, key order) is the same request.
    let replay = s
        .http
        .post(s.url("/orders"))
        .header("content-type", "application/json")
        .header("Idempotency-Key", "retry-1")
        .body(
            r#"{ "items": [{"quantity": 2, "product_id": "sku-mug"}], "customer_id": "cust-ada" }"#,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.headers()["idempotent-replayed"], "true");
    assert_eq!(
        replay.headers()["location"],
        format!("/orders/{}", first["id"].as_str().unwrap()).as_str()
    );
    assert_eq!(replay.json::<Value>().await.unwrap(), first);
    assert_eq!(s.counts("sku-mug").await, (6, 4));

    let p = problem(
        place(&s, &one("cust-ada", "sku-mug", 3), Some("retry-1")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert!(p["detail"].as_str().unwrap().contains("\"retry-1\""), "{p}");
    assert_eq!(s.counts("sku-mug").await, (6, 4));
    assert_eq!(order_ids(&s, "cust-ada").await.len(), 2);
}

#[tokio::test]
async fn reading_and_listing_errors_are_4xx() {
    let s = Server::with_products(&[]).await;
    for path in [
        "/orders/not%20an%20id",
        "/orders/01KAY7SAMP1E0RDER000000000",
    ] {
        let p = problem(s.get(path).await, StatusCode::NOT_FOUND).await;
        assert!(
            p["detail"]
                .as_str()
                .unwrap()
                .starts_with("No order has the id"),
            "{p}"
        );
    }
    for (query, field) in [
        ("?customer_id=a%20b", "customer_id"),
        ("?customer_id=c&limit=0", "limit"),
        ("?customer_id=c&cursor=nope", "cursor"),
    ] {
        let p = problem(
            s.get(&format!("/orders{query}")).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(fields(&p), [field], "{query}");
    }
}

#[tokio::test]
async fn status_changes_refuse_unknown_statuses_illegal_transitions_and_unknown_orders() {
    let s = Server::with_products(&[("sku-mug", 1250, "USD", Some(10))]).await;
    let order: Value = place(&s, &one("cust-ada", "sku-mug", 2), None)
        .await
        .json()
        .await
        .unwrap();
    let id = order["id"].as_str().unwrap();

    for body in [json!({"status": "lost"}), json!({}), json!({"status": 3})] {
        let p = problem(
            s.send_json(Method::PATCH, &format!("/orders/{id}"), &body)
                .await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(fields(&p), ["status"], "{body}");
    }
    let p = problem(status(&s, id, "delivered").await, StatusCode::CONFLICT).await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("is confirmed and cannot become delivered"),
        "{p}"
    );
    assert_eq!(s.counts("sku-mug").await, (8, 2));

    assert_eq!(status(&s, id, "shipped").await.status(), StatusCode::OK);
    let cancel = s
        .http
        .post(s.url(&format!("/orders/{id}/cancel")))
        .send()
        .await
        .unwrap();
    let p = problem(cancel, StatusCode::CONFLICT).await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("is shipped and cannot become cancelled"),
        "{p}"
    );
    let p = problem(status(&s, id, "shipped").await, StatusCode::CONFLICT).await;
    assert!(p["detail"].as_str().unwrap().contains("is shipped"), "{p}");
    assert_eq!(s.counts("sku-mug").await, (8, 0));

    problem(
        status(&s, "01KAY7SAMP1E0RDER000000000", "shipped").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    problem(
        s.http
            .post(s.url("/orders/no%20such/cancel"))
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn thirty_concurrent_orders_on_stock_ten_place_exactly_ten() {
    let s = std::sync::Arc::new(Server::with_products(&[("sku-hot", 100, "USD", Some(10))]).await);
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move {
                place(&s, &one(&format!("cust-{i}"), "sku-hot", 1), None)
                    .await
                    .status()
            })
        })
        .collect();
    let mut created = 0;
    let mut conflicts = 0;
    for task in tasks {
        match task.await.unwrap() {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => conflicts += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((created, conflicts), (10, 20));
    assert_eq!(s.counts("sku-hot").await, (0, 10));
}
