//! A fault-injecting DynamoDB endpoint: point a DynamoDB client's endpoint at it
//! (`AWS_ENDPOINT_URL_DYNAMODB`) and it forwards every request to the real server (moto), except
//! those its [`Plan`] picks, which get a [`Fault`] instead:
//!
//! - an error answer, as DynamoDB's JSON protocol writes it: `ThrottlingException`,
//!   `ProvisionedThroughputExceededException` (inside a transaction: a cancellation for
//!   `ProvisionedThroughputExceeded`), a 500 `InternalServerError`, a transaction conflict
//!   (`TransactionCanceledException` with a `TransactionConflict` reason, or
//!   `TransactionConflictException` for a single-item write);
//! - a connection reset before the request reaches the server;
//! - latency beyond the SDK's attempt timeout, after which the request still reaches the server
//!   (a late copy: the SDK has already sent its retry);
//! - and the one that needs the writer's care: the request is forwarded, applied, and then the
//!   connection is closed without the answer ([`Fault::Lost`]).
//!
//! Which requests: by a rate per fault, drawn from a seeded generator (the same seed and the
//! same request order give the same faults), or by a script (`the 1st TransactWriteItems is
//! Lost`). It counts what it forwarded and what it injected, per operation.
//!
//! HTTP/1.1 only, with `content-length` bodies: what the AWS SDK sends to a plain-HTTP
//! endpoint.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// One kind of failure the proxy injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// 400 `ThrottlingException`.
    Throttle,
    /// 400 `ProvisionedThroughputExceededException`; a transaction is cancelled for
    /// `ProvisionedThroughputExceeded`.
    Capacity,
    /// 500 `InternalServerError`.
    Internal,
    /// A transaction cancelled for `TransactionConflict`; a single-item write refused with
    /// `TransactionConflictException`. Reads are not given it.
    Conflict,
    /// The connection is reset before the request is forwarded.
    Reset,
    /// The request waits [`Plan::slow`] (beyond the SDK's attempt timeout), then is forwarded
    /// and answered, to a client that has usually given up.
    Slow,
    /// The request is forwarded and applied; the connection is then reset without the answer.
    Lost,
}

