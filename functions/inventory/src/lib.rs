//! The inventory service: each product's stock level, changed only by conditional writes, so
//! concurrent decrements can never sell a unit twice or take a level below zero.
//!
//! Each endpoint is one Lambda function, built like the catalog's: a tiny main in
//! `src/bin/<operation>.rs` opens the process's store ([`stockroom_store::Store`]), takes the
//! inventory port, and runs the handler of the same name from this library.

mod errors;
mod handlers;

pub use errors::{
    ChangeStockError, DeleteStockError, GetStockError, ListStockError, SetStockError,
};
pub use handlers::{
    decrement_stock, delete_stock, get_stock, list_stock, release_stock, reserve_stock, set_stock,
};

stockroom_http::operations! {
    /// Every inventory endpoint, named by its binary (and its template.yaml `Binary` property).
    pub enum Operation for stockroom_store::Store {
        ListStock = "list_stock" => |s, c, r| list_stock(&*s.inventory()?, c, r).await,
        GetStock = "get_stock" => |s, c, r| get_stock(&*s.inventory()?, c, r).await,
        SetStock = "set_stock" => |s, c, r| set_stock(&*s.inventory()?, c, r).await,
        DecrementStock = "decrement_stock" => |s, c, r| decrement_stock(&*s.inventory()?, c, r).await,
        ReserveStock = "reserve_stock" => |s, c, r| reserve_stock(&*s.inventory()?, c, r).await,
        ReleaseStock = "release_stock" => |s, c, r| release_stock(&*s.inventory()?, c, r).await,
        DeleteStock = "delete_stock" => |s, c, r| delete_stock(&*s.inventory()?, c, r).await,
    }
}
