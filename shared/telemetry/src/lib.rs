//! Telemetry in one place: every Lambda main calls [`init`] first and runs its handler through
//! [`lambda::run`]; the dev server calls [`init_dev`].
//!
//! - **Logs**: in Lambda JSON, one object per line, carrying the fields of the spans they happen
//!   in (so the runtime's `requestId`) and, when traces are exported, the `trace_id` and
//!   `span_id` of the span they happen in, so a log line leads to its trace.
//! - **Traces** ([`otel`]): exported over OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set;
//!   nothing is built when it is not.
//! - **Metrics** ([`metrics`]): CloudWatch Embedded Metric Format on stdout in Lambda, a
//!   Prometheus registry in the dev server.

pub mod init;
pub mod lambda;
pub mod metrics;
pub mod otel;
mod otlp_http;

use std::sync::{Arc, OnceLock};

use tracing::dispatcher::WeakDispatch;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;

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
/// runtime's `requestId` and the handler's `route`), and the trace and span ids of the span it
/// happens in when traces are exported (read through `dispatch`, the dispatch the layer ends up
/// in, set by [`install`]).
fn json_layer<S, W>(writer: W, dispatch: DispatchCell) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let json = tracing_subscriber::fmt::format()
        .json()
        .with_current_span(false)
        .with_span_list(true)
        .with_target(true)
        // CloudWatch stamps every line itself.
        .without_time();
    tracing_subscriber::fmt::layer()
        .json()
        .event_format(WithTraceIds {
            inner: json,
            dispatch,
        })
        .with_ansi(false)
        .with_writer(writer)
}

/// The dispatch a subscriber was installed as, for reading the OpenTelemetry context of a log
/// line's span from inside its formatter (where `Span::current()` sees no subscriber).
type DispatchCell = Arc<OnceLock<WeakDispatch>>;

/// A JSON event format with `"trace_id"` and `"span_id"` first, when the line happens in an
/// exported span.
struct WithTraceIds<F> {
    inner: F,
    dispatch: DispatchCell,
}

impl<S, N, F> FormatEvent<S, N> for WithTraceIds<F>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let ids = ctx.lookup_current().and_then(|span| {
            let dispatch = self.dispatch.get()?.upgrade()?;
            otel::ids_of(&span.id(), &dispatch)
        });
        let Some((trace_id, span_id)) = ids else {
            return self.inner.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        match line.strip_prefix('{') {
            Some(rest) => write!(
                writer,
                "{{\"trace_id\":\"{trace_id}\",\"span_id\":\"{span_id}\",{rest}"
            ),
            None => writer.write_str(&line),
        }
    }
}

/// Installs `subscriber` as the process's, telling its [`WithTraceIds`] (through `cell`). A
/// second call changes nothing.
fn install(subscriber: impl tracing::Subscriber + Send + Sync + 'static, cell: &DispatchCell) {
    let dispatch = tracing::Dispatch::new(subscriber);
    let weak = dispatch.downgrade();
    if tracing::dispatcher::set_global_default(dispatch).is_ok() {
        let _ = cell.set(weak);
    }
}

/// The EMF collector, once a Lambda main has installed it.
static EMF: OnceLock<&'static metrics_cloudwatch_embedded::Collector> = OnceLock::new();

fn emf() -> Option<&'static metrics_cloudwatch_embedded::Collector> {
    EMF.get().copied()
}

/// Installs a Lambda function's telemetry: JSON logging, span export when
/// `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and EMF metrics (which [`lambda::run`] flushes after
/// every invocation). Calling it twice is harmless.
pub fn init() {
    let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "stockroom".into());
    let cell = DispatchCell::default();
    install(
        tracing_subscriber::registry()
            .with(filter())
            .with(otel::layer(&function))
            .with(json_layer(std::io::stdout, Arc::clone(&cell))),
        &cell,
    );
    if EMF.get().is_none() {
        match metrics_cloudwatch_embedded::Builder::new()
            .cloudwatch_namespace(metrics::NAMESPACE)
            .with_lambda_request_id("requestId")
            .init()
        {
            Ok(collector) => {
                let _ = EMF.set(collector);
            }
            Err(err) => tracing::warn!(error = %err, "metrics are off: no EMF recorder"),
        }
    }
}

/// Installs the dev server's telemetry: compact, human-readable logging, span export when
/// `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and the Prometheus registry whose handle renders
/// `GET /metrics` (`None` when another recorder was installed first). Calling it twice is
/// harmless.
#[cfg(feature = "prometheus")]
pub fn init_dev() -> Option<metrics_exporter_prometheus::PrometheusHandle> {
    let text = tracing_subscriber::fmt::layer()
        .compact()
        .with_target(false);
    install(
        tracing_subscriber::registry()
            .with(filter())
            .with(otel::layer("stockroom-dev"))
            .with(text),
        &DispatchCell::default(),
    );
    metrics::prometheus()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A log writer keeping what is written, for the tests' assertions.
    #[derive(Clone, Default)]
    pub(crate) struct Capture(pub(crate) Arc<Mutex<Vec<u8>>>);

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
        let subscriber = tracing_subscriber::registry()
            .with(json_layer(move || writer.clone(), DispatchCell::default()));
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
