//! Carts: each customer's own carts, kept by id for [`CART_TTL_DAYS`] after their last change, whose lines
//! keep the catalog's name and price from when they were added, and whose checkout re-prices
//! them into an order ([`Cart::order_request`], [`PriceChange`]).
//!
//! The limits a cart keeps ([`Cart::check_add`]) are the order's: a cart always checks out into
//! a valid order. Both stores judge a change with these functions (the embedded store before
//! it writes, DynamoDB to explain a failed condition), so they refuse the same changes with
//! the same sentences.

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::inventory::Quantity;
use crate::orders::{CustomerId, MAX_LINE_QUANTITY, MAX_LINES, Order, OrderRequest, RequestedLine};
use crate::{Currency, FieldError, Price, ProductId};

id_type!(
    /// A cart's id, chosen by the client (a browser keeps it), within its owner's carts: two
    /// customers' carts of one id are two carts.
    CartId
);

/// A cart expires this many days after its last change.
pub const CART_TTL_DAYS: i64 = 30;
/// The most lines a cart holds: an order's limit.
pub const MAX_CART_LINES: usize = MAX_LINES;
/// The most units of one product a cart holds: an order line's limit.
pub const MAX_CART_QUANTITY: u64 = MAX_LINE_QUANTITY.unsigned_abs();

/// One line of a cart: a product with the name, price and currency the catalog gave it when
/// it was last added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartLine {
    pub product_id: ProductId,
    pub name: String,
    pub quantity: u64,
    pub unit_price: Price,
    pub currency: Currency,
}

/// A cart, as both stores keep it. `version` counts its changes, so a checkout can tell that
/// the cart it priced is still the cart being emptied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cart {
    /// The customer whose cart it is (the token's `sub` that started it).
    pub owner: CustomerId,
    pub id: CartId,
    /// By product id.
    pub lines: Vec<CartLine>,
    pub version: u64,
    /// The last change; the cart expires [`CART_TTL_DAYS`] after it ([`Self::expires_at`]).
    pub updated_at: DateTime<Utc>,
}

/// A change a cart refuses: answered 409 with the sentence, and nothing is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CartConflict {
    #[error(
        "Cart \"{cart_id}\" already holds {MAX_CART_LINES} products, the most one order can have; \
         check it out or remove a line before adding \"{product_id}\"."
    )]
    TooManyLines {
        cart_id: CartId,
        product_id: ProductId,
    },
    #[error(
        "Cart \"{cart_id}\" holds {have} of \"{product_id}\"; adding {adding} would exceed \
         {MAX_CART_QUANTITY}, the most one order line can have."
    )]
    TooManyUnits {
        cart_id: CartId,
        product_id: ProductId,
        have: u64,
        adding: u64,
    },
    #[error(
        "Cart \"{cart_id}\" is paid in {}, and \"{product_id}\" is priced in {}; an order is paid \
         in one currency.",
        cart_currency.as_str(),
        currency.as_str()
    )]
    CurrencyMismatch {
        cart_id: CartId,
        product_id: ProductId,
        cart_currency: Currency,
        currency: Currency,
    },
}

impl Cart {
    /// An empty cart `id` of `owner`, as a first change at `now` starts it.
    pub fn new(owner: CustomerId, id: CartId, now: DateTime<Utc>) -> Self {
        Self {
            owner,
            id,
            lines: Vec::new(),
            version: 0,
            updated_at: now,
        }
    }

    /// When a cart last changed at `at` expires.
    pub fn expiry(at: DateTime<Utc>) -> DateTime<Utc> {
        at + chrono::Duration::days(CART_TTL_DAYS)
    }

    /// When this cart expires: every change pushes it out.
    pub fn expires_at(&self) -> DateTime<Utc> {
        Self::expiry(self.updated_at)
    }

