//! Catalog values: a product, the fields a client may set, and a recorded price change.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::id::is_valid_id;
use crate::{Currency, FieldError, Price, ProductId};

/// The most characters a product name may have.
pub const MAX_NAME_CHARS: usize = 200;
/// The most characters a description may have.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;

/// A product's name: 1 to 200 characters, not only white space.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProductName(String);

impl ProductName {
    /// # Errors
    /// When the name is blank or longer than [`MAX_NAME_CHARS`] characters.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let chars = s.chars().count();
        if s.trim().is_empty() || chars > MAX_NAME_CHARS {
            return Err(FieldError::new(
                "name",
                format!("must be 1 to {MAX_NAME_CHARS} characters and not only spaces"),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A product's description: at most 2000 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Description(String);

impl Description {
    /// # Errors
    /// When the description is longer than [`MAX_DESCRIPTION_CHARS`] characters.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        if s.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(FieldError::new(
                "description",
                format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A category such as `books`: the id alphabet, so it is safe in a query string and an index key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Category(String);

impl Category {
    /// # Errors
    /// When `s` is not 1 to 64 characters of `[A-Za-z0-9_-]`.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        if is_valid_id(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(FieldError::new(
                "category",
                "must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_conversions {
    ($($t:ty),*) => {$(
        impl TryFrom<String> for $t {
            type Error = FieldError;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> Self {
                v.0
            }
        }
    )*};
}
string_conversions!(ProductName, Description, Category);

/// Everything about a product that a client sets: what create and replace take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductDetails {
    pub name: ProductName,
    pub description: Option<Description>,
    pub price: Price,
    pub currency: Currency,
    pub category: Option<Category>,
}

/// A product as the catalog holds it and the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Product {
    pub id: ProductId,
    pub name: ProductName,
    pub description: Option<Description>,
    pub price: Price,
    pub currency: Currency,
    pub category: Option<Category>,
    #[serde(with = "crate::timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "crate::timestamp")]
    pub updated_at: DateTime<Utc>,
}

impl Product {
    /// A product created at `now`.
    pub fn new(id: ProductId, details: ProductDetails, now: DateTime<Utc>) -> Self {
        let ProductDetails {
            name,
            description,
            price,
            currency,
            category,
        } = details;
        Self {
            id,
            name,
            description,
            price,
            currency,
            category,
            created_at: now,
            updated_at: now,
        }
    }

    /// This product with its client-set fields replaced at `now`, and the price change to
    /// record if the price or currency moved.
    pub fn replaced(
        &self,
        details: ProductDetails,
        now: DateTime<Utc>,
    ) -> (Self, Option<PriceChange>) {
        let mut next = Self::new(self.id.clone(), details, self.created_at);
        // A clock that steps backwards must not make updated_at precede created_at.
        next.updated_at = now.max(self.created_at);
        let change =
            (next.price != self.price || next.currency != self.currency).then(|| PriceChange {
                at: next.updated_at,
                price: next.price,
                currency: next.currency.clone(),
                previous: Some(self.price),
            });
        (next, change)
    }

    /// The price change that creating this product records.
    pub fn initial_price(&self) -> PriceChange {
        PriceChange {
            at: self.created_at,
            price: self.price,
            currency: self.currency.clone(),
            previous: None,
        }
    }
}

/// One recorded price change: the price from `at` on, and the one it replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceChange {
    #[serde(with = "crate::timestamp")]
    pub at: DateTime<Utc>,
    pub price: Price,
    pub currency: Currency,
    /// The price before this change; `None` for the price a product was created with. Keeping it
    /// here lets a history window be read without also reading the change before the window.
    pub previous: Option<Price>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(price: i64) -> ProductDetails {
        ProductDetails {
            name: ProductName::parse("Mug").unwrap(),
            description: None,
            price: Price::new(price).unwrap(),
            currency: Currency::default(),
            category: None,
        }
    }

    #[test]
    fn names_that_are_blank_or_too_long_are_rejected() {
        let long = "n".repeat(MAX_NAME_CHARS + 1);
        for bad in ["", " ", "\t\n", long.as_str()] {
            assert!(
                ProductName::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        // 200 multi-byte characters are 200 characters, not 400 bytes.
        assert!(ProductName::parse(&"é".repeat(MAX_NAME_CHARS)).is_ok());
    }

    #[test]
    fn descriptions_over_the_limit_are_rejected() {
        assert!(Description::parse(&"d".repeat(MAX_DESCRIPTION_CHARS + 1)).is_err());
        assert!(Description::parse("").is_ok());
    }

    #[test]
    fn categories_use_the_id_alphabet() {
        for bad in ["", "home garden", "a/b", "ü"] {
            assert!(Category::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(Category::parse("home-garden").is_ok());
    }

    #[test]
    fn replacing_a_product_keeps_created_at_and_records_only_a_moved_price() {
        let t0 = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap();
        let t1 = t0 + chrono::Duration::hours(1);
        let p = Product::new(ProductId::parse("mug").unwrap(), details(500), t0);

        let (same, change) = p.replaced(details(500), t1);
        assert_eq!(same.created_at, t0);
        assert_eq!(same.updated_at, t1);
        assert!(change.is_none());

        let (cheaper, change) = p.replaced(details(400), t1);
        let change = change.unwrap();
        assert_eq!(cheaper.price.minor_units(), 400);
        assert_eq!(change.previous, Some(Price::new(500).unwrap()));
        assert_eq!(change.at, t1);
    }
}
