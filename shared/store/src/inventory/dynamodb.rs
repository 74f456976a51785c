//! The inventory port over DynamoDB: the layout of [`crate::inventory::items`].
//!
//! Every change is one conditional write, never a read and then a write: decrement and reserve
//! are an `UpdateItem` conditional on `available >= :q`, release on `reserved >= :q`, delete a
//! `DeleteItem` conditional on `reserved = 0`, so concurrent changes can never oversell. A failed
//! condition returns the item as it was (`ReturnValuesOnConditionCheckFailure`), which says
//! whether the level is missing or short, and by how much. Setting a level is one
//! `TransactWriteItems` (a `ConditionCheck` that the product is in the catalog, and the update),
//! then a `GetItem` for the level to answer with, since a transaction returns no values.

use anyhow::Context as _;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    ConditionCheck, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};
use stockroom_domain::inventory::{Available, Quantity, StockLevel, StockMove};
use stockroom_domain::page::{Cursor, Page};
use stockroom_domain::{ProductId, timestamp};

use crate::dynamodb::{Cancelled, Item, WRITE_ATTEMPTS, batch_get, n, s, sdk};
use crate::dynamodb::{trace_name, trace_value};
use crate::inventory::{StockError, StockQuery, StockReader, StockWriter};
use crate::items::BY_ENTITY_INDEX;
use crate::catalog::items::{PRODUCT_SK, product_pk};
use crate::inventory::items::{STOCK_ENTITY, STOCK_SK, StockItem, stock_pk};

/// Stock levels in one DynamoDB table; setting one also checks the catalog table.
#[derive(Debug, Clone)]
pub struct DynamoInventory {
    client: Client,
    table: String,
    catalog_table: String,
}

impl DynamoInventory {
    pub fn new(client: Client, table: impl Into<String>, catalog_table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            catalog_table: catalog_table.into(),
        }
    }

    async fn get_item(&self, id: &ProductId) -> anyhow::Result<Option<StockItem>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(stock_pk(id)))
            .key("sk", s(STOCK_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk(e, "failed to get a stock level"))?;
        output.item.map(stored).transpose()
    }

    /// The level as a failed condition left it: the item the error returned, or (for a server
    /// that does not return it) a consistent read. Only failures pay for that read.
    async fn level_after_failure(
        &self,
        id: &ProductId,
        returned: Option<&Item>,
    ) -> anyhow::Result<Option<StockItem>> {
        match returned {
            Some(item) if !item.is_empty() => stored(item.clone()).map(Some),
            _ => self.get_item(id).await,
        }
    }
}

fn stored(item: Item) -> anyhow::Result<StockItem> {
    serde_dynamo::from_item(item).context("stored stock level has an unexpected shape")
}

/// The update expression and condition of each move (`:q` the quantity, `:now` the time,
/// `#trace`/`:trace` the [`trace_value`]), on a stock item: the inventory endpoints and the order transactions move stock the same way.
pub(crate) fn move_expressions(mv: StockMove) -> (&'static str, &'static str) {
    match mv {
        StockMove::Decrement => (
            "SET available = available - :q, updated_at = :now, #trace = :trace",
            "attribute_exists(pk) AND available >= :q",
        ),
        StockMove::Reserve => (
            "SET available = available - :q, reserved = reserved + :q, updated_at = :now, #trace = :trace",
            "attribute_exists(pk) AND available >= :q",
        ),
        StockMove::Release => (
            "SET available = available + :q, reserved = reserved - :q, updated_at = :now, #trace = :trace",
            "attribute_exists(pk) AND reserved >= :q",
        ),
        StockMove::Ship => (
            "SET reserved = reserved - :q, updated_at = :now, #trace = :trace",
            "attribute_exists(pk) AND reserved >= :q",
        ),
    }
}

#[async_trait]
impl StockReader for DynamoInventory {
    #[tracing::instrument(skip_all, fields(store = "dynamodb", product_id = %id))]
    async fn get_stock(&self, id: &ProductId) -> anyhow::Result<Option<StockLevel>> {
        self.get_item(id)
            .await?
            .map(StockItem::into_level)
            .transpose()
    }

    /// The index projects only keys, so a stock move never writes it: a page is a `Query` of
    /// the index for the page's product ids (one more, to know whether another page follows),
    /// then a `BatchGetItem` of their levels.
    #[tracing::instrument(skip_all, fields(store = "dynamodb"))]
    async fn list_stock(&self, query: &StockQuery) -> anyhow::Result<Page<StockLevel>> {
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_ENTITY_INDEX)
            .expression_attribute_values(":e", s(STOCK_ENTITY))
            .limit(i32::try_from(query.limit.fetch_size()).unwrap_or(i32::MAX));
        request = match &query.after {
            Some(after) => request
                .key_condition_expression("entity = :e AND id > :after")
                .expression_attribute_values(":after", s(after.to_string())),
            None => request.key_condition_expression("entity = :e"),
        };
        let output = request
            .send()
            .await
            .map_err(|e| sdk(e, "failed to query stock levels"))?;
        let mut ids = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                let id = item
                    .get("id")
                    .and_then(|v| v.as_s().ok())
                    .context("a stock level's index entry has no id")?;
                ProductId::parse(id).context("a stock level's index entry has an invalid id")
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let more = ids.len() > query.limit.get();
        ids.truncate(query.limit.get());
        let keys = ids
            .iter()
            .map(|id| crate::orders::dynamodb::key(stock_pk(id), STOCK_SK))
            .collect();
        let mut levels = batch_get(&self.client, &self.table, keys, "failed to read stock levels")
            .await?
            .into_iter()
            .map(|item| stored(item)?.into_level())
            .collect::<anyhow::Result<Vec<_>>>()?;
        // A level deleted between the two reads is left out; the cursor still follows the
        // index, so the next page starts where this one ended.
        levels.sort_by(|a, b| a.product_id.cmp(&b.product_id));
        Ok(Page {
            items: levels,
            next_cursor: more
                .then(|| ids.last().map(|last| Cursor::after(last.clone()).encode()))
                .flatten(),
        })
    }
}

