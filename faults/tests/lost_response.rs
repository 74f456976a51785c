//! The DynamoDB adapter under faults, on moto through the fault proxy: a write whose answer is
//! lost is recognised when it is tried again (nothing placed twice, no stock moved twice), and
//! what survives the SDK's retries reaches the caller as `Unavailable` (the API's 503).
//!
//! Needs `AWS_ENDPOINT_URL_DYNAMODB` pointing at a local moto, as the contract suite does (the
//! README's test command starts one). The tables are made directly in moto; only the store under
//! test talks through the proxy.

#![allow(clippy::unwrap_used)] // A test that cannot unwrap has failed; the panic says where.

use stockroom_domain::carts::CartId;
use stockroom_domain::inventory::Quantity;
use stockroom_domain::orders::{CustomerId, OrderStatus};
use stockroom_domain::timestamp;
use stockroom_faults::{Fault, FaultProxy, Plan};
use stockroom_store::Store;
use stockroom_store::carts::AddToCart;
use stockroom_store::orders::PlaceOrder;
use stockroom_store::testing::build::id;
use stockroom_store::testing::{DynamoDbShop, place_request, stocked};

/// A shop in fresh moto tables, `products` stocked, and a store that reaches them through a
/// fault proxy with `plan`.
async fn shop(products: &[(&str, i64)], plan: Plan) -> (Store, Store, FaultProxy) {
    let shop = DynamoDbShop::open().await;
    stocked(&shop.store, products).await;
    let upstream = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap();
    let proxy = FaultProxy::start(&upstream, plan).await.unwrap();
    let client = stockroom_store::dynamodb::client_at(&proxy.endpoint()).unwrap();
    let faulty = shop.store.with_client(client).unwrap();
    (shop.store, faulty, proxy)
}

async fn level(store: &Store, sku: &str) -> (u64, u64) {
    let level = store
        .inventory()
        .unwrap()
        .get_stock(&id(sku))
        .await
        .unwrap()
        .unwrap();
    (level.available, level.reserved)
}

async fn orders_of(store: &Store, customer: &str) -> Vec<stockroom_domain::orders::Order> {
    stockroom_store::testing::orders_of(store, customer)
        .await
        .unwrap()
}

