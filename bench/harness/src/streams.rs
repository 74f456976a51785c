//! The stream consumers' calls: batches of fresh DynamoDB stream records, and how to tell from a
//! consumer's log what it did with them.
//!
//! A batch is made the way the dev server's feed reader makes one (`stockroom_local::feed`):
//! the harness makes the changes a consumer notifies about in a scratch embedded store that
//! lives for the whole run, reads them back from its change feed, and turns them into the
//! stream event Lambda would deliver. Both adapters store the same item shapes, so the images
//! are what a DynamoDB stream carries too (`local/tests/api/moto_stream.rs`
//! checks the feed's records against moto's own stream). Every batch is new: new orders, new
//! sequence numbers, so each record is a first delivery unless the row replays it.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Context as _, bail, ensure};
use aws_lambda_events::event::dynamodb::Event;
use serde_json::Value;
use stockroom_domain::ProductId;
use stockroom_domain::notifications::DEFAULT_LOW_STOCK_THRESHOLD;
use stockroom_local::feed::lambda_json;
use stockroom_local::template::StreamSource;
use stockroom_notifications::{Consumers, StreamConsumer};
use stockroom_store::changes::ChangeKind;
use stockroom_store::sqlite::SqliteStore;
use stockroom_store::tables::Table;

use stockroom_store::testing::workspace;

/// How a stream consumer's batches reach it: the two deliveries an at-least-once stream makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Records it has not seen: every one deserves a notification, which it records (a
    /// conditional `PutItem`), sends and marks sent (an `UpdateItem`).
    First,
    /// The same records again after they were all handled: every record finds its
    /// notification sent (the conditional `PutItem` returns it) and sends nothing.
    Replay,
}

impl Delivery {
    pub fn name(self) -> &'static str {
        match self {
            Self::First => "first delivery",
            Self::Replay => "replay (all sent)",
        }
    }

    /// What the consumer must have logged for `batches` batches of `size` records delivered
    /// this way: every record notified about once, or every one found already sent.
    pub fn expected(self, batches: usize, size: usize) -> Handled {
        let records = (batches * size) as u64;
        Handled {
            batches: batches as u64,
            records,
            sent: if self == Self::First { records } else { 0 },
            already_sent: if self == Self::Replay { records } else { 0 },
        }
    }
}

/// The message of the line a consumer logs after each batch it handled in full, with the
/// counts [`Handled`] sums (`stockroom_notifications::consumers`).
const BATCH_HANDLED: &str = "stream batch handled";

/// What a consumer's `stream batch handled` log lines say it did, summed over its batches.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Handled {
    pub batches: u64,
    pub records: u64,
    /// Notifications sent (recorded as pending, sent, marked sent).
    pub sent: u64,
    /// Notifications found already sent and skipped.
    pub already_sent: u64,
}

impl Handled {
    /// Sums the `stream batch handled` lines among a function's JSON log lines.
    pub fn from_log(lines: &[String]) -> Self {
        let mut handled = Self::default();
        for line in lines.iter().filter(|l| l.contains(BATCH_HANDLED)) {
            let Ok(line) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let fields = &line["fields"];
            if fields["message"] != BATCH_HANDLED {
                continue;
            }
            let count = |name: &str| fields[name].as_u64().unwrap_or(0);
            handled.batches += 1;
            handled.records += count("records");
            handled.sent += count("sent");
            handled.already_sent += count("already_sent");
        }
        handled
    }

    pub fn add(&mut self, other: Self) {
        self.batches += other.batches;
        self.records += other.records;
        self.sent += other.sent;
        self.already_sent += other.already_sent;
    }
}

/// The stream consumer `function` is, if it is one.
pub fn consumer(function: &str) -> Option<StreamConsumer> {
    StreamConsumer::named(function)
}

/// Products whose stock the `on_stock_change` batches take below the threshold, one per
/// record: `sku-low-000`, `sku-low-001`, ...
fn low_stock_product(i: usize) -> anyhow::Result<ProductId> {
    Ok(ProductId::parse(&format!("sku-low-{i:03}"))?)
}

/// The scratch store the batches are made in, and where each table's feed was last read.
pub struct Feed {
    store: stockroom_store::Store,
    sqlite: SqliteStore,
    sources: Vec<StreamSource>,
    read_to: HashMap<&'static str, i64>,
}

impl Feed {
    /// An in-memory embedded store with the harness's seed (the stock the orders reserve) and
    /// a product for every record of an `on_stock_change` batch.
    pub async fn new() -> anyhow::Result<Self> {
        use stockroom_domain::catalog::{Product, ProductDetails, ProductName};
        use stockroom_domain::{Currency, Price};
        let sources =
            stockroom_local::template::load_stream_sources(&workspace().join("template.yaml"))?;
        let sqlite = SqliteStore::in_memory()?;
        let store = stockroom_store::Store::embedded(sqlite.clone());
        crate::prepare::seed(&store).await?;
        let feed = Self {
            store,
            sqlite,
            sources,
            read_to: HashMap::new(),
        };
        let catalog = feed.store.catalog()?;
        for i in 0..feed.batch_size(StreamConsumer::OnStockChange)? {
            let details = ProductDetails {
                name: ProductName::parse(&format!("Low stock bench product {i}"))?,
                description: None,
                price: Price::new(100)?,
                currency: Currency::parse("USD")?,
                category: None,
            };
            let product = Product::new(
                low_stock_product(i)?,
                details,
                stockroom_domain::timestamp::now(),
            );
            catalog.create_product(&product).await?;
        }
        Ok(feed)
    }

