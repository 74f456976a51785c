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
        PlaceOrder = "place_order" => |s, r| place_order(&*s.orders()?, r).await,
        ListOrders = "list_orders" => |s, r| list_orders(&*s.orders()?, r).await,
        GetOrder = "get_order" => |s, r| get_order(&*s.orders()?, r).await,
        UpdateOrderStatus = "update_order_status" => |s, r| update_order_status(&*s.orders()?, r).await,
        CancelOrder = "cancel_order" => |s, r| cancel_order(&*s.orders()?, r).await,
    }
}
