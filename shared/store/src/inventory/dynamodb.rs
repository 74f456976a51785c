//! The inventory port over DynamoDB: the layout of [`crate::inventory::items`].
//!
//! Every change is one conditional write, never a read and then a write: decrement and reserve
//! are an `UpdateItem` conditional on `available >= :q`, release on `reserved >= :q`, delete a
//! `DeleteItem` conditional on `reserved = 0`, so concurrent changes can never oversell. A failed
//! condition returns the item as it was (`ReturnValuesOnConditionCheckFailure`), which says
//! whether the level is missing or short, and by how much. Setting a level is a read of its
//! items, one `TransactWriteItems` (a `ConditionCheck` that the product is in the catalog, and
//! the update of every shard), then a read of the level to answer with, since a transaction
//! returns no values.
//!
//! A split level (more than one shard, each under its own partition key) costs more only where
//! it must: reading one is a `GetItem` of shard 0 and a `BatchGetItem` of the others (an
//! unsplit level is the one `GetItem`); a move first tries shard 0 as an unsplit level's move
//! does, and when shard 0 is short it reads the shards and moves across them in one
//! transaction of conditional updates.

use anyhow::Context as _;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    ConditionCheck, Delete, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
    Update,
};
use chrono::{DateTime, Utc};
use stockroom_domain::inventory::{
    Available, Quantity, Shards, StockLevel, StockMove, plan_takes,
};
use stockroom_domain::page::{Cursor, Page};
use stockroom_domain::{ProductId, timestamp};

use crate::dynamodb::{Cancelled, Item, WRITE_ATTEMPTS, batch_get, n, s, sdk};
use crate::dynamodb::{trace_name, trace_value};
use crate::inventory::{SetPlan, StockError, StockQuery, StockReader, StockWriter};
use crate::items::BY_ENTITY_INDEX;
use crate::catalog::items::{PRODUCT_SK, product_pk};
use crate::inventory::items::{
    STOCK_ENTITY, STOCK_SK, StockItem, level_counts, shard_keys, shard_pk, split_items, stock_pk,
};

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

    /// Every item of product `id`'s level, read consistently with one `Query` of its partition
    /// key: shard 0 and the rest, or `None` when it has no level.
    pub(crate) async fn level_items(
        &self,
        id: &ProductId,
    ) -> anyhow::Result<Option<(StockItem, Vec<StockItem>)>> {
        Ok(split_items(
            read_level(&self.client, &self.table, id, None).await?,
        ))
    }

    async fn level(&self, id: &ProductId) -> anyhow::Result<Option<StockLevel>> {
        self.level_items(id)
            .await?
            .map(|(head, rest)| StockItem::level(&head, &rest))
            .transpose()
    }

    /// Shard 0 as a failed condition left it: the item the error returned, or (for a server
    /// that does not return it) a consistent read. Only failures pay for that read.
    async fn head_after_failure(
        &self,
        id: &ProductId,
        returned: Option<&Item>,
    ) -> anyhow::Result<Option<StockItem>> {
        match returned {
            Some(item) if !item.is_empty() => stored(item.clone()).map(Some),
            _ => Ok(self.level_items(id).await?.map(|(head, _)| head)),
        }
    }

    /// `mv` of `quantity` across the shards of a split level, as [`plan_takes`] divides it: one
    /// transaction of conditional updates, planned anew when a shard changed in between.
    async fn move_across_shards(
        &self,
        id: &ProductId,
        mv: StockMove,
        quantity: Quantity,
        now: DateTime<Utc>,
    ) -> Result<StockLevel, StockError> {
        for attempts in 1..=WRITE_ATTEMPTS {
            let Some((head, rest)) = self.level_items(id).await? else {
                return Err(StockError::NoStockLevel(id.clone()));
            };
            let takes = plan_takes(&level_counts(&head, &rest)?, mv, quantity, None)
                .map_err(|short| StockError::shortfall(id, quantity, short))?;
            let now = timestamp::format(&now);
            let actions = takes
                .iter()
                .map(|take| shard_update(&self.table, id, take.shard, take.quantity, mv, &now))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions))
                .send()
                .await;
            match result {
                Ok(_) => {
                    return Ok(self
                        .level(id)
                        .await?
                        .context("a stock level just moved cannot be read back")?);
                }
                Err(err) => match Cancelled::of(&err) {
                    Some(_) => {
                        tracing::debug!(attempts, "a stock shard changed while moving; retrying");
                    }
                    None => return Err(sdk(err, "failed to change a split stock level").into()),
                },
            }
        }
        Err(anyhow::anyhow!("stock level {id} kept changing while it was moved; try again").into())
    }
}

