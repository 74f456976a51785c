//! The orders port: placing an order is one transaction across the stock of every line, the
//! order and its idempotency record; a status change is one transaction across the order and
//! the stock it moves.

#[cfg(feature = "dynamodb")]
pub(crate) mod dynamodb;
pub mod items;
#[cfg(feature = "embedded")]
pub(crate) mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stockroom_domain::ProductId;
use stockroom_domain::inventory::{Shortfall, StockMove};
use stockroom_domain::orders::{
    CustomerId, IdempotencyKey, Order, OrderId, OrderKey, OrderRequest, OrderStatus, PricingError,
};
use stockroom_domain::page::{Limit, Page};

use std::collections::BTreeMap;

use stockroom_domain::orders::CatalogEntry;

use crate::orders::items::{IdempotencyItem, KeyReused};
use crate::tables::Table;

/// An order to place: the id it gets, the validated request, its idempotency key if the
/// client sent one, and the time it is placed at.
#[derive(Debug, Clone)]
pub struct PlaceOrder {
    pub id: OrderId,
    pub request: OrderRequest,
    pub key: Option<IdempotencyKey>,
    pub now: DateTime<Utc>,
}

impl PlaceOrder {
    /// The order priced from the catalog `entries`, with the idempotency record to write beside
    /// it (when the request has a key). Decided here for both adapters, which only read the
    /// entries and write what this returns.
    ///
    /// # Errors
    /// [`OrderError::Pricing`], which the caller answers only after [`Self::replay`] of the
    /// key's live record found none: a retry of an order placed before a product left the
    /// catalog is still a retry.
    pub(crate) fn priced(
        &self,
        entries: &BTreeMap<ProductId, CatalogEntry>,
    ) -> Result<(Order, Option<IdempotencyItem>), OrderError> {
        let order = Order::price(self.id.clone(), &self.request, entries, self.now)?;
        let record = self
            .key
            .as_ref()
            .map(|key| IdempotencyItem::new(key, self.request.fingerprint(), &order, &order))
            .transpose()?;
        Ok((order, record))
    }

    /// The answer the key's live `record` gives this request, if there is one: the order it
    /// placed when the bodies match (a replay, nothing written), or
    /// [`OrderError::KeyReused`] when the key was used for another request.
    ///
    /// # Errors
    /// [`OrderError::KeyReused`], or an unreadable record.
    pub(crate) fn replay(&self, record: Option<&IdempotencyItem>) -> Result<Option<Placed>, OrderError> {
        record.map(|record| self.replay_of(record)).transpose()
    }

    /// The answer the key's `record` gives this request: [`Self::replay`] of a record known to
    /// exist (the DynamoDB adapter's transaction found the key taken).
    ///
    /// # Errors
    /// [`OrderError::KeyReused`], or an unreadable record.
    pub(crate) fn replay_of(&self, record: &IdempotencyItem) -> Result<Placed, OrderError> {
        Ok(Placed {
            order: record.answer(&self.request.fingerprint())?,
            replayed: true,
        })
    }
}

/// A placed order, and whether it was placed by an earlier request with the same key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub order: Order,
    /// The order is the answer to an earlier request with the same idempotency key and body:
    /// nothing was written this time.
    pub replayed: bool,
}

/// A customer's orders, newest first, after `after`.
#[derive(Debug, Clone)]
pub struct OrderQuery {
    pub customer_id: CustomerId,
    pub limit: Limit,
    pub after: Option<OrderKey>,
}

/// A line whose product has fewer units than the order asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    pub product_id: ProductId,
    /// What the store held: `available` when placing, `reserved` when shipping or cancelling.
    pub have: u64,
    pub requested: u64,
}

/// Why an order was not placed or its status not changed. Nothing was changed in any case.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error(transparent)]
    Pricing(#[from] PricingError),
    /// Placing: these lines' products have fewer units available than asked for (a product
    /// with no stock level has 0).
    #[error("not enough stock available")]
    InsufficientStock(Vec<Shortage>),
    /// The idempotency key was used by this customer for a request with another body.
    #[error("the idempotency key was used with another request")]
    KeyReused,
    #[error("no order has the id \"{0}\"")]
    NotFound(OrderId),
    #[error("order \"{id}\" is {from}, and cannot become {to}")]
    IllegalTransition {
        id: OrderId,
        from: OrderStatus,
        to: OrderStatus,
    },
    /// Shipping or cancelling: the units this order reserved are no longer all reserved (they
    /// were released through the inventory API).
    #[error("the order's reserved stock is short")]
    ReservedShort(Vec<Shortage>),
    /// Other writers kept changing the order or its stock until the retries ran out.
    #[error("the order or its stock is being changed by someone else right now")]
    Contended,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

#[cfg(feature = "embedded")]
impl From<rusqlite::Error> for OrderError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Unexpected(err.into())
    }
}

