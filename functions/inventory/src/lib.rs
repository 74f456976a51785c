//! The inventory service: each product's stock level, changed only by conditional writes, so
//! concurrent decrements can never sell a unit twice or take a level below zero.
//!
//! Each endpoint is one Lambda function, wired like the catalog's: one variant of
//! [`Operation`], run by the service's one binary (`src/bin/inventory.rs`).

mod errors;
mod handlers;

pub use errors::{ChangeStockError, DeleteStockError, GetStockError, SetStockError};
pub use handlers::{
    decrement_stock, delete_stock, get_stock, list_stock, release_stock, reserve_stock, set_stock,
};

stockroom_http::operations! {
    /// Every inventory endpoint, named by its handler (its function's template.yaml `Handler`).
    pub enum Operation in "inventory" for stockroom_store::Store, port inventory: stockroom_store::inventory::InventoryStore {
        ListStock = "list_stock", "GET /stock" => list_stock,
        GetStock = "get_stock", "GET /stock/{product_id}" => get_stock,
        SetStock = "set_stock", "PUT /stock/{product_id}" => set_stock,
        DecrementStock = "decrement_stock", "POST /stock/{product_id}/decrement" => decrement_stock,
        ReserveStock = "reserve_stock", "POST /stock/{product_id}/reserve" => reserve_stock,
        ReleaseStock = "release_stock", "POST /stock/{product_id}/release" => release_stock,
        DeleteStock = "delete_stock", "DELETE /stock/{product_id}" => delete_stock,
    }
}
