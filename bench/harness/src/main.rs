//! `./scripts/bench`: what users of a Lambda feel and pay for, measured on this machine.
//!
//! For every function (and the bare `lambda_runtime` floor built by the same profile) it starts
//! the binary under a loopback Lambda Runtime API, times exec -> first `next` (init), the first
//! invocation with the function's `events/` sample, and warm invocations; reads peak RSS; and,
//! against the DynamoDB adapter, counts DynamoDB operations per invocation from the SDK
//! interceptor's log lines. The stream consumers get a batch of fresh stream records per
//! invocation instead, once as a first delivery and once as a replay of records already
//! handled ([`streams`]), in a table of their own. Then binary sizes per architecture and
//! dev-server throughput: reads at 64 connections, `POST /orders` and
//! `POST /carts/{cart_id}/items` at 16.
//! Absolute times on a shared two-core machine are noisy; the ratios to the floor are the
//! figures to compare across runs.

mod emf;
mod runtime_api;
mod streams;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::Value;
use stockroom_domain::carts::CartId;
use stockroom_domain::orders::OrderId;
use stockroom_store::sqlite::SqliteStore;
use stockroom_store::tables::Table;
use tokio::io::AsyncBufReadExt as _;

use crate::runtime_api::{Answer, RuntimeApi};
use crate::streams::{Delivery, Handled};

/// Every function binary template.yaml deploys, the HTTP ones in its order, then the stream
/// consumers: what the benchmark measures unless `--functions` says otherwise.
fn template_functions() -> anyhow::Result<Vec<String>> {
    let template = workspace().join("template.yaml");
    let routes = stockroom_local::template::load(&template)?;
    let sources = stockroom_local::template::load_stream_sources(&template)?;
    let mut functions: Vec<String> = Vec::new();
    let binaries = routes
        .into_iter()
        .map(|r| r.binary)
        .chain(sources.into_iter().map(|s| s.binary));
    for binary in binaries {
        if !functions.contains(&binary) {
            functions.push(binary);
        }
    }
    Ok(functions)
}

/// The workspace package of each binary in `functions`, from `cargo metadata`.
fn packages_of(functions: &[&str]) -> anyhow::Result<Vec<String>> {
    let bins = stockroom_store::testing::cargo_bins()?;
    let mut packages: Vec<String> = Vec::new();
    for f in functions {
        let bin = bins
            .iter()
            .find(|b| b.name == *f)
            .with_context(|| format!("no workspace package has a binary {f}"))?;
        if !packages.contains(&bin.package) {
            packages.push(bin.package.clone());
        }
    }
    Ok(packages)
}

#[derive(Debug, Clone)]
struct Args {
    profile: String,
    iterations: usize,
    warm: usize,
    functions: Vec<String>,
    stores: Vec<Store>,
    build: bool,
    sizes: bool,
    sizes_of: Vec<String>,
    wrk: bool,
    /// What template.yaml's `Globals` set for every function (see `template_env`).
    env: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Store {
    Embedded,
    DynamoDb,
}

impl Store {
    fn name(self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::DynamoDb => "dynamodb",
        }
    }
}

const USAGE: &str = "usage: stockroom-bench [--profile release|dev] [--iterations N] [--warm N]
       [--functions a,b] [--stores embedded,dynamodb] [--sizes-of a,b]
       [--no-build] [--no-sizes] [--no-wrk]";

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        profile: String::from("release"),
        iterations: 20,
        warm: 100,
        functions: template_functions()?,
        stores: vec![Store::Embedded, Store::DynamoDb],
        build: true,
        sizes: true,
        // Every SDK-using function links the same crates and lands within 0.5% of the others
        // (sam build's seven bootstraps agree), so one of them and health stand for all. The
        // carts functions, which also link the orders placement, are 2-3% larger (see
        // docs/performance.md, carts): `--sizes-of add_cart_item,checkout` measures them.
        sizes_of: vec![String::from("get_product"), String::from("health")],
        wrk: true,
        env: Vec::new(),
    };
    let mut raw = std::env::args().skip(1);
    while let Some(flag) = raw.next() {
        let mut value = || {
            raw.next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--profile" => args.profile = value()?,
            "--iterations" => args.iterations = value()?.parse()?,
            "--warm" => args.warm = value()?.parse()?,
            "--functions" => args.functions = value()?.split(',').map(str::to_owned).collect(),
            "--stores" => {
                args.stores = value()?
                    .split(',')
                    .map(|s| match s {
                        "embedded" => Ok(Store::Embedded),
                        "dynamodb" => Ok(Store::DynamoDb),
                        other => bail!("unknown store {other:?}"),
                    })
                    .collect::<anyhow::Result<_>>()?;
            }
            "--no-build" => args.build = false,
            "--no-sizes" => args.sizes = false,
            "--sizes-of" => args.sizes_of = value()?.split(',').map(str::to_owned).collect(),
            "--no-wrk" => args.wrk = false,
            other => bail!("unknown option {other:?}\n{USAGE}"),
        }
    }
    if args.iterations == 0 {
        bail!("--iterations must be at least 1");
    }
    Ok(args)
}

use stockroom_store::testing::workspace;

/// Where cargo puts what it builds: `CARGO_TARGET_DIR` when set (relative to the workspace, as
/// cargo reads it when run there), else the workspace's `target/`. Everything the harness
/// builds or copies goes there, so a clone with its own target directory measures its own
/// binaries.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => workspace().join(dir),
        _ => workspace().join("target"),
    }
}

fn profile_dir(profile: &str) -> &str {
    if profile == "dev" { "debug" } else { profile }
}

