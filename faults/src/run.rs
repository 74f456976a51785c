//! A faults run: fresh tables in the DynamoDB-compatible server, the shop's functions serving the
//! API over a store that reaches them through the fault proxy, careful shoppers ordering and
//! checking out, the tables' streams handed to the notification consumers (their store behind
//! the proxy too, their topic failing as SNS can), then the audit.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context as _;
use stockroom_local::auth::SigningKeyPair;
use stockroom_local::server::App;
use stockroom_notifications::{Consumers, StreamConsumer};
use stockroom_store::testing::{DynamoDbShop, stocked, streams, workspace};

use crate::audit::{Findings, audit};
use crate::feed::{Delivery, FifoTopic, deliver};
use crate::proxy::{Counts, Fault, FaultProxy, Plan};
use crate::shop::{Api, Ledger, Shopper, lock};

/// What a run does.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Shoppers at once.
    pub shoppers: usize,
    /// Orders and checkouts each shopper attempts.
    pub intents: usize,
    pub products: usize,
    /// Each product's stock at the start: less than the shoppers ask for, so some orders are
    /// refused and "oversold" has something to guard.
    pub stock: u64,
    /// The share of DynamoDB requests faulted (and of SNS publishes failed).
    pub rate: f64,
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            shoppers: 8,
            intents: 24,
            products: 4,
            stock: 60,
            rate: 0.2,
            seed: 7,
        }
    }
}

/// What a run saw and what its audit found.
#[derive(Debug)]
pub struct Report {
    pub settings: Settings,
    pub seconds: f64,
    /// What the proxy injected while the shoppers ran.
    pub shop_faults: Counts,
    /// What it injected while the consumers ran.
    pub feed_faults: Counts,
    pub ledger: Ledger,
    pub requests: u64,
    pub unanswered: u64,
    pub server_errors: u64,
    pub bare_5xx: u64,
    pub retries: u64,
    pub found_applied: u64,
    pub delivery: Delivery,
    pub sns_failed_before: u64,
    pub sns_failed_after: u64,
    pub findings: Findings,
}

impl Report {
    pub fn injected(&self) -> u64 {
        self.shop_faults.total_injected() + self.feed_faults.total_injected()
    }

    /// Whether nothing was lost, doubled or oversold, every 5xx told the client when to come
    /// back, and every request got a definite answer a careful client could act on.
    pub fn clean(&self) -> bool {
        self.findings.lost == 0
            && self.findings.duplicated == 0
            && self.findings.oversold == 0
            && self.bare_5xx == 0
            && self.ledger.unresolved.is_empty()
            && self.ledger.unexpected.is_empty()
            && self.delivery.dead_lettered == 0
    }

    /// The report's last line, what `./scripts/faults` ends with.
    pub fn summary(&self) -> String {
        format!(
            "faults: injected {}; acknowledged {}; lost {}; duplicated {}; oversold {}; 5xx-without-retry-after {}",
            self.injected(),
            self.ledger.orders.len(),
            self.findings.lost,
            self.findings.duplicated,
            self.findings.oversold,
            self.bare_5xx
        )
    }

    /// Everything before the last line: the faults by kind, what the shoppers and consumers
    /// met, and each problem found.
    pub fn details(&self) -> Vec<String> {
        let s = &self.settings;
        let mut out = vec![format!(
            "{} shoppers x {} orders or checkouts over {} products of {} units, {:.0}% of DynamoDB requests faulted (seed {}), {:.1} s",
            s.shoppers,
            s.intents,
            s.products,
            s.stock,
            s.rate * 100.0,
            s.seed,
            self.seconds
        )];
        for (phase, counts) in [
            ("shop", &self.shop_faults),
            ("consumers", &self.feed_faults),
        ] {
            let requests: u64 = counts.requests.values().sum();
            let by_kind: Vec<String> = Fault::ALL
                .iter()
                .map(|f| format!("{} {}", f.name(), counts.of(*f)))
                .collect();
            out.push(format!(
                "{phase}: {requests} DynamoDB requests, {} faulted: {}",
                counts.total_injected(),
                by_kind.join(", ")
            ));
        }
        out.push(format!(
            "shoppers: {} requests, {} unanswered, {} 5xx ({} without Retry-After), {} sent again, {} unanswered writes found applied on reading; {} orders acknowledged ({} cancelled), {} refused for stock, {} in the tables",
            self.requests,
            self.unanswered,
            self.server_errors,
            self.bare_5xx,
            self.retries,
            self.found_applied,
            self.ledger.orders.len(),
            self.ledger.orders.values().filter(|o| o.cancelled).count(),
            self.ledger.refused,
            self.findings.orders
        ));
        out.push(format!(
            "consumers: {} stream records in {} invocations ({} retried from a failed item, {} dead-lettered); SNS failed {} publishes before and {} after publishing; {} notifications recorded, {} published more than once (dropped by the FIFO topic's deduplication)",
            self.delivery.records,
            self.delivery.invocations,
            self.delivery.retried,
            self.delivery.dead_lettered,
            self.sns_failed_before,
            self.sns_failed_after,
            self.findings.notifications,
            self.findings.republished
        ));
        for what in &self.ledger.unresolved {
            out.push(format!("unresolved: {what}"));
        }
        for what in &self.ledger.unexpected {
            out.push(format!("unexpected answer: {what}"));
        }
        out.extend(self.findings.problems.iter().cloned());
        out
    }
}

