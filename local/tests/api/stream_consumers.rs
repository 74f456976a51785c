//! The stream consumers over real change-feed records: real writes through the store, their
//! change feed turned into the stream events Lambda delivers, handed to the consumers as often
//! as at-least-once delivery may hand them. Every notification must be recorded once and sent
//! once however often (and however broken up) its records arrive.

use std::sync::Arc;

use crate::support::{assert_sent_once, assert_shop_sent_once, recorded, shop_notifications};
use stockroom_domain::inventory::{Available, Quantity, StockMove};
use stockroom_domain::notifications::Delivery;
use stockroom_domain::orders::OrderId;
use stockroom_domain::timestamp;
use stockroom_local::feed::stream_event;
use stockroom_notifications::notifier::RecordingNotifier;
use stockroom_notifications::{Consumers, StreamConsumer};
use stockroom_store::Store;
use stockroom_store::notifications::NotificationQuery;
use stockroom_store::sqlite::SqliteStore;
use stockroom_store::tables::Table;
use stockroom_store::testing::build;

/// A store with three orders (the first takes the kettles from 12 to 9), the second shipped,
/// the third cancelled: its change feed holds every kind of record the consumers must tell
/// apart.
async fn shop() -> (Store, Vec<OrderId>) {
    let store = Store::embedded(SqliteStore::in_memory().unwrap());
    let orders =
        crate::support::shop(&store, &[("sku-kettle", 3), ("sku-mug", 1), ("sku-mug", 2)]).await;
    (store, orders)
}

/// The stream events of `table`'s change feed, `size` records each.
async fn batches(
    store: &Store,
    table: Table,
    size: usize,
) -> Vec<aws_lambda_events::event::dynamodb::Event> {
    let changes = store
        .as_sqlite()
        .unwrap()
        .changes_after(table, 0, 1000)
        .await
        .unwrap();
    changes
        .chunks(size)
        .map(|chunk| stream_event(table, chunk).unwrap())
        .collect()
}

fn consumers(store: &Store, notifier: Arc<RecordingNotifier>) -> Consumers {
    Consumers {
        store: store.notifications().unwrap(),
        notifier,
        low_stock_threshold: 10,
    }
}

#[tokio::test]
async fn every_batch_delivered_three_times_records_and_sends_each_notification_once() {
    let (store, orders) = shop().await;
    let notifier = Arc::new(RecordingNotifier::default());
    let consumers = consumers(&store, Arc::clone(&notifier));

    let mut batches_seen = 0;
    for (consumer, table) in [
        (
            StreamConsumer::OnOrderChange,
            stockroom_store::orders::TABLE,
        ),
        (
            StreamConsumer::OnStockChange,
            stockroom_store::inventory::TABLE,
        ),
    ] {
        for event in batches(&store, table, 2).await {
            for _ in 0..3 {
                let response = consumer.handle(&consumers, &event).await;
                assert!(response.batch_item_failures.is_empty(), "{response:?}");
            }
            batches_seen += 1;
        }
    }
    assert!(batches_seen >= 6, "only {batches_seen} batches");

    assert_shop_sent_once(&store, &notifier, &orders).await;
    println!(
        "replayed {batches_seen} batches x3: {} notifications recorded, {} sends",
        recorded(&store).await.len(),
        notifier.sends().values().sum::<usize>()
    );
}

#[tokio::test]
async fn a_batch_failing_in_the_middle_reports_that_record_and_its_replay_finishes_the_rest_once() {
    let (store, orders) = shop().await;
    // The notifier fails the second send it is asked for.
    let notifier = Arc::new(RecordingNotifier::failing(&[2]));
    let consumers = consumers(&store, Arc::clone(&notifier));
    let [event] = batches(&store, stockroom_store::orders::TABLE, 1000)
        .await
        .try_into()
        .unwrap();

    let response = StreamConsumer::OnOrderChange
        .handle(&consumers, &event)
        .await;
    assert_eq!(response.batch_item_failures.len(), 1, "{response:?}");
    let failed = response.batch_item_failures[0]
        .item_identifier
        .clone()
        .unwrap();
    let position = event
        .records
        .iter()
        .position(|r| r.change.sequence_number.as_deref() == Some(failed.as_str()))
        .expect("the reported identifier is a record's sequence number");
    // Only the first notification went out; the failed one is recorded, pending.
    assert_eq!(notifier.sends().len(), 1);
    let after_failure = recorded(&store).await;
    assert_eq!(after_failure.len(), 2, "{after_failure:?}");
    assert_eq!(
        after_failure
            .values()
            .filter(|s| **s == Delivery::Pending)
            .count(),
        1
    );

    // Lambda retries from the failed record on; an at-least-once source may also redeliver the
    // whole batch. Both, twice.
    let mut from_failed = event.clone();
    from_failed.records.drain(..position);
    for retry in [&from_failed, &event, &from_failed, &event] {
        let response = StreamConsumer::OnOrderChange
            .handle(&consumers, retry)
            .await;
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
    }

    let expected = shop_notifications(&orders);
    assert_sent_once(&store, &notifier, &expected).await;
    // Five sent, and the one attempt that failed.
    assert_eq!(notifier.attempts(), expected.len() + 1);
}

