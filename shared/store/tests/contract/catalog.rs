//! The catalog port's contract: products, their replacement and price history, pages.

use std::sync::Arc;

use chrono::Duration;
use stockroom_domain::Price;
use stockroom_domain::catalog::{Category, PriceChange, Product};
use stockroom_domain::page::{Cursor, Limit};
use stockroom_store::Store;
use stockroom_store::catalog::{CatalogStore, ProductQuery, WriteError};
use stockroom_store::testing::build::{details, id};

use crate::{product, t0};

/// The catalog port of the first handle: the catalog cases need only one.
fn catalog(stores: &[Store]) -> Arc<dyn CatalogStore> {
    stores[0].catalog().unwrap()
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

contract!(
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
