//! The audit of a faults run: the tables, read without faults, held to what the shoppers were
//! told and to what the stream consumers published.

use std::collections::BTreeMap;

use stockroom_domain::carts::CartId;
use stockroom_domain::notifications::Delivery;
use stockroom_domain::orders::{CustomerId, Order, OrderStatus};
use stockroom_store::{Store, testing};

use crate::feed::{DEDUPLICATION_WINDOW, Published};
use crate::shop::Ledger;

/// What the audit found. `lost`, `duplicated` and `oversold` must all be 0.
#[derive(Debug, Default)]
pub struct Findings {
    /// Acknowledged writes missing from the tables: an order, its lines, a cancel, a cart line,
    /// units of stock, a notification.
    pub lost: u64,
    /// Writes in the tables that nobody was told of, or that happened twice: an order not
    /// acknowledged (placed twice, or placed while refused), a cancel not asked for, stock
    /// moved twice, a notification published again outside SNS's deduplication window.
    pub duplicated: u64,
    /// Units in confirmed orders beyond a product's stock.
    pub oversold: u64,
    /// Orders in the tables.
    pub orders: usize,
    /// Notifications the consumers recorded, and how many were published more than once (a
    /// resend the FIFO topic dropped as a duplicate).
    pub notifications: usize,
    pub republished: usize,
    /// What each finding was, for the report.
    pub problems: Vec<String>,
}

impl Findings {
    fn lost(&mut self, what: String) {
        self.lost += 1;
        self.problems.push(format!("lost: {what}"));
    }

    fn duplicated(&mut self, what: String) {
        self.duplicated += 1;
        self.problems.push(format!("duplicated: {what}"));
    }
}

fn lines(order: &Order) -> BTreeMap<String, u64> {
    order
        .items
        .iter()
        .map(|l| (l.product_id.to_string(), l.quantity))
        .collect()
}

/// Audits `store` (read without faults) against the shoppers' `ledger`, the `initial` stock of
/// each product, and what the topic `published`.
///
/// # Errors
/// When a table cannot be read.
pub async fn audit(
    store: &Store,
    ledger: &Ledger,
    initial: &BTreeMap<String, u64>,
    published: &BTreeMap<String, Published>,
) -> anyhow::Result<Findings> {
    let mut findings = Findings::default();
    let mut table = BTreeMap::new();
    for customer in &ledger.customers {
        for order in testing::orders_of(store, customer).await? {
            table.insert(order.id.to_string(), order);
        }
    }
    findings.orders = table.len();

    // Every acknowledged order, as acknowledged; nothing else.
    for (id, acknowledged) in &ledger.orders {
        let Some(order) = table.get(id) else {
            findings.lost(format!(
                "order {id} was acknowledged and is not in the table"
            ));
            continue;
        };
        if lines(order) != acknowledged.lines {
            findings.lost(format!(
                "order {id} holds {:?}, the shopper asked for {:?}",
                lines(order),
                acknowledged.lines
            ));
        }
        match (acknowledged.cancelled, order.status) {
            (true, OrderStatus::Cancelled) | (false, OrderStatus::Confirmed) => {}
            (true, status) => findings.lost(format!(
                "order {id}'s cancel was acknowledged and it is {status}"
            )),
            (false, status) => findings.duplicated(format!(
                "order {id} is {status} and no cancel of it was acknowledged"
            )),
        }
    }
    for id in table.keys() {
        if !ledger.orders.contains_key(id) {
            findings.duplicated(format!(
                "order {id} is in the table and was never acknowledged"
            ));
        }
    }

    // Carts whose checkout was refused still hold what was added.
    let carts = store.carts()?;
    for cart in &ledger.open_carts {
        let stored = carts
            .get_cart(
                &CustomerId::parse(&cart.customer)?,
                &CartId::parse(&cart.cart_id)?,
                stockroom_domain::timestamp::now(),
            )
            .await?;
        let held: BTreeMap<String, u64> = stored
            .iter()
            .flat_map(|c| &c.lines)
            .map(|l| (l.product_id.to_string(), l.quantity))
            .collect();
        if held != cart.lines {
            let what = format!(
                "cart {} holds {held:?}, the shopper added {:?}",
                cart.cart_id, cart.lines
            );
            if held.values().sum::<u64>() > cart.lines.values().sum::<u64>() {
                findings.duplicated(what);
            } else {
                findings.lost(what);
            }
        }
    }

    // Stock: conserved, reserved for exactly the confirmed orders, never oversold.
    let inventory = store.inventory()?;
    for (product, initial) in initial {
        let id = stockroom_domain::ProductId::parse(product)?;
        let level = inventory
            .get_stock(&id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("{product} has no stock level"))?;
        let confirmed: u64 = table
            .values()
            .filter(|o| o.status == OrderStatus::Confirmed)
            .map(|o| lines(o).get(product).copied().unwrap_or(0))
            .sum();
        let held = level.available + level.reserved;
        if held != *initial {
            let what = format!(
                "{product}: {} available + {} reserved, from {initial}",
                level.available, level.reserved
            );
            if held > *initial {
                findings.duplicated(what);
            } else {
                findings.lost(what);
            }
        }
        if level.reserved != confirmed {
            let what = format!(
                "{product}: {} reserved for {confirmed} units in confirmed orders",
                level.reserved
            );
            if level.reserved > confirmed {
                findings.duplicated(what);
            } else {
                findings.lost(what);
            }
        }
        if confirmed > *initial {
            findings.oversold += confirmed - initial;
            findings.problems.push(format!(
                "oversold: {product}: {confirmed} units confirmed of {initial}"
            ));
        }
    }

    // Notifications: one confirmation per order, one cancellation per cancelled order, each
    // recorded as sent and published; a republish only within the deduplication window.
    let recorded = testing::recorded(store).await?;
    findings.notifications = recorded.len();
    let mut expected: Vec<String> = Vec::new();
    for (id, order) in &table {
        expected.push(format!("order_confirmation:{id}"));
        if order.status == OrderStatus::Cancelled {
            expected.push(format!("order_cancelled:{id}"));
        }
    }
    for id in &expected {
        match recorded.get(id) {
            None => findings.lost(format!("notification {id} was never recorded")),
            Some(status) if *status != Delivery::Sent => {
                findings.lost(format!("notification {id} is {status:?}, not sent"));
            }
            Some(_) if !published.contains_key(id) => {
                findings.lost(format!("notification {id} is marked sent, never published"));
            }
            Some(_) => {}
        }
    }
    for (id, status) in &recorded {
        if id.starts_with("order_") && !expected.contains(id) {
            findings.duplicated(format!("notification {id} is for no such change"));
        } else if *status != Delivery::Sent || !published.contains_key(id) {
            findings.lost(format!(
                "notification {id} is {status:?} and never published"
            ));
        }
    }
    for (id, p) in published {
        if p.times > 1 {
            findings.republished += 1;
            if p.last.duration_since(p.first) > DEDUPLICATION_WINDOW {
                findings.duplicated(format!(
                    "notification {id} was published again after the deduplication window"
                ));
            }
        }
    }
    Ok(findings)
}
