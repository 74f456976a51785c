//! Telemetry end to end: the `cargo dev` binary exporting to a real OTLP collector (rotel, whose
//! debug exporter prints every span it receives), a shop flow with a client `traceparent`, and
//! then the trace and `/metrics` as a user would see them.
//!
//! rotel comes from PyPI (`pip install --pre rotel`, pinned in scripts/requirements-test.txt);
//! the test command installs it into `.venv`. `ROTEL_AGENT` names another binary.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{free_port, wait_for_port};
use reqwest::StatusCode;
use serde_json::{Value, json};
use stockroom_store::testing::workspace;
use stockroom_telemetry::metrics::{ALL, Kind};

/// The client's trace: every span the order causes must carry this trace id.
const CLIENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

fn rotel_agent() -> PathBuf {
    if let Some(path) = std::env::var_os("ROTEL_AGENT") {
        return PathBuf::from(path);
    }
    let lib = workspace().join(".venv/lib");
    std::fs::read_dir(&lib)
        .into_iter()
        .flatten()
        .flatten()
        .map(|python| python.path().join("site-packages/rotel/rotel-agent"))
        .find(|path| path.exists())
        .unwrap_or_else(|| {
            panic!(
                "no rotel-agent under {}: run ./scripts/test (it installs rotel into .venv) or \
                 set ROTEL_AGENT",
                lib.display()
            )
        })
}

/// A span as rotel's detailed debug exporter prints it.
#[derive(Debug, Default, Clone)]
struct Span {
    trace_id: String,
    parent_id: String,
    id: String,
    name: String,
    kind: String,
    attributes: BTreeMap<String, String>,
    /// The span ids this span links to.
    links: Vec<String>,
}

impl Span {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }
}

/// `Str(x)`, `Int(3)` -> `x`, `3`.
fn value(raw: &str) -> String {
    raw.split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or(raw)
        .to_owned()
}

/// Every span in rotel's debug output. A span's own attributes are the `->` lines under its
/// `Attributes:` heading; those under `Events:` belong to its log events.
fn parse_spans(text: &str) -> Vec<Span> {
    #[derive(PartialEq)]
    enum Section {
        Head,
        Attributes,
        Events,
        Links,
    }
    let mut spans = Vec::new();
    let mut current: Option<Span> = None;
    let mut section = Section::Head;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("Span #") {
            spans.extend(current.take());
            current = Some(Span::default());
            section = Section::Head;
            continue;
        }
        if trimmed.starts_with("ResourceSpans #") || trimmed.starts_with("ScopeSpans #") {
            spans.extend(current.take());
            continue;
        }
        let Some(span) = current.as_mut() else {
            continue;
        };
        match trimmed {
            "Attributes:" if section == Section::Head => section = Section::Attributes,
            "Events:" => section = Section::Events,
            "Links:" => section = Section::Links,
            _ => {}
        }
        if let Some((key, val)) = trimmed.split_once(" : ") {
            let val = val.trim().to_owned();
            match key.trim() {
                "Trace ID" => span.trace_id = val,
                "Parent ID" => span.parent_id = val,
                "ID" if section == Section::Head => span.id = val,
                "ID" if section == Section::Links => span.links.push(val),
                "Name" if section == Section::Head => span.name = val,
                "Kind" => span.kind = val,
                _ => {}
            }
        } else if section == Section::Attributes
            && let Some(attr) = trimmed.strip_prefix("-> ")
            && let Some((key, val)) = attr.split_once(": ")
        {
            span.attributes.insert(key.to_owned(), value(val));
        }
    }
    spans.extend(current);
    spans
}

