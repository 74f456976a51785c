//! template.yaml is the single source of truth for routes and stream sources: the dev server's
//! handlers, its stream consumers and the `cargo lambda watch` router must name exactly its
//! routes, sources and binaries.

use std::collections::BTreeSet;

use stockroom_local::registry::handlers;
use stockroom_store::testing::{cargo_bins, workspace};

fn template_routes() -> Vec<stockroom_local::template::Route> {
    stockroom_local::template::load(&workspace().join("template.yaml")).unwrap()
}

#[test]
fn every_template_route_has_a_handler_and_every_handler_a_route() {
    let routes = template_routes();
    let routed: BTreeSet<&str> = routes.iter().map(|r| r.binary.as_str()).collect();
    let handled: BTreeSet<&str> = handlers().iter().map(|h| h.binary()).collect();
    let unhandled: Vec<_> = routed.difference(&handled).collect();
    let unrouted: Vec<_> = handled.difference(&routed).collect();
    assert!(
        unhandled.is_empty(),
        "template routes without a handler: {unhandled:?}"
    );
    assert!(
        unrouted.is_empty(),
        "handlers without a template route: {unrouted:?}"
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
            watch.insert((
                route["method"].as_str().unwrap().to_owned(),
                path.clone(),
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
fn every_stream_source_has_a_consumer_binary_and_every_consumer_a_stream_source() {
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
    }
    let consumed: BTreeSet<&str> = mappings.iter().map(|m| m.consumer.binary()).collect();
    let consumers: BTreeSet<&str> = stockroom_notifications::StreamConsumer::ALL
        .iter()
        .map(|c| c.binary())
        .collect();
    assert_eq!(
        consumed, consumers,
        "a consumer without a stream source in template.yaml"
    );
    // The orders and the inventory streams, each read by its consumer.
    let tables: BTreeSet<(&str, &str)> = mappings
        .iter()
        .map(|m| (m.table.name, m.consumer.binary()))
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