fn run(cmd: &mut std::process::Command) -> anyhow::Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("failed to run {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

/// One cold start, its first call, and the warm calls after it.
#[derive(Debug, Default)]
struct Sample {
    init: Duration,
    first: Duration,
    warm: Vec<Duration>,
    peak_rss_kib: u64,
    first_status: String,
    /// How the warm calls answered (see [`answer_label`]), and how many times each.
    warm_answers: BTreeMap<String, usize>,
    calls_per_invocation: Option<f64>,
    /// What a stream consumer logged it did with its batches, over all the calls.
    handled: Handled,
    /// The metrics of the EMF documents the function printed (all of which were valid).
    emf: std::collections::BTreeSet<String>,
}

/// The response header `place_order` sets on an answer replayed for a reused idempotency key.
const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// The label of a stream consumer's answer that reported records it could not handle.
const BATCH_ITEM_FAILURES: &str = "batch item failures";

/// An answer as the tables show it: the HTTP status, `replayed` added when `place_order`
/// answered from an earlier order with the same key (it wrote nothing), `ok` for a function
/// that is not an HTTP one (a stream consumer reporting no `batchItemFailures`),
/// [`BATCH_ITEM_FAILURES`] when one reported some, `error` for an invocation error.
fn answer_label(answer: &Answer) -> String {
    let body: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    let batch_failures = body["batchItemFailures"]
        .as_array()
        .is_some_and(|f| !f.is_empty());
    match (answer.ok, body["statusCode"].as_u64()) {
        (true, Some(code)) if body["headers"][IDEMPOTENT_REPLAYED] == "true" => {
            format!("{code} replayed")
        }
        (true, Some(code)) => code.to_string(),
        (true, None) if batch_failures => String::from(BATCH_ITEM_FAILURES),
        (true, None) => String::from("ok"),
        (false, _) => String::from("error"),
    }
}

/// Whether an answer labelled `label` means the function is broken rather than slow.
fn is_failure(label: &str) -> bool {
    label == "error" || label == BATCH_ITEM_FAILURES || label.starts_with('5')
}

fn percentile(values: &[Duration], p: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The sample event for `function`, adjusted so repeating it measures the same work: a create
/// without an id makes a new product every time. See [`events_for`] for the orders and carts
/// functions.
fn event_for(function: &str) -> anyhow::Result<Value> {
    let file = if function == "hello" {
        "health"
    } else {
        function
    };
    let path = workspace().join("events").join(format!("{file}.json"));
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("no sample event for {function}: {}", path.display()))?;
    let mut event: Value = serde_json::from_str(&text)?;
    if let (true, Some(body)) = (function == "create_product", event["body"].as_str()) {
        let mut body: Value = serde_json::from_str(body)?;
        if let Some(fields) = body.as_object_mut() {
            fields.remove("id");
        }
        event["body"] = Value::String(body.to_string());
    }
    Ok(event)
}

/// The events of one cold start's `invocations` calls of `function`, each doing the work of the
/// first rather than answering from what an earlier call did:
/// - `place_order`: the sample's `Idempotency-Key` with a unique suffix per call, so every call
///   places (and records the key of) a new order; with the sample's one key every call after
///   the first would be an idempotent replay, which writes nothing.
/// - `update_order_status` and `cancel_order`: each call changes its own confirmed order, from
///   `orders` (see [`prepare_function`]), since an order changes status once and the sample's
///   order would answer 409 from the second call on.
/// - `add_cart_item`, `checkout`, `remove_cart_item` and `delete_cart`: each call gets a cart of
///   its own with the sample cart's lines, from `carts`, since a checkout empties its cart (the
///   next would answer 409), a line is removed and a cart deleted once (404 after), and adds to
///   one cart would reach the 1000 units a line holds. `checkout` also gets a unique
///   `Idempotency-Key` per call when the sample sends one, as `place_order` does.
/// - the stream consumers (`on_order_change`, `on_stock_change`): each call a batch of fresh
///   stream records of its own, from `batches` (see [`streams`]): their events/ samples are two
///   and three records (one of the stock sample's crosses the threshold), not a full batch,
///   and would be replays from the second call on.
fn events_for(
    function: &str,
    sample: &Value,
    invocations: usize,
    setup: &Setup,
) -> anyhow::Result<Vec<Value>> {
    match function {
        "place_order" => {
            let key = sample["headers"]["idempotency-key"]
                .as_str()
                .context("events/place_order.json sends no idempotency-key header")?;
            Ok((0..invocations).map(|_| unique_key(sample, key)).collect())
        }
        "add_cart_item" | "checkout" | "remove_cart_item" | "delete_cart" => {
            let carts = &setup.carts;
            if carts.len() < invocations {
                bail!(
                    "{function}: {} carts prepared for {invocations} calls",
                    carts.len()
                );
            }
            let text = sample.to_string();
            if !text.contains(stockroom_local::seed::SAMPLE_CART) {
                bail!("events/{function}.json does not name the sample cart");
            }
            let key = sample["headers"]["idempotency-key"].as_str();
            carts
                .iter()
                .take(invocations)
                .map(|id| {
                    let text = text.replace(stockroom_local::seed::SAMPLE_CART, id.as_str());
                    let event: Value = serde_json::from_str(&text)?;
                    Ok(match key {
                        Some(key) => unique_key(&event, key),
                        None => event,
                    })
                })
                .collect()
        }
        "update_order_status" | "cancel_order" => {
            let orders = &setup.orders;
            if orders.len() < invocations {
                bail!(
                    "{function}: {} orders prepared for {invocations} calls",
                    orders.len()
                );
            }
            let text = sample.to_string();
            if !text.contains(stockroom_local::seed::SAMPLE_ORDER) {
                bail!("events/{function}.json does not name the sample order");
            }
            orders
                .iter()
                .take(invocations)
                .map(|id| {
                    let text = text.replace(stockroom_local::seed::SAMPLE_ORDER, &id.to_string());
                    Ok(serde_json::from_str(&text)?)
                })
                .collect()
        }
        f if streams::consumer(f).is_some() => {
            let batches = &setup.batches;
            if batches.len() < invocations {
                bail!(
                    "{function}: {} batches prepared for {invocations} calls",
                    batches.len()
                );
            }
            Ok(batches.iter().take(invocations).cloned().collect())
        }
        _ => Ok(vec![sample.clone(); invocations]),
    }
}

/// `event` with its `Idempotency-Key` `key` given a unique suffix: a new request, not a replay.
fn unique_key(event: &Value, key: &str) -> Value {
    let mut event = event.clone();
    event["headers"]["idempotency-key"] = Value::String(format!("{key}-{}", ulid::Ulid::new()));
    event
}

/// What a function's environment takes from the harness's own: what Lambda gives a function
/// through its role and region, plus the local DynamoDB endpoint.
const PASSED_THROUGH: &[&str] = &[
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL_DYNAMODB",
    // Span export on (to the caller's collector) or off, as the collector layer sets it.
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];

/// Starts `binary` under a fresh Runtime API with `env`, and measures one cold start: the first
/// of `events` is the first call, the rest are warm calls.
async fn cold_start(
    binary: &Path,
    env: &[(String, String)],
    events: &[Value],
) -> anyhow::Result<Sample> {
    let (event, warm_events) = events.split_first().context("no event to invoke")?;
    let api = RuntimeApi::start().await?;
    let name = binary
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("function");
    let mut command = tokio::process::Command::new(binary);
    // Lambda's environment, not this shell's: a developer's shell often sets variables (such as
    // SSL_CERT_DIR) that change what a function does at init. Only the DynamoDB endpoint,
    // region and credentials come from the caller, as Lambda provides them too.
    command.env_clear();
    for (key, value) in std::env::vars().filter(|(k, _)| PASSED_THROUGH.contains(&k.as_str())) {
        command.env(key, value);
    }
    command
        .env("AWS_LAMBDA_RUNTIME_API", &api.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("_HANDLER", "bootstrap")
        .env("TZ", ":UTC")
        .env("LANG", "en_US.UTF-8")
        .env(
            "RUST_LOG",
            format!("info,{}=debug", stockroom_store::dynamodb::CALLS_TARGET),
        )
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let started = std::time::Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("failed to start {}", binary.display()))?;
    let stdout = child.stdout.take().context("no stdout")?;
    let lines = tokio::spawn(async move {
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let mut all = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            all.push(line);
        }
        all
    });

    let ready = api.ready(Duration::from_secs(20)).await?;
    let mut sample = Sample {
        init: ready.saturating_duration_since(started),
        ..Sample::default()
    };
    let (first, answer) = api.invoke(event.clone()).await?;
    sample.first = first;
    sample.first_status = answer_label(&answer);
    let failed = is_failure(&sample.first_status);
    let log_lines = tokio::spawn(async move { lines.await.unwrap_or_default() });
    for event in warm_events {
        let (took, answer) = api.invoke(event.clone()).await?;
        sample.warm.push(took);
        *sample
            .warm_answers
            .entry(answer_label(&answer))
            .or_default() += 1;
    }
    api.idle(1 + warm_events.len(), Duration::from_secs(10))
        .await?;
    sample.peak_rss_kib = child.id().map_or(0, peak_rss_kib);
    child.kill().await.ok();
    let lines = log_lines.await.unwrap_or_default();
    if failed {
        // What the function logged says why; the answer alone is an opaque 500.
        eprintln!(
            "{name} answered its sample event with {}:",
            sample.first_status
        );
        for line in lines
            .iter()
            .filter(|l| l.contains("ERROR") || l.contains("error"))
        {
            eprintln!("  {line}");
        }
    }
    let calls = lines
        .iter()
        .filter(|l| l.contains(stockroom_store::dynamodb::CALLS_TARGET))
        .count();
    #[allow(clippy::cast_precision_loss)]
    let per = calls as f64 / events.len() as f64;
    sample.calls_per_invocation = Some(per);
    sample.handled = Handled::from_log(&lines);
    for line in lines.iter().filter(|l| emf::is_document(l)) {
        let metrics = emf::check(line).map_err(|why| {
            anyhow::anyhow!(
                "{name} printed an EMF document CloudWatch would not read ({why}): {line}"
            )
        })?;
        sample
            .emf
            .extend(metrics.into_iter().map(|(_, metric)| metric));
    }
    Ok(sample)
}

