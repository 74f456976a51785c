//! The carts port over the embedded store: every change is one `IMMEDIATE` transaction that
//! reads the cart, judges the change with the domain's rules and writes the cart back; a
//! checkout places its order with the orders adapter's own writes in the same transaction.

use anyhow::Context as _;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction};
use stockroom_domain::ProductId;
use stockroom_domain::carts::{Cart, CartId, CartLine};
use stockroom_domain::orders::{CustomerId, Order};

use crate::orders::sqlite::{catalog_entries, live_record, write_placement};
use crate::sqlite::{SqliteStore, get_item, write_item, write_transaction};
use crate::carts::{AddToCart, CartError, CartReader, CartWriter, CheckoutCart, CheckoutDone};
use crate::carts::items::{CART_SK, CartItem, cart_pk};

/// `owner`'s live cart `id` at `now`.
fn live_cart(
    conn: &Connection,
    owner: &CustomerId,
    id: &CartId,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Cart>> {
    let item: Option<CartItem> = get_item(conn, super::TABLE, &cart_pk(owner, id), CART_SK)?;
    Ok(item
        .map(CartItem::into_cart)
        .transpose()?
        .filter(|cart| cart.is_live(now)))
}

fn write_cart(tx: &Transaction<'_>, cart: &Cart) -> anyhow::Result<()> {
    let item = CartItem::new(cart);
    write_item(tx, super::TABLE, &item.pk, &item.sk, Some(&item))
}

#[async_trait]
impl CartReader for SqliteStore {
    #[tracing::instrument(skip_all, fields(store = "sqlite", cart_id = %id))]
    async fn get_cart(
        &self,
        owner: &CustomerId,
        id: &CartId,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<Cart>> {
        let (owner, id) = (owner.clone(), id.clone());
        self.with_reader(move |conn| live_cart(conn, &owner, &id, now))
            .await
            .context("failed to get a cart from the embedded store")
    }
}

#[async_trait]
impl CartWriter for SqliteStore {
    #[tracing::instrument(skip_all, fields(store = "sqlite", cart_id = %add.cart_id, product_id = %add.product_id))]
    async fn add_to_cart(&self, add: &AddToCart) -> Result<Cart, CartError> {
        let add = add.clone();
        self.with_conn(move |conn| {
            let tx = write_transaction(conn)?;
            let entry = catalog_entries(&tx, std::iter::once(&add.product_id))?
                .remove(&add.product_id)
                .ok_or_else(|| CartError::UnknownProduct(add.product_id.clone()))?;
            // An expired cart is gone: adding starts a new one under the same id.
            let mut cart = live_cart(&tx, &add.owner, &add.cart_id, add.now)?
                .unwrap_or_else(|| Cart::new(add.owner.clone(), add.cart_id.clone(), add.now));
            cart.add(
                CartLine {
                    product_id: add.product_id.clone(),
                    name: entry.name,
                    quantity: add.quantity.get(),
                    unit_price: entry.price,
                    currency: entry.currency,
                },
                add.now,
            )?;
            write_cart(&tx, &cart)?;
            tx.commit()?;
            Ok(cart)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(store = "sqlite", cart_id = %cart_id, product_id = %product_id))]
    async fn set_cart_quantity(
        &self,
        owner: &CustomerId,
        cart_id: &CartId,
        product_id: &ProductId,
        quantity: u64,
        now: DateTime<Utc>,
    ) -> Result<Cart, CartError> {
        let (owner, cart_id, product_id) = (owner.clone(), cart_id.clone(), product_id.clone());
        self.with_conn(move |conn| {
            let tx = write_transaction(conn)?;
            let mut cart = live_cart(&tx, &owner, &cart_id, now)?
                .ok_or_else(|| CartError::NotFound(cart_id.clone()))?;
            if !cart.set_quantity(&product_id, quantity, now) {
                return Err(CartError::NoLine {
                    cart_id,
                    product_id,
                });
            }
            write_cart(&tx, &cart)?;
            tx.commit()?;
            Ok(cart)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(store = "sqlite", cart_id = %id))]
    async fn delete_cart(
        &self,
        owner: &CustomerId,
        id: &CartId,
        now: DateTime<Utc>,
    ) -> Result<(), CartError> {
        let (owner, id) = (owner.clone(), id.clone());
        self.with_conn(move |conn| {
            let tx = write_transaction(conn)?;
            if live_cart(&tx, &owner, &id, now)?.is_none() {
                return Err(CartError::NotFound(id));
            }
            write_item(
                &tx,
                super::TABLE,
                &cart_pk(&owner, &id),
                CART_SK,
                None::<&CartItem>,
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(store = "sqlite", cart_id = %checkout.cart_id))]
    async fn checkout(
        &self,
        checkout: &CheckoutCart,
    ) -> Result<CheckoutDone, crate::carts::CheckoutError> {
        let checkout = checkout.clone();
        self.with_conn(move |conn| {
            let tx = write_transaction(conn)?;
            let record = || {
                live_record(
                    &tx,
                    &checkout.customer_id,
                    checkout.key.as_ref(),
                    checkout.now,
                )
            };
            let cart = live_cart(&tx, &checkout.owner, &checkout.cart_id, checkout.now)?;
            // A retry of a checkout that emptied the cart is still a retry: its key's answer
            // wins over the cart as it is now.
            let (mut cart, request) = match checkout.request(cart) {
                Ok(read) => read,
                Err(err) => return checkout.replay_or(record()?, err),
            };
            let entries = catalog_entries(&tx, request.product_ids())?;
            let order =
                match Order::price(checkout.order_id.clone(), &request, &entries, checkout.now) {
                    Ok(order) => order,
                    Err(err) => {
                        return checkout
                            .replay_or(record()?, crate::orders::OrderError::from(err).into());
                    }
                };
            if let Some(record) = record()? {
                return checkout.replay(&record);
            }
            let (mut answer, record) = checkout.answer(&cart, order)?;
            write_placement(&tx, &mut answer.order, record.as_ref(), checkout.now)?;
            cart.empty(checkout.now);
            write_cart(&tx, &cart)?;
            tx.commit()?;
            Ok(CheckoutDone {
                answer,
                replayed: false,
            })
        })
        .await
    }
}
