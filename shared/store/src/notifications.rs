//! The notifications port: each notification recorded once, by its deterministic id, with a
//! delivery state (`pending` until the notifier takes it, then `sent`), and listed newest first.
//!
//! The stream consumers record before they send and mark sent after, so a replayed stream
//! record skips what was sent and finishes what was not: the effect is exactly-once although
//! the streams deliver at least once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stockroom_domain::ProductId;
use stockroom_domain::notifications::{
    Notification, NotificationId, NotificationKey, NotificationKind,
};
use stockroom_domain::orders::OrderId;
use stockroom_domain::page::{Limit, Page};

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