impl From<KeyReused> for OrderError {
    fn from(err: KeyReused) -> Self {
        match err {
            KeyReused::OtherRequest => Self::KeyReused,
            KeyReused::Unreadable(err) => Self::Unexpected(err),
        }
    }
}

impl Shortage {
    /// The shortage of a line asking for `requested` units of `product_id`, when the count
    /// the move takes from held `shortfall`.
    pub fn of(product_id: &ProductId, requested: u64, shortfall: Shortfall) -> Self {
        let have = match shortfall {
            Shortfall::Available(n) | Shortfall::Reserved(n) => n,
        };
        Self {
            product_id: product_id.clone(),
            have,
            requested,
        }
    }
}

#[async_trait]
pub trait OrderReader: Send + Sync {
    /// # Errors
    /// Only when the store cannot be read.
    async fn get_order(&self, id: &OrderId) -> anyhow::Result<Option<Order>>;

    /// One page of a customer's orders, newest first.
    ///
    /// # Errors
    /// Only when the store cannot be read.
    async fn list_orders(&self, query: &OrderQuery) -> anyhow::Result<Page<Order>>;
}

#[async_trait]
pub trait OrderWriter: Send + Sync {
    /// Prices the order from the catalog and, in one transaction, reserves every line's
    /// quantity (only where `available >= quantity`), writes the order and its idempotency
    /// record. With a key whose live record has the same request fingerprint, returns that
    /// record's order and writes nothing.
    ///
    /// # Errors
    /// Pricing errors, [`OrderError::InsufficientStock`] naming every short line,
    /// [`OrderError::KeyReused`].
    async fn place_order(&self, order: &PlaceOrder) -> Result<Placed, OrderError>;

    /// Moves the order to `to` in one transaction conditional on the status it was read with,
    /// applying the transition's stock move to every line.
    ///
    /// # Errors
    /// [`OrderError::NotFound`], [`OrderError::IllegalTransition`] (naming the current status),
    /// [`OrderError::ReservedShort`].
    async fn change_status(
        &self,
        id: &OrderId,
        to: OrderStatus,
        now: DateTime<Utc>,
    ) -> Result<Order, OrderError>;
}

/// Everything the orders service needs.
pub trait OrdersStore: OrderReader + OrderWriter {}

impl<T: OrderReader + OrderWriter> OrdersStore for T {}

/// The page of orders from `orders` fetched newest first with one extra.
pub(crate) fn page_of(orders: Vec<Order>, limit: Limit) -> Page<Order> {
    Page::of(orders, limit, Order::list_key)
}

/// What moving `order` to `to` at `now` writes, in both adapters: the order in its new status,
/// and the move every line's stock makes (`None`: only the order changes).
///
/// # Errors
/// [`OrderError::IllegalTransition`], naming the order's current status.
pub(crate) fn status_change(
    order: &Order,
    to: OrderStatus,
    now: DateTime<Utc>,
) -> Result<(Order, Option<StockMove>), OrderError> {
    let mv = order
        .status
        .transition(to)
        .ok_or_else(|| OrderError::IllegalTransition {
            id: order.id.clone(),
            from: order.status,
            to,
        })?;
    let mut next = order.clone();
    next.status = to;
    next.updated_at = now;
    Ok((next, mv))
}

/// The orders table.
pub const TABLE: Table = Table {
    name: "orders",
    env_var: "ORDERS_TABLE",
    resource: "OrdersTable",
};

impl crate::Store {
    #[cfg(feature = "dynamodb")]
    pub(crate) fn dynamo_orders(
        client: &aws_sdk_dynamodb::Client,
        tables: &std::collections::BTreeMap<Table, String>,
    ) -> anyhow::Result<crate::dynamodb::DynamoOrders> {
        Ok(crate::dynamodb::DynamoOrders::new(
            client.clone(),
            crate::Store::table(tables, crate::orders::TABLE)?,
            crate::Store::table(tables, crate::catalog::TABLE)?,
            crate::Store::table(tables, crate::inventory::TABLE)?,
        ))
    }

    /// The orders port. Placing an order reads the catalog and moves stock, so it needs all
    /// three tables.
    ///
    /// # Errors
    /// With DynamoDB, when `ORDERS_TABLE`, `CATALOG_TABLE` or `INVENTORY_TABLE` is not set.
    pub fn orders(&self) -> anyhow::Result<Arc<dyn OrdersStore>> {
        Ok(match &self.backend {
            #[cfg(feature = "dynamodb")]
            crate::config::Backend::DynamoDb { client, tables } => Arc::new(crate::Store::dynamo_orders(client, tables)?),
            #[cfg(feature = "embedded")]
            crate::config::Backend::Embedded(store) => Arc::new(store.clone()),
        })
    }
}