/// Asserts that placing `request` through `store` fails, `why`, as `Unavailable` (the API's
/// 503 with Retry-After).
async fn assert_unavailable(store: &Store, request: &PlaceOrder, why: &str) {
    let err = store
        .orders()
        .unwrap()
        .place_order(request)
        .await
        .expect_err(why);
    let err = anyhow::Error::from(err);
    assert!(
        stockroom_store::Unavailable::in_chain(err.as_ref()),
        "{err:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_placement_whose_answer_is_lost_is_placed_once_with_its_stock_moved_once() {
    // The first transaction is applied and its answer lost; the SDK sends it again, which moto
    // (like DynamoDB after its 10-minute token window) applies anew: its conditions fail.
    let plan = Plan::none().script("TransactWriteItems", 1, Fault::Lost);
    let (store, faulty, proxy) = shop(&[("lamp", 10)], plan).await;
    let placed = faulty
        .orders()
        .unwrap()
        .place_order(&place_request("cust-lost", &[("lamp", 2)], None))
        .await
        .unwrap();
    assert!(!placed.replayed, "the request did place it: not a replay");
    assert_eq!(proxy.counts().of(Fault::Lost), 1);
    assert_eq!(
        proxy.counts().requests["TransactWriteItems"],
        2,
        "the SDK's retry"
    );
    assert_eq!(level(&store, "lamp").await, (8, 2), "stock moved once");
    let orders = orders_of(&store, "cust-lost").await;
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].id, placed.order.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_placement_lost_on_every_attempt_is_unavailable_and_its_retry_is_a_replay() {
    // Every attempt of the first call is applied or refused by moto, and every answer lost:
    // the caller hears only that the store was unavailable (a 503 with Retry-After).
    let plan = Plan::none()
        .script("TransactWriteItems", 1, Fault::Lost)
        .script("TransactWriteItems", 2, Fault::Lost)
        .script("TransactWriteItems", 3, Fault::Lost);
    let (store, faulty, proxy) = shop(&[("mug", 5)], plan).await;
    let request = place_request("cust-retry", &[("mug", 3)], Some("key-lost-1"));
    assert_unavailable(&faulty, &request, "no answer came back").await;
    assert_eq!(proxy.counts().of(Fault::Lost), 3);
    // The client sends the same request again, with the same key, a moment later.
    let mut again = place_request("cust-retry", &[("mug", 3)], Some("key-lost-1"));
    again.now = timestamp::now();
    let replay = faulty.orders().unwrap().place_order(&again).await.unwrap();
    assert!(replay.replayed, "the retry is answered as a replay");
    assert_eq!(level(&store, "mug").await, (2, 3), "stock moved once");
    let orders = orders_of(&store, "cust-retry").await;
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].id, replay.order.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttle_that_outlasts_the_retries_is_unavailable_and_changes_nothing() {
    // The SDK retries a throttle and a 500 (three attempts in all); a transaction cancelled for
    // capacity it does not retry, and the adapter reads it as unavailable too.
    let plan = Plan::none()
        .script("TransactWriteItems", 1, Fault::Throttle)
        .script("TransactWriteItems", 2, Fault::Internal)
        .script("TransactWriteItems", 3, Fault::Throttle)
        .script("TransactWriteItems", 4, Fault::Capacity);
    let (store, faulty, proxy) = shop(&[("pen", 4)], plan).await;
    for injected in [3, 4] {
        let request = place_request("cust-throttled", &[("pen", 1)], None);
        assert_unavailable(&faulty, &request, "every attempt refused").await;
        assert_eq!(proxy.counts().total_injected(), injected);
    }
    assert_eq!(level(&store, "pen").await, (4, 0), "nothing written");
    assert!(orders_of(&store, "cust-throttled").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_change_and_a_cart_add_whose_answers_are_lost_apply_once() {
    let (store, faulty, proxy) = shop(&[("kettle", 6)], Plan::none()).await;
    let order =
        stockroom_store::testing::place(&store, "cust-cancel", &[("kettle", 2)], None).await;
    assert_eq!(level(&store, "kettle").await, (4, 2));

    proxy.set_plan(
        Plan::none()
            .script("TransactWriteItems", 1, Fault::Lost)
            .script("UpdateItem", 1, Fault::Lost),
    );
    let cancelled = faulty
        .orders()
        .unwrap()
        .change_status(&order.id, OrderStatus::Cancelled, timestamp::now())
        .await
        .unwrap();
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    assert_eq!(level(&store, "kettle").await, (6, 0), "released once");

    let owner = CustomerId::parse("cust-cart").unwrap();
    let cart_id = CartId::parse("cart-lost").unwrap();
    let cart = faulty
        .carts()
        .unwrap()
        .add_to_cart(&AddToCart {
            owner: owner.clone(),
            cart_id: cart_id.clone(),
            product_id: id("kettle"),
            quantity: Quantity::new(2).unwrap(),
            now: timestamp::now(),
        })
        .await
        .unwrap();
    assert_eq!(cart.lines.len(), 1);
    assert_eq!(cart.lines[0].quantity, 2, "added once, as answered");
    let stored = store
        .carts()
        .unwrap()
        .get_cart(&owner, &cart_id, timestamp::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.lines[0].quantity, 2, "added once, as stored");
    assert_eq!(proxy.counts().of(Fault::Lost), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_copy_of_a_cart_add_adds_nothing_after_another_products_add() {
    // The first add's first attempt is held past the SDK's attempt timeout; the SDK's second
    // attempt applies it and answers. The shopper adds another product at once. Then the held
    // copy of the first add reaches the table: it must not add the first product again.
    let plan = Plan::none().script("UpdateItem", 1, Fault::Slow);
    let (store, faulty, proxy) = shop(&[("cup", 9), ("saucer", 9)], plan).await;
    let owner = CustomerId::parse("cust-late").unwrap();
    let cart_id = CartId::parse("cart-late").unwrap();
    let add = |product: &str, quantity: i64| AddToCart {
        owner: owner.clone(),
        cart_id: cart_id.clone(),
        product_id: id(product),
        quantity: Quantity::new(quantity).unwrap(),
        now: timestamp::now(),
    };
    let carts = faulty.carts().unwrap();
    let first = carts.add_to_cart(&add("cup", 2)).await.unwrap();
    assert_eq!(first.lines[0].quantity, 2);
    carts.add_to_cart(&add("saucer", 1)).await.unwrap();
    // The held copy is forwarded 2.5 s after it arrived; wait until it has been.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(proxy.counts().of(Fault::Slow), 1);
    let stored = store
        .carts()
        .unwrap()
        .get_cart(&owner, &cart_id, timestamp::now())
        .await
        .unwrap()
        .unwrap();
    let quantities: Vec<(String, u64)> = stored
        .lines
        .iter()
        .map(|l| (l.product_id.to_string(), l.quantity))
        .collect();
    assert_eq!(
        quantities,
        [("cup".to_owned(), 2), ("saucer".to_owned(), 1)],
        "each add applied once"
    );
}
