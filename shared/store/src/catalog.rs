//! The catalog port: products and their price history.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stockroom_domain::ProductId;
use stockroom_domain::catalog::Category;
use stockroom_domain::catalog::{PriceChange, Product, ProductDetails};
use stockroom_domain::page::{Cursor, Limit, Page};

/// Which products to list: ascending by id, after `after`, optionally one category.
#[derive(Debug, Clone, Default)]
pub struct ProductQuery {
    pub category: Option<Category>,
    pub limit: Limit,
    pub after: Option<ProductId>,
}

/// Why a write did not happen. Nothing was changed in any of these cases.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("a product with the id {0:?} already exists")]
    AlreadyExists(ProductId),
    #[error("no product has the id \"{0}\"")]
    NotFound(ProductId),
    #[error("product {0:?} kept changing while it was being replaced; try again")]
    Contended(ProductId),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

#[async_trait]
pub trait ProductReader: Send + Sync {
    /// # Errors
    /// Only when the store cannot be read.
    async fn get_product(&self, id: &ProductId) -> anyhow::Result<Option<Product>>;

    /// One page of products in ascending id order.
    ///
    /// # Errors
    /// Only when the store cannot be read.
    async fn list_products(&self, query: &ProductQuery) -> anyhow::Result<Page<Product>>;
}

#[async_trait]
pub trait ProductWriter: Send + Sync {
    /// Stores a new product and records its first price, both or neither.
    ///
    /// # Errors
    /// [`WriteError::AlreadyExists`] when the id is taken.
    async fn create_product(&self, product: &Product) -> Result<(), WriteError>;

    /// Replaces the client-set fields of product `id` at `now`, recording a price change if the
    /// price moved, both or neither. A concurrent replace is never lost: the write is
    /// conditional on the version read, and retried.
    ///
    /// # Errors
    /// [`WriteError::NotFound`] when there is no such product.
    async fn replace_product(
        &self,
        id: &ProductId,
        details: ProductDetails,
        now: DateTime<Utc>,
    ) -> Result<Product, WriteError>;

    /// Deletes product `id`. Its price history stays for audit, but is never shown for a later
    /// product with the same id (history before a product's `created_at` is not its own).
    ///
    /// # Errors
    /// [`WriteError::NotFound`] when there is no such product.
    async fn delete_product(&self, id: &ProductId) -> Result<Product, WriteError>;
}

#[async_trait]
pub trait PriceHistoryReader: Send + Sync {
    /// The product and its price changes at or after `since`, oldest first; `None` when there
    /// is no such product.
    ///
    /// # Errors
    /// Only when the store cannot be read.
    async fn price_history(
        &self,
        id: &ProductId,
        since: DateTime<Utc>,
    ) -> anyhow::Result<Option<(Product, Vec<PriceChange>)>>;
}

/// Everything the catalog service needs; each function uses only the part it takes.
pub trait CatalogStore: ProductReader + ProductWriter + PriceHistoryReader {}

impl<T: ProductReader + ProductWriter + PriceHistoryReader> CatalogStore for T {}

/// How many times a replace re-reads and retries when another writer got in between.
pub(crate) const REPLACE_ATTEMPTS: usize = 8;

/// One page from products fetched in id order with one extra: the extra one is cut off, and
/// its presence is what makes a cursor. Both adapters fetch `limit + 1` this way.
pub(crate) fn page_of(mut products: Vec<Product>, limit: usize) -> Page<Product> {
    let more = products.len() > limit;
    products.truncate(limit);
    let next_cursor = more
        .then(|| {
            products
                .last()
                .map(|p| Cursor::after(p.id.clone()).encode())
        })
        .flatten();
    Page {
        items: products,
        next_cursor,
    }
}
