//! The `carts` table: one item per cart, its lines as top-level attributes.
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | cart | `CART#<owner>#<cart id>` | `CART` | `owner` (the customer id), `id`, `version`, `products` (a string set of its products), `currency`, `updated_at`, `expires_at` (epoch seconds, the table's TTL attribute), and per line `q_<product id>` (the quantity) and `l_<product id>` (name, price and currency) |
//!
//! Why one item and not an item per line: adding stays one `UpdateItem` with `ADD q_<product>`,
//! so two clients adding the same product at once both count, and the same update's condition
//! can hold the cart's limits (`size(products)`, the line's quantity, `currency`), which an
//! item per line cannot see. And DynamoDB's TTL deletes the whole cart 30 days after its last
//! change: with an item per line, TTL would delete the lines nobody touched for 30 days out of
//! a cart changed yesterday. `ADD` works on top-level attributes only, hence `q_<product>`
//! beside `l_<product>` instead of a map of lines. `version` counts changes, so a checkout can
//! empty the cart only if it is still the cart it priced.
//!
//! The key names the owner, so a customer's request can only ever address that customer's
//! carts, and two customers choosing one cart id have two carts. (Carts written before carts had
//! owners, `CART#<cart id>`, are never found again and expire by TTL.)

use std::collections::BTreeMap;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use stockroom_domain::carts::{Cart, CartId, CartLine};
use stockroom_domain::orders::CustomerId;
use stockroom_domain::{Currency, Price, ProductId, timestamp};

use crate::items::parse_time;

pub const CART_SK: &str = "CART";
pub const CART_ENTITY: &str = "cart";
/// The prefix of a line's quantity attribute.
pub const QUANTITY_PREFIX: &str = "q_";
/// The prefix of a line's details attribute.
pub const LINE_PREFIX: &str = "l_";
/// The prefix of the attribute holding the id of the last add to a line (DynamoDB only).
pub const WRITE_PREFIX: &str = "w_";

/// A cart's partition key: its owner's customer id, then its id (both ids, so `#` cannot occur
/// in either).
pub fn cart_pk(owner: &CustomerId, id: &CartId) -> String {
    format!("CART#{owner}#{id}")
}

/// The attribute holding the quantity of `product` in a cart.
pub fn quantity_attr(product: &ProductId) -> String {
    format!("{QUANTITY_PREFIX}{product}")
}

/// The attribute holding the name, price and currency of `product` in a cart.
pub fn line_attr(product: &ProductId) -> String {
    format!("{LINE_PREFIX}{product}")
}

/// The attribute holding the id of the last add of `product` to a cart: the DynamoDB adapter
/// writes it with the add, so that a copy of an add whose answer was lost (sent again by the
/// SDK, or a timed-out attempt that arrives late) is recognised rather than added twice, even
/// when adds of other products landed in between. Absent in carts the embedded store writes (it
/// has no lost answers).
pub fn write_attr(product: &ProductId) -> String {
    format!("{WRITE_PREFIX}{product}")
}

/// What a line keeps of the catalog from when it was last added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineDetails {
    pub name: String,
    pub unit_price: i64,
    pub currency: String,
}

impl LineDetails {
    pub fn new(line: &CartLine) -> Self {
        Self {
            name: line.name.clone(),
            unit_price: line.unit_price.minor_units(),
            currency: line.currency.as_str().to_owned(),
        }
    }
}

/// A line attribute: `q_<product>` holds a number, `l_<product>` the details, `w_<product>`
/// the id of the line's last add. (A cart written before the ids were per line may still hold
/// a `last_write` string: read as a `Write` and ignored.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LineAttribute {
    Quantity(u64),
    Details(LineDetails),
    Write(String),
}

/// A cart as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CartItem {
    pub pk: String,
    pub sk: String,
    pub entity: String,
    pub owner: String,
    pub id: String,
    pub version: u64,
    /// The products the cart has a line for: a string set in DynamoDB, which the update's
    /// condition counts. Absent when the cart is empty (DynamoDB keeps no empty set).
    #[cfg_attr(feature = "dynamodb", serde(with = "serde_dynamo::string_set"))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub products: Vec<String>,
    /// The currency of the lines; meaningless (and may linger) when `products` is absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    pub updated_at: String,
    /// When the cart expires (epoch seconds): DynamoDB's TTL deletes it some time after; both
    /// stores treat it as gone from then on.
    pub expires_at: i64,
    /// `q_<product>`, `l_<product>` and (DynamoDB) `w_<product>` of every line.
    #[serde(flatten)]
    pub lines: BTreeMap<String, LineAttribute>,
}

impl CartItem {
    /// The id of the last add of `product`, where the DynamoDB adapter wrote one.
    pub fn last_write(&self, product: &ProductId) -> Option<&str> {
        match self.lines.get(&write_attr(product)) {
            Some(LineAttribute::Write(id)) => Some(id),
            _ => None,
        }
    }

