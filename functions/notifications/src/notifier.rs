//! The `Notifier` port: how a recorded notification goes out. In AWS an SNS FIFO topic (the
//! notification's id is the message's deduplication id, so a resend within SNS's five-minute
//! window is dropped there too); elsewhere a notifier that writes it to the log.

use std::sync::Arc;

use async_trait::async_trait;
use stockroom_domain::notifications::Notification;

/// The variable template.yaml sets to the topic's ARN; unset, notifications are logged.
pub const TOPIC_VAR: &str = "NOTIFICATIONS_TOPIC_ARN";

#[async_trait]
pub trait Notifier: Send + Sync {
    /// Sends `notification`. An error means it may not have gone out: the caller tries again.
    async fn send(&self, notification: &Notification) -> anyhow::Result<()>;
}

/// The local notifier: one log line per notification (`cargo dev`, `cargo lambda watch`).
#[derive(Debug, Default, Clone, Copy)]
pub struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    async fn send(&self, n: &Notification) -> anyhow::Result<()> {
        tracing::info!(
            notification_id = %n.id,
            kind = %n.kind,
            message = %n.message,
            "notification sent (logged: no NOTIFICATIONS_TOPIC_ARN)"
        );
        Ok(())
    }
}

/// A notifier that remembers what it sent and fails the attempts it is told to (by their
/// position, from 1): what the tests count exactly-once against.
#[derive(Debug, Default)]
pub struct RecordingNotifier {
    sent: std::sync::Mutex<Vec<String>>,
    attempts: std::sync::atomic::AtomicUsize,
    fail_attempts: Vec<usize>,
}

impl RecordingNotifier {
    /// One that fails the `attempts`-th sends (1 is the first) and sends the rest.
    pub fn failing(attempts: &[usize]) -> Self {
        Self {
            fail_attempts: attempts.to_vec(),
            ..Self::default()
        }
    }

    /// How often each notification id was sent.
    pub fn sends(&self) -> std::collections::BTreeMap<String, usize> {
        let mut sends = std::collections::BTreeMap::new();
        for id in self.sent.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            *sends.entry(id.clone()).or_default() += 1;
        }
        sends
    }

    /// How many sends were attempted, failed ones included.
    pub fn attempts(&self) -> usize {
        self.attempts.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait]
impl Notifier for RecordingNotifier {
    async fn send(&self, n: &Notification) -> anyhow::Result<()> {
        let attempt = self
            .attempts
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        if self.fail_attempts.contains(&attempt) {
            anyhow::bail!("the notifier is down (attempt {attempt})");
        }
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(n.id.to_string());
        Ok(())
    }
}

/// Publishes each notification to an SNS FIFO topic: the body is the notification as JSON, the
/// deduplication id its id, the group its order or product, and its kind a message attribute
/// subscribers can filter on.
#[cfg(feature = "sns")]
#[derive(Debug, Clone)]
pub struct SnsNotifier {
    client: aws_sdk_sns::Client,
    topic_arn: String,
}

#[cfg(feature = "sns")]
impl SnsNotifier {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
        }
    }
}

#[cfg(feature = "sns")]
#[async_trait]
impl Notifier for SnsNotifier {
    async fn send(&self, n: &Notification) -> anyhow::Result<()> {
        use anyhow::Context as _;
        use aws_sdk_sns::types::MessageAttributeValue;
        let kind = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(n.kind.as_str())
            .build()
            .context("failed to build the kind attribute")?;
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .message(serde_json::to_string(n)?)
            .message_deduplication_id(n.id.as_str())
            .message_group_id(n.subject())
            .message_attributes("kind", kind)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{}", aws_sdk_sns::error::DisplayErrorContext(e)))
            .context("failed to publish a notification to SNS")?;
        Ok(())
    }
}

/// The notifier the environment describes: SNS when [`TOPIC_VAR`] is set, else the log;
/// either behind a circuit breaker ([`crate::breaker`]).
///
/// # Errors
/// When the topic is set but this build has no SNS notifier.
pub async fn from_env() -> anyhow::Result<Arc<dyn Notifier>> {
    match std::env::var(TOPIC_VAR)
        .ok()
        .filter(|t| !t.trim().is_empty())
    {
        #[cfg(feature = "sns")]
        Some(topic) => {
            let shared = stockroom_store::aws::sdk_config("SNS")?;
            Ok(Arc::new(crate::breaker::Breaker::new(Arc::new(
                SnsNotifier::new(aws_sdk_sns::Client::new(&shared), topic),
            ))))
        }
        #[cfg(not(feature = "sns"))]
        Some(_) => anyhow::bail!(
            "{TOPIC_VAR} is set, but this build has no SNS notifier: unset it to log \
             notifications, or build with the `sns` feature (the default)"
        ),
        None => Ok(Arc::new(crate::breaker::Breaker::new(Arc::new(
            LogNotifier,
        )))),
    }
}
