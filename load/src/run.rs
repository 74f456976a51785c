//! What the scenarios share: the run (its prefix, tokens, products, and what it was answered),
//! the Goose attack, and the audit of stock against the orders the run placed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use goose::goose::{GooseMethod, GooseResponse, TransactionError};
use goose::prelude::*;
use serde_json::{Value, json};

use crate::Audit;
use crate::api::{Api, IN_FLIGHT, Tokens, concurrently};
use crate::args::Args;

/// Where a scenario's Goose transactions, which are plain functions, find its state: set for
/// the attack, cleared after it.
#[derive(Debug)]
pub struct Stage<T>(Mutex<Option<Arc<T>>>);

impl<T> Stage<T> {
    pub const fn new() -> Self {
        Self(Mutex::new(None))
    }

    pub fn get(&self) -> Option<Arc<T>> {
        self.0.lock().ok().and_then(|s| s.clone())
    }

    pub fn set(&self, state: Option<Arc<T>>) -> anyhow::Result<()> {
        *self
            .0
            .lock()
            .map_err(|_| anyhow::anyhow!("a user panicked"))? = state;
        Ok(())
    }
}

impl<T> Default for Stage<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// An order the API said it placed (201), with the lines the run asked for and the status the
/// run last moved it to.
#[derive(Debug, Clone)]
pub struct Placed {
    pub id: String,
    pub customer: String,
    pub lines: BTreeMap<String, u64>,
    pub status: &'static str,
}

/// A method and a path template, as `GET /orders/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route(pub &'static str, pub &'static str);

impl std::fmt::Display for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.0, self.1)
    }
}

/// How often the run got one status from one route, and whether the run expects it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tally {
    pub count: u64,
    pub expected: bool,
}

/// One run: its prefix (`load-<ulid>`), tokens, prepared products, and what it was answered.
#[derive(Debug)]
pub struct Run {
    pub prefix: String,
    pub tokens: Tokens,
    pub api: Api,
    pub products: Vec<String>,
    /// Each product's available units at the start.
    pub units: u64,
    answers: Mutex<BTreeMap<(Route, u16), Tally>>,
    placed: Mutex<Vec<Placed>>,
}

impl Run {
    /// Prepares `args.products()` products with `args.units()` each under a new prefix.
    pub async fn start(args: &Args) -> anyhow::Result<Self> {
        let tokens = Tokens::of_args(args)?;
        let api = Api::new(&args.host, tokens.admin());
        let prefix = format!(
            "load-{}",
            ulid::Ulid::new().to_string().to_ascii_lowercase()
        );
        let products: Vec<String> = (0..args.products())
            .map(|i| format!("{prefix}-p{i}"))
            .collect();
        let units = args.units();
        let started = std::time::Instant::now();
        api.stocked_products(&products, units, args.shards).await?;
        println!(
            "{}: {} product{} of {units} units{} under {prefix} at {}, prepared in {:.1} s",
            args.scenario.name(),
            products.len(),
            if products.len() == 1 { "" } else { "s" },
            args.shards
                .map(|n| format!(" in {n} shards"))
                .unwrap_or_default(),
            args.host,
            started.elapsed().as_secs_f64()
        );
        Ok(Self {
            prefix,
            tokens,
            api,
            products,
            units,
            answers: Mutex::new(BTreeMap::new()),
            placed: Mutex::new(Vec::new()),
        })
    }

    /// The customer id and token of Goose user `index` (see [`Tokens::customer_id`]).
    pub fn customer(&self, index: usize) -> (String, String) {
        let customer = self.tokens.customer_id(format!("{}-c{index}", self.prefix));
        let token = self.tokens.customer(&customer);
        (customer, token)
    }

    /// Makes `call` as Goose user `user`, recording its answer.
    pub async fn call(
        &self,
        user: &mut GooseUser,
        call: Call<'_>,
    ) -> Result<Answer, Box<TransactionError>> {
        let mut builder = user.get_request_builder(&call.method, &call.path)?;
        if let Some(token) = call.token {
            builder = builder.bearer_auth(token);
        }
        if let Some(key) = call.key {
            builder = builder.header("idempotency-key", key);
        }
        if let Some(body) = &call.body {
            builder = builder.json(body);
        }
        let request = GooseRequest::builder()
            .method(call.method)
            .path(call.path.as_str())
            .name(call.name)
            .set_request_builder(builder)
            .build();
        let GooseResponse {
            mut request,
            response,
        } = user.request(request).await?;
        let (status, text) = match response {
            Ok(response) => {
                let status = response.status().as_u16();
                (status, response.text().await.unwrap_or_default())
            }
            Err(_) => (0, String::new()),
        };
        let expected = (200..300).contains(&status) || call.expected.contains(&status);
        // A refusal the run expects (a 409 for want of stock) is the API working.
        if expected && !(200..300).contains(&status) {
            user.set_success(&mut request)?;
        }
        if let Ok(mut answers) = self.answers.lock() {
            let route = Route(verb(call.method), call.name);
            let tally = answers.entry((route, status)).or_default();
            tally.count += 1;
            tally.expected = expected;
        }
        Ok(Answer { status, text })
    }

