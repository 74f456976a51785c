//! Price history: the daily price over the last N days, its average and its lowest — the
//! figure EU shops must show next to a discount ("lowest price in the prior 30 days").

use chrono::{DateTime, Days as ChronoDays, NaiveDate, NaiveTime, Utc};
use serde::Serialize;

use crate::catalog::{PriceChange, Product};
use crate::{Currency, FieldError, Price, ProductId};

/// How many days of history to show: `1..=365`, 30 unless the client says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "u16")]
pub struct Days(u16);

impl Days {
    pub const MAX: u16 = 365;

    /// # Errors
    /// When `s` is not a whole number from 1 to 365.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s.parse::<u16>() {
            Ok(n) if (1..=Self::MAX).contains(&n) => Ok(Self(n)),
            _ => Err(FieldError::new(
                "days",
                "must be a whole number from 1 to 365",
            )),
        }
    }

    pub fn get(self) -> u16 {
        self.0
    }

    /// The first instant of the window that ends today: midnight UTC, `days - 1` days ago.
    pub fn window_start(self, today: NaiveDate) -> DateTime<Utc> {
        let first = today - ChronoDays::new(u64::from(self.0) - 1);
        first.and_time(NaiveTime::MIN).and_utc()
    }
}

impl Default for Days {
    fn default() -> Self {
        Self(30)
    }
}

impl From<Days> for u16 {
    fn from(d: Days) -> Self {
        d.0
    }
}

/// The price a product closed a day at (for today: its price now).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DailyPrice {
    pub date: NaiveDate,
    pub price: Price,
}

/// What `GET /products/{id}/prices` returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PriceSummary {
    pub product_id: ProductId,
    pub days: Days,
    pub currency: Currency,
    /// One entry per day the product existed in the window, oldest first.
    pub prices: Vec<DailyPrice>,
    /// The mean of the daily prices, rounded half up to a whole minor unit.
    pub average: i64,
    /// The lowest price in effect at any moment of the window, including prices that lasted
    /// less than a day.
    pub lowest: Price,
}

/// Summarises `product`'s price over the `days` ending `today`.
///
/// `changes` are the product's recorded changes at or after [`Days::window_start`], oldest
/// first; the price in effect before the first of them is that change's `previous`.
pub fn summarize(
    product: &Product,
    changes: &[PriceChange],
    days: Days,
    today: NaiveDate,
) -> PriceSummary {
    let start = days.window_start(today);
    let mut changes = changes.iter().filter(|c| c.at >= start).peekable();
    let mut current = match changes.peek() {
        Some(first) => first.previous,
        // No change in the window: today's price held throughout, if the product existed.
        None => (product.created_at < start).then_some(product.price),
    };
    let mut lowest = current;
    let mut prices = Vec::with_capacity(usize::from(days.get()));
    let mut day = start.date_naive();
    while day <= today {
        while let Some(change) = changes.next_if(|c| c.at.date_naive() <= day) {
            current = Some(change.price);
            lowest = lowest.min(Some(change.price)).or(Some(change.price));
        }
        if let Some(price) = current {
            prices.push(DailyPrice { date: day, price });
        }
        day = day + ChronoDays::new(1);
    }
    // A product whose history was lost still has a price today.
    if prices.is_empty() {
        prices.push(DailyPrice {
            date: today,
            price: product.price,
        });
    }
    let lowest = prices
        .iter()
        .map(|p| p.price)
        .chain(lowest)
        .min()
        .unwrap_or(product.price);
    PriceSummary {
        product_id: product.id.clone(),
        days,
        currency: product.currency.clone(),
        average: rounded_mean(prices.iter().map(|p| p.price.minor_units())),
        prices,
        lowest,
    }
}

fn rounded_mean(values: impl ExactSizeIterator<Item = i64>) -> i64 {
    let count = i128::try_from(values.len()).unwrap_or(i128::MAX).max(1);
    let sum: i128 = values.map(i128::from).sum();
    // Half up: prices are non-negative, so adding half the divisor rounds correctly.
    i64::try_from((2 * sum + count) / (2 * count)).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{ProductDetails, ProductName};

    fn at(date: &str, hour: u32) -> DateTime<Utc> {
        NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .unwrap()
            .and_hms_opt(hour, 0, 0)
            .unwrap()
            .and_utc()
    }

    fn price(p: i64) -> Price {
        Price::new(p).unwrap()
    }

    fn product(created: DateTime<Utc>, now_price: i64) -> Product {
        Product::new(
            ProductId::parse("mug").unwrap(),
            ProductDetails {
                name: ProductName::parse("Mug").unwrap(),
                description: None,
                price: price(now_price),
                currency: Currency::default(),
                category: None,
            },
            created,
        )
    }

    fn change(at: DateTime<Utc>, to: i64, from: Option<i64>) -> PriceChange {
        PriceChange {
            at,
            price: price(to),
            currency: Currency::default(),
            previous: from.map(price),
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 10).unwrap()
    }

    #[test]
    fn days_outside_one_to_365_are_rejected() {
        for bad in ["0", "366", "-3", "x", "", "1e2"] {
            assert!(Days::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(Days::parse("365").unwrap().get(), 365);
    }

    #[test]
    fn a_price_unchanged_for_the_whole_window_is_every_days_price() {
        let p = product(at("2025-01-01", 0), 1000);
        let s = summarize(&p, &[], Days::parse("7").unwrap(), today());
        assert_eq!(s.prices.len(), 7);
        assert!(s.prices.iter().all(|d| d.price == price(1000)));
        assert_eq!(
            s.prices[0].date,
            NaiveDate::from_ymd_opt(2026, 3, 4).unwrap()
        );
        assert_eq!((s.average, s.lowest), (1000, price(1000)));
    }

    #[test]
    fn a_discount_shows_from_its_day_on_and_the_price_before_comes_from_the_change() {
        let p = product(at("2025-01-01", 0), 800);
        let changes = [change(at("2026-03-08", 12), 800, Some(1000))];
        let s = summarize(&p, &changes, Days::parse("4").unwrap(), today());
        let daily: Vec<i64> = s.prices.iter().map(|d| d.price.minor_units()).collect();
        assert_eq!(daily, [1000, 800, 800, 800]);
        assert_eq!(s.average, 850);
        assert_eq!(s.lowest, price(800));
    }

    #[test]
    fn a_price_that_lasted_only_hours_still_counts_as_the_lowest() {
        let p = product(at("2025-01-01", 0), 1000);
        let changes = [
            change(at("2026-03-09", 9), 1, Some(1000)),
            change(at("2026-03-09", 10), 1000, Some(1)),
        ];
        let s = summarize(&p, &changes, Days::parse("3").unwrap(), today());
        assert!(s.prices.iter().all(|d| d.price == price(1000)));
        assert_eq!(s.lowest, price(1));
    }

    #[test]
    fn days_before_the_product_existed_are_left_out() {
        let created = at("2026-03-09", 15);
        let p = product(created, 500);
        let changes = [change(created, 500, None)];
        let s = summarize(&p, &changes, Days::parse("30").unwrap(), today());
        assert_eq!(s.prices.len(), 2);
        assert_eq!(s.prices[0].date, created.date_naive());
        assert_eq!((s.average, s.lowest), (500, price(500)));
    }

    #[test]
    fn the_average_rounds_half_up() {
        let p = product(at("2025-01-01", 0), 2);
        let changes = [change(at("2026-03-10", 1), 2, Some(1))];
        let s = summarize(&p, &changes, Days::parse("2").unwrap(), today());
        // Daily prices 1 and 2: 1.5 rounds to 2.
        assert_eq!(s.average, 2);
    }
}
