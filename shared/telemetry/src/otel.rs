//! OpenTelemetry traces, on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set and absent otherwise.
//!
//! Spans are the `tracing` spans the code already opens, exported by `tracing-opentelemetry`
//! through a batch processor to the OTLP/HTTP endpoint: in Lambda the collector of the
//! OpenTelemetry layer (which sends them on to X-Ray), locally any OTLP backend. Trace ids are
//! X-Ray's (a timestamp, then random bits), which every W3C backend accepts too.
//!
//! A trace is continued from outside by [`continue_trace`]: from a request's W3C `traceparent`
//! header, else from an X-Ray trace header (Lambda's `_X_AMZN_TRACE_ID`, an
//! `X-Amzn-Trace-Id` header). [`current_traceparent`] is the other direction: the W3C header of
//! the current span, which a write stores on its item so that the stream consumer's span
//! continues the trace.

use std::collections::HashMap;
use std::sync::OnceLock;

use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator as _};
use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_aws::trace::{XrayIdGenerator, XrayPropagator};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The environment variable that turns export on.
pub const ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";

/// The W3C trace context header.
pub const TRACEPARENT: &str = "traceparent";
/// The X-Ray trace header.
pub const XRAY_HEADER: &str = "x-amzn-trace-id";

static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// The batch processor's queue, in spans, unless `OTEL_BSP_MAX_QUEUE_SIZE` says otherwise.
const QUEUE_SIZE: usize = 1024;

/// X-Ray first, W3C second: the extraction of the last one that finds a context wins, so a
/// client's `traceparent` wins over the trace Lambda started.
fn propagator() -> &'static TextMapCompositePropagator {
    static PROPAGATOR: OnceLock<TextMapCompositePropagator> = OnceLock::new();
    PROPAGATOR.get_or_init(|| {
        TextMapCompositePropagator::new(vec![
            Box::new(XrayPropagator::default()),
            Box::new(TraceContextPropagator::new()),
        ])
    })
}

/// The tracing layer exporting spans, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set; `None` (and
/// nothing built) otherwise. `service` names the process when `OTEL_SERVICE_NAME` does not.
pub(crate) fn layer<S>(service: &str) -> Option<impl tracing_subscriber::Layer<S>>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    let endpoint = std::env::var(ENDPOINT_VAR).ok()?;
    if endpoint.trim().is_empty() {
        return None;
    }
    let client = match crate::otlp_http::Client::new(&endpoint) {
        Ok(client) => client,
        Err(err) => {
            eprintln!("not exporting traces to {endpoint:?}: {err}");
            return None;
        }
    };
    use opentelemetry_otlp::WithHttpConfig as _;
    let exporter = match opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .build()
    {
        Ok(exporter) => exporter,
        Err(err) => {
            eprintln!("not exporting traces to {endpoint:?}: {err}");
            return None;
        }
    };
    crate::init::phase("span exporter");
    let layer = layer_exporting_to(exporter, service);
    crate::init::phase("tracer provider");
    Some(layer)
}

/// The tracing layer exporting spans to `exporter`, through a batch processor.
fn layer_exporting_to<S, E>(exporter: E, service: &str) -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    E: opentelemetry_sdk::trace::SpanExporter + 'static,
{
    let mut resource = opentelemetry_sdk::Resource::builder();
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        resource = resource.with_service_name(service.to_owned());
    }
    // The batch queue is allocated whole when the processor is built: at the default 2,048
    // spans that was 0.5 ms of init and 0.9 MiB of RSS with export on (docs/performance.md,
    // issue 21). A function flushes as each invocation ends, so the queue holds one
    // invocation's spans, and the processor starts exporting at 512 of them: 1,024 leaves 512
    // of room while it does (a 100-record stream batch makes five or six spans a record).
    // OTEL_BSP_MAX_QUEUE_SIZE still decides when set.
    let mut batch = opentelemetry_sdk::trace::BatchConfigBuilder::default();
    if std::env::var_os("OTEL_BSP_MAX_QUEUE_SIZE").is_none() {
        batch = batch.with_max_queue_size(QUEUE_SIZE);
    }
    let processor = opentelemetry_sdk::trace::BatchSpanProcessor::builder(exporter)
        .with_batch_config(batch.build())
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_id_generator(XrayIdGenerator::default())
        .with_resource(resource.build())
        .build();
    let tracer = provider.tracer("stockroom");
    let _ = PROVIDER.set(provider);
    tracing_opentelemetry::layer().with_tracer(tracer)
}

/// Whether spans are exported.
#[must_use]
pub fn enabled() -> bool {
    PROVIDER.get().is_some()
}

/// Exports every finished span now. Lambda calls it as each invocation ends, before the
/// environment may be frozen; the dev server's batches go on their own.
pub fn flush() {
    if let Some(provider) = PROVIDER.get()
        && let Err(err) = provider.force_flush()
    {
        tracing::warn!(error = %err, "failed to export spans");
    }
}

/// Exports what is left and stops the exporter: for a process that is about to exit.
pub fn shutdown() {
    if let Some(provider) = PROVIDER.get() {
        let _ = provider.shutdown();
    }
}

/// The context `headers` name (`traceparent`, `x-amzn-trace-id`, any case), W3C winning over
/// X-Ray; `None` without export or without a readable header.
fn extract<'a>(
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<opentelemetry::Context> {
    if !enabled() {
        return None;
    }
    let carrier: HashMap<String, String> = headers
        .into_iter()
        .filter(|(name, _)| {
            name.eq_ignore_ascii_case(TRACEPARENT) || name.eq_ignore_ascii_case(XRAY_HEADER)
        })
        .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
        .collect();
    if carrier.is_empty() {
        return None;
    }
    let cx = propagator().extract(&carrier);
    cx.span().span_context().is_valid().then_some(cx)
}