    /// Records the order a 201 `answer` placed for `customer` with `lines`; its index (for
    /// [`Self::moved`]) and id. None for any other answer.
    pub fn placed(
        &self,
        answer: &Answer,
        customer: &str,
        lines: BTreeMap<String, u64>,
    ) -> Option<(usize, String)> {
        let id = answer.json()["id"].as_str()?.to_owned();
        if answer.status != 201 {
            return None;
        }
        let mut placed = self.placed.lock().ok()?;
        placed.push(Placed {
            id: id.clone(),
            customer: customer.to_owned(),
            lines,
            status: "confirmed",
        });
        Some((placed.len() - 1, id))
    }

    pub fn order(&self, index: usize) -> Option<Placed> {
        self.placed.lock().ok()?.get(index).cloned()
    }

    /// Records that the API moved order `index` to `status`.
    pub fn moved(&self, index: usize, status: &'static str) {
        if let Some(order) = self
            .placed
            .lock()
            .ok()
            .as_mut()
            .and_then(|p| p.get_mut(index))
        {
            order.status = status;
        }
    }

    /// Every answer so far: `(route, status)` and its tally.
    pub fn answers(&self) -> BTreeMap<(Route, u16), Tally> {
        self.answers.lock().map(|a| a.clone()).unwrap_or_default()
    }

    fn all_placed(&self) -> Vec<Placed> {
        self.placed.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

fn verb(method: GooseMethod) -> &'static str {
    match method {
        GooseMethod::Get => "GET",
        GooseMethod::Post => "POST",
        GooseMethod::Put => "PUT",
        GooseMethod::Patch => "PATCH",
        GooseMethod::Delete => "DELETE",
        _ => "OTHER",
    }
}

/// A request a Goose user makes.
#[derive(Debug)]
pub struct Call<'a> {
    method: GooseMethod,
    path: String,
    /// The path template, as Goose's report (after the method) and the audit name it.
    name: &'static str,
    token: Option<&'a str>,
    key: Option<String>,
    body: Option<Value>,
    /// Statuses besides 2xx that are an answer the run expects.
    expected: &'static [u16],
}

impl<'a> Call<'a> {
    pub fn new(method: GooseMethod, path: String, name: &'static str) -> Self {
        Self {
            method,
            path,
            name,
            token: None,
            key: None,
            body: None,
            expected: &[],
        }
    }

    pub fn token(mut self, token: &'a str) -> Self {
        self.token = Some(token);
        self
    }

    pub fn idempotency_key(mut self, key: String) -> Self {
        self.key = Some(key);
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    pub fn expecting(mut self, statuses: &'static [u16]) -> Self {
        self.expected = statuses;
        self
    }
}

/// A status (0: no answer) and the body's text.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

/// How long a Goose attack runs.
#[derive(Debug, Clone, Copy)]
pub enum Length {
    /// Each user runs its transactions once.
    Once,
    /// Users repeat their transactions for this many seconds.
    Seconds(u64),
}

/// Runs `scenarios` with `args.users()` users, all started within a second, and writes Goose's
/// report as HTML and Markdown into `--report-dir`.
pub async fn attack(args: &Args, scenarios: Vec<Scenario>, length: Length) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.report_dir)?;
    let name = args.scenario.name();
    let reports = [
        args.report_dir.join(format!("{name}.html")),
        args.report_dir.join(format!("{name}.md")),
    ];
    let mut config = goose::config::GooseConfiguration::default();
    config.report_file = reports
        .iter()
        .map(|r| r.to_string_lossy().into_owned())
        .collect();
    let users = args.users();
    let mut attack = GooseAttack::initialize_with_config(config)?;
    for scenario in scenarios {
        attack = attack.register_scenario(scenario);
    }
    let attack = attack
        .set_default(GooseDefault::Host, args.host.as_str())?
        .set_default(GooseDefault::Users, users)?
        .set_default(GooseDefault::IncreaseRate, users.to_string().as_str())?
        .set_default(GooseDefault::NoTelnet, true)?
        // Goose logs (and so prints) every `log` record at Info otherwise, the in-process dev
        // server's of the tests too.
        .set_default(GooseDefault::Quiet, 1)?;
    let attack = match length {
        Length::Once => attack.set_default(GooseDefault::Iterations, 1)?,
        Length::Seconds(secs) => attack
            .set_default(GooseDefault::RunTime, usize::try_from(secs)?)?
            .set_default(GooseDefault::RunningMetrics, 15)?,
    };
    // Boxed: Goose's attack is a future of over 20 KB.
    Box::pin(attack.execute())
        .await
        .context("the Goose attack failed")?;
    for report in &reports {
        println!("Goose's report: {}", report.display());
    }
    Ok(())
}

