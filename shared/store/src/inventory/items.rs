//! The `inventory` table: one item per product's stock level, or for a level split into
//! shards, one item per shard, each under a partition key of its own.
//!
//! | item | pk | sk | other keys |
//! |---|---|---|---|
//! | stock level, or its shard 0 | `STOCK#<product id>` | `STOCK` | `entity = "stock"`, `id` = the product id (GSI `by-entity`, keys only) |
//! | shard `k` (1..) of a split level | `STOCK#<product id>#<k>` (two digits) | `STOCK` | none: not listed |
//!
//! Each shard is its own partition key because DynamoDB's write limit is per partition key:
//! shards sharing one would share its 1,000 write units a second. Shard 0 (the level's own
//! item) also says how many shards orders spread over (`shards`, absent for 1) and how many
//! shard items exist (`shard_items`, at least `shards`: a level split into fewer shards keeps
//! the items that still hold reserved units). A level is the sum of its items.

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use stockroom_domain::inventory::{ShardCounts, StockLevel};
use stockroom_domain::ProductId;

pub const STOCK_SK: &str = "STOCK";
pub const STOCK_ENTITY: &str = "stock";

pub fn stock_pk(id: &ProductId) -> String {
    format!("STOCK#{id}")
}

/// The partition key of shard `k` of product `id`'s level: shard 0 is the level's own item.
pub fn shard_pk(id: &ProductId, k: u32) -> String {
    if k == 0 {
        stock_pk(id)
    } else {
        format!("STOCK#{id}#{k:02}")
    }
}

/// A stock level's item (shard 0), or one shard of a split level, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockItem {
    pub pk: String,
    pub sk: String,
    /// `"stock"` on shard 0, which the `by-entity` index lists; absent on the other shards.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub entity: String,
    /// The product id, named `id` for the `by-entity` index.
    pub id: String,
    pub available: u64,
    pub reserved: u64,
    pub updated_at: String,
    /// The trace context of the write that last changed the item ([`crate::items::TRACE_ATTRIBUTE`]).
    #[serde(default)]
    pub trace: String,
    /// On shard 0 of a split level: how many shards orders spread over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<u32>,
    /// On shard 0 of a split level: how many shard items exist (`shards` or more).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_items: Option<u32>,
}

impl StockItem {
    /// Shard `k` of product `id`'s level with these counts (shard 0 is the level's own item and
    /// carries `entity`; its `shards` and `shard_items` are the caller's to set).
    pub fn shard(id: &ProductId, k: u32, available: u64, reserved: u64, now: &str) -> Self {
        Self {
            pk: shard_pk(id, k),
            sk: STOCK_SK.to_owned(),
            entity: if k == 0 {
                STOCK_ENTITY.to_owned()
            } else {
                String::new()
            },
            id: id.to_string(),
            available,
            reserved,
            updated_at: now.to_owned(),
            trace: crate::items::trace_context(),
            shards: None,
            shard_items: None,
        }
    }

    /// Which shard this item is: 0 for the level's own item.
    ///
    /// # Errors
    /// When the partition key is not one [`shard_pk`] makes for the item's product.
    pub fn shard_number(&self) -> anyhow::Result<u32> {
        let level = format!("STOCK#{}", self.id);
        if self.pk == level {
            return Ok(0);
        }
        self.pk
            .strip_prefix(&level)
            .and_then(|rest| rest.strip_prefix('#'))
            .and_then(|k| k.parse().ok())
            .with_context(|| format!("stored stock shard has an unknown key {:?}", self.pk))
    }

    /// How many shards orders spread over (on shard 0; 1 on any other item).
    pub fn spread(&self) -> u32 {
        self.shards.unwrap_or(1).max(1)
    }

    /// How many shard items the level has (on shard 0).
    pub fn items(&self) -> u32 {
        self.shard_items.unwrap_or(1).max(self.spread())
    }

    /// The level that shard 0 `head` and the other shard items `rest` make: their sums.
    ///
    /// # Errors
    /// When a stored value no longer parses: the item was written by something else.
    pub fn level(head: &Self, rest: &[Self]) -> anyhow::Result<StockLevel> {
        let parse = || -> anyhow::Result<StockLevel> {
            let mut updated_at = crate::items::parse_time(&head.updated_at)?;
            let (mut available, mut reserved) = (head.available, head.reserved);
            for shard in rest {
                available += shard.available;
                reserved += shard.reserved;
                updated_at = updated_at.max(crate::items::parse_time(&shard.updated_at)?);
            }
            Ok(StockLevel {
                product_id: ProductId::parse(&head.id)?,
                available,
                reserved,
                shards: head.spread(),
                updated_at,
            })
        };
        parse().with_context(|| format!("stored stock level {:?} is not valid", head.id))
    }

    /// The level of an unsplit level's only item (or, for a split one, of shard 0 alone).
    ///
    /// # Errors
    /// As [`StockItem::level`].
    pub fn into_level(self) -> anyhow::Result<StockLevel> {
        Self::level(&self, &[])
    }

    /// The counts a plan reads.
    ///
    /// # Errors
    /// As [`StockItem::shard_number`].
    pub fn counts(&self) -> anyhow::Result<ShardCounts> {
        Ok(ShardCounts {
            shard: self.shard_number()?,
            available: self.available,
            reserved: self.reserved,
        })
    }
}

/// The counts of every shard of the level `(head, rest)`, as a plan reads them.
///
/// # Errors
/// As [`StockItem::shard_number`].
pub fn level_counts(head: &StockItem, rest: &[StockItem]) -> anyhow::Result<Vec<ShardCounts>> {
    std::iter::once(head)
        .chain(rest)
        .map(StockItem::counts)
        .collect()
}

/// A level's items as read together: shard 0 and the rest, or `None` when there is no shard 0
/// (no level).
pub fn split_items(mut items: Vec<StockItem>) -> Option<(StockItem, Vec<StockItem>)> {
    let head = items
        .iter()
        .position(|i| i.shard_number().ok() == Some(0))?;
    let head = items.swap_remove(head);
    Some((head, items))
}

/// The keys of shards `from..to` of product `id`'s level.
pub fn shard_keys(id: &ProductId, shards: std::ops::Range<u32>) -> Vec<(String, &'static str)> {
    shards.map(|k| (shard_pk(id, k), STOCK_SK)).collect()
}
