//! The real stream format: writes through the DynamoDB adapters to tables in the local
//! DynamoDB-compatible server (moto, started by the README's test command), then the tables'
//! own streams read with the DynamoDB Streams API (DescribeStream, GetShardIterator,
//! GetRecords), turned into the event Lambda delivers and handed to the consumers. The records'
//! shape is also compared with the events/ samples the dev server's feed produces, so the
//! samples, the feed and DynamoDB's record cannot drift apart unnoticed.

use std::sync::Arc;

use crate::support::assert_shop_sent_once;
use aws_lambda_events::event::dynamodb::Event;
use serde_json::{Value, json};
use stockroom_domain::orders::OrderId;
use stockroom_local::feed::record_shape;
use stockroom_notifications::notifier::RecordingNotifier;
use stockroom_notifications::{Consumers, StreamConsumer};
use stockroom_store::Store;
use stockroom_store::testing::streams::records;
use stockroom_store::testing::{DynamoDbShop, workspace};

fn event(records: &[Value]) -> Event {
    serde_json::from_value(json!({"Records": records}))
        .expect("the records parse as Lambda's event")
}

/// Two orders (3 of 12 kettles: the kettles fall to 9; 1 mug), the first shipped, the second
/// cancelled, all through the DynamoDB adapters.
async fn shop(store: &Store) -> Vec<OrderId> {
    crate::support::shop(store, &[("sku-kettle", 3), ("sku-mug", 1)]).await
}

#[tokio::test]
async fn the_consumers_notify_once_from_the_records_dynamodb_streams_really_delivers() {
    let shop_tables = DynamoDbShop::open().await;
    let store = shop_tables.store.clone();
    let orders = shop(&store).await;

    let order_records = records(shop_tables.name(stockroom_store::orders::TABLE)).await;
    let stock_records = records(shop_tables.name(stockroom_store::inventory::TABLE)).await;
    // 2 orders + 2 key records inserted, 2 status changes; 2 levels set, then moved 4 times.
    // (moto also streams a keys-only INSERT before the INSERT of an item a transaction's Update
    // creates, which DynamoDB does not; the consumers skip an image with nothing but its keys.)
    assert_eq!(order_records.len(), 6, "{order_records:#?}");
    assert!(stock_records.len() >= 6, "{stock_records:#?}");

    let notifier = Arc::new(RecordingNotifier::default());
    let consumers = Consumers {
        store: store.notifications().unwrap(),
        notifier: notifier.clone(),
        low_stock_threshold: 10,
    };
    // Delivered twice over, as at-least-once delivery may.
    for _ in 0..2 {
        for (consumer, records) in [
            (StreamConsumer::OnOrderChange, &order_records),
            (StreamConsumer::OnStockChange, &stock_records),
        ] {
            let response = consumer.handle(&consumers, &event(records)).await;
            assert!(response.batch_item_failures.is_empty(), "{response:?}");
        }
    }

    assert_shop_sent_once(&store, &notifier, &orders).await;
}

#[tokio::test]
async fn the_events_samples_have_the_shape_of_dynamodbs_own_records() {
    let shop_tables = DynamoDbShop::open().await;
    let store = shop_tables.store.clone();
    shop(&store).await;

    for (sample, table) in [
        ("on_order_change.json", stockroom_store::orders::TABLE),
        ("on_stock_change.json", stockroom_store::inventory::TABLE),
    ] {
        let real = records(shop_tables.name(table)).await;
        let text = std::fs::read_to_string(workspace().join("events").join(sample)).unwrap();
        let sample_event: Value = serde_json::from_str(&text).unwrap();
        for local in sample_event["Records"].as_array().unwrap() {
            // The real record of the same kind of change to the same kind of item.
            let entity = |r: &Value| {
                let image = if r["dynamodb"]["NewImage"].is_object() {
                    &r["dynamodb"]["NewImage"]
                } else {
                    &r["dynamodb"]["OldImage"]
                };
                image["entity"]["S"].as_str().map(str::to_owned)
            };
            let twin = real
                .iter()
                .find(|r| r["eventName"] == local["eventName"] && entity(r) == entity(local))
                .unwrap_or_else(|| {
                    panic!(
                        "{sample}: moto's stream has no {} of {:?}",
                        local["eventName"],
                        entity(local)
                    )
                });
            assert_eq!(
                record_shape(local),
                record_shape(twin),
                "{sample}: a record's shape differs from DynamoDB's"
            );
        }
    }
}