    pub fn new(cart: &Cart) -> Self {
        let mut lines = BTreeMap::new();
        for line in &cart.lines {
            lines.insert(
                quantity_attr(&line.product_id),
                LineAttribute::Quantity(line.quantity),
            );
            lines.insert(
                line_attr(&line.product_id),
                LineAttribute::Details(LineDetails::new(line)),
            );
        }
        Self {
            pk: cart_pk(&cart.owner, &cart.id),
            sk: CART_SK.to_owned(),
            entity: CART_ENTITY.to_owned(),
            owner: cart.owner.to_string(),
            id: cart.id.to_string(),
            version: cart.version,
            products: cart
                .lines
                .iter()
                .map(|l| l.product_id.to_string())
                .collect(),
            currency: cart.currency().map(|c| c.as_str().to_owned()),
            updated_at: timestamp::format(&cart.updated_at),
            expires_at: cart.expires_at().timestamp(),
            lines,
        }
    }

    /// # Errors
    /// When a stored value no longer parses, or a product of `products` has no quantity or no
    /// details: the item was written by something else.
    pub fn into_cart(self) -> anyhow::Result<Cart> {
        let id = self.id.clone();
        let parse = || -> anyhow::Result<Cart> {
            let mut lines = Vec::with_capacity(self.products.len());
            for product in &self.products {
                let product_id = ProductId::parse(product)?;
                let quantity = match self.lines.get(&quantity_attr(&product_id)) {
                    Some(LineAttribute::Quantity(q)) => *q,
                    _ => anyhow::bail!("product {product:?} has no quantity"),
                };
                let details = match self.lines.get(&line_attr(&product_id)) {
                    Some(LineAttribute::Details(d)) => d,
                    _ => anyhow::bail!("product {product:?} has no details"),
                };
                lines.push(CartLine {
                    product_id,
                    name: details.name.clone(),
                    quantity,
                    unit_price: Price::new(details.unit_price)?,
                    currency: Currency::parse(&details.currency)?,
                });
            }
            lines.sort_by(|a, b| a.product_id.cmp(&b.product_id));
            Ok(Cart {
                owner: CustomerId::parse(&self.owner)?,
                id: CartId::parse(&self.id)?,
                lines,
                version: self.version,
                updated_at: parse_time(&self.updated_at)?,
            })
        };
        parse().with_context(|| format!("stored cart {id:?} is not valid"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cart() -> Cart {
        let now = timestamp::now();
        let mut cart = Cart::new(
            CustomerId::parse("ada").unwrap(),
            CartId::parse("c1").unwrap(),
            now,
        );
        for (id, q) in [("mug", 2), ("kettle", 1)] {
            cart.add(
                CartLine {
                    product_id: ProductId::parse(id).unwrap(),
                    name: id.to_uppercase(),
                    quantity: q,
                    unit_price: Price::new(1250).unwrap(),
                    currency: Currency::parse("USD").unwrap(),
                },
                now,
            )
            .unwrap();
        }
        cart
    }

    #[test]
    fn a_cart_round_trips_through_json_as_the_embedded_store_keeps_it() {
        let cart = cart();
        let json = serde_json::to_value(CartItem::new(&cart)).unwrap();
        assert_eq!(json["q_mug"], 2);
        assert_eq!(json["l_kettle"]["name"], "KETTLE");
        assert_eq!(json["products"], serde_json::json!(["kettle", "mug"]));
        let back: CartItem = serde_json::from_value(json).unwrap();
        assert_eq!(back.into_cart().unwrap(), cart);
    }

    #[test]
    fn an_empty_cart_has_no_products_attribute() {
        let mut cart = cart();
        cart.empty(cart.updated_at);
        let json = serde_json::to_value(CartItem::new(&cart)).unwrap();
        assert!(json.get("products").is_none(), "{json}");
        let back: CartItem = serde_json::from_value(json).unwrap();
        assert_eq!(back.into_cart().unwrap(), cart);
    }

    #[cfg(feature = "dynamodb")]
    #[test]
    fn a_cart_round_trips_through_dynamodb_attributes_with_its_products_as_a_string_set() {
        use aws_sdk_dynamodb::types::AttributeValue;
        let cart = cart();
        let item: std::collections::HashMap<String, AttributeValue> =
            serde_dynamo::to_item(CartItem::new(&cart)).unwrap();
        assert_eq!(
            item["products"],
            AttributeValue::Ss(vec!["kettle".into(), "mug".into()])
        );
        assert_eq!(item["q_mug"], AttributeValue::N("2".into()));
        let back: CartItem = serde_dynamo::from_item(item).unwrap();
        assert_eq!(back.into_cart().unwrap(), cart);
    }
}
