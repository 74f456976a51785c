//! Telemetry in one place: every main calls [`init`] first, the dev server calls [`init_dev`].
//!
//! In Lambda the logs are JSON, one object per line, and carry the fields of the spans they
//! happen in, so every line has the `requestId` the runtime's invocation span records.
//! OpenTelemetry export will be one more layer added here; no main changes when it arrives.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The log filter: `RUST_LOG` if set, else the level Lambda's advanced logging controls set
/// (`AWS_LAMBDA_LOG_LEVEL`), else `info`.
fn filter() -> EnvFilter {
    if let Ok(filter) = EnvFilter::try_from_default_env() {
        return filter;
    }
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .map(|l| l.to_ascii_lowercase())
        .unwrap_or_else(|_| String::from("info"));
    EnvFilter::try_new(&level).unwrap_or_else(|_| EnvFilter::new("info"))
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