/// Makes `span` continue the trace named by `headers` (see [`extract`]), with a link to the
/// span it would have continued otherwise (the current one). Call it before the span is
/// entered. Without export, or without a readable header, nothing changes.
pub fn continue_trace<'a>(
    span: &tracing::Span,
    headers: impl IntoIterator<Item = (&'a str, &'a str)>,
) {
    let Some(cx) = extract(headers) else {
        return;
    };
    // What the span would have continued otherwise (a stream consumer's invocation) stays
    // reachable as a link.
    let enclosing = tracing::Span::current().context();
    let enclosing = enclosing.span().span_context().clone();
    if enclosing.is_valid() {
        span.add_link(enclosing);
    }
    let _ = span.set_parent(cx);
}

/// The W3C `traceparent` of the current span, when spans are exported.
#[must_use]
pub fn current_traceparent() -> Option<String> {
    if !enabled() {
        return None;
    }
    let cx = tracing::Span::current().context();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// The trace and span ids (hex) of the span `id`, when it is exported.
pub(crate) fn ids_of(
    id: &tracing::span::Id,
    dispatch: &tracing::Dispatch,
) -> Option<(String, String)> {
    if !enabled() {
        return None;
    }
    let cx = tracing_opentelemetry::get_otel_context(id, dispatch)?;
    let span = cx.span();
    let context = span.span_context();
    context.is_valid().then(|| {
        (
            context.trace_id().to_string(),
            context.span_id().to_string(),
        )
    })
}

/// The OpenTelemetry context an invocation continues: a W3C `traceparent` in its event's
/// `headers` (API Gateway's HTTP event; pass no event for other kinds), else Lambda's X-Ray
/// trace header.
pub(crate) fn invocation_parent(
    event: &[u8],
    xray: Option<&str>,
) -> Option<opentelemetry::Context> {
    #[derive(serde::Deserialize)]
    struct Headers {
        #[serde(default)]
        headers: HashMap<String, String>,
    }
    if !enabled() {
        return None;
    }
    let headers = if event.is_empty() {
        HashMap::new()
    } else {
        serde_json::from_slice::<Headers>(event)
            .map(|event| event.headers)
            .unwrap_or_default()
    };
    // X-Ray first: the last header read wins, and the client's traceparent should.
    let xray = xray.map(|value| (XRAY_HEADER, value));
    extract(
        xray.into_iter()
            .chain(headers.iter().map(|(n, v)| (n.as_str(), v.as_str()))),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use opentelemetry_sdk::trace::InMemorySpanExporter;
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;
    use crate::tests::Capture;

    const CLIENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const XRAY: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    /// One test, because the exporter is the process's: continuing traces from each header,
    /// the traceparent a write stores, and the ids on a JSON log line.
    #[test]
    fn traces_continue_from_w3c_and_xray_headers_and_log_lines_name_their_span() {
        let exporter = InMemorySpanExporter::default();
        let capture = Capture::default();
        let writer = capture.clone();
        let cell = crate::DispatchCell::default();
        let subscriber = tracing_subscriber::registry()
            .with(layer_exporting_to(exporter.clone(), "test"))
            .with(crate::json_layer(move || writer.clone(), Arc::clone(&cell)));
        let dispatch = tracing::Dispatch::new(subscriber);
        let _ = cell.set(dispatch.downgrade());
        let stored = tracing::dispatcher::with_default(&dispatch, || {
            let both = tracing::info_span!("both");
            continue_trace(&both, [("traceparent", CLIENT), ("X-Amzn-Trace-Id", XRAY)]);
            let xray = tracing::info_span!("xray");
            continue_trace(&xray, [("x-amzn-trace-id", XRAY)]);
            drop(xray.enter());
            let unreadable = tracing::info_span!("unreadable");
            continue_trace(&unreadable, [("traceparent", "00-nonsense")]);
            drop(unreadable.enter());
            let _both = both.enter();
            let handler = tracing::info_span!("handler");
            let _handler = handler.enter();
            tracing::info!("order placed");
            current_traceparent()
        });
        flush();
        let spans = exporter.get_finished_spans().unwrap();
        let span = |name: &str| {
            spans
                .iter()
                .find(|s| s.name == name)
                .unwrap_or_else(|| panic!("no span {name}"))
        };
        // W3C wins over X-Ray; X-Ray alone is honoured; nonsense starts a trace of its own.
        assert_eq!(
            span("both").span_context.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(span("both").parent_span_id.to_string(), "00f067aa0ba902b7");
        assert_eq!(
            span("xray").span_context.trace_id().to_string(),
            "5759e988bd862e3fe1be46a994272793"
        );
        assert_eq!(span("xray").parent_span_id.to_string(), "53995c3f42cd8ad8");
        let own = span("unreadable");
        assert_ne!(
            own.span_context.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(own.parent_span_id, opentelemetry::trace::SpanId::INVALID);

        let handler = span("handler");
        let trace_id = handler.span_context.trace_id().to_string();
        let span_id = handler.span_context.span_id().to_string();
        assert_eq!(trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(stored, Some(format!("00-{trace_id}-{span_id}-01")));

        let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["trace_id"], trace_id.as_str());
        assert_eq!(line["span_id"], span_id.as_str());
        assert_eq!(line["fields"]["message"], "order placed");
    }
}
