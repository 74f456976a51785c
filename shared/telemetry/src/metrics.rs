//! The shop's metrics: their names, in one place, and one function to record each.
//!
//! Everything goes through the `metrics` facade. In Lambda the recorder is CloudWatch Embedded
//! Metric Format on stdout (namespace [`NAMESPACE`], flushed after every invocation); in the dev
//! server it is Prometheus text at `GET /metrics`. Labels are CloudWatch dimensions, so every
//! label here has a bounded set of values; the one per-product figure, [`STOCK_LEVEL`], carries
//! the product id as a Prometheus label but, in Lambda, as an EMF property, which CloudWatch
//! keeps with the log line and does not turn into a metric dimension.
//!
//! The dashboards (template.yaml, `dashboards/`) are checked against [`ALL`] by a test, and the
//! dev server's end-to-end test checks that a shop flow emits every name in it.

use std::time::Duration;

/// The CloudWatch namespace of every metric the functions emit.
pub const NAMESPACE: &str = "Stockroom";

pub const HTTP_REQUESTS: &str = "http_requests_total";
pub const HTTP_REQUEST_DURATION: &str = "http_request_duration_seconds";
pub const ORDERS_PLACED: &str = "orders_placed_total";
pub const STOCK_LEVEL: &str = "stock_level";
pub const LOW_STOCK_ALERTS: &str = "low_stock_alerts_total";
pub const NOTIFICATIONS_SENT: &str = "notifications_sent_total";
pub const CART_ITEMS_ADDED: &str = "cart_items_added_total";
pub const CIRCUIT_BREAKER_STATE: &str = "circuit_breaker_state";

/// What a metric is, as Prometheus and the dashboards see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// One metric the code emits: its name, kind and labels (its CloudWatch dimensions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    /// The labels, which are also the metric's one CloudWatch dimension set, in this order.
    pub dimensions: &'static [&'static str],
    pub help: &'static str,
}

const HTTP_LABELS: &[&str] = &["route", "method", "status_class"];

/// Every metric the code emits.
pub const ALL: &[Metric] = &[
    Metric {
        name: HTTP_REQUESTS,
        kind: Kind::Counter,
        dimensions: HTTP_LABELS,
        help: "API requests answered, by route, method and status class (2xx, 4xx, 5xx).",
    },
    Metric {
        name: HTTP_REQUEST_DURATION,
        kind: Kind::Histogram,
        dimensions: HTTP_LABELS,
        help: "Time from a request reaching its handler to its response, in seconds.",
    },
    Metric {
        name: ORDERS_PLACED,
        kind: Kind::Counter,
        dimensions: &[],
        help: "Orders placed (POST /orders and cart checkouts; an idempotent replay is not counted).",
    },
    Metric {
        name: STOCK_LEVEL,
        kind: Kind::Gauge,
        dimensions: &[],
        help: "Units available of a product after a stock change (product_id: Prometheus label, EMF property).",
    },
    Metric {
        name: LOW_STOCK_ALERTS,
        kind: Kind::Counter,
        dimensions: &[],
        help: "Low-stock notifications sent.",
    },
    Metric {
        name: NOTIFICATIONS_SENT,
        kind: Kind::Counter,
        dimensions: &["kind"],
        help: "Notifications sent, by kind (a replayed stream record that was already sent is not counted).",
    },
    Metric {
        name: CART_ITEMS_ADDED,
        kind: Kind::Counter,
        dimensions: &[],
        help: "Units added to carts through POST /carts/{cart_id}/items.",
    },
    Metric {
        name: CIRCUIT_BREAKER_STATE,
        kind: Kind::Gauge,
        dimensions: &[],
        help: "The notifier's circuit breaker: 0 closed (sending to SNS), 1 open (not calling it), 2 half-open (probing).",
    },
];

/// Installs the Prometheus recorder (the dev server's), `http_request_duration_seconds` with
/// histogram buckets from 1 ms to 10 s. `None` when a recorder is already installed.
#[cfg(feature = "prometheus")]
pub(crate) fn prometheus() -> Option<metrics_exporter_prometheus::PrometheusHandle> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

    const BUCKETS: &[f64] = &[
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ];
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(HTTP_REQUEST_DURATION.to_owned()), BUCKETS)
        .ok()?;
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).ok()?;
    describe();
    keep_up(handle.clone());
    Some(handle)
}