    fn source(&self, consumer: StreamConsumer) -> anyhow::Result<&StreamSource> {
        self.sources
            .iter()
            .find(|s| s.handler == consumer.handler())
            .with_context(|| format!("template.yaml has no stream source for {consumer:?}"))
    }

    /// The template's `BatchSize` for `consumer`'s stream: the records of each of its calls.
    pub fn batch_size(&self, consumer: StreamConsumer) -> anyhow::Result<usize> {
        Ok(self.source(consumer)?.batch_size)
    }

    fn table(&self, consumer: StreamConsumer) -> anyhow::Result<Table> {
        let source = self.source(consumer)?;
        Table::by_resource(&source.table)
            .with_context(|| format!("{} is not a service's table", source.table))
    }

    /// Reads `table`'s feed to its end: the changes made so far are in no batch.
    async fn skip(&mut self, table: Table) -> anyhow::Result<i64> {
        let mut at = self.read_to.get(table.name).copied().unwrap_or(0);
        loop {
            let changes = self.sqlite.changes_after(table, at, 1000).await?;
            match changes.last() {
                Some(last) => at = last.seq,
                None => break,
            }
        }
        self.read_to.insert(table.name, at);
        Ok(at)
    }

    /// A new batch for `consumer`, of its stream's `BatchSize` records, each deserving one
    /// notification:
    /// - `on_order_change`: the INSERTs of that many orders placed now (confirmed, for
    ///   `cust-bench`, the sample order's lines): one `order_confirmation` each;
    /// - `on_stock_change`: the MODIFYs of that many products' stock levels, each reserving 1
    ///   of exactly the low-stock threshold's units (10 -> 9 available): one `low_stock` each.
    pub async fn batch(&mut self, consumer: StreamConsumer) -> anyhow::Result<Event> {
        let size = self.batch_size(consumer)?;
        let table = self.table(consumer)?;
        let now = stockroom_domain::timestamp::now;
        let (from, kind) = match consumer {
            StreamConsumer::OnOrderChange => {
                let from = self.skip(table).await?;
                for _ in 0..size {
                    crate::prepare::place(&self.store, crate::prepare::BENCH_CUSTOMER).await?;
                }
                (from, ChangeKind::Insert)
            }
            StreamConsumer::OnStockChange => {
                use stockroom_domain::inventory::{Available, Quantity, StockMove};
                let inventory = self.store.inventory()?;
                let threshold = i64::try_from(DEFAULT_LOW_STOCK_THRESHOLD)?;
                for i in 0..size {
                    let id = low_stock_product(i)?;
                    inventory
                        .set_stock(&id, Available::new(threshold)?, None, now())
                        .await?;
                }
                let from = self.skip(table).await?;
                for i in 0..size {
                    let id = low_stock_product(i)?;
                    inventory
                        .move_stock(&id, StockMove::Reserve, Quantity::new(1)?, now())
                        .await?;
                }
                (from, ChangeKind::Modify)
            }
        };
        let changes = self.sqlite.changes_after(table, from, size + 1).await?;
        ensure!(
            changes.len() == size && changes.iter().all(|c| c.kind == kind),
            "{consumer:?}: expected {size} {} changes of {}, the feed has {:?}",
            kind.as_str(),
            table.name,
            changes
                .iter()
                .map(|c| (c.kind.as_str(), &c.pk))
                .collect::<Vec<_>>()
        );
        if let Some(last) = changes.last() {
            self.read_to.insert(table.name, last.seq);
        }
        stockroom_local::feed::stream_event(table, &changes)
    }
}