/// A store prepared for one cold start: the function's environment, the embedded store's
/// directory to remove afterwards, and what [`prepare_function`] made for its calls.
struct Prepared {
    env: Vec<(String, String)>,
    dir: Option<PathBuf>,
    setup: Setup,
}

/// What [`prepare_function`] made for one cold start's calls, one per call.
#[derive(Debug, Default)]
struct Setup {
    /// Confirmed orders, for the status changes.
    orders: Vec<OrderId>,
    /// Carts with the sample cart's lines, for adding to and checking out.
    carts: Vec<CartId>,
    /// Stream events of fresh records, for the stream consumers.
    batches: Vec<Value>,
}

/// What the run keeps from row to row: the DynamoDB tables, created once (they live for the
/// whole run), and the scratch store the stream consumers' batches are made in.
#[derive(Default)]
struct Run {
    tables: Option<Vec<(String, Table, String)>>,
    feed: Option<streams::Feed>,
}

/// What one row measures: a function, and for a stream consumer how its batches reach it.
#[derive(Debug, Clone)]
struct Case {
    function: String,
    delivery: Option<Delivery>,
}

impl Case {
    /// The rows of `function`: one, or for a stream consumer a first delivery of fresh records
    /// and a replay of records already handled (what at-least-once delivery resends).
    fn of(function: &str) -> Vec<Self> {
        let deliveries = if streams::consumer(function).is_some() {
            vec![Some(Delivery::First), Some(Delivery::Replay)]
        } else {
            vec![None]
        };
        deliveries
            .into_iter()
            .map(|delivery| Self {
                function: function.to_owned(),
                delivery,
            })
            .collect()
    }
}

/// Gives `function` a store with the sample products, stock and order in it, enough stock that
/// every warm invocation of a stock change succeeds like the first, and what
/// [`prepare_function`] adds for `invocations` calls.
async fn prepare(
    store: Store,
    run: &mut Run,
    case: &Case,
    invocations: usize,
) -> anyhow::Result<Prepared> {
    match store {
        Store::Embedded => {
            let dir = std::env::temp_dir().join(format!("stockroom-bench-{}", ulid::Ulid::new()));
            std::fs::create_dir_all(&dir)?;
            let seeded = stockroom_store::Store::embedded(SqliteStore::open(
                &dir.join(stockroom_store::config::EMBEDDED_FILE),
            )?);
            seed(&seeded).await?;
            let setup = prepare_function(&seeded, case, invocations, &mut run.feed).await?;
            Ok(Prepared {
                env: vec![(
                    String::from("STOCKROOM_DATA_DIR"),
                    dir.display().to_string(),
                )],
                dir: Some(dir),
                setup,
            })
        }
        Store::DynamoDb => {
            // Every table template.yaml's Globals give the functions, created once per run
            // from its key schema, under the variable the template sets.
            if run.tables.is_none() {
                let mut created = Vec::new();
                for (var, table) in stockroom_store::testing::global_table_vars()? {
                    let name = stockroom_store::testing::create_table(table).await;
                    created.push((var, table, name));
                }
                run.tables = Some(created);
            }
            let tables = run.tables.clone().unwrap_or_default();
            let client = stockroom_store::dynamodb::client_from_env().await;
            let store = stockroom_store::Store::dynamodb(
                client,
                tables.iter().map(|(_, table, name)| (*table, name.clone())),
            );
            seed(&store).await?;
            let setup = prepare_function(&store, case, invocations, &mut run.feed).await?;
            Ok(Prepared {
                env: tables
                    .into_iter()
                    .map(|(var, _, name)| (var, name))
                    .collect(),
                dir: None,
                setup,
            })
        }
    }
}

/// The dev server's sample data, plus a million units of the products the stock and order
/// samples in events/ change (half of `sku-kettle`'s reserved, for release; `place_order`
/// reserves `sku-mug` and `sku-notebook`), so a hundred warm invocations never run out.
async fn seed(store: &stockroom_store::Store) -> anyhow::Result<()> {
    use stockroom_domain::inventory::{Available, Quantity, StockMove};
    stockroom_local::seed::seed(store).await?;
    let inventory = store.inventory()?;
    let now = stockroom_domain::timestamp::now();
    for sku in ["sku-mug", "sku-kettle", "sku-notebook"] {
        let id = stockroom_domain::ProductId::parse(sku)?;
        inventory
            .set_stock(&id, Available::new(1_000_000)?, now)
            .await?;
    }
    inventory
        .move_stock(
            &stockroom_domain::ProductId::parse("sku-kettle")?,
            StockMove::Reserve,
            Quantity::new(500_000)?,
            now,
        )
        .await?;
    Ok(())
}

/// The lines of events/place_order.json and of the sample cart: the order the harness places
/// where a function needs one of its own, and the lines of the carts it fills.
const ORDER_LINES: &[(&str, i64)] = &[("sku-mug", 2), ("sku-notebook", 1)];
/// The customer of the orders placed for status changes: not the sample customer, whose orders
/// `list_orders` pages through.
const BENCH_CUSTOMER: &str = "cust-bench";
/// The page size events/list_orders.json asks for.
const LIST_ORDERS_LIMIT: usize = 10;

