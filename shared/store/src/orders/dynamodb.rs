//! The orders port over DynamoDB: the layout of [`crate::orders::items`].
//!
//! Placing an order is two calls: a `BatchGetItem` on the catalog table for the lines' names,
//! prices and currencies, then one `TransactWriteItems` that moves every line's quantity from
//! `available` to `reserved` (each an `Update` conditional on `available >= :q`), puts the order
//! and, with an `Idempotency-Key`, its record (conditional on no live record). A cancelled
//! transaction's reasons say which lines were short, or that the key was taken, and every
//! conditional action returns the item it found, so the answer needs no further read (a server
//! that does not return them gets a read on that failure path only).
//!
//! A status change is two calls: a consistent `GetItem` of the order, then one
//! `TransactWriteItems` that updates the order conditional on the status it was read with and
//! moves every line's stock as the transition requires.

use std::collections::{BTreeMap, HashMap};

use anyhow::Context as _;
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    KeysAndAttributes, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use chrono::{DateTime, Utc};
use stockroom_domain::inventory::StockMove;
use stockroom_domain::orders::{
    CatalogEntry, CustomerId, IdempotencyKey, Order, OrderId, OrderStatus,
};
use stockroom_domain::page::Page;
use stockroom_domain::{ProductId, timestamp};

use crate::inventory::dynamodb::move_expressions;
use crate::dynamodb::{Cancelled, Item, WRITE_ATTEMPTS, cancellation_items, n, s, sdk, to_item};
use crate::dynamodb::{trace_name, trace_value};
use crate::catalog::items::{PRODUCT_SK, product_pk};
use crate::inventory::items::{STOCK_SK, StockItem, stock_pk};
use crate::orders::items::{
    BY_CUSTOMER_INDEX, CatalogEntryItem, IDEMPOTENCY_SK, IdempotencyItem, ORDER_SK, OrderItem,
    idempotency_pk, order_pk,
};
use crate::orders::{
    OrderError, OrderQuery, OrderReader, OrderWriter, PlaceOrder, Placed, Shortage, page_of,
    status_change,
};

/// How a placement transaction ended when it did not fail.
pub(crate) enum Placement {
    Placed,
    /// The key's live record was there already: the earlier request's.
    KeyTaken(IdempotencyItem),
    /// One of the caller's own actions' conditions failed; nothing was written.
    ExtraFailed,
}

/// Orders in one DynamoDB table; placing and changing them also reads the catalog table and
/// moves stock in the inventory table.
#[derive(Debug, Clone)]
pub struct DynamoOrders {
    pub(crate) client: Client,
    table: String,
    catalog_table: String,
    inventory_table: String,
}

pub(crate) fn key(pk: String, sk: &str) -> Item {
    HashMap::from([(String::from("pk"), s(pk)), (String::from("sk"), s(sk))])
}