impl Fault {
    pub const ALL: [Self; 7] = [
        Self::Throttle,
        Self::Capacity,
        Self::Internal,
        Self::Conflict,
        Self::Reset,
        Self::Slow,
        Self::Lost,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Throttle => "throttle",
            Self::Capacity => "capacity",
            Self::Internal => "internal-error",
            Self::Conflict => "conflict",
            Self::Reset => "reset",
            Self::Slow => "slow",
            Self::Lost => "lost-response",
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The data-plane operations the rates apply to: what the functions call. Table management
/// (`CreateTable`, `DescribeTable`) and streams are never faulted by rate.
pub const DATA_OPERATIONS: &[&str] = &[
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "TransactGetItems",
];

const WRITES: &[&str] = &["PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"];

/// Which requests get which fault.
#[derive(Debug, Clone)]
pub struct Plan {
    seed: u64,
    rates: Vec<(Fault, f64)>,
    operations: Vec<String>,
    script: Vec<(String, u64, Fault)>,
    /// How long a [`Fault::Slow`] request waits before it is forwarded.
    pub slow: Duration,
}

impl Default for Plan {
    fn default() -> Self {
        Self::none()
    }
}

impl Plan {
    /// No faults: every request is forwarded.
    pub fn none() -> Self {
        Self {
            seed: 0,
            rates: Vec::new(),
            operations: DATA_OPERATIONS.iter().map(|s| (*s).to_owned()).collect(),
            script: Vec::new(),
            slow: Duration::from_millis(2500),
        }
    }

    /// `total` of the data-plane requests faulted, spread evenly over every [`Fault`], drawn
    /// from `seed`.
    pub fn rate(total: f64, seed: u64) -> Self {
        let each = total / Fault::ALL.len() as f64;
        let mut plan = Self::none();
        plan.seed = seed;
        plan.rates = Fault::ALL.iter().map(|f| (*f, each)).collect();
        plan
    }

    /// `fault` for this share of requests (in addition to any others).
    #[must_use]
    pub fn with(mut self, fault: Fault, rate: f64) -> Self {
        self.rates.push((fault, rate));
        self
    }

    /// Rates apply to these operations only.
    #[must_use]
    pub fn only(mut self, operations: &[&str]) -> Self {
        self.operations = operations.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// The `nth` (from 1) request of `operation` from now on gets `fault`, whatever the rates.
    #[must_use]
    pub fn script(mut self, operation: &str, nth: u64, fault: Fault) -> Self {
        self.script.push((operation.to_owned(), nth, fault));
        self
    }

    #[must_use]
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
}

/// What the proxy did, per operation.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    /// Requests seen, by operation.
    pub requests: BTreeMap<String, u64>,
    /// Faults injected, by operation and fault.
    pub injected: BTreeMap<(String, Fault), u64>,
}

impl Counts {
    /// Faults injected in all.
    pub fn total_injected(&self) -> u64 {
        self.injected.values().sum()
    }

    /// What was counted after `earlier` (an earlier snapshot of the same proxy).
    #[must_use]
    pub fn since(&self, earlier: &Self) -> Self {
        let minus = |later: u64, before: Option<&u64>| later - before.copied().unwrap_or(0);
        Self {
            requests: self
                .requests
                .iter()
                .map(|(op, n)| (op.clone(), minus(*n, earlier.requests.get(op))))
                .collect(),
            injected: self
                .injected
                .iter()
                .map(|(key, n)| (key.clone(), minus(*n, earlier.injected.get(key))))
                .collect(),
        }
    }

    /// Faults injected of `fault`, over every operation.
    pub fn of(&self, fault: Fault) -> u64 {
        self.injected
            .iter()
            .filter(|((_, f), _)| *f == fault)
            .map(|(_, n)| n)
            .sum()
    }
}

#[derive(Debug, Default)]
struct State {
    plan: Plan,
    rng: crate::rng::Rng,
    /// Requests per operation since the plan was set (for the script).
    seen: BTreeMap<String, u64>,
    counts: Counts,
    /// What the requests asked of which table, as IAM authorises it, since last taken.
    accesses: BTreeSet<Access>,
}

/// One IAM action on one table, as DynamoDB authorises a request: `("dynamodb:PutItem",
/// "orders-01J...")`, or on an index, `("dynamodb:Query", "catalog-01J.../index/by-entity")`.
/// A transaction is authorised item by item (`PutItem`, `UpdateItem`, `DeleteItem`,
/// `ConditionCheckItem`; `GetItem` for `TransactGetItems`): IAM has no action for it.
pub type Access = (String, String);

/// The [`Access`]es of one request of `operation` with `body`.
pub fn accesses(operation: &str, body: &[u8]) -> Vec<Access> {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    let access = |action: &str, table: &serde_json::Value| {
        table
            .as_str()
            .map(|table| (format!("dynamodb:{action}"), table.to_owned()))
    };
    match operation {
        "TransactWriteItems" | "TransactGetItems" => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| {
                let (kind, inner) = item.as_object()?.iter().next()?;
                let action = match kind.as_str() {
                    "Put" => "PutItem",
                    "Update" => "UpdateItem",
                    "Delete" => "DeleteItem",
                    "ConditionCheck" => "ConditionCheckItem",
                    "Get" => "GetItem",
                    _ => return None,
                };
                access(action, &inner["TableName"])
            })
            .collect(),
        "BatchGetItem" | "BatchWriteItem" => body["RequestItems"]
            .as_object()
            .into_iter()
            .flat_map(|items| items.keys())
            .map(|table| (format!("dynamodb:{operation}"), table.clone()))
            .collect(),
        _ => {
            let table = match (body["TableName"].as_str(), body["IndexName"].as_str()) {
                (Some(table), Some(index)) => format!("{table}/index/{index}"),
                (Some(table), None) => table.to_owned(),
                (None, _) => return Vec::new(),
            };
            vec![(format!("dynamodb:{operation}"), table)]
        }
    }
}

impl State {
    fn decide(&mut self, operation: &str) -> Option<Fault> {
        *self
            .counts
            .requests
            .entry(operation.to_owned())
            .or_default() += 1;
        let nth = {
            let seen = self.seen.entry(operation.to_owned()).or_default();
            *seen += 1;
            *seen
        };
        let scripted = self
            .plan
            .script
            .iter()
            .find(|(op, n, _)| op == operation && *n == nth)
            .map(|(_, _, f)| *f);
        let fault = match scripted {
            Some(fault) => Some(fault),
            None if self.plan.operations.iter().any(|op| op == operation) => {
                let draw = self.rng.unit();
                let mut acc = 0.0;
                let mut picked = None;
                for (fault, rate) in &self.plan.rates {
                    acc += rate;
                    if draw < acc {
                        picked = Some(*fault);
                        break;
                    }
                }
                picked
            }
            None => None,
        };
        // A conflict is something only writes meet.
        let fault = fault.filter(|f| {
            *f != Fault::Conflict
                || operation == "TransactWriteItems"
                || WRITES.contains(&operation)
        });
        if let Some(fault) = fault {
            *self
                .counts
                .injected
                .entry((operation.to_owned(), fault))
                .or_default() += 1;
        }
        fault
    }
}

/// A running proxy: its address, its plan (which can change while it runs) and its counts.
/// It stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`http://127.0.0.1:<port>`) on a free local port.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(upstream: &str, plan: Plan) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("failed to bind the fault proxy")?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(State {
            rng: crate::rng::Rng::new(plan.seed),
            plan,
            ..State::default()
        }));
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .context("failed to build the proxy's HTTP client")?;
        let upstream = upstream.trim_end_matches('/').to_owned();
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&shared);
                let client = client.clone();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    if let Err(err) = connection(socket, &state, &client, &upstream).await {
                        tracing::debug!(error = %err, "fault proxy connection ended");
                    }
                });
            }
        });
        Ok(Self { addr, state, task })
    }

    /// The endpoint to give a DynamoDB client: `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the plan (and restarts the script's counting and the generator from its seed).
    pub fn set_plan(&self, plan: Plan) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.rng = crate::rng::Rng::new(plan.seed);
        state.plan = plan;
        state.seen.clear();
    }

    /// The [`Access`]es of the requests since the last call: what a function that made them
    /// needs its policy to allow.
    pub fn take_accesses(&self) -> BTreeSet<Access> {
        std::mem::take(
            &mut self
                .state
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .accesses,
        )
    }

    /// What it has forwarded and injected so far.
    pub fn counts(&self) -> Counts {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .counts
            .clone()
    }
}