struct Processes {
    children: Vec<Child>,
    collector_out: PathBuf,
    base: String,
    http: reqwest::Client,
    /// An administrator's token, which every request sends.
    token: String,
    _dir: TempDir,
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Processes {
    /// rotel on free ports, then the dev server exporting to it.
    async fn start() -> Self {
        let dir = std::env::temp_dir().join(format!("stockroom-telemetry-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let collector_out = dir.join("collector.out");
        let (otlp_http, otlp_grpc) = (free_port(), free_port());
        let collector = Command::new(rotel_agent())
            .args(["start", "--exporter", "blackhole", "--debug-log", "traces"])
            .args(["--debug-log-verbosity", "detailed"])
            .arg("--otlp-http-endpoint")
            .arg(format!("127.0.0.1:{otlp_http}"))
            .arg("--otlp-grpc-endpoint")
            .arg(format!("127.0.0.1:{otlp_grpc}"))
            .arg("--pid-file")
            .arg(dir.join("rotel.pid"))
            .arg("--log-file")
            .arg(dir.join("rotel.log"))
            .stdout(std::fs::File::create(&collector_out).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("rotel-agent starts");
        wait_for_port(otlp_http).await;

        // The key the server makes in its data directory on first start, made first here so
        // the test can sign an administrator's token with it.
        let keys =
            stockroom_local::auth::SigningKeyPair::load_or_create(&dir.join("data")).unwrap();
        let token = keys.token("ops", true, chrono::Utc::now().timestamp(), 3600);
        let port = free_port();
        let dev = Command::new(env!("CARGO_BIN_EXE_stockroom-dev"))
            .arg("--port")
            .arg(port.to_string())
            .arg("--data-dir")
            .arg(dir.join("data"))
            .env(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{otlp_http}"),
            )
            // Export batches every 100 ms instead of every 5 s.
            .env("OTEL_BSP_SCHEDULE_DELAY", "100")
            .stdout(std::fs::File::create(dir.join("dev.out")).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("the dev server starts");
        wait_for_port(port).await;
        Self {
            children: vec![collector, dev],
            collector_out,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
            token,
            _dir: TempDir(dir),
        }
    }

    async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("traceparent", format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let body = response.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// The spans of the client's trace, once `done` holds of them (30 s at most).
    async fn client_trace(&self, done: impl Fn(&[Span]) -> bool) -> Vec<Span> {
        for _ in 0..300 {
            let text = std::fs::read(&self.collector_out).unwrap_or_default();
            let spans: Vec<Span> = parse_spans(&String::from_utf8_lossy(&text))
                .into_iter()
                .filter(|s| s.trace_id == CLIENT_TRACE)
                .collect();
            if done(&spans) {
                return spans;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let text = std::fs::read(&self.collector_out).unwrap_or_default();
        panic!(
            "the client's trace never completed; the collector printed:\n{}",
            String::from_utf8_lossy(&text)
        );
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn named<'a>(spans: &'a [Span], name: &str) -> Vec<&'a Span> {
    spans.iter().filter(|s| s.name == name).collect()
}

fn one<'a>(spans: &'a [Span], name: &str) -> &'a Span {
    let found = named(spans, name);
    assert_eq!(found.len(), 1, "one {name:?} span in {spans:#?}");
    found[0]
}

fn parent<'a>(spans: &'a [Span], child: &Span) -> &'a Span {
    spans
        .iter()
        .find(|s| s.id == child.parent_id)
        .unwrap_or_else(|| panic!("the parent of {child:?} is not in the trace"))
}

/// A Prometheus sample: its name and labels.
type Sample = (String, BTreeMap<String, String>);

/// The Prometheus text exposition format, line by line: `# HELP`/`# TYPE` comments, and
/// samples `name{label="value",...} number`. Returns each metric family's type and its samples'
/// names with label sets.
fn parse_prometheus(text: &str) -> (BTreeMap<String, String>, Vec<Sample>) {
    let mut types = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.splitn(3, ' ');
            match (words.next(), words.next(), words.next()) {
                (Some("TYPE"), Some(name), Some(kind)) => {
                    types.insert(name.to_owned(), kind.to_owned());
                }
                (Some("HELP"), Some(_), _) => {}
                _ => panic!("not a Prometheus comment: {line:?}"),
            }
            continue;
        }
        let (series, number) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line:?}"));
        assert!(
            number.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&number),
            "not a number: {line:?}"
        );
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => {
                let body = rest
                    .strip_suffix('}')
                    .unwrap_or_else(|| panic!("unclosed labels: {line:?}"));
                let labels = body
                    .split("\",")
                    .filter(|pair| !pair.is_empty())
                    .map(|pair| {
                        let (key, val) = pair
                            .split_once("=\"")
                            .unwrap_or_else(|| panic!("not a label: {pair:?} in {line:?}"));
                        (key.to_owned(), val.trim_end_matches('"').to_owned())
                    })
                    .collect();
                (name, labels)
            }
            None => (series, BTreeMap::new()),
        };
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "not a metric name: {line:?}"
        );
        samples.push((name.to_owned(), labels));
    }
    (types, samples)
}

