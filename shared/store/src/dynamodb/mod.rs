//! What every DynamoDB adapter shares: the client, the call log (and its spans), item
//! conversion helpers and the reading of SDK errors. Each service's adapter lives beside its
//! port, in `<service>/dynamodb.rs`; their types are re-exported here.

pub use crate::carts::dynamodb::DynamoCarts;
pub use crate::catalog::dynamodb::DynamoCatalog;
pub use crate::inventory::dynamodb::DynamoInventory;
pub use crate::notifications::dynamodb::DynamoNotifications;
pub use crate::orders::dynamodb::DynamoOrders;

use std::collections::HashMap;

use anyhow::Context as _;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::RuntimeComponents;
use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, Metadata};
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use serde::Serialize;

use crate::Unavailable;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// The log target of the one line [`CallLog`] writes per DynamoDB operation.
pub const CALLS_TARGET: &str = "stockroom_store::dynamodb::calls";

/// Logs every DynamoDB operation (not every retry) at debug level under [`CALLS_TARGET`], inside
/// the invocation's spans, so the calls one request makes can be counted from its log lines:
/// `RUST_LOG=info,stockroom_store::dynamodb::calls=debug`. The benchmark counts them this way.
///
/// And opens a client span per operation, a child of the span that made the call:
/// `DynamoDB.<Operation>` with `db.system`, `db.operation` and `aws.dynamodb.table_names` (read
/// from the request, so every table a transaction touches).
#[derive(Debug)]
struct CallLog;

/// The span of the operation in flight, kept in the operation's config bag.
#[derive(Debug, Clone)]
struct CallSpan(tracing::Span);

impl Storable for CallSpan {
    type Storer = StoreReplace<Self>;
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "StockroomCallLog"
    }

    // Before serialization, not before execution: a client interceptor's `read_before_execution`
    // runs before the operation's configuration (and so its name) is in the bag. It too runs once
    // per operation, not per attempt.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map_or("unknown", Metadata::name);
        tracing::debug!(target: CALLS_TARGET, operation, "dynamodb call");
        let span = tracing::info_span!(
            "dynamodb",
            otel.name = %format_args!("DynamoDB.{operation}"),
            otel.kind = "client",
            db.system = "dynamodb",
            db.operation = operation,
            rpc.system = "aws-api",
            rpc.service = "DynamoDB",
            rpc.method = operation,
            aws.dynamodb.table_names = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
        );
        cfg.interceptor_state().store_put(CallSpan(span));
        Ok(())
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(CallSpan(span)) = cfg.load::<CallSpan>()
            && !span.is_disabled()
            && let Some(body) = context.request().body().bytes()
        {
            span.record("aws.dynamodb.table_names", table_names(body).join(","));
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(CallSpan(span)) = cfg.load::<CallSpan>()
            && matches!(context.output_or_error(), Some(Err(_)))
        {
            span.record("otel.status_code", "ERROR");
        }
        // Closes the span now, not when the operation's config bag goes.
        cfg.interceptor_state().unset::<CallSpan>();
        Ok(())
    }
}

/// The tables a DynamoDB request names: every `TableName`, at any depth (transactions name one
/// per action), and the keys of `RequestItems` (batch operations).
fn table_names(body: &[u8]) -> Vec<String> {
    fn walk(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("TableName", serde_json::Value::String(name)) => out.push(name.clone()),
                        ("RequestItems", serde_json::Value::Object(tables)) => {
                            out.extend(tables.keys().cloned());
                        }
                        _ => walk(value, out),
                    }
                }
            }
            serde_json::Value::Array(values) => values.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut names = Vec::new();
    if let Ok(value) = serde_json::from_slice(body) {
        walk(&value, &mut names);
    }
    names.sort_unstable();
    names.dedup();
    names
}

/// A DynamoDB client for the region, credentials and endpoint in the environment, as Lambda
/// gives them (`AWS_ENDPOINT_URL_DYNAMODB` points it at a local server; see [`crate::aws`]).
///
/// # Errors
/// When the region or the credentials are not in the environment.
pub fn client_from_env() -> anyhow::Result<Client> {
    // At cold start: what came before (reading the table variables) and the SDK's own
    // configuration apart.
    stockroom_telemetry::init::phase("store config");
    let shared = crate::aws::sdk_config("DYNAMODB")?;
    stockroom_telemetry::init::phase("sdk config");
    let client = Client::from_conf(config_builder(&shared).build());
    stockroom_telemetry::init::phase("dynamodb client");
    Ok(client)
}

/// A client configured as [`client_from_env`]'s, but for `endpoint`: the fault proxy's.
///
/// # Errors
/// When the region or the credentials are not in the environment.
pub fn client_at(endpoint: &str) -> anyhow::Result<Client> {
    let shared = crate::aws::sdk_config("DYNAMODB")?;
    Ok(Client::from_conf(
        config_builder(&shared).endpoint_url(endpoint).build(),
    ))
}

/// Every client's configuration: the call log, [`retry_config`] and [`timeout_config`].
fn config_builder(shared: &aws_types::SdkConfig) -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::config::Builder::from(shared)
        .interceptor(CallLog)
        .retry_config(retry_config())
        .timeout_config(timeout_config())
}

