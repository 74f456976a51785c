//! The store ports' contract: the same cases, run against the embedded SQLite adapter and
//! against the DynamoDB adapter talking to a real DynamoDB-compatible server.
//!
//! The DynamoDB half needs `AWS_ENDPOINT_URL_DYNAMODB` pointing at a local server (the README's
//! test command starts moto's); it refuses to run against real AWS. Each test creates its own
//! tables from the key schemas in template.yaml, so the tests and the deployed tables cannot
//! disagree about keys and indexes. Each case gets three handles on one store: on SQLite three
//! connections to one file (the first with read connections, as `cargo dev` opens it), on
//! DynamoDB three handles on the same tables, so the races below are real races.

#![allow(clippy::unwrap_used)] // A test that cannot unwrap has failed; the panic says where.

/// The contract's cases of one port, each run against both adapters: `contract!(case, ...)`
/// at the end of a port's module makes `<port>::sqlite::<case>` and `<port>::dynamodb::<case>`
/// tests, each on three fresh handles on one store ([`stores`]). A port's module lists its own
/// cases, so a new service's suite is its module and its `mod` line.
#[macro_export]
macro_rules! contract {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case($crate::stores::sqlite().await).await;
                }
            )*
        }

        mod dynamodb {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    super::$case($crate::stores::dynamodb().await).await;
                }
            )*
        }
    };
}

mod carts;
mod catalog;
mod inventory;
mod notifications;
mod orders;
mod shards;

use chrono::{DateTime, Utc};
use stockroom_domain::catalog::Product;
use stockroom_domain::inventory::Available;
use stockroom_store::Store;
use stockroom_store::testing::build::id;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-10T08:00:00.000Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn product(s: &str, price: i64, category: Option<&str>) -> Product {
    stockroom_store::testing::build::product(s, price, category, t0())
}

/// Puts `sku` in the catalog at `price` (USD) with `units` available (`None`: no level).
async fn stocked(stores: &[Store], sku: &str, price: i64, units: Option<i64>) {
    stores[0]
        .catalog()
        .unwrap()
        .create_product(&product(sku, price, None))
        .await
        .unwrap();
    if let Some(units) = units {
        stores[0]
            .inventory()
            .unwrap()
            .set_stock(&id(sku), Available::new(units).unwrap(), None, t0())
            .await
            .unwrap();
    }
}

/// Puts `sku` in the catalog at `price` in `currency`, without a stock level.
async fn priced_in(stores: &[Store], sku: &str, price: i64, currency: &str) {
    let mut p = product(sku, price, None);
    p.currency = stockroom_domain::Currency::parse(currency).unwrap();
    stores[0]
        .catalog()
        .unwrap()
        .create_product(&p)
        .await
        .unwrap();
}

/// `(available, reserved)` of `sku` as stored now.
async fn counts(stores: &[Store], sku: &str) -> Option<(u64, u64)> {
    stores[0]
        .inventory()
        .unwrap()
        .get_stock(&id(sku))
        .await
        .unwrap()
        .map(|l| (l.available, l.reserved))
}

mod stores {
    use stockroom_store::Store;
    use stockroom_store::sqlite::SqliteStore;

    /// Three handles on one store file: the first with two read-only connections beside its
    /// writer (as `cargo dev` opens it), so reads cross connections; the other two with a
    /// writer each, so writes race across connections as two processes' would.
    pub async fn sqlite() -> Vec<Store> {
        let path = stockroom_store::testing::temp_store_path();
        let first = SqliteStore::open_with_readers(&path, 2).unwrap();
        let mut stores = vec![Store::embedded(first)];
        for _ in 0..2 {
            stores.push(Store::embedded(SqliteStore::open(&path).unwrap()));
        }
        stores
    }

    /// Three handles on fresh tables in the local DynamoDB server.
    pub async fn dynamodb() -> Vec<Store> {
        let store = stockroom_store::testing::dynamodb_store().await;
        vec![store.clone(), store.clone(), store]
    }
}
