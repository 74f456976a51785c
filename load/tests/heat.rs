//! The heat model over a real embedded store: orders placed through the store's ports, then
//! measured from the change feed with today's template.yaml (whose stock index projects keys
//! only, and whose levels can be split into shards with partition keys of their own).
#![allow(clippy::unwrap_used)] // A test that cannot unwrap has failed; the panic says where.

#[path = "support/driver.rs"]
mod driver;

use std::path::{Path, PathBuf};

use stockroom_load::heat::{self, Partition};
use stockroom_store::StoreConfig;

fn template() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .join("template.yaml")
}

fn partition(table: &str, index: Option<&str>, key: &str) -> Partition {
    Partition {
        table: table.to_owned(),
        index: index.map(str::to_owned),
        key: key.to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spread_orders_leave_the_stock_index_cold_and_a_split_level_spreads_a_flash_sale() {
    let data_dir = std::env::temp_dir().join(format!("stockroom-heat-{}", ulid::Ulid::new()));
    let store = StoreConfig::Embedded {
        data_dir: data_dir.clone(),
        readers: 1,
    }
    .open()
    .await
    .unwrap();
    let products = driver::stocked_products(&store, "p", 4, 1000)
        .await
        .unwrap();

    // Spread: 40 orders, 10 on each of 4 products, 40 customers.
    let before = heat::feed_position(&data_dir).await.unwrap();
    assert!(before > 0, "the setup's writes are in the feed");
    driver::place_orders(&store, "spread", &products, 40, 40)
        .await
        .unwrap();
    let spread = heat::measure(&data_dir, before, &template()).await.unwrap();

    // Each order is one transaction of two changes, its stock level and the order item, both
    // under 1 KB: 2 + 2 table units (transactional), and one index write, the order's
    // `by-customer` entry. The level's `by-entity` entry is not written: the index projects
    // keys only, and a move changes no key.
    assert!(spread.settled);
    assert_eq!(
        (spread.changes, spread.transactional, spread.orders),
        (80, 80, 40)
    );
    assert_eq!((spread.table_units, spread.index_units), (160, 40));
    assert_eq!(spread.per_order(spread.total_units()), Some(5.0));
    assert!(
        !spread
            .partitions
            .iter()
            .any(|p| p.partition.index.as_deref() == Some("by-entity")),
        "{spread}"
    );
    // The hottest partitions are the four products' own levels, 10 orders of 2 units each:
    // 0.5 units an order, so 2,000 orders/s before one of them reaches 1,000.
    let hottest = spread.hottest().unwrap();
    assert_eq!(hottest.partition.table, "inventory");
    assert!(hottest.partition.key.starts_with("STOCK#p-"), "{spread}");
    assert_eq!((hottest.writes, hottest.units), (10, 20));
    let (ceiling, _) = spread.ceiling().unwrap();
    assert!((ceiling - 2000.0).abs() < 1e-9, "{ceiling}");

    // A flash sale: 20 orders of one product. Its level's partition takes 2 units an order
    // (transactional): 500 orders/s.
    let before = heat::feed_position(&data_dir).await.unwrap();
    driver::place_orders(&store, "flash", &products[..1], 20, 20)
        .await
        .unwrap();
    let flash = heat::measure(&data_dir, before, &template()).await.unwrap();
    assert_eq!(flash.orders, 20);
    let hottest = flash.hottest().unwrap();
    assert_eq!(hottest.partition, partition("inventory", None, "STOCK#p-0"));
    assert_eq!(hottest.units, 40);
    let (ceiling, _) = flash.ceiling().unwrap();
    assert!((ceiling - 500.0).abs() < 1e-9, "{ceiling}");

    // The same sale on a level split into 4 shards: the same 40 units land on the shards'
    // own partitions, picked at random, so no one of them takes them all.
    store
        .inventory()
        .unwrap()
        .set_stock(
            &stockroom_domain::ProductId::parse("p-1").unwrap(),
            stockroom_domain::inventory::Available::new(1000).unwrap(),
            Some(stockroom_domain::inventory::Shards::new(4).unwrap()),
            stockroom_domain::timestamp::now(),
        )
        .await
        .unwrap();
    let before = heat::feed_position(&data_dir).await.unwrap();
    driver::place_orders(&store, "split", &products[1..2], 20, 20)
        .await
        .unwrap();
    let split = heat::measure(&data_dir, before, &template()).await.unwrap();
    let shards: Vec<_> = split
        .partitions
        .iter()
        .filter(|p| p.partition.table == "inventory" && p.partition.index.is_none())
        .collect();
    assert_eq!(shards.iter().map(|p| p.units).sum::<u64>(), 40, "{split}");
    assert!(shards.len() >= 2, "{split}");
    assert!(
        shards
            .iter()
            .all(|p| p.partition.key.starts_with("STOCK#p-1")),
        "{split}"
    );
    let (ceiling, _) = split.ceiling().unwrap();
    assert!(ceiling > 500.0, "{ceiling}");

    // A directory without a store is an error that says so, not a new empty store.
    let err = heat::feed_position(&data_dir.join("nothing"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no embedded store"), "{err}");
    drop(store);
    std::fs::remove_dir_all(&data_dir).unwrap();
}
