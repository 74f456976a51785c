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

#[path = "contract/carts.rs"]
mod carts;
#[path = "contract/inventory.rs"]
mod inventory;
#[path = "contract/notifications.rs"]
mod notifications;
#[path = "contract/orders.rs"]
mod orders;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use stockroom_domain::Price;
use stockroom_domain::catalog::{Category, PriceChange, Product};
use stockroom_domain::inventory::Available;
use stockroom_domain::page::{Cursor, Limit};
use stockroom_store::Store;
use stockroom_store::catalog::{CatalogStore, ProductQuery, WriteError};
use stockroom_store::testing::build::{details, id};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-10T08:00:00.000Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn product(s: &str, price: i64, category: Option<&str>) -> Product {
    stockroom_store::testing::build::product(s, price, category, t0())
}

/// The catalog port of the first handle: the catalog cases need only one.
fn catalog(stores: &[Store]) -> Arc<dyn CatalogStore> {
    stores[0].catalog().unwrap()
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
            .set_stock(&id(sku), Available::new(units).unwrap(), t0())
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

fn prices(changes: &[PriceChange]) -> Vec<i64> {
    changes.iter().map(|c| c.price.minor_units()).collect()
}

async fn all_pages(
    store: &dyn CatalogStore,
    category: Option<&str>,
    limit: &str,
) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut pages = 0;
    let mut after = None;
    loop {
        let query = ProductQuery {
            category: category.map(|c| Category::parse(c).unwrap()),
            limit: Limit::parse(limit).unwrap(),
            after,
        };
        let page = store.list_products(&query).await.unwrap();
        pages += 1;
        ids.extend(page.items.iter().map(|p| p.id.to_string()));
        match page.next_cursor {
            Some(token) => after = Some(Cursor::decode(&token).unwrap().into_last()),
            None => return (ids, pages),
        }
    }
}

pub async fn a_created_product_reads_back_unchanged(stores: Vec<Store>) {
    let store = catalog(&stores);
    let mut p = product("mug", 1250, Some("kitchen"));
    p.description = Some(stockroom_domain::catalog::Description::parse("Holds tea. ☕").unwrap());
    store.create_product(&p).await.unwrap();
    assert_eq!(store.get_product(&p.id).await.unwrap(), Some(p));
}

pub async fn an_unknown_product_reads_as_none(stores: Vec<Store>) {
    let store = catalog(&stores);
    assert_eq!(store.get_product(&id("nope")).await.unwrap(), None);
    assert!(
        store
            .price_history(&id("nope"), t0())
            .await
            .unwrap()
            .is_none()
    );
}

