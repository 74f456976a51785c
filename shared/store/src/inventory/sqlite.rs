//! The inventory port over the embedded store. Each change is one `IMMEDIATE` transaction that
//! reads the level, checks the condition DynamoDB would check, and writes: no other writer (in
//! this process or another on the same file) can come in between.

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stockroom_domain::inventory::{
    Available, Quantity, ShardTake, Shards, Shortfall, StockLevel, StockMove, plan_takes,
};
use stockroom_domain::page::Page;
use stockroom_domain::{ProductId, timestamp};

use crate::sqlite::{SqliteStore, get_item, list_by_entity, write_item, write_transaction};
use crate::inventory::{SetPlan, StockError, StockQuery, StockReader, StockWriter, page_of};
use crate::catalog::items::{PRODUCT_SK, ProductItem, product_pk};
use crate::inventory::items::{
    STOCK_ENTITY, STOCK_SK, StockItem, level_counts, shard_keys, split_items, stock_pk,
};

/// The inventory lists through the `by-entity` index every table has: nothing of its own.
pub(crate) const SCHEMA: &str = "";

/// Every item of product `id`'s level (shard 0 and the rest, each under its own partition key
/// as in DynamoDB); `None` when it has no level.
pub(crate) fn level_items(
    conn: &rusqlite::Connection,
    id: &ProductId,
) -> anyhow::Result<Option<(StockItem, Vec<StockItem>)>> {
    let Some(head) = get_item::<StockItem>(conn, super::TABLE, &stock_pk(id), STOCK_SK)? else {
        return Ok(None);
    };
    let mut rest = Vec::new();
    for (pk, sk) in shard_keys(id, 1..head.items()) {
        if let Some(item) = get_item::<StockItem>(conn, super::TABLE, &pk, sk)? {
            rest.push(item);
        }
    }
    Ok(Some((head, rest)))
}

/// The level product `id`'s items make.
fn stored_level(conn: &rusqlite::Connection, id: &ProductId) -> anyhow::Result<Option<StockLevel>> {
    level_items(conn, id)?
        .map(|(head, rest)| StockItem::level(&head, &rest))
        .transpose()
}

/// Applies `mv` of `quantity` to the level `(head, rest)` inside `tx`: from shard `first` when
/// it has enough, else across the shards. Returns the shards it took from.
///
/// The inner result is the shortfall, with the level's total, when the level cannot take the
/// move; nothing is written then.
///
/// # Errors
/// When the store cannot be read or written.
pub(crate) fn move_level(
    tx: &rusqlite::Transaction<'_>,
    head: StockItem,
    rest: Vec<StockItem>,
    mv: StockMove,
    quantity: Quantity,
    first: Option<u32>,
    now: DateTime<Utc>,
) -> anyhow::Result<Result<Vec<ShardTake>, Shortfall>> {
    let counts = level_counts(&head, &rest)?;
    let mut items: Vec<StockItem> = std::iter::once(head).chain(rest).collect();
    let takes = match plan_takes(&counts, mv, quantity, first) {
        Ok(takes) => takes,
        Err(short) => return Ok(Err(short)),
    };
    let now = timestamp::format(&now);
    for take in &takes {
        let item = items
            .iter_mut()
            .find(|i| i.shard_number().ok() == Some(take.shard))
            .context("a plan took from a shard the level does not have")?;
        let q = Quantity::new(i64::try_from(take.quantity).unwrap_or(i64::MAX))?;
        // The plan takes no more than a shard has, so the move applies.
        let (available, reserved) = mv
            .apply(item.available, item.reserved, q)
            .map_err(|_| anyhow::anyhow!("a plan took more than shard {} has", take.shard))?;
        item.available = available;
        item.reserved = reserved;
        item.updated_at.clone_from(&now);
        item.trace = crate::items::trace_context();
        write_item(tx, super::TABLE, &item.pk, &item.sk, Some(&*item))?;
    }
    Ok(Ok(takes))
}

#[async_trait]
impl StockReader for SqliteStore {
    #[tracing::instrument(skip_all, fields(store = "sqlite", product_id = %id))]
    async fn get_stock(&self, id: &ProductId) -> anyhow::Result<Option<StockLevel>> {
        let id = id.clone();
        self.with_reader(move |conn| -> anyhow::Result<_> { stored_level(conn, &id) })
            .await
            .context("failed to get a stock level from the embedded store")
    }

