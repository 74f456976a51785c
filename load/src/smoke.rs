//! `scripts/smoke BASE_URL`: the README's flows, once each, against any Stockroom API (a
//! deployed stage or `cargo dev`), as a check after a deploy. Catalog (create, read, reprice,
//! price history), stock (set, read), an order sent twice with one `Idempotency-Key` (one order,
//! stock moved once), a cart and its checkout, a cancel, the notifications the stream consumers
//! send for them, and the errors a client meets (no token, an unknown product). It works under a
//! run prefix (`smoke-<ulid>`), removes what it made, and ends with one verdict line.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::api::Tokens;

/// How long the notifications of the run's orders may take to be sent (the stream consumers
/// run after the write, in AWS within seconds).
pub const NOTIFICATION_WAIT: Duration = Duration::from_secs(60);

/// What the smoke test found: each check, passed or failed, in order.
#[derive(Debug, Default)]
pub struct Verdict {
    pub base: String,
    pub checks: Vec<(bool, String)>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|(ok, _)| *ok)
    }

    fn check(&mut self, ok: bool, what: impl Into<String>) -> bool {
        self.checks.push((ok, what.into()));
        ok
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (ok, what) in &self.checks {
            // A passed check's answer, cut short; a failed one's whole.
            let shown = if *ok {
                what.get(..what.floor_char_boundary(140)).unwrap_or(what)
            } else {
                what
            };
            writeln!(f, "  {}  {shown}", if *ok { "ok    " } else { "FAILED" })?;
        }
        let failed = self.checks.iter().filter(|(ok, _)| !ok).count();
        if failed == 0 {
            write!(
                f,
                "smoke: passed ({} checks) against {}",
                self.checks.len(),
                self.base
            )
        } else {
            write!(
                f,
                "smoke: FAILED ({failed} of {} checks) against {}",
                self.checks.len(),
                self.base
            )
        }
    }
}

/// One answer: status, headers, body as JSON (`Null` when it is not JSON).
struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn is_problem(&self) -> bool {
        self.header("content-type")
            .is_some_and(|t| t.starts_with("application/problem+json"))
    }

    fn describe(&self) -> String {
        let body = self.body.to_string();
        let body = body.get(..200).unwrap_or(&body);
        format!("{} {body}", self.status.as_u16())
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<Answer> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {path}: no answer"))?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.context("the body")?;
        Ok(Answer {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        })
    }
}

/// Checks that `product`'s stock is `(available, reserved)`, said as `what`.
///
/// # Errors
/// When the level cannot be read (later checks depend on it).
async fn check_stock(
    client: &Client,
    verdict: &mut Verdict,
    admin: &str,
    product: &str,
    (available, reserved): (i64, i64),
    what: &str,
) -> anyhow::Result<()> {
    let answer = client
        .send(
            Method::GET,
            &format!("/stock/{product}"),
            Some(admin),
            None,
            None,
        )
        .await?;
    if answer.status != StatusCode::OK {
        bail!("GET /stock/{product}: {}", answer.describe());
    }
    let level = (
        answer.body["available"].as_i64().unwrap_or(-1),
        answer.body["reserved"].as_i64().unwrap_or(-1),
    );
    verdict.check(
        level == (available, reserved),
        format!("{what}: {available} available, {reserved} reserved ({level:?})"),
    );
    Ok(())
}

/// Runs the smoke test against `base` with `tokens`; the verdict, whatever failed. An `Err`
/// only when the API cannot be reached at all.
///
/// # Errors
/// When the HTTP client cannot be built or `GET /health` gets no answer.
pub async fn smoke(base: &str, tokens: &Tokens) -> anyhow::Result<Verdict> {
    let client = Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?,
        base: base.trim_end_matches('/').to_owned(),
    };
    let mut verdict = Verdict {
        base: client.base.clone(),
        ..Verdict::default()
    };
    let prefix = format!(
        "smoke-{}",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    );
    let product = format!("{prefix}-mug");
    let admin = tokens.admin();
    let customer = tokens.customer_id(format!("{prefix}-ada"));
    let shopper = tokens.customer(&customer);

    let health = client
        .send(Method::GET, "/health", None, None, None)
        .await?;
    verdict.check(
        health.status == StatusCode::OK,
        format!("GET /health: 200 ({})", health.describe()),
    );

    let made = flows(&client, &mut verdict, &admin, &shopper, &customer, &product).await;
    if let Err(err) = &made {
        verdict.check(false, format!("could not go on: {err:#}"));
    }
    clean_up(
        &client,
        &mut verdict,
        &admin,
        &product,
        made.unwrap_or_default(),
    )
    .await;
    Ok(verdict)
}