#[async_trait]
impl StockWriter for DynamoInventory {
    #[tracing::instrument(skip_all, fields(store = "dynamodb", product_id = %id))]
    async fn set_stock(
        &self,
        id: &ProductId,
        available: Available,
        now: DateTime<Utc>,
    ) -> Result<StockLevel, StockError> {
        let in_catalog = ConditionCheck::builder()
            .table_name(&self.catalog_table)
            .key("pk", s(product_pk(id)))
            .key("sk", s(PRODUCT_SK))
            .condition_expression("attribute_exists(pk)")
            .build()
            .context("failed to build a ConditionCheck")?;
        let update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(stock_pk(id)))
            .key("sk", s(STOCK_SK))
            .update_expression(
                "SET available = :a, updated_at = :now, entity = :e, id = :id, \
                 reserved = if_not_exists(reserved, :zero), #trace = :trace",
            )
            .set_expression_attribute_names(Some(trace_name()))
            .expression_attribute_values(":trace", trace_value())
            .expression_attribute_values(":a", n(available.get()))
            .expression_attribute_values(":now", s(timestamp::format(&now)))
            .expression_attribute_values(":e", s(STOCK_ENTITY))
            .expression_attribute_values(":id", s(id.to_string()))
            .expression_attribute_values(":zero", n(0))
            .build()
            .context("failed to build an Update")?;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let result = self
                .client
                .transact_write_items()
                .transact_items(
                    TransactWriteItem::builder()
                        .condition_check(in_catalog.clone())
                        .build(),
                )
                .transact_items(TransactWriteItem::builder().update(update.clone()).build())
                .send()
                .await;
            match result {
                Ok(_) => break,
                Err(err) => match Cancelled::of(&err) {
                    Some(Cancelled::ConditionFailed(_)) => {
                        return Err(StockError::UnknownProduct(id.clone()));
                    }
                    // A set is idempotent: when another transaction held the level, try again.
                    Some(Cancelled::Conflict) if attempts < WRITE_ATTEMPTS => {
                        tracing::debug!(
                            attempts,
                            "stock level held by another transaction; retrying"
                        );
                    }
                    _ => return Err(sdk(err, "failed to set a stock level").into()),
                },
            }
        }
        let level = self
            .get_item(id)
            .await?
            .context("a stock level just set cannot be read back")?;
        Ok(level.into_level()?)
    }

    #[tracing::instrument(skip_all, fields(store = "dynamodb", product_id = %id, ?mv, quantity = quantity.get()))]
    async fn move_stock(
        &self,
        id: &ProductId,
        mv: StockMove,
        quantity: Quantity,
        now: DateTime<Utc>,
    ) -> Result<StockLevel, StockError> {
        let (update, condition) = move_expressions(mv);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(stock_pk(id)))
            .key("sk", s(STOCK_SK))
            .update_expression(update)
            .condition_expression(condition)
            .expression_attribute_values(":q", n(quantity.get()))
            .expression_attribute_values(":now", s(timestamp::format(&now)))
            .set_expression_attribute_names(Some(trace_name()))
            .expression_attribute_values(":trace", trace_value())
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => Ok(stored(output.attributes.unwrap_or_default())?.into_level()?),
            Err(err) => {
                let Some(UpdateItemError::ConditionalCheckFailedException(failed)) =
                    err.as_service_error()
                else {
                    return Err(sdk(err, "failed to change a stock level").into());
                };
                let Some(old) = self.level_after_failure(id, failed.item()).await? else {
                    return Err(StockError::NoStockLevel(id.clone()));
                };
                match mv.apply(old.available, old.reserved, quantity) {
                    Err(short) => Err(StockError::shortfall(id, quantity, short)),
                    // Only with a server that returned no item and a level that changed again
                    // before the read: the client may simply try again.
                    Ok(_) => Err(anyhow::anyhow!(
                        "the condition on stock level {id} failed, but the level read after it allows the change"
                    )
                    .into()),
                }
            }
        }
    }

    #[tracing::instrument(skip_all, fields(store = "dynamodb", product_id = %id))]
    async fn delete_stock(&self, id: &ProductId) -> Result<StockLevel, StockError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(stock_pk(id)))
            .key("sk", s(STOCK_SK))
            .condition_expression("attribute_exists(pk) AND reserved = :zero")
            .expression_attribute_values(":zero", n(0))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => Ok(stored(output.attributes.unwrap_or_default())?.into_level()?),
            Err(err) => {
                let Some(DeleteItemError::ConditionalCheckFailedException(failed)) =
                    err.as_service_error()
                else {
                    return Err(sdk(err, "failed to delete a stock level").into());
                };
                match self.level_after_failure(id, failed.item()).await? {
                    None => Err(StockError::NoStockLevel(id.clone())),
                    Some(old) => Err(StockError::StillReserved {
                        product_id: id.clone(),
                        reserved: old.reserved,
                    }),
                }
            }
        }
    }
}
