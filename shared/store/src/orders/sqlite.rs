//! The orders port over the embedded store. Every table is in the one file, so placing an
//! order (catalog read, stock moves, order, idempotency record) and a status change (order and
//! stock) are each one `IMMEDIATE` transaction: all or nothing, and no other writer between the
//! reads and the writes.

use std::collections::BTreeMap;

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Transaction, params};
use stockroom_domain::ProductId;
use stockroom_domain::inventory::StockMove;
use stockroom_domain::orders::{
    CatalogEntry, CustomerId, IdempotencyKey, Order, OrderId, OrderStatus,
};
use stockroom_domain::page::Page;

use crate::sqlite::{SqliteStore, get_item, newest_before, query_items, write_item, write_transaction};
use crate::catalog::items::{PRODUCT_SK, product_pk};
use crate::inventory::items::{STOCK_SK, StockItem, stock_pk};
use crate::orders::items::{
    CatalogEntryItem, IDEMPOTENCY_SK, IdempotencyItem, ORDER_SK, OrderItem, idempotency_pk,
    order_pk,
};
use crate::orders::{
    OrderError, OrderQuery, OrderReader, OrderWriter, PlaceOrder, Placed, Shortage, page_of,
    status_change,
};

/// The `by-customer` index: a customer's orders by when they were placed.
pub(crate) const SCHEMA: &str = "
CREATE INDEX IF NOT EXISTS items_orders_by_customer
    ON items (tbl, json_extract(body, '$.customer_id'), json_extract(body, '$.placed'));
";

fn stored_order(conn: &rusqlite::Connection, id: &OrderId) -> anyhow::Result<Option<OrderItem>> {
    get_item(conn, super::TABLE, &order_pk(id), ORDER_SK)
}

/// The catalog entries of `products` that are in the catalog.
pub(crate) fn catalog_entries<'a>(
    tx: &Transaction<'_>,
    products: impl Iterator<Item = &'a ProductId>,
) -> anyhow::Result<BTreeMap<ProductId, CatalogEntry>> {
    let mut entries = BTreeMap::new();
    for id in products {
        if let Some(item) = get_item::<CatalogEntryItem>(tx, crate::catalog::TABLE, &product_pk(id), PRODUCT_SK)?
        {
            let (id, entry) = item.into_entry()?;
            entries.insert(id, entry);
        }
    }
    Ok(entries)
}