/// Places one order of [`ORDER_LINES`] for `customer`, reserving its stock.
async fn place(store: &stockroom_store::Store, customer: &str) -> anyhow::Result<OrderId> {
    let id = OrderId::at(stockroom_domain::timestamp::now());
    let order = stockroom_local::seed::place_order(store, id, customer, ORDER_LINES).await?;
    Ok(order.id)
}

/// Fills a new cart (`cart-bench-<ULID>`, new on every call, since DynamoDB's tables live for
/// the whole run) with [`ORDER_LINES`], the sample cart's lines, through the store.
async fn fill_cart(store: &stockroom_store::Store) -> anyhow::Result<CartId> {
    use stockroom_domain::inventory::Quantity;
    use stockroom_store::carts::AddToCart;
    let id = CartId::parse(&format!("cart-bench-{}", ulid::Ulid::new()))?;
    let carts = store.carts()?;
    for (product, quantity) in ORDER_LINES {
        carts
            .add_to_cart(&AddToCart {
                owner: stockroom_domain::orders::CustomerId::parse(
                    stockroom_local::seed::SAMPLE_CUSTOMER,
                )?,
                cart_id: id.clone(),
                product_id: stockroom_domain::ProductId::parse(product)?,
                quantity: Quantity::new(*quantity)?,
                now: stockroom_domain::timestamp::now(),
            })
            .await?;
    }
    Ok(id)
}

/// What `function`'s calls need in the store besides [`seed`], so each of `invocations` calls
/// does the same work: a confirmed order of its own for every status change and a filled cart
/// of its own for every cart change but a set (see [`events_for`]), a full page of the sample
/// customer's orders for `list_orders` (the seed has one; on DynamoDB, whose tables live for
/// the whole run, they only add up), and a batch of fresh stream records for every call of a
/// stream consumer, handled beforehand in this store for a replay (see [`streams::batches`]).
async fn prepare_function(
    store: &stockroom_store::Store,
    case: &Case,
    invocations: usize,
    feed: &mut Option<streams::Feed>,
) -> anyhow::Result<Setup> {
    let mut setup = Setup::default();
    let function = case.function.as_str();
    match function {
        "update_order_status" | "cancel_order" => {
            for _ in 0..invocations {
                setup.orders.push(place(store, BENCH_CUSTOMER).await?);
            }
        }
        "add_cart_item" | "checkout" | "remove_cart_item" | "delete_cart" => {
            for _ in 0..invocations {
                setup.carts.push(fill_cart(store).await?);
            }
        }
        "list_orders" => {
            for _ in 0..LIST_ORDERS_LIMIT {
                place(store, stockroom_local::seed::SAMPLE_CUSTOMER).await?;
            }
        }
        _ => {
            if let (Some(consumer), Some(delivery)) = (streams::consumer(function), case.delivery) {
                setup.batches =
                    streams::batches(feed, store, consumer, delivery, invocations).await?;
            }
        }
    }
    Ok(setup)
}

struct Row {
    function: String,
    /// For a stream consumer: how its batches reached it, and the records in each.
    batches: Option<(Delivery, usize)>,
    store: &'static str,
    samples: Vec<Sample>,
}

impl Row {
    /// The function, and for a stream consumer how its batches reached it.
    fn name(&self) -> String {
        match self.batches {
            Some((delivery, _)) => format!("{} ({})", self.function, delivery.name()),
            None => self.function.clone(),
        }
    }

    /// What a stream consumer's row logged it did with its batches, over every call, and what
    /// it had to do: every record notified about once (a first delivery) or found sent (a
    /// replay).
    fn handled(&self) -> Option<(Handled, Handled)> {
        let (delivery, size) = self.batches?;
        let mut handled = Handled::default();
        for sample in &self.samples {
            handled.add(sample.handled);
        }
        let calls = self.samples.iter().map(|s| 1 + s.warm.len()).sum();
        Some((handled, delivery.expected(calls, size)))
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}x", a / b)
    } else {
        String::from("-")
    }
}

/// A row's figures as the tables print them: init over its cold starts, the first call of each,
/// the warm calls of the first, and the median peak RSS.
struct Figures {
    init: Vec<Duration>,
    first: Vec<Duration>,
    warm: Vec<Duration>,
    rss_kib: u64,
}

impl Figures {
    fn of(row: &Row) -> Self {
        let mut rss: Vec<u64> = row.samples.iter().map(|s| s.peak_rss_kib).collect();
        rss.sort_unstable();
        Self {
            init: row.samples.iter().map(|s| s.init).collect(),
            first: row.samples.iter().map(|s| s.first).collect(),
            warm: row
                .samples
                .iter()
                .flat_map(|s| s.warm.iter().copied())
                .collect(),
            rss_kib: rss.get(rss.len() / 2).copied().unwrap_or(0),
        }
    }

    /// `init median ms | init p90 ms | init / floor | first median ms | first p90 ms | warm
    /// p50 ms | warm p99 ms`
    fn times(&self, floor: &Self) -> String {
        let init = percentile(&self.init, 0.5);
        format!(
            "{} | {} | {} | {} | {} | {} | {}",
            ms(init),
            ms(percentile(&self.init, 0.9)),
            ratio(
                init.as_secs_f64(),
                percentile(&floor.init, 0.5).as_secs_f64()
            ),
            ms(percentile(&self.first, 0.5)),
            ms(percentile(&self.first, 0.9)),
            ms(percentile(&self.warm, 0.5)),
            ms(percentile(&self.warm, 0.99)),
        )
    }

    /// `peak RSS MiB | RSS / floor`
    #[allow(clippy::cast_precision_loss)]
    fn rss(&self, floor: &Self) -> String {
        let rss = self.rss_kib as f64;
        format!("{:.1} | {}", rss / 1024.0, ratio(rss, floor.rss_kib as f64))
    }
}

/// DynamoDB calls per invocation over the first cold start's calls, for a DynamoDB row.
fn calls_per_invocation(row: &Row) -> Option<f64> {
    match row.store {
        "dynamodb" => row.samples.first().and_then(|s| s.calls_per_invocation),
        _ => None,
    }
}

fn print_table<'r>(rows: impl Iterator<Item = &'r Row>, floor: &'r Row) {
    let floor_figures = Figures::of(floor);
    println!(
        "\n| function | store | status | init median ms | init p90 ms | init / floor | first call median ms | first call p90 ms | warm p50 ms | warm p99 ms | peak RSS MiB | RSS / floor | DynamoDB calls / invocation |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for row in std::iter::once(floor).chain(rows) {
        let figures = Figures::of(row);
        println!(
            "| {} | {} | {} | {} | {} | {} |",
            row.function,
            row.store,
            row.samples.first().map_or("-", |s| s.first_status.as_str()),
            figures.times(&floor_figures),
            figures.rss(&floor_figures),
            calls_per_invocation(row).map_or(String::from("-"), |c| format!("{c:.2}")),
        );
    }
}

