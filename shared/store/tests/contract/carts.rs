//! The carts port's contract cases (run by `contract_suite!` on both adapters).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use stockroom_domain::carts::{CART_TTL_DAYS, Cart, CartConflict, CartId};
use stockroom_domain::inventory::Quantity;
use stockroom_domain::orders::{CustomerId, IdempotencyKey, OrderId};
use stockroom_store::Store;
use stockroom_store::carts::{AddToCart, CartError, CartsStore, CheckoutCart, CheckoutError};
use stockroom_store::orders::{OrderError, Shortage};

use stockroom_store::testing::build::details;

use crate::{counts, id, priced_in, stocked, t0};

fn carts(stores: &[Store]) -> Arc<dyn CartsStore> {
    stores[0].carts().unwrap()
}

fn cart_id(s: &str) -> CartId {
    CartId::parse(s).unwrap()
}

/// The customer whose carts the cases use, unless they say otherwise.
fn ada() -> CustomerId {
    CustomerId::parse("ada").unwrap()
}

fn add_at(cart: &str, sku: &str, quantity: i64, now: DateTime<Utc>) -> AddToCart {
    AddToCart {
        owner: ada(),
        cart_id: cart_id(cart),
        product_id: id(sku),
        quantity: Quantity::new(quantity).unwrap(),
        now,
    }
}

fn add(cart: &str, sku: &str, quantity: i64) -> AddToCart {
    add_at(cart, sku, quantity, t0())
}

fn checkout_at(cart: &str, key: Option<&str>, now: DateTime<Utc>) -> CheckoutCart {
    CheckoutCart {
        owner: ada(),
        cart_id: cart_id(cart),
        customer_id: ada(),
        order_id: OrderId::at(now),
        key: key.map(|k| IdempotencyKey::parse(k).unwrap()),
        now,
    }
}

fn checkout(cart: &str, key: Option<&str>) -> CheckoutCart {
    checkout_at(cart, key, t0())
}

/// `(product, quantity)` of every line of the live cart, `None` when it has none.
async fn lines(stores: &[Store], cart: &str) -> Option<Vec<(String, u64)>> {
    carts(stores)
        .get_cart(&ada(), &cart_id(cart), t0())
        .await
        .unwrap()
        .map(|c| quantities(&c))
}

fn quantities(cart: &Cart) -> Vec<(String, u64)> {
    cart.lines
        .iter()
        .map(|l| (l.product_id.to_string(), l.quantity))
        .collect()
}

fn pairs(lines: &[(&str, u64)]) -> Vec<(String, u64)> {
    lines.iter().map(|(p, q)| ((*p).to_owned(), *q)).collect()
}

/// Every order `ada` has, as `(product, quantity)` lines.
async fn ada_orders(stores: &[Store]) -> Vec<Vec<(String, u64)>> {
    let query = stockroom_store::orders::OrderQuery {
        customer_id: CustomerId::parse("ada").unwrap(),
        limit: stockroom_domain::page::Limit::parse("100").unwrap(),
        after: None,
    };
    stores[0]
        .orders()
        .unwrap()
        .list_orders(&query)
        .await
        .unwrap()
        .items
        .iter()
        .map(|o| {
            o.items
                .iter()
                .map(|l| (l.product_id.to_string(), l.quantity))
                .collect()
        })
        .collect()
}

pub async fn adding_keeps_the_catalogs_name_and_price_and_the_same_product_adds_up(
    stores: Vec<Store>,
) {
    stocked(&stores, "mug", 1250, Some(10)).await;
    stocked(&stores, "kettle", 4999, None).await;
    let store = carts(&stores);
    store.add_to_cart(&add("c1", "mug", 2)).await.unwrap();
    store.add_to_cart(&add("c1", "kettle", 1)).await.unwrap();
    let later = t0() + Duration::days(3);
    let cart = store
        .add_to_cart(&add_at("c1", "mug", 3, later))
        .await
        .unwrap();
    assert_eq!(quantities(&cart), pairs(&[("kettle", 1), ("mug", 5)]));
    let mug = cart.line(&id("mug")).unwrap();
    assert_eq!(mug.name, "mug");
    assert_eq!(mug.unit_price.minor_units(), 1250);
    assert_eq!(cart.updated_at, later);
    assert_eq!(cart.expires_at(), later + Duration::days(CART_TTL_DAYS));
    let read = store
        .get_cart(&ada(), &cart_id("c1"), later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, cart);
    let json = serde_json::to_value(&read).unwrap();
    assert_eq!(json["subtotal"], 5 * 1250 + 4999);
    // A cart does not touch stock until checkout.
    assert_eq!(counts(&stores, "mug").await, Some((10, 0)));
}

