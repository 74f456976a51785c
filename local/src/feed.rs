//! The feed reader: the dev server's stand-in for DynamoDB Streams and Lambda's event source
//! mappings. For every `DynamoDB` stream event source in template.yaml it reads the table's
//! rows of the embedded change feed in order, turns them into the stream event Lambda would
//! deliver (event names, keys, old and new images as DynamoDB attribute values, sequence
//! numbers, the stream ARN's shape), calls the consumer's handler in-process, and keeps its
//! position (the checkpoint) in the store, so a restart resumes where it stopped.
//!
//! As Lambda does with `ReportBatchItemFailures`, a batch whose handler reports a failure is
//! retried from the first failed record (with a backoff), and a record still failing after the
//! source's `MaximumRetryAttempts` is given up on with an error in the log — the local
//! dead-letter path — so one bad record cannot stall the feed forever.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use aws_lambda_events::event::dynamodb::{Event, EventRecord, StreamRecord, StreamViewType};
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use stockroom_notifications::{Consumers, StreamConsumer};
use stockroom_store::changes::Change;
use stockroom_store::sqlite::SqliteStore;
use stockroom_store::tables::Table;

use crate::template::StreamSource;

/// How often a reader that found nothing new looks again: a change's notification shows up
/// within about this long (plus the handler's own time).
pub const POLL: Duration = Duration::from_millis(100);

/// The region the local stream ARNs and records name.
const REGION: &str = "local";

/// The ARN of `table`'s stream, shaped like DynamoDB's
/// (`arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>`).
pub fn stream_arn(table: Table) -> String {
    format!(
        "arn:aws:dynamodb:{REGION}:000000000000:table/{}/stream/1970-01-01T00:00:00.000",
        table.name
    )
}

/// A change's position as a stream sequence number: digits, fixed width, so they sort as text
/// as they do as numbers (DynamoDB's are 21 to 40 digits).
pub fn sequence_number(seq: i64) -> String {
    format!("{seq:021}")
}

fn parse_sequence_number(s: &str) -> Option<i64> {
    s.parse().ok()
}

/// An item as DynamoDB attribute values: what a stream record's images hold.
fn image(item: Option<&serde_json::Value>) -> anyhow::Result<serde_dynamo::Item> {
    match item {
        Some(item) => {
            serde_dynamo::to_item(item).context("an item in the change feed is not a map")
        }
        None => Ok(serde_dynamo::Item::default()),
    }
}

/// The stream record Lambda would deliver for `change` of `table`.
///
/// # Errors
/// When an image in the feed is not a JSON object.
pub fn stream_record(table: Table, change: &Change) -> anyhow::Result<EventRecord> {
    let keys = serde_json::json!({"pk": change.pk, "sk": change.sk});
    let mut dynamodb = StreamRecord::default();
    dynamodb.approximate_creation_date_time = change.at;
    dynamodb.keys = image(Some(&keys))?;
    dynamodb.old_image = image(change.old_image.as_ref())?;
    dynamodb.new_image = image(change.new_image.as_ref())?;
    dynamodb.sequence_number = Some(sequence_number(change.seq));
    dynamodb.size_bytes = [&change.old_image, &change.new_image]
        .iter()
        .filter_map(|i| i.as_ref())
        .map(|i| i.to_string().len() as i64)
        .sum();
    dynamodb.stream_view_type = Some(StreamViewType::NewAndOldImages);
    let mut record = EventRecord::default();
    record.aws_region = REGION.to_owned();
    record.change = dynamodb;
    record.event_id = format!("{:032x}", change.seq);
    record.event_name = change.kind.as_str().to_owned();
    record.event_source = Some(String::from("aws:dynamodb"));
    record.event_version = Some(String::from("1.1"));
    record.event_source_arn = Some(stream_arn(table));
    Ok(record)
}

/// The stream event of `changes` of `table`, in order.
///
/// # Errors
/// As [`stream_record`].
pub fn stream_event(table: Table, changes: &[Change]) -> anyhow::Result<Event> {
    let mut event = Event::default();
    event.records = changes
        .iter()
        .map(|c| stream_record(table, c))
        .collect::<anyhow::Result<_>>()?;
    Ok(event)
}

