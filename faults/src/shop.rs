//! The shoppers of a faults run: concurrent clients of the shop API that behave as a careful
//! client of a production API would, and the ledger of what each was told.
//!
//! A careful client sends every order and checkout with an `Idempotency-Key` and, when it gets
//! no answer (a timeout, a dropped connection) or a 5xx, waits as `Retry-After` says and sends
//! the same request again with the same key. A 409 that says "try again" (a contended item) is
//! tried again too. Where a request has no key (adding to a cart, cancelling an order), it
//! reads before it resends: after an unanswered add it reads the cart and adds again only when
//! the line is not there; after an unanswered cancel that is then refused as already
//! cancelled, it reads the order. Whatever ends with a 2xx is in the ledger, which the audit
//! holds the tables to.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::rng::Rng;

/// How often a request is sent before the shopper gives up on it (each unanswered or 5xx
/// attempt waits `Retry-After`, 1 s, first).
pub const MAX_ATTEMPTS: u32 = 12;

/// How long a shopper waits for an answer: longer than a request can take with the SDK's
/// timeouts (5 s per DynamoDB operation), so a timeout here means the server really stalled.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What the shoppers were answered, counted as the answers came.
#[derive(Debug, Default)]
pub struct Tally {
    pub requests: AtomicU64,
    /// Requests that got no answer at all (a reset or timed-out connection).
    pub unanswered: AtomicU64,
    /// 5xx answers, all of them.
    pub server_errors: AtomicU64,
    /// 5xx answers that were not a 503 with `Retry-After`: an error the client cannot act on.
    pub bare_5xx: AtomicU64,
    /// Requests sent again after no answer, a 5xx or a contended 409.
    pub retries: AtomicU64,
    /// Unanswered writes found applied by reading before resending them.
    pub found_applied: AtomicU64,
}

/// An order the API acknowledged (a 201 from `POST /orders` or a checkout).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledged {
    /// Units by product, as the shopper asked for them.
    pub lines: BTreeMap<String, u64>,
    /// Whether a cancel of it was acknowledged (a 200, or found cancelled after an unanswered
    /// cancel).
    pub cancelled: bool,
}

/// A cart whose checkout was refused (out of stock): its lines must still be there.
#[derive(Debug, Clone)]
pub struct OpenCart {
    pub customer: String,
    pub cart_id: String,
    pub lines: BTreeMap<String, u64>,
}

/// What the shoppers were told, for the audit.
#[derive(Debug, Default)]
pub struct Ledger {
    pub customers: BTreeSet<String>,
    /// By order id.
    pub orders: BTreeMap<String, Acknowledged>,
    /// Orders and checkouts refused for want of stock.
    pub refused: u64,
    pub open_carts: Vec<OpenCart>,
    /// Requests that never got a definite answer in [`MAX_ATTEMPTS`].
    pub unresolved: Vec<String>,
    /// Answers a careful client has no use for (a 400, a 404): each a bug, here or in the API.
    pub unexpected: Vec<String>,
}

/// One answer: status, `Retry-After` in seconds, and the body as JSON (`Null` when it is not).
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub body: Value,
}

impl Answer {
    fn detail(&self) -> &str {
        self.body["detail"].as_str().unwrap_or_default()
    }

    /// A 409 for a contended item, whose detail asks the client to try again.
    fn contended(&self) -> bool {
        self.status == 409 && self.detail().contains("try again")
    }

    fn describe(&self) -> String {
        format!("{} {}", self.status, self.body)
    }
}

/// Whether a careful client sends the request again: no answer, a 5xx, a contended 409.
fn worth_retrying(answer: Option<&Answer>) -> bool {
    answer.is_none_or(|a| a.status >= 500 || a.contended())
}

/// The shop API at `base`, as the shoppers call it.
#[derive(Debug)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    pub tally: Tally,
}