/// Runs the shop through the fault proxy to the DynamoDB-compatible server at
/// `AWS_ENDPOINT_URL_DYNAMODB`, then audits it.
///
/// # Errors
/// When the server, the tables or the API cannot be set up, or a table cannot be read.
pub async fn run(settings: Settings) -> anyhow::Result<Report> {
    let started = Instant::now();
    let upstream = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .context("AWS_ENDPOINT_URL_DYNAMODB names no DynamoDB-compatible server")?;
    let shop = DynamoDbShop::open().await;
    let products: Vec<String> = (0..settings.products)
        .map(|i| format!("faults-sku-{i}"))
        .collect();
    let stock = i64::try_from(settings.stock)?;
    let stocked_products: Vec<(&str, i64)> = products.iter().map(|p| (p.as_str(), stock)).collect();
    stocked(&shop.store, &stocked_products).await;
    let initial: BTreeMap<String, u64> = products
        .iter()
        .map(|p| (p.clone(), settings.stock))
        .collect();

    let proxy = FaultProxy::start(&upstream, Plan::none()).await?;
    let faulty = shop
        .store
        .with_client(stockroom_store::dynamodb::client_at(&proxy.endpoint())?)
        .context("a DynamoDB store")?;
    let keys = SigningKeyPair::generate()?;
    let routes = stockroom_local::template::load(&workspace().join("template.yaml"))?;
    let openapi = std::fs::read_to_string(workspace().join("openapi.yaml"))?;
    let app = Arc::new(App::new(routes, faulty.clone(), openapi, &keys)?);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(stockroom_local::server::serve(listener, app, async {
        stopped.await.ok();
    }));

    // The shoppers, with every fault on.
    proxy.set_plan(Plan::rate(settings.rate, settings.seed));
    let api = Arc::new(Api::new(&base)?);
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let now = chrono::Utc::now().timestamp();
    let mut shoppers = tokio::task::JoinSet::new();
    for i in 0..settings.shoppers {
        let customer = format!("faults-shopper-{i}");
        let shopper = Shopper {
            token: keys.token(&customer, false, now, 3600),
            customer,
            intents: settings.intents,
            seed: settings.seed.wrapping_mul(1000).wrapping_add(i as u64),
        };
        let (api, ledger, products) = (api.clone(), ledger.clone(), products.clone());
        shoppers.spawn(async move { shopper.run(&api, &products, &ledger).await });
    }
    while let Some(done) = shoppers.join_next().await {
        done.context("a shopper panicked")?;
    }
    let shop_faults = proxy.counts();
    stop.send(()).ok();
    server.await??;

    // The streams, to the consumers, with every fault on for their store and their topic.
    proxy.set_plan(Plan::rate(settings.rate, settings.seed.wrapping_add(1)));
    let topic = Arc::new(FifoTopic::new(settings.rate, settings.seed));
    let consumers = Consumers {
        store: faulty.notifications()?,
        notifier: topic.clone(),
        low_stock_threshold: settings.stock / 4,
    };
    let mut delivery = Delivery::default();
    for (consumer, table) in [
        (
            StreamConsumer::OnOrderChange,
            stockroom_store::orders::TABLE,
        ),
        (
            StreamConsumer::OnStockChange,
            stockroom_store::inventory::TABLE,
        ),
    ] {
        let records = streams::records(shop.name(table)).await;
        deliver(consumer, &consumers, &records, &mut delivery).await?;
    }
    let feed_faults = proxy.counts().since(&shop_faults);
    proxy.set_plan(Plan::none());

    let ledger = std::mem::take(&mut *lock(&ledger));
    let findings = audit(&shop.store, &ledger, &initial, &topic.published()).await?;
    let tally = &api.tally;
    let load = |n: &std::sync::atomic::AtomicU64| n.load(std::sync::atomic::Ordering::Relaxed);
    Ok(Report {
        settings,
        seconds: started.elapsed().as_secs_f64(),
        shop_faults,
        feed_faults,
        ledger,
        requests: load(&tally.requests),
        unanswered: load(&tally.unanswered),
        server_errors: load(&tally.server_errors),
        bare_5xx: load(&tally.bare_5xx),
        retries: load(&tally.retries),
        found_applied: load(&tally.found_applied),
        delivery,
        sns_failed_before: load(&topic.failed_before),
        sns_failed_after: load(&topic.failed_after),
        findings,
    })
}
