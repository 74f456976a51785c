//! Test support for the dev server's HTTP tests: a server on a real socket and the checks every
//! problem response must pass. Shared by every test module of this binary.

use std::collections::BTreeMap;
use std::sync::Arc;

use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use stockroom_domain::notifications::Delivery;
use stockroom_domain::orders::{OrderId, OrderStatus};
use stockroom_domain::timestamp;
use stockroom_local::auth::SigningKeyPair;
use stockroom_local::server::{App, serve};
use stockroom_notifications::notifier::RecordingNotifier;
use stockroom_store::Store;
use stockroom_store::sqlite::SqliteStore;
use stockroom_store::testing::{self, workspace};

pub struct Server {
    pub base: String,
    /// A client that sends [`Server::token`] with every request.
    pub http: Client,
    /// A client that sends no token: [`Server::as_token`] adds its own.
    pub plain: Client,
    /// The key the server's authorizer trusts: [`Server::token`] signs with it.
    pub keys: SigningKeyPair,
    /// The bearer token `get`, `post` and the rest send: an administrator's (`ops`), so a test
    /// about something else reaches every route; [`Server::as_token`] sends another.
    pub token: Option<String>,
    /// The stream consumers' feed readers, as `cargo dev` runs them.
    pub feed: Option<stockroom_local::feed::Readers>,
}

impl Server {
    /// A dev server on a free port over a new in-memory store, as `cargo dev` serves it.
    pub async fn start() -> Self {
        Self::with_store(Store::embedded(SqliteStore::in_memory().unwrap())).await
    }

    /// A dev server over `store`.
    pub async fn with_store(store: Store) -> Self {
        let routes = stockroom_local::template::load(&workspace().join("template.yaml")).unwrap();
        let openapi = std::fs::read_to_string(workspace().join("openapi.yaml")).unwrap();
        let keys = test_keys();
        let app = Arc::new(App::new(routes, store.clone(), openapi, &keys).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let feed =
            stockroom_local::feed::start(&workspace().join("template.yaml"), &store).unwrap();
        tokio::spawn(serve(listener, app, std::future::pending()));
        let admin = token(&keys, ADMIN, true);
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {admin}").parse().unwrap(),
        );
        let http = Client::builder().default_headers(headers).build().unwrap();
        let token = Some(admin);
        Self {
            base,
            http,
            plain: Client::new(),
            keys,
            token,
            feed: Some(feed),
        }
    }

    /// The same server, sending `token` (none for `None`) instead.
    pub fn as_token(&self, token: Option<String>) -> As<'_> {
        As {
            server: self,
            token,
        }
    }

    /// The same server as customer `sub` (an administrator too with `admin`).
    pub fn as_customer(&self, sub: &str, admin: bool) -> As<'_> {
        self.as_token(Some(token(&self.keys, sub, admin)))
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// Stops the feed readers wherever they are, as killing `cargo dev` would.
    pub fn stop_feed(&mut self) {
        if let Some(feed) = self.feed.take() {
            feed.stop();
        }
    }

    /// A dev server with these `(sku, price, currency, units available)` products.
    pub async fn with_products(products: &[(&str, i64, &str, Option<u64>)]) -> Self {
        let s = Self::start().await;
        for (sku, price, currency, units) in products {
            s.add_product(sku, *price, currency, *units).await;
        }
        s
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The server as its default caller, the administrator of [`Server::token`].
    fn admin(&self) -> As<'_> {
        self.as_token(self.token.clone())
    }

    pub async fn get(&self, path: &str) -> Response {
        self.admin().get(path).await
    }

    pub async fn send_json(&self, method: reqwest::Method, path: &str, body: &Value) -> Response {
        self.admin().send_json(method, path, body).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.admin().delete(path).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.admin().post(path, body).await
    }

    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.request(method, path)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Adds `sku` to the catalog at `price` in `currency` and, when `units` is given, sets that
    /// many available, through the API.
    pub async fn add_product(&self, sku: &str, price: i64, currency: &str, units: Option<u64>) {
        let created = self
            .post(
                "/products",
                &serde_json::json!({"id": sku, "name": format!("Name of {sku}"), "price": price, "currency": currency}),
            )
            .await;
        assert_eq!(created.status(), StatusCode::CREATED);
        if let Some(units) = units {
            let set = self
                .send_json(
                    reqwest::Method::PUT,
                    &format!("/stock/{sku}"),
                    &serde_json::json!({"available": units}),
                )
                .await;
            assert_eq!(set.status(), StatusCode::OK);
        }
    }

    /// `(available, reserved)` of `sku`, read through the API.
    pub async fn counts(&self, sku: &str) -> (u64, u64) {
        let response = self.get(&format!("/stock/{sku}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let level: Value = response.json().await.unwrap();
        (
            level["available"].as_u64().unwrap(),
            level["reserved"].as_u64().unwrap(),
        )
    }

    /// Every product, in order, read through the API: what "nothing changed" is checked against.
    pub async fn catalog(&self) -> Value {
        self.get("/products?limit=100").await.json().await.unwrap()
    }
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (60 s at most) until something listens on `port`.
pub async fn wait_for_port(port: u16) {
    for _ in 0..600 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("nothing listens on port {port}");
}

/// The administrator every test server's default token is for.
pub const ADMIN: &str = "ops";

/// One signing key for every server of a test binary: generating one per server is wasted time.
pub fn test_keys() -> SigningKeyPair {
    static KEYS: std::sync::OnceLock<SigningKeyPair> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| SigningKeyPair::generate().unwrap())
        .clone()
}

/// A token of `keys` for `sub`, valid for an hour.
pub fn token(keys: &SigningKeyPair, sub: &str, admin: bool) -> String {
    keys.token(sub, admin, timestamp::now().timestamp(), 3600)
}

/// A server seen with another token.
pub struct As<'a> {
    pub server: &'a Server,
    pub token: Option<String>,
}

