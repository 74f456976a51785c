//! Orders: what a customer asked for ([`OrderRequest`]), priced from the catalog into an
//! [`Order`], and the status lifecycle that says how each change moves stock.
//!
//! Everything here is pure: the stores read the catalog and the stock, call these functions, and
//! write what they return in one transaction.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::id::quoted;
use crate::inventory::{Quantity, StockMove};
use crate::{Currency, FieldError, Price, ProductId};

id_type!(
    /// An order's id: a ULID made by the server when the order is placed.
    OrderId
);

id_type!(
    /// The customer an order belongs to. Until access control exists the client names it.
    CustomerId
);

/// The most lines one order may have: with the order and its idempotency record, a
/// DynamoDB transaction of 27 items.
pub const MAX_LINES: usize = 25;
/// The most units of one product one order line may ask for.
pub const MAX_LINE_QUANTITY: i64 = 1000;

/// One line as the client asked for it: a product and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestedLine {
    pub product_id: ProductId,
    #[serde(serialize_with = "quantity_number")]
    pub quantity: Quantity,
}

fn quantity_number<S: serde::Serializer>(q: &Quantity, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(q.get())
}

/// A valid order request: a customer and 1 to [`MAX_LINES`] lines, each product once. Prices
/// are not part of it: they come from the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderRequest {
    pub customer_id: CustomerId,
    #[serde(rename = "items")]
    pub lines: Vec<RequestedLine>,
}

/// One line as the client sent it, before validation.
#[derive(Debug, Clone, Default)]
pub struct RawLine {
    pub product_id: Option<String>,
    pub quantity: Option<i64>,
}

impl OrderRequest {
    /// Validates a request, reporting every bad field at once (`customer_id`,
    /// `items[2].quantity`, ...).
    ///
    /// # Errors
    /// Every field that is missing or invalid, and every product named twice.
    pub fn parse(
        customer_id: Option<&str>,
        items: Option<&[RawLine]>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let customer = match customer_id {
            None => {
                errors.push(FieldError::new("customer_id", "is required"));
                None
            }
            Some(raw) => CustomerId::parse_field("customer_id", raw)
                .map_err(|e| errors.push(e))
                .ok(),
        };
        let items = items.unwrap_or_default();
        if !(1..=MAX_LINES).contains(&items.len()) {
            errors.push(FieldError::new(
                "items",
                format!("must list 1 to {MAX_LINES} products"),
            ));
        }
        let mut lines = Vec::with_capacity(items.len());
        let mut seen: BTreeMap<ProductId, usize> = BTreeMap::new();
        for (i, raw) in items.iter().enumerate() {
            let field = |name: &str| format!("items[{i}].{name}");
            let product = match raw.product_id.as_deref() {
                None => {
                    errors.push(FieldError::new(field("product_id"), "is required"));
                    None
                }
                Some(p) => ProductId::parse_field(&field("product_id"), p)
                    .map_err(|e| errors.push(e))
                    .ok(),
            };
            let quantity = match raw.quantity {
                None => {
                    errors.push(FieldError::new(field("quantity"), "is required"));
                    None
                }
                Some(q) if (1..=MAX_LINE_QUANTITY).contains(&q) => Quantity::new(q).ok(),
                Some(_) => {
                    errors.push(FieldError::new(
                        field("quantity"),
                        format!("must be a whole number from 1 to {MAX_LINE_QUANTITY}"),
                    ));
                    None
                }
            };
            if let Some(product) = &product
                && let Some(first) = seen.get(product)
            {
                errors.push(FieldError::new(
                    field("product_id"),
                    format!(
                        "repeats items[{first}].product_id; list each product once, with its whole quantity"
                    ),
                ));
                continue;
            }
            if let Some(product) = &product {
                seen.insert(product.clone(), i);
            }
            if let (Some(product_id), Some(quantity)) = (product, quantity) {
                lines.push(RequestedLine {
                    product_id,
                    quantity,
                });
            }
        }
        match customer {
            Some(customer_id) if errors.is_empty() => Ok(Self { customer_id, lines }),
            _ => Err(errors),
        }
    }

    /// The SHA-256 (hex) of the request's canonical form: the same customer and lines in the
    /// same order give the same fingerprint, however the JSON was spaced or its keys ordered.
    /// A retry with an idempotency key must match the first request's.
    pub fn fingerprint(&self) -> String {
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        Sha256::digest(&canonical)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The products the order names, in the order given.
    pub fn product_ids(&self) -> impl Iterator<Item = &ProductId> {
        self.lines.iter().map(|l| &l.product_id)
    }
}

/// What the catalog says of a product an order names: its current name, price and currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    pub name: String,
    pub price: Price,
    pub currency: Currency,
}

