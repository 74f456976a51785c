//! Notifications: what the stream consumers send when an order or a stock level changes, and
//! which change deserves one.
//!
//! A notification's id is deterministic — the kind and the order it is about, or for a low-stock
//! alert the product and the stream record's sequence number — so a replayed stream record makes
//! the same id, and the store's conditional write is what makes the effect exactly-once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::orders::{CustomerId, Order, OrderId, OrderStatus};
use crate::page::CursorKey;
use crate::{FieldError, ProductId};

/// Where `available` falls below to raise `low_stock`, unless `LOW_STOCK_THRESHOLD` says
/// otherwise.
pub const DEFAULT_LOW_STOCK_THRESHOLD: u64 = 10;

/// What a notification tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    OrderConfirmation,
    OrderShipped,
    OrderCancelled,
    LowStock,
}

impl NotificationKind {
    pub const ALL: [Self; 4] = [
        Self::OrderConfirmation,
        Self::OrderShipped,
        Self::OrderCancelled,
        Self::LowStock,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OrderConfirmation => "order_confirmation",
            Self::OrderShipped => "order_shipped",
            Self::OrderCancelled => "order_cancelled",
            Self::LowStock => "low_stock",
        }
    }

    /// # Errors
    /// When `s` is not one of the four kinds; reported against `kind`.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| {
                FieldError::new(
                    "kind",
                    "must be one of order_confirmation, order_shipped, order_cancelled, low_stock",
                )
            })
    }

    /// The notification an order's change deserves, judged from the order before and after
    /// it (`None` before: a new order). Nothing for a change that keeps the status, for
    /// `delivered`, or for a removed order.
    pub fn for_order_change(old: Option<&Order>, new: Option<&Order>) -> Option<Self> {
        let new = new?;
        match old {
            None => (new.status == OrderStatus::Confirmed).then_some(Self::OrderConfirmation),
            Some(old) if old.status == new.status => None,
            Some(_) => match new.status {
                OrderStatus::Shipped => Some(Self::OrderShipped),
                OrderStatus::Cancelled => Some(Self::OrderCancelled),
                OrderStatus::Confirmed | OrderStatus::Delivered => None,
            },
        }
    }
}

impl std::fmt::Display for NotificationKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a stock level's change from `old` to `new` units available crosses `threshold`
/// downwards: from at least it to below it. A level that was already below (or did not exist)
/// raises nothing, so an alert fires once per fall, not on every sale after it.
pub fn crosses_low_stock(old: Option<u64>, new: Option<u64>, threshold: u64) -> bool {
    matches!((old, new), (Some(old), Some(new)) if old >= threshold && new < threshold)
}

/// A notification's id: `<kind>:<order id>` or `low_stock:<product id>:<sequence number>`.
/// Made by the server only; at most 128 characters of `[A-Za-z0-9_:-]`, which is also what an
/// SNS FIFO message's deduplication id may hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NotificationId(String);

impl NotificationId {
    pub const MAX_LEN: usize = 128;

    /// The id of the `kind` notification about order `order`: one per order and kind.
    pub fn for_order(kind: NotificationKind, order: &OrderId) -> Self {
        Self(format!("{kind}:{order}"))
    }

    /// The id of the low-stock alert raised by the stream record `sequence` for `product`.
    ///
    /// # Errors
    /// When `sequence` is not a stream sequence number (1 to 40 digits).
    pub fn for_low_stock(product: &ProductId, sequence: &str) -> Result<Self, FieldError> {
        if (1..=40).contains(&sequence.len()) && sequence.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(format!(
                "{}:{product}:{sequence}",
                NotificationKind::LowStock
            )))
        } else {
            Err(FieldError::new(
                "SequenceNumber",
                "must be 1 to 40 digits, as DynamoDB Streams numbers its records",
            ))
        }
    }

    /// # Errors
    /// When `s` is empty, longer than 128 bytes, or has a character outside `[A-Za-z0-9_:-]`.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let valid = (1..=Self::MAX_LEN).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':'));
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(FieldError::new(
                "id",
                "must be 1 to 128 characters of A-Z, a-z, 0-9, '_', '-' or ':'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for NotificationId {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<NotificationId> for String {
    fn from(id: NotificationId) -> Self {
        id.0
    }
}

impl CursorKey for NotificationId {
    fn to_cursor(&self) -> String {
        self.0.clone()
    }

    fn from_cursor(s: &str) -> Option<Self> {
        Self::parse(s).ok()
    }
}

impl std::fmt::Display for NotificationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a recorded notification has gone out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Recorded; the notifier has not confirmed it yet (a replay sends it).
    Pending,
    /// The notifier took it (a replay skips it).
    Sent,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
        }
    }
}