impl DynamoOrders {
    pub fn new(
        client: Client,
        table: impl Into<String>,
        catalog_table: impl Into<String>,
        inventory_table: impl Into<String>,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            catalog_table: catalog_table.into(),
            inventory_table: inventory_table.into(),
        }
    }

    pub(crate) async fn get<T: serde::de::DeserializeOwned>(
        &self,
        table: &str,
        pk: String,
        sk: &str,
        what: &'static str,
    ) -> anyhow::Result<Option<T>> {
        let output = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk(e, what))?;
        output
            .item
            .map(|item| serde_dynamo::from_item(item).context(what))
            .transpose()
    }

    async fn order_item(&self, id: &OrderId) -> anyhow::Result<Option<OrderItem>> {
        self.get(
            &self.table,
            order_pk(id),
            ORDER_SK,
            "failed to get an order",
        )
        .await
    }

    /// The catalog entry of `product`, if it is in the catalog: one consistent `GetItem`.
    pub(crate) async fn catalog_entry(
        &self,
        product: &ProductId,
    ) -> anyhow::Result<Option<CatalogEntry>> {
        let item: Option<CatalogEntryItem> = self
            .get(
                &self.catalog_table,
                product_pk(product),
                PRODUCT_SK,
                "failed to get a product",
            )
            .await?;
        Ok(item
            .map(CatalogEntryItem::into_entry)
            .transpose()?
            .map(|(_, entry)| entry))
    }

    /// The catalog entries of `products` that are in the catalog: one `BatchGetItem` (more
    /// only for keys DynamoDB leaves unprocessed under load).
    pub(crate) async fn catalog_entries<'a>(
        &self,
        products: impl Iterator<Item = &'a ProductId>,
    ) -> anyhow::Result<BTreeMap<ProductId, CatalogEntry>> {
        let keys = products.map(|id| key(product_pk(id), PRODUCT_SK)).collect();
        let mut pending = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .projection_expression(CatalogEntryItem::PROJECTION)
                .expression_attribute_names("#name", "name")
                // A product created a moment ago must be orderable.
                .consistent_read(true)
                .build()
                .context("failed to build BatchGetItem keys")?,
        );
        let mut entries = BTreeMap::new();
        let mut attempts = 0;
        while let Some(keys) = pending.take() {
            attempts += 1;
            if attempts > WRITE_ATTEMPTS {
                anyhow::bail!(
                    "the catalog left product keys unprocessed after {WRITE_ATTEMPTS} reads"
                );
            }
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.catalog_table, keys)
                .send()
                .await
                .map_err(|e| sdk(e, "failed to read the ordered products"))?;
            for item in output
                .responses
                .and_then(|mut r| r.remove(&self.catalog_table))
                .unwrap_or_default()
            {
                let (id, entry) = serde_dynamo::from_item::<_, CatalogEntryItem>(item)
                    .context("stored product has an unexpected shape")?
                    .into_entry()?;
                entries.insert(id, entry);
            }
            pending = output
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.catalog_table))
                .filter(|k| !k.keys().is_empty());
        }
        Ok(entries)
    }

    /// The live idempotency record of `customer`'s `key`, read consistently.
    pub(crate) async fn record(
        &self,
        customer: &CustomerId,
        key: Option<&IdempotencyKey>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<IdempotencyItem>> {
        let Some(key) = key else {
            return Ok(None);
        };
        let record: Option<IdempotencyItem> = self
            .get(
                &self.table,
                idempotency_pk(customer, key),
                IDEMPOTENCY_SK,
                "failed to get an idempotency record",
            )
            .await?;
        Ok(record.filter(|r| r.is_live(now)))
    }

    /// The stock level of `id` as a failed condition found it: the item the cancellation
    /// returned, else a consistent read.
    async fn level_found(
        &self,
        id: &ProductId,
        returned: Option<&Item>,
    ) -> anyhow::Result<Option<StockItem>> {
        match returned {
            Some(item) => Ok(Some(
                serde_dynamo::from_item(item.clone())
                    .context("stored stock level has an unexpected shape")?,
            )),
            None => {
                self.get(
                    &self.inventory_table,
                    stock_pk(id),
                    STOCK_SK,
                    "failed to get a stock level",
                )
                .await
            }
        }
    }

    /// The lines at `failed` (positions in the transaction, lines first) that `mv` cannot
    /// take from their levels, as the levels were found. Empty when every level read now
    /// allows the move (it changed since): the caller tries again.
    async fn shortages(
        &self,
        order: &Order,
        mv: StockMove,
        failed: &[usize],
        returned: &[Option<Item>],
    ) -> Result<Vec<Shortage>, OrderError> {
        let mut short = Vec::new();
        for &i in failed {
            let Some(line) = order.items.get(i) else {
                continue;
            };
            let level = self
                .level_found(&line.product_id, returned.get(i).and_then(Option::as_ref))
                .await?;
            let (available, reserved) = level.map_or((0, 0), |l| (l.available, l.reserved));
            let quantity = line.stock_quantity().map_err(anyhow::Error::from)?;
            if let Err(shortfall) = mv.apply(available, reserved, quantity) {
                short.push(Shortage::of(&line.product_id, line.quantity, shortfall));
            }
        }
        Ok(short)
    }

    /// Places the priced order `placed` in one `TransactWriteItems`: every line's quantity moves
    /// from `available` to `reserved` (each conditional on `available >= :q`), the order is put,
    /// `record` too (conditional on no live record of its key), then `extra`, the caller's own
    /// conditional actions (a checkout empties its cart). A failed condition is read from the
    /// cancellation: which lines are short, whose key it is, or that `extra` failed.
    ///
    /// # Errors
    /// [`OrderError::InsufficientStock`] naming every short line; [`OrderError::Contended`].
    pub(crate) async fn write_placement(
        &self,
        placed: &Order,
        record: Option<&IdempotencyItem>,
        now: DateTime<Utc>,
        extra: Vec<TransactWriteItem>,
    ) -> Result<Placement, OrderError> {
        let mut actions = self.stock_updates(placed, StockMove::Reserve, now)?;
        let lines = actions.len();
        let put_order = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(&OrderItem::new(placed))?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .context("failed to build the order Put")?;
        actions.push(TransactWriteItem::builder().put(put_order).build());
        let record_at = record.map(|record| (lines + 1, record));
        if let Some(record) = record {
            let put_record = Put::builder()
                .table_name(&self.table)
                .set_item(Some(to_item(record)?))
                // An expired record that TTL has not deleted yet no longer counts.
                .condition_expression("attribute_not_exists(pk) OR expires_at <= :now")
                .expression_attribute_values(":now", n(now.timestamp()))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build()
                .context("failed to build the idempotency record Put")?;
            actions.push(TransactWriteItem::builder().put(put_record).build());
        }
        let extra_from = actions.len();
        actions.extend(extra);
        for attempts in 1..=WRITE_ATTEMPTS {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions.clone()))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(Placement::Placed),
                Err(err) => err,
            };
            match Cancelled::of(&err) {
                Some(Cancelled::ConditionFailed(failed)) => {
                    let returned = cancellation_items(&err);
                    if let Some((at, record)) = record_at
                        && failed.contains(&at)
                    {
                        let found = match returned.get(at).cloned().flatten() {
                            Some(item) => Some(
                                serde_dynamo::from_item::<_, IdempotencyItem>(item)
                                    .context("stored idempotency record has an unexpected shape")?,
                            ),
                            None => self
                                .get::<IdempotencyItem>(
                                    &self.table,
                                    record.pk.clone(),
                                    IDEMPOTENCY_SK,
                                    "failed to get an idempotency record",
                                )
                                .await?
                                .filter(|r| r.is_live(now)),
                        };
                        match found {
                            Some(found) => return Ok(Placement::KeyTaken(found)),
                            // Expired and deleted between the transaction and the read.
                            None => continue,
                        }
                    }
                    let short = self
                        .shortages(placed, StockMove::Reserve, &failed, &returned)
                        .await?;
                    if !short.is_empty() {
                        return Err(OrderError::InsufficientStock(short));
                    }
                    if failed.iter().any(|&i| i >= extra_from) {
                        return Ok(Placement::ExtraFailed);
                    }
                    if failed.iter().all(|&i| i >= lines) {
                        return Err(
                            anyhow::anyhow!("order id {} is already taken", placed.id).into()
                        );
                    }
                    // Levels read after the failure allow the order: they changed; try again.
                    tracing::debug!(attempts, "stock changed while placing an order; retrying");
                }
                Some(Cancelled::Conflict) => {
                    tracing::debug!(
                        attempts,
                        "stock or key held by another transaction; retrying"
                    );
                }
                None => return Err(sdk(err, "failed to place an order").into()),
            }
        }
        Err(OrderError::Contended)
    }

    /// The transaction action that applies `mv` of `line`'s quantity to its stock level.
    fn stock_update(
        &self,
        product_id: &ProductId,
        quantity: u64,
        mv: StockMove,
        now: &str,
    ) -> anyhow::Result<TransactWriteItem> {
        let (update, condition) = move_expressions(mv);
        let update = Update::builder()
            .table_name(&self.inventory_table)
            .set_key(Some(key(stock_pk(product_id), STOCK_SK)))
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

    fn stock_updates(
        &self,
        order: &Order,
        mv: StockMove,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<TransactWriteItem>> {
        let now = timestamp::format(&now);
        order
            .items
            .iter()
            .map(|line| self.stock_update(&line.product_id, line.quantity, mv, &now))
            .collect()
    }
}

#[async_trait]
impl OrderReader for DynamoOrders {
    #[tracing::instrument(skip_all, fields(store = "dynamodb", order_id = %id))]
    async fn get_order(&self, id: &OrderId) -> anyhow::Result<Option<Order>> {
        self.order_item(id)
            .await?
            .map(OrderItem::into_order)
            .transpose()
    }

    #[tracing::instrument(skip_all, fields(store = "dynamodb", customer_id = %query.customer_id))]
    async fn list_orders(&self, query: &OrderQuery) -> anyhow::Result<Page<Order>> {
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_CUSTOMER_INDEX)
            .expression_attribute_values(":c", s(query.customer_id.as_str()))
            .scan_index_forward(false)
            .limit(i32::try_from(query.limit.fetch_size()).unwrap_or(i32::MAX));
        request = match &query.after {
            Some(after) => request
                .key_condition_expression("customer_id = :c AND placed < :before")
                .expression_attribute_values(":before", s(after.sort_key())),
            None => request.key_condition_expression("customer_id = :c"),
        };
        let output = request
            .send()
            .await
            .map_err(|e| sdk(e, "failed to query a customer's orders"))?;
        let orders = output
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, OrderItem>(item)
                    .context("stored order has an unexpected shape")?
                    .into_order()
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(page_of(orders, query.limit))
    }
}

