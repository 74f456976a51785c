//! End to end over HTTP for notifications: the dev server's feed readers run the stream
//! consumers over the change feed as `cargo dev` does, so an order placed, cancelled or a stock
//! level falling below the threshold shows up at `GET /notifications`, once, even across a
//! restart.

use std::time::{Duration, Instant};

use crate::support::{Server, fields, problem};
use reqwest::StatusCode;
use serde_json::{Value, json};
use stockroom_store::Store;
use stockroom_store::sqlite::SqliteStore;

/// The notifications `query` lists.
async fn listed(s: &Server, query: &str) -> Vec<Value> {
    let response = s.get(&format!("/notifications?{query}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page: Value = response.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

/// Polls `query` until it lists `count` notifications, every one of them sent (at most 10 s: a
/// generous bound for a loaded CI machine, not a latency assertion), and returns them with how
/// long they took. A notification is listed from the moment it is recorded, `pending`, and is
/// `sent` a moment later: waiting for the count alone once caught one in between.
async fn wait_for(s: &Server, query: &str, count: usize) -> (Vec<Value>, Duration) {
    let started = Instant::now();
    loop {
        let items = listed(s, query).await;
        let sent = items.iter().all(|n| n["status"] == "sent");
        if (items.len() >= count && sent) || started.elapsed() > Duration::from_secs(10) {
            return (items, started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn kinds(items: &[Value]) -> Vec<&str> {
    items.iter().map(|n| n["kind"].as_str().unwrap()).collect()
}

async fn place(s: &Server, sku: &str, quantity: u64) -> String {
    let response = s
        .post(
            "/orders",
            &json!({"customer_id": "cust-ada", "items": [{"product_id": sku, "quantity": quantity}]}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let order: Value = response.json().await.unwrap();
    order["id"].as_str().unwrap().to_owned()
}

async fn cancel(s: &Server, order: &str) {
    let response = s.post(&format!("/orders/{order}/cancel"), &json!({})).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_order_placed_and_cancelled_and_stock_falling_below_ten_notify_once_each() {
    let s = Server::with_products(&[("sku-kettle", 4500, "USD", Some(12))]).await;

    // 3 of 12 kettles: an order confirmation, and the kettles fall from 12 to 9 available.
    let order = place(&s, "sku-kettle", 3).await;
    let (confirmed, latency) = wait_for(&s, &format!("order_id={order}"), 1).await;
    assert_eq!(kinds(&confirmed), ["order_confirmation"]);
    assert_eq!(confirmed[0]["status"], "sent");
    assert_eq!(confirmed[0]["customer_id"], "cust-ada");
    assert_eq!(
        confirmed[0]["message"],
        format!("Order {order} is confirmed: 3 item(s), 135.00 USD.")
    );
    println!("order placed -> order_confirmation listed in {latency:?}");
    let (low, latency) = wait_for(&s, "product_id=sku-kettle", 1).await;
    assert_eq!(kinds(&low), ["low_stock"]);
    assert_eq!(
        low[0]["message"],
        "Product sku-kettle is low on stock: 9 available, below 10."
    );
    println!("stock 12 -> 9 -> low_stock listed in {latency:?}");

    // Cancelling releases the kettles (back to 12) and notifies once.
    cancel(&s, &order).await;
    let (both, latency) = wait_for(&s, &format!("order_id={order}"), 2).await;
    assert_eq!(kinds(&both), ["order_cancelled", "order_confirmation"]);
    println!("order cancelled -> order_cancelled listed in {latency:?}");

    // A second fall below 10 is a second alert; sales while below raise none.
    let order2 = place(&s, "sku-kettle", 4).await;
    let order3 = place(&s, "sku-kettle", 1).await;
    wait_for(&s, &format!("order_id={order3}"), 1).await;
    let (low, _) = wait_for(&s, "kind=low_stock", 2).await;
    assert_eq!(low.len(), 2, "{low:?}");
    // Nothing more arrives later: a second's grace, then the same lists.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(listed(&s, "kind=low_stock").await.len(), 2);
    assert_eq!(listed(&s, &format!("order_id={order}")).await.len(), 2);
    assert_eq!(listed(&s, &format!("order_id={order2}")).await.len(), 1);
    assert_eq!(listed(&s, "").await.len(), 6);
}

#[tokio::test]
async fn a_restart_resumes_the_feed_where_it_stopped_and_sends_nothing_twice() {
    let path = stockroom_store::testing::temp_store_path();
    let open = || Store::embedded(SqliteStore::open_with_readers(&path, 2).unwrap());
    let mut first = Server::with_store(open()).await;
    first.add_product("sku-lamp", 3900, "USD", Some(30)).await;
    let order = place(&first, "sku-lamp", 2).await;
    let (confirmed, _) = wait_for(&first, &format!("order_id={order}"), 1).await;
    assert_eq!(kinds(&confirmed), ["order_confirmation"]);

    // The feed readers die; the order is cancelled while they are down.
    first.stop_feed();
    cancel(&first, &order).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(listed(&first, &format!("order_id={order}")).await.len(), 1);

    // A new server on the same file picks up the cancellation, and only that.
    let second = Server::with_store(open()).await;
    let (both, _) = wait_for(&second, &format!("order_id={order}"), 2).await;
    assert_eq!(kinds(&both), ["order_cancelled", "order_confirmation"]);
    assert_eq!(both[1], confirmed[0], "the confirmation was not sent again");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(listed(&second, "").await.len(), 2);
}

#[tokio::test]
async fn bad_filters_are_a_400_naming_each_and_unknown_orders_list_nothing() {
    let s = Server::start().await;
    let body = problem(
        s.get("/notifications?kind=sms&order_id=a%20b&limit=0&cursor=zzz")
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(fields(&body), ["order_id", "kind", "limit", "cursor"]);
    assert!(
        listed(&s, "order_id=01KAY7NOSUCHORDER000000000")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_customer_lists_the_notifications_of_their_own_order_and_no_one_elses() {
    let s = Server::with_products(&[("sku-mug", 1250, "USD", Some(50))]).await;
    let order = place(&s, "sku-mug", 1).await;
    wait_for(&s, &format!("order_id={order}"), 1).await;
    let ada = s.as_customer("cust-ada", false);
    let response = ada.get(&format!("/notifications?order_id={order}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page: Value = response.json().await.unwrap();
    assert_eq!(
        kinds(page["items"].as_array().unwrap()),
        ["order_confirmation"]
    );
    // Another customer naming Ada's order sees nothing, as for an order that does not exist.
    let bob = s.as_customer("cust-bob", false);
    let response = bob.get(&format!("/notifications?order_id={order}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page: Value = response.json().await.unwrap();
    assert!(page["items"].as_array().unwrap().is_empty(), "{page}");
    // Without an order, a customer may list nothing.
    let refused = problem(ada.get("/notifications").await, StatusCode::FORBIDDEN).await;
    assert!(
        refused["detail"].as_str().unwrap().contains("order_id"),
        "{refused}"
    );
    let refused = ada.get("/notifications?kind=low_stock").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}
