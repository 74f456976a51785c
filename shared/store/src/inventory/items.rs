//! The `inventory` table: one item per product's stock level.
//!
//! | item | pk | sk | other keys |
//! |---|---|---|---|
//! | stock level | `STOCK#<product id>` | `STOCK` | `entity = "stock"`, `id` = the product id (GSI `by-entity`) |

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use stockroom_domain::inventory::StockLevel;
use stockroom_domain::{ProductId, timestamp};

pub const STOCK_SK: &str = "STOCK";
pub const STOCK_ENTITY: &str = "stock";

pub fn stock_pk(id: &ProductId) -> String {
    format!("STOCK#{id}")
}

/// A stock level as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StockItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    /// The product id, named `id` for the `by-entity` index.
    pub id: String,
    pub available: u64,
    pub reserved: u64,
    pub updated_at: String,
    /// The trace context of the write that last changed the item ([`crate::items::TRACE_ATTRIBUTE`]).
    #[serde(default)]
    pub trace: String,
}

impl StockItem {
    pub fn new(level: &StockLevel) -> Self {
        Self {
            pk: stock_pk(&level.product_id),
            sk: STOCK_SK.to_owned(),
            entity: STOCK_ENTITY.to_owned(),
            id: level.product_id.to_string(),
            available: level.available,
            reserved: level.reserved,
            updated_at: timestamp::format(&level.updated_at),
            trace: crate::items::trace_context(),
        }
    }

    /// # Errors
    /// When a stored value no longer parses: the item was written by something else.
    pub fn into_level(self) -> anyhow::Result<StockLevel> {
        let id = self.id.clone();
        let parse = || -> anyhow::Result<StockLevel> {
            Ok(StockLevel {
                product_id: ProductId::parse(&self.id)?,
                available: self.available,
                reserved: self.reserved,
                updated_at: crate::items::parse_time(&self.updated_at)?,
            })
        };
        parse().with_context(|| format!("stored stock level {id:?} is not valid"))
    }
}