pub async fn creating_an_existing_id_conflicts_and_keeps_the_original(stores: Vec<Store>) {
    let store = catalog(&stores);
    let original = product("mug", 100, None);
    store.create_product(&original).await.unwrap();
    let err = store
        .create_product(&product("mug", 999, Some("x")))
        .await
        .unwrap_err();
    assert!(matches!(err, WriteError::AlreadyExists(_)), "{err:?}");
    assert_eq!(
        store.get_product(&original.id).await.unwrap(),
        Some(original.clone())
    );
    let (_, history) = store
        .price_history(&original.id, t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(prices(&history), [100]);
}

pub async fn replacing_keeps_created_at_and_records_only_price_moves(stores: Vec<Store>) {
    let store = catalog(&stores);
    let p = product("mug", 100, None);
    store.create_product(&p).await.unwrap();
    let t1 = t0() + Duration::hours(1);
    let renamed = store
        .replace_product(&p.id, details("Big mug", 100, Some("kitchen")), t1)
        .await
        .unwrap();
    assert_eq!((renamed.created_at, renamed.updated_at), (t0(), t1));
    let t2 = t1 + Duration::hours(1);
    let cheaper = store
        .replace_product(&p.id, details("Big mug", 80, None), t2)
        .await
        .unwrap();
    assert_eq!(
        store.get_product(&p.id).await.unwrap(),
        Some(cheaper.clone())
    );
    assert_eq!(cheaper.category, None);

    let (read, history) = store.price_history(&p.id, t0()).await.unwrap().unwrap();
    assert_eq!(read, cheaper);
    assert_eq!(prices(&history), [100, 80]);
    assert_eq!(history[1].previous, Some(Price::new(100).unwrap()));
    assert_eq!(history[1].at, t2);
}

pub async fn a_price_change_in_the_same_millisecond_as_the_create_keeps_both_records(
    stores: Vec<Store>,
) {
    let store = catalog(&stores);
    store
        .create_product(&product("mug", 100, None))
        .await
        .unwrap();
    store
        .replace_product(&id("mug"), details("Mug", 80, None), t0())
        .await
        .unwrap();
    let (_, history) = store
        .price_history(&id("mug"), t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(prices(&history), [100, 80]);
}

pub async fn replacing_an_unknown_product_is_not_found_and_creates_nothing(stores: Vec<Store>) {
    let store = catalog(&stores);
    let err = store
        .replace_product(&id("ghost"), details("Ghost", 1, None), t0())
        .await
        .unwrap_err();
    assert!(matches!(err, WriteError::NotFound(_)), "{err:?}");
    assert_eq!(store.get_product(&id("ghost")).await.unwrap(), None);
}

pub async fn concurrent_replaces_are_never_lost(stores: Vec<Store>) {
    let store = catalog(&stores);
    store
        .create_product(&product("mug", 1, None))
        .await
        .unwrap();
    let writers = (2..=6).map(|price| {
        // Spread over the handles: on SQLite, writers on three connections.
        let store = stores[usize::try_from(price).unwrap() % stores.len()]
            .catalog()
            .unwrap();
        tokio::spawn(async move {
            let at = t0() + Duration::minutes(price);
            store
                .replace_product(&id("mug"), details("Mug", price, None), at)
                .await
        })
    });
    // Spawned all at once, then awaited: they run side by side.
    let writers: Vec<_> = writers.collect();
    let mut done = 0;
    for writer in writers {
        writer.await.unwrap().unwrap();
        done += 1;
    }
    let (_, history) = store
        .price_history(&id("mug"), t0())
        .await
        .unwrap()
        .unwrap();
    // Every replace changed the price, so every one of them left exactly one record.
    assert_eq!(history.len(), 1 + done);
}

pub async fn deleting_removes_the_product_once(stores: Vec<Store>) {
    let store = catalog(&stores);
    let p = product("mug", 100, Some("kitchen"));
    store.create_product(&p).await.unwrap();
    assert_eq!(store.delete_product(&p.id).await.unwrap(), p);
    assert_eq!(store.get_product(&p.id).await.unwrap(), None);
    let err = store.delete_product(&p.id).await.unwrap_err();
    assert!(matches!(err, WriteError::NotFound(_)), "{err:?}");
    assert!(all_pages(&*store, Some("kitchen"), "10").await.0.is_empty());
}

pub async fn a_recreated_product_does_not_inherit_the_old_history(stores: Vec<Store>) {
    let store = catalog(&stores);
    store
        .create_product(&product("mug", 100, None))
        .await
        .unwrap();
    store.delete_product(&id("mug")).await.unwrap();
    let later = Product::new(
        id("mug"),
        details("Mug", 700, None),
        t0() + Duration::days(1),
    );
    store.create_product(&later).await.unwrap();
    let (_, history) = store
        .price_history(&id("mug"), t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(prices(&history), [700]);
}

pub async fn listing_pages_through_every_product_in_id_order(stores: Vec<Store>) {
    let store = catalog(&stores);
    let mut expected: Vec<String> = (0..7).map(|i| format!("p{i}")).collect();
    // Created out of order, to show the order comes from the ids.
    for name in expected.iter().rev() {
        store
            .create_product(&product(name, 10, None))
            .await
            .unwrap();
    }
    expected.sort();
    let (ids, pages) = all_pages(&*store, None, "3").await;
    assert_eq!(ids, expected);
    assert_eq!(pages, 3);
    // A page that ends exactly at the last product has no cursor: no empty trailing page.
    let (ids, pages) = all_pages(&*store, None, "7").await;
    assert_eq!((ids.len(), pages), (7, 1));
}

pub async fn listing_by_category_returns_only_that_category(stores: Vec<Store>) {
    let store = catalog(&stores);
    for (name, category) in [
        ("a", Some("books")),
        ("b", Some("games")),
        ("c", Some("books")),
        ("d", None),
        ("e", Some("books")),
    ] {
        store
            .create_product(&product(name, 10, category))
            .await
            .unwrap();
    }
    assert_eq!(
        all_pages(&*store, Some("books"), "2").await,
        (vec!["a".into(), "c".into(), "e".into()], 2)
    );
    assert_eq!(
        all_pages(&*store, Some("toys"), "2").await.0,
        Vec::<String>::new()
    );
    assert_eq!(all_pages(&*store, None, "100").await.0.len(), 5);
}

pub async fn price_history_returns_only_changes_since_the_window_start(stores: Vec<Store>) {
    let store = catalog(&stores);
    store
        .create_product(&product("mug", 100, None))
        .await
        .unwrap();
    for (hours, price) in [(24, 90), (48, 80), (72, 70)] {
        let at = t0() + Duration::hours(hours);
        store
            .replace_product(&id("mug"), details("Mug", price, None), at)
            .await
            .unwrap();
    }
    let since = t0() + Duration::hours(30);
    let (product, history) = store
        .price_history(&id("mug"), since)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(product.price.minor_units(), 70);
    assert_eq!(prices(&history), [80, 70]);
    assert_eq!(history[0].previous, Some(Price::new(90).unwrap()));
}

/// The catalog cases above, under a name like the inventory's.
mod catalog {
    pub use super::*;
}

macro_rules! contract_suite {
    ($adapter:ident, $make:path) => {
        mod $adapter {
            contract_suite!(@cases $make; catalog;
                a_created_product_reads_back_unchanged,
                an_unknown_product_reads_as_none,
                creating_an_existing_id_conflicts_and_keeps_the_original,
                replacing_keeps_created_at_and_records_only_price_moves,
                replacing_an_unknown_product_is_not_found_and_creates_nothing,
                a_price_change_in_the_same_millisecond_as_the_create_keeps_both_records,
                concurrent_replaces_are_never_lost,
                deleting_removes_the_product_once,
                a_recreated_product_does_not_inherit_the_old_history,
                listing_pages_through_every_product_in_id_order,
                listing_by_category_returns_only_that_category,
                price_history_returns_only_changes_since_the_window_start,
            );
            contract_suite!(@cases $make; inventory;
                setting_stock_for_a_catalog_product_creates_its_level,
                setting_stock_for_a_product_not_in_the_catalog_is_refused_and_creates_nothing,
                setting_stock_again_keeps_what_is_reserved,
                each_move_changes_exactly_its_counts,
                a_move_without_a_stock_level_is_refused_and_creates_nothing,
                taking_more_than_available_is_refused_with_the_count_and_changes_nothing,
                releasing_more_than_reserved_is_refused_with_the_count_and_changes_nothing,
                a_level_with_reservations_cannot_be_deleted,
                listing_stock_pages_through_every_level_in_product_order,
                sixty_concurrent_decrements_of_one_on_stock_twenty_give_exactly_twenty_successes,
                releases_racing_reservations_never_lose_or_invent_a_unit,
            );
            contract_suite!(@cases $make; orders;
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
            contract_suite!(@cases $make; carts;
                adding_keeps_the_catalogs_name_and_price_and_the_same_product_adds_up,
                adding_a_product_not_in_the_catalog_is_refused_and_starts_no_cart,
                a_cart_refuses_a_26th_line_a_1001st_unit_and_a_second_currency_and_changes_nothing,
                setting_a_quantity_changes_the_line_and_zero_removes_it_leaving_an_empty_cart,
                deleting_a_cart_removes_it_once,
                an_expired_cart_is_gone_everywhere_and_adding_starts_it_afresh,
                fifty_concurrent_adds_of_one_to_the_same_line_end_at_fifty,
                checkout_places_the_order_at_todays_prices_and_empties_the_cart,
                checking_out_an_empty_or_unknown_cart_is_refused_and_places_nothing,
                a_short_checkout_names_every_short_product_and_leaves_cart_and_stock_as_they_were,
                a_checkout_retry_with_the_same_key_returns_the_first_answer_and_changes_nothing,
                a_checkout_racing_an_add_never_loses_the_added_unit,
                two_concurrent_checkouts_of_one_cart_place_one_order,
                two_customers_carts_of_one_id_are_two_carts_and_never_touch,
                a_checkout_key_of_one_owners_cart_is_not_replayed_for_another_owners_cart,
            );
            contract_suite!(@cases $make; notifications;
                a_notification_is_recorded_once_and_a_replay_gets_the_first_record_back,
                concurrent_records_of_one_id_keep_one_notification,
                marking_an_unrecorded_notification_sent_fails_and_records_nothing,
                notifications_list_newest_first_by_every_filter_page_by_page,
            );
        }
    };
    (@cases $make:path; $module:ident; $($case:ident),* $(,)?) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $case() {
                    crate::$module::$case($make().await).await;
                }
            )*
        }
    };
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

contract_suite!(sqlite, crate::stores::sqlite);
contract_suite!(dynamodb, crate::stores::dynamodb);
