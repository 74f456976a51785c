//! The catalog port: products and their price history.

#[cfg(feature = "dynamodb")]
pub(crate) mod dynamodb;
pub mod items;
#[cfg(feature = "embedded")]
pub(crate) mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stockroom_domain::ProductId;
use stockroom_domain::catalog::Category;
use stockroom_domain::catalog::{PriceChange, Product, ProductDetails};
use stockroom_domain::page::{Limit, Page};
use crate::tables::Table;

/// Why a catalog write did not happen.
pub type WriteError = crate::error::WriteError<ProductId>;

/// Which products to list: ascending by id, after `after`, optionally one category.
#[derive(Debug, Clone, Default)]
pub struct ProductQuery {
    pub category: Option<Category>,
    pub limit: Limit,
    pub after: Option<ProductId>,
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
    /// [`WriteError::AlreadyExists`] when the id is taken; [`WriteError::Contended`] when
    /// another transaction held the id at the same moment (DynamoDB's `TransactionConflict`).
    async fn create_product(&self, product: &Product) -> Result<(), WriteError>;

    /// Replaces the client-set fields of product `id` at `now`, recording a price change if the
    /// price moved, both or neither. A concurrent replace is never lost: the write is
    /// conditional on the version read, and retried (also when another transaction held it).
    ///
    /// # Errors
    /// [`WriteError::NotFound`] when there is no such product; [`WriteError::Contended`] when
    /// the retries ran out.
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

/// The page of products from `products` fetched in id order with one extra.
pub(crate) fn page_of(products: Vec<Product>, limit: Limit) -> Page<Product> {
    Page::of(products, limit, |p| p.id.clone())
}

/// The catalog table.
pub const TABLE: Table = Table {
    name: "catalog",
    env_var: "CATALOG_TABLE",
    resource: "CatalogTable",
};

impl crate::Store {
    /// The catalog port.
    ///
    /// # Errors
    /// With DynamoDB, when `CATALOG_TABLE` is not set.
    pub fn catalog(&self) -> anyhow::Result<Arc<dyn CatalogStore>> {
        Ok(match &self.backend {
            #[cfg(feature = "dynamodb")]
            crate::config::Backend::DynamoDb { client, tables } => Arc::new(crate::dynamodb::DynamoCatalog::new(
                client.clone(),
                crate::Store::table(tables, crate::catalog::TABLE)?,
            )),
            #[cfg(feature = "embedded")]
            crate::config::Backend::Embedded(store) => Arc::new(store.clone()),
        })
    }
}
