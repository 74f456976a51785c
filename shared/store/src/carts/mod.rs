//! The carts port: a cart is one item, so every change is one conditional write that cannot
//! lose a concurrent one; checkout places the order and empties the cart in one transaction.

#[cfg(feature = "dynamodb")]
pub(crate) mod dynamodb;
pub mod items;
#[cfg(feature = "embedded")]
pub(crate) mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stockroom_domain::ProductId;
use stockroom_domain::carts::{Cart, CartConflict, CartId, CheckedOut, checkout_fingerprint};
use stockroom_domain::inventory::Quantity;
use stockroom_domain::orders::{CustomerId, IdempotencyKey, Order, OrderId, OrderRequest};

use crate::orders::items::IdempotencyItem;
use crate::orders::OrderError;
use crate::tables::Table;

/// Adding `quantity` of a product to `owner`'s cart (which starts when it has no live cart).
#[derive(Debug, Clone)]
pub struct AddToCart {
    pub owner: CustomerId,
    pub cart_id: CartId,
    pub product_id: ProductId,
    pub quantity: Quantity,
    pub now: DateTime<Utc>,
}

/// Checking `owner`'s cart out into order `order_id` for `customer_id` (the owner, or the
/// customer an administrator orders for).
#[derive(Debug, Clone)]
pub struct CheckoutCart {
    pub owner: CustomerId,
    pub cart_id: CartId,
    pub customer_id: CustomerId,
    pub order_id: OrderId,
    pub key: Option<IdempotencyKey>,
    pub now: DateTime<Utc>,
}

/// A checkout's answer, and whether an earlier request with the same key gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckoutDone {
    pub answer: CheckedOut,
    /// Nothing was written this time.
    pub replayed: bool,
}

/// Why a cart was not changed. Nothing was written in any case.
#[derive(Debug, thiserror::Error)]
pub enum CartError {
    /// No live cart has the id (an expired one is gone even before DynamoDB deletes it).
    #[error("no cart has the id \"{0}\"")]
    NotFound(CartId),
    #[error("no product has the id \"{0}\"")]
    UnknownProduct(ProductId),
    #[error("cart \"{cart_id}\" has no line for \"{product_id}\"")]
    NoLine {
        cart_id: CartId,
        product_id: ProductId,
    },
    #[error(transparent)]
    Conflict(#[from] CartConflict),
    /// Other writers kept changing the cart until the retries ran out.
    #[error("the cart is being changed by someone else right now")]
    Contended,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// Why a cart was not checked out. The cart, the stock and the orders are as they were.
#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error("no cart has the id \"{0}\"")]
    NotFound(CartId),
    #[error("cart \"{0}\" is empty")]
    Empty(CartId),
    /// The cart changed between its read and the transaction.
    #[error("cart \"{0}\" changed during checkout")]
    Changed(CartId),
    /// Placing the order failed: pricing, stock, the key, contention.
    #[error(transparent)]
    Order(#[from] OrderError),
}

impl From<anyhow::Error> for CheckoutError {
    fn from(err: anyhow::Error) -> Self {
        Self::Order(OrderError::Unexpected(err))
    }
}

#[cfg(feature = "embedded")]
impl From<rusqlite::Error> for CartError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Unexpected(err.into())
    }
}

#[cfg(feature = "embedded")]
impl From<rusqlite::Error> for CheckoutError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Order(err.into())
    }
}

#[async_trait]
pub trait CartReader: Send + Sync {
    /// `owner`'s live cart `id` at `now`.
    ///
    /// # Errors
    /// Only when the store cannot be read.
    async fn get_cart(
        &self,
        owner: &CustomerId,
        id: &CartId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Cart>>;
}

#[async_trait]
pub trait CartWriter: Send + Sync {
    /// Adds the product (its name, price and currency read from the catalog now) to the
    /// cart, starting the cart if it has none live; quantities of one product add up, and
    /// concurrent adds all count.
    ///
    /// # Errors
    /// [`CartError::UnknownProduct`]; [`CartError::Conflict`] for a change beyond the cart's
    /// limits.
    async fn add_to_cart(&self, add: &AddToCart) -> Result<Cart, CartError>;

    /// Sets the product's line to `quantity` (0 removes it; removing the last line leaves an
    /// empty cart).
    ///
    /// # Errors
    /// [`CartError::NotFound`], [`CartError::NoLine`].
    async fn set_cart_quantity(
        &self,
        owner: &CustomerId,
        cart_id: &CartId,
        product_id: &ProductId,
        quantity: u64,
        now: DateTime<Utc>,
    ) -> Result<Cart, CartError>;

