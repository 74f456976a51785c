//! Store ports and their adapters, one folder per service.
//!
//! A port is a small capability trait ([`catalog::ProductReader`], [`inventory::StockWriter`],
//! ...) that handlers take as an argument. Everything one service owns sits in its folder:
//! `orders/mod.rs` (the port), `orders/items.rs` (the stored item shapes), `orders/dynamodb.rs`
//! (the adapter for AWS) and `orders/sqlite.rs` (the embedded adapter for `cargo dev`, `cargo
//! lambda watch` and tests). Both adapters pass one contract suite (`tests/contract/`) and store
//! the same item shapes, so the embedded store's change feed carries exactly the images a
//! DynamoDB stream would. What one technology owns is shared once: [`dynamodb`] (the client,
//! its call log and spans, SDK error reading), [`sqlite`] (connections, migrations, generic item
//! reads and writes) and [`changes`] (the embedded change feed). A process opens one
//! [`Store`] (one SDK client or one SQLite file) and takes every port it needs from it; the
//! services' tables are listed once, in [`tables`]. The SQLite adapter is behind the `embedded`
//! feature, so the Lambda artifacts carry only the adapter they use.

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "embedded")]
pub mod changes;
pub mod config;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
pub mod error;
pub mod items;
#[cfg(feature = "embedded")]
pub mod sqlite;
pub mod tables;

pub use config::{Store, StoreConfig};

/// Declares the services' store modules, each `pub mod <service>` with its `TABLE`, and the one
/// list of their tables ([`tables::ALL`]).
macro_rules! services {
    ($($service:ident),* $(,)?) => {
        $(pub mod $service;)*

        /// Every service's table, in the order [`services!`] lists them.
        const TABLES: &[tables::Table] = &[$($service::TABLE),*];
    };
}

// The services, one name each: a new service is its folder and one name here.
services!(catalog, inventory, orders, carts, notifications);
pub use error::{Unavailable, WriteError};
#[cfg(feature = "testing")]
pub mod testing;