pub async fn adding_a_product_not_in_the_catalog_is_refused_and_starts_no_cart(stores: Vec<Store>) {
    let err = carts(&stores)
        .add_to_cart(&add("c1", "ghost", 1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CartError::UnknownProduct(ref p) if p.as_str() == "ghost"),
        "{err:?}"
    );
    assert_eq!(lines(&stores, "c1").await, None);
}

pub async fn a_cart_refuses_a_26th_line_a_1001st_unit_and_a_second_currency_and_changes_nothing(
    stores: Vec<Store>,
) {
    let store = carts(&stores);
    for i in 0..26 {
        stocked(&stores, &format!("p{i:02}"), 100, None).await;
    }
    for i in 0..25 {
        store
            .add_to_cart(&add("c1", &format!("p{i:02}"), 1))
            .await
            .unwrap();
    }
    let before = lines(&stores, "c1").await;
    let err = store.add_to_cart(&add("c1", "p25", 1)).await.unwrap_err();
    assert!(
        matches!(err, CartError::Conflict(CartConflict::TooManyLines { .. })),
        "{err:?}"
    );
    let err = store
        .add_to_cart(&add("c1", "p00", 1000))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CartError::Conflict(CartConflict::TooManyUnits {
                have: 1,
                adding: 1000,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(lines(&stores, "c1").await, before);
    // A new line beyond the limit on its own.
    let err = store
        .add_to_cart(&add("c3", "p00", 1001))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            CartError::Conflict(CartConflict::TooManyUnits {
                have: 0,
                adding: 1001,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(lines(&stores, "c3").await, None);
    store.add_to_cart(&add("c1", "p00", 999)).await.unwrap();
    assert_eq!(
        store
            .get_cart(&ada(), &cart_id("c1"), t0())
            .await
            .unwrap()
            .unwrap()
            .lines[0]
            .quantity,
        1000
    );

    priced_in(&stores, "tea", 300, "EUR").await;
    store.add_to_cart(&add("c2", "p00", 1)).await.unwrap();
    let err = store.add_to_cart(&add("c2", "tea", 1)).await.unwrap_err();
    assert!(
        matches!(
            err,
            CartError::Conflict(CartConflict::CurrencyMismatch { .. })
        ),
        "{err:?}"
    );
    assert_eq!(lines(&stores, "c2").await, Some(pairs(&[("p00", 1)])));
    // Empty again, the cart takes another currency.
    store
        .set_cart_quantity(&ada(), &cart_id("c2"), &id("p00"), 0, t0())
        .await
        .unwrap();
    store.add_to_cart(&add("c2", "tea", 1)).await.unwrap();
    assert_eq!(lines(&stores, "c2").await, Some(pairs(&[("tea", 1)])));
}

pub async fn setting_a_quantity_changes_the_line_and_zero_removes_it_leaving_an_empty_cart(
    stores: Vec<Store>,
) {
    stocked(&stores, "mug", 100, None).await;
    stocked(&stores, "pen", 100, None).await;
    let store = carts(&stores);
    store.add_to_cart(&add("c1", "mug", 2)).await.unwrap();
    store.add_to_cart(&add("c1", "pen", 1)).await.unwrap();
    let cart = store
        .set_cart_quantity(&ada(), &cart_id("c1"), &id("mug"), 7, t0())
        .await
        .unwrap();
    assert_eq!(quantities(&cart), pairs(&[("mug", 7), ("pen", 1)]));
    let cart = store
        .set_cart_quantity(&ada(), &cart_id("c1"), &id("pen"), 0, t0())
        .await
        .unwrap();
    assert_eq!(quantities(&cart), pairs(&[("mug", 7)]));
    let err = store
        .set_cart_quantity(&ada(), &cart_id("c1"), &id("pen"), 0, t0())
        .await
        .unwrap_err();
    assert!(matches!(err, CartError::NoLine { .. }), "{err:?}");
    let err = store
        .set_cart_quantity(&ada(), &cart_id("c1"), &id("pen"), 3, t0())
        .await
        .unwrap_err();
    assert!(matches!(err, CartError::NoLine { .. }), "{err:?}");
    let cart = store
        .set_cart_quantity(&ada(), &cart_id("c1"), &id("mug"), 0, t0())
        .await
        .unwrap();
    assert!(cart.lines.is_empty());
    assert_eq!(lines(&stores, "c1").await, Some(vec![]));
    let err = store
        .set_cart_quantity(&ada(), &cart_id("nope"), &id("mug"), 1, t0())
        .await
        .unwrap_err();
    assert!(matches!(err, CartError::NotFound(_)), "{err:?}");
}

pub async fn deleting_a_cart_removes_it_once(stores: Vec<Store>) {
    stocked(&stores, "mug", 100, None).await;
    let store = carts(&stores);
    store.add_to_cart(&add("c1", "mug", 2)).await.unwrap();
    store
        .delete_cart(&ada(), &cart_id("c1"), t0())
        .await
        .unwrap();
    assert_eq!(lines(&stores, "c1").await, None);
    let err = store
        .delete_cart(&ada(), &cart_id("c1"), t0())
        .await
        .unwrap_err();
    assert!(matches!(err, CartError::NotFound(_)), "{err:?}");
    // The id can be used again, and starts empty.
    let cart = store.add_to_cart(&add("c1", "mug", 1)).await.unwrap();
    assert_eq!(quantities(&cart), pairs(&[("mug", 1)]));
}

pub async fn an_expired_cart_is_gone_everywhere_and_adding_starts_it_afresh(stores: Vec<Store>) {
    stocked(&stores, "mug", 100, Some(10)).await;
    stocked(&stores, "pen", 100, Some(10)).await;
    let store = carts(&stores);
    store.add_to_cart(&add("c1", "mug", 2)).await.unwrap();
    let last_second = t0() + Duration::days(CART_TTL_DAYS) - Duration::seconds(1);
    assert!(
        store
            .get_cart(&ada(), &cart_id("c1"), last_second)
            .await
            .unwrap()
            .is_some()
    );
    let expired = t0() + Duration::days(CART_TTL_DAYS);
    assert_eq!(
        store
            .get_cart(&ada(), &cart_id("c1"), expired)
            .await
            .unwrap(),
        None
    );
    let err = store
        .set_cart_quantity(&ada(), &cart_id("c1"), &id("mug"), 1, expired)
        .await
        .unwrap_err();
    assert!(matches!(err, CartError::NotFound(_)), "{err:?}");
    let err = store
        .delete_cart(&ada(), &cart_id("c1"), expired)
        .await
        .unwrap_err();
    assert!(matches!(err, CartError::NotFound(_)), "{err:?}");
    let err = store
        .checkout(&checkout_at("c1", None, expired))
        .await
        .unwrap_err();
    assert!(matches!(err, CheckoutError::NotFound(_)), "{err:?}");
    let cart = store
        .add_to_cart(&add_at("c1", "pen", 1, expired))
        .await
        .unwrap();
    assert_eq!(quantities(&cart), pairs(&[("pen", 1)]));
    assert_eq!(cart.expires_at(), expired + Duration::days(CART_TTL_DAYS));
    assert_eq!(counts(&stores, "mug").await, Some((10, 0)));
}

pub async fn fifty_concurrent_adds_of_one_to_the_same_line_end_at_fifty(stores: Vec<Store>) {
    stocked(&stores, "mug", 100, None).await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = stores[i % stores.len()].carts().unwrap();
            tokio::spawn(async move { store.add_to_cart(&add("c1", "mug", 1)).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let cart = carts(&stores)
        .get_cart(&ada(), &cart_id("c1"), t0())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(quantities(&cart), pairs(&[("mug", 50)]));
    assert_eq!(cart.version, 50);
}

pub async fn checkout_places_the_order_at_todays_prices_and_empties_the_cart(stores: Vec<Store>) {
    stocked(&stores, "mug", 1250, Some(10)).await;
    stocked(&stores, "pen", 300, Some(10)).await;
    let store = carts(&stores);
    store.add_to_cart(&add("c1", "mug", 2)).await.unwrap();
    store.add_to_cart(&add("c1", "pen", 3)).await.unwrap();
    stores[0]
        .catalog()
        .unwrap()
        .replace_product(&id("mug"), details("mug", 1300, None), t0())
        .await
        .unwrap();
    let done = store.checkout(&checkout("c1", None)).await.unwrap();
    assert!(!done.replayed);
    let order = &done.answer.order;
    assert_eq!(order.total, 2 * 1300 + 3 * 300);
    assert_eq!(done.answer.price_changes.len(), 1);
    let change = &done.answer.price_changes[0];
    assert_eq!(change.product_id.as_str(), "mug");
    assert_eq!(
        (
            change.cart_unit_price.minor_units(),
            change.unit_price.minor_units()
        ),
        (1250, 1300)
    );
    assert_eq!(counts(&stores, "mug").await, Some((8, 2)));
    assert_eq!(counts(&stores, "pen").await, Some((7, 3)));
    assert_eq!(lines(&stores, "c1").await, Some(vec![]));
    assert_eq!(
        stores[0]
            .orders()
            .unwrap()
            .get_order(&order.id)
            .await
            .unwrap()
            .as_ref(),
        Some(order)
    );
}

pub async fn checking_out_an_empty_or_unknown_cart_is_refused_and_places_nothing(
    stores: Vec<Store>,
) {
    stocked(&stores, "mug", 100, Some(10)).await;
    let store = carts(&stores);
    let err = store.checkout(&checkout("nope", None)).await.unwrap_err();
    assert!(matches!(err, CheckoutError::NotFound(_)), "{err:?}");
    store.add_to_cart(&add("c1", "mug", 1)).await.unwrap();
    store
        .set_cart_quantity(&ada(), &cart_id("c1"), &id("mug"), 0, t0())
        .await
        .unwrap();
    let err = store
        .checkout(&checkout("c1", Some("k1")))
        .await
        .unwrap_err();
    assert!(matches!(err, CheckoutError::Empty(_)), "{err:?}");
    assert!(ada_orders(&stores).await.is_empty());
}

pub async fn a_short_checkout_names_every_short_product_and_leaves_cart_and_stock_as_they_were(
    stores: Vec<Store>,
) {
    stocked(&stores, "mug", 100, Some(1)).await;
    stocked(&stores, "pen", 100, Some(10)).await;
    stocked(&stores, "lamp", 100, None).await;
    let store = carts(&stores);
    for (sku, q) in [("mug", 2), ("pen", 3), ("lamp", 1)] {
        store.add_to_cart(&add("c1", sku, q)).await.unwrap();
    }
    let before = lines(&stores, "c1").await;
    let err = store
        .checkout(&checkout("c1", Some("k1")))
        .await
        .unwrap_err();
    let CheckoutError::Order(OrderError::InsufficientStock(mut short)) = err else {
        panic!("unexpected {err:?}");
    };
    short.sort_by(|a, b| a.product_id.cmp(&b.product_id));
    let shortage = |sku: &str, have, requested| Shortage {
        product_id: id(sku),
        have,
        requested,
    };
    assert_eq!(short, [shortage("lamp", 0, 1), shortage("mug", 1, 2)]);
    assert_eq!(lines(&stores, "c1").await, before);
    assert_eq!(counts(&stores, "mug").await, Some((1, 0)));
    assert_eq!(counts(&stores, "pen").await, Some((10, 0)));
    assert!(ada_orders(&stores).await.is_empty());
    // The key was not used up by the failure.
    store
        .set_cart_quantity(&ada(), &cart_id("c1"), &id("mug"), 1, t0())
        .await
        .unwrap();
    store
        .set_cart_quantity(&ada(), &cart_id("c1"), &id("lamp"), 0, t0())
        .await
        .unwrap();
    let done = store.checkout(&checkout("c1", Some("k1"))).await.unwrap();
    assert!(!done.replayed);
}

pub async fn a_checkout_retry_with_the_same_key_returns_the_first_answer_and_changes_nothing(
    stores: Vec<Store>,
) {
    stocked(&stores, "mug", 100, Some(10)).await;
    let store = carts(&stores);
    store.add_to_cart(&add("c1", "mug", 2)).await.unwrap();
    let first = store.checkout(&checkout("c1", Some("k1"))).await.unwrap();
    // The retry finds the cart emptied by the first: the key's answer wins.
    let retry = store.checkout(&checkout("c1", Some("k1"))).await.unwrap();
    assert!(retry.replayed);
    assert_eq!(retry.answer, first.answer);
    // Even after something was added again, the retry changes nothing.
    store.add_to_cart(&add("c1", "mug", 1)).await.unwrap();
    let retry = store.checkout(&checkout("c1", Some("k1"))).await.unwrap();
    assert_eq!(retry.answer, first.answer);
    assert_eq!(lines(&stores, "c1").await, Some(pairs(&[("mug", 1)])));
    assert_eq!(counts(&stores, "mug").await, Some((8, 2)));
    assert_eq!(ada_orders(&stores).await.len(), 1);
    // The same key for another cart is another request.
    store.add_to_cart(&add("c2", "mug", 1)).await.unwrap();
    let err = store
        .checkout(&checkout("c2", Some("k1")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CheckoutError::Order(OrderError::KeyReused)),
        "{err:?}"
    );
    assert_eq!(lines(&stores, "c2").await, Some(pairs(&[("mug", 1)])));
}

pub async fn a_checkout_racing_an_add_never_loses_the_added_unit(stores: Vec<Store>) {
    stocked(&stores, "mug", 100, Some(1000)).await;
    let (mut included, mut after, mut changed) = (0, 0, 0);
    for round in 0..10 {
        let cart = format!("race-{round}");
        carts(&stores)
            .add_to_cart(&add(&cart, "mug", 2))
            .await
            .unwrap();
        let (checking, adding) = (stores[1].carts().unwrap(), stores[2].carts().unwrap());
        let (c, a) = (cart.clone(), cart.clone());
        let checkout = tokio::spawn(async move { checking.checkout(&checkout(&c, None)).await });
        let added = tokio::spawn(async move { adding.add_to_cart(&add(&a, "mug", 1)).await });
        added.await.unwrap().unwrap();
        let checked_out = checkout.await.unwrap();
        let left = lines(&stores, &cart).await.unwrap();
        let left = left.first().map_or(0, |l| l.1);
        match checked_out {
            Ok(done) => {
                let ordered = done.answer.order.items[0].quantity;
                assert_eq!(
                    ordered + left,
                    3,
                    "round {round}: ordered {ordered}, left {left}"
                );
                if ordered == 3 {
                    included += 1;
                } else {
                    after += 1;
                }
            }
            Err(CheckoutError::Changed(_)) => {
                assert_eq!(
                    left, 3,
                    "round {round}: a failed checkout left the cart at {left}"
                );
                changed += 1;
            }
            Err(other) => panic!("round {round}: unexpected {other:?}"),
        }
    }
    let ordered: u64 = ada_orders(&stores).await.iter().map(|o| o[0].1).sum();
    assert_eq!(
        counts(&stores, "mug").await,
        Some((1000 - ordered, ordered))
    );
    assert_eq!(included + after + changed, 10);
    println!(
        "checkout racing an add, 10 rounds: the unit ordered {included}, added after the \
         checkout {after}, checkout refused as changed {changed}"
    );
}

pub async fn two_concurrent_checkouts_of_one_cart_place_one_order(stores: Vec<Store>) {
    stocked(&stores, "mug", 100, Some(10)).await;
    carts(&stores)
        .add_to_cart(&add("c1", "mug", 2))
        .await
        .unwrap();
    let tasks: Vec<_> = (1..3)
        .map(|i| {
            let store = stores[i].carts().unwrap();
            tokio::spawn(async move { store.checkout(&checkout("c1", None)).await })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    for err in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(err, CheckoutError::Empty(_) | CheckoutError::Changed(_)),
            "{err:?}"
        );
    }
    assert_eq!(ada_orders(&stores).await.len(), 1);
    assert_eq!(counts(&stores, "mug").await, Some((8, 2)));
    assert_eq!(lines(&stores, "c1").await, Some(vec![]));
}

fn customer(s: &str) -> CustomerId {
    CustomerId::parse(s).unwrap()
}

/// `(product, quantity)` of every line of `owner`'s live cart `cart`.
async fn lines_of(stores: &[Store], owner: &str, cart: &str) -> Option<Vec<(String, u64)>> {
    carts(stores)
        .get_cart(&customer(owner), &cart_id(cart), t0())
        .await
        .unwrap()
        .map(|c| quantities(&c))
}

pub async fn two_customers_carts_of_one_id_are_two_carts_and_never_touch(stores: Vec<Store>) {
    stocked(&stores, "mug", 100, Some(10)).await;
    stocked(&stores, "kettle", 4000, Some(10)).await;
    let store = carts(&stores);
    let as_owner = |owner: &str, sku: &str, quantity: i64| AddToCart {
        owner: customer(owner),
        ..add("c1", sku, quantity)
    };
    store.add_to_cart(&as_owner("ada", "mug", 2)).await.unwrap();
    // Bob has no cart c1: changing, deleting and checking it out find nothing.
    assert_eq!(lines_of(&stores, "bob", "c1").await, None);
    let err = store
        .set_cart_quantity(&customer("bob"), &cart_id("c1"), &id("mug"), 9, t0())
        .await
        .unwrap_err();
    assert!(matches!(err, CartError::NotFound(_)), "{err:?}");
    let err = store
        .delete_cart(&customer("bob"), &cart_id("c1"), t0())
        .await
        .unwrap_err();
    assert!(matches!(err, CartError::NotFound(_)), "{err:?}");
    let bobs_checkout = CheckoutCart {
        owner: customer("bob"),
        customer_id: customer("bob"),
        ..checkout("c1", None)
    };
    let err = store.checkout(&bobs_checkout).await.unwrap_err();
    assert!(matches!(err, CheckoutError::NotFound(_)), "{err:?}");
    // Bob's add starts Bob's own c1; his checkout and deletion leave Ada's as it was.
    let bobs = store
        .add_to_cart(&as_owner("bob", "kettle", 1))
        .await
        .unwrap();
    assert_eq!(bobs.owner, customer("bob"));
    assert_eq!(quantities(&bobs), pairs(&[("kettle", 1)]));
    store.checkout(&bobs_checkout).await.unwrap();
    store
        .delete_cart(&customer("bob"), &cart_id("c1"), t0())
        .await
        .unwrap();
    assert_eq!(lines_of(&stores, "bob", "c1").await, None);
    assert_eq!(
        lines_of(&stores, "ada", "c1").await,
        Some(pairs(&[("mug", 2)]))
    );
    assert_eq!(counts(&stores, "mug").await, Some((10, 0)));
    assert_eq!(counts(&stores, "kettle").await, Some((9, 1)));
}

pub async fn a_checkout_key_of_one_owners_cart_is_not_replayed_for_another_owners_cart(
    stores: Vec<Store>,
) {
    stocked(&stores, "mug", 100, Some(10)).await;
    let store = carts(&stores);
    // An administrator checks their own cart c1 out for Ada with key k1...
    store
        .add_to_cart(&AddToCart {
            owner: customer("ops"),
            ..add("c1", "mug", 3)
        })
        .await
        .unwrap();
    let for_ada = store
        .checkout(&CheckoutCart {
            owner: customer("ops"),
            ..checkout("c1", Some("k1"))
        })
        .await
        .unwrap();
    assert_eq!(for_ada.answer.order.customer_id, ada());
    // ...and Ada's own cart c1 with the same key is another checkout, not that one replayed.
    store.add_to_cart(&add("c1", "mug", 1)).await.unwrap();
    let err = store
        .checkout(&checkout("c1", Some("k1")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CheckoutError::Order(OrderError::KeyReused)),
        "{err:?}"
    );
    assert_eq!(lines(&stores, "c1").await, Some(pairs(&[("mug", 1)])));
    let own = store.checkout(&checkout("c1", Some("k2"))).await.unwrap();
    assert!(!own.replayed);
    assert_eq!(counts(&stores, "mug").await, Some((6, 4)));
}

contract!(
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
