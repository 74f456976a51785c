//! Stock levels split into shards (run by `contract!` on both adapters): one level to every
//! reader, reservations spread over the shards and falling over when one runs dry, and never a
//! unit sold twice or lost, whatever the orders, cancels and shipments racing on it.

use std::sync::Arc;

use stockroom_domain::inventory::{Available, Quantity, Shards, StockMove};
use stockroom_domain::orders::{
    IdempotencyKey, Order, OrderId, OrderRequest, OrderStatus, RawLine,
};
use stockroom_domain::page::Limit;
use stockroom_store::Store;
use stockroom_store::inventory::{InventoryStore, StockError, StockQuery};
use stockroom_store::orders::{OrderError, OrdersStore, PlaceOrder};

use crate::{counts, id, stocked, t0};

fn inventory(stores: &[Store]) -> Arc<dyn InventoryStore> {
    stores[0].inventory().unwrap()
}

fn orders(stores: &[Store]) -> Arc<dyn OrdersStore> {
    stores[0].orders().unwrap()
}

fn shards(n: i64) -> Option<Shards> {
    Some(Shards::new(n).unwrap())
}

/// Sets `sku`'s level to `units` over `n` shards.
async fn split(stores: &[Store], sku: &str, units: i64, n: i64) {
    let level = inventory(stores)
        .set_stock(&id(sku), Available::new(units).unwrap(), shards(n), t0())
        .await
        .unwrap();
    assert_eq!((level.available, level.shards), (units as u64, n as u32));
}

fn order_of(customer: &str, sku: &str, quantity: i64, key: Option<String>) -> PlaceOrder {
    let raw = [RawLine {
        product_id: Some(sku.to_owned()),
        quantity: Some(quantity),
    }];
    PlaceOrder {
        id: OrderId::at(t0()),
        request: OrderRequest::parse(Some(customer), Some(&raw)).unwrap(),
        key: key.map(|k| IdempotencyKey::parse(&k).unwrap()),
        now: t0(),
    }
}

/// `n` orders of `quantity` of `sku` placed at once across the store's handles: the placed
/// orders, and how many were refused for want of stock (any other failure fails the test).
async fn race_orders(stores: &[Store], sku: &str, n: usize, quantity: i64) -> (Vec<Order>, usize) {
    // Every shopper of every race its own customer and key: a second race is new orders,
    // not replays of the first.
    static SHOPPERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let store = stores[i % stores.len()].orders().unwrap();
            let s = SHOPPERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let order = order_of(&format!("c{s}"), sku, quantity, Some(format!("k{s}")));
            tokio::spawn(async move { store.place_order(&order).await })
        })
        .collect();
    let (mut placed, mut refused) = (Vec::new(), 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(p) => placed.push(p.order),
            Err(OrderError::InsufficientStock(short)) => {
                assert!(short[0].have < quantity as u64, "{short:?}");
                refused += 1;
            }
            Err(other) => panic!("unexpected failure: {other:?}"),
        }
    }
    (placed, refused)
}

