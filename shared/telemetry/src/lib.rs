//! Telemetry in one place: every main calls [`init`] first, the dev server calls [`init_dev`].
//!
//! In Lambda the logs are JSON, one object per line, and carry the fields of the spans they
//! happen in, so every line has the `requestId` the runtime's invocation span records.
//! OpenTelemetry export will be one more layer added here; no main changes when it arrives.

pub mod metrics;

use std::sync::OnceLock;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The log filter: `RUST_LOG` if set, else the level Lambda's advanced logging controls set
/// (`AWS_LAMBDA_LOG_LEVEL`), else `info`.
///
/// `RUST_LOG` takes `level` and `target=level` directives, comma-separated (`info,
/// stockroom_store::dynamodb::calls=debug`). It is a [`Targets`] filter, not an `EnvFilter`:
/// no span or field directives, but no regex engine in every binary either (see
/// docs/performance.md). A value it cannot read means `info`, and says so on stderr.
fn filter() -> Targets {
    filter_from(
        std::env::var("RUST_LOG").ok().as_deref(),
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
    )
}

fn filter_from(rust_log: Option<&str>, lambda_level: Option<&str>) -> Targets {
    let info = Targets::new().with_default(LevelFilter::INFO);
    let spec = match (rust_log, lambda_level) {
        (Some(spec), _) if !spec.trim().is_empty() => spec,
        (_, Some(level)) if !level.trim().is_empty() => level,
        _ => return info,
    };
    spec.parse().unwrap_or_else(|e| {
        eprintln!("ignoring the log filter {spec:?} ({e}); logging at info");
        info
    })
}

/// The JSON log layer: one object per line, with the fields of every enclosing span (so the
/// runtime's `requestId` and the handler's `route`).
fn json_layer<S, W>(writer: W) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .with_span_list(true)
        .with_target(true)
        // CloudWatch stamps every line itself.
        .without_time()
        .with_ansi(false)
        .with_writer(writer)
}

/// The EMF collector, once a Lambda main has installed it.
static EMF: OnceLock<&'static metrics_cloudwatch_embedded::Collector> = OnceLock::new();

fn emf() -> Option<&'static metrics_cloudwatch_embedded::Collector> {
    EMF.get().copied()
}

/// Installs JSON logging for a Lambda function. Calling it twice is harmless.
pub fn init() {
    let _ = tracing_subscriber::registry()
        .with(filter())
        .with(json_layer(std::io::stdout))
        .try_init();
}

/// Installs compact, human-readable logging for the dev server. Calling it twice is harmless.
pub fn init_dev() {
    let text = tracing_subscriber::fmt::layer()
        .compact()
        .with_target(false);
    let _ = tracing_subscriber::registry()
        .with(filter())
        .with(text)
        .try_init();
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_filter_reads_rust_log_then_the_lambda_level_then_defaults_to_info() {
        use tracing::Level;
        use tracing_subscriber::filter::Targets;

        let calls = "stockroom_store::dynamodb::calls";
        let f = filter_from(Some("info,stockroom_store::dynamodb::calls=debug"), None);
        assert!(f.would_enable(calls, &Level::DEBUG));
        assert!(!f.would_enable("stockroom_catalog", &Level::DEBUG));
        assert!(f.would_enable("stockroom_catalog", &Level::INFO));

        let lambda: Targets = filter_from(None, Some("WARN"));
        assert!(!lambda.would_enable("stockroom_catalog", &Level::INFO));
        assert!(lambda.would_enable("stockroom_catalog", &Level::WARN));

        for unreadable in [Some("info,=nonsense=3"), Some("  "), None] {
            let f = filter_from(unreadable, None);
            assert!(
                f.would_enable("stockroom_catalog", &Level::INFO),
                "{unreadable:?}"
            );
            assert!(
                !f.would_enable("stockroom_catalog", &Level::DEBUG),
                "{unreadable:?}"
            );
        }
    }

    #[test]
    fn a_log_line_inside_an_invocation_is_json_carrying_the_lambda_request_id() {
        let capture = Capture::default();
        let writer = capture.clone();
        let subscriber = tracing_subscriber::registry().with(json_layer(move || writer.clone()));
        tracing::subscriber::with_default(subscriber, || {
            // The span lambda_runtime opens around every invocation.
            let invoke =
                tracing::info_span!("Lambda runtime invoke", requestId = "8476a536-e9f4-11e8");
            let _entered = invoke.enter();
            let handler = tracing::info_span!("get_product", route = "GET /products/{id}");
            let _handler = handler.enter();
            tracing::info!(product_id = "sku-mug", "product read");
        });
        let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["fields"]["message"], "product read");
        assert_eq!(line["spans"][0]["requestId"], "8476a536-e9f4-11e8");
        assert_eq!(line["spans"][1]["route"], "GET /products/{id}");
    }
}