/// Every item of product `id`'s level, read consistently: shard 0 by `GetItem`, and for a
/// split level its other shards by one `BatchGetItem`. With `known` (how many shard items the
/// caller read shard 0 saying a moment ago), one `BatchGetItem` of them all, and another only
/// if shard 0 now says there are more.
pub(crate) async fn read_level(
    client: &Client,
    table: &str,
    id: &ProductId,
    known: Option<u32>,
) -> anyhow::Result<Vec<StockItem>> {
    let mut items = match known {
        Some(n) => read_shards(client, table, id, 0..n.max(1)).await?,
        None => {
            let output = client
                .get_item()
                .table_name(table)
                .key("pk", s(stock_pk(id)))
                .key("sk", s(STOCK_SK))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| sdk(e, "failed to get a stock level"))?;
            output.item.map(stored).transpose()?.into_iter().collect()
        }
    };
    let read = known.unwrap_or(1).max(1);
    let want = items
        .iter()
        .find(|i| i.shard_number().ok() == Some(0))
        .map_or(0, StockItem::items);
    if want > read {
        items.extend(read_shards(client, table, id, read..want).await?);
    }
    Ok(items)
}

/// Shards `range` of product `id`'s level that exist, read consistently with one
/// `BatchGetItem` (none for an empty range).
async fn read_shards(
    client: &Client,
    table: &str,
    id: &ProductId,
    range: std::ops::Range<u32>,
) -> anyhow::Result<Vec<StockItem>> {
    if range.is_empty() {
        return Ok(Vec::new());
    }
    let keys = shard_keys(id, range)
        .into_iter()
        .map(|(pk, sk)| crate::orders::dynamodb::key(pk, sk))
        .collect();
    batch_get(client, table, keys, true, "failed to read stock shards")
        .await?
        .into_iter()
        .map(stored)
        .collect()
}

