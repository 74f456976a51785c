//! List paging: a bounded `limit` and an opaque `cursor` that resumes after the last item.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::{FieldError, ProductId};

/// How many items one page may hold: `1..=100`, 50 unless the client says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(u16);

impl Limit {
    pub const MAX: u16 = 100;

    /// # Errors
    /// When `s` is not a whole number from 1 to 100.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        match s.parse::<u16>() {
            Ok(n) if (1..=Self::MAX).contains(&n) => Ok(Self(n)),
            _ => Err(FieldError::new(
                "limit",
                "must be a whole number from 1 to 100",
            )),
        }
    }

    pub fn get(self) -> usize {
        usize::from(self.0)
    }
}

impl Default for Limit {
    fn default() -> Self {
        Self(50)
    }
}

/// Where the next page starts: after the item with this id. Clients see it only as an opaque
/// token, so the encoding can change without breaking anyone who treats it that way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    after: ProductId,
}

const CURSOR_PREFIX: &str = "v1:";

impl Cursor {
    pub fn after(id: ProductId) -> Self {
        Self { after: id }
    }

    pub fn last_id(&self) -> &ProductId {
        &self.after
    }

    /// The token a client sends back.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{}", self.after))
    }

    /// # Errors
    /// When `token` was not made by [`Cursor::encode`].
    pub fn decode(token: &str) -> Result<Self, FieldError> {
        let invalid = || FieldError::new("cursor", "is not a cursor this API returned");
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let id = text.strip_prefix(CURSOR_PREFIX).ok_or_else(invalid)?;
        let after = ProductId::parse(id).map_err(|_| invalid())?;
        Ok(Self { after })
    }
}

/// One page of a list, as every list endpoint returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_outside_one_to_a_hundred_are_rejected() {
        for bad in ["", "0", "101", "-1", "1.5", "ten", "65536", " 5"] {
            assert!(Limit::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(Limit::parse("1").unwrap().get(), 1);
        assert_eq!(Limit::parse("100").unwrap().get(), 100);
        assert_eq!(Limit::default().get(), 50);
    }

    #[test]
    fn a_cursor_survives_the_round_trip_and_garbage_is_rejected() {
        let c = Cursor::after(ProductId::parse("sku-9").unwrap());
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        for bad in ["", "!!!", "c2t1LTk", "djE6", "djE6YSBi"] {
            assert!(Cursor::decode(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
