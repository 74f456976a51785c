//! Every function's IAM policy in template.yaml against what its code calls: each `events/`
//! sample (twice, so a retry's and a replay's calls are seen too), in a shop as seeded and again
//! with every stock level split into shards, runs through its function's
//! handler over the DynamoDB adapters, on moto, through the proxy, which records every action
//! and table each request needs as IAM authorises it (a transaction item by item). Nothing a
//! function calls may be missing from its policy (in AWS that call would be `AccessDenied`),
//! and nothing its policy grants may go uncalled unless it is listed in [`UNEXERCISED`] with
//! the reason.
//!
//! Needs `AWS_ENDPOINT_URL_DYNAMODB` pointing at a local moto, as the contract suite does.

#![allow(clippy::unwrap_used)] // A test that cannot unwrap has failed; the panic says where.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml::Value;
use stockroom_faults::{FaultProxy, Plan};
use stockroom_store::testing::{DynamoDbShop, workspace};

/// Grants the samples do not reach, each with the path that needs it: `(function, action,
/// table)`. Keep it short: a grant nobody can name a path for should go.
const UNEXERCISED: &[(&str, &str, &str, &str)] = &[
    // A failed condition on a stock level reads the level only when the cancellation reason
    // carries no item (DynamoDB and moto return the item they checked, so only a level that is
    // not there at all gets here).
    (
        "CancelOrderFunction",
        "dynamodb:GetItem",
        "InventoryTable",
        "level read after a cancellation without an item",
    ),
    (
        "CheckoutFunction",
        "dynamodb:GetItem",
        "InventoryTable",
        "level read after a cancellation without an item",
    ),
    (
        "PlaceOrderFunction",
        "dynamodb:GetItem",
        "InventoryTable",
        "level read after a cancellation without an item",
    ),
    (
        "ReleaseStockFunction",
        "dynamodb:GetItem",
        "InventoryTable",
        "level read after a failed condition without an item",
    ),
    (
        "ReserveStockFunction",
        "dynamodb:GetItem",
        "InventoryTable",
        "level read after a failed condition without an item",
    ),
    (
        "UpdateOrderStatusFunction",
        "dynamodb:GetItem",
        "InventoryTable",
        "level read after a cancellation without an item",
    ),
    // A retried placement whose products have since left the catalog: its Idempotency-Key
    // record is read directly, there being no prices to rebuild the placement from.
    (
        "PlaceOrderFunction",
        "dynamodb:GetItem",
        "OrdersTable",
        "replay after the products left the catalog",
    ),
    // A cart's failed condition without the item returned (as for stock levels above).
    (
        "AddCartItemFunction",
        "dynamodb:GetItem",
        "CartsTable",
        "cart read after a failed condition without an item",
    ),
    (
        "SetCartItemFunction",
        "dynamodb:GetItem",
        "CartsTable",
        "cart read after a failed condition without an item",
    ),
    (
        "RemoveCartItemFunction",
        "dynamodb:GetItem",
        "CartsTable",
        "cart read after a failed condition without an item",
    ),
    // An add to a cart that has expired (30 days untouched) deletes it first, to start afresh.
    (
        "AddCartItemFunction",
        "dynamodb:DeleteItem",
        "CartsTable",
        "an expired cart deleted before the add",
    ),
];

/// `(function, action, resource)`: `resource` is a table's logical id, or `<Table>/index/*`.
type Grant = (String, String, String);

/// The DynamoDB grants of every function's `Policies` in template.yaml.
fn granted() -> BTreeSet<Grant> {
    let text = std::fs::read_to_string(workspace().join("template.yaml")).unwrap();
    let doc: Value = serde_yaml::from_str(&text).unwrap();
    let mut grants = BTreeSet::new();
    for (name, resource) in doc["Resources"].as_mapping().unwrap() {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let function = name.as_str().unwrap();
        for policy in resource["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            for statement in policy["Statement"].as_sequence().unwrap() {
                assert_eq!(statement["Effect"].as_str(), Some("Allow"), "{function}");
                let actions = list(&statement["Action"]);
                if !actions.iter().any(|a| a.starts_with("dynamodb:")) {
                    continue;
                }
                for target in list(&statement["Resource"]) {
                    for action in &actions {
                        assert!(!action.contains('*'), "{function}: {action} is a wildcard");
                        grants.insert((function.to_owned(), action.clone(), target.clone()));
                    }
                }
            }
        }
    }
    grants
}

/// A statement's `Action` or `Resource` as strings; a table resource as its logical id
/// (`!GetAtt CatalogTable.Arn`) or `<Table>/index/*` (`!Sub "${CatalogTable.Arn}/index/*"`).
fn list(value: &Value) -> Vec<String> {
    let one = |v: &Value| -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Tagged(tagged) if tagged.tag == "!GetAtt" => {
                let target = tagged.value.as_str().unwrap();
                target.strip_suffix(".Arn").unwrap_or(target).to_owned()
            }
            Value::Tagged(tagged) if tagged.tag == "!Sub" => {
                let text = tagged.value.as_str().unwrap();
                let (table, rest) = text
                    .strip_prefix("${")
                    .and_then(|t| t.split_once(".Arn}"))
                    .unwrap_or_else(|| panic!("an unexpected resource {text}"));
                format!("{table}{rest}")
            }
            other => panic!("an unexpected policy value {other:?}"),
        }
    };
    match value {
        Value::Sequence(items) => items.iter().map(one).collect(),
        other => vec![one(other)],
    }
}