#[tokio::test]
async fn one_order_is_one_trace_from_the_api_call_to_its_notifications_and_metrics_name_it_all() {
    let shop = Processes::start().await;
    let post = reqwest::Method::POST;
    shop.send(
        post.clone(),
        "/products",
        Some(json!({"id": "sku-trace", "name": "Traced kettle", "price": 3900, "currency": "EUR"})),
    )
    .await;
    shop.send(
        reqwest::Method::PUT,
        "/stock/sku-trace",
        Some(json!({"available": 12})),
    )
    .await;
    shop.send(
        post.clone(),
        "/carts/cart-trace/items",
        Some(json!({"product_id": "sku-trace", "quantity": 1})),
    )
    .await;
    // 12 -> 7 available: below the threshold of 10, so a low-stock alert too.
    let order = shop
        .send(
            post,
            "/orders",
            Some(json!({"customer_id": "cust-trace", "items": [{"product_id": "sku-trace", "quantity": 5}]})),
        )
        .await;
    let order_id = order["id"].as_str().unwrap().to_owned();

    let spans = shop
        .client_trace(|spans| {
            let kinds: Vec<_> = spans
                .iter()
                .filter_map(|s| s.attr("notification.kind"))
                .collect();
            kinds.contains(&"order_confirmation") && kinds.contains(&"low_stock")
        })
        .await;

    // The request: Lambda's invocation span continues the client's span, the server span
    // carries the route, the handler and the store calls sit under it.
    let invocation = one(&spans, "PlaceOrderFunction");
    assert_eq!(invocation.parent_id, CLIENT_SPAN);
    assert_eq!(invocation.attr("faas.trigger"), Some("http"));
    let server = one(&spans, "POST /orders");
    assert_eq!(server.kind, "SPAN_KIND_SERVER");
    assert_eq!(server.parent_id, invocation.id);
    assert_eq!(server.attr("http.route"), Some("/orders"));
    assert_eq!(server.attr("http.request.method"), Some("POST"));
    assert_eq!(server.attr("http.response.status_code"), Some("201"));
    let handler = spans
        .iter()
        .find(|s| s.name == "place_order" && s.parent_id == server.id)
        .expect("the handler's span under the server span");
    let store_call = spans
        .iter()
        .find(|s| s.parent_id == handler.id && s.attr("store") == Some("sqlite"))
        .expect("the store call's span under the handler");
    assert_eq!(store_call.name, "place_order");

    // The notifications: each stream record's consumer span continues the write that made it.
    for (kind, stream) in [
        ("order_confirmation", "orders INSERT"),
        ("low_stock", "inventory MODIFY"),
    ] {
        let consumer = spans
            .iter()
            .find(|s| s.attr("notification.kind") == Some(kind))
            .unwrap();
        assert_eq!(consumer.name, stream);
        assert_eq!(consumer.kind, "SPAN_KIND_CONSUMER");
        assert_eq!(
            parent(&spans, consumer).id,
            store_call.id,
            "{kind}: {:#?}",
            parent(&spans, consumer)
        );
        if kind == "order_confirmation" {
            assert_eq!(
                consumer.attr("notification.id"),
                Some(format!("order_confirmation:{order_id}").as_str())
            );
        }
    }
    let notifications = shop
        .send(
            reqwest::Method::GET,
            &format!("/notifications?order_id={order_id}"),
            None,
        )
        .await;
    assert_eq!(notifications["items"][0]["kind"], "order_confirmation");

    // Every metric the code can emit has been, with its declared type and labels.
    let response = shop
        .http
        .get(format!("{}/metrics", shop.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (types, samples) = parse_prometheus(&response.text().await.unwrap());
    for metric in ALL {
        let expected = match metric.kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        assert_eq!(
            types.get(metric.name).map(String::as_str),
            Some(expected),
            "{}",
            metric.name
        );
        let sample_names: Vec<String> = match metric.kind {
            Kind::Histogram => ["_bucket", "_sum", "_count"]
                .iter()
                .map(|suffix| format!("{}{suffix}", metric.name))
                .collect(),
            _ => vec![metric.name.to_owned()],
        };
        let ours: Vec<_> = samples
            .iter()
            .filter(|(name, _)| sample_names.contains(name))
            .collect();
        assert!(!ours.is_empty(), "no sample of {}", metric.name);
        for (name, labels) in ours {
            let mut keys: Vec<&str> = labels.keys().map(String::as_str).collect();
            keys.retain(|k| *k != "le" && !(metric.name == "stock_level" && *k == "product_id"));
            let mut declared = metric.dimensions.to_vec();
            declared.sort_unstable();
            assert_eq!(keys, declared, "labels of {name}");
        }
    }
    let orders = samples.iter().find(|(name, labels)| {
        name == "http_requests_total"
            && labels.get("route").map(String::as_str) == Some("/orders")
            && labels.get("status_class").map(String::as_str) == Some("2xx")
    });
    assert!(
        orders.is_some(),
        "POST /orders counted under its route template"
    );
}