/// A scenario: its state, which its Goose transactions reach through [`Staged::stage`].
pub trait Staged: Sized + Send + Sync + 'static {
    /// Where the transactions find the state during the attack.
    fn stage() -> &'static Stage<Self>;

    /// The state of a run whose products are prepared, its Goose scenarios, and how long they
    /// run.
    fn new(run: Run, args: &Args) -> anyhow::Result<(Self, Vec<Scenario>, Length)>;

    fn run(&self) -> &Run;

    /// The scenario's own checks, made before the shared ones.
    fn checks(&self, _audit: &mut Audit) {}
}

/// A run of scenario `T` from its preparation to its audit: the products, the attack, then
/// `before_audit` (the tests change stock there), then `T`'s checks and the shared ones.
pub async fn scenario<T: Staged>(
    args: &Args,
    before_audit: impl AsyncFnOnce(&Api, &[String]) -> anyhow::Result<()>,
) -> anyhow::Result<Audit> {
    let (state, scenarios, length) = T::new(Run::start(args).await?, args)?;
    let state = Arc::new(state);
    T::stage().set(Some(Arc::clone(&state)))?;
    // The heat model prices the writes from here on: the attack's, not the preparation's.
    let heat_from = match args.heat {
        true => Some(crate::heat::feed_position(&args.data_dir).await?),
        false => None,
    };
    let attacked = Box::pin(attack(args, scenarios, length)).await;
    T::stage().set(None)?;
    attacked?;
    let run = state.run();
    before_audit(&run.api, &run.products).await?;
    let mut audit = Audit::new(args.scenario.name());
    state.checks(&mut audit);
    audit_answers(run, &mut audit);
    audit_ledger(run, &mut audit).await?;
    if let Some(after) = heat_from {
        let heat = crate::heat::measure(&args.data_dir, after, &args.template).await?;
        println!(
            "\nPartition heat (template {}):\n\n{heat}",
            args.template.display()
        );
    }
    Ok(audit)
}

/// Zero 5xx (or requests without an answer), and no answer the run did not expect.
fn audit_answers(run: &Run, audit: &mut Audit) {
    let answers = run.answers();
    let total: u64 = answers.values().map(|t| t.count).sum();
    let said = |keep: &dyn Fn(u16, &Tally) -> bool| {
        let kept: Vec<String> = answers
            .iter()
            .filter(|((_, status), tally)| keep(*status, tally))
            .map(|((route, status), tally)| format!("{route} {status} x{}", tally.count))
            .collect();
        let count: u64 = answers
            .iter()
            .filter(|((_, status), tally)| keep(*status, tally))
            .map(|(_, tally)| tally.count)
            .sum();
        (count, kept)
    };
    let (failed, which) = said(&|status, _| status == 0 || status >= 500);
    audit.check(
        failed == 0,
        format!("zero 5xx: {failed} of {total} answers were a 5xx or none {which:?}"),
    );
    let (unexpected, which) = said(&|_, tally| !tally.expected);
    audit.check(
        unexpected == 0,
        format!("every answer expected (2xx, or a 409 where stock may run out): {unexpected} not {which:?}"),
    );
}