/// The transaction action that applies `mv` of `quantity` to shard `shard` of product `id`'s
/// level, conditional on the shard holding enough: the inventory's moves and the orders'
/// placements and status changes build it alike.
pub(crate) fn shard_update(
    table: &str,
    id: &ProductId,
    shard: u32,
    quantity: u64,
    mv: StockMove,
    now: &str,
) -> anyhow::Result<TransactWriteItem> {
    let (update, condition) = move_expressions(mv);
    let update = Update::builder()
        .table_name(table)
        .key("pk", s(shard_pk(id, shard)))
        .key("sk", s(STOCK_SK))
        .update_expression(update)
        .condition_expression(condition)
        .expression_attribute_values(":q", n(quantity))
        .expression_attribute_values(":now", s(now))
        .set_expression_attribute_names(Some(trace_name()))
        .expression_attribute_values(":trace", trace_value())
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .context("failed to build a stock Update")?;
    Ok(TransactWriteItem::builder().update(update).build())
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
        self.level(id).await
    }

    /// The index projects only keys, so a stock move never writes it: a page is a `Query` of
    /// the index for the page's product ids (one more, to know whether another page follows),
    /// then a `BatchGetItem` of their levels (and one more of the other shards of split ones).
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
        let heads = batch_get(&self.client, &self.table, keys, false, "failed to read stock levels")
            .await?
            .into_iter()
            .map(stored)
            .collect::<anyhow::Result<Vec<_>>>()?;
        let other_shards = heads
            .iter()
            .flat_map(|head| {
                let id = ProductId::parse(&head.id).ok();
                id.map(|id| shard_keys(&id, 1..head.items()))
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(pk, sk)| crate::orders::dynamodb::key(pk, sk))
            })
            .collect::<Vec<_>>();
        let mut shards: std::collections::HashMap<String, Vec<StockItem>> =
            std::collections::HashMap::new();
        if !other_shards.is_empty() {
            for item in batch_get(
                &self.client,
                &self.table,
                other_shards,
                false,
                "failed to read stock shards",
            )
            .await?
            {
                let item = stored(item)?;
                shards.entry(item.id.clone()).or_default().push(item);
            }
        }
        let mut levels = heads
            .iter()
            .map(|head| {
                StockItem::level(head, shards.get(&head.id).map_or(&[][..], Vec::as_slice))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        // A level deleted between the reads is left out; the cursor still follows the index,
        // so the next page starts where this one ended.
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
        shards: Option<Shards>,
        now: DateTime<Utc>,
    ) -> Result<StockLevel, StockError> {
        let in_catalog = ConditionCheck::builder()
            .table_name(&self.catalog_table)
            .key("pk", s(product_pk(id)))
            .key("sk", s(PRODUCT_SK))
            .condition_expression("attribute_exists(pk)")
            .build()
            .context("failed to build a ConditionCheck")?;
        let now = timestamp::format(&now);
        // Attempt 0, for a set that does not split (every level but a hot product's): the unsplit
        // level's one update with no read first, as before levels could be split, holding only
        // while the level is not split. A split level (or a conflict) goes on to the attempts
        // that read the level and write every shard.
        let unsplit_set = shards.is_none_or(|s| s == Shards::ONE);
        let first = if unsplit_set { 0 } else { 1 };
        for attempts in first..=WRITE_ATTEMPTS {
            let mut actions = vec![
                TransactWriteItem::builder()
                    .condition_check(in_catalog.clone())
                    .build(),
            ];
            if attempts == 0 {
                let plan = SetPlan::new(&[], available, Some(Shards::ONE), None);
                actions.push(self.set_shard(id, 0, available.get(), &plan, &now, true)?);
            } else {
                let existing = self.level_items(id).await?;
                let plan = SetPlan::of(existing.as_ref(), available, shards)?;
                for &(k, available, _) in &plan.keep {
                    actions.push(self.set_shard(id, k, available, &plan, &now, false)?);
                }
                for &k in &plan.delete {
                    // Only while it still holds nothing reserved: an order may have reserved
                    // there since the read.
                    let delete = Delete::builder()
                        .table_name(&self.table)
                        .key("pk", s(shard_pk(id, k)))
                        .key("sk", s(STOCK_SK))
                        .condition_expression("reserved = :zero")
                        .expression_attribute_values(":zero", n(0))
                        .build()
                        .context("failed to build a shard Delete")?;
                    actions.push(TransactWriteItem::builder().delete(delete).build());
                }
            }
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions))
                .send()
                .await;
            match result {
                Ok(_) => {
                    return Ok(self
                        .level(id)
                        .await?
                        .context("a stock level just set cannot be read back")?);
                }
                Err(err) => match Cancelled::of(&err) {
                    Some(Cancelled::ConditionFailed(failed)) if failed.contains(&0) => {
                        return Err(StockError::UnknownProduct(id.clone()));
                    }
                    // A set is idempotent: when the level is split (attempt 0), another
                    // transaction held it, or a shard to delete was reserved in since the read,
                    // read again and try again.
                    Some(_) => {
                        tracing::debug!(attempts, "stock level split or changed while set; retrying");
                    }
                    None => return Err(sdk(err, "failed to set a stock level").into()),
                },
            }
        }
        Err(anyhow::anyhow!("stock level {id} kept changing while it was set; try again").into())
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
            Ok(output) => {
                let head = stored(output.attributes.unwrap_or_default())?;
                // Shard 0 of a split level took it: the answer is the whole level, shard 0 as
                // the update returned it and the other shards read.
                let rest = read_shards(&self.client, &self.table, id, 1..head.items()).await?;
                Ok(StockItem::level(&head, &rest)?)
            }
            Err(err) => {
                let Some(UpdateItemError::ConditionalCheckFailedException(failed)) =
                    err.as_service_error()
                else {
                    return Err(sdk(err, "failed to change a stock level").into());
                };
                let Some(old) = self.head_after_failure(id, failed.item()).await? else {
                    return Err(StockError::NoStockLevel(id.clone()));
                };
                if old.items() > 1 {
                    // Shard 0 is short: the level may not be.
                    return self.move_across_shards(id, mv, quantity, now).await;
                }
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
        // An unsplit level: one conditional delete, as before levels could be split. A failed
        // condition returns the item: missing, still reserved, or split (the general path).
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(stock_pk(id)))
            .key("sk", s(STOCK_SK))
            .condition_expression(
                "attribute_exists(pk) AND reserved = :zero \
                 AND (attribute_not_exists(shard_items) OR shard_items = :one)",
            )
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(output) => return Ok(stored(output.attributes.unwrap_or_default())?.into_level()?),
            Err(err) => {
                let Some(DeleteItemError::ConditionalCheckFailedException(failed)) =
                    err.as_service_error()
                else {
                    return Err(sdk(err, "failed to delete a stock level").into());
                };
                match self.head_after_failure(id, failed.item()).await? {
                    None => return Err(StockError::NoStockLevel(id.clone())),
                    Some(old) if old.items() == 1 => {
                        return Err(StockError::StillReserved {
                            product_id: id.clone(),
                            reserved: old.reserved,
                        });
                    }
                    // Split: every shard goes, in one transaction, below.
                    Some(_) => {}
                }
            }
        }
        for attempts in 1..=WRITE_ATTEMPTS {
            let Some((head, rest)) = self.level_items(id).await? else {
                return Err(StockError::NoStockLevel(id.clone()));
            };
            let level = StockItem::level(&head, &rest)?;
            if level.reserved > 0 {
                return Err(StockError::StillReserved {
                    product_id: id.clone(),
                    reserved: level.reserved,
                });
            }
            // Every item, each only while it holds nothing reserved and (shard 0) while the
            // level has the shards read: one transaction, so a level is deleted whole or not.
            let actions = std::iter::once(&head)
                .chain(&rest)
                .map(|item| {
                    let delete = Delete::builder()
                        .table_name(&self.table)
                        .key("pk", s(item.pk.clone()))
                        .key("sk", s(item.sk.clone()))
                        .condition_expression("attribute_exists(pk) AND reserved = :zero")
                        .expression_attribute_values(":zero", n(0))
                        .build()
                        .context("failed to build a stock Delete")?;
                    Ok(TransactWriteItem::builder().delete(delete).build())
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions))
                .send()
                .await;
            match result {
                Ok(_) => return Ok(level),
                Err(err) => match Cancelled::of(&err) {
                    Some(_) => {
                        tracing::debug!(attempts, "stock level changed while deleted; retrying");
                    }
                    None => return Err(sdk(err, "failed to delete a stock level").into()),
                },
            }
        }
        Err(anyhow::anyhow!("stock level {id} kept changing while it was deleted; try again").into())
    }
}

