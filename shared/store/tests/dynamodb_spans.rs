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

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<BTreeMap<u64, Recorded>>>);

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
        self.0.lock().unwrap().insert(id.into_u64(), span);
    }

    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _ctx: Context<'_, S>,
    ) {
        if let Some(span) = self.0.lock().unwrap().get_mut(&id.into_u64()) {
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

    let spans: Vec<Recorded> = recorder.0.lock().unwrap().values().cloned().collect();
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
    // The product it priced: a read of the catalog table.
    assert!(
        calls
            .iter()
            .any(|c| c.ancestors.contains(&"handler".to_owned())
                && c.fields["aws.dynamodb.table_names"] == name(stockroom_store::catalog::TABLE)),
        "no catalog read under the handler in {calls:#?}"
    );
}