/// The stream consumers' rows: every call a batch of the stream's `BatchSize` records, so the
/// latencies are a batch's, and the DynamoDB calls are per record. The last column is what the
/// consumer logged it did with the records of every call of the row.
fn print_batch_table<'r>(rows: impl Iterator<Item = &'r Row>, floor: &Row) {
    let floor_figures = Figures::of(floor);
    let mut rows = rows.peekable();
    if rows.peek().is_none() {
        return;
    }
    println!(
        "\n| function | delivery | store | answer | records / batch | init median ms | init p90 ms | init / floor | first batch median ms | first batch p90 ms | warm batch p50 ms | warm batch p99 ms | peak RSS MiB | RSS / floor | DynamoDB calls / record | records: sent / found sent |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        let Some((delivery, size)) = row.batches else {
            continue;
        };
        let figures = Figures::of(row);
        #[allow(clippy::cast_precision_loss)]
        let per_record = calls_per_invocation(row)
            .map_or(String::from("-"), |c| format!("{:.2}", c / size as f64));
        let handled = row.handled().map_or(String::from("-"), |(done, _)| {
            format!("{}: {} / {}", done.records, done.sent, done.already_sent)
        });
        println!(
            "| {} | {} | {} | {} | {size} | {} | {} | {per_record} | {handled} |",
            row.function,
            delivery.name(),
            row.store,
            row.samples.first().map_or("-", |s| s.first_status.as_str()),
            figures.times(&floor_figures),
            figures.rss(&floor_figures),
        );
    }
}

/// Every row whose calls did not all answer alike (the table's status is the first call of the
/// first cold start): a warm call that answers 404 or 409 where the first created or changed
/// something, or a replay, measures other work than the row says.
fn print_answers(rows: &[Row]) {
    let mut mixed = Vec::new();
    for row in rows {
        let mut answers: BTreeMap<&str, usize> = BTreeMap::new();
        for sample in &row.samples {
            *answers.entry(sample.first_status.as_str()).or_default() += 1;
            for (label, n) in &sample.warm_answers {
                *answers.entry(label.as_str()).or_default() += n;
            }
        }
        let replayed = answers.keys().any(|a| a.ends_with("replayed"));
        if answers.len() > 1 || replayed {
            let counts: Vec<String> = answers.iter().map(|(a, n)| format!("{a} x{n}")).collect();
            mixed.push(format!(
                "- {} ({}): {}",
                row.name(),
                row.store,
                counts.join(", ")
            ));
        }
    }
    if mixed.is_empty() {
        println!("\nEvery call of every row answered like the row's first.");
    } else {
        println!(
            "\nRows whose calls did not all answer like the first (cold starts and warm calls):"
        );
        for line in mixed {
            println!("{line}");
        }
    }
}

/// The environment template.yaml gives every function, as this machine can honour it: the
/// harness sets `RUST_LOG` itself (it counts DynamoDB calls from debug lines), and a CA bundle
/// path that only exists on Lambda's image is pointed at this machine's bundle, so the SDK's
/// HTTPS client still parses a real bundle at init.
fn template_env() -> anyhow::Result<Vec<(String, String)>> {
    const LOCAL_BUNDLES: &[&str] = &[
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
    ];
    let mut env = stockroom_store::testing::global_function_env()?;
    env.retain(|(k, _)| k != "RUST_LOG");
    for (k, v) in &mut env {
        if k == "SSL_CERT_FILE" && !Path::new(v.as_str()).exists() {
            let local = LOCAL_BUNDLES
                .iter()
                .find(|p| Path::new(p).exists())
                .with_context(|| format!("no CA bundle on this machine to stand in for {v}"))?;
            println!("SSL_CERT_FILE: the template's {v} is not on this machine; using {local}");
            *v = (*local).to_owned();
        }
    }
    Ok(env)
}

async fn measure(
    binary: &Path,
    case: &Case,
    store: Option<Store>,
    args: &Args,
    run: &mut Run,
) -> anyhow::Result<Row> {
    let function = case.function.as_str();
    let event = event_for(function)?;
    let mut samples = Vec::new();
    for i in 0..args.iterations {
        // Warm calls once per function: they measure the steady state, not the start.
        let warm = if i == 0 { args.warm } else { 0 };
        let Prepared {
            env: store_env,
            dir,
            setup,
        } = match store {
            Some(store) => prepare(store, run, case, 1 + warm).await?,
            None => Prepared {
                env: Vec::new(),
                dir: None,
                setup: Setup::default(),
            },
        };
        let mut env = args.env.clone();
        env.extend(store_env);
        let events = events_for(function, &event, 1 + warm, &setup)?;
        let sample = cold_start(binary, &env, &events).await;
        if let Some(dir) = dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        samples.push(
            sample
                .with_context(|| format!("{function} ({})", store.map_or("none", Store::name)))?,
        );
    }
    let batches = match (case.delivery, streams::consumer(function), &run.feed) {
        (Some(delivery), Some(consumer), Some(feed)) => {
            Some((delivery, feed.batch_size(consumer)?))
        }
        _ => None,
    };
    Ok(Row {
        function: function.to_owned(),
        batches,
        store: store.map_or("none", Store::name),
        samples,
    })
}

fn sizes(functions: &[String]) -> anyhow::Result<()> {
    let target = target_dir().join("lambda-size");
    println!("\n| function | arch | stripped bootstrap bytes | zipped bytes |");
    println!("|---|---|---|---|");
    for (arch, flag) in [("x86_64", "--x86-64"), ("arm64", "--arm64")] {
        let mut cmd = std::process::Command::new("cargo");
        cmd.current_dir(workspace())
            .env("CARGO_TARGET_DIR", &target)
            .args(["lambda", "build", "--release"]);
        cmd.arg(flag);
        let measured: Vec<&str> = functions.iter().map(String::as_str).collect();
        for package in packages_of(&measured)? {
            cmd.args(["-p", &package]);
        }
        cmd.args(["-p", "stockroom-bench-floor"]);
        for f in functions.iter().map(String::as_str).chain(["hello"]) {
            cmd.args(["--bin", f]);
        }
        run(&mut cmd)?;
        for f in functions.iter().map(String::as_str).chain(["hello"]) {
            let dir = target.join("lambda").join(f);
            let bootstrap = dir.join("bootstrap");
            let bytes = std::fs::metadata(&bootstrap)
                .with_context(|| format!("no {}", bootstrap.display()))?
                .len();
            let zip = dir.join(format!("bootstrap-{arch}.zip"));
            let _ = std::fs::remove_file(&zip);
            run(std::process::Command::new("zip")
                .args(["-q", "-9", "-j"])
                .arg(&zip)
                .arg(&bootstrap))?;
            println!(
                "| {f} | {arch} | {bytes} | {} |",
                std::fs::metadata(&zip)?.len()
            );
        }
    }
    Ok(())
}