/// `event` as the JSON Lambda hands the function. `aws_lambda_events` serialises the fields a
/// record may lack as `null` (`userIdentity`, `recordFormat`, `tableName`) and an image it lacks
/// (an INSERT's `OldImage`) as `{}`, which DynamoDB never sends; they are left out, so the JSON
/// has the shape of DynamoDB's own records ([`record_shape`]; events/ samples are this JSON).
///
/// # Errors
/// When the event does not serialise.
pub fn lambda_json(event: &Event) -> anyhow::Result<serde_json::Value> {
    use serde_json::Value;
    let mut json = serde_json::to_value(event)?;
    for record in json["Records"].as_array_mut().into_iter().flatten() {
        let Some(fields) = record.as_object_mut() else {
            continue;
        };
        fields.retain(|_, v| !v.is_null());
        if let Some(change) = fields.get_mut("dynamodb").and_then(Value::as_object_mut) {
            change.retain(|key, v| {
                let empty_image =
                    key.ends_with("Image") && v.as_object().is_some_and(|i| i.is_empty());
                !v.is_null() && !empty_image
            });
        }
    }
    Ok(json)
}

/// The shape of a stream record in Lambda's JSON, as `{path: type}`: its fields and its
/// `dynamodb` fields with their JSON types, and its keys' and images' attributes with their
/// DynamoDB types (`dynamodb.NewImage.total: N`). What a consumer relies on; the tests compare
/// the feed's records, the events/ samples and DynamoDB's own records by it.
pub fn record_shape(record: &serde_json::Value) -> std::collections::BTreeMap<String, String> {
    use serde_json::Value;
    let kind = |v: &Value| {
        String::from(match v {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        })
    };
    let mut shape = std::collections::BTreeMap::new();
    for (key, value) in record.as_object().into_iter().flatten() {
        shape.insert(key.clone(), kind(value));
    }
    for (key, value) in record["dynamodb"].as_object().into_iter().flatten() {
        shape.insert(format!("dynamodb.{key}"), kind(value));
        if key.ends_with("Image") || key == "Keys" {
            for (attr, typed) in value.as_object().into_iter().flatten() {
                let tag = typed
                    .as_object()
                    .and_then(|t| t.keys().next().cloned())
                    .unwrap_or_else(|| kind(typed));
                shape.insert(format!("dynamodb.{key}.{attr}"), tag);
            }
        }
    }
    shape
}

/// One event source mapping: a table's feed, a consumer, and where it stands.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub source: StreamSource,
    pub table: Table,
    pub consumer: StreamConsumer,
}

impl Mapping {
    /// The mappings of the template's stream sources.
    ///
    /// # Errors
    /// When a source reads a table the store does not know, or names a binary with no
    /// consumer here: the dev server would silently drop a stream otherwise.
    pub fn all(sources: Vec<StreamSource>) -> anyhow::Result<Vec<Self>> {
        sources
            .into_iter()
            .map(|source| {
                let table = stockroom_store::tables::Table::by_resource(&source.table)
                    .with_context(|| {
                        format!(
                            "{} reads the stream of {}, which is not a service's table",
                            source.function, source.table
                        )
                    })?;
                let consumer = StreamConsumer::named(&source.handler).with_context(|| {
                    format!(
                        "{}'s stream consumer {} has no handler in the dev server",
                        source.function, source.handler
                    )
                })?;
                Ok(Self {
                    source,
                    table,
                    consumer,
                })
            })
            .collect()
    }

    /// The checkpoint's name in the store: the consumer's handler.
    fn name(&self) -> &str {
        &self.source.handler
    }

