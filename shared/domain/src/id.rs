//! Identifiers: `[A-Za-z0-9_-]{1,64}`, server-made ones are ULIDs.

use serde::{Deserialize, Serialize};

use crate::FieldError;

/// The longest id a client may choose.
pub const MAX_ID_LEN: usize = 64;

/// Whether `s` has the shape every Stockroom id (and category) must have.
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A product's id: chosen by the client on create, or a ULID made by the server.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProductId(String);

impl ProductId {
    /// # Errors
    /// When `s` is empty, longer than 64 bytes, or has a character outside `[A-Za-z0-9_-]`.
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        if is_valid_id(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(FieldError::new(
                "id",
                "must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'",
            ))
        }
    }

    /// A new, time-ordered id (a ULID).
    pub fn generate() -> Self {
        Self(ulid::Ulid::new().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProductId {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ProductId> for String {
    fn from(id: ProductId) -> Self {
        id.0
    }
}

impl std::fmt::Display for ProductId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_outside_the_allowed_shape_are_rejected() {
        let too_long = "a".repeat(65);
        for bad in ["", " ", "a b", "a/b", "é", "a.b", "a%20", too_long.as_str()] {
            assert!(ProductId::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn ids_inside_the_allowed_shape_are_accepted() {
        let longest = "Z".repeat(64);
        for good in ["a", "sku-123", "A_b-9", longest.as_str()] {
            assert_eq!(ProductId::parse(good).unwrap().as_str(), good);
        }
    }

    #[test]
    fn generated_ids_are_valid_ulids() {
        let id = ProductId::generate();
        assert_eq!(id.as_str().len(), 26);
        assert!(ProductId::parse(id.as_str()).is_ok());
    }
}