/// Builds what this run measures, into `bins`: `dynamodb/` holds the functions as `sam build`
/// makes them (no embedded store), `embedded/` the same functions with the `embedded` feature,
/// `hello` the floor. Separate cargo runs, because features unify across the packages of one.
/// Only the binaries measured are linked: every release link is an LTO link, about a minute each
/// on two cores.
fn build(args: &Args, bins: &Path) -> anyhow::Result<()> {
    let target = target_dir().join(profile_dir(&args.profile));
    let cargo = |packages: &[&str], features: Option<&str>, binaries: &[&str]| {
        let mut cmd = std::process::Command::new("cargo");
        cmd.current_dir(workspace())
            .args(["build", "--locked", "--profile", &args.profile]);
        for package in packages {
            cmd.args(["-p", package]);
        }
        if let Some(features) = features {
            cmd.args(["--features", features]);
        }
        for bin in binaries {
            cmd.args(["--bin", bin]);
        }
        run(&mut cmd)
    };
    let copy = |binaries: &[&str], to: &Path| -> anyhow::Result<()> {
        std::fs::create_dir_all(to)?;
        for bin in binaries {
            std::fs::copy(target.join(bin), to.join(bin))
                .with_context(|| format!("failed to copy {bin} to {}", to.display()))?;
        }
        Ok(())
    };
    cargo(&["stockroom-bench-floor"], None, &["hello"])?;
    copy(&["hello"], bins)?;
    let functions: Vec<&str> = args.functions.iter().map(String::as_str).collect();
    let packages = packages_of(&functions)?;
    let packages: Vec<&str> = packages.iter().map(String::as_str).collect();
    cargo(&packages, None, &functions)?;
    copy(&functions, &bins.join("dynamodb"))?;
    // Every function but health uses a store; built again with the embedded one.
    let stored: Vec<&str> = functions
        .iter()
        .copied()
        .filter(|f| *f != "health")
        .collect();
    if args.stores.contains(&Store::Embedded) && !stored.is_empty() {
        let packages = packages_of(&stored)?;
        let packages: Vec<&str> = packages.iter().map(String::as_str).collect();
        cargo(&packages, Some("stockroom-store/embedded"), &stored)?;
        copy(&stored, &bins.join("embedded"))?;
    }
    if args.wrk {
        // The dev server as `cargo dev` builds it, whatever --profile says for the functions.
        let mut cmd = std::process::Command::new("cargo");
        cmd.current_dir(workspace()).args([
            "build",
            "--locked",
            "--profile",
            &cargo_dev_profile()?,
            "-p",
            "stockroom-local",
            "--bin",
            "stockroom-dev",
        ]);
        run(&mut cmd)?;
    }
    Ok(())
}

/// The profile the `cargo dev` alias in .cargo/config.toml builds with (`dev` when it names
/// none), so the throughput rows are for what users run.
fn cargo_dev_profile() -> anyhow::Result<String> {
    let config = std::fs::read_to_string(workspace().join(".cargo/config.toml"))?;
    let alias = config
        .lines()
        .find_map(|l| l.trim().strip_prefix("dev = "))
        .context("no `dev` alias in .cargo/config.toml")?;
    let mut words = alias.trim_matches('"').split_whitespace();
    Ok(words
        .by_ref()
        .skip_while(|w| *w != "--profile")
        .nth(1)
        .unwrap_or("dev")
        .to_owned())
}

/// Products `POST /orders` picks from in the throughput run: `bench-0000` to `bench-0999`.
const ORDER_PRODUCTS: usize = 1000;
/// Units of each of them, so no order of the run is refused for stock.
const ORDER_PRODUCT_UNITS: i64 = 1_000_000;
/// Customers the orders are spread over (`cust-0000` to `cust-0999`).
const ORDER_CUSTOMERS: usize = 1000;

/// The start of every wrk script that POSTs JSON bodies: each wrk thread has its own Lua state,
/// seeded apart; the script's `request()` follows.
const WRK_JSON_POST: &str = r#"local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end
function init(args)
  math.randomseed(os.time() * 100 + thread_number)
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
"#;

/// The wrk script of the `POST /orders` run: one line of one unit of a random product for a
/// random customer, no idempotency key. Each wrk thread has its own Lua state, seeded apart.
fn place_order_script(token: &str) -> String {
    format!(
        r#"{WRK_JSON_POST}wrk.headers["Authorization"] = "Bearer {token}"
function request()
  local body = string.format(
    '{{"customer_id":"cust-%04d","items":[{{"product_id":"bench-%04d","quantity":1}}]}}',
    math.random(0, {customers}), math.random(0, {products}))
  return wrk.format(nil, "/orders", nil, body)
end
"#,
        customers = ORDER_CUSTOMERS - 1,
        products = ORDER_PRODUCTS - 1,
    )
}

/// Carts the `POST /carts/{cart_id}/items` run spreads its adds over: `cart-0000` to
/// `cart-0999`.
const WRK_CARTS: usize = 1000;
/// Products each of those carts gets lines for: cart `c` adds to products `c * 5` to
/// `c * 5 + 4` (modulo [`ORDER_PRODUCTS`]), so no cart comes near its 25 lines.
const WRK_CART_LINES: usize = 5;

/// The wrk script of the `POST /carts/{cart_id}/items` run: one unit of one of the cart's
/// [`WRK_CART_LINES`] products to a random cart of [`WRK_CARTS`]. Every line gets about one
/// add in 5,000, so no line comes near the 1000 units it may hold (the run reads back the
/// largest), and the adds land in carts of up to five lines, as a shopper's would.
fn add_cart_item_script(token: &str) -> String {
    format!(
        r#"{WRK_JSON_POST}wrk.headers["Authorization"] = "Bearer {token}"
function request()
  local cart = math.random(0, {carts})
  local product = (cart * {lines} + math.random(0, {last_line})) % {products}
  local body = string.format('{{"product_id":"bench-%04d","quantity":1}}', product)
  return wrk.format(nil, string.format("/carts/cart-%04d/items", cart), nil, body)
end
"#,
        carts = WRK_CARTS - 1,
        lines = WRK_CART_LINES,
        last_line = WRK_CART_LINES - 1,
        products = ORDER_PRODUCTS,
    )
}

/// The customer the scripted runs act as: an administrator, so `POST /orders` may order for
/// the run's many customers; the carts of the cart run are this customer's.
const WRK_CALLER: &str = "bench";

