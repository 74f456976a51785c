//! What each call of a function is sent, and what its store is given for it, derived from the
//! function's own `events/<binary>.json` sample and template.yaml rather than from its name: a
//! new endpoint's sample decides its workload, and the bench needs no edit for it.
//!
//! Every call must do the work of the first, not answer from what an earlier call did (a
//! replay, a 404, a 409). The rules, each with the samples it applies to today:
//!
//! - **A create that names its id** (a `POST` whose JSON body has a top-level `id`): the id is
//!   removed, so the function assigns one and every call creates a new row; with the sample's
//!   id every call after the first would answer 409. (`create_product`)
//! - **A change of the sample order** (the sample names [`SAMPLE_ORDER`], and its method is
//!   one that changes what it names: `POST`, `PATCH` or `DELETE`): each call changes a
//!   confirmed order of its own, placed before the cold start, since an order changes status
//!   once and the sample order would answer 409 from the second call on. The order is the
//!   sample customer's, as the sample order is, so whoever the sample's caller is (the
//!   customer, or an administrator) may change it: a customer reaches only their own orders,
//!   and another's answers 404. (`update_order_status`, `cancel_order`)
//! - **A change of the sample cart** (names [`SAMPLE_CART`]; `POST`, `PATCH` or `DELETE`): each
//!   call gets a cart of its own with the sample cart's lines, since a checkout empties its
//!   cart (the next would answer 409), a line is removed and a cart deleted once (404 after),
//!   and adds to one cart would reach the 1000 units a line holds. (`add_cart_item`,
//!   `checkout`, `remove_cart_item`, `delete_cart`)
//! - **An idempotency key** (an `idempotency-key` header): each call sends the sample's key
//!   with a unique suffix, so every call places (and records the key of) a new order; with the
//!   sample's one key every call after the first would be an idempotent replay, which writes
//!   nothing. (`place_order`, and `checkout` on top of its own cart)
//! - **A page of the sample customer's orders** (a `GET` whose query names
//!   [`SAMPLE_CUSTOMER`] and asks a `limit`): that many more orders of the sample customer are
//!   placed before each cold start, so the page is full on both stores (the seed has one; on
//!   DynamoDB, whose tables live for the whole run, they only add up). Orders are the only rows
//!   listed by customer. (`list_orders`)
//! - **A stream consumer** (template.yaml gives the function a DynamoDB stream event): each
//!   call gets a batch of the stream's `BatchSize` fresh records of its own instead of the
//!   sample ([`streams::batches`]), handled beforehand for a replay: the samples are two and
//!   three records (one of the stock sample's crosses the threshold), not a full batch, and
//!   would be replays from the second call on. (`on_order_change`, `on_stock_change`)
//!
//! A `GET` reads and a `PUT` sets what its body says, so repeating either on the sample's
//! order or cart does the same work every time; those keep the sample as it is (`get_cart`,
//! `set_cart_item`, `get_order`, `list_notifications`), as do the reads and stock moves of the
//! seeded products, which [`crate::prepare::seed`] gives a million units.
//!
//! One case is not data: the floor ([`crate::build::FLOOR`]) is no template function and has no
//! sample of its own, so [`SAMPLE_OF`] gives it health's, the smallest API event.

use anyhow::{Context as _, ensure};
use serde_json::Value;
use stockroom_domain::carts::CartId;
use stockroom_domain::orders::OrderId;
use stockroom_local::seed::{SAMPLE_CART, SAMPLE_CUSTOMER, SAMPLE_ORDER};
use stockroom_notifications::StreamConsumer;
use stockroom_store::testing::workspace;

use crate::prepare::{fill_cart, place};
use crate::streams::{self, Delivery};

/// The functions whose sample is not `events/<binary>.json`, and whose: only the floor, which
/// answers any event and has none.
const SAMPLE_OF: &[(&str, &str)] = &[(crate::build::FLOOR, "health")];

/// The header whose value a function remembers a request by.
const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The query parameter a list's page size is asked with.
const LIMIT: &str = "limit";

