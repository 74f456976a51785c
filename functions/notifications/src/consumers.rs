//! The stream consumers: one over the orders table's stream, one over the inventory table's.
//!
//! Each takes the DynamoDB stream event Lambda delivers (or the dev server builds from the
//! embedded change feed), decides per record whether it deserves a notification, and delivers
//! each one exactly once: record it (a conditional write keyed by its deterministic id), send it
//! unless the record says it was sent, mark it sent. Records are handled in order; the first
//! that fails is reported in `batch_item_failures` and the rest are left for the retry, which
//! starts at that record, so a shard's order holds and nothing after a failure is skipped.

use std::sync::Arc;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde::Deserialize;
use stockroom_domain::notifications::{
    DEFAULT_LOW_STOCK_THRESHOLD, Delivery, Notification, NotificationKind, crosses_low_stock,
};
use stockroom_domain::timestamp;
use stockroom_store::inventory::items::{STOCK_ENTITY, StockItem};
use stockroom_store::items::TRACE_ATTRIBUTE;
use stockroom_store::notifications::NotificationWriter;
use stockroom_store::orders::items::{ORDER_ENTITY, OrderItem};
use tracing::Instrument as _;

use crate::notifier::Notifier;

/// The variable that sets where `available` falls below to raise `low_stock`.
pub const THRESHOLD_VAR: &str = "LOW_STOCK_THRESHOLD";

/// What the consumers work with: where notifications are recorded, how they are sent, and the
/// low-stock threshold.
#[derive(Clone)]
pub struct Consumers {
    pub store: Arc<dyn NotificationWriter>,
    pub notifier: Arc<dyn Notifier>,
    pub low_stock_threshold: u64,
}

impl std::fmt::Debug for Consumers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consumers")
            .field("low_stock_threshold", &self.low_stock_threshold)
            .finish_non_exhaustive()
    }
}

/// [`THRESHOLD_VAR`] as a whole number, [`DEFAULT_LOW_STOCK_THRESHOLD`] when unset.
///
/// # Errors
/// When it is set to anything but a whole number: a misconfiguration to fail the cold start on,
/// not to guess around.
pub fn threshold_from_env() -> anyhow::Result<u64> {
    match std::env::var(THRESHOLD_VAR) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{THRESHOLD_VAR}={v:?} is not a whole number of units")),
        _ => Ok(DEFAULT_LOW_STOCK_THRESHOLD),
    }
}

