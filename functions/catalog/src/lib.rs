//! The catalog service: products, their prices and their price history.
//!
//! Each endpoint is one Lambda function. Its binary in `src/bin/<operation>.rs` is a tiny main
//! that initialises telemetry, builds the store once from the environment (see
//! [`stockroom_store::StoreConfig`]) and hands `lambda_http::run` the handler of the same name
//! from this library. The handlers take the store port they need as an argument, so tests and
//! the dev server call them directly with the embedded store.

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

use stockroom_http::{Body, Request, Response};
use stockroom_store::catalog::CatalogStore;

/// Every catalog endpoint, named by its binary (and its template.yaml `Binary` property).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    ListProducts,
    CreateProduct,
    GetProduct,
    UpdateProduct,
    DeleteProduct,
    GetProductPrices,
}

impl Operation {
    pub const ALL: [Self; 6] = [
        Self::ListProducts,
        Self::CreateProduct,
        Self::GetProduct,
        Self::UpdateProduct,
        Self::DeleteProduct,
        Self::GetProductPrices,
    ];

    pub fn binary(self) -> &'static str {
        match self {
            Self::ListProducts => "list_products",
            Self::CreateProduct => "create_product",
            Self::GetProduct => "get_product",
            Self::UpdateProduct => "update_product",
            Self::DeleteProduct => "delete_product",
            Self::GetProductPrices => "get_product_prices",
        }
    }

    pub fn from_binary(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.binary() == name)
    }

    /// Runs this operation's handler, as its Lambda function would.
    pub async fn call(self, store: &dyn CatalogStore, req: Request) -> Response<Body> {
        match self {
            Self::ListProducts => list_products(store, req).await,
            Self::CreateProduct => create_product(store, req).await,
            Self::GetProduct => get_product(store, req).await,
            Self::UpdateProduct => update_product(store, req).await,
            Self::DeleteProduct => delete_product(store, req).await,
            Self::GetProductPrices => get_product_prices(store, req).await,
        }
    }
}
