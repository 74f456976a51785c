//! The inventory port's contract cases (run by `contract_suite!` on both adapters).

use std::sync::Arc;

use chrono::Duration;
use stockroom_domain::inventory::{Available, Quantity, StockMove};
use stockroom_domain::page::{Cursor, Limit};
use stockroom_store::Store;
use stockroom_store::inventory::{InventoryStore, StockError, StockQuery};

use crate::{counts, id, product, t0};

fn inventory(stores: &[Store]) -> Arc<dyn InventoryStore> {
    stores[0].inventory().unwrap()
}

fn available(n: i64) -> Available {
    Available::new(n).unwrap()
}

fn qty(n: i64) -> Quantity {
    Quantity::new(n).unwrap()
}

/// Puts `sku` in the catalog and sets its stock to `units` available.
async fn stocked(stores: &[Store], sku: &str, units: i64) {
    crate::stocked(stores, sku, 100, Some(units)).await;
}

pub async fn setting_stock_for_a_catalog_product_creates_its_level(stores: Vec<Store>) {
    stocked(&stores, "mug", 7).await;
    let level = inventory(&stores)
        .get_stock(&id("mug"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            level.product_id.as_str(),
            level.available,
            level.reserved,
            level.updated_at
        ),
        ("mug", 7, 0, t0())
    );
}

pub async fn setting_stock_for_a_product_not_in_the_catalog_is_refused_and_creates_nothing(
    stores: Vec<Store>,
) {
    let err = inventory(&stores)
        .set_stock(&id("ghost"), available(5), None, t0())
        .await
        .unwrap_err();
    assert!(matches!(err, StockError::UnknownProduct(_)), "{err:?}");
    assert_eq!(counts(&stores, "ghost").await, None);
}

pub async fn setting_stock_again_keeps_what_is_reserved(stores: Vec<Store>) {
    stocked(&stores, "mug", 10).await;
    let store = inventory(&stores);
    store
        .move_stock(&id("mug"), StockMove::Reserve, qty(4), t0())
        .await
        .unwrap();
    let later = t0() + Duration::minutes(1);
    let level = store
        .set_stock(&id("mug"), available(50), None, later)
        .await
        .unwrap();
    assert_eq!(
        (level.available, level.reserved, level.updated_at),
        (50, 4, later)
    );
    assert_eq!(counts(&stores, "mug").await, Some((50, 4)));
}

pub async fn each_move_changes_exactly_its_counts(stores: Vec<Store>) {
    stocked(&stores, "mug", 10).await;
    let store = inventory(&stores);
    let steps = [
        (StockMove::Decrement, 3, (7, 0)),
        (StockMove::Reserve, 5, (2, 5)),
        (StockMove::Release, 2, (4, 3)),
        (StockMove::Decrement, 4, (0, 3)),
        (StockMove::Release, 3, (3, 0)),
    ];
    for (minutes, (mv, quantity, expected)) in (1..).zip(steps) {
        let at = t0() + Duration::minutes(minutes);
        let level = store
            .move_stock(&id("mug"), mv, qty(quantity), at)
            .await
            .unwrap();
        assert_eq!(
            (level.available, level.reserved),
            expected,
            "{mv:?} {quantity}"
        );
        assert_eq!(level.updated_at, at);
        assert_eq!(counts(&stores, "mug").await, Some(expected));
    }
}

pub async fn a_move_without_a_stock_level_is_refused_and_creates_nothing(stores: Vec<Store>) {
    // In the catalog, but never stocked.
    stores[0]
        .catalog()
        .unwrap()
        .create_product(&product("mug", 100, None))
        .await
        .unwrap();
    let store = inventory(&stores);
    for mv in [StockMove::Decrement, StockMove::Reserve, StockMove::Release] {
        let err = store
            .move_stock(&id("mug"), mv, qty(1), t0())
            .await
            .unwrap_err();
        assert!(
            matches!(err, StockError::NoStockLevel(_)),
            "{mv:?}: {err:?}"
        );
    }
    let err = store.delete_stock(&id("mug")).await.unwrap_err();
    assert!(matches!(err, StockError::NoStockLevel(_)), "{err:?}");
    assert_eq!(counts(&stores, "mug").await, None);
}

pub async fn taking_more_than_available_is_refused_with_the_count_and_changes_nothing(
    stores: Vec<Store>,
) {
    stocked(&stores, "mug", 3).await;
    let store = inventory(&stores);
    for mv in [StockMove::Decrement, StockMove::Reserve] {
        let err = store
            .move_stock(&id("mug"), mv, qty(4), t0())
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                StockError::InsufficientAvailable {
                    available: 3,
                    requested: 4,
                    ..
                }
            ),
            "{mv:?}: {err:?}"
        );
    }
    assert_eq!(counts(&stores, "mug").await, Some((3, 0)));
}

