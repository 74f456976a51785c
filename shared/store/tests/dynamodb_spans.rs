//! Every DynamoDB operation is a client span under the span that made the call, naming the
//! operation and every table it touches: what a trace of a request shows below its handler.
//!
//! Needs `AWS_ENDPOINT_URL_DYNAMODB` pointing at a local server, as the contract suite does.
//!
//! A test binary of its own, not a module of the contract suite's: it records spans through a
//! thread's default subscriber, and tracing caches each callsite's interest process-wide, so the
//! contract cases running beside it without a subscriber can leave the SDK interceptor's span
//! disabled for it (a run with it inside the contract binary saw no DynamoDB span at all).

#![allow(clippy::unwrap_used)] // A test that cannot unwrap has failed; the panic says where.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use stockroom_store::testing::{self, DynamoDbShop};
use tracing::Instrument as _;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

/// A span as recorded: its name, its fields, and the names of its ancestors, nearest first.
#[derive(Debug, Clone, Default)]
struct Recorded {
    name: String,
    fields: BTreeMap<String, String>,
    ancestors: Vec<String>,
}

/// Every span in the order it began (the subscriber reuses the ids of closed spans, so the log
/// is a list, with the open spans' positions by id for their later fields).
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Log>>);

/// The spans in order, and where each open one is in it by id.
type Log = (Vec<Recorded>, BTreeMap<u64, usize>);

impl Recorder {
    fn spans(&self) -> Vec<Recorded> {
        self.0.lock().unwrap().0.clone()
    }
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S> tracing_subscriber::Layer<S> for Recorder
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        ctx: Context<'_, S>,
    ) {
        let mut span = Recorded {
            name: attrs.metadata().name().to_owned(),
            ..Recorded::default()
        };
        attrs.record(&mut Fields(&mut span.fields));
        if let Some(this) = ctx.span(id) {
            span.ancestors = this.scope().skip(1).map(|s| s.name().to_owned()).collect();
        }
        let mut log = self.0.lock().unwrap();
        log.0.push(span);
        let at = log.0.len() - 1;
        log.1.insert(id.into_u64(), at);
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _ctx: Context<'_, S>,
    ) {
        let mut log = self.0.lock().unwrap();
        let (spans, live) = &mut *log;
        if let Some(span) = live.get(&id.into_u64()).and_then(|&at| spans.get_mut(at)) {
            values.record(&mut Fields(&mut span.fields));
        }
    }
}

#[tokio::test]
async fn every_dynamodb_call_is_a_child_span_naming_its_operation_and_tables() {
    let recorder = Recorder::default();
    // At info, as the functions log: the SDK's own debug spans are not there to sit between.
    let _default = tracing::subscriber::set_default(
        tracing_subscriber::registry()
            .with(tracing_subscriber::filter::LevelFilter::INFO)
            .with(recorder.clone()),
    );
    let shop = DynamoDbShop::open().await;
    let name = |table| shop.name(table).to_owned();
    let store = &shop.store;
    testing::stocked(store, &[("sku-spans", 5)]).await;
    async { testing::place(store, "cust-spans", &[("sku-spans", 2)], None).await }
        .instrument(tracing::info_span!("handler"))
        .await;

    let spans = recorder.spans();
    let calls: Vec<&Recorded> = spans.iter().filter(|s| s.name == "dynamodb").collect();
    assert!(!calls.is_empty(), "no DynamoDB call spans in {spans:#?}");
    for call in &calls {
        let operation = &call.fields["db.operation"];
        assert_eq!(call.fields["otel.name"], format!("DynamoDB.{operation}"));
        assert_eq!(call.fields["otel.kind"], "client");
        assert_eq!(call.fields["db.system"], "dynamodb");
        assert!(
            call.fields.contains_key("aws.dynamodb.table_names"),
            "{call:?} names no table"
        );
    }
    // The order: one transaction over the orders, inventory and catalog tables, in a span under
    // the caller's (the store's own `place_order` span, then the handler's).
    let placement = calls
        .iter()
        .find(|c| {
            c.ancestors.contains(&"handler".to_owned())
                && c.fields["db.operation"] == "TransactWriteItems"
        })
        .unwrap_or_else(|| panic!("no transaction under the handler in {calls:#?}"));
    let mut expected = vec![
        name(stockroom_store::orders::TABLE),
        name(stockroom_store::inventory::TABLE),
    ];
    let touched = &placement.fields["aws.dynamodb.table_names"];
    expected.retain(|t| !touched.split(',').any(|n| n == t));
    assert!(expected.is_empty(), "{touched} misses {expected:?}");
    assert_eq!(
        placement.ancestors.first().map(String::as_str),
        Some("place_order")
    );
    // The product it priced and the shards of its stock level: one read of both tables.
    let read = calls
        .iter()
        .find(|c| {
            c.ancestors.contains(&"handler".to_owned())
                && c.fields["db.operation"] == "BatchGetItem"
        })
        .unwrap_or_else(|| panic!("no BatchGetItem under the handler in {calls:#?}"));
    let mut read_tables: Vec<&str> = read.fields["aws.dynamodb.table_names"].split(',').collect();
    read_tables.sort_unstable();
    let mut expected = vec![
        name(stockroom_store::catalog::TABLE),
        name(stockroom_store::inventory::TABLE),
    ];
    expected.sort_unstable();
    assert_eq!(read_tables, expected, "{read:?}");

    // A level split into 8 shards: a placement is still the same 2 calls, whatever shard it
    // picks, while that shard has the units.
    let split = |sku: &'static str, units: i64| async move {
        store
            .inventory()
            .unwrap()
            .set_stock(
                &testing::build::id(sku),
                stockroom_domain::inventory::Available::new(units).unwrap(),
                Some(stockroom_domain::inventory::Shards::new(8).unwrap()),
                chrono::Utc::now(),
            )
            .await
            .unwrap();
    };
    let operations = |handler: &str| -> Vec<String> {
        recorder
            .spans()
            .iter()
            .filter(|s| s.name == "dynamodb" && s.ancestors.contains(&handler.to_owned()))
            .map(|s| s.fields["db.operation"].clone())
            .collect()
    };
    testing::stocked(store, &[("sku-split", 0), ("sku-thin", 0)]).await;
    split("sku-split", 800).await;
    for i in 0..5 {
        async {
            testing::place(store, &format!("cust-split-{i}"), &[("sku-split", 3)], None).await
        }
        .instrument(tracing::info_span!("split-handler"))
        .await;
    }
    assert_eq!(
        operations("split-handler"),
        ["BatchGetItem", "TransactWriteItems"].repeat(5),
        "five placements on a split level"
    );
    // 8 units in 8 shards of 1: an order of 2 finds its shard short, reads the level and takes
    // across two shards (one consistent read of all eight): the fall-over, 4 calls.
    split("sku-thin", 8).await;
    async { testing::place(store, "cust-thin", &[("sku-thin", 2)], None).await }
        .instrument(tracing::info_span!("fall-over-handler"))
        .await;
    assert_eq!(
        operations("fall-over-handler"),
        [
            "BatchGetItem",
            "TransactWriteItems",
            "BatchGetItem",
            "TransactWriteItems"
        ],
        "a placement whose shard fell short"
    );
}
