//! `kill -9` of the dev server in the middle of a burst of orders, then a restart on the same
//! data directory: every order answered 201 is there, none answered 409 is, stock is conserved,
//! and the change feed picks up where it was cut off, each order's confirmation recorded once
//! and sent.
//!
//! Sent once, but for one: a consumer records a notification, sends it, then marks it sent, and
//! a kill between the send and the mark leaves it recorded unsent, so the restarted feed sends
//! it again, with the same notification id. In AWS that id is the SNS FIFO topic's
//! deduplication id and the resend is dropped there; the dev server's log shows it twice. The
//! test allows exactly that: a notification sent once before the kill and once after, at most
//! one per stream consumer (each handles one record at a time).
//!
//! The shoppers are careful clients: each order carries an Idempotency-Key, and the one in
//! flight when the server died (no answer) is sent again with the same key after the restart,
//! so every order ends with a definite answer and the tables can be held to them exactly.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use stockroom_domain::notifications::Delivery;
use stockroom_domain::orders::OrderStatus;
use stockroom_local::auth::SigningKeyPair;
use stockroom_notifications::StreamConsumer;
use stockroom_store::Store;
use stockroom_store::sqlite::SqliteStore;

use crate::support::{free_port, recorded, token, wait_for_port};

const SHOPPERS: usize = 16;
/// Every other order is for each: one with stock for the whole burst, one that sells out in
/// its first moments, so the kill meets placements and refusals alike.
const PRODUCTS: [(&str, u64); 2] = [("sku-burst", 1_000_000), ("sku-scarce", 40)];
/// How long the burst runs before the kill.
const BURST: Duration = Duration::from_millis(2500);

/// `cargo dev` on `data_dir` at `port`, its log (info: every notification it sends) to `log`.
fn start(data_dir: &Path, port: u16, log: &Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    Command::new(env!("CARGO_BIN_EXE_stockroom-dev"))
        .args(["--port", &port.to_string(), "--data-dir"])
        .arg(data_dir)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null())
        .spawn()
        .expect("the dev server starts")
}