/// A request as read off the socket.
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    /// The DynamoDB operation, from `X-Amz-Target: DynamoDB_20120810.<Operation>`.
    fn operation(&self) -> String {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-amz-target"))
            .and_then(|(_, v)| v.rsplit('.').next())
            .unwrap_or("unknown")
            .to_owned()
    }
}

/// Serves one client connection: requests one after another (keep-alive) until it closes or a
/// fault ends it.
async fn connection(
    mut socket: TcpStream,
    state: &Mutex<State>,
    client: &reqwest::Client,
    upstream: &str,
) -> anyhow::Result<()> {
    let mut buffer = Vec::new();
    loop {
        let Some(request) = read_request(&mut socket, &mut buffer).await? else {
            return Ok(());
        };
        let operation = request.operation();
        let (fault, slow) = {
            let mut state = state.lock().unwrap_or_else(|e| e.into_inner());
            state.accesses.extend(accesses(&operation, &request.body));
            (state.decide(&operation), state.plan.slow)
        };
        match fault {
            None => {
                let answer = forward(client, upstream, &request).await?;
                write_answer(&mut socket, answer).await?;
            }
            Some(Fault::Reset) => return reset(socket),
            Some(Fault::Lost) => {
                forward(client, upstream, &request).await?;
                return reset(socket);
            }
            Some(Fault::Slow) => {
                tokio::time::sleep(slow).await;
                let answer = forward(client, upstream, &request).await?;
                // The client has usually given up and closed: nothing to do about that.
                if write_answer(&mut socket, answer).await.is_err() {
                    return Ok(());
                }
            }
            Some(error) => {
                write_answer(&mut socket, error_answer(error, &operation, &request.body)).await?;
            }
        }
    }
}