#[tokio::test(start_paused = true)]
async fn across_an_sns_outage_the_breaker_stops_calling_it_and_each_notification_goes_once() {
    use stockroom_notifications::breaker::{Breaker, State};
    let (store, orders) = shop().await;
    // SNS fails its first 8 sends, then recovers: an outage, as the notifier sees it.
    let sns = Arc::new(RecordingNotifier::failing(&[1, 2, 3, 4, 5, 6, 7, 8]));
    let breaker = Arc::new(Breaker::with(
        sns.clone(),
        3,
        std::time::Duration::from_secs(30),
    ));
    let consumers = Consumers {
        store: store.notifications().unwrap(),
        notifier: breaker.clone(),
        low_stock_threshold: 10,
    };
    let [event] = batches(&store, stockroom_store::orders::TABLE, 1000)
        .await
        .try_into()
        .unwrap();

    // Lambda, as it treats a stream: the batch again from the first failed record, at once,
    // until it goes through.
    let mut pending = event.clone();
    let mut invocations = 0;
    let mut states = Vec::new();
    let started = tokio::time::Instant::now();
    loop {
        invocations += 1;
        let response = StreamConsumer::OnOrderChange
            .handle(&consumers, &pending)
            .await;
        states.push(breaker.state());
        let Some(failure) = response.batch_item_failures.first() else {
            break;
        };
        let failed = failure.item_identifier.clone().unwrap();
        let position = pending
            .records
            .iter()
            .position(|r| r.change.sequence_number.as_deref() == Some(failed.as_str()))
            .unwrap();
        pending.records.drain(..position);
        assert!(invocations < 50, "never got through: {states:?}");
    }

    // Three failures opened it; each later invocation waited out the cool-down and sent one
    // probe, so SNS saw 8 failed sends in 8 invocations, not a storm of retries.
    assert_eq!(states[..3], [State::Closed, State::Closed, State::Open]);
    assert_eq!(*states.last().unwrap(), State::Closed);
    assert_eq!(invocations, 9, "{states:?}");
    assert_eq!(
        started.elapsed(),
        std::time::Duration::from_secs(30 * 6),
        "invocations 4 to 9 each waited one cool-down for their probe"
    );
    let expected = shop_notifications(&orders);
    assert_sent_once(&store, &sns, &expected).await;
    assert_eq!(sns.attempts(), expected.len() + 8);
}

#[tokio::test]
async fn an_undecodable_record_is_reported_without_a_panic_and_the_records_before_it_are_handled() {
    let (store, orders) = shop().await;
    let notifier = Arc::new(RecordingNotifier::default());
    let consumers = consumers(&store, Arc::clone(&notifier));
    let [mut event] = batches(&store, stockroom_store::orders::TABLE, 1000)
        .await
        .try_into()
        .unwrap();
    // The third record's order has a total that is not a number.
    let bad = &mut event.records[2];
    let mut image: serde_json::Value =
        serde_dynamo::from_item(bad.change.new_image.clone()).unwrap();
    image["total"] = serde_json::json!("lots");
    bad.change.new_image = serde_dynamo::to_item(&image).unwrap();
    let bad_sequence = bad.change.sequence_number.clone();

    let response = StreamConsumer::OnOrderChange
        .handle(&consumers, &event)
        .await;
    assert_eq!(response.batch_item_failures.len(), 1, "{response:?}");
    assert_eq!(
        response.batch_item_failures[0].item_identifier,
        bad_sequence
    );
    // What came before it was sent; nothing after it was looked at.
    let sent: Vec<String> = notifier.sends().into_keys().collect();
    assert!(
        !sent.is_empty() && sent.iter().all(|id| id.ends_with(orders[0].as_str())),
        "{sent:?}"
    );
}

#[tokio::test]
async fn stock_that_stays_below_or_rises_raises_nothing_and_each_fall_raises_one_alert() {
    let store = Store::embedded(SqliteStore::in_memory().unwrap());
    let now = timestamp::now();
    let sku = build::id("sku-pen");
    store
        .catalog()
        .unwrap()
        .create_product(&build::product("sku-pen", 150, None, now))
        .await
        .unwrap();
    let inventory = store.inventory().unwrap();
    inventory
        .set_stock(&sku, Available::new(12).unwrap(), None, now)
        .await
        .unwrap();
    let take = |n: i64| Quantity::new(n).unwrap();
    // 12 -> 9 (falls), 9 -> 5 (stays below), back to 20, 20 -> 10 (not below), 10 -> 3 (falls).
    inventory
        .move_stock(&sku, StockMove::Decrement, take(3), now)
        .await
        .unwrap();
    inventory
        .move_stock(&sku, StockMove::Decrement, take(4), now)
        .await
        .unwrap();
    inventory
        .set_stock(&sku, Available::new(20).unwrap(), None, now)
        .await
        .unwrap();
    inventory
        .move_stock(&sku, StockMove::Decrement, take(10), now)
        .await
        .unwrap();
    inventory
        .move_stock(&sku, StockMove::Decrement, take(7), now)
        .await
        .unwrap();

    let notifier = Arc::new(RecordingNotifier::default());
    let consumers = consumers(&store, Arc::clone(&notifier));
    for event in batches(&store, stockroom_store::inventory::TABLE, 100).await {
        let response = StreamConsumer::OnStockChange
            .handle(&consumers, &event)
            .await;
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
    }
    let page = store
        .notifications()
        .unwrap()
        .list_notifications(&NotificationQuery::default())
        .await
        .unwrap();
    let messages: Vec<&str> = page.items.iter().map(|n| n.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "Product sku-pen is low on stock: 3 available, below 10.",
            "Product sku-pen is low on stock: 9 available, below 10.",
        ]
    );
    assert_eq!(notifier.sends().len(), 2);
}
