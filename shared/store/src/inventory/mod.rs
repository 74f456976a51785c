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
use stockroom_domain::inventory::{Available, Quantity, Shards, StockLevel, StockMove};
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
    /// none, split evenly over `shards` (when given; else the shards it has, 1 for a new
    /// level). What each shard holds reserved stays, so orders can still release and ship it.
    /// The catalog check and the writes are one transaction.
    ///
    /// # Errors
    /// [`StockError::UnknownProduct`] when the catalog has no such product.
    async fn set_stock(
        &self,
        id: &ProductId,
        available: Available,
        shards: Option<Shards>,
        now: DateTime<Utc>,
    ) -> Result<StockLevel, StockError>;

    /// Applies `mv` of `quantity` in one conditional write: it happens only if the count it
    /// takes from has at least `quantity`, so concurrent changes can never oversell. On a split
    /// level it takes from the first shard when that has enough, else across the shards (one
    /// transaction of conditional writes); the level's total decides whether it is short.
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

/// What setting a level writes: the shards orders spread over, every shard item it keeps with
/// its `(shard, available, reserved)`, and the shard items it deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SetPlan {
    pub spread: u32,
    pub keep: Vec<(u32, u64, u64)>,
    pub delete: Vec<u32>,
}

impl SetPlan {
    /// `available` split over `shards` (else the `current` spread, else 1). Each kept shard
    /// keeps what it has reserved; a shard beyond the new spread is kept (with nothing
    /// available) while it or one after it still holds reserved units, and deleted otherwise.
    pub(crate) fn new(
        existing: &[stockroom_domain::inventory::ShardCounts],
        available: Available,
        shards: Option<Shards>,
        current: Option<u32>,
    ) -> Self {
        let spread = shards
            .or_else(|| current.and_then(|n| Shards::new(i64::from(n)).ok()))
            .unwrap_or(Shards::ONE);
        let split = spread.split(available.get());
        let spread = spread.get();
        let reserved = |k: u32| {
            existing
                .iter()
                .find(|s| s.shard == k)
                .map_or(0, |s| s.reserved)
        };
        let items = existing
            .iter()
            .filter(|s| s.reserved > 0)
            .map(|s| s.shard + 1)
            .max()
            .unwrap_or(0)
            .max(spread);
        Self {
            spread,
            keep: (0..items)
                .map(|k| {
                    let available = split.get(k as usize).copied().unwrap_or(0);
                    (k, available, reserved(k))
                })
                .collect(),
            delete: existing
                .iter()
                .map(|s| s.shard)
                .filter(|&k| k >= items)
                .collect(),
        }
    }

    /// [`SetPlan::new`] for the level as read (`None`: it has none).
    pub(crate) fn of(
        existing: Option<&(items::StockItem, Vec<items::StockItem>)>,
        available: Available,
        shards: Option<Shards>,
    ) -> anyhow::Result<Self> {
        Ok(match existing {
            Some((head, rest)) => Self::new(
                &items::level_counts(head, rest)?,
                available,
                shards,
                Some(head.spread()),
            ),
            None => Self::new(&[], available, shards, None),
        })
    }

    /// How many shard items the level has after the set.
    pub(crate) fn items(&self) -> u32 {
        u32::try_from(self.keep.len()).unwrap_or(u32::MAX)
    }
}

/// A shard of `spread` chosen at random, for a reservation to take from first: concurrent
/// orders of a hot product then write different items.
pub(crate) fn random_shard(spread: u32) -> u32 {
    use std::hash::BuildHasher as _;
    if spread <= 1 {
        return 0;
    }
    // A fresh RandomState is seeded per thread and stepped per use: random enough to spread
    // writes, and no dependency for it.
    let hash = std::collections::hash_map::RandomState::new().hash_one(spread);
    u32::try_from(hash % u64::from(spread)).unwrap_or(0)
}

/// The shards a line records: none when all of it sits in shard 0 (the usual case, and how
/// every order placed before levels were split reads).
pub(crate) fn recorded(
    takes: Vec<stockroom_domain::inventory::ShardTake>,
) -> Vec<stockroom_domain::inventory::ShardTake> {
    if takes.iter().all(|t| t.shard == 0) {
        Vec::new()
    } else {
        takes
    }
}

/// The page of stock levels from `levels` fetched in product id order with one extra.
#[cfg(feature = "embedded")]
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

#[cfg(test)]
mod tests {
    use super::*;
    use stockroom_domain::inventory::ShardCounts;

    fn counts(list: &[(u32, u64, u64)]) -> Vec<ShardCounts> {
        list.iter()
            .map(|&(shard, available, reserved)| ShardCounts {
                shard,
                available,
                reserved,
            })
            .collect()
    }

    #[test]
    fn a_set_splits_available_keeps_reserved_and_drops_only_empty_shards_past_the_spread() {
        let a = |n| Available::new(n).unwrap();
        let s = |n| Some(Shards::new(n).unwrap());
        // A new level, one shard.
        let plan = SetPlan::new(&[], a(7), None, None);
        assert_eq!((plan.spread, plan.keep, plan.delete), (1, vec![(0, 7, 0)], vec![]));
        // Split into 4: reserved stays where it is.
        let plan = SetPlan::new(&counts(&[(0, 3, 2)]), a(10), s(4), Some(1));
        assert_eq!(plan.keep, vec![(0, 3, 2), (1, 3, 0), (2, 2, 0), (3, 2, 0)]);
        // Back to 2: shard 3 still holds reserved units, so 2 and 3 stay with nothing available.
        let existing = counts(&[(0, 1, 0), (1, 1, 0), (2, 1, 0), (3, 0, 5)]);
        let plan = SetPlan::new(&existing, a(4), s(2), Some(4));
        assert_eq!(plan.keep, vec![(0, 2, 0), (1, 2, 0), (2, 0, 0), (3, 0, 5)]);
        assert!(plan.delete.is_empty());
        // Without the reservation, shards 2 and 3 go.
        let existing = counts(&[(0, 1, 0), (1, 1, 0), (2, 1, 0), (3, 0, 0)]);
        let plan = SetPlan::new(&existing, a(4), s(2), Some(4));
        assert_eq!((plan.keep.len(), plan.delete), (2, vec![2, 3]));
        // No `shards`: the spread the level has.
        let plan = SetPlan::new(&existing, a(9), None, Some(3));
        assert_eq!(plan.keep, vec![(0, 3, 0), (1, 3, 0), (2, 3, 0)]);
    }
}
