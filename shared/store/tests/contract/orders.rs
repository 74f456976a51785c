//! The orders port's contract cases (run by `contract_suite!` on both adapters).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use stockroom_domain::orders::{
    CustomerId, IdempotencyKey, Order, OrderRequest, OrderStatus, PricingError, RawLine,
};
use stockroom_domain::page::{Cursor, Limit};
use stockroom_store::Store;
use stockroom_store::orders::{OrderError, OrderQuery, OrdersStore, PlaceOrder, Shortage};

use crate::{counts, id, priced_in, stocked, t0};

fn orders(stores: &[Store]) -> Arc<dyn OrdersStore> {
    stores[0].orders().unwrap()
}

/// `mug` in the catalog with 10 available, and a confirmed order of `quantity` of it for `ada`.
async fn mug_order(stores: &[Store], quantity: i64) -> Order {
    stocked(stores, "mug", 100, Some(10)).await;
    orders(stores)
        .place_order(&place("ada", &[("mug", quantity)], None))
        .await
        .unwrap()
        .order
}

fn request(customer: &str, lines: &[(&str, i64)]) -> OrderRequest {
    let raw: Vec<RawLine> = lines
        .iter()
        .map(|(p, q)| RawLine {
            product_id: Some((*p).to_owned()),
            quantity: Some(*q),
        })
        .collect();
    OrderRequest::parse(Some(customer), Some(&raw)).unwrap()
}

fn place(customer: &str, lines: &[(&str, i64)], key: Option<&str>) -> PlaceOrder {
    place_at(customer, lines, key, t0())
}

fn place_at(
    customer: &str,
    lines: &[(&str, i64)],
    key: Option<&str>,
    now: DateTime<Utc>,
) -> PlaceOrder {
    PlaceOrder {
        id: stockroom_domain::orders::OrderId::at(now),
        request: request(customer, lines),
        key: key.map(|k| IdempotencyKey::parse(k).unwrap()),
        now,
    }
}

/// Every order of `customer`, newest first, read page by page.
async fn all_orders(stores: &[Store], customer: &str, limit: &str) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut pages = 0;
    let mut after = None;
    loop {
        let query = OrderQuery {
            customer_id: CustomerId::parse(customer).unwrap(),
            limit: Limit::parse(limit).unwrap(),
            after,
        };
        let page = orders(stores).list_orders(&query).await.unwrap();
        pages += 1;
        ids.extend(page.items.iter().map(|o| o.id.to_string()));
        match page.next_cursor {
            Some(token) => after = Some(Cursor::decode(&token).unwrap().into_last()),
            None => return (ids, pages),
        }
    }
}

fn shortage(sku: &str, have: u64, requested: u64) -> Shortage {
    Shortage {
        product_id: id(sku),
        have,
        requested,
    }
}

pub async fn placing_an_order_prices_it_from_the_catalog_and_reserves_every_line(
    stores: Vec<Store>,
) {
    stocked(&stores, "mug", 1250, Some(10)).await;
    stocked(&stores, "pen", 199, Some(5)).await;
    let placed = orders(&stores)
        .place_order(&place("ada", &[("mug", 2), ("pen", 5)], None))
        .await
        .unwrap();
    assert!(!placed.replayed);
    let order = placed.order;
    assert_eq!(
        (order.total, order.currency.as_str(), order.status),
        (2 * 1250 + 5 * 199, "USD", OrderStatus::Confirmed)
    );
    assert_eq!(order.items[0].name, "mug");
    assert_eq!(counts(&stores, "mug").await, Some((8, 2)));
    assert_eq!(counts(&stores, "pen").await, Some((0, 5)));
    assert_eq!(
        orders(&stores).get_order(&order.id).await.unwrap(),
        Some(order)
    );
}

pub async fn an_order_naming_a_product_not_in_the_catalog_is_refused_and_changes_nothing(
    stores: Vec<Store>,
) {
    stocked(&stores, "mug", 100, Some(10)).await;
    let err = orders(&stores)
        .place_order(&place("ada", &[("mug", 1), ("ghost", 1)], None))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OrderError::Pricing(PricingError::UnknownProducts(ids)) if ids == &[id("ghost")]),
        "{err:?}"
    );
    assert_eq!(counts(&stores, "mug").await, Some((10, 0)));
    assert_eq!(all_orders(&stores, "ada", "10").await.0.len(), 0);
}

