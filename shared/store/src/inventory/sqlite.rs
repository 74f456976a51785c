//! The inventory port over the embedded store. Each change is one `IMMEDIATE` transaction that
//! reads the level, checks the condition DynamoDB would check, and writes: no other writer (in
//! this process or another on the same file) can come in between.

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stockroom_domain::ProductId;
use stockroom_domain::inventory::{Available, Quantity, StockLevel, StockMove};
use stockroom_domain::page::Page;

use crate::sqlite::{SqliteStore, get_item, list_by_entity, write_item, write_transaction};
use crate::inventory::{StockError, StockQuery, StockReader, StockWriter, page_of};
use crate::catalog::items::{PRODUCT_SK, ProductItem, product_pk};
use crate::inventory::items::{STOCK_ENTITY, STOCK_SK, StockItem, stock_pk};

/// The inventory lists through the `by-entity` index every table has: nothing of its own.
pub(crate) const SCHEMA: &str = "";

fn stored_level(conn: &rusqlite::Connection, id: &ProductId) -> anyhow::Result<Option<StockItem>> {
    get_item::<StockItem>(conn, super::TABLE, &stock_pk(id), STOCK_SK)
}

/// Writes the level `(available, reserved)` of `id` at `now` and commits `tx`.
fn commit_level(
    tx: rusqlite::Transaction<'_>,
    id: ProductId,
    available: u64,
    reserved: u64,
    now: DateTime<Utc>,
) -> Result<StockLevel, StockError> {
    let level = StockLevel {
        product_id: id,
        available,
        reserved,
        updated_at: now,
    };
    let item = StockItem::new(&level);
    write_item(&tx, super::TABLE, &item.pk, &item.sk, Some(&item))?;
    tx.commit()?;
    Ok(level)
}

#[async_trait]
impl StockReader for SqliteStore {
    #[tracing::instrument(skip_all, fields(store = "sqlite", product_id = %id))]
    async fn get_stock(&self, id: &ProductId) -> anyhow::Result<Option<StockLevel>> {
        let id = id.clone();
        self.with_reader(move |conn| -> anyhow::Result<_> {
            stored_level(conn, &id)?
                .map(StockItem::into_level)
                .transpose()
        })
        .await
        .context("failed to get a stock level from the embedded store")
    }

    #[tracing::instrument(skip_all, fields(store = "sqlite"))]
    async fn list_stock(&self, query: &StockQuery) -> anyhow::Result<Page<StockLevel>> {
        let query = query.clone();
        self.with_reader(move |conn| -> anyhow::Result<_> {
            let after = query.after.as_ref().map(ToString::to_string);
            let stored: Vec<StockItem> = list_by_entity(
                conn,
                super::TABLE,
                STOCK_ENTITY,
                after.as_deref(),
                query.limit.fetch_size(),
            )?;
            let levels = stored
                .into_iter()
                .map(StockItem::into_level)
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
            let reserved = stored_level(&tx, &id)?.map_or(0, |old| old.reserved);
            commit_level(tx, id, available.get(), reserved, now)
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
            let Some(old) = stored_level(&tx, &id)? else {
                return Err(StockError::NoStockLevel(id));
            };
            let (available, reserved) = mv
                .apply(old.available, old.reserved, quantity)
                .map_err(|short| StockError::shortfall(&id, quantity, short))?;
            commit_level(tx, id, available, reserved, now)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(store = "sqlite", product_id = %id))]
    async fn delete_stock(&self, id: &ProductId) -> Result<StockLevel, StockError> {
        let id = id.clone();
        self.with_conn(move |conn| {
            let tx = write_transaction(conn)?;
            let Some(old) = stored_level(&tx, &id)? else {
                return Err(StockError::NoStockLevel(id));
            };
            if old.reserved > 0 {
                return Err(StockError::StillReserved {
                    product_id: id,
                    reserved: old.reserved,
                });
            }
            write_item(&tx, super::TABLE, &old.pk, &old.sk, None::<&StockItem>)?;
            tx.commit()?;
            Ok(old.into_level()?)
        })
        .await
    }
}