/// What every call of one function is sent, and what its store needs for it (see the module's
/// rules).
#[derive(Debug, Clone)]
pub struct Workload {
    function: String,
    /// The sample with a create's id removed: what every call starts from.
    event: Value,
    /// The sample's idempotency key, sent with a unique suffix by every call.
    key: Option<String>,
    /// Every call changes a confirmed order of its own in place of the sample order.
    own_order: bool,
    /// Every call changes a filled cart of its own in place of the sample cart.
    own_cart: bool,
    /// Orders of the sample customer placed before each cold start, to fill a page.
    page: usize,
    /// The consumer of the stream template.yaml delivers to the function, if any.
    stream: Option<StreamConsumer>,
}

/// What [`Workload::prepare`] made in the store for one cold start's calls, one per call.
#[derive(Debug, Default)]
pub struct Setup {
    /// Confirmed orders, for the changes of the sample order.
    orders: Vec<OrderId>,
    /// Carts with the sample cart's lines, for the changes of the sample cart.
    carts: Vec<CartId>,
    /// Stream events of fresh records, for a stream consumer.
    batches: Vec<Value>,
}

impl Workload {
    /// `function`'s workload, from its sample in events/ and template.yaml's stream events.
    pub fn of(function: &str) -> anyhow::Result<Self> {
        let file = SAMPLE_OF
            .iter()
            .find(|(f, _)| *f == function)
            .map_or(function, |(_, sample)| sample);
        let path = workspace().join("events").join(format!("{file}.json"));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("no sample event for {function}: {}", path.display()))?;
        let sample: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", path.display()))?;
        let sources =
            stockroom_local::template::load_stream_sources(&workspace().join("template.yaml"))?;
        let stream = if sources.iter().any(|s| s.handler == function) {
            Some(streams::consumer(function).with_context(|| {
                format!(
                    "template.yaml streams to {function}, a consumer stockroom_notifications lacks"
                )
            })?)
        } else {
            None
        };
        Self::derive(function, sample, stream)
    }

    /// The rules of the module applied to `sample`.
    fn derive(
        function: &str,
        sample: Value,
        stream: Option<StreamConsumer>,
    ) -> anyhow::Result<Self> {
        let method = sample["requestContext"]["http"]["method"]
            .as_str()
            .map(str::to_owned);
        let changes = matches!(method.as_deref(), Some("POST" | "PATCH" | "DELETE"));
        let text = sample.to_string();
        let key = sample["headers"][IDEMPOTENCY_KEY]
            .as_str()
            .map(str::to_owned);
        let query = &sample["queryStringParameters"];
        let page = match (&method, query[LIMIT].as_str()) {
            (Some(get), Some(limit))
                if get == "GET"
                    && query
                        .as_object()
                        .is_some_and(|q| q.values().any(|v| v == SAMPLE_CUSTOMER)) =>
            {
                limit
                    .parse()
                    .with_context(|| format!("events/{function}.json: limit {limit:?}"))?
            }
            _ => 0,
        };
        let mut event = sample;
        if method.as_deref() == Some("POST") && event["isBase64Encoded"] != true {
            without_id(&mut event);
        }
        Ok(Self {
            function: function.to_owned(),
            own_order: changes && text.contains(SAMPLE_ORDER),
            own_cart: changes && text.contains(SAMPLE_CART),
            key,
            page,
            stream,
            event,
        })
    }

    /// The consumer of the stream template.yaml delivers to the function, if it has one.
    pub fn stream(&self) -> Option<StreamConsumer> {
        self.stream
    }

    /// Makes in `store` (already seeded) what `invocations` calls need, one each: a confirmed
    /// order, a filled cart, or a batch of fresh stream records delivered as `delivery` (a
    /// replay's handled in this store first); and a full page of the sample customer's orders.
    pub async fn prepare(
        &self,
        store: &stockroom_store::Store,
        delivery: Option<Delivery>,
        invocations: usize,
        feed: &mut Option<streams::Feed>,
    ) -> anyhow::Result<Setup> {
        let mut setup = Setup::default();
        if self.own_order {
            for _ in 0..invocations {
                setup.orders.push(place(store, SAMPLE_CUSTOMER).await?);
            }
        }
        if self.own_cart {
            for _ in 0..invocations {
                setup.carts.push(fill_cart(store).await?);
            }
        }
        for _ in 0..self.page {
            place(store, SAMPLE_CUSTOMER).await?;
        }
        if let (Some(consumer), Some(delivery)) = (self.stream, delivery) {
            setup.batches = streams::batches(feed, store, consumer, delivery, invocations).await?;
        }
        Ok(setup)
    }

    /// The events of one cold start's `invocations` calls, from what `setup` made for them.
    pub fn events(&self, invocations: usize, setup: &Setup) -> anyhow::Result<Vec<Value>> {
        let function = &self.function;
        let enough = |what: &str, prepared: usize| {
            ensure!(
                prepared >= invocations,
                "{function}: {prepared} {what} prepared for {invocations} calls"
            );
            Ok(())
        };
        if self.stream.is_some() {
            enough("batches", setup.batches.len())?;
            return Ok(setup.batches.iter().take(invocations).cloned().collect());
        }
        if self.own_order {
            enough("orders", setup.orders.len())?;
        }
        if self.own_cart {
            enough("carts", setup.carts.len())?;
        }
        let text = self.event.to_string();
        (0..invocations)
            .map(|i| {
                let mut event = if self.own_order || self.own_cart {
                    let mut text = text.clone();
                    if let (true, Some(id)) = (self.own_order, setup.orders.get(i)) {
                        text = text.replace(SAMPLE_ORDER, &id.to_string());
                    }
                    if let (true, Some(id)) = (self.own_cart, setup.carts.get(i)) {
                        text = text.replace(SAMPLE_CART, id.as_str());
                    }
                    serde_json::from_str(&text)?
                } else {
                    self.event.clone()
                };
                if let Some(key) = &self.key {
                    // A new request, not a replay.
                    event["headers"][IDEMPOTENCY_KEY] =
                        Value::String(format!("{key}-{}", ulid::Ulid::new()));
                }
                Ok(event)
            })
            .collect()
    }
}

