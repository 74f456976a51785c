//! The catalog service: products, their prices and their price history.
//!
//! Each endpoint is one Lambda function. Its binary in `src/bin/<operation>.rs` is a tiny main
//! that initialises telemetry, opens the process's store once from the environment (see
//! [`stockroom_store::StoreConfig`]), takes its port, and hands `stockroom_http::run` (the
//! Lambda runtime with the request's server span, the HTTP metrics and the telemetry layers) the
//! handler of the same name from this library. The handlers take the store port they need as
//! an argument, so tests and the dev server call them directly with the embedded store; the dev
//! server finds them through [`Operation`] and wraps them in the same `stockroom_http::observe`.

mod errors;
mod handlers;
mod input;

pub use errors::{
    CreateProductError, DeleteProductError, GetProductError, GetProductPricesError,
    ListProductsError, UpdateProductError,
};
pub use handlers::{
    create_product, delete_product, get_product, get_product_prices, list_products, update_product,
};
pub use input::ProductInput;

stockroom_http::operations! {
    /// Every catalog endpoint, named by its binary (and its template.yaml `Binary` property).
    pub enum Operation for stockroom_store::Store {
        ListProducts = "list_products" => |s, _c, r| list_products(&*s.catalog()?, r).await,
        CreateProduct = "create_product" => |s, c, r| create_product(&*s.catalog()?, c, r).await,
        GetProduct = "get_product" => |s, _c, r| get_product(&*s.catalog()?, r).await,
        UpdateProduct = "update_product" => |s, c, r| update_product(&*s.catalog()?, c, r).await,
        DeleteProduct = "delete_product" => |s, c, r| delete_product(&*s.catalog()?, c, r).await,
        GetProductPrices = "get_product_prices" => |s, _c, r| get_product_prices(&*s.catalog()?, r).await,
    }
}
