//! The notifications port: each notification recorded once, by its deterministic id, with a
//! delivery state (`pending` until the notifier takes it, then `sent`), and listed newest first.
//!
//! The stream consumers record before they send and mark sent after, so a replayed stream
//! record skips what was sent and finishes what was not: the effect is exactly-once although
//! the streams deliver at least once.

#[cfg(feature = "dynamodb")]
pub(crate) mod dynamodb;
pub mod items;
#[cfg(feature = "embedded")]
pub(crate) mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stockroom_domain::ProductId;
use stockroom_domain::notifications::{
    Notification, NotificationId, NotificationKey, NotificationKind,
};
use stockroom_domain::orders::OrderId;
use stockroom_domain::page::{Limit, Page};
use crate::tables::Table;

/// Which notifications to list: newest first, after `after`, those matching every filter given.
#[derive(Debug, Clone, Default)]
pub struct NotificationQuery {
    pub order_id: Option<OrderId>,
    pub product_id: Option<ProductId>,
    pub kind: Option<NotificationKind>,
    pub limit: Limit,
    pub after: Option<NotificationKey>,
}

#[async_trait]
pub trait NotificationReader: Send + Sync {
    /// One page of the notifications `query` asks for, newest first.
    async fn list_notifications(
        &self,
        query: &NotificationQuery,
    ) -> anyhow::Result<Page<Notification>>;
}

#[async_trait]
pub trait NotificationWriter: Send + Sync {
    /// Records `notification` (pending) unless one with its id exists, in one conditional
    /// write, and returns what is recorded under that id: `notification` itself, or the one
    /// recorded before (whose `status` says whether it still has to be sent).
    async fn record(&self, notification: &Notification) -> anyhow::Result<Notification>;

    /// Marks the recorded notification `id` sent at `at`.
    ///
    /// # Errors
    /// When no notification `id` is recorded.
    async fn mark_sent(&self, id: &NotificationId, at: DateTime<Utc>) -> anyhow::Result<()>;
}

/// Everything a process that records and lists notifications needs.
pub trait NotificationsStore: NotificationReader + NotificationWriter {}

impl<T: NotificationReader + NotificationWriter> NotificationsStore for T {}

pub(crate) fn page_of(items: Vec<Notification>, limit: Limit) -> Page<Notification> {
    Page::of(items, limit, Notification::list_key)
}

/// The notifications table.
pub const TABLE: Table = Table {
    name: "notifications",
    env_var: "NOTIFICATIONS_TABLE",
    resource: "NotificationsTable",
};

impl crate::Store {
    /// The notifications port.
    ///
    /// # Errors
    /// With DynamoDB, when `NOTIFICATIONS_TABLE` is not set.
    pub fn notifications(&self) -> anyhow::Result<Arc<dyn NotificationsStore>> {
        Ok(match &self.backend {
            #[cfg(feature = "dynamodb")]
            crate::config::Backend::DynamoDb { client, tables } => {
                Arc::new(crate::dynamodb::DynamoNotifications::new(
                    client.clone(),
                    crate::Store::table(tables, crate::notifications::TABLE)?,
                ))
            }
            #[cfg(feature = "embedded")]
            crate::config::Backend::Embedded(store) => Arc::new(store.clone()),
        })
    }
}