/// Why an order could not be priced. Nothing is written in any of these cases.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("No product has the id {}.", quoted(.0))]
    UnknownProducts(Vec<ProductId>),
    #[error(
        "An order is paid in one currency, and these products are priced in several: {}.",
        .0.iter().map(|(id, c)| format!("\"{id}\" in {}", c.as_str())).collect::<Vec<_>>().join(", ")
    )]
    MixedCurrencies(Vec<(ProductId, Currency)>),
    #[error("The order's total is too large to be represented.")]
    TotalTooLarge,
}

/// An order's status. New orders are `confirmed`: their units are reserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Confirmed,
    Shipped,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [Self; 4] = [
        Self::Confirmed,
        Self::Shipped,
        Self::Delivered,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
        }
    }

    /// # Errors
    /// When `s` is not one of the four statuses; reported against `status`.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| {
                FieldError::new(
                    "status",
                    "must be one of confirmed, shipped, delivered, cancelled",
                )
            })
    }

    /// What moving from `self` to `to` does to the order's stock: `Some(None)` changes only
    /// the order, `Some(Some(mv))` applies `mv` to every line's quantity, `None` is not a
    /// transition an order can make.
    pub fn transition(self, to: Self) -> Option<Option<StockMove>> {
        match (self, to) {
            (Self::Confirmed, Self::Shipped) => Some(Some(StockMove::Ship)),
            (Self::Confirmed, Self::Cancelled) => Some(Some(StockMove::Release)),
            (Self::Shipped, Self::Delivered) => Some(None),
            _ => None,
        }
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One priced line of an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderLine {
    pub product_id: ProductId,
    pub name: String,
    pub quantity: u64,
    pub unit_price: Price,
    pub line_total: i64,
    /// Where the line's units sit in a sharded stock level, so a cancel or shipment moves
    /// them out of the same shards. Empty for the usual case: all from the level's first (or
    /// only) shard. The store's business; never part of the API.
    #[serde(skip)]
    pub taken_from: Vec<crate::inventory::ShardTake>,
}

impl OrderLine {
    /// The quantity as the stock move it reserves, ships or releases.
    ///
    /// # Errors
    /// When a stored quantity is out of range: the item was written by something else.
    pub fn stock_quantity(&self) -> Result<Quantity, FieldError> {
        Quantity::new(i64::try_from(self.quantity).unwrap_or(i64::MAX))
    }

    /// The shards the line's units sit in, each with its quantity: [`OrderLine::taken_from`],
    /// or when that is empty all of them in shard 0.
    pub fn takes(&self) -> Vec<crate::inventory::ShardTake> {
        if self.taken_from.is_empty() {
            vec![crate::inventory::ShardTake {
                shard: 0,
                quantity: self.quantity,
            }]
        } else {
            self.taken_from.clone()
        }
    }
}

/// An order, as the API returns it and the stores keep it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub customer_id: CustomerId,
    pub items: Vec<OrderLine>,
    pub total: i64,
    pub currency: Currency,
    pub status: OrderStatus,
    #[serde(with = "crate::timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::timestamp")]
    pub updated_at: DateTime<Utc>,
}

impl Order {
    /// Prices `request` from the catalog's current `entries` (a product missing from them is not
    /// in the catalog) into a confirmed order `id` placed at `now`.
    ///
    /// # Errors
    /// Every product not in the catalog; else every product whose currency differs from the
    /// first line's; a total that overflows.
    pub fn price(
        id: OrderId,
        request: &OrderRequest,
        entries: &BTreeMap<ProductId, CatalogEntry>,
        now: DateTime<Utc>,
    ) -> Result<Self, PricingError> {
        let unknown: Vec<ProductId> = request
            .product_ids()
            .filter(|id| !entries.contains_key(*id))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(PricingError::UnknownProducts(unknown));
        }
        let entry = |id: &ProductId| &entries[id];
        let currency = entry(&request.lines[0].product_id).currency.clone();
        let currencies: HashSet<&Currency> = request
            .product_ids()
            .map(|id| &entry(id).currency)
            .collect();
        if currencies.len() > 1 {
            return Err(PricingError::MixedCurrencies(
                request
                    .product_ids()
                    .map(|id| (id.clone(), entry(id).currency.clone()))
                    .collect(),
            ));
        }
        let mut total: i64 = 0;
        let mut items = Vec::with_capacity(request.lines.len());
        for line in &request.lines {
            let entry = entry(&line.product_id);
            let quantity =
                i64::try_from(line.quantity.get()).map_err(|_| PricingError::TotalTooLarge)?;
            let line_total = entry
                .price
                .minor_units()
                .checked_mul(quantity)
                .ok_or(PricingError::TotalTooLarge)?;
            total = total
                .checked_add(line_total)
                .ok_or(PricingError::TotalTooLarge)?;
            items.push(OrderLine {
                product_id: line.product_id.clone(),
                name: entry.name.clone(),
                quantity: line.quantity.get(),
                unit_price: entry.price,
                line_total,
                taken_from: Vec::new(),
            });
        }
        Ok(Self {
            id,
            customer_id: request.customer_id.clone(),
            items,
            total,
            currency,
            status: OrderStatus::Confirmed,
            created_at: now,
            updated_at: now,
        })
    }

    /// Where the order sits in its customer's list: newest first, by this key.
    pub fn list_key(&self) -> OrderKey {
        OrderKey {
            created_at: self.created_at,
            id: self.id.clone(),
        }
    }
}

