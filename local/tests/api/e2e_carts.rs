//! End to end over HTTP for carts: the README's flow, every error status of the contract (each
//! checked to change nothing), idempotent checkout retries and concurrent adds through the dev
//! server.

use crate::support::{Server, fields, problem};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn add(s: &Server, cart: &str, sku: &str, quantity: i64) -> reqwest::Response {
    s.post(
        &format!("/carts/{cart}/items"),
        &json!({"product_id": sku, "quantity": quantity}),
    )
    .await
}

async fn set(s: &Server, cart: &str, sku: &str, quantity: i64) -> reqwest::Response {
    s.send_json(
        Method::PUT,
        &format!("/carts/{cart}/items/{sku}"),
        &json!({"quantity": quantity}),
    )
    .await
}

async fn checkout(s: &Server, cart: &str, customer: &str, key: Option<&str>) -> reqwest::Response {
    let mut request = s
        .http
        .post(s.url(&format!("/carts/{cart}/checkout")))
        .json(&json!({"customer_id": customer}));
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    request.send().await.unwrap()
}

/// The cart as `GET` answers it, or `None` for a 404.
async fn cart(s: &Server, cart: &str) -> Option<Value> {
    let response = s.get(&format!("/carts/{cart}")).await;
    match response.status() {
        StatusCode::OK => Some(response.json().await.unwrap()),
        StatusCode::NOT_FOUND => None,
        other => panic!("GET /carts/{cart} answered {other}"),
    }
}

