//! The single-table layout of the `catalog` table.
//!
//! | item | pk | sk | other keys |
//! |---|---|---|---|
//! | product | `PRODUCT#<id>` | `PRODUCT` | `entity = "product"`, `id` (GSI `by-entity`); `category` (GSI `by-category`, sparse) |
//! | price change | `PRODUCT#<id>` | `PRICE#<at, RFC 3339 ms>#<product version>` | none |
//!
//! `PRICE#…` sorts before `PRODUCT`, so one query `sk BETWEEN PRICE#<since> AND PRODUCT` reads a
//! history window and the product together.

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use stockroom_domain::catalog::{Category, Description, PriceChange, Product, ProductName};
use stockroom_domain::{Currency, Price, ProductId, timestamp};

use crate::items::parse_time;

pub const PRODUCT_SK: &str = "PRODUCT";
pub const PRODUCT_ENTITY: &str = "product";
pub const BY_CATEGORY_INDEX: &str = "by-category";

pub fn product_pk(id: &ProductId) -> String {
    format!("PRODUCT#{id}")
}

/// The lowest sort key a price change at or after `at` can have.
pub fn price_sk_from(at: &chrono::DateTime<chrono::Utc>) -> String {
    format!("PRICE#{}", timestamp::format(at))
}

/// A price change's sort key: its time, then the product version that made it. Two changes in
/// the same millisecond (a create and a quick replace) keep both records, in order.
pub fn price_sk(at: &chrono::DateTime<chrono::Utc>, version: u64) -> String {
    format!("PRICE#{}#{version:020}", timestamp::format(at))
}

/// A product as stored. Optional attributes are left out rather than stored as NULL, because
/// DynamoDB rejects NULL in an index key (`category`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub price: i64,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Bumped on every write; replaces are conditional on it.
    pub version: u64,
}

impl ProductItem {
    pub fn new(product: &Product, version: u64) -> Self {
        Self {
            pk: product_pk(&product.id),
            sk: PRODUCT_SK.to_owned(),
            entity: PRODUCT_ENTITY.to_owned(),
            id: product.id.to_string(),
            name: product.name.as_str().to_owned(),
            description: product.description.as_ref().map(|d| d.as_str().to_owned()),
            price: product.price.minor_units(),
            currency: product.currency.as_str().to_owned(),
            category: product.category.as_ref().map(|c| c.as_str().to_owned()),
            created_at: timestamp::format(&product.created_at),
            updated_at: timestamp::format(&product.updated_at),
            version,
        }
    }

    /// # Errors
    /// When a stored value no longer parses: the item was written by something else.
    pub fn into_product(self) -> anyhow::Result<Product> {
        let id = self.id.clone();
        let parse = || -> Result<Product, anyhow::Error> {
            Ok(Product {
                id: ProductId::parse(&self.id)?,
                name: ProductName::parse(&self.name)?,
                description: self
                    .description
                    .as_deref()
                    .map(Description::parse)
                    .transpose()?,
                price: Price::new(self.price)?,
                currency: Currency::parse(&self.currency)?,
                category: self.category.as_deref().map(Category::parse).transpose()?,
                created_at: parse_time(&self.created_at)?,
                updated_at: parse_time(&self.updated_at)?,
            })
        };
        parse().with_context(|| format!("stored product {id:?} is not valid"))
    }
}

/// A recorded price change as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceItem {
    pub pk: String,
    pub sk: String,
    pub product_id: String,
    pub at: String,
    pub price: i64,
    pub currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<i64>,
}

impl PriceItem {
    /// The record of `change`, made by the write that took the product to `version`.
    pub fn new(id: &ProductId, change: &PriceChange, version: u64) -> Self {
        Self {
            pk: product_pk(id),
            sk: price_sk(&change.at, version),
            product_id: id.to_string(),
            at: timestamp::format(&change.at),
            price: change.price.minor_units(),
            currency: change.currency.as_str().to_owned(),
            previous: change.previous.map(Price::minor_units),
        }
    }

    /// # Errors
    /// When a stored value no longer parses.
    pub fn into_change(self) -> anyhow::Result<PriceChange> {
        let sk = self.sk.clone();
        let parse = || -> Result<PriceChange, anyhow::Error> {
            Ok(PriceChange {
                at: parse_time(&self.at)?,
                price: Price::new(self.price)?,
                currency: Currency::parse(&self.currency)?,
                previous: self.previous.map(Price::new).transpose()?,
            })
        };
        parse().with_context(|| format!("stored price change {sk:?} is not valid"))
    }
}

/// What replacing `old` with `details` at `now` writes: the product (one version on) and, if
/// the price moved, the record of the change. Both adapters write exactly this.
///
/// # Errors
/// When the stored product no longer parses.
pub fn replacement(
    old: ProductItem,
    details: stockroom_domain::catalog::ProductDetails,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<(Product, ProductItem, Option<PriceItem>)> {
    let version = old.version + 1;
    let id = ProductId::parse(&old.id)?;
    let (next, change) = old.into_product()?.replaced(details, now);
    let item = ProductItem::new(&next, version);
    let price = change.map(|change| PriceItem::new(&id, &change, version));
    Ok((next, item, price))
}

/// Keeps only the changes that belong to `product`: a deleted product's history stays stored
/// but must not show up under a new product that reuses its id.
pub fn own_history(product: &Product, mut changes: Vec<PriceChange>) -> Vec<PriceChange> {
    changes.retain(|c| c.at >= product.created_at);
    changes
}
