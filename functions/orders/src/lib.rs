//! The orders service: an order is placed in one transaction that reserves every line's stock
//! and writes the order (and its `Idempotency-Key` record), so a confirmed order always holds
//! its units; each status change is one transaction that moves them on.
//!
//! Each endpoint is one Lambda function, built like the catalog's: a tiny main in
//! `src/bin/<operation>.rs` opens the process's store ([`stockroom_store::Store`]), takes the
//! orders port, and runs the handler of the same name from this library.

mod errors;
mod handlers;

pub use errors::{ChangeOrderError, GetOrderError, ListOrdersError, PlaceOrderError};
pub use handlers::{
    IDEMPOTENCY_KEY, IDEMPOTENT_REPLAYED, cancel_order, get_order, idempotency_key, list_orders,
    place_order, update_order_status,
};

stockroom_http::operations! {
    /// Every orders endpoint, named by its binary (and its template.yaml `Binary` property).
    pub enum Operation for stockroom_store::Store {
        PlaceOrder = "place_order" => |s, c, r| place_order(&*s.orders()?, c, r).await,
        ListOrders = "list_orders" => |s, c, r| list_orders(&*s.orders()?, c, r).await,
        GetOrder = "get_order" => |s, c, r| get_order(&*s.orders()?, c, r).await,
        UpdateOrderStatus = "update_order_status" => |s, c, r| update_order_status(&*s.orders()?, c, r).await,
        CancelOrder = "cancel_order" => |s, c, r| cancel_order(&*s.orders()?, c, r).await,
    }
}
