//! Stored item shapes, shared by both adapters, one module per table. Every table keys its
//! items by `pk` and `sk`; the items one list reads carry `entity` and `id`, the key of the
//! `by-entity` index (a GSI in DynamoDB, an expression index in SQLite).

pub mod carts;
pub mod catalog;
pub mod inventory;
pub mod notifications;
pub mod orders;

/// The `by-entity` index every table that lists its items has: `entity`, then `id`.
pub const BY_ENTITY_INDEX: &str = "by-entity";

pub(crate) fn parse_time(s: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    Ok(stockroom_domain::timestamp::parse(s)?)
}
