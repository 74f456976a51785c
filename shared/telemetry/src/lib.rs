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

/// Installs JSON logging for a Lambda function. Calling it twice is harmless.
pub fn init() {
    let json = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .with_span_list(true)
        .with_target(true)
        // CloudWatch stamps every line itself.
        .without_time()
        .with_ansi(false);
    let _ = tracing_subscriber::registry()
        .with(filter())
        .with(json)
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