    /// Reads and hands on one batch, if there is one. Returns whether there was.
    ///
    /// # Errors
    /// When the store cannot be read or the checkpoint saved.
    pub async fn step(
        &self,
        store: &SqliteStore,
        consumers: &Consumers,
        progress: &mut Progress,
    ) -> anyhow::Result<bool> {
        // The store's checkpoint is read once; after that this reader is the one that moves it.
        let from = match progress.checkpoint {
            Some(at) => at,
            None => store.checkpoint(self.name()).await?,
        };
        let changes = store
            .changes_after(self.table, from, self.source.batch_size)
            .await?;
        let (Some(first), Some(last)) = (changes.first(), changes.last()) else {
            return Ok(false);
        };
        let event = stream_event(self.table, &changes)?;
        let response = self.consumer.handle(consumers, &event).await;
        let done = match first_failure(&response) {
            None => last.seq,
            Some(failed) => {
                // Lambda's reading: no (or an unknown) identifier fails the whole batch.
                let failed = failed
                    .and_then(parse_sequence_number)
                    .filter(|f| changes.iter().any(|c| c.seq == *f))
                    .unwrap_or(first.seq);
                let attempts = progress.count(failed);
                if attempts > self.source.max_retries {
                    tracing::error!(
                        consumer = self.name(),
                        sequence_number = %sequence_number(failed),
                        attempts,
                        "stream record failed after every retry: given up on (the dead-letter path)"
                    );
                    progress.clear_failure();
                    failed
                } else {
                    tokio::time::sleep(progress.backoff()).await;
                    failed - 1
                }
            }
        };
        if done != from {
            store.save_checkpoint(self.name(), done).await?;
        }
        progress.checkpoint = Some(done);
        Ok(true)
    }
}

fn first_failure(response: &DynamoDbEventResponse) -> Option<Option<&str>> {
    response
        .batch_item_failures
        .first()
        .map(|f| f.item_identifier.as_deref())
}

/// Where a mapping stands: its checkpoint once read from the store (then kept here as it is
/// saved), and the record it keeps failing on with how often it has.
#[derive(Debug, Default)]
pub struct Progress {
    checkpoint: Option<i64>,
    seq: Option<i64>,
    attempts: u32,
}

impl Progress {
    /// Counts a failure of `seq`; returns how many in a row it has had.
    fn count(&mut self, seq: i64) -> u32 {
        if self.seq == Some(seq) {
            self.attempts += 1;
        } else {
            self.seq = Some(seq);
            self.attempts = 1;
        }
        self.attempts
    }

    fn clear_failure(&mut self) {
        self.seq = None;
        self.attempts = 0;
    }

    /// 100 ms, doubling with each attempt, at most 5 s.
    fn backoff(&self) -> Duration {
        Duration::from_millis(100u64.saturating_mul(1 << self.attempts.min(6)))
            .min(Duration::from_secs(5))
    }
}