/// What `accesses` (physical names) are in the template's terms: `(action, logical id)`, an
/// index access as `<Table>/index/*`.
fn logical(
    shop: &DynamoDbShop,
    accesses: BTreeSet<(String, String)>,
) -> BTreeSet<(String, String)> {
    let names: BTreeMap<&str, &str> = stockroom_store::tables::ALL
        .iter()
        .map(|t| (shop.name(*t), t.resource))
        .collect();
    accesses
        .into_iter()
        .map(|(action, target)| {
            let (table, index) = match target.split_once("/index/") {
                Some((table, _)) => (table.to_owned(), "/index/*"),
                None => (target.clone(), ""),
            };
            let id = names
                .get(table.as_str())
                .unwrap_or_else(|| panic!("{action} on {target}: not a table of the shop"));
            (action, format!("{id}{index}"))
        })
        .collect()
}

/// A seeded shop in fresh moto tables (every stock level split into 4 shards if `sharded`),
/// and a store that reaches them through a recording proxy.
async fn shop(sharded: bool) -> (DynamoDbShop, stockroom_store::Store, FaultProxy) {
    use stockroom_domain::inventory::{Available, Shards};
    let shop = DynamoDbShop::open().await;
    stockroom_local::seed::seed(&shop.store).await.unwrap();
    if sharded {
        let inventory = shop.store.inventory().unwrap();
        let query = stockroom_store::inventory::StockQuery {
            limit: stockroom_domain::page::Limit::parse("100").unwrap(),
            after: None,
        };
        for level in inventory.list_stock(&query).await.unwrap().items {
            let available = Available::new(i64::try_from(level.available).unwrap()).unwrap();
            let shards = Some(Shards::new(4).unwrap());
            let now = stockroom_domain::timestamp::now();
            inventory
                .set_stock(&level.product_id, available, shards, now)
                .await
                .unwrap();
        }
    }
    let upstream = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap();
    let proxy = FaultProxy::start(&upstream, Plan::none()).await.unwrap();
    let client = stockroom_store::dynamodb::client_at(&proxy.endpoint()).unwrap();
    let store = shop.store.with_client(client).unwrap();
    (shop, store, proxy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_function_calls_exactly_what_its_policy_allows() {
    let template = workspace().join("template.yaml");
    let routes = stockroom_local::template::load(&template).unwrap();
    let sources = stockroom_local::template::load_stream_sources(&template).unwrap();
    let mut called: BTreeSet<Grant> = BTreeSet::new();
    let mut samples: BTreeMap<String, usize> = BTreeMap::new();

    let mut files: Vec<_> = std::fs::read_dir(workspace().join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for (file, sharded) in files.iter().flat_map(|f| [(f, false), (f, true)]) {
        let event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let (shop, store, proxy) = shop(sharded).await;
        let function = if let Some(key) = event["routeKey"].as_str() {
            let route = routes.iter().find(|r| r.key() == key).unwrap();
            let handler = stockroom_local::registry::named(&route.handler).unwrap();
            for _ in 0..2 {
                let request = stockroom_local::event::into_request(event.clone()).unwrap();
                let response = stockroom_http::observe(request, |caller, request| {
                    handler.call(&store, caller, request)
                })
                .await;
                assert!(
                    response.status().as_u16() < 500,
                    "{}: {response:?}",
                    file.display()
                );
            }
            route.function.clone()
        } else {
            let stem = file.file_stem().unwrap().to_str().unwrap();
            let source = sources.iter().find(|s| s.handler == stem).unwrap();
            let consumer = stockroom_notifications::StreamConsumer::named(stem).unwrap();
            let event = serde_json::from_value(event).unwrap();
            let consumers = stockroom_notifications::Consumers {
                store: store.notifications().unwrap(),
                notifier: std::sync::Arc::new(stockroom_notifications::notifier::LogNotifier),
                low_stock_threshold: 10,
            };
            for _ in 0..2 {
                let answer = consumer.handle(&consumers, &event).await;
                assert!(answer.batch_item_failures.is_empty(), "{}", file.display());
            }
            source.function.clone()
        };
        *samples.entry(function.clone()).or_default() += 1;
        for (action, table) in logical(&shop, proxy.take_accesses()) {
            called.insert((function.clone(), action, table));
        }
    }

    let granted = granted();
    let functions: BTreeSet<&str> = routes
        .iter()
        .map(|r| r.function.as_str())
        .chain(sources.iter().map(|s| s.function.as_str()))
        .collect();
    for function in &functions {
        assert!(
            samples.contains_key(*function),
            "{function} has no events/ sample"
        );
    }
    let denied: Vec<_> = called.difference(&granted).collect();
    assert!(
        denied.is_empty(),
        "calls their function's policy does not allow (AccessDenied in AWS): {denied:#?}"
    );
    let unexercised: BTreeSet<Grant> = UNEXERCISED
        .iter()
        .map(|(f, a, t, _)| ((*f).to_owned(), (*a).to_owned(), (*t).to_owned()))
        .collect();
    let unused: Vec<_> = granted
        .difference(&called)
        .filter(|g| !unexercised.contains(*g))
        .collect();
    assert!(
        unused.is_empty(),
        "grants no sample calls, not listed in UNEXERCISED with a reason: {unused:#?}"
    );
    let stale: Vec<_> = unexercised.intersection(&called).collect();
    assert!(
        stale.is_empty(),
        "UNEXERCISED lists grants the samples do call: {stale:#?}"
    );
}
