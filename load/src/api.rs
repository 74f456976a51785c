//! The shop API as the load generator prepares and audits through it (plain reqwest, outside
//! Goose's metrics), and the tokens it calls with.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use serde_json::{Value, json};
use stockroom_local::auth::SigningKeyPair;

use crate::args::Args;

/// How long the run's tokens last: longer than any run.
const TOKEN_TTL_SECS: i64 = 6 * 3600;

/// How many requests preparing or auditing a run keeps in flight at once.
pub const IN_FLIGHT: usize = 16;

/// The tokens a run calls with.
#[derive(Debug, Clone)]
pub enum Tokens {
    /// Signed by a dev data directory's key, which `cargo dev` on that directory trusts: any
    /// customer, and an administrator.
    Minted { key: Arc<SigningKeyPair>, now: i64 },
    /// One token given for a deployed API, in the admin group: every shopper is its `sub`.
    Given { token: String, sub: String },
}

impl Tokens {
    /// `--token`, else the output of `--token-command`, else minted from `--data-dir`.
    pub fn of_args(args: &Args) -> anyhow::Result<Self> {
        if let Some(token) = &args.token {
            return Self::given(token.trim());
        }
        if let Some(command) = &args.token_command {
            let output = std::process::Command::new("sh")
                .arg("-c")
                .arg(command)
                .stderr(std::process::Stdio::inherit())
                .output()
                .with_context(|| format!("--token-command {command:?} could not be run"))?;
            if !output.status.success() {
                bail!("--token-command {command:?} failed: {}", output.status);
            }
            return Self::given(String::from_utf8(output.stdout)?.trim());
        }
        Self::of_data_dir(&args.data_dir)
    }

    pub fn of_data_dir(data_dir: &Path) -> anyhow::Result<Self> {
        let key = SigningKeyPair::load_or_create(data_dir)
            .with_context(|| format!("no signing key in {}", data_dir.display()))?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs()
            .try_into()?;
        Ok(Self::Minted {
            key: Arc::new(key),
            now,
        })
    }

    /// A bearer token as given, with its `sub` read from its payload (not verified: the API
    /// verifies it).
    pub fn given(token: &str) -> anyhow::Result<Self> {
        let payload = token
            .split('.')
            .nth(1)
            .context("the token is not a JWT (no payload)")?;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload.trim_end_matches('='))
            .context("the token's payload is not base64url")?;
        let claims: Value =
            serde_json::from_slice(&payload).context("the token's payload is not JSON")?;
        let sub = claims["sub"]
            .as_str()
            .context("the token has no `sub`")?
            .to_owned();
        Ok(Self::Given {
            token: token.to_owned(),
            sub,
        })
    }

    pub fn admin(&self) -> String {
        match self {
            Self::Minted { key, now } => key.token("load-admin", true, *now, TOKEN_TTL_SECS),
            Self::Given { token, .. } => token.clone(),
        }
    }

    /// The customer id a shopper who would be `wanted` is: `wanted` with minted tokens, the
    /// given token's `sub` otherwise.
    pub fn customer_id(&self, wanted: String) -> String {
        match self {
            Self::Minted { .. } => wanted,
            Self::Given { sub, .. } => sub.clone(),
        }
    }

    /// A token of customer `sub` (a [`Self::customer_id`]).
    pub fn customer(&self, sub: &str) -> String {
        match self {
            Self::Minted { key, now } => key.token(sub, false, *now, TOKEN_TTL_SECS),
            Self::Given { token, .. } => token.clone(),
        }
    }
}