/// What one shopper was told.
#[derive(Debug, Default)]
struct Told {
    /// Order ids, by product.
    placed: BTreeMap<&'static str, Vec<String>>,
    refused: usize,
    /// The order in flight when the server died: its key and product, unanswered.
    unanswered: Option<(String, &'static str)>,
}

async fn order(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    key: &str,
    product: &str,
) -> Option<(u16, Value)> {
    let response = http
        .post(format!("{base}/orders"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&json!({"items": [{"product_id": product, "quantity": 1}]}))
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.ok()?;
    Some((status, body))
}

fn record(told: &mut Told, key: &str, product: &'static str, status: u16, body: &Value) {
    match status {
        201 => told
            .placed
            .entry(product)
            .or_default()
            .push(body["id"].as_str().unwrap().to_owned()),
        409 => told.refused += 1,
        _ => panic!("{key}: {status} {body}"),
    }
}

/// One shopper ordering one unit at a time until the server stops answering.
async fn shop(http: reqwest::Client, base: String, token: String, customer: String) -> Told {
    let mut told = Told::default();
    for n in 0.. {
        let key = format!("{customer}-{n}");
        let product = PRODUCTS[n % PRODUCTS.len()].0;
        match order(&http, &base, &token, &key, product).await {
            Some((status, body)) => record(&mut told, &key, product, status, &body),
            None => {
                told.unanswered = Some((key, product));
                return told;
            }
        }
    }
    told
}

/// How often each notification id was sent (logged by the dev server's notifier) in `log`.
fn sent(log: &Path) -> BTreeMap<String, usize> {
    let mut sent = BTreeMap::new();
    let text = std::fs::read_to_string(log).unwrap();
    for line in text.lines().filter(|l| l.contains("notification sent")) {
        let id = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("notification_id="))
            .unwrap_or_else(|| panic!("a sent line names its notification: {line}"));
        *sent.entry(id.to_owned()).or_default() += 1;
    }
    sent
}

/// Every order of `customer` in `store`: id -> status.
async fn orders_of(store: &Store, customer: &str) -> BTreeMap<String, OrderStatus> {
    stockroom_store::testing::orders_of(store, customer)
        .await
        .unwrap()
        .into_iter()
        .map(|o| (o.id.to_string(), o.status))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dev_server_killed_mid_burst_keeps_every_answer_and_confirms_every_order() {
    let root = std::env::temp_dir().join(format!("stockroom-kill-{}", ulid::Ulid::new()));
    let data_dir = root.join("data");
    let (first_log, second_log) = (root.join("first.log"), root.join("second.log"));
    std::fs::create_dir_all(&root).unwrap();
    let port = free_port();
    let mut dev = start(&data_dir, port, &first_log);
    wait_for_port(port).await;
    let base = format!("http://127.0.0.1:{port}");
    let keys = SigningKeyPair::load_or_create(&data_dir).unwrap();
    let admin = token(&keys, "ops", true);
    let http = reqwest::Client::new();
    for (product, stock) in PRODUCTS {
        let created = http
            .post(format!("{base}/products"))
            .bearer_auth(&admin)
            .json(&json!({"id": product, "name": product, "price": 100}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
        let stocked = http
            .put(format!("{base}/stock/{product}"))
            .bearer_auth(&admin)
            .json(&json!({"available": stock}))
            .send()
            .await
            .unwrap();
        assert_eq!(stocked.status(), 200);
    }

    // The burst, then kill -9 (Child::kill is SIGKILL) while it is in full flight.
    let customers: Vec<String> = (0..SHOPPERS).map(|i| format!("burst-{i}")).collect();
    let tokens: Arc<Vec<String>> =
        Arc::new(customers.iter().map(|c| token(&keys, c, false)).collect());
    let shoppers: Vec<_> = customers
        .iter()
        .enumerate()
        .map(|(i, customer)| {
            tokio::spawn(shop(
                http.clone(),
                base.clone(),
                tokens[i].clone(),
                customer.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(BURST).await;
    dev.kill().unwrap();
    dev.wait().unwrap();
    let mut told = Vec::new();
    for shopper in shoppers {
        told.push(shopper.await.unwrap());
    }

    // The restart, and each unanswered order sent again with its key.
    let port = free_port();
    let mut dev = start(&data_dir, port, &second_log);
    wait_for_port(port).await;
    let base = format!("http://127.0.0.1:{port}");
    let mut resent_orders = 0;
    for (i, told) in told.iter_mut().enumerate() {
        if let Some((key, product)) = told.unanswered.take() {
            let (status, body) = order(&http, &base, &tokens[i], &key, product)
                .await
                .unwrap();
            record(told, &key, product, status, &body);
            resent_orders += 1;
        }
    }
    let placed: BTreeSet<String> = told
        .iter()
        .flat_map(|t| t.placed.values().flatten().cloned())
        .collect();
    let placed_of = |product: &str| -> u64 {
        told.iter()
            .map(|t| t.placed.get(product).map_or(0, Vec::len) as u64)
            .sum()
    };
    let refused: usize = told.iter().map(|t| t.refused).sum();
    assert!(placed.len() > 100, "a burst: {} orders", placed.len());
    assert_eq!(
        resent_orders, SHOPPERS,
        "every shopper was cut off mid-order"
    );

    // The feed catches up: every order's confirmation recorded and sent.
    let store = Store::embedded(
        SqliteStore::open(&data_dir.join(stockroom_store::config::EMBEDDED_FILE)).unwrap(),
    );
    let expected: BTreeSet<String> = placed
        .iter()
        .map(|id| format!("order_confirmation:{id}"))
        .collect();
    let mut notifications = BTreeMap::new();
    for _ in 0..600 {
        notifications = recorded(&store).await;
        if expected
            .iter()
            .all(|id| notifications.get(id) == Some(&Delivery::Sent))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    dev.kill().unwrap();
    dev.wait().unwrap();

    // Every order answered 201 is there, and nothing else (none refused, none doubled).
    let mut in_table = BTreeMap::new();
    for customer in &customers {
        in_table.extend(orders_of(&store, customer).await);
    }
    let in_table_ids: BTreeSet<String> = in_table.keys().cloned().collect();
    assert_eq!(
        in_table_ids, placed,
        "the tables hold exactly the acknowledged orders"
    );
    assert!(in_table.values().all(|s| *s == OrderStatus::Confirmed));

    // Stock conserved: one unit reserved per order, the rest available.
    for (product, stock) in PRODUCTS {
        let level = store
            .inventory()
            .unwrap()
            .get_stock(&stockroom_store::testing::build::id(product))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(level.reserved, placed_of(product), "{product}");
        assert_eq!(level.available + level.reserved, stock, "{product}");
    }
    assert_eq!(placed_of("sku-scarce"), 40, "the scarce product sold out");
    assert!(refused > 0, "orders of the sold-out product were refused");

    // Each confirmation recorded as sent, and sent exactly once across both lives.
    let unsent: Vec<_> = expected
        .iter()
        .filter(|id| notifications.get(*id) != Some(&Delivery::Sent))
        .collect();
    assert!(unsent.is_empty(), "not recorded as sent: {unsent:?}");
    let (before, after) = (sent(&first_log), sent(&second_log));
    let never_sent: Vec<_> = expected
        .iter()
        .filter(|id| !before.contains_key(*id) && !after.contains_key(*id))
        .collect();
    assert!(never_sent.is_empty(), "never sent: {never_sent:?}");
    let twice_in_one_life: Vec<_> = before
        .iter()
        .chain(&after)
        .filter(|(_, n)| **n > 1)
        .collect();
    assert!(
        twice_in_one_life.is_empty(),
        "sent twice by one process: {twice_in_one_life:?}"
    );
    let resent: Vec<_> = before.keys().filter(|id| after.contains_key(*id)).collect();
    assert!(
        resent.len() <= StreamConsumer::ALL.len(),
        "only what was in flight at the kill is sent again: {resent:?}"
    );
    println!(
        "killed after {BURST:?}: {} orders acknowledged ({resent_orders} of them answered after the restart), {refused} refused, {} confirmations recorded and sent, {} sent again after the restart",
        placed.len(),
        expected.len(),
        resent.len()
    );
    std::fs::remove_dir_all(&root).ok();
}
