//! Identifiers: `[A-Za-z0-9_-]{1,64}`, server-made ones are ULIDs.
//!
//! Every id type comes from [`id_type!`], so all of them parse, print, serialize and page the
//! same way. A bad id does not know which field it came from: the caller names the field
//! ([`InvalidId::field`]), so a bad `product_id` is reported as `product_id`, not as `id`.

use crate::FieldError;

/// The longest id a client may choose.
pub const MAX_ID_LEN: usize = 64;

/// What every id (and category) must look like, as a sentence a client can act on.
pub const ID_RULE: &str = "must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'";

/// Whether `s` has the shape every Stockroom id (and category) must have.
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `"a", "b"`: ids as error sentences list them.
pub fn quoted<T: std::fmt::Display>(ids: &[T]) -> String {
    ids.iter()
        .map(|id| format!("\"{id}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A string that is not an id. Name the field it came from with [`InvalidId::field`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{ID_RULE}")]
pub struct InvalidId;

impl InvalidId {
    /// This error, reported against `field`.
    pub fn field(self, field: impl Into<String>) -> FieldError {
        FieldError::new(field, ID_RULE)
    }
}

/// Defines an id newtype: private field, `parse` into [`InvalidId`], `generate` (a ULID),
/// `Display`, serde as a plain string, and use as a list cursor's key.
macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// # Errors
            /// When `s` is empty, longer than 64 bytes, or has a character outside `[A-Za-z0-9_-]`.
            pub fn parse(s: &str) -> Result<Self, $crate::id::InvalidId> {
                if $crate::id::is_valid_id(s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err($crate::id::InvalidId)
                }
            }

            /// [`Self::parse`], with a failure reported against `field`.
            ///
            /// # Errors
            /// As [`Self::parse`].
            pub fn parse_field(field: &str, s: &str) -> Result<Self, $crate::FieldError> {
                Self::parse(s).map_err(|e| e.field(field))
            }

            /// A new, time-ordered id (a ULID).
            pub fn generate() -> Self {
                Self(ulid::Ulid::new().to_string())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = $crate::id::InvalidId;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                Self::parse(&s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl $crate::page::CursorKey for $name {
            fn to_cursor(&self) -> String {
                self.0.clone()
            }
            fn from_cursor(s: &str) -> Option<Self> {
                Self::parse(s).ok()
            }
        }
    };
}

id_type!(
    /// A product's id: chosen by the client on create, or a ULID made by the server. Stock
    /// levels are keyed by it too.
    ProductId
);

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
    fn the_caller_names_the_field_a_bad_id_is_reported_against() {
        let err = ProductId::parse_field("product_id", "a b").unwrap_err();
        assert_eq!(err.field, "product_id");
        assert_eq!(err.message, ID_RULE);
    }

    #[test]
    fn generated_ids_are_valid_ulids() {
        let id = ProductId::generate();
        assert_eq!(id.as_str().len(), 26);
        assert!(ProductId::parse(id.as_str()).is_ok());
    }
}
