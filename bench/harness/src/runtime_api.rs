//! A Lambda Runtime API on loopback: what the Lambda service offers a function's process, enough
//! to start one, time its init, and hand it events one at a time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::{Mutex, Notify, mpsc, oneshot};

/// How a function answered one invocation.
#[derive(Debug)]
pub struct Answer {
    pub at: Instant,
    pub ok: bool,
    pub body: Bytes,
}

#[derive(Default)]
struct Shared {
    first_next: std::sync::Mutex<Option<Instant>>,
    /// How many times the function asked for an event.
    nexts: std::sync::atomic::AtomicUsize,
    asked: Notify,
    init_error: std::sync::Mutex<Option<String>>,
    ready: Notify,
    pending: Mutex<HashMap<String, oneshot::Sender<Answer>>>,
}

struct Api {
    shared: Arc<Shared>,
    events: Mutex<mpsc::Receiver<(String, Value)>>,
}

/// One Runtime API for one function process.
pub struct RuntimeApi {
    pub address: String,
    shared: Arc<Shared>,
    events: mpsc::Sender<(String, Value)>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(api): State<Arc<Api>>) -> Response {
    {
        let mut first = api
            .shared
            .first_next
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if first.is_none() {
            *first = Some(Instant::now());
            api.shared.ready.notify_one();
        }
    }
    api.shared
        .nexts
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    api.shared.asked.notify_one();
    let Some((id, event)) = api.events.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let mut headers = HeaderMap::new();
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        + 10_000;
    let pairs = [
        ("lambda-runtime-aws-request-id", id),
        ("lambda-runtime-deadline-ms", deadline.to_string()),
        (
            "lambda-runtime-invoked-function-arn",
            String::from("arn:aws:lambda:us-east-1:123456789012:function:bench"),
        ),
        (
            "lambda-runtime-trace-id",
            String::from(
                "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            ),
        ),
    ];
    for (name, value) in pairs {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    headers.insert(
        axum::http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (headers, event.to_string()).into_response()
}

async fn answer(api: &Api, id: &str, ok: bool, body: Bytes) -> StatusCode {
    let at = Instant::now();
    match api.shared.pending.lock().await.remove(id) {
        Some(tx) => {
            let _ = tx.send(Answer { at, ok, body });
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

async fn response(State(api): State<Arc<Api>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    answer(&api, &id, true, body).await
}

async fn error(State(api): State<Arc<Api>>, Path(id): Path<String>, body: Bytes) -> StatusCode {
    answer(&api, &id, false, body).await
}

async fn init_error(State(api): State<Arc<Api>>, body: Bytes) -> StatusCode {
    *api.shared
        .init_error
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = Some(String::from_utf8_lossy(&body).into_owned());
    api.shared.ready.notify_one();
    StatusCode::ACCEPTED
}

impl RuntimeApi {
    /// Starts the API on a free loopback port.
    pub async fn start() -> anyhow::Result<Self> {
        let shared = Arc::new(Shared::default());
        let (events, rx) = mpsc::channel(1);
        let api = Arc::new(Api {
            shared: Arc::clone(&shared),
            events: Mutex::new(rx),
        });
        let router = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(api);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self {
            address,
            shared,
            events,
            server,
        })
    }

    /// Waits for the function's first `next`: the end of its init.
    pub async fn ready(&self, timeout: Duration) -> anyhow::Result<Instant> {
        let wait = async {
            loop {
                if let Some(err) = self
                    .shared
                    .init_error
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone()
                {
                    bail!("the function reported an init error: {err}");
                }
                if let Some(at) = *self
                    .shared
                    .first_next
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                {
                    return Ok(at);
                }
                self.shared.ready.notified().await;
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .context("the function did not ask for its first event in time")?
    }

    /// Waits until the function asks for its event after `invocations` invocations: the last
    /// one is over, including what the runtime's layers do after the answer is posted (the EMF
    /// flush, the span export), which Lambda also waits for before it freezes the function.
    pub async fn idle(&self, invocations: usize, timeout: Duration) -> anyhow::Result<()> {
        let wait = async {
            while self.shared.nexts.load(std::sync::atomic::Ordering::SeqCst) <= invocations {
                self.shared.asked.notified().await;
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .context("the function did not ask for its next event after its last invocation")
    }

    /// Hands `event` to the function and waits for its answer; returns the time from handing
    /// over to answer, and the answer.
    pub async fn invoke(&self, event: Value) -> anyhow::Result<(Duration, Answer)> {
        let id = ulid::Ulid::new().to_string();
        let (tx, rx) = oneshot::channel();
        self.shared.pending.lock().await.insert(id.clone(), tx);
        let sent = Instant::now();
        self.events
            .send((id, event))
            .await
            .context("the runtime API stopped")?;
        let answer = tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .context("the function did not answer in 30 s")?
            .context("the runtime API dropped the invocation")?;
        Ok((answer.at.saturating_duration_since(sent), answer))
    }
}