/// Removes the top-level `id` from `event`'s JSON body, if it has one.
fn without_id(event: &mut Value) {
    let Some(body) = event["body"].as_str() else {
        return;
    };
    let Ok(Value::Object(mut fields)) = serde_json::from_str::<Value>(body) else {
        return;
    };
    if fields.remove("id").is_some() {
        event["body"] = Value::String(Value::Object(fields).to_string());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    /// Until the workloads were derived from the samples, the harness matched on binary names:
    /// the rules must give today's samples what that match gave them.
    #[test]
    fn todays_samples_get_the_workloads_the_binary_names_gave_them() {
        let functions = crate::args::template_functions().unwrap();
        for function in functions
            .iter()
            .map(String::as_str)
            .chain([crate::build::FLOOR])
        {
            let workload = Workload::of(function).unwrap();
            let derived = (
                workload.key.is_some(),
                workload.own_order,
                workload.own_cart,
                workload.page,
                workload.stream.is_some(),
            );
            let by_name = (
                matches!(function, "place_order" | "checkout"),
                matches!(function, "update_order_status" | "cancel_order"),
                matches!(
                    function,
                    "add_cart_item" | "checkout" | "remove_cart_item" | "delete_cart"
                ),
                if function == "list_orders" { 10 } else { 0 },
                matches!(function, "on_order_change" | "on_stock_change"),
            );
            assert_eq!(derived, by_name, "{function}");
            let file = if function == crate::build::FLOOR {
                "health"
            } else {
                function
            };
            let text =
                std::fs::read_to_string(workspace().join("events").join(format!("{file}.json")))
                    .unwrap();
            let mut sample: Value = serde_json::from_str(&text).unwrap();
            if function == "create_product" {
                let body: Value =
                    serde_json::from_str(workload.event["body"].as_str().unwrap()).unwrap();
                assert_eq!(body.get("id"), None, "{body}");
                assert_eq!(body["name"], "Cast-iron teapot");
                sample["body"] = workload.event["body"].clone();
            }
            assert_eq!(
                workload.event, sample,
                "{function}: only a create's id is removed"
            );
        }
    }

    /// An API Gateway event of `method` and `path`, as the events/ samples are.
    fn event(method: &str, path: &str, headers: Value, query: Value, body: Option<&str>) -> Value {
        json!({
            "rawPath": path,
            "headers": headers,
            "queryStringParameters": query,
            "requestContext": {"http": {"method": method, "path": path}},
            "isBase64Encoded": false,
            "body": body,
        })
    }

    #[test]
    fn a_new_endpoints_sample_decides_its_workload() {
        let keyed = json!({"idempotency-key": "k-1"});
        let none = Value::Null;
        let cart = format!("/carts/{SAMPLE_CART}/gift-wrap");
        let order = format!("/orders/{SAMPLE_ORDER}/refund");
        let derive = |sample| Workload::derive("new", sample, None).unwrap();

        let w = derive(event("POST", &cart, keyed.clone(), none.clone(), None));
        assert!(w.own_cart && !w.own_order && w.key.is_some());
        let w = derive(event("DELETE", &order, none.clone(), none.clone(), None));
        assert!(w.own_order && !w.own_cart && w.key.is_none());
        // Reads and sets repeat the same work on the sample's own cart or order.
        for method in ["GET", "PUT"] {
            let w = derive(event(method, &cart, none.clone(), none.clone(), None));
            assert!(!w.own_cart, "{method}");
            let w = derive(event(method, &order, none.clone(), none.clone(), None));
            assert!(!w.own_order, "{method}");
        }
        let page = json!({"customer_id": SAMPLE_CUSTOMER, "limit": "25"});
        assert_eq!(
            derive(event("GET", "/x", none.clone(), page, None)).page,
            25
        );
        let other = json!({"customer_id": "cust-bob", "limit": "25"});
        assert_eq!(
            derive(event("GET", "/x", none.clone(), other, None)).page,
            0
        );
        let unlimited = json!({"customer_id": SAMPLE_CUSTOMER});
        assert_eq!(
            derive(event("GET", "/x", none.clone(), unlimited, None)).page,
            0
        );

        let create = r#"{"id":"thing-1","name":"Thing"}"#;
        let w = derive(event(
            "POST",
            "/things",
            none.clone(),
            none.clone(),
            Some(create),
        ));
        assert_eq!(w.event["body"], r#"{"name":"Thing"}"#);
        let w = derive(event("PUT", "/things", none.clone(), none, Some(create)));
        assert_eq!(w.event["body"], create, "a PUT names what it sets");
    }

    #[test]
    fn every_call_gets_its_own_order_cart_and_key() {
        let headers = json!({"idempotency-key": format!("key-{SAMPLE_CART}")});
        let path = format!("/carts/{SAMPLE_CART}/orders/{SAMPLE_ORDER}");
        let sample = event("POST", &path, headers, Value::Null, None);
        let workload = Workload::derive("new", sample, None).unwrap();
        let now = stockroom_domain::timestamp::now();
        let setup = Setup {
            orders: (0..3).map(|_| OrderId::at(now)).collect(),
            carts: (0..3)
                .map(|i| CartId::parse(&format!("cart-{i}")).unwrap())
                .collect(),
            batches: Vec::new(),
        };
        let events = workload.events(3, &setup).unwrap();
        let mut keys = std::collections::BTreeSet::new();
        for (i, event) in events.iter().enumerate() {
            let expected = format!("/carts/cart-{i}/orders/{}", setup.orders[i]);
            assert_eq!(event["rawPath"], expected.as_str());
            let key = event["headers"][IDEMPOTENCY_KEY].as_str().unwrap();
            assert!(key.starts_with(&format!("key-{SAMPLE_CART}-")), "{key}");
            assert!(keys.insert(key.to_owned()), "{key} twice");
        }
        let too_many = workload.events(4, &setup).unwrap_err().to_string();
        assert!(
            too_many.contains("3 orders prepared for 4 calls"),
            "{too_many}"
        );
    }
}
