//! The `notifications` table: one item per notification, listed newest first through one of
//! four indexes, chosen by the most selective filter.
//!
//! | item | pk | sk | other keys |
//! |---|---|---|---|
//! | notification | `NOTIFICATION#<id>` | `NOTIFICATION` | `time_shard` + `listed` (GSI `by-time`), `kind_shard` + `listed` (`by-kind`), `order_id` + `listed` (`by-order`, sparse), `product_id` + `listed` (`by-product`, sparse) |
//!
//! `listed` is `<created_at>#<id>`: it sorts in time order, and a query reads it backwards.
//!
//! Every notification of the shop goes into `by-time`, and every one of a kind into `by-kind`,
//! so their partition keys are sharded: `time_shard` is `notification#<s>` and `kind_shard`
//! `<kind>#<s>`, with `s` ([`shard_of`]) one of [`SHARDS`] fixed by the id. No index partition
//! takes more than a 32nd of the notifications (docs/scaling.md); a listing reads every shard and
//! merges. Both indexes project keys only, so marking a notification sent writes neither.
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

/// How many partitions `by-time` and `by-kind` spread over. Changing it re-shards nothing
/// already stored: a listing would miss the items of shards it no longer reads.
pub const SHARDS: u32 = 32;

/// The shard of notification `id`: FNV-1a of its bytes, modulo [`SHARDS`]. Stable across
/// builds and platforms (the stored key depends on it).
pub fn shard_of(id: &str) -> u32 {
    let hash = id.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    hash % SHARDS
}

/// The `by-time` partition of shard `s`.
pub fn time_shard(s: u32) -> String {
    format!("{NOTIFICATION_ENTITY}#{s:02}")
}

/// The `by-kind` partition of `kind`'s shard `s`.
pub fn kind_shard(kind: NotificationKind, s: u32) -> String {
    format!("{}#{s:02}", kind.as_str())
}

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
    /// The `by-time` index's partition ([`time_shard`]). Empty in an item written before the
    /// indexes were sharded, which no sharded listing finds (docs/scaling.md, upgrading).
    #[serde(default)]
    pub time_shard: String,
    /// The `by-kind` index's partition ([`kind_shard`]).
    #[serde(default)]
    pub kind_shard: String,
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
        let shard = shard_of(n.id.as_str());
        Self {
            pk: notification_pk(&n.id),
            sk: NOTIFICATION_SK.to_owned(),
            entity: NOTIFICATION_ENTITY.to_owned(),
            id: n.id.to_string(),
            kind: n.kind,
            time_shard: time_shard(shard),
            kind_shard: kind_shard(n.kind, shard),
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
