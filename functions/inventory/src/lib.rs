//! The inventory service: each product's stock level, changed only by conditional writes, so
//! concurrent decrements can never sell a unit twice or take a level below zero.
//!
//! Each endpoint is one Lambda function, wired like the catalog's: one variant of
//! [`Operation`], and a main in `src/bin/<operation>.rs` that is `stockroom_http::serve` of it.

mod errors;
mod handlers;

pub use errors::{ChangeStockError, DeleteStockError, GetStockError, SetStockError};
pub use handlers::{
    decrement_stock, delete_stock, get_stock, list_stock, release_stock, reserve_stock, set_stock,
};

stockroom_http::operations! {
    /// Every inventory endpoint, named by its binary (and its template.yaml `Binary` property).
    pub enum Operation for stockroom_store::Store, port inventory: stockroom_store::inventory::InventoryStore {
        ListStock = "list_stock" => list_stock,
        GetStock = "get_stock" => get_stock,
        SetStock = "set_stock" => set_stock,
        DecrementStock = "decrement_stock" => decrement_stock,
        ReserveStock = "reserve_stock" => reserve_stock,
        ReleaseStock = "release_stock" => release_stock,
        DeleteStock = "delete_stock" => delete_stock,
    }
}