pub async fn an_order_in_two_currencies_is_refused_and_changes_nothing(stores: Vec<Store>) {
    stocked(&stores, "mug", 100, Some(10)).await;
    priced_in(&stores, "tea", 300, "EUR").await;
    let err = orders(&stores)
        .place_order(&place("ada", &[("mug", 1), ("tea", 1)], None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, OrderError::Pricing(PricingError::MixedCurrencies(_))),
        "{err:?}"
    );
    assert_eq!(counts(&stores, "mug").await, Some((10, 0)));
}

pub async fn a_failed_multi_line_order_names_every_short_line_and_leaves_every_level_as_it_was(
    stores: Vec<Store>,
) {
    stocked(&stores, "mug", 100, Some(10)).await;
    stocked(&stores, "pen", 100, Some(2)).await;
    stocked(&stores, "lamp", 100, None).await;
    let err = orders(&stores)
        .place_order(&place("ada", &[("mug", 3), ("pen", 3), ("lamp", 1)], None))
        .await
        .unwrap_err();
    let OrderError::InsufficientStock(mut short) = err else {
        panic!("expected a shortage, got {err:?}");
    };
    short.sort_by(|a, b| a.product_id.cmp(&b.product_id));
    // A product in the catalog with no stock level has 0 available.
    assert_eq!(short, [shortage("lamp", 0, 1), shortage("pen", 2, 3)]);
    assert_eq!(counts(&stores, "mug").await, Some((10, 0)));
    assert_eq!(counts(&stores, "pen").await, Some((2, 0)));
    assert_eq!(counts(&stores, "lamp").await, None);
    assert_eq!(all_orders(&stores, "ada", "10").await.0.len(), 0);
}

pub async fn a_retry_with_the_same_key_and_body_returns_the_first_order_and_moves_stock_once(
    stores: Vec<Store>,
) {
    stocked(&stores, "mug", 100, Some(10)).await;
    let store = orders(&stores);
    let first = store
        .place_order(&place("ada", &[("mug", 2)], Some("k-1")))
        .await
        .unwrap();
    // Even after the price moved: the retry answers what the first request got.
    stores[0]
        .catalog()
        .unwrap()
        .replace_product(
            &id("mug"),
            stockroom_store::testing::build::details("mug", 999, None),
            t0(),
        )
        .await
        .unwrap();
    let retry = store
        .place_order(&place_at(
            "ada",
            &[("mug", 2)],
            Some("k-1"),
            t0() + Duration::hours(1),
        ))
        .await
        .unwrap();
    assert!(retry.replayed);
    assert_eq!(retry.order, first.order);
    assert_eq!(counts(&stores, "mug").await, Some((8, 2)));
    assert_eq!(all_orders(&stores, "ada", "10").await.0.len(), 1);
}

pub async fn a_key_reused_with_another_body_is_refused_and_changes_nothing(stores: Vec<Store>) {
    stocked(&stores, "mug", 100, Some(10)).await;
    let store = orders(&stores);
    store
        .place_order(&place("ada", &[("mug", 2)], Some("k-1")))
        .await
        .unwrap();
    let err = store
        .place_order(&place("ada", &[("mug", 3)], Some("k-1")))
        .await
        .unwrap_err();
    assert!(matches!(err, OrderError::KeyReused), "{err:?}");
    assert_eq!(counts(&stores, "mug").await, Some((8, 2)));
}

pub async fn a_key_is_scoped_to_its_customer_and_expires_after_a_day(stores: Vec<Store>) {
    stocked(&stores, "mug", 100, Some(10)).await;
    let store = orders(&stores);
    let first = store
        .place_order(&place("ada", &[("mug", 1)], Some("k-1")))
        .await
        .unwrap();
    let other = store
        .place_order(&place("bob", &[("mug", 1)], Some("k-1")))
        .await
        .unwrap();
    assert!(!other.replayed);
    let later = store
        .place_order(&place_at(
            "ada",
            &[("mug", 1)],
            Some("k-1"),
            t0() + Duration::hours(24),
        ))
        .await
        .unwrap();
    assert!(!later.replayed);
    assert_ne!(later.order.id, first.order.id);
    assert_eq!(counts(&stores, "mug").await, Some((7, 3)));
}