/// Why a record was not handled.
#[derive(Debug, thiserror::Error)]
enum RecordError {
    /// Its image is not an item this consumer knows: retrying cannot help, so after the
    /// retries the event source mapping sends it to the dead-letter queue.
    #[error("undecodable stream record")]
    Undecodable(#[source] anyhow::Error),
    /// The store or the notifier failed: a retry may succeed.
    #[error("failed to deliver a notification")]
    Delivery(#[source] anyhow::Error),
}

/// What one batch did, for the log.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct BatchSummary {
    /// Records handled (whether or not they deserved a notification).
    handled: usize,
    /// Notifications sent by this batch.
    sent: usize,
    /// Notifications a replay found already sent and skipped.
    already_sent: usize,
}

/// The `entity` of an item image: what kind of item it is.
#[derive(Deserialize)]
struct Entity {
    entity: String,
}

/// The image decoded as `T`; `None` when the record has none (an insert's old image, a
/// removal's new one).
fn image<T: serde::de::DeserializeOwned>(
    image: &serde_dynamo::Item,
) -> Result<Option<T>, RecordError> {
    if image.is_empty() {
        return Ok(None);
    }
    serde_dynamo::from_item(image.clone())
        .map(Some)
        .map_err(|e| RecordError::Undecodable(anyhow::Error::new(e)))
}

/// The `entity` of a record's item (from its new image, or its old one for a removal); `None`
/// for an image of nothing but the item's keys, which has nothing to notify about.
fn entity(record: &EventRecord) -> Result<Option<String>, RecordError> {
    let image_of = if record.change.new_image.is_empty() {
        &record.change.old_image
    } else {
        &record.change.new_image
    };
    if image_of.keys().all(|k| k == "pk" || k == "sk") && !image_of.is_empty() {
        tracing::debug!(
            sequence_number = sequence(record).unwrap_or("none"),
            "an image of keys only: skipped"
        );
        return Ok(None);
    }
    image::<Entity>(image_of)?
        .map(|e| Some(e.entity))
        .ok_or_else(|| RecordError::Undecodable(anyhow::anyhow!("the record has no image")))
}

/// The span a record's notification is delivered in: `<stream> <event name>` (`orders
/// MODIFY`), a consumer span whose parent is the trace context the write stored on the item,
/// when it stored one. Records that deserve no notification get none: there is nothing to see.
fn record_span(
    stream: &'static str,
    record: &EventRecord,
    notification: &Notification,
) -> tracing::Span {
    let span = tracing::info_span!(
        "stream record",
        otel.name = %format_args!("{stream} {}", record.event_name),
        otel.kind = "consumer",
        messaging.system = "aws_dynamodb_streams",
        sequence_number = sequence(record).unwrap_or("none"),
        notification.kind = notification.kind.as_str(),
        notification.id = notification.id.as_str(),
    );
    if let Some(serde_dynamo::AttributeValue::S(traceparent)) =
        record.change.new_image.get(TRACE_ATTRIBUTE)
        && !traceparent.is_empty()
    {
        stockroom_telemetry::otel::continue_trace(&span, [("traceparent", traceparent.as_str())]);
    }
    span
}

fn sequence(record: &EventRecord) -> Option<&str> {
    record.change.sequence_number.as_deref()
}

impl Consumers {
    /// The orders stream: `order_confirmation` for a new order, `order_shipped` and
    /// `order_cancelled` when its status becomes one of those; nothing for anything else on the
    /// table (idempotency records, other changes).
    pub async fn on_order_change(&self, event: &Event) -> DynamoDbEventResponse {
        self.batch("orders", event, |record| {
            if entity(record)?.as_deref() != Some(ORDER_ENTITY) {
                return Ok(None);
            }
            let order = |i: &serde_dynamo::Item| -> Result<_, RecordError> {
                image::<OrderItem>(i)?
                    .map(OrderItem::into_order)
                    .transpose()
                    .map_err(RecordError::Undecodable)
            };
            let old = order(&record.change.old_image)?;
            let new = order(&record.change.new_image)?;
            Ok(
                NotificationKind::for_order_change(old.as_ref(), new.as_ref()).and_then(|kind| {
                    let order = new.as_ref()?;
                    Some(Notification::about_order(kind, order, timestamp::now()))
                }),
            )
        })
        .await
    }

    /// The inventory stream: `low_stock` when a level's `available` falls from at least the
    /// threshold to below it. Only a level's shard 0 (its own item) is read; for a level split
    /// into shards, the level is estimated as shard 0's count times the shards, since
    /// reservations spread evenly over them at random (the other shards are on the stream but
    /// carry no `entity`: reading their sums would need a read of the level per record).
    pub async fn on_stock_change(&self, event: &Event) -> DynamoDbEventResponse {
        let threshold = self.low_stock_threshold;
        self.batch("inventory", event, move |record| {
            if entity(record)?.as_deref() != Some(STOCK_ENTITY) {
                return Ok(None);
            }
            let old = image::<StockItem>(&record.change.old_image)?;
            let new = image::<StockItem>(&record.change.new_image)?;
            let (Some(new), old_available) = (new, old.map(|o| estimate(&o))) else {
                return Ok(None);
            };
            let available = estimate(&new);
            stockroom_telemetry::metrics::stock_level(
                &new.id,
                i64::try_from(available).unwrap_or(i64::MAX),
            );
            if !crosses_low_stock(old_available, Some(available), threshold) {
                return Ok(None);
            }
            let level = new.into_level().map_err(RecordError::Undecodable)?;
            let seq = sequence(record).unwrap_or_default();
            Notification::low_stock(
                &level.product_id,
                available,
                threshold,
                seq,
                timestamp::now(),
            )
            .map(Some)
            .map_err(|e| RecordError::Undecodable(e.into()))
        })
        .await
    }