    #[tracing::instrument(skip_all, fields(store = "sqlite"))]
    async fn list_stock(&self, query: &StockQuery) -> anyhow::Result<Page<StockLevel>> {
        let query = query.clone();
        self.with_reader(move |conn| -> anyhow::Result<_> {
            let after = query.after.as_ref().map(ToString::to_string);
            let heads: Vec<StockItem> = list_by_entity(
                conn,
                super::TABLE,
                STOCK_ENTITY,
                after.as_deref(),
                query.limit.fetch_size(),
            )?;
            let levels = heads
                .into_iter()
                .map(|head| {
                    if head.items() == 1 {
                        return head.into_level();
                    }
                    let id = ProductId::parse(&head.id)?;
                    let (head, rest) = level_items(conn, &id)?
                        .context("a listed stock level vanished inside one read")?;
                    StockItem::level(&head, &rest)
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(page_of(levels, query.limit))
        })
        .await
        .context("failed to list stock levels from the embedded store")
    }
}

#[async_trait]
impl StockWriter for SqliteStore {
    #[tracing::instrument(skip_all, fields(store = "sqlite", product_id = %id))]
    async fn set_stock(
        &self,
        id: &ProductId,
        available: Available,
        shards: Option<Shards>,
        now: DateTime<Utc>,
    ) -> Result<StockLevel, StockError> {
        let id = id.clone();
        self.with_conn(move |conn| {
            let tx = write_transaction(conn)?;
            // The catalog is a table in the same file: the check and the write are one
            // transaction, as DynamoDB's ConditionCheck and Update are.
            if get_item::<ProductItem>(&tx, crate::catalog::TABLE, &product_pk(&id), PRODUCT_SK)?.is_none() {
                return Err(StockError::UnknownProduct(id));
            }
            let existing = level_items(&tx, &id)?;
            let plan = SetPlan::of(existing.as_ref(), available, shards)?;
            let now = timestamp::format(&now);
            let mut written = Vec::with_capacity(plan.keep.len());
            for &(k, available, reserved) in &plan.keep {
                let mut item = StockItem::shard(&id, k, available, reserved, &now);
                if k == 0 {
                    item.shards = (plan.spread > 1).then_some(plan.spread);
                    item.shard_items = (plan.items() > 1).then_some(plan.items());
                }
                write_item(&tx, super::TABLE, &item.pk, &item.sk, Some(&item))?;
                written.push(item);
            }
            for k in &plan.delete {
                let pk = crate::inventory::items::shard_pk(&id, *k);
                write_item(&tx, super::TABLE, &pk, STOCK_SK, None::<&StockItem>)?;
            }
            tx.commit()?;
            let (head, rest) =
                split_items(written).context("a stock level just set has no shard 0")?;
            Ok(StockItem::level(&head, &rest)?)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(store = "sqlite", product_id = %id, ?mv, quantity = quantity.get()))]
    async fn move_stock(
        &self,
        id: &ProductId,
        mv: StockMove,
        quantity: Quantity,
        now: DateTime<Utc>,
    ) -> Result<StockLevel, StockError> {
        let id = id.clone();
        self.with_conn(move |conn| {
            let tx = write_transaction(conn)?;
            let Some((head, rest)) = level_items(&tx, &id)? else {
                return Err(StockError::NoStockLevel(id));
            };
            move_level(&tx, head, rest, mv, quantity, Some(0), now)?
                .map_err(|short| StockError::shortfall(&id, quantity, short))?;
            let level = stored_level(&tx, &id)?.context("a stock level just moved is gone")?;
            tx.commit()?;
            Ok(level)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(store = "sqlite", product_id = %id))]
    async fn delete_stock(&self, id: &ProductId) -> Result<StockLevel, StockError> {
        let id = id.clone();
        self.with_conn(move |conn| {
            let tx = write_transaction(conn)?;
            let Some((head, rest)) = level_items(&tx, &id)? else {
                return Err(StockError::NoStockLevel(id));
            };
            let level = StockItem::level(&head, &rest)?;
            if level.reserved > 0 {
                return Err(StockError::StillReserved {
                    product_id: id,
                    reserved: level.reserved,
                });
            }
            for item in std::iter::once(&head).chain(&rest) {
                write_item(&tx, super::TABLE, &item.pk, &item.sk, None::<&StockItem>)?;
            }
            tx.commit()?;
            Ok(level)
        })
        .await
    }
}
