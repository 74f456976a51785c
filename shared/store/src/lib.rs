//! Store ports and their adapters.
//!
//! A port is a small capability trait ([`catalog::ProductReader`], ...) that handlers take as an
//! argument. Each port has two adapters that pass one contract suite (`tests/contract.rs`):
//! [`dynamodb`] for AWS and [`sqlite`] for `cargo dev`, `cargo lambda watch` and tests. Both
//! store the same item shapes ([`items`]), so the embedded store's change feed carries exactly
//! the images a DynamoDB stream would. The SQLite adapter is behind the `embedded` feature, so
//! the Lambda artifacts carry only the adapter they use.

pub mod catalog;
#[cfg(feature = "embedded")]
pub mod changes;
pub mod config;
pub mod dynamodb;
pub mod items;
#[cfg(feature = "embedded")]
pub mod sqlite;

pub use config::StoreConfig;
#[cfg(feature = "testing")]
pub mod testing;
