//! The Lambda runtime with the shop's telemetry around every invocation.
//!
//! Outermost first: the EMF metrics are flushed to stdout when the invocation ends; the
//! invocation's OpenTelemetry context is attached (a W3C `traceparent` of an HTTP request, else
//! Lambda's X-Ray header) so that the invocation span continues that trace; lambda_runtime's
//! `OpenTelemetryLayer` opens the invocation span (`faas.*` attributes) and flushes the span
//! exporter before the invocation returns; its `TracingLayer` adds the `requestId` every log
//! line carries.

use std::fmt::Debug;
use std::future::Future;
use std::task::{Context, Poll};

use lambda_runtime::layers::{OpenTelemetryLayer, TracingLayer};
use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::{Diagnostic, IntoFunctionResponse, LambdaEvent, LambdaInvocation, Runtime};

pub use lambda_runtime::layers::OpenTelemetryFaasTrigger as Trigger;

/// What every function's main starts with: timing its init from here ([`crate::init`]), the
/// tokio runtime, the telemetry ([`crate::init()`]), then `body` to its end. `body` opens what
/// the function needs, ends the init with [`crate::init::finish`], and [`run`]s the runtime.
///
/// # Errors
/// When the tokio runtime cannot be built, or as `body`.
pub fn start<F, Fut>(body: F) -> Result<(), lambda_runtime::Error>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), lambda_runtime::Error>>,
{
    crate::init::begin();
    // One thread: a function handles one invocation at a time, and a multi-thread runtime's
    // workers only add to its init and memory (docs/performance.md, issue 21). Span export has
    // its own thread (the batch processor's), so flushing it from here cannot deadlock.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    crate::init::phase("runtime");
    runtime.block_on(async move {
        crate::init();
        crate::init::phase("telemetry");
        body().await
    })
}

/// Runs `handler` as the Lambda runtime does (`lambda_runtime::run`), with the telemetry layers.
/// `trigger` is the invocation span's `faas.trigger`.
///
/// # Errors
/// When the runtime API fails.
pub async fn run<A, F, R, B, S, D, E>(
    trigger: Trigger,
    handler: F,
) -> Result<(), lambda_runtime::Error>
where
    F: Service<LambdaEvent<A>, Response = R>,
    F::Future: Future<Output = Result<R, F::Error>>,
    F::Error: Into<Diagnostic> + Debug,
    A: for<'de> serde::Deserialize<'de>,
    R: IntoFunctionResponse<B, S>,
    B: serde::Serialize,
    S: futures_core::Stream<Item = Result<D, E>> + Unpin + Send + 'static,
    D: Into<bytes::Bytes> + Send,
    E: Into<lambda_runtime::Error> + Send + Debug,
{
    let runtime = Runtime::new(handler)
        .layer(TracingLayer::new())
        .layer(OpenTelemetryLayer::new(crate::otel::flush).with_trigger(trigger))
        .layer(ContinueTrace {
            // Only an API Gateway event carries a client's headers; a stream batch is not read.
            http: matches!(trigger, Trigger::Http),
        });
    match crate::emf() {
        Some(emf) => {
            runtime
                .layer(metrics_cloudwatch_embedded::lambda::MetricsLayer::new(emf))
                .run()
                .await
        }
        None => runtime.run().await,
    }
}

/// Attaches the invocation's incoming trace context while the layers inside open their spans:
/// an HTTP event's `traceparent` header when `http`, else Lambda's X-Ray header.
#[derive(Clone, Copy)]
struct ContinueTrace {
    http: bool,
}

impl<S> Layer<S> for ContinueTrace {
    type Service = ContinueTraceService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ContinueTraceService {
            inner,
            http: self.http,
        }
    }
}

struct ContinueTraceService<S> {
    inner: S,
    http: bool,
}

impl<S: Service<LambdaInvocation>> Service<LambdaInvocation> for ContinueTraceService<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: LambdaInvocation) -> Self::Future {
        let event = if self.http { req.body.as_ref() } else { &[] };
        let parent = crate::otel::invocation_parent(event, req.context.xray_trace_id.as_deref());
        // The invocation span is opened inside `call`, so it takes this context as its parent.
        let _attached = parent.map(opentelemetry::Context::attach);
        self.inner.call(req)
    }
}
