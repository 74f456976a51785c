//! template.yaml is the single source of truth for routes and stream sources: the services'
//! endpoints (their handler names, routes and binaries), the stream consumers and the `cargo
//! lambda watch` router must name exactly its functions, routes, sources and binaries.

use std::collections::BTreeSet;

use stockroom_local::registry::handlers;
use stockroom_store::testing::{cargo_bins, workspace};

fn template_routes() -> Vec<stockroom_local::template::Route> {
    stockroom_local::template::load(&workspace().join("template.yaml")).unwrap()
}

#[test]
fn every_template_route_has_its_handler_in_its_binary_and_every_handler_a_route() {
    // (route key, Handler, Binary): what API Gateway sends, what Lambda hands the binary as
    // _HANDLER, and what sam build builds; from the template and from the code.
    let routed: BTreeSet<(String, String, String)> = template_routes()
        .into_iter()
        .map(|r| (r.key(), r.handler, r.binary))
        .collect();
    let handled: BTreeSet<(String, String, String)> = handlers()
        .iter()
        .map(|h| {
            (
                h.route().to_owned(),
                h.handler().to_owned(),
                h.binary().to_owned(),
            )
        })
        .collect();
    let unhandled: Vec<_> = routed.difference(&handled).collect();
    let unrouted: Vec<_> = handled.difference(&routed).collect();
    assert!(
        unhandled.is_empty(),
        "template functions (route, Handler, Binary) no service serves so: {unhandled:?}"
    );
    assert!(
        unrouted.is_empty(),
        "service endpoints (route, handler, binary) without such a template function: {unrouted:?}"
    );
}

#[test]
fn every_handler_binary_exists_as_a_cargo_bin() {
    // The crates come from `cargo metadata`: no list of services to keep up to date here.
    let bins: BTreeSet<String> = cargo_bins().unwrap().into_iter().map(|b| b.name).collect();
    for handler in handlers() {
        assert!(
            bins.contains(handler.binary()),
            "no workspace binary {} for its handler",
            handler.binary()
        );
    }
}

#[test]
fn the_cargo_lambda_watch_router_matches_the_template() {
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(workspace().join("Cargo.toml")).unwrap()).unwrap();
    let router = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .unwrap();
    let mut watch = BTreeSet::new();
    for (path, routes) in router {
        for route in routes.as_array().unwrap() {
            // cargo-lambda's router (matchit) writes API Gateway's greedy `{name+}` `{*name}`.
            let path = match path.split_once("{*") {
                Some((head, name)) => format!("{head}{{{}+}}", name.trim_end_matches('}')),
                None => path.clone(),
            };
            watch.insert((
                route["method"].as_str().unwrap().to_owned(),
                path,
                route["function"].as_str().unwrap().to_owned(),
            ));
        }
    }
    let template: BTreeSet<_> = template_routes()
        .into_iter()
        .map(|r| (r.method, r.path, r.binary))
        .collect();
    assert_eq!(watch, template);
}

#[test]
fn every_stream_source_has_a_consumer_in_its_binary_and_every_consumer_a_stream_source() {
    let sources =
        stockroom_local::template::load_stream_sources(&workspace().join("template.yaml")).unwrap();
    let mappings = stockroom_local::feed::Mapping::all(sources.clone()).unwrap();
    let bins: BTreeSet<String> = cargo_bins().unwrap().into_iter().map(|b| b.name).collect();
    for source in &sources {
        assert!(
            bins.contains(&source.binary),
            "no workspace binary {}",
            source.binary
        );
        assert_eq!(
            source.binary,
            stockroom_notifications::StreamConsumer::BINARY,
            "{}: the consumers' binary",
            source.function
        );
    }
    let consumed: BTreeSet<&str> = mappings.iter().map(|m| m.consumer.handler()).collect();
    let consumers: BTreeSet<&str> = stockroom_notifications::StreamConsumer::ALL
        .iter()
        .map(|c| c.handler())
        .collect();
    assert_eq!(
        consumed, consumers,
        "a consumer without a stream source in template.yaml"
    );
    // The orders and the inventory streams, each read by its consumer.
    let tables: BTreeSet<(&str, &str)> = mappings
        .iter()
        .map(|m| (m.table.name, m.consumer.handler()))
        .collect();
    assert_eq!(
        tables,
        [
            ("inventory", "on_stock_change"),
            ("orders", "on_order_change")
        ]
        .into()
    );
}

