//! What each call of a function is sent, and what the store needs for it, so every call does
//! the work of the first rather than answering from what an earlier call did.

use anyhow::{Context as _, bail};
use serde_json::Value;
use stockroom_domain::carts::CartId;
use stockroom_domain::orders::OrderId;
use stockroom_store::testing::workspace;

use crate::measure::Case;
use crate::prepare::{BENCH_CUSTOMER, LIST_ORDERS_LIMIT, fill_cart, place};
use crate::streams;

/// The sample event for `function`, adjusted so repeating it measures the same work: a create
/// without an id makes a new product every time. See [`events_for`] for the orders and carts
/// functions.
pub fn event_for(function: &str) -> anyhow::Result<Value> {
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
pub fn events_for(
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

/// What [`prepare_function`] made for one cold start's calls, one per call.
#[derive(Debug, Default)]
pub struct Setup {
    /// Confirmed orders, for the status changes.
    pub orders: Vec<OrderId>,
    /// Carts with the sample cart's lines, for adding to and checking out.
    pub carts: Vec<CartId>,
    /// Stream events of fresh records, for the stream consumers.
    pub batches: Vec<Value>,
}

/// What `function`'s calls need in the store besides [`crate::prepare::seed`], so each of
/// `invocations` calls does the same work: a confirmed order of its own for every status change and a filled cart
/// of its own for every cart change but a set (see [`events_for`]), a full page of the sample
/// customer's orders for `list_orders` (the seed has one; on DynamoDB, whose tables live for
/// the whole run, they only add up), and a batch of fresh stream records for every call of a
/// stream consumer, handled beforehand in this store for a replay (see [`streams::batches`]).
pub async fn prepare_function(
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
