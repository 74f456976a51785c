//! The catalog service: products, their prices and their price history.
//!
//! Each endpoint is one Lambda function, wired in one place: its variant of [`Operation`]
//! (binary name and handler). The binary in `src/bin/<operation>.rs` is only
//! `stockroom_http::serve(Operation::GetProduct)`, which initialises telemetry, opens the
//! process's store once from the environment (see [`stockroom_store::StoreConfig`]), takes
//! this service's port of it once (a missing table variable fails the init), and runs the Lambda runtime with the request's server span,
//! the HTTP metrics and the telemetry layers around the handler. The dev server, `cargo lambda
//! watch`, the bench and the tests reach the handlers through the same [`Operation`]. Handlers
//! take the store port they need as an argument and return their operation's error, which the
//! edge turns into a problem response.

mod errors;
mod handlers;
mod input;

pub use errors::{ChangeProductError, CreateProductError, GetProductError};
pub use handlers::{
    create_product, delete_product, get_product, get_product_prices, list_products, update_product,
};
pub use input::ProductInput;

stockroom_http::operations! {
    /// Every catalog endpoint, named by its binary (and its template.yaml `Binary` property).
    pub enum Operation for stockroom_store::Store, port catalog: stockroom_store::catalog::CatalogStore {
        ListProducts = "list_products" => list_products,
        CreateProduct = "create_product" => create_product,
        GetProduct = "get_product" => get_product,
        UpdateProduct = "update_product" => update_product,
        DeleteProduct = "delete_product" => delete_product,
        GetProductPrices = "get_product_prices" => get_product_prices,
    }
}