/// `cargo lambda watch` runs a service's binary with no `_HANDLER` and sends every request with
/// the route key `$default`: the binary must find each endpoint from the method and the path.
#[test]
fn a_binary_without_a_handler_name_finds_each_endpoint_by_method_and_path() {
    fn check<O: stockroom_http::Endpoints>() {
        for &op in O::all() {
            let (method, template) = op.route().split_once(' ').unwrap();
            let path: String = template
                .split('/')
                .map(|s| if s.starts_with('{') { "x-1" } else { s })
                .collect::<Vec<_>>()
                .join("/");
            let req = http::Request::builder()
                .method(method)
                .uri(format!("http://localhost:9000{path}"))
                .body(lambda_http::Body::Empty)
                .unwrap();
            let found = O::for_request(&req).map(|o| o.handler());
            assert_eq!(found, Some(op.handler()), "{method} {path}");
        }
        let req = http::Request::builder()
            .method("GET")
            .uri("http://localhost:9000/no/such/route/here")
            .body(lambda_http::Body::Empty)
            .unwrap();
        assert!(O::for_request(&req).is_none());
    }
    check::<stockroom_catalog::Operation>();
    check::<stockroom_inventory::Operation>();
    check::<stockroom_orders::Operation>();
    check::<stockroom_carts::Operation>();
    check::<stockroom_notifications::Operation>();
    check::<stockroom_health::Operation>();
}

/// The release hook's probes (template.yaml's `PreTrafficHookFunction` `PROBES`), sent as the
/// hook sends them (no token, every path parameter `probe`), get the answer the hook expects
/// from the handlers every function runs; and a stream consumer's empty batch fails nothing.
/// scripts/test_template.py runs the hook's own code against stubbed AWS clients.
#[tokio::test]
async fn the_release_hooks_probes_get_the_answers_it_expects() {
    use stockroom_store::Store;
    use stockroom_store::sqlite::SqliteStore;
    let text = std::fs::read_to_string(workspace().join("template.yaml")).unwrap();
    let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let probes = doc["Resources"]["PreTrafficHookFunction"]["Properties"]["Environment"]
        ["Variables"]["PROBES"]
        .as_str()
        .unwrap();
    let probes: std::collections::BTreeMap<String, String> = serde_json::from_str(probes).unwrap();
    let store = Store::embedded(SqliteStore::in_memory().unwrap());
    stockroom_local::seed::seed(&store).await.unwrap();
    let mut probed = BTreeSet::new();
    for (handler_name, probe) in &probes {
        probed.insert(handler_name.as_str());
        if probe == "stream" {
            let consumer = stockroom_notifications::StreamConsumer::named(handler_name).unwrap();
            let consumers = stockroom_notifications::Consumers {
                store: store.notifications().unwrap(),
                notifier: std::sync::Arc::new(stockroom_notifications::notifier::LogNotifier),
                low_stock_threshold: 10,
            };
            let event = serde_json::from_value(serde_json::json!({"Records": []})).unwrap();
            let answer = consumer.handle(&consumers, &event).await;
            assert!(answer.batch_item_failures.is_empty(), "{handler_name}");
            continue;
        }
        let mut parts = probe.split(' ');
        let (method, route, status) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let params: serde_json::Map<String, serde_json::Value> = route
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| {
                (
                    name.trim_end_matches('+').to_owned(),
                    serde_json::Value::from("probe"),
                )
            })
            .collect();
        let path: Vec<&str> = route
            .split('/')
            .map(|s| if s.starts_with('{') { "probe" } else { s })
            .collect();
        let path = path.join("/");
        let key = format!("{method} {route}");
        let event = serde_json::json!({
            "version": "2.0", "routeKey": key, "rawPath": path, "rawQueryString": "",
            "headers": {"accept": "application/json"},
            "requestContext": {
                "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                         "sourceIp": "127.0.0.1", "userAgent": "pre-traffic"},
                "routeKey": key, "stage": "$default", "requestId": "pre-traffic", "timeEpoch": 0
            },
            "pathParameters": params, "isBase64Encoded": false
        });
        let handler = stockroom_local::registry::named(handler_name).unwrap();
        assert_eq!(
            handler.route(),
            key,
            "{handler_name}'s probe is for another route"
        );
        let request = stockroom_local::event::into_request(event).unwrap();
        let response = stockroom_http::observe(request, |caller, request| {
            handler.call(&store, caller, request)
        })
        .await;
        assert_eq!(
            response.status().as_str(),
            status,
            "{handler_name}: {probe}: {:?}",
            response.body()
        );
    }
    let handled: BTreeSet<&str> = handlers()
        .iter()
        .map(|h| h.handler())
        .chain(
            stockroom_notifications::StreamConsumer::ALL
                .iter()
                .map(|c| c.handler()),
        )
        .collect();
    assert_eq!(
        probed, handled,
        "every function has a probe, and every probe a function"
    );
}