/// The live idempotency record of `customer`'s `key`.
pub(crate) fn live_record(
    tx: &Transaction<'_>,
    customer: &CustomerId,
    key: Option<&IdempotencyKey>,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<IdempotencyItem>> {
    let Some(key) = key else {
        return Ok(None);
    };
    let record =
        get_item::<IdempotencyItem>(tx, super::TABLE, &idempotency_pk(customer, key), IDEMPOTENCY_SK)?;
    Ok(record.filter(|r| r.is_live(now)))
}

/// Writes the priced order `placed` inside `tx`: reserves every line's quantity, puts the order
/// and `record`. The caller has checked that the key has no live record.
///
/// # Errors
/// [`OrderError::InsufficientStock`] naming every short line.
pub(crate) fn write_placement(
    tx: &Transaction<'_>,
    placed: &Order,
    record: Option<&IdempotencyItem>,
    now: DateTime<Utc>,
) -> Result<(), OrderError> {
    move_lines(tx, placed, StockMove::Reserve, now)?;
    if stored_order(tx, &placed.id)?.is_some() {
        return Err(anyhow::anyhow!("order id {} is already taken", placed.id).into());
    }
    let item = OrderItem::new(placed);
    write_item(tx, super::TABLE, &item.pk, &item.sk, Some(&item))?;
    if let Some(record) = record {
        write_item(tx, super::TABLE, &record.pk, &record.sk, Some(record))?;
    }
    Ok(())
}

/// Applies `mv` of every line of `order` to its stock level inside `tx`, or names every line
/// whose level cannot take it (a missing level has nothing).
fn move_lines(
    tx: &Transaction<'_>,
    order: &Order,
    mv: StockMove,
    now: DateTime<Utc>,
) -> Result<(), OrderError> {
    let mut levels = Vec::with_capacity(order.items.len());
    let mut short = Vec::new();
    for line in &order.items {
        let quantity = line.stock_quantity().map_err(anyhow::Error::from)?;
        let level = get_item::<StockItem>(tx, crate::inventory::TABLE, &stock_pk(&line.product_id), STOCK_SK)?;
        let (available, reserved) = level.as_ref().map_or((0, 0), |l| (l.available, l.reserved));
        match (level, mv.apply(available, reserved, quantity)) {
            (Some(mut level), Ok((available, reserved))) => {
                level.available = available;
                level.reserved = reserved;
                level.updated_at = stockroom_domain::timestamp::format(&now);
                level.trace = crate::items::trace_context();
                levels.push(level);
            }
            (None, Ok(_)) => {
                return Err(anyhow::anyhow!("a missing stock level cannot move units").into());
            }
            (_, Err(shortfall)) => {
                short.push(Shortage::of(&line.product_id, line.quantity, shortfall));
            }
        }
    }
    if !short.is_empty() {
        return Err(match mv {
            StockMove::Reserve | StockMove::Decrement => OrderError::InsufficientStock(short),
            StockMove::Release | StockMove::Ship => OrderError::ReservedShort(short),
        });
    }
    for level in levels {
        write_item(tx, crate::inventory::TABLE, &level.pk, &level.sk, Some(&level))?;
    }
    Ok(())
}

#[async_trait]
impl OrderReader for SqliteStore {
    #[tracing::instrument(skip_all, fields(store = "sqlite", order_id = %id))]
    async fn get_order(&self, id: &OrderId) -> anyhow::Result<Option<Order>> {
        let id = id.clone();
        self.with_reader(move |conn| -> anyhow::Result<_> {
            stored_order(conn, &id)?
                .map(OrderItem::into_order)
                .transpose()
        })
        .await
        .context("failed to get an order from the embedded store")
    }

    #[tracing::instrument(skip_all, fields(store = "sqlite", customer_id = %query.customer_id))]
    async fn list_orders(&self, query: &OrderQuery) -> anyhow::Result<Page<Order>> {
        let query = query.clone();
        self.with_reader(move |conn| -> anyhow::Result<_> {
            let fetch = i64::try_from(query.limit.fetch_size()).unwrap_or(i64::MAX);
            let orders = query_items::<OrderItem>(
                conn,
                "SELECT body FROM items WHERE tbl = ?1
                 AND json_extract(body, '$.customer_id') = ?2
                 AND json_extract(body, '$.placed') < ?3
                 ORDER BY json_extract(body, '$.placed') DESC LIMIT ?4",
                params![
                    super::TABLE.name,
                    query.customer_id.as_str(),
                    newest_before(query.after.as_ref()),
                    fetch
                ],
            )?
            .into_iter()
            .map(OrderItem::into_order)
            .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(page_of(orders, query.limit))
        })
        .await
        .context("failed to list orders from the embedded store")
    }
}

#[async_trait]
impl OrderWriter for SqliteStore {
    #[tracing::instrument(skip_all, fields(store = "sqlite", customer_id = %order.request.customer_id))]
    async fn place_order(&self, order: &PlaceOrder) -> Result<Placed, OrderError> {
        let order = order.clone();
        self.with_conn(move |conn| {
            let tx = write_transaction(conn)?;
            let entries = catalog_entries(&tx, order.request.product_ids())?;
            let priced = order.priced(&entries);
            // Every outcome, a pricing error included, is a replay when the key has a live
            // record: its answer wins over today's catalog.
            let live = live_record(&tx, &order.request.customer_id, order.key.as_ref(), order.now)?;
            if let Some(replayed) = order.replay(live.as_ref())? {
                return Ok(replayed);
            }
            let (placed, record) = priced?;
            write_placement(&tx, &placed, record.as_ref(), order.now)?;
            tx.commit()?;
            Ok(Placed {
                order: placed,
                replayed: false,
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(store = "sqlite", order_id = %id, to = %to))]
    async fn change_status(
        &self,
        id: &OrderId,
        to: OrderStatus,
        now: DateTime<Utc>,
    ) -> Result<Order, OrderError> {
        let id = id.clone();
        self.with_conn(move |conn| {
            let tx = write_transaction(conn)?;
            let order = stored_order(&tx, &id)?
                .ok_or_else(|| OrderError::NotFound(id.clone()))?
                .into_order()?;
            let (next, mv) = status_change(&order, to, now)?;
            if let Some(mv) = mv {
                move_lines(&tx, &order, mv, now)?;
            }
            let item = OrderItem::new(&next);
            write_item(&tx, super::TABLE, &item.pk, &item.sk, Some(&item))?;
            tx.commit()?;
            Ok(next)
        })
        .await
    }
}