/// How the DynamoDB client retries: the SDK's standard mode (throttles, 5xx, timeouts and
/// broken connections are retried; its client-side quota stops retrying when most calls fail,
/// rather than tripling the load on a struggling table), three attempts, with backoff from
/// 50 ms (full jitter, doubling, at most 1 s) instead of the SDK's general 1 s start: a
/// DynamoDB call takes milliseconds, and a request that waits seconds behind a retry is no
/// better than a 503 the client can retry. A placement's own loop ([`WRITE_ATTEMPTS`]) handles
/// transaction conflicts on top of this. docs/faults.md has the reasoning and the figures.
pub fn retry_config() -> aws_sdk_dynamodb::config::retry::RetryConfig {
    aws_sdk_dynamodb::config::retry::RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(std::time::Duration::from_millis(50))
        .with_max_backoff(std::time::Duration::from_secs(1))
}

/// How long the DynamoDB client waits: 1 s to connect, 2 s for one attempt (DynamoDB answers
/// in milliseconds; a transaction's p99 is tens), 5 s for a call with its retries. A handler
/// makes at most a few calls in a row and its function's timeout is 10 s, so a stuck call ends
/// as a 503 the client can act on, not as a Lambda timeout (a 503 without a problem body) or a
/// hang. An attempt cut off by its timeout may still have been applied: every write recognises
/// its own earlier attempt (docs/faults.md).
pub fn timeout_config() -> aws_sdk_dynamodb::config::timeout::TimeoutConfig {
    aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(1))
        .operation_attempt_timeout(std::time::Duration::from_secs(2))
        .operation_timeout(std::time::Duration::from_secs(5))
        .build()
}

pub(crate) fn to_item(value: &impl Serialize) -> anyhow::Result<Item> {
    serde_dynamo::to_item(value).context("failed to map an item to DynamoDB attributes")
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// `#trace`, the attribute a write that a stream consumer will see stores its trace context in
/// (`trace` is a DynamoDB reserved word, so expressions name it through `#trace`).
pub(crate) fn trace_name() -> HashMap<String, String> {
    HashMap::from([(
        "#trace".to_owned(),
        crate::items::TRACE_ATTRIBUTE.to_owned(),
    )])
}

/// `:trace`: the W3C `traceparent` of the writing span, empty when spans are not exported, so
/// that the stream consumer's span continues the writer's trace and a write without one
/// replaces an older trace context rather than inheriting it.
pub(crate) fn trace_value() -> AttributeValue {
    s(crate::items::trace_context())
}

/// An `SdkError` with the whole context DynamoDB gave, which its `Display` leaves out. When it
/// says DynamoDB could not take the request right now (see [`unavailable`]), the chain carries
/// [`Unavailable`], which the API answers as 503 with `Retry-After`.
pub(crate) fn sdk<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    err: SdkError<E, HttpResponse>,
    what: &'static str,
) -> anyhow::Error {
    let reason = DisplayErrorContext(&err).to_string();
    if unavailable(&err) {
        anyhow::Error::new(Unavailable { reason }).context(what)
    } else {
        anyhow::anyhow!("{reason}").context(what)
    }
}

/// Service error codes that say DynamoDB could not take a request right now, not that the
/// request was wrong: throttling of a partition, a table or the account, and its own failures.
const UNAVAILABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
];

/// The cancellation reasons that mean the same inside a transaction.
const UNAVAILABLE_REASONS: &[&str] = &["ThrottlingError", "ProvisionedThroughputExceeded"];

/// Whether `err` (what is left after the SDK's retries) means DynamoDB could not take the
/// request right now: no answer in time, a connection that failed or broke before the answer,
/// a throttle, a 5xx, or a transaction cancelled for throttling. Trying again later may work.
pub(crate) fn unavailable<E: ProvideErrorMetadata + std::error::Error + 'static>(
    err: &SdkError<E, HttpResponse>,
) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(context) => {
            let code = context.err().code().unwrap_or_default();
            let cancelled_for_throttling = (context.err() as &dyn std::any::Any)
                .downcast_ref::<TransactWriteItemsError>()
                .and_then(|e| match e {
                    TransactWriteItemsError::TransactionCanceledException(e) => Some(e),
                    _ => None,
                })
                .is_some_and(|e| {
                    e.cancellation_reasons()
                        .iter()
                        .any(|r| r.code().is_some_and(|c| UNAVAILABLE_REASONS.contains(&c)))
                });
            UNAVAILABLE_CODES.contains(&code)
                || context.raw().status().is_server_error()
                || cancelled_for_throttling
        }
        _ => false,
    }
}

/// Why DynamoDB cancelled a transaction, read from its cancellation reasons (one per item, in
/// request order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cancelled {
    /// The condition of the items at these positions failed: the state was not as required.
    ConditionFailed(Vec<usize>),
    /// Another transaction (or write) on one of the items was in flight: nothing is wrong with
    /// the request, and trying again may succeed.
    Conflict,
}

