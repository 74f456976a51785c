//! The catalog service: products, their prices and their price history.
//!
//! Each endpoint is one Lambda function, wired in one place: its variant of [`Operation`]
//! (handler name, route and handler). Every catalog function runs the one binary
//! `src/bin/catalog.rs` with its own `Handler`; its main is only
//! `stockroom_http::serve_binary::<Operation>()`, which picks the endpoint Lambda names in
//! `_HANDLER`, initialises telemetry, opens the
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
    /// Every catalog endpoint, named by its handler (its function's template.yaml `Handler`).
    pub enum Operation in "catalog" for stockroom_store::Store, port catalog: stockroom_store::catalog::CatalogStore {
        ListProducts = "list_products", "GET /products" => list_products,
        CreateProduct = "create_product", "POST /products" => create_product,
        GetProduct = "get_product", "GET /products/{id}" => get_product,
        UpdateProduct = "update_product", "PUT /products/{id}" => update_product,
        DeleteProduct = "delete_product", "DELETE /products/{id}" => delete_product,
        GetProductPrices = "get_product_prices", "GET /products/{id}/prices" => get_product_prices,
    }
}
