//! The `orders` table: orders, and the idempotency records that make a retried POST return
//! the first order instead of placing a second.
//!
//! | item | pk | sk | other keys |
//! |---|---|---|---|
//! | order | `ORDER#<order id>` | `ORDER` | `customer_id`, `placed` = `<created_at>#<order id>` (GSI `by-customer`, newest first) |
//! | idempotency record | `IDEMPOTENCY#<customer id>#<key>` | `IDEMPOTENCY` | `expires_at` (epoch seconds, the table's TTL attribute) |
//!
//! A customer id never contains `#`, so the record's key cannot be forged across customers.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use stockroom_domain::orders::{
    CatalogEntry, CustomerId, IDEMPOTENCY_TTL_HOURS, IdempotencyKey, Order, OrderId, OrderLine,
    OrderStatus,
};
use stockroom_domain::inventory::ShardTake;
use stockroom_domain::{Currency, Price, ProductId, timestamp};

use crate::items::parse_time;

pub const ORDER_SK: &str = "ORDER";
pub const ORDER_ENTITY: &str = "order";
pub const IDEMPOTENCY_SK: &str = "IDEMPOTENCY";
pub const IDEMPOTENCY_ENTITY: &str = "idempotency";
pub const BY_CUSTOMER_INDEX: &str = "by-customer";

pub fn order_pk(id: &OrderId) -> String {
    format!("ORDER#{id}")
}

pub fn idempotency_pk(customer: &CustomerId, key: &IdempotencyKey) -> String {
    format!("IDEMPOTENCY#{customer}#{}", key.as_str())
}

/// One line of a stored order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineItem {
    pub product_id: String,
    pub name: String,
    pub quantity: u64,
    pub unit_price: i64,
    pub line_total: i64,
    /// The stock shards the line's units were reserved in, when not all in shard 0
    /// ([`OrderLine::taken_from`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taken_from: Vec<TakeItem>,
}

/// Units of a line reserved in one shard of a split stock level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TakeItem {
    pub shard: u32,
    pub quantity: u64,
}

/// An order as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub id: String,
    pub customer_id: String,
    /// The `by-customer` index's sort key: newest first when read backwards.
    pub placed: String,
    pub items: Vec<LineItem>,
    pub total: i64,
    pub currency: String,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
    /// The trace context of the write that last changed the item ([`crate::items::TRACE_ATTRIBUTE`]).
    #[serde(default)]
    pub trace: String,
}

impl OrderItem {
    pub fn new(order: &Order) -> Self {
        Self {
            pk: order_pk(&order.id),
            sk: ORDER_SK.to_owned(),
            entity: ORDER_ENTITY.to_owned(),
            id: order.id.to_string(),
            customer_id: order.customer_id.to_string(),
            placed: order.list_key().sort_key(),
            items: order
                .items
                .iter()
                .map(|l| LineItem {
                    product_id: l.product_id.to_string(),
                    name: l.name.clone(),
                    quantity: l.quantity,
                    unit_price: l.unit_price.minor_units(),
                    line_total: l.line_total,
                    taken_from: l
                        .taken_from
                        .iter()
                        .map(|t| TakeItem {
                            shard: t.shard,
                            quantity: t.quantity,
                        })
                        .collect(),
                })
                .collect(),
            total: order.total,
            currency: order.currency.as_str().to_owned(),
            status: order.status.as_str().to_owned(),
            created_at: timestamp::format(&order.created_at),
            updated_at: timestamp::format(&order.updated_at),
            trace: crate::items::trace_context(),
        }
    }

