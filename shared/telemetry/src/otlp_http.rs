//! The HTTP client the span exporter posts its OTLP batches with: hyper's, which every function
//! links already (the AWS SDK's HTTPS client is built on it), driven by a single-threaded tokio
//! runtime of its own on the batch processor's thread.
//!
//! It replaces opentelemetry-otlp's `reqwest` blocking client, which linked reqwest and its
//! dependencies into every function (export on or off: the template turns export on without a
//! rebuild) and started a thread with its own runtime when the exporter was built
//! (docs/performance.md, issue 21).
//!
//! Plain `http://` only: spans go to a collector beside the function (the OpenTelemetry Lambda
//! layer's on `localhost:4318`, a local one in development), which sends them on over TLS.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use opentelemetry_http::hyper::HyperClient;
use opentelemetry_http::{HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{
    OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_EXPORTER_OTLP_TIMEOUT_DEFAULT,
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
};

/// Sends each request on the calling thread, which the batch span processor owns: a blocking
/// call there is what its exporter expects.
#[derive(Debug)]
pub(crate) struct Client {
    /// Made on the batch processor's thread by the first export, not when the client is: a
    /// client built at init but then dropped there (when the exporter cannot be built) must
    /// not drop a runtime inside the function's own, which tokio forbids.
    runtime: OnceLock<tokio::runtime::Runtime>,
    hyper: HyperClient,
}

impl Client {
    /// A client for `endpoint`, or why there can be none.
    pub(crate) fn new(endpoint: &str) -> Result<Self, String> {
        if !endpoint.trim_start().starts_with("http://") {
            return Err(format!(
                "only http:// endpoints are supported (a collector beside the function, such as \
                 the OpenTelemetry Lambda layer's on http://localhost:4318), not {endpoint:?}"
            ));
        }
        let hyper =
            HyperClient::with_default_connector(timeout(|name| std::env::var(name).ok()), None);
        Ok(Self {
            runtime: OnceLock::new(),
            hyper,
        })
    }

    /// The runtime the requests run on, made by the first.
    fn runtime(&self) -> Result<&tokio::runtime::Runtime, HttpError> {
        if let Some(runtime) = self.runtime.get() {
            return Ok(runtime);
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        // Only the batch processor's thread exports, so no other runtime can have won.
        Ok(self.runtime.get_or_init(|| runtime))
    }
}

/// Each request's deadline, resolved as the OTLP exporter resolves its own (the traces
/// variable, then the general one, then the standard's 10 s), so that a request does not
/// outlive the export it is part of.
fn timeout(var: impl Fn(&str) -> Option<String>) -> Duration {
    [
        OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
        OTEL_EXPORTER_OTLP_TIMEOUT,
    ]
    .into_iter()
    .find_map(|name| var(name)?.parse().ok())
    .map_or(OTEL_EXPORTER_OTLP_TIMEOUT_DEFAULT, Duration::from_millis)
}

#[async_trait::async_trait]
impl HttpClient for Client {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        // The batch processor exports on its own thread, outside any runtime; a runtime thread
        // would be blocked by (and tokio forbids) a nested `block_on`.
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err("spans are exported from the batch processor's thread only".into());
        }
        self.runtime()?.block_on(self.hyper.send_bytes(request))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};

    use super::*;

    /// One HTTP/1.1 exchange on a local socket: the request's line, headers and body as the
    /// server read them, and the server's response as the client returns it.
    #[test]
    fn posts_the_batch_and_returns_the_collectors_answer_and_refuses_https() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().expect("accept");
            let mut seen = Vec::new();
            let mut buf = [0_u8; 4096];
            while !String::from_utf8_lossy(&seen).ends_with("spans") {
                let n = conn.read(&mut buf).expect("read");
                assert!(
                    n > 0,
                    "the request ended early: {}",
                    String::from_utf8_lossy(&seen)
                );
                seen.extend_from_slice(&buf[..n]);
            }
            conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                .expect("write");
            String::from_utf8(seen).expect("utf-8")
        });
        let client = Client::new(&format!("http://{addr}")).expect("client");
        let request = Request::post(format!("http://{addr}/v1/traces"))
            .header("content-type", "application/x-protobuf")
            .body(Bytes::from_static(b"spans"))
            .expect("request");
        // As the batch processor polls the export: a plain executor, on a thread outside any runtime.
        let response = futures_executor::block_on(client.send_bytes(request)).expect("sent");
        assert_eq!(response.status(), 200);
        assert_eq!(response.body().as_ref(), b"ok");
        let seen = server.join().expect("server");
        assert!(seen.starts_with("POST /v1/traces HTTP/1.1\r\n"), "{seen}");
        assert!(
            seen.contains("content-type: application/x-protobuf\r\n"),
            "{seen}"
        );

        let err = Client::new("https://collector.example:4318").expect_err("https");
        assert!(err.contains("only http:// endpoints"), "{err}");
    }

    /// The exporter is built on the function's runtime, at init; when building it fails (a
    /// malformed header variable, say) the client is dropped there, and the function must log
    /// that it does not export rather than panic.
    #[test]
    fn the_deadline_is_the_exporters_traces_variable_then_the_general_one_then_10_s() {
        let vars = |set: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                set.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(timeout(vars(&[])), Duration::from_secs(10));
        assert_eq!(
            timeout(vars(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "2500")])),
            Duration::from_millis(2500)
        );
        assert_eq!(
            timeout(vars(&[
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
                ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "700"),
            ])),
            Duration::from_millis(700)
        );
    }

    #[tokio::test]
    async fn a_client_dropped_on_a_runtime_thread_does_not_panic() {
        let client = Client::new("http://127.0.0.1:4318").expect("client");
        drop(client);
    }
}
