//! What each orders endpoint can answer besides success. The status of each comes from its
//! [`stockroom_http::ErrorKind`], mapped to HTTP in one place (`stockroom_http`).
//!
//! The two status changes (`PATCH /orders/{id}` and `POST /orders/{id}/cancel`) share
//! [`ChangeOrderError`]: they fail in exactly the same ways.

use stockroom_domain::id::quoted;
use stockroom_domain::orders::{OrderId, OrderStatus, PricingError};
use stockroom_domain::{Currency, ProductId};
use stockroom_http::{RequestError, api_error};
use stockroom_store::orders::{OrderError, Shortage};

fn currencies(lines: &[(ProductId, Currency)]) -> String {
    lines
        .iter()
        .map(|(id, c)| format!("\"{id}\" in {}", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn shortages(short: &[Shortage], count: &str) -> String {
    short
        .iter()
        .map(|s| {
            format!(
                "\"{}\" has {} {count}, {} needed",
                s.product_id, s.have, s.requested
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[derive(Debug, thiserror::Error)]
pub enum PlaceOrderError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("Not in the catalog: {}. Nothing was ordered.", quoted(.0))]
    UnknownProducts(Vec<ProductId>),
    #[error(
        "An order is paid in one currency, and these products are priced in several: {}. Nothing was ordered.",
        currencies(.0)
    )]
    MixedCurrencies(Vec<(ProductId, Currency)>),
    #[error("The order's total is too large. Nothing was ordered.")]
    TotalTooLarge,
    #[error("Not enough stock: {}. Nothing was ordered.", shortages(.0, "available"))]
    InsufficientStock(Vec<Shortage>),
    #[error(
        "The Idempotency-Key {0:?} was already used for a different request (another order, or another cart's checkout); send a new key for a new order."
    )]
    KeyReused(String),
    #[error(
        "The stock of this order is being changed by others right now. Nothing was ordered; try again."
    )]
    Contended,
    #[error("failed to place an order")]
    Unexpected(#[source] anyhow::Error),
}
api_error!(PlaceOrderError {
    UnknownProducts => NotFound,
    MixedCurrencies => Unprocessable,
    TotalTooLarge => Unprocessable,
    InsufficientStock => Conflict,
    KeyReused => Unprocessable,
    Contended => Conflict,
});

impl PlaceOrderError {
    /// The error of an order whose `Idempotency-Key` was `key`.
    pub fn from_store(err: OrderError, key: Option<&str>) -> Self {
        match err {
            OrderError::Pricing(PricingError::UnknownProducts(ids)) => Self::UnknownProducts(ids),
            OrderError::Pricing(PricingError::MixedCurrencies(lines)) => {
                Self::MixedCurrencies(lines)
            }
            OrderError::Pricing(PricingError::TotalTooLarge) => Self::TotalTooLarge,
            OrderError::InsufficientStock(short) => Self::InsufficientStock(short),
            OrderError::KeyReused => Self::KeyReused(key.unwrap_or_default().to_owned()),
            OrderError::Contended => Self::Contended,
            other => Self::Unexpected(other.into()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GetOrderError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("No order has the id \"{0}\".")]
    NotFound(OrderId),
    #[error("failed to get an order")]
    Unexpected(#[source] anyhow::Error),
}
api_error!(GetOrderError { NotFound => NotFound });

#[derive(Debug, thiserror::Error)]
pub enum ChangeOrderError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error("No order has the id \"{0}\".")]
    NotFound(OrderId),
    #[error(
        "Order \"{id}\" is {from} and cannot become {to}: an order goes confirmed -> shipped -> delivered, or confirmed -> cancelled."
    )]
    IllegalTransition {
        id: OrderId,
        from: OrderStatus,
        to: OrderStatus,
    },
    #[error(
        "The units this order reserved are no longer all reserved ({}); they were released through the stock API. Nothing was changed.",
        shortages(.0, "reserved")
    )]
    ReservedShort(Vec<Shortage>),
    #[error(
        "The order or its stock is being changed by others right now. Nothing was changed; try again."
    )]
    Contended,
    #[error("failed to change an order's status")]
    Unexpected(#[source] anyhow::Error),
}
api_error!(ChangeOrderError {
    NotFound => NotFound,
    IllegalTransition => Conflict,
    ReservedShort => Conflict,
    Contended => Conflict,
});