    /// # Errors
    /// When a stored value no longer parses: the item was written by something else.
    pub fn into_order(self) -> anyhow::Result<Order> {
        let id = self.id.clone();
        let parse = || -> anyhow::Result<Order> {
            Ok(Order {
                id: OrderId::parse(&self.id)?,
                customer_id: CustomerId::parse(&self.customer_id)?,
                items: self
                    .items
                    .into_iter()
                    .map(|l| -> anyhow::Result<OrderLine> {
                        Ok(OrderLine {
                            product_id: ProductId::parse(&l.product_id)?,
                            name: l.name,
                            quantity: l.quantity,
                            unit_price: Price::new(l.unit_price)?,
                            line_total: l.line_total,
                            taken_from: l
                                .taken_from
                                .iter()
                                .map(|t| ShardTake {
                                    shard: t.shard,
                                    quantity: t.quantity,
                                })
                                .collect(),
                        })
                    })
                    .collect::<anyhow::Result<_>>()?,
                total: self.total,
                currency: Currency::parse(&self.currency)?,
                status: OrderStatus::parse(&self.status)?,
                created_at: parse_time(&self.created_at)?,
                updated_at: parse_time(&self.updated_at)?,
            })
        };
        parse().with_context(|| format!("stored order {id:?} is not valid"))
    }
}

/// The record of an `Idempotency-Key`: which request it was sent with (its fingerprint) and
/// the answer that request got, so a retry gets the same answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdempotencyItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub request_hash: String,
    pub order_id: String,
    /// The status code of the first answer.
    pub status_code: u16,
    /// The order as the first answer gave it (JSON).
    pub response: String,
    pub created_at: String,
    /// When the record stops counting (epoch seconds): DynamoDB's TTL deletes it some time
    /// after; both stores ignore it from then on.
    pub expires_at: i64,
}

impl IdempotencyItem {
    /// The record of `key` for `order`, placed by a request with fingerprint `request_hash`
    /// and answered with `answer` (the order, or a checkout's answer around it).
    ///
    /// # Errors
    /// When the answer cannot be serialized.
    pub fn new(
        key: &IdempotencyKey,
        request_hash: String,
        order: &Order,
        answer: &impl Serialize,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            pk: idempotency_pk(&order.customer_id, key),
            sk: IDEMPOTENCY_SK.to_owned(),
            entity: IDEMPOTENCY_ENTITY.to_owned(),
            request_hash,
            order_id: order.id.to_string(),
            status_code: 201,
            response: serde_json::to_string(answer)?,
            created_at: timestamp::format(&order.created_at),
            expires_at: expiry(order.created_at),
        })
    }

    /// Whether the record still counts at `now`.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at > now.timestamp()
    }

    /// The first answer, if this record is of a request with fingerprint `request_hash`.
    ///
    /// # Errors
    /// [`KeyReused`] when the record is of another request; when the stored answer no longer
    /// parses.
    pub fn answer<T: DeserializeOwned>(&self, request_hash: &str) -> Result<T, KeyReused> {
        if self.request_hash != request_hash {
            return Err(KeyReused::OtherRequest);
        }
        serde_json::from_str(&self.response)
            .with_context(|| format!("idempotency record {:?} holds no valid answer", self.pk))
            .map_err(KeyReused::Unreadable)
    }
}

/// Why a record's answer cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum KeyReused {
    #[error("the idempotency key was used with another request")]
    OtherRequest,
    #[error(transparent)]
    Unreadable(anyhow::Error),
}

/// When a key recorded at `at` expires, in epoch seconds.
pub fn expiry(at: DateTime<Utc>) -> i64 {
    (at + chrono::Duration::hours(IDEMPOTENCY_TTL_HOURS)).timestamp()
}

/// The catalog attributes an order reads of a product (a projection of the product item).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogEntryItem {
    pub id: String,
    pub name: String,
    pub price: i64,
    pub currency: String,
}

impl CatalogEntryItem {
    /// The attributes to project from a product item.
    pub const PROJECTION: &'static str = "id, #name, price, currency";

    /// # Errors
    /// When a stored value no longer parses.
    pub fn into_entry(self) -> anyhow::Result<(ProductId, CatalogEntry)> {
        let id = self.id.clone();
        let parse = || -> anyhow::Result<(ProductId, CatalogEntry)> {
            Ok((
                ProductId::parse(&self.id)?,
                CatalogEntry {
                    name: self.name,
                    price: Price::new(self.price)?,
                    currency: Currency::parse(&self.currency)?,
                },
            ))
        };
        parse().with_context(|| format!("stored product {id:?} is not valid"))
    }
}
