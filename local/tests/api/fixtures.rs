//! Every file in `events/` is a sample people pass to `cargo lambda invoke --data-file`; here
//! each API sample is routed by its `routeKey` through template.yaml to its handler and must
//! answer as stated, and each stream sample (named after its consumer) must notify as stated,
//! so the samples cannot drift from the code.

use stockroom_store::Store;
use stockroom_store::sqlite::SqliteStore;
use stockroom_store::testing::workspace;

/// `(file, status it must answer with, text the body must contain)`.
const EXPECTED: &[(&str, u16, &str)] = &[
    ("health.json", 200, r#""status":"ok""#),
    ("web.json", 200, "<title>Stockroom shop</title>"),
    ("list_products.json", 200, r#""id":"sku-kettle""#),
    ("create_product.json", 201, r#""id":"sku-teapot""#),
    ("create_product_form_encoded.json", 415, "application/json"),
    ("get_product.json", 200, r#""name":"Stoneware mug""#),
    ("update_product.json", 200, r#""price":990"#),
    ("delete_product.json", 204, ""),
    ("get_product_prices.json", 200, r#""lowest":1250"#),
    ("list_stock.json", 200, r#""product_id":"sku-kettle""#),
    ("get_stock.json", 200, r#""available":40"#),
    ("set_stock.json", 200, r#""available":30"#),
    (
        "set_stock_sharded.json",
        200,
        r#""available":400,"reserved":0,"shards":8"#,
    ),
    ("decrement_stock.json", 200, r#""available":39"#),
    (
        "decrement_stock_insufficient.json",
        409,
        "has 8 available, fewer than the 9 requested",
    ),
    ("reserve_stock.json", 200, r#""reserved":2"#),
    ("release_stock.json", 200, r#""reserved":1"#),
    ("delete_stock.json", 204, ""),
    ("place_order.json", 201, r#""total":4300"#),
    (
        "place_order_insufficient.json",
        409,
        r#"\"sku-pen\" has 8 available, 9 needed"#,
    ),
    (
        "list_orders.json",
        200,
        r#""id":"01KAY7SAMP1E0RDER000000000""#,
    ),
    ("get_order.json", 200, r#""status":"confirmed""#),
    (
        "get_order_of_another_customer.json",
        404,
        r#"No order has the id \"01KAY7SAMP1E0RDER000000000\""#,
    ),
    (
        "create_product_as_customer.json",
        403,
        r#"Only members of the \"admin\" group may do this."#,
    ),
    ("list_notifications.json", 200, r#""items":[]"#),
    ("update_order_status.json", 200, r#""status":"shipped""#),
    ("cancel_order.json", 200, r#""status":"cancelled""#),
    ("get_cart.json", 200, r#""subtotal":4300,"currency":"USD""#),
    (
        "add_cart_item.json",
        200,
        r#""product_id":"sku-mug","name":"Stoneware mug","quantity":3"#,
    ),
    (
        "add_cart_item_other_currency.json",
        409,
        r#"is paid in USD, and \"sku-lamp\" is priced in EUR"#,
    ),
    (
        "set_cart_item.json",
        200,
        r#""quantity":5,"unit_price":1250,"line_total":6250"#,
    ),
    ("remove_cart_item.json", 200, r#""subtotal":2500"#),
    ("delete_cart.json", 204, ""),
    ("checkout.json", 201, r#""total":4300"#),
    (
        "checkout_unknown_cart.json",
        404,
        r#"No cart has the id \"cart-nobody\""#,
    ),
];

/// Stream samples (`<consumer binary>.json`): `(file, the notification ids they record)`. Each
/// is handed to its consumer twice, as at-least-once delivery may, and must record each once.
const STREAM_EXPECTED: &[(&str, &[&str])] = &[
    (
        "on_order_change.json",
        &[
            "order_shipped:01KAY7SAMP1E0RDER000000000",
            "order_confirmation:01KAY7SAMP1E0RDER000000000",
        ],
    ),
    ("on_stock_change.json", &["low_stock:sku-kettle:"]),
];

#[tokio::test]
async fn every_stream_sample_runs_through_its_consumer_and_notifies_once() {
    for (file, expected) in STREAM_EXPECTED {
        let store = Store::embedded(SqliteStore::in_memory().unwrap());
        let text = std::fs::read_to_string(workspace().join("events").join(file)).unwrap();
        let event: aws_lambda_events::event::dynamodb::Event = serde_json::from_str(&text).unwrap();
        let handler = file.trim_end_matches(".json");
        let consumer = stockroom_notifications::StreamConsumer::named(handler)
            .unwrap_or_else(|| panic!("{file}: no stream consumer {handler}"));
        assert_eq!(
            stockroom_notifications::StreamConsumer::for_event(&event),
            Some(consumer),
            "{file}: `cargo lambda invoke notifier` would pick another consumer for it"
        );
        let consumers = stockroom_notifications::Consumers {
            store: store.notifications().unwrap(),
            notifier: std::sync::Arc::new(stockroom_notifications::notifier::LogNotifier),
            low_stock_threshold: 10,
        };
        for _ in 0..2 {
            let response = consumer.handle(&consumers, &event).await;
            assert!(
                response.batch_item_failures.is_empty(),
                "{file}: {response:?}"
            );
        }
        let page = store
            .notifications()
            .unwrap()
            .list_notifications(&Default::default())
            .await
            .unwrap();
        let ids: Vec<String> = page.items.iter().map(|n| n.id.to_string()).collect();
        assert_eq!(ids.len(), expected.len(), "{file}: {ids:?}");
        for (id, prefix) in ids.iter().zip(expected.iter()) {
            assert!(id.starts_with(prefix), "{file}: {id} is not {prefix}...");
        }
    }
}

#[tokio::test]
async fn every_sample_event_runs_through_its_handler_with_the_documented_result() {
    let routes = stockroom_local::template::load(&workspace().join("template.yaml")).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(workspace().join("events"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".json"))
        .filter(|name| !STREAM_EXPECTED.iter().any(|(f, _)| f == name))
        .collect();
    files.sort();
    let mut listed: Vec<String> = EXPECTED.iter().map(|(f, ..)| (*f).to_owned()).collect();
    listed.sort();
    assert_eq!(
        files, listed,
        "every events/ file needs an expectation here, and every expectation a file"
    );

    for (file, status, needle) in EXPECTED {
        // A fresh seeded store per event, so each sample stands alone as it does with `cargo lambda invoke`.
        let store = Store::embedded(SqliteStore::in_memory().unwrap());
        stockroom_local::seed::seed(&store).await.unwrap();

        let text = std::fs::read_to_string(workspace().join("events").join(file)).unwrap();
        let event: serde_json::Value = serde_json::from_str(&text).unwrap();
        let route_key = event["routeKey"].as_str().unwrap();
        let route = routes
            .iter()
            .find(|r| r.key() == route_key)
            .unwrap_or_else(|| panic!("{file}: routeKey {route_key:?} is not a template route"));
        let handler = stockroom_local::registry::named(&route.handler).unwrap();
        // A protected route's sample carries the claims its authorizer would have verified, as
        // API Gateway passes them; a public route's has none.
        let claims = &event["requestContext"]["authorizer"]["jwt"]["claims"];
        assert_eq!(
            claims["sub"].is_string(),
            route.authorizer.is_some(),
            "{file}: a sample of {route_key} must carry a token's claims exactly when the route needs one"
        );

        let request = stockroom_local::event::into_request(event).unwrap();
        let response = stockroom_http::observe(request, |caller, request| {
            handler.call(&store, caller, request)
        })
        .await;
        let body = match response.body() {
            lambda_http::Body::Text(t) => t.clone(),
            lambda_http::Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
            _ => String::new(),
        };
        assert_eq!(response.status().as_u16(), *status, "{file}: {body}");
        assert!(body.contains(needle), "{file}: {needle:?} not in {body}");
    }
}
