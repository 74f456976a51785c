//! The notifications port's contract cases (run by `contract_suite!` on both adapters).

use std::sync::Arc;

use chrono::Duration;
use stockroom_domain::notifications::{Delivery, Notification, NotificationId, NotificationKind};
use stockroom_domain::orders::{CustomerId, OrderId};
use stockroom_domain::page::{Cursor, Limit};
use stockroom_store::Store;
use stockroom_store::notifications::{NotificationQuery, NotificationsStore};

use crate::{id, t0};

fn notifications(stores: &[Store]) -> Arc<dyn NotificationsStore> {
    stores[0].notifications().unwrap()
}

/// The `kind` notification about order `order`, made `minutes` after t0.
fn about_order(kind: NotificationKind, order: &str, minutes: i64) -> Notification {
    let order = OrderId::parse(order).unwrap();
    Notification {
        id: NotificationId::for_order(kind, &order),
        kind,
        order_id: Some(order),
        customer_id: Some(CustomerId::parse("cust-1").unwrap()),
        product_id: None,
        message: format!("{kind} at {minutes}"),
        status: Delivery::Pending,
        created_at: t0() + Duration::minutes(minutes),
        sent_at: None,
    }
}

/// A low-stock alert for `sku` from stream record `sequence`, made `minutes` after t0.
fn low_stock(sku: &str, sequence: &str, minutes: i64) -> Notification {
    Notification::low_stock(&id(sku), 9, 10, sequence, t0() + Duration::minutes(minutes)).unwrap()
}

/// Every page of `query` (with `limit`), and how many pages it took.
async fn all_pages(
    store: &dyn NotificationsStore,
    mut query: NotificationQuery,
    limit: &str,
) -> (Vec<String>, usize) {
    query.limit = Limit::parse(limit).unwrap();
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let page = store.list_notifications(&query).await.unwrap();
        pages += 1;
        ids.extend(page.items.iter().map(|n| n.id.to_string()));
        match page.next_cursor {
            Some(token) => query.after = Some(Cursor::decode(&token).unwrap().into_last()),
            None => return (ids, pages),
        }
    }
}

pub async fn a_notification_is_recorded_once_and_a_replay_gets_the_first_record_back(
    stores: Vec<Store>,
) {
    let store = notifications(&stores);
    let first = about_order(NotificationKind::OrderConfirmation, "order-1", 0);
    assert_eq!(store.record(&first).await.unwrap(), first);

    // A replay makes the same id later: it gets the first record, still pending.
    let replay = about_order(NotificationKind::OrderConfirmation, "order-1", 5);
    assert_eq!(store.record(&replay).await.unwrap(), first);

    let sent_at = t0() + Duration::minutes(1);
    store.mark_sent(&first.id, sent_at).await.unwrap();
    let after_send = stores[1]
        .notifications()
        .unwrap()
        .record(&replay)
        .await
        .unwrap();
    assert_eq!(after_send.status, Delivery::Sent);
    assert_eq!(after_send.sent_at, Some(sent_at));
    assert_eq!(after_send.created_at, first.created_at);

    let (listed, _) = all_pages(&*store, NotificationQuery::default(), "50").await;
    assert_eq!(listed, [first.id.to_string()]);
}

pub async fn concurrent_records_of_one_id_keep_one_notification(stores: Vec<Store>) {
    let mut tasks = Vec::new();
    for i in 0..12 {
        let store = stores[i % stores.len()].notifications().unwrap();
        let n = low_stock("sku-mug", "4421584500000000017450439091", i as i64);
        tasks.push(tokio::spawn(async move { store.record(&n).await.unwrap() }));
    }
    let mut recorded = Vec::new();
    for task in tasks {
        recorded.push(task.await.unwrap());
    }
    // Every caller got the one record that won, whichever it was.
    assert!(recorded.iter().all(|n| *n == recorded[0]), "{recorded:?}");
    let (listed, _) = all_pages(&*notifications(&stores), NotificationQuery::default(), "50").await;
    assert_eq!(listed.len(), 1, "{listed:?}");
}