impl Api {
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(base: &str) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(REQUEST_TIMEOUT)
                .build()?,
            base: base.trim_end_matches('/').to_owned(),
            tally: Tally::default(),
        })
    }

    /// Sends one request; `None` when no answer came.
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> Option<Answer> {
        self.tally.requests.fetch_add(1, Ordering::Relaxed);
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let Ok(response) = request.send().await else {
            self.tally.unanswered.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let Ok(bytes) = response.bytes().await else {
            self.tally.unanswered.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let answer = Answer {
            status,
            retry_after,
            body,
        };
        if status >= 500 {
            self.tally.server_errors.fetch_add(1, Ordering::Relaxed);
            if status != 503 || retry_after.is_none() {
                self.tally.bare_5xx.fetch_add(1, Ordering::Relaxed);
                tracing::error!(%method, path, answer = %answer.describe(), "a 5xx without Retry-After");
            }
        }
        Some(answer)
    }

    /// Waits before a resend: `Retry-After` when the answer gave one, else a second.
    async fn pause(&self, answer: Option<&Answer>) {
        self.tally.retries.fetch_add(1, Ordering::Relaxed);
        let secs = answer.and_then(|a| a.retry_after).unwrap_or(1);
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }

    /// Sends the request until it gets an answer a careful client does not retry; `None` when
    /// [`MAX_ATTEMPTS`] were not enough. Only for requests safe to repeat as they are: reads,
    /// and writes with an `Idempotency-Key`.
    async fn until_final(
        &self,
        method: Method,
        path: &str,
        token: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> Option<Answer> {
        for _ in 0..MAX_ATTEMPTS {
            let answer = self.send(method.clone(), path, token, key, body).await;
            if !worth_retrying(answer.as_ref()) {
                return answer;
            }
            self.pause(answer.as_ref()).await;
        }
        None
    }
}

/// One shopper's part of a run.
#[derive(Debug, Clone)]
pub struct Shopper {
    pub customer: String,
    pub token: String,
    /// How many orders and checkouts it attempts.
    pub intents: usize,
    pub seed: u64,
}

/// Some of the `products` (one or two), each with 1 to 3 units.
fn pick(rng: &mut Rng, products: &[String]) -> BTreeMap<String, u64> {
    let mut lines = BTreeMap::new();
    let wanted = 1 + rng.below(2);
    while (lines.len() as u64) < wanted.min(products.len() as u64) {
        let product = &products[rng.below(products.len() as u64) as usize];
        lines.insert(product.clone(), 1 + rng.below(3));
    }
    lines
}

fn items(lines: &BTreeMap<String, u64>) -> Value {
    Value::Array(
        lines
            .iter()
            .map(|(product, quantity)| json!({"product_id": product, "quantity": quantity}))
            .collect(),
    )
}

/// What came of one attempted order.
enum Placed {
    Acknowledged(String),
    Refused,
    Failed,
}

impl Shopper {
    /// Runs this shopper's orders and checkouts (half each, by the seed), cancelling about a
    /// third of what was acknowledged, and writes what it was told into `ledger`.
    pub async fn run(&self, api: &Api, products: &[String], ledger: &Mutex<Ledger>) {
        let mut rng = Rng::new(self.seed);
        lock(ledger).customers.insert(self.customer.clone());
        for n in 0..self.intents {
            let lines = pick(&mut rng, products);
            let placed = if rng.below(2) == 0 {
                self.order(api, n, &lines, ledger).await
            } else {
                self.checkout(api, n, &lines, ledger).await
            };
            match placed {
                Placed::Acknowledged(id) => {
                    lock(ledger).orders.insert(
                        id.clone(),
                        Acknowledged {
                            lines,
                            cancelled: false,
                        },
                    );
                    if rng.below(3) == 0
                        && self.cancel(api, &id, ledger).await
                        && let Some(order) = lock(ledger).orders.get_mut(&id)
                    {
                        order.cancelled = true;
                    }
                }
                Placed::Refused => lock(ledger).refused += 1,
                Placed::Failed => {}
            }
        }
    }

    fn unresolved(&self, ledger: &Mutex<Ledger>, what: String) -> Placed {
        lock(ledger)
            .unresolved
            .push(format!("{}: {what}", self.customer));
        Placed::Failed
    }

    fn unexpected(&self, ledger: &Mutex<Ledger>, what: String, answer: &Answer) -> Placed {
        lock(ledger)
            .unexpected
            .push(format!("{}: {what}: {}", self.customer, answer.describe()));
        Placed::Failed
    }

    /// What a final answer to a placement means: 201 placed, 409 refused for stock.
    fn placed(&self, ledger: &Mutex<Ledger>, what: String, answer: Option<Answer>) -> Placed {
        match answer {
            None => self.unresolved(ledger, what),
            Some(a) if a.status == 201 => match a.body["id"].as_str() {
                Some(id) => Placed::Acknowledged(id.to_owned()),
                None => self.unexpected(ledger, what, &a),
            },
            Some(a) if a.status == 409 => Placed::Refused,
            Some(a) => self.unexpected(ledger, what, &a),
        }
    }

    async fn order(
        &self,
        api: &Api,
        n: usize,
        lines: &BTreeMap<String, u64>,
        ledger: &Mutex<Ledger>,
    ) -> Placed {
        let key = format!("{}-order-{n}", self.customer);
        let body = json!({"customer_id": self.customer, "items": items(lines)});
        let answer = api
            .until_final(
                Method::POST,
                "/orders",
                &self.token,
                Some(&key),
                Some(&body),
            )
            .await;
        self.placed(ledger, format!("POST /orders {key}"), answer)
    }

    async fn checkout(
        &self,
        api: &Api,
        n: usize,
        lines: &BTreeMap<String, u64>,
        ledger: &Mutex<Ledger>,
    ) -> Placed {
        let cart_id = format!("{}-cart-{n}", self.customer);
        for (product, quantity) in lines {
            if let Err(placed) = self.add(api, &cart_id, product, *quantity, ledger).await {
                return placed;
            }
        }
        let path = format!("/carts/{cart_id}/checkout");
        let answer = api
            .until_final(Method::POST, &path, &self.token, Some(&cart_id), None)
            .await;
        let placed = self.placed(ledger, format!("POST {path}"), answer);
        if matches!(placed, Placed::Refused) {
            lock(ledger).open_carts.push(OpenCart {
                customer: self.customer.clone(),
                cart_id,
                lines: lines.clone(),
            });
        }
        placed
    }

    /// Adds `quantity` of `product` to a cart that has none of it, once: after an unanswered
    /// add, the cart is read, and the add sent again only when the line is not there.
    async fn add(
        &self,
        api: &Api,
        cart_id: &str,
        product: &str,
        quantity: u64,
        ledger: &Mutex<Ledger>,
    ) -> Result<(), Placed> {
        let path = format!("/carts/{cart_id}/items");
        let body = json!({"product_id": product, "quantity": quantity});
        let what = format!("POST {path} {product}");
        for _ in 0..MAX_ATTEMPTS {
            let answer = api
                .send(Method::POST, &path, &self.token, None, Some(&body))
                .await;
            match &answer {
                Some(a) if a.status == 200 => return Ok(()),
                _ if worth_retrying(answer.as_ref()) => {}
                Some(a) => return Err(self.unexpected(ledger, what, a)),
                None => {}
            }
            api.pause(answer.as_ref()).await;
            let cart = format!("/carts/{cart_id}");
            let Some(read) = api
                .until_final(Method::GET, &cart, &self.token, None, None)
                .await
            else {
                return Err(self.unresolved(ledger, format!("GET {cart}")));
            };
            let line = read.body["items"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|l| l["product_id"] == product)
                .and_then(|l| l["quantity"].as_u64());
            match (read.status, line) {
                (200, Some(q)) if q == quantity => {
                    api.tally.found_applied.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                (200, None) | (404, _) => {}
                _ => return Err(self.unexpected(ledger, format!("GET {cart}"), &read)),
            }
        }
        Err(self.unresolved(ledger, what))
    }

    /// Cancels order `id`; whether the cancel was acknowledged. After an unanswered cancel, a
    /// 409 (the order is no longer confirmed) is checked by reading the order.
    async fn cancel(&self, api: &Api, id: &str, ledger: &Mutex<Ledger>) -> bool {
        let path = format!("/orders/{id}/cancel");
        let mut resent = false;
        for _ in 0..MAX_ATTEMPTS {
            let answer = api.send(Method::POST, &path, &self.token, None, None).await;
            match &answer {
                Some(a) if a.status == 200 => return true,
                _ if worth_retrying(answer.as_ref()) => {}
                Some(a) if a.status == 409 && resent => {
                    let order = format!("/orders/{id}");
                    let Some(read) = api
                        .until_final(Method::GET, &order, &self.token, None, None)
                        .await
                    else {
                        self.unresolved(ledger, format!("GET {order}"));
                        return false;
                    };
                    if read.status == 200 && read.body["status"] == "cancelled" {
                        api.tally.found_applied.fetch_add(1, Ordering::Relaxed);
                        return true;
                    }
                    self.unexpected(ledger, format!("GET {order}"), &read);
                    return false;
                }
                Some(a) => {
                    self.unexpected(ledger, format!("POST {path}"), a);
                    return false;
                }
                None => {}
            }
            resent = true;
            api.pause(answer.as_ref()).await;
        }
        self.unresolved(ledger, format!("POST {path}"));
        false
    }
}

/// The ledger, whatever a panicking shopper left it as (the audit reports what it holds).
pub fn lock(ledger: &Mutex<Ledger>) -> std::sync::MutexGuard<'_, Ledger> {
    ledger
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
