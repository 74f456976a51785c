//! The real stream format: writes through the DynamoDB adapters to tables in the local
//! DynamoDB-compatible server (moto, started by the README's test command), then the tables'
//! own streams read with the DynamoDB Streams API (DescribeStream, GetShardIterator,
//! GetRecords), turned into the event Lambda delivers and handed to the consumers. The records'
//! shape is also compared with the events/ samples the dev server's feed produces, so the
//! samples, the feed and DynamoDB's record cannot drift apart unnoticed.

use std::sync::Arc;

use crate::support::assert_shop_sent_once;
use aws_lambda_events::event::dynamodb::Event;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use serde_json::{Value, json};
use stockroom_domain::orders::OrderId;
use stockroom_local::feed::record_shape;
use stockroom_notifications::notifier::RecordingNotifier;
use stockroom_notifications::{Consumers, StreamConsumer};
use stockroom_store::Store;
use stockroom_store::testing::{DynamoDbShop, workspace};

fn streams_client() -> aws_sdk_dynamodbstreams::Client {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap();
    assert!(
        endpoint.starts_with("http://127.0.0.1:"),
        "a local server only: {endpoint}"
    );
    let shared = stockroom_store::aws::sdk_config("DYNAMODBSTREAMS").unwrap();
    aws_sdk_dynamodbstreams::Client::from_conf(
        aws_sdk_dynamodbstreams::config::Builder::from(&shared)
            .endpoint_url(endpoint)
            .build(),
    )
}

/// The record as Lambda delivers it: DynamoDB Streams' record JSON plus `eventSourceARN`.
fn lambda_json(record: &Record, stream_arn: &str) -> Value {
    let change = record.dynamodb().unwrap();
    let image = |i: Option<
        &std::collections::HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>,
    >| {
        i.map(|i| serde_json::to_value(serde_dynamo::Item::from(i.clone())).unwrap())
    };
    let mut dynamodb = json!({
        "ApproximateCreationDateTime": change.approximate_creation_date_time().map(|t| t.secs()),
        "Keys": image(change.keys()),
        "SequenceNumber": change.sequence_number(),
        "SizeBytes": change.size_bytes(),
        "StreamViewType": change.stream_view_type().map(|v| v.as_str()),
    });
    for (key, value) in [
        ("NewImage", image(change.new_image())),
        ("OldImage", image(change.old_image())),
    ] {
        if let Some(value) = value {
            dynamodb[key] = value;
        }
    }
    json!({
        "eventID": record.event_id(),
        "eventName": record.event_name().map(|n| n.as_str()),
        "eventVersion": record.event_version(),
        "eventSource": record.event_source(),
        "awsRegion": record.aws_region(),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    })
}

/// Every record in `table`'s stream, as Lambda would deliver them.
async fn stream_records(table_name: &str) -> Vec<Value> {
    let dynamodb = stockroom_store::dynamodb::client_from_env()
        .expect("moto's region and credentials in the environment");
    let streams = streams_client();
    let arn = dynamodb
        .describe_table()
        .table_name(table_name)
        .send()
        .await
        .unwrap()
        .table
        .unwrap()
        .latest_stream_arn
        .expect("the table has the stream template.yaml gives it");
    let description = streams
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .unwrap()
        .stream_description
        .unwrap();
    let mut records = Vec::new();
    for shard in description.shards() {
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard.shard_id().unwrap())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator;
        while let Some(it) = iterator {
            let output = streams
                .get_records()
                .shard_iterator(it)
                .send()
                .await
                .unwrap();
            if output.records().is_empty() {
                break;
            }
            records.extend(output.records().iter().map(|r| lambda_json(r, &arn)));
            iterator = output.next_shard_iterator;
        }
    }
    records
}

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

    let order_records = stream_records(shop_tables.name(stockroom_store::orders::TABLE)).await;
    let stock_records = stream_records(shop_tables.name(stockroom_store::inventory::TABLE)).await;
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
        let real = stream_records(shop_tables.name(table)).await;
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