pub async fn forty_concurrent_single_unit_orders_on_stock_ten_give_exactly_ten_orders(
    stores: Vec<Store>,
) {
    stocked(&stores, "hot", 100, Some(10)).await;
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = stores[i % stores.len()].orders().unwrap();
            tokio::spawn(async move { store.place_order(&place("ada", &[("hot", 1)], None)).await })
        })
        .collect();
    let (mut placed, mut short) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => placed += 1,
            Err(OrderError::InsufficientStock(s)) => {
                assert_eq!(s, [shortage("hot", 0, 1)]);
                short += 1;
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((placed, short), (10, 30));
    assert_eq!(counts(&stores, "hot").await, Some((0, 10)));
    assert_eq!(all_orders(&stores, "ada", "100").await.0.len(), 10);
}

pub async fn two_concurrent_orders_with_the_same_key_produce_one_order(stores: Vec<Store>) {
    stocked(&stores, "mug", 100, Some(10)).await;
    let tasks: Vec<_> = (0..2)
        .map(|i| {
            let store = stores[i % stores.len()].orders().unwrap();
            tokio::spawn(async move {
                store
                    .place_order(&place("ada", &[("mug", 3)], Some("same")))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    assert_eq!(results[0].order, results[1].order);
    assert_eq!(
        results.iter().filter(|p| p.replayed).count(),
        1,
        "{results:?}"
    );
    assert_eq!(counts(&stores, "mug").await, Some((7, 3)));
    assert_eq!(all_orders(&stores, "ada", "10").await.0.len(), 1);
}

pub async fn shipping_takes_the_units_out_of_reserved_and_delivering_changes_only_the_order(
    stores: Vec<Store>,
) {
    let order = mug_order(&stores, 4).await;
    let store = orders(&stores);
    let t1 = t0() + Duration::hours(1);
    let shipped = store
        .change_status(&order.id, OrderStatus::Shipped, t1)
        .await
        .unwrap();
    assert_eq!(
        (shipped.status, shipped.updated_at),
        (OrderStatus::Shipped, t1)
    );
    assert_eq!(counts(&stores, "mug").await, Some((6, 0)));
    let delivered = store
        .change_status(&order.id, OrderStatus::Delivered, t1)
        .await
        .unwrap();
    assert_eq!(delivered.status, OrderStatus::Delivered);
    assert_eq!(counts(&stores, "mug").await, Some((6, 0)));
    assert_eq!(store.get_order(&order.id).await.unwrap(), Some(delivered));
}

pub async fn cancelling_returns_the_units_to_available_once(stores: Vec<Store>) {
    let order = mug_order(&stores, 4).await;
    let store = orders(&stores);
    store
        .change_status(&order.id, OrderStatus::Cancelled, t0())
        .await
        .unwrap();
    assert_eq!(counts(&stores, "mug").await, Some((10, 0)));
    let err = store
        .change_status(&order.id, OrderStatus::Cancelled, t0())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            OrderError::IllegalTransition {
                from: OrderStatus::Cancelled,
                to: OrderStatus::Cancelled,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(counts(&stores, "mug").await, Some((10, 0)));
}

pub async fn an_illegal_transition_names_the_current_status_and_changes_nothing(
    stores: Vec<Store>,
) {
    let order = mug_order(&stores, 1).await;
    let store = orders(&stores);
    for to in [OrderStatus::Delivered, OrderStatus::Confirmed] {
        let err = store.change_status(&order.id, to, t0()).await.unwrap_err();
        assert!(
            matches!(
                err,
                OrderError::IllegalTransition {
                    from: OrderStatus::Confirmed,
                    ..
                }
            ),
            "{err:?}"
        );
    }
    assert_eq!(store.get_order(&order.id).await.unwrap(), Some(order));
    assert_eq!(counts(&stores, "mug").await, Some((9, 1)));
    let ghost = stockroom_domain::orders::OrderId::parse("01JZZZZZZZZZZZZZZZZZZZZZZZ").unwrap();
    let err = store
        .change_status(&ghost, OrderStatus::Shipped, t0())
        .await
        .unwrap_err();
    assert!(matches!(err, OrderError::NotFound(_)), "{err:?}");
}

pub async fn shipping_units_released_behind_the_orders_back_is_refused_and_changes_nothing(
    stores: Vec<Store>,
) {
    let order = mug_order(&stores, 3).await;
    let store = orders(&stores);
    stores[0]
        .inventory()
        .unwrap()
        .move_stock(
            &id("mug"),
            stockroom_domain::inventory::StockMove::Release,
            stockroom_domain::inventory::Quantity::new(2).unwrap(),
            t0(),
        )
        .await
        .unwrap();
    let err = store
        .change_status(&order.id, OrderStatus::Shipped, t0())
        .await
        .unwrap_err();
    let OrderError::ReservedShort(short) = err else {
        panic!("expected a reserved shortage, got {err:?}");
    };
    assert_eq!(short, [shortage("mug", 1, 3)]);
    assert_eq!(counts(&stores, "mug").await, Some((9, 1)));
    assert_eq!(
        store.get_order(&order.id).await.unwrap().unwrap().status,
        OrderStatus::Confirmed
    );
}

pub async fn a_ship_racing_a_cancel_lets_exactly_one_win(stores: Vec<Store>) {
    let order = mug_order(&stores, 4).await;
    let tasks: Vec<_> = [OrderStatus::Shipped, OrderStatus::Cancelled]
        .into_iter()
        .enumerate()
        .map(|(i, to)| {
            let store = stores[i % stores.len()].orders().unwrap();
            let id = order.id.clone();
            tokio::spawn(async move { store.change_status(&id, to, t0()).await })
        })
        .collect();
    let mut won = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(order) => won.push(order.status),
            Err(OrderError::IllegalTransition { .. }) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(won.len(), 1, "{won:?}");
    let expected = match won[0] {
        OrderStatus::Shipped => (6, 0),
        _ => (10, 0),
    };
    assert_eq!(counts(&stores, "mug").await, Some(expected));
}

pub async fn a_customers_orders_list_newest_first_page_by_page(stores: Vec<Store>) {
    stocked(&stores, "mug", 100, Some(100)).await;
    let store = orders(&stores);
    let mut placed = Vec::new();
    for i in 0..5 {
        // Two in the same millisecond: the id keeps their order fixed.
        let at = t0() + Duration::milliseconds(i64::from(i / 2));
        placed.push(
            store
                .place_order(&place_at("ada", &[("mug", 1)], None, at))
                .await
                .unwrap()
                .order,
        );
    }
    store
        .place_order(&place("bob", &[("mug", 1)], None))
        .await
        .unwrap();
    placed.sort_by_key(|o| std::cmp::Reverse(o.list_key()));
    let expected: Vec<String> = placed.iter().map(|o| o.id.to_string()).collect();
    assert_eq!(all_orders(&stores, "ada", "2").await, (expected.clone(), 3));
    assert_eq!(all_orders(&stores, "ada", "50").await, (expected, 1));
    assert_eq!(all_orders(&stores, "nobody", "50").await, (vec![], 1));
}

contract!(
    placing_an_order_prices_it_from_the_catalog_and_reserves_every_line,
    an_order_naming_a_product_not_in_the_catalog_is_refused_and_changes_nothing,
    an_order_in_two_currencies_is_refused_and_changes_nothing,
    a_failed_multi_line_order_names_every_short_line_and_leaves_every_level_as_it_was,
    a_retry_with_the_same_key_and_body_returns_the_first_order_and_moves_stock_once,
    a_key_reused_with_another_body_is_refused_and_changes_nothing,
    a_key_is_scoped_to_its_customer_and_expires_after_a_day,
    forty_concurrent_single_unit_orders_on_stock_ten_give_exactly_ten_orders,
    two_concurrent_orders_with_the_same_key_produce_one_order,
    shipping_takes_the_units_out_of_reserved_and_delivering_changes_only_the_order,
    cancelling_returns_the_units_to_available_once,
    an_illegal_transition_names_the_current_status_and_changes_nothing,
    shipping_units_released_behind_the_orders_back_is_refused_and_changes_nothing,
    a_ship_racing_a_cancel_lets_exactly_one_win,
    a_customers_orders_list_newest_first_page_by_page,
);