impl DynamoInventory {
    /// The transaction action that sets shard `k` of product `id`'s level to `available` as
    /// `plan` says, keeping what it holds reserved (0 for a new shard); `unsplit_only`: only
    /// while the level is not split (no shard items besides this one).
    fn set_shard(
        &self,
        id: &ProductId,
        k: u32,
        available: u64,
        plan: &SetPlan,
        now: &str,
        unsplit_only: bool,
    ) -> anyhow::Result<TransactWriteItem> {
        let mut set = String::from(
            "SET available = :a, updated_at = :now, id = :id, \
             reserved = if_not_exists(reserved, :zero), #trace = :trace",
        );
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("pk", s(shard_pk(id, k)))
            .key("sk", s(STOCK_SK))
            .set_expression_attribute_names(Some(trace_name()))
            .expression_attribute_values(":trace", trace_value())
            .expression_attribute_values(":a", n(available))
            .expression_attribute_values(":now", s(now))
            .expression_attribute_values(":id", s(id.to_string()))
            .expression_attribute_values(":zero", n(0));
        if k == 0 {
            set.push_str(", entity = :e");
            update = update.expression_attribute_values(":e", s(STOCK_ENTITY));
            let mut remove = Vec::new();
            if plan.spread > 1 {
                set.push_str(", shards = :shards");
                update = update.expression_attribute_values(":shards", n(plan.spread));
            } else {
                remove.push("shards");
            }
            if plan.items() > 1 {
                set.push_str(", shard_items = :items");
                update = update.expression_attribute_values(":items", n(plan.items()));
            } else {
                remove.push("shard_items");
            }
            if !remove.is_empty() {
                set.push_str(" REMOVE ");
                set.push_str(&remove.join(", "));
            }
        }
        if unsplit_only {
            update = update
                .condition_expression("attribute_not_exists(shard_items) OR shard_items = :one")
                .expression_attribute_values(":one", n(1));
        }
        let update = update
            .update_expression(set)
            .build()
            .context("failed to build a shard Update")?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}
