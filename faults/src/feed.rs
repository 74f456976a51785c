//! The notifications of a faults run: the orders and inventory tables' real streams (read from
//! the DynamoDB-compatible server as Lambda's event source mapping reads them) handed to the
//! stream consumers, whose notifications store is behind the fault proxy too, publishing to a
//! model of the SNS FIFO topic that fails as SNS can.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event;
use serde_json::{Value, json};
use stockroom_domain::notifications::Notification;
use stockroom_notifications::notifier::Notifier;
use stockroom_notifications::{Consumers, StreamConsumer};

use crate::rng::Rng;

/// How many records the event source mapping hands one invocation (template.yaml's
/// `BatchSize`).
pub const BATCH_SIZE: usize = 100;

/// How often a failing record is retried before it (and what follows it in its batch) goes to
/// the dead-letter queue (template.yaml's `MaximumRetryAttempts` of the consumers).
pub const MAX_RETRIES: u32 = 20;

/// SNS FIFO's deduplication window: a message whose deduplication id was published within it
/// is accepted and not delivered again.
pub const DEDUPLICATION_WINDOW: Duration = Duration::from_secs(5 * 60);

/// Each notification id's publishes: how many, and the first and last.
#[derive(Debug, Clone, Copy)]
pub struct Published {
    pub times: u64,
    pub first: Instant,
    pub last: Instant,
}

/// An SNS FIFO topic that fails a share of publishes: half before publishing (SNS down), half
/// after (published, the answer lost), so the consumer has to send again either way.
#[derive(Debug)]
pub struct FifoTopic {
    failure_rate: f64,
    rng: Mutex<Rng>,
    published: Mutex<BTreeMap<String, Published>>,
    pub failed_before: AtomicU64,
    pub failed_after: AtomicU64,
}

impl FifoTopic {
    pub fn new(failure_rate: f64, seed: u64) -> Self {
        Self {
            failure_rate,
            rng: Mutex::new(Rng::new(seed)),
            published: Mutex::new(BTreeMap::new()),
            failed_before: AtomicU64::new(0),
            failed_after: AtomicU64::new(0),
        }
    }

    /// What was published, by notification id.
    pub fn published(&self) -> BTreeMap<String, Published> {
        self.published
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl Notifier for FifoTopic {
    async fn send(&self, n: &Notification) -> anyhow::Result<()> {
        let draw = self
            .rng
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .unit();
        if draw < self.failure_rate / 2.0 {
            self.failed_before.fetch_add(1, Ordering::Relaxed);
            anyhow::bail!("SNS is unavailable (injected)");
        }
        let now = Instant::now();
        self.published
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(n.id.to_string())
            .and_modify(|p| {
                p.times += 1;
                p.last = now;
            })
            .or_insert(Published {
                times: 1,
                first: now,
                last: now,
            });
        if draw < self.failure_rate {
            self.failed_after.fetch_add(1, Ordering::Relaxed);
            anyhow::bail!("SNS published the message, and its answer was lost (injected)");
        }
        Ok(())
    }
}

/// How the stream delivery went.
#[derive(Debug, Default, Clone, Copy)]
pub struct Delivery {
    pub records: usize,
    pub invocations: u64,
    /// Invocations that reported failed items, so the batch was retried from the first.
    pub retried: u64,
    /// Records that failed [`MAX_RETRIES`] retries in a row: they and the rest of their batch
    /// went to the dead-letter queue.
    pub dead_lettered: u64,
}

/// Hands `records` (one stream, in order) to `consumer` as the event source mapping does with
/// `ReportBatchItemFailures`: batches of [`BATCH_SIZE`], a batch that reports failed items
/// retried from the first of them (the checkpoint), a record discarded once it has failed
/// [`MAX_RETRIES`] retries ("discard records after the specified number of retries"): the
/// count starts again when the checkpoint moves past it.
///
/// # Errors
/// When the records do not parse as Lambda's event.
pub async fn deliver(
    consumer: StreamConsumer,
    consumers: &Consumers,
    records: &[Value],
    delivery: &mut Delivery,
) -> anyhow::Result<()> {
    delivery.records += records.len();
    for batch in records.chunks(BATCH_SIZE) {
        let mut from = 0;
        let mut retries = 0;
        while from < batch.len() {
            let event: Event = serde_json::from_value(json!({"Records": &batch[from..]}))?;
            delivery.invocations += 1;
            let response = consumer.handle(consumers, &event).await;
            let Some(failed) = response.batch_item_failures.first() else {
                break;
            };
            let sequence = failed.item_identifier.as_deref();
            let checkpoint = from
                + batch[from..]
                    .iter()
                    .position(|r| r["dynamodb"]["SequenceNumber"].as_str() == sequence)
                    .unwrap_or(0);
            if checkpoint > from {
                retries = 0;
            }
            if retries == MAX_RETRIES {
                delivery.dead_lettered += 1;
                break;
            }
            retries += 1;
            delivery.retried += 1;
            from = checkpoint;
        }
    }
    Ok(())
}