pub async fn releasing_more_than_reserved_is_refused_with_the_count_and_changes_nothing(
    stores: Vec<Store>,
) {
    stocked(&stores, "mug", 10).await;
    let store = inventory(&stores);
    store
        .move_stock(&id("mug"), StockMove::Reserve, qty(2), t0())
        .await
        .unwrap();
    let err = store
        .move_stock(&id("mug"), StockMove::Release, qty(3), t0())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StockError::InsufficientReserved {
                reserved: 2,
                requested: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(counts(&stores, "mug").await, Some((8, 2)));
}

pub async fn a_level_with_reservations_cannot_be_deleted(stores: Vec<Store>) {
    stocked(&stores, "mug", 10).await;
    let store = inventory(&stores);
    store
        .move_stock(&id("mug"), StockMove::Reserve, qty(2), t0())
        .await
        .unwrap();
    let err = store.delete_stock(&id("mug")).await.unwrap_err();
    assert!(
        matches!(err, StockError::StillReserved { reserved: 2, .. }),
        "{err:?}"
    );
    assert_eq!(counts(&stores, "mug").await, Some((8, 2)));

    store
        .move_stock(&id("mug"), StockMove::Release, qty(2), t0())
        .await
        .unwrap();
    let deleted = store.delete_stock(&id("mug")).await.unwrap();
    assert_eq!((deleted.available, deleted.reserved), (10, 0));
    assert_eq!(counts(&stores, "mug").await, None);
    let err = store.delete_stock(&id("mug")).await.unwrap_err();
    assert!(matches!(err, StockError::NoStockLevel(_)), "{err:?}");
}

pub async fn listing_stock_pages_through_every_level_in_product_order(stores: Vec<Store>) {
    let mut expected: Vec<String> = (0..5).map(|i| format!("s{i}")).collect();
    for sku in expected.iter().rev() {
        stocked(&stores, sku, 1).await;
    }
    // A product without a level is not listed.
    stores[0]
        .catalog()
        .unwrap()
        .create_product(&product("unstocked", 1, None))
        .await
        .unwrap();
    expected.sort();
    let store = inventory(&stores);
    let mut seen = Vec::new();
    let mut after = None;
    let mut pages = 0;
    loop {
        let query = StockQuery {
            limit: Limit::parse("2").unwrap(),
            after,
        };
        let page = store.list_stock(&query).await.unwrap();
        pages += 1;
        seen.extend(page.items.iter().map(|l| l.product_id.to_string()));
        match page.next_cursor {
            Some(token) => after = Some(Cursor::decode(&token).unwrap().into_last()),
            None => break,
        }
    }
    assert_eq!(seen, expected);
    assert_eq!(pages, 3);
}

pub async fn sixty_concurrent_decrements_of_one_on_stock_twenty_give_exactly_twenty_successes(
    stores: Vec<Store>,
) {
    stocked(&stores, "hot", 20).await;
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            // Spread over the handles: on SQLite, three connections to the file.
            let store = stores[i % stores.len()].inventory().unwrap();
            tokio::spawn(async move {
                store
                    .move_stock(&id("hot"), StockMove::Decrement, qty(1), t0())
                    .await
            })
        })
        .collect();
    let (mut ok, mut insufficient) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(level) => {
                assert!(level.available < 20);
                ok += 1;
            }
            Err(StockError::InsufficientAvailable { available: 0, .. }) => insufficient += 1,
            Err(other) => panic!("unexpected failure: {other:?}"),
        }
    }
    assert_eq!((ok, insufficient), (20, 40));
    assert_eq!(counts(&stores, "hot").await, Some((0, 0)));
}

pub async fn releases_racing_reservations_never_lose_or_invent_a_unit(stores: Vec<Store>) {
    stocked(&stores, "hot", 5).await;
    inventory(&stores)
        .move_stock(&id("hot"), StockMove::Reserve, qty(3), t0())
        .await
        .unwrap();
    // 2 available, 3 reserved: 20 reservations and 20 releases of 1, interleaved.
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = stores[i % stores.len()].inventory().unwrap();
            let mv = if i % 2 == 0 {
                StockMove::Reserve
            } else {
                StockMove::Release
            };
            tokio::spawn(async move { (mv, store.move_stock(&id("hot"), mv, qty(1), t0()).await) })
        })
        .collect();
    let (mut reserves, mut releases) = (0_u64, 0_u64);
    for task in tasks {
        match task.await.unwrap() {
            (mv, Ok(level)) => {
                assert_eq!(level.available + level.reserved, 5, "{level:?}");
                match mv {
                    StockMove::Reserve => reserves += 1,
                    _ => releases += 1,
                }
            }
            (
                _,
                Err(
                    StockError::InsufficientAvailable { .. }
                    | StockError::InsufficientReserved { .. },
                ),
            ) => {}
            (mv, Err(other)) => panic!("{mv:?}: unexpected failure: {other:?}"),
        }
    }
    let (available, reserved) = counts(&stores, "hot").await.unwrap();
    // Every unit is somewhere, and the reserved count is exactly what the successes say.
    assert_eq!(available + reserved, 5);
    assert_eq!(reserved, 3 + reserves - releases);
}

contract!(
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