/// Ends the connection with a TCP reset: no answer, not even a clean close.
fn reset(socket: TcpStream) -> anyhow::Result<()> {
    socket.set_zero_linger()?;
    drop(socket);
    Ok(())
}

/// Reads one request (its head, and a `content-length` body), keeping whatever follows it in
/// `buffer`. `None` when the client closed the connection between requests.
async fn read_request(
    socket: &mut TcpStream,
    buffer: &mut Vec<u8>,
) -> anyhow::Result<Option<Request>> {
    let head_end = loop {
        if let Some(at) = find(buffer, b"\r\n\r\n") {
            break at;
        }
        buffer.reserve(16 * 1024);
        let read = socket.read_buf(buffer).await?;
        if read == 0 {
            if buffer.is_empty() {
                return Ok(None);
            }
            anyhow::bail!("the client closed the connection in a request's head");
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or("POST").to_owned();
    let path = first.next().unwrap_or("/").to_owned();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let body_start = head_end + 4;
    while buffer.len() < body_start + length {
        buffer.reserve(body_start + length - buffer.len());
        let read = socket.read_buf(buffer).await?;
        anyhow::ensure!(
            read > 0,
            "the client closed the connection in a request's body"
        );
    }
    let body = buffer[body_start..body_start + length].to_vec();
    buffer.drain(..body_start + length);
    Ok(Some(Request {
        method,
        path,
        headers,
        body,
    }))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// An answer to write back: status, headers, body.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

const HOP_BY_HOP: &[&str] = &[
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
];

async fn forward(
    client: &reqwest::Client,
    upstream: &str,
    request: &Request,
) -> anyhow::Result<Answer> {
    let method = reqwest::Method::from_bytes(request.method.as_bytes())?;
    let mut outgoing = client.request(method, format!("{upstream}{}", request.path));
    for (name, value) in &request.headers {
        if !HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h)) {
            outgoing = outgoing.header(name, value);
        }
    }
    let response = outgoing
        .body(request.body.clone())
        .send()
        .await
        .context("the upstream server did not answer")?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter(|(name, _)| {
            !HOP_BY_HOP
                .iter()
                .any(|h| name.as_str().eq_ignore_ascii_case(h))
        })
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = response.bytes().await?.to_vec();
    Ok(Answer {
        status,
        headers,
        body,
    })
}

async fn write_answer(socket: &mut TcpStream, answer: Answer) -> anyhow::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", answer.status, reason(answer.status));
    for (name, value) in &answer.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", answer.body.len()));
    socket.write_all(head.as_bytes()).await?;
    socket.write_all(&answer.body).await?;
    socket.flush().await?;
    Ok(())
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        500 => "Internal Server Error",
        _ => "",
    }
}

