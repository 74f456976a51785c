//! The shop API as the load generator prepares and audits through it (plain reqwest, outside
//! Goose's metrics), and the tokens it calls with.

use std::path::Path;

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use stockroom_local::auth::SigningKeyPair;

/// How long the run's tokens last: longer than any run.
const TOKEN_TTL_SECS: i64 = 6 * 3600;

/// Tokens signed by a dev data directory's key, which `cargo dev` on that directory trusts.
#[derive(Debug)]
pub struct Tokens {
    key: SigningKeyPair,
    now: i64,
}

impl Tokens {
    pub fn of_data_dir(data_dir: &Path) -> anyhow::Result<Self> {
        let key = SigningKeyPair::load_or_create(data_dir)
            .with_context(|| format!("no signing key in {}", data_dir.display()))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs()
            .try_into()?;
        Ok(Self { key, now })
    }

    pub fn admin(&self) -> String {
        self.key.token("load-admin", true, self.now, TOKEN_TTL_SECS)
    }

    pub fn customer(&self, sub: &str) -> String {
        self.key.token(sub, false, self.now, TOKEN_TTL_SECS)
    }
}

/// The API at `base`, called as the administrator.
#[derive(Debug)]
pub struct Api {
    base: String,
    http: reqwest::Client,
    admin: String,
}

impl Api {
    pub fn new(base: &str, admin: String) -> Self {
        Self {
            base: base.to_owned(),
            http: reqwest::Client::new(),
            admin,
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {path}: no answer from {}", self.base))?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, body))
    }

    /// Creates product `id` with `units` available; fails unless both writes succeed.
    pub async fn stocked_product(&self, id: &str, units: u64) -> anyhow::Result<()> {
        let product = json!({
            "id": id,
            "name": format!("Load test product {id}"),
            "price": 1000,
            "currency": "USD",
            "category": "load",
        });
        let (status, body) = self
            .send(
                reqwest::Method::POST,
                "/products",
                &self.admin,
                Some(product),
            )
            .await?;
        if status != 201 {
            bail!("POST /products for {id}: {status} {body}");
        }
        self.set_available(id, units).await
    }

    /// Sets product `id`'s available units, as an administrator may at any time.
    pub async fn set_available(&self, id: &str, units: u64) -> anyhow::Result<()> {
        let (status, body) = self
            .send(
                reqwest::Method::PUT,
                &format!("/stock/{id}"),
                &self.admin,
                Some(json!({ "available": units })),
            )
            .await?;
        if !(200..300).contains(&status) {
            bail!("PUT /stock/{id}: {status} {body}");
        }
        Ok(())
    }

    /// `(available, reserved)` of product `id`'s level.
    pub async fn stock(&self, id: &str) -> anyhow::Result<(i64, i64)> {
        let (status, body) = self
            .send(
                reqwest::Method::GET,
                &format!("/stock/{id}"),
                &self.admin,
                None,
            )
            .await?;
        if status != 200 {
            bail!("GET /stock/{id}: {status} {body}");
        }
        let field = |name: &str| {
            body[name]
                .as_i64()
                .with_context(|| format!("GET /stock/{id}: no whole `{name}` in {body}"))
        };
        Ok((field("available")?, field("reserved")?))
    }

    /// The status `GET /orders/{id}` answers `token`'s holder with.
    pub async fn order_status(&self, id: &str, token: &str) -> anyhow::Result<u16> {
        Ok(self
            .send(reqwest::Method::GET, &format!("/orders/{id}"), token, None)
            .await?
            .0)
    }
}