/// The flows; the order ids placed, for the clean-up. A failed step that later steps depend on
/// ends them (`Err`); the others are recorded and the flow goes on.
async fn flows(
    client: &Client,
    verdict: &mut Verdict,
    admin: &str,
    shopper: &str,
    customer: &str,
    product: &str,
) -> anyhow::Result<Vec<String>> {
    let mut orders = Vec::new();
    // Catalog.
    let created = client
        .send(
            Method::POST,
            "/products",
            Some(admin),
            None,
            Some(&json!({"id": product, "name": "Smoke mug", "price": 1250, "category": "smoke"})),
        )
        .await?;
    if !verdict.check(
        created.status == StatusCode::CREATED,
        format!(
            "POST /products as an administrator: 201 ({})",
            created.describe()
        ),
    ) {
        bail!("the product was not created");
    }
    let read = client
        .send(
            Method::GET,
            &format!("/products/{product}"),
            None,
            None,
            None,
        )
        .await?;
    verdict.check(
        read.status == StatusCode::OK && read.body["price"] == 1250,
        format!(
            "GET /products/{{id}} without a token: 200, price 1250 ({})",
            read.describe()
        ),
    );
    let repriced = client
        .send(
            Method::PUT,
            &format!("/products/{product}"),
            Some(admin),
            None,
            Some(&json!({"name": "Smoke mug", "price": 990, "category": "smoke"})),
        )
        .await?;
    verdict.check(
        repriced.status == StatusCode::OK && repriced.body["price"] == 990,
        format!(
            "PUT /products/{{id}}: 200, price 990 ({})",
            repriced.describe()
        ),
    );
    let prices = client
        .send(
            Method::GET,
            &format!("/products/{product}/prices"),
            None,
            None,
            None,
        )
        .await?;
    verdict.check(
        prices.status == StatusCode::OK,
        format!("GET /products/{{id}}/prices: 200 ({})", prices.describe()),
    );

    // Stock.
    let set = client
        .send(
            Method::PUT,
            &format!("/stock/{product}"),
            Some(admin),
            None,
            Some(&json!({"available": 10})),
        )
        .await?;
    if !verdict.check(
        set.status == StatusCode::OK,
        format!("PUT /stock/{{id}} 10 available: 200 ({})", set.describe()),
    ) {
        bail!("the stock was not set");
    }
    check_stock(client, verdict, admin, product, (10, 0), "GET /stock/{id}").await?;

    // An order, and its retry with the same key.
    let key = format!("{product}-order");
    let body = json!({"items": [{"product_id": product, "quantity": 2}]});
    let first = client
        .send(
            Method::POST,
            "/orders",
            Some(shopper),
            Some(&key),
            Some(&body),
        )
        .await?;
    if !verdict.check(
        first.status == StatusCode::CREATED && first.body["status"] == "confirmed",
        format!(
            "POST /orders, 2 units: 201 confirmed ({})",
            first.describe()
        ),
    ) {
        bail!("the order was not placed");
    }
    let order_id = first.body["id"].as_str().unwrap_or_default().to_owned();
    orders.push(order_id.clone());
    let again = client
        .send(
            Method::POST,
            "/orders",
            Some(shopper),
            Some(&key),
            Some(&body),
        )
        .await?;
    verdict.check(
        again.status == StatusCode::CREATED
            && again.body["id"] == order_id.as_str()
            && again.header("idempotent-replayed") == Some("true"),
        format!(
            "POST /orders again with its Idempotency-Key: the same order, Idempotent-Replayed: true ({})",
            again.describe()
        ),
    );
    check_stock(client, verdict, admin, product, (8, 2), "stock moved once").await?;
    let mine = client
        .send(
            Method::GET,
            &format!("/orders/{order_id}"),
            Some(shopper),
            None,
            None,
        )
        .await?;
    verdict.check(
        mine.status == StatusCode::OK && mine.body["customer_id"] == customer,
        format!(
            "GET /orders/{{id}} as its customer: 200 ({})",
            mine.describe()
        ),
    );

    // A cart and its checkout.
    let cart = format!("{product}-cart");
    let added = client
        .send(
            Method::POST,
            &format!("/carts/{cart}/items"),
            Some(shopper),
            None,
            Some(&json!({"product_id": product, "quantity": 1})),
        )
        .await?;
    verdict.check(
        added.status == StatusCode::OK && added.body["items"][0]["quantity"] == 1,
        format!(
            "POST /carts/{{id}}/items, 1 unit: 200 ({})",
            added.describe()
        ),
    );
    let checkout = client
        .send(
            Method::POST,
            &format!("/carts/{cart}/checkout"),
            Some(shopper),
            Some(&format!("{cart}-checkout")),
            None,
        )
        .await?;
    if verdict.check(
        checkout.status == StatusCode::CREATED && checkout.body["status"] == "confirmed",
        format!(
            "POST /carts/{{id}}/checkout: 201 confirmed ({})",
            checkout.describe()
        ),
    ) {
        orders.push(checkout.body["id"].as_str().unwrap_or_default().to_owned());
    }
    check_stock(
        client,
        verdict,
        admin,
        product,
        (7, 3),
        "after the checkout",
    )
    .await?;

    // A cancel.
    let cancelled = client
        .send(
            Method::POST,
            &format!("/orders/{order_id}/cancel"),
            Some(shopper),
            None,
            None,
        )
        .await?;
    verdict.check(
        cancelled.status == StatusCode::OK && cancelled.body["status"] == "cancelled",
        format!(
            "POST /orders/{{id}}/cancel: 200 cancelled ({})",
            cancelled.describe()
        ),
    );
    check_stock(client, verdict, admin, product, (9, 1), "units back").await?;

    // The errors a client meets.
    let anonymous = client
        .send(Method::POST, "/orders", None, None, Some(&body))
        .await?;
    verdict.check(
        anonymous.status == StatusCode::UNAUTHORIZED,
        format!(
            "POST /orders without a token: 401 ({})",
            anonymous.describe()
        ),
    );
    let unknown = client
        .send(
            Method::POST,
            "/orders",
            Some(shopper),
            None,
            Some(&json!({"items": [{"product_id": format!("{product}-none"), "quantity": 1}]})),
        )
        .await?;
    verdict.check(
        unknown.status == StatusCode::NOT_FOUND && unknown.is_problem(),
        format!(
            "POST /orders of an unknown product: 404 problem+json ({})",
            unknown.describe()
        ),
    );

    // The notifications the stream consumers send for them.
    let wanted = [
        format!("order_confirmation:{order_id}"),
        format!("order_cancelled:{order_id}"),
    ];
    let started = Instant::now();
    let mut seen = Vec::new();
    while started.elapsed() < NOTIFICATION_WAIT {
        let page = client
            .send(
                Method::GET,
                &format!("/notifications?order_id={order_id}"),
                Some(admin),
                None,
                None,
            )
            .await?;
        seen = page.body["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|n| n["status"] == "sent")
            .filter_map(|n| n["id"].as_str().map(str::to_owned))
            .collect();
        if wanted.iter().all(|w| seen.contains(w)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    verdict.check(
        wanted.iter().all(|w| seen.contains(w)),
        format!(
            "GET /notifications?order_id=: the order's confirmation and cancellation sent within {}s ({seen:?})",
            NOTIFICATION_WAIT.as_secs()
        ),
    );
    Ok(orders)
}

/// Cancels what is still confirmed, then removes the stock level and the product.
async fn clean_up(
    client: &Client,
    verdict: &mut Verdict,
    admin: &str,
    product: &str,
    orders: Vec<String>,
) {
    let mut left = Vec::new();
    for order in orders {
        let cancel = client
            .send(
                Method::POST,
                &format!("/orders/{order}/cancel"),
                Some(admin),
                None,
                None,
            )
            .await;
        // 409: cancelled already.
        if !matches!(&cancel, Ok(a) if a.status == StatusCode::OK || a.status == StatusCode::CONFLICT)
        {
            left.push(format!("order {order}"));
        }
    }
    for path in [format!("/stock/{product}"), format!("/products/{product}")] {
        let removed = client
            .send(Method::DELETE, &path, Some(admin), None, None)
            .await;
        // 404: never made.
        if !matches!(&removed, Ok(a) if a.status.is_success() || a.status == StatusCode::NOT_FOUND)
        {
            left.push(path);
        }
    }
    verdict.check(
        left.is_empty(),
        format!("clean-up: orders cancelled, stock level and product deleted (left: {left:?})"),
    );
}