/// How often the Prometheus recorder folds the samples it has taken into its histograms.
#[cfg(feature = "prometheus")]
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Runs the recorder's upkeep every [`UPKEEP_INTERVAL`] on a thread of its own, for as long as
/// the process lives.
///
/// A recorder made with `build_recorder` (rather than the exporter's own HTTP listener, which
/// does this itself) keeps every histogram sample in a queue until the next render or upkeep
/// folds it into the buckets: without this, a dev server that nobody scrapes grew by every
/// request's `http_request_duration_seconds` sample, 12 MB to 83 MB in 5 minutes of load
/// (issue 23). A thread, not a task, so it runs whatever runtime the caller has, or none.
#[cfg(feature = "prometheus")]
fn keep_up(handle: metrics_exporter_prometheus::PrometheusHandle) {
    let spawned = std::thread::Builder::new()
        .name(String::from("metrics-upkeep"))
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_INTERVAL);
                handle.run_upkeep();
            }
        });
    if let Err(err) = spawned {
        tracing::warn!(error = %err, "no metrics upkeep thread: memory grows until /metrics is read");
    }
}

/// Gives every metric its help text (Prometheus `# HELP`).
#[cfg(feature = "prometheus")]
fn describe() {
    for metric in ALL {
        match metric.kind {
            Kind::Counter => metrics::describe_counter!(metric.name, metric.help),
            Kind::Gauge => metrics::describe_gauge!(metric.name, metric.help),
            Kind::Histogram => {
                metrics::describe_histogram!(metric.name, metrics::Unit::Seconds, metric.help)
            }
        }
    }
}

/// The status class of an HTTP status: `2xx`, `4xx`, `5xx` (and `1xx`, `3xx`).
#[must_use]
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// One answered API request: `route` is the template's path (`/products/{id}`), never the
/// concrete one, so the label stays bounded.
pub fn http_request(route: &str, method: &str, status: u16, elapsed: Duration) {
    let labels = [
        ("route", route.to_owned()),
        ("method", method.to_owned()),
        ("status_class", status_class(status).to_owned()),
    ];
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(HTTP_REQUEST_DURATION, &labels).record(elapsed.as_secs_f64());
}

/// A new order was placed (not an idempotent replay of one).
pub fn order_placed() {
    metrics::counter!(ORDERS_PLACED).increment(1);
}

/// Units were added to a cart.
pub fn cart_items_added(units: u64) {
    metrics::counter!(CART_ITEMS_ADDED).increment(units);
}

/// A notification was sent (`kind` is one of the four notification kinds).
pub fn notification_sent(kind: &'static str) {
    metrics::counter!(NOTIFICATIONS_SENT, "kind" => kind).increment(1);
    if kind == "low_stock" {
        metrics::counter!(LOW_STOCK_ALERTS).increment(1);
    }
}

/// The notifier's circuit breaker is in `state` (0 closed, 1 open, 2 half-open).
pub fn circuit_breaker_state(state: f64) {
    metrics::gauge!(CIRCUIT_BREAKER_STATE).set(state);
}

/// A product's available units after a change.
pub fn stock_level(product_id: &str, available: i64) {
    #[allow(clippy::cast_precision_loss)] // stock counts are far below 2^52
    let value = available as f64;
    if let Some(emf) = crate::emf() {
        // One EMF document of its own, with the product as a property, not a dimension.
        emf.set_property("product_id", product_id.to_owned());
        if let Err(err) = emf.write_single(
            STOCK_LEVEL,
            Some(metrics::Unit::Count),
            value,
            std::io::stdout(),
        ) {
            tracing::warn!(error = %err, "failed to write the stock_level metric");
        }
        emf.remove_property("product_id");
    } else {
        metrics::gauge!(STOCK_LEVEL, "product_id" => product_id.to_owned()).set(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_named_once_and_only_counters_end_in_total() {
        let mut names: Vec<_> = ALL.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
        for metric in ALL {
            assert_eq!(
                metric.name.ends_with("_total"),
                metric.kind == Kind::Counter,
                "{}",
                metric.name
            );
        }
    }

    #[test]
    fn status_classes() {
        assert_eq!(status_class(200), "2xx");
        assert_eq!(status_class(204), "2xx");
        assert_eq!(status_class(404), "4xx");
        assert_eq!(status_class(503), "5xx");
    }
}
