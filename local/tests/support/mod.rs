//! Test support for the dev server's HTTP tests: a server on a real socket and the checks every
//! problem response must pass. Shared by every test file here (`mod support;`).

#![allow(dead_code)] // Each test file uses the part it needs.

use std::sync::Arc;

use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use stockroom_local::server::{App, serve};
use stockroom_store::Store;
use stockroom_store::sqlite::SqliteStore;
use stockroom_store::testing::workspace;

pub struct Server {
    pub base: String,
    pub http: Client,
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
        let app = Arc::new(App::new(routes, store.clone(), openapi).unwrap());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let feed =
            stockroom_local::feed::start(&workspace().join("template.yaml"), &store).unwrap();
        tokio::spawn(serve(listener, app, std::future::pending()));
        Self {
            base,
            http: Client::new(),
            feed: Some(feed),
        }
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

    pub async fn get(&self, path: &str) -> Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    pub async fn send_json(&self, method: reqwest::Method, path: &str, body: &Value) -> Response {
        self.http
            .request(method, self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete(&self, path: &str) -> Response {
        self.http.delete(self.url(path)).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.send_json(reqwest::Method::POST, path, body).await
    }

    pub async fn raw(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.http
            .request(method, self.url(path))
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
