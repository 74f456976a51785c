//! The carts port over DynamoDB: the one-item layout of [`crate::carts::items`].
//!
//! Adding is two calls: a consistent `GetItem` of the product's catalog entry, then one
//! `UpdateItem` that `ADD`s the quantity and whose condition holds the cart's limits; it
//! returns the new cart. A failed condition returns the cart it found, which
//! the domain's rules explain (or, when the cart expired, which is deleted before trying
//! again). Changing or removing a line and deleting the cart are one conditional call each.
//! Checkout is three: a consistent `GetItem` of the cart, the catalog's `BatchGetItem`, and
//! the orders adapter's placement transaction with one more action that empties the cart on
//! the condition that its `version` is the one read.

use anyhow::Context as _;
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem,
};
use chrono::{DateTime, Utc};
use stockroom_domain::carts::{Cart, CartId, CartLine, MAX_CART_LINES, MAX_CART_QUANTITY};
use stockroom_domain::orders::{CustomerId, Order};
use stockroom_domain::{ProductId, timestamp};

use crate::orders::dynamodb::{DynamoOrders, Placement, key};
use crate::dynamodb::{Item, WRITE_ATTEMPTS, n, s, sdk, to_item};
use crate::carts::{
    AddToCart, CartError, CartReader, CartWriter, CheckoutCart, CheckoutDone, CheckoutError,
};
use crate::carts::items::{
    CART_ENTITY, CART_SK, CartItem, LineDetails, cart_pk, line_attr, quantity_attr, write_attr,
};

/// Carts in one DynamoDB table; adding reads the catalog, and checkout places an order
/// through the orders adapter.
#[derive(Debug, Clone)]
pub struct DynamoCarts {
    orders: DynamoOrders,
    table: String,
}

fn decode_item(item: Item) -> anyhow::Result<CartItem> {
    serde_dynamo::from_item(item).context("stored cart has an unexpected shape")
}

fn decode(item: Item) -> anyhow::Result<Cart> {
    decode_item(item)?.into_cart()
}

/// The cart a failed condition found, if it returned one.
fn found(err: &SdkError<UpdateItemError, impl std::fmt::Debug>) -> Option<Item> {
    match err.as_service_error() {
        Some(UpdateItemError::ConditionalCheckFailedException(e)) => e.item().cloned(),
        _ => None,
    }
}

impl DynamoCarts {
    pub fn new(orders: DynamoOrders, table: impl Into<String>) -> Self {
        Self {
            orders,
            table: table.into(),
        }
    }

    fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.orders.client
    }

    /// `owner`'s cart item as stored, live or not, read consistently.
    async fn stored_item(
        &self,
        owner: &CustomerId,
        id: &CartId,
    ) -> anyhow::Result<Option<CartItem>> {
        self.orders
            .get(
                &self.table,
                cart_pk(owner, id),
                CART_SK,
                "failed to get a cart",
            )
            .await
    }

    /// `owner`'s cart as stored, live or not, read consistently.
    async fn stored(&self, owner: &CustomerId, id: &CartId) -> anyhow::Result<Option<Cart>> {
        self.stored_item(owner, id)
            .await?
            .map(CartItem::into_cart)
            .transpose()
    }

    /// The cart item a failed condition found: the item it returned, else a consistent read.
    async fn found_item_or_read(
        &self,
        owner: &CustomerId,
        id: &CartId,
        returned: Option<Item>,
    ) -> anyhow::Result<Option<CartItem>> {
        match returned {
            Some(item) => decode_item(item).map(Some),
            None => self.stored_item(owner, id).await,
        }
    }

    /// The cart a failed condition found: the item it returned, else a consistent read.
    async fn found_or_read(
        &self,
        owner: &CustomerId,
        id: &CartId,
        returned: Option<Item>,
    ) -> anyhow::Result<Option<Cart>> {
        self.found_item_or_read(owner, id, returned)
            .await?
            .map(CartItem::into_cart)
            .transpose()
    }

    /// Deletes the expired cart `id` (conditional on it still being expired), so that the
    /// next change starts a new one.
    async fn delete_expired(
        &self,
        owner: &CustomerId,
        id: &CartId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let result = self
            .client()
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(cart_pk(owner, id), CART_SK)))
            .condition_expression("expires_at <= :now")
            .expression_attribute_values(":now", n(now.timestamp()))
            .send()
            .await;
        match result {
            // Someone else started it afresh first: fine either way.
            Ok(_) => Ok(()),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(err) => Err(sdk(err, "failed to delete an expired cart")),
        }
    }

    /// The common part of every update of a cart at `now`: the version counts up and the
    /// expiry moves out.
    fn touch(update: UpdateItemFluentBuilder, now: DateTime<Utc>) -> UpdateItemFluentBuilder {
        update
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":updated", s(timestamp::format(&now)))
            .expression_attribute_values(":expires", n(Cart::expiry(now).timestamp()))
            .expression_attribute_values(":now", n(now.timestamp()))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
    }
}

