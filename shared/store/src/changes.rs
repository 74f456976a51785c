//! The embedded store's change feed: the local stand-in for DynamoDB Streams.
//!
//! Every write to an item records one change in the same SQLite transaction, with the item's
//! old and new images (NEW_AND_OLD_IMAGES semantics), in commit order.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// What happened to an item, named as DynamoDB Streams names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Insert,
    Modify,
    Remove,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Insert => "INSERT",
            Self::Modify => "MODIFY",
            Self::Remove => "REMOVE",
        }
    }

    pub(crate) fn parse(s: &str) -> anyhow::Result<Self> {
        match s {
            "INSERT" => Ok(Self::Insert),
            "MODIFY" => Ok(Self::Modify),
            "REMOVE" => Ok(Self::Remove),
            other => anyhow::bail!("unknown change kind {other:?}"),
        }
    }
}

/// One recorded change.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Increases with every change in the file; the feed position to resume after.
    pub seq: i64,
    /// The logical table (`catalog`), as template.yaml names its DynamoDB table.
    pub table: String,
    pub pk: String,
    pub sk: String,
    pub kind: ChangeKind,
    pub old_image: Option<Value>,
    pub new_image: Option<Value>,
    pub at: DateTime<Utc>,
    /// The write transaction that recorded it: every change of one transaction carries the same
    /// number (the `seq` of its first change), so a change sharing it with another was written
    /// with it atomically (one `TransactWriteItems` in DynamoDB). `None` for changes recorded
    /// before the feed numbered transactions.
    pub txn: Option<i64>,
}
