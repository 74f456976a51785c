//! Store ports and their adapters.
//!
//! A port is a small capability trait ([`catalog::ProductReader`], ...) that handlers take as an
//! argument. Each port has two adapters that pass one contract suite (`tests/contract.rs`):
//! [`dynamodb`] for AWS and [`sqlite`] for `cargo dev`, `cargo lambda watch` and tests. Both
//! store the same item shapes ([`items`]), so the embedded store's change feed carries exactly
//! the images a DynamoDB stream would.

pub mod catalog;
pub mod changes;
pub mod config;
pub mod dynamodb;
pub mod items;
pub mod sqlite;

pub use config::StoreConfig;
#[cfg(feature = "testing")]
pub mod testing;