/// One notification, as recorded and as `GET /notifications` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notification {
    pub id: NotificationId,
    pub kind: NotificationKind,
    /// The order it is about (order notifications).
    pub order_id: Option<OrderId>,
    /// Who it is for (order notifications).
    pub customer_id: Option<CustomerId>,
    /// The product it is about (`low_stock`).
    pub product_id: Option<ProductId>,
    /// What it says, for a person.
    pub message: String,
    pub status: Delivery,
    #[serde(with = "crate::timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::timestamp::serialize_option")]
    pub sent_at: Option<DateTime<Utc>>,
}

impl Notification {
    /// The `kind` notification about `order`, pending, made at `now`.
    pub fn about_order(kind: NotificationKind, order: &Order, now: DateTime<Utc>) -> Self {
        let money = format_money(order.total, order.currency.as_str());
        let units: u64 = order.items.iter().map(|l| l.quantity).sum();
        let message = match kind {
            NotificationKind::OrderConfirmation => {
                format!("Order {} is confirmed: {units} item(s), {money}.", order.id)
            }
            NotificationKind::OrderShipped => format!("Order {} has shipped.", order.id),
            NotificationKind::OrderCancelled => format!(
                "Order {} is cancelled; {money} will not be charged.",
                order.id
            ),
            NotificationKind::LowStock => format!("Order {} changed.", order.id),
        };
        Self {
            id: NotificationId::for_order(kind, &order.id),
            kind,
            order_id: Some(order.id.clone()),
            customer_id: Some(order.customer_id.clone()),
            product_id: None,
            message,
            status: Delivery::Pending,
            created_at: now,
            sent_at: None,
        }
    }

    /// A low-stock alert for `product`, now at `available` units, raised by stream record
    /// `sequence`, pending, made at `now`.
    ///
    /// # Errors
    /// As [`NotificationId::for_low_stock`].
    pub fn low_stock(
        product: &ProductId,
        available: u64,
        threshold: u64,
        sequence: &str,
        now: DateTime<Utc>,
    ) -> Result<Self, FieldError> {
        Ok(Self {
            id: NotificationId::for_low_stock(product, sequence)?,
            kind: NotificationKind::LowStock,
            order_id: None,
            customer_id: None,
            product_id: Some(product.clone()),
            message: format!(
                "Product {product} is low on stock: {available} available, below {threshold}."
            ),
            status: Delivery::Pending,
            created_at: now,
            sent_at: None,
        })
    }

    /// What the notifier groups messages by (one order's or one product's are delivered in
    /// order): the order or product id.
    pub fn subject(&self) -> &str {
        self.order_id
            .as_ref()
            .map(OrderId::as_str)
            .or(self.product_id.as_ref().map(ProductId::as_str))
            .unwrap_or(self.id.as_str())
    }

    /// Where it sits in the list: newest first, by this key.
    pub fn list_key(&self) -> NotificationKey {
        NotificationKey {
            created_at: self.created_at,
            id: self.id.clone(),
        }
    }
}

/// `4300 USD` as `43.00 USD`: money in a sentence.
fn format_money(minor: i64, currency: &str) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let minor = minor.unsigned_abs();
    format!("{sign}{}.{:02} {currency}", minor / 100, minor % 100)
}

