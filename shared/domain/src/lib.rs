//! Stockroom's domain types: values that are valid by construction, parsed once at the edge.
//!
//! Every type here has a private field and a `parse`/`TryFrom` that returns a [`FieldError`]
//! naming what is wrong, so handlers and stores never see an invalid id, price or name.

pub mod catalog;
pub mod page;
pub mod prices;

mod error;
mod id;
mod money;
pub mod timestamp;

pub use error::FieldError;
pub use id::ProductId;
pub use money::{Currency, Price};