    /// Whether the cart still exists at `now`: an expired cart is gone, whether or not
    /// DynamoDB's TTL has deleted it yet. Judged in whole seconds, as the TTL attribute (and
    /// the DynamoDB adapter's conditions on it) hold it.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at().timestamp() > now.timestamp()
    }

    pub fn line(&self, product_id: &ProductId) -> Option<&CartLine> {
        self.lines.iter().find(|l| &l.product_id == product_id)
    }

    /// The one currency of the cart's lines; `None` when it is empty.
    pub fn currency(&self) -> Option<&Currency> {
        self.lines.first().map(|l| &l.currency)
    }

    /// Whether adding `quantity` of `product_id`, priced in `currency`, keeps the cart within
    /// its limits.
    ///
    /// # Errors
    /// The first limit the addition breaks.
    pub fn check_add(
        &self,
        product_id: &ProductId,
        quantity: u64,
        currency: &Currency,
    ) -> Result<(), CartConflict> {
        let have = self.line(product_id).map_or(0, |l| l.quantity);
        if have == 0 && self.lines.len() >= MAX_CART_LINES {
            return Err(CartConflict::TooManyLines {
                cart_id: self.id.clone(),
                product_id: product_id.clone(),
            });
        }
        if have.saturating_add(quantity) > MAX_CART_QUANTITY {
            return Err(CartConflict::TooManyUnits {
                cart_id: self.id.clone(),
                product_id: product_id.clone(),
                have,
                adding: quantity,
            });
        }
        match self.currency() {
            Some(cart_currency) if cart_currency != currency => {
                Err(CartConflict::CurrencyMismatch {
                    cart_id: self.id.clone(),
                    product_id: product_id.clone(),
                    cart_currency: cart_currency.clone(),
                    currency: currency.clone(),
                })
            }
            _ => Ok(()),
        }
    }

    /// Adds `added` (its quantity on top of the line's, its name and price replacing the
    /// line's) at `now`.
    ///
    /// # Errors
    /// As [`Self::check_add`]; the cart is unchanged then.
    pub fn add(&mut self, added: CartLine, now: DateTime<Utc>) -> Result<(), CartConflict> {
        self.check_add(&added.product_id, added.quantity, &added.currency)?;
        match self
            .lines
            .iter_mut()
            .find(|l| l.product_id == added.product_id)
        {
            Some(line) => {
                line.quantity += added.quantity;
                line.name = added.name;
                line.unit_price = added.unit_price;
                line.currency = added.currency;
            }
            None => {
                self.lines.push(added);
                self.lines.sort_by(|a, b| a.product_id.cmp(&b.product_id));
            }
        }
        self.touch(now);
        Ok(())
    }

    /// Sets the line of `product_id` to `quantity` (0 removes it) at `now`. Returns whether the
    /// cart has that line; it is unchanged when not.
    pub fn set_quantity(
        &mut self,
        product_id: &ProductId,
        quantity: u64,
        now: DateTime<Utc>,
    ) -> bool {
        let Some(at) = self.lines.iter().position(|l| &l.product_id == product_id) else {
            return false;
        };
        if quantity == 0 {
            self.lines.remove(at);
        } else {
            self.lines[at].quantity = quantity;
        }
        self.touch(now);
        true
    }

    /// Removes every line at `now`: what a checkout leaves.
    pub fn empty(&mut self, now: DateTime<Utc>) {
        self.lines.clear();
        self.touch(now);
    }

    fn touch(&mut self, now: DateTime<Utc>) {
        self.version += 1;
        self.updated_at = now;
    }

    /// The order this cart's lines ask `customer_id` to place; `None` when the cart is empty.
    ///
    /// # Errors
    /// A stored line outside the order's limits: the cart was written by something else.
    pub fn order_request(
        &self,
        customer_id: CustomerId,
    ) -> Result<Option<OrderRequest>, FieldError> {
        if self.lines.is_empty() {
            return Ok(None);
        }
        let lines = self
            .lines
            .iter()
            .map(|l| {
                Ok(RequestedLine {
                    product_id: l.product_id.clone(),
                    quantity: Quantity::new(i64::try_from(l.quantity).unwrap_or(i64::MAX))?,
                })
            })
            .collect::<Result<Vec<_>, FieldError>>()?;
        Ok(Some(OrderRequest { customer_id, lines }))
    }

    /// The lines whose price in `order` (priced from today's catalog) differs from the price
    /// the cart was showing.
    pub fn price_changes(&self, order: &Order) -> Vec<PriceChange> {
        order
            .items
            .iter()
            .filter_map(|priced| {
                let line = self.line(&priced.product_id)?;
                (line.unit_price != priced.unit_price).then(|| PriceChange {
                    product_id: priced.product_id.clone(),
                    cart_unit_price: line.unit_price,
                    unit_price: priced.unit_price,
                })
            })
            .collect()
    }
}

