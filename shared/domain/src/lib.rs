//! Stockroom's domain types: values that are valid by construction, parsed once at the edge.
//!
//! Every type here has a private field and a `parse`/`new`/`TryFrom` that returns an error
//! naming what is wrong, so handlers and stores never see an invalid id, price or quantity.

// `id` first: its `id_type!` macro is visible only to the modules after it.
#[macro_use]
pub mod id;

pub mod carts;
pub mod catalog;
pub mod inventory;
pub mod notifications;
pub mod orders;
pub mod page;
pub mod prices;

mod error;
mod money;
pub mod timestamp;

pub use error::FieldError;
pub use id::{InvalidId, ProductId};
pub use money::{Currency, Price};
