//! The orders port over DynamoDB: the layout of [`crate::orders::items`].
//!
//! Placing an order is two calls: a `BatchGetItem` of the catalog table for the lines' names,
//! prices and currencies and of the inventory table for their levels' shard counts, then one
//! `TransactWriteItems` that moves every line's quantity from `available` to `reserved` in one
//! shard of its level (each an `Update` conditional on `available >= :q`), puts the order
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
use stockroom_domain::inventory::{ShardTake, StockMove, plan_takes};
use stockroom_domain::orders::{
    CatalogEntry, CustomerId, IdempotencyKey, Order, OrderId, OrderStatus,
};
use stockroom_domain::page::Page;
use stockroom_domain::{ProductId, timestamp};

use crate::inventory::dynamodb::shard_update;
use crate::inventory::{random_shard, recorded};
use crate::dynamodb::{
    Cancelled, Item, WRITE_ATTEMPTS, batch_get_tables, cancellation_items, n, s, sdk, to_item,
};
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

/// What a placement reads of a stock level's shard 0: how many shards it spreads over, and how
/// many shard items it has.
#[derive(serde::Deserialize)]
struct LevelSpread {
    id: String,
    shards: Option<u32>,
    shard_items: Option<u32>,
}

/// How a product's stock level is split, as a placement read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    /// The shards a reservation picks among.
    pub spread: u32,
    /// The shard items that exist (for the fall-over's read of them all).
    pub items: u32,
}

/// The most actions one `TransactWriteItems` takes.
const MAX_TRANSACTION_ITEMS: usize = 100;