impl From<OrderError> for ChangeOrderError {
    fn from(err: OrderError) -> Self {
        match err {
            OrderError::NotFound(id) => Self::NotFound(id),
            OrderError::IllegalTransition { id, from, to } => {
                Self::IllegalTransition { id, from, to }
            }
            OrderError::ReservedShort(short) => Self::ReservedShort(short),
            OrderError::Contended => Self::Contended,
            other => Self::Unexpected(other.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Every sentence a client can read, pinned.

    use super::*;
    use stockroom_http::{ApiError, ErrorKind};

    fn id(s: &str) -> ProductId {
        ProductId::parse(s).unwrap()
    }

    fn order() -> OrderId {
        OrderId::parse("01KAB").unwrap()
    }

    fn short(s: &str, have: u64, requested: u64) -> Shortage {
        Shortage {
            product_id: id(s),
            have,
            requested,
        }
    }

    #[test]
    fn every_client_error_sentence_says_what_happened_and_what_changed() {
        let place =
            |err| -> Box<dyn ApiError> { Box::new(PlaceOrderError::from_store(err, Some("k-1"))) };
        let cases: Vec<(Box<dyn ApiError>, ErrorKind, &str)> = vec![
            (
                place(OrderError::Pricing(PricingError::UnknownProducts(vec![
                    id("a"),
                    id("b"),
                ]))),
                ErrorKind::NotFound,
                "Not in the catalog: \"a\", \"b\". Nothing was ordered.",
            ),
            (
                place(OrderError::Pricing(PricingError::MixedCurrencies(vec![
                    (id("a"), Currency::parse("USD").unwrap()),
                    (id("b"), Currency::parse("EUR").unwrap()),
                ]))),
                ErrorKind::Unprocessable,
                "An order is paid in one currency, and these products are priced in several: \"a\" in USD, \"b\" in EUR. Nothing was ordered.",
            ),
            (
                place(OrderError::InsufficientStock(vec![
                    short("pen", 8, 9),
                    short("lamp", 0, 1),
                ])),
                ErrorKind::Conflict,
                "Not enough stock: \"pen\" has 8 available, 9 needed; \"lamp\" has 0 available, 1 needed. Nothing was ordered.",
            ),
            (
                place(OrderError::KeyReused),
                ErrorKind::Unprocessable,
                "The Idempotency-Key \"k-1\" was already used for a different request (another order, or another cart's checkout); send a new key for a new order.",
            ),
            (
                Box::new(GetOrderError::NotFound(order())),
                ErrorKind::NotFound,
                "No order has the id \"01KAB\".",
            ),
            (
                Box::new(ChangeOrderError::from(OrderError::IllegalTransition {
                    id: order(),
                    from: OrderStatus::Shipped,
                    to: OrderStatus::Cancelled,
                })),
                ErrorKind::Conflict,
                "Order \"01KAB\" is shipped and cannot become cancelled: an order goes confirmed -> shipped -> delivered, or confirmed -> cancelled.",
            ),
            (
                Box::new(ChangeOrderError::from(OrderError::ReservedShort(vec![
                    short("mug", 1, 3),
                ]))),
                ErrorKind::Conflict,
                "The units this order reserved are no longer all reserved (\"mug\" has 1 reserved, 3 needed); they were released through the stock API. Nothing was changed.",
            ),
        ];
        for (err, kind, sentence) in cases {
            assert_eq!((err.kind(), err.to_string().as_str()), (kind, sentence));
        }
    }
}