#[async_trait]
impl OrderWriter for DynamoOrders {
    #[tracing::instrument(skip_all, fields(store = "dynamodb", customer_id = %order.request.customer_id))]
    async fn place_order(&self, order: &PlaceOrder) -> Result<Placed, OrderError> {
        let customer = &order.request.customer_id;
        let entries = self.catalog_entries(order.request.product_ids()).await?;
        let (placed, record) = match order.priced(&entries) {
            Ok(priced) => priced,
            // A retry of an order placed before a product left the catalog is still a retry:
            // its key's answer wins over today's catalog. Only this failure pays for the read.
            Err(err) => {
                let live = self.record(customer, order.key.as_ref(), order.now).await?;
                return order.replay(live.as_ref())?.ok_or(err);
            }
        };
        match self
            .write_placement(&placed, record.as_ref(), order.now, Vec::new())
            .await?
        {
            Placement::Placed => Ok(Placed {
                order: placed,
                replayed: false,
            }),
            Placement::KeyTaken(record) => order.replay_of(&record),
            Placement::ExtraFailed => {
                Err(anyhow::anyhow!("placing an order has no other conditions").into())
            }
        }
    }

    #[tracing::instrument(skip_all, fields(store = "dynamodb", order_id = %id, to = %to))]
    async fn change_status(
        &self,
        id: &OrderId,
        to: OrderStatus,
        now: DateTime<Utc>,
    ) -> Result<Order, OrderError> {
        for attempts in 1..=WRITE_ATTEMPTS {
            let order = self
                .order_item(id)
                .await?
                .ok_or_else(|| OrderError::NotFound(id.clone()))?
                .into_order()?;
            let (next, mv) = status_change(&order, to, now)?;
            let update_order = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(order_pk(id), ORDER_SK)))
                .update_expression("SET #status = :to, updated_at = :now, #trace = :trace")
                .condition_expression("#status = :from")
                .set_expression_attribute_names(Some(trace_name()))
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":trace", trace_value())
                .expression_attribute_values(":to", s(to.as_str()))
                .expression_attribute_values(":from", s(order.status.as_str()))
                .expression_attribute_values(":now", s(timestamp::format(&now)))
                .build()
                .context("failed to build the order Update")?;
            let mut actions = vec![TransactWriteItem::builder().update(update_order).build()];
            let stock = match mv {
                Some(mv) => self.stock_updates(&order, mv, now)?,
                None => Vec::new(),
            };
            actions.extend(stock);
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(next),
                Err(err) => err,
            };
            match (Cancelled::of(&err), mv) {
                // The order changed since it was read: read it again and judge anew.
                (Some(Cancelled::ConditionFailed(failed)), _) if failed.contains(&0) => {
                    tracing::debug!(
                        attempts,
                        "order changed while changing its status; retrying"
                    );
                }
                (Some(Cancelled::ConditionFailed(failed)), Some(mv)) => {
                    // Positions are shifted by the order's own update at 0.
                    let lines: Vec<usize> =
                        failed.iter().filter_map(|i| i.checked_sub(1)).collect();
                    let returned: Vec<Option<Item>> =
                        cancellation_items(&err).into_iter().skip(1).collect();
                    let short = self.shortages(&order, mv, &lines, &returned).await?;
                    if !short.is_empty() {
                        return Err(OrderError::ReservedShort(short));
                    }
                    tracing::debug!(attempts, "stock changed while changing an order; retrying");
                }
                (Some(Cancelled::Conflict), _) => {
                    tracing::debug!(
                        attempts,
                        "order or stock held by another transaction; retrying"
                    );
                }
                _ => return Err(sdk(err, "failed to change an order's status").into()),
            }
        }
        Err(OrderError::Contended)
    }
}