/// Stock against orders, read back through the API: every placed order reads back with its
/// lines and status; for every product, units at start = available + reserved + units in
/// shipped orders, reserved = units in confirmed orders, and no level below zero.
async fn audit_ledger(run: &Run, audit: &mut Audit) -> anyhow::Result<()> {
    let placed = run.all_placed();
    // One token per customer, not per order: minting one is a signature.
    let tokens: Arc<BTreeMap<String, String>> = Arc::new(
        placed
            .iter()
            .map(|order| order.customer.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|customer| {
                let token = run.tokens.customer(&customer);
                (customer, token)
            })
            .collect(),
    );
    let api = run.api.clone();
    let read = concurrently(placed.clone(), IN_FLIGHT, move |order| {
        let api = api.clone();
        let tokens = Arc::clone(&tokens);
        async move {
            let token = tokens.get(&order.customer).map_or("", String::as_str);
            api.order(&order.id, token).await
        }
    })
    .await?;
    // Units by product in confirmed, and in shipped or delivered, orders, by what the API says
    // (what the run placed, for an order that does not read back).
    let known: std::collections::BTreeSet<&str> = run.products.iter().map(String::as_str).collect();
    let mut reserved: BTreeMap<String, i64> = BTreeMap::new();
    let mut shipped: BTreeMap<String, i64> = BTreeMap::new();
    let mut unread = Vec::new();
    for (order, (status, body)) in placed.iter().zip(&read) {
        let lines: BTreeMap<String, u64> = body["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|line| {
                        let product = line["product_id"].as_str().unwrap_or_default();
                        (product.to_owned(), line["quantity"].as_u64().unwrap_or(0))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let read_status = body["status"].as_str().unwrap_or_default();
        let as_placed = *status == 200 && lines == order.lines && read_status == order.status;
        if !as_placed {
            unread.push(format!(
                "{} ({status}, {read_status} for {})",
                order.id, order.status
            ));
        }
        let (lines, read_status) = if *status == 200 {
            (&lines, read_status)
        } else {
            (&order.lines, order.status)
        };
        let into = match read_status {
            "confirmed" => &mut reserved,
            "shipped" | "delivered" => &mut shipped,
            _ => continue,
        };
        for (product, quantity) in lines {
            if known.contains(product.as_str()) {
                *into.entry(product.clone()).or_default() += i64::try_from(*quantity)?;
            }
        }
    }
    audit.check(
        unread.is_empty(),
        format!(
            "every order the run was told exists reads back with its lines and status: {} of {} {:?}",
            placed.len() - unread.len(),
            placed.len(),
            unread.iter().take(5).collect::<Vec<_>>()
        ),
    );

    let api = run.api.clone();
    let levels = concurrently(run.products.clone(), IN_FLIGHT, move |product| {
        let api = api.clone();
        async move { api.stock(&product).await }
    })
    .await?;
    let units = i64::try_from(run.units)?;
    let (mut below_zero, mut unaccounted, mut misreserved) = (Vec::new(), Vec::new(), Vec::new());
    let mut totals = [0i64; 4];
    for (product, (available, level_reserved)) in run.products.iter().zip(levels) {
        let confirmed = reserved.get(product).copied().unwrap_or(0);
        let sent = shipped.get(product).copied().unwrap_or(0);
        for (total, value) in totals
            .iter_mut()
            .zip([available, level_reserved, sent, confirmed])
        {
            *total += value;
        }
        let said = json!({ "product": product, "available": available, "reserved": level_reserved, "shipped": sent, "confirmed": confirmed });
        if available < 0 || level_reserved < 0 {
            below_zero.push(said.clone());
        }
        if available + level_reserved + sent != units {
            unaccounted.push(said.clone());
        }
        if level_reserved != confirmed {
            misreserved.push(said);
        }
    }
    let [available, level_reserved, sent, confirmed] = totals;
    let products = run.products.len();
    audit.check(
        below_zero.is_empty(),
        format!(
            "no level below zero: {} of {products} products {:?}",
            products - below_zero.len(),
            first(&below_zero)
        ),
    );
    audit.check(
        unaccounted.is_empty(),
        format!(
            "stock accounts for every unit: {} of {products} products have {units} at start = available + reserved + shipped (in all: {available} + {level_reserved} + {sent}) {:?}",
            products - unaccounted.len(),
            first(&unaccounted)
        ),
    );
    audit.check(
        misreserved.is_empty(),
        format!(
            "reserved = units in confirmed orders: {} of {products} products (in all: {level_reserved} reserved, {confirmed} confirmed) {:?}",
            products - misreserved.len(),
            first(&misreserved)
        ),
    );
    Ok(())
}

fn first(values: &[Value]) -> Vec<String> {
    values.iter().take(3).map(Value::to_string).collect()
}