impl OrderId {
    /// A new id whose ULID time is `at`, so ids sort like their orders' `created_at`.
    pub fn at(at: DateTime<Utc>) -> Self {
        Self(ulid::Ulid::from_datetime(at.into()).to_string())
    }
}

/// The key a customer's orders are listed by, newest first: when it was placed, then its id.
/// Stored as the orders table's `by-customer` index key `placed` ([`TimeKey::sort_key`]).
pub type OrderKey = crate::page::TimeKey<OrderId>;

/// An `Idempotency-Key` header: 1 to 255 printable ASCII characters, chosen by the client.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_TTL_HOURS: i64 = 24;

impl IdempotencyKey {
    /// # Errors
    /// When `s` is empty, longer than 255 bytes, or has a character outside printable ASCII.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        if (1..=255).contains(&s.len()) && s.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            Ok(Self(s.to_owned()))
        } else {
            Err(FieldError::new(
                "Idempotency-Key",
                "must be 1 to 255 printable ASCII characters",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::page::CursorKey;

    fn line(p: &str, q: i64) -> RawLine {
        RawLine {
            product_id: Some(p.to_owned()),
            quantity: Some(q),
        }
    }

    fn request(lines: &[(&str, i64)]) -> OrderRequest {
        let raw: Vec<RawLine> = lines.iter().map(|(p, q)| line(p, *q)).collect();
        OrderRequest::parse(Some("cust-1"), Some(&raw)).unwrap()
    }

    fn fields(customer: Option<&str>, raw: Option<&[RawLine]>) -> Vec<String> {
        OrderRequest::parse(customer, raw)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    fn entry(price: i64, currency: &str) -> CatalogEntry {
        CatalogEntry {
            name: String::from("Thing"),
            price: Price::new(price).unwrap(),
            currency: Currency::parse(currency).unwrap(),
        }
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T10:00:00.000Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn every_bad_field_of_a_request_is_reported_at_once() {
        let too_many: Vec<RawLine> = (0..26).map(|i| line(&format!("p{i}"), 1)).collect();
        // (customer_id, items, the fields reported)
        type Case = (
            Option<&'static str>,
            Option<Vec<RawLine>>,
            Vec<&'static str>,
        );
        let cases: Vec<Case> = vec![
            (None, Some(vec![line("a", 1)]), vec!["customer_id"]),
            (Some("a b"), Some(vec![line("a", 1)]), vec!["customer_id"]),
            (Some("c"), None, vec!["items"]),
            (Some("c"), Some(vec![]), vec!["items"]),
            (Some("c"), Some(too_many), vec!["items"]),
            (
                Some("c"),
                Some(vec![line("a", 0), line("b/c", 1001), RawLine::default()]),
                vec![
                    "items[0].quantity",
                    "items[1].product_id",
                    "items[1].quantity",
                    "items[2].product_id",
                    "items[2].quantity",
                ],
            ),
            (
                Some("c"),
                Some(vec![line("a", 1), line("b", 1), line("a", 2)]),
                vec!["items[2].product_id"],
            ),
        ];
        for (customer, raw, expected) in cases {
            assert_eq!(fields(customer, raw.as_deref()), expected, "{customer:?}");
        }
        let ok = OrderRequest::parse(Some("c"), Some(&[line("a", 1000)])).unwrap();
        assert_eq!(ok.lines[0].quantity.get(), 1000);
    }

    #[test]
    fn a_repeated_product_names_the_line_it_repeats() {
        let errors =
            OrderRequest::parse(Some("c"), Some(&[line("a", 1), line("a", 1)])).unwrap_err();
        assert!(
            errors[0].message.starts_with("repeats items[0]"),
            "{errors:?}"
        );
    }

    #[test]
    fn the_fingerprint_depends_on_the_request_not_on_its_spelling() {
        let a = request(&[("a", 1), ("b", 2)]);
        assert_eq!(
            a.fingerprint(),
            request(&[("a", 1), ("b", 2)]).fingerprint()
        );
        assert_eq!(a.fingerprint().len(), 64);
        for other in [
            request(&[("a", 1), ("b", 3)]),
            request(&[("a", 1)]),
            request(&[("b", 2), ("a", 1)]),
        ] {
            assert_ne!(a.fingerprint(), other.fingerprint());
        }
        let mut other_customer = a.clone();
        other_customer.customer_id = CustomerId::parse("cust-2").unwrap();
        assert_ne!(a.fingerprint(), other_customer.fingerprint());
    }

    #[test]
    fn pricing_takes_catalog_prices_and_totals_every_line() {
        let entries = BTreeMap::from([
            (ProductId::parse("a").unwrap(), entry(1250, "EUR")),
            (ProductId::parse("b").unwrap(), entry(99, "EUR")),
        ]);
        let order = Order::price(
            OrderId::at(t0()),
            &request(&[("a", 2), ("b", 3)]),
            &entries,
            t0(),
        )
        .unwrap();
        let totals: Vec<i64> = order.items.iter().map(|l| l.line_total).collect();
        assert_eq!(totals, [2500, 297]);
        assert_eq!((order.total, order.currency.as_str()), (2797, "EUR"));
        assert_eq!(order.status, OrderStatus::Confirmed);
        assert_eq!((order.created_at, order.updated_at), (t0(), t0()));
        assert_eq!(
            ulid::Ulid::from_string(order.id.as_str())
                .unwrap()
                .timestamp_ms(),
            u64::try_from(t0().timestamp_millis()).unwrap()
        );
    }

    #[test]
    fn pricing_refuses_unknown_products_then_mixed_currencies() {
        let entries = BTreeMap::from([
            (ProductId::parse("a").unwrap(), entry(100, "USD")),
            (ProductId::parse("b").unwrap(), entry(100, "EUR")),
        ]);
        let err = Order::price(
            OrderId::at(t0()),
            &request(&[("a", 1), ("x", 1), ("y", 1)]),
            &entries,
            t0(),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "No product has the id \"x\", \"y\".");
        let err = Order::price(
            OrderId::at(t0()),
            &request(&[("a", 1), ("b", 1)]),
            &entries,
            t0(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "An order is paid in one currency, and these products are priced in several: \"a\" in USD, \"b\" in EUR."
        );
    }

    #[test]
    fn the_largest_order_the_limits_allow_still_totals_exactly() {
        let lines: Vec<(String, i64)> = (0..MAX_LINES)
            .map(|i| (format!("p{i}"), MAX_LINE_QUANTITY))
            .collect();
        let raw: Vec<RawLine> = lines.iter().map(|(p, q)| line(p, *q)).collect();
        let req = OrderRequest::parse(Some("c"), Some(&raw)).unwrap();
        let entries: BTreeMap<ProductId, CatalogEntry> = req
            .product_ids()
            .map(|id| (id.clone(), entry(crate::money::MAX_PRICE, "USD")))
            .collect();
        let order = Order::price(OrderId::at(t0()), &req, &entries, t0()).unwrap();
        assert_eq!(order.total, 25 * 1000 * crate::money::MAX_PRICE);
    }

    #[test]
    fn only_the_lifecycle_transitions_are_allowed_and_each_moves_its_stock() {
        use OrderStatus::*;
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                let expected = match (from, to) {
                    (Confirmed, Shipped) => Some(Some(StockMove::Ship)),
                    (Confirmed, Cancelled) => Some(Some(StockMove::Release)),
                    (Shipped, Delivered) => Some(None),
                    _ => None,
                };
                assert_eq!(from.transition(to), expected, "{from} -> {to}");
            }
        }
        assert_eq!(OrderStatus::parse("shipped").unwrap(), Shipped);
        assert_eq!(OrderStatus::parse("Shipped").unwrap_err().field, "status");
    }

    #[test]
    fn an_order_key_survives_its_cursor_and_sorts_in_time_order() {
        let a = OrderKey {
            created_at: t0(),
            id: OrderId::at(t0()),
        };
        assert_eq!(OrderKey::from_cursor(&a.to_cursor()), Some(a.clone()));
        let later = OrderKey {
            created_at: t0() + chrono::Duration::milliseconds(1),
            id: OrderId::at(t0()),
        };
        assert!(a.sort_key() < later.sort_key());
        for bad in [
            "",
            "x#y",
            "2026-11-23T10:00:00.000Z#a b",
            "2026-11-23T10:00:00.000Z",
        ] {
            assert_eq!(OrderKey::from_cursor(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn idempotency_keys_are_printable_ascii_up_to_255() {
        let longest = "k".repeat(255);
        for good in ["a", "order 1 / retry #2", longest.as_str()] {
            assert!(IdempotencyKey::parse(good).is_ok(), "{good:?}");
        }
        let too_long = "k".repeat(256);
        for bad in ["", "tab\there", "é", too_long.as_str()] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }
}
