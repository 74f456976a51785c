//! What every table's stored items share. Each service's item shapes live beside its port, in
//! `<service>/items.rs`, and both adapters store exactly those shapes. Every table keys its
//! items by `pk` and `sk`; the items one list reads carry `entity` and `id`, the key of the
//! `by-entity` index (a GSI in DynamoDB, an expression index in SQLite).

/// The `by-entity` index every table that lists its items has: `entity`, then `id`.
pub const BY_ENTITY_INDEX: &str = "by-entity";

/// The attribute of an order or stock item that holds the W3C `traceparent` of the write that
/// last changed it, so the stream consumer that notifies about the change continues its trace.
/// Empty when spans were not exported (and absent from items written before it existed): every
/// write sets it, so an item never keeps the trace of an older write, and every item and stream
/// image has the same shape on both adapters.
pub const TRACE_ATTRIBUTE: &str = "trace";

/// [`TRACE_ATTRIBUTE`] for an item being written.
pub(crate) fn trace_context() -> String {
    stockroom_telemetry::otel::current_traceparent().unwrap_or_default()
}

pub(crate) fn parse_time(s: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    Ok(stockroom_domain::timestamp::parse(s)?)
}