/// The key notifications are listed by, newest first: when it was recorded, then its id.
/// Stored as `listed` ([`crate::page::TimeKey::sort_key`]).
pub type NotificationKey = crate::page::TimeKey<NotificationId>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orders::{OrderRequest, RawLine};
    use crate::page::Cursor;

    fn order(status: OrderStatus) -> Order {
        let request = OrderRequest::parse(
            Some("cust-1"),
            Some(&[RawLine {
                product_id: Some(String::from("sku-mug")),
                quantity: Some(2),
            }]),
        )
        .unwrap();
        let entries = [(
            ProductId::parse("sku-mug").unwrap(),
            crate::orders::CatalogEntry {
                name: String::from("Mug"),
                price: crate::Price::new(1250).unwrap(),
                currency: crate::Currency::default(),
            },
        )]
        .into_iter()
        .collect();
        let mut order = Order::price(
            OrderId::parse("01KAY7SAMP1E0RDER000000000").unwrap(),
            &request,
            &entries,
            crate::timestamp::now(),
        )
        .unwrap();
        order.status = status;
        order
    }

    #[test]
    fn an_order_change_deserves_a_notification_only_when_it_is_new_or_ships_or_is_cancelled() {
        use NotificationKind as K;
        use OrderStatus as S;
        let o = order;
        assert_eq!(
            K::for_order_change(None, Some(&o(S::Confirmed))),
            Some(K::OrderConfirmation)
        );
        assert_eq!(
            K::for_order_change(Some(&o(S::Confirmed)), Some(&o(S::Shipped))),
            Some(K::OrderShipped)
        );
        assert_eq!(
            K::for_order_change(Some(&o(S::Confirmed)), Some(&o(S::Cancelled))),
            Some(K::OrderCancelled)
        );
        // A change that keeps the status, delivery, and removal say nothing.
        assert_eq!(
            K::for_order_change(Some(&o(S::Shipped)), Some(&o(S::Shipped))),
            None
        );
        assert_eq!(
            K::for_order_change(Some(&o(S::Shipped)), Some(&o(S::Delivered))),
            None
        );
        assert_eq!(K::for_order_change(Some(&o(S::Confirmed)), None), None);
    }

    #[test]
    fn low_stock_fires_when_available_crosses_the_threshold_downwards_only() {
        assert!(crosses_low_stock(Some(12), Some(9), 10));
        assert!(crosses_low_stock(Some(10), Some(0), 10));
        // Already below, staying above, rising, new or removed levels: nothing.
        assert!(!crosses_low_stock(Some(9), Some(8), 10));
        assert!(!crosses_low_stock(Some(12), Some(10), 10));
        assert!(!crosses_low_stock(Some(5), Some(20), 10));
        assert!(!crosses_low_stock(None, Some(3), 10));
        assert!(!crosses_low_stock(Some(12), None, 10));
    }

    #[test]
    fn ids_are_deterministic_and_fit_an_sns_deduplication_id() {
        let o = order(OrderStatus::Confirmed);
        let a = Notification::about_order(NotificationKind::OrderConfirmation, &o, o.created_at);
        let b = Notification::about_order(NotificationKind::OrderConfirmation, &o, o.updated_at);
        assert_eq!(a.id, b.id);
        assert_eq!(
            a.id.as_str(),
            "order_confirmation:01KAY7SAMP1E0RDER000000000"
        );
        assert_eq!(
            a.message,
            "Order 01KAY7SAMP1E0RDER000000000 is confirmed: 2 item(s), 25.00 USD."
        );

        let longest_product = ProductId::parse(&"p".repeat(64)).unwrap();
        let seq = "9".repeat(40);
        let id = NotificationId::for_low_stock(&longest_product, &seq).unwrap();
        assert!(id.as_str().len() <= NotificationId::MAX_LEN);
        assert_eq!(NotificationId::parse(id.as_str()).unwrap(), id);
        assert!(NotificationId::for_low_stock(&longest_product, "12a").is_err());
        assert!(NotificationId::for_low_stock(&longest_product, "").is_err());
    }

    #[test]
    fn an_unknown_kind_is_refused_against_kind() {
        assert_eq!(
            NotificationKind::parse("low_stock").unwrap(),
            NotificationKind::LowStock
        );
        let err = NotificationKind::parse("sms").unwrap_err();
        assert_eq!(err.field, "kind");
    }

    #[test]
    fn a_notification_key_survives_its_cursor() {
        let o = order(OrderStatus::Confirmed);
        let n = Notification::about_order(NotificationKind::OrderShipped, &o, o.created_at);
        let cursor = Cursor::after(n.list_key());
        assert_eq!(
            Cursor::<NotificationKey>::decode(&cursor.encode())
                .unwrap()
                .into_last(),
            n.list_key()
        );
    }

    #[test]
    fn money_reads_as_major_units() {
        assert_eq!(format_money(4300, "USD"), "43.00 USD");
        assert_eq!(format_money(5, "EUR"), "0.05 EUR");
        assert_eq!(format_money(-1999, "USD"), "-19.99 USD");
    }
}