impl Cancelled {
    /// The reason for a transaction's failure, `None` when it was not a cancellation for a
    /// failed condition or a conflict (throttling, validation, ...): those are unexpected.
    pub(crate) fn of<R>(err: &SdkError<TransactWriteItemsError, R>) -> Option<Self> {
        match err.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
                Self::from_codes(e.cancellation_reasons().iter().map(|r| r.code()))
            }
            // A transaction that collides with one in flight on the same items is refused whole.
            Some(TransactWriteItemsError::TransactionInProgressException(_)) => {
                Some(Self::Conflict)
            }
            _ => None,
        }
    }

    /// From the reasons' codes: a failed condition wins over a conflict, because retrying
    /// cannot make a condition hold.
    pub(crate) fn from_codes<'a>(codes: impl Iterator<Item = Option<&'a str>>) -> Option<Self> {
        let mut failed = Vec::new();
        let mut conflict = false;
        for (i, code) in codes.enumerate() {
            match code {
                Some("ConditionalCheckFailed") => failed.push(i),
                Some("TransactionConflict") => conflict = true,
                _ => {}
            }
        }
        if !failed.is_empty() {
            Some(Self::ConditionFailed(failed))
        } else if conflict {
            Some(Self::Conflict)
        } else {
            None
        }
    }
}

/// The item each of a cancelled transaction's actions found, by position, where the action
/// asked for it (`ReturnValuesOnConditionCheckFailure: ALL_OLD`) and the item existed. A server
/// that does not return them gives an empty list; callers read the items instead.
pub(crate) fn cancellation_items<R>(
    err: &SdkError<TransactWriteItemsError, R>,
) -> Vec<Option<Item>> {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => e
            .cancellation_reasons()
            .iter()
            .map(|r| r.item().filter(|item| !item.is_empty()).cloned())
            .collect(),
        _ => Vec::new(),
    }
}

/// The items of `table` at `keys` that exist, in no particular order: one `BatchGetItem` per
/// 100 keys (DynamoDB's limit), and more only for keys it leaves unprocessed under load.
/// `consistent` for a read a write decides on; listings, which read what an index named a
/// moment before, read eventually consistently.
pub(crate) async fn batch_get(
    client: &Client,
    table: &str,
    keys: Vec<Item>,
    consistent: bool,
    what: &'static str,
) -> anyhow::Result<Vec<Item>> {
    let mut found = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(100) {
        let request = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
            .set_keys(Some(chunk.to_vec()))
            .consistent_read(consistent)
            .build()
            .context("failed to build BatchGetItem keys")?;
        let mut responses =
            batch_get_tables(client, HashMap::from([(table.to_owned(), request)]), what).await?;
        found.extend(responses.remove(table).unwrap_or_default());
    }
    Ok(found)
}

/// What one `BatchGetItem` of `requests` (up to 100 keys over any tables) finds, by table,
/// asking again for the keys DynamoDB leaves unprocessed under load, at most
/// [`WRITE_ATTEMPTS`] times in all.
pub(crate) async fn batch_get_tables(
    client: &Client,
    requests: HashMap<String, aws_sdk_dynamodb::types::KeysAndAttributes>,
    what: &'static str,
) -> anyhow::Result<HashMap<String, Vec<Item>>> {
    let mut found: HashMap<String, Vec<Item>> = HashMap::new();
    let mut pending = requests;
    let mut attempts = 0;
    while !pending.is_empty() {
        attempts += 1;
        if attempts > WRITE_ATTEMPTS {
            // DynamoDB leaves keys unprocessed when it throttles the read.
            return Err(anyhow::Error::new(Unavailable {
                reason: format!("keys left unprocessed after {WRITE_ATTEMPTS} reads"),
            })
            .context(what));
        }
        let output = client
            .batch_get_item()
            .set_request_items(Some(std::mem::take(&mut pending)))
            .send()
            .await
            .map_err(|e| sdk(e, what))?;
        for (table, items) in output.responses.unwrap_or_default() {
            found.entry(table).or_default().extend(items);
        }
        pending = output
            .unprocessed_keys
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, k)| !k.keys().is_empty())
            .collect();
    }
    Ok(found)
}

/// How many times a write that lost to a concurrent writer (a changed version, or a
/// transaction in flight on the item) is tried, reading again first where it read.
pub(crate) const WRITE_ATTEMPTS: usize = 8;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_condition_wins_over_a_conflict_and_other_reasons_are_unexpected() {
        let cases: &[(&[Option<&str>], Option<Cancelled>)] = &[
            (
                &[Some("None"), Some("ConditionalCheckFailed")],
                Some(Cancelled::ConditionFailed(vec![1])),
            ),
            (
                &[Some("TransactionConflict"), Some("None")],
                Some(Cancelled::Conflict),
            ),
            (
                &[Some("TransactionConflict"), Some("ConditionalCheckFailed")],
                Some(Cancelled::ConditionFailed(vec![1])),
            ),
            (&[Some("ThrottlingError"), None], None),
            (&[], None),
        ];
        for (codes, expected) in cases {
            assert_eq!(
                Cancelled::from_codes(codes.iter().copied()),
                *expected,
                "{codes:?}"
            );
        }
    }
}
