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

/// The most shards one stock level may be split into. A level's shards are set in one
/// transaction with the catalog check (DynamoDB takes 100 items a transaction).
pub const MAX_SHARDS: u32 = 32;

/// How many shards a stock level is split into: `1..=32`. A hot product's level is split so
/// that concurrent orders write different items; reads sum the shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Shards(u32);

impl Shards {
    pub const ONE: Self = Self(1);

    /// # Errors
    /// When `n` is below 1 or above [`MAX_SHARDS`]; reported against `shards`.
    pub fn new(n: i64) -> Result<Self, FieldError> {
        match u32::try_from(n) {
            Ok(n) if (1..=MAX_SHARDS).contains(&n) => Ok(Self(n)),
            _ => Err(FieldError::new(
                "shards",
                format!("must be a whole number from 1 to {MAX_SHARDS}"),
            )),
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// `available` split as evenly as it goes: shard `i` gets `available / n`, and the first
    /// `available % n` shards one more.
    pub fn split(self, available: u64) -> Vec<u64> {
        let n = u64::from(self.0);
        (0..n)
            .map(|i| available / n + u64::from(i < available % n))
            .collect()
    }
}

/// Units of one order line taken from one shard of its product's stock level, so that its
/// release or shipment moves them back out of the same shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardTake {
    pub shard: u32,
    pub quantity: u64,
}

/// One shard's counts, as a plan reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardCounts {
    pub shard: u32,
    pub available: u64,
    pub reserved: u64,
}

/// Where `mv` of `quantity` takes its units from among `shards`: all from `first` when it has
/// them (the shard a placement chose at random, or the one an order reserved in), else from
/// the shards with the most first, across as many as it needs.
///
/// # Errors
/// [`Shortfall`] with the level's total of the count `mv` takes from, when all the shards
/// together hold fewer than `quantity`.
pub fn plan_takes(
    shards: &[ShardCounts],
    mv: StockMove,
    quantity: Quantity,
    first: Option<u32>,
) -> Result<Vec<ShardTake>, Shortfall> {
    let count = |s: &ShardCounts| match mv {
        StockMove::Decrement | StockMove::Reserve => s.available,
        StockMove::Release | StockMove::Ship => s.reserved,
    };
    let total: u64 = shards.iter().map(count).sum();
    let q = quantity.get();
    if total < q {
        return Err(match mv {
            StockMove::Decrement | StockMove::Reserve => Shortfall::Available(total),
            StockMove::Release | StockMove::Ship => Shortfall::Reserved(total),
        });
    }
    if let Some(s) = first.and_then(|f| shards.iter().find(|s| s.shard == f))
        && count(s) >= q
    {
        return Ok(vec![ShardTake {
            shard: s.shard,
            quantity: q,
        }]);
    }
    let mut by_most: Vec<&ShardCounts> = shards.iter().filter(|s| count(s) > 0).collect();
    by_most.sort_by_key(|s| (std::cmp::Reverse(count(s)), s.shard));
    let mut left = q;
    let mut takes = Vec::new();
    for s in by_most {
        if left == 0 {
            break;
        }
        let take = count(s).min(left);
        takes.push(ShardTake {
            shard: s.shard,
            quantity: take,
        });
        left -= take;
    }
    Ok(takes)
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
    /// The sum over the level's shards.
    pub available: u64,
    /// The sum over the level's shards.
    pub reserved: u64,
    /// How many shards orders spread over (1 unless an administrator split the level).
    pub shards: u32,
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
    fn shards_outside_one_to_thirty_two_are_rejected_and_a_split_loses_no_unit() {
        for bad in [0, -1, 33, i64::MAX] {
            assert_eq!(Shards::new(bad).unwrap_err().field, "shards", "{bad}");
        }
        assert_eq!(Shards::new(4).unwrap().split(10), vec![3, 3, 2, 2]);
        assert_eq!(Shards::new(3).unwrap().split(2), vec![1, 1, 0]);
        assert_eq!(Shards::ONE.split(7), vec![7]);
        for n in 1..=32 {
            for available in [0, 1, 31, 32, 33, 1_000_000_000] {
                let split = Shards::new(n).unwrap().split(available);
                assert_eq!(split.iter().sum::<u64>(), available);
                assert!(split.iter().max().unwrap() - split.iter().min().unwrap() <= 1);
            }
        }
    }

    #[test]
    fn a_plan_takes_from_the_chosen_shard_else_from_the_fullest_and_never_more_than_there_is() {
        let q = |n| Quantity::new(n).unwrap();
        let shards = [
            ShardCounts {
                shard: 0,
                available: 2,
                reserved: 0,
            },
            ShardCounts {
                shard: 1,
                available: 5,
                reserved: 1,
            },
            ShardCounts {
                shard: 2,
                available: 0,
                reserved: 4,
            },
        ];
        let take = |shard, quantity| ShardTake { shard, quantity };
        assert_eq!(
            plan_takes(&shards, StockMove::Reserve, q(2), Some(0)),
            Ok(vec![take(0, 2)])
        );
        // The chosen shard is short: the fullest first, then the next.
        assert_eq!(
            plan_takes(&shards, StockMove::Reserve, q(3), Some(0)),
            Ok(vec![take(1, 3)])
        );
        assert_eq!(
            plan_takes(&shards, StockMove::Reserve, q(7), Some(2)),
            Ok(vec![take(1, 5), take(0, 2)])
        );
        assert_eq!(
            plan_takes(&shards, StockMove::Reserve, q(8), Some(1)),
            Err(Shortfall::Available(7))
        );
        assert_eq!(
            plan_takes(&shards, StockMove::Release, q(5), Some(2)),
            Ok(vec![take(2, 4), take(1, 1)])
        );
        assert_eq!(
            plan_takes(&shards, StockMove::Ship, q(6), None),
            Err(Shortfall::Reserved(5))
        );
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