/// The running feed readers. Dropping this leaves them running; [`Readers::stop`] stops them
/// wherever they are, as a killed process would.
#[derive(Debug)]
pub struct Readers {
    pub mappings: Vec<Mapping>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Readers {
    pub fn stop(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

/// Starts the feed readers of every stream event source in the template at `template`, over
/// `store`'s change feed, with the local notifier (the log) and the environment's low-stock
/// threshold.
///
/// # Errors
/// When the template's stream sources cannot be read or served, or `store` is not embedded.
pub fn start(
    template: &std::path::Path,
    store: &stockroom_store::Store,
) -> anyhow::Result<Readers> {
    let mappings = Mapping::all(crate::template::load_stream_sources(template)?)?;
    let sqlite = store
        .as_sqlite()
        .context("the feed reader needs the embedded store's change feed")?
        .clone();
    let consumers = Consumers {
        store: store.notifications()?,
        notifier: Arc::new(stockroom_notifications::breaker::Breaker::new(Arc::new(
            stockroom_notifications::notifier::LogNotifier,
        ))),
        low_stock_threshold: stockroom_notifications::threshold_from_env()?,
    };
    let tasks = spawn(sqlite, Arc::new(consumers), mappings.clone());
    Ok(Readers { mappings, tasks })
}

/// Runs every mapping until the process ends: each reads its feed, hands on what it finds, and
/// sleeps [`POLL`] when there is nothing. An error reading the store is logged and retried.
pub fn spawn(
    store: SqliteStore,
    consumers: Arc<Consumers>,
    mappings: Vec<Mapping>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for mapping in mappings {
        let store = store.clone();
        let consumers = Arc::clone(&consumers);
        tasks.push(tokio::spawn(async move {
            let mut progress = Progress::default();
            loop {
                match mapping.step(&store, &consumers, &mut progress).await {
                    Ok(true) => {}
                    Ok(false) => tokio::time::sleep(POLL).await,
                    Err(err) => {
                        tracing::error!(consumer = mapping.name(), error = ?err, "feed reader failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        }));
    }
    tasks
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;
    use chrono::{DateTime, Utc};
    use stockroom_domain::notifications::{Notification, NotificationId};
    use stockroom_notifications::notifier::RecordingNotifier;
    use stockroom_store::Store;
    use stockroom_store::notifications::NotificationWriter;

    use super::*;

    /// The store's notifications port, except that recording the notification of `poison`
    /// always fails, and counts how often it was tried.
    struct Poisoned {
        inner: Arc<dyn NotificationWriter>,
        poison: String,
        tries: AtomicUsize,
    }

    #[async_trait]
    impl NotificationWriter for Poisoned {
        async fn record(&self, n: &Notification) -> anyhow::Result<Notification> {
            if n.id.as_str().ends_with(&self.poison) {
                self.tries.fetch_add(1, Ordering::SeqCst);
                anyhow::bail!("the store refuses this one");
            }
            self.inner.record(n).await
        }

        async fn mark_sent(&self, id: &NotificationId, at: DateTime<Utc>) -> anyhow::Result<()> {
            self.inner.mark_sent(id, at).await
        }
    }

    #[tokio::test]
    async fn a_record_that_keeps_failing_is_retried_then_given_up_on_and_the_feed_goes_on() {
        let store = Store::embedded(SqliteStore::in_memory().unwrap());
        stockroom_store::testing::stocked(&store, &[("sku-mug", 40)]).await;
        let mut orders = Vec::new();
        for _ in 0..3 {
            orders.push(
                stockroom_store::testing::place(&store, "cust-1", &[("sku-mug", 1)], None)
                    .await
                    .id,
            );
        }
        let poisoned = Arc::new(Poisoned {
            inner: store.notifications().unwrap(),
            poison: orders[1].to_string(),
            tries: AtomicUsize::new(0),
        });
        let notifier = Arc::new(RecordingNotifier::default());
        let consumers = Consumers {
            store: poisoned.clone(),
            notifier: notifier.clone(),
            low_stock_threshold: 10,
        };
        let mapping = Mapping {
            source: StreamSource {
                function: String::from("OnOrderChangeFunction"),
                handler: String::from("on_order_change"),
                binary: String::from("notifier"),
                table: String::from("OrdersTable"),
                batch_size: 100,
                max_retries: 2,
            },
            table: stockroom_store::orders::TABLE,
            consumer: StreamConsumer::OnOrderChange,
        };
        let sqlite = store.as_sqlite().unwrap();
        let mut progress = Progress::default();
        // The first order goes out and the second fails: the checkpoint stops just before it.
        assert!(
            mapping
                .step(sqlite, &consumers, &mut progress)
                .await
                .unwrap()
        );
        let sent = |id: &OrderId| format!("order_confirmation:{id}");
        use stockroom_domain::orders::OrderId;
        assert_eq!(
            notifier.sends().into_keys().collect::<Vec<_>>(),
            [sent(&orders[0])]
        );
        // Two retries from it (the source's MaximumRetryAttempts), then it is given up on.
        for _ in 0..2 {
            mapping
                .step(sqlite, &consumers, &mut progress)
                .await
                .unwrap();
        }
        assert_eq!(poisoned.tries.load(Ordering::SeqCst), 3);
        assert_eq!(notifier.sends().len(), 1);
        // The next batch starts after it: the third order goes out, the first is not resent.
        mapping
            .step(sqlite, &consumers, &mut progress)
            .await
            .unwrap();
        assert_eq!(poisoned.tries.load(Ordering::SeqCst), 3);
        let mut expected = vec![sent(&orders[0]), sent(&orders[2])];
        expected.sort();
        assert_eq!(notifier.sends().into_keys().collect::<Vec<_>>(), expected);
        assert!(notifier.sends().values().all(|n| *n == 1));
        // And then there is nothing left to read.
        assert!(
            !mapping
                .step(sqlite, &consumers, &mut progress)
                .await
                .unwrap()
        );
    }

    #[test]
    fn sequence_numbers_are_fixed_width_digits_that_sort_as_their_changes() {
        assert_eq!(sequence_number(7), "000000000000000000007");
        assert!(sequence_number(9) < sequence_number(10));
        assert_eq!(parse_sequence_number(&sequence_number(123)), Some(123));
    }
}