/// Which line of an order one stock action of its transaction moves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StockAction {
    line: usize,
}

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

    /// The catalog entries of `products` that are in the catalog, and how many shards each
    /// product's stock level spreads over: one `BatchGetItem` of both tables (more only for
    /// keys DynamoDB leaves unprocessed under load), eventually consistent. Half the read
    /// units of a consistent read, which is what lets a flash sale on one product pass 3,000
    /// orders a second (docs/scaling.md); the price charged may be up to about a second old.
    /// A product the read did not find is read again consistently (a product created a moment
    /// ago must be orderable): only that failure pays for the second read. A stale `shards`
    /// only makes a reservation fall over to the other shards.
    pub(crate) async fn catalog_entries<'a>(
        &self,
        products: impl Iterator<Item = &'a ProductId>,
    ) -> anyhow::Result<(BTreeMap<ProductId, CatalogEntry>, BTreeMap<ProductId, Shape>)> {
        let products: Vec<&ProductId> = products.collect();
        let (mut entries, spread) = self.read_entries(&products, false).await?;
        let missing: Vec<&ProductId> = products
            .iter()
            .copied()
            .filter(|id| !entries.contains_key(*id))
            .collect();
        if !missing.is_empty() {
            let (found, _) = self.read_entries(&missing, true).await?;
            entries.extend(found);
        }
        Ok((entries, spread))
    }

    /// One `BatchGetItem` of `products`' catalog entries (read consistently or not) and, on
    /// the eventually consistent read, their stock levels' `shards`.
    async fn read_entries(
        &self,
        products: &[&ProductId],
        consistent: bool,
    ) -> anyhow::Result<(BTreeMap<ProductId, CatalogEntry>, BTreeMap<ProductId, Shape>)> {
        let keys = products
            .iter()
            .map(|id| key(product_pk(id), PRODUCT_SK))
            .collect();
        let levels = products
            .iter()
            .map(|id| key(stock_pk(id), STOCK_SK))
            .collect();
        let mut pending = HashMap::from([
            (
                self.catalog_table.clone(),
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .projection_expression(CatalogEntryItem::PROJECTION)
                    .expression_attribute_names("#name", "name")
                    .consistent_read(consistent)
                    .build()
                    .context("failed to build BatchGetItem keys")?,
            ),
        ]);
        if !consistent {
            pending.insert(
                self.inventory_table.clone(),
                KeysAndAttributes::builder()
                    .set_keys(Some(levels))
                    .projection_expression("#id, #shards, #items")
                    .expression_attribute_names("#id", "id")
                    .expression_attribute_names("#shards", "shards")
                    .expression_attribute_names("#items", "shard_items")
                    .build()
                    .context("failed to build BatchGetItem keys")?,
            );
        }
        let mut responses =
            batch_get_tables(&self.client, pending, "failed to read the ordered products").await?;
        let mut entries = BTreeMap::new();
        for item in responses.remove(&self.catalog_table).unwrap_or_default() {
            let (id, entry) = serde_dynamo::from_item::<_, CatalogEntryItem>(item)
                .context("stored product has an unexpected shape")?
                .into_entry()?;
            entries.insert(id, entry);
        }
        let mut spread = BTreeMap::new();
        for item in responses.remove(&self.inventory_table).unwrap_or_default() {
            let level: LevelSpread = serde_dynamo::from_item(item)
                .context("stored stock level has an unexpected shape")?;
            let spread_over = level.shards.unwrap_or(1).max(1);
            spread.insert(
                ProductId::parse(&level.id)?,
                Shape {
                    spread: spread_over,
                    items: level.shard_items.unwrap_or(1).max(spread_over),
                },
            );
        }
        Ok((entries, spread))
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

    /// Why the stock actions at `failed` (positions in `actions`, which say which line and
    /// shard each moves) could not take `mv`: the lines whose whole level (every shard) is
    /// short, and the lines whose level is not short but whose chosen shard was, which the
    /// caller moves across the shards instead. A shard's item the cancellation returned says
    /// whether its level is split; an unsplit level short by itself needs no read.
    async fn shortages(
        &self,
        order: &Order,
        mv: StockMove,
        actions: &[StockAction],
        failed: &[usize],
        returned: &[Option<Item>],
        shapes: &BTreeMap<ProductId, Shape>,
    ) -> Result<(Vec<Shortage>, Vec<(usize, Vec<StockItem>)>), OrderError> {
        let mut short = Vec::new();
        let mut fall_over: Vec<(usize, Vec<StockItem>)> = Vec::new();
        for &i in failed {
            let Some(action) = actions.get(i) else {
                continue;
            };
            let Some(line) = order.items.get(action.line) else {
                continue;
            };
            if short.iter().any(|s: &Shortage| s.product_id == line.product_id)
                || fall_over.iter().any(|(l, _)| *l == action.line)
            {
                continue;
            }
            let quantity = line.stock_quantity().map_err(anyhow::Error::from)?;
            let found: Option<StockItem> = match returned.get(i).and_then(Option::as_ref) {
                Some(item) => Some(
                    serde_dynamo::from_item(item.clone())
                        .context("stored stock level has an unexpected shape")?,
                ),
                None => None,
            };
            let unsplit = found
                .as_ref()
                .is_some_and(|item| item.shard_number().ok() == Some(0) && item.items() == 1);
            let (available, reserved, items) = if unsplit {
                let (a, r) = found.map_or((0, 0), |l| (l.available, l.reserved));
                (a, r, Vec::new())
            } else {
                // A shard of a split level, or no item returned: the whole level decides.
                let items = crate::inventory::dynamodb::read_level(
                    &self.client,
                    &self.inventory_table,
                    &line.product_id,
                    shapes.get(&line.product_id).map(|s| s.items),
                )
                .await?;
                let (a, r) = items
                    .iter()
                    .fold((0, 0), |(a, r), i| (a + i.available, r + i.reserved));
                (a, r, items)
            };
            match mv.apply(available, reserved, quantity) {
                Err(shortfall) => short.push(Shortage::of(&line.product_id, line.quantity, shortfall)),
                Ok(_) if !unsplit => fall_over.push((action.line, items)),
                // An unsplit level that allows the move now: it changed; try again.
                Ok(_) => {}
            }
        }
        Ok((short, fall_over))
    }

    /// Plans line `line` of `order` across its level's shards `items` (as [`Self::shortages`]
    /// just read them) for `mv`, recording the plan in the line: the fall-over when the chosen
    /// shard was short.
    fn plan_line(
        order: &mut Order,
        line: usize,
        items: &[StockItem],
        mv: StockMove,
    ) -> Result<(), OrderError> {
        let Some(line) = order.items.get_mut(line) else {
            return Ok(());
        };
        let counts = items
            .iter()
            .map(StockItem::counts)
            .collect::<anyhow::Result<Vec<_>>>()?;
        let quantity = line.stock_quantity().map_err(anyhow::Error::from)?;
        match plan_takes(&counts, mv, quantity, None) {
            Ok(takes) => {
                line.taken_from = recorded(takes);
                Ok(())
            }
            Err(shortfall) => {
                let short = vec![Shortage::of(&line.product_id, line.quantity, shortfall)];
                Err(match mv {
                    StockMove::Reserve | StockMove::Decrement => OrderError::InsufficientStock(short),
                    StockMove::Release | StockMove::Ship => OrderError::ReservedShort(short),
                })
            }
        }
    }

    /// Places the priced order `placed` in one `TransactWriteItems`: every line's quantity moves
    /// from `available` to `reserved` in one shard of its level (chosen at random among the
    /// `spread` the level has; each conditional on `available >= :q`), the order is put,
    /// `record` too (conditional on no live record of its key), then `extra`, the caller's own
    /// conditional actions (a checkout empties its cart). A failed condition is read from the
    /// cancellation: which lines are short, whose key it is, or that `extra` failed. A line
    /// whose chosen shard was short while its level was not is planned across the shards and
    /// the transaction tried again (the fall-over: a `Query` of the level and one more
    /// transaction). The lines record the shards they took from.
    ///
    /// # Errors
    /// [`OrderError::InsufficientStock`] naming every short line; [`OrderError::Contended`].
    pub(crate) async fn write_placement(
        &self,
        placed: &mut Order,
        spread: &BTreeMap<ProductId, Shape>,
        record: Option<&IdempotencyItem>,
        now: DateTime<Utc>,
        extra: Vec<TransactWriteItem>,
    ) -> Result<Placement, OrderError> {
        for line in &mut placed.items {
            let shard = random_shard(spread.get(&line.product_id).map_or(1, |s| s.spread));
            line.taken_from = recorded(vec![ShardTake {
                shard,
                quantity: line.quantity,
            }]);
        }
        for attempts in 1..=WRITE_ATTEMPTS {
            let (mut actions, stock) = self.stock_updates(placed, StockMove::Reserve, now)?;
            let lines = actions.len();
            let put_order = Put::builder()
                .table_name(&self.table)
                .set_item(Some(to_item(&OrderItem::new(placed))?))
                .condition_expression("attribute_not_exists(pk)")
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
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
            actions.extend(extra.iter().cloned());
            if actions.len() > MAX_TRANSACTION_ITEMS {
                // Only when many lines each had to be split over many thin shards: refused as
                // contended (409, try again) rather than sent for DynamoDB to reject.
                tracing::warn!(items = actions.len(), "a placement needs more items than a transaction holds");
                return Err(OrderError::Contended);
            }
            // The token makes the SDK's own retries of this attempt idempotent in DynamoDB (a
            // resend within 10 minutes of an applied transaction is answered as a success and
            // applies nothing); each attempt of this loop is a new transaction with its own.
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(actions))
                .client_request_token(format!("{}-{attempts}", placed.id))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(Placement::Placed),
                Err(err) => err,
            };
            match Cancelled::of(&err) {
                Some(Cancelled::ConditionFailed(failed)) => {
                    let returned = cancellation_items(&err);
                    // The order is there already: only this request makes its id, so an
                    // earlier attempt of it was applied and its answer lost (a dropped
                    // connection or a timeout, then a retry that DynamoDB did not recognise as
                    // a resend). It is placed, with its stock moved once.
                    if failed.contains(&lines)
                        && self.is_own(placed, returned.get(lines).cloned().flatten()).await?
                    {
                        tracing::warn!(
                            order_id = %placed.id,
                            attempts,
                            "an earlier attempt placed this order: its answer was lost"
                        );
                        return Ok(Placement::Placed);
                    }
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
                    let stock_failed: Vec<usize> =
                        failed.iter().copied().filter(|&i| i < lines).collect();
                    let (short, fall_over) = self
                        .shortages(placed, StockMove::Reserve, &stock, &stock_failed, &returned, spread)
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
                    for (line, items) in fall_over {
                        tracing::debug!(attempts, line, "stock shard short; planning across the shards");
                        Self::plan_line(placed, line, &items, StockMove::Reserve)?;
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

    /// Whether the order item a placement's failed `Put` found (`returned`, or read when the
    /// server did not return it) is `placed` itself, written by an earlier attempt of the same
    /// placement: the same id, customer and time.
    async fn is_own(&self, placed: &Order, returned: Option<Item>) -> Result<bool, OrderError> {
        let found: Option<OrderItem> = match returned {
            Some(item) => Some(
                serde_dynamo::from_item(item).context("stored order has an unexpected shape")?,
            ),
            None => self.order_item(&placed.id).await?,
        };
        let Some(found) = found else {
            return Ok(false);
        };
        let found = found.into_order()?;
        Ok(found.id == placed.id
            && found.customer_id == placed.customer_id
            && found.created_at == placed.created_at)
    }

    /// The transaction actions that apply `mv` to every line of `order`, one per shard a line
    /// takes from (usually one), and which line and shard each is.
    fn stock_updates(
        &self,
        order: &Order,
        mv: StockMove,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(Vec<TransactWriteItem>, Vec<StockAction>)> {
        let now = timestamp::format(&now);
        let mut actions = Vec::with_capacity(order.items.len());
        let mut which = Vec::with_capacity(order.items.len());
        for (line, item) in order.items.iter().enumerate() {
            for take in item.takes() {
                actions.push(shard_update(
                    &self.inventory_table,
                    &item.product_id,
                    take.shard,
                    take.quantity,
                    mv,
                    &now,
                )?);
                which.push(StockAction { line });
            }
        }
        Ok((actions, which))
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
        let (entries, spread) = self.catalog_entries(order.request.product_ids()).await?;
        let (mut placed, record) = match order.priced(&entries) {
            Ok(priced) => priced,
            // A retry of an order placed before a product left the catalog is still a retry:
            // its key's answer wins over today's catalog. Only this failure pays for the read.
            Err(err) => {
                let live = self.record(customer, order.key.as_ref(), order.now).await?;
                return order.replay(live.as_ref())?.ok_or(err);
            }
        };
        match self
            .write_placement(&mut placed, &spread, record.as_ref(), order.now, Vec::new())
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
        // Lines planned across their shards after a shard they were reserved in fell short.
        let mut planned: BTreeMap<usize, Vec<ShardTake>> = BTreeMap::new();
        for attempts in 1..=WRITE_ATTEMPTS {
            let mut order = self
                .order_item(id)
                .await?
                .ok_or_else(|| OrderError::NotFound(id.clone()))?
                .into_order()?;
            // An earlier attempt of this change was applied and its answer lost (the SDK's
            // retry, or this loop's after a failed condition, found the order changed): the
            // order is in the status asked for, changed at this request's time. Done, with the
            // stock moved once.
            if attempts > 1 && order.status == to && order.updated_at == now {
                tracing::warn!(order_id = %id, attempts, "an earlier attempt changed this order: its answer was lost");
                return Ok(order);
            }
            let (next, mv) = status_change(&order, to, now)?;
            for (&line, takes) in &planned {
                if let Some(line) = order.items.get_mut(line) {
                    line.taken_from.clone_from(takes);
                }
            }
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
                Some(mv) => {
                    let (updates, which) = self.stock_updates(&order, mv, now)?;
                    actions.extend(updates);
                    which
                }
                None => Vec::new(),
            };
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
                    let (short, fall_over) =
                        self.shortages(&order, mv, &stock, &lines, &returned, &BTreeMap::new())
                            .await?;
                    if !short.is_empty() {
                        return Err(OrderError::ReservedShort(short));
                    }
                    for (line, items) in fall_over {
                        Self::plan_line(&mut order, line, &items, mv)?;
                        if let Some(l) = order.items.get(line) {
                            planned.insert(line, l.takes());
                        }
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