/// `(product, quantity)` of every line of the cart.
fn lines(cart: &Value) -> Vec<(String, u64)> {
    cart["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["product_id"].as_str().unwrap().to_owned(),
                l["quantity"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn pairs(lines: &[(&str, u64)]) -> Vec<(String, u64)> {
    lines.iter().map(|(p, q)| ((*p).to_owned(), *q)).collect()
}

async fn orders_of(s: &Server, customer: &str) -> usize {
    let page: Value = s
        .get(&format!("/orders?customer_id={customer}&limit=100"))
        .await
        .json()
        .await
        .unwrap();
    page["items"].as_array().unwrap().len()
}

#[tokio::test]
async fn add_add_again_change_the_quantity_and_check_out() {
    let s = Server::with_products(&[
        ("sku-mug", 1250, "USD", Some(10)),
        ("sku-pen", 3200, "USD", Some(5)),
    ])
    .await;

    let first = add(&s, "cart-1", "sku-mug", 1).await;
    assert_eq!(first.status(), StatusCode::OK);
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["cart_id"], "cart-1");
    assert_eq!(body["items"][0]["name"], "Name of sku-mug");
    assert_eq!(body["items"][0]["unit_price"], 1250);
    let again: Value = add(&s, "cart-1", "sku-mug", 2).await.json().await.unwrap();
    assert_eq!(lines(&again), pairs(&[("sku-mug", 3)]));
    assert_eq!(again["items"][0]["line_total"], 3750);
    add(&s, "cart-1", "sku-pen", 1).await;
    let changed = set(&s, "cart-1", "sku-mug", 2).await;
    assert_eq!(changed.status(), StatusCode::OK);
    let changed: Value = changed.json().await.unwrap();
    assert_eq!(lines(&changed), pairs(&[("sku-mug", 2), ("sku-pen", 1)]));
    assert_eq!(changed["subtotal"], 2 * 1250 + 3200);
    assert_eq!(changed["currency"], "USD");
    let read = cart(&s, "cart-1").await.unwrap();
    assert_eq!(read, changed);
    // A cart holds no stock.
    assert_eq!(s.counts("sku-mug").await, (10, 0));

    let done = checkout(&s, "cart-1", "cust-ada", Some("k-1")).await;
    assert_eq!(done.status(), StatusCode::CREATED);
    assert!(done.headers().get("idempotent-replayed").is_none());
    let location = done.headers()["location"].to_str().unwrap().to_owned();
    let order: Value = done.json().await.unwrap();
    assert_eq!(
        location,
        format!("/orders/{}", order["id"].as_str().unwrap())
    );
    assert_eq!(order["total"], 2 * 1250 + 3200);
    assert_eq!(order["status"], "confirmed");
    assert_eq!(order["price_changes"], json!([]));
    assert_eq!(s.counts("sku-mug").await, (8, 2));
    assert_eq!(s.counts("sku-pen").await, (4, 1));
    let stored: Value = s.get(&location).await.json().await.unwrap();
    assert_eq!(stored["items"], order["items"]);
    let emptied = cart(&s, "cart-1").await.unwrap();
    assert_eq!(emptied["items"], json!([]));
    assert_eq!(emptied["subtotal"], 0);
    assert_eq!(emptied["currency"], Value::Null);

    // The retry answers the same order and changes nothing.
    let retry = checkout(&s, "cart-1", "cust-ada", Some("k-1")).await;
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let replayed: Value = retry.json().await.unwrap();
    assert_eq!(replayed, order);
    assert_eq!(s.counts("sku-mug").await, (8, 2));
    assert_eq!(orders_of(&s, "cust-ada").await, 1);
}

#[tokio::test]
async fn checkout_charges_todays_price_and_says_which_changed() {
    let s = Server::with_products(&[("sku-mug", 1250, "USD", Some(10))]).await;
    add(&s, "cart-1", "sku-mug", 2).await;
    let updated = s
        .send_json(
            Method::PUT,
            "/products/sku-mug",
            &json!({"name": "Mug", "price": 990, "currency": "USD"}),
        )
        .await;
    assert_eq!(updated.status(), StatusCode::OK);
    // The cart shows what the product cost when it was added.
    assert_eq!(cart(&s, "cart-1").await.unwrap()["subtotal"], 2500);
    let order: Value = checkout(&s, "cart-1", "cust-ada", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(order["total"], 1980);
    assert_eq!(
        order["price_changes"],
        json!([{"product_id": "sku-mug", "cart_unit_price": 1250, "unit_price": 990}])
    );
}

#[tokio::test]
async fn bad_adds_are_refused_with_a_problem_and_change_nothing() {
    let s = Server::with_products(&[
        ("sku-mug", 1250, "USD", Some(10)),
        ("sku-tea", 300, "EUR", Some(10)),
    ])
    .await;

    let body = problem(
        s.post("/carts/cart-1/items", &json!({"quantity": 0})).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(fields(&body), ["product_id", "quantity"]);
    let body = problem(
        add(&s, "cart-1", "sku-mug", 1001).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(fields(&body), ["quantity"]);
    problem(
        s.post(
            "/carts/cart-1/items",
            &json!({"product_id": "sku-mug", "quantity": 1, "price": 1}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    problem(
        s.raw(Method::POST, "/carts/cart-1/items", "application/json", "{")
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    problem(
        s.raw(Method::POST, "/carts/cart-1/items", "text/plain", "x")
            .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    )
    .await;
    let body = problem(
        add(&s, "cart-1", "sku-ghost", 1).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("sku-ghost"),
        "{body}"
    );
    problem(
        add(&s, "bad%20id", "sku-mug", 1).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // None of those started the cart.
    assert_eq!(cart(&s, "cart-1").await, None);

    add(&s, "cart-1", "sku-mug", 999).await;
    let body = problem(add(&s, "cart-1", "sku-mug", 2).await, StatusCode::CONFLICT).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("would exceed 1000"),
        "{body}"
    );
    let body = problem(add(&s, "cart-1", "sku-tea", 1).await, StatusCode::CONFLICT).await;
    assert!(body["detail"].as_str().unwrap().contains("EUR"), "{body}");
    assert_eq!(
        lines(&cart(&s, "cart-1").await.unwrap()),
        pairs(&[("sku-mug", 999)])
    );

    for i in 0..25 {
        s.add_product(&format!("sku-{i:02}"), 100, "USD", None)
            .await;
    }
    for i in 0..24 {
        assert_eq!(
            add(&s, "cart-1", &format!("sku-{i:02}"), 1).await.status(),
            StatusCode::OK
        );
    }
    let body = problem(add(&s, "cart-1", "sku-24", 1).await, StatusCode::CONFLICT).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("already holds 25 products"),
        "{body}"
    );
    assert_eq!(
        cart(&s, "cart-1").await.unwrap()["items"]
            .as_array()
            .unwrap()
            .len(),
        25
    );
}

#[tokio::test]
async fn changing_removing_and_deleting_answer_404_for_what_is_not_there() {
    let s = Server::with_products(&[
        ("sku-mug", 1250, "USD", None),
        ("sku-pen", 3200, "USD", None),
    ])
    .await;
    problem(s.get("/carts/cart-1").await, StatusCode::NOT_FOUND).await;
    problem(set(&s, "cart-1", "sku-mug", 1).await, StatusCode::NOT_FOUND).await;
    problem(
        s.send_json(Method::DELETE, "/carts/cart-1", &json!({}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    add(&s, "cart-1", "sku-mug", 2).await;
    for bad in [
        json!({"quantity": -1}),
        json!({"quantity": 1001}),
        json!({}),
    ] {
        let body = problem(
            s.send_json(Method::PUT, "/carts/cart-1/items/sku-mug", &bad)
                .await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(fields(&body), ["quantity"], "{bad}");
    }
    let body = problem(set(&s, "cart-1", "sku-pen", 1).await, StatusCode::NOT_FOUND).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("no line for \"sku-pen\""),
        "{body}"
    );
    let body = problem(
        s.delete("/carts/cart-1/items/sku-pen").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("sku-pen"),
        "{body}"
    );
    assert_eq!(
        lines(&cart(&s, "cart-1").await.unwrap()),
        pairs(&[("sku-mug", 2)])
    );

    add(&s, "cart-1", "sku-pen", 1).await;
    let removed = s.delete("/carts/cart-1/items/sku-pen").await;
    assert_eq!(removed.status(), StatusCode::OK);
    assert_eq!(
        lines(&removed.json().await.unwrap()),
        pairs(&[("sku-mug", 2)])
    );
    let emptied: Value = set(&s, "cart-1", "sku-mug", 0).await.json().await.unwrap();
    assert_eq!(emptied["items"], json!([]));
    assert_eq!(cart(&s, "cart-1").await.unwrap()["items"], json!([]));

    let deleted = s.delete("/carts/cart-1").await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(cart(&s, "cart-1").await, None);
    problem(s.delete("/carts/cart-1").await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn bad_checkouts_are_refused_with_a_problem_and_change_nothing() {
    let s = Server::with_products(&[
        ("sku-mug", 1250, "USD", Some(1)),
        ("sku-pen", 3200, "USD", Some(5)),
        ("sku-gone", 500, "USD", None),
    ])
    .await;
    let body = problem(
        s.post("/carts/cart-1/checkout", &json!({"customer_id": "a b"}))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(fields(&body), ["customer_id"]);
    let body = problem(
        s.post("/carts/cart-1/checkout", &json!({"customer_id": null}))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(fields(&body), ["customer_id"]);
    problem(
        checkout(&s, "cart-1", "cust-ada", None).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    add(&s, "cart-1", "sku-mug", 1).await;
    set(&s, "cart-1", "sku-mug", 0).await;
    let body = problem(
        checkout(&s, "cart-1", "cust-ada", None).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("is empty"),
        "{body}"
    );

    add(&s, "cart-1", "sku-mug", 2).await;
    add(&s, "cart-1", "sku-pen", 1).await;
    let before = cart(&s, "cart-1").await.unwrap();
    let too_long = "k".repeat(256);
    let body = problem(
        checkout(&s, "cart-1", "cust-ada", Some(&too_long)).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(fields(&body), ["Idempotency-Key"]);
    let body = problem(
        checkout(&s, "cart-1", "cust-ada", Some("k-1")).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("\"sku-mug\" has 1 available, 2 needed"),
        "{body}"
    );
    assert_eq!(cart(&s, "cart-1").await.unwrap(), before);
    assert_eq!(s.counts("sku-mug").await, (1, 0));
    assert_eq!(s.counts("sku-pen").await, (5, 0));

    // A product that left the catalog since it was added.
    add(&s, "cart-2", "sku-gone", 1).await;
    let deleted = s.delete("/products/sku-gone").await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let body = problem(
        checkout(&s, "cart-2", "cust-ada", None).await,
        StatusCode::CONFLICT,
    )
    .await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("no longer in the catalog"),
        "{body}"
    );

    // A key already used for another checkout.
    set(&s, "cart-1", "sku-mug", 1).await;
    assert_eq!(
        checkout(&s, "cart-1", "cust-ada", Some("k-2"))
            .await
            .status(),
        StatusCode::CREATED
    );
    add(&s, "cart-3", "sku-pen", 1).await;
    problem(
        checkout(&s, "cart-3", "cust-ada", Some("k-2")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        lines(&cart(&s, "cart-3").await.unwrap()),
        pairs(&[("sku-pen", 1)])
    );
    assert_eq!(s.counts("sku-pen").await, (4, 1));
    assert_eq!(orders_of(&s, "cust-ada").await, 1);
}

#[tokio::test]
async fn fifty_concurrent_adds_of_one_all_count() {
    let s = std::sync::Arc::new(Server::with_products(&[("sku-mug", 1250, "USD", None)]).await);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let s = s.clone();
            tokio::spawn(async move { add(&s, "cart-1", "sku-mug", 1).await.status() })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(
        lines(&cart(&s, "cart-1").await.unwrap()),
        pairs(&[("sku-mug", 50)])
    );
}