/// A line whose price changed between its last add and checkout: the order carries today's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct PriceChange {
    pub product_id: ProductId,
    /// What the cart showed.
    pub cart_unit_price: Price,
    /// What the order charges.
    pub unit_price: Price,
}

/// What a checkout answers: the order, and the lines whose price changed since they were
/// added (empty when none did).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CheckedOut {
    #[serde(flatten)]
    pub order: Order,
    pub price_changes: Vec<PriceChange>,
}

/// The fingerprint of a checkout request, for its `Idempotency-Key`: a retry must name the same
/// cart (its owner's `cart_id`) and customer. It never equals an order request's, so one key
/// cannot serve both.
pub fn checkout_fingerprint(
    owner: &CustomerId,
    cart_id: &CartId,
    customer_id: &CustomerId,
) -> String {
    let canonical = format!("checkout\n{owner}\n{cart_id}\n{customer_id}");
    Sha256::digest(canonical.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The cart as the API answers it.
impl Serialize for Cart {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Line<'a> {
            product_id: &'a ProductId,
            name: &'a str,
            quantity: u64,
            unit_price: Price,
            line_total: i64,
        }
        #[derive(Serialize)]
        struct View<'a> {
            cart_id: &'a CartId,
            items: Vec<Line<'a>>,
            subtotal: i64,
            currency: Option<&'a Currency>,
            #[serde(with = "crate::timestamp")]
            updated_at: DateTime<Utc>,
            #[serde(with = "crate::timestamp")]
            expires_at: DateTime<Utc>,
        }
        // The limits keep every total far below i64::MAX (25 lines x 1000 units x MAX_PRICE);
        // saturating keeps a corrupt item from panicking.
        let items: Vec<Line<'_>> = self
            .lines
            .iter()
            .map(|l| Line {
                product_id: &l.product_id,
                name: &l.name,
                quantity: l.quantity,
                unit_price: l.unit_price,
                line_total: l
                    .unit_price
                    .minor_units()
                    .saturating_mul(i64::try_from(l.quantity).unwrap_or(i64::MAX)),
            })
            .collect();
        let subtotal = items
            .iter()
            .fold(0_i64, |sum, l| sum.saturating_add(l.line_total));
        View {
            cart_id: &self.id,
            items,
            subtotal,
            currency: self.currency(),
            updated_at: self.updated_at,
            expires_at: self.expires_at(),
        }
        .serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn line(id: &str, quantity: u64, price: i64, currency: &str) -> CartLine {
        CartLine {
            product_id: ProductId::parse(id).unwrap(),
            name: format!("Product {id}"),
            quantity,
            unit_price: Price::new(price).unwrap(),
            currency: Currency::parse(currency).unwrap(),
        }
    }

    fn cart() -> Cart {
        Cart::new(
            CustomerId::parse("ada").unwrap(),
            CartId::parse("c1").unwrap(),
            at("2026-11-01T00:00:00Z"),
        )
    }

    #[test]
    fn adding_the_same_product_adds_up_and_every_change_pushes_the_expiry_out() {
        let mut cart = cart();
        cart.add(line("mug", 2, 1200, "USD"), at("2026-11-01T00:00:00Z"))
            .unwrap();
        cart.add(line("mug", 3, 1300, "USD"), at("2026-11-10T00:00:00Z"))
            .unwrap();
        assert_eq!(cart.lines.len(), 1);
        assert_eq!(cart.lines[0].quantity, 5);
        assert_eq!(cart.lines[0].unit_price.minor_units(), 1300);
        assert_eq!(cart.version, 2);
        assert_eq!(cart.expires_at(), at("2026-12-10T00:00:00Z"));
        assert!(cart.is_live(at("2026-12-09T23:59:59Z")));
        assert!(!cart.is_live(at("2026-12-10T00:00:00Z")));
    }

    #[test]
    fn a_cart_refuses_a_26th_line_but_not_more_of_a_line_it_has() {
        let mut cart = cart();
        let now = cart.updated_at;
        for i in 0..MAX_CART_LINES {
            cart.add(line(&format!("p{i:02}"), 1, 100, "USD"), now)
                .unwrap();
        }
        let err = cart.add(line("p99", 1, 100, "USD"), now).unwrap_err();
        assert!(matches!(err, CartConflict::TooManyLines { .. }), "{err}");
        assert!(
            err.to_string().contains("already holds 25 products"),
            "{err}"
        );
        cart.add(line("p00", 1, 100, "USD"), now).unwrap();
        assert_eq!(cart.lines.len(), MAX_CART_LINES);
    }

    #[test]
    fn a_line_holds_at_most_1000_units_and_a_refused_add_changes_nothing() {
        let mut cart = cart();
        let now = cart.updated_at;
        cart.add(line("mug", 998, 100, "USD"), now).unwrap();
        let before = cart.clone();
        let err = cart.add(line("mug", 3, 100, "USD"), now).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Cart \"c1\" holds 998 of \"mug\"; adding 3 would exceed 1000, the most one order line can have."
        );
        assert_eq!(cart, before);
        cart.add(line("mug", 2, 100, "USD"), now).unwrap();
        assert_eq!(cart.lines[0].quantity, 1000);
    }

    #[test]
    fn a_cart_is_paid_in_one_currency_until_it_is_empty_again() {
        let mut cart = cart();
        let now = cart.updated_at;
        cart.add(line("mug", 1, 100, "USD"), now).unwrap();
        let err = cart.add(line("tea", 1, 100, "EUR"), now).unwrap_err();
        assert!(
            matches!(err, CartConflict::CurrencyMismatch { .. }),
            "{err}"
        );
        assert!(cart.set_quantity(&ProductId::parse("mug").unwrap(), 0, now));
        assert!(cart.lines.is_empty());
        cart.add(line("tea", 1, 100, "EUR"), now).unwrap();
        assert_eq!(cart.currency().unwrap().as_str(), "EUR");
    }

    #[test]
    fn setting_a_line_the_cart_does_not_have_changes_nothing() {
        let mut cart = cart();
        let before = cart.clone();
        assert!(!cart.set_quantity(&ProductId::parse("mug").unwrap(), 3, cart.updated_at));
        assert_eq!(cart, before);
    }

    #[test]
    fn the_cart_answers_line_totals_and_subtotal() {
        let mut cart = cart();
        let now = cart.updated_at;
        cart.add(line("mug", 2, 1250, "USD"), now).unwrap();
        cart.add(line("kettle", 1, 4999, "USD"), now).unwrap();
        let json = serde_json::to_value(&cart).unwrap();
        assert_eq!(json["cart_id"], "c1");
        assert_eq!(json["items"][0]["product_id"], "kettle");
        assert_eq!(json["items"][1]["line_total"], 2500);
        assert_eq!(json["subtotal"], 7499);
        assert_eq!(json["currency"], "USD");
        assert_eq!(json["expires_at"], "2026-12-01T00:00:00.000Z");
        let empty =
            serde_json::to_value(super::Cart::new(cart.owner.clone(), cart.id.clone(), now))
                .unwrap();
        assert_eq!(empty["items"], serde_json::json!([]));
        assert_eq!(empty["currency"], serde_json::Value::Null);
    }

    #[test]
    fn checkout_fingerprints_name_the_owner_the_cart_and_the_customer() {
        let a = CartId::parse("a").unwrap();
        let b = CartId::parse("b").unwrap();
        let ada = CustomerId::parse("ada").unwrap();
        let bob = CustomerId::parse("bob").unwrap();
        let print = checkout_fingerprint(&ada, &a, &ada);
        assert_eq!(print, checkout_fingerprint(&ada, &a, &ada));
        assert_ne!(print, checkout_fingerprint(&ada, &b, &ada));
        assert_ne!(print, checkout_fingerprint(&ada, &a, &bob));
        // An administrator's cart "a" checked out for Ada is not Ada's own cart "a".
        assert_ne!(print, checkout_fingerprint(&bob, &a, &ada));
    }
}
