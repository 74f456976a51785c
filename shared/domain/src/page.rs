//! List paging: a bounded `limit` and an opaque `cursor` that resumes after the last item.
//!
//! Every list is ordered by a key ([`CursorKey`]): an id for products and stock levels, a
//! `(created_at, id)` pair for lists in time order. Adapters fetch one item more than the limit;
//! [`Page::of`] cuts it off, and its presence is what makes a cursor.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::FieldError;

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

    /// How many items an adapter fetches for a page of this size: one more, to learn in the
    /// same request whether another page exists ([`Page::of`] cuts it off).
    pub fn fetch_size(self) -> usize {
        self.get() + 1
    }
}

impl Default for Limit {
    fn default() -> Self {
        Self(50)
    }
}

/// A key a list is ordered by, as it is written inside a cursor.
pub trait CursorKey: Sized {
    fn to_cursor(&self) -> String;
    /// `None` when `s` was not made by [`CursorKey::to_cursor`].
    fn from_cursor(s: &str) -> Option<Self>;
}

/// The key of a list in time order (orders, notifications): when the item was made, then its
/// id, so two items of one millisecond keep a fixed order. Lists read it newest first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeKey<I> {
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub id: I,
}

impl<I: CursorKey> TimeKey<I> {
    /// The key as stored (`<created_at>#<id>`, the range key of a list's index): it sorts as
    /// the key does.
    pub fn sort_key(&self) -> String {
        format!(
            "{}#{}",
            crate::timestamp::format(&self.created_at),
            self.id.to_cursor()
        )
    }
}

impl<I: CursorKey> CursorKey for TimeKey<I> {
    fn to_cursor(&self) -> String {
        self.sort_key()
    }

    fn from_cursor(s: &str) -> Option<Self> {
        let (at, id) = s.split_once('#')?;
        let created_at = crate::timestamp::parse(at).ok()?;
        Some(Self {
            created_at,
            id: I::from_cursor(id)?,
        })
    }
}

/// Where the next page starts: after the item with this key. Clients see it only as an opaque
/// token, so the encoding can change without breaking anyone who treats it that way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor<K> {
    after: K,
}

const CURSOR_PREFIX: &str = "v1:";

impl<K: CursorKey> Cursor<K> {
    pub fn after(key: K) -> Self {
        Self { after: key }
    }

    pub fn last(&self) -> &K {
        &self.after
    }

    pub fn into_last(self) -> K {
        self.after
    }

    /// The token a client sends back.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{}", self.after.to_cursor()))
    }

    /// # Errors
    /// When `token` was not made by [`Cursor::encode`].
    pub fn decode(token: &str) -> Result<Self, FieldError> {
        let invalid = || FieldError::new("cursor", "is not a cursor this API returned");
        let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let key = text.strip_prefix(CURSOR_PREFIX).ok_or_else(invalid)?;
        let after = K::from_cursor(key).ok_or_else(invalid)?;
        Ok(Self { after })
    }

    /// The `cursor` query parameter: empty (`cursor=`) means the first page.
    ///
    /// # Errors
    /// As [`Cursor::decode`].
    pub fn param(token: &str) -> Result<Option<K>, FieldError> {
        if token.is_empty() {
            Ok(None)
        } else {
            Self::decode(token).map(|c| Some(c.after))
        }
    }
}

/// One page of a list, as every list endpoint returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// One page from `items` fetched in key order with one extra: the extra one is cut off,
    /// and its presence is what makes a cursor (after the last item kept).
    pub fn of<K: CursorKey>(mut items: Vec<T>, limit: Limit, key: impl Fn(&T) -> K) -> Self {
        let more = items.len() > limit.get();
        items.truncate(limit.get());
        let next_cursor = if more {
            items.last().map(|last| Cursor::after(key(last)).encode())
        } else {
            None
        };
        Self { items, next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProductId;

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
        for bad in ["!!!", "c2t1LTk", "djE6", "djE6YSBi"] {
            assert!(
                Cursor::<ProductId>::decode(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn an_empty_cursor_parameter_means_the_first_page() {
        assert_eq!(Cursor::<ProductId>::param("").unwrap(), None);
        let c = Cursor::after(ProductId::parse("sku-9").unwrap());
        assert_eq!(
            Cursor::<ProductId>::param(&c.encode()).unwrap(),
            Some(ProductId::parse("sku-9").unwrap())
        );
        assert!(Cursor::<ProductId>::param("!!!").is_err());
    }

    #[test]
    fn a_page_cuts_off_the_extra_item_and_points_after_the_last_kept() {
        let ids: Vec<ProductId> = ["a", "b", "c"]
            .iter()
            .map(|s| ProductId::parse(s).unwrap())
            .collect();
        let limit = Limit::parse("2").unwrap();
        let page = Page::of(ids.clone(), limit, Clone::clone);
        assert_eq!(page.items, ids[..2]);
        let next = Cursor::<ProductId>::decode(page.next_cursor.as_deref().unwrap()).unwrap();
        assert_eq!(next.last().as_str(), "b");
        let last = Page::of(ids[..2].to_vec(), limit, Clone::clone);
        assert_eq!(last.next_cursor, None);
    }
}
