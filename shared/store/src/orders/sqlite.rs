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
use stockroom_domain::inventory::{Quantity, StockMove};
use stockroom_domain::orders::{
    CatalogEntry, CustomerId, IdempotencyKey, Order, OrderId, OrderStatus,
};
use stockroom_domain::page::Page;

use crate::sqlite::{SqliteStore, get_item, newest_before, query_items, write_item, write_transaction};
use crate::catalog::items::{PRODUCT_SK, product_pk};
use crate::inventory::sqlite::{level_items, move_level};
use crate::inventory::{random_shard, recorded};
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

/// Writes the priced order `placed` inside `tx`: reserves every line's quantity (recording in
/// the line which shards it took from), puts the order and `record`. The caller has checked
/// that the key has no live record.
///
/// # Errors
/// [`OrderError::InsufficientStock`] naming every short line.
pub(crate) fn write_placement(
    tx: &Transaction<'_>,
    placed: &mut Order,
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
/// whose level cannot take it (a missing level has nothing). A reservation takes from a shard
/// chosen at random and falls over to the others when it is short, and records in the line
/// where it took; a release or shipment moves each part back out of the shard it was taken
/// from, falling over likewise. A level is short only when all its shards together are.
fn move_lines(
    tx: &Transaction<'_>,
    order: &mut Order,
    mv: StockMove,
    now: DateTime<Utc>,
) -> Result<(), OrderError> {
    let mut short = Vec::new();
    for line in &mut order.items {
        let parts = match mv {
            StockMove::Reserve | StockMove::Decrement => vec![None],
            StockMove::Release | StockMove::Ship => line.takes().into_iter().map(Some).collect(),
        };
        let mut taken = Vec::new();
        for part in parts {
            let Some((head, rest)) = level_items(tx, &line.product_id)? else {
                let nothing = mv.apply(0, 0, line.stock_quantity().map_err(anyhow::Error::from)?);
                if let Err(shortfall) = nothing {
                    short.push(Shortage::of(&line.product_id, line.quantity, shortfall));
                }
                break;
            };
            let (quantity, first) = match part {
                Some(take) => (take.quantity, take.shard),
                None => (line.quantity, random_shard(head.spread())),
            };
            let quantity = Quantity::new(i64::try_from(quantity).unwrap_or(i64::MAX))
                .map_err(anyhow::Error::from)?;
            match move_level(tx, head, rest, mv, quantity, Some(first), now)? {
                Ok(takes) => taken.extend(takes),
                Err(shortfall) => {
                    short.push(Shortage::of(&line.product_id, line.quantity, shortfall));
                    break;
                }
            }
        }
        if matches!(mv, StockMove::Reserve) {
            line.taken_from = recorded(taken);
        }
    }
    if !short.is_empty() {
        return Err(match mv {
            StockMove::Reserve | StockMove::Decrement => OrderError::InsufficientStock(short),
            StockMove::Release | StockMove::Ship => OrderError::ReservedShort(short),
        });
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
            let (mut placed, record) = priced?;
            write_placement(&tx, &mut placed, record.as_ref(), order.now)?;
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
                move_lines(&tx, &mut order.clone(), mv, now)?;
            }
            let item = OrderItem::new(&next);
            write_item(&tx, super::TABLE, &item.pk, &item.sk, Some(&item))?;
            tx.commit()?;
            Ok(next)
        })
        .await
    }
}