    /// Handles `event`'s records in order with `decide`, delivering what it decides, up to the
    /// first failure, which it reports (with every record after it left for the retry).
    async fn batch(
        &self,
        stream: &'static str,
        event: &Event,
        decide: impl Fn(&EventRecord) -> Result<Option<Notification>, RecordError>,
    ) -> DynamoDbEventResponse {
        let (summary, failed) = self.run(stream, event, decide).await;
        let mut response = DynamoDbEventResponse::default();
        match failed {
            Some((record, err)) => {
                let undecodable = matches!(err, RecordError::Undecodable(_));
                tracing::error!(
                    stream,
                    sequence_number = sequence(record).unwrap_or("none"),
                    event_id = %record.event_id,
                    event_name = %record.event_name,
                    undecodable,
                    error = ?anyhow::Error::new(err),
                    retried_from_here = event.records.len() - summary.handled,
                    "stream record failed: reported in batch_item_failures",
                );
                let mut failure = DynamoDbBatchItemFailure::default();
                // Without a sequence number Lambda cannot tell where to resume: `None` fails
                // the whole batch, which is the safe reading.
                failure.item_identifier = sequence(record).map(str::to_owned);
                response.batch_item_failures.push(failure);
            }
            None => tracing::info!(
                stream,
                records = summary.handled,
                sent = summary.sent,
                already_sent = summary.already_sent,
                "stream batch handled"
            ),
        }
        response
    }

    /// The batch's work: what it did, and the first record that failed with why. Each
    /// notification is delivered in a span of its own that continues the trace of the write that
    /// made its record.
    async fn run<'e>(
        &self,
        stream: &'static str,
        event: &'e Event,
        decide: impl Fn(&EventRecord) -> Result<Option<Notification>, RecordError>,
    ) -> (BatchSummary, Option<(&'e EventRecord, RecordError)>) {
        let mut summary = BatchSummary::default();
        for record in &event.records {
            let outcome = match decide(record) {
                Ok(Some(notification)) => {
                    let span = record_span(stream, record, &notification);
                    self.deliver(&notification).instrument(span).await
                }
                Ok(None) => Ok(None),
                Err(err) => Err(err),
            };
            match outcome {
                Ok(Some(Delivery::Sent)) => summary.already_sent += 1,
                Ok(Some(Delivery::Pending)) => summary.sent += 1,
                Ok(None) => {}
                Err(err) => return (summary, Some((record, err))),
            }
            summary.handled += 1;
        }
        (summary, None)
    }

    /// Records `notification`, then sends it and marks it sent unless the record says it was
    /// sent before. Returns the status it was found in (`Pending`: sent now).
    async fn deliver(&self, notification: &Notification) -> Result<Option<Delivery>, RecordError> {
        let recorded = self
            .store
            .record(notification)
            .await
            .map_err(RecordError::Delivery)?;
        if recorded.status == Delivery::Sent {
            tracing::debug!(notification_id = %recorded.id, "already sent: skipped");
            return Ok(Some(Delivery::Sent));
        }
        self.notifier
            .send(&recorded)
            .await
            .map_err(RecordError::Delivery)?;
        stockroom_telemetry::metrics::notification_sent(recorded.kind.as_str());
        self.store
            .mark_sent(&recorded.id, timestamp::now())
            .await
            .map_err(RecordError::Delivery)?;
        Ok(Some(Delivery::Pending))
    }
}

/// A level's `available` as its shard 0 `item` tells it: exact for an unsplit level; for one
/// split into `n` shards, `n` times shard 0's (reservations take from a shard at random, so the
/// shards drain alike).
fn estimate(item: &StockItem) -> u64 {
    item.available.saturating_mul(u64::from(item.spread()))
}
