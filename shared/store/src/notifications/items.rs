//! The `notifications` table: one item per notification, listed newest first through one of
//! four indexes, chosen by the most selective filter.
//!
//! | item | pk | sk | other keys |
//! |---|---|---|---|
//! | notification | `NOTIFICATION#<id>` | `NOTIFICATION` | `entity = "notification"` + `listed` (GSI `by-time`), `kind` + `listed` (`by-kind`), `order_id` + `listed` (`by-order`, sparse), `product_id` + `listed` (`by-product`, sparse) |
//!
//! `listed` is `<created_at>#<id>`: it sorts in time order, and a query reads it backwards.
//! `order_id` and `product_id` are left out, not null, when they do not apply: DynamoDB refuses
//! a null where an index expects a string.

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use stockroom_domain::ProductId;
use stockroom_domain::notifications::{Delivery, Notification, NotificationId, NotificationKind};
use stockroom_domain::orders::{CustomerId, OrderId};

pub const NOTIFICATION_SK: &str = "NOTIFICATION";
pub const NOTIFICATION_ENTITY: &str = "notification";
pub const BY_TIME_INDEX: &str = "by-time";
pub const BY_KIND_INDEX: &str = "by-kind";
pub const BY_ORDER_INDEX: &str = "by-order";
pub const BY_PRODUCT_INDEX: &str = "by-product";

pub fn notification_pk(id: &NotificationId) -> String {
    format!("NOTIFICATION#{id}")
}

/// A notification as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub id: String,
    pub kind: NotificationKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    pub message: String,
    pub status: Delivery,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<String>,
    pub listed: String,
}

impl NotificationItem {
    pub fn new(n: &Notification) -> Self {
        Self {
            pk: notification_pk(&n.id),
            sk: NOTIFICATION_SK.to_owned(),
            entity: NOTIFICATION_ENTITY.to_owned(),
            id: n.id.to_string(),
            kind: n.kind,
            order_id: n.order_id.as_ref().map(ToString::to_string),
            customer_id: n.customer_id.as_ref().map(ToString::to_string),
            product_id: n.product_id.as_ref().map(ToString::to_string),
            message: n.message.clone(),
            status: n.status,
            created_at: stockroom_domain::timestamp::format(&n.created_at),
            sent_at: n.sent_at.as_ref().map(stockroom_domain::timestamp::format),
            listed: n.list_key().sort_key(),
        }
    }

    /// # Errors
    /// When a stored value no longer parses: the item was written by something else.
    pub fn into_notification(self) -> anyhow::Result<Notification> {
        let id = self.id.clone();
        let parse = || -> anyhow::Result<Notification> {
            Ok(Notification {
                id: NotificationId::parse(&self.id)?,
                kind: self.kind,
                order_id: self.order_id.as_deref().map(OrderId::parse).transpose()?,
                customer_id: self
                    .customer_id
                    .as_deref()
                    .map(CustomerId::parse)
                    .transpose()?,
                product_id: self
                    .product_id
                    .as_deref()
                    .map(ProductId::parse)
                    .transpose()?,
                message: self.message,
                status: self.status,
                created_at: crate::items::parse_time(&self.created_at)?,
                sent_at: self.sent_at.as_deref().map(crate::items::parse_time).transpose()?,
            })
        };
        parse().with_context(|| format!("stored notification {id:?} is not valid"))
    }
}