pub async fn a_split_level_reads_as_one_and_keeps_what_is_reserved_when_split_again(
    stores: Vec<Store>,
) {
    stocked(&stores, "hot", 100, Some(0)).await;
    split(&stores, "hot", 10, 4).await;
    let store = inventory(&stores);
    // Shard 0 has 3 of the 10; a reservation of 5 takes across the shards.
    let level = store
        .move_stock(
            &id("hot"),
            StockMove::Reserve,
            Quantity::new(5).unwrap(),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!((level.available, level.reserved, level.shards), (5, 5, 4));
    let err = store
        .move_stock(
            &id("hot"),
            StockMove::Decrement,
            Quantity::new(6).unwrap(),
            t0(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StockError::InsufficientAvailable {
                available: 5,
                requested: 6,
                ..
            }
        ),
        "{err:?}"
    );
    // Fewer shards: available is split anew, reserved stays.
    split(&stores, "hot", 8, 2).await;
    assert_eq!(counts(&stores, "hot").await, Some((8, 5)));
    // The listing sums the shards too.
    let page = store
        .list_stock(&StockQuery {
            limit: Limit::parse("10").unwrap(),
            after: None,
        })
        .await
        .unwrap();
    let listed = page
        .items
        .iter()
        .find(|l| l.product_id == id("hot"))
        .unwrap();
    assert_eq!(
        (listed.available, listed.reserved, listed.shards),
        (8, 5, 2)
    );
    // Left out, `shards` keeps what the level has.
    let level = store
        .set_stock(&id("hot"), Available::new(9).unwrap(), None, t0())
        .await
        .unwrap();
    assert_eq!((level.available, level.reserved, level.shards), (9, 5, 2));
    let err = store.delete_stock(&id("hot")).await.unwrap_err();
    assert!(
        matches!(err, StockError::StillReserved { reserved: 5, .. }),
        "{err:?}"
    );
    store
        .move_stock(
            &id("hot"),
            StockMove::Release,
            Quantity::new(5).unwrap(),
            t0(),
        )
        .await
        .unwrap();
    assert_eq!(counts(&stores, "hot").await, Some((14, 0)));
    let deleted = store.delete_stock(&id("hot")).await.unwrap();
    assert_eq!((deleted.available, deleted.reserved), (14, 0));
    assert_eq!(counts(&stores, "hot").await, None);
}

pub async fn orders_racing_on_a_split_level_sell_exactly_what_it_has(stores: Vec<Store>) {
    stocked(&stores, "hot", 100, Some(0)).await;
    split(&stores, "hot", 20, 4).await;
    // 20 shoppers for 20 units in shards of 5, each picking a shard at random: some shards
    // are picked more than 5 times and run dry while others still hold units, so every
    // shopper gets a unit only if reservations fall over to the other shards.
    let (mut placed, refused) = race_orders(&stores, "hot", 20, 1).await;
    assert_eq!((placed.len(), refused), (20, 0));
    assert_eq!(counts(&stores, "hot").await, Some((0, 20)));
    // 40 more find nothing left, in any shard.
    let (late, refused) = race_orders(&stores, "hot", 40, 1).await;
    assert_eq!((late.len(), refused), (0, 40));
    placed.extend(late);
    for order in &placed {
        let stored = orders(&stores).get_order(&order.id).await.unwrap().unwrap();
        assert_eq!(stored.status, OrderStatus::Confirmed);
    }
}

pub async fn an_order_larger_than_any_shard_takes_across_them_and_a_cancel_returns_it_all(
    stores: Vec<Store>,
) {
    stocked(&stores, "hot", 100, Some(0)).await;
    // Shards of 3, 3, 2 and 2: no one shard holds 7.
    split(&stores, "hot", 10, 4).await;
    let placed = orders(&stores)
        .place_order(&order_of("ada", "hot", 7, None))
        .await
        .unwrap()
        .order;
    assert_eq!(counts(&stores, "hot").await, Some((3, 7)));
    // 4 more than the 3 left is refused with the level's total, and changes nothing.
    let err = orders(&stores)
        .place_order(&order_of("bob", "hot", 4, None))
        .await
        .unwrap_err();
    match err {
        OrderError::InsufficientStock(short) => assert_eq!(short[0].have, 3),
        other => panic!("unexpected failure: {other:?}"),
    }
    assert_eq!(counts(&stores, "hot").await, Some((3, 7)));
    orders(&stores)
        .change_status(&placed.id, OrderStatus::Cancelled, t0())
        .await
        .unwrap();
    assert_eq!(counts(&stores, "hot").await, Some((10, 0)));
}

pub async fn cancels_and_shipments_racing_new_orders_on_a_split_level_lose_no_unit(
    stores: Vec<Store>,
) {
    stocked(&stores, "hot", 100, Some(0)).await;
    split(&stores, "hot", 30, 3).await;
    let (first, refused) = race_orders(&stores, "hot", 10, 2).await;
    assert_eq!((first.len(), refused), (10, 0));
    assert_eq!(counts(&stores, "hot").await, Some((10, 20)));
    // At once: 4 cancels, 3 shipments and 12 new orders of 2 (10 units are left, and the
    // cancels return 8 while they run).
    let mut tasks = Vec::new();
    for (i, order) in first.iter().enumerate().take(7) {
        let store = stores[i % stores.len()].orders().unwrap();
        let to = if i < 4 {
            OrderStatus::Cancelled
        } else {
            OrderStatus::Shipped
        };
        let id = order.id.clone();
        tasks.push(tokio::spawn(async move {
            store.change_status(&id, to, t0()).await.map(|_| None)
        }));
    }
    for i in 0..12 {
        let store = stores[i % stores.len()].orders().unwrap();
        let order = order_of(&format!("n{i}"), "hot", 2, Some(format!("n{i}")));
        tasks.push(tokio::spawn(async move {
            store.place_order(&order).await.map(|p| Some(p.order))
        }));
    }
    let mut late = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(Some(order)) => late.push(order),
            Ok(None) | Err(OrderError::InsufficientStock(_)) => {}
            Err(other) => panic!("unexpected failure: {other:?}"),
        }
    }
    // Every unit is somewhere: 30 = available + reserved (3 confirmed of the first, and every
    // late order) + shipped (3 orders of 2).
    let confirmed = 3 + late.len() as u64;
    let (available, reserved) = counts(&stores, "hot").await.unwrap();
    assert_eq!(reserved, 2 * confirmed, "{late:?}");
    assert_eq!(available + reserved + 6, 30);
    assert!(
        late.len() >= 5,
        "10 left + 8 returned allow 9 orders; {} placed",
        late.len()
    );
}

contract!(
    a_split_level_reads_as_one_and_keeps_what_is_reserved_when_split_again,
    orders_racing_on_a_split_level_sell_exactly_what_it_has,
    an_order_larger_than_any_shard_takes_across_them_and_a_cancel_returns_it_all,
    cancels_and_shipments_racing_new_orders_on_a_split_level_lose_no_unit,
);