pub async fn marking_an_unrecorded_notification_sent_fails_and_records_nothing(stores: Vec<Store>) {
    let store = notifications(&stores);
    let n = about_order(NotificationKind::OrderShipped, "order-9", 0);
    assert!(store.mark_sent(&n.id, t0()).await.is_err());
    let (listed, _) = all_pages(&*store, NotificationQuery::default(), "50").await;
    assert!(listed.is_empty(), "{listed:?}");
}

pub async fn notifications_list_newest_first_by_every_filter_page_by_page(stores: Vec<Store>) {
    use NotificationKind as K;
    let store = notifications(&stores);
    let all = [
        about_order(K::OrderConfirmation, "order-a", 0),
        about_order(K::OrderShipped, "order-a", 1),
        about_order(K::OrderConfirmation, "order-b", 2),
        low_stock("sku-mug", "100", 3),
        about_order(K::OrderCancelled, "order-b", 4),
        low_stock("sku-mug", "205", 5),
        low_stock("sku-pen", "310", 6),
    ];
    for n in &all {
        store.record(n).await.unwrap();
    }
    let ids =
        |picks: &[usize]| -> Vec<String> { picks.iter().map(|&i| all[i].id.to_string()).collect() };
    let query = |order: Option<&str>, product: Option<&str>, kind: Option<K>| NotificationQuery {
        order_id: order.map(|o| OrderId::parse(o).unwrap()),
        product_id: product.map(id),
        kind,
        ..NotificationQuery::default()
    };

    // Everything, newest first, whatever the page size.
    for limit in ["1", "2", "3", "7", "50"] {
        let (listed, _) = all_pages(&*store, query(None, None, None), limit).await;
        assert_eq!(listed, ids(&[6, 5, 4, 3, 2, 1, 0]), "limit {limit}");
    }
    let (_, pages) = all_pages(&*store, query(None, None, None), "2").await;
    assert_eq!(pages, 4);

    // By each filter, and by two at once (the second filters what the first's index reads).
    // (order_id, product_id, kind) -> the notifications listed, by position in `all`.
    type Case<'a> = (Option<&'a str>, Option<&'a str>, Option<K>, &'a [usize]);
    let cases: &[Case] = &[
        (Some("order-a"), None, None, &[1, 0]),
        (Some("order-b"), None, None, &[4, 2]),
        (None, Some("sku-mug"), None, &[5, 3]),
        (None, None, Some(K::LowStock), &[6, 5, 3]),
        (None, None, Some(K::OrderConfirmation), &[2, 0]),
        (Some("order-b"), None, Some(K::OrderCancelled), &[4]),
        (None, Some("sku-pen"), Some(K::LowStock), &[6]),
        (Some("order-a"), None, Some(K::LowStock), &[]),
        (Some("order-a"), Some("sku-mug"), None, &[]),
        (Some("order-zzz"), None, None, &[]),
    ];
    for (order, product, kind, expected) in cases {
        for limit in ["1", "50"] {
            let (listed, _) = all_pages(&*store, query(*order, *product, *kind), limit).await;
            assert_eq!(
                listed,
                ids(expected),
                "order {order:?} product {product:?} kind {kind:?} limit {limit}"
            );
        }
    }

    // What the list shows is what was recorded.
    let page = store
        .list_notifications(&query(None, Some("sku-pen"), None))
        .await
        .unwrap();
    assert_eq!(page.items, [all[6].clone()]);
}

contract!(
    a_notification_is_recorded_once_and_a_replay_gets_the_first_record_back,
    concurrent_records_of_one_id_keep_one_notification,
    marking_an_unrecorded_notification_sent_fails_and_records_nothing,
    notifications_list_newest_first_by_every_filter_page_by_page,
);
