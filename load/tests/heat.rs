//! The heat model over a real embedded store: orders placed through the store's ports, then
//! measured from the change feed with today's template.yaml.
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
async fn spread_orders_heat_the_stock_index_partition_and_a_flash_sale_its_products_level() {
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
    // under 1 KB: 2 + 2 table units (transactional), and one index write each (the level's
    // `by-entity` entry, the order's `by-customer` entry), nothing else.
    assert!(spread.settled);
    assert_eq!(
        (spread.changes, spread.transactional, spread.orders),
        (80, 80, 40)
    );
    assert_eq!((spread.table_units, spread.index_units), (160, 80));
    assert_eq!(spread.per_order(spread.total_units()), Some(6.0));
    // Every order moves a level, and every level is in the one `stock` partition of the
    // inventory's by-entity index: it takes 1 unit per order, each product's own level 0.5.
    let hottest = spread.hottest().unwrap();
    assert_eq!(
        hottest.partition,
        partition("inventory", Some("by-entity"), "stock")
    );
    assert_eq!((hottest.writes, hottest.units), (40, 40));
    let second = &spread.partitions[1];
    assert_eq!(second.partition.table, "inventory");
    assert_eq!(second.partition.index, None);
    assert_eq!(second.units, 20);
    let (ceiling, _) = spread.ceiling().unwrap();
    assert!((ceiling - 1000.0).abs() < 1e-9, "{ceiling}");
    let report = spread.to_string();
    assert!(
        report.contains("| 1 | inventory | by-entity | `stock` | 40 | 40 | 1.00 | 16.7% |"),
        "{report}"
    );

    // A flash sale: 20 orders of one product. Its level's table partition takes 2 units an
    // order (transactional), twice the index's: the ceiling halves.
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

    // A directory without a store is an error that says so, not a new empty store.
    let err = heat::feed_position(&data_dir.join("nothing"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no embedded store"), "{err}");
    drop(store);
    std::fs::remove_dir_all(&data_dir).unwrap();
}
