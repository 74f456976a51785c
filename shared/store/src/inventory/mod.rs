//! The inventory port: stock levels that every change moves with one conditional write.

#[cfg(feature = "dynamodb")]
pub(crate) mod dynamodb;
pub mod items;
#[cfg(feature = "embedded")]
pub(crate) mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stockroom_domain::ProductId;
use stockroom_domain::inventory::{Available, Quantity, StockLevel, StockMove};
use stockroom_domain::page::{Limit, Page};
use crate::tables::Table;

/// Which stock levels to list: ascending by product id, after `after`.
#[derive(Debug, Clone, Default)]
pub struct StockQuery {
    pub limit: Limit,
    pub after: Option<ProductId>,
}

/// Why a stock change did not happen. Nothing was changed in any of these cases. The messages
/// are sentences for a client.
#[derive(Debug, thiserror::Error)]
pub enum StockError {
    #[error("No product has the id \"{0}\" in the catalog.")]
    UnknownProduct(ProductId),
    #[error("Product \"{0}\" has no stock level.")]
    NoStockLevel(ProductId),
    #[error(
        "Product \"{product_id}\" has {available} available, fewer than the {requested} requested."
    )]
    InsufficientAvailable {
        product_id: ProductId,
        available: u64,
        requested: u64,
    },
    #[error(
        "Product \"{product_id}\" has {reserved} reserved, fewer than the {requested} to release."
    )]
    InsufficientReserved {
        product_id: ProductId,
        reserved: u64,
        requested: u64,
    },
    #[error(
        "Product \"{product_id}\" still has {reserved} reserved; release them before deleting its stock level."
    )]
    StillReserved {
        product_id: ProductId,
        reserved: u64,
    },
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl StockError {
    /// The error for `mv` of `quantity` refused because of `shortfall`.
    pub fn shortfall(
        product_id: &ProductId,
        quantity: Quantity,
        shortfall: stockroom_domain::inventory::Shortfall,
    ) -> Self {
        use stockroom_domain::inventory::Shortfall;
        match shortfall {
            Shortfall::Available(available) => Self::InsufficientAvailable {
                product_id: product_id.clone(),
                available,
                requested: quantity.get(),
            },
            Shortfall::Reserved(reserved) => Self::InsufficientReserved {
                product_id: product_id.clone(),
                reserved,
                requested: quantity.get(),
            },
        }
    }
}

#[cfg(feature = "embedded")]
impl From<rusqlite::Error> for StockError {
    fn from(err: rusqlite::Error) -> Self {
        Self::Unexpected(err.into())
    }
}

#[async_trait]
pub trait StockReader: Send + Sync {
    /// # Errors
    /// Only when the store cannot be read.
    async fn get_stock(&self, id: &ProductId) -> anyhow::Result<Option<StockLevel>>;

    /// One page of stock levels in ascending product id order.
    ///
    /// # Errors
    /// Only when the store cannot be read.
    async fn list_stock(&self, query: &StockQuery) -> anyhow::Result<Page<StockLevel>>;
}

#[async_trait]
pub trait StockWriter: Send + Sync {
    /// Sets `available` for a product in the catalog, creating its level (0 reserved) if it has
    /// none. The catalog check and the write are one transaction.
    ///
    /// # Errors
    /// [`StockError::UnknownProduct`] when the catalog has no such product.
    async fn set_stock(
        &self,
        id: &ProductId,
        available: Available,
        now: DateTime<Utc>,
    ) -> Result<StockLevel, StockError>;

    /// Applies `mv` of `quantity` in one conditional write: it happens only if the count it
    /// takes from has at least `quantity`, so concurrent changes can never oversell.
    ///
    /// # Errors
    /// [`StockError::NoStockLevel`] (nothing is created), or the shortfall.
    async fn move_stock(
        &self,
        id: &ProductId,
        mv: StockMove,
        quantity: Quantity,
        now: DateTime<Utc>,
    ) -> Result<StockLevel, StockError>;

    /// Deletes a level with nothing reserved.
    ///
    /// # Errors
    /// [`StockError::NoStockLevel`], or [`StockError::StillReserved`].
    async fn delete_stock(&self, id: &ProductId) -> Result<StockLevel, StockError>;
}

/// Everything the inventory service needs.
pub trait InventoryStore: StockReader + StockWriter {}

impl<T: StockReader + StockWriter> InventoryStore for T {}

/// The page of stock levels from `levels` fetched in product id order with one extra.
pub(crate) fn page_of(levels: Vec<StockLevel>, limit: Limit) -> Page<StockLevel> {
    Page::of(levels, limit, |l| l.product_id.clone())
}

/// The inventory table.
pub const TABLE: Table = Table {
    name: "inventory",
    env_var: "INVENTORY_TABLE",
    resource: "InventoryTable",
};

impl crate::Store {
    /// The inventory port. Setting stock checks the catalog, so it needs both tables.
    ///
    /// # Errors
    /// With DynamoDB, when `INVENTORY_TABLE` or `CATALOG_TABLE` is not set.
    pub fn inventory(&self) -> anyhow::Result<Arc<dyn InventoryStore>> {
        Ok(match &self.backend {
            #[cfg(feature = "dynamodb")]
            crate::config::Backend::DynamoDb { client, tables } => {
                Arc::new(crate::dynamodb::DynamoInventory::new(
                    client.clone(),
                    crate::Store::table(tables, crate::inventory::TABLE)?,
                    crate::Store::table(tables, crate::catalog::TABLE)?,
                ))
            }
            #[cfg(feature = "embedded")]
            crate::config::Backend::Embedded(store) => Arc::new(store.clone()),
        })
    }
}