/// `invocations` new batches for `consumer`, as the events of one cold start's calls. For a
/// replay, every batch is first handled in-process by the same consumer code against `store`
/// (the function's store, with the log notifier), so the function finds each notification sent.
pub async fn batches(
    feed: &mut Option<Feed>,
    store: &stockroom_store::Store,
    consumer: StreamConsumer,
    delivery: Delivery,
    invocations: usize,
) -> anyhow::Result<Vec<Value>> {
    if feed.is_none() {
        *feed = Some(Feed::new().await?);
    }
    let feed = feed.as_mut().context("no feed")?;
    let consumers = Consumers {
        store: store.notifications()?,
        notifier: Arc::new(stockroom_notifications::notifier::LogNotifier),
        low_stock_threshold: DEFAULT_LOW_STOCK_THRESHOLD,
    };
    let mut events = Vec::with_capacity(invocations);
    for _ in 0..invocations {
        let event = feed.batch(consumer).await?;
        if delivery == Delivery::Replay {
            let response = consumer.handle(&consumers, &event).await;
            if !response.batch_item_failures.is_empty() {
                bail!("{consumer:?}: delivering a batch before its replay failed: {response:?}");
            }
        }
        events.push(lambda_json(&event)?);
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use stockroom_local::feed::record_shape;
    use stockroom_notifications::notifier::RecordingNotifier;

    use super::*;

    #[tokio::test]
    async fn batches_are_fresh_and_shaped_like_the_events_samples() {
        let mut feed = Feed::new().await.unwrap();
        for consumer in StreamConsumer::ALL {
            let size = feed.batch_size(consumer).unwrap();
            assert_eq!(size, 100, "template.yaml's BatchSize for {consumer:?}");
            let text = std::fs::read_to_string(
                workspace()
                    .join("events")
                    .join(format!("{}.json", consumer.handler())),
            )
            .unwrap();
            let sample: Value = serde_json::from_str(&text).unwrap();
            // The sample's record of the change the batch is made of: an order's INSERT, a
            // stock level's MODIFY that crosses the threshold (the last one).
            let twin = sample["Records"]
                .as_array()
                .unwrap()
                .iter()
                .rfind(|r| {
                    r["eventName"]
                        == match consumer {
                            StreamConsumer::OnOrderChange => "INSERT",
                            StreamConsumer::OnStockChange => "MODIFY",
                        }
                })
                .unwrap();
            let first = lambda_json(&feed.batch(consumer).await.unwrap()).unwrap();
            let second = lambda_json(&feed.batch(consumer).await.unwrap()).unwrap();
            let mut sequence_numbers = std::collections::BTreeSet::new();
            for batch in [&first, &second] {
                let records = batch["Records"].as_array().unwrap();
                assert_eq!(records.len(), size);
                for record in records {
                    assert_eq!(
                        record_shape(record),
                        record_shape(twin),
                        "{consumer:?}: {record}"
                    );
                    let seq = record["dynamodb"]["SequenceNumber"].as_str().unwrap();
                    assert!(sequence_numbers.insert(seq.to_owned()), "{seq} twice");
                }
            }
            if consumer == StreamConsumer::OnStockChange {
                let record = &first["Records"][0]["dynamodb"];
                assert_eq!(record["OldImage"]["available"]["N"], "10");
                assert_eq!(record["NewImage"]["available"]["N"], "9");
            }
        }
    }

    #[tokio::test]
    async fn every_record_of_a_batch_notifies_once_and_its_replay_sends_nothing() {
        let store = stockroom_store::Store::embedded(SqliteStore::in_memory().unwrap());
        let mut feed = None;
        for consumer in StreamConsumer::ALL {
            let notifier = Arc::new(RecordingNotifier::default());
            let consumers = Consumers {
                store: store.notifications().unwrap(),
                notifier: notifier.clone(),
                low_stock_threshold: DEFAULT_LOW_STOCK_THRESHOLD,
            };
            let event = batches(&mut feed, &store, consumer, Delivery::First, 1)
                .await
                .unwrap()
                .remove(0);
            let event: Event = serde_json::from_value(event).unwrap();
            for _ in 0..2 {
                let response = consumer.handle(&consumers, &event).await;
                assert!(response.batch_item_failures.is_empty(), "{response:?}");
            }
            let sends = notifier.sends();
            assert_eq!(sends.len(), 100, "{consumer:?}: {sends:?}");
            assert!(sends.values().all(|n| *n == 1), "{consumer:?}: {sends:?}");

            // A replay's batches were handled before the function gets them.
            let replayed = batches(&mut feed, &store, consumer, Delivery::Replay, 1)
                .await
                .unwrap()
                .remove(0);
            let replayed: Event = serde_json::from_value(replayed).unwrap();
            consumer.handle(&consumers, &replayed).await;
            assert_eq!(notifier.sends().len(), 100, "{consumer:?}: the replay sent");
        }
    }

    #[test]
    fn the_batch_lines_of_a_log_are_summed() {
        let lines: Vec<String> = [
            r#"{"level":"INFO","fields":{"message":"stream batch handled","stream":"orders","records":100,"sent":98,"already_sent":2},"target":"stockroom_notifications::consumers"}"#,
            r#"{"level":"DEBUG","fields":{"message":"dynamodb call","operation":"PutItem"},"target":"stockroom_store::dynamodb::calls"}"#,
            r#"{"level":"INFO","fields":{"message":"stream batch handled","stream":"orders","records":100,"sent":100,"already_sent":0},"target":"stockroom_notifications::consumers"}"#,
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            Handled::from_log(&lines),
            Handled {
                batches: 2,
                records: 200,
                sent: 198,
                already_sent: 2
            }
        );
        assert_eq!(
            Delivery::First.expected(2, 100),
            Handled {
                batches: 2,
                records: 200,
                sent: 200,
                already_sent: 0
            }
        );
    }
}