#[async_trait]
impl CartReader for DynamoCarts {
    #[tracing::instrument(skip_all, fields(store = "dynamodb", cart_id = %id))]
    async fn get_cart(
        &self,
        owner: &CustomerId,
        id: &CartId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Cart>> {
        Ok(self
            .stored(owner, id)
            .await?
            .filter(|cart| cart.is_live(now)))
    }
}

#[async_trait]
impl CartWriter for DynamoCarts {
    #[tracing::instrument(skip_all, fields(store = "dynamodb", cart_id = %add.cart_id, product_id = %add.product_id))]
    async fn add_to_cart(&self, add: &AddToCart) -> Result<Cart, CartError> {
        let entry = self
            .orders
            .catalog_entry(&add.product_id)
            .await?
            .ok_or_else(|| CartError::UnknownProduct(add.product_id.clone()))?;
        let line = CartLine {
            product_id: add.product_id.clone(),
            name: entry.name,
            quantity: add.quantity.get(),
            unit_price: entry.price,
            currency: entry.currency,
        };
        let quantity = add.quantity.get();
        // The condition below holds the line's limit only for a line the cart has: an add
        // beyond it on its own is refused here, as any cart would refuse it.
        Cart::new(add.owner.clone(), add.cart_id.clone(), add.now).check_add(
            &line.product_id,
            quantity,
            &line.currency,
        )?;
        let details: AttributeValue = serde_dynamo::to_attribute_value(LineDetails::new(&line))
            .context("failed to map a cart line to DynamoDB attributes")?;
        // This add's id, written with its line: the condition refuses the add where the line
        // already carries it, so a resend of an add that was applied (its answer lost, then
        // retried by the SDK, or a late copy of a timed-out attempt) adds nothing and is
        // recognised, even after adds of other products (`./scripts/faults` found a late copy
        // doubling a line when the id was one per cart and the next product's add had replaced
        // it).
        let write = ulid::Ulid::new().to_string();
        for attempts in 1..=WRITE_ATTEMPTS {
            let update = self
                .client()
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(cart_pk(&add.owner, &add.cart_id), CART_SK)))
                .update_expression(
                    "ADD #q :q, products :products, version :one \
                     SET #l = :line, entity = :entity, #owner = :owner, id = :id, \
                     currency = :currency, #w = :write, \
                     updated_at = :updated, expires_at = :expires",
                )
                // The cart's limits, as `Cart::check_add` states them: a live cart (an expired
                // one is deleted first), room on the line, room for a new line, one currency.
                .condition_expression(
                    "(attribute_not_exists(pk) OR expires_at > :now) \
                     AND (attribute_not_exists(#q) OR #q <= :room) \
                     AND (attribute_not_exists(products) OR contains(products, :product) \
                          OR size(products) < :max_lines) \
                     AND (attribute_not_exists(products) OR currency = :currency) \
                     AND (attribute_not_exists(#w) OR #w <> :write)",
                )
                .expression_attribute_values(":write", s(write.as_str()))
                .expression_attribute_names("#q", quantity_attr(&add.product_id))
                .expression_attribute_names("#l", line_attr(&add.product_id))
                .expression_attribute_names("#w", write_attr(&add.product_id))
                .expression_attribute_values(":q", n(quantity))
                .expression_attribute_values(
                    ":products",
                    AttributeValue::Ss(vec![add.product_id.to_string()]),
                )
                .expression_attribute_values(":product", s(add.product_id.to_string()))
                .expression_attribute_values(":line", details.clone())
                .expression_attribute_values(":entity", s(CART_ENTITY))
                .expression_attribute_names("#owner", "owner")
                .expression_attribute_values(":owner", s(add.owner.to_string()))
                .expression_attribute_values(":id", s(add.cart_id.to_string()))
                .expression_attribute_values(":currency", s(line.currency.as_str()))
                .expression_attribute_values(":room", n(MAX_CART_QUANTITY.saturating_sub(quantity)))
                .expression_attribute_values(":max_lines", n(MAX_CART_LINES));
            let err = match Self::touch(update, add.now).send().await {
                Ok(output) => {
                    return Ok(decode(output.attributes.unwrap_or_default())?);
                }
                Err(err) => err,
            };
            match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    let current = self
                        .found_item_or_read(&add.owner, &add.cart_id, found(&err))
                        .await?;
                    let applied = current
                        .as_ref()
                        .is_some_and(|item| item.last_write(&add.product_id) == Some(write.as_str()));
                    match current.map(CartItem::into_cart).transpose()? {
                        // This add, applied: the cart as it left it.
                        Some(cart) if applied => {
                            tracing::warn!(attempts, "an earlier attempt of this add was applied: its answer was lost");
                            return Ok(cart);
                        }
                        Some(cart) if !cart.is_live(add.now) => {
                            self.delete_expired(&add.owner, &add.cart_id, add.now)
                                .await?;
                        }
                        Some(cart) => cart.check_add(&line.product_id, quantity, &line.currency)?,
                        // Deleted since: try again.
                        None => {}
                    }
                    tracing::debug!(attempts, "cart changed while adding to it; retrying");
                }
                // A checkout's transaction held the cart.
                Some(UpdateItemError::TransactionConflictException(_)) => {
                    tracing::debug!(attempts, "cart held by a transaction; retrying");
                }
                _ => return Err(sdk(err, "failed to add to a cart").into()),
            }
        }
        Err(CartError::Contended)
    }

    #[tracing::instrument(skip_all, fields(store = "dynamodb", cart_id = %cart_id, product_id = %product_id))]
    async fn set_cart_quantity(
        &self,
        owner: &CustomerId,
        cart_id: &CartId,
        product_id: &ProductId,
        quantity: u64,
        now: DateTime<Utc>,
    ) -> Result<Cart, CartError> {
        let mut update = self
            .client()
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(cart_pk(owner, cart_id), CART_SK)))
            .condition_expression("attribute_exists(#q) AND expires_at > :now")
            .expression_attribute_names("#q", quantity_attr(product_id));
        update = if quantity == 0 {
            update
                .update_expression(
                    "REMOVE #q, #l, #w DELETE products :products \
                     SET updated_at = :updated, expires_at = :expires ADD version :one",
                )
                .expression_attribute_names("#l", line_attr(product_id))
                .expression_attribute_names("#w", write_attr(product_id))
                .expression_attribute_values(
                    ":products",
                    AttributeValue::Ss(vec![product_id.to_string()]),
                )
        } else {
            update
                .update_expression(
                    "SET #q = :q, updated_at = :updated, expires_at = :expires ADD version :one",
                )
                .expression_attribute_values(":q", n(quantity))
        };
        for attempts in 1..=WRITE_ATTEMPTS {
            let err = match Self::touch(update.clone(), now).send().await {
                Ok(output) => return Ok(decode(output.attributes.unwrap_or_default())?),
                Err(err) => err,
            };
            match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(_)) => {
                    return Err(
                        match self.found_or_read(owner, cart_id, found(&err)).await? {
                            Some(cart) if cart.is_live(now) => CartError::NoLine {
                                cart_id: cart_id.clone(),
                                product_id: product_id.clone(),
                            },
                            _ => CartError::NotFound(cart_id.clone()),
                        },
                    );
                }
                Some(UpdateItemError::TransactionConflictException(_)) => {
                    tracing::debug!(attempts, "cart held by a transaction; retrying");
                }
                _ => return Err(sdk(err, "failed to change a cart line").into()),
            }
        }
        Err(CartError::Contended)
    }

    #[tracing::instrument(skip_all, fields(store = "dynamodb", cart_id = %id))]
    async fn delete_cart(
        &self,
        owner: &CustomerId,
        id: &CartId,
        now: DateTime<Utc>,
    ) -> Result<(), CartError> {
        for attempts in 1..=WRITE_ATTEMPTS {
            let result = self
                .client()
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key(cart_pk(owner, id), CART_SK)))
                .condition_expression("attribute_exists(pk) AND expires_at > :now")
                .expression_attribute_values(":now", n(now.timestamp()))
                .send()
                .await;
            let err = match result {
                Ok(_) => return Ok(()),
                Err(err) => err,
            };
            match err.as_service_error() {
                Some(e) if e.is_conditional_check_failed_exception() => {
                    return Err(CartError::NotFound(id.clone()));
                }
                Some(e) if e.is_transaction_conflict_exception() => {
                    tracing::debug!(attempts, "cart held by a transaction; retrying");
                }
                _ => return Err(sdk(err, "failed to delete a cart").into()),
            }
        }
        Err(CartError::Contended)
    }

    #[tracing::instrument(skip_all, fields(store = "dynamodb", cart_id = %checkout.cart_id))]
    async fn checkout(&self, checkout: &CheckoutCart) -> Result<CheckoutDone, CheckoutError> {
        let customer = &checkout.customer_id;
        let record = || {
            self.orders
                .record(customer, checkout.key.as_ref(), checkout.now)
        };
        let cart = self
            .get_cart(&checkout.owner, &checkout.cart_id, checkout.now)
            .await?;
        // A retry of a checkout that emptied the cart is still a retry: its key's answer wins
        // over the cart as it is now. Only these failures pay for reading the key.
        let (cart, request) = match checkout.request(cart) {
            Ok(read) => read,
            Err(err) => return checkout.replay_or(record().await?, err),
        };
        let (entries, spread) = self.orders.catalog_entries(request.product_ids()).await?;
        let order = match Order::price(checkout.order_id.clone(), &request, &entries, checkout.now)
        {
            Ok(order) => order,
            Err(err) => {
                return checkout
                    .replay_or(record().await?, crate::orders::OrderError::from(err).into());
            }
        };
        let (mut answer, record) = checkout.answer(&cart, order)?;
        let mut emptied = cart.clone();
        emptied.empty(checkout.now);
        // The emptied cart replaces the one read, only if no change came in between.
        let empty_cart = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(&CartItem::new(&emptied))?))
            .condition_expression("version = :read")
            .expression_attribute_values(":read", n(cart.version))
            .build()
            .context("failed to build the cart Put")?;
        let extra = vec![TransactWriteItem::builder().put(empty_cart).build()];
        match self
            .orders
            .write_placement(&mut answer.order, &spread, record.as_ref(), checkout.now, extra)
            .await?
        {
            Placement::Placed => Ok(CheckoutDone {
                answer,
                replayed: false,
            }),
            Placement::KeyTaken(record) => checkout.replay(&record),
            Placement::ExtraFailed => Err(CheckoutError::Changed(checkout.cart_id.clone())),
        }
    }
}
