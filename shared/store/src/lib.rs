//! Store ports and their adapters.
//!
//! A port is a small capability trait ([`catalog::ProductReader`], [`inventory::StockWriter`],
//! ...) that handlers take as an argument. Each port has two adapters that pass one contract
//! suite (`tests/contract.rs`): [`dynamodb`] for AWS and [`sqlite`] for `cargo dev`, `cargo
//! lambda watch` and tests. Both store the same item shapes ([`items`]), so the embedded
//! store's change feed carries exactly the images a DynamoDB stream would. A process opens one
//! [`Store`] (one SDK client or one SQLite file) and takes every port it needs from it; the
//! services' tables are listed once, in [`tables`]. The SQLite adapter is behind the `embedded`
//! feature, so the Lambda artifacts carry only the adapter they use.

pub mod carts;
pub mod catalog;
#[cfg(feature = "embedded")]
pub mod changes;
pub mod config;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
pub mod error;
pub mod inventory;
pub mod items;
pub mod notifications;
pub mod orders;
#[cfg(feature = "embedded")]
pub mod sqlite;
pub mod tables;

pub use config::{Store, StoreConfig};
pub use error::WriteError;
#[cfg(feature = "testing")]
pub mod testing;