/// A token for [`WRK_CALLER`] in the `admin` group, signed by `binary token` with the key in
/// the server's data directory `dir`.
fn wrk_token(binary: &Path, dir: &Path) -> anyhow::Result<String> {
    let output = std::process::Command::new(binary)
        .args(["token", "--sub", WRK_CALLER, "--admin", "--data-dir"])
        .arg(dir)
        .output()
        .with_context(|| format!("failed to run {} token", binary.display()))?;
    if !output.status.success() {
        bail!(
            "{} token failed: {}",
            binary.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?.trim().to_owned())
}

/// What the `POST /carts/{cart_id}/items` run left in its carts: units over all of them (one
/// per add), the largest line and the most lines of one cart.
struct CartUnits {
    units: u64,
    largest_line: u64,
    most_lines: usize,
}

/// Reads the [`WRK_CARTS`] carts from the store after the server stopped.
async fn cart_units(dir: &Path) -> anyhow::Result<CartUnits> {
    let store = stockroom_store::Store::embedded(SqliteStore::open(
        &dir.join(stockroom_store::config::EMBEDDED_FILE),
    )?);
    let carts = store.carts()?;
    let owner = stockroom_domain::orders::CustomerId::parse(WRK_CALLER)?;
    let now = stockroom_domain::timestamp::now();
    let mut found = CartUnits {
        units: 0,
        largest_line: 0,
        most_lines: 0,
    };
    for i in 0..WRK_CARTS {
        let id = CartId::parse(&format!("cart-{i:04}"))?;
        if let Some(cart) = carts.get_cart(&owner, &id, now).await? {
            found.most_lines = found.most_lines.max(cart.lines.len());
            for line in &cart.lines {
                found.units += line.quantity;
                found.largest_line = found.largest_line.max(line.quantity);
            }
        }
    }
    Ok(found)
}

/// The store the dev server finds in `dir`, made as its first start would (the sample data) plus
/// the products `POST /orders` picks from and their stock. Written before the server starts: a
/// thousand products through curl would take longer than the run.
async fn seed_dev_store(dir: &Path) -> anyhow::Result<()> {
    use stockroom_domain::catalog::{Product, ProductDetails, ProductName};
    use stockroom_domain::inventory::Available;
    use stockroom_domain::{Currency, Price, ProductId};
    std::fs::create_dir_all(dir)?;
    let store = stockroom_store::Store::embedded(SqliteStore::open(
        &dir.join(stockroom_store::config::EMBEDDED_FILE),
    )?);
    stockroom_local::seed::seed(&store).await?;
    let catalog = store.catalog()?;
    let inventory = store.inventory()?;
    for i in 0..ORDER_PRODUCTS {
        let now = stockroom_domain::timestamp::now();
        let id = ProductId::parse(&format!("bench-{i:04}"))?;
        let details = ProductDetails {
            name: ProductName::parse(&format!("Order bench product {i}"))?,
            description: None,
            price: Price::new(100 + i64::try_from(i)?)?,
            currency: Currency::parse("USD")?,
            category: None,
        };
        catalog
            .create_product(&Product::new(id.clone(), details, now))
            .await?;
        inventory
            .set_stock(&id, Available::new(ORDER_PRODUCT_UNITS)?, now)
            .await?;
    }
    Ok(())
}

/// Units reserved over the `POST /orders` products, read from the store after the server
/// stopped: one per order placed.
async fn reserved_units(dir: &Path) -> anyhow::Result<u64> {
    let store = stockroom_store::Store::embedded(SqliteStore::open(
        &dir.join(stockroom_store::config::EMBEDDED_FILE),
    )?);
    let inventory = store.inventory()?;
    let mut reserved = 0;
    for i in 0..ORDER_PRODUCTS {
        let id = stockroom_domain::ProductId::parse(&format!("bench-{i:04}"))?;
        if let Some(level) = inventory.get_stock(&id).await? {
            reserved += level.reserved;
        }
    }
    Ok(reserved)
}

/// What one wrk run printed.
struct WrkRun {
    text: String,
}

impl WrkRun {
    fn run(args: &[&str]) -> anyhow::Result<Self> {
        let output = std::process::Command::new("wrk")
            .args(args)
            .output()
            .context("failed to run wrk (apt-get install wrk)")?;
        if !output.status.success() {
            bail!(
                "wrk {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(Self {
            text: String::from_utf8_lossy(&output.stdout).into_owned(),
        })
    }

    fn field(&self, prefix: &str) -> String {
        self.text
            .lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| String::from("?"))
    }

    /// Responses wrk counted (`N requests in 10.00s`).
    fn requests(&self) -> Option<u64> {
        self.text
            .lines()
            .find(|l| l.contains(" requests in "))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    }

    /// Responses other than 2xx and 3xx: wrk prints the line only when there were some.
    fn non_2xx(&self) -> u64 {
        self.field("Non-2xx or 3xx responses:").parse().unwrap_or(0)
    }

    /// Connect, read, write and timeout errors, as wrk prints them, or "0".
    fn socket_errors(&self) -> String {
        let errors = self.field("Socket errors:");
        if errors == "?" {
            String::from("0")
        } else {
            errors
        }
    }
}