    /// Deletes the cart.
    ///
    /// # Errors
    /// [`CartError::NotFound`].
    async fn delete_cart(
        &self,
        owner: &CustomerId,
        id: &CartId,
        now: DateTime<Utc>,
    ) -> Result<(), CartError>;

    /// Prices the cart's lines from today's catalog and, in one transaction, places the order
    /// exactly as [`crate::orders::OrderWriter::place_order`] does (stock, order, key record) and
    /// empties the cart, provided it is still the cart that was read. With a key whose live
    /// record is of the same cart and customer, returns that record's answer and writes nothing.
    ///
    /// # Errors
    /// [`CheckoutError::NotFound`], [`CheckoutError::Empty`], [`CheckoutError::Changed`], and
    /// the order's errors.
    async fn checkout(&self, checkout: &CheckoutCart) -> Result<CheckoutDone, CheckoutError>;
}

/// Everything the carts service needs.
pub trait CartsStore: CartReader + CartWriter {}

impl<T: CartReader + CartWriter> CartsStore for T {}

impl CheckoutCart {
    /// The fingerprint its idempotency key is recorded with.
    pub fn fingerprint(&self) -> String {
        checkout_fingerprint(&self.owner, &self.cart_id, &self.customer_id)
    }

    /// The live cart read as `cart`, and the order it asks for.
    ///
    /// # Errors
    /// [`CheckoutError::NotFound`], [`CheckoutError::Empty`].
    pub(crate) fn request(
        &self,
        cart: Option<Cart>,
    ) -> Result<(Cart, OrderRequest), CheckoutError> {
        let cart = cart.ok_or_else(|| CheckoutError::NotFound(self.cart_id.clone()))?;
        let request = cart
            .order_request(self.customer_id.clone())
            .map_err(anyhow::Error::from)?
            .ok_or_else(|| CheckoutError::Empty(self.cart_id.clone()))?;
        Ok((cart, request))
    }

    /// The answer to give when the cart cannot be checked out because of `err`: the answer
    /// of the key's live `record` if there is one (a retry of a checkout that emptied the
    /// cart), else `err`.
    pub(crate) fn replay_or(
        &self,
        record: Option<IdempotencyItem>,
        err: CheckoutError,
    ) -> Result<CheckoutDone, CheckoutError> {
        match record {
            Some(record) => self.replay(&record),
            None => Err(err),
        }
    }

    /// The answer of the key's live `record`.
    ///
    /// # Errors
    /// [`OrderError::KeyReused`] when the record is of another request.
    pub(crate) fn replay(&self, record: &IdempotencyItem) -> Result<CheckoutDone, CheckoutError> {
        Ok(CheckoutDone {
            answer: record
                .answer(&self.fingerprint())
                .map_err(OrderError::from)?,
            replayed: true,
        })
    }

    /// The answer for `order`, placed from `cart`, and the record of the key if there is one.
    ///
    /// # Errors
    /// When the answer cannot be serialized.
    pub(crate) fn answer(
        &self,
        cart: &Cart,
        order: Order,
    ) -> anyhow::Result<(CheckedOut, Option<IdempotencyItem>)> {
        let answer = CheckedOut {
            price_changes: cart.price_changes(&order),
            order,
        };
        let record = self
            .key
            .as_ref()
            .map(|key| IdempotencyItem::new(key, self.fingerprint(), &answer.order, &answer))
            .transpose()?;
        Ok((answer, record))
    }
}

/// The carts table.
pub const TABLE: Table = Table {
    name: "carts",
    env_var: "CARTS_TABLE",
    resource: "CartsTable",
};

impl crate::Store {
    /// The carts port. Adding reads the catalog and checkout places an order, so it needs
    /// every table the orders port does and its own.
    ///
    /// # Errors
    /// With DynamoDB, when `CARTS_TABLE` or a table of [`Self::orders`] is not set.
    pub fn carts(&self) -> anyhow::Result<Arc<dyn CartsStore>> {
        Ok(match &self.backend {
            #[cfg(feature = "dynamodb")]
            crate::config::Backend::DynamoDb { client, tables } => Arc::new(crate::dynamodb::DynamoCarts::new(
                crate::Store::dynamo_orders(client, tables)?,
                crate::Store::table(tables, crate::carts::TABLE)?,
            )),
            #[cfg(feature = "embedded")]
            crate::config::Backend::Embedded(store) => Arc::new(store.clone()),
        })
    }
}