impl As<'_> {
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let builder = self.server.plain.request(method, self.server.url(path));
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(reqwest::Method::GET, path)
            .send()
            .await
            .unwrap()
    }

    pub async fn send_json(&self, method: reqwest::Method, path: &str, body: &Value) -> Response {
        self.request(method, path).json(body).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.send_json(reqwest::Method::POST, path, body).await
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.request(reqwest::Method::DELETE, path)
            .send()
            .await
            .unwrap()
    }
}

/// Asserts `response` is a problem with `status`, and returns its body.
pub async fn problem(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    for key in ["type", "title", "detail"] {
        assert!(body[key].is_string(), "problem without {key}: {body}");
    }
    body
}

pub fn fields(problem: &Value) -> Vec<&str> {
    problem["errors"].as_array().map_or_else(Vec::new, |e| {
        e.iter().map(|e| e["field"].as_str().unwrap()).collect()
    })
}

/// A small shop's history in `store`, through its ports: `sku-kettle` at 12 available and
/// `sku-mug` at 40, an order of each `(sku, quantity)` (each with its own Idempotency-Key, so
/// the orders stream carries key records too), the second-to-last shipped and the last
/// cancelled. Returns the orders' ids in order.
pub async fn shop(store: &Store, orders: &[(&str, i64)]) -> Vec<OrderId> {
    testing::stocked(store, &[("sku-kettle", 12), ("sku-mug", 40)]).await;
    let mut ids = Vec::new();
    for (sku, quantity) in orders {
        let key = format!("key-{sku}-{quantity}");
        let order = testing::place(store, "cust-1", &[(sku, *quantity)], Some(&key)).await;
        ids.push(order.id);
    }
    let port = store.orders().unwrap();
    let [.., shipped, cancelled] = ids.as_slice() else {
        panic!("a shop needs two orders at least");
    };
    for (id, to) in [
        (shipped, OrderStatus::Shipped),
        (cancelled, OrderStatus::Cancelled),
    ] {
        port.change_status(id, to, timestamp::now()).await.unwrap();
    }
    ids
}

/// The order notifications [`shop`]'s orders deserve, sorted: a confirmation each, the
/// shipment of the second-to-last, the cancellation of the last.
pub fn shop_notifications(orders: &[OrderId]) -> Vec<String> {
    let [.., shipped, cancelled] = orders else {
        panic!("a shop has two orders at least");
    };
    let mut ids: Vec<String> = orders
        .iter()
        .map(|o| format!("order_confirmation:{o}"))
        .chain([
            format!("order_shipped:{shipped}"),
            format!("order_cancelled:{cancelled}"),
        ])
        .collect();
    ids.sort();
    ids
}

/// Asserts that both stream consumers handled [`shop`]'s history: its order notifications and
/// the one `low_stock` of the kettles' fall below 10 are recorded, sent, each exactly once.
pub async fn assert_shop_sent_once(
    store: &Store,
    notifier: &RecordingNotifier,
    orders: &[OrderId],
) {
    let low_stock: Vec<String> = recorded(store)
        .await
        .into_keys()
        .filter(|id| id.starts_with("low_stock:sku-kettle:"))
        .collect();
    assert_eq!(low_stock.len(), 1, "one fall below 10: {low_stock:?}");
    let mut expected = shop_notifications(orders);
    expected.extend(low_stock);
    expected.sort();
    assert_sent_once(store, notifier, &expected).await;
}

/// Every recorded notification: `id -> status`.
pub async fn recorded(store: &Store) -> BTreeMap<String, Delivery> {
    stockroom_store::testing::recorded(store).await.unwrap()
}

/// Asserts that exactly `expected` (sorted) are recorded, each `sent`, and that `notifier` sent
/// each exactly once.
pub async fn assert_sent_once(store: &Store, notifier: &RecordingNotifier, expected: &[String]) {
    let recorded = recorded(store).await;
    assert_eq!(recorded.keys().cloned().collect::<Vec<_>>(), expected);
    assert!(
        recorded.values().all(|s| *s == Delivery::Sent),
        "{recorded:?}"
    );
    let sends = notifier.sends();
    assert_eq!(sends.keys().cloned().collect::<Vec<_>>(), expected);
    assert!(sends.values().all(|n| *n == 1), "each sent once: {sends:?}");
}