/// Runs `f` over `items`, at most `width` at a time; the results in the items' order.
pub async fn concurrently<T, R, F, Fut>(items: Vec<T>, width: usize, f: F) -> anyhow::Result<Vec<R>>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<R>> + Send + 'static,
{
    let f = Arc::new(f);
    let permits = Arc::new(tokio::sync::Semaphore::new(width.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let count = items.len();
    for (index, item) in items.into_iter().enumerate() {
        let f = Arc::clone(&f);
        let permits = Arc::clone(&permits);
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await?;
            Ok::<_, anyhow::Error>((index, f(item).await?))
        });
    }
    let mut results: Vec<Option<R>> = std::iter::repeat_with(|| None).take(count).collect();
    while let Some(done) = tasks.join_next().await {
        let (index, result) = done??;
        results[index] = Some(result);
    }
    results
        .into_iter()
        .map(|r| r.context("a task ended without its result"))
        .collect()
}

/// The API at `base`, called as the administrator.
#[derive(Debug, Clone)]
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

    /// Creates product `id` with `units` available (split over `shards` when given); fails
    /// unless both writes succeed.
    pub async fn stocked_product(
        &self,
        id: &str,
        units: u64,
        shards: Option<u32>,
    ) -> anyhow::Result<()> {
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
        self.set_stock(id, units, shards).await
    }

    /// [`Self::stocked_product`] for each of `ids`, [`IN_FLIGHT`] at a time.
    pub async fn stocked_products(
        &self,
        ids: &[String],
        units: u64,
        shards: Option<u32>,
    ) -> anyhow::Result<()> {
        let api = self.clone();
        concurrently(ids.to_vec(), IN_FLIGHT, move |id| {
            let api = api.clone();
            async move { api.stocked_product(&id, units, shards).await }
        })
        .await?;
        Ok(())
    }

    /// Sets product `id`'s available units, as an administrator may at any time (its level
    /// keeps the shards it has).
    pub async fn set_available(&self, id: &str, units: u64) -> anyhow::Result<()> {
        self.set_stock(id, units, None).await
    }

    /// Sets product `id`'s available units, split over `shards` when given.
    pub async fn set_stock(&self, id: &str, units: u64, shards: Option<u32>) -> anyhow::Result<()> {
        let mut level = json!({ "available": units });
        if let Some(shards) = shards {
            level["shards"] = json!(shards);
        }
        let (status, body) = self
            .send(
                reqwest::Method::PUT,
                &format!("/stock/{id}"),
                &self.admin,
                Some(level),
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

    /// The status and body `GET /orders/{id}` answers `token`'s holder with.
    pub async fn order(&self, id: &str, token: &str) -> anyhow::Result<(u16, Value)> {
        self.send(reqwest::Method::GET, &format!("/orders/{id}"), token, None)
            .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A test that cannot unwrap has failed; the panic says where.

    use super::*;

    fn jwt(payload: &str) -> String {
        let part = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", part(r#"{"alg":"RS256"}"#), part(payload))
    }

    #[test]
    fn a_given_token_is_every_shopper_and_the_administrator() {
        let token = jwt(r#"{"sub":"0b3f-cognito-user","cognito:groups":["admin"]}"#);
        let tokens = Tokens::given(&token).unwrap();
        assert_eq!(
            tokens.customer_id(String::from("load-x-c1")),
            "0b3f-cognito-user"
        );
        assert_eq!(tokens.customer("0b3f-cognito-user"), token);
        assert_eq!(tokens.admin(), token);
        let err = Tokens::given("not-a-jwt").unwrap_err();
        assert!(err.to_string().contains("not a JWT"), "{err}");
        let err = Tokens::given(&jwt(r#"{"aud":"x"}"#)).unwrap_err();
        assert!(err.to_string().contains("no `sub`"), "{err}");
    }

    #[test]
    fn a_token_command_is_run_and_its_output_trimmed() {
        let mut args = Args::new(crate::args::Scenario::Shop);
        args.token_command = Some(format!("echo '{}'", jwt(r#"{"sub":"u1"}"#)));
        let tokens = Tokens::of_args(&args).unwrap();
        assert_eq!(tokens.customer_id(String::new()), "u1");
        args.token_command = Some(String::from("exit 3"));
        let err = Tokens::of_args(&args).unwrap_err();
        assert!(err.to_string().contains("failed"), "{err}");
    }
}
