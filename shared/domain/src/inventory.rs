//! Inventory values: a product's stock level and the quantities that move it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{FieldError, ProductId};

/// The most units one decrement, reservation or release may move.
pub const MAX_QUANTITY: u64 = 1_000_000;
/// The most units a stock level may be set to.
pub const MAX_AVAILABLE: u64 = 1_000_000_000;

/// How many units one change moves: `1..=1_000_000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity(u64);

impl Quantity {
    /// # Errors
    /// When `n` is below 1 or above [`MAX_QUANTITY`]; reported against `quantity`.
    pub fn new(n: i64) -> Result<Self, FieldError> {
        match u64::try_from(n) {
            Ok(n) if (1..=MAX_QUANTITY).contains(&n) => Ok(Self(n)),
            _ => Err(FieldError::new(
                "quantity",
                format!("must be a whole number from 1 to {MAX_QUANTITY}"),
            )),
        }
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

/// What a stock level is set to: `0..=1_000_000_000` units available.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Available(u64);

impl Available {
    /// # Errors
    /// When `n` is negative or above [`MAX_AVAILABLE`]; reported against `available`.
    pub fn new(n: i64) -> Result<Self, FieldError> {
        match u64::try_from(n) {
            Ok(n) if n <= MAX_AVAILABLE => Ok(Self(n)),
            _ => Err(FieldError::new(
                "available",
                format!("must be a whole number from 0 to {MAX_AVAILABLE}"),
            )),
        }
    }

    pub fn get(self) -> u64 {
        self.0
    }
}

/// What a change to a stock level does with its quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockMove {
    /// Takes units out of `available` for good (a sale outside the order flow).
    Decrement,
    /// Moves units from `available` to `reserved`.
    Reserve,
    /// Moves units from `reserved` back to `available` (a cancelled order's units).
    Release,
    /// Takes units out of `reserved` for good (a shipped order's units).
    Ship,
}

impl StockMove {
    /// The change to `(available, reserved)` if the level allows it, else which count is short.
    ///
    /// # Errors
    /// [`Shortfall`] naming the count that is below `quantity`; the level must stay unchanged.
    pub fn apply(
        self,
        available: u64,
        reserved: u64,
        quantity: Quantity,
    ) -> Result<(u64, u64), Shortfall> {
        let q = quantity.get();
        match self {
            Self::Decrement if available >= q => Ok((available - q, reserved)),
            Self::Reserve if available >= q => Ok((available - q, reserved + q)),
            Self::Release if reserved >= q => Ok((available + q, reserved - q)),
            Self::Ship if reserved >= q => Ok((available, reserved - q)),
            Self::Decrement | Self::Reserve => Err(Shortfall::Available(available)),
            Self::Release | Self::Ship => Err(Shortfall::Reserved(reserved)),
        }
    }
}

/// Why a move could not happen: the count it needed, and how many there were.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortfall {
    Available(u64),
    Reserved(u64),
}

/// A product's stock: units that can be sold and units held for orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StockLevel {
    pub product_id: ProductId,
    pub available: u64,
    pub reserved: u64,
    #[serde(with = "crate::timestamp")]
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_outside_one_to_a_million_are_rejected() {
        for bad in [0, -1, 1_000_001, i64::MIN, i64::MAX] {
            let err = Quantity::new(bad).unwrap_err();
            assert_eq!(err.field, "quantity", "{bad}");
        }
        assert_eq!(Quantity::new(1).unwrap().get(), 1);
        assert_eq!(Quantity::new(1_000_000).unwrap().get(), 1_000_000);
    }

    #[test]
    fn available_counts_outside_zero_to_a_billion_are_rejected() {
        for bad in [-1, 1_000_000_001, i64::MIN] {
            let err = Available::new(bad).unwrap_err();
            assert_eq!(err.field, "available", "{bad}");
        }
        assert_eq!(Available::new(0).unwrap().get(), 0);
        assert_eq!(Available::new(1_000_000_000).unwrap().get(), 1_000_000_000);
    }

    #[test]
    fn moves_change_the_right_counts_or_name_the_short_one() {
        let q = |n| Quantity::new(n).unwrap();
        let cases = [
            (StockMove::Decrement, 5, 1, 5, Ok((0, 1))),
            (StockMove::Decrement, 4, 9, 5, Err(Shortfall::Available(4))),
            (StockMove::Reserve, 5, 1, 2, Ok((3, 3))),
            (StockMove::Reserve, 1, 0, 2, Err(Shortfall::Available(1))),
            (StockMove::Release, 0, 3, 3, Ok((3, 0))),
            (StockMove::Release, 9, 2, 3, Err(Shortfall::Reserved(2))),
            (StockMove::Ship, 4, 3, 3, Ok((4, 0))),
            (StockMove::Ship, 9, 2, 3, Err(Shortfall::Reserved(2))),
        ];
        for (mv, available, reserved, quantity, expected) in cases {
            assert_eq!(
                mv.apply(available, reserved, q(quantity)),
                expected,
                "{mv:?} {quantity} on {available}/{reserved}"
            );
        }
    }
}