/// DynamoDB's answer for an injected error, as its JSON 1.0 protocol writes it.
fn error_answer(fault: Fault, operation: &str, body: &[u8]) -> Answer {
    let transaction = operation == "TransactWriteItems";
    let (status, kind, message, reasons) = match fault {
        Fault::Throttle => (
            400,
            "ThrottlingException",
            "Rate of requests exceeds the allowed throughput.",
            None,
        ),
        Fault::Capacity if transaction => (
            400,
            "TransactionCanceledException",
            "Transaction cancelled, please refer cancellation reasons for specific reasons [ProvisionedThroughputExceeded]",
            Some("ProvisionedThroughputExceeded"),
        ),
        Fault::Capacity => (
            400,
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
            None,
        ),
        Fault::Conflict if transaction => (
            400,
            "TransactionCanceledException",
            "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
            Some("TransactionConflict"),
        ),
        Fault::Conflict => (
            400,
            "TransactionConflictException",
            "Transaction is ongoing for the item",
            None,
        ),
        _ => (500, "InternalServerError", "Internal server error", None),
    };
    let mut error = serde_json::json!({
        "__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"),
        "message": message,
    });
    if let Some(code) = reasons {
        // One reason per action, the first with the code, as DynamoDB reports them.
        let actions = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v["TransactItems"].as_array().map(Vec::len))
            .unwrap_or(1)
            .max(1);
        let list: Vec<serde_json::Value> = (0..actions)
            .map(|i| {
                if i == 0 {
                    serde_json::json!({"Code": code, "Message": message})
                } else {
                    serde_json::json!({"Code": "None"})
                }
            })
            .collect();
        error["CancellationReasons"] = serde_json::Value::Array(list);
    }
    Answer {
        status,
        headers: vec![
            (
                String::from("content-type"),
                String::from("application/x-amz-json-1.0"),
            ),
            (String::from("x-amzn-errortype"), kind.to_owned()),
        ],
        body: serde_json::to_vec(&error).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_faults_and_the_rate_is_about_what_was_asked() {
        let draws = |seed| {
            let mut state = State {
                rng: crate::rng::Rng::new(seed),
                plan: Plan::rate(0.2, seed),
                ..State::default()
            };
            (0..10_000)
                .map(|_| state.decide("UpdateItem"))
                .collect::<Vec<_>>()
        };
        let first = draws(7);
        assert_eq!(first, draws(7));
        assert_ne!(first, draws(8));
        let faulted = first.iter().flatten().count();
        assert!((1_800..2_200).contains(&faulted), "{faulted} of 10,000");
        for fault in Fault::ALL {
            assert!(first.contains(&Some(fault)), "{fault} never drawn");
        }
    }

    #[test]
    fn a_script_picks_the_nth_call_and_reads_get_no_conflicts() {
        let mut state = State {
            plan: Plan::none()
                .script("TransactWriteItems", 2, Fault::Lost)
                .script("GetItem", 1, Fault::Conflict),
            ..State::default()
        };
        assert_eq!(state.decide("TransactWriteItems"), None);
        assert_eq!(state.decide("TransactWriteItems"), Some(Fault::Lost));
        assert_eq!(state.decide("TransactWriteItems"), None);
        assert_eq!(state.decide("GetItem"), None);
        assert_eq!(state.counts.of(Fault::Lost), 1);
        assert_eq!(state.counts.total_injected(), 1);
        assert_eq!(state.counts.requests["TransactWriteItems"], 3);
    }

    #[test]
    fn an_injected_transaction_error_has_one_reason_per_action() {
        let body = br#"{"TransactItems":[{"Put":{}},{"Update":{}},{"Put":{}}]}"#;
        let answer = error_answer(Fault::Conflict, "TransactWriteItems", body);
        let json: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
        assert_eq!(answer.status, 400);
        assert_eq!(
            json["__type"],
            "com.amazonaws.dynamodb.v20120810#TransactionCanceledException"
        );
        let reasons = json["CancellationReasons"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(reasons.len(), 3);
        assert_eq!(reasons[0]["Code"], "TransactionConflict");
        assert_eq!(reasons[2]["Code"], "None");
    }
}