/// wrk against the dev server as `cargo dev` runs it: its profile, its default log level (a
/// line per request), output to /dev/null rather than a terminal. Reads at 64 connections, then
/// `POST /orders` and `POST /carts/{cart_id}/items` at 16 (each one an immediate SQLite write
/// transaction, which serialise).
async fn throughput() -> anyhow::Result<()> {
    let profile = cargo_dev_profile()?;
    println!("\ndev server built with the `cargo dev` profile: {profile}");
    let binary = target_dir()
        .join(profile_dir(&profile))
        .join("stockroom-dev");
    let dir = std::env::temp_dir().join(format!("stockroom-wrk-{}", ulid::Ulid::new()));
    seed_dev_store(&dir).await?;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let mut server = tokio::process::Command::new(&binary)
        .args(["--port", &port.to_string(), "--data-dir"])
        .arg(&dir)
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("failed to start {}", binary.display()))?;
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // An administrator's token from the server's own key (`cargo dev token`): the writes below,
    // the protected GET run and the scripted runs need one.
    let token = wrk_token(&binary, &dir)?;
    let authorization = format!("Authorization: Bearer {token}");
    // Enough products that a page of 50 is full.
    for i in 0..60 {
        let body = format!(
            r#"{{"id":"bench-{i:03}","name":"Bench product {i}","price":{}}}"#,
            100 + i
        );
        run(std::process::Command::new("curl").args([
            "-fsS",
            "-o",
            "/dev/null",
            "-H",
            "content-type: application/json",
            "-H",
            &authorization,
            "-d",
            &body,
            &format!("{base}/products"),
        ]))?;
    }
    // The authorizer's cost: a protected read of the same size as the public one, with the
    // administrator's token (an RS256 verification, then the handler) and with that token's
    // signature altered (the verification fails: API Gateway's 401, no handler).
    let forged = {
        // A character well inside the signature: the last one also holds padding bits.
        let at = token.len().saturating_sub(10);
        let swapped = if token[at..].starts_with('A') {
            "B"
        } else {
            "A"
        };
        format!(
            "Authorization: Bearer {}{swapped}{}",
            &token[..at],
            &token[at + 1..]
        )
    };
    println!("\n| dev server (wrk -t2 -c64 -d10s) | requests/s | p50 ms | p99 ms | non-2xx |");
    println!("|---|---|---|---|---|");
    for (label, path, header) in [
        ("public", "/products/sku-mug", None),
        ("public", "/products?limit=50", None),
        ("admin token", "/stock/sku-mug", Some(&authorization)),
        ("forged token, 401", "/stock/sku-mug", Some(&forged)),
    ] {
        let url = format!("{base}{path}");
        let mut wrk_args = vec!["-t2", "-c64", "-d10s", "--latency", &url];
        if let Some(header) = header {
            wrk_args.extend(["-H", header.as_str()]);
        }
        let wrk = WrkRun::run(&wrk_args)?;
        println!(
            "| GET {path} ({label}) | {} | {} | {} | {} |",
            wrk.field("Requests/sec:"),
            wrk.field("50%"),
            wrk.field("99%"),
            wrk.non_2xx(),
        );
    }

    println!(
        "\n| dev server (wrk -t2 -c16 -d10s --latency -s SCRIPT) | requests/s | p50 ms | p99 ms | responses | non-2xx | socket errors |"
    );
    println!("|---|---|---|---|---|---|---|");
    let write_run = |name: &str, script: String, label: String| -> anyhow::Result<WrkRun> {
        let path = dir.join(name);
        std::fs::write(&path, script)?;
        let path = path.display().to_string();
        let wrk = WrkRun::run(&["-t2", "-c16", "-d10s", "--latency", "-s", &path, &base])?;
        println!(
            "| {label} | {} | {} | {} | {} | {} | {} |",
            wrk.field("Requests/sec:"),
            wrk.field("50%"),
            wrk.field("99%"),
            wrk.requests().map_or(String::from("?"), |n| n.to_string()),
            wrk.non_2xx(),
            wrk.socket_errors(),
        );
        Ok(wrk)
    };
    let orders = write_run(
        "place_order.lua",
        place_order_script(&token),
        format!("POST /orders ({ORDER_PRODUCTS} products, 1 unit; place_order.lua)"),
    )?;
    let carts = write_run(
        "add_cart_item.lua",
        add_cart_item_script(&token),
        format!(
            "POST /carts/{{cart_id}}/items ({WRK_CARTS} carts x {WRK_CART_LINES} products, 1 unit; add_cart_item.lua)"
        ),
    )?;
    server.kill().await.ok();
    server.wait().await.ok();
    // Every 201 reserved one unit, and every cart add added one; the server may also have
    // finished requests wrk stopped waiting for at the end (at most one per connection).
    let counted = |wrk: &WrkRun| wrk.requests().map_or(String::from("?"), |n| n.to_string());
    let reserved = reserved_units(&dir).await?;
    println!(
        "Units reserved over the {ORDER_PRODUCTS} products after the run: {reserved} (wrk counted {} orders responses, {} of them non-2xx).",
        counted(&orders),
        orders.non_2xx(),
    );
    let in_carts = cart_units(&dir).await?;
    println!(
        "Units in the {WRK_CARTS} carts after the run: {} (wrk counted {} add responses, {} of them non-2xx); the largest line holds {} units, the fullest cart {} lines.",
        in_carts.units,
        counted(&carts),
        carts.non_2xx(),
        in_carts.largest_line,
        in_carts.most_lines,
    );
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = parse_args()?;
    args.env = template_env()?;
    let bins = target_dir().join("bench-bin").join(&args.profile);
    if args.build {
        build(&args, &bins)?;
    }
    println!(
        "Stockroom benchmark: profile {}, {} cold starts per function, {} warm calls, {} cores, \
         span export {}",
        args.profile,
        args.iterations,
        args.warm,
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
            .map_or_else(|_| "off".to_owned(), |e| format!("to {e}")),
    );

    let mut run = Run::default();
    let floor = Case {
        function: String::from("hello"),
        delivery: None,
    };
    let floor = measure(&bins.join("hello"), &floor, None, &args, &mut run).await?;
    let mut rows = Vec::new();
    for function in &args.functions {
        let stores: Vec<Option<Store>> = if function == "health" {
            vec![None]
        } else {
            args.stores.iter().copied().map(Some).collect()
        };
        for case in Case::of(function) {
            for store in &stores {
                // Each store measures the binary that runs against it: DynamoDB the Lambda
                // artifact, the embedded store the `embedded` build `cargo lambda watch` runs.
                let dir = bins.join(store.map_or("dynamodb", Store::name));
                let binary = dir.join(function);
                rows.push(measure(&binary, &case, *store, &args, &mut run).await?);
            }
        }
    }
    print_table(rows.iter().filter(|r| r.batches.is_none()), &floor);
    print_batch_table(rows.iter().filter(|r| r.batches.is_some()), &floor);
    print_answers(&rows);
    print_emf(&rows);
    // A function that errs, answers 5xx or fails stream records is broken, not slow, and so is a
    // stream consumer that did other than its row says (sent what it should have found sent, or
    // the reverse): the figures above mean nothing.
    let mut broken: Vec<String> = std::iter::once(&floor)
        .chain(&rows)
        .filter(|r| r.samples.iter().any(|s| is_failure(&s.first_status)))
        .map(|r| format!("{} ({}) failed its first call", r.name(), r.store))
        .collect();
    for row in &rows {
        // Every API function counts its requests in EMF: a row without them lost its metrics.
        if row.batches.is_none()
            && row
                .samples
                .iter()
                .any(|s| !s.emf.contains(stockroom_telemetry::metrics::HTTP_REQUESTS))
        {
            broken.push(format!(
                "{} ({}) printed no {} metric",
                row.name(),
                row.store,
                stockroom_telemetry::metrics::HTTP_REQUESTS
            ));
        }
        if let Some((done, expected)) = row.handled()
            && done != expected
        {
            broken.push(format!(
                "{} ({}) logged {done:?} where its batches needed {expected:?}",
                row.name(),
                row.store
            ));
        }
    }
    if !broken.is_empty() {
        bail!("broken rows: {}", broken.join("; "));
    }

    if args.sizes {
        sizes(&args.sizes_of)?;
    }
    if args.wrk {
        throughput().await?;
    }
    Ok(())
}

/// The metrics each row's functions printed as EMF (every document checked by [`emf::check`]).
fn print_emf(rows: &[Row]) {
    println!(
        "\nEMF metrics (namespace {}), every document valid:",
        stockroom_telemetry::metrics::NAMESPACE
    );
    for row in rows {
        let metrics: std::collections::BTreeSet<&str> = row
            .samples
            .iter()
            .flat_map(|s| s.emf.iter().map(String::as_str))
            .collect();
        let metrics: Vec<&str> = metrics.into_iter().collect();
        println!(
            "- {} ({}): {}",
            row.name(),
            row.store,
            if metrics.is_empty() {
                "none".to_owned()
            } else {
                metrics.join(", ")
            }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wrk_scripts_seed_each_thread_and_post_json_to_their_route() {
        for (script, route) in [
            (place_order_script("t0k3n"), r#""/orders""#),
            (add_cart_item_script("t0k3n"), r#""/carts/cart-%04d/items""#),
        ] {
            let (prelude, request) = script.split_at(WRK_JSON_POST.len());
            assert_eq!(prelude, WRK_JSON_POST);
            let request = request
                .strip_prefix("wrk.headers[\"Authorization\"] = \"Bearer t0k3n\"\n")
                .unwrap_or_else(|| panic!("no token header in {script}"));
            assert!(request.starts_with("function request()\n"), "{script}");
            assert!(request.contains(route), "{script}");
            assert!(!request.contains("{{"), "unformatted braces in {script}");
        }
    }
}
